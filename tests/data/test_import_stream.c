/* The streaming import (qt_import_into_catalog) against the in-memory path
 * it replaces (qt_import_files + qt_catalog_merge): the same catalog bytes,
 * counts, return codes and error messages, at run sizes and read blocks of
 * 1, 2, 3, 7, 13 rows/bytes and the defaults, over imports that sort,
 * drop duplicates, replace rows, merge with what is stored, skip bad rows,
 * read gzip, and fail with file:line:field.  Then its memory: a file twice
 * as big does not raise the import's peak RSS by more than 20% (each import
 * in its own forked child, so the peaks do not mix). */
#include "qt_test.h"
#include "qtune/data.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define MIN 60000LL

static char g_dir[64];

static const char *root(void) {
  if (!g_dir[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/qt_test_istream_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  return g_dir;
}

static void path_of(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", root(), name);
}

static void write_text(const char *name, const char *text) {
  char p[256];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "w");
  if (!f || fputs(text, f) < 0 || fclose(f)) abort();
}

static void write_gz(const char *name, const char *text) {
  char p[256];
  path_of(p, sizeof p, name);
  gzFile g = gzopen(p, "wb");
  if (!g || gzputs(g, text) < 0 || gzclose(g) != Z_OK) abort();
}

/* A kline line at minute m with close c. */
static size_t kline(char *buf, size_t cap, int64_t m, double c) {
  int64_t t = T0 + m * MIN;
  return (size_t)snprintf(buf, cap, "%lld,%g,%g,%g,%g,10,%lld,1000,%lld,6,500,0\n", (long long)t, c,
                          c + 1, c - 1, c, (long long)(t + MIN - 1), (long long)(m % 7));
}

/* Whole file into a malloc'd buffer (NULL when absent). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  *len = 0;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  fclose(f);
  *len = (size_t)n;
  return b;
}

typedef struct outcome {
  int rc;
  char msg[256];
  qt_import_summary sum;
} outcome;

/* The in-memory path, as `data import` ran it before streaming. */
static outcome import_ref(const char *cat, const char *sym, const char *const *files, size_t n,
                          const qt_import_opts *o) {
  outcome r;
  memset(&r, 0, sizeof r);
  qt_err e = {0};
  qt_import im;
  qt_catalog *c = NULL;
  r.rc = qt_import_files(files, n, o, &im, &e);
  if (r.rc == QT_OK) r.rc = qt_catalog_open(cat, 1, &c, &e);
  if (r.rc == QT_OK) {
    r.sum.kind = im.kind;
    r.sum.imported = im.stats.rows_kept;
    r.rc = qt_catalog_merge(c, sym, &im, &e);
    r.sum.stats = im.stats;
  }
  if (r.rc < 0) snprintf(r.msg, sizeof r.msg, "%s", e.msg);
  qt_import_fini(&im);
  qt_catalog_close(c);
  return r;
}

static outcome import_stream(const char *cat, const char *sym, const char *const *files, size_t n,
                             const qt_import_opts *o) {
  outcome r;
  memset(&r, 0, sizeof r);
  qt_err e = {0};
  r.rc = qt_import_into_catalog(cat, sym, files, n, o, &r.sum, &e);
  if (r.rc < 0) snprintf(r.msg, sizeof r.msg, "%s", e.msg);
  return r;
}

static void expect_same(const outcome *a, const outcome *b, const char *what, size_t size) {
  int same = a->rc == b->rc && !strcmp(a->msg, b->msg);
  if (a->rc >= 0 && b->rc >= 0) {
    const qt_import_stats *x = &a->sum.stats, *y = &b->sum.stats;
    same = same && a->sum.kind == b->sum.kind && a->sum.imported == b->sum.imported &&
           x->files == y->files && x->rows_read == y->rows_read && x->skipped == y->skipped &&
           x->duplicates == y->duplicates && x->replaced == y->replaced &&
           x->rows_kept == y->rows_kept && x->stored_before == y->stored_before &&
           !strcmp(x->first_bad, y->first_bad);
  }
  if (!same)
    QT_TEST_FAIL_("%s (size %zu): rc %d/%d \"%s\"/\"%s\" imported %zu/%zu dups %zu/%zu replaced "
                  "%zu/%zu kept %zu/%zu before %zu/%zu read %zu/%zu skipped %zu/%zu",
                  what, size, a->rc, b->rc, a->msg, b->msg, a->sum.imported, b->sum.imported,
                  a->sum.stats.duplicates, b->sum.stats.duplicates, a->sum.stats.replaced,
                  b->sum.stats.replaced, a->sum.stats.rows_kept, b->sum.stats.rows_kept,
                  a->sum.stats.stored_before, b->sum.stats.stored_before, a->sum.stats.rows_read,
                  b->sum.stats.rows_read, a->sum.stats.skipped, b->sum.stats.skipped);
}

/* Both catalogs' file of (sym, kind) byte for byte. */
static void expect_same_file(const char *ca, const char *cb, const char *sym, const char *kind,
                             const char *what, size_t size) {
  char pa[300], pb[300];
  snprintf(pa, sizeof pa, "%s/%s/%s/data.qtc", ca, sym, kind);
  snprintf(pb, sizeof pb, "%s/%s/%s/data.qtc", cb, sym, kind);
  size_t na, nb;
  char *a = slurp(pa, &na), *b = slurp(pb, &nb);
  if (!a != !b || na != nb || (a && memcmp(a, b, na)))
    QT_TEST_FAIL_("%s (size %zu): %s and %s differ (%zu / %zu bytes)", what, size, pa, pb, na, nb);
  free(a);
  free(b);
}

typedef struct step {
  const char *files[4];
  size_t n;
  int skip_bad;
} step;

static const size_t k_sizes[] = {1, 2, 3, 7, 13, 0};

/* Runs the steps into a reference catalog and, for each size, a streamed one. */
static void compare_steps(const char *tag, const char *kind, const step *steps, size_t n_steps) {
  char ref[200];
  snprintf(ref, sizeof ref, "%s/%s_ref", root(), tag);
  outcome want[8];
  for (size_t k = 0; k < n_steps; k++) {
    qt_import_opts o = qt_import_opts_default();
    o.skip_bad = steps[k].skip_bad;
    want[k] = import_ref(ref, "SYM", steps[k].files, steps[k].n, &o);
  }
  for (size_t z = 0; z < sizeof k_sizes / sizeof k_sizes[0]; z++) {
    char cat[200];
    snprintf(cat, sizeof cat, "%s/%s_%zu", root(), tag, k_sizes[z]);
    for (size_t k = 0; k < n_steps; k++) {
      qt_import_opts o = qt_import_opts_default();
      o.skip_bad = steps[k].skip_bad;
      o.run_rows = k_sizes[z];
      o.block_bytes = k_sizes[z];
      outcome got = import_stream(cat, "SYM", steps[k].files, steps[k].n, &o);
      char what[64];
      snprintf(what, sizeof what, "%s step %zu", tag, k + 1);
      expect_same(&want[k], &got, what, k_sizes[z]);
    }
    expect_same_file(ref, cat, "SYM", kind, tag, k_sizes[z]);
  }
}

static void bars_merge(void) {
  char buf[1 << 14], p1[256], p2[256], p3[256];
  size_t n = 0;
  /* file 1: minutes 0..29 out of order, minute 5 twice (same), 7 twice (different) */
  for (int m = 29; m >= 0; m--) n += kline(buf + n, sizeof buf - n, m, 100 + m);
  n += kline(buf + n, sizeof buf - n, 5, 105);
  n += kline(buf + n, sizeof buf - n, 7, 999);
  write_text("b1.csv", buf);
  /* file 2 (gzip): minutes 20..44, overlapping file 1 with new closes */
  n = 0;
  for (int m = 20; m < 45; m++) n += kline(buf + n, sizeof buf - n, m, m % 3 ? 100 + m : 200 + m);
  write_gz("b2.csv.gz", buf);
  /* file 3: a header, CRLF line ends, irregular steps (no majority interval) */
  n = (size_t)snprintf(buf, sizeof buf, "open_time,open,high,low,close,volume,close_time,"
                       "quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\r\n");
  const int ms[] = {50, 51, 53, 56, 57, 59, 62, 64, 67, 70};
  for (size_t i = 0; i < 10; i++) {
    size_t l = kline(buf + n, sizeof buf - n, ms[i], 300 + (double)i);
    buf[n + l - 1] = '\r';
    buf[n + l] = '\n';
    buf[n + l + 1] = 0;
    n += l + 1;
  }
  write_text("b3.csv", buf);
  path_of(p1, sizeof p1, "b1.csv"), path_of(p2, sizeof p2, "b2.csv.gz"), path_of(p3, sizeof p3, "b3.csv");
  step steps[] = {
      {{p1}, 1, 0},     /* new catalog */
      {{p2}, 1, 0},     /* merged with the stored rows */
      {{p2}, 1, 0},     /* again: unchanged (QT_DONE) */
      {{p3, p1}, 2, 0}, /* two files; file 1 again replaces the gzip's closes */
  };
  compare_steps("bars", "bars", steps, 4);
}

static void trades_and_quotes(void) {
  char buf[1 << 14], p1[256], p2[256], q1[256], q2[256];
  size_t n = 0;
  /* aggtrades: id,price,qty,first,last,time,is_buyer_maker; ids repeat at one time */
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%g,%g,1,1,%lld,%s\n", 1000 + i % 30,
                          10 + (double)(i % 4), 0.5 + (double)(i % 3), (long long)(T0 + (i % 30) * 1000),
                          i % 2 ? "true" : "false");
  write_text("t1.csv", buf);
  n = 0;
  for (int i = 20; i < 50; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%g,%g,1,1,%lld,%s\n", 1000 + i,
                          10 + (double)(i % 4), 0.5, (long long)(T0 + i * 1000), i % 2 ? "true" : "false");
  write_text("t2.csv", buf);
  path_of(p1, sizeof p1, "t1.csv"), path_of(p2, sizeof p2, "t2.csv");
  step ts[] = {{{p1}, 1, 0}, {{p2}, 1, 0}, {{p1, p2}, 2, 0}};
  compare_steps("trades", "trades", ts, 3);
  /* bookticker: update_id,bid,bid_qty,ask,ask_qty,transaction_time,event_time; many quotes a ms */
  n = 0;
  for (int i = 0; i < 60; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%g,%d,%g,%d,%lld,%lld\n", i, 10.0 + i % 2,
                          1 + i % 3, 10.5 + i % 2, 2, (long long)(T0 + (i / 5) * 100),
                          (long long)(T0 + (i / 5) * 100));
  write_text("q1.csv", buf);
  n = 0;
  for (int i = 30; i < 90; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%g,%d,%g,%d,%lld,%lld\n", i, 10.0 + i % 2,
                          1 + i % 3, 10.5 + i % 2, 2, (long long)(T0 + (i / 5) * 100),
                          (long long)(T0 + (i / 5) * 100));
  write_text("q2.csv", buf);
  path_of(q1, sizeof q1, "q1.csv"), path_of(q2, sizeof q2, "q2.csv");
  /* 80 quotes in one millisecond, every 7th repeating (a group past the
   * pairwise size: duplicates found through row hashes) */
  n = 0;
  for (int i = 0; i < 80; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%g,%d,%g,%d,%lld,%lld\n", i % 7 ? i : 0,
                          10.0 + (i % 7 ? i : 0) % 3, 1, 10.5 + (i % 7 ? i : 0) % 3, 2,
                          (long long)(T0 + 500), (long long)(T0 + 500));
  write_text("q3.csv", buf);
  char q3[256];
  path_of(q3, sizeof q3, "q3.csv");
  step qs[] = {{{q1}, 1, 0}, {{q2, q1}, 2, 0}, {{q3}, 1, 0}, {{q3, q1}, 2, 0}};
  compare_steps("quotes", "quotes", qs, 4);
}

/* A temp folder an import left when it was killed (its pid is gone) is
 * removed by the next import that spills beside the same catalog; a live
 * process's folder is kept. */
static void stale_temp_folders(void) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_TRUE(dead > 0);
  waitpid(dead, NULL, 0);
  char stale[256], live[256], junk[300], p1[256], cat[256];
  snprintf(stale, sizeof stale, "%s/.qtune-import.%ld.0", root(), (long)dead);
  snprintf(live, sizeof live, "%s/.qtune-import.%ld.99", root(), (long)getppid());
  ASSERT_TRUE(mkdir(stale, 0700) == 0 && mkdir(live, 0700) == 0);
  snprintf(junk, sizeof junk, "%s/run0", stale);
  write_text(junk + strlen(root()) + 1, "left by a killed import");
  path_of(p1, sizeof p1, "b1.csv");
  path_of(cat, sizeof cat, "sweep");
  const char *files[1] = {p1};
  qt_import_opts o = qt_import_opts_default();
  o.run_rows = 4;
  qt_import_summary sum;
  qt_err e = {0};
  EXPECT_EQ(qt_import_into_catalog(cat, "SYM", files, 1, &o, &sum, &e), QT_OK);
  struct stat st;
  EXPECT_TRUE(stat(stale, &st) != 0);
  EXPECT_TRUE(stat(live, &st) == 0);
  rmdir(live);
  /* and the import's own folder is gone when it ends */
  char own[64];
  snprintf(own, sizeof own, ".qtune-import.%ld.", (long)getpid());
  DIR *d = opendir(root());
  ASSERT_TRUE(d != NULL);
  struct dirent *de;
  int left = 0;
  while ((de = readdir(d)) != NULL) left += !strncmp(de->d_name, own, strlen(own));
  closedir(d);
  EXPECT_EQ(left, 0);
}

static void bad_rows(void) {
  char buf[1 << 13], p1[256], p2[256];
  size_t n = 0;
  for (int m = 0; m < 20; m++) {
    if (m == 6) n += (size_t)snprintf(buf + n, sizeof buf - n, "%lld,1,2,0.5,1.2.3,10,0,0,0,0,0,0\n",
                                      (long long)(T0 + m * MIN));
    else if (m == 11) n += (size_t)snprintf(buf + n, sizeof buf - n, "%lld,0,0,0,0,10,0,0,0,0,0,0\n",
                                            (long long)(T0 + m * MIN));
    else if (m == 15) n += (size_t)snprintf(buf + n, sizeof buf - n, "1,2,3\n");
    else n += kline(buf + n, sizeof buf - n, m, 50 + m);
  }
  write_text("bad.csv", buf);
  path_of(p1, sizeof p1, "bad.csv");
  /* refused: the first bad row's file:line:field, and no catalog */
  step refuse[] = {{{p1}, 1, 0}};
  compare_steps("badfail", "bars", refuse, 1);
  char cat[200];
  snprintf(cat, sizeof cat, "%s/badfail_0", root());
  struct stat st;
  EXPECT_TRUE(stat(cat, &st) != 0); /* a bad file leaves no trace */
  step skip[] = {{{p1}, 1, 1}};
  compare_steps("badskip", "bars", skip, 1);
  /* JSON (read whole) next to CSV, and a file with no data rows */
  write_text("c.json", "[[1767225600000,1,2,0.5,1.5,3],[1767225660000,1.5,2,1,1.2,4]]\n");
  write_text("empty.csv", "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                          "taker_buy_volume,taker_buy_quote_volume,ignore\n");
  path_of(p2, sizeof p2, "c.json");
  step js[] = {{{p2}, 1, 0}};
  compare_steps("json", "bars", js, 1);
  path_of(p2, sizeof p2, "empty.csv");
  step em[] = {{{p2}, 1, 0}};
  compare_steps("empty", "bars", em, 1);
}

/* Each allocation of a streamed import fails in turn: QT_ENOMEM with a
 * message, the stored series untouched and no temp folder left, until the
 * import succeeds with the reference's bytes (a merge with stored rows,
 * several runs).  Uses the files of bars_merge. */
static void out_of_memory(void) {
  char p1[256], p2[256], ref[200], cat[200], path[300];
  path_of(p1, sizeof p1, "b1.csv"), path_of(p2, sizeof p2, "b2.csv.gz");
  const char *f1[1] = {p1}, *f2[1] = {p2};
  snprintf(ref, sizeof ref, "%s/oom_ref", root());
  qt_import_opts o = qt_import_opts_default();
  o.run_rows = 4;
  o.block_bytes = 64;
  ASSERT_TRUE(import_ref(ref, "SYM", f1, 1, &o).rc == QT_OK);
  ASSERT_TRUE(import_ref(ref, "SYM", f2, 1, &o).rc == QT_OK);
  int ok = 0;
  long k;
  for (k = 1; k < 2000 && !ok; k++) {
    snprintf(cat, sizeof cat, "%s/oom_%ld", root(), k);
    if (import_stream(cat, "SYM", f1, 1, &o).rc != QT_OK) {
      QT_TEST_FAIL_("first import failed");
      return;
    }
    snprintf(path, sizeof path, "%s/SYM/bars/data.qtc", cat);
    size_t n0;
    char *before = slurp(path, &n0);
    qt_alloc_fail_at(k, 0);
    outcome r = import_stream(cat, "SYM", f2, 1, &o);
    qt_alloc_fail_at(0, 0);
    if (r.rc == QT_OK) {
      ok = 1;
      expect_same_file(ref, cat, "SYM", "bars", "oom", (size_t)k);
    } else {
      EXPECT_EQ(r.rc, QT_ENOMEM);
      EXPECT_TRUE(r.msg[0] != 0);
      size_t n1;
      char *after = slurp(path, &n1);
      EXPECT_TRUE(after && n1 == n0 && !memcmp(before, after, n0));
      free(after);
    }
    free(before);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cat);
    if (system(cmd) != 0) QT_TEST_FAIL_("rm %s", cat);
  }
  EXPECT_TRUE(ok);
  EXPECT_TRUE(k > 5); /* the sweep met allocations to fail */
  char own[64];
  snprintf(own, sizeof own, ".qtune-import.%ld.", (long)getpid());
  DIR *d = opendir(root());
  ASSERT_TRUE(d != NULL);
  struct dirent *de;
  int left = 0;
  while ((de = readdir(d)) != NULL) left += !strncmp(de->d_name, own, strlen(own));
  closedir(d);
  EXPECT_EQ(left, 0);
}

/* ---- memory: peak RSS follows the run and block sizes, not the file ---- */

static long status_kb(const char *field) {
  FILE *fp = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (fp && fgets(line, sizeof line, fp))
    if (!strncmp(line, field, n) && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
  if (fp) fclose(fp);
  return v;
}

/* n_rows klines at 1m, in order, into name. */
static void big_kline(const char *name, size_t n_rows) {
  char p[256], line[256];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "w");
  if (!f) abort();
  for (size_t i = 0; i < n_rows; i++) {
    size_t l = kline(line, sizeof line, (int64_t)i, 100 + (double)(i % 1000) / 10);
    if (fwrite(line, 1, l, f) != l) abort();
  }
  if (fclose(f)) abort();
}

/* The peak RSS growth (kB) of streaming file into a new catalog, in a child. */
static long import_peak(const char *file, const char *cat_name, size_t *out_rows) {
  int fds[2];
  if (pipe(fds)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fds[0]);
    long res[2] = {-1, 0};
    long before = status_kb("VmHWM");
    char p[256], cat[256];
    path_of(p, sizeof p, file);
    path_of(cat, sizeof cat, cat_name);
    const char *files[1] = {p};
    qt_import_opts o = qt_import_opts_default();
    o.run_rows = 65536;
    o.block_bytes = 1 << 16;
    qt_import_summary sum;
    if (qt_import_into_catalog(cat, "BIG", files, 1, &o, &sum, NULL) == QT_OK)
      res[0] = status_kb("VmHWM") - before, res[1] = (long)sum.stats.rows_kept;
    ssize_t w = write(fds[1], res, sizeof res);
    _exit(w == (ssize_t)sizeof res ? 0 : 1);
  }
  close(fds[1]);
  long res[2] = {-1, 0};
  if (read(fds[0], res, sizeof res) != (ssize_t)sizeof res) res[0] = -1;
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  *out_rows = (size_t)res[1];
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? res[0] : -1;
}

static void peak_rss_follows_chunks(void) {
  const size_t n = 300000;
  big_kline("big1.csv", n);
  big_kline("big2.csv", 2 * n);
  size_t r1 = 0, r2 = 0;
  long a = import_peak("big1.csv", "big1", &r1);
  long b = import_peak("big2.csv", "big2", &r2);
  fprintf(stderr, "  import peak RSS growth: %zu rows %ld kB, %zu rows %ld kB\n", r1, a, r2, b);
  ASSERT_TRUE(a > 0 && b > 0);
  EXPECT_EQ(r1, n);
  EXPECT_EQ(r2, 2 * n);
  EXPECT_TRUE(b * 10 <= a * 12); /* twice the file: at most 20% more memory */
}

/* Appending to a stored series: the peak does not follow the stored rows
 * (300,000 or 600,000 stored, 100,000 appended after them). */
static void peak_rss_follows_chunks_not_stored(void) {
  char p[256], line[256];
  path_of(p, sizeof p, "tail.csv");
  FILE *f = fopen(p, "w");
  ASSERT_TRUE(f != NULL);
  for (size_t i = 0; i < 100000; i++) {
    size_t l = kline(line, sizeof line, (int64_t)(700000 + i), 100 + (double)(i % 1000) / 10);
    if (fwrite(line, 1, l, f) != l) abort();
  }
  ASSERT_TRUE(fclose(f) == 0);
  size_t r1 = 0, r2 = 0;
  long a = import_peak("tail.csv", "big1", &r1); /* the catalogs of peak_rss_follows_chunks */
  long b = import_peak("tail.csv", "big2", &r2);
  fprintf(stderr, "  append peak RSS growth: onto 300000 rows %ld kB, onto 600000 rows %ld kB\n", a,
          b);
  ASSERT_TRUE(a > 0 && b > 0);
  EXPECT_EQ(r1, 400000);
  EXPECT_EQ(r2, 700000);
  EXPECT_TRUE(b * 10 <= a * 12);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root());
  if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", root());
}

QT_TESTS(T(bars_merge), T(trades_and_quotes), T(bad_rows), T(stale_temp_folders), T(out_of_memory), T(peak_rss_follows_chunks), T(peak_rss_follows_chunks_not_stored),
         T(cleanup))
