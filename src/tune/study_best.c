/* A study's out-of-sample-validated best as the tuner's target: the study's
 * config_json holds the holdout result (validate/holdout.c: "holdout":
 * {"maximize", "trials": [{"number", "oos_feasible", "oos_objective"}]}),
 * and the trial of that number holds the params. */
#include "qtune/tune.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

int qt_tune_study_best(qt_storage *s, const char *study, const qt_tune_strategy *ts,
                       double *out_target, qt_err *err) {
  for (size_t k = 0; k < ts->n_params; k++) out_target[k] = NAN;
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  int r = s->vt->study_load(s->self, study, &rec, err);
  if (r) return r;
  json_t *cfg = rec.config_json ? json_loads(rec.config_json, 0, NULL) : NULL;
  json_t *h = json_object_get(cfg, "holdout"), *trials = json_object_get(h, "trials");
  const char *strat = json_string_value(json_object_get(cfg, "strategy"));
  int maximize = !json_is_false(json_object_get(h, "maximize"));
  qt_trial_rec *tv = NULL;
  size_t tn = 0;
  json_int_t best_no = -1;
  double best = NAN;
  if (strat && strcmp(strat, ts->name)) {
    r = qt_err_set(err, QT_EINVAL, "study '%s' tunes %s, not %s", study, strat, ts->name);
    goto done;
  }
  for (size_t k = 0; k < json_array_size(trials); k++) {
    json_t *t = json_array_get(trials, k);
    double o = json_number_value(json_object_get(t, "oos_objective"));
    if (!json_is_true(json_object_get(t, "oos_feasible")) || !isfinite(o)) continue;
    if (isnan(best) || (maximize ? o > best : o < best)) {
      best = o;
      best_no = json_integer_value(json_object_get(t, "number"));
    }
  }
  if (best_no < 0) {
    r = qt_err_set(err, QT_ENOTFOUND, "study '%s' has no holdout-validated trial", study);
    goto done;
  }
  if ((r = s->vt->trials_list(s->self, rec.id, 0, &tv, &tn, err))) goto done;
  r = qt_err_set(err, QT_ENOTFOUND, "study '%s': trial %lld is gone", study, (long long)best_no);
  for (size_t k = 0; k < tn; k++) {
    if (tv[k].number != best_no) continue;
    json_t *p = tv[k].params_json ? json_loads(tv[k].params_json, 0, NULL) : NULL;
    for (size_t j = 0; j < ts->n_params; j++) {
      json_t *v = json_object_get(p, ts->params[j].name);
      if (json_is_number(v)) out_target[j] = json_number_value(v);
    }
    json_decref(p);
    r = QT_OK;
    qt_err_clear(err);
    break;
  }
done:
  qt_trial_recs_free(tv, tn);
  json_decref(cfg);
  qt_study_rec_fini(&rec);
  return r;
}
