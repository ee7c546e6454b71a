/* The exchange's websocket messages (Binance's field names) as market
 * events, the replay speeds, and closing a feed.  Binance sends prices and
 * quantities as JSON strings ("0.0010"), times as integers in ms. */
#include "qtune/live.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void qt_livefeed_close(qt_livefeed *f) {
  if (!f || !f->vt) return;
  f->vt->close(f->self);
  f->vt = NULL;
  f->self = NULL;
}

int qt_live_speed_parse(const char *text, double *out_speed, qt_err *err) {
  *out_speed = 0;
  if (!text) return qt_err_set(err, QT_EINVAL, "--speed: missing (1x, 60x or max)");
  if (!strcmp(text, "max")) return QT_OK;
  size_t n = strlen(text);
  double v = 0;
  if (n < 2 || text[n - 1] != 'x' || qt_parse_double(text, n - 1, &v) || !(v > 0) || !isfinite(v))
    return qt_err_set(err, QT_EINVAL, "--speed: \"%s\" is not 1x, 60x, <N>x or max", text);
  *out_speed = v;
  return QT_OK;
}

/* ---- fields ---- */

typedef struct pctx {
  const char *ev; /* the event's name for messages */
  const char *pre; /* "k." inside a kline */
  qt_err *err;
} pctx;

static int missing(const pctx *c, const char *key) {
  return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\" missing", c->ev, c->pre, key);
}

/* A number sent as a JSON string or number. */
static int get_num(const pctx *c, json_t *o, const char *key, double *out) {
  json_t *v = json_object_get(o, key);
  if (!v) return missing(c, key);
  if (json_is_number(v)) {
    *out = json_number_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (qt_parse_double(s, n, out))
      return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not a number (\"%.40s\")", c->ev,
                        c->pre, key, s);
  } else {
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not a number", c->ev, c->pre, key);
  }
  if (!isfinite(*out))
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not finite", c->ev, c->pre, key);
  return QT_OK;
}

static int get_px(const pctx *c, json_t *o, const char *key, double *out) {
  int r = get_num(c, o, key, out);
  if (!r && !(*out >= 0))
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": negative (%g)", c->ev, c->pre, key,
                      *out);
  return r;
}

static int get_int(const pctx *c, json_t *o, const char *key, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!v) return missing(c, key);
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return QT_OK;
  }
  if (json_is_string(v) && !qt_parse_i64(json_string_value(v), json_string_length(v), out))
    return QT_OK;
  return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not an integer", c->ev, c->pre, key);
}

static int get_time(const pctx *c, json_t *o, const char *key, int64_t *out) {
  int r = get_int(c, o, key, out);
  if (!r && (*out < 0 || *out > INT64_C(32503680000000))) /* year 3000 */
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": time out of range (%lld)", c->ev,
                      c->pre, key, (long long)*out);
  return r;
}

static int get_symbol(const pctx *c, json_t *o, const char *key, char *buf, size_t cap) {
  json_t *v = json_object_get(o, key);
  if (!v) return missing(c, key);
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not a symbol", c->ev, c->pre, key);
  const char *s = json_string_value(v);
  for (size_t k = 0; s[k]; k++) {
    char ch = s[k];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-' || ch == '.'))
      return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not a symbol", c->ev, c->pre, key);
    buf[k] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
    buf[k + 1] = '\0';
  }
  return QT_OK;
}

static int get_bool(const pctx *c, json_t *o, const char *key, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v) return missing(c, key);
  if (!json_is_boolean(v))
    return qt_err_set(c->err, QT_EPARSE, "%s: field \"%s%s\": not true/false", c->ev, c->pre, key);
  *out = json_is_true(v);
  return QT_OK;
}

/* ---- events ---- */

static int parse_kline(json_t *d, qt_live_event *e, qt_err *err) {
  pctx c = {"kline", "", err};
  json_t *k = json_object_get(d, "k");
  if (!k || !json_is_object(k)) return missing(&c, "k");
  e->kind = QT_LIVE_BAR;
  int r = get_symbol(&c, d, "s", e->symbol, sizeof e->symbol);
  c.pre = "k.";
  if (!r) r = get_time(&c, k, "t", &e->ts_ms);
  if (!r) r = get_time(&c, k, "T", &e->close_ms);
  if (!r) r = get_px(&c, k, "o", &e->open);
  if (!r) r = get_px(&c, k, "h", &e->high);
  if (!r) r = get_px(&c, k, "l", &e->low);
  if (!r) r = get_px(&c, k, "c", &e->close);
  if (!r) r = get_px(&c, k, "v", &e->volume);
  if (!r) r = get_bool(&c, k, "x", &e->closed);
  if (r) return r;
  /* optional columns of the kline (the catalog keeps them when present) */
  double v;
  if (json_object_get(k, "q") && !get_px(&c, k, "q", &v)) e->quote_volume = v;
  if (json_object_get(k, "n") && !get_px(&c, k, "n", &v)) e->trade_count = v;
  if (json_object_get(k, "V") && !get_px(&c, k, "V", &v)) e->taker_buy_base = v;
  if (json_object_get(k, "Q") && !get_px(&c, k, "Q", &v)) e->taker_buy_quote = v;
  qt_err_clear(err);
  if (!(e->open > 0 && e->high > 0 && e->low > 0 && e->close > 0))
    return qt_err_set(err, QT_EPARSE, "kline: a price is not > 0");
  if (e->high < fmax(e->open, e->close) || e->low > fmin(e->open, e->close))
    return qt_err_set(err, QT_EPARSE, "kline: high/low do not bracket open and close");
  if (e->close_ms < e->ts_ms)
    return qt_err_set(err, QT_EPARSE, "kline: close time k.T before open time k.t");
  return QT_OK;
}

static int parse_agg(json_t *d, qt_live_event *e, qt_err *err) {
  pctx c = {"aggTrade", "", err};
  e->kind = QT_LIVE_TRADE;
  int r = get_symbol(&c, d, "s", e->symbol, sizeof e->symbol);
  if (!r) r = get_int(&c, d, "a", &e->id);
  if (!r) r = get_px(&c, d, "p", &e->price);
  if (!r) r = get_px(&c, d, "q", &e->qty);
  if (!r) r = get_time(&c, d, "T", &e->ts_ms);
  if (!r) r = get_bool(&c, d, "m", &e->buyer_is_maker);
  return r;
}

static int parse_book(json_t *d, qt_live_event *e, qt_err *err) {
  pctx c = {"bookTicker", "", err};
  e->kind = QT_LIVE_QUOTE;
  int r = get_symbol(&c, d, "s", e->symbol, sizeof e->symbol);
  if (!r) r = get_int(&c, d, "u", &e->id);
  if (!r) r = get_px(&c, d, "b", &e->bid);
  if (!r) r = get_px(&c, d, "B", &e->bid_qty);
  if (!r) r = get_px(&c, d, "a", &e->ask);
  if (!r) r = get_px(&c, d, "A", &e->ask_qty);
  if (r) return r;
  /* futures' carry a transaction time T and an event time E; spot's neither */
  if (json_object_get(d, "T")) r = get_time(&c, d, "T", &e->ts_ms);
  else if (json_object_get(d, "E")) r = get_time(&c, d, "E", &e->ts_ms);
  return r;
}

static int parse_mark(json_t *d, qt_live_event *e, qt_err *err) {
  pctx c = {"markPriceUpdate", "", err};
  e->kind = QT_LIVE_MARK;
  int r = get_symbol(&c, d, "s", e->symbol, sizeof e->symbol);
  if (!r) r = get_time(&c, d, "E", &e->ts_ms);
  if (!r) r = get_px(&c, d, "p", &e->mark);
  if (r) return r;
  /* delivery contracts send "r": "" and "T": 0: no funding */
  json_t *rv = json_object_get(d, "r");
  if (!rv) return missing(&c, "r");
  if (json_is_string(rv) && json_string_length(rv) == 0) {
    e->funding_rate = NAN;
    e->next_funding_ms = 0;
    return QT_OK;
  }
  r = get_num(&c, d, "r", &e->funding_rate);
  if (!r) r = get_time(&c, d, "T", &e->next_funding_ms);
  if (!r && fabs(e->funding_rate) > 1)
    r = qt_err_set(err, QT_EPARSE, "markPriceUpdate: field \"r\": funding rate %g out of range",
                   e->funding_rate);
  return r;
}

int qt_live_parse_binance(const char *msg, size_t len, qt_live_event *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  json_error_t je;
  json_t *root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return qt_err_set(err, QT_EPARSE, "not JSON (column %d: %s)", je.column, je.text);
  int r = QT_OK;
  json_t *d = root;
  if (!json_is_object(d)) {
    r = qt_err_set(err, QT_EPARSE, "not a JSON object");
    goto done;
  }
  json_t *data = json_object_get(d, "data");
  if (data && json_object_get(d, "stream")) d = data; /* a combined stream */
  if (!json_is_object(d)) {
    r = qt_err_set(err, QT_EPARSE, "combined stream: \"data\" is not an object");
    goto done;
  }
  if (json_object_get(d, "result") && json_object_get(d, "id")) {
    r = QT_DONE; /* a reply to SUBSCRIBE */
    goto done;
  }
  json_t *ev = json_object_get(d, "e");
  const char *name = json_is_string(ev) ? json_string_value(ev) : NULL;
  if (ev && !name) {
    r = qt_err_set(err, QT_EPARSE, "field \"e\": not a string");
  } else if (!name) {
    /* spot's bookTicker has no event type: known by its fields */
    if (json_object_get(d, "u") && json_object_get(d, "b") && json_object_get(d, "a"))
      r = parse_book(d, out, err);
    else
      r = qt_err_set(err, QT_EPARSE, "no event type \"e\"");
  } else if (!strcmp(name, "kline")) {
    r = parse_kline(d, out, err);
  } else if (!strcmp(name, "aggTrade")) {
    r = parse_agg(d, out, err);
  } else if (!strcmp(name, "bookTicker")) {
    r = parse_book(d, out, err);
  } else if (!strcmp(name, "markPriceUpdate")) {
    r = parse_mark(d, out, err);
  } else {
    r = qt_err_set(err, QT_EPARSE, "unknown event \"%.40s\"", name);
  }
done:
  json_decref(root);
  if (r < 0) memset(out, 0, sizeof *out);
  return r;
}
