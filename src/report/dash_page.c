/* The frame every dashboard page shares: head (CSRF <meta>, style),
 * navigation bar with the log-out form, and the foot with the page script. */
#include "report/dash_int.h"

const char qt__dash_style[] =
    "nav{display:flex;gap:1.2em;align-items:center;border-bottom:1px solid #ddd;"
    "padding:.4em 0;margin-bottom:1em}nav form{margin-left:auto}nav a{color:#0645ad}"
    ".live{color:#080;font-size:.85em}.state-running{color:#b60;font-weight:bold}"
    "table.list td:first-child,table.list th:first-child{text-align:left}";

static const char k_base_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:right}th{background:#f4f4f4}.note{color:#666;font-size:.9em}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}dd{margin:0}"
    ".chart{width:100%;height:360px}";

void qt__dash_nav(FILE *f, const qt__dash_req *rq, const char *page) {
  fprintf(f, "<nav id=\"qt-nav\" data-qt-page=\"%s\" data-qt-poll=\"%u\">"
             "<strong>qtune dashboard</strong><a href=\"/\">studies</a>"
             "<a href=\"/compare\">compare</a><a href=\"/paper\">paper runs</a>"
             "<a href=\"/tune\">auto-tuner</a>"
             "<span class=\"live\" id=\"qt-live\">live: every %u ms</span>"
             "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" "
             "value=\"%s\"><button type=\"submit\">log out</button></form></nav>\n",
          page, qt__dash_poll_ms(rq->d), qt__dash_poll_ms(rq->d), rq->csrf);
}

void qt__dash_head(FILE *f, const qt__dash_req *rq, const char *page, const char *title) {
  fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"qt-csrf\" content=\"%s\"><link rel=\"icon\" href=\"data:,\"><title>",
          rq->csrf);
  qt__report_html_text(f, title);
  fprintf(f, "</title><style>%s%s</style></head>\n<body>\n", k_base_style, qt__dash_style);
  qt__dash_nav(f, rq, page);
}

void qt__dash_foot(FILE *f) {
  fprintf(f, "<script src=\"/assets/dash.js\"></script>\n</body></html>\n");
}
