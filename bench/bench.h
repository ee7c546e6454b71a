/* Helpers for benchmarks: a monotonic clock and a JSON line printer.  Each
 * bench program prints one JSON object per measurement on stdout. */
#ifndef QTUNE_BENCH_BENCH_H
#define QTUNE_BENCH_BENCH_H

#include <stdio.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
