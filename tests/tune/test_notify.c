#include "qt_test.h"
#include "qtune/tune.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* Notifications (src/tune/notify.c) against a tiny HTTP server on loopback
 * in a thread: it answers each request with the next status of a script
 * and keeps the request line and body for the checks. */
typedef struct server {
  int fd, port;
  int statuses[8], n_statuses;
  int n_req;
  char line[8][256];
  char body[8][8192];
} server;

static void *serve(void *arg) {
  server *sv = arg;
  for (int k = 0; k < sv->n_statuses; k++) {
    int c = accept(sv->fd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[16384];
    size_t n = 0;
    char *end = NULL;
    while (n < sizeof buf - 1 && !end) {
      ssize_t got = read(c, buf + n, sizeof buf - 1 - n);
      if (got <= 0) break;
      n += (size_t)got;
      buf[n] = '\0';
      end = strstr(buf, "\r\n\r\n");
    }
    size_t want = 0;
    const char *cl = strcasestr(buf, "Content-Length:");
    if (cl) want = (size_t)atol(cl + 15);
    size_t head = end ? (size_t)(end - buf) + 4 : n;
    while (n - head < want && n < sizeof buf - 1) {
      ssize_t got = read(c, buf + n, sizeof buf - 1 - n);
      if (got <= 0) break;
      n += (size_t)got;
    }
    buf[n] = '\0';
    int i = sv->n_req++;
    char *eol = strstr(buf, "\r\n");
    snprintf(sv->line[i], sizeof sv->line[i], "%.*s", eol ? (int)(eol - buf) : 0, buf);
    snprintf(sv->body[i], sizeof sv->body[i], "%s", buf + head);
    char resp[128];
    int len = snprintf(resp, sizeof resp,
                       "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                       sv->statuses[k]);
    if (write(c, resp, (size_t)len) < 0) {
    }
    close(c);
  }
  return NULL;
}

static void start(server *sv, pthread_t *t) {
  sv->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(sv->fd, (struct sockaddr *)&a, sizeof a);
  socklen_t al = sizeof a;
  getsockname(sv->fd, (struct sockaddr *)&a, &al);
  sv->port = ntohs(a.sin_port);
  listen(sv->fd, 8);
  pthread_create(t, NULL, serve, sv);
}

static void stop(server *sv, pthread_t t) {
  pthread_join(t, NULL);
  close(sv->fd);
}

static qt_tune_report g_r;
static qt_tune_config g_c;

static void setup(void) {
  qt_tune_config_default(&g_c);
  g_c.telegram_token[0] = g_c.telegram_chat_id[0] = g_c.webhook_url[0] = '\0';
  g_c.notify_backoff_ms = 0;
  g_c.notify_timeout_ms = 5000;
  memset(&g_r, 0, sizeof g_r);
  g_r.run_ms = 1783472400000LL;
  g_r.n_items = 1;
  g_r.n_logged = 1;
  qt_tune_item *it = &g_r.items[0];
  snprintf(it->strategy, sizeof it->strategy, "directional_momentum");
  it->mapped = 1;
  it->stats.n_signals = 25;
  it->stats.win_rate_pct = 28;
  it->n_props = 1;
  it->ids[0] = 7;
  it->props[0].old_value = 50;
  it->props[0].new_value = 55;
  snprintf(it->props[0].reason, sizeof it->props[0].reason, "Win rate 28.0%% below threshold 30.0%%");
  snprintf(it->param_names[0], sizeof it->param_names[0], "min_score");
  it->display_scale[0] = 1;
  snprintf(it->evidence[0], sizeof it->evidence[0], "{}");
}

static char g_logs[4096];
static void sink(void *ud, qt_log_level lvl, const char *msg) {
  size_t n = strlen(g_logs);
  snprintf(g_logs + n, sizeof g_logs - n, "%s\n", msg);
}

static void webhook_body(void) {
  setup();
  server sv = {.statuses = {200}, .n_statuses = 1};
  pthread_t t;
  start(&sv, &t);
  snprintf(g_c.webhook_url, sizeof g_c.webhook_url, "http://127.0.0.1:%d/hook", sv.port);
  int sent = 0;
  qt_err e = {0};
  EXPECT_EQ(qt_tune_notify(&g_c, &g_r, &sent, &e), 0);
  stop(&sv, t);
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(sv.n_req, 1);
  EXPECT_STREQ(sv.line[0], "POST /hook HTTP/1.1");
  EXPECT_CONTAINS(sv.body[0], "{\"event\":\"tune_run\",\"summary\":\"qtune auto-tuner: 1 adjustment "
                              "pending review\\n#7 directional_momentum min_score: 50 -> 55 (Win "
                              "rate 28.0% below threshold 30.0%)\"");
  EXPECT_CONTAINS(sv.body[0], "\"parameter\":\"min_score\"");
}

static void telegram_request_and_retries(void) {
  setup();
  server sv = {.statuses = {500, 503, 200}, .n_statuses = 3};
  pthread_t t;
  start(&sv, &t);
  snprintf(g_c.telegram_base_url, sizeof g_c.telegram_base_url, "http://127.0.0.1:%d", sv.port);
  snprintf(g_c.telegram_token, sizeof g_c.telegram_token, "123456:SECRET-token");
  snprintf(g_c.telegram_chat_id, sizeof g_c.telegram_chat_id, "-1001");
  int sent = 0;
  qt_err e = {0};
  g_logs[0] = '\0';
  qt_log_set(sink, NULL, QT_LOG_DEBUG);
  EXPECT_EQ(qt_tune_notify(&g_c, &g_r, &sent, &e), 0);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  stop(&sv, t);
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(sv.n_req, 3); /* two failures, then through */
  EXPECT_STREQ(sv.line[2], "POST /bot123456:SECRET-token/sendMessage HTTP/1.1");
  EXPECT_STREQ(sv.body[2], "{\"chat_id\":\"-1001\",\"text\":\"qtune auto-tuner: 1 adjustment pending "
                           "review\\n#7 directional_momentum min_score: 50 -> 55 (Win rate 28.0% "
                           "below threshold 30.0%)\"}");
  EXPECT_CONTAINS(g_logs, "telegram notification failed (try 1 of 3): HTTP status 500");
  EXPECT_CONTAINS(g_logs, "(try 2 of 3): HTTP status 503");
  EXPECT_TRUE(strstr(g_logs, "SECRET") == NULL);
}

static void bounded_failure_never_shows_the_token(void) {
  setup();
  server sv = {.statuses = {500, 500}, .n_statuses = 2};
  pthread_t t;
  start(&sv, &t);
  g_c.notify_attempts = 2;
  snprintf(g_c.telegram_base_url, sizeof g_c.telegram_base_url, "http://127.0.0.1:%d", sv.port);
  snprintf(g_c.telegram_token, sizeof g_c.telegram_token, "999:SECRET");
  snprintf(g_c.telegram_chat_id, sizeof g_c.telegram_chat_id, "5");
  int sent = 9;
  qt_err e = {0};
  g_logs[0] = '\0';
  qt_log_set(sink, NULL, QT_LOG_DEBUG);
  EXPECT_EQ(qt_tune_notify(&g_c, &g_r, &sent, &e), QT_EIO);
  stop(&sv, t);
  EXPECT_EQ(sent, 0);
  EXPECT_EQ(sv.n_req, 2); /* bounded */
  EXPECT_CONTAINS(e.msg, "telegram notification failed after 2 tries: HTTP status 500");
  EXPECT_TRUE(strstr(e.msg, "SECRET") == NULL);
  /* nobody listening: a connection error, also without the token */
  snprintf(g_c.telegram_base_url, sizeof g_c.telegram_base_url, "http://127.0.0.1:%d", sv.port);
  EXPECT_EQ(qt_tune_notify(&g_c, &g_r, &sent, &e), QT_EIO);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  EXPECT_CONTAINS(e.msg, "after 2 tries");
  EXPECT_TRUE(strstr(e.msg, "SECRET") == NULL);
  EXPECT_TRUE(strstr(g_logs, "SECRET") == NULL);
}

QT_TESTS(T(webhook_body), T(telegram_request_and_retries), T(bounded_failure_never_shows_the_token))
