/* audit.h -- the audit log: who viewed or recorded which person's data,
 * as a hash chain with signed checkpoints.
 *
 * Each record holds: time, user, role, action, subject (a pseudonym, never
 * an identity code), unit, reason, client address and request id. Records
 * are numbered 1, 2, 3, ... and chained:
 *
 *     hash[0] = 32 zero bytes
 *     hash[n] = BLAKE2b-256( hash[n-1] || canonical(record n) )
 *
 *     canonical = "TKAUDIT1" || u64be seq || u64be at_ms
 *                 || for user, role, action, subject, unit, reason,
 *                    address, request_id: u32be length || bytes
 *
 * The chain alone makes any change to a record, or removing, inserting or
 * reordering records, visible as a hash that does not match -- unless whoever
 * changed the file also recomputed every later hash, which anyone can do.
 * That is what checkpoints are for: now and then (every N records, every
 * few minutes while records arrive, at every clean shutdown and on demand)
 * the head is signed with the key file's Ed25519 key:
 *
 *     message = "TKCKPT01" || u64be count || head (32) || u64be at_ms
 *               || u32be length || kind
 *
 * A rewritten chain no longer matches a signed head, and a log cut short
 * holds fewer records than a checkpoint says it had. docs/SECURITY.md says
 * exactly what this proves and what it does not.
 *
 * Thread safety: a struct audit may be shared by any number of threads
 * (appends serialise in a secstore transaction). The stateless functions
 * are reentrant. */
#ifndef TK_AUDIT_H
#define TK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"
#include "privacy.h"
#include "secstore.h"

#define AUDIT_HASH_BYTES SECSTORE_HASH_BYTES
/* Field caps in bytes, without the NUL. */
#define AUDIT_USER_MAX 128
#define AUDIT_ROLE_MAX 31
#define AUDIT_ACTION_MAX 128
#define AUDIT_SUBJECT_MAX 64
#define AUDIT_UNIT_MAX 63
#define AUDIT_REASON_MAX 64
#define AUDIT_ADDRESS_MAX 63
#define AUDIT_REQUEST_ID_MAX 64
/* Records appended in one call. */
#define AUDIT_BATCH_MAX 10000
/* Checkpoints audit_verify holds in memory (about 48 bytes each). */
#define AUDIT_VERIFY_MAX_CHECKPOINTS 20000000

/* One record to append. Strings may be NULL (stored as ""); each must be
 * at most its AUDIT_*_MAX bytes without control characters. at_ms 0 means
 * "now". */
struct audit_entry {
  int64_t at_ms;
  const char *user, *role, *action, *subject, *unit, *reason, *address,
      *request_id;
};

struct audit;

/* Opens the audit log kept in 'ss' (borrowed; must outlive the struct).
 * 'keys' (borrowed, may be NULL) signs checkpoints; without keys nothing is
 * signed and audit_checkpoint answers ERR_STATE. 'checkpoint_every' > 0
 * signs a checkpoint after every that many records (0: only on request).
 * On failure *out is untouched. */
NODISCARD int audit_open(struct secstore *ss, const struct privacy_keys *keys,
                         unsigned checkpoint_every, struct audit **out,
                         struct error *err);

/* Accepts NULL. Signs nothing: call audit_checkpoint(..., "shutdown") first
 * when the log should be sealed. */
void audit_free(struct audit *a);

/* Appends 'n' (1..AUDIT_BATCH_MAX) records in one durable transaction
 * (synchronous=FULL: on disk when this returns 0) and, when a checkpoint is
 * due, signs one afterwards (a failure to sign does not undo the append; the
 * next checkpoint covers the records). *last_seq (may be NULL) gets the seq
 * of the last record. ERR_INVAL or ERR_TOOBIG for a field that breaks its
 * rule (nothing is appended); ERR_STORE when the database fails. */
NODISCARD int audit_append(struct audit *a, const struct audit_entry *e,
                           size_t n, int64_t *last_seq, struct error *err);

/* Signs the current head as a checkpoint of 'kind' ("periodic", "shutdown",
 * "manual"; at most SECSTORE_KIND_MAX - 1 bytes) at 'now_ms'. A "periodic"
 * checkpoint is skipped when the head is already covered (*made false);
 * other kinds are always signed. *out (may be NULL) gets the checkpoint when
 * one is made. ERR_STATE without keys. */
NODISCARD int audit_checkpoint(struct audit *a, const char *kind,
                               int64_t now_ms, bool *made,
                               struct secstore_checkpoint *out,
                               struct error *err);

/* Records appended since the last checkpoint (from this handle's view; 0
 * right after audit_open when the head is covered). Thread-safe. */
int64_t audit_unsigned(struct audit *a);

/* ---- the construction, for verifiers and tests -------------------------- */

/* hash[n] from hash[n-1] ('prev') and record 'r' (its hash field is not
 * read). */
void audit_record_hash(const unsigned char prev[AUDIT_HASH_BYTES],
                       const struct secstore_audit_row *r,
                       unsigned char out[AUDIT_HASH_BYTES]);

/* The signed message of a checkpoint, into 'out' (cap bytes); returns its
 * length, or 0 when 'cap' is too small (AUDIT_CHECKPOINT_MSG_MAX always
 * suffices). */
#define AUDIT_CHECKPOINT_MSG_MAX (8 + 8 + AUDIT_HASH_BYTES + 8 + 4 + 16)
size_t audit_checkpoint_message(const struct secstore_checkpoint *cp,
                                unsigned char *out, size_t cap);

/* ---- verification ------------------------------------------------------- */

/* An externally kept checkpoint (from the server log or a copy kept
 * elsewhere): the log must hold at least 'count' records and its chain hash
 * at 'count' must be 'head'. */
struct audit_expect {
  int64_t count;
  unsigned char head[AUDIT_HASH_BYTES];
};

struct audit_verdict {
  bool ok;
  int64_t records;     /* records read (up to the first break) */
  int64_t checkpoints; /* checkpoints with a valid signature */
  int64_t covered;     /* records covered by the last valid checkpoint */
  int64_t first_bad;   /* first broken position (record seq); 0 when ok */
  char problem[256];   /* what is wrong, "" when ok */
  unsigned char head[AUDIT_HASH_BYTES]; /* chain head when ok */
};

/* Verifies the whole log in 'ss': every record against the chain, every
 * checkpoint's signature against 'trusted' (ntrusted Ed25519 public keys:
 * the key file's, plus retired ones), every valid checkpoint's head against
 * the chain, the record count against the highest checkpoint, and 'expect'
 * (may be NULL). A checkpoint whose signature does not verify is itself a
 * break at its count. Returns 0 when the check ran (the verdict says OK or
 * the first broken position and why), or a negative ERR_* when it could not
 * run (ERR_STORE, ERR_TOOBIG beyond AUDIT_VERIFY_MAX_CHECKPOINTS); *out is
 * untouched then. */
NODISCARD int
audit_verify(struct secstore *ss,
             const unsigned char (*trusted)[PRIVACY_SIGN_PUBLIC_BYTES],
             size_t ntrusted, const struct audit_expect *expect,
             struct audit_verdict *out, struct error *err);

/* ---- queries ------------------------------------------------------------ */

/* Calls fn for every record naming the person with identity code 'id' (len
 * bytes, taken as given: it is pseudonymised with privacy_pseudonym(keys,
 * "person", ...) exactly as the ingest does), in seq order. */
NODISCARD int audit_who_viewed(struct secstore *ss,
                               const struct privacy_keys *keys, const char *id,
                               size_t len, secstore_audit_fn fn, void *ctx,
                               struct error *err);

/* Calls fn for every record of user 'user', in seq order. */
NODISCARD int audit_user_activity(struct secstore *ss, const char *user,
                                  secstore_audit_fn fn, void *ctx,
                                  struct error *err);

/* Appends one human-readable line for 'r' (Europe/Helsinki local time) to
 * 'out', with a newline. 0 or ERR_TOOBIG. */
NODISCARD int audit_row_text(const struct secstore_audit_row *r,
                             struct buf *out);

/* CSV (RFC 4180, CRLF line ends, UTF-8): the header line, and one record.
 * Columns: seq, time_utc, time_local, user, role, action, subject, unit,
 * reason, address, request_id. A field that starts with = + - @ or a tab
 * is prefixed with a single quote so that a spreadsheet does not run it as
 * a formula. 0 or ERR_TOOBIG. */
NODISCARD int audit_csv_header(struct buf *out);
NODISCARD int audit_row_csv(const struct secstore_audit_row *r,
                            struct buf *out);

/* Lowercase hex of 'n' bytes into 'out' (2n + 1 bytes). */
void audit_hex(const unsigned char *b, size_t n, char *out);

#endif
