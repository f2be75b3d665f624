/* test_api_fhir.c -- unit tests for the FHIR endpoint (api_fhir.h) and,
 * through it, ingest_submit_fhir (ingest.h).
 *
 * A real data directory (key file, organisation with a FHIR channel, a
 * created store), a real ingest and a real HTTP server on 127.0.0.1
 * without an authorizer (api_auth is tested on its own and end to end in
 * tests/integration/fhir_t3.py), driven by the raw-socket client. Checks
 * the replies (201 and the echo, Location, 200 for a resend and a PUT,
 * OperationOutcome naming the element with 400/415/422, batch and
 * transaction Bundles), and that what was accepted reached the books
 * (ingest_t3_json) and the status counters, and nothing refused did. Runs
 * under ASan with the rest of the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_fhir.h"
#include "buf.h"
#include "http.h"
#include "http_client.h"
#include "ingest.h"
#include "mem.h"
#include "privacy.h"
#include "store.h"

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"Alue\"}},"
    "{\"id\":\"tx\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Terveysasema X\"}}],"
    "\"channels\":[{\"id\":\"fh\",\"type\":\"fhir\","
    "\"locations\":{\"Location/X\":\"tx\"}}]}";

static const char SCHED[] =
    "{\"resourceType\":\"Schedule\",\"id\":\"A\",\"specialty\":[{\"coding\":"
    "[{\"code\":\"physician\"}]}],\"actor\":[{\"reference\":"
    "\"Practitioner/a\"},{\"reference\":\"Location/X\"}]}";

struct fx {
  char dir[64];
  struct ingest *in;
  struct http_server *srv;
  struct api_fhir *api;
  uint16_t port;
};

static void write_file(const char *dir, const char *name, const char *text) {
  char path[128];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Opens ingest and the server on f->dir (again after stop). */
static void start(struct fx *f) {
  struct ingest_options io;
  struct http_options ho;
  struct error err;
  error_clear(&err);
  memset(&io, 0, sizeof io);
  if (ingest_open(f->dir, &io, NULL, &f->in, &err) != 0)
    fail_msg("ingest_open: %s", err.msg);
  memset(&ho, 0, sizeof ho);
  ho.listen = "127.0.0.1:0";
  ho.threads = 4;
  if (http_server_new(&ho, &f->srv, &err) != 0 ||
      api_fhir_install(f->srv, f->in, NULL, &f->api, &err) != 0 ||
      http_server_start(f->srv, &err) != 0)
    fail_msg("server: %s", err.msg);
  f->port = http_server_port(f->srv);
}

static void stop(struct fx *f) {
  http_server_free(f->srv);
  api_fhir_free(f->api);
  ingest_close(f->in);
  f->srv = NULL;
  f->api = NULL;
  f->in = NULL;
}

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct store *st;
  struct error err;
  char path[128];
  error_clear(&err);
  snprintf(f->dir, sizeof f->dir, "/tmp/test_api_fhir.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(path, sizeof path, "%s/" INGEST_KEY_FILE, f->dir);
  assert_int_equal(privacy_keyfile_create(path, &err), 0);
  write_file(f->dir, INGEST_ORG_FILE, ORG_JSON);
  snprintf(path, sizeof path, "%s/" INGEST_DB_FILE, f->dir);
  if (store_open(path, STORE_CREATE, &st, &err) != 0)
    fail_msg("store: %s", err.msg);
  store_close(st);
  start(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  stop(f);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  mem_free(f);
  return 0;
}

/* METHOD target with a JSON body and extra header lines ('extra', each
 * ending in CRLF); the reply in *r. */
static void send_ex(struct fx *f, const char *method, const char *target,
                    const char *ct, const char *extra, const char *body,
                    int want, struct tc_response *r) {
  struct buf req;
  buf_init(&req, 1u << 20);
  assert_int_equal(
      buf_printf(&req,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 "Content-Type: %s\r\n%sContent-Length: %zu\r\n\r\n%s",
                 method, target, ct, extra, strlen(body), body),
      0);
  if (!tc_raw(f->port, buf_str(&req), r))
    fail_msg("no reply for %s %s", method, target);
  buf_release(&req);
  if (r->status != want)
    fail_msg("%s %s: %d, want %d: %s", method, target, r->status, want,
             r->body);
}

static void send_json(struct fx *f, const char *method, const char *target,
                      const char *ct, const char *body, int want,
                      struct tc_response *r) {
  send_ex(f, method, target, ct, "", body, want, r);
}

static void post(struct fx *f, const char *target, const char *body, int want,
                 struct tc_response *r) {
  send_json(f, "POST", target, "application/fhir+json", body, want, r);
}

/* The expression of the first issue of an OperationOutcome body. */
static void assert_expression(const struct tc_response *r, const char *want) {
  json_t *o = json_loads(r->body, 0, NULL);
  json_t *issue = json_array_get(json_object_get(o, "issue"), 0);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "resourceType")),
                      "OperationOutcome");
  assert_string_equal(json_string_value(json_array_get(
                          json_object_get(issue, "expression"), 0)),
                      want);
  assert_string_equal(tc_header(r, "Content-Type"), "application/fhir+json");
  json_decref(o);
}

static char *slot(int i, int day, const char *status, const char *extra) {
  char *s = mem_alloc(512);
  snprintf(s, 512,
           "{\"resourceType\":\"Slot\",\"id\":\"s%d\",\"schedule\":{"
           "\"reference\":\"Schedule/A\"},\"status\":\"%s\",\"start\":"
           "\"2025-03-%02dT10:00:00Z\",\"end\":\"2025-03-%02dT10:20:00Z\"%s}",
           i, status, day, day, extra);
  return s;
}

/* n and the THL median of T3 at tx at 2025-03-03 08:00 Helsinki. */
static void t3_is(struct fx *f, int n, double median) {
  struct buf b;
  struct error err;
  json_t *o;
  int64_t t0 = 1740981600000; /* 2025-03-03T06:00:00Z */
  buf_init(&b, 1u << 20);
  error_clear(&err);
  ingest_flush(f->in);
  assert_int_equal(ingest_t3_json(f->in, "tx", T3_PHYSICIAN, t0, &b, &err), 0);
  o = json_loads(buf_str(&b), 0, NULL);
  assert_non_null(o);
  assert_int_equal(json_integer_value(json_object_get(o, "n")), n);
  if (n > 0)
    assert_true(json_number_value(json_object_get(json_object_get(o, "thl"),
                                                  "median")) == median);
  json_decref(o);
  buf_release(&b);
}

static void test_resources(void **state) {
  struct fx *f = *state;
  struct tc_response r;
  struct buf st;
  struct error err;
  char *s;
  json_t *o;

  /* A Slot before its Schedule. */
  s = slot(1, 5, "free", "");
  post(f, "/fhir/r4/Slot", s, 422, &r);
  assert_expression(&r, "Slot.schedule");
  tc_response_free(&r);

  post(f, "/fhir/r4/Schedule", SCHED, 201, &r);
  assert_string_equal(tc_header(&r, "Location"), "/fhir/r4/Schedule/A");
  o = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "id")), "A");
  json_decref(o);
  tc_response_free(&r);

  post(f, "/fhir/r4/Slot", s, 201, &r);
  tc_response_free(&r);
  /* A resend: 200, nothing applied. */
  post(f, "/fhir/r4/Slot", s, 200, &r);
  tc_response_free(&r);
  mem_free(s);
  s = slot(2, 6, "free", "");
  send_json(f, "POST", "/fhir/r4/Slot", "application/json; charset=utf-8", s,
            201, &r);
  tc_response_free(&r);
  mem_free(s);
  t3_is(f, 1, 182); /* two free slots: censored */
  /* PUT: the id from the path; a third slot makes T3 4 days. */
  s = slot(3, 7, "free", "");
  send_json(f, "PUT", "/fhir/r4/Slot/s3", "application/fhir+json", s, 200, &r);
  tc_response_free(&r);
  t3_is(f, 1, 4);
  send_json(f, "PUT", "/fhir/r4/Slot/other", "application/fhir+json", s, 400,
            &r);
  assert_expression(&r, "Resource.id");
  tc_response_free(&r);
  mem_free(s);
  /* Urgent slots do not count; removing s3 censors again. */
  s = slot(4, 4, "free",
           ",\"appointmentType\":{\"coding\":[{\"code\":"
           "\"URGENT\"}]}");
  post(f, "/fhir/r4/Slot", s, 201, &r);
  tc_response_free(&r);
  mem_free(s);
  t3_is(f, 1, 4);
  s = slot(3, 7, "entered-in-error", "");
  send_json(f, "PUT", "/fhir/r4/Slot/s3", "application/fhir+json", s, 200, &r);
  tc_response_free(&r);
  mem_free(s);
  t3_is(f, 1, 182);

  /* Refusals. */
  s = slot(5, 8, "free", ",\"end\":\"later\"");
  post(f, "/fhir/r4/Slot", s, 400, &r); /* a duplicate key: unreadable */
  assert_expression(&r, "Resource");
  tc_response_free(&r);
  mem_free(s);
  s = slot(5, 8, "free", ",\"overbooked\":1");
  post(f, "/fhir/r4/Slot", s, 422, &r);
  assert_expression(&r, "Slot.overbooked");
  tc_response_free(&r);
  post(f, "/fhir/r4/Schedule", s, 400, &r);
  assert_expression(&r, "resourceType");
  tc_response_free(&r);
  send_json(f, "POST", "/fhir/r4/Slot", "text/plain", s, 415, &r);
  tc_response_free(&r);
  mem_free(s);
  post(f, "/fhir/r4/Patient", "{\"resourceType\":\"Patient\",\"id\":\"p\"}",
       422, &r);
  assert_expression(&r, "resourceType");
  tc_response_free(&r);
  post(f, "/fhir/r4/Slot/x/y", "{}", 404, &r);
  tc_response_free(&r);

  buf_init(&st, 1u << 20);
  error_clear(&err);
  assert_int_equal(ingest_status_json(f->in, &st, &err), 0);
  o = json_loads(buf_str(&st), 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(o, "messages"), "duplicates")),
                   1);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(o, "messages"), "accepted")),
                   6);
  json_decref(o);
  buf_release(&st);
}

static void test_bundles(void **state) {
  struct fx *f = *state;
  struct tc_response r;
  char body[4096];
  char *a = slot(1, 4, "free", ""), *b = slot(2, 5, "free", "");
  char *c = slot(3, 6, "free", ""), *bad;
  json_t *o;

  /* A transaction with its own Schedule: one bad entry (an end that is
   * not a string) refuses it all. */
  bad = mem_strdup("{\"resourceType\":\"Slot\",\"id\":\"s4\",\"schedule\":{"
                   "\"reference\":\"Schedule/A\"},\"status\":\"busy\","
                   "\"start\":\"2025-03-06T10:00:00Z\",\"end\":1}");
  snprintf(
      body, sizeof body,
      "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
      "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":"
      "\"Schedule/A\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}}"
      "]}",
      SCHED, a, b, bad);
  post(f, "/fhir/r4", body, 422, &r);
  assert_expression(&r, "Bundle.entry[3].resource.end");
  tc_response_free(&r);
  t3_is(f, 0, 0);
  /* The same without the bad entry, with a third slot. */
  snprintf(
      body, sizeof body,
      "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
      "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":"
      "\"Schedule/A\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}}"
      "]}",
      SCHED, a, b, c);
  post(f, "/fhir/r4", body, 200, &r);
  o = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "type")),
                      "transaction-response");
  assert_int_equal(json_array_size(json_object_get(o, "entry")), 4);
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_array_get(json_object_get(o, "entry"), 1),
                          "response"),
          "status")),
      "201 Created");
  json_decref(o);
  tc_response_free(&r);
  t3_is(f, 1, 3);

  /* A batch: each entry on its own. */
  snprintf(
      body, sizeof body,
      "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}},"
      "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"Slot\"}}"
      "]}",
      a, bad);
  post(f, "/fhir/r4", body, 200, &r);
  o = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "type")),
                      "batch-response");
  {
    json_t *e = json_object_get(o, "entry");
    json_t *r1 = json_object_get(json_array_get(e, 1), "response");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(e, 0), "response"), "status")),
        "201 Created"); /* a new message, the same slot */
    assert_string_equal(json_string_value(json_object_get(r1, "status")),
                        "422 Unprocessable Entity");
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(
                json_array_get(
                    json_object_get(json_object_get(r1, "outcome"), "issue"),
                    0),
                "expression"),
            0)),
        "Slot.end");
  }
  json_decref(o);
  tc_response_free(&r);
  t3_is(f, 1, 3); /* 'a' again changes no book */
  /* Not a Bundle of a supported type. */
  post(f, "/fhir/r4",
       "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[]}",
       400, &r);
  assert_expression(&r, "Bundle.type");
  tc_response_free(&r);
  mem_free(a);
  mem_free(b);
  mem_free(c);
  mem_free(bad);
}

/* ---- Appointment, Encounter, If-None-Exist ------------------------------ */

/* status: messages.<which>, or events.by_kind.<which> when 'kind'. */
static long long status_count(struct fx *f, const char *group,
                              const char *which) {
  struct buf st;
  struct error err;
  json_t *o;
  long long v;
  ingest_flush(f->in);
  buf_init(&st, 1u << 20);
  error_clear(&err);
  assert_int_equal(ingest_status_json(f->in, &st, &err), 0);
  o = json_loads(buf_str(&st), 0, NULL);
  assert_non_null(o);
  if (strcmp(group, "by_kind") == 0)
    v = json_integer_value(json_object_get(
        json_object_get(json_object_get(o, "events"), "by_kind"), which));
  else
    v = json_integer_value(json_object_get(json_object_get(o, group), which));
  json_decref(o);
  buf_release(&st);
  return v;
}

static char *encounter(const char *id, const char *status, const char *extra) {
  char *s = mem_alloc(1024);
  snprintf(s, 1024,
           "{\"resourceType\":\"Encounter\",\"id\":\"%s\",\"status\":\"%s\","
           "\"class\":{\"code\":\"AMB\"},\"subject\":{\"identifier\":{"
           "\"system\":\"urn:oid:1.2.246.21\",\"value\":\"131052-308T\"}},"
           "\"serviceProvider\":{\"reference\":\"Location/X\"},\"period\":{"
           "\"start\":\"2025-03-10T09:00:00Z\"}%s}",
           id, status, extra);
  return s;
}

static char *appointment(const char *id, const char *status) {
  char *s = mem_alloc(1024);
  snprintf(s, 1024,
           "{\"resourceType\":\"Appointment\",\"id\":\"%s\",\"status\":"
           "\"%s\",\"start\":\"2025-03-10T09:00:00Z\",\"end\":"
           "\"2025-03-10T09:20:00Z\",\"participant\":[{\"actor\":{"
           "\"reference\":\"Patient/p\"}},{\"actor\":{\"reference\":"
           "\"Practitioner/a\"}},{\"actor\":{\"reference\":\"Location/X\"}}]}",
           id, status);
  return s;
}

#define CT "application/fhir+json"

static void test_visits(void **state) {
  struct fx *f = *state;
  struct tc_response r;
  char *s;
  json_t *o;

  /* A finished Encounter: one visit; a PUT update another event. */
  s = encounter("e1", "finished", "");
  post(f, "/fhir/r4/Encounter", s, 201, &r);
  assert_string_equal(tc_header(&r, "Location"), "/fhir/r4/Encounter/e1");
  tc_response_free(&r);
  mem_free(s);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 1);
  s = encounter("e1", "finished",
                ",\"priority\":{\"coding\":[{\"code\":\"UR\"}]}");
  send_json(f, "PUT", "/fhir/r4/Encounter/e1", CT, s, 200, &r);
  tc_response_free(&r);
  mem_free(s);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 2);
  /* In progress: accepted, no event. */
  s = encounter("e2", "in-progress", "");
  post(f, "/fhir/r4/Encounter", s, 201, &r);
  tc_response_free(&r);
  mem_free(s);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 2);
  assert_int_equal(status_count(f, "data_quality", "unverified_identity"), 0);
  /* A finished one without its visit time names the element. */
  s = encounter("e3", "finished", ",\"period\":{}");
  post(f, "/fhir/r4/Encounter", s, 400, &r); /* duplicate key "period" */
  tc_response_free(&r);
  mem_free(s);
  post(f, "/fhir/r4/Encounter",
       "{\"resourceType\":\"Encounter\",\"id\":\"e3\",\"status\":"
       "\"finished\",\"subject\":{\"reference\":\"Patient/p\"},"
       "\"serviceProvider\":{\"reference\":\"Location/X\"}}",
       422, &r);
  assert_expression(&r, "Encounter.period.start");
  tc_response_free(&r);

  /* An Appointment booked, then cancelled by PUT. */
  s = appointment("a1", "booked");
  post(f, "/fhir/r4/Appointment", s, 201, &r);
  tc_response_free(&r);
  mem_free(s);
  s = appointment("a1", "cancelled");
  send_json(f, "PUT", "/fhir/r4/Appointment/a1", CT, s, 200, &r);
  tc_response_free(&r);
  mem_free(s);
  s = appointment("a2", "noshow");
  post(f, "/fhir/r4/Appointment", s, 201, &r);
  tc_response_free(&r);
  mem_free(s);
  assert_int_equal(status_count(f, "by_kind", "appointment.booked"), 1);
  assert_int_equal(status_count(f, "by_kind", "appointment.cancelled"), 1);
  assert_int_equal(status_count(f, "by_kind", "appointment.noshow"), 1);
  assert_int_equal(status_count(f, "data_quality", "unverified_identity"), 3);
  s = appointment("a3", "sometime");
  post(f, "/fhir/r4/Appointment", s, 422, &r);
  assert_expression(&r, "Appointment.status");
  tc_response_free(&r);
  mem_free(s);

  /* Unsupported types name the type. */
  post(f, "/fhir/r4/Questionnaire",
       "{\"resourceType\":\"Questionnaire\",\"id\":\"q\"}", 422, &r);
  assert_expression(&r, "resourceType");
  assert_non_null(strstr(r.body, "'Questionnaire' is not supported"));
  assert_non_null(strstr(r.body, "\"not-supported\""));
  tc_response_free(&r);

  /* Conditional create: new, then found (200, nothing applied). */
  s = encounter("e9", "finished",
                ",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"E-9\"}]");
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=urn:x|E-9\r\n", s, 201, &r);
  assert_string_equal(tc_header(&r, "Location"), "/fhir/r4/Encounter/e9");
  tc_response_free(&r);
  mem_free(s);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 3);
  s = encounter("e10", "finished",
                ",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"E-9\"}]");
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=urn:x%7CE-9\r\n", s, 200, &r);
  assert_string_equal(tc_header(&r, "Location"), "/fhir/r4/Encounter/e9");
  o = json_loads(r.body, 0, NULL);
  assert_string_equal(
      json_string_value(json_object_get(
          json_array_get(json_object_get(o, "issue"), 0), "severity")),
      "information");
  json_decref(o);
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 3);
  assert_int_equal(status_count(f, "messages", "duplicates"), 1);
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=E-9\r\n", s, 200, &r); /* any system */
  tc_response_free(&r);
  send_ex(f, "POST", "/fhir/r4/Encounter", CT, "If-None-Exist: name=x\r\n", s,
          400, &r);
  assert_expression(&r, "If-None-Exist");
  tc_response_free(&r);

  /* After a restart the index is rebuilt from the stored payloads. */
  stop(f);
  start(f);
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=urn:x|E-9\r\n", s, 200, &r);
  assert_string_equal(tc_header(&r, "Location"), "/fhir/r4/Encounter/e9");
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 3);
  /* Not found under another system: created. */
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=urn:y|E-9\r\n", s, 201, &r);
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 4);
  /* Two resources hold E-9 now: "any system" is ambiguous. */
  send_ex(f, "POST", "/fhir/r4/Encounter", CT,
          "If-None-Exist: identifier=E-9\r\n", s, 422, &r);
  assert_expression(&r, "If-None-Exist");
  assert_non_null(strstr(r.body, "multiple-matches"));
  tc_response_free(&r);
  mem_free(s);
}

static void test_mixed_bundles(void **state) {
  struct fx *f = *state;
  struct tc_response r;
  char body[8192];
  char *sl = slot(1, 4, "free", ""), *ap = appointment("a1", "booked");
  char *en = encounter("e1", "finished", ""), *bad;
  json_t *o, *e;

  /* All four types in one transaction; a bad Encounter refuses it all. */
  bad = encounter("e2", "finished",
                  ",\"extension\":[{\"url\":\"https://"
                  "tilannekuva.fi/fhir/StructureDefinition/"
                  "contact-channel\",\"valueCode\":\"fax\"}]");
  snprintf(body, sizeof body,
           "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
           "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":"
           "\"Schedule/A\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Slot\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Appointment\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Encounter\"}}]}",
           SCHED, sl, ap, bad);
  post(f, "/fhir/r4", body, 422, &r);
  assert_expression(&r, "Bundle.entry[3].resource.extension[0].valueCode");
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "appointment.booked"), 0);
  snprintf(body, sizeof body,
           "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
           "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":"
           "\"Schedule/A\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Slot\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Appointment\"}},"
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Encounter\"}}]}",
           SCHED, sl, ap, en);
  post(f, "/fhir/r4/", body, 200, &r); /* the base with a slash */
  o = json_loads(r.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "type")),
                      "transaction-response");
  assert_int_equal(json_array_size(json_object_get(o, "entry")), 4);
  json_decref(o);
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "slot.opened"), 1);
  assert_int_equal(status_count(f, "by_kind", "appointment.booked"), 1);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 1);
  t3_is(f, 1, 182);

  /* ifNoneExist: per entry in a batch, refused in a transaction. */
  mem_free(en);
  en = encounter("e5", "finished",
                 ",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"V\"}]");
  snprintf(body, sizeof body,
           "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Encounter/\",\"ifNoneExist\":\"identifier=urn:x|V\"}}]}",
           en);
  post(f, "/fhir/r4", body, 200, &r);
  tc_response_free(&r);
  mem_free(en);
  en = encounter("e6", "finished",
                 ",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"V\"}]");
  snprintf(body, sizeof body,
           "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Encounter\",\"ifNoneExist\":\"identifier=urn:x|V\"}},"
           "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p\"},"
           "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}",
           en);
  post(f, "/fhir/r4", body, 200, &r);
  o = json_loads(r.body, 0, NULL);
  e = json_object_get(o, "entry");
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_array_get(e, 0), "response"), "status")),
      "200 OK");
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_array_get(e, 0), "response"), "location")),
      "Encounter/e5");
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_array_get(e, 1), "response"), "status")),
      "422 Unprocessable Entity");
  json_decref(o);
  tc_response_free(&r);
  assert_int_equal(status_count(f, "by_kind", "visit.completed"), 2);
  snprintf(body, sizeof body,
           "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
           "{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
           "\"Encounter\",\"ifNoneExist\":\"identifier=urn:x|V\"}}]}",
           en);
  post(f, "/fhir/r4", body, 400, &r);
  assert_expression(&r, "Bundle.entry[0].request.ifNoneExist");
  tc_response_free(&r);
  /* An unsupported type inside a transaction names the entry. */
  post(f, "/fhir/r4",
       "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
       "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p\"},"
       "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}",
       422, &r);
  assert_expression(&r, "Bundle.entry[0].resource");
  assert_non_null(strstr(r.body, "'Patient' is not supported"));
  tc_response_free(&r);
  mem_free(sl);
  mem_free(ap);
  mem_free(en);
  mem_free(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bundles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_visits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mixed_bundles, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
