/* The indicator cache behind qt_ctx_indicator: whole-series indicator
 * columns computed once per (series, kind, lengths) and kept in the engine
 * across runs, under a memory budget.  Conventions: docs/engine.md,
 * "Indicator cache". */
#include "engine/engine_int.h"
#include "qtune/indicators.h"

/* Frees every cached column and the index (engine teardown). */
void qt__ind_free_all(qt_ctx *cx) {
  for (size_t j = 0; j < cx->n_ind; j++) qt_free(cx->ind[j].block), qt_free(cx->ind[j].xs);
  qt_free(cx->ind);
  cx->ind = NULL;
  cx->n_ind = cx->cap_ind = cx->ind_bytes = 0;
}

/* Over the budget, entries this run has not used are freed. */
static void evict_unused(qt_ctx *cx) {
  size_t w = 0;
  for (size_t j = 0; j < cx->n_ind; j++) {
    qt__ind *e = &cx->ind[j];
    if (e->run == cx->run_id) {
      cx->ind[w++] = *e;
      continue;
    }
    cx->ind_bytes -= (size_t)e->nout * e->stride * sizeof(double);
    qt_free(e->block);
    qt_free(e->xs);
  }
  cx->n_ind = w;
}

/* A stream's column block: the kind's streaming state run over the b->n
 * bars so far (the batch values, bit for bit), its rows past them NaN until
 * qt__ind_extend fills them; *out_xs keeps the state and its ring. */
static int stream_start(const qt_bars *b, int kind, int n1, int n2, int n3, double *const *cols,
                        int nout, size_t stride, qt_ind_kind_state **out_xs, qt_err *err) {
  *out_xs = NULL;
  size_t rl = qt_ind_kind_ring_len(kind, n1, n2, n3);
  qt_ind_kind_state *xs = qt_malloc(sizeof *xs + rl * sizeof(double));
  if (!xs) return qt_err_set(err, QT_ENOMEM, "qt_ctx_indicator: out of memory for a stream column");
  int rc = qt_ind_kind_init(xs, kind, n1, n2, n3, rl ? (double *)(xs + 1) : NULL, err);
  if (rc) {
    qt_free(xs);
    return rc;
  }
  for (size_t i = 0; i < b->n; i++) qt_ind_kind_update(xs, b, i, cols);
  for (int k = 0; k < nout; k++)
    for (size_t i = b->n; i < stride; i++) cols[k][i] = NAN;
  *out_xs = xs;
  return QT_OK;
}

int qt__ind_extend(qt_ctx *cx, const qt_bars *b, qt_err *err) {
  for (size_t j = 0; j < cx->n_ind; j++) {
    qt__ind *e = &cx->ind[j];
    if (e->run != cx->run_id || e->key_close != b->close || e->n >= b->n) continue;
    if (!e->xs || b->n > e->stride)
      return qt_err_set(err, QT_ESTATE,
                        "qt_engine_extend: an indicator column of %zu rows cannot take %zu bars "
                        "(qt_engine_reserve before qt_engine_begin, with room for them)",
                        e->stride, b->n);
    double *cols[QT__MAX_IND_OUT];
    for (int k = 0; k < e->nout; k++) cols[k] = e->block + (size_t)k * e->stride;
    for (size_t i = e->n; i < b->n; i++) qt_ind_kind_update(e->xs, b, i, cols);
    e->n = b->n;
  }
  return QT_OK;
}

const double *qt_ctx_indicator(qt_ctx *cx, int inst, int kind, int n1, int n2, int n3, int out,
                               qt_err *err) {
  if (!cx->r.in_init) {
    qt_err_set(err, QT_ESTATE, "qt_ctx_indicator: call it from the strategy's init() only");
    return NULL;
  }
  if (inst < 0 || inst >= cx->r.n_feeds) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: instrument %d out of range (0..%d)", inst,
               cx->r.n_feeds - 1);
    return NULL;
  }
  int nout = qt_ind_n_outputs(kind);
  if (nout <= 0 || nout > QT__MAX_IND_OUT) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: unknown indicator kind %d", kind);
    return NULL;
  }
  if (out < 0 || out >= nout) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: kind %d has outputs 0..%d, not %d", kind,
               nout - 1, out);
    return NULL;
  }
  const qt_bars *b = cx->r.fd[inst].f->bars;
  /* feed 0 of a stream (qt_engine_reserve): columns with room to grow */
  int grow = inst == 0 && cx->stream_cap > 0 && cx->stream_cap >= b->n;
  for (size_t j = 0; j < cx->n_ind; j++) {
    qt__ind *e = &cx->ind[j];
    if (e->key_close == b->close && e->key_ts == b->ts_ms && e->n == b->n && e->kind == kind &&
        e->n1 == n1 && e->n2 == n2 && e->n3 == n3 &&
        (!grow || (e->xs && e->stride >= cx->stream_cap))) {
      e->run = cx->run_id;
      return e->block + (size_t)out * e->stride;
    }
  }
  size_t stride = grow ? cx->stream_cap : b->n;
  size_t need = (size_t)nout * stride * sizeof(double);
  if (cx->ind_bytes + need > QT__IND_BUDGET) evict_unused(cx);
  if (cx->n_ind == cx->cap_ind) {
    size_t nc = cx->cap_ind ? cx->cap_ind * 2 : 16;
    qt__ind *ni = qt_realloc(cx->ind, nc * sizeof *ni);
    if (!ni) {
      qt_err_set(err, QT_ENOMEM, "qt_ctx_indicator: out of memory for the cache index");
      return NULL;
    }
    cx->ind = ni;
    cx->cap_ind = nc;
  }
  double *block = qt_malloc(need ? need : sizeof(double));
  if (!block) {
    qt_err_set(err, QT_ENOMEM, "qt_ctx_indicator: out of memory for %zu bars x %d columns", stride,
               nout);
    return NULL;
  }
  double *cols[QT__MAX_IND_OUT];
  for (int k = 0; k < nout; k++) cols[k] = block + (size_t)k * stride;
  qt_ind_kind_state *xs = NULL;
  /* the batch call checks the arguments and columns for both forms */
  int rc = qt_ind_compute(b, kind, n1, n2, n3, cols, err);
  if (rc == QT_OK && grow) rc = stream_start(b, kind, n1, n2, n3, cols, nout, stride, &xs, err);
  if (rc != QT_OK) {
    qt_free(block);
    return NULL;
  }
  qt__ind *e = &cx->ind[cx->n_ind++];
  e->key_close = b->close;
  e->key_ts = b->ts_ms;
  e->n = b->n;
  e->kind = kind;
  e->n1 = n1;
  e->n2 = n2;
  e->n3 = n3;
  e->nout = nout;
  e->block = block;
  e->run = cx->run_id;
  e->stride = stride;
  e->xs = xs;
  cx->ind_bytes += need;
  return block + (size_t)out * stride;
}

size_t qt_engine_indicators_used(const qt_engine *e, qt_ind_used *out, size_t cap) {
  const qt_ctx *cx = &e->cx;
  size_t k = 0;
  for (size_t j = 0; j < cx->n_ind; j++) {
    const qt__ind *in = &cx->ind[j];
    if (in->run != cx->run_id) continue; /* cached for an earlier run */
    if (k < cap) {
      qt_ind_used u = {.close = in->key_close, .n = in->n, .kind = in->kind, .n1 = in->n1,
                       .n2 = in->n2, .n3 = in->n3, .n_out = in->nout < 4 ? in->nout : 4};
      for (int c = 0; c < u.n_out; c++) u.cols[c] = in->block + (size_t)c * in->stride;
      out[k] = u;
    }
    k++;
  }
  return k;
}
