/* fuzz_fhir.c -- fuzz target for the FHIR Schedule and Slot mapper
 * (fhir.c).
 *
 * Feeds arbitrary bytes to fhir_parse; a resource that parses is mapped as
 * what it says it is (a Bundle's entries each in turn): a Schedule into a
 * table, a Slot against a table that knows Schedule "A" (and whatever the
 * input added). Checks what fhir.h promises: a refusal is ERR_MAPPING with
 * an issue code and diagnostics whose OperationOutcome parses back as
 * JSON; a Schedule maps to a unit the channel knows and a 32-hex
 * professional pseudonym; a Slot maps to one slot event of that unit with
 * end >= start and a bookable or held flag. Any violation aborts.
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

static void map_one(const json_t *res, const struct org_channel *ch,
                    struct fhir_schedules *tab) {
  const char *type = fhir_resource_type(res);
  struct fhir_issue iss;
  int rc;
  memset(&iss, 0, sizeof iss);
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
        map_one(r, ch, tab);
    }
  } else {
    map_one(res, ch, tab);
  }
  fhir_schedules_free(tab);
  json_decref(res);
  return 0;
}
