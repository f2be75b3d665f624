/* org.c -- loads and serves the county's organisation (org.h).
 *
 * Design: the organisation JSON is parsed with jansson and validated key by
 * key; every error names its JSON path ("units[4].parent: unknown unit
 * 'x'"). Loading runs in four steps: (1) read each unit's fields into a raw
 * record (pointers into the jansson tree), checking types, syntax and
 * uniqueness of ids and municipality codes; (2) resolve parents, find the
 * one root and order the units depth-first (pre-order, children in file
 * order) with an explicit stack, reporting unknown parents, extra roots,
 * cycles and over-deep trees; (3) copy everything into the immutable struct
 * org, checking bed ids for duplicates; (4) read the channels, whose
 * locations name units by id.
 *
 * Lookups that run per message use small open-addressing hash maps (linear
 * probing; FNV-1a with a final avalanche). Each map has a power-of-two slot
 * count at least twice its entries, so a probe always reaches an empty
 * slot; a slot is 0 when empty, else (hash tag << 32) | (value + 1). The keys
 * live elsewhere (unit records, channel records); a map stores only indexes
 * and compares keys through a callback.
 *
 * The public struct org_unit / org_channel are the first members of the
 * private records unit_rec / chan_rec, so a function handed such a pointer
 * reaches the private part with a cast (C11 6.7.2.1p15). All strings and
 * bed arrays live in an arena owned by the org.
 *
 * Thread safety: loading touches only its own memory; a loaded org never
 * changes, so any number of threads may read it at once. */
#include "org.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "mem.h"

#define ORG_NAME_MAX 256           /* bytes of a display name, incl. NUL */
#define ORG_CODE_MAX 64            /* location codes, sender ids, incl. NUL */
#define ORG_TOKEN_MAX 32           /* type and ward_type, incl. NUL */
#define ORG_MAX_BEDS_TOTAL 1000000 /* beds over the whole organisation */
#define ORG_MAX_LOCATIONS 100000   /* location codes per channel */
#define ORG_MAX_POPULATION 10000000L
#define ORG_MAX_HL7_FIELD 999
#define ORG_MAX_HL7_COMPONENT 99
#define BED_LINEAR_MAX 16 /* wards with more beds get a hash map */
#define PATH_LEN 192      /* JSON path in error messages */
#define SHOW_MAX 40       /* bytes of an untrusted string quoted in an error */
#define CODE_RULE                                                              \
  "1 to %d bytes; no control characters, no | ^ ~ \\ &, no leading or "        \
  "trailing space"
#define ARENA_CHUNK 65536

/* ---------------------------------------------------------------- arena */

struct chunk {
  struct chunk *next;
  size_t used;
  size_t cap;
  char data[]; /* at offset 24: aligned for pointers */
};

struct arena {
  struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n, size_t align) {
  struct chunk *c = a->head;
  size_t at = 0;
  if (c != NULL)
    at = (c->used + align - 1) & ~(align - 1);
  if (c == NULL || at > c->cap || n > c->cap - at) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    c = mem_alloc(sizeof *c + cap);
    c->cap = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    at = 0;
  }
  c->used = at + n;
  return c->data + at;
}

static const char *arena_strndup(struct arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1, 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static const char *arena_strdup(struct arena *a, const char *s) {
  return s == NULL ? NULL : arena_strndup(a, s, strlen(s));
}

static void arena_free(struct arena *a) {
  struct chunk *c = a->head;
  while (c != NULL) {
    struct chunk *next = c->next;
    mem_free(c);
    c = next;
  }
  a->head = NULL;
}

/* ------------------------------------------------------------------ map */

#define MAP_NONE SIZE_MAX

struct map {
  uint64_t *slots; /* NULL: empty map */
  size_t mask;
};

/* Is the key of entry 'val' equal to 'key' ('len' bytes, or whatever the
 * map's keys are)? */
typedef bool (*map_eq_fn)(const void *ctx, size_t val, const void *key,
                          size_t len);

static uint64_t hash_more(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t hash_end(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static uint64_t hash_str(const char *s, size_t n) {
  return hash_end(hash_more(0xcbf29ce484222325ULL, s, n));
}

static void map_init(struct map *m, size_t entries) {
  size_t cap = 8;
  while (cap < entries * 2)
    cap <<= 1;
  m->slots = mem_calloc(cap, sizeof *m->slots);
  m->mask = cap - 1;
}

static void map_release(struct map *m) {
  mem_free(m->slots);
  m->slots = NULL;
  m->mask = 0;
}

/* Adds 'val' under hash 'h'; the caller has checked it is not there. */
static void map_put(struct map *m, uint64_t h, size_t val) {
  size_t i = (size_t)h & m->mask;
  while (m->slots[i] != 0)
    i = (i + 1) & m->mask;
  m->slots[i] = (h & 0xffffffff00000000ULL) | (uint64_t)(val + 1);
}

static size_t map_get(const struct map *m, uint64_t h, map_eq_fn eq,
                      const void *ctx, const void *key, size_t len) {
  size_t i;
  if (m->slots == NULL)
    return MAP_NONE;
  i = (size_t)h & m->mask;
  while (m->slots[i] != 0) {
    uint64_t s = m->slots[i];
    if ((s >> 32) == (h >> 32)) {
      size_t val = (size_t)(s & 0xffffffffULL) - 1;
      if (eq(ctx, val, key, len))
        return val;
    }
    i = (i + 1) & m->mask;
  }
  return MAP_NONE;
}

/* Equality of a NUL-terminated 'have' with the span 'key'/'len'. */
static bool span_eq(const char *have, const char *key, size_t len) {
  return strnlen(have, len + 1) == len && memcmp(have, key, len) == 0;
}

/* ---------------------------------------------------------- the records */

struct unit_rec {
  struct org_unit pub; /* first: see the file comment */
  const char *ward_type;
  bool bedded;        /* a ward or an ED: it may have beds */
  struct map bed_map; /* bed index by id; only for > BED_LINEAR_MAX beds */
};

struct sender_key {
  const char *app, *fac;
  size_t app_len, fac_len;
};

struct chan_rec {
  struct org_channel pub; /* first: see the file comment */
  size_t nloc;
  const char **loc_codes; /* file order */
  size_t *loc_units;      /* unit index per code */
  struct map loc_map;     /* code -> location index */
  struct map rev_map;     /* unit index -> first location index */
};

struct org {
  const char *id;
  struct org_name name;
  size_t nunits;
  struct unit_rec *units; /* depth-first order */
  size_t nchannels;
  struct chan_rec *channels; /* file order */
  struct map unit_map;       /* unit id -> index */
  struct map muni_map;       /* municipality code -> unit index */
  struct map chan_map;       /* channel id -> index */
  struct map sender_map;     /* (application, facility) -> channel index */
  struct arena arena;
};

static bool unit_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct org *org = ctx;
  return span_eq(org->units[val].pub.id, key, len);
}

static bool muni_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct org *org = ctx;
  return span_eq(org->units[val].pub.municipality, key, len);
}

static bool chan_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct org *org = ctx;
  return span_eq(org->channels[val].pub.id, key, len);
}

static uint64_t sender_hash(const char *app, size_t app_len, const char *fac,
                            size_t fac_len) {
  uint64_t h = hash_more(0xcbf29ce484222325ULL, app, app_len);
  h = hash_more(h, &app_len, sizeof app_len);
  return hash_end(hash_more(h, fac, fac_len));
}

static bool sender_eq(const void *ctx, size_t val, const void *key,
                      size_t len) {
  const struct org *org = ctx;
  const struct sender_key *k = key;
  const struct org_channel *ch = &org->channels[val].pub;
  (void)len;
  return span_eq(ch->application, k->app, k->app_len) &&
         span_eq(ch->facility, k->fac, k->fac_len);
}

static bool bed_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct org_unit *u = ctx;
  return span_eq(u->beds[val], key, len);
}

static bool loc_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct chan_rec *c = ctx;
  return span_eq(c->loc_codes[val], key, len);
}

static bool rev_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct chan_rec *c = ctx;
  (void)len;
  return c->loc_units[val] == *(const size_t *)key;
}

static uint64_t index_hash(size_t i) {
  return hash_str((const char *)&i, sizeof i);
}

/* ------------------------------------------------------- syntax checks */

/* Copies at most SHOW_MAX bytes of untrusted 's' into 'tmp' for an error
 * message, replacing control characters and quotes with '?'. */
static const char *show(const char *s, char tmp[SHOW_MAX + 4]) {
  size_t n = strlen(s);
  size_t cut = n > SHOW_MAX ? SHOW_MAX : n;
  while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
    cut--; /* do not split a UTF-8 sequence */
  for (size_t i = 0; i < cut; i++) {
    unsigned char c = (unsigned char)s[i];
    tmp[i] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
  }
  if (cut < n) {
    memcpy(tmp + cut, "...", 4);
  } else {
    tmp[cut] = '\0';
  }
  return tmp;
}

/* Unit and channel ids: 1..EVENT_ID_MAX-1 of [A-Za-z0-9._-]. */
static bool valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= EVENT_ID_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* Types and ward types: 1..ORG_TOKEN_MAX-1 of [a-z0-9_], a letter first. */
static bool valid_token(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= ORG_TOKEN_MAX || s[0] < 'a' || s[0] > 'z')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

/* Bed ids, location codes, sender ids: they are compared with raw HL7
 * component bytes, so 1..cap-1 bytes without control characters, without
 * the HL7 delimiters | ^ ~ \ & (they cannot occur unescaped in a
 * component) and without a leading or trailing space (a copy-paste slip).
 * UTF-8 letters are fine. */
static bool valid_code(const char *s, size_t cap) {
  size_t n = strlen(s);
  if (n == 0 || n >= cap || s[0] == ' ' || s[n - 1] == ' ')
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || strchr("|^~\\&", c) != NULL)
      return false;
  }
  return true;
}

/* Display text: 1..ORG_NAME_MAX-1 bytes (jansson guarantees UTF-8), no
 * control characters. */
static bool valid_text(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= ORG_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

static bool valid_muni(const char *s) {
  return strlen(s) == 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
         s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

/* HL7 segment ids: an upper-case letter and two upper-case letters or
 * digits. */
static bool valid_segment(const char *s) {
  if (strlen(s) != 3 || s[0] < 'A' || s[0] > 'Z')
    return false;
  for (int i = 1; i < 3; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
      return false;
  return true;
}

/* ------------------------------------------------------ JSON accessors */

/* "path.key", or "key" at the top level (path ""); a path too long for
 * the buffer ends in "...". */
static const char *sub(char out[PATH_LEN], const char *path, const char *key) {
  int n;
  if (path[0] == '\0')
    n = snprintf(out, PATH_LEN, "%s", key);
  else
    n = snprintf(out, PATH_LEN, "%s.%s", path, key);
  if (n < 0 || n >= PATH_LEN)
    memcpy(out + PATH_LEN - 4, "...", 4);
  return out;
}

static int check_keys(json_t *obj, const char *path, const char *const *allowed,
                      struct error *err) {
  const char *key;
  json_t *v;
  char tmp[SHOW_MAX + 4], p[PATH_LEN];
  json_object_foreach(obj, key, v) {
    bool ok = strncmp(key, "x-", 2) == 0;
    (void)v;
    for (size_t i = 0; !ok && allowed[i] != NULL; i++)
      ok = strcmp(key, allowed[i]) == 0;
    if (!ok)
      return error_set(err, ERR_CONFIG, "%s: unknown key",
                       sub(p, path, show(key, tmp)));
  }
  return 0;
}

static int want_object(json_t *v, const char *path, struct error *err) {
  if (!json_is_object(v))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  return 0;
}

/* obj[key] as a string; NULL when absent or null (an error if 'required'). */
static int get_str(json_t *obj, const char *key, const char *path,
                   bool required, const char **out, struct error *err) {
  json_t *v = json_object_get(obj, key);
  char p[PATH_LEN];
  if (v == NULL || json_is_null(v)) {
    if (required)
      return error_set(err, ERR_CONFIG, "%s: required", sub(p, path, key));
    *out = NULL;
    return 0;
  }
  if (!json_is_string(v))
    return error_set(err, ERR_CONFIG, "%s: expected a string",
                     sub(p, path, key));
  *out = json_string_value(v);
  return 0;
}

static int get_id(json_t *obj, const char *key, const char *path, bool required,
                  const char **out, struct error *err) {
  char tmp[SHOW_MAX + 4], p[PATH_LEN];
  int rc = get_str(obj, key, path, required, out, err);
  if (rc < 0)
    return rc;
  if (*out != NULL && !valid_id(*out))
    return error_set(err, ERR_CONFIG,
                     "%s: invalid id '%s' (1 to %d letters, digits, '.', "
                     "'_' or '-')",
                     sub(p, path, key), show(*out, tmp), EVENT_ID_MAX - 1);
  return 0;
}

static int get_token(json_t *obj, const char *key, const char *path,
                     bool required, const char **out, struct error *err) {
  char tmp[SHOW_MAX + 4], p[PATH_LEN];
  int rc = get_str(obj, key, path, required, out, err);
  if (rc < 0)
    return rc;
  if (*out != NULL && !valid_token(*out))
    return error_set(err, ERR_CONFIG,
                     "%s: invalid name '%s' (1 to %d of a-z, 0-9, '_', "
                     "starting with a letter)",
                     sub(p, path, key), show(*out, tmp), ORG_TOKEN_MAX - 1);
  return 0;
}

static int get_code(json_t *obj, const char *key, const char *path,
                    bool required, const char **out, struct error *err) {
  char tmp[SHOW_MAX + 4], p[PATH_LEN];
  int rc = get_str(obj, key, path, required, out, err);
  if (rc < 0)
    return rc;
  if (*out != NULL && !valid_code(*out, ORG_CODE_MAX))
    return error_set(err, ERR_CONFIG, "%s: invalid code '%s' (" CODE_RULE ")",
                     sub(p, path, key), show(*out, tmp), ORG_CODE_MAX - 1);
  return 0;
}

/* A name object {"fi": .., "sv": .., "en": ..}: fi required; sv and en
 * default to fi. */
static int get_name(json_t *obj, const char *path, struct org_name *out,
                    struct error *err) {
  static const char *const keys[] = {"fi", "sv", "en", NULL};
  char npath[PATH_LEN];
  const char *txt[3];
  json_t *v = json_object_get(obj, "name");
  int rc;
  sub(npath, path, "name");
  if (v == NULL || json_is_null(v))
    return error_set(err, ERR_CONFIG, "%s: required", npath);
  if ((rc = want_object(v, npath, err)) < 0 ||
      (rc = check_keys(v, npath, keys, err)) < 0)
    return rc;
  for (int i = 0; i < 3; i++) {
    rc = get_str(v, keys[i], npath, i == 0, &txt[i], err);
    if (rc < 0)
      return rc;
    if (txt[i] != NULL && !valid_text(txt[i]))
      return error_set(err, ERR_CONFIG,
                       "%s.%s: expected 1 to %d bytes of text without "
                       "control characters",
                       npath, keys[i], ORG_NAME_MAX - 1);
  }
  out->fi = txt[0];
  out->sv = txt[1] != NULL ? txt[1] : txt[0];
  out->en = txt[2] != NULL ? txt[2] : txt[0];
  return 0;
}

/* -------------------------------------------------------- raw units */

struct raw_unit {
  const char *id, *type, *parent, *muni, *ward_type;
  struct org_name name;
  long population;
  json_t *beds; /* array of ids, or NULL (then nbeds is a count) */
  size_t nbeds;
  bool shared_beds;
  bool bedded;
  size_t parent_fi; /* file index of the parent; MAP_NONE for the root */
};

struct loader {
  json_t *root;
  size_t n;             /* units */
  struct raw_unit *raw; /* file order */
  struct map id_map;    /* unit id -> file index */
  size_t *order;        /* depth-first position -> file index */
  size_t *pos;          /* file index -> depth-first position */
  size_t *size;         /* file index -> subtree size */
  int *depth;           /* file index -> depth */
  size_t total_beds;
  size_t nmuni; /* units with a municipality code */
};

static bool raw_eq(const void *ctx, size_t val, const void *key, size_t len) {
  const struct loader *ld = ctx;
  return span_eq(ld->raw[val].id, key, len);
}

static bool raw_muni_eq(const void *ctx, size_t val, const void *key,
                        size_t len) {
  const struct loader *ld = ctx;
  return span_eq(ld->raw[val].muni, key, len);
}

static int parse_beds(struct loader *ld, size_t i, json_t *unit,
                      const char *path, struct error *err) {
  struct raw_unit *r = &ld->raw[i];
  json_t *v = json_object_get(unit, "beds");
  json_t *sb = json_object_get(unit, "shared_beds");
  char tmp[SHOW_MAX + 4];
  if (sb != NULL && !json_is_null(sb)) {
    if (!r->bedded)
      return error_set(err, ERR_CONFIG,
                       "%s.shared_beds: only wards and emergency departments "
                       "have beds",
                       path);
    if (!json_is_boolean(sb))
      return error_set(err, ERR_CONFIG,
                       "%s.shared_beds: expected true or false", path);
    r->shared_beds = json_is_true(sb);
  }
  if (v == NULL || json_is_null(v))
    return 0;
  if (!r->bedded)
    return error_set(err, ERR_CONFIG,
                     "%s.beds: only wards and emergency departments have beds",
                     path);
  if (json_is_integer(v)) {
    json_int_t n = json_integer_value(v);
    if (n < 0 || n > ORG_MAX_BEDS_PER_UNIT)
      return error_set(err, ERR_CONFIG,
                       "%s.beds: expected a count from 0 to %d", path,
                       ORG_MAX_BEDS_PER_UNIT);
    r->nbeds = (size_t)n;
  } else if (json_is_array(v)) {
    r->nbeds = json_array_size(v);
    if (r->nbeds > ORG_MAX_BEDS_PER_UNIT)
      return error_set(err, ERR_TOOBIG, "%s.beds: more than %d beds", path,
                       ORG_MAX_BEDS_PER_UNIT);
    for (size_t b = 0; b < r->nbeds; b++) {
      json_t *e = json_array_get(v, b);
      const char *s;
      if (!json_is_string(e))
        return error_set(err, ERR_CONFIG, "%s.beds[%zu]: expected a string",
                         path, b);
      s = json_string_value(e);
      if (!valid_code(s, EVENT_BED_MAX))
        return error_set(err, ERR_CONFIG,
                         "%s.beds[%zu]: invalid bed id '%s' (" CODE_RULE ")",
                         path, b, show(s, tmp), EVENT_BED_MAX - 1);
    }
    r->beds = v;
  } else {
    return error_set(err, ERR_CONFIG,
                     "%s.beds: expected an array of bed ids or a count", path);
  }
  if (r->nbeds > ORG_MAX_BEDS_TOTAL - ld->total_beds)
    return error_set(err, ERR_TOOBIG,
                     "%s.beds: more than %d beds in the organisation", path,
                     ORG_MAX_BEDS_TOTAL);
  ld->total_beds += r->nbeds;
  return 0;
}

static int parse_unit(struct loader *ld, size_t i, json_t *unit,
                      struct map *muni_map, struct error *err) {
  static const char *const keys[] = {
      "id",         "type", "parent",      "name",      "municipality",
      "population", "beds", "shared_beds", "ward_type", NULL};
  struct raw_unit *r = &ld->raw[i];
  char path[PATH_LEN];
  char tmp[SHOW_MAX + 4];
  json_t *pop;
  size_t other;
  int rc;
  snprintf(path, sizeof path, "units[%zu]", i);
  if ((rc = want_object(unit, path, err)) < 0 ||
      (rc = check_keys(unit, path, keys, err)) < 0 ||
      (rc = get_id(unit, "id", path, true, &r->id, err)) < 0 ||
      (rc = get_token(unit, "type", path, true, &r->type, err)) < 0 ||
      (rc = get_id(unit, "parent", path, false, &r->parent, err)) < 0 ||
      (rc = get_name(unit, path, &r->name, err)) < 0 ||
      (rc = get_str(unit, "municipality", path, false, &r->muni, err)) < 0 ||
      (rc = get_token(unit, "ward_type", path, false, &r->ward_type, err)) < 0)
    return rc;
  other = map_get(&ld->id_map, hash_str(r->id, strlen(r->id)), raw_eq, ld,
                  r->id, strlen(r->id));
  if (other != MAP_NONE)
    return error_set(err, ERR_CONFIG,
                     "%s.id: duplicate unit id '%s' (also units[%zu])", path,
                     r->id, other);
  map_put(&ld->id_map, hash_str(r->id, strlen(r->id)), i);
  r->bedded = strcmp(r->type, "ward") == 0 || strcmp(r->type, "ed") == 0;

  if (strcmp(r->type, "municipality") == 0) {
    if (r->muni == NULL)
      return error_set(err, ERR_CONFIG, "%s.municipality: required", path);
  } else if (r->muni != NULL) {
    return error_set(err, ERR_CONFIG,
                     "%s.municipality: only units of type 'municipality' have "
                     "a municipality code",
                     path);
  }
  if (r->muni != NULL) {
    if (!valid_muni(r->muni))
      return error_set(err, ERR_CONFIG,
                       "%s.municipality: expected 3 digits, got '%s'", path,
                       show(r->muni, tmp));
    other =
        map_get(muni_map, hash_str(r->muni, 3), raw_muni_eq, ld, r->muni, 3);
    if (other != MAP_NONE)
      return error_set(err, ERR_CONFIG,
                       "%s.municipality: duplicate code '%s' (also "
                       "units[%zu])",
                       path, r->muni, other);
    map_put(muni_map, hash_str(r->muni, 3), i);
    ld->nmuni++;
  }

  pop = json_object_get(unit, "population");
  if (pop != NULL && !json_is_null(pop)) {
    if (r->muni == NULL)
      return error_set(err, ERR_CONFIG,
                       "%s.population: only units of type 'municipality' have "
                       "a population",
                       path);
    if (!json_is_integer(pop) || json_integer_value(pop) < 0 ||
        json_integer_value(pop) > ORG_MAX_POPULATION)
      return error_set(err, ERR_CONFIG,
                       "%s.population: expected an integer from 0 to %ld", path,
                       ORG_MAX_POPULATION);
    r->population = (long)json_integer_value(pop);
  }

  if (r->ward_type != NULL && strcmp(r->type, "ward") != 0)
    return error_set(err, ERR_CONFIG,
                     "%s.ward_type: only units of type 'ward' have a "
                     "ward_type",
                     path);
  return parse_beds(ld, i, unit, path, err);
}

/* Step 1: every unit into ld->raw. */
static int parse_units(struct loader *ld, json_t *units, struct error *err) {
  struct map muni_map = {0};
  int rc = 0;
  if (units == NULL || json_is_null(units))
    return error_set(err, ERR_CONFIG, "units: required");
  if (!json_is_array(units))
    return error_set(err, ERR_CONFIG, "units: expected an array");
  ld->n = json_array_size(units);
  if (ld->n == 0)
    return error_set(err, ERR_CONFIG, "units: expected at least one unit");
  if (ld->n > ORG_MAX_UNITS)
    return error_set(err, ERR_TOOBIG, "units: more than %d units",
                     ORG_MAX_UNITS);
  ld->raw = mem_calloc(ld->n, sizeof *ld->raw);
  map_init(&ld->id_map, ld->n);
  map_init(&muni_map, ld->n);
  for (size_t i = 0; i < ld->n; i++) {
    rc = parse_unit(ld, i, json_array_get(units, i), &muni_map, err);
    if (rc < 0)
      break;
  }
  map_release(&muni_map);
  return rc;
}

/* Reports a cycle among the units not reached from the root; 'from' is one
 * of them. Every unreached unit has a parent, so walking n parent links
 * lands on a cycle; the message names its member first in the file. */
static int report_cycle(const struct loader *ld, size_t from,
                        struct error *err) {
  size_t v = from, w, first;
  for (size_t k = 0; k < ld->n && v != MAP_NONE; k++)
    v = ld->raw[v].parent_fi;
  if (NEVER(v == MAP_NONE))
    return error_set(err, ERR_CONFIG, "units[%zu].parent: cycle", from);
  first = v;
  w = v;
  do {
    w = ld->raw[w].parent_fi;
    if (w < first)
      first = w;
  } while (w != v);
  return error_set(err, ERR_CONFIG,
                   "units[%zu].parent: cycle ('%s' is its own ancestor)", first,
                   ld->raw[first].id);
}

/* Step 2: parents, the root, depth-first order, depths, subtree sizes. */
static int order_units(struct loader *ld, struct error *err) {
  size_t n = ld->n;
  size_t root = MAP_NONE;
  size_t *first_kid = NULL, *kids = NULL, *fill = NULL, *stack = NULL;
  size_t done = 0, top = 0;
  char tmp[SHOW_MAX + 4];
  int rc = 0;

  for (size_t i = 0; i < n; i++) {
    struct raw_unit *r = &ld->raw[i];
    if (r->parent == NULL) {
      if (root != MAP_NONE)
        return error_set(err, ERR_CONFIG,
                         "units[%zu].parent: required (only the root may "
                         "lack a parent, and units[%zu] '%s' is the root)",
                         i, root, ld->raw[root].id);
      root = i;
      r->parent_fi = MAP_NONE;
      continue;
    }
    r->parent_fi = map_get(&ld->id_map, hash_str(r->parent, strlen(r->parent)),
                           raw_eq, ld, r->parent, strlen(r->parent));
    if (r->parent_fi == MAP_NONE)
      return error_set(err, ERR_CONFIG, "units[%zu].parent: unknown unit '%s'",
                       i, show(r->parent, tmp));
  }

  first_kid = mem_calloc(n + 1, sizeof *first_kid);
  kids = mem_calloc(n, sizeof *kids);
  fill = mem_calloc(n, sizeof *fill);
  stack = mem_calloc(n, sizeof *stack);
  ld->order = mem_calloc(n, sizeof *ld->order);
  ld->pos = mem_calloc(n, sizeof *ld->pos);
  ld->size = mem_calloc(n, sizeof *ld->size);
  ld->depth = mem_calloc(n, sizeof *ld->depth);

  /* Children of p, in file order: kids[first_kid[p] .. first_kid[p+1]). */
  for (size_t i = 0; i < n; i++)
    if (ld->raw[i].parent_fi != MAP_NONE)
      first_kid[ld->raw[i].parent_fi + 1]++;
  for (size_t i = 0; i < n; i++)
    first_kid[i + 1] += first_kid[i];
  for (size_t i = 0; i < n; i++) {
    size_t p = ld->raw[i].parent_fi;
    if (p != MAP_NONE)
      kids[first_kid[p] + fill[p]++] = i;
  }

  if (root != MAP_NONE) {
    stack[top++] = root;
    ld->depth[root] = 0;
  }
  while (top > 0) {
    size_t u = stack[--top];
    ld->pos[u] = done;
    ld->order[done++] = u;
    if (first_kid[u + 1] > first_kid[u] && ld->depth[u] >= ORG_MAX_DEPTH) {
      rc = error_set(err, ERR_CONFIG,
                     "units[%zu].parent: more than %d levels below the root",
                     kids[first_kid[u]], ORG_MAX_DEPTH);
      goto out;
    }
    /* Push in reverse so the first child pops first. The stack cannot
     * overflow: every unit is pushed at most once (each has one parent). */
    for (size_t k = first_kid[u + 1]; k > first_kid[u]; k--) {
      size_t c = kids[k - 1];
      ld->depth[c] = ld->depth[u] + 1;
      stack[top++] = c;
    }
  }
  if (done < n) {
    /* Some unit is not below the root: it lies on or below a cycle. The
     * root has position 0; so has every unit not reached. */
    size_t i = 0;
    while (i < n && (i == root || ld->pos[i] != 0))
      i++;
    rc = ALWAYS(i < n) ? report_cycle(ld, i, err)
                       : error_set(err, ERR_CONFIG, "units: cycle");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    ld->size[i] = 1;
  for (size_t k = n; k-- > 1;) {
    size_t u = ld->order[k];
    ld->size[ld->raw[u].parent_fi] += ld->size[u];
  }
out:
  mem_free(first_kid);
  mem_free(kids);
  mem_free(fill);
  mem_free(stack);
  return rc;
}

/* Step 3: the units into 'org', in depth-first order. */
static int build_units(struct org *org, const struct loader *ld,
                       struct error *err) {
  struct arena *a = &org->arena;
  char tmp[SHOW_MAX + 4];
  org->nunits = ld->n;
  org->units = mem_calloc(ld->n, sizeof *org->units);
  map_init(&org->unit_map, ld->n);
  map_init(&org->muni_map, ld->nmuni);
  for (size_t k = 0; k < ld->n; k++) {
    size_t fi = ld->order[k];
    const struct raw_unit *r = &ld->raw[fi];
    struct unit_rec *rec = &org->units[k];
    struct org_unit *u = &rec->pub;
    const char **beds = NULL;
    u->id = arena_strdup(a, r->id);
    u->type = arena_strdup(a, r->type);
    u->name.fi = arena_strdup(a, r->name.fi);
    u->name.sv =
        r->name.sv == r->name.fi ? u->name.fi : arena_strdup(a, r->name.sv);
    u->name.en =
        r->name.en == r->name.fi ? u->name.fi : arena_strdup(a, r->name.en);
    u->municipality = arena_strdup(a, r->muni);
    u->population = r->population;
    u->shared_beds = r->shared_beds;
    u->index = k;
    u->subtree_size = ld->size[fi];
    u->depth = ld->depth[fi];
    if (r->parent_fi == MAP_NONE) {
      u->parent_index = -1;
    } else {
      size_t p = ld->pos[r->parent_fi];
      u->parent_index = (long)p;
      u->parent = org->units[p].pub.id;
    }
    rec->ward_type = arena_strdup(a, r->ward_type);
    rec->bedded = r->bedded;
    map_put(&org->unit_map, hash_str(u->id, strlen(u->id)), k);
    if (u->municipality != NULL)
      map_put(&org->muni_map, hash_str(u->municipality, 3), k);

    if (r->nbeds == 0)
      continue;
    beds = arena_alloc(a, r->nbeds * sizeof *beds, sizeof(void *));
    for (size_t b = 0; b < r->nbeds; b++) {
      if (r->beds != NULL) {
        beds[b] =
            arena_strdup(a, json_string_value(json_array_get(r->beds, b)));
      } else {
        char num[16];
        int len = snprintf(num, sizeof num, "%zu", b + 1);
        beds[b] = arena_strndup(a, num, (size_t)len);
      }
    }
    u->beds = beds;
    u->nbeds = r->nbeds;
    /* Duplicates: through a map, kept only for big wards. */
    map_init(&rec->bed_map, r->nbeds);
    for (size_t b = 0; b < r->nbeds; b++) {
      size_t len = strlen(beds[b]);
      uint64_t h = hash_str(beds[b], len);
      size_t other = map_get(&rec->bed_map, h, bed_eq, u, beds[b], len);
      if (other != MAP_NONE)
        return error_set(err, ERR_CONFIG,
                         "units[%zu].beds[%zu]: duplicate bed '%s' (also "
                         "beds[%zu])",
                         fi, b, show(beds[b], tmp), other);
      map_put(&rec->bed_map, h, b);
    }
    if (r->nbeds <= BED_LINEAR_MAX)
      map_release(&rec->bed_map);
  }
  return 0;
}

/* ------------------------------------------------------------ channels */

static const char *const channel_types[] = {"hl7v2", "fhir", "csv", NULL};

static int parse_ready(struct org *org, struct org_ready_source *rs, json_t *ch,
                       const char *path, struct error *err) {
  static const char *const keys[] = {"segment", "field", "component", "value",
                                     NULL};
  json_t *v = json_object_get(ch, "ready_for_transfer");
  char rpath[PATH_LEN];
  char tmp[SHOW_MAX + 4];
  const char *seg, *val;
  json_t *f, *c;
  int rc;
  if (v == NULL || json_is_null(v))
    return 0;
  sub(rpath, path, "ready_for_transfer");
  if ((rc = want_object(v, rpath, err)) < 0 ||
      (rc = check_keys(v, rpath, keys, err)) < 0 ||
      (rc = get_str(v, "segment", rpath, true, &seg, err)) < 0 ||
      (rc = get_str(v, "value", rpath, false, &val, err)) < 0)
    return rc;
  if (!valid_segment(seg))
    return error_set(err, ERR_CONFIG,
                     "%s.segment: expected an HL7 segment id such as 'ZTK' "
                     "or 'PV2', got '%s'",
                     rpath, show(seg, tmp));
  if (val != NULL && !valid_text(val))
    return error_set(err, ERR_CONFIG,
                     "%s.value: expected 1 to %d bytes of text without control "
                     "characters",
                     rpath, ORG_NAME_MAX - 1);
  f = json_object_get(v, "field");
  if (f == NULL || json_is_null(f))
    return error_set(err, ERR_CONFIG, "%s.field: required", rpath);
  if (!json_is_integer(f) || json_integer_value(f) < 1 ||
      json_integer_value(f) > ORG_MAX_HL7_FIELD)
    return error_set(err, ERR_CONFIG,
                     "%s.field: expected an integer from 1 to %d", rpath,
                     ORG_MAX_HL7_FIELD);
  c = json_object_get(v, "component");
  if (c != NULL && !json_is_null(c) &&
      (!json_is_integer(c) || json_integer_value(c) < 0 ||
       json_integer_value(c) > ORG_MAX_HL7_COMPONENT))
    return error_set(err, ERR_CONFIG,
                     "%s.component: expected an integer from 0 to %d", rpath,
                     ORG_MAX_HL7_COMPONENT);
  rs->segment = arena_strdup(&org->arena, seg);
  rs->field = (unsigned)json_integer_value(f);
  rs->component =
      (c != NULL && json_is_integer(c)) ? (unsigned)json_integer_value(c) : 0;
  rs->value = arena_strdup(&org->arena, val);
  return 0;
}

static int parse_locations(struct org *org, struct chan_rec *rec, json_t *ch,
                           const char *path, struct error *err) {
  json_t *locs = json_object_get(ch, "locations");
  const char *code;
  json_t *v;
  char tmp[SHOW_MAX + 4], tmp2[SHOW_MAX + 4];
  size_t i = 0;
  if (locs == NULL || json_is_null(locs))
    return 0;
  if (!json_is_object(locs))
    return error_set(err, ERR_CONFIG, "%s.locations: expected an object", path);
  rec->nloc = json_object_size(locs);
  if (rec->nloc > ORG_MAX_LOCATIONS)
    return error_set(err, ERR_TOOBIG, "%s.locations: more than %d codes", path,
                     ORG_MAX_LOCATIONS);
  rec->loc_codes = arena_alloc(
      &org->arena, rec->nloc * sizeof *rec->loc_codes + 1, sizeof(void *));
  rec->loc_units = arena_alloc(
      &org->arena, rec->nloc * sizeof *rec->loc_units + 1, sizeof(size_t));
  map_init(&rec->loc_map, rec->nloc);
  map_init(&rec->rev_map, rec->nloc);
  json_object_foreach(locs, code, v) {
    const char *id;
    size_t u;
    if (!valid_code(code, ORG_CODE_MAX))
      return error_set(err, ERR_CONFIG,
                       "%s.locations.%s: invalid code (" CODE_RULE ")", path,
                       show(code, tmp), ORG_CODE_MAX - 1);
    if (!json_is_string(v))
      return error_set(err, ERR_CONFIG, "%s.locations.%s: expected a unit id",
                       path, show(code, tmp));
    id = json_string_value(v);
    u = map_get(&org->unit_map, hash_str(id, strlen(id)), unit_eq, org, id,
                strlen(id));
    if (u == MAP_NONE)
      return error_set(err, ERR_CONFIG, "%s.locations.%s: unknown unit '%s'",
                       path, show(code, tmp), show(id, tmp2));
    /* jansson rejected duplicate keys, so codes are unique. */
    rec->loc_codes[i] = arena_strdup(&org->arena, code);
    rec->loc_units[i] = u;
    map_put(&rec->loc_map, hash_str(code, strlen(code)), i);
    if (map_get(&rec->rev_map, index_hash(u), rev_eq, rec, &u, 0) == MAP_NONE)
      map_put(&rec->rev_map, index_hash(u), i);
    i++;
  }
  return 0;
}

static int parse_channel(struct org *org, size_t i, json_t *ch,
                         struct error *err) {
  static const char *const keys[] = {
      "id", "type", "sender", "locations", "ready_for_transfer", NULL};
  static const char *const sender_keys[] = {"application", "facility", NULL};
  struct chan_rec *rec = &org->channels[i];
  struct org_channel *c = &rec->pub;
  char path[PATH_LEN], spath[PATH_LEN];
  char tmp[SHOW_MAX + 4], tmp2[SHOW_MAX + 4];
  const char *id, *type, *app = NULL, *fac = NULL;
  json_t *sender;
  size_t other, t;
  int rc;
  snprintf(path, sizeof path, "channels[%zu]", i);
  if ((rc = want_object(ch, path, err)) < 0 ||
      (rc = check_keys(ch, path, keys, err)) < 0 ||
      (rc = get_id(ch, "id", path, true, &id, err)) < 0 ||
      (rc = get_token(ch, "type", path, true, &type, err)) < 0)
    return rc;
  other = map_get(&org->chan_map, hash_str(id, strlen(id)), chan_eq, org, id,
                  strlen(id));
  if (other != MAP_NONE)
    return error_set(err, ERR_CONFIG,
                     "%s.id: duplicate channel id '%s' (also channels[%zu])",
                     path, id, other);
  for (t = 0; channel_types[t] != NULL; t++)
    if (strcmp(type, channel_types[t]) == 0)
      break;
  if (channel_types[t] == NULL)
    return error_set(err, ERR_CONFIG,
                     "%s.type: unknown channel type '%s' (hl7v2, fhir, csv)",
                     path, type);
  c->id = arena_strdup(&org->arena, id);
  c->type = channel_types[t];
  map_put(&org->chan_map, hash_str(id, strlen(id)), i);

  sender = json_object_get(ch, "sender");
  sub(spath, path, "sender");
  if (sender == NULL || json_is_null(sender)) {
    if (t == 0)
      return error_set(err, ERR_CONFIG,
                       "%s: required for hl7v2 channels (MSH-3 and MSH-4)",
                       spath);
  } else {
    struct sender_key k;
    uint64_t h;
    if ((rc = want_object(sender, spath, err)) < 0 ||
        (rc = check_keys(sender, spath, sender_keys, err)) < 0 ||
        (rc = get_code(sender, "application", spath, true, &app, err)) < 0)
      return rc;
    /* An empty facility is allowed: it matches an empty MSH-4. */
    rc = get_str(sender, "facility", spath, false, &fac, err);
    if (rc < 0)
      return rc;
    if (fac == NULL)
      fac = "";
    if (fac[0] != '\0' && !valid_code(fac, ORG_CODE_MAX))
      return error_set(err, ERR_CONFIG,
                       "%s.facility: invalid code '%s' (" CODE_RULE
                       ", or empty)",
                       spath, show(fac, tmp), ORG_CODE_MAX - 1);
    k.app = app;
    k.app_len = strlen(app);
    k.fac = fac;
    k.fac_len = strlen(fac);
    h = sender_hash(k.app, k.app_len, k.fac, k.fac_len);
    other = map_get(&org->sender_map, h, sender_eq, org, &k, 0);
    if (other != MAP_NONE)
      return error_set(err, ERR_CONFIG,
                       "%s: application '%s' facility '%s' is already "
                       "channels[%zu]",
                       spath, show(app, tmp), show(fac, tmp2), other);
    c->application = arena_strdup(&org->arena, app);
    c->facility = arena_strdup(&org->arena, fac);
    map_put(&org->sender_map, h, i);
  }

  if ((rc = parse_locations(org, rec, ch, path, err)) < 0)
    return rc;
  if (json_object_get(ch, "ready_for_transfer") != NULL &&
      !json_is_null(json_object_get(ch, "ready_for_transfer")) && t != 0)
    return error_set(err, ERR_CONFIG,
                     "%s.ready_for_transfer: only hl7v2 channels read HL7 "
                     "fields",
                     path);
  return parse_ready(org, &c->ready, ch, path, err);
}

static int parse_channels(struct org *org, json_t *chans, struct error *err) {
  size_t n;
  if (chans == NULL || json_is_null(chans))
    n = 0;
  else if (!json_is_array(chans))
    return error_set(err, ERR_CONFIG, "channels: expected an array");
  else
    n = json_array_size(chans);
  if (n > ORG_MAX_CHANNELS)
    return error_set(err, ERR_TOOBIG, "channels: more than %d channels",
                     ORG_MAX_CHANNELS);
  org->channels = mem_calloc(n ? n : 1, sizeof *org->channels);
  map_init(&org->chan_map, n);
  map_init(&org->sender_map, n);
  for (size_t i = 0; i < n; i++) {
    /* Count as we go, so org_free releases the maps of those parsed. */
    org->nchannels = i + 1;
    int rc = parse_channel(org, i, json_array_get(chans, i), err);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* ------------------------------------------------------------- loading */

static void loader_release(struct loader *ld) {
  mem_free(ld->raw);
  map_release(&ld->id_map);
  mem_free(ld->order);
  mem_free(ld->pos);
  mem_free(ld->size);
  mem_free(ld->depth);
}

int org_load_json(const char *text, size_t len, struct org **out,
                  struct error *err) {
  static const char *const keys[] = {"id", "name", "units", "channels", NULL};
  struct loader ld;
  struct org *org = NULL;
  json_t *root = NULL;
  json_error_t jerr;
  const char *id;
  struct org_name name;
  int rc;

  memset(&ld, 0, sizeof ld);
  if (text == NULL || out == NULL)
    return error_set(err, ERR_INVAL, "no organisation text");
  if (len > ORG_MAX_FILE)
    return error_set(err, ERR_TOOBIG, "organisation file larger than %u bytes",
                     ORG_MAX_FILE);
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return error_set(err, ERR_PARSE, "invalid JSON at line %d, column %d: %s",
                     jerr.line, jerr.column, jerr.text);
  if (!json_is_object(root)) {
    rc = error_set(err, ERR_CONFIG, "organisation: expected a JSON object");
    goto out;
  }
  /* Top-level paths are the bare key ("id: required"). */
  if ((rc = check_keys(root, "", keys, err)) < 0 ||
      (rc = get_id(root, "id", "", true, &id, err)) < 0 ||
      (rc = get_name(root, "", &name, err)) < 0)
    goto out;
  if ((rc = parse_units(&ld, json_object_get(root, "units"), err)) < 0 ||
      (rc = order_units(&ld, err)) < 0)
    goto out;
  org = mem_calloc(1, sizeof *org);
  org->id = arena_strdup(&org->arena, id);
  org->name.fi = arena_strdup(&org->arena, name.fi);
  org->name.sv = arena_strdup(&org->arena, name.sv);
  org->name.en = arena_strdup(&org->arena, name.en);
  if ((rc = build_units(org, &ld, err)) < 0 ||
      (rc = parse_channels(org, json_object_get(root, "channels"), err)) < 0)
    goto out;
  *out = org;
  org = NULL;
  rc = 0;
out:
  org_free(org);
  loader_release(&ld);
  json_decref(root);
  return rc;
}

int org_load_file(const char *path, struct org **out, struct error *err) {
  struct buf b;
  FILE *f = NULL;
  char chunk[65536];
  struct error inner;
  int rc = 0;
  buf_init(&b, ORG_MAX_FILE);
  f = fopen(path, "rb");
  if (f == NULL) {
    char msg[128];
    if (strerror_r(errno, msg, sizeof msg) != 0)
      snprintf(msg, sizeof msg, "error %d", errno);
    rc = error_set(err, ERR_IO, "cannot open '%s': %s", path, msg);
    goto out;
  }
  for (;;) {
    size_t n = fread(chunk, 1, sizeof chunk, f);
    if (n > 0 && buf_append(&b, chunk, n) < 0) {
      rc = error_set(err, ERR_TOOBIG, "'%s': larger than %u bytes", path,
                     ORG_MAX_FILE);
      goto out;
    }
    if (n < sizeof chunk) {
      if (ferror(f)) {
        rc = error_set(err, ERR_IO, "cannot read '%s'", path);
        goto out;
      }
      break;
    }
  }
  error_clear(&inner);
  rc = org_load_json(buf_str(&b), b.len, out, &inner);
  if (rc < 0)
    error_set(err, rc, "'%s': %s", path, inner.msg);
out:
  if (f != NULL)
    fclose(f);
  buf_release(&b);
  return rc;
}

int org_load_builtin(const char *region, struct org **out, struct error *err) {
  const char *text = region != NULL ? org_builtin_json(region) : NULL;
  char tmp[SHOW_MAX + 4];
  if (text == NULL)
    return error_set(err, ERR_NOTFOUND,
                     "unknown region '%s' (kanta-hame, lansi-uusimaa)",
                     region != NULL ? show(region, tmp) : "");
  return org_load_json(text, strlen(text), out, err);
}

void org_free(struct org *org) {
  if (org == NULL)
    return;
  if (org->units != NULL)
    for (size_t i = 0; i < org->nunits; i++)
      map_release(&org->units[i].bed_map);
  for (size_t i = 0; i < org->nchannels; i++) {
    map_release(&org->channels[i].loc_map);
    map_release(&org->channels[i].rev_map);
  }
  mem_free(org->units);
  mem_free(org->channels);
  map_release(&org->unit_map);
  map_release(&org->muni_map);
  map_release(&org->chan_map);
  map_release(&org->sender_map);
  arena_free(&org->arena);
  mem_free(org);
}

/* ------------------------------------------------------------- queries */

const char *org_id(const struct org *org) { return org->id; }

struct org_name org_name(const struct org *org) {
  return org->name;
}

size_t org_unit_count(const struct org *org) { return org->nunits; }

const struct org_unit *org_unit_at(const struct org *org, size_t i) {
  return i < org->nunits ? &org->units[i].pub : NULL;
}

const struct org_unit *org_unit_find(const struct org *org, const char *id) {
  size_t len, i;
  if (id == NULL)
    return NULL;
  len = strlen(id);
  i = map_get(&org->unit_map, hash_str(id, len), unit_eq, org, id, len);
  return i == MAP_NONE ? NULL : &org->units[i].pub;
}

bool org_unit_within(const struct org *org, const struct org_unit *unit,
                     const struct org_unit *ancestor) {
  (void)org;
  if (unit == NULL || ancestor == NULL)
    return false;
  return unit->index >= ancestor->index &&
         unit->index - ancestor->index < ancestor->subtree_size;
}

bool org_unit_has_bed(const struct org_unit *unit, const char *bed,
                      size_t len) {
  const struct unit_rec *rec = (const struct unit_rec *)unit;
  if (unit == NULL || bed == NULL || unit->nbeds == 0)
    return false;
  if (rec->bed_map.slots != NULL)
    return map_get(&rec->bed_map, hash_str(bed, len), bed_eq, unit, bed, len) !=
           MAP_NONE;
  for (size_t i = 0; i < unit->nbeds; i++)
    if (span_eq(unit->beds[i], bed, len))
      return true;
  return false;
}

const char *org_unit_ward_type(const struct org_unit *unit) {
  return unit == NULL ? NULL : ((const struct unit_rec *)unit)->ward_type;
}

const struct org_unit *org_unit_by_municipality(const struct org *org,
                                                const char *code) {
  size_t i;
  if (code == NULL || strlen(code) != 3)
    return NULL;
  i = map_get(&org->muni_map, hash_str(code, 3), muni_eq, org, code, 3);
  return i == MAP_NONE ? NULL : &org->units[i].pub;
}

size_t org_channel_count(const struct org *org) { return org->nchannels; }

const struct org_channel *org_channel_at(const struct org *org, size_t i) {
  return i < org->nchannels ? &org->channels[i].pub : NULL;
}

const struct org_channel *org_channel_find(const struct org *org,
                                           const char *id) {
  size_t len, i;
  if (id == NULL)
    return NULL;
  len = strlen(id);
  i = map_get(&org->chan_map, hash_str(id, len), chan_eq, org, id, len);
  return i == MAP_NONE ? NULL : &org->channels[i].pub;
}

const struct org_channel *org_channel_by_sender(const struct org *org,
                                                const char *app, size_t app_len,
                                                const char *fac,
                                                size_t fac_len) {
  struct sender_key k;
  size_t i;
  if (app == NULL)
    return NULL;
  k.app = app;
  k.app_len = app_len;
  k.fac = fac != NULL ? fac : "";
  k.fac_len = fac != NULL ? fac_len : 0;
  i = map_get(&org->sender_map, sender_hash(k.app, k.app_len, k.fac, k.fac_len),
              sender_eq, org, &k, 0);
  return i == MAP_NONE ? NULL : &org->channels[i].pub;
}

const struct org_unit *org_channel_location(const struct org *org,
                                            const struct org_channel *ch,
                                            const char *poc, size_t len) {
  const struct chan_rec *rec = (const struct chan_rec *)ch;
  size_t i;
  if (ch == NULL || poc == NULL)
    return NULL;
  i = map_get(&rec->loc_map, hash_str(poc, len), loc_eq, rec, poc, len);
  return i == MAP_NONE ? NULL : &org->units[rec->loc_units[i]].pub;
}

size_t org_channel_location_count(const struct org_channel *ch) {
  return ch == NULL ? 0 : ((const struct chan_rec *)ch)->nloc;
}

bool org_channel_location_at(const struct org *org,
                             const struct org_channel *ch, size_t i,
                             const char **code, const struct org_unit **unit) {
  const struct chan_rec *rec = (const struct chan_rec *)ch;
  if (ch == NULL || i >= rec->nloc)
    return false;
  if (code != NULL)
    *code = rec->loc_codes[i];
  if (unit != NULL)
    *unit = &org->units[rec->loc_units[i]].pub;
  return true;
}

const char *org_channel_location_code(const struct org *org,
                                      const struct org_channel *ch,
                                      const struct org_unit *unit) {
  const struct chan_rec *rec = (const struct chan_rec *)ch;
  size_t u, i;
  (void)org;
  if (ch == NULL || unit == NULL)
    return NULL;
  u = unit->index;
  i = map_get(&rec->rev_map, index_hash(u), rev_eq, rec, &u, 0);
  return i == MAP_NONE ? NULL : rec->loc_codes[i];
}

/* ---------------------------------------------------------- JSON output */

static int put_str(struct buf *b, const char *s) {
  int rc = buf_putc(b, '"');
  const char *run = s;
  for (; rc == 0 && *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    rc = buf_append(b, run, (size_t)(s - run));
    if (rc == 0) {
      if (c == '"' || c == '\\')
        rc = buf_printf(b, "\\%c", c);
      else
        rc = buf_printf(b, "\\u%04x", c);
    }
    run = s + 1;
  }
  if (rc == 0)
    rc = buf_append(b, run, (size_t)(s - run));
  if (rc == 0)
    rc = buf_putc(b, '"');
  return rc;
}

static int put_name(struct buf *b, struct org_name n) {
  int rc = buf_puts(b, "{\"fi\":");
  if (rc == 0)
    rc = put_str(b, n.fi);
  if (rc == 0)
    rc = buf_puts(b, ",\"sv\":");
  if (rc == 0)
    rc = put_str(b, n.sv);
  if (rc == 0)
    rc = buf_puts(b, ",\"en\":");
  if (rc == 0)
    rc = put_str(b, n.en);
  if (rc == 0)
    rc = buf_putc(b, '}');
  return rc;
}

/* One unit up to and including the opening of its "children" array. */
static int put_unit_open(struct buf *b, const struct unit_rec *rec) {
  const struct org_unit *u = &rec->pub;
  int rc = buf_puts(b, "{\"id\":");
  if (rc == 0)
    rc = put_str(b, u->id);
  if (rc == 0)
    rc = buf_puts(b, ",\"type\":");
  if (rc == 0)
    rc = put_str(b, u->type);
  if (rc == 0)
    rc = buf_puts(b, ",\"parent\":");
  if (rc == 0)
    rc = u->parent != NULL ? put_str(b, u->parent) : buf_puts(b, "null");
  if (rc == 0)
    rc = buf_puts(b, ",\"name\":");
  if (rc == 0)
    rc = put_name(b, u->name);
  if (rc == 0 && u->municipality != NULL)
    rc = buf_printf(b, ",\"municipality\":\"%s\",\"population\":%ld",
                    u->municipality, u->population);
  if (rc == 0 && rec->ward_type != NULL) {
    rc = buf_puts(b, ",\"ward_type\":");
    if (rc == 0)
      rc = put_str(b, rec->ward_type);
  }
  if (rc == 0 && rec->bedded)
    rc = buf_printf(b, ",\"beds\":%zu,\"shared_beds\":%s", u->nbeds,
                    u->shared_beds ? "true" : "false");
  if (rc == 0)
    rc = buf_puts(b, ",\"children\":[");
  return rc;
}

int org_units_json(const struct org *org, struct buf *out) {
  size_t stack[ORG_MAX_DEPTH + 1];
  size_t top = 0;
  int rc = buf_puts(out, "{\"id\":");
  if (rc == 0)
    rc = put_str(out, org->id);
  if (rc == 0)
    rc = buf_puts(out, ",\"name\":");
  if (rc == 0)
    rc = put_name(out, org->name);
  if (rc == 0)
    rc = buf_puts(out, ",\"units\":[");
  for (size_t i = 0; rc == 0 && i < org->nunits; i++) {
    const struct org_unit *u = &org->units[i].pub;
    /* Pre-order: a unit that is not its parent's first child follows a
     * sibling's subtree. */
    if (i > 0 && (size_t)u->parent_index != i - 1)
      rc = buf_putc(out, ',');
    if (rc == 0)
      rc = put_unit_open(out, &org->units[i]);
    if (ALWAYS(top < ARRAY_LEN(stack)))
      stack[top++] = i;
    /* Close every subtree that ends with this unit. */
    while (rc == 0 && top > 0 &&
           org->units[stack[top - 1]].pub.index +
                   org->units[stack[top - 1]].pub.subtree_size ==
               i + 1) {
      rc = buf_puts(out, "]}");
      top--;
    }
  }
  if (rc == 0)
    rc = buf_puts(out, "]}");
  return rc;
}
