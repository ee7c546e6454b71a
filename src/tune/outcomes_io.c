/* Outcomes in: `qtune outcomes import` files (CSV with a header, or a JSON
 * array of objects with the same keys) and a backtest's trade list.  Every
 * bad value is named by file, line and field.  Limits: 64 MiB per file and
 * 1,000,000 outcomes (a week of a busy bot is a few thousand). */
#include "qtune/tune.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OUT_MAX_BYTES (64u << 20)
#define OUT_MAX_ROWS 1000000u

enum { F_STRATEGY, F_SYMBOL, F_SIGNAL, F_SIDE, F_ENTRY_T, F_ENTRY_P, F_EXIT_T, F_EXIT_P, F_PNL,
       F_PNL_PCT, F_STATUS, F_VERSION, F_KEY, F_N };
static const char *const k_fields[F_N] = {"strategy",   "symbol",     "signal_time", "side",
                                          "entry_time", "entry_price", "exit_time",  "exit_price",
                                          "pnl",        "pnl_pct",    "status",      "params_version",
                                          "key"};
/* required: a value must be there; the others may be empty */
static const unsigned char k_required[F_N] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0};
#define N_HEADER 11 /* the documented header; params_version and key are optional */

typedef struct vec {
  qt_outcome *v;
  size_t n, cap;
} vec;

static qt_outcome *push(vec *o) {
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    qt_outcome *g = qt_realloc(o->v, cap * sizeof *g);
    if (!g) return NULL;
    o->v = g;
    o->cap = cap;
  }
  qt_outcome *x = &o->v[o->n++];
  memset(x, 0, sizeof *x);
  return x;
}

static int field_err(qt_err *err, const char *file, size_t line, int f, const char *what,
                     const char *val, size_t len) {
  if (len > 60) len = 60;
  return qt_err_set(err, QT_EPARSE, "%s:%zu: field '%s': %s (\"%.*s\")", file, line, k_fields[f],
                    what, (int)len, val);
}

static int set_text(char *dst, size_t cap, const char *file, size_t line, int f, const char *s,
                    size_t len, qt_err *err) {
  if (len >= cap) return field_err(err, file, line, f, "too long", s, len);
  memcpy(dst, s, len);
  dst[len] = '\0';
  return QT_OK;
}

/* One field's text into o; is_num: a JSON number (times as epochs). */
static int set_field(qt_outcome *o, int f, const char *s, size_t len, const char *file,
                     size_t line, qt_err *err) {
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  if (!len) {
    if (k_required[f]) return field_err(err, file, line, f, "missing", s, 0);
    if (f == F_ENTRY_P) o->entry_price = NAN;
    if (f == F_EXIT_P) o->exit_price = NAN;
    return QT_OK;
  }
  double d;
  int64_t t;
  switch (f) {
  case F_STRATEGY: return set_text(o->strategy, sizeof o->strategy, file, line, f, s, len, err);
  case F_SYMBOL: return set_text(o->symbol, sizeof o->symbol, file, line, f, s, len, err);
  case F_VERSION:
    return set_text(o->params_version, sizeof o->params_version, file, line, f, s, len, err);
  case F_KEY: return set_text(o->key, sizeof o->key, file, line, f, s, len, err);
  case F_SIDE:
    if (len == 4 && !strncasecmp(s, "long", 4)) o->side = 1;
    else if (len == 5 && !strncasecmp(s, "short", 5)) o->side = -1;
    else return field_err(err, file, line, f, "expected long or short", s, len);
    return QT_OK;
  case F_STATUS:
    if (len == 6 && !strncasecmp(s, "closed", 6)) o->status = QT_OUTCOME_CLOSED;
    else if (len == 7 && !strncasecmp(s, "expired", 7)) o->status = QT_OUTCOME_EXPIRED;
    else return field_err(err, file, line, f, "expected closed or expired", s, len);
    return QT_OK;
  case F_SIGNAL:
  case F_ENTRY_T:
  case F_EXIT_T:
    if (qt_time_parse(s, len, &t, NULL))
      return field_err(err, file, line, f, "not a time (ISO-8601, a date or an epoch)", s, len);
    if (f == F_SIGNAL) o->signal_ms = t;
    else if (f == F_ENTRY_T) o->entry_ms = t;
    else o->exit_ms = t;
    return QT_OK;
  default:
    if (qt_parse_double(s, len, &d) || !isfinite(d))
      return field_err(err, file, line, f, "not a number", s, len);
    if (f == F_ENTRY_P) o->entry_price = d;
    else if (f == F_EXIT_P) o->exit_price = d;
    else if (f == F_PNL) o->pnl = d;
    else o->pnl_pct = d;
    return QT_OK;
  }
}

static void finish(qt_outcome *o) {
  snprintf(o->source, sizeof o->source, "import");
  o->closed_ms = o->exit_ms ? o->exit_ms : o->signal_ms;
}

/* ---- CSV ---- */
/* Splits one record (quotes with "" escapes) starting at *pos; fields
 * point into buf (unquoted in place).  Returns the count, -1 on an
 * unterminated quote. */
static int split(char *buf, size_t n, size_t *pos, size_t *line, char **fv, size_t *fl, int cap) {
  size_t i = *pos;
  int nf = 0;
  for (;;) {
    char *start = buf + i, *w = start;
    if (i < n && buf[i] == '"') {
      i++;
      for (;;) {
        if (i >= n) return -1;
        if (buf[i] == '"') {
          if (i + 1 < n && buf[i + 1] == '"') {
            *w++ = '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (buf[i] == '\n') (*line)++;
        *w++ = buf[i++];
      }
      while (i < n && buf[i] != ',' && buf[i] != '\n') *w++ = buf[i++];
    } else {
      while (i < n && buf[i] != ',' && buf[i] != '\n') *w++ = buf[i++];
    }
    size_t len = (size_t)(w - start);
    if (len && start[len - 1] == '\r') len--;
    if (nf < cap) fv[nf] = start, fl[nf] = len;
    nf++;
    if (i >= n || buf[i] == '\n') {
      if (i < n) i++;
      break;
    }
    i++; /* ',' */
  }
  *pos = i;
  return nf;
}

static int read_csv(char *buf, size_t n, const char *file, vec *out, qt_err *err) {
  size_t pos = 0, line = 1;
  char *fv[32];
  size_t fl[32];
  int col_of[32];
  int nf = split(buf, n, &pos, &line, fv, fl, 32);
  if (nf < 0) return qt_err_set(err, QT_EPARSE, "%s:1: unterminated quote in the header", file);
  int seen[F_N] = {0};
  for (int k = 0; k < nf && k < 32; k++) {
    col_of[k] = -1;
    for (int f = 0; f < F_N; f++)
      if (fl[k] == strlen(k_fields[f]) && !strncmp(fv[k], k_fields[f], fl[k])) col_of[k] = f;
    if (col_of[k] < 0)
      return qt_err_set(err, QT_EPARSE, "%s:1: unknown column '%.*s' (the header is %s,...)",
                        file, (int)(fl[k] > 40 ? 40 : fl[k]), fv[k], k_fields[0]);
    if (seen[col_of[k]]++)
      return qt_err_set(err, QT_EPARSE, "%s:1: column '%s' twice", file, k_fields[col_of[k]]);
  }
  for (int f = 0; f < N_HEADER; f++)
    if (!seen[f]) return qt_err_set(err, QT_EPARSE, "%s:1: no column '%s'", file, k_fields[f]);
  while (pos < n) {
    size_t at = ++line;
    int m = split(buf, n, &pos, &line, fv, fl, 32);
    if (m < 0) return qt_err_set(err, QT_EPARSE, "%s:%zu: unterminated quote", file, at);
    if (m == 1 && fl[0] == 0) continue; /* blank line */
    if (m != nf)
      return qt_err_set(err, QT_EPARSE, "%s:%zu: %d fields, the header has %d", file, at, m, nf);
    if (out->n == OUT_MAX_ROWS)
      return qt_err_set(err, QT_EINVAL, "%s:%zu: more than %u outcomes", file, at, OUT_MAX_ROWS);
    qt_outcome *o = push(out);
    if (!o) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", file);
    o->entry_price = o->exit_price = NAN;
    for (int k = 0; k < m; k++) {
      int r = set_field(o, col_of[k], fv[k], fl[k], file, at, err);
      if (r) return r;
    }
    finish(o);
  }
  return QT_OK;
}

/* ---- JSON ---- */
/* The line where each top-level array element starts (so messages name lines). */
static size_t *object_lines(const char *s, size_t n, size_t *out_n) {
  size_t cap = 256, k = 0, line = 1;
  size_t *v = qt_malloc(cap * sizeof *v);
  int depth = 0, in_str = 0, want = 0; /* want: the next value starts an element */
  for (size_t i = 0; v && i < n; i++) {
    char ch = s[i];
    if (ch == '\n') line++;
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = 0;
      continue;
    }
    if (depth == 1 && want && !isspace((unsigned char)ch) && ch != ',' && ch != ']') {
      if (k == cap) {
        size_t *g = qt_realloc(v, cap * 2 * sizeof *v);
        if (!g) {
          qt_free(v);
          return NULL;
        }
        v = g;
        cap *= 2;
      }
      v[k++] = line;
      want = 0;
    }
    if (ch == '"') in_str = 1;
    else if (ch == '[' || ch == '{') {
      if (++depth == 1) want = 1;
    } else if (ch == ']' || ch == '}')
      depth--;
    else if (ch == ',' && depth == 1)
      want = 1;
  }
  *out_n = k;
  return v;
}

static int read_json(const char *buf, size_t n, const char *file, vec *out, qt_err *err) {
  json_error_t je;
  json_t *root = json_loadb(buf, n, 0, &je);
  if (!root) return qt_err_set(err, QT_EPARSE, "%s:%d: JSON: %s", file, je.line, je.text);
  int r = QT_OK;
  size_t n_lines = 0, *lines = NULL;
  if (!json_is_array(root)) {
    r = qt_err_set(err, QT_EPARSE, "%s:1: expected a JSON array of outcome objects", file);
    goto done;
  }
  if (json_array_size(root) > OUT_MAX_ROWS) {
    r = qt_err_set(err, QT_EINVAL, "%s: more than %u outcomes", file, OUT_MAX_ROWS);
    goto done;
  }
  lines = object_lines(buf, n, &n_lines);
  if (!lines) {
    r = qt_err_set(err, QT_ENOMEM, "%s: out of memory", file);
    goto done;
  }
  for (size_t k = 0; k < json_array_size(root); k++) {
    json_t *it = json_array_get(root, k);
    size_t line = k < n_lines ? lines[k] : 0;
    if (!json_is_object(it)) {
      r = qt_err_set(err, QT_EPARSE, "%s:%zu: outcome %zu is not an object", file, line, k + 1);
      goto done;
    }
    qt_outcome *o = push(out);
    if (!o) {
      r = qt_err_set(err, QT_ENOMEM, "%s: out of memory", file);
      goto done;
    }
    o->entry_price = o->exit_price = NAN;
    const char *key;
    json_t *v;
    json_object_foreach(it, key, v) {
      int f = 0;
      while (f < F_N && strcmp(key, k_fields[f])) f++;
      if (f == F_N) {
        r = qt_err_set(err, QT_EPARSE, "%s:%zu: unknown field '%s'", file, line, key);
        goto done;
      }
    }
    for (int f = 0; f < F_N; f++) {
      json_t *x = json_object_get(it, k_fields[f]);
      char num[64];
      const char *s = "";
      size_t len = 0;
      if (json_is_string(x)) {
        s = json_string_value(x);
        len = json_string_length(x);
      } else if (json_is_integer(x)) {
        len = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(x));
        s = num;
      } else if (json_is_real(x)) {
        len = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(x));
        s = num;
      } else if (x && !json_is_null(x)) {
        r = field_err(err, file, line, f, "expected a text or a number", "", 0);
        goto done;
      }
      if ((r = set_field(o, f, s, len, file, line, err))) goto done;
    }
    finish(o);
  }
done:
  qt_free(lines);
  json_decref(root);
  return r;
}

int qt_tune_outcomes_read(const char *path, qt_outcome **out, size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return qt_err_set(err, QT_EIO, "%s: cannot open", path);
  char *buf = qt_malloc(OUT_MAX_BYTES + 1);
  size_t n = 0;
  int r = QT_OK;
  if (!buf) r = qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  else {
    n = fread(buf, 1, OUT_MAX_BYTES + 1, f);
    if (ferror(f)) r = qt_err_set(err, QT_EIO, "%s: cannot read", path);
    else if (n > OUT_MAX_BYTES) r = qt_err_set(err, QT_EINVAL, "%s: larger than 64 MiB", path);
  }
  fclose(f);
  vec v = {0};
  if (!r) {
    size_t i = 0;
    while (i < n && isspace((unsigned char)buf[i])) i++;
    if (i == n) r = qt_err_set(err, QT_EPARSE, "%s: empty", path);
    else if (buf[i] == '[') r = read_json(buf, n, path, &v, err);
    else r = read_csv(buf, n, path, &v, err);
  }
  qt_free(buf);
  if (r) {
    qt_free(v.v);
    return r;
  }
  *out = v.v;
  *out_n = v.n;
  return QT_OK;
}

char *qt_tune_params_version(const double *p, size_t n, char *buf, size_t cap) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a over the values' text */
  for (size_t k = 0; k < n; k++) {
    char t[40];
    int len = snprintf(t, sizeof t, "%.17g;", p[k]);
    for (int j = 0; j < len; j++) h = (h ^ (unsigned char)t[j]) * 1099511628211ULL;
  }
  snprintf(buf, cap, "p%016llx", (unsigned long long)h);
  return buf;
}

int qt_tune_outcomes_from_result(const qt_result *r, const qt_feed *feeds, int n_feeds,
                                 const char *strategy, const char *params_version,
                                 qt_outcome **out, size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  if (!r->n_trades) return QT_OK;
  qt_outcome *v = qt_calloc(r->n_trades, sizeof *v);
  if (!v) return qt_err_set(err, QT_ENOMEM, "out of memory recording outcomes");
  for (size_t k = 0; k < r->n_trades; k++) {
    const qt_trade_rec *t = &r->trades[k];
    qt_outcome *o = &v[k];
    const qt_instrument *in = t->inst >= 0 && t->inst < n_feeds ? &feeds[t->inst].inst : &feeds[0].inst;
    snprintf(o->strategy, sizeof o->strategy, "%s", strategy);
    snprintf(o->symbol, sizeof o->symbol, "%s", in->symbol);
    snprintf(o->params_version, sizeof o->params_version, "%s", params_version ? params_version : "");
    snprintf(o->source, sizeof o->source, "backtest");
    o->signal_ms = t->entry_ms;
    o->side = t->side < 0 ? -1 : 1;
    o->entry_ms = t->entry_ms;
    o->entry_price = t->entry_price;
    o->exit_ms = t->exit_ms;
    o->exit_price = t->exit_price;
    o->pnl = t->pnl;
    double mult = in->multiplier > 0 ? in->multiplier : 1, notional = t->qty * t->entry_price * mult;
    o->pnl_pct = notional > 0 ? 100.0 * t->pnl / notional : 0;
    o->status = t->exit_reason == QT_EXIT_EXPIRY ? QT_OUTCOME_EXPIRED : QT_OUTCOME_CLOSED;
    o->closed_ms = t->exit_ms;
    /* one trade per entry time and side of an instrument: k keeps partial
     * closes of one entry apart */
    snprintf(o->key, sizeof o->key, "bt|%s|%s|%s|%lld|%s|%zu", strategy, o->symbol, o->params_version,
             (long long)t->entry_ms, o->side < 0 ? "short" : "long", k);
  }
  *out = v;
  *out_n = r->n_trades;
  return QT_OK;
}
