/* secstore.c -- the security database on SQLite: accounts, sessions,
 * tokens, throttling and the audit chain (secstore.h).
 *
 * Design:
 *  - One connection per struct secstore, opened NOMUTEX and guarded by a
 *    recursive mutex of our own, so that a transaction (secstore_begin)
 *    can hold the lock across several typed calls on one thread while other
 *    threads wait. WAL journal, synchronous=FULL (a commit is on disk when
 *    it returns: an audit record is durable before the data it describes
 *    leaves the server), secure_delete (freed pages are zeroed, so a deleted
 *    session or a replaced password hash does not linger in the file),
 *    foreign keys on, a busy timeout for other processes (the CLI next to
 *    a running server).
 *  - Statements are prepared once, lazily, and cached; each call binds,
 *    steps and resets. Text is bound with explicit lengths after its cap
 *    has been checked.
 *  - Migrations are compiled in, byte-identical to sql/security/NNN_*.sql
 *    (test_secstore compares them), and marked with PRAGMA application_id
 *    "TkS1" so that the event store or a foreign file is refused.
 *
 * Invariants:
 *  1. stmt[i] is NULL or a prepared, reset statement of sql_text[i];
 *  2. in_tx is true exactly between a successful BEGIN and its COMMIT or
 *     ROLLBACK, and the mutex is then held once more than outside.
 *
 * Thread safety: see secstore.h. */
#include "secstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

#define APPLICATION_ID 0x546b5331 /* "TkS1" */
#define BUSY_TIMEOUT_MS 5000

/* ---- migrations --------------------------------------------------------- */

static const char migration_001[] =
    "-- 001_init.sql -- the security database (security.db): accounts, "
    "sessions,\n"
    "-- API tokens, sign-in throttling and the audit chain.\n"
    "--\n"
    "-- Applied by secstore.c, which embeds a byte-identical copy of this "
    "file\n"
    "-- (test_secstore checks they match). Migrations run in one transaction; "
    "the\n"
    "-- schema version is meta.schema_version. Never edit a released "
    "migration:\n"
    "-- add the next number. Times are milliseconds since the epoch, UTC.\n"
    "\n"
    "-- Key/value metadata: schema_version.\n"
    "CREATE TABLE meta (\n"
    "  key   TEXT NOT NULL PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "-- Local accounts (and machine accounts that only hold API tokens). The\n"
    "-- password is an argon2id string from crypto_pwhash_str; NULL means the\n"
    "-- account cannot sign in with a password. scope is a comma-separated "
    "list\n"
    "-- of organisation unit ids (subtree roots).\n"
    "CREATE TABLE users (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  name       TEXT NOT NULL UNIQUE,\n"
    "  role       TEXT NOT NULL,\n"
    "  scope      TEXT NOT NULL,\n"
    "  pwhash     TEXT,\n"
    "  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "\n"
    "-- Browser sessions. Only a BLAKE2b-256 hash of the 256-bit session token "
    "is\n"
    "-- kept, so a copy of this table does not sign anyone in. role and scope "
    "are\n"
    "-- what sign-in granted (directory users have no row in users); for "
    "local\n"
    "-- users they are re-read from users on every request.\n"
    "CREATE TABLE sessions (\n"
    "  token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),\n"
    "  user       TEXT NOT NULL,\n"
    "  source     TEXT NOT NULL CHECK (source IN ('local', 'ldap')),\n"
    "  role       TEXT NOT NULL,\n"
    "  scope      TEXT NOT NULL,\n"
    "  csrf       TEXT NOT NULL,\n"
    "  address    TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  last_seen  INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX sessions_user ON sessions (user);\n"
    "\n"
    "-- API tokens for machine clients (\"tk_\" + 43 base64url characters), "
    "kept as\n"
    "-- a BLAKE2b-256 hash. A token acts with its user's current role and "
    "scope.\n"
    "CREATE TABLE tokens (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),\n"
    "  user       TEXT NOT NULL REFERENCES users (name),\n"
    "  created_at INTEGER NOT NULL,\n"
    "  expires_at INTEGER NOT NULL,  -- 0: never\n"
    "  revoked_at INTEGER NOT NULL,  -- 0: not revoked\n"
    "  last_used  INTEGER NOT NULL   -- 0: never used\n"
    ");\n"
    "CREATE INDEX tokens_user ON tokens (user);\n"
    "\n"
    "-- Sign-in throttling: failures per user name ('user') and per client\n"
    "-- address ('addr'), with the instant until which sign-in is refused.\n"
    "CREATE TABLE throttle (\n"
    "  kind         TEXT NOT NULL CHECK (kind IN ('user', 'addr')),\n"
    "  key          TEXT NOT NULL,\n"
    "  failures     INTEGER NOT NULL,\n"
    "  last_failure INTEGER NOT NULL,\n"
    "  locked_until INTEGER NOT NULL,\n"
    "  PRIMARY KEY (kind, key)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "-- The audit log: one row per person-level view, recording or security\n"
    "-- action, numbered 1, 2, 3, ... without gaps. hash is BLAKE2b-256 over "
    "the\n"
    "-- previous row's hash (32 zero bytes before the first) and the "
    "canonical\n"
    "-- serialisation of this row (audit.c). subject is a pseudonym, never an\n"
    "-- identity code.\n"
    "CREATE TABLE audit (\n"
    "  seq        INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),\n"
    "  at         INTEGER NOT NULL,\n"
    "  user       TEXT NOT NULL,\n"
    "  role       TEXT NOT NULL,\n"
    "  action     TEXT NOT NULL,\n"
    "  subject    TEXT NOT NULL,\n"
    "  unit       TEXT NOT NULL,\n"
    "  reason     TEXT NOT NULL,\n"
    "  address    TEXT NOT NULL,\n"
    "  request_id TEXT NOT NULL,\n"
    "  hash       BLOB NOT NULL CHECK (length(hash) = 32)\n"
    ");\n"
    "CREATE INDEX audit_subject ON audit (subject) WHERE subject <> '';\n"
    "CREATE INDEX audit_user ON audit (user);\n"
    "\n"
    "-- Append-only by default. Someone with write access to the file can "
    "drop\n"
    "-- these triggers; the hash chain and the signed checkpoints are what "
    "detect\n"
    "-- that (docs/SECURITY.md).\n"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
    "BEGIN\n"
    "  SELECT RAISE (ABORT, 'the audit log is append-only');\n"
    "END;\n"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
    "BEGIN\n"
    "  SELECT RAISE (ABORT, 'the audit log is append-only');\n"
    "END;\n"
    "\n"
    "-- Signed checkpoints: \"the log had 'count' records and its head hash "
    "was\n"
    "-- 'head' at 'at'\", signed with the key file's Ed25519 key.\n"
    "CREATE TABLE audit_checkpoints (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  at         INTEGER NOT NULL,\n"
    "  count      INTEGER NOT NULL CHECK (count >= 0),\n"
    "  head       BLOB NOT NULL CHECK (length(head) = 32),\n"
    "  kind       TEXT NOT NULL,\n"
    "  public_key BLOB NOT NULL CHECK (length(public_key) = 32),\n"
    "  signature  BLOB NOT NULL CHECK (length(signature) = 64)\n"
    ");\n"
    "CREATE INDEX audit_checkpoints_count ON audit_checkpoints (count);\n";

static const struct {
  const char *file;
  const char *sql;
} migrations[] = {
    {"001_init.sql", migration_001},
};

int secstore_schema_version(void) { return (int)ARRAY_LEN(migrations); }

const char *secstore_migration(int version) {
  if (version < 1 || version > (int)ARRAY_LEN(migrations))
    return NULL;
  return migrations[version - 1].sql;
}

const char *secstore_migration_file(int version) {
  if (version < 1 || version > (int)ARRAY_LEN(migrations))
    return NULL;
  return migrations[version - 1].file;
}

/* ---- statements --------------------------------------------------------- */

#define USER_COLS                                                              \
  "id, name, role, scope, coalesce(pwhash, ''), disabled, created_at, "        \
  "updated_at"
#define TOKEN_COLS                                                             \
  "id, token_hash, user, created_at, expires_at, revoked_at, last_used"
#define AUDIT_COLS                                                             \
  "seq, at, user, role, action, subject, unit, reason, address, request_id, "  \
  "hash"
#define CP_COLS "id, at, count, head, kind, public_key, signature"

#define STMT_TABLE(X)                                                          \
  X(S_USER_ADD, "INSERT INTO users (name, role, scope, pwhash, disabled, "     \
                "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)") \
  X(S_USER_GET, "SELECT " USER_COLS " FROM users WHERE name = ?1")             \
  X(S_USER_DISABLE,                                                            \
    "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE name = ?1")         \
  X(S_USER_PASSWD,                                                             \
    "UPDATE users SET pwhash = ?2, updated_at = ?3 WHERE name = ?1")           \
  X(S_USER_ROLE, "UPDATE users SET role = ?2, scope = ?3, updated_at = ?4 "    \
                 "WHERE name = ?1")                                            \
  X(S_USER_LIST, "SELECT " USER_COLS " FROM users ORDER BY name")              \
  X(S_SESSION_ADD,                                                             \
    "INSERT INTO sessions (token_hash, user, source, role, scope, csrf, "      \
    "address, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, " \
    "?9)")                                                                     \
  X(S_SESSION_GET,                                                             \
    "SELECT user, source, role, scope, csrf, address, created_at, last_seen "  \
    "FROM sessions WHERE token_hash = ?1")                                     \
  X(S_SESSION_TOUCH,                                                           \
    "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1")                \
  X(S_SESSION_DELETE, "DELETE FROM sessions WHERE token_hash = ?1")            \
  X(S_SESSION_DELETE_USER, "DELETE FROM sessions WHERE user = ?1")             \
  X(S_SESSION_PURGE,                                                           \
    "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2")            \
  X(S_TOKEN_ADD, "INSERT INTO tokens (token_hash, user, created_at, "          \
                 "expires_at, revoked_at, last_used) VALUES (?1, ?2, ?3, ?4, " \
                 "0, 0)")                                                      \
  X(S_TOKEN_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE token_hash = ?1")    \
  X(S_TOKEN_TOUCH, "UPDATE tokens SET last_used = ?2 WHERE id = ?1")           \
  X(S_TOKEN_STATE, "SELECT revoked_at FROM tokens WHERE id = ?1")              \
  X(S_TOKEN_REVOKE,                                                            \
    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0")      \
  X(S_TOKEN_REVOKE_USER,                                                       \
    "UPDATE tokens SET revoked_at = ?2 WHERE user = ?1 AND revoked_at = 0")    \
  X(S_TOKEN_LIST_ALL, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id")         \
  X(S_TOKEN_LIST_USER,                                                         \
    "SELECT " TOKEN_COLS " FROM tokens WHERE user = ?1 ORDER BY id")           \
  X(S_THROTTLE_GET, "SELECT failures, last_failure, locked_until FROM "        \
                    "throttle WHERE kind = ?1 AND key = ?2")                   \
  X(S_THROTTLE_PUT,                                                            \
    "INSERT INTO throttle (kind, key, failures, last_failure, locked_until) "  \
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, key) DO UPDATE SET "       \
    "failures = excluded.failures, last_failure = excluded.last_failure, "     \
    "locked_until = excluded.locked_until")                                    \
  X(S_THROTTLE_CLEAR, "DELETE FROM throttle WHERE kind = ?1 AND key = ?2")     \
  X(S_THROTTLE_PURGE,                                                          \
    "DELETE FROM throttle WHERE last_failure < ?1 AND locked_until < ?1")      \
  X(S_AUDIT_LAST, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")     \
  X(S_AUDIT_INSERT,                                                            \
    "INSERT INTO audit (" AUDIT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "  \
    "?8, ?9, ?10, ?11)")                                                       \
  X(S_AUDIT_SCAN,                                                              \
    "SELECT " AUDIT_COLS " FROM audit WHERE seq >= ?1 ORDER BY seq")           \
  X(S_AUDIT_SUBJECT,                                                           \
    "SELECT " AUDIT_COLS " FROM audit WHERE subject = ?1 AND subject <> '' "   \
    "ORDER BY seq")                                                            \
  X(S_AUDIT_USER,                                                              \
    "SELECT " AUDIT_COLS " FROM audit WHERE user = ?1 ORDER BY seq")           \
  X(S_CP_ADD, "INSERT INTO audit_checkpoints (at, count, head, kind, "         \
              "public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")        \
  X(S_CP_LAST, "SELECT " CP_COLS " FROM audit_checkpoints ORDER BY count "     \
               "DESC, id DESC LIMIT 1")                                        \
  X(S_CP_LIST, "SELECT " CP_COLS " FROM audit_checkpoints ORDER BY count, id")

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

struct secstore {
  sqlite3 *db;
  pthread_mutex_t lock; /* recursive */
  bool in_tx;
  unsigned flags;
  sqlite3_stmt *stmt[S__COUNT];
};

/* ---- helpers ------------------------------------------------------------ */

static void lock(struct secstore *s) { pthread_mutex_lock(&s->lock); }
static void unlock(struct secstore *s) { pthread_mutex_unlock(&s->lock); }

static int db_error(sqlite3 *db, int rc, const char *what, struct error *err) {
  int code = ERR_STORE;
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    code =
        (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            ? ERR_EXISTS
            : ERR_STORE;
  return error_set(err, code, "cannot %s in the security database: %s", what,
                   db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* The cached statement 'id', prepared on first use. NULL with 'err' set on
 * failure. */
static sqlite3_stmt *stmt_get(struct secstore *s, enum stmt_id id,
                              struct error *err) {
  if (s->stmt[id] == NULL) {
    int rc = sqlite3_prepare_v3(s->db, sql_text[id], -1,
                                SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (rc != SQLITE_OK) {
      db_error(s->db, rc, "prepare a statement", err);
      s->stmt[id] = NULL;
      return NULL;
    }
  }
  return s->stmt[id];
}

static void stmt_done(sqlite3_stmt *st) {
  if (st != NULL) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
}

/* Binds text after checking it against 'cap' (bytes including the NUL). */
static int bind_text(sqlite3_stmt *st, int i, const char *v, size_t cap,
                     const char *what, struct error *err) {
  size_t n;
  if (v == NULL)
    v = "";
  n = strlen(v);
  if (n >= cap)
    return error_set(err, ERR_TOOBIG, "%s is longer than %zu bytes", what,
                     cap - 1);
  if (sqlite3_bind_text(st, i, v, (int)n, SQLITE_STATIC) != SQLITE_OK)
    return error_set(err, ERR_STORE, "cannot bind %s", what);
  return 0;
}

static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n) {
  return sqlite3_bind_blob(st, i, v, (int)n, SQLITE_STATIC) == SQLITE_OK
             ? 0
             : ERR_STORE;
}

static int bind_int(sqlite3_stmt *st, int i, int64_t v) {
  return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : ERR_STORE;
}

/* Copies text column 'col' into 'dst' (cap bytes), truncating; NULL -> "". */
static void col_text(sqlite3_stmt *st, int col, char *dst, size_t cap) {
  const unsigned char *t = sqlite3_column_text(st, col);
  size_t n = t != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
  if (n >= cap)
    n = cap - 1;
  if (n > 0)
    memcpy(dst, t, n);
  dst[n] = '\0';
}

/* Text column as a pointer valid until the next step; NULL -> "". */
static const char *col_str(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return t != NULL ? (const char *)t : "";
}

/* Copies a blob column of exactly 'n' bytes; anything else gives zeros (a
 * damaged row then fails whatever check reads it). */
static void col_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t n) {
  const void *b = sqlite3_column_blob(st, col);
  if (b != NULL && (size_t)sqlite3_column_bytes(st, col) == n)
    memcpy(dst, b, n);
  else
    memset(dst, 0, n);
}

/* Steps a statement that returns no rows; the statement is reset. *changes
 * (may be NULL) gets the number of rows changed. */
static int run(struct secstore *s, sqlite3_stmt *st, const char *what,
               int64_t *changes, struct error *err) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    if (changes != NULL)
      *changes = sqlite3_changes64(s->db);
    rc = 0;
  } else {
    rc = db_error(s->db, sqlite3_extended_errcode(s->db), what, err);
  }
  stmt_done(st);
  return rc;
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what,
                    struct error *err) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return db_error(db, sqlite3_extended_errcode(db), what, err);
  return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out,
                     struct error *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = 0;
  } else {
    rc = db_error(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "read the schema",
                  err);
  }
  sqlite3_finalize(st);
  return rc;
}

/* ---- open, migrate, close ----------------------------------------------- */

/* The schema version of an open database: 0 when it is empty. */
static int schema_version(sqlite3 *db, const char *path, int64_t *out,
                          struct error *err) {
  int64_t objects = 0, app = 0, v = 0;
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
                     "cannot open '%s': not a tilannekuva security database",
                     path);
  rc = query_int(db,
                 "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
                 "'schema_version'",
                 &v, err);
  if (rc < 0 || v < 1)
    return error_set(err, ERR_STORE, "cannot open '%s': no schema version",
                     path);
  *out = v;
  return 0;
}

static int migrate(struct secstore *s, const char *path, unsigned flags,
                   struct error *err) {
  const int known = secstore_schema_version();
  const bool writer = !(flags & SECSTORE_READONLY);
  int64_t version = 0;
  char sql[200];
  int rc;

  rc = exec_sql(s->db, writer ? "BEGIN IMMEDIATE" : "BEGIN", "begin", err);
  if (rc < 0)
    return rc;
  rc = schema_version(s->db, path, &version, err);
  if (rc < 0)
    goto out;
  if (version > known) {
    rc = error_set(err, ERR_UNSUPPORTED,
                   "cannot open '%s': schema version %lld is newer than this "
                   "program's %d",
                   path, (long long)version, known);
    goto out;
  }
  if (version == known)
    goto out;
  if (!(flags & SECSTORE_CREATE) || !writer) {
    rc = error_set(err, ERR_STATE,
                   version == 0 ? "cannot open '%s': not initialised"
                                : "cannot open '%s': schema needs migration",
                   path);
    goto out;
  }
  for (int v = (int)version + 1; v <= known && rc == 0; v++)
    rc = exec_sql(s->db, migrations[v - 1].sql, "migrate the schema", err);
  if (rc < 0)
    goto out;
  snprintf(sql, sizeof sql,
           "INSERT INTO meta (key, value) VALUES ('schema_version', '%d') "
           "ON CONFLICT (key) DO UPDATE SET value = excluded.value; "
           "PRAGMA application_id = %d",
           known, APPLICATION_ID);
  rc = exec_sql(s->db, sql, "record the schema version", err);
out:
  if (rc == 0)
    rc = exec_sql(s->db, "COMMIT", "commit the migration", err);
  if (rc < 0)
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Creates the file with mode 0600 when asked to and it is missing, then
 * checks that it is a regular file nobody else may access. */
static int check_file(const char *path, unsigned flags, struct error *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    int fd;
    if (errno != ENOENT)
      return error_set(err, ERR_IO, "cannot open '%s': %s", path,
                       strerror(errno));
    if (!(flags & SECSTORE_CREATE) || (flags & SECSTORE_READONLY))
      return error_set(err, ERR_NOTFOUND, "cannot open '%s': no such file",
                       path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST)
      return error_set(err, errno == EACCES ? ERR_DENIED : ERR_IO,
                       "cannot create '%s': %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    if (stat(path, &st) != 0)
      return error_set(err, ERR_IO, "cannot open '%s': %s", path,
                       strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return error_set(err, ERR_DENIED, "cannot open '%s': not a regular file",
                     path);
  if ((st.st_mode & 077) != 0)
    return error_set(err, ERR_DENIED,
                     "cannot open '%s': group or others may access it (mode "
                     "%03o); it holds credentials: chmod 600 it",
                     path, (unsigned)(st.st_mode & 0777));
  return 0;
}

int secstore_open(const char *path, unsigned flags, struct secstore **out,
                  struct error *err) {
  struct secstore *s = NULL;
  const bool writer = !(flags & SECSTORE_READONLY);
  int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  pthread_mutexattr_t ma;
  int rc;

  rc = check_file(path, flags, err);
  if (rc < 0)
    return rc;
  oflags |= writer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  s = mem_calloc(1, sizeof *s);
  s->flags = flags;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&s->lock, &ma);
  pthread_mutexattr_destroy(&ma);
  rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
  if (rc != SQLITE_OK) {
    rc = error_set(err, ERR_STORE, "cannot open '%s': %s", path,
                   s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    goto out;
  }
  sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
  if (writer) {
    int64_t sync = 0;
    rc = exec_sql(s->db,
                  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                  "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON",
                  "configure", err);
    if (rc == 0)
      rc = query_int(s->db, "PRAGMA synchronous", &sync, err);
    if (rc == 0 && sync != 2)
      rc = error_set(err, ERR_STORE,
                     "cannot open '%s': synchronous=FULL "
                     "refused",
                     path);
    if (rc < 0)
      goto out;
  }
  rc = migrate(s, path, flags, err);
out:
  if (rc < 0) {
    secstore_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void secstore_close(struct secstore *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < S__COUNT; i++)
    sqlite3_finalize(s->stmt[i]);
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  mem_free(s);
}

/* ---- transactions ------------------------------------------------------- */

int secstore_begin(struct secstore *s, struct error *err) {
  int rc;
  lock(s);
  if (s->in_tx) {
    unlock(s);
    return error_set(err, ERR_STATE,
                     "a security database transaction is "
                     "already open");
  }
  rc = exec_sql(s->db, "BEGIN IMMEDIATE", "begin a transaction", err);
  if (rc < 0) {
    unlock(s);
    return rc;
  }
  s->in_tx = true; /* the lock stays held until commit or rollback */
  return 0;
}

int secstore_commit(struct secstore *s, struct error *err) {
  int rc;
  lock(s);
  if (!s->in_tx) {
    unlock(s);
    return error_set(err, ERR_STATE, "no security database transaction");
  }
  rc = exec_sql(s->db, "COMMIT", "commit", err);
  if (rc < 0)
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_tx = false;
  unlock(s);
  unlock(s); /* the one taken by secstore_begin */
  return rc;
}

void secstore_rollback(struct secstore *s) {
  lock(s);
  if (s->in_tx) {
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
    unlock(s);
  }
  unlock(s);
}

/* ---- users -------------------------------------------------------------- */

static void read_user(sqlite3_stmt *st, struct secstore_user *u) {
  memset(u, 0, sizeof *u);
  u->id = sqlite3_column_int64(st, 0);
  col_text(st, 1, u->name, sizeof u->name);
  col_text(st, 2, u->role, sizeof u->role);
  col_text(st, 3, u->scope, sizeof u->scope);
  col_text(st, 4, u->pwhash, sizeof u->pwhash);
  u->disabled = sqlite3_column_int64(st, 5) != 0;
  u->created_ms = sqlite3_column_int64(st, 6);
  u->updated_ms = sqlite3_column_int64(st, 7);
}

int secstore_user_add(struct secstore *s, const struct secstore_user *u,
                      int64_t *id, struct error *err) {
  sqlite3_stmt *st;
  int rc;
  lock(s);
  st = stmt_get(s, S_USER_ADD, err);
  if (st == NULL) {
    rc = ERR_STORE;
    goto out;
  }
  rc = bind_text(st, 1, u->name, sizeof u->name, "user name", err);
  if (rc == 0)
    rc = bind_text(st, 2, u->role, sizeof u->role, "role", err);
  if (rc == 0)
    rc = bind_text(st, 3, u->scope, sizeof u->scope, "scope", err);
  if (rc == 0) {
    if (u->pwhash[0] == '\0')
      rc = sqlite3_bind_null(st, 4) == SQLITE_OK ? 0 : ERR_STORE;
    else
      rc = bind_text(st, 4, u->pwhash, sizeof u->pwhash, "password hash", err);
  }
  if (rc == 0)
    rc = bind_int(st, 5, u->disabled ? 1 : 0);
  if (rc == 0)
    rc = bind_int(st, 6, u->created_ms);
  if (rc < 0) {
    stmt_done(st);
    goto out;
  }
  rc = run(s, st, "add a user", NULL, err);
  if (rc == ERR_EXISTS)
    rc = error_set(err, ERR_EXISTS, "user '%s' already exists", u->name);
  if (rc == 0 && id != NULL)
    *id = sqlite3_last_insert_rowid(s->db);
out:
  unlock(s);
  return rc;
}

int secstore_user_get(struct secstore *s, const char *name,
                      struct secstore_user *out, struct error *err) {
  sqlite3_stmt *st;
  int rc;
  lock(s);
  st = stmt_get(s, S_USER_GET, err);
  if (st == NULL) {
    rc = ERR_STORE;
    goto out;
  }
  rc = bind_text(st, 1, name, SECSTORE_NAME_MAX, "user name", err);
  if (rc < 0) {
    stmt_done(st);
    if (rc == ERR_TOOBIG)
      rc = error_set(err, ERR_NOTFOUND, "no such user");
    goto out;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    read_user(st, out);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no user '%s'", name);
  } else {
    rc = db_error(s->db, rc, "read a user", err);
  }
  stmt_done(st);
out:
  unlock(s);
  return rc;
}

/* Runs a one-row UPDATE of users keyed by name (?1); ERR_NOTFOUND when no
 * row changed. */
static int user_update(struct secstore *s, sqlite3_stmt *st, const char *name,
                       const char *what, struct error *err) {
  int64_t n = 0;
  int rc = bind_text(st, 1, name, SECSTORE_NAME_MAX, "user name", err);
  if (rc < 0) {
    stmt_done(st);
    return rc == ERR_TOOBIG ? error_set(err, ERR_NOTFOUND, "no such user") : rc;
  }
  rc = run(s, st, what, &n, err);
  if (rc == 0 && n == 0)
    rc = error_set(err, ERR_NOTFOUND, "no user '%s'", name);
  return rc;
}

int secstore_user_set_disabled(struct secstore *s, const char *name,
                               bool disabled, int64_t now_ms,
                               struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_USER_DISABLE, err);
  if (st != NULL && bind_int(st, 2, disabled ? 1 : 0) == 0 &&
      bind_int(st, 3, now_ms) == 0)
    rc = user_update(s, st, name, "disable a user", err);
  else
    stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_user_set_password(struct secstore *s, const char *name,
                               const char *pwhash, int64_t now_ms,
                               struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_USER_PASSWD, err);
  if (st == NULL)
    goto out;
  if (pwhash == NULL || pwhash[0] == '\0')
    rc = sqlite3_bind_null(st, 2) == SQLITE_OK ? 0 : ERR_STORE;
  else
    rc = bind_text(st, 2, pwhash, SECSTORE_PWHASH_MAX, "password hash", err);
  if (rc == 0)
    rc = bind_int(st, 3, now_ms);
  if (rc == 0)
    rc = user_update(s, st, name, "set a password", err);
  else
    stmt_done(st);
out:
  unlock(s);
  return rc;
}

int secstore_user_set_role(struct secstore *s, const char *name,
                           const char *role, const char *scope, int64_t now_ms,
                           struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_USER_ROLE, err);
  if (st == NULL)
    goto out;
  rc = bind_text(st, 2, role, SECSTORE_ROLE_MAX, "role", err);
  if (rc == 0)
    rc = bind_text(st, 3, scope, SECSTORE_SCOPE_MAX, "scope", err);
  if (rc == 0)
    rc = bind_int(st, 4, now_ms);
  if (rc == 0)
    rc = user_update(s, st, name, "set a role", err);
  else
    stmt_done(st);
out:
  unlock(s);
  return rc;
}

int secstore_user_list(struct secstore *s, secstore_user_fn fn, void *ctx,
                       struct error *err) {
  sqlite3_stmt *st;
  struct secstore_user *u = mem_alloc(sizeof *u);
  int rc = ERR_STORE, step, cb = 0;
  lock(s);
  st = stmt_get(s, S_USER_LIST, err);
  if (st == NULL)
    goto out;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    read_user(st, u);
    cb = fn(ctx, u);
    if (cb != 0)
      break;
  }
  if (cb != 0)
    rc = cb;
  else if (step == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, step, "list users", err);
  stmt_done(st);
out:
  unlock(s);
  mem_free(u);
  return rc;
}

/* ---- sessions ----------------------------------------------------------- */

int secstore_session_add(struct secstore *s, const struct secstore_session *se,
                         struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_ADD, err);
  if (st == NULL)
    goto out;
  rc = bind_blob(st, 1, se->token_hash, sizeof se->token_hash);
  if (rc == 0)
    rc = bind_text(st, 2, se->user, sizeof se->user, "user name", err);
  if (rc == 0)
    rc = bind_text(st, 3, se->source, sizeof se->source, "source", err);
  if (rc == 0)
    rc = bind_text(st, 4, se->role, sizeof se->role, "role", err);
  if (rc == 0)
    rc = bind_text(st, 5, se->scope, sizeof se->scope, "scope", err);
  if (rc == 0)
    rc = bind_text(st, 6, se->csrf, sizeof se->csrf, "csrf token", err);
  if (rc == 0)
    rc = bind_text(st, 7, se->address, sizeof se->address, "address", err);
  if (rc == 0)
    rc = bind_int(st, 8, se->created_ms);
  if (rc == 0)
    rc = bind_int(st, 9, se->last_seen_ms);
  if (rc == 0)
    rc = run(s, st, "add a session", NULL, err);
  else
    stmt_done(st);
out:
  unlock(s);
  return rc;
}

int secstore_session_get(struct secstore *s,
                         const unsigned char hash[SECSTORE_HASH_BYTES],
                         struct secstore_session *out, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_GET, err);
  if (st == NULL || bind_blob(st, 1, hash, SECSTORE_HASH_BYTES) != 0)
    goto out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memset(out, 0, sizeof *out);
    memcpy(out->token_hash, hash, SECSTORE_HASH_BYTES);
    col_text(st, 0, out->user, sizeof out->user);
    col_text(st, 1, out->source, sizeof out->source);
    col_text(st, 2, out->role, sizeof out->role);
    col_text(st, 3, out->scope, sizeof out->scope);
    col_text(st, 4, out->csrf, sizeof out->csrf);
    col_text(st, 5, out->address, sizeof out->address);
    out->created_ms = sqlite3_column_int64(st, 6);
    out->last_seen_ms = sqlite3_column_int64(st, 7);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no such session");
  } else {
    rc = db_error(s->db, rc, "read a session", err);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_session_touch(struct secstore *s,
                           const unsigned char hash[SECSTORE_HASH_BYTES],
                           int64_t now_ms, struct error *err) {
  sqlite3_stmt *st;
  int64_t n = 0;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_TOUCH, err);
  if (st != NULL && bind_blob(st, 1, hash, SECSTORE_HASH_BYTES) == 0 &&
      bind_int(st, 2, now_ms) == 0) {
    rc = run(s, st, "touch a session", &n, err);
    if (rc == 0 && n == 0)
      rc = error_set(err, ERR_NOTFOUND, "no such session");
  } else {
    stmt_done(st);
  }
  unlock(s);
  return rc;
}

int secstore_session_delete(struct secstore *s,
                            const unsigned char hash[SECSTORE_HASH_BYTES],
                            struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_DELETE, err);
  if (st != NULL && bind_blob(st, 1, hash, SECSTORE_HASH_BYTES) == 0)
    rc = run(s, st, "delete a session", NULL, err);
  else
    stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_session_delete_user(struct secstore *s, const char *user,
                                 int64_t *n, struct error *err) {
  sqlite3_stmt *st;
  int64_t changes = 0;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_DELETE_USER, err);
  if (st == NULL)
    goto out;
  rc = bind_text(st, 1, user, SECSTORE_NAME_MAX, "user name", err);
  if (rc == 0)
    rc = run(s, st, "delete sessions", &changes, err);
  else
    stmt_done(st);
  if (rc == 0 && n != NULL)
    *n = changes;
out:
  unlock(s);
  return rc;
}

int secstore_session_purge(struct secstore *s, int64_t idle_before_ms,
                           int64_t created_before_ms, int64_t *n,
                           struct error *err) {
  sqlite3_stmt *st;
  int64_t changes = 0;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_SESSION_PURGE, err);
  if (st != NULL && bind_int(st, 1, idle_before_ms) == 0 &&
      bind_int(st, 2, created_before_ms) == 0)
    rc = run(s, st, "purge sessions", &changes, err);
  else
    stmt_done(st);
  if (rc == 0 && n != NULL)
    *n = changes;
  unlock(s);
  return rc;
}

/* ---- API tokens --------------------------------------------------------- */

static void read_token(sqlite3_stmt *st, struct secstore_token *t) {
  memset(t, 0, sizeof *t);
  t->id = sqlite3_column_int64(st, 0);
  col_blob(st, 1, t->token_hash, sizeof t->token_hash);
  col_text(st, 2, t->user, sizeof t->user);
  t->created_ms = sqlite3_column_int64(st, 3);
  t->expires_ms = sqlite3_column_int64(st, 4);
  t->revoked_ms = sqlite3_column_int64(st, 5);
  t->last_used_ms = sqlite3_column_int64(st, 6);
}

int secstore_token_add(struct secstore *s, const struct secstore_token *t,
                       int64_t *id, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_TOKEN_ADD, err);
  if (st == NULL)
    goto out;
  rc = bind_blob(st, 1, t->token_hash, sizeof t->token_hash);
  if (rc == 0)
    rc = bind_text(st, 2, t->user, sizeof t->user, "user name", err);
  if (rc == 0)
    rc = bind_int(st, 3, t->created_ms);
  if (rc == 0)
    rc = bind_int(st, 4, t->expires_ms);
  if (rc < 0) {
    stmt_done(st);
    goto out;
  }
  rc = run(s, st, "add a token", NULL, err);
  if (rc == ERR_STORE &&
      sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
    rc = error_set(err, ERR_NOTFOUND, "no user '%s'", t->user);
  if (rc == 0 && id != NULL)
    *id = sqlite3_last_insert_rowid(s->db);
out:
  unlock(s);
  return rc;
}

int secstore_token_get(struct secstore *s,
                       const unsigned char hash[SECSTORE_HASH_BYTES],
                       struct secstore_token *out, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_TOKEN_GET, err);
  if (st == NULL || bind_blob(st, 1, hash, SECSTORE_HASH_BYTES) != 0)
    goto out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    read_token(st, out);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no such token");
  } else {
    rc = db_error(s->db, rc, "read a token", err);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_token_touch(struct secstore *s, int64_t id, int64_t now_ms,
                         struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_TOKEN_TOUCH, err);
  if (st != NULL && bind_int(st, 1, id) == 0 && bind_int(st, 2, now_ms) == 0)
    rc = run(s, st, "touch a token", NULL, err);
  else
    stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_token_revoke(struct secstore *s, int64_t id, int64_t now_ms,
                          struct error *err) {
  sqlite3_stmt *st;
  int64_t n = 0;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_TOKEN_STATE, err);
  if (st == NULL || bind_int(st, 1, id) != 0) {
    stmt_done(st);
    goto out;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no token %lld", (long long)id);
  } else if (rc == SQLITE_ROW) {
    rc = sqlite3_column_int64(st, 0) != 0
             ? error_set(err, ERR_STATE, "token %lld is already revoked",
                         (long long)id)
             : 0;
  } else {
    rc = db_error(s->db, rc, "read a token", err);
  }
  stmt_done(st);
  if (rc < 0)
    goto out;
  st = stmt_get(s, S_TOKEN_REVOKE, err);
  if (st != NULL && bind_int(st, 1, id) == 0 && bind_int(st, 2, now_ms) == 0)
    rc = run(s, st, "revoke a token", &n, err);
  else {
    stmt_done(st);
    rc = ERR_STORE;
  }
  if (rc == 0 && n != 1)
    rc = error_set(err, ERR_STATE, "token %lld is already revoked",
                   (long long)id);
out:
  unlock(s);
  return rc;
}

int secstore_token_revoke_user(struct secstore *s, const char *user,
                               int64_t now_ms, int64_t *n, struct error *err) {
  sqlite3_stmt *st;
  int64_t changes = 0;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_TOKEN_REVOKE_USER, err);
  if (st == NULL)
    goto out;
  rc = bind_text(st, 1, user, SECSTORE_NAME_MAX, "user name", err);
  if (rc == 0)
    rc = bind_int(st, 2, now_ms);
  if (rc == 0)
    rc = run(s, st, "revoke tokens", &changes, err);
  else
    stmt_done(st);
  if (rc == 0 && n != NULL)
    *n = changes;
out:
  unlock(s);
  return rc;
}

int secstore_token_list(struct secstore *s, const char *user,
                        secstore_token_fn fn, void *ctx, struct error *err) {
  sqlite3_stmt *st;
  struct secstore_token t;
  int rc = ERR_STORE, step, cb = 0;
  lock(s);
  st = stmt_get(s, user != NULL ? S_TOKEN_LIST_USER : S_TOKEN_LIST_ALL, err);
  if (st == NULL)
    goto out;
  if (user != NULL) {
    rc = bind_text(st, 1, user, SECSTORE_NAME_MAX, "user name", err);
    if (rc < 0) {
      stmt_done(st);
      goto out;
    }
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    read_token(st, &t);
    cb = fn(ctx, &t);
    if (cb != 0)
      break;
  }
  if (cb != 0)
    rc = cb;
  else if (step == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, step, "list tokens", err);
  stmt_done(st);
out:
  unlock(s);
  return rc;
}

/* ---- throttling --------------------------------------------------------- */

static int bind_throttle_key(sqlite3_stmt *st, const char *kind,
                             const char *key, struct error *err) {
  int rc;
  if (kind == NULL || (strcmp(kind, "user") != 0 && strcmp(kind, "addr") != 0))
    return error_set(err, ERR_INVAL, "unknown throttle kind");
  rc = bind_text(st, 1, kind, 8, "throttle kind", err);
  if (rc == 0)
    rc = bind_text(st, 2, key,
                   strcmp(kind, "user") == 0 ? SECSTORE_NAME_MAX
                                             : SECSTORE_ADDRESS_MAX,
                   "throttle key", err);
  return rc;
}

int secstore_throttle_get(struct secstore *s, const char *kind, const char *key,
                          struct secstore_throttle *out, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_THROTTLE_GET, err);
  if (st == NULL)
    goto out;
  rc = bind_throttle_key(st, kind, key, err);
  if (rc < 0)
    goto out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->failures = sqlite3_column_int64(st, 0);
    out->last_failure_ms = sqlite3_column_int64(st, 1);
    out->locked_until_ms = sqlite3_column_int64(st, 2);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no throttle row");
  } else {
    rc = db_error(s->db, rc, "read throttling", err);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_throttle_put(struct secstore *s, const char *kind, const char *key,
                          const struct secstore_throttle *t,
                          struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_THROTTLE_PUT, err);
  if (st == NULL)
    goto out;
  rc = bind_throttle_key(st, kind, key, err);
  if (rc == 0)
    rc = bind_int(st, 3, t->failures);
  if (rc == 0)
    rc = bind_int(st, 4, t->last_failure_ms);
  if (rc == 0)
    rc = bind_int(st, 5, t->locked_until_ms);
  if (rc == 0) {
    rc = run(s, st, "record a failure", NULL, err);
    st = NULL;
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_throttle_clear(struct secstore *s, const char *kind,
                            const char *key, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_THROTTLE_CLEAR, err);
  if (st == NULL)
    goto out;
  rc = bind_throttle_key(st, kind, key, err);
  if (rc == 0) {
    rc = run(s, st, "clear throttling", NULL, err);
    st = NULL;
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_throttle_purge(struct secstore *s, int64_t before_ms,
                            struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_THROTTLE_PURGE, err);
  if (st != NULL && bind_int(st, 1, before_ms) == 0)
    rc = run(s, st, "purge throttling", NULL, err);
  else
    stmt_done(st);
  unlock(s);
  return rc;
}

/* ---- audit -------------------------------------------------------------- */

int secstore_audit_last(struct secstore *s, int64_t *seq,
                        unsigned char hash[SECSTORE_HASH_BYTES],
                        struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_AUDIT_LAST, err);
  if (st == NULL)
    goto out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *seq = sqlite3_column_int64(st, 0);
    col_blob(st, 1, hash, SECSTORE_HASH_BYTES);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    *seq = 0;
    memset(hash, 0, SECSTORE_HASH_BYTES);
    rc = 0;
  } else {
    rc = db_error(s->db, rc, "read the audit log", err);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_audit_insert(struct secstore *s,
                          const struct secstore_audit_row *r,
                          struct error *err) {
  static const char *const names[] = {"user",    "role",      "action",
                                      "subject", "unit",      "reason",
                                      "address", "request id"};
  const char *v[8];
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  v[0] = r->user;
  v[1] = r->role;
  v[2] = r->action;
  v[3] = r->subject;
  v[4] = r->unit;
  v[5] = r->reason;
  v[6] = r->address;
  v[7] = r->request_id;
  lock(s);
  st = stmt_get(s, S_AUDIT_INSERT, err);
  if (st == NULL)
    goto out;
  rc = bind_int(st, 1, r->seq);
  if (rc == 0)
    rc = bind_int(st, 2, r->at_ms);
  for (int i = 0; i < 8 && rc == 0; i++)
    rc = bind_text(st, 3 + i, v[i], 4096, names[i], err);
  if (rc == 0)
    rc = bind_blob(st, 11, r->hash, SECSTORE_HASH_BYTES);
  if (rc == 0) {
    rc = run(s, st, "append to the audit log", NULL, err);
    st = NULL;
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

/* Walks the rows of an audit statement that is bound and ready. */
static int audit_walk(struct secstore *s, sqlite3_stmt *st,
                      secstore_audit_fn fn, void *ctx, struct error *err) {
  struct secstore_audit_row r;
  int rc, step, cb = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    memset(&r, 0, sizeof r);
    r.seq = sqlite3_column_int64(st, 0);
    r.at_ms = sqlite3_column_int64(st, 1);
    r.user = col_str(st, 2);
    r.role = col_str(st, 3);
    r.action = col_str(st, 4);
    r.subject = col_str(st, 5);
    r.unit = col_str(st, 6);
    r.reason = col_str(st, 7);
    r.address = col_str(st, 8);
    r.request_id = col_str(st, 9);
    col_blob(st, 10, r.hash, sizeof r.hash);
    cb = fn(ctx, &r);
    if (cb != 0)
      break;
  }
  if (cb != 0)
    rc = cb;
  else if (step == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, step, "read the audit log", err);
  stmt_done(st);
  return rc;
}

int secstore_audit_scan(struct secstore *s, int64_t from_seq,
                        secstore_audit_fn fn, void *ctx, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_AUDIT_SCAN, err);
  if (st != NULL && bind_int(st, 1, from_seq) == 0)
    rc = audit_walk(s, st, fn, ctx, err);
  else
    stmt_done(st);
  unlock(s);
  return rc;
}

static int audit_by(struct secstore *s, enum stmt_id id, const char *value,
                    secstore_audit_fn fn, void *ctx, struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, id, err);
  if (st == NULL)
    goto out;
  rc = bind_text(st, 1, value, 4096, "search value", err);
  if (rc == 0)
    rc = audit_walk(s, st, fn, ctx, err);
  else
    stmt_done(st);
out:
  unlock(s);
  return rc;
}

int secstore_audit_by_subject(struct secstore *s, const char *subject,
                              secstore_audit_fn fn, void *ctx,
                              struct error *err) {
  return audit_by(s, S_AUDIT_SUBJECT, subject, fn, ctx, err);
}

int secstore_audit_by_user(struct secstore *s, const char *user,
                           secstore_audit_fn fn, void *ctx, struct error *err) {
  return audit_by(s, S_AUDIT_USER, user, fn, ctx, err);
}

static void read_checkpoint(sqlite3_stmt *st, struct secstore_checkpoint *cp) {
  memset(cp, 0, sizeof *cp);
  cp->id = sqlite3_column_int64(st, 0);
  cp->at_ms = sqlite3_column_int64(st, 1);
  cp->count = sqlite3_column_int64(st, 2);
  col_blob(st, 3, cp->head, sizeof cp->head);
  col_text(st, 4, cp->kind, sizeof cp->kind);
  col_blob(st, 5, cp->public_key, sizeof cp->public_key);
  col_blob(st, 6, cp->signature, sizeof cp->signature);
}

int secstore_checkpoint_add(struct secstore *s,
                            const struct secstore_checkpoint *cp, int64_t *id,
                            struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_CP_ADD, err);
  if (st == NULL)
    goto out;
  rc = bind_int(st, 1, cp->at_ms);
  if (rc == 0)
    rc = bind_int(st, 2, cp->count);
  if (rc == 0)
    rc = bind_blob(st, 3, cp->head, sizeof cp->head);
  if (rc == 0)
    rc = bind_text(st, 4, cp->kind, sizeof cp->kind, "checkpoint kind", err);
  if (rc == 0)
    rc = bind_blob(st, 5, cp->public_key, sizeof cp->public_key);
  if (rc == 0)
    rc = bind_blob(st, 6, cp->signature, sizeof cp->signature);
  if (rc == 0) {
    rc = run(s, st, "add a checkpoint", NULL, err);
    st = NULL;
    if (rc == 0 && id != NULL)
      *id = sqlite3_last_insert_rowid(s->db);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_checkpoint_last(struct secstore *s,
                             struct secstore_checkpoint *out,
                             struct error *err) {
  sqlite3_stmt *st;
  int rc = ERR_STORE;
  lock(s);
  st = stmt_get(s, S_CP_LAST, err);
  if (st == NULL)
    goto out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    read_checkpoint(st, out);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = error_set(err, ERR_NOTFOUND, "no checkpoint");
  } else {
    rc = db_error(s->db, rc, "read checkpoints", err);
  }
out:
  stmt_done(st);
  unlock(s);
  return rc;
}

int secstore_checkpoint_list(struct secstore *s, secstore_checkpoint_fn fn,
                             void *ctx, struct error *err) {
  sqlite3_stmt *st;
  struct secstore_checkpoint cp;
  int rc = ERR_STORE, step, cb = 0;
  lock(s);
  st = stmt_get(s, S_CP_LIST, err);
  if (st == NULL)
    goto out;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    read_checkpoint(st, &cp);
    cb = fn(ctx, &cp);
    if (cb != 0)
      break;
  }
  if (cb != 0)
    rc = cb;
  else if (step == SQLITE_DONE)
    rc = 0;
  else
    rc = db_error(s->db, step, "read checkpoints", err);
  stmt_done(st);
out:
  unlock(s);
  return rc;
}
