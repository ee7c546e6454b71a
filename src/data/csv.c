/* Reading importer inputs into memory: plain files, gzip (zlib) and zip
 * archives (libzip) as the exchanges publish them, plus the slow number
 * parser.  Every failure names the file and says what was wrong. */
#include "data/csv.h"
#include "qtune/data.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

int qt__parse_f64_slow(const char *s, size_t len, double *out) {
  char tmp[128];
  *out = 0;
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
  if (len == 0 || len >= sizeof tmp) return QT_EPARSE;
  /* strtod also takes hex, "inf" and "nan": a price never looks like that. */
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return QT_EPARSE;
  }
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end != tmp + len || !isfinite(v)) return QT_EPARSE;
  *out = v;
  return QT_OK;
}

/* Grows *buf to hold at least need+1 bytes. */
static int grow(char **buf, size_t *cap, size_t need) {
  if (need + 1 <= *cap) return QT_OK;
  size_t nc = *cap ? *cap : 1 << 16;
  while (nc < need + 1) nc *= 2;
  char *nb = qt_realloc(*buf, nc);
  if (!nb) return QT_ENOMEM;
  *buf = nb;
  *cap = nc;
  return QT_OK;
}

static int read_plain(const char *path, int fd, size_t size, qt__input *in, qt_err *err) {
  int rc = QT_OK;
  /* A map of the page cache avoids copying (and faulting in) a second
   * buffer as large as the file; read() is the fallback. */
  void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (m != MAP_FAILED) {
    in->buf = m;
    in->len = size;
    in->mapped = 1;
    return QT_OK;
  }
  char *buf = qt_malloc(size + 1);
  if (!buf) {
    rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    goto fail;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = qt_err_set(err, QT_EIO, "%s: read failed: %s", path, strerror(errno));
      goto fail;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  in->buf = buf;
  in->len = got;
  return QT_OK;
fail:
  qt_free(buf);
  return rc;
}

size_t qt_import_max_decompressed(size_t compressed) {
  const char *env = getenv("QTUNE_MAX_DECOMPRESSED");
  if (env && *env) {
    char *end;
    unsigned long long v = strtoull(env, &end, 10);
    if (end != env && v > 0) {
      if (*end == 'k' || *end == 'K') v <<= 10;
      else if (*end == 'm' || *end == 'M') v <<= 20;
      else if (*end == 'g' || *end == 'G') v <<= 30;
      return (size_t)v;
    }
  }
  size_t by_ratio = compressed > SIZE_MAX / QT_IMPORT_MAX_RATIO ? SIZE_MAX : compressed * QT_IMPORT_MAX_RATIO;
  return by_ratio > QT_IMPORT_MAX_INFLATED ? by_ratio : QT_IMPORT_MAX_INFLATED;
}

static int too_big(const char *name, size_t limit, qt_err *err) {
  const char *env = getenv("QTUNE_MAX_DECOMPRESSED");
  if (env && *env)
    return qt_err_set(err, QT_EINVAL, "%s: decompresses to more than %zu bytes (the limit set by"
                      " QTUNE_MAX_DECOMPRESSED=%s)", name, limit, env);
  return qt_err_set(err, QT_EINVAL,
                    "%s: decompresses to more than %zu bytes (the limit: %d times the compressed"
                    " size, at least %d MiB; raise it with QTUNE_MAX_DECOMPRESSED=BYTES[K|M|G])",
                    name, limit, QT_IMPORT_MAX_RATIO, (int)(QT_IMPORT_MAX_INFLATED >> 20));
}

static int read_gzip(const char *path, size_t compressed, qt__input *in, qt_err *err) {
  int rc = QT_OK;
  size_t limit = qt_import_max_decompressed(compressed);
  char *buf = NULL;
  size_t cap = 0, n = 0;
  gzFile g = gzopen(path, "rb");
  if (!g) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot open gzip: %s", path, strerror(errno));
    goto fail;
  }
  gzbuffer(g, 1 << 17);
  for (;;) {
    if (grow(&buf, &cap, n + (1 << 20))) {
      rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory decompressing", path);
      goto fail;
    }
    size_t room = cap - n - 1;
    int r = gzread(g, buf + n, (unsigned)(room > (1u << 30) ? (1u << 30) : room));
    if (r < 0) break;
    if (r == 0) break;
    n += (size_t)r;
    if (n > limit) {
      rc = too_big(path, limit, err);
      goto fail;
    }
  }
  int zerr = Z_OK;
  const char *zmsg = gzerror(g, &zerr);
  if (zerr != Z_OK && zerr != Z_STREAM_END) {
    rc = qt_err_set(err, QT_EPARSE, "%s: corrupt or truncated gzip data (%s)", path,
                    zerr == Z_BUF_ERROR ? "unexpected end of file" : zmsg);
    goto fail;
  }
  buf[n] = '\0';
  in->buf = buf;
  in->len = n;
  buf = NULL;
fail:
  if (g) gzclose(g);
  qt_free(buf);
  return rc;
}

static int ends_with_ci(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static int read_zip(const char *path, size_t compressed, qt__input_fn fn, void *ud, qt_err *err) {
  int rc = QT_OK, zerr = 0, docs = 0;
  size_t limit = qt_import_max_decompressed(compressed);
  zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
  zip_file_t *zf = NULL;
  qt__input in;
  memset(&in, 0, sizeof in);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    rc = qt_err_set(err, QT_EPARSE, "%s: not a readable zip archive (%s)", path,
                    zip_error_strerror(&ze));
    zip_error_fini(&ze);
    goto fail;
  }
  zip_int64_t ne = zip_get_num_entries(z, 0);
  /* The exchange zips hold one CSV; take every .csv entry (or the only
   * entry) so a hand-made archive of several days works too. */
  for (zip_int64_t i = 0; i < ne; i++) {
    zip_stat_t st;
    if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) continue;
    size_t nl = strlen(st.name);
    if (nl && st.name[nl - 1] == '/') continue;
    if (ne > 1 && !ends_with_ci(st.name, ".csv") && !ends_with_ci(st.name, ".json")) continue;
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > (zip_uint64_t)SIZE_MAX / 2) {
      rc = qt_err_set(err, QT_EPARSE, "%s:%s: entry size unknown", path, st.name);
      goto fail;
    }
    snprintf(in.name, sizeof in.name, "%s:%s", path, st.name);
    /* The declared size is checked before anything is allocated. */
    if (st.size > limit) {
      rc = too_big(in.name, limit, err);
      goto fail;
    }
    in.buf = qt_malloc((size_t)st.size + 1);
    if (!in.buf) {
      rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", in.name);
      goto fail;
    }
    zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
    if (!zf) {
      rc = qt_err_set(err, QT_EPARSE, "%s: cannot open entry (%s)", in.name, zip_strerror(z));
      goto fail;
    }
    size_t got = 0;
    while (got < st.size) {
      zip_int64_t r = zip_fread(zf, in.buf + got, st.size - got);
      if (r < 0) {
        rc = qt_err_set(err, QT_EPARSE, "%s: corrupt zip entry (%s)", in.name,
                        zip_file_strerror(zf));
        goto fail;
      }
      if (r == 0) break;
      got += (size_t)r;
    }
    if (got != st.size) {
      rc = qt_err_set(err, QT_EPARSE, "%s: truncated zip entry (%zu of %llu bytes)", in.name, got,
                      (unsigned long long)st.size);
      goto fail;
    }
    zip_fclose(zf);
    zf = NULL;
    in.buf[got] = '\0';
    in.len = got;
    rc = fn(ud, &in, err);
    qt_free(in.buf);
    in.buf = NULL;
    docs++;
    if (rc < 0) goto fail;
  }
  if (docs == 0) rc = qt_err_set(err, QT_EPARSE, "%s: zip archive holds no CSV file", path);
fail:
  if (zf) zip_fclose(zf);
  qt_free(in.buf);
  if (z) zip_discard(z);
  return rc;
}

int qt__input_each(const char *path, qt__input_fn fn, void *ud, qt_err *err) {
  int rc = QT_OK;
  qt__input in;
  memset(&in, 0, sizeof in);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = qt_err_set(err, errno == ENOENT ? QT_ENOTFOUND : QT_EIO, "%s: cannot open: %s", path,
                    strerror(errno));
    goto fail;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot stat: %s", path, strerror(errno));
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = qt_err_set(err, QT_EINVAL, "%s: is a directory, not a data file", path);
    goto fail;
  }
  if (st.st_size == 0) {
    rc = qt_err_set(err, QT_EPARSE, "%s: empty file", path);
    goto fail;
  }
  unsigned char magic[4] = {0, 0, 0, 0};
  ssize_t mr = pread(fd, magic, sizeof magic, 0);
  if (mr >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    close(fd);
    fd = -1;
    snprintf(in.name, sizeof in.name, "%s", path);
    rc = read_gzip(path, (size_t)st.st_size, &in, err);
    if (rc) goto fail;
  } else if (mr >= 4 && magic[0] == 'P' && magic[1] == 'K' &&
             ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6))) {
    close(fd);
    fd = -1;
    rc = read_zip(path, (size_t)st.st_size, fn, ud, err);
    goto fail; /* done either way */
  } else {
    snprintf(in.name, sizeof in.name, "%s", path);
    rc = read_plain(path, fd, (size_t)st.st_size, &in, err);
    if (rc) goto fail;
  }
  if (in.len == 0) {
    rc = qt_err_set(err, QT_EPARSE, "%s: empty file", in.name);
    goto fail;
  }
  rc = fn(ud, &in, err);
fail:
  if (fd >= 0) close(fd);
  if (in.mapped) munmap(in.buf, in.len);
  else qt_free(in.buf);
  return rc;
}
