/* qtune report: a study's report as Markdown or self-contained HTML.  Parses
 * flags, opens the study read-only and hands it to the report layer; the file
 * is written through a temp name and renamed. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/report.h"

#include <stdio.h>
#include <string.h>

static const char k_help[] =
    "usage: qtune report --study-name S [--storage URL] --format md|html -o FILE\n"
    "                    [--top-n 10] [--max-points 2000]\n"
    "Writes the study's report: its configuration, trial counts, the top-N trials\n"
    "with one column per parameter, parameter importance and constraint violations.\n"
    "html is one self-contained page (charts drawn by the embedded ECharts: history\n"
    "with best so far, importance, slices, a 2-parameter heatmap, parallel\n"
    "coordinates, violations) that opens offline; more than --max-points complete\n"
    "trials are down-sampled for the charts (the page says so).  See docs/report.md.\n"
    "\n"
    "Example:\n"
    "  qtune report --study-name sma1 --format html -o sma1.html\n"
    "\n"
    "Exit status: 0 ok, 2 error (no such study or storage, bad option).\n";

int cmd_report(int argc, char **argv) {
  const char *url = NULL, *name = NULL, *format = NULL, *path = NULL;
  qt_report_opts ro = qt_report_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(k_help, stdout);
      cli_print_storage_default();
      return CLI_OK;
    }
    int known = !strcmp(a, "--storage") || !strcmp(a, "--study-name") || !strcmp(a, "--study") ||
                !strcmp(a, "--format") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
                !strcmp(a, "--top-n") || !strcmp(a, "--max-points");
    if (!known) return cli_failf("report: unknown option '%s' (see qtune report --help)", a);
    if (i + 1 >= argc) return cli_failf("report: %s needs a value", a);
    const char *v = argv[++i];
    long n;
    if (!strcmp(a, "--storage")) url = v;
    else if (!strcmp(a, "--study-name") || !strcmp(a, "--study")) name = v;
    else if (!strcmp(a, "--format")) format = v;
    else if (!strcmp(a, "-o") || !strcmp(a, "--output")) path = v;
    else {
      if (cli_parse_long(a, v, &n)) return CLI_ERROR;
      if (n < 0) return cli_failf("%s: must be >= 0 (got %ld)", a, n);
      if (!strcmp(a, "--top-n")) ro.top_n = (size_t)n;
      else ro.max_points = (size_t)n;
    }
  }
  if (!name) return cli_failf("report: --study-name is required");
  if (!path) return cli_failf("report: -o FILE is required");
  if (!format) return cli_failf("report: --format md|html is required");
  int html = !strcmp(format, "html");
  if (!html && strcmp(format, "md"))
    return cli_failf("report: --format '%s': expected md or html", format);
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &e);
  int rc = CLI_OK;
  if (!f) {
    rc = cli_fail(&e);
  } else {
    int r = html ? qt_report_study_html(st, &ro, f, &e) : qt_report_study_md(st, &ro, f, &e);
    if (cli_commit(f, tmp, path, r == QT_OK, r ? NULL : &e) && r == QT_OK) r = QT_EIO;
    if (r) rc = cli_fail(&e);
    else printf("wrote %s (%s report of study %s, %zu trials)\n", path, format, name,
                qt_study_n_trials(st));
  }
  qt_study_free(st);
  return rc;
}
