/* Study internals shared with the runner. */
#ifndef QTUNE_OPTIMIZE_STUDY_INT_H
#define QTUNE_OPTIMIZE_STUDY_INT_H

#include "qtune/optimize.h"

/* Best objective so far (NaN when none) and its trial number (-1). */
double qt__study_best_value(qt_study *st, int64_t *out_number);
/* 1 when trial `number` completed and counts as feasible. */
int qt__study_is_feasible(qt_study *st, int64_t number);

int64_t qt__study_id(const qt_study *st);

#endif
