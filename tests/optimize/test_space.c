#include "qt_test.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

static const char *const k_modes[] = {"fast", "slow", "off"};
static const qt_param_spec k_spec[] = {
    {"grid_step_bps", QT_PARAM_INT, 10, 200, 1, 0, 50, NULL, 0, "bps"},
    {"tp_steps", QT_PARAM_INT, 1, 10, 1, 0, 2, NULL, 0, "steps"},
    {"base_qty", QT_PARAM_FLOAT, 0.001, 0.1, 0, 1, 0.01, NULL, 0, "qty"},
    {"mode", QT_PARAM_CAT, 0, 2, 0, 0, 1, k_modes, 3, "mode"},
    {"hedge", QT_PARAM_BOOL, 0, 1, 0, 0, 1, NULL, 0, "flag"},
    {"scale", QT_PARAM_FLOAT, 0.5, 2.0, 0.25, 0, 1.0, NULL, 0, "x"},
};
#define NSPEC (sizeof k_spec / sizeof k_spec[0])

static qt_space *spec_space(void) {
  qt_space *sp = NULL;
  qt_err e;
  if (qt_space_from_spec(k_spec, NSPEC, &sp, &e)) return NULL;
  return sp;
}

static void from_spec_dims(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  EXPECT_EQ(qt_space_n(sp), 6);
  EXPECT_EQ(qt_space_index(sp, "base_qty"), 2);
  EXPECT_EQ(qt_space_index(sp, "nope"), -1);
  const qt_dim *m = qt_space_dim(sp, 3);
  EXPECT_EQ(m->type, QT_PARAM_CAT);
  EXPECT_EQ(m->n_choices, 3);
  EXPECT_STREQ(m->choices[1], "slow");
  EXPECT_TRUE(m->choices[1] != k_modes[1]); /* a copy, owned by the space */
  EXPECT_TRUE(isnan(m->choice_vals[0]));
  double lo, hi;
  qt_space_bounds(sp, 2, &lo, &hi);
  EXPECT_NEAR(lo, log(0.001), 1e-15);
  EXPECT_NEAR(hi, log(0.1), 1e-15);
  qt_space_bounds(sp, 3, &lo, &hi);
  EXPECT_DBL_EQ(lo, 0);
  EXPECT_DBL_EQ(hi, 2);
  qt_space_bounds(sp, 4, &lo, &hi);
  EXPECT_DBL_EQ(hi, 1);
  qt_dim d = *qt_space_dim(sp, 0);
  d.choices = NULL;
  d.n_choices = 0;
  qt_err e;
  EXPECT_EQ(qt_space_add(sp, &d, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "grid_step_bps");
  qt_space_free(sp);
  qt_space_free(NULL);
}

static void conversions_and_snap(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  double x = qt_space_to_internal(sp, 2, 0.02);
  EXPECT_NEAR(x, log(0.02), 1e-15);
  EXPECT_NEAR(qt_space_to_user(sp, 2, x), 0.02, 1e-14);
  EXPECT_DBL_EQ(qt_space_to_user(sp, 3, 1.7), 2); /* categorical: the index */
  EXPECT_DBL_EQ(qt_space_to_user(sp, 4, 0.2), 0);
  EXPECT_DBL_EQ(qt_space_snap(sp, 0, 23.4), 23);
  EXPECT_DBL_EQ(qt_space_snap(sp, 0, 500), 200);
  EXPECT_DBL_EQ(qt_space_snap(sp, 0, -3), 10);
  EXPECT_NEAR(qt_space_snap(sp, 5, 1.13), 1.25, 1e-15);
  EXPECT_NEAR(qt_space_snap(sp, 5, 1.12), 1.0, 1e-15);
  EXPECT_NEAR(qt_space_snap(sp, 5, 9.0), 2.0, 1e-15);
  EXPECT_DBL_EQ(qt_space_snap(sp, 3, 5.2), 2);
  EXPECT_DBL_EQ(qt_space_snap(sp, 3, 0.49), 0);
  EXPECT_NEAR(qt_space_snap(sp, 2, log(0.5)), log(0.1), 1e-15);
  /* an int dim with step 5 from 10: the grid is 10, 15, ... */
  qt_dim d;
  memset(&d, 0, sizeof d);
  strcpy(d.name, "lvl");
  d.type = QT_PARAM_INT;
  d.lo = 10;
  d.hi = 52;
  d.step = 5;
  d.def = 10;
  qt_err e;
  ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  EXPECT_DBL_EQ(qt_space_snap(sp, 6, 23), 25);
  EXPECT_DBL_EQ(qt_space_snap(sp, 6, 52), 50); /* 52 is not on the grid; 50 is the last */
  /* a log int */
  strcpy(d.name, "len");
  d.lo = 2;
  d.hi = 200;
  d.step = 1;
  d.log = 1;
  ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  EXPECT_NEAR(qt_space_snap(sp, 7, log(17.4)), log(17), 1e-15);
  /* an int without a step steps by 1; a fractional step is refused */
  strcpy(d.name, "n0");
  d.step = 0;
  d.log = 0;
  ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  EXPECT_DBL_EQ(qt_space_dim(sp, 8)->step, 1);
  strcpy(d.name, "n1");
  d.step = 0.5;
  EXPECT_EQ(qt_space_add(sp, &d, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "n1: int range [2, 200] step 0.5 is not whole");
  qt_space_free(sp);
}

static void params_json_roundtrip(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  double x[6] = {40, 3, log(0.005), 2, 1, 1.75}, y[6];
  char buf[512];
  qt_err e;
  ASSERT_TRUE(qt_space_params_json(sp, x, buf, sizeof buf, &e) == 0);
  EXPECT_CONTAINS(buf, "{\"grid_step_bps\":40,\"tp_steps\":3,\"base_qty\":0.00500000000000");
  EXPECT_CONTAINS(buf, ",\"mode\":\"off\",\"hedge\":true,\"scale\":1.75}");
  ASSERT_TRUE(qt_space_params_from_json(sp, buf, y, &e) == 0);
  for (int k = 0; k < 6; k++) EXPECT_NEAR(y[k], x[k], 1e-15);
  /* missing names take the default */
  ASSERT_TRUE(qt_space_params_from_json(sp, "{\"mode\":\"fast\"}", y, &e) == 0);
  EXPECT_DBL_EQ(y[0], 50);
  EXPECT_DBL_EQ(y[3], 0);
  EXPECT_NEAR(y[2], log(0.01), 1e-15);
  EXPECT_EQ(qt_space_params_from_json(sp, "{\"mode\":\"turbo\"}", y, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "'mode': \"turbo\" is not one of its choices");
  EXPECT_EQ(qt_space_params_from_json(sp, "{\"zz\":1}", y, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "unknown parameter 'zz'");
  EXPECT_EQ(qt_space_params_from_json(sp, "{\"tp_steps\":\"x\"}", y, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "'tp_steps': not a number");
  EXPECT_EQ(qt_space_params_from_json(sp, "{\"tp_steps\":", y, &e), QT_EPARSE);
  EXPECT_EQ(qt_space_params_json(sp, x, buf, 10, &e), QT_EINVAL);
  EXPECT_STREQ(buf, "");
  qt_space_free(sp);
}

static void space_json_roundtrip_exact(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  qt_err e;
  const char *y = "scale: {low: 0.7, high: 1.9, step: 0.1}\n"
                  "tp_steps: 3\n";
  ASSERT_TRUE(qt_space_apply_yaml(sp, y, "s.yaml", k_spec, NSPEC, &e) == 0);
  qt_dim d;
  memset(&d, 0, sizeof d);
  strcpy(d.name, "lev");
  d.type = QT_PARAM_CAT;
  char *ch[] = {"1", "2.5", "x"};
  double cv[] = {1, 2.5, NAN};
  d.choices = ch;
  d.choice_vals = cv;
  d.n_choices = 3;
  ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  char a[4096], b[4096];
  ASSERT_TRUE(qt_space_to_json(sp, a, sizeof a, &e) == 0);
  qt_space *sp2 = NULL;
  ASSERT_TRUE(qt_space_from_json(a, &sp2, &e) == 0);
  ASSERT_TRUE(qt_space_to_json(sp2, b, sizeof b, &e) == 0);
  EXPECT_STREQ(a, b);
  EXPECT_EQ(qt_space_n(sp2), 7);
  for (size_t k = 0; k < 7; k++) {
    const qt_dim *p = qt_space_dim(sp, k), *q = qt_space_dim(sp2, k);
    EXPECT_STREQ(p->name, q->name);
    EXPECT_EQ(p->type, q->type);
    EXPECT_TRUE(p->lo == q->lo && p->hi == q->hi && p->step == q->step && p->def == q->def);
    EXPECT_EQ(p->fixed, q->fixed);
    EXPECT_EQ(p->log, q->log);
    EXPECT_EQ(p->n_choices, q->n_choices);
  }
  EXPECT_TRUE(qt_space_dim(sp2, 5)->lo == 0.7 && qt_space_dim(sp2, 5)->step == 0.1);
  EXPECT_EQ(qt_space_dim(sp2, 1)->fixed, 1);
  EXPECT_DBL_EQ(qt_space_dim(sp2, 1)->def, 3);
  EXPECT_TRUE(qt_space_dim(sp2, 6)->choice_vals[1] == 2.5);
  EXPECT_TRUE(isnan(qt_space_dim(sp2, 6)->choice_vals[2]));
  EXPECT_DBL_EQ(qt_space_to_user(sp2, 6, 1), 2.5);
  EXPECT_DBL_EQ(qt_space_to_internal(sp2, 6, 2.5), 1);
  EXPECT_DBL_EQ(qt_space_to_internal(sp2, 6, 1), 0);
  qt_space_free(sp2);
  EXPECT_EQ(qt_space_from_json("{\"dims\":[{\"name\":\"a\"}]}", &sp2, &e), QT_EPARSE);
  EXPECT_TRUE(sp2 == NULL);
  EXPECT_EQ(qt_space_from_json("[", &sp2, &e), QT_EPARSE);
  qt_space_free(sp);
}

static void yaml_overlay_narrows_fixes_adds(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  qt_err e;
  const char *y = "# narrowing\n"
                  "grid_step_bps: {type: int, low: 20, high: 100}\n"
                  "tp_steps: 3\n"
                  "mode: {type: categorical, choices: [fast, off]}\n"
                  "base_qty: {low: 0.002, high: 0.05, log: true}\n"
                  "hedge: false\n";
  ASSERT_TRUE(qt_space_apply_yaml(sp, y, "space.yaml", k_spec, NSPEC, &e) == 0);
  const qt_dim *g = qt_space_dim(sp, 0);
  EXPECT_DBL_EQ(g->lo, 20);
  EXPECT_DBL_EQ(g->hi, 100);
  EXPECT_EQ(g->fixed, 0);
  EXPECT_DBL_EQ(g->def, 50);
  EXPECT_EQ(qt_space_dim(sp, 1)->fixed, 1);
  EXPECT_DBL_EQ(qt_space_dim(sp, 1)->def, 3);
  double lo, hi;
  qt_space_bounds(sp, 1, &lo, &hi);
  EXPECT_TRUE(lo == 3 && hi == 3);
  EXPECT_EQ(qt_space_dim(sp, 3)->n_choices, 2);
  EXPECT_STREQ(qt_space_dim(sp, 3)->choices[1], "off");
  /* the strategy still gets its own index of "off" (2), JSON the label */
  EXPECT_DBL_EQ(qt_space_to_user(sp, 3, 1), 2);
  EXPECT_DBL_EQ(qt_space_to_user(sp, 3, 0), 0);
  {
    double x[6] = {20, 3, log(0.01), 1, 0, 1.0}, back[6];
    char buf[256];
    ASSERT_TRUE(qt_space_params_json(sp, x, buf, sizeof buf, &e) == 0);
    EXPECT_CONTAINS(buf, "\"mode\":\"off\"");
    ASSERT_TRUE(qt_space_params_from_json(sp, buf, back, &e) == 0);
    EXPECT_DBL_EQ(back[3], 1);
  }
  EXPECT_NEAR(qt_space_dim(sp, 2)->lo, 0.002, 1e-18);
  EXPECT_EQ(qt_space_dim(sp, 4)->fixed, 1);
  EXPECT_DBL_EQ(qt_space_dim(sp, 4)->def, 0);
  qt_space_free(sp);

  /* without a spec, new parameters can be added */
  ASSERT_TRUE(qt_space_new(&sp, &e) == 0);
  y = "grid_step_bps: {type: int, low: 20, high: 100}\n"
      "x: {type: float, low: 1e-3, high: 1, log: true}\n"
      "mode: {type: categorical, choices: [a, b]}\n"
      "lev: {type: categorical, choices: [1, 2, 5]}\n"
      "q: {low: 0.5, high: 2.5, step: 0.5}\n"
      "tp_steps: 3\n";
  ASSERT_TRUE(qt_space_apply_yaml(sp, y, "space.yaml", NULL, 0, &e) == 0);
  EXPECT_EQ(qt_space_n(sp), 6);
  EXPECT_EQ(qt_space_dim(sp, 0)->type, QT_PARAM_INT);
  EXPECT_EQ(qt_space_dim(sp, 1)->log, 1);
  EXPECT_EQ(qt_space_dim(sp, 2)->type, QT_PARAM_CAT);
  EXPECT_DBL_EQ(qt_space_dim(sp, 3)->choice_vals[2], 5);
  EXPECT_DBL_EQ(qt_space_to_user(sp, 3, 2), 5);
  EXPECT_EQ(qt_space_dim(sp, 4)->type, QT_PARAM_FLOAT);
  EXPECT_DBL_EQ(qt_space_dim(sp, 4)->step, 0.5);
  EXPECT_EQ(qt_space_dim(sp, 5)->fixed, 1);
  EXPECT_EQ(qt_space_dim(sp, 5)->type, QT_PARAM_INT);
  qt_space_free(sp);
}

/* n_points: a float's own grid size, kept through the stored JSON. */
static void yaml_n_points(void) {
  qt_space *sp = spec_space();
  ASSERT_TRUE(sp);
  qt_err e;
  ASSERT_TRUE(qt_space_apply_yaml(sp, "base_qty: {n_points: 7}\n", "s.yaml", k_spec, NSPEC, &e) == 0);
  int k = qt_space_index(sp, "base_qty");
  ASSERT_TRUE(k >= 0);
  EXPECT_EQ(qt_space_dim(sp, (size_t)k)->n_points, 7);
  char buf[4096];
  ASSERT_TRUE(qt_space_to_json(sp, buf, sizeof buf, &e) == 0);
  EXPECT_CONTAINS(buf, "\"n_points\":7");
  qt_space *back = NULL;
  ASSERT_TRUE(qt_space_from_json(buf, &back, &e) == 0);
  EXPECT_EQ(qt_space_dim(back, (size_t)k)->n_points, 7);
  EXPECT_EQ(qt_space_dim(back, 0)->n_points, 0);
  qt_space_free(back);
  qt_space_free(sp);
}

static void yaml_errors_name_file_line_field(void) {
  struct {
    const char *yaml, *msg;
    int code;
  } cases[] = {
      {"tp_steps: 3\n\ngrid_step_bps: {type: int, low: 5, high: 100}\n",
       "space.yaml:3: grid_step_bps: low 5 is below the strategy's bound 10", QT_EINVAL},
      {"grid_step_bps: {high: 300}\n",
       "space.yaml:1: grid_step_bps: high 300 is above the strategy's bound 200", QT_EINVAL},
      {"tp_steps: 12\n", "space.yaml:1: param 'tp_steps' = 12 is outside its range [1, 10]", QT_EINVAL},
      {"a: 1\nwhat: {low: 1, high: 2}\n", "space.yaml:1: a: the strategy has no such parameter",
       QT_EINVAL},
      {"tp_steps: {low: 1, hgh: 3}\n", "space.yaml:1: tp_steps: unknown field 'hgh'", QT_EPARSE},
      {"tp_steps: {low: 1.2.3}\n", "space.yaml:1: tp_steps: field 'low': bad value \"1.2.3\"",
       QT_EPARSE},
      {"mode: {choices: [fast, turbo]}\n",
       "space.yaml:1: mode: choice \"turbo\" is not one of the strategy's", QT_EINVAL},
      {"mode: medium\n", "space.yaml:1: param 'mode': not one of", QT_EINVAL},
      {"tp_steps: {low: 8, high: 4}\n", "space.yaml:1: tp_steps: low 8 is above high 4", QT_EINVAL},
      {"tp_steps: {low: 2.5}\n", "tp_steps: int range [2.5, 10] step 1 is not whole", QT_EINVAL},
      {"tp_steps: {type: categorical, choices: [1, 20]}\n",
       "space.yaml:1: tp_steps: choice 20 is above the strategy's bound 10", QT_EINVAL},
      {"hedge: maybe\n", "space.yaml:1: param 'hedge': not a bool (true/false/yes/no/1/0) (\"maybe\")",
       QT_EINVAL},
      {"- a\n- b\n", "space.yaml:1: expected a mapping of parameter names", QT_EPARSE},
      {"a: [1, 2\nb: 3\n", "space.yaml:", QT_EPARSE},
      {"base_qty: {low: 0, high: 0.1}\n", "base_qty: low 0 is below the strategy's bound 0.001",
       QT_EINVAL},
      {"tp_steps: {n_points: 4}\n", "space.yaml:1: tp_steps: n_points is for a float without step",
       QT_EINVAL},
      {"scale: {n_points: 4}\n", "space.yaml:1: scale: n_points is for a float without step",
       QT_EINVAL},
      {"base_qty: {n_points: 1}\n", "space.yaml:1: base_qty: field 'n_points': bad value \"1\"",
       QT_EPARSE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qt_space *sp = spec_space();
    ASSERT_TRUE(sp);
    qt_err e;
    memset(&e, 0, sizeof e);
    int rc = qt_space_apply_yaml(sp, cases[i].yaml, "space.yaml", k_spec, NSPEC, &e);
    EXPECT_EQ(rc, cases[i].code);
    EXPECT_CONTAINS(e.msg, cases[i].msg);
    /* a failed overlay leaves the earlier entries applied but the space valid */
    EXPECT_EQ(qt_space_n(sp), NSPEC);
    qt_space_free(sp);
  }
  /* an empty file changes nothing */
  qt_space *sp = spec_space();
  qt_err e;
  EXPECT_EQ(qt_space_apply_yaml(sp, "", "space.yaml", k_spec, NSPEC, &e), 0);
  EXPECT_EQ(qt_space_apply_yaml(sp, "# nothing\n", "space.yaml", k_spec, NSPEC, &e), 0);
  EXPECT_DBL_EQ(qt_space_dim(sp, 0)->lo, 10);
  qt_space_free(sp);
}

/* Every allocation of building, overlaying and serializing fails in turn;
 * each failure comes back as QT_ENOMEM (ASan checks nothing leaks). */
static void enomem_paths(void) {
  const char *y = "grid_step_bps: {low: 20, high: 100}\nmode: {choices: [fast, off]}\ntp_steps: 3\n";
  int saw_ok = 0, n_fail = 0;
  for (long n = 1; n < 400 && !saw_ok; n++) {
    qt_space *sp = NULL, *sp2 = NULL;
    qt_err e;
    char buf[4096];
    qt_alloc_fail_at(n, 0);
    int rc = qt_space_from_spec(k_spec, NSPEC, &sp, &e);
    if (rc == 0) rc = qt_space_apply_yaml(sp, y, "s.yaml", k_spec, NSPEC, &e);
    if (rc == 0) rc = qt_space_to_json(sp, buf, sizeof buf, &e);
    if (rc == 0) rc = qt_space_from_json(buf, &sp2, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == 0) saw_ok = 1;
    else {
      n_fail++;
      EXPECT_EQ(rc, QT_ENOMEM);
    }
    qt_space_free(sp);
    qt_space_free(sp2);
  }
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(n_fail > 10);
}

/* Counts the grid sampler's points over sp (stops at cap). */
static size_t grid_points(const qt_space *sp, size_t cap) {
  void *g = NULL;
  qt_err e;
  if (qt_sampler_grid.create(sp, 1, NULL, &g, &e)) return 0;
  double x[64];
  size_t n = 0;
  while (n < cap && qt_sampler_grid.propose(g, NULL, 0, x, &e) == 0) n++;
  qt_sampler_grid.destroy(g);
  return n;
}

/* --search listed: a space file naming 3 of hedge_grid's 17 params with 3
 * values each searches 27 points; the other params stay at their defaults. */
static void fix_unlisted_keeps_defaults(void) {
  const qt_strategy_vtbl *hg = qt_strategy_find("hedge_grid");
  ASSERT_TRUE(hg != NULL);
  const char *y = "grid_step_bps: {type: int, low: 20, high: 60, step: 20}\n"
                  "tp_steps: {type: int, low: 1, high: 3}\n"
                  "ema_fast: {low: 8, high: 16, step: 4}\n";
  qt_space *sp = NULL;
  qt_err e;
  ASSERT_TRUE(qt_space_from_spec(hg->params, hg->n_params, &sp, &e) == 0);
  ASSERT_TRUE(qt_space_apply_yaml(sp, y, "hg.yaml", hg->params, hg->n_params, &e) == 0);
  /* all: the 14 unlisted params are searched too, far past 27 points */
  EXPECT_EQ(grid_points(sp, 1000), 1000);
  size_t nf = 0;
  ASSERT_TRUE(qt_space_fix_unlisted(sp, y, "hg.yaml", &nf, &e) == 0);
  EXPECT_EQ(nf, hg->n_params - 3);
  EXPECT_EQ(grid_points(sp, 1000), 27);
  int k = qt_space_index(sp, "adx_len");
  ASSERT_TRUE(k >= 0);
  EXPECT_EQ(qt_space_dim(sp, (size_t)k)->fixed, 1);
  EXPECT_NEAR(qt_space_dim(sp, (size_t)k)->def, 14, 0); /* its spec default */
  EXPECT_EQ(qt_space_dim(sp, (size_t)qt_space_index(sp, "tp_steps"))->fixed, 0);
  /* kept through the JSON the study stores */
  char buf[16384];
  qt_space *back = NULL;
  ASSERT_TRUE(qt_space_to_json(sp, buf, sizeof buf, &e) == 0);
  ASSERT_TRUE(qt_space_from_json(buf, &back, &e) == 0);
  EXPECT_EQ(grid_points(back, 1000), 27);
  qt_space_free(back);
  /* a file that is not a mapping names its line */
  EXPECT_EQ(qt_space_fix_unlisted(sp, "a: 1\n- b\n", "bad.yaml", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "bad.yaml:");
  EXPECT_EQ(qt_space_fix_unlisted(sp, "- a\n", "bad.yaml", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "bad.yaml:1: expected a mapping");
  qt_space_free(sp);
}

QT_TESTS(T(from_spec_dims), T(fix_unlisted_keeps_defaults), T(conversions_and_snap), T(params_json_roundtrip),
         T(space_json_roundtrip_exact), T(yaml_overlay_narrows_fixes_adds),
         T(yaml_n_points), T(yaml_errors_name_file_line_field), T(enomem_paths))
