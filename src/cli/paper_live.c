/* `qtune paper --live-params FILE`: opening the live params file's handle
 * for the runner.  Wiring only: validation, reloads and the watcher are
 * qt_live_params_* (src/live/params_file.c). */
#include "cli/paper.h"
#include "cli/util.h"

#include <stdio.h>

int cli_paper_live_open(const qt_strategy_vtbl *s, const char *path, const char *run,
                        double max_step_pct, const double *p, double cash, qt_live_params **out) {
  qt_err err;
  qt_err_clear(&err);
  *out = NULL;
  if (!(max_step_pct >= 0)) return cli_failf("paper: --max-step must be >= 0 (percent)");
  qt_live_params_opts o = qt_live_params_opts_default();
  o.run = run ? run : "paper";
  o.max_step_pct = max_step_pct;
  if (qt_live_params_new(s, path, p, &o, out, &err)) return cli_fail(&err);
  qt_live_params_set_equity(*out, cash); /* the first set's P&L starts at the cash */
  /* the three outcomes: reloaded, not found (p kept), refused (logged, p kept) */
  int rc = qt_live_params_reload(*out, &err);
  if (rc == QT_LIVE_NOT_FOUND)
    fprintf(stderr, "qtune: paper: %s not found; running with the given params until it appears\n",
            path);
  if (qt_live_params_watch(*out, &err)) return cli_fail(&err);
  return CLI_OK;
}
