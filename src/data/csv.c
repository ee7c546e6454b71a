/* Reading importer inputs in blocks: plain files, gzip (zlib) and zip
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

static int ends_with_ci(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* ---------------------------------------------------------------- streams */

int qt__stream_read(qt__stream *st, char *buf, size_t cap, size_t *got, qt_err *err) {
  *got = 0;
  if (cap > (1u << 30)) cap = 1u << 30;
  if (st->gz) {
    int r = gzread((gzFile)st->gz, buf, (unsigned)cap);
    if (r <= 0) {
      int zerr = Z_OK;
      const char *zmsg = gzerror((gzFile)st->gz, &zerr);
      if (zerr != Z_OK && zerr != Z_STREAM_END)
        return qt_err_set(err, QT_EPARSE, "%s: corrupt or truncated gzip data (%s)", st->path,
                          zerr == Z_BUF_ERROR ? "unexpected end of file" : zmsg);
      return QT_OK;
    }
    st->total += (size_t)r;
    if (st->total > st->limit) return too_big(st->path, st->limit, err);
    *got = (size_t)r;
    return QT_OK;
  }
  if (st->zf) {
    /* at most the declared size (checked against the limit before the
     * first read), as the whole-entry reader did */
    size_t left = st->declared - st->total;
    if (left == 0) return QT_OK;
    if (cap > left) cap = left;
    zip_int64_t r = zip_fread((zip_file_t *)st->zf, buf, cap);
    if (r < 0)
      return qt_err_set(err, QT_EPARSE, "%s: corrupt zip entry (%s)", st->name,
                        zip_file_strerror((zip_file_t *)st->zf));
    if (r == 0) {
      if (st->total != st->declared)
        return qt_err_set(err, QT_EPARSE, "%s: truncated zip entry (%zu of %llu bytes)", st->name,
                          st->total, (unsigned long long)st->declared);
      return QT_OK;
    }
    st->total += (size_t)r;
    *got = (size_t)r;
    return QT_OK;
  }
  for (;;) {
    ssize_t r = read(st->fd, buf, cap);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return qt_err_set(err, QT_EIO, "%s: read failed: %s", st->path, strerror(errno));
    st->total += (size_t)r;
    *got = (size_t)r;
    return QT_OK;
  }
}

static int stream_zip(const char *path, size_t compressed, qt__stream_fn fn, void *ud, qt_err *err) {
  int rc = QT_OK, zerr = 0, docs = 0;
  size_t limit = qt_import_max_decompressed(compressed);
  zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
  qt__stream st;
  memset(&st, 0, sizeof st);
  st.fd = -1;
  st.path = path;
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    rc = qt_err_set(err, QT_EPARSE, "%s: not a readable zip archive (%s)", path,
                    zip_error_strerror(&ze));
    zip_error_fini(&ze);
    goto fail;
  }
  zip_int64_t ne = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < ne; i++) {
    zip_stat_t zs;
    if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME)) continue;
    size_t nl = strlen(zs.name);
    if (nl && zs.name[nl - 1] == '/') continue;
    if (ne > 1 && !ends_with_ci(zs.name, ".csv") && !ends_with_ci(zs.name, ".json")) continue;
    if (!(zs.valid & ZIP_STAT_SIZE) || zs.size > (zip_uint64_t)SIZE_MAX / 2) {
      rc = qt_err_set(err, QT_EPARSE, "%s:%s: entry size unknown", path, zs.name);
      goto fail;
    }
    snprintf(st.name, sizeof st.name, "%s:%s", path, zs.name);
    if (zs.size > limit) { /* the declared size, before anything is read */
      rc = too_big(st.name, limit, err);
      goto fail;
    }
    st.zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
    if (!st.zf) {
      rc = qt_err_set(err, QT_EPARSE, "%s: cannot open entry (%s)", st.name, zip_strerror(z));
      goto fail;
    }
    st.limit = limit;
    st.declared = (size_t)zs.size;
    st.total = 0;
    rc = fn(ud, &st, err);
    zip_fclose((zip_file_t *)st.zf);
    st.zf = NULL;
    docs++;
    if (rc < 0) goto fail;
  }
  if (docs == 0) rc = qt_err_set(err, QT_EPARSE, "%s: zip archive holds no CSV file", path);
fail:
  if (st.zf) zip_fclose((zip_file_t *)st.zf);
  if (z) zip_discard(z);
  return rc;
}

int qt__input_each_stream(const char *path, qt__stream_fn fn, void *ud, qt_err *err) {
  int rc = QT_OK;
  qt__stream st;
  memset(&st, 0, sizeof st);
  st.path = path;
  st.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (st.fd < 0) {
    rc = qt_err_set(err, errno == ENOENT ? QT_ENOTFOUND : QT_EIO, "%s: cannot open: %s", path,
                    strerror(errno));
    goto fail;
  }
  struct stat sb;
  if (fstat(st.fd, &sb) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot stat: %s", path, strerror(errno));
    goto fail;
  }
  if (S_ISDIR(sb.st_mode)) {
    rc = qt_err_set(err, QT_EINVAL, "%s: is a directory, not a data file", path);
    goto fail;
  }
  if (sb.st_size == 0) {
    rc = qt_err_set(err, QT_EPARSE, "%s: empty file", path);
    goto fail;
  }
  unsigned char magic[4] = {0, 0, 0, 0};
  ssize_t mr = pread(st.fd, magic, sizeof magic, 0);
  snprintf(st.name, sizeof st.name, "%s", path);
  if (mr >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    close(st.fd);
    st.fd = -1;
    st.limit = qt_import_max_decompressed((size_t)sb.st_size);
    st.gz = gzopen(path, "rb");
    if (!st.gz) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot open gzip: %s", path, strerror(errno));
      goto fail;
    }
    gzbuffer((gzFile)st.gz, 1 << 17);
    rc = fn(ud, &st, err);
  } else if (mr >= 4 && magic[0] == 'P' && magic[1] == 'K' &&
             ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6))) {
    close(st.fd);
    st.fd = -1;
    rc = stream_zip(path, (size_t)sb.st_size, fn, ud, err);
  } else {
    st.limit = SIZE_MAX;
    rc = fn(ud, &st, err);
  }
fail:
  if (st.fd >= 0) close(st.fd);
  if (st.gz) gzclose((gzFile)st.gz);
  return rc;
}
