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
    "\"name\":{\"fi\":\"B\"}},"
    "{\"id\":\"t-ts\",\"type\":\"health_station\",\"parent\":\"t\","
    "\"name\":{\"fi\":\"TS\"}}],"
    "\"channels\":[{\"id\":\"c\",\"type\":\"hl7v2\",\"sender\":{"
    "\"application\":\"APP\",\"facility\":\"FAC\"},\"locations\":{\"WA\":\"t-"
    "a\",\"WB\":\"t-b\",\"TS\":\"t-ts\"},\"ready_for_transfer\":{\"segment\":"
    "\"ZTK\","
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

/* A PV1 segment with the fields the visit rules read (NULL = empty). */
static void pv1(char *out, size_t cap, const char *cls, const char *loc,
                const char *adm_type, const char *doctor, const char *service,
                const char *admit, const char *discharge) {
  const char *fv[46] = {NULL};
  size_t n;
  fv[1] = "1";
  fv[2] = cls;
  fv[3] = loc;
  fv[4] = adm_type;
  fv[7] = doctor;
  fv[10] = service;
  fv[19] = "V7";
  fv[44] = admit;
  fv[45] = discharge;
  n = (size_t)snprintf(out, cap, "PV1");
  for (size_t i = 1; i < 46; i++)
    n += (size_t)snprintf(out + n, cap - n, "|%s", fv[i] ? fv[i] : "");
  snprintf(out + n, cap - n, "\r");
}

/* An ADT message: MSH, EVN (EVN-6 'evn6'), a PID, the PV1 and 'extra'. */
static int map_adt(struct fx *f, const char *trig, const char *pid,
                   const char *pv1seg, const char *extra, struct adt_result *r,
                   struct adt_error *e) {
  char text[1024];
  snprintf(text, sizeof text,
           "MSH|^~\\&|APP|FAC|TK|TK|20261014120000||ADT^%s|V-%s|P|2.5\r"
           "EVN|%s|20261014120000||||20261014113000\r%s%s%s",
           trig, trig, trig, pid, pv1seg, extra);
  return map(f, text, r, e);
}

#define PID_HETU "PID|1||131052-308T^^^1.2.246.21^NNFIN||X^Y\r"
#define EXCLUSIONS                                                             \
  (EVENT_F_CARE_PLAN | EVENT_F_CERTIFICATE | EVENT_F_SPECIALIST |              \
   EVENT_F_PROMOTION)

static int64_t local_ms(int y, int mo, int d, int h, int mi) {
  int64_t ms = 0;
  assert_int_equal(
      chrono_from_local(chrono_days_from_civil(y, mo, d), h, mi, 0, &ms), 0);
  return ms;
}

static void test_a03_outpatient_station_visit(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  struct event *v;
  char seg[256], want[33];
  pv1(seg, sizeof seg, "O", "TS", NULL, "DOC1^Laakari", "GP", "20261014091500",
      "20261014100000");
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[0].kind, EV_DISCHARGED);
  assert_string_equal(r.ev[0].unit, "t-ts");
  /* the discharge keeps EVN-6 as its time */
  assert_int_equal(r.ev[0].occurred_at, local_ms(2026, 10, 14, 11, 30));
  v = &r.ev[1];
  assert_int_equal(v->kind, EV_VISIT_COMPLETED);
  assert_string_equal(v->unit, "t-ts");
  assert_string_equal(v->source_key, "V-A03");
  /* the episode pseudonym is the visit's identity */
  assert_string_equal(v->episode, r.ev[0].episode);
  assert_string_equal(v->subject, r.ev[0].subject);
  assert_string_equal(v->attrs.appointment, "");
  /* visit time = PV1-44 (admit) */
  assert_int_equal(v->occurred_at, local_ms(2026, 10, 14, 9, 15));
  assert_int_equal(v->local_date, chrono_days_from_civil(2026, 10, 14));
  /* group from PV1-10 as sent, in person, not urgent, no HTA */
  assert_string_equal(v->attrs.prof_group, "GP");
  assert_string_equal(v->attrs.contact_channel, "in_person");
  assert_int_equal(v->attrs.flags & (EVENT_F_URGENT | EVENT_F_REMOTE), 0);
  assert_int_equal(v->attrs.flags & EXCLUSIONS, 0);
  assert_int_equal(v->attrs.assessed_at, 0);
  assert_int_equal(v->attrs.contact_at, 0);
  privacy_pseudonym(f->keys, "professional", "c|DOC1", 6, want);
  assert_string_equal(v->attrs.professional, want);
  /* born 13.10.1952: 74 on 14.10.2026 (the day after the birthday) */
  assert_int_equal(v->attrs.age_years, 74);
  assert_int_equal(v->attrs.age_band, 70);
  assert_string_equal(v->attrs.patient_class, "O");
  /* the discharge itself carries no visit data */
  assert_int_equal(r.ev[0].attrs.age_years, -1);
  assert_string_equal(r.ev[0].attrs.prof_group, "");

  /* without PV1-44 the visit is at the A03's event time (EVN-6) */
  pv1(seg, sizeof seg, "O", "TS", NULL, NULL, NULL, NULL, NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[1].occurred_at, local_ms(2026, 10, 14, 11, 30));
  assert_string_equal(r.ev[1].attrs.prof_group, "");
  assert_string_equal(r.ev[1].attrs.professional, "");

  /* an emergency outpatient visit (PV1-4 E) is urgent unless ZHT-4 says N */
  pv1(seg, sizeof seg, "O", "TS", "E", NULL, "GP", NULL, NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_true(r.ev[1].attrs.flags & EVENT_F_URGENT);
  assert_true(r.ev[1].attrs.flags & EVENT_F_EMERGENCY);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "ZHT|1|||N\r", &r, &e), 0);
  assert_false(r.ev[1].attrs.flags & EVENT_F_URGENT);
}

static void test_a03_without_visit(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  char seg[256];
  /* an inpatient discharge without ZHT is no visit */
  pv1(seg, sizeof seg, "I", "WA^^1", NULL, "DOC1", "MED", "20261010080000",
      NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_DISCHARGED);
  /* nor an outpatient one on a unit that is not a health station */
  pv1(seg, sizeof seg, "O", "WA", NULL, NULL, "MED", NULL, NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_int_equal(r.n, 1);
  /* nor an inpatient one at a health station */
  pv1(seg, sizeof seg, "I", "TS", NULL, NULL, "GP", NULL, NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), 0);
  assert_int_equal(r.n, 1);
  /* A04 (registration) and A13 (discharge cancelled) stay single events,
   * even with a ZHT */
  pv1(seg, sizeof seg, "O", "TS", NULL, NULL, "GP", NULL, NULL);
  assert_int_equal(
      map_adt(f, "A04", PID_HETU, seg, "ZHT|1|20261001080000\r", &r, &e), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_REGISTERED);
  assert_int_equal(r.ev[0].attrs.assessed_at, 0);
  assert_int_equal(
      map_adt(f, "A13", PID_HETU, seg, "ZHT|1|20261001080000\r", &r, &e), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_DISCHARGE_CANCELLED);
}

static void test_a03_zht_visit(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  struct event *v;
  char seg[256];
  /* an inpatient discharge with ZHT is a visit, with every ZHT field */
  pv1(seg, sizeof seg, "I", "WA^^1", NULL, "DOC1", "MED", "20261014091500",
      NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg,
                           "ZHT|1|20261012143000|20261012080000|U|nurse|VIDEO|"
                           "SPECIALIST~PROMOTION\r",
                           &r, &e),
                   0);
  assert_int_equal(r.n, 2);
  v = &r.ev[1];
  assert_int_equal(v->kind, EV_VISIT_COMPLETED);
  assert_string_equal(v->unit, "t-a");
  assert_string_equal(v->episode, r.ev[0].episode);
  assert_int_equal(v->occurred_at, local_ms(2026, 10, 14, 9, 15));
  assert_int_equal(v->attrs.assessed_at, local_ms(2026, 10, 12, 14, 30));
  assert_int_equal(v->attrs.contact_at, local_ms(2026, 10, 12, 8, 0));
  assert_true(v->attrs.flags & EVENT_F_URGENT);
  assert_true(v->attrs.flags & EVENT_F_REMOTE);
  assert_string_equal(v->attrs.contact_channel, "video");
  /* ZHT-5 wins over PV1-10 */
  assert_string_equal(v->attrs.prof_group, "nurse");
  assert_int_equal(v->attrs.flags & EXCLUSIONS,
                   EVENT_F_SPECIALIST | EVENT_F_PROMOTION);
  /* born 13.10.1952: 73 on the HTA date 12.10.2026, though 74 at the visit */
  assert_int_equal(v->attrs.age_years, 73);
  assert_int_equal(v->attrs.age_band, 70);
  /* the discharge takes none of it */
  assert_int_equal(r.ev[0].attrs.assessed_at, 0);
  assert_false(r.ev[0].attrs.flags & EVENT_F_REMOTE);

  /* ZHT-5 empty: PV1-10; ZHT-6 empty: in person; ZHT-4 empty: not urgent;
   * age on the HTA date from PID-7 (29.2.2004, unverified id) */
  assert_int_equal(map_adt(f, "A03", "PID|1||X123||X^Y||20040229|F\r", seg,
                           "ZHT|1|20260228120000\r", &r, &e),
                   0);
  v = &r.ev[1];
  assert_string_equal(v->attrs.prof_group, "MED");
  assert_string_equal(v->attrs.contact_channel, "in_person");
  assert_int_equal(v->attrs.flags & (EVENT_F_URGENT | EVENT_F_REMOTE), 0);
  assert_true(v->attrs.flags & EVENT_F_UNVERIFIED_ID);
  assert_int_equal(v->attrs.age_years, 21);
  assert_int_equal(map_adt(f, "A03", "PID|1||X123||X^Y||20040229|F\r", seg,
                           "ZHT|1|20260301120000\r", &r, &e),
                   0);
  assert_int_equal(r.ev[1].attrs.age_years, 22);
  /* no birth date known */
  assert_int_equal(map_adt(f, "A03", "PID|1||X123||X^Y\r", seg,
                           "ZHT|1|20260301120000\r", &r, &e),
                   0);
  assert_int_equal(r.ev[1].attrs.age_years, -1);
}

static void test_visit_errors(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *zht;
    const char *seg;
    unsigned field;
    int code;
    const char *text;
  } cases[] = {
      {"ZHT|1|20261399\r", "ZHT", 2, 102, "ZHT-2: malformed timestamp"},
      {"ZHT|1||x\r", "ZHT", 3, 102, "ZHT-3: malformed timestamp"},
      {"ZHT|1|||KIIREELLINEN\r", "ZHT", 4, 103,
       "ZHT-4: unknown urgency 'KIIREELLINEN' (U or N expected)"},
      {"ZHT|1||||123456789012345678901234\r", "ZHT", 5, 102,
       "ZHT-5: professional group longer than 23"},
      {"ZHT|1|||||LETTER\r", "ZHT", 6, 103,
       "ZHT-6: unknown contact channel 'LETTER'"},
      {"ZHT|1||||||PROMOTION~OTHER\r", "ZHT", 7, 103,
       "ZHT-7: unknown exclusion 'OTHER'"},
      {"ZHT|1|20261015080000\r", "ZHT", 2, 102,
       "ZHT-2: needs assessment after the visit"},
      {"ZHT|1||20261015080000\r", "ZHT", 3, 102,
       "ZHT-3: first contact after the visit"},
  };
  struct adt_result r;
  struct adt_error e;
  char seg[256];
  pv1(seg, sizeof seg, "O", "TS", NULL, NULL, "GP", "20261014091500", NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(map_adt(f, "A03", PID_HETU, seg, cases[i].zht, &r, &e),
                     ERR_MAPPING);
    assert_string_equal(e.segment, cases[i].seg);
    assert_int_equal(e.field, cases[i].field);
    assert_int_equal(e.hl7_code, cases[i].code);
    assert_string_equal(e.text, cases[i].text);
    assert_int_equal(r.n, (size_t)0x5a5a5a5a5a5a5a5aull); /* untouched */
  }
  /* a bad ZHT fails any ADT message that carries it */
  assert_int_equal(map_adt(f, "A01", PID_HETU, seg, "ZHT|1|||||FAX\r", &r, &e),
                   ERR_MAPPING);
  assert_string_equal(e.text, "ZHT-6: unknown contact channel 'FAX'");
  /* the visit's own fields */
  pv1(seg, sizeof seg, "O", "TS", NULL, NULL, "GP", "2026-10-14", NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), ERR_MAPPING);
  assert_string_equal(e.segment, "PV1");
  assert_int_equal(e.field, 44);
  assert_string_equal(e.text, "PV1-44: malformed timestamp");
  pv1(seg, sizeof seg, "O", "TS", NULL, NULL, "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
      NULL, NULL);
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "", &r, &e), ERR_MAPPING);
  assert_int_equal(e.field, 10);
  assert_string_equal(e.text, "PV1-10: hospital service longer than 23");
  /* ... which ZHT-5 makes irrelevant */
  assert_int_equal(map_adt(f, "A03", PID_HETU, seg, "ZHT|1||||GP\r", &r, &e),
                   0);
  assert_string_equal(r.ev[1].attrs.prof_group, "GP");
}

static void test_age_years(void **state) {
  (void)state;
  int32_t b = chrono_days_from_civil(2004, 2, 29);
  /* 29 February: 1 March in common years, 29 February in leap years */
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2005, 2, 28)), 0);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2005, 3, 1)), 1);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2026, 2, 28)), 21);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2026, 3, 1)), 22);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2028, 2, 28)), 23);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2028, 2, 29)), 24);
  /* 2100 is not a leap year */
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2100, 2, 28)), 95);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2100, 3, 1)), 96);
  /* an ordinary birthday: the day itself completes the year */
  b = chrono_days_from_civil(2002, 3, 5);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2025, 3, 4)), 22);
  assert_int_equal(adt_age_years(b, chrono_days_from_civil(2025, 3, 5)), 23);
  assert_int_equal(adt_age_years(b, b), 0);
  /* before the birth, unknown, not a living person */
  assert_int_equal(adt_age_years(b, b - 1), -1);
  assert_int_equal(adt_age_years(ADT_BIRTH_UNKNOWN, b), -1);
  assert_int_equal(adt_age_years(chrono_days_from_civil(1850, 1, 1),
                                 chrono_days_from_civil(2025, 1, 1)),
                   -1);
  assert_int_equal(adt_age_years(chrono_days_from_civil(1875, 1, 1),
                                 chrono_days_from_civil(2025, 1, 1)),
                   150);
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
      cmocka_unit_test_setup_teardown(test_a03_outpatient_station_visit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a03_without_visit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a03_zht_visit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_visit_errors, setup, teardown),
      cmocka_unit_test(test_age_years),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
