/* store_int.h -- the store's private side: the ops table a backend fills.
 *
 * store.c owns everything that is the same for every backend: parsing the
 * location, argument and state checks (transactions, read-only, re-entrant
 * scans), and the tallies below. A backend (store_sqlite.c, later
 * store_pg.c) owns its connection and SQL and implements struct store_ops.
 *
 * A backend's handle embeds struct store as its FIRST member, so store.c
 * passes 'struct store *' and the backend converts back (SQLite's
 * sqlite3_file pattern); no backend type leaks into store.h.
 *
 * Tallies: exact counts that status reports without counting rows (messages,
 * dead letters, events by kind) plus the callers' counters are accumulated
 * in memory during a write transaction and added to the backend's counters
 * table by ops->counter_add just before COMMIT, in the same transaction. So
 * they are exactly as durable and atomic as the rows they count, and cost
 * one upsert per (channel, name) per transaction instead of one per row.
 *
 * Nothing here is for callers outside src/store*.c, except unit tests. */
#ifndef TK_STORE_INT_H
#define TK_STORE_INT_H

#include "store.h"

#define STORE_MSG_TYPE_MAX 32 /* msg_type incl. NUL (== dead letter row) */
#define STORE_REASON_MAX 256  /* dead letter reason incl. NUL */
#define STORE_LOCATION_MAX 32 /* dead letter location incl. NUL */
#define STORE_ACK_MAX 4       /* "AR", "AE" incl. NUL */
#define STORE_PAYLOAD_MAX (65u << 20) /* sealed payload bytes */
#define STORE_META_KEY_MAX 128        /* incl. NUL */
#define STORE_META_VALUE_MAX 65536
#define STORE_TALLIES_MAX 4096 /* distinct (channel, name) per transaction */

/* Counter names in the counters table. The callers' counters (enum
 * store_counter) and the store's own row tallies. */
#define STORE_TALLY_MESSAGES "messages"
#define STORE_TALLY_DEAD_LETTERS "dead_letters"
#define STORE_TALLY_EVENT_PREFIX "events." /* + event_kind_name() */

struct store_tally {
  const char *name; /* a static string: compared by pointer, then text */
  char channel[EVENT_ID_MAX];
  int64_t delta;
};

struct store_ops;

/* The part of every backend's handle that store.c manages. */
struct store {
  const struct store_ops *ops;
  int flags;    /* STORE_READONLY, STORE_CREATE as opened */
  bool in_tx;   /* between store_begin and store_commit/rollback */
  bool in_scan; /* inside store_events_scan or store_payloads_scan (no
                   nesting) */
  struct store_tally *tallies; /* pending, this transaction */
  size_t ntallies, tally_cap, tally_last;
};

/* Called by store_status_get for each counter name with its sum over all
 * channels. */
typedef int (*store_sum_cb)(void *ctx, const char *name, int64_t sum);

/* Every function gets arguments store.c has already checked: non-NULL
 * pointers, strings within their caps, a write transaction open for
 * writes. Return 0 or an ERR_* code with 'err' filled, like the public
 * functions. */
struct store_ops {
  const char *name;
  void (*close)(struct store *st);
  int (*begin)(struct store *st, struct error *err); /* write or snapshot */
  int (*commit)(struct store *st, struct error *err);
  void (*rollback)(struct store *st);
  int (*message_lookup)(struct store *st, const char *channel,
                        const char *source_key, bool *found,
                        unsigned char *digest_out, struct error *err);
  int (*message_put)(struct store *st, const struct store_message *m,
                     int64_t *id_out, struct error *err);
  int (*event_append)(struct store *st, int64_t message_id, struct event *ev,
                      struct error *err);
  int (*dead_letter_put)(struct store *st, const struct store_dead_letter *d,
                         int64_t *id_out, struct error *err);
  /* Adds 'delta' to counter (channel, name), creating it at 0. */
  int (*counter_add)(struct store *st, const char *channel, const char *name,
                     int64_t delta, struct error *err);
  /* In one consistent snapshot: cb for every counter name with its sum over
   * channels, then *last_seq (0 when no events). */
  int (*counters_read)(struct store *st, store_sum_cb cb, void *ctx,
                       int64_t *last_seq, struct error *err);
  int (*events_scan)(struct store *st, int64_t after_seq, store_event_cb cb,
                     void *ctx, struct error *err);
  /* status < 0: any status. The row passed to cb is valid during the call. */
  int (*dead_letters_list)(struct store *st, int status, size_t max,
                           store_dead_letter_cb cb, void *ctx,
                           struct error *err);
  int (*dead_letter_get)(struct store *st, int64_t id,
                         struct store_dead_letter_row *out, struct error *err);
  int (*dead_letter_mark)(struct store *st, int64_t id, int status,
                          struct error *err);
  /* max 0: no limit. The row passed to cb is valid during the call. */
  int (*payloads_scan)(struct store *st, enum store_payload_kind kind,
                       int64_t after_id, size_t max, store_payload_cb cb,
                       void *ctx, struct error *err);
  int (*payload_update)(struct store *st, enum store_payload_kind kind,
                        int64_t id, const unsigned char *sealed,
                        size_t sealed_len, struct error *err);
  /* Outside a transaction. */
  int (*checkpoint)(struct store *st, struct error *err);
  int (*set_deferred_sync)(struct store *st, bool on, struct error *err);
  int (*sync)(struct store *st, struct error *err);
  int (*meta_get)(struct store *st, const char *key, char *out, size_t cap,
                  bool *found, struct error *err);
  int (*meta_put)(struct store *st, const char *key, const char *value,
                  struct error *err);
};

/* ---- the SQLite backend (store_sqlite.c) -------------------------------- */

/* Opens the SQLite database at 'path' (flags as store_open); on success
 * *out is a handle with ops set and the rest of struct store zeroed. */
NODISCARD int store_sqlite_open(const char *path, int flags, struct store **out,
                                struct error *err);

/* The schema version this build knows and the embedded text of migration
 * 'version' (1-based; NULL when out of range), for the test that keeps
 * sql/sqlite/NNN_*.sql and the embedded copies identical. */
int store_sqlite_schema_version(void);
const char *store_sqlite_migration(int version);
const char *store_sqlite_migration_file(int version); /* "001_init.sql" */

#endif
