/* fhir.c -- FHIR R4 Schedule and Slot resources to canonical slot events.
 *
 * Reads a resource with jansson and takes only the elements fhir.h names;
 * every failure fills one OperationOutcome issue naming the element at
 * fault, so a sender learns what was wrong. Identifiers of professionals
 * and slots are pseudonymised here, exactly as siu.c does for SIU, so a
 * book fed over both paths keys the same way per channel. Diagnostics hold
 * at most a code, never a name or an identity code.
 *
 * The schedule table is an open-addressing hash map (FNV-1a over the id,
 * linear probing, grown at half load); it is only touched by its owner. */
#include "fhir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chrono.h"
#include "hetu.h"
#include "mem.h"
#include "schedule.h"

#define REF_MAX 128 /* longest reference or identifier value accepted */

static int fail(struct fhir_issue *iss, const char *code, const char *expr,
                const char *fmt, ...) PRINTF_LIKE(4, 5);

static int fail(struct fhir_issue *iss, const char *code, const char *expr,
                const char *fmt, ...) {
  va_list ap;
  if (iss != NULL) {
    snprintf(iss->code, sizeof iss->code, "%s", code);
    snprintf(iss->expression, sizeof iss->expression, "%s", expr);
    va_start(ap, fmt);
    vsnprintf(iss->diagnostics, sizeof iss->diagnostics, fmt, ap);
    va_end(ap);
  }
  return ERR_MAPPING;
}

/* A printable, short copy of 's' for diagnostics. */
static void show(const char *s, char out[48]) {
  size_t n = 0;
  for (; s[n] != '\0' && n < 40; n++) {
    unsigned char c = (unsigned char)s[n];
    out[n] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
  }
  out[n] = '\0';
}

int fhir_parse(const char *data, size_t len, json_t **out,
               struct fhir_issue *iss) {
  json_error_t je;
  json_t *root;
  if (len > FHIR_RESOURCE_MAX) {
    fail(iss, "too-long", "", "resource longer than %u bytes",
         FHIR_RESOURCE_MAX);
    return ERR_TOOBIG;
  }
  root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL) {
    fail(iss, "structure", "", "invalid JSON at line %d column %d", je.line,
         je.column);
    return ERR_PARSE;
  }
  if (!json_is_object(root) ||
      !json_is_string(json_object_get(root, "resourceType"))) {
    json_decref(root);
    fail(iss, "required", "resourceType", "resourceType missing");
    return ERR_PARSE;
  }
  *out = root;
  return 0;
}

const char *fhir_resource_type(const json_t *res) {
  const char *t = json_string_value(json_object_get(res, "resourceType"));
  return t != NULL ? t : "";
}

/* The string at 'key' of 'obj': NULL when absent; "" marks a wrong type
 * through *bad. */
static const char *str_at(const json_t *obj, const char *key, bool *bad) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v))
    return NULL;
  if (!json_is_string(v)) {
    *bad = true;
    return NULL;
  }
  return json_string_value(v);
}

static bool is_prof_ref(const char *ref) {
  return strncmp(ref, "Practitioner/", 13) == 0 ||
         strncmp(ref, "PractitionerRole/", 17) == 0;
}

static void pseudo(const struct privacy_keys *keys, const char *domain,
                   const struct org_channel *ch, const char *id,
                   char out[EVENT_PSEUDO_MAX]) {
  char tmp[EVENT_ID_MAX + REF_MAX + 2];
  int n = snprintf(tmp, sizeof tmp, "%s|%s", ch->id, id);
  privacy_pseudonym(keys, domain, tmp, (size_t)n, out);
}

/* First code of a CodeableConcept array 'arr' that 'want' accepts (or the
 * first code at all when 'want' is NULL). */
static const char *concept_code(const json_t *arr, bool (*want)(const char *)) {
  size_t i, j;
  json_t *cc, *coding;
  if (json_is_object(arr)) {
    json_array_foreach(json_object_get(arr, "coding"), j, coding) {
      const char *c = json_string_value(json_object_get(coding, "code"));
      if (c != NULL && (want == NULL || want(c)))
        return c;
    }
    return NULL;
  }
  json_array_foreach(arr, i, cc) {
    const char *c = concept_code(cc, want);
    if (c != NULL)
      return c;
  }
  return NULL;
}

static bool known_group(const char *c) {
  enum t3_group g;
  return schedule_group_from_code(c, &g) == 0;
}

static bool urgent_code(const char *c) {
  return strcasecmp(c, "EMERGENCY") == 0 || strcasecmp(c, "URGENT") == 0 ||
         strcasecmp(c, "KIIREELLINEN") == 0;
}

int fhir_schedule_map(const json_t *res, const struct org *org,
                      const struct org_channel *ch,
                      const struct privacy_keys *keys,
                      struct fhir_schedule *out, struct fhir_issue *iss) {
  struct fhir_schedule s;
  const char *id, *prof = NULL, *group;
  const struct org_unit *unit = NULL;
  json_t *actors, *a;
  bool bad = false;
  size_t i;
  char tmp[48];

  if (strcmp(fhir_resource_type(res), "Schedule") != 0)
    return fail(iss, "not-supported", "resourceType", "not a Schedule");
  memset(&s, 0, sizeof s);
  id = str_at(res, "id", &bad);
  if (bad || id == NULL || id[0] == '\0')
    return fail(iss, "required", "Schedule.id", "Schedule.id missing");
  if (strlen(id) >= FHIR_ID_MAX)
    return fail(iss, "too-long", "Schedule.id", "Schedule.id longer than %d",
                FHIR_ID_MAX - 1);
  snprintf(s.id, sizeof s.id, "%s", id);
  actors = json_object_get(res, "actor");
  if (!json_is_array(actors) || json_array_size(actors) == 0)
    return fail(iss, "required", "Schedule.actor", "Schedule.actor missing");
  json_array_foreach(actors, i, a) {
    const char *ref = str_at(a, "reference", &bad);
    const char *type = str_at(a, "type", &bad);
    const char *ival = str_at(json_object_get(a, "identifier"), "value", &bad);
    if (bad || !json_is_object(a))
      return fail(iss, "structure", "Schedule.actor",
                  "Schedule.actor[%zu]: not a Reference", i);
    if ((ref != NULL && strlen(ref) >= REF_MAX) ||
        (ival != NULL && strlen(ival) >= REF_MAX))
      return fail(iss, "too-long", "Schedule.actor",
                  "Schedule.actor[%zu]: reference longer than %d", i,
                  REF_MAX - 1);
    if (prof == NULL) {
      if (ref != NULL && is_prof_ref(ref))
        prof = ref;
      else if (ref == NULL && ival != NULL && type != NULL &&
               (strcmp(type, "Practitioner") == 0 ||
                strcmp(type, "PractitionerRole") == 0))
        prof = ival;
    }
    if (unit == NULL && ref != NULL)
      unit = org_channel_location(org, ch, ref, strlen(ref));
    if (unit == NULL && ival != NULL)
      unit = org_channel_location(org, ch, ival, strlen(ival));
  }
  if (prof == NULL)
    return fail(iss, "required", "Schedule.actor",
                "Schedule.actor: no Practitioner or PractitionerRole");
  if (unit == NULL)
    return fail(iss, "value", "Schedule.actor",
                "Schedule.actor: no Location or Organization the channel "
                "maps to a unit");
  if (strlen(unit->id) >= sizeof s.unit)
    return fail(iss, "too-long", "Schedule.actor", "unit id too long");
  group = concept_code(json_object_get(res, "serviceType"), known_group);
  if (group == NULL)
    group = concept_code(json_object_get(res, "specialty"), known_group);
  if (group == NULL)
    group = concept_code(json_object_get(res, "serviceType"), NULL);
  if (group == NULL)
    group = concept_code(json_object_get(res, "specialty"), NULL);
  if (group != NULL && strlen(group) >= sizeof s.prof_group) {
    show(group, tmp);
    return fail(iss, "too-long", "Schedule.serviceType",
                "group code '%s' longer than %d", tmp, EVENT_CODE_MAX - 1);
  }
  pseudo(keys, "professional", ch, prof, s.professional);
  snprintf(s.unit, sizeof s.unit, "%s", unit->id);
  snprintf(s.prof_group, sizeof s.prof_group, "%s", group != NULL ? group : "");
  *out = s;
  return 0;
}

/* An RFC 3339 instant at 'key': 1 present, 0 absent, or a mapping error. */
static int instant(const json_t *res, const char *key, const char *expr,
                   int64_t *ms, struct fhir_issue *iss) {
  bool bad = false;
  const char *v = str_at(res, key, &bad);
  if (bad)
    return fail(iss, "value", expr, "%s: not a string", expr);
  if (v == NULL)
    return 0;
  if (chrono_parse_iso(v, strlen(v), ms, NULL) != 0)
    return fail(iss, "value", expr, "%s: not an instant", expr);
  return 1;
}

int fhir_slot_map(const json_t *res, const struct org_channel *ch,
                  const struct privacy_keys *keys,
                  const struct fhir_schedules *tab, int64_t received_at,
                  struct event *out, struct fhir_issue *iss) {
  static const char *const remote[] = {EVENT_CONTACT_PHONE, EVENT_CONTACT_VIDEO,
                                       EVENT_CONTACT_CHAT,
                                       EVENT_CONTACT_ESERVICE};
  const struct fhir_schedule *sch;
  const char *id, *ref, *status, *chan = EVENT_CONTACT_IN_PERSON;
  json_t *v, *atype = json_object_get(res, "appointmentType");
  struct event ev;
  int64_t start = 0, end = 0, when = received_at;
  uint32_t flags = 0;
  bool bad = false;
  char tmp[48];
  int rc;

  if (strcmp(fhir_resource_type(res), "Slot") != 0)
    return fail(iss, "not-supported", "resourceType", "not a Slot");
  id = str_at(res, "id", &bad);
  if (bad)
    return fail(iss, "value", "Slot.id", "Slot.id: not a string");
  if (id == NULL || id[0] == '\0') {
    id = str_at(json_array_get(json_object_get(res, "identifier"), 0), "value",
                &bad);
    if (bad || id == NULL || id[0] == '\0')
      return fail(iss, "required", "Slot.id",
                  "Slot.id and Slot.identifier missing");
  }
  if (strlen(id) >= FHIR_ID_MAX)
    return fail(iss, "too-long", "Slot.id", "Slot.id longer than %d",
                FHIR_ID_MAX - 1);
  ref = str_at(json_object_get(res, "schedule"), "reference", &bad);
  if (bad || ref == NULL)
    return fail(iss, "required", "Slot.schedule",
                "Slot.schedule.reference missing");
  if (strncmp(ref, "Schedule/", 9) != 0)
    return fail(iss, "value", "Slot.schedule",
                "Slot.schedule: not a Schedule reference");
  sch = fhir_schedules_find(tab, ref + 9);
  if (sch == NULL) {
    show(ref, tmp);
    return fail(iss, "not-found", "Slot.schedule", "unknown schedule '%s'",
                tmp);
  }

  status = str_at(res, "status", &bad);
  if (bad || status == NULL)
    return fail(iss, "required", "Slot.status", "Slot.status missing");
  event_init(&ev);
  if (strcmp(status, "free") == 0) {
    ev.kind = EV_SLOT_OPENED;
  } else if (strcmp(status, "busy") == 0 ||
             strcmp(status, "busy-tentative") == 0) {
    ev.kind = EV_SLOT_BOOKED;
  } else if (strcmp(status, "busy-unavailable") == 0) {
    ev.kind = EV_SLOT_OPENED;
    flags |= EVENT_F_HELD;
  } else if (strcmp(status, "entered-in-error") == 0) {
    ev.kind = EV_SLOT_REMOVED;
  } else {
    show(status, tmp);
    return fail(iss, "value", "Slot.status", "unknown Slot.status '%s'", tmp);
  }

  rc = instant(res, "start", "Slot.start", &start, iss);
  if (rc < 0)
    return rc;
  if (rc == 0)
    return fail(iss, "required", "Slot.start", "Slot.start missing");
  rc = instant(res, "end", "Slot.end", &end, iss);
  if (rc < 0)
    return rc;
  if (rc == 0)
    return fail(iss, "required", "Slot.end", "Slot.end missing");
  if (end < start)
    return fail(iss, "value", "Slot.end", "Slot.end before Slot.start");
  rc = instant(json_object_get(res, "meta"), "lastUpdated",
               "Slot.meta.lastUpdated", &when, iss);
  if (rc < 0)
    return rc;

  v = json_object_get(res, "overbooked");
  if (v != NULL && !json_is_boolean(v))
    return fail(iss, "value", "Slot.overbooked",
                "Slot.overbooked: not a boolean");
  if (json_is_true(v))
    flags |= EVENT_F_HELD;
  if (!(flags & EVENT_F_HELD))
    flags |= EVENT_F_BOOKABLE;
  if (concept_code(atype, urgent_code) != NULL ||
      concept_code(json_object_get(res, "serviceType"), urgent_code) != NULL)
    flags |= EVENT_F_URGENT;
  for (size_t i = 0; i < ARRAY_LEN(remote); i++) {
    bool want_match = false;
    size_t j;
    json_t *coding;
    json_array_foreach(json_object_get(atype, "coding"), j, coding) {
      const char *c = json_string_value(json_object_get(coding, "code"));
      if (c != NULL && strcasecmp(c, remote[i]) == 0)
        want_match = true;
    }
    if (want_match) {
      chan = remote[i];
      flags |= EVENT_F_REMOTE;
    }
  }

  ev.occurred_at = when;
  ev.local_date = chrono_local_date(when);
  event_set_str(ev.channel, sizeof ev.channel, ch->id, strlen(ch->id));
  snprintf(ev.source_key, sizeof ev.source_key, "Slot/%s", id);
  event_set_str(ev.unit, sizeof ev.unit, sch->unit, strlen(sch->unit));
  memcpy(ev.attrs.professional, sch->professional,
         sizeof ev.attrs.professional);
  memcpy(ev.attrs.prof_group, sch->prof_group, sizeof ev.attrs.prof_group);
  pseudo(keys, "slot", ch, id, ev.attrs.slot);
  ev.attrs.slot_start = start;
  ev.attrs.slot_end = end;
  ev.attrs.flags = flags;
  event_set_str(ev.attrs.contact_channel, sizeof ev.attrs.contact_channel, chan,
                strlen(chan));
  *out = ev;
  return 0;
}

/* ---- the schedule table ------------------------------------------------ */

struct fhir_schedules {
  struct fhir_schedule *v; /* slots; id[0] == '\0' marks an empty one */
  size_t n, cap;           /* cap is 0 or a power of two */
};

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603u;
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

struct fhir_schedules *fhir_schedules_new(void) {
  return mem_calloc(1, sizeof(struct fhir_schedules));
}

void fhir_schedules_free(struct fhir_schedules *t) {
  if (t == NULL)
    return;
  mem_free(t->v);
  mem_free(t);
}

static struct fhir_schedule *slot_for(struct fhir_schedule *v, size_t cap,
                                      const char *id) {
  size_t i = (size_t)fnv(id) & (cap - 1);
  while (v[i].id[0] != '\0' && strcmp(v[i].id, id) != 0)
    i = (i + 1) & (cap - 1);
  return &v[i];
}

int fhir_schedules_put(struct fhir_schedules *t,
                       const struct fhir_schedule *s) {
  struct fhir_schedule *at;
  if (t->cap != 0) {
    at = slot_for(t->v, t->cap, s->id);
    if (at->id[0] != '\0') {
      *at = *s;
      return 0;
    }
  }
  if (t->n >= FHIR_SCHEDULES_MAX)
    return ERR_TOOBIG;
  if (2 * (t->n + 1) > t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    struct fhir_schedule *v = mem_calloc(cap, sizeof *v);
    for (size_t i = 0; i < t->cap; i++)
      if (t->v[i].id[0] != '\0')
        *slot_for(v, cap, t->v[i].id) = t->v[i];
    mem_free(t->v);
    t->v = v;
    t->cap = cap;
  }
  *slot_for(t->v, t->cap, s->id) = *s;
  t->n++;
  return 0;
}

const struct fhir_schedule *fhir_schedules_find(const struct fhir_schedules *t,
                                                const char *id) {
  const struct fhir_schedule *at;
  if (t == NULL || t->cap == 0 || id == NULL || id[0] == '\0')
    return NULL;
  at = slot_for(t->v, t->cap, id);
  return at->id[0] != '\0' ? at : NULL;
}

int fhir_outcome_json_severity(const struct fhir_issue *iss,
                               const char *severity, struct buf *out) {
  json_t *o =
      json_pack("{s:s,s:[{s:s,s:s,s:s,s:[s]}]}", "resourceType",
                "OperationOutcome", "issue", "severity", severity, "code",
                iss->code[0] != '\0' ? iss->code : "invalid", "diagnostics",
                iss->diagnostics, "expression",
                iss->expression[0] != '\0' ? iss->expression : "Resource");
  char *text;
  int rc;
  if (o == NULL)
    return ERR_NOMEM;
  text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text == NULL)
    return ERR_NOMEM;
  rc = buf_puts(out, text);
  free(text);
  return rc;
}

int fhir_outcome_json(const struct fhir_issue *iss, struct buf *out) {
  return fhir_outcome_json_severity(iss, "error", out);
}

/* ---- Appointment and Encounter ------------------------------------------ */

#define PERSON_ID_MAX 64 /* longest patient identifier (== adt.c ID_MAX) */
#define PARTICIPATION_SYSTEM                                                   \
  "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

static bool starts(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Tries 'key' (and, for OIDs, its other spelling) as a location key. */
static const struct org_unit *
try_key(const struct org *org, const struct org_channel *ch, const char *key) {
  const struct org_unit *u;
  char tmp[REF_MAX + 16];
  if (key == NULL || key[0] == '\0' || strlen(key) >= REF_MAX)
    return NULL;
  u = org_channel_location(org, ch, key, strlen(key));
  if (u != NULL)
    return u;
  if (starts(key, "urn:oid:"))
    return org_channel_location(org, ch, key + 8, strlen(key + 8));
  if (key[0] >= '0' && key[0] <= '9' && strchr(key, '.') != NULL) {
    int n = snprintf(tmp, sizeof tmp, "urn:oid:%s", key);
    return org_channel_location(org, ch, tmp, (size_t)n);
  }
  return NULL;
}

const struct org_unit *fhir_reference_unit(const struct org *org,
                                           const struct org_channel *ch,
                                           const json_t *ref) {
  const char *r, *sys, *val;
  const json_t *ident;
  const struct org_unit *u = NULL;
  if (!json_is_object(ref))
    return NULL;
  r = json_string_value(json_object_get(ref, "reference"));
  if (r != NULL) {
    const char *slash = strrchr(r, '/');
    u = try_key(org, ch, r);
    if (u == NULL && slash != NULL)
      u = try_key(org, ch, slash + 1);
    if (u != NULL)
      return u;
  }
  ident = json_object_get(ref, "identifier");
  val = json_string_value(json_object_get(ident, "value"));
  sys = json_string_value(json_object_get(ident, "system"));
  u = try_key(org, ch, val);
  if (u == NULL && sys != NULL && starts(sys, "urn:oid:1.2.246.10."))
    u = try_key(org, ch, sys);
  return u;
}

const char *fhir_logical_id(const json_t *res) {
  const char *id = json_string_value(json_object_get(res, "id"));
  if (id == NULL || id[0] == '\0')
    id = json_string_value(json_object_get(
        json_array_get(json_object_get(res, "identifier"), 0), "value"));
  if (id == NULL || id[0] == '\0' || strlen(id) >= FHIR_ID_MAX)
    return NULL;
  return id;
}

/* The logical id for mapping, or a mapping error naming Type.id. */
static int logical_id(const json_t *res, const char *type, const char **out,
                      struct fhir_issue *iss) {
  char expr[32];
  json_t *jid = json_object_get(res, "id");
  snprintf(expr, sizeof expr, "%s.id", type);
  if (jid != NULL && !json_is_string(jid))
    return fail(iss, "value", expr, "%s: not a string", expr);
  *out = fhir_logical_id(res);
  if (*out == NULL) {
    const char *v = json_string_value(jid);
    if (v != NULL && strlen(v) >= FHIR_ID_MAX)
      return fail(iss, "too-long", expr, "%s longer than %d", expr,
                  FHIR_ID_MAX - 1);
    return fail(iss, "required", expr, "%s and %s.identifier missing", expr,
                type);
  }
  return 0;
}

static int16_t age_band_of(int32_t birth_day, int32_t on_day) {
  struct hetu_info hi;
  int age;
  memset(&hi, 0, sizeof hi);
  hi.birth_day = birth_day;
  age = hetu_age_years(&hi, on_day);
  if (age < 0)
    return -1;
  if (age > 95)
    age = 95;
  return (int16_t)(age / 5 * 5);
}

/* A contained resource of 'type' with id 'ref' + 1 ("#id"), or NULL. */
static const json_t *contained(const json_t *res, const char *ref,
                               const char *type) {
  size_t i;
  json_t *c;
  if (ref == NULL || ref[0] != '#')
    return NULL;
  json_array_foreach(json_object_get(res, "contained"), i, c) {
    const char *id = json_string_value(json_object_get(c, "id"));
    if (id != NULL && strcmp(id, ref + 1) == 0 &&
        strcmp(fhir_resource_type(c), type) == 0)
      return c;
  }
  return NULL;
}

/* What is known of the person: birth day (or INT32_MIN) and sex. */
struct person {
  int32_t birth_day;
  char sex;
};

/* Sets ev->subject and person facts from a Reference 'ref' of 'res'; flags
 * to *flags. 'expr' names the element for errors. */
static int person_of(const json_t *res, const json_t *ref, const char *expr,
                     const struct org_channel *ch,
                     const struct privacy_keys *keys, int64_t received_at,
                     struct event *ev, struct person *p, uint32_t *flags,
                     struct fhir_issue *iss) {
  const char *r = json_string_value(json_object_get(ref, "reference"));
  const json_t *pat = contained(res, r, "Patient");
  const json_t *ident = json_object_get(ref, "identifier");
  const char *sys, *val;
  char idbuf[FHIR_IDENT_VALUE_MAX + PERSON_ID_MAX + 2];
  int n;

  p->birth_day = INT32_MIN;
  p->sex = 'U';
  if (r != NULL && r[0] == '#' && pat == NULL)
    return fail(iss, "not-found", expr, "%s: no contained Patient '%.40s'",
                expr, r);
  if (pat != NULL) {
    size_t i;
    json_t *id;
    const char *bd = json_string_value(json_object_get(pat, "birthDate"));
    const char *g = json_string_value(json_object_get(pat, "gender"));
    int32_t day;
    ident = NULL;
    json_array_foreach(json_object_get(pat, "identifier"), i, id) {
      const char *s = json_string_value(json_object_get(id, "system"));
      if (!json_is_string(json_object_get(id, "value")))
        continue;
      if (s != NULL && strcmp(s, FHIR_HETU_SYSTEM) == 0) {
        ident = id;
        break;
      }
      if (ident == NULL)
        ident = id;
    }
    if (bd != NULL && strlen(bd) == 10 && chrono_parse_date(bd, 10, &day) == 0)
      p->birth_day = day;
    if (g != NULL && strcmp(g, "male") == 0)
      p->sex = 'M';
    else if (g != NULL && strcmp(g, "female") == 0)
      p->sex = 'F';
  }
  val = json_string_value(json_object_get(ident, "value"));
  sys = json_string_value(json_object_get(ident, "system"));
  if (val != NULL && val[0] != '\0') {
    size_t len = strlen(val);
    struct hetu_info info;
    if (len > PERSON_ID_MAX)
      return fail(iss, "too-long", expr, "%s: identifier longer than %d", expr,
                  PERSON_ID_MAX);
    if (sys == NULL || strcmp(sys, FHIR_HETU_SYSTEM) == 0) {
      memset(&info, 0, sizeof info);
      if (hetu_check(val, len, chrono_local_date(received_at), &info, NULL) ==
          0) {
        if (info.temporary)
          *flags |= EVENT_F_TEMPORARY_ID;
        p->birth_day = info.birth_day;
        p->sex = info.sex;
      } else {
        *flags |= EVENT_F_UNVERIFIED_ID;
      }
      privacy_pseudonym(keys, "person", val, len, ev->subject);
      return 0;
    }
    if (strlen(sys) >= FHIR_IDENT_VALUE_MAX)
      return fail(iss, "too-long", expr, "%s: identifier system too long",
                  expr);
    n = snprintf(idbuf, sizeof idbuf, "%s|%s", sys, val);
    privacy_pseudonym(keys, "person", idbuf, (size_t)n, ev->subject);
    *flags |= EVENT_F_UNVERIFIED_ID;
    return 0;
  }
  if (r != NULL && r[0] != '\0' && r[0] != '#') {
    if (strlen(r) >= REF_MAX)
      return fail(iss, "too-long", expr, "%s: reference longer than %d", expr,
                  REF_MAX - 1);
    pseudo(keys, "person", ch, r, ev->subject);
    *flags |= EVENT_F_UNVERIFIED_ID;
    return 0;
  }
  return fail(iss, "required", expr, "%s: no identifier or reference", expr);
}

/* A dateTime: an RFC 3339 instant or a date (local midnight). */
static int date_time(const char *v, int64_t *ms) {
  int32_t day;
  if (v == NULL)
    return ERR_PARSE;
  if (strlen(v) == 10 && chrono_parse_date(v, 10, &day) == 0)
    return chrono_from_local(day, 0, 0, 0, ms);
  return chrono_parse_iso(v, strlen(v), ms, NULL);
}

static const struct {
  const char *code;
  uint32_t flag;
} exclusions[] = {
    {"care_plan", EVENT_F_CARE_PLAN},
    {"certificate", EVENT_F_CERTIFICATE},
    {"specialist", EVENT_F_SPECIALIST},
    {"promotion", EVENT_F_PROMOTION},
};

static const char *const channels[] = {
    EVENT_CONTACT_IN_PERSON, EVENT_CONTACT_PHONE, EVENT_CONTACT_VIDEO,
    EVENT_CONTACT_CHAT, EVENT_CONTACT_ESERVICE};

/* Reads the Tilannekuva extensions of 'res' into ev (times, channel,
 * exclusion flags); *chan is set when a contact-channel was sent. */
static int extensions(const json_t *res, const char *type, struct event *ev,
                      const char **chan, uint32_t *flags,
                      struct fhir_issue *iss) {
  size_t i;
  json_t *x;
  char expr[64], tmp[48];
  json_t *exts = json_object_get(res, "extension");
  if (exts != NULL && !json_is_array(exts)) {
    snprintf(expr, sizeof expr, "%s.extension", type);
    return fail(iss, "structure", expr, "%s: not an array", expr);
  }
  json_array_foreach(exts, i, x) {
    const char *url = json_string_value(json_object_get(x, "url"));
    const char *name;
    if (url == NULL || !starts(url, FHIR_EXT_BASE))
      continue;
    name = url + strlen(FHIR_EXT_BASE);
    if (strcmp(name, "needs-assessment") == 0 ||
        strcmp(name, "first-contact") == 0) {
      int64_t ms;
      snprintf(expr, sizeof expr, "%s.extension[%zu].valueDateTime", type, i);
      if (date_time(json_string_value(json_object_get(x, "valueDateTime")),
                    &ms) != 0)
        return fail(iss, "value", expr, "%s: not a dateTime", expr);
      if (name[0] == 'n')
        ev->attrs.assessed_at = ms;
      else
        ev->attrs.contact_at = ms;
    } else if (strcmp(name, "contact-channel") == 0 ||
               strcmp(name, "care-guarantee-exclusion") == 0) {
      const char *code = json_string_value(json_object_get(x, "valueCode"));
      bool known = false;
      snprintf(expr, sizeof expr, "%s.extension[%zu].valueCode", type, i);
      if (code == NULL)
        return fail(iss, "required", expr, "%s missing", expr);
      if (name[0] == 'c' && name[1] == 'o') {
        for (size_t k = 0; k < ARRAY_LEN(channels); k++)
          if (strcmp(code, channels[k]) == 0) {
            *chan = channels[k];
            known = true;
          }
      } else {
        for (size_t k = 0; k < ARRAY_LEN(exclusions); k++)
          if (strcmp(code, exclusions[k].code) == 0) {
            *flags |= exclusions[k].flag;
            known = true;
          }
      }
      if (!known) {
        show(code, tmp);
        return fail(iss, "code-invalid", expr, "%s: unknown code '%s'", expr,
                    tmp);
      }
    }
  }
  return 0;
}

/* Sets the contact channel and EVENT_F_REMOTE. */
static void set_channel(struct event *ev, const char *chan, uint32_t *flags) {
  if (strcmp(chan, EVENT_CONTACT_IN_PERSON) != 0)
    *flags |= EVENT_F_REMOTE;
  event_set_str(ev->attrs.contact_channel, sizeof ev->attrs.contact_channel,
                chan, strlen(chan));
}

/* Ages from what is known of the person (on the HTA date, else visit). */
static void set_ages(struct event *ev, const struct person *p) {
  ev->attrs.sex = p->sex;
  if (p->birth_day == INT32_MIN)
    return;
  ev->attrs.age_band = age_band_of(p->birth_day, ev->local_date);
  {
    struct hetu_info hi;
    int32_t on = ev->attrs.assessed_at != 0
                     ? chrono_local_date(ev->attrs.assessed_at)
                     : ev->local_date;
    int age;
    memset(&hi, 0, sizeof hi);
    hi.birth_day = p->birth_day;
    age = hetu_age_years(&hi, on);
    ev->attrs.age_years = (int16_t)(age < 0 ? -1 : age > 150 ? 150 : age);
  }
}

/* Pseudonym of the id part of a "Type/id" reference in 'domain'. */
static bool ref_pseudo(const json_t *ref, const char *type,
                       const struct privacy_keys *keys, const char *domain,
                       const struct org_channel *ch,
                       char out[EVENT_PSEUDO_MAX]) {
  const char *r = json_string_value(json_object_get(ref, "reference"));
  size_t tl = strlen(type);
  if (r == NULL || strncmp(r, type, tl) != 0 || r[tl] != '/' ||
      r[tl + 1] == '\0' || strlen(r) >= REF_MAX)
    return false;
  pseudo(keys, domain, ch, r + tl + 1, out);
  return true;
}

static bool known_or_any(const char *c) {
  (void)c;
  return true;
}

int fhir_appointment_map(const json_t *res, const struct org *org,
                         const struct org_channel *ch,
                         const struct privacy_keys *keys, int64_t received_at,
                         struct event *out, size_t *n, struct fhir_issue *iss) {
  static const struct {
    const char *status;
    enum event_kind kind;
  } kinds[] = {
      {"booked", EV_APPOINTMENT_BOOKED},
      {"arrived", EV_APPOINTMENT_BOOKED},
      {"checked-in", EV_APPOINTMENT_BOOKED},
      {"fulfilled", EV_APPOINTMENT_BOOKED},
      {"cancelled", EV_APPOINTMENT_CANCELLED},
      {"entered-in-error", EV_APPOINTMENT_CANCELLED},
      {"noshow", EV_APPOINTMENT_NOSHOW},
      {"proposed", EV_NONE},
      {"pending", EV_NONE},
      {"waitlist", EV_NONE},
  };
  const char *id, *status, *chan = EVENT_CONTACT_IN_PERSON;
  const struct org_unit *unit = NULL;
  json_t *parts = json_object_get(res, "participant"), *pt;
  json_t *atype = json_object_get(res, "appointmentType");
  struct event ev;
  struct person person = {INT32_MIN, 'U'};
  enum event_kind kind = EV__COUNT;
  int64_t when = received_at, start = 0, end = 0;
  uint32_t flags = 0;
  bool bad = false, have_patient = false, have_prof = false;
  const char *group = NULL;
  size_t i;
  char tmp[48];
  int rc;

  if (strcmp(fhir_resource_type(res), "Appointment") != 0)
    return fail(iss, "not-supported", "resourceType", "not an Appointment");
  rc = logical_id(res, "Appointment", &id, iss);
  if (rc < 0)
    return rc;
  status = str_at(res, "status", &bad);
  if (bad || status == NULL)
    return fail(iss, "required", "Appointment.status",
                "Appointment.status missing");
  for (i = 0; i < ARRAY_LEN(kinds); i++)
    if (strcmp(status, kinds[i].status) == 0)
      kind = kinds[i].kind;
  if (kind == EV__COUNT) {
    show(status, tmp);
    return fail(iss, "value", "Appointment.status",
                "unknown Appointment.status '%s'", tmp);
  }
  if (kind == EV_NONE) {
    *n = 0;
    return 0;
  }
  rc = instant(res, "start", "Appointment.start", &start, iss);
  if (rc < 0)
    return rc;
  if (rc == 0 && kind != EV_APPOINTMENT_CANCELLED)
    return fail(iss, "required", "Appointment.start",
                "Appointment.start missing (only proposed or cancelled "
                "appointments may lack it)");
  rc = instant(res, "end", "Appointment.end", &end, iss);
  if (rc < 0)
    return rc;
  if (rc == 0 && kind != EV_APPOINTMENT_CANCELLED)
    return fail(iss, "required", "Appointment.end",
                "Appointment.end missing (only proposed or cancelled "
                "appointments may lack it)");
  if (end != 0 && start != 0 && end < start)
    return fail(iss, "value", "Appointment.end",
                "Appointment.end before Appointment.start");
  rc = instant(json_object_get(res, "meta"), "lastUpdated",
               "Appointment.meta.lastUpdated", &when, iss);
  if (rc < 0)
    return rc;
  if (!json_is_array(parts) || json_array_size(parts) == 0)
    return fail(iss, "required", "Appointment.participant",
                "Appointment.participant missing");

  event_init(&ev);
  ev.kind = kind;
  ev.occurred_at = when;
  ev.local_date = chrono_local_date(when);
  json_array_foreach(parts, i, pt) {
    json_t *actor = json_object_get(pt, "actor");
    const char *ref = json_string_value(json_object_get(actor, "reference"));
    const char *isys = json_string_value(
        json_object_get(json_object_get(actor, "identifier"), "system"));
    bool patient;
    if (!json_is_object(pt) || (actor != NULL && !json_is_object(actor)))
      return fail(iss, "structure", "Appointment.participant",
                  "Appointment.participant[%zu]: not a participant", i);
    if (group == NULL)
      group = concept_code(json_object_get(pt, "type"), known_group);
    if (actor == NULL)
      continue;
    patient =
        (ref != NULL &&
         (starts(ref, "Patient/") || contained(res, ref, "Patient") != NULL)) ||
        (ref == NULL && isys != NULL && strcmp(isys, FHIR_HETU_SYSTEM) == 0);
    if (patient && !have_patient) {
      char expr[64];
      snprintf(expr, sizeof expr, "Appointment.participant[%zu].actor", i);
      rc = person_of(res, actor, expr, ch, keys, received_at, &ev, &person,
                     &flags, iss);
      if (rc < 0)
        return rc;
      have_patient = true;
      continue;
    }
    if (!have_prof && ref != NULL && is_prof_ref(ref)) {
      if (strlen(ref) >= REF_MAX)
        return fail(iss, "too-long", "Appointment.participant",
                    "Appointment.participant[%zu]: reference longer than %d", i,
                    REF_MAX - 1);
      pseudo(keys, "professional", ch, ref, ev.attrs.professional);
      have_prof = true;
      continue;
    }
    if (unit == NULL && !patient)
      unit = fhir_reference_unit(org, ch, actor);
  }
  if (unit == NULL)
    return fail(iss, "value", "Appointment.participant",
                "Appointment.participant: no Location or Organization the "
                "channel maps to a unit");
  if (group == NULL)
    group = concept_code(json_object_get(res, "serviceType"), known_group);
  if (group == NULL)
    group = concept_code(json_object_get(res, "specialty"), known_group);
  if (group != NULL && strlen(group) >= EVENT_CODE_MAX)
    group = NULL;
  if (concept_code(atype, urgent_code) != NULL ||
      concept_code(json_object_get(res, "serviceType"), urgent_code) != NULL)
    flags |= EVENT_F_URGENT;
  for (i = 1; i < ARRAY_LEN(channels); i++) {
    size_t j;
    json_t *coding;
    json_array_foreach(json_object_get(atype, "coding"), j, coding) {
      const char *c = json_string_value(json_object_get(coding, "code"));
      if (c != NULL && strcasecmp(c, channels[i]) == 0)
        chan = channels[i];
    }
  }
  rc = extensions(res, "Appointment", &ev, &chan, &flags, iss);
  if (rc < 0)
    return rc;
  set_channel(&ev, chan, &flags);
  event_set_str(ev.channel, sizeof ev.channel, ch->id, strlen(ch->id));
  snprintf(ev.source_key, sizeof ev.source_key, "Appointment/%s", id);
  if (!event_set_str(ev.unit, sizeof ev.unit, unit->id, strlen(unit->id)))
    return fail(iss, "too-long", "Appointment.participant", "unit id too long");
  pseudo(keys, "appointment", ch, id, ev.attrs.appointment);
  (void)ref_pseudo(json_array_get(json_object_get(res, "slot"), 0), "Slot",
                   keys, "slot", ch, ev.attrs.slot);
  if (group != NULL)
    event_set_str(ev.attrs.prof_group, sizeof ev.attrs.prof_group, group,
                  strlen(group));
  ev.attrs.slot_start = start;
  ev.attrs.slot_end = end;
  set_ages(&ev, &person);
  ev.attrs.age_years = -1; /* only a visit carries the age in years */
  ev.attrs.flags = flags;
  out[0] = ev;
  *n = 1;
  return 0;
}

int fhir_encounter_map(const json_t *res, const struct org *org,
                       const struct org_channel *ch,
                       const struct privacy_keys *keys, int64_t received_at,
                       struct event *out, size_t *n, struct fhir_issue *iss) {
  static const char *const statuses[] = {
      "planned", "arrived",   "triaged",          "in-progress",
      "onleave", "cancelled", "entered-in-error", "unknown"};
  static const char *const urgent_prio[] = {"EM", "UR", "S", "A"};
  const char *id, *status, *cls, *chan = NULL, *group = NULL;
  const struct org_unit *unit;
  json_t *period = json_object_get(res, "period"), *pt, *loc;
  struct event ev;
  struct person person = {INT32_MIN, 'U'};
  uint32_t flags = 0;
  bool bad = false, finished;
  size_t i;
  char tmp[48], epkey[REF_MAX];
  int rc;

  if (strcmp(fhir_resource_type(res), "Encounter") != 0)
    return fail(iss, "not-supported", "resourceType", "not an Encounter");
  rc = logical_id(res, "Encounter", &id, iss);
  if (rc < 0)
    return rc;
  status = str_at(res, "status", &bad);
  if (bad || status == NULL)
    return fail(iss, "required", "Encounter.status",
                "Encounter.status missing");
  finished = strcmp(status, "finished") == 0;
  if (!finished) {
    for (i = 0; i < ARRAY_LEN(statuses); i++)
      if (strcmp(status, statuses[i]) == 0)
        break;
    if (i == ARRAY_LEN(statuses)) {
      show(status, tmp);
      return fail(iss, "value", "Encounter.status",
                  "unknown Encounter.status '%s'", tmp);
    }
    *n = 0;
    return 0;
  }

  event_init(&ev);
  ev.kind = EV_VISIT_COMPLETED;
  if (period != NULL && !json_is_object(period))
    return fail(iss, "structure", "Encounter.period",
                "Encounter.period: not a Period");
  rc = instant(period, "start", "Encounter.period.start", &ev.occurred_at, iss);
  if (rc < 0)
    return rc;
  if (rc == 0)
    return fail(iss, "required", "Encounter.period.start",
                "Encounter.period.start missing (the visit time)");
  ev.local_date = chrono_local_date(ev.occurred_at);

  unit = fhir_reference_unit(org, ch, json_object_get(res, "serviceProvider"));
  json_array_foreach(json_object_get(res, "location"), i, loc) {
    if (unit == NULL)
      unit = fhir_reference_unit(org, ch, json_object_get(loc, "location"));
  }
  if (unit == NULL)
    return fail(iss, "value", "Encounter.serviceProvider",
                "Encounter.serviceProvider and Encounter.location: no "
                "Organization or Location the channel maps to a unit");
  if (!event_set_str(ev.unit, sizeof ev.unit, unit->id, strlen(unit->id)))
    return fail(iss, "too-long", "Encounter.serviceProvider",
                "unit id too long");

  if (!json_is_object(json_object_get(res, "subject")))
    return fail(iss, "required", "Encounter.subject",
                "Encounter.subject missing");
  rc = extensions(res, "Encounter", &ev, &chan, &flags, iss);
  if (rc < 0)
    return rc;
  rc = person_of(res, json_object_get(res, "subject"), "Encounter.subject", ch,
                 keys, received_at, &ev, &person, &flags, iss);
  if (rc < 0)
    return rc;

  cls =
      json_string_value(json_object_get(json_object_get(res, "class"), "code"));
  if (cls != NULL && strlen(cls) < EVENT_CODE_MAX)
    event_set_str(ev.attrs.patient_class, sizeof ev.attrs.patient_class, cls,
                  strlen(cls));
  if (chan == NULL)
    chan = cls != NULL && strcmp(cls, "VR") == 0 ? EVENT_CONTACT_VIDEO
                                                 : EVENT_CONTACT_IN_PERSON;
  set_channel(&ev, chan, &flags);
  {
    json_t *prio = json_object_get(res, "priority");
    for (i = 0; i < ARRAY_LEN(urgent_prio); i++) {
      size_t j;
      json_t *coding;
      json_array_foreach(json_object_get(prio, "coding"), j, coding) {
        const char *c = json_string_value(json_object_get(coding, "code"));
        if (c != NULL && strcmp(c, urgent_prio[i]) == 0)
          flags |= EVENT_F_URGENT;
      }
    }
  }

  json_array_foreach(json_object_get(res, "participant"), i, pt) {
    json_t *ind = json_object_get(pt, "individual");
    const char *ref = json_string_value(json_object_get(ind, "reference"));
    size_t j, k;
    json_t *cc, *coding;
    if (ev.attrs.professional[0] == '\0' && ref != NULL && is_prof_ref(ref)) {
      if (strlen(ref) >= REF_MAX)
        return fail(iss, "too-long", "Encounter.participant",
                    "Encounter.participant[%zu]: reference longer than %d", i,
                    REF_MAX - 1);
      pseudo(keys, "professional", ch, ref, ev.attrs.professional);
    }
    /* A known group among the type codes outside v3-ParticipationType. */
    json_array_foreach(json_object_get(pt, "type"), j, cc) {
      json_array_foreach(json_object_get(cc, "coding"), k, coding) {
        const char *sys = json_string_value(json_object_get(coding, "system"));
        const char *c = json_string_value(json_object_get(coding, "code"));
        if (c == NULL ||
            (sys != NULL && strcmp(sys, PARTICIPATION_SYSTEM) == 0))
          continue;
        if (group == NULL && known_group(c))
          group = c;
      }
    }
    if (group == NULL) {
      const json_t *role = contained(res, ref, "PractitionerRole");
      if (role != NULL) {
        group = concept_code(json_object_get(role, "code"), known_group);
        if (group == NULL)
          group = concept_code(json_object_get(role, "code"), known_or_any);
      }
    }
  }
  if (group != NULL && strlen(group) >= EVENT_CODE_MAX) {
    show(group, tmp);
    return fail(iss, "too-long", "Encounter.participant",
                "group code '%s' longer than %d", tmp, EVENT_CODE_MAX - 1);
  }
  if (group != NULL)
    event_set_str(ev.attrs.prof_group, sizeof ev.attrs.prof_group, group,
                  strlen(group));

  event_set_str(ev.channel, sizeof ev.channel, ch->id, strlen(ch->id));
  snprintf(ev.source_key, sizeof ev.source_key, "Encounter/%s", id);
  snprintf(epkey, sizeof epkey, "Encounter/%s", id);
  pseudo(keys, "episode", ch, epkey, ev.episode);
  (void)ref_pseudo(json_array_get(json_object_get(res, "appointment"), 0),
                   "Appointment", keys, "appointment", ch,
                   ev.attrs.appointment);
  set_ages(&ev, &person);
  ev.attrs.flags = flags;
  out[0] = ev;
  *n = 1;
  return 0;
}

/* ---- conditional create ---------------------------------------------------
 */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int fhir_cond_parse(const char *query, const char *expr, struct fhir_cond *out,
                    struct fhir_issue *iss) {
  struct fhir_cond c;
  char dec[2 * FHIR_IDENT_VALUE_MAX + 2];
  const char *v, *bar;
  size_t n = 0;
  int rc = ERR_PARSE;

  if (query != NULL && query[0] == '?')
    query++;
  if (query == NULL || strncmp(query, "identifier=", 11) != 0) {
    fail(iss, "not-supported", expr,
         "If-None-Exist: only identifier=[system|]value is supported");
    return ERR_UNSUPPORTED;
  }
  if (strchr(query, '&') != NULL) {
    fail(iss, "not-supported", expr,
         "If-None-Exist: only one identifier parameter is supported");
    return ERR_UNSUPPORTED;
  }
  for (v = query + 11; *v != '\0'; v++) {
    char ch = *v;
    if (n + 1 >= sizeof dec) {
      fail(iss, "too-long", expr, "If-None-Exist: identifier too long");
      return ERR_PARSE;
    }
    if (ch == '%') {
      int hi = hexval(v[1]), lo = hi >= 0 ? hexval(v[2]) : -1;
      if (hi < 0 || lo < 0) {
        fail(iss, "value", expr, "If-None-Exist: bad %%-escape");
        return ERR_PARSE;
      }
      ch = (char)(hi * 16 + lo);
      v += 2;
    } else if (ch == '+') {
      ch = ' ';
    }
    if (ch == '\0') {
      fail(iss, "value", expr, "If-None-Exist: NUL in the identifier");
      return ERR_PARSE;
    }
    dec[n++] = ch;
  }
  dec[n] = '\0';
  memset(&c, 0, sizeof c);
  bar = strchr(dec, '|');
  if (bar == NULL) {
    c.any_system = true;
    v = dec;
  } else {
    size_t sl = (size_t)(bar - dec);
    if (sl >= sizeof c.system)
      goto toolong;
    memcpy(c.system, dec, sl);
    c.system[sl] = '\0';
    v = bar + 1;
  }
  if (v[0] == '\0') {
    fail(iss, "required", expr, "If-None-Exist: identifier value missing");
    return rc;
  }
  if (strlen(v) >= sizeof c.value)
    goto toolong;
  memcpy(c.value, v, strlen(v) + 1);
  *out = c;
  return 0;
toolong:
  fail(iss, "too-long", expr, "If-None-Exist: identifier longer than %d",
       FHIR_IDENT_VALUE_MAX - 1);
  return ERR_PARSE;
}

/* The index: open addressing over 16-byte digests; ids in one arena. */
#define IDENT_USED 0x1u
#define IDENT_AMBIGUOUS 0x2u
#define ARENA_MAX 0xffffffffu

struct ident_entry {
  unsigned char key[PRIVACY_DIGEST_BYTES];
  uint32_t off;   /* of the id in the arena */
  uint32_t flags; /* IDENT_* */
};

struct fhir_idents {
  struct ident_entry *v;
  size_t n, cap; /* cap 0 or a power of two */
  char *arena;
  size_t alen, acap;
};

struct fhir_idents *fhir_idents_new(void) {
  return mem_calloc(1, sizeof(struct fhir_idents));
}

void fhir_idents_free(struct fhir_idents *t) {
  if (t == NULL)
    return;
  mem_free(t->v);
  mem_free(t->arena);
  mem_free(t);
}

/* Key of (channel, type, system or "any", value). */
static void ident_key(const char *channel, const char *type, bool any,
                      const char *system, const char *value,
                      unsigned char out[PRIVACY_DIGEST_BYTES]) {
  char tmp[2 * FHIR_IDENT_VALUE_MAX + EVENT_ID_MAX + 40];
  int n = snprintf(tmp, sizeof tmp, "%s\x1f%s\x1f%s%s\x1f%s", channel, type,
                   any ? "*" : "=", any ? "" : system, value);
  if (n < 0 || (size_t)n >= sizeof tmp)
    n = (int)sizeof tmp - 1; /* cannot happen: the inputs are capped */
  privacy_digest(tmp, (size_t)n, out);
}

static struct ident_entry *ident_slot(struct ident_entry *v, size_t cap,
                                      const unsigned char *key) {
  size_t i;
  uint64_t h;
  memcpy(&h, key, sizeof h);
  i = (size_t)h & (cap - 1);
  while ((v[i].flags & IDENT_USED) &&
         memcmp(v[i].key, key, PRIVACY_DIGEST_BYTES) != 0)
    i = (i + 1) & (cap - 1);
  return &v[i];
}

/* Adds key -> id (arena offset 'off'); *used set when 'off' was taken. */
static int ident_put(struct fhir_idents *t, const unsigned char *key,
                     const char *id, uint32_t *off, bool *have_off) {
  struct ident_entry *e;
  if (t->cap != 0) {
    e = ident_slot(t->v, t->cap, key);
    if (e->flags & IDENT_USED) {
      if (strcmp(t->arena + e->off, id) != 0)
        e->flags |= IDENT_AMBIGUOUS;
      return 0;
    }
  }
  if (t->n >= FHIR_IDENTS_MAX)
    return ERR_TOOBIG;
  if (!*have_off) {
    size_t len = strlen(id) + 1;
    if (t->alen + len > ARENA_MAX)
      return ERR_TOOBIG;
    if (t->alen + len > t->acap) {
      size_t cap = t->acap ? 2 * t->acap : 4096;
      while (cap < t->alen + len)
        cap *= 2;
      t->arena = mem_realloc(t->arena, cap);
      t->acap = cap;
    }
    memcpy(t->arena + t->alen, id, len);
    *off = (uint32_t)t->alen;
    t->alen += len;
    *have_off = true;
  }
  if (2 * (t->n + 1) > t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 256;
    struct ident_entry *v = mem_calloc(cap, sizeof *v);
    for (size_t i = 0; i < t->cap; i++)
      if (t->v[i].flags & IDENT_USED)
        *ident_slot(v, cap, t->v[i].key) = t->v[i];
    mem_free(t->v);
    t->v = v;
    t->cap = cap;
  }
  e = ident_slot(t->v, t->cap, key);
  memcpy(e->key, key, PRIVACY_DIGEST_BYTES);
  e->off = *off;
  e->flags = IDENT_USED;
  t->n++;
  return 0;
}

int fhir_idents_add(struct fhir_idents *t, const char *channel,
                    const json_t *res) {
  const char *type = fhir_resource_type(res), *id = fhir_logical_id(res);
  unsigned char key[PRIVACY_DIGEST_BYTES];
  uint32_t off = 0;
  bool have_off = false;
  size_t i;
  json_t *ident;
  int rc = 0;
  if (id == NULL || type[0] == '\0' || strlen(type) >= 32 ||
      strlen(channel) >= EVENT_ID_MAX)
    return 0;
  json_array_foreach(json_object_get(res, "identifier"), i, ident) {
    const char *val = json_string_value(json_object_get(ident, "value"));
    const char *sys = json_string_value(json_object_get(ident, "system"));
    if (val == NULL || val[0] == '\0' || strlen(val) >= FHIR_IDENT_VALUE_MAX ||
        (sys != NULL && strlen(sys) >= FHIR_IDENT_VALUE_MAX))
      continue;
    ident_key(channel, type, false, sys != NULL ? sys : "", val, key);
    if (rc == 0)
      rc = ident_put(t, key, id, &off, &have_off);
    ident_key(channel, type, true, "", val, key);
    if (rc == 0)
      rc = ident_put(t, key, id, &off, &have_off);
  }
  return rc;
}

int fhir_idents_find(const struct fhir_idents *t, const char *channel,
                     const char *type, const struct fhir_cond *c,
                     char id[FHIR_ID_MAX]) {
  unsigned char key[PRIVACY_DIGEST_BYTES];
  const struct ident_entry *e;
  if (t == NULL || t->cap == 0 || strlen(type) >= 32 ||
      strlen(channel) >= EVENT_ID_MAX)
    return 0;
  ident_key(channel, type, c->any_system, c->system, c->value, key);
  e = ident_slot(t->v, t->cap, key);
  if (!(e->flags & IDENT_USED))
    return 0;
  if (e->flags & IDENT_AMBIGUOUS)
    return ERR_EXISTS;
  snprintf(id, FHIR_ID_MAX, "%s", t->arena + e->off);
  return 1;
}
