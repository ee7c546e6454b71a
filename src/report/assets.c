/* The files the HTML report embeds, linked into the library with the
 * assembler's .incbin so a report needs no network and no file at run time:
 * ECharts' minified build (pinned in web/package-lock.json, installed by
 * scripts/bootstrap) and the page's own script.  Paths are relative to the
 * repository root, where make runs; the Makefile lists them as
 * prerequisites of this object. */
#include "report/report_int.h"

#define QT__INCBIN(sym, file)                                              \
  __asm__(".section .rodata\n"                                           \
          ".balign 16\n"                                                 \
          ".globl " #sym "\n.hidden " #sym "\n" #sym ":\n"               \
          ".incbin \"" file "\"\n" #sym "_end:\n"                        \
          ".balign 8\n"                                                  \
          ".globl " #sym "_len\n.hidden " #sym "_len\n" #sym "_len:\n"   \
          ".quad " #sym "_end - " #sym "\n"                              \
          ".previous\n")

QT__INCBIN(qt__report_echarts_js, "web/node_modules/echarts/dist/echarts.min.js");
QT__INCBIN(qt__report_app_js, "src/report/report.js");
QT__INCBIN(qt__report_dash_js, "src/report/dash.js");
QT__INCBIN(qt__report_backtest_js, "src/report/backtest.js");
