/* fuzz_fhir.c -- fuzz target for the FHIR mapper (fhir.c): Schedule,
 * Slot, Appointment, Encounter and the identifier index.
 *
 * Feeds arbitrary bytes to fhir_parse; a resource that parses is mapped as
 * what it says it is (a Bundle's entries each in turn): a Schedule into a
 * table, a Slot against a table that knows Schedule "A" (and whatever the
 * input added). Checks what fhir.h promises: a refusal is ERR_MAPPING with
 * an issue code and diagnostics whose OperationOutcome parses back as
 * JSON; a Schedule maps to a unit the channel knows and a 32-hex
 * professional pseudonym; a Slot maps to one slot event of that unit with
 * end >= start and a bookable or held flag; an Appointment or Encounter to
 * zero or one appointment.* / visit.completed event of that unit with a
 * 32-hex subject and ages in range; every resource's identifiers go into
 * an index where each is found again (or is ambiguous). Any violation
 * aborts.
 *
 * The keys are made once in a temporary directory (deleted at once); the
 * organisation is a fixed inline one. */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fhir.h"
#include "org.h"
#include "privacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

const char *fuzz_shared_seed_dir(void) { return "fhir/r4-core"; }

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x))                                                                  \
      abort();                                                                 \
  } while (0)

static const char ORG_JSON[] =
    "{\"id\":\"hva\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"hva\",\"type\":\"county\",\"name\":{\"fi\":\"Alue\"}},"
    "{\"id\":\"tx\",\"type\":\"health_station\",\"parent\":\"hva\","
    "\"name\":{\"fi\":\"X\"}}],\"channels\":[{\"id\":\"fh\",\"type\":"
    "\"fhir\",\"locations\":{\"Location/X\":\"tx\",\"Location/1\":\"tx\","
    "\"1.2.246.10.1\":\"tx\"}}]}";

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct org *org;
static struct privacy_keys *keys;

static void init(void) {
  char dir[] = "/tmp/fuzz_fhir.XXXXXX", path[64];
  struct error err;
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/keys", dir);
  CHECK(privacy_keyfile_create(path, &err) == 0);
  CHECK(privacy_keys_load(path, &keys, &err) == 0);
  unlink(path);
  rmdir(dir);
  CHECK(org_load_json(ORG_JSON, strlen(ORG_JSON), &org, &err) == 0);
}

static bool hex32(const char *s) {
  if (strlen(s) != 32)
    return false;
  for (; *s != '\0'; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static void check_refusal(int rc, const struct fhir_issue *iss) {
  struct buf b;
  json_t *back;
  CHECK(rc == ERR_MAPPING);
  CHECK(iss->code[0] != '\0' && iss->diagnostics[0] != '\0');
  buf_init(&b, 8192);
  CHECK(fhir_outcome_json(iss, &b) == 0);
  back = json_loadb(b.data, b.len, 0, NULL);
  CHECK(back != NULL);
  json_decref(back);
  buf_release(&b);
}

/* Indexes 'res' and finds each of its identifiers again. */
static void check_index(const json_t *res, struct fhir_idents *idx) {
  const char *lid = fhir_logical_id(res);
  size_t i;
  json_t *ident;
  int rc = fhir_idents_add(idx, "fh", res);
  CHECK(rc == 0);
  if (lid == NULL || fhir_resource_type(res)[0] == '\0' ||
      strlen(fhir_resource_type(res)) >= 32)
    return; /* not indexed: no logical id, or no type the server takes */
  json_array_foreach(json_object_get(res, "identifier"), i, ident) {
    const char *v = json_string_value(json_object_get(ident, "value"));
    const char *sys = json_string_value(json_object_get(ident, "system"));
    struct fhir_cond c;
    char id[FHIR_ID_MAX];
    if (v == NULL || v[0] == '\0' || strlen(v) >= FHIR_IDENT_VALUE_MAX ||
        (sys != NULL && strlen(sys) >= FHIR_IDENT_VALUE_MAX))
      continue;
    memset(&c, 0, sizeof c);
    snprintf(c.system, sizeof c.system, "%s", sys != NULL ? sys : "");
    memcpy(c.value, v, strlen(v) + 1);
    rc = fhir_idents_find(idx, "fh", fhir_resource_type(res), &c, id);
    CHECK(rc == ERR_EXISTS || (rc == 1 && strlen(id) < FHIR_ID_MAX));
    c.any_system = true;
    rc = fhir_idents_find(idx, "fh", fhir_resource_type(res), &c, id);
    CHECK(rc == ERR_EXISTS || rc == 1);
  }
}

static void check_visit_event(const struct event *ev, const char *type) {
  if (strcmp(type, "Encounter") == 0) {
    CHECK(ev->kind == EV_VISIT_COMPLETED);
    CHECK(hex32(ev->episode));
    CHECK(ev->attrs.age_years >= -1 && ev->attrs.age_years <= 150);
  } else {
    CHECK(ev->kind == EV_APPOINTMENT_BOOKED ||
          ev->kind == EV_APPOINTMENT_CANCELLED ||
          ev->kind == EV_APPOINTMENT_NOSHOW);
    CHECK(hex32(ev->attrs.appointment));
    CHECK(ev->attrs.age_years == -1);
  }
  CHECK(strcmp(ev->unit, "tx") == 0);
  CHECK(ev->subject[0] == '\0' || hex32(ev->subject));
  CHECK(ev->attrs.age_band >= -1 && ev->attrs.age_band <= 95);
  CHECK(((ev->attrs.flags & EVENT_F_REMOTE) != 0) ==
        (strcmp(ev->attrs.contact_channel, "in_person") != 0));
}

static void map_one(const json_t *res, const struct org_channel *ch,
                    struct fhir_schedules *tab, struct fhir_idents *idx) {
  const char *type = fhir_resource_type(res);
  struct fhir_issue iss;
  int rc;
  memset(&iss, 0, sizeof iss);
  check_index(res, idx);
  if (strcmp(type, "Appointment") == 0 || strcmp(type, "Encounter") == 0) {
    struct event ev;
    size_t n = 7;
    rc = type[0] == 'A' ? fhir_appointment_map(res, org, ch, keys,
                                               1700000000000, &ev, &n, &iss)
                        : fhir_encounter_map(res, org, ch, keys, 1700000000000,
                                             &ev, &n, &iss);
    if (rc != 0) {
      CHECK(n == 7);
      check_refusal(rc, &iss);
      return;
    }
    CHECK(n == 0 || n == 1);
    if (n == 1)
      check_visit_event(&ev, type);
    return;
  }
  if (strcmp(type, "Schedule") == 0) {
    struct fhir_schedule s;
    rc = fhir_schedule_map(res, org, ch, keys, &s, &iss);
    if (rc != 0) {
      check_refusal(rc, &iss);
      return;
    }
    CHECK(strcmp(s.unit, "tx") == 0);
    CHECK(hex32(s.professional));
    CHECK(s.id[0] != '\0');
    CHECK(fhir_schedules_put(tab, &s) == 0);
    CHECK(fhir_schedules_find(tab, s.id) != NULL);
  } else if (strcmp(type, "Slot") == 0) {
    struct event ev;
    rc = fhir_slot_map(res, ch, keys, tab, 1, &ev, &iss);
    if (rc != 0) {
      check_refusal(rc, &iss);
      return;
    }
    CHECK(ev.kind == EV_SLOT_OPENED || ev.kind == EV_SLOT_BOOKED ||
          ev.kind == EV_SLOT_REMOVED);
    CHECK(strcmp(ev.unit, "tx") == 0);
    CHECK(ev.attrs.slot_end >= ev.attrs.slot_start);
    CHECK(hex32(ev.attrs.slot) && hex32(ev.attrs.professional));
    CHECK(((ev.attrs.flags & EVENT_F_BOOKABLE) != 0) !=
          ((ev.attrs.flags & EVENT_F_HELD) != 0));
    CHECK(strncmp(ev.source_key, "Slot/", 5) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const struct org_channel *ch;
  struct fhir_schedules *tab;
  struct fhir_idents *idx;
  struct fhir_schedule a;
  struct fhir_issue iss;
  json_t *res = NULL;
  int rc;
  pthread_once(&once, init);
  ch = org_channel_find(org, "fh");
  memset(&iss, 0, sizeof iss);
  rc = fhir_parse((const char *)data, size, &res, &iss);
  if (rc != 0) {
    CHECK(res == NULL && (rc == ERR_PARSE || rc == ERR_TOOBIG));
    CHECK(iss.diagnostics[0] != '\0');
    return 0;
  }
  tab = fhir_schedules_new();
  idx = fhir_idents_new();
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, "A");
  snprintf(a.unit, sizeof a.unit, "tx");
  memset(a.professional, 'a', 32);
  CHECK(fhir_schedules_put(tab, &a) == 0);
  if (strcmp(fhir_resource_type(res), "Bundle") == 0) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(res, "entry"), i, e) {
      json_t *r = json_object_get(e, "resource");
      if (json_is_object(r))
        map_one(r, ch, tab, idx);
    }
  } else {
    map_one(res, ch, tab, idx);
  }
  fhir_schedules_free(tab);
  fhir_idents_free(idx);
  json_decref(res);
  return 0;
}
