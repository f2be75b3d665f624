/* indicator.h -- the indicator engine: the declarative catalogue
 * (indicators/catalogue.json) and the daily cube it is computed from.
 *
 * The catalogue declares MEASURES (what the cube keeps per unit and day:
 * counters, or histograms of day counts) and INDICATORS (how a figure is
 * computed from measures: a ratio numerator / denominator x factor, or a
 * statistic of a distribution: median, percentile, mean, share within N
 * days, count over N days), each with names in fi/sv/en, unit, direction,
 * optional target, suppression rule, legal basis or source and rule
 * version. docs/INDICATORS.md describes the format and every indicator.
 *
 * The cube (struct indicator_cube) is keyed by (org unit index, local day,
 * measure). Every contribution is added to the unit and to each of its
 * ancestors, both in a day cell and in a month cell, so a figure for any
 * organisation level equals the sum over the unit's depth-first subtree
 * [i, i + subtree_size) but costs one series read, and a period is read
 * from whole months plus at most two partial months of days. Histogram
 * cells are compact (hist.h), so medians and percentiles combine exactly.
 * Contributions may be removed (sign -1) to undo corrections; the state
 * depends only on the multiset of contributions, never on their order.
 *
 * Periods: day, ISO week (Monday..Sunday), month, quarter, year, and the
 * rolling 7/30/365 days ending on a date. Series of rolling periods slide
 * one day at a time (add the new day, subtract the day that left).
 *
 * Suppression (docs/INDICATORS.md "Suppression"): a point with
 * 0 < n < min_n is suppressed, and so is a point whose numerator count is
 * 1..min_n-1 when the indicator says "small_numerator" (a percentage or a
 * count derived from a suppressed cell). A suppressed point carries no
 * value and no n.
 *
 * Thread safety: a loaded catalogue is immutable and may be shared. A cube
 * has one writer and no lock inside; readers must be excluded while it
 * writes (the owner holds a read-write lock). Const functions may run
 * concurrently with each other. No I/O, no logging. */
#ifndef TK_INDICATOR_H
#define TK_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "buf.h"
#include "compat.h"
#include "err.h"
#include "hist.h"
#include "org.h"
#include "t3.h"

#define INDICATOR_MAX_JSON (4u * 1024u * 1024u) /* bytes of a catalogue */
#define INDICATOR_MAX_MEASURES 512
#define INDICATOR_MAX_INDICATORS 1000
#define INDICATOR_MAX_TERMS 8 /* measures in one numerator/denominator */
#define INDICATOR_ID_MAX 64   /* bytes of an id, with the NUL */
#define INDICATOR_DEFAULT_MIN_N 5
#define INDICATOR_DAY_MIN (-25567)         /* 1900-01-01 */
#define INDICATOR_DAY_MAX 84005            /* 2199-12-31 */
#define INDICATOR_MAX_SPAN_DAYS (366 * 60) /* days one series may cover */
#define INDICATOR_MAX_POINTS 5000          /* points in one series */

/* ---- Catalogue ---------------------------------------------------------- */

struct indicator_text {
  const char *fi, *sv, *en;
};

enum indicator_measure_kind { INDICATOR_COUNTER, INDICATOR_HISTOGRAM };

struct indicator_measure {
  const char *id; /* e.g. "wait_hta.physician" */
  enum indicator_measure_kind kind;
  size_t bins;             /* histograms: exact bins, values 0..bins-1 */
  const char *description; /* English, for operators; may be NULL */
};

enum indicator_formula { INDICATOR_STATISTIC, INDICATOR_RATIO };

enum indicator_stat {
  INDICATOR_MEDIAN,       /* even n: mean of the two middle values */
  INDICATOR_PERCENTILE,   /* nearest rank, 'p' */
  INDICATOR_MEAN,         /* exact sum / n */
  INDICATOR_SHARE_WITHIN, /* count(value <= days) / n x factor */
  INDICATOR_COUNT_OVER,   /* count(value > days) */
  INDICATOR_COUNT         /* n */
};

enum indicator_denominator {
  INDICATOR_DEN_MEASURES,   /* sum of the denominator measures */
  INDICATOR_DEN_POPULATION, /* residents of the municipalities under the
                               unit (org "population") */
  INDICATOR_DEN_DAYS,       /* days in the period */
  INDICATOR_DEN_BED_DAYS,   /* beds of the wards under the unit x days */
  INDICATOR_DEN_NONE        /* 1: the value is numerator x factor */
};

enum indicator_direction {
  INDICATOR_HIGHER_IS_BETTER,
  INDICATOR_LOWER_IS_BETTER,
  INDICATOR_NEUTRAL /* neither (e.g. admissions per day) */
};

/* One indicator. Strings are owned by the catalogue. */
struct indicator_def {
  const char *id; /* e.g. "t3_physician" */
  struct indicator_text name, description, source;
  const char *unit; /* "days", "%", "per_1000", "count", "per_day" */
  enum indicator_direction direction;
  bool has_target;
  double target;
  int64_t min_n;            /* suppress 0 < n < min_n; 0 = never */
  bool small_numerator;     /* also suppress numerator counts 1..min_n-1 */
  const char *rule_version; /* "YYYY-MM-DD" (fixed) */
  bool rule_timeline;       /* version from the care-guarantee timeline */
  enum access_service rule_service; /* ... for this service */
  const char *domain_ref; /* e.g. "DOMAIN.md Part B §1.3"; may be NULL */
  enum indicator_formula formula;
  enum indicator_stat stat; /* statistics */
  double p;                 /* percentile, 0..100 */
  int32_t days;             /* share_within / count_over threshold */
  double factor;            /* 100 for %, 1000 per 1,000; default 1 */
  size_t nnum;              /* numerator (or distribution) measures */
  size_t num[INDICATOR_MAX_TERMS];
  enum indicator_denominator den_kind;
  size_t nden;
  size_t den[INDICATOR_MAX_TERMS];
};

struct indicator_catalogue;

/* Parses a catalogue. 'rules' (may be NULL) gives the care-guarantee
 * timeline for indicators with "rule_timeline"; it must outlive the
 * catalogue. 0 and *out (free with indicator_catalogue_free); ERR_TOOBIG
 * above INDICATOR_MAX_JSON; ERR_PARSE for bad JSON; ERR_CONFIG with 'err'
 * naming the JSON path for anything else (unknown keys, unknown measures,
 * histograms of different bins in one statistic, ...). *out untouched on
 * failure. */
NODISCARD int indicator_catalogue_load_json(const char *text, size_t len,
                                            const struct access_rules *rules,
                                            struct indicator_catalogue **out,
                                            struct error *err);

/* The built-in catalogue (indicators/catalogue.json, embedded at build
 * time). */
NODISCARD int indicator_catalogue_builtin(const struct access_rules *rules,
                                          struct indicator_catalogue **out,
                                          struct error *err);

/* The embedded catalogue.json text (NUL-terminated) and its length. */
const char *indicator_builtin_json(size_t *len);

void indicator_catalogue_free(struct indicator_catalogue *cat);

size_t indicator_count(const struct indicator_catalogue *cat);
/* The i-th indicator in file order, or NULL. */
const struct indicator_def *indicator_at(const struct indicator_catalogue *cat,
                                         size_t i);
/* The indicator with 'id', or NULL. */
const struct indicator_def *
indicator_find(const struct indicator_catalogue *cat, const char *id);

size_t indicator_measure_count(const struct indicator_catalogue *cat);
const struct indicator_measure *
indicator_measure_at(const struct indicator_catalogue *cat, size_t i);
/* The index of measure 'id', or -1. */
long indicator_measure_find(const struct indicator_catalogue *cat,
                            const char *id);

/* Appends the catalogue as JSON for GET /api/v1/indicators:
 * {"indicators":[{"id","name":{fi,sv,en},"description":{..},"unit",
 *  "direction","target"(or null),"suppression":{"min_n","small_numerator"},
 *  "source":{..},"rule_version","rule_timeline"(service or null),
 *  "domain_ref","formula":{...}}]}. 0 or ERR_TOOBIG ('out' then holds a
 * partial text; reset it). Thread-safe. */
NODISCARD int indicator_catalogue_json(const struct indicator_catalogue *cat,
                                       struct buf *out);

/* ---- Periods ------------------------------------------------------------ */

enum indicator_period {
  INDICATOR_DAY,
  INDICATOR_WEEK, /* ISO week, Monday..Sunday */
  INDICATOR_MONTH,
  INDICATOR_QUARTER,
  INDICATOR_YEAR,
  INDICATOR_ROLL7, /* the 7 days ending on a day */
  INDICATOR_ROLL30,
  INDICATOR_ROLL365,
  INDICATOR__PERIODS
};

/* "day", "week", "month", "quarter", "year", "rolling7", "rolling30",
 * "rolling365"; NULL when out of range. */
const char *indicator_period_name(enum indicator_period p);
/* 0 and *out, or ERR_NOTFOUND. */
NODISCARD int indicator_period_parse(const char *name,
                                     enum indicator_period *out);
/* The period of kind 'p' holding (calendar) or ending on (rolling) 'day':
 * its first and last day, inclusive. */
void indicator_period_bounds(enum indicator_period p, int32_t day,
                             int32_t *first, int32_t *last);

/* ---- Cube --------------------------------------------------------------- */

struct indicator_cube;

/* A new, empty cube for the units of 'org' and the measures of 'cat'
 * (both must outlive it). Never NULL. */
struct indicator_cube *
indicator_cube_new(const struct org *org,
                   const struct indicator_catalogue *cat);
void indicator_cube_free(struct indicator_cube *c);

/* Adds 'delta' to counter 'measure' of unit index 'unit' on local 'day'
 * (a negative delta undoes). 0, or ERR_RANGE (nothing changed) for a unit,
 * measure or day out of range: INDICATOR_DAY_MIN..MAX, and the days ever
 * fed to a measure of the unit or of any ancestor may span at most
 * INDICATOR_MAX_SPAN_DAYS (a guard against runaway dates); ERR_INVAL when
 * the measure is a histogram. The writer only. */
NODISCARD int indicator_cube_add_count(struct indicator_cube *c, size_t unit,
                                       int32_t day, size_t measure,
                                       int64_t delta);

/* Adds 'count' occurrences of 'value' (>= 0) to histogram 'measure'
 * (count < 0 removes). 0; ERR_RANGE as above or for a value out of range;
 * ERR_INVAL when the measure is a counter; ERR_STATE when a removal was
 * never added. Nothing changes on failure. The writer only. */
NODISCARD int indicator_cube_add_value(struct indicator_cube *c, size_t unit,
                                       int32_t day, size_t measure,
                                       int64_t value, int64_t count);

/* Raw reads for 'unit' (its whole subtree) over days from..to inclusive.
 * indicator_cube_sum: a counter's sum, or a histogram's count. 0, or
 * ERR_RANGE for a bad unit/measure or from > to. */
NODISCARD int indicator_cube_sum(const struct indicator_cube *c, size_t unit,
                                 size_t measure, int32_t from, int32_t to,
                                 int64_t *out);
/* Merges histogram 'measure' into 'acc' (initialised by the caller with
 * the measure's bins). 0; ERR_RANGE as above; ERR_INVAL for a counter or
 * when acc->nbins differs. */
NODISCARD int indicator_cube_hist(const struct indicator_cube *c, size_t unit,
                                  size_t measure, int32_t from, int32_t to,
                                  struct hist *acc);

/* True when both cubes hold the same figures (same org and measures). */
bool indicator_cube_equal(const struct indicator_cube *a,
                          const struct indicator_cube *b);

/* Bytes of memory the cube holds (for capacity planning). */
size_t indicator_cube_memory(const struct indicator_cube *c);

/* Subtree residents and ward beds of unit index 'unit' (0 when out of
 * range). */
int64_t indicator_cube_population(const struct indicator_cube *c, size_t unit);
int64_t indicator_cube_beds(const struct indicator_cube *c, size_t unit);

/* ---- Indicator values --------------------------------------------------- */

struct indicator_point {
  int32_t from, to;         /* the days covered, inclusive */
  bool has_value;           /* false: no data, or suppressed */
  bool suppressed;          /* a small cell: value and n withheld */
  bool capped;              /* value lies in a histogram's open top bin: it is
                               a lower bound */
  double value;             /* 0 when !has_value */
  int64_t n;                /* the base count (0 when suppressed); see
                               docs/INDICATORS.md for each formula */
  const char *rule_version; /* owned by the catalogue or the rules; may be
                               NULL (no rule in force) */
  bool rule_changed;        /* a rule came into force within the period */
};

/* The value of 'def' for 'unit' (index) over days from..to. 0 and *out;
 * ERR_RANGE (with 'err') for a bad unit or from > to. One scratch
 * allocation. Thread-safe against other readers. */
NODISCARD int indicator_value(const struct indicator_cube *c,
                              const struct indicator_def *def, size_t unit,
                              int32_t from, int32_t to,
                              struct indicator_point *out, struct error *err);

/* A series of 'def' for 'unit' by period 'p' from 'from' to 'to': calendar
 * periods give one point per period that intersects [from, to] (each
 * covering its whole period); rolling periods one point per day in
 * [from, to], each the window ending on that day. 0 and *out (an array the
 * caller frees with mem_free) and *count; ERR_RANGE for a bad unit, period
 * or from > to; ERR_TOOBIG above INDICATOR_MAX_POINTS. */
NODISCARD int indicator_series(const struct indicator_cube *c,
                               const struct indicator_def *def, size_t unit,
                               int32_t from, int32_t to,
                               enum indicator_period p,
                               struct indicator_point **out, size_t *count,
                               struct error *err);

/* ---- Feeding the cube from domain records ------------------------------- */

/* One completed visit (DOMAIN §2), on its visit date, for professional
 * group 'g' (physician; nurse = nurse or other professional; dentist and
 * hygienist = dental), with 'res' from access_assess on 'v':
 *   - wait_hta.<grp>: visit - HTA days, for non-urgent visits with an HTA;
 *   - wait_contact.<grp>: visit - contact days, non-urgent with a contact;
 *   - cg.assessed.<grp> / cg.met.<grp> / cg.proxy_met.<grp> for visits
 *     with a verdict (met or missed); cg.no_rule.<grp> when no rule applied.
 * Measures the catalogue does not declare are skipped. sign is +1 or -1.
 * 0, or ERR_RANGE / ERR_STATE as the add functions (nothing changed). */
NODISCARD int indicator_feed_visit(struct indicator_cube *c, size_t unit,
                                   enum t3_group g,
                                   const struct access_visit *v,
                                   const struct access_result *res, int sign);

/* One professional's T3 measured on local 'day': t3.<g> (THL rule, remote
 * slots counted), t3.<g>.uncensored (when not censored), t3.<g>.censored
 * (counter), and t3.<g>.in_person from 'in_person' (remote slots not
 * counted; may be NULL). Errors as above. */
NODISCARD int indicator_feed_t3(struct indicator_cube *c, size_t unit,
                                int32_t day, enum t3_group g,
                                const struct t3_value *with_remote,
                                const struct t3_value *in_person, int sign);

/* Ward flow (DOMAIN §5) of one ward and local day: the midnight census
 * (ward.care_days) and the census of transfer-delay patients
 * (ward.delay_days), admissions (ward.admissions), each times 'sign' (the
 * values may be negative: changes); zero values touch nothing. And a
 * discharge after 'los_days' (ward.los, ward.discharges). Errors as above.
 * The dashboard feeds them from the bed board's flow cube
 * (dashboard_flow_change). */
NODISCARD int indicator_feed_ward_day(struct indicator_cube *c, size_t unit,
                                      int32_t day, int64_t census,
                                      int64_t ready, int64_t admissions,
                                      int sign);
NODISCARD int indicator_feed_discharge(struct indicator_cube *c, size_t unit,
                                       int32_t day, int32_t los_days, int sign);

/* Changes to the transfers into (ward.transfers_in) and out of
 * (ward.transfers_out) a ward on local 'day'; zero values touch nothing.
 * Errors as above. */
NODISCARD int indicator_feed_transfers(struct indicator_cube *c, size_t unit,
                                       int32_t day, int64_t in, int64_t out);

#endif
