/* test_access.c -- unit tests for access.c.
 *
 * The built-in care-guarantee timeline (indicators/care_guarantee.json) at
 * every period boundary of DOMAIN.md Part B §2.3: 2023-08-31/2023-09-01,
 * 2024-10-31/2024-11-01 (dental), 2024-12-31/2025-01-01, age 22 vs 23 on
 * the HTA date including a birthday on the HTA date; "within N vrk" and
 * "within N months" with add_months clamping (HTA 2025-11-30 + 3 months);
 * the labelled days proxy; exclusions; rule versions over periods; the
 * §2.2 bins at the edges 0/7/8/14/15/28/29/90/91/180/181; age on a date
 * (29 February); and the loader's refusals, each naming its JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "calendar.h"
#include "chrono.h"

static int32_t D(const char *s) {
  int32_t d = 0;
  if (chrono_parse_date(s, strlen(s), &d) != 0)
    fail_msg("bad fixture date '%s'", s);
  return d;
}

static struct access_rules *rules;

static int setup(void **state) {
  struct error err;
  (void)state;
  if (access_rules_builtin(&rules, &err) != 0) {
    fprintf(stderr, "builtin rules: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  access_rules_free(rules);
  return 0;
}

static struct access_result assess(enum access_service svc, const char *hta,
                                   const char *visit, int age) {
  struct access_visit v = {D(visit), D(hta), ACCESS_NO_DATE, age, svc, 0};
  struct access_result r;
  assert_int_equal(access_assess(rules, &v, &r), 0);
  return r;
}

/* The verdict, the rule id and the deadline for one visit. */
static void expect(enum access_service svc, const char *hta, const char *visit,
                   int age, enum access_verdict verdict, const char *rule_id,
                   const char *deadline) {
  struct access_result r = assess(svc, hta, visit, age);
  char got[11];
  if (r.verdict != verdict)
    fail_msg("HTA %s visit %s age %d: verdict %d, want %d", hta, visit, age,
             r.verdict, verdict);
  if (rule_id == NULL) {
    assert_null(r.rule);
    return;
  }
  assert_non_null(r.rule);
  if (strcmp(r.rule->id, rule_id) != 0)
    fail_msg("HTA %s age %d: rule %s, want %s", hta, age, r.rule->id, rule_id);
  chrono_format_date(r.deadline, got);
  if (strcmp(got, deadline) != 0)
    fail_msg("HTA %s age %d: deadline %s, want %s", hta, age, got, deadline);
  assert_int_equal(r.wait_days, D(visit) - D(hta));
}

static void test_builtin(void **state) {
  (void)state;
  assert_int_equal(access_rules_count(rules), 9);
  assert_int_equal(access_bins_count(rules), 7);
  assert_null(access_rules_at(rules, 9));
  assert_non_null(access_rules_at(rules, 0)->basis.fi);
  assert_non_null(access_rules_at(rules, 0)->basis.sv);
  assert_non_null(access_rules_at(rules, 0)->basis.en);
  {
    size_t len;
    const char *txt = access_builtin_json(&len);
    assert_true(len > 1000);
    assert_int_equal(strlen(txt), len);
    assert_int_equal(txt[0], '{');
  }
}

static void test_primary_care_timeline(void **state) {
  const enum access_service P = ACCESS_PRIMARY_CARE;
  (void)state;
  /* before 1.9.2023: 3 months */
  expect(P, "2023-08-31", "2023-11-30", 40, ACCESS_MET,
         "primary_care.until_2023_08", "2023-11-30");
  expect(P, "2023-08-31", "2023-12-01", 40, ACCESS_MISSED,
         "primary_care.until_2023_08", "2023-11-30");
  expect(P, "2023-05-31", "2023-08-31", 40, ACCESS_MET,
         "primary_care.until_2023_08", "2023-08-31"); /* 31.8 exists */
  expect(P, "2022-11-30", "2023-02-28", 40, ACCESS_MET,
         "primary_care.until_2023_08", "2023-02-28"); /* 30.2 -> 28.2 */
  /* no age condition before 2025: unknown age is fine */
  expect(P, "2023-08-31", "2023-09-01", -1, ACCESS_MET,
         "primary_care.until_2023_08", "2023-11-30");
  /* from 1.9.2023: 14 vrk, visit - hta <= 14 */
  expect(P, "2023-09-01", "2023-09-15", 40, ACCESS_MET, "primary_care.2023_09",
         "2023-09-15");
  expect(P, "2023-09-01", "2023-09-16", 40, ACCESS_MISSED,
         "primary_care.2023_09", "2023-09-15");
  expect(P, "2023-09-01", "2023-09-01", 40, ACCESS_MET, "primary_care.2023_09",
         "2023-09-15"); /* same day = 0 */
  /* the HTA date decides, not the visit date */
  expect(P, "2024-12-31", "2025-01-14", 40, ACCESS_MET, "primary_care.2023_09",
         "2025-01-14");
  expect(P, "2024-12-31", "2025-01-15", 40, ACCESS_MISSED,
         "primary_care.2023_09", "2025-01-14");
  /* from 1.1.2025: >= 23 three months, < 23 fourteen days */
  expect(P, "2025-01-01", "2025-04-01", 40, ACCESS_MET,
         "primary_care.2025.23_plus", "2025-04-01");
  expect(P, "2025-01-01", "2025-04-02", 40, ACCESS_MISSED,
         "primary_care.2025.23_plus", "2025-04-01");
  expect(P, "2025-01-01", "2025-01-15", 22, ACCESS_MET,
         "primary_care.2025.under_23", "2025-01-15");
  expect(P, "2025-01-01", "2025-01-16", 22, ACCESS_MISSED,
         "primary_care.2025.under_23", "2025-01-15");
  expect(P, "2025-01-01", "2025-01-16", 23, ACCESS_MET,
         "primary_care.2025.23_plus", "2025-04-01");
  /* age unknown where the rule depends on it */
  expect(P, "2025-01-01", "2025-01-02", -1, ACCESS_NO_RULE, NULL, NULL);
  /* add_months clamping: 2025-11-30 + 3 months = 2026-02-28 */
  expect(P, "2025-11-30", "2026-02-28", 30, ACCESS_MET,
         "primary_care.2025.23_plus", "2026-02-28");
  expect(P, "2025-11-30", "2026-03-01", 30, ACCESS_MISSED,
         "primary_care.2025.23_plus", "2026-02-28");
  assert_int_equal(calendar_add_months(D("2025-11-30"), 3), D("2026-02-28"));
}

static void test_age_on_hta_date(void **state) {
  int32_t birth = D("2002-03-10");
  struct access_visit v = {D("2025-03-20"),     D("2025-03-09"),
                           ACCESS_NO_DATE,      0,
                           ACCESS_PRIMARY_CARE, 0};
  struct access_result r;
  (void)state;
  /* the day before the 23rd birthday: 22, the 14-day rule */
  v.age = access_age_on(birth, v.hta_date);
  assert_int_equal(v.age, 22);
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_string_equal(r.rule->id, "primary_care.2025.under_23");
  assert_int_equal(r.verdict, ACCESS_MET); /* 11 days */
  v.visit_date = D("2025-03-24");          /* 15 days */
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(r.verdict, ACCESS_MISSED);
  /* HTA on the birthday: 23, three months */
  v.hta_date = D("2025-03-10");
  v.age = access_age_on(birth, v.hta_date);
  assert_int_equal(v.age, 23);
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_string_equal(r.rule->id, "primary_care.2025.23_plus");
  assert_int_equal(r.verdict, ACCESS_MET);
  assert_int_equal(r.deadline, D("2025-06-10"));
  /* the visit after the birthday does not change the rule */
  v.hta_date = D("2025-03-01");
  v.visit_date = D("2025-03-20");
  v.age = access_age_on(birth, v.hta_date);
  assert_int_equal(v.age, 22);
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_string_equal(r.rule->id, "primary_care.2025.under_23");
  assert_int_equal(r.verdict, ACCESS_MISSED); /* 19 days */
}

static void test_age_on(void **state) {
  int32_t leap = D("2004-02-29");
  (void)state;
  assert_int_equal(access_age_on(leap, leap), 0);
  assert_int_equal(access_age_on(leap, leap - 1), -1);
  assert_int_equal(access_age_on(leap, D("2005-02-27")), 0);
  assert_int_equal(access_age_on(leap, D("2005-02-28")), 1); /* clamped */
  assert_int_equal(access_age_on(leap, D("2027-02-27")), 22);
  assert_int_equal(access_age_on(leap, D("2027-02-28")), 23);
  assert_int_equal(access_age_on(leap, D("2028-02-28")), 23);
  assert_int_equal(access_age_on(leap, D("2028-02-29")), 24);
  assert_int_equal(access_age_on(D("2000-12-31"), D("2023-12-30")), 22);
  assert_int_equal(access_age_on(D("2000-12-31"), D("2023-12-31")), 23);
  assert_int_equal(access_age_on(D("2000-12-31"), D("2024-01-01")), 23);
}

static void test_dental_timeline(void **state) {
  const enum access_service T = ACCESS_DENTAL;
  (void)state;
  expect(T, "2023-08-31", "2023-11-30", 40, ACCESS_MET, "dental.until_2023_08",
         "2023-11-30");
  expect(T, "2023-09-01", "2024-01-01", 40, ACCESS_MET, "dental.2023_09",
         "2024-01-01"); /* 4 months */
  expect(T, "2024-10-31", "2025-02-28", 40, ACCESS_MET, "dental.2023_09",
         "2025-02-28"); /* 31.2 -> 28.2 */
  expect(T, "2024-10-31", "2025-03-01", 40, ACCESS_MISSED, "dental.2023_09",
         "2025-02-28");
  expect(T, "2024-11-01", "2025-02-01", 40, ACCESS_MET, "dental.2024_11",
         "2025-02-01");
  expect(T, "2024-11-01", "2025-02-02", 40, ACCESS_MISSED, "dental.2024_11",
         "2025-02-01");
  expect(T, "2025-01-01", "2025-07-01", 23, ACCESS_MET, "dental.2025.23_plus",
         "2025-07-01"); /* 6 months */
  expect(T, "2025-01-01", "2025-04-02", 22, ACCESS_MISSED,
         "dental.2025.under_23", "2025-04-01");
}

static void test_proxy_and_exclusions(void **state) {
  struct access_visit v = {D("2023-11-30"),     D("2023-08-31"),
                           D("2023-08-29"),     40,
                           ACCESS_PRIMARY_CARE, 0};
  struct access_result r;
  (void)state;
  /* 91 days: within 3 months by law, over 90 vrk by the proxy */
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(r.verdict, ACCESS_MET);
  assert_int_equal(r.wait_days, 91);
  assert_int_equal(r.wait_contact_days, 93);
  assert_int_equal(r.rule->proxy_days, 90);
  assert_false(r.proxy_met);
  v.visit_date = D("2023-11-29");
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_true(r.proxy_met);
  /* day rules: proxy == limit */
  r = assess(ACCESS_PRIMARY_CARE, "2024-01-01", "2024-01-15", 40);
  assert_true(r.proxy_met);
  r = assess(ACCESS_PRIMARY_CARE, "2024-01-01", "2024-01-16", 40);
  assert_false(r.proxy_met);
  /* exclusions */
  v.flags = ACCESS_URGENT | ACCESS_CARE_PLAN;
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(r.verdict, ACCESS_EXCLUDED);
  assert_int_equal(r.excluded_by, ACCESS_URGENT | ACCESS_CARE_PLAN);
  assert_null(r.rule);
  assert_int_equal(r.deadline, ACCESS_NO_DATE);
  assert_int_equal(r.wait_days, 90); /* still reported */
  v.flags = ACCESS_CERTIFICATE;
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(r.excluded_by, ACCESS_CERTIFICATE);
  v.flags = 0;
  v.hta_date = ACCESS_NO_DATE;
  assert_int_equal(access_assess(rules, &v, &r), 0);
  assert_int_equal(r.verdict, ACCESS_EXCLUDED);
  assert_int_equal(r.excluded_by, ACCESS_NO_HTA);
  assert_int_equal(r.wait_days, -1);
  assert_int_equal(r.wait_contact_days, 92);
  /* inconsistent dates are refused and leave *out alone */
  memset(&r, 0x77, sizeof r);
  v.hta_date = D("2023-12-01");
  assert_int_equal(access_assess(rules, &v, &r), ERR_RANGE);
  assert_int_equal(r.wait_days, 0x77777777);
  v.hta_date = ACCESS_NO_DATE;
  v.contact_date = D("2023-12-01");
  assert_int_equal(access_assess(rules, &v, &r), ERR_RANGE);
  v.contact_date = ACCESS_NO_DATE;
  v.service = ACCESS__SERVICES;
  assert_int_equal(access_assess(rules, &v, &r), ERR_RANGE);
}

static void test_versions(void **state) {
  bool changed = true;
  const char *v;
  (void)state;
  v = access_rules_version(rules, ACCESS_PRIMARY_CARE, D("2020-01-01"),
                           D("2020-12-31"), &changed);
  assert_string_equal(v, "2011-05-01");
  assert_false(changed);
  v = access_rules_version(rules, ACCESS_PRIMARY_CARE, D("2024-12-01"),
                           D("2024-12-31"), &changed);
  assert_string_equal(v, "2023-09-01");
  assert_false(changed);
  v = access_rules_version(rules, ACCESS_PRIMARY_CARE, D("2024-12-15"),
                           D("2025-01-15"), &changed);
  assert_string_equal(v, "2025-01-01");
  assert_true(changed);
  v = access_rules_version(rules, ACCESS_PRIMARY_CARE, D("2025-01-01"),
                           D("2025-01-31"), &changed);
  assert_string_equal(v, "2025-01-01");
  assert_false(changed); /* starts on the first day, not within */
  v = access_rules_version(rules, ACCESS_DENTAL, D("2024-10-01"),
                           D("2024-11-30"), &changed);
  assert_string_equal(v, "2024-11-01");
  assert_true(changed);
  assert_string_equal(access_service_name(ACCESS_DENTAL), "dental");
  {
    enum access_service s = ACCESS_DENTAL;
    assert_int_equal(access_service_parse("primary_care", &s), 0);
    assert_int_equal(s, ACCESS_PRIMARY_CARE);
    assert_int_equal(access_service_parse("x", &s), ERR_NOTFOUND);
  }
}

static void test_bins(void **state) {
  static const struct {
    int32_t days;
    const char *id;
  } rows[] = {{0, "same_day"},   {1, "d1_7"},      {7, "d1_7"},
              {8, "d8_14"},      {14, "d8_14"},    {15, "d15_28"},
              {28, "d15_28"},    {29, "d29_90"},   {90, "d29_90"},
              {91, "d91_180"},   {180, "d91_180"}, {181, "over_180"},
              {5000, "over_180"}};
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    int b = access_bin_index(rules, rows[i].days);
    assert_true(b >= 0);
    if (strcmp(access_bin_at(rules, (size_t)b)->id, rows[i].id) != 0)
      fail_msg("%d days: bin %s, want %s", rows[i].days,
               access_bin_at(rules, (size_t)b)->id, rows[i].id);
  }
  assert_int_equal(access_bin_index(rules, -1), -1);
  assert_int_equal(access_bin_at(rules, 6)->max, INT32_MAX);
  assert_int_equal(access_bin_at(rules, 6)->min, 181);
  assert_string_equal(access_bin_at(rules, 1)->label.en, "1–7 days");
  assert_null(access_bin_at(rules, 7));
}

/* A minimal valid file with 'rule' and 'bins' spliced in. */
static int load(const char *rules_json, const char *bins_json,
                struct error *err) {
  char text[4096];
  struct access_rules *r = NULL;
  int rc;
  snprintf(text, sizeof text,
           "{\"version\": 1, \"rules\": [%s], \"bins\": [%s]}", rules_json,
           bins_json);
  rc = access_rules_load_json(text, strlen(text), &r, err);
  if (rc == 0)
    assert_non_null(r);
  else
    assert_null(r);
  access_rules_free(r);
  return rc;
}

#define BASIS "\"basis\": {\"fi\": \"a\", \"sv\": \"b\", \"en\": \"c\"}"
#define RULE(extra)                                                            \
  "{\"id\": \"r1\", \"service\": \"primary_care\", \"limit\": {\"days\": "     \
  "14}, \"proxy_days\": 14, \"rule_version\": \"2023-09-01\", " BASIS extra    \
  "}"
#define LABEL "\"label\": {\"fi\": \"a\", \"sv\": \"b\", \"en\": \"c\"}"
#define BINS                                                                   \
  "{\"id\": \"a\", \"min\": 0, \"max\": 7, " LABEL "}, {\"id\": \"b\", "       \
  "\"min\": 8, " LABEL "}"

static void expect_refused(const char *rules_json, const char *bins_json,
                           int code, const char *msg_part) {
  struct error err;
  error_clear(&err);
  assert_int_equal(load(rules_json, bins_json, &err), code);
  if (strstr(err.msg, msg_part) == NULL)
    fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
}

static void test_loader(void **state) {
  struct error err;
  struct access_rules *r = NULL;
  (void)state;
  assert_int_equal(load(RULE(""), BINS, &err), 0);
  assert_int_equal(load(RULE(", \"x-note\": \"comment\""), BINS, &err), 0);
  expect_refused(RULE(", \"colour\": 1"), BINS, ERR_CONFIG,
                 "rules[0]: unknown key 'colour'");
  expect_refused(RULE(", \"valid_from\": \"2023-02-30\""), BINS, ERR_CONFIG,
                 "rules[0].valid_from");
  expect_refused(RULE(", \"valid_from\": \"2024-01-01\", \"valid_to\": "
                      "\"2023-01-01\""),
                 BINS, ERR_CONFIG, "rules[0]: valid_from is after valid_to");
  expect_refused(RULE(", \"age\": {\"min\": 23, \"below\": 23}"), BINS,
                 ERR_CONFIG, "rules[0].age");
  expect_refused(RULE(", \"age\": {}"), BINS, ERR_CONFIG, "rules[0].age");
  expect_refused(RULE("") "," RULE(""), BINS, ERR_CONFIG,
                 "rules[1].id: duplicate id");
  expect_refused(
      RULE(
          ", \"valid_to\": \"2024-12-31\"") ","
                                            "{\"id\": \"r2\", \"service\": "
                                            "\"primary_care\", \"valid_from\": "
                                            "\"2024-12-31\", \"limit\": "
                                            "{\"months\": 3}, \"proxy_days\": "
                                            "90, "
                                            "\"rule_version\": "
                                            "\"2025-01-01\", " BASIS "}",
      BINS, ERR_CONFIG, "rules[1]: overlaps rules[0]");
  /* the same dates for other ages or another service do not overlap */
  assert_int_equal(
      load(RULE(", \"age\": {\"below\": 23}") ","
                                              "{\"id\": \"r2\", \"service\": "
                                              "\"primary_care\", \"age\": "
                                              "{\"min\": "
                                              "23}, \"limit\": {\"months\": "
                                              "3}, \"proxy_days\": 90, "
                                              "\"rule_version\": "
                                              "\"2025-01-01\", " BASIS "},"
                                              "{\"id\": \"r3\", \"service\": "
                                              "\"dental\", \"limit\": "
                                              "{\"months\": "
                                              "3}, \"proxy_days\": 90, "
                                              "\"rule_version\": "
                                              "\"2025-01-01\", " BASIS "}",
           BINS, &err),
      0);
  expect_refused(
      "{\"id\": \"r1\", \"service\": \"primary_care\", \"limit\": {\"days\": "
      "14, \"months\": 3}, \"proxy_days\": 14, \"rule_version\": "
      "\"2023-09-01\", " BASIS "}",
      BINS, ERR_CONFIG, "rules[0].limit: exactly one");
  expect_refused(
      "{\"id\": \"r1\", \"service\": \"eye_care\", \"limit\": {\"days\": "
      "14}, \"proxy_days\": 14, \"rule_version\": \"2023-09-01\", " BASIS "}",
      BINS, ERR_CONFIG, "rules[0].service");
  expect_refused(
      "{\"id\": \"r1\", \"service\": \"primary_care\", \"limit\": {\"days\": "
      "14}, \"proxy_days\": 14, \"rule_version\": \"2023-09-01\", "
      "\"basis\": {\"fi\": \"a\"}}",
      BINS, ERR_CONFIG, "rules[0].basis.sv: required");
  expect_refused(RULE(""),
                 "{\"id\": \"a\", \"min\": 0, \"max\": 7, " LABEL
                 "}, {\"id\": \"b\", \"min\": 9, " LABEL "}",
                 ERR_CONFIG, "bins[1].min");
  expect_refused(RULE(""), "{\"id\": \"a\", \"min\": 1, " LABEL "}", ERR_CONFIG,
                 "bins[0].min");
  expect_refused(RULE(""), "{\"id\": \"a\", \"min\": 0, \"max\": 7, " LABEL "}",
                 ERR_CONFIG, "the last bin must be open");
  expect_refused(RULE(""), "", ERR_CONFIG, "bins");
  error_clear(&err);
  assert_int_equal(access_rules_load_json("{\"version\": 1,", 14, &r, &err),
                   ERR_PARSE);
  assert_null(r);
  assert_non_null(strstr(err.msg, "invalid JSON"));
  assert_int_equal(access_rules_load_json("{}", ACCESS_MAX_JSON + 1, &r, &err),
                   ERR_TOOBIG);
  {
    const char *two = "{\"version\": 2, \"rules\": [], \"bins\": []}";
    assert_int_equal(access_rules_load_json(two, strlen(two), &r, &err),
                     ERR_CONFIG);
    assert_non_null(strstr(err.msg, "version"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin),
      cmocka_unit_test(test_primary_care_timeline),
      cmocka_unit_test(test_age_on_hta_date),
      cmocka_unit_test(test_age_on),
      cmocka_unit_test(test_dental_timeline),
      cmocka_unit_test(test_proxy_and_exclusions),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_bins),
      cmocka_unit_test(test_loader),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
