/* test_audit.c -- unit tests for the audit chain (audit.c): the documented
 * construction (recomputed here with libsodium directly), signed
 * checkpoints, and tampering done directly in the SQLite file -- modified,
 * deleted, swapped, inserted records, a cut tail, a rewritten chain, forged
 * checkpoints -- each found at the right position; an untouched log passes.
 * Two tests pin down what the log cannot prove on its own (a tail cut back
 * to the last checkpoint, a rewrite with the checkpoints deleted) and that
 * an externally kept checkpoint catches them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "mem.h"
#include "privacy.h"
#include "secstore.h"

#define HETU_A "131052-308T" /* DOMAIN.md's example codes */
#define HETU_B "010181-900C"

struct fixture {
  char dir[64];
  char db[128];
  char keyfile[128];
  struct privacy_keys *keys;
  struct secstore *ss;
  struct audit *a;
  unsigned char pk[PRIVACY_SIGN_PUBLIC_BYTES];
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
  strcpy(f->dir, "/tmp/tk-audit-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->db, sizeof f->db, "%s/security.db", f->dir);
  snprintf(f->keyfile, sizeof f->keyfile, "%s/keys", f->dir);
  if (privacy_keyfile_create(f->keyfile, &err) != 0 ||
      privacy_keys_load(f->keyfile, &f->keys, &err) != 0 ||
      secstore_open(f->db, SECSTORE_CREATE, &f->ss, &err) != 0 ||
      audit_open(f->ss, f->keys, 0, &f->a, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  privacy_sign_public(f->keys, f->pk);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  audit_free(f->a);
  secstore_close(f->ss);
  privacy_keys_free(f->keys);
  rm_dir(f->dir);
  mem_free(f);
  return 0;
}

/* Appends records 1..n with distinct content; record i has subject
 * pseudonym A when i is odd, B when even; signs a checkpoint after every
 * record whose seq is in 'cps' (0-terminated). */
static void fill(struct fixture *f, int n, const int *cps) {
  char pa[PRIVACY_PSEUDONYM_HEX], pb[PRIVACY_PSEUDONYM_HEX];
  struct error err;
  privacy_pseudonym(f->keys, "person", HETU_A, strlen(HETU_A), pa);
  privacy_pseudonym(f->keys, "person", HETU_B, strlen(HETU_B), pb);
  for (int i = 1; i <= n; i++) {
    struct audit_entry e;
    char reason[32], rid[32];
    int64_t seq = 0;
    snprintf(reason, sizeof reason, "care");
    snprintf(rid, sizeof rid, "req-%d", i);
    memset(&e, 0, sizeof e);
    e.at_ms = 1700000000000LL + i * 1000;
    e.user = i % 3 == 0 ? "bertta" : "anna";
    e.role = "coordinator";
    e.action = "view /api/v1/bedboard";
    e.subject = i % 2 ? pa : pb;
    e.unit = "ward-7";
    e.reason = reason;
    e.address = "192.0.2.10";
    e.request_id = rid;
    assert_int_equal(audit_append(f->a, &e, 1, &seq, &err), 0);
    assert_int_equal(seq, i);
    for (const int *c = cps; c != NULL && *c != 0; c++)
      if (*c == i) {
        bool made = false;
        assert_int_equal(audit_checkpoint(f->a, "periodic",
                                          1700000000000LL + i * 1000 + 500,
                                          &made, NULL, &err),
                         0);
        assert_true(made);
      }
  }
}

static struct audit_verdict verify(struct fixture *f,
                                   const struct audit_expect *expect) {
  struct audit_verdict v;
  struct error err;
  const unsigned char(*trusted)[PRIVACY_SIGN_PUBLIC_BYTES] =
      (const unsigned char(*)[PRIVACY_SIGN_PUBLIC_BYTES])f->pk;
  memset(&v, 0xee, sizeof v);
  assert_int_equal(audit_verify(f->ss, trusted, 1, expect, &v, &err), 0);
  return v;
}

/* Runs SQL on the file behind the server's back, as an attacker with write
 * access would, dropping the append-only triggers first. */
static void tamper(struct fixture *f, const char *sql) {
  sqlite3 *db;
  char *msg = NULL;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "DROP TRIGGER IF EXISTS audit_no_update; "
                                "DROP TRIGGER IF EXISTS audit_no_delete",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "tamper: %s\n", msg);
    sqlite3_free(msg);
    fail();
  }
  sqlite3_close(db);
}

/* A copy of the rows, so that they can be rewritten through another
 * connection. */
#define MAXROWS 64
struct copy {
  size_t n;
  int64_t seq[MAXROWS], at[MAXROWS];
  char f[MAXROWS][8][80];
};

static int copy_row(void *ctx, const struct secstore_audit_row *r) {
  struct copy *c = ctx;
  const char *v[8] = {r->user, r->role,   r->action,  r->subject,
                      r->unit, r->reason, r->address, r->request_id};
  assert_true(c->n < MAXROWS);
  c->seq[c->n] = r->seq;
  c->at[c->n] = r->at_ms;
  for (int k = 0; k < 8; k++)
    snprintf(c->f[c->n][k], sizeof c->f[0][0], "%s", v[k]);
  c->n++;
  return 0;
}

/* Recomputes every hash in seq order, as a forger who knows the
 * construction would (audit_record_hash is public knowledge). */
static void rechain_all(struct fixture *f) {
  struct copy *c = mem_calloc(1, sizeof *c);
  unsigned char prev[AUDIT_HASH_BYTES];
  struct error err;
  sqlite3 *db;
  sqlite3_stmt *up;
  assert_int_equal(secstore_audit_scan(f->ss, 1, copy_row, c, &err), 0);
  tamper(f, "SELECT 1"); /* drops the triggers */
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(db, "UPDATE audit SET hash = ?1 WHERE seq = ?2", -1,
                         &up, NULL),
      SQLITE_OK);
  memset(prev, 0, sizeof prev);
  for (size_t i = 0; i < c->n; i++) {
    struct secstore_audit_row r;
    unsigned char h[AUDIT_HASH_BYTES];
    memset(&r, 0, sizeof r);
    r.seq = c->seq[i];
    r.at_ms = c->at[i];
    r.user = c->f[i][0];
    r.role = c->f[i][1];
    r.action = c->f[i][2];
    r.subject = c->f[i][3];
    r.unit = c->f[i][4];
    r.reason = c->f[i][5];
    r.address = c->f[i][6];
    r.request_id = c->f[i][7];
    audit_record_hash(prev, &r, h);
    sqlite3_bind_blob(up, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(up, 2, r.seq);
    assert_int_equal(sqlite3_step(up), SQLITE_DONE);
    sqlite3_reset(up);
    memcpy(prev, h, sizeof h);
  }
  sqlite3_finalize(up);
  sqlite3_close(db);
  mem_free(c);
}

/* The hash of one record per audit.h, computed with libsodium directly. */
static void put64(crypto_generichash_state *st, uint64_t v) {
  unsigned char b[8];
  for (int i = 7; i >= 0; i--, v >>= 8)
    b[i] = (unsigned char)v;
  crypto_generichash_update(st, b, 8);
}

static void put_str(crypto_generichash_state *st, const char *s) {
  unsigned char b[4];
  uint32_t n = (uint32_t)strlen(s);
  b[0] = (unsigned char)(n >> 24);
  b[1] = (unsigned char)(n >> 16);
  b[2] = (unsigned char)(n >> 8);
  b[3] = (unsigned char)n;
  crypto_generichash_update(st, b, 4);
  crypto_generichash_update(st, (const unsigned char *)s, n);
}

/* ---- the construction --------------------------------------------------- */

static void test_construction(void **state) {
  struct fixture *f = *state;
  struct copy *c = mem_calloc(1, sizeof *c);
  unsigned char prev[32], h[32], stored[32];
  struct secstore_checkpoint cp;
  unsigned char msg[200];
  size_t mlen = 0;
  struct error err;
  int64_t seq;
  fill(f, 2, NULL);
  assert_int_equal(secstore_audit_scan(f->ss, 1, copy_row, c, &err), 0);
  assert_int_equal(c->n, 2);
  memset(prev, 0, sizeof prev);
  for (size_t i = 0; i < 2; i++) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, prev, 32);
    crypto_generichash_update(&st, (const unsigned char *)"TKAUDIT1", 8);
    put64(&st, (uint64_t)c->seq[i]);
    put64(&st, (uint64_t)c->at[i]);
    for (int k = 0; k < 8; k++)
      put_str(&st, c->f[i][k]);
    crypto_generichash_final(&st, h, 32);
    memcpy(prev, h, 32);
  }
  assert_int_equal(secstore_audit_last(f->ss, &seq, stored, &err), 0);
  assert_int_equal(seq, 2);
  assert_memory_equal(stored, h, 32);

  /* a checkpoint signs "TKCKPT01" count head at len kind */
  assert_int_equal(audit_checkpoint(f->a, "manual", 1234, NULL, &cp, &err), 0);
  assert_int_equal(cp.count, 2);
  assert_memory_equal(cp.head, h, 32);
  assert_memory_equal(cp.public_key, f->pk, 32);
  memcpy(msg, "TKCKPT01", 8);
  mlen = 8;
  for (int i = 7; i >= 0; i--)
    msg[mlen + (size_t)(7 - i)] = (unsigned char)((uint64_t)2 >> (8 * i));
  mlen += 8;
  memcpy(msg + mlen, h, 32);
  mlen += 32;
  for (int i = 7; i >= 0; i--)
    msg[mlen + (size_t)(7 - i)] = (unsigned char)((uint64_t)1234 >> (8 * i));
  mlen += 8;
  msg[mlen++] = 0;
  msg[mlen++] = 0;
  msg[mlen++] = 0;
  msg[mlen++] = 6;
  memcpy(msg + mlen, "manual", 6);
  mlen += 6;
  assert_int_equal(crypto_sign_verify_detached(cp.signature, msg, mlen, f->pk),
                   0);
  mem_free(c);
}

/* ---- what passes -------------------------------------------------------- */

static void test_empty_log_passes(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.records, 0);
  assert_int_equal(v.first_bad, 0);
  assert_string_equal(v.problem, "");
}

static void test_untouched_log_passes(void **state) {
  struct fixture *f = *state;
  const int cps[] = {10, 20, 0};
  unsigned char head[32];
  struct audit_verdict v;
  struct error err;
  int64_t seq;
  fill(f, 24, cps);
  v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.records, 24);
  assert_int_equal(v.checkpoints, 2);
  assert_int_equal(v.covered, 20);
  assert_int_equal(v.first_bad, 0);
  assert_int_equal(secstore_audit_last(f->ss, &seq, head, &err), 0);
  assert_memory_equal(v.head, head, 32);
  assert_int_equal(audit_unsigned(f->a), 4);
}

/* ---- tampering ---------------------------------------------------------- */

static const int CPS[] = {10, 20, 0};

static void test_modified_record(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  tamper(f, "UPDATE audit SET reason = 'investigation' WHERE seq = 7");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 7);
  assert_non_null(strstr(v.problem, "record 7 does not match"));
  assert_int_equal(v.records, 6);
}

static void test_modified_time_and_user(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  tamper(f, "UPDATE audit SET at = at + 1 WHERE seq = 22");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 22);
}

static void test_deleted_record(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  tamper(f, "DELETE FROM audit WHERE seq = 5");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 5);
  assert_non_null(strstr(v.problem, "record 5 is missing"));
}

static void test_deleted_and_renumbered(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  tamper(f, "DELETE FROM audit WHERE seq = 5; "
            "UPDATE audit SET seq = seq + 1000 WHERE seq > 5; "
            "UPDATE audit SET seq = seq - 1001 WHERE seq > 1000");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 5);
  assert_non_null(strstr(v.problem, "record 5 does not match"));
}

static void test_swapped_records(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  /* exchange the contents of records 3 and 8 (their positions stay) */
  tamper(f, "UPDATE audit SET seq = 1003 WHERE seq = 3; "
            "UPDATE audit SET seq = 3 WHERE seq = 8; "
            "UPDATE audit SET seq = 8 WHERE seq = 1003");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 3);
}

static void test_inserted_record(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  /* make room at 6 and insert a forged record with a made-up hash */
  tamper(f, "UPDATE audit SET seq = seq + 1000 WHERE seq >= 6; "
            "UPDATE audit SET seq = seq - 999 WHERE seq >= 1000; "
            "INSERT INTO audit VALUES (6, 1700000005500, 'mallory', "
            "'coordinator', 'view /api/v1/bedboard', '', 'ward-7', 'care', "
            "'192.0.2.66', 'x', zeroblob(32))");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 6);
}

static void test_inserted_record_with_forged_hash(void **state) {
  struct fixture *f = *state;
  struct secstore_audit_row r;
  unsigned char prev[32], h[32];
  char hex[65], sql[512];
  struct audit_verdict v;
  struct copy *c = mem_calloc(1, sizeof *c);
  struct error err;
  fill(f, 24, CPS);
  /* the forger chains the new record correctly onto record 5 */
  assert_int_equal(secstore_audit_scan(f->ss, 5, copy_row, c, &err), 0);
  {
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT hash FROM audit WHERE seq = 5",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    memcpy(prev, sqlite3_column_blob(st, 0), 32);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  memset(&r, 0, sizeof r);
  r.seq = 6;
  r.at_ms = 1700000005500LL;
  r.user = "mallory";
  r.role = "coordinator";
  r.action = "view /api/v1/bedboard";
  r.subject = "";
  r.unit = "ward-7";
  r.reason = "care";
  r.address = "192.0.2.66";
  r.request_id = "x";
  audit_record_hash(prev, &r, h);
  audit_hex(h, 32, hex);
  snprintf(sql, sizeof sql,
           "UPDATE audit SET seq = seq + 1000 WHERE seq >= 6; "
           "UPDATE audit SET seq = seq - 999 WHERE seq >= 1000; "
           "INSERT INTO audit VALUES (6, 1700000005500, 'mallory', "
           "'coordinator', 'view /api/v1/bedboard', '', 'ward-7', 'care', "
           "'192.0.2.66', 'x', x'%s')",
           hex);
  tamper(f, sql);
  v = verify(f, NULL);
  assert_false(v.ok);
  /* the forged record links; the one after it no longer does */
  assert_int_equal(v.first_bad, 7);
  mem_free(c);
}

static void test_cut_tail(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  tamper(f, "DELETE FROM audit WHERE seq > 15");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 16);
  assert_non_null(strstr(v.problem, "cut tail"));
  assert_non_null(strstr(v.problem, "covers 20 records"));
  assert_int_equal(v.records, 15);
}

static void test_rewritten_chain_caught_by_checkpoint(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  /* change record 13 and recompute every hash: the chain is consistent,
   * but no longer what was signed at 20 */
  tamper(f, "UPDATE audit SET user = 'mallory' WHERE seq = 13");
  rechain_all(f);
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 11);
  assert_non_null(strstr(v.problem, "records 11..20 do not match"));
  assert_int_equal(v.covered, 10);
}

static void test_forged_checkpoint(void **state) {
  struct fixture *f = *state;
  struct audit_verdict v;
  fill(f, 24, CPS);
  /* claim the checkpoint at 10 covered 12: the signature breaks */
  tamper(f, "UPDATE audit_checkpoints SET count = 12 WHERE count = 10");
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 12);
  assert_non_null(strstr(v.problem, "no valid signature"));
}

static void test_checkpoint_from_untrusted_key(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *other = NULL;
  struct audit *oa = NULL;
  char path[160];
  unsigned char both[2][PRIVACY_SIGN_PUBLIC_BYTES];
  struct audit_verdict v;
  struct error err;
  fill(f, 5, NULL);
  snprintf(path, sizeof path, "%s/other-keys", f->dir);
  assert_int_equal(privacy_keyfile_create(path, &err), 0);
  assert_int_equal(privacy_keys_load(path, &other, &err), 0);
  assert_int_equal(audit_open(f->ss, other, 0, &oa, &err), 0);
  assert_int_equal(audit_checkpoint(oa, "manual", 1, NULL, NULL, &err), 0);
  v = verify(f, NULL);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 5);
  /* trusted as a retired key, it verifies */
  memcpy(both[0], f->pk, 32);
  privacy_sign_public(other, both[1]);
  assert_int_equal(
      audit_verify(f->ss,
                   (const unsigned char(*)[PRIVACY_SIGN_PUBLIC_BYTES])both, 2,
                   NULL, &v, &err),
      0);
  assert_true(v.ok);
  assert_int_equal(v.covered, 5);
  audit_free(oa);
  privacy_keys_free(other);
}

/* ---- the limits, and the external checkpoint that closes them ----------- */

static void test_limit_tail_after_last_checkpoint(void **state) {
  struct fixture *f = *state;
  struct audit_expect expect;
  struct audit_verdict v;
  struct error err;
  int64_t seq;
  fill(f, 24, CPS);
  /* keep what an operator would have copied from the server log */
  assert_int_equal(secstore_audit_last(f->ss, &seq, expect.head, &err), 0);
  expect.count = seq;
  /* records 21..24 were never signed: cutting them leaves a valid log */
  tamper(f, "DELETE FROM audit WHERE seq > 21");
  v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.records, 21);
  /* ... unless a checkpoint kept elsewhere says there were 24 */
  v = verify(f, &expect);
  assert_false(v.ok);
  assert_int_equal(v.first_bad, 22);
  assert_non_null(strstr(v.problem, "cut tail"));
}

static void test_limit_checkpoints_deleted(void **state) {
  struct fixture *f = *state;
  struct audit_expect expect;
  struct audit_verdict v;
  struct error err;
  fill(f, 24, CPS);
  assert_int_equal(secstore_audit_last(f->ss, &expect.count, expect.head, &err),
                   0);
  /* delete every checkpoint and rewrite the chain: nothing inside the file
   * can tell */
  tamper(f, "DELETE FROM audit_checkpoints; "
            "UPDATE audit SET reason = 'investigation' WHERE seq = 3");
  rechain_all(f);
  v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.checkpoints, 0);
  /* the head kept elsewhere does */
  v = verify(f, &expect);
  assert_false(v.ok);
  assert_non_null(strstr(v.problem, "expected head"));
}

/* ---- appending ---------------------------------------------------------- */

static void test_append_validation(void **state) {
  struct fixture *f = *state;
  struct audit_entry e;
  char longer[AUDIT_REASON_MAX + 2];
  struct error err;
  int64_t seq = -1;
  unsigned char h[32];
  memset(&e, 0, sizeof e);
  e.user = "anna";
  e.action = "view";
  e.reason = "line\nbreak";
  assert_int_equal(audit_append(f->a, &e, 1, NULL, &err), ERR_INVAL);
  memset(longer, 'r', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  e.reason = longer;
  assert_int_equal(audit_append(f->a, &e, 1, NULL, &err), ERR_TOOBIG);
  e.reason = "care";
  e.user = "";
  assert_int_equal(audit_append(f->a, &e, 1, NULL, &err), ERR_INVAL);
  e.user = "anna";
  e.action = NULL;
  assert_int_equal(audit_append(f->a, &e, 1, NULL, &err), ERR_INVAL);
  assert_int_equal(audit_append(f->a, &e, 0, NULL, &err), ERR_INVAL);
  assert_int_equal(secstore_audit_last(f->ss, &seq, h, &err), 0);
  assert_int_equal(seq, 0);
  /* a batch is all or nothing: the bad second entry stops the first */
  {
    struct audit_entry two[2];
    memset(two, 0, sizeof two);
    two[0].user = two[1].user = "anna";
    two[0].action = "view";
    two[1].action = "view\x7f";
    assert_int_equal(audit_append(f->a, two, 2, NULL, &err), ERR_INVAL);
    two[1].action = "view";
    assert_int_equal(audit_append(f->a, two, 2, &seq, &err), 0);
    assert_int_equal(seq, 2);
  }
}

static void test_checkpoint_every(void **state) {
  struct fixture *f = *state;
  struct audit *a5 = NULL;
  struct audit_verdict v;
  struct secstore_checkpoint cp;
  struct error err;
  bool made = true;
  audit_free(f->a);
  assert_int_equal(audit_open(f->ss, f->keys, 5, &a5, &err), 0);
  f->a = a5;
  fill(f, 12, NULL);
  assert_int_equal(secstore_checkpoint_last(f->ss, &cp, &err), 0);
  assert_int_equal(cp.count, 10);
  assert_string_equal(cp.kind, "periodic");
  assert_int_equal(audit_unsigned(f->a), 2);
  v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.checkpoints, 2);
  assert_int_equal(v.covered, 10);
  /* periodic: signs the two new ones, then skips while nothing is new */
  assert_int_equal(audit_checkpoint(f->a, "periodic", 9, &made, NULL, &err), 0);
  assert_true(made);
  assert_int_equal(audit_checkpoint(f->a, "periodic", 9, &made, NULL, &err), 0);
  assert_false(made);
  /* shutdown and manual always sign */
  assert_int_equal(audit_checkpoint(f->a, "shutdown", 9, &made, NULL, &err), 0);
  assert_true(made);
  assert_int_equal(audit_unsigned(f->a), 0);
}

static void test_no_keys_no_checkpoints(void **state) {
  struct fixture *f = *state;
  struct audit *a = NULL;
  struct error err;
  assert_int_equal(audit_open(f->ss, NULL, 1, &a, &err), 0);
  assert_int_equal(audit_checkpoint(a, "manual", 1, NULL, NULL, &err),
                   ERR_STATE);
  audit_free(a);
}

/* Two connections (as the server and the CLI would have) appending from
 * threads: the chain stays one chain. */
struct writer {
  const char *path;
  int n;
  int failures;
};

static void *write_records(void *arg) {
  struct writer *w = arg;
  struct secstore *ss = NULL;
  struct audit *a = NULL;
  struct error err;
  if (secstore_open(w->path, 0, &ss, &err) != 0 ||
      audit_open(ss, NULL, 0, &a, &err) != 0) {
    w->failures = w->n;
    secstore_close(ss);
    return NULL;
  }
  for (int i = 0; i < w->n; i++) {
    struct audit_entry e;
    memset(&e, 0, sizeof e);
    e.user = "w";
    e.action = "view";
    if (audit_append(a, &e, 1, NULL, &err) != 0)
      w->failures++;
  }
  audit_free(a);
  secstore_close(ss);
  return NULL;
}

static void test_concurrent_writers(void **state) {
  struct fixture *f = *state;
  struct writer w[3];
  pthread_t th[3];
  struct audit_verdict v;
  for (int i = 0; i < 3; i++) {
    w[i].path = f->db;
    w[i].n = 30;
    w[i].failures = 0;
    assert_int_equal(pthread_create(&th[i], NULL, write_records, &w[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  v = verify(f, NULL);
  assert_true(v.ok);
  assert_int_equal(v.records, 90);
}

/* ---- queries and output ------------------------------------------------- */

static int count_rows(void *ctx, const struct secstore_audit_row *r) {
  struct copy *c = ctx;
  return copy_row(c, r);
}

static void test_who_viewed_and_activity(void **state) {
  struct fixture *f = *state;
  struct copy *c = mem_calloc(1, sizeof *c);
  char pa[PRIVACY_PSEUDONYM_HEX];
  struct error err;
  fill(f, 9, NULL);
  privacy_pseudonym(f->keys, "person", HETU_A, strlen(HETU_A), pa);
  assert_int_equal(audit_who_viewed(f->ss, f->keys, HETU_A, strlen(HETU_A),
                                    count_rows, c, &err),
                   0);
  assert_int_equal(c->n, 5); /* the odd records */
  for (size_t i = 0; i < c->n; i++) {
    assert_int_equal(c->seq[i], (int64_t)(2 * i + 1));
    assert_string_equal(c->f[i][3], pa);
  }
  /* the identity code itself is stored nowhere */
  {
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM audit WHERE instr(subject, "
                           "?1) OR instr(user, ?1) OR instr(reason, ?1)",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, HETU_A, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  memset(c, 0, sizeof *c);
  assert_int_equal(audit_user_activity(f->ss, "bertta", count_rows, c, &err),
                   0);
  assert_int_equal(c->n, 3);
  assert_int_equal(c->seq[0], 3);
  assert_int_equal(c->seq[2], 9);
  memset(c, 0, sizeof *c);
  assert_int_equal(
      audit_who_viewed(f->ss, f->keys, "nobody", 6, count_rows, c, &err), 0);
  assert_int_equal(c->n, 0);
  assert_int_equal(audit_user_activity(f->ss, "", count_rows, c, &err),
                   ERR_INVAL);
  mem_free(c);
}

static void test_text_and_csv(void **state) {
  struct secstore_audit_row r;
  struct buf b;
  (void)state;
  memset(&r, 0, sizeof r);
  r.seq = 17;
  r.at_ms = 1763911201000LL; /* 2025-11-23 15:20:01 UTC */
  r.user = "anna";
  r.role = "coordinator";
  r.action = "view /api/v1/bedboard";
  r.subject = "ab12";
  r.unit = "ward-7";
  r.reason = "care";
  r.address = "192.0.2.10";
  r.request_id = "=cmd|' /C calc'!A0";
  buf_init(&b, 4096);
  assert_int_equal(audit_row_text(&r, &b), 0);
  assert_string_equal(buf_str(&b),
                      "2025-11-23 17:20:01 +02:00  #17  anna (coordinator)  "
                      "view /api/v1/bedboard  unit ward-7  subject ab12  "
                      "reason care  from 192.0.2.10  request =cmd|' /C "
                      "calc'!A0\n");
  buf_reset(&b);
  assert_int_equal(audit_csv_header(&b), 0);
  assert_int_equal(audit_row_csv(&r, &b), 0);
  assert_string_equal(buf_str(&b),
                      "seq,time_utc,time_local,user,role,action,subject,unit,"
                      "reason,address,request_id\r\n"
                      "17,2025-11-23T15:20:01.000Z,2025-11-23 17:20:01 "
                      "+02:00,anna,coordinator,view /api/v1/bedboard,ab12,"
                      "ward-7,care,192.0.2.10,'=cmd|' /C calc'!A0\r\n");
  buf_reset(&b);
  r.user = "a,\"b\"";
  r.request_id = "";
  assert_int_equal(audit_row_csv(&r, &b), 0);
  assert_non_null(strstr(buf_str(&b), ",\"a,\"\"b\"\"\",coordinator,"));
  buf_release(&b);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_construction),
      T(test_empty_log_passes),
      T(test_untouched_log_passes),
      T(test_modified_record),
      T(test_modified_time_and_user),
      T(test_deleted_record),
      T(test_deleted_and_renumbered),
      T(test_swapped_records),
      T(test_inserted_record),
      T(test_inserted_record_with_forged_hash),
      T(test_cut_tail),
      T(test_rewritten_chain_caught_by_checkpoint),
      T(test_forged_checkpoint),
      T(test_checkpoint_from_untrusted_key),
      T(test_limit_tail_after_last_checkpoint),
      T(test_limit_checkpoints_deleted),
      T(test_append_validation),
      T(test_checkpoint_every),
      T(test_no_keys_no_checkpoints),
      T(test_concurrent_writers),
      T(test_who_viewed_and_activity),
      T(test_text_and_csv),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
