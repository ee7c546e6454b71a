/* The dashboard's inside: what a page file (src/report/dash_*.c) sees.  The
 * server (dash.c) authenticates, checks CSRF, reads bodies within their
 * limits and routes by method and exact path to a qt__dash_page; a page
 * reads the storage and writes its reply.  A new page is one file with its
 * qt__dash_page and one line in dash.c's route table. */
#ifndef QTUNE_REPORT_DASH_INT_H
#define QTUNE_REPORT_DASH_INT_H

#include "report/report_int.h"

#include <stdio.h>

/* Request limits (docs/dashboard.md): a POST body, the bytes libmicrohttpd
 * may use per connection for the request line and headers, connections at
 * once, and how long an idle connection stays open. */
#define QT__DASH_MAX_BODY 16384
#define QT__DASH_CONN_MEMORY 65536
#define QT__DASH_MAX_CONNS 64
#define QT__DASH_TIMEOUT_S 30
#define QT__DASH_MAX_SESSIONS 64
#define QT__DASH_HEX 64 /* a token, session id or CSRF token: 32 bytes as hex */

typedef struct qt__dash_req {
  qt_dash *d;
  void *conn;         /* the struct MHD_Connection */
  const char *method; /* "GET" (HEAD too) or "POST" */
  const char *path;
  const char *csrf;   /* the session's CSRF token, for forms and <meta> */
  const char *body;   /* a POST's body (NUL-terminated), else "" */
  size_t body_len;
} qt__dash_req;

typedef struct qt__dash_reply {
  int status;           /* HTTP status (200 unless the page sets it) */
  const char *type;     /* Content-Type; static text */
  FILE *f;              /* the body: the page writes here */
  const char *location; /* a Location header for redirects; static or the page's */
  char location_buf[512];
  const void *fixed;    /* a static body instead of f (the embedded scripts) */
  size_t fixed_len;
  int cache_s;          /* Cache-Control max-age; 0: no-store */
  int end_session;      /* the server drops the caller's session and cookie */
} qt__dash_reply;

typedef struct qt__dash_page {
  const char *method; /* "GET" or "POST" */
  const char *path;   /* exact, e.g. "/study" */
  void (*serve)(const qt__dash_req *rq, qt__dash_reply *rp);
} qt__dash_page;

/* The pages, one per file. */
extern const qt__dash_page qt__dash_studies, qt__dash_studies_api;  /* dash_studies.c */
extern const qt__dash_page qt__dash_study, qt__dash_study_api;      /* dash_study.c */
extern const qt__dash_page qt__dash_trial;                          /* dash_trial.c */
extern const qt__dash_page qt__dash_compare;                        /* dash_compare.c */
extern const qt__dash_page qt__dash_tune, qt__dash_tune_review;      /* dash_tune.c */
extern const qt__dash_page qt__dash_paper, qt__dash_paper_api, qt__dash_paper_run,
    qt__dash_paper_run_api;                                         /* dash_paper.c */
extern const qt__dash_page qt__dash_logout;                         /* dash_session.c */
extern const qt__dash_page qt__dash_echarts_js, qt__dash_report_js,
    qt__dash_dash_js;                                               /* dash_assets.c */

/* A query argument of the request (URL-decoded), or NULL. */
const char *qt__dash_arg(const qt__dash_req *rq, const char *key);
/* The storage URL and options the dashboard serves. */
const char *qt__dash_storage_url(const qt_dash *d);
unsigned qt__dash_poll_ms(const qt_dash *d);
size_t qt__dash_max_points(const qt_dash *d);
/* Opens study name read-only through the dashboard's storage URL. */
int qt__dash_open_study(const qt__dash_req *rq, const char *name, qt_study **out, qt_err *err);
/* A plain-text error reply: status and one line. */
void qt__dash_fail(qt__dash_reply *rp, int status, const char *fmt, ...) QT_PRINTF(3, 4);
/* The reply is j as JSON (application/json); j is not taken.  With a
 * cache_key the text is kept for the cache period (qt__dash_cache_get). */
void qt__dash_json(const qt__dash_req *rq, qt__dash_reply *rp, const json_t *j, const char *cache_key);
/* Writes the cached answer for key into rp when it is younger than the
 * cache period (qt_dash_opts.cache_ms); 1 when it did.  API answers only:
 * they hold no session data. */
int qt__dash_cache_get(const qt__dash_req *rq, const char *key, qt__dash_reply *rp);
void qt__dash_cache_put(const qt__dash_req *rq, const char *key, const char *body, size_t len);
/* An API answer kept for the cache period: the cached text when it is fresh,
 * else build(rq, &j, err)'s JSON, replied and cached under key (a failure
 * replies 500 with its message). */
void qt__dash_cached_api(const qt__dash_req *rq, qt__dash_reply *rp, const char *key,
                         int (*build)(const qt__dash_req *rq, json_t **out, qt_err *err));
/* The cached answer for key parsed (a new reference), or NULL. */
json_t *qt__dash_cache_json(const qt__dash_req *rq, const char *key);
/* The shared frame of an HTML page: <head> with the CSRF <meta> and the
 * style, <body>, the navigation bar; then the page's own markup; then the
 * foot with the dashboard script.  title is escaped; page (static text) names
 * the page for dash.js. */
void qt__dash_head(FILE *f, const qt__dash_req *rq, const char *page, const char *title);
void qt__dash_foot(FILE *f);
/* The navigation bar (#qt-nav, carrying data-qt-page and data-qt-poll for
 * dash.js, and the log-out form) and the extra CSS, for the study page, which
 * the report layer frames. */
void qt__dash_nav(FILE *f, const qt__dash_req *rq, const char *page);
extern const char qt__dash_style[];
/* The study's validation section (holdout, walk-forward windows, gate
 * verdicts) into f; nothing when it has none (dash_validation.c). */
int qt__dash_validation_html(const qt__dash_req *rq, qt_study *st, FILE *f, qt_err *err);
/* s percent-encoded for a query value into buf (truncated at cap). */
void qt__dash_urlenc(const char *s, char *buf, size_t cap);

#endif
