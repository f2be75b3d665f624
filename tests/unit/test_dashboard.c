/* test_dashboard.c -- unit tests for dashboard.c.
 *
 * - visits fed as visit.completed events: waiting-time median (from the
 *   needs assessment and from the first contact), shares within 7 and 14
 *   days, care-guarantee compliance, all hand-computed; the 23rd birthday
 *   on the HTA date on both sides of the 2025-01-01 rule change, urgent and
 *   care-plan visits, an unknown age;
 * - a corrected visit counted once, a cancelled one (appointment.cancelled
 *   and episode.discharge_cancelled) removed: the cube equals one fed only
 *   what survives;
 * - T3 measured daily at 08:00 from slot events: DOMAIN.md §1.4 (T3 = 14,
 *   n 5, 1 censored; 12 without censored values), the day before, no
 *   measurement before the first slot event, a measurement time of 10:00;
 * - a rebuild (the same events into a fresh dashboard) equals the
 *   incremental cube;
 * - the JSON of the series and of the health-station view (shapes, values,
 *   children and drill, complementary suppression among siblings and in the
 *   distribution), the 404/400 cases, and the CSV/XLSX export;
 * - memory: 200,000 synthetic visits with corrections (some changing how
 *   the visit is keyed) and cancellations by episode and by appointment:
 *   the cube equals one fed only the surviving visits as last sent, and
 *   dashboard_memory grows by under 100 bytes per remembered visit;
 * - keys sharing long prefixes, and one id as appointment, episode and
 *   source key and on two channels: all distinct visits, each corrected
 *   and cancelled on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "dashboard.h"
#include "mem.h"

static const char ORG_JSON[] =
    "{\"id\": \"hva\", \"name\": {\"fi\": \"Testi\"}, \"units\": ["
    "{\"id\": \"hva\", \"type\": \"county\", \"name\": {\"fi\": \"Alue\", "
    "\"sv\": \"Område\", \"en\": \"County\"}},"
    "{\"id\": \"a1\", \"type\": \"area\", \"parent\": \"hva\", \"name\": "
    "{\"fi\": \"A1\"}},"
    "{\"id\": \"s1\", \"type\": \"health_station\", \"parent\": \"a1\", "
    "\"name\": {\"fi\": \"Asema 1\"}},"
    "{\"id\": \"s2\", \"type\": \"health_station\", \"parent\": \"a1\", "
    "\"name\": {\"fi\": \"Asema 2\"}},"
    "{\"id\": \"s3\", \"type\": \"health_station\", \"parent\": \"a1\", "
    "\"name\": {\"fi\": \"Asema 3\"}},"
    "{\"id\": \"a2\", \"type\": \"area\", \"parent\": \"hva\", \"name\": "
    "{\"fi\": \"A2\"}},"
    "{\"id\": \"s4\", \"type\": \"health_station\", \"parent\": \"a2\", "
    "\"name\": {\"fi\": \"Asema 4\"}},"
    "{\"id\": \"a3\", \"type\": \"area\", \"parent\": \"hva\", \"name\": "
    "{\"fi\": \"A3\"}},"
    "{\"id\": \"w3\", \"type\": \"ward\", \"parent\": \"a3\", \"beds\": 4, "
    "\"name\": {\"fi\": \"Osasto\"}}"
    "]}";

static struct org *org;

static int setup(void **state) {
  struct error err;
  (void)state;
  if (org_load_json(ORG_JSON, strlen(ORG_JSON), &org, &err) != 0) {
    fprintf(stderr, "org: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  org_free(org);
  return 0;
}

static int32_t D(const char *s) {
  int32_t d = 0;
  if (chrono_parse_date(s, strlen(s), &d) != 0)
    fail_msg("bad fixture date '%s'", s);
  return d;
}

static int64_t T(int32_t day, int h, int m) {
  int64_t ms = 0;
  assert_int_equal(chrono_from_local(day, h, m, 0, &ms), 0);
  return ms;
}

static struct dashboard *fresh(void) {
  struct dashboard *d = NULL;
  struct error err;
  assert_int_equal(dashboard_new(org, NULL, &d, &err), 0);
  return d;
}

/* ---------------------------------------------------------- events */

static struct event slot_ev(enum event_kind k, const char *prof,
                            const char *slot, const char *unit, int64_t start,
                            uint32_t flags, int64_t occurred) {
  struct event ev;
  event_init(&ev);
  ev.kind = k;
  ev.occurred_at = occurred;
  ev.local_date = chrono_local_date(occurred);
  strcpy(ev.channel, "siu");
  snprintf(ev.source_key, sizeof ev.source_key, "%s-%s-%d", prof, slot, (int)k);
  strcpy(ev.unit, unit);
  strcpy(ev.attrs.professional, prof);
  strcpy(ev.attrs.prof_group, "physician");
  strcpy(ev.attrs.slot, slot);
  ev.attrs.slot_start = start;
  ev.attrs.flags = flags;
  return ev;
}

struct visit {
  const char *unit, *group, *appointment, *episode;
  const char *hta; /* YYYY-MM-DD or NULL */
  int wait;        /* days from the HTA (or from 2025-02-03) */
  int age;
  uint32_t flags;
};

static struct event visit_ev(const struct visit *v) {
  static int serial;
  struct event ev;
  int32_t hta = v->hta ? D(v->hta) : D("2025-02-03");
  event_init(&ev);
  ev.kind = EV_VISIT_COMPLETED;
  ev.occurred_at = T(hta + v->wait, 12, 0);
  ev.local_date = hta + v->wait;
  strcpy(ev.channel, "siu");
  snprintf(ev.source_key, sizeof ev.source_key, "msg-%d", ++serial);
  strcpy(ev.unit, v->unit);
  strcpy(ev.subject, "p");
  if (v->episode)
    strcpy(ev.episode, v->episode);
  if (v->appointment)
    strcpy(ev.attrs.appointment, v->appointment);
  strcpy(ev.attrs.prof_group, v->group ? v->group : "physician");
  if (v->hta) {
    ev.attrs.assessed_at = T(hta, 9, 0);
    ev.attrs.contact_at = T(hta - 1, 8, 30);
  }
  ev.attrs.age_years = (int16_t)v->age;
  ev.attrs.flags = v->flags;
  return ev;
}

/* The log: every event applied, for the rebuild. */
struct log {
  struct event ev[256];
  size_t n;
};

static void put(struct dashboard *d, struct log *lg, const struct event *ev) {
  struct error err;
  error_clear(&err);
  if (dashboard_apply(d, ev, &err) != 0)
    fail_msg("apply %s: %s", event_kind_name(ev->kind), err.msg);
  if (lg != NULL) {
    assert_true(lg->n < ARRAY_LEN(lg->ev));
    lg->ev[lg->n++] = *ev;
  }
}

static void put_visit(struct dashboard *d, struct log *lg,
                      const struct visit *v) {
  struct event ev = visit_ev(v);
  put(d, lg, &ev);
}

static struct indicator_point value(const struct dashboard *d, const char *id,
                                    const char *unit, const char *from,
                                    const char *to) {
  const struct indicator_def *def = indicator_find(dashboard_catalogue(d), id);
  struct indicator_point p;
  struct error err;
  if (def == NULL)
    fail_msg("no indicator '%s'", id);
  assert_int_equal(indicator_value(dashboard_cube(d), def,
                                   org_unit_find(org, unit)->index, D(from),
                                   D(to), &p, &err),
                   0);
  return p;
}

static void near(double got, double want) {
  if (fabs(got - want) > 1e-9)
    fail_msg("got %.12g, want %.12g", got, want);
}

/* The visits of the value tests (station s1 and s2; s3 and s4 have the
 * counts over 90 days). */
static void feed_visits(struct dashboard *d, struct log *lg) {
  static const int waits[] = {0, 3, 7, 10, 14, 20, 100};
  char ap[32];
  for (size_t i = 0; i < ARRAY_LEN(waits); i++) {
    struct visit v = {"s1",         "physician", ap, NULL,
                      "2025-02-03", waits[i],    40, 0};
    snprintf(ap, sizeof ap, "s1-%zu", i);
    put_visit(d, lg, &v);
  }
  {
    /* the 23rd birthday on the HTA date, both sides, and the rule change */
    const struct visit vs[] = {
        {"s2", "physician", "a", NULL, "2025-01-10", 20, 22, 0},  /* missed */
        {"s2", "physician", "b", NULL, "2025-01-10", 20, 23, 0},  /* met */
        {"s2", "physician", "c", NULL, "2024-12-31", 20, 30, 0},  /* missed */
        {"s2", "physician", "d", NULL, "2025-01-10", 10, 40, 0},  /* met */
        {"s2", "physician", "e", NULL, "2024-12-20", 10, 22, 0},  /* met */
        {"s2", "physician", "d2", NULL, "2025-01-10", 10, 40, 0}, /* met */
        {"s2", "physician", "d3", NULL, "2025-01-10", 10, 40, 0}, /* met */
        {"s2", "physician", "f", NULL, "2025-01-10", 5, -1, 0},   /* no rule */
        {"s2", "physician", "g", NULL, "2025-01-10", 1, 40, EVENT_F_URGENT},
        {"s2", "physician", "h", NULL, "2025-01-10", 50, 40, EVENT_F_CARE_PLAN},
    };
    for (size_t i = 0; i < ARRAY_LEN(vs); i++)
      put_visit(d, lg, &vs[i]);
  }
  /* counts over 90 days: s1 has 1, s3 6, s4 7 (in February) */
  for (int i = 0; i < 13; i++) {
    struct visit v = {i < 6 ? "s3" : "s4",
                      "l\xc3\xa4\xc3\xa4k\xc3\xa4ri",
                      ap,
                      NULL,
                      "2024-11-01",
                      95 + i,
                      50,
                      0};
    snprintf(ap, sizeof ap, "o-%d", i);
    put_visit(d, lg, &v);
  }
}

static void test_visits(void **state) {
  struct dashboard *d = fresh();
  struct indicator_point p;
  (void)state;
  feed_visits(d, NULL);
  assert_int_equal(dashboard_visit_count(d), 7 + 10 + 13);
  /* s1: waits {0,3,7,10,14,20,100} */
  p = value(d, "wait_physician_median", "s1", "2025-02-01", "2025-05-31");
  assert_true(p.has_value);
  near(p.value, 10);
  assert_int_equal(p.n, 7);
  p = value(d, "wait_contact_physician_median", "s1", "2025-02-01",
            "2025-05-31");
  near(p.value, 11); /* contacts a day before the HTA */
  p = value(d, "wait_physician_within_7", "s1", "2025-02-01", "2025-05-31");
  assert_true(p.suppressed); /* 3 within 7 days: a small numerator */
  p = value(d, "wait_physician_within_14", "s1", "2025-02-01", "2025-05-31");
  near(p.value, 500.0 / 7);
  p = value(d, "wait_physician_over_90", "s1", "2025-02-01", "2025-05-31");
  assert_true(p.suppressed); /* 1 visit: a small count */
  assert_false(p.has_value);
  /* 100 days > 3 months from 2025-02-03 (2025-05-03): missed, 6 of 7 */
  p = value(d, "care_guarantee_primary_care", "s1", "2025-02-01", "2025-05-31");
  near(p.value, 600.0 / 7);
  assert_int_equal(p.n, 7);
  assert_string_equal(p.rule_version, "2025-01-01");
  assert_false(p.rule_changed);
  /* s2: a (22 on the HTA date, 14 vrk) missed, b (23 that day, 3 months)
   * met, c (2024 rule, 14 vrk) missed, d, d2, d3 and e met, f no rule
   * (unknown age), g urgent, h care plan: 5 of 7 */
  p = value(d, "care_guarantee_primary_care", "s2", "2024-12-01", "2025-02-28");
  near(p.value, 500.0 / 7);
  assert_int_equal(p.n, 7);
  assert_string_equal(p.rule_version, "2025-01-01");
  assert_true(p.rule_changed);
  /* waits of s2 without the urgent visit: {20,20,20,10,10,10,10,5}; h
   * (50 days) was on 2025-03-01 */
  p = value(d, "wait_physician_median", "s2", "2024-12-01", "2025-02-28");
  near(p.value, 10);
  assert_int_equal(p.n, 8);
  /* January alone: a, b, d, d2, d3 and c (2024-12-31 + 20) assessed, 4 of 6
   * met, but the numerator 4 is small */
  p = value(d, "care_guarantee_primary_care", "s2", "2025-01-01", "2025-01-31");
  assert_true(p.suppressed);
  /* December alone: e only (10 days), suppressed (n 1 < 5) */
  p = value(d, "wait_physician_median", "s2", "2024-12-01", "2024-12-31");
  assert_true(p.suppressed);
  /* the area a1 combines s1, s2 and s3 exactly */
  p = value(d, "wait_physician_median", "a1", "2024-11-01", "2025-05-31");
  assert_int_equal(p.n, 7 + 9 + 6);
  /* {0,3,7,10,14,20,100} + {5,10,10,10,10,20,20,20,50} + {95..100}: the
   * 11th and 12th of 22 sorted are 20 and 20 */
  near(p.value, 20);
  p = value(d, "wait_physician_over_90", "hva", "2024-11-01", "2025-05-31");
  near(p.value, 14);
  dashboard_free(d);
  /* nurses (and other professionals, "psykologi"), waits 0..9: 8 of 10
   * within 7 days, all within 14, median 4.5 */
  d = fresh();
  for (int i = 0; i < 10; i++) {
    char ap[16];
    struct visit v = {"s4",         i % 2 ? "nurse" : "psykologi",
                      ap,           NULL,
                      "2025-03-03", i,
                      40,           EVENT_F_REMOTE};
    snprintf(ap, sizeof ap, "n%d", i);
    put_visit(d, NULL, &v);
  }
  p = value(d, "wait_nurse_within_7", "a2", "2025-03-01", "2025-03-31");
  near(p.value, 80);
  assert_int_equal(p.n, 10);
  p = value(d, "wait_nurse_within_14", "a2", "2025-03-01", "2025-03-31");
  near(p.value, 100);
  p = value(d, "wait_nurse_median", "hva", "2025-03-01", "2025-03-31");
  near(p.value, 4.5);
  p = value(d, "wait_physician_median", "hva", "2025-03-01", "2025-03-31");
  assert_false(p.has_value);
  dashboard_free(d);
}

static void test_corrections(void **state) {
  struct dashboard *x = fresh(), *y = fresh(), *z = fresh();
  struct visit v1 = {"s1", "nurse", "ap1", NULL, "2025-02-03", 50, 40, 0};
  struct visit v2 = {"s1", "nurse", "ap1", NULL, "2025-02-03", 5, 40, 0};
  struct visit v3 = {"s1", "physician", NULL, "ep1", "2025-02-03", 9, 40, 0};
  struct event ev;
  struct error err;
  (void)state;
  /* a correction replaces: x got v1 then v2, y only v2 */
  put_visit(x, NULL, &v1);
  put_visit(x, NULL, &v2);
  put_visit(x, NULL, &v2); /* sent again: still once */
  put_visit(y, NULL, &v2);
  assert_true(indicator_cube_equal(dashboard_cube(x), dashboard_cube(y)));
  assert_int_equal(dashboard_visit_count(x), 1);
  /* the episode visit, then its discharge cancelled (A13) */
  put_visit(x, NULL, &v3);
  assert_false(indicator_cube_equal(dashboard_cube(x), dashboard_cube(y)));
  event_init(&ev);
  ev.kind = EV_DISCHARGE_CANCELLED;
  ev.occurred_at = T(D("2025-02-12"), 13, 0);
  strcpy(ev.channel, "siu");
  strcpy(ev.episode, "ep1");
  assert_int_equal(dashboard_apply(x, &ev, &err), 0);
  assert_true(indicator_cube_equal(dashboard_cube(x), dashboard_cube(y)));
  /* the appointment cancelled: nothing left */
  event_init(&ev);
  ev.kind = EV_APPOINTMENT_CANCELLED;
  ev.occurred_at = T(D("2025-02-12"), 14, 0);
  strcpy(ev.channel, "siu");
  strcpy(ev.attrs.appointment, "ap1");
  assert_int_equal(dashboard_apply(x, &ev, &err), 0);
  assert_true(indicator_cube_equal(dashboard_cube(x), dashboard_cube(z)));
  assert_int_equal(dashboard_visit_count(x), 0);
  /* the same appointment on another channel is another visit */
  put_visit(x, NULL, &v2);
  strcpy(ev.channel, "other");
  assert_int_equal(dashboard_apply(x, &ev, &err), 0);
  assert_int_equal(dashboard_visit_count(x), 1);
  /* a visit of an unknown unit is refused and not counted */
  {
    struct visit bad = {"nope", "nurse", "ap9", NULL, "2025-02-03", 5, 40, 0};
    ev = visit_ev(&bad);
    assert_int_equal(dashboard_apply(x, &ev, &err), ERR_INVAL);
    assert_int_equal(dashboard_visit_count(x), 1);
  }
  dashboard_free(x);
  dashboard_free(y);
  dashboard_free(z);
}

/* ---------------------------------------------------------------- T3 */

/* DOMAIN.md §1.4: physicians A-E of station s1, as slot events sent on
 * Saturday 2025-03-01 at 10:00. */
static void feed_slots(struct dashboard *d, struct log *lg) {
  static const struct {
    const char *prof;
    int day, hour;
    enum event_kind k;
    uint32_t flags;
  } slots[] = {
      {"A", 3, 14, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"A", 4, 10, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"A", 10, 10, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"A", 3, 9, EV_SLOT_BOOKED, EVENT_F_BOOKABLE},
      {"A", 3, 15, EV_SLOT_OPENED, EVENT_F_BOOKABLE | EVENT_F_URGENT},
      {"B", 12, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"B", 13, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"B", 13, 10, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"C", 5, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"C", 20, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"C", 24, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"D", 6, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"D", 7, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"D", 17, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"E", 4, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"E", 5, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE},
      {"E", 6, 9, EV_SLOT_OPENED, EVENT_F_BOOKABLE | EVENT_F_URGENT},
  };
  int64_t sent = T(D("2025-03-01"), 10, 0);
  for (size_t i = 0; i < ARRAY_LEN(slots); i++) {
    char id[16];
    struct event ev;
    snprintf(id, sizeof id, "slot%zu", i);
    ev = slot_ev(slots[i].k, slots[i].prof, id, "s1",
                 T(D("2025-03-01") + slots[i].day - 1, slots[i].hour, 0),
                 slots[i].flags, sent + (int64_t)i * 1000);
    put(d, lg, &ev);
  }
}

static void test_t3_daily(void **state) {
  struct dashboard *d = fresh();
  struct indicator_point p;
  struct error err;
  (void)state;
  assert_int_equal(dashboard_next_measurement(d), INT32_MIN);
  /* a tick before any slot event measures nothing */
  assert_int_equal(dashboard_tick(d, T(D("2025-02-01"), 9, 0), &err), 0);
  assert_int_equal(dashboard_next_measurement(d), INT32_MIN);
  feed_slots(d, NULL);
  /* 03-01 08:00 was before the first slot event: never measured */
  assert_int_equal(dashboard_next_measurement(d), D("2025-03-02"));
  assert_int_equal(dashboard_tick(d, T(D("2025-03-03"), 8, 0), &err), 0);
  /* the 03-03 measurement is not taken at its instant, only after it */
  assert_int_equal(dashboard_next_measurement(d), D("2025-03-03"));
  assert_int_equal(dashboard_tick(d, T(D("2025-03-03"), 9, 0), &err), 0);
  assert_int_equal(dashboard_next_measurement(d), D("2025-03-04"));
  p = value(d, "t3_physician", "s1", "2025-03-01", "2025-03-01");
  assert_false(p.has_value);
  assert_int_equal(p.n, 0);
  /* §1.4: {7,10,14,21,182} */
  p = value(d, "t3_physician", "s1", "2025-03-03", "2025-03-03");
  near(p.value, 14);
  assert_int_equal(p.n, 5);
  p = value(d, "t3_physician_censored", "s1", "2025-03-03", "2025-03-03");
  near(p.value, 1);
  p = value(d, "t3_physician_excl_censored", "s1", "2025-03-03", "2025-03-03");
  near(p.value, 12);
  assert_int_equal(p.n, 4);
  /* the day before: {8,11,15,22,182} -> 15; without censored 13 */
  p = value(d, "t3_physician", "s1", "2025-03-02", "2025-03-02");
  near(p.value, 15);
  p = value(d, "t3_physician_excl_censored", "s1", "2025-03-02", "2025-03-02");
  near(p.value, 13);
  /* both days: ten values, the middle two 14 and 15 */
  p = value(d, "t3_physician", "hva", "2025-03-02", "2025-03-03");
  near(p.value, 14.5);
  assert_int_equal(p.n, 10);
  /* ticking again measures nothing twice */
  assert_int_equal(dashboard_tick(d, T(D("2025-03-03"), 23, 0), &err), 0);
  p = value(d, "t3_physician", "s1", "2025-03-03", "2025-03-03");
  assert_int_equal(p.n, 5);
  /* nurses were not measured */
  p = value(d, "t3_nurse", "s1", "2025-03-03", "2025-03-03");
  assert_false(p.has_value);
  /* the books still answer "now" queries */
  {
    struct t3_summary s;
    assert_int_equal(schedule_t3(dashboard_schedule(d), "s1", T3_PHYSICIAN,
                                 T(D("2025-03-03"), 8, 0), NULL, &s, &err),
                     0);
    assert_int_equal(s.n, 5);
    near(s.thl.median, 14);
  }
  dashboard_free(d);
}

static void test_t3_options(void **state) {
  struct dashboard_options o;
  struct dashboard *d = NULL;
  struct indicator_point p;
  struct error err;
  (void)state;
  dashboard_options_default(&o);
  assert_int_equal(o.measure_minute, 480);
  assert_int_equal(o.cap_days, 182);
  o.measure_minute = 25 * 60;
  assert_int_equal(dashboard_new(org, &o, &d, &err), ERR_INVAL);
  assert_null(d);
  /* measured at 15:00 with a cap of 60: A's 03-03 14:00 slot has passed */
  o.measure_minute = 15 * 60;
  o.cap_days = 60;
  assert_int_equal(dashboard_new(org, &o, &d, &err), 0);
  feed_slots(d, NULL);
  assert_int_equal(dashboard_tick(d, T(D("2025-03-03"), 15, 1), &err), 0);
  /* 03-01 15:00 was after the slot events: measured; 03-03 {8,10,14,21,60}
   * -> 14 (A: 03-04, 03-10 and no third: censored at 60) */
  p = value(d, "t3_physician", "s1", "2025-03-03", "2025-03-03");
  near(p.value, 21);
  p = value(d, "t3_physician_censored", "s1", "2025-03-03", "2025-03-03");
  near(p.value, 2);
  p = value(d, "t3_physician", "s1", "2025-03-01", "2025-03-01");
  assert_true(p.has_value);
  dashboard_free(d);
}

/* ----------------------------------------------------------- rebuild */

static void test_rebuild(void **state) {
  struct dashboard *inc = fresh(), *re = fresh();
  struct log *lg = calloc(1, sizeof *lg);
  struct visit again = {"s1",         "physician", "s1-2", NULL,
                        "2025-02-03", 8,           40,     0};
  struct event ev;
  struct error err;
  (void)state;
  assert_non_null(lg);
  feed_slots(inc, lg);
  assert_int_equal(dashboard_tick(inc, T(D("2025-03-03"), 9, 0), &err), 0);
  feed_visits(inc, lg);
  put_visit(inc, lg, &again); /* a correction */
  event_init(&ev);
  ev.kind = EV_APPOINTMENT_CANCELLED;
  ev.occurred_at = T(D("2025-03-20"), 12, 0);
  strcpy(ev.channel, "siu");
  strcpy(ev.attrs.appointment, "o-3");
  put(inc, lg, &ev); /* a cancellation; measures 03-04 .. 03-20 too */
  assert_int_equal(dashboard_tick(inc, T(D("2025-04-01"), 12, 0), &err), 0);
  /* the rebuild: the same events in order, then the same tick */
  for (size_t i = 0; i < lg->n; i++)
    put(re, NULL, &lg->ev[i]);
  assert_int_equal(dashboard_tick(re, T(D("2025-04-01"), 12, 0), &err), 0);
  assert_true(indicator_cube_equal(dashboard_cube(inc), dashboard_cube(re)));
  assert_int_equal(dashboard_visit_count(inc), dashboard_visit_count(re));
  /* the 100-day visit (2025-05-14 12:00) measured every day up to it */
  assert_int_equal(dashboard_next_measurement(re), D("2025-05-15"));
  assert_int_equal(dashboard_next_measurement(inc), D("2025-05-15"));
  /* and the daily T3 of 03-03 is there in both */
  near(value(re, "t3_physician", "s1", "2025-03-03", "2025-03-03").value, 14);
  /* one more event makes them differ */
  put_visit(re, NULL, &again);
  assert_true(indicator_cube_equal(dashboard_cube(inc), dashboard_cube(re)));
  {
    struct visit other = {"s4", "nurse", "new", NULL, "2025-03-25", 1, 40, 0};
    put_visit(re, NULL, &other);
  }
  assert_false(indicator_cube_equal(dashboard_cube(inc), dashboard_cube(re)));
  free(lg);
  dashboard_free(inc);
  dashboard_free(re);
}

/* -------------------------------------------------------------- JSON */

static json_t *parse(const struct buf *b) {
  json_error_t jerr;
  json_t *j = json_loadb(b->data, b->len, 0, &jerr);
  if (j == NULL)
    fail_msg("bad JSON: %s", jerr.text);
  return j;
}

static const char *S(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v))
    fail_msg("'%s' is not a string", k);
  return json_string_value(v);
}

static void check_point(json_t *p) {
  static const char *const keys[] = {
      "from",       "to",     "value",        "n",
      "suppressed", "capped", "rule_version", "rule_changed"};
  assert_true(json_is_object(p));
  assert_int_equal(json_object_size(p), ARRAY_LEN(keys));
  for (size_t i = 0; i < ARRAY_LEN(keys); i++)
    assert_non_null(json_object_get(p, keys[i]));
  assert_true(json_is_boolean(json_object_get(p, "suppressed")));
  assert_true(json_is_boolean(json_object_get(p, "capped")));
  assert_true(json_is_boolean(json_object_get(p, "rule_changed")));
}

static json_t *panel(json_t *view, const char *id) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(view, "panels"), i, p) {
    if (strcmp(S(p, "id"), id) == 0)
      return p;
  }
  fail_msg("no panel '%s'", id);
  return NULL;
}

static void test_series_json(void **state) {
  struct dashboard *d = fresh();
  struct dashboard_query q;
  const char *param = NULL;
  struct error err;
  struct buf b;
  json_t *j, *pts;
  (void)state;
  feed_visits(d, NULL);
  memset(&q, 0, sizeof q);
  q.now = T(D("2025-06-15"), 12, 0);
  q.indicator = "wait_physician_median";
  q.unit = "s1";
  q.from = "2025-01-15";
  q.to = "2025-05-31";
  buf_init(&b, 1u << 20);
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  assert_string_equal(S(j, "indicator"), "wait_physician_median");
  assert_string_equal(S(j, "unit"), "s1");
  assert_string_equal(S(j, "period"), "month");
  assert_string_equal(S(j, "from"), "2025-01-15");
  assert_string_equal(S(j, "to"), "2025-05-31");
  pts = json_object_get(j, "points");
  assert_int_equal(json_array_size(pts), 5); /* January .. May */
  for (size_t i = 0; i < 5; i++)
    check_point(json_array_get(pts, i));
  /* February: {0,3,7,10,14,20} -> 8.5, n 6 */
  assert_string_equal(S(json_array_get(pts, 1), "from"), "2025-02-01");
  assert_string_equal(S(json_array_get(pts, 1), "to"), "2025-02-28");
  near(json_number_value(json_object_get(json_array_get(pts, 1), "value")),
       8.5);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(pts, 1), "n")), 6);
  /* May: one visit, suppressed */
  assert_true(
      json_is_true(json_object_get(json_array_get(pts, 4), "suppressed")));
  assert_true(json_is_null(json_object_get(json_array_get(pts, 4), "value")));
  assert_true(json_is_null(json_object_get(json_array_get(pts, 4), "n")));
  /* January: nothing */
  assert_true(json_is_null(json_object_get(json_array_get(pts, 0), "value")));
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(pts, 0), "n")), 0);
  json_decref(j);
  /* defaults: the root, by month, the 12 months up to today */
  buf_reset(&b);
  q.unit = q.from = q.to = NULL;
  q.indicator = "care_guarantee_primary_care";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  assert_string_equal(S(j, "unit"), "hva");
  assert_string_equal(S(j, "from"), "2024-07-01");
  assert_string_equal(S(j, "to"), "2025-06-15");
  assert_int_equal(json_array_size(json_object_get(j, "points")), 12);
  assert_string_equal(
      S(json_array_get(json_object_get(j, "points"), 6), "rule_version"),
      "2025-01-01");
  json_decref(j);
  /* errors */
  buf_reset(&b);
  q.indicator = "nope";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err),
                   ERR_NOTFOUND);
  q.indicator = "t3_nurse";
  q.unit = "zz";
  param = NULL;
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "unit");
  q.unit = NULL;
  q.period = "fortnight";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "period");
  q.period = "rolling30";
  q.from = "2025-13-01";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "from");
  q.from = "2025-03-01";
  q.to = "2025-02-01";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "from");
  q.to = "2025-3-1";
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "to");
  /* a rolling series: one point per day */
  q.to = "2025-03-10";
  buf_reset(&b);
  assert_int_equal(dashboard_series_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  assert_int_equal(json_array_size(json_object_get(j, "points")), 10);
  json_decref(j);
  buf_release(&b);
  dashboard_free(d);
}

static void test_view_json(void **state) {
  struct dashboard *d = fresh();
  struct dashboard_query q;
  const char *param = NULL;
  struct error err;
  struct buf b;
  json_t *j, *p, *by, *x;
  size_t i;
  (void)state;
  /* visits first: before the first slot event they measure nothing */
  feed_visits(d, NULL);
  feed_slots(d, NULL);
  assert_int_equal(dashboard_tick(d, T(D("2025-03-03"), 9, 0), &err), 0);
  memset(&q, 0, sizeof q);
  q.now = T(D("2025-06-15"), 12, 0);
  q.dashboard = "health-stations";
  q.unit = "a1";
  q.at = "2025-02-14";
  buf_init(&b, 8u << 20);
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  assert_string_equal(S(j, "dashboard"), "health-stations");
  assert_string_equal(S(json_object_get(j, "unit"), "id"), "a1");
  assert_string_equal(S(json_object_get(j, "unit"), "type"), "area");
  assert_string_equal(
      S(json_object_get(json_object_get(j, "unit"), "name"), "en"), "A1");
  assert_int_equal(json_array_size(json_object_get(j, "path")), 2);
  assert_string_equal(S(json_array_get(json_object_get(j, "path"), 0), "id"),
                      "hva");
  assert_string_equal(
      S(json_object_get(json_array_get(json_object_get(j, "path"), 0), "name"),
        "sv"),
      "Område");
  x = json_object_get(j, "period");
  assert_string_equal(S(x, "kind"), "month");
  assert_string_equal(S(x, "from"), "2025-02-01");
  assert_string_equal(S(x, "to"), "2025-02-28");
  assert_string_equal(S(x, "at"), "2025-02-14");
  assert_string_equal(S(j, "generated_at"), "2025-06-15T09:00:00.000Z");
  x = json_object_get(j, "children");
  assert_int_equal(json_array_size(x), 3);
  assert_string_equal(S(json_array_get(x, 0), "id"), "s1");
  assert_true(json_is_false(json_object_get(json_array_get(x, 0), "drill")));
  assert_int_equal(json_array_size(json_object_get(j, "panels")), 17);
  /* every indicator panel's shape */
  json_array_foreach(json_object_get(j, "panels"), i, p) {
    if (strcmp(S(p, "kind"), "indicator") != 0)
      continue;
    check_point(json_object_get(p, "value"));
    assert_int_equal(json_array_size(json_object_get(p, "trend")), 13);
    check_point(json_array_get(json_object_get(p, "trend"), 12));
    assert_int_equal(json_array_size(json_object_get(p, "by_child")), 3);
    assert_non_null(json_object_get(p, "target"));
    assert_true(strcmp(S(p, "direction"), "lower") == 0 ||
                strcmp(S(p, "direction"), "higher") == 0 ||
                strcmp(S(p, "direction"), "neutral") == 0);
  }
  /* February at a1: s1 {0,3,7,10,14,20}, s3 and s4 got their 95+ visits
   * in February (HTA 2024-11-01 + 95..) -- s3 only under a1 */
  p = panel(j, "wait_physician_median");
  assert_string_equal(S(p, "unit"), "days");
  assert_string_equal(S(p, "direction"), "lower");
  /* trend: the 13 months ending in February 2025 */
  assert_string_equal(S(json_array_get(json_object_get(p, "trend"), 0), "from"),
                      "2024-02-01");
  /* counts over 90: s1 1 (suppressed), s2 0, s3 6 -> a1 7 shown, so s3 is
   * suppressed too (complementary) */
  p = panel(j, "wait_physician_over_90");
  near(json_number_value(json_object_get(json_object_get(p, "value"), "value")),
       6);
  by = json_object_get(p, "by_child");
  assert_string_equal(S(json_array_get(by, 0), "unit"), "s1");
  near(json_number_value(json_object_get(
           json_object_get(json_array_get(by, 2), "value"), "value")),
       6);
  json_decref(j);

  /* the same in May, where s1's 100-day visit is */
  buf_reset(&b);
  q.at = "2025-05-20";
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  p = panel(j, "wait_physician_over_90");
  by = json_object_get(p, "by_child");
  assert_true(json_is_true(json_object_get(
      json_object_get(json_array_get(by, 0), "value"), "suppressed")));
  json_decref(j);

  /* the distribution of s1 in February and May .. the whole spring */
  buf_reset(&b);
  q.unit = "s1";
  q.period = "quarter";
  q.at = "2025-02-14";
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  assert_int_equal(json_array_size(json_object_get(j, "children")), 0);
  p = panel(j, "wait_distribution_physician");
  assert_string_equal(S(p, "kind"), "distribution");
  assert_int_equal(json_integer_value(json_object_get(p, "n")), 6);
  x = json_object_get(p, "bins");
  assert_int_equal(json_array_size(x), 7);
  assert_string_equal(S(json_array_get(x, 0), "label"), "0");
  assert_string_equal(S(json_array_get(x, 1), "label"), "1-7");
  assert_string_equal(S(json_array_get(x, 6), "label"), ">180");
  assert_true(json_is_null(json_object_get(json_array_get(x, 6), "to")));
  /* 0:1, 1-7:2, 8-14:2, 15-28:1, rest 0: the small ones suppressed */
  assert_true(json_is_null(json_object_get(json_array_get(x, 0), "count")));
  assert_true(
      json_is_true(json_object_get(json_array_get(x, 0), "suppressed")));
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(x, 4), "count")), 0);
  /* T3 in the quarter: the two measured days */
  p = panel(j, "t3_physician");
  near(json_number_value(json_object_get(json_object_get(p, "value"), "value")),
       14.5);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(p, "value"), "n")),
      10);
  json_decref(j);

  /* errors */
  q.dashboard = "nope";
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), ERR_NOTFOUND);
  q.dashboard = "health-stations";
  q.at = "yesterday";
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "at");
  q.at = NULL;
  q.period = "decade";
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), ERR_INVAL);
  assert_string_equal(param, "period");
  buf_release(&b);
  dashboard_free(d);
}

/* Complementary suppression in by_child, on its own figures. */
static void test_complementary(void **state) {
  struct dashboard *d = fresh();
  struct dashboard_query q;
  const char *param = NULL;
  struct error err;
  struct buf b;
  json_t *j, *by;
  char ap[16];
  (void)state;
  /* a1: s1 2 visits over 90 (suppressed), s2 0, s3 6 */
  for (int i = 0; i < 8; i++) {
    struct visit v = {i < 2 ? "s1" : "s3", "physician", ap, NULL,
                      "2024-11-01",        95,          50, 0};
    snprintf(ap, sizeof ap, "x%d", i);
    put_visit(d, NULL, &v);
  }
  for (int i = 0; i < 5; i++) { /* s2: 5 visits, none over 90 */
    struct visit v = {"s2", "physician", ap, NULL, "2025-02-01", 3, 50, 0};
    snprintf(ap, sizeof ap, "y%d", i);
    put_visit(d, NULL, &v);
  }
  memset(&q, 0, sizeof q);
  q.now = T(D("2025-06-15"), 12, 0);
  q.dashboard = "health-stations";
  q.unit = "a1";
  q.at = "2025-02-04";
  buf_init(&b, 8u << 20);
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  {
    json_t *p = panel(j, "wait_physician_over_90");
    near(json_number_value(
             json_object_get(json_object_get(p, "value"), "value")),
         8);
    by = json_object_get(p, "by_child");
    assert_true(json_is_true(json_object_get(
        json_object_get(json_array_get(by, 0), "value"), "suppressed")));
    /* s2's zero stays; s3's 6 is suppressed as the complement */
    near(json_number_value(json_object_get(
             json_object_get(json_array_get(by, 1), "value"), "value")),
         0);
    assert_true(json_is_true(json_object_get(
        json_object_get(json_array_get(by, 2), "value"), "suppressed")));
    /* the median (days, not a count) has no complement */
    p = panel(j, "wait_physician_median");
    by = json_object_get(p, "by_child");
    assert_true(json_is_true(json_object_get(
        json_object_get(json_array_get(by, 0), "value"), "suppressed")));
    assert_true(json_is_false(json_object_get(
        json_object_get(json_array_get(by, 2), "value"), "suppressed")));
  }
  json_decref(j);
  /* at the root: children a1 and a2 (a3 has no station) */
  buf_reset(&b);
  q.unit = NULL;
  assert_int_equal(dashboard_view_json(d, &q, &b, &param, &err), 0);
  j = parse(&b);
  by = json_object_get(j, "children");
  assert_int_equal(json_array_size(by), 2);
  assert_string_equal(S(json_array_get(by, 1), "id"), "a2");
  assert_true(json_is_true(json_object_get(json_array_get(by, 0), "drill")));
  json_decref(j);
  buf_release(&b);
  dashboard_free(d);
}

static void test_export(void **state) {
  struct dashboard *d = fresh();
  struct dashboard_query q;
  struct dashboard_file f;
  const char *param = NULL;
  struct error err;
  struct buf b;
  (void)state;
  feed_visits(d, NULL);
  memset(&q, 0, sizeof q);
  q.now = T(D("2025-06-15"), 12, 0);
  q.dashboard = "health-stations";
  q.unit = "a1";
  q.at = "2025-02-14";
  q.format = "csv";
  q.panel = "wait_physician_within_14";
  q.lang = "en";
  buf_init(&b, 8u << 20);
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), 0);
  assert_string_equal(f.filename, "health-stations-a1-2025-02-01.csv");
  assert_string_equal(f.content_type, "text/csv; charset=utf-8");
  assert_true(b.len > 3 && memcmp(b.data, "\xef\xbb\xbf", 3) == 0);
  assert_non_null(strstr(buf_str(&b), "Unit,Id,Value,n,Rule version,Note\r\n"));
  /* s1 in February: 5 of 6 within 14 days */
  assert_non_null(strstr(buf_str(&b), "Asema 1,s1,83.33333"));
  /* the distribution, in Finnish */
  buf_reset(&b);
  q.lang = "fi";
  q.panel = "wait_distribution_physician";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), 0);
  assert_non_null(strstr(buf_str(&b), "Odotusaika (vrk),Alkaen,Enint"));
  assert_non_null(strstr(buf_str(&b), "29-90,29,90,0,\r\n"));
  /* XLSX: every panel */
  buf_reset(&b);
  q.format = "xlsx";
  q.panel = NULL;
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), 0);
  assert_string_equal(f.filename, "health-stations-a1-2025-02-01.xlsx");
  assert_true(b.len > 4000 && memcmp(b.data, "PK\x03\x04", 4) == 0);
  /* errors */
  q.format = NULL;
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_INVAL);
  assert_string_equal(param, "format");
  q.format = "pdf";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_INVAL);
  assert_string_equal(param, "format");
  q.format = "csv";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_INVAL);
  assert_string_equal(param, "panel");
  q.panel = "nope";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_INVAL);
  assert_string_equal(param, "panel");
  q.panel = "t3_nurse";
  q.lang = "de";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_INVAL);
  assert_string_equal(param, "lang");
  q.lang = NULL;
  q.dashboard = "x";
  assert_int_equal(dashboard_export(d, &q, &b, &f, &param, &err), ERR_NOTFOUND);
  buf_release(&b);
  dashboard_free(d);
}

/* ------------------------------------------------- memory and the keys */

/* One visit of the synthetic tests. */
struct sv {
  const char *channel;
  const char *episode, *appointment, *source_key; /* "" or NULL: none */
  const char *unit, *group;
  int32_t hta;  /* the day of the needs assessment (and the contact 1 day
                   before); ACCESS_NO_DATE: neither */
  int32_t wait; /* visit day - hta (from 2025-02-03 without one) */
  int age;
  uint32_t flags;
};

static struct event sv_event(const struct sv *v) {
  struct event ev;
  int32_t base = v->hta != ACCESS_NO_DATE ? v->hta : D("2025-02-03");
  event_init(&ev);
  ev.kind = EV_VISIT_COMPLETED;
  ev.occurred_at = T(base + v->wait, 12, 0);
  ev.local_date = base + v->wait;
  snprintf(ev.channel, sizeof ev.channel, "%s", v->channel);
  if (v->source_key)
    snprintf(ev.source_key, sizeof ev.source_key, "%s", v->source_key);
  snprintf(ev.unit, sizeof ev.unit, "%s", v->unit);
  if (v->episode)
    snprintf(ev.episode, sizeof ev.episode, "%s", v->episode);
  if (v->appointment)
    snprintf(ev.attrs.appointment, sizeof ev.attrs.appointment, "%s",
             v->appointment);
  snprintf(ev.attrs.prof_group, sizeof ev.attrs.prof_group, "%s", v->group);
  if (v->hta != ACCESS_NO_DATE) {
    ev.attrs.assessed_at = T(v->hta, 9, 0);
    ev.attrs.contact_at = T(v->hta - 1, 8, 30);
  }
  ev.attrs.age_years = (int16_t)v->age;
  ev.attrs.flags = v->flags;
  return ev;
}

static void apply_ok(struct dashboard *d, const struct event *ev) {
  struct error err;
  error_clear(&err);
  if (dashboard_apply(d, ev, &err) != 0)
    fail_msg("apply %s: %s", event_kind_name(ev->kind), err.msg);
}

static void cancel(struct dashboard *d, enum event_kind k, const char *channel,
                   const char *id) {
  struct event ev;
  event_init(&ev);
  ev.kind = k;
  ev.occurred_at = T(D("2025-12-31"), 12, 0);
  snprintf(ev.channel, sizeof ev.channel, "%s", channel);
  if (k == EV_DISCHARGE_CANCELLED)
    snprintf(ev.episode, sizeof ev.episode, "%s", id);
  else
    snprintf(ev.attrs.appointment, sizeof ev.attrs.appointment, "%s", id);
  apply_ok(d, &ev);
}

/* The churn test's visits: id i is keyed by episode and appointment
 * (i % 3 == 0; every fourth version by its appointment only), by its
 * appointment (1) or by its source key (2); what it says depends on the
 * version sent. */
#define CHURN_IDS 160000
#define CHURN_VISITS 200000

struct churn_ids {
  char ep[33], ap[33], src[40], msg[40];
};

static struct sv churn_visit(int i, int ver, struct churn_ids *ids) {
  static const char *const units[] = {"s1", "s2", "s3", "s4"};
  static const char *const groups[] = {"physician", "nurse", "dentist",
                                       "hygienist", "psychologist"};
  static const uint32_t flags[] = {0, EVENT_F_URGENT, EVENT_F_CARE_PLAN,
                                   EVENT_F_CERTIFICATE,
                                   EVENT_F_SPECIALIST | EVENT_F_PROMOTION};
  struct sv v;
  unsigned h = (unsigned)i * 2654435761u + (unsigned)ver * 40503u;
  /* the ids do not change with the version; the message id does */
  snprintf(ids->src, sizeof ids->src, "src-%d", i);
  snprintf(ids->msg, sizeof ids->msg, "msg-%d-%d", i, ver);
  snprintf(ids->ep, sizeof ids->ep, "e%031x", (unsigned)i);
  snprintf(ids->ap, sizeof ids->ap, "a%031x", (unsigned)i);
  memset(&v, 0, sizeof v);
  v.channel = "siu";
  switch (i % 3) {
  case 0:
    v.episode = ver % 4 == 3 ? NULL : ids->ep;
    v.appointment = ids->ap;
    v.source_key = ids->msg;
    break;
  case 1:
    v.appointment = ids->ap;
    v.source_key = ids->msg;
    break;
  default:
    v.source_key = ids->src;
    break;
  }
  v.unit = units[(h >> 3) % 4];
  v.group = groups[(h >> 7) % 5];
  v.hta = (h >> 11) % 17 == 0 ? ACCESS_NO_DATE
                              : D("2024-11-01") + (int32_t)((h >> 5) % 240);
  v.wait = (int32_t)((h >> 13) % 130);
  v.age = (h >> 17) % 23 == 0 ? -1 : (int)((h >> 19) % 95);
  v.flags = (h >> 23) % 3 == 0 ? flags[(h >> 25) % 5] : 0;
  return v;
}

static uint32_t rnd(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void test_memory_churn(void **state) {
  struct dashboard *d = fresh(), *ref = fresh();
  int *ver = mem_calloc(CHURN_IDS, sizeof *ver); /* 0: never sent */
  bool *alive = mem_calloc(CHURN_IDS, sizeof *alive);
  bool *has_ep = mem_calloc(CHURN_IDS, sizeof *has_ep);
  struct churn_ids ids;
  size_t m0 = dashboard_memory(d),
         c0 = indicator_cube_memory(dashboard_cube(d));
  size_t m1, c1, n, peak = 0, live = 0, cancels = 0, corrections = 0;
  uint32_t seed = 12345;
  int next = 0;
  (void)state;
  assert_true(m0 >= c0);
  for (int sent = 0; sent < CHURN_VISITS;) {
    uint32_t r = rnd(&seed) % 100;
    int i;
    if (next == 0 || (r < 75 && next < CHURN_IDS)) {
      i = next++;
    } else if (r < 90) {
      i = (int)(rnd(&seed) % (uint32_t)next);
      corrections++;
    } else {
      /* a cancellation: by episode or by appointment, as the visit's
       * current version can be found; a visit known only by its source
       * key, or one already cancelled, stays as it is */
      i = (int)(rnd(&seed) % (uint32_t)next);
      if (i % 3 == 0 && has_ep[i] && rnd(&seed) % 2 == 0) {
        snprintf(ids.ep, sizeof ids.ep, "e%031x", (unsigned)i);
        cancel(d, EV_DISCHARGE_CANCELLED, "siu", ids.ep);
      } else {
        snprintf(ids.ap, sizeof ids.ap, "a%031x", (unsigned)i);
        cancel(d, EV_APPOINTMENT_CANCELLED, "siu", ids.ap);
      }
      if (i % 3 != 2 && alive[i]) {
        alive[i] = false;
        live--;
        cancels++;
      }
      continue;
    }
    {
      struct sv v = churn_visit(i, ++ver[i], &ids);
      struct event ev = sv_event(&v);
      apply_ok(d, &ev);
      has_ep[i] = v.episode != NULL;
      if (!alive[i])
        live++;
      alive[i] = true;
      sent++;
    }
    assert_int_equal(dashboard_visit_count(d), live);
    if (live > peak)
      peak = live;
  }
  assert_true(corrections > 20000);
  assert_true(cancels > 10000);
  /* (a) the cube equals one fed only the surviving visits, as last sent */
  for (int i = 0; i < next; i++) {
    if (alive[i]) {
      struct sv v = churn_visit(i, ver[i], &ids);
      struct event ev = sv_event(&v);
      apply_ok(ref, &ev);
    }
  }
  n = dashboard_visit_count(d);
  assert_int_equal(n, live);
  assert_int_equal(dashboard_visit_count(ref), live);
  assert_true(indicator_cube_equal(dashboard_cube(d), dashboard_cube(ref)));
  /* (b) under 100 bytes per remembered visit, the cube's growth included
   * (the memory is that of the peak: freed records are reused) */
  m1 = dashboard_memory(d);
  c1 = indicator_cube_memory(dashboard_cube(d));
  print_message("     %zu visits remembered (peak %zu): %.1f bytes each, "
                "%.1f without the cube\n",
                n, peak, (double)(m1 - m0) / (double)n,
                (double)((m1 - c1) - (m0 - c0)) / (double)n);
  assert_true(m1 - m0 < 100 * n);
  assert_true((m1 - c1) - (m0 - c0) < 100 * n);
  /* every visit cancelled or gone: nothing left, the memory kept */
  for (int i = 0; i < next; i++) {
    snprintf(ids.ap, sizeof ids.ap, "a%031x", (unsigned)i);
    if (i % 3 != 2)
      cancel(d, EV_APPOINTMENT_CANCELLED, "siu", ids.ap);
  }
  {
    size_t left = 0;
    for (int i = 0; i < next; i++)
      left += alive[i] && i % 3 == 2;
    assert_int_equal(dashboard_visit_count(d), left);
  }
  assert_int_equal(
      dashboard_memory(d) - indicator_cube_memory(dashboard_cube(d)), m1 - c1);
  mem_free(ver);
  mem_free(alive);
  mem_free(has_ep);
  dashboard_free(d);
  dashboard_free(ref);
}

/* Keys that share long prefixes, and the same id under another kind or
 * channel, are all different visits; each is found, corrected and
 * cancelled on its own. */
#define PREFIX_N 20000

static void prefix_ids(int i, char id[33]) {
  snprintf(id, 33, "0000000000000000000000000000%04x", (unsigned)i);
}

static void test_prefix_keys(void **state) {
  struct dashboard *d = fresh(), *ref = fresh(), *ref2 = fresh();
  char id[33];
  (void)state;
  /* the same ids as appointments (siu, siu2), episodes and source keys */
  for (int set = 0; set < 4; set++) {
    for (int i = 0; i < PREFIX_N; i++) {
      struct sv v = {
          "siu",  NULL, NULL, NULL, "s1", "nurse", D("2025-01-06") + i % 50,
          i % 40, 40,   0};
      struct event ev;
      prefix_ids(i, id);
      v.channel = set == 1 ? "siu2" : "siu";
      if (set <= 1)
        v.appointment = id;
      else if (set == 2)
        v.episode = id;
      else
        v.source_key = id;
      v.unit = set % 2 ? "s2" : "s1";
      ev = sv_event(&v);
      apply_ok(d, &ev);
      if (set == 0) /* set 0 is corrected below */
        continue;
      apply_ok(ref, &ev);
      if (set == 3)
        apply_ok(ref2, &ev);
    }
    assert_int_equal(dashboard_visit_count(d), (size_t)(set + 1) * PREFIX_N);
  }
  /* set 0 corrected: each replaces its own visit only */
  for (int i = 0; i < PREFIX_N; i++) {
    struct sv v = {"siu",
                   NULL,
                   NULL,
                   NULL,
                   "s3",
                   "physician",
                   D("2025-01-06") + i % 50,
                   3 + i % 70,
                   55,
                   0};
    struct event ev;
    prefix_ids(i, id);
    v.appointment = id;
    ev = sv_event(&v);
    apply_ok(d, &ev);
    apply_ok(ref, &ev);
    apply_ok(ref2, &ev);
  }
  assert_int_equal(dashboard_visit_count(d), 4 * PREFIX_N);
  assert_true(indicator_cube_equal(dashboard_cube(d), dashboard_cube(ref)));
  /* the episodes and the other channel's appointments cancelled */
  for (int i = 0; i < PREFIX_N; i++) {
    prefix_ids(i, id);
    cancel(d, EV_DISCHARGE_CANCELLED, "siu", id);
    cancel(d, EV_APPOINTMENT_CANCELLED, "siu2", id);
    assert_int_equal(dashboard_visit_count(d),
                     4 * PREFIX_N - 2 * (size_t)(i + 1));
  }
  assert_true(indicator_cube_equal(dashboard_cube(d), dashboard_cube(ref2)));
  /* cancelled twice: nothing more goes */
  prefix_ids(7, id);
  cancel(d, EV_DISCHARGE_CANCELLED, "siu", id);
  assert_int_equal(dashboard_visit_count(d), 2 * PREFIX_N);
  dashboard_free(d);
  dashboard_free(ref);
  dashboard_free(ref2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_visits),      cmocka_unit_test(test_corrections),
      cmocka_unit_test(test_t3_daily),    cmocka_unit_test(test_t3_options),
      cmocka_unit_test(test_rebuild),     cmocka_unit_test(test_series_json),
      cmocka_unit_test(test_view_json),   cmocka_unit_test(test_complementary),
      cmocka_unit_test(test_export),      cmocka_unit_test(test_memory_churn),
      cmocka_unit_test(test_prefix_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
