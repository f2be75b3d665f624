/* adt.c -- HL7 v2 ADT to canonical episode events.
 *
 * One table maps each trigger to an event kind and says where its unit
 * comes from. Every failure names the segment and field, with an HL7 table
 * 0357 code, so the ACK can say exactly what was wrong. Texts never carry an
 * identity code or a name: at most a location or bed code.
 *
 * The access-to-care ZHT segment is read here once (adt_zht_parse) and
 * applied to a visit.completed (adt_zht_apply) by this module's A03 rule
 * and by siu.c, so both mappers treat it identically; likewise the age on
 * the assessment date (adt_visit_age) from the birth date adt_map_person
 * derives. */
#include "adt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "chrono.h"
#include "hetu.h"

#define ID_MAX 64 /* longest patient identifier we accept */

enum unit_from { FROM_PV1_3, FROM_PV1_42 };

struct trigger {
  const char *code;
  enum event_kind kind;
  enum unit_from unit_from;
  bool ready_source; /* may carry the ready-for-transfer segment */
};

static const struct trigger triggers[] = {
    {"A01", EV_ADMITTED, FROM_PV1_3, true},
    {"A02", EV_TRANSFERRED, FROM_PV1_3, true},
    {"A03", EV_DISCHARGED, FROM_PV1_3, false},
    {"A04", EV_REGISTERED, FROM_PV1_3, false},
    {"A05", EV_PENDING_ADMIT, FROM_PV1_3, false},
    {"A06", EV_ADMITTED, FROM_PV1_3, true},
    {"A07", EV_TO_OUTPATIENT, FROM_PV1_3, false},
    {"A08", EV_UPDATED, FROM_PV1_3, true},
    {"A11", EV_ADMIT_CANCELLED, FROM_PV1_3, false},
    {"A12", EV_TRANSFER_CANCELLED, FROM_PV1_3, false},
    {"A13", EV_DISCHARGE_CANCELLED, FROM_PV1_3, false},
    {"A14", EV_PENDING_ADMIT, FROM_PV1_3, false},
    {"A15", EV_PENDING_TRANSFER, FROM_PV1_42, false},
    {"A21", EV_LEAVE_STARTED, FROM_PV1_3, false},
    {"A22", EV_LEAVE_ENDED, FROM_PV1_3, false},
    {"A26", EV_PENDING_TRANSFER_CANCELLED, FROM_PV1_42, false},
    {"A27", EV_PENDING_ADMIT_CANCELLED, FROM_PV1_3, false},
    {"A38", EV_PENDING_ADMIT_CANCELLED, FROM_PV1_3, false},
    {"A52", EV_LEAVE_START_CANCELLED, FROM_PV1_3, false},
    {"A53", EV_LEAVE_END_CANCELLED, FROM_PV1_3, false},
};

static bool span_eq(struct hl7_span s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static bool span_contains(struct hl7_span s, const char *lit) {
  size_t n = strlen(lit);
  if (n == 0 || s.len < n)
    return false;
  for (size_t i = 0; i + n <= s.len; i++)
    if (memcmp(s.p + i, lit, n) == 0)
      return true;
  return false;
}

static struct hl7_span field(const struct hl7_msg *msg,
                             const struct hl7_seg *seg, unsigned f,
                             unsigned rep, unsigned comp) {
  struct hl7_span none = {NULL, 0};
  if (seg == NULL)
    return none;
  return hl7_get(msg, seg, f, rep, comp, 0);
}

int adt_fail(struct adt_error *e, const char *seg, unsigned f, unsigned comp,
             int code, const char *fmt, ...) {
  va_list ap;
  memset(e, 0, sizeof *e);
  snprintf(e->segment, sizeof e->segment, "%s", seg);
  e->occurrence = 1;
  e->field = f;
  e->component = comp;
  e->hl7_code = code;
  va_start(ap, fmt);
  vsnprintf(e->text, sizeof e->text, fmt, ap);
  va_end(ap);
  return code == 200 || code == 201 ? ERR_UNSUPPORTED : ERR_MAPPING;
}

/* Copies a code (location, bed) for use in an error text: printable ASCII
 * only, shortened. */
static void code_text(struct hl7_span s, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < s.len && n + 1 < cap && n < 40; i++) {
    unsigned char ch = (unsigned char)s.p[i];
    out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  out[n] = '\0';
}

int adt_check_header(const struct hl7_msg *msg, const char *type,
                     struct hl7_span *trigger, struct hl7_span *key,
                     struct adt_error *e) {
  const struct hl7_seg *msh = hl7_segment(msg, "MSH", 0);
  struct hl7_span k;
  char code[48];
  if (msh == NULL)
    return adt_fail(e, "MSH", 0, 0, 100, "MSH: segment missing");
  if (!span_eq(field(msg, msh, 9, 0, 1), type)) {
    code_text(field(msg, msh, 9, 0, 1), code, sizeof code);
    return adt_fail(e, "MSH", 9, 1, 200, "MSH-9: unsupported message type '%s'",
                    code);
  }
  k = field(msg, msh, 10, 0, 0);
  if (k.len == 0)
    return adt_fail(e, "MSH", 10, 0, 101, "MSH-10: message control id missing");
  if (k.len >= EVENT_KEY_MAX)
    return adt_fail(e, "MSH", 10, 0, 102, "MSH-10: control id too long");
  *trigger = field(msg, msh, 9, 0, 2);
  *key = k;
  return 0;
}

int adt_fail_trigger(struct hl7_span trigger, struct adt_error *e) {
  char code[48];
  code_text(trigger, code, sizeof code);
  return adt_fail(e, "MSH", 9, 2, 201, "MSH-9: unsupported event '%s'", code);
}

bool adt_handles(const struct hl7_msg *msg) {
  const struct hl7_seg *msh = hl7_segment(msg, "MSH", 0);
  return msh != NULL && span_eq(field(msg, msh, 9, 0, 1), "ADT");
}

/* Parses a timestamp field; 1 when present and valid, 0 when empty,
 * negative when present but malformed. */
static int ts_field(const struct hl7_msg *msg, const struct hl7_seg *seg,
                    unsigned f, int64_t *ms) {
  struct hl7_span s = field(msg, seg, f, 0, 1);
  if (s.len == 0)
    return 0;
  if (chrono_parse_hl7_ts(s.p, s.len, ms, NULL) < 0)
    return -1;
  return 1;
}

/* 's' without leading and trailing blanks; the HL7 null "" as empty. */
static struct hl7_span trim(struct hl7_span s) {
  while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
    s.p++;
    s.len--;
  }
  while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
    s.len--;
  if (span_eq(s, "\"\""))
    s.len = 0;
  return s;
}

static bool span_ieq(struct hl7_span s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || strncasecmp(s.p, lit, n) == 0);
}

/* ZHT-6 codes and the channels they stand for; all but the first remote. */
static const struct {
  const char *code, *channel;
} zht_channels[] = {
    {"IN_PERSON", EVENT_CONTACT_IN_PERSON}, {"PHONE", EVENT_CONTACT_PHONE},
    {"VIDEO", EVENT_CONTACT_VIDEO},         {"CHAT", EVENT_CONTACT_CHAT},
    {"ESERVICE", EVENT_CONTACT_ESERVICE},
};

static const struct {
  const char *code;
  uint32_t flag;
} zht_exclusions[] = {
    {"CARE_PLAN", EVENT_F_CARE_PLAN},
    {"CERTIFICATE", EVENT_F_CERTIFICATE},
    {"SPECIALIST", EVENT_F_SPECIALIST},
    {"PROMOTION", EVENT_F_PROMOTION},
};

/* A ZHT time field: 1 set, 0 not sent, or the adt_fail code. */
static int zht_time(const struct hl7_msg *msg, const struct hl7_seg *zht,
                    unsigned f, int64_t *ms, struct adt_error *e) {
  struct hl7_span s = trim(field(msg, zht, f, 0, 1));
  if (s.len == 0)
    return 0;
  if (chrono_parse_hl7_ts(s.p, s.len, ms, NULL) < 0)
    return adt_fail(e, "ZHT", f, 1, 102, "ZHT-%u: malformed timestamp", f);
  return 1;
}

int adt_zht_parse(const struct hl7_msg *msg, struct adt_zht *out,
                  struct adt_error *e) {
  const struct hl7_seg *zht = hl7_segment(msg, "ZHT", 0);
  struct adt_zht z;
  struct hl7_span v;
  char code[48];
  int rc;
  memset(&z, 0, sizeof z);
  z.urgent = -1;
  if (zht == NULL) {
    *out = z;
    return 0;
  }
  z.present = true;
  if ((rc = zht_time(msg, zht, 2, &z.assessed_at, e)) < 0)
    return rc;
  if ((rc = zht_time(msg, zht, 3, &z.contact_at, e)) < 0)
    return rc;
  v = trim(field(msg, zht, 4, 0, 1));
  if (span_ieq(v, "U"))
    z.urgent = 1;
  else if (span_ieq(v, "N"))
    z.urgent = 0;
  else if (v.len > 0) {
    code_text(v, code, sizeof code);
    return adt_fail(e, "ZHT", 4, 1, 103,
                    "ZHT-4: unknown urgency '%s' (U or N expected)", code);
  }
  v = trim(field(msg, zht, 5, 0, 1));
  if (v.len >= EVENT_CODE_MAX)
    return adt_fail(e, "ZHT", 5, 1, 102,
                    "ZHT-5: professional group longer than %d",
                    EVENT_CODE_MAX - 1);
  event_set_str(z.prof_group, sizeof z.prof_group, v.p ? v.p : "", v.len);
  v = trim(field(msg, zht, 6, 0, 1));
  if (v.len > 0) {
    for (size_t i = 0; i < ARRAY_LEN(zht_channels); i++)
      if (span_ieq(v, zht_channels[i].code))
        z.channel = zht_channels[i].channel;
    if (z.channel == NULL) {
      code_text(v, code, sizeof code);
      return adt_fail(e, "ZHT", 6, 1, 103,
                      "ZHT-6: unknown contact channel '%s'", code);
    }
  }
  for (unsigned r = 0, n = hl7_reps(msg, zht, 7); r < n; r++) {
    uint32_t flag = 0;
    v = trim(field(msg, zht, 7, r, 1));
    if (v.len == 0)
      continue;
    for (size_t i = 0; i < ARRAY_LEN(zht_exclusions); i++)
      if (span_ieq(v, zht_exclusions[i].code))
        flag = zht_exclusions[i].flag;
    if (flag == 0) {
      code_text(v, code, sizeof code);
      return adt_fail(e, "ZHT", 7, 1, 103, "ZHT-7: unknown exclusion '%s'",
                      code);
    }
    z.exclusions |= flag;
  }
  *out = z;
  return 0;
}

int adt_zht_apply(const struct adt_zht *z, struct event *ev,
                  struct adt_error *e) {
  if (!z->present)
    return 0;
  if (z->assessed_at != 0 &&
      chrono_local_date(z->assessed_at) > chrono_local_date(ev->occurred_at))
    return adt_fail(e, "ZHT", 2, 1, 102,
                    "ZHT-2: needs assessment after the visit");
  if (z->contact_at != 0 &&
      chrono_local_date(z->contact_at) > chrono_local_date(ev->occurred_at))
    return adt_fail(e, "ZHT", 3, 1, 102,
                    "ZHT-3: first contact after the visit");
  if (z->assessed_at != 0)
    ev->attrs.assessed_at = z->assessed_at;
  if (z->contact_at != 0)
    ev->attrs.contact_at = z->contact_at;
  if (z->urgent == 1)
    ev->attrs.flags |= EVENT_F_URGENT;
  else if (z->urgent == 0)
    ev->attrs.flags &= ~EVENT_F_URGENT;
  if (z->prof_group[0] != '\0')
    memcpy(ev->attrs.prof_group, z->prof_group, sizeof ev->attrs.prof_group);
  if (z->channel != NULL) {
    bool remote = strcmp(z->channel, EVENT_CONTACT_IN_PERSON) != 0;
    event_set_str(ev->attrs.contact_channel, sizeof ev->attrs.contact_channel,
                  z->channel, strlen(z->channel));
    if (remote)
      ev->attrs.flags |= EVENT_F_REMOTE;
    else
      ev->attrs.flags &= ~EVENT_F_REMOTE;
  }
  ev->attrs.flags |= z->exclusions;
  return 0;
}

int adt_age_years(int32_t birth_day, int32_t on_day) {
  int by, bm, bd, y, m, d, age;
  if (birth_day == ADT_BIRTH_UNKNOWN || on_day < birth_day)
    return -1;
  chrono_civil_from_days(birth_day, &by, &bm, &bd);
  chrono_civil_from_days(on_day, &y, &m, &d);
  age = y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
  return age >= 0 && age <= 150 ? age : -1;
}

static int pick_time(const struct hl7_msg *msg, const struct trigger *t,
                     int64_t *out, struct adt_error *e) {
  const struct hl7_seg *evn = hl7_segment(msg, "EVN", 0);
  const struct hl7_seg *pv1 = hl7_segment(msg, "PV1", 0);
  const struct hl7_seg *msh = hl7_segment(msg, "MSH", 0);
  int64_t ms = 0;
  int rc;
  if ((rc = ts_field(msg, evn, 6, &ms)) != 0) {
    if (rc < 0)
      return adt_fail(e, "EVN", 6, 1, 102, "EVN-6: malformed timestamp");
    *out = ms;
    return 0;
  }
  if (t->kind == EV_ADMITTED || t->kind == EV_DISCHARGED) {
    unsigned f = t->kind == EV_ADMITTED ? 44 : 45;
    rc = ts_field(msg, pv1, f, &ms);
    if (rc < 0)
      return adt_fail(e, "PV1", f, 1, 102, "PV1-%u: malformed timestamp", f);
    if (rc > 0) {
      *out = ms;
      return 0;
    }
  }
  if ((rc = ts_field(msg, evn, 2, &ms)) != 0) {
    if (rc < 0)
      return adt_fail(e, "EVN", 2, 1, 102, "EVN-2: malformed timestamp");
    *out = ms;
    return 0;
  }
  if ((rc = ts_field(msg, msh, 7, &ms)) > 0) {
    *out = ms;
    return 0;
  }
  return adt_fail(e, "MSH", 7, 1, rc < 0 ? 102 : 101,
                  rc < 0 ? "MSH-7: malformed timestamp"
                         : "EVN-2, EVN-6 and MSH-7: no event time");
}

/* Finds the patient identifier in PID-3: the repetition whose assigning
 * authority is the henkilötunnus OID 1.2.246.21 (or type NNFIN), else the
 * first non-empty one; then PID-2. */
static int pick_identifier(const struct hl7_msg *msg, const struct hl7_seg *pid,
                           struct hl7_span *id, bool *is_hetu_system) {
  unsigned reps = hl7_reps(msg, pid, 3);
  long first = -1;
  for (unsigned r = 0; r < reps; r++) {
    struct hl7_span v = field(msg, pid, 3, r, 1);
    if (v.len == 0)
      continue;
    if (span_contains(field(msg, pid, 3, r, 4), "1.2.246.21") ||
        span_eq(field(msg, pid, 3, r, 5), "NNFIN")) {
      *id = v;
      *is_hetu_system = true;
      return 0;
    }
    if (first < 0)
      first = (long)r;
  }
  *is_hetu_system = false;
  if (first >= 0) {
    *id = field(msg, pid, 3, (unsigned)first, 1);
    return 0;
  }
  *id = field(msg, pid, 2, 0, 1);
  return id->len > 0 ? 0 : -1;
}

static int16_t age_band_of(int32_t birth_day, int32_t on_day) {
  int by, bm, bd, y, m, d, age;
  if (birth_day > on_day)
    return -1;
  chrono_civil_from_days(birth_day, &by, &bm, &bd);
  chrono_civil_from_days(on_day, &y, &m, &d);
  age = y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
  if (age < 0)
    return -1;
  if (age > 95)
    age = 95;
  return (int16_t)(age / 5 * 5);
}

void adt_visit_age(struct event *ev, int32_t birth_day) {
  int32_t on = ev->attrs.assessed_at != 0
                   ? chrono_local_date(ev->attrs.assessed_at)
                   : ev->local_date;
  ev->attrs.age_years = (int16_t)adt_age_years(birth_day, on);
  if (birth_day != ADT_BIRTH_UNKNOWN)
    ev->attrs.age_band = age_band_of(birth_day, ev->local_date);
}

static const struct org_unit *map_unit(const struct hl7_msg *msg,
                                       const struct org *org,
                                       const struct org_channel *ch,
                                       const struct hl7_seg *pv1, unsigned f,
                                       struct adt_error *e, int *rc) {
  /* The point of care may carry subcomponents (an HD: "W1&1.2.3&ISO"):
   * its first subcomponent names it. */
  struct hl7_span poc =
      pv1 ? hl7_get(msg, pv1, f, 0, 1, 1) : field(msg, pv1, f, 0, 1);
  const struct org_unit *u;
  char code[48];
  if (poc.len == 0) {
    *rc = adt_fail(e, "PV1", f, 1, 101, "PV1-%u: point of care missing", f);
    return NULL;
  }
  u = org_channel_location(org, ch, poc.p, poc.len);
  if (u == NULL) {
    code_text(poc, code, sizeof code);
    *rc = adt_fail(e, "PV1", f, 1, 103, "PV1-%u: unknown point of care '%s'", f,
                   code);
    return NULL;
  }
  *rc = 0;
  return u;
}

int adt_map_person(const struct hl7_msg *msg, const struct hl7_seg *pid,
                   const struct privacy_keys *keys, int64_t received_at,
                   struct event *ev, uint32_t *flags, int32_t *birth_day,
                   struct adt_error *e) {
  int32_t born = ADT_BIRTH_UNKNOWN;
  struct hl7_span id;
  struct hetu_info info;
  bool hetu_system = false;
  int32_t today = chrono_local_date(received_at);
  char idbuf[ID_MAX + 1];
  if (pid == NULL)
    return adt_fail(e, "PID", 0, 0, 100, "PID: segment missing");
  if (pick_identifier(msg, pid, &id, &hetu_system) < 0)
    return adt_fail(e, "PID", 3, 1, 101, "PID-3: no patient identifier");
  if (id.len > ID_MAX)
    return adt_fail(e, "PID", 3, 1, 102, "PID-3: identifier longer than %d",
                    ID_MAX);
  (void)hetu_system;
  memcpy(idbuf, id.p, id.len);
  idbuf[id.len] = '\0';
  memset(&info, 0, sizeof info);
  if (hetu_check(idbuf, id.len, today, &info, NULL) == 0) {
    if (info.temporary)
      *flags |= EVENT_F_TEMPORARY_ID;
    born = info.birth_day;
    ev->attrs.age_band = age_band_of(born, ev->local_date);
    ev->attrs.sex = info.sex;
  } else {
    int64_t bms;
    struct hl7_span sex = field(msg, pid, 8, 0, 1);
    *flags |= EVENT_F_UNVERIFIED_ID;
    if (ts_field(msg, pid, 7, &bms) > 0) {
      born = chrono_local_date(bms);
      ev->attrs.age_band = age_band_of(born, ev->local_date);
    }
    if (span_eq(sex, "M") || span_eq(sex, "F"))
      ev->attrs.sex = sex.p[0];
  }
  privacy_pseudonym(keys, "person", idbuf, id.len, ev->subject);
  sodium_memzero(idbuf, sizeof idbuf);
  if (birth_day != NULL)
    *birth_day = born;
  return 0;
}

/* Appends 'len' bytes at 'p', stopping at a NUL (as "%.*s" does), to the
 * 'n' bytes in 'out' (room for 'cap' bytes and a NUL); truncates. Returns the
 * new length; out[new length] is NUL. */
static size_t put_bytes(char *out, size_t cap, size_t n, const char *p,
                        size_t len) {
  size_t k = p != NULL ? strnlen(p, len) : 0;
  if (k > cap - 1 - n)
    k = cap - 1 - n;
  if (k > 0)
    memcpy(out + n, p, k);
  out[n + k] = '\0';
  return n + k;
}

static size_t put_cstr(char *out, size_t cap, size_t n, const char *s) {
  return put_bytes(out, cap, n, s, strlen(s));
}

/* Pseudonym of "<channel>|<id>" in 'domain' (as siu.c does). */
static void pseudo_id(const struct privacy_keys *keys, const char *domain,
                      const struct org_channel *ch, struct hl7_span id,
                      char out[EVENT_PSEUDO_MAX]) {
  char tmp[EVENT_ID_MAX + ID_MAX + 2];
  size_t n = put_cstr(tmp, sizeof tmp, 0, ch->id);
  n = put_cstr(tmp, sizeof tmp, n, "|");
  n = put_bytes(tmp, sizeof tmp, n, id.p, id.len);
  privacy_pseudonym(keys, domain, tmp, n, out);
}

/* True when an A03 with patient class 'cls' at 'unit' is also a visit. */
static bool discharge_is_visit(const struct org_unit *unit, struct hl7_span cls,
                               const struct adt_zht *z) {
  return z->present || (span_eq(cls, "O") && unit->type != NULL &&
                        strcmp(unit->type, "health_station") == 0);
}

/* Appends the visit.completed of the A03 in r->ev[0] (see adt.h). 'when'
 * is the A03's event time. 0, or the adt_fail code (r untouched). */
static int add_visit(const struct hl7_msg *msg, const struct hl7_seg *pv1,
                     const struct org_channel *ch,
                     const struct privacy_keys *keys, const struct adt_zht *z,
                     int32_t birth_day, int64_t when, struct adt_result *r,
                     struct adt_error *e) {
  struct hl7_span svc = trim(field(msg, pv1, 10, 0, 1));
  struct hl7_span doc = trim(field(msg, pv1, 7, 0, 1));
  struct event v;
  int64_t at = when;
  int rc;
  if (r->n >= ADT_MAX_EVENTS)
    return adt_fail(e, "MSH", 9, 2, 207, "MSH-9: more than %d events",
                    ADT_MAX_EVENTS);
  rc = ts_field(msg, pv1, 44, &at);
  if (rc < 0)
    return adt_fail(e, "PV1", 44, 1, 102, "PV1-44: malformed timestamp");
  if (rc == 0)
    at = when;
  if (z->prof_group[0] == '\0' && svc.len >= EVENT_CODE_MAX)
    return adt_fail(e, "PV1", 10, 1, 102,
                    "PV1-10: hospital service longer than %d",
                    EVENT_CODE_MAX - 1);
  if (doc.len > ID_MAX)
    return adt_fail(e, "PV1", 7, 1, 102,
                    "PV1-7: attending doctor id longer than %d", ID_MAX);
  v = r->ev[0];
  v.kind = EV_VISIT_COMPLETED;
  v.occurred_at = at;
  v.local_date = chrono_local_date(at);
  v.attrs.expected_discharge = 0;
  if (v.attrs.flags & EVENT_F_EMERGENCY)
    v.attrs.flags |= EVENT_F_URGENT;
  event_set_str(v.attrs.prof_group, sizeof v.attrs.prof_group,
                svc.p ? svc.p : "", svc.len);
  event_set_str(v.attrs.contact_channel, sizeof v.attrs.contact_channel,
                EVENT_CONTACT_IN_PERSON, strlen(EVENT_CONTACT_IN_PERSON));
  if (doc.len > 0)
    pseudo_id(keys, "professional", ch, doc, v.attrs.professional);
  rc = adt_zht_apply(z, &v, e);
  if (rc < 0)
    return rc;
  adt_visit_age(&v, birth_day);
  r->ev[r->n++] = v;
  return 0;
}

int adt_map(const struct hl7_msg *msg, const struct org *org,
            const struct org_channel *ch, const struct privacy_keys *keys,
            int64_t received_at, struct adt_result *out, struct adt_error *e) {
  const struct hl7_seg *pid = hl7_segment(msg, "PID", 0);
  const struct hl7_seg *pv1 = hl7_segment(msg, "PV1", 0);
  const struct hl7_seg *pv2 = hl7_segment(msg, "PV2", 0);
  const struct hl7_seg *pd1 = hl7_segment(msg, "PD1", 0);
  const struct trigger *t = NULL;
  struct hl7_span trig, id, key, visit, bed;
  struct adt_result r;
  struct event *ev;
  const struct org_unit *unit;
  bool hetu_system = false;
  int64_t when = 0;
  int32_t birth_day = ADT_BIRTH_UNKNOWN;
  struct adt_zht zht;
  int rc;
  char code[48];

  rc = adt_check_header(msg, "ADT", &trig, &key, e);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < ARRAY_LEN(triggers); i++)
    if (span_eq(trig, triggers[i].code))
      t = &triggers[i];
  if (t == NULL)
    return adt_fail_trigger(trig, e);
  if (pid == NULL)
    return adt_fail(e, "PID", 0, 0, 100, "PID: segment missing");
  if (pv1 == NULL)
    return adt_fail(e, "PV1", 0, 0, 100, "PV1: segment missing");
  if (pick_identifier(msg, pid, &id, &hetu_system) < 0)
    return adt_fail(e, "PID", 3, 1, 101, "PID-3: no patient identifier");
  if (id.len > ID_MAX)
    return adt_fail(e, "PID", 3, 1, 102, "PID-3: identifier longer than %d",
                    ID_MAX);
  rc = pick_time(msg, t, &when, e);
  if (rc < 0)
    return rc;
  rc = adt_zht_parse(msg, &zht, e);
  if (rc < 0)
    return rc;

  memset(&r, 0, sizeof r);
  ev = &r.ev[0];
  event_init(ev);
  ev->kind = t->kind;
  ev->occurred_at = when;
  ev->local_date = chrono_local_date(when);
  event_set_str(ev->channel, sizeof ev->channel, ch->id, strlen(ch->id));
  event_set_str(ev->source_key, sizeof ev->source_key, key.p, key.len);

  /* Unit and bed. */
  unit =
      map_unit(msg, org, ch, pv1, t->unit_from == FROM_PV1_42 ? 42 : 3, e, &rc);
  if (unit == NULL)
    return rc;
  if (!event_set_str(ev->unit, sizeof ev->unit, unit->id, strlen(unit->id)))
    return adt_fail(e, "PV1", 3, 1, 207, "PV1-3: unit id too long");
  bed = hl7_get(msg, pv1, t->unit_from == FROM_PV1_42 ? 42 : 3, 0, 3, 1);
  if (bed.len > 0) {
    if (bed.len >= EVENT_BED_MAX ||
        (unit->nbeds > 0 && !org_unit_has_bed(unit, bed.p, bed.len))) {
      code_text(bed, code, sizeof code);
      return adt_fail(e, "PV1", 3, 3, 103,
                      "PV1-3: unknown bed '%s' on unit '%s'", code, unit->id);
    }
    event_set_str(ev->attrs.bed, sizeof ev->attrs.bed, bed.p, bed.len);
  }
  if (t->kind == EV_TRANSFERRED || t->kind == EV_TRANSFER_CANCELLED) {
    struct hl7_span prior = hl7_get(msg, pv1, 6, 0, 1, 1);
    const struct org_unit *pu =
        prior.len ? org_channel_location(org, ch, prior.p, prior.len) : NULL;
    if (pu != NULL) {
      struct hl7_span pbed = hl7_get(msg, pv1, 6, 0, 3, 1);
      event_set_str(ev->attrs.from_unit, sizeof ev->attrs.from_unit, pu->id,
                    strlen(pu->id));
      if (pbed.len > 0 && pbed.len < EVENT_BED_MAX)
        event_set_str(ev->attrs.from_bed, sizeof ev->attrs.from_bed, pbed.p,
                      pbed.len);
    }
  }

  /* The person: validated, pseudonymised, reduced to age band and sex. */
  rc = adt_map_person(msg, pid, keys, received_at, ev, &r.flags, &birth_day, e);
  if (rc < 0)
    return rc;
  (void)hetu_system;

  /* The episode: the visit number, else one episode per person. */
  visit = field(msg, pv1, 19, 0, 1);
  {
    char ep[EVENT_ID_MAX + EVENT_KEY_MAX + 2 * EVENT_PSEUDO_MAX];
    size_t n = put_cstr(ep, sizeof ep, 0, ch->id);
    if (visit.len > 0 && visit.len < EVENT_KEY_MAX) {
      n = put_cstr(ep, sizeof ep, n, "|visit|");
      n = put_bytes(ep, sizeof ep, n, visit.p, visit.len);
    } else {
      n = put_cstr(ep, sizeof ep, n, "|person|");
      n = put_cstr(ep, sizeof ep, n, ev->subject);
    }
    privacy_pseudonym(keys, "episode", ep, n, ev->episode);
  }

  /* Attributes. */
  {
    struct hl7_span cls = field(msg, pv1, 2, 0, 1);
    struct hl7_span adm_type = field(msg, pv1, 4, 0, 1);
    struct hl7_span prot = field(msg, pd1, 12, 0, 1);
    int64_t exp;
    if (cls.len > 0 && cls.len < EVENT_CODE_MAX)
      event_set_str(ev->attrs.patient_class, sizeof ev->attrs.patient_class,
                    cls.p, cls.len);
    if (span_eq(cls, "E") || span_eq(adm_type, "E"))
      r.flags |= EVENT_F_EMERGENCY;
    if (span_eq(prot, "Y"))
      r.flags |= EVENT_F_TURVAKIELTO;
    if (ts_field(msg, pv2, 9, &exp) > 0)
      ev->attrs.expected_discharge = exp;
  }
  ev->attrs.flags = r.flags;
  r.n = 1;

  /* A discharge that is also a completed visit (adt.h). */
  if (t->kind == EV_DISCHARGED &&
      discharge_is_visit(unit, field(msg, pv1, 2, 0, 1), &zht)) {
    rc = add_visit(msg, pv1, ch, keys, &zht, birth_day, when, &r, e);
    if (rc < 0)
      return rc;
  }

  /* Ready for transfer (siirtokelpoinen), from the channel's source. */
  if (t->ready_source && ch->ready.segment != NULL && r.n < ADT_MAX_EVENTS) {
    const struct hl7_seg *rs = hl7_segment(msg, ch->ready.segment, 0);
    if (rs != NULL) {
      struct hl7_span v =
          hl7_get(msg, rs, ch->ready.field, 0, ch->ready.component, 0);
      bool ready =
          ch->ready.value != NULL ? span_eq(v, ch->ready.value) : v.len > 0;
      struct event *e2 = &r.ev[1];
      *e2 = *ev;
      e2->kind = EV_READY_FOR_TRANSFER;
      e2->attrs.expected_discharge = 0;
      if (ready)
        e2->attrs.ready_since = when;
      else
        e2->attrs.flags |= EVENT_F_READY_CLEARED;
      r.n = 2;
    }
  }
  *out = r;
  return 0;
}
