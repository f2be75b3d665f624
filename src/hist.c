/* hist.c -- exact, mergeable histograms of day counts (hist.h).
 *
 * Design: a dense accumulator (struct hist, 64-bit counts) for queries and a
 * compact cell (struct hist_cell, 32-bit counts, sparse pairs or a dense
 * range, whichever is smaller) for storage. Every change is checked before
 * anything is written, so a refused add, merge or subtraction leaves its target
 * as it was. Statistics walk the bins once: O(nbins).
 *
 * Invariants: as hist.h; additionally an empty sparse cell has c == NULL,
 * a sparse cell's values ascend and its counts are > 0, and no value slot
 * of a cell reaches the nbins passed for its measure.
 *
 * Thread safety: none inside; see hist.h. */
#include "hist.h"

#include <string.h>

#include "mem.h"

/* ---------------------------------------------------------------- dense */

int hist_init(struct hist *h, size_t nbins) {
  if (nbins == 0 || nbins > HIST_MAX_BINS)
    return ERR_RANGE;
  h->bins = mem_calloc(nbins, sizeof *h->bins);
  h->nbins = nbins;
  h->over = 0;
  h->n = 0;
  h->sum = 0;
  return 0;
}

void hist_release(struct hist *h) {
  if (h == NULL)
    return;
  mem_free(h->bins);
  h->bins = NULL;
  h->nbins = 0;
  h->over = h->n = h->sum = 0;
}

void hist_reset(struct hist *h) {
  if (h->nbins > 0)
    memset(h->bins, 0, h->nbins * sizeof *h->bins);
  h->over = h->n = h->sum = 0;
}

static bool value_ok(int64_t value, int64_t count) {
  return value >= 0 && value <= HIST_MAX_VALUE && count >= -HIST_MAX_COUNT &&
         count <= HIST_MAX_COUNT;
}

int hist_add(struct hist *h, int64_t value, int64_t count) {
  int64_t *slot;
  if (!value_ok(value, count))
    return ERR_RANGE;
  slot = (size_t)value < h->nbins ? &h->bins[value] : &h->over;
  if (*slot + count < 0)
    return ERR_STATE;
  *slot += count;
  h->n += count;
  h->sum += value * count;
  return 0;
}

int hist_merge(struct hist *dst, const struct hist *src) {
  if (dst->nbins != src->nbins)
    return ERR_INVAL;
  for (size_t i = 0; i < dst->nbins; i++)
    dst->bins[i] += src->bins[i];
  dst->over += src->over;
  dst->n += src->n;
  dst->sum += src->sum;
  return 0;
}

int hist_subtract(struct hist *dst, const struct hist *src) {
  if (dst->nbins != src->nbins)
    return ERR_INVAL;
  if (src->over > dst->over)
    return ERR_STATE;
  for (size_t i = 0; i < dst->nbins; i++)
    if (src->bins[i] > dst->bins[i])
      return ERR_STATE;
  for (size_t i = 0; i < dst->nbins; i++)
    dst->bins[i] -= src->bins[i];
  dst->over -= src->over;
  dst->n -= src->n;
  dst->sum -= src->sum;
  return 0;
}

bool hist_equal(const struct hist *a, const struct hist *b) {
  if (a->nbins != b->nbins || a->over != b->over || a->n != b->n ||
      a->sum != b->sum)
    return false;
  return a->nbins == 0 ||
         memcmp(a->bins, b->bins, a->nbins * sizeof *a->bins) == 0;
}

int hist_value_at_rank(const struct hist *h, int64_t rank, int64_t *value,
                       bool *capped) {
  int64_t seen = 0;
  if (rank < 1 || rank > h->n)
    return ERR_RANGE;
  for (size_t i = 0; i < h->nbins; i++) {
    seen += h->bins[i];
    if (seen >= rank) {
      *value = (int64_t)i;
      *capped = false;
      return 0;
    }
  }
  *value = (int64_t)h->nbins;
  *capped = true;
  return 0;
}

int hist_median(const struct hist *h, double *out, bool *capped) {
  int64_t a, b;
  bool ca = false, cb = false;
  if (h->n <= 0)
    return ERR_STATE;
  if (h->n % 2 == 1) {
    if (hist_value_at_rank(h, (h->n + 1) / 2, &a, &ca) != 0)
      return ERR_STATE;
    *out = (double)a;
    *capped = ca;
    return 0;
  }
  if (hist_value_at_rank(h, h->n / 2, &a, &ca) != 0 ||
      hist_value_at_rank(h, h->n / 2 + 1, &b, &cb) != 0)
    return ERR_STATE;
  *out = ((double)a + (double)b) / 2.0;
  *capped = ca || cb;
  return 0;
}

int hist_percentile(const struct hist *h, double p, int64_t *out,
                    bool *capped) {
  int64_t bp, rank;
  if (!(p >= 0.0 && p <= 100.0))
    return ERR_RANGE;
  if (h->n <= 0)
    return ERR_STATE;
  bp = (int64_t)(p * 100.0 + 0.5); /* basis points: P90 = 9000 */
  rank = (bp * h->n + 9999) / 10000;
  if (rank < 1)
    rank = 1;
  return hist_value_at_rank(h, rank, out, capped) == 0 ? 0 : ERR_STATE;
}

int hist_mean(const struct hist *h, double *out) {
  if (h->n <= 0)
    return ERR_STATE;
  *out = (double)h->sum / (double)h->n;
  return 0;
}

int hist_count_within(const struct hist *h, int64_t days, int64_t *out) {
  int64_t c = 0;
  if (days < 0) {
    *out = 0;
    return 0;
  }
  if ((uint64_t)days >= h->nbins) {
    if (h->over > 0)
      return ERR_RANGE;
    *out = h->n;
    return 0;
  }
  for (int64_t i = 0; i <= days; i++)
    c += h->bins[i];
  *out = c;
  return 0;
}

int hist_count_over(const struct hist *h, int64_t days, int64_t *out) {
  int64_t within;
  int rc = hist_count_within(h, days, &within);
  if (rc != 0)
    return rc;
  *out = h->n - within;
  return 0;
}

int hist_share_within(const struct hist *h, int64_t days, double *out) {
  int64_t within;
  int rc;
  if (h->n <= 0)
    return ERR_STATE;
  rc = hist_count_within(h, days, &within);
  if (rc != 0)
    return rc;
  *out = (double)within / (double)h->n;
  return 0;
}

/* ---------------------------------------------------------------- cells */

/* A cell is SPARSE (the zero value: 'len' pairs (value, count) in c[],
 * values ascending, counts > 0, room for cap_of(len) pairs) or DENSE
 * (HIST_CELL_DENSE set in 'len': counts of values lo .. lo + slots - 1).
 * A sparse cell turns dense when its pairs would take as much room as a
 * dense range over the same values; a dense cell that has to grow turns
 * sparse again when fewer than a quarter of its slots would be in use.
 * Day cells of a health station hold a few values spread widely (sparse);
 * month and county cells hold most values of a range (dense). */

#define DENSE HIST_CELL_DENSE

static bool is_dense(const struct hist_cell *cell) {
  return (cell->len & DENSE) != 0;
}

static uint32_t slots(const struct hist_cell *cell) {
  return cell->len & ~DENSE;
}

/* Pairs a sparse cell of k pairs has room for. */
static uint32_t cap_of(uint32_t k) {
  uint32_t cap = 2;
  if (k == 0)
    return 0;
  while (cap < k)
    cap *= 2;
  return cap;
}

/* Sparse: the index of the first pair with value >= v. */
static uint32_t find_pair(const struct hist_cell *cell, uint32_t v) {
  uint32_t lo = 0, hi = slots(cell);
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (cell->c[2 * mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The count of exact value v (< nbins) in the cell. */
static uint32_t cell_count(const struct hist_cell *cell, uint32_t v) {
  if (is_dense(cell)) {
    if (v < cell->lo || v - cell->lo >= slots(cell))
      return 0;
    return cell->c[v - cell->lo];
  } else {
    uint32_t i = find_pair(cell, v);
    return i < slots(cell) && cell->c[2 * i] == v ? cell->c[2 * i + 1] : 0;
  }
}

bool hist_cell_can_add(const struct hist_cell *cell, size_t nbins,
                       int64_t value, int64_t count) {
  int64_t have;
  if (!value_ok(value, count) || nbins == 0 || nbins > HIST_MAX_BINS)
    return false;
  have = (uint64_t)value >= nbins ? (int64_t)cell->over
                                  : (int64_t)cell_count(cell, (uint32_t)value);
  if (have + count < 0 || have + count > (int64_t)UINT32_MAX)
    return false;
  if ((int64_t)cell->n + count < 0 ||
      (int64_t)cell->n + count > (int64_t)UINT32_MAX)
    return false;
  return true;
}

/* Rewrites the cell as dense over [lo, lo + nslots) (which covers every
 * value it holds). */
static void to_dense(struct hist_cell *cell, uint32_t lo, uint32_t nslots) {
  uint32_t *c = mem_calloc(nslots, sizeof *c);
  if (is_dense(cell)) {
    memcpy(c + (cell->lo - lo), cell->c, slots(cell) * sizeof *c);
  } else {
    for (uint32_t i = 0; i < slots(cell); i++)
      c[cell->c[2 * i] - lo] = cell->c[2 * i + 1];
  }
  mem_free(cell->c);
  cell->c = c;
  cell->lo = lo;
  cell->len = nslots | DENSE;
}

/* Rewrites a dense cell as sparse. */
static void to_sparse(struct hist_cell *cell) {
  uint32_t k = 0, n = slots(cell), *c;
  for (uint32_t i = 0; i < n; i++)
    k += cell->c[i] != 0;
  c = k > 0 ? mem_alloc(cap_of(k) * 2 * sizeof *c) : NULL;
  k = 0;
  for (uint32_t i = 0; i < n; i++)
    if (cell->c[i] != 0) {
      c[2 * k] = cell->lo + i;
      c[2 * k + 1] = cell->c[i];
      k++;
    }
  mem_free(cell->c);
  cell->c = c;
  cell->lo = 0;
  cell->len = k;
}

/* Dense: grows the range to include v (< nbins), in steps of at least 8
 * slots or a quarter of the range, or turns sparse when few slots would
 * be used. */
static void dense_grow(struct hist_cell *cell, size_t nbins, uint32_t v) {
  uint32_t lo = cell->lo, hi = cell->lo + slots(cell), used = 0, step;
  for (uint32_t i = 0; i < slots(cell); i++)
    used += cell->c[i] != 0;
  if (v < lo)
    lo = v;
  if (v + 1 > hi)
    hi = v + 1;
  if (4 * (used + 1) < hi - lo) {
    to_sparse(cell);
    return;
  }
  step = (hi - lo) / 4 > 8 ? (hi - lo) / 4 : 8;
  if (v < cell->lo)
    lo -= lo < step ? lo : step;
  else
    hi = (uint32_t)nbins - hi < step ? (uint32_t)nbins : hi + step;
  to_dense(cell, lo, hi - lo);
}

/* Sparse: sets the count of v (< nbins) to 'count' (> 0 or 0 to remove),
 * and turns dense when the pairs outgrow a dense range. */
static void sparse_set(struct hist_cell *cell, uint32_t v, uint32_t count) {
  uint32_t k = slots(cell), i = find_pair(cell, v);
  bool present = i < k && cell->c[2 * i] == v;
  if (present && count > 0) {
    cell->c[2 * i + 1] = count;
    return;
  }
  if (present) {
    memmove(cell->c + 2 * i, cell->c + 2 * i + 2,
            (k - i - 1) * 2 * sizeof *cell->c);
    cell->len = --k;
    if (k == 0) {
      mem_free(cell->c);
      cell->c = NULL;
    }
    return;
  }
  if (count == 0)
    return;
  if (k == cap_of(k))
    cell->c = mem_realloc(cell->c, cap_of(k + 1) * 2 * sizeof *cell->c);
  memmove(cell->c + 2 * i + 2, cell->c + 2 * i, (k - i) * 2 * sizeof *cell->c);
  cell->c[2 * i] = v;
  cell->c[2 * i + 1] = count;
  cell->len = ++k;
  {
    uint32_t lo = cell->c[0], hi = cell->c[2 * (k - 1)] + 1;
    if (k >= 8 && 2 * k >= hi - lo)
      to_dense(cell, lo, hi - lo);
  }
}

int hist_cell_add(struct hist_cell *cell, size_t nbins, int64_t value,
                  int64_t count) {
  if (!value_ok(value, count) || nbins == 0 || nbins > HIST_MAX_BINS)
    return ERR_RANGE;
  if (!hist_cell_can_add(cell, nbins, value, count)) {
    int64_t have = (uint64_t)value >= nbins
                       ? (int64_t)cell->over
                       : (int64_t)cell_count(cell, (uint32_t)value);
    return have + count < 0 || (int64_t)cell->n + count < 0 ? ERR_STATE
                                                            : ERR_RANGE;
  }
  if (count == 0)
    return 0;
  if ((uint64_t)value >= nbins) {
    cell->over = (uint32_t)((int64_t)cell->over + count);
  } else {
    uint32_t v = (uint32_t)value;
    uint32_t now = (uint32_t)((int64_t)cell_count(cell, v) + count);
    if (is_dense(cell) && (v < cell->lo || v - cell->lo >= slots(cell)))
      dense_grow(cell, nbins, v);
    if (is_dense(cell))
      cell->c[v - cell->lo] = now;
    else
      sparse_set(cell, v, now);
  }
  cell->n = (uint32_t)((int64_t)cell->n + count);
  cell->sum += value * count;
  return 0;
}

void hist_cell_release(struct hist_cell *cell) {
  if (cell == NULL)
    return;
  mem_free(cell->c);
  memset(cell, 0, sizeof *cell);
}

size_t hist_cell_bytes(const struct hist_cell *cell) {
  if (is_dense(cell))
    return slots(cell) * sizeof(uint32_t);
  return cap_of(slots(cell)) * 2 * sizeof(uint32_t);
}

void hist_merge_cell(struct hist *dst, const struct hist_cell *cell) {
  uint32_t n = slots(cell);
  if (cell->n == 0)
    return;
  if (is_dense(cell)) {
    int64_t *b = dst->bins + cell->lo;
    for (uint32_t i = 0; i < n; i++)
      b[i] += cell->c[i];
  } else {
    for (uint32_t i = 0; i < n; i++)
      dst->bins[cell->c[2 * i]] += cell->c[2 * i + 1];
  }
  dst->over += cell->over;
  dst->n += cell->n;
  dst->sum += cell->sum;
}

int hist_subtract_cell(struct hist *dst, const struct hist_cell *cell) {
  uint32_t n = slots(cell);
  if (cell->n == 0)
    return 0;
  if ((int64_t)cell->over > dst->over)
    return ERR_STATE;
  if (is_dense(cell)) {
    int64_t *b = dst->bins + cell->lo;
    for (uint32_t i = 0; i < n; i++)
      if ((int64_t)cell->c[i] > b[i])
        return ERR_STATE;
    for (uint32_t i = 0; i < n; i++)
      b[i] -= cell->c[i];
  } else {
    for (uint32_t i = 0; i < n; i++)
      if ((int64_t)cell->c[2 * i + 1] > dst->bins[cell->c[2 * i]])
        return ERR_STATE;
    for (uint32_t i = 0; i < n; i++)
      dst->bins[cell->c[2 * i]] -= cell->c[2 * i + 1];
  }
  dst->over -= cell->over;
  dst->n -= cell->n;
  dst->sum -= cell->sum;
  return 0;
}

/* The largest exact value slot + 1 a cell may hold (0 when none). */
static uint32_t cell_end(const struct hist_cell *cell) {
  if (slots(cell) == 0)
    return 0;
  if (is_dense(cell))
    return cell->lo + slots(cell);
  return cell->c[2 * (slots(cell) - 1)] + 1;
}

bool hist_cell_equal(const struct hist_cell *a, const struct hist_cell *b) {
  uint32_t hi;
  if (a->n != b->n || a->over != b->over || a->sum != b->sum)
    return false;
  hi = cell_end(a) > cell_end(b) ? cell_end(a) : cell_end(b);
  for (uint32_t v = 0; v < hi; v++)
    if (cell_count(a, v) != cell_count(b, v))
      return false;
  return true;
}
