/* The stream feed: the exchange's websocket messages, one per line, from
 * standard input, a FIFO or a regular file that grows.  Lines longer than
 * QT_LIVE_MSG_MAX and lines that do not parse are counted and logged with
 * the reason (file:line), never returned, so a bad message cannot stop the
 * runner. */
#include "qtune/live.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct stream {
  int fd, own_fd, regular, eof;
  char name[256];
  int64_t idle_exit_ms;
  int64_t last_data_ns;
  char *buf;            /* QT_LIVE_MSG_MAX + the read chunk */
  size_t len;           /* bytes of the current line held */
  size_t line_no;
  int skipping;         /* in a too-long line, up to its newline */
  char rd[8192];
  size_t rd_len, rd_pos;
  qt_live_counts counts;
} stream;

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One complete line (without its newline): an event, or counted. */
static int take_line(stream *s, qt_live_event *out) {
  s->line_no++;
  size_t n = s->len;
  s->len = 0;
  while (n && (s->buf[n - 1] == '\r' || s->buf[n - 1] == ' ')) n--;
  if (n == 0) return 0;
  s->counts.messages++;
  qt_err e;
  qt_err_clear(&e);
  int r = qt_live_parse_binance(s->buf, n, out, &e);
  if (r == QT_DONE) {
    s->counts.ignored++;
    return 0;
  }
  if (r) {
    s->counts.bad++;
    qt_log(QT_LOG_WARN, "%s:%zu: bad message: %s", s->name, s->line_no, e.msg);
    return 0;
  }
  if (out->kind == QT_LIVE_BAR && !out->closed) {
    s->counts.partial++;
    return 0;
  }
  out->recv_ns = mono_ns();
  s->counts.events++;
  return 1;
}

/* Splits the read buffer into lines; 1 when *out holds an event. */
static int scan(stream *s, qt_live_event *out) {
  while (s->rd_pos < s->rd_len) {
    char *p = s->rd + s->rd_pos;
    size_t avail = s->rd_len - s->rd_pos;
    char *nl = memchr(p, '\n', avail);
    size_t take = nl ? (size_t)(nl - p) : avail;
    if (!s->skipping) {
      if (s->len + take > QT_LIVE_MSG_MAX) {
        s->skipping = 1;
        s->counts.messages++;
        s->counts.bad++;
        s->counts.too_long++;
        qt_log(QT_LOG_WARN, "%s:%zu: bad message: longer than %d bytes", s->name, s->line_no + 1,
               QT_LIVE_MSG_MAX);
        s->len = 0;
      } else {
        memcpy(s->buf + s->len, p, take);
        s->len += take;
      }
    }
    s->rd_pos += take + (nl ? 1 : 0);
    if (nl) {
      if (s->skipping) {
        s->skipping = 0;
        s->line_no++;
        s->len = 0;
        continue;
      }
      if (take_line(s, out)) return 1;
    }
  }
  return 0;
}

static int stream_next(void *self, qt_live_event *out, int timeout_ms, qt_err *err) {
  stream *s = self;
  int64_t t_end = mono_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    if (scan(s, out)) return QT_OK;
    if (s->eof) {
      /* a last line without its newline */
      if (s->len && !s->skipping && take_line(s, out)) return QT_OK;
      return QT_DONE;
    }
    int64_t left_ms = (t_end - mono_ns()) / 1000000;
    if (left_ms < 0) return QT_ETIMEOUT;
    if (!s->regular) {
      struct pollfd pf = {s->fd, POLLIN, 0};
      int pr = poll(&pf, 1, (int)(left_ms > 1000 ? 1000 : left_ms));
      if (pr < 0 && errno != EINTR) return qt_err_set(err, QT_EIO, "%s: poll: %s", s->name, strerror(errno));
      if (pr <= 0) {
        if (pr < 0) return QT_ETIMEOUT; /* a signal: let the caller look at its flag */
        continue;
      }
    }
    ssize_t n = read(s->fd, s->rd, sizeof s->rd);
    if (n < 0) {
      if (errno == EINTR) return QT_ETIMEOUT;
      if (errno == EAGAIN) continue;
      return qt_err_set(err, QT_EIO, "%s: read: %s", s->name, strerror(errno));
    }
    if (n == 0) {
      if (!s->regular) {
        s->eof = 1;
        continue;
      }
      /* a regular file: follow it as it grows */
      int64_t idle_ms = (mono_ns() - s->last_data_ns) / 1000000;
      if (s->idle_exit_ms > 0 && idle_ms >= s->idle_exit_ms) {
        s->eof = 1;
        continue;
      }
      struct timespec ts = {0, 20 * 1000000};
      nanosleep(&ts, NULL);
      if (mono_ns() >= t_end) return QT_ETIMEOUT;
      continue;
    }
    s->last_data_ns = mono_ns();
    s->rd_len = (size_t)n;
    s->rd_pos = 0;
  }
}

static void stream_counts(const void *self, qt_live_counts *out) { *out = ((const stream *)self)->counts; }

static void stream_close(void *self) {
  stream *s = self;
  if (!s) return;
  if (s->own_fd && s->fd >= 0) close(s->fd);
  qt_free(s->buf);
  qt_free(s);
}

static const qt_livefeed_vtbl k_stream = {"stream", stream_next, stream_counts, stream_close};

int qt_livefeed_stream(const qt_live_stream_opts *o, qt_livefeed *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!o || !o->path || !o->path[0]) return qt_err_set(err, QT_EINVAL, "stream feed: no path");
  stream *s = qt_calloc(1, sizeof *s);
  if (!s) return qt_err_set(err, QT_ENOMEM, "stream feed: out of memory");
  s->fd = -1;
  s->buf = qt_malloc(QT_LIVE_MSG_MAX + 1);
  if (!s->buf) {
    stream_close(s);
    return qt_err_set(err, QT_ENOMEM, "stream feed: out of memory");
  }
  s->idle_exit_ms = o->idle_exit_ms;
  if (!strcmp(o->path, "-")) {
    s->fd = 0;
    snprintf(s->name, sizeof s->name, "stdin");
  } else {
    s->fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
      int e = errno;
      stream_close(s);
      return qt_err_set(err, QT_EIO, "--feed %s: %s", o->path, strerror(e));
    }
    s->own_fd = 1;
    snprintf(s->name, sizeof s->name, "%s", o->path);
  }
  struct stat st;
  s->regular = s->own_fd && fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
  s->last_data_ns = mono_ns();
  out->vt = &k_stream;
  out->self = s;
  return QT_OK;
}
