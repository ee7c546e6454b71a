/* The streaming import into a catalog (qt_import_into_catalog): the files
 * are parsed block by block (import.c), the rows sorted in runs of
 * run_rows and spilled to temp files, and the runs merged with the stored
 * series in one sorted pass into temp column files that become the new
 * catalog file.  Memory follows the block and run sizes, not the input.
 *
 * The merge keeps every rule of qt_import_files + qt_catalog_merge: rows
 * sort by (time, trade id) and, within one key, in input order with the
 * stored rows first (so "later wins" and "first of the duplicates stays"
 * mean the same thing); bars and funding keep the last row of a key (every
 * other row counted a duplicate when equal to it, else replaced); trades
 * and quotes drop a row that repeats an earlier row of its key exactly.
 * The counts equal the two-step path's: the per-key comparisons are the
 * same, only done once.  Even an import of one run streams its merge, so a
 * day appended to years of stored rows does not load them into memory;
 * funding series (three rows a day) take the in-memory path itself. */
#include "data/import_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BUF ((size_t)256 << 10) /* the run writer and each column writer */
#define RUN_BUF ((size_t)64 << 10) /* each run's reader: the merge holds one per run */

/* ---------------------------------------------------------------- temp folder */

typedef struct spill_state {
  char dir[4096];  /* the runs' folder, "" until the first spill */
  const char *catalog;
  size_t n_runs, cap_runs;
  size_t *run_rows; /* rows in run k (file dir/run<k>) */
  int ncol;
  char *wbuf;       /* IO_BUF */
  struct run_key *keys; /* sort scratch, kept from run to run */
  size_t cap_keys;
} spill_state;

/* The folder that holds the catalog (where the temp folder goes). */
static void parent_of(const char *path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash) snprintf(buf, cap, ".");
  else if (slash == buf) buf[1] = '\0';
  else *slash = '\0';
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
  rmdir(dir);
}

/* Removes the temp folders of imports that died (their pid is gone). */
static void sweep_stale(const char *parent) {
  DIR *d = opendir(parent);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid;
    unsigned n;
    if (sscanf(e->d_name, ".qtune-import.%ld.%u", &pid, &n) != 2 || pid <= 0) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
    rm_tree(path);
  }
  closedir(d);
}

/* The runs' folder: beside the catalog (a catalog that does not exist yet
 * stays so until the files parsed), or inside an existing catalog when its
 * parent folder is not writable (names starting with '.' are not symbols),
 * or in $TMPDIR (/tmp) when neither exists yet. */
static int make_dir(spill_state *sp, qt_err *err) {
  static unsigned counter; /* several imports of one process: distinct folders */
  char parent[3900], failed[4096] = "";
  struct stat st;
  int mk_errno = 0;
  for (int where = 0; where < 3; where++) {
    if (where == 0) parent_of(sp->catalog, parent, sizeof parent);
    else if (where == 1 && stat(sp->catalog, &st) == 0 && S_ISDIR(st.st_mode))
      snprintf(parent, sizeof parent, "%s", sp->catalog);
    else if (where == 2) /* a catalog whose folders do not exist yet */
      snprintf(parent, sizeof parent, "%s", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    else continue;
    sweep_stale(parent);
    for (int tries = 0; tries < 100; tries++) {
      unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
      snprintf(sp->dir, sizeof sp->dir, "%s/.qtune-import.%ld.%u", parent, (long)getpid(), n);
      if (mkdir(sp->dir, 0700) == 0) return QT_OK;
      mk_errno = errno;
      if (!failed[0]) snprintf(failed, sizeof failed, "%s", sp->dir);
      if (errno != EEXIST) break;
    }
  }
  sp->dir[0] = '\0';
  return qt_err_set(err, QT_EIO, "%s: cannot create the import's temp folder: %s", failed,
                    strerror(mk_errno));
}

static void file_of(const spill_state *sp, const char *what, size_t k, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s%zu", sp->dir, what, k);
}

/* ---------------------------------------------------------------- runs */

typedef struct run_key {
  int64_t ts, k2;
  size_t seq;
} run_key;

static int run_key_cmp(const void *a, const void *b) {
  const run_key *x = a, *y = b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  if (x->k2 != y->k2) return x->k2 < y->k2 ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The table as one run file: rows sorted by (time, id, input order), each
 * ncol 8-byte cells (the trades' maker flag as 0 or 1, as a catalog holds
 * it).  Empties the table, keeping its block for the next run. */
static int spill(qt__imp *s, qt_err *err) {
  spill_state *sp = s->spill_ud;
  qt__table *t = &s->t;
  int rc = QT_OK, fd = -1;
  run_key *keys = NULL;
  if (t->kind == QT_KIND_FUNDING || t->n == 0) return QT_OK; /* funding: small, kept whole */
  if (!sp->dir[0] && (rc = make_dir(sp, err)) != 0) return rc;
  if (sp->n_runs == sp->cap_runs) {
    size_t nc = sp->cap_runs ? sp->cap_runs * 2 : 16;
    size_t *nr = qt_realloc(sp->run_rows, nc * sizeof *nr);
    if (!nr) return qt_err_set(err, QT_ENOMEM, "out of memory spilling rows");
    sp->run_rows = nr;
    sp->cap_runs = nc;
  }
  if (!sp->wbuf && !(sp->wbuf = qt_malloc(IO_BUF)))
    return qt_err_set(err, QT_ENOMEM, "out of memory spilling rows");
  size_t n = t->n, cs = t->cap;
  int ncol = t->ncol, trades = t->kind == QT_KIND_TRADES;
  if (sp->cap_keys < n) {
    qt_free(sp->keys);
    sp->cap_keys = 0;
    if (!(sp->keys = qt_malloc(n * sizeof *sp->keys)))
      return qt_err_set(err, QT_ENOMEM, "out of memory sorting %zu rows", n);
    sp->cap_keys = n;
  }
  keys = sp->keys;
  int sorted = 1;
  for (size_t i = 0; i < n; i++) {
    keys[i].ts = (int64_t)t->v[i];
    keys[i].k2 = trades ? (int64_t)t->v[cs + i] : 0;
    keys[i].seq = i;
    if (i && run_key_cmp(&keys[i - 1], &keys[i]) > 0) sorted = 0;
  }
  if (!sorted) qsort(keys, n, sizeof *keys, run_key_cmp);
  char path[4200];
  file_of(sp, "run", sp->n_runs, path, sizeof path);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = qt_err_set(err, QT_EIO, "%s: cannot write: %s", path, strerror(errno));
    goto fail;
  }
  size_t row_bytes = (size_t)ncol * 8, fill = 0;
  for (size_t i = 0; i < n; i++) {
    if (fill + row_bytes > IO_BUF) {
      if (qt__data_write_all(fd, sp->wbuf, fill)) goto io;
      fill = 0;
    }
    uint64_t *o = (uint64_t *)(void *)(sp->wbuf + fill);
    for (int c = 0; c < ncol; c++) o[c] = t->v[(size_t)c * cs + keys[i].seq];
    if (trades) o[4] = o[4] != 0;
    fill += row_bytes;
  }
  if (fill && qt__data_write_all(fd, sp->wbuf, fill)) goto io;
  if (close(fd) != 0) {
    fd = -1;
    goto io;
  }
  fd = -1;
  sp->run_rows[sp->n_runs++] = n;
  t->n = 0;
  goto fail;
io:
  rc = qt_err_set(err, QT_EIO, "%s: write failed: %s", path, strerror(errno));
fail:
  if (fd >= 0) close(fd);
  return rc;
}

/* ---------------------------------------------------------------- merge sources */

typedef struct source {
  int src;            /* 0: stored, 1..: runs in input order */
  int fd;             /* runs */
  char *buf;          /* runs: IO_BUF of whole rows */
  size_t have, pos;   /* bytes in buf, next row's offset */
  size_t left;        /* rows not yet read */
  const qt_import *stored;
  size_t si;          /* stored: next row */
  uint64_t cur[QT__MAX_COLS];
  int64_t ts, k2;
} source;

/* The stored row i as cells. */
static void stored_row(const qt_import *im, size_t i, uint64_t *r) {
  switch (im->kind) {
  case QT_KIND_BARS: {
    const qt_bars *b = &im->bars;
    r[0] = (uint64_t)b->ts_ms[i];
    r[1] = qt__dbits(b->open[i]), r[2] = qt__dbits(b->high[i]), r[3] = qt__dbits(b->low[i]);
    r[4] = qt__dbits(b->close[i]), r[5] = qt__dbits(b->volume[i]);
    r[6] = qt__dbits(b->quote_volume[i]), r[7] = qt__dbits(b->trade_count[i]);
    r[8] = qt__dbits(b->taker_buy_base[i]), r[9] = qt__dbits(b->taker_buy_quote[i]);
    break;
  }
  case QT_KIND_TRADES: {
    const qt_trades *x = &im->trades;
    r[0] = (uint64_t)x->ts_ms[i], r[1] = (uint64_t)x->id[i];
    r[2] = qt__dbits(x->price[i]), r[3] = qt__dbits(x->qty[i]), r[4] = x->buyer_is_maker[i];
    break;
  }
  default: {
    const qt_quotes *q = &im->quotes;
    r[0] = (uint64_t)q->ts_ms[i];
    r[1] = qt__dbits(q->bid[i]), r[2] = qt__dbits(q->bid_qty[i]);
    r[3] = qt__dbits(q->ask[i]), r[4] = qt__dbits(q->ask_qty[i]);
    break;
  }
  }
}

static size_t stored_n(const qt_import *im) {
  return im->kind == QT_KIND_BARS ? im->bars.n : im->kind == QT_KIND_TRADES ? im->trades.n
                                                                             : im->quotes.n;
}

/* Drops the stored columns' pages before row i (read already): the map of
 * a large stored series never stays resident as a whole. */
static void stored_drop(const qt_import *im, size_t i) {
  const void *p[QT__MAX_COLS];
  size_t elem[QT__MAX_COLS], n = 0;
  switch (im->kind) {
  case QT_KIND_BARS: {
    const qt_bars *b = &im->bars;
    const void *q[10] = {b->ts_ms, b->open, b->high, b->low, b->close, b->volume,
                         b->quote_volume, b->trade_count, b->taker_buy_base, b->taker_buy_quote};
    memcpy(p, q, sizeof q), n = 10;
    break;
  }
  case QT_KIND_TRADES: {
    const qt_trades *t = &im->trades;
    const void *q[5] = {t->ts_ms, t->id, t->price, t->qty, t->buyer_is_maker};
    memcpy(p, q, sizeof q), n = 5;
    break;
  }
  default: {
    const qt_quotes *x = &im->quotes;
    const void *q[5] = {x->ts_ms, x->bid, x->bid_qty, x->ask, x->ask_qty};
    memcpy(p, q, sizeof q), n = 5;
    break;
  }
  }
  for (size_t c = 0; c < n; c++) {
    elem[c] = im->kind == QT_KIND_TRADES && c == 4 ? 1 : 8;
    uintptr_t a = ((uintptr_t)p[c] + 4095) & ~(uintptr_t)4095;
    uintptr_t e = ((uintptr_t)p[c] + i * elem[c]) & ~(uintptr_t)4095;
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
  }
}

/* Loads the source's next row into cur; 0 when it has none, < 0 on error. */
static int source_next(source *so, int ncol, int trades, qt_err *err) {
  if (so->stored) {
    if (so->si >= stored_n(so->stored)) return 0;
    if (so->si && so->si % 65536 == 0) stored_drop(so->stored, so->si);
    stored_row(so->stored, so->si++, so->cur);
  } else {
    if (!so->left) return 0;
    size_t rb = (size_t)ncol * 8;
    if (so->pos + rb > so->have) {
      size_t want = (RUN_BUF / rb) * rb, got = 0;
      if (want > so->left * rb) want = so->left * rb;
      while (got < want) {
        ssize_t r = read(so->fd, so->buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
          return qt_err_set(err, QT_EIO, "import: reading a temp run failed: %s",
                            r < 0 ? strerror(errno) : "short file");
        got += (size_t)r;
      }
      so->have = got;
      so->pos = 0;
    }
    memcpy(so->cur, so->buf + so->pos, rb);
    so->pos += rb;
    so->left--;
  }
  so->ts = (int64_t)so->cur[0];
  so->k2 = trades ? (int64_t)so->cur[1] : 0;
  return 1;
}

static int source_less(const source *a, const source *b) {
  if (a->ts != b->ts) return a->ts < b->ts;
  if (a->k2 != b->k2) return a->k2 < b->k2;
  return a->src < b->src;
}

static void heap_down(source **h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && source_less(h[l], h[m])) m = l;
    if (r < n && source_less(h[r], h[m])) m = r;
    if (m == i) return;
    source *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

/* ---------------------------------------------------------------- output columns */

typedef struct col_out {
  int fd[QT__MAX_COLS];
  char *buf[QT__MAX_COLS];
  size_t fill[QT__MAX_COLS], elem[QT__MAX_COLS];
  int ncol;
} col_out;

static int col_flush(col_out *co, int c) {
  if (co->fill[c] && qt__data_write_all(co->fd[c], co->buf[c], co->fill[c])) return -1;
  co->fill[c] = 0;
  return 0;
}

static int col_put(col_out *co, const uint64_t *r) {
  for (int c = 0; c < co->ncol; c++) {
    if (co->fill[c] + 8 > IO_BUF && col_flush(co, c)) return -1;
    if (co->elem[c] == 1) co->buf[c][co->fill[c]++] = (char)(r[c] != 0);
    else memcpy(co->buf[c] + co->fill[c], &r[c], 8), co->fill[c] += 8;
  }
  return 0;
}

/* ---------------------------------------------------------------- key groups */

typedef struct group {
  uint64_t *rows; /* n * ncol */
  int *src;
  size_t n, cap;
  int ncol;
} group;

static int group_add(group *g, const source *so) {
  if (g->n == g->cap) {
    size_t nc = g->cap ? g->cap * 2 : 16;
    uint64_t *nr = qt_realloc(g->rows, nc * (size_t)g->ncol * 8);
    if (!nr) return QT_ENOMEM;
    g->rows = nr;
    int *ns = qt_realloc(g->src, nc * sizeof *ns);
    if (!ns) return QT_ENOMEM;
    g->src = ns;
    g->cap = nc;
  }
  memcpy(g->rows + g->n * (size_t)g->ncol, so->cur, (size_t)g->ncol * 8);
  g->src[g->n++] = so->src;
  return QT_OK;
}

static int grow_eq(const group *g, size_t a, size_t b) {
  return memcmp(g->rows + a * (size_t)g->ncol, g->rows + b * (size_t)g->ncol,
                (size_t)g->ncol * 8) == 0;
}

typedef struct hash_ix {
  uint64_t h;
  size_t i;
} hash_ix;

static int hash_ix_cmp(const void *a, const void *b) {
  const hash_ix *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

typedef struct merge_out {
  col_out co;
  size_t n, dups, replaced, imported;
  int64_t first_ms, last_ms, prev_ts;
  int64_t cand; /* majority candidate of the time steps (bars) */
  size_t cand_n;
} merge_out;

static int emit(merge_out *mo, const uint64_t *r) {
  int64_t ts = (int64_t)r[0];
  if (mo->n == 0) mo->first_ms = ts;
  else {
    int64_t d = ts - mo->prev_ts;
    if (mo->cand_n == 0) mo->cand = d, mo->cand_n = 1;
    else if (d == mo->cand) mo->cand_n++;
    else mo->cand_n--;
  }
  mo->prev_ts = mo->last_ms = ts;
  mo->n++;
  return col_put(&mo->co, r);
}

/* For event kinds: flags dup[a] = 1 when row a repeats an earlier row of
 * the group, and dup_new[a] = 1 when it repeats an earlier row of the new
 * files (src > 0).  Large groups sort by row hash first (one timestamp
 * repeated a million times stays n log n). */
static int mark_dups(const group *g, uint8_t *dup, uint8_t *dup_new) {
  memset(dup, 0, g->n);
  memset(dup_new, 0, g->n);
  if (g->n <= 32) {
    for (size_t a = 1; a < g->n; a++)
      for (size_t b = 0; b < a && !(dup[a] && (dup_new[a] || !g->src[a])); b++)
        if (grow_eq(g, a, b)) {
          dup[a] = 1;
          if (g->src[b] > 0) dup_new[a] = 1;
        }
    return QT_OK;
  }
  hash_ix *hx = qt_malloc(g->n * sizeof *hx);
  if (!hx) return QT_ENOMEM;
  for (size_t a = 0; a < g->n; a++) {
    uint64_t h = 1469598103934665603ULL;
    for (int c = 0; c < g->ncol; c++) h = (h ^ g->rows[a * (size_t)g->ncol + (size_t)c]) * 1099511628211ULL;
    hx[a].h = h, hx[a].i = a;
  }
  qsort(hx, g->n, sizeof *hx, hash_ix_cmp);
  for (size_t i = 0; i < g->n;) {
    size_t j = i;
    while (j < g->n && hx[j].h == hx[i].h) j++;
    for (size_t a = i + 1; a < j; a++)
      for (size_t b = i; b < a; b++)
        if (grow_eq(g, hx[a].i, hx[b].i)) {
          dup[hx[a].i] = 1;
          if (g->src[hx[b].i] > 0) dup_new[hx[a].i] = 1;
        }
    i = j;
  }
  qt_free(hx);
  return QT_OK;
}

static int flush_group(merge_out *mo, group *g, int events, uint8_t **dup, size_t *dup_cap) {
  if (!g->n) return QT_OK;
  int rc = QT_OK;
  if (!events) {
    /* one row per time: the last (the newest file's) wins */
    size_t w = g->n - 1;
    int any_new = 0;
    for (size_t a = 0; a < g->n; a++) {
      any_new |= g->src[a] > 0;
      if (a == w) continue;
      if (grow_eq(g, a, w)) mo->dups++;
      else mo->replaced++;
    }
    mo->imported += any_new;
    if (emit(mo, g->rows + w * (size_t)g->ncol)) rc = QT_EIO;
  } else {
    if (*dup_cap < 2 * g->n) {
      uint8_t *nd = qt_realloc(*dup, 2 * g->n);
      if (!nd) return QT_ENOMEM;
      *dup = nd;
      *dup_cap = 2 * g->n;
    }
    uint8_t *d = *dup, *dn = *dup + g->n;
    if (mark_dups(g, d, dn)) return QT_ENOMEM;
    for (size_t a = 0; a < g->n && !rc; a++) {
      if (g->src[a] > 0 && !dn[a]) mo->imported++;
      if (d[a]) mo->dups++;
      else if (emit(mo, g->rows + a * (size_t)g->ncol)) rc = QT_EIO;
    }
  }
  g->n = 0;
  return rc;
}

typedef struct step_n {
  int64_t d;
  size_t n;
} step_n;

/* The most common step between consecutive times of the output (the bars'
 * interval), as the in-memory path's mode_diff: a strict majority found in
 * the merge is checked with one read of the time column; without one, the
 * steps are counted (ties: the smaller step). */
static int64_t interval_of(merge_out *mo, int ts_fd) {
  if (mo->n < 2) return 0;
  enum { BLK = 1 << 16 };
  int64_t *b = qt_malloc(BLK * sizeof *b);
  if (!b) return mo->cand;
  size_t hits = 0, cap = 0, used = 0;
  int64_t prev = 0, best = mo->cand;
  step_n *tab = NULL;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < mo->n;) {
      size_t k = mo->n - i < (size_t)BLK ? mo->n - i : (size_t)BLK;
      if (pread(ts_fd, b, k * 8, (off_t)(i * 8)) != (ssize_t)(k * 8)) goto done;
      for (size_t j = 0; j < k; j++, i++) {
        if (i) {
          int64_t d = b[j] - prev;
          if (pass == 0) hits += d == mo->cand;
          else {
            if (used * 2 >= cap) { /* open addressing, grown at half full */
              size_t nc = cap ? cap * 2 : 1024;
              step_n *nt = qt_calloc(nc, sizeof *nt);
              if (!nt) goto done;
              for (size_t x = 0; x < cap; x++) {
                if (!tab[x].n) continue;
                size_t y = (size_t)((uint64_t)tab[x].d * 0x9E3779B97F4A7C15ULL) & (nc - 1);
                while (nt[y].n) y = (y + 1) & (nc - 1);
                nt[y] = tab[x];
              }
              qt_free(tab);
              tab = nt;
              cap = nc;
            }
            size_t y = (size_t)((uint64_t)d * 0x9E3779B97F4A7C15ULL) & (cap - 1);
            while (tab[y].n && tab[y].d != d) y = (y + 1) & (cap - 1);
            if (!tab[y].n) tab[y].d = d, used++;
            tab[y].n++;
          }
        }
        prev = b[j];
      }
    }
    if (pass == 0 && hits * 2 > mo->n - 1) goto done;
  }
  {
    size_t best_n = 0;
    for (size_t x = 0; x < cap; x++)
      if (tab[x].n > best_n || (tab[x].n == best_n && tab[x].n && tab[x].d < best))
        best = tab[x].d, best_n = tab[x].n;
  }
done:
  qt_free(tab);
  qt_free(b);
  return best;
}

/* Merges the stored series (when there is one) and the runs into the
 * catalog file, under the series' lock. */
static int merge_runs(qt_catalog *cat, const char *symbol, qt_kind kind, spill_state *sp,
                      qt_import_summary *out, qt_err *err) {
  int rc = QT_OK, lk = -1, have_stored = 0, ncol = qt__kind_ncols(kind);
  int trades = kind == QT_KIND_TRADES, events = kind == QT_KIND_TRADES || kind == QT_KIND_QUOTES;
  qt_import stored;
  memset(&stored, 0, sizeof stored);
  source *srcs = NULL;
  source **heap = NULL;
  group g;
  memset(&g, 0, sizeof g);
  g.ncol = ncol;
  uint8_t *dup = NULL;
  size_t dup_cap = 0, n_src = 0, n_heap = 0;
  merge_out mo;
  memset(&mo, 0, sizeof mo);
  mo.co.ncol = ncol;
  for (int c = 0; c < QT__MAX_COLS; c++) mo.co.fd[c] = -1;
  qt_err gerr;
  if ((rc = qt__catalog_lock(cat, symbol, kind, &lk, err)) != 0) goto fail;
  rc = qt__catalog_get(cat, symbol, kind, &stored, &gerr);
  if (rc == QT_OK) have_stored = 1;
  else if (rc != QT_ENOTFOUND) {
    if (err) *err = gerr;
    goto fail;
  }
  rc = QT_OK;
  out->stats.stored_before = have_stored ? stored_n(&stored) : 0;
  srcs = qt_calloc(sp->n_runs + 1, sizeof *srcs);
  heap = qt_calloc(sp->n_runs + 1, sizeof *heap);
  if (!srcs || !heap) goto oom;
  if (have_stored) {
    srcs[n_src].src = 0;
    srcs[n_src].fd = -1;
    srcs[n_src++].stored = &stored;
  }
  for (size_t k = 0; k < sp->n_runs; k++) {
    source *so = &srcs[n_src++];
    char path[4200];
    file_of(sp, "run", k, path, sizeof path);
    so->src = (int)k + 1;
    so->left = sp->run_rows[k];
    so->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (so->fd < 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot read: %s", path, strerror(errno));
      goto fail;
    }
    if (!(so->buf = qt_malloc(RUN_BUF))) goto oom;
  }
  for (int c = 0; c < ncol; c++) {
    char path[4200];
    file_of(sp, "col", (size_t)c, path, sizeof path);
    mo.co.elem[c] = trades && c == 4 ? 1 : 8;
    mo.co.fd[c] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (mo.co.fd[c] < 0) {
      rc = qt_err_set(err, QT_EIO, "%s: cannot write: %s", path, strerror(errno));
      goto fail;
    }
    if (!(mo.co.buf[c] = qt_malloc(IO_BUF))) goto oom;
  }
  for (size_t i = 0; i < n_src; i++) {
    int r = source_next(&srcs[i], ncol, trades, err);
    if (r < 0) {
      rc = r;
      goto fail;
    }
    if (r) heap[n_heap++] = &srcs[i];
  }
  for (size_t i = n_heap; i-- > 0;) heap_down(heap, n_heap, i);
  int64_t gts = 0, gk2 = 0;
  while (n_heap) {
    source *top = heap[0];
    if (g.n && (top->ts != gts || top->k2 != gk2)) {
      if ((rc = flush_group(&mo, &g, events, &dup, &dup_cap)) != 0) goto group_fail;
    }
    gts = top->ts, gk2 = top->k2;
    if (group_add(&g, top)) goto oom;
    int r = source_next(top, ncol, trades, err);
    if (r < 0) {
      rc = r;
      goto fail;
    }
    if (!r) heap[0] = heap[--n_heap];
    heap_down(heap, n_heap, 0);
  }
  if ((rc = flush_group(&mo, &g, events, &dup, &dup_cap)) != 0) goto group_fail;
  for (int c = 0; c < ncol; c++)
    if (col_flush(&mo.co, c)) {
      rc = QT_EIO;
      goto group_fail;
    }
  {
    int64_t interval = kind == QT_KIND_BARS ? interval_of(&mo, mo.co.fd[0]) : 0;
    qt_import_fini(&stored); /* unmapped before the rename replaces it */
    have_stored = 0;
    rc = qt__catalog_write_cols(cat, symbol, kind, mo.n, interval, mo.first_ms, mo.last_ms,
                                mo.co.fd, err);
    if (rc < 0) goto fail;
  }
  out->stats.duplicates += mo.dups;
  out->stats.replaced += mo.replaced;
  out->stats.rows_kept = mo.n;
  out->imported = mo.imported;
  goto fail;
group_fail:
  rc = rc == QT_ENOMEM ? qt_err_set(err, QT_ENOMEM, "out of memory removing duplicates")
                       : qt_err_set(err, QT_EIO, "%s: writing a temp column failed: %s", sp->dir,
                                    strerror(errno));
  goto fail;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "out of memory merging %zu runs", sp->n_runs);
fail:
  for (size_t i = 0; srcs && i < sp->n_runs + 1; i++) {
    if (srcs[i].fd > 0) close(srcs[i].fd);
    qt_free(srcs[i].buf);
  }
  for (int c = 0; c < ncol; c++) {
    if (mo.co.fd[c] >= 0) close(mo.co.fd[c]);
    qt_free(mo.co.buf[c]);
  }
  qt_free(srcs);
  qt_free(heap);
  qt_free(g.rows);
  qt_free(g.src);
  qt_free(dup);
  if (have_stored) qt_import_fini(&stored);
  qt__catalog_unlock(lk);
  return rc;
}

/* ---------------------------------------------------------------- entry */

static int on_stream(void *ud, qt__stream *st, qt_err *err) {
  return qt__imp_stream_doc(ud, st, err);
}

int qt_import_into_catalog(const char *dir, const char *symbol, const char *const *paths,
                           size_t n_paths, const qt_import_opts *o, qt_import_summary *out,
                           qt_err *err) {
  qt_import_opts def = qt_import_opts_default();
  if (!o) o = &def;
  int rc = QT_OK;
  qt__imp s;
  memset(&s, 0, sizeof s);
  s.o = o;
  s.kind = -1;
  s.block = o->block_bytes;
  s.run_rows = o->run_rows ? o->run_rows : QT_IMPORT_RUN_ROWS;
  s.spill = spill;
  spill_state sp;
  memset(&sp, 0, sizeof sp);
  sp.catalog = dir;
  s.spill_ud = &sp;
  qt_catalog *cat = NULL;
  qt_import im;
  memset(&im, 0, sizeof im);
  memset(out, 0, sizeof *out);
  if (!dir || !symbol || n_paths == 0) {
    rc = qt_err_set(err, QT_EINVAL, n_paths ? "import: no catalog or symbol" : "no input files");
    goto fail;
  }
  if ((rc = qt__import_opts_check(o, err)) != 0) goto fail;
  for (size_t i = 0; i < n_paths; i++) {
    rc = qt__input_each_stream(paths[i], on_stream, &s, err);
    if (rc < 0) goto fail;
  }
  rc = QT_OK;
  const char *name = n_paths == 1 ? paths[0] : "the input files";
  if (s.kind < 0 || (s.t.n == 0 && sp.n_runs == 0)) {
    rc = qt_err_set(err, QT_EPARSE, "%s: no data rows%s", name,
                    s.st.skipped ? " (every row was malformed)" : "");
    goto fail;
  }
  out->kind = (qt_kind)s.kind;
  if (s.kind == QT_KIND_FUNDING) {
    /* funding (a few rows a day): the in-memory import and merge, as they are */
    if ((rc = qt__table_finish(&s.t, &im, &s.st, err)) != 0) goto fail;
    im.stats = s.st;
    out->imported = im.stats.rows_kept;
    if ((rc = qt_catalog_open(dir, 1, &cat, err)) != 0) goto fail;
    rc = qt_catalog_merge(cat, symbol, &im, err);
    if (rc < 0) goto fail;
    out->stats = im.stats;
    goto fail;
  }
  if ((rc = spill(&s, err)) != 0) goto fail; /* the last rows as the last run */
  qt__table_fini(&s.t);
  out->stats = s.st;
  if ((rc = qt_catalog_open(dir, 1, &cat, err)) != 0) goto fail;
  rc = merge_runs(cat, symbol, (qt_kind)s.kind, &sp, out, err);
fail:
  if (rc < 0) {
    qt_import_stats keep = out->stats;
    memset(out, 0, sizeof *out);
    out->stats = keep;
  }
  qt__table_fini(&s.t);
  qt_import_fini(&im);
  qt_catalog_close(cat);
  if (sp.dir[0]) rm_tree(sp.dir);
  qt_free(sp.run_rows);
  qt_free(sp.wbuf);
  qt_free(sp.keys);
  return rc;
}
