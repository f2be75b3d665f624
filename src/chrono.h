/* chrono.h -- day numbers, UTC instants, Europe/Helsinki local time and HL7
 * timestamps (the "time" module; called chrono so that it cannot shadow the
 * system <time.h>).
 *
 * Two representations, both plain integers:
 *   - a DAY is an int32_t count of days since 1970-01-01 in the proleptic
 *     Gregorian calendar (1970-01-01 is 0, 1969-12-31 is -1). A wait in
 *     calendar days is d_end - d_start (DOMAIN.md Part B §0).
 *   - an INSTANT is an int64_t count of milliseconds since
 *     1970-01-01T00:00:00Z, ignoring leap seconds (POSIX time).
 *
 * Local time is always Europe/Helsinki, read once from the system tz database
 * (CHRONO_ZONEINFO_PATH, a TZif v2+ file: the transition table plus the POSIX
 * TZ footer rule for instants beyond the table, which matters for Debian's
 * "slim" files). When that file is missing or unreadable, the EU rule is used
 * instead: EET (UTC+2) / EEST (UTC+3), summer time from the last Sunday of
 * March 01:00 UTC to the last Sunday of October 01:00 UTC, for all years;
 * chrono_zone_is_system() tells which one is in use.
 *
 * Supported range: day numbers for years -5,000,000..5,000,000; instants for
 * years 0001..9999 (functions that take an instant clamp it to
 * [CHRONO_MS_MIN, CHRONO_MS_MAX]).
 *
 * Thread safety: every function is reentrant; the Helsinki zone is loaded
 * once under pthread_once and is immutable afterwards. A struct chrono_zone
 * is immutable once loaded and may be shared between threads. */
#ifndef TK_CHRONO_H
#define TK_CHRONO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

/* The zone file read for Europe/Helsinki local time. */
#define CHRONO_ZONEINFO_PATH "/usr/share/zoneinfo/Europe/Helsinki"

/* The POSIX TZ rule used when the zone file cannot be read (the EU rule). */
#define CHRONO_FALLBACK_RULE "EET-2EEST,M3.5.0/3,M10.5.0/4"

/* The largest TZif file chrono_zone_load reads. */
#define CHRONO_TZIF_MAX (256 * 1024)

/* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
#define CHRONO_MS_MIN (-62135596800000LL)
#define CHRONO_MS_MAX (253402300799999LL)

#define CHRONO_MS_PER_DAY 86400000LL

/* ---- Day numbers ------------------------------------------------------- */

/* True when 'y' is a Gregorian leap year. */
bool chrono_is_leap(int y);

/* Days in month 'm' (1..12) of year 'y'; 0 when 'm' is out of range. */
int chrono_days_in_month(int y, int m);

/* The day number of y-m-d. 'm' must be 1..12; 'd' is not checked against
 * the month's length (d = 0 is the last day of the previous month, and so
 * on), so validate input dates with chrono_days_in_month first. */
int32_t chrono_days_from_civil(int y, int m, int d);

/* The calendar date of day number 'day'. All three out-params are written. */
void chrono_civil_from_days(int32_t day, int *y, int *m, int *d);

/* ISO weekday of 'day': 1 = Monday .. 7 = Sunday. */
int chrono_weekday(int32_t day);

/* Parses exactly "YYYY-MM-DD" (10 bytes, a real date, years 0000..9999).
 * Returns 0 and sets *out, or ERR_PARSE and leaves *out untouched. */
NODISCARD int chrono_parse_date(const char *s, size_t len, int32_t *out);

/* Writes "YYYY-MM-DD" and a NUL into 'out'. Years outside 0000..9999 are
 * written with as many digits as needed (and a leading '-' when negative),
 * truncated to fit. */
void chrono_format_date(int32_t day, char out[11]);

/* ---- Instants ---------------------------------------------------------- */

/* The current time (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t chrono_now_ms(void);

/* The day number of the UTC date of instant 'ms' (floor division). */
int32_t chrono_utc_date(int64_t ms);

/* Writes "2026-11-23T15:20:01.123Z" (always UTC, always milliseconds) and a
 * NUL into 'out'. 'ms' is clamped to the supported range. */
void chrono_format_iso(int64_t ms, char out[32]);

/* Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 * ('T' may also be 't' or a space, 'Z' may be 'z'; the fraction has 1..9
 * digits and is truncated to milliseconds; a leap second ":60" is refused).
 * Returns 0 and sets *ms, or ERR_PARSE with the reason in 'err' and *ms
 * untouched. */
NODISCARD int chrono_parse_iso(const char *s, size_t len, int64_t *ms,
                               struct error *err);

/* ---- Time zones -------------------------------------------------------- */

/* A loaded time zone: transitions and a POSIX TZ rule. Opaque, immutable. */
struct chrono_zone;

/* Reads the TZif file at 'path' (version 2 or later for the footer rule;
 * a version 1 file is used with its table only). Returns 0 and sets *out
 * (free with chrono_zone_free), ERR_IO when the file cannot be read,
 * ERR_TOOBIG above CHRONO_TZIF_MAX, ERR_PARSE for a malformed file and
 * ERR_UNSUPPORTED for files with leap-second records ("right/" zones); 'err'
 * says why. */
NODISCARD int chrono_zone_load(const char *path, struct chrono_zone **out,
                               struct error *err);

/* Builds a zone from a POSIX TZ rule alone, e.g. CHRONO_FALLBACK_RULE.
 * Returns 0 and sets *out, or ERR_PARSE with the reason. */
NODISCARD int chrono_zone_from_rule(const char *rule, struct chrono_zone **out,
                                    struct error *err);

/* Frees a zone; accepts NULL. Never free chrono_zone_helsinki(). */
void chrono_zone_free(struct chrono_zone *zone);

/* The Europe/Helsinki zone shared by the whole process (loaded on first use;
 * never NULL; owned by the module). */
const struct chrono_zone *chrono_zone_helsinki(void);

/* True when chrono_zone_helsinki() came from CHRONO_ZONEINFO_PATH, false when
 * the built-in CHRONO_FALLBACK_RULE is in use. */
bool chrono_zone_is_system(void);

/* The UTC offset in seconds (local = UTC + offset) of 'zone' at 'ms'. */
int chrono_zone_offset(const struct chrono_zone *zone, int64_t ms);

/* ---- Europe/Helsinki local time --------------------------------------- */

struct chrono_local {
  int32_t day;        /* local calendar date */
  int hour;           /* 0..23 */
  int minute;         /* 0..59 */
  int second;         /* 0..59 */
  int ms;             /* 0..999 */
  int utc_offset_min; /* 120 in winter, 180 in summer */
};

/* Converts instant 'ms' (clamped to the supported range) to local time in
 * 'zone'; chrono_to_local uses Europe/Helsinki. *out is always written. */
void chrono_zone_to_local(const struct chrono_zone *zone, int64_t ms,
                          struct chrono_local *out);
void chrono_to_local(int64_t ms, struct chrono_local *out);

/* The Europe/Helsinki calendar date of instant 'ms'. */
int32_t chrono_local_date(int64_t ms);

/* Today's Europe/Helsinki date. */
int32_t chrono_today(void);

/* The instant of local wall-clock time day h:mi:s.000 in 'zone';
 * chrono_from_local uses Europe/Helsinki. A wall time that occurs twice
 * (the autumn overlap, e.g. 2025-10-26 03:30) yields the EARLIER instant
 * (the summer-time one). A wall time that does not exist (the spring gap,
 * e.g. 2025-03-30 03:30) is shifted forward by the length of the gap
 * (03:30 -> 04:30 EEST = 01:30Z), which is what a clock set before the
 * change shows. Returns 0 and sets *ms, or ERR_RANGE (with *ms untouched)
 * when h, mi or s is out of range (0..23, 0..59, 0..59). */
NODISCARD int chrono_zone_from_local(const struct chrono_zone *zone,
                                     int32_t day, int h, int mi, int s,
                                     int64_t *ms);
NODISCARD int chrono_from_local(int32_t day, int h, int mi, int s, int64_t *ms);

/* ---- HL7 v2 timestamps -------------------------------------------------- */

/* The longest HL7 TS value accepted: "YYYYMMDDHHMMSS.SSSS+ZZZZ". */
#define CHRONO_HL7_TS_MAX 24

/* Parses an HL7 v2 TS/DTM value YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ].
 * Missing parts are the start of the period (month and day 1, time zeros);
 * a fraction of 4 digits is truncated to milliseconds. Without an offset the
 * value is Europe/Helsinki local time (gap and overlap as in
 * chrono_from_local); with one, the offset is applied (+0200 means local =
 * UTC + 2 h). Returns 0 and sets *ms, or ERR_PARSE with the reason in 'err'
 * (the reason names the part, never echoes the value) and *ms untouched. */
NODISCARD int chrono_parse_hl7_ts(const char *s, size_t len, int64_t *ms,
                                  struct error *err);

#endif
