/* fuzz_org.c -- fuzz target for the organisation loader (org_load_json).
 *
 * Feeds arbitrary bytes to org_load_json. When they load, walks every unit
 * and channel and checks the invariants org.h promises (depth-first order,
 * parent ranges, unique ids reachable through the maps, beds found, sender
 * and location maps consistent) and that org_units_json writes JSON that
 * parses back with one node per unit. A failed load must leave the out
 * pointer untouched and set an error message. Any violation aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "org.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

const char *fuzz_shared_seed_dir(void) { return NULL; }

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x))                                                                  \
      abort();                                                                 \
  } while (0)

static size_t count_nodes(json_t *node) {
  json_t *kids = json_object_get(node, "children");
  size_t n = 1;
  CHECK(json_is_array(kids));
  for (size_t i = 0; i < json_array_size(kids); i++)
    n += count_nodes(json_array_get(kids, i));
  return n;
}

static void check_units(const struct org *org) {
  size_t n = org_unit_count(org);
  const struct org_unit *root = org_unit_at(org, 0);
  CHECK(n >= 1 && n <= ORG_MAX_UNITS);
  CHECK(root->parent == NULL && root->parent_index == -1 && root->depth == 0);
  CHECK(root->subtree_size == n);
  CHECK(org_unit_at(org, n) == NULL);
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    CHECK(u->index == i);
    CHECK(u->subtree_size >= 1 && i + u->subtree_size <= n);
    CHECK(u->depth >= 0 && u->depth <= ORG_MAX_DEPTH);
    CHECK(strlen(u->id) > 0 && strlen(u->id) < EVENT_ID_MAX);
    CHECK(org_unit_find(org, u->id) == u);
    CHECK(u->name.fi != NULL && u->name.sv != NULL && u->name.en != NULL);
    CHECK(u->nbeds <= ORG_MAX_BEDS_PER_UNIT);
    CHECK((u->municipality != NULL) == (strcmp(u->type, "municipality") == 0));
    if (u->municipality != NULL)
      CHECK(org_unit_by_municipality(org, u->municipality) == u);
    for (size_t b = 0; b < u->nbeds; b++) {
      size_t len = strlen(u->beds[b]);
      CHECK(len > 0 && len < EVENT_BED_MAX);
      CHECK(org_unit_has_bed(u, u->beds[b], len));
      for (size_t c = 0; c < b && u->nbeds <= 64; c++)
        CHECK(strcmp(u->beds[b], u->beds[c]) != 0);
    }
    if (i == 0)
      continue;
    CHECK(u->parent != NULL);
    CHECK(u->parent_index >= 0 && (size_t)u->parent_index < i);
    {
      const struct org_unit *p = org_unit_at(org, (size_t)u->parent_index);
      CHECK(strcmp(p->id, u->parent) == 0);
      CHECK(u->depth == p->depth + 1);
      CHECK(i + u->subtree_size <= p->index + p->subtree_size);
      CHECK(org_unit_within(org, u, p) && !org_unit_within(org, p, u));
    }
  }
}

static void check_channels(const struct org *org) {
  for (size_t c = 0; c < org_channel_count(org); c++) {
    const struct org_channel *ch = org_channel_at(org, c);
    CHECK(org_channel_find(org, ch->id) == ch);
    if (ch->application != NULL)
      CHECK(org_channel_by_sender(org, ch->application, strlen(ch->application),
                                  ch->facility, strlen(ch->facility)) == ch);
    else
      CHECK(strcmp(ch->type, "hl7v2") != 0);
    if (ch->ready.segment != NULL)
      CHECK(strlen(ch->ready.segment) == 3 && ch->ready.field >= 1);
    for (size_t l = 0; l < org_channel_location_count(ch); l++) {
      const char *code = NULL;
      const struct org_unit *u = NULL;
      const char *first;
      CHECK(org_channel_location_at(org, ch, l, &code, &u));
      CHECK(org_unit_find(org, u->id) == u);
      CHECK(org_channel_location(org, ch, code, strlen(code)) == u);
      first = org_channel_location_code(org, ch, u);
      CHECK(first != NULL);
      CHECK(org_channel_location(org, ch, first, strlen(first)) == u);
    }
  }
}

static void check_json(const struct org *org) {
  struct buf b;
  json_t *doc, *units;
  json_error_t jerr;
  buf_init(&b, 64u * 1024u * 1024u);
  CHECK(org_units_json(org, &b) == 0);
  doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
  CHECK(doc != NULL);
  units = json_object_get(doc, "units");
  CHECK(json_array_size(units) == 1);
  CHECK(count_nodes(json_array_get(units, 0)) == org_unit_count(org));
  json_decref(doc);
  buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct org *sentinel = (struct org *)(uintptr_t)0x1234;
  struct org *org = sentinel;
  struct error err;
  int rc;
  error_clear(&err);
  rc = org_load_json((const char *)data, size, &org, &err);
  if (rc != 0) {
    CHECK(rc < 0 && err.code == rc && err.msg[0] != '\0');
    CHECK(org == sentinel);
    return 0;
  }
  CHECK(org != sentinel && org != NULL);
  check_units(org);
  check_channels(org);
  check_json(org);
  org_free(org);
  return 0;
}
