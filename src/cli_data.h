/* cli_data.h -- data directory commands: init, status, import, rebuild,
 * deadletters. Each takes argv[0] = the command name and returns the exit
 * code (0 ok, 1 failure, 2 usage). */
#ifndef TK_CLI_DATA_H
#define TK_CLI_DATA_H

int cli_data_init_main(int argc, char **argv);
int cli_data_status_main(int argc, char **argv);
int cli_data_import_main(int argc, char **argv);
int cli_data_rebuild_main(int argc, char **argv);
int cli_data_deadletters_main(int argc, char **argv);

#endif
