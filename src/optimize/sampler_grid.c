/* The grid sampler: the full product of every dimension's values (ints by
 * step, stepped floats by step, other floats at n_points even points,
 * categoricals all), visited in a seeded shuffled order.  The order is a
 * bijective permutation of the grid index (a Feistel network with cycle
 * walking), so a grid of 10^15 points costs no memory.  Points already in the
 * history (running ones too) are skipped, so a resumed study goes on. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID_ROUNDS 4

typedef struct grid_self {
  size_t n;
  uint64_t total;     /* product of counts */
  uint64_t pos;       /* next permutation position to try */
  unsigned half_bits; /* Feistel half width */
  uint64_t keys[GRID_ROUNDS];
  uint64_t *set;      /* open-addressing set of done indices + 1 (0 = empty) */
  size_t set_cap, set_n;
  qt__dimx *dx;
  size_t *count;      /* values per dimension */
  double *step;       /* CONT: spacing of the points */
} grid_self;

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t feistel(const grid_self *g, uint64_t x) {
  uint64_t mask = (1ULL << g->half_bits) - 1;
  uint64_t l = x >> g->half_bits, r = x & mask;
  for (int i = 0; i < GRID_ROUNDS; i++) {
    uint64_t t = l ^ (mix64(r ^ g->keys[i]) & mask);
    l = r;
    r = t;
  }
  return (l << g->half_bits) | r;
}

/* The grid index at permutation position p (cycle walking stays in range). */
static uint64_t perm(const grid_self *g, uint64_t p) {
  uint64_t y = feistel(g, p);
  while (y >= g->total) y = feistel(g, y);
  return y;
}

static void grid_destroy(void *self) {
  grid_self *g = self;
  if (!g) return;
  qt_free(g->set);
  qt_free(g->dx);
  qt_free(g->count);
  qt_free(g->step);
  qt_free(g);
}

static int grid_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                       qt_err *err) {
  static const char *const known[] = {"n_points", NULL};
  size_t n = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "grid", known, err);
  if (rc) return rc;
  grid_self *g = qt_calloc(1, sizeof *g);
  if (!g) return qt_err_set(err, QT_ENOMEM, "grid sampler: out of memory");
  g->n = n;
  g->dx = qt_calloc(n ? n : 1, sizeof *g->dx);
  g->count = qt_calloc(n ? n : 1, sizeof *g->count);
  g->step = qt_calloc(n ? n : 1, sizeof *g->step);
  if (!g->dx || !g->count || !g->step) {
    rc = qt_err_set(err, QT_ENOMEM, "grid sampler: out of memory");
    goto fail;
  }
  int64_t n_points = 5;
  const char *np = qt_kv_get(opts, "n_points");
  if (np && (qt_parse_i64(np, strlen(np), &n_points) || n_points < 2 || n_points > 1000000)) {
    rc = qt_err_set(err, QT_EINVAL, "grid sampler: option n_points=%s: expected 2..1000000", np);
    goto fail;
  }
  qt__dimx_fill(sp, g->dx);
  g->total = 1;
  for (size_t k = 0; k < n; k++) {
    const qt__dimx *d = &g->dx[k];
    size_t np_k = d->grid_n ? d->grid_n : (size_t)n_points;
    g->count[k] = d->kind == QT__DIM_CONT ? np_k : d->n;
    if (d->kind == QT__DIM_CONT) g->step[k] = (d->hi - d->lo) / (double)(np_k - 1);
    if (g->count[k] > (UINT64_C(1) << 62) / g->total) {
      rc = qt_err_set(err, QT_EINVAL, "grid sampler: the grid has more than 2^62 points (at '%s')",
                      qt_space_dim(sp, k)->name);
      goto fail;
    }
    g->total *= g->count[k];
  }
  unsigned bits = 2;
  while (bits < 64 && (UINT64_C(1) << bits) < g->total) bits += 2;
  g->half_bits = bits / 2;
  qt_rng r;
  qt_rng_stream(&r, seed, 0x67726964); /* "grid" */
  for (int i = 0; i < GRID_ROUNDS; i++) g->keys[i] = qt_rng_u64(&r);
  *out_self = g;
  return QT_OK;
fail:
  grid_destroy(g);
  return rc;
}

/* Value index of x on dimension k, or -1 when x is not a grid point. */
static int64_t value_index(const grid_self *g, size_t k, double x) {
  const qt__dimx *d = &g->dx[k];
  double f, v;
  switch (d->kind) {
  case QT__DIM_FIXED: return 0;
  case QT__DIM_CAT: f = x; v = round(x); break;
  case QT__DIM_STEP: f = (x - d->lo) / d->q; v = round(f); break;
  case QT__DIM_LOGINT: f = (exp(x) - d->ulo) / d->q; v = round(f); break;
  default: f = (x - d->lo) / g->step[k]; v = round(f); break;
  }
  if (!(fabs(f - v) <= 1e-6) || v < 0 || v >= (double)g->count[k]) return -1;
  return (int64_t)v;
}

static int set_has(const grid_self *g, uint64_t idx) {
  if (!g->set_cap) return 0;
  size_t m = g->set_cap - 1;
  for (size_t h = mix64(idx) & m;; h = (h + 1) & m) {
    if (g->set[h] == 0) return 0;
    if (g->set[h] == idx + 1) return 1;
  }
}

static int set_add(grid_self *g, uint64_t idx) {
  if ((g->set_n + 1) * 2 > g->set_cap) {
    size_t cap = g->set_cap ? g->set_cap * 2 : 64;
    uint64_t *ns = qt_calloc(cap, sizeof *ns);
    if (!ns) return QT_ENOMEM;
    for (size_t i = 0; i < g->set_cap; i++) {
      if (!g->set[i]) continue;
      size_t h = mix64(g->set[i] - 1) & (cap - 1);
      while (ns[h]) h = (h + 1) & (cap - 1);
      ns[h] = g->set[i];
    }
    qt_free(g->set);
    g->set = ns;
    g->set_cap = cap;
  }
  size_t m = g->set_cap - 1;
  size_t h = mix64(idx) & m;
  while (g->set[h]) {
    if (g->set[h] == idx + 1) return QT_OK;
    h = (h + 1) & m;
  }
  g->set[h] = idx + 1;
  g->set_n++;
  return QT_OK;
}

static int grid_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                        qt_err *err) {
  grid_self *g = self;
  for (size_t t = 0; t < n_done; t++) {
    uint64_t idx = 0, mul = 1;
    int on_grid = 1;
    for (size_t k = 0; k < g->n && on_grid; k++) {
      int64_t v = value_index(g, k, done[t].x[k]);
      if (v < 0) on_grid = 0;
      idx += (uint64_t)v * mul;
      mul *= g->count[k];
    }
    if (on_grid && set_add(g, idx)) return qt_err_set(err, QT_ENOMEM, "grid sampler: out of memory");
  }
  while (g->pos < g->total) {
    uint64_t idx = perm(g, g->pos++);
    if (set_has(g, idx)) continue;
    if (set_add(g, idx)) {
      g->pos--;
      return qt_err_set(err, QT_ENOMEM, "grid sampler: out of memory");
    }
    for (size_t k = 0; k < g->n; k++) {
      const qt__dimx *d = &g->dx[k];
      uint64_t v = idx % g->count[k];
      idx /= g->count[k];
      switch (d->kind) {
      case QT__DIM_FIXED: out_x[k] = d->fixed; break;
      case QT__DIM_CAT: out_x[k] = (double)v; break;
      case QT__DIM_STEP: out_x[k] = d->lo + d->q * (double)v; break;
      case QT__DIM_LOGINT: out_x[k] = log(d->ulo + d->q * (double)v); break;
      default: out_x[k] = v + 1 == g->count[k] ? d->hi : d->lo + g->step[k] * (double)v; break;
      }
    }
    return QT_OK;
  }
  return QT_DONE;
}

const qt_sampler_vtbl qt_sampler_grid = {QT_SAMPLER_ABI, "grid", grid_create, grid_propose, NULL,
                                         grid_destroy, QT_SAMPLER_ANY_OBJECTIVES};
