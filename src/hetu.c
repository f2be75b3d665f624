/* hetu.c -- Finnish personal identity code validation.
 *
 * Design: one pass of structural checks in a fixed order (length, case,
 * digits, century sign, individual number, check character alphabet), then
 * the semantic checks (real date, not in the future, ZZZ >= 002, checksum).
 * The first failure wins, so every invalid code has exactly one reason.
 *
 * Invariants: 0 is returned only for 11-byte codes whose date exists, is
 * not after 'today', whose ZZZ is 002..999 and whose check character
 * matches; out->temporary == (ZZZ >= 900); out->sex follows ZZZ parity.
 *
 * Thread safety: no state; pure and reentrant. */
#include "hetu.h"

#include <stdio.h>

#include "chrono.h"

/* 31 characters: G, I, O, Q and Z are not used. */
static const char check_chars[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
#define NCHECK (sizeof check_chars - 1)

char hetu_checksum_char(int dd, int mm, int yy, int zzz) {
  long n;
  if (dd < 0 || dd > 99 || mm < 0 || mm > 99 || yy < 0 || yy > 99 || zzz < 0 ||
      zzz > 999)
    return '\0';
  n = ((long)dd * 10000 + mm * 100 + yy) * 1000 + zzz;
  return check_chars[n % (long)NCHECK];
}

char hetu_century_sign(int year) {
  if (year >= 1800 && year <= 1899)
    return '+';
  if (year >= 1900 && year <= 1999)
    return '-';
  if (year >= 2000 && year <= 2099)
    return 'A';
  return '\0';
}

/* The century of sign 'c', or 0 when 'c' is not a sign. */
static int century(char c) {
  switch (c) {
  case '+':
    return 1800;
  case '-':
  case 'Y':
  case 'X':
  case 'W':
  case 'V':
  case 'U':
    return 1900;
  case 'A':
  case 'B':
  case 'C':
  case 'D':
  case 'E':
  case 'F':
    return 2000;
  default:
    return 0;
  }
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_check_char(char c) {
  for (size_t i = 0; i < NCHECK; i++)
    if (check_chars[i] == c)
      return true;
  return false;
}

/* 'c' as "'G'" or "'\x07'" for a message. */
static const char *show(char c, char buf[8]) {
  unsigned char u = (unsigned char)c;
  if (u >= 0x20 && u < 0x7f)
    snprintf(buf, 8, "'%c'", c);
  else
    snprintf(buf, 8, "'\\x%02X'", u);
  return buf;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

int hetu_check(const char *s, size_t len, int32_t today, struct hetu_info *out,
               struct error *err) {
  char b[8];
  int dd, mm, yy, year, zzz;
  int32_t birth;
  char want;

  if (len != HETU_LEN)
    return error_set(err, ERR_PARSE, "length %zu, expected %d", len, HETU_LEN);
  for (size_t i = 0; i < HETU_LEN; i++)
    if (s[i] >= 'a' && s[i] <= 'z')
      return error_set(err, ERR_PARSE, "lower case");
  for (size_t i = 0; i < 6; i++)
    if (!is_digit(s[i]))
      return error_set(err, ERR_PARSE, "birth date not digits");
  if (century(s[6]) == 0)
    return error_set(err, ERR_PARSE, "separator %s", show(s[6], b));
  for (size_t i = 7; i < 10; i++) {
    if (s[i] >= 'A' && s[i] <= 'Z')
      return error_set(err, ERR_PARSE, "letter %s in the individual number",
                       show(s[i], b));
    if (!is_digit(s[i]))
      return error_set(err, ERR_PARSE, "individual number not digits");
  }
  if (!is_check_char(s[10]))
    return error_set(err, ERR_PARSE, "check character %s not allowed",
                     show(s[10], b));

  dd = num(s, 2);
  mm = num(s + 2, 2);
  yy = num(s + 4, 2);
  zzz = num(s + 7, 3);
  year = century(s[6]) + yy;
  if (mm < 1 || mm > 12 || dd < 1 || dd > chrono_days_in_month(year, mm))
    return error_set(err, ERR_PARSE, "date %02d.%02d.%04d does not exist", dd,
                     mm, year);
  birth = chrono_days_from_civil(year, mm, dd);
  if (birth > today)
    return error_set(err, ERR_PARSE, "birth date in the future");
  if (zzz < 2)
    return error_set(err, ERR_PARSE, "individual number %03d", zzz);
  want = hetu_checksum_char(dd, mm, yy, zzz);
  if (s[10] != want)
    return error_set(err, ERR_PARSE, "checksum (expected %c)", want);

  if (out != NULL) {
    out->birth_day = birth;
    out->sex = zzz % 2 == 1 ? 'M' : 'F';
    out->temporary = zzz >= 900;
  }
  return 0;
}

enum hetu_verdict hetu_verdict(const char *s, size_t len, int32_t today) {
  struct hetu_info info;
  if (hetu_check(s, len, today, &info, NULL) != 0)
    return HETU_INVALID;
  return info.temporary ? HETU_TEMPORARY : HETU_VALID;
}

int hetu_age_years(const struct hetu_info *info, int32_t on_day) {
  int by, bm, bd, y, m, d, age;
  chrono_civil_from_days(info->birth_day, &by, &bm, &bd);
  chrono_civil_from_days(on_day, &y, &m, &d);
  age = y - by;
  if (m < bm || (m == bm && d < bd))
    age--;
  return age;
}
