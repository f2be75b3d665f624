/* test_wardflow.c -- the ward flow figures in the indicator catalogue: the
 * bed board's flow cube feeds the dashboard's indicator cube through its
 * change listener (cube.h, dashboard_flow_change), as the ingest connects
 * them.
 *
 * A scripted admission / transfer / discharge sequence with a cancelled
 * discharge (A13), a discharge sent again, a late transfer (an event older
 * than the discharge already applied) and a patient ready for transfer:
 * hand-computed census, delay days, admissions, transfers, discharges and
 * lengths of stay in both cubes, for a ward, its hospital and the county;
 * every figure of every day equal in both; GET /api/v1/indicators/{id}
 * (dashboard_series_json) against GET /api/v1/flow (cube_flow_json) for the
 * same days; and a rebuild from the same events in another order equal to
 * the incremental indicator cube. The random-stream property test is in
 * test_bedboard.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bedboard.h"
#include "buf.h"
#include "chrono.h"
#include "cube.h"
#include "dashboard.h"
#include "event.h"
#include "indicator.h"
#include "mem.h"
#include "org.h"

#define BIG (8u << 20)

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"HVA\"}},"
    "{\"id\":\"h1\",\"type\":\"hospital\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Keskussairaala\"}},"
    "{\"id\":\"ed1\",\"type\":\"ed\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"P\"},\"beds\":4},"
    "{\"id\":\"w1\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 1\"},\"beds\":3},"
    "{\"id\":\"w2\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 2\"},\"beds\":[\"A\",\"B\"]},"
    "{\"id\":\"h2\",\"type\":\"hospital\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"TK-sairaala\"}},"
    "{\"id\":\"w3\",\"type\":\"ward\",\"parent\":\"h2\","
    "\"name\":{\"fi\":\"TK-osasto\"},\"beds\":2}]}";

static const char *const UNITS[] = {"w1", "w2", "w3", "h1", "h2", "hva"};

struct pair {
  struct bedboard *bb;
  struct dashboard *dash;
};

struct fx {
  struct org *org;
  struct pair p;
  int64_t seq;
  int32_t d0; /* Monday 2025-03-03 */
  struct event evs[64];
  int nev;
};

static void pair_new(struct fx *f, struct pair *p) {
  struct error err;
  assert_int_equal(dashboard_new(f->org, NULL, &p->dash, &err), 0);
  p->bb = bedboard_new(f->org);
  assert_int_equal(
      bedboard_set_flow_listener(p->bb, dashboard_flow_change, p->dash), 0);
}

static void pair_free(struct pair *p) {
  bedboard_free(p->bb);
  dashboard_free(p->dash);
}

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  if (org_load_json(ORG_JSON, strlen(ORG_JSON), &f->org, &err) != 0) {
    mem_free(f);
    return -1;
  }
  f->d0 = chrono_days_from_civil(2025, 3, 3);
  pair_new(f, &f->p);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  pair_free(&f->p);
  org_free(f->org);
  mem_free(f);
  return 0;
}

static int64_t at(const struct fx *f, int day, int h, int mi) {
  int64_t ms = 0;
  assert_int_equal(chrono_from_local(f->d0 + day, h, mi, 0, &ms), 0);
  return ms;
}

/* Applies one event to the board and the dashboard, as the ingest writer
 * does, and keeps it for the rebuild. */
static void ev(struct fx *f, enum event_kind k, const char *ep,
               const char *unit, const char *bed, int64_t t) {
  struct event e;
  struct error err;
  event_init(&e);
  e.seq = ++f->seq;
  snprintf(e.channel, sizeof e.channel, "adt");
  snprintf(e.source_key, sizeof e.source_key, "m%" PRId64, e.seq);
  e.kind = k;
  e.occurred_at = t;
  e.local_date = chrono_local_date(t);
  snprintf(e.unit, sizeof e.unit, "%s", unit);
  snprintf(e.episode, sizeof e.episode, "%s", ep);
  snprintf(e.subject, sizeof e.subject, "s-%s", ep);
  snprintf(e.attrs.bed, sizeof e.attrs.bed, "%s", bed);
  if (bedboard_check(f->p.bb, &e, &err) != 0 ||
      bedboard_apply(f->p.bb, &e, &err) != 0)
    fail_msg("event %s refused: %s", event_kind_name(k), err.msg);
  assert_int_equal(dashboard_apply(f->p.dash, &e, &err), 0);
  assert_true(f->nev < 64);
  f->evs[f->nev++] = e;
}

static size_t uix(const struct fx *f, const char *id) {
  return org_unit_find(f->org, id)->index;
}

/* A counter measure of the indicator cube for 'unit' on day d0 + d. */
static int64_t ind(const struct fx *f, const struct pair *p, const char *unit,
                   const char *measure, int from, int to) {
  const struct indicator_catalogue *cat = dashboard_catalogue(p->dash);
  long m = indicator_measure_find(cat, measure);
  int64_t v = -1;
  assert_true(m >= 0);
  assert_int_equal(indicator_cube_sum(dashboard_cube(p->dash), uix(f, unit),
                                      (size_t)m, f->d0 + from, f->d0 + to, &v),
                   0);
  return v;
}

static struct cube_day flow(const struct fx *f, const struct pair *p,
                            const char *unit, int d) {
  struct cube_day x;
  assert_int_equal(cube_day_get(bedboard_cube(p->bb),
                                org_unit_find(f->org, unit), f->d0 + d, &x),
                   0);
  return x;
}

/* Every figure of every unit and day from..to equal in both cubes, and the
 * LOS histogram of the whole range. */
static void same(const struct fx *f, const struct pair *p, int from, int to) {
  const struct indicator_catalogue *cat = dashboard_catalogue(p->dash);
  long los = indicator_measure_find(cat, "ward.los");
  assert_true(los >= 0);
  for (size_t u = 0; u < sizeof UNITS / sizeof *UNITS; u++) {
    struct cube_stats st;
    struct hist h;
    for (int d = from; d <= to; d++) {
      struct cube_day x = flow(f, p, UNITS[u], d);
      assert_true(x.known);
      if (x.census != ind(f, p, UNITS[u], "ward.care_days", d, d) ||
          x.ready != ind(f, p, UNITS[u], "ward.delay_days", d, d) ||
          x.admissions != ind(f, p, UNITS[u], "ward.admissions", d, d) ||
          x.transfers_in != ind(f, p, UNITS[u], "ward.transfers_in", d, d) ||
          x.transfers_out != ind(f, p, UNITS[u], "ward.transfers_out", d, d) ||
          x.discharges != ind(f, p, UNITS[u], "ward.discharges", d, d))
        fail_msg("%s day %d: flow %d/%d/%d/%d/%d/%d differs from the "
                 "indicator cube",
                 UNITS[u], d, (int)x.census, (int)x.ready, (int)x.admissions,
                 (int)x.transfers_in, (int)x.transfers_out, (int)x.discharges);
    }
    assert_int_equal(cube_stats_get(bedboard_cube(p->bb),
                                    org_unit_find(f->org, UNITS[u]),
                                    f->d0 + from, f->d0 + to, &st),
                     0);
    assert_int_equal(
        hist_init(&h, indicator_measure_at(cat, (size_t)los)->bins), 0);
    assert_int_equal(indicator_cube_hist(dashboard_cube(p->dash),
                                         uix(f, UNITS[u]), (size_t)los,
                                         f->d0 + from, f->d0 + to, &h),
                     0);
    assert_int_equal(h.n, st.los_n);
    assert_int_equal(h.sum, st.los_sum_days);
    for (int b = 0; b < CUBE_LOS_BINS - 1; b++)
      assert_int_equal(h.bins[b], st.los[b]);
    hist_release(&h);
  }
}

static void script(struct fx *f) {
  /* e1: w1 day 0 08:00, to w2 day 2 10:00, home day 4 12:00 (LOS 4). */
  ev(f, EV_ADMITTED, "e1", "w1", "1", at(f, 0, 8, 0));
  ev(f, EV_TRANSFERRED, "e1", "w2", "A", at(f, 2, 10, 0));
  ev(f, EV_DISCHARGED, "e1", "w2", "A", at(f, 4, 12, 0));
  /* e2: w1 day 1 09:00; discharged day 3, cancelled (A13), discharged
   * again day 5 10:00 (LOS 4). */
  ev(f, EV_ADMITTED, "e2", "w1", "2", at(f, 1, 9, 0));
  ev(f, EV_DISCHARGED, "e2", "w1", "2", at(f, 3, 11, 0));
  ev(f, EV_DISCHARGE_CANCELLED, "e2", "w1", "2", at(f, 3, 12, 0));
  ev(f, EV_DISCHARGED, "e2", "w1", "2", at(f, 5, 10, 0));
  /* e3: w3 (hospital h2) day 0 20:00, discharged day 3 10:00; then the
   * transfer to w1 on day 1 12:00 arrives late: the stay after it and the
   * discharge move to w1 (hospital h1). LOS 3. */
  ev(f, EV_ADMITTED, "e3", "w3", "", at(f, 0, 20, 0));
  ev(f, EV_DISCHARGED, "e3", "w3", "", at(f, 3, 10, 0));
  ev(f, EV_TRANSFERRED, "e3", "w1", "3", at(f, 1, 12, 0));
  /* e4: w2 day 1 08:00, ready for transfer day 2 15:00, still there. */
  ev(f, EV_ADMITTED, "e4", "w2", "B", at(f, 1, 8, 0));
  ev(f, EV_READY_FOR_TRANSFER, "e4", "w2", "", at(f, 2, 15, 0));
  /* The board's clock: day 9. */
  bedboard_flow_horizon(f->p.bb, f->d0 + 9);
}

static void test_scripted(void **state) {
  struct fx *f = *state;
  /* Midnight census of w1: e1 days 1-2, e2 days 2-5, e3 days 2-3. */
  static const int64_t w1[] = {0, 1, 3, 2, 1, 1, 0, 0, 0, 0};
  /* w2: e1 days 3-4, e4 days 2.. (open). */
  static const int64_t w2[] = {0, 0, 1, 2, 2, 1, 1, 1, 1, 1};
  /* w3: e3 day 1 only (left at 12:00). */
  static const int64_t w3[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  script(f);
  assert_int_equal(dashboard_flow_refused(f->p.dash), 0);
  for (int d = 0; d < 10; d++) {
    assert_int_equal(flow(f, &f->p, "w1", d).census, w1[d]);
    assert_int_equal(ind(f, &f->p, "w1", "ward.care_days", d, d), w1[d]);
    assert_int_equal(ind(f, &f->p, "w2", "ward.care_days", d, d), w2[d]);
    assert_int_equal(ind(f, &f->p, "w3", "ward.care_days", d, d), w3[d]);
    assert_int_equal(ind(f, &f->p, "h1", "ward.care_days", d, d),
                     w1[d] + w2[d]);
    assert_int_equal(ind(f, &f->p, "h2", "ward.care_days", d, d), w3[d]);
    assert_int_equal(ind(f, &f->p, "hva", "ward.care_days", d, d),
                     w1[d] + w2[d] + w3[d]);
  }
  /* Care days over days 0..9: w1 8, w2 10, w3 1. */
  assert_int_equal(ind(f, &f->p, "hva", "ward.care_days", 0, 9), 19);
  /* Transfer delay: e4 ready day 2 15:00, so the midnights of days 3..9. */
  assert_int_equal(ind(f, &f->p, "w2", "ward.delay_days", 0, 9), 7);
  assert_int_equal(ind(f, &f->p, "w2", "ward.delay_days", 2, 2), 0);
  assert_int_equal(ind(f, &f->p, "hva", "ward.delay_days", 3, 3), 1);
  /* Admissions: e1, e2, e4 in h1; e3 in h2 (its first ward was w3). */
  assert_int_equal(ind(f, &f->p, "h1", "ward.admissions", 0, 9), 3);
  assert_int_equal(ind(f, &f->p, "h2", "ward.admissions", 0, 9), 1);
  assert_int_equal(ind(f, &f->p, "w3", "ward.admissions", 0, 0), 1);
  /* Transfers: e1 w1 -> w2 day 2, e3 w3 -> w1 day 1. */
  assert_int_equal(ind(f, &f->p, "w2", "ward.transfers_in", 2, 2), 1);
  assert_int_equal(ind(f, &f->p, "w1", "ward.transfers_out", 2, 2), 1);
  assert_int_equal(ind(f, &f->p, "w1", "ward.transfers_in", 1, 1), 1);
  assert_int_equal(ind(f, &f->p, "w3", "ward.transfers_out", 1, 1), 1);
  /* Discharges: e3 from w1 day 3 (not w3: the late transfer moved it),
   * e1 from w2 day 4, e2 from w1 day 5 (the day-3 one was cancelled). */
  assert_int_equal(ind(f, &f->p, "w1", "ward.discharges", 3, 3), 1);
  assert_int_equal(ind(f, &f->p, "w3", "ward.discharges", 0, 9), 0);
  assert_int_equal(ind(f, &f->p, "h2", "ward.discharges", 0, 9), 0);
  assert_int_equal(ind(f, &f->p, "w2", "ward.discharges", 4, 4), 1);
  assert_int_equal(ind(f, &f->p, "w1", "ward.discharges", 5, 5), 1);
  assert_int_equal(ind(f, &f->p, "hva", "ward.discharges", 0, 9), 3);
  /* Every figure of every unit and day agrees, LOS histograms included
   * (values 3, 4, 4). */
  same(f, &f->p, -3, 9);
  {
    const struct indicator_catalogue *cat = dashboard_catalogue(f->p.dash);
    const struct indicator_def *mean = indicator_find(cat, "los_mean");
    const struct indicator_def *occ = indicator_find(cat, "bed_occupancy");
    struct indicator_point pt;
    struct error err;
    assert_non_null(mean);
    assert_non_null(occ);
    /* Three discharges: below min_n 5, suppressed. */
    assert_int_equal(indicator_value(dashboard_cube(f->p.dash), mean,
                                     uix(f, "hva"), f->d0, f->d0 + 9, &pt,
                                     &err),
                     0);
    assert_true(pt.suppressed);
    /* Occupancy of h1 over days 0..9: 18 care days / (5 beds x 10). */
    assert_int_equal(indicator_value(dashboard_cube(f->p.dash), occ,
                                     uix(f, "h1"), f->d0, f->d0 + 9, &pt, &err),
                     0);
    assert_true(pt.has_value);
    assert_float_equal(pt.value, 100.0 * 18 / 50, 1e-9);
  }
  /* The horizon moves on (the minute tick at a later date): the open stay
   * of e4 counts on the new days in both. */
  bedboard_flow_horizon(f->p.bb, f->d0 + 12);
  assert_int_equal(ind(f, &f->p, "w2", "ward.care_days", 10, 12), 3);
  assert_int_equal(ind(f, &f->p, "w2", "ward.delay_days", 10, 12), 3);
  same(f, &f->p, -3, 12);
}

/* GET /api/v1/indicators/{id}?period=day against GET /api/v1/flow for the
 * same 30 days, for a ward, a hospital and the county. */
static void test_api_same_values(void **state) {
  struct fx *f = *state;
  int32_t today = f->d0 + 12;
  script(f);
  bedboard_flow_horizon(f->p.bb, today);
  for (size_t u = 0; u < sizeof UNITS / sizeof *UNITS; u++) {
    struct buf fb, sb, ob;
    struct error err;
    const char *param = NULL;
    json_t *fj, *sj, *oj, *series, *points, *opoints;
    json_error_t jerr;
    char from[11], to[11];
    struct dashboard_query q;
    buf_init(&fb, BIG);
    buf_init(&sb, BIG);
    buf_init(&ob, BIG);
    assert_int_equal(cube_flow_json(bedboard_cube(f->p.bb), f->org, UNITS[u],
                                    today, &fb, &err),
                     0);
    chrono_format_date(today - (CUBE_FLOW_DAYS - 1), from);
    chrono_format_date(today, to);
    memset(&q, 0, sizeof q);
    q.indicator = "midnight_census";
    q.unit = UNITS[u];
    q.period = "day";
    q.from = from;
    q.to = to;
    q.now = at(f, 12, 12, 0);
    if (dashboard_series_json(f->p.dash, &q, &sb, &param, &err) != 0)
      fail_msg("series: %s", err.msg);
    q.indicator = "bed_occupancy";
    q.period = "rolling30";
    q.from = to;
    assert_int_equal(dashboard_series_json(f->p.dash, &q, &ob, &param, &err),
                     0);
    fj = json_loads(buf_str(&fb), 0, &jerr);
    sj = json_loads(buf_str(&sb), 0, &jerr);
    oj = json_loads(buf_str(&ob), 0, &jerr);
    assert_non_null(fj);
    assert_non_null(sj);
    assert_non_null(oj);
    series = json_object_get(fj, "series");
    points = json_object_get(sj, "points");
    assert_int_equal(json_array_size(series), CUBE_FLOW_DAYS);
    assert_int_equal(json_array_size(points), CUBE_FLOW_DAYS);
    for (size_t i = 0; i < CUBE_FLOW_DAYS; i++) {
      json_t *s = json_array_get(series, i), *p = json_array_get(points, i);
      assert_string_equal(json_string_value(json_object_get(s, "date")),
                          json_string_value(json_object_get(p, "from")));
      assert_int_equal(
          json_integer_value(json_object_get(s, "census")),
          (json_int_t)json_number_value(json_object_get(p, "value")));
      assert_float_equal(
          json_number_value(json_object_get(p, "value")),
          (double)json_integer_value(json_object_get(s, "census")), 1e-9);
    }
    /* The 30-day occupancy: the flow's avg30 (one decimal). */
    opoints = json_object_get(oj, "points");
    assert_int_equal(json_array_size(opoints), 1);
    {
      json_t *pct = json_object_get(
          json_object_get(json_object_get(fj, "occupancy"), "avg30"), "pct");
      double v = json_number_value(
          json_object_get(json_array_get(opoints, 0), "value"));
      assert_true(json_is_number(pct));
      assert_float_equal(json_number_value(pct), v, 0.05 + 1e-9);
    }
    json_decref(fj);
    json_decref(sj);
    json_decref(oj);
    buf_release(&fb);
    buf_release(&sb);
    buf_release(&ob);
  }
}

/* A rebuild (the same events, applied in seq order, and then grouped by
 * episode) gives an indicator cube equal to the incremental one. */
static void test_rebuild_equal(void **state) {
  struct fx *f = *state;
  struct pair r1, r2;
  struct error err;
  script(f);
  pair_new(f, &r1);
  pair_new(f, &r2);
  for (int i = 0; i < f->nev; i++)
    assert_int_equal(bedboard_apply(r1.bb, &f->evs[i], &err), 0);
  for (int pass = 0; pass < 4; pass++) {
    char ep[8];
    snprintf(ep, sizeof ep, "e%d", 4 - pass); /* e4 first, e1 last */
    for (int i = 0; i < f->nev; i++)
      if (strcmp(f->evs[i].episode, ep) == 0)
        assert_int_equal(bedboard_apply(r2.bb, &f->evs[i], &err), 0);
  }
  bedboard_flow_horizon(r1.bb, f->d0 + 9);
  bedboard_flow_horizon(r2.bb, f->d0 + 9);
  assert_true(
      indicator_cube_equal(dashboard_cube(f->p.dash), dashboard_cube(r1.dash)));
  assert_true(
      indicator_cube_equal(dashboard_cube(f->p.dash), dashboard_cube(r2.dash)));
  same(f, &r2, -3, 9);
  /* A later horizon on one side only: they differ until the other
   * follows. */
  bedboard_flow_horizon(r1.bb, f->d0 + 10);
  assert_false(
      indicator_cube_equal(dashboard_cube(f->p.dash), dashboard_cube(r1.dash)));
  bedboard_flow_horizon(f->p.bb, f->d0 + 10);
  assert_true(
      indicator_cube_equal(dashboard_cube(f->p.dash), dashboard_cube(r1.dash)));
  pair_free(&r1);
  pair_free(&r2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_scripted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_same_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rebuild_equal, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
