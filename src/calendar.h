/* calendar.h -- Finnish public holidays, arkipäivä and statutory deadlines
 * (DOMAIN.md Part B §3 and §8).
 *
 * Days are chrono day numbers (int32_t days since 1970-01-01). An
 * "arkipäivä" for LSL/SHL deadlines is Monday..Friday that is not a public
 * holiday, Christmas Eve or Midsummer Eve (määräaikalaki 150/1930 5 §);
 * Saturdays ("arkilauantai") and Sundays never are. New Year's Eve, May Day
 * Eve and Easter Saturday are ordinary days.
 *
 * The rules are those in force since 1992 (Epiphany and Ascension Day back
 * on their own dates; Midsummer Day and All Saints' Day on Saturdays since
 * 1955). Earlier years are computed with the same rules, which is not
 * historically exact. Easter is the Gregorian computus for every year.
 *
 * Pure functions of their arguments: no state, no I/O, thread-safe. */
#ifndef TK_CALENDAR_H
#define TK_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Holidays per year in calendar_holidays(): always this many. */
#define CALENDAR_HOLIDAYS_PER_YEAR 15

struct calendar_holiday {
  int32_t day;    /* chrono day number */
  const char *id; /* stable ASCII id, e.g. "midsummer_eve" */
  const char *fi; /* Finnish name, e.g. "Juhannusaatto" (UTF-8) */
  const char *sv; /* Swedish name, e.g. "Midsommarafton" */
  const char *en; /* English name, e.g. "Midsummer Eve" */
};

/* Which eves count as non-working days (flags for the _flags variants).
 * CALENDAR_EVES_DEADLINE (both) is the rule for LSL/SHL deadlines; other
 * contexts (e.g. labour agreements) may switch either off. */
enum {
  CALENDAR_CHRISTMAS_EVE = 1 << 0,
  CALENDAR_MIDSUMMER_EVE = 1 << 1,
  CALENDAR_EVES_DEADLINE = CALENDAR_CHRISTMAS_EVE | CALENDAR_MIDSUMMER_EVE,
};

/* Easter Sunday of 'year' (Gregorian; anonymous algorithm). */
int32_t calendar_easter(int year);

/* Writes the holidays of 'year' into out[0..cap) in date order (ties keep
 * the order of the table: May Day before Ascension Day when they coincide)
 * and returns how many the year has (CALENDAR_HOLIDAYS_PER_YEAR), which may
 * exceed 'cap'; only min(cap, count) entries are written. The list is the
 * §8.1 table without the weekly Saturdays and Sundays: every public holiday
 * including those that always fall on a Sunday or Saturday (Easter Day,
 * Pentecost, Midsummer Day, All Saints' Day), plus Christmas Eve and
 * Midsummer Eve. The name strings are static. */
size_t calendar_holidays(int year, struct calendar_holiday *out, size_t cap);

/* When 'day' is one of the holidays above, returns true and, if 'out' is not
 * NULL, fills it (the first by table order when two coincide). */
bool calendar_holiday_on(int32_t day, struct calendar_holiday *out);

/* True when 'day' is an arkipäivä: Monday..Friday and not a holiday above
 * (with both eves counted as non-working). */
bool calendar_is_arkipaiva(int32_t day);

/* As calendar_is_arkipaiva, but Christmas Eve / Midsummer Eve are
 * non-working only when their flag is in 'eves'. */
bool calendar_is_arkipaiva_flags(int32_t day, unsigned eves);

/* The n-th arkipäivä after 'day' (määräaikalaki 2 §: the start day itself
 * never counts; day 1 is the first arkipäivä after it). n must be >= 0;
 * n == 0 returns 'day'. */
int32_t calendar_add_workdays(int32_t day, int n);
int32_t calendar_add_workdays_flags(int32_t day, int n, unsigned eves);

/* The same date number 'n' months later (n may be negative), clamped to the
 * last day of the target month (määräaikalaki 3 §): 2024-11-30 + 3 months =
 * 2025-02-28, 2024-01-31 + 1 month = 2024-02-29. */
int32_t calendar_add_months(int32_t day, int n);

/* Määräaikalaki 5 §: 'day' itself when it is an arkipäivä, else the next
 * arkipäivä. */
int32_t calendar_extend(int32_t day);

#endif
