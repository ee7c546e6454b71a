/* The CSV importers: format detection, per-format column layouts, the row
 * loop, and the staging table's merge (sort, dedupe, build series).  A
 * layout maps each input field to a table column and a parse type, so
 * every CSV flavour shares one row loop. */
#include "data/import_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const k_fmt_names[QT_FMT_COUNT] = {
    "auto", "kline", "aggtrades", "fundingrate", "bookticker", "csv", "json"};

const char *qt_import_format_name(int fmt) {
  return fmt >= 0 && fmt < QT_FMT_COUNT ? k_fmt_names[fmt] : "unknown";
}

int qt_import_format_parse(const char *s, int *out) {
  for (int i = 0; i < QT_FMT_COUNT; i++)
    if (s && strcasecmp(s, k_fmt_names[i]) == 0) {
      *out = i;
      return QT_OK;
    }
  *out = QT_FMT_AUTO;
  return QT_EINVAL;
}

qt_import_opts qt_import_opts_default(void) {
  qt_import_opts o;
  memset(&o, 0, sizeof o);
  o.format = QT_FMT_AUTO;
  o.kind = -1;
  return o;
}

int qt__kind_ncols(qt_kind k) {
  static const int n[QT_KIND_COUNT] = {10, 5, 3, 5};
  return (unsigned)k < QT_KIND_COUNT ? n[k] : 0;
}

/* ---------------------------------------------------------------- table */

void qt__table_init(qt__table *t, qt_kind kind) {
  memset(t, 0, sizeof *t);
  t->kind = kind;
  t->ncol = qt__kind_ncols(kind);
}

void qt__table_fini(qt__table *t) {
  qt_free(t->v);
  t->v = NULL;
  t->n = t->cap = 0;
}

/* Large staging blocks are faulted in page by page as rows arrive; huge
 * pages (where the kernel offers them on request) cut those faults 512x. */
static void hugepages(void *p, size_t len) {
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + len) & ~(huge - 1);
  if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/* Columnar: column c is v[c * cap ...], so a sorted, duplicate-free table
 * becomes the series' block without a copy. */
int qt__table_reserve(qt__table *t, size_t rows) {
  if (rows <= t->cap) return QT_OK;
  rows = (rows + 7) & ~(size_t)7; /* keeps every column 64-byte aligned in the block */
  if (rows > SIZE_MAX / 8 / QT__MAX_COLS) return QT_ENOMEM;
  size_t bytes = rows * (size_t)t->ncol * 8;
  uint64_t *nv = qt_malloc(bytes);
  if (!nv) return QT_ENOMEM;
  hugepages(nv, bytes);
  for (int c = 0; c < t->ncol && t->v; c++)
    memcpy(nv + (size_t)c * rows, t->v + (size_t)c * t->cap, t->n * 8);
  qt_free(t->v);
  t->v = nv;
  t->cap = rows;
  return QT_OK;
}

static uint64_t *table_push(qt__table *t) {
  if (t->n == t->cap && qt__table_reserve(t, t->cap ? t->cap * 2 : 4096)) return NULL;
  return t->v + t->n++;
}

static int rows_eq(const qt__table *t, size_t a, size_t b) {
  for (int c = 0; c < t->ncol; c++)
    if (t->v[(size_t)c * t->cap + a] != t->v[(size_t)c * t->cap + b]) return 0;
  return 1;
}

int qt__table_add_series(qt__table *t, const qt_import *im, qt_err *err) {
  size_t n = im->kind == QT_KIND_BARS      ? im->bars.n
             : im->kind == QT_KIND_TRADES  ? im->trades.n
             : im->kind == QT_KIND_FUNDING ? im->funding.n
                                           : im->quotes.n;
  if (qt__table_reserve(t, t->n + n))
    return qt_err_set(err, QT_ENOMEM, "out of memory merging %zu rows", n);
  for (size_t i = 0; i < n; i++) {
    uint64_t *r = t->v + t->n + i;
    size_t cs = t->cap;
    switch (im->kind) {
    case QT_KIND_BARS: {
      const qt_bars *b = &im->bars;
      r[0] = (uint64_t)b->ts_ms[i];
      r[1 * cs] = qt__dbits(b->open[i]), r[2 * cs] = qt__dbits(b->high[i]), r[3 * cs] = qt__dbits(b->low[i]);
      r[4 * cs] = qt__dbits(b->close[i]), r[5 * cs] = qt__dbits(b->volume[i]);
      r[6 * cs] = qt__dbits(b->quote_volume[i]), r[7 * cs] = qt__dbits(b->trade_count[i]);
      r[8 * cs] = qt__dbits(b->taker_buy_base[i]), r[9 * cs] = qt__dbits(b->taker_buy_quote[i]);
      break;
    }
    case QT_KIND_TRADES: {
      const qt_trades *x = &im->trades;
      r[0] = (uint64_t)x->ts_ms[i], r[1 * cs] = (uint64_t)x->id[i];
      r[2 * cs] = qt__dbits(x->price[i]), r[3 * cs] = qt__dbits(x->qty[i]);
      r[4 * cs] = x->buyer_is_maker[i];
      break;
    }
    case QT_KIND_FUNDING: {
      const qt_funding *f = &im->funding;
      r[0] = (uint64_t)f->ts_ms[i], r[1 * cs] = qt__dbits(f->rate[i]);
      r[2 * cs] = qt__dbits(f->interval_h[i]);
      break;
    }
    default: {
      const qt_quotes *q = &im->quotes;
      r[0] = (uint64_t)q->ts_ms[i];
      r[1 * cs] = qt__dbits(q->bid[i]), r[2 * cs] = qt__dbits(q->bid_qty[i]);
      r[3 * cs] = qt__dbits(q->ask[i]), r[4 * cs] = qt__dbits(q->ask_qty[i]);
      break;
    }
    }
  }
  t->n += n;
  return QT_OK;
}

static int strictly_sorted(const qt__table *t) {
  const int64_t *ts = (const int64_t *)t->v;
  const int64_t *k2 = t->kind == QT_KIND_TRADES ? (const int64_t *)t->v + t->cap : NULL;
  for (size_t i = 1; i < t->n; i++)
    if (ts[i] < ts[i - 1] || (ts[i] == ts[i - 1] && (!k2 || k2[i] <= k2[i - 1]))) return 0;
  return 1;
}

/* Hands t's block to out as its series (8-byte columns only); t is left empty. */
static void adopt_block(qt__table *t, qt_import *out) {
  uint64_t *v = t->v;
  size_t cap = t->cap, n = t->n;
  qt_backing mem = {v, cap * (size_t)t->ncol * 8, 0};
#define QT__C(c) ((void *)(v + (size_t)(c) * cap))
  switch (t->kind) {
  case QT_KIND_BARS: {
    qt_bars *b = &out->bars;
    b->n = n, b->mem = mem;
    b->ts_ms = QT__C(0), b->open = QT__C(1), b->high = QT__C(2), b->low = QT__C(3);
    b->close = QT__C(4), b->volume = QT__C(5), b->quote_volume = QT__C(6);
    b->trade_count = QT__C(7), b->taker_buy_base = QT__C(8), b->taker_buy_quote = QT__C(9);
    break;
  }
  case QT_KIND_FUNDING: {
    qt_funding *f = &out->funding;
    f->n = n, f->mem = mem;
    f->ts_ms = QT__C(0), f->rate = QT__C(1), f->interval_h = QT__C(2);
    break;
  }
  default: {
    qt_quotes *q = &out->quotes;
    q->n = n, q->mem = mem;
    q->ts_ms = QT__C(0), q->bid = QT__C(1), q->bid_qty = QT__C(2), q->ask = QT__C(3);
    q->ask_qty = QT__C(4);
    break;
  }
  }
#undef QT__C
  t->v = NULL;
  t->n = t->cap = 0;
}

typedef struct sort_key {
  int64_t ts, k2;
  size_t seq;
} sort_key;

static int key_cmp(const void *a, const void *b) {
  const sort_key *x = a, *y = b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  if (x->k2 != y->k2) return x->k2 < y->k2 ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct hash_pos {
  uint64_t h;
  size_t pos; /* index into keys */
} hash_pos;

static int hash_cmp(const void *a, const void *b) {
  const hash_pos *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static uint64_t row_hash(const qt__table *t, size_t i) {
  uint64_t h = 1469598103934665603ULL;
  for (int c = 0; c < t->ncol; c++) h = (h ^ t->v[(size_t)c * t->cap + i]) * 1099511628211ULL;
  return h;
}

static int i64_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The most common difference between consecutive times, rounded to `unit`
 * (0 when fewer than two rows).  A strict majority (the usual case of a
 * regular series) is found in one pass; otherwise the diffs are sorted. */
static int64_t mode_diff(const int64_t *ts, size_t n, int64_t unit) {
  if (n < 2) return 0;
  int64_t cand = 0;
  size_t cnt = 0;
  for (size_t i = 1; i < n; i++) {
    int64_t d = (ts[i] - ts[i - 1] + unit / 2) / unit;
    if (cnt == 0) cand = d, cnt = 1;
    else if (d == cand) cnt++;
    else cnt--;
  }
  size_t hits = 0;
  for (size_t i = 1; i < n; i++) hits += (ts[i] - ts[i - 1] + unit / 2) / unit == cand;
  if (hits * 2 > n - 1) return cand * unit;
  int64_t *d = qt_malloc((n - 1) * sizeof *d);
  if (!d) return cand * unit; /* the majority candidate is a fair answer without memory */
  for (size_t i = 1; i < n; i++) d[i - 1] = (ts[i] - ts[i - 1] + unit / 2) / unit;
  qsort(d, n - 1, sizeof *d, i64_cmp);
  int64_t best = d[0];
  size_t best_n = 0;
  for (size_t i = 0; i < n - 1;) {
    size_t j = i;
    while (j < n - 1 && d[j] == d[i]) j++;
    if (j - i > best_n) best = d[i], best_n = j - i;
    i = j;
  }
  qt_free(d);
  return best * unit;
}

static int alloc_kind(qt_import *out, qt_kind k, size_t n, qt_err *err) {
  switch (k) {
  case QT_KIND_BARS: return qt_bars_alloc(&out->bars, n, err);
  case QT_KIND_TRADES: return qt_trades_alloc(&out->trades, n, err);
  case QT_KIND_FUNDING: return qt_funding_alloc(&out->funding, n, err);
  default: return qt_quotes_alloc(&out->quotes, n, err);
  }
}

static void store_row(qt_import *out, size_t i, const uint64_t *r, size_t cs) {
  switch (out->kind) {
  case QT_KIND_BARS: {
    qt_bars *b = &out->bars;
    b->ts_ms[i] = (int64_t)r[0];
    b->open[i] = qt__bitsd(r[1 * cs]), b->high[i] = qt__bitsd(r[2 * cs]), b->low[i] = qt__bitsd(r[3 * cs]);
    b->close[i] = qt__bitsd(r[4 * cs]), b->volume[i] = qt__bitsd(r[5 * cs]);
    b->quote_volume[i] = qt__bitsd(r[6 * cs]), b->trade_count[i] = qt__bitsd(r[7 * cs]);
    b->taker_buy_base[i] = qt__bitsd(r[8 * cs]), b->taker_buy_quote[i] = qt__bitsd(r[9 * cs]);
    break;
  }
  case QT_KIND_TRADES: {
    qt_trades *x = &out->trades;
    x->ts_ms[i] = (int64_t)r[0], x->id[i] = (int64_t)r[1 * cs];
    x->price[i] = qt__bitsd(r[2 * cs]), x->qty[i] = qt__bitsd(r[3 * cs]);
    x->buyer_is_maker[i] = (uint8_t)(r[4 * cs] != 0);
    break;
  }
  case QT_KIND_FUNDING: {
    qt_funding *f = &out->funding;
    f->ts_ms[i] = (int64_t)r[0], f->rate[i] = qt__bitsd(r[1 * cs]), f->interval_h[i] = qt__bitsd(r[2 * cs]);
    break;
  }
  default: {
    qt_quotes *q = &out->quotes;
    q->ts_ms[i] = (int64_t)r[0];
    q->bid[i] = qt__bitsd(r[1 * cs]), q->bid_qty[i] = qt__bitsd(r[2 * cs]);
    q->ask[i] = qt__bitsd(r[3 * cs]), q->ask_qty[i] = qt__bitsd(r[4 * cs]);
    break;
  }
  }
}

/* Marks the rows of an event-kind group keys[g0, g1) that repeat an earlier
 * row of the group exactly (drop[pos] = 1).  Small groups compare
 * pairwise; large ones sort by row hash first so a crafted file of one
 * timestamp stays O(n log n). */
static int mark_event_dups(const qt__table *t, const sort_key *keys, size_t g0, size_t g1,
                           uint8_t *drop, size_t *dups) {
  size_t g = g1 - g0;
  if (g <= 32) {
    for (size_t a = g0 + 1; a < g1; a++) {
      for (size_t b = g0; b < a; b++)
        if (!drop[b] && rows_eq(t, keys[a].seq, keys[b].seq)) {
          drop[a] = 1;
          (*dups)++;
          break;
        }
    }
    return QT_OK;
  }
  hash_pos *hp = qt_malloc(g * sizeof *hp);
  if (!hp) return QT_ENOMEM;
  for (size_t a = g0; a < g1; a++)
    hp[a - g0].h = row_hash(t, keys[a].seq), hp[a - g0].pos = a;
  qsort(hp, g, sizeof *hp, hash_cmp);
  for (size_t i = 0; i < g;) {
    size_t j = i;
    while (j < g && hp[j].h == hp[i].h) j++;
    for (size_t a = i + 1; a < j; a++) {
      for (size_t b = i; b < a; b++)
        if (!drop[hp[b].pos] && rows_eq(t, keys[hp[a].pos].seq, keys[hp[b].pos].seq)) {
          drop[hp[a].pos] = 1;
          (*dups)++;
          break;
        }
    }
    i = j;
  }
  qt_free(hp);
  return QT_OK;
}

int qt__table_finish(qt__table *t, qt_import *out, qt_import_stats *st, qt_err *err) {
  int rc = QT_OK;
  sort_key *keys = NULL;
  uint8_t *drop = NULL;
  size_t n = t->n, kept = 0;
  int events = t->kind == QT_KIND_TRADES || t->kind == QT_KIND_QUOTES;
  memset(out, 0, sizeof *out);
  out->kind = t->kind;
  if (strictly_sorted(t)) {
    /* The common case (one file, or files in order without overlap):
     * nothing to drop; an 8-byte-column kind takes the table's block. */
    if (t->kind != QT_KIND_TRADES) {
      adopt_block(t, out);
    } else {
      rc = alloc_kind(out, t->kind, n, err);
      if (rc) goto fail;
      for (size_t i = 0; i < n; i++) store_row(out, i, t->v + i, t->cap);
    }
    kept = n;
    goto built;
  }
  keys = qt_malloc((n ? n : 1) * sizeof *keys);
  drop = qt_calloc(n ? n : 1, 1);
  if (!keys || !drop) {
    rc = qt_err_set(err, QT_ENOMEM, "out of memory sorting %zu rows", n);
    goto fail;
  }
  int sorted = 1;
  for (size_t i = 0; i < n; i++) {
    keys[i].ts = (int64_t)t->v[i];
    keys[i].k2 = t->kind == QT_KIND_TRADES ? (int64_t)t->v[t->cap + i] : 0;
    keys[i].seq = i;
    if (i && key_cmp(&keys[i - 1], &keys[i]) > 0) sorted = 0;
  }
  if (!sorted) qsort(keys, n, sizeof *keys, key_cmp);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && keys[j].ts == keys[i].ts && keys[j].k2 == keys[i].k2) j++;
    if (j - i > 1) {
      if (events) {
        if (mark_event_dups(t, keys, i, j, drop, &st->duplicates)) {
          rc = qt_err_set(err, QT_ENOMEM, "out of memory removing duplicates");
          goto fail;
        }
      } else {
        /* One row per time: the last one (latest file) wins. */
        for (size_t a = i; a < j - 1; a++) {
          drop[a] = 1;
          if (rows_eq(t, keys[j - 1].seq, keys[a].seq)) st->duplicates++;
          else st->replaced++;
        }
      }
    }
    i = j;
  }
  for (size_t i = 0; i < n; i++) kept += !drop[i];
  rc = alloc_kind(out, t->kind, kept, err);
  if (rc) goto fail;
  out->kind = t->kind;
  for (size_t i = 0, k = 0; i < n; i++)
    if (!drop[i]) store_row(out, k++, t->v + keys[i].seq, t->cap);
built:
  if (t->kind == QT_KIND_BARS) {
    out->bars.interval_ms = mode_diff(out->bars.ts_ms, kept, 1);
  } else if (t->kind == QT_KIND_FUNDING) {
    /* Files without an interval column: settlements every N hours, from
     * the most common spacing (rounded to minutes: stamps jitter by ms). */
    double h = (double)mode_diff(out->funding.ts_ms, kept, 60000) / 3600000.0;
    for (size_t i = 0; i < kept; i++)
      if (isnan(out->funding.interval_h[i])) out->funding.interval_h[i] = h;
  }
  st->rows_kept = kept;
  qt__table_fini(t);
fail:
  if (rc) {
    qt_import_stats keep = out->stats;
    qt_import_fini(out);
    out->stats = keep;
  }
  qt_free(keys);
  qt_free(drop);
  return rc;
}

void qt_import_fini(qt_import *im) {
  if (!im) return;
  qt_bars_fini(&im->bars);
  qt_trades_fini(&im->trades);
  qt_funding_fini(&im->funding);
  qt_quotes_fini(&im->quotes);
  memset(im, 0, sizeof *im);
}

/* ---------------------------------------------------------------- rows */

uint64_t *qt__imp_push(qt__imp *s) {
  uint64_t *r = table_push(&s->t);
  if (!r) return NULL;
  size_t cs = s->t.cap;
  for (int c = 0; c < s->t.ncol; c++) r[(size_t)c * cs] = 0;
  if (s->t.kind == QT_KIND_FUNDING) r[2 * cs] = qt__dbits(NAN); /* interval: inferred later */
  return r;
}

int qt__imp_set_kind(qt__imp *s, qt_kind k, const char *name, qt_err *err) {
  if (s->o->kind >= 0 && s->o->kind != (int)k)
    return qt_err_set(err, QT_EINVAL, "%s: holds %s, not %s (check --kind/--format)", name,
                      qt_kind_name(k), qt_kind_name((qt_kind)s->o->kind));
  if (s->kind < 0) {
    s->kind = (int)k;
    qt__table_init(&s->t, k);
    return QT_OK;
  }
  if (s->kind != (int)k)
    return qt_err_set(err, QT_EINVAL, "%s: holds %s, but the files before it hold %s", name,
                      qt_kind_name(k), qt_kind_name((qt_kind)s->kind));
  return QT_OK;
}

int qt__imp_bad(qt__imp *s, qt_err *row_err) {
  if (!s->o->skip_bad) return row_err->code;
  if (s->st.skipped == 0) {
    size_t n = strnlen(row_err->msg, sizeof s->st.first_bad - 1);
    memcpy(s->st.first_bad, row_err->msg, n);
    s->st.first_bad[n] = '\0';
  }
  s->st.skipped++;
  s->t.n--;
  return QT_OK;
}

/* ---------------------------------------------------------------- stamps, values */

int qt_time_unit_parse(const char *s, int *out) {
  static const char *const names[] = {"auto", "s", "ms", "us", "ns"};
  for (int i = 0; i < 5; i++)
    if (s && strcmp(s, names[i]) == 0) return *out = i, QT_OK;
  *out = QT_TIME_UNIT_AUTO;
  return QT_EINVAL;
}

/* The same magnitude rule as qt_time_parse_epoch, applied once per document. */
static int unit_of(uint64_t v) {
  return v < 100000000000ULL ? QT_TIME_UNIT_S : v < 100000000000000ULL ? QT_TIME_UNIT_MS
         : v < 100000000000000000ULL ? QT_TIME_UNIT_US : QT_TIME_UNIT_NS;
}

int qt__imp_stamp(qt__imp *s, const char *p, size_t len, int epoch_only, int64_t *out_ms,
                  qt_err *err) {
  *out_ms = 0;
  while (len && (*p == ' ' || *p == '\t')) p++, len--;
  while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r')) len--;
  size_t i = len && (p[0] == '-' || p[0] == '+');
  int neg = i && p[0] == '-', integer = len > i;
  for (size_t k = i; k < len && integer; k++) integer = p[k] >= '0' && p[k] <= '9';
  /* 8 bare digits are a date YYYYMMDD in a time column (qt_time_parse's rule) */
  if (!integer || (!epoch_only && !i && len == 8)) {
    if (epoch_only) return qt_err_set(err, QT_EPARSE, "not an epoch number");
    return qt_time_parse(p, len, out_ms, err);
  }
  uint64_t v = 0;
  for (size_t k = i; k < len; k++) {
    if (v > (UINT64_MAX - 9) / 10) return qt_err_set(err, QT_EPARSE, "epoch out of range");
    v = v * 10 + (uint64_t)(p[k] - '0');
  }
  if (!s->unit) s->unit = s->o->time_unit ? s->o->time_unit : unit_of(v);
  uint64_t ms;
  switch (s->unit) {
  case QT_TIME_UNIT_S:
    if (v > (uint64_t)INT64_MAX / 1000) return qt_err_set(err, QT_EPARSE, "epoch seconds out of range");
    ms = v * 1000;
    break;
  case QT_TIME_UNIT_MS: ms = v; break;
  case QT_TIME_UNIT_US: ms = v / 1000; break;
  default: ms = v / 1000000; break;
  }
  if (ms > (uint64_t)INT64_MAX) return qt_err_set(err, QT_EPARSE, "epoch out of range");
  *out_ms = neg ? -(int64_t)ms : (int64_t)ms;
  return QT_OK;
}

static int bad_price(double p, char *why, size_t cap) {
  if (isnan(p)) return snprintf(why, cap, "not a number (NaN)"), 1;
  if (!isfinite(p)) return snprintf(why, cap, "not finite (%g)", p), 1;
  if (!(p > 0)) return snprintf(why, cap, "not positive (%g)", p), 1;
  if (p > QT_IMPORT_MAX_PRICE)
    return snprintf(why, cap, "absurd price %g (above %g)", p, QT_IMPORT_MAX_PRICE), 1;
  return 0;
}

static int bad_amount(double v, char *why, size_t cap) {
  if (!isfinite(v)) return snprintf(why, cap, "not finite (%g)", v), 1;
  if (v < 0) return snprintf(why, cap, "negative (%g)", v), 1;
  return 0;
}

int qt__imp_check_row(const qt__imp *s, const uint64_t *r, size_t cs, const char **field,
                      char *why, size_t cap) {
  static const char *const bars[] = {"time", "open", "high", "low", "close", "volume",
                                     "quote_volume", "count", "taker_buy_volume",
                                     "taker_buy_quote_volume"};
  static const char *const quotes[] = {"time", "bid", "bid_qty", "ask", "ask_qty"};
  double v[QT__MAX_COLS];
  for (int c = 1; c < s->t.ncol; c++) v[c] = qt__bitsd(r[(size_t)c * cs]);
  switch (s->t.kind) {
  case QT_KIND_BARS:
    for (int c = 1; c <= 4; c++)
      if (bad_price(v[c], why, cap)) return *field = bars[c], QT_EPARSE;
    for (int c = 5; c <= 9; c++)
      if (bad_amount(v[c], why, cap)) return *field = bars[c], QT_EPARSE;
    if (v[2] < fmax(v[1], v[4]))
      return *field = "high", snprintf(why, cap, "%g is below max(open %g, close %g)", v[2], v[1], v[4]),
             QT_EPARSE;
    if (v[3] > fmin(v[1], v[4]))
      return *field = "low", snprintf(why, cap, "%g is above min(open %g, close %g)", v[3], v[1], v[4]),
             QT_EPARSE;
    return QT_OK;
  case QT_KIND_TRADES:
    if (bad_price(v[2], why, cap)) return *field = "price", QT_EPARSE;
    if (bad_amount(v[3], why, cap)) return *field = "qty", QT_EPARSE;
    return QT_OK;
  case QT_KIND_QUOTES:
    for (int c = 1; c <= 3; c += 2)
      if (bad_price(v[c], why, cap)) return *field = quotes[c], QT_EPARSE;
    for (int c = 2; c <= 4; c += 2)
      if (bad_amount(v[c], why, cap)) return *field = quotes[c], QT_EPARSE;
    return QT_OK;
  default: /* funding: a rate may be negative; the parser already refuses non-finite text */
    return QT_OK;
  }
}

/* ---------------------------------------------------------------- layouts */

/* Parse types of an input field. */
enum { F_SKIP = 0, F_EPOCH, F_TIME, F_F64, F_I64, F_BOOL, F_SIDE };

typedef struct layout {
  qt_kind kind;
  int nfields;
  int8_t col[QT__MAX_FIELDS];
  uint8_t type[QT__MAX_FIELDS];
  char name[QT__MAX_FIELDS][32];
  /* A column mapped to several targets (close-only data: open=c,high=c,...)
   * is parsed once and copied: copy[i] = {from col, to col}. */
  int n_copy;
  int8_t copy[QT__MAX_COLS][2];
} layout;

typedef struct fixed_field {
  const char *name;
  int col, type;
} fixed_field;

static const fixed_field k_kline[12] = {
    {"open_time", 0, F_EPOCH},   {"open", 1, F_F64},       {"high", 2, F_F64},
    {"low", 3, F_F64},           {"close", 4, F_F64},      {"volume", 5, F_F64},
    {"close_time", -1, F_SKIP},  {"quote_volume", 6, F_F64}, {"count", 7, F_F64},
    {"taker_buy_volume", 8, F_F64}, {"taker_buy_quote_volume", 9, F_F64}, {"ignore", -1, F_SKIP}};
static const fixed_field k_agg[7] = {
    {"agg_trade_id", 1, F_I64},     {"price", 2, F_F64},          {"quantity", 3, F_F64},
    {"first_trade_id", -1, F_SKIP}, {"last_trade_id", -1, F_SKIP}, {"transact_time", 0, F_EPOCH},
    {"is_buyer_maker", 4, F_BOOL}};
static const fixed_field k_fund[3] = {
    {"calc_time", 0, F_EPOCH}, {"funding_interval_hours", 2, F_F64}, {"last_funding_rate", 1, F_F64}};
static const fixed_field k_book[7] = {
    {"update_id", -1, F_SKIP},    {"best_bid_price", 1, F_F64}, {"best_bid_qty", 2, F_F64},
    {"best_ask_price", 3, F_F64}, {"best_ask_qty", 4, F_F64},   {"transaction_time", 0, F_EPOCH},
    {"event_time", -1, F_SKIP}};

static void layout_fixed(layout *L, qt_kind k, const fixed_field *f, int n) {
  memset(L, 0, sizeof *L);
  L->kind = k;
  L->nfields = n;
  for (int i = 0; i < n; i++) {
    L->col[i] = (int8_t)f[i].col;
    L->type[i] = (uint8_t)f[i].type;
    snprintf(L->name[i], sizeof L->name[i], "%s", f[i].name);
  }
}

/* Target columns of the generic mapping, per kind, with the header names
 * recognised for each (first = the mapping key, case-insensitive). */
typedef struct target {
  const char *names[10];
  int col, type, required;
} target;

static const target k_t_bars[] = {
    {{"time", "open_time", "timestamp", "date_ms", "date", "datetime", "datetime_utc", "ts",
      "date_utc", "time_utc"}, 0, F_TIME, 1},
    {{"open", "o"}, 1, F_F64, 1},
    {{"high", "h"}, 2, F_F64, 1},
    {{"low", "l"}, 3, F_F64, 1},
    {{"close", "c"}, 4, F_F64, 1},
    {{"volume", "vol", "v"}, 5, F_F64, 0},
    {{"quote_volume", "quote_asset_volume"}, 6, F_F64, 0},
    {{"count", "trades", "number_of_trades"}, 7, F_F64, 0},
    {{"taker_buy_volume", "taker_buy_base", "taker_buy_base_asset_volume"}, 8, F_F64, 0},
    {{"taker_buy_quote_volume", "taker_buy_quote", "taker_buy_quote_asset_volume"}, 9, F_F64, 0},
    {{NULL}, 0, 0, 0}};
static const target k_t_trades[] = {
    {{"time", "timestamp", "transact_time", "ts", "date", "datetime"}, 0, F_TIME, 1},
    {{"id", "trade_id", "agg_trade_id"}, 1, F_I64, 0},
    {{"price", "p"}, 2, F_F64, 1},
    {{"qty", "amount", "quantity", "size"}, 3, F_F64, 1},
    {{"is_buyer_maker", "buyer_is_maker"}, 4, F_BOOL, 0},
    {{"side", "taker_side"}, 4, F_SIDE, 0},
    {{NULL}, 0, 0, 0}};
static const target k_t_funding[] = {
    {{"time", "calc_time", "timestamp", "funding_time", "date_ms", "date", "datetime", "ts"}, 0,
     F_TIME, 1},
    {{"rate", "funding_rate", "last_funding_rate", "fundingrate"}, 1, F_F64, 1},
    {{"interval", "interval_h", "funding_interval_hours"}, 2, F_F64, 0},
    {{NULL}, 0, 0, 0}};
static const target k_t_quotes[] = {
    {{"time", "transaction_time", "timestamp", "ts", "date", "datetime", "event_time"}, 0, F_TIME, 1},
    {{"bid", "best_bid_price", "bid_price"}, 1, F_F64, 1},
    {{"bid_qty", "best_bid_qty", "bid_size"}, 2, F_F64, 0},
    {{"ask", "best_ask_price", "ask_price"}, 3, F_F64, 1},
    {{"ask_qty", "best_ask_qty", "ask_size"}, 4, F_F64, 0},
    {{NULL}, 0, 0, 0}};

static const target *kind_targets(qt_kind k) {
  switch (k) {
  case QT_KIND_BARS: return k_t_bars;
  case QT_KIND_TRADES: return k_t_trades;
  case QT_KIND_FUNDING: return k_t_funding;
  default: return k_t_quotes;
  }
}

static int field_eq(const qt__field *f, const char *name) {
  size_t n = strlen(name);
  const char *s = f->s;
  size_t len = f->len;
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  return len == n && strncasecmp(s, name, n) == 0;
}

/* Whether a header field is empty or only blanks (or a quoted ""). */
static int header_blank(const qt__field *f) {
  for (size_t i = 0; i < f->len; i++)
    if (!isspace((unsigned char)f->s[i]) && f->s[i] != '"') return 0;
  return 1;
}

/* Index of the header field named name (case-insensitive), or -1. */
static int header_find(const qt__field *h, int nh, const char *name, size_t nlen) {
  for (int i = 0; i < nh; i++) {
    const char *s = h[i].s;
    size_t len = h[i].len;
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == nlen && strncmp(s, name, nlen) == 0) return i;
  }
  for (int i = 0; i < nh; i++) {
    const char *s = h[i].s;
    size_t len = h[i].len;
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == nlen && strncasecmp(s, name, nlen) == 0) return i;
  }
  return -1;
}

/* The kind a header suggests (for "csv" without --kind), or -1. */
static int header_kind(const qt__field *h, int nh) {
  for (int k = 0; k < QT_KIND_COUNT; k++) {
    const target *tg = kind_targets((qt_kind)k);
    int ok = 1;
    for (; tg->names[0] && ok; tg++) {
      if (!tg->required || tg->col == 0) continue;
      int found = 0;
      for (int a = 0; a < 10 && tg->names[a] && !found; a++)
        found = header_find(h, nh, tg->names[a], strlen(tg->names[a])) >= 0;
      ok = found;
    }
    if (ok) return k;
  }
  return -1;
}

/* Builds the generic layout from the header h (nh fields, may be 0) and the
 * mapping string `columns` ("target=source,..."; NULL: by header names). */
static int layout_generic(layout *L, qt_kind k, const qt__field *h, int nh, const char *columns,
                          const char *name, qt_err *err) {
  memset(L, 0, sizeof *L);
  if (columns && !*columns) columns = NULL;
  L->kind = k;
  L->nfields = nh;
  for (int i = 0; i < QT__MAX_FIELDS; i++) L->col[i] = -1;
  if (nh > QT__MAX_FIELDS)
    return qt_err_set(err, QT_EPARSE, "%s: more than %d columns", name, QT__MAX_FIELDS);
  for (int i = 0; i < nh; i++) {
    size_t n = h[i].len < sizeof L->name[i] - 1 ? h[i].len : sizeof L->name[i] - 1;
    memcpy(L->name[i], h[i].s, n);
    L->name[i][n] = '\0';
  }
  const target *tg = kind_targets(k);
  int mapped[16] = {0};
  int ti = 0;
  for (const target *x = tg; x->names[0]; x++, ti++) {
    int idx = -1;
    if (columns) {
      /* find "key=source" in the mapping for this target's key or alias */
      const char *p = columns;
      while (*p && idx < 0) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        if (!comma) comma = p + strlen(p);
        if (eq && eq < comma) {
          size_t kl = (size_t)(eq - p);
          int hit = 0;
          for (int a = 0; a < 10 && x->names[a] && !hit; a++)
            hit = strlen(x->names[a]) == kl && strncasecmp(p, x->names[a], kl) == 0;
          if (hit) {
            const char *src = eq + 1;
            size_t sl = (size_t)(comma - src);
            idx = header_find(h, nh, src, sl);
            if (idx < 0) {
              char *e;
              long v = strtol(src, &e, 10);
              if (e == comma && v >= 1 && v <= QT__MAX_FIELDS) idx = (int)v - 1;
            }
            if (idx < 0)
              return qt_err_set(err, QT_EINVAL, "%s: --columns %.*s: no column '%.*s' in the header",
                                name, (int)kl, p, (int)sl, src);
          }
        }
        p = *comma ? comma + 1 : comma;
      }
    } else {
      for (int a = 0; a < 10 && x->names[a] && idx < 0; a++)
        idx = header_find(h, nh, x->names[a], strlen(x->names[a]));
    }
    if (idx < 0) continue;
    if (idx >= L->nfields) L->nfields = idx + 1;
    if (x->col == 4 && k == QT_KIND_TRADES && mapped[4]) continue; /* is_buyer_maker beats side */
    if (L->col[idx] >= 0 && L->col[idx] != x->col) {
      if (L->type[idx] != x->type || L->n_copy == QT__MAX_COLS) continue;
      L->copy[L->n_copy][0] = L->col[idx];
      L->copy[L->n_copy++][1] = (int8_t)x->col;
      mapped[x->col] = 1;
      continue;
    }
    L->col[idx] = (int8_t)x->col;
    L->type[idx] = (uint8_t)x->type;
    if (!L->name[idx][0]) snprintf(L->name[idx], sizeof L->name[idx], "%s", x->names[0]);
    mapped[x->col] = 1;
  }
  /* pandas' to_csv writes the index (the dates) as a first column with an
   * empty header: with no other time column, that column is the time */
  if (!mapped[0] && nh > 1 && L->col[0] < 0 && header_blank(&h[0])) {
    L->col[0] = 0;
    L->type[0] = F_TIME;
    snprintf(L->name[0], sizeof L->name[0], "%s", "time (unnamed first column)");
    mapped[0] = 1;
  }
  if (columns) {
    /* every key of the mapping must be a known target */
    const char *p = columns;
    while (*p) {
      const char *eq = strchr(p, '='), *comma = strchr(p, ',');
      if (!comma) comma = p + strlen(p);
      if (!eq || eq > comma)
        return qt_err_set(err, QT_EINVAL, "--columns: '%.*s' is not target=source", (int)(comma - p), p);
      size_t kl = (size_t)(eq - p);
      int known = 0;
      for (const target *x = tg; x->names[0] && !known; x++)
        for (int a = 0; a < 10 && x->names[a] && !known; a++)
          known = strlen(x->names[a]) == kl && strncasecmp(p, x->names[a], kl) == 0;
      if (!known)
        return qt_err_set(err, QT_EINVAL, "--columns: unknown target '%.*s' for %s", (int)kl, p,
                          qt_kind_name(k));
      p = *comma ? comma + 1 : comma;
    }
  }
  for (const target *x = tg; x->names[0]; x++)
    if (x->required && !mapped[x->col])
      return qt_err_set(err, QT_EINVAL, "%s: no '%s' column for %s (map it with --columns %s=NAME)",
                        name, x->names[0], qt_kind_name(k), x->names[0]);
  return QT_OK;
}

/* ---------------------------------------------------------------- row loop */

static size_t show_len(size_t len) { return len > 40 ? 40 : len; }

/* Formats the row's error; fails (message in *err) unless skip_bad. */
static int row_error(qt__imp *s, qt_err *err, const char *name, size_t line, const layout *L,
                     int i, const qt__field *f, const char *what) {
  qt_err e;
  qt_err_set(&e, QT_EPARSE, "%s:%zu: field '%s': %s (\"%.*s\")", name, line, L->name[i], what,
             (int)show_len(f->len), f->s);
  int rc = qt__imp_bad(s, &e);
  if (rc && err) *err = e;
  return rc;
}

/* Parses the data lines of [p, end); *line_io = the number of the line
 * before p, updated.  Unless eof, a last line that may go on past end (no
 * line break before end) is left: *stop is where parsing stopped, for the
 * caller to carry into the next block.  With s->spill set, the table is
 * spilled before a row would grow it past s->run_rows. */
static int parse_lines(qt__imp *s, const char *name, const layout *L, const char *p,
                       const char *end, int eof, size_t *line_io, const char **stop,
                       qt_err *err) {
  qt__field f[QT__MAX_FIELDS];
  size_t line = *line_io;
  int rc = QT_OK;
  if (stop) *stop = p;
  /* Reserve from the first line's length so large files rarely regrow
   * (a whole document in memory only: a stream's blocks say nothing of it). */
  const char *nl = eof && !s->spill ? memchr(p, '\n', (size_t)(end - p)) : NULL;
  size_t ll = nl ? (size_t)(nl - p) + 1 : eof && !s->spill ? (size_t)(end - p) : 0;
  if (ll) {
    size_t est = s->t.n + (size_t)(end - p) / ll + (size_t)(end - p) / ll / 8 + 16;
    if (qt__table_reserve(&s->t, est))
      return qt_err_set(err, QT_ENOMEM, "%s: out of memory for %zu rows", name, est);
  }
  while (p < end) {
    size_t nf;
    const char *next = qt__csv_split(p, end, f, &nf);
    if (!eof && next >= end) break; /* the line may go on in the next block */
    if (s->spill && s->t.n >= s->run_rows && (rc = s->spill(s, err)) != 0) break;
    line++;
    p = next;
    if (stop) *stop = p;
    *line_io = line;
    if (nf == 1 && f[0].len == 0) continue; /* blank line */
    s->st.rows_read++;
    uint64_t *r = qt__imp_push(s);
    if (!r) return qt_err_set(err, QT_ENOMEM, "%s:%zu: out of memory", name, line);
    size_t cs = s->t.cap;
    if (nf != (size_t)L->nfields) {
      qt_err e;
      qt_err_set(&e, QT_EPARSE, "%s:%zu: expected %d fields, got %zu", name, line, L->nfields,
                 nf);
      rc = qt__imp_bad(s, &e);
      if (rc) {
        if (err) *err = e;
        return rc;
      }
      continue;
    }
    for (int i = 0; i < L->nfields && !rc; i++) {
      int c = L->col[i];
      switch (L->type[i]) {
      case F_SKIP: break;
      case F_F64: {
        double d;
        if (qt__parse_f64(f[i].s, f[i].len, &d)) {
          rc = row_error(s, err, name, line, L, i, &f[i], "not a number");
          goto row_done;
        }
        r[(size_t)c * cs] = qt__dbits(d);
        break;
      }
      case F_I64: {
        int64_t v;
        if (qt__parse_i64(f[i].s, f[i].len, &v)) {
          rc = row_error(s, err, name, line, L, i, &f[i], "not a whole number");
          goto row_done;
        }
        r[(size_t)c * cs] = (uint64_t)v;
        break;
      }
      case F_EPOCH:
      case F_TIME: {
        int64_t t;
        const char *df = L->type[i] == F_TIME ? s->o->date_format : NULL;
        int bad = df ? qt_time_parse_fmt(f[i].s, f[i].len, df, &t, NULL)
                     : qt__imp_stamp(s, f[i].s, f[i].len, L->type[i] == F_EPOCH, &t, NULL);
        if (bad) {
          char what[160];
          if (df) snprintf(what, sizeof what, "not a date in the format \"%s\"", df);
          rc = row_error(s, err, name, line, L, i, &f[i], df ? what : "not a timestamp");
          goto row_done;
        }
        r[(size_t)c * cs] = (uint64_t)t;
        break;
      }
      case F_BOOL: {
        if (field_eq(&f[i], "true") || field_eq(&f[i], "1")) r[(size_t)c * cs] = 1;
        else if (field_eq(&f[i], "false") || field_eq(&f[i], "0")) r[(size_t)c * cs] = 0;
        else {
          rc = row_error(s, err, name, line, L, i, &f[i], "not true/false");
          goto row_done;
        }
        break;
      }
      case F_SIDE: {
        /* side is the taker's: a taker sell means the buyer was the maker */
        if (field_eq(&f[i], "sell")) r[(size_t)c * cs] = 1;
        else if (field_eq(&f[i], "buy")) r[(size_t)c * cs] = 0;
        else {
          rc = row_error(s, err, name, line, L, i, &f[i], "not buy/sell");
          goto row_done;
        }
        break;
      }
      }
    }
  row_done:
    if (rc) return rc;
    if (s->t.n && r == s->t.v + s->t.n - 1) { /* the row was kept */
      for (int k = 0; k < L->n_copy; k++) r[(size_t)L->copy[k][1] * cs] = r[(size_t)L->copy[k][0] * cs];
      /* A parsed row can still be impossible market data (a zero or 1e308
       * price): refused here, so it never reaches a backtest. */
      const char *field;
      char why[120];
      if (qt__imp_check_row(s, r, cs, &field, why, sizeof why)) {
        qt_err e;
        qt_err_set(&e, QT_EPARSE, "%s:%zu: field '%s': %s", name, line, field, why);
        if ((rc = qt__imp_bad(s, &e)) != 0) {
          if (err) *err = e;
          return rc;
        }
      }
    }
  }
  return rc;
}

/* ---------------------------------------------------------------- documents */

static int is_value(const qt__field *f) {
  double d;
  int64_t t;
  return f->len && (qt__parse_f64(f->s, f->len, &d) == 0 || qt_time_parse(f->s, f->len, &t, NULL) == 0);
}

/* Whether the document starting at p (BOM skipped) is JSON: its first
 * non-blank byte is '[' and the format allows it.  *q = that byte, or end
 * when the bytes so far are blank. */
static int doc_is_json(const qt__imp *s, const char *p, const char *end, const char **q) {
  const char *c = p;
  while (c < end && isspace((unsigned char)*c)) c++;
  *q = c;
  int fmt = s->o->format;
  return c < end && *c == '[' && (fmt == QT_FMT_AUTO || fmt == QT_FMT_JSON);
}

/* The layout of a CSV document from its first line at p (the document's
 * bytes so far reach at least the end of that line): *data is the first
 * data line and *line the number of lines before it. */
static int doc_layout(qt__imp *s, const char *name, const char *p, const char *end, layout *out_L,
                      const char **data, size_t *line, qt_err *err) {
  int fmt = s->o->format;
  if (fmt == QT_FMT_JSON) return qt_err_set(err, QT_EPARSE, "%s: not a JSON array", name);
  qt__field h[QT__MAX_FIELDS];
  size_t nh;
  const char *after = qt__csv_split(p, end, h, &nh);
  if (nh > QT__MAX_FIELDS)
    return qt_err_set(err, QT_EPARSE, "%s:1: more than %d fields", name, QT__MAX_FIELDS);
  int header = !is_value(&h[0]);
  if (fmt == QT_FMT_AUTO) {
    if (header) {
      if (field_eq(&h[0], "open_time") && nh == 12) fmt = QT_FMT_KLINE;
      else if (field_eq(&h[0], "agg_trade_id")) fmt = QT_FMT_AGGTRADES;
      else if (field_eq(&h[0], "calc_time")) fmt = QT_FMT_FUNDINGRATE;
      else if (field_eq(&h[0], "update_id")) fmt = QT_FMT_BOOKTICKER;
      else fmt = QT_FMT_CSV;
    } else if (nh == 12) {
      fmt = QT_FMT_KLINE;
    } else if (nh == 7 && (field_eq(&h[6], "true") || field_eq(&h[6], "false"))) {
      fmt = QT_FMT_AGGTRADES;
    } else if (nh == 7) {
      fmt = QT_FMT_BOOKTICKER;
    } else if (nh == 3) {
      fmt = QT_FMT_FUNDINGRATE;
    } else if (!s->o->columns) {
      return qt_err_set(err, QT_EPARSE,
                        "%s: cannot tell the format (%zu columns, no header); use --format", name,
                        nh);
    } else {
      fmt = QT_FMT_CSV;
    }
  }
  layout L;
  int rc = QT_OK;
  switch (fmt) {
  case QT_FMT_KLINE: layout_fixed(&L, QT_KIND_BARS, k_kline, 12); break;
  case QT_FMT_AGGTRADES: layout_fixed(&L, QT_KIND_TRADES, k_agg, 7); break;
  case QT_FMT_FUNDINGRATE: layout_fixed(&L, QT_KIND_FUNDING, k_fund, 3); break;
  case QT_FMT_BOOKTICKER: layout_fixed(&L, QT_KIND_QUOTES, k_book, 7); break;
  default: {
    int k = s->o->kind;
    /* a mapping names its kind's fields: the first kind it fits */
    for (int t = 0; k < 0 && s->o->columns && t < QT_KIND_COUNT; t++)
      if (layout_generic(&L, (qt_kind)t, header ? h : NULL, header ? (int)nh : 0, s->o->columns,
                         name, NULL) == QT_OK)
        k = t;
    if (k < 0 && s->o->columns) k = s->kind >= 0 ? s->kind : QT_KIND_BARS; /* names the bad key */
    if (k < 0 && header) k = header_kind(h, (int)nh);
    if (k < 0) k = s->kind;
    if (k < 0)
      return qt_err_set(err, QT_EPARSE, "%s: cannot tell the kind of series from %s; use --kind",
                        name, header ? "the header" : "a file without a header");
    rc = layout_generic(&L, (qt_kind)k, header ? h : NULL, header ? (int)nh : 0, s->o->columns,
                        name, err);
    if (rc) return rc;
    if (!header) {
      if (L.nfields > (int)nh)
        return qt_err_set(err, QT_EPARSE, "%s:1: --columns names column %d, the row has %zu",
                          name, L.nfields, nh);
      L.nfields = (int)nh;
      for (int i = 0; i < L.nfields; i++)
        if (!L.name[i][0]) snprintf(L.name[i], sizeof L.name[i], "#%d", i + 1);
    }
    break;
  }
  }
  if (header && (size_t)L.nfields != nh)
    return qt_err_set(err, QT_EPARSE, "%s:1: the header has %zu fields, %s expects %d", name,
                      nh, qt_import_format_name(fmt), L.nfields);
  rc = qt__imp_set_kind(s, L.kind, name, err);
  if (rc) return rc;
  *out_L = L;
  *data = header ? after : p;
  *line = header ? 1 : 0;
  return QT_OK;
}

/* The start of a document: counted, its epoch unit undecided, a UTF-8 BOM
 * skipped. */
static const char *doc_start(qt__imp *s, const char *p, const char *end) {
  s->st.files++;
  s->unit = QT_TIME_UNIT_AUTO; /* each document decides its own epoch unit */
  if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 BOM */
  return p;
}

static int on_doc(void *ud, qt__input *in, qt_err *err) {
  qt__imp *s = ud;
  const char *end = in->buf + in->len, *p = doc_start(s, in->buf, end), *q, *data;
  if (doc_is_json(s, p, end, &q)) {
    qt__input j = *in;
    j.buf = (char *)q;
    j.len = (size_t)(end - q);
    return qt__import_json(s, &j, err);
  }
  if (q == end) return qt_err_set(err, QT_EPARSE, "%s: empty file", in->name);
  layout L;
  size_t line;
  int rc = doc_layout(s, in->name, p, end, &L, &data, &line, err);
  if (rc) return rc;
  return parse_lines(s, in->name, &L, data, end, 1, &line, NULL, err);
}

/* Grows a stream's block buffer to hold at least need bytes. */
static int block_grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return QT_OK;
  size_t nc = *cap ? *cap : 1 << 16;
  while (nc < need) nc *= 2;
  char *nb = qt_realloc(*buf, nc);
  if (!nb) return QT_ENOMEM;
  *buf = nb;
  *cap = nc;
  return QT_OK;
}

/* Reads more of st after the len bytes in buf (growing it when full);
 * *eof once nothing more comes. */
static int block_fill(qt__stream *st, char **buf, size_t *cap, size_t *len, size_t block, int *eof,
                      qt_err *err) {
  if (*len + block > *cap && block_grow(buf, cap, *len + block))
    return qt_err_set(err, QT_ENOMEM, "%s: out of memory reading", st->name);
  size_t got;
  int rc = qt__stream_read(st, *buf + *len, *cap - *len, &got, err);
  if (rc) return rc;
  *len += got;
  if (!got) *eof = 1;
  return QT_OK;
}

int qt__imp_stream_doc(qt__imp *s, qt__stream *st, qt_err *err) {
  int rc = QT_OK, eof = 0;
  size_t block = s->block ? s->block : QT_IMPORT_BLOCK, cap = 0, len = 0, skip = 0;
  char *buf = NULL;
  const char *p, *q, *data, *end;
  /* the first line whole (a header decides the layout), or the end */
  for (;;) {
    if ((rc = block_fill(st, &buf, &cap, &len, block, &eof, err)) != 0) goto fail;
    const char *b = buf, *e = buf + len;
    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;
    doc_is_json(s, b, e, &q);
    if (eof || (q < e && memchr(q, '\n', (size_t)(e - q)))) break;
  }
  end = buf + len;
  p = doc_start(s, buf, end);
  skip = (size_t)(p - buf);
  if (doc_is_json(s, p, end, &q)) {
    /* JSON is parsed whole: the rest of the document joins the buffer */
    while (!eof)
      if ((rc = block_fill(st, &buf, &cap, &len, block > len ? block : len, &eof, err)) != 0)
        goto fail;
    qt__input j;
    memset(&j, 0, sizeof j);
    snprintf(j.name, sizeof j.name, "%s", st->name);
    j.buf = buf + skip + (size_t)(q - p);
    j.len = len - skip - (size_t)(q - p);
    rc = qt__import_json(s, &j, err);
    goto fail;
  }
  if (q == end) {
    rc = qt_err_set(err, QT_EPARSE, "%s: empty file", st->name);
    goto fail;
  }
  layout L;
  size_t line;
  if ((rc = doc_layout(s, st->name, p, end, &L, &data, &line, err)) != 0) goto fail;
  for (;;) {
    const char *stop;
    rc = parse_lines(s, st->name, &L, data, buf + len, eof, &line, &stop, err);
    if (rc || eof) goto fail;
    /* the unfinished last line moves to the front; the next block follows it */
    size_t keep = (size_t)(buf + len - stop);
    memmove(buf, stop, keep);
    len = keep;
    if ((rc = block_fill(st, &buf, &cap, &len, block, &eof, err)) != 0) goto fail;
    data = buf;
  }
fail:
  qt_free(buf);
  return rc;
}



static void imp_init(qt__imp *s, const qt_import_opts *o) {
  memset(s, 0, sizeof *s);
  s->o = o;
  s->kind = -1;
}

static int imp_finish(qt__imp *s, const char *name, qt_import *out, qt_err *err) {
  if (s->kind < 0 || s->t.n == 0)
    return qt_err_set(err, QT_EPARSE, "%s: no data rows%s", name,
                      s->st.skipped ? " (every row was malformed)" : "");
  int rc = qt__table_finish(&s->t, out, &s->st, err);
  if (rc) return rc;
  out->stats = s->st;
  return QT_OK;
}

int qt__import_opts_check(const qt_import_opts *o, qt_err *err) {
  if (o->format < 0 || o->format >= QT_FMT_COUNT || o->kind >= QT_KIND_COUNT ||
      o->time_unit < QT_TIME_UNIT_AUTO || o->time_unit > QT_TIME_UNIT_NS)
    return qt_err_set(err, QT_EINVAL, "import: bad format, kind or time unit");
  if (o->date_format) { /* an unknown directive is the user's, not the file's */
    int64_t t;
    if (!*o->date_format) return qt_err_set(err, QT_EINVAL, "import: empty date format");
    if (qt_time_parse_fmt("", 0, o->date_format, &t, err) == QT_EINVAL) return QT_EINVAL;
  }
  return QT_OK;
}

static int on_stream(void *ud, qt__stream *st, qt_err *err) {
  qt__imp *s = ud;
  return qt__imp_stream_doc(s, st, err);
}

int qt_import_files(const char *const *paths, size_t n_paths, const qt_import_opts *o,
                    qt_import *out, qt_err *err) {
  qt_import_opts def = qt_import_opts_default();
  if (!o) o = &def;
  qt__imp s;
  imp_init(&s, o);
  s.block = o->block_bytes;
  int rc = QT_OK;
  memset(out, 0, sizeof *out);
  if (n_paths == 0) {
    rc = qt_err_set(err, QT_EINVAL, "no input files");
    goto fail;
  }
  if ((rc = qt__import_opts_check(o, err)) != 0) goto fail;
  /* documents stream in blocks: the table is the only copy of the data */
  for (size_t i = 0; i < n_paths; i++) {
    rc = qt__input_each_stream(paths[i], on_stream, &s, err);
    if (rc < 0) goto fail;
  }
  rc = imp_finish(&s, n_paths == 1 ? paths[0] : "the input files", out, err);
fail:
  qt__table_fini(&s.t);
  if (rc < 0) qt_import_fini(out);
  return rc < 0 ? rc : QT_OK;
}

int qt__import_buffer(const char *name, const char *buf, size_t len, const qt_import_opts *o,
                      qt_import *out, qt_err *err) {
  qt_import_opts def = qt_import_opts_default();
  if (!o) o = &def;
  qt__imp s;
  imp_init(&s, o);
  memset(out, 0, sizeof *out);
  qt__input in;
  memset(&in, 0, sizeof in);
  snprintf(in.name, sizeof in.name, "%s", name);
  in.buf = (char *)buf;
  in.len = len;
  int rc = len ? on_doc(&s, &in, err) : qt_err_set(err, QT_EPARSE, "%s: empty file", name);
  if (rc >= 0) rc = imp_finish(&s, name, out, err);
  qt__table_fini(&s.t);
  if (rc < 0) qt_import_fini(out);
  return rc < 0 ? rc : QT_OK;
}
