/* cli_keys.h -- the 'keys' command: payload encryption key status,
 * rotation with re-encryption, and pruning of keys no payload needs.
 *
 *   tilannekuva keys status --data DIR [--json]
 *   tilannekuva keys rotate --data DIR [--batch N] [--max-batches N]
 *   tilannekuva keys verify --data DIR
 *   tilannekuva keys prune  --data DIR
 *
 * status: the key file's encryption key ids and the current one, how many
 *   messages and dead letters are sealed under each key id, and whether a
 *   rotation is unfinished. Read-only; may run beside a server.
 * rotate: adds a new current key to the key file and re-encrypts every
 *   stored payload under it, N rows per transaction (default 500); resumes
 *   an unfinished rotation instead of adding another key. --max-batches
 *   stops after that many transactions (the rest on the next run).
 * verify: opens every stored payload with the key file and its row's
 *   additional data; exit 1 when any does not open. Read-only.
 * prune: removes every key but the current one from the key file, and
 *   refuses while any payload is sealed under another key or a rotation is
 *   unfinished.
 * rotate and prune take the data directory's lock (DIR/lock, the one a
 * server or an import holds) and refuse while another process has it.
 * The procedure and its guarantees: docs/SECURITY.md, "Keys".
 *
 * Not thread-safe (runs on main's thread). */
#ifndef TK_CLI_KEYS_H
#define TK_CLI_KEYS_H

/* argv[0] = "keys"; returns the exit code: 0 ok, 1 failure (for rotate:
 * also when some payload could not be re-encrypted; for verify: some
 * payload does not open; for prune: refused),
 * 2 usage. */
int cli_keys_main(int argc, char **argv);

#endif
