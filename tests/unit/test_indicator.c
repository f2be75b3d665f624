/* test_indicator.c -- unit tests for indicator.c.
 *
 * - the built-in catalogue loads with the built-in care-guarantee rules,
 *   every indicator has fi/sv/en texts, and its JSON form parses;
 * - the loader refuses bad catalogues, naming the JSON path;
 * - periods (ISO week, quarter, rolling) and their names;
 * - DOMAIN.md Part B §1.4 through the cube (T3 = 14, n = 5, 1 censored;
 *   12 without censored values);
 * - visits fed through access_assess: waiting-time statistics, shares,
 *   care-guarantee compliance with the rule version of the timeline, the
 *   per-1,000-residents denominator from municipality populations, and
 *   suppression; ward flow figures (occupancy, LOS, delay days,
 *   admissions per day);
 * - a property test: random records on a random organisation of five
 *   levels over two years; every point of every series (day, ISO week,
 *   month, quarter, year; rolling 7/30/365 sampled) and random ranges, at
 *   every unit, equals a brute-force computation over the raw records;
 * - the incrementally kept cube (with removals) equals one rebuilt from
 *   the surviving records in another order;
 * - the same for random visits through indicator_feed_visit with the
 *   built-in catalogue and care-guarantee rules: every waiting-time
 *   median, percentile, share, count and compliance figure of every
 *   series (all period kinds, daily ones sampled) at every unit equals a
 *   brute-force derivation from the raw visits (waits by date arithmetic,
 *   the verdict by the rule in force on the HTA date for the age, the
 *   month limit clamped here), and the cube with corrections removed
 *   equals one rebuilt from the survivors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "chrono.h"
#include "indicator.h"
#include "mem.h"
#include "org.h"

static int32_t D(const char *s) {
  int32_t d = 0;
  if (chrono_parse_date(s, strlen(s), &d) != 0)
    fail_msg("bad fixture date '%s'", s);
  return d;
}

static struct access_rules *rules;
static struct indicator_catalogue *builtin;

static int setup(void **state) {
  struct error err;
  (void)state;
  if (access_rules_builtin(&rules, &err) != 0 ||
      indicator_catalogue_builtin(rules, &builtin, &err) != 0) {
    fprintf(stderr, "builtin: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  indicator_catalogue_free(builtin);
  access_rules_free(rules);
  return 0;
}

static const struct indicator_def *def(const struct indicator_catalogue *cat,
                                       const char *id) {
  const struct indicator_def *d = indicator_find(cat, id);
  if (d == NULL)
    fail_msg("no indicator '%s'", id);
  return d;
}

static size_t unit_ix(const struct org *org, const char *id) {
  const struct org_unit *u = org_unit_find(org, id);
  if (u == NULL)
    fail_msg("no unit '%s'", id);
  return u->index;
}

static struct indicator_point value(const struct indicator_cube *c,
                                    const struct indicator_def *d, size_t unit,
                                    const char *from, const char *to) {
  struct indicator_point p;
  struct error err;
  assert_int_equal(indicator_value(c, d, unit, D(from), D(to), &p, &err), 0);
  return p;
}

/* ------------------------------------------------------------ catalogue */

static void test_builtin_catalogue(void **state) {
  static const char *const required[] = {"t3_physician",
                                         "t3_physician_excl_censored",
                                         "t3_nurse",
                                         "t3_nurse_excl_censored",
                                         "wait_physician_median",
                                         "wait_physician_p90",
                                         "wait_physician_within_7",
                                         "wait_physician_within_14",
                                         "wait_physician_over_90",
                                         "care_guarantee_primary_care",
                                         "bed_occupancy",
                                         "los_median",
                                         "los_p90",
                                         "transfer_delay_days",
                                         "admissions_per_day",
                                         "visits_per_1000",
                                         "t3_dentist",
                                         "t3_dentist_excl_censored",
                                         "t3_hygienist",
                                         "t3_hygienist_excl_censored",
                                         "t3_physician_censored",
                                         "wait_contact_physician_median",
                                         "wait_contact_dental_median",
                                         "wait_dental_within_7",
                                         "wait_dental_within_14"};
  struct buf b;
  json_t *root;
  json_error_t jerr;
  (void)state;
  assert_int_equal(indicator_count(builtin), 49);
  assert_int_equal(indicator_measure_count(builtin), 41);
  for (size_t i = 0; i < ARRAY_LEN(required); i++)
    assert_non_null(indicator_find(builtin, required[i]));
  assert_null(indicator_find(builtin, "nope"));
  assert_null(indicator_at(builtin, 49));
  for (size_t i = 0; i < indicator_count(builtin); i++) {
    const struct indicator_def *d = indicator_at(builtin, i);
    assert_true(strlen(d->name.fi) > 0 && strlen(d->name.sv) > 0 &&
                strlen(d->name.en) > 0);
    assert_true(strlen(d->description.sv) > 0 && strlen(d->source.en) > 0);
    assert_int_equal(strlen(d->rule_version), 10);
  }
  {
    const struct indicator_def *d = def(builtin, "t3_physician");
    assert_int_equal(d->formula, INDICATOR_STATISTIC);
    assert_int_equal(d->stat, INDICATOR_MEDIAN);
    assert_int_equal(d->min_n, 0);
    d = def(builtin, "wait_nurse_within_14");
    assert_int_equal(d->stat, INDICATOR_SHARE_WITHIN);
    assert_int_equal(d->days, 14);
    assert_true(d->factor == 100.0);
    assert_int_equal(d->min_n, 5);
    assert_true(d->small_numerator);
    d = def(builtin, "care_guarantee_primary_care");
    assert_true(d->rule_timeline);
    assert_int_equal(d->rule_service, ACCESS_PRIMARY_CARE);
    assert_true(d->has_target && d->target == 100.0);
    d = def(builtin, "visits_per_1000");
    assert_int_equal(d->den_kind, INDICATOR_DEN_POPULATION);
    assert_true(d->factor == 1000.0);
  }
  assert_true(indicator_measure_find(builtin, "t3.physician") >= 0);
  assert_true(indicator_measure_find(builtin, "t3.dentist") >= 0);
  assert_int_equal(indicator_measure_find(builtin, "t3.surgeon"), -1);
  assert_int_equal(indicator_measure_at(builtin, (size_t)indicator_measure_find(
                                                     builtin, "ward.los"))
                       ->bins,
                   366);
  /* the API form */
  buf_init(&b, 1u << 20);
  assert_int_equal(indicator_catalogue_json(builtin, &b), 0);
  root = json_loads(buf_str(&b), 0, &jerr);
  assert_non_null(root);
  assert_int_equal(json_array_size(json_object_get(root, "indicators")), 49);
  {
    json_t *first = json_array_get(json_object_get(root, "indicators"), 0);
    json_t *f = json_object_get(first, "formula");
    assert_string_equal(json_string_value(json_object_get(first, "id")),
                        "t3_physician");
    assert_string_equal(json_string_value(json_object_get(f, "statistic")),
                        "median");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(f, "measures"), 0)),
        "t3.physician");
    assert_true(json_is_null(json_object_get(first, "target")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(first, "name"), "sv")),
                        "T3, läkare (THL:s regel)");
  }
  json_decref(root);
  buf_release(&b);
  {
    size_t len;
    const char *t = indicator_builtin_json(&len);
    assert_int_equal(strlen(t), len);
  }
}

#define TXT "{\"fi\": \"a\", \"sv\": \"b\", \"en\": \"c\"}"
#define IND_HEAD                                                               \
  "\"name\": " TXT ", \"description\": " TXT ", \"source\": " TXT              \
  ", \"unit\": \"days\", \"direction\": \"lower_is_better\", "                 \
  "\"rule_version\": \"2025-01-01\""

static int load_cat(const char *measures, const char *indicator,
                    const struct access_rules *r, struct error *err) {
  char text[8192];
  struct indicator_catalogue *cat = NULL;
  int rc;
  snprintf(text, sizeof text,
           "{\"version\": 1, \"measures\": [%s], \"indicators\": [{\"id\": "
           "\"x\", " IND_HEAD "%s}]}",
           measures, indicator);
  error_clear(err);
  rc = indicator_catalogue_load_json(text, strlen(text), r, &cat, err);
  if (rc == 0)
    assert_non_null(cat);
  else
    assert_null(cat);
  indicator_catalogue_free(cat);
  return rc;
}

#define MS                                                                     \
  "{\"id\": \"h\", \"kind\": \"histogram\", \"bins\": 50}, {\"id\": \"g\", "   \
  "\"kind\": \"histogram\", \"bins\": 60}, {\"id\": \"c\", \"kind\": "         \
  "\"counter\"}"

static void refused(const char *measures, const char *indicator,
                    const char *msg_part) {
  struct error err;
  assert_int_equal(load_cat(measures, indicator, rules, &err), ERR_CONFIG);
  if (strstr(err.msg, msg_part) == NULL)
    fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
}

static void test_catalogue_refusals(void **state) {
  struct error err;
  struct indicator_catalogue *cat = NULL;
  (void)state;
  assert_int_equal(load_cat(MS,
                            ", \"formula\": {\"type\": \"statistic\", "
                            "\"statistic\": \"median\", \"measures\": [\"h\"]}",
                            rules, &err),
                   0);
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"median\", \"measures\": [\"q\"]}",
          "indicators[0].formula.measures[0]: unknown measure 'q'");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"median\", \"measures\": [\"c\"]}",
          "is not a histogram");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"median\", \"measures\": [\"h\", \"g\"]}",
          "has 60 bins");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"percentile\", \"measures\": [\"h\"]}",
          "formula.p: required");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"median\", \"p\": 50, \"measures\": [\"h\"]}",
          "formula.p: only for a percentile");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"share_within\", \"days\": 50, \"measures\": [\"h\"]}",
          "formula.days: must be below");
  refused(MS,
          ", \"formula\": {\"type\": \"statistic\", \"statistic\": "
          "\"mode\", \"measures\": [\"h\"]}",
          "formula.statistic");
  refused(MS,
          ", \"formula\": {\"type\": \"ratio\", \"numerator\": [\"c\"], "
          "\"denominator\": \"households\"}",
          "formula.denominator");
  refused(MS,
          ", \"formula\": {\"type\": \"ratio\", \"numerator\": [], "
          "\"denominator\": \"days\"}",
          "formula.numerator");
  refused(MS, ", \"formula\": {\"type\": \"sum\"}", "formula.type");
  refused(MS, ", \"colour\": 1, \"formula\": {}",
          "indicators[0]: unknown key 'colour'");
  refused(MS,
          ", \"rule_timeline\": \"eye_care\", \"formula\": "
          "{\"type\": \"ratio\", \"numerator\": [\"c\"], "
          "\"denominator\": \"days\"}",
          "indicators[0].rule_timeline");
  refused("{\"id\": \"t3.physician\", \"kind\": \"counter\"}",
          ", \"formula\": {}",
          "measures[0].kind: 't3.physician' must be a "
          "histogram");
  refused("{\"id\": \"h\", \"kind\": \"histogram\"}", ", \"formula\": {}",
          "measures[0].bins: required");
  refused("{\"id\": \"H\", \"kind\": \"counter\"}", ", \"formula\": {}",
          "measures[0].id: invalid id");
  refused("{\"id\": \"c\", \"kind\": \"counter\"}, {\"id\": \"c\", \"kind\": "
          "\"counter\"}",
          ", \"formula\": {}", "measures[1].id: duplicate id");
  refused(MS, ", \"suppression\": {\"min_n\": -1}, \"formula\": {}",
          "suppression.min_n");
  /* a timeline needs the rules */
  assert_int_equal(load_cat(MS,
                            ", \"rule_timeline\": \"dental\", \"formula\": "
                            "{\"type\": \"ratio\", \"numerator\": [\"c\"], "
                            "\"denominator\": \"days\"}",
                            rules, &err),
                   0);
  assert_int_equal(load_cat(MS,
                            ", \"rule_timeline\": \"dental\", \"formula\": "
                            "{\"type\": \"ratio\", \"numerator\": [\"c\"], "
                            "\"denominator\": \"days\"}",
                            NULL, &err),
                   ERR_CONFIG);
  assert_int_equal(indicator_catalogue_load_json("[", 1, rules, &cat, &err),
                   ERR_PARSE);
  assert_null(cat);
}

/* ---------------------------------------------------------------- periods */

static void test_periods(void **state) {
  static const struct {
    enum indicator_period p;
    const char *day, *first, *last;
  } rows[] = {
      {INDICATOR_DAY, "2025-03-03", "2025-03-03", "2025-03-03"},
      {INDICATOR_WEEK, "2025-03-03", "2025-03-03", "2025-03-09"}, /* Mon */
      {INDICATOR_WEEK, "2025-03-09", "2025-03-03", "2025-03-09"}, /* Sun */
      {INDICATOR_WEEK, "2025-01-01", "2024-12-30", "2025-01-05"},
      {INDICATOR_MONTH, "2024-02-10", "2024-02-01", "2024-02-29"},
      {INDICATOR_QUARTER, "2025-05-31", "2025-04-01", "2025-06-30"},
      {INDICATOR_QUARTER, "2025-12-31", "2025-10-01", "2025-12-31"},
      {INDICATOR_YEAR, "2024-07-01", "2024-01-01", "2024-12-31"},
      {INDICATOR_ROLL7, "2025-03-09", "2025-03-03", "2025-03-09"},
      {INDICATOR_ROLL30, "2025-03-30", "2025-03-01", "2025-03-30"},
      {INDICATOR_ROLL365, "2025-12-31", "2025-01-01", "2025-12-31"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    int32_t a, b;
    enum indicator_period back;
    indicator_period_bounds(rows[i].p, D(rows[i].day), &a, &b);
    if (a != D(rows[i].first) || b != D(rows[i].last))
      fail_msg("row %zu: %s %s", i, indicator_period_name(rows[i].p),
               rows[i].day);
    assert_int_equal(
        indicator_period_parse(indicator_period_name(rows[i].p), &back), 0);
    assert_int_equal(back, rows[i].p);
  }
  {
    enum indicator_period p = INDICATOR_DAY;
    assert_int_equal(indicator_period_parse("fortnight", &p), ERR_NOTFOUND);
    assert_int_equal(p, INDICATOR_DAY);
    assert_null(indicator_period_name(INDICATOR__PERIODS));
  }
  assert_int_equal(INDICATOR_DAY_MIN, D("1900-01-01"));
  assert_int_equal(INDICATOR_DAY_MAX, D("2199-12-31"));
}

/* ------------------------------------------------------ domain feeding */

static struct org *kanta_hame(void) {
  struct org *org = NULL;
  struct error err;
  assert_int_equal(org_load_builtin("kanta-hame", &org, &err), 0);
  return org;
}

static void test_t3_worked_example(void **state) {
  struct org *org = kanta_hame();
  struct indicator_cube *c = indicator_cube_new(org, builtin);
  static const struct t3_value vals[5] = {
      {7, false}, {10, false}, {21, false}, {14, false}, {182, true}};
  size_t st = unit_ix(org, "kh-ts-lammi");
  struct indicator_point p;
  int32_t day = D("2025-03-03");
  (void)state;
  for (int i = 0; i < 5; i++)
    assert_int_equal(
        indicator_feed_t3(c, st, day, T3_PHYSICIAN, &vals[i], &vals[i], 1), 0);
  p = value(c, def(builtin, "t3_physician"), st, "2025-03-03", "2025-03-03");
  assert_true(p.has_value);
  assert_true(p.value == 14.0);
  assert_int_equal(p.n, 5);
  assert_string_equal(p.rule_version, "2020-01-01");
  p = value(c, def(builtin, "t3_physician_excl_censored"), st, "2025-03-03",
            "2025-03-03");
  assert_true(p.value == 12.0);
  assert_int_equal(p.n, 4);
  {
    int64_t cens = -1;
    assert_int_equal(indicator_cube_sum(c, st,
                                        (size_t)indicator_measure_find(
                                            builtin, "t3.physician.censored"),
                                        day, day, &cens),
                     0);
    assert_int_equal(cens, 1);
  }
  /* the same at the county level (rolled up) and for a month */
  p = value(c, def(builtin, "t3_physician"), 0, "2025-03-01", "2025-03-31");
  assert_true(p.value == 14.0);
  /* nurses have no measurement */
  p = value(c, def(builtin, "t3_nurse"), st, "2025-03-03", "2025-03-03");
  assert_false(p.has_value);
  assert_false(p.suppressed);
  /* a remeasurement replaces the day's value: remove, then add */
  assert_int_equal(
      indicator_feed_t3(c, st, day, T3_PHYSICIAN, &vals[4], &vals[4], -1), 0);
  {
    struct t3_value v = {30, false};
    assert_int_equal(indicator_feed_t3(c, st, day, T3_PHYSICIAN, &v, &v, 1), 0);
  }
  p = value(c, def(builtin, "t3_physician"), st, "2025-03-03", "2025-03-03");
  assert_true(p.value == 14.0);
  p = value(c, def(builtin, "t3_physician_excl_censored"), st, "2025-03-03",
            "2025-03-03");
  assert_true(p.value == 14.0);
  assert_int_equal(p.n, 5);
  indicator_cube_free(c);
  org_free(org);
}

/* Feeds one primary-care visit of group g. */
static void visit(struct indicator_cube *c, size_t unit, enum t3_group g,
                  const char *hta, const char *date, int age, unsigned flags) {
  struct access_visit v = {D(date),
                           hta ? D(hta) : ACCESS_NO_DATE,
                           ACCESS_NO_DATE,
                           age,
                           g == T3_DENTIST ? ACCESS_DENTAL
                                           : ACCESS_PRIMARY_CARE,
                           flags};
  struct access_result r;
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(indicator_feed_visit(c, unit, g, &v, &r, 1), 0);
}

static void test_visits(void **state) {
  struct org *org = kanta_hame();
  struct indicator_cube *c = indicator_cube_new(org, builtin);
  size_t st = unit_ix(org, "kh-ts-lammi"), muni = unit_ix(org, "kh-109");
  struct indicator_point p;
  (void)state;
  /* December 2024: 14-day rule; waits 0, 3, 7, 8, 14, 20, 100 */
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-02", 40, 0);
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-05", 40, 0);
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-09", 40, 0);
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-10", 40, 0);
  visit(c, st, T3_NURSE, "2024-12-02", "2024-12-16", 40, 0);
  visit(c, st, T3_NURSE, "2024-12-02", "2024-12-22", 40, 0);
  visit(c, st, T3_NURSE, "2024-08-23", "2024-12-01", 40, 0);
  /* left out: urgent, and without an assessment */
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-30", 40, ACCESS_URGENT);
  visit(c, st, T3_PHYSICIAN, NULL, "2024-12-30", 40, 0);
  p = value(c, def(builtin, "wait_physician_median"), st, "2024-12-01",
            "2024-12-31");
  assert_false(p.has_value); /* 4 physician visits < 5: suppressed */
  assert_true(p.suppressed);
  assert_int_equal(p.n, 0);
  visit(c, st, T3_PHYSICIAN, "2024-12-02", "2024-12-12", 40, 0);
  p = value(c, def(builtin, "wait_physician_median"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.has_value);
  assert_true(p.value == 7.0); /* 0 3 7 8 10 */
  assert_int_equal(p.n, 5);
  p = value(c, def(builtin, "wait_physician_p90"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.value == 10.0);
  /* within 7: 3 of 5 -> numerator 3 is a small cell */
  p = value(c, def(builtin, "wait_physician_within_7"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.suppressed);
  p = value(c, def(builtin, "wait_physician_within_14"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.has_value);
  assert_true(p.value == 100.0);
  /* over 90: 0 is shown, not suppressed */
  p = value(c, def(builtin, "wait_physician_over_90"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.has_value);
  assert_true(p.value == 0.0);
  /* compliance over physicians and nurses: 8 assessed; missed: 20 and 100
   * (the 100-day wait had its HTA on 2024-08-23: 14-day rule) */
  p = value(c, def(builtin, "care_guarantee_primary_care"), st, "2024-12-01",
            "2024-12-31");
  assert_true(p.has_value);
  assert_int_equal(p.n, 8);
  assert_true(p.value == 6.0 / 8.0 * 100.0);
  assert_string_equal(p.rule_version, "2023-09-01");
  assert_false(p.rule_changed);
  /* January 2025: a 30-day wait of a 40-year-old meets the 3-month rule */
  for (int i = 0; i < 5; i++)
    visit(c, st, T3_PHYSICIAN, "2025-01-02", "2025-02-01", 40, 0);
  p = value(c, def(builtin, "care_guarantee_primary_care"), st, "2025-02-01",
            "2025-02-28");
  assert_true(p.value == 100.0);
  assert_string_equal(p.rule_version, "2025-01-01");
  /* a series by ISO week across the change of rules */
  {
    struct indicator_point *pts = NULL;
    size_t n = 0;
    struct error err;
    assert_int_equal(
        indicator_series(c, def(builtin, "care_guarantee_primary_care"), st,
                         D("2024-12-25"), D("2025-01-06"), INDICATOR_WEEK, &pts,
                         &n, &err),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(pts[0].from, D("2024-12-23"));
    assert_string_equal(pts[0].rule_version, "2023-09-01");
    assert_int_equal(pts[1].from, D("2024-12-30"));
    assert_string_equal(pts[1].rule_version, "2025-01-01");
    assert_true(pts[1].rule_changed);
    assert_false(pts[2].rule_changed);
    mem_free(pts);
  }
  /* per 1,000 residents: all under Hämeenlinna (67,800 residents) */
  p = value(c, def(builtin, "visits_per_1000"), muni, "2024-12-01",
            "2025-02-28");
  assert_true(p.has_value);
  assert_int_equal(p.n, 13);
  assert_true(p.value == 13.0 / 67800.0 * 1000.0);
  assert_int_equal(indicator_cube_population(c, muni), 67800);
  /* the station has no municipality under it: no value */
  p = value(c, def(builtin, "visits_per_1000"), st, "2024-12-01", "2025-02-28");
  assert_false(p.has_value);
  assert_false(p.suppressed);
  /* the contact variant needs contact dates: none given */
  p = value(c, def(builtin, "wait_contact_physician_median"), st, "2024-12-01",
            "2025-02-28");
  assert_false(p.has_value);
  indicator_cube_free(c);
  org_free(org);
}

static void test_flow(void **state) {
  struct org *org = kanta_hame();
  struct indicator_cube *c = indicator_cube_new(org, builtin);
  size_t w = unit_ix(org, "kh-khks-sis1"); /* 28 beds */
  struct indicator_point p;
  int32_t d0 = D("2025-03-01");
  (void)state;
  assert_int_equal(indicator_cube_beds(c, w), 28);
  for (int i = 0; i < 31; i++)
    assert_int_equal(indicator_feed_ward_day(c, w, d0 + i, 21, 2, 3, 1), 0);
  for (int i = 0; i < 7; i++)
    assert_int_equal(indicator_feed_discharge(c, w, d0 + i, i * 2, 1), 0);
  p = value(c, def(builtin, "bed_occupancy"), w, "2025-03-01", "2025-03-31");
  assert_true(p.value == (21.0 * 31) / (28.0 * 31) * 100.0);
  assert_int_equal(p.n, 21 * 31);
  p = value(c, def(builtin, "transfer_delay_days"), w, "2025-03-01",
            "2025-03-31");
  assert_true(p.value == 62.0);
  p = value(c, def(builtin, "admissions_per_day"), w, "2025-03-01",
            "2025-03-10");
  assert_true(p.value == 3.0);
  p = value(c, def(builtin, "los_median"), w, "2025-03-01", "2025-03-31");
  assert_true(p.value == 6.0); /* 0 2 4 6 8 10 12 */
  p = value(c, def(builtin, "los_p90"), w, "2025-03-01", "2025-03-31");
  assert_true(p.value == 12.0);
  /* the county's occupancy divides by all its wards' beds */
  p = value(c, def(builtin, "bed_occupancy"), 0, "2025-03-01", "2025-03-31");
  assert_true(p.value ==
              (21.0 * 31) / ((double)indicator_cube_beds(c, 0) * 31) * 100.0);
  assert_true(indicator_cube_beds(c, 0) > 28);
  indicator_cube_free(c);
  org_free(org);
}

static void test_errors(void **state) {
  struct org *org = kanta_hame();
  struct indicator_cube *a = indicator_cube_new(org, builtin);
  struct indicator_cube *b = indicator_cube_new(org, builtin);
  size_t h = (size_t)indicator_measure_find(builtin, "wait_hta.physician");
  size_t k = (size_t)indicator_measure_find(builtin, "ward.care_days");
  size_t n = org_unit_count(org);
  int32_t d = D("2025-05-05");
  struct indicator_point *pts = NULL;
  size_t cnt = 99;
  struct error err;
  (void)state;
  assert_int_equal(indicator_cube_add_value(a, 3, d, h, 4, 1), 0);
  assert_int_equal(indicator_cube_add_value(b, 3, d, h, 4, 1), 0);
  assert_int_equal(indicator_cube_add_value(a, 3, d, k, 4, 1), ERR_INVAL);
  assert_int_equal(indicator_cube_add_count(a, 3, d, h, 4), ERR_INVAL);
  assert_int_equal(indicator_cube_add_value(a, n, d, h, 4, 1), ERR_RANGE);
  assert_int_equal(indicator_cube_add_value(a, 3, d, 1000, 4, 1), ERR_RANGE);
  assert_int_equal(
      indicator_cube_add_value(a, 3, INDICATOR_DAY_MAX + 1, h, 4, 1),
      ERR_RANGE);
  assert_int_equal(indicator_cube_add_value(a, 3, d, h, -1, 1), ERR_RANGE);
  /* removals of what was never added */
  assert_int_equal(indicator_cube_add_value(a, 3, d, h, 5, -1), ERR_STATE);
  assert_int_equal(indicator_cube_add_value(a, 3, d + 1, h, 4, -1), ERR_STATE);
  assert_int_equal(indicator_cube_add_value(a, 4, d, h, 4, -1), ERR_STATE);
  /* a span of more than INDICATOR_MAX_SPAN_DAYS in one series */
  assert_int_equal(indicator_cube_add_count(a, 3, d, k, 2), 0);
  assert_int_equal(indicator_cube_add_count(b, 3, d, k, 2), 0);
  assert_int_equal(
      indicator_cube_add_count(a, 3, d - INDICATOR_MAX_SPAN_DAYS, k, 1),
      ERR_RANGE);
  assert_int_equal(
      indicator_cube_add_count(a, 3, d - INDICATOR_MAX_SPAN_DAYS + 1, k, 1), 0);
  assert_int_equal(
      indicator_cube_add_count(a, 3, d - INDICATOR_MAX_SPAN_DAYS + 1, k, -1),
      0);
  assert_true(indicator_cube_equal(a, b));
  assert_int_equal(indicator_cube_add_value(b, 3, d, h, 4, 1), 0);
  assert_false(indicator_cube_equal(a, b));
  assert_int_equal(indicator_cube_add_value(b, 3, d, h, 4, -1), 0);
  assert_true(indicator_cube_equal(a, b));
  assert_true(indicator_cube_memory(a) > 0);
  /* queries */
  assert_int_equal(indicator_series(a, def(builtin, "t3_nurse"), 0, d, d - 1,
                                    INDICATOR_DAY, &pts, &cnt, &err),
                   ERR_RANGE);
  assert_int_equal(indicator_series(a, def(builtin, "t3_nurse"), n, d, d,
                                    INDICATOR_DAY, &pts, &cnt, &err),
                   ERR_RANGE);
  assert_int_equal(indicator_series(a, def(builtin, "t3_nurse"), 0,
                                    D("2000-01-01"), D("2020-01-01"),
                                    INDICATOR_DAY, &pts, &cnt, &err),
                   ERR_TOOBIG);
  assert_null(pts);
  assert_int_equal(cnt, 99);
  {
    struct indicator_point p;
    assert_int_equal(
        indicator_value(a, def(builtin, "t3_nurse"), 0, d, d - 1, &p, &err),
        ERR_RANGE);
  }
  {
    struct hist acc;
    assert_int_equal(hist_init(&acc, 10), 0);
    assert_int_equal(indicator_cube_hist(a, 0, h, d, d, &acc), ERR_INVAL);
    hist_release(&acc);
  }
  indicator_cube_free(a);
  indicator_cube_free(b);
  indicator_cube_free(NULL);
  org_free(org);
}

/* -------------------------------------------------------- property test */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

#define BINS 40 /* values go up to 49: some land in the open bin */

static const char test_catalogue[] =
    "{\"version\": 1, \"measures\": ["
    "{\"id\": \"h1\", \"kind\": \"histogram\", \"bins\": 40},"
    "{\"id\": \"h2\", \"kind\": \"histogram\", \"bins\": 40},"
    "{\"id\": \"c1\", \"kind\": \"counter\"},"
    "{\"id\": \"c2\", \"kind\": \"counter\"}],"
    "\"indicators\": ["
#define I(id, unit, supp, formula)                                             \
  "{\"id\": \"" id "\", \"name\": " TXT ", \"description\": " TXT              \
  ", \"source\": " TXT ", \"unit\": \"" unit "\", \"direction\": "             \
  "\"neutral\", \"rule_version\": \"2025-01-01\", \"suppression\": " supp      \
  ", \"formula\": " formula "}"
#define NOSUPP "{\"min_n\": 0}"
    I(
        "median_h1", "days", NOSUPP,
        "{\"type\": \"statistic\", \"statistic\": \"median\", \"measures\": "
        "[\"h1\"]}") "," I("median_h12", "days", NOSUPP,
                           "{\"type\": \"statistic\", \"statistic\": "
                           "\"median\", \"measures\": "
                           "[\"h1\", \"h2\"]}") "," I("p90_h1", "days", NOSUPP,
                                                      "{\"type\": "
                                                      "\"statistic\", "
                                                      "\"statistic\": "
                                                      "\"percentile\", \"p\": "
                                                      "90, "
                                                      "\"measures\": [\"h1\"]}") "," I("p375_h2",
                                                                                       "days",
                                                                                       NOSUPP,
                                                                                       "{\"type\": \"statistic\", \"statistic\": \"percentile\", \"p\": 37.5, "
                                                                                       "\"measures\": [\"h2\"]}") "," I("mean_h1",
                                                                                                                        "days",
                                                                                                                        NOSUPP,
                                                                                                                        "{\"type\": \"statistic\", \"statistic\": \"mean\", \"measures\": "
                                                                                                                        "[\"h1\"]}") "," I("share7_h1",
                                                                                                                                           "%",
                                                                                                                                           "{\"min_n\": 5, \"small_numerator\": true}",
                                                                                                                                           "{\"type\": \"statistic\", \"statistic\": \"share_within\", \"days\": "
                                                                                                                                           "7, \"factor\": 100, \"measures\": [\"h1\"]}") "," I("over30_h12",
                                                                                                                                                                                                "count",
                                                                                                                                                                                                NOSUPP,
                                                                                                                                                                                                "{\"type\": \"statistic\", \"statistic\": \"count_over\", \"days\": "
                                                                                                                                                                                                "30, \"measures\": [\"h1\", \"h2\"]}") "," I("count_h2",
                                                                                                                                                                                                                                             "count",
                                                                                                                                                                                                                                             "{\"min_n\": 5, \"small_numerator\": false}",
                                                                                                                                                                                                                                             "{\"type\": \"statistic\", \"statistic\": \"count\", \"measures\": "
                                                                                                                                                                                                                                             "[\"h2\"]}") "," I("ratio_c1_c2",
                                                                                                                                                                                                                                                                "%",
                                                                                                                                                                                                                                                                "{\"min_n\": 3, \"small_numerator\": true}",
                                                                                                                                                                                                                                                                "{\"type\": \"ratio\", \"numerator\": [\"c1\"], \"denominator\": "
                                                                                                                                                                                                                                                                "[\"c2\"], \"factor\": 100}") "," I("pop_c1",
                                                                                                                                                                                                                                                                                                    "per_1000",
                                                                                                                                                                                                                                                                                                    NOSUPP,
                                                                                                                                                                                                                                                                                                    "{\"type\": \"ratio\", \"numerator\": [\"c1\"], \"denominator\": "
                                                                                                                                                                                                                                                                                                    "\"population\", \"factor\": 1000}") "," I("perday_c12",
                                                                                                                                                                                                                                                                                                                                               "per_day",
                                                                                                                                                                                                                                                                                                                                               NOSUPP,
                                                                                                                                                                                                                                                                                                                                               "{\"type\": \"ratio\", \"numerator\": [\"c1\", \"c2\"], "
                                                                                                                                                                                                                                                                                                                                               "\"denominator\": \"days\"}") "," I("beds_h1",
                                                                                                                                                                                                                                                                                                                                                                                   "%",
                                                                                                                                                                                                                                                                                                                                                                                   NOSUPP,
                                                                                                                                                                                                                                                                                                                                                                                   "{\"type\": \"ratio\", \"numerator\": [\"h1\"], \"denominator\": "
                                                                                                                                                                                                                                                                                                                                                                                   "\"bed_days\", \"factor\": 100}") "," I("none_c2",
                                                                                                                                                                                                                                                                                                                                                                                                                           "count",
                                                                                                                                                                                                                                                                                                                                                                                                                           NOSUPP,
                                                                                                                                                                                                                                                                                                                                                                                                                           "{\"type\": \"ratio\", \"numerator\": [\"c2\"], \"denominator\": "
                                                                                                                                                                                                                                                                                                                                                                                                                           "\"none\"}") "," I("median_h1_min5",
                                                                                                                                                                                                                                                                                                                                                                                                                                              "days",
                                                                                                                                                                                                                                                                                                                                                                                                                                              "{\"min_n\": 5}",
                                                                                                                                                                                                                                                                                                                                                                                                                                              "{\"type\": \"statistic\", \"statistic\": \"median\", \"measures\": "
                                                                                                                                                                                                                                                                                                                                                                                                                                              "[\"h1\"]}")
#undef I
        "]}";

/* A random organisation: root > areas > municipalities (with population)
 * > health stations > teams, plus wards with beds under the areas. */
static struct org *random_org(void) {
  struct buf b;
  struct org *org = NULL;
  struct error err;
  int areas = 2 + (int)(rnd() % 2), muni = 0, st = 0, team = 0, ward = 0;
  buf_init(&b, 1u << 20);
  assert_int_equal(buf_puts(&b, "{\"id\": \"rnd\", \"name\": {\"fi\": \"R\"}, "
                                "\"units\": [{\"id\": \"root\", \"type\": "
                                "\"county\", \"name\": {\"fi\": \"Root\"}}"),
                   0);
  for (int a = 0; a < areas; a++) {
    int nm = 1 + (int)(rnd() % 3), nw = (int)(rnd() % 3);
    assert_int_equal(buf_printf(&b,
                                ",{\"id\": \"a%d\", \"type\": \"area\", "
                                "\"parent\": \"root\", \"name\": {\"fi\": "
                                "\"A\"}}",
                                a),
                     0);
    for (int w = 0; w < nw; w++, ward++)
      assert_int_equal(buf_printf(&b,
                                  ",{\"id\": \"w%d\", \"type\": \"ward\", "
                                  "\"parent\": \"a%d\", \"beds\": %d, "
                                  "\"name\": {\"fi\": \"W\"}}",
                                  ward, a, 5 + (int)(rnd() % 25)),
                       0);
    for (int m = 0; m < nm; m++, muni++) {
      int ns = (int)(rnd() % 3);
      assert_int_equal(buf_printf(&b,
                                  ",{\"id\": \"m%d\", \"type\": "
                                  "\"municipality\", \"parent\": \"a%d\", "
                                  "\"municipality\": \"%03d\", "
                                  "\"population\": %d, \"name\": {\"fi\": "
                                  "\"M\"}}",
                                  muni, a, 100 + muni,
                                  100 + (int)(rnd() % 50000)),
                       0);
      for (int s = 0; s < ns; s++, st++) {
        assert_int_equal(buf_printf(&b,
                                    ",{\"id\": \"s%d\", \"type\": "
                                    "\"health_station\", \"parent\": "
                                    "\"m%d\", \"name\": {\"fi\": \"S\"}}",
                                    st, muni),
                         0);
        if (rnd() % 2)
          assert_int_equal(buf_printf(&b,
                                      ",{\"id\": \"t%d\", \"type\": "
                                      "\"team\", \"parent\": \"s%d\", "
                                      "\"name\": {\"fi\": \"T\"}}",
                                      team++, st),
                           0);
      }
    }
  }
  assert_int_equal(buf_puts(&b, "]}"), 0);
  if (org_load_json(b.data, b.len, &org, &err) != 0)
    fail_msg("random org: %s", err.msg);
  buf_release(&b);
  return org;
}

struct rec {
  size_t unit;
  int32_t day;
  size_t m;
  int64_t value; /* histograms: the value; counters: the delta */
};

struct world {
  const struct org *org;
  const struct indicator_catalogue *cat;
  struct rec *recs; /* the surviving records */
  size_t nrecs;
  size_t *by_day;    /* record indexes sorted by day */
  size_t *day_start; /* by day offset: first index into by_day */
  int32_t d0, ndays;
  int64_t *vals; /* scratch */
};

static void world_index(struct world *w) {
  size_t *count = calloc((size_t)w->ndays + 1, sizeof *count);
  assert_non_null(count);
  w->by_day = malloc((w->nrecs ? w->nrecs : 1) * sizeof *w->by_day);
  w->day_start = calloc((size_t)w->ndays + 1, sizeof *w->day_start);
  w->vals = malloc((w->nrecs ? w->nrecs : 1) * sizeof *w->vals);
  assert_non_null(w->by_day);
  assert_non_null(w->day_start);
  assert_non_null(w->vals);
  for (size_t i = 0; i < w->nrecs; i++)
    count[w->recs[i].day - w->d0 + 1]++;
  for (int32_t d = 0; d < w->ndays; d++)
    count[d + 1] += count[d];
  memcpy(w->day_start, count, ((size_t)w->ndays + 1) * sizeof *count);
  for (size_t i = 0; i < w->nrecs; i++)
    w->by_day[count[w->recs[i].day - w->d0]++] = i;
  free(count);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static bool term_of(const size_t *terms, size_t n, size_t m) {
  for (size_t i = 0; i < n; i++)
    if (terms[i] == m)
      return true;
  return false;
}

/* The expected point, by brute force over the raw records. */
static struct indicator_point brute(const struct world *w,
                                    const struct indicator_def *d, size_t unit,
                                    int32_t from, int32_t to) {
  const struct org_unit *u = org_unit_at(w->org, unit);
  size_t lo = u->index, hi = u->index + u->subtree_size;
  struct indicator_point p;
  int64_t n = 0, num = 0, den = 0, numcount = -1, pop = 0, beds = 0;
  int64_t days = (int64_t)to - from + 1;
  bool has = false, capped = false;
  double v = 0;
  memset(&p, 0, sizeof p);
  p.from = from;
  p.to = to;
  p.rule_version = d->rule_version;
  for (int32_t day = from; day <= to; day++) {
    if (day < w->d0 || day >= w->d0 + w->ndays)
      continue;
    for (size_t k = w->day_start[day - w->d0];
         k < w->day_start[day - w->d0 + 1]; k++) {
      const struct rec *r = &w->recs[w->by_day[k]];
      bool hist =
          indicator_measure_at(w->cat, r->m)->kind == INDICATOR_HISTOGRAM;
      if (r->unit < lo || r->unit >= hi)
        continue;
      if (term_of(d->num, d->nnum, r->m)) {
        if (d->formula == INDICATOR_STATISTIC)
          w->vals[n++] = r->value;
        else
          num += hist ? 1 : r->value;
      }
      if (d->formula == INDICATOR_RATIO &&
          d->den_kind == INDICATOR_DEN_MEASURES &&
          term_of(d->den, d->nden, r->m))
        den += hist ? 1 : r->value;
    }
  }
  for (size_t i = lo; i < hi; i++) {
    const struct org_unit *x = org_unit_at(w->org, i);
    if (strcmp(x->type, "municipality") == 0)
      pop += x->population;
    if (strcmp(x->type, "ward") == 0)
      beds += (int64_t)x->nbeds;
  }
  if (d->formula == INDICATOR_STATISTIC) {
    const int64_t nb =
        (int64_t)indicator_measure_at(w->cat, d->num[0])->bins; /* open bin */
    has = n > 0;
    if (has) {
      int64_t k = 0, sum = 0;
      qsort(w->vals, (size_t)n, sizeof *w->vals, cmp64);
      switch (d->stat) {
      case INDICATOR_MEDIAN: {
        int64_t a = w->vals[(n - 1) / 2], b = w->vals[n / 2];
        capped = a >= nb || b >= nb;
        a = a >= nb ? nb : a;
        b = b >= nb ? nb : b;
        v = ((double)a + (double)b) / 2.0;
        break;
      }
      case INDICATOR_PERCENTILE: {
        int64_t bp = (int64_t)(d->p * 100.0 + 0.5);
        int64_t rank = (bp * n + 9999) / 10000, x;
        if (rank < 1)
          rank = 1;
        x = w->vals[rank - 1];
        capped = x >= nb;
        v = (double)(x >= nb ? nb : x);
        break;
      }
      case INDICATOR_MEAN:
        for (int64_t i = 0; i < n; i++)
          sum += w->vals[i];
        v = (double)sum / (double)n;
        break;
      case INDICATOR_SHARE_WITHIN:
        for (int64_t i = 0; i < n; i++)
          k += w->vals[i] <= d->days;
        v = (double)k / (double)n * d->factor;
        numcount = k;
        break;
      case INDICATOR_COUNT_OVER:
        for (int64_t i = 0; i < n; i++)
          k += w->vals[i] > d->days;
        v = (double)k;
        numcount = k;
        break;
      default:
        v = (double)n;
        numcount = n;
        break;
      }
    }
  } else {
    int64_t dv = 1;
    numcount = num;
    n = num;
    switch (d->den_kind) {
    case INDICATOR_DEN_MEASURES:
      dv = den;
      n = den;
      break;
    case INDICATOR_DEN_POPULATION:
      dv = pop;
      break;
    case INDICATOR_DEN_DAYS:
      dv = days;
      break;
    case INDICATOR_DEN_BED_DAYS:
      dv = beds * days;
      break;
    default:
      break;
    }
    has = dv > 0;
    if (has)
      v = d->den_kind == INDICATOR_DEN_NONE
              ? (double)num * d->factor
              : (double)num / (double)dv * d->factor;
  }
  if (!has)
    return p;
  if (d->min_n > 0 &&
      ((n > 0 && n < d->min_n) ||
       (d->small_numerator && numcount > 0 && numcount < d->min_n))) {
    p.suppressed = true;
    return p;
  }
  p.has_value = true;
  p.value = v;
  p.n = n;
  p.capped = capped;
  return p;
}

static void same(const struct indicator_point *got,
                 const struct indicator_point *want, const char *what,
                 const struct indicator_def *d, size_t unit) {
  if (got->from != want->from || got->to != want->to ||
      got->has_value != want->has_value ||
      got->suppressed != want->suppressed || got->capped != want->capped ||
      got->value != want->value || got->n != want->n ||
      strcmp(got->rule_version, want->rule_version) != 0) {
    char a[11], b[11];
    chrono_format_date(want->from, a);
    chrono_format_date(want->to, b);
    fail_msg("%s %s unit %zu %s..%s: got has=%d supp=%d cap=%d v=%.17g n=%lld, "
             "want has=%d supp=%d cap=%d v=%.17g n=%lld",
             what, d->id, unit, a, b, got->has_value, got->suppressed,
             got->capped, got->value, (long long)got->n, want->has_value,
             want->suppressed, want->capped, want->value, (long long)want->n);
  }
}

static int apply_rec(struct indicator_cube *c,
                     const struct indicator_catalogue *cat, const struct rec *r,
                     int sign) {
  if (indicator_measure_at(cat, r->m)->kind == INDICATOR_HISTOGRAM)
    return indicator_cube_add_value(c, r->unit, r->day, r->m, r->value, sign);
  return indicator_cube_add_count(c, r->unit, r->day, r->m, sign * r->value);
}

static void test_property(void **state) {
  struct indicator_catalogue *cat = NULL;
  struct error err;
  struct org *org;
  struct indicator_cube *inc, *rebuilt;
  struct world w;
  size_t nunits, total = 7000, ngone = 0;
  struct rec *all, *gone;
  (void)state;
  if (indicator_catalogue_load_json(test_catalogue, strlen(test_catalogue),
                                    NULL, &cat, &err) != 0)
    fail_msg("test catalogue: %s", err.msg);
  org = random_org();
  nunits = org_unit_count(org);
  memset(&w, 0, sizeof w);
  w.org = org;
  w.cat = cat;
  w.d0 = D("2024-01-01");
  w.ndays = D("2025-12-31") - w.d0 + 1;
  all = malloc(total * sizeof *all);
  gone = malloc(total * sizeof *gone);
  assert_non_null(all);
  assert_non_null(gone);
  /* the incremental cube: every record added; about one in eight is
   * removed again later (a correction) */
  inc = indicator_cube_new(org, cat);
  for (size_t i = 0; i < total; i++) {
    struct rec r;
    r.unit = (size_t)(rnd() % nunits);
    r.day = w.d0 + (int32_t)(rnd() % (uint64_t)w.ndays);
    r.m = (size_t)(rnd() % 4);
    r.value = r.m < 2 ? (int64_t)(rnd() % 50) : (int64_t)(rnd() % 21);
    assert_int_equal(apply_rec(inc, cat, &r, 1), 0);
    if (rnd() % 8 == 0)
      gone[ngone++] = r;
    else
      all[w.nrecs++] = r;
  }
  for (size_t i = 0; i < ngone; i++)
    assert_int_equal(apply_rec(inc, cat, &gone[i], -1), 0);
  w.recs = all;
  world_index(&w);
  /* rebuilt from the survivors in another (shuffled) order */
  rebuilt = indicator_cube_new(org, cat);
  {
    size_t *order = malloc(w.nrecs * sizeof *order);
    assert_non_null(order);
    for (size_t i = 0; i < w.nrecs; i++)
      order[i] = i;
    for (size_t i = w.nrecs; i > 1; i--) {
      size_t j = (size_t)(rnd() % i), t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
    for (size_t i = 0; i < w.nrecs; i++)
      assert_int_equal(apply_rec(rebuilt, cat, &all[order[i]], 1), 0);
    free(order);
  }
  assert_true(indicator_cube_equal(inc, rebuilt));
  assert_true(indicator_cube_equal(rebuilt, inc));
  /* every unit, every indicator, every period type */
  for (size_t u = 0; u < nunits; u++) {
    for (size_t k = 0; k < indicator_count(cat); k++) {
      const struct indicator_def *d = indicator_at(cat, k);
      for (int per = 0; per < INDICATOR__PERIODS; per++) {
        struct indicator_point *pts = NULL;
        size_t n = 0;
        bool rolling = per >= INDICATOR_ROLL7;
        const struct indicator_cube *c =
            (u + k + (size_t)per) % 2 ? inc : rebuilt;
        assert_int_equal(indicator_series(c, d, u, w.d0, w.d0 + w.ndays - 1,
                                          (enum indicator_period)per, &pts, &n,
                                          &err),
                         0);
        if (rolling)
          assert_int_equal(n, (size_t)w.ndays);
        for (size_t i = 0; i < n; i++) {
          struct indicator_point want;
          int32_t a, b;
          /* rolling windows are sampled: brute force is O(window) */
          if (rolling && rnd() % 40 != 0 && i != n - 1)
            continue;
          indicator_period_bounds((enum indicator_period)per,
                                  rolling ? w.d0 + (int32_t)i : pts[i].from, &a,
                                  &b);
          want = brute(&w, d, u, a, b);
          same(&pts[i], &want,
               indicator_period_name((enum indicator_period)per), d, u);
        }
        if (!rolling && n > 0) {
          /* calendar periods tile the range: first holds d0, last the end */
          assert_true(pts[0].from <= w.d0);
          assert_true(pts[n - 1].to >= w.d0 + w.ndays - 1);
          for (size_t i = 1; i < n; i++)
            assert_int_equal(pts[i].from, pts[i - 1].to + 1);
        }
        mem_free(pts);
      }
      /* arbitrary ranges, also reaching outside the data */
      for (int r = 0; r < 6; r++) {
        int32_t a = w.d0 - 40 + (int32_t)(rnd() % (uint64_t)(w.ndays + 80));
        int32_t b = a + (int32_t)(rnd() % 500);
        struct indicator_point got, want;
        assert_int_equal(indicator_value(inc, d, u, a, b, &got, &err), 0);
        want = brute(&w, d, u, a, b);
        same(&got, &want, "range", d, u);
      }
    }
  }
  /* raw reads */
  for (int r = 0; r < 200; r++) {
    size_t u = (size_t)(rnd() % nunits), m = (size_t)(rnd() % 4);
    int32_t a = w.d0 + (int32_t)(rnd() % (uint64_t)w.ndays);
    int32_t b = a + (int32_t)(rnd() % 400);
    const struct org_unit *ou = org_unit_at(org, u);
    int64_t got = -1, want = 0;
    for (size_t i = 0; i < w.nrecs; i++)
      if (all[i].m == m && all[i].day >= a && all[i].day <= b &&
          all[i].unit >= ou->index &&
          all[i].unit < ou->index + ou->subtree_size)
        want += m < 2 ? 1 : all[i].value;
    assert_int_equal(indicator_cube_sum(inc, u, m, a, b, &got), 0);
    assert_int_equal(got, want);
  }
  /* one more record makes them differ; removing it makes them equal */
  assert_int_equal(apply_rec(rebuilt, cat, &all[0], 1), 0);
  assert_false(indicator_cube_equal(inc, rebuilt));
  assert_int_equal(apply_rec(rebuilt, cat, &all[0], -1), 0);
  assert_true(indicator_cube_equal(inc, rebuilt));
  indicator_cube_free(inc);
  indicator_cube_free(rebuilt);
  free(w.by_day);
  free(w.day_start);
  free(w.vals);
  free(all);
  free(gone);
  org_free(org);
  indicator_catalogue_free(cat);
}

/* ------------------------------------------------ property: visits */

struct rvisit {
  size_t unit;
  enum t3_group g;
  struct access_visit v;
};

static const char *group_suffix(enum t3_group g) {
  return g == T3_PHYSICIAN ? "physician" : g == T3_NURSE ? "nurse" : "dental";
}

static size_t measure_ix(const struct indicator_catalogue *cat,
                         const char *prefix, enum t3_group g) {
  char id[64];
  long m;
  snprintf(id, sizeof id, "%s.%s", prefix, group_suffix(g));
  m = indicator_measure_find(cat, id);
  if (m < 0)
    fail_msg("no measure '%s'", id);
  return (size_t)m;
}

/* The records a visit must give, derived without indicator_feed_visit or
 * access_assess: waits by date arithmetic, the verdict from the rule in
 * force on the HTA date for the age (the timeline lookup is data), the
 * limit applied here (days; or months with end-of-month clamping). */
static size_t visit_recs(const struct indicator_catalogue *cat,
                         const struct rvisit *x, struct rec *out) {
  const struct access_visit *v = &x->v;
  bool urgent = (v->flags & ACCESS_URGENT) != 0;
  size_t n = 0;
  if (!urgent && v->hta_date != ACCESS_NO_DATE)
    out[n++] =
        (struct rec){x->unit, v->visit_date, measure_ix(cat, "wait_hta", x->g),
                     v->visit_date - v->hta_date};
  if (!urgent && v->contact_date != ACCESS_NO_DATE)
    out[n++] = (struct rec){x->unit, v->visit_date,
                            measure_ix(cat, "wait_contact", x->g),
                            v->visit_date - v->contact_date};
  if ((v->flags & ACCESS_EXCLUDING_FLAGS) == 0 &&
      v->hta_date != ACCESS_NO_DATE) {
    const struct access_rule *r =
        access_rule_find(rules, v->service, v->hta_date, v->age);
    if (r == NULL) {
      out[n++] = (struct rec){x->unit, v->visit_date,
                              measure_ix(cat, "cg.no_rule", x->g), 1};
    } else {
      int32_t wait = v->visit_date - v->hta_date;
      bool met;
      if (r->kind == ACCESS_LIMIT_DAYS) {
        met = wait <= r->limit;
      } else {
        int y, m, dd, last;
        chrono_civil_from_days(v->hta_date, &y, &m, &dd);
        m += r->limit;
        y += (m - 1) / 12;
        m = (m - 1) % 12 + 1;
        last = chrono_days_in_month(y, m);
        met = v->visit_date <=
              chrono_days_from_civil(y, m, dd < last ? dd : last);
      }
      out[n++] = (struct rec){x->unit, v->visit_date,
                              measure_ix(cat, "cg.assessed", x->g), 1};
      if (met)
        out[n++] = (struct rec){x->unit, v->visit_date,
                                measure_ix(cat, "cg.met", x->g), 1};
      if (wait <= r->proxy_days)
        out[n++] = (struct rec){x->unit, v->visit_date,
                                measure_ix(cat, "cg.proxy_met", x->g), 1};
    }
  }
  return n;
}

static bool visit_indicator(const struct indicator_def *d) {
  return strncmp(d->id, "wait_", 5) == 0 ||
         strncmp(d->id, "care_guarantee", 14) == 0 ||
         strcmp(d->id, "visits_per_1000") == 0;
}

static void test_property_visits(void **state) {
  struct org *org = random_org();
  size_t nunits = org_unit_count(org), total = 4000, nrecs = 0;
  struct indicator_cube *inc = indicator_cube_new(org, builtin);
  struct indicator_cube *rebuilt = indicator_cube_new(org, builtin);
  struct rvisit *vs = malloc(total * sizeof *vs);
  struct rec *recs = malloc(total * 6 * sizeof *recs);
  bool *gone = calloc(total, sizeof *gone);
  struct world w;
  struct error err;
  (void)state;
  assert_non_null(vs);
  assert_non_null(recs);
  assert_non_null(gone);
  memset(&w, 0, sizeof w);
  w.org = org;
  w.cat = builtin;
  w.d0 = D("2024-01-01");
  w.ndays = D("2025-12-31") - w.d0 + 1;
  for (size_t i = 0; i < total; i++) {
    struct rvisit *x = &vs[i];
    struct access_result res;
    uint64_t r = rnd() % 100;
    memset(x, 0, sizeof *x);
    x->unit = (size_t)(rnd() % nunits);
    x->g = (enum t3_group)(rnd() % T3__GROUPS);
    x->v.service = x->g >= T3_DENTIST ? ACCESS_DENTAL : ACCESS_PRIMARY_CARE;
    x->v.visit_date = w.d0 + (int32_t)(rnd() % (uint64_t)w.ndays);
    /* waits mostly short, some long (over 90, over the 366 bins) */
    x->v.hta_date = r < 10   ? ACCESS_NO_DATE
                    : r < 80 ? x->v.visit_date - (int32_t)(rnd() % 30)
                             : x->v.visit_date - (int32_t)(rnd() % 500);
    x->v.contact_date = rnd() % 3 == 0 || x->v.hta_date == ACCESS_NO_DATE
                            ? ACCESS_NO_DATE
                            : x->v.hta_date - (int32_t)(rnd() % 5);
    /* ages around the 23rd birthday, and unknown ones */
    x->v.age = rnd() % 10 == 0 ? -1 : 18 + (int)(rnd() % 10);
    x->v.flags = rnd() % 10 == 0   ? ACCESS_URGENT
                 : rnd() % 10 == 0 ? (unsigned)(ACCESS_CARE_PLAN << (rnd() % 4))
                                   : 0;
    assert_int_equal(access_assess(rules, &x->v, &res), 0);
    assert_int_equal(indicator_feed_visit(inc, x->unit, x->g, &x->v, &res, 1),
                     0);
    gone[i] = rnd() % 8 == 0; /* corrected away later */
  }
  for (size_t i = 0; i < total; i++) {
    struct access_result res;
    assert_int_equal(access_assess(rules, &vs[i].v, &res), 0);
    if (gone[i])
      assert_int_equal(
          indicator_feed_visit(inc, vs[i].unit, vs[i].g, &vs[i].v, &res, -1),
          0);
  }
  /* rebuilt from the survivors, backwards */
  for (size_t i = total; i-- > 0;) {
    struct access_result res;
    if (gone[i])
      continue;
    assert_int_equal(access_assess(rules, &vs[i].v, &res), 0);
    assert_int_equal(
        indicator_feed_visit(rebuilt, vs[i].unit, vs[i].g, &vs[i].v, &res, 1),
        0);
    nrecs += visit_recs(builtin, &vs[i], &recs[nrecs]);
  }
  assert_true(indicator_cube_equal(inc, rebuilt));
  w.recs = recs;
  w.nrecs = nrecs;
  world_index(&w);
  for (size_t u = 0; u < nunits; u++) {
    for (size_t k = 0; k < indicator_count(builtin); k++) {
      const struct indicator_def *d = indicator_at(builtin, k);
      if (!visit_indicator(d))
        continue;
      for (int per = 0; per < INDICATOR__PERIODS; per++) {
        struct indicator_point *pts = NULL;
        size_t n = 0;
        bool rolling = per >= INDICATOR_ROLL7;
        assert_int_equal(indicator_series((u + k) % 2 ? inc : rebuilt, d, u,
                                          w.d0, w.d0 + w.ndays - 1,
                                          (enum indicator_period)per, &pts, &n,
                                          &err),
                         0);
        for (size_t i = 0; i < n; i++) {
          struct indicator_point want;
          int32_t a, b;
          if ((rolling || per == INDICATOR_DAY) && rnd() % 60 != 0)
            continue; /* daily points are sampled */
          indicator_period_bounds((enum indicator_period)per,
                                  rolling ? w.d0 + (int32_t)i : pts[i].from, &a,
                                  &b);
          want = brute(&w, d, u, a, b);
          if (d->rule_timeline)
            want.rule_version = access_rules_version(rules, d->rule_service, a,
                                                     b, &want.rule_changed);
          if (want.rule_version == NULL || pts[i].rule_version == NULL) {
            assert_true(want.rule_version == pts[i].rule_version);
            want.rule_version = pts[i].rule_version = "";
          }
          same(&pts[i], &want,
               indicator_period_name((enum indicator_period)per), d, u);
        }
        mem_free(pts);
      }
    }
  }
  indicator_cube_free(inc);
  indicator_cube_free(rebuilt);
  free(w.by_day);
  free(w.day_start);
  free(w.vals);
  free(vs);
  free(recs);
  free(gone);
  org_free(org);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin_catalogue),
      cmocka_unit_test(test_catalogue_refusals),
      cmocka_unit_test(test_periods),
      cmocka_unit_test(test_t3_worked_example),
      cmocka_unit_test(test_visits),
      cmocka_unit_test(test_flow),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_property),
      cmocka_unit_test(test_property_visits),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
