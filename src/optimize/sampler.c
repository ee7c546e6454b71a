/* The sampler registry and the helpers every sampler shares. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The registry: the one list of samplers (a new one added here is found by
 * name, listed in the help and run by the conformance suite). */
static const qt_sampler_vtbl *const k_samplers[] = {&qt_sampler_grid, &qt_sampler_random,
                                                    &qt_sampler_tpe, &qt_sampler_qmc,
                                                    &qt_sampler_cmaes, &qt_sampler_nsgaii,
                                                    &qt_sampler_motpe};

const qt_sampler_vtbl *qt_sampler_at(size_t i) {
  return i < sizeof k_samplers / sizeof k_samplers[0] ? k_samplers[i] : NULL;
}

const qt_sampler_vtbl *qt_sampler_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; qt_sampler_at(i); i++)
    if (!strcmp(qt_sampler_at(i)->name, name)) return qt_sampler_at(i);
  return NULL;
}

void qt_sampler_names(char *buf, size_t cap, const char *sep) {
  size_t used = 0;
  if (cap) buf[0] = 0;
  for (size_t i = 0; qt_sampler_at(i) && used < cap; i++)
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? sep : "", qt_sampler_at(i)->name);
}

int qt__opts_check(const qt_kv *opts, const char *sampler, const char *const *known,
                   qt_err *err) {
  for (; opts && opts->key; opts++) {
    const char *const *k = known;
    while (*k && strcmp(*k, opts->key) != 0) k++;
    if (*k) continue;
    char list[256] = "";
    size_t n = 0;
    for (k = known; *k && n < sizeof list; k++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k == known ? "" : ", ", *k);
    return qt_err_set(err, QT_EINVAL, "%s sampler: unknown option '%s' (%s)", sampler, opts->key,
                      *known ? list : "it takes none");
  }
  return QT_OK;
}

void qt__dimx_fill(const qt_space *sp, qt__dimx *out) {
  for (size_t k = 0; k < qt_space_n(sp); k++) {
    const qt_dim *d = qt_space_dim(sp, k);
    qt__dimx *x = &out[k];
    memset(x, 0, sizeof *x);
    qt_space_bounds(sp, k, &x->lo, &x->hi);
    if (d->fixed || x->lo == x->hi) {
      x->kind = QT__DIM_FIXED;
      x->fixed = x->lo;
      x->n = 1;
    } else if (d->type == QT_PARAM_CAT || d->type == QT_PARAM_BOOL) {
      x->kind = QT__DIM_CAT;
      x->n = (size_t)x->hi + 1;
    } else if (d->log && (d->type == QT_PARAM_INT || d->step > 0)) {
      x->kind = QT__DIM_LOGINT;
      x->ulo = d->lo;
      x->uhi = d->hi;
      x->q = d->type == QT_PARAM_INT && d->step < 1 ? 1 : d->step;
      x->n = (size_t)floor((d->hi - d->lo) / x->q + 1e-9) + 1;
    } else if (d->type == QT_PARAM_INT || d->step > 0) {
      x->kind = QT__DIM_STEP;
      x->q = d->type == QT_PARAM_INT && d->step < 1 ? 1 : d->step;
      x->n = (size_t)floor((x->hi - x->lo) / x->q + 1e-9) + 1;
      if (x->n < 2) {
        x->kind = QT__DIM_FIXED;
        x->fixed = x->lo;
      }
    } else {
      x->kind = QT__DIM_CONT;
      x->grid_n = d->n_points > 1 ? (size_t)d->n_points : 0;
    }
  }
}

double qt__dimx_random(const qt__dimx *dx, qt_rng *r) {
  switch (dx->kind) {
  case QT__DIM_CONT: {
    double v = dx->lo + (dx->hi - dx->lo) * qt_rng_uniform(r);
    return v > dx->hi ? dx->hi : v;
  }
  case QT__DIM_STEP: return dx->lo + dx->q * (double)qt_rng_below(r, dx->n);
  case QT__DIM_LOGINT: {
    /* Optuna's log-int: log-uniform over [lo-q/2, hi+q/2], rounded to the grid */
    double a = log(qt__logint_low(dx)), b = log(dx->uhi + 0.5 * dx->q);
    double u = exp(a + (b - a) * qt_rng_uniform(r));
    double k = round((u - dx->ulo) / dx->q);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return log(dx->ulo + k * dx->q);
  }
  case QT__DIM_CAT: return (double)qt_rng_below(r, dx->n);
  default: return dx->fixed;
  }
}

void qt__prop_rng_next(qt__prop_rng *p, size_t n_done, qt_rng *out) {
  if (p->started && p->last_n == n_done) p->repeat++;
  else p->repeat = 0;
  p->started = 1;
  p->last_n = n_done;
  qt_rng_stream(out, p->seed, (uint64_t)n_done + (p->repeat << 40));
}
