/* test_adt.c -- ADT messages to canonical episode events: units and beds
 * through the channel's locations, identity codes checked and pseudonymised,
 * event times, flags, ready for transfer, and errors naming segment and
 * field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adt.h"
#include "chrono.h"
#include "hl7.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"

static const char org_json[] =
    "{\"id\":\"t\",\"name\":{\"fi\":\"T\"},\"units\":["
    "{\"id\":\"t\",\"type\":\"county\",\"name\":{\"fi\":\"T\"}},"
    "{\"id\":\"t-h\",\"type\":\"hospital\",\"parent\":\"t\",\"name\":{\"fi\":"
    "\"H\"}},"
    "{\"id\":\"t-a\",\"type\":\"ward\",\"parent\":\"t-h\",\"beds\":[\"1\","
    "\"2\"],\"name\":{\"fi\":\"A\"}},"
    "{\"id\":\"t-b\",\"type\":\"ward\",\"parent\":\"t-h\",\"beds\":[\"1\"],"
    "\"name\":{\"fi\":\"B\"}}],"
    "\"channels\":[{\"id\":\"c\",\"type\":\"hl7v2\",\"sender\":{"
    "\"application\":\"APP\",\"facility\":\"FAC\"},\"locations\":{\"WA\":\"t-"
    "a\",\"WB\":\"t-b\"},\"ready_for_transfer\":{\"segment\":\"ZTK\","
    "\"field\":1,\"value\":\"Y\"}}]}";

struct fx {
  struct org *org;
  struct privacy_keys *keys;
  char dir[64];
};

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  char path[128];
  strcpy(f->dir, "/tmp/tk-adt-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(path, sizeof path, "%s/keys", f->dir);
  if (privacy_keyfile_create(path, &err) < 0 ||
      privacy_keys_load(path, &f->keys, &err) < 0 ||
      org_load_json(org_json, strlen(org_json), &f->org, &err) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/keys", f->dir);
  unlink(path);
  rmdir(f->dir);
  privacy_keys_free(f->keys);
  org_free(f->org);
  mem_free(f);
  return 0;
}

/* Maps 'text' (segments separated by \r); returns adt_map's code. */
static int map(struct fx *f, const char *text, struct adt_result *r,
               struct adt_error *e) {
  static struct hl7_msg msg; /* large; the tests run one at a time */
  struct hl7_error herr;
  const struct org_channel *ch = org_channel_find(f->org, "c");
  assert_int_equal(hl7_parse(text, strlen(text), &msg, &herr), 0);
  memset(e, 0, sizeof *e);
  return adt_map(&msg, f->org, ch, f->keys, chrono_now_ms(), r, e);
}

#define MSH(trig, id)                                                          \
  "MSH|^~\\&|APP|FAC|TK|TK|20261120080000||ADT^" trig "|" id "|P|2.5\r"

static void test_admit(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  char want[33];
  int64_t t;
  assert_int_equal(
      map(f,
          MSH("A01", "M1") "EVN|A01|20261120080500||||20261120080000\r"
                           "PID|1||131052-308T^^^1.2.246.21^NNFIN||Testi^"
                           "Potilas\r"
                           "PV1|1|I|WA^^2|E|||||||||||||||V1\r",
          &r, &e),
      0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_ADMITTED);
  assert_string_equal(r.ev[0].unit, "t-a");
  assert_string_equal(r.ev[0].attrs.bed, "2");
  assert_string_equal(r.ev[0].channel, "c");
  assert_string_equal(r.ev[0].source_key, "M1");
  assert_string_equal(r.ev[0].attrs.patient_class, "I");
  /* EVN-6 (occurred) wins over EVN-2 (recorded); Helsinki local time */
  assert_int_equal(chrono_parse_hl7_ts("20261120080000", 14, &t, NULL), 0);
  assert_int_equal(r.ev[0].occurred_at, t);
  /* the identity code is replaced by its pseudonym, never kept */
  privacy_pseudonym(f->keys, "person", "131052-308T", 11, want);
  assert_string_equal(r.ev[0].subject, want);
  assert_int_equal(strlen(r.ev[0].episode), 32);
  assert_string_not_equal(r.ev[0].episode, r.ev[0].subject);
  /* 13.10.1952, female: 74 on 20.11.2026 -> band 70 */
  assert_int_equal(r.ev[0].attrs.age_band, 70);
  assert_int_equal(r.ev[0].attrs.sex, 'F');
  assert_true(r.flags & EVENT_F_EMERGENCY);
  assert_false(r.flags & EVENT_F_UNVERIFIED_ID);
}

static void test_invalid_code_kept_unverified(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  char want[33];
  assert_int_equal(map(f,
                       MSH("A01", "M2") "EVN|A01|20261120080000\r"
                                        "PID|1||131052-308U||X^Y||19521013|M\r"
                                        "PV1|1|I|WA^^1||||||||||||||||V2\r",
                       &r, &e),
                   0);
  assert_true(r.flags & EVENT_F_UNVERIFIED_ID);
  assert_true(r.ev[0].attrs.flags & EVENT_F_UNVERIFIED_ID);
  /* pseudonymised as given; age and sex from PID-7/PID-8 */
  privacy_pseudonym(f->keys, "person", "131052-308U", 11, want);
  assert_string_equal(r.ev[0].subject, want);
  assert_int_equal(r.ev[0].attrs.sex, 'M');
  assert_int_equal(r.ev[0].attrs.age_band, 70);
}

static void test_transfer_and_pending(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  /* A02: PV1-3 the new place, PV1-6 the one left; the point of care may
   * carry subcomponents */
  assert_int_equal(
      map(f,
          MSH("A02", "M3") "EVN|A02|20261120090000\r"
                           "PID|1||131052-308T^^^1.2.246.21^NNFIN\r"
                           "PV1|1|I|WB&1.2.3&ISO^^1|||WA^^2|||||||||||||V1\r",
          &r, &e),
      0);
  assert_int_equal(r.ev[0].kind, EV_TRANSFERRED);
  assert_string_equal(r.ev[0].unit, "t-b");
  assert_string_equal(r.ev[0].attrs.from_unit, "t-a");
  assert_string_equal(r.ev[0].attrs.from_bed, "2");
  /* A15: the pending location is PV1-42 */
  {
    char text[512];
    snprintf(text, sizeof text,
             MSH("A15", "M4") "EVN|A15|20261120090000\r"
                              "PID|1||131052-308T^^^1.2.246.21^NNFIN\r"
                              "PV1|1|I|WA^^2||||||||||||||||V1%s|WB^^1\r",
             "||||||||||||||||||||||");
    assert_int_equal(map(f, text, &r, &e), 0);
    assert_int_equal(r.ev[0].kind, EV_PENDING_TRANSFER);
    assert_string_equal(r.ev[0].unit, "t-b");
  }
}

static void test_ready_for_transfer(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  assert_int_equal(map(f,
                       MSH("A08", "M5") "EVN|A08|20261120100000\r"
                                        "PID|1||131052-308T^^^1.2.246.21^"
                                        "NNFIN\r"
                                        "PV1|1|I|WA^^2||||||||||||||||V1\r"
                                        "ZTK|Y\r",
                       &r, &e),
                   0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[0].kind, EV_UPDATED);
  assert_int_equal(r.ev[1].kind, EV_READY_FOR_TRANSFER);
  assert_int_equal(r.ev[1].attrs.ready_since, r.ev[1].occurred_at);
  assert_string_equal(r.ev[1].episode, r.ev[0].episode);
  /* any other value withdraws readiness */
  assert_int_equal(map(f,
                       MSH("A08", "M6") "EVN|A08|20261120110000\r"
                                        "PID|1||131052-308T^^^1.2.246.21^"
                                        "NNFIN\r"
                                        "PV1|1|I|WA^^2||||||||||||||||V1\r"
                                        "ZTK|N\r",
                       &r, &e),
                   0);
  assert_int_equal(r.n, 2);
  assert_true(r.ev[1].attrs.flags & EVENT_F_READY_CLEARED);
}

static void test_errors_name_segment_and_field(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  assert_int_equal(map(f,
                       MSH("A01", "E1") "EVN|A01|20261120080000\r"
                                        "PID|1||131052-308T\r"
                                        "PV1|1|I|NOWHERE^^1\r",
                       &r, &e),
                   ERR_MAPPING);
  assert_string_equal(e.segment, "PV1");
  assert_int_equal(e.field, 3);
  assert_int_equal(e.hl7_code, 103);
  assert_string_equal(e.text, "PV1-3: unknown point of care 'NOWHERE'");
  assert_int_equal(map(f,
                       MSH("A01", "E2") "EVN|A01|20261120080000\r"
                                        "PID|1||131052-308T\r"
                                        "PV1|1|I|WB^^9\r",
                       &r, &e),
                   ERR_MAPPING);
  assert_string_equal(e.text, "PV1-3: unknown bed '9' on unit 't-b'");
  assert_int_equal(map(f,
                       MSH("A01", "E3") "EVN|A01|20261120080000\r"
                                        "PV1|1|I|WA^^1\r",
                       &r, &e),
                   ERR_MAPPING);
  assert_string_equal(e.segment, "PID");
  assert_int_equal(e.hl7_code, 100);
  assert_int_equal(map(f,
                       MSH("A10", "E4") "EVN|A10|20261120080000\r"
                                        "PID|1||131052-308T\r"
                                        "PV1|1|I|WA^^1\r",
                       &r, &e),
                   ERR_UNSUPPORTED);
  assert_int_equal(e.hl7_code, 201);
  assert_string_equal(e.text, "MSH-9: unsupported event 'A10'");
  assert_int_equal(map(f,
                       MSH("A01", "E5") "EVN|A01|2026XX\r"
                                        "PID|1||131052-308T\r"
                                        "PV1|1|I|WA^^1\r",
                       &r, &e),
                   ERR_MAPPING);
  assert_string_equal(e.text, "EVN-2: malformed timestamp");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_admit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_code_kept_unverified, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_transfer_and_pending, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ready_for_transfer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors_name_segment_and_field, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
