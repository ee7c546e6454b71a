/* Data checks: one pass per series, counting every finding and keeping the
 * first few with their row and time.  No allocation per row (the only
 * allocation is a sorted copy of trade ids when they are not increasing). */
#include "qtune/data.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_check_names[QT_CHECK_COUNT] = {
#define QT__CHECK_NAME(id, name, text) name,
    QT_VERIFY_CHECKS(QT__CHECK_NAME)
#undef QT__CHECK_NAME
};
static const char *const k_check_texts[QT_CHECK_COUNT] = {
#define QT__CHECK_TEXT(id, name, text) text,
    QT_VERIFY_CHECKS(QT__CHECK_TEXT)
#undef QT__CHECK_TEXT
};

const char *qt_check_name(int check) {
  return check >= 0 && check < QT_CHECK_COUNT ? k_check_names[check] : "unknown";
}

qt_verify_opts qt_verify_opts_default(void) {
  qt_verify_opts o = {.gap_factor = 1.0, .interval_ms = 0, .max_listed = 20, .spike_factor = 50.0};
  return o;
}

/* Shared prologue: validates options and resets the report. */
static int begin(qt_verify_report *r, const qt_verify_opts *o, int kind, size_t n,
                 const int64_t *ts, qt_err *err) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->n_rows = n;
  if (n) {
    r->first_ms = ts[0];
    r->last_ms = ts[n - 1];
  }
  if (!(o->gap_factor >= 1.0) || !isfinite(o->gap_factor))
    return qt_err_set(err, QT_EINVAL, "verify: gap_factor must be >= 1 (got %g)", o->gap_factor);
  if (!(o->spike_factor >= 0.0) || !isfinite(o->spike_factor))
    return qt_err_set(err, QT_EINVAL, "verify: spike_factor must be >= 0 (got %g)", o->spike_factor);
  if (o->interval_ms < 0)
    return qt_err_set(err, QT_EINVAL, "verify: interval_ms must be >= 0 (got %lld)",
                      (long long)o->interval_ms);
  return QT_OK;
}

static void add(qt_verify_report *r, const qt_verify_opts *o, int check, size_t row,
                const int64_t *ts, int64_t missing) {
  r->counts[check]++;
  r->n_findings++;
  size_t cap = o->max_listed < QT_VERIFY_MAX_LISTED ? o->max_listed : QT_VERIFY_MAX_LISTED;
  if (r->n_listed >= cap) return;
  qt_finding *f = &r->listed[r->n_listed++];
  f->check = check;
  f->row = row;
  f->ts_ms = ts[row];
  f->prev_ms = row ? ts[row - 1] : 0;
  f->missing = missing;
}

/* The smallest positive step: the bar interval of a series whose header
 * does not say (a gap can only make steps longer). */
static int64_t min_step(const int64_t *ts, size_t n) {
  int64_t best = 0;
  for (size_t i = 1; i < n; i++) {
    int64_t d = ts[i] - ts[i - 1];
    if (d > 0 && (best == 0 || d < best)) best = d;
  }
  return best;
}

/* Order checks shared by every kind.  Gap/misalignment only when iv > 0. */
static void check_step(qt_verify_report *r, const qt_verify_opts *o, const int64_t *ts,
                       size_t i, int64_t iv, int dup_is_finding) {
  int64_t d = ts[i] - ts[i - 1];
  if (d < 0) {
    add(r, o, QT_CHECK_OUT_OF_ORDER, i, ts, 0);
    return;
  }
  if (d == 0) {
    if (dup_is_finding) add(r, o, QT_CHECK_DUPLICATE, i, ts, 0);
    return;
  }
  if (iv <= 0) return;
  if (d % iv != 0) add(r, o, QT_CHECK_MISALIGNED, i, ts, 0);
  /* Missing bars: the step in whole intervals (to the nearest, so stamp
   * jitter of a few ms neither makes nor hides a gap), less one. */
  int64_t missing = (d + iv / 2) / iv - 1;
  if (missing >= 1 && (double)d > o->gap_factor * (double)iv) {
    r->missing_total += missing;
    add(r, o, QT_CHECK_GAP, i, ts, missing);
  }
}

/* Above QT_IMPORT_MAX_PRICE a price is a corrupt field (1e308), not a market. */
static int bad_px(double p) { return !(p > 0.0) || !isfinite(p) || p > QT_IMPORT_MAX_PRICE; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Whether bar i's range is above spike_factor times the median range of the
 * up to QT_VERIFY_SPIKE_WINDOW bars on each side (bars with a bad price left
 * out; the median ignores a neighbouring spike).  Stack only: at most
 * 2 x window values. */
static int is_spike(const qt_bars *b, size_t i, double factor) {
  double r[2 * QT_VERIFY_SPIKE_WINDOW];
  size_t n = 0, lo = i > QT_VERIFY_SPIKE_WINDOW ? i - QT_VERIFY_SPIKE_WINDOW : 0;
  size_t hi = i + QT_VERIFY_SPIKE_WINDOW < b->n ? i + QT_VERIFY_SPIKE_WINDOW : b->n - 1;
  for (size_t k = lo; k <= hi; k++) {
    if (k == i || bad_px(b->high[k]) || bad_px(b->low[k])) continue;
    r[n++] = b->high[k] - b->low[k];
  }
  if (n < 2) return 0;
  qsort(r, n, sizeof r[0], cmp_double);
  double med = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
  /* Quiet or illiquid bars move a tick or nothing: the reference range is
   * at least QT_VERIFY_SPIKE_FLOOR of the price, so a few ticks are no spike. */
  double floor_px = QT_VERIFY_SPIKE_FLOOR * b->close[i];
  return b->high[i] - b->low[i] > factor * (med > floor_px ? med : floor_px);
}
static int bad_nonneg(double v) { return !(v >= 0.0) || !isfinite(v); }

int qt_verify_bars(const qt_bars *b, const qt_verify_opts *o, qt_verify_report *out, qt_err *err) {
  int rc = begin(out, o, QT_KIND_BARS, b->n, b->ts_ms, err);
  if (rc) return rc;
  int64_t iv = o->interval_ms ? o->interval_ms : b->interval_ms ? b->interval_ms
                                                                 : min_step(b->ts_ms, b->n);
  out->interval_ms = iv;
  for (size_t i = 0; i < b->n; i++) {
    if (i) check_step(out, o, b->ts_ms, i, iv, 1);
    double op = b->open[i], hi = b->high[i], lo = b->low[i], cl = b->close[i];
    if (bad_px(op) || bad_px(hi) || bad_px(lo) || bad_px(cl)) {
      add(out, o, QT_CHECK_BAD_PRICE, i, b->ts_ms, 0);
    } else if (lo > hi || lo > (op < cl ? op : cl) || hi < (op > cl ? op : cl)) {
      add(out, o, QT_CHECK_OHLC, i, b->ts_ms, 0);
    } else if (o->spike_factor > 0 && is_spike(b, i, o->spike_factor)) {
      add(out, o, QT_CHECK_SPIKE, i, b->ts_ms, 0);
    }
    double v = b->volume[i];
    /* Taker volume is a part of the total: 1e-9 relative slack for the
     * rounding of decimal dumps. */
    if (bad_nonneg(v) || bad_nonneg(b->quote_volume[i]) || bad_nonneg(b->trade_count[i]) ||
        bad_nonneg(b->taker_buy_base[i]) || bad_nonneg(b->taker_buy_quote[i]) ||
        b->taker_buy_base[i] > v * (1 + 1e-9) ||
        b->taker_buy_quote[i] > b->quote_volume[i] * (1 + 1e-9))
      add(out, o, QT_CHECK_BAD_VOLUME, i, b->ts_ms, 0);
  }
  return QT_OK;
}

typedef struct id_row {
  int64_t id;
  size_t row;
} id_row;

static int cmp_id_row(const void *a, const void *b) {
  const id_row *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

static int cmp_finding(const void *a, const void *b) {
  const qt_finding *x = a, *y = b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return x->check - y->check;
}

int qt_verify_trades(const qt_trades *t, const qt_verify_opts *o, qt_verify_report *out,
                     qt_err *err) {
  id_row *ids = NULL;
  int rc = begin(out, o, QT_KIND_TRADES, t->n, t->ts_ms, err);
  if (rc) goto fail;
  int ids_increasing = 1, any_id = 0;
  for (size_t i = 0; i < t->n; i++) {
    any_id |= t->id[i] != 0;
    /* Equal stamps are normal for trades: only going back is a finding. */
    if (i) check_step(out, o, t->ts_ms, i, 0, 0);
    if (i && t->id[i] <= t->id[i - 1]) ids_increasing = 0;
    if (bad_px(t->price[i])) add(out, o, QT_CHECK_BAD_PRICE, i, t->ts_ms, 0);
    if (!(t->qty[i] > 0.0) || !isfinite(t->qty[i]) || t->buyer_is_maker[i] > 1)
      add(out, o, QT_CHECK_BAD_VOLUME, i, t->ts_ms, 0);
  }
  /* All ids 0: the source had no id column, so there is nothing to check. */
  if (!ids_increasing && any_id) {
    /* Duplicates anywhere, not only adjacent: sort (id, row) once. */
    ids = qt_malloc(t->n * sizeof *ids);
    if (!ids) {
      rc = qt_err_set(err, QT_ENOMEM, "verify trades: out of memory for %zu ids", t->n);
      goto fail;
    }
    for (size_t i = 0; i < t->n; i++) ids[i] = (id_row){t->id[i], i};
    qsort(ids, t->n, sizeof *ids, cmp_id_row);
    for (size_t i = 1; i < t->n; i++)
      if (ids[i].id == ids[i - 1].id) add(out, o, QT_CHECK_DUPLICATE_ID, ids[i].row, t->ts_ms, 0);
    /* Keep the listing in row order like every other report. */
    qsort(out->listed, out->n_listed, sizeof out->listed[0], cmp_finding);
  }
  rc = QT_OK;
fail:
  qt_free(ids);
  return rc;
}

int qt_verify_funding(const qt_funding *f, const qt_verify_opts *o, qt_verify_report *out,
                      qt_err *err) {
  int rc = begin(out, o, QT_KIND_FUNDING, f->n, f->ts_ms, err);
  if (rc) return rc;
  /* Settlement stamps carry the exchange's millisecond jitter (…00.017): a
   * step is regular within a minute of its interval. */
  const int64_t slack_ms = 60000;
  int64_t fixed = o->interval_ms;
  /* Rows without an interval_h (an import with no such column) are held
   * to the smallest step of the series. */
  int64_t inferred = fixed ? 0 : min_step(f->ts_ms, f->n);
  for (size_t i = 0; i < f->n; i++) {
    double h = f->interval_h[i];
    if (!isfinite(f->rate[i]) || !(h >= 0.0) || !isfinite(h))
      add(out, o, QT_CHECK_BAD_RATE, i, f->ts_ms, 0);
    if (!i) continue;
    int64_t d = f->ts_ms[i] - f->ts_ms[i - 1];
    if (d <= 0) {
      check_step(out, o, f->ts_ms, i, 0, 1);
      continue;
    }
    /* Each row's interval_h says how long the period it settles was. */
    int64_t want = fixed ? fixed : (h > 0 && isfinite(h)) ? (int64_t)llround(h * 3600000.0) : inferred;
    if (want > 0 && llabs(d - want) > slack_ms) {
      int64_t missing = d > want ? (d + slack_ms) / want - 1 : 0;
      out->missing_total += missing;
      add(out, o, QT_CHECK_IRREGULAR, i, f->ts_ms, missing);
    }
  }
  out->interval_ms = fixed ? fixed
                           : (f->n && f->interval_h[0] > 0 && isfinite(f->interval_h[0]))
                                 ? (int64_t)llround(f->interval_h[0] * 3600000.0)
                                 : inferred;
  return QT_OK;
}

int qt_verify_quotes(const qt_quotes *q, const qt_verify_opts *o, qt_verify_report *out,
                     qt_err *err) {
  int rc = begin(out, o, QT_KIND_QUOTES, q->n, q->ts_ms, err);
  if (rc) return rc;
  for (size_t i = 0; i < q->n; i++) {
    if (i) check_step(out, o, q->ts_ms, i, 0, 0);
    if (bad_px(q->bid[i]) || bad_px(q->ask[i])) add(out, o, QT_CHECK_BAD_PRICE, i, q->ts_ms, 0);
    else if (q->bid[i] > q->ask[i]) add(out, o, QT_CHECK_CROSSED, i, q->ts_ms, 0);
    if (bad_nonneg(q->bid_qty[i]) || bad_nonneg(q->ask_qty[i]))
      add(out, o, QT_CHECK_BAD_VOLUME, i, q->ts_ms, 0);
  }
  return QT_OK;
}

/* ---- rendering ---- */

static int io_fail(FILE *f, qt_err *err) {
  if (ferror(f)) return qt_err_set(err, QT_EIO, "verify report: write failed");
  return QT_OK;
}

int qt_verify_report_write_text(const qt_verify_report *r, const char *label, FILE *f,
                                qt_err *err) {
  char a[40], b[40], d[32];
  fprintf(f, "%s: %zu rows", label, r->n_rows);
  if (r->n_rows)
    fprintf(f, ", %s .. %s", qt_time_format(r->first_ms, a, sizeof a),
            qt_time_format(r->last_ms, b, sizeof b));
  if (r->interval_ms > 0) fprintf(f, ", interval %s", qt_duration_format(r->interval_ms, d, sizeof d));
  fprintf(f, "\n");
  if (!r->n_findings) {
    fprintf(f, "  clean: no findings\n");
    return io_fail(f, err);
  }
  fprintf(f, "  %zu findings\n", r->n_findings);
  for (int c = 0; c < QT_CHECK_COUNT; c++) {
    if (!r->counts[c]) continue;
    fprintf(f, "  %-13s %8zu  (%s)", k_check_names[c], r->counts[c], k_check_texts[c]);
    if ((c == QT_CHECK_GAP || c == QT_CHECK_IRREGULAR) && r->missing_total)
      fprintf(f, ", %lld intervals missing", (long long)r->missing_total);
    fprintf(f, "\n");
  }
  for (size_t i = 0; i < r->n_listed; i++) {
    const qt_finding *x = &r->listed[i];
    fprintf(f, "  row %zu %s %s", x->row, qt_time_format(x->ts_ms, a, sizeof a),
            k_check_names[x->check]);
    if (x->check == QT_CHECK_GAP || x->check == QT_CHECK_IRREGULAR)
      fprintf(f, " after %s (%lld missing)", qt_time_format(x->prev_ms, b, sizeof b),
              (long long)x->missing);
    else if (x->check == QT_CHECK_DUPLICATE || x->check == QT_CHECK_OUT_OF_ORDER)
      fprintf(f, " (previous %s)", qt_time_format(x->prev_ms, b, sizeof b));
    fprintf(f, "\n");
  }
  if (r->n_listed < r->n_findings)
    fprintf(f, "  ... %zu more not listed\n", r->n_findings - r->n_listed);
  return io_fail(f, err);
}

/* json_*_new returns NULL only on OOM; json_object_set_new frees its value
 * and fails on a NULL one, so one check of the result covers both. */
static int jset(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v); }

int qt_verify_report_write_json(const qt_verify_report *r, const char *label, FILE *f,
                                qt_err *err) {
  char a[40];
  int rc = QT_OK, bad = 0;
  json_t *root = json_object(), *counts = json_object(), *list = json_array();
  if (!root || !counts || !list) goto oom;
  bad |= jset(root, "series", json_string(label));
  bad |= jset(root, "kind", json_string(qt_kind_name((qt_kind)r->kind)));
  bad |= jset(root, "rows", json_integer((json_int_t)r->n_rows));
  bad |= jset(root, "first", r->n_rows ? json_string(qt_time_format(r->first_ms, a, sizeof a)) : json_null());
  bad |= jset(root, "last", r->n_rows ? json_string(qt_time_format(r->last_ms, a, sizeof a)) : json_null());
  bad |= jset(root, "interval_ms", json_integer(r->interval_ms));
  bad |= jset(root, "findings", json_integer((json_int_t)r->n_findings));
  bad |= jset(root, "missing_intervals", json_integer(r->missing_total));
  for (int c = 0; c < QT_CHECK_COUNT; c++)
    bad |= jset(counts, k_check_names[c], json_integer((json_int_t)r->counts[c]));
  bad |= jset(root, "counts", counts);
  counts = NULL;
  for (size_t i = 0; i < r->n_listed && !bad; i++) {
    const qt_finding *x = &r->listed[i];
    json_t *e = json_object();
    if (!e) goto oom;
    bad |= jset(e, "check", json_string(k_check_names[x->check]));
    bad |= jset(e, "row", json_integer((json_int_t)x->row));
    bad |= jset(e, "ts_ms", json_integer(x->ts_ms));
    bad |= jset(e, "time", json_string(qt_time_format(x->ts_ms, a, sizeof a)));
    if (x->row) bad |= jset(e, "prev_ms", json_integer(x->prev_ms));
    if (x->check == QT_CHECK_GAP || x->check == QT_CHECK_IRREGULAR)
      bad |= jset(e, "missing", json_integer(x->missing));
    bad |= json_array_append_new(list, e);
  }
  bad |= jset(root, "listed", list);
  list = NULL;
  if (bad) goto oom;
  if (json_dumpf(root, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF) {
    rc = qt_err_set(err, QT_EIO, "verify report: write failed");
    goto done;
  }
  rc = io_fail(f, err);
  goto done;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "verify report: out of memory building JSON");
done:
  json_decref(list);
  json_decref(counts);
  json_decref(root);
  return rc;
}
