/* A YAML config as command-line options: a flat map of option names (with
 * `_` or `-`, no leading --) to values becomes "--name value" pairs placed
 * before the command line's own arguments, so the command line wins.  Used
 * by `qtune backtest --config FILE.yaml` with the keys of optimize's config
 * (docs/results.md); keys only a study uses are skipped and listed. */
#ifndef QTUNE_CLI_CONFIG_ARGS_H
#define QTUNE_CLI_CONFIG_ARGS_H

#include <stddef.h>

typedef struct cli_argv {
  char **v; /* NULL-terminated, heap strings */
  int n, cap;
} cli_argv;

/* How a command judges a key: 0 unknown, 1 an option with a value, 2 a
 * switch (true/yes/1 give "--key", false nothing), 3 known but not used by
 * this command (skipped). */
typedef int (*cli_key_kind)(const char *opt);

/* Builds out (argv[0] first, then the config's pairs, then argv[1..argc)
 * without "--config FILE") when argv has --config; else a copy of argv.
 * Sequences join with ','; a map (params: {fast: 10}) joins as k=v,...
 * Fails (message printed, CLI_ERROR) on YAML errors, an unknown key (file,
 * line, the nearest keys from `names`) or a value nested too deep.  The
 * skipped keys are named on stderr once. */
int cli_config_argv(int argc, char **argv, cli_key_kind kind, const char *const *names,
                    size_t n_names, cli_argv *out);
void cli_argv_free(cli_argv *a);

#endif
