/* The dashboard over loopback: a study of BENCH_DASH_TRIALS (default
 * 100,000) complete trials and one of BENCH_DASH_SMALL (default 1,000)
 * (two float params, objective sharpe, seeded random values) written
 * through the storage into a temp SQLite file (or BENCH_DASH_DB, kept and
 * reused: two builds measured on one file in one run), served by qt_dash on
 * a free port.
 *  - study page: wall time of GET /study?name=big (the HTML with its data)
 *    and of GET /api/study (what an open page polls), best of BENCH_REPEATS
 *    (default 3), beside the same work in-process without HTTP
 *    (qt_study_open + the page into memory) as the baseline: ratio http /
 *    in-process; the read-only qt_study_open alone, for both studies (ratio
 *    big / small), wall and the thread's CPU time (what other processes
 *    on a shared machine do not inflate); (the page's measures run with
 *    the cache off: each request reads the storage);
 *  - in headless Chromium (bench/dash_page_load.js; BENCH_DASH_BROWSER=0
 *    skips it): navigation start to the charts painted of the big study's
 *    page beside the small one's, alternating, best of BENCH_REPEATS: ratio;
 *  - throughput: BENCH_DASH_REQUESTS (default 2000) GETs of /api/studies
 *    from 4 client threads (a new connection each), requests/s and non-200
 *    answers, with the default 1 s cache of the polled JSON, beside the
 *    same for the static /assets/dash.js (no storage): ratio; and 1/50 as
 *    many with the cache off (every request opens the 100,000-trial study).
 * Wall times on a shared machine; one JSON line each. */
#include "bench.h"
#include "qtune/optimize.h"
#include "qtune/report.h"
#include "qtune/storage.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long env_long(const char *k, long def) {
  const char *v = getenv(k);
  return v && *v ? atol(v) : def;
}

static unsigned g_port;
static char g_tok[80];

/* One GET; returns the HTTP status (0 on a socket error) and the body size. */
static int get(const char *path, size_t *out_len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0) return 0;
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return 0;
  }
  char req[512], buf[65536], head[16] = {0};
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                                    "Connection: close\r\n\r\n", path, g_tok);
  if (write(fd, req, (size_t)n) != n) {
    close(fd);
    return 0;
  }
  size_t total = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) {
    if (total < sizeof head - 1) {
      size_t c = sizeof head - 1 - total < (size_t)r ? sizeof head - 1 - total : (size_t)r;
      memcpy(head + total, buf, c);
    }
    total += (size_t)r;
  }
  close(fd);
  if (out_len) *out_len = total;
  return total >= 12 && !strncmp(head, "HTTP/1.1 ", 9) ? atoi(head + 9) : 0;
}

typedef struct load {
  const char *path;
  long n, errors;
} load;

static void *client(void *arg) {
  load *l = arg;
  for (long i = 0; i < l->n; i++)
    if (get(l->path, NULL) != 200) l->errors++;
  return NULL;
}

/* requests/s of `total` GETs of path from 4 threads; errors into *err. */
static double throughput(const char *path, long total, long *errors) {
  pthread_t th[4];
  load l[4];
  double t0 = bench_now();
  for (int k = 0; k < 4; k++) {
    l[k] = (load){path, total / 4, 0};
    pthread_create(&th[k], NULL, client, &l[k]);
  }
  *errors = 0;
  for (int k = 0; k < 4; k++) {
    pthread_join(th[k], NULL);
    *errors += l[k].errors;
  }
  return (double)(total / 4 * 4) / (bench_now() - t0);
}

/* A dashboard over url with that cache period; NULL after a message. */
static qt_dash *start(const char *url, unsigned cache_ms) {
  qt_dash_opts o = qt_dash_opts_default();
  o.storage_url = url;
  o.port = 0;
  o.cache_ms = cache_ms;
  qt_dash *d = NULL;
  char link[256];
  qt_err e;
  if (qt_dash_start(&o, &d, &e) || qt_dash_url(d, link, sizeof link, &e)) {
    fprintf(stderr, "bench_dashboard: %s\n", e.msg);
    qt_dash_stop(d);
    return NULL;
  }
  g_port = qt_dash_port(d);
  snprintf(g_tok, sizeof g_tok, "%s", strstr(link, "token=") + 6);
  return d;
}

/* Writes study `name` of n complete trials (seeded random x, y; sharpe a
 * bowl) straight through the storage (claim, finish), as workers would: the
 * runner's periodic re-reads of a growing study would make writing 100,000
 * of them the slow part of this bench.  0, or 1 after a message. */
static int write_study(const char *url, const char *name, long n, uint64_t seed) {
  qt_err e;
  qt_space *sp = NULL;
  qt_dim x = {.name = "x", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3};
  qt_dim y = {.name = "y", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3};
  qt_study_opts so = qt_study_opts_default();
  so.name = name;
  so.storage_url = url;
  so.seed = 1;
  so.sampler = &qt_sampler_random;
  qt_goal_default(&so.goal, 0);
  /* one metric, not the weighted score: no re-normalization rewriting every
   * stored score while 100,000 trials are written */
  snprintf(so.goal.metric, sizeof so.goal.metric, "sharpe");
  qt_study *st = NULL;
  if (qt_space_new(&sp, &e) || qt_space_add(sp, &x, &e) || qt_space_add(sp, &y, &e) ||
      qt_study_open(&so, sp, &st, &e)) {
    fprintf(stderr, "bench_dashboard: %s\n", e.msg);
    return 1;
  }
  if (!qt_study_created(st) && qt_study_n_trials(st) == (size_t)n) {
    qt_study_free(st); /* there from an earlier run (BENCH_DASH_DB) */
    qt_space_free(sp);
    return 0;
  }
  qt_storage *sto = qt_study_storage(st);
  qt_study_rec rec;
  if (sto->vt->study_load(sto->self, name, &rec, &e)) {
    fprintf(stderr, "bench_dashboard: %s\n", e.msg);
    return 1;
  }
  qt_rng rng;
  qt_rng_seed(&rng, seed);
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    double px = -2 + 5 * qt_rng_uniform(&rng), py = -2 + 5 * qt_rng_uniform(&rng);
    double sharpe = 2 - (px - 1) * (px - 1) - (py - 0.5) * (py - 0.5);
    char params[128], metrics[256], vals[64];
    snprintf(params, sizeof params, "{\"x\":%.17g,\"y\":%.17g}", px, py);
    snprintf(metrics, sizeof metrics, "{\"sharpe\":%.17g,\"trades\":%ld,\"win_rate\":0.5}", sharpe,
             50 + i % 100);
    snprintf(vals, sizeof vals, "[%.17g]", sharpe);
    int64_t id, num;
    if (sto->vt->trial_claim(sto->self, rec.id, params, "bench", i, &id, &num, &e) ||
        sto->vt->trial_finish(sto->self, id, QT_TRIAL_COMPLETE, sharpe, vals, metrics, 1, NULL, &e)) {
      fprintf(stderr, "bench_dashboard: %s\n", e.msg);
      return 1;
    }
  }
  qt_study_rec_fini(&rec);
  fprintf(stderr, "bench_dashboard: %s: %ld trials written in %.1f s\n", name, n, bench_now() - t0);
  qt_study_free(st);
  qt_space_free(sp);
  return 0;
}

/* This thread's CPU seconds: on a machine shared by many, a figure the
 * other processes do not inflate as they do wall time. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best-of-reps seconds of a read-only qt_study_open of name, and of the
 * same open plus the study page written into memory (qt_report_study_html),
 * wall and this thread's CPU.  0, or 1 after a message. */
static int in_process(const char *url, const char *name, int reps, double *out_open,
                      double *out_page, double *out_open_cpu, double *out_page_cpu) {
  *out_open = *out_page = *out_open_cpu = *out_page_cpu = 1e9;
  qt_err e;
  for (int k = 0; k < reps; k++) {
    qt_study_opts o = qt_study_opts_default();
    o.name = name;
    o.storage_url = url;
    qt_study *s2 = NULL;
    char *buf = NULL;
    size_t len = 0;
    double t0 = bench_now(), c0 = cpu_now();
    if (qt_study_open(&o, NULL, &s2, &e)) {
      fprintf(stderr, "bench_dashboard: %s\n", e.msg);
      return 1;
    }
    double t_open = bench_now() - t0, c_open = cpu_now() - c0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || qt_report_study_html(s2, NULL, f, &e)) {
      fprintf(stderr, "bench_dashboard: %s\n", f ? e.msg : "out of memory");
      return 1;
    }
    fclose(f);
    free(buf);
    qt_study_free(s2);
    double t_page = bench_now() - t0, c_page = cpu_now() - c0;
    if (t_open < *out_open) *out_open = t_open;
    if (t_page < *out_page) *out_page = t_page;
    if (c_open < *out_open_cpu) *out_open_cpu = c_open;
    if (c_page < *out_page_cpu) *out_page_cpu = c_page;
  }
  return 0;
}

/* The study pages of big and small in Chromium (bench/dash_page_load.js):
 * best ms from navigation start to the charts painted into *out_big and
 * *out_small, charts drawn and console errors into the others.  0, or 1
 * after a message. */
static int browser_load(const char *big, const char *small, int reps, double *out_big,
                        double *out_small, int *out_charts, int *out_errors) {
  const char *node = getenv("NODE") ? getenv("NODE") : "node";
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s bench/dash_page_load.js http://127.0.0.1:%u '%s' %d '%s' '%s'", node,
           g_port, g_tok, reps, big, small);
  FILE *p = popen(cmd, "r");
  if (!p) return 1;
  char line[65536] = "";
  if (!fgets(line, sizeof line, p)) line[0] = '\0';
  int rc = pclose(p);
  json_t *j = json_loads(line, 0, NULL);
  json_t *b = json_object_get(j, big), *s = json_object_get(j, small);
  if (rc || !b || !s) {
    fprintf(stderr, "bench_dashboard: %s failed (%d)\n", cmd, rc);
    json_decref(j);
    return 1;
  }
  *out_big = json_number_value(json_object_get(b, "best_ms"));
  *out_small = json_number_value(json_object_get(s, "best_ms"));
  *out_charts = (int)json_integer_value(json_object_get(b, "charts"));
  *out_errors = (int)(json_array_size(json_object_get(b, "errors")) +
                      json_array_size(json_object_get(s, "errors")));
  json_decref(j);
  return 0;
}

int main(void) {
  long trials = env_long("BENCH_DASH_TRIALS", 100000), requests = env_long("BENCH_DASH_REQUESTS", 2000);
  long small_n = env_long("BENCH_DASH_SMALL", 1000);
  int reps = (int)env_long("BENCH_REPEATS", 3), browser = (int)env_long("BENCH_DASH_BROWSER", 1);
  if (reps < 1) reps = 1;
  /* BENCH_DASH_DB: a database kept between runs (its studies are written
   * once), so two builds can be measured on the same file in one run */
  const char *keep = getenv("BENCH_DASH_DB");
  char path[256], url[300];
  if (keep && *keep) snprintf(path, sizeof path, "%s", keep);
  else snprintf(path, sizeof path, "/tmp/qt_bench_dash_%ld.db", (long)getpid());
  snprintf(url, sizeof url, "sqlite:///%s", path);
  if (!(keep && *keep)) remove(path);
  if (write_study(url, "big", trials, 7) || write_study(url, "small", small_n, 8)) return 1;

  qt_dash *d = start(url, 0); /* every request reads the storage */
  if (!d) return 1;
  /* in-process baseline: open read-only and write the page into memory */
  double open_s, direct, open_small, direct_small, page = 1e9, api = 1e9, t0, t;
  double open_cpu, direct_cpu, open_small_cpu, direct_small_cpu;
  if (in_process(url, "big", reps, &open_s, &direct, &open_cpu, &direct_cpu) ||
      in_process(url, "small", reps, &open_small, &direct_small, &open_small_cpu, &direct_small_cpu))
    return 1;
  size_t page_len = 0, api_len = 0;
  int page_status = 0, api_status = 0;
  for (int k = 0; k < reps; k++) {
    t0 = bench_now();
    page_status = get("/study?name=big", &page_len);
    t = bench_now() - t0;
    if (t < page) page = t;
    t0 = bench_now();
    api_status = get("/api/study?name=big", &api_len);
    t = bench_now() - t0;
    if (t < api) api = t;
  }
  printf("{\"bench\":\"dashboard_study_page\",\"trials\":%ld,\"page_status\":%d,\"page_bytes\":%zu,"
         "\"page_s\":%.3f,\"api_status\":%d,\"api_bytes\":%zu,\"api_s\":%.3f,\"in_process_s\":%.3f,"
         "\"study_open_s\":%.3f,\"small_trials\":%ld,\"small_study_open_s\":%.3f,"
         "\"small_in_process_s\":%.3f,\"ratio_page_over_in_process\":%.2f,"
         "\"ratio_open_big_over_small\":%.1f,\"study_open_cpu_s\":%.3f,\"in_process_cpu_s\":%.3f,"
         "\"small_study_open_cpu_s\":%.4f,\"small_in_process_cpu_s\":%.4f,\"target_s\":1}\n",
         trials, page_status, page_len, page, api_status, api_len, api, direct, open_s, small_n,
         open_small, direct_small, page / direct, open_s / open_small, open_cpu, direct_cpu,
         open_small_cpu, direct_small_cpu);
  fflush(stdout);
  if (browser) {
    double big_ms = 0, small_ms = 0;
    int charts = 0, errors = 0;
    if (browser_load("big", "small", reps, &big_ms, &small_ms, &charts, &errors)) return 1;
    printf("{\"bench\":\"dashboard_study_page_browser\",\"trials\":%ld,\"small_trials\":%ld,"
           "\"load_ms\":%.0f,\"small_load_ms\":%.0f,\"ratio_big_over_small\":%.2f,"
           "\"charts_drawn\":%d,\"console_errors\":%d,\"repeats\":%d,\"target_ms\":1000}\n",
           trials, small_n, big_ms, small_ms, big_ms / small_ms, charts, errors, reps);
    fflush(stdout);
  }
  long err_raw = 0, err_api = 0, err_static = 0;
  long raw_n = requests / 50 < 8 ? 8 : requests / 50;
  double rps_raw = throughput("/api/studies", raw_n, &err_raw);
  qt_dash_stop(d);
  if (!(d = start(url, qt_dash_opts_default().cache_ms))) return 1;
  double rps_api = throughput("/api/studies", requests, &err_api);
  double rps_static = throughput("/assets/dash.js", requests, &err_static);
  printf("{\"bench\":\"dashboard_requests\",\"trials\":%ld,\"requests\":%ld,\"clients\":4,"
         "\"studies_rps\":%.1f,\"studies_errors\":%ld,\"cache_ms\":%u,"
         "\"studies_rps_uncached\":%.2f,\"uncached_requests\":%ld,\"uncached_errors\":%ld,"
         "\"static_rps\":%.1f,\"static_errors\":%ld,\"ratio_studies_over_static\":%.3f,"
         "\"target_rps\":200}\n",
         trials, requests / 4 * 4, rps_api, err_api, qt_dash_opts_default().cache_ms, rps_raw,
         raw_n / 4 * 4, err_raw, rps_static, err_static, rps_api / rps_static);
  qt_dash_stop(d);
  if (keep && *keep) return err_api || err_static || err_raw ? 1 : 0;
  remove(path);
  char side[300];
  snprintf(side, sizeof side, "%s-wal", path);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", path);
  remove(side);
  return err_api || err_static || err_raw ? 1 : 0;
}
