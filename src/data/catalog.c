/* The on-disk catalog: CATALOG/.qtune-catalog marks the root, and each
 * series is CATALOG/<SYMBOL>/<kind>/data.qtc, a columnar file (layout in
 * docs/data.md) that loads with one mmap and no copy: the header is 192
 * bytes and every column starts on a 64-byte boundary, so the mapped
 * columns are the series.  Writes go to a temp file, fsync, rename. */
#include "data/import_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define QTC_MAGIC "QTUNECAT"
#define QTC_VERSION 1u
#define QTC_ENDIAN 0x01020304u
#define QTC_MARKER ".qtune-catalog"
#define QTC_HEADER 192

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the catalog format is little-endian; add byte swapping for this host"
#endif

typedef struct qtc_header {
  char magic[8];          /* "QTUNECAT" */
  uint32_t version;       /* QTC_VERSION */
  uint32_t kind;          /* qt_kind */
  uint32_t n_cols;        /* columns of the kind */
  uint32_t endian;        /* QTC_ENDIAN as written by the host */
  uint64_t n_rows;
  int64_t interval_ms;    /* bars: inferred bar length; else 0 */
  int64_t first_ms, last_ms;
  uint64_t payload_off;   /* = QTC_HEADER */
  uint64_t payload_len;   /* bytes from payload_off to the end of the file */
  uint64_t checksum;      /* lane hash of the payload (see payload_hash) */
  uint64_t col_off[QT__MAX_COLS];
  uint8_t pad[24];
  uint64_t header_sum;    /* FNV-1a 64 of the bytes before this field */
} qtc_header;
_Static_assert(sizeof(qtc_header) == QTC_HEADER, "catalog header size");

struct qt_catalog {
  char *dir;
  int verify;
};

/* ---------------------------------------------------------------- hashing */

static uint64_t fnv1a(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
  return h;
}

/* Four independent 64-bit lanes (xxHash64's round) so the hash runs at
 * memory speed; lengths are multiples of 32 because columns are padded. */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
typedef struct lane_hash {
  uint64_t a[4];
  uint64_t len;
} lane_hash;

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static void lh_init(lane_hash *h) {
  h->a[0] = P1 + P2, h->a[1] = P2, h->a[2] = 0, h->a[3] = (uint64_t)0 - P1;
  h->len = 0;
}

static void lh_update(lane_hash *h, const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t a0 = h->a[0], a1 = h->a[1], a2 = h->a[2], a3 = h->a[3];
  for (size_t i = 0; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, s + i, 32);
    a0 = rotl(a0 + w[0] * P2, 31) * P1;
    a1 = rotl(a1 + w[1] * P2, 31) * P1;
    a2 = rotl(a2 + w[2] * P2, 31) * P1;
    a3 = rotl(a3 + w[3] * P2, 31) * P1;
  }
  h->a[0] = a0, h->a[1] = a1, h->a[2] = a2, h->a[3] = a3;
  h->len += n;
}

static uint64_t lh_final(const lane_hash *h) {
  uint64_t x = rotl(h->a[0], 1) + rotl(h->a[1], 7) + rotl(h->a[2], 12) + rotl(h->a[3], 18);
  x ^= h->len;
  x ^= x >> 33;
  x *= P2;
  x ^= x >> 29;
  x *= P1;
  x ^= x >> 32;
  return x;
}

/* ---------------------------------------------------------------- columns */

static size_t pad64(size_t n) { return (n + 63) & ~(size_t)63; }

typedef struct cols {
  int n;
  const void *p[QT__MAX_COLS];
  size_t elem[QT__MAX_COLS];
  size_t rows;
  int64_t interval_ms;
} cols;

static void cols_of(const qt_import *im, cols *c) {
  memset(c, 0, sizeof *c);
  c->n = qt__kind_ncols(im->kind);
  for (int i = 0; i < c->n; i++) c->elem[i] = 8;
  switch (im->kind) {
  case QT_KIND_BARS: {
    const qt_bars *b = &im->bars;
    const void *p[10] = {b->ts_ms,        b->open,        b->high,           b->low,
                         b->close,        b->volume,      b->quote_volume,   b->trade_count,
                         b->taker_buy_base, b->taker_buy_quote};
    memcpy(c->p, p, sizeof p);
    c->rows = b->n;
    c->interval_ms = b->interval_ms;
    break;
  }
  case QT_KIND_TRADES: {
    const qt_trades *t = &im->trades;
    const void *p[5] = {t->ts_ms, t->id, t->price, t->qty, t->buyer_is_maker};
    memcpy(c->p, p, sizeof p);
    c->elem[4] = 1;
    c->rows = t->n;
    break;
  }
  case QT_KIND_FUNDING: {
    const qt_funding *f = &im->funding;
    const void *p[3] = {f->ts_ms, f->rate, f->interval_h};
    memcpy(c->p, p, sizeof p);
    c->rows = f->n;
    break;
  }
  default: {
    const qt_quotes *q = &im->quotes;
    const void *p[5] = {q->ts_ms, q->bid, q->bid_qty, q->ask, q->ask_qty};
    memcpy(c->p, p, sizeof p);
    c->rows = q->n;
    break;
  }
  }
}

static const unsigned char k_zeros[64];

static uint64_t cols_hash(const cols *c) {
  lane_hash h;
  lh_init(&h);
  for (int i = 0; i < c->n; i++) {
    size_t bytes = c->rows * c->elem[i], whole = bytes & ~(size_t)31;
    lh_update(&h, c->p[i], whole);
    unsigned char tail[64];
    memset(tail, 0, sizeof tail);
    memcpy(tail, (const unsigned char *)c->p[i] + whole, bytes - whole);
    size_t rest = pad64(bytes) - whole; /* tail bytes + zero padding, a multiple of 32 */
    if (rest >= 32) lh_update(&h, tail, 32);
    if (rest > 32) lh_update(&h, k_zeros, rest - 32);
  }
  return lh_final(&h);
}

/* The header of kind with c's shape (n, rows, interval, elem) and the
 * given first and last times. */
static void header_fill(qtc_header *hd, qt_kind kind, const cols *c, int64_t first_ms,
                        int64_t last_ms, uint64_t sum) {
  memset(hd, 0, sizeof *hd);
  memcpy(hd->magic, QTC_MAGIC, 8);
  hd->version = QTC_VERSION;
  hd->kind = (uint32_t)kind;
  hd->n_cols = (uint32_t)c->n;
  hd->endian = QTC_ENDIAN;
  hd->n_rows = c->rows;
  hd->interval_ms = c->interval_ms;
  hd->first_ms = first_ms;
  hd->last_ms = last_ms;
  hd->payload_off = QTC_HEADER;
  uint64_t off = QTC_HEADER;
  for (int i = 0; i < c->n; i++) {
    hd->col_off[i] = off;
    off += pad64(c->rows * c->elem[i]);
  }
  hd->payload_len = off - QTC_HEADER;
  hd->checksum = sum;
  hd->header_sum = fnv1a(hd, offsetof(qtc_header, header_sum));
}

static void header_build(qtc_header *hd, qt_kind kind, const cols *c, uint64_t sum) {
  const int64_t *ts = c->p[0];
  header_fill(hd, kind, c, c->rows ? ts[0] : 0, c->rows ? ts[c->rows - 1] : 0, sum);
}

/* ---------------------------------------------------------------- paths */

static int symbol_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= 64 || s[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

static int series_path(const qt_catalog *c, const char *symbol, qt_kind k, char *buf, size_t cap,
                       qt_err *err) {
  if (!symbol_ok(symbol))
    return qt_err_set(err, QT_EINVAL,
                      "symbol '%s': use 1-63 characters of A-Z a-z 0-9 . _ - (not starting with .)",
                      symbol ? symbol : "");
  if ((size_t)snprintf(buf, cap, "%s/%s/%s/data.qtc", c->dir, symbol, qt_kind_name(k)) >= cap)
    return qt_err_set(err, QT_EINVAL, "%s: catalog path too long", c->dir);
  return QT_OK;
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int r = mkdir(path, 0777);
    *p = '/';
    if (r != 0 && errno != EEXIST) return -1;
  }
  return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---------------------------------------------------------------- open */

int qt_catalog_open(const char *dir, int create, qt_catalog **out, qt_err *err) {
  int rc = QT_OK;
  qt_catalog *c = NULL;
  char marker[4096], *tmp = NULL;
  *out = NULL;
  if (!dir || !*dir) return qt_err_set(err, QT_EINVAL, "catalog: no directory given");
  if ((size_t)snprintf(marker, sizeof marker, "%s/%s", dir, QTC_MARKER) >= sizeof marker - 256)
    return qt_err_set(err, QT_EINVAL, "%s: catalog path too long", dir);
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (!create) return qt_err_set(err, QT_ENOTFOUND, "%s: no such catalog", dir);
    tmp = qt_strdup(dir);
    if (!tmp) return qt_err_set(err, QT_ENOMEM, "out of memory");
    if (mkdirs(tmp) != 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot create: %s", dir, strerror(errno));
      goto fail;
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return qt_err_set(err, QT_EINVAL, "%s: not a directory, so not a catalog", dir);
  }
  if (access(marker, F_OK) != 0) {
    /* Only an empty directory may become a catalog: importing into a
     * mistyped path (a home or source dir) must not litter it. */
    DIR *d = opendir(dir);
    int empty = 1;
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    if (d) closedir(d);
    if (!d) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot read: %s", dir, strerror(errno));
      goto fail;
    }
    /* Two imports creating one catalog at once: the other one's marker
     * (and its series) may have appeared since the check above. */
    if (!empty && access(marker, F_OK) == 0) goto made;
    if (!create || !empty) {
      rc = qt_err_set(err, QT_EINVAL, "%s: not a qtune catalog (no %s file)%s", dir, QTC_MARKER,
                      create ? "; use an empty or new directory" : "");
      goto fail;
    }
    FILE *f = fopen(marker, "w");
    if (!f || fputs("qtune catalog 1\n", f) < 0 || fclose(f) != 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot write: %s", marker, strerror(errno));
      goto fail;
    }
  }
made:
  c = qt_calloc(1, sizeof *c);
  if (!c || !(c->dir = qt_strdup(dir))) {
    rc = qt_err_set(err, QT_ENOMEM, "out of memory");
    goto fail;
  }
  c->verify = 1;
  *out = c;
  c = NULL;
fail:
  if (c) qt_free(c->dir);
  qt_free(c);
  qt_free(tmp);
  return rc;
}

void qt_catalog_close(qt_catalog *c) {
  if (!c) return;
  qt_free(c->dir);
  qt_free(c);
}

const char *qt_catalog_dir(const qt_catalog *c) { return c->dir; }

void qt_catalog_set_verify(qt_catalog *c, int verify) { c->verify = verify; }

/* ---------------------------------------------------------------- load */

static size_t elem_of(qt_kind k, int i) { return k == QT_KIND_TRADES && i == 4 ? 1 : 8; }

/* Maps path and checks the header (and the payload when verify). */
static int map_file(const char *path, qt_kind kind, int verify, void **out_base, size_t *out_len,
                    const qtc_header **out_hd, qt_err *err) {
  int rc = QT_OK;
  void *base = MAP_FAILED;
  size_t len = 0;
  *out_base = NULL;
  *out_len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENOENT ? qt_err_set(err, QT_ENOTFOUND, "%s: no such series", path)
                         : qt_err_set(err, QT_EIO, "%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < QTC_HEADER) {
    rc = qt_err_set(err, QT_EPARSE, "%s: too short for a catalog file", path);
    goto fail;
  }
  len = (size_t)st.st_size;
  base = mmap(NULL, len, PROT_READ, MAP_PRIVATE | (verify == 1 ? MAP_POPULATE : 0), fd, 0);
  if (base == MAP_FAILED) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot map: %s", path, strerror(errno));
    goto fail;
  }
  const qtc_header *hd = base;
  if (memcmp(hd->magic, QTC_MAGIC, 8) != 0) {
    rc = qt_err_set(err, QT_EPARSE, "%s: not a catalog file (bad magic)", path);
    goto fail;
  }
  if (hd->version != QTC_VERSION) {
    rc = qt_err_set(err, QT_EPARSE, "%s: unsupported catalog format version %u", path, hd->version);
    goto fail;
  }
  if (hd->header_sum != fnv1a(hd, offsetof(qtc_header, header_sum)) || hd->endian != QTC_ENDIAN) {
    rc = qt_err_set(err, QT_EPARSE, "%s: corrupt header (checksum mismatch)", path);
    goto fail;
  }
  if (hd->kind != (uint32_t)kind || hd->n_cols != (uint32_t)qt__kind_ncols(kind) ||
      hd->payload_off != QTC_HEADER || hd->payload_off + hd->payload_len != len ||
      hd->n_rows > len) {
    rc = qt_err_set(err, QT_EPARSE, "%s: corrupt header (kind, size or offsets)", path);
    goto fail;
  }
  for (uint32_t i = 0; i < hd->n_cols; i++) {
    uint64_t off = hd->col_off[i], bytes = hd->n_rows * elem_of(kind, (int)i);
    if (off % 64 || off < QTC_HEADER || off > len || bytes > len - off) {
      rc = qt_err_set(err, QT_EPARSE, "%s: corrupt header (column %u out of bounds)", path, i);
      goto fail;
    }
  }
  if (verify) {
    lane_hash h;
    lh_init(&h);
    if (verify == 1) {
      lh_update(&h, (const char *)base + QTC_HEADER, hd->payload_len);
    } else {
      /* verify == 2 (a streaming merge): hashed window by window, each
       * window's pages dropped after it (clean file pages: they refault
       * from the page cache), so the check does not hold the file in RSS */
      const size_t win = (size_t)8 << 20;
      const char *p = (const char *)base + QTC_HEADER;
      for (size_t off = 0; off < hd->payload_len; off += win) {
        size_t n = hd->payload_len - off < win ? hd->payload_len - off : win;
        lh_update(&h, p + off, n);
        uintptr_t a = ((uintptr_t)(p + off) + 4095) & ~(uintptr_t)4095;
        uintptr_t e = (uintptr_t)(p + off + n) & ~(uintptr_t)4095;
        if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
      }
    }
    if (hd->payload_len % 32 || lh_final(&h) != hd->checksum) {
      rc = qt_err_set(err, QT_EPARSE, "%s: corrupt data (checksum mismatch)", path);
      goto fail;
    }
  }
  *out_base = base;
  *out_len = len;
  *out_hd = hd;
  base = MAP_FAILED;
fail:
  if (base != MAP_FAILED) munmap(base, len);
  if (fd >= 0) close(fd);
  return rc;
}

static int get_any_v(qt_catalog *c, const char *symbol, qt_kind kind, int verify, qt_import *out,
                     qt_err *err);

static int get_any(qt_catalog *c, const char *symbol, qt_kind kind, qt_import *out, qt_err *err) {
  return get_any_v(c, symbol, kind, c->verify, out, err);
}

static int get_any_v(qt_catalog *c, const char *symbol, qt_kind kind, int verify, qt_import *out,
                     qt_err *err) {
  char path[4096];
  memset(out, 0, sizeof *out);
  out->kind = kind;
  int rc = series_path(c, symbol, kind, path, sizeof path, err);
  if (rc) return rc;
  void *base;
  size_t len;
  const qtc_header *hd;
  rc = map_file(path, kind, verify, &base, &len, &hd, err);
  if (rc) return rc;
  char *b = base;
  size_t n = (size_t)hd->n_rows;
  qt_backing mem = {base, len, 1};
#define COL(i) ((void *)(b + hd->col_off[i]))
  switch (kind) {
  case QT_KIND_BARS: {
    qt_bars *x = &out->bars;
    x->n = n, x->interval_ms = hd->interval_ms, x->mem = mem;
    x->ts_ms = COL(0), x->open = COL(1), x->high = COL(2), x->low = COL(3), x->close = COL(4);
    x->volume = COL(5), x->quote_volume = COL(6), x->trade_count = COL(7);
    x->taker_buy_base = COL(8), x->taker_buy_quote = COL(9);
    break;
  }
  case QT_KIND_TRADES: {
    qt_trades *x = &out->trades;
    x->n = n, x->mem = mem;
    x->ts_ms = COL(0), x->id = COL(1), x->price = COL(2), x->qty = COL(3);
    x->buyer_is_maker = COL(4);
    break;
  }
  case QT_KIND_FUNDING: {
    qt_funding *x = &out->funding;
    x->n = n, x->mem = mem;
    x->ts_ms = COL(0), x->rate = COL(1), x->interval_h = COL(2);
    break;
  }
  default: {
    qt_quotes *x = &out->quotes;
    x->n = n, x->mem = mem;
    x->ts_ms = COL(0), x->bid = COL(1), x->bid_qty = COL(2), x->ask = COL(3), x->ask_qty = COL(4);
    break;
  }
  }
#undef COL
  return QT_OK;
}

int qt_catalog_get_bars(qt_catalog *c, const char *symbol, qt_bars *out, qt_err *err) {
  qt_import im;
  int rc = get_any(c, symbol, QT_KIND_BARS, &im, err);
  *out = im.bars;
  return rc;
}

int qt_catalog_get_trades(qt_catalog *c, const char *symbol, qt_trades *out, qt_err *err) {
  qt_import im;
  int rc = get_any(c, symbol, QT_KIND_TRADES, &im, err);
  *out = im.trades;
  return rc;
}

int qt_catalog_get_funding(qt_catalog *c, const char *symbol, qt_funding *out, qt_err *err) {
  qt_import im;
  int rc = get_any(c, symbol, QT_KIND_FUNDING, &im, err);
  *out = im.funding;
  return rc;
}

int qt_catalog_get_quotes(qt_catalog *c, const char *symbol, qt_quotes *out, qt_err *err) {
  qt_import im;
  int rc = get_any(c, symbol, QT_KIND_QUOTES, &im, err);
  *out = im.quotes;
  return rc;
}

/* ---------------------------------------------------------------- store */

/* Whether the file at path holds exactly these columns. */
static int same_as_stored(const char *path, qt_kind kind, const cols *c, uint64_t sum) {
  void *base;
  size_t len;
  const qtc_header *hd;
  if (map_file(path, kind, 1, &base, &len, &hd, NULL)) return 0; /* a damaged file is rewritten */
  int same = hd->n_rows == c->rows && hd->interval_ms == c->interval_ms && hd->checksum == sum;
  for (int i = 0; same && i < c->n; i++)
    same = memcmp((char *)base + hd->col_off[i], c->p[i], c->rows * c->elem[i]) == 0;
  munmap(base, len);
  return same;
}

int qt__data_write_all(int fd, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* ---------------------------------------------------------------- write lock */

/* Every writer of a series holds an exclusive flock on
 * CATALOG/<SYMBOL>/<kind>/.lock from reading what is stored to the rename,
 * so two imports into one series serialize and the second merges with what
 * the first wrote.  The lock dies with its process, so a killed writer
 * never blocks the next one. */
static int lock_series(qt_catalog *c, const char *symbol, qt_kind kind, int *out_fd, qt_err *err) {
  char dir[4096], path[4200];
  *out_fd = -1;
  int rc = series_path(c, symbol, kind, path, sizeof path, err);
  if (rc) return rc;
  snprintf(dir, sizeof dir, "%s/%s/%s", c->dir, symbol, qt_kind_name(kind));
  if (mkdirs(dir) != 0) return qt_err_set(err, QT_EIO, "%s: cannot create: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return qt_err_set(err, QT_EIO, "%s: cannot open the write lock: %s", path, strerror(errno));
  int r;
  while ((r = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (r != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot lock: %s", path, strerror(errno));
    close(fd);
    return rc;
  }
  /* Holding the lock, no other writer of this series is mid-write: any
   * temp file here was left by a writer that died (kill -9, a crash) and
   * would otherwise stay for ever. */
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (strncmp(e->d_name, "data.qtc.tmp.", 13) == 0) {
        unlinkat(dirfd(d), e->d_name, 0);
      }
    closedir(d);
  }
  *out_fd = fd;
  return QT_OK;
}

static void unlock_series(int fd) {
  if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}

/* Writes the series (the caller holds the series' lock). */
static int write_series(qt_catalog *c, const char *symbol, const qt_import *im, qt_err *err) {
  int rc = QT_OK, fd = -1;
  char path[4096], tmp[4200], dir[4096];
  tmp[0] = '\0';
  rc = series_path(c, symbol, im->kind, path, sizeof path, err);
  if (rc) return rc;
  cols cs;
  cols_of(im, &cs);
  if (cs.rows == 0) return qt_err_set(err, QT_EINVAL, "%s: no rows to store", path);
  const int64_t *ts = cs.p[0];
  for (size_t i = 1; i < cs.rows; i++)
    if (ts[i] < ts[i - 1] || (ts[i] == ts[i - 1] && (im->kind == QT_KIND_BARS ||
                                                     im->kind == QT_KIND_FUNDING)))
      return qt_err_set(err, QT_EINVAL, "%s: rows not in time order at row %zu", path, i);
  uint64_t sum = cols_hash(&cs);
  if (same_as_stored(path, im->kind, &cs, sum)) return QT_DONE;
  snprintf(dir, sizeof dir, "%s/%s/%s", c->dir, symbol, qt_kind_name(im->kind));
  if (mkdirs(dir) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot create: %s", dir, strerror(errno));
    goto fail;
  }
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    tmp[0] = '\0';
    goto fail;
  }
  qtc_header hd;
  header_build(&hd, im->kind, &cs, sum);
  int bad = qt__data_write_all(fd, &hd, sizeof hd) != 0;
  for (int i = 0; i < cs.n && !bad; i++) {
    size_t bytes = cs.rows * cs.elem[i];
    bad = qt__data_write_all(fd, cs.p[i], bytes) != 0 ||
          qt__data_write_all(fd, k_zeros, pad64(bytes) - bytes) != 0;
  }
  if (bad || fsync(fd) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: write failed: %s", tmp, strerror(errno));
    goto fail;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = qt_err_set(err, QT_EIO, "%s: write failed: %s", tmp, strerror(errno));
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    goto fail;
  }
  tmp[0] = '\0';
  /* The rename is durable only once the directory entry is. */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
fail:
  if (fd >= 0) close(fd);
  if (tmp[0]) unlink(tmp);
  return rc;
}

static int put_any(qt_catalog *c, const char *symbol, const qt_import *im, qt_err *err) {
  int lk;
  int rc = lock_series(c, symbol, im->kind, &lk, err);
  if (rc == QT_OK) rc = write_series(c, symbol, im, err);
  unlock_series(lk);
  return rc;
}

int qt_catalog_put_bars(qt_catalog *c, const char *symbol, const qt_bars *b, qt_err *err) {
  qt_import im = {.kind = QT_KIND_BARS, .bars = *b};
  return put_any(c, symbol, &im, err);
}

int qt_catalog_put_trades(qt_catalog *c, const char *symbol, const qt_trades *t, qt_err *err) {
  qt_import im = {.kind = QT_KIND_TRADES, .trades = *t};
  return put_any(c, symbol, &im, err);
}

int qt_catalog_put_funding(qt_catalog *c, const char *symbol, const qt_funding *f, qt_err *err) {
  qt_import im = {.kind = QT_KIND_FUNDING, .funding = *f};
  return put_any(c, symbol, &im, err);
}

int qt_catalog_put_quotes(qt_catalog *c, const char *symbol, const qt_quotes *q, qt_err *err) {
  qt_import im = {.kind = QT_KIND_QUOTES, .quotes = *q};
  return put_any(c, symbol, &im, err);
}

/* ---------------------------------------------------------------- merge */

static size_t cols_n(const qt_import *im) {
  cols cs;
  cols_of(im, &cs);
  return cs.rows;
}

int qt_catalog_merge(qt_catalog *c, const char *symbol, qt_import *im, qt_err *err) {
  int rc = QT_OK;
  qt_import stored, merged;
  qt__table t;
  memset(&merged, 0, sizeof merged);
  qt__table_init(&t, im->kind);
  qt_err gerr;
  int lk = -1;
  /* Read, merge and write under the series' lock: a concurrent import
   * either finished before (its rows are read here) or waits for this one. */
  rc = lock_series(c, symbol, im->kind, &lk, err);
  if (rc) goto fail;
  rc = get_any(c, symbol, im->kind, &stored, &gerr);
  if (rc == QT_ENOTFOUND) {
    im->stats.stored_before = 0;
    rc = write_series(c, symbol, im, err);
    if (rc >= 0) im->stats.rows_kept = cols_n(im);
    goto fail;
  }
  if (rc) {
    if (err) *err = gerr;
    goto fail;
  }
  size_t before = stored.bars.n + stored.trades.n + stored.funding.n + stored.quotes.n;
  /* Stored rows first: on a conflict the later (new) row wins. */
  rc = qt__table_add_series(&t, &stored, err);
  qt_import_fini(&stored);
  if (rc == QT_OK) rc = qt__table_add_series(&t, im, err);
  if (rc) goto fail;
  qt_import_stats ms;
  memset(&ms, 0, sizeof ms);
  rc = qt__table_finish(&t, &merged, &ms, err);
  if (rc) goto fail;
  rc = write_series(c, symbol, &merged, err);
  if (rc < 0) goto fail;
  im->stats.duplicates += ms.duplicates;
  im->stats.replaced += ms.replaced;
  im->stats.stored_before = before;
  im->stats.rows_kept = ms.rows_kept;
fail:
  unlock_series(lk);
  qt__table_fini(&t);
  qt_import_fini(&merged);
  return rc;
}

/* ---------------------------------------------------------------- list */

static int entry_cmp(const void *a, const void *b) {
  const qt_catalog_entry *x = a, *y = b;
  int r = strcmp(x->symbol, y->symbol);
  return r ? r : (x->kind > y->kind) - (x->kind < y->kind);
}

int qt_catalog_list(qt_catalog *c, qt_catalog_entry *out, size_t cap, size_t *out_n, qt_err *err) {
  int rc = QT_OK;
  qt_catalog_entry *all = NULL;
  size_t n = 0, acap = 0;
  *out_n = 0;
  DIR *d = opendir(c->dir);
  if (!d) return qt_err_set(err, QT_EIO, "%s: cannot read: %s", c->dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !symbol_ok(e->d_name)) continue;
    for (int k = 0; k < QT_KIND_COUNT; k++) {
      char path[4096];
      if (series_path(c, e->d_name, (qt_kind)k, path, sizeof path, NULL)) continue;
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      qtc_header hd;
      ssize_t got = pread(fd, &hd, sizeof hd, 0);
      close(fd);
      if (got != (ssize_t)sizeof hd || memcmp(hd.magic, QTC_MAGIC, 8) != 0 ||
          hd.header_sum != fnv1a(&hd, offsetof(qtc_header, header_sum))) {
        rc = qt_err_set(err, QT_EPARSE, "%s: not a valid catalog file", path);
        goto fail;
      }
      if (n == acap) {
        size_t nc = acap ? acap * 2 : 16;
        qt_catalog_entry *na = qt_realloc(all, nc * sizeof *na);
        if (!na) {
          rc = qt_err_set(err, QT_ENOMEM, "out of memory listing %s", c->dir);
          goto fail;
        }
        all = na;
        acap = nc;
      }
      qt_catalog_entry *x = &all[n++];
      memset(x, 0, sizeof *x);
      memcpy(x->symbol, e->d_name, strlen(e->d_name) + 1); /* symbol_ok: < 64 */
      x->kind = k;
      x->n = (size_t)hd.n_rows;
      x->first_ms = hd.first_ms;
      x->last_ms = hd.last_ms;
      x->interval_ms = hd.interval_ms;
    }
  }
  if (n) qsort(all, n, sizeof *all, entry_cmp);
  for (size_t i = 0; i < n && i < cap; i++) out[i] = all[i];
  *out_n = n;
fail:
  closedir(d);
  qt_free(all);
  return rc;
}

/* ---------------------------------------------------------------- streaming writes */

int qt__catalog_lock(qt_catalog *c, const char *symbol, qt_kind kind, int *out_fd, qt_err *err) {
  return lock_series(c, symbol, kind, out_fd, err);
}

void qt__catalog_unlock(int fd) { unlock_series(fd); }

int qt__catalog_get(qt_catalog *c, const char *symbol, qt_kind kind, qt_import *out, qt_err *err) {
  return get_any_v(c, symbol, kind, c->verify ? 2 : 0, out, err);
}

/* Whether the payloads of two open catalog files of len bytes are equal. */
static int same_bytes(int a, int b, size_t len, char *buf, size_t half) {
  for (size_t off = 0; off < len;) {
    size_t n = len - off < half ? len - off : half;
    if (pread(a, buf, n, (off_t)off) != (ssize_t)n || pread(b, buf + half, n, (off_t)off) != (ssize_t)n ||
        memcmp(buf, buf + half, n) != 0)
      return 0;
    off += n;
  }
  return 1;
}

int qt__catalog_write_cols(qt_catalog *c, const char *symbol, qt_kind kind, size_t n_rows,
                           int64_t interval_ms, int64_t first_ms, int64_t last_ms,
                           const int *col_fd, qt_err *err) {
  enum { BLK = 1 << 20 };
  int rc = QT_OK, fd = -1, old = -1;
  char path[4096], tmp[4200], dir[4096];
  char *buf = NULL;
  tmp[0] = '\0';
  rc = series_path(c, symbol, kind, path, sizeof path, err);
  if (rc) return rc;
  if (n_rows == 0) return qt_err_set(err, QT_EINVAL, "%s: no rows to store", path);
  cols cs;
  memset(&cs, 0, sizeof cs);
  cs.n = qt__kind_ncols(kind);
  for (int i = 0; i < cs.n; i++) cs.elem[i] = elem_of(kind, i);
  cs.rows = n_rows;
  cs.interval_ms = interval_ms;
  snprintf(dir, sizeof dir, "%s/%s/%s", c->dir, symbol, qt_kind_name(kind));
  if (mkdirs(dir) != 0) return qt_err_set(err, QT_EIO, "%s: cannot create: %s", dir, strerror(errno));
  buf = qt_malloc(2 * (size_t)BLK);
  if (!buf) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    tmp[0] = '\0';
    goto fail;
  }
  /* the columns after a placeholder header, hashed as they are copied:
   * blocks are multiples of 64 bytes and each column's tail is padded to 64,
   * so the hash is the one cols_hash gives over the same columns */
  qtc_header hd;
  memset(&hd, 0, sizeof hd);
  int bad = qt__data_write_all(fd, &hd, sizeof hd) != 0;
  lane_hash h;
  lh_init(&h);
  for (int i = 0; i < cs.n && !bad; i++) {
    size_t bytes = n_rows * cs.elem[i];
    for (size_t off = 0; off < bytes && !bad;) {
      size_t n = bytes - off < (size_t)BLK ? bytes - off : (size_t)BLK;
      if (pread(col_fd[i], buf, n, (off_t)off) != (ssize_t)n) {
        rc = qt_err_set(err, QT_EIO, "%s: reading a temp column failed: %s", path, strerror(errno));
        goto fail;
      }
      off += n;
      size_t out = n;
      if (off == bytes) { /* the tail: zero padding to 64 */
        out = pad64(bytes) - (off - n);
        memset(buf + n, 0, out - n);
      }
      lh_update(&h, buf, out);
      bad = qt__data_write_all(fd, buf, out) != 0;
    }
  }
  uint64_t sum = lh_final(&h);
  header_fill(&hd, kind, &cs, first_ms, last_ms, sum);
  if (bad || pwrite(fd, &hd, sizeof hd, 0) != (ssize_t)sizeof hd || fsync(fd) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: write failed: %s", tmp, strerror(errno));
    goto fail;
  }
  /* exactly what is stored already: nothing to write */
  old = open(path, O_RDONLY | O_CLOEXEC);
  if (old >= 0) {
    qtc_header oh;
    struct stat st;
    if (pread(old, &oh, sizeof oh, 0) == (ssize_t)sizeof oh && fstat(old, &st) == 0 &&
        oh.n_rows == hd.n_rows && oh.interval_ms == hd.interval_ms && oh.checksum == hd.checksum &&
        (uint64_t)st.st_size == QTC_HEADER + hd.payload_len &&
        same_bytes(old, fd, (size_t)st.st_size, buf, BLK)) {
      rc = QT_DONE;
      goto fail;
    }
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = qt_err_set(err, QT_EIO, "%s: write failed: %s", tmp, strerror(errno));
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    goto fail;
  }
  tmp[0] = '\0';
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
fail:
  if (fd >= 0) close(fd);
  if (old >= 0) close(old);
  if (tmp[0]) unlink(tmp);
  qt_free(buf);
  return rc;
}
