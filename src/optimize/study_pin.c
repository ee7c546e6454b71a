/* What a study runs on: the flat JSON record pinned at creation and the pure
 * comparison a resume is checked with.  Flat keys so a difference reads as
 * one line a user can act on ("maker_bps: 2 -> 0"). */
#include "qtune/optimize.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const k_ops[] = {">=", "<=", ">", "<"};

/* "sharpe=0.3,total_profit=0.25" / "sharpe>=1,trades>=50" ("" when none). */
static void goal_texts(const qt_goal *g, char *w, size_t wcap, char *c, size_t ccap) {
  size_t n = 0;
  w[0] = c[0] = 0;
  for (size_t k = 0; k < g->n_terms && n < wcap; k++)
    n += (size_t)snprintf(w + n, wcap - n, "%s%s=%.15g", k ? "," : "", g->terms[k].metric,
                          g->terms[k].weight);
  n = 0;
  for (size_t k = 0; k < g->n_cons && n < ccap; k++) {
    int op = g->cons[k].op >= 0 && g->cons[k].op < 4 ? g->cons[k].op : 0;
    n += (size_t)snprintf(c + n, ccap - n, "%s%s%s%.15g", k ? "," : "", g->cons[k].metric,
                          k_ops[op], g->cons[k].bound);
  }
}

/* "<rows> rows <first>..<last> #<checksum>" of feed k's bars. */
static void data_text(const qt_bars *b, char *buf, size_t cap) {
  qt_bars_fp fp;
  char t0[40], t1[40];
  qt_bars_fingerprint(b, &fp);
  qt_time_format(fp.first_ms, t0, sizeof t0);
  qt_time_format(fp.last_ms, t1, sizeof t1);
  snprintf(buf, cap, "%zu rows %s..%s #%016llx", fp.n, t0, t1, (unsigned long long)fp.checksum);
}

static int put(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v); }

int qt_study_pin_json(const qt_study_pin *p, char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = 0;
  if (!p->goal) return qt_err_set(err, QT_EINVAL, "study pin: no goal");
  json_t *o = json_object();
  char *s = NULL, w[1024], c[1024], tmp[160];
  int bad = !o, r = QT_OK;
  if (bad) goto done;
  bad |= put(o, "strategy", p->strategy ? json_string(p->strategy) : json_null());
  if (p->n_feeds > 0 && p->feeds) {
    const qt_feed *f0 = &p->feeds[0];
    bad |= put(o, "catalog", p->catalog ? json_string(p->catalog) : json_null());
    bad |= put(o, "data_file", p->data_file ? json_string(p->data_file) : json_null());
    size_t n = 0;
    tmp[0] = 0;
    for (int k = 0; k < p->n_feeds && n < sizeof tmp; k++)
      n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s%s", k ? "," : "", p->feeds[k].inst.symbol);
    bad |= put(o, "symbol", json_string(tmp));
    const qt_bars *b = f0->bars;
    char t0[40] = "-", t1[40] = "-";
    if (b && b->n) {
      qt_time_format(b->ts_ms[p->from_i < b->n ? p->from_i : b->n - 1], t0, sizeof t0);
      qt_time_format(b->ts_ms[b->n - 1], t1, sizeof t1);
    }
    bad |= put(o, "from", json_string(t0));
    bad |= put(o, "to", json_string(t1));
    for (int k = 0; k < p->n_feeds; k++) {
      char key[32];
      snprintf(key, sizeof key, k ? "data%d" : "data", k + 1);
      if (p->feeds[k].bars) data_text(p->feeds[k].bars, tmp, sizeof tmp);
      else snprintf(tmp, sizeof tmp, "no bars");
      bad |= put(o, key, json_string(tmp));
    }
    bad |= put(o, "maker_bps", json_real(f0->inst.maker_bps));
    bad |= put(o, "taker_bps", json_real(f0->inst.taker_bps));
    bad |= put(o, "lot_size", json_real(f0->inst.lot_size));
    bad |= put(o, "tick_size", json_real(f0->inst.tick_size));
  }
  if (p->eo) {
    bad |= put(o, "cash", json_real(p->eo->cash));
    bad |= put(o, "slippage_bps", json_real(p->eo->slippage_bps));
    bad |= put(o, "leverage", json_real(p->eo->leverage_cap));
    bad |= put(o, "hedge_mode", json_boolean(p->eo->hedge_mode));
    bad |= put(o, "trade_on_close", json_boolean(p->eo->trade_on_close));
    /* a boolean as before for none/close, so older studies still match */
    bad |= put(o, "close_at_end", p->eo->close_at_end == QT_CLOSE_AT_END_OPEN
                                      ? json_string("open")
                                      : json_boolean(p->eo->close_at_end));
    bad |= put(o, "fill_on_trades", json_boolean(p->eo->fill_on_trades));
    if (p->eo->trade_accounting != QT_ACCOUNTING_AUTO) /* absent before: older studies match */
      bad |= put(o, "trade_accounting",
                 json_string(p->eo->trade_accounting == QT_ACCOUNTING_LOTS ? "lots" : "average"));
    if (p->eo->fill_delay_bars) /* absent at 0: older studies match */
      bad |= put(o, "fill_delay_bars", json_integer((json_int_t)p->eo->fill_delay_bars));
  }
  const qt_goal *g = p->goal;
  goal_texts(g, w, sizeof w, c, sizeof c);
  /* several objectives: "sharpe,max_drawdown" and "maximize,minimize" (one
   * objective reads as before, so older pins still compare equal) */
  char objs[3 * 49] = "", dirs[3 * 10] = "";
  for (size_t k = 0, lo = 0, ld = 0; k < qt_goal_n_objectives(g); k++) {
    int mx;
    const char *nm = qt_goal_objective(g, k, &mx);
    lo += (size_t)snprintf(objs + lo, sizeof objs - lo, "%s%s", k ? "," : "", nm);
    ld += (size_t)snprintf(dirs + ld, sizeof dirs - ld, "%s%s", k ? "," : "",
                           mx ? "maximize" : "minimize");
  }
  bad |= put(o, "objective", json_string(objs));
  bad |= put(o, "direction", json_string(dirs));
  bad |= put(o, "weights", json_string(w));
  bad |= put(o, "constraints", json_string(c));
  bad |= put(o, "lenient", json_boolean(g->lenient));
  if (bad) goto done;
  s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  bad = !s;
done:
  if (bad) r = qt_err_set(err, QT_ENOMEM, "study pin: out of memory");
  else if (strlen(s) >= cap)
    r = qt_err_set(err, QT_EINVAL, "study pin: %zu bytes do not fit in %zu", strlen(s), cap);
  else memcpy(buf, s, strlen(s) + 1);
  free(s);
  json_decref(o);
  return r;
}

/* A value as the user reads it: strings bare, numbers shortest, absent "(none)". */
static void value_text(const json_t *v, char *buf, size_t cap) {
  if (!v || json_is_null(v)) snprintf(buf, cap, "(none)");
  else if (json_is_string(v)) snprintf(buf, cap, "%s", *json_string_value(v) ? json_string_value(v) : "(none)");
  else if (json_is_number(v)) snprintf(buf, cap, "%.15g", json_number_value(v));
  else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
  else snprintf(buf, cap, "(other)");
}

static void diff_key(const char *k, const json_t *a, const json_t *b, char *buf, size_t cap,
                     size_t *len, size_t *n) {
  /* Where the data is differs from machine to machine; what it holds is the
   * "data" fingerprint's to compare.  From a catalog to a file still counts. */
  if ((!strcmp(k, "catalog") || !strcmp(k, "data_file")) && json_is_string(a) && json_is_string(b))
    return;
  char va[512], vb[512];
  value_text(a, va, sizeof va);
  value_text(b, vb, sizeof vb);
  if (!strcmp(va, vb)) return;
  ++*n;
  if (*len < cap) {
    int w = snprintf(buf + *len, cap - *len, "%s: %s -> %s\n", k, va, vb);
    /* a line cut by cap is dropped whole, never left half */
    if (w > 0 && (size_t)w < cap - *len) *len += (size_t)w;
    else buf[*len] = 0;
  }
}

int qt_study_pin_diff(const char *was, const char *now, char *buf, size_t cap, size_t *out_n,
                      qt_err *err) {
  *out_n = 0;
  if (cap) buf[0] = 0;
  json_t *a = was ? json_loads(was, 0, NULL) : NULL;
  json_t *b = now ? json_loads(now, 0, NULL) : NULL;
  int r = QT_OK;
  if (!json_is_object(a) || !json_is_object(b)) {
    r = qt_err_set(err, QT_EPARSE, "study pin: the %s pin is not a JSON object",
                   json_is_object(a) ? "new" : "stored");
    goto done;
  }
  size_t len = 0, n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v) diff_key(k, json_object_get(a, k), v, cap ? buf : NULL, cap, &len, &n);
  json_object_foreach(a, k, v) {
    if (!json_object_get(b, k)) diff_key(k, v, NULL, cap ? buf : NULL, cap, &len, &n);
  }
  *out_n = n;
done:
  json_decref(a);
  json_decref(b);
  return r;
}
