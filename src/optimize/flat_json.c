/* The flat-object fast path (flat_json.h).  It accepts a strict subset of
 * what jansson's json_loads(js, 0) accepts and gives the same values there:
 * JSON whitespace, plain printable-ASCII strings, the JSON number grammar
 * (an integer token of at most 18 digits through strtoll as jansson reads
 * integers, a real through strtod as jansson does, never one that could
 * overflow: jansson refuses those), nothing after the closing brace.  The
 * first pass only checks the shape, so a text it gives up on has called fn
 * for nothing. */
#include "optimize/flat_json.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  return s;
}

/* A plain string after its opening quote: *out_end at the closing quote;
 * 0 when it has an escape, a control or a non-ASCII byte, or no end. */
static int plain_string(const char *s, const char **out_end) {
  for (; *s != '"'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c >= 0x7f || c == '\\') return 0;
  }
  *out_end = s;
  return 1;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number at s: *out_end past it, *out_int whether it is an integer
 * token.  0 when it is not one, or is one this path leaves to jansson (an
 * integer past 18 digits, a real that might overflow a double). */
static int number(const char *s, const char **out_end, int *out_int) {
  const char *p = s;
  if (*p == '-') p++;
  if (!digit(*p)) return 0;
  size_t n_int = 0;
  if (*p == '0') {
    p++;
    n_int = 1;
    if (digit(*p)) return 0; /* a leading zero */
  } else {
    while (digit(*p)) p++, n_int++;
  }
  int is_int = 1;
  long ex = 0;
  if (*p == '.') {
    is_int = 0;
    p++;
    if (!digit(*p)) return 0;
    while (digit(*p)) p++;
  }
  if (*p == 'e' || *p == 'E') {
    is_int = 0;
    p++;
    int neg = *p == '-';
    if (*p == '+' || *p == '-') p++;
    if (!digit(*p)) return 0;
    for (; digit(*p); p++)
      if (ex < 100000) ex = ex * 10 + (*p - '0');
    if (neg) ex = -ex;
  }
  if (is_int && n_int > 18) return 0;
  /* past 1e300 jansson may refuse it (overflow); under is fine (denormal or 0) */
  if (!is_int && (long)n_int + (ex > 0 ? ex : 0) >= 300) return 0;
  *out_end = p;
  *out_int = is_int;
  return 1;
}

/* One walk over the object: call 0 checks the shape (QT_DONE when it is
 * not flat), call 1 hands each member to fn. */
static int walk(const char *js, qt__flat_fn fn, void *ctx, int call) {
  const char *s = ws(js);
  if (*s++ != '{') return QT_DONE;
  s = ws(s);
  if (*s == '}') return *ws(s + 1) ? QT_DONE : QT_OK;
  for (;;) {
    qt__flat_pair p;
    memset(&p, 0, sizeof p);
    const char *end;
    if (*s++ != '"' || !plain_string(s, &end)) return QT_DONE;
    p.key = s;
    p.key_len = (size_t)(end - s);
    s = ws(end + 1);
    if (*s++ != ':') return QT_DONE;
    s = ws(s);
    int is_int = 0;
    if (*s == '"') {
      if (!plain_string(s + 1, &end)) return QT_DONE;
      p.kind = QT__FLAT_STR;
      p.str = s + 1;
      p.str_len = (size_t)(end - s - 1);
      s = end + 1;
    } else if (*s == 'n' && !strncmp(s, "null", 4)) {
      p.kind = QT__FLAT_NULL;
      s += 4;
    } else if (*s == 't' && !strncmp(s, "true", 4)) {
      p.kind = QT__FLAT_TRUE;
      s += 4;
    } else if (*s == 'f' && !strncmp(s, "false", 5)) {
      p.kind = QT__FLAT_FALSE;
      s += 5;
    } else if (number(s, &end, &is_int)) {
      p.kind = QT__FLAT_NUM;
      p.num_text = s;
      p.num_is_int = is_int;
      s = end;
    } else {
      return QT_DONE;
    }
    if (call) {
      int r = fn(ctx, &p);
      if (r) return r;
    }
    s = ws(s);
    if (*s == '}') return call || !*ws(s + 1) ? QT_OK : QT_DONE;
    if (*s++ != ',') return QT_DONE;
    s = ws(s);
  }
}

double qt__flat_num(const qt__flat_pair *p) {
  if (!p->num_text) return p->num;
  /* the token is followed by a byte no number has, so the parse stops at its end */
  return p->num_is_int ? (double)strtoll(p->num_text, NULL, 10) : strtod(p->num_text, NULL);
}

int qt__flat_json_each(const char *js, qt__flat_fn fn, void *ctx) {
  /* strtod reads the locale's decimal point; jansson reads '.' in any */
  const char *dp = localeconv()->decimal_point;
  if (!js || !dp || strcmp(dp, ".") != 0) return QT_DONE;
  int r = walk(js, fn, ctx, 0);
  return r ? r : walk(js, fn, ctx, 1);
}
