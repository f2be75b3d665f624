/* test_secstore.c -- unit tests for the security database (secstore.c).
 *
 * Every test works on its own file in a fresh temporary directory. The
 * embedded migration is compared byte for byte with sql/security/; the
 * append-only triggers and the file-mode checks are exercised directly with
 * the sqlite3 API and chmod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "secstore.h"

struct fixture {
  char dir[64];
  char path[128];
  struct secstore *s;
};

static void rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static int setup(void **state) {
  struct fixture *f = mem_calloc(1, sizeof *f);
  struct error err;
  strcpy(f->dir, "/tmp/tk-secstore-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/security.db", f->dir);
  if (secstore_open(f->path, SECSTORE_CREATE, &f->s, &err) != 0) {
    fprintf(stderr, "open: %s\n", err.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  secstore_close(f->s);
  rm_dir(f->dir);
  mem_free(f);
  return 0;
}

/* ---- opening and migrations --------------------------------------------- */

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  long n;
  char *text;
  if (fp == NULL)
    return NULL;
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  text = malloc((size_t)n + 1);
  if (fread(text, 1, (size_t)n, fp) != (size_t)n) {
    free(text);
    fclose(fp);
    return NULL;
  }
  text[n] = '\0';
  fclose(fp);
  return text;
}

static void test_migration_files_match_embedded(void **state) {
  const char *root = getenv("TK_SOURCE_ROOT");
  int known = secstore_schema_version();
  (void)state;
  assert_non_null(root);
  assert_true(known >= 1);
  for (int v = 1; v <= known; v++) {
    char path[1024];
    char *text;
    snprintf(path, sizeof path, "%s/sql/security/%s", root,
             secstore_migration_file(v));
    text = slurp(path);
    assert_non_null(text);
    assert_string_equal(text, secstore_migration(v));
    free(text);
  }
  assert_null(secstore_migration(known + 1));
  assert_null(secstore_migration(0));
  assert_null(secstore_migration_file(0));
}

static void test_open_creates_private_file(void **state) {
  struct fixture *f = *state;
  struct secstore *ro = NULL;
  struct stat st;
  struct error err;
  assert_int_equal(stat(f->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* a second handle, read-only, sees the same schema */
  assert_int_equal(secstore_open(f->path, SECSTORE_READONLY, &ro, &err), 0);
  secstore_close(ro);
}

static void test_open_refuses(void **state) {
  struct fixture *f = *state;
  struct secstore *s = (struct secstore *)0x1;
  char other[160];
  sqlite3 *db;
  struct error err;
  /* missing without create */
  snprintf(other, sizeof other, "%s/missing.db", f->dir);
  assert_int_equal(secstore_open(other, 0, &s, &err), ERR_NOTFOUND);
  assert_ptr_equal(s, (struct secstore *)0x1);
  /* readable by others */
  assert_int_equal(chmod(f->path, 0644), 0);
  assert_int_equal(secstore_open(f->path, 0, &s, &err), ERR_DENIED);
  assert_non_null(strstr(err.msg, "chmod 600"));
  assert_int_equal(chmod(f->path, 0600), 0);
  /* a SQLite file that is not ours */
  snprintf(other, sizeof other, "%s/foreign.db", f->dir);
  assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(chmod(other, 0600), 0);
  assert_int_equal(secstore_open(other, SECSTORE_CREATE, &s, &err), ERR_STORE);
  assert_non_null(strstr(err.msg, "not a tilannekuva security database"));
  /* a newer schema */
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "UPDATE meta SET value = '999' WHERE key = "
                                "'schema_version'",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(secstore_open(f->path, 0, &s, &err), ERR_UNSUPPORTED);
  assert_ptr_equal(s, (struct secstore *)0x1);
}

/* ---- users -------------------------------------------------------------- */

static struct secstore_user make_user(const char *name, const char *role) {
  struct secstore_user u;
  memset(&u, 0, sizeof u);
  snprintf(u.name, sizeof u.name, "%s", name);
  snprintf(u.role, sizeof u.role, "%s", role);
  snprintf(u.scope, sizeof u.scope, "county");
  snprintf(u.pwhash, sizeof u.pwhash, "$argon2id$fake");
  u.created_ms = 1000;
  return u;
}

struct names {
  char list[8][SECSTORE_NAME_MAX];
  size_t n;
};

static int collect_user(void *ctx, const struct secstore_user *u) {
  struct names *n = ctx;
  snprintf(n->list[n->n++], SECSTORE_NAME_MAX, "%s", u->name);
  return 0;
}

static int stop_at_first(void *ctx, const struct secstore_user *u) {
  (void)ctx;
  (void)u;
  return 42;
}

static void test_users(void **state) {
  struct fixture *f = *state;
  struct secstore_user u = make_user("bertta", "coordinator"), got;
  struct names names;
  struct error err;
  int64_t id = 0;
  assert_int_equal(secstore_user_add(f->s, &u, &id, &err), 0);
  assert_true(id > 0);
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), ERR_EXISTS);
  assert_non_null(strstr(err.msg, "already exists"));
  u = make_user("aino", "leader");
  u.pwhash[0] = '\0'; /* an account without a password */
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), 0);

  memset(&got, 0x55, sizeof got);
  assert_int_equal(secstore_user_get(f->s, "bertta", &got, &err), 0);
  assert_int_equal(got.id, id);
  assert_string_equal(got.role, "coordinator");
  assert_string_equal(got.scope, "county");
  assert_string_equal(got.pwhash, "$argon2id$fake");
  assert_false(got.disabled);
  assert_int_equal(got.created_ms, 1000);
  assert_int_equal(secstore_user_get(f->s, "aino", &got, &err), 0);
  assert_string_equal(got.pwhash, "");

  /* a missing user leaves *out untouched */
  memset(&got, 0x55, sizeof got);
  assert_int_equal(secstore_user_get(f->s, "nobody", &got, &err), ERR_NOTFOUND);
  assert_int_equal(got.name[0], 0x55);

  assert_int_equal(secstore_user_set_disabled(f->s, "bertta", true, 2000, &err),
                   0);
  assert_int_equal(
      secstore_user_set_password(f->s, "bertta", "$argon2id$new", 2001, &err),
      0);
  assert_int_equal(
      secstore_user_set_role(f->s, "bertta", "analyst", "a,b", 2002, &err), 0);
  assert_int_equal(secstore_user_get(f->s, "bertta", &got, &err), 0);
  assert_true(got.disabled);
  assert_string_equal(got.pwhash, "$argon2id$new");
  assert_string_equal(got.role, "analyst");
  assert_string_equal(got.scope, "a,b");
  assert_int_equal(got.updated_ms, 2002);
  assert_int_equal(secstore_user_set_disabled(f->s, "nobody", true, 1, &err),
                   ERR_NOTFOUND);

  memset(&names, 0, sizeof names);
  assert_int_equal(secstore_user_list(f->s, collect_user, &names, &err), 0);
  assert_int_equal(names.n, 2);
  assert_string_equal(names.list[0], "aino");
  assert_string_equal(names.list[1], "bertta");
  assert_int_equal(secstore_user_list(f->s, stop_at_first, NULL, &err), 42);
}

static void test_user_caps(void **state) {
  struct fixture *f = *state;
  struct secstore_user u = make_user("x", "leader");
  struct error err;
  char big[SECSTORE_SCOPE_MAX + 10];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(secstore_user_set_role(f->s, "x", "leader", big, 1, &err),
                   ERR_TOOBIG);
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), 0);
  assert_int_equal(secstore_user_get(f->s, big, &u, &err), ERR_NOTFOUND);
}

/* ---- sessions ----------------------------------------------------------- */

static void test_sessions(void **state) {
  struct fixture *f = *state;
  struct secstore_session se, got;
  struct error err;
  int64_t n = -1;
  memset(&se, 0, sizeof se);
  memset(se.token_hash, 7, sizeof se.token_hash);
  strcpy(se.user, "anna");
  strcpy(se.source, "ldap");
  strcpy(se.role, "coordinator");
  strcpy(se.scope, "ward-1,ward-2");
  strcpy(se.csrf, "csrf-token");
  strcpy(se.address, "192.0.2.7");
  se.created_ms = 100;
  se.last_seen_ms = 100;
  assert_int_equal(secstore_session_add(f->s, &se, &err), 0);
  assert_int_equal(secstore_session_add(f->s, &se, &err), ERR_EXISTS);
  se.token_hash[0] = 8;
  se.created_ms = 50;
  se.last_seen_ms = 60;
  assert_int_equal(secstore_session_add(f->s, &se, &err), 0);

  memset(se.token_hash, 7, sizeof se.token_hash);
  assert_int_equal(secstore_session_get(f->s, se.token_hash, &got, &err), 0);
  assert_string_equal(got.user, "anna");
  assert_string_equal(got.source, "ldap");
  assert_string_equal(got.scope, "ward-1,ward-2");
  assert_string_equal(got.csrf, "csrf-token");
  assert_string_equal(got.address, "192.0.2.7");
  assert_int_equal(got.last_seen_ms, 100);
  assert_int_equal(secstore_session_touch(f->s, se.token_hash, 150, &err), 0);
  assert_int_equal(secstore_session_get(f->s, se.token_hash, &got, &err), 0);
  assert_int_equal(got.last_seen_ms, 150);

  /* purge: idle before 70 catches the second only */
  assert_int_equal(secstore_session_purge(f->s, 70, 0, &n, &err), 0);
  assert_int_equal(n, 1);
  se.token_hash[0] = 8;
  assert_int_equal(secstore_session_get(f->s, se.token_hash, &got, &err),
                   ERR_NOTFOUND);
  assert_int_equal(secstore_session_touch(f->s, se.token_hash, 1, &err),
                   ERR_NOTFOUND);

  assert_int_equal(secstore_session_delete_user(f->s, "anna", &n, &err), 0);
  assert_int_equal(n, 1);
  memset(se.token_hash, 7, sizeof se.token_hash);
  assert_int_equal(secstore_session_get(f->s, se.token_hash, &got, &err),
                   ERR_NOTFOUND);
  /* deleting what is gone is fine */
  assert_int_equal(secstore_session_delete(f->s, se.token_hash, &err), 0);
}

/* ---- tokens ------------------------------------------------------------- */

static int count_tokens(void *ctx, const struct secstore_token *t) {
  (void)t;
  (*(int *)ctx)++;
  return 0;
}

static void test_tokens(void **state) {
  struct fixture *f = *state;
  struct secstore_user u = make_user("robot", "integration_admin");
  struct secstore_token t, got;
  struct error err;
  int64_t id1 = 0, id2 = 0, n = 0;
  int count = 0;
  memset(&t, 0, sizeof t);
  memset(t.token_hash, 1, sizeof t.token_hash);
  strcpy(t.user, "robot");
  t.created_ms = 10;
  t.expires_ms = 1000;
  /* no such user yet: the foreign key refuses */
  assert_int_equal(secstore_token_add(f->s, &t, &id1, &err), ERR_NOTFOUND);
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), 0);
  assert_int_equal(secstore_token_add(f->s, &t, &id1, &err), 0);
  t.token_hash[0] = 2;
  t.expires_ms = 0;
  assert_int_equal(secstore_token_add(f->s, &t, &id2, &err), 0);
  assert_true(id2 > id1);

  memset(t.token_hash, 1, sizeof t.token_hash);
  assert_int_equal(secstore_token_get(f->s, t.token_hash, &got, &err), 0);
  assert_int_equal(got.id, id1);
  assert_string_equal(got.user, "robot");
  assert_int_equal(got.expires_ms, 1000);
  assert_int_equal(got.revoked_ms, 0);
  assert_int_equal(got.last_used_ms, 0);
  assert_int_equal(secstore_token_touch(f->s, id1, 77, &err), 0);
  assert_int_equal(secstore_token_get(f->s, t.token_hash, &got, &err), 0);
  assert_int_equal(got.last_used_ms, 77);

  assert_int_equal(secstore_token_revoke(f->s, id1, 500, &err), 0);
  assert_int_equal(secstore_token_revoke(f->s, id1, 501, &err), ERR_STATE);
  assert_int_equal(secstore_token_revoke(f->s, 9999, 501, &err), ERR_NOTFOUND);
  assert_int_equal(secstore_token_get(f->s, t.token_hash, &got, &err), 0);
  assert_int_equal(got.revoked_ms, 500);

  assert_int_equal(secstore_token_revoke_user(f->s, "robot", 600, &n, &err), 0);
  assert_int_equal(n, 1); /* only the live one */
  assert_int_equal(
      secstore_token_list(f->s, "robot", count_tokens, &count, &err), 0);
  assert_int_equal(count, 2);
  count = 0;
  assert_int_equal(
      secstore_token_list(f->s, "nobody", count_tokens, &count, &err), 0);
  assert_int_equal(count, 0);
}

/* ---- throttling --------------------------------------------------------- */

static void test_throttle(void **state) {
  struct fixture *f = *state;
  struct secstore_throttle t = {3, 100, 200}, got;
  struct error err;
  assert_int_equal(secstore_throttle_get(f->s, "user", "anna", &got, &err),
                   ERR_NOTFOUND);
  assert_int_equal(secstore_throttle_put(f->s, "user", "anna", &t, &err), 0);
  assert_int_equal(secstore_throttle_put(f->s, "addr", "anna", &t, &err), 0);
  t.failures = 4;
  t.locked_until_ms = 400;
  assert_int_equal(secstore_throttle_put(f->s, "user", "anna", &t, &err), 0);
  assert_int_equal(secstore_throttle_get(f->s, "user", "anna", &got, &err), 0);
  assert_int_equal(got.failures, 4);
  assert_int_equal(got.last_failure_ms, 100);
  assert_int_equal(got.locked_until_ms, 400);
  assert_int_equal(secstore_throttle_get(f->s, "addr", "anna", &got, &err), 0);
  assert_int_equal(got.failures, 3);
  assert_int_equal(secstore_throttle_put(f->s, "other", "anna", &t, &err),
                   ERR_INVAL);
  /* purge before 300: the addr row (lock ended 200) goes, the user row
   * (locked until 400) stays */
  assert_int_equal(secstore_throttle_purge(f->s, 300, &err), 0);
  assert_int_equal(secstore_throttle_get(f->s, "addr", "anna", &got, &err),
                   ERR_NOTFOUND);
  assert_int_equal(secstore_throttle_get(f->s, "user", "anna", &got, &err), 0);
  assert_int_equal(secstore_throttle_clear(f->s, "user", "anna", &err), 0);
  assert_int_equal(secstore_throttle_get(f->s, "user", "anna", &got, &err),
                   ERR_NOTFOUND);
}

/* ---- audit rows and checkpoints ----------------------------------------- */

struct seen {
  int64_t seq[16];
  char subject[16][40];
  size_t n;
};

static int collect_row(void *ctx, const struct secstore_audit_row *r) {
  struct seen *s = ctx;
  s->seq[s->n] = r->seq;
  snprintf(s->subject[s->n], sizeof s->subject[0], "%s", r->subject);
  s->n++;
  return 0;
}

static void test_audit_rows(void **state) {
  struct fixture *f = *state;
  struct secstore_audit_row r;
  struct seen seen;
  unsigned char h[SECSTORE_HASH_BYTES];
  struct error err;
  int64_t seq = -1;
  sqlite3 *db;
  assert_int_equal(secstore_audit_last(f->s, &seq, h, &err), 0);
  assert_int_equal(seq, 0);
  for (int i = 0; i < 32; i++)
    assert_int_equal(h[i], 0);
  for (int i = 1; i <= 3; i++) {
    memset(&r, 0, sizeof r);
    r.seq = i;
    r.at_ms = 1000 + i;
    r.user = i == 2 ? "bertta" : "anna";
    r.role = "coordinator";
    r.action = "view";
    r.subject = i == 3 ? "" : "p1";
    memset(r.hash, i, sizeof r.hash);
    assert_int_equal(secstore_audit_insert(f->s, &r, &err), 0);
  }
  assert_int_equal(secstore_audit_insert(f->s, &r, &err), ERR_EXISTS);
  assert_int_equal(secstore_audit_last(f->s, &seq, h, &err), 0);
  assert_int_equal(seq, 3);
  assert_int_equal(h[0], 3);

  memset(&seen, 0, sizeof seen);
  assert_int_equal(secstore_audit_scan(f->s, 2, collect_row, &seen, &err), 0);
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.seq[0], 2);
  assert_int_equal(seen.seq[1], 3);
  memset(&seen, 0, sizeof seen);
  assert_int_equal(
      secstore_audit_by_subject(f->s, "p1", collect_row, &seen, &err), 0);
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.seq[1], 2);
  /* the empty subject never matches */
  memset(&seen, 0, sizeof seen);
  assert_int_equal(
      secstore_audit_by_subject(f->s, "", collect_row, &seen, &err), 0);
  assert_int_equal(seen.n, 0);
  memset(&seen, 0, sizeof seen);
  assert_int_equal(
      secstore_audit_by_user(f->s, "anna", collect_row, &seen, &err), 0);
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.seq[0], 1);
  assert_int_equal(seen.seq[1], 3);

  /* append-only: the schema refuses UPDATE and DELETE */
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(db, "UPDATE audit SET user = 'x'", NULL, NULL, NULL),
      SQLITE_CONSTRAINT);
  assert_int_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL),
                   SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

static int count_cp(void *ctx, const struct secstore_checkpoint *cp) {
  int64_t *last = ctx;
  assert_true(cp->count >= *last); /* in count order */
  *last = cp->count;
  return 0;
}

static void test_checkpoints(void **state) {
  struct fixture *f = *state;
  struct secstore_checkpoint cp, got;
  struct error err;
  int64_t id = 0, last = 0;
  assert_int_equal(secstore_checkpoint_last(f->s, &got, &err), ERR_NOTFOUND);
  memset(&cp, 0, sizeof cp);
  cp.at_ms = 5;
  cp.count = 10;
  memset(cp.head, 0xab, sizeof cp.head);
  strcpy(cp.kind, "periodic");
  memset(cp.public_key, 1, sizeof cp.public_key);
  memset(cp.signature, 2, sizeof cp.signature);
  assert_int_equal(secstore_checkpoint_add(f->s, &cp, &id, &err), 0);
  cp.count = 4; /* an older count added later still sorts first */
  assert_int_equal(secstore_checkpoint_add(f->s, &cp, NULL, &err), 0);
  assert_int_equal(secstore_checkpoint_last(f->s, &got, &err), 0);
  assert_int_equal(got.id, id);
  assert_int_equal(got.count, 10);
  assert_int_equal(got.head[31], 0xab);
  assert_string_equal(got.kind, "periodic");
  assert_int_equal(got.signature[63], 2);
  assert_int_equal(secstore_checkpoint_list(f->s, count_cp, &last, &err), 0);
  assert_int_equal(last, 10);
}

/* ---- transactions ------------------------------------------------------- */

static void test_transactions(void **state) {
  struct fixture *f = *state;
  struct secstore_user u = make_user("temp", "leader"), got;
  struct error err;
  assert_int_equal(secstore_begin(f->s, &err), 0);
  assert_int_equal(secstore_begin(f->s, &err), ERR_STATE);
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), 0);
  secstore_rollback(f->s);
  assert_int_equal(secstore_user_get(f->s, "temp", &got, &err), ERR_NOTFOUND);
  assert_int_equal(secstore_commit(f->s, &err), ERR_STATE);
  assert_int_equal(secstore_begin(f->s, &err), 0);
  assert_int_equal(secstore_user_add(f->s, &u, NULL, &err), 0);
  assert_int_equal(secstore_commit(f->s, &err), 0);
  assert_int_equal(secstore_user_get(f->s, "temp", &got, &err), 0);
  secstore_rollback(f->s); /* a no-op without a transaction */
}

/* Threads sharing one handle append rows numbered last+1 inside
 * transactions: the lock must keep read-then-insert atomic. */
struct appender {
  struct secstore *s;
  int rounds;
  int failures;
};

static void *append_rows(void *arg) {
  struct appender *ap = arg;
  for (int i = 0; i < ap->rounds; i++) {
    struct secstore_audit_row r;
    unsigned char h[SECSTORE_HASH_BYTES];
    int64_t seq;
    struct error err;
    if (secstore_begin(ap->s, &err) != 0) {
      ap->failures++;
      continue;
    }
    if (secstore_audit_last(ap->s, &seq, h, &err) != 0)
      ap->failures++;
    memset(&r, 0, sizeof r);
    r.seq = seq + 1;
    r.user = "t";
    r.action = "a";
    if (secstore_audit_insert(ap->s, &r, &err) != 0)
      ap->failures++;
    if (secstore_commit(ap->s, &err) != 0)
      ap->failures++;
  }
  return NULL;
}

static void test_threads_share_a_handle(void **state) {
  struct fixture *f = *state;
  struct appender ap[4];
  pthread_t th[4];
  unsigned char h[SECSTORE_HASH_BYTES];
  int64_t seq = 0;
  struct error err;
  for (int i = 0; i < 4; i++) {
    ap[i].s = f->s;
    ap[i].rounds = 50;
    ap[i].failures = 0;
    assert_int_equal(pthread_create(&th[i], NULL, append_rows, &ap[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(ap[i].failures, 0);
  }
  assert_int_equal(secstore_audit_last(f->s, &seq, h, &err), 0);
  assert_int_equal(seq, 200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migration_files_match_embedded),
      cmocka_unit_test_setup_teardown(test_open_creates_private_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_users, setup, teardown),
      cmocka_unit_test_setup_teardown(test_user_caps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
      cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads_share_a_handle, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
