/* Study internals shared with the runner. */
#ifndef QTUNE_OPTIMIZE_STUDY_INT_H
#define QTUNE_OPTIMIZE_STUDY_INT_H

#include "qtune/optimize.h"

/* Best objective so far (NaN when none) and its trial number (-1). */
double qt__study_best_value(qt_study *st, int64_t *out_number);
/* 1 when trial `number` completed and counts as feasible. */
int qt__study_is_feasible(qt_study *st, int64_t number);

int64_t qt__study_id(const qt_study *st);

/* qt_study_tell that also gives the state stored (out_state may be NULL):
 * COMPLETE becomes FAIL when the objective metric is missing, and the
 * runner counts (and retries) what was stored, not what it asked for. */
int qt__study_tell(qt_study *st, const qt_trial *t, int state, const qt_metric_set *m,
                   const char *error, int *out_state, qt_err *err);

/* Records an intermediate value of running trial `number` (the running
 * objective of metrics m, or value when m is NULL) and, unless final, asks
 * the study's pruner: *out_prune 1 when the trial should stop.  QT_ENOMEM
 * (the value is then not kept, and the trial goes on). */
int qt__study_report(qt_study *st, int64_t number, int64_t step, const qt_metric_set *m,
                     double value, int final, int *out_prune);
/* Stores config_json as the study's config (storage and the in-memory
 * record). */
int qt__study_replace_config(qt_study *st, const char *config_json, qt_err *err);
/* The study's pruner (NULL: none). */
const qt_pruner *qt__study_pruner(qt_study *st);

/* Trial records the last sync read (the ones stamped since the one before;
 * all of them on the first) and whether it was a whole read. */
size_t qt__study_last_sync_rows(const qt_study *st, int *out_full);

/* The objective command's final JSON object into out: numbers kept,
 * booleans as 1/0, null as NaN, other values ignored (objective_cmd.c;
 * here for the fuzz target). */
int qt__cmd_parse_metrics(const char *s, size_t n, qt_metric_set *out, qt_err *err);

#endif
