/* The streaming import's memory and speed: a generated 1m kline CSV of
 * 10,000,000 rows (~1.1 GB; BENCH_QUICK=1: 3,000,000, BENCH_IMPORT_ROWS=N
 * any) in /tmp is imported into a new catalog by qt_import_into_catalog
 * (what `qtune data import` runs) and by the in-memory path it replaced
 * (qt_import_files + qt_catalog_merge), each in its own forked child so
 * each peak (VmHWM) is its own.  Prints seconds, rows/s and peak RSS of
 * both, and the ratios measured in this run: stream peak / CSV size and
 * stream peak / in-memory peak. */
#include "bench.h"
#include "qtune/data.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int make_csv(const char *path, long rows) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  qt_rng r;
  qt_rng_seed(&r, 7);
  fputs("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore\n", f);
  int64_t t = 1577836800000LL; /* 2020-01-01: 10M minutes reach 2039 */
  double px = 25.0;
  for (long i = 0; i < rows; i++, t += 60000) {
    double o = px, c = o * (1 + 0.001 * qt_rng_normal(&r));
    double h = (o > c ? o : c) * (1 + 0.0005 * qt_rng_uniform(&r));
    double l = (o < c ? o : c) * (1 - 0.0005 * qt_rng_uniform(&r));
    long v = 1 + (long)qt_rng_below(&r, 50000), n = 1 + (long)qt_rng_below(&r, 900);
    long tb = (long)qt_rng_below(&r, (uint64_t)v + 1);
    fprintf(f, "%lld,%.4f,%.4f,%.4f,%.4f,%ld,%lld,%.4f,%ld,%ld,%.4f,0\n", (long long)t, o, h, l, c, v,
            (long long)(t + 59999), v * (o + c) / 2, n, tb, tb * (o + c) / 2);
    px = c;
  }
  return fclose(f);
}

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

typedef struct result {
  double seconds;
  long peak_kb;
  long rows;
  int ok;
} result;

/* Imports csv into a new catalog cat in a child: streamed or in memory. */
static result run(const char *csv, const char *cat, int streamed) {
  result res = {0, 0, 0, 0};
  int fds[2];
  if (pipe(fds)) return res;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const char *paths[1] = {csv};
    qt_err e = {0};
    double t0 = bench_now();
    int rc;
    if (streamed) {
      qt_import_summary s;
      rc = qt_import_into_catalog(cat, "BENCH", paths, 1, NULL, &s, &e);
      res.rows = (long)s.stats.rows_kept;
    } else {
      qt_import im;
      qt_catalog *c = NULL;
      rc = qt_import_files(paths, 1, NULL, &im, &e);
      if (rc == QT_OK) rc = qt_catalog_open(cat, 1, &c, &e);
      if (rc == QT_OK) rc = qt_catalog_merge(c, "BENCH", &im, &e);
      res.rows = (long)im.stats.rows_kept;
      qt_catalog_close(c);
      qt_import_fini(&im);
    }
    res.seconds = bench_now() - t0;
    res.peak_kb = status_kb("VmHWM");
    res.ok = rc >= 0;
    if (rc < 0) fprintf(stderr, "bench_import_stream: %s\n", e.msg);
    ssize_t w = write(fds[1], &res, sizeof res);
    _exit(w == (ssize_t)sizeof res ? 0 : 1);
  }
  close(fds[1]);
  if (pid > 0 && read(fds[0], &res, sizeof res) != (ssize_t)sizeof res) res.ok = 0;
  close(fds[0]);
  if (pid > 0) waitpid(pid, NULL, 0);
  return res;
}

/* Whether two files hold the same bytes. */
static int same_file(const char *a, const char *b) {
  FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
  int same = x && y;
  static char bx[1 << 16], by[1 << 16];
  while (same) {
    size_t nx = fread(bx, 1, sizeof bx, x), ny = fread(by, 1, sizeof by, y);
    same = nx == ny && !memcmp(bx, by, nx);
    if (!nx) break;
  }
  if (x) fclose(x);
  if (y) fclose(y);
  return same;
}

int main(void) {
  long rows = getenv("BENCH_QUICK") ? 3000000 : 10000000;
  if (getenv("BENCH_IMPORT_ROWS")) rows = atol(getenv("BENCH_IMPORT_ROWS"));
  char dir[] = "/tmp/qtune_bench_istream_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char csv[128], c1[128], c2[128], cmd[256];
  snprintf(csv, sizeof csv, "%s/klines.csv", dir);
  snprintf(c1, sizeof c1, "%s/cat_stream", dir);
  snprintf(c2, sizeof c2, "%s/cat_memory", dir);
  int rc = 1;
  if (make_csv(csv, rows)) goto done;
  struct stat st;
  if (stat(csv, &st)) goto done;
  double csv_mb = (double)st.st_size / 1048576.0;
  result s = run(csv, c1, 1), m = run(csv, c2, 0);
  if (!s.ok || !m.ok) goto done;
  double s_mb = (double)s.peak_kb / 1024.0, m_mb = (double)m.peak_kb / 1024.0;
  printf("{\"bench\":\"import_stream\",\"rows\":%ld,\"csv_mb\":%.1f,\"seconds\":%.3f,"
         "\"rows_per_s\":%.0f,\"peak_rss_mb\":%.1f,\"peak_over_csv\":%.3f}\n",
         s.rows, csv_mb, s.seconds, (double)s.rows / s.seconds, s_mb, s_mb / csv_mb);
  printf("{\"bench\":\"import_in_memory\",\"rows\":%ld,\"csv_mb\":%.1f,\"seconds\":%.3f,"
         "\"rows_per_s\":%.0f,\"peak_rss_mb\":%.1f,\"peak_over_csv\":%.3f}\n",
         m.rows, csv_mb, m.seconds, (double)m.rows / m.seconds, m_mb, m_mb / csv_mb);
  char f1[200], f2[200];
  snprintf(f1, sizeof f1, "%s/BENCH/bars/data.qtc", c1);
  snprintf(f2, sizeof f2, "%s/BENCH/bars/data.qtc", c2);
  printf("{\"bench\":\"import_stream_vs_in_memory\",\"rows\":%ld,\"peak_ratio\":%.3f,"
         "\"speed_ratio\":%.3f,\"same_catalog_file\":%s}\n",
         rows, s_mb / m_mb, m.seconds / s.seconds, same_file(f1, f2) ? "true" : "false");
  rc = 0;
done:
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) rc = 1;
  return rc;
}
