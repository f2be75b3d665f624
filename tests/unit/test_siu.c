/* test_siu.c -- unit tests for the SIU mapper (siu.c) and, through it, the
 * scheduling projection (sched.c).
 *
 * Every shared siu_* file is mapped with an organisation that maps its
 * locations, checking kinds, unit, times, flags, group and pseudonyms;
 * refusals name segment and field; then DOMAIN.md §1.4's worked example is
 * sent as SIU messages (with a booked, an urgent and a deleted slot that
 * must not count) and T3 read from the projection: 14 with n = 5 and one
 * censored under THL's rule, 12 without censored values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chrono.h"
#include "hetu.h"
#include "hl7.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "schedule.h"
#include "siu.h"

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"Alue\"}},"
    "{\"id\":\"ta\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Terveysasema X\"}},"
    "{\"id\":\"lab\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"Laboratorio\"}}],"
    "\"channels\":["
    "{\"id\":\"sch\",\"type\":\"hl7v2\",\"sender\":{\"application\":"
    "\"SCHApp\",\"facility\":\"GHHSFacility\"},"
    "\"locations\":{\"055\":\"ta\",\"LabUnit101\":\"lab\",\"TA1\":\"ta\"}},"
    "{\"id\":\"ghh\",\"type\":\"hl7v2\",\"sender\":{\"application\":"
    "\"ADTApp\",\"facility\":\"GHHSFacility\"},\"locations\":{\"4E\":\"lab\"}},"
    "{\"id\":\"gpms\",\"type\":\"hl7v2\",\"sender\":{\"application\":"
    "\"GPMS\",\"facility\":\"CTX\"},\"locations\":{\"HHR\":\"ta\"}}]}";

struct fx {
  struct org *org;
  struct privacy_keys *keys;
  char dir[64];
  char path[128];
};

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  error_clear(&err);
  snprintf(f->dir, sizeof f->dir, "/tmp/test_siu.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/keys", f->dir);
  if (privacy_keyfile_create(f->path, &err) != 0 ||
      privacy_keys_load(f->path, &f->keys, &err) != 0 ||
      org_load_json(ORG_JSON, strlen(ORG_JSON), &f->org, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  org_free(f->org);
  privacy_keys_free(f->keys);
  unlink(f->path);
  rmdir(f->dir);
  mem_free(f);
  return 0;
}

static char *read_shared(const char *name, size_t *len) {
  char path[4200];
  const char *shared = getenv("TK_SHARED");
  FILE *fp;
  long n;
  char *data;
  snprintf(path, sizeof path, "%s/testdata/hl7v2/%s",
           shared ? shared : "../shared", name);
  fp = fopen(path, "rb");
  if (fp == NULL)
    fail_msg("cannot open '%s'", path);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  n = ftell(fp);
  assert_true(n > 0);
  assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
  data = mem_alloc((size_t)n + 1);
  assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  data[n] = '\0';
  *len = (size_t)n;
  return data;
}

/* Parses and maps 'data'; returns siu_map's code. */
static int map(struct fx *f, const char *data, size_t len, struct adt_result *r,
               struct adt_error *e) {
  struct hl7_msg *msg = mem_alloc(sizeof *msg);
  struct hl7_error herr;
  const struct org_channel *ch;
  struct hl7_span app, fac;
  const struct hl7_seg *msh;
  int rc;
  assert_int_equal(hl7_parse(data, len, msg, &herr), 0);
  assert_true(siu_handles(msg));
  msh = hl7_segment(msg, "MSH", 0);
  app = hl7_get(msg, msh, 3, 0, 1, 0);
  fac = hl7_get(msg, msh, 4, 0, 1, 0);
  ch = org_channel_by_sender(f->org, app.p, app.len, fac.p, fac.len);
  assert_non_null(ch);
  memset(e, 0, sizeof *e);
  rc = siu_map(msg, f->org, ch, f->keys, 1700000000000, r, e);
  mem_free(msg);
  return rc;
}

static int64_t ts(const char *s) {
  int64_t ms = 0;
  assert_int_equal(chrono_parse_hl7_ts(s, strlen(s), &ms, NULL), 0);
  return ms;
}

static void pseudo(struct fx *f, const char *domain, const char *id,
                   char out[EVENT_PSEUDO_MAX]) {
  privacy_pseudonym(f->keys, domain, id, strlen(id), out);
}

static void test_shared_files(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *file;
    enum event_kind k0, k1;
    const char *unit, *start, *group, *chan_id;
    bool urgent;
  } cases[] = {
      {"siu_s12_msconv_1.hl7", EV_SLOT_BOOKED, EV_APPOINTMENT_BOOKED, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
      {"siu_s12_msconv_2.hl7", EV_SLOT_BOOKED, EV_APPOINTMENT_BOOKED, "lab",
       "202108181130+0215", "019", "sch|36996", false},
      {"siu_s12_msconv_3.hl7", EV_SLOT_BOOKED, EV_APPOINTMENT_BOOKED, "lab",
       "202010041126+0215", "", "ghh|36996", true},
      {"siu_s13_msconv_1.hl7", EV_SLOT_BOOKED, EV_NONE, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
      {"siu_s14_msconv_1.hl7", EV_SLOT_BOOKED, EV_NONE, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
      {"siu_s14_corepoint_v23.hl7", EV_SLOT_BOOKED, EV_NONE, "ta",
       "200803061000", "50", "gpms|00331839401", false},
      {"siu_s14_corepoint_v23_raw_lf.hl7", EV_SLOT_BOOKED, EV_NONE, "ta",
       "200803061000", "50", "gpms|00331839401", false},
      {"siu_s15_msconv_1.hl7", EV_APPOINTMENT_CANCELLED, EV_SLOT_RELEASED, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
      {"siu_s17_msconv_1.hl7", EV_APPOINTMENT_CANCELLED, EV_SLOT_RELEASED, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
      {"siu_s26_msconv_1.hl7", EV_APPOINTMENT_NOSHOW, EV_NONE, "ta",
       "20210924093000+0215", "010", "sch|36996", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len;
    char *data = read_shared(cases[i].file, &len);
    struct adt_result r;
    struct adt_error e;
    char slot[EVENT_PSEUDO_MAX], appt[EVENT_PSEUDO_MAX];
    int rc = map(f, data, len, &r, &e);
    if (rc != 0)
      fail_msg("%s: %s", cases[i].file, e.text);
    assert_int_equal(r.n, cases[i].k1 == EV_NONE ? 1 : 2);
    assert_int_equal(r.ev[0].kind, cases[i].k0);
    if (cases[i].k1 != EV_NONE)
      assert_int_equal(r.ev[1].kind, cases[i].k1);
    pseudo(f, "slot", cases[i].chan_id, slot);
    pseudo(f, "appointment", cases[i].chan_id, appt);
    for (size_t j = 0; j < r.n; j++) {
      const struct event *ev = &r.ev[j];
      bool slot_kind =
          ev->kind == EV_SLOT_BOOKED || ev->kind == EV_SLOT_RELEASED;
      assert_string_equal(ev->unit, cases[i].unit);
      assert_int_equal(ev->attrs.slot_start, ts(cases[i].start));
      assert_true(ev->attrs.slot_end >= ev->attrs.slot_start);
      assert_string_equal(ev->attrs.prof_group, cases[i].group);
      assert_string_equal(ev->attrs.slot, slot);
      assert_string_equal(ev->attrs.appointment, appt);
      assert_int_equal(strlen(ev->attrs.professional), 32);
      assert_int_equal((ev->attrs.flags & EVENT_F_URGENT) != 0,
                       cases[i].urgent);
      assert_true(ev->attrs.flags & EVENT_F_BOOKABLE);
      assert_string_equal(ev->attrs.contact_channel, "in_person");
      /* slot events carry no person; appointment events do */
      assert_int_equal(ev->subject[0] == '\0', slot_kind);
      assert_string_equal(ev->source_key[0] ? "k" : "", "k");
    }
    mem_free(data);
  }
}

static void test_shared_times_and_people(void **state) {
  struct fx *f = *state;
  size_t len;
  char *data = read_shared("siu_s12_msconv_1.hl7", &len);
  struct adt_result r;
  struct adt_error e;
  char want[EVENT_PSEUDO_MAX];
  assert_int_equal(map(f, data, len, &r, &e), 0);
  /* 09:30 at +02:15 is 07:15 UTC (AIS-4); the end is TQ1-8, 10:20 */
  assert_int_equal(r.ev[0].attrs.slot_start, 1632467700000);
  assert_int_equal(r.ev[0].attrs.slot_end, 1632470700000);
  assert_int_equal(r.ev[0].occurred_at, ts("202109141120+0215"));
  assert_string_equal(r.ev[0].source_key, "MSG00012");
  assert_string_equal(r.ev[0].channel, "sch");
  pseudo(f, "professional", "sch|1210", want);
  assert_string_equal(r.ev[0].attrs.professional, want);
  /* PID-3 PATID1234 is not a henkilötunnus: pseudonymised, flagged, age
   * band from PID-7 (1988-08-18) on the event date 2021-09-14: 33 -> 30 */
  pseudo(f, "person", "PATID1234", want);
  assert_string_equal(r.ev[1].subject, want);
  assert_true(r.flags & EVENT_F_UNVERIFIED_ID);
  assert_int_equal(r.ev[1].attrs.age_band, 30);
  assert_int_equal(r.ev[1].attrs.sex, 'M');
  mem_free(data);
}

/* Builds a SIU message; 'patient' adds a PID with a valid henkilötunnus. */
static char *siu(const char *trig, const char *ctl, const char *slot,
                 const char *prof, const char *start, const char *reason,
                 const char *type, const char *status, const char *loc,
                 bool patient) {
  char *m = mem_alloc(1024);
  snprintf(m, 1024,
           "MSH|^~\\&|SCHApp|GHHSFacility|TK|TK|20250301120000||SIU^%s|%s|P|"
           "2.5\r"
           "SCH||%s|||||%s|%s|30|min|||||||||||||||%s\r"
           "%s"
           "RGS|1\r"
           "AIS|1||VO^Vastaanotto|%s\r"
           "AIL|1||%s\r"
           "AIP|1||%s|physician\r",
           trig, ctl, slot, reason, type, status,
           patient ? "PID|1||131052-308T^^^1.2.246.21||X^Y\r" : "", start, loc,
           prof);
  return m;
}

static void test_errors(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct adt_error e;
  char *m;
  memset(&r, 0x5a, sizeof r);
  m = siu("S12", "E1", "S1", "A", "20250303140000", "ROUTINE", "", "", "NOPE",
          false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_MAPPING);
  assert_string_equal(e.segment, "AIL");
  assert_int_equal(e.field, 3);
  assert_int_equal(e.hl7_code, 103);
  assert_string_equal(e.text, "AIL-3: unknown location 'NOPE'");
  assert_int_equal(r.n, (size_t)0x5a5a5a5a5a5a5a5aull); /* untouched */
  mem_free(m);

  m = siu("S99", "E2", "S1", "A", "20250303140000", "", "", "", "TA1", false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_UNSUPPORTED);
  assert_string_equal(e.text, "MSH-9: unsupported event 'S99'");
  mem_free(m);

  m = siu("S12", "E3", "", "A", "20250303140000", "", "", "", "TA1", false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_MAPPING);
  assert_string_equal(e.segment, "SCH");
  assert_int_equal(e.field, 2);
  mem_free(m);

  m = siu("S12", "E4", "S1", "", "20250303140000", "", "", "", "TA1", false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_MAPPING);
  assert_string_equal(e.text, "AIP-3: professional id missing");
  mem_free(m);

  m = siu("S12", "E5", "S1", "A", "2025-03-03", "", "", "", "TA1", false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_MAPPING);
  assert_string_equal(e.text, "AIS-4: malformed timestamp");
  mem_free(m);

  /* flags: blocked = held, not bookable; video = remote */
  m = siu("S12", "F1", "S1", "A", "20250303140000", "KIIREELLINEN", "VIDEO",
          "Blocked", "TA1", false);
  assert_int_equal(map(f, m, strlen(m), &r, &e), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_SLOT_OPENED);
  assert_int_equal(r.ev[0].attrs.flags,
                   EVENT_F_URGENT | EVENT_F_HELD | EVENT_F_REMOTE);
  assert_string_equal(r.ev[0].attrs.contact_channel, "video");
  assert_int_equal(r.ev[0].attrs.slot_end - r.ev[0].attrs.slot_start,
                   30 * 60000);
  mem_free(m);

  /* a completed appointment is a visit: S14 adds it after the slot */
  m = siu("S14", "F2", "S1", "A", "20250303140000", "", "", "Complete", "TA1",
          true);
  assert_int_equal(map(f, m, strlen(m), &r, &e), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[0].kind, EV_SLOT_BOOKED);
  assert_int_equal(r.ev[1].kind, EV_VISIT_COMPLETED);
  mem_free(m);
  /* S13 (rescheduled) never completes a visit */
  m = siu("S13", "F2b", "S1", "A", "20250303140000", "", "", "Complete", "TA1",
          true);
  assert_int_equal(map(f, m, strlen(m), &r, &e), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].kind, EV_SLOT_BOOKED);
  mem_free(m);
  m = siu("S12", "F3", "S1", "A", "20250303140000", "", "", "Complete", "TA1",
          true);
  assert_int_equal(map(f, m, strlen(m), &r, &e), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[1].kind, EV_VISIT_COMPLETED);
  assert_int_equal(r.flags & EVENT_F_UNVERIFIED_ID, 0);
  mem_free(m);
}

/* A completed appointment (SCH-25 "Complete") at TA1 with professional
 * DOC7 (group "physician") and slot V1; 'pid' and 'zht' are whole
 * segments with their \r, or "". */
static char *visit(const char *trig, const char *ctl, const char *reason,
                   const char *type, const char *start, const char *pid,
                   const char *zht) {
  char *m = mem_alloc(1024);
  snprintf(m, 1024,
           "MSH|^~\\&|SCHApp|GHHSFacility|TK|TK|20250301120000||SIU^%s|%s|P|"
           "2.5\r"
           "SCH||V1|||||%s|%s|30|min|||||||||||||||Complete\r"
           "%s"
           "RGS|1\r"
           "AIS|1||VO^Vastaanotto|%s\r"
           "AIL|1||TA1\r"
           "AIP|1||DOC7|physician\r"
           "%s",
           trig, ctl, reason, type, pid, start, zht);
  return m;
}

#define PID_HETU "PID|1||131052-308T^^^1.2.246.21||X^Y\r"
#define EXCLUSIONS                                                             \
  (EVENT_F_CARE_PLAN | EVENT_F_CERTIFICATE | EVENT_F_SPECIALIST |              \
   EVENT_F_PROMOTION)

static int32_t day(int y, int m, int d) {
  return chrono_days_from_civil(y, m, d);
}

static int64_t local_ms(int y, int mo, int d, int h, int mi) {
  int64_t ms = 0;
  assert_int_equal(chrono_from_local(day(y, mo, d), h, mi, 0, &ms), 0);
  return ms;
}

/* Maps a visit message that must succeed; returns the visit event. */
static struct event map_visit(struct fx *f, char *m, struct adt_result *r) {
  struct adt_error e;
  int rc = map(f, m, strlen(m), r, &e);
  mem_free(m);
  if (rc != 0)
    fail_msg("map: %s", e.text);
  assert_int_equal(r->n, 2);
  assert_int_equal(r->ev[0].kind, EV_SLOT_BOOKED);
  assert_int_equal(r->ev[1].kind, EV_VISIT_COMPLETED);
  return r->ev[1];
}

static void test_visit_defaults(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct event v;
  char want[EVENT_PSEUDO_MAX];
  /* no ZHT: the visit is at the slot start, with AIP-4's group, SCH-7's
   * urgency and SCH-8's channel, no HTA and no contact */
  v = map_visit(
      f, visit("S12", "V1", "ROUTINE", "", "20250310090000", PID_HETU, ""), &r);
  assert_int_equal(v.occurred_at, local_ms(2025, 3, 10, 9, 0));
  assert_int_equal(v.local_date, day(2025, 3, 10));
  assert_string_equal(v.unit, "ta");
  assert_string_equal(v.attrs.prof_group, "physician");
  assert_string_equal(v.attrs.contact_channel, "in_person");
  assert_int_equal(v.attrs.flags & (EVENT_F_URGENT | EVENT_F_REMOTE), 0);
  assert_int_equal(v.attrs.flags & EXCLUSIONS, 0);
  assert_int_equal(v.attrs.assessed_at, 0);
  assert_int_equal(v.attrs.contact_at, 0);
  /* born 13.10.1952: 72 on 10.3.2025 */
  assert_int_equal(v.attrs.age_years, 72);
  assert_int_equal(v.attrs.age_band, 70);
  pseudo(f, "appointment", "sch|V1", want);
  assert_string_equal(v.attrs.appointment, want);
  pseudo(f, "person", "131052-308T", want);
  assert_string_equal(v.subject, want);
  pseudo(f, "professional", "sch|DOC7", want);
  assert_string_equal(v.attrs.professional, want);
  /* the slot event keeps the change time and carries no visit data */
  assert_int_equal(r.ev[0].occurred_at, ts("20250301120000"));
  assert_int_equal(r.ev[0].attrs.age_years, -1);
  assert_string_equal(r.ev[0].subject, "");

  /* urgent reason and a video appointment, still without ZHT */
  v = map_visit(
      f, visit("S14", "V2", "URGENT", "VIDEO", "20250310090000", PID_HETU, ""),
      &r);
  assert_int_equal(v.attrs.flags & (EVENT_F_URGENT | EVENT_F_REMOTE),
                   EVENT_F_URGENT | EVENT_F_REMOTE);
  assert_string_equal(v.attrs.contact_channel, "video");
  assert_int_equal(v.occurred_at, local_ms(2025, 3, 10, 9, 0));
}

static void test_visit_zht_fields(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct event v;
  /* every field: HTA, contact, N over SCH-7 URGENT, group over AIP-4,
   * PHONE over SCH-8 VIDEO, two exclusions */
  v = map_visit(f,
                visit("S12", "Z1", "URGENT", "VIDEO", "20250310090000",
                      PID_HETU,
                      "ZHT|1|20250303101500|20250303080000|N|nurse|PHONE|"
                      "CARE_PLAN~CERTIFICATE\r"),
                &r);
  /* Helsinki local without an offset: 10:15 EET = 08:15Z */
  assert_int_equal(v.attrs.assessed_at, 1740989700000);
  assert_int_equal(v.attrs.assessed_at, local_ms(2025, 3, 3, 10, 15));
  assert_int_equal(v.attrs.contact_at, local_ms(2025, 3, 3, 8, 0));
  assert_false(v.attrs.flags & EVENT_F_URGENT);
  assert_true(v.attrs.flags & EVENT_F_REMOTE);
  assert_string_equal(v.attrs.contact_channel, "phone");
  assert_string_equal(v.attrs.prof_group, "nurse");
  assert_int_equal(v.attrs.flags & EXCLUSIONS,
                   EVENT_F_CARE_PLAN | EVENT_F_CERTIFICATE);
  assert_int_equal(v.attrs.age_years, 72);
  /* the slot event takes none of it */
  assert_int_equal(r.ev[0].attrs.assessed_at, 0);
  assert_string_equal(r.ev[0].attrs.prof_group, "physician");
  assert_true(r.ev[0].attrs.flags & EVENT_F_URGENT);
  assert_int_equal(r.ev[0].attrs.flags & EXCLUSIONS, 0);

  /* no set id, an offset, lower case codes, U over ROUTINE, IN_PERSON
   * over VIDEO, an empty repetition; empty fields keep the SIU values */
  v = map_visit(f,
                visit("S14", "Z2", "ROUTINE", "VIDEO", "20250310090000",
                      PID_HETU,
                      "ZHT||20250303101500+0000||u|| in_person |"
                      "specialist~~PROMOTION\r"),
                &r);
  assert_int_equal(v.attrs.assessed_at, 1740996900000);
  assert_int_equal(v.attrs.contact_at, 0);
  assert_true(v.attrs.flags & EVENT_F_URGENT);
  assert_false(v.attrs.flags & EVENT_F_REMOTE);
  assert_string_equal(v.attrs.contact_channel, "in_person");
  assert_string_equal(v.attrs.prof_group, "physician");
  assert_int_equal(v.attrs.flags & EXCLUSIONS,
                   EVENT_F_SPECIALIST | EVENT_F_PROMOTION);

  /* HL7 nulls are "not sent"; each remote channel sets REMOTE */
  v = map_visit(f,
                visit("S12", "Z3", "URGENT", "CHAT", "20250310090000", PID_HETU,
                      "ZHT|1|\"\"|\"\"|\"\"|\"\"|\"\"|\"\"\r"),
                &r);
  assert_int_equal(v.attrs.assessed_at, 0);
  assert_true(v.attrs.flags & EVENT_F_URGENT);
  assert_string_equal(v.attrs.contact_channel, "chat");
  assert_string_equal(v.attrs.prof_group, "physician");
  {
    static const char *const chans[][2] = {
        {"VIDEO", "video"}, {"ESERVICE", "eservice"}, {"CHAT", "chat"}};
    for (size_t i = 0; i < 3; i++) {
      char z[64];
      snprintf(z, sizeof z, "ZHT|1|||||%s\r", chans[i][0]);
      v = map_visit(
          f, visit("S12", "Z4", "", "", "20250310090000", PID_HETU, z), &r);
      assert_string_equal(v.attrs.contact_channel, chans[i][1]);
      assert_true(v.attrs.flags & EVENT_F_REMOTE);
    }
  }
  /* an HTA later on the visit's own day is fine (same day = 0 days) */
  v = map_visit(f,
                visit("S12", "Z5", "", "", "20250310090000", PID_HETU,
                      "ZHT|1|20250310180000\r"),
                &r);
  assert_int_equal(v.attrs.assessed_at, local_ms(2025, 3, 10, 18, 0));
}

static void test_zht_errors(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *zht;
    unsigned field;
    int code;
    const char *text;
  } cases[] = {
      {"ZHT|1|2025-03-03\r", 2, 102, "ZHT-2: malformed timestamp"},
      {"ZHT|1||yesterday\r", 3, 102, "ZHT-3: malformed timestamp"},
      {"ZHT|1|||X\r", 4, 103, "ZHT-4: unknown urgency 'X' (U or N expected)"},
      {"ZHT|1||||ABCDEFGHIJKLMNOPQRSTUVWX\r", 5, 102,
       "ZHT-5: professional group longer than 23"},
      {"ZHT|1|||||FAX\r", 6, 103, "ZHT-6: unknown contact channel 'FAX'"},
      {"ZHT|1||||||CARE_PLAN~HOLIDAY\r", 7, 103,
       "ZHT-7: unknown exclusion 'HOLIDAY'"},
      {"ZHT|1|20250311080000\r", 2, 102,
       "ZHT-2: needs assessment after the visit"},
      {"ZHT|1|20250301080000|20250311080000\r", 3, 102,
       "ZHT-3: first contact after the visit"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct adt_result r;
    struct adt_error e;
    char *m =
        visit("S12", "ZE", "", "", "20250310090000", PID_HETU, cases[i].zht);
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(map(f, m, strlen(m), &r, &e), ERR_MAPPING);
    assert_string_equal(e.segment, "ZHT");
    assert_int_equal(e.field, cases[i].field);
    assert_int_equal(e.hl7_code, cases[i].code);
    assert_string_equal(e.text, cases[i].text);
    assert_int_equal(r.n, (size_t)0x5a5a5a5a5a5a5a5aull); /* untouched */
    mem_free(m);
  }
  /* a ZHT is checked wherever it appears, visit or not */
  {
    struct adt_result r;
    struct adt_error e;
    char *m =
        siu("S12", "ZF", "S1", "A", "20250303140000", "", "", "", "TA1", false);
    char *m2 = mem_alloc(strlen(m) + 32);
    snprintf(m2, strlen(m) + 32, "%sZHT|1|||Q\r", m);
    assert_int_equal(map(f, m2, strlen(m2), &r, &e), ERR_MAPPING);
    assert_string_equal(e.text, "ZHT-4: unknown urgency 'Q' (U or N expected)");
    mem_free(m);
    mem_free(m2);
  }
}

static void test_visit_age(void **state) {
  struct fx *f = *state;
  struct adt_result r;
  struct event v;
  static const struct {
    const char *start, *zht;
    int age;
  } leap[] = {
      /* born 29.2.2004 (PID-7): a year completes on 1.3 in common years */
      {"20270305090000", "ZHT|1|20270228120000\r", 22},
      {"20270305090000", "ZHT|1|20270301080000\r", 23},
      {"20270228090000", "", 22},
      {"20270301090000", "", 23},
      /* and on 29.2 in leap years */
      {"20280305090000", "ZHT|1|20280228120000\r", 23},
      {"20280305090000", "ZHT|1|20280229080000\r", 24},
  };
  char pid[96];
  char id[16];
  /* 13.10.1952: 72 on the HTA date 10.10.2025, 73 on the visit date */
  v = map_visit(f,
                visit("S12", "A1", "", "", "20251014090000", PID_HETU,
                      "ZHT|1|20251010100000\r"),
                &r);
  assert_int_equal(v.attrs.age_years, 72);
  assert_int_equal(v.attrs.age_band, 70);
  v = map_visit(f, visit("S12", "A2", "", "", "20251014090000", PID_HETU, ""),
                &r);
  assert_int_equal(v.attrs.age_years, 73);
  /* a contact time alone does not date the age */
  v = map_visit(f,
                visit("S12", "A3", "", "", "20251014090000", PID_HETU,
                      "ZHT|1||20251010100000\r"),
                &r);
  assert_int_equal(v.attrs.age_years, 73);

  for (size_t i = 0; i < sizeof leap / sizeof leap[0]; i++) {
    v = map_visit(f,
                  visit("S12", "L", "", "", leap[i].start,
                        "PID|1||P29||X^Y||20040229|F\r", leap[i].zht),
                  &r);
    if (v.attrs.age_years != leap[i].age)
      fail_msg("case %zu: age %d, expected %d", i, v.attrs.age_years,
               leap[i].age);
  }
  /* the same from a valid identity code born 29.2.2004 */
  snprintf(id, sizeof id, "290204A123%c", hetu_checksum_char(29, 2, 4, 123));
  snprintf(pid, sizeof pid, "PID|1||%s^^^1.2.246.21||X^Y\r", id);
  v = map_visit(f, visit("S12", "L2", "", "", "20270228090000", pid, ""), &r);
  assert_int_equal(v.attrs.age_years, 22);
  assert_int_equal(r.flags & EVENT_F_UNVERIFIED_ID, 0);
  v = map_visit(f, visit("S12", "L3", "", "", "20270301090000", pid, ""), &r);
  assert_int_equal(v.attrs.age_years, 23);
  assert_int_equal(v.attrs.age_band, 20);
  /* no valid code and no PID-7: unknown */
  v = map_visit(f,
                visit("S12", "U1", "", "", "20270301090000",
                      "PID|1||P30||X^Y\r", "ZHT|1|20270201080000\r"),
                &r);
  assert_int_equal(v.attrs.age_years, -1);
  assert_int_equal(v.attrs.age_band, -1);
}

/* Sends one message through siu_map and applies its events. */
static void send(struct fx *f, struct schedule *s, char *m) {
  struct adt_result r;
  struct adt_error e;
  struct error err;
  int rc = map(f, m, strlen(m), &r, &e);
  if (rc != 0)
    fail_msg("map: %s", e.text);
  for (size_t i = 0; i < r.n; i++)
    if (schedule_apply(s, &r.ev[i], &err) != 0)
      fail_msg("apply: %s", err.msg);
  mem_free(m);
}

static void test_worked_example(void **state) {
  struct fx *f = *state;
  static const struct {
    const char *prof, *start;
  } slots[] = {
      {"A", "20250303140000"}, {"A", "20250304090000"}, {"A", "20250310090000"},
      {"B", "20250312090000"}, {"B", "20250313090000"}, {"B", "20250313100000"},
      {"C", "20250305090000"}, {"C", "20250320090000"}, {"C", "20250324090000"},
      {"D", "20250306090000"}, {"D", "20250307090000"}, {"D", "20250317090000"},
      {"E", "20250304090000"}, {"E", "20250305090000"},
  };
  struct schedule *s = schedule_new();
  struct t3_summary sum;
  struct error err;
  struct buf b;
  int64_t t0;
  char ctl[16], id[16];
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    snprintf(ctl, sizeof ctl, "W%zu", i);
    snprintf(id, sizeof id, "SL%zu", i);
    send(f, s,
         siu("S12", ctl, id, slots[i].prof, slots[i].start, "ROUTINE", "Normal",
             "", "TA1", false));
  }
  /* B: an earlier slot that is booked; D: an urgent slot today; C: a slot
   * today that is opened and then deleted: none of them counts. */
  send(f, s,
       siu("S12", "X1", "XB", "B", "20250305090000", "ROUTINE", "", "", "TA1",
           true));
  send(f, s,
       siu("S12", "X2", "XD", "D", "20250303100000", "EMERGENCY", "", "", "TA1",
           false));
  send(f, s,
       siu("S12", "X3", "XC", "C", "20250303090000", "ROUTINE", "", "", "TA1",
           false));
  send(f, s,
       siu("S17", "X4", "XC", "C", "20250303090000", "ROUTINE", "", "", "TA1",
           false));
  /* E's book: a third slot booked, then cancelled (S15) frees it, then
   * booked again (S12 with a patient): E stays censored */
  send(f, s,
       siu("S12", "X5", "XE", "E", "20250306090000", "ROUTINE", "", "", "TA1",
           false));
  send(f, s,
       siu("S12", "X6", "XE", "E", "20250306090000", "ROUTINE", "", "", "TA1",
           true));
  send(f, s,
       siu("S15", "X7", "XE", "E", "20250306090000", "ROUTINE", "", "", "TA1",
           true));
  send(f, s,
       siu("S12", "X8", "XE", "E", "20250306090000", "ROUTINE", "", "", "TA1",
           true));
  assert_int_equal(schedule_professionals(s), 5);

  assert_int_equal(
      t3_measure_time(chrono_days_from_civil(2025, 3, 3), 8, 0, &t0), 0);
  assert_int_equal(schedule_t3(s, "ta", T3_PHYSICIAN, t0, NULL, &sum, &err), 0);
  assert_int_equal(sum.n, 5);
  assert_int_equal(sum.censored, 1);
  assert_true(sum.thl.has_value);
  assert_true(sum.thl.median == 14.0);
  assert_int_equal(sum.thl.n, 5);
  assert_true(sum.excl.median == 12.0);
  assert_int_equal(sum.excl.n, 4);
  /* (7 + 10 + 21 + 14 + 182) / 5 */
  assert_true(sum.thl.mean == 46.8);

  /* other groups and units are empty */
  assert_int_equal(schedule_t3(s, "ta", T3_NURSE, t0, NULL, &sum, &err), 0);
  assert_int_equal(sum.n, 0);
  assert_int_equal(schedule_t3(s, "lab", T3_PHYSICIAN, t0, NULL, &sum, &err),
                   0);
  assert_int_equal(sum.n, 0);

  buf_init(&b, 4096);
  assert_int_equal(schedule_t3_json(s, "ta", T3_PHYSICIAN, t0, NULL, &b, &err),
                   0);
  assert_non_null(strstr(buf_str(&b), "\"n\":5,\"censored\":1,"
                                      "\"thl\":{\"rule\":\"thl\",\"n\":5,"
                                      "\"median\":14.0,"));
  assert_non_null(strstr(buf_str(&b), "\"excluding_censored\":{\"rule\":"
                                      "\"excluding_censored\",\"n\":4,"
                                      "\"median\":12.0,"));
  buf_release(&b);

  /* cancelling E's booking frees E's third slot (03-06 = 3 days):
   * {3,7,10,14,21} -> 10, nothing censored */
  send(f, s,
       siu("S15", "X9", "XE", "E", "20250306090000", "ROUTINE", "", "", "TA1",
           true));
  assert_int_equal(schedule_t3(s, "ta", T3_PHYSICIAN, t0, NULL, &sum, &err), 0);
  assert_int_equal(sum.censored, 0);
  assert_true(sum.thl.median == 10.0);
  schedule_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_files),
      cmocka_unit_test(test_shared_times_and_people),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_visit_defaults),
      cmocka_unit_test(test_visit_zht_fields),
      cmocka_unit_test(test_zht_errors),
      cmocka_unit_test(test_visit_age),
      cmocka_unit_test(test_worked_example),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
