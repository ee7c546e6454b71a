/* The parallel runner: `jobs` worker threads, each with its own objective
 * worker (engine, buffers), asking and telling one shared study.  The
 * calling thread reports progress, heartbeats the running trials, re-reads
 * other processes' trials and watches the stop flag and the timeout.  In
 * deterministic mode the calling thread asks a whole batch, the workers only
 * evaluate, and results are told in trial-number order, so the same seed
 * gives the same trials whatever the timing. */
#include "study_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

qt_run_opts qt_run_opts_default(void) {
  qt_run_opts o;
  memset(&o, 0, sizeof o);
  return o;
}

typedef struct retry {
  double *x;
  int attempts;
} retry;

struct run;
typedef struct slot {
  struct run *R;
  qt_reporter rep; /* the worker's objective reports intermediate values here */
  qt_trial t;
  int attempts;
  int ready, done; /* deterministic mode hand-off */
  int rc;
  int told; /* qt_trial_state the study stored */
  qt_metric_set m;
  qt_err e;
} slot;

typedef struct run {
  qt_study *st;
  const qt_objective *obj;
  qt_run_opts o;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t started_new, finished, failed, infeasible, rejected, pruned;
  int no_more;   /* stop handing out trials */
  int quit;      /* deterministic workers: leave */
  int fatal;
  qt_err ferr;
  retry *rq;
  size_t nrq, caprq;
  int64_t *running; /* per worker: trial id being evaluated, 0 none */
  size_t alive;
  slot *slots;
  char host[64];
} run;

typedef struct wctx {
  run *R;
  size_t k;
} wctx;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_fatal(run *R, const qt_err *e) {
  if (!R->fatal) {
    R->fatal = 1;
    R->ferr = *e;
  }
  R->no_more = 1;
}

/* Queues a failed trial's params for another attempt (run lock held). */
static void push_retry(run *R, const double *x, int attempts) {
  size_t nd = qt_space_n(qt_study_space(R->st));
  if (R->nrq == R->caprq) {
    size_t cap = R->caprq ? R->caprq * 2 : 8;
    retry *n = qt_realloc(R->rq, cap * sizeof *n);
    if (!n) return; /* no retry under memory pressure; the failure is stored */
    R->rq = n;
    R->caprq = cap;
  }
  double *c = qt_malloc((nd ? nd : 1) * sizeof *c);
  if (!c) return;
  memcpy(c, x, nd * sizeof *c);
  R->rq[R->nrq].x = c;
  R->rq[R->nrq++].attempts = attempts;
}

/* Takes the next job (run lock held): 1 = go (*out set for a retry),
 * 0 = nothing more to do. */
static int take_job(run *R, retry *out) {
  out->x = NULL;
  out->attempts = 0;
  if (R->no_more || (R->o.stop && *R->o.stop)) return 0;
  if (R->nrq) {
    *out = R->rq[0];
    memmove(R->rq, R->rq + 1, (R->nrq - 1) * sizeof *R->rq);
    R->nrq--;
    return 1;
  }
  if (R->o.n_trials && R->started_new >= R->o.n_trials) return 0;
  R->started_new++;
  return 1;
}

/* Book-keeping after a trial was told (run lock held), by the state the
 * study stored, so the run's counts are the storage's: a trial whose
 * objective metric was missing is failed (and retried), not infeasible. */
static void account(run *R, const slot *s) {
  R->finished++;
  if (s->told == QT_TRIAL_REJECTED) { /* the strategy rejected the combination: not retried */
    R->rejected++;
  } else if (s->told == QT_TRIAL_PRUNED) { /* stopped by the pruner: not retried */
    R->pruned++;
  } else if (s->told == QT_TRIAL_FAIL) {
    R->failed++;
    if (s->attempts < R->o.retries) push_retry(R, s->t.x, s->attempts + 1);
  } else if (!qt__study_is_feasible(R->st, s->t.number)) {
    R->infeasible++;
  }
  pthread_cond_broadcast(&R->cv);
}

static void evaluate(run *R, void *w, slot *s) {
  qt_metric_set_clear(&s->m);
  qt_err_clear(&s->e);
  s->rc = R->obj->vt->eval(w, qt_study_space(R->st), s->t.x, s->t.user, s->t.seed, &s->m, &s->e);
  if (s->rc && !s->e.msg[0]) snprintf(s->e.msg, sizeof s->e.msg, "%s", qt_status_str(s->rc));
}

static int tell(run *R, slot *s, qt_err *err) {
  int state = s->rc == QT_EPARAM    ? QT_TRIAL_REJECTED
              : s->rc == QT_PRUNED ? QT_TRIAL_PRUNED
              : s->rc              ? QT_TRIAL_FAIL
                                   : QT_TRIAL_COMPLETE;
  int with_m = !s->rc || s->rc == QT_PRUNED; /* a pruned trial keeps its last metrics */
  return qt__study_tell(R->st, &s->t, state, with_m ? &s->m : NULL,
                        s->rc && s->rc != QT_PRUNED ? s->e.msg : NULL, &s->told, err);
}

/* The reporter of a worker's objective: the study records the value and
 * asks its pruner. */
static int on_report(void *ud, int64_t step, const qt_metric_set *m, double value, int final) {
  slot *s = ud;
  int prune = 0;
  qt__study_report(s->R->st, s->t.number, step, m, value, final, &prune);
  return prune;
}

/* Takes a job and asks the study for its trial into slot k (run lock held on
 * entry and exit, released around the ask).  1: slot k holds a running
 * trial; 0: nothing to run (no job left, the study is done, or fatal). */
static int ask_into(run *R, size_t k, const char *name) {
  retry job;
  if (!take_job(R, &job)) return 0;
  pthread_mutex_unlock(&R->mu);
  qt_err e;
  slot *s = &R->slots[k];
  int ar = qt_study_ask(R->st, job.x, name, &s->t, &e);
  s->attempts = job.attempts;
  qt_free(job.x);
  pthread_mutex_lock(&R->mu);
  if (ar == QT_DONE) {
    R->started_new--;
    R->no_more = 1;
    return 0;
  }
  if (ar) {
    set_fatal(R, &e);
    return 0;
  }
  R->running[k] = s->t.id;
  return 1;
}

static void *worker_main(void *arg) {
  wctx *c = arg;
  run *R = c->R;
  slot *s = &R->slots[c->k];
  void *w = NULL;
  qt_err e;
  char name[96];
  snprintf(name, sizeof name, "%s:%ld:w%zu", R->host, (long)getpid(), c->k);
  int r = R->obj->vt->worker_new(R->obj->shared, &w, &e);
  if (!r && w && R->obj->vt->set_reporter) {
    /* checkpoints cost metric computations: by default only for a pruner */
    double every = R->o.report_every;
    if (every <= 0 && qt__study_pruner(R->st)) every = 0.1;
    s->R = R;
    s->rep = (qt_reporter){on_report, s, every > 0 ? every : 0};
    R->obj->vt->set_reporter(w, &s->rep);
  }
  pthread_mutex_lock(&R->mu);
  if (r) set_fatal(R, &e);
  while (!r && !R->o.deterministic) {
    if (!ask_into(R, c->k, name)) break;
    pthread_mutex_unlock(&R->mu);
    evaluate(R, w, s);
    int tr = tell(R, s, &e);
    pthread_mutex_lock(&R->mu);
    R->running[c->k] = 0;
    if (tr) set_fatal(R, &e);
    else account(R, s);
    qt_trial_fini(&s->t);
  }
  while (R->o.deterministic) {
    while (!s->ready && !R->quit) pthread_cond_wait(&R->cv, &R->mu);
    if (!s->ready) break;
    s->ready = 0;
    pthread_mutex_unlock(&R->mu);
    if (!r) { /* w may be NULL: an objective without per-worker state */
      evaluate(R, w, s);
    } else { /* no worker instance: the trial fails with the reason */
      s->rc = r;
      s->e = e;
    }
    pthread_mutex_lock(&R->mu);
    s->done = 1;
    pthread_cond_broadcast(&R->cv);
  }
  R->alive--;
  pthread_cond_broadcast(&R->cv);
  pthread_mutex_unlock(&R->mu);
  if (w) R->obj->vt->worker_free(w);
  return NULL;
}

/* Progress, heartbeats, sync, stop and timeout: one tick of the watcher
 * (run lock held on entry and exit). */
typedef struct watch {
  double t0, last_prog, last_hb, last_sync, last_sweep;
} watch;

static void fill_progress(run *R, double t0, qt_progress *p) {
  memset(p, 0, sizeof *p);
  p->done = R->finished;
  p->total = R->o.n_trials;
  p->failed = R->failed;
  p->rejected = R->rejected;
  p->pruned = R->pruned;
  p->infeasible = R->infeasible;
  p->elapsed_s = now_s() - t0;
  p->trials_per_s = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
  p->eta_s = NAN;
  if (p->total && p->trials_per_s > 0)
    p->eta_s = (double)(p->total > p->done ? p->total - p->done : 0) / p->trials_per_s;
  if (R->o.timeout_s > 0) {
    double left = R->o.timeout_s - p->elapsed_s;
    left = left < 0 ? 0 : left;
    if (isnan(p->eta_s) || left < p->eta_s) p->eta_s = left;
  }
}

static void tick(run *R, watch *W) {
  double t = now_s();
  if ((R->o.stop && *R->o.stop) || (R->o.timeout_s > 0 && t - W->t0 >= R->o.timeout_s))
    R->no_more = 1;
  if (t - W->last_hb >= R->o.heartbeat_s) {
    W->last_hb = t;
    size_t nw = R->o.jobs;
    for (size_t k = 0; k < nw; k++) {
      int64_t id = R->running[k];
      if (!id) continue;
      qt_storage *s = qt_study_storage(R->st);
      pthread_mutex_unlock(&R->mu);
      s->vt->heartbeat(s->self, id, NULL); /* a trial just finished: ESTATE, harmless */
      pthread_mutex_lock(&R->mu);
    }
  }
  /* Leases of other processes' trials: one that stopped heartbeating (killed,
   * paused, cut off) is failed and its params enqueued again, during the
   * run and not only at its start. */
  if (t - W->last_sweep >= R->o.stale_s / 2) {
    W->last_sweep = t;
    qt_storage *s = qt_study_storage(R->st);
    size_t nrec = 0;
    pthread_mutex_unlock(&R->mu);
    int r = s->vt->recover_stale(s->self, qt__study_id(R->st), (int64_t)(R->o.stale_s * 1000),
                                 &nrec, NULL);
    if (!r && nrec)
      qt_log(QT_LOG_WARN, "study '%s': %zu trial(s) of another worker stopped heartbeating for %gs:"
             " failed, and their params enqueued again", qt_study_name(R->st), nrec, R->o.stale_s);
    pthread_mutex_lock(&R->mu);
  }
  if (!R->o.deterministic && t - W->last_sync >= R->o.sync_s) {
    W->last_sync = t;
    qt_err e;
    pthread_mutex_unlock(&R->mu);
    int r = qt_study_sync(R->st, &e);
    pthread_mutex_lock(&R->mu);
    if (r) set_fatal(R, &e);
  }
  if (R->o.progress && t - W->last_prog >= R->o.progress_every_s) {
    W->last_prog = t;
    qt_progress p;
    fill_progress(R, W->t0, &p);
    pthread_mutex_unlock(&R->mu);
    p.best = qt__study_best_value(R->st, &p.best_number);
    R->o.progress(R->o.progress_ud, &p);
    pthread_mutex_lock(&R->mu);
  }
}

static void wait_tick(run *R, watch *W) {
  double step = R->o.progress_every_s < 0.25 ? R->o.progress_every_s : 0.25;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double d = (double)ts.tv_nsec * 1e-9 + step;
  ts.tv_sec += (time_t)d;
  ts.tv_nsec = (long)((d - floor(d)) * 1e9);
  pthread_cond_timedwait(&R->cv, &R->mu, &ts);
  tick(R, W);
}

/* Deterministic mode: ask a batch, evaluate it in parallel, tell in order. */
static void drive_batches(run *R, watch *W) {
  char name[96];
  snprintf(name, sizeof name, "%s:%ld:main", R->host, (long)getpid());
  while (!R->fatal) {
    size_t k = 0;
    while (k < R->o.jobs && ask_into(R, k, name)) k++;
    if (k == 0) break;
    for (size_t i = 0; i < k; i++) {
      R->slots[i].done = 0;
      R->slots[i].ready = 1;
    }
    pthread_cond_broadcast(&R->cv);
    for (;;) {
      size_t nd = 0;
      for (size_t i = 0; i < k; i++) nd += R->slots[i].done;
      if (nd == k || R->alive == 0) break;
      wait_tick(R, W);
    }
    for (size_t i = 0; i < k; i++) {
      slot *s = &R->slots[i];
      R->running[i] = 0;
      if (!s->done) { /* its worker died (fatal already set): leave it running */
        qt_trial_fini(&s->t);
        continue;
      }
      qt_err e;
      pthread_mutex_unlock(&R->mu);
      int tr = tell(R, s, &e);
      pthread_mutex_lock(&R->mu);
      if (tr) set_fatal(R, &e);
      else account(R, s);
      qt_trial_fini(&s->t);
    }
    tick(R, W);
  }
  R->quit = 1;
  pthread_cond_broadcast(&R->cv);
}

int qt_study_run(qt_study *st, const qt_objective *obj, const qt_run_opts *o, qt_progress *out_p,
                 qt_err *err) {
  run R;
  memset(&R, 0, sizeof R);
  R.st = st;
  R.obj = obj;
  R.o = *o;
  if (!R.o.jobs) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    R.o.jobs = nc > 0 ? (size_t)nc : 1;
  }
  if (R.o.jobs > QT_RUN_MAX_JOBS)
    return qt_err_set(err, QT_EINVAL, "jobs %zu: more than %d worker threads (QT_RUN_MAX_JOBS);"
                      " more workers go on more machines (qtune worker)", R.o.jobs, QT_RUN_MAX_JOBS);
  if (R.o.progress_every_s <= 0) R.o.progress_every_s = 0.2;
  if (R.o.heartbeat_s <= 0) R.o.heartbeat_s = 5;
  if (R.o.stale_s <= 0) R.o.stale_s = 60;
  /* three heartbeats per lease, so one late heartbeat never expires it */
  if (R.o.heartbeat_s > R.o.stale_s / 3) R.o.heartbeat_s = R.o.stale_s / 3;
  if (R.o.sync_s <= 0) R.o.sync_s = 2;
  if (gethostname(R.host, sizeof R.host) != 0) strcpy(R.host, "host");
  R.host[sizeof R.host - 1] = 0;
  pthread_mutex_init(&R.mu, NULL);
  pthread_cond_init(&R.cv, NULL);
  int r = QT_OK;
  pthread_t *th = qt_calloc(R.o.jobs, sizeof *th);
  wctx *wc = qt_calloc(R.o.jobs, sizeof *wc);
  R.slots = qt_calloc(R.o.jobs, sizeof *R.slots);
  R.running = qt_calloc(R.o.jobs, sizeof *R.running);
  size_t n_started = 0;
  if (!th || !wc || !R.slots || !R.running) {
    r = qt_err_set(err, QT_ENOMEM, "runner: out of memory");
    goto fail;
  }
  for (size_t k = 0; k < R.o.jobs; k++) qt_metric_set_init(&R.slots[k].m);
  {
    /* trials left running by a crashed process are failed, not resumed */
    qt_storage *s = qt_study_storage(st);
    size_t nrec = 0;
    int64_t sid = qt__study_id(st);
    if ((r = s->vt->recover_stale(s->self, sid, (int64_t)(R.o.stale_s * 1000), &nrec, err)) != 0)
      goto fail;
    if (nrec) {
      qt_log(QT_LOG_INFO, "study '%s': %zu stale running trial(s) marked failed, their params"
             " enqueued again", qt_study_name(st), nrec);
      if ((r = qt_study_sync(st, err)) != 0) goto fail;
    }
  }
  watch W = {now_s(), 0, 0, 0, 0};
  W.last_hb = W.last_sync = W.last_sweep = W.t0;
  pthread_mutex_lock(&R.mu);
  for (size_t k = 0; k < R.o.jobs; k++) {
    wc[k].R = &R;
    wc[k].k = k;
    R.alive++;
    if (pthread_create(&th[k], NULL, worker_main, &wc[k]) != 0) {
      R.alive--;
      qt_err e;
      qt_err_set(&e, QT_EIO, "runner: cannot start thread %zu: %s", k, strerror(errno));
      set_fatal(&R, &e);
      R.quit = 1;
      break;
    }
    n_started++;
  }
  if (R.o.deterministic && !R.fatal) drive_batches(&R, &W);
  while (R.alive > 0) wait_tick(&R, &W);
  pthread_mutex_unlock(&R.mu);
  for (size_t k = 0; k < n_started; k++) pthread_join(th[k], NULL);
  if (!R.fatal) {
    /* the final picture: every process's trials under one normalization,
     * also in storage, so the caller's report and `qtune analyze` agree */
    qt_err e;
    if (qt_study_sync(st, &e) || qt_study_store_scores(st, &e)) set_fatal(&R, &e);
  }
  if (out_p || R.o.progress) {
    qt_progress p;
    fill_progress(&R, W.t0, &p);
    p.best = qt__study_best_value(st, &p.best_number);
    if (R.o.progress) R.o.progress(R.o.progress_ud, &p);
    if (out_p) *out_p = p;
  }
  if (R.fatal) {
    r = R.ferr.code ? R.ferr.code : QT_EIO;
    if (err) *err = R.ferr;
  }
fail:
  for (size_t i = 0; i < R.nrq; i++) qt_free(R.rq[i].x);
  qt_free(R.rq);
  if (R.slots)
    for (size_t k = 0; k < R.o.jobs; k++) {
      qt_metric_set_fini(&R.slots[k].m);
      qt_trial_fini(&R.slots[k].t);
    }
  qt_free(R.slots);
  qt_free(R.running);
  qt_free(th);
  qt_free(wc);
  pthread_cond_destroy(&R.cv);
  pthread_mutex_destroy(&R.mu);
  return r;
}
