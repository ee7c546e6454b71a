/* libFuzzer target for the importers' parsers (CSV layouts, detection,
 * JSON) over a memory buffer, the date-format parser, plus an oracle for the exact number parser:
 * whatever the fast path accepts must equal strtod bit for bit.  The first
 * byte picks the options so one corpus covers every format.
 * Build and run: scripts/fuzz (FUZZ_SECONDS, default 60). */
#include "data/csv.h"
#include "data/import_int.h"
#include "qtune/data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_number(const char *s, size_t len) {
  if (len == 0 || len > 40) return;
  double fast;
  if (qt__parse_f64(s, len, &fast) != QT_OK) return;
  char tmp[64];
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  double want = strtod(tmp, NULL);
  if (memcmp(&fast, &want, sizeof fast) != 0 && !(fast == 0 && want == 0)) abort();
}

/* qt_time_parse_fmt with a format from the input: the bytes up to the first
 * newline (at most 31), the rest the text.  Any failure must say why. */
static void check_date_format(const char *s, size_t len) {
  char fmt[32];
  size_t k = 0;
  while (k < len && k < 31 && s[k] != '\n') {
    fmt[k] = s[k] ? s[k] : ' ';
    k++;
  }
  fmt[k] = '\0';
  if (k >= len) return;
  size_t n = len - k - 1 < 64 ? len - k - 1 : 64;
  int64_t t;
  qt_err e = {0};
  if (qt_time_parse_fmt(s + k + 1, n, fmt, &t, &e) != QT_OK && !e.msg[0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t sel = data[0];
  const char *buf = (const char *)data + 1;
  size_t len = size - 1;
  check_number(buf, len < 40 ? len : 40);
  check_date_format(buf, len);
  static const char *const maps[4] = {NULL, "time=1,open=2,high=3,low=4,close=5",
                                      "time=date,rate=open", "time=2,price=3,qty=4,side=5"};
  qt_import_opts o = qt_import_opts_default();
  o.format = sel % QT_FMT_COUNT;
  o.skip_bad = (sel >> 3) & 1;
  o.kind = ((sel >> 4) & 3) == 0 ? -1 : (int)((sel >> 4) & 3) - 1 + ((sel >> 6) & 1);
  o.columns = o.format == QT_FMT_CSV ? maps[(sel >> 6) & 3] : NULL;
  if (o.format == QT_FMT_CSV && (len & 1)) o.date_format = "%d/%m/%Y %H:%M:%S";
  qt_import im;
  qt_err e = {0};
  int rc = qt__import_buffer("fuzz", buf, len, &o, &im, &e);
  if (rc == QT_OK) {
    /* the result must be in time order, bars and funding strictly */
    const int64_t *ts = im.kind == QT_KIND_BARS      ? im.bars.ts_ms
                        : im.kind == QT_KIND_TRADES  ? im.trades.ts_ms
                        : im.kind == QT_KIND_FUNDING ? im.funding.ts_ms
                                                     : im.quotes.ts_ms;
    size_t n = im.stats.rows_kept;
    int strict = im.kind == QT_KIND_BARS || im.kind == QT_KIND_FUNDING;
    for (size_t i = 1; i < n; i++)
      if (ts[i] < ts[i - 1] || (strict && ts[i] == ts[i - 1])) abort();
    if (n == 0 || n > im.stats.rows_read) abort();
    qt_import_fini(&im);
  } else if (rc > 0 || e.msg[0] == '\0') {
    abort(); /* every failure says why */
  }
  return 0;
}
