#include "cli/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const qt_err *e) {
  fprintf(stderr, "qtune: %s\n", e && e->msg[0] ? e->msg : qt_status_str(e ? e->code : QT_EINVAL));
  return CLI_ERROR;
}

int cli_failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("qtune: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_ERROR;
}

FILE *cli_open_tmp(const char *path, char *tmp, size_t cap, qt_err *err) {
  snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) qt_err_set(err, QT_EIO, "%s: cannot write: %s", path, strerror(errno));
  return f;
}

int cli_commit(FILE *f, const char *tmp, const char *path, int ok, qt_err *err) {
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  if (!ok || bad) {
    remove(tmp);
    return ok ? qt_err_set(err, QT_EIO, "%s: write failed", path) : QT_EIO;
  }
  if (rename(tmp, path) != 0) {
    remove(tmp);
    return qt_err_set(err, QT_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
  }
  return QT_OK;
}

int cli_write_file(const char *path, const void *data, size_t len, qt_err *err) {
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, err);
  if (!f) return QT_EIO;
  int ok = fwrite(data, 1, len, f) == len;
  return cli_commit(f, tmp, path, ok, err);
}

char *cli_read_file(const char *path, size_t *out_len, qt_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    qt_err_set(err, QT_EIO, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    qt_err_set(err, bad ? QT_EIO : QT_ENOMEM, "%s: cannot read", path);
    return NULL;
  }
  buf[n] = '\0';
  if (out_len) *out_len = n;
  return buf;
}

int cli_parse_double(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno) return cli_failf("%s: not a number (\"%s\")", opt, s);
  *out = v;
  return 0;
}

int cli_parse_long(const char *opt, const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno) return cli_failf("%s: not a whole number (\"%s\")", opt, s);
  *out = v;
  return 0;
}
