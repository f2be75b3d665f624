/* test_cube.c -- unit tests for the daily flow cube (cube.c).
 *
 * Hand-computed examples: midnight census (stays starting or ending exactly
 * at midnight, open stays), occupancy today / 7 / 30 days, LOS median and
 * P90 from the histogram (DOMAIN §1.4's worked values, the capped bin),
 * transfer-delay days, admissions by local hour across the spring DST
 * change, subtree sums, the moving window (folding keeps the census exact,
 * order does not matter), the flow JSON, the invariant check and the JSON
 * string escaper. The change listener: net changes only (identical items
 * cancel, a shortened stay reports the days it lost), the horizon, and
 * random replacements whose reported sums equal the cube's figures, also
 * after the window has moved. The indicator cube fed from the bed board is
 * tested in test_wardflow.c and in test_bedboard.c's property test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "chrono.h"
#include "cube.h"
#include "mem.h"
#include "org.h"

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"HVA\"}},"
    "{\"id\":\"h1\",\"type\":\"hospital\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Sairaala\",\"sv\":\"Sjukhus\",\"en\":\"Hospital\"}},"
    "{\"id\":\"ed1\",\"type\":\"ed\",\"parent\":\"h1\",\"name\":{\"fi\":\"P\"},"
    "\"beds\":4},"
    "{\"id\":\"w1\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 1\"},\"beds\":3},"
    "{\"id\":\"w2\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"Osasto 2\"},\"beds\":2},"
    "{\"id\":\"w3\",\"type\":\"ward\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"TK\"},\"beds\":5}]}";

struct fx {
  struct org *org;
  struct cube *c;
  int32_t d0; /* Monday 2025-03-03 */
};

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  if (org_load_json(ORG_JSON, strlen(ORG_JSON), &f->org, &err) != 0) {
    mem_free(f);
    return -1;
  }
  f->c = cube_new(f->org, CUBE_DEFAULT_DAYS);
  f->d0 = chrono_days_from_civil(2025, 3, 3);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  cube_free(f->c);
  org_free(f->org);
  mem_free(f);
  return 0;
}

static int64_t at(const struct fx *f, int day, int h, int mi) {
  int64_t ms = 0;
  assert_int_equal(chrono_from_local(f->d0 + day, h, mi, 0, &ms), 0);
  return ms;
}

static size_t uix(const struct fx *f, const char *id) {
  return org_unit_find(f->org, id)->index;
}

static struct cube_item stay(const struct fx *f, const char *w, int64_t a,
                             int64_t b) {
  struct cube_item it = {CUBE_STAY, uix(f, w), a, b, 0};
  return it;
}

static struct cube_item point(const struct fx *f, enum cube_item_kind k,
                              const char *w, int64_t t, int32_t los) {
  struct cube_item it = {k, uix(f, w), t, 0, los};
  return it;
}

static void add(struct fx *f, struct cube_item it) {
  struct error err;
  cube_apply(f->c, &it, 1, +1);
  assert_int_equal(cube_check(f->c, &err), 0);
}

static struct cube_day day(struct fx *f, const char *unit, int d) {
  struct cube_day x;
  assert_int_equal(
      cube_day_get(f->c, org_unit_find(f->org, unit), f->d0 + d, &x), 0);
  return x;
}

static struct cube_stats stats(struct fx *f, const char *unit, int from,
                               int to) {
  struct cube_stats st;
  assert_int_equal(cube_stats_get(f->c, org_unit_find(f->org, unit),
                                  f->d0 + from, f->d0 + to, &st),
                   0);
  return st;
}

static void test_midnight_census(void **state) {
  struct fx *f = *state;
  struct cube_stats st;
  add(f, stay(f, "w1", at(f, 0, 10, 0), at(f, 3, 9, 0))); /* D1 D2 D3 */
  add(f, stay(f, "w1", at(f, 1, 0, 0), at(f, 1, 23, 0))); /* from 00:00 */
  add(f, stay(f, "w1", at(f, 2, 12, 0), CUBE_OPEN));      /* D3 on */
  add(f, stay(f, "w1", at(f, 3, 8, 0), at(f, 3, 18, 0))); /* same day */
  add(f, stay(f, "w1", at(f, 0, 12, 0), at(f, 2, 0, 0))); /* to 00:00 */
  add(f, stay(f, "ed1", at(f, 0, 12, 0), CUBE_OPEN));     /* not a ward */
  assert_int_equal(day(f, "w1", 0).census, 0);
  assert_int_equal(day(f, "w1", 1).census, 3);
  assert_int_equal(day(f, "w1", 2).census, 1);
  assert_int_equal(day(f, "w1", 3).census, 2);
  assert_int_equal(day(f, "w1", 4).census, 1);
  assert_int_equal(day(f, "w1", 300).census, 1); /* the open stay */
  assert_true(day(f, "w1", 300).known);
  assert_int_equal(day(f, "ed1", 1).census, 0);
  assert_int_equal(day(f, "h1", 1).census, 3);
  assert_int_equal(day(f, "w2", 1).census, 0);
  /* Occupancy over D0..D4: 7 care days / (3 beds x 5 days). */
  st = stats(f, "w1", 0, 4);
  assert_int_equal(st.care_days, 7);
  assert_int_equal(st.beds, 3);
  assert_int_equal(st.days_known, 5);
  /* The hospital: beds of w1 + w2 (the ED has no ward beds). */
  st = stats(f, "h1", 0, 4);
  assert_int_equal(st.beds, 5);
  assert_int_equal(st.wards, 2);
  st = stats(f, "hva", 0, 4);
  assert_int_equal(st.beds, 10);
  assert_int_equal(st.wards, 3);
  /* Long ranges after the last record are exact too. */
  st = stats(f, "w1", 5, 104);
  assert_int_equal(st.care_days, 100);
}

/* The census at midnight follows local time: in summer the midnight is
 * 21:00 UTC, in winter 22:00 UTC. */
static void test_census_dst(void **state) {
  struct fx *f = *state;
  int32_t spring = chrono_days_from_civil(2025, 3, 30) - f->d0;
  int64_t m = 0;
  /* Summer: 2025-06-10 00:00 local = 2025-06-09T21:00Z. */
  int32_t june = chrono_days_from_civil(2025, 6, 10) - f->d0;
  assert_int_equal(chrono_from_local(f->d0 + june, 0, 0, 0, &m), 0);
  assert_int_equal(m % 86400000, 21 * 3600000);
  add(f, stay(f, "w2", m - 60000, m + 60000)); /* over the midnight */
  add(f, stay(f, "w2", m, m + 60000));         /* from the midnight */
  add(f, stay(f, "w2", m + 1, m + 60000));     /* just after it */
  assert_int_equal(day(f, "w2", june).census, 2);
  /* Admissions by local hour across the spring change (03:00 -> 04:00 at
   * 01:00 UTC): 00:30Z is 02:30 EET, 01:30Z is 04:30 EEST. */
  {
    int64_t base = (int64_t)(f->d0 + spring) * 86400000;
    struct cube_stats st;
    add(f, point(f, CUBE_ADMISSION, "w2", base + 30 * 60000, 0));
    add(f, point(f, CUBE_ADMISSION, "w2", base + 90 * 60000, 0));
    add(f, point(f, CUBE_ADMISSION, "w2", base + 22 * 3600000 - 1, 0));
    st = stats(f, "w2", spring, spring);
    assert_int_equal(st.admissions, 2);
    assert_int_equal(st.admissions_by_hour[2], 1);
    assert_int_equal(st.admissions_by_hour[4], 1);
    assert_int_equal(st.admissions_by_weekday[6], 2); /* a Sunday */
    /* 21:59:59.999Z on the 30th is 00:59 on the 31st (summer). */
    st = stats(f, "w2", spring + 1, spring + 1);
    assert_int_equal(st.admissions_by_hour[0], 1);
  }
}

static void test_los_median_p90(void **state) {
  struct fx *f = *state;
  static const int32_t los[] = {0, 1, 2, 2, 3, 5, 8, 13, 21, 150};
  struct cube_stats st;
  double med;
  int32_t p90;
  bool capped;
  for (size_t i = 0; i < sizeof los / sizeof los[0]; i++)
    add(f, point(f, CUBE_DISCHARGE, "w1", at(f, (int)i % 3, 14, 0), los[i]));
  st = stats(f, "w1", 0, 29);
  assert_int_equal(st.los_n, 10);
  assert_int_equal(st.discharges, 10);
  assert_int_equal(st.discharges_by_hour[14], 10);
  assert_int_equal(st.los[2], 2);
  assert_int_equal(st.los[CUBE_LOS_BINS - 1], 1); /* 150 -> "100 or more" */
  assert_int_equal(st.los_sum_days, 205);         /* the sum stays exact */
  assert_true(cube_los_median(&st, &med, &capped));
  assert_float_equal(med, 4.0, 1e-12); /* (3 + 5) / 2 */
  assert_false(capped);
  assert_true(cube_los_p90(&st, &p90, &capped));
  assert_int_equal(p90, 21); /* rank ceil(0.9 * 10) = 9 */
  assert_false(capped);
  /* Only day 1's discharges: 1, 3, 13 (i = 1, 4, 7). */
  st = stats(f, "w1", 1, 1);
  assert_int_equal(st.los_n, 3);
  assert_true(cube_los_median(&st, &med, &capped));
  assert_float_equal(med, 3.0, 1e-12);
  assert_true(cube_los_p90(&st, &p90, &capped));
  assert_int_equal(p90, 13);
  /* No discharges: no median. */
  st = stats(f, "w2", 0, 29);
  assert_false(cube_los_median(&st, &med, &capped));
  assert_false(cube_los_p90(&st, &p90, &capped));
}

/* DOMAIN §1.4's values: {7,10,14,21,182} -> 14; {7,10,14,21} -> 12. */
static void test_median_rule(void **state) {
  struct fx *f = *state;
  static const int32_t v[] = {7, 10, 14, 21, 182};
  struct cube_stats st;
  double med;
  int32_t p90;
  bool capped;
  for (size_t i = 0; i < 4; i++)
    add(f, point(f, CUBE_DISCHARGE, "w3", at(f, 0, 9, 0), v[i]));
  st = stats(f, "w3", 0, 0);
  assert_true(cube_los_median(&st, &med, &capped));
  assert_float_equal(med, 12.0, 1e-12);
  add(f, point(f, CUBE_DISCHARGE, "w3", at(f, 0, 9, 0), v[4]));
  st = stats(f, "w3", 0, 0);
  assert_true(cube_los_median(&st, &med, &capped));
  assert_float_equal(med, 14.0, 1e-12);
  assert_false(capped);
  assert_true(cube_los_p90(&st, &p90, &capped));
  assert_int_equal(p90, CUBE_LOS_BINS - 1); /* 182 is in the open bin */
  assert_true(capped);
}

/* Siirtoviivepäivät: ready at 15:00 on day 1 until 10:00 on day 4 counts
 * the midnights of days 2, 3 and 4. */
static void test_transfer_delay(void **state) {
  struct fx *f = *state;
  struct cube_item r1 = {CUBE_READY, uix(f, "w1"), at(f, 1, 15, 0),
                         at(f, 4, 10, 0), 0};
  struct cube_item r2 = {CUBE_READY, uix(f, "w1"), at(f, 2, 0, 0),
                         at(f, 2, 12, 0), 0};
  struct cube_stats st;
  add(f, stay(f, "w1", at(f, 0, 8, 0), at(f, 4, 10, 0)));
  add(f, stay(f, "w1", at(f, 1, 8, 0), at(f, 2, 12, 0)));
  add(f, r1);
  add(f, r2);
  assert_int_equal(day(f, "w1", 1).ready, 0);
  assert_int_equal(day(f, "w1", 2).ready, 2);
  assert_int_equal(day(f, "w1", 3).ready, 1);
  assert_int_equal(day(f, "w1", 4).ready, 1);
  assert_int_equal(day(f, "w1", 5).ready, 0);
  st = stats(f, "w1", 0, 29);
  assert_int_equal(st.delay_days, 4);
  assert_int_equal(st.care_days, 5); /* 4 + 1 */
  st = stats(f, "w1", 3, 29);
  assert_int_equal(st.delay_days, 2);
}

static void test_remove_is_exact(void **state) {
  struct fx *f = *state;
  struct cube_item items[4];
  struct buf a, b;
  struct error err;
  buf_init(&a, 1 << 20);
  buf_init(&b, 1 << 20);
  add(f, stay(f, "w2", at(f, 0, 8, 0), CUBE_OPEN));
  assert_int_equal(cube_dump(f->c, &a), 0);
  items[0] = stay(f, "w1", at(f, 0, 8, 0), at(f, 2, 9, 0));
  items[1] = point(f, CUBE_ADMISSION, "w1", at(f, 0, 8, 0), 0);
  items[2] = point(f, CUBE_DISCHARGE, "w1", at(f, 2, 9, 0), 2);
  items[3] = point(f, CUBE_TRANSFER_OUT, "w1", at(f, 1, 9, 0), 0);
  cube_apply(f->c, items, 4, +1);
  assert_int_equal(day(f, "w1", 1).census, 1);
  assert_int_equal(day(f, "w1", 1).transfers_out, 1);
  cube_apply(f->c, items, 4, -1);
  assert_int_equal(cube_check(f->c, &err), 0);
  assert_int_equal(cube_dump(f->c, &b), 0);
  assert_string_equal(buf_str(&a), buf_str(&b));
  /* Removing what was never added breaks the invariants. */
  cube_apply(f->c, items, 4, -1);
  assert_int_equal(cube_check(f->c, &err), ERR_STATE);
  assert_non_null(strstr(err.msg, "ward 'w1'"));
  cube_apply(f->c, items, 4, +1);
  buf_release(&a);
  buf_release(&b);
}

/* The window: 40 days. Moving it folds the census into the base, so an
 * open stay keeps counting; days before the window are unknown; the result
 * does not depend on the order of contributions. */
static void test_window(void **state) {
  struct fx *f = *state;
  struct cube *c1 = cube_new(f->org, 1); /* clamped to CUBE_MIN_DAYS */
  struct cube *c2 = cube_new(f->org, 40);
  struct cube_item early[3], late;
  struct cube_day d;
  struct buf a, b;
  struct error err;
  early[0] = stay(f, "w1", at(f, 0, 8, 0), CUBE_OPEN);
  early[1] = stay(f, "w1", at(f, 0, 9, 0), at(f, 5, 9, 0));
  early[2] = point(f, CUBE_ADMISSION, "w1", at(f, 0, 8, 0), 0);
  late = point(f, CUBE_ADMISSION, "w1", at(f, 100, 8, 0), 0);
  cube_apply(c1, early, 3, +1);
  cube_apply(c1, &late, 1, +1);
  cube_apply(c2, &late, 1, +1);
  cube_apply(c2, early, 3, +1);
  buf_init(&a, 1 << 20);
  buf_init(&b, 1 << 20);
  assert_int_equal(cube_dump(c1, &a), 0);
  assert_int_equal(cube_dump(c2, &b), 0);
  assert_string_equal(buf_str(&a), buf_str(&b));
  assert_non_null(strstr(buf_str(&a), "cube days=40\nward w1 base=1"));
  assert_int_equal(
      cube_day_get(c1, org_unit_find(f->org, "w1"), f->d0 + 80, &d), 0);
  assert_true(d.known);
  assert_int_equal(d.census, 1);
  assert_int_equal(cube_day_get(c1, org_unit_find(f->org, "w1"), f->d0 + 2, &d),
                   0);
  assert_false(d.known);
  {
    struct cube_stats st;
    assert_int_equal(cube_stats_get(c1, org_unit_find(f->org, "w1"), f->d0 + 50,
                                    f->d0 + 69, &st),
                     0);
    assert_int_equal(st.days_known, 9); /* days 61..69 */
    assert_int_equal(st.care_days, 9);
  }
  /* Removing the early contributions again (now before the window) leaves
   * nothing behind but the late admission. */
  cube_apply(c1, early, 3, -1);
  assert_int_equal(cube_check(c1, &err), 0);
  buf_reset(&a);
  assert_int_equal(cube_dump(c1, &a), 0);
  assert_non_null(strstr(buf_str(&a), "ward w1 base=0 ready_base=0\n"));
  assert_int_equal(
      cube_day_get(c1, org_unit_find(f->org, "w1"), f->d0 + 80, &d), 0);
  assert_int_equal(d.census, 0);
  buf_release(&a);
  buf_release(&b);
  cube_free(c1);
  cube_free(c2);
}

static void test_flow_json(void **state) {
  struct fx *f = *state;
  struct buf b;
  struct error err;
  json_t *j, *x, *series, *last;
  int32_t today = f->d0 + 9; /* Wednesday 2025-03-12 */
  /* w1 (3 beds): two patients for the whole time; one admitted on day 8
   * at 10:00 and discharged on day 9 at 13:00 (LOS 1); one discharged on
   * day 5 after 4 days, ready since day 3. */
  add(f, stay(f, "w1", at(f, -40, 8, 0), CUBE_OPEN));
  add(f, stay(f, "w1", at(f, -40, 9, 0), CUBE_OPEN));
  add(f, stay(f, "w1", at(f, 8, 10, 0), at(f, 9, 13, 0)));
  add(f, point(f, CUBE_ADMISSION, "w1", at(f, 8, 10, 0), 0));
  add(f, point(f, CUBE_DISCHARGE, "w1", at(f, 9, 13, 0), 1));
  add(f, stay(f, "w1", at(f, 1, 8, 0), at(f, 5, 11, 0)));
  add(f, point(f, CUBE_ADMISSION, "w1", at(f, 1, 8, 0), 0));
  add(f, point(f, CUBE_DISCHARGE, "w1", at(f, 5, 11, 0), 4));
  {
    struct cube_item r = {CUBE_READY, uix(f, "w1"), at(f, 3, 12, 0),
                          at(f, 5, 11, 0), 0};
    add(f, r);
  }
  buf_init(&b, 1 << 20);
  assert_int_equal(cube_flow_json(f->c, f->org, "w1", today, &b, &err), 0);
  j = json_loads(buf_str(&b), 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "unit")), "w1");
  assert_string_equal(json_string_value(json_object_get(j, "today")),
                      "2025-03-12");
  assert_string_equal(json_string_value(json_object_get(j, "from")),
                      "2025-02-11");
  assert_int_equal(json_integer_value(json_object_get(j, "beds")), 3);
  x = json_object_get(json_object_get(j, "occupancy"), "today");
  /* Midnight of day 9: the two long stays and the day-8 admission. */
  assert_int_equal(json_integer_value(json_object_get(x, "census")), 3);
  assert_float_equal(json_real_value(json_object_get(x, "pct")), 100.0, 1e-9);
  /* 7 days (days 3..9): 2 x 7 + days 3,4,5 (the day-1 stay) + day 9 = 18
   * care days of 21. */
  x = json_object_get(json_object_get(j, "occupancy"), "avg7");
  assert_int_equal(json_integer_value(json_object_get(x, "care_days")), 18);
  assert_float_equal(json_real_value(json_object_get(x, "pct")),
                     100.0 * 18 / 21, 0.051);
  /* 30 days: 60 + 4 (days 2..5) + 1 = 65 of 90. */
  x = json_object_get(json_object_get(j, "occupancy"), "avg30");
  assert_int_equal(json_integer_value(json_object_get(x, "care_days")), 65);
  assert_int_equal(json_integer_value(json_object_get(x, "days")), 30);
  assert_int_equal(json_integer_value(json_object_get(j, "admissions")), 2);
  assert_int_equal(json_integer_value(json_object_get(j, "discharges")), 2);
  /* Ready at the midnights of days 4 and 5. */
  assert_int_equal(
      json_integer_value(json_object_get(j, "transfer_delay_days")), 2);
  x = json_object_get(j, "los_days");
  assert_int_equal(json_integer_value(json_object_get(x, "n")), 2);
  assert_float_equal(json_real_value(json_object_get(x, "median")), 2.5, 1e-9);
  assert_int_equal(json_integer_value(json_object_get(x, "p90")), 4);
  assert_float_equal(json_real_value(json_object_get(x, "mean")), 2.5, 1e-9);
  assert_int_equal(json_array_size(json_object_get(x, "histogram")), 5);
  x = json_object_get(j, "admissions_by_hour");
  assert_int_equal(json_integer_value(json_array_get(x, 8)), 1);
  assert_int_equal(json_integer_value(json_array_get(x, 10)), 1);
  x = json_object_get(j, "admissions_by_weekday");
  assert_int_equal(json_integer_value(json_array_get(x, 1)), 2); /* Tue */
  series = json_object_get(j, "series");
  assert_int_equal(json_array_size(series), 30);
  last = json_array_get(series, 29);
  assert_string_equal(json_string_value(json_object_get(last, "date")),
                      "2025-03-12");
  assert_int_equal(json_integer_value(json_object_get(last, "census")), 3);
  assert_int_equal(json_integer_value(json_object_get(last, "discharges")), 1);
  x = json_array_get(series, 25); /* day 5 */
  assert_int_equal(json_integer_value(json_object_get(x, "census")), 3);
  assert_int_equal(json_integer_value(json_object_get(x, "transfer_delay")), 1);
  json_decref(j);
  /* The county and an unknown unit. */
  buf_reset(&b);
  assert_int_equal(cube_flow_json(f->c, f->org, NULL, today, &b, &err), 0);
  j = json_loads(buf_str(&b), 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "unit")), "hva");
  assert_int_equal(json_integer_value(json_object_get(j, "beds")), 10);
  x = json_object_get(json_object_get(j, "occupancy"), "today");
  assert_float_equal(json_real_value(json_object_get(x, "pct")), 30.0, 1e-9);
  json_decref(j);
  buf_reset(&b);
  assert_int_equal(cube_flow_json(f->c, f->org, "nope", today, &b, &err),
                   ERR_NOTFOUND);
  assert_string_equal(err.msg, "unknown unit 'nope'");
  /* A unit with no wards: beds 0, percentages null. */
  buf_reset(&b);
  assert_int_equal(cube_flow_json(f->c, f->org, "ed1", today, &b, &err), 0);
  j = json_loads(buf_str(&b), 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(j, "beds")), 0);
  x = json_object_get(json_object_get(j, "occupancy"), "today");
  assert_true(json_is_null(json_object_get(x, "pct")));
  json_decref(j);
  /* A too small output buffer. */
  buf_release(&b);
  buf_init(&b, 100);
  assert_int_equal(cube_flow_json(f->c, f->org, "w1", today, &b, &err),
                   ERR_TOOBIG);
  buf_release(&b);
}

/* Days before the window show as null in the flow JSON. */
static void test_flow_json_unknown_days(void **state) {
  struct fx *f = *state;
  struct cube *c = cube_new(f->org, 40);
  struct cube_item it = stay(f, "w2", at(f, 0, 8, 0), CUBE_OPEN);
  struct buf b;
  struct error err;
  json_t *j, *s;
  cube_apply(c, &it, 1, +1);
  it = point(f, CUBE_ADMISSION, "w2", at(f, 50, 8, 0), 0);
  cube_apply(c, &it, 1, +1); /* window now days 11..50 */
  buf_init(&b, 1 << 20);
  assert_int_equal(cube_flow_json(c, f->org, "w2", f->d0 + 30, &b, &err), 0);
  j = json_loads(buf_str(&b), 0, NULL);
  s = json_object_get(j, "series");
  assert_true(json_is_null(json_object_get(json_array_get(s, 0), "census")));
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(s, 29), "census")), 1);
  assert_int_equal(
      json_integer_value(json_object_get(
          json_object_get(json_object_get(j, "occupancy"), "avg30"), "days")),
      20);
  json_decref(j);
  buf_release(&b);
  cube_free(c);
}

/* ------------------------------------------------------------ listener */

#define REC_LO (-60) /* days relative to d0 */
#define REC_DAYS 700
#define REC_FIGS 7

/* What a listener heard: per org unit, figure and day, the sum of the
 * changes; and the LOS of discharges per unit and value. */
struct rec {
  const struct fx *f;
  int64_t sum[8][REC_FIGS][REC_DAYS];
  int64_t los[8][CUBE_LOS_BINS];
  int64_t hour[8][24];
  size_t calls;
  int64_t cells; /* day cells touched */
};

static void hear(void *ctx, const struct cube_change *ch) {
  struct rec *r = ctx;
  assert_true(ch->unit < 8);
  assert_true(ch->figure >= CUBE_FIG_CENSUS &&
              ch->figure <= CUBE_FIG_DISCHARGES);
  assert_true(ch->from <= ch->to);
  assert_true(ch->delta != 0);
  if (ch->figure != CUBE_FIG_CENSUS && ch->figure != CUBE_FIG_READY)
    assert_int_equal(ch->from, ch->to);
  r->calls++;
  for (int64_t d = ch->from; d <= ch->to; d++) {
    int64_t i = d - r->f->d0 - REC_LO;
    assert_true(i >= 0 && i < REC_DAYS);
    r->sum[ch->unit][ch->figure][i] += ch->delta;
    r->cells++;
  }
  if (ch->figure == CUBE_FIG_DISCHARGES) {
    int32_t l =
        ch->los_days >= CUBE_LOS_BINS - 1 ? CUBE_LOS_BINS - 1 : ch->los_days;
    r->los[ch->unit][l] += ch->delta;
  }
  if (ch->figure == CUBE_FIG_ADMISSIONS)
    r->hour[ch->unit][ch->hour] += ch->delta;
}

static int64_t heard(const struct rec *r, const char *unit,
                     enum cube_figure fig, int d) {
  return r->sum[uix(r->f, unit)][fig][d - REC_LO];
}

/* Every ward's heard figures equal the cube's for the days d0+from..to
 * (which must be in the window and at or before the horizon). */
static void check_heard(const struct rec *r, struct cube *c, int from, int to) {
  static const char *const wards[] = {"w1", "w2", "w3"};
  for (size_t w = 0; w < 3; w++)
    for (int d = from; d <= to; d++) {
      struct cube_day x;
      struct cube_stats st;
      const struct org_unit *u = org_unit_find(r->f->org, wards[w]);
      assert_int_equal(cube_day_get(c, u, r->f->d0 + d, &x), 0);
      assert_true(x.known);
      if (x.census != heard(r, wards[w], CUBE_FIG_CENSUS, d) ||
          x.ready != heard(r, wards[w], CUBE_FIG_READY, d) ||
          x.admissions != heard(r, wards[w], CUBE_FIG_ADMISSIONS, d) ||
          x.transfers_in != heard(r, wards[w], CUBE_FIG_TRANSFERS_IN, d) ||
          x.transfers_out != heard(r, wards[w], CUBE_FIG_TRANSFERS_OUT, d) ||
          x.discharges != heard(r, wards[w], CUBE_FIG_DISCHARGES, d))
        fail_msg("ward %s day %d: cube %d/%d/%d/%d/%d/%d, heard "
                 "%d/%d/%d/%d/%d/%d",
                 wards[w], d, (int)x.census, (int)x.ready, (int)x.admissions,
                 (int)x.transfers_in, (int)x.transfers_out, (int)x.discharges,
                 (int)heard(r, wards[w], CUBE_FIG_CENSUS, d),
                 (int)heard(r, wards[w], CUBE_FIG_READY, d),
                 (int)heard(r, wards[w], CUBE_FIG_ADMISSIONS, d),
                 (int)heard(r, wards[w], CUBE_FIG_TRANSFERS_IN, d),
                 (int)heard(r, wards[w], CUBE_FIG_TRANSFERS_OUT, d),
                 (int)heard(r, wards[w], CUBE_FIG_DISCHARGES, d));
      (void)st;
    }
}

static void test_listener_net(void **state) {
  struct fx *f = *state;
  struct rec *r = mem_calloc(1, sizeof *r);
  struct cube_item open, closed, items[3];
  struct error err;
  size_t calls;
  r->f = f;
  assert_int_equal(cube_horizon(f->c), INT32_MIN);
  assert_int_equal(cube_set_listener(f->c, hear, r), 0);
  /* An open stay from day 0 10:00: its first midnight is day 1, which
   * becomes the horizon. */
  open = stay(f, "w1", at(f, 0, 10, 0), CUBE_OPEN);
  items[0] = open;
  items[1] = point(f, CUBE_ADMISSION, "w1", at(f, 0, 10, 0), 0);
  cube_replace(f->c, NULL, 0, items, 2);
  assert_int_equal(cube_horizon(f->c), f->d0 + 1);
  assert_int_equal(r->calls, 2);
  assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 1), 1);
  assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 2), 0); /* beyond */
  assert_int_equal(heard(r, "w1", CUBE_FIG_ADMISSIONS, 0), 1);
  assert_int_equal(r->hour[uix(f, "w1")][10], 1);
  /* The owner's clock moves the horizon: the census of the new days. */
  cube_set_horizon(f->c, f->d0 + 5);
  assert_int_equal(r->calls, 3);
  assert_int_equal(r->cells, 2 + 4);
  for (int d = 1; d <= 5; d++)
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, d), 1);
  cube_set_horizon(f->c, f->d0 + 3); /* never back */
  assert_int_equal(cube_horizon(f->c), f->d0 + 5);
  assert_int_equal(r->calls, 3);
  /* The same contribution again: nothing changes, nothing is heard. */
  calls = r->calls;
  cube_replace(f->c, items, 2, items, 2);
  assert_int_equal(r->calls, calls);
  /* The stay ends on day 3 at 09:00: the census of days 4 and 5 goes, in
   * one change; with the discharge (LOS 3). */
  closed = stay(f, "w1", at(f, 0, 10, 0), at(f, 3, 9, 0));
  {
    struct cube_item now[3] = {
        closed, items[1], point(f, CUBE_DISCHARGE, "w1", at(f, 3, 9, 0), 3)};
    cube_replace(f->c, items, 2, now, 3);
    assert_int_equal(r->calls, calls + 2);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 3), 1);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 4), 0);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 5), 0);
    assert_int_equal(heard(r, "w1", CUBE_FIG_DISCHARGES, 3), 1);
    assert_int_equal(r->los[uix(f, "w1")][3], 1);
    check_heard(r, f->c, -5, 5);
    /* The discharge cancelled (A13): back to the open stay. */
    cube_replace(f->c, now, 3, items, 2);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 5), 1);
    assert_int_equal(heard(r, "w1", CUBE_FIG_DISCHARGES, 3), 0);
    assert_int_equal(r->los[uix(f, "w1")][3], 0);
    check_heard(r, f->c, -5, 5);
  }
  /* A late event moves the stay to w2 from day 2 (out of order). */
  {
    struct cube_item moved[5] = {
        stay(f, "w1", at(f, 0, 10, 0), at(f, 2, 9, 0)), items[1],
        point(f, CUBE_TRANSFER_OUT, "w1", at(f, 2, 9, 0), 0),
        point(f, CUBE_TRANSFER_IN, "w2", at(f, 2, 9, 0), 0),
        stay(f, "w2", at(f, 2, 9, 0), CUBE_OPEN)};
    cube_replace(f->c, items, 2, moved, 5);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 2), 1);
    assert_int_equal(heard(r, "w1", CUBE_FIG_CENSUS, 3), 0);
    assert_int_equal(heard(r, "w2", CUBE_FIG_CENSUS, 3), 1);
    assert_int_equal(heard(r, "w2", CUBE_FIG_CENSUS, 5), 1);
    assert_int_equal(heard(r, "w2", CUBE_FIG_TRANSFERS_IN, 2), 1);
    check_heard(r, f->c, -5, 5);
  }
  (void)open;
  assert_int_equal(cube_check(f->c, &err), 0);
  /* Too late to connect a listener. */
  assert_int_equal(cube_set_listener(f->c, hear, r), ERR_STATE);
  mem_free(r);
}

/* xorshift64* */
static uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 2685821657736338717ULL;
}

static struct cube_item rand_item(struct fx *f, uint64_t *seed) {
  static const char *const units[] = {"w1", "w2", "w3", "ed1"};
  const char *u = units[rnd(seed) % 4];
  int day = (int)(rnd(seed) % 200) - 20;
  int64_t t = at(f, day, (int)(rnd(seed) % 24), (int)(rnd(seed) % 60));
  int k = (int)(rnd(seed) % 6);
  if (k == 0 || k == 1) {
    int64_t len = (int64_t)(rnd(seed) % (40 * 24)) * 3600000;
    struct cube_item it = {k == 0 ? CUBE_STAY : CUBE_READY, uix(f, u), t,
                           rnd(seed) % 4 == 0 ? CUBE_OPEN : t + len, 0};
    return it;
  }
  return point(f, (enum cube_item_kind)(k + 1), u, t,
               (int32_t)(rnd(seed) % 120));
}

/* Random episodes replaced again and again (corrections, cancels, late
 * events), in a small window that moves: the heard sums equal the cube's
 * figures for every ward and day of the window, and a cube fed the final
 * contributions at once hears the same. */
static void test_listener_random(void **state) {
  struct fx *f = *state;
  enum { EPS = 60, MAXN = 5 };
  struct cube_item cur[EPS][MAXN];
  size_t ncur[EPS];
  struct rec *r = mem_calloc(1, sizeof *r), *r2 = mem_calloc(1, sizeof *r2);
  struct cube *c = cube_new(f->org, CUBE_MIN_DAYS), *c2;
  uint64_t seed = 0x5EED1234ULL;
  struct error err;
  int32_t hz;
  r->f = f;
  r2->f = f;
  memset(ncur, 0, sizeof ncur);
  assert_int_equal(cube_set_listener(c, hear, r), 0);
  for (int step = 0; step < 3000; step++) {
    int e = (int)(rnd(&seed) % EPS);
    struct cube_item next[MAXN];
    size_t n = rnd(&seed) % (MAXN + 1);
    for (size_t i = 0; i < n; i++)
      next[i] =
          rnd(&seed) % 3 == 0 && i < ncur[e] ? cur[e][i] : rand_item(f, &seed);
    cube_replace(c, cur[e], ncur[e], next, n);
    memcpy(cur[e], next, n * sizeof *next);
    ncur[e] = n;
    if (step % 500 == 0)
      cube_set_horizon(c, f->d0 + 100 + step / 100);
    /* Random readiness need not lie within a stay, so only the totals
     * (checked first) must hold. */
    if (step % 250 == 0 && cube_check(c, &err) != 0 &&
        strstr(err.msg, "total") != NULL)
      fail_msg("%s", err.msg);
  }
  hz = cube_horizon(c);
  assert_true(hz >= f->d0 + 150);
  /* The window holds the last 40 days up to the horizon. */
  check_heard(r, c, hz - f->d0 - (CUBE_MIN_DAYS - 1), hz - f->d0);
  /* The same final contributions at once, horizon set after: the same
   * sums on every day, also before the window. */
  c2 = cube_new(f->org, CUBE_MAX_DAYS);
  assert_int_equal(cube_set_listener(c2, hear, r2), 0);
  for (int e = 0; e < EPS; e++)
    cube_replace(c2, NULL, 0, cur[e], ncur[e]);
  cube_set_horizon(c2, hz);
  assert_int_equal(cube_horizon(c2), hz);
  assert_memory_equal(r->sum, r2->sum, sizeof r->sum);
  assert_memory_equal(r->los, r2->los, sizeof r->los);
  check_heard(r2, c2, -30, hz - f->d0);
  cube_free(c);
  cube_free(c2);
  mem_free(r);
  mem_free(r2);
}

static void test_json_string(void **state) {
  struct buf b;
  (void)state;
  buf_init(&b, 1024);
  assert_int_equal(cube_json_string(&b, "a\"b\\c\n\x01"), 0);
  assert_string_equal(buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
  buf_reset(&b);
  assert_int_equal(cube_json_string(&b, "P\xc3\xa4ivystys \xe2\x82\xac"), 0);
  assert_string_equal(buf_str(&b), "\"P\xc3\xa4ivystys \xe2\x82\xac\"");
  buf_reset(&b);
  /* A lone continuation byte, a truncated sequence, an overlong form, a
   * surrogate. */
  assert_int_equal(cube_json_string(&b, "x\x80y\xc3"), 0);
  assert_string_equal(buf_str(&b), "\"x\\ufffdy\\ufffd\"");
  buf_reset(&b);
  assert_int_equal(cube_json_string(&b, "\xc0\xaf\xed\xa0\x80"), 0);
  assert_string_equal(buf_str(&b), "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
  buf_reset(&b);
  assert_int_equal(cube_json_string(&b, NULL), 0);
  assert_string_equal(buf_str(&b), "null");
  buf_release(&b);
  buf_init(&b, 3);
  assert_int_equal(cube_json_string(&b, "abcd"), ERR_TOOBIG);
  buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_midnight_census, setup, teardown),
      cmocka_unit_test_setup_teardown(test_census_dst, setup, teardown),
      cmocka_unit_test_setup_teardown(test_los_median_p90, setup, teardown),
      cmocka_unit_test_setup_teardown(test_median_rule, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_delay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_is_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flow_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flow_json_unknown_days, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_listener_net, setup, teardown),
      cmocka_unit_test_setup_teardown(test_listener_random, setup, teardown),
      cmocka_unit_test(test_json_string),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
