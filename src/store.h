/* store.h -- the event store: raw messages, canonical events, dead letters
 * and counters, behind an ops table so a PostgreSQL backend can follow
 * without changing callers.
 *
 * Design:
 *  - store_open picks the backend from the location: a path (or
 *    "sqlite:PATH") is SQLite; "postgresql://..." is reserved for libpq.
 *  - Writes happen inside store_begin / store_commit. There is exactly one
 *    writer (the ingest thread); a struct store used for writing is not
 *    shared. Readers open their own struct store (store_open with
 *    STORE_READONLY) and may run concurrently with the writer (WAL).
 *  - store_commit returns only when the transaction is durable (SQLite:
 *    WAL with synchronous=FULL, i.e. fsync).
 *  - Payloads arrive already sealed (privacy_seal): the store never sees a
 *    plain payload and holds no key.
 *  - Schema changes are numbered migrations (sql/sqlite/NNN_*.sql compiled
 *    in); store_open applies the missing ones in one transaction.
 *
 * Invariants:
 *  1. (channel, source_key) is unique among messages;
 *  2. event seq numbers increase strictly in commit order and are never
 *     reused;
 *  3. every event belongs to one message (message_id).
 *
 * Thread safety: one struct store per thread. */
#ifndef TK_STORE_H
#define TK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"
#include "event.h"

#define STORE_READONLY 0x1
#define STORE_CREATE 0x2 /* create the database when missing */
/* Overwrite deleted and replaced content with zeros instead of leaving it
 * in free space (SQLite: PRAGMA secure_delete). For writers that replace
 * payloads (key rotation); ignored for read-only handles. */
#define STORE_SECURE_DELETE 0x4

#define STORE_DIGEST_BYTES 16

struct store;

/* A raw message as received. */
struct store_message {
  const char *channel;    /* org channel id */
  const char *source_key; /* the source's message id (MSH-10) */
  const char *msg_type;   /* e.g. "ADT^A01" (no personal data) */
  int64_t received_at;    /* UTC ms */
  unsigned char digest[STORE_DIGEST_BYTES]; /* content digest for resends */
  const unsigned char *sealed;              /* encrypted payload */
  size_t sealed_len;
  uint32_t flags; /* EVENT_F_* summarised over the message's events */
};

/* A dead letter: input kept with the reason it could not be used. */
struct store_dead_letter {
  const char *channel;    /* "" when the sender is unknown */
  const char *source_key; /* "" when unreadable */
  const char *msg_type;   /* "" when unreadable */
  int64_t received_at;
  const char *ack_code; /* "AR" or "AE" */
  const char *reason;   /* human sentence, no personal data */
  const char *location; /* "PV1-3" style, "" when none */
  const unsigned char *sealed;
  size_t sealed_len;
};

/* A dead letter as read back. Strings are owned by the record. */
struct store_dead_letter_row {
  int64_t id;
  char channel[EVENT_ID_MAX];
  char source_key[EVENT_KEY_MAX];
  char msg_type[32];
  int64_t received_at;
  char ack_code[4];
  char reason[256];
  char location[32];
  int status;            /* 0 open, 1 replayed, 2 discarded */
  unsigned char *sealed; /* mem_free'd by store_dead_letter_row_release */
  size_t sealed_len;
};

/* Counters kept per channel, updated inside write transactions. */
enum store_counter {
  STORE_C_ACCEPTED = 0,  /* stored messages (also counted by rows) */
  STORE_C_DUPLICATES,    /* resends acknowledged and not applied */
  STORE_C_REJECTED,      /* AR */
  STORE_C_ERRORS,        /* AE */
  STORE_C_UNVERIFIED_ID, /* data quality: identity code failed validation */
  STORE_C__COUNT
};

struct store_status {
  int64_t accepted, duplicates, rejected, errors, dead_letters;
  int64_t unverified_id;
  int64_t events_total;
  int64_t by_kind[EV__COUNT];
  int64_t last_seq;
};

/* Opens (and with STORE_CREATE creates and migrates) the store at
 * 'location'. On failure *out is untouched. */
NODISCARD int store_open(const char *location, int flags, struct store **out,
                         struct error *err);
/* Accepts NULL. Rolls back an open transaction. */
void store_close(struct store *st);

/* Group commit with the sync pipelined (the ingest writer): with 'on',
 * store_commit writes the transaction to the log but returns before it is
 * on disk, and store_sync makes everything committed before the call
 * durable (SQLite: fdatasync of the WAL; checkpoints still sync fully).
 * So a writer can commit group N+1 while group N is being synced, and must
 * acknowledge a group only after a store_sync that began after its commit.
 * Writer handles only, outside a transaction. */
NODISCARD int store_set_deferred_sync(struct store *st, bool on,
                                      struct error *err);

/* Makes every transaction committed so far durable. The one call that may
 * run on another thread while the owning thread uses the handle. 0 or
 * ERR_IO. */
NODISCARD int store_sync(struct store *st, struct error *err);

NODISCARD int store_begin(struct store *st, struct error *err);
/* Durable on return 0. */
NODISCARD int store_commit(struct store *st, struct error *err);
void store_rollback(struct store *st);

/* Looks up (channel, source_key). Sets *found, and when found copies the
 * stored digest to digest_out (may be NULL). */
NODISCARD int store_message_lookup(struct store *st, const char *channel,
                                   const char *source_key, bool *found,
                                   unsigned char *digest_out,
                                   struct error *err);

/* Inserts a message; *id_out gets its row id. ERR_EXISTS when (channel,
 * source_key) is already stored (the caller checks first; this is the
 * backstop). */
NODISCARD int store_message_put(struct store *st, const struct store_message *m,
                                int64_t *id_out, struct error *err);

/* Appends an event of message 'message_id'; sets ev->seq. */
NODISCARD int store_event_append(struct store *st, int64_t message_id,
                                 struct event *ev, struct error *err);

NODISCARD int store_dead_letter_put(struct store *st,
                                    const struct store_dead_letter *d,
                                    int64_t *id_out, struct error *err);

/* Adds 'delta' to a channel's counter ("" for unknown senders). */
NODISCARD int store_counter_add(struct store *st, const char *channel,
                                enum store_counter which, int64_t delta,
                                struct error *err);

NODISCARD int store_status_get(struct store *st, struct store_status *out,
                               struct error *err);

/* Calls cb for every event with seq > after_seq in seq order; stops early
 * and returns cb's value when it returns non-zero. */
typedef int (*store_event_cb)(void *ctx, const struct event *ev);
NODISCARD int store_events_scan(struct store *st, int64_t after_seq,
                                store_event_cb cb, void *ctx,
                                struct error *err);

/* Dead letters: list (newest first, at most 'max'), fetch one, and mark one
 * replayed or discarded. */
typedef int (*store_dead_letter_cb)(void *ctx,
                                    const struct store_dead_letter_row *row);
NODISCARD int store_dead_letters_list(struct store *st, int status, size_t max,
                                      store_dead_letter_cb cb, void *ctx,
                                      struct error *err);
NODISCARD int store_dead_letter_get(struct store *st, int64_t id,
                                    struct store_dead_letter_row *out,
                                    struct error *err);
void store_dead_letter_row_release(struct store_dead_letter_row *row);
NODISCARD int store_dead_letter_mark(struct store *st, int64_t id, int status,
                                     struct error *err);

/* ---- sealed payloads, for key rotation ---------------------------------- */

/* The two tables that hold sealed payloads. */
enum store_payload_kind {
  STORE_PAYLOAD_MESSAGE = 0,
  STORE_PAYLOAD_DEAD_LETTER = 1,
};

/* One stored payload as scanned. The payload was sealed with the additional
 * data "<channel>|<source_key>" of this row (ingest.c). */
struct store_payload_row {
  enum store_payload_kind kind;
  int64_t id; /* the message's or dead letter's row id */
  char channel[EVENT_ID_MAX];
  char source_key[EVENT_KEY_MAX];
  const unsigned char *sealed; /* valid only during the callback */
  size_t sealed_len;           /* > 0 */
};

typedef int (*store_payload_cb)(void *ctx, const struct store_payload_row *row);

/* Calls cb for the rows of 'kind' with id > after_id that have a payload
 * (rows without one are skipped), in increasing id order, at most 'max'
 * rows (0: no limit); stops early and returns cb's value when it returns
 * non-zero. Read-only handles may scan; inside a transaction the scan sees
 * that transaction. The callback may not scan again (ERR_STATE) nor write
 * through the same handle: collect, and update after the scan returns.
 * ERR_INVAL for an unknown kind. */
NODISCARD int store_payloads_scan(struct store *st,
                                  enum store_payload_kind kind,
                                  int64_t after_id, size_t max,
                                  store_payload_cb cb, void *ctx,
                                  struct error *err);

/* Replaces the sealed payload of row 'id' of 'kind' (sealed_len bytes, at
 * most the store's payload cap; not empty). Needs a write transaction
 * (ERR_STATE) on a writable handle (ERR_DENIED). ERR_NOTFOUND when there is
 * no such row, ERR_TOOBIG when the payload is too large, ERR_INVAL for an
 * empty payload or an unknown kind. Nothing else of the row changes. */
NODISCARD int store_payload_update(struct store *st,
                                   enum store_payload_kind kind, int64_t id,
                                   const unsigned char *sealed,
                                   size_t sealed_len, struct error *err);

/* Copies every committed transaction from the write-ahead log into the
 * main database file and truncates the log (SQLite:
 * wal_checkpoint(TRUNCATE)), so that content replaced with
 * STORE_SECURE_DELETE no longer lingers in the log either. Outside a
 * transaction, on a writable handle (ERR_STATE, ERR_DENIED). ERR_AGAIN when
 * a reader or another writer kept it from completing; what was copied
 * stays valid. */
NODISCARD int store_checkpoint(struct store *st, struct error *err);

/* Key/value metadata (schema version, data directory settings). */
NODISCARD int store_meta_get(struct store *st, const char *key, char *out,
                             size_t cap, bool *found, struct error *err);
NODISCARD int store_meta_put(struct store *st, const char *key,
                             const char *value, struct error *err);

#endif
