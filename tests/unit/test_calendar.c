/* test_calendar.c -- unit tests for calendar.c.
 *
 * Fixtures come from DOMAIN.md: the §8.2 holiday table for 2024..2028 (every
 * column, and the exact list of weekday non-working days per year, checked
 * both from calendar_holidays() and day by day through
 * calendar_is_arkipaiva()), the §3.4 worked examples (7th arkipäivä and the
 * 3-month deadline with and without the 5 § extension), Easter spot checks
 * 1900..2100 from published tables, and add_months edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "chrono.h"

static int32_t ymd(int y, int m, int d) {
  return chrono_days_from_civil(y, m, d);
}

static int32_t date(const char *s) {
  int32_t d = 0;
  if (chrono_parse_date(s, strlen(s), &d) != 0)
    fail_msg("bad fixture date '%s'", s);
  return d;
}

/* "29.3" in 'year' */
static int32_t dm(int year, const char *s) {
  int d, m;
  if (sscanf(s, "%d.%d", &d, &m) != 2)
    fail_msg("bad fixture '%s'", s);
  return ymd(year, m, d);
}

static const struct calendar_holiday *by_id(const struct calendar_holiday *h,
                                            size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(h[i].id, id) == 0)
      return &h[i];
  fail_msg("no holiday '%s'", id);
  return NULL;
}

/* DOMAIN.md §8.2 */
static const struct {
  int year;
  const char *good_fri, *easter_mon, *ascension, *midsummer_eve, *all_saints;
  const char *weekday_list;
} table82[] = {
    {2024, "29.3", "1.4", "9.5", "21.6", "2.11",
     "1.1, 29.3, 1.4, 1.5, 9.5, 21.6, 6.12, 24.12, 25.12, 26.12"},
    {2025, "18.4", "21.4", "29.5", "20.6", "1.11",
     "1.1, 6.1, 18.4, 21.4, 1.5, 29.5, 20.6, 24.12, 25.12, 26.12"},
    {2026, "3.4", "6.4", "14.5", "19.6", "31.10",
     "1.1, 6.1, 3.4, 6.4, 1.5, 14.5, 19.6, 24.12, 25.12"},
    {2027, "26.3", "29.3", "6.5", "25.6", "6.11",
     "1.1, 6.1, 26.3, 29.3, 6.5, 25.6, 6.12, 24.12"},
    {2028, "14.4", "17.4", "25.5", "23.6", "4.11",
     "6.1, 14.4, 17.4, 1.5, 25.5, 23.6, 6.12, 25.12, 26.12"},
};

static size_t parse_list(int year, const char *list, int32_t *out) {
  size_t n = 0;
  const char *p = list;
  while (*p != '\0') {
    char item[8];
    size_t k = 0;
    while (*p == ' ' || *p == ',')
      p++;
    while (*p != '\0' && *p != ',' && k < sizeof item - 1)
      item[k++] = *p++;
    item[k] = '\0';
    if (k > 0)
      out[n++] = dm(year, item);
  }
  return n;
}

static void test_table_82(void **state) {
  (void)state;
  for (size_t t = 0; t < sizeof table82 / sizeof table82[0]; t++) {
    int y = table82[t].year;
    struct calendar_holiday h[CALENDAR_HOLIDAYS_PER_YEAR];
    int32_t want[20], got[20];
    size_t nwant, ngot = 0;
    assert_int_equal(calendar_holidays(y, h, CALENDAR_HOLIDAYS_PER_YEAR),
                     CALENDAR_HOLIDAYS_PER_YEAR);
    assert_int_equal(by_id(h, 15, "good_friday")->day,
                     dm(y, table82[t].good_fri));
    assert_int_equal(by_id(h, 15, "easter_monday")->day,
                     dm(y, table82[t].easter_mon));
    assert_int_equal(by_id(h, 15, "ascension")->day,
                     dm(y, table82[t].ascension));
    assert_int_equal(by_id(h, 15, "midsummer_eve")->day,
                     dm(y, table82[t].midsummer_eve));
    assert_int_equal(by_id(h, 15, "all_saints")->day,
                     dm(y, table82[t].all_saints));
    assert_int_equal(chrono_weekday(by_id(h, 15, "all_saints")->day), 6);
    assert_int_equal(chrono_weekday(by_id(h, 15, "midsummer_day")->day), 6);
    assert_int_equal(by_id(h, 15, "midsummer_day")->day,
                     dm(y, table82[t].midsummer_eve) + 1);
    /* the weekday list, exactly, from the holiday list ... */
    nwant = parse_list(y, table82[t].weekday_list, want);
    for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR; i++) {
      if (i > 0)
        assert_true(h[i - 1].day <= h[i].day);
      if (chrono_weekday(h[i].day) <= 5 &&
          (ngot == 0 || got[ngot - 1] != h[i].day))
        got[ngot++] = h[i].day;
    }
    assert_int_equal(ngot, nwant);
    for (size_t i = 0; i < nwant; i++)
      assert_int_equal(got[i], want[i]);
    /* ... and day by day: a weekday is not arkipäivä iff it is listed */
    ngot = 0;
    for (int32_t d = ymd(y, 1, 1); d < ymd(y + 1, 1, 1); d++) {
      if (chrono_weekday(d) > 5) {
        assert_false(calendar_is_arkipaiva(d));
      } else if (!calendar_is_arkipaiva(d)) {
        assert_true(ngot < nwant);
        assert_int_equal(d, want[ngot]);
        ngot++;
      }
    }
    assert_int_equal(ngot, nwant);
  }
}

static void test_holidays_2026_names(void **state) {
  static const char *const want[CALENDAR_HOLIDAYS_PER_YEAR][5] = {
      {"2026-01-01", "new_year", "Uudenvuodenpäivä", "Nyårsdagen",
       "New Year's Day"},
      {"2026-01-06", "epiphany", "Loppiainen", "Trettondedag jul", "Epiphany"},
      {"2026-04-03", "good_friday", "Pitkäperjantai", "Långfredagen",
       "Good Friday"},
      {"2026-04-05", "easter_sunday", "Pääsiäispäivä", "Påskdagen",
       "Easter Sunday"},
      {"2026-04-06", "easter_monday", "2. pääsiäispäivä", "Annandag påsk",
       "Easter Monday"},
      {"2026-05-01", "may_day", "Vappu", "Första maj", "May Day"},
      {"2026-05-14", "ascension", "Helatorstai", "Kristi himmelsfärdsdag",
       "Ascension Day"},
      {"2026-05-24", "pentecost", "Helluntaipäivä", "Pingstdagen",
       "Whit Sunday"},
      {"2026-06-19", "midsummer_eve", "Juhannusaatto", "Midsommarafton",
       "Midsummer Eve"},
      {"2026-06-20", "midsummer_day", "Juhannuspäivä", "Midsommardagen",
       "Midsummer Day"},
      {"2026-10-31", "all_saints", "Pyhäinpäivä", "Alla helgons dag",
       "All Saints' Day"},
      {"2026-12-06", "independence_day", "Itsenäisyyspäivä",
       "Självständighetsdagen", "Independence Day"},
      {"2026-12-24", "christmas_eve", "Jouluaatto", "Julafton",
       "Christmas Eve"},
      {"2026-12-25", "christmas_day", "Joulupäivä", "Juldagen",
       "Christmas Day"},
      {"2026-12-26", "st_stephens_day", "Tapaninpäivä", "Annandag jul",
       "St Stephen's Day"},
  };
  struct calendar_holiday h[CALENDAR_HOLIDAYS_PER_YEAR + 2];
  struct calendar_holiday one;
  (void)state;
  memset(h, 0, sizeof h);
  assert_int_equal(calendar_holidays(2026, h, ARRAY_LEN(h)), 15);
  assert_int_equal(h[15].day, 0); /* nothing written past the count */
  assert_null(h[15].id);
  for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR; i++) {
    assert_int_equal(h[i].day, date(want[i][0]));
    assert_string_equal(h[i].id, want[i][1]);
    assert_string_equal(h[i].fi, want[i][2]);
    assert_string_equal(h[i].sv, want[i][3]);
    assert_string_equal(h[i].en, want[i][4]);
    assert_true(calendar_holiday_on(h[i].day, &one));
    assert_string_equal(one.id, want[i][1]);
    assert_int_equal(one.day, h[i].day);
  }
  assert_false(calendar_holiday_on(date("2026-12-31"), &one));
  assert_false(calendar_holiday_on(date("2026-04-04"), NULL)); /* Easter Sat */
  assert_true(calendar_holiday_on(date("2026-12-24"), NULL));
  /* a short buffer gets the first entries; the count is still 15 */
  memset(h, 0, sizeof h);
  assert_int_equal(calendar_holidays(2026, h, 2), 15);
  assert_string_equal(h[1].id, "epiphany");
  assert_null(h[2].id);
  assert_int_equal(calendar_holidays(2026, NULL, 0), 15);
}

static void test_coinciding_2008(void **state) {
  struct calendar_holiday h[CALENDAR_HOLIDAYS_PER_YEAR];
  (void)state;
  /* Easter 2008-03-23: Ascension Day is 1 May, the same day as May Day */
  assert_int_equal(calendar_easter(2008), date("2008-03-23"));
  calendar_holidays(2008, h, ARRAY_LEN(h));
  assert_string_equal(h[5].id, "may_day");
  assert_string_equal(h[6].id, "ascension");
  assert_int_equal(h[5].day, date("2008-05-01"));
  assert_int_equal(h[6].day, date("2008-05-01"));
  assert_false(calendar_is_arkipaiva(date("2008-05-01")));
  assert_true(calendar_is_arkipaiva(date("2008-05-02")));
}

static void test_easter(void **state) {
  static const char *const known[] = {
      "1900-04-15", "1913-03-23", "1943-04-25", "1954-04-18", "1961-04-02",
      "1981-04-19", "2000-04-23", "2008-03-23", "2011-04-24", "2019-04-21",
      "2024-03-31", "2025-04-20", "2026-04-05", "2038-04-25", "2049-04-18",
      "2076-04-19", "2095-04-24", "2100-03-28"};
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(known); i++) {
    int32_t d = date(known[i]);
    assert_int_equal(calendar_easter(atoi(known[i])), d);
  }
  /* always a Sunday between 22 March and 25 April */
  for (int y = 1583; y <= 4099; y++) {
    int32_t e = calendar_easter(y);
    assert_int_equal(chrono_weekday(e), 7);
    assert_true(e >= ymd(y, 3, 22) && e <= ymd(y, 4, 25));
  }
}

static void test_holiday_rules_many_years(void **state) {
  (void)state;
  for (int y = 1992; y <= 2200; y++) {
    struct calendar_holiday h[CALENDAR_HOLIDAYS_PER_YEAR];
    int32_t e = calendar_easter(y);
    calendar_holidays(y, h, ARRAY_LEN(h));
    assert_int_equal(by_id(h, 15, "pentecost")->day, e + 49);
    assert_int_equal(chrono_weekday(by_id(h, 15, "ascension")->day), 4);
    {
      int32_t me = by_id(h, 15, "midsummer_eve")->day;
      int32_t md = by_id(h, 15, "midsummer_day")->day;
      int32_t as = by_id(h, 15, "all_saints")->day;
      assert_int_equal(chrono_weekday(me), 5);
      assert_true(me >= ymd(y, 6, 19) && me <= ymd(y, 6, 25));
      assert_true(md >= ymd(y, 6, 20) && md <= ymd(y, 6, 26));
      assert_true(as >= ymd(y, 10, 31) && as <= ymd(y, 11, 6));
      assert_int_equal(chrono_weekday(as), 6);
    }
  }
}

static void test_eve_flags(void **state) {
  int32_t xmas_eve = date("2025-12-24"), mids_eve = date("2025-06-20");
  (void)state;
  assert_false(calendar_is_arkipaiva(xmas_eve));
  assert_false(calendar_is_arkipaiva(mids_eve));
  assert_true(calendar_is_arkipaiva_flags(xmas_eve, 0));
  assert_true(calendar_is_arkipaiva_flags(mids_eve, 0));
  assert_false(calendar_is_arkipaiva_flags(xmas_eve, CALENDAR_CHRISTMAS_EVE));
  assert_true(calendar_is_arkipaiva_flags(mids_eve, CALENDAR_CHRISTMAS_EVE));
  assert_true(calendar_is_arkipaiva_flags(xmas_eve, CALENDAR_MIDSUMMER_EVE));
  assert_false(calendar_is_arkipaiva_flags(mids_eve, CALENDAR_MIDSUMMER_EVE));
  /* other holidays stay non-working whatever the flags */
  assert_false(calendar_is_arkipaiva_flags(date("2025-12-25"), 0));
  /* ordinary eves are working days: 31.12, 30.4 */
  assert_true(calendar_is_arkipaiva(date("2025-12-31")));
  assert_true(calendar_is_arkipaiva(date("2025-04-30")));
  /* Wed 2025-06-18 + 2 workdays: Thu 19, (Fri 20 eve) ... Mon 23 */
  assert_int_equal(calendar_add_workdays(date("2025-06-18"), 2),
                   date("2025-06-23"));
  assert_int_equal(calendar_add_workdays_flags(date("2025-06-18"), 2, 0),
                   date("2025-06-20"));
}

/* DOMAIN.md §3.4 */
static void test_worked_examples(void **state) {
  static const struct {
    const char *vireille, *day7, *months3, *months3_ext;
  } rows[] = {
      {"2024-10-29", "2024-11-07", "2025-01-29", "2025-01-29"},
      {"2024-11-30", "2024-12-11", "2025-02-28", "2025-02-28"},
      {"2024-12-20", "2025-01-07", "2025-03-20", "2025-03-20"},
      {"2025-04-17", "2025-04-30", "2025-07-17", "2025-07-17"},
      {"2025-06-18", "2025-06-30", "2025-09-18", "2025-09-18"},
      {"2025-12-31", "2026-01-13", "2026-03-31", "2026-03-31"},
      {"2025-11-30", "2025-12-09", "2026-02-28", "2026-03-02"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    int32_t v = date(rows[i].vireille);
    int32_t d7 = calendar_add_workdays(v, 7);
    int32_t m3 = calendar_add_months(v, 3);
    char got[11];
    chrono_format_date(d7, got);
    if (d7 != date(rows[i].day7))
      fail_msg("%s + 7 arkipäivää = %s, want %s", rows[i].vireille, got,
               rows[i].day7);
    assert_int_equal(m3, date(rows[i].months3));
    assert_int_equal(calendar_extend(m3), date(rows[i].months3_ext));
  }
  /* THL: Tuesday contact -> Thursday of the following week */
  assert_int_equal(calendar_add_workdays(date("2025-09-02"), 7),
                   date("2025-09-11"));
  /* the start day never counts; n = 0 is the day itself */
  assert_int_equal(calendar_add_workdays(date("2025-11-30"), 0),
                   date("2025-11-30"));
  assert_int_equal(calendar_add_workdays(date("2025-11-30"), 1),
                   date("2025-12-01"));
  assert_int_equal(calendar_add_workdays(date("2025-12-01"), 1),
                   date("2025-12-02"));
  /* extend: an arkipäivä stays; a long weekend moves on */
  assert_int_equal(calendar_extend(date("2025-12-23")), date("2025-12-23"));
  assert_int_equal(calendar_extend(date("2025-12-24")), date("2025-12-29"));
  assert_int_equal(calendar_extend(date("2026-04-03")), date("2026-04-07"));
  assert_int_equal(calendar_extend(date("2025-12-06")), date("2025-12-08"));
}

static void test_add_months(void **state) {
  static const struct {
    const char *from;
    int n;
    const char *want;
  } rows[] = {
      {"2024-01-31", 1, "2024-02-29"}, /* leap year */
      {"2025-01-31", 1, "2025-02-28"}, /* common year */
      {"2100-01-31", 1, "2100-02-28"}, /* century, not leap */
      {"2000-01-31", 1, "2000-02-29"}, /* 400-year leap */
      {"2024-02-29", 12, "2025-02-28"},  {"2024-02-29", 48, "2028-02-29"},
      {"2024-03-31", -1, "2024-02-29"},  {"2025-03-31", 1, "2025-04-30"},
      {"2025-05-31", 3, "2025-08-31"},   {"2025-10-31", 4, "2026-02-28"},
      {"2025-12-15", 1, "2026-01-15"},   {"2025-01-15", -1, "2024-12-15"},
      {"2025-01-15", -13, "2023-12-15"}, {"2025-01-15", -25, "2022-12-15"},
      {"2025-06-18", 0, "2025-06-18"},   {"2025-06-18", 120, "2035-06-18"},
      {"0001-02-15", -2, "0000-12-15"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    int32_t got = calendar_add_months(date(rows[i].from), rows[i].n);
    char s[11];
    chrono_format_date(got, s);
    if (got != date(rows[i].want))
      fail_msg("%s %+d months = %s, want %s", rows[i].from, rows[i].n, s,
               rows[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_82),
      cmocka_unit_test(test_holidays_2026_names),
      cmocka_unit_test(test_coinciding_2008),
      cmocka_unit_test(test_easter),
      cmocka_unit_test(test_holiday_rules_many_years),
      cmocka_unit_test(test_eve_flags),
      cmocka_unit_test(test_worked_examples),
      cmocka_unit_test(test_add_months),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
