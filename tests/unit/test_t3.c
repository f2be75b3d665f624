/* test_t3.c -- unit tests for t3.c.
 *
 * DOMAIN.md Part B §1.4 exactly (T3 = 14 with n = 5 and 1 censored; 12
 * without censored values), through both the array function and the
 * incremental book; the same-day slot (0 days); urgent, held, non-bookable,
 * booked and past slots left out; the remote flag; options; the 08:00
 * Helsinki measurement across both DST changes (dates are Helsinki dates,
 * not UTC dates); book state transitions and their errors; and a property
 * test: after every random slot change the book's value equals the brute
 * force over the current slots, for random t0 and both remote variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "t3.h"

/* Helsinki wall time -> instant */
static int64_t at(int y, int mo, int d, int h, int mi) {
  int64_t ms = 0;
  assert_int_equal(
      chrono_from_local(chrono_days_from_civil(y, mo, d), h, mi, 0, &ms), 0);
  return ms;
}

static struct t3_slot free_slot(int64_t start) {
  struct t3_slot s = {start, true, false, false, false, true};
  return s;
}

/* DOMAIN §1.4: Monday 2025-03-03 08:00, physicians A..E. */
struct prof {
  const char *name;
  int n;
  struct t3_slot slots[8];
};

static void worked_example(struct prof *p) {
  memset(p, 0, 5 * sizeof *p);
  p[0].name = "A";
  p[0].slots[p[0].n++] = free_slot(at(2025, 3, 3, 14, 0));
  p[0].slots[p[0].n++] = free_slot(at(2025, 3, 4, 9, 0));
  p[0].slots[p[0].n++] = free_slot(at(2025, 3, 10, 12, 30));
  p[1].name = "B";
  p[1].slots[p[1].n++] = free_slot(at(2025, 3, 12, 8, 0));
  p[1].slots[p[1].n++] = free_slot(at(2025, 3, 13, 8, 0));
  p[1].slots[p[1].n++] = free_slot(at(2025, 3, 13, 15, 0));
  p[2].name = "C";
  p[2].slots[p[2].n++] = free_slot(at(2025, 3, 5, 10, 0));
  p[2].slots[p[2].n++] = free_slot(at(2025, 3, 20, 10, 0));
  p[2].slots[p[2].n++] = free_slot(at(2025, 3, 24, 10, 0));
  p[3].name = "D";
  p[3].slots[p[3].n++] = free_slot(at(2025, 3, 6, 10, 0));
  p[3].slots[p[3].n++] = free_slot(at(2025, 3, 7, 10, 0));
  p[3].slots[p[3].n++] = free_slot(at(2025, 3, 17, 10, 0));
  p[4].name = "E"; /* only two free slots in the open book */
  p[4].slots[p[4].n++] = free_slot(at(2025, 3, 4, 10, 0));
  p[4].slots[p[4].n++] = free_slot(at(2025, 4, 4, 10, 0));
  /* slots that must not count, added to everyone */
  for (int i = 0; i < 5; i++) {
    struct t3_slot s;
    s = free_slot(at(2025, 3, 3, 7, 59)); /* before t0 */
    p[i].slots[p[i].n++] = s;
    s = free_slot(at(2025, 3, 3, 10, 0));
    s.urgent = true;
    p[i].slots[p[i].n++] = s;
    s = free_slot(at(2025, 3, 3, 11, 0));
    s.held = true;
    p[i].slots[p[i].n++] = s;
    s = free_slot(at(2025, 3, 3, 12, 0));
    s.free = false; /* booked */
    p[i].slots[p[i].n++] = s;
    s = free_slot(at(2025, 3, 3, 13, 0));
    s.bookable = false;
    p[i].slots[p[i].n++] = s;
  }
}

static const int32_t want_days[5] = {7, 10, 21, 14, 182};

static void check_summary(const struct t3_value *v) {
  struct t3_summary s;
  assert_int_equal(t3_unit(v, 5, &s), 0);
  assert_int_equal(s.n, 5);
  assert_int_equal(s.censored, 1);
  assert_string_equal(s.thl.rule, T3_RULE_THL);
  assert_true(s.thl.has_value);
  assert_int_equal(s.thl.n, 5);
  assert_true(s.thl.median == 14.0);
  assert_true(s.thl.mean == (7.0 + 10 + 21 + 14 + 182) / 5);
  assert_string_equal(s.excl.rule, T3_RULE_EXCL);
  assert_int_equal(s.excl.n, 4);
  assert_true(s.excl.median == 12.0);
  assert_true(s.excl.mean == 13.0);
}

static void test_worked_example(void **state) {
  struct prof p[5];
  struct t3_value v[5];
  int64_t t0;
  (void)state;
  worked_example(p);
  assert_int_equal(t3_measure_time(chrono_days_from_civil(2025, 3, 3),
                                   T3_DEFAULT_HOUR, 0, &t0),
                   0);
  assert_int_equal(t0, at(2025, 3, 3, 8, 0));
  for (int i = 0; i < 5; i++) {
    assert_int_equal(
        t3_professional(p[i].slots, (size_t)p[i].n, t0, NULL, &v[i]), 0);
    if (v[i].days != want_days[i])
      fail_msg("professional %s: %d days, want %d", p[i].name, v[i].days,
               want_days[i]);
    assert_int_equal(v[i].censored, i == 4);
  }
  check_summary(v);
}

static void test_worked_example_book(void **state) {
  struct prof p[5];
  struct t3_value v[5];
  int64_t t0 = at(2025, 3, 3, 8, 0);
  (void)state;
  worked_example(p);
  for (int i = 0; i < 5; i++) {
    struct t3_book *b = t3_book_new();
    char id[16];
    for (int k = 0; k < p[i].n; k++) {
      snprintf(id, sizeof id, "%s-%d", p[i].name, k);
      assert_int_equal(t3_book_open(b, id, strlen(id), &p[i].slots[k]), 0);
    }
    assert_int_equal(t3_book_count(b), (size_t)p[i].n);
    assert_int_equal(t3_book_value(b, t0, NULL, &v[i]), 0);
    assert_int_equal(v[i].days, want_days[i]);
    t3_book_free(b);
  }
  check_summary(v);
}

static void test_same_day_and_bounds(void **state) {
  struct t3_slot s[3];
  struct t3_value v;
  int64_t t0 = at(2025, 3, 3, 8, 0);
  (void)state;
  s[0] = free_slot(at(2025, 3, 3, 9, 0));
  s[1] = free_slot(t0); /* exactly at t0: counts */
  s[2] = free_slot(at(2025, 3, 3, 23, 59));
  assert_int_equal(t3_professional(s, 3, t0, NULL, &v), 0);
  assert_int_equal(v.days, 0);
  assert_false(v.censored);
  s[1].start = t0 - 1; /* a millisecond before: does not */
  assert_int_equal(t3_professional(s, 3, t0, NULL, &v), 0);
  assert_int_equal(v.days, 182);
  assert_true(v.censored);
  /* no slots at all */
  assert_int_equal(t3_professional(NULL, 0, t0, NULL, &v), 0);
  assert_int_equal(v.days, 182);
  assert_true(v.censored);
}

static void test_remote_and_options(void **state) {
  struct t3_slot s[5];
  struct t3_value v = {-1, false};
  struct t3_opts o;
  int64_t t0 = at(2025, 3, 3, 8, 0);
  (void)state;
  s[0] = free_slot(at(2025, 3, 3, 9, 0));
  s[1] = free_slot(at(2025, 3, 4, 9, 0));
  s[1].remote = true;
  s[2] = free_slot(at(2025, 3, 5, 9, 0));
  s[3] = free_slot(at(2025, 3, 6, 9, 0));
  s[4] = free_slot(at(2025, 3, 20, 9, 0));
  t3_opts_default(&o);
  assert_int_equal(o.cap, 182);
  assert_int_equal(o.nth, 3);
  assert_true(o.count_remote);
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), 0);
  assert_int_equal(v.days, 2); /* 03-03, 03-04 (remote), 03-05 */
  o.count_remote = false;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), 0);
  assert_int_equal(v.days, 3); /* 03-03, 03-05, 03-06 */
  o.nth = 5;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), 0);
  assert_int_equal(v.days, 182);
  assert_true(v.censored);
  o.cap = 42; /* the local variant of DOMAIN §1.2 */
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), 0);
  assert_int_equal(v.days, 42);
  assert_true(v.censored);
  o.nth = 1;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), 0);
  assert_int_equal(v.days, 0);
  /* bad options change nothing */
  v.days = -7;
  o.nth = 0;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), ERR_INVAL);
  o.nth = T3_MAX_NTH + 1;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), ERR_INVAL);
  o.nth = 3;
  o.cap = -1;
  assert_int_equal(t3_professional(s, 5, t0, &o, &v), ERR_INVAL);
  assert_int_equal(t3_professional(NULL, 2, t0, NULL, &v), ERR_INVAL);
  assert_int_equal(v.days, -7);
  assert_string_equal(t3_group_name(T3_PHYSICIAN), "physician");
  assert_string_equal(t3_group_name(T3_NURSE), "nurse");
  assert_null(t3_group_name(T3__GROUPS));
}

static void test_dst(void **state) {
  struct t3_slot s[3];
  struct t3_value v;
  int64_t t0;
  (void)state;
  /* spring: 2025-03-30, clocks 03:00 -> 04:00; 08:00 EEST = 05:00Z */
  assert_int_equal(
      t3_measure_time(chrono_days_from_civil(2025, 3, 30), 8, 0, &t0), 0);
  assert_int_equal(t0, 1743310800000LL); /* 2025-03-30T05:00:00Z */
  {
    int64_t before;
    assert_int_equal(
        t3_measure_time(chrono_days_from_civil(2025, 3, 29), 8, 0, &before), 0);
    assert_int_equal(before, 1743228000000LL); /* 2025-03-29T06:00:00Z */
  }
  s[0] = free_slot(at(2025, 3, 30, 9, 0));
  s[1] = free_slot(at(2025, 3, 30, 23, 30)); /* 20:30Z */
  s[2] = free_slot(at(2025, 3, 31, 0, 30));  /* 21:30Z on the 30th */
  assert_int_equal(s[2].start, 1743370200000LL);
  assert_int_equal(t3_professional(s, 3, t0, NULL, &v), 0);
  assert_int_equal(v.days, 1); /* a UTC date would say 0 */
  /* autumn: 2025-10-26, clocks 04:00 -> 03:00; 08:00 EET = 06:00Z */
  assert_int_equal(
      t3_measure_time(chrono_days_from_civil(2025, 10, 26), 8, 0, &t0), 0);
  assert_int_equal(t0, 1761458400000LL);
  s[0] = free_slot(at(2025, 10, 26, 8, 0));
  s[1] = free_slot(at(2025, 10, 26, 23, 30)); /* 21:30Z */
  s[2] = free_slot(at(2025, 10, 27, 1, 0));   /* 23:00Z on the 26th */
  assert_int_equal(s[2].start, 1761519600000LL);
  assert_int_equal(t3_professional(s, 3, t0, NULL, &v), 0);
  assert_int_equal(v.days, 1);
  /* measured before midnight UTC but after midnight Helsinki */
  s[2] = free_slot(at(2025, 10, 26, 23, 59));
  assert_int_equal(t3_professional(s, 3, t0, NULL, &v), 0);
  assert_int_equal(v.days, 0);
}

static void test_unit_edges(void **state) {
  struct t3_summary s;
  struct t3_value v[4] = {{5, false}, {182, true}, {182, true}, {3, false}};
  (void)state;
  assert_int_equal(t3_unit(NULL, 0, &s), 0);
  assert_int_equal(s.n, 0);
  assert_false(s.thl.has_value);
  assert_false(s.excl.has_value);
  assert_int_equal(t3_unit(v, 4, &s), 0);
  assert_true(s.thl.median == (5.0 + 182.0) / 2);
  assert_true(s.excl.median == 4.0);
  assert_int_equal(s.censored, 2);
  v[0].days = -1;
  assert_int_equal(t3_unit(v, 4, &s), ERR_RANGE);
  assert_int_equal(t3_unit(NULL, 3, &s), ERR_INVAL);
  /* all censored: the excluding rule has no value */
  v[0] = (struct t3_value){182, true};
  v[3] = (struct t3_value){182, true};
  assert_int_equal(t3_unit(v, 4, &s), 0);
  assert_true(s.thl.median == 182.0);
  assert_false(s.excl.has_value);
  assert_int_equal(s.excl.n, 0);
}

static void test_book_transitions(void **state) {
  struct t3_book *b = t3_book_new();
  struct t3_slot s = free_slot(at(2025, 3, 3, 9, 0)), got;
  struct t3_value v;
  int64_t t0 = at(2025, 3, 3, 8, 0);
  char longid[T3_ID_MAX + 1];
  (void)state;
  assert_int_equal(t3_book_open(b, "s1", 2, &s), 0);
  assert_int_equal(t3_book_open(b, "s1", 2, &s), ERR_EXISTS);
  assert_int_equal(t3_book_open(b, "", 0, &s), ERR_INVAL);
  memset(longid, 'x', sizeof longid);
  assert_int_equal(t3_book_open(b, longid, T3_ID_MAX, &s), ERR_INVAL);
  assert_int_equal(t3_book_open(b, "a\0b", 3, &s), ERR_INVAL);
  s.start = at(2025, 3, 4, 9, 0);
  assert_int_equal(t3_book_open(b, "s2", 2, &s), 0);
  s.start = at(2025, 3, 5, 9, 0);
  assert_int_equal(t3_book_open(b, "s3", 2, &s), 0);
  assert_int_equal(t3_book_value(b, t0, NULL, &v), 0);
  assert_int_equal(v.days, 2);
  /* booked: the third slot is gone */
  assert_int_equal(t3_book_book(b, "s1", 2), 0);
  assert_int_equal(t3_book_book(b, "s1", 2), ERR_STATE);
  assert_int_equal(t3_book_value(b, t0, NULL, &v), 0);
  assert_true(v.censored);
  /* released */
  assert_int_equal(t3_book_release(b, "s1", 2), 0);
  assert_int_equal(t3_book_release(b, "s1", 2), ERR_STATE);
  assert_int_equal(t3_book_value(b, t0, NULL, &v), 0);
  assert_int_equal(v.days, 2);
  /* rescheduled to later */
  s.start = at(2025, 3, 20, 9, 0);
  assert_int_equal(t3_book_update(b, "s1", 2, &s), 0);
  assert_int_equal(t3_book_get(b, "s1", 2, &got), 0);
  assert_int_equal(got.start, s.start);
  assert_int_equal(t3_book_value(b, t0, NULL, &v), 0);
  assert_int_equal(v.days, 17);
  /* made urgent, then removed */
  s.urgent = true;
  assert_int_equal(t3_book_update(b, "s1", 2, &s), 0);
  assert_int_equal(t3_book_value(b, t0, NULL, &v), 0);
  assert_true(v.censored);
  assert_int_equal(t3_book_remove(b, "s1", 2), 0);
  assert_int_equal(t3_book_remove(b, "s1", 2), ERR_NOTFOUND);
  assert_int_equal(t3_book_book(b, "nope", 4), ERR_NOTFOUND);
  assert_int_equal(t3_book_release(b, "nope", 4), ERR_NOTFOUND);
  assert_int_equal(t3_book_update(b, "nope", 4, &s), ERR_NOTFOUND);
  assert_int_equal(t3_book_get(b, "nope", 4, &got), ERR_NOTFOUND);
  assert_int_equal(t3_book_count(b), 2);
  /* prune the past */
  assert_int_equal(t3_book_prune(b, at(2025, 3, 4, 12, 0)), 1);
  assert_int_equal(t3_book_count(b), 1);
  assert_int_equal(t3_book_get(b, "s2", 2, &got), ERR_NOTFOUND);
  assert_int_equal(t3_book_get(b, "s3", 2, &got), 0);
  t3_book_free(b);
  t3_book_free(NULL);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

#define PMAX 400

static void test_book_property(void **state) {
  struct t3_book *b = t3_book_new();
  struct t3_slot slots[PMAX];
  bool used[PMAX];
  int64_t base = at(2025, 1, 1, 0, 0);
  size_t live = 0;
  (void)state;
  memset(used, 0, sizeof used);
  for (int step = 0; step < 30000; step++) {
    int i = (int)(rnd() % PMAX), rc;
    char id[16];
    snprintf(id, sizeof id, "slot-%d", i);
    if (!used[i]) {
      struct t3_slot s;
      s.start = base + (int64_t)(rnd() % (200LL * 24 * 60)) * 60000;
      s.bookable = rnd() % 10 != 0;
      s.urgent = rnd() % 8 == 0;
      s.held = rnd() % 9 == 0;
      s.remote = rnd() % 3 == 0;
      s.free = rnd() % 4 != 0;
      assert_int_equal(t3_book_open(b, id, strlen(id), &s), 0);
      slots[i] = s;
      used[i] = true;
      live++;
    } else {
      switch (rnd() % 4) {
      case 0:
        rc = t3_book_book(b, id, strlen(id));
        assert_int_equal(rc, slots[i].free ? 0 : ERR_STATE);
        slots[i].free = false;
        break;
      case 1:
        rc = t3_book_release(b, id, strlen(id));
        assert_int_equal(rc, slots[i].free ? ERR_STATE : 0);
        slots[i].free = true;
        break;
      case 2:
        slots[i].start = base + (int64_t)(rnd() % (200LL * 24 * 60)) * 60000;
        slots[i].remote = rnd() % 3 == 0;
        assert_int_equal(t3_book_update(b, id, strlen(id), &slots[i]), 0);
        break;
      default:
        assert_int_equal(t3_book_remove(b, id, strlen(id)), 0);
        used[i] = false;
        live--;
        break;
      }
    }
    if (step % 7 == 0) {
      struct t3_slot cur[PMAX];
      size_t n = 0;
      int64_t t0 = base + (int64_t)(rnd() % (220LL * 24)) * 3600000;
      for (int k = 0; k < PMAX; k++)
        if (used[k])
          cur[n++] = slots[k];
      assert_int_equal(n, live);
      assert_int_equal(t3_book_count(b), live);
      for (int remote = 0; remote < 2; remote++) {
        struct t3_opts o;
        struct t3_value want, got;
        t3_opts_default(&o);
        o.count_remote = remote;
        o.nth = 1 + (int)(rnd() % 5);
        assert_int_equal(t3_professional(cur, n, t0, &o, &want), 0);
        assert_int_equal(t3_book_value(b, t0, &o, &got), 0);
        if (want.days != got.days || want.censored != got.censored)
          fail_msg("step %d: book %d/%d, brute force %d/%d", step, got.days,
                   got.censored, want.days, want.censored);
      }
    }
  }
  t3_book_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worked_example),
      cmocka_unit_test(test_worked_example_book),
      cmocka_unit_test(test_same_day_and_bounds),
      cmocka_unit_test(test_remote_and_options),
      cmocka_unit_test(test_dst),
      cmocka_unit_test(test_unit_edges),
      cmocka_unit_test(test_book_transitions),
      cmocka_unit_test(test_book_property),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
