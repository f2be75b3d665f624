/* secstore.h -- the security database (DATA_DIR/security.db): accounts,
 * sessions, API tokens, sign-in throttling and the audit chain.
 *
 * A SQLite file of its own, apart from the event store, so that
 * credentials never sit next to clinical events, so that it can be backed
 * up and kept for its own retention period (the audit log outlives the
 * events it describes), and so that a copy of the event store given to an
 * analyst or a developer carries no password hash, session or audit trail
 * (docs/SECURITY.md). The file is created with mode 0600 and refused when
 * group or others may read it.
 *
 * This module is storage only: typed rows in, typed rows out, every
 * statement prepared once and bound (no SQL is ever built from input).
 * What the rows mean -- hashing passwords and tokens, timeouts, backoff,
 * the hash chain -- belongs to auth.c and audit.c.
 *
 * Schema changes are numbered migrations compiled in (byte-identical to
 * sql/security/NNN_*.sql) and applied by secstore_open with
 * SECSTORE_CREATE in one transaction.
 *
 * Invariants:
 *  1. meta.schema_version == the number of migrations applied;
 *  2. audit rows are numbered 1..n without gaps by secstore_audit_insert
 *     callers (audit.c), and the schema refuses UPDATE and DELETE on them;
 *  3. every function leaves no statement half-stepped: each one resets
 *     what it used on every path.
 *
 * Thread safety: a struct secstore is one SQLite connection guarded by a
 * recursive mutex, so any number of threads may share one handle; a
 * transaction (secstore_begin .. commit/rollback) holds the mutex for its
 * whole length, so the calls inside it must come from the thread that
 * began it. Several processes may open the same file (SQLite's locking, WAL,
 * a busy timeout). Callbacks run with the mutex held: they must not call
 * back into the same handle from another thread. */
#ifndef TK_SECSTORE_H
#define TK_SECSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define SECSTORE_FILE "security.db"

/* Open flags. */
#define SECSTORE_CREATE 0x01u   /* create the file and migrate the schema */
#define SECSTORE_READONLY 0x02u /* read only; the schema must be current */

/* Sizes, including the NUL where they are text. */
#define SECSTORE_NAME_MAX 65    /* user names: 1..64 bytes */
#define SECSTORE_ROLE_MAX 32    /* role names */
#define SECSTORE_SCOPE_MAX 2112 /* comma-separated unit ids */
#define SECSTORE_PWHASH_MAX 128 /* == crypto_pwhash_STRBYTES */
#define SECSTORE_HASH_BYTES 32  /* token hashes, audit hashes */
#define SECSTORE_CSRF_MAX 64
#define SECSTORE_ADDRESS_MAX 64
#define SECSTORE_SOURCE_MAX 8 /* "local", "ldap" */
#define SECSTORE_KIND_MAX 16  /* checkpoint kinds */
#define SECSTORE_PUBLIC_KEY_BYTES 32
#define SECSTORE_SIGNATURE_BYTES 64

struct secstore;

/* ---- opening ------------------------------------------------------------ */

/* Opens (SECSTORE_CREATE: creates with mode 0600 and migrates) the security
 * database at 'path'. On success *out owns the connection (secstore_close);
 * on failure *out is untouched and: ERR_NOTFOUND when the file is missing
 * without SECSTORE_CREATE, ERR_DENIED when group or others may access it,
 * ERR_STATE when the schema is older than this program and the open is not
 * SECSTORE_CREATE, ERR_UNSUPPORTED when it is newer, ERR_STORE for a file
 * that is not a Tilannekuva security database or any SQLite failure. */
NODISCARD int secstore_open(const char *path, unsigned flags,
                            struct secstore **out, struct error *err);

/* Closes; accepts NULL. No transaction may be open. */
void secstore_close(struct secstore *s);

/* The number of migrations this build knows; the text and file name of
 * migration 'version' (1-based), or NULL when out of range. */
int secstore_schema_version(void);
const char *secstore_migration(int version);
const char *secstore_migration_file(int version);

/* ---- transactions ------------------------------------------------------- */

/* BEGIN IMMEDIATE: takes the write lock now. Holds the handle's mutex until
 * secstore_commit or secstore_rollback, which must follow on the same
 * thread. Transactions do not nest (ERR_STATE). ERR_STORE on failure (the
 * mutex is then released). */
NODISCARD int secstore_begin(struct secstore *s, struct error *err);
/* COMMIT (durable: synchronous=FULL) and release. On failure the
 * transaction is rolled back, released, and ERR_STORE returned. */
NODISCARD int secstore_commit(struct secstore *s, struct error *err);
/* ROLLBACK and release; a no-op without a transaction. */
void secstore_rollback(struct secstore *s);

/* ---- users -------------------------------------------------------------- */

struct secstore_user {
  int64_t id;
  char name[SECSTORE_NAME_MAX];
  char role[SECSTORE_ROLE_MAX];
  char scope[SECSTORE_SCOPE_MAX];
  char pwhash[SECSTORE_PWHASH_MAX]; /* "" when the user has no password */
  bool disabled;
  int64_t created_ms, updated_ms;
};

/* Adds a user (id ignored; *id, when not NULL, gets the new one).
 * ERR_EXISTS when the name is taken; ERR_TOOBIG when a field does not fit
 * its cap (then nothing is stored). */
NODISCARD int secstore_user_add(struct secstore *s,
                                const struct secstore_user *u, int64_t *id,
                                struct error *err);
/* Reads user 'name' into *out; ERR_NOTFOUND (untouched) when absent. */
NODISCARD int secstore_user_get(struct secstore *s, const char *name,
                                struct secstore_user *out, struct error *err);
/* Sets the disabled flag / password hash ("" removes it) / role and scope.
 * ERR_NOTFOUND when there is no such user. */
NODISCARD int secstore_user_set_disabled(struct secstore *s, const char *name,
                                         bool disabled, int64_t now_ms,
                                         struct error *err);
NODISCARD int secstore_user_set_password(struct secstore *s, const char *name,
                                         const char *pwhash, int64_t now_ms,
                                         struct error *err);
NODISCARD int secstore_user_set_role(struct secstore *s, const char *name,
                                     const char *role, const char *scope,
                                     int64_t now_ms, struct error *err);

/* Calls fn for every user in name order; a non-zero return from fn stops
 * the walk and is returned. */
typedef int (*secstore_user_fn)(void *ctx, const struct secstore_user *u);
NODISCARD int secstore_user_list(struct secstore *s, secstore_user_fn fn,
                                 void *ctx, struct error *err);

/* ---- sessions ----------------------------------------------------------- */

struct secstore_session {
  unsigned char token_hash[SECSTORE_HASH_BYTES];
  char user[SECSTORE_NAME_MAX];
  char source[SECSTORE_SOURCE_MAX]; /* "local" or "ldap" */
  char role[SECSTORE_ROLE_MAX];
  char scope[SECSTORE_SCOPE_MAX];
  char csrf[SECSTORE_CSRF_MAX];
  char address[SECSTORE_ADDRESS_MAX];
  int64_t created_ms, last_seen_ms;
};

/* Adds a session; ERR_EXISTS for a duplicate hash (never in practice). */
NODISCARD int secstore_session_add(struct secstore *s,
                                   const struct secstore_session *se,
                                   struct error *err);
/* Reads the session with 'hash'; ERR_NOTFOUND (untouched) when absent. */
NODISCARD int
secstore_session_get(struct secstore *s,
                     const unsigned char hash[SECSTORE_HASH_BYTES],
                     struct secstore_session *out, struct error *err);
/* Sets last_seen. ERR_NOTFOUND when absent. */
NODISCARD int
secstore_session_touch(struct secstore *s,
                       const unsigned char hash[SECSTORE_HASH_BYTES],
                       int64_t now_ms, struct error *err);
/* Deletes one session (0 also when it was already gone), or every session
 * of 'user' (*n, when not NULL, gets the count). */
NODISCARD int
secstore_session_delete(struct secstore *s,
                        const unsigned char hash[SECSTORE_HASH_BYTES],
                        struct error *err);
NODISCARD int secstore_session_delete_user(struct secstore *s, const char *user,
                                           int64_t *n, struct error *err);
/* Deletes sessions idle since before 'idle_before_ms' or created before
 * 'created_before_ms'; *n (may be NULL) gets the count. */
NODISCARD int secstore_session_purge(struct secstore *s, int64_t idle_before_ms,
                                     int64_t created_before_ms, int64_t *n,
                                     struct error *err);

/* ---- API tokens --------------------------------------------------------- */

struct secstore_token {
  int64_t id;
  unsigned char token_hash[SECSTORE_HASH_BYTES];
  char user[SECSTORE_NAME_MAX];
  int64_t created_ms;
  int64_t expires_ms; /* 0: never */
  int64_t revoked_ms; /* 0: not revoked */
  int64_t last_used_ms;
};

/* Adds a token for an existing user (ERR_NOTFOUND otherwise); *id (may be
 * NULL) gets its id. */
NODISCARD int secstore_token_add(struct secstore *s,
                                 const struct secstore_token *t, int64_t *id,
                                 struct error *err);
/* Reads the token with 'hash'; ERR_NOTFOUND (untouched) when absent. */
NODISCARD int secstore_token_get(struct secstore *s,
                                 const unsigned char hash[SECSTORE_HASH_BYTES],
                                 struct secstore_token *out, struct error *err);
NODISCARD int secstore_token_touch(struct secstore *s, int64_t id,
                                   int64_t now_ms, struct error *err);
/* Revokes token 'id': ERR_NOTFOUND when there is none, ERR_STATE when it
 * was revoked already. */
NODISCARD int secstore_token_revoke(struct secstore *s, int64_t id,
                                    int64_t now_ms, struct error *err);
/* Revokes every live token of 'user'; *n (may be NULL) gets the count. */
NODISCARD int secstore_token_revoke_user(struct secstore *s, const char *user,
                                         int64_t now_ms, int64_t *n,
                                         struct error *err);
/* Calls fn for the tokens of 'user' (NULL: of everyone) in id order. */
typedef int (*secstore_token_fn)(void *ctx, const struct secstore_token *t);
NODISCARD int secstore_token_list(struct secstore *s, const char *user,
                                  secstore_token_fn fn, void *ctx,
                                  struct error *err);

/* ---- sign-in throttling ------------------------------------------------- */

struct secstore_throttle {
  int64_t failures;
  int64_t last_failure_ms;
  int64_t locked_until_ms;
};

/* kind is "user" or "addr"; key at most SECSTORE_ADDRESS_MAX - 1 or
 * SECSTORE_NAME_MAX - 1 bytes (longer keys are ERR_TOOBIG). get:
 * ERR_NOTFOUND (untouched) when there is no row. */
NODISCARD int secstore_throttle_get(struct secstore *s, const char *kind,
                                    const char *key,
                                    struct secstore_throttle *out,
                                    struct error *err);
NODISCARD int secstore_throttle_put(struct secstore *s, const char *kind,
                                    const char *key,
                                    const struct secstore_throttle *t,
                                    struct error *err);
NODISCARD int secstore_throttle_clear(struct secstore *s, const char *kind,
                                      const char *key, struct error *err);
/* Deletes rows whose last failure and lock both lie before 'before_ms'. */
NODISCARD int secstore_throttle_purge(struct secstore *s, int64_t before_ms,
                                      struct error *err);

/* ---- the audit chain ---------------------------------------------------- */

/* One audit row. In callbacks the strings point into the statement's row
 * and live only for the call; for secstore_audit_insert NULL means "". */
struct secstore_audit_row {
  int64_t seq;
  int64_t at_ms;
  const char *user, *role, *action, *subject, *unit, *reason, *address,
      *request_id;
  unsigned char hash[SECSTORE_HASH_BYTES];
};

/* The last row's seq and hash; seq 0 and 32 zero bytes when the log is
 * empty. */
NODISCARD int secstore_audit_last(struct secstore *s, int64_t *seq,
                                  unsigned char hash[SECSTORE_HASH_BYTES],
                                  struct error *err);
/* Inserts a row as given (seq included); ERR_EXISTS when seq is taken. */
NODISCARD int secstore_audit_insert(struct secstore *s,
                                    const struct secstore_audit_row *r,
                                    struct error *err);
/* Calls fn for rows with seq >= from_seq in seq order / with subject
 * 'subject' / with user 'user', in seq order. A non-zero return from fn
 * stops the walk and is returned. */
typedef int (*secstore_audit_fn)(void *ctx, const struct secstore_audit_row *r);
NODISCARD int secstore_audit_scan(struct secstore *s, int64_t from_seq,
                                  secstore_audit_fn fn, void *ctx,
                                  struct error *err);
NODISCARD int secstore_audit_by_subject(struct secstore *s, const char *subject,
                                        secstore_audit_fn fn, void *ctx,
                                        struct error *err);
NODISCARD int secstore_audit_by_user(struct secstore *s, const char *user,
                                     secstore_audit_fn fn, void *ctx,
                                     struct error *err);

struct secstore_checkpoint {
  int64_t id;
  int64_t at_ms;
  int64_t count; /* records covered: seq 1..count */
  unsigned char head[SECSTORE_HASH_BYTES];
  char kind[SECSTORE_KIND_MAX]; /* "periodic", "shutdown", "manual" */
  unsigned char public_key[SECSTORE_PUBLIC_KEY_BYTES];
  unsigned char signature[SECSTORE_SIGNATURE_BYTES];
};

/* Adds a checkpoint (id ignored; *id may be NULL). */
NODISCARD int secstore_checkpoint_add(struct secstore *s,
                                      const struct secstore_checkpoint *cp,
                                      int64_t *id, struct error *err);
/* The checkpoint with the highest count (the latest among equals);
 * ERR_NOTFOUND (untouched) when there is none. */
NODISCARD int secstore_checkpoint_last(struct secstore *s,
                                       struct secstore_checkpoint *out,
                                       struct error *err);
/* Calls fn for every checkpoint in (count, id) order. */
typedef int (*secstore_checkpoint_fn)(void *ctx,
                                      const struct secstore_checkpoint *cp);
NODISCARD int secstore_checkpoint_list(struct secstore *s,
                                       secstore_checkpoint_fn fn, void *ctx,
                                       struct error *err);

#endif
