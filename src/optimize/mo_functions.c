/* Benchmark problems with several objectives (Zitzler, Deb & Thiele 2000;
 * Deb, Thiele, Laumanns & Zitzler 2002), to minimize over [0,1]^n:
 *   zdt1     f1 = x1, f2 = g (1 - sqrt(f1 / g)), g = 1 + 9 sum_{i>=2} x_i / (n - 1)
 *   zdt2     the same with f2 = g (1 - (f1 / g)^2)   (a concave front)
 *   dtlz2    M = 2, dtlz2_3: M = 3; g = sum_{i>=M} (x_i - 0.5)^2,
 *            f_m = (1 + g) prod_{j < M-m} cos(x_j pi/2) * (m > 1 ? sin(x_{M-m} pi/2) : 1)
 * Used by the function objective, the tests and bench_multiobjective. */
#include "qtune/optimize.h"

#include <math.h>
#include <string.h>

int qt_mo_function(const char *name, const double *u, size_t n, double *out_f, size_t *out_m) {
  double x[256];
  if (n == 0 || n > 256) return QT_EINVAL;
  for (size_t i = 0; i < n; i++) x[i] = u[i] < 0 ? 0 : u[i] > 1 ? 1 : u[i];
  if (!strcmp(name, "zdt1") || !strcmp(name, "zdt2")) {
    if (n < 2) return QT_EINVAL;
    double s = 0;
    for (size_t i = 1; i < n; i++) s += x[i];
    double g = 1 + 9 * s / (double)(n - 1), r = x[0] / g;
    out_f[0] = x[0];
    out_f[1] = g * (name[3] == '1' ? 1 - sqrt(r) : 1 - r * r);
    *out_m = 2;
    return QT_OK;
  }
  size_t M = !strcmp(name, "dtlz2") ? 2 : !strcmp(name, "dtlz2_3") ? 3 : 0;
  if (!M) return QT_EINVAL;
  if (n < M) return QT_EINVAL;
  double g = 0;
  for (size_t i = M - 1; i < n; i++) g += (x[i] - 0.5) * (x[i] - 0.5);
  for (size_t m = 0; m < M; m++) { /* f_{m+1} */
    double f = 1 + g;
    for (size_t j = 0; j + 1 < M - m; j++) f *= cos(x[j] * M_PI / 2);
    if (m > 0) f *= sin(x[M - 1 - m] * M_PI / 2);
    out_f[m] = f;
  }
  *out_m = M;
  return QT_OK;
}
