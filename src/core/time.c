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

static int all_digits(const char *s, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (s[k] < '0' || s[k] > '9') return 0;
  return 1;
}

/* Whether y-mo-d is a day of the Gregorian calendar (leap years included). */
static int valid_ymd(int y, int mo, int d) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return 0;
  return !(mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* The compact form YYYYMMDD[(T| )HHMM[SS]][Z]: freqtrade's --timerange dates.
 * s[0..8) are digits (the caller checked). */
static int parse_compact(const char *s, size_t len, int64_t *out_ms) {
  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  digits(s, len, &i, 4, &y), digits(s, len, &i, 2, &mo), digits(s, len, &i, 2, &d);
  if (!valid_ymd(y, mo, d)) return -1;
  if (i < len && (s[i] == 'T' || s[i] == ' ')) {
    i++;
    if (digits(s, len, &i, 2, &h) || digits(s, len, &i, 2, &mi)) return -1;
    if (i < len && s[i] >= '0' && s[i] <= '9' && digits(s, len, &i, 2, &se)) return -1;
    if (h > 23 || mi > 59 || se > 59) return -1;
  }
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) i++;
  if (i != len) return -1;
  *out_ms = (qt_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000;
  return 0;
}

int qt_time_parse(const char *s, size_t len, int64_t *out_ms, qt_err *err) {
  char shown[48];
  *out_ms = 0;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n')) len--;
  while (len && *s == ' ') s++, len--;
  if (len == 0) return qt_err_set(err, QT_EPARSE, "empty timestamp");
  /* Exactly 8 leading digits (then the end, 'T', ' ' or 'Z') are YYYYMMDD:
   * as epoch seconds they would be 1970-04 to 1973-03, before any market
   * data, and a 9-digit epoch has no such reading.  So "20260701" is a date
   * and "1782864000" an epoch. */
  if (len >= 8 && all_digits(s, 8) &&
      (len == 8 || s[8] == 'T' || s[8] == ' ' || s[8] == 'Z' || s[8] == 'z')) {
    if (parse_compact(s, len, out_ms) == 0) return QT_OK;
    show(shown, sizeof shown, s, len);
    return qt_err_set(err, QT_EPARSE,
                      "not a timestamp (\"%s\"): 8 digits are a date YYYYMMDD, optionally "
                      "followed by THHMM[SS]",
                      shown);
  }
  /* A date has '-' at position 4; anything else numeric is an epoch. */
  if (!(len >= 10 && s[4] == '-')) return qt_time_parse_epoch(s, len, out_ms, err);
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, se = 0;
  int64_t frac_ms = 0;
  if (digits(s, len, &i, 4, &y) || s[i++] != '-' || digits(s, len, &i, 2, &mo) || i >= len ||
      s[i++] != '-' || digits(s, len, &i, 2, &d))
    goto bad;
  /* The day must exist in that month: 1996-02-30 is refused, not rolled
   * over into March by the day count. */
  if (!valid_ymd(y, mo, d)) goto bad;
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

int qt_time_parse_range(const char *s, size_t len, int64_t *out_from_ms, int64_t *out_to_ms,
                        qt_err *err) {
  char shown[64];
  *out_from_ms = INT64_MIN;
  *out_to_ms = INT64_MAX;
  show(shown, sizeof shown, s, len);
  const char *dash = len ? memchr(s, '-', len) : NULL;
  /* One '-' only: the halves are compact dates or epochs, never ISO dates
   * (whose own '-' would make the split ambiguous). */
  if (!dash || memchr(dash + 1, '-', len - (size_t)(dash + 1 - s)) || len == 1) {
    return qt_err_set(err, QT_EPARSE,
                      "time range \"%s\": expected START-END, START- or -END with dates "
                      "YYYYMMDD[THHMM[SS]] or epochs (e.g. 20260601-20260701)",
                      shown);
  }
  size_t n_from = (size_t)(dash - s), n_to = len - n_from - 1;
  int64_t f = INT64_MIN, t = INT64_MAX;
  qt_err e = {0};
  if (n_from && qt_time_parse(s, n_from, &f, &e))
    return qt_err_set(err, QT_EPARSE, "time range \"%s\": start: %s", shown, e.msg);
  if (n_to && qt_time_parse(dash + 1, n_to, &t, &e))
    return qt_err_set(err, QT_EPARSE, "time range \"%s\": end: %s", shown, e.msg);
  if (f >= t)
    return qt_err_set(err, QT_EINVAL, "time range \"%s\": the start is not before the end", shown);
  *out_from_ms = f;
  *out_to_ms = t;
  return QT_OK;
}

/* 1 to `max` digits at *i (fewer when the field ends early: "3/7/2024"). */
static int digits_upto(const char *s, size_t len, size_t *i, int max, int *out) {
  int v = 0, k = 0;
  while (k < max && *i < len && s[*i] >= '0' && s[*i] <= '9') v = v * 10 + (s[(*i)++] - '0'), k++;
  *out = v;
  return k ? 0 : -1;
}

static int month_name(const char *s, size_t len, size_t *i, int *out) {
  static const char *const names[] = {"january", "february", "march",     "april",
                                      "may",     "june",     "july",      "august",
                                      "september", "october", "november", "december"};
  for (int m = 0; m < 12; m++) {
    size_t n = 0;
    while (*i + n < len && names[m][n] && (s[*i + n] | 0x20) == names[m][n]) n++;
    if (n == strlen(names[m]) || (n == 3 && !(*i + 3 < len && ((s[*i + 3] | 0x20) >= 'a' &&
                                                             (s[*i + 3] | 0x20) <= 'z')))) {
      *i += n;
      *out = m + 1;
      return 0;
    }
  }
  return -1;
}

int qt_time_parse_fmt(const char *s, size_t len, const char *fmt, int64_t *out_ms, qt_err *err) {
  char shown[48];
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, se = 0, ms = 0, pm = -1, tz_min = 0, v;
  int64_t epoch_ms = 0;
  int have_epoch = 0;
  size_t i = 0;
  *out_ms = 0;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\r')) len--;
  while (len && *s == ' ') s++, len--;
  for (const char *f = fmt; *f; f++) {
    if (*f == ' ') { /* a space matches any run of spaces, or none */
      while (i < len && s[i] == ' ') i++;
      continue;
    }
    if (*f != '%') {
      if (i >= len || s[i] != *f) goto bad;
      i++;
      continue;
    }
    switch (*++f) {
    case 'Y':
      if (digits(s, len, &i, 4, &y)) goto bad;
      break;
    case 'y': /* POSIX: 69-99 are 19xx, 00-68 20xx */
      if (digits(s, len, &i, 2, &v)) goto bad;
      y = v < 69 ? 2000 + v : 1900 + v;
      break;
    case 'm':
    case 'd':
    case 'H':
    case 'I':
    case 'M':
    case 'S': {
      int *dst = *f == 'm' ? &mo : *f == 'd' ? &d : *f == 'M' ? &mi : *f == 'S' ? &se : &h;
      if (digits_upto(s, len, &i, 2, dst)) goto bad;
      break;
    }
    case 'f': { /* fraction of a second, 1-9 digits, kept to the ms */
      int k = 0;
      ms = 0;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (k < 3) ms = ms * 10 + (s[i] - '0');
        i++, k++;
      }
      if (!k) goto bad;
      for (; k < 3; k++) ms *= 10;
      break;
    }
    case 'b':
    case 'B':
      if (month_name(s, len, &i, &mo)) goto bad;
      break;
    case 'p':
      if (i + 1 >= len || (s[i + 1] | 0x20) != 'm') goto bad;
      if ((s[i] | 0x20) == 'a') pm = 0;
      else if ((s[i] | 0x20) == 'p') pm = 1;
      else goto bad;
      i += 2;
      break;
    case 'z': { /* Z, +hh, +hhmm or +hh:mm */
      if (i < len && s[i] == 'Z') {
        i++;
        break;
      }
      if (i >= len || (s[i] != '+' && s[i] != '-')) goto bad;
      int sign = s[i++] == '-' ? -1 : 1, zh, zm = 0;
      if (digits(s, len, &i, 2, &zh)) goto bad;
      if (i < len && s[i] == ':') i++;
      if (i < len && s[i] >= '0' && s[i] <= '9' && digits(s, len, &i, 2, &zm)) goto bad;
      if (zh > 23 || zm > 59) goto bad;
      tz_min = sign * (zh * 60 + zm);
      break;
    }
    case 's': { /* epoch number, unit by magnitude as qt_time_parse_epoch */
      size_t j = i;
      if (j < len && s[j] == '-') j++;
      while (j < len && s[j] >= '0' && s[j] <= '9') j++;
      if (qt_time_parse_epoch(s + i, j - i, &epoch_ms, NULL)) goto bad;
      have_epoch = 1;
      i = j;
      break;
    }
    case '%':
      if (i >= len || s[i] != '%') goto bad;
      i++;
      break;
    default: goto bad; /* an unknown directive: named below */
    }
  }
  if (i != len) goto bad;
  if (have_epoch) {
    *out_ms = epoch_ms;
    return QT_OK;
  }
  if (pm >= 0) {
    if (h < 1 || h > 12) goto bad;
    h = h % 12 + 12 * pm;
  }
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59) goto bad;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) goto bad;
  *out_ms = (qt_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000 + ms -
            (int64_t)tz_min * 60000;
  return QT_OK;
bad:
  /* the format is only checked on failure, so a good row walks it once */
  for (const char *f = fmt; *f; f++)
    if (*f == '%' && !(f[1] && strchr("YymdHIMSfbBpzs%", f[1])))
      return qt_err_set(err, QT_EINVAL,
                        "date format \"%s\": unknown directive %%%c (use %%Y %%y %%m %%d %%H %%I "
                        "%%M %%S %%f %%b %%p %%z %%s)",
                        fmt, f[1] ? f[1] : ' ');
    else if (*f == '%') f++;
  show(shown, sizeof shown, s, len);
  return qt_err_set(err, QT_EPARSE, "not a date in the format \"%s\" (\"%s\")", fmt, shown);
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
  if (v > INT64_MAX / unit)
    return qt_err_set(err, QT_EINVAL, "duration \"%s\" is longer than qtune's time range", s);
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
