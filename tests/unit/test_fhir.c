/* test_fhir.c -- unit tests for the FHIR Schedule and Slot mapper (fhir.c)
 * and, through it, the scheduling projection (schedule.c).
 *
 * The shared FHIR examples are mapped or refused with a precise
 * OperationOutcome (the element named); a Slot takes its professional,
 * group and unit from its Schedule; statuses, flags and times are checked;
 * then DOMAIN.md §1.4's worked example is sent as FHIR Schedules and Slots
 * (with urgent, booked and entered-in-error distractors) and T3 read from
 * the projection: 14 with n = 5 and one censored under THL's rule, 12
 * without censored values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chrono.h"
#include "fhir.h"
#include "hetu.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "schedule.h"

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"Alue\"}},"
    "{\"id\":\"tx\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Terveysasema X\"}},"
    "{\"id\":\"ty\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Terveysasema Y\"}}],"
    "\"channels\":["
    "{\"id\":\"fh\",\"type\":\"fhir\","
    "\"locations\":{\"Location/X\":\"tx\",\"1.2.246.10.1\":\"ty\"}}]}";

struct fx {
  struct org *org;
  struct privacy_keys *keys;
  const struct org_channel *ch;
  struct fhir_schedules *tab;
  char dir[64];
  char path[128];
};

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  error_clear(&err);
  snprintf(f->dir, sizeof f->dir, "/tmp/test_fhir.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/keys", f->dir);
  if (privacy_keyfile_create(f->path, &err) != 0 ||
      privacy_keys_load(f->path, &f->keys, &err) != 0 ||
      org_load_json(ORG_JSON, strlen(ORG_JSON), &f->org, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  f->ch = org_channel_find(f->org, "fh");
  f->tab = fhir_schedules_new();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  fhir_schedules_free(f->tab);
  org_free(f->org);
  privacy_keys_free(f->keys);
  unlink(f->path);
  rmdir(f->dir);
  mem_free(f);
  return 0;
}

static json_t *load_shared(const char *name) {
  char path[4200];
  const char *shared = getenv("TK_SHARED");
  json_error_t je;
  json_t *j;
  snprintf(path, sizeof path, "%s/testdata/fhir/%s",
           shared ? shared : "../shared", name);
  j = json_load_file(path, 0, &je);
  if (j == NULL)
    fail_msg("cannot load '%s': %s", path, je.text);
  return j;
}

static json_t *parse(const char *text) {
  struct fhir_issue iss;
  json_t *j = NULL;
  memset(&iss, 0, sizeof iss);
  if (fhir_parse(text, strlen(text), &j, &iss) != 0)
    fail_msg("parse: %s", iss.diagnostics);
  return j;
}

static void add_schedule(struct fx *f, const char *json) {
  struct fhir_schedule s;
  struct fhir_issue iss;
  json_t *j = parse(json);
  memset(&iss, 0, sizeof iss);
  if (fhir_schedule_map(j, f->org, f->ch, f->keys, &s, &iss) != 0)
    fail_msg("schedule: %s: %s", iss.expression, iss.diagnostics);
  assert_int_equal(fhir_schedules_put(f->tab, &s), 0);
  json_decref(j);
}

static void test_parse(void **state) {
  struct fhir_issue iss;
  json_t *j = NULL;
  struct buf b;
  (void)state;
  memset(&iss, 0, sizeof iss);
  assert_int_equal(fhir_parse("{\"a\":", 5, &j, &iss), ERR_PARSE);
  assert_null(j);
  assert_string_equal(iss.code, "structure");
  assert_int_equal(fhir_parse("{\"id\":\"x\"}", 10, &j, &iss), ERR_PARSE);
  assert_string_equal(iss.expression, "resourceType");
  assert_int_equal(fhir_parse("[]", 2, &j, &iss), ERR_PARSE);
  assert_int_equal(fhir_parse("{}", FHIR_RESOURCE_MAX + 1, &j, &iss),
                   ERR_TOOBIG);
  assert_int_equal(fhir_parse("{\"resourceType\":\"Slot\"}", 23, &j, &iss), 0);
  assert_string_equal(fhir_resource_type(j), "Slot");
  json_decref(j);
  /* The OperationOutcome names the element. */
  snprintf(iss.code, sizeof iss.code, "required");
  snprintf(iss.expression, sizeof iss.expression, "Slot.start");
  snprintf(iss.diagnostics, sizeof iss.diagnostics, "Slot.start missing");
  buf_init(&b, 4096);
  assert_int_equal(fhir_outcome_json(&iss, &b), 0);
  assert_string_equal(
      buf_str(&b),
      "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":"
      "\"error\",\"code\":\"required\",\"diagnostics\":\"Slot.start "
      "missing\",\"expression\":[\"Slot.start\"]}]}");
  buf_release(&b);
}

/* The shared Schedules: r4-core's has no practitioner, fi-scheduling's no
 * place; each refusal names Schedule.actor. With a mapped Location added,
 * the fi Schedule maps and its Slot takes professional and unit. */
static void test_shared_examples(void **state) {
  struct fx *f = *state;
  struct fhir_schedule s, s2;
  struct fhir_issue iss;
  struct event ev;
  char want[EVENT_PSEUDO_MAX];
  json_t *j;
  const char *id = "fh|Practitioner/practitioner-keijo";
  int64_t t;

  j = load_shared("r4-core/schedule-example.json");
  memset(&iss, 0, sizeof iss);
  assert_int_equal(fhir_schedule_map(j, f->org, f->ch, f->keys, &s, &iss),
                   ERR_MAPPING);
  assert_string_equal(iss.expression, "Schedule.actor");
  assert_string_equal(iss.code, "required");
  json_decref(j);

  j = load_shared("fi-scheduling/Schedule-234567890.json");
  assert_int_equal(fhir_schedule_map(j, f->org, f->ch, f->keys, &s, &iss),
                   ERR_MAPPING);
  assert_string_equal(iss.expression, "Schedule.actor");
  assert_string_equal(iss.code, "value");
  assert_int_equal(json_array_append_new(json_object_get(j, "actor"),
                                         json_pack("{s:{s:s}}", "identifier",
                                                   "value", "1.2.246.10.1")),
                   0);
  assert_int_equal(fhir_schedule_map(j, f->org, f->ch, f->keys, &s, &iss), 0);
  json_decref(j);
  assert_string_equal(s.id, "234567890");
  assert_string_equal(s.unit, "ty");
  assert_string_equal(s.prof_group, "");
  privacy_pseudonym(f->keys, "professional", id, strlen(id), want);
  assert_string_equal(s.professional, want);
  assert_int_equal(fhir_schedules_put(f->tab, &s), 0);

  /* The Slot before and after its Schedule is known. */
  j = load_shared("fi-scheduling/Slot-123456789.json");
  {
    struct fhir_schedules *empty = fhir_schedules_new();
    assert_int_equal(fhir_slot_map(j, f->ch, f->keys, empty, 7, &ev, &iss),
                     ERR_MAPPING);
    assert_string_equal(iss.expression, "Slot.schedule");
    assert_string_equal(iss.code, "not-found");
    fhir_schedules_free(empty);
  }
  assert_int_equal(fhir_slot_map(j, f->ch, f->keys, f->tab, 7, &ev, &iss), 0);
  json_decref(j);
  assert_int_equal(ev.kind, EV_SLOT_OPENED);
  assert_string_equal(ev.unit, "ty");
  assert_string_equal(ev.channel, "fh");
  assert_string_equal(ev.source_key, "Slot/123456789");
  assert_string_equal(ev.attrs.professional, want);
  assert_int_equal(ev.occurred_at, 7);
  assert_int_equal(chrono_parse_iso("2020-01-01T10:00:00Z", 20, &t, NULL), 0);
  assert_int_equal(ev.attrs.slot_start, t);
  assert_int_equal(ev.attrs.slot_end, t + 30 * 60000);
  assert_int_equal(ev.attrs.flags, EVENT_F_BOOKABLE);
  assert_string_equal(ev.attrs.contact_channel, EVENT_CONTACT_IN_PERSON);
  {
    const char *sid = "fh|123456789";
    privacy_pseudonym(f->keys, "slot", sid, strlen(sid), want);
    assert_string_equal(ev.attrs.slot, want);
  }

  /* r4-core's Slot names Schedule/example, which is not known. */
  j = load_shared("r4-core/slot-example.json");
  assert_int_equal(fhir_slot_map(j, f->ch, f->keys, f->tab, 7, &ev, &iss),
                   ERR_MAPPING);
  assert_string_equal(iss.expression, "Slot.schedule");
  json_decref(j);
  /* Replacing a Schedule keeps one entry. */
  s2 = s;
  snprintf(s2.unit, sizeof s2.unit, "tx");
  assert_int_equal(fhir_schedules_put(f->tab, &s2), 0);
  assert_string_equal(fhir_schedules_find(f->tab, "234567890")->unit, "tx");
  assert_null(fhir_schedules_find(f->tab, "nope"));
}

static const char SCHED_A[] =
    "{\"resourceType\":\"Schedule\",\"id\":\"A\",\"serviceType\":[{"
    "\"coding\":[{\"code\":\"57\"},{\"code\":\"laakari\"}]}],\"actor\":[{"
    "\"reference\":\"Practitioner/A\"},{\"reference\":\"Location/X\"}]}";

/* Maps a Slot of Schedule A given as JSON; returns the code. */
static int slot(struct fx *f, const char *json, struct event *ev,
                struct fhir_issue *iss) {
  json_t *j = parse(json);
  int rc;
  memset(iss, 0, sizeof *iss);
  rc = fhir_slot_map(j, f->ch, f->keys, f->tab, 1, ev, iss);
  json_decref(j);
  return rc;
}

static void test_slot_rules(void **state) {
  struct fx *f = *state;
  struct fhir_issue iss;
  struct event ev;
  static const struct {
    const char *status;
    enum event_kind kind;
    uint32_t flags;
  } st[] = {{"free", EV_SLOT_OPENED, EVENT_F_BOOKABLE},
            {"busy", EV_SLOT_BOOKED, EVENT_F_BOOKABLE},
            {"busy-tentative", EV_SLOT_BOOKED, EVENT_F_BOOKABLE},
            {"busy-unavailable", EV_SLOT_OPENED, EVENT_F_HELD},
            {"entered-in-error", EV_SLOT_REMOVED, EVENT_F_BOOKABLE}};
  static const struct {
    const char *json, *expr, *code;
  } bad[] = {
      {"{\"resourceType\":\"Slot\",\"schedule\":{\"reference\":\"Schedule/"
       "A\"},\"status\":\"free\",\"start\":\"2025-03-03T10:00:00Z\","
       "\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.id", "required"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"status\":\"free\","
       "\"start\":\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.schedule", "required"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Location/X\"},\"status\":\"free\",\"start\":\"2025-03-03T10:00:00Z\","
       "\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.schedule", "value"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Schedule/A\"},\"status\":\"open\",\"start\":"
       "\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.status", "value"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Schedule/A\"},\"status\":\"free\",\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.start", "required"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Schedule/A\"},\"status\":\"free\",\"start\":\"2025-03-03\","
       "\"end\":\"2025-03-03T10:20:00Z\"}",
       "Slot.start", "value"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Schedule/A\"},\"status\":\"free\",\"start\":"
       "\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T09:20:00Z\"}",
       "Slot.end", "value"},
      {"{\"resourceType\":\"Slot\",\"id\":\"1\",\"schedule\":{\"reference\":"
       "\"Schedule/A\"},\"status\":\"free\",\"start\":"
       "\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T10:20:00Z\","
       "\"overbooked\":\"yes\"}",
       "Slot.overbooked", "value"},
      {"{\"resourceType\":\"Schedule\",\"id\":\"1\"}", "resourceType",
       "not-supported"},
  };
  char buf[1024];
  add_schedule(f, SCHED_A);
  for (size_t i = 0; i < ARRAY_LEN(st); i++) {
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Slot\",\"id\":\"s%zu\",\"schedule\":{"
             "\"reference\":\"Schedule/A\"},\"status\":\"%s\",\"start\":"
             "\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T10:20:00Z\","
             "\"meta\":{\"lastUpdated\":\"2025-03-01T00:00:00Z\"}}",
             i, st[i].status);
    assert_int_equal(slot(f, buf, &ev, &iss), 0);
    assert_int_equal(ev.kind, st[i].kind);
    assert_int_equal(ev.attrs.flags, st[i].flags);
    assert_string_equal(ev.unit, "tx");
    assert_string_equal(ev.attrs.prof_group, "laakari");
    assert_int_equal(ev.occurred_at, 1740787200000);
  }
  /* Urgent, remote, overbooked. */
  assert_int_equal(
      slot(f,
           "{\"resourceType\":\"Slot\",\"id\":\"u\",\"schedule\":{"
           "\"reference\":\"Schedule/A\"},\"status\":\"free\",\"start\":"
           "\"2025-03-03T10:00:00Z\",\"end\":\"2025-03-03T10:20:00Z\","
           "\"appointmentType\":{\"coding\":[{\"code\":\"urgent\"},{"
           "\"code\":\"PHONE\"}]},\"overbooked\":true}",
           &ev, &iss),
      0);
  assert_int_equal(ev.attrs.flags,
                   EVENT_F_URGENT | EVENT_F_REMOTE | EVENT_F_HELD);
  assert_string_equal(ev.attrs.contact_channel, EVENT_CONTACT_PHONE);
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(slot(f, bad[i].json, &ev, &iss), ERR_MAPPING);
    assert_string_equal(iss.expression, bad[i].expr);
    assert_string_equal(iss.code, bad[i].code);
  }
}

/* DOMAIN.md 1.4 as FHIR: Schedules of physicians A-E at station X, their
 * free slots at 12:00 Helsinki time, plus distractors (an urgent free slot
 * and a booked slot for A on day 0, a slot of C removed as entered in
 * error). */
static void test_worked_example(void **state) {
  struct fx *f = *state;
  static const struct {
    char prof;
    int day;
    const char *status;
    const char *type;
  } slots[] = {
      {'A', 3, "free", "ROUTINE"},  {'A', 4, "free", "ROUTINE"},
      {'A', 10, "free", "ROUTINE"}, {'A', 3, "free", "URGENT"},
      {'A', 3, "busy", "ROUTINE"},  {'B', 12, "free", "ROUTINE"},
      {'B', 13, "free", "ROUTINE"}, {'B', 13, "free", "ROUTINE"},
      {'C', 5, "free", "ROUTINE"},  {'C', 6, "free", "ROUTINE"},
      {'C', 20, "free", "ROUTINE"}, {'C', 24, "free", "ROUTINE"},
      {'D', 6, "free", "ROUTINE"},  {'D', 7, "free", "ROUTINE"},
      {'D', 17, "free", "ROUTINE"}, {'E', 4, "free", "ROUTINE"},
      {'E', 5, "free", "ROUTINE"},  {'C', 6, "entered-in-error", "ROUTINE"},
  };
  struct schedule *sch = schedule_new();
  struct t3_summary sum;
  struct error err;
  struct fhir_issue iss;
  char buf[1024];
  int64_t t0;
  error_clear(&err);
  for (char p = 'A'; p <= 'E'; p++) {
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Schedule\",\"id\":\"%c\",\"specialty\":[{"
             "\"coding\":[{\"code\":\"physician\"}]}],\"actor\":[{"
             "\"reference\":\"Practitioner/%c\"},{\"reference\":"
             "\"Location/X\"}]}",
             p, p);
    add_schedule(f, buf);
  }
  for (size_t i = 0; i < ARRAY_LEN(slots); i++) {
    struct event ev;
    int64_t start;
    char s[32], e[32];
    /* C's day-6 slot is sent twice: free, then entered in error. */
    size_t id = (slots[i].prof == 'C' && slots[i].day == 6) ? 99 : i;
    assert_int_equal(
        chrono_from_local(chrono_days_from_civil(2025, 3, slots[i].day), 12, 0,
                          0, &start),
        0);
    chrono_format_iso(start, s);
    chrono_format_iso(start + 20 * 60000, e);
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Slot\",\"id\":\"slot-%zu\",\"schedule\":{"
             "\"reference\":\"Schedule/%c\"},\"status\":\"%s\",\"start\":"
             "\"%s\",\"end\":\"%s\",\"appointmentType\":{\"coding\":[{"
             "\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0276\","
             "\"code\":\"%s\"}]}}",
             id, slots[i].prof, slots[i].status, s, e, slots[i].type);
    if (slot(f, buf, &ev, &iss) != 0)
      fail_msg("slot %zu: %s: %s", i, iss.expression, iss.diagnostics);
    if (schedule_apply(sch, &ev, &err) != 0)
      fail_msg("apply %zu: %s", i, err.msg);
  }
  assert_int_equal(schedule_professionals(sch), 5);
  assert_int_equal(
      t3_measure_time(chrono_days_from_civil(2025, 3, 3), 8, 0, &t0), 0);
  assert_int_equal(schedule_t3(sch, "tx", T3_PHYSICIAN, t0, NULL, &sum, &err),
                   0);
  assert_int_equal(sum.thl.n, 5);
  assert_int_equal(sum.censored, 1);
  assert_true(sum.thl.median == 14.0);
  assert_int_equal(sum.excl.n, 4);
  assert_true(sum.excl.median == 12.0);
  assert_int_equal(schedule_t3(sch, "ty", T3_PHYSICIAN, t0, NULL, &sum, &err),
                   0);
  assert_int_equal(sum.thl.n, 0);
  schedule_free(sch);
}

/* ---- Appointment and Encounter ------------------------------------------ */

/* The pseudonym of 'text' in 'domain'. */
static void pseudo_of(struct fx *f, const char *domain, const char *text,
                      char out[EVENT_PSEUDO_MAX]) {
  privacy_pseudonym(f->keys, domain, text, strlen(text), out);
}

static int64_t iso(const char *s) {
  int64_t ms = 0;
  assert_int_equal(chrono_parse_iso(s, strlen(s), &ms, NULL), 0);
  return ms;
}

static int32_t date_of(const char *s) {
  int32_t d = 0;
  assert_int_equal(chrono_parse_date(s, strlen(s), &d), 0);
  return d;
}

/* Maps 'json' as its type; returns the rc, the event count in *n. */
static int map(struct fx *f, const char *json, struct event *ev, size_t *n,
               struct fhir_issue *iss) {
  json_t *j = parse(json);
  int rc;
  memset(iss, 0, sizeof *iss);
  *n = 99;
  if (strcmp(fhir_resource_type(j), "Appointment") == 0)
    rc = fhir_appointment_map(j, f->org, f->ch, f->keys,
                              iso("2025-03-20T12:00:00Z"), ev, n, iss);
  else
    rc = fhir_encounter_map(j, f->org, f->ch, f->keys,
                            iso("2025-03-20T12:00:00Z"), ev, n, iss);
  json_decref(j);
  return rc;
}

static void refused(struct fx *f, const char *json, const char *code,
                    const char *expr, const char *diag) {
  struct event ev;
  struct fhir_issue iss;
  size_t n;
  assert_int_equal(map(f, json, &ev, &n, &iss), ERR_MAPPING);
  assert_int_equal(n, 99); /* untouched */
  assert_string_equal(iss.code, code);
  assert_string_equal(iss.expression, expr);
  if (strstr(iss.diagnostics, diag) == NULL)
    fail_msg("diagnostics '%s' do not say '%s'", iss.diagnostics, diag);
}

static const char APPT[] =
    "{\"resourceType\":\"Appointment\",\"id\":\"a1\",\"status\":\"%s\","
    "\"meta\":{\"lastUpdated\":\"2025-03-01T10:00:00+02:00\"},"
    "\"appointmentType\":{\"coding\":[{\"code\":\"PHONE\"}]},"
    "\"start\":\"2025-03-10T09:00:00+02:00\","
    "\"end\":\"2025-03-10T09:20:00+02:00\",\"slot\":[{\"reference\":"
    "\"Slot/s1\"}],\"participant\":["
    "{\"actor\":{\"identifier\":{\"system\":\"urn:oid:1.2.246.21\","
    "\"value\":\"131052-308T\"}},\"type\":[{\"coding\":[{\"code\":\"SBJ\"}]}]},"
    "{\"actor\":{\"reference\":\"Practitioner/p1\"},\"type\":[{\"coding\":"
    "[{\"code\":\"nurse\"}]}]},"
    "{\"actor\":{\"identifier\":{\"value\":\"urn:oid:1.2.246.10.1\"}}}]}";

static void test_appointment(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *status;
    enum event_kind kind;
  } cases[] = {
      {"booked", EV_APPOINTMENT_BOOKED},
      {"arrived", EV_APPOINTMENT_BOOKED},
      {"checked-in", EV_APPOINTMENT_BOOKED},
      {"fulfilled", EV_APPOINTMENT_BOOKED},
      {"cancelled", EV_APPOINTMENT_CANCELLED},
      {"entered-in-error", EV_APPOINTMENT_CANCELLED},
      {"noshow", EV_APPOINTMENT_NOSHOW},
      {"proposed", EV_NONE},
      {"pending", EV_NONE},
      {"waitlist", EV_NONE},
  };
  char json[2048], want[EVENT_PSEUDO_MAX];
  struct event ev;
  struct fhir_issue iss;
  size_t n;

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(json, sizeof json, APPT, cases[i].status);
    assert_int_equal(map(f, json, &ev, &n, &iss), 0);
    assert_int_equal(n, cases[i].kind == EV_NONE ? 0 : 1);
    if (n == 1)
      assert_int_equal(ev.kind, cases[i].kind);
  }
  snprintf(json, sizeof json, APPT, "booked");
  assert_int_equal(map(f, json, &ev, &n, &iss), 0);
  assert_string_equal(ev.channel, "fh");
  assert_string_equal(ev.source_key, "Appointment/a1");
  assert_string_equal(ev.unit, "ty"); /* urn:oid: prefix stripped */
  assert_true(ev.occurred_at == iso("2025-03-01T08:00:00Z"));
  assert_int_equal(ev.local_date, date_of("2025-03-01"));
  assert_true(ev.attrs.slot_start == iso("2025-03-10T07:00:00Z"));
  assert_true(ev.attrs.slot_end == iso("2025-03-10T07:20:00Z"));
  pseudo_of(f, "person", "131052-308T", want);
  assert_string_equal(ev.subject, want);
  pseudo_of(f, "professional", "fh|Practitioner/p1", want);
  assert_string_equal(ev.attrs.professional, want);
  pseudo_of(f, "appointment", "fh|a1", want);
  assert_string_equal(ev.attrs.appointment, want);
  pseudo_of(f, "slot", "fh|s1", want);
  assert_string_equal(ev.attrs.slot, want);
  assert_string_equal(ev.attrs.prof_group, "nurse");
  assert_string_equal(ev.attrs.contact_channel, "phone");
  assert_int_equal(ev.attrs.flags, EVENT_F_REMOTE);
  assert_int_equal(ev.attrs.sex, 'F');
  assert_int_equal(ev.attrs.age_band, 70); /* 72 on 2025-03-01 */
  assert_int_equal(ev.attrs.age_years, -1);
  assert_string_equal(ev.episode, "");

  /* Refusals name the element. */
  snprintf(json, sizeof json, APPT, "maybe");
  refused(f, json, "value", "Appointment.status", "'maybe'");
  refused(f,
          "{\"resourceType\":\"Appointment\",\"id\":\"a\",\"status\":"
          "\"booked\",\"participant\":[{\"actor\":{\"reference\":"
          "\"Location/X\"}}]}",
          "required", "Appointment.start", "Appointment.start missing");
  refused(f,
          "{\"resourceType\":\"Appointment\",\"id\":\"a\",\"status\":"
          "\"booked\",\"start\":\"2025-03-10T09:00:00Z\",\"end\":"
          "\"2025-03-10T08:00:00Z\",\"participant\":[{\"actor\":{"
          "\"reference\":\"Location/X\"}}]}",
          "value", "Appointment.end", "before");
  refused(f,
          "{\"resourceType\":\"Appointment\",\"id\":\"a\",\"status\":"
          "\"cancelled\",\"participant\":[{\"actor\":{\"reference\":"
          "\"Location/nowhere\"}}]}",
          "value", "Appointment.participant", "no Location or Organization");
  refused(f, "{\"resourceType\":\"Appointment\",\"status\":\"booked\"}",
          "required", "Appointment.id", "missing");
  /* Cancelled without times; an identifier as the id; a Location. */
  assert_int_equal(
      map(f,
          "{\"resourceType\":\"Appointment\",\"identifier\":[{\"value\":"
          "\"A-9\"}],\"status\":\"cancelled\",\"participant\":[{\"actor\":{"
          "\"reference\":\"Patient/x\"}},{\"actor\":{\"reference\":"
          "\"Location/X\"}}]}",
          &ev, &n, &iss),
      0);
  assert_int_equal(n, 1);
  assert_int_equal(ev.kind, EV_APPOINTMENT_CANCELLED);
  assert_string_equal(ev.unit, "tx");
  assert_true(ev.occurred_at == iso("2025-03-20T12:00:00Z")); /* received */
  pseudo_of(f, "appointment", "fh|A-9", want);
  assert_string_equal(ev.attrs.appointment, want);
  pseudo_of(f, "person", "fh|Patient/x", want);
  assert_string_equal(ev.subject, want);
  assert_int_equal(ev.attrs.flags, EVENT_F_UNVERIFIED_ID);
  assert_true(ev.attrs.slot_start == 0);
}

/* A valid henkilötunnus born on dd.mm.(20)yy, individual number zzz. */
static void hetu_2000s(int dd, int mm, int yy, int zzz, char out[12]) {
  snprintf(out, 12, "%02d%02d%02dA%03d%c", dd, mm, yy, zzz,
           hetu_checksum_char(dd, mm, yy, zzz));
}

static void test_encounter(void **state) {
  struct fx *f = *state;
  static const char FULL[] =
      "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":"
      "\"finished\",\"class\":{\"system\":\"http://terminology.hl7.org/"
      "CodeSystem/v3-ActCode\",\"code\":\"VR\"},\"priority\":{\"coding\":[{"
      "\"code\":\"UR\"}]},\"subject\":{\"identifier\":{\"system\":"
      "\"urn:oid:1.2.246.21\",\"value\":\"%s\"}},\"serviceProvider\":{"
      "\"identifier\":{\"system\":\"urn:ietf:rfc:3986\",\"value\":"
      "\"urn:oid:1.2.246.10.1\"}},\"period\":{\"start\":"
      "\"2025-03-10T09:00:00+02:00\"},\"participant\":[{\"type\":[{"
      "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
      "v3-ParticipationType\",\"code\":\"PPRF\"},{\"system\":\"urn:x\","
      "\"code\":\"physician\"}]}],\"individual\":{\"reference\":"
      "\"Practitioner/p1\"}}],\"appointment\":[{\"reference\":"
      "\"Appointment/a1\"}],\"extension\":["
      "{\"url\":\"https://tilannekuva.fi/fhir/StructureDefinition/"
      "needs-assessment\",\"valueDateTime\":\"2025-03-01T08:00:00+02:00\"},"
      "{\"url\":\"https://tilannekuva.fi/fhir/StructureDefinition/"
      "first-contact\",\"valueDateTime\":\"2025-02-28\"},"
      "{\"url\":\"https://tilannekuva.fi/fhir/StructureDefinition/"
      "contact-channel\",\"valueCode\":\"phone\"},"
      "{\"url\":\"https://tilannekuva.fi/fhir/StructureDefinition/"
      "care-guarantee-exclusion\",\"valueCode\":\"certificate\"},"
      "{\"url\":\"https://tilannekuva.fi/fhir/StructureDefinition/"
      "care-guarantee-exclusion\",\"valueCode\":\"promotion\"},"
      "{\"url\":\"https://example.org/other\",\"valueString\":\"x\"}]}";
  char json[4096], want[EVENT_PSEUDO_MAX], hetu[12];
  struct event ev;
  struct fhir_issue iss;
  size_t n;
  int64_t midnight;

  /* 23 on 2025-03-05: 22 on the assessment date, 23 at the visit. */
  hetu_2000s(5, 3, 2, 124, hetu);
  snprintf(json, sizeof json, FULL, hetu);
  assert_int_equal(map(f, json, &ev, &n, &iss), 0);
  assert_int_equal(n, 1);
  assert_int_equal(ev.kind, EV_VISIT_COMPLETED);
  assert_string_equal(ev.channel, "fh");
  assert_string_equal(ev.source_key, "Encounter/e1");
  assert_string_equal(ev.unit, "ty");
  assert_true(ev.occurred_at == iso("2025-03-10T07:00:00Z"));
  assert_int_equal(ev.local_date, date_of("2025-03-10"));
  pseudo_of(f, "person", hetu, want);
  assert_string_equal(ev.subject, want);
  pseudo_of(f, "episode", "fh|Encounter/e1", want);
  assert_string_equal(ev.episode, want);
  pseudo_of(f, "appointment", "fh|a1", want);
  assert_string_equal(ev.attrs.appointment, want);
  pseudo_of(f, "professional", "fh|Practitioner/p1", want);
  assert_string_equal(ev.attrs.professional, want);
  assert_string_equal(ev.attrs.prof_group, "physician");
  assert_string_equal(ev.attrs.contact_channel, "phone"); /* not VR */
  assert_string_equal(ev.attrs.patient_class, "VR");
  assert_int_equal(ev.attrs.flags, EVENT_F_URGENT | EVENT_F_REMOTE |
                                       EVENT_F_CERTIFICATE | EVENT_F_PROMOTION);
  assert_true(ev.attrs.assessed_at == iso("2025-03-01T06:00:00Z"));
  assert_int_equal(chrono_from_local(date_of("2025-02-28"), 0, 0, 0, &midnight),
                   0);
  assert_true(ev.attrs.contact_at == midnight);
  assert_true(ev.attrs.contact_at == iso("2025-02-27T22:00:00Z"));
  assert_int_equal(ev.attrs.age_years, 22);
  assert_int_equal(ev.attrs.age_band, 20);
  assert_int_equal(ev.attrs.sex, 'F'); /* 124 is even */

  /* Without the assessment, the age on the visit date. */
  {
    char *cut = strstr(json, "{\"url\":\"https://tilannekuva.fi/fhir/"
                             "StructureDefinition/needs-assessment\"");
    char *end = strchr(cut, '}');
    memmove(cut, end + 2, strlen(end + 2) + 1);
  }
  assert_int_equal(map(f, json, &ev, &n, &iss), 0);
  assert_true(ev.attrs.assessed_at == 0);
  assert_int_equal(ev.attrs.age_years, 23);

  /* Minimal: class AMB, a Location, a contained Patient with an invalid
   * code and a birth date, a contained PractitionerRole's code. */
  assert_int_equal(
      map(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e2\",\"status\":"
          "\"finished\",\"class\":{\"code\":\"AMB\"},\"contained\":[{"
          "\"resourceType\":\"Patient\",\"id\":\"p\",\"identifier\":[{"
          "\"system\":\"urn:x\",\"value\":\"local-1\"},{\"system\":"
          "\"urn:oid:1.2.246.21\",\"value\":\"010101-123X\"}],\"birthDate\":"
          "\"1990-06-15\",\"gender\":\"male\"},{\"resourceType\":"
          "\"PractitionerRole\",\"id\":\"r\",\"code\":[{\"coding\":[{"
          "\"code\":\"LK\"}]}]}],\"subject\":{\"reference\":\"#p\"},"
          "\"participant\":[{\"individual\":{\"reference\":\"#r\"}}],"
          "\"location\":[{\"location\":{\"reference\":\"Location/"
          "nowhere\"}},{\"location\":{\"reference\":\"Location/X\"}}],"
          "\"period\":{\"start\":\"2025-03-10T09:00:00Z\"}}",
          &ev, &n, &iss),
      0);
  assert_string_equal(ev.unit, "tx");
  pseudo_of(f, "person", "010101-123X", want);
  assert_string_equal(ev.subject, want);
  assert_int_equal(ev.attrs.flags, EVENT_F_UNVERIFIED_ID);
  assert_string_equal(ev.attrs.contact_channel, "in_person");
  assert_string_equal(ev.attrs.prof_group, "LK"); /* as sent */
  assert_string_equal(ev.attrs.professional, "");
  assert_string_equal(ev.attrs.appointment, "");
  assert_int_equal(ev.attrs.age_years, 34);
  assert_int_equal(ev.attrs.age_band, 30);
  assert_int_equal(ev.attrs.sex, 'M');
  assert_true(ev.attrs.assessed_at == 0 && ev.attrs.contact_at == 0);

  /* A plain Patient reference: unverified, age unknown; VR is video. */
  assert_int_equal(
      map(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e3\",\"status\":"
          "\"finished\",\"class\":{\"code\":\"VR\"},\"subject\":{"
          "\"reference\":\"Patient/x\"},\"serviceProvider\":{\"reference\":"
          "\"Organization/1.2.246.10.1\"},\"priority\":{\"coding\":[{"
          "\"code\":\"R\"}]},\"period\":{\"start\":\"2025-03-10T09:00:00Z\"}}",
          &ev, &n, &iss),
      0);
  assert_string_equal(ev.unit, "ty");
  pseudo_of(f, "person", "fh|Patient/x", want);
  assert_string_equal(ev.subject, want);
  assert_int_equal(ev.attrs.flags, EVENT_F_UNVERIFIED_ID | EVENT_F_REMOTE);
  assert_string_equal(ev.attrs.contact_channel, "video");
  assert_int_equal(ev.attrs.age_years, -1);
  assert_int_equal(ev.attrs.age_band, -1);

  /* Not finished: accepted, no event. */
  {
    static const char *const st[] = {"planned",          "arrived", "triaged",
                                     "in-progress",      "onleave", "cancelled",
                                     "entered-in-error", "unknown"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
      snprintf(json, sizeof json,
               "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
               "\"%s\"}",
               st[i]);
      assert_int_equal(map(f, json, &ev, &n, &iss), 0);
      assert_int_equal(n, 0);
    }
  }

  /* Refusals. */
  refused(f, "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"x\"}",
          "value", "Encounter.status", "'x'");
  refused(f, "{\"resourceType\":\"Encounter\",\"id\":\"e\"}", "required",
          "Encounter.status", "missing");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"serviceProvider\":{\"reference\":\"Location/X\"}}",
          "required", "Encounter.period.start", "visit time");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Organization/9\"}}",
          "value", "Encounter.serviceProvider", "no Organization or Location");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Location/X\"}}",
          "required", "Encounter.subject", "Encounter.subject missing");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Location/X\"},\"subject\":{"
          "\"reference\":\"Patient/x\"},\"extension\":[{\"url\":\"https://"
          "tilannekuva.fi/fhir/StructureDefinition/care-guarantee-exclusion\","
          "\"valueCode\":\"holiday\"}]}",
          "code-invalid", "Encounter.extension[0].valueCode", "'holiday'");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Location/X\"},\"subject\":{"
          "\"reference\":\"Patient/x\"},\"extension\":[{},{\"url\":\"https://"
          "tilannekuva.fi/fhir/StructureDefinition/needs-assessment\","
          "\"valueDateTime\":\"yesterday\"}]}",
          "value", "Encounter.extension[1].valueDateTime", "not a dateTime");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Location/X\"},\"subject\":{"
          "\"reference\":\"Patient/x\"},\"extension\":[{\"url\":\"https://"
          "tilannekuva.fi/fhir/StructureDefinition/contact-channel\","
          "\"valueCode\":\"pigeon\"}]}",
          "code-invalid", "Encounter.extension[0].valueCode", "'pigeon'");
  refused(f,
          "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":"
          "\"finished\",\"period\":{\"start\":\"2025-03-10T09:00:00Z\"},"
          "\"serviceProvider\":{\"reference\":\"Location/X\"},\"subject\":{"
          "\"reference\":\"#nobody\"}}",
          "not-found", "Encounter.subject", "no contained Patient");
}

static void test_reference_unit(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *json;
    const char *unit;
  } cases[] = {
      {"{\"reference\":\"Location/X\"}", "tx"},
      {"{\"reference\":\"Organization/1.2.246.10.1\"}", "ty"},
      {"{\"identifier\":{\"value\":\"1.2.246.10.1\"}}", "ty"},
      {"{\"identifier\":{\"system\":\"urn:ietf:rfc:3986\",\"value\":"
       "\"urn:oid:1.2.246.10.1\"}}",
       "ty"},
      {"{\"identifier\":{\"system\":\"urn:oid:1.2.246.10.1\",\"value\":"
       "\"local\"}}",
       "ty"},
      {"{\"identifier\":{\"system\":\"urn:oid:1.2.246.537.6.202.2008\","
       "\"value\":\"urn:oid:1.2.246.10.1\"}}",
       "ty"},
      {"{\"reference\":\"Organization/1.2.246.10.2\"}", NULL},
      {"{\"display\":\"somewhere\"}", NULL},
      {"\"Location/X\"", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
    const struct org_unit *u = fhir_reference_unit(f->org, f->ch, j);
    assert_non_null(j);
    if (cases[i].unit == NULL)
      assert_null(u);
    else {
      assert_non_null(u);
      assert_string_equal(u->id, cases[i].unit);
    }
    json_decref(j);
  }
}

static void test_conditional(void **state) {
  struct fhir_cond c;
  struct fhir_issue iss;
  struct fhir_idents *t = fhir_idents_new();
  char id[FHIR_ID_MAX] = "unset";
  json_t *a, *b, *d;
  (void)state;

  memset(&iss, 0, sizeof iss);
  assert_int_equal(
      fhir_cond_parse("identifier=urn:x%7Cv-1", "If-None-Exist", &c, &iss), 0);
  assert_string_equal(c.system, "urn:x");
  assert_string_equal(c.value, "v-1");
  assert_false(c.any_system);
  assert_int_equal(fhir_cond_parse("identifier=v-1", "X", &c, &iss), 0);
  assert_true(c.any_system);
  assert_string_equal(c.value, "v-1");
  assert_int_equal(fhir_cond_parse("?identifier=|v+2", "X", &c, &iss), 0);
  assert_false(c.any_system);
  assert_string_equal(c.system, "");
  assert_string_equal(c.value, "v 2");
  assert_int_equal(fhir_cond_parse("name=x", "If-None-Exist", &c, &iss),
                   ERR_UNSUPPORTED);
  assert_string_equal(iss.code, "not-supported");
  assert_string_equal(iss.expression, "If-None-Exist");
  assert_int_equal(fhir_cond_parse("identifier=a&name=b", "X", &c, &iss),
                   ERR_UNSUPPORTED);
  assert_int_equal(fhir_cond_parse("identifier=", "X", &c, &iss), ERR_PARSE);
  assert_string_equal(iss.code, "required");
  assert_int_equal(fhir_cond_parse("identifier=s|", "X", &c, &iss), ERR_PARSE);
  assert_int_equal(fhir_cond_parse("identifier=%zz", "X", &c, &iss), ERR_PARSE);
  assert_int_equal(fhir_cond_parse("identifier=%00", "X", &c, &iss), ERR_PARSE);

  a = parse("{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"identifier\":["
            "{\"system\":\"urn:x\",\"value\":\"v-1\"},{\"value\":\"w\"}]}");
  b = parse("{\"resourceType\":\"Encounter\",\"identifier\":[{\"system\":"
            "\"urn:y\",\"value\":\"v-1\"}]}");
  d = parse("{\"resourceType\":\"Slot\",\"id\":\"s\"}");
  assert_int_equal(fhir_idents_add(t, "fh", a), 0);
  assert_int_equal(fhir_idents_add(t, "fh", a), 0); /* an update: same id */
  assert_int_equal(fhir_idents_add(t, "fh", d), 0); /* no identifier */
  assert_int_equal(fhir_cond_parse("identifier=urn:x|v-1", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 1);
  assert_string_equal(id, "e1");
  assert_int_equal(fhir_idents_find(t, "other", "Encounter", &c, id), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Appointment", &c, id), 0);
  assert_int_equal(fhir_cond_parse("identifier=v-1", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 1);
  assert_int_equal(fhir_cond_parse("identifier=|w", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 1);
  assert_int_equal(fhir_cond_parse("identifier=urn:x|w", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 0);
  /* b (id from its identifier) shares the value under another system:
   * exact searches still find one each, "any system" finds two. */
  assert_int_equal(fhir_idents_add(t, "fh", b), 0);
  assert_int_equal(fhir_cond_parse("identifier=urn:y|v-1", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 1);
  assert_string_equal(id, "v-1");
  assert_int_equal(fhir_cond_parse("identifier=v-1", "X", &c, &iss), 0);
  strcpy(id, "kept");
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), ERR_EXISTS);
  assert_string_equal(id, "kept");
  /* Growth: many resources stay findable. */
  for (int i = 0; i < 2000; i++) {
    char buf[160];
    json_t *r;
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Slot\",\"id\":\"s%d\",\"identifier\":[{"
             "\"value\":\"n%d\"}]}",
             i, i);
    r = parse(buf);
    assert_int_equal(fhir_idents_add(t, "fh", r), 0);
    json_decref(r);
  }
  assert_int_equal(fhir_cond_parse("identifier=n1234", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Slot", &c, id), 1);
  assert_string_equal(id, "s1234");
  assert_int_equal(fhir_cond_parse("identifier=urn:x|v-1", "X", &c, &iss), 0);
  assert_int_equal(fhir_idents_find(t, "fh", "Encounter", &c, id), 1);
  assert_string_equal(id, "e1");
  json_decref(a);
  json_decref(b);
  json_decref(d);
  fhir_idents_free(t);
  fhir_idents_free(NULL);
}

/* The fi-base and fi-scheduling examples of the new types map or are
 * refused as documented. */
static void test_shared_visits(void **state) {
  struct fx *f = *state;
  struct event ev;
  struct fhir_issue iss;
  size_t n = 99;
  json_t *j = load_shared("fi-base/Encounter-id-for-visit.json");
  /* Its service provider is not mapped in this organisation. */
  memset(&iss, 0, sizeof iss);
  assert_int_equal(fhir_encounter_map(j, f->org, f->ch, f->keys,
                                      iso("2025-03-20T12:00:00Z"), &ev, &n,
                                      &iss),
                   ERR_MAPPING);
  assert_string_equal(iss.expression, "Encounter.serviceProvider");
  json_object_set_new(json_object_get(j, "serviceProvider"), "reference",
                      json_string("Organization/1.2.246.10.1"));
  assert_int_equal(fhir_encounter_map(j, f->org, f->ch, f->keys,
                                      iso("2025-03-20T12:00:00Z"), &ev, &n,
                                      &iss),
                   0);
  assert_int_equal(n, 1);
  assert_string_equal(ev.unit, "ty");
  assert_true(ev.occurred_at == iso("2022-02-28T13:03:00Z"));
  assert_string_equal(ev.attrs.contact_channel, "in_person");
  assert_string_equal(ev.attrs.patient_class, "AMB");
  json_decref(j);
  j = load_shared("fi-scheduling/appointment.json");
  n = 99;
  assert_int_equal(fhir_appointment_map(j, f->org, f->ch, f->keys,
                                        iso("2025-03-20T12:00:00Z"), &ev, &n,
                                        &iss),
                   ERR_MAPPING);
  assert_string_equal(iss.expression, "Appointment.participant");
  assert_int_equal(n, 99);
  json_decref(j);
  j = load_shared("fi-base/Encounter-id-for-ward-encounter.json");
  assert_int_equal(fhir_encounter_map(j, f->org, f->ch, f->keys,
                                      iso("2025-03-20T12:00:00Z"), &ev, &n,
                                      &iss),
                   0);
  assert_int_equal(n, 0); /* in progress */
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test_setup_teardown(test_shared_examples, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slot_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_worked_example, setup, teardown),
      cmocka_unit_test_setup_teardown(test_appointment, setup, teardown),
      cmocka_unit_test_setup_teardown(test_encounter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reference_unit, setup, teardown),
      cmocka_unit_test(test_conditional),
      cmocka_unit_test_setup_teardown(test_shared_visits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
