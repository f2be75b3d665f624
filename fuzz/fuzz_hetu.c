/* fuzz_hetu.c -- libFuzzer target for hetu_check.
 *
 * Feeds arbitrary bytes to hetu_check with a fixed "today" and asserts the
 * module's invariants: the return code is 0 or ERR_PARSE; a rejected code
 * leaves the out-param untouched and always has a reason; an accepted code
 * is 11 bytes whose birth date matches its DDMMYY and century sign, is not
 * after today, whose sex follows the parity of ZZZ, whose temporary flag
 * says ZZZ >= 900, whose check character is hetu_checksum_char's, and which
 * re-checks identically (also through hetu_verdict). Every other century
 * sign of the same century gives the same person data, and a lower-case
 * copy is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "hetu.h"

const char *fuzz_shared_seed_dir(void);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *fuzz_shared_seed_dir(void) { return NULL; }

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x))                                                                  \
      abort();                                                                 \
  } while (0)

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int century_of(char c) {
  if (c == '+')
    return 1800;
  if (strchr("-YXWVU", c) != NULL)
    return 1900;
  return 2000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  int32_t today = chrono_days_from_civil(2026, 1, 15);
  struct hetu_info info, again;
  struct error err;
  int rc;

  memset(&info, 0xA5, sizeof info);
  error_clear(&err);
  rc = hetu_check(s, size, today, &info, &err);
  if (rc != 0) {
    struct hetu_info untouched;
    memset(&untouched, 0xA5, sizeof untouched);
    CHECK(rc == ERR_PARSE);
    CHECK(err.code == ERR_PARSE);
    CHECK(err.msg[0] != '\0');
    CHECK(info.birth_day == untouched.birth_day && info.sex == untouched.sex &&
          memcmp(&info.temporary, &untouched.temporary, 1) == 0);
    CHECK(hetu_verdict(s, size, today) == HETU_INVALID);
    return 0;
  }

  /* accepted: every field agrees with the text */
  {
    int dd = two(s), mm = two(s + 2), yy = two(s + 4);
    int zzz = (s[7] - '0') * 100 + (s[8] - '0') * 10 + (s[9] - '0');
    int y, m, d;
    CHECK(size == HETU_LEN);
    chrono_civil_from_days(info.birth_day, &y, &m, &d);
    CHECK(d == dd && m == mm && y == century_of(s[6]) + yy);
    CHECK(info.birth_day <= today);
    CHECK(zzz >= 2);
    CHECK(info.sex == (zzz % 2 ? 'M' : 'F'));
    CHECK(info.temporary == (zzz >= 900));
    CHECK(hetu_checksum_char(dd, mm, yy, zzz) == s[10]);
    CHECK(hetu_age_years(&info, info.birth_day) == 0);
    CHECK(hetu_age_years(&info, today) >= 0);
    CHECK(hetu_verdict(s, size, today) ==
          (info.temporary ? HETU_TEMPORARY : HETU_VALID));
  }

  /* a copy re-checks identically, and the same century's other signs give
   * the same person data */
  {
    char copy[HETU_LEN + 1];
    const char *same;
    memcpy(copy, s, HETU_LEN);
    copy[HETU_LEN] = '\0';
    CHECK(hetu_check(copy, HETU_LEN, today, &again, NULL) == 0);
    CHECK(again.birth_day == info.birth_day && again.sex == info.sex &&
          again.temporary == info.temporary);
    switch (century_of(s[6])) {
    case 1800:
      same = "+";
      break;
    case 1900:
      same = "-YXWVU";
      break;
    default:
      same = "ABCDEF";
      break;
    }
    for (; *same != '\0'; same++) {
      copy[6] = *same;
      CHECK(hetu_check(copy, HETU_LEN, today, &again, NULL) == 0);
      CHECK(again.birth_day == info.birth_day && again.sex == info.sex &&
            again.temporary == info.temporary);
    }
    /* a lower-case copy is always refused */
    copy[6] = s[6];
    copy[0] = 'a';
    CHECK(hetu_check(copy, HETU_LEN, today, &again, NULL) == ERR_PARSE);
  }
  return 0;
}
