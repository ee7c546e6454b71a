/* Helpers shared by `qtune optimize` and the study tools (studies, analyze,
 * best, cleanup): the best-trial summary and the best-params file. */
#ifndef QTUNE_CLI_CMD_STUDY_H
#define QTUNE_CLI_CMD_STUDY_H

#include "qtune/optimize.h"

#include <stdio.h>

/* Prints the best trial (number, objective, sharpe, total profit, calmar,
 * max drawdown, win rate, trades) of st; `best` from qt_study_best. */
void cli_study_print_best(FILE *f, const qt_study *st, long best);
/* Writes the params of trial `best` as a flat YAML map (name: value) to
 * path, through a temp file. */
int cli_study_write_best(const qt_study *st, long best, const char *path, qt_err *err);
/* Opens an existing study read-only by name and storage URL (NULL: default). */
int cli_study_open_ro(const char *name, const char *url, qt_study **out, qt_err *err);
/* QT_ENOTFOUND ("PATH: no such database") when url names a SQLite file that
 * does not exist (so a read-only tool does not create one), else 0. */
int cli_storage_exists(const char *url, qt_err *err);
/* The help line that says which storage --storage defaults to (password masked). */
void cli_print_storage_default(void);
/* "score" or the goal's metric name, for headers. */
const char *cli_study_objective_name(const qt_study *st);

#endif
