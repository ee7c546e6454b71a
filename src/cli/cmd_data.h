/* `qtune data ...` subcommands.  cmd_data (cmd_data.c) dispatches; import
 * and info live there, verify/synth/resample in cmd_data_quality.c.  Each
 * gets argv with argv[0] = the subcommand name. */
#ifndef QTUNE_CLI_CMD_DATA_H
#define QTUNE_CLI_CMD_DATA_H

int cmd_data_verify(int argc, char **argv);
int cmd_data_synth(int argc, char **argv);
int cmd_data_resample(int argc, char **argv);
int cmd_data_download(int argc, char **argv); /* cmd_data_download.c */

#endif
