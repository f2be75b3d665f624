/* test_store.c -- unit tests for the event store (store.c, store_sqlite.c).
 *
 * Every test works on a fresh database in its own temporary directory.
 * Counts the store reports are checked against the expected values and,
 * where it matters, against the rows themselves read with sqlite3 directly.
 * The crash test forks a writer, kills it with SIGKILL at a random point
 * (seed printed; TK_TEST_SEED repeats a run) and checks that every
 * transaction the writer saw committed is there, and nothing half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "store.h"
#include "store_int.h"

struct fixture {
  char dir[64];
  char path[128];
};

static int setup(void **state) {
  struct fixture *f = mem_calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/tk-store-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/tk.db", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[512];
  if (d != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  mem_free(f);
  return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static struct store *open_ok(const char *path, int flags) {
  struct store *st = NULL;
  struct error err;
  error_clear(&err);
  if (store_open(path, flags, &st, &err) != 0)
    fail_msg("store_open '%s' failed: %s", path, err.msg);
  assert_non_null(st);
  return st;
}

static void ok(int rc, const struct error *err) {
  if (rc != 0)
    fail_msg("expected 0, got %s: %s", err_name(rc), err->msg);
}

static void digest_of(const char *key, unsigned char d[STORE_DIGEST_BYTES]) {
  size_t i, n = strlen(key);
  for (i = 0; i < STORE_DIGEST_BYTES; i++)
    d[i] = (unsigned char)(key[i % n] * 31 + (int)i);
}

static int64_t put_msg(struct store *st, const char *channel, const char *key) {
  struct store_message m;
  struct error err;
  int64_t id = -1;
  char payload[64];
  memset(&m, 0, sizeof m);
  snprintf(payload, sizeof payload, "sealed:%s:%s", channel, key);
  m.channel = channel;
  m.source_key = key;
  m.msg_type = "ADT^A01";
  m.received_at = 1700000000000;
  digest_of(key, m.digest);
  m.sealed = (const unsigned char *)payload;
  m.sealed_len = strlen(payload);
  m.flags = 0;
  ok(store_message_put(st, &m, &id, &err), &err);
  assert_true(id > 0);
  return id;
}

static void make_event(struct event *ev, const char *channel, const char *key,
                       enum event_kind kind, const char *unit) {
  event_init(ev);
  (void)event_set_str(ev->channel, sizeof ev->channel, channel,
                      strlen(channel));
  (void)event_set_str(ev->source_key, sizeof ev->source_key, key, strlen(key));
  ev->kind = kind;
  ev->occurred_at = 1700000000000;
  ev->local_date = 19675;
  (void)event_set_str(ev->unit, sizeof ev->unit, unit, strlen(unit));
  strcpy(ev->subject, "0123456789abcdef0123456789abcdef");
  strcpy(ev->episode, "fedcba9876543210fedcba9876543210");
}

static int64_t append(struct store *st, int64_t msg_id, const char *channel,
                      const char *key, enum event_kind kind) {
  struct event ev;
  struct error err;
  make_event(&ev, channel, key, kind, "u.ward1");
  ok(store_event_append(st, msg_id, &ev, &err), &err);
  assert_true(ev.seq > 0);
  return ev.seq;
}

static struct store_status status_of(struct store *st) {
  struct store_status s;
  struct error err;
  ok(store_status_get(st, &s, &err), &err);
  return s;
}

/* One integer from SQL run on the file directly, read-only. */
static int64_t raw_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

static void raw_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* ---- opening and migrations --------------------------------------------- */

static void test_create_migrate_reopen(void **state) {
  struct fixture *f = *state;
  struct store *st;
  struct store_status s;
  struct error err;
  char v[16];
  bool found = false;
  int k;

  st = open_ok(f->path, STORE_CREATE);
  ok(store_meta_get(st, "schema_version", v, sizeof v, &found, &err), &err);
  assert_true(found);
  assert_int_equal(atoi(v), store_sqlite_schema_version());
  s = status_of(st);
  assert_int_equal(s.accepted, 0);
  assert_int_equal(s.events_total, 0);
  assert_int_equal(s.last_seq, 0);
  for (k = 0; k < EV__COUNT; k++)
    assert_int_equal(s.by_kind[k], 0);
  store_close(st);

  assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 0x546b4331);
  assert_int_equal(raw_int(f->path,
                           "SELECT count(*) FROM sqlite_schema WHERE name IN "
                           "('messages','events','dead_letters','counters',"
                           "'meta','dead_letters_status')"),
                   6);
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }

  /* reopen: as writer without create, as reader, with the sqlite: prefix,
   * and once more with create (nothing to migrate) */
  st = open_ok(f->path, 0);
  store_close(st);
  st = open_ok(f->path, STORE_READONLY);
  s = status_of(st);
  assert_int_equal(s.accepted, 0);
  store_close(st);
  {
    char loc[160];
    snprintf(loc, sizeof loc, "sqlite:%s", f->path);
    st = open_ok(loc, STORE_CREATE);
    store_close(st);
  }
  store_close(NULL);
}

static void test_open_errors(void **state) {
  struct fixture *f = *state;
  struct store *st = NULL;
  struct error err;
  char other[160];
  int fd;

  assert_int_equal(store_open(f->path, 0, &st, &err), ERR_NOTFOUND);
  assert_int_equal(store_open(f->path, STORE_READONLY, &st, &err),
                   ERR_NOTFOUND);
  assert_int_equal(
      store_open(f->path, STORE_READONLY | STORE_CREATE, &st, &err), ERR_INVAL);
  assert_int_equal(store_open("postgresql://db/tk", 0, &st, &err),
                   ERR_UNSUPPORTED);
  assert_int_equal(store_open("sqlite:", 0, &st, &err), ERR_INVAL);
  assert_null(st);

  /* an empty file is not an initialised store */
  snprintf(other, sizeof other, "%s/empty.db", f->dir);
  fd = open(other, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  error_clear(&err);
  assert_int_equal(store_open(other, 0, &st, &err), ERR_STATE);
  assert_non_null(strstr(err.msg, "not initialised"));

  /* somebody else's database */
  snprintf(other, sizeof other, "%s/foreign.db", f->dir);
  raw_exec(other, "CREATE TABLE t (x INTEGER)");
  error_clear(&err);
  assert_int_equal(store_open(other, STORE_CREATE, &st, &err), ERR_STORE);
  assert_non_null(strstr(err.msg, "not a tilannekuva database"));

  /* a schema newer than this build */
  st = open_ok(f->path, STORE_CREATE);
  store_close(st);
  st = NULL;
  raw_exec(f->path,
           "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  error_clear(&err);
  assert_int_equal(store_open(f->path, STORE_CREATE, &st, &err),
                   ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "schema version 99 is newer"));
  assert_int_equal(store_open(f->path, STORE_READONLY, &st, &err),
                   ERR_UNSUPPORTED);
  assert_null(st);
}

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  char *s;
  long n;
  if (fp == NULL)
    fail_msg("cannot read '%s'", path);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  s = mem_alloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
  s[n] = '\0';
  fclose(fp);
  return s;
}

static void test_migration_files_match_embedded(void **state) {
  const char *root = getenv("TK_SOURCE_ROOT");
  char dir[512], path[600];
  int v, known = store_sqlite_schema_version();
  size_t files = 0;
  DIR *d;
  struct dirent *e;
  (void)state;
  if (root == NULL)
    skip(); /* meson sets it; a bare run of the binary cannot know */
  snprintf(dir, sizeof dir, "%s/sql/sqlite", root);
  assert_true(known >= 1);
  for (v = 1; v <= known; v++) {
    char *text;
    char num[16];
    const char *file = store_sqlite_migration_file(v);
    assert_non_null(file);
    snprintf(num, sizeof num, "%03d_", v);
    assert_memory_equal(file, num, 4);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    text = slurp(path);
    assert_string_equal(text, store_sqlite_migration(v));
    mem_free(text);
  }
  assert_null(store_sqlite_migration(known + 1));
  assert_null(store_sqlite_migration(0));
  /* every .sql file there is embedded */
  d = opendir(dir);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0)
      files++;
  }
  closedir(d);
  assert_int_equal(files, (size_t)known);
}

/* ---- messages and events ------------------------------------------------ */

static void test_message_put_lookup_duplicate(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_message m;
  struct error err;
  unsigned char d[STORE_DIGEST_BYTES], want[STORE_DIGEST_BYTES];
  int64_t id1, id2, id3 = 777;
  bool found = true;

  ok(store_begin(st, &err), &err);
  id1 = put_msg(st, "lifecare", "MSG0001");
  id2 = put_msg(st, "lifecare", "MSG0002");
  assert_true(id2 > id1);
  /* the same key on another channel is another message */
  put_msg(st, "pegasos", "MSG0001");

  memset(&m, 0, sizeof m);
  m.channel = "lifecare";
  m.source_key = "MSG0001";
  m.msg_type = "ADT^A08";
  m.sealed = (const unsigned char *)"x";
  m.sealed_len = 1;
  error_clear(&err);
  assert_int_equal(store_message_put(st, &m, &id3, &err), ERR_EXISTS);
  assert_int_equal(id3, 777);
  assert_non_null(strstr(err.msg, "already stored"));
  /* the transaction is still usable after the refused row */
  put_msg(st, "lifecare", "MSG0003");
  ok(store_commit(st, &err), &err);

  ok(store_message_lookup(st, "lifecare", "MSG0002", &found, d, &err), &err);
  assert_true(found);
  digest_of("MSG0002", want);
  assert_memory_equal(d, want, sizeof d);
  ok(store_message_lookup(st, "lifecare", "MSG0001", &found, NULL, &err), &err);
  assert_true(found);
  memset(d, 0xEE, sizeof d);
  ok(store_message_lookup(st, "lifecare", "MSG9999", &found, d, &err), &err);
  assert_false(found);
  assert_int_equal(d[0], 0xEE);
  assert_int_equal(status_of(st).accepted, 4);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"), 4);
  assert_int_equal(raw_int(f->path,
                           "SELECT length(payload) FROM messages WHERE "
                           "source_key = 'MSG0003'"),
                   (int64_t)strlen("sealed:lifecare:MSG0003"));
  store_close(st);
}

static void test_event_append_seq(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct event ev;
  struct error err;
  int64_t msg, prev = 0, seq;
  int i, t;

  for (t = 0; t < 3; t++) {
    char key[32];
    ok(store_begin(st, &err), &err);
    snprintf(key, sizeof key, "M%d", t);
    msg = put_msg(st, "c", key);
    for (i = 0; i < 4; i++) {
      seq = append(st, msg, "c", key, EV_ADMITTED + i);
      assert_true(seq > prev);
      prev = seq;
    }
    ok(store_commit(st, &err), &err);
  }
  assert_int_equal(status_of(st).last_seq, prev);
  assert_int_equal(prev, 12);

  ok(store_begin(st, &err), &err);
  make_event(&ev, "c", "k", EV_ADMITTED, "u");
  error_clear(&err);
  assert_int_equal(store_event_append(st, 9999, &ev, &err), ERR_NOTFOUND);
  assert_int_equal(ev.seq, 0);
  ev.kind = EV_NONE;
  assert_int_equal(store_event_append(st, 1, &ev, &err), ERR_INVAL);
  ev.kind = (enum event_kind)EV__COUNT;
  assert_int_equal(store_event_append(st, 1, &ev, &err), ERR_INVAL);
  ev.kind = EV_DISCHARGED;
  assert_int_equal(store_event_append(st, 0, &ev, &err), ERR_INVAL);
  ok(store_commit(st, &err), &err);
  assert_int_equal(status_of(st).events_total, 12);
  store_close(st);

  /* the log is append-only even to plain SQL, so no seq is ever reused */
  {
    sqlite3 *db = NULL;
    char *why = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DELETE FROM events WHERE seq = 12", NULL, NULL, &why),
        SQLITE_CONSTRAINT);
    assert_string_equal(why, "events are append-only");
    sqlite3_free(why);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE events SET unit = 'x'", NULL, NULL, NULL),
        SQLITE_CONSTRAINT);
    sqlite3_close(db);
  }
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"), 12);
}

static void test_rollback_discards(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_status before, after;
  struct store_dead_letter d;
  struct error err;
  int64_t msg, seq1, seq2, dl = 0;
  bool found = true;
  char v[8];

  ok(store_begin(st, &err), &err);
  msg = put_msg(st, "c", "A");
  seq1 = append(st, msg, "c", "A", EV_ADMITTED);
  ok(store_counter_add(st, "c", STORE_C_REJECTED, 2, &err), &err);
  ok(store_commit(st, &err), &err);
  before = status_of(st);

  ok(store_begin(st, &err), &err);
  msg = put_msg(st, "c", "B");
  append(st, msg, "c", "B", EV_DISCHARGED);
  ok(store_counter_add(st, "c", STORE_C_REJECTED, 5, &err), &err);
  ok(store_counter_add(st, "c", STORE_C_DUPLICATES, 1, &err), &err);
  memset(&d, 0, sizeof d);
  d.channel = "c";
  d.reason = "bad";
  ok(store_dead_letter_put(st, &d, &dl, &err), &err);
  ok(store_meta_put(st, "k", "v", &err), &err);
  /* the writer sees its own transaction */
  assert_int_equal(status_of(st).accepted, 2);
  assert_int_equal(status_of(st).rejected, 7);
  store_rollback(st);
  store_rollback(st); /* no transaction: nothing happens */

  after = status_of(st);
  assert_memory_equal(&after, &before, sizeof after);
  assert_int_equal(after.rejected, 2);
  assert_int_equal(after.accepted, 1);
  ok(store_message_lookup(st, "c", "B", &found, NULL, &err), &err);
  assert_false(found);
  ok(store_meta_get(st, "k", v, sizeof v, &found, &err), &err);
  assert_false(found);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM dead_letters"), 0);

  ok(store_begin(st, &err), &err);
  msg = put_msg(st, "c", "B");
  seq2 = append(st, msg, "c", "B", EV_DISCHARGED);
  ok(store_commit(st, &err), &err);
  assert_true(seq2 > seq1);
  assert_int_equal(status_of(st).accepted, 2);
  store_close(st);
}

static void test_state_and_argument_errors(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store *ro;
  struct store_message m;
  struct error err;
  char longkey[EVENT_KEY_MAX + 10];
  int64_t id = 0;

  memset(&m, 0, sizeof m);
  m.channel = "c";
  m.source_key = "k";
  m.msg_type = "ADT^A01";
  assert_int_equal(store_message_put(st, &m, &id, &err), ERR_STATE);
  assert_int_equal(store_counter_add(st, "c", STORE_C_ERRORS, 1, &err),
                   ERR_STATE);
  /* one-row administrative writes may run on their own */
  ok(store_meta_put(st, "a", "b", &err), &err);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM meta WHERE key = "
                                    "'a' AND value = 'b'"),
                   1);
  assert_int_equal(store_dead_letter_mark(st, 42, 1, &err), ERR_NOTFOUND);
  assert_int_equal(store_commit(st, &err), ERR_STATE);
  ok(store_begin(st, &err), &err);
  assert_int_equal(store_begin(st, &err), ERR_STATE);
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  m.source_key = longkey;
  assert_int_equal(store_message_put(st, &m, &id, &err), ERR_TOOBIG);
  m.source_key = "k";
  m.msg_type = "ADT^A01^ADT_A01^and-much-more-than-fits";
  assert_int_equal(store_message_put(st, &m, &id, &err), ERR_TOOBIG);
  m.msg_type = NULL;
  assert_int_equal(store_message_put(st, &m, &id, &err), ERR_INVAL);
  m.msg_type = "ADT^A01";
  m.sealed_len = 5; /* but no bytes */
  assert_int_equal(store_message_put(st, &m, &id, &err), ERR_INVAL);
  assert_int_equal(id, 0);
  assert_int_equal(
      store_counter_add(st, "c", (enum store_counter)STORE_C__COUNT, 1, &err),
      ERR_INVAL);
  assert_int_equal(store_meta_put(st, "schema_version", "7", &err), ERR_DENIED);
  assert_int_equal(store_dead_letter_mark(st, 1, 3, &err), ERR_INVAL);
  ok(store_commit(st, &err), &err);

  ro = open_ok(f->path, STORE_READONLY);
  /* a reader may hold a snapshot, but not write */
  ok(store_begin(ro, &err), &err);
  assert_int_equal(store_message_put(ro, &m, &id, &err), ERR_DENIED);
  assert_int_equal(store_counter_add(ro, "c", STORE_C_ERRORS, 1, &err),
                   ERR_DENIED);
  assert_int_equal(store_meta_put(ro, "a", "b", &err), ERR_DENIED);
  ok(store_commit(ro, &err), &err);
  store_close(ro);
  store_close(st);
}

/* ---- status ------------------------------------------------------------- */

static void test_status_counts_exact(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_status s;
  struct store_dead_letter d;
  struct error err;
  int64_t m, last = 0, dl;
  int i;

  ok(store_begin(st, &err), &err);
  for (i = 0; i < 7; i++) {
    char key[16];
    snprintf(key, sizeof key, "L%d", i);
    m = put_msg(st, "lifecare", key);
    last = append(st, m, "lifecare", key, EV_ADMITTED);
    if (i % 2 == 0)
      last = append(st, m, "lifecare", key, EV_TRANSFERRED);
  }
  ok(store_commit(st, &err), &err);
  ok(store_begin(st, &err), &err);
  for (i = 0; i < 3; i++) {
    char key[16];
    snprintf(key, sizeof key, "P%d", i);
    m = put_msg(st, "pegasos", key);
    last = append(st, m, "pegasos", key, EV_DISCHARGED);
  }
  ok(store_counter_add(st, "lifecare", STORE_C_DUPLICATES, 2, &err), &err);
  ok(store_counter_add(st, "pegasos", STORE_C_DUPLICATES, 1, &err), &err);
  ok(store_counter_add(st, "lifecare", STORE_C_REJECTED, 4, &err), &err);
  ok(store_counter_add(st, "", STORE_C_ERRORS, 3, &err), &err);
  ok(store_counter_add(st, "pegasos", STORE_C_UNVERIFIED_ID, 6, &err), &err);
  ok(store_counter_add(st, "pegasos", STORE_C_UNVERIFIED_ID, -1, &err), &err);
  memset(&d, 0, sizeof d);
  d.channel = "";
  d.ack_code = "AR";
  d.reason = "no MSH segment";
  ok(store_dead_letter_put(st, &d, &dl, &err), &err);
  d.channel = "lifecare";
  ok(store_dead_letter_put(st, &d, &dl, &err), &err);
  ok(store_commit(st, &err), &err);

  s = status_of(st);
  assert_int_equal(s.accepted, 10);
  assert_int_equal(s.duplicates, 3);
  assert_int_equal(s.rejected, 4);
  assert_int_equal(s.errors, 3);
  assert_int_equal(s.unverified_id, 5);
  assert_int_equal(s.dead_letters, 2);
  assert_int_equal(s.events_total, 14);
  assert_int_equal(s.by_kind[EV_ADMITTED], 7);
  assert_int_equal(s.by_kind[EV_TRANSFERRED], 4);
  assert_int_equal(s.by_kind[EV_DISCHARGED], 3);
  assert_int_equal(s.by_kind[EV_NONE], 0);
  assert_int_equal(s.by_kind[EV_UPDATED], 0);
  assert_int_equal(s.last_seq, last);
  store_close(st);

  /* and the rows agree */
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"),
                   s.accepted);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events"),
                   s.events_total);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM dead_letters"),
                   s.dead_letters);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events WHERE "
                                    "kind = 'episode.transferred'"),
                   4);
  assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM events"), last);
  assert_int_equal(raw_int(f->path, "SELECT value FROM counters WHERE "
                                    "channel = 'pegasos' AND name = "
                                    "'events.episode.discharged'"),
                   3);

  /* a reader reports the same */
  st = open_ok(f->path, STORE_READONLY);
  {
    struct store_status r = status_of(st);
    assert_memory_equal(&r, &s, sizeof r);
  }
  store_close(st);
}

/* ---- scanning ----------------------------------------------------------- */

struct collect {
  struct store *st;
  int64_t seqs[64];
  int n, stop_at, ret, nested_rc;
};

static int collect_cb(void *ctx, const struct event *ev) {
  struct collect *c = ctx;
  c->seqs[c->n++] = ev->seq;
  if (c->st != NULL)
    c->nested_rc = store_events_scan(c->st, 0, collect_cb, c, NULL);
  if (c->stop_at > 0 && c->n == c->stop_at)
    return c->ret;
  return 0;
}

static void test_scan_order_and_stop(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct collect c;
  struct error err;
  int64_t m, seqs[10];
  int i;

  ok(store_begin(st, &err), &err);
  m = put_msg(st, "c", "k");
  for (i = 0; i < 10; i++)
    seqs[i] = append(st, m, "c", "k", (enum event_kind)(1 + i % 5));
  ok(store_commit(st, &err), &err);

  memset(&c, 0, sizeof c);
  ok(store_events_scan(st, 0, collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 10);
  for (i = 0; i < 10; i++)
    assert_int_equal(c.seqs[i], seqs[i]);

  memset(&c, 0, sizeof c);
  ok(store_events_scan(st, seqs[4], collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 5);
  assert_int_equal(c.seqs[0], seqs[5]);
  assert_int_equal(c.seqs[4], seqs[9]);

  memset(&c, 0, sizeof c);
  c.stop_at = 3;
  c.ret = 42;
  assert_int_equal(store_events_scan(st, 0, collect_cb, &c, &err), 42);
  assert_int_equal(c.n, 3);

  memset(&c, 0, sizeof c);
  c.stop_at = 2;
  c.ret = ERR_IO;
  assert_int_equal(store_events_scan(st, 0, collect_cb, &c, &err), ERR_IO);
  assert_int_equal(c.n, 2);

  /* a scan inside a scan is refused, the outer one goes on */
  memset(&c, 0, sizeof c);
  c.st = st;
  ok(store_events_scan(st, seqs[7], collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.nested_rc, ERR_STATE);

  /* after the last: nothing */
  memset(&c, 0, sizeof c);
  ok(store_events_scan(st, seqs[9], collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 0);
  store_close(st);
}

struct one_event {
  struct event ev;
  int n;
};

static int keep_cb(void *ctx, const struct event *ev) {
  struct one_event *o = ctx;
  o->ev = *ev;
  o->n++;
  return 0;
}

static void test_attrs_round_trip(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct event ev;
  struct one_event got;
  struct error err;
  int64_t m;

  ok(store_begin(st, &err), &err);
  m = put_msg(st, "effica", "E1");
  make_event(&ev, "effica", "E1", EV_TRANSFERRED, "u.sisat\xc3\xb6");
  strcpy(ev.attrs.bed, "12\"B\\");
  strcpy(ev.attrs.from_unit, "u.p\xc3\xa4ivystys");
  strcpy(ev.attrs.from_bed, "3");
  strcpy(ev.attrs.patient_class, "I");
  ev.attrs.age_band = 85;
  ev.attrs.sex = 'F';
  ev.attrs.flags = EVENT_F_EMERGENCY | EVENT_F_UNVERIFIED_ID;
  ev.attrs.expected_discharge = 1700086400000;
  ev.attrs.ready_since = 1700000100000;
  ev.attrs.cancels_time = -1;
  ev.occurred_at = -86400000; /* before the epoch is a valid time */
  ev.local_date = -1;
  ok(store_event_append(st, m, &ev, &err), &err);
  ok(store_commit(st, &err), &err);
  store_close(st);

  st = open_ok(f->path, STORE_READONLY);
  memset(&got, 0, sizeof got);
  ok(store_events_scan(st, 0, keep_cb, &got, &err), &err);
  assert_int_equal(got.n, 1);
  assert_int_equal(got.ev.seq, ev.seq);
  assert_string_equal(got.ev.channel, "effica");
  assert_string_equal(got.ev.source_key, "E1");
  assert_int_equal(got.ev.kind, EV_TRANSFERRED);
  assert_int_equal(got.ev.occurred_at, -86400000);
  assert_int_equal(got.ev.local_date, -1);
  assert_string_equal(got.ev.unit, "u.sisat\xc3\xb6");
  assert_string_equal(got.ev.subject, ev.subject);
  assert_string_equal(got.ev.episode, ev.episode);
  assert_memory_equal(&got.ev.attrs, &ev.attrs, sizeof ev.attrs);
  store_close(st);
  {
    /* stored as the compact JSON event.c writes */
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT json_extract(attrs, '$.bed'), "
                                        "json_extract(attrs, '$.age_band') "
                                        "FROM events",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "12\"B\\");
    assert_int_equal(sqlite3_column_int(stmt, 1), 85);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
}

/* ---- dead letters, counters, meta --------------------------------------- */

struct dl_list {
  int64_t ids[16];
  char reasons[16][STORE_REASON_MAX];
  size_t lens[16];
  int n;
};

static int dl_cb(void *ctx, const struct store_dead_letter_row *row) {
  struct dl_list *l = ctx;
  l->ids[l->n] = row->id;
  snprintf(l->reasons[l->n], sizeof l->reasons[0], "%s", row->reason);
  l->lens[l->n] = row->sealed_len;
  l->n++;
  return 0;
}

static void test_dead_letters(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_dead_letter d;
  struct store_dead_letter_row row;
  struct dl_list l;
  struct error err;
  unsigned char payload[300];
  char reason[400];
  int64_t id1 = 0, id2 = 0, id3 = 0;
  size_t i;

  for (i = 0; i < sizeof payload; i++)
    payload[i] = (unsigned char)(i * 7);
  memset(reason, 'r', sizeof reason - 1);
  reason[sizeof reason - 1] = '\0';

  ok(store_begin(st, &err), &err);
  memset(&d, 0, sizeof d);
  d.channel = "lifecare";
  d.source_key = "MSG7";
  d.msg_type = "ADT^A02";
  d.received_at = 1700000000123;
  d.ack_code = "AE";
  d.reason = "unknown ward code 'X9'";
  d.location = "PV1-3";
  d.sealed = payload;
  d.sealed_len = sizeof payload;
  ok(store_dead_letter_put(st, &d, &id1, &err), &err);
  memset(&d, 0, sizeof d); /* unreadable input: nothing known */
  ok(store_dead_letter_put(st, &d, &id2, &err), &err);
  d.reason = reason; /* too long: kept, truncated */
  d.channel = "pegasos";
  d.ack_code = "AR";
  ok(store_dead_letter_put(st, &d, &id3, &err), &err);
  ok(store_commit(st, &err), &err);
  assert_true(id1 < id2 && id2 < id3);

  ok(store_dead_letter_get(st, id1, &row, &err), &err);
  assert_int_equal(row.id, id1);
  assert_string_equal(row.channel, "lifecare");
  assert_string_equal(row.source_key, "MSG7");
  assert_string_equal(row.msg_type, "ADT^A02");
  assert_int_equal(row.received_at, 1700000000123);
  assert_string_equal(row.ack_code, "AE");
  assert_string_equal(row.reason, "unknown ward code 'X9'");
  assert_string_equal(row.location, "PV1-3");
  assert_int_equal(row.status, 0);
  assert_int_equal(row.sealed_len, sizeof payload);
  assert_memory_equal(row.sealed, payload, sizeof payload);
  store_dead_letter_row_release(&row);
  assert_null(row.sealed);
  store_dead_letter_row_release(NULL);

  ok(store_dead_letter_get(st, id2, &row, &err), &err);
  assert_string_equal(row.channel, "");
  assert_string_equal(row.reason, "");
  assert_null(row.sealed);
  assert_int_equal(row.sealed_len, 0);
  store_dead_letter_row_release(&row);
  ok(store_dead_letter_get(st, id3, &row, &err), &err);
  assert_int_equal(strlen(row.reason), STORE_REASON_MAX - 1);
  store_dead_letter_row_release(&row);
  assert_int_equal(store_dead_letter_get(st, 9999, &row, &err), ERR_NOTFOUND);

  /* newest first, at most max */
  memset(&l, 0, sizeof l);
  ok(store_dead_letters_list(st, 0, 2, dl_cb, &l, &err), &err);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.ids[0], id3);
  assert_int_equal(l.ids[1], id2);

  ok(store_begin(st, &err), &err);
  ok(store_dead_letter_mark(st, id1, 1, &err), &err);
  assert_int_equal(store_dead_letter_mark(st, 9999, 1, &err), ERR_NOTFOUND);
  ok(store_commit(st, &err), &err);
  ok(store_dead_letter_mark(st, id2, 2, &err), &err); /* on its own */

  memset(&l, 0, sizeof l);
  ok(store_dead_letters_list(st, 0, 10, dl_cb, &l, &err), &err);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.ids[0], id3);
  memset(&l, 0, sizeof l);
  ok(store_dead_letters_list(st, 1, 10, dl_cb, &l, &err), &err);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.ids[0], id1);
  assert_string_equal(l.reasons[0], "unknown ward code 'X9'");
  assert_int_equal(l.lens[0], sizeof payload);
  memset(&l, 0, sizeof l);
  ok(store_dead_letters_list(st, -1, 10, dl_cb, &l, &err), &err);
  assert_int_equal(l.n, 3);
  assert_int_equal(l.ids[0], id3);
  assert_int_equal(l.ids[2], id1);
  assert_int_equal(store_dead_letters_list(st, 3, 10, dl_cb, &l, &err),
                   ERR_INVAL);
  ok(store_dead_letter_get(st, id1, &row, &err), &err);
  assert_int_equal(row.status, 1);
  store_dead_letter_row_release(&row);
  /* marking does not change the count */
  assert_int_equal(status_of(st).dead_letters, 3);
  store_close(st);
}

static void test_counters_and_meta(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_status s;
  struct error err;
  char v[32], small[4];
  bool found = false;
  int t;

  for (t = 0; t < 3; t++) {
    ok(store_begin(st, &err), &err);
    ok(store_counter_add(st, "a", STORE_C_DUPLICATES, 1, &err), &err);
    ok(store_counter_add(st, "b", STORE_C_DUPLICATES, 10, &err), &err);
    ok(store_counter_add(st, "a", STORE_C_ERRORS, 100, &err), &err);
    ok(store_counter_add(st, "a", STORE_C_ACCEPTED, 5, &err), &err);
    ok(store_commit(st, &err), &err);
  }
  s = status_of(st);
  assert_int_equal(s.duplicates, 33);
  assert_int_equal(s.errors, 300);
  /* accepted is the stored messages, not what callers said */
  assert_int_equal(s.accepted, 0);
  assert_int_equal(raw_int(f->path, "SELECT value FROM counters WHERE "
                                    "channel = 'b' AND name = 'duplicates'"),
                   30);
  assert_int_equal(raw_int(f->path, "SELECT value FROM counters WHERE "
                                    "channel = 'a' AND name = 'accepted'"),
                   15);

  ok(store_meta_get(st, "retention", v, sizeof v, &found, &err), &err);
  assert_false(found);
  ok(store_begin(st, &err), &err);
  ok(store_meta_put(st, "retention", "10y", &err), &err);
  ok(store_meta_put(st, "county", "Pohjois-Pohjanmaa", &err), &err);
  ok(store_meta_put(st, "retention", "12y", &err), &err);
  ok(store_commit(st, &err), &err);
  ok(store_meta_get(st, "retention", v, sizeof v, &found, &err), &err);
  assert_true(found);
  assert_string_equal(v, "12y");
  found = false;
  strcpy(small, "xyz");
  assert_int_equal(
      store_meta_get(st, "county", small, sizeof small, &found, &err),
      ERR_TOOBIG);
  assert_false(found);
  assert_string_equal(small, "xyz");
  store_close(st);

  st = open_ok(f->path, STORE_READONLY);
  ok(store_meta_get(st, "county", v, sizeof v, &found, &err), &err);
  assert_string_equal(v, "Pohjois-Pohjanmaa");
  assert_int_equal(status_of(st).duplicates, 33);
  store_close(st);
}

/* ---- readers next to the writer ----------------------------------------- */

static void test_reader_sees_committed_only(void **state) {
  struct fixture *f = *state;
  struct store *w = open_ok(f->path, STORE_CREATE);
  struct store *r, *snap;
  struct collect c;
  struct error err;
  bool found = true;
  int64_t m;

  ok(store_begin(w, &err), &err);
  m = put_msg(w, "c", "one");
  append(w, m, "c", "one", EV_ADMITTED);
  ok(store_commit(w, &err), &err);

  r = open_ok(f->path, STORE_READONLY);
  snap = open_ok(f->path, STORE_READONLY);
  assert_int_equal(status_of(r).accepted, 1);
  ok(store_begin(snap, &err), &err); /* holds a snapshot from here */
  assert_int_equal(status_of(snap).accepted, 1);

  ok(store_begin(w, &err), &err);
  m = put_msg(w, "c", "two");
  append(w, m, "c", "two", EV_DISCHARGED);
  assert_int_equal(status_of(w).accepted, 2);
  /* uncommitted: invisible to the reader, and it is not blocked */
  assert_int_equal(status_of(r).accepted, 1);
  assert_int_equal(status_of(r).events_total, 1);
  ok(store_message_lookup(r, "c", "two", &found, NULL, &err), &err);
  assert_false(found);
  memset(&c, 0, sizeof c);
  ok(store_events_scan(r, 0, collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 1);
  ok(store_commit(w, &err), &err);

  assert_int_equal(status_of(r).accepted, 2);
  assert_int_equal(status_of(r).by_kind[EV_DISCHARGED], 1);
  ok(store_message_lookup(r, "c", "two", &found, NULL, &err), &err);
  assert_true(found);
  /* the snapshot still shows the old state until it ends */
  assert_int_equal(status_of(snap).accepted, 1);
  ok(store_message_lookup(snap, "c", "two", &found, NULL, &err), &err);
  assert_false(found);
  ok(store_commit(snap, &err), &err);
  assert_int_equal(status_of(snap).accepted, 2);
  store_close(snap);
  store_close(r);
  store_close(w);
}

struct race {
  const char *path;
  int n;
  atomic_int done;
  int writer_failures;
  int reader_checks, reader_failures;
  int64_t last_seen;
};

static void *race_writer(void *arg) {
  struct race *r = arg;
  struct store *st = NULL;
  struct error err;
  struct event ev;
  int i;
  if (store_open(r->path, 0, &st, &err) != 0) {
    r->writer_failures++;
    atomic_store(&r->done, 1);
    return NULL;
  }
  for (i = 0; i < r->n; i++) {
    struct store_message m;
    char key[32];
    int64_t id = 0;
    memset(&m, 0, sizeof m);
    snprintf(key, sizeof key, "R%d", i);
    m.channel = "race";
    m.source_key = key;
    m.msg_type = "ADT^A01";
    make_event(&ev, "race", key, EV_ADMITTED, "u");
    if (store_begin(st, &err) != 0 ||
        store_message_put(st, &m, &id, &err) != 0 ||
        store_event_append(st, id, &ev, &err) != 0 ||
        store_commit(st, &err) != 0) {
      r->writer_failures++;
      store_rollback(st);
    }
  }
  store_close(st);
  atomic_store(&r->done, 1);
  return NULL;
}

static void *race_reader(void *arg) {
  struct race *r = arg;
  struct store *st = NULL;
  struct store_status s;
  struct error err;
  int64_t prev = 0;
  if (store_open(r->path, STORE_READONLY, &st, &err) != 0) {
    r->reader_failures++;
    return NULL;
  }
  for (;;) {
    /* read 'done' first, so the last snapshot is taken after it */
    int finished = atomic_load(&r->done);
    if (store_status_get(st, &s, &err) != 0) {
      r->reader_failures++;
      break;
    }
    /* one snapshot: each committed transaction is 1 message + 1 event */
    if (s.accepted != s.events_total || s.last_seq != s.events_total ||
        s.accepted < prev)
      r->reader_failures++;
    prev = s.accepted;
    r->reader_checks++;
    if (finished && r->reader_checks >= 5)
      break;
  }
  r->last_seen = prev;
  store_close(st);
  return NULL;
}

static void test_concurrent_reader_thread(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct race r;
  pthread_t tw, tr;
  store_close(st);
  memset(&r, 0, sizeof r);
  r.path = f->path;
  r.n = 200;
  atomic_init(&r.done, 0);
  assert_int_equal(pthread_create(&tr, NULL, race_reader, &r), 0);
  assert_int_equal(pthread_create(&tw, NULL, race_writer, &r), 0);
  assert_int_equal(pthread_join(tw, NULL), 0);
  assert_int_equal(pthread_join(tr, NULL), 0);
  assert_int_equal(r.writer_failures, 0);
  assert_int_equal(r.reader_failures, 0);
  assert_true(r.reader_checks >= 5);
  assert_int_equal(r.last_seen, 200);
}

/* ---- sealed payloads: scan, update, secure delete ----------------------- */

struct seen_payload {
  enum store_payload_kind kind;
  int64_t id;
  char channel[EVENT_ID_MAX];
  char key[EVENT_KEY_MAX];
  char bytes[64];
};

struct payload_list {
  struct seen_payload rows[16];
  size_t n;
  int stop_after;   /* > 0: return 7 once this many rows were seen */
  struct store *st; /* for the re-entrancy checks */
  int nested_rc, update_rc;
};

static int payload_cb(void *ctx, const struct store_payload_row *row) {
  struct payload_list *l = ctx;
  struct seen_payload *p;
  assert_true(l->n < ARRAY_LEN(l->rows));
  p = &l->rows[l->n++];
  assert_true(row->sealed_len > 0 && row->sealed_len < sizeof p->bytes);
  p->kind = row->kind;
  p->id = row->id;
  strcpy(p->channel, row->channel);
  strcpy(p->key, row->source_key);
  memcpy(p->bytes, row->sealed, row->sealed_len);
  p->bytes[row->sealed_len] = '\0';
  if (l->st != NULL) {
    struct error err;
    l->nested_rc = store_payloads_scan(l->st, STORE_PAYLOAD_MESSAGE, 0, 0,
                                       payload_cb, l, &err);
    l->update_rc = store_payload_update(l->st, row->kind, row->id,
                                        (const unsigned char *)"x", 1, &err);
  }
  return l->stop_after > 0 && (int)l->n >= l->stop_after ? 7 : 0;
}

static void scan_all(struct store *st, enum store_payload_kind kind,
                     int64_t after, size_t max, struct payload_list *l) {
  struct error err;
  memset(l, 0, sizeof *l);
  ok(store_payloads_scan(st, kind, after, max, payload_cb, l, &err), &err);
}

static int64_t put_dead(struct store *st, const char *channel, const char *key,
                        const char *payload) {
  struct store_dead_letter d;
  struct error err;
  int64_t id = 0;
  memset(&d, 0, sizeof d);
  d.channel = channel;
  d.source_key = key;
  d.msg_type = "ADT^A01";
  d.received_at = 1700000000999;
  d.ack_code = "AR";
  d.reason = "MSH-3/MSH-4: sender 'X'/'Y' is not configured";
  d.location = "MSH-3";
  d.sealed = (const unsigned char *)payload;
  d.sealed_len = payload != NULL ? strlen(payload) : 0;
  ok(store_dead_letter_put(st, &d, &id, &err), &err);
  return id;
}

static void test_payloads_scan_and_update(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE), *ro;
  struct store_message m;
  struct store_dead_letter_row row;
  struct store_status before, after;
  struct payload_list l;
  struct error err;
  unsigned char big[8] = {0};
  int64_t m1, m2, m3 = 0, m4, d1, d2, d3;
  bool found = false;
  unsigned char digest[STORE_DIGEST_BYTES], want[STORE_DIGEST_BYTES];

  ok(store_begin(st, &err), &err);
  m1 = put_msg(st, "lifecare", "K1");
  m2 = put_msg(st, "lifecare", "K2");
  memset(&m, 0, sizeof m); /* a message stored without a payload */
  m.channel = "lifecare";
  m.source_key = "K-EMPTY";
  m.msg_type = "ADT^A08";
  m.received_at = 1700000000000;
  ok(store_message_put(st, &m, &m3, &err), &err);
  m4 = put_msg(st, "pegasos", "K4");
  d1 = put_dead(st, "", "UNKNOWN1", "dl-one");
  d2 = put_dead(st, "lifecare", "", NULL); /* unreadable, no payload */
  d3 = put_dead(st, "lifecare", "K9", "dl-three");
  ok(store_commit(st, &err), &err);
  assert_true(m1 < m2 && m2 < m3 && m3 < m4 && d1 < d2 && d2 < d3);
  before = status_of(st);

  /* every row with a payload, in id order, with its channel and key */
  scan_all(st, STORE_PAYLOAD_MESSAGE, 0, 0, &l);
  assert_int_equal(l.n, 3);
  assert_int_equal(l.rows[0].id, m1);
  assert_int_equal(l.rows[1].id, m2);
  assert_int_equal(l.rows[2].id, m4); /* m3 has none: skipped */
  assert_int_equal(l.rows[0].kind, STORE_PAYLOAD_MESSAGE);
  assert_string_equal(l.rows[0].channel, "lifecare");
  assert_string_equal(l.rows[0].key, "K1");
  assert_string_equal(l.rows[0].bytes, "sealed:lifecare:K1");
  assert_string_equal(l.rows[2].channel, "pegasos");
  assert_string_equal(l.rows[2].bytes, "sealed:pegasos:K4");
  scan_all(st, STORE_PAYLOAD_DEAD_LETTER, 0, 0, &l);
  assert_int_equal(l.n, 2); /* d2 has none */
  assert_int_equal(l.rows[0].id, d1);
  assert_int_equal(l.rows[0].kind, STORE_PAYLOAD_DEAD_LETTER);
  assert_string_equal(l.rows[0].channel, "");
  assert_string_equal(l.rows[0].key, "UNKNOWN1");
  assert_string_equal(l.rows[0].bytes, "dl-one");
  assert_int_equal(l.rows[1].id, d3);
  assert_string_equal(l.rows[1].channel, "lifecare");
  assert_string_equal(l.rows[1].bytes, "dl-three");

  /* after_id and max page through; a callback's non-zero value stops */
  scan_all(st, STORE_PAYLOAD_MESSAGE, m1, 1, &l);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.rows[0].id, m2);
  scan_all(st, STORE_PAYLOAD_MESSAGE, m2, 5, &l);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.rows[0].id, m4);
  scan_all(st, STORE_PAYLOAD_MESSAGE, m4, 0, &l);
  assert_int_equal(l.n, 0);
  memset(&l, 0, sizeof l);
  l.stop_after = 2;
  assert_int_equal(store_payloads_scan(st, STORE_PAYLOAD_MESSAGE, 0, 0,
                                       payload_cb, &l, &err),
                   7);
  assert_int_equal(l.n, 2);
  assert_int_equal(store_payloads_scan(st, (enum store_payload_kind)5, 0, 0,
                                       payload_cb, &l, &err),
                   ERR_INVAL);

  /* inside the callback: no nested scan, no write */
  ok(store_begin(st, &err), &err);
  memset(&l, 0, sizeof l);
  l.st = st;
  l.stop_after = 1;
  assert_int_equal(store_payloads_scan(st, STORE_PAYLOAD_MESSAGE, 0, 0,
                                       payload_cb, &l, &err),
                   7);
  assert_int_equal(l.nested_rc, ERR_STATE);
  assert_int_equal(l.update_rc, ERR_STATE);
  store_rollback(st);

  /* updates need a transaction, a writable handle and a real payload */
  assert_int_equal(store_payload_update(st, STORE_PAYLOAD_MESSAGE, m1,
                                        (const unsigned char *)"new", 3, &err),
                   ERR_STATE);
  ro = open_ok(f->path, STORE_READONLY);
  assert_int_equal(store_payload_update(ro, STORE_PAYLOAD_MESSAGE, m1,
                                        (const unsigned char *)"new", 3, &err),
                   ERR_DENIED);
  ok(store_begin(st, &err), &err);
  assert_int_equal(store_payload_update(st, STORE_PAYLOAD_MESSAGE, 999999,
                                        (const unsigned char *)"new", 3, &err),
                   ERR_NOTFOUND);
  assert_int_equal(store_payload_update(st, STORE_PAYLOAD_DEAD_LETTER, d3 + 99,
                                        (const unsigned char *)"new", 3, &err),
                   ERR_NOTFOUND);
  assert_int_equal(store_payload_update(st, STORE_PAYLOAD_MESSAGE, m1,
                                        (const unsigned char *)"new", 0, &err),
                   ERR_INVAL);
  assert_int_equal(
      store_payload_update(st, STORE_PAYLOAD_MESSAGE, m1, NULL, 3, &err),
      ERR_INVAL);
  /* refused on the length alone, before any byte is read */
  assert_int_equal(store_payload_update(st, STORE_PAYLOAD_MESSAGE, m1, big,
                                        (size_t)STORE_PAYLOAD_MAX + 1, &err),
                   ERR_TOOBIG);
  assert_int_equal(store_payload_update(st, (enum store_payload_kind) - 1, m1,
                                        (const unsigned char *)"new", 3, &err),
                   ERR_INVAL);
  ok(store_payload_update(st, STORE_PAYLOAD_MESSAGE, m2,
                          (const unsigned char *)"resealed-two", 12, &err),
     &err);
  ok(store_payload_update(st, STORE_PAYLOAD_DEAD_LETTER, d1,
                          (const unsigned char *)"dl-one-new", 10, &err),
     &err);
  /* the writer sees its own change; the reader does not, yet */
  scan_all(st, STORE_PAYLOAD_MESSAGE, m1, 1, &l);
  assert_string_equal(l.rows[0].bytes, "resealed-two");
  scan_all(ro, STORE_PAYLOAD_MESSAGE, m1, 1, &l);
  assert_string_equal(l.rows[0].bytes, "sealed:lifecare:K2");
  ok(store_commit(st, &err), &err);
  scan_all(ro, STORE_PAYLOAD_MESSAGE, m1, 1, &l);
  assert_string_equal(l.rows[0].bytes, "resealed-two");

  /* nothing else of the rows changed, and no counter moved */
  ok(store_message_lookup(ro, "lifecare", "K2", &found, digest, &err), &err);
  assert_true(found);
  digest_of("K2", want);
  assert_memory_equal(digest, want, STORE_DIGEST_BYTES);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages WHERE "
                                    "msg_type = 'ADT^A01' AND received_at = "
                                    "1700000000000 AND source_key = 'K2'"),
                   1);
  ok(store_dead_letter_get(ro, d1, &row, &err), &err);
  assert_int_equal(row.sealed_len, 10);
  assert_memory_equal(row.sealed, "dl-one-new", 10);
  assert_string_equal(row.source_key, "UNKNOWN1");
  assert_string_equal(row.ack_code, "AR");
  assert_int_equal(row.status, 0);
  assert_int_equal(row.received_at, 1700000000999);
  store_dead_letter_row_release(&row);
  after = status_of(ro);
  assert_int_equal(after.accepted, before.accepted);
  assert_int_equal(after.dead_letters, before.dead_letters);
  assert_int_equal(after.accepted, 4);
  assert_int_equal(after.dead_letters, 3);

  /* a rolled-back update leaves the old payload */
  ok(store_begin(st, &err), &err);
  ok(store_payload_update(st, STORE_PAYLOAD_MESSAGE, m1,
                          (const unsigned char *)"gone", 4, &err),
     &err);
  store_rollback(st);
  scan_all(ro, STORE_PAYLOAD_MESSAGE, 0, 1, &l);
  assert_string_equal(l.rows[0].bytes, "sealed:lifecare:K1");
  store_close(ro);
  store_close(st);
}

/* Counts occurrences of 'needle' in the file at 'path' (0 when missing). */
static size_t file_count(const char *path, const void *needle, size_t nlen) {
  FILE *fp = fopen(path, "rb");
  unsigned char *data;
  long size;
  size_t n = 0, i;
  if (fp == NULL)
    return 0;
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  size = ftell(fp);
  assert_true(size >= 0);
  rewind(fp);
  data = mem_alloc((size_t)size + 1);
  assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
  fclose(fp);
  for (i = 0; i + nlen <= (size_t)size; i++) {
    if (memcmp(data + i, needle, nlen) == 0)
      n++;
  }
  mem_free(data);
  return n;
}

static off_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* With STORE_SECURE_DELETE and a checkpoint, a replaced payload -- small,
 * or large enough for overflow pages -- is gone from every file. (Some
 * SQLite builds, Debian's among them, have secure_delete on by default;
 * the flag makes it independent of the build.) */
static void test_secure_delete_and_checkpoint(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE), *ro;
  struct store_message m;
  struct error err;
  char wal[160];
  unsigned char large[6000], small[40], repl[6000];
  static const char mark_l[] = "OLD-LARGE-CIPHERTEXT";
  static const char mark_s[] = "OLD-SMALL-CIPHERTEXT";
  int64_t id_l = 0, id_s = 0;
  size_t i;

  for (i = 0; i < sizeof large; i++)
    large[i] = (unsigned char)mark_l[i % (sizeof mark_l - 1)];
  memset(small, '.', sizeof small);
  memcpy(small, mark_s, sizeof mark_s - 1);
  memset(repl, 'N', sizeof repl);
  snprintf(wal, sizeof wal, "%s-wal", f->path);

  ok(store_begin(st, &err), &err);
  memset(&m, 0, sizeof m);
  m.channel = "lifecare";
  m.msg_type = "ADT^A01";
  m.source_key = "LARGE";
  m.sealed = large;
  m.sealed_len = sizeof large;
  ok(store_message_put(st, &m, &id_l, &err), &err);
  m.source_key = "SMALL";
  m.sealed = small;
  m.sealed_len = sizeof small;
  ok(store_message_put(st, &m, &id_s, &err), &err);
  ok(store_commit(st, &err), &err);
  ok(store_checkpoint(st, &err), &err);
  assert_int_equal(file_size(wal), 0);
  assert_true(file_count(f->path, mark_l, sizeof mark_l - 1) > 0);
  assert_int_equal(file_count(f->path, mark_s, sizeof mark_s - 1), 1);
  store_close(st);

  st = open_ok(f->path, STORE_SECURE_DELETE);
  ok(store_begin(st, &err), &err);
  assert_int_equal(store_checkpoint(st, &err), ERR_STATE);
  /* Other sizes than before: a same-sized payload (what a rotation
   * writes) is overwritten in place by SQLite anyway. */
  ok(store_payload_update(st, STORE_PAYLOAD_MESSAGE, id_l, repl, 4500, &err),
     &err);
  ok(store_payload_update(st, STORE_PAYLOAD_MESSAGE, id_s, repl, 24, &err),
     &err);
  ok(store_commit(st, &err), &err);
  /* before the checkpoint the WAL holds the new pages */
  assert_true(file_size(wal) > 0);
  ok(store_checkpoint(st, &err), &err);
  assert_int_equal(file_size(wal), 0);
  assert_int_equal(file_count(f->path, mark_l, sizeof mark_l - 1), 0);
  assert_int_equal(file_count(f->path, mark_s, sizeof mark_s - 1), 0);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages WHERE "
                                    "length(payload) IN (4500, 24)"),
                   2);

  ro = open_ok(f->path, STORE_READONLY | STORE_SECURE_DELETE);
  assert_int_equal(store_checkpoint(ro, &err), ERR_DENIED);
  store_close(ro);
  store_close(st);
}

/* The database, its WAL and shm are created 0600 whatever the umask. */
static void test_created_private(void **state) {
  struct fixture *f = *state;
  struct store *st;
  struct error err;
  struct stat sb;
  char side[160];
  mode_t old = umask(022);
  st = open_ok(f->path, STORE_CREATE);
  umask(old);
  ok(store_begin(st, &err), &err);
  (void)put_msg(st, "lifecare", "K1");
  ok(store_commit(st, &err), &err);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  snprintf(side, sizeof side, "%s-wal", f->path);
  assert_int_equal(stat(side, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  snprintf(side, sizeof side, "%s-shm", f->path);
  assert_int_equal(stat(side, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  store_close(st);
}

/* ---- durability --------------------------------------------------------- */

static void test_reopen_keeps_everything(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store_status before, after;
  struct store_dead_letter d;
  struct store_dead_letter_row row;
  struct collect c;
  struct error err;
  unsigned char dg[STORE_DIGEST_BYTES], want[STORE_DIGEST_BYTES];
  int64_t m, dl = 0, seq;
  bool found = false;
  char v[16];
  int i;

  ok(store_begin(st, &err), &err);
  for (i = 0; i < 5; i++) {
    char key[16];
    snprintf(key, sizeof key, "K%d", i);
    m = put_msg(st, "apotti", key);
    append(st, m, "apotti", key, EV_REGISTERED);
  }
  ok(store_counter_add(st, "apotti", STORE_C_DUPLICATES, 2, &err), &err);
  memset(&d, 0, sizeof d);
  d.channel = "apotti";
  d.reason = "r";
  d.sealed = (const unsigned char *)"abc";
  d.sealed_len = 3;
  ok(store_dead_letter_put(st, &d, &dl, &err), &err);
  ok(store_meta_put(st, "x", "y", &err), &err);
  ok(store_commit(st, &err), &err);
  before = status_of(st);
  store_close(st);

  st = open_ok(f->path, 0);
  after = status_of(st);
  assert_memory_equal(&after, &before, sizeof after);
  assert_int_equal(after.accepted, 5);
  assert_int_equal(after.by_kind[EV_REGISTERED], 5);
  ok(store_message_lookup(st, "apotti", "K3", &found, dg, &err), &err);
  assert_true(found);
  digest_of("K3", want);
  assert_memory_equal(dg, want, sizeof dg);
  ok(store_dead_letter_get(st, dl, &row, &err), &err);
  assert_int_equal(row.sealed_len, 3);
  assert_memory_equal(row.sealed, "abc", 3);
  store_dead_letter_row_release(&row);
  ok(store_meta_get(st, "x", v, sizeof v, &found, &err), &err);
  assert_string_equal(v, "y");
  memset(&c, 0, sizeof c);
  ok(store_events_scan(st, 0, collect_cb, &c, &err), &err);
  assert_int_equal(c.n, 5);
  /* numbering goes on after the reopen */
  ok(store_begin(st, &err), &err);
  m = put_msg(st, "apotti", "K5");
  seq = append(st, m, "apotti", "K5", EV_REGISTERED);
  ok(store_commit(st, &err), &err);
  assert_int_equal(seq, before.last_seq + 1);
  store_close(st);
}

/* The child: commits transactions of one message, one event and one
 * counter, reporting each index on 'fd' after store_commit returned. */
static void crash_child(const char *path, int fd) {
  struct store *st = NULL;
  struct error err;
  int i;
  if (store_open(path, STORE_CREATE, &st, &err) != 0)
    _exit(2);
  for (i = 0; i < 100000; i++) {
    struct store_message m;
    struct event ev;
    char key[32];
    int64_t id = 0;
    memset(&m, 0, sizeof m);
    snprintf(key, sizeof key, "C%d", i);
    m.channel = "crash";
    m.source_key = key;
    m.msg_type = "ADT^A01";
    m.sealed = (const unsigned char *)key;
    m.sealed_len = strlen(key);
    make_event(&ev, "crash", key, EV_ADMITTED, "u");
    if (store_begin(st, &err) != 0 ||
        store_message_put(st, &m, &id, &err) != 0 ||
        store_event_append(st, id, &ev, &err) != 0 ||
        store_counter_add(st, "crash", STORE_C_DUPLICATES, 1, &err) != 0 ||
        store_commit(st, &err) != 0)
      _exit(3);
    if (write(fd, &i, sizeof i) != (ssize_t)sizeof i)
      _exit(4);
  }
  _exit(0);
}

static void crash_round(const char *path, unsigned *seed) {
  int fds[2], status = 0, idx, reported = 0, want;
  pid_t pid;
  struct store *st;
  struct store_status s;
  struct error err;
  bool found;
  int i;

  unlink(path);
  assert_int_equal(pipe(fds), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    crash_child(path, fds[1]);
  }
  close(fds[1]);
  want = 5 + (int)(rand_r(seed) % 120);
  while (reported < want && read(fds[0], &idx, sizeof idx) == sizeof idx) {
    assert_int_equal(idx, reported);
    reported++;
  }
  usleep((useconds_t)(rand_r(seed) % 3000));
  assert_int_equal(kill(pid, SIGKILL), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  /* whatever it reported before dying */
  while (read(fds[0], &idx, sizeof idx) == sizeof idx) {
    assert_int_equal(idx, reported);
    reported++;
  }
  close(fds[0]);

  st = open_ok(path, STORE_CREATE); /* recovers the WAL */
  s = status_of(st);
  /* every reported commit is there; at most one more (committed, killed
   * before it could report) */
  if (s.accepted < reported || s.accepted > reported + 1)
    fail_msg("reported %d commits, store has %lld", reported,
             (long long)s.accepted);
  for (i = 0; i < reported; i++) {
    char key[32];
    snprintf(key, sizeof key, "C%d", i);
    ok(store_message_lookup(st, "crash", key, &found, NULL, &err), &err);
    if (!found)
      fail_msg("committed message %s lost", key);
  }
  /* nothing half: rows and tallies move together */
  assert_int_equal(s.events_total, s.accepted);
  assert_int_equal(s.duplicates, s.accepted);
  assert_int_equal(s.last_seq, s.accepted);
  store_close(st);
  assert_int_equal(raw_int(path, "SELECT count(*) FROM messages"), s.accepted);
  assert_int_equal(raw_int(path, "SELECT count(*) FROM events"), s.accepted);
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
}

static void test_crash_sigkill(void **state) {
  struct fixture *f = *state;
  const char *env = getenv("TK_TEST_SEED");
  unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 10)
                              : (unsigned)time(NULL) ^ (unsigned)getpid();
  int round;
  print_message("crash test seed %u (TK_TEST_SEED to repeat)\n", seed);
  for (round = 0; round < 3; round++)
    crash_round(f->path, &seed);
}

/* Deferred sync: commits go on while syncs lag behind; everything committed
 * is there after a reopen, and the WAL stays bounded because checkpoints
 * still run (with full syncs) in deferred mode. */
static void test_deferred_sync(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store *ro = NULL;
  struct error err;
  char wal[160];
  struct stat sb;
  unsigned char big[4000];
  bool found = false;
  memset(big, 'p', sizeof big);
  snprintf(wal, sizeof wal, "%s-wal", f->path);
  ok(store_set_deferred_sync(st, true, &err), &err);
  /* a store_sync before any commit is fine */
  ok(store_sync(st, &err), &err);
  for (int g = 0; g < 150; g++) {
    ok(store_begin(st, &err), &err);
    for (int i = 0; i < 100; i++) {
      struct store_message m;
      char key[32];
      int64_t id;
      memset(&m, 0, sizeof m);
      snprintf(key, sizeof key, "D%d-%d", g, i);
      m.channel = "lifecare";
      m.source_key = key;
      m.msg_type = "ADT^A01";
      m.sealed = big;
      m.sealed_len = sizeof big;
      ok(store_message_put(st, &m, &id, &err), &err);
    }
    ok(store_commit(st, &err), &err);
    if (g % 3 == 0)
      ok(store_sync(st, &err), &err);
  }
  ok(store_sync(st, &err), &err);
  /* 15,000 rows of 4 KB passed through a WAL checkpointed every 10,000
   * pages: it never held them all */
  assert_int_equal(stat(wal, &sb), 0);
  assert_true(sb.st_size < (off_t)60 * 1024 * 1024);
  /* a reader sees every commit */
  ro = open_ok(f->path, STORE_READONLY);
  ok(store_message_lookup(ro, "lifecare", "D149-99", &found, NULL, &err), &err);
  assert_true(found);
  store_close(ro);
  /* back to synchronous commits, then reopen */
  ok(store_set_deferred_sync(st, false, &err), &err);
  store_close(st);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"), 15000);
  /* a read-only handle cannot defer */
  ro = open_ok(f->path, STORE_READONLY);
  error_clear(&err);
  assert_int_equal(store_set_deferred_sync(ro, true, &err), ERR_DENIED);
  store_close(ro);
}

/* The resend keys (migration 002): recent keys in the writer's hash
 * table, merged into message_keys in batches of 16,384; a key is found,
 * and refused again, before and after the merge, from the writer, from a
 * reader and after a reopen, and a rolled-back put leaves no key. */
static void test_message_keys_merge(void **state) {
  struct fixture *f = *state;
  struct store *st = open_ok(f->path, STORE_CREATE);
  struct store *ro = NULL;
  struct store_message m;
  struct error err;
  unsigned char d[STORE_DIGEST_BYTES], want[STORE_DIGEST_BYTES];
  const char *probe[] = {"K0", "K8000", "K16999", "K17499"};
  char key[32], upto[32];
  bool found = false;
  int64_t id = 0;
  for (int g = 0; g < 35; g++) {
    ok(store_begin(st, &err), &err);
    for (int i = 0; i < 500; i++) {
      snprintf(key, sizeof key, "K%d", g * 500 + i);
      put_msg(st, "lifecare", key);
    }
    ok(store_commit(st, &err), &err);
  }
  /* the first 16,500 were merged at the commit that passed 16,384 */
  ok(store_meta_get(st, "message_keys_upto", upto, sizeof upto, &found, &err),
     &err);
  assert_true(found);
  assert_int_equal(atoll(upto), 16500);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM message_keys"),
                   16500);
  memset(&m, 0, sizeof m);
  m.channel = "lifecare";
  m.msg_type = "ADT^A01";
  for (int pass = 0; pass < 2; pass++) {
    ro = open_ok(f->path, STORE_READONLY);
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
      digest_of(probe[i], want);
      /* the writer, inside and outside a transaction, and a reader */
      ok(store_begin(st, &err), &err);
      ok(store_message_lookup(st, "lifecare", probe[i], &found, d, &err), &err);
      assert_true(found);
      assert_memory_equal(d, want, sizeof d);
      m.source_key = probe[i];
      error_clear(&err);
      assert_int_equal(store_message_put(st, &m, &id, &err), ERR_EXISTS);
      ok(store_commit(st, &err), &err);
      ok(store_message_lookup(st, "lifecare", probe[i], &found, d, &err), &err);
      assert_true(found);
      found = false;
      ok(store_message_lookup(ro, "lifecare", probe[i], &found, d, &err), &err);
      assert_true(found);
      assert_memory_equal(d, want, sizeof d);
    }
    /* another channel, and a key never sent */
    ok(store_message_lookup(ro, "pegasos", "K0", &found, d, &err), &err);
    assert_false(found);
    ok(store_message_lookup(ro, "lifecare", "K17500", &found, d, &err), &err);
    assert_false(found);
    store_close(ro);
    /* a rolled-back put leaves no key behind */
    ok(store_begin(st, &err), &err);
    snprintf(key, sizeof key, "R%d", pass);
    put_msg(st, "lifecare", key);
    store_rollback(st);
    ok(store_begin(st, &err), &err);
    ok(store_message_lookup(st, "lifecare", key, &found, d, &err), &err);
    assert_false(found);
    put_msg(st, "lifecare", key);
    ok(store_commit(st, &err), &err);
    /* and again after a reopen: the recent keys are loaded anew */
    store_close(st);
    st = open_ok(f->path, 0);
  }
  store_close(st);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"), 17502);
}

/* Two writers on one file: each sees the other's recent keys (reloaded
 * when the other wrote), a refused put leaves its transaction usable, and
 * a key that differs only in its channel, or is a prefix of another, is
 * a different key. */
static void test_message_keys_two_writers(void **state) {
  struct fixture *f = *state;
  struct store *a = open_ok(f->path, STORE_CREATE);
  struct store *b = open_ok(f->path, 0);
  struct store_message m;
  struct error err;
  unsigned char d[STORE_DIGEST_BYTES], want[STORE_DIGEST_BYTES];
  bool found = false;
  int64_t id = 0;
  ok(store_begin(a, &err), &err);
  put_msg(a, "lifecare", "A1");
  ok(store_commit(a, &err), &err);
  ok(store_begin(b, &err), &err); /* b loads its keys: A1 */
  put_msg(b, "lifecare", "B1");
  ok(store_commit(b, &err), &err);
  ok(store_begin(a, &err), &err); /* b wrote: a reloads and sees B1 */
  memset(&m, 0, sizeof m);
  m.channel = "lifecare";
  m.source_key = "B1";
  m.msg_type = "ADT^A01";
  error_clear(&err);
  assert_int_equal(store_message_put(a, &m, &id, &err), ERR_EXISTS);
  digest_of("B1", want);
  ok(store_message_lookup(a, "lifecare", "B1", &found, d, &err), &err);
  assert_true(found);
  assert_memory_equal(d, want, sizeof d);
  /* the transaction goes on after the refusal */
  put_msg(a, "pegasos", "B1");
  put_msg(a, "lifecare", "B");
  put_msg(a, "lifecare", "B10");
  ok(store_message_lookup(a, "lifecare", "B", &found, d, &err), &err);
  assert_true(found);
  digest_of("B", want);
  assert_memory_equal(d, want, sizeof d);
  ok(store_commit(a, &err), &err);
  ok(store_begin(b, &err), &err);
  m.channel = "pegasos";
  error_clear(&err);
  assert_int_equal(store_message_put(b, &m, &id, &err), ERR_EXISTS);
  found = true;
  ok(store_message_lookup(b, "lifecare", "B2", &found, d, &err), &err);
  assert_false(found);
  store_rollback(b);
  store_close(b);
  store_close(a);
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"), 5);
}

int main(void) {

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_create_migrate_reopen),
      T(test_open_errors),
      cmocka_unit_test(test_migration_files_match_embedded),
      T(test_message_put_lookup_duplicate),
      T(test_event_append_seq),
      T(test_rollback_discards),
      T(test_state_and_argument_errors),
      T(test_status_counts_exact),
      T(test_scan_order_and_stop),
      T(test_attrs_round_trip),
      T(test_dead_letters),
      T(test_counters_and_meta),
      T(test_reader_sees_committed_only),
      T(test_concurrent_reader_thread),
      T(test_reopen_keeps_everything),
      T(test_payloads_scan_and_update),
      T(test_secure_delete_and_checkpoint),
      T(test_created_private),
      T(test_crash_sigkill),
      T(test_deferred_sync),
      T(test_message_keys_merge),
      T(test_message_keys_two_writers),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
