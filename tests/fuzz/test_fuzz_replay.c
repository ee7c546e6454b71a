/* Replays the fuzz targets' saved inputs (tests/fuzz/repro_<target>/: crash
 * reproducers that `make fuzz` finds, and hand-made seeds for the costly
 * shapes: deep nesting, huge lists, zip and gzip bombs) through the same
 * entry points, under the test build's sanitizers.  A crash, a leak or an
 * error without a message fails the test. */
#include "qt_test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LLVMFuzzerTestOneInput fuzz_text_one
#include "../../fuzz/fuzz_text.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_files_one
#define dir files_dir
#define must_say_why files_must_say_why
#include "../../fuzz/fuzz_files.c"
#undef LLVMFuzzerTestOneInput
#undef dir
#undef must_say_why

static int replay_dir(const char *path, int (*one)(const uint8_t *, size_t)) {
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    FILE *f = fopen(p, "rb");
    if (!f) continue;
    static uint8_t buf[1 << 21];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    one(buf, len);
    n++;
  }
  closedir(d);
  return n;
}

/* The shapes the reliability review found slow or large, built here so the
 * repository carries no big files. */
static void text_costly_shapes(void) {
  static char buf[1 << 20];
  /* A space overlay nested 100,000 levels deep. */
  size_t n = 0;
  buf[n++] = 0;
  buf[n++] = 0;
  memcpy(buf + n, "fast: ", 6);
  n += 6;
  for (int k = 0; k < 100000; k++) buf[n++] = '[';
  for (int k = 0; k < 100000; k++) buf[n++] = ']';
  buf[n++] = '\n';
  fuzz_text_one((const uint8_t *)buf, n);
  buf[0] = 2; /* the same as stored JSON */
  fuzz_text_one((const uint8_t *)buf, n);
  /* 100,000 categorical choices. */
  n = 0;
  buf[n++] = 0;
  buf[n++] = 0;
  n += (size_t)snprintf(buf + n, sizeof buf - n, "fast: {type: categorical, choices: [");
  for (int k = 0; k < 100000 && n < sizeof buf - 16; k++) n += (size_t)snprintf(buf + n, 16, "%d,", k);
  buf[n++] = '0';
  buf[n++] = ']';
  buf[n++] = '}';
  buf[n++] = '\n';
  fuzz_text_one((const uint8_t *)buf, n);
  EXPECT_TRUE(1); /* reaching here without a sanitizer report is the test */
}

static void text_saved_inputs(void) {
  int n = replay_dir("tests/fuzz/repro_text", fuzz_text_one);
  EXPECT_TRUE(n >= 0);
}

static void files_saved_inputs(void) {
  int n = replay_dir("tests/fuzz/repro_files", fuzz_files_one);
  EXPECT_TRUE(n >= 0);
}

QT_TESTS(T(text_costly_shapes), T(text_saved_inputs), T(files_saved_inputs))
