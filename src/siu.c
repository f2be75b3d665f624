/* siu.c -- HL7 v2 SIU to canonical slot, appointment and visit events.
 *
 * One table maps each trigger to the events it yields with and without a
 * patient (see siu.h). Every failure names the segment and field with an
 * HL7 table 0357 code, through adt_fail, so the ACK says what was wrong.
 * The patient goes through adt_map_person, the same code as ADT, so no
 * identity code leaves the mapper. Texts never carry an identity code or a
 * name: at most a location code. */
#include "siu.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chrono.h"

#define SIU_ID_MAX 64 /* longest slot or professional id accepted */

struct trigger {
  const char *code;
  enum event_kind free_kinds[2];    /* no patient; EV_NONE ends */
  enum event_kind patient_kinds[2]; /* with a patient */
  bool completes; /* SCH-25 "Complete" with a patient makes a visit */
};

static const struct trigger triggers[] = {
    {"S12",
     {EV_SLOT_OPENED, EV_NONE},
     {EV_SLOT_BOOKED, EV_APPOINTMENT_BOOKED},
     true},
    {"S13", {EV_SLOT_OPENED, EV_NONE}, {EV_SLOT_BOOKED, EV_NONE}, false},
    {"S14", {EV_SLOT_OPENED, EV_NONE}, {EV_SLOT_BOOKED, EV_NONE}, true},
    {"S15",
     {EV_SLOT_REMOVED, EV_NONE},
     {EV_APPOINTMENT_CANCELLED, EV_SLOT_RELEASED},
     false},
    {"S17",
     {EV_SLOT_REMOVED, EV_NONE},
     {EV_APPOINTMENT_CANCELLED, EV_SLOT_RELEASED},
     false},
    {"S26",
     {EV_APPOINTMENT_NOSHOW, EV_NONE},
     {EV_APPOINTMENT_NOSHOW, EV_NONE},
     false},
};

static struct hl7_span get(const struct hl7_msg *msg, const struct hl7_seg *seg,
                           unsigned f, unsigned comp, unsigned sub) {
  struct hl7_span none = {NULL, 0};
  if (seg == NULL)
    return none;
  return hl7_get(msg, seg, f, 0, comp, sub);
}

/* 's' without leading and trailing blanks. */
static struct hl7_span trim(struct hl7_span s) {
  while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
    s.p++;
    s.len--;
  }
  while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
    s.len--;
  return s;
}

static bool span_ieq(struct hl7_span s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static void code_text(struct hl7_span s, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < s.len && n + 1 < cap && n < 40; i++) {
    unsigned char ch = (unsigned char)s.p[i];
    out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  out[n] = '\0';
}

bool siu_handles(const struct hl7_msg *msg) {
  const struct hl7_seg *msh = hl7_segment(msg, "MSH", 0);
  return msh != NULL && hl7_span_eq(get(msg, msh, 9, 1, 0), "SIU");
}

/* A timestamp in (seg, f, comp): 1 when present and valid, 0 when empty,
 * -1 when malformed. */
static int ts_at(const struct hl7_msg *msg, const struct hl7_seg *seg,
                 unsigned f, unsigned comp, int64_t *ms) {
  struct hl7_span s = trim(get(msg, seg, f, comp, 0));
  if (s.len == 0)
    return 0;
  return chrono_parse_hl7_ts(s.p, s.len, ms, NULL) < 0 ? -1 : 1;
}

struct ts_source {
  const char *seg;
  unsigned field, comp;
};

/* The first present timestamp of 'src'; 0 when none, or a mapping error. */
static int first_ts(const struct hl7_msg *msg, const struct ts_source *src,
                    size_t n, int64_t *out, bool *found, struct adt_error *e) {
  *found = false;
  for (size_t i = 0; i < n; i++) {
    const struct hl7_seg *seg = hl7_segment(msg, src[i].seg, 0);
    int rc = ts_at(msg, seg, src[i].field, src[i].comp, out);
    if (rc < 0)
      return adt_fail(e, src[i].seg, src[i].field, src[i].comp, 102,
                      "%s-%u: malformed timestamp", src[i].seg, src[i].field);
    if (rc > 0) {
      *found = true;
      return 0;
    }
  }
  return 0;
}

/* Duration SCH-9 in SCH-10 units as ms; 0 when absent or unreadable. */
static int64_t duration_ms(const struct hl7_msg *msg,
                           const struct hl7_seg *sch) {
  struct hl7_span d = trim(get(msg, sch, 9, 1, 0));
  struct hl7_span u = trim(get(msg, sch, 10, 1, 0));
  int64_t v = 0, unit = 60000;
  if (d.len == 0 || d.len > 6)
    return 0;
  for (size_t i = 0; i < d.len; i++) {
    if (d.p[i] < '0' || d.p[i] > '9')
      return 0;
    v = v * 10 + (d.p[i] - '0');
  }
  if (span_ieq(u, "s") || span_ieq(u, "sec"))
    unit = 1000;
  else if (span_ieq(u, "h") || span_ieq(u, "hr") || span_ieq(u, "hours"))
    unit = 3600000;
  return v * unit;
}

/* Pseudonym of "<channel>|<id>" in 'domain'. */
static void pseudo_id(const struct privacy_keys *keys, const char *domain,
                      const struct org_channel *ch, struct hl7_span id,
                      char out[EVENT_PSEUDO_MAX]) {
  char tmp[EVENT_ID_MAX + SIU_ID_MAX + 2];
  int n = snprintf(tmp, sizeof tmp, "%s|%.*s", ch->id, (int)id.len, id.p);
  privacy_pseudonym(keys, domain, tmp, (size_t)n, out);
}

int siu_map(const struct hl7_msg *msg, const struct org *org,
            const struct org_channel *ch, const struct privacy_keys *keys,
            int64_t received_at, struct adt_result *out, struct adt_error *e) {
  static const struct ts_source starts[] = {{"AIS", 4, 1},
                                            {"AIL", 6, 1},
                                            {"AIP", 6, 1},
                                            {"TQ1", 7, 1},
                                            {"SCH", 11, 4}};
  static const struct ts_source ends[] = {{"TQ1", 8, 1}, {"SCH", 11, 5}};
  const struct hl7_seg *msh = hl7_segment(msg, "MSH", 0);
  const struct hl7_seg *sch = hl7_segment(msg, "SCH", 0);
  const struct hl7_seg *pid = hl7_segment(msg, "PID", 0);
  const struct hl7_seg *ail = hl7_segment(msg, "AIL", 0);
  const struct hl7_seg *aip = hl7_segment(msg, "AIP", 0);
  const struct trigger *t = NULL;
  const enum event_kind *kinds;
  const struct org_unit *unit;
  struct hl7_span trig, key, slot_id, poc, prof, group, reason, type, status;
  struct adt_result r;
  struct adt_zht zht;
  struct event base;
  const char *loc_seg = "AIL";
  unsigned loc_field = 3;
  bool patient, found, complete, visit = false;
  int64_t when = received_at, start = 0, end = 0;
  int32_t birth_day = ADT_BIRTH_UNKNOWN;
  uint32_t flags = 0;
  char code[48];
  int rc;

  rc = adt_check_header(msg, "SIU", &trig, &key, e);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < ARRAY_LEN(triggers); i++)
    if (hl7_span_eq(trig, triggers[i].code))
      t = &triggers[i];
  if (t == NULL)
    return adt_fail_trigger(trig, e);
  if (sch == NULL)
    return adt_fail(e, "SCH", 0, 0, 100, "SCH: segment missing");
  slot_id = trim(get(msg, sch, 2, 1, 0));
  if (slot_id.len == 0)
    slot_id = trim(get(msg, sch, 1, 1, 0));
  if (slot_id.len == 0)
    return adt_fail(e, "SCH", 2, 1, 101, "SCH-2 and SCH-1: no appointment id");
  if (slot_id.len > SIU_ID_MAX)
    return adt_fail(e, "SCH", 2, 1, 102, "SCH-2: appointment id longer than %d",
                    SIU_ID_MAX);

  /* Unit: AIL-3, else PV1-3. */
  if (ail == NULL) {
    ail = hl7_segment(msg, "PV1", 0);
    loc_seg = "PV1";
  }
  poc = trim(get(msg, ail, loc_field, 1, 1));
  if (poc.len == 0)
    return adt_fail(e, loc_seg, 3, 1, 101, "%s-3: location missing", loc_seg);
  unit = org_channel_location(org, ch, poc.p, poc.len);
  if (unit == NULL) {
    code_text(poc, code, sizeof code);
    return adt_fail(e, loc_seg, 3, 1, 103, "%s-3: unknown location '%s'",
                    loc_seg, code);
  }

  /* Professional and group. */
  if (aip == NULL)
    return adt_fail(e, "AIP", 0, 0, 100, "AIP: segment missing");
  prof = trim(get(msg, aip, 3, 1, 0));
  if (prof.len == 0)
    return adt_fail(e, "AIP", 3, 1, 101, "AIP-3: professional id missing");
  if (prof.len > SIU_ID_MAX)
    return adt_fail(e, "AIP", 3, 1, 102,
                    "AIP-3: professional id longer than %d", SIU_ID_MAX);
  group = trim(get(msg, aip, 4, 1, 0));
  if (group.len >= EVENT_CODE_MAX)
    return adt_fail(e, "AIP", 4, 1, 102, "AIP-4: group code longer than %d",
                    EVENT_CODE_MAX - 1);

  /* Times. */
  rc = ts_at(msg, msh, 7, 1, &when);
  if (rc < 0)
    return adt_fail(e, "MSH", 7, 1, 102, "MSH-7: malformed timestamp");
  if (rc == 0)
    when = received_at;
  rc = first_ts(msg, starts, ARRAY_LEN(starts), &start, &found, e);
  if (rc < 0)
    return rc;
  if (!found)
    return adt_fail(e, "AIS", 4, 1, 101,
                    "AIS-4, AIL-6, AIP-6, TQ1-7 and SCH-11: no start time");
  rc = first_ts(msg, ends, ARRAY_LEN(ends), &end, &found, e);
  if (rc < 0)
    return rc;
  if (!found || end < start)
    end = start + duration_ms(msg, sch);
  rc = adt_zht_parse(msg, &zht, e);
  if (rc < 0)
    return rc;

  /* Flags and channel. */
  reason = trim(get(msg, sch, 7, 1, 0));
  type = trim(get(msg, sch, 8, 1, 0));
  status = trim(get(msg, sch, 25, 1, 0));
  if (span_ieq(reason, "EMERGENCY") || span_ieq(reason, "URGENT") ||
      span_ieq(reason, "KIIREELLINEN"))
    flags |= EVENT_F_URGENT;
  if (span_ieq(status, "Blocked"))
    flags |= EVENT_F_HELD;
  else
    flags |= EVENT_F_BOOKABLE;

  event_init(&base);
  base.occurred_at = when;
  base.local_date = chrono_local_date(when);
  event_set_str(base.channel, sizeof base.channel, ch->id, strlen(ch->id));
  event_set_str(base.source_key, sizeof base.source_key, key.p, key.len);
  if (!event_set_str(base.unit, sizeof base.unit, unit->id, strlen(unit->id)))
    return adt_fail(e, loc_seg, 3, 1, 207, "%s-3: unit id too long", loc_seg);
  pseudo_id(keys, "professional", ch, prof, base.attrs.professional);
  pseudo_id(keys, "slot", ch, slot_id, base.attrs.slot);
  event_set_str(base.attrs.prof_group, sizeof base.attrs.prof_group, group.p,
                group.len);
  base.attrs.slot_start = start;
  base.attrs.slot_end = end;
  {
    static const char *const remote[] = {
        EVENT_CONTACT_PHONE, EVENT_CONTACT_VIDEO, EVENT_CONTACT_CHAT,
        EVENT_CONTACT_ESERVICE};
    const char *chan = EVENT_CONTACT_IN_PERSON;
    for (size_t i = 0; i < ARRAY_LEN(remote); i++)
      if (span_ieq(type, remote[i])) {
        chan = remote[i];
        flags |= EVENT_F_REMOTE;
      }
    event_set_str(base.attrs.contact_channel, sizeof base.attrs.contact_channel,
                  chan, strlen(chan));
  }

  memset(&r, 0, sizeof r);
  patient = pid != NULL &&
            (get(msg, pid, 3, 1, 0).len > 0 || get(msg, pid, 2, 1, 0).len > 0);
  if (patient) {
    rc = adt_map_person(msg, pid, keys, received_at, &base, &r.flags,
                        &birth_day, e);
    if (rc < 0)
      return rc;
    pseudo_id(keys, "appointment", ch, slot_id, base.attrs.appointment);
  }
  base.attrs.flags = flags | r.flags;
  kinds = patient ? t->patient_kinds : t->free_kinds;
  complete = patient && t->completes && span_ieq(status, "Complete");
  for (size_t i = 0; i < 2 && kinds[i] != EV_NONE; i++) {
    struct event *ev = &r.ev[r.n++];
    *ev = base;
    ev->kind = kinds[i];
    if (ev->kind == EV_APPOINTMENT_BOOKED && complete)
      ev->kind = EV_VISIT_COMPLETED;
    if (ev->kind == EV_SLOT_BOOKED || ev->kind == EV_SLOT_RELEASED ||
        ev->kind == EV_SLOT_OPENED || ev->kind == EV_SLOT_REMOVED) {
      /* Slot events describe the book, not who is in it. */
      memset(ev->subject, 0, sizeof ev->subject);
      ev->attrs.age_band = -1;
      ev->attrs.sex = 'U';
    }
  }
  /* S14 (modified) of a completed appointment: the visit follows the slot. */
  for (size_t i = 0; i < r.n; i++)
    visit = visit || r.ev[i].kind == EV_VISIT_COMPLETED;
  if (complete && !visit) {
    if (r.n >= ADT_MAX_EVENTS)
      return adt_fail(e, "MSH", 9, 2, 207, "MSH-9: more than %d events",
                      ADT_MAX_EVENTS);
    r.ev[r.n] = base;
    r.ev[r.n++].kind = EV_VISIT_COMPLETED;
  }
  /* The visit happens at the slot's start, with the ZHT's values. */
  for (size_t i = 0; i < r.n; i++) {
    struct event *ev = &r.ev[i];
    if (ev->kind != EV_VISIT_COMPLETED)
      continue;
    ev->occurred_at = start;
    ev->local_date = chrono_local_date(start);
    rc = adt_zht_apply(&zht, ev, e);
    if (rc < 0)
      return rc;
    adt_visit_age(ev, birth_day);
  }
  *out = r;
  return 0;
}
