/* suppress.h -- small-cell suppression of aggregate outputs: counts of
 * fewer than five persons, and whatever would reveal them, are not shown to
 * roles without person-level rights.
 *
 * The rules (docs/API.md, "Small-cell suppression", has them for clients):
 *
 *  1. Primary: a count of persons (or person-days) from 1 to
 *     SUPPRESS_MIN - 1 is suppressed: its value becomes null and its key is
 *     listed in the object's "suppressed" array (a client shows "<5"). Zero
 *     is shown: an empty cell describes nobody.
 *  2. Derived: a value computed from a suppressed count (free beds from
 *     occupied beds, a percentage, a median) is withheld: null, its key in
 *     the object's "withheld" array (a client shows a dash, not "<5": its
 *     true value may be large).
 *  3. Complementary: when a published sum (a total, a margin) and some of
 *     its parts are shown, the suppressed parts' sum is known to a reader.
 *     That must reveal nothing: suppress_set_safe says when a known sum of
 *     k suppressed counts pins none of them and is not itself a small
 *     count. When it is not safe, the sum (bed-board totals) or the whole
 *     breakdown (flow arrays) is withheld instead. Both the board's totals
 *     and the flow (suppress_flow_tree) decide this once over the whole
 *     organisation tree, so that answers for different units cannot be
 *     subtracted from each other.
 *
 * Pure: no I/O, no logging, no global state; every function is reentrant. */
#ifndef TK_SUPPRESS_H
#define TK_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"
#include "org.h"

#define SUPPRESS_MIN 5 /* counts below this (and above 0) hide */
#define SUPPRESS_MAX_JSON                                                      \
  1048576 /* bytes of flow JSON suppress_flow_json                             \
             takes */

/* True when a count must be suppressed: 1 <= count < SUPPRESS_MIN. */
bool suppress_small(int64_t count);

/* A reader knows that k suppressed counts (each 1..SUPPRESS_MIN-1) sum to
 * 'sum'. True when that is harmless: k == 0, or k >= 2 and the sum is at
 * least SUPPRESS_MIN and strictly between k and (SUPPRESS_MIN-1) * k (at
 * either end every count would be pinned to 1 or to SUPPRESS_MIN-1). */
bool suppress_set_safe(int64_t k, int64_t sum);

/* As suppress_set_safe when the sum itself is suppressed (the reader only
 * knows it is 1..SUPPRESS_MIN-1): true when k < SUPPRESS_MIN - 1 (k
 * nonzero parts of a sum below SUPPRESS_MIN pin each other only when there
 * are SUPPRESS_MIN - 1 of them). */
bool suppress_set_safe_hidden_sum(int64_t k);

/* Rewrites one unit's flow JSON on its own (the per-response rule; the API
 * uses suppress_flow_tree, which adds the tree's decisions). Rewrites the
 * flow JSON of GET /api/v1/flow (cube_flow_json's shape,
 * docs/FLOW.md) for a role without person-level rights, by the rules
 * above, appending the result to 'out':
 *  - counts (admissions, transfers_in, transfers_out, discharges,
 *    transfer_delay_days, occupancy census and care_days, los_days.n, the
 *    cells of the by-hour, by-weekday and length-of-stay arrays, and the
 *    counts of every series day) are suppressed when small;
 *  - percentages of a suppressed census or care-day count, and the length
 *    of stay's median, p90, mean and capped flag when its n is suppressed,
 *    are withheld;
 *  - an array (admissions_by_hour, ..., los_days.histogram) or a series
 *    column whose suppressed cells are not safe against its total is
 *    withheld whole: the array becomes null (a series column: null on every
 *    day), its key listed in "withheld".
 * Every object that holds counts gets "suppressed" and "withheld" arrays
 * (possibly empty). In an array that is not withheld, a null cell is a
 * suppressed one, and the array's key is in the object's "suppressed".
 * ERR_PARSE (with 'err') when 'json' is not such an object, ERR_TOOBIG
 * beyond SUPPRESS_MAX_JSON or when 'out' is full. */
NODISCARD int suppress_flow_json(const char *json, size_t len, struct buf *out,
                                 struct error *err);

/* Fetches a unit's exact flow JSON (cube_flow_json's shape) into 'out':
 * 0 or a negative ERR_* code. */
typedef int (*suppress_flow_fn)(void *ctx, const char *unit, struct buf *out,
                                struct error *err);

#define SUPPRESS_TREE_ATTEMPTS 3 /* reads of the tree before ERR_AGAIN */
#define SUPPRESS_TREE_MAX_CELLS                                                \
  (8u * 1024u * 1024u) /* units x figures (10 bytes each) decided at once */

/* The suppressed flow of 'unit', decided over the whole organisation tree
 * so that the responses for different units cannot be subtracted from
 * each other (docs/SECURITY.md §4.4). Calls 'flow' for every unit of 'org'
 * and, for each figure (every count of the flow object: the scalars, each
 * array cell, each series day of each column), decides every unit's cell
 * as the bed board decides its totals: small -> suppressed; otherwise
 * withheld when the hidden cells below it that no shown cell accounts for
 * are not safe (suppress_set_safe; a hidden cell hands them up). Then, per
 * unit, a breakdown (array or series column) whose margin would reveal its
 * hidden cells, whose margin is withheld, or that holds a withheld cell is
 * withheld whole, and its cells count as hidden in their trees; both
 * passes repeat until nothing changes. The unit's flow, rewritten by those
 * decisions in suppress_flow_json's JSON representation, is appended to
 * 'out'. Every request reads the same decisions for the same cube.
 * Errors (with 'err'): ERR_NOTFOUND for an unknown unit; the callback's
 * error; ERR_PARSE for a flow object of another shape; ERR_AGAIN when the
 * units' figures did not add up SUPPRESS_TREE_ATTEMPTS times running (the
 * cube changed between the calls); ERR_TOOBIG when 'out' is full, or
 * when units x figures exceed SUPPRESS_TREE_MAX_CELLS.
 * Thread-safe when 'flow' is. */
NODISCARD int suppress_flow_tree(const struct org *org, const char *unit,
                                 suppress_flow_fn flow, void *ctx,
                                 struct buf *out, struct error *err);

#endif
