/* cli_hetu.h -- `tilannekuva hetu`: check personal identity codes.
 *
 *   tilannekuva hetu check [--today YYYY-MM-DD] CODE...
 *
 * Prints one line per code: "CODE: valid", "CODE: temporary" or
 * "CODE: invalid (reason)". The codes are printed only to the user's own
 * terminal (stdout), never logged. Not reentrant (getopt). */
#ifndef TK_CLI_HETU_H
#define TK_CLI_HETU_H

/* Entry point; argv[0] is "hetu". Returns 0 when every code is valid or
 * temporary, 1 when any is invalid, 2 for a usage error. "Today" (the
 * latest possible birth date) is the current Europe/Helsinki date unless
 * --today is given. */
int cli_hetu_main(int argc, char **argv);

#endif
