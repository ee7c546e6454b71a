/* Paper campaigns: the parameter combinations of a grid (or random samples
 * of it) and one paper run per combination, several at once on threads for
 * a replay (the loaded bars are shared read-only; each run has its own
 * engines), or all at once from one reader for a stream. */
#include "qtune/live.h"
#include "qtune/strategies.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int qt_campaign_parse_axis(const qt_strategy_vtbl *s, const char *text, qt_campaign_axis *out,
                           qt_err *err) {
  memset(out, 0, sizeof *out);
  const char *eq = text ? strchr(text, '=') : NULL;
  if (!eq || eq == text)
    return qt_err_set(err, QT_EINVAL, "--grid \"%s\": expected name=v1,v2,...", text ? text : "");
  size_t nl = (size_t)(eq - text);
  if (nl >= sizeof out->name) return qt_err_set(err, QT_EINVAL, "--grid: name too long");
  memcpy(out->name, text, nl);
  out->name[nl] = '\0';
  out->param = -1;
  for (size_t k = 0; k < s->n_params; k++)
    if (!strcmp(s->params[k].name, out->name)) out->param = (int)k;
  if (out->param < 0)
    return qt_err_set(err, QT_EINVAL, "--grid: strategy '%s' has no parameter '%s'", s->name,
                      out->name);
  const qt_param_spec *ps = &s->params[out->param];
  for (const char *p = eq + 1;;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (out->n == QT_CAMPAIGN_MAX_VALUES)
      return qt_err_set(err, QT_EINVAL, "--grid %s: more than %d values", out->name,
                        QT_CAMPAIGN_MAX_VALUES);
    double v;
    qt_err pe;
    qt_err_clear(&pe);
    if (qt_param_parse(ps, p, len, &v, &pe))
      return qt_err_set(err, QT_EINVAL, "--grid %s: %s", out->name, pe.msg);
    for (size_t j = 0; j < out->n; j++)
      if (out->values[j] == v)
        return qt_err_set(err, QT_EINVAL, "--grid %s: value %.*s twice", out->name, (int)len, p);
    out->values[out->n++] = v;
    if (!c) break;
    p = c + 1;
  }
  return QT_OK;
}

int qt_campaign_combos(const qt_strategy_vtbl *s, const double *base, const qt_campaign_axis *axes,
                       size_t n_axes, int mode, size_t samples, uint64_t seed, double **out_params,
                       size_t *out_n, qt_err *err) {
  *out_params = NULL;
  *out_n = 0;
  if (n_axes > QT_CAMPAIGN_MAX_AXES)
    return qt_err_set(err, QT_EINVAL, "campaign: more than %d --grid axes", QT_CAMPAIGN_MAX_AXES);
  size_t total = 1;
  for (size_t a = 0; a < n_axes; a++) {
    if (axes[a].n == 0) return qt_err_set(err, QT_EINVAL, "campaign: axis %s has no values", axes[a].name);
    if (total > ((size_t)1 << 20) / axes[a].n)
      return qt_err_set(err, QT_EINVAL, "campaign: more than 2^20 combinations");
    total *= axes[a].n;
  }
  size_t np = s->n_params ? s->n_params : 1;
  size_t n = mode == QT_CAMPAIGN_RANDOM && samples < total ? samples : total;
  double *v = qt_malloc(n * np * sizeof *v);
  size_t *pick = qt_malloc(n * sizeof *pick);
  if (!v || !pick) {
    qt_free(v);
    qt_free(pick);
    return qt_err_set(err, QT_ENOMEM, "campaign: out of memory for %zu combinations", n);
  }
  if (n == total) {
    for (size_t k = 0; k < n; k++) pick[k] = k;
  } else { /* a partial Fisher-Yates over the combination numbers (n << 2^20) */
    qt_rng r;
    qt_rng_seed(&r, seed);
    for (size_t k = 0; k < n; k++) {
      size_t c;
      int again;
      do {
        c = (size_t)qt_rng_below(&r, total);
        again = 0;
        for (size_t j = 0; j < k; j++) again |= pick[j] == c;
      } while (again);
      pick[k] = c;
    }
  }
  for (size_t k = 0; k < n; k++) {
    double *p = v + k * np;
    memcpy(p, base, s->n_params * sizeof *p);
    size_t c = pick[k];
    for (size_t a = n_axes; a-- > 0;) { /* the last axis fastest */
      p[axes[a].param] = axes[a].values[c % axes[a].n];
      c /= axes[a].n;
    }
  }
  qt_free(pick);
  /* a combination the strategy refuses (fast >= slow) stays: its campaign
   * fails with the strategy's message, as the report would show it */
  *out_params = v;
  *out_n = n;
  return QT_OK;
}

/* ------------------------------------------------------------ running */

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_result(const qt_campaign_opts *o, size_t k, const qt_paper *pp, double secs,
                        qt_tuning_result_rec *r) {
  const qt_strategy_vtbl *s = o->paper.strategy;
  const double *p = o->combos + k * (s->n_params ? s->n_params : 1);
  memset(r, 0, sizeof *r);
  snprintf(r->session_id, sizeof r->session_id, "%s", o->session_id ? o->session_id : "session");
  snprintf(r->run_id, sizeof r->run_id, "%.40s-%zu", r->session_id, k + 1);
  qt_paper_params_json(s, p, r->param_set, sizeof r->param_set);
  r->campaign_id = (int64_t)k + 1;
  r->duration_seconds = secs;
  r->test_mode = o->stream_path == NULL;
  size_t w = 0;
  for (int j = 0; j < o->paper.n_symbols && w < sizeof r->symbols; j++)
    w += (size_t)snprintf(r->symbols + w, sizeof r->symbols - w, "%s%s", j ? "," : "",
                          o->paper.symbols[j]);
  if (!pp) return;
  qt_paper_symbol_sum sum[QT_MARKET_MAX_SYMBOLS + 1];
  int n = qt_paper_summary(pp, sum, QT_MARKET_MAX_SYMBOLS + 1);
  for (int j = 0; j < n; j++) {
    qt_result res;
    qt_paper_result(pp, j, &res);
    for (size_t t = 0; t < res.n_trades; t++) {
      r->winning_trades += res.trades[t].pnl > 0;
      r->losing_trades += res.trades[t].pnl < 0;
    }
    r->total_exits += (int64_t)res.n_trades;
    r->total_entries += (int64_t)res.n_trades + (sum[j].position != 0);
  }
  r->total_pnl = sum[n].pnl;
  r->total_trades = r->total_exits;
  r->winrate = r->total_trades ? (double)r->winning_trades / (double)r->total_trades : 0;
  r->avg_pnl_per_trade = r->total_trades ? r->total_pnl / (double)r->total_trades : 0;
}

static int open_one(const qt_campaign_opts *o, size_t k, qt_paper **out, qt_err *err) {
  qt_paper_opts po = o->paper;
  po.params = o->combos + k * (po.strategy->n_params ? po.strategy->n_params : 1);
  po.storage = NULL;
  po.on_status = NULL;
  po.stop = o->stop;
  return qt_paper_open(&po, out, err);
}

/* One replay campaign, start to end. */
static int run_replay_one(const qt_campaign_opts *o, size_t k, qt_tuning_result_rec *r,
                          qt_err *err) {
  double t0 = mono_s();
  qt_paper *pp = NULL;
  qt_livefeed feed = {0};
  int rc = open_one(o, k, &pp, err);
  if (!rc) {
    qt_live_replay_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.n = o->paper.n_symbols;
    ro.speed = o->speed;
    ro.stop = o->stop;
    for (int j = 0; j < ro.n; j++) {
      ro.bars[j] = o->paper.replay_feeds[j][0].bars;
      ro.symbols[j] = o->paper.symbols[j];
      ro.from[j] = o->paper.replay_from[j];
      ro.to[j] = o->paper.replay_to[j];
    }
    rc = qt_livefeed_replay(&ro, &feed, err);
  }
  if (!rc) rc = qt_paper_run(pp, &feed, err);
  if (rc == QT_DONE) rc = QT_OK;
  fill_result(o, k, rc ? NULL : pp, mono_s() - t0, r);
  qt_livefeed_close(&feed);
  qt_paper_free(pp);
  return rc;
}

typedef struct job {
  const qt_campaign_opts *o;
  qt_tuning_result_rec *out;
  int *ok;
  pthread_mutex_t mu;
  size_t next;
  int first_rc;
  qt_err first_err;
} job;

static void *worker(void *arg) {
  job *j = arg;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    size_t k = j->next++;
    pthread_mutex_unlock(&j->mu);
    if (k >= j->o->n_combos || (j->o->stop && *j->o->stop)) break;
    qt_err e;
    qt_err_clear(&e);
    int rc = run_replay_one(j->o, k, &j->out[k], &e);
    j->ok[k] = rc == QT_OK;
    if (rc) {
      qt_log(QT_LOG_WARN, "campaign %zu: %s", k + 1, e.msg);
      pthread_mutex_lock(&j->mu);
      if (!j->first_rc) j->first_rc = rc, j->first_err = e;
      pthread_mutex_unlock(&j->mu);
    }
  }
  return NULL;
}

static int run_replay(const qt_campaign_opts *o, qt_tuning_result_rec *out, int *ok, qt_err *err) {
  job j;
  memset(&j, 0, sizeof j);
  j.o = o, j.out = out, j.ok = ok;
  pthread_mutex_init(&j.mu, NULL);
  int nt = o->jobs > 1 ? o->jobs : 1;
  if ((size_t)nt > o->n_combos) nt = (int)o->n_combos;
  pthread_t th[64];
  if (nt > 64) nt = 64;
  int started = 0;
  for (int t = 1; t < nt; t++)
    if (!pthread_create(&th[started], NULL, worker, &j)) started++;
  worker(&j);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&j.mu);
  if (j.first_rc && err) *err = j.first_err;
  return j.first_rc;
}

/* A stream: one reader, every campaign fed each event in turn. */
static int run_stream(const qt_campaign_opts *o, qt_tuning_result_rec *out, int *ok, qt_err *err) {
  double t0 = mono_s();
  qt_paper **pp = qt_calloc(o->n_combos, sizeof *pp);
  if (!pp) return qt_err_set(err, QT_ENOMEM, "campaign: out of memory");
  int rc = QT_OK;
  for (size_t k = 0; k < o->n_combos; k++) {
    qt_err e;
    qt_err_clear(&e);
    ok[k] = open_one(o, k, &pp[k], &e) == QT_OK;
    if (!ok[k]) {
      qt_log(QT_LOG_WARN, "campaign %zu: %s", k + 1, e.msg);
      if (!rc) rc = e.code ? e.code : QT_EINVAL, *err = e;
    }
  }
  qt_livefeed feed = {0};
  int frc;
  if (!strncmp(o->stream_path, "ws://", 5) || !strncmp(o->stream_path, "wss://", 6)) {
    qt_live_ws_opts wo = {o->stream_path, o->idle_exit_ms};
    frc = qt_livefeed_ws(&wo, &feed, err);
  } else {
    qt_live_stream_opts so = {o->stream_path, o->idle_exit_ms};
    frc = qt_livefeed_stream(&so, &feed, err);
  }
  int ended = 0;
  while (!frc) {
    if (o->stop && *o->stop) break;
    if (o->paper.max_wall_ms > 0 && (mono_s() - t0) * 1000 >= (double)o->paper.max_wall_ms) break;
    qt_live_event ev;
    int fr = feed.vt->next(feed.self, &ev, 200, err);
    if (fr == QT_DONE) {
      ended = 1;
      break;
    }
    if (fr == QT_ETIMEOUT) continue;
    if (fr) {
      frc = fr;
      break;
    }
    for (size_t k = 0; k < o->n_combos; k++) {
      if (!ok[k]) continue;
      qt_err e;
      qt_err_clear(&e);
      if (qt_paper_event(pp[k], &ev, &e)) {
        ok[k] = 0;
        qt_log(QT_LOG_WARN, "campaign %zu: %s", k + 1, e.msg);
        if (!rc) rc = e.code, *err = e;
      }
    }
  }
  double secs = mono_s() - t0;
  for (size_t k = 0; k < o->n_combos; k++) {
    qt_err e;
    if (ok[k] && qt_paper_end(pp[k], ended, &e) < 0) ok[k] = 0;
    fill_result(o, k, ok[k] ? pp[k] : NULL, secs, &out[k]);
    qt_paper_free(pp[k]);
  }
  qt_free(pp);
  qt_livefeed_close(&feed);
  return frc ? frc : rc;
}

int qt_campaign_run(const qt_campaign_opts *o, qt_tuning_result_rec *out, int *ok, qt_err *err) {
  if (!o || !o->paper.strategy || !o->combos || !o->n_combos)
    return qt_err_set(err, QT_EINVAL, "campaign: no combinations");
  if (!o->stream_path && !o->paper.replay_feeds[0])
    return qt_err_set(err, QT_EINVAL, "campaign: no feed (a replay or a stream)");
  for (size_t k = 0; k < o->n_combos; k++) ok[k] = 0;
  return o->stream_path ? run_stream(o, out, ok, err) : run_replay(o, out, ok, err);
}

/* ------------------------------------------------------------ ranking */

static const char *const k_metrics[] = {"pnl", "winrate", "trades", "avg_pnl"};

int qt_campaign_metric(const char *name, int *out_metric, qt_err *err) {
  for (int k = 0; k < 4; k++)
    if (name && !strcmp(name, k_metrics[k])) return *out_metric = k, QT_OK;
  *out_metric = 0;
  return qt_err_set(err, QT_EINVAL, "--rank-by \"%s\": one of pnl, winrate, trades, avg_pnl",
                    name ? name : "");
}

double qt_campaign_metric_value(const qt_tuning_result_rec *r, int metric) {
  return metric == 1 ? r->winrate
         : metric == 2 ? (double)r->total_trades
         : metric == 3 ? r->avg_pnl_per_trade
                       : r->total_pnl;
}

int qt_campaign_rank(const qt_tuning_result_rec *rows, const int *ok, size_t n, int metric,
                     size_t *order, size_t *out_n, qt_err *err) {
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    if (!ok[k]) continue;
    double v = qt_campaign_metric_value(&rows[k], metric);
    if (!isfinite(v))
      return qt_err_set(err, QT_EINVAL, "campaign %lld: %s is not a number",
                        (long long)rows[k].campaign_id, k_metrics[metric]);
    /* insertion: campaigns are few (a grid of thousands at most) */
    size_t j = m++;
    while (j > 0) {
      const qt_tuning_result_rec *q = &rows[order[j - 1]];
      double w = qt_campaign_metric_value(q, metric);
      if (w > v || (w == v && q->campaign_id < rows[k].campaign_id)) break;
      order[j] = order[j - 1];
      j--;
    }
    order[j] = k;
  }
  *out_n = m;
  return QT_OK;
}
