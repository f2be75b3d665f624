/* main.c -- the tilannekuva binary: one program, many subcommands.
 *
 * Each subcommand lives in a cli_*.c module with a `*_main(argc, argv)`
 * entry where argv[0] is the command name. Exit codes: 0 ok, 1 failure,
 * 2 usage (DESIGN.md, Interfaces). */
#include <stdio.h>
#include <string.h>

#include "cli_calendar.h"
#include "cli_data.h"
#include "cli_gen.h"
#include "cli_hetu.h"
#include "cli_keys.h"
#include "cli_sec.h"
#include "cli_serve.h"

struct command {
  const char *name;
  int (*main)(int argc, char **argv);
  const char *help;
};

static const struct command commands[] = {
    {"init", cli_data_init_main, "create a data directory with its key file"},
    {"status", cli_data_status_main, "message and event counts"},
    {"serve", cli_serve_main, "run the MLLP and HTTP servers"},
    {"import", cli_data_import_main, "ingest HL7 files through the channels"},
    {"rebuild", cli_data_rebuild_main,
     "rebuild projections and the cube from the event log"},
    {"deadletters", cli_data_deadletters_main,
     "list, show or replay dead letters"},
    {"generate", cli_gen_generate_main, "write a synthetic county's HL7 feed"},
    {"replay", cli_gen_replay_main, "send HL7 files over MLLP"},
    {"user", cli_sec_user_main, "manage local accounts"},
    {"token", cli_sec_token_main, "create, list and revoke API tokens"},
    {"audit", cli_sec_audit_main, "verify the audit log; who viewed a client"},
    {"auth", cli_sec_auth_main, "test directory (LDAP/AD) sign-in"},
    {"keys", cli_keys_main, "payload key status, rotation and pruning"},
    {"calendar", cli_calendar_main, "Finnish holidays and deadlines"},
    {"hetu", cli_hetu_main, "check personal identity codes"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: tilannekuva COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\n'tilannekuva COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tilannekuva 0.1.0\n");
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].main(argc - 1, argv + 1);
  fprintf(stderr, "tilannekuva: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
