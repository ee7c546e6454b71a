/* fANOVA parameter importance, as Optuna's default FanovaImportanceEvaluator
 * (which follows Hutter, Hoos and Leyton-Brown 2014, "An efficient approach
 * for assessing hyperparameter importance"): a random forest of regression
 * trees is fitted to (params, objective), and each tree's prediction, a
 * piecewise constant function on boxes of the search space, is decomposed
 * exactly under the uniform measure on the space:
 *   total variance V = sum_l w_l v_l^2 - (sum_l w_l v_l)^2 over leaves l
 *     (w_l: the leaf box's volume share, v_l: its value);
 *   main effect of dimension k: V_k = Var over x_k of E[f | x_k], where
 *     E[f | x_k in cell c] = sum over leaves whose k-range covers c of v_l
 *     times the leaf's volume share in the other dimensions;
 *   pair (j, k): V_jk = Var of E[f | x_j, x_k] - V_j - V_k.
 * A dimension's importance is V_k / V averaged over the trees with V > 0,
 * normalized over the dimensions to sum 1; a pair's is V_jk / V averaged
 * alike and not normalized: the share of the objective's variance that the
 * pair explains beyond its two main effects.  The forest:
 * bootstrap samples, every feature tried at each split, the split that most
 * reduces the squared error at midpoints between distinct values, nodes
 * split while they hold >= min_split samples and are not constant, up to
 * max_depth (sklearn's RandomForestRegressor as Optuna configures it). */
#include "qtune/optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

qt_fanova_opts qt_fanova_opts_default(void) {
  qt_fanova_opts o = {64, 64, 2, 0};
  return o;
}

typedef struct node {
  int feat;          /* -1: leaf */
  double thr;        /* x[feat] <= thr: left */
  int left, right;
  double value;      /* mean of the node's samples */
} node;

typedef struct tree {
  node *nd;
  size_t n, cap;
} tree;

typedef struct fit {
  const double *X, *y;
  size_t d;
  size_t max_depth, min_split;
  size_t *idx;       /* sample indices (with repeats: the bootstrap) */
  struct kv_s *kv;   /* scratch: (feature value, sample) pairs to sort */
  int oom;
} fit;

typedef struct kv_s {
  double key;
  size_t i;
} kv_s;

static int cmp_kv(const void *a, const void *b) {
  const kv_s *x = a, *y = b;
  if (x->key < y->key) return -1;
  if (x->key > y->key) return 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int tree_add(tree *t, fit *f) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    node *nn = qt_realloc(t->nd, cap * sizeof *nn);
    if (!nn) {
      f->oom = 1;
      return -1;
    }
    t->nd = nn;
    t->cap = cap;
  }
  memset(&t->nd[t->n], 0, sizeof t->nd[t->n]);
  t->nd[t->n].feat = -1;
  return (int)t->n++;
}


/* Grows the node over idx[lo, hi). */
static int grow(tree *t, fit *f, size_t lo, size_t hi, size_t depth) {
  int id = tree_add(t, f);
  if (id < 0) return -1;
  size_t m = hi - lo;
  double sum = 0, sq = 0;
  for (size_t i = lo; i < hi; i++) {
    double v = f->y[f->idx[i]];
    sum += v;
    sq += v * v;
  }
  t->nd[id].value = sum / (double)m;
  double sse = sq - sum * sum / (double)m;
  if (m < f->min_split || depth >= f->max_depth || !(sse > 1e-12 * (1 + fabs(sq)))) return id;
  int best_f = -1;
  double best_gain = 0, best_thr = 0;
  for (size_t k = 0; k < f->d; k++) {
    for (size_t i = 0; i < m; i++)
      f->kv[i] = (kv_s){f->X[f->idx[lo + i] * f->d + k], f->idx[lo + i]};
    qsort(f->kv, m, sizeof *f->kv, cmp_kv);
    double ls = 0, lq = 0;
    for (size_t i = 0; i + 1 < m; i++) {
      double v = f->y[f->kv[i].i];
      ls += v;
      lq += v * v;
      double a = f->kv[i].key, b = f->kv[i + 1].key;
      if (!(b > a)) continue;
      double nl = (double)(i + 1), nr = (double)(m - i - 1);
      double rs = sum - ls, rq = sq - lq;
      double child = (lq - ls * ls / nl) + (rq - rs * rs / nr);
      double gain = sse - child;
      if (gain > best_gain + 1e-12 * fabs(sse)) {
        best_gain = gain;
        best_f = (int)k;
        best_thr = a + (b - a) / 2;
      }
    }
  }
  if (best_f < 0) return id;
  /* partition idx[lo, hi) by the split, in place */
  size_t i = lo, j = hi;
  while (i < j) {
    if (f->X[f->idx[i] * f->d + (size_t)best_f] <= best_thr) i++;
    else {
      size_t tmp = f->idx[i];
      f->idx[i] = f->idx[--j];
      f->idx[j] = tmp;
    }
  }
  if (i == lo || i == hi) return id;
  int l = grow(t, f, lo, i, depth + 1);
  if (l < 0) return -1;
  int r = grow(t, f, i, hi, depth + 1);
  if (r < 0) return -1;
  t->nd[id].feat = best_f;
  t->nd[id].thr = best_thr;
  t->nd[id].left = l;
  t->nd[id].right = r;
  return id;
}

/* ---- the decomposition of one tree ---- */

typedef struct leaf {
  double v;
  double *blo, *bhi; /* the leaf's box, d each */
} leaf;

typedef struct decomp {
  size_t d;
  const double *lo, *hi;
  leaf *lf;
  size_t n_leaves, cap_leaves;
  double *boxes;     /* n_leaves * 2d */
  size_t cap_boxes;
  int oom;
} decomp;

static void collect(decomp *D, const tree *t, int id, double *blo, double *bhi) {
  if (D->oom) return;
  const node *n = &t->nd[id];
  size_t d = D->d;
  if (n->feat < 0) {
    if (D->n_leaves == D->cap_leaves) {
      size_t cap = D->cap_leaves ? D->cap_leaves * 2 : 64;
      leaf *nl = qt_realloc(D->lf, cap * sizeof *nl);
      double *nb = qt_realloc(D->boxes, cap * 2 * d * sizeof *nb);
      if (nl) D->lf = nl;
      if (nb) D->boxes = nb;
      if (!nl || !nb) {
        D->oom = 1;
        return;
      }
      D->cap_leaves = cap;
    }
    double *b = D->boxes + D->n_leaves * 2 * d;
    memcpy(b, blo, d * sizeof *b);
    memcpy(b + d, bhi, d * sizeof *b);
    D->lf[D->n_leaves++].v = n->value;
    return;
  }
  size_t k = (size_t)n->feat;
  double save_hi = bhi[k], save_lo = blo[k];
  bhi[k] = n->thr < save_hi ? n->thr : save_hi;
  collect(D, t, n->left, blo, bhi);
  bhi[k] = save_hi;
  blo[k] = n->thr > save_lo ? n->thr : save_lo;
  collect(D, t, n->right, blo, bhi);
  blo[k] = save_lo;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The cut points of dimension k: the domain bounds and every leaf bound
 * inside, sorted and unique, into cut (cap 2 * n_leaves + 2); returns count. */
static size_t cuts_of(const decomp *D, size_t k, double *cut) {
  size_t d = D->d, n = 0;
  cut[n++] = D->lo[k];
  cut[n++] = D->hi[k];
  for (size_t l = 0; l < D->n_leaves; l++) {
    const double *b = D->boxes + l * 2 * d;
    if (b[k] > D->lo[k] && b[k] < D->hi[k]) cut[n++] = b[k];
    if (b[d + k] > D->lo[k] && b[d + k] < D->hi[k]) cut[n++] = b[d + k];
  }
  qsort(cut, n, sizeof *cut, cmp_d);
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (!u || cut[i] > cut[u - 1]) cut[u++] = cut[i];
  return u;
}

static size_t find_cut(const double *cut, size_t n, double x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cut[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* A leaf's volume share in dimension k. */
static double share(const decomp *D, const double *b, size_t k) {
  double w = D->hi[k] - D->lo[k];
  return w > 0 ? (b[D->d + k] - b[k]) / w : 1.0;
}

/* Variance of E[f | x_S] for S = {j} (k == j) or {j, k}, and the mean. */
typedef struct buf {
  double *v;
  size_t cap;
} buf;

static double marginal_var(const decomp *D, size_t j, size_t k, double mean, double *cj,
                           double *ck, buf *ab, int *oom) {
  size_t d = D->d;
  size_t nj = cuts_of(D, j, cj), nk = k == j ? 2 : cuts_of(D, k, ck);
  if (k == j) {
    ck[0] = 0;
    ck[1] = 1;
  }
  size_t cells = (nj - 1) * (nk - 1);
  if (cells > ab->cap) {
    double *nv = qt_realloc(ab->v, cells * sizeof *nv);
    if (!nv) {
      *oom = 1;
      return 0;
    }
    ab->v = nv;
    ab->cap = cells;
  }
  double *acc = ab->v;
  memset(acc, 0, cells * sizeof *acc);
  for (size_t l = 0; l < D->n_leaves; l++) {
    const double *b = D->boxes + l * 2 * d;
    double other = 1;
    for (size_t q = 0; q < d; q++)
      if (q != j && q != k) other *= share(D, b, q);
    double c = D->lf[l].v * other;
    size_t a0 = find_cut(cj, nj, b[j]), a1 = find_cut(cj, nj, b[d + j]);
    size_t b0 = k == j ? 0 : find_cut(ck, nk, b[k]), b1 = k == j ? 1 : find_cut(ck, nk, b[d + k]);
    for (size_t a = a0; a < a1; a++)
      for (size_t bb = b0; bb < b1; bb++) acc[a * (nk - 1) + bb] += c;
  }
  double var = 0;
  double wj = D->hi[j] - D->lo[j], wk = k == j ? 1 : D->hi[k] - D->lo[k];
  for (size_t a = 0; a + 1 < nj; a++)
    for (size_t bb = 0; bb + 1 < nk; bb++) {
      double w = (wj > 0 ? (cj[a + 1] - cj[a]) / wj : 1) *
                 (k == j ? 1 : (wk > 0 ? (ck[bb + 1] - ck[bb]) / wk : 1));
      double dv = acc[a * (nk - 1) + bb] - mean;
      var += w * dv * dv;
    }
  return var;
}

/* Adds this tree's V_k / V to main[k] and V_jk / V to pair[j*d + k];
 * returns 1 when the tree varies (counted), 0 when constant, -1 on OOM. */
static int decompose(const tree *t, size_t d, const double *lo, const double *hi, double *main_acc,
                     double *pair_acc) {
  decomp D = {d, lo, hi, NULL, 0, 0, NULL, 0, 0};
  double *blo = qt_malloc(d * sizeof *blo), *bhi = qt_malloc(d * sizeof *bhi);
  double *cj = NULL, *ck = NULL, *vk = NULL;
  buf ab = {NULL, 0};
  int r = -1;
  if (!blo || !bhi) goto done;
  memcpy(blo, lo, d * sizeof *blo);
  memcpy(bhi, hi, d * sizeof *bhi);
  collect(&D, t, 0, blo, bhi);
  if (D.oom) goto done;
  double mean = 0, sq = 0;
  for (size_t l = 0; l < D.n_leaves; l++) {
    double w = 1;
    const double *b = D.boxes + l * 2 * d;
    for (size_t q = 0; q < d; q++) w *= share(&D, b, q);
    mean += w * D.lf[l].v;
    sq += w * D.lf[l].v * D.lf[l].v;
  }
  double V = sq - mean * mean;
  if (!(V > 1e-15 * (1 + sq))) {
    r = 0;
    goto done;
  }
  size_t nc = 2 * D.n_leaves + 2;
  cj = qt_malloc(nc * sizeof *cj);
  ck = qt_malloc(nc * sizeof *ck);
  vk = qt_malloc(d * sizeof *vk);
  if (!cj || !ck || !vk) goto done;
  int oom = 0;
  for (size_t k = 0; k < d && !oom; k++) {
    vk[k] = marginal_var(&D, k, k, mean, cj, ck, &ab, &oom);
    main_acc[k] += vk[k] / V;
  }
  for (size_t j = 0; pair_acc && j < d && !oom; j++)
    for (size_t k = j + 1; k < d && !oom; k++) {
      double vjk = marginal_var(&D, j, k, mean, cj, ck, &ab, &oom) - vk[j] - vk[k];
      pair_acc[j * d + k] += (vjk > 0 ? vjk : 0) / V;
    }
  if (!oom) r = 1;
done:
  qt_free(blo);
  qt_free(bhi);
  qt_free(cj);
  qt_free(ck);
  qt_free(ab.v);
  qt_free(vk);
  qt_free(D.lf);
  qt_free(D.boxes);
  return r;
}

void qt_importance_order(const double *imp, size_t n, size_t *order) {
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = 1; i < n; i++) { /* insertion sort: stable, n is small */
    size_t v = order[i], j = i;
    while (j > 0 && imp[order[j - 1]] < imp[v]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

int qt_fanova(const double *X, const double *y, size_t n, size_t d, const double *lo,
              const double *hi, const qt_fanova_opts *o, double *out_main,
              qt_fanova_pair *out_pairs, size_t pair_cap, size_t *out_n_pairs, qt_err *err) {
  if (out_n_pairs) *out_n_pairs = 0;
  if (n < 2 || d == 0) return qt_err_set(err, QT_EINVAL, "fanova: needs 2 or more trials and a parameter");
  qt_fanova_opts op = o ? *o : qt_fanova_opts_default();
  if (!op.n_trees) op.n_trees = 64;
  if (!op.max_depth) op.max_depth = 64;
  if (op.min_split < 2) op.min_split = 2;
  for (size_t k = 0; k < d; k++) out_main[k] = 0;
  fit f = {X, y, d, op.max_depth, op.min_split, NULL, NULL, 0};
  f.idx = qt_malloc(n * sizeof *f.idx);
  f.kv = qt_malloc(n * sizeof *f.kv);
  double *pair = out_pairs && pair_cap ? qt_calloc(d * d, sizeof *pair) : NULL;
  tree t = {NULL, 0, 0};
  int r = QT_OK;
  size_t used = 0;
  if (!f.idx || !f.kv || (out_pairs && pair_cap && !pair)) goto oom;
  qt_rng rng;
  qt_rng_seed(&rng, op.seed);
  for (size_t tr = 0; tr < op.n_trees; tr++) {
    for (size_t i = 0; i < n; i++) f.idx[i] = (size_t)(qt_rng_u64(&rng) % n);
    t.n = 0;
    if (grow(&t, &f, 0, n, 0) < 0) goto oom;
    int dr = decompose(&t, d, lo, hi, out_main, pair);
    if (dr < 0) goto oom;
    used += (size_t)dr;
  }
  double tot = 0;
  for (size_t k = 0; k < d; k++) tot += out_main[k];
  double norm = used && tot > 0 ? tot : 0;
  for (size_t k = 0; k < d; k++) out_main[k] = norm > 0 ? out_main[k] / norm : 0;
  if (pair && out_n_pairs) {
    /* the strongest pairs, strongest first (selection: pair_cap is small) */
    size_t m = 0;
    for (size_t j = 0; j < d; j++)
      for (size_t k = j + 1; k < d; k++) {
        double v = used ? pair[j * d + k] / (double)used : 0; /* share of the variance */
        if (!(v > 0)) continue;
        size_t pos = m < pair_cap ? m++ : pair_cap;
        if (pos == pair_cap) {
          if (v <= out_pairs[pair_cap - 1].importance) continue;
          pos = pair_cap - 1;
        }
        while (pos > 0 && out_pairs[pos - 1].importance < v) {
          out_pairs[pos] = out_pairs[pos - 1];
          pos--;
        }
        out_pairs[pos] = (qt_fanova_pair){j, k, v};
      }
    *out_n_pairs = m;
  }
  goto done;
oom:
  r = qt_err_set(err, QT_ENOMEM, "fanova: out of memory");
  for (size_t k = 0; k < d; k++) out_main[k] = 0;
done:
  qt_free(t.nd);
  qt_free(f.idx);
  qt_free(f.kv);
  qt_free(pair);
  return r;
}

int qt_study_importance_fanova(const qt_study *st, const qt_fanova_opts *o, double *out,
                               qt_fanova_pair *out_pairs, size_t pair_cap, size_t *out_n_pairs,
                               qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  size_t d = qt_space_n(sp), nt = qt_study_n_trials(st), n = 0;
  if (out_n_pairs) *out_n_pairs = 0;
  for (size_t k = 0; k < d; k++) out[k] = 0;
  double *X = qt_malloc((nt ? nt : 1) * (d ? d : 1) * sizeof *X);
  double *y = qt_malloc((nt ? nt : 1) * sizeof *y);
  double *lo = qt_malloc((d ? d : 1) * sizeof *lo), *hi = qt_malloc((d ? d : 1) * sizeof *hi);
  int r = QT_OK;
  if (!X || !y || !lo || !hi) {
    r = qt_err_set(err, QT_ENOMEM, "importance: out of memory");
    goto done;
  }
  for (size_t k = 0; k < d; k++) {
    qt_space_bounds(sp, k, &lo[k], &hi[k]);
    const qt_dim *dm = qt_space_dim(sp, k);
    /* discrete values own equal cells: a half step on each side */
    if (dm->type == QT_PARAM_CAT || dm->type == QT_PARAM_BOOL ||
        (dm->type == QT_PARAM_INT && !dm->log)) {
      double h = dm->type == QT_PARAM_INT && dm->step > 0 ? dm->step / 2 : 0.5;
      lo[k] -= h;
      hi[k] += h;
    }
  }
  for (size_t i = 0; i < nt; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE || !isfinite(ti.objective)) continue;
    if (qt_space_params_from_json(sp, ti.params_json, X + n * d, NULL) != 0) continue;
    y[n++] = ti.objective;
  }
  if (n >= 2 && d > 0)
    r = qt_fanova(X, y, n, d, lo, hi, o, out, out_pairs, pair_cap, out_n_pairs, err);
done:
  qt_free(X);
  qt_free(y);
  qt_free(lo);
  qt_free(hi);
  return r;
}
