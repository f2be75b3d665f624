/* cli_serve.h -- `tilannekuva serve`: the MLLP and HTTP servers over one
 * data directory. Returns the exit code (0 after a clean SIGINT/SIGTERM
 * shutdown, 1 on failure, 2 on usage errors). */
#ifndef TK_CLI_SERVE_H
#define TK_CLI_SERVE_H

int cli_serve_main(int argc, char **argv);

#endif
