/* dashboard.h -- the access-to-care projection: appointment books, T3
 * measured daily, visits, and the indicator cube they feed; the series and
 * health-station dashboard JSON and its CSV/XLSX export.
 *
 * It owns a schedule (schedule.h: one book per professional) and an
 * indicator cube (indicator.h) over the built-in catalogue and the
 * built-in care-guarantee timeline (access.h). Like every projection it
 * holds nothing that is not in the event log: applying the log in order to
 * a new dashboard gives the same cube (indicator_cube_equal).
 *
 * Events (dashboard_apply):
 *   slot.*                 go to the schedule;
 *   visit.completed        becomes one access_visit fed to the cube with
 *                          indicator_feed_visit: the visit date is the
 *                          Helsinki date of occurred_at, the HTA date that
 *                          of attrs.assessed_at (0: none), the contact date
 *                          that of attrs.contact_at (0: none), the age
 *                          attrs.age_years (-1 unknown), the group from
 *                          attrs.prof_group (schedule_group_from_code; any
 *                          other code counts as "nurse or other
 *                          professional"), the service dental for dentists
 *                          and hygienists, else primary care, and the flags
 *                          EVENT_F_URGENT and EVENT_F_CARE_PLAN ..
 *                          EVENT_F_PROMOTION. A visit is identified by
 *                          (channel, episode), else (channel,
 *                          attrs.appointment), else (channel, source key):
 *                          a visit sent again (a correction) replaces the
 *                          earlier contribution (removed with sign -1, the
 *                          new one added), so nothing is counted twice;
 *   episode.discharge_cancelled  removes the visit of (channel, episode);
 *   appointment.cancelled  removes the visit of (channel, appointment).
 * A visit whose unit is not in the organisation, or that lies before its
 * HTA or contact, is not counted (ERR_INVAL / ERR_RANGE; the earlier
 * contribution of the same visit, if any, is removed).
 *
 * T3 is measured once a day at a configured Helsinki time (default 08:00)
 * for every professional whose book is open (schedule_measure), fed with
 * indicator_feed_t3 on that day. Measurements are driven by event time, so
 * a rebuild from the log gives the same figures: before an event whose
 * occurred_at is later than the next measurement instant is applied, every
 * due day up to it is measured with the books as they are (events at the
 * instant itself count as before it); dashboard_tick(now) measures the days
 * that are due when no event arrives. Days before the first slot event are
 * never measured: the first measured day is the first whose instant is at
 * or after that event's time (there is no book to measure before it). At
 * most DASHBOARD_MAX_CATCHUP_DAYS days are measured for one gap (a wildly
 * future-dated event skips the days before its last ones). An event late
 * past a measurement already taken changes the books from then on only.
 *
 * Thread safety: one writer (dashboard_apply, dashboard_tick) and no lock
 * inside; the const functions may run concurrently with each other while
 * nothing writes (the owner holds a read-write lock). No I/O, no logging. */
#ifndef TK_DASHBOARD_H
#define TK_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "cube.h"
#include "err.h"
#include "event.h"
#include "indicator.h"
#include "org.h"
#include "schedule.h"

#define DASHBOARD_HEALTH_STATIONS "health-stations"
#define DASHBOARD_MAX_CATCHUP_DAYS 3660 /* days measured for one gap */
#define DASHBOARD_KEEP_DAYS                                                    \
  400 /* slot history kept before the latest slot event */
#define DASHBOARD_MAX_VISITS 100000000 /* visits remembered */
#define DASHBOARD_TREND 13             /* periods in a panel's trend */
#define DASHBOARD_FILENAME_MAX 200

struct dashboard_options {
  int measure_minute; /* Helsinki minutes after midnight, 0..1439 */
  int32_t cap_days;   /* T3 cap, 1..T3_MAX_CAP */
};

/* Writes the defaults: 08:00 (T3_DEFAULT_HOUR), cap T3_DEFAULT_CAP. */
void dashboard_options_default(struct dashboard_options *o);

struct dashboard;

/* A new, empty dashboard over 'org' (must outlive it). 'opt' may be NULL
 * (defaults). 0 and *out (free with dashboard_free), ERR_INVAL for options
 * out of range, ERR_CRYPTO when libsodium cannot start (the visit keys are
 * hashed with it), or the errors of loading the built-in catalogue and
 * rules (ERR_CONFIG); *out untouched on failure. */
NODISCARD int dashboard_new(const struct org *org,
                            const struct dashboard_options *opt,
                            struct dashboard **out, struct error *err);
void dashboard_free(struct dashboard *d);

/* Applies one event (see above; other kinds only move the measurement
 * clock). 0, or a negative code with 'err' when the event could not be
 * applied (the schedule's errors; ERR_INVAL for a visit of an unknown unit;
 * ERR_RANGE for a visit before its HTA or contact or out of the cube's
 * range). A failure of a T3 measurement made on the way does not stop the
 * event: it is reported (ERR_RANGE) after the event was applied. The
 * writer only. */
NODISCARD int dashboard_apply(struct dashboard *d, const struct event *ev,
                              struct error *err);

/* Measures every day whose measurement instant lies before 'now' (UTC ms)
 * and is not yet measured (nothing before the first slot event). 0, or
 * ERR_RANGE when a measurement could not be fed (the others are). The
 * writer only. */
NODISCARD int dashboard_tick(struct dashboard *d, int64_t now,
                             struct error *err);

/* The parts, for readers (under the owner's read lock). */
const struct schedule *dashboard_schedule(const struct dashboard *d);
const struct indicator_cube *dashboard_cube(const struct dashboard *d);
const struct indicator_catalogue *
dashboard_catalogue(const struct dashboard *d);
/* Visits currently counted. */
size_t dashboard_visit_count(const struct dashboard *d);
/* Bytes of memory held by the remembered visits (the key table and the
 * visit records: 52 bytes per visit plus 5 to 11 per key, a visit having
 * one or two keys; never shrinks, freed records are reused) plus the
 * indicator cube (indicator_cube_memory); the schedule's books are not
 * included. For capacity planning. A reader. */
size_t dashboard_memory(const struct dashboard *d);
/* The next day to be measured, or INT32_MIN before the first slot event. */
int32_t dashboard_next_measurement(const struct dashboard *d);

/* The bed board's flow cube listener (cube_listener_fn; ctx = the
 * dashboard): applies each net change of a ward's flow figures to the
 * indicator cube, so the catalogue's ward.* measures equal the flow cube
 * (docs/INDICATORS.md "Ward flow"): census -> ward.care_days, ready census
 * -> ward.delay_days (each day of the change's range), admissions ->
 * ward.admissions, transfers -> ward.transfers_in / ward.transfers_out,
 * discharges -> ward.discharges and the ward.los histogram. Connect it with
 * bedboard_set_flow_listener right after both are created; the board and
 * the dashboard must then be written under the same lock. A change the
 * indicator cube refuses (a day out of its range) is counted, not fatal.
 * The writer only. */
void dashboard_flow_change(void *ctx, const struct cube_change *ch);

/* Flow changes the indicator cube refused so far (0 in normal operation). */
size_t dashboard_flow_refused(const struct dashboard *d);

/* A request, as its query parameters were sent (NULL: absent, default). */
struct dashboard_query {
  const char *indicator; /* series: the catalogue id */
  const char *dashboard; /* view and export: the dashboard's name */
  const char *unit;      /* default: the organisation's root */
  const char *period;    /* indicator_period_name; default "month" */
  const char *from, *to; /* series: YYYY-MM-DD; default the last 12
                            months up to today */
  const char *at;        /* view: YYYY-MM-DD; default today */
  const char *format;    /* export: "csv" or "xlsx" (required) */
  const char *panel;     /* export: a panel id (required for csv) */
  const char *lang;      /* export: "fi", "sv" or "en"; default "fi" */
  int64_t now;           /* UTC ms: "today" and generated_at */
};

/* An exported file. */
struct dashboard_file {
  char filename[DASHBOARD_FILENAME_MAX]; /* "<dashboard>-<unit>-<from>.<ext>" */
  const char *content_type;              /* static */
};

/* Failures of the three functions below ('err' says why):
 *   ERR_NOTFOUND  the indicator or dashboard does not exist (404);
 *   ERR_INVAL     a parameter is invalid: *param (may be NULL) is set to its
 *                 name ("unit", "period", "from", "to", "at", "format",
 *                 "panel", "lang") (400);
 *   ERR_TOOBIG    'out' is full; others: internal.
 * 'out' may hold a partial text on failure. Readers: thread-safe against
 * each other. */

/* GET /api/v1/indicators/{id}: {"indicator","unit","period","from","to",
 * "points":[POINT...]} with POINT = {"from","to","value","n","suppressed",
 * "capped","rule_version","rule_changed"} (docs/API.md). */
NODISCARD int dashboard_series_json(const struct dashboard *d,
                                    const struct dashboard_query *q,
                                    struct buf *out, const char **param,
                                    struct error *err);

/* GET /api/v1/dashboards/{name}: every panel of the view in one object
 * (docs/API.md "Dashboards"); by_child tables and distributions carry
 * complementary suppression. */
NODISCARD int dashboard_view_json(const struct dashboard *d,
                                  const struct dashboard_query *q,
                                  struct buf *out, const char **param,
                                  struct error *err);

/* GET /api/v1/dashboards/{name}/export: the view's tables as CSV (one
 * panel: its by_child table, or a distribution's bins) or XLSX (one sheet
 * per panel, or only 'panel'), in q->lang, into 'out', with *file. */
NODISCARD int dashboard_export(const struct dashboard *d,
                               const struct dashboard_query *q, struct buf *out,
                               struct dashboard_file *file, const char **param,
                               struct error *err);

#endif
