/* Several objectives: NSGA-II and MOTPE improve the hypervolume on ZDT1
 * over random search, replay from the history with several values,
 * NSGA-II's constrained domination keeps infeasible trials out of the
 * parents; a study with two objectives stores both values, refuses a
 * single-objective sampler, and gives its Pareto front and hypervolume. */
#include "qt_test.h"
#include "qtune/optimize.h"
#include "optimize/sampler_int.h"
#include "optimize/study_int.h"

#include <unistd.h>

#define ND 5
#define NMAX 300

static qt_space *unit_space(size_t n) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL)) return NULL;
  for (size_t k = 0; k < n; k++) {
    qt_dim d = {.type = QT_PARAM_FLOAT, .lo = 0, .hi = 1, .def = 0.5};
    snprintf(d.name, sizeof d.name, "x%zu", k);
    if (qt_space_add(sp, &d, NULL)) {
      qt_space_free(sp);
      return NULL;
    }
  }
  return sp;
}

typedef struct mo_run {
  double x[NMAX][ND], f[NMAX][2];
  qt_trial_view v[NMAX];
} mo_run;

/* n trials of ZDT1 fed back with both values; returns the hypervolume of
 * all of them against (1.1, 1.1), or -1 on an error. */
static double drive_zdt1(const qt_sampler_vtbl *vt, const qt_space *sp, uint64_t seed, size_t n,
                         const qt_kv *opts, mo_run *r) {
  void *self = NULL;
  qt_err e;
  if (vt->create(sp, seed, opts, &self, &e)) return -1;
  for (size_t i = 0; i < n; i++) {
    if (vt->propose(self, r->v, i, r->x[i], &e)) {
      vt->destroy(self);
      return -1;
    }
    size_t m;
    qt_mo_function("zdt1", r->x[i], ND, r->f[i], &m);
    r->v[i] = (qt_trial_view){.number = (int64_t)i, .state = QT_TRIAL_COMPLETE, .x = r->x[i],
                              .value = r->f[i][0], .feasible = 1, .values = r->f[i],
                              .n_values = 2};
  }
  vt->destroy(self);
  double ref[2] = {1.1, 1.1}, hv;
  if (qt_hypervolume(&r->f[0][0], n, 2, ref, &hv, &e)) return -1;
  return hv;
}

static double median5(double *v) {
  for (int i = 1; i < 5; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[2];
}

/* The median over 5 seeds at 300 trials: each sampler above random. */
static void zdt1_beats_random(void) {
  qt_space *sp = unit_space(ND);
  ASSERT_TRUE(sp);
  static mo_run r;
  const qt_sampler_vtbl *vts[] = {&qt_sampler_random, &qt_sampler_nsgaii, &qt_sampler_motpe};
  double med[3];
  for (int s = 0; s < 3; s++) {
    double hv[5];
    for (int seed = 0; seed < 5; seed++) {
      hv[seed] = drive_zdt1(vts[s], sp, 100 + (uint64_t)seed, NMAX, NULL, &r);
      ASSERT_TRUE(hv[seed] >= 0);
    }
    med[s] = median5(hv);
  }
  fprintf(stderr, "  zdt1 (5 dims, 300 trials) median hypervolume: random %.4f nsgaii %.4f motpe %.4f\n",
          med[0], med[1], med[2]);
  EXPECT_TRUE(med[1] > med[0]);
  EXPECT_TRUE(med[2] > med[0]);
  qt_space_free(sp);
}

/* MOTPE's default (a joint kernel per trial) against its univariate mode,
 * Optuna's default, and NSGA-II: median over 5 seeds at 300 trials of ZDT1.
 * The default must beat the univariate mode (what qtune shipped before) and
 * NSGA-II, as it does on the 10-param ZDT1 of bench_multiobjective. */
static void motpe_default_searches_better(void) {
  qt_space *sp = unit_space(ND);
  ASSERT_TRUE(sp);
  static mo_run r;
  qt_kv uni[] = {{"multivariate", "0"}, {NULL, NULL}};
  double med[3];
  for (int c = 0; c < 3; c++) {
    double hv[5];
    for (int seed = 0; seed < 5; seed++) {
      hv[seed] = drive_zdt1(c == 2 ? &qt_sampler_nsgaii : &qt_sampler_motpe, sp,
                            100 + (uint64_t)seed, NMAX, c == 1 ? uni : NULL, &r);
      ASSERT_TRUE(hv[seed] >= 0);
    }
    med[c] = median5(hv);
  }
  fprintf(stderr, "  zdt1 (5 dims, 300 trials) median hypervolume: motpe %.4f, multivariate=0 %.4f, nsgaii %.4f\n",
          med[0], med[1], med[2]);
  EXPECT_TRUE(med[0] > med[1]);
  EXPECT_TRUE(med[0] > med[2]);
  qt_space_free(sp);
}

/* A fresh sampler given the first i trials (two values each) proposes what
 * the first one did at trial i, across generations (population 20). */
static void replay_with_values(void) {
  qt_space *sp = unit_space(ND);
  ASSERT_TRUE(sp);
  static mo_run r;
  qt_kv pop[] = {{"population_size", "20"}, {NULL, NULL}};
  const qt_sampler_vtbl *vts[] = {&qt_sampler_nsgaii, &qt_sampler_motpe};
  for (int s = 0; s < 2; s++) {
    const qt_kv *o = s == 0 ? pop : NULL;
    ASSERT_TRUE(drive_zdt1(vts[s], sp, 9, 130, o, &r) > 0);
    size_t at[] = {0, 15, 20, 41, 77, 129};
    for (size_t a = 0; a < sizeof at / sizeof at[0]; a++) {
      void *self = NULL;
      qt_err e;
      double x[ND];
      ASSERT_TRUE(vts[s]->create(sp, 9, o, &self, &e) == 0);
      ASSERT_TRUE(vts[s]->propose(self, r.v, at[a], x, &e) == 0);
      if (memcmp(x, r.x[at[a]], sizeof x))
        QT_TEST_FAIL_("%s: a fresh sampler differs at trial %zu", vts[s]->name, at[a]);
      vts[s]->destroy(self);
    }
  }
  qt_space_free(sp);
}

/* 12 trials (two generations of 6): the even ones feasible, the odd ones
 * infeasible with values that dominate every feasible one.  With crossover
 * and mutation off a child copies a parent: every child must copy a
 * feasible trial (constrained domination puts all 6 in the elite). */
static void nsgaii_constrained_parents(void) {
  qt_space *sp = unit_space(2);
  ASSERT_TRUE(sp);
  qt_kv o[] = {{"population_size", "6"}, {"crossover_prob", "0"}, {"mutation_prob", "0"},
               {NULL, NULL}};
  double x[12][2], f[12][2];
  qt_trial_view v[12];
  for (int i = 0; i < 12; i++) {
    x[i][0] = 0.05 * i;
    x[i][1] = 1 - 0.05 * i;
    int feas = i % 2 == 0;
    f[i][0] = feas ? 1 + 0.1 * i : -10 - i;
    f[i][1] = feas ? 2 - 0.1 * i : -10 + i;
    v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = x[i], .value = f[i][0],
                           .feasible = feas, .values = f[i], .n_values = 2,
                           .violation = feas ? 0 : 0.5};
  }
  void *self = NULL;
  qt_err e;
  ASSERT_TRUE(qt_sampler_nsgaii.create(sp, 5, o, &self, &e) == 0);
  for (int rep = 0; rep < 40; rep++) { /* parallel asks: new streams each */
    double c[2];
    ASSERT_TRUE(qt_sampler_nsgaii.propose(self, v, 12, c, &e) == 0);
    int hit = -1;
    for (int i = 0; i < 12; i++)
      if (c[0] == x[i][0] && c[1] == x[i][1]) hit = i;
    if (hit < 0 || hit % 2) QT_TEST_FAIL_("ask %d copied trial %d (infeasible or none)", rep, hit);
  }
  qt_sampler_nsgaii.destroy(self);
  /* a bad option names itself */
  qt_kv bad[] = {{"crossover", "blx"}, {NULL, NULL}};
  self = (void *)1;
  EXPECT_EQ(qt_sampler_nsgaii.create(sp, 5, bad, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "crossover=blx");
  EXPECT_TRUE(self == NULL);
  qt_space_free(sp);
}

static void db_url(char *buf, size_t cap, const char *name) {
  static char dir[64];
  if (!dir[0]) {
    strcpy(dir, "/tmp/qt_mo_XXXXXX");
    if (!mkdtemp(dir)) abort();
  }
  snprintf(buf, cap, "sqlite:///%s/%s.db", dir, name);
}

static qt_study *open_mo(const char *url, const char *sampler, qt_err *e) {
  qt_study_opts o = qt_study_opts_default();
  o.name = "mo";
  o.storage_url = url;
  o.seed = 3;
  o.sampler = qt_sampler_find(sampler);
  qt_goal_default(&o.goal, 0);
  if (qt_goal_parse_objectives(&o.goal, "f1,f2", "minimize,minimize", e)) return NULL;
  qt_space *sp = unit_space(3);
  qt_study *st = NULL;
  if (qt_study_open(&o, sp, &st, e)) st = NULL;
  qt_space_free(sp);
  return st;
}

static void study_two_objectives(void) {
  char url[256];
  db_url(url, sizeof url, "mo");
  qt_err e;
  /* a single-objective sampler is refused, naming the ones that fit */
  EXPECT_TRUE(open_mo(url, "tpe", &e) == NULL);
  EXPECT_CONTAINS(e.msg, "optimizes one objective");
  EXPECT_CONTAINS(e.msg, "nsgaii");
  EXPECT_CONTAINS(e.msg, "motpe");
  qt_study *st = open_mo(url, "nsgaii", &e);
  ASSERT_TRUE(st);
  EXPECT_EQ(qt_study_created(st), 1); /* the refused open left no study behind */
  qt_objective obj;
  ASSERT_TRUE(qt_objective_function("zdt1", &obj, &e) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 60;
  ro.jobs = 1;
  ASSERT_TRUE(qt_study_run(st, &obj, &ro, NULL, &e) == 0);
  qt_objective_free(&obj);
  EXPECT_U64_EQ(qt_study_n_objectives(st), 2);
  /* every value stored: values_json is [f1, f2] */
  qt_storage *sto = qt_study_storage(st);
  qt_trial_rec *recs = NULL;
  size_t nr = 0;
  ASSERT_TRUE(sto->vt->trials_list(sto->self, qt__study_id(st), 0, &recs, &nr, &e) == 0);
  EXPECT_U64_EQ(nr, 60);
  size_t two = 0;
  for (size_t i = 0; i < nr; i++)
    if (recs[i].values_json && strchr(recs[i].values_json, ',')) two++;
  EXPECT_U64_EQ(two, 60);
  qt_trial_recs_free(recs, nr);
  /* the front: non-dominated, in order of f1, hypervolume against the
   * default reference point is positive and at most the box's */
  size_t front[60], nf = 0;
  ASSERT_TRUE(qt_study_pareto_front(st, front, 60, &nf, &e) == 0);
  EXPECT_TRUE(nf >= 2);
  double prev = -INFINITY;
  for (size_t a = 0; a < nf; a++) {
    double va[2], vb[2];
    ASSERT_TRUE(qt_study_trial_values(st, front[a], va));
    EXPECT_TRUE(va[0] >= prev);
    prev = va[0];
    for (size_t i = 0; i < qt_study_n_trials(st); i++)
      if (qt_study_trial_values(st, i, vb) && qt_pareto_dominates(vb, va, 2))
        QT_TEST_FAIL_("front member %zu is dominated by trial %zu", front[a], i);
  }
  double ref[2], hv;
  ASSERT_TRUE(qt_study_ref_point(st, ref));
  ASSERT_TRUE(qt_study_hypervolume(st, front, nf, ref, &hv, &e) == 0);
  EXPECT_TRUE(hv > 0);
  qt_study_free(st);
  /* resumed: the objectives come back from the stored goal */
  qt_study_opts o = qt_study_opts_default();
  o.name = "mo";
  o.storage_url = url;
  ASSERT_TRUE(qt_study_open(&o, NULL, &st, &e) == 0);
  EXPECT_U64_EQ(qt_study_n_objectives(st), 2);
  EXPECT_STREQ(qt_goal_objective(qt_study_goal(st), 1, NULL), "f2");
  size_t nf2 = 0;
  ASSERT_TRUE(qt_study_pareto_front(st, front, 60, &nf2, &e) == 0);
  EXPECT_U64_EQ(nf2, nf);
  qt_study_free(st);
}

/* The caches (nsgaii's parents per generation, cmaes's generations) follow
 * the history: after a proposal on one history, a changed value in an early
 * generation, and the params of a row changed under a new pointer, give
 * what a fresh sampler proposes on the changed history. */
static void caches_follow_history(void) {
  qt_space *sp = unit_space(ND);
  ASSERT_TRUE(sp);
  static mo_run r;
  static double x2[NMAX][ND];
  qt_kv pop[] = {{"population_size", "10"}, {NULL, NULL}};
  const qt_sampler_vtbl *vts[] = {&qt_sampler_nsgaii, &qt_sampler_cmaes};
  for (int s = 0; s < 2; s++) {
    const qt_kv *o = s == 0 ? pop : NULL;
    ASSERT_TRUE(drive_zdt1(vts[s], sp, 4, 120, o, &r) >= 0);
    void *warm = NULL, *fresh = NULL;
    qt_err e;
    double a[ND], b[ND];
    ASSERT_TRUE(vts[s]->create(sp, 4, o, &warm, &e) == 0);
    ASSERT_TRUE(vts[s]->propose(warm, r.v, 120, a, &e) == 0);
    for (int change = 0; change < 2; change++) {
      if (change == 0) { /* a value of trial 3 (generation 0) */
        r.f[3][0] = 0.001;
        r.f[3][1] = 0.001;
        r.v[3].value = 0.001;
      } else { /* trial 15's params, moved to another buffer */
        memcpy(x2[15], r.x[15], sizeof x2[15]);
        x2[15][0] = 0.5 * x2[15][0] + 0.25;
        r.v[15].x = x2[15];
      }
      ASSERT_TRUE(vts[s]->propose(warm, r.v, 120, a, &e) == 0);
      ASSERT_TRUE(vts[s]->create(sp, 4, o, &fresh, &e) == 0);
      /* the fresh one at the same repeat count: the warm one has asked
       * change + 2 times on 120 trials */
      for (int k = 0; k < change + 2; k++) ASSERT_TRUE(vts[s]->propose(fresh, r.v, 120, b, &e) == 0);
      vts[s]->destroy(fresh);
      fresh = NULL;
      if (memcmp(a, b, sizeof a))
        QT_TEST_FAIL_("%s: change %d: the warm sampler differs from a fresh one", vts[s]->name,
                      change);
    }
    vts[s]->destroy(warm);
  }
  qt_space_free(sp);
}

QT_TESTS(T(zdt1_beats_random), T(motpe_default_searches_better), T(replay_with_values), T(nsgaii_constrained_parents),
         T(study_two_objectives), T(caches_follow_history))
