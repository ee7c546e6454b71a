/* The study: ask a sampler for params, claim a trial number from the
 * storage, and tell the storage the outcome (score, constraints, raw
 * metrics).  Keeps every trial of the study in memory (rebuilt from storage
 * on open, then kept current by reading only the trials stamped since the
 * last look: qt_trials_since) so the sampler history and the score
 * normalization continue across processes and restarts.  The normalization
 * keeps running minima and maxima (finished trials are immutable), so a
 * refresh costs a comparison unless a new extreme moved it; the samplers'
 * views are rebuilt only from the first trial that changed.  One mutex
 * guards it all. */
#include "study_int.h"
#include "optimize/flat_json.h"
#include "optimize/sampler_int.h" /* qt_sampler_nsgaii */

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tr {
  int64_t id, number;
  int state;
  double *x;          /* n_dims internal values */
  double tv[QT_SCORE_MAX_TERMS]; /* score-term metrics */
  double metric;      /* the goal's metric when it is not "score" */
  int cons_ok;        /* constraints hold */
  double penalty;     /* lenient penalty */
  double obj;         /* objective in the user's direction, penalty applied; NaN: none */
  double mo[QT_GOAL_MAX_OBJ]; /* each objective's metric (several objectives) */
  double mv[QT_GOAL_MAX_OBJ]; /* the same to minimize, lenient penalty applied: the view */
  double viol;        /* sum of the constraints' misses (inf: a metric missing) */
  char *params_json, *metrics_json, *error;
  double sc_db;       /* the score as stored (NaN: none); store_scores writes the others */
  int told;           /* this process told its result: a second tell is a bug */
  qt_step_value *iv;  /* intermediate values, ascending steps (stored, or reported here) */
  size_t n_iv, cap_iv;
} tr;

struct qt_study {
  pthread_mutex_t mu;
  qt_storage store;
  qt_study_rec rec;
  qt_space *sp;
  size_t nd;
  qt_goal goal;
  uint64_t seed;
  const qt_sampler_vtbl *svt;
  void *sampler;
  tr *t;
  size_t n, cap;
  qt_norm norm;
  size_t n_complete;
  qt_trial_view *views;
  size_t views_cap;
  int created;
  int names_ok; /* the goal's names were checked against a trial's metric keys */
  char *pin;          /* the stored config's "pin" as text; NULL: none */
  const qt_pruner *pruner; /* NULL: none */
  qt_prune_trial *pv;      /* the pruner's view of the trials (reused) */
  size_t pv_cap;
  int64_t seq;        /* the storage's change stamp of the last sync (-1: none yet) */
  double run_lo[QT_SCORE_MAX_TERMS], run_hi[QT_SCORE_MAX_TERMS]; /* over complete trials */
  size_t vv;          /* views[0..vv) are current (view_of of t[0..vv)) */
  size_t vw;          /* waiting trials among t[0..vv) */
  size_t sync_rows;   /* records the last sync read */
  int sync_full;      /* ... and whether that was a whole read */
};

/* Trial t changed (or was inserted there): the samplers' views are rebuilt
 * from it at the next ask. */
static void touch(qt_study *st, const struct tr *t) {
  size_t i = (size_t)(t - st->t);
  while (st->vv > i)
    if (st->views[--st->vv].state == QT_TRIAL_WAITING) st->vw--;
}

qt_study_opts qt_study_opts_default(void) {
  qt_study_opts o;
  memset(&o, 0, sizeof o);
  o.storage_url = NULL; /* qt_storage_default_url() when opened */
  qt_goal_default(&o.goal, 0);
  return o;
}

static void tr_fini(tr *t) {
  qt_free(t->x);
  qt_free(t->params_json);
  qt_free(t->metrics_json);
  qt_free(t->error);
  qt_free(t->iv);
  memset(t, 0, sizeof *t);
}

static void running_reset(qt_study *st) {
  for (size_t k = 0; k < QT_SCORE_MAX_TERMS; k++) {
    st->run_lo[k] = INFINITY;
    st->run_hi[k] = -INFINITY;
  }
}

static void trials_clear(qt_study *st) {
  for (size_t i = 0; i < st->n; i++) tr_fini(&st->t[i]);
  st->n = 0;
  st->n_complete = 0;
  st->vv = st->vw = 0;
  running_reset(st);
}

void qt_study_free(qt_study *st) {
  if (!st) return;
  if (st->sampler) st->svt->destroy(st->sampler);
  trials_clear(st);
  qt_free(st->t);
  qt_free(st->views);
  qt_free(st->pv);
  qt_space_free(st->sp);
  qt_free(st->pin);
  qt_study_rec_fini(&st->rec);
  qt_storage_close(&st->store);
  pthread_mutex_destroy(&st->mu);
  qt_free(st);
}

const qt_space *qt_study_space(const qt_study *st) { return st->sp; }
const qt_goal *qt_study_goal(const qt_study *st) { return &st->goal; }
const char *qt_study_name(const qt_study *st) { return st->rec.name; }
int qt_study_created(const qt_study *st) { return st->created; }
qt_storage *qt_study_storage(qt_study *st) { return &st->store; }
int64_t qt__study_id(const qt_study *st) { return st->rec.id; }
uint64_t qt_study_seed(const qt_study *st) { return st->seed; }
const char *qt_study_config_json(const qt_study *st) { return st->rec.config_json; }
const char *qt_study_pinned(const qt_study *st) { return st->pin; }

/* A heap JSON text of a serializer that writes into (buf, cap). */
static char *dump_grow(int (*fn)(const void *, char *, size_t, qt_err *), const void *obj,
                       qt_err *err) {
  for (size_t cap = 4096; cap <= (64u << 20); cap *= 4) {
    char *b = qt_malloc(cap);
    if (!b) {
      qt_err_set(err, QT_ENOMEM, "study: out of memory");
      return NULL;
    }
    qt_err e2;
    int r = fn(obj, b, cap, &e2);
    if (r == 0) return b;
    qt_free(b);
    if (r != QT_EINVAL) {
      if (err) *err = e2;
      return NULL;
    }
  }
  qt_err_set(err, QT_EINVAL, "study: JSON too large");
  return NULL;
}

static int space_dump(const void *sp, char *b, size_t cap, qt_err *e) {
  return qt_space_to_json(sp, b, cap, e);
}

/* Term values, objective metric and constraint status of metrics m. */
static void derive(const qt_study *st, tr *t, const qt_metric_set *m) {
  const qt_goal *g = &st->goal;
  for (size_t k = 0; k < g->n_terms; k++) {
    const double *v = qt_metric_set_find(m, g->terms[k].metric);
    t->tv[k] = v ? *v : NAN;
  }
  const double *mv = qt_metric_set_find(m, g->metric);
  t->metric = mv ? *mv : NAN;
  double viol[QT_CONSTRAINTS_MAX];
  t->cons_ok = qt_goal_check(g, m, viol, &t->penalty);
  t->viol = 0;
  for (size_t k = 0; k < g->n_cons; k++) t->viol += isnan(viol[k]) ? INFINITY : viol[k];
  for (size_t k = 0; k < qt_goal_n_objectives(g); k++) {
    int mx;
    const double *v = qt_metric_set_find(m, qt_goal_objective(g, k, &mx));
    t->mo[k] = v ? *v : NAN;
    double pen = g->lenient && !t->cons_ok ? t->penalty : 0;
    t->mv[k] = (mx ? -t->mo[k] : t->mo[k]) + pen;
  }
}

static int is_score(const qt_goal *g) { return strcmp(g->metric, "score") == 0; }

/* Objective of a complete trial under the current normalization. */
static void eval_obj(const qt_study *st, tr *t) {
  const qt_goal *g = &st->goal;
  if (t->state != QT_TRIAL_COMPLETE) {
    t->obj = NAN;
    return;
  }
  double v = is_score(g) ? qt_norm_score(&st->norm, g, t->tv) : t->metric;
  if (g->lenient && !t->cons_ok) v += g->maximize ? -t->penalty : t->penalty;
  /* strict: a violated hard constraint rejects the trial, the worst value in
   * the user's direction (+inf minimized: what samplers see as the worst) */
  if (!g->lenient && !t->cons_ok) v = g->maximize ? -INFINITY : INFINITY;
  t->obj = v;
}

/* Folds a complete trial's term values into the running minima/maxima. */
static void running_fold(qt_study *st, const tr *t) {
  for (size_t k = 0; k < st->goal.n_terms; k++) {
    double v = t->tv[k];
    if (!isfinite(v)) continue;
    if (v < st->run_lo[k]) st->run_lo[k] = v;
    if (v > st->run_hi[k]) st->run_hi[k] = v;
  }
}

/* Recomputes the running minima/maxima over the complete trials (after a
 * trial left the complete set: a late result dropped). */
static void running_rebuild(qt_study *st) {
  running_reset(st);
  for (size_t i = 0; i < st->n; i++)
    if (st->t[i].state == QT_TRIAL_COMPLETE) running_fold(st, &st->t[i]);
}

static int same_num(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* Refreshes the normalization to the running minima/maxima of every
 * complete trial (what qt_norm_refresh over them all gives) and
 * re-evaluates every trial when that moved it; *out_moved (may be NULL)
 * says whether it did.  Cannot fail. */
static int refresh(qt_study *st, int *out_moved) {
  const qt_goal *g = &st->goal;
  qt_norm nm;
  memset(&nm, 0, sizeof nm);
  nm.n_terms = g->n_terms;
  nm.n_seen = st->n_complete;
  int moved = st->norm.n_terms != nm.n_terms;
  for (size_t k = 0; k < g->n_terms; k++) {
    int none = st->run_lo[k] > st->run_hi[k];
    nm.lo[k] = none ? NAN : st->run_lo[k];
    nm.hi[k] = none ? NAN : st->run_hi[k];
    moved |= !same_num(nm.lo[k], st->norm.lo[k]) || !same_num(nm.hi[k], st->norm.hi[k]);
  }
  st->norm = nm;
  if (moved) {
    for (size_t i = 0; i < st->n; i++) eval_obj(st, &st->t[i]);
    st->vv = st->vw = 0;
  }
  if (out_moved) *out_moved = moved;
  return QT_OK;
}

/* "by_symbol": {SYMBOL: {metric: v}} back into "<SYMBOL>/<metric>". */
static int by_symbol_from_json(json_t *bs, qt_metric_set *m, qt_err *err) {
  const char *sym, *k;
  json_t *o, *v;
  char key[64];
  json_object_foreach(bs, sym, o) {
    json_object_foreach(o, k, v) {
      int len = snprintf(key, sizeof key, "%s/%s", sym, k);
      if (len <= 0 || (size_t)len >= sizeof m->v[0].name) continue;
      int r = json_is_number(v) ? qt_metric_set_put(m, key, json_number_value(v), err)
              : json_is_null(v) ? qt_metric_set_put(m, key, NAN, err) : QT_OK;
      if (r) return r;
    }
  }
  return QT_OK;
}

/* Whether derive() reads metric name under goal g. */
static int goal_reads(const qt_goal *g, const char *name) {
  if (!strcmp(g->metric, name)) return 1;
  for (size_t k = 0; k < g->n_terms; k++)
    if (!strcmp(g->terms[k].metric, name)) return 1;
  for (size_t k = 0; k < g->n_cons; k++)
    if (!strcmp(g->cons[k].metric, name)) return 1;
  for (size_t k = 0; k < qt_goal_n_objectives(g); k++) {
    int mx;
    if (!strcmp(qt_goal_objective(g, k, &mx), name)) return 1;
  }
  return 0;
}

typedef struct metrics_ctx {
  qt_metric_set *m;
  const qt_goal *g; /* NULL: keep every metric */
  size_t n_members;
} metrics_ctx;

/* One member of a flat metrics object: numbers and null kept (only those
 * the goal reads when there is one), other values skipped, as the jansson
 * reading below does.  What that reading would refuse (a name the set
 * refuses, more members than the set holds) is QT_DONE, so it decides. */
static int metric_member(void *ctx, const qt__flat_pair *p) {
  metrics_ctx *c = ctx;
  char key[sizeof c->m->v[0].name];
  int num = p->kind == QT__FLAT_NUM || p->kind == QT__FLAT_NULL;
  if (++c->n_members > QT_METRIC_SET_MAX) return QT_DONE;
  if (num && (p->key_len == 0 || p->key_len >= sizeof key)) return QT_DONE;
  if (p->key_len == 0 || p->key_len >= sizeof key) return QT_OK; /* skipped there too */
  memcpy(key, p->key, p->key_len);
  key[p->key_len] = '\0';
  if (c->g && !goal_reads(c->g, key)) return QT_OK;
  /* a repeated name: jansson keeps the last value, which may be one it skips */
  if (!num) return qt_metric_set_find(c->m, key) ? QT_DONE : QT_OK;
  return qt_metric_set_put(c->m, key, p->kind == QT__FLAT_NUM ? qt__flat_num(p) : NAN, NULL)
             ? QT_DONE : QT_OK;
}

/* The metrics of js into m; with a goal g, only those derive() reads under
 * it (the others are not converted: a study's open reads every trial's). */
static int metrics_from_json(const char *js, const qt_goal *g, qt_metric_set *m, qt_err *err) {
  qt_metric_set_clear(m);
  if (!js) return QT_OK;
  /* the metrics qtune stores are flat (by_symbol aside): read without a tree */
  metrics_ctx mc = {m, g, 0};
  if (qt__flat_json_each(js, metric_member, &mc) == QT_OK) return QT_OK;
  qt_metric_set_clear(m);
  json_t *o = json_loads(js, 0, NULL);
  int r = QT_OK;
  if (!json_is_object(o)) {
    json_decref(o);
    return qt_err_set(err, QT_EPARSE, "study: stored metrics are not a JSON object");
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (json_is_number(v)) r = qt_metric_set_put(m, k, json_number_value(v), err);
    else if (json_is_null(v)) r = qt_metric_set_put(m, k, NAN, err);
    else if (!strcmp(k, "by_symbol") && json_is_object(v)) r = by_symbol_from_json(v, m, err);
    if (r) break;
  }
  json_decref(o);
  return r;
}

static int grow_trials(qt_study *st, size_t need, qt_err *err) {
  if (need <= st->cap) return QT_OK;
  size_t cap = st->cap ? st->cap * 2 : 64;
  while (cap < need) cap *= 2;
  tr *nt = qt_realloc(st->t, cap * sizeof *nt);
  if (!nt) return qt_err_set(err, QT_ENOMEM, "study: out of memory");
  /* the views point into the records (a trial's values): moved, they are
   * all rebuilt at the next ask */
  if (nt != st->t) st->vv = st->vw = 0;
  st->t = nt;
  st->cap = cap;
  return QT_OK;
}

/* Parses stored intermediate values [[step, value], ...] (null: NaN) into
 * t; a damaged text leaves none (the trial itself stands). */
static int iv_from_json(tr *t, const char *js) {
  if (!js) return QT_OK;
  json_t *a = json_loads(js, 0, NULL);
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  if (n) {
    t->iv = qt_malloc(n * sizeof *t->iv);
    if (!t->iv) {
      json_decref(a);
      return QT_ENOMEM;
    }
    t->cap_iv = n;
    for (size_t i = 0; i < n; i++) {
      json_t *e = json_array_get(a, i);
      json_t *s0 = json_array_get(e, 0), *v = json_array_get(e, 1);
      if (!json_is_integer(s0)) continue;
      t->iv[t->n_iv].step = (int64_t)json_integer_value(s0);
      t->iv[t->n_iv++].value = json_is_number(v) ? json_number_value(v) : NAN;
    }
  }
  json_decref(a);
  return QT_OK;
}

/* Intermediate values of this process's running trials (not stored until
 * they are told), kept across a sync by trial id. */
typedef struct iv_carry {
  int64_t id;
  qt_step_value *iv;
  size_t n, cap;
} iv_carry;

/* Fills the zeroed slot t from rec, taking its params, metrics and error
 * texts (rec keeps NULL there): params, metrics (derived values of a
 * complete trial, folded into the running minima/maxima), intermediate
 * values.  QT_ENOMEM (t then holds what it got; tr_fini frees it). */
static int fill_from_rec(qt_study *st, tr *t, qt_trial_rec *rec, qt_metric_set *m,
                         qt_err *err) {
  int oom = 0;
  t->id = rec->id;
  t->number = rec->number;
  t->state = rec->state;
  t->obj = NAN;
  t->sc_db = rec->score;
  t->x = qt_calloc(st->nd ? st->nd : 1, sizeof *t->x);
  t->params_json = rec->params_json;
  t->metrics_json = rec->metrics_json;
  t->error = rec->error;
  rec->params_json = rec->metrics_json = rec->error = NULL;
  if (iv_from_json(t, rec->intermediate_json)) oom = 1;
  if (!t->x || oom) return qt_err_set(err, QT_ENOMEM, "study: out of memory");
  /* params of a foreign or damaged record: the trial stays out of the
   * sampler's history (failed) rather than stopping the study */
  if (!t->params_json || qt_space_params_from_json(st->sp, t->params_json, t->x, NULL) != 0) {
    if (t->state == QT_TRIAL_COMPLETE) t->state = QT_TRIAL_FAIL;
  }
  if (t->state == QT_TRIAL_COMPLETE) {
    if (metrics_from_json(t->metrics_json, &st->goal, m, NULL) != 0) {
      t->state = QT_TRIAL_FAIL;
    } else {
      derive(st, t, m);
      st->n_complete++;
      running_fold(st, t);
    }
  }
  return QT_OK;
}

/* Gives t the locally reported intermediate values c (more than stored:
 * this process's running trial, not told yet) and takes them from c. */
static void carry_iv(tr *t, iv_carry *c) {
  if (!c->iv || t->state != QT_TRIAL_RUNNING || c->n <= t->n_iv) return;
  qt_free(t->iv);
  t->iv = c->iv;
  t->n_iv = c->n;
  t->cap_iv = c->cap;
  c->iv = NULL;
}

/* Replaces the whole copy by recs (every trial of the study). */
static int sync_full(qt_study *st, qt_trial_rec *recs, size_t nr, qt_metric_set *m,
                     qt_err *err) {
  size_t n_carry = 0;
  iv_carry *carry = NULL;
  int r = QT_OK;
  for (size_t i = 0; i < st->n; i++) n_carry += st->t[i].state == QT_TRIAL_RUNNING && st->t[i].n_iv;
  if (n_carry && !(carry = qt_calloc(n_carry, sizeof *carry))) {
    r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
    goto fail;
  }
  n_carry = 0;
  for (size_t i = 0; i < st->n; i++) {
    tr *t = &st->t[i];
    if (t->state != QT_TRIAL_RUNNING || !t->n_iv) continue;
    carry[n_carry++] = (iv_carry){t->id, t->iv, t->n_iv, t->cap_iv};
    t->iv = NULL;
    t->n_iv = t->cap_iv = 0;
  }
  trials_clear(st);
  if ((r = grow_trials(st, nr, err)) != 0) goto fail;
  for (size_t i = 0; i < nr; i++) {
    tr *t = &st->t[st->n++];
    memset(t, 0, sizeof *t);
    if ((r = fill_from_rec(st, t, &recs[i], m, err)) != 0) goto fail;
    for (size_t c = 0; c < n_carry; c++)
      if (carry[c].id == t->id) carry_iv(t, &carry[c]);
  }
  int moved = 0;
  refresh(st, &moved);
  if (!moved)
    for (size_t i = 0; i < st->n; i++) eval_obj(st, &st->t[i]);
  st->vv = st->vw = 0;
fail:
  for (size_t c = 0; c < n_carry; c++) qt_free(carry[c].iv);
  qt_free(carry);
  return r;
}

static tr *find_number(qt_study *st, int64_t number);
static tr *slot_for(qt_study *st, int64_t number, qt_err *err);

/* Merges recs (the trials stamped since the last sync) into the copy. */
static int sync_delta(qt_study *st, qt_trial_rec *recs, size_t nr, qt_metric_set *m,
                      qt_err *err) {
  int r = QT_OK, rebuild = 0;
  for (size_t i = 0; i < nr; i++) {
    tr *t = slot_for(st, recs[i].number, err);
    if (!t) return err && err->code ? err->code : QT_ENOMEM;
    touch(st, t);
    int was_complete = t->state == QT_TRIAL_COMPLETE && t->x, told = t->told;
    iv_carry c = {t->id, t->state == QT_TRIAL_RUNNING ? t->iv : NULL, t->n_iv, t->cap_iv};
    if (c.iv) t->iv = NULL;
    if (was_complete) st->n_complete--;
    tr_fini(t);
    r = fill_from_rec(st, t, &recs[i], m, err);
    t->told = told;
    carry_iv(t, &c);
    qt_free(c.iv);
    if (r) return r;
    /* a trial that left the complete set takes its extremes with it */
    if (was_complete && t->state != QT_TRIAL_COMPLETE) rebuild = 1;
  }
  if (rebuild) running_rebuild(st);
  int moved = 0;
  refresh(st, &moved);
  for (size_t i = 0; !moved && i < nr; i++) {
    tr *t = find_number(st, recs[i].number);
    if (t) eval_obj(st, t);
  }
  return r;
}

static int sync_locked(qt_study *st, qt_err *err) {
  qt_trial_rec *recs = NULL;
  size_t nr = 0;
  int64_t seq = -1;
  int full = 0;
  qt_metric_set m;
  qt_metric_set_init(&m);
  int r = qt_trials_since(&st->store, st->rec.id, st->seq, &recs, &nr, &seq, &full, err);
  if (r) goto fail;
  r = full ? sync_full(st, recs, nr, &m, err) : sync_delta(st, recs, nr, &m, err);
  if (!r) st->seq = seq;
  st->sync_rows = nr;
  st->sync_full = full;
fail:
  qt_metric_set_fini(&m);
  qt_trial_recs_free(recs, nr);
  return r;
}

size_t qt__study_last_sync_rows(const qt_study *st, int *out_full) {
  if (out_full) *out_full = st->sync_full;
  return st->sync_rows;
}

int qt_study_sync(qt_study *st, qt_err *err) {
  pthread_mutex_lock(&st->mu);
  int r = sync_locked(st, err);
  pthread_mutex_unlock(&st->mu);
  return r;
}

/* The stored config: {"seed", "sampler", "sampler_opts", "goal", "user",
 * "pin"} into *out (heap); returns the status. */
static int config_json(const qt_study_opts *o, char **out_cfg, qt_err *err) {
  char gbuf[8192];
  *out_cfg = NULL;
  int r = qt_goal_to_json(&o->goal, gbuf, sizeof gbuf, err);
  if (r) return r;
  json_t *c = json_object();
  json_t *g = json_loads(gbuf, 0, NULL);
  json_t *u = o->config_json ? json_loads(o->config_json, 0, NULL) : json_object();
  json_t *pin = o->pin_json ? json_loads(o->pin_json, 0, NULL) : NULL;
  char *out = NULL, *s = NULL;
  r = QT_ENOMEM;
  if (!c || !g || !u) {
    r = qt_err_set(err, u ? QT_ENOMEM : QT_EPARSE, "study: config JSON: %s",
                   u ? "out of memory" : "extra config is not valid JSON");
    goto fail;
  }
  if (o->pin_json && !json_is_object(pin)) {
    r = qt_err_set(err, QT_EPARSE, "study: config JSON: the pin is not a JSON object");
    goto fail;
  }
  json_object_set_new(c, "seed", json_integer((json_int_t)o->seed));
  json_object_set_new(c, "sampler", json_string(o->sampler ? o->sampler->name
                                       : qt_goal_n_objectives(&o->goal) > 1 ? "nsgaii" : "tpe"));
  json_t *so = json_object();
  for (const qt_kv *kv = o->sampler_opts; so && kv && kv->key; kv++)
    json_object_set_new(so, kv->key, json_string(kv->val));
  json_object_set_new(c, "sampler_opts", so);
  json_object_set(c, "goal", g);
  json_object_set(c, "user", u);
  if (pin) json_object_set(c, "pin", pin);
  s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!s || !(out = qt_strdup(s))) qt_err_set(err, QT_ENOMEM, "study: out of memory");
  else r = QT_OK;
fail:
  free(s);
  json_decref(c);
  json_decref(g);
  json_decref(u);
  json_decref(pin);
  *out_cfg = out;
  return r;
}

/* Reads goal and seed back from a stored config. */
static int config_read(qt_study *st, qt_err *err) {
  json_t *c = st->rec.config_json ? json_loads(st->rec.config_json, 0, NULL) : NULL;
  json_t *g = json_object_get(c, "goal"), *s = json_object_get(c, "seed");
  int r = QT_OK;
  if (!json_is_object(g)) {
    r = qt_err_set(err, QT_EPARSE, "study '%s': stored config has no goal", st->rec.name);
    goto fail;
  }
  char *gs = json_dumps(g, JSON_COMPACT);
  r = gs ? qt_goal_from_json(&st->goal, gs, err) : qt_err_set(err, QT_ENOMEM, "out of memory");
  free(gs);
  if (json_is_integer(s)) st->seed = (uint64_t)json_integer_value(s);
fail:
  json_decref(c);
  return r;
}

/* The stored "pin" as text into st->pin (NULL when there is none). */
static int pin_read(qt_study *st, qt_err *err) {
  json_t *c = st->rec.config_json ? json_loads(st->rec.config_json, 0, NULL) : NULL;
  json_t *p = json_object_get(c, "pin");
  int r = QT_OK;
  if (json_is_object(p)) {
    char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!s || !(st->pin = qt_strdup(s))) r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
    free(s);
  }
  json_decref(c);
  return r;
}

/* The stored sampler (into st->svt when the caller named none) and, when
 * *opts is NULL, the stored options into kv (MAX_SAMPLER_OPTS + 1 slots),
 * whose strings live in the JSON left in *hold. */
#define MAX_SAMPLER_OPTS 16
static int stored_sampler(qt_study *st, qt_kv *kv, const qt_kv **opts, json_t **hold,
                          qt_err *err) {
  json_t *c = st->rec.config_json ? json_loads(st->rec.config_json, 0, NULL) : NULL;
  *hold = c;
  const char *name = json_string_value(json_object_get(c, "sampler"));
  if (!st->svt && name && !(st->svt = qt_sampler_find(name)))
    return qt_err_set(err, QT_EPARSE, "study '%s': stored sampler '%s' is unknown", st->rec.name,
                      name);
  json_t *so = json_object_get(c, "sampler_opts");
  if (*opts || !json_is_object(so) || json_object_size(so) == 0) return QT_OK;
  if (json_object_size(so) > MAX_SAMPLER_OPTS)
    return qt_err_set(err, QT_EPARSE, "study '%s': more than %d stored sampler options",
                      st->rec.name, MAX_SAMPLER_OPTS);
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(so, k, v) {
    if (!json_is_string(v))
      return qt_err_set(err, QT_EPARSE, "study '%s': stored sampler option '%s' is not a string",
                        st->rec.name, k);
    kv[n].key = k;
    kv[n++].val = json_string_value(v);
  }
  kv[n].key = kv[n].val = NULL;
  *opts = kv;
  return QT_OK;
}

int qt_study_open(const qt_study_opts *o, const qt_space *sp, qt_study **out, qt_err *err) {
  *out = NULL;
  json_t *stored = NULL;
  char *space_js = NULL, *cfg = NULL;
  int r;
  if (!o->name || !*o->name || strlen(o->name) >= sizeof(((qt_study_rec *)0)->name))
    return qt_err_set(err, QT_EINVAL, "study: a name of 1..127 bytes is required");
  qt_study *st = qt_calloc(1, sizeof *st);
  if (!st) return qt_err_set(err, QT_ENOMEM, "study: out of memory");
  pthread_mutex_init(&st->mu, NULL);
  st->goal = o->goal;
  st->seed = o->seed;
  st->seq = -1;
  running_reset(st);
  r = qt_storage_open(o->storage_url ? o->storage_url : qt_storage_default_url(), &st->store,
                      err);
  if (r) goto fail;
  if (!sp) {
    r = st->store.vt->study_load(st->store.self, o->name, &st->rec, err);
    if (r) goto fail;
  } else {
    r = QT_ENOMEM;
    if (!(space_js = dump_grow(space_dump, sp, err))) goto fail;
    if ((r = config_json(o, &cfg, err)) != 0) goto fail;
    char dir[64] = "[";
    for (size_t k = 0; k < qt_goal_n_objectives(&o->goal); k++) {
      int mx;
      qt_goal_objective(&o->goal, k, &mx);
      snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "%s\"%s\"", k ? "," : "",
               mx ? "maximize" : "minimize");
    }
    strcat(dir, "]");
    r = st->store.vt->study_create(st->store.self, o->name, dir, space_js, cfg, &st->rec,
                                   &st->created, err);
    if (r) goto fail;
  }
  if (!st->created) {
    /* resume: the stored space, goal and seed win over the caller's */
    if (!st->rec.space_json) {
      r = qt_err_set(err, QT_EPARSE, "study '%s': no stored space", o->name);
      goto fail;
    }
    if ((r = qt_space_from_json(st->rec.space_json, &st->sp, err)) != 0) goto fail;
    if ((r = config_read(st, err)) != 0) goto fail;
  } else {
    if ((r = qt_space_from_json(space_js, &st->sp, err)) != 0) goto fail;
  }
  st->nd = qt_space_n(st->sp);
  if ((r = pin_read(st, err)) != 0) goto fail;
  if ((r = sync_locked(st, err)) != 0) goto fail;
  if (sp) {
    /* a resumed study keeps its sampler and options unless the caller names
     * others: resuming a grid study must not turn it into TPE */
    qt_kv kv[MAX_SAMPLER_OPTS + 1];
    const qt_kv *opts = o->sampler_opts;
    st->svt = o->sampler;
    if (!st->created && (!st->svt || !opts) &&
        (r = stored_sampler(st, kv, &opts, &stored, err)) != 0)
      goto fail;
    size_t nobj = qt_goal_n_objectives(&st->goal);
    /* Optuna's defaults: TPE for one objective, NSGA-II for several */
    if (!st->svt) st->svt = nobj > 1 ? &qt_sampler_nsgaii : &qt_sampler_tpe;
    if (nobj > 1 && (size_t)(st->svt->objectives > 1 ? st->svt->objectives : 1) < nobj) {
      char names[256] = "";
      for (size_t i = 0; qt_sampler_at(i); i++)
        if ((size_t)qt_sampler_at(i)->objectives >= nobj)
          snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", *names ? ", " : "",
                   qt_sampler_at(i)->name);
      r = qt_err_set(err, QT_EINVAL,
                     "study '%s': sampler %s optimizes one objective and this study has %zu; "
                     "use one of: %s (docs/multiobjective.md)",
                     o->name, st->svt->name, nobj, names);
      goto fail;
    }
    /* a resumed study must not replay the first run's proposals: the
     * sampler's seed moves on with the number of trials already there */
    uint64_t s = st->seed ^ ((uint64_t)st->n * 0x9E3779B97F4A7C15ull);
    if ((r = st->svt->create(st->sp, s, opts, &st->sampler, err)) != 0) goto fail;
  }
  *out = st;
  r = QT_OK;
  st = NULL;
fail:
  /* a study this call created and then could not use (a bad sampler
   * option, out of memory) goes again: no empty study is left behind */
  if (st && st->created) st->store.vt->study_delete(st->store.self, st->rec.id, NULL);
  qt_free(space_js);
  qt_free(cfg);
  json_decref(stored);
  qt_study_free(st);
  return r;
}

const char *qt_study_sampler_name(const qt_study *st) { return st->svt ? st->svt->name : NULL; }

void qt_trial_fini(qt_trial *t) {
  if (!t) return;
  qt_free(t->x);
  qt_free(t->user);
  qt_free(t->params_json);
  memset(t, 0, sizeof *t);
}

static tr *find_number(qt_study *st, int64_t number) {
  size_t lo = 0, hi = st->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (st->t[mid].number < number) lo = mid + 1;
    else hi = mid;
  }
  return lo < st->n && st->t[lo].number == number ? &st->t[lo] : NULL;
}

static void view_of(const qt_study *st, const tr *t, qt_trial_view *v) {
  v->number = t->number;
  v->state = t->state;
  v->x = t->x;
  v->value = t->state == QT_TRIAL_COMPLETE && !isnan(t->obj)
                 ? (st->goal.maximize ? -t->obj : t->obj) : NAN;
  /* a rejected trial's params were refused by the strategy: among the worst */
  v->feasible = t->state == QT_TRIAL_COMPLETE ? (st->goal.lenient || t->cons_ok)
                : t->state != QT_TRIAL_REJECTED;
  /* several objectives: each one minimized; one: `value` alone (it is the
   * score or the metric, with the penalty and the rejected trials' inf) */
  int has = t->state == QT_TRIAL_COMPLETE && !isnan(t->obj) && st->goal.n_obj > 1;
  v->n_values = has ? st->goal.n_obj : 0;
  v->values = has ? t->mv : NULL;
  if (has) v->value = t->mv[0];
  v->violation = t->state != QT_TRIAL_COMPLETE ? INFINITY
                 : v->feasible ? 0 : t->viol > 0 ? t->viol : 1e-300; /* a tie at the bound */
  /* how far a pruned trial got and how well it did there */
  int deep = t->state == QT_TRIAL_PRUNED && t->n_iv > 0;
  double last = deep ? t->iv[t->n_iv - 1].value : NAN;
  v->has_step = deep;
  v->step = deep ? t->iv[t->n_iv - 1].step : 0;
  v->step_value = st->goal.maximize ? -last : last;
}

/* The in-memory record of trial `number` (kept sorted by number): the one
 * there (a waiting trial now claimed) or a new one inserted in order. */
static tr *slot_for(qt_study *st, int64_t number, qt_err *err) {
  tr *t = find_number(st, number);
  if (t) return t;
  if (grow_trials(st, st->n + 1, err)) return NULL;
  size_t lo = 0, hi = st->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (st->t[mid].number < number) lo = mid + 1;
    else hi = mid;
  }
  memmove(st->t + lo + 1, st->t + lo, (st->n - lo) * sizeof *st->t);
  st->n++;
  t = &st->t[lo];
  touch(st, t);
  memset(t, 0, sizeof *t);
  t->number = number;
  return t;
}

/* Marks trial (id, number) running with params x / pj in memory. */
static int install_running(qt_study *st, int64_t id, int64_t number, const double *x,
                           const char *pj, qt_err *err) {
  size_t nd = st->nd ? st->nd : 1;
  double *cx = qt_malloc(nd * sizeof *cx);
  char *cp = qt_strdup(pj);
  tr *t = cx && cp ? slot_for(st, number, err) : NULL;
  if (!t) {
    qt_free(cx);
    qt_free(cp);
    /* the claimed row stays running and is recovered as stale later */
    return err && err->code ? err->code : qt_err_set(err, QT_ENOMEM, "study: out of memory");
  }
  touch(st, t);
  qt_free(t->x);
  qt_free(t->params_json);
  t->id = id;
  t->state = QT_TRIAL_RUNNING;
  t->obj = NAN;
  t->x = cx;
  t->params_json = cp;
  memcpy(t->x, x, st->nd * sizeof *t->x);
  return QT_OK;
}

/* Takes the next waiting (enqueued) trial into out: QT_OK, QT_DONE when
 * none waits, or an error.  Params the space cannot read fail that trial
 * (stored with the reason) and the next one is tried. */
static int ask_waiting(qt_study *st, const char *worker, qt_trial *out, qt_err *err) {
  for (;;) {
    int64_t id = 0, number = -1;
    char *pj = NULL;
    int r = st->store.vt->trial_claim_waiting(st->store.self, st->rec.id, worker, &id, &number,
                                              &pj, err);
    if (r) return r;
    qt_err pe;
    if (qt_space_params_from_json(st->sp, pj, out->x, &pe) != 0) {
      char msg[300];
      snprintf(msg, sizeof msg, "enqueued params: %.250s", pe.msg);
      qt_free(pj);
      r = st->store.vt->trial_finish(st->store.self, id, QT_TRIAL_FAIL, NAN, NULL, NULL, -1, msg,
                                     err);
      if (r) return r;
      continue;
    }
    r = install_running(st, id, number, out->x, pj, err);
    if (r) {
      qt_free(pj);
      return r;
    }
    out->id = id;
    out->number = number;
    out->params_json = pj;
    return QT_OK;
  }
}

/* The params JSON of x (heap), growing the buffer as needed. */
static char *params_text(qt_study *st, const double *x, qt_err *err) {
  for (size_t cap = 1024;; cap *= 4) {
    char *pj = qt_malloc(cap);
    if (!pj) {
      qt_err_set(err, QT_ENOMEM, "study: out of memory");
      return NULL;
    }
    qt_err e2;
    int r = qt_space_params_json(st->sp, x, pj, cap, &e2);
    if (r == 0) return pj;
    qt_free(pj);
    if (r != QT_EINVAL || cap > (16u << 20)) {
      if (err) *err = e2;
      return NULL;
    }
  }
}

int qt_study_ask(qt_study *st, const double *x_fixed, const char *worker, qt_trial *out,
                 qt_err *err) {
  memset(out, 0, sizeof *out);
  int r;
  pthread_mutex_lock(&st->mu);
  size_t nd = st->nd ? st->nd : 1;
  out->x = qt_calloc(nd, sizeof *out->x);
  out->user = qt_calloc(nd, sizeof *out->user);
  char *pj = NULL;
  if (!out->x || !out->user) {
    r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
    goto fail;
  }
  if (!st->sampler) {
    r = qt_err_set(err, QT_ESTATE, "study '%s': opened read-only", st->rec.name);
    goto fail;
  }
  /* the views of t[0..n), current from the first trial that changed */
  if (st->n > st->views_cap) {
    size_t cap = st->n * 2;
    qt_trial_view *nv = qt_realloc(st->views, cap * sizeof *nv);
    if (!nv) {
      r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
      goto fail;
    }
    st->views = nv;
    st->views_cap = cap;
  }
  for (; st->vv < st->n; st->vv++) {
    view_of(st, &st->t[st->vv], &st->views[st->vv]);
    st->vw += st->t[st->vv].state == QT_TRIAL_WAITING;
  }
  /* as of the last sync: other processes' enqueues show up there */
  int any_waiting = !x_fixed && st->vw > 0;
  if (any_waiting) {
    /* enqueued params first, in number order, before any sampled trial */
    r = ask_waiting(st, worker ? worker : "", out, err);
    if (r < 0) goto fail;
    if (r == QT_OK) {
      for (size_t k = 0; k < st->nd; k++) out->user[k] = qt_space_to_user(st->sp, k, out->x[k]);
      goto seed;
    }
  }
  if (x_fixed) {
    memcpy(out->x, x_fixed, st->nd * sizeof *out->x);
  } else if (st->vw == 0) {
    r = st->svt->propose(st->sampler, st->views, st->n, out->x, err);
    if (r) goto fail; /* QT_DONE included */
  } else {
    /* waiting trials are not history yet: a filtered copy (rare) */
    qt_trial_view *hv = qt_malloc(st->n * sizeof *hv);
    if (!hv) {
      r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
      goto fail;
    }
    size_t nv = 0;
    for (size_t i = 0; i < st->n; i++)
      if (st->views[i].state != QT_TRIAL_WAITING) hv[nv++] = st->views[i];
    r = st->svt->propose(st->sampler, hv, nv, out->x, err);
    qt_free(hv);
    if (r) goto fail; /* QT_DONE included */
  }
  for (size_t k = 0; k < st->nd; k++) out->user[k] = qt_space_to_user(st->sp, k, out->x[k]);
  if (!(pj = params_text(st, out->x, err))) {
    r = err && err->code ? err->code : QT_ENOMEM;
    goto fail;
  }
  int64_t id = 0, number = 0;
  r = st->store.vt->trial_claim(st->store.self, st->rec.id, pj, worker ? worker : "",
                                (int64_t)st->seed, &id, &number, err);
  if (r) goto fail;
  if ((r = install_running(st, id, number, out->x, pj, err)) != 0) goto fail;
  out->id = id;
  out->number = number;
  out->params_json = pj;
  pj = NULL;
seed:;
  qt_rng rng;
  qt_rng_stream(&rng, st->seed, (uint64_t)out->number);
  out->seed = qt_rng_u64(&rng);
  r = QT_OK;
fail:
  qt_free(pj);
  if (r) qt_trial_fini(out);
  pthread_mutex_unlock(&st->mu);
  return r;
}

/* {metrics..., "violations": {name: miss}} with NaN as null. */
static char *metrics_json(const qt_study *st, const qt_metric_set *m, qt_err *err) {
  json_t *o = json_object(), *vj = NULL;
  char *s = NULL, *out = NULL;
  if (!o) goto oom;
  for (size_t i = 0; i < m->n; i++) {
    double v = m->v[i].value;
    const char *name = m->v[i].name, *slash = strchr(name, '/');
    json_t *dst = o;
    if (slash) { /* "<SYMBOL>/<metric>" (objective_symbols.c): by_symbol.SYMBOL.metric */
      char sym[48];
      snprintf(sym, sizeof sym, "%.*s", (int)(slash - name), name);
      json_t *bs = json_object_get(o, "by_symbol");
      if (!bs && (!(bs = json_object()) || json_object_set_new(o, "by_symbol", bs))) goto oom;
      if (!(dst = json_object_get(bs, sym)) &&
          (!(dst = json_object()) || json_object_set_new(bs, sym, dst)))
        goto oom;
      name = slash + 1;
    }
    if (json_object_set_new(dst, name, isfinite(v) ? json_real(v) : json_null())) goto oom;
  }
  const qt_goal *g = &st->goal;
  double viol[QT_CONSTRAINTS_MAX];
  if (!qt_goal_check(g, m, viol, NULL)) {
    if (!(vj = json_object())) goto oom;
    for (size_t k = 0; k < g->n_cons; k++)
      if (viol[k] != 0 || isnan(viol[k]))
        if (json_object_set_new(vj, g->cons[k].metric, isnan(viol[k]) ? json_null() : json_real(viol[k])))
          goto oom;
    if (json_object_set(o, "violations", vj)) goto oom;
  }
  s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  if (!s || !(out = qt_strdup(s))) goto oom;
  goto done;
oom:
  qt_err_set(err, QT_ENOMEM, "study: out of memory");
done:
  free(s);
  json_decref(vj);
  json_decref(o);
  return out;
}

/* Writes the current score of every complete trial back to storage; with
 * only_changed, of those whose stored score as last read or written here
 * differs.  (Another process's rewrite is not a change the sync reads, so
 * the final store writes them all: whoever stores last leaves one
 * normalization behind.) */
static int score_stale(const tr *t, int only_changed) {
  return t->state == QT_TRIAL_COMPLETE && (!only_changed || !same_num(t->obj, t->sc_db));
}

static int store_scores(qt_study *st, int only_changed, qt_err *err) {
  size_t k = 0;
  for (size_t i = 0; i < st->n; i++) k += score_stale(&st->t[i], only_changed);
  if (!k) return QT_OK;
  int64_t *ids = qt_malloc(k * sizeof *ids);
  double *sc = qt_malloc(k * sizeof *sc);
  int r = QT_OK;
  if (!ids || !sc) {
    r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
    goto fail;
  }
  k = 0;
  for (size_t i = 0; i < st->n; i++)
    if (score_stale(&st->t[i], only_changed)) {
      ids[k] = st->t[i].id;
      sc[k++] = st->t[i].obj;
    }
  r = st->store.vt->trials_set_scores(st->store.self, ids, sc, k, err);
  for (size_t i = 0; !r && i < st->n; i++)
    if (st->t[i].state == QT_TRIAL_COMPLETE) st->t[i].sc_db = st->t[i].obj;
fail:
  qt_free(ids);
  qt_free(sc);
  return r;
}

/* [[step, value], ...] of t (NaN: null), heap; NULL when out of memory. */
static char *iv_json(const tr *t) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < t->n_iv; i++) {
    json_t *e = json_array();
    double v = t->iv[i].value;
    if (!e || json_array_append_new(e, json_integer((json_int_t)t->iv[i].step)) ||
        json_array_append_new(e, isfinite(v) ? json_real(v) : json_null()) ||
        json_array_append_new(a, e)) {
      json_decref(a);
      return NULL;
    }
  }
  char *s = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
  char *out = s ? qt_strdup(s) : NULL;
  free(s);
  json_decref(a);
  return out;
}

int qt_study_tell(qt_study *st, const qt_trial *t, int state, const qt_metric_set *m,
                  const char *error, qt_err *err) {
  return qt__study_tell(st, t, state, m, error, NULL, err);
}

int qt__study_tell(qt_study *st, const qt_trial *t, int state, const qt_metric_set *m,
                   const char *error, int *out_state, qt_err *err) {
  int r = QT_OK, refreshed = 0;
  if (out_state) *out_state = state;
  char *mj = NULL, vbuf[128], ebuf[sizeof ((qt_err *)0)->msg];
  pthread_mutex_lock(&st->mu);
  tr *x = find_number(st, t->number);
  if (!x) {
    r = qt_err_set(err, QT_ENOTFOUND, "study: trial %lld is not in this study",
                   (long long)t->number);
    goto fail;
  }
  if (x->told) {
    r = qt_err_set(err, QT_ESTATE, "study: trial %lld was already told (%s); finished trials "
                   "are immutable", (long long)x->number, qt_trial_state_name(x->state));
    goto fail;
  }
  touch(st, x);
  if (state == QT_TRIAL_COMPLETE && m && !st->names_ok) {
    /* the first metrics seen: every name the goal uses must be among them
     * (else every trial would fail or score blind); the run stops */
    const char **keys = qt_malloc((m->n ? m->n : 1) * sizeof *keys);
    if (!keys) {
      r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
      goto fail;
    }
    for (size_t i = 0; i < m->n; i++) keys[i] = m->v[i].name;
    qt_err ne;
    r = qt_goal_check_names(&st->goal, keys, m->n, "the objective", &ne);
    qt_free(keys);
    if (r) {
      snprintf(ebuf, sizeof ebuf, "trial %lld: %.220s", (long long)x->number, ne.msg);
      qt_err_set(&ne, r, "%s", ebuf);
      int fr = st->store.vt->trial_finish(st->store.self, x->id, QT_TRIAL_FAIL, NAN, NULL, NULL,
                                          -1, ebuf, err);
      x->state = QT_TRIAL_FAIL;
      x->obj = NAN;
      if (!fr) {
        qt_free(x->error);
        x->error = qt_strdup(ebuf);
        if (err) *err = ne;
      }
      goto fail;
    }
    st->names_ok = 1;
  }
  if (state == QT_TRIAL_COMPLETE && m) {
    derive(st, x, m);
    for (size_t k = 0; k < qt_goal_n_objectives(&st->goal) && state == QT_TRIAL_COMPLETE; k++) {
      const char *om = qt_goal_objective(&st->goal, k, NULL);
      if (is_score(&st->goal) || !isnan(k ? x->mo[k] : x->metric)) continue;
      /* the goal's metric is missing: nothing to optimize, the trial fails */
      const double *v = qt_metric_set_find(m, om);
      snprintf(ebuf, sizeof ebuf, "objective metric '%s' %s", om,
               v ? "is NaN" : "is missing from the metrics");
      error = ebuf;
      state = QT_TRIAL_FAIL;
    }
  } else if (state == QT_TRIAL_COMPLETE) {
    state = QT_TRIAL_FAIL;
    error = "no metrics";
  }
  if (m && m->n && !(mj = metrics_json(st, m, err))) {
    r = QT_ENOMEM;
    goto fail;
  }
  x->state = state;
  if (state == QT_TRIAL_COMPLETE) {
    st->n_complete++;
    running_fold(st, x);
    size_t every = st->goal.refresh_every ? st->goal.refresh_every : 20;
    int moved = 0;
    if (is_score(&st->goal) &&
        (st->n_complete <= every || st->n_complete - st->norm.n_seen >= every))
      refresh(st, &moved);
    if (!moved) eval_obj(st, x);
    refreshed = moved;
    /* JSON has no infinity: a rejected trial's value is the string "-inf"/"inf" */
    if (qt_goal_n_objectives(&st->goal) > 1) { /* every objective, raw */
      size_t l = 0;
      for (size_t k = 0; k < st->goal.n_obj; k++)
        l += (size_t)snprintf(vbuf + l, sizeof vbuf - l, "%s%.17g", k ? "," : "[", x->mo[k]);
      snprintf(vbuf + l, sizeof vbuf - l, "]");
    } else if (isinf(x->obj)) snprintf(vbuf, sizeof vbuf, "[\"%s\"]", x->obj < 0 ? "-inf" : "inf");
    else snprintf(vbuf, sizeof vbuf, "[%.17g]", x->obj);
    if (!st->goal.lenient && !x->cons_ok && m) {
      qt_goal_reason(&st->goal, m, ebuf, sizeof ebuf);
      error = ebuf;
    }
  } else {
    x->obj = NAN;
  }
  if (x->n_iv) {
    /* the intermediate values and last step go with the outcome (a pruned
     * trial's are why it stopped) */
    char *ij = iv_json(x);
    if (!ij) {
      r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
      goto fail;
    }
    r = st->store.vt->trial_set_intermediate(st->store.self, x->id, ij, x->iv[x->n_iv - 1].step,
                                             err);
    qt_free(ij);
    if (r && r != QT_ESTATE) goto fail; /* ESTATE: trial_finish below says it again */
  }
  r = st->store.vt->trial_finish(st->store.self, x->id, state,
                                 state == QT_TRIAL_COMPLETE ? x->obj : NAN,
                                 state == QT_TRIAL_COMPLETE ? vbuf : NULL, mj,
                                 state == QT_TRIAL_COMPLETE ? x->cons_ok : -1, error, err);
  if (r == QT_ESTATE) {
    /* Another process finished the trial first (stale recovery while this
     * worker was paused): the stored outcome stands, this late result is
     * dropped with a warning and the run goes on. */
    qt_log(QT_LOG_WARN, "study %s: trial #%lld: late result dropped: %s", st->rec.name,
           (long long)x->number, err ? err->msg : "already finished");
    x->state = QT_TRIAL_FAIL;
    x->obj = NAN;
    if (state == QT_TRIAL_COMPLETE) {
      st->n_complete--;
      running_rebuild(st); /* its extremes go with it */
    }
    if (out_state) *out_state = QT_TRIAL_FAIL;
    r = QT_OK;
    goto fail;
  }
  if (r) goto fail;
  x->told = 1;
  x->sc_db = state == QT_TRIAL_COMPLETE ? x->obj : NAN;
  qt_free(x->metrics_json);
  x->metrics_json = mj;
  mj = NULL;
  if (error && !(x->error = qt_strdup(error))) {
    r = qt_err_set(err, QT_ENOMEM, "study: out of memory");
    goto fail;
  }
  if (out_state) *out_state = state;
  /* a moved normalization changes every stored score: they are rewritten
   * here while the study is small (its first refresh_every trials), later
   * once when the run ends (qt_study_store_scores), not on every move,
   * which would rewrite the whole study each time a new extreme shows up */
  size_t every = st->goal.refresh_every ? st->goal.refresh_every : 20;
  if (refreshed && st->n_complete <= every && (r = store_scores(st, 1, err)) != 0) goto fail;
  if (st->svt && st->svt->observe) {
    qt_trial_view v;
    view_of(st, x, &v);
    st->svt->observe(st->sampler, &v);
  }
fail:
  qt_free(mj);
  pthread_mutex_unlock(&st->mu);
  return r;
}

size_t qt_study_n_trials(const qt_study *st) { return st->n; }

size_t qt_study_n_objectives(const qt_study *st) { return qt_goal_n_objectives(&st->goal); }

int qt_study_trial_values(const qt_study *st, size_t i, double *out) {
  const tr *t = &st->t[i];
  size_t n = qt_goal_n_objectives(&st->goal);
  int ok = t->state == QT_TRIAL_COMPLETE;
  for (size_t k = 0; k < n; k++) {
    out[k] = ok ? (n > 1 ? t->mo[k] : t->metric) : NAN;
    if (n == 1 && is_score(&st->goal)) out[k] = ok ? t->obj : NAN;
    if (!isfinite(out[k])) ok = 0;
  }
  return ok;
}

void qt_study_trial_info(const qt_study *st, size_t i, qt_trial_info *out) {
  const tr *t = &st->t[i];
  out->number = t->number;
  out->state = t->state;
  out->feasible = t->state == QT_TRIAL_COMPLETE && (st->goal.lenient || t->cons_ok);
  out->objective = t->obj;
  out->params_json = t->params_json;
  out->metrics_json = t->metrics_json;
  out->error = t->error;
}

static long best_locked(const qt_study *st) {
  long b = -1;
  for (size_t i = 0; i < st->n; i++) {
    const tr *t = &st->t[i];
    if (t->state != QT_TRIAL_COMPLETE || isnan(t->obj)) continue;
    if (!st->goal.lenient && !t->cons_ok) continue;
    if (b < 0 || (st->goal.maximize ? t->obj > st->t[b].obj : t->obj < st->t[b].obj)) b = (long)i;
  }
  return b;
}

long qt_study_best(const qt_study *st) { return best_locked(st); }

void qt_study_counts(const qt_study *st, size_t out[QT_TRIAL_N_STATES]) {
  memset(out, 0, QT_TRIAL_N_STATES * sizeof *out);
  for (size_t i = 0; i < st->n; i++)
    if (st->t[i].state >= 0 && st->t[i].state < QT_TRIAL_N_STATES) out[st->t[i].state]++;
}


double qt__study_best_value(qt_study *st, int64_t *out_number) {
  pthread_mutex_lock(&st->mu);
  long b = best_locked(st);
  double v = b >= 0 ? st->t[b].obj : NAN;
  if (out_number) *out_number = b >= 0 ? st->t[b].number : -1;
  pthread_mutex_unlock(&st->mu);
  return v;
}

int qt__study_is_feasible(qt_study *st, int64_t number) {
  pthread_mutex_lock(&st->mu);
  tr *t = find_number(st, number);
  int ok = t && t->state == QT_TRIAL_COMPLETE && (st->goal.lenient || t->cons_ok);
  pthread_mutex_unlock(&st->mu);
  return ok;
}

int qt_study_store_scores(qt_study *st, qt_err *err) {
  pthread_mutex_lock(&st->mu);
  int r = store_scores(st, 0, err);
  pthread_mutex_unlock(&st->mu);
  return r;
}

typedef struct kv_pair {
  double key, obj;
} kv_pair;

static int cmp_pair(const void *a, const void *b) {
  double x = ((const kv_pair *)a)->key, y = ((const kv_pair *)b)->key;
  return x < y ? -1 : x > y;
}

int qt_study_importance(const qt_study *st, double *out, qt_err *err) {
  size_t nd = st->nd;
  for (size_t k = 0; k < nd; k++) out[k] = 0;
  kv_pair *p = qt_malloc((st->n ? st->n : 1) * sizeof *p);
  if (!p) return qt_err_set(err, QT_ENOMEM, "importance: out of memory");
  double total = 0;
  for (size_t k = 0; k < nd; k++) {
    size_t n = 0;
    for (size_t i = 0; i < st->n; i++)
      if (st->t[i].state == QT_TRIAL_COMPLETE && isfinite(st->t[i].obj))
        p[n++] = (kv_pair){st->t[i].x[k], st->t[i].obj};
    if (n < 2) continue;
    qsort(p, n, sizeof *p, cmp_pair);
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += p[i].obj;
    mean /= (double)n;
    const qt_dim *d = qt_space_dim(st->sp, k);
    int discrete = d->type == QT_PARAM_CAT || d->type == QT_PARAM_BOOL;
    size_t nb = n / 5;
    nb = nb < 2 ? 2 : nb > 10 ? 10 : nb;
    double var = 0;
    size_t i = 0;
    for (size_t b = 0; i < n; b++) {
      /* a bin: the next equal-count slice, extended over ties of the value
       * (one bin per value for categoricals) */
      size_t end = discrete ? i + 1 : (n * (b + 1)) / nb;
      if (end <= i) end = i + 1;
      while (end < n && p[end].key == p[end - 1].key) end++;
      double s = 0;
      for (size_t j = i; j < end; j++) s += p[j].obj;
      double bm = s / (double)(end - i);
      var += (double)(end - i) * (bm - mean) * (bm - mean);
      i = end;
    }
    out[k] = var / (double)n;
    total += out[k];
  }
  qt_free(p);
  if (total > 0)
    for (size_t k = 0; k < nd; k++) out[k] /= total;
  return QT_OK;
}

void qt_study_set_pruner(qt_study *st, const qt_pruner *p) {
  pthread_mutex_lock(&st->mu);
  st->pruner = p;
  pthread_mutex_unlock(&st->mu);
}

const qt_pruner *qt__study_pruner(qt_study *st) {
  pthread_mutex_lock(&st->mu);
  const qt_pruner *p = st->pruner;
  pthread_mutex_unlock(&st->mu);
  return p;
}

const qt_step_value *qt_study_trial_intermediate(const qt_study *st, size_t i, size_t *out_n) {
  *out_n = i < st->n ? st->t[i].n_iv : 0;
  return i < st->n ? st->t[i].iv : NULL;
}

/* The running objective of metrics m: the score under the current
 * normalization or the goal's metric, without the constraints (a part of
 * the data has fewer trades; constraints judge the final result). */
static double running_value(const qt_study *st, const qt_metric_set *m) {
  const qt_goal *g = &st->goal;
  if (!is_score(g)) {
    const double *v = qt_metric_set_find(m, g->metric);
    return v ? *v : NAN;
  }
  double tv[QT_SCORE_MAX_TERMS];
  for (size_t k = 0; k < g->n_terms; k++) {
    const double *v = qt_metric_set_find(m, g->terms[k].metric);
    tv[k] = v ? *v : NAN;
  }
  return qt_norm_score(&st->norm, g, tv);
}

int qt__study_report(qt_study *st, int64_t number, int64_t step, const qt_metric_set *m,
                     double value, int final, int *out_prune) {
  *out_prune = 0;
  pthread_mutex_lock(&st->mu);
  tr *t = find_number(st, number);
  int r = QT_OK;
  if (!t || t->state != QT_TRIAL_RUNNING) goto done;
  /* a step reported again keeps its first value (as Optuna) */
  if (t->n_iv && t->iv[t->n_iv - 1].step >= step) goto done;
  if (t->n_iv == t->cap_iv) {
    size_t cap = t->cap_iv ? t->cap_iv * 2 : 16;
    qt_step_value *nv = qt_realloc(t->iv, cap * sizeof *nv);
    if (!nv) {
      r = QT_ENOMEM;
      goto done;
    }
    t->iv = nv;
    t->cap_iv = cap;
  }
  t->iv[t->n_iv].step = step;
  t->iv[t->n_iv++].value = m ? running_value(st, m) : value;
  if (final || !st->pruner) goto done;
  if (st->n > st->pv_cap) {
    size_t cap = st->n * 2;
    qt_prune_trial *nv = qt_realloc(st->pv, cap * sizeof *nv);
    if (!nv) {
      r = QT_ENOMEM;
      goto done;
    }
    st->pv = nv;
    st->pv_cap = cap;
  }
  size_t n = 0, cur = 0;
  for (size_t i = 0; i < st->n; i++) {
    const tr *u = &st->t[i];
    if (u->state == QT_TRIAL_WAITING) continue;
    if (u == t) cur = n;
    st->pv[n++] = (qt_prune_trial){u->number, u->state, u->iv, u->n_iv};
  }
  *out_prune = qt_pruner_should_prune(st->pruner, st->pv, n, cur, st->goal.maximize);
done:
  pthread_mutex_unlock(&st->mu);
  return r;
}

int qt__study_replace_config(qt_study *st, const char *config_json, qt_err *err) {
  char *c = qt_strdup(config_json);
  if (!c) return qt_err_set(err, QT_ENOMEM, "study: out of memory");
  pthread_mutex_lock(&st->mu);
  int r = st->store.vt->study_set_config(st->store.self, st->rec.id, config_json, err);
  if (!r) {
    qt_free(st->rec.config_json);
    st->rec.config_json = c;
    c = NULL;
  }
  pthread_mutex_unlock(&st->mu);
  qt_free(c);
  return r;
}
