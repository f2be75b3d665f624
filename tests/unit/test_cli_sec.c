/* test_cli_sec.c -- the security commands (cli_sec.c) run in-process: each
 * call gets its own standard input (a pipe with the password or identity
 * code) and its standard output captured in a temporary file, and the
 * exit code and the printed lines are checked, together with what the
 * commands left in the security database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "cli_sec.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "secstore.h"

#define PW "correct horse battery"
#define HETU "131052-308T"

struct fixture {
  char dir[64];
  char out[1 << 16];
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
  char p[160];
  struct error err;
  FILE *fp;
  strcpy(f->dir, "/tmp/tk-clisec-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(p, sizeof p, "%s/keys", f->dir);
  if (privacy_keyfile_create(p, &err) != 0)
    return -1;
  snprintf(p, sizeof p, "%s/org.json", f->dir);
  fp = fopen(p, "w");
  if (fp == NULL)
    return -1;
  fputs(org_builtin_json("kanta-hame"), fp);
  fclose(fp);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  rm_dir(f->dir);
  mem_free(f);
  return 0;
}

/* Runs 'fn' with argv (NULL-terminated), 'input' on stdin and stdout
 * captured into f->out. Returns the exit code. */
static int run(struct fixture *f, int (*fn)(int, char **), const char *input,
               const char *const *args) {
  char *argv[32];
  int argc = 0, saved_in, saved_out, pfd[2], ofd, rc;
  char tmpl[] = "/tmp/tk-clisec-out-XXXXXX";
  ssize_t n;
  while (args[argc] != NULL) {
    argv[argc] = (char *)args[argc];
    argc++;
  }
  argv[argc] = NULL;
  assert_int_equal(pipe(pfd), 0);
  if (input != NULL)
    assert_int_equal(write(pfd[1], input, strlen(input)),
                     (ssize_t)strlen(input));
  close(pfd[1]);
  ofd = mkstemp(tmpl);
  assert_true(ofd >= 0);
  fflush(stdout);
  saved_in = dup(0);
  saved_out = dup(1);
  dup2(pfd[0], 0);
  dup2(ofd, 1);
  close(pfd[0]);
  rc = fn(argc, argv);
  fflush(stdout);
  dup2(saved_in, 0);
  dup2(saved_out, 1);
  close(saved_in);
  close(saved_out);
  lseek(ofd, 0, SEEK_SET);
  n = read(ofd, f->out, sizeof f->out - 1);
  f->out[n > 0 ? n : 0] = '\0';
  close(ofd);
  unlink(tmpl);
  return rc;
}

#define RUN(f, fn, input, ...)                                                 \
  run((f), (fn), (input), (const char *const[]){__VA_ARGS__, NULL})

static void test_usage(void **state) {
  struct fixture *f = *state;
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user"), 2);
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "--help"), 0);
  assert_non_null(strstr(f->out, "usage: tilannekuva user add"));
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "frobnicate"), 2);
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "add", "--data",
                       f->dir, "--user", "anna", "--role", "leader", "--scope",
                       "kh"),
                   2); /* neither --password-stdin nor --no-password */
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "list", "--data",
                       f->dir, "--csv"),
                   2); /* not an option of user list */
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "list"), 2);
  assert_int_equal(
      RUN(f, cli_sec_token_main, NULL, "token", "revoke", "--data", f->dir), 2);
  assert_int_equal(
      RUN(f, cli_sec_audit_main, NULL, "audit", "who-viewed", "--data", f->dir),
      2);
  assert_int_equal(RUN(f, cli_sec_auth_main, NULL, "auth", "ldap-test",
                       "--user", "anna", "--password-stdin"),
                   2);
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "--help"), 0);
  assert_non_null(strstr(f->out, "who-viewed"));
}

static void test_users(void **state) {
  struct fixture *f = *state;
  char db[160];
  struct secstore *ss = NULL;
  struct secstore_user u;
  struct error err;
  assert_int_equal(RUN(f, cli_sec_user_main, PW "\n", "user", "add", "--data",
                       f->dir, "--user", "anna", "--role", "coordinator",
                       "--scope", "kh-a-hml,kh-khks", "--password-stdin"),
                   0);
  assert_string_equal(f->out,
                      "added 'anna' (coordinator, scope kh-a-hml,kh-khks)\n");
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "add", "--data",
                       f->dir, "--user", "robot", "--role", "integration_admin",
                       "--scope", "kh", "--no-password"),
                   0);
  /* refusals */
  assert_int_equal(RUN(f, cli_sec_user_main, PW "\n", "user", "add", "--data",
                       f->dir, "--user", "anna", "--role", "leader", "--scope",
                       "kh", "--password-stdin"),
                   1);
  assert_int_equal(RUN(f, cli_sec_user_main, PW "\n", "user", "add", "--data",
                       f->dir, "--user", "x", "--role", "boss", "--scope", "kh",
                       "--password-stdin"),
                   1);
  assert_int_equal(RUN(f, cli_sec_user_main, PW "\n", "user", "add", "--data",
                       f->dir, "--user", "x", "--role", "leader", "--scope",
                       "kh-nowhere", "--password-stdin"),
                   1);
  assert_int_equal(RUN(f, cli_sec_user_main, "short\n", "user", "add", "--data",
                       f->dir, "--user", "x", "--role", "leader", "--scope",
                       "kh", "--password-stdin"),
                   1);
  assert_int_equal(
      RUN(f, cli_sec_user_main, NULL, "user", "list", "--data", f->dir), 0);
  assert_non_null(strstr(f->out, "anna "));
  assert_non_null(strstr(f->out, "coordinator"));
  assert_non_null(strstr(f->out, "kh-a-hml,kh-khks"));
  assert_non_null(strstr(f->out, "no-password"));
  assert_null(strstr(f->out, "x "));

  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "disable", "--data",
                       f->dir, "--user", "anna"),
                   0);
  assert_int_equal(
      RUN(f, cli_sec_user_main, NULL, "user", "list", "--data", f->dir), 0);
  assert_non_null(strstr(f->out, "disabled"));
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "enable", "--data",
                       f->dir, "--user", "anna"),
                   0);
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "disable", "--data",
                       f->dir, "--user", "nobody"),
                   1);
  assert_int_equal(RUN(f, cli_sec_user_main, "another long password\n", "user",
                       "passwd", "--data", f->dir, "--user", "anna",
                       "--password-stdin"),
                   0);
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "set", "--data",
                       f->dir, "--user", "anna", "--role", "unit_manager",
                       "--scope", "kh-khks-sis1"),
                   0);

  snprintf(db, sizeof db, "%s/security.db", f->dir);
  assert_int_equal(secstore_open(db, SECSTORE_READONLY, &ss, &err), 0);
  assert_int_equal(secstore_user_get(ss, "anna", &u, &err), 0);
  assert_false(u.disabled);
  assert_string_equal(u.role, "unit_manager");
  assert_string_equal(u.scope, "kh-khks-sis1");
  assert_memory_equal(u.pwhash, "$argon2id$", 10);
  secstore_close(ss);
}

static void test_tokens(void **state) {
  struct fixture *f = *state;
  char tok[64];
  assert_int_equal(RUN(f, cli_sec_user_main, NULL, "user", "add", "--data",
                       f->dir, "--user", "robot", "--role", "integration_admin",
                       "--scope", "kh", "--no-password"),
                   0);
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "create", "--data",
                       f->dir, "--user", "robot", "--expires", "30d"),
                   0);
  /* the token alone on stdout */
  assert_int_equal(strlen(f->out), AUTH_API_TOKEN_LEN + 1);
  assert_memory_equal(f->out, "tk_", 3);
  assert_true(strlen(f->out) < sizeof tok);
  memcpy(tok, f->out, strlen(f->out) + 1);
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "create", "--data",
                       f->dir, "--user", "robot", "--expires", "soon"),
                   2);
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "create", "--data",
                       f->dir, "--user", "nobody"),
                   1);
  assert_int_equal(
      RUN(f, cli_sec_token_main, NULL, "token", "list", "--data", f->dir), 0);
  assert_non_null(strstr(f->out, "robot"));
  assert_non_null(strstr(f->out, "active"));
  assert_null(strstr(f->out, tok + 3)); /* never shown again */
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "revoke", "--data",
                       f->dir, "--id", "1"),
                   0);
  assert_string_equal(f->out, "revoked token 1\n");
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "revoke", "--data",
                       f->dir, "--id", "1"),
                   1);
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "list", "--data",
                       f->dir, "--user", "robot"),
                   0);
  assert_non_null(strstr(f->out, "revoked"));
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "create", "--data",
                       f->dir, "--user", "robot"),
                   0);
  assert_int_equal(RUN(f, cli_sec_token_main, NULL, "token", "revoke", "--data",
                       f->dir, "--user", "robot", "--all"),
                   0);
  assert_string_equal(f->out, "revoked 1 token(s) of 'robot'\n");
}

/* Adds records about HETU as the server would. */
static void add_views(struct fixture *f, int n) {
  char db[160], kp[160];
  char pseudo[PRIVACY_PSEUDONYM_HEX];
  struct secstore *ss = NULL;
  struct privacy_keys *keys = NULL;
  struct audit *a = NULL;
  struct error err;
  snprintf(db, sizeof db, "%s/security.db", f->dir);
  snprintf(kp, sizeof kp, "%s/keys", f->dir);
  assert_int_equal(privacy_keys_load(kp, &keys, &err), 0);
  assert_int_equal(secstore_open(db, SECSTORE_CREATE, &ss, &err), 0);
  assert_int_equal(audit_open(ss, keys, 0, &a, &err), 0);
  privacy_pseudonym(keys, "person", HETU, strlen(HETU), pseudo);
  for (int i = 0; i < n; i++) {
    struct audit_entry e;
    memset(&e, 0, sizeof e);
    e.at_ms = 1763911201000LL + i;
    e.user = "anna";
    e.role = "coordinator";
    e.action = "view /api/v1/bedboard";
    e.subject = pseudo;
    e.unit = "kh-tk-hml1";
    e.reason = "care";
    e.address = "192.0.2.10";
    e.request_id = "r1";
    assert_int_equal(audit_append(a, &e, 1, NULL, &err), 0);
  }
  audit_free(a);
  secstore_close(ss);
  privacy_keys_free(keys);
}

static void test_audit_commands(void **state) {
  struct fixture *f = *state;
  char head[200], expect[220], db[160];
  sqlite3 *sdb;
  assert_int_equal(RUN(f, cli_sec_user_main, PW "\n", "user", "add", "--data",
                       f->dir, "--user", "anna", "--role", "coordinator",
                       "--scope", "kh", "--password-stdin"),
                   0);
  add_views(f, 3);
  assert_int_equal(
      RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data", f->dir), 0);
  assert_non_null(strstr(f->out, "audit log OK: 4 records, 0 signed"));
  assert_non_null(strstr(f->out, "note: without a signed checkpoint"));
  assert_int_equal(
      RUN(f, cli_sec_audit_main, NULL, "audit", "checkpoint", "--data", f->dir),
      0);
  assert_non_null(strstr(f->out, "count=4 head="));
  assert_int_equal(
      RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data", f->dir), 0);
  assert_non_null(strstr(f->out, "4 records, 1 signed checkpoints; the last "
                                 "covers 4 records"));
  {
    const char *h = strstr(f->out, "head 4:");
    assert_non_null(h);
    snprintf(head, sizeof head, "%.64s", h + 7);
  }
  snprintf(expect, sizeof expect, "4:%s", head);
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data",
                       f->dir, "--expect", expect),
                   0);
  snprintf(expect, sizeof expect, "5:%s", head);
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data",
                       f->dir, "--expect", expect),
                   1);
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data",
                       f->dir, "--expect", "4:zz"),
                   2);

  /* who viewed this person: three views, the first record was user.add */
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "who-viewed",
                       "--data", f->dir, "--hetu", HETU),
                   0);
  assert_non_null(strstr(f->out, "#2  anna (coordinator)  view "
                                 "/api/v1/bedboard  unit kh-tk-hml1"));
  assert_non_null(strstr(f->out, "#4  anna"));
  assert_null(strstr(f->out, HETU));
  assert_int_equal(RUN(f, cli_sec_audit_main, HETU "\n", "audit", "who-viewed",
                       "--data", f->dir, "--hetu-stdin", "--csv"),
                   0);
  assert_non_null(strstr(f->out, "seq,time_utc,time_local,user,"));
  assert_non_null(strstr(f->out, "\r\n2,2025-11-23T15:20:01.000Z,"
                                 "2025-11-23 17:20:01 +02:00,anna,"));
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "who-viewed",
                       "--data", f->dir, "--hetu", "010181-900C"),
                   0);
  assert_string_equal(f->out, "");
  assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "user-activity",
                       "--data", f->dir, "--user", "anna"),
                   0);
  assert_non_null(strstr(f->out, "#3  anna"));
  /* the CLI's own actions are on record, under the OS login */
  {
    char actor[96];
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    snprintf(actor, sizeof actor, "os:%s", pw->pw_name);
    assert_int_equal(RUN(f, cli_sec_audit_main, NULL, "audit", "user-activity",
                         "--data", f->dir, "--user", actor, "--csv"),
                     0);
    assert_non_null(strstr(f->out, ",cli,user.add anna,"));
  }

  /* tamper with record 3: verify exits 1 and names it */
  snprintf(db, sizeof db, "%s/security.db", f->dir);
  assert_int_equal(sqlite3_open(db, &sdb), SQLITE_OK);
  assert_int_equal(sqlite3_exec(sdb,
                                "DROP TRIGGER audit_no_update; UPDATE audit "
                                "SET unit = 'kh' WHERE seq = 3",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(sdb);
  assert_int_equal(
      RUN(f, cli_sec_audit_main, NULL, "audit", "verify", "--data", f->dir), 1);
  assert_non_null(strstr(f->out, "audit log BROKEN at record 3: record 3 does "
                                 "not match the chain"));
}

static void test_ldap_test_command(void **state) {
  struct fixture *f = *state;
  char ini[160];
  FILE *fp;
  /* no ldap.ini */
  assert_int_equal(RUN(f, cli_sec_auth_main, PW "\n", "auth", "ldap-test",
                       "--data", f->dir, "--user", "anna", "--password-stdin"),
                   1);
  /* a directory nobody answers: an error, not a refusal */
  snprintf(ini, sizeof ini, "%s/ldap.ini", f->dir);
  fp = fopen(ini, "w");
  assert_non_null(fp);
  fputs("[ldap]\nurl = ldaps://127.0.0.1:1\ntimeout = 1s\n"
        "bind_dn_template = uid={user},dc=t\ngroup_attribute = memberOf\n"
        "[group c]\ndn = cn=c,dc=t\nrole = coordinator\nscope = kh-a-hml\n",
        fp);
  fclose(fp);
  assert_int_equal(RUN(f, cli_sec_auth_main, PW "\n", "auth", "ldap-test",
                       "--data", f->dir, "--user", "anna", "--password-stdin"),
                   1);
  assert_memory_equal(f->out, "error: ", 7);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_usage),
      T(test_users),
      T(test_tokens),
      T(test_audit_commands),
      T(test_ldap_test_command),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
