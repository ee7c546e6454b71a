/* Notifications after a run, over libcurl: Telegram's Bot API sendMessage
 * and a generic JSON webhook.  The token is part of Telegram's URL, so no
 * URL is ever put in a message or a log line; libcurl's own error text
 * (curl_easy_strerror) names no URL either.  A failure is retried
 * notify_attempts times with a growing pause and then logged; the
 * adjustments are already stored, so nothing depends on it. */
#include "qtune/tune.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init_curl(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t discard(char *p, size_t sz, size_t n, void *ud) { return sz * n; }

static void pause_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (ms > 0 && nanosleep(&ts, &ts) != 0) {
  }
}

/* One POST of a JSON body with retries; what names the channel in messages. */
static int post(const qt_tune_config *c, const char *what, const char *url, const char *body,
                qt_err *err) {
  pthread_once(&g_once, init_curl);
  char why[160] = "";
  for (int attempt = 1; attempt <= c->notify_attempts; attempt++) {
    CURL *h = curl_easy_init();
    if (!h) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", what);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->notify_timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cr = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    if (cr == CURLE_OK && status >= 200 && status < 300) return QT_OK;
    if (cr != CURLE_OK) snprintf(why, sizeof why, "%s", curl_easy_strerror(cr));
    else snprintf(why, sizeof why, "HTTP status %ld", status);
    qt_log(QT_LOG_WARN, "tune: %s notification failed (try %d of %d): %s", what, attempt,
           c->notify_attempts, why);
    if (attempt < c->notify_attempts) pause_ms(c->notify_backoff_ms * attempt);
  }
  return qt_err_set(err, QT_EIO, "%s notification failed after %d tries: %s", what,
                    c->notify_attempts, why);
}

static char *dump(json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
  json_decref(o);
  return s;
}

/* The report as JSON text through a memory stream (the writer's own form). */
static json_t *report_obj(const qt_tune_report *r) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  int rc = qt_tune_report_write_json(r, f, NULL);
  fclose(f);
  json_t *o = rc ? NULL : json_loadb(buf, len, 0, NULL);
  free(buf);
  return o;
}

int qt_tune_notify(const qt_tune_config *c, const qt_tune_report *r, int *out_sent, qt_err *err) {
  if (out_sent) *out_sent = 0;
  char text[3500];
  qt_tune_report_summary(r, text, sizeof text);
  int rc = QT_OK;
  if (c->telegram_token[0] && c->telegram_chat_id[0]) {
    char url[1024];
    snprintf(url, sizeof url, "%s/bot%s/sendMessage", c->telegram_base_url, c->telegram_token);
    char *body = dump(json_pack("{s:s,s:s}", "chat_id", c->telegram_chat_id, "text", text));
    qt_err e = {0};
    int t = body ? post(c, "telegram", url, body, &e) : qt_err_set(&e, QT_ENOMEM, "out of memory");
    free(body);
    if (t) rc = qt_err_set(err, t, "%s", e.msg);
    else if (out_sent) (*out_sent)++;
  }
  if (c->webhook_url[0]) {
    json_t *rep = report_obj(r);
    char *body = rep ? dump(json_pack("{s:s,s:s,s:o}", "event", "tune_run", "summary", text,
                                      "report", rep))
                     : NULL;
    qt_err e = {0};
    int t = body ? post(c, "webhook", c->webhook_url, body, &e)
                 : qt_err_set(&e, QT_ENOMEM, "out of memory");
    free(body);
    if (t) rc = qt_err_set(err, t, "%s", e.msg);
    else if (out_sent) (*out_sent)++;
  }
  return rc;
}
