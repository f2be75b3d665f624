/* test_hist.c -- unit tests for hist.c.
 *
 * Fixed cases for every statistic (median of odd and even counts, nearest-
 * rank percentiles including P0/P100 and the P90-of-10 case that floating
 * point gets wrong, shares, counts over N, the open top bin), refused
 * changes that must leave the histogram as it was, and a property test:
 * for random multisets every statistic equals the brute-force answer over
 * the sorted values, merge/subtract round-trip, and compact cells merged
 * into an accumulator equal a dense histogram of the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static struct hist make(size_t nbins, const int64_t *vals, size_t n) {
  struct hist h;
  assert_int_equal(hist_init(&h, nbins), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(hist_add(&h, vals[i], 1), 0);
  return h;
}

static void test_init(void **state) {
  struct hist h;
  (void)state;
  memset(&h, 0x5a, sizeof h);
  assert_int_equal(hist_init(&h, 0), ERR_RANGE);
  assert_int_equal(hist_init(&h, HIST_MAX_BINS + 1), ERR_RANGE);
  assert_int_equal(hist_init(&h, 10), 0);
  assert_int_equal(h.nbins, 10);
  assert_int_equal(h.n, 0);
  assert_int_equal(h.sum, 0);
  hist_release(&h);
  hist_release(NULL);
}

static void test_median(void **state) {
  static const int64_t odd[] = {7, 10, 14, 21, 182};
  static const int64_t even[] = {7, 10, 14, 21};
  static const int64_t same[] = {3, 3};
  struct hist h;
  double m = -1;
  bool capped = true;
  (void)state;
  h = make(366, odd, 5);
  assert_int_equal(hist_median(&h, &m, &capped), 0);
  assert_true(m == 14.0);
  assert_false(capped);
  hist_release(&h);
  h = make(366, even, 4);
  assert_int_equal(hist_median(&h, &m, &capped), 0);
  assert_true(m == 12.0);
  hist_release(&h);
  h = make(10, same, 2);
  assert_int_equal(hist_median(&h, &m, &capped), 0);
  assert_true(m == 3.0);
  /* empty */
  hist_reset(&h);
  m = -1;
  assert_int_equal(hist_median(&h, &m, &capped), ERR_STATE);
  assert_true(m == -1);
  hist_release(&h);
}

static void test_percentile(void **state) {
  int64_t vals[10], v = -1;
  bool capped;
  struct hist h;
  (void)state;
  for (int i = 0; i < 10; i++)
    vals[i] = i + 1; /* 1..10 */
  h = make(100, vals, 10);
  /* 0.9 * 10 is 9.000000000000002 in doubles: the rank must still be 9 */
  assert_int_equal(hist_percentile(&h, 90, &v, &capped), 0);
  assert_int_equal(v, 9);
  assert_int_equal(hist_percentile(&h, 50, &v, &capped), 0);
  assert_int_equal(v, 5);
  assert_int_equal(hist_percentile(&h, 91, &v, &capped), 0);
  assert_int_equal(v, 10);
  assert_int_equal(hist_percentile(&h, 100, &v, &capped), 0);
  assert_int_equal(v, 10);
  assert_int_equal(hist_percentile(&h, 0, &v, &capped), 0);
  assert_int_equal(v, 1);
  assert_int_equal(hist_percentile(&h, 10, &v, &capped), 0);
  assert_int_equal(v, 1);
  assert_int_equal(hist_percentile(&h, 10.01, &v, &capped), 0);
  assert_int_equal(v, 2);
  v = -1;
  assert_int_equal(hist_percentile(&h, 100.5, &v, &capped), ERR_RANGE);
  assert_int_equal(hist_percentile(&h, -1, &v, &capped), ERR_RANGE);
  assert_int_equal(v, -1);
  hist_release(&h);
}

static void test_open_bin(void **state) {
  static const int64_t vals[] = {1, 2, 50, 60, 70};
  struct hist h;
  double m, mean;
  int64_t v, c = -1;
  bool capped = false;
  (void)state;
  h = make(10, vals, 5); /* 50, 60, 70 in the open bin */
  assert_int_equal(h.over, 3);
  assert_int_equal(h.sum, 183);
  assert_int_equal(hist_median(&h, &m, &capped), 0);
  assert_true(m == 10.0); /* lower bound: nbins */
  assert_true(capped);
  assert_int_equal(hist_percentile(&h, 20, &v, &capped), 0);
  assert_int_equal(v, 1);
  assert_false(capped);
  assert_int_equal(hist_mean(&h, &mean), 0);
  assert_true(mean == 183.0 / 5.0); /* exact despite the open bin */
  assert_int_equal(hist_count_within(&h, 9, &c), 0);
  assert_int_equal(c, 2);
  c = -1;
  assert_int_equal(hist_count_within(&h, 10, &c), ERR_RANGE);
  assert_int_equal(c, -1);
  assert_int_equal(hist_count_over(&h, 9, &c), 0);
  assert_int_equal(c, 3);
  hist_release(&h);
}

static void test_shares(void **state) {
  /* DOMAIN §2.2 bin edges */
  static const int64_t vals[] = {0, 7, 8, 14, 15, 28, 29, 90, 91, 180, 181};
  struct hist h;
  int64_t c;
  double s;
  (void)state;
  h = make(366, vals, ARRAY_LEN(vals));
  assert_int_equal(hist_count_within(&h, 7, &c), 0);
  assert_int_equal(c, 2);
  assert_int_equal(hist_count_within(&h, 14, &c), 0);
  assert_int_equal(c, 4);
  assert_int_equal(hist_count_over(&h, 90, &c), 0);
  assert_int_equal(c, 3);
  assert_int_equal(hist_count_within(&h, -1, &c), 0);
  assert_int_equal(c, 0);
  assert_int_equal(hist_count_within(&h, 400, &c), 0); /* no open values */
  assert_int_equal(c, 11);
  assert_int_equal(hist_share_within(&h, 14, &s), 0);
  assert_true(s == 4.0 / 11.0);
  hist_reset(&h);
  assert_int_equal(hist_share_within(&h, 14, &s), ERR_STATE);
  hist_release(&h);
}

static void test_refused(void **state) {
  static const int64_t vals[] = {3, 3, 5};
  struct hist h, o, saved;
  (void)state;
  h = make(10, vals, 3);
  saved = make(10, vals, 3);
  assert_int_equal(hist_add(&h, 4, -1), ERR_STATE);
  assert_int_equal(hist_add(&h, 3, -3), ERR_STATE);
  assert_int_equal(hist_add(&h, -1, 1), ERR_RANGE);
  assert_int_equal(hist_add(&h, HIST_MAX_VALUE + 1, 1), ERR_RANGE);
  assert_int_equal(hist_add(&h, 1, HIST_MAX_COUNT + 1), ERR_RANGE);
  assert_true(hist_equal(&h, &saved));
  assert_int_equal(hist_init(&o, 11), 0);
  assert_int_equal(hist_merge(&h, &o), ERR_INVAL);
  assert_int_equal(hist_subtract(&h, &o), ERR_INVAL);
  hist_release(&o);
  o = make(10, vals, 3);
  assert_int_equal(hist_add(&o, 7, 1), 0);
  assert_int_equal(hist_subtract(&h, &o), ERR_STATE);
  assert_true(hist_equal(&h, &saved));
  assert_int_equal(hist_add(&h, 3, -2), 0);
  assert_int_equal(h.n, 1);
  assert_int_equal(h.sum, 5);
  hist_release(&h);
  hist_release(&o);
  hist_release(&saved);
}

static void test_cells(void **state) {
  struct hist_cell a = HIST_CELL_INIT, b = HIST_CELL_INIT;
  struct hist acc, want;
  (void)state;
  assert_int_equal(hist_init(&acc, 50), 0);
  assert_int_equal(hist_init(&want, 50), 0);
  /* grow upwards, downwards and into the open bin */
  assert_int_equal(hist_cell_add(&a, 50, 20, 1), 0);
  assert_int_equal(hist_cell_add(&a, 50, 2, 2), 0);
  assert_int_equal(hist_cell_add(&a, 50, 49, 1), 0);
  assert_int_equal(hist_cell_add(&a, 50, 75, 1), 0);
  assert_int_equal(a.n, 5);
  assert_int_equal(a.over, 1);
  assert_int_equal(a.sum, 20 + 4 + 49 + 75);
  assert_false(a.len & HIST_CELL_DENSE); /* three values: pairs */
  assert_int_equal(hist_cell_bytes(&a), 4 * 2 * sizeof(uint32_t));
  assert_int_equal(hist_add(&want, 20, 1), 0);
  assert_int_equal(hist_add(&want, 2, 2), 0);
  assert_int_equal(hist_add(&want, 49, 1), 0);
  assert_int_equal(hist_add(&want, 75, 1), 0);
  hist_merge_cell(&acc, &a);
  assert_true(hist_equal(&acc, &want));
  assert_int_equal(hist_subtract_cell(&acc, &a), 0);
  assert_int_equal(acc.n, 0);
  assert_int_equal(hist_subtract_cell(&acc, &a), ERR_STATE);
  assert_int_equal(acc.n, 0);
  /* the same values in another order (another range) are equal */
  assert_int_equal(hist_cell_add(&b, 50, 75, 1), 0);
  assert_int_equal(hist_cell_add(&b, 50, 49, 1), 0);
  assert_int_equal(hist_cell_add(&b, 50, 2, 1), 0);
  assert_false(hist_cell_equal(&a, &b));
  assert_int_equal(hist_cell_add(&b, 50, 20, 1), 0);
  assert_int_equal(hist_cell_add(&b, 50, 2, 1), 0);
  assert_true(hist_cell_equal(&a, &b));
  /* refusals change nothing */
  assert_int_equal(hist_cell_add(&b, 50, 3, -1), ERR_STATE);
  assert_int_equal(hist_cell_add(&b, 50, 2, -3), ERR_STATE);
  assert_int_equal(hist_cell_add(&b, 50, -1, 1), ERR_RANGE);
  assert_true(hist_cell_equal(&a, &b));
  /* removing everything leaves an empty cell equal to a fresh one */
  assert_int_equal(hist_cell_add(&b, 50, 75, -1), 0);
  assert_int_equal(hist_cell_add(&b, 50, 49, -1), 0);
  assert_int_equal(hist_cell_add(&b, 50, 2, -2), 0);
  assert_int_equal(hist_cell_add(&b, 50, 20, -1), 0);
  {
    struct hist_cell empty = HIST_CELL_INIT;
    assert_true(hist_cell_equal(&b, &empty));
  }
  /* 32-bit counts refuse to overflow */
  hist_cell_release(&b);
  for (int i = 0; i < 4; i++)
    assert_int_equal(hist_cell_add(&b, 50, 1, HIST_MAX_COUNT), 0);
  assert_false(hist_cell_can_add(&b, 50, 1, HIST_MAX_COUNT));
  assert_int_equal(hist_cell_add(&b, 50, 1, HIST_MAX_COUNT), ERR_RANGE);
  assert_int_equal(b.n, 4 * HIST_MAX_COUNT);
  hist_cell_release(&a);
  hist_cell_release(&b);
  hist_cell_release(NULL);
  hist_release(&acc);
  hist_release(&want);
}

/* Sparse pairs turn into a dense range when most values of the range are
 * used, and back when a far value would leave the range mostly empty; the
 * figures never change with the form. */
static void test_cell_forms(void **state) {
  struct hist_cell a = HIST_CELL_INIT, b = HIST_CELL_INIT;
  struct hist acc, want;
  (void)state;
  assert_int_equal(hist_init(&acc, 400), 0);
  assert_int_equal(hist_init(&want, 400), 0);
  for (int v = 10; v < 30; v++) {
    assert_int_equal(hist_cell_add(&a, 400, v, 1 + v % 3), 0);
    assert_int_equal(hist_add(&want, v, 1 + v % 3), 0);
  }
  assert_true(a.len & HIST_CELL_DENSE);
  assert_true(hist_cell_bytes(&a) < 20 * 2 * sizeof(uint32_t));
  /* the same values added from the top down, and removed and re-added */
  for (int v = 29; v >= 10; v--)
    assert_int_equal(hist_cell_add(&b, 400, v, 1 + v % 3), 0);
  assert_true(hist_cell_equal(&a, &b));
  /* a far value: the cell goes back to pairs */
  assert_int_equal(hist_cell_add(&a, 400, 390, 1), 0);
  assert_int_equal(hist_add(&want, 390, 1), 0);
  assert_false(a.len & HIST_CELL_DENSE);
  assert_false(hist_cell_equal(&a, &b));
  assert_int_equal(hist_cell_add(&b, 400, 390, 1), 0);
  assert_true(hist_cell_equal(&a, &b));
  hist_merge_cell(&acc, &a);
  assert_true(hist_equal(&acc, &want));
  assert_int_equal(hist_subtract_cell(&acc, &b), 0);
  assert_int_equal(acc.n, 0);
  /* a dense cell grows in steps within nbins */
  hist_cell_release(&b);
  for (int v = 0; v < 16; v++)
    assert_int_equal(hist_cell_add(&b, 20, v, 1), 0);
  assert_true(b.len & HIST_CELL_DENSE);
  assert_int_equal(hist_cell_add(&b, 20, 19, 1), 0);
  assert_int_equal(hist_cell_add(&b, 20, 25, 1), 0); /* the open bin */
  assert_true(b.lo + (b.len & ~HIST_CELL_DENSE) <= 20);
  assert_int_equal(b.over, 1);
  assert_int_equal(b.n, 18);
  hist_cell_release(&a);
  hist_cell_release(&b);
  hist_release(&acc);
  hist_release(&want);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Brute force over sorted values: nearest rank with integer arithmetic. */
static int64_t bf_percentile(const int64_t *s, size_t n, int bp) {
  int64_t rank = ((int64_t)bp * (int64_t)n + 9999) / 10000;
  if (rank < 1)
    rank = 1;
  return s[rank - 1];
}

static void test_property(void **state) {
  (void)state;
  for (int round = 0; round < 300; round++) {
    size_t nbins = 1 + rnd() % 120, n = 1 + rnd() % 200, split = rnd() % n;
    int64_t *vals = malloc(n * sizeof *vals),
            *sorted = malloc(n * sizeof *vals);
    struct hist h, a, b;
    struct hist_cell ca = HIST_CELL_INIT, cb = HIST_CELL_INIT;
    double med, want_med;
    bool capped;
    assert_non_null(vals);
    assert_non_null(sorted);
    for (size_t i = 0; i < n; i++)
      vals[i] = (int64_t)(rnd() % (nbins + 20)); /* some in the open bin */
    memcpy(sorted, vals, n * sizeof *vals);
    qsort(sorted, n, sizeof *sorted, cmp64);
    h = make(nbins, vals, n);
    a = make(nbins, vals, split);
    b = make(nbins, vals + split, n - split);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(hist_cell_add(i < split ? &ca : &cb, nbins, vals[i], 1),
                       0);
    /* merge of parts == whole; subtract gives the part back */
    assert_int_equal(hist_merge(&a, &b), 0);
    assert_true(hist_equal(&a, &h));
    assert_int_equal(hist_subtract(&a, &b), 0);
    assert_int_equal(hist_merge(&a, &b), 0);
    assert_true(hist_equal(&a, &h));
    hist_reset(&b);
    hist_merge_cell(&b, &cb);
    hist_merge_cell(&b, &ca);
    assert_true(hist_equal(&b, &h));
    /* statistics vs brute force (exact while nothing is capped) */
    assert_int_equal(hist_median(&h, &med, &capped), 0);
    {
      int64_t lo = sorted[(n - 1) / 2], hi = sorted[n / 2];
      bool c = lo >= (int64_t)nbins || hi >= (int64_t)nbins;
      if (lo >= (int64_t)nbins)
        lo = (int64_t)nbins;
      if (hi >= (int64_t)nbins)
        hi = (int64_t)nbins;
      /* odd n: lo == hi, so this is the middle value itself */
      want_med = ((double)lo + (double)hi) / 2;
      assert_int_equal(capped, c);
      assert_true(med == want_med);
    }
    for (int bp = 0; bp <= 10000; bp += 50) {
      int64_t v, want = bf_percentile(sorted, n, bp);
      assert_int_equal(hist_percentile(&h, bp / 100.0, &v, &capped), 0);
      if (want >= (int64_t)nbins) {
        assert_true(capped);
        assert_int_equal(v, (int64_t)nbins);
      } else {
        assert_false(capped);
        assert_int_equal(v, want);
      }
    }
    for (int64_t d = 0; d < (int64_t)nbins; d++) {
      int64_t c, want = 0;
      for (size_t i = 0; i < n; i++)
        want += sorted[i] <= d;
      assert_int_equal(hist_count_within(&h, d, &c), 0);
      assert_int_equal(c, want);
      assert_int_equal(hist_count_over(&h, d, &c), 0);
      assert_int_equal(c, (int64_t)n - want);
    }
    {
      int64_t sum = 0;
      double mean;
      for (size_t i = 0; i < n; i++)
        sum += vals[i];
      assert_int_equal(h.sum, sum);
      assert_int_equal(hist_mean(&h, &mean), 0);
      assert_true(mean == (double)sum / (double)n);
    }
    hist_release(&h);
    hist_release(&a);
    hist_release(&b);
    hist_cell_release(&ca);
    hist_cell_release(&cb);
    free(vals);
    free(sorted);
  }
}

/* Random adds and removals (of values present) on one cell mirror a dense
 * histogram exactly, through every change of form. */
static void test_cell_random(void **state) {
  (void)state;
  for (int round = 0; round < 40; round++) {
    size_t nbins = 1 + rnd() % 300;
    struct hist_cell cell = HIST_CELL_INIT;
    struct hist mirror, acc;
    int64_t exact[310]; /* count per value, open-bin values included */
    memset(exact, 0, sizeof exact);
    assert_int_equal(hist_init(&mirror, nbins), 0);
    assert_int_equal(hist_init(&acc, nbins), 0);
    for (int step = 0; step < 2000; step++) {
      int64_t v = (int64_t)(rnd() % (nbins + 10)), c;
      if (round % 2) /* clustered at small values */
        v = (int64_t)(rnd() % (1 + rnd() % (nbins + 10)));
      c = rnd() % 3 == 0 && exact[v] > 0
              ? -1 - (int64_t)(rnd() % (uint64_t)exact[v])
              : 1 + (int64_t)(rnd() % 3);
      assert_int_equal(hist_cell_add(&cell, nbins, v, c), 0);
      assert_int_equal(hist_add(&mirror, v, c), 0);
      exact[v] += c;
      if (step % 50 == 0) {
        hist_reset(&acc);
        hist_merge_cell(&acc, &cell);
        assert_true(hist_equal(&acc, &mirror));
        assert_int_equal(cell.n, mirror.n);
      }
    }
    hist_reset(&acc);
    hist_merge_cell(&acc, &cell);
    assert_true(hist_equal(&acc, &mirror));
    hist_cell_release(&cell);
    hist_release(&mirror);
    hist_release(&acc);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init),        cmocka_unit_test(test_median),
      cmocka_unit_test(test_percentile),  cmocka_unit_test(test_open_bin),
      cmocka_unit_test(test_shares),      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_cells),       cmocka_unit_test(test_cell_forms),
      cmocka_unit_test(test_cell_random), cmocka_unit_test(test_property),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
