/* libFuzzer target for the live feed's parsers: the input is a stream of
 * lines through the stream feed (src/live/feed_stream.c, on a pipe as its
 * standard input) and each line through qt_live_parse_binance.  Whatever
 * parses must be a sane event (a known kind, an upper-case symbol, finite
 * non-negative prices, a bar's high and low bracketing its open and
 * close); whatever does not must say why.  Crashes land in
 * tests/fuzz/repro_feed/, which tests/live/test_feed.c replays.
 * Build and run: scripts/fuzz fuzz_feed (FUZZ_SECONDS, default 60). */
#include "qtune/live.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_event(const qt_live_event *e) {
  if (e->kind < QT_LIVE_BAR || e->kind > QT_LIVE_MARK) abort();
  if (!e->symbol[0]) abort();
  for (const char *c = e->symbol; *c; c++)
    if (*c >= 'a' && *c <= 'z') abort();
  const double v[] = {e->open, e->high, e->low, e->close, e->volume, e->price, e->qty,
                      e->bid, e->bid_qty, e->ask, e->ask_qty, e->mark};
  for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
    if (!isfinite(v[k]) || v[k] < 0) abort();
  if (e->kind == QT_LIVE_BAR &&
      (!(e->open > 0) || e->high < fmax(e->open, e->close) || e->low > fmin(e->open, e->close) ||
       e->close_ms < e->ts_ms))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* each line on its own */
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    qt_live_event e;
    qt_err err;
    qt_err_clear(&err);
    int r = qt_live_parse_binance(p, n, &e, &err);
    if (r == QT_OK) check_event(&e);
    else if (r < 0 && !err.msg[0]) abort();
    p += n + 1;
  }
  /* the whole input through the stream feed */
  if (size > 60000) return 0; /* a pipe's buffer */
  int fds[2];
  if (pipe(fds)) return 0;
  if (write(fds[1], data, size) != (ssize_t)size) abort();
  close(fds[1]);
  int saved = dup(0);
  dup2(fds[0], 0);
  close(fds[0]);
  qt_live_stream_opts so = {"-", 0};
  qt_livefeed f;
  qt_err err;
  if (qt_livefeed_stream(&so, &f, &err) == QT_OK) {
    qt_live_event e;
    size_t got = 0;
    int r;
    while ((r = f.vt->next(f.self, &e, 1000, &err)) == QT_OK) {
      check_event(&e);
      got++;
    }
    if (r != QT_DONE) abort();
    qt_live_counts c;
    f.vt->counts(f.self, &c);
    if (c.events != got || c.events + c.bad + c.partial + c.ignored != c.messages) abort();
    qt_livefeed_close(&f);
  }
  dup2(saved, 0);
  close(saved);
  return 0;
}
