/* store_sqlite.c -- the SQLite backend of the event store.
 *
 * Design:
 *  - One connection per struct store. The writer opens read-write, sets WAL
 *    and synchronous=FULL (a COMMIT returns after the WAL is fsynced: that
 *    is what makes store_commit durable), foreign keys on, a busy timeout,
 *    and starts write transactions with BEGIN IMMEDIATE so the write lock is
 *    taken up front, never upgraded halfway. Readers open with
 *    SQLITE_OPEN_READONLY and read WAL snapshots without blocking the writer
 *    or being blocked by it. Connections are opened NOMUTEX: a handle
 *    belongs to one thread (store.h).
 *  - Every statement is prepared once, lazily, with SQLITE_PREPARE_PERSISTENT
 *    and cached on the handle; a call binds, steps and resets it (a reset is
 *    what ends a reader's implicit read transaction, so every path resets).
 *    Text is bound SQLITE_STATIC with explicit lengths: no copies.
 *  - Migrations are compiled in (below, as string literals byte-identical to
 *    sql/sqlite/NNN_*.sql; test_store compares them). store_open with
 *    STORE_CREATE applies the missing ones in one BEGIN IMMEDIATE
 *    transaction together with meta.schema_version; any other open requires
 *    the schema to be exactly the version this build knows. The file is
 *    marked with PRAGMA application_id so a foreign database is refused.
 *  - A database created here is made mode 0600 (and so are its WAL and shm
 *    files, which SQLite gives the database's mode). STORE_SECURE_DELETE
 *    turns on PRAGMA secure_delete for a writer that replaces payloads
 *    (key rotation), and store_checkpoint truncates the WAL, so replaced
 *    ciphertexts are not left in free pages or old WAL frames.
 *  - Deferred sync (the ingest writer, store_set_deferred_sync): COMMIT
 *    writes the WAL with synchronous=OFF and store_sync fdatasyncs it. The
 *    WAL is copied into the database by a checkpointer thread with its own
 *    connection (synchronous=FULL: it syncs the WAL before copying and the
 *    database after), started by store_sync when the WAL holds
 *    WAL_CHECKPOINT_PAGES frames; the writer then finishes the last few
 *    frames itself (a checkpoint completes, and the WAL can start over,
 *    only while nobody appends). The copy no longer stops the writer for
 *    10-45 ms three times a second at 30,000 messages/s; the writer's
 *    remainder takes 5-20 ms (two syncs).
 *  - Resend keys (migration 002): (channel, source_key) is unique over
 *    message_keys (the keys of the messages up to meta.message_keys_upto)
 *    plus the messages above that mark, whose keys a writer keeps in a
 *    C hash table (struct keymap; reloaded from messages after a rollback
 *    or when another connection wrote). message_put asks the hash table,
 *    then message_keys, and adds the key to the table; a commit with
 *    KEYS_BATCH recent keys merges them in key order and moves the mark. A
 *    unique index on messages cost a random WAL page per message, and a
 *    temporary table (round 2) a B-tree insert with page splits.
 *
 * Invariants:
 *  1. stmt[i] is NULL or a prepared statement of sql_text[i], reset;
 *  2. meta.schema_version == the number of migrations applied;
 *  3. every message with id <= message_keys_upto has its key in
 *     message_keys; with keys_ready, s->recent holds exactly the keys of
 *     the messages above it, as the open transaction sees them.
 *
 * Thread safety: none; one handle per thread, except store_sync (see
 * store.h), which touches only the WAL descriptor, the atomic frame count
 * and the checkpointer's mutex-guarded fields. Separate handles (in
 * threads or processes) on one file are safe: that is SQLite's locking. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "store_int.h"

#define APPLICATION_ID 0x546b4331 /* "TkC1" */
#define BUSY_TIMEOUT_MS 5000
#define WRITER_CACHE_KIB 32768
/* Checkpoint the WAL into the database every this many pages (~40 MB)
 * rather than SQLite's default 1000: pages written by many commits (index
 * hot spots, table tails) are copied once per checkpoint, which saved about
 * 15% of the bytes written and half the fsyncs at 100k messages/s. */
#define WAL_CHECKPOINT_PAGES 10000
/* The checkpointer's passes before it hands the rest to the writer, and
 * the frames it may leave. */
#define CKPT_PASSES 4
#define CKPT_LEFT_FRAMES 256
/* Recent resend keys merged into message_keys at once (migration 002). */
#define KEYS_BATCH 16384
#define WAL_SIZE_LIMIT (64 << 20) /* bytes the WAL file is cut back to */

/* ---- migrations --------------------------------------------------------- */

static const char migration_001[] =
    "-- 001_init.sql -- the first schema: raw messages, canonical events, "
    "dead\n"
    "-- letters, counters and metadata.\n"
    "--\n"
    "-- Applied by store_sqlite.c, which embeds a byte-identical copy of this "
    "file\n"
    "-- (test_store checks they match). Migrations run in one transaction; "
    "the\n"
    "-- schema version is meta.schema_version. Never edit a released "
    "migration:\n"
    "-- add the next number.\n"
    "\n"
    "-- Key/value metadata: schema_version and settings.\n"
    "CREATE TABLE meta (\n"
    "  key   TEXT NOT NULL PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") STRICT, WITHOUT ROWID;\n"
    "\n"
    "-- Raw messages as received: the payload sealed (privacy_seal), never "
    "plain.\n"
    "-- (channel, source_key) is the idempotency key: a resend is found here.\n"
    "CREATE TABLE messages (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  channel     TEXT    NOT NULL,\n"
    "  source_key  TEXT    NOT NULL,\n"
    "  msg_type    TEXT    NOT NULL,\n"
    "  received_at INTEGER NOT NULL,           -- UTC ms\n"
    "  digest      BLOB    NOT NULL,           -- BLAKE2b-128 of the raw "
    "bytes\n"
    "  flags       INTEGER NOT NULL DEFAULT 0, -- EVENT_F_* over its events\n"
    "  payload     BLOB,                       -- sealed; NULL when empty\n"
    "  UNIQUE (channel, source_key)\n"
    ") STRICT;\n"
    "\n"
    "-- Canonical events, the log every projection is rebuilt from. seq is "
    "the\n"
    "-- rowid: SQLite gives a new row the largest seq + 1, and events are "
    "never\n"
    "-- deleted nor changed (the triggers below refuse it), so a committed seq "
    "is never\n"
    "-- handed out again. This costs nothing per insert, unlike AUTOINCREMENT\n"
    "-- (about 10% of the writer's CPU); a future retention migration that\n"
    "-- deletes old events must keep the newest row or switch to "
    "AUTOINCREMENT.\n"
    "CREATE TABLE events (\n"
    "  seq         INTEGER PRIMARY KEY,\n"
    "  message_id  INTEGER NOT NULL REFERENCES messages (id),\n"
    "  channel     TEXT    NOT NULL,\n"
    "  source_key  TEXT    NOT NULL,\n"
    "  kind        TEXT    NOT NULL,           -- event_kind_name()\n"
    "  occurred_at INTEGER NOT NULL,           -- UTC ms\n"
    "  local_date  INTEGER NOT NULL,           -- Europe/Helsinki day number\n"
    "  unit        TEXT    NOT NULL,           -- canonical org unit id\n"
    "  subject     TEXT    NOT NULL,           -- person pseudonym\n"
    "  episode     TEXT    NOT NULL,           -- episode pseudonym\n"
    "  attrs       TEXT    NOT NULL            -- event_attrs_to_json()\n"
    ") STRICT;\n"
    "-- No secondary indexes on events: every projection is built by scanning\n"
    "-- in seq order (the primary key), and each index costs the writer a "
    "page\n"
    "-- write per commit (docs/PERFORMANCE.md). Add them with the queries "
    "that\n"
    "-- need them.\n"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events\n"
    "BEGIN\n"
    "  SELECT RAISE (ABORT, 'events are append-only');\n"
    "END;\n"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events\n"
    "BEGIN\n"
    "  SELECT RAISE (ABORT, 'events are append-only');\n"
    "END;\n"
    "\n"
    "-- Input that could not be used, with the reason, for repair and replay.\n"
    "-- status: 0 open, 1 replayed, 2 discarded.\n"
    "CREATE TABLE dead_letters (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  channel     TEXT    NOT NULL,\n"
    "  source_key  TEXT    NOT NULL,\n"
    "  msg_type    TEXT    NOT NULL,\n"
    "  received_at INTEGER NOT NULL,\n"
    "  ack_code    TEXT    NOT NULL,\n"
    "  reason      TEXT    NOT NULL,\n"
    "  location    TEXT    NOT NULL,\n"
    "  status      INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),\n"
    "  payload     BLOB                        -- sealed; NULL when empty\n"
    ") STRICT;\n"
    "CREATE INDEX dead_letters_status ON dead_letters (status, id);\n"
    "\n"
    "-- Counters per channel: the callers' (accepted, duplicates, rejected,\n"
    "-- errors, unverified_id) and the store's exact row tallies (messages,\n"
    "-- dead_letters, events.<kind>), all updated inside write transactions.\n"
    "CREATE TABLE counters (\n"
    "  channel TEXT    NOT NULL,\n"
    "  name    TEXT    NOT NULL,\n"
    "  value   INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (channel, name)\n"
    ") STRICT, WITHOUT ROWID;\n";

static const char migration_002[] =
    "-- 002_message_keys.sql -- the resend index moves out of the messages "
    "table.\n"
    "--\n"
    "-- UNIQUE (channel, source_key) on messages cost the writer a random "
    "index\n"
    "-- page per message (one hot spot per sender), about half of its time at\n"
    "-- 30,000 messages/s (docs/PERFORMANCE.md). The same keys now live in\n"
    "-- message_keys, which the store fills in sorted batches (every\n"
    "-- store_sqlite.c KEYS_BATCH messages, in the committing transaction) "
    "from\n"
    "-- the messages above meta.message_keys_upto; a writer keeps the keys of\n"
    "-- those in memory, rebuilt at open. A key is therefore unique in\n"
    "-- message_keys plus the messages above the mark, which "
    "store_message_put\n"
    "-- checks. The table is rebuilt (SQLite cannot drop a constraint); the\n"
    "-- events' references are checked at COMMIT (defer_foreign_keys).\n"
    "PRAGMA defer_foreign_keys = ON;\n"
    "CREATE TABLE messages_copy AS SELECT * FROM messages;\n"
    "DROP TABLE messages;\n"
    "CREATE TABLE messages (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  channel     TEXT    NOT NULL,\n"
    "  source_key  TEXT    NOT NULL,\n"
    "  msg_type    TEXT    NOT NULL,\n"
    "  received_at INTEGER NOT NULL,           -- UTC ms\n"
    "  digest      BLOB    NOT NULL,           -- BLAKE2b-128 of the raw "
    "bytes\n"
    "  flags       INTEGER NOT NULL DEFAULT 0, -- EVENT_F_* over its events\n"
    "  payload     BLOB                        -- sealed; NULL when empty\n"
    ") STRICT;\n"
    "INSERT INTO messages SELECT * FROM messages_copy ORDER BY id;\n"
    "DROP TABLE messages_copy;\n"
    "CREATE TABLE message_keys (\n"
    "  channel    TEXT    NOT NULL,\n"
    "  source_key TEXT    NOT NULL,\n"
    "  message_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY (channel, source_key)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "INSERT INTO message_keys SELECT channel, source_key, id FROM messages\n"
    "  ORDER BY channel, source_key;\n"
    "INSERT INTO meta (key, value)\n"
    "  SELECT 'message_keys_upto', CAST(coalesce(max(id), 0) AS TEXT) FROM "
    "messages;\n";

static const struct {
  const char *file;
  const char *sql;
} migrations[] = {
    {"001_init.sql", migration_001},
    {"002_message_keys.sql", migration_002},
};

int store_sqlite_schema_version(void) { return (int)ARRAY_LEN(migrations); }

const char *store_sqlite_migration(int version) {
  if (version < 1 || version > (int)ARRAY_LEN(migrations))
    return NULL;
  return migrations[version - 1].sql;
}

const char *store_sqlite_migration_file(int version) {
  if (version < 1 || version > (int)ARRAY_LEN(migrations))
    return NULL;
  return migrations[version - 1].file;
}

/* ---- statements --------------------------------------------------------- */

#define DL_COLS                                                                \
  "id, channel, source_key, msg_type, received_at, ack_code, reason, "         \
  "location, status, payload"

#define STMT_TABLE(X)                                                          \
  X(S_BEGIN_WRITE, "BEGIN IMMEDIATE")                                          \
  X(S_BEGIN_READ, "BEGIN")                                                     \
  X(S_COMMIT, "COMMIT")                                                        \
  X(S_ROLLBACK, "ROLLBACK")                                                    \
  X(S_MSG_LOOKUP,                                                              \
    "SELECT m.digest FROM message_keys k JOIN messages m "                     \
    "ON m.id = k.message_id WHERE k.channel = ?1 AND k.source_key = ?2 "       \
    "UNION ALL SELECT digest FROM messages WHERE id > coalesce((SELECT "       \
    "CAST(value AS INTEGER) FROM meta WHERE key = 'message_keys_upto'), 0) "   \
    "AND channel = ?1 AND source_key = ?2 LIMIT 1")                            \
  X(S_KEY_FIND, "SELECT m.digest FROM message_keys k JOIN messages m "         \
                "ON m.id = k.message_id WHERE k.channel = ?1 AND "             \
                "k.source_key = ?2")                                           \
  X(S_KEY_EXISTS,                                                              \
    "SELECT 1 FROM message_keys WHERE channel = ?1 AND source_key = ?2")       \
  X(S_MSG_DIGEST, "SELECT digest FROM messages WHERE id = ?1")                 \
  X(S_RECENT_LOAD,                                                             \
    "SELECT channel, source_key, id FROM messages WHERE id > ?1")              \
  X(S_KEY_PUT, "INSERT INTO message_keys (channel, source_key, message_id) "   \
               "VALUES (?1, ?2, ?3)")                                          \
  X(S_MSG_MAX, "SELECT coalesce(max(id), 0) FROM messages")                    \
  X(S_DATA_VERSION, "PRAGMA data_version")                                     \
  X(S_MSG_PUT, "INSERT INTO messages (channel, source_key, msg_type, "         \
               "received_at, digest, flags, payload) "                         \
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                          \
  X(S_EV_APPEND, "INSERT INTO events (message_id, channel, source_key, kind, " \
                 "occurred_at, local_date, unit, subject, episode, attrs) "    \
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")           \
  X(S_DL_PUT, "INSERT INTO dead_letters (channel, source_key, msg_type, "      \
              "received_at, ack_code, reason, location, payload) "             \
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                       \
  X(S_COUNTER_ADD,                                                             \
    "INSERT INTO counters (channel, name, value) VALUES (?1, ?2, ?3) "         \
    "ON CONFLICT (channel, name) DO UPDATE SET value = value + "               \
    "excluded.value")                                                          \
  X(S_COUNTERS_SUM, "SELECT name, sum(value) FROM counters GROUP BY name")     \
  X(S_LAST_SEQ, "SELECT max(seq) FROM events")                                 \
  X(S_SCAN, "SELECT seq, channel, source_key, kind, occurred_at, local_date, " \
            "unit, subject, episode, attrs FROM events WHERE seq > ?1 "        \
            "ORDER BY seq")                                                    \
  X(S_DL_LIST, "SELECT " DL_COLS " FROM dead_letters WHERE status = ?1 "       \
               "ORDER BY id DESC LIMIT ?2")                                    \
  X(S_DL_LIST_ALL,                                                             \
    "SELECT " DL_COLS " FROM dead_letters ORDER BY id DESC LIMIT ?1")          \
  X(S_DL_GET, "SELECT " DL_COLS " FROM dead_letters WHERE id = ?1")            \
  X(S_DL_MARK, "UPDATE dead_letters SET status = ?2 WHERE id = ?1")            \
  X(S_PAY_SCAN_MSG, "SELECT id, channel, source_key, payload FROM messages "   \
                    "WHERE id > ?1 AND length(payload) > 0 ORDER BY id "       \
                    "LIMIT ?2")                                                \
  X(S_PAY_SCAN_DL, "SELECT id, channel, source_key, payload FROM "             \
                   "dead_letters WHERE id > ?1 AND length(payload) > 0 "       \
                   "ORDER BY id LIMIT ?2")                                     \
  X(S_PAY_UPD_MSG, "UPDATE messages SET payload = ?2 WHERE id = ?1")           \
  X(S_PAY_UPD_DL, "UPDATE dead_letters SET payload = ?2 WHERE id = ?1")        \
  X(S_META_GET, "SELECT value FROM meta WHERE key = ?1")                       \
  X(S_META_PUT, "INSERT INTO meta (key, value) VALUES (?1, ?2) "               \
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")

enum stmt_id {
#define STMT_ENUM(id, sql) id,
  STMT_TABLE(STMT_ENUM)
#undef STMT_ENUM
      S__COUNT
};

static const char *const sql_text[S__COUNT] = {
#define STMT_SQL(id, sql) sql,
    STMT_TABLE(STMT_SQL)
#undef STMT_SQL
};

/* ---- recent resend keys ------------------------------------------------- */

/* The writer's keys above the merge mark: an open-addressing hash table
 * (linear probing, at most half full) of (channel, source_key) -> message
 * id, the strings packed in one growable block. Cleared and refilled from
 * the messages table whenever the transaction's view is in doubt (a
 * rollback, another connection's write), so it needs no undo of its own. */
struct keyent {
  uint64_t hash; /* 0: empty slot */
  int64_t id;
  uint32_t off; /* channel at text + off, source key right after */
  uint16_t chlen, keylen;
};

struct keymap {
  struct keyent *slot;
  size_t cap, n; /* cap a power of two or 0 */
  char *text;
  size_t text_len, text_cap;
};

static uint64_t key_hash(const char *ch, size_t chlen, const char *key,
                         size_t keylen) {
  uint64_t h = 14695981039346656037ULL; /* FNV-1a, then a final mix */
  for (size_t i = 0; i < chlen; i++)
    h = (h ^ (unsigned char)ch[i]) * 1099511628211ULL;
  h = (h ^ 0xffu) * 1099511628211ULL;
  for (size_t i = 0; i < keylen; i++)
    h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h != 0 ? h : 1;
}

static bool keyent_is(const struct keymap *km, const struct keyent *e,
                      uint64_t h, const char *ch, size_t chlen, const char *key,
                      size_t keylen) {
  return e->hash == h && e->chlen == chlen && e->keylen == keylen &&
         memcmp(km->text + e->off, ch, chlen) == 0 &&
         memcmp(km->text + e->off + chlen, key, keylen) == 0;
}

static void keymap_clear(struct keymap *km) {
  if (km->slot != NULL)
    memset(km->slot, 0, km->cap * sizeof *km->slot);
  km->n = 0;
  km->text_len = 0;
}

static void keymap_release(struct keymap *km) {
  mem_free(km->slot);
  mem_free(km->text);
  memset(km, 0, sizeof *km);
}

/* The id of a key, or 0 when absent. */
static int64_t keymap_find(const struct keymap *km, const char *ch,
                           size_t chlen, const char *key, size_t keylen) {
  if (km->n == 0)
    return 0;
  uint64_t h = key_hash(ch, chlen, key, keylen);
  for (size_t i = h & (km->cap - 1);; i = (i + 1) & (km->cap - 1)) {
    const struct keyent *e = &km->slot[i];
    if (e->hash == 0)
      return 0;
    if (keyent_is(km, e, h, ch, chlen, key, keylen))
      return e->id;
  }
}

static void keymap_place(struct keyent *slot, size_t cap,
                         const struct keyent *e) {
  size_t i = e->hash & (cap - 1);
  while (slot[i].hash != 0)
    i = (i + 1) & (cap - 1);
  slot[i] = *e;
}

/* Adds a key not in the map (the caller asked keymap_find). Lengths are
 * within EVENT_ID_MAX and EVENT_KEY_MAX. */
static void keymap_put(struct keymap *km, const char *ch, size_t chlen,
                       const char *key, size_t keylen, int64_t id) {
  struct keyent e;
  if (2 * (km->n + 1) > km->cap) {
    size_t cap = km->cap ? 2 * km->cap : 1024;
    struct keyent *slot = mem_calloc(cap, sizeof *slot);
    for (size_t i = 0; i < km->cap; i++)
      if (km->slot[i].hash != 0)
        keymap_place(slot, cap, &km->slot[i]);
    mem_free(km->slot);
    km->slot = slot;
    km->cap = cap;
  }
  if (km->text_len + chlen + keylen > km->text_cap) {
    size_t cap = km->text_cap ? 2 * km->text_cap : 65536;
    while (cap < km->text_len + chlen + keylen)
      cap *= 2;
    km->text = mem_realloc(km->text, cap);
    km->text_cap = cap;
  }
  e.hash = key_hash(ch, chlen, key, keylen);
  e.id = id;
  e.off = (uint32_t)km->text_len;
  e.chlen = (uint16_t)chlen;
  e.keylen = (uint16_t)keylen;
  memcpy(km->text + km->text_len, ch, chlen);
  memcpy(km->text + km->text_len + chlen, key, keylen);
  km->text_len += chlen + keylen;
  keymap_place(km->slot, km->cap, &e);
  km->n++;
}

/* A key in merge order: message_keys' primary key (BINARY collation:
 * bytes, then length). */
struct keysort {
  const char *ch, *key;
  size_t chlen, keylen;
  int64_t id;
};

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c != 0 || alen == blen)
    return c;
  return alen < blen ? -1 : 1;
}

static int keysort_cmp(const void *pa, const void *pb) {
  const struct keysort *a = pa, *b = pb;
  int c = bytes_cmp(a->ch, a->chlen, b->ch, b->chlen);
  return c != 0 ? c : bytes_cmp(a->key, a->keylen, b->key, b->keylen);
}

struct sqlite_store {
  struct store base; /* first: store.c passes &base */
  sqlite3 *db;
  sqlite3_stmt *stmt[S__COUNT];
  struct buf attrs; /* reused for each event's attrs JSON */
  /* Deferred sync (store_set_deferred_sync): COMMIT writes the WAL without
   * fsync, store_sync fdatasyncs it, and checkpoints run with
   * synchronous=FULL every WAL_CHECKPOINT_PAGES frames. */
  bool deferred;
  int wal_fd; /* the -wal file, for store_sync; -1 when not deferred */
  atomic_int
      wal_frames; /* frames in the WAL after the last commit (wal_hook) */
  /* The checkpointer (deferred mode): a thread with its own connection
   * (synchronous=FULL) that copies the WAL into the database when
   * store_sync finds it over WAL_CHECKPOINT_PAGES frames, so neither the
   * writer nor the syncs wait for the copy. */
  sqlite3 *ckpt_db;
  bool ckpt_running; /* the thread exists */
  pthread_t ckpt_thread;
  pthread_mutex_t ckpt_lock;
  pthread_cond_t ckpt_cond;
  bool ckpt_wanted, ckpt_busy, ckpt_stop;
  atomic_bool ckpt_done; /* a pass finished: the writer completes it */
  int ckpt_rc;           /* SQLite code of a failed checkpoint, else 0 */
  char ckpt_msg[160];    /* its message */
  /* The resend keys of a writer (migration 002): message_keys holds those
   * of the messages up to keys_upto; recent those above, loaded at the
   * first write transaction, after a rollback and whenever another
   * connection wrote (data_version), and merged
   * into message_keys every KEYS_BATCH messages. */
  bool keys_ready;
  int64_t keys_upto;
  struct keymap recent; /* the keys above keys_upto */
  int64_t data_version; /* PRAGMA data_version when the keys were loaded */
};

static struct sqlite_store *sq(struct store *st) {
  return (struct sqlite_store *)st;
}

static int map_rc(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ERR_AGAIN;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return ERR_DENIED;
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_CANTOPEN:
  case SQLITE_PROTOCOL:
    return ERR_IO;
  case SQLITE_NOMEM:
    return ERR_NOMEM;
  case SQLITE_TOOBIG:
    return ERR_TOOBIG;
  default:
    return ERR_STORE;
  }
}

/* Fills 'err' from the connection's last error; returns the ERR_* code. */
static int db_error(sqlite3 *db, int rc, const char *what, struct error *err) {
  return error_set(err, map_rc(rc), "cannot %s: %s", what,
                   db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* SQLite rolls a whole transaction back by itself after some errors (disk
 * full, I/O error). Writing on would then autocommit row by row, so every
 * write first checks that the transaction store.c opened still exists. */
static int tx_alive(struct sqlite_store *s, struct error *err) {
  if (sqlite3_get_autocommit(s->db))
    return error_set(err, ERR_STATE,
                     "transaction was rolled back after an earlier error");
  return 0;
}

/* The cached statement 'id', prepared on first use. */
static int get_stmt(struct sqlite_store *s, enum stmt_id id, sqlite3_stmt **out,
                    struct error *err) {
  if (s->stmt[id] == NULL) {
    int rc = sqlite3_prepare_v3(s->db, sql_text[id], -1,
                                SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (rc != SQLITE_OK) {
      s->stmt[id] = NULL;
      return db_error(s->db, rc, "prepare statement", err);
    }
  }
  *out = s->stmt[id];
  return 0;
}

/* Runs a statement that returns no rows. */
static int exec_stmt(struct sqlite_store *s, enum stmt_id id, const char *what,
                     struct error *err) {
  sqlite3_stmt *stmt = NULL;
  int rc = get_stmt(s, id, &stmt, err);
  if (rc < 0)
    return rc;
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE)
    rc = db_error(s->db, rc, what, err);
  else
    rc = 0;
  sqlite3_reset(stmt);
  return rc;
}

static int bind_text(sqlite3_stmt *stmt, int i, const char *s, size_t cap) {
  return sqlite3_bind_text(stmt, i, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *stmt, int i, const void *p, size_t len) {
  if (len == 0)
    return sqlite3_bind_null(stmt, i);
  return sqlite3_bind_blob64(stmt, i, p, (sqlite3_uint64)len, SQLITE_STATIC);
}

/* Copies text column 'col' into 'dst' (cap bytes), truncating. */
static void column_str(sqlite3_stmt *stmt, int col, char *dst, size_t cap) {
  const unsigned char *t = sqlite3_column_text(stmt, col);
  size_t n = (size_t)sqlite3_column_bytes(stmt, col);
  (void)event_set_str(dst, cap, t != NULL ? (const char *)t : "",
                      t != NULL ? n : 0);
}

/* ---- open, migrate, close ----------------------------------------------- */

static void ckpt_stop(struct sqlite_store *s);

static void sqlite_close(struct store *st) {
  struct sqlite_store *s = sq(st);
  size_t i;
  ckpt_stop(s);
  if (s->wal_fd >= 0)
    close(s->wal_fd);
  for (i = 0; i < S__COUNT; i++)
    sqlite3_finalize(s->stmt[i]);
  sqlite3_close(s->db);
  buf_release(&s->attrs);
  keymap_release(&s->recent);
  mem_free(s);
}

/* Runs one-row, one-column integer SQL (a PRAGMA, a count). */
static int query_int(sqlite3 *db, const char *sql, int64_t *out,
                     struct error *err) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(stmt, 0);
    rc = 0;
  } else {
    rc =
        db_error(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "read schema", err);
  }
  sqlite3_finalize(stmt);
  return rc;
}

/* The schema version of an open database: 0 when empty. */
static int schema_version(sqlite3 *db, const char *path, int64_t *out,
                          struct error *err) {
  int64_t objects = 0, app = 0;
  sqlite3_stmt *stmt = NULL;
  int rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects, err);
  if (rc == 0 && objects == 0) {
    *out = 0;
    return 0;
  }
  if (rc == 0)
    rc = query_int(db, "PRAGMA application_id", &app, err);
  if (rc < 0)
    return rc;
  if (app != APPLICATION_ID)
    return error_set(err, ERR_STORE,
                     "cannot open store '%s': not a tilannekuva database",
                     path);
  rc = sqlite3_prepare_v2(db,
                          "SELECT value FROM meta WHERE key = 'schema_version'",
                          -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(stmt, 0);
    char *end = NULL;
    long long n;
    errno = 0;
    n = v != NULL ? strtoll(v, &end, 10) : -1;
    if (v == NULL || end == v || *end != '\0' || errno != 0 || n < 1)
      rc = error_set(err, ERR_STORE,
                     "cannot open store '%s': bad schema version", path);
    else {
      *out = n;
      rc = 0;
    }
  } else {
    rc = error_set(err, ERR_STORE,
                   "cannot open store '%s': no schema version: %s", path,
                   sqlite3_errmsg(db));
  }
  sqlite3_finalize(stmt);
  return rc;
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what,
                    struct error *err) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return db_error(db, rc, what, err);
  return 0;
}

/* Checks the schema and, when allowed, migrates it, in one transaction. */
static int migrate(struct sqlite_store *s, const char *path, int flags,
                   struct error *err) {
  const int known = store_sqlite_schema_version();
  bool writer = !(flags & STORE_READONLY);
  int64_t version = 0;
  int rc, v;
  char sql[160];

  rc = exec_sql(s->db, writer ? "BEGIN IMMEDIATE" : "BEGIN", "begin", err);
  if (rc < 0)
    return rc;
  rc = schema_version(s->db, path, &version, err);
  if (rc < 0)
    goto out;
  if (version > known) {
    rc = error_set(err, ERR_UNSUPPORTED,
                   "cannot open store '%s': schema version %lld is newer "
                   "than this program's %d",
                   path, (long long)version, known);
    goto out;
  }
  if (version == known)
    goto out;
  if (!(flags & STORE_CREATE)) {
    rc = error_set(err, ERR_STATE,
                   version == 0 ? "cannot open store '%s': not initialised"
                                : "cannot open store '%s': schema needs "
                                  "migration (open it for writing with "
                                  "create)",
                   path);
    goto out;
  }
  for (v = (int)version + 1; v <= known && rc == 0; v++)
    rc = exec_sql(s->db, migrations[v - 1].sql, "migrate schema", err);
  if (rc < 0)
    goto out;
  snprintf(sql, sizeof sql,
           "INSERT INTO meta (key, value) VALUES ('schema_version', '%d') "
           "ON CONFLICT (key) DO UPDATE SET value = excluded.value; "
           "PRAGMA application_id = %d",
           known, APPLICATION_ID);
  rc = exec_sql(s->db, sql, "record schema version", err);
out:
  if (rc == 0)
    rc = exec_sql(s->db, "COMMIT", "commit migration", err);
  if (rc < 0)
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static const struct store_ops sqlite_ops;

int store_sqlite_open(const char *path, int flags, struct store **out,
                      struct error *err) {
  struct sqlite_store *s = NULL;
  bool writer = !(flags & STORE_READONLY);
  int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc;

  if (!(flags & STORE_CREATE) && access(path, F_OK) != 0 && errno == ENOENT)
    return error_set(err, ERR_NOTFOUND, "cannot open store '%s': no such file",
                     path);
  oflags |= writer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (flags & STORE_CREATE) {
    /* Create the file ourselves, mode 0600 whatever the umask: SQLite
     * would use 0644, and gives the WAL and shm files the database's own
     * mode. The event store holds sealed payloads and pseudonyms only, but
     * nobody else has any business reading them. */
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      (void)fchmod(fd, 0600);
      close(fd);
    }
    oflags |= SQLITE_OPEN_CREATE;
  }
  s = mem_calloc(1, sizeof *s);
  s->wal_fd = -1;
  s->base.ops = &sqlite_ops;
  s->base.flags = flags;
  buf_init(&s->attrs, EVENT_ATTRS_JSON_MAX);
  rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
  if (rc != SQLITE_OK) {
    rc = error_set(err, map_rc(rc), "cannot open store '%s': %s", path,
                   s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    goto out;
  }
  sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
  if (writer) {
    int64_t ignored = 0;
    char sql[160];
    /* journal_mode answers with the mode now in force */
    sqlite3_stmt *stmt = NULL;
    rc =
        sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      rc = db_error(s->db, rc, "set journal mode", err);
      sqlite3_finalize(stmt);
      goto out;
    }
    if (sqlite3_stricmp((const char *)sqlite3_column_text(stmt, 0), "wal") !=
        0) {
      rc = error_set(err, ERR_STORE,
                     "cannot open store '%s': WAL journal not available", path);
      sqlite3_finalize(stmt);
      goto out;
    }
    sqlite3_finalize(stmt);
    snprintf(sql, sizeof sql,
             "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d; "
             "PRAGMA journal_size_limit = %d",
             WRITER_CACHE_KIB, WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT);
    rc = exec_sql(s->db,
                  "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                  "PRAGMA temp_store = MEMORY",
                  "configure store", err);
    if (rc == 0)
      rc = exec_sql(s->db, sql, "configure store", err);
    if (rc == 0 && (flags & STORE_SECURE_DELETE))
      rc = exec_sql(s->db, "PRAGMA secure_delete = ON", "configure store", err);
    if (rc == 0)
      rc = query_int(s->db, "PRAGMA synchronous", &ignored, err);
    if (rc == 0 && ignored != 2)
      rc = error_set(err, ERR_STORE,
                     "cannot open store '%s': synchronous=FULL refused", path);
    if (rc < 0)
      goto out;
  }
  rc = migrate(s, path, flags, err);
out:
  if (rc < 0) {
    sqlite_close(&s->base);
    return rc;
  }
  *out = &s->base;
  return 0;
}

/* ---- resend keys -------------------------------------------------------- */

static int sqlite_meta_get(struct store *st, const char *key, char *out,
                           size_t cap, bool *found, struct error *err);
static int sqlite_meta_put(struct store *st, const char *key, const char *value,
                           struct error *err);

/* The integer of one-row statement 'id'. */
static int stmt_int(struct sqlite_store *s, enum stmt_id id, int64_t *out,
                    const char *what, struct error *err) {
  sqlite3_stmt *stmt = NULL;
  int rc = get_stmt(s, id, &stmt, err);
  if (rc < 0)
    return rc;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(stmt, 0);
    rc = 0;
  } else {
    rc = db_error(s->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what, err);
  }
  sqlite3_reset(stmt);
  return rc;
}

/* Loads the keys of the messages above the merge mark into s->recent (a
 * writer, inside its write transaction). */
static int keys_load(struct sqlite_store *s, struct error *err) {
  char v[32];
  bool found = false;
  sqlite3_stmt *stmt = NULL;
  int rc;
  s->keys_ready = false;
  keymap_clear(&s->recent);
  rc = sqlite_meta_get(&s->base, "message_keys_upto", v, sizeof v, &found, err);
  if (rc < 0)
    return rc;
  s->keys_upto = found ? strtoll(v, NULL, 10) : 0;
  rc = get_stmt(s, S_RECENT_LOAD, &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, s->keys_upto);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *ch = (const char *)sqlite3_column_text(stmt, 0);
    size_t chlen = (size_t)sqlite3_column_bytes(stmt, 0);
    const char *key = (const char *)sqlite3_column_text(stmt, 1);
    size_t keylen = (size_t)sqlite3_column_bytes(stmt, 1);
    if (ch == NULL || key == NULL || chlen >= EVENT_ID_MAX ||
        keylen >= EVENT_KEY_MAX) {
      rc = SQLITE_CORRUPT;
      break;
    }
    /* Unique by invariant 3; a copy would only be found twice. */
    if (keymap_find(&s->recent, ch, chlen, key, keylen) == 0)
      keymap_put(&s->recent, ch, chlen, key, keylen,
                 sqlite3_column_int64(stmt, 2));
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE)
    return db_error(s->db, rc, "load message keys", err);
  rc = stmt_int(s, S_DATA_VERSION, &s->data_version, "read data version", err);
  if (rc == 0)
    s->keys_ready = true;
  return rc;
}

/* Makes s->recent current: loaded once, and again after another
 * connection wrote. */
static int keys_ensure(struct sqlite_store *s, struct error *err) {
  if (s->keys_ready) {
    int64_t dv = 0;
    int rc = stmt_int(s, S_DATA_VERSION, &dv, "read data version", err);
    if (rc < 0)
      return rc;
    if (dv == s->data_version)
      return 0;
  }
  return keys_load(s, err);
}

/* Moves the recent keys into message_keys, in key order, and the mark up
 * (inside the committing transaction); *upto gets the new mark. s->recent
 * is emptied by the caller once the commit succeeded. */
static int keys_merge(struct sqlite_store *s, int64_t *upto,
                      struct error *err) {
  char v[32];
  struct keymap *km = &s->recent;
  struct keysort *ks = mem_alloc((km->n ? km->n : 1) * sizeof *ks);
  sqlite3_stmt *stmt = NULL;
  size_t n = 0;
  int rc;
  for (size_t i = 0; i < km->cap; i++) {
    const struct keyent *e = &km->slot[i];
    if (e->hash == 0)
      continue;
    ks[n].ch = km->text + e->off;
    ks[n].chlen = e->chlen;
    ks[n].key = km->text + e->off + e->chlen;
    ks[n].keylen = e->keylen;
    ks[n].id = e->id;
    n++;
  }
  qsort(ks, n, sizeof *ks, keysort_cmp);
  rc = get_stmt(s, S_KEY_PUT, &stmt, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    sqlite3_bind_text(stmt, 1, ks[i].ch, (int)ks[i].chlen, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ks[i].key, (int)ks[i].keylen, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, ks[i].id);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    rc = rc == SQLITE_DONE ? 0 : db_error(s->db, rc, "merge message keys", err);
  }
  mem_free(ks);
  if (rc == 0)
    rc = stmt_int(s, S_MSG_MAX, upto, "merge message keys", err);
  if (rc == 0) {
    snprintf(v, sizeof v, "%lld", (long long)*upto);
    rc = sqlite_meta_put(&s->base, "message_keys_upto", v, err);
  }
  return rc;
}

/* ---- transactions ------------------------------------------------------- */

static int sqlite_begin(struct store *st, struct error *err) {
  struct sqlite_store *s = sq(st);
  bool writer = !(st->flags & STORE_READONLY);
  int rc = exec_stmt(s, writer ? S_BEGIN_WRITE : S_BEGIN_READ, "begin", err);
  if (rc == 0 && writer) {
    rc = keys_ensure(s, err);
    if (rc < 0)
      (void)exec_stmt(s, S_ROLLBACK, "roll back", NULL);
  }
  return rc;
}

static int sqlite_commit(struct store *st, struct error *err) {
  struct sqlite_store *s = sq(st);
  int64_t upto = 0;
  bool merged = false;
  int rc = tx_alive(s, err);
  if (rc < 0)
    return rc;
  if (s->keys_ready && s->recent.n >= KEYS_BATCH) {
    rc = keys_merge(s, &upto, err);
    if (rc < 0) {
      s->keys_ready = false;
      return rc;
    }
    merged = true;
  }
  rc = exec_stmt(s, S_COMMIT, "commit", err);
  if (rc < 0)
    s->keys_ready = false; /* the transaction's fate is unknown: reload */
  else if (merged) {
    s->keys_upto = upto;
    keymap_clear(&s->recent);
  }
  if (rc == 0 && s->deferred &&
      atomic_load(&s->wal_frames) >= WAL_CHECKPOINT_PAGES &&
      (!s->ckpt_running || atomic_load(&s->ckpt_done) ||
       atomic_load(&s->wal_frames) >= 4 * WAL_CHECKPOINT_PAGES)) {
    /* A checkpoint copies WAL frames into the database file and lets the
     * WAL start over: it must sync both, so it runs with FULL. */
    rc = exec_sql(s->db,
                  "PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(PASSIVE); "
                  "PRAGMA synchronous = OFF",
                  "checkpoint", err);
    if (rc == 0) {
      atomic_store(&s->wal_frames, 0);
      atomic_store(&s->ckpt_done, false);
    }
  }
  return rc;
}

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames) {
  (void)db;
  (void)name;
  atomic_store(&((struct sqlite_store *)ctx)->wal_frames, frames);
  return SQLITE_OK;
}

static void *ckpt_main(void *arg) {
  struct sqlite_store *s = arg;
  pthread_mutex_lock(&s->ckpt_lock);
  for (;;) {
    int rc;
    while (!s->ckpt_wanted && !s->ckpt_stop)
      pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
    if (s->ckpt_stop)
      break;
    s->ckpt_wanted = false;
    s->ckpt_busy = true;
    pthread_mutex_unlock(&s->ckpt_lock);
    /* PASSIVE: copies what no reader still needs, never blocks the
     * writer; with synchronous=FULL it syncs the WAL before copying and
     * the database after, so the WAL may start over only then. */
    /* Passes until little is left for the writer to finish (the writer
     * keeps appending meanwhile). */
    for (int pass = 0; pass < CKPT_PASSES; pass++) {
      int nlog = 0, nckpt = 0;
      rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL,
                                     SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
      if (rc != SQLITE_OK || nlog - nckpt < CKPT_LEFT_FRAMES)
        break;
    }
    pthread_mutex_lock(&s->ckpt_lock);
    s->ckpt_busy = false;
    atomic_store(&s->ckpt_done, true);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && s->ckpt_rc == 0) {
      s->ckpt_rc = rc;
      snprintf(s->ckpt_msg, sizeof s->ckpt_msg, "%s",
               sqlite3_errmsg(s->ckpt_db));
    }
  }
  pthread_mutex_unlock(&s->ckpt_lock);
  return NULL;
}

/* Opens the checkpointer's connection and starts its thread. */
static int ckpt_start(struct sqlite_store *s, const char *path,
                      struct error *err) {
  int rc;
  if (s->ckpt_running)
    return 0;
  rc = sqlite3_open_v2(path, &s->ckpt_db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                           SQLITE_OPEN_EXRESCODE,
                       NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(s->ckpt_db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(
        s->ckpt_db, "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0",
        NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    rc = db_error(s->ckpt_db, rc, "open the checkpointer", err);
    sqlite3_close(s->ckpt_db);
    s->ckpt_db = NULL;
    return rc;
  }
  pthread_mutex_init(&s->ckpt_lock, NULL);
  pthread_cond_init(&s->ckpt_cond, NULL);
  s->ckpt_wanted = s->ckpt_busy = s->ckpt_stop = false;
  atomic_store(&s->ckpt_done, false);
  s->ckpt_rc = 0;
  if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    sqlite3_close(s->ckpt_db);
    s->ckpt_db = NULL;
    return error_set(err, ERR_IO, "cannot start the checkpointer thread");
  }
  s->ckpt_running = true;
  return 0;
}

static void ckpt_stop(struct sqlite_store *s) {
  if (!s->ckpt_running)
    return;
  pthread_mutex_lock(&s->ckpt_lock);
  s->ckpt_stop = true;
  pthread_cond_signal(&s->ckpt_cond);
  pthread_mutex_unlock(&s->ckpt_lock);
  pthread_join(s->ckpt_thread, NULL);
  pthread_mutex_destroy(&s->ckpt_lock);
  pthread_cond_destroy(&s->ckpt_cond);
  sqlite3_close(s->ckpt_db);
  s->ckpt_db = NULL;
  s->ckpt_running = false;
}

static int sqlite_set_deferred_sync(struct store *st, bool on,
                                    struct error *err) {
  struct sqlite_store *s = sq(st);
  const char *db = sqlite3_db_filename(s->db, "main");
  char path[4096];
  int rc;
  if (!on) {
    ckpt_stop(s);
    rc = exec_sql(s->db, "PRAGMA synchronous = FULL", "configure store", err);
    if (rc == 0) {
      s->deferred = false;
      sqlite3_wal_autocheckpoint(s->db, WAL_CHECKPOINT_PAGES);
    }
    return rc;
  }
  if (s->wal_fd < 0) {
    if (db == NULL ||
        snprintf(path, sizeof path, "%s-wal", db) >= (int)sizeof path)
      return error_set(err, ERR_STORE, "cannot find the store's WAL file");
    /* SQLite creates the WAL on first use; creating it empty first is
     * equivalent (an empty WAL is a valid, empty log). */
    s->wal_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->wal_fd < 0)
      return error_set(err, ERR_IO, "cannot open '%s': %s", path,
                       strerror(errno));
  }
  rc = ckpt_start(s, db, err);
  if (rc == 0)
    rc = exec_sql(s->db, "PRAGMA synchronous = OFF", "configure store", err);
  if (rc < 0) {
    ckpt_stop(s);
    return rc;
  }
  /* Only checkpoints run by sqlite_commit, with FULL. */
  sqlite3_wal_hook(s->db, wal_hook, s);
  s->deferred = true;
  return 0;
}

static int sqlite_sync(struct store *st, struct error *err) {
  struct sqlite_store *s = sq(st);
  if (s->wal_fd < 0)
    return 0; /* not deferred: every commit was synced */
  if (fdatasync(s->wal_fd) != 0)
    return error_set(err, ERR_IO, "cannot sync the WAL: %s", strerror(errno));
  if (s->ckpt_running) {
    int rc = 0;
    pthread_mutex_lock(&s->ckpt_lock);
    if (s->ckpt_rc != 0)
      rc = error_set(err, map_rc(s->ckpt_rc), "cannot checkpoint the WAL: %s",
                     s->ckpt_msg);
    else if (!s->ckpt_busy && !atomic_load(&s->ckpt_done) &&
             atomic_load(&s->wal_frames) >= WAL_CHECKPOINT_PAGES) {
      s->ckpt_wanted = true;
      pthread_cond_signal(&s->ckpt_cond);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return rc;
  }
  return 0;
}

static void sqlite_rollback(struct store *st) {
  struct sqlite_store *s = sq(st);
  s->keys_ready = false; /* its recent keys are gone too: reload */
  /* Fails harmlessly when SQLite already rolled back (after an I/O error). */
  if (sqlite3_get_autocommit(s->db) == 0)
    (void)exec_stmt(s, S_ROLLBACK, "roll back", NULL);
}

/* ---- messages and events ------------------------------------------------ */

static int sqlite_message_lookup(struct store *st, const char *channel,
                                 const char *source_key, bool *found,
                                 unsigned char *digest_out, struct error *err) {
  struct sqlite_store *s = sq(st);
  /* A writer in its transaction asks its recent keys (then the digest by
   * id), else message_keys; any other handle asks both at once, in one
   * statement (one snapshot, so a merge committed meanwhile cannot hide
   * the key). */
  bool writer = !(st->flags & STORE_READONLY) && st->in_tx && s->keys_ready;
  int64_t id = 0;
  int rc = 0;
  if (writer)
    id = keymap_find(&s->recent, channel, strnlen(channel, EVENT_ID_MAX),
                     source_key, strnlen(source_key, EVENT_KEY_MAX));
  *found = false;
  {
    sqlite3_stmt *stmt = NULL;
    rc = get_stmt(s,
                  id != 0  ? S_MSG_DIGEST
                  : writer ? S_KEY_FIND
                           : S_MSG_LOOKUP,
                  &stmt, err);
    if (rc < 0)
      return rc;
    if (id != 0) {
      sqlite3_bind_int64(stmt, 1, id);
    } else {
      bind_text(stmt, 1, channel, EVENT_ID_MAX);
      bind_text(stmt, 2, source_key, EVENT_KEY_MAX);
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      if (digest_out != NULL) {
        const void *d = sqlite3_column_blob(stmt, 0);
        int len = sqlite3_column_bytes(stmt, 0);
        memset(digest_out, 0, STORE_DIGEST_BYTES);
        if (d != NULL)
          memcpy(digest_out, d,
                 len < STORE_DIGEST_BYTES ? (size_t)len : STORE_DIGEST_BYTES);
      }
      *found = true;
      rc = 0;
    } else if (rc == SQLITE_DONE) {
      rc = 0;
    } else {
      rc = db_error(s->db, rc, "look up message", err);
    }
    sqlite3_reset(stmt);
  }
  return rc;
}

static int sqlite_message_put(struct store *st, const struct store_message *m,
                              int64_t *id_out, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int64_t id;
  int rc = tx_alive(s, err);
  size_t chlen = strnlen(m->channel, EVENT_ID_MAX);
  size_t keylen = strnlen(m->source_key, EVENT_KEY_MAX);
  /* The key must be in neither the recent keys nor message_keys. */
  if (rc == 0 && !s->keys_ready)
    rc = keys_load(s, err);
  if (rc < 0)
    return rc;
  if (keymap_find(&s->recent, m->channel, chlen, m->source_key, keylen) != 0)
    return error_set(err, ERR_EXISTS,
                     "message '%s' of channel '%s' is already stored",
                     m->source_key, m->channel);
  rc = get_stmt(s, S_KEY_EXISTS, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, m->channel, EVENT_ID_MAX);
  bind_text(stmt, 2, m->source_key, EVENT_KEY_MAX);
  rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_ROW)
    return error_set(err, ERR_EXISTS,
                     "message '%s' of channel '%s' is already stored",
                     m->source_key, m->channel);
  if (rc != SQLITE_DONE)
    return db_error(s->db, rc, "look up message", err);
  rc = get_stmt(s, S_MSG_PUT, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, m->channel, EVENT_ID_MAX);
  bind_text(stmt, 2, m->source_key, EVENT_KEY_MAX);
  bind_text(stmt, 3, m->msg_type, STORE_MSG_TYPE_MAX);
  sqlite3_bind_int64(stmt, 4, m->received_at);
  sqlite3_bind_blob(stmt, 5, m->digest, STORE_DIGEST_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 6, (sqlite3_int64)m->flags);
  bind_blob(stmt, 7, m->sealed, m->sealed_len);
  rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE)
    return db_error(s->db, rc, "store message", err);
  id = sqlite3_last_insert_rowid(s->db);
  keymap_put(&s->recent, m->channel, chlen, m->source_key, keylen, id);
  *id_out = id;
  return 0;
}

static int sqlite_event_append(struct store *st, int64_t message_id,
                               struct event *ev, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = tx_alive(s, err);
  if (rc < 0)
    return rc;
  buf_reset(&s->attrs);
  rc = event_attrs_to_json(&ev->attrs, &s->attrs);
  if (rc < 0)
    return error_set(err, rc, "cannot append event: attrs too long");
  rc = get_stmt(s, S_EV_APPEND, &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, message_id);
  bind_text(stmt, 2, ev->channel, sizeof ev->channel);
  bind_text(stmt, 3, ev->source_key, sizeof ev->source_key);
  sqlite3_bind_text(stmt, 4, event_kind_name(ev->kind), -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 5, ev->occurred_at);
  sqlite3_bind_int(stmt, 6, ev->local_date);
  bind_text(stmt, 7, ev->unit, sizeof ev->unit);
  bind_text(stmt, 8, ev->subject, sizeof ev->subject);
  bind_text(stmt, 9, ev->episode, sizeof ev->episode);
  sqlite3_bind_text(stmt, 10, buf_str(&s->attrs), (int)s->attrs.len,
                    SQLITE_STATIC);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    ev->seq = sqlite3_last_insert_rowid(s->db);
    rc = 0;
  } else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    rc = error_set(err, ERR_NOTFOUND,
                   "cannot append event: message %lld "
                   "not found",
                   (long long)message_id);
  } else {
    rc = db_error(s->db, rc, "append event", err);
  }
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_events_scan(struct store *st, int64_t after_seq,
                              store_event_cb cb, void *ctx, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  struct event ev;
  int rc = get_stmt(s, S_SCAN, &stmt, err);
  int step;
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, after_seq);
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    char kind[64];
    struct error perr;
    event_init(&ev);
    ev.seq = sqlite3_column_int64(stmt, 0);
    column_str(stmt, 1, ev.channel, sizeof ev.channel);
    column_str(stmt, 2, ev.source_key, sizeof ev.source_key);
    column_str(stmt, 3, kind, sizeof kind);
    ev.kind = event_kind_from_name(kind);
    ev.occurred_at = sqlite3_column_int64(stmt, 4);
    ev.local_date = sqlite3_column_int(stmt, 5);
    column_str(stmt, 6, ev.unit, sizeof ev.unit);
    column_str(stmt, 7, ev.subject, sizeof ev.subject);
    column_str(stmt, 8, ev.episode, sizeof ev.episode);
    rc = event_attrs_from_json((const char *)sqlite3_column_text(stmt, 9),
                               (size_t)sqlite3_column_bytes(stmt, 9), &ev.attrs,
                               &perr);
    if (rc < 0) {
      rc = error_set(err, ERR_STORE, "cannot read event %lld: %s",
                     (long long)ev.seq, perr.msg);
      break;
    }
    rc = cb(ctx, &ev);
    if (rc != 0)
      break;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_error(s->db, step, "scan events", err);
  sqlite3_reset(stmt);
  return rc;
}

/* ---- dead letters ------------------------------------------------------- */

static int sqlite_dead_letter_put(struct store *st,
                                  const struct store_dead_letter *d,
                                  int64_t *id_out, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc = tx_alive(s, err);
  if (rc == 0)
    rc = get_stmt(s, S_DL_PUT, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, d->channel, EVENT_ID_MAX);
  bind_text(stmt, 2, d->source_key, EVENT_KEY_MAX);
  bind_text(stmt, 3, d->msg_type, STORE_MSG_TYPE_MAX);
  sqlite3_bind_int64(stmt, 4, d->received_at);
  bind_text(stmt, 5, d->ack_code, STORE_ACK_MAX);
  bind_text(stmt, 6, d->reason, STORE_REASON_MAX);
  bind_text(stmt, 7, d->location, STORE_LOCATION_MAX);
  bind_blob(stmt, 8, d->sealed, d->sealed_len);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    *id_out = sqlite3_last_insert_rowid(s->db);
    rc = 0;
  } else {
    rc = db_error(s->db, rc, "store dead letter", err);
  }
  sqlite3_reset(stmt);
  return rc;
}

/* Fills 'row' from the current result row of a DL_COLS query; the payload
 * is copied into a new buffer. */
static void dead_letter_row(sqlite3_stmt *stmt,
                            struct store_dead_letter_row *row) {
  const void *p;
  size_t n;
  memset(row, 0, sizeof *row);
  row->id = sqlite3_column_int64(stmt, 0);
  column_str(stmt, 1, row->channel, sizeof row->channel);
  column_str(stmt, 2, row->source_key, sizeof row->source_key);
  column_str(stmt, 3, row->msg_type, sizeof row->msg_type);
  row->received_at = sqlite3_column_int64(stmt, 4);
  column_str(stmt, 5, row->ack_code, sizeof row->ack_code);
  column_str(stmt, 6, row->reason, sizeof row->reason);
  column_str(stmt, 7, row->location, sizeof row->location);
  row->status = sqlite3_column_int(stmt, 8);
  p = sqlite3_column_blob(stmt, 9);
  n = (size_t)sqlite3_column_bytes(stmt, 9);
  if (p != NULL && n > 0) {
    row->sealed = mem_alloc(n);
    memcpy(row->sealed, p, n);
    row->sealed_len = n;
  }
}

static int sqlite_dead_letters_list(struct store *st, int status, size_t max,
                                    store_dead_letter_cb cb, void *ctx,
                                    struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  struct store_dead_letter_row row;
  int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
  int step, rc;
  rc = get_stmt(s, status < 0 ? S_DL_LIST_ALL : S_DL_LIST, &stmt, err);
  if (rc < 0)
    return rc;
  if (status < 0) {
    sqlite3_bind_int64(stmt, 1, limit);
  } else {
    sqlite3_bind_int(stmt, 1, status);
    sqlite3_bind_int64(stmt, 2, limit);
  }
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    dead_letter_row(stmt, &row);
    rc = cb(ctx, &row);
    store_dead_letter_row_release(&row);
    if (rc != 0)
      break;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_error(s->db, step, "list dead letters", err);
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_dead_letter_get(struct store *st, int64_t id,
                                  struct store_dead_letter_row *out,
                                  struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc = get_stmt(s, S_DL_GET, &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, id);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    dead_letter_row(stmt, out);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "dead letter %lld not found",
                   (long long)id);
  } else {
    rc = db_error(s->db, rc, "read dead letter", err);
  }
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_dead_letter_mark(struct store *st, int64_t id, int status,
                                   struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  /* may run on its own, outside a transaction (store.c) */
  int rc = st->in_tx ? tx_alive(s, err) : 0;
  if (rc == 0)
    rc = get_stmt(s, S_DL_MARK, &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, id);
  sqlite3_bind_int(stmt, 2, status);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0)
    rc = error_set(err, ERR_NOTFOUND, "dead letter %lld not found",
                   (long long)id);
  else if (rc == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, rc, "mark dead letter", err);
  sqlite3_reset(stmt);
  return rc;
}

/* ---- counters ----------------------------------------------------------- */

static int sqlite_counter_add(struct store *st, const char *channel,
                              const char *name, int64_t delta,
                              struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc = tx_alive(s, err);
  if (rc == 0)
    rc = get_stmt(s, S_COUNTER_ADD, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, channel, EVENT_ID_MAX);
  sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 3, delta);
  rc = sqlite3_step(stmt);
  rc = rc == SQLITE_DONE ? 0 : db_error(s->db, rc, "update counter", err);
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_counters_read(struct store *st, store_sum_cb cb, void *ctx,
                                int64_t *last_seq, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  bool own_tx = !st->in_tx;
  int rc = 0, step;

  /* Two queries, one snapshot. */
  if (own_tx)
    rc = exec_stmt(s, S_BEGIN_READ, "begin", err);
  if (rc == 0)
    rc = get_stmt(s, S_COUNTERS_SUM, &stmt, err);
  if (rc < 0)
    goto out;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    rc = cb(ctx, (const char *)sqlite3_column_text(stmt, 0),
            sqlite3_column_int64(stmt, 1));
    if (rc != 0)
      break;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_error(s->db, step, "read counters", err);
  sqlite3_reset(stmt);
  if (rc == 0)
    rc = get_stmt(s, S_LAST_SEQ, &stmt, err);
  if (rc == 0) {
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
      *last_seq = sqlite3_column_int64(stmt, 0); /* NULL reads as 0 */
    else
      rc = db_error(s->db, step, "read last seq", err);
    sqlite3_reset(stmt);
  }
out:
  if (own_tx && sqlite3_get_autocommit(s->db) == 0) {
    int crc = exec_stmt(s, S_COMMIT, "end snapshot", rc == 0 ? err : NULL);
    if (rc == 0)
      rc = crc;
  }
  return rc;
}

/* ---- sealed payloads ---------------------------------------------------- */

static int sqlite_payloads_scan(struct store *st, enum store_payload_kind kind,
                                int64_t after_id, size_t max,
                                store_payload_cb cb, void *ctx,
                                struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  struct store_payload_row row;
  int64_t limit = max == 0 || max > (size_t)INT64_MAX ? -1 : (int64_t)max;
  int step, rc;
  rc = get_stmt(s,
                kind == STORE_PAYLOAD_MESSAGE ? S_PAY_SCAN_MSG : S_PAY_SCAN_DL,
                &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, after_id);
  sqlite3_bind_int64(stmt, 2, limit);
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    memset(&row, 0, sizeof row);
    row.kind = kind;
    row.id = sqlite3_column_int64(stmt, 0);
    column_str(stmt, 1, row.channel, sizeof row.channel);
    column_str(stmt, 2, row.source_key, sizeof row.source_key);
    row.sealed = sqlite3_column_blob(stmt, 3);
    row.sealed_len = (size_t)sqlite3_column_bytes(stmt, 3);
    if (row.sealed == NULL || row.sealed_len == 0) {
      /* length(payload) > 0 said otherwise: out of memory reading it */
      rc = db_error(s->db, SQLITE_NOMEM, "read payload", err);
      break;
    }
    rc = cb(ctx, &row);
    if (rc != 0)
      break;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_error(s->db, step, "scan payloads", err);
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_payload_update(struct store *st, enum store_payload_kind kind,
                                 int64_t id, const unsigned char *sealed,
                                 size_t sealed_len, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc = tx_alive(s, err);
  if (rc == 0)
    rc = get_stmt(s,
                  kind == STORE_PAYLOAD_MESSAGE ? S_PAY_UPD_MSG : S_PAY_UPD_DL,
                  &stmt, err);
  if (rc < 0)
    return rc;
  sqlite3_bind_int64(stmt, 1, id);
  bind_blob(stmt, 2, sealed, sealed_len);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0)
    rc = error_set(err, ERR_NOTFOUND, "%s %lld not found",
                   kind == STORE_PAYLOAD_MESSAGE ? "message" : "dead letter",
                   (long long)id);
  else if (rc == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, rc, "replace payload", err);
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_checkpoint(struct store *st, struct error *err) {
  struct sqlite_store *s = sq(st);
  int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                     NULL, NULL);
  if (rc != SQLITE_OK)
    return db_error(s->db, rc, "checkpoint the write-ahead log", err);
  return 0;
}

/* ---- metadata ----------------------------------------------------------- */

static int sqlite_meta_get(struct store *st, const char *key, char *out,
                           size_t cap, bool *found, struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  int rc = get_stmt(s, S_META_GET, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, key, STORE_META_KEY_MAX);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(stmt, 0);
    size_t n = (size_t)sqlite3_column_bytes(stmt, 0);
    if (n >= cap) {
      rc = error_set(err, ERR_TOOBIG, "meta '%s' needs %zu bytes, has %zu", key,
                     n + 1, cap);
    } else {
      memcpy(out, v != NULL ? v : "", n);
      out[n] = '\0';
      *found = true;
      rc = 0;
    }
  } else if (rc == SQLITE_DONE) {
    *found = false;
    rc = 0;
  } else {
    rc = db_error(s->db, rc, "read meta", err);
  }
  sqlite3_reset(stmt);
  return rc;
}

static int sqlite_meta_put(struct store *st, const char *key, const char *value,
                           struct error *err) {
  struct sqlite_store *s = sq(st);
  sqlite3_stmt *stmt = NULL;
  /* may run on its own, outside a transaction (store.c) */
  int rc = st->in_tx ? tx_alive(s, err) : 0;
  if (rc == 0)
    rc = get_stmt(s, S_META_PUT, &stmt, err);
  if (rc < 0)
    return rc;
  bind_text(stmt, 1, key, STORE_META_KEY_MAX);
  bind_text(stmt, 2, value, STORE_META_VALUE_MAX);
  rc = sqlite3_step(stmt);
  rc = rc == SQLITE_DONE ? 0 : db_error(s->db, rc, "store meta", err);
  sqlite3_reset(stmt);
  return rc;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .message_lookup = sqlite_message_lookup,
    .message_put = sqlite_message_put,
    .event_append = sqlite_event_append,
    .dead_letter_put = sqlite_dead_letter_put,
    .counter_add = sqlite_counter_add,
    .counters_read = sqlite_counters_read,
    .events_scan = sqlite_events_scan,
    .dead_letters_list = sqlite_dead_letters_list,
    .dead_letter_get = sqlite_dead_letter_get,
    .dead_letter_mark = sqlite_dead_letter_mark,
    .payloads_scan = sqlite_payloads_scan,
    .payload_update = sqlite_payload_update,
    .checkpoint = sqlite_checkpoint,
    .set_deferred_sync = sqlite_set_deferred_sync,
    .sync = sqlite_sync,
    .meta_get = sqlite_meta_get,
    .meta_put = sqlite_meta_put,
};
