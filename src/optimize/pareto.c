/* Pareto tools for several objectives: domination, nondominated sorting
 * (with Deb's constrained domination), NSGA-II crowding distance and the
 * exact hypervolume.  Every vector is to be minimized.  Pure: no I/O, no
 * state; scratch comes from qt_malloc and is freed before returning. */
#include "qtune/optimize.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int qt_pareto_dominates(const double *a, const double *b, size_t m) {
  int less = 0;
  for (size_t k = 0; k < m; k++) {
    if (!(a[k] <= b[k])) return 0; /* NaN never dominates */
    if (a[k] < b[k]) less = 1;
  }
  return less;
}

/* Lexicographic order of rows, ties by row index. */
typedef struct lex_ctx {
  const double *f;
  size_t m;
} lex_ctx;

static int lex_less(const lex_ctx *c, size_t a, size_t b) {
  const double *x = c->f + a * c->m, *y = c->f + b * c->m;
  for (size_t k = 0; k < c->m; k++) {
    if (x[k] < y[k]) return 1;
    if (x[k] > y[k]) return 0;
  }
  return a < b;
}

/* Stable merge sort of idx[0..n) by lex_less, tmp of n entries. */
static void lex_sort(const lex_ctx *c, size_t *idx, size_t *tmp, size_t n) {
  if (n < 2) return;
  if (n <= 16) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = i; j > 0 && lex_less(c, idx[j], idx[j - 1]); j--) {
        size_t t = idx[j];
        idx[j] = idx[j - 1];
        idx[j - 1] = t;
      }
    return;
  }
  size_t h = n / 2;
  lex_sort(c, idx, tmp, h);
  lex_sort(c, idx + h, tmp, n - h);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = lex_less(c, idx[j], idx[i]) ? idx[j++] : idx[i++];
  while (i < h) tmp[k++] = idx[i++];
  while (j < n) tmp[k++] = idx[j++];
  memcpy(idx, tmp, n * sizeof *idx);
}

static int row_finite(const double *r, size_t m) {
  for (size_t k = 0; k < m; k++)
    if (isnan(r[k])) return 0;
  return 1;
}

typedef struct viol_ord {
  double v;
  size_t i;
} viol_ord;

static int cmp_viol(const void *a, const void *b) {
  const viol_ord *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

int qt_pareto_sort(const double *f, const double *viol, size_t n, size_t m, size_t need,
                   size_t *out_rank, qt_err *err) {
  for (size_t i = 0; i < n; i++) out_rank[i] = SIZE_MAX;
  if (!n) return QT_OK;
  if (!need || need > n) need = n;
  size_t *ord = qt_malloc(3 * n * sizeof *ord);
  viol_ord *vo = viol ? qt_malloc(n * sizeof *vo) : NULL;
  if (!ord || (viol && !vo)) {
    qt_free(ord);
    qt_free(vo);
    return qt_err_set(err, QT_ENOMEM, "pareto sort: out of memory");
  }
  size_t *tmp = ord + n, *front = ord + 2 * n;
  size_t nf = 0, n_inf = 0;
  for (size_t i = 0; i < n; i++) {
    double v = viol ? (isnan(viol[i]) ? INFINITY : viol[i]) : 0;
    if (v > 0) vo[n_inf++] = (viol_ord){v, i};
    else if (row_finite(f + i * m, m)) ord[nf++] = i;
  }
  lex_ctx c = {f, m};
  lex_sort(&c, ord, tmp, nf);
  /* peel fronts: in lexicographic order a row can only be dominated by an
   * earlier one, and if any earlier row dominates it so does an earlier row
   * of the current front (transitivity), so each row is checked against the
   * front found so far only */
  size_t ranked = 0, rank = 0, left = nf;
  while (left && ranked < need) {
    size_t n_front = 0, rest = 0;
    for (size_t a = 0; a < left; a++) {
      size_t i = ord[a];
      int dom = 0;
      for (size_t b = 0; b < n_front && !dom; b++)
        dom = qt_pareto_dominates(f + front[b] * m, f + i * m, m);
      if (dom) ord[rest++] = i; /* keeps the order */
      else front[n_front++] = i;
    }
    for (size_t b = 0; b < n_front; b++) out_rank[front[b]] = rank;
    ranked += n_front;
    left = rest;
    rank++;
  }
  if (ranked < need && n_inf) { /* infeasible: one front per violation */
    qsort(vo, n_inf, sizeof *vo, cmp_viol);
    for (size_t a = 0; a < n_inf && ranked < need; a++) {
      if (a > 0 && vo[a].v != vo[a - 1].v) rank++;
      out_rank[vo[a].i] = rank;
      ranked++;
    }
  }
  qt_free(ord);
  qt_free(vo);
  return QT_OK;
}

int qt_pareto_crowding(const double *f, size_t m, const size_t *idx, size_t n, double *out,
                       qt_err *err) {
  for (size_t j = 0; j < n; j++) out[j] = 0;
  if (n == 0) return QT_OK;
  size_t *o = qt_malloc(2 * n * sizeof *o);
  if (!o) return qt_err_set(err, QT_ENOMEM, "crowding distance: out of memory");
  size_t *tmp = o + n;
  for (size_t k = 0; k < m; k++) {
    /* order of the rows by objective k (stable: ties keep idx order) */
    for (size_t j = 0; j < n; j++) o[j] = j;
    for (size_t w = 1; w < n; w *= 2) { /* bottom-up merge sort */
      for (size_t lo = 0; lo < n; lo += 2 * w) {
        size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
        size_t a = lo, b = mid, t = lo;
        while (a < mid && b < hi)
          tmp[t++] = f[idx[o[b]] * m + k] < f[idx[o[a]] * m + k] ? o[b++] : o[a++];
        while (a < mid) tmp[t++] = o[a++];
        while (b < hi) tmp[t++] = o[b++];
      }
      memcpy(o, tmp, n * sizeof *o);
    }
#define V(j) f[idx[o[j]] * m + k]
    if (V(0) == V(n - 1)) continue;
    double vmin = NAN, vmax = NAN;
    for (size_t j = 0; j < n; j++)
      if (V(j) != -INFINITY) {
        vmin = V(j);
        break;
      }
    for (size_t j = n; j-- > 0;)
      if (V(j) != INFINITY) {
        vmax = V(j);
        break;
      }
    double width = vmax - vmin;
    if (!(width > 0)) width = 1.0;
    for (size_t j = 0; j < n; j++) {
      double lo = j == 0 ? -INFINITY : V(j - 1), hi = j + 1 == n ? INFINITY : V(j + 1);
      double gap = lo == hi ? 0.0 : hi - lo;
      out[o[j]] += gap / width;
    }
#undef V
  }
  qt_free(o);
  return QT_OK;
}

/* ---- hypervolume ---- */

typedef struct pt2 {
  double x, y;
} pt2;

static int cmp_pt2(const void *a, const void *b) {
  const pt2 *p = a, *q = b;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  return p->y < q->y ? -1 : p->y > q->y;
}

/* 2-D: sort by x; each point lower than every earlier one adds the strip
 * [x, rx] x [y, ymin). */
static double hv2(pt2 *p, size_t n, double rx, double ry) {
  qsort(p, n, sizeof *p, cmp_pt2);
  double hv = 0, ymin = ry;
  for (size_t i = 0; i < n; i++)
    if (p[i].y < ymin) {
      hv += (rx - p[i].x) * (ymin - p[i].y);
      ymin = p[i].y;
    }
  return hv;
}

typedef struct dim_key {
  double v;
  size_t r;
} dim_key;

static int cmp_dim_key(const void *a, const void *b) {
  const dim_key *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return x->r < y->r ? -1 : x->r > y->r;
}

/* The volume of rows[0..n) (all strictly below ref) over dimensions 0..d-1. */
static int hv_rec(const double *f, size_t m, const size_t *rows, size_t n, size_t d,
                  const double *ref, double *out) {
  *out = 0;
  if (n == 0) return QT_OK;
  if (d == 1) {
    double mn = ref[0];
    for (size_t i = 0; i < n; i++)
      if (f[rows[i] * m] < mn) mn = f[rows[i] * m];
    *out = ref[0] - mn;
    return QT_OK;
  }
  if (d == 2) {
    pt2 *p = qt_malloc(n * sizeof *p);
    if (!p) return QT_ENOMEM;
    for (size_t i = 0; i < n; i++) p[i] = (pt2){f[rows[i] * m], f[rows[i] * m + 1]};
    *out = hv2(p, n, ref[0], ref[1]);
    qt_free(p);
    return QT_OK;
  }
  /* slice along dimension d-1: between consecutive values z_i < z_{i+1} the
   * cross-section is the (d-1)-volume of the rows with z <= z_i */
  dim_key *k = qt_malloc(n * sizeof *k);
  size_t *sub = qt_malloc(n * sizeof *sub);
  if (!k || !sub) {
    qt_free(k);
    qt_free(sub);
    return QT_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) k[i] = (dim_key){f[rows[i] * m + d - 1], rows[i]};
  qsort(k, n, sizeof *k, cmp_dim_key);
  double hv = 0;
  int rc = QT_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    sub[i] = k[i].r;
    double z1 = i + 1 < n ? k[i + 1].v : ref[d - 1];
    if (z1 <= k[i].v) continue;
    double a;
    rc = hv_rec(f, m, sub, i + 1, d - 1, ref, &a);
    hv += a * (z1 - k[i].v);
  }
  qt_free(k);
  qt_free(sub);
  *out = hv;
  return rc;
}

int qt_hypervolume(const double *f, size_t n, size_t m, const double *ref, double *out_hv,
                   qt_err *err) {
  *out_hv = 0;
  if (m == 0) return qt_err_set(err, QT_EINVAL, "hypervolume: no objectives");
  for (size_t k = 0; k < m; k++)
    if (!isfinite(ref[k]))
      return qt_err_set(err, QT_EINVAL, "hypervolume: reference point value %zu is not finite",
                        k + 1);
  size_t *rows = qt_malloc((n ? n : 1) * sizeof *rows), *rank = NULL;
  if (!rows) return qt_err_set(err, QT_ENOMEM, "hypervolume: out of memory");
  size_t nr = 0;
  for (size_t i = 0; i < n; i++) {
    int in = 1;
    for (size_t k = 0; k < m && in; k++) in = f[i * m + k] < ref[k]; /* NaN: out */
    if (in) rows[nr++] = i;
  }
  int rc = QT_OK;
  if (m >= 3 && nr > 1) {
    /* only the non-dominated rows bound the volume: fewer slices */
    double *g = qt_malloc(nr * m * sizeof *g);
    rank = qt_malloc(nr * sizeof *rank);
    if (!g || !rank) {
      qt_free(g);
      rc = QT_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < nr; i++) memcpy(g + i * m, f + rows[i] * m, m * sizeof *g);
    if (qt_pareto_sort(g, NULL, nr, m, 0, rank, NULL)) {
      qt_free(g);
      rc = QT_ENOMEM;
      goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < nr; i++)
      if (rank[i] == 0) rows[k++] = rows[i];
    nr = k;
    qt_free(g);
  }
  rc = hv_rec(f, m, rows, nr, m, ref, out_hv);
done:
  qt_free(rows);
  qt_free(rank);
  if (rc) {
    *out_hv = 0;
    return qt_err_set(err, QT_ENOMEM, "hypervolume: out of memory");
  }
  return QT_OK;
}
