/* Helpers shared by the commands: error reporting, exit codes, atomic file
 * output, and option parsing conveniences. */
#ifndef QTUNE_CLI_UTIL_H
#define QTUNE_CLI_UTIL_H

#include "qtune/core.h"

#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every command. */
enum { CLI_OK = 0, CLI_FINDINGS = 1, CLI_ERROR = 2 };

/* Prints "qtune: <msg>" (or the status text) to stderr; returns CLI_ERROR. */
int cli_fail(const qt_err *e);
/* Prints "qtune: <formatted>" to stderr; returns CLI_ERROR. */
int cli_failf(const char *fmt, ...) QT_PRINTF(1, 2);
/* Output files through the library's writer (qt_file_write_atomic and
 * qt_file_open_tmp/qt_file_commit in core.h: atomic for regular files and
 * symlink targets, in place for devices and FIFOs). */
int cli_write_file(const char *path, const void *data, size_t len, qt_err *err);
/* Opens a temp file beside path for writing; cli_commit renames it over path
 * (or removes it when ok is 0).  tmp must hold strlen(path) + 32 bytes. */
FILE *cli_open_tmp(const char *path, char *tmp, size_t cap, qt_err *err);
int cli_commit(FILE *f, const char *tmp, const char *path, int ok, qt_err *err);
/* Reads a whole file into a NUL-terminated heap buffer (caller frees with free). */
char *cli_read_file(const char *path, size_t *out_len, qt_err *err);
/* Parses a double / long option value, naming the option on error. */
int cli_parse_double(const char *opt, const char *s, double *out);
int cli_parse_long(const char *opt, const char *s, long *out);
/* The value after option argv[*i] (and *i moves onto it), or NULL after
 * printing "<option> needs a value". */
const char *cli_opt_val(int argc, char **argv, int *i);
/* 1 when argv[1..argc-1] holds --help or -h: each command prints its help
 * and exits 0 whatever else the line says. */
int cli_wants_help(int argc, char **argv);

#endif
