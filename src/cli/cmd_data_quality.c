/* `qtune data verify|synth|resample`: wiring to verify.c, synth.c and
 * resample.c.  (Being completed.) */
#include "cli/cmd_data.h"
#include "cli/util.h"

#include <stdio.h>
#include <string.h>

static int has_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

int cmd_data_verify(int argc, char **argv) {
  if (has_help(argc, argv)) {
    printf("usage: qtune data verify --catalog DIR --symbol S [--kind K] [--gap-factor k] [--json]\n");
    return CLI_OK;
  }
  return cli_failf("data verify: not implemented yet");
}

int cmd_data_synth(int argc, char **argv) {
  if (has_help(argc, argv)) {
    printf("usage: qtune data synth --catalog DIR --symbol S --days N --seed K\n");
    return CLI_OK;
  }
  return cli_failf("data synth: not implemented yet");
}

int cmd_data_resample(int argc, char **argv) {
  if (has_help(argc, argv)) {
    printf("usage: qtune data resample --catalog DIR --symbol S --to 1h [--out-symbol S2]\n");
    return CLI_OK;
  }
  return cli_failf("data resample: not implemented yet");
}
