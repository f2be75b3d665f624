/* cli_calendar.h -- `tilannekuva calendar`: deadlines and holidays.
 *
 *   tilannekuva calendar deadline --from YYYY-MM-DD --workdays N [--extend]
 *   tilannekuva calendar deadline --from YYYY-MM-DD --months N [--extend]
 *   tilannekuva calendar holidays YEAR
 *
 * Thin command-line layer over calendar.h; writes results to stdout and
 * diagnostics to stderr. Not reentrant (getopt). */
#ifndef TK_CLI_CALENDAR_H
#define TK_CLI_CALENDAR_H

/* Entry point; argv[0] is "calendar". Returns the process exit code: 0 ok,
 * 1 failure, 2 usage error. `--help` anywhere prints the usage to stdout. */
int cli_calendar_main(int argc, char **argv);

#endif
