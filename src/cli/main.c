/* qtune: the command-line front end.  Wiring only: each command parses its
 * arguments and calls the library. */
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cmd {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} cmd;

#define QT__CLI_ROW(name, fn, summary) {name, fn, summary},
static const cmd k_cmds[] = {QT_CLI_COMMANDS(QT__CLI_ROW)};
#undef QT__CLI_ROW

int cmd_version(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: qtune version   (or qtune --version)\n"
             "Prints the version of qtune.\n"
             "\nExample:\n  qtune version\n"
             "\nExit status: 0 ok, 2 error (an unknown argument).\n");
      return CLI_OK;
    }
    return cli_failf("version: unknown argument '%s' (see qtune version --help)", argv[i]);
  }
  printf("qtune %s\n", qt_version());
  return CLI_OK;
}

static void usage(FILE *f) {
  fprintf(f, "usage: qtune <command> [options]   (qtune <command> --help)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof k_cmds / sizeof k_cmds[0]; i++)
    fprintf(f, "  %-16s %s\n", k_cmds[i].name, k_cmds[i].summary);
  fprintf(f, "\nQTUNE_LOG=debug|info|warn|error sets the log level (default warn).\n");
  fprintf(f, "\nExample:\n"
             "  qtune backtest --strategy sma_cross --catalog cat --symbol BTCUSDT "
             "--timerange 20260601-20260701\n"
             "\nExit status: 0 ok, 1 findings (data verify, best, check-lookahead), 2 error.\n");
}

int main(int argc, char **argv) {
  qt_log_level lvl = QT_LOG_WARN;
  const char *env = getenv("QTUNE_LOG");
  if (env && qt_log_level_parse(env, &lvl) != 0)
    fprintf(stderr, "qtune: QTUNE_LOG=%s: use debug, info, warn or error\n", env);
  qt_log_set(qt_log_stderr, NULL, lvl);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) return cmd_version(argc - 1, argv + 1);
  for (size_t i = 0; i < sizeof k_cmds / sizeof k_cmds[0]; i++)
    if (strcmp(argv[1], k_cmds[i].name) == 0) return k_cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "qtune: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
