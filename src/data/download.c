/* The exchange's public dump files: the list of monthly and daily files of
 * a range, fetching each with its .CHECKSUM (libcurl; SHA-256 by libcrypto),
 * retries with back-off, the local cache that makes a second run skip what
 * it has, and the import into the catalog. */
#include "qtune/data.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 4096

qt_download_opts qt_download_opts_default(void) {
  qt_download_opts o;
  memset(&o, 0, sizeof o);
  o.base_url = "https://data.binance.vision";
  o.market = "um";
  o.kinds = "klines";
  o.interval = "1m";
  o.max_retries = 5;
  o.min_interval_ms = 100;
  o.backoff_ms = 500;
  return o;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

/* ------------------------------------------------------------ files */

typedef struct dfile {
  char rel[256];  /* "data/futures/um/monthly/klines/BTCUSDT/1m" */
  char name[128]; /* "BTCUSDT-1m-2024-04.zip" */
  int kind;       /* index in k_kinds */
} dfile;

static const char *const k_kinds[] = {"klines", "aggTrades", "fundingRate", "bookTicker"};

static int parse_kinds(const char *list, int *want, qt_err *err) {
  memset(want, 0, 4 * sizeof *want);
  for (const char *p = list; p && *p;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    int hit = -1;
    for (int k = 0; k < 4; k++)
      if (strlen(k_kinds[k]) == n && !strncmp(p, k_kinds[k], n)) hit = k;
    if (hit < 0)
      return qt_err_set(err, QT_EINVAL, "--kinds: \"%.*s\" is not klines, aggTrades, fundingRate "
                        "or bookTicker", (int)n, p);
    want[hit] = 1;
    p = c ? c + 1 : p + n;
  }
  return QT_OK;
}

static int add_file(dfile *v, size_t *n, const qt_download_opts *o, int kind, int monthly,
                    int64_t y, int m, int d) {
  if (*n >= MAX_FILES) return QT_EINVAL;
  dfile *f = &v[(*n)++];
  const char *mk = !strcmp(o->market, "spot") ? "spot" : "futures/um";
  const char *per = monthly ? "monthly" : "daily";
  char date[16];
  if (monthly) snprintf(date, sizeof date, "%04lld-%02d", (long long)y, m);
  else snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)y, m, d);
  f->kind = kind;
  if (kind == 0) {
    snprintf(f->rel, sizeof f->rel, "data/%s/%s/klines/%s/%s", mk, per, o->symbol, o->interval);
    snprintf(f->name, sizeof f->name, "%s-%s-%s.zip", o->symbol, o->interval, date);
  } else {
    snprintf(f->rel, sizeof f->rel, "data/%s/%s/%s/%s", mk, per, k_kinds[kind], o->symbol);
    snprintf(f->name, sizeof f->name, "%s-%s-%s.zip", o->symbol, k_kinds[kind], date);
  }
  return QT_OK;
}

/* Monthly files for months whole in [from, to) that have ended, daily for
 * the other days (funding: monthly only, a partial month's file when the
 * month has ended). */
static int list_files(const qt_download_opts *o, const int *want, dfile *v, size_t *n,
                      qt_err *err) {
  *n = 0;
  int64_t day0 = o->from_ms / 86400000, day1 = (o->to_ms + 86399999) / 86400000;
  int64_t today = (o->now_ms ? o->now_ms : (int64_t)time(NULL) * 1000) / 86400000;
  for (int kind = 0; kind < 4; kind++) {
    if (!want[kind]) continue;
    for (int64_t dd = day0; dd < day1;) {
      int64_t y;
      int m, d;
      qt_time_civil_from_days(dd, &y, &m, &d);
      int64_t m0 = qt_time_days_from_civil(y, m, 1);
      int64_t m1 = m == 12 ? qt_time_days_from_civil(y + 1, 1, 1) : qt_time_days_from_civil(y, m + 1, 1);
      int whole = m0 >= day0 && m1 <= day1 && m1 <= today;
      if (whole || (kind == 2 && m1 <= today)) {
        if (add_file(v, n, o, kind, 1, y, m, 1)) goto too_many;
        dd = m1;
        continue;
      }
      if (kind != 2 && dd < today && add_file(v, n, o, kind, 0, y, m, d)) goto too_many;
      dd++;
    }
  }
  return QT_OK;
too_many:
  return qt_err_set(err, QT_EINVAL, "download: more than %d files; a shorter range", MAX_FILES);
}

/* ------------------------------------------------------------ http */

typedef struct sink {
  FILE *f;
  int64_t n;
} sink;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud) {
  sink *s = ud;
  size_t n = sz * nm;
  if (s->n + (int64_t)n > QT_DOWNLOAD_MAX_BYTES) return 0; /* aborts the transfer */
  s->n += (int64_t)n;
  return fwrite(p, 1, n, s->f);
}

typedef struct dl {
  CURL *h;
  const qt_download_opts *o;
  int64_t last_ms;
  qt_download_report *rep;
} dl;

/* GET url into path; *status the HTTP status (0: a transport error, with
 * its text in err), *retry_ms a Retry-After in ms (0: none). */
static int http_get(dl *d, const char *url, const char *path, long *status, int64_t *retry_ms,
                    qt_err *err) {
  *status = 0;
  *retry_ms = 0;
  int64_t wait = d->last_ms + d->o->min_interval_ms - mono_ms();
  sleep_ms(wait); /* the rate limit */
  d->last_ms = mono_ms();
  FILE *f = fopen(path, "wb");
  if (!f) return qt_err_set(err, QT_EIO, "%s: %s", path, strerror(errno));
  sink s = {f, 0};
  curl_easy_reset(d->h);
  curl_easy_setopt(d->h, CURLOPT_URL, url);
  curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(d->h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(d->h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(d->h, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(d->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(d->h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(d->h, CURLOPT_USERAGENT, "qtune");
  CURLcode cc = curl_easy_perform(d->h);
  int wrc = fclose(f);
  if (cc != CURLE_OK) return qt_err_set(err, QT_EIO, "%s: %s", url, curl_easy_strerror(cc));
  if (wrc) return qt_err_set(err, QT_EIO, "%s: write failed", path);
  curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, status);
  curl_off_t ra = 0;
  if (curl_easy_getinfo(d->h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
    *retry_ms = (int64_t)ra * 1000;
  return QT_OK;
}

static int sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  unsigned char buf[65536], md[32];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = EVP_DigestUpdate(c, buf, n);
  unsigned int ml = 0;
  if (ok) ok = EVP_DigestFinal_ex(c, md, &ml);
  EVP_MD_CTX_free(c);
  fclose(f);
  if (!ok || ml != 32) return -1;
  for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", md[k]);
  return 0;
}

/* The hash in a .CHECKSUM file ("<64 hex>  <name>"). */
static int read_sum(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char line[512];
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = '\0';
  for (int k = 0; k < 64; k++) {
    char c = line[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return -1;
    hex[k] = c >= 'A' && c <= 'F' ? (char)(c + 32) : c;
  }
  hex[64] = '\0';
  return 0;
}

static void list_add(char *list, size_t cap, const char *name) {
  size_t n = strlen(list);
  if (n + strlen(name) + 3 < cap) snprintf(list + n, cap - n, "%s%s", n ? ", " : "", name);
}

enum { F_FETCHED, F_SKIPPED, F_MISSING, F_FAILED };

/* One file: skipped when the cache has it verified; else its checksum, then
 * the file, retried on 429/5xx/transport errors/mismatch. */
static int fetch(dl *d, const dfile *f, char *local, size_t cap, qt_err *ferr) {
  const qt_download_opts *o = d->o;
  char sum[1100], tmp[1200], url[1400], want[65], got[65];
  snprintf(local, cap, "%s/%s", o->dir, f->name);
  snprintf(sum, sizeof sum, "%s.CHECKSUM", local);
  if (!read_sum(sum, want) && !sha256_file(local, got) && !strcmp(want, got)) return F_SKIPPED;
  int64_t back = o->backoff_ms;
  for (int pass = 0; pass < 2; pass++) { /* 0: the checksum, 1: the file */
    snprintf(url, sizeof url, "%s/%s/%s%s", o->base_url, f->rel, f->name, pass ? "" : ".CHECKSUM");
    snprintf(tmp, sizeof tmp, "%s.part", pass ? local : sum);
    int done = 0;
    for (int attempt = 0; attempt <= o->max_retries && !done; attempt++) {
      long st = 0;
      int64_t ra = 0;
      qt_err_clear(ferr);
      int rc = http_get(d, url, tmp, &st, &ra, ferr);
      if (!rc && st == 404) {
        unlink(tmp);
        return F_MISSING;
      }
      if (!rc && st == 200) {
        if (!pass) {
          done = !read_sum(tmp, want);
          if (!done) qt_err_set(ferr, QT_EPARSE, "%s: not a checksum file", url);
        } else {
          done = !sha256_file(tmp, got) && !strcmp(got, want);
          if (!done) qt_err_set(ferr, QT_EIO, "%s: checksum mismatch (got %.12s..., want %.12s...)",
                                url, got, want);
        }
        if (done && rename(tmp, pass ? local : sum)) {
          qt_err_set(ferr, QT_EIO, "%s: %s", local, strerror(errno));
          return F_FAILED;
        }
        if (done) break;
      } else if (!rc && st != 429 && st < 500) {
        qt_err_set(ferr, QT_EIO, "%s: HTTP %ld", url, st);
        unlink(tmp);
        return F_FAILED;
      } else if (!rc) {
        qt_err_set(ferr, QT_EIO, "%s: HTTP %ld", url, st);
      }
      unlink(tmp);
      if (attempt == o->max_retries) break;
      d->rep->retries++;
      sleep_ms(ra > back ? ra : back);
      back *= 2;
    }
    if (!done) return F_FAILED;
  }
  return F_FETCHED;
}

/* ------------------------------------------------------------ run */

static int check_opts(const qt_download_opts *o, const int *want, qt_err *err) {
  if (!o->symbol || !o->symbol[0]) return qt_err_set(err, QT_EINVAL, "download: --symbol is required");
  for (const char *c = o->symbol; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      return qt_err_set(err, QT_EINVAL, "--symbol \"%s\": upper-case letters and digits", o->symbol);
  if (!o->market || (strcmp(o->market, "um") && strcmp(o->market, "spot")))
    return qt_err_set(err, QT_EINVAL, "--market \"%s\": um or spot", o->market ? o->market : "");
  if (!strcmp(o->market, "spot") && (want[2] || want[3]))
    return qt_err_set(err, QT_EINVAL, "--kinds: spot has no fundingRate or bookTicker files");
  if (!o->interval || !o->interval[0] || strlen(o->interval) > 4)
    return qt_err_set(err, QT_EINVAL, "--interval: like 1m, 1h, 1d");
  if (!(o->to_ms > o->from_ms))
    return qt_err_set(err, QT_EINVAL, "download: --to must be after --from");
  if (!o->dir || !o->dir[0]) return qt_err_set(err, QT_EINVAL, "download: no download directory");
  if (!o->base_url || strncmp(o->base_url, "http", 4))
    return qt_err_set(err, QT_EINVAL, "--base-url \"%s\": an http(s) URL",
                      o->base_url ? o->base_url : "");
  return QT_OK;
}

static int import_kind(qt_catalog *c, const char *symbol, char **paths, size_t n,
                       qt_download_report *rep, qt_err *err) {
  if (!c || !n) return QT_OK;
  qt_import_opts io = qt_import_opts_default();
  qt_import im;
  int rc = qt_import_files((const char *const *)paths, n, &io, &im, err);
  if (rc) return rc;
  rc = qt_catalog_merge(c, symbol, &im, err);
  if (rc >= 0) rep->rows_imported += im.stats.rows_kept - im.stats.stored_before;
  qt_import_fini(&im);
  return rc < 0 ? rc : QT_OK;
}

int qt_download_run(const qt_download_opts *o, qt_catalog *c, qt_download_report *out,
                    qt_err *err) {
  memset(out, 0, sizeof *out);
  int want[4];
  int rc = parse_kinds(o->kinds, want, err);
  if (!rc) rc = check_opts(o, want, err);
  if (rc) return rc;
  if (mkdir(o->dir, 0755) && errno != EEXIST)
    return qt_err_set(err, QT_EIO, "%s: %s", o->dir, strerror(errno));
  dfile *files = qt_malloc(MAX_FILES * sizeof *files);
  char **paths = qt_calloc(MAX_FILES, sizeof *paths);
  dl d = {curl_easy_init(), o, 0, out};
  size_t n = 0;
  if (!files || !paths || !d.h) {
    rc = qt_err_set(err, QT_ENOMEM, "download: out of memory");
    goto done;
  }
  rc = list_files(o, want, files, &n, err);
  if (rc) goto done;
  out->files = n;
  for (int kind = 0; kind < 4 && !rc; kind++) {
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
      if (files[k].kind != kind) continue;
      char local[1024];
      qt_err fe;
      qt_err_clear(&fe);
      int st = fetch(&d, &files[k], local, sizeof local, &fe);
      const char *what = st == F_FETCHED   ? "fetched"
                         : st == F_SKIPPED ? "skipped"
                         : st == F_MISSING ? "missing"
                                           : "failed";
      if (st == F_FETCHED) out->fetched++;
      else if (st == F_SKIPPED) out->skipped++;
      else if (st == F_MISSING) out->missing++, list_add(out->missing_list, sizeof out->missing_list, files[k].name);
      else {
        out->failed++;
        list_add(out->failed_list, sizeof out->failed_list, files[k].name);
        qt_log(QT_LOG_WARN, "download: %s", fe.msg);
      }
      if (o->progress) o->progress(o->ud, out->fetched + out->skipped + out->missing + out->failed, n, files[k].name, what);
      if (st == F_FETCHED || st == F_SKIPPED) {
        paths[np] = qt_strdup(local);
        if (!paths[np]) {
          rc = qt_err_set(err, QT_ENOMEM, "download: out of memory");
          break;
        }
        np++;
      }
    }
    if (!rc) rc = import_kind(c, o->symbol, paths, np, out, err);
    for (size_t k = 0; k < np; k++) qt_free(paths[k]), paths[k] = NULL;
  }
  if (!rc && out->failed)
    rc = qt_err_set(err, QT_EIO, "download: %zu files failed after %d retries: %s", out->failed,
                    o->max_retries, out->failed_list);
done:
  if (d.h) curl_easy_cleanup(d.h);
  qt_free(files);
  qt_free(paths);
  return rc;
}
