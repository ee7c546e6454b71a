/* The gate tests' one evaluation: runs qt_gate_evaluate on hand-made
 * metrics and reads each check's pass out of its JSON report. */
#ifndef QTUNE_TESTS_VALIDATE_GATE_FIXTURE_H
#define QTUNE_TESTS_VALIDATE_GATE_FIXTURE_H

#include "qt_test.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <stdio.h>

/* The report of the last gate_run (the tests read more of it). */
static char g_buf[1 << 15];

/* The gate's verdict (1 pass, 0 fail; -1 when it did not run) on candidate,
 * baseline and out-of-sample metrics (JSON texts) of a study over n_sym
 * symbols; pass_of[k] gets check k's pass. */
static inline int gate_run(const char *cand, const char *base, const char *oos, size_t n_sym,
                           const qt_gate_thresholds *t, int *pass_of) {
  qt_gate_input in = {cand, base, oos, "test", n_sym};
  int pass = -1;
  qt_err e = {0};
  int r = qt_gate_evaluate(&in, t, g_buf, sizeof g_buf, &pass, &e);
  if (r) fprintf(stderr, "evaluate: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  json_t *j = json_loads(g_buf, 0, NULL), *c;
  size_t i;
  json_array_foreach(json_object_get(j, "checks"), i, c) pass_of[i] = json_is_true(json_object_get(c, "pass"));
  json_decref(j);
  return pass;
}

#endif
