/* calendar.c -- Finnish public holidays, arkipäivä and deadlines.
 *
 * Design: one constant table lists the holidays in a fixed order, each with
 * a rule (fixed date, offset from Easter, or the Saturday/Friday inside a
 * date window); a year's dates are computed on demand (a handful of integer
 * operations, so nothing is cached). Deadline arithmetic steps one day at a
 * time, exactly as määräaikalaki 2 § counts.
 *
 * Invariants: calendar_holidays() always yields CALENDAR_HOLIDAYS_PER_YEAR
 * entries, sorted by day, stable for coinciding days.
 *
 * Thread safety: no state; every function is pure and reentrant. */
#include "calendar.h"

#include <assert.h>

#include "chrono.h"

enum rule_kind {
  FIXED,         /* a = month, b = day */
  EASTER,        /* a = offset from Easter Sunday in days */
  WEEKDAY_AFTER, /* the weekday a (1 = Mon) on or after month b, day c */
};

enum eve { NOT_EVE = 0, EVE_CHRISTMAS, EVE_MIDSUMMER };

struct rule {
  const char *id, *fi, *sv, *en;
  enum rule_kind kind;
  int a, b, c;
  enum eve eve;
};

static const struct rule rules[CALENDAR_HOLIDAYS_PER_YEAR] = {
    {"new_year", "Uudenvuodenpäivä", "Nyårsdagen", "New Year's Day", FIXED, 1,
     1, 0, NOT_EVE},
    {"epiphany", "Loppiainen", "Trettondedag jul", "Epiphany", FIXED, 1, 6, 0,
     NOT_EVE},
    {"good_friday", "Pitkäperjantai", "Långfredagen", "Good Friday", EASTER, -2,
     0, 0, NOT_EVE},
    {"easter_sunday", "Pääsiäispäivä", "Påskdagen", "Easter Sunday", EASTER, 0,
     0, 0, NOT_EVE},
    {"easter_monday", "2. pääsiäispäivä", "Annandag påsk", "Easter Monday",
     EASTER, 1, 0, 0, NOT_EVE},
    {"may_day", "Vappu", "Första maj", "May Day", FIXED, 5, 1, 0, NOT_EVE},
    {"ascension", "Helatorstai", "Kristi himmelsfärdsdag", "Ascension Day",
     EASTER, 39, 0, 0, NOT_EVE},
    {"pentecost", "Helluntaipäivä", "Pingstdagen", "Whit Sunday", EASTER, 49, 0,
     0, NOT_EVE},
    {"midsummer_eve", "Juhannusaatto", "Midsommarafton", "Midsummer Eve",
     WEEKDAY_AFTER, 5, 6, 19, EVE_MIDSUMMER},
    {"midsummer_day", "Juhannuspäivä", "Midsommardagen", "Midsummer Day",
     WEEKDAY_AFTER, 6, 6, 20, NOT_EVE},
    {"all_saints", "Pyhäinpäivä", "Alla helgons dag", "All Saints' Day",
     WEEKDAY_AFTER, 6, 10, 31, NOT_EVE},
    {"independence_day", "Itsenäisyyspäivä", "Självständighetsdagen",
     "Independence Day", FIXED, 12, 6, 0, NOT_EVE},
    {"christmas_eve", "Jouluaatto", "Julafton", "Christmas Eve", FIXED, 12, 24,
     0, EVE_CHRISTMAS},
    {"christmas_day", "Joulupäivä", "Juldagen", "Christmas Day", FIXED, 12, 25,
     0, NOT_EVE},
    {"st_stephens_day", "Tapaninpäivä", "Annandag jul", "St Stephen's Day",
     FIXED, 12, 26, 0, NOT_EVE},
};

int32_t calendar_easter(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4,
      f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30,
      i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7,
      m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31;
  int day = ((h + l - 7 * m + 114) % 31) + 1;
  return chrono_days_from_civil(y, month, day);
}

static int32_t rule_day(const struct rule *r, int year, int32_t easter) {
  int32_t d;
  switch (r->kind) {
  case FIXED:
    return chrono_days_from_civil(year, r->a, r->b);
  case EASTER:
    return easter + r->a;
  case WEEKDAY_AFTER:
    d = chrono_days_from_civil(year, r->b, r->c);
    return d + (r->a - chrono_weekday(d) + 7) % 7;
  }
  assert(0);
  return 0;
}

/* The year's days in table order. */
static void year_days(int year, int32_t days[CALENDAR_HOLIDAYS_PER_YEAR]) {
  int32_t easter = calendar_easter(year);
  for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR; i++)
    days[i] = rule_day(&rules[i], year, easter);
}

static void fill(struct calendar_holiday *h, const struct rule *r,
                 int32_t day) {
  h->day = day;
  h->id = r->id;
  h->fi = r->fi;
  h->sv = r->sv;
  h->en = r->en;
}

size_t calendar_holidays(int year, struct calendar_holiday *out, size_t cap) {
  int32_t days[CALENDAR_HOLIDAYS_PER_YEAR];
  size_t order[CALENDAR_HOLIDAYS_PER_YEAR];
  year_days(year, days);
  /* stable insertion sort of the indexes by day */
  for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR; i++) {
    size_t j = i;
    while (j > 0 && days[order[j - 1]] > days[i]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR && i < cap; i++)
    fill(&out[i], &rules[order[i]], days[order[i]]);
  return CALENDAR_HOLIDAYS_PER_YEAR;
}

/* Index of the first rule falling on 'day', or -1. With 'eves', eves whose
 * flag is not set are skipped. */
static int find(int32_t day, unsigned eves) {
  int32_t days[CALENDAR_HOLIDAYS_PER_YEAR];
  int y, m, d;
  chrono_civil_from_days(day, &y, &m, &d);
  year_days(y, days);
  for (size_t i = 0; i < CALENDAR_HOLIDAYS_PER_YEAR; i++) {
    if (days[i] != day)
      continue;
    if (rules[i].eve == EVE_CHRISTMAS && !(eves & CALENDAR_CHRISTMAS_EVE))
      continue;
    if (rules[i].eve == EVE_MIDSUMMER && !(eves & CALENDAR_MIDSUMMER_EVE))
      continue;
    return (int)i;
  }
  return -1;
}

bool calendar_holiday_on(int32_t day, struct calendar_holiday *out) {
  int i = find(day, CALENDAR_EVES_DEADLINE);
  if (i < 0)
    return false;
  if (out != NULL)
    fill(out, &rules[i], day);
  return true;
}

bool calendar_is_arkipaiva_flags(int32_t day, unsigned eves) {
  if (chrono_weekday(day) > 5)
    return false;
  return find(day, eves) < 0;
}

bool calendar_is_arkipaiva(int32_t day) {
  return calendar_is_arkipaiva_flags(day, CALENDAR_EVES_DEADLINE);
}

int32_t calendar_add_workdays_flags(int32_t day, int n, unsigned eves) {
  assert(n >= 0);
  while (n > 0) {
    day++;
    if (calendar_is_arkipaiva_flags(day, eves))
      n--;
  }
  return day;
}

int32_t calendar_add_workdays(int32_t day, int n) {
  return calendar_add_workdays_flags(day, n, CALENDAR_EVES_DEADLINE);
}

int32_t calendar_add_months(int32_t day, int n) {
  int y, m, d, dim;
  long long months;
  chrono_civil_from_days(day, &y, &m, &d);
  months = (long long)y * 12 + (m - 1) + n;
  y = (int)(months >= 0 ? months / 12 : -((-months + 11) / 12));
  m = (int)(months - (long long)y * 12) + 1;
  dim = chrono_days_in_month(y, m);
  if (d > dim)
    d = dim;
  return chrono_days_from_civil(y, m, d);
}

int32_t calendar_extend(int32_t day) {
  while (!calendar_is_arkipaiva(day))
    day++;
  return day;
}
