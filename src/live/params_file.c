/* Live parameter files: a flat JSON object validated against a strategy's
 * spec, applied under a lock with a lock-free version counter for the
 * runner's per-bar check, a watcher thread (inotify on the folder, a poll
 * where inotify is unavailable) and a JSON-lines history beside the file. */
#include "qtune/live.h"
#include "qtune/optimize.h" /* qt_names_nearest */
#include "qtune/strategies.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the poll compares: a change of any field is a change of the file. */
typedef struct sig {
  int exists;
  struct timespec mtime;
  off_t size;
  ino_t ino;
} sig;

struct qt_live_params {
  const qt_strategy_vtbl *s;
  char path[PATH_MAX];
  char dir[PATH_MAX], base[NAME_MAX + 1]; /* what the watcher watches and matches */
  char run[128];
  qt_live_params_opts o;
  pthread_mutex_t mu;      /* p, equity */
  pthread_mutex_t io_mu;   /* history appends, one at a time */
  double p[QT_LIVE_MAX_PARAMS];
  double equity;
  double equity_at_apply;  /* equity when the current set took effect */
  atomic_uint_least64_t version;
  /* watcher */
  pthread_t thr;
  int watching;            /* 0 off, 1 inotify, 2 poll */
  int stop_fd[2];          /* the pipe that wakes the watcher to stop */
  int ino_fd;
  sig start;               /* the file when the watch began */
};

qt_live_params_opts qt_live_params_opts_default(void) {
  qt_live_params_opts o = {0};
  o.run = "default";
  o.keep_history = 1;
  o.poll_ms = 5000;
  return o;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The shortest text that reads back as v; whole numbers keep one decimal
 * (2 -> "2.0") as the guide's messages show them; ints print as ints. */
static void fmt_num(double v, int is_int, char *buf, size_t cap) {
  if (is_int && fabs(v) < 1e15) {
    snprintf(buf, cap, "%lld", (long long)v);
    return;
  }
  if (isinf(v)) {
    snprintf(buf, cap, "%sinf", v < 0 ? "-" : "");
    return;
  }
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(buf, cap, "%.1f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

static int range_fail(const qt_param_spec *ps, double v, qt_err *err) {
  char lo[64], hi[64], got[64];
  int is_int = ps->type == QT_PARAM_INT;
  fmt_num(ps->lo, is_int, lo, sizeof lo);
  fmt_num(ps->hi, is_int, hi, sizeof hi);
  fmt_num(v, is_int && v == floor(v), got, sizeof got);
  return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s must be in [%s, %s], got %s", ps->name,
                    lo, hi, got);
}

int qt_live_params_check(const qt_strategy_vtbl *s, const double *p, qt_err *err) {
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    double v = p[k];
    if (ps->type == QT_PARAM_CAT) {
      if (!(v >= 0 && v < (double)ps->n_choices) || v != floor(v))
        return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s must be one of %zu choices, got %g",
                          ps->name, ps->n_choices, v);
      continue;
    }
    if (ps->type == QT_PARAM_BOOL) {
      if (v != 0 && v != 1)
        return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s must be true or false, got %g",
                          ps->name, v);
      continue;
    }
    if (!isfinite(v) || v < ps->lo || v > ps->hi) return range_fail(ps, v, err);
    if (ps->type == QT_PARAM_INT && v != floor(v))
      return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s must be a whole number, got %.17g",
                        ps->name, v);
  }
  return QT_OK;
}

int qt_live_params_step_check(const qt_strategy_vtbl *s, const double *from, const double *to,
                              double max_pct, qt_err *err) {
  if (!(max_pct > 0)) return QT_OK;
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    if (ps->type == QT_PARAM_CAT || ps->type == QT_PARAM_BOOL || from[k] == to[k]) continue;
    /* relative to the current value; a value of 0 has no relative step,
     * so the range's width stands in for it */
    double ref = from[k] != 0 ? fabs(from[k]) : ps->hi - ps->lo;
    double pct = ref > 0 ? fabs(to[k] - from[k]) / ref * 100.0 : INFINITY;
    if (pct > max_pct * (1 + 1e-12)) {
      char a[64], b[64];
      fmt_num(from[k], ps->type == QT_PARAM_INT, a, sizeof a);
      fmt_num(to[k], ps->type == QT_PARAM_INT, b, sizeof b);
      return qt_err_set(err, QT_EINVAL,
                        "Step limit: %s would change by %.1f%% (%s -> %s), more than the %g%% "
                        "allowed per reload", ps->name, pct, a, b, max_pct);
    }
  }
  return QT_OK;
}

/* The line (1-based) of the first "key" in text, for messages (jansson
 * keeps no positions of the values it parsed). */
static int key_line(const char *text, size_t len, const char *key) {
  size_t kl = strlen(key);
  int line = 1;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') line++;
    if (text[i] == '"' && i + kl + 1 < len && strncmp(text + i + 1, key, kl) == 0 &&
        text[i + kl + 1] == '"')
      return line;
  }
  return 1;
}

/* One value for spec ps from JSON v into *out; messages without position. */
static int json_value(const qt_param_spec *ps, json_t *v, double *out, qt_err *err) {
  if (ps->type == QT_PARAM_FLOAT || ps->type == QT_PARAM_INT) {
    if (!json_is_number(v))
      return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s must be a number, not a %s",
                        ps->name, json_is_string(v) ? "string" : json_is_null(v) ? "null"
                                  : json_is_boolean(v) ? "boolean" : "list or object");
    *out = json_number_value(v);
    return QT_OK;
  }
  char buf[64];
  const char *txt = buf;
  if (json_is_boolean(v)) txt = json_is_true(v) ? "true" : "false";
  else if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
  else if (json_is_string(v)) txt = json_string_value(v);
  else
    return qt_err_set(err, QT_EINVAL, "Invalid parameter: %s: expected a single value", ps->name);
  int rc = qt_param_parse(ps, txt, strlen(txt), out, err);
  if (rc) {
    char m[sizeof err->msg];
    snprintf(m, sizeof m, "%s", err ? err->msg : "");
    qt_err_set(err, rc, "Invalid parameter: %s", m);
  }
  return rc;
}

int qt_live_params_parse(const qt_strategy_vtbl *s, const char *text, size_t len,
                         const char *file, const double *current, double *out_p, qt_err *err) {
  double p[QT_LIVE_MAX_PARAMS];
  if (s->n_params > QT_LIVE_MAX_PARAMS)
    return qt_err_set(err, QT_EINVAL, "%s: strategy '%s' has more than %d params", file, s->name,
                      QT_LIVE_MAX_PARAMS);
  memcpy(p, current, s->n_params * sizeof *p);
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!o)
    return qt_err_set(err, QT_EPARSE, "%s:%d:%d: invalid JSON: %s", file, je.line, je.column,
                      je.text);
  int rc = QT_OK;
  if (!json_is_object(o)) {
    rc = qt_err_set(err, QT_EPARSE, "%s:1: expected a flat JSON object of name: value", file);
    goto fail;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int i = qt_strategy_param_index(s, k);
    if (i < 0) {
      const char *names[QT_LIVE_MAX_PARAMS];
      for (size_t j = 0; j < s->n_params; j++) names[j] = s->params[j].name;
      char near[256];
      int nn = qt_names_nearest(k, names, s->n_params, near, sizeof near);
      rc = qt_err_set(err, QT_EINVAL, "%s:%d: Unknown parameter: %s (strategy '%s'%s%s)", file,
                      key_line(text, len, k), k, s->name, nn ? "; did you mean " : "",
                      nn ? near : "");
      goto fail;
    }
    double val;
    rc = json_value(&s->params[i], v, &val, err);
    if (rc == QT_OK) {
      p[i] = val;
      /* the value's own check, so the message names this line */
      qt_strategy_vtbl single = *s;
      single.params = &s->params[i];
      single.n_params = 1;
      rc = qt_live_params_check(&single, &val, err);
    }
    if (rc) {
      qt_err_prefix(err, "%s:%d", file, key_line(text, len, k));
      goto fail;
    }
  }
  memcpy(out_p, p, s->n_params * sizeof *p);
fail:
  json_decref(o);
  return rc;
}

static json_t *params_json(const qt_strategy_vtbl *s, const double *p) {
  json_t *o = json_object();
  for (size_t k = 0; o && k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    json_t *v;
    if (ps->type == QT_PARAM_INT) v = json_integer((json_int_t)p[k]);
    else if (ps->type == QT_PARAM_BOOL) v = json_boolean(p[k] != 0);
    else if (ps->type == QT_PARAM_CAT) v = json_string(ps->choices[(size_t)p[k]]);
    else v = json_real(p[k]);
    if (!v || json_object_set_new(o, ps->name, v) != 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

int qt_live_params_write(const qt_strategy_vtbl *s, const char *path, const double *p,
                         qt_err *err) {
  json_t *o = params_json(s, p);
  char *txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                : NULL;
  json_decref(o);
  if (!txt) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  size_t n = strlen(txt);
  int rc = QT_OK;
  char *buf = qt_malloc(n + 2);
  if (!buf) rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  else {
    memcpy(buf, txt, n);
    buf[n] = '\n';
    rc = qt_file_write_atomic(path, buf, n + 1, err);
  }
  qt_free(buf);
  free(txt);
  return rc;
}

/* ---- history ---- */

char *qt_live_history_path(const char *params_path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s.history.jsonl", params_path);
  return buf;
}

static void copy_str(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

/* Parses one history line into *e; QT_EPARSE without position. */
static int parse_entry(const char *line, size_t len, qt_live_history_entry *e, qt_err *err) {
  json_error_t je;
  json_t *o = json_loadb(line, len, 0, &je);
  if (!o) return qt_err_set(err, QT_EPARSE, "invalid JSON at column %d: %s", je.column, je.text);
  int rc = QT_OK;
  json_t *ts = json_object_get(o, "ts_ms"), *pa = json_object_get(o, "params");
  json_t *eq = json_object_get(o, "equity");
  if (!json_is_object(o) || !json_is_integer(ts) || !json_is_object(pa)) {
    rc = qt_err_set(err, QT_EPARSE, "expected an object with ts_ms and params");
    goto fail;
  }
  memset(e, 0, sizeof *e);
  e->ts_ms = (int64_t)json_integer_value(ts);
  copy_str(e->run, sizeof e->run, json_string_value(json_object_get(o, "run")));
  copy_str(e->strategy, sizeof e->strategy, json_string_value(json_object_get(o, "strategy")));
  copy_str(e->source, sizeof e->source, json_string_value(json_object_get(o, "source")));
  e->equity = json_is_number(eq) ? json_number_value(eq) : NAN;
  char *txt = json_dumps(pa, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  if (!txt) {
    rc = qt_err_set(err, QT_ENOMEM, "out of memory");
    goto fail;
  }
  if (strlen(txt) >= sizeof e->params) rc = qt_err_set(err, QT_EPARSE, "params too long");
  else copy_str(e->params, sizeof e->params, txt);
  free(txt);
fail:
  json_decref(o);
  return rc;
}

int qt_live_history_load(const char *params_path, const char *run, qt_live_history_entry **out,
                         size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  char hp[PATH_MAX + 32];
  qt_live_history_path(params_path, hp, sizeof hp);
  FILE *f = fopen(hp, "rb");
  if (!f) {
    if (errno == ENOENT) return QT_OK;
    return qt_err_set(err, QT_EIO, "%s: cannot read: %s", hp, strerror(errno));
  }
  int rc = QT_OK;
  size_t n = 0, cap = 0;
  qt_live_history_entry *v = NULL;
  char *line = qt_malloc(QT_LIVE_LINE_MAX + 2);
  if (!line) rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", hp);
  for (int lineno = 1; rc == QT_OK && fgets(line, QT_LIVE_LINE_MAX + 2, f); lineno++) {
    size_t len = strlen(line);
    if (len > QT_LIVE_LINE_MAX && line[len - 1] != '\n') {
      rc = qt_err_set(err, QT_EPARSE, "%s:%d: line longer than %d bytes", hp, lineno,
                      QT_LIVE_LINE_MAX);
      break;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (len == 0) continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      qt_live_history_entry *nv = qt_realloc(v, nc * sizeof *nv);
      if (!nv) {
        rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", hp);
        break;
      }
      v = nv;
      cap = nc;
    }
    rc = parse_entry(line, len, &v[n], err);
    if (rc) {
      qt_err_prefix(err, "%s:%d", hp, lineno);
      break;
    }
    if (!run || strcmp(v[n].run, run) == 0) n++;
  }
  if (rc == QT_OK && ferror(f)) rc = qt_err_set(err, QT_EIO, "%s: read error", hp);
  fclose(f);
  qt_free(line);
  if (rc || n == 0) {
    qt_free(v);
    return rc;
  }
  *out = v;
  *out_n = n;
  return QT_OK;
}

/* Appends one line for the set params (a JSON object, borrowed) unless the
 * run's last recorded set is the same.  One write(2) of the line under an
 * flock, so concurrent writers (a runner and `qtune live revert`) keep
 * whole lines. */
static int history_append(const char *params_path, const char *run, const char *strategy,
                          const char *source, double equity, json_t *params, qt_err *err) {
  char hp[PATH_MAX + 32];
  qt_live_history_path(params_path, hp, sizeof hp);
  int rc = QT_OK;
  char *ptxt = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  char *line = NULL;
  int fd = -1;
  if (!ptxt) {
    rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", hp);
    goto fail;
  }
  fd = open(hp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0 || flock(fd, LOCK_EX) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot append: %s", hp, strerror(errno));
    goto fail;
  }
  qt_live_history_entry *v = NULL;
  size_t n = 0;
  rc = qt_live_history_load(params_path, run, &v, &n, err);
  if (rc) goto fail;
  int same = n > 0 && strcmp(v[n - 1].params, ptxt) == 0;
  qt_free(v);
  if (same) goto fail;
  json_t *o = json_object();
  int64_t ts = now_ms();
  char iso[40];
  qt_time_format(ts, iso, sizeof iso);
  if (o) {
    json_object_set_new(o, "ts_ms", json_integer(ts));
    json_object_set_new(o, "time", json_string(iso));
    json_object_set_new(o, "run", json_string(run));
    json_object_set_new(o, "strategy", json_string(strategy));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "equity", isfinite(equity) ? json_real(equity) : json_null());
    json_object_set(o, "params", params);
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
  }
  if (!line) {
    rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", hp);
    goto fail;
  }
  size_t len = strlen(line);
  if (len + 1 > QT_LIVE_LINE_MAX) {
    rc = qt_err_set(err, QT_EINVAL, "%s: a history line would be longer than %d bytes", hp,
                    QT_LIVE_LINE_MAX);
    goto fail;
  }
  line[len] = '\n'; /* json_dumps left room: its NUL */
  if (write(fd, line, len + 1) != (ssize_t)(len + 1))
    rc = qt_err_set(err, QT_EIO, "%s: cannot append: %s", hp, strerror(errno));
fail:
  if (fd >= 0) close(fd); /* releases the lock */
  free(line);
  free(ptxt);
  return rc;
}

/* ---- the handle ---- */

int qt_live_params_new(const qt_strategy_vtbl *s, const char *path, const double *initial,
                       const qt_live_params_opts *o, qt_live_params **out, qt_err *err) {
  *out = NULL;
  if (s->n_params > QT_LIVE_MAX_PARAMS)
    return qt_err_set(err, QT_EINVAL, "strategy '%s' has more than %d params", s->name,
                      QT_LIVE_MAX_PARAMS);
  if (strlen(path) >= PATH_MAX || strlen(path) == 0)
    return qt_err_set(err, QT_EINVAL, "live params file: bad path '%s'", path);
  qt_live_params *lp = qt_calloc(1, sizeof *lp);
  if (!lp) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  lp->s = s;
  lp->o = o ? *o : qt_live_params_opts_default();
  if (lp->o.poll_ms <= 0) lp->o.poll_ms = 5000;
  copy_str(lp->run, sizeof lp->run, lp->o.run ? lp->o.run : "default");
  lp->o.run = lp->run;
  copy_str(lp->path, sizeof lp->path, path);
  const char *slash = strrchr(path, '/');
  if (slash) {
    snprintf(lp->dir, sizeof lp->dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    copy_str(lp->base, sizeof lp->base, slash + 1);
  } else {
    copy_str(lp->dir, sizeof lp->dir, ".");
    copy_str(lp->base, sizeof lp->base, path);
  }
  memcpy(lp->p, initial, s->n_params * sizeof *lp->p);
  lp->equity = lp->equity_at_apply = NAN;
  atomic_init(&lp->version, 1);
  lp->stop_fd[0] = lp->stop_fd[1] = lp->ino_fd = -1;
  pthread_mutex_init(&lp->mu, NULL);
  pthread_mutex_init(&lp->io_mu, NULL);
  *out = lp;
  return QT_OK;
}

void qt_live_params_free(qt_live_params *lp) {
  if (!lp) return;
  qt_live_params_unwatch(lp);
  pthread_mutex_destroy(&lp->mu);
  pthread_mutex_destroy(&lp->io_mu);
  qt_free(lp);
}

uint64_t qt_live_params_version(const qt_live_params *lp) {
  return atomic_load_explicit(&((qt_live_params *)lp)->version, memory_order_acquire);
}

uint64_t qt_live_params_get(qt_live_params *lp, double *out_p) {
  pthread_mutex_lock(&lp->mu);
  memcpy(out_p, lp->p, lp->s->n_params * sizeof *out_p);
  uint64_t v = atomic_load(&lp->version);
  pthread_mutex_unlock(&lp->mu);
  return v;
}

void qt_live_params_set_equity(qt_live_params *lp, double equity) {
  pthread_mutex_lock(&lp->mu);
  lp->equity = equity;
  /* the initial set took effect before the first equity was known */
  if (isnan(lp->equity_at_apply) && atomic_load(&lp->version) == 1) lp->equity_at_apply = equity;
  pthread_mutex_unlock(&lp->mu);
}

double qt_live_params_pnl(qt_live_params *lp) {
  pthread_mutex_lock(&lp->mu);
  double v = lp->equity - lp->equity_at_apply;
  pthread_mutex_unlock(&lp->mu);
  return v;
}

/* Checks p against the spec and the step limit from the current set,
 * applies it, records it.  The history is written after the set is in
 * effect: a failing history write is logged, it does not undo the set. */
static int apply(qt_live_params *lp, const double *p, const char *source, qt_err *err) {
  int rc = qt_live_params_check(lp->s, p, err);
  if (rc) return rc;
  pthread_mutex_lock(&lp->mu);
  rc = qt_live_params_step_check(lp->s, lp->p, p, lp->o.max_step_pct, err);
  double equity = lp->equity;
  uint64_t ver = 0;
  if (rc == QT_OK) {
    memcpy(lp->p, p, lp->s->n_params * sizeof *p);
    lp->equity_at_apply = equity;
    ver = atomic_fetch_add_explicit(&lp->version, 1, memory_order_release) + 1;
  }
  pthread_mutex_unlock(&lp->mu);
  if (rc) return rc;
  if (lp->o.on_apply) lp->o.on_apply(lp->o.on_apply_ud, ver);
  if (lp->o.keep_history) {
    qt_err he;
    json_t *o = params_json(lp->s, p);
    pthread_mutex_lock(&lp->io_mu);
    int hr = o ? history_append(lp->path, lp->run, lp->s->name, source, equity, o, &he)
               : qt_err_set(&he, QT_ENOMEM, "out of memory");
    pthread_mutex_unlock(&lp->io_mu);
    json_decref(o);
    if (hr) qt_log(QT_LOG_WARN, "tuning parameters history: %s", he.msg);
  }
  return QT_OK;
}

int qt_live_params_update(qt_live_params *lp, const double *p, qt_err *err) {
  return apply(lp, p, "update", err);
}

/* Reads the file: QT_OK with *out_text (qt_free), QT_LIVE_NOT_FOUND, or an
 * error. */
static int read_file(const char *path, char **out_text, size_t *out_len, qt_err *err) {
  *out_text = NULL;
  *out_len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return QT_LIVE_NOT_FOUND;
    return qt_err_set(err, QT_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  int rc = QT_OK;
  char *buf = qt_malloc(QT_LIVE_FILE_MAX + 1);
  size_t n = 0;
  if (!buf) rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  else {
    n = fread(buf, 1, QT_LIVE_FILE_MAX + 1, f);
    if (ferror(f)) rc = qt_err_set(err, QT_EIO, "%s: read error", path);
    else if (n > QT_LIVE_FILE_MAX)
      rc = qt_err_set(err, QT_EINVAL, "%s: larger than %d bytes", path, QT_LIVE_FILE_MAX);
  }
  fclose(f);
  if (rc) {
    qt_free(buf);
    return rc;
  }
  *out_text = buf;
  *out_len = n;
  return QT_OK;
}

static int reload_as(qt_live_params *lp, const char *source, qt_err *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_file(lp->path, &text, &len, err);
  if (rc == QT_OK) {
    double cur[QT_LIVE_MAX_PARAMS], p[QT_LIVE_MAX_PARAMS];
    qt_live_params_get(lp, cur);
    rc = qt_live_params_parse(lp->s, text, len, lp->path, cur, p, err);
    if (rc == QT_OK) rc = apply(lp, p, source, err);
    if (rc < 0 && strncmp(err ? err->msg : "", lp->path, strlen(lp->path)) != 0)
      qt_err_prefix(err, "%s", lp->path);
  }
  qt_free(text);
  if (rc < 0) qt_log(QT_LOG_ERROR, "Failed to reload config: %s", err ? err->msg : "");
  return rc;
}

int qt_live_params_reload(qt_live_params *lp, qt_err *err) {
  qt_err local;
  if (!err) err = &local;
  int rc = reload_as(lp, "reload", err);
  if (rc == QT_OK) qt_log(QT_LOG_INFO, "Tuning parameters reloaded successfully");
  else if (rc == QT_LIVE_NOT_FOUND)
    qt_log(QT_LOG_WARN, "%s: not found; keeping the current tuning parameters", lp->path);
  return rc;
}

/* ---- the watcher ---- */

static sig file_sig(const char *path) {
  struct stat st;
  sig s = {0};
  if (stat(path, &st) == 0) {
    s.exists = 1;
    s.mtime = st.st_mtim;
    s.size = st.st_size;
    s.ino = st.st_ino;
  }
  return s;
}

static int sig_eq(sig a, sig b) {
  return a.exists == b.exists && a.mtime.tv_sec == b.mtime.tv_sec &&
         a.mtime.tv_nsec == b.mtime.tv_nsec && a.size == b.size && a.ino == b.ino;
}

static void watch_reload(qt_live_params *lp) {
  qt_err e;
  int rc = reload_as(lp, "watch", &e);
  if (rc == QT_OK) qt_log(QT_LOG_INFO, "Auto-reloaded tuning parameters");
  else if (rc == QT_LIVE_NOT_FOUND)
    qt_log(QT_LOG_WARN, "%s: deleted; keeping the current tuning parameters", lp->path);
}

static void *watch_main(void *arg) {
  qt_live_params *lp = arg;
  sig last = lp->start;
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    struct pollfd pf[2] = {{lp->stop_fd[0], POLLIN, 0}, {lp->ino_fd, POLLIN, 0}};
    int n = poll(pf, lp->watching == 1 ? 2 : 1, lp->watching == 1 ? -1 : lp->o.poll_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (pf[0].revents & (POLLIN | POLLHUP))) break;
    int changed = 0;
    if (lp->watching == 1) {
      if (!(pf[1].revents & POLLIN)) continue;
      ssize_t got;
      /* drain every queued event: a burst (truncate, write, close) is one reload */
      while ((got = read(lp->ino_fd, buf, sizeof buf)) > 0) {
        for (char *q = buf; q < buf + got;) {
          const struct inotify_event *ev = (const struct inotify_event *)q;
          if (ev->len && strcmp(ev->name, lp->base) == 0) changed = 1;
          q += sizeof *ev + ev->len;
        }
      }
      if (!changed) continue;
      sig now = file_sig(lp->path);
      if (!now.exists && !last.exists) continue;
      last = now;
    } else {
      sig now = file_sig(lp->path);
      if (sig_eq(now, last)) continue;
      last = now;
    }
    watch_reload(lp);
  }
  return NULL;
}

int qt_live_params_watch(qt_live_params *lp, qt_err *err) {
  if (lp->watching) return qt_err_set(err, QT_ESTATE, "%s: already watched", lp->path);
  if (pipe2(lp->stop_fd, O_CLOEXEC) != 0)
    return qt_err_set(err, QT_EIO, "%s: watcher: pipe: %s", lp->path, strerror(errno));
  int mode = 2;
  if (!lp->o.force_poll) {
    lp->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    /* the folder, not the file: an editor's save renames a new file over
     * the old one, and a watch on the old inode would never fire again */
    if (lp->ino_fd >= 0 &&
        inotify_add_watch(lp->ino_fd, lp->dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) >= 0)
      mode = 1;
    else if (lp->ino_fd >= 0) {
      close(lp->ino_fd);
      lp->ino_fd = -1;
    }
  }
  lp->watching = mode;
  lp->start = file_sig(lp->path); /* before the thread: a write right after this call counts */
  if (pthread_create(&lp->thr, NULL, watch_main, lp) != 0) {
    lp->watching = 0;
    close(lp->stop_fd[0]);
    close(lp->stop_fd[1]);
    if (lp->ino_fd >= 0) close(lp->ino_fd);
    lp->stop_fd[0] = lp->stop_fd[1] = lp->ino_fd = -1;
    return qt_err_set(err, QT_EIO, "%s: cannot start the watcher thread", lp->path);
  }
  return QT_OK;
}

void qt_live_params_unwatch(qt_live_params *lp) {
  if (!lp->watching) return;
  char c = 1;
  while (write(lp->stop_fd[1], &c, 1) < 0 && errno == EINTR) {
  }
  pthread_join(lp->thr, NULL);
  close(lp->stop_fd[0]);
  close(lp->stop_fd[1]);
  if (lp->ino_fd >= 0) close(lp->ino_fd);
  lp->stop_fd[0] = lp->stop_fd[1] = lp->ino_fd = -1;
  lp->watching = 0;
}

const char *qt_live_params_watch_mode(const qt_live_params *lp) {
  return lp->watching == 1 ? "inotify" : lp->watching == 2 ? "poll" : "off";
}

/* ---- revert ---- */

int qt_live_revert(const char *params_path, const char *run, qt_live_history_entry *out_entry,
                   qt_err *err) {
  qt_live_history_entry *v = NULL;
  size_t n = 0;
  int rc = qt_live_history_load(params_path, run, &v, &n, err);
  if (rc) return rc;
  json_t *pa = NULL;
  if (n < 2) {
    rc = qt_err_set(err, QT_ESTATE, "%s: run '%s' has %zu parameter set%s in its history; "
                    "nothing to revert to", params_path, run, n, n == 1 ? "" : "s");
    goto fail;
  }
  qt_live_history_entry *prev = &v[n - 2];
  json_error_t je;
  pa = json_loads(prev->params, 0, &je);
  if (!pa) {
    rc = qt_err_set(err, QT_EPARSE, "%s: history: bad params", params_path);
    goto fail;
  }
  const qt_strategy_vtbl *s = qt_strategy_find(prev->strategy);
  /* the history line first: a runner watching the file reloads it the
   * moment it is renamed, and its line would come first (source watch) and
   * make this one a repeat */
  rc = history_append(params_path, run, prev->strategy, "revert", NAN, pa, err);
  if (rc) goto fail;
  if (s) {
    /* a built-in: the set is checked as a reload would check it */
    double cur[QT_LIVE_MAX_PARAMS], p[QT_LIVE_MAX_PARAMS];
    if (s->n_params > QT_LIVE_MAX_PARAMS) {
      rc = qt_err_set(err, QT_EINVAL, "strategy '%s' has too many params", s->name);
      goto fail;
    }
    qt_strategy_defaults(s, cur);
    rc = qt_live_params_parse(s, prev->params, strlen(prev->params), "history", cur, p, err);
    if (rc == QT_OK) rc = qt_live_params_write(s, params_path, p, err);
  } else {
    char *txt = json_dumps(pa, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!txt) rc = qt_err_set(err, QT_ENOMEM, "out of memory");
    else rc = qt_file_write_atomic(params_path, txt, strlen(txt), err);
    free(txt);
  }
  if (rc) goto fail;
  if (out_entry) *out_entry = *prev;
fail:
  json_decref(pa);
  qt_free(v);
  return rc;
}
