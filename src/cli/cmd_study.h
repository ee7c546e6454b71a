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
/* If argv[*i] selects the study (--storage URL, --study-name S or its alias
 * --study S), stores the value in *url or *name and returns 1; 0 if it is
 * not one of them; CLI_ERROR after printing an error (no value). */
int cli_study_parse_arg(const char **url, const char **name, int argc, char **argv, int *i);
/* The help line that says which storage --storage defaults to (password masked). */
void cli_print_storage_default(void);
/* "score" or the goal's metric name, for headers. */
const char *cli_study_objective_name(const qt_study *st);

/* Several objectives (cmd_pareto.c).  Prints the Pareto front (pick
 * number, trial, each objective, params; top_n 0: all), the reference
 * point (ref_text "v1,v2", NULL: the library's default) and the front's
 * hypervolume. */
int cli_pareto_print(FILE *f, const qt_study *st, const char *ref_text, size_t top_n,
                     qt_err *err);
/* The same as a JSON object (a json_t *: objectives, reference_point,
 * hypervolume, front [{pick, number, values, params}]); NULL with err set. */
void *cli_pareto_json(const qt_study *st, const char *ref_text, qt_err *err);
/* The trial_info index of front member `pick` (1-based, the printed
 * order), or -1 with err set (empty front, pick out of range). */
long cli_pareto_pick(const qt_study *st, long pick, qt_err *err);

#endif
