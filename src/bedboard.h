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
 * Invariants (checked by bedboard_check_invariants, used by tests):
 *  1. for every ward, occupied + free == beds (free may not go negative:
 *     patients beyond the staffed beds count as overflow);
 *  2. every open episode is in exactly one place (a ward bed, a ward without
 *     a bed, or a waiting list);
 *  3. no bed holds two patients unless the ward has shared_beds.
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
#include "err.h"
#include "event.h"
#include "org.h"

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
 * publish (0: nothing published). */
size_t bedboard_publish(struct bedboard *bb, int64_t as_of);

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
 * (aggregate-only roles). ERR_NOTFOUND when 'unit' is unknown. */
NODISCARD int bedboard_snapshot_json(const struct bedboard_snapshot *snap,
                                     const char *unit, bool with_patients,
                                     struct buf *out, struct error *err);

/* Checks invariants 1-3; 0 or ERR_STATE with the first violation. */
NODISCARD int bedboard_check_invariants(const struct bedboard *bb,
                                        struct error *err);

/* A canonical text dump of the whole state (episodes, places, flags), used
 * to prove a rebuilt board equals the incrementally kept one. */
NODISCARD int bedboard_dump(const struct bedboard *bb, struct buf *out);

#endif
