/* hist.h -- exact, mergeable histograms of non-negative integer values (day
 * counts: T3, waiting days, lengths of stay).
 *
 * Two shapes share one meaning:
 *   - struct hist: a dense accumulator. bins[v] counts value v for
 *     0 <= v < nbins; values >= nbins are counted in 'over' (the open top
 *     bin). 'n' is the number of values and 'sum' their exact sum (values in
 *     'over' included), so the mean is always exact. Used for queries.
 *   - struct hist_cell: a compact stored cell for the daily cube with
 *     32-bit counts, either as (value, count) pairs (a few values spread
 *     widely: a station's day) or as a dense range of the values seen (a
 *     month, a county), whichever is smaller, plus its own 'over', 'n' and
 *     'sum'. A cell does not know its nbins; every call passes the nbins
 *     of the measure it belongs to.
 * Merging and subtracting are exact and order-independent, so medians and
 * percentiles combine exactly across units and periods (DESIGN.md
 * principle 4). Every operation is linear in the bins it touches.
 *
 * Statistics (docs/INDICATORS.md "Percentiles"):
 *   - median: the middle value; for an even count the mean of the two
 *     middle values (DOMAIN.md Part B §1.3);
 *   - percentile p (0 < p <= 100, resolution 0.01): nearest rank, the value
 *     at 1-based rank ceil(p/100 * n) of the sorted values (rank 1 for
 *     p = 0); computed in integers, so P90 of 10 values is the 9th;
 *   - a statistic that lands in 'over' is reported as nbins with *capped
 *     set: the true value is at least that.
 *
 * Invariants: every count is >= 0; n == sum of the bins + over; no value
 * slot of a cell reaches the nbins of its measure. A removal (negative
 * count) that would make a count negative is refused with ERR_STATE and
 * changes nothing.
 *
 * Thread safety: none inside; a histogram or cell is a value owned by its
 * caller. Const functions may run concurrently on the same object. */
#ifndef TK_HIST_H
#define TK_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define HIST_MAX_BINS 100000        /* the most exact bins a histogram has */
#define HIST_MAX_VALUE 10000000     /* the largest value accepted */
#define HIST_MAX_COUNT 1000000000LL /* the largest |count| of one add */

struct hist {
  int64_t *bins; /* nbins counts; bins[v] = how many values equal v */
  size_t nbins;
  int64_t over; /* values >= nbins */
  int64_t n;    /* all values */
  int64_t sum;  /* exact sum of all values */
};

struct hist_cell {
  uint32_t *c;  /* the counts; NULL when the cell holds no exact value */
  uint32_t lo;  /* dense: the first value with a slot */
  uint32_t len; /* sparse: pairs; dense: slots | HIST_CELL_DENSE */
  uint32_t over;
  uint32_t n;
  int64_t sum;
};

/* Set in hist_cell.len for the dense form (see hist.c). */
#define HIST_CELL_DENSE 0x80000000u

/* A zeroed struct hist_cell is an empty cell. */
#define HIST_CELL_INIT                                                         \
  { NULL, 0, 0, 0, 0, 0 }

/* ---- Dense histograms --------------------------------------------------- */

/* Initialises an empty histogram with 'nbins' exact bins (values
 * 0..nbins-1). 0, or ERR_RANGE (h untouched) when nbins is 0 or above
 * HIST_MAX_BINS. Release with hist_release. */
NODISCARD int hist_init(struct hist *h, size_t nbins);

/* Frees the bins; 'h' is then empty with nbins 0 (init it again to reuse).
 * Accepts NULL. */
void hist_release(struct hist *h);

/* Empties the histogram, keeping its bins. O(nbins). */
void hist_reset(struct hist *h);

/* Adds 'count' occurrences of 'value' (count < 0 removes). 0; ERR_RANGE when
 * value < 0, value > HIST_MAX_VALUE or |count| > HIST_MAX_COUNT; ERR_STATE
 * when a removal would make a count negative. On failure 'h' is unchanged. */
NODISCARD int hist_add(struct hist *h, int64_t value, int64_t count);

/* dst += src. 0, or ERR_INVAL when the bin counts differ (dst unchanged). */
NODISCARD int hist_merge(struct hist *dst, const struct hist *src);

/* dst -= src. 0; ERR_INVAL when the bin counts differ; ERR_STATE when some
 * count of src exceeds dst's (dst unchanged in both cases). */
NODISCARD int hist_subtract(struct hist *dst, const struct hist *src);

/* True when both hold the same values (same nbins, bins, over, n, sum). */
bool hist_equal(const struct hist *a, const struct hist *b);

/* The value at 1-based 'rank' (1 <= rank <= n) of the sorted values. 0, or
 * ERR_RANGE when rank is out of range (*value and *capped untouched).
 * *capped is set when the value is in 'over' (*value is then nbins). */
NODISCARD int hist_value_at_rank(const struct hist *h, int64_t rank,
                                 int64_t *value, bool *capped);

/* The median (see above). 0, or ERR_STATE when empty (out-params
 * untouched). */
NODISCARD int hist_median(const struct hist *h, double *out, bool *capped);

/* Percentile 'p' by nearest rank (see above). 0; ERR_STATE when empty;
 * ERR_RANGE when p is not within 0..100 (out-params untouched). */
NODISCARD int hist_percentile(const struct hist *h, double p, int64_t *out,
                              bool *capped);

/* The exact mean, sum / n. 0, or ERR_STATE when empty. */
NODISCARD int hist_mean(const struct hist *h, double *out);

/* How many values are <= 'days' ("within N days"): all of them when days is
 * at least the largest value possible in exact bins and over is 0. 0, or
 * ERR_RANGE (*out untouched) when days >= nbins and over > 0 (the open bin
 * cannot be split). days < 0 gives 0. */
NODISCARD int hist_count_within(const struct hist *h, int64_t days,
                                int64_t *out);

/* How many values are > 'days' (n - hist_count_within). Same errors. */
NODISCARD int hist_count_over(const struct hist *h, int64_t days, int64_t *out);

/* The share (0..1) of values <= 'days'. 0; ERR_STATE when empty; ERR_RANGE
 * as hist_count_within. */
NODISCARD int hist_share_within(const struct hist *h, int64_t days,
                                double *out);

/* ---- Compact cells ------------------------------------------------------ */

/* Adds 'count' occurrences of 'value' to a cell of a measure with 'nbins'
 * exact bins, growing the cell's range as needed. 0; ERR_RANGE for a value
 * or count out of range (as hist_add), or when a 32-bit count would
 * overflow; ERR_STATE when a removal would make a count negative. On
 * failure the cell is unchanged. */
NODISCARD int hist_cell_add(struct hist_cell *cell, size_t nbins, int64_t value,
                            int64_t count);

/* True when adding 'count' occurrences of 'value' would succeed (the same
 * checks as hist_cell_add, without changing anything). */
bool hist_cell_can_add(const struct hist_cell *cell, size_t nbins,
                       int64_t value, int64_t count);

/* Frees the cell's slots; it is then an empty cell. Accepts NULL. */
void hist_cell_release(struct hist_cell *cell);

/* Bytes the cell has allocated (not counting the struct itself). */
size_t hist_cell_bytes(const struct hist_cell *cell);

/* dst += cell, where 'cell' belongs to a measure with dst->nbins bins.
 * O(the cell's slots). Never fails for such a cell. */
void hist_merge_cell(struct hist *dst, const struct hist_cell *cell);

/* dst -= cell. 0, or ERR_STATE (dst unchanged) when a count would become
 * negative. O(the cell's slots). */
NODISCARD int hist_subtract_cell(struct hist *dst,
                                 const struct hist_cell *cell);

/* True when the two cells hold the same values (their ranges may differ:
 * slots that count 0 do not matter). */
bool hist_cell_equal(const struct hist_cell *a, const struct hist_cell *b);

#endif
