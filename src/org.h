/* org.h -- the county's organisation: units, their hierarchy, channels and
 * the mappings from each source system's codes to units.
 *
 * Loaded from the organisation JSON file (docs/CONFIGURATION.md) or from a
 * built-in region ("kanta-hame", "lansi-uusimaa"). Once loaded a struct org
 * is immutable, so any number of threads may read it at once.
 *
 * Invariants after a successful load:
 *  1. unit ids are unique; exactly one unit has no parent (the root, first);
 *  2. every parent exists and the parent chain has no cycle;
 *  3. units are stored in depth-first (pre-order) order, so the subtree of
 *     unit i is the index range [i, i + subtree_size);
 *  4. channel ids are unique; (application, facility) pairs are unique;
 *  5. every location mapping names a unit that exists. */
#ifndef TK_ORG_H
#define TK_ORG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

#define ORG_MAX_UNITS 100000
#define ORG_MAX_BEDS_PER_UNIT 2000
#define ORG_MAX_CHANNELS 1000
#define ORG_MAX_FILE (64u * 1024u * 1024u)
#define ORG_MAX_DEPTH 32 /* levels below the root */

struct org;

struct org_name {
  const char *fi, *sv, *en;
};

struct org_unit {
  const char *id;
  const char *type;   /* county, area, municipality, hospital, ward, ... */
  const char *parent; /* NULL for the root */
  struct org_name name;
  const char *municipality; /* 3-digit code, municipalities only, else NULL */
  long population;          /* municipalities; 0 when not given */
  size_t nbeds;
  const char *const *beds; /* bed ids (wards) */
  bool shared_beds;        /* a bed may hold more than one patient */
  size_t index;            /* position in depth-first order */
  size_t subtree_size;     /* this unit and all below it */
  long parent_index;       /* -1 for the root */
  int depth;               /* 0 for the root */
};

/* Where a channel's ready-for-transfer (siirtokelpoinen) flag comes from:
 * segment + field (+ component), and the value that means "ready". */
struct org_ready_source {
  const char *segment; /* e.g. "ZBE" or "PV2"; NULL when not configured */
  unsigned field;
  unsigned component; /* 0 = the whole field */
  const char *value;  /* value meaning ready; NULL = any non-empty value */
};

struct org_channel {
  const char *id;
  const char *type;        /* "hl7v2", later "fhir", "csv" */
  const char *application; /* MSH-3 component 1 */
  const char *facility;    /* MSH-4 component 1; "" matches an empty MSH-4 */
  struct org_ready_source ready;
};

/* Loads from JSON text. On success *out owns everything (free with
 * org_free); on failure *out is untouched and 'err' names the JSON path that
 * is wrong, e.g. "units[3].parent: unknown unit 'x'". */
NODISCARD int org_load_json(const char *text, size_t len, struct org **out,
                            struct error *err);
NODISCARD int org_load_file(const char *path, struct org **out,
                            struct error *err);

/* The JSON text of a built-in region, or NULL when 'region' is unknown. */
const char *org_builtin_json(const char *region);

/* Loads a built-in region; ERR_NOTFOUND when unknown. */
NODISCARD int org_load_builtin(const char *region, struct org **out,
                               struct error *err);

void org_free(struct org *org);

/* The county's id and name (the file's top-level "id"/"name"). */
const char *org_id(const struct org *org);
struct org_name org_name(const struct org *org);

size_t org_unit_count(const struct org *org);
/* Unit at depth-first position i (< org_unit_count). */
const struct org_unit *org_unit_at(const struct org *org, size_t i);
/* The unit with 'id', or NULL. O(1) average. */
const struct org_unit *org_unit_find(const struct org *org, const char *id);
/* True when 'unit' is 'ancestor' or lies below it. */
bool org_unit_within(const struct org *org, const struct org_unit *unit,
                     const struct org_unit *ancestor);
/* True when 'bed' is one of the ward's configured beds. */
bool org_unit_has_bed(const struct org_unit *unit, const char *bed, size_t len);

size_t org_channel_count(const struct org *org);
const struct org_channel *org_channel_at(const struct org *org, size_t i);
const struct org_channel *org_channel_find(const struct org *org,
                                           const char *id);
/* The channel configured for MSH-3 / MSH-4 (component 1 of each, given as
 * spans, not NUL-terminated), or NULL when the sender is not configured. */
const struct org_channel *org_channel_by_sender(const struct org *org,
                                                const char *app, size_t app_len,
                                                const char *fac,
                                                size_t fac_len);
/* Maps a point of care (PV1-3 component 1) through the channel's
 * "locations" to a unit, or NULL when unmapped. */
const struct org_unit *org_channel_location(const struct org *org,
                                            const struct org_channel *ch,
                                            const char *poc, size_t len);

/* Here as in every function above, a 'unit' or 'ch' argument must be a
 * pointer this org handed out (org_unit_at, org_unit_find, org_channel_at,
 * ...), never a struct the caller filled in: the records behind them carry
 * more than the public struct shows (bed and location hash maps). All
 * queries are thread-safe reads of the immutable org. */

/* The ward's "ward_type" (internal_medicine, health_centre, ... see
 * docs/CONFIGURATION.md), or NULL when the unit has none. */
const char *org_unit_ward_type(const struct org_unit *unit);

/* The municipality unit with Statistics Finland code 'code' (3 digits), or
 * NULL. O(1) average. */
const struct org_unit *org_unit_by_municipality(const struct org *org,
                                                const char *code);

/* The channel's location mappings in file order: count, and the i-th
 * (i < count) code and unit. org_channel_location_at returns false (and
 * leaves the out-params untouched) when i is out of range. */
size_t org_channel_location_count(const struct org_channel *ch);
bool org_channel_location_at(const struct org *org,
                             const struct org_channel *ch, size_t i,
                             const char **code, const struct org_unit **unit);
/* The first location code (in file order) that maps to 'unit' on 'ch', or
 * NULL; the reverse of org_channel_location (for feed generators). O(1)
 * average. */
const char *org_channel_location_code(const struct org *org,
                                      const struct org_channel *ch,
                                      const struct org_unit *unit);

/* Appends the organisation tree for GET /api/v1/units to 'out' as nested
 * JSON: {"id","name":{fi,sv,en},"units":[ROOT]} where each unit is
 * {"id","type","parent"(null for the root),"name":{fi,sv,en},
 *  "municipality","population" (municipalities only),"ward_type" (when set),
 *  "beds":N,"shared_beds" (wards and EDs only),"children":[...]}
 * and children keep depth-first order. 0, or ERR_TOOBIG when 'out' reaches
 * its cap (its content is then incomplete; reset it). Thread-safe. */
NODISCARD int org_units_json(const struct org *org, struct buf *out);

#endif
