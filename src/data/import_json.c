/* freqtrade's JSON layouts (jansson): candles [[ts,o,h,l,c,v],...] and
 * ccxt-ordered trades [[ts,"id",type,"buy"|"sell",price,amount,cost],...].
 * The shape of the first element decides which. */
#include "data/import_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int num(json_t *a, size_t i, double *out) {
  json_t *v = json_array_get(a, i);
  if (!json_is_number(v)) return -1;
  *out = json_number_value(v);
  return isfinite(*out) ? 0 : -1;
}

static int bad_row(qt__imp *s, qt_err *err, const char *name, size_t row, const char *field,
                   const char *what) {
  qt_err e;
  qt_err_set(&e, QT_EPARSE, "%s: element %zu: field '%s': %s", name, row, field, what);
  int rc = qt__imp_bad(s, &e);
  if (rc && err) *err = e;
  return rc;
}

/* The importers' value bounds (qt__imp_check_row) for a parsed element. */
static int check_values(qt__imp *s, qt_err *err, const char *name, size_t row, const uint64_t *r,
                        size_t cs) {
  const char *field;
  char why[120];
  if (!qt__imp_check_row(s, r, cs, &field, why, sizeof why)) return QT_OK;
  return bad_row(s, err, name, row, field, why);
}

int qt__import_json(qt__imp *s, const qt__input *in, qt_err *err) {
  int rc = QT_OK;
  json_error_t je;
  json_t *root = json_loadb(in->buf, in->len, 0, &je);
  if (!root) {
    rc = qt_err_set(err, QT_EPARSE, "%s:%d: invalid JSON (%s)", in->name, je.line, je.text);
    goto fail;
  }
  if (!json_is_array(root) || json_array_size(root) == 0) {
    rc = qt_err_set(err, QT_EPARSE, "%s: expected a non-empty JSON array of rows", in->name);
    goto fail;
  }
  json_t *first = json_array_get(root, 0);
  int trades = json_is_array(first) && json_array_size(first) >= 6 &&
               json_is_string(json_array_get(first, 3));
  if (!json_is_array(first) || json_array_size(first) < 6) {
    rc = qt_err_set(err, QT_EPARSE, "%s: element 1: expected [time, ...] with at least 6 values",
                    in->name);
    goto fail;
  }
  rc = qt__imp_set_kind(s, trades ? QT_KIND_TRADES : QT_KIND_BARS, in->name, err);
  if (rc) goto fail;
  size_t n = json_array_size(root);
  if (qt__table_reserve(&s->t, s->t.n + n)) {
    rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory for %zu rows", in->name, n);
    goto fail;
  }
  static const char *const bar_names[6] = {"time", "open", "high", "low", "close", "volume"};
  for (size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(root, i);
    s->st.rows_read++;
    uint64_t *r = qt__imp_push(s);
    if (!r) {
      rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", in->name);
      goto fail;
    }
    size_t cs = s->t.cap;
    if (!json_is_array(a) || json_array_size(a) < (trades ? 6u : 6u)) {
      rc = bad_row(s, err, in->name, i + 1, "row", "not an array of 6+ values");
      if (rc) goto fail;
      continue;
    }
    double t;
    if (num(a, 0, &t) || t != floor(t) || fabs(t) > 9e18) {
      rc = bad_row(s, err, in->name, i + 1, "time", "not a timestamp");
      if (rc) goto fail;
      continue;
    }
    char digits[32];
    int dl = snprintf(digits, sizeof digits, "%.0f", t);
    int64_t ms;
    qt__imp_stamp(s, digits, (size_t)dl, 1, &ms, NULL); /* the document's unit, as in CSV */
    r[0] = (uint64_t)ms;
    if (!trades) {
      int bad = 0;
      for (int c = 1; c <= 5 && !bad; c++) {
        double d;
        if (num(a, (size_t)c, &d)) {
          rc = bad_row(s, err, in->name, i + 1, bar_names[c], "not a number");
          if (rc) goto fail;
          bad = 1;
        } else {
          r[(size_t)c * cs] = qt__dbits(d);
        }
      }
      if (!bad && (rc = check_values(s, err, in->name, i + 1, r, cs)) != 0) goto fail;
      continue;
    }
    /* [ts, id, type, side, price, amount, cost] */
    json_t *id = json_array_get(a, 1), *side = json_array_get(a, 3);
    int64_t idv = 0;
    if (json_is_string(id)) {
      const char *sv = json_string_value(id);
      if (qt__parse_i64(sv, strlen(sv), &idv)) {
        rc = bad_row(s, err, in->name, i + 1, "id", "not a whole number");
        if (rc) goto fail;
        continue;
      }
    } else if (json_is_integer(id)) {
      idv = (int64_t)json_integer_value(id);
    }
    r[1 * cs] = (uint64_t)idv;
    const char *sv = json_is_string(side) ? json_string_value(side) : "";
    if (strcmp(sv, "buy") == 0) r[4 * cs] = 0;
    else if (strcmp(sv, "sell") == 0) r[4 * cs] = 1;
    else {
      rc = bad_row(s, err, in->name, i + 1, "side", "not buy/sell");
      if (rc) goto fail;
      continue;
    }
    double px, qty;
    if (num(a, 4, &px)) {
      rc = bad_row(s, err, in->name, i + 1, "price", "not a number");
      if (rc) goto fail;
      continue;
    }
    if (num(a, 5, &qty)) {
      rc = bad_row(s, err, in->name, i + 1, "amount", "not a number");
      if (rc) goto fail;
      continue;
    }
    r[2 * cs] = qt__dbits(px);
    r[3 * cs] = qt__dbits(qty);
    if ((rc = check_values(s, err, in->name, i + 1, r, cs)) != 0) goto fail;
  }
fail:
  if (root) json_decref(root);
  return rc;
}
