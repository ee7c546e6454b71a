/* qtune dashboard: parses flags, starts the report layer's server over the
 * storage, prints the URL with its access token and serves until SIGINT,
 * SIGTERM or SIGHUP. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/report.h"
#include "qtune/storage.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char k_help[] =
    "usage: qtune dashboard [--storage URL] [--port 8080] [--bind 127.0.0.1]\n"
    "                       [--poll-ms 2000] [--max-points 2000]\n"
    "Serves the storage's studies as web pages that follow what the CLI writes:\n"
    "the studies, a study's charts (those of the HTML report), a trial, two\n"
    "studies compared.  It listens on 127.0.0.1 unless --bind (alias --listen)\n"
    "names another address; --port 0 picks a free port.  The URL printed at start\n"
    "carries a random access token: every request without it (or the session\n"
    "cookie it sets) gets 401, and every POST needs the session's CSRF token.\n"
    "Ctrl-C stops it.  See docs/dashboard.md.\n"
    "\n"
    "Example:\n"
    "  qtune dashboard --storage sqlite:///qtune.db --port 8080\n"
    "\n"
    "Exit status: 0 stopped by a signal, 2 error (no such storage, port in use).\n";

int cmd_dashboard(int argc, char **argv) {
  qt_dash_opts o = qt_dash_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(k_help, stdout);
      cli_print_storage_default();
      return CLI_OK;
    }
    int known = !strcmp(a, "--storage") || !strcmp(a, "--port") || !strcmp(a, "--bind") ||
                !strcmp(a, "--listen") || !strcmp(a, "--poll-ms") || !strcmp(a, "--max-points");
    if (!known) return cli_failf("dashboard: unknown option '%s' (see qtune dashboard --help)", a);
    if (i + 1 >= argc) return cli_failf("dashboard: %s needs a value", a);
    const char *v = argv[++i];
    long n;
    if (!strcmp(a, "--storage")) o.storage_url = v;
    else if (!strcmp(a, "--bind") || !strcmp(a, "--listen")) o.bind_addr = v;
    else {
      if (cli_parse_long(a, v, &n)) return CLI_ERROR;
      if (!strcmp(a, "--port") && (n < 0 || n > 65535))
        return cli_failf("--port: expected 0..65535 (got %ld)", n);
      if (n < 0) return cli_failf("%s: must be >= 0 (got %ld)", a, n);
      if (!strcmp(a, "--port")) o.port = (unsigned)n;
      else if (!strcmp(a, "--poll-ms")) o.poll_ms = (unsigned)n;
      else o.max_points = (size_t)n;
    }
  }
  qt_err e;
  qt_err_clear(&e);
  const char *url = o.storage_url ? o.storage_url : qt_storage_default_url();
  if (cli_storage_exists(url, &e)) return cli_fail(&e);
  /* the server's threads inherit this mask, so the signals come to sigwait */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  qt_dash *d = NULL;
  char link[1024], shown[1024];
  if (qt_dash_start(&o, &d, &e) || qt_dash_url(d, link, sizeof link, &e)) {
    qt_dash_stop(d);
    return cli_fail(&e);
  }
  printf("dashboard: %s\n", link);
  printf("  storage %s; Ctrl-C stops it\n", qt_storage_url_redact(url, shown, sizeof shown));
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  qt_dash_stop(d);
  printf("dashboard: stopped (%s)\n", sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
  return CLI_OK;
}
