/* Private CSV helpers of the importers: reading an input (plain, gzip or
 * zip) in blocks, a quote-aware field splitter and exact number parsing
 * over a buffer.  The hot pieces are static inline so the row loop of each
 * importer compiles into one function. */
#ifndef QTUNE_DATA_CSV_H
#define QTUNE_DATA_CSV_H

#include "qtune/core.h"

#include <stdint.h>
#include <string.h>

/* One document as bytes in memory (a JSON document, a test's buffer).  name
 * is "FILE" or "FILE.zip:ENTRY.csv" and is what error messages show. */
typedef struct qt__input {
  char name[512];
  char *buf; /* len bytes, read-only for the parsers (no NUL after them) */
  size_t len;
} qt__input;

/* One input document read in blocks (the streaming import): a plain file by
 * read(), a gzip file by gzread, a zip entry by zip_fread, each with the
 * decompressed-size limit of qt_import_max_decompressed.  name as in
 * qt__input. */
typedef struct qt__stream {
  char name[512];
  const char *path;
  int fd;            /* plain: >= 0 */
  void *gz;          /* gzip: gzFile */
  void *zf;          /* zip entry: zip_file_t * */
  size_t limit;      /* gzip and zip: at most this many bytes come out */
  size_t total;      /* bytes read so far */
  size_t declared;   /* zip: the entry's declared size */
} qt__stream;

/* Reads up to cap bytes into buf; *got = 0 at the end of the document.
 * Fails naming the document: a read error, corrupt or truncated gzip or zip
 * data, more than the limit. */
int qt__stream_read(qt__stream *st, char *buf, size_t cap, size_t *got, qt_err *err);

typedef int (*qt__stream_fn)(void *ud, qt__stream *st, qt_err *err);

/* Reads path (plain, .gz by magic 1f 8b, .zip by magic PK: every .csv or
 * .json entry, or the only entry) and calls fn for each document, as a
 * stream to read in blocks, so memory is the reader's buffer whatever the
 * file's size.  Directories, empty files, a zip without a CSV, a zip entry
 * whose declared size is over the limit (checked before anything is read)
 * and truncated or corrupt containers are errors naming the file. */
int qt__input_each_stream(const char *path, qt__stream_fn fn, void *ud, qt_err *err);

/* A field of a split line: bytes [s, s+len) with quotes already removed
 * (a quoted field with "" escapes keeps them doubled: rare, and only used
 * for names). */
typedef struct qt__field {
  const char *s;
  size_t len;
} qt__field;

#define QT__MAX_FIELDS 64

/* Splits the line starting at p (ending at "\n", "\r\n", a lone "\r" or
 * the end) into at most QT__MAX_FIELDS fields; *n_fields is the real count
 * (may exceed the cap).  Returns the start of the next line. */
static inline const char *qt__csv_split(const char *p, const char *end, qt__field *f,
                                        size_t *n_fields) {
  size_t n = 0;
  for (;;) {
    const char *s = p;
    size_t len;
    if (p < end && *p == '"') {
      s = ++p;
      while (p < end && !(*p == '"' && (p + 1 >= end || p[1] != '"'))) p += (*p == '"') ? 2 : 1;
      len = (size_t)(p - s);
      if (p < end) p++; /* closing quote */
      while (p < end && *p != ',' && *p != '\n' && *p != '\r') p++;
    } else {
      while (p < end && *p != ',' && *p != '\n' && *p != '\r') p++;
      len = (size_t)(p - s);
    }
    if (n < QT__MAX_FIELDS) {
      f[n].s = s;
      f[n].len = len;
    }
    n++;
    if (p >= end) break;
    if (*p == '\n' || *p == '\r') {
      p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
      break;
    }
    p++; /* ',' */
  }
  *n_fields = n;
  return p;
}

/* Exact powers of ten representable as doubles. */
static const double qt__pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The slow, always-correct path: strtod on a NUL-terminated copy, trimmed
 * of blanks; only finite decimal numbers are accepted. */
int qt__parse_f64_slow(const char *s, size_t len, double *out);

/* Parses a decimal number of exactly len bytes.  The fast path (Clinger):
 * when the digits fit a 53-bit integer m and the decimal exponent e has
 * |e| <= 22, m and 10^|e| are exact doubles and one IEEE multiply or divide
 * rounds correctly, so the result equals strtod's.  Anything else goes to
 * the slow path.  Returns QT_OK or QT_EPARSE. */
static inline int qt__parse_f64(const char *s, size_t len, double *out) {
  const char *p = s, *end = s + len;
  int neg = 0;
  if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
  uint64_t m = 0;
  int nd = 0, exp10 = 0, any = 0;
  while (p < end && (unsigned)(*p - '0') < 10) {
    if (nd < 19) {
      m = m * 10 + (uint64_t)(*p - '0');
      if (m) nd++;
    } else {
      goto slow;
    }
    any = 1;
    p++;
  }
  if (p < end && *p == '.') {
    p++;
    while (p < end && (unsigned)(*p - '0') < 10) {
      if (nd < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        if (m) nd++;
      } else {
        goto slow;
      }
      exp10--;
      any = 1;
      p++;
    }
  }
  if (!any) goto slow;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0, ev = 0, ed = 0;
    if (p < end && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    while (p < end && (unsigned)(*p - '0') < 10) {
      if (ev < 10000) ev = ev * 10 + (*p - '0');
      ed++;
      p++;
    }
    if (!ed) goto slow;
    exp10 += eneg ? -ev : ev;
  }
  if (p != end || m > (UINT64_C(1) << 53)) goto slow;
  {
    double v = (double)m;
    if (m == 0) v = 0.0;
    else if (exp10 < 0 && exp10 >= -22) v /= qt__pow10[-exp10];
    else if (exp10 >= 0 && exp10 <= 22) v *= qt__pow10[exp10];
    else goto slow;
    *out = neg ? -v : v;
    return QT_OK;
  }
slow:
  return qt__parse_f64_slow(s, len, out);
}

/* Whole decimal integer (optional sign), strict. */
static inline int qt__parse_i64(const char *s, size_t len, int64_t *out) {
  const char *p = s, *end = s + len;
  int neg = 0;
  if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
  if (p == end || end - p > 18) return qt_parse_i64(s, len, out);
  int64_t v = 0;
  for (; p < end; p++) {
    if ((unsigned)(*p - '0') >= 10) {
      *out = 0;
      return QT_EPARSE;
    }
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return QT_OK;
}

#endif
