/* schedule.h -- the scheduling projection: every professional's appointment
 * book, kept from slot events, and T3 per unit and professional group.
 *
 * Applies slot.* events (event.h) to one struct t3_book per professional
 * (t3.h); appointment.* and visit.completed change no book. Like the bed
 * board it holds nothing that is not in the event log, so it is rebuilt by
 * applying the log in order. Rules:
 *   slot.opened   the slot exists and is free, with the event's time and
 *                 flags (a new slot, or a rescheduled/modified one);
 *   slot.booked   the slot exists and is booked (opened if unknown);
 *   slot.released the slot is free again (opened if unknown and the event
 *                 carries its time; otherwise ignored);
 *   slot.removed  the slot is gone (ignored if unknown).
 * Each slot event must name the professional (attrs.professional), the
 * slot (attrs.slot) and, except slot.removed, the unit and slot_start. A
 * professional's unit and group are those of their latest slot event.
 *
 * Professional groups: attrs.prof_group is matched case-insensitively
 * against schedule_group_from_code's table; a professional whose code is not
 * in it keeps a book but is in no group's T3.
 *
 * Thread safety: one writer (the ingest writer thread), no lock inside;
 * const functions may run concurrently while nothing writes (the caller's
 * lock). */
#ifndef TK_SCHEDULE_H
#define TK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"
#include "event.h"
#include "t3.h"

#define SCHEDULE_MAX_PROFESSIONALS 100000

struct schedule;

/* The group of a professional group code: the t3_group_name values
 * ("physician", "nurse", "dentist", "hygienist") and the Finnish
 * "laakari"/"lääkäri", "hoitaja", "sairaanhoitaja", "terveydenhoitaja",
 * "hammaslaakari"/"hammaslääkäri", "suuhygienisti". 0 and *out set, or
 * ERR_NOTFOUND (*out untouched). */
NODISCARD int schedule_group_from_code(const char *code, enum t3_group *out);

/* A new, empty projection. Never NULL; free with schedule_free (accepts
 * NULL). */
struct schedule *schedule_new(void);
void schedule_free(struct schedule *s);

/* Applies one event (other kinds are ignored: 0). ERR_INVAL (with 'err')
 * for a slot event missing a required attribute, ERR_TOOBIG past
 * SCHEDULE_MAX_PROFESSIONALS or a full book; the projection is unchanged on
 * failure. */
NODISCARD int schedule_apply(struct schedule *s, const struct event *ev,
                             struct error *err);

/* Professionals with a book. */
size_t schedule_professionals(const struct schedule *s);

/* T3 at 't0' for the professionals of 'unit' (exact unit id) in group 'g':
 * one t3_book_value per professional, then t3_unit (both rules). 'opts'
 * may be NULL (defaults). 0 and *out set (n == 0 when none); ERR_INVAL for
 * a bad group or options. */
NODISCARD int schedule_t3(const struct schedule *s, const char *unit,
                          enum t3_group g, int64_t t0,
                          const struct t3_opts *opts, struct t3_summary *out,
                          struct error *err);

/* Called by schedule_measure for one professional: their unit and group,
 * their value with remote slots counted (THL default) and with in-person
 * slots only. A negative return stops the walk and is returned. */
typedef int (*schedule_measure_fn)(void *ctx, const char *unit, enum t3_group g,
                                   const struct t3_value *with_remote,
                                   const struct t3_value *in_person);

/* The daily measurement: first drops from every book the slots starting
 * before 'prune_before' (0: none; history no later measurement looks at,
 * but an 'at' given to schedule_t3 before it no longer sees them), then
 * calls 'fn' for every professional in a group whose book is open, i.e.
 * still holds a slot (free or booked) starting at or after t0, with the
 * values at t0 under 'opts' (NULL: defaults; its count_remote is ignored).
 * Professionals in no group, or with nothing left in their book, are not
 * measured. 0, ERR_INVAL for bad options, or fn's error. The writer only
 * (it changes the books). */
NODISCARD int schedule_measure(struct schedule *s, int64_t t0,
                               int64_t prune_before, const struct t3_opts *opts,
                               schedule_measure_fn fn, void *ctx);

/* Appends {"unit":..,"group":..,"at":<ms>,"n":..,"censored":..
 * "thl":{"rule":"thl","n":..,"median":..,"mean":..},
 * "excluding_censored":{...}} (median/mean null when n == 0). 0,
 * ERR_TOOBIG, or schedule_t3's errors. */
NODISCARD int schedule_t3_json(const struct schedule *s, const char *unit,
                               enum t3_group g, int64_t t0,
                               const struct t3_opts *opts, struct buf *out,
                               struct error *err);

#endif
