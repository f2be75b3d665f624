/* chrono.c -- day numbers, instants, Europe/Helsinki and HL7 timestamps.
 *
 * Design:
 *   - Civil dates use Howard Hinnant's days_from_civil / civil_from_days
 *     (400-year eras, 64-bit intermediates, so there is no overflow for any
 *     int year in the documented range and no floating point).
 *   - A zone is an ascending table of transitions (UTC seconds -> offset in
 *     effect from then on), the offset before the first transition (TZif
 *     time type 0, RFC 8536 §3.2) and an optional POSIX TZ rule (the TZif
 *     footer) that governs every instant at or after the last transition,
 *     or all instants when the table is empty (slim files, the fallback).
 *   - Wall time -> instant (from_local) tries the offsets in effect a day
 *     before and a day after the wall time; a candidate instant is right if
 *     the zone's offset at it is the one assumed. Two right candidates = the
 *     autumn overlap (take the earlier); none = the spring gap (take the
 *     pre-gap offset, which moves the wall time forward by the gap).
 *     This assumes at most one transition within +-1 day, true of every
 *     real zone.
 *
 * Invariants: transitions strictly ascending; every offset |off| <= 26 h;
 * instants are clamped to [CHRONO_MS_MIN, CHRONO_MS_MAX] before arithmetic,
 * so no signed overflow is possible.
 *
 * Thread safety: the Helsinki zone is created once under pthread_once and
 * never modified or freed afterwards (it stays reachable for the life of the
 * process). chrono_zone_offset keeps a per-thread hint of the last table
 * interval it found (_Thread_local, checked against the zone before use).
 * Everything else is reentrant. */
#include "chrono.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem.h"

#define MAX_OFFSET_S (26 * 3600)
#define TZ_RULE_MAX 128

/* ---- Day numbers ------------------------------------------------------- */

bool chrono_is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int chrono_days_in_month(int y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12)
    return 0;
  if (m == 2 && chrono_is_leap(y))
    return 29;
  return dim[m - 1];
}

static int64_t days_from_civil64(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days64(int64_t z, int64_t *y, int *m, int *d) {
  int64_t era, doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int32_t chrono_days_from_civil(int y, int m, int d) {
  return (int32_t)days_from_civil64(y, m, d);
}

void chrono_civil_from_days(int32_t day, int *y, int *m, int *d) {
  int64_t yy;
  civil_from_days64(day, &yy, m, d);
  *y = (int)yy;
}

int chrono_weekday(int32_t day) {
  int64_t r = ((int64_t)day + 3) % 7; /* 1970-01-01 was a Thursday */
  if (r < 0)
    r += 7;
  return (int)r + 1;
}

/* Reads 'n' decimal digits at s[*pos]; advances *pos. */
static bool take_digits(const char *s, size_t len, size_t *pos, int n,
                        int *out) {
  int v = 0;
  if (*pos + (size_t)n > len)
    return false;
  for (int i = 0; i < n; i++) {
    char c = s[*pos + (size_t)i];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  *pos += (size_t)n;
  *out = v;
  return true;
}

static bool take_char(const char *s, size_t len, size_t *pos, char c) {
  if (*pos >= len || s[*pos] != c)
    return false;
  (*pos)++;
  return true;
}

/* Writes 'v' (>= 0) as exactly 'n' decimal digits. */
static void put_digits(char *p, long long v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

int chrono_parse_date(const char *s, size_t len, int32_t *out) {
  size_t pos = 0;
  int y, m, d;
  if (len != 10 || !take_digits(s, len, &pos, 4, &y) ||
      !take_char(s, len, &pos, '-') || !take_digits(s, len, &pos, 2, &m) ||
      !take_char(s, len, &pos, '-') || !take_digits(s, len, &pos, 2, &d))
    return ERR_PARSE;
  if (m < 1 || m > 12 || d < 1 || d > chrono_days_in_month(y, m))
    return ERR_PARSE;
  *out = chrono_days_from_civil(y, m, d);
  return 0;
}

void chrono_format_date(int32_t day, char out[11]) {
  int y, m, d;
  char tmp[32];
  chrono_civil_from_days(day, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    memcpy(out, "0000-00-00", 11);
    put_digits(out, y, 4);
    put_digits(out + 5, m, 2);
    put_digits(out + 8, d, 2);
    return;
  }
  snprintf(tmp, sizeof tmp, "%d-%02d-%02d", y, m, d);
  memcpy(out, tmp, 10);
  out[10] = '\0';
}

/* ---- Instants ---------------------------------------------------------- */

static int64_t clamp_ms(int64_t ms) {
  if (ms < CHRONO_MS_MIN)
    return CHRONO_MS_MIN;
  if (ms > CHRONO_MS_MAX)
    return CHRONO_MS_MAX;
  return ms;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

int64_t chrono_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int32_t chrono_utc_date(int64_t ms) {
  return (int32_t)floor_div(clamp_ms(ms), CHRONO_MS_PER_DAY);
}

void chrono_format_iso(int64_t ms, char out[32]) {
  int64_t y, day, rem;
  int m, d;
  ms = clamp_ms(ms);
  day = floor_div(ms, CHRONO_MS_PER_DAY);
  rem = ms - day * CHRONO_MS_PER_DAY;
  civil_from_days64(day, &y, &m, &d); /* 1..9999 after the clamp */
  memcpy(out, "0000-00-00T00:00:00.000Z", 25);
  put_digits(out, y, 4);
  put_digits(out + 5, m, 2);
  put_digits(out + 8, d, 2);
  put_digits(out + 11, rem / 3600000, 2);
  put_digits(out + 14, rem / 60000 % 60, 2);
  put_digits(out + 17, rem / 1000 % 60, 2);
  put_digits(out + 20, rem % 1000, 3);
}

/* Instant of a UTC civil time; the caller has validated every field. */
static int64_t utc_ms(int y, int m, int d, int h, int mi, int s, int frac) {
  int64_t day = days_from_civil64(y, m, d);
  return ((day * 86400 + h * 3600 + mi * 60 + s) * 1000) + frac;
}

#define ISO_MAX 40

int chrono_parse_iso(const char *s, size_t len, int64_t *ms,
                     struct error *err) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
  if (len > ISO_MAX)
    return error_set(err, ERR_PARSE, "timestamp longer than %d bytes", ISO_MAX);
  if (!take_digits(s, len, &pos, 4, &y) || !take_char(s, len, &pos, '-') ||
      !take_digits(s, len, &pos, 2, &mo) || !take_char(s, len, &pos, '-') ||
      !take_digits(s, len, &pos, 2, &d))
    return error_set(err, ERR_PARSE,
                     "timestamp: malformed date, expected "
                     "YYYY-MM-DD");
  if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
    return error_set(err, ERR_PARSE, "timestamp: expected 'T' after the date");
  pos++;
  if (!take_digits(s, len, &pos, 2, &h) || !take_char(s, len, &pos, ':') ||
      !take_digits(s, len, &pos, 2, &mi) || !take_char(s, len, &pos, ':') ||
      !take_digits(s, len, &pos, 2, &sec))
    return error_set(err, ERR_PARSE,
                     "timestamp: malformed time, expected "
                     "HH:MM:SS");
  if (pos < len && s[pos] == '.') {
    int ndig = 0;
    pos++;
    while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
      if (ndig < 3)
        frac = frac * 10 + (s[pos] - '0');
      ndig++;
      pos++;
    }
    if (ndig == 0 || ndig > 9)
      return error_set(err, ERR_PARSE,
                       "timestamp: fraction must have 1 to 9 digits");
    for (int i = ndig; i < 3; i++)
      frac *= 10;
  }
  if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
    pos++;
  } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1, oh, om;
    pos++;
    if (!take_digits(s, len, &pos, 2, &oh) || !take_char(s, len, &pos, ':') ||
        !take_digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
      return error_set(err, ERR_PARSE,
                       "timestamp: malformed offset, expected +HH:MM");
    off = sign * (oh * 3600 + om * 60);
  } else {
    return error_set(err, ERR_PARSE,
                     "timestamp: missing time zone ('Z' or +HH:MM)");
  }
  if (pos != len)
    return error_set(err, ERR_PARSE, "timestamp: trailing bytes at offset %zu",
                     pos);
  if (mo < 1 || mo > 12 || d < 1 || d > chrono_days_in_month(y, mo))
    return error_set(err, ERR_PARSE, "timestamp: date does not exist");
  if (y < 1)
    return error_set(err, ERR_PARSE, "timestamp: year 0000 not supported");
  if (h > 23 || mi > 59)
    return error_set(err, ERR_PARSE, "timestamp: time out of range");
  if (sec > 59)
    return error_set(err, ERR_PARSE,
                     sec == 60 ? "timestamp: leap second not supported"
                               : "timestamp: seconds out of range");
  *ms = utc_ms(y, mo, d, h, mi, sec, frac) - (int64_t)off * 1000;
  return 0;
}

/* ---- POSIX TZ rules ---------------------------------------------------- */

enum when_kind { WHEN_MONTH, WHEN_JULIAN1, WHEN_JULIAN0 };

struct when {
  enum when_kind kind;
  int month, week, wday; /* Mm.w.d */
  int n;                 /* Jn (1..365) or n (0..365) */
  int time;              /* seconds after local midnight; may be < 0 */
};

struct posix_rule {
  int std_off; /* seconds east of UTC */
  int dst_off;
  bool has_dst;
  struct when start, end;
};

struct chrono_zone {
  size_t count;  /* transitions */
  int64_t *at;   /* UTC seconds, strictly ascending */
  int *off;      /* offset in effect from at[i] */
  int first_off; /* offset before at[0] */
  bool has_rule;
  struct posix_rule rule;
};

/* A TZ designation: <...> or three or more letters. */
static bool rule_name(const char **p) {
  const char *s = *p;
  size_t n = 0;
  if (*s == '<') {
    s++;
    while (*s != '\0' && *s != '>') {
      s++;
      n++;
    }
    if (*s != '>' || n < 3)
      return false;
    *p = s + 1;
    return true;
  }
  while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
    s++;
    n++;
  }
  if (n < 3)
    return false;
  *p = s;
  return true;
}

static bool rule_num(const char **p, int max, int *out) {
  const char *s = *p;
  int v = 0, n = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s - '0');
    if (v > max)
      return false;
    s++;
    n++;
  }
  if (n == 0)
    return false;
  *p = s;
  *out = v;
  return true;
}

/* [+-]hh[:mm[:ss]] with hours up to 'maxh'; seconds into *out. */
static bool rule_time(const char **p, int maxh, int *out) {
  const char *s = *p;
  int sign = 1, h, m = 0, sec = 0;
  if (*s == '+' || *s == '-') {
    sign = *s == '-' ? -1 : 1;
    s++;
  }
  if (!rule_num(&s, maxh, &h))
    return false;
  if (*s == ':') {
    s++;
    if (!rule_num(&s, 59, &m))
      return false;
    if (*s == ':') {
      s++;
      if (!rule_num(&s, 59, &sec))
        return false;
    }
  }
  *p = s;
  *out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

static bool rule_when(const char **p, struct when *w) {
  const char *s = *p;
  if (*s == 'M') {
    s++;
    w->kind = WHEN_MONTH;
    if (!rule_num(&s, 12, &w->month) || w->month < 1 || *s++ != '.' ||
        !rule_num(&s, 5, &w->week) || w->week < 1 || *s++ != '.' ||
        !rule_num(&s, 6, &w->wday))
      return false;
  } else if (*s == 'J') {
    s++;
    w->kind = WHEN_JULIAN1;
    if (!rule_num(&s, 365, &w->n) || w->n < 1)
      return false;
  } else {
    w->kind = WHEN_JULIAN0;
    if (!rule_num(&s, 365, &w->n))
      return false;
  }
  w->time = 2 * 3600;
  if (*s == '/') {
    s++;
    if (!rule_time(&s, 167, &w->time)) /* RFC 8536 §3.3.1 extension */
      return false;
  }
  *p = s;
  return true;
}

static int parse_rule(const char *text, struct posix_rule *out,
                      struct error *err) {
  const char *s = text;
  struct posix_rule r;
  int off;
  memset(&r, 0, sizeof r);
  if (!rule_name(&s) || !rule_time(&s, 24, &off))
    return error_set(err, ERR_PARSE, "bad standard time in tz rule '%s'", text);
  r.std_off = -off; /* POSIX offsets are west of UTC */
  if (*s != '\0') {
    if (!rule_name(&s))
      return error_set(err, ERR_PARSE, "bad summer time name in tz rule '%s'",
                       text);
    r.has_dst = true;
    r.dst_off = r.std_off + 3600;
    if (*s != ',' && *s != '\0') {
      if (!rule_time(&s, 24, &off))
        return error_set(err, ERR_PARSE,
                         "bad summer time offset in tz rule '%s'", text);
      r.dst_off = -off;
    }
    if (*s != ',' || (s++, !rule_when(&s, &r.start)) || *s != ',' ||
        (s++, !rule_when(&s, &r.end)))
      return error_set(err, ERR_PARSE, "bad transition rule in tz rule '%s'",
                       text);
  }
  if (*s != '\0')
    return error_set(err, ERR_PARSE, "trailing bytes in tz rule '%s'", text);
  if (r.std_off < -MAX_OFFSET_S || r.std_off > MAX_OFFSET_S ||
      r.dst_off < -MAX_OFFSET_S || r.dst_off > MAX_OFFSET_S)
    return error_set(err, ERR_PARSE, "offset out of range in tz rule '%s'",
                     text);
  *out = r;
  return 0;
}

/* Local-standard-time seconds (since the epoch, as if local were UTC) at
 * which transition 'w' happens in year 'y'. */
static int64_t when_local(const struct when *w, int64_t y) {
  int64_t day;
  if (w->kind == WHEN_MONTH) {
    int64_t first = days_from_civil64(y, w->month, 1);
    int wd0 = chrono_weekday((int32_t)first) % 7; /* 0 = Sunday */
    int dim = chrono_days_in_month((int)y, w->month);
    day = first + (w->wday - wd0 + 7) % 7 + (int64_t)(w->week - 1) * 7;
    while (day >= first + dim)
      day -= 7;
  } else if (w->kind == WHEN_JULIAN1) {
    day = days_from_civil64(y, 1, 1) + w->n - 1;
    if (chrono_is_leap((int)y) && w->n >= 60)
      day++;
  } else {
    day = days_from_civil64(y, 1, 1) + w->n;
  }
  return day * 86400 + w->time;
}

static int rule_offset(const struct posix_rule *r, int64_t t) {
  int64_t y, start, end;
  int m, d;
  bool dst;
  if (!r->has_dst)
    return r->std_off;
  civil_from_days64(floor_div(t + r->std_off, 86400), &y, &m, &d);
  /* Start is given in standard time, end in summer time. */
  start = when_local(&r->start, y) - r->std_off;
  end = when_local(&r->end, y) - r->dst_off;
  if (start < end)
    dst = t >= start && t < end;
  else
    dst = !(t >= end && t < start);
  return dst ? r->dst_off : r->std_off;
}

/* ---- Zones ------------------------------------------------------------- */

void chrono_zone_free(struct chrono_zone *zone) {
  if (zone == NULL)
    return;
  mem_free(zone->at);
  mem_free(zone->off);
  mem_free(zone);
}

int chrono_zone_from_rule(const char *rule, struct chrono_zone **out,
                          struct error *err) {
  struct posix_rule r;
  struct chrono_zone *z;
  int rc = parse_rule(rule, &r, err);
  if (rc != 0)
    return rc;
  z = mem_calloc(1, sizeof *z);
  z->has_rule = true;
  z->rule = r;
  z->first_off = r.std_off;
  *out = z;
  return 0;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chr;
};

#define TZIF_HEADER 44

static int tzif_header(const unsigned char *p, size_t len,
                       struct tzif_counts *c, struct error *err,
                       const char *path) {
  if (len < TZIF_HEADER || memcmp(p, "TZif", 4) != 0)
    return error_set(err, ERR_PARSE, "not a TZif file '%s'", path);
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chr = be32(p + 40);
  if (c->type == 0 || c->type > 256 || c->chr == 0 ||
      (c->isut != 0 && c->isut != c->type) ||
      (c->isstd != 0 && c->isstd != c->type) || c->time > len || c->chr > len ||
      c->leap > len)
    return error_set(err, ERR_PARSE, "bad TZif header in '%s'", path);
  return 0;
}

static size_t tzif_data_len(const struct tzif_counts *c, size_t tsize) {
  return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chr +
         (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int parse_tzif(const unsigned char *buf, size_t len, const char *path,
                      struct chrono_zone **out, struct error *err) {
  struct tzif_counts c;
  const unsigned char *data, *types, *ttinfo;
  size_t tsize = 4, dlen;
  struct chrono_zone *z = NULL;
  int rc;
  char version;

  rc = tzif_header(buf, len, &c, err, path);
  if (rc != 0)
    return rc;
  version = (char)buf[4];
  dlen = tzif_data_len(&c, 4);
  if (TZIF_HEADER + dlen > len)
    return error_set(err, ERR_PARSE, "truncated TZif file '%s'", path);
  data = buf + TZIF_HEADER;
  if (version >= '2') {
    const unsigned char *h2 = data + dlen;
    size_t left = len - TZIF_HEADER - dlen;
    rc = tzif_header(h2, left, &c, err, path);
    if (rc != 0)
      return rc;
    tsize = 8;
    dlen = tzif_data_len(&c, 8);
    if (TZIF_HEADER + dlen > left)
      return error_set(err, ERR_PARSE, "truncated TZif file '%s'", path);
    data = h2 + TZIF_HEADER;
  }
  if (c.leap != 0)
    return error_set(err, ERR_UNSUPPORTED,
                     "leap-second TZif file '%s' not supported", path);

  z = mem_calloc(1, sizeof *z);
  types = data + (size_t)c.time * tsize;
  ttinfo = types + c.time;
  for (uint32_t i = 0; i < c.type; i++) {
    int32_t o = (int32_t)be32(ttinfo + (size_t)i * 6);
    if (o < -MAX_OFFSET_S || o > MAX_OFFSET_S ||
        ttinfo[(size_t)i * 6 + 5] >= c.chr) {
      rc = error_set(err, ERR_PARSE, "bad time type in '%s'", path);
      goto out;
    }
  }
  z->first_off = (int32_t)be32(ttinfo);
  if (c.time > 0) {
    z->at = mem_alloc(c.time * sizeof *z->at);
    z->off = mem_alloc(c.time * sizeof *z->off);
  }
  for (uint32_t i = 0; i < c.time; i++) {
    int64_t t = tsize == 8 ? be64(data + (size_t)i * 8)
                           : (int64_t)(int32_t)be32(data + (size_t)i * 4);
    if (types[i] >= c.type || (i > 0 && t <= z->at[i - 1])) {
      rc = error_set(err, ERR_PARSE, "bad transition table in '%s'", path);
      goto out;
    }
    z->at[i] = t;
    z->off[i] = (int32_t)be32(ttinfo + (size_t)types[i] * 6);
    z->count = i + 1;
  }
  if (version >= '2') {
    const unsigned char *f = data + dlen, *end = buf + len, *nl;
    char text[TZ_RULE_MAX];
    size_t n;
    if (f >= end || *f != '\n') {
      rc = error_set(err, ERR_PARSE, "missing TZif footer in '%s'", path);
      goto out;
    }
    f++;
    nl = memchr(f, '\n', (size_t)(end - f));
    if (nl == NULL || (n = (size_t)(nl - f)) >= sizeof text) {
      rc = error_set(err, ERR_PARSE, "bad TZif footer in '%s'", path);
      goto out;
    }
    memcpy(text, f, n);
    text[n] = '\0';
    if (n > 0) {
      rc = parse_rule(text, &z->rule, err);
      if (rc != 0)
        goto out;
      z->has_rule = true;
    }
  }
  *out = z;
  z = NULL;
  rc = 0;
out:
  chrono_zone_free(z);
  return rc;
}

int chrono_zone_load(const char *path, struct chrono_zone **out,
                     struct error *err) {
  FILE *f = NULL;
  unsigned char *buf = NULL;
  size_t n;
  int rc;
  f = fopen(path, "rb");
  if (f == NULL)
    return error_set(err, ERR_IO, "cannot open '%s'", path);
  buf = mem_alloc(CHRONO_TZIF_MAX + 1);
  n = fread(buf, 1, CHRONO_TZIF_MAX + 1, f);
  if (ferror(f)) {
    rc = error_set(err, ERR_IO, "cannot read '%s'", path);
    goto out;
  }
  if (n > CHRONO_TZIF_MAX) {
    rc = error_set(err, ERR_TOOBIG, "TZif file '%s' larger than %d bytes", path,
                   CHRONO_TZIF_MAX);
    goto out;
  }
  rc = parse_tzif(buf, n, path, out, err);
out:
  mem_free(buf);
  fclose(f);
  return rc;
}

/* The calling thread's last table interval: zone->at[i] <= t < at[i + 1].
 * Only a hint: it is used after checking those bounds against the zone in
 * hand, so it answers exactly as the search would, whatever zone it was
 * last set for. HL7 timestamps of one message, and of consecutive messages,
 * mostly fall into the same interval. */
static _Thread_local struct {
  const struct chrono_zone *zone;
  size_t i;
} last_interval;

int chrono_zone_offset(const struct chrono_zone *zone, int64_t ms) {
  int64_t t = floor_div(clamp_ms(ms), 1000);
  size_t lo, hi;
  if (last_interval.zone == zone && last_interval.i + 1 < zone->count &&
      zone->at[last_interval.i] <= t && t < zone->at[last_interval.i + 1])
    return zone->off[last_interval.i];
  if (zone->count == 0)
    return zone->has_rule ? rule_offset(&zone->rule, t) : zone->first_off;
  if (t < zone->at[0])
    return zone->first_off;
  if (t >= zone->at[zone->count - 1] && zone->has_rule)
    return rule_offset(&zone->rule, t);
  /* Largest i with at[i] <= t. */
  lo = 0;
  hi = zone->count;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (zone->at[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  last_interval.zone = zone;
  last_interval.i = lo;
  return zone->off[lo];
}

static pthread_once_t helsinki_once = PTHREAD_ONCE_INIT;
static struct chrono_zone *helsinki;
static bool helsinki_system;

static void helsinki_init(void) {
  struct chrono_zone *z = NULL;
  if (chrono_zone_load(CHRONO_ZONEINFO_PATH, &z, NULL) == 0) {
    helsinki_system = true;
  } else if (chrono_zone_from_rule(CHRONO_FALLBACK_RULE, &z, NULL) != 0) {
    /* The built-in rule is a constant known to parse. */
    z = mem_calloc(1, sizeof *z);
    z->first_off = 7200;
  }
  helsinki = z;
}

const struct chrono_zone *chrono_zone_helsinki(void) {
  pthread_once(&helsinki_once, helsinki_init);
  return helsinki;
}

bool chrono_zone_is_system(void) {
  pthread_once(&helsinki_once, helsinki_init);
  return helsinki_system;
}

/* ---- Local time -------------------------------------------------------- */

void chrono_zone_to_local(const struct chrono_zone *zone, int64_t ms,
                          struct chrono_local *out) {
  int off, rem;
  int64_t local, day;
  ms = clamp_ms(ms);
  off = chrono_zone_offset(zone, ms);
  local = ms + (int64_t)off * 1000;
  day = floor_div(local, CHRONO_MS_PER_DAY);
  rem = (int)(local - day * CHRONO_MS_PER_DAY);
  out->day = (int32_t)day;
  out->hour = rem / 3600000;
  out->minute = rem / 60000 % 60;
  out->second = rem / 1000 % 60;
  out->ms = rem % 1000;
  out->utc_offset_min = off / 60;
}

void chrono_to_local(int64_t ms, struct chrono_local *out) {
  chrono_zone_to_local(chrono_zone_helsinki(), ms, out);
}

int32_t chrono_local_date(int64_t ms) {
  struct chrono_local l;
  chrono_to_local(ms, &l);
  return l.day;
}

int32_t chrono_today(void) { return chrono_local_date(chrono_now_ms()); }

int chrono_zone_from_local(const struct chrono_zone *zone, int32_t day, int h,
                           int mi, int s, int64_t *ms) {
  int64_t wall, a, b;
  int o1, o2;
  bool ok_a, ok_b;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
    return ERR_RANGE;
  wall = ((int64_t)day * 86400 + h * 3600 + mi * 60 + s) * 1000;
  o1 = chrono_zone_offset(zone, wall - CHRONO_MS_PER_DAY);
  o2 = chrono_zone_offset(zone, wall + CHRONO_MS_PER_DAY);
  a = wall - (int64_t)o1 * 1000;
  b = wall - (int64_t)o2 * 1000;
  ok_a = chrono_zone_offset(zone, a) == o1;
  ok_b = chrono_zone_offset(zone, b) == o2;
  if (ok_a && ok_b)
    *ms = a < b ? a : b; /* overlap: the earlier instant */
  else if (ok_b)
    *ms = b;
  else
    *ms = a; /* valid, or the gap: pre-gap offset moves the time forward */
  return 0;
}

int chrono_from_local(int32_t day, int h, int mi, int s, int64_t *ms) {
  return chrono_zone_from_local(chrono_zone_helsinki(), day, h, mi, s, ms);
}

/* ---- HL7 timestamps ---------------------------------------------------- */

int chrono_parse_hl7_ts(const char *s, size_t len, int64_t *ms,
                        struct error *err) {
  size_t pos = 0, ndig = 0;
  int v[6] = {0, 1, 1, 0, 0, 0}; /* year month day hour minute second */
  int frac = 0, off = 0;
  bool has_off = false;
  int64_t result;

  if (len == 0)
    return error_set(err, ERR_PARSE, "hl7 timestamp: empty");
  if (len > CHRONO_HL7_TS_MAX)
    return error_set(err, ERR_PARSE, "hl7 timestamp: longer than %d bytes",
                     CHRONO_HL7_TS_MAX);
  while (pos < len && s[pos] >= '0' && s[pos] <= '9')
    pos++;
  ndig = pos;
  if (ndig < 4 || ndig > 14 || ndig % 2 != 0)
    return error_set(err, ERR_PARSE,
                     "hl7 timestamp: %zu digits, expected 4, 6, 8, 10, 12 "
                     "or 14",
                     ndig);
  for (size_t i = 0, k = 0; i < ndig; k++) {
    size_t w = k == 0 ? 4 : 2, p = i;
    int val;
    if (!take_digits(s, len, &p, (int)w, &val))
      return error_set(err, ERR_PARSE, "hl7 timestamp: malformed");
    v[k] = val;
    i += w;
  }
  if (pos < len && s[pos] == '.') {
    int nf = 0;
    if (ndig != 14)
      return error_set(err, ERR_PARSE,
                       "hl7 timestamp: fraction without seconds");
    pos++;
    while (pos < len && s[pos] >= '0' && s[pos] <= '9' && nf < 5) {
      if (nf < 3)
        frac = frac * 10 + (s[pos] - '0');
      nf++;
      pos++;
    }
    if (nf == 0 || nf > 4)
      return error_set(err, ERR_PARSE,
                       "hl7 timestamp: fraction must have 1 to 4 digits");
    for (int i = nf; i < 3; i++)
      frac *= 10;
  }
  if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1, oh, om;
    pos++;
    if (!take_digits(s, len, &pos, 2, &oh) ||
        !take_digits(s, len, &pos, 2, &om))
      return error_set(err, ERR_PARSE,
                       "hl7 timestamp: offset must be +ZZZZ or -ZZZZ");
    if (oh > 18 || om > 59 || (oh == 18 && om > 0))
      return error_set(err, ERR_PARSE, "hl7 timestamp: offset out of range");
    off = sign * (oh * 3600 + om * 60);
    has_off = true;
  }
  if (pos != len)
    return error_set(err, ERR_PARSE,
                     "hl7 timestamp: unexpected byte at offset %zu", pos);
  if (v[0] < 1)
    return error_set(err, ERR_PARSE, "hl7 timestamp: year 0000");
  if (v[1] < 1 || v[1] > 12)
    return error_set(err, ERR_PARSE, "hl7 timestamp: month out of range");
  if (v[2] < 1 || v[2] > chrono_days_in_month(v[0], v[1]))
    return error_set(err, ERR_PARSE, "hl7 timestamp: day does not exist");
  if (v[3] > 23)
    return error_set(err, ERR_PARSE, "hl7 timestamp: hour out of range");
  if (v[4] > 59)
    return error_set(err, ERR_PARSE, "hl7 timestamp: minute out of range");
  if (v[5] > 59)
    return error_set(err, ERR_PARSE, "hl7 timestamp: second out of range");
  if (has_off) {
    result =
        utc_ms(v[0], v[1], v[2], v[3], v[4], v[5], frac) - (int64_t)off * 1000;
  } else {
    int32_t day = chrono_days_from_civil(v[0], v[1], v[2]);
    if (chrono_from_local(day, v[3], v[4], v[5], &result) != 0)
      return error_set(err, ERR_PARSE, "hl7 timestamp: time out of range");
    result += frac;
  }
  *ms = result;
  return 0;
}
