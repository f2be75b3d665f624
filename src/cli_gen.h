/* cli_gen.h -- `tilannekuva generate` and `tilannekuva replay`: write a
 * synthetic county's ADT feed to files, and send HL7 files over MLLP.
 *
 *   tilannekuva generate [--region R | --org FILE] [--from YYYY-MM-DD]
 *                        [--days N] [--seed S] --out DIR
 *   tilannekuva replay DIR --to HOST:PORT [--speed X|max] [--retime]
 *                        [--connections N] [--after T] [--before T]
 *                        [--timeout S] [--retries N]
 *
 * docs/SYNTHETIC.md describes both. Neither ever prints or logs a message's
 * content (the synthetic names and identity codes included). Not reentrant
 * (getopt; replay installs a SIGINT/SIGTERM handler). */
#ifndef TK_CLI_GEN_H
#define TK_CLI_GEN_H

/* `generate`; argv[0] is "generate". Prints one summary line to stdout.
 * Returns 0 on success, 1 on failure, 2 for a usage error. */
int cli_gen_generate_main(int argc, char **argv);

/* `replay`; argv[0] is "replay". Progress goes to stderr when it is a
 * terminal; the final line "sent N, AA N, AE N, AR N" to stdout. Returns 0
 * when every message was sent and acknowledged (whatever the ACK code), 1
 * when the run stopped early (a connection that could not be re-established,
 * an unreadable file, an interrupt), 2 for a usage error. */
int cli_gen_replay_main(int argc, char **argv);

#endif
