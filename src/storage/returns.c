/* The trial_returns table: one row per (study, trial number) holding the
 * trial's per-period returns as little-endian float32 values, base64-encoded
 * text (5.4 characters a value; 180 daily returns take 960 bytes).  Written
 * once when a trial completes, read back by qtune validate. */
#include "storage/storage_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS trial_returns("
    " id @ID@, study_id @INT@ NOT NULL, number @INT@ NOT NULL,"
    " period_ms @INT@ NOT NULL, start_ms @INT@ NOT NULL, n @INT@ NOT NULL,"
    " data TEXT NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS trial_returns_key ON trial_returns(study_id, number);";

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
static void b64_encode(const unsigned char *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = k_b64[(v >> 18) & 63];
    out[o++] = k_b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? k_b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? k_b64[v & 63] : '=';
  }
  out[o] = '\0';
}

static int b64_val(char c) {
  const char *p = c ? strchr(k_b64, c) : NULL;
  return p ? (int)(p - k_b64) : -1;
}

/* Decodes text into exactly n bytes of out; -1 when it is not that. */
static int b64_decode(const char *text, unsigned char *out, size_t n) {
  size_t len = strlen(text), o = 0;
  if (len != 4 * ((n + 2) / 3)) return -1;
  for (size_t i = 0; i < len; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++) v[k] = text[i + k] == '=' ? 0 : b64_val(text[i + k]);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) return -1;
    unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
    for (int k = 0; k < 3 && o < n; k++) out[o++] = (unsigned char)(w >> (16 - 8 * k));
  }
  return 0;
}

static void put_f32(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  for (int k = 0; k < 4; k++) p[k] = (unsigned char)(u >> (8 * k));
}

static float get_f32(const unsigned char *p) {
  uint32_t u = 0;
  for (int k = 0; k < 4; k++) u |= (uint32_t)p[k] << (8 * k);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int qt_returns_put(qt_storage *s, int64_t study_id, int64_t number, int64_t period_ms,
                   int64_t start_ms, const double *r, size_t n, qt_err *err) {
  if (n == 0 || n > QT_RETURNS_MAX_N)
    return qt_err_set(err, QT_EINVAL, "trial %lld returns: %zu values (1..%d allowed)",
                      (long long)number, n, QT_RETURNS_MAX_N);
  if (period_ms <= 0)
    return qt_err_set(err, QT_EINVAL, "trial %lld returns: period %lld ms must be > 0",
                      (long long)number, (long long)period_ms);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(r[i]) || !isfinite((float)r[i]))
      return qt_err_set(err, QT_EINVAL, "trial %lld returns: value %zu is not finite (%g)",
                        (long long)number, i, r[i]);
  int rc = qt__sql_schema(s, k_ddl, err);
  if (rc) return rc;
  unsigned char *raw = qt_malloc(n * 4);
  char *text = qt_malloc(4 * ((n * 4 + 2) / 3) + 1);
  if (!raw || !text) {
    rc = qt_err_set(err, QT_ENOMEM, "trial returns: out of memory");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) put_f32(raw + 4 * i, (float)r[i]);
  b64_encode(raw, n * 4, text);
  qt__sql_arg a[] = {QT__SQL_I(study_id), QT__SQL_I(number),  QT__SQL_I(period_ms),
                     QT__SQL_I(start_ms), QT__SQL_I((int64_t)n), QT__SQL_T(text)};
  int64_t changes = 0;
  rc = qt__sql_exec(s,
                    "INSERT INTO trial_returns(study_id, number, period_ms, start_ms, n, data)"
                    " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(study_id, number) DO NOTHING",
                    a, 6, NULL, NULL, &changes, err);
  if (!rc && changes == 0)
    rc = qt_err_set(err, QT_ESTATE, "trial %lld already has stored returns (immutable)",
                    (long long)number);
fail:
  qt_free(raw);
  qt_free(text);
  return rc;
}

void qt_returns_recs_free(qt_returns_rec *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) qt_free(v[i].r);
  qt_free(v);
}

static int fill_returns(void *dst, const qt__sql_val *c, qt_err *err) {
  int64_t number = c[0].i, n = c[3].i;
  if (n <= 0 || n > QT_RETURNS_MAX_N || !c[4].t)
    return qt_err_set(err, QT_EPARSE, "trial_returns: trial %lld: field 'n': %lld values",
                      (long long)number, (long long)n);
  unsigned char *raw = qt_malloc((size_t)n * 4);
  double *r = qt_malloc((size_t)n * sizeof *r);
  if (!raw || !r) {
    qt_free(raw);
    qt_free(r);
    return qt_err_set(err, QT_ENOMEM, "trial returns: out of memory");
  }
  if (b64_decode(c[4].t, raw, (size_t)n * 4)) {
    qt_free(raw);
    qt_free(r);
    return qt_err_set(err, QT_EPARSE,
                      "trial_returns: trial %lld: field 'data': not %lld base64 float32 values",
                      (long long)number, (long long)n);
  }
  for (int64_t i = 0; i < n; i++) r[i] = get_f32(raw + 4 * i);
  qt_free(raw);
  qt_returns_rec *x = dst;
  x->number = number;
  x->period_ms = c[1].i;
  x->start_ms = c[2].i;
  x->n = (size_t)n;
  x->r = r;
  return QT_OK;
}

static void fini_returns(void *rec) { qt_free(((qt_returns_rec *)rec)->r); }

int qt_returns_list(qt_storage *s, int64_t study_id, qt_returns_rec **out, size_t *out_n,
                    qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 5, 64, "trial_returns", fill_returns,
                                 fini_returns};
  qt__sql_arg a[] = {QT__SQL_I(study_id)};
  return qt__sql_list_read(s, k_ddl,
                           "SELECT number, period_ms, start_ms, n, data FROM trial_returns"
                           " WHERE study_id = $1 ORDER BY number",
                           a, 1, &l, (void **)out, out_n, err);
}

int qt_returns_delete(qt_storage *s, int64_t study_id, size_t *out_n, qt_err *err) {
  if (out_n) *out_n = 0;
  int rc = qt__sql_schema(s, k_ddl, err);
  if (rc) return rc;
  qt__sql_arg a[] = {QT__SQL_I(study_id)};
  int64_t ch = 0;
  rc = qt__sql_exec(s, "DELETE FROM trial_returns WHERE study_id = $1", a, 1, NULL, NULL, &ch, err);
  if (!rc && out_n) *out_n = (size_t)ch;
  return rc;
}
