/* test_api.c -- unit tests for the JSON API (api.h).
 *
 * A real org (org_load_json of an inline county), a real bed board fed with
 * events through bedboard_apply and bedboard_publish, a real stream hub, a
 * real security database with accounts and API tokens behind api_auth (the
 * server's authorizer), and a real HTTP server on 127.0.0.1, driven by the
 * raw-socket client in http_client.h. Every endpoint's body is compared
 * with what the module behind it renders for the same state
 * (org_units_json, bedboard_snapshot_render) and parsed for the values
 * that matter; errors are compared byte for byte; the bed board is read by
 * each kind of role (rows and their audit records, exact aggregates,
 * suppressed aggregates), and a failing audit log withholds the rows; the
 * live stream carries a writer's "bedboard" event; concurrent readers run
 * while the writer publishes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include <dirent.h>
#include <sqlite3.h>
#include <unistd.h>

#include "access.h"
#include "indicator.h"
#include "api.h"
#include "api_auth.h"
#include "audit.h"
#include "auth.h"
#include "bedboard.h"
#include "buf.h"
#include "chrono.h"
#include "cube.h"
#include "err.h"
#include "event.h"
#include "http.h"
#include "http_client.h"
#include "log.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "schedule.h"
#include "secstore.h"
#include "stream.h"
#include "suppress.h"

#define BIG (64u * 1024u * 1024u)

/* w1 (3 beds) and w2 (beds A, B) under hospital h1; w3 under h2; a health
 * station with no wards. */
static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testialue\",\"sv\":"
    "\"Testomr\\u00e5de\","
    "\"en\":\"Test county\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"Hyvinvointialue\","
    "\"sv\":\"V\\u00e4lf\\u00e4rdsomr\\u00e5de\",\"en\":\"County\"}},"
    "{\"id\":\"h1\",\"type\":\"hospital\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Keskussairaala\"}},"
    "{\"id\":\"w1\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 1\",\"sv\":\"Avdelning 1\",\"en\":\"Ward 1\"},"
    "\"beds\":3},"
    "{\"id\":\"w2\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 2\"},\"beds\":[\"A\",\"B\"]},"
    "{\"id\":\"h2\",\"type\":\"hospital\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"TK-sairaala\"}},"
    "{\"id\":\"w3\",\"type\":\"ward\",\"parent\":\"h2\","
    "\"name\":{\"fi\":\"TK-osasto\"},\"beds\":2},"
    "{\"id\":\"hs\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Terveysasema\"}}]}";

#define TOKEN_CAP (AUTH_API_TOKEN_LEN + 1)

struct fixture {
  char dir[64];
  struct org *org;
  struct bedboard *bb;
  struct stream_hub *hub;
  struct http_server *srv;
  struct api *api;
  struct api_auth *auth;
  struct schedule *sched; /* DOMAIN.md 1.4's books at station 'hs' */
  uint16_t port;
  int64_t seq;
  int64_t t0;
  atomic_bool ready;
  atomic_int flow_mode; /* 0 stand-in, 1 ERR_AGAIN, 2 ERR_IO, 3 the cube */
  /* API tokens: coordinator over the county, leader over the county,
   * coordinator over h2 only, integration admin over the county. */
  char coord[TOKEN_CAP], chief[TOKEN_CAP], coord2[TOKEN_CAP], ops[TOKEN_CAP];
};

/* ------------------------------------------------------------ app hooks */

static bool app_ready(void *app) {
  struct fixture *fx = app;
  return atomic_load(&fx->ready);
}

static int app_status(void *app, struct buf *out, struct error *err) {
  (void)app;
  (void)err;
  return buf_puts(out, "{\"accepted\":12,\"dead_letters\":0}");
}

static int app_flow(void *app, const char *unit, struct buf *out,
                    struct error *err) {
  struct fixture *fx = app;
  switch (atomic_load(&fx->flow_mode)) {
  case 1:
    return error_set(err, ERR_AGAIN, "cube not loaded yet");
  case 2:
    return error_set(err, ERR_IO, "disk on fire");
  case 3:
    return cube_flow_json(bedboard_cube(fx->bb), fx->org, unit,
                          chrono_local_date(chrono_now_ms()), out, err);
  default:
    return buf_printf(out, "{\"unit\":\"%s\",\"admissions\":[1,2,3]}", unit);
  }
}

static int app_t3(void *app, const char *unit, enum t3_group g, int64_t t0,
                  struct buf *out, struct error *err) {
  struct fixture *fx = app;
  return schedule_t3_json(fx->sched, unit, g, t0, NULL, out, err);
}

/* DOMAIN.md 1.4: physicians A-E at 'hs', free non-urgent slots at 12:00
 * Helsinki time on these days of March 2025 (E has only two), plus an
 * urgent slot and a booked one for A that must not count. */
static void load_books(struct fixture *fx) {
  static const struct {
    const char *prof;
    int day;
    enum event_kind kind;
    uint32_t flags;
  } slots[] = {
      {"A", 3, EV_SLOT_OPENED, 0},  {"A", 4, EV_SLOT_OPENED, 0},
      {"A", 10, EV_SLOT_OPENED, 0}, {"A", 3, EV_SLOT_OPENED, EVENT_F_URGENT},
      {"A", 3, EV_SLOT_BOOKED, 0},  {"B", 12, EV_SLOT_OPENED, 0},
      {"B", 13, EV_SLOT_OPENED, 0}, {"B", 13, EV_SLOT_OPENED, 0},
      {"C", 5, EV_SLOT_OPENED, 0},  {"C", 20, EV_SLOT_OPENED, 0},
      {"C", 24, EV_SLOT_OPENED, 0}, {"D", 6, EV_SLOT_OPENED, 0},
      {"D", 7, EV_SLOT_OPENED, 0},  {"D", 17, EV_SLOT_OPENED, 0},
      {"E", 4, EV_SLOT_OPENED, 0},  {"E", 5, EV_SLOT_OPENED, 0},
  };
  struct error err;
  fx->sched = schedule_new();
  for (size_t i = 0; i < ARRAY_LEN(slots); i++) {
    struct event ev;
    int64_t start;
    event_init(&ev);
    ev.kind = slots[i].kind;
    assert_int_equal(
        chrono_from_local(chrono_days_from_civil(2025, 3, slots[i].day), 12, 0,
                          0, &start),
        0);
    ev.occurred_at = start - 86400000;
    snprintf(ev.unit, sizeof ev.unit, "hs");
    snprintf(ev.attrs.professional, sizeof ev.attrs.professional, "p%s",
             slots[i].prof);
    snprintf(ev.attrs.slot, sizeof ev.attrs.slot, "s%zu", i);
    snprintf(ev.attrs.prof_group, sizeof ev.attrs.prof_group, "physician");
    ev.attrs.slot_start = start;
    ev.attrs.slot_end = start + 20 * 60000;
    ev.attrs.flags = EVENT_F_BOOKABLE | slots[i].flags;
    error_clear(&err);
    if (schedule_apply(fx->sched, &ev, &err) != 0)
      fail_msg("schedule_apply: %s", err.msg);
  }
}

static int app_metrics(void *app, struct buf *out, struct error *err) {
  (void)app;
  (void)err;
  return buf_puts(out, "# TYPE tilannekuva_test_metric gauge\n"
                       "tilannekuva_test_metric 42\n");
}

/* ------------------------------------------------------------ events */

static struct event mk(struct fixture *fx, enum event_kind k, const char *ep,
                       const char *unit, const char *bed, int64_t t) {
  struct event e;
  event_init(&e);
  e.seq = ++fx->seq;
  snprintf(e.channel, sizeof e.channel, "lab");
  snprintf(e.source_key, sizeof e.source_key, "m%" PRId64, e.seq);
  e.kind = k;
  e.occurred_at = t;
  e.local_date = chrono_local_date(t);
  snprintf(e.unit, sizeof e.unit, "%s", unit);
  snprintf(e.episode, sizeof e.episode, "%s", ep);
  snprintf(e.subject, sizeof e.subject, "s-%s", ep);
  snprintf(e.attrs.bed, sizeof e.attrs.bed, "%s", bed);
  e.attrs.age_band = 70;
  e.attrs.sex = 'F';
  return e;
}

static void apply(struct fixture *fx, enum event_kind k, const char *ep,
                  const char *unit, const char *bed, int64_t t) {
  struct event e = mk(fx, k, ep, unit, bed, t);
  struct error err;
  error_clear(&err);
  if (bedboard_apply(fx->bb, &e, &err) != 0)
    fail_msg("event refused: %s", err.msg);
}

/* ------------------------------------------------------------ fixture */

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

/* An account for API tokens only, and its token. */
static void add_user(struct fixture *fx, const char *name, enum auth_role role,
                     const char *scope, char token[TOKEN_CAP]) {
  struct auth_scope sc;
  struct error err;
  int64_t now = chrono_now_ms();
  assert_int_equal(auth_scope_parse(scope, &sc, &err), 0);
  if (auth_user_add(api_auth_auth(fx->auth), name, role, &sc, NULL, 0, now,
                    &err) != 0)
    fail_msg("user add: %s", err.msg);
  if (auth_token_create(api_auth_auth(fx->auth), name, 0, now, token, NULL,
                        &err) != 0)
    fail_msg("token create: %s", err.msg);
}

static void install_auth(struct fixture *fx) {
  struct api_auth_options ao;
  struct auth_settings st;
  struct error err;
  char keys[128];
  strcpy(fx->dir, "/tmp/tk-api-XXXXXX");
  if (mkdtemp(fx->dir) == NULL)
    fail_msg("mkdtemp failed");
  snprintf(keys, sizeof keys, "%s/keys", fx->dir);
  if (privacy_keyfile_create(keys, &err) != 0)
    fail_msg("keys: %s", err.msg);
  auth_settings_default(&st);
  st.pwhash = auth_pwhash_test();
  memset(&ao, 0, sizeof ao);
  ao.data_dir = fx->dir;
  ao.org = fx->org;
  ao.settings = &st;
  if (api_auth_install(fx->srv, &ao, &fx->auth, &err) != 0)
    fail_msg("api_auth_install: %s", err.msg);
  http_server_set_authorizer(fx->srv, api_auth_authorize, fx->auth);
  add_user(fx, "coord", AUTH_ROLE_COORDINATOR, "hva", fx->coord);
  add_user(fx, "chief", AUTH_ROLE_LEADER, "hva", fx->chief);
  add_user(fx, "coord2", AUTH_ROLE_COORDINATOR, "h2", fx->coord2);
  add_user(fx, "ops", AUTH_ROLE_INTEGRATION_ADMIN, "hva", fx->ops);
}

static struct fixture *start(bool full) {
  struct fixture *fx = mem_calloc(1, sizeof *fx);
  struct http_options o;
  struct api_ctx ctx;
  struct stream_options so;
  struct error err;
  error_clear(&err);
  if (org_load_json(ORG_JSON, strlen(ORG_JSON), &fx->org, &err) != 0)
    fail_msg("org: %s", err.msg);
  atomic_store(&fx->ready, true);
  memset(&ctx, 0, sizeof ctx);
  ctx.org = fx->org;
  if (full) {
    fx->bb = bedboard_new(fx->org);
    memset(&so, 0, sizeof so);
    so.first_id = 1;
    fx->hub = stream_hub_new_with(&so);
    fx->t0 = chrono_now_ms() - 3600 * 1000;
    apply(fx, EV_ADMITTED, "ep1", "w1", "1", fx->t0);
    apply(fx, EV_ADMITTED, "ep2", "w2", "A", fx->t0 + 60000);
    (void)bedboard_publish(fx->bb, chrono_now_ms());
    ctx.bedboard = fx->bb;
    ctx.hub = fx->hub;
    ctx.app = fx;
    ctx.ready = app_ready;
    ctx.status_json = app_status;
    ctx.flow_json = app_flow;
    ctx.t3_json = app_t3;
    load_books(fx);
    ctx.metrics_text = app_metrics;
  }
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  if (http_server_new(&o, &fx->srv, &err) != 0)
    fail_msg("http_server_new: %s", err.msg);
  install_auth(fx);
  ctx.auth = fx->auth;
  if (api_install(fx->srv, &ctx, &fx->api, &err) != 0)
    fail_msg("api_install: %s", err.msg);
  if (http_server_start(fx->srv, &err) != 0)
    fail_msg("http_server_start: %s", err.msg);
  fx->port = http_server_port(fx->srv);
  return fx;
}

static void stop(struct fixture *fx) {
  http_server_free(fx->srv);
  api_free(fx->api);
  api_auth_free(fx->auth);
  stream_hub_free(fx->hub);
  bedboard_free(fx->bb);
  schedule_free(fx->sched);
  org_free(fx->org);
  rm_dir(fx->dir);
  mem_free(fx);
}

static int setup(void **state) {
  *state = start(true);
  return 0;
}

static int teardown(void **state) {
  stop(*state);
  return 0;
}

static void get_ok(uint16_t port, const char *target, int status,
                   struct tc_response *r) {
  if (!tc_get(port, target, r))
    fail_msg("no response for '%s'", target);
  if (r->status != status)
    fail_msg("'%s': status %d, expected %d; body: %s", target, r->status,
             status, r->body);
}

/* GET with an API token and, when not NULL, an access reason. */
static void get_as(const struct fixture *fx, const char *token,
                   const char *reason, const char *target, int status,
                   struct tc_response *r) {
  char extra[256];
  snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n%s%s%s", token,
           reason != NULL ? "X-Access-Reason: " : "",
           reason != NULL ? reason : "", reason != NULL ? "\r\n" : "");
  if (!tc_request(fx->port, "GET", target, extra, r))
    fail_msg("no response for '%s'", target);
  if (r->status != status)
    fail_msg("'%s': status %d, expected %d; body: %s", target, r->status,
             status, r->body);
}

/* The audit records of 'user', in order. */
struct records {
  size_t n;
  struct {
    char action[64], subject[64], unit[64], reason[32], request_id[72];
  } r[64];
};

static int add_record(void *ctx, const struct secstore_audit_row *row) {
  struct records *rs = ctx;
  if (rs->n < ARRAY_LEN(rs->r)) {
    snprintf(rs->r[rs->n].action, sizeof rs->r[rs->n].action, "%s",
             row->action);
    snprintf(rs->r[rs->n].subject, sizeof rs->r[rs->n].subject, "%s",
             row->subject);
    snprintf(rs->r[rs->n].unit, sizeof rs->r[rs->n].unit, "%s", row->unit);
    snprintf(rs->r[rs->n].reason, sizeof rs->r[rs->n].reason, "%s",
             row->reason);
    snprintf(rs->r[rs->n].request_id, sizeof rs->r[rs->n].request_id, "%s",
             row->request_id);
  }
  rs->n++;
  return 0;
}

static void records_of(struct fixture *fx, const char *user,
                       struct records *rs) {
  struct error err;
  memset(rs, 0, sizeof *rs);
  if (audit_user_activity(api_auth_secstore(fx->auth), user, add_record, rs,
                          &err) != 0)
    fail_msg("audit: %s", err.msg);
}

static void assert_api_headers(const struct tc_response *r) {
  assert_non_null(tc_header(r, "Content-Security-Policy"));
  assert_non_null(strstr(tc_header(r, "Content-Security-Policy"),
                         "frame-ancestors 'none'"));
  assert_string_equal(tc_header(r, "X-Content-Type-Options"), "nosniff");
  assert_string_equal(tc_header(r, "Referrer-Policy"), "no-referrer");
  assert_string_equal(tc_header(r, "X-Frame-Options"), "DENY");
  assert_string_equal(tc_header(r, "Cache-Control"), "no-store");
}

static json_t *parse(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (j == NULL)
    fail_msg("not JSON (%s): %s", je.text, text);
  return j;
}

/* What bedboard_snapshot_render renders now for 'unit'. */
static char *board_render(struct fixture *fx, const char *unit,
                          enum bedboard_detail d) {
  struct bedboard_snapshot *snap = bedboard_snapshot_get(fx->bb);
  struct buf b;
  struct error err;
  buf_init(&b, BIG);
  assert_int_equal(bedboard_snapshot_render(snap, unit, d, &b, &err), 0);
  bedboard_snapshot_release(snap);
  return buf_detach(&b, NULL);
}

static char *board_json(struct fixture *fx, const char *unit) {
  return board_render(fx, unit, BEDBOARD_PERSONS);
}

/* The ids of the wards in a bed-board body, comma-separated. */
static void ward_ids(const char *body, char *out, size_t cap) {
  json_t *j = parse(body);
  json_t *wards = json_object_get(j, "wards");
  size_t i;
  json_t *w;
  out[0] = '\0';
  assert_true(json_is_array(wards));
  json_array_foreach(wards, i, w) {
    const char *id = json_string_value(json_object_get(w, "id"));
    assert_non_null(id);
    if (i > 0)
      strncat(out, ",", cap - strlen(out) - 1);
    strncat(out, id, cap - strlen(out) - 1);
  }
  json_decref(j);
}

/* ------------------------------------------------------------ tests */

static void test_healthz(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_ok(fx->port, "/healthz", 200, &r);
  assert_string_equal(r.body, "{\"status\":\"ok\"}");
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_api_headers(&r);
  tc_response_free(&r);
  atomic_store(&fx->ready, false);
  get_ok(fx->port, "/healthz", 503, &r);
  assert_string_equal(r.body, "{\"status\":\"not_ready\"}");
  assert_string_equal(tc_header(&r, "Retry-After"), "2");
  assert_api_headers(&r);
  tc_response_free(&r);
  atomic_store(&fx->ready, true);
  get_ok(fx->port, "/healthz?x=1", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"unknown_parameter\""));
  tc_response_free(&r);
}

/* The indicator catalogue: the embedded one, byte for byte, to any signed-in
 * user; 401 without sign-in. */
static void test_indicators(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct access_rules *rules = NULL;
  struct indicator_catalogue *cat = NULL;
  struct error err;
  struct buf b;
  json_t *j, *list;
  bool t3 = false;
  buf_init(&b, BIG);
  assert_int_equal(access_rules_builtin(&rules, &err), 0);
  assert_int_equal(indicator_catalogue_builtin(rules, &cat, &err), 0);
  assert_int_equal(indicator_catalogue_json(cat, &b), 0);
  get_ok(fx->port, "/api/v1/indicators", 401, &r);
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/indicators", 200, &r);
  assert_string_equal(r.body, buf_str(&b));
  assert_api_headers(&r);
  j = parse(r.body);
  list = json_object_get(j, "indicators");
  assert_int_equal(json_array_size(list), indicator_count(cat));
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *name = json_object_get(json_array_get(list, i), "name");
    assert_non_null(json_object_get(name, "fi"));
    assert_non_null(json_object_get(name, "sv"));
    assert_non_null(json_object_get(name, "en"));
    if (strncmp(
            json_string_value(json_object_get(json_array_get(list, i), "id")),
            "t3", 2) == 0)
      t3 = true;
  }
  assert_true(t3);
  json_decref(j);
  tc_response_free(&r);
  buf_release(&b);
  indicator_catalogue_free(cat);
  access_rules_free(rules);
}

static void test_units(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct buf b;
  json_t *j;
  buf_init(&b, BIG);
  assert_int_equal(org_units_json(fx->org, &b), 0);
  get_ok(fx->port, "/api/v1/units", 401, &r);
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/units", 200, &r);
  assert_string_equal(r.body, buf_str(&b));
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_api_headers(&r);
  j = parse(r.body);
  assert_string_equal(json_string_value(json_object_get(j, "id")), "hva");
  {
    json_t *root = json_array_get(json_object_get(j, "units"), 0);
    json_t *kids = json_object_get(root, "children");
    assert_string_equal(json_string_value(json_object_get(root, "id")), "hva");
    assert_int_equal(json_array_size(kids), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(kids, 0), "id")),
        "h1");
  }
  json_decref(j);
  tc_response_free(&r);
  buf_release(&b);

  {
    char extra[128];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n", fx->chief);
    assert_true(tc_request(fx->port, "HEAD", "/api/v1/units", extra, &r));
  }
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, 0);
  assert_api_headers(&r);
  tc_response_free(&r);
  assert_true(tc_request(fx->port, "POST", "/api/v1/units",
                         "Content-Length: 0\r\n", &r));
  assert_int_equal(r.status, 405);
  assert_string_equal(tc_header(&r, "Allow"), "GET, HEAD, OPTIONS");
  assert_api_headers(&r);
  tc_response_free(&r);
}

static void test_bedboard(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  char ids[256];
  char *want;
  json_t *j;
  get_as(fx, fx->coord, "care_coordination", "/api/v1/bedboard", 200, &r);
  want = board_json(fx, NULL);
  assert_string_equal(r.body, want);
  mem_free(want);
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_api_headers(&r);
  ward_ids(r.body, ids, sizeof ids);
  assert_string_equal(ids, "w1,w2,w3");
  j = parse(r.body);
  {
    json_t *w1 = json_array_get(json_object_get(j, "wards"), 0);
    json_t *p = json_array_get(json_object_get(w1, "patients"), 0);
    assert_int_equal(json_integer_value(json_object_get(w1, "beds")), 3);
    assert_int_equal(json_integer_value(json_object_get(w1, "occupied")), 1);
    assert_int_equal(json_integer_value(json_object_get(w1, "free")), 2);
    assert_string_equal(json_string_value(json_object_get(p, "bed")), "1");
    assert_string_equal(json_string_value(json_object_get(p, "subject")),
                        "s-ep1");
  }
  json_decref(j);
  tc_response_free(&r);

  /* Under a hospital: its wards only; the same bytes as the module's. */
  get_as(fx, fx->coord, "care", "/api/v1/bedboard?unit=h2", 200, &r);
  want = board_json(fx, "h2");
  assert_string_equal(r.body, want);
  mem_free(want);
  ward_ids(r.body, ids, sizeof ids);
  assert_string_equal(ids, "w3");
  tc_response_free(&r);
  get_as(fx, fx->coord, "care", "/api/v1/bedboard?unit=w2", 200, &r);
  ward_ids(r.body, ids, sizeof ids);
  assert_string_equal(ids, "w2");
  tc_response_free(&r);

  /* A unit with no wards: an empty list. */
  get_as(fx, fx->coord, "care", "/api/v1/bedboard?unit=hs", 200, &r);
  j = parse(r.body);
  assert_true(json_is_array(json_object_get(j, "wards")));
  assert_int_equal(json_array_size(json_object_get(j, "wards")), 0);
  json_decref(j);
  tc_response_free(&r);
}

static void test_bedboard_errors(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=nope", 400, &r);
  assert_string_equal(
      r.body,
      "{\"error\":{\"status\":400,\"code\":\"unknown_unit\",\"field\":"
      "\"unit\",\"message\":\"unknown unit 'nope'\",\"i18n\":{\"fi\":"
      "\"tuntematon yksikkö 'nope'\",\"sv\":\"okänd enhet 'nope'\",\"en\":"
      "\"unknown unit 'nope'\"}}}");
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_api_headers(&r);
  tc_response_free(&r);
  /* The unit is echoed safely: quotes escaped, UTF-8 kept. */
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=%22%C3%A4%3C", 400, &r);
  assert_non_null(
      strstr(r.body, "\"message\":\"unknown unit '\\\"\xc3\xa4<'\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"invalid_parameter\",\"field\":\"unit\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?ward=w1", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"unknown_parameter\",\"field\":\"ward\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=w1&unit=w2", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"duplicate_parameter\",\"field\":\"unit\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=%ff", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"bad_encoding\",\"field\":\"unit\""));
  assert_api_headers(&r);
  tc_response_free(&r);
  /* An unknown reason code, from any role. */
  get_as(fx, fx->coord, "curiosity", "/api/v1/bedboard", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"invalid_parameter\",\"field\":\"reason\""));
  assert_null(strstr(r.body, "patients"));
  tc_response_free(&r);
  get_as(fx, fx->chief, "curiosity", "/api/v1/bedboard", 400, &r);
  tc_response_free(&r);
  /* Not signed in. */
  get_ok(fx->port, "/api/v1/bedboard", 401, &r);
  assert_non_null(strstr(r.body, "\"code\":\"unauthorized\""));
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/nothing", 404, &r);
  assert_non_null(strstr(r.body, "\"code\":\"not_found\""));
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_api_headers(&r);
  tc_response_free(&r);
}

/* Each kind of role reads the board at the detail it may see. */
static void test_bedboard_roles(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  char *want;
  json_t *j, *w1;
  /* A leader: small cells suppressed, no rows, with or without a reason. */
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard", 200, &r);
  want = board_render(fx, NULL, BEDBOARD_SUPPRESSED);
  assert_string_equal(r.body, want);
  mem_free(want);
  assert_null(strstr(r.body, "\"patients\""));
  assert_null(strstr(r.body, "\"subject\""));
  assert_null(strstr(r.body, "s-ep1"));
  j = parse(r.body);
  w1 = json_array_get(json_object_get(j, "wards"), 0);
  assert_true(json_is_null(json_object_get(w1, "patient_count")));
  assert_true(json_is_null(json_object_get(w1, "free")));
  assert_int_equal(json_array_size(json_object_get(w1, "suppressed")), 2);
  assert_int_equal(json_array_size(json_object_get(w1, "withheld")), 3);
  json_decref(j);
  assert_null(tc_header(&r, "X-Request-Id"));
  tc_response_free(&r);
  get_as(fx, fx->chief, "care", "/api/v1/bedboard", 200, &r);
  assert_null(strstr(r.body, "\"patients\""));
  assert_non_null(strstr(r.body, "\"suppressed\""));
  tc_response_free(&r);
  /* A coordinator without a reason: exact counts, no rows. */
  get_as(fx, fx->coord, NULL, "/api/v1/bedboard", 200, &r);
  want = board_render(fx, NULL, BEDBOARD_AGGREGATE);
  assert_string_equal(r.body, want);
  mem_free(want);
  assert_null(strstr(r.body, "\"suppressed\""));
  tc_response_free(&r);
  get_as(fx, fx->coord, "", "/api/v1/bedboard", 200, &r);
  assert_null(strstr(r.body, "\"patients\""));
  tc_response_free(&r);
  /* A coordinator of h2: h2 and below only. */
  get_as(fx, fx->coord2, "care", "/api/v1/bedboard", 403, &r);
  assert_non_null(strstr(r.body, "\"code\":\"forbidden\""));
  assert_null(strstr(r.body, "s-ep"));
  tc_response_free(&r);
  get_as(fx, fx->coord2, NULL, "/api/v1/bedboard?unit=h1", 403, &r);
  tc_response_free(&r);
  get_as(fx, fx->coord2, "care", "/api/v1/bedboard?unit=w1", 403, &r);
  tc_response_free(&r);
  get_as(fx, fx->coord2, "care", "/api/v1/bedboard?unit=h2", 200, &r);
  want = board_json(fx, "h2");
  assert_string_equal(r.body, want);
  mem_free(want);
  tc_response_free(&r);
  get_as(fx, fx->coord2, NULL, "/api/v1/flow?unit=w1", 403, &r);
  tc_response_free(&r);
}

/* A person-level view is on record, one record per row, before the reply:
 * user, role, action, subject, unit, reason and the request id the reply
 * echoes. Views without rows leave no person records. */
static void test_bedboard_audit(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct records rs;
  char rid[80];
  records_of(fx, "coord", &rs);
  assert_int_equal(rs.n, 0);
  get_as(fx, fx->coord, "patient_safety", "/api/v1/bedboard", 200, &r);
  assert_non_null(tc_header(&r, "X-Request-Id"));
  snprintf(rid, sizeof rid, "%.79s", tc_header(&r, "X-Request-Id"));
  assert_int_equal(strlen(rid), 32);
  tc_response_free(&r);
  records_of(fx, "coord", &rs);
  assert_int_equal(rs.n, 2);
  assert_string_equal(rs.r[0].action, "view /api/v1/bedboard");
  assert_string_equal(rs.r[0].subject, "s-ep1");
  assert_string_equal(rs.r[0].unit, "w1");
  assert_string_equal(rs.r[0].reason, "patient_safety");
  assert_string_equal(rs.r[0].request_id, rid);
  assert_string_equal(rs.r[1].subject, "s-ep2");
  assert_string_equal(rs.r[1].unit, "w2");
  assert_string_equal(rs.r[1].request_id, rid);
  /* A client's own request id is used when it is well-formed. */
  {
    char extra[256];
    snprintf(extra, sizeof extra,
             "Authorization: Bearer %s\r\nX-Access-Reason: care\r\n"
             "X-Request-Id: ui-42.a\r\n",
             fx->coord);
    assert_true(
        tc_request(fx->port, "GET", "/api/v1/bedboard?unit=w2", extra, &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(tc_header(&r, "X-Request-Id"), "ui-42.a");
    tc_response_free(&r);
  }
  records_of(fx, "coord", &rs);
  assert_int_equal(rs.n, 3);
  assert_string_equal(rs.r[2].subject, "s-ep2");
  assert_string_equal(rs.r[2].request_id, "ui-42.a");
  assert_string_equal(rs.r[2].reason, "care");
  /* No rows: the view itself is on record, without a subject. */
  get_as(fx, fx->coord, "care", "/api/v1/bedboard?unit=hs", 200, &r);
  tc_response_free(&r);
  records_of(fx, "coord", &rs);
  assert_int_equal(rs.n, 4);
  assert_string_equal(rs.r[3].subject, "");
  assert_string_equal(rs.r[3].unit, "hs");
  /* Aggregates: nothing recorded. */
  get_as(fx, fx->coord, NULL, "/api/v1/bedboard", 200, &r);
  tc_response_free(&r);
  get_as(fx, fx->chief, "care", "/api/v1/bedboard", 200, &r);
  tc_response_free(&r);
  records_of(fx, "coord", &rs);
  assert_int_equal(rs.n, 4);
  records_of(fx, "chief", &rs);
  assert_int_equal(rs.n, 0);
}

static void exec_sql(struct fixture *fx, const char *sql) {
  char path[128];
  sqlite3 *db = NULL;
  char *msg = NULL;
  snprintf(path, sizeof path, "%s/%s", fx->dir, SECSTORE_FILE);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("sql: %s", msg);
  sqlite3_close(db);
}

/* When the record cannot be written, the rows are not shown. */
static void test_bedboard_audit_failure(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  exec_sql(fx, "CREATE TRIGGER test_refuse BEFORE INSERT ON audit "
               "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
  get_as(fx, fx->coord, "care", "/api/v1/bedboard", 500, &r);
  assert_non_null(strstr(r.body, "\"code\":\"internal\""));
  assert_null(strstr(r.body, "s-ep1"));
  assert_null(strstr(r.body, "patients"));
  tc_response_free(&r);
  /* Aggregates need no record. */
  get_as(fx, fx->coord, NULL, "/api/v1/bedboard", 200, &r);
  tc_response_free(&r);
  exec_sql(fx, "DROP TRIGGER test_refuse;");
  get_as(fx, fx->coord, "care", "/api/v1/bedboard", 200, &r);
  assert_non_null(strstr(r.body, "s-ep1"));
  tc_response_free(&r);
}

/* The flow from the real cube: exact for a person-level role, suppressed
 * for the others, exactly as suppress_flow_json rewrites it. */
static void test_flow_roles(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct buf exact, sup;
  struct error err;
  json_t *j;
  atomic_store(&fx->flow_mode, 3);
  buf_init(&exact, BIG);
  buf_init(&sup, BIG);
  assert_int_equal(cube_flow_json(bedboard_cube(fx->bb), fx->org, "w1",
                                  chrono_local_date(chrono_now_ms()), &exact,
                                  &err),
                   0);
  assert_int_equal(suppress_flow_json(buf_str(&exact), exact.len, &sup, &err),
                   0);
  get_as(fx, fx->coord, NULL, "/api/v1/flow?unit=w1", 200, &r);
  assert_string_equal(r.body, buf_str(&exact));
  j = parse(r.body);
  assert_int_equal(json_integer_value(json_object_get(j, "admissions")), 1);
  json_decref(j);
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/flow?unit=w1", 200, &r);
  assert_string_equal(r.body, buf_str(&sup));
  j = parse(r.body);
  assert_true(json_is_null(json_object_get(j, "admissions")));
  assert_non_null(strstr(r.body, "\"suppressed\":[\"admissions\""));
  json_decref(j);
  tc_response_free(&r);
  get_as(fx, fx->chief, "bogus", "/api/v1/flow?unit=w1", 400, &r);
  tc_response_free(&r);
  buf_release(&exact);
  buf_release(&sup);
  atomic_store(&fx->flow_mode, 0);
}

static void test_flow_and_status(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_as(fx, fx->coord, NULL, "/api/v1/flow?unit=w1", 200, &r);
  assert_string_equal(r.body, "{\"unit\":\"w1\",\"admissions\":[1,2,3]}");
  assert_api_headers(&r);
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/flow", 400, &r);
  assert_string_equal(
      r.body,
      "{\"error\":{\"status\":400,\"code\":\"missing_parameter\",\"field\":"
      "\"unit\",\"message\":\"parameter 'unit' is required\",\"i18n\":{\"fi\":"
      "\"parametri 'unit' puuttuu\",\"sv\":\"parametern 'unit' saknas\","
      "\"en\":\"parameter 'unit' is required\"}}}");
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/flow?unit=x", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"unknown_unit\",\"field\":"
                                 "\"unit\",\"message\":\"unknown unit 'x'\""));
  tc_response_free(&r);
  atomic_store(&fx->flow_mode, 1);
  get_as(fx, fx->chief, NULL, "/api/v1/flow?unit=w1", 503, &r);
  assert_non_null(strstr(r.body, "\"code\":\"not_ready\""));
  assert_string_equal(tc_header(&r, "Retry-After"), "2");
  tc_response_free(&r);
  atomic_store(&fx->flow_mode, 2);
  get_as(fx, fx->chief, NULL, "/api/v1/flow?unit=w1", 500, &r);
  assert_non_null(strstr(r.body, "\"code\":\"internal\""));
  /* The callback's detail stays in the log, out of the response. */
  assert_null(strstr(r.body, "disk on fire"));
  assert_api_headers(&r);
  tc_response_free(&r);
  atomic_store(&fx->flow_mode, 0);

  get_as(fx, fx->chief, NULL, "/api/v1/status", 200, &r);
  assert_string_equal(r.body, "{\"accepted\":12,\"dead_letters\":0}");
  assert_api_headers(&r);
  tc_response_free(&r);
}

/* T3 of DOMAIN.md 1.4 through the API: 14 days (n 5, 1 censored), 12
 * without censored values, exactly as schedule_t3_json renders it. */
static void test_t3(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct error err;
  struct buf want;
  json_t *root, *thl, *exc;
  int64_t t0;
  assert_int_equal(
      t3_measure_time(chrono_days_from_civil(2025, 3, 3), 8, 0, &t0), 0);
  get_as(fx, fx->chief, NULL,
         "/api/v1/t3?unit=hs&group=physician&at=2025-03-03T06:00:00Z", 200, &r);
  assert_api_headers(&r);
  buf_init(&want, BIG);
  error_clear(&err);
  assert_int_equal(
      schedule_t3_json(fx->sched, "hs", T3_PHYSICIAN, t0, NULL, &want, &err),
      0);
  assert_string_equal(r.body, buf_str(&want));
  buf_release(&want);
  root = json_loads(r.body, 0, NULL);
  assert_non_null(root);
  assert_int_equal(json_integer_value(json_object_get(root, "n")), 5);
  assert_int_equal(json_integer_value(json_object_get(root, "censored")), 1);
  thl = json_object_get(root, "thl");
  exc = json_object_get(root, "excluding_censored");
  assert_true(json_number_value(json_object_get(thl, "median")) == 14.0);
  assert_int_equal(json_integer_value(json_object_get(exc, "n")), 4);
  assert_true(json_number_value(json_object_get(exc, "median")) == 12.0);
  json_decref(root);
  tc_response_free(&r);
  /* No nurse has a book: n 0, medians null. */
  get_as(fx, fx->coord, NULL,
         "/api/v1/t3?unit=hs&group=nurse&at=2025-03-03T06:00:00Z", 200, &r);
  assert_non_null(strstr(r.body, "\"n\":0"));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/t3?unit=hs&group=plumber", 400, &r);
  assert_non_null(strstr(r.body, "\"field\":\"group\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/t3?unit=hs&at=yesterday", 400, &r);
  assert_non_null(strstr(r.body, "\"field\":\"at\""));
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/t3", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"missing_parameter\""));
  tc_response_free(&r);
  /* Scope: coord2 covers h2 only. */
  get_as(fx, fx->coord2, NULL, "/api/v1/t3?unit=hs", 403, &r);
  tc_response_free(&r);
}

static void test_unconfigured(void **state) {
  struct fixture *fx = start(false);
  struct tc_response r;
  static const char *const targets[] = {
      "/api/v1/bedboard", "/api/v1/flow?unit=w1", "/api/v1/t3?unit=hs",
      "/api/v1/status", "/api/v1/stream"};
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(targets); i++) {
    get_as(fx, fx->coord, NULL, targets[i], 503, &r);
    assert_non_null(strstr(r.body, "\"code\":\"unavailable\""));
    assert_api_headers(&r);
    tc_response_free(&r);
  }
  get_as(fx, fx->coord, NULL, "/api/v1/units", 200, &r);
  tc_response_free(&r);
  get_ok(fx->port, "/healthz", 200, &r);
  tc_response_free(&r);
  get_as(fx, fx->ops, NULL, "/metrics", 200, &r);
  assert_null(strstr(r.body, "tilannekuva_sse_clients"));
  tc_response_free(&r);
  stop(fx);
  /* No org: refused. */
  {
    struct http_options o;
    struct http_server *srv = NULL;
    struct api_ctx ctx;
    struct api *api = NULL;
    struct error err;
    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:0";
    assert_int_equal(http_server_new(&o, &srv, &err), 0);
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(api_install(srv, &ctx, &api, &err), ERR_INVAL);
    assert_null(api);
    http_server_free(srv);
  }
}

static void test_stream_and_writer(void **state) {
  struct fixture *fx = *state;
  int fd = tc_connect(fx->port);
  char req[256];
  char buf[65536] = "";
  size_t got = 0;
  char event[256];
  struct tc_response r;
  uint64_t version;
  int64_t until = tc_now_us() + 5000000;
  snprintf(req, sizeof req,
           "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n",
           fx->chief);
  assert_true(fd >= 0);
  assert_true(tc_send_all(fd, req, strlen(req)));
  /* Wait for the head and the retry line. */
  while (strstr(buf, "retry: 2000") == NULL) {
    ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
    assert_true(n > 0);
    got += (size_t)n;
    buf[got] = '\0';
  }
  assert_non_null(strstr(buf, "HTTP/1.1 200"));
  assert_non_null(strstr(buf, "Content-Type: text/event-stream"));
  assert_non_null(strstr(buf, "X-Accel-Buffering: no"));
  while (stream_hub_clients(fx->hub) != 1 && tc_now_us() < until)
    usleep(1000);

  /* The writer: apply, publish the board, then tell the stream. */
  apply(fx, EV_ADMITTED, "ep3", "w3", "", fx->t0 + 120000);
  assert_int_equal(bedboard_publish(fx->bb, chrono_now_ms()), 1);
  {
    struct bedboard_snapshot *snap = bedboard_snapshot_get(fx->bb);
    version = bedboard_snapshot_version(snap);
    bedboard_snapshot_release(snap);
  }
  snprintf(event, sizeof event,
           "{\"version\":%" PRIu64 ",\"as_of\":\"2026-11-23T10:00:00.000Z\","
           "\"changed\":[\"w3\"]}",
           version);
  assert_int_equal(stream_hub_publish(fx->hub, "bedboard", event), 1);
  {
    char want[512];
    snprintf(want, sizeof want, "id: 1\nevent: bedboard\ndata: %s\n\n", event);
    while (strstr(buf, want) == NULL) {
      ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
      assert_true(n > 0);
      got += (size_t)n;
      buf[got] = '\0';
    }
  }
  close(fd);
  /* A client reloading after the event sees the new patient and version. */
  get_as(fx, fx->coord, NULL, "/api/v1/bedboard?unit=w3", 200, &r);
  {
    json_t *j = parse(r.body);
    json_t *w3 = json_array_get(json_object_get(j, "wards"), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "version")),
                     (json_int_t)version);
    assert_int_equal(json_integer_value(json_object_get(w3, "occupied")), 1);
    json_decref(j);
  }
  tc_response_free(&r);
}

static void test_metrics(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_as(fx, fx->chief, NULL, "/api/v1/units", 200, &r);
  tc_response_free(&r);
  get_as(fx, fx->chief, NULL, "/api/v1/bedboard?unit=nope", 400, &r);
  tc_response_free(&r);
  /* /metrics needs the feeds permission. */
  get_as(fx, fx->chief, NULL, "/metrics", 403, &r);
  tc_response_free(&r);
  /* Completion callbacks may run just after a client saw the end of its
   * response: wait until the counts landed. */
  for (int i = 0; i < 500; i++) {
    get_as(fx, fx->ops, NULL, "/metrics", 200, &r);
    if (strstr(r.body, "route=\"bedboard\",status=\"400\"} 1\n") != NULL)
      break;
    tc_response_free(&r);
    usleep(10000);
  }
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/plain; version=0.0.4; charset=utf-8");
  assert_api_headers(&r);
  assert_non_null(strstr(
      r.body,
      "tilannekuva_http_requests_total{route=\"units\",status=\"200\"} 1\n"));
  assert_non_null(strstr(r.body, "tilannekuva_http_requests_total{route="
                                 "\"bedboard\",status=\"400\"} 1\n"));
  assert_non_null(strstr(r.body, "\ntilannekuva_sse_clients 0\n"));
  assert_non_null(strstr(r.body, "\ntilannekuva_test_metric 42\n"));
  tc_response_free(&r);
}

/* Readers hammer the board while the writer applies and publishes. */
struct load {
  uint16_t port;
  const char *token;
  atomic_bool stop;
  atomic_int ok, bad;
};

static void *load_reader(void *arg) {
  struct load *l = arg;
  while (!atomic_load(&l->stop)) {
    struct tc_response r;
    json_error_t je;
    json_t *j;
    char extra[128];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\n", l->token);
    if (!tc_request(l->port, "GET", "/api/v1/bedboard", extra, &r)) {
      atomic_fetch_add(&l->bad, 1);
      continue;
    }
    j = json_loads(r.body, 0, &je);
    if (r.status == 200 && j != NULL &&
        json_is_array(json_object_get(j, "wards")))
      atomic_fetch_add(&l->ok, 1);
    else
      atomic_fetch_add(&l->bad, 1);
    json_decref(j);
    tc_response_free(&r);
  }
  return NULL;
}

static void test_concurrent_readers(void **state) {
  struct fixture *fx = *state;
  struct load l;
  pthread_t t[4];
  char ep[32];
  l.port = fx->port;
  l.token = fx->coord;
  atomic_store(&l.stop, false);
  atomic_store(&l.ok, 0);
  atomic_store(&l.bad, 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, load_reader, &l), 0);
  for (int i = 0; i < 200; i++) {
    snprintf(ep, sizeof ep, "load%d", i);
    apply(fx, EV_ADMITTED, ep, i % 2 ? "w1" : "w3", "", fx->t0 + 200000 + i);
    if (i % 3 == 0) {
      snprintf(ep, sizeof ep, "load%d", i);
      apply(fx, EV_DISCHARGED, ep, i % 2 ? "w1" : "w3", "",
            fx->t0 + 300000 + i);
    }
    (void)bedboard_publish(fx->bb, chrono_now_ms());
    usleep(1000);
  }
  atomic_store(&l.stop, true);
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(atomic_load(&l.bad), 0);
  assert_true(atomic_load(&l.ok) > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
      cmocka_unit_test_setup_teardown(test_units, setup, teardown),
      cmocka_unit_test_setup_teardown(test_indicators, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bedboard, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bedboard_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bedboard_roles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bedboard_audit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bedboard_audit_failure, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flow_roles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flow_and_status, setup, teardown),
      cmocka_unit_test_setup_teardown(test_t3, setup, teardown),
      cmocka_unit_test(test_unconfigured),
      cmocka_unit_test_setup_teardown(test_stream_and_writer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
  };
  log_set_level(LOG_ERROR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
