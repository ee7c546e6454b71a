/* Time parsing and formatting.  Everything inside qtune is int64 ms UTC. */
#include "qtune/core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Howard Hinnant's civil-from-days algorithms (public domain formulas). */
int64_t qt_time_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void qt_time_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int show(char *buf, size_t cap, const char *s, size_t len) {
  size_t n = len < cap - 1 ? len : cap - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return 0;
}

int qt_time_parse_epoch(const char *s, size_t len, int64_t *out_ms, qt_err *err) {
  char shown[48];
  *out_ms = 0;
  size_t i = 0;
  int neg = 0;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (i == len) goto bad;
  uint64_t v = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') goto bad;
    if (v > (UINT64_MAX - 9) / 10) goto bad;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  /* Magnitude decides the unit: seconds until year ~5138, then ms, us, ns. */
  int64_t ms;
  if (v < 100000000000ULL) ms = (int64_t)v * 1000;
  else if (v < 100000000000000ULL) ms = (int64_t)v;
  else if (v < 100000000000000000ULL) ms = (int64_t)(v / 1000);
  else ms = (int64_t)(v / 1000000);
  *out_ms = neg ? -ms : ms;
  return QT_OK;
bad:
  show(shown, sizeof shown, s, len);
  return qt_err_set(err, QT_EPARSE, "not a timestamp (\"%s\")", shown);
}

static int digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9') return -1;
    v = v * 10 + (s[(*i)++] - '0');
  }
  *out = v;
  return 0;
}

int qt_time_parse(const char *s, size_t len, int64_t *out_ms, qt_err *err) {
  char shown[48];
  *out_ms = 0;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n')) len--;
  while (len && *s == ' ') s++, len--;
  if (len == 0) return qt_err_set(err, QT_EPARSE, "empty timestamp");
  /* A date has '-' at position 4; anything else numeric is an epoch. */
  if (!(len >= 10 && s[4] == '-')) return qt_time_parse_epoch(s, len, out_ms, err);
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, se = 0;
  int64_t frac_ms = 0;
  if (digits(s, len, &i, 4, &y) || s[i++] != '-' || digits(s, len, &i, 2, &mo) || i >= len ||
      s[i++] != '-' || digits(s, len, &i, 2, &d))
    goto bad;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) goto bad;
  if (i < len && (s[i] == 'T' || s[i] == ' ')) {
    i++;
    if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || digits(s, len, &i, 2, &mi)) goto bad;
    if (i < len && s[i] == ':') {
      i++;
      if (digits(s, len, &i, 2, &se)) goto bad;
      if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        int nd = 0;
        int64_t scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
          if (nd < 3) frac_ms += (s[i] - '0') * scale, scale /= 10;
          nd++, i++;
        }
        if (nd == 0) goto bad;
      }
    }
    if (h > 23 || mi > 59 || se > 60) goto bad;
  }
  int64_t off_min = 0;
  if (i < len) {
    if (s[i] == 'Z' || s[i] == 'z') {
      i++;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
      if (digits(s, len, &i, 2, &oh)) goto bad;
      if (i < len && s[i] == ':') i++;
      if (i < len && digits(s, len, &i, 2, &om)) goto bad;
      off_min = sign * (oh * 60 + om);
    } else if (s[i] == ' ' && len - i == 4 && memcmp(s + i, " UTC", 4) == 0) {
      i = len;
    }
  }
  if (i != len) goto bad;
  *out_ms = (qt_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_min * 60) *
                1000 + frac_ms;
  return QT_OK;
bad:
  show(shown, sizeof shown, s, len);
  return qt_err_set(err, QT_EPARSE, "not a timestamp (\"%s\")", shown);
}

char *qt_time_format(int64_t ts_ms, char *buf, size_t cap) {
  int64_t days = ts_ms >= 0 ? ts_ms / 86400000 : -((-ts_ms + 86399999) / 86400000);
  int64_t rem = ts_ms - days * 86400000;
  int64_t y;
  int m, d;
  qt_time_civil_from_days(days, &y, &m, &d);
  int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), se = (int)(rem / 1000 % 60);
  int ms = (int)(rem % 1000);
  if (ms)
    snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, h, mi, se, ms);
  else
    snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, h, mi, se);
  return buf;
}

int qt_duration_parse(const char *s, int64_t *out_ms, qt_err *err) {
  *out_ms = 0;
  char *end;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || end == s || v <= 0 || errno) goto bad;
  int64_t unit;
  if (strcmp(end, "ms") == 0) unit = 1;
  else if (strcmp(end, "s") == 0) unit = 1000;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) unit = 60000;
  else if (strcmp(end, "h") == 0) unit = 3600000;
  else if (strcmp(end, "d") == 0) unit = 86400000;
  else if (strcmp(end, "w") == 0) unit = 7 * 86400000LL;
  else goto bad;
  *out_ms = v * unit;
  return QT_OK;
bad:
  return qt_err_set(err, QT_EINVAL, "not a duration (\"%s\"): use e.g. 1m, 15m, 1h, 4h, 1d",
                    s ? s : "");
}

char *qt_duration_format(int64_t ms, char *buf, size_t cap) {
  static const struct { int64_t unit; const char *sfx; } u[] = {
      {7 * 86400000LL, "w"}, {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
    if (ms > 0 && ms % u[k].unit == 0) {
      snprintf(buf, cap, "%lld%s", (long long)(ms / u[k].unit), u[k].sfx);
      return buf;
    }
  snprintf(buf, cap, "%lldms", (long long)ms);
  return buf;
}

int qt_parse_double(const char *s, size_t len, double *out) {
  char tmp[64];
  *out = 0;
  if (len == 0 || len >= sizeof tmp) return QT_EPARSE;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end == tmp || *end != '\0' || errno == ERANGE) return QT_EPARSE;
  *out = v;
  return QT_OK;
}

int qt_parse_i64(const char *s, size_t len, int64_t *out) {
  char tmp[32];
  *out = 0;
  if (len == 0 || len >= sizeof tmp) return QT_EPARSE;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  long long v = strtoll(tmp, &end, 10);
  if (end == tmp || *end != '\0' || errno == ERANGE) return QT_EPARSE;
  *out = v;
  return QT_OK;
}
