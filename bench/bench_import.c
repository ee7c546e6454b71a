/* Import and catalog benchmarks: a 1,000,000-row Binance kline CSV is
 * generated in /tmp, imported (rows/s, MB/s), read by pandas.read_csv for
 * comparison (bench/pandas_import.py via popen), stored in a catalog and
 * loaded back by mmap with and without checksum verification. */
#include "bench.h"
#include "qtune/data.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROWS 1000000

static int make_csv(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  qt_rng r;
  qt_rng_seed(&r, 7);
  fputs("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore\n", f);
  int64_t t = 1780272000000LL;
  double px = 25.0;
  for (long i = 0; i < ROWS; i++, t += 60000) {
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

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  char dir[] = "/tmp/qtune_bench_import_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char csv[128], cat_dir[128], cmd[512];
  snprintf(csv, sizeof csv, "%s/klines.csv", dir);
  snprintf(cat_dir, sizeof cat_dir, "%s/catalog", dir);
  if (make_csv(csv)) return 1;
  FILE *fs = fopen(csv, "rb");
  fseek(fs, 0, SEEK_END);
  double mb = (double)ftell(fs) / 1e6;
  fclose(fs);

  /* import: best of 3 (the first run also warms the page cache) */
  qt_err e = {0};
  qt_import im;
  const char *paths[1] = {csv};
  double best = 1e9;
  for (int k = 0; k < 3; k++) {
    double t0 = bench_now();
    if (qt_import_files(paths, 1, NULL, &im, &e)) {
      fprintf(stderr, "bench_import: %s\n", e.msg);
      return 1;
    }
    double dt = bench_now() - t0;
    if (dt < best) best = dt;
    if (k < 2) qt_import_fini(&im);
  }
  printf("{\"bench\":\"import_kline\",\"rows\":%zu,\"mb\":%.1f,\"seconds\":%.4f,\"rows_per_s\":%.0f,"
         "\"mb_per_s\":%.1f}\n",
         im.bars.n, mb, best, (double)im.bars.n / best, mb / best);
  fflush(stdout);

  /* pandas on the same file, same run */
  const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  snprintf(cmd, sizeof cmd, "%s bench/pandas_import.py %s 2>/dev/null", py, csv);
  FILE *p = popen(cmd, "r");
  char line[1024] = "";
  double pandas_rps = 0;
  if (p) {
    if (fgets(line, sizeof line, p)) {
      fputs(line, stdout);
      const char *k = strstr(line, "\"rows_per_s\":");
      if (k) pandas_rps = strtod(k + 13, NULL);
    }
    pclose(p);
  }
  if (pandas_rps > 0)
    printf("{\"bench\":\"import_kline_vs_pandas\",\"qtune_rows_per_s\":%.0f,\"pandas_rows_per_s\":%.0f,"
           "\"ratio\":%.2f}\n",
           (double)im.bars.n / best, pandas_rps, (double)im.bars.n / best / pandas_rps);
  else
    printf("{\"bench\":\"import_kline_vs_pandas\",\"skipped\":\"pandas not available\"}\n");
  fflush(stdout);

  /* catalog: write once, then load 1M bars by mmap (median of 15) */
  qt_catalog *c;
  if (qt_catalog_open(cat_dir, 1, &c, &e)) return 1;
  double t0 = bench_now();
  if (qt_catalog_put_bars(c, "BENCH", &im.bars, &e) != QT_OK) return 1;
  double put_s = bench_now() - t0;
  printf("{\"bench\":\"catalog_put_bars\",\"rows\":%zu,\"ms\":%.2f}\n", im.bars.n, put_s * 1e3);
  for (int verify = 1; verify >= 0; verify--) {
    qt_catalog_set_verify(c, verify);
    double ms[15];
    double sum = 0;
    for (int k = 0; k < 15; k++) {
      qt_bars b;
      t0 = bench_now();
      if (qt_catalog_get_bars(c, "BENCH", &b, &e)) return 1;
      ms[k] = (bench_now() - t0) * 1e3;
      sum += b.close[b.n - 1]; /* touch the data */
      qt_bars_fini(&b);
    }
    qsort(ms, 15, sizeof ms[0], cmp_d);
    printf("{\"bench\":\"catalog_load_bars\",\"rows\":%zu,\"verify\":%s,\"ms_median\":%.3f,"
           "\"ms_min\":%.3f,\"check\":%.4f}\n",
           im.bars.n, verify ? "true" : "false", ms[7], ms[0], sum / 15);
  }
  /* idempotent re-put: compares with the stored file, writes nothing */
  t0 = bench_now();
  int rc = qt_catalog_put_bars(c, "BENCH", &im.bars, &e);
  printf("{\"bench\":\"catalog_put_unchanged\",\"rows\":%zu,\"ms\":%.2f,\"done\":%s}\n", im.bars.n,
         (bench_now() - t0) * 1e3, rc == QT_DONE ? "true" : "false");
  qt_catalog_close(c);
  qt_import_fini(&im);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
