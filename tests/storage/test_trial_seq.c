#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Incremental trial reads (qt_trials_since, schema v4's change stamps) on
 * SQLite and on the PostgreSQL of QTUNE_PG_URL (tests/run.sh starts it). */
static sf_db g_db = {.name = "seq",
                     .drop = "DROP TABLE IF EXISTS trials, studies, qtune_meta CASCADE"};

static int open_fresh(qt_storage *s, const char *tag, int64_t *out_study) {
  int r = sf_open_fresh(&g_db, tag, s);
  if (r) return r;
  qt_err e = {0};
  qt_study_rec st;
  int created;
  r = s->vt->study_create(s->self, "seq", "[\"maximize\"]", "{}", "{}", &st, &created, &e);
  if (r) fprintf(stderr, "create: %s\n", e.msg);
  *out_study = st.id;
  qt_study_rec_fini(&st);
  return r;
}

/* What each kind of write does to the stamp: every change of a trial's
 * content is returned once after it, heartbeats and re-normalized scores
 * are not changes, a deletion makes the next read a whole one. */
static void stamps_follow_writes(void) {
  qt_storage s;
  int64_t sid = 0;
  ASSERT_TRUE(open_fresh(&s, "stamps", &sid) == 0);
  qt_err e;
  qt_trial_rec *v = NULL;
  size_t n = 0;
  int64_t seq = -1, s2 = -1;
  int full = 0;
  EXPECT_EQ(qt_trials_since(&s, sid, -1, &v, &n, &seq, &full, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(full, 1);
  EXPECT_EQ(seq, 0);
  int64_t id0, id1, num;
  ASSERT_TRUE(s.vt->trial_claim(s.self, sid, "{\"x\":1}", "w", 7, &id0, &num, &e) == 0);
  ASSERT_TRUE(s.vt->trial_claim(s.self, sid, "{\"x\":2}", "w", 8, &id1, &num, &e) == 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(full, 0);
  EXPECT_TRUE(s2 > seq);
  if (n == 2) {
    EXPECT_EQ(v[0].number, 0);
    EXPECT_EQ(v[1].number, 1);
    EXPECT_STREQ(v[1].params_json, "{\"x\":2}");
    EXPECT_EQ(v[1].seed, 8);
    EXPECT_EQ(v[1].state, QT_TRIAL_RUNNING);
  }
  qt_trial_recs_free(v, n);
  seq = s2;
  /* nothing changed: nothing read, the same stamp */
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(s2, seq);
  /* a heartbeat is not a change */
  EXPECT_EQ(s.vt->heartbeat(s.self, id0, &e), 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 0);
  /* finishing is: only that trial, with its outcome */
  EXPECT_EQ(s.vt->trial_finish(s.self, id1, QT_TRIAL_COMPLETE, 0.5, "[0.5]", "{\"m\":1}", 1, NULL,
                               &e), 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) {
    EXPECT_EQ(v[0].number, 1);
    EXPECT_EQ(v[0].state, QT_TRIAL_COMPLETE);
    EXPECT_STREQ(v[0].metrics_json, "{\"m\":1}");
    EXPECT_NEAR(v[0].score, 0.5, 0);
    EXPECT_EQ(v[0].constraint_ok, 1);
  }
  qt_trial_recs_free(v, n);
  seq = s2;
  /* a re-normalized score is derived, not a change */
  double sc = 0.25;
  EXPECT_EQ(s.vt->trials_set_scores(s.self, &id1, &sc, 1, &e), 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 0);
  /* intermediate values and a note are */
  EXPECT_EQ(s.vt->trial_set_intermediate(s.self, id0, "[[1,0.5]]", 1, &e), 0);
  EXPECT_EQ(s.vt->trial_set_note(s.self, sid, 1, "look", &e), 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 2);
  if (n == 2) {
    EXPECT_STREQ(v[0].intermediate_json, "[[1,0.5]]");
    EXPECT_EQ(v[0].last_step, 1);
    EXPECT_STREQ(v[1].note, "look");
    EXPECT_NEAR(v[1].score, 0.25, 0);
  }
  qt_trial_recs_free(v, n);
  seq = s2;
  /* an enqueued trial and its claim */
  int64_t wid, wnum, tid, tnum;
  char *pj = NULL;
  EXPECT_EQ(s.vt->trial_enqueue(s.self, sid, "{\"x\":3}", 9, &wid, &wnum, &e), 0);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) EXPECT_EQ(v[0].state, QT_TRIAL_WAITING);
  qt_trial_recs_free(v, n);
  seq = s2;
  EXPECT_EQ(s.vt->trial_claim_waiting(s.self, sid, "w2", &tid, &tnum, &pj, &e), 0);
  qt_free(pj);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) {
    EXPECT_EQ(v[0].state, QT_TRIAL_RUNNING);
    EXPECT_STREQ(v[0].worker, "w2");
  }
  qt_trial_recs_free(v, n);
  seq = s2;
  /* stale recovery fails the running trials and enqueues retries */
  size_t nrec = 0;
  EXPECT_EQ(s.vt->recover_stale(s.self, sid, -100000, &nrec, &e), 0);
  EXPECT_EQ(nrec, 2);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(n, 4); /* two failed, two retries */
  qt_trial_recs_free(v, n);
  seq = s2;
  /* a deletion: the next read is whole, and says so */
  size_t nd = 0;
  EXPECT_EQ(s.vt->trials_delete_worse(s.self, sid, 1.0, 0, &nd, &e), 0);
  EXPECT_EQ(nd, 1);
  EXPECT_EQ(qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e), 0);
  EXPECT_EQ(full, 1);
  EXPECT_EQ(n, 4); /* trial 1 (score 0.25 < 1) is gone */
  qt_trial_recs_free(v, n);
  EXPECT_EQ(qt_trials_since(&s, sid, s2, &v, &n, &seq, &full, &e), 0);
  EXPECT_EQ(full, 0);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(qt_trials_since(&s, sid + 1000, 0, &v, &n, &seq, &full, &e), QT_ENOTFOUND);
  qt_storage_close(&s);
}

/* Two processes write one study (claims, finishes, notes) while this one
 * reads only what changed since its last look; the merged copy must equal a
 * whole read at the end, trial by trial. */
enum { KIDS = 2, EACH = 150 };

static void kid(int64_t sid, int k) {
  qt_storage c;
  qt_err e;
  if (qt_storage_open(g_db.url, &c, &e)) _exit(10);
  for (int i = 0; i < EACH; i++) {
    int64_t id, num;
    char pj[64], mj[64];
    snprintf(pj, sizeof pj, "{\"k\":%d,\"i\":%d}", k, i);
    if (c.vt->trial_claim(c.self, sid, pj, "w", k, &id, &num, &e)) _exit(11);
    snprintf(mj, sizeof mj, "{\"v\":%d}", 1000 * k + i);
    int state = i % 5 == 4 ? QT_TRIAL_FAIL : QT_TRIAL_COMPLETE;
    if (c.vt->trial_finish(c.self, id, state, state == QT_TRIAL_FAIL ? NAN : (double)i, NULL, mj,
                           1, NULL, &e))
      _exit(12);
    if (i % 7 == 0 && c.vt->trial_set_note(c.self, sid, num, pj, &e)) _exit(13);
  }
  qt_storage_close(&c);
  _exit(0);
}

typedef struct copy_t {
  int have, state;
  char params[64], metrics[64], note[64];
} copy_t;

static void merge(copy_t *cp, size_t cap, const qt_trial_rec *v, size_t n, int full) {
  if (full) memset(cp, 0, cap * sizeof *cp);
  for (size_t i = 0; i < n; i++) {
    if (v[i].number < 0 || (size_t)v[i].number >= cap) continue;
    copy_t *c = &cp[v[i].number];
    c->have = 1;
    c->state = v[i].state;
    snprintf(c->params, sizeof c->params, "%s", v[i].params_json ? v[i].params_json : "");
    snprintf(c->metrics, sizeof c->metrics, "%s", v[i].metrics_json ? v[i].metrics_json : "");
    snprintf(c->note, sizeof c->note, "%s", v[i].note ? v[i].note : "");
  }
}

static void other_processes_never_missed(void) {
  qt_storage s;
  int64_t sid = 0;
  ASSERT_TRUE(open_fresh(&s, "procs", &sid) == 0);
  enum { CAP = KIDS * EACH };
  static copy_t cp[CAP];
  memset(cp, 0, sizeof cp);
  pid_t pids[KIDS];
  for (int k = 0; k < KIDS; k++)
    if ((pids[k] = fork()) == 0) kid(sid, k);
  qt_err e;
  int64_t seq = -1;
  size_t reads = 0, alive = KIDS;
  int ok = 1;
  while (ok) {
    qt_trial_rec *v = NULL;
    size_t n = 0;
    int full = 0;
    int64_t s2;
    if (qt_trials_since(&s, sid, seq, &v, &n, &s2, &full, &e)) {
      fprintf(stderr, "since: %s\n", e.msg);
      ok = 0;
      break;
    }
    merge(cp, CAP, v, n, full);
    qt_trial_recs_free(v, n);
    seq = s2;
    reads++;
    if (!alive) break; /* one more read after both finished */
    for (int k = 0; k < KIDS; k++) {
      int st;
      if (pids[k] > 0 && waitpid(pids[k], &st, WNOHANG) == pids[k]) {
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        pids[k] = 0;
        alive--;
      }
    }
  }
  EXPECT_TRUE(ok);
  EXPECT_TRUE(reads > 2);
  qt_trial_rec *all = NULL;
  size_t na = 0;
  EXPECT_EQ(s.vt->trials_list(s.self, sid, 0, &all, &na, &e), 0);
  EXPECT_EQ(na, CAP);
  size_t same = 0;
  for (size_t i = 0; i < na; i++) {
    const copy_t *c = &cp[all[i].number];
    same += c->have && c->state == all[i].state &&
            !strcmp(c->params, all[i].params_json ? all[i].params_json : "") &&
            !strcmp(c->metrics, all[i].metrics_json ? all[i].metrics_json : "") &&
            !strcmp(c->note, all[i].note ? all[i].note : "");
  }
  EXPECT_EQ(same, (size_t)CAP);
  qt_trial_recs_free(all, na);
  qt_storage_close(&s);
}

static void out_of_memory(void) {
  qt_storage s;
  int64_t sid = 0;
  ASSERT_TRUE(open_fresh(&s, "oom", &sid) == 0);
  qt_err e;
  int64_t id, num;
  EXPECT_EQ(s.vt->trial_claim(s.self, sid, "{\"x\":1}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_FAIL, NAN, NULL, "{}", 0, "err", &e), 0);
  /* every allocation in turn fails, until the read needs no more (after a
   * first read: the statements are prepared and cached then) */
  qt_trial_rec *w = NULL;
  size_t nw = 0;
  int64_t ws;
  int wf;
  EXPECT_EQ(qt_trials_since(&s, sid, -1, &w, &nw, &ws, &wf, &e), 0);
  qt_trial_recs_free(w, nw);
  long k = 1;
  for (;; k++) {
    qt_trial_rec *v = (void *)1;
    size_t n = 7;
    int64_t seq = 5;
    int full = 3;
    qt_alloc_fail_at(k, 0);
    int r = qt_trials_since(&s, sid, -1, &v, &n, &seq, &full, &e);
    qt_alloc_fail_at(0, 0);
    if (r == 0) {
      EXPECT_EQ(n, 1);
      qt_trial_recs_free(v, n);
      break;
    }
    EXPECT_EQ(r, QT_ENOMEM);
    EXPECT_TRUE(v == NULL);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(full, 0);
    EXPECT_EQ(seq, -1);
  }
  EXPECT_TRUE(k > 3); /* the list, params, metrics and error at least */
  qt_storage_close(&s);
}

BOTH(stamps_follow_writes)
BOTH(other_processes_never_missed)
ON_SQLITE(out_of_memory) /* libpq's own allocations are not hooked */

QT_TESTS(T(sqlite_stamps_follow_writes), T(pg_stamps_follow_writes),
         T(sqlite_other_processes_never_missed), T(pg_other_processes_never_missed),
         T(sqlite_out_of_memory))
