/* The scripts the pages load from /assets: ECharts, the study report's
 * script and the dashboard's own, all embedded in the library (assets.c),
 * so the dashboard fetches nothing from elsewhere. */
#include "report/dash_int.h"

static void reply(qt__dash_reply *rp, const char *js, size_t len) {
  rp->type = "text/javascript; charset=utf-8";
  rp->fixed = js;
  rp->fixed_len = len;
  rp->cache_s = 3600;
}

static void echarts_js(const qt__dash_req *rq, qt__dash_reply *rp) {
  reply(rp, qt__report_echarts_js, qt__report_echarts_js_len);
}
static void report_js(const qt__dash_req *rq, qt__dash_reply *rp) {
  reply(rp, qt__report_app_js, qt__report_app_js_len);
}
static void dash_js(const qt__dash_req *rq, qt__dash_reply *rp) {
  reply(rp, qt__report_dash_js, qt__report_dash_js_len);
}

const qt__dash_page qt__dash_echarts_js = {"GET", "/assets/echarts.min.js", echarts_js};
const qt__dash_page qt__dash_report_js = {"GET", "/assets/report.js", report_js};
const qt__dash_page qt__dash_dash_js = {"GET", "/assets/dash.js", dash_js};
