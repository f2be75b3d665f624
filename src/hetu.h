/* hetu.h -- Finnish personal identity code (henkilötunnus) validation
 * (DOMAIN.md Part B §7).
 *
 * Format DDMMYYCZZZQ: birth date, century sign C ('+' 1800s; '-', Y, X, W,
 * V, U 1900s; A, B, C, D, E, F 2000s), individual number ZZZ (002..899
 * permanent, 900..999 temporary; odd = male, even = female for the codes
 * issued so far) and check character Q = "0123456789ABCDEFHJKLMNPRSTUVWXY"
 * [DDMMYYZZZ mod 31]. The century sign is part of the identity but does not
 * enter the checksum. Validation is strict: exactly 11 bytes, upper case
 * only (no normalisation), a real Gregorian date not after 'today', ZZZ >=
 * 002, the right check character.
 *
 * Sex follows the parity of ZZZ, which holds for the codes issued so far;
 * the announced gender-neutral codes (from 2027, DOMAIN.md §7.1, [U]) would
 * break it, so do not rely on 'sex' for codes issued after such a change.
 *
 * Privacy: error messages never contain the code itself; they name the
 * failing part (and at most the offending character or the impossible date).
 *
 * Pure: no I/O, no state; every function is thread-safe. */
#ifndef TK_HETU_H
#define TK_HETU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define HETU_LEN 11

enum hetu_verdict { HETU_VALID, HETU_TEMPORARY, HETU_INVALID };

struct hetu_info {
  int32_t birth_day; /* chrono day number of the birth date */
  char sex;          /* 'M' (odd ZZZ) or 'F' (even ZZZ); see above */
  bool temporary;    /* ZZZ 900..999: not a permanent identity */
};

/* Checks the 'len' bytes at 's' (no NUL needed) against the rules, with
 * 'today' (a chrono day number, normally chrono_today()) as the latest
 * possible birth date. Returns 0 when the code is valid or temporary (then
 * *out, when not NULL, is filled and out->temporary tells which), or
 * ERR_PARSE when it is invalid: *out is untouched and 'err' (may be NULL)
 * gets the first failing rule, one of
 *   "length N, expected 11", "lower case", "birth date not digits",
 *   "separator 'G'", "letter 'O' in the individual number",
 *   "individual number not digits", "check character 'Z' not allowed",
 *   "date 29.02.2001 does not exist", "birth date in the future",
 *   "individual number 001", "checksum (expected T)".
 * Non-printable bytes are shown as \xNN. */
NODISCARD int hetu_check(const char *s, size_t len, int32_t today,
                         struct hetu_info *out, struct error *err);

/* The verdict alone (HETU_VALID, HETU_TEMPORARY or HETU_INVALID). */
enum hetu_verdict hetu_verdict(const char *s, size_t len, int32_t today);

/* The check character for birth date dd.mm.yy and individual number zzz
 * (the century is irrelevant). Returns '\0' when an argument is outside
 * dd 0..99, mm 0..99, yy 0..99, zzz 0..999; the date is not validated. */
char hetu_checksum_char(int dd, int mm, int yy, int zzz);

/* The century sign for a birth year: '+' 1800..1899, '-' 1900..1999, 'A'
 * 2000..2099 (the original signs); '\0' outside 1800..2099. */
char hetu_century_sign(int year);

/* Completed years of age on 'on_day' (negative when 'on_day' is before the
 * birth). Someone born on 29 February turns a year older on 1 March in
 * common years. */
int hetu_age_years(const struct hetu_info *info, int32_t on_day);

#endif
