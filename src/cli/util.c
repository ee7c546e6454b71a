#include "cli/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const qt_err *e) {
  fprintf(stderr, "qtune: %s\n", e && e->msg[0] ? e->msg : qt_status_str(e ? e->code : QT_EINVAL));
  return CLI_ERROR;
}

int cli_failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("qtune: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_ERROR;
}

/* Thin wrappers: the writer lives in the library (qt_file_*, src/core). */
FILE *cli_open_tmp(const char *path, char *tmp, size_t cap, qt_err *err) {
  FILE *f = NULL;
  qt_file_open_tmp(path, tmp, cap, &f, err);
  return f;
}

int cli_commit(FILE *f, const char *tmp, const char *path, int ok, qt_err *err) {
  return qt_file_commit(f, tmp, path, ok, err);
}

int cli_write_file(const char *path, const void *data, size_t len, qt_err *err) {
  return qt_file_write_atomic(path, data, len, err);
}

char *cli_read_file(const char *path, size_t *out_len, qt_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    qt_err_set(err, QT_EIO, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    qt_err_set(err, bad ? QT_EIO : QT_ENOMEM, "%s: cannot read", path);
    return NULL;
  }
  buf[n] = '\0';
  if (out_len) *out_len = n;
  return buf;
}

int cli_parse_double(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno) return cli_failf("%s: not a number (\"%s\")", opt, s);
  *out = v;
  return 0;
}

int cli_parse_long(const char *opt, const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno) return cli_failf("%s: not a whole number (\"%s\")", opt, s);
  *out = v;
  return 0;
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}

const char *cli_opt_val(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    cli_failf("%s needs a value", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}
