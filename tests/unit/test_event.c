/* test_event.c -- unit tests for the canonical event (event.c).
 *
 * Covers defaults, the kind name table both ways, bounded string copies
 * that keep UTF-8 whole, the exact JSON the attrs writer produces (escapes,
 * invalid UTF-8, only set fields), the parser's validation, and round trips
 * over extreme values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "mem.h"

static void test_init_defaults(void **state) {
  struct event ev;
  (void)state;
  memset(&ev, 0x5A, sizeof ev);
  event_init(&ev);
  assert_int_equal(ev.kind, EV_NONE);
  assert_int_equal(ev.seq, 0);
  assert_int_equal(ev.attrs.age_band, -1);
  assert_int_equal(ev.attrs.sex, 'U');
  assert_string_equal(ev.channel, "");
  assert_string_equal(ev.unit, "");
  assert_string_equal(ev.attrs.bed, "");
  assert_int_equal(ev.attrs.flags, 0);
  assert_int_equal(ev.attrs.expected_discharge, 0);
}

static void test_kind_names(void **state) {
  int k, j;
  (void)state;
  assert_string_equal(event_kind_name(EV_ADMITTED), "episode.admitted");
  assert_string_equal(event_kind_name(EV_TO_OUTPATIENT),
                      "episode.to_outpatient");
  assert_string_equal(event_kind_name(EV_NONE), "none");
  assert_string_equal(event_kind_name((enum event_kind)EV__COUNT), "none");
  assert_string_equal(event_kind_name((enum event_kind) - 3), "none");
  for (k = 1; k < EV__COUNT; k++) {
    const char *name = event_kind_name((enum event_kind)k);
    assert_int_equal(event_kind_from_name(name), k);
    for (j = 0; j < k; j++)
      assert_string_not_equal(name, event_kind_name((enum event_kind)j));
  }
  assert_int_equal(event_kind_from_name("episode.nonexistent"), EV_NONE);
  assert_int_equal(event_kind_from_name(""), EV_NONE);
  assert_int_equal(event_kind_from_name(NULL), EV_NONE);
  /* "none" is a name but not an event anyone can store */
  assert_int_equal(event_kind_from_name("none"), EV_NONE);
}

static void test_set_str(void **state) {
  char dst[8];
  /* "abcdeä" = 5 + 2 bytes; "ääää" = 8 bytes */
  const char *ae = "abcde\xc3\xa4";
  const char *four = "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4";
  (void)state;
  assert_true(event_set_str(dst, sizeof dst, "abc", 3));
  assert_string_equal(dst, "abc");
  assert_true(event_set_str(dst, sizeof dst, "abcdefg", 7));
  assert_string_equal(dst, "abcdefg");
  assert_false(event_set_str(dst, sizeof dst, "abcdefgh", 8));
  assert_string_equal(dst, "abcdefg");
  /* length, not NUL, bounds the copy */
  assert_true(event_set_str(dst, sizeof dst, "abcdef", 2));
  assert_string_equal(dst, "ab");
  assert_true(event_set_str(dst, sizeof dst, ae, strlen(ae)));
  assert_string_equal(dst, ae);
  /* 8 bytes into 7: the last ä would be split, so it goes whole */
  assert_false(event_set_str(dst, sizeof dst, four, strlen(four)));
  assert_string_equal(dst, "\xc3\xa4\xc3\xa4\xc3\xa4");
  assert_false(event_set_str(dst, 2, "\xc3\xa4", 2));
  assert_string_equal(dst, "");
  assert_true(event_set_str(dst, 1, "", 0));
  assert_string_equal(dst, "");
}

static char *to_json(const struct event_attrs *a) {
  struct buf b;
  buf_init(&b, EVENT_ATTRS_JSON_MAX);
  assert_int_equal(event_attrs_to_json(a, &b), 0);
  return buf_detach(&b, NULL);
}

static void test_to_json_empty_and_full(void **state) {
  struct event ev;
  char *s;
  (void)state;
  event_init(&ev);
  s = to_json(&ev.attrs);
  assert_string_equal(s, "{}");
  mem_free(s);

  event_set_str(ev.attrs.bed, sizeof ev.attrs.bed, "12B", 3);
  event_set_str(ev.attrs.from_unit, sizeof ev.attrs.from_unit, "u.sis3", 6);
  event_set_str(ev.attrs.from_bed, sizeof ev.attrs.from_bed, "4", 1);
  event_set_str(ev.attrs.patient_class, sizeof ev.attrs.patient_class, "I", 1);
  ev.attrs.age_band = 75;
  ev.attrs.sex = 'F';
  ev.attrs.flags = EVENT_F_EMERGENCY | EVENT_F_TURVAKIELTO;
  ev.attrs.expected_discharge = 1700000000000;
  ev.attrs.ready_since = -5;
  ev.attrs.cancels_time = INT64_MIN;
  s = to_json(&ev.attrs);
  assert_string_equal(
      s, "{\"bed\":\"12B\",\"from_unit\":\"u.sis3\",\"from_bed\":\"4\","
         "\"patient_class\":\"I\",\"age_band\":75,\"sex\":\"F\",\"flags\":12,"
         "\"expected_discharge\":1700000000000,\"ready_since\":-5,"
         "\"cancels_time\":-9223372036854775808}");
  mem_free(s);

  /* age band 0 is a band, not "unset" */
  event_init(&ev);
  ev.attrs.age_band = 0;
  s = to_json(&ev.attrs);
  assert_string_equal(s, "{\"age_band\":0}");
  mem_free(s);
}

static void test_to_json_escapes(void **state) {
  struct event_attrs a;
  struct event ev;
  char *s;
  json_t *root;
  json_error_t jerr;
  (void)state;
  event_init(&ev);
  a = ev.attrs;
  strcpy(a.bed, "a\"b\\c\n\x01");
  strcpy(a.from_unit, "\xc3\xa4l\xc3\xa4"); /* älä, valid */
  strcpy(a.from_bed, "x\xff"
                     "y\xc3");              /* invalid byte, cut sequence */
  strcpy(a.patient_class, "\xed\xa0\x80z"); /* UTF-8 surrogate: invalid */
  s = to_json(&a);
  assert_string_equal(s, "{\"bed\":\"a\\\"b\\\\c\\n\\u0001\","
                         "\"from_unit\":\"\xc3\xa4l\xc3\xa4\","
                         "\"from_bed\":\"x\\ufffdy\\ufffd\","
                         "\"patient_class\":\"\\ufffd\\ufffd\\ufffdz\"}");
  /* and jansson agrees it is valid JSON with the intended values */
  root = json_loads(s, 0, &jerr);
  assert_non_null(root);
  assert_string_equal(json_string_value(json_object_get(root, "bed")),
                      "a\"b\\c\n\x01");
  assert_string_equal(json_string_value(json_object_get(root, "from_bed")),
                      "x\xef\xbf\xbdy\xef\xbf\xbd");
  json_decref(root);
  mem_free(s);
}

static void test_to_json_toobig_keeps_buffer(void **state) {
  struct event ev;
  struct buf b;
  (void)state;
  event_init(&ev);
  strcpy(ev.attrs.from_unit, "a-rather-long-unit-identifier");
  buf_init(&b, 20);
  assert_int_equal(buf_puts(&b, "prefix"), 0);
  assert_int_equal(event_attrs_to_json(&ev.attrs, &b), ERR_TOOBIG);
  assert_int_equal(b.len, 6);
  assert_string_equal(buf_str(&b), "prefix");
  buf_release(&b);
}

static void test_round_trip(void **state) {
  struct event ev, back;
  char *s;
  struct error err;
  (void)state;
  event_init(&ev);
  strcpy(ev.attrs.bed, "\"tricky\\bed\t");
  strcpy(ev.attrs.from_unit, "\xc3\xb6stra \xc3\xa5");
  strcpy(ev.attrs.from_bed, "\x1f");
  strcpy(ev.attrs.patient_class, "E");
  ev.attrs.age_band = INT16_MAX;
  ev.attrs.sex = 'M';
  ev.attrs.flags = UINT32_MAX;
  ev.attrs.expected_discharge = INT64_MAX;
  ev.attrs.ready_since = INT64_MIN;
  ev.attrs.cancels_time = 1;
  s = to_json(&ev.attrs);
  event_init(&back);
  assert_int_equal(event_attrs_from_json(s, strlen(s), &back.attrs, &err), 0);
  assert_memory_equal(&back.attrs, &ev.attrs, sizeof ev.attrs);
  mem_free(s);

  /* the defaults round-trip too */
  event_init(&ev);
  s = to_json(&ev.attrs);
  memset(&back.attrs, 0x33, sizeof back.attrs);
  assert_int_equal(event_attrs_from_json(s, strlen(s), &back.attrs, NULL), 0);
  assert_int_equal(back.attrs.age_band, -1);
  assert_int_equal(back.attrs.sex, 'U');
  assert_string_equal(back.attrs.bed, "");
  assert_int_equal(back.attrs.flags, 0);
  mem_free(s);
}

static void test_from_json_partial_and_unknown(void **state) {
  struct event_attrs a;
  const char *j = "{\"bed\":\"7\",\"future_field\":[1,2],\"flags\":1}";
  (void)state;
  memset(&a, 0x44, sizeof a);
  assert_int_equal(event_attrs_from_json(j, strlen(j), &a, NULL), 0);
  assert_string_equal(a.bed, "7");
  assert_int_equal(a.flags, EVENT_F_UNVERIFIED_ID);
  assert_string_equal(a.from_unit, "");
  assert_int_equal(a.age_band, -1);
  assert_int_equal(a.sex, 'U');
  assert_int_equal(a.expected_discharge, 0);
}

static void check_bad(const char *j, int code, const char *needle) {
  struct event_attrs a, before;
  struct error err;
  memset(&a, 0x27, sizeof a);
  before = a;
  error_clear(&err);
  assert_int_equal(event_attrs_from_json(j, strlen(j), &a, &err), code);
  assert_int_equal(err.code, code);
  if (strstr(err.msg, needle) == NULL)
    fail_msg("error '%s' does not mention '%s'", err.msg, needle);
  assert_memory_equal(&a, &before, sizeof a);
}

static void test_from_json_rejects(void **state) {
  char big[EVENT_ATTRS_JSON_MAX + 16];
  (void)state;
  check_bad("[]", ERR_PARSE, "not a json object");
  check_bad("{\"bed\":", ERR_PARSE, "malformed");
  check_bad("", ERR_PARSE, "malformed");
  check_bad("{} x", ERR_PARSE, "malformed");
  check_bad("{\"bed\":5}", ERR_PARSE, "'bed' is not a string");
  check_bad("{\"bed\":\"0123456789012345678901234\"}", ERR_PARSE,
            "'bed' longer than 23");
  check_bad("{\"bed\":\"a\\u0000b\"}", ERR_PARSE, "malformed");
  check_bad("{\"age_band\":-2}", ERR_PARSE, "'age_band' out of range");
  check_bad("{\"age_band\":32768}", ERR_PARSE, "'age_band' out of range");
  check_bad("{\"age_band\":5.0}", ERR_PARSE, "'age_band' is not an integer");
  check_bad("{\"flags\":-1}", ERR_PARSE, "'flags' out of range");
  check_bad("{\"flags\":4294967296}", ERR_PARSE, "'flags' out of range");
  check_bad("{\"sex\":\"MF\"}", ERR_PARSE, "'sex'");
  check_bad("{\"sex\":\" \"}", ERR_PARSE, "'sex'");
  check_bad("{\"sex\":77}", ERR_PARSE, "'sex'");
  check_bad("{\"ready_since\":\"1\"}", ERR_PARSE, "'ready_since'");
  check_bad("{\"cancels_time\":99999999999999999999}", ERR_PARSE, "malformed");
  check_bad("{\"bed\":\"1\",\"bed\":\"2\"}", ERR_PARSE, "malformed");
  check_bad("{\"bed\":\"\xff\"}", ERR_PARSE, "malformed");
  memset(big, ' ', sizeof big - 1);
  big[0] = '{';
  big[sizeof big - 2] = '}';
  big[sizeof big - 1] = '\0';
  check_bad(big, ERR_TOOBIG, "longer than");
}

/* The scheduling attributes: exact JSON, a round trip, the kind names. */
static void test_scheduling_attrs(void **state) {
  struct event ev, back;
  struct error err;
  char *s;
  (void)state;
  assert_string_equal(event_kind_name(EV_SLOT_OPENED), "slot.opened");
  assert_string_equal(event_kind_name(EV_VISIT_COMPLETED), "visit.completed");
  assert_int_equal(event_kind_from_name("appointment.noshow"),
                   EV_APPOINTMENT_NOSHOW);
  /* appended after the episode kinds: stored numbers never change */
  assert_int_equal(EV_SLOT_OPENED, EV_TO_OUTPATIENT + 1);
  event_init(&ev);
  strcpy(ev.attrs.professional, "0123456789abcdef0123456789abcdef");
  strcpy(ev.attrs.prof_group, "physician");
  strcpy(ev.attrs.slot, "aa");
  strcpy(ev.attrs.appointment, "bb");
  strcpy(ev.attrs.contact_channel, EVENT_CONTACT_VIDEO);
  ev.attrs.flags = EVENT_F_BOOKABLE | EVENT_F_REMOTE;
  ev.attrs.slot_start = 1740981600000;
  ev.attrs.slot_end = 1740983400000;
  ev.attrs.assessed_at = -1;
  ev.attrs.contact_at = 7;
  s = to_json(&ev.attrs);
  assert_string_equal(s,
                      "{\"flags\":320,"
                      "\"professional\":\"0123456789abcdef0123456789abcdef\","
                      "\"prof_group\":\"physician\",\"slot\":\"aa\","
                      "\"appointment\":\"bb\",\"contact_channel\":\"video\","
                      "\"slot_start\":1740981600000,\"slot_end\":1740983400000,"
                      "\"assessed_at\":-1,\"contact_at\":7}");
  event_init(&back);
  assert_int_equal(event_attrs_from_json(s, strlen(s), &back.attrs, &err), 0);
  assert_memory_equal(&back.attrs, &ev.attrs, sizeof ev.attrs);
  mem_free(s);
  check_bad("{\"professional\":\"0123456789abcdef0123456789abcdef0\"}",
            ERR_PARSE, "'professional' longer than 32");
  check_bad("{\"contact_channel\":\"telepathy!!!\"}", ERR_PARSE,
            "'contact_channel' longer than 11");
  check_bad("{\"slot_start\":\"x\"}", ERR_PARSE, "'slot_start'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_defaults),
      cmocka_unit_test(test_kind_names),
      cmocka_unit_test(test_set_str),
      cmocka_unit_test(test_to_json_empty_and_full),
      cmocka_unit_test(test_to_json_escapes),
      cmocka_unit_test(test_to_json_toobig_keeps_buffer),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_from_json_partial_and_unknown),
      cmocka_unit_test(test_from_json_rejects),
      cmocka_unit_test(test_scheduling_attrs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
