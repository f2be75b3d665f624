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

int fhir_outcome_json(const struct fhir_issue *iss, struct buf *out) {
  json_t *o =
      json_pack("{s:s,s:[{s:s,s:s,s:s,s:[s]}]}", "resourceType",
                "OperationOutcome", "issue", "severity", "error", "code",
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
