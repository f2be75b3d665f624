/* test_api_auth.c -- sign-in, sessions and the authorizer on a real HTTP
 * server (api_auth.c over http.c), driven by the raw-socket test client.
 *
 * The server gets api_auth's routes plus stand-ins for the app's routes: a
 * person-level route and an aggregate route (both taking ?unit=), a
 * state-changing route, /api/v1/units, /healthz and /metrics. The
 * person-level stand-in records how many audit records existed when it
 * ran, which proves that the record was committed before the handler. A
 * "mixed" stand-in is shaped like the bed board: every role within scope
 * may call it, and it asks api_auth_access what to show and records the
 * rows it shows with api_auth_record_view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_auth.h"
#include "audit.h"
#include "auth.h"
#include "http.h"
#include "http_client.h"
#include "log.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "secstore.h"

#define PW "correct horse battery"

struct fixture {
  char dir[64];
  struct org *org;
  struct http_server *srv;
  struct api_auth *a;
  uint16_t port;
  int person_calls;
  int64_t audit_seen; /* audit records when the person handler ran */
  bool record_subjects;
  int mixed_rows;      /* rows the mixed stand-in shows at person level */
  int mixed_record_rc; /* api_auth_record_view's last return */
  char mixed_rid[80];  /* the request id api_auth_access chose */
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

/* ---- stand-in routes ---------------------------------------------------- */

static const char OK[] = "{\"ok\":true}";
static const char *const unit_param[] = {"unit", NULL};

static bool unit_known(struct fixture *f, const struct http_request *req,
                       struct http_reply *rep) {
  const char *u = http_query_get(http_request_query(req), "unit");
  if (u != NULL && org_unit_find(f->org, u) == NULL) {
    http_reply_error(rep, 400, "unknown_unit", "unit", u);
    return false;
  }
  return true;
}

static int h_person(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  struct fixture *f = ctx;
  unsigned char h[32];
  struct error err;
  if (!unit_known(f, req, rep))
    return 0;
  f->person_calls++;
  if (secstore_audit_last(api_auth_secstore(f->a), &f->audit_seen, h, &err) !=
      0)
    return ERR_STORE;
  if (f->record_subjects) {
    const char *subjects[2] = {"0123456789abcdef0123456789abcdef",
                               "fedcba9876543210fedcba9876543210"};
    int rc = api_auth_record(f->a, req, "view patient", "kh-tk-hml1", subjects,
                             2, &err);
    if (rc != 0)
      return rc;
  }
  http_reply_static(rep, 200, "application/json", OK, sizeof OK - 1);
  return 0;
}

/* Replies {"detail":N} with api_auth_access's decision; at person level
 * records mixed_rows rows first (subjects "s0", "s1", ... on kh-tk-hml1). */
static int h_mixed(void *ctx, const struct http_request *req,
                   struct http_reply *rep) {
  struct fixture *f = ctx;
  const char *unit = http_query_get(http_request_query(req), "unit");
  struct api_auth_access acc;
  struct api_auth_subject rows[8];
  char subj[8][8];
  struct error err;
  struct buf b;
  int rc;
  if (!unit_known(f, req, rep))
    return 0;
  rc = api_auth_access(f->a, req, unit, &acc, &err);
  if (rc == ERR_INVAL) {
    http_reply_error(rep, 400, "invalid_parameter", "reason", "reason");
    return 0;
  }
  if (rc != 0)
    return rc;
  for (int i = 0; i < f->mixed_rows && i < 8; i++) {
    snprintf(subj[i], sizeof subj[i], "s%d", i);
    rows[i].subject = subj[i];
    rows[i].unit = "kh-tk-hml1";
  }
  f->mixed_record_rc =
      api_auth_record_view(f->a, req, &acc, NULL, unit != NULL ? unit : "kh",
                           rows, (size_t)f->mixed_rows, &err);
  snprintf(f->mixed_rid, sizeof f->mixed_rid, "%s", acc.request_id);
  buf_init(&b, 256);
  if (buf_printf(&b, "{\"detail\":%d}", (int)acc.detail) != 0)
    return ERR_NOMEM;
  http_reply_json(rep, 200, &b);
  return 0;
}

static int h_ok(void *ctx, const struct http_request *req,
                struct http_reply *rep) {
  struct fixture *f = ctx;
  if (!unit_known(f, req, rep))
    return 0;
  http_reply_static(rep, 200, "application/json", OK, sizeof OK - 1);
  return 0;
}

static void start(struct fixture *f, const struct auth_settings *st,
                  bool tls_flag) {
  struct http_options ho;
  struct api_auth_options ao;
  struct error err;
  const struct http_route routes[] = {
      {HTTP_M_GET, "/healthz", 0, NULL, "healthz", h_ok, f},
      {HTTP_M_GET, "/metrics", 0, NULL, "metrics", h_ok, f},
      {HTTP_M_GET, "/api/v1/units", 0, NULL, "units", h_ok, f},
      {HTTP_M_GET, "/api/v1/person", HTTP_ROUTE_PERSON_LEVEL, unit_param,
       "person", h_person, f},
      {HTTP_M_GET, "/api/v1/aggregate", 0, unit_param, "aggregate", h_ok, f},
      {HTTP_M_GET, "/api/v1/mixed", 0, unit_param, "mixed", h_mixed, f},
      {HTTP_M_POST, "/api/v1/change", 0, unit_param, "change", h_ok, f},
  };
  memset(&ho, 0, sizeof ho);
  ho.listen = "127.0.0.1:0";
  ho.threads = 2;
  assert_int_equal(http_server_new(&ho, &f->srv, &err), 0);
  for (size_t i = 0; i < ARRAY_LEN(routes); i++)
    assert_int_equal(http_server_route(f->srv, &routes[i], &err), 0);
  memset(&ao, 0, sizeof ao);
  ao.data_dir = f->dir;
  ao.org = f->org;
  ao.settings = st;
  ao.tls = tls_flag;
  if (api_auth_install(f->srv, &ao, &f->a, &err) != 0)
    fprintf(stderr, "install: %s\n", err.msg);
  assert_non_null(f->a);
  http_server_set_authorizer(f->srv, api_auth_authorize, f->a);
  assert_int_equal(http_server_start(f->srv, &err), 0);
  f->port = http_server_port(f->srv);
}

static void add_user(struct fixture *f, const char *name, enum auth_role role,
                     const char *scope) {
  struct auth_scope sc;
  struct error err;
  assert_int_equal(auth_scope_parse(scope, &sc, &err), 0);
  assert_int_equal(auth_user_add(api_auth_auth(f->a), name, role, &sc, PW,
                                 strlen(PW), 1, &err),
                   0);
}

static struct auth_settings test_settings(void) {
  struct auth_settings st;
  auth_settings_default(&st);
  st.pwhash = auth_pwhash_test();
  st.user_free_failures = 2;
  return st;
}

static int setup(void **state) {
  struct fixture *f = mem_calloc(1, sizeof *f);
  struct auth_settings st = test_settings();
  struct error err;
  char keys[128];
  strcpy(f->dir, "/tmp/tk-apiauth-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(keys, sizeof keys, "%s/keys", f->dir);
  if (privacy_keyfile_create(keys, &err) != 0 ||
      org_load_builtin("kanta-hame", &f->org, &err) != 0)
    return -1;
  start(f, &st, false);
  add_user(f, "coord", AUTH_ROLE_COORDINATOR, "kh-a-hml");
  add_user(f, "chief", AUTH_ROLE_LEADER, "kh");
  add_user(f, "area", AUTH_ROLE_ANALYST, "kh-a-rmk");
  add_user(f, "integ", AUTH_ROLE_INTEGRATION_ADMIN, "kh");
  *state = f;
  return 0;
}

static void stop(struct fixture *f) {
  http_server_stop(f->srv);
  api_auth_free(f->a);
  http_server_free(f->srv);
  f->a = NULL;
  f->srv = NULL;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  stop(f);
  org_free(f->org);
  rm_dir(f->dir);
  mem_free(f);
  return 0;
}

/* ---- client helpers ----------------------------------------------------- */

struct session {
  char cookie[128]; /* "tk_session=..." */
  char csrf[64];
};

static int get(struct fixture *f, const char *target, const char *extra) {
  struct tc_response r;
  int status;
  assert_true(tc_request(f->port, "GET", target, extra, &r));
  status = r.status;
  tc_response_free(&r);
  return status;
}

static bool post_json(struct fixture *f, const char *target, const char *body,
                      const char *extra, struct tc_response *r) {
  char req[8192];
  snprintf(req, sizeof req,
           "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
           target, strlen(body), extra != NULL ? extra : "", body);
  return tc_raw(f->port, req, r);
}

static const char *error_code(const struct tc_response *r, char *out,
                              size_t cap) {
  json_error_t je;
  json_t *o = json_loads(r->body, 0, &je);
  const char *c = NULL;
  out[0] = '\0';
  if (o != NULL)
    c = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
  if (c != NULL)
    snprintf(out, cap, "%s", c);
  json_decref(o);
  return out;
}

static void signin(struct fixture *f, const char *user, struct session *s) {
  struct tc_response r;
  char body[256];
  const char *sc, *semi;
  json_error_t je;
  json_t *o;
  snprintf(body, sizeof body, "{\"user\":\"%s\",\"password\":\"%s\"}", user,
           PW);
  assert_true(post_json(f, "/api/v1/session", body, NULL, &r));
  assert_int_equal(r.status, 200);
  sc = tc_header(&r, "Set-Cookie");
  assert_non_null(sc);
  semi = strchr(sc, ';');
  assert_non_null(semi);
  snprintf(s->cookie, sizeof s->cookie, "%.*s", (int)(semi - sc), sc);
  o = json_loads(r.body, 0, &je);
  assert_non_null(o);
  snprintf(s->csrf, sizeof s->csrf, "%s",
           json_string_value(json_object_get(o, "csrf")));
  json_decref(o);
  tc_response_free(&r);
}

static int as(struct fixture *f, const struct session *s, const char *method,
              const char *target, const char *more) {
  char extra[1024];
  struct tc_response r;
  int status;
  snprintf(extra, sizeof extra, "Cookie: %s\r\n%s", s->cookie,
           more != NULL ? more : "");
  assert_true(tc_request(f->port, method, target, extra, &r));
  status = r.status;
  tc_response_free(&r);
  return status;
}

static int64_t audit_count(struct fixture *f) {
  unsigned char h[32];
  int64_t seq = -1;
  struct error err;
  assert_int_equal(secstore_audit_last(api_auth_secstore(f->a), &seq, h, &err),
                   0);
  return seq;
}

/* ---- tests -------------------------------------------------------------- */

static void test_public_and_unauthenticated(void **state) {
  struct fixture *f = *state;
  assert_int_equal(get(f, "/healthz", NULL), 200);
  assert_int_equal(get(f, "/api/v1/me", NULL), 401);
  assert_int_equal(get(f, "/api/v1/units", NULL), 401);
  assert_int_equal(get(f, "/api/v1/aggregate?unit=kh", NULL), 401);
  assert_int_equal(get(f, "/api/v1/person?unit=kh-tk-hml1", NULL), 401);
  assert_int_equal(get(f, "/metrics", NULL), 401);
  assert_int_equal(get(f, "/api/v1/units", "Cookie: tk_session=forged\r\n"),
                   401);
  assert_int_equal(get(f, "/api/v1/units", "Authorization: Basic eDp5\r\n"),
                   401);
  assert_int_equal(f->person_calls, 0);
  assert_int_equal(audit_count(f), 0);
}

static void test_signin_replies(void **state) {
  struct fixture *f = *state;
  struct tc_response r;
  char code[64], req[1024];
  json_error_t je;
  json_t *o;
  const char *sc;
  /* not JSON */
  snprintf(req, sizeof req,
           "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: 9\r\n\r\nuser=coord");
  assert_true(tc_raw(f->port, req, &r));
  assert_int_equal(r.status, 415);
  assert_string_equal(error_code(&r, code, sizeof code),
                      "unsupported_media_type");
  tc_response_free(&r);
  /* malformed bodies */
  assert_true(post_json(f, "/api/v1/session", "{\"user\":", NULL, &r));
  assert_int_equal(r.status, 400);
  tc_response_free(&r);
  assert_true(
      post_json(f, "/api/v1/session", "{\"user\":\"coord\"}", NULL, &r));
  assert_int_equal(r.status, 400);
  assert_string_equal(error_code(&r, code, sizeof code), "missing_parameter");
  assert_non_null(strstr(r.body, "\"field\":\"password\""));
  tc_response_free(&r);
  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"coord\",\"password\":\"x\",\"admin\":1}",
                        NULL, &r));
  assert_int_equal(r.status, 400);
  assert_string_equal(error_code(&r, code, sizeof code), "unknown_parameter");
  tc_response_free(&r);
  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"coord\",\"password\":\"wrong password\"}",
                        NULL, &r));
  assert_int_equal(r.status, 401);
  assert_string_equal(error_code(&r, code, sizeof code), "invalid_credentials");
  assert_null(tc_header(&r, "Set-Cookie"));
  tc_response_free(&r);
  /* a sign-in posted from another site is refused */
  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"coord\",\"password\":\"" PW "\"}",
                        "Origin: https://evil.example\r\n", &r));
  assert_int_equal(r.status, 403);
  tc_response_free(&r);

  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"coord\",\"password\":\"" PW "\"}",
                        "Origin: http://127.0.0.1\r\n", &r));
  assert_int_equal(r.status, 200);
  sc = tc_header(&r, "Set-Cookie");
  assert_non_null(sc);
  assert_memory_equal(sc, "tk_session=", 11);
  assert_non_null(strstr(sc, "; Path=/; HttpOnly; SameSite=Strict; "
                             "Max-Age=43200"));
  assert_null(strstr(sc, "Secure")); /* plain HTTP, no secure_cookie */
  o = json_loads(r.body, 0, &je);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "user")), "coord");
  assert_string_equal(json_string_value(json_object_get(o, "role")),
                      "coordinator");
  assert_string_equal(
      json_string_value(json_array_get(json_object_get(o, "scope"), 0)),
      "kh-a-hml");
  assert_true(json_is_true(json_object_get(o, "person_level")));
  assert_int_equal(strlen(json_string_value(json_object_get(o, "csrf"))), 43);
  assert_string_equal(
      json_string_value(json_array_get(json_object_get(o, "reasons"), 0)),
      "care");
  /* the password is never echoed */
  assert_null(strstr(r.body, PW));
  json_decref(o);
  tc_response_free(&r);
  /* sign-in is audited */
  assert_int_equal(audit_count(f), 1);
}

static void test_scope(void **state) {
  struct fixture *f = *state;
  struct session coord, chief, area;
  signin(f, "coord", &coord);
  signin(f, "chief", &chief);
  signin(f, "area", &area);
  /* unscoped routes: any signed-in user */
  assert_int_equal(as(f, &area, "GET", "/api/v1/units", NULL), 200);
  assert_int_equal(as(f, &area, "GET", "/api/v1/me", NULL), 200);
  /* aggregates: within scope only; no unit means the whole county */
  assert_int_equal(as(f, &area, "GET", "/api/v1/aggregate?unit=kh-a-rmk", NULL),
                   200);
  assert_int_equal(
      as(f, &area, "GET", "/api/v1/aggregate?unit=kh-tk-riihimaki", NULL), 200);
  assert_int_equal(as(f, &area, "GET", "/api/v1/aggregate?unit=kh-a-hml", NULL),
                   403);
  assert_int_equal(as(f, &area, "GET", "/api/v1/aggregate?unit=kh", NULL), 403);
  assert_int_equal(as(f, &area, "GET", "/api/v1/aggregate", NULL), 403);
  assert_int_equal(as(f, &chief, "GET", "/api/v1/aggregate", NULL), 200);
  assert_int_equal(as(f, &chief, "GET", "/api/v1/aggregate?unit=kh-khks", NULL),
                   200);
  /* an unknown unit reaches the handler, which answers 400 */
  assert_int_equal(as(f, &area, "GET", "/api/v1/aggregate?unit=nowhere", NULL),
                   400);
  /* /metrics needs the feeds permission */
  assert_int_equal(as(f, &chief, "GET", "/metrics", NULL), 403);
  assert_int_equal(as(f, &coord, "GET", "/metrics", NULL), 403);
  {
    struct session integ;
    signin(f, "integ", &integ);
    assert_int_equal(as(f, &integ, "GET", "/metrics", NULL), 200);
  }
}

static void test_person_level(void **state) {
  struct fixture *f = *state;
  struct session coord, chief;
  struct tc_response r;
  char extra[512];
  int64_t before;
  int status;
  signin(f, "coord", &coord);
  signin(f, "chief", &chief);
  before = audit_count(f);
  /* a role without person-level rights: 403, even county-wide */
  assert_int_equal(as(f, &chief, "GET", "/api/v1/person?unit=kh-tk-hml1",
                      "X-Access-Reason: care\r\n"),
                   403);
  /* out of scope */
  assert_int_equal(as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-riihimaki",
                      "X-Access-Reason: care\r\n"),
                   403);
  assert_int_equal(
      as(f, &coord, "GET", "/api/v1/person", "X-Access-Reason: care\r\n"), 403);
  /* no reason, or not one of the codes */
  status = as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-hml1", NULL);
#ifdef HTTP_HAS_REFUSE
  assert_int_equal(status, 400);
#else
  assert_int_equal(status, 500);      /* until http.c can answer 400 here */
#endif
  status = as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-hml1",
              "X-Access-Reason: curiosity\r\n");
  assert_true(status == 400 || status == 500);
  assert_int_equal(f->person_calls, 0);
  assert_int_equal(audit_count(f), before);

  /* allowed: audited first, then served */
  snprintf(extra, sizeof extra,
           "Cookie: %s\r\nX-Access-Reason: care_coordination\r\n"
           "X-Request-Id: req-42\r\n",
           coord.cookie);
  assert_true(
      tc_request(f->port, "GET", "/api/v1/person?unit=kh-tk-hml1", extra, &r));
  assert_int_equal(r.status, 200);
  tc_response_free(&r);
  assert_int_equal(f->person_calls, 1);
  assert_int_equal(audit_count(f), before + 1);
  assert_int_equal(f->audit_seen, before + 1); /* committed before handler */
  {
    struct secstore_audit_row want;
    struct audit_verdict v;
    unsigned char pk[32];
    struct error err;
    memset(&want, 0, sizeof want);
    privacy_keys_free(NULL);
    {
      struct privacy_keys *k = NULL;
      char kp[128];
      snprintf(kp, sizeof kp, "%s/keys", f->dir);
      assert_int_equal(privacy_keys_load(kp, &k, &err), 0);
      privacy_sign_public(k, pk);
      privacy_keys_free(k);
    }
    assert_int_equal(audit_verify(api_auth_secstore(f->a),
                                  (const unsigned char(*)[32])pk, 1, NULL, &v,
                                  &err),
                     0);
    assert_true(v.ok);
  }
}

struct last_row {
  char user[64], role[32], action[128], unit[64], reason[64], rid[80],
      subject[40], address[64];
  int n;
};

static int keep_last(void *ctx, const struct secstore_audit_row *r) {
  struct last_row *l = ctx;
  snprintf(l->user, sizeof l->user, "%s", r->user);
  snprintf(l->role, sizeof l->role, "%s", r->role);
  snprintf(l->action, sizeof l->action, "%s", r->action);
  snprintf(l->unit, sizeof l->unit, "%s", r->unit);
  snprintf(l->reason, sizeof l->reason, "%s", r->reason);
  snprintf(l->rid, sizeof l->rid, "%s", r->request_id);
  snprintf(l->subject, sizeof l->subject, "%s", r->subject);
  snprintf(l->address, sizeof l->address, "%s", r->address);
  l->n++;
  return 0;
}

/* The detail the mixed stand-in reports, or -status on an error. */
static int mixed(struct fixture *f, const struct session *s, const char *target,
                 const char *more) {
  char extra[1024];
  struct tc_response r;
  int d;
  snprintf(extra, sizeof extra, "Cookie: %s\r\n%s", s->cookie,
           more != NULL ? more : "");
  assert_true(tc_request(f->port, "GET", target, extra, &r));
  if (r.status != 200) {
    d = -r.status;
  } else {
    const char *p = strstr(r.body, "\"detail\":");
    assert_non_null(p);
    d = atoi(p + 9);
  }
  tc_response_free(&r);
  return d;
}

static void test_access_detail(void **state) {
  struct fixture *f = *state;
  struct session coord, chief, area;
  int64_t before;
  signin(f, "coord", &coord);
  signin(f, "chief", &chief);
  signin(f, "area", &area);
  f->mixed_rows = 2;
  before = audit_count(f);
  /* Roles without person-level rights: suppressed, reason or not; the
   * record is refused. */
  assert_int_equal(mixed(f, &chief, "/api/v1/mixed", NULL),
                   API_AUTH_SUPPRESSED);
  assert_int_equal(f->mixed_record_rc, ERR_DENIED);
  assert_int_equal(mixed(f, &chief, "/api/v1/mixed?unit=kh-tk-hml1",
                         "X-Access-Reason: care\r\n"),
                   API_AUTH_SUPPRESSED);
  assert_int_equal(mixed(f, &area, "/api/v1/mixed?unit=kh-a-rmk",
                         "X-Access-Reason: care\r\n"),
                   API_AUTH_SUPPRESSED);
  /* Out of scope: the authorizer refuses before the handler. */
  assert_int_equal(mixed(f, &area, "/api/v1/mixed?unit=kh-a-hml", NULL), -403);
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-riihimaki",
                         "X-Access-Reason: care\r\n"),
                   -403);
  /* A person-level role: exact aggregates without a reason (an empty one
   * counts as none), rows with one. */
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-hml1", NULL),
                   API_AUTH_AGGREGATE);
  assert_int_equal(f->mixed_record_rc, ERR_DENIED);
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-hml1",
                         "X-Access-Reason: \r\n"),
                   API_AUTH_AGGREGATE);
  assert_int_equal(audit_count(f), before);
  /* An unknown reason code: 400, from any role. */
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-hml1",
                         "X-Access-Reason: curiosity\r\n"),
                   -400);
  assert_int_equal(
      mixed(f, &chief, "/api/v1/mixed", "X-Access-Reason: curiosity\r\n"),
      -400);
  assert_int_equal(audit_count(f), before);
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-hml1",
                         "X-Access-Reason: care\r\nX-Request-Id: v-1\r\n"),
                   API_AUTH_PERSONS);
  assert_int_equal(f->mixed_record_rc, 0);
  assert_string_equal(f->mixed_rid, "v-1");
  assert_int_equal(audit_count(f), before + 2);
  {
    struct last_row l;
    struct error err;
    memset(&l, 0, sizeof l);
    assert_int_equal(audit_user_activity(api_auth_secstore(f->a), "coord",
                                         keep_last, &l, &err),
                     0);
    assert_string_equal(l.action, "view /api/v1/mixed");
    assert_string_equal(l.subject, "s1");
    assert_string_equal(l.unit, "kh-tk-hml1");
    assert_string_equal(l.reason, "care");
    assert_string_equal(l.rid, "v-1");
    assert_string_equal(l.role, "coordinator");
  }
  /* No rows: one record of the view itself, for the unit asked. */
  f->mixed_rows = 0;
  assert_int_equal(mixed(f, &coord, "/api/v1/mixed?unit=kh-tk-hml2",
                         "X-Access-Reason: investigation\r\n"),
                   API_AUTH_PERSONS);
  assert_int_equal(audit_count(f), before + 3);
  {
    struct last_row l;
    struct error err;
    memset(&l, 0, sizeof l);
    assert_int_equal(audit_user_activity(api_auth_secstore(f->a), "coord",
                                         keep_last, &l, &err),
                     0);
    assert_string_equal(l.subject, "");
    assert_string_equal(l.unit, "kh-tk-hml2");
    assert_string_equal(l.reason, "investigation");
  }
}

static void test_audit_record_fields(void **state) {
  struct fixture *f = *state;
  struct session coord;
  struct last_row l;
  struct error err;
  signin(f, "coord", &coord);
  f->record_subjects = true;
  assert_int_equal(as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-hml2",
                      "X-Access-Reason: care\r\nX-Request-Id: abc-1\r\n"),
                   200);
  memset(&l, 0, sizeof l);
  assert_int_equal(audit_user_activity(api_auth_secstore(f->a), "coord",
                                       keep_last, &l, &err),
                   0);
  /* session.create, the view, and two subjects */
  assert_int_equal(l.n, 4);
  assert_string_equal(l.user, "coord");
  assert_string_equal(l.role, "coordinator");
  assert_string_equal(l.action, "view patient");
  assert_string_equal(l.unit, "kh-tk-hml1");
  assert_string_equal(l.reason, "care");
  assert_string_equal(l.rid, "abc-1");
  assert_string_equal(l.subject, "fedcba9876543210fedcba9876543210");
#ifdef HTTP_HAS_CLIENT_ADDRESS
  assert_string_equal(l.address, "127.0.0.1");
#else
  assert_string_equal(l.address, ""); /* unknown without http.c's help */
#endif
  memset(&l, 0, sizeof l);
  assert_int_equal(
      secstore_audit_scan(api_auth_secstore(f->a), 2, keep_last, &l, &err), 0);
  assert_int_equal(l.n, 3);
}

static void test_csrf(void **state) {
  struct fixture *f = *state;
  struct session chief;
  char hdr[256];
  signin(f, "chief", &chief);
  assert_int_equal(as(f, &chief, "POST", "/api/v1/change?unit=kh", NULL), 403);
  assert_int_equal(
      as(f, &chief, "POST", "/api/v1/change?unit=kh",
         "X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
         "\r\n"),
      403);
  snprintf(hdr, sizeof hdr, "X-CSRF-Token: %s\r\n", chief.csrf);
  assert_int_equal(as(f, &chief, "POST", "/api/v1/change?unit=kh", hdr), 200);
  snprintf(hdr, sizeof hdr,
           "X-CSRF-Token: %s\r\nOrigin: https://evil.example\r\n", chief.csrf);
  assert_int_equal(as(f, &chief, "POST", "/api/v1/change?unit=kh", hdr), 403);
  snprintf(hdr, sizeof hdr,
           "X-CSRF-Token: %s\r\nSec-Fetch-Site: cross-site\r\n", chief.csrf);
  assert_int_equal(as(f, &chief, "POST", "/api/v1/change?unit=kh", hdr), 403);
  snprintf(hdr, sizeof hdr,
           "X-CSRF-Token: %s\r\nOrigin: http://127.0.0.1\r\n"
           "Sec-Fetch-Site: same-origin\r\n",
           chief.csrf);
  assert_int_equal(as(f, &chief, "POST", "/api/v1/change?unit=kh", hdr), 200);
  /* GET needs no token */
  assert_int_equal(as(f, &chief, "GET", "/api/v1/aggregate?unit=kh", NULL),
                   200);
}

static void test_bearer_tokens(void **state) {
  struct fixture *f = *state;
  char tok[AUTH_API_TOKEN_LEN + 1], hdr[256];
  struct error err;
  int64_t id = 0;
  assert_int_equal(
      auth_token_create(api_auth_auth(f->a), "integ", 0, 1, tok, &id, &err), 0);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  assert_int_equal(get(f, "/metrics", hdr), 200);
  assert_int_equal(get(f, "/api/v1/aggregate?unit=kh-khks", hdr), 200);
  /* no cookie, no CSRF needed */
  {
    struct tc_response r;
    assert_true(tc_request(f->port, "POST", "/api/v1/change?unit=kh", hdr, &r));
    assert_int_equal(r.status, 200);
    tc_response_free(&r);
  }
  {
    struct tc_response r;
    char body_hdr[512];
    snprintf(body_hdr, sizeof body_hdr, "%s", hdr);
    assert_true(tc_request(f->port, "GET", "/api/v1/me", body_hdr, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"source\":\"token\""));
    assert_non_null(strstr(r.body, "\"csrf\":null"));
    tc_response_free(&r);
  }
  assert_int_equal(secstore_token_revoke(api_auth_secstore(f->a), id, 2, &err),
                   0);
  assert_int_equal(get(f, "/metrics", hdr), 401);
  assert_int_equal(get(f, "/metrics", "Authorization: Bearer tk_nothing\r\n"),
                   401);
}

static void test_signout(void **state) {
  struct fixture *f = *state;
  struct session coord;
  struct tc_response r;
  char extra[512];
  int64_t before;
  signin(f, "coord", &coord);
  before = audit_count(f);
  assert_int_equal(as(f, &coord, "DELETE", "/api/v1/session", NULL), 403);
  snprintf(extra, sizeof extra, "Cookie: %s\r\nX-CSRF-Token: %s\r\n",
           coord.cookie, coord.csrf);
  assert_true(tc_request(f->port, "DELETE", "/api/v1/session", extra, &r));
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(tc_header(&r, "Set-Cookie"), "tk_session=; "));
  assert_non_null(strstr(tc_header(&r, "Set-Cookie"), "Max-Age=0"));
  tc_response_free(&r);
  assert_int_equal(audit_count(f), before + 1);
  assert_int_equal(as(f, &coord, "GET", "/api/v1/me", NULL), 401);
}

static void test_throttled_signin(void **state) {
  struct fixture *f = *state;
  struct tc_response r;
  char code[64];
  for (int i = 0; i < 3; i++) {
    assert_true(post_json(
        f, "/api/v1/session",
        "{\"user\":\"chief\",\"password\":\"nope nope nope\"}", NULL, &r));
    assert_int_equal(r.status, 401);
    tc_response_free(&r);
  }
  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"chief\",\"password\":\"" PW "\"}", NULL,
                        &r));
  assert_int_equal(r.status, 429);
  assert_string_equal(error_code(&r, code, sizeof code), "too_many_attempts");
  assert_string_equal(tc_header(&r, "Retry-After"), "1");
  assert_non_null(strstr(r.body, "\"fi\":"));
  tc_response_free(&r);
}

static void test_secure_cookie_and_shutdown_checkpoint(void **state) {
  struct fixture *f = *state;
  struct auth_settings st = test_settings();
  struct tc_response r;
  struct secstore *ss = NULL;
  struct secstore_checkpoint cp;
  char path[160];
  struct error err;
  int64_t count;
  stop(f);
  st.secure_cookie = true;
  start(f, &st, false);
  assert_true(post_json(f, "/api/v1/session",
                        "{\"user\":\"coord\",\"password\":\"" PW "\"}", NULL,
                        &r));
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(tc_header(&r, "Set-Cookie"), "; Secure"));
  tc_response_free(&r);
  count = audit_count(f);
  /* a clean stop signs the head */
  stop(f);
  snprintf(path, sizeof path, "%s/security.db", f->dir);
  assert_int_equal(secstore_open(path, SECSTORE_READONLY, &ss, &err), 0);
  assert_int_equal(secstore_checkpoint_last(ss, &cp, &err), 0);
  assert_int_equal(cp.count, count);
  assert_string_equal(cp.kind, "shutdown");
  secstore_close(ss);
  /* teardown needs a running pair again */
  start(f, &st, true);
}

static void test_trusted_proxy_address(void **state) {
  struct fixture *f = *state;
  struct auth_settings st = test_settings();
  struct session coord;
  struct last_row l;
  struct error err;
  stop(f);
  st.trusted_proxy = true;
  start(f, &st, false);
  signin(f, "coord", &coord);
  assert_int_equal(as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-hml1",
                      "X-Access-Reason: care\r\n"
                      "X-Forwarded-For: 203.0.113.5, 198.51.100.7\r\n"),
                   200);
  memset(&l, 0, sizeof l);
  assert_int_equal(audit_user_activity(api_auth_secstore(f->a), "coord",
                                       keep_last, &l, &err),
                   0);
  assert_string_equal(l.address, "198.51.100.7");
  /* a value that is not an address is not taken */
  assert_int_equal(as(f, &coord, "GET", "/api/v1/person?unit=kh-tk-hml1",
                      "X-Access-Reason: care\r\n"
                      "X-Real-IP: 10.0.0.1'; DROP TABLE audit\r\n"),
                   200);
  memset(&l, 0, sizeof l);
  assert_int_equal(audit_user_activity(api_auth_secstore(f->a), "coord",
                                       keep_last, &l, &err),
                   0);
#ifdef HTTP_HAS_CLIENT_ADDRESS
  assert_string_equal(l.address, "127.0.0.1");
#else
  assert_string_equal(l.address, "");
#endif
}

static void test_reasons(void **state) {
  (void)state;
  assert_string_equal(api_auth_reason_at(0), "care");
  assert_null(api_auth_reason_at(100));
  assert_true(api_auth_reason_valid("client_request"));
  assert_false(api_auth_reason_valid("Care"));
  assert_false(api_auth_reason_valid(""));
  assert_false(api_auth_reason_valid(NULL));
}

int main(void) {
  log_set_level(LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_public_and_unauthenticated),
      T(test_signin_replies),
      T(test_scope),
      T(test_person_level),
      T(test_access_detail),
      T(test_audit_record_fields),
      T(test_csrf),
      T(test_bearer_tokens),
      T(test_signout),
      T(test_throttled_signin),
      T(test_secure_cookie_and_shutdown_checkpoint),
      T(test_trusted_proxy_address),
      cmocka_unit_test(test_reasons),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
