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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test_setup_teardown(test_shared_examples, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slot_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_worked_example, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
