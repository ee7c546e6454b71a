/* Private to src/validate: the pieces of qt_validate_study in other files. */
#ifndef QTUNE_VALIDATE_VALIDATE_INT_H
#define QTUNE_VALIDATE_VALIDATE_INT_H

#include <jansson.h>

#include "qtune/validate.h"

/* --stability-runs: o->stability_runs more studies of st's space, goal,
 * sampler and trial budget under other seeds (stored as NAME/seed1, ...;
 * resumed when they exist), each best's params and Sharpe, and out of
 * sample through o->oos_objective when given; adds "stability_runs" to
 * root.  Needs o->objective.  Study and storage errors. */
int qt__validate_stability_runs(qt_study *st, const qt_validate_opts *o, json_t *root,
                                qt_err *err);

#endif
