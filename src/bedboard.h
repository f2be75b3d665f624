/* bedboard.h -- the bed-board projection: the current state of every ward
 * and bed, kept incrementally from episode events and rebuildable from the
 * event log.
 *
 * Design: each episode keeps its own events sorted by occurred_at; applying
 * an event inserts it into that list (a cancel marks what it undoes) and
 * re-derives the episode's state by replaying its list, so out-of-order
 * arrival and cancels are exact and the work per event is bounded by the
 * episode's length. Ward state (occupied beds, patients, waiting lists) is
 * updated from the episode's old and new state.
 *
 * Publication: the writer thread owns a struct bedboard and mutates it;
 * readers never touch it. After each committed group the writer calls
 * bedboard_publish, which renders the wards that changed into an immutable,
 * reference-counted snapshot; readers take it with bedboard_snapshot_get
 * (cheap: a mutex-protected pointer copy and a reference) and release it.
 *
 * Replay rules (docs/FLOW.md has the full table): events sort by
 * (occurred_at, seq; seq 0 = not yet stored sorts last). Pass 1 gives each
 * cancel its target: the latest earlier event of the cancelled kind not yet
 * cancelled (or, when attrs.cancels_time is set, the one at exactly that
 * time); a cancelled event is skipped as if it never happened. Pass 2 runs
 * the rest through the episode state machine
 *
 *   none --A14--> waiting --A01/A04(ED)--> open --A03/A07--> closed
 *     \------------A01/A04(ED)-------------^  (A02/A08/A21/A22/ready: open)
 *
 * and an event that does not fit where it sorts (a transfer of a closed
 * episode, ...) is void: it changes nothing. bedboard_check refuses an
 * event that would be void (ERR_STATE); an accepted event may become void
 * later when an earlier event arrives (an A08 after a late A03). Ready for
 * transfer is the one lenient kind: it is accepted even when void, because
 * an A01 and its ready event arrive as one message.
 * The derived state depends only on the set of accepted events, so a board
 * rebuilt from the log in any order that keeps each episode's acceptance
 * order equals the incrementally kept one (bedboard_dump).
 *
 * Occupancy: "beds" are the ward's configured (staffed) beds. All patients
 * placed on the ward count (on leave included, with or without a bed):
 * patient_count = occupied + overflow, occupied = min(patient_count, beds),
 * free = beds - occupied, occupancy_pct = 100 * patient_count / beds (may
 * exceed 100). When two patients claim the same bed (messages crossing),
 * the one placed there first (then the smaller episode id) holds it; the
 * others are listed with "bed_conflict":true until it resolves.
 *
 * Invariants (checked by bedboard_check_invariants, used by tests):
 *  1. for every ward, occupied + free == beds and occupied + overflow ==
 *     patient_count, with free, overflow >= 0 (patients beyond the staffed
 *     beds count as overflow);
 *  2. every open episode is placed on exactly one unit (a ward bed, a ward
 *     without a bed, or an ED); a waiting episode (pending admit, not
 *     placed) is on exactly one waiting list; besides its place an open
 *     episode may be on the waiting list of its pending transfer/admit ward
 *     and, when boarding, of its ED; closed episodes are nowhere; the
 *     incrementally kept ward lists and counters equal a recount;
 *  3. no bed holds two patients unless the ward has shared_beds;
 *  4. the cube's invariants (cube_check).
 *
 * Thread safety: bedboard_* mutators from one thread only; snapshot
 * functions from any thread. */
#ifndef TK_BEDBOARD_H
#define TK_BEDBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "cube.h"
#include "err.h"
#include "event.h"
#include "org.h"

/* Most events kept per episode; more are refused (ERR_STATE). */
#define BEDBOARD_MAX_EPISODE_EVENTS 5000
/* Events (other than pending admits/transfers, which may be planned ahead)
 * dated more than this after the board's clock are refused. */
#define BEDBOARD_FUTURE_MS (24LL * 3600 * 1000)

struct bedboard;
struct bedboard_snapshot;

/* A new, empty board for the wards of 'org' (which must outlive it). */
struct bedboard *bedboard_new(const struct org *org);
void bedboard_free(struct bedboard *bb);

/* Would 'ev' apply? 0 when it would; ERR_STATE with a reason in 'err' when
 * it cannot (discharge or transfer of an unknown episode, cancel of nothing,
 * a bed that does not exist on the ward). Does not change the board. */
NODISCARD int bedboard_check(const struct bedboard *bb, const struct event *ev,
                             struct error *err);

/* Applies 'ev' (a duplicate, same seq or same channel+source_key+kind, is a
 * no-op). Same errors as bedboard_check; on error the board is unchanged. */
NODISCARD int bedboard_apply(struct bedboard *bb, const struct event *ev,
                             struct error *err);

/* Renders the changed wards and swaps in a new snapshot stamped 'as_of'
 * (UTC ms). Returns the number of wards that changed since the last
 * publish (0: nothing published). When the Helsinki date of 'as_of'
 * differs from the last publish's, every ward is rendered again (los_days
 * and expected discharges today depend on it). Also sets the clock
 * (bedboard_set_now). Writer thread only. */
size_t bedboard_publish(struct bedboard *bb, int64_t as_of);

/* Appends the ids of the wards the last bedboard_publish rendered, as a
 * JSON array (["kh-w1","kh-ed"]). 0 or ERR_TOOBIG. Writer thread only. */
NODISCARD int bedboard_changed_json(const struct bedboard *bb, struct buf *out);

/* The current snapshot with a reference taken; never NULL after
 * bedboard_new. Release with bedboard_snapshot_release. */
struct bedboard_snapshot *bedboard_snapshot_get(struct bedboard *bb);
void bedboard_snapshot_release(struct bedboard_snapshot *snap);

/* Monotonic version of the snapshot (increments per publish). */
uint64_t bedboard_snapshot_version(const struct bedboard_snapshot *snap);

/* Appends the bed-board JSON for the wards under 'unit' (NULL = the whole
 * county) to 'out':
 * {"as_of":"...","version":N,"wards":[{"id","name":{...},"hospital",
 *   "beds","occupied","free","occupancy_pct","awaiting_transfer","on_leave",
 *   "patients":[{"bed","subject","age_band","sex","admitted_at",
 *     "los_days","expected_discharge","on_leave","ready_for_transfer",
 *     "ready_since"}],
 *   "waiting":[{"subject","kind":"pending_admit|pending_transfer|in_ed",
 *     "since", ...}]}]}
 * When 'with_patients' is false, "patients" and "waiting" are left out
 * (aggregate-only roles). ERR_NOTFOUND when 'unit' is unknown.
 * The exact fields (docs/FLOW.md): top level {"as_of","version","unit",
 * "totals":{...},"wards":[...]}; each ward also has "type" ("ward"|"ed"),
 * "patient_count", "overflow", "expected_discharges_today", "boarding",
 * "waiting_count"; a patient also "episode", "bed_conflict", "ward_since",
 * "pending_transfer_to"; a waiting entry "episode", "unit_now", "bed",
 * "age_band", "sex". Thread-safe; 'snap' must be held. */
NODISCARD int bedboard_snapshot_json(const struct bedboard_snapshot *snap,
                                     const char *unit, bool with_patients,
                                     struct buf *out, struct error *err);

/* What a rendering shows. */
enum bedboard_detail {
  BEDBOARD_PERSONS,   /* exact counts and the person-level rows */
  BEDBOARD_AGGREGATE, /* exact counts, no person-level rows */
  BEDBOARD_SUPPRESSED /* counts with small cells suppressed, no rows */
};

/* As bedboard_snapshot_json, with the detail chosen (PERSONS is
 * with_patients true, AGGREGATE false). SUPPRESSED is for roles without
 * person-level rights (suppress.h; docs/API.md "Small-cell suppression"):
 *  - in each ward, a count of 1..4 (patient_count, awaiting_transfer,
 *    on_leave, expected_discharges_today, boarding, waiting_count) is null
 *    and listed in the ward's "suppressed" array; occupied (= min(
 *    patient_count, beds)) is suppressed with patient_count and shown with
 *    it; free, overflow and occupancy_pct are then null and listed in
 *    "withheld";
 *  - in the totals, the same counts and ed_patients are suppressed when
 *    1..4, or withheld when the suppressed ward cells that the total and
 *    the shown cells would reveal are not safe (suppress_set_safe); the
 *    decisions are made once per snapshot over the whole organisation tree
 *    (bottom-up; a hidden total passes its hidden cells up to its parent),
 *    so that no combination of responses for different units reveals a
 *    suppressed cell. Derived totals are withheld with their counts;
 *  - every ward and the totals carry "suppressed" and "withheld" (possibly
 *    empty). Thread-safe; 'snap' must be held. */
NODISCARD int bedboard_snapshot_render(const struct bedboard_snapshot *snap,
                                       const char *unit,
                                       enum bedboard_detail detail,
                                       struct buf *out, struct error *err);

/* Calls fn(ctx, ward, subject) for every person-level row that a
 * BEDBOARD_PERSONS rendering of the same snapshot and unit shows (the
 * patients, then the waiting entries, of each ward in order): 'ward' is
 * the ward's id, 'subject' the row's subject pseudonym, or "episode:" and
 * its episode pseudonym when it has none. Stops at and returns fn's first
 * non-zero return. ERR_NOTFOUND when 'unit' is unknown. Thread-safe; 'snap'
 * must be held. */
typedef int (*bedboard_subject_fn)(void *ctx, const char *ward,
                                   const char *subject);
NODISCARD int bedboard_snapshot_subjects(const struct bedboard_snapshot *snap,
                                         const char *unit,
                                         bedboard_subject_fn fn, void *ctx,
                                         struct error *err);

/* Checks invariants 1-3; 0 or ERR_STATE with the first violation. */
NODISCARD int bedboard_check_invariants(const struct bedboard *bb,
                                        struct error *err);

/* A canonical text dump of the whole state (episodes, places, flags), used
 * to prove a rebuilt board equals the incrementally kept one. */
NODISCARD int bedboard_dump(const struct bedboard *bb, struct buf *out);

/* ---- Added by the bed-board helper. ---------------------------------- */

/* As bedboard_new, with a cube keeping 'cube_days' days (cube_new). */
struct bedboard *bedboard_new_days(const struct org *org, int32_t cube_days);

/* The flow cube the board keeps up to date (cube.h): every change of an
 * episode's derived state removes its old contribution and adds the new
 * one. Owned by the board; read it only while the writer is excluded. */
const struct cube *bedboard_cube(const struct bedboard *bb);

/* Connects a listener to the flow cube (cube_set_listener: the net change
 * of every flow figure, e.g. to feed the indicator cube). Call right after
 * bedboard_new, before any event: 0, or ERR_STATE when the cube already
 * holds contributions. Writer. */
NODISCARD int bedboard_set_flow_listener(struct bedboard *bb,
                                         cube_listener_fn fn, void *ctx);

/* Moves the flow cube's horizon to local 'day' (cube_set_horizon): the
 * listener hears each ward's census for the days up to it. The owner calls
 * it with today's date under the same lock as the listener's target.
 * Writer. */
void bedboard_flow_horizon(struct bedboard *bb, int32_t day);

/* Sets the board's clock (UTC ms; it never goes back). Once set, events
 * more than BEDBOARD_FUTURE_MS after it are refused, so a garbage date
 * cannot move the cube's window. bedboard_publish sets it too. Writer. */
void bedboard_set_now(struct bedboard *bb, int64_t now_ms);

/* Forgets closed (and never-opened) episodes whose last event is before
 * 'before' (UTC ms) to bound memory; their cube contribution stays. Later
 * events of a forgotten episode are refused as unknown. Returns how many
 * were forgotten. Writer. */
size_t bedboard_prune(struct bedboard *bb, int64_t before);

enum bedboard_status {
  BEDBOARD_NONE,    /* known, but nothing applies (e.g. admission cancelled) */
  BEDBOARD_WAITING, /* pending admission, not placed */
  BEDBOARD_OPEN,    /* placed on a unit */
  BEDBOARD_CLOSED   /* discharged */
};

enum bedboard_pending {
  BEDBOARD_PENDING_NONE,
  BEDBOARD_PENDING_ADMIT,
  BEDBOARD_PENDING_TRANSFER
};

/* One episode's derived state. Strings point into the board or the org
 * and are valid until the next mutation. */
struct bedboard_episode {
  enum bedboard_status status;
  const char *unit; /* current (open) or last (closed) unit id, or NULL */
  const char *bed;  /* "" when none */
  const char *subject;
  int64_t admitted_at; /* first ward placement (else first placement), 0 */
  int64_t closed_at;   /* 0 unless closed */
  bool on_leave;
  bool ready;
  int64_t ready_since; /* 0 unless ready */
  int64_t expected_discharge;
  bool boarding; /* in an ED with an inpatient class */
  enum bedboard_pending pending;
  const char *pending_unit; /* NULL unless pending */
  size_t nevents;           /* events kept (void and cancelled included) */
};

/* Fills *out for 'episode'. 0, or ERR_NOTFOUND (*out untouched). */
NODISCARD int bedboard_episode(const struct bedboard *bb, const char *episode,
                               struct bedboard_episode *out);

#endif
