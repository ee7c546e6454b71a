/* `qtune data download`: the exchange's public dump files into the catalog.
 * Plans monthly/daily files, fetches each with libcurl (rate limit, retries
 * with exponential back-off, Retry-After), checks its sha256 (OpenSSL's
 * libcrypto) against the published .CHECKSUM, keeps it in the catalog's
 * .download cache, and imports the verified files per kind.  The contract
 * and the path layout are in include/qtune/data.h. */
#include "qtune/data.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define PATH_CAP 1024

static const char *const k_kind_names[QT_DL_KIND_COUNT] = {
#define QT__DL_KIND_NAME(e, name, kind) name,
    QT_DL_KIND_LIST(QT__DL_KIND_NAME)
#undef QT__DL_KIND_NAME
};
static const qt_kind k_kind_series[QT_DL_KIND_COUNT] = {
#define QT__DL_KIND_SERIES(e, name, kind) kind,
    QT_DL_KIND_LIST(QT__DL_KIND_SERIES)
#undef QT__DL_KIND_SERIES
};

const char *qt_dl_kind_name(int kind) {
  return kind >= 0 && kind < QT_DL_KIND_COUNT ? k_kind_names[kind] : "unknown";
}

int qt_dl_kinds_parse(const char *list, unsigned *out_mask, qt_err *err) {
  unsigned mask = 0;
  *out_mask = 0;
  if (!list || !*list) return qt_err_set(err, QT_EINVAL, "--kinds: empty list");
  const char *p = list;
  while (*p) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    int found = -1;
    for (int k = 0; k < QT_DL_KIND_COUNT; k++)
      if (strlen(k_kind_names[k]) == len && strncasecmp(p, k_kind_names[k], len) == 0) found = k;
    if (found < 0)
      return qt_err_set(err, QT_EINVAL,
                        "--kinds: unknown kind '%.*s' (klines, aggTrades, fundingRate, bookTicker)",
                        (int)len, p);
    mask |= 1u << found;
    p += len;
    if (*p == ',') p++;
  }
  *out_mask = mask;
  return QT_OK;
}

int qt_dl_market_parse(const char *s, int *out) {
  *out = QT_DL_MARKET_UM;
  if (s && strcmp(s, "um") == 0) return QT_OK;
  if (s && strcmp(s, "spot") == 0) {
    *out = QT_DL_MARKET_SPOT;
    return QT_OK;
  }
  return QT_EINVAL;
}

qt_download_opts qt_download_opts_default(void) {
  qt_download_opts o;
  memset(&o, 0, sizeof o);
  o.base_url = QT_DL_DEFAULT_BASE_URL;
  o.market = QT_DL_MARKET_UM;
  o.kinds = 1u << QT_DL_KLINES;
  o.interval = "1m";
  o.rate_per_s = 5;
  o.retries = 5;
  o.backoff_ms = 500;
  o.backoff_max_ms = 30000;
  o.timeout_ms = 600000;
  o.daily_fallback = 1;
  return o;
}

/* ---- one planned file ---- */
typedef struct item {
  int kind;
  int monthly;
  int64_t y;
  int m, d;
} item;

/* ---- the run's state ---- */
typedef struct dl {
  const qt_download_opts *o;
  char sym[64];
  const char *cat_dir;
  CURL *curl;
  int64_t last_req_ns;
  qt_download_report *rep;
  size_t index; /* 1-based file counter for events */
  /* verified files per kind (cache paths), in plan order */
  char **files[QT_DL_KIND_COUNT];
  size_t n_files[QT_DL_KIND_COUNT], cap_files[QT_DL_KIND_COUNT];
} dl;

/* What one transfer writes into: memory (checksums) or a file + sha256. */
typedef struct sink {
  char *mem;
  size_t len, cap; /* mem: cap is the limit */
  FILE *f;
  EVP_MD_CTX *md;
  int64_t bytes, limit; /* bytes: received in this try (file: kept ones) */
  int64_t have;         /* file: bytes in the part file, the next try's range start */
  int64_t range_from;   /* file: the range asked in this try (0: none) */
  int first;            /* no body byte of this try seen yet */
  int restarts;         /* file: times the part file was started over */
  int too_big;
  dl *d;
  const char *name;
  int kind;
  int64_t last_ev_ns;
} sink;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void emit(dl *d, int type, int kind, const char *name, int state, const char *msg) {
  if (!d->o->on_event) return;
  qt_dl_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = type;
  ev.kind = kind;
  ev.name = name;
  ev.index = d->index;
  ev.n_files = d->rep->planned;
  ev.state = state;
  ev.msg = msg;
  d->o->on_event(d->o->ud, &ev);
}

/* Empties the part file and restarts its digest. */
static int part_restart(sink *s) {
  s->have = 0;
  s->restarts++;
  if (fflush(s->f) != 0 || ftruncate(fileno(s->f), 0) != 0 || fseek(s->f, 0, SEEK_SET) != 0 ||
      EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
    return QT_EIO;
  return QT_OK;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  sink *s = ud;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(s->d->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200 && status != 206) return n; /* an error page: not the file */
  if (s->f && s->first) {
    s->first = 0;
    /* a server that ignores the range sends the whole file */
    if (status == 200 && s->have > 0 && part_restart(s)) return 0;
  }
  if ((s->f ? s->have : s->bytes) + (int64_t)n > s->limit) {
    s->too_big = 1;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  if (s->f) {
    if (fwrite(ptr, 1, n, s->f) != n) return 0;
    if (EVP_DigestUpdate(s->md, ptr, n) != 1) return 0;
    s->have += (int64_t)n;
  } else {
    memcpy(s->mem + s->len, ptr, n);
    s->len += n;
  }
  s->bytes += (int64_t)n;
  return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  sink *s = ud;
  const qt_download_opts *o = s->d->o;
  int64_t t = now_ns();
  if (!o->on_event || !s->f || t - s->last_ev_ns < 100000000LL) return 0;
  s->last_ev_ns = t;
  qt_dl_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = QT_DL_EV_BYTES;
  ev.kind = s->kind;
  ev.name = s->name;
  ev.index = s->d->index;
  ev.n_files = s->d->rep->planned;
  ev.bytes = (int64_t)dlnow;
  ev.total = (int64_t)dltotal;
  o->on_event(o->ud, &ev);
  return 0;
}

/* Readies the sink for another try: memory starts over; a file keeps what
 * it has and asks for the rest (an HTTP range), so a dropped transfer goes
 * on where it stopped. */
static void sink_reset(sink *s, CURL *curl) {
  char range[32];
  s->len = 0;
  s->bytes = 0;
  s->too_big = 0;
  s->first = 1;
  s->range_from = s->f ? s->have : 0;
  if (s->range_from > 0) snprintf(range, sizeof range, "%lld-", (long long)s->range_from);
  curl_easy_setopt(curl, CURLOPT_RANGE, s->range_from > 0 ? range : NULL);
}

static void rate_wait(dl *d) {
  double r = d->o->rate_per_s;
  if (r <= 0) return;
  int64_t gap = (int64_t)(1e9 / r), t = now_ns();
  if (d->last_req_ns && t - d->last_req_ns < gap) sleep_ms((gap - (t - d->last_req_ns) + 999999) / 1000000);
  d->last_req_ns = now_ns();
}

/* Whether a curl failure is worth another try (the network or the server,
 * not us). */
static int transient(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR: return 1;
  default: return 0;
  }
}

/* GET url into s with the retry policy.  QT_OK on 200, QT_ENOTFOUND on 404,
 * else QT_EIO with the reason in err (the last try's). */
static int http_get(dl *d, const char *url, sink *s, qt_err *err) {
  const qt_download_opts *o = d->o;
  int64_t backoff = o->backoff_ms > 0 ? o->backoff_ms : 0;
  char why[200] = "";
  for (int attempt = 0;; attempt++) {
    sink_reset(s, d->curl);
    rate_wait(d);
    curl_easy_setopt(d->curl, CURLOPT_URL, url);
    curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, s);
    CURLcode c = curl_easy_perform(d->curl);
    d->rep->requests++;
    if (attempt) d->rep->retries++;
    long status = 0;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
    d->rep->bytes += s->bytes;
    int64_t wait = backoff;
    if (c == CURLE_OK && (status == 200 || (status == 206 && s->range_from > 0))) return QT_OK;
    if (s->too_big)
      return qt_err_set(err, QT_EIO, "larger than the limit of %lld bytes", (long long)s->limit);
    if (c == CURLE_OK && status == 404) return qt_err_set(err, QT_ENOTFOUND, "HTTP 404");
    if (c == CURLE_OK && status == 429) {
      curl_off_t ra = -1;
      if (curl_easy_getinfo(d->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
        /* honoured, but no server makes us wait more than 15 minutes */
        int64_t ra_ms = (int64_t)(ra > 900 ? 900 : ra) * 1000;
        if (ra_ms > wait) wait = ra_ms;
      }
      snprintf(why, sizeof why, "HTTP 429 (rate limited)");
    } else if (c == CURLE_OK && status == 416 && s->f) {
      /* the part file is as long as the file or longer: start it over */
      if (part_restart(s)) return qt_err_set(err, QT_EIO, "cannot rewrite the part file: %s", strerror(errno));
      snprintf(why, sizeof why, "HTTP 416 (range not satisfiable): starting over");
    } else if (c == CURLE_OK && status >= 500) {
      snprintf(why, sizeof why, "HTTP %ld", status);
    } else if (c == CURLE_OK) {
      return qt_err_set(err, QT_EIO, "HTTP %ld", status);
    } else if (transient(c)) {
      if (c == CURLE_PARTIAL_FILE) {
        curl_off_t cl = -1;
        curl_easy_getinfo(d->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        snprintf(why, sizeof why, "truncated transfer (%lld of %lld bytes)",
                 (long long)(s->f ? s->have : s->bytes), (long long)(cl + s->range_from));
      } else {
        snprintf(why, sizeof why, "%s", curl_easy_strerror(c));
      }
    } else {
      return qt_err_set(err, QT_EIO, "%s", curl_easy_strerror(c));
    }
    if (attempt >= o->retries)
      return qt_err_set(err, QT_EIO, "%s, after %d tr%s", why, attempt + 1, attempt ? "ies" : "y");
    if (o->on_event) {
      qt_dl_event ev;
      char msg[260];
      memset(&ev, 0, sizeof ev);
      snprintf(msg, sizeof msg, "%s: retry %d of %d in %lld ms", why, attempt + 1, o->retries,
               (long long)wait);
      ev.type = QT_DL_EV_RETRY;
      ev.kind = s->kind;
      ev.name = s->name;
      ev.index = d->index;
      ev.n_files = d->rep->planned;
      ev.wait_ms = wait;
      ev.msg = msg;
      o->on_event(o->ud, &ev);
    }
    sleep_ms(wait);
    backoff = backoff * 2 > o->backoff_max_ms ? o->backoff_max_ms : backoff * 2;
  }
}

/* ---- paths ---- */

/* The file's name and its path on the server (relative to the base URL). */
static int item_paths(const dl *d, const item *it, char *name, size_t ncap, char *rel, size_t rcap) {
  const char *k = k_kind_names[it->kind];
  char date[16];
  if (it->monthly) snprintf(date, sizeof date, "%04lld-%02d", (long long)it->y, it->m);
  else snprintf(date, sizeof date, "%04lld-%02d-%02d", (long long)it->y, it->m, it->d);
  int kl = it->kind == QT_DL_KLINES;
  int n1 = snprintf(name, ncap, "%s-%s-%s.zip", d->sym, kl ? d->o->interval : k, date);
  int n2 = snprintf(rel, rcap, "data/%s/%s/%s/%s/%s%s%s", d->o->market == QT_DL_MARKET_SPOT ? "spot" : "futures/um",
                    it->monthly ? "monthly" : "daily", k, d->sym, kl ? d->o->interval : "",
                    kl ? "/" : "", name);
  return n1 < 0 || (size_t)n1 >= ncap || n2 < 0 || (size_t)n2 >= rcap ? QT_EINVAL : QT_OK;
}

static int mkdirs_for(char *path) {
  for (char *p = path + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      int r = mkdir(path, 0777);
      *p = '/';
      if (r != 0 && errno != EEXIST) return -1;
    }
  return 0;
}

/* sha256 of a file as 64 hex digits.  QT_EIO. */
static int sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return QT_EIO;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char buf[65536], h[EVP_MAX_MD_SIZE];
  unsigned hl = 0;
  int rc = QT_EIO;
  size_t n;
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) goto fail;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    if (EVP_DigestUpdate(md, buf, n) != 1) goto fail;
  if (ferror(f) || EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32) goto fail;
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
  rc = QT_OK;
fail:
  EVP_MD_CTX_free(md);
  fclose(f);
  return rc;
}

/* Parses "<64 hex>  <name>" (the name, when present, must be ours) into a
 * lower-case hex digest.  QT_EPARSE naming what is wrong. */
static int parse_checksum(const char *text, size_t len, const char *name, char hex[65], qt_err *err) {
  size_t i = 0;
  for (; i < 64 && i < len; i++) {
    if (!isxdigit((unsigned char)text[i])) break;
    hex[i] = (char)tolower((unsigned char)text[i]);
  }
  hex[i < 65 ? i : 64] = 0;
  if (i != 64 || (i < len && !isspace((unsigned char)text[i])))
    return qt_err_set(err, QT_EPARSE, "checksum file: field 'sha256': not 64 hex digits");
  while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '*')) i++;
  size_t j = i;
  while (j < len && text[j] != '\n' && text[j] != '\r') j++;
  if (j > i && (j - i != strlen(name) || memcmp(text + i, name, j - i) != 0))
    return qt_err_set(err, QT_EPARSE, "checksum file: field 'name': names '%.*s', not %s",
                      (int)(j - i > 80 ? 80 : j - i), text + i, name);
  return QT_OK;
}

static int read_small(const char *path, char *buf, size_t cap, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (!f) return QT_EIO;
  size_t n = fread(buf, 1, cap, f);
  int bad = ferror(f);
  fclose(f);
  *out_len = n;
  return bad ? QT_EIO : QT_OK;
}

static int add_file(dl *d, int kind, const char *path) {
  if (d->n_files[kind] == d->cap_files[kind]) {
    size_t nc = d->cap_files[kind] ? 2 * d->cap_files[kind] : 16;
    char **p = qt_realloc(d->files[kind], nc * sizeof *p);
    if (!p) return QT_ENOMEM;
    d->files[kind] = p;
    d->cap_files[kind] = nc;
  }
  char *s = qt_strdup(path);
  if (!s) return QT_ENOMEM;
  d->files[kind][d->n_files[kind]++] = s;
  return QT_OK;
}

/* Settles one file: cached, fetched, missing or refused (*out_state; the
 * reason in msg).  Returns an error only for local failures (cache, memory). */
static int fetch_one(dl *d, const item *it, int quiet_missing, int *out_state, char *msg, size_t mcap,
                     qt_err *err) {
  char name[160], rel[512], path[PATH_CAP], cpath[PATH_CAP + 16], part[PATH_CAP + 16], url[PATH_CAP + 600];
  char want[65] = "", got[65] = "", ctext[QT_DL_CHECKSUM_MAX + 1];
  size_t clen = 0;
  int rc = QT_OK, keep_part = 0;
  FILE *f = NULL;
  sink s;
  qt_err e = {0};
  memset(&s, 0, sizeof s);
  *out_state = QT_DL_REFUSED;
  msg[0] = 0;
  if (item_paths(d, it, name, sizeof name, rel, sizeof rel))
    return qt_err_set(err, QT_EINVAL, "%s: path too long", d->sym);
  if ((size_t)snprintf(path, sizeof path, "%s/.download/%s", d->cat_dir, rel) >= sizeof path)
    return qt_err_set(err, QT_EINVAL, "%s: cache path too long", d->cat_dir);
  snprintf(cpath, sizeof cpath, "%s.CHECKSUM", path);
  snprintf(part, sizeof part, "%s.part", path);
  const char *base = d->o->base_url;
  size_t bl = strlen(base);
  while (bl && base[bl - 1] == '/') bl--;
  d->index++;
  /* already fetched and verified? */
  if (access(path, F_OK) == 0 && access(cpath, F_OK) == 0) {
    if (read_small(cpath, ctext, QT_DL_CHECKSUM_MAX, &clen) == QT_OK &&
        parse_checksum(ctext, clen, name, want, &e) == QT_OK && sha256_file(path, got) == QT_OK &&
        strcmp(want, got) == 0) {
      *out_state = QT_DL_CACHED;
      snprintf(msg, mcap, "%s: cached, sha256 verified", name);
      rc = add_file(d, it->kind, path);
      if (rc) rc = qt_err_set(err, rc, "out of memory");
      goto done;
    }
    unlink(path); /* a cache file that does not verify is fetched again */
    unlink(cpath);
  }
  if (mkdirs_for(path) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot create the cache folder: %s", path, strerror(errno));
    goto done;
  }
  emit(d, QT_DL_EV_BEGIN, it->kind, name, 0, NULL);
  /* the checksum first: it is small and says whether the file exists */
  snprintf(url, sizeof url, "%.*s/%s.CHECKSUM", (int)bl, base, rel);
  s.d = d;
  s.name = name;
  s.kind = it->kind;
  s.mem = ctext;
  s.limit = QT_DL_CHECKSUM_MAX;
  int g = http_get(d, url, &s, &e);
  if (g == QT_ENOTFOUND) {
    *out_state = QT_DL_MISSING;
    snprintf(msg, mcap, "%s: not on the server (HTTP 404)", name);
    goto done;
  }
  if (g) {
    snprintf(msg, mcap, "%s.CHECKSUM: %s", name, e.msg);
    goto done;
  }
  ctext[s.len] = 0;
  clen = s.len;
  if (parse_checksum(ctext, clen, name, want, &e)) {
    snprintf(msg, mcap, "%s.CHECKSUM: %s", name, e.msg + strlen("checksum file: "));
    goto done;
  }
  /* the file, hashed as it arrives; a part file left by an earlier run is
   * hashed first and the rest asked for with a range */
  f = fopen(part, "r+b");
  if (!f) f = fopen(part, "w+b");
  s.md = EVP_MD_CTX_new();
  if (!f || !s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
    rc = qt_err_set(err, f ? QT_ENOMEM : QT_EIO, "%s: cannot write: %s", part, strerror(errno));
    goto done;
  }
  s.mem = NULL;
  s.f = f;
  s.limit = QT_DL_FILE_MAX;
  {
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
      EVP_DigestUpdate(s.md, buf, n);
      s.have += (int64_t)n;
    }
    if (ferror(f) || fseek(f, 0, SEEK_END) != 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot read: %s", part, strerror(errno));
      goto done;
    }
  }
  int64_t resumed_at = s.have;
  snprintf(url, sizeof url, "%.*s/%s", (int)bl, base, rel);
  for (int pass = 0;; pass++) {
    g = http_get(d, url, &s, &e);
    if (g == QT_ENOTFOUND) {
      *out_state = QT_DL_MISSING;
      snprintf(msg, mcap, "%s: not on the server (HTTP 404; its .CHECKSUM is)", name);
      goto done;
    }
    if (g) {
      keep_part = !s.too_big && s.have > 0; /* the next run goes on from there */
      snprintf(msg, mcap, "%s: %s", name, e.msg);
      goto done;
    }
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    if (EVP_DigestFinal_ex(s.md, h, &hl) != 1 || hl != 32 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot finish: %s", part, strerror(errno));
      goto done;
    }
    for (unsigned i = 0; i < 32; i++) snprintf(got + 2 * i, 3, "%02x", h[i]);
    if (strcmp(want, got) == 0) break;
    if (pass == 0 && resumed_at > 0) {
      /* the part may be of an older version of the file: once from scratch */
      resumed_at = 0;
      if (part_restart(&s)) {
        rc = qt_err_set(err, QT_EIO, "%s: cannot rewrite: %s", part, strerror(errno));
        goto done;
      }
      continue;
    }
    snprintf(msg, mcap, "%s: sha256 mismatch (CHECKSUM %.12s..., file %.12s..., %lld bytes): refused",
             name, want, got, (long long)s.have);
    goto done;
  }
  fclose(f);
  f = NULL;
  if (qt_file_write_atomic(cpath, ctext, clen, err)) {
    rc = err ? err->code : QT_EIO;
    goto done;
  }
  if (rename(part, path) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot rename into the cache: %s", path, strerror(errno));
    goto done;
  }
  *out_state = QT_DL_FETCHED;
  if (resumed_at > 0 && !s.restarts)
    snprintf(msg, mcap, "%s: fetched %lld bytes (resumed at byte %lld), sha256 verified", name,
             (long long)(s.have - resumed_at), (long long)resumed_at);
  else snprintf(msg, mcap, "%s: fetched %lld bytes, sha256 verified", name, (long long)s.have);
  rc = add_file(d, it->kind, path);
  if (rc) rc = qt_err_set(err, rc, "out of memory");
done:
  if (f) fclose(f);
  EVP_MD_CTX_free(s.md);
  if (*out_state != QT_DL_FETCHED && !keep_part) unlink(part);
  if (rc == QT_OK) {
    d->rep->n_state[*out_state]++;
    if (!(quiet_missing && *out_state == QT_DL_MISSING))
      emit(d, QT_DL_EV_DONE, it->kind, name, *out_state, msg);
  }
  return rc;
}

/* ---- the plan ---- */

static int days_in_month(int64_t y, int m) {
  int64_t a = qt_time_days_from_civil(y, m, 1);
  int64_t b = m == 12 ? qt_time_days_from_civil(y + 1, 1, 1) : qt_time_days_from_civil(y, m + 1, 1);
  return (int)(b - a);
}

/* The daily files of month (y, m) inside [from_day, to_day), after a
 * monthly file the server lacks. */
static int fallback_days(dl *d, int kind, int64_t y, int m, int64_t from_day, int64_t to_day,
                         qt_err *err) {
  int64_t first = qt_time_days_from_civil(y, m, 1), n = days_in_month(y, m);
  size_t missing = 0, total = 0;
  int64_t a = first > from_day ? first : from_day, b = first + n < to_day ? first + n : to_day;
  item *its = qt_calloc((size_t)(b > a ? b - a : 1), sizeof *its);
  if (!its) return qt_err_set(err, QT_ENOMEM, "out of memory");
  for (int64_t dd = a; dd < b; dd++) {
    item *it = &its[total++];
    it->kind = kind;
    qt_time_civil_from_days(dd, &it->y, &it->m, &it->d);
  }
  d->rep->planned += total;
  int rc = QT_OK;
  char msg[600], label[16];
  int *st = qt_calloc(total ? total : 1, sizeof *st);
  if (!st) {
    qt_free(its);
    return qt_err_set(err, QT_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < total && rc == QT_OK; i++) {
    rc = fetch_one(d, &its[i], 1, &st[i], msg, sizeof msg, err);
    if (rc == QT_OK && st[i] == QT_DL_MISSING) missing++;
  }
  snprintf(label, sizeof label, "%04lld-%02d", (long long)y, m);
  if (rc == QT_OK && missing == total) {
    d->rep->missing_months++;
    snprintf(msg, sizeof msg, "%s-%s-%s (the whole month): not on the server (the monthly file and its "
             "%zu daily files: HTTP 404)", d->sym, kind == QT_DL_KLINES ? d->o->interval : k_kind_names[kind],
             label, total);
    emit(d, QT_DL_EV_DONE, kind, label, QT_DL_MISSING, msg);
  } else if (rc == QT_OK) {
    for (size_t i = 0; i < total; i++)
      if (st[i] == QT_DL_MISSING) {
        char name[160], rel[512];
        item_paths(d, &its[i], name, sizeof name, rel, sizeof rel);
        snprintf(msg, sizeof msg, "%s: not on the server (HTTP 404)", name);
        emit(d, QT_DL_EV_DONE, kind, name, QT_DL_MISSING, msg);
      }
  }
  qt_free(st);
  qt_free(its);
  return rc;
}

/* One kind: its months and days in order, each settled, then imported. */
static int run_kind(dl *d, int kind, int64_t from_day, int64_t to_day, int64_t today, qt_err *err) {
  char msg[600];
  int rc = QT_OK, st;
  size_t n_not_yet = 0;
  int64_t first_not_yet = -1;
  int64_t dd = from_day;
  while (dd < to_day && rc == QT_OK) {
    item it;
    memset(&it, 0, sizeof it);
    it.kind = kind;
    qt_time_civil_from_days(dd, &it.y, &it.m, &it.d);
    int64_t mfirst = dd - (it.d - 1), mend = mfirst + days_in_month(it.y, it.m);
    int whole = it.d == 1 && mend <= to_day;
    if (kind == QT_DL_FUNDINGRATE) whole = 1; /* published monthly only */
    if (whole && mend <= today) {
      it.monthly = 1;
      d->rep->planned++;
      rc = fetch_one(d, &it, d->o->daily_fallback && kind != QT_DL_FUNDINGRATE, &st, msg, sizeof msg, err);
      if (rc == QT_OK && st == QT_DL_MISSING && kind != QT_DL_FUNDINGRATE && d->o->daily_fallback) {
        d->rep->n_state[QT_DL_MISSING]--; /* the month is its days now */
        rc = fallback_days(d, kind, it.y, it.m, from_day, to_day, err);
      }
      dd = mend;
    } else if (kind == QT_DL_FUNDINGRATE || dd >= today) {
      if (first_not_yet < 0) first_not_yet = dd;
      n_not_yet++;
      dd = kind == QT_DL_FUNDINGRATE ? mend : dd + 1;
    } else {
      d->rep->planned++;
      rc = fetch_one(d, &it, 0, &st, msg, sizeof msg, err);
      dd++;
    }
  }
  if (rc) return rc;
  if (n_not_yet) {
    char t[40];
    qt_time_format(first_not_yet * DAY_MS, t, sizeof t);
    d->rep->not_yet += n_not_yet;
    snprintf(msg, sizeof msg, "%s: %zu %s from %.10s on not over yet, so not published: skipped",
             k_kind_names[kind], n_not_yet,
             kind == QT_DL_FUNDINGRATE ? (n_not_yet > 1 ? "months" : "month") : (n_not_yet > 1 ? "days" : "day"),
             t);
    emit(d, QT_DL_EV_DONE, kind, "", QT_DL_MISSING, msg);
  }
  return QT_OK;
}

static int import_kind(dl *d, qt_catalog *cat, int kind, const char *store_as, qt_err *err) {
  qt_import im;
  memset(&im, 0, sizeof im);
  static const int fmt[QT_DL_KIND_COUNT] = {QT_FMT_KLINE, QT_FMT_AGGTRADES, QT_FMT_FUNDINGRATE,
                                            QT_FMT_BOOKTICKER};
  qt_import_opts io = qt_import_opts_default();
  io.format = fmt[kind];
  io.kind = (int)k_kind_series[kind];
  io.skip_bad = d->o->skip_bad;
  int rc = qt_import_files((const char *const *)d->files[kind], d->n_files[kind], &io, &im, err);
  if (rc) goto fail;
  size_t added = im.stats.rows_kept;
  int mr = qt_catalog_merge(cat, store_as, &im, err);
  if (mr < 0) {
    rc = mr;
    goto fail;
  }
  d->rep->rows[kind] = im.stats.rows_kept;
  d->rep->written[kind] = mr == QT_DONE ? 0 : 1;
  char msg[800], skipped[300] = "";
  if (im.stats.skipped)
    snprintf(skipped, sizeof skipped, "; %zu bad rows skipped, the first: %s", im.stats.skipped,
             im.stats.first_bad);
  snprintf(msg, sizeof msg, "%s %s: %zu files, %zu rows read, catalog now %zu rows (was %zu): %s%s",
           store_as, qt_kind_name(k_kind_series[kind]), d->n_files[kind], added, im.stats.rows_kept,
           im.stats.stored_before, mr == QT_DONE ? "unchanged" : "written", skipped);
  emit(d, QT_DL_EV_IMPORT, kind, store_as, 0, msg);
fail:
  qt_import_fini(&im);
  return rc;
}

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init = CURLE_OK;
static void curl_init_once(void) { g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int check_opts(const qt_download_opts *o, dl *d, qt_err *err) {
  if (!o->symbol || !*o->symbol) return qt_err_set(err, QT_EINVAL, "download: needs a symbol");
  size_t n = strlen(o->symbol);
  if (n >= sizeof d->sym) return qt_err_set(err, QT_EINVAL, "--symbol: '%s' too long", o->symbol);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)o->symbol[i];
    if (!isalnum(c) && c != '_' && c != '-')
      return qt_err_set(err, QT_EINVAL, "--symbol: '%s': only letters, digits, '_' and '-'", o->symbol);
    d->sym[i] = (char)toupper(c);
  }
  d->sym[n] = 0;
  static const char *const iv[] = {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h",
                                   "6h", "8h", "12h", "1d", "3d", "1w", "1mo"};
  int ok = 0;
  for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
    if (o->interval && strcmp(o->interval, iv[i]) == 0) ok = 1;
  if (!ok)
    return qt_err_set(err, QT_EINVAL, "--interval: '%s' is not one of the exchange's kline intervals "
                      "(1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1mo)", o->interval ? o->interval : "");
  if (o->from_ms % DAY_MS || o->to_ms % DAY_MS || o->from_ms < 0)
    return qt_err_set(err, QT_EINVAL, "--from/--to: whole UTC days (YYYY-MM-DD), not times of day");
  if (o->from_ms >= o->to_ms) return qt_err_set(err, QT_EINVAL, "--from must be before --to");
  if (!o->kinds || o->kinds >> QT_DL_KIND_COUNT)
    return qt_err_set(err, QT_EINVAL, "--kinds: no kind given");
  if (o->market != QT_DL_MARKET_UM && o->market != QT_DL_MARKET_SPOT)
    return qt_err_set(err, QT_EINVAL, "--market: um or spot");
  if (o->market == QT_DL_MARKET_SPOT) {
    for (int k = 0; k < QT_DL_KIND_COUNT; k++)
      if ((o->kinds >> k & 1) && (k == QT_DL_FUNDINGRATE || k == QT_DL_BOOKTICKER))
        return qt_err_set(err, QT_EINVAL, "--kinds: the spot market publishes no %s dumps (klines, aggTrades)",
                          k_kind_names[k]);
  }
  if (!o->base_url || (strncmp(o->base_url, "http://", 7) && strncmp(o->base_url, "https://", 8)))
    return qt_err_set(err, QT_EINVAL, "--base-url: '%s' is not an http:// or https:// URL",
                      o->base_url ? o->base_url : "");
  if (o->retries < 0 || o->backoff_ms < 0 || o->backoff_max_ms < o->backoff_ms)
    return qt_err_set(err, QT_EINVAL, "--retries/--backoff: negative, or the maximum below the start");
  return QT_OK;
}

int qt_download_run(const qt_download_opts *o, const char *catalog_dir, qt_download_report *out,
                    qt_err *err) {
  qt_download_report rep;
  dl d;
  qt_catalog *cat = NULL;
  memset(&rep, 0, sizeof rep);
  memset(&d, 0, sizeof d);
  for (int k = 0; k < QT_DL_KIND_COUNT; k++) rep.written[k] = -1;
  d.o = o;
  d.rep = &rep;
  d.cat_dir = catalog_dir;
  int rc = check_opts(o, &d, err);
  if (rc) goto fail;
  pthread_once(&g_curl_once, curl_init_once);
  if (g_curl_init != CURLE_OK) {
    rc = qt_err_set(err, QT_EIO, "libcurl: %s", curl_easy_strerror(g_curl_init));
    goto fail;
  }
  if ((rc = qt_catalog_open(catalog_dir, 1, &cat, err))) goto fail;
  if (!(d.curl = curl_easy_init())) {
    rc = qt_err_set(err, QT_ENOMEM, "libcurl: cannot make a handle");
    goto fail;
  }
  curl_easy_setopt(d.curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(d.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(d.curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(d.curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(d.curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(d.curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(d.curl, CURLOPT_USERAGENT, "qtune/" QT_VERSION);
  curl_easy_setopt(d.curl, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
  curl_easy_setopt(d.curl, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
  curl_easy_setopt(d.curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(d.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  int64_t now = o->now_ms ? o->now_ms : (int64_t)time(NULL) * 1000;
  int64_t today = now / DAY_MS, from_day = o->from_ms / DAY_MS, to_day = o->to_ms / DAY_MS;
  const char *store_as = o->store_as && *o->store_as ? o->store_as : d.sym;
  for (int k = 0; k < QT_DL_KIND_COUNT && rc == QT_OK; k++) {
    if (!(o->kinds >> k & 1)) continue;
    rc = run_kind(&d, k, from_day, to_day, today, err);
    if (rc == QT_OK && d.n_files[k]) rc = import_kind(&d, cat, k, store_as, err);
  }
  if (rc == QT_OK && (rep.n_state[QT_DL_MISSING] || rep.n_state[QT_DL_REFUSED] || rep.not_yet))
    rc = QT_DONE;
fail:
  if (d.curl) curl_easy_cleanup(d.curl);
  for (int k = 0; k < QT_DL_KIND_COUNT; k++) {
    for (size_t i = 0; i < d.n_files[k]; i++) qt_free(d.files[k][i]);
    qt_free(d.files[k]);
  }
  qt_catalog_close(cat);
  if (out) *out = rep;
  return rc;
}
