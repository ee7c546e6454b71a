/* Storage front: URL dispatch to a backend and the record helpers. */
#include "qtune/storage.h"

#include <string.h>

const char *qt_trial_state_name(int state) {
  static const char *const names[] = {"running", "complete", "pruned", "fail"};
  return state >= 0 && state <= QT_REC_FAIL ? names[state] : "unknown";
}

void qt_study_rec_fini(qt_study_rec *s) {
  if (!s) return;
  qt_free(s->directions);
  qt_free(s->space_json);
  qt_free(s->config_json);
  s->directions = s->space_json = s->config_json = NULL;
}

void qt_trial_rec_fini(qt_trial_rec *t) {
  if (!t) return;
  qt_free(t->params_json);
  qt_free(t->values_json);
  qt_free(t->metrics_json);
  qt_free(t->error);
  t->params_json = t->values_json = t->metrics_json = t->error = NULL;
}

void qt_trial_recs_free(qt_trial_rec *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) qt_trial_rec_fini(&v[i]);
  qt_free(v);
}

int qt_storage_open(const char *url, qt_storage *out, qt_err *err) {
  out->vt = NULL;
  out->self = NULL;
  if (!url || !*url) return qt_err_set(err, QT_EINVAL, "empty storage URL");
  const qt_storage_vtbl *vt = NULL;
  const char *colon = strstr(url, "://");
  if (!colon || strncmp(url, "sqlite:", 7) == 0) vt = &qt_storage_sqlite;
  else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
    vt = &qt_storage_postgres;
  if (!vt)
    return qt_err_set(err, QT_EINVAL,
                      "storage URL '%s': unknown scheme (use sqlite:///path/to.db or "
                      "postgresql://user@host:port/db)",
                      url);
  int r = vt->open(url, &out->self, err);
  if (r == QT_OK) out->vt = vt;
  return r;
}

void qt_storage_close(qt_storage *s) {
  if (!s || !s->vt) return;
  s->vt->close(s->self);
  s->vt = NULL;
  s->self = NULL;
}
