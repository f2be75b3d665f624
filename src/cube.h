/* cube.h -- the daily flow cube: ward x day counters for hospital ward flow
 * (DOMAIN.md Part B §5), kept incrementally and exactly.
 *
 * What is counted, per ward (org unit of type "ward") and Europe/Helsinki
 * local day (docs/FLOW.md gives the definitions):
 *   - midnight census: patients assigned to the ward at 00:00 local time;
 *   - ready census: of those, patients ready for transfer (siirtokelpoinen)
 *     since an earlier day; its sum over days is the transfer-delay days
 *     (siirtoviivepäivät);
 *   - admissions (first entry of the episode to a ward), transfers in and
 *     out (between units), discharges; admissions and discharges also by
 *     local hour of day;
 *   - a length-of-stay histogram of the discharges of the day, in days
 *     (bins 0..CUBE_LOS_BINS-2 exact, the last bin "that many or more"),
 *     and the exact sum of the lengths.
 *
 * How it is fed: the owner (the bed board) describes each episode's
 * contribution as a list of items (stays, ready intervals, admissions, ...)
 * and calls cube_replace(old, new) (or cube_apply(old, -1) then
 * cube_apply(new, +1)) whenever the episode's derived state changes, so
 * cancels and out-of-order events stay exact. An optional listener hears
 * the net change of every figure (see "Change listener" below). Stays are
 * stored as differences: a stay adds +1 to the census difference of its first
 * counted day and -1 after its last one; an open stay has no -1, so it is
 * counted up to any day without the cube having to move anything at midnight.
 * census(d) = base + sum of differences up to d.
 *
 * Memory: a ring of 'days' day records per ward (allocated when the ward is
 * first touched), so memory is wards x days x about 160 counters. The
 * window is [hi - days + 1, hi], hi being the latest day any contribution
 * touched. When hi moves on, the days that leave the window fold their
 * census differences into 'base' and their other counters are dropped;
 * contributions to days before the window do the same. Hence figures are
 * exact for every day in the window, and the state depends only on the set
 * of contributions and hi (not on their order).
 *
 * Invariants (cube_check): no counter is negative; census and ready census
 * are non-negative for every day in the window; ready <= census.
 *
 * Thread safety: none inside. One writer mutates; readers must be excluded
 * while it does (the ingest holds a read-write lock around it). The const
 * functions may run concurrently with each other. */
#ifndef TK_CUBE_H
#define TK_CUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"
#include "org.h"

#define CUBE_DEFAULT_DAYS 400 /* a year and a month, with room to spare */
#define CUBE_MIN_DAYS 40      /* the 30-day queries need 30 (+ slack) */
#define CUBE_MAX_DAYS 4000
#define CUBE_LOS_BINS 101   /* 0..99 days exactly, then "100 days or more" */
#define CUBE_FLOW_DAYS 30   /* the window of cube_flow_json */
#define CUBE_OPEN INT64_MAX /* end of a stay that has not ended */

enum cube_item_kind {
  CUBE_STAY = 1,     /* on the ward from 'start' until 'end' (exclusive) */
  CUBE_READY,        /* ready for transfer on the ward, start..end */
  CUBE_ADMISSION,    /* first ward of the episode, at 'start' */
  CUBE_TRANSFER_IN,  /* arrived from another unit, at 'start' */
  CUBE_TRANSFER_OUT, /* left for another unit, at 'start' */
  CUBE_DISCHARGE     /* left the hospital at 'start', after 'los_days' */
};

/* One piece of an episode's contribution. */
struct cube_item {
  enum cube_item_kind kind;
  size_t unit;      /* org unit index (org_unit->index) of a ward */
  int64_t start;    /* UTC ms */
  int64_t end;      /* UTC ms or CUBE_OPEN; stays and ready intervals only */
  int32_t los_days; /* discharges: date(discharge) - date(admission) */
};

struct cube;

/* True when the cube keeps figures for 'unit': type "ward" (EDs and other
 * units are not bed wards). */
bool cube_tracks(const struct org_unit *unit);

/* A new, empty cube for the wards of 'org' (which must outlive it), keeping
 * 'days' days (clamped to CUBE_MIN_DAYS..CUBE_MAX_DAYS). Never NULL. */
struct cube *cube_new(const struct org *org, int32_t days);
void cube_free(struct cube *c);

/* Adds (sign = +1) or removes (sign = -1) 'n' items. Removing must mirror
 * an earlier add exactly. Items for units the cube does not track are
 * ignored. Not thread-safe (the writer). */
void cube_apply(struct cube *c, const struct cube_item *items, size_t n,
                int sign);

/* Replaces an episode's contribution 'old' (nold items, added earlier)
 * with 'new' (nnew items): the same as cube_apply(old, -1) then
 * cube_apply(new, +1), but with a listener set only the net change is
 * reported (items in both lists cancel, and so do census differences on
 * the same day). Not thread-safe (the writer). */
void cube_replace(struct cube *c, const struct cube_item *old, size_t nold,
                  const struct cube_item *new_items, size_t nnew);

/* ---- Change listener ------------------------------------------------------
 *
 * The owner may mirror the cube's figures elsewhere (the indicator cube of
 * the dashboard, docs/INDICATORS.md "Ward flow"): a listener is told the
 * net change of every figure of every ward and local day, including
 * corrections, cancels and late events (the cube already recomputes the
 * episode's contribution; the listener sees the difference).
 *
 * Census figures (midnight census, ready census) of an open stay extend to
 * every later day, so they are reported up to a HORIZON day only: the
 * latest day any contribution touched (as the cube's window), or a later
 * day set with cube_set_horizon (the owner's clock). When the horizon moves
 * on, each ward's census at its end is reported for the new days. Hence,
 * for every day d <= horizon, the sum of the census changes reported for d
 * equals the cube's census of d, and the sum of the flow changes reported
 * for d equals the cube's flows of d; this holds for days before the
 * cube's window as well (the listener sees them, the cube drops their
 * flows). The reported state depends only on the set of contributions and
 * the horizon, not on their order, so a rebuild that ends at the same
 * horizon reports the same sums. */
enum cube_figure {
  CUBE_FIG_CENSUS = 1, /* midnight census of each day from..to */
  CUBE_FIG_READY,      /* ready-for-transfer census of each day from..to */
  CUBE_FIG_ADMISSIONS, /* from == to */
  CUBE_FIG_TRANSFERS_IN,
  CUBE_FIG_TRANSFERS_OUT,
  CUBE_FIG_DISCHARGES /* with los_days */
};

struct cube_change {
  enum cube_figure figure;
  size_t unit;      /* org unit index of the ward */
  int32_t from, to; /* local days, inclusive (from == to for flows) */
  int32_t hour;     /* flows: the local hour of the event, 0..23 */
  int32_t los_days; /* discharges: date(discharge) - date(admission) */
  int64_t delta;    /* added to the figure of each day from..to */
};

/* Called by the writer, inside cube_replace / cube_apply /
 * cube_set_horizon, once per change; it must not call back into the cube. */
typedef void (*cube_listener_fn)(void *ctx, const struct cube_change *ch);

/* Sets the listener ('fn' NULL removes it). 0, or ERR_STATE when the cube
 * already holds contributions (the listener would miss them): set it right
 * after cube_new. The writer only. */
NODISCARD int cube_set_listener(struct cube *c, cube_listener_fn fn, void *ctx);

/* Moves the horizon to 'day' if that is later (the owner's local date;
 * a horizon never goes back), reporting each ward's census for the new
 * days. Without a listener it only records the day. The writer only. */
void cube_set_horizon(struct cube *c, int32_t day);

/* The horizon, or INT32_MIN before the first contribution or
 * cube_set_horizon. */
int32_t cube_horizon(const struct cube *c);

/* The figures of one day for the wards under 'unit' (a ward, or any unit:
 * its subtree's wards are summed). */
struct cube_day {
  bool known;           /* false: the day is before the cube's window */
  int64_t census;       /* midnight census (00:00 local) */
  int64_t ready;        /* of which ready for transfer since an earlier day */
  int64_t admissions;   /* first ward of the episode */
  int64_t transfers_in; /* from another unit */
  int64_t transfers_out;
  int64_t discharges;
};

/* Fills *out for 'day'. 0, or ERR_INVAL when 'unit' is NULL. */
NODISCARD int cube_day_get(const struct cube *c, const struct org_unit *unit,
                           int32_t day, struct cube_day *out);

/* Aggregates over the days from..to (inclusive) for the wards under
 * 'unit'. Days before the window are skipped (days_known says how many
 * were used). */
struct cube_stats {
  int32_t from, to;
  int64_t days_known; /* days of the range inside the cube's window */
  int64_t wards;      /* wards in the subtree */
  int64_t beds;       /* their staffed beds (as configured now) */
  int64_t care_days;  /* sum of midnight census = hoitopäivät */
  int64_t delay_days; /* sum of ready census = siirtoviivepäivät */
  int64_t admissions, transfers_in, transfers_out, discharges;
  int64_t admissions_by_hour[24], discharges_by_hour[24];
  int64_t admissions_by_weekday[7], discharges_by_weekday[7]; /* Mon..Sun */
  int64_t los[CUBE_LOS_BINS]; /* discharges by length of stay */
  int64_t los_n;              /* discharges in the histogram */
  int64_t los_sum_days;       /* exact sum of their lengths */
};

/* 0, or ERR_INVAL when 'unit' is NULL or from > to. */
NODISCARD int cube_stats_get(const struct cube *c, const struct org_unit *unit,
                             int32_t from, int32_t to, struct cube_stats *out);

/* Median length of stay of 'st' (the mean of the two middle values when the
 * count is even, DOMAIN §1.3). Returns false when there are no discharges.
 * *capped is set when a value used lies in the open last bin (the result
 * is then a lower bound). */
bool cube_los_median(const struct cube_stats *st, double *out, bool *capped);

/* P90 (nearest rank: the value at rank ceil(0.9 n)); as cube_los_median. */
bool cube_los_p90(const struct cube_stats *st, int32_t *out, bool *capped);

/* Appends the flow JSON of GET /api/v1/flow?unit= (docs/FLOW.md) for
 * 'unit' (NULL or "" = the whole county) and the 30 local days ending
 * 'today'. ERR_NOTFOUND (with 'err') when the unit is unknown, ERR_TOOBIG
 * when 'out' is full (its content is then incomplete). Thread-safe against
 * other readers. */
NODISCARD int cube_flow_json(const struct cube *c, const struct org *org,
                             const char *unit, int32_t today, struct buf *out,
                             struct error *err);

/* Checks the invariants; 0 or ERR_STATE naming the first violation. */
NODISCARD int cube_check(const struct cube *c, struct error *err);

/* A canonical text dump of every non-zero counter (the census as
 * differences, plus the folded bases), to prove two cubes equal. 0 or
 * ERR_TOOBIG. */
NODISCARD int cube_dump(const struct cube *c, struct buf *out);

/* Appends 's' as a JSON string (quotes, escapes; bytes that are not valid
 * UTF-8 become U+FFFD), or null when 's' is NULL. Shared with the bed
 * board. 0 or ERR_TOOBIG. */
NODISCARD int cube_json_string(struct buf *out, const char *s);

#endif
