/* libFuzzer target for the readers of outside files that only a file can
 * reach: the gzip and zip containers of the importers, and the catalog's
 * columnar files (a damaged or hostile data.qtc).  The first byte picks the
 * reader, the rest is the file's bytes, written to a private temp folder.
 * Whatever the bytes, a reader accepts or fails with a message, within the
 * documented decompressed-size limit.  Build and run: scripts/fuzz. */
#include "qtune/data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static const char *dir(void) {
  if (!g_dir[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/qtune-fuzz-files.%d", (int)getpid());
    mkdir(g_dir, 0700);
  }
  return g_dir;
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

static void must_say_why(int r, const qt_err *e) {
  if (r != QT_OK && r != QT_DONE && e->msg[0] == '\0') abort();
}

static void import_container(const uint8_t *p, size_t n, const char *suffix) {
  char path[512];
  snprintf(path, sizeof path, "%s/in%s", dir(), suffix);
  if (write_file(path, p, n)) return;
  const char *paths[1] = {path};
  qt_import_opts o = qt_import_opts_default();
  qt_import im;
  qt_err e = {0};
  int r = qt_import_files(paths, 1, &o, &im, &e);
  must_say_why(r, &e);
  if (r == QT_OK) qt_import_fini(&im);
  unlink(path);
}

static void catalog_file(const uint8_t *p, size_t n, int kind) {
  char cdir[512], path[600];
  snprintf(cdir, sizeof cdir, "%s/cat", dir());
  qt_catalog *c = NULL;
  qt_err e = {0};
  if (qt_catalog_open(cdir, 1, &c, &e)) abort(); /* a fresh catalog always opens */
  snprintf(path, sizeof path, "%s/FUZZ", cdir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/FUZZ/%s", cdir, qt_kind_name(kind));
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/FUZZ/%s/data.qtc", cdir, qt_kind_name(kind));
  if (write_file(path, p, n) == 0) {
    int r;
    if (kind == QT_KIND_BARS) {
      qt_bars b;
      r = qt_catalog_get_bars(c, "FUZZ", &b, &e);
      if (r == QT_OK) qt_bars_fini(&b);
    } else if (kind == QT_KIND_TRADES) {
      qt_trades t;
      r = qt_catalog_get_trades(c, "FUZZ", &t, &e);
      if (r == QT_OK) qt_trades_fini(&t);
    } else if (kind == QT_KIND_FUNDING) {
      qt_funding f;
      r = qt_catalog_get_funding(c, "FUZZ", &f, &e);
      if (r == QT_OK) qt_funding_fini(&f);
    } else {
      qt_quotes q;
      r = qt_catalog_get_quotes(c, "FUZZ", &q, &e);
      if (r == QT_OK) qt_quotes_fini(&q);
    }
    must_say_why(r, &e);
    qt_catalog_entry ent[4];
    size_t ne = 0;
    e.msg[0] = '\0';
    must_say_why(qt_catalog_list(c, ent, 4, &ne, &e), &e);
    unlink(path);
  }
  qt_catalog_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1 << 20)) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  switch (data[0] % 6) {
    case 0: import_container(p, n, ".csv.gz"); break;
    case 1: import_container(p, n, ".zip"); break;
    case 2: catalog_file(p, n, QT_KIND_BARS); break;
    case 3: catalog_file(p, n, QT_KIND_TRADES); break;
    case 4: catalog_file(p, n, QT_KIND_FUNDING); break;
    case 5: catalog_file(p, n, QT_KIND_QUOTES); break;
  }
  return 0;
}
