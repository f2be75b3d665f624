/* test_auth.c -- unit tests for roles, scopes, passwords, settings, local
 * accounts, sessions, API tokens and sign-in throttling (auth.c), and for
 * the directory settings parser (auth_ldap.c; signing in at a real slapd is
 * tests/integration/ldap_slapd.py).
 *
 * The clock is a parameter everywhere, so timeouts and backoff are tested
 * by passing instants, not by sleeping. Passwords are hashed with
 * libsodium's minimum argon2id limits (auth_pwhash_test) to stay fast. The
 * organisation is the built-in Kanta-Häme region. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "mem.h"
#include "org.h"
#include "secstore.h"

#define T0 1700000000000LL /* an arbitrary "now" */
#define PW "correct horse battery"

struct fixture {
  char dir[64];
  char db[128];
  struct secstore *ss;
  struct org *org;
  struct auth_settings st;
  struct auth *auth;
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
  strcpy(f->dir, "/tmp/tk-auth-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->db, sizeof f->db, "%s/security.db", f->dir);
  auth_settings_default(&f->st);
  f->st.pwhash = auth_pwhash_test();
  if (secstore_open(f->db, SECSTORE_CREATE, &f->ss, &err) != 0 ||
      org_load_builtin("kanta-hame", &f->org, &err) != 0 ||
      auth_open(f->ss, f->org, &f->st, NULL, &f->auth, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  auth_free(f->auth);
  secstore_close(f->ss);
  org_free(f->org);
  rm_dir(f->dir);
  mem_free(f);
  return 0;
}

static void add_user(struct fixture *f, const char *name, enum auth_role role,
                     const char *scope) {
  struct auth_scope sc;
  struct error err;
  assert_int_equal(auth_scope_parse(scope, &sc, &err), 0);
  assert_int_equal(
      auth_user_add(f->auth, name, role, &sc, PW, strlen(PW), T0, &err), 0);
}

/* ---- roles -------------------------------------------------------------- */

static void test_roles(void **state) {
  static const struct {
    const char *name;
    bool person;
    unsigned perms;
  } want[] = {
      {"leader", false, AUTH_PERM_AGGREGATE},
      {"analyst", false, AUTH_PERM_AGGREGATE},
      {"unit_manager", true, AUTH_PERM_AGGREGATE | AUTH_PERM_PERSON},
      {"coordinator", true, AUTH_PERM_AGGREGATE | AUTH_PERM_PERSON},
      {"integration_admin", false, AUTH_PERM_AGGREGATE | AUTH_PERM_FEEDS},
      {"registrar", false, AUTH_PERM_AGGREGATE | AUTH_PERM_AUDIT},
      {"admin", false,
       AUTH_PERM_AGGREGATE | AUTH_PERM_FEEDS | AUTH_PERM_AUDIT |
           AUTH_PERM_USERS},
  };
  enum auth_role r = AUTH_ROLE_ADMIN;
  (void)state;
  assert_int_equal(ARRAY_LEN(want), AUTH_ROLE__COUNT);
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    assert_int_equal(auth_role_parse(want[i].name, &r), 0);
    assert_int_equal(r, (enum auth_role)i);
    assert_string_equal(auth_role_name(r), want[i].name);
    assert_int_equal(auth_role_person_level(r), want[i].person);
    assert_int_equal(auth_role_perms(r), want[i].perms);
  }
  r = AUTH_ROLE_LEADER;
  assert_int_equal(auth_role_parse("Admin", &r), ERR_NOTFOUND);
  assert_int_equal(auth_role_parse("", &r), ERR_NOTFOUND);
  assert_int_equal(r, AUTH_ROLE_LEADER);
  assert_string_equal(auth_role_name(AUTH_ROLE__COUNT), "");
  assert_int_equal(auth_role_perms(AUTH_ROLE__COUNT), 0);
}

/* ---- scopes ------------------------------------------------------------- */

static void test_scope_parse(void **state) {
  struct auth_scope sc;
  char text[SECSTORE_SCOPE_MAX], many[40 * 6];
  struct error err;
  (void)state;
  assert_int_equal(auth_scope_parse("kh-a-hml, kh-khks ,kh-061", &sc, &err), 0);
  assert_int_equal(sc.n, 3);
  assert_string_equal(sc.units[0], "kh-a-hml");
  assert_string_equal(sc.units[1], "kh-khks");
  assert_string_equal(sc.units[2], "kh-061");
  assert_int_equal(auth_scope_format(&sc, text, sizeof text), 0);
  assert_string_equal(text, "kh-a-hml,kh-khks,kh-061");
  assert_int_equal(auth_scope_format(&sc, text, 10), ERR_TOOBIG);
  assert_int_equal(auth_scope_parse("", &sc, &err), ERR_PARSE);
  assert_int_equal(auth_scope_parse("a,,b", &sc, &err), ERR_PARSE);
  assert_int_equal(auth_scope_parse("a,b,", &sc, &err), ERR_PARSE);
  assert_int_equal(auth_scope_parse("a b", &sc, &err), ERR_PARSE);
  assert_int_equal(auth_scope_parse("a,b,a", &sc, &err), ERR_PARSE);
  assert_non_null(strstr(err.msg, "'a' given twice"));
  assert_int_equal(auth_scope_parse("ward/1", &sc, &err), ERR_PARSE);
  many[0] = '\0';
  for (int i = 0; i <= AUTH_SCOPE_MAX; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "%su%d",
             i ? "," : "", i);
  assert_int_equal(auth_scope_parse(many, &sc, &err), ERR_TOOBIG);
}

static void test_scope_covers(void **state) {
  struct fixture *f = *state;
  struct auth_scope sc;
  struct error err;
  assert_int_equal(auth_scope_parse("kh-a-hml,kh-khks-sis1", &sc, &err), 0);
  assert_int_equal(auth_scope_check(&sc, f->org, &err), 0);
  assert_true(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-a-hml")));
  assert_true(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-tk-hml1")));
  assert_true(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-ts-parola")));
  assert_true(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-khks-sis1")));
  assert_false(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-khks-sis2")));
  assert_false(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-khks")));
  assert_false(auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh")));
  assert_false(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-tk-riihimaki")));
  assert_false(auth_scope_covers(&sc, f->org, NULL));
  /* a unit the organisation lacks covers nothing (fail closed) */
  assert_int_equal(auth_scope_parse("gone,kh-khks-sis1", &sc, &err), 0);
  assert_int_equal(auth_scope_check(&sc, f->org, &err), ERR_NOTFOUND);
  assert_non_null(strstr(err.msg, "'gone'"));
  assert_false(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-tk-hml1")));
  assert_int_equal(auth_scope_parse("kh", &sc, &err), 0);
  assert_true(
      auth_scope_covers(&sc, f->org, org_unit_find(f->org, "kh-tk-riihimaki")));
}

static void test_user_names(void **state) {
  struct error err;
  char longer[AUTH_USER_MAX + 2];
  (void)state;
  assert_int_equal(auth_user_name_check("anna.virtanen", &err), 0);
  assert_int_equal(auth_user_name_check("a_b-c@hva.fi", &err), 0);
  assert_int_equal(auth_user_name_check("9lives", &err), 0);
  assert_int_equal(auth_user_name_check("", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check(".hidden", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check("-rf", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check("anna virtanen", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check("x*)(uid=*", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check("cn=admin,dc=x", &err), ERR_INVAL);
  assert_int_equal(auth_user_name_check("änni", &err), ERR_INVAL);
  memset(longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  assert_int_equal(auth_user_name_check(longer, &err), ERR_INVAL);
  longer[AUTH_USER_MAX] = '\0';
  assert_int_equal(auth_user_name_check(longer, &err), 0);
}

/* ---- passwords ---------------------------------------------------------- */

static void test_passwords(void **state) {
  struct auth_pwhash_params p = auth_pwhash_test(), d = auth_pwhash_default();
  char h1[AUTH_PWHASH_MAX], h2[AUTH_PWHASH_MAX];
  struct error err;
  (void)state;
  assert_int_equal(d.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
  assert_int_equal(d.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
  assert_int_equal(auth_password_hash(PW, strlen(PW), &p, h1, &err), 0);
  assert_int_equal(auth_password_hash(PW, strlen(PW), &p, h2, &err), 0);
  assert_memory_equal(h1, "$argon2id$", 10);
  assert_string_not_equal(h1, h2); /* salted */
  assert_int_equal(auth_password_verify(h1, PW, strlen(PW)), 0);
  assert_int_equal(auth_password_verify(h2, PW, strlen(PW)), 0);
  assert_int_equal(auth_password_verify(h1, PW, strlen(PW) - 1), ERR_DENIED);
  assert_int_equal(auth_password_verify(h1, "Correct horse battery", 21),
                   ERR_DENIED);
  assert_int_equal(
      auth_password_verify("$argon2i$v=19$m=8,t=1,p=1$x$y", PW, strlen(PW)),
      ERR_DENIED);
  assert_int_equal(auth_password_verify("", PW, strlen(PW)), ERR_DENIED);
  assert_false(auth_password_needs_rehash(h1, &p));
  assert_true(auth_password_needs_rehash(h1, NULL));
  assert_int_equal(auth_password_hash("short", 5, &p, h1, &err), ERR_INVAL);
  assert_int_equal(auth_password_hash("twelve\0bytes", 12, &p, h1, &err),
                   ERR_INVAL);
}

/* ---- settings ----------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_settings(void **state) {
  struct fixture *f = *state;
  struct auth_settings s, before;
  char path[160];
  struct error err;
  snprintf(path, sizeof path, "%s/security.ini", f->dir);
  auth_settings_default(&s);
  assert_int_equal(s.idle_timeout_ms, 30 * 60 * 1000);
  assert_int_equal(s.absolute_timeout_ms, 12 * 3600 * 1000LL);
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_NOTFOUND);
  write_file(path, "; staff sign-in\n"
                   "[session]\nidle_timeout = 15m\nabsolute_timeout = 10h\n"
                   "secure_cookie = yes\n"
                   "[signin]\nuser_failures = 3\nbackoff_max = 5m\n"
                   "[http]\ntrusted_proxy = true\n"
                   "[audit]\ncheckpoint_every = 100\n"
                   "checkpoint_interval = 1m\n");
  assert_int_equal(auth_settings_load(path, &s, &err), 0);
  assert_int_equal(s.idle_timeout_ms, 15 * 60 * 1000);
  assert_int_equal(s.absolute_timeout_ms, 10 * 3600 * 1000LL);
  assert_true(s.secure_cookie);
  assert_int_equal(s.user_free_failures, 3);
  assert_int_equal(s.addr_free_failures, 20);
  assert_int_equal(s.backoff_max_ms, 5 * 60 * 1000);
  assert_true(s.trusted_proxy);
  assert_int_equal(s.checkpoint_every, 100);
  assert_int_equal(s.checkpoint_interval_ms, 60000);

  before = s;
  write_file(path, "[session]\nidle_timeout = 15m\nidle_timeout = 20m\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  assert_non_null(strstr(err.msg, ":3: 'session.idle_timeout' given twice"));
  write_file(path, "[session]\nidel_timeout = 15m\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  assert_non_null(
      strstr(err.msg, ":2: unknown setting 'session.idel_timeout'"));
  write_file(path, "[signin]\nuser_failures = many\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  write_file(path, "[session]\nidle_timeout = 1s\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  assert_non_null(strstr(err.msg, "out of range"));
  write_file(path, "[session]\nidle_timeout = 13h\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  assert_non_null(strstr(err.msg, "longer than session.absolute_timeout"));
  write_file(path, "[session\n");
  assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
  assert_non_null(strstr(err.msg, ":1: syntax error"));
  {
    char line[400];
    memset(line, 'x', sizeof line);
    memcpy(line, "[audit]\n; ", 10);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    write_file(path, line);
    assert_int_equal(auth_settings_load(path, &s, &err), ERR_CONFIG);
    assert_non_null(strstr(err.msg, "longer than 198 bytes"));
  }
  /* every failure left the settings as they were */
  assert_memory_equal(&s, &before, sizeof s);
}

/* ---- local accounts and sign-in ----------------------------------------- */

static void test_user_add_rules(void **state) {
  struct fixture *f = *state;
  struct auth_scope sc;
  struct secstore_user u;
  struct error err;
  assert_int_equal(auth_scope_parse("kh-a-hml", &sc, &err), 0);
  assert_int_equal(auth_user_add(f->auth, "bad name", AUTH_ROLE_LEADER, &sc, PW,
                                 strlen(PW), T0, &err),
                   ERR_INVAL);
  assert_int_equal(auth_user_add(f->auth, "anna", AUTH_ROLE__COUNT, &sc, PW,
                                 strlen(PW), T0, &err),
                   ERR_INVAL);
  assert_int_equal(auth_user_add(f->auth, "anna", AUTH_ROLE_LEADER, &sc,
                                 "short", 5, T0, &err),
                   ERR_INVAL);
  assert_int_equal(auth_scope_parse("kh-nowhere", &sc, &err), 0);
  assert_int_equal(auth_user_add(f->auth, "anna", AUTH_ROLE_LEADER, &sc, PW,
                                 strlen(PW), T0, &err),
                   ERR_NOTFOUND);
  assert_int_equal(secstore_user_get(f->ss, "anna", &u, &err), ERR_NOTFOUND);
  add_user(f, "anna", AUTH_ROLE_COORDINATOR, "kh-a-hml");
  assert_int_equal(auth_scope_parse("kh", &sc, &err), 0);
  assert_int_equal(auth_user_add(f->auth, "anna", AUTH_ROLE_LEADER, &sc, PW,
                                 strlen(PW), T0, &err),
                   ERR_EXISTS);
  /* the database holds an argon2id hash, not the password */
  assert_int_equal(secstore_user_get(f->ss, "anna", &u, &err), 0);
  assert_memory_equal(u.pwhash, "$argon2id$", 10);
  assert_null(strstr(u.pwhash, PW));
  assert_string_equal(u.role, "coordinator");
  assert_string_equal(u.scope, "kh-a-hml");
  /* an account for tokens only has no password and cannot sign in */
  assert_int_equal(auth_user_add(f->auth, "robot", AUTH_ROLE_INTEGRATION_ADMIN,
                                 &sc, NULL, 0, T0, &err),
                   0);
  {
    struct auth_signin s;
    int64_t retry = 0;
    assert_int_equal(auth_signin(f->auth, "robot", PW, strlen(PW), "192.0.2.1",
                                 T0, &s, &retry, &err),
                     ERR_DENIED);
    assert_non_null(strstr(err.msg, "has no password"));
  }
}

static void test_signin_and_session(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct auth_principal who;
  struct secstore_session se;
  unsigned char h[32];
  struct error err;
  int64_t retry = -1;
  add_user(f, "anna", AUTH_ROLE_COORDINATOR, "kh-a-hml,kh-khks");
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), "192.0.2.1", T0,
                               &s, &retry, &err),
                   0);
  assert_int_equal(strlen(s.token), AUTH_SESSION_TOKEN_LEN);
  assert_int_equal(strlen(s.who.csrf), AUTH_SESSION_TOKEN_LEN);
  assert_string_not_equal(s.token, s.who.csrf);
  assert_string_equal(s.who.user, "anna");
  assert_string_equal(s.who.source, "local");
  assert_int_equal(s.who.role, AUTH_ROLE_COORDINATOR);
  assert_int_equal(s.who.scope.n, 2);
  assert_false(s.who.via_token);
  assert_int_equal(s.who.expires_ms, T0 + f->st.idle_timeout_ms);
  /* stored as a hash, never as the token */
  crypto_generichash(h, 32, (const unsigned char *)s.token, strlen(s.token),
                     NULL, 0);
  assert_int_equal(secstore_session_get(f->ss, h, &se, &err), 0);
  assert_string_equal(se.address, "192.0.2.1");
  assert_string_equal(se.csrf, s.who.csrf);

  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + 1000, &who, &err),
                   0);
  assert_string_equal(who.user, "anna");
  assert_string_equal(who.csrf, s.who.csrf);
  assert_int_equal(who.role, AUTH_ROLE_COORDINATOR);
  /* a token one character off, or malformed, is nobody */
  s.token[5] = s.token[5] == 'A' ? 'B' : 'A';
  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + 1000, &who, &err),
                   ERR_DENIED);
  assert_int_equal(auth_session_check(f->auth, "short", 5, T0, &who, &err),
                   ERR_DENIED);
  assert_int_equal(auth_session_check(f->auth,
                                      "'-- OR 1=1 ....................",
                                      AUTH_SESSION_TOKEN_LEN, T0, &who, &err),
                   ERR_DENIED);
}

static void test_signin_failures(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct error err;
  int64_t retry = 0;
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15,
                               "192.0.2.1", T0, &s, &retry, &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "wrong password"));
  assert_int_equal(auth_signin(f->auth, "nobody", PW, strlen(PW), "192.0.2.1",
                               T0, &s, &retry, &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "no account"));
  assert_int_equal(
      auth_signin(f->auth, "anna", "", 0, "192.0.2.1", T0, &s, &retry, &err),
      ERR_DENIED);
  assert_int_equal(auth_signin(f->auth, "x*)(|(uid=*", PW, strlen(PW),
                               "192.0.2.1", T0, &s, &retry, &err),
                   ERR_DENIED);
  assert_int_equal(auth_user_set_disabled(f->auth, "anna", true, T0, &err), 0);
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), "192.0.2.2", T0,
                               &s, &retry, &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "disabled"));
  assert_int_equal(auth_user_set_disabled(f->auth, "anna", false, T0, &err), 0);
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), "192.0.2.2", T0,
                               &s, &retry, &err),
                   0);
  assert_int_equal(auth_user_set_disabled(f->auth, "nobody", true, T0, &err),
                   ERR_NOTFOUND);
}

static void test_names_are_case_insensitive(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct secstore_user u;
  struct secstore_throttle th;
  struct error err;
  int64_t retry = 0;
  add_user(f, "Anna.Virtanen", AUTH_ROLE_LEADER, "kh");
  assert_int_equal(secstore_user_get(f->ss, "anna.virtanen", &u, &err), 0);
  assert_int_equal(secstore_user_get(f->ss, "Anna.Virtanen", &u, &err),
                   ERR_NOTFOUND);
  assert_int_equal(auth_signin(f->auth, "ANNA.VIRTANEN", PW, strlen(PW), "", T0,
                               &s, &retry, &err),
                   0);
  assert_string_equal(s.who.user, "anna.virtanen");
  /* one throttle row however the name is typed */
  assert_int_equal(auth_signin(f->auth, "aNNa.virtanen", "wrong password!", 15,
                               "", T0, &s, &retry, &err),
                   ERR_DENIED);
  assert_int_equal(auth_signin(f->auth, "Anna.virtanen", "wrong password!", 15,
                               "", T0, &s, &retry, &err),
                   ERR_DENIED);
  assert_int_equal(
      secstore_throttle_get(f->ss, "user", "anna.virtanen", &th, &err), 0);
  assert_int_equal(th.failures, 2);
  assert_int_equal(
      auth_user_set_disabled(f->auth, "ANNA.VIRTANEN", true, T0, &err), 0);
  assert_int_equal(secstore_user_get(f->ss, "anna.virtanen", &u, &err), 0);
  assert_true(u.disabled);
}

static void test_throttle_user(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct error err;
  int64_t retry = 0, t = T0;
  unsigned i;
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  /* five free failures (each from a different address) */
  for (i = 0; i < f->st.user_free_failures; i++) {
    char addr[32];
    snprintf(addr, sizeof addr, "198.51.100.%u", i);
    assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15, addr,
                                 t, &s, &retry, &err),
                     ERR_DENIED);
  }
  /* the sixth locks for backoff_base */
  assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15, NULL, t,
                               &s, &retry, &err),
                   ERR_DENIED);
  /* now even the right password is refused, and says how long */
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), NULL, t + 10,
                               &s, &retry, &err),
                   ERR_AGAIN);
  assert_int_equal(retry, f->st.backoff_base_ms - 10);
  /* after the lock: one more failure doubles it */
  t += f->st.backoff_base_ms;
  assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15, NULL, t,
                               &s, &retry, &err),
                   ERR_DENIED);
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), NULL, t, &s, &retry, &err),
      ERR_AGAIN);
  assert_int_equal(retry, 2 * f->st.backoff_base_ms);
  /* many more: capped at backoff_max */
  for (i = 0; i < 30; i++) {
    struct secstore_throttle th;
    assert_int_equal(secstore_throttle_get(f->ss, "user", "anna", &th, &err),
                     0);
    t = th.locked_until_ms;
    assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15, NULL,
                                 t, &s, &retry, &err),
                     ERR_DENIED);
  }
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), NULL, t, &s, &retry, &err),
      ERR_AGAIN);
  assert_int_equal(retry, f->st.backoff_max_ms);
  /* once the lock ends, the right password works and clears the count */
  t += f->st.backoff_max_ms;
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), NULL, t, &s, &retry, &err),
      0);
  {
    struct secstore_throttle th;
    assert_int_equal(secstore_throttle_get(f->ss, "user", "anna", &th, &err),
                     ERR_NOTFOUND);
  }
}

static void test_throttle_address(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct error err;
  int64_t retry = 0;
  char name[32];
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  /* password spraying from one address: many names, one failure each */
  for (unsigned i = 0; i <= f->st.addr_free_failures; i++) {
    snprintf(name, sizeof name, "user%u", i);
    assert_int_equal(auth_signin(f->auth, name, "wrong password!", 15,
                                 "203.0.113.9", T0, &s, &retry, &err),
                     ERR_DENIED);
  }
  /* that address is locked out, even for a real account */
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), "203.0.113.9",
                               T0 + 1, &s, &retry, &err),
                   ERR_AGAIN);
  /* another address is not */
  assert_int_equal(auth_signin(f->auth, "anna", PW, strlen(PW), "203.0.113.10",
                               T0 + 1, &s, &retry, &err),
                   0);
  /* failures long ago do not count: the window restarts */
  assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15,
                               "203.0.113.11", T0, &s, &retry, &err),
                   ERR_DENIED);
  {
    struct secstore_throttle th;
    int64_t later = T0 + f->st.failure_window_ms + 1;
    assert_int_equal(auth_signin(f->auth, "anna", "wrong password!", 15,
                                 "203.0.113.11", later, &s, &retry, &err),
                     ERR_DENIED);
    assert_int_equal(
        secstore_throttle_get(f->ss, "addr", "203.0.113.11", &th, &err), 0);
    assert_int_equal(th.failures, 1);
  }
}

static void test_session_timeouts(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct auth_principal who;
  struct error err;
  int64_t retry, t;
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  /* touched at most once per touch interval, each touch extends idleness */
  t = T0;
  for (int i = 0; i < 40; i++) {
    t += f->st.idle_timeout_ms - 1000;
    if (t - T0 >= f->st.absolute_timeout_ms)
      break;
    assert_int_equal(
        auth_session_check(f->auth, s.token, strlen(s.token), t, &who, &err),
        0);
  }
  /* past the absolute timeout, no touching helps */
  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + f->st.absolute_timeout_ms, &who,
                                      &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "absolute"));
  /* and the session is gone for good */
  assert_int_equal(
      auth_session_check(f->auth, s.token, strlen(s.token), T0, &who, &err),
      ERR_DENIED);

  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + f->st.idle_timeout_ms, &who, &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "idle"));

  /* within the touch interval last_seen is not rewritten */
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + f->st.touch_interval_ms - 1, &who,
                                      &err),
                   0);
  assert_int_equal(who.expires_ms, T0 + f->st.idle_timeout_ms);
  assert_int_equal(auth_session_check(f->auth, s.token, strlen(s.token),
                                      T0 + f->st.touch_interval_ms, &who, &err),
                   0);
  assert_int_equal(who.expires_ms,
                   T0 + f->st.touch_interval_ms + f->st.idle_timeout_ms);
}

static void test_session_follows_account(void **state) {
  struct fixture *f = *state;
  struct auth_signin s, s2;
  struct auth_principal who;
  struct auth_scope sc;
  struct error err;
  int64_t retry;
  add_user(f, "anna", AUTH_ROLE_COORDINATOR, "kh-a-hml");
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s2, &retry, &err),
      0);
  /* a role change takes effect at the next request */
  assert_int_equal(auth_scope_parse("kh-khks", &sc, &err), 0);
  assert_int_equal(
      auth_user_set_role(f->auth, "anna", AUTH_ROLE_ANALYST, &sc, T0, &err), 0);
  assert_int_equal(
      auth_session_check(f->auth, s.token, strlen(s.token), T0, &who, &err), 0);
  assert_int_equal(who.role, AUTH_ROLE_ANALYST);
  assert_string_equal(who.scope.units[0], "kh-khks");
  /* sign-out ends one session */
  assert_int_equal(auth_session_end(f->auth, s.token, strlen(s.token), &err),
                   0);
  assert_int_equal(
      auth_session_check(f->auth, s.token, strlen(s.token), T0, &who, &err),
      ERR_DENIED);
  assert_int_equal(
      auth_session_check(f->auth, s2.token, strlen(s2.token), T0, &who, &err),
      0);
  /* a new password ends the others */
  assert_int_equal(auth_user_set_password(
                       f->auth, "anna", "another long password", 21, T0, &err),
                   0);
  assert_int_equal(
      auth_session_check(f->auth, s2.token, strlen(s2.token), T0, &who, &err),
      ERR_DENIED);
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      ERR_DENIED);
  assert_int_equal(auth_signin(f->auth, "anna", "another long password", 21, "",
                               T0, &s, &retry, &err),
                   0);
  /* disabling ends it too */
  assert_int_equal(auth_user_set_disabled(f->auth, "anna", true, T0, &err), 0);
  assert_int_equal(
      auth_session_check(f->auth, s.token, strlen(s.token), T0, &who, &err),
      ERR_DENIED);
}

static void test_rehash_on_signin(void **state) {
  struct fixture *f = *state;
  struct auth_pwhash_params older = {crypto_pwhash_OPSLIMIT_MIN + 1,
                                     crypto_pwhash_MEMLIMIT_MIN};
  char h[AUTH_PWHASH_MAX];
  struct secstore_user u;
  struct auth_signin s;
  struct error err;
  int64_t retry;
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  assert_int_equal(auth_password_hash(PW, strlen(PW), &older, h, &err), 0);
  assert_int_equal(secstore_user_set_password(f->ss, "anna", h, T0, &err), 0);
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  assert_int_equal(secstore_user_get(f->ss, "anna", &u, &err), 0);
  assert_string_not_equal(u.pwhash, h);
  assert_false(auth_password_needs_rehash(u.pwhash, &f->st.pwhash));
  assert_int_equal(auth_password_verify(u.pwhash, PW, strlen(PW)), 0);
}

/* ---- API tokens --------------------------------------------------------- */

static void test_tokens(void **state) {
  struct fixture *f = *state;
  char tok[AUTH_API_TOKEN_LEN + 1], tok2[AUTH_API_TOKEN_LEN + 1];
  struct auth_principal who;
  struct auth_scope sc;
  struct error err;
  int64_t id = 0, id2 = 0;
  add_user(f, "robot", AUTH_ROLE_INTEGRATION_ADMIN, "kh");
  assert_int_equal(auth_token_create(f->auth, "nobody", 0, T0, tok, &id, &err),
                   ERR_NOTFOUND);
  assert_int_equal(
      auth_token_create(f->auth, "robot", T0 - 1, T0, tok, &id, &err),
      ERR_RANGE);
  assert_int_equal(auth_token_create(f->auth, "robot", T0 + 30LL * 86400000, T0,
                                     tok, &id, &err),
                   0);
  assert_int_equal(strlen(tok), AUTH_API_TOKEN_LEN);
  assert_memory_equal(tok, "tk_", 3);
  assert_int_equal(
      auth_token_check(f->auth, tok, strlen(tok), T0 + 5, &who, &err), 0);
  assert_string_equal(who.user, "robot");
  assert_int_equal(who.role, AUTH_ROLE_INTEGRATION_ADMIN);
  assert_true(who.via_token);
  assert_int_equal(who.token_id, id);
  assert_string_equal(who.csrf, "");
  /* the role follows the account */
  assert_int_equal(auth_scope_parse("kh-a-rmk", &sc, &err), 0);
  assert_int_equal(
      auth_user_set_role(f->auth, "robot", AUTH_ROLE_ANALYST, &sc, T0, &err),
      0);
  assert_int_equal(
      auth_token_check(f->auth, tok, strlen(tok), T0 + 5, &who, &err), 0);
  assert_int_equal(who.role, AUTH_ROLE_ANALYST);
  /* expiry */
  assert_int_equal(auth_token_check(f->auth, tok, strlen(tok),
                                    T0 + 30LL * 86400000, &who, &err),
                   ERR_DENIED);
  assert_non_null(strstr(err.msg, "expired"));
  /* revocation */
  assert_int_equal(auth_token_create(f->auth, "robot", 0, T0, tok2, &id2, &err),
                   0);
  assert_int_equal(auth_token_check(f->auth, tok2, strlen(tok2),
                                    T0 + 100LL * 86400000, &who, &err),
                   0);
  assert_int_equal(secstore_token_revoke(f->ss, id2, T0, &err), 0);
  assert_int_equal(
      auth_token_check(f->auth, tok2, strlen(tok2), T0, &who, &err),
      ERR_DENIED);
  assert_non_null(strstr(err.msg, "revoked"));
  /* malformed */
  assert_int_equal(auth_token_check(f->auth, "tk_short", 8, T0, &who, &err),
                   ERR_DENIED);
  tok[3] = tok[3] == 'a' ? 'b' : 'a';
  assert_int_equal(auth_token_check(f->auth, tok, strlen(tok), T0, &who, &err),
                   ERR_DENIED);
  /* a disabled account's tokens stop and are revoked */
  assert_int_equal(auth_token_create(f->auth, "robot", 0, T0, tok2, &id2, &err),
                   0);
  assert_int_equal(auth_user_set_disabled(f->auth, "robot", true, T0, &err), 0);
  assert_int_equal(
      auth_token_check(f->auth, tok2, strlen(tok2), T0, &who, &err),
      ERR_DENIED);
  assert_int_equal(auth_user_set_disabled(f->auth, "robot", false, T0, &err),
                   0);
  assert_int_equal(
      auth_token_check(f->auth, tok2, strlen(tok2), T0, &who, &err),
      ERR_DENIED);
  assert_int_equal(auth_token_create(f->auth, "robot", 0, T0, tok2, &id2, &err),
                   0);
  assert_int_equal(
      auth_token_check(f->auth, tok2, strlen(tok2), T0, &who, &err), 0);
}

static void test_token_equal(void **state) {
  (void)state;
  assert_true(auth_token_equal("abc", "abc"));
  assert_false(auth_token_equal("abc", "abd"));
  assert_false(auth_token_equal("abc", "abcd"));
  assert_false(auth_token_equal("abc", NULL));
  assert_false(auth_token_equal("", ""));
  assert_false(auth_token_equal(NULL, "abc"));
}

static void test_purge(void **state) {
  struct fixture *f = *state;
  struct auth_signin s;
  struct error err;
  int64_t retry, n = -1;
  add_user(f, "anna", AUTH_ROLE_LEADER, "kh");
  assert_int_equal(
      auth_signin(f->auth, "anna", PW, strlen(PW), "", T0, &s, &retry, &err),
      0);
  assert_int_equal(auth_signin(f->auth, "bob", PW, strlen(PW), "192.0.2.3", T0,
                               &s, &retry, &err),
                   ERR_DENIED);
  assert_int_equal(
      auth_purge(f->auth, T0 + f->st.absolute_timeout_ms + 1, &err), 0);
  assert_int_equal(secstore_session_purge(f->ss, INT64_MAX, 0, &n, &err), 0);
  assert_int_equal(n, 0); /* already purged */
  {
    struct secstore_throttle th;
    assert_int_equal(
        secstore_throttle_get(f->ss, "addr", "192.0.2.3", &th, &err),
        ERR_NOTFOUND);
  }
}

/* ---- directory settings ------------------------------------------------- */

static const char LDAP_GOOD[] =
    "[ldap]\n"
    "url = ldaps://127.0.0.1:1\n"
    "bind_dn_template = uid={user},ou=people,dc=example,dc=test\n"
    "group_base = ou=groups,dc=example,dc=test\n"
    "disabled_group = cn=disabled,ou=groups,dc=example,dc=test\n"
    "timeout = 2s\n"
    "[group coordinators]\n"
    "dn = cn=tk-coordinators,ou=groups,dc=example,dc=test\n"
    "role = coordinator\n"
    "scope = kh-a-hml\n";

static void expect_ldap_error(const char *dir, const char *text,
                              const char *msg) {
  char path[160];
  struct auth_ldap *l = (struct auth_ldap *)0x1;
  struct error err;
  snprintf(path, sizeof path, "%s/ldap.ini", dir);
  write_file(path, text);
  assert_int_equal(auth_ldap_load(path, &l, &err), ERR_CONFIG);
  if (strstr(err.msg, msg) == NULL)
    fprintf(stderr, "want '%s', got '%s'\n", msg, err.msg);
  assert_non_null(strstr(err.msg, msg));
  assert_ptr_equal(l, (struct auth_ldap *)0x1);
}

static void test_ldap_settings(void **state) {
  struct fixture *f = *state;
  char path[160], text[2048];
  struct auth_ldap *l = NULL;
  struct auth_principal who;
  struct error err;
  snprintf(path, sizeof path, "%s/ldap.ini", f->dir);
  assert_int_equal(auth_ldap_load(path, &l, &err), ERR_NOTFOUND);
  write_file(path, LDAP_GOOD);
  assert_int_equal(auth_ldap_load(path, &l, &err), 0);
  assert_int_equal(auth_ldap_check_scopes(l, f->org, &err), 0);
  /* no empty password ever reaches the directory (anonymous bind) */
  assert_int_equal(auth_ldap_authenticate(l, "anna", "", 0, &who, &err),
                   ERR_INVAL);
  assert_int_equal(
      auth_ldap_authenticate(l, "x)(uid=*", "pw-pw-pw-pw", 11, &who, &err),
      ERR_INVAL);
  /* nothing listens on port 1: unreachable, not a wrong password */
  assert_int_equal(
      auth_ldap_authenticate(l, "anna", "pw-pw-pw-pw", 11, &who, &err), ERR_IO);
  auth_ldap_free(l);

  /* an authenticator refuses group scopes the organisation lacks */
  snprintf(text, sizeof text,
           "%s[group x]\ndn = cn=x,dc=t\nrole = leader\n"
           "scope = kh-nowhere\n",
           LDAP_GOOD);
  write_file(path, text);
  assert_int_equal(auth_ldap_load(path, &l, &err), 0);
  {
    struct auth *a = (struct auth *)0x1;
    assert_int_equal(auth_open(f->ss, f->org, &f->st, l, &a, &err),
                     ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "kh-nowhere"));
    assert_ptr_equal(a, (struct auth *)0x1);
  }
  auth_ldap_free(l);

  expect_ldap_error(f->dir, "[ldap]\nbase = dc=x\n", "url is required");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldapi:///\nbind_dn_template = uid={user}\n",
                    "ldaps:// or ldap://");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = uid={user}\n"
                    "upn_suffix = example.fi\nbase = dc=x\n",
                    "exactly one of");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = uid=x\n",
                    "needs {user}");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = "
                    "uid={user},{base}\n",
                    "needs {user}");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nupn_suffix = example.fi\n",
                    "upn_suffix needs base");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = uid={user}\n",
                    "group_attribute");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = uid={user}\n"
                    "group_attribute = memberOf\n",
                    "no [group NAME] section");
  expect_ldap_error(f->dir,
                    "[ldap]\nurl = ldaps://h\nbind_dn_template = uid={user}\n"
                    "group_attribute = memberOf\n[group a]\ndn = cn=a\n"
                    "role = leader\n",
                    "needs dn, role and scope");
  expect_ldap_error(f->dir, "[group a]\nrole = boss\n", "unknown role 'boss'");
  expect_ldap_error(f->dir, "[group a]\ndn = not a dn\n", "dn is not a DN");
  expect_ldap_error(f->dir, "[ldap]\npassword = secret\n",
                    "unknown setting 'ldap.password'");
  expect_ldap_error(f->dir, "[ldap]\nurl = a\nurl = b\n", "given twice");
  expect_ldap_error(f->dir, "[directory]\nurl = a\n", "unknown section");
  expect_ldap_error(f->dir, "[ldap]\ntimeout = 10m\n", "ldap.timeout");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roles),
      cmocka_unit_test(test_scope_parse),
      T(test_scope_covers),
      cmocka_unit_test(test_user_names),
      cmocka_unit_test(test_passwords),
      T(test_settings),
      T(test_user_add_rules),
      T(test_signin_and_session),
      T(test_signin_failures),
      T(test_names_are_case_insensitive),
      T(test_throttle_user),
      T(test_throttle_address),
      T(test_session_timeouts),
      T(test_session_follows_account),
      T(test_rehash_on_signin),
      T(test_tokens),
      cmocka_unit_test(test_token_equal),
      T(test_purge),
      T(test_ldap_settings),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
