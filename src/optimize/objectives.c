/* Several objectives in a goal: parsing `--objective a,b --direction
 * maximize,minimize` and reading the objectives back.  A goal with one
 * objective keeps it in metric/maximize only (n_obj 0 or 1), so every
 * single-objective path stays as it was. */
#include "qtune/optimize.h"

#include <string.h>

size_t qt_goal_n_objectives(const qt_goal *g) { return g->n_obj >= 2 ? g->n_obj : 1; }

const char *qt_goal_objective(const qt_goal *g, size_t k, int *out_max) {
  if (g->n_obj < 2) {
    if (out_max) *out_max = g->maximize;
    return g->metric;
  }
  if (out_max) *out_max = g->obj[k].maximize;
  return g->obj[k].metric;
}

/* The comma-separated item i of s (trimmed of spaces) into buf; 0 when s
 * has no item i, -1 when it is empty or too long. */
static int item(const char *s, size_t i, char *buf, size_t cap) {
  for (size_t k = 0; k < i; k++) {
    s = strchr(s, ',');
    if (!s) return 0;
    s++;
  }
  const char *e = strchr(s, ',');
  size_t n = e ? (size_t)(e - s) : strlen(s);
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 || n >= cap) return -1;
  memcpy(buf, s, n);
  buf[n] = 0;
  return 1;
}

static size_t count_items(const char *s) {
  size_t n = 1;
  for (; *s; s++) n += *s == ',';
  return n;
}

int qt_goal_parse_objectives(qt_goal *g, const char *metrics, const char *directions,
                             qt_err *err) {
  qt_goal t = *g;
  size_t n = count_items(metrics), nd = directions ? count_items(directions) : 0;
  if (n > QT_GOAL_MAX_OBJ)
    return qt_err_set(err, QT_EPARSE, "--objective '%s': %zu objectives, at most %d", metrics, n,
                      QT_GOAL_MAX_OBJ);
  if (directions && nd != 1 && nd != n)
    return qt_err_set(err, QT_EPARSE,
                      "--direction '%s': %zu directions for %zu objectives (give one for all "
                      "or one per objective)",
                      directions, nd, n);
  memset(t.obj, 0, sizeof t.obj);
  for (size_t k = 0; k < n; k++) {
    char m[48], d[16] = "maximize";
    if (item(metrics, k, m, sizeof m) != 1)
      return qt_err_set(err, QT_EPARSE, "--objective '%s': item %zu is empty or longer than 47 bytes",
                        metrics, k + 1);
    if (n > 1 && !strcmp(m, "score"))
      return qt_err_set(err, QT_EPARSE,
                        "--objective '%s': 'score' is a weighted sum of metrics, one objective "
                        "on its own; list metrics (e.g. sharpe,max_drawdown)",
                        metrics);
    for (size_t j = 0; j < k; j++)
      if (!strcmp(t.obj[j].metric, m))
        return qt_err_set(err, QT_EPARSE, "--objective '%s': '%s' is listed twice", metrics, m);
    if (directions && item(directions, nd == 1 ? 0 : k, d, sizeof d) != 1)
      return qt_err_set(err, QT_EPARSE, "--direction '%s': item %zu is empty", directions,
                        (nd == 1 ? 0 : k) + 1);
    if (strcmp(d, "maximize") && strcmp(d, "minimize"))
      return qt_err_set(err, QT_EPARSE, "--direction '%s': '%s': use maximize or minimize",
                        directions, d);
    strcpy(t.obj[k].metric, m);
    t.obj[k].maximize = !strcmp(d, "maximize");
  }
  strcpy(t.metric, t.obj[0].metric);
  t.maximize = t.obj[0].maximize;
  t.n_obj = n > 1 ? n : 0;
  if (n == 1) memset(t.obj, 0, sizeof t.obj);
  *g = t;
  return QT_OK;
}
