/* Wiring shared by `qtune optimize` for the study attributes of
 * src/cli/cmd_trial.c: the pruner and the tags. */
#ifndef QTUNE_CLI_CMD_TRIAL_H
#define QTUNE_CLI_CMD_TRIAL_H

#include "qtune/optimize.h"

/* The pruner named by name ("median", ...) with options "k=v,k=v" (opts
 * may be NULL) into *out (caller frees with qt_pruner_free).  CLI_OK or
 * CLI_ERROR (message printed). */
int cli_pruner_new(const char *name, const char *opts, qt_pruner **out);
/* Sets the tags "K=V,K=V" (tags may be NULL: nothing) on the study. */
int cli_tags_apply(qt_study *st, const char *tags);

#endif
