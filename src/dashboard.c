/* dashboard.c -- the access-to-care projection and its JSON (dashboard.h).
 *
 * Design: the schedule keeps the books; the cube keeps the figures. Each
 * counted visit is remembered so a correction or a cancellation can remove
 * exactly what was added: a compact record (struct vrec, 52 bytes: the
 * digests of its keys, unit, group and what access_visit needs; the
 * access_result is recomputed on removal) in an open-addressing table
 * keyed by the 128-bit digest of "<kind>\x1f<channel>\x1f<id>" (details
 * and the collision argument at "the table"). A visit with both an episode
 * and an appointment is found under both keys (two slots, one record).
 *
 * The T3 clock: next_day is the next Helsinki day to be measured
 * (INT32_MIN until the first slot event); its instant is
 * t3_measure_time(next_day, measure_minute). The view and export build one
 * jansson tree (view_build) and render it as JSON or turn it into tables.
 *
 * Invariants:
 *  1. the cube holds exactly the contributions of the records in the table
 *     plus the T3 measurements taken (and of the visits counted without an
 *     id to find them by or over DASHBOARD_MAX_VISITS, which have none);
 *  2. every live record is in the table under its primary key, and under
 *     its alias key exactly when RB_ALIAS is set; nothing else is; free
 *     records are on the free list; nkeys is the number of used slots and
 *     nkeys <= 3/4 nslots.
 *
 * Thread safety: see dashboard.h; sodium_init runs once (pthread_once). */
#include "dashboard.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "chrono.h"
#include "export.h"
#include "mem.h"
#include "suppress.h"

#define KEY_MAX (EVENT_ID_MAX + EVENT_KEY_MAX + 4)
#define NO_DAY INT32_MIN

/* the visit index (see "the table") */
#define DIGEST_BYTES 16
#define CHUNK_SHIFT 12
#define CHUNK_RECS ((size_t)1 << CHUNK_SHIFT)
#define TABLE_MIN 1024 /* slots; a power of two */
#define SLOT_REC_SHIFT 5
#define SLOT_WHICH 0x10u
#define SLOT_TAG 0x0Fu
#define TAG_BYTE 8 /* the digest byte the tag comes from */
#define REC_NONE UINT32_MAX
#define REC_LIMIT ((UINT32_C(1) << (32 - SLOT_REC_SHIFT)) - 1)

/* vrec.bits */
#define RB_FLAGS 0x1Fu  /* ACCESS_URGENT .. ACCESS_PROMOTION */
#define RB_DENTAL 0x20u /* service ACCESS_DENTAL (else primary care) */
#define RB_ALIAS 0x40u  /* the alias key (digest[1]) is in the table */
#define RB_FREE 0x80u   /* on the free list: 'unit' is the next free one */

_Static_assert(DASHBOARD_MAX_VISITS < REC_LIMIT,
               "a slot cannot index every record");
_Static_assert(ACCESS_EXCLUDING_FLAGS == RB_FLAGS,
               "the visit flags do not fit vrec.bits");
_Static_assert(ACCESS__SERVICES == 2, "the service does not fit vrec.bits");
_Static_assert(T3__GROUPS <= UINT8_MAX, "the group does not fit vrec.group");
_Static_assert(ORG_MAX_UNITS <= UINT32_MAX, "a unit does not fit vrec.unit");

struct vrec; /* a remembered visit (the table, below) */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status; /* sodium_init's result, set once */

static void sodium_start(void) { sodium_status = sodium_init(); }

struct dashboard {
  const struct org *org;
  struct dashboard_options opt;
  struct access_rules *rules;
  struct indicator_catalogue *cat;
  struct indicator_cube *cube;
  struct schedule *sched;
  bool *has_station; /* per unit: a health station in its subtree */
  /* the visit index (the table, below) */
  uint32_t *slots;      /* nslots entries, 0 = empty */
  size_t nslots;        /* a power of two */
  size_t nkeys;         /* slots in use */
  struct vrec **chunks; /* nchunks of CHUNK_RECS records; chunks_cap */
  size_t nchunks, chunks_cap;
  uint32_t nrecs;     /* records handed out, live or free */
  uint32_t free_head; /* the first free record, or REC_NONE */
  size_t nvisits;     /* visits counted (a visit without a key has no
                         record) */
  int32_t next_day;   /* NO_DAY before the first slot event */
  int64_t latest;     /* the latest slot event's time: books keep the slots of
                         DASHBOARD_KEEP_DAYS before it, so a timer's
                         measurement never empties the books a late-arriving
                         or historical feed is still filling */
  /* changes dashboard_flow_change could not feed */
  size_t flow_refused;
};

/* ============================================================ lifecycle */

void dashboard_options_default(struct dashboard_options *o) {
  o->measure_minute = T3_DEFAULT_HOUR * 60;
  o->cap_days = T3_DEFAULT_CAP;
}

int dashboard_new(const struct org *org, const struct dashboard_options *opt,
                  struct dashboard **out, struct error *err) {
  struct dashboard *d;
  size_t n;
  int rc;
  struct dashboard_options o;
  if (opt != NULL)
    o = *opt;
  else
    dashboard_options_default(&o);
  if (org == NULL || o.measure_minute < 0 || o.measure_minute >= 24 * 60 ||
      o.cap_days < 1 || o.cap_days > T3_MAX_CAP)
    return error_set(err, ERR_INVAL,
                     "dashboard options out of range (measure time "
                     "00:00..23:59, cap 1..%d days)",
                     T3_MAX_CAP);
  (void)pthread_once(&sodium_once, sodium_start);
  if (sodium_status < 0)
    return error_set(err, ERR_CRYPTO, "cannot initialise libsodium");
  d = mem_calloc(1, sizeof *d);
  d->org = org;
  d->opt = o;
  d->next_day = NO_DAY;
  rc = access_rules_builtin(&d->rules, err);
  if (rc == 0)
    rc = indicator_catalogue_builtin(d->rules, &d->cat, err);
  if (rc < 0) {
    dashboard_free(d);
    return rc;
  }
  d->cube = indicator_cube_new(org, d->cat);
  d->sched = schedule_new();
  n = org_unit_count(org);
  d->has_station = mem_calloc(n ? n : 1, sizeof *d->has_station);
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    if (strcmp(u->type, "health_station") != 0)
      continue;
    for (long p = (long)i; p >= 0;
         p = org_unit_at(org, (size_t)p)->parent_index)
      d->has_station[p] = true;
  }
  d->nslots = TABLE_MIN;
  d->slots = mem_calloc(d->nslots, sizeof *d->slots);
  d->free_head = REC_NONE;
  *out = d;
  return 0;
}

void dashboard_free(struct dashboard *d) {
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->nchunks; i++)
    mem_free(d->chunks[i]);
  mem_free(d->chunks);
  mem_free(d->slots);
  mem_free(d->has_station);
  schedule_free(d->sched);
  indicator_cube_free(d->cube);
  indicator_catalogue_free(d->cat);
  access_rules_free(d->rules);
  mem_free(d);
}

const struct schedule *dashboard_schedule(const struct dashboard *d) {
  return d->sched;
}

const struct indicator_cube *dashboard_cube(const struct dashboard *d) {
  return d->cube;
}

const struct indicator_catalogue *
dashboard_catalogue(const struct dashboard *d) {
  return d->cat;
}

size_t dashboard_visit_count(const struct dashboard *d) { return d->nvisits; }

int32_t dashboard_next_measurement(const struct dashboard *d) {
  return d->next_day;
}

/* ============================================================ ward flow */

void dashboard_flow_change(void *ctx, const struct cube_change *ch) {
  struct dashboard *d = ctx;
  int rc = 0, r;
  switch (ch->figure) {
  case CUBE_FIG_CENSUS:
  case CUBE_FIG_READY:
    for (int64_t day = ch->from; day <= ch->to; day++) {
      bool census = ch->figure == CUBE_FIG_CENSUS;
      r = indicator_feed_ward_day(d->cube, ch->unit, (int32_t)day,
                                  census ? ch->delta : 0,
                                  census ? 0 : ch->delta, 0, 1);
      rc = r < 0 ? r : rc;
    }
    break;
  case CUBE_FIG_ADMISSIONS:
    rc = indicator_feed_ward_day(d->cube, ch->unit, ch->from, 0, 0, ch->delta,
                                 1);
    break;
  case CUBE_FIG_TRANSFERS_IN:
    rc = indicator_feed_transfers(d->cube, ch->unit, ch->from, ch->delta, 0);
    break;
  case CUBE_FIG_TRANSFERS_OUT:
    rc = indicator_feed_transfers(d->cube, ch->unit, ch->from, 0, ch->delta);
    break;
  case CUBE_FIG_DISCHARGES:
    for (int64_t k = ch->delta < 0 ? -ch->delta : ch->delta; k > 0; k--) {
      r = indicator_feed_discharge(d->cube, ch->unit, ch->from, ch->los_days,
                                   ch->delta < 0 ? -1 : 1);
      rc = r < 0 ? r : rc;
    }
    break;
  }
  if (rc < 0)
    d->flow_refused++;
}

size_t dashboard_flow_refused(const struct dashboard *d) {
  return d->flow_refused;
}

/* ============================================================ the table */

/* The visit index. A key string "<kind>\x1f<channel>\x1f<id>" is reduced
 * to its 128-bit digest (BLAKE2b, crypto_generichash with 16 output bytes,
 * unkeyed: the ids are already pseudonyms or message ids, nothing secret).
 * Two different keys are taken for one visit only if their digests
 * collide: for n keys ever held at once that happens with probability
 * below n^2 / 2^129, about 6e-23 for 2 x DASHBOARD_MAX_VISITS keys, far
 * below the rate of undetected hardware memory errors; and finding a
 * colliding pair on purpose takes about 2^64 BLAKE2b evaluations, out of
 * reach of a sender (who could in any case send a wrong correction
 * directly).
 *
 * Records (struct vrec, 52 bytes) live in chunks of CHUNK_RECS that never
 * move, so a record's index is stable; removed records go on a free list
 * (linked through 'unit'). A record keeps the digests of its keys and what
 * access_visit needs, nothing else: the access_result is recomputed with
 * access_assess when the visit is removed (deterministic for the same
 * rules), so the removal subtracts exactly what was added.
 *
 * The table is open addressing with linear probing over 32-bit slots, a
 * power of two of them, at most 3/4 full (doubled beyond that); deletion
 * shifts the following entries back (no tombstones). A slot is 0 (empty)
 * or (record + 1) << 5 | which << 4 | tag: 'which' says whether it holds
 * the record's primary (0) or alias (1) key, and the tag is 4 bits of the
 * digest so that most probes past other keys never touch their record.
 * The home slot is the digest's first 8 bytes modulo the size. About 52
 * bytes per visit plus 5.3..10.7 bytes per key (at load 3/4..3/8). */

struct vrec {
  unsigned char digest[2][DIGEST_BYTES]; /* [0] primary key, [1] alias */
  uint32_t unit;                         /* org unit index */
  int32_t visit_date, hta_date, contact_date;
  int16_t age;
  uint8_t group; /* enum t3_group */
  uint8_t bits;  /* RB_* */
};

static struct vrec *rec_at(const struct dashboard *d, uint32_t i) {
  return &d->chunks[i >> CHUNK_SHIFT][i & (CHUNK_RECS - 1)];
}

static void digest_of(const char *key, unsigned char out[DIGEST_BYTES]) {
  /* cannot fail for a 16-byte output and no key */
  (void)crypto_generichash(out, DIGEST_BYTES, (const unsigned char *)key,
                           strlen(key), NULL, 0);
}

static size_t home_of(const struct dashboard *d, const unsigned char *dg) {
  uint64_t h;
  memcpy(&h, dg, sizeof h);
  return (size_t)(h & (d->nslots - 1));
}

static uint32_t slot_rec(uint32_t v) { return (v >> SLOT_REC_SHIFT) - 1; }

static const unsigned char *slot_digest(const struct dashboard *d, uint32_t v) {
  return rec_at(d, slot_rec(v))->digest[(v & SLOT_WHICH) != 0];
}

/* The slot holding 'dg', or the empty slot that ends its probe sequence
 * (the table is never full). */
static size_t find_slot(const struct dashboard *d, const unsigned char *dg) {
  size_t mask = d->nslots - 1, i = home_of(d, dg);
  unsigned tag = dg[TAG_BYTE] & SLOT_TAG;
  for (;; i = (i + 1) & mask) {
    uint32_t v = d->slots[i];
    if (v == 0 || ((v & SLOT_TAG) == tag &&
                   memcmp(slot_digest(d, v), dg, DIGEST_BYTES) == 0))
      return i;
  }
}

/* The record under the key of digest 'dg', or REC_NONE. */
static uint32_t lookup(const struct dashboard *d, const unsigned char *dg) {
  uint32_t v = d->slots[find_slot(d, dg)];
  return v != 0 ? slot_rec(v) : REC_NONE;
}

static void grow(struct dashboard *d) {
  size_t old = d->nslots;
  uint32_t *os = d->slots;
  d->nslots *= 2;
  d->slots = mem_calloc(d->nslots, sizeof *d->slots);
  for (size_t i = 0; i < old; i++)
    if (os[i] != 0)
      d->slots[find_slot(d, slot_digest(d, os[i]))] = os[i];
  mem_free(os);
}

/* Enters key 'which' of record 'ri' (its digest must not be in the
 * table). */
static void insert_key(struct dashboard *d, uint32_t ri, unsigned which) {
  const unsigned char *dg = rec_at(d, ri)->digest[which];
  if ((d->nkeys + 1) * 4 > d->nslots * 3)
    grow(d);
  d->slots[find_slot(d, dg)] = (ri + 1) << SLOT_REC_SHIFT |
                               (which ? SLOT_WHICH : 0) |
                               (dg[TAG_BYTE] & SLOT_TAG);
  d->nkeys++;
}

/* Removes the key of digest 'dg' (in the table) by backward shift: each
 * following entry of the run moves into the hole unless its home lies
 * cyclically in (hole, its slot]. */
static void remove_key(struct dashboard *d, const unsigned char *dg) {
  size_t mask = d->nslots - 1, i = find_slot(d, dg), j = i;
  for (;;) {
    uint32_t v;
    size_t k;
    j = (j + 1) & mask;
    v = d->slots[j];
    if (v == 0)
      break;
    k = home_of(d, slot_digest(d, v));
    if (j > i ? (k <= i || k > j) : (k <= i && k > j)) {
      d->slots[i] = v;
      i = j;
    }
  }
  d->slots[i] = 0;
  d->nkeys--;
}

/* A record index, from the free list or a new one (a new chunk when the
 * last is full). */
static uint32_t rec_new(struct dashboard *d) {
  uint32_t i = d->free_head;
  if (i != REC_NONE) {
    d->free_head = rec_at(d, i)->unit;
    return i;
  }
  if ((d->nrecs & (CHUNK_RECS - 1)) == 0) {
    size_t c = d->nrecs >> CHUNK_SHIFT;
    if (c == d->chunks_cap) {
      d->chunks_cap = d->chunks_cap ? 2 * d->chunks_cap : 16;
      d->chunks = mem_realloc(d->chunks, d->chunks_cap * sizeof *d->chunks);
    }
    d->chunks[c] = mem_alloc(CHUNK_RECS * sizeof **d->chunks);
    d->nchunks++;
  }
  return d->nrecs++;
}

/* Removes every key of record 'ri' and frees it. */
static void forget(struct dashboard *d, uint32_t ri) {
  struct vrec *r = rec_at(d, ri);
  remove_key(d, r->digest[0]);
  if (r->bits & RB_ALIAS)
    remove_key(d, r->digest[1]);
  r->bits = RB_FREE;
  r->unit = d->free_head;
  d->free_head = ri;
  d->nvisits--;
}

/* "<kind>\x1f<channel>\x1f<id>", or "" when id is empty. */
static void make_key(char out[KEY_MAX], char kind, const char *channel,
                     const char *id) {
  if (id[0] == '\0')
    out[0] = '\0';
  else
    snprintf(out, KEY_MAX, "%c\x1f%s\x1f%s", kind, channel, id);
}

size_t dashboard_memory(const struct dashboard *d) {
  return d->nslots * sizeof *d->slots + d->chunks_cap * sizeof *d->chunks +
         d->nchunks * CHUNK_RECS * sizeof **d->chunks +
         indicator_cube_memory(d->cube);
}

/* =============================================================== visits */

/* The access_visit of record 'r'. */
static void rec_visit(const struct vrec *r, struct access_visit *v) {
  v->visit_date = r->visit_date;
  v->hta_date = r->hta_date;
  v->contact_date = r->contact_date;
  v->age = r->age;
  v->service = r->bits & RB_DENTAL ? ACCESS_DENTAL : ACCESS_PRIMARY_CARE;
  v->flags = r->bits & RB_FLAGS;
}

/* Feeds record 'r' with 'sign', assessed again: the rules are the same as
 * when it was added, so the result is too (ERR_STATE if not). */
static int feed(struct dashboard *d, const struct vrec *r, int sign) {
  struct access_visit v;
  struct access_result res;
  rec_visit(r, &v);
  if (access_assess(d->rules, &v, &res) != 0)
    return ERR_STATE;
  return indicator_feed_visit(d->cube, r->unit, (enum t3_group)r->group, &v,
                              &res, sign);
}

static int32_t date_or_none(int64_t ms) {
  return ms != 0 ? access_date_of(ms) : ACCESS_NO_DATE;
}

static int visit_completed(struct dashboard *d, const struct event *ev,
                           struct error *err) {
  static const struct {
    uint32_t ev;
    unsigned acc;
  } flag_map[] = {
      {EVENT_F_URGENT, ACCESS_URGENT},
      {EVENT_F_CARE_PLAN, ACCESS_CARE_PLAN},
      {EVENT_F_CERTIFICATE, ACCESS_CERTIFICATE},
      {EVENT_F_SPECIALIST, ACCESS_SPECIALIST},
      {EVENT_F_PROMOTION, ACCESS_PROMOTION},
  };
  const struct event_attrs *a = &ev->attrs;
  const struct org_unit *u = org_unit_find(d->org, ev->unit);
  char primary[KEY_MAX], alias[KEY_MAX];
  struct vrec nr;
  struct access_visit v;
  struct access_result res;
  uint32_t old = REC_NONE, ri;
  enum t3_group g;
  int rc;

  if (ev->episode[0] != '\0') {
    make_key(primary, 'e', ev->channel, ev->episode);
    make_key(alias, 'a', ev->channel, a->appointment);
  } else if (a->appointment[0] != '\0') {
    make_key(primary, 'a', ev->channel, a->appointment);
    alias[0] = '\0';
  } else {
    make_key(primary, 's', ev->channel, ev->source_key);
    alias[0] = '\0';
  }
  memset(&nr, 0, sizeof nr);
  if (primary[0] != '\0') {
    digest_of(primary, nr.digest[0]);
    old = lookup(d, nr.digest[0]);
  }
  if (alias[0] != '\0') {
    digest_of(alias, nr.digest[1]);
    if (old == REC_NONE)
      old = lookup(d, nr.digest[1]);
  }
  if (schedule_group_from_code(a->prof_group, &g) != 0)
    g = T3_NURSE; /* "nurse or other professional" (DOMAIN §2.1) */
  nr.group = (uint8_t)g;
  nr.visit_date = access_date_of(ev->occurred_at);
  nr.hta_date = date_or_none(a->assessed_at);
  nr.contact_date = date_or_none(a->contact_at);
  nr.age = a->age_years;
  if (g == T3_DENTIST || g == T3_HYGIENIST)
    nr.bits |= RB_DENTAL;
  for (size_t i = 0; i < ARRAY_LEN(flag_map); i++)
    if (a->flags & flag_map[i].ev)
      nr.bits |= (uint8_t)flag_map[i].acc;
  if (u == NULL) {
    rc = error_set(err, ERR_INVAL, "visit of unknown unit '%.60s' not counted",
                   ev->unit);
    goto drop_old;
  }
  nr.unit = (uint32_t)u->index;
  /* what is added is what the record gives back on removal */
  rec_visit(&nr, &v);
  if (access_assess(d->rules, &v, &res) != 0) {
    rc = error_set(err, ERR_RANGE,
                   "visit before its needs assessment or contact not counted");
    goto drop_old;
  }
  if (old != REC_NONE && (rc = feed(d, rec_at(d, old), -1)) < 0)
    return error_set(err, rc, "cannot remove the earlier visit");
  rc = indicator_feed_visit(d->cube, nr.unit, g, &v, &res, +1);
  if (rc < 0) {
    if (old != REC_NONE && feed(d, rec_at(d, old), +1) < 0) {
      /* re-adding what was just removed cannot fail */
    }
    return error_set(err, rc, "visit out of the cube's range not counted");
  }
  if (old != REC_NONE)
    forget(d, old);
  if (d->nvisits >= DASHBOARD_MAX_VISITS)
    return 0; /* over the cap: counted, but it cannot be corrected later */
  d->nvisits++;
  if (primary[0] == '\0')
    return 0; /* no id to find it by: counted, never corrected */
  ri = rec_new(d);
  *rec_at(d, ri) = nr;
  insert_key(d, ri, 0);
  if (alias[0] != '\0' && lookup(d, nr.digest[1]) == REC_NONE) {
    rec_at(d, ri)->bits |= RB_ALIAS;
    insert_key(d, ri, 1);
  }
  return 0;
drop_old:
  if (old != REC_NONE && feed(d, rec_at(d, old), -1) == 0)
    forget(d, old);
  return rc;
}

static int visit_cancelled(struct dashboard *d, const struct event *ev,
                           struct error *err) {
  char key[KEY_MAX];
  unsigned char dg[DIGEST_BYTES];
  uint32_t ri;
  int rc;
  if (ev->kind == EV_DISCHARGE_CANCELLED)
    make_key(key, 'e', ev->channel, ev->episode);
  else
    make_key(key, 'a', ev->channel, ev->attrs.appointment);
  if (key[0] == '\0')
    return 0; /* no id: nothing to find */
  digest_of(key, dg);
  ri = lookup(d, dg);
  if (ri == REC_NONE)
    return 0; /* not a counted visit */
  rc = feed(d, rec_at(d, ri), -1);
  if (rc < 0)
    return error_set(err, rc, "cannot remove the cancelled visit");
  forget(d, ri);
  return 0;
}

/* ================================================================== T3 */

struct measure_ctx {
  struct dashboard *d;
  int32_t day;
  int failed;
};

static int measured(void *ctx, const char *unit, enum t3_group g,
                    const struct t3_value *with_remote,
                    const struct t3_value *in_person) {
  struct measure_ctx *m = ctx;
  const struct org_unit *u = org_unit_find(m->d->org, unit);
  if (u == NULL)
    return 0; /* a book of a unit the organisation does not know */
  if (indicator_feed_t3(m->d->cube, u->index, m->day, g, with_remote, in_person,
                        +1) < 0)
    m->failed++;
  return 0;
}

static int64_t instant_of(const struct dashboard *d, int32_t day) {
  int64_t t = 0;
  if (t3_measure_time(day, d->opt.measure_minute / 60,
                      d->opt.measure_minute % 60, &t) != 0)
    return INT64_MAX; /* out of range: never due */
  return t;
}

/* Measures every day whose instant lies before 't'. */
static int measure_until(struct dashboard *d, int64_t t, struct error *err) {
  struct t3_opts o;
  int failed = 0;
  if (d->next_day == NO_DAY)
    return 0;
  t3_opts_default(&o);
  o.cap = d->opt.cap_days;
  {
    int32_t last = access_date_of(t);
    if (last - d->next_day > DASHBOARD_MAX_CATCHUP_DAYS)
      d->next_day = last - DASHBOARD_MAX_CATCHUP_DAYS;
  }
  for (;;) {
    int64_t at = instant_of(d, d->next_day);
    struct measure_ctx m = {d, d->next_day, 0};
    if (at >= t || d->next_day >= INDICATOR_DAY_MAX)
      break;
    if (schedule_measure(d->sched, at,
                         d->latest > 0 ? d->latest - DASHBOARD_KEEP_DAYS *
                                                         CHRONO_MS_PER_DAY
                                       : 0,
                         &o, measured, &m) < 0)
      failed++;
    failed += m.failed;
    d->next_day++;
  }
  if (failed > 0)
    return error_set(err, ERR_RANGE, "%d T3 measurements not counted", failed);
  return 0;
}

static bool is_slot(enum event_kind k) {
  return k == EV_SLOT_OPENED || k == EV_SLOT_BOOKED || k == EV_SLOT_RELEASED ||
         k == EV_SLOT_REMOVED;
}

int dashboard_apply(struct dashboard *d, const struct event *ev,
                    struct error *err) {
  struct error merr;
  int mrc = 0, rc = 0;
  error_clear(&merr);
  if (ev->occurred_at > 0) {
    if (d->next_day == NO_DAY && is_slot(ev->kind)) {
      int32_t day = access_date_of(ev->occurred_at);
      d->next_day = instant_of(d, day) >= ev->occurred_at ? day : day + 1;
    } else {
      mrc = measure_until(d, ev->occurred_at, &merr);
    }
  }
  if (is_slot(ev->kind) && ev->occurred_at > d->latest)
    d->latest = ev->occurred_at;
  switch (ev->kind) {
  case EV_SLOT_OPENED:
  case EV_SLOT_BOOKED:
  case EV_SLOT_RELEASED:
  case EV_SLOT_REMOVED:
    rc = schedule_apply(d->sched, ev, err);
    break;
  case EV_VISIT_COMPLETED:
    rc = visit_completed(d, ev, err);
    break;
  case EV_DISCHARGE_CANCELLED:
  case EV_APPOINTMENT_CANCELLED:
    rc = visit_cancelled(d, ev, err);
    break;
  default:
    break;
  }
  if (rc == 0 && mrc < 0) {
    if (err != NULL)
      *err = merr;
    return mrc;
  }
  return rc;
}

int dashboard_tick(struct dashboard *d, int64_t now, struct error *err) {
  return measure_until(d, now, err);
}

/* ============================================================ requests */

static int bad(const char **param, const char *name, struct error *err,
               const char *why) {
  if (param != NULL)
    *param = name;
  return error_set(err, ERR_INVAL, "invalid parameter '%s': %s", name, why);
}

static int parse_day(const char *s, const char *name, int32_t *out,
                     const char **param, struct error *err) {
  int32_t day;
  if (strlen(s) != 10 || chrono_parse_date(s, 10, &day) != 0 ||
      day < INDICATOR_DAY_MIN || day > INDICATOR_DAY_MAX)
    return bad(param, name, err, "expected a date YYYY-MM-DD");
  *out = day;
  return 0;
}

static int parse_unit(const struct dashboard *d, const char *s,
                      const struct org_unit **out, const char **param,
                      struct error *err) {
  const struct org_unit *u =
      s == NULL ? org_unit_at(d->org, 0) : org_unit_find(d->org, s);
  if (u == NULL)
    return bad(param, "unit", err, "unknown unit");
  *out = u;
  return 0;
}

static int parse_period(const char *s, enum indicator_period *out,
                        const char **param, struct error *err) {
  if (s == NULL) {
    *out = INDICATOR_MONTH;
    return 0;
  }
  if (indicator_period_parse(s, out) != 0)
    return bad(param, "period", err,
               "expected day, week, month, quarter, year, rolling7, "
               "rolling30 or rolling365");
  return 0;
}

static int32_t today_of(const struct dashboard_query *q) {
  return chrono_local_date(q->now);
}

static json_t *date_json(int32_t day) {
  char s[11];
  chrono_format_date(day, s);
  return json_string(s);
}

static json_t *text_json(const struct indicator_text *t) {
  return json_pack("{s:s,s:s,s:s}", "fi", t->fi, "sv", t->sv, "en", t->en);
}

static json_t *name_json(const struct org_unit *u) {
  const char *fi = u->name.fi ? u->name.fi : u->id;
  return json_pack("{s:s,s:s,s:s}", "fi", fi, "sv",
                   u->name.sv ? u->name.sv : fi, "en",
                   u->name.en ? u->name.en : fi);
}

static json_t *point_json(const struct indicator_point *p) {
  json_t *o = json_object();
  json_object_set_new(o, "from", date_json(p->from));
  json_object_set_new(o, "to", date_json(p->to));
  json_object_set_new(o, "value",
                      p->has_value ? json_real(p->value) : json_null());
  json_object_set_new(o, "n", p->suppressed ? json_null() : json_integer(p->n));
  json_object_set_new(o, "suppressed", json_boolean(p->suppressed));
  json_object_set_new(o, "capped", json_boolean(p->capped));
  json_object_set_new(o, "rule_version",
                      p->rule_version ? json_string(p->rule_version)
                                      : json_null());
  json_object_set_new(o, "rule_changed", json_boolean(p->rule_changed));
  return o;
}

static int dump(json_t *root, struct buf *out, struct error *err) {
  char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                    JSON_REAL_PRECISION(12));
  int rc;
  if (text == NULL)
    return error_set(err, ERR_NOMEM, "cannot format the reply");
  rc = buf_puts(out, text);
  free(text);
  if (rc < 0)
    return error_set(err, rc, "reply larger than the buffer's cap");
  return 0;
}

int dashboard_series_json(const struct dashboard *d,
                          const struct dashboard_query *q, struct buf *out,
                          const char **param, struct error *err) {
  const struct indicator_def *def = indicator_find(d->cat, q->indicator);
  const struct org_unit *u = NULL;
  enum indicator_period per;
  struct indicator_point *pts = NULL;
  size_t n = 0;
  int32_t from, to, a, b;
  json_t *root, *arr;
  int rc;
  if (def == NULL)
    return error_set(err, ERR_NOTFOUND, "unknown indicator '%.64s'",
                     q->indicator ? q->indicator : "");
  if ((rc = parse_unit(d, q->unit, &u, param, err)) < 0 ||
      (rc = parse_period(q->period, &per, param, err)) < 0)
    return rc;
  to = today_of(q);
  if (q->to != NULL && (rc = parse_day(q->to, "to", &to, param, err)) < 0)
    return rc;
  /* default: the 12 months up to 'to' */
  indicator_period_bounds(INDICATOR_MONTH, to, &a, &b);
  for (int i = 0; i < 11; i++)
    indicator_period_bounds(INDICATOR_MONTH, a - 1, &a, &b);
  from = a;
  if (q->from != NULL &&
      (rc = parse_day(q->from, "from", &from, param, err)) < 0)
    return rc;
  if (from > to)
    return bad(param, "from", err, "after 'to'");
  if ((int64_t)to - from + 1 > INDICATOR_MAX_SPAN_DAYS)
    return bad(param, "from", err, "range too long");
  rc = indicator_series(d->cube, def, u->index, from, to, per, &pts, &n, err);
  if (rc == ERR_TOOBIG)
    return bad(param, "from", err, "too many points for the period");
  if (rc < 0)
    return rc;
  root = json_object();
  json_object_set_new(root, "indicator", json_string(def->id));
  json_object_set_new(root, "unit", json_string(u->id));
  json_object_set_new(root, "period", json_string(indicator_period_name(per)));
  json_object_set_new(root, "from", date_json(from));
  json_object_set_new(root, "to", date_json(to));
  arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, point_json(&pts[i]));
  json_object_set_new(root, "points", arr);
  mem_free(pts);
  rc = dump(root, out, err);
  json_decref(root);
  return rc;
}

/* ================================================================ view */

static const char *const panel_ids[] = {
    "t3_physician",
    "t3_physician_excl_censored",
    "t3_nurse",
    "t3_nurse_excl_censored",
    "wait_physician_median",
    "wait_contact_physician_median",
    "wait_physician_within_7",
    "wait_physician_within_14",
    "wait_physician_over_90",
    "wait_nurse_median",
    "wait_contact_nurse_median",
    "wait_nurse_within_7",
    "wait_nurse_within_14",
    "wait_nurse_over_90",
    "care_guarantee_primary_care",
};

static const struct {
  const char *id, *measure;
  struct indicator_text name;
} dist_panels[] = {
    {"wait_distribution_physician",
     "wait_hta.physician",
     {"Odotusaikojen jakauma hoidon tarpeen arvioinnista, lääkärit",
      "Fördelning av väntetider från bedömning av vårdbehovet, läkare",
      "Waiting times from needs assessment, distribution, physicians"}},
    {"wait_distribution_nurse",
     "wait_hta.nurse",
     {"Odotusaikojen jakauma hoidon tarpeen arvioinnista, hoitajat",
      "Fördelning av väntetider från bedömning av vårdbehovet, skötare",
      "Waiting times from needs assessment, distribution, nurses"}},
};

static const char *direction_name(enum indicator_direction dir) {
  return dir == INDICATOR_LOWER_IS_BETTER    ? "lower"
         : dir == INDICATOR_HIGHER_IS_BETTER ? "higher"
                                             : "neutral";
}

/* Complementary suppression of count figures among siblings: when exactly
 * one of them is suppressed and their parent's figure is shown, the
 * smallest shown non-zero sibling is suppressed as well, so the parent
 * minus the shown ones does not give the hidden count. */
static void complement(struct indicator_point *pts, size_t n,
                       bool parent_shown) {
  size_t k = 0, pick = n;
  if (!parent_shown)
    return;
  for (size_t i = 0; i < n; i++)
    k += pts[i].suppressed;
  if (k != 1)
    return;
  for (size_t i = 0; i < n; i++)
    if (pts[i].has_value && pts[i].value > 0 &&
        (pick == n || pts[i].value < pts[pick].value))
      pick = i;
  if (pick == n)
    return;
  pts[pick].suppressed = true;
  pts[pick].has_value = false;
  pts[pick].capped = false;
  pts[pick].value = 0;
  pts[pick].n = 0;
}

/* The child units shown under 'u': one level down, with a station below. */
static size_t children_of(const struct dashboard *d, const struct org_unit *u,
                          size_t *idx) {
  size_t n = 0;
  for (size_t i = u->index + 1; i < u->index + u->subtree_size; i++) {
    const struct org_unit *c = org_unit_at(d->org, i);
    if (c->parent_index == (long)u->index && d->has_station[i])
      idx[n++] = i;
  }
  return n;
}

static bool drillable(const struct dashboard *d, const struct org_unit *c) {
  for (size_t i = c->index + 1; i < c->index + c->subtree_size; i++)
    if (org_unit_at(d->org, i)->parent_index == (long)c->index &&
        d->has_station[i])
      return true;
  return false;
}

static json_t *unit_json(const struct org_unit *u) {
  json_t *o = json_pack("{s:s,s:s}", "id", u->id, "type", u->type);
  json_object_set_new(o, "name", name_json(u));
  return o;
}

static int indicator_panel(const struct dashboard *d,
                           const struct indicator_def *def,
                           const struct org_unit *u, const size_t *kids,
                           size_t nkids, enum indicator_period per,
                           int32_t from, int32_t to, json_t **out,
                           struct error *err) {
  struct indicator_point pt, *cp = NULL;
  json_t *o, *trend, *by;
  int32_t starts[DASHBOARD_TREND], ends[DASHBOARD_TREND];
  int rc = indicator_value(d->cube, def, u->index, from, to, &pt, err);
  if (rc < 0)
    return rc;
  o = json_pack("{s:s,s:s,s:s}", "id", def->id, "kind", "indicator",
                "indicator", def->id);
  json_object_set_new(o, "name", text_json(&def->name));
  json_object_set_new(o, "unit", json_string(def->unit));
  json_object_set_new(o, "direction",
                      json_string(direction_name(def->direction)));
  json_object_set_new(o, "target",
                      def->has_target ? json_real(def->target) : json_null());
  json_object_set_new(o, "value", point_json(&pt));
  /* the trend: this period and the 12 before it, oldest first (for a
   * rolling period, the windows ending just before each other) */
  trend = json_array();
  starts[DASHBOARD_TREND - 1] = from;
  ends[DASHBOARD_TREND - 1] = to;
  for (int i = DASHBOARD_TREND - 2; i >= 0; i--)
    indicator_period_bounds(per, starts[i + 1] - 1, &starts[i], &ends[i]);
  for (int i = 0; i < DASHBOARD_TREND; i++) {
    struct indicator_point tp;
    rc = indicator_value(d->cube, def, u->index, starts[i], ends[i], &tp, err);
    if (rc < 0)
      goto fail;
    json_array_append_new(trend, point_json(&tp));
  }
  json_object_set_new(o, "trend", trend);
  trend = NULL;
  cp = mem_calloc(nkids ? nkids : 1, sizeof *cp);
  for (size_t i = 0; i < nkids; i++) {
    rc = indicator_value(d->cube, def, kids[i], from, to, &cp[i], err);
    if (rc < 0)
      goto fail;
  }
  if (strcmp(def->unit, "count") == 0 && def->min_n > 0)
    complement(cp, nkids, pt.has_value);
  by = json_array();
  for (size_t i = 0; i < nkids; i++) {
    const struct org_unit *c = org_unit_at(d->org, kids[i]);
    json_t *row = json_pack("{s:s}", "unit", c->id);
    json_object_set_new(row, "name", name_json(c));
    json_object_set_new(row, "type", json_string(c->type));
    json_object_set_new(row, "value", point_json(&cp[i]));
    json_array_append_new(by, row);
  }
  json_object_set_new(o, "by_child", by);
  mem_free(cp);
  *out = o;
  return 0;
fail:
  json_decref(trend);
  json_decref(o);
  mem_free(cp);
  return rc;
}

static int dist_panel(const struct dashboard *d, size_t which,
                      const struct org_unit *u, int32_t from, int32_t to,
                      json_t **out, struct error *err) {
  long m = indicator_measure_find(d->cat, dist_panels[which].measure);
  size_t nb = access_bins_count(d->rules), k = 0, pick = nb;
  int64_t counts[ACCESS_MAX_BINS];
  bool supp[ACCESS_MAX_BINS];
  struct hist h;
  bool all_hidden;
  json_t *o, *bins;
  int rc;
  if (m < 0)
    return error_set(err, ERR_CONFIG, "no measure '%s' in the catalogue",
                     dist_panels[which].measure);
  rc = hist_init(&h, indicator_measure_at(d->cat, (size_t)m)->bins);
  if (rc < 0)
    return error_set(err, rc, "cannot make a histogram");
  rc = indicator_cube_hist(d->cube, u->index, (size_t)m, from, to, &h);
  if (rc < 0) {
    hist_release(&h);
    return error_set(err, rc, "cannot read the distribution");
  }
  for (size_t i = 0; i < nb; i++) {
    const struct access_bin *bin = access_bin_at(d->rules, i);
    int64_t below = 0, upto = h.n;
    if (bin->min > 0 && hist_count_within(&h, bin->min - 1, &below) != 0)
      below = 0;
    if (bin->max != INT32_MAX && hist_count_within(&h, bin->max, &upto) != 0)
      upto = h.n;
    counts[i] = upto - below;
    supp[i] = counts[i] > 0 && counts[i] < SUPPRESS_MIN;
    k += supp[i];
  }
  all_hidden = h.n > 0 && h.n < SUPPRESS_MIN;
  if (!all_hidden && k == 1) {
    for (size_t i = 0; i < nb; i++)
      if (!supp[i] && counts[i] > 0 && (pick == nb || counts[i] < counts[pick]))
        pick = i;
    if (pick < nb)
      supp[pick] = true;
  }
  o = json_pack("{s:s,s:s}", "id", dist_panels[which].id, "kind",
                "distribution");
  json_object_set_new(o, "name", text_json(&dist_panels[which].name));
  json_object_set_new(o, "n", all_hidden ? json_null() : json_integer(h.n));
  json_object_set_new(o, "suppressed", json_boolean(all_hidden));
  bins = json_array();
  for (size_t i = 0; i < nb; i++) {
    const struct access_bin *bin = access_bin_at(d->rules, i);
    bool hidden = all_hidden ? counts[i] > 0 : supp[i];
    char label[32];
    json_t *b;
    if (bin->max == INT32_MAX)
      snprintf(label, sizeof label, ">%d", (int)bin->min - 1);
    else if (bin->min == bin->max)
      snprintf(label, sizeof label, "%d", (int)bin->min);
    else
      snprintf(label, sizeof label, "%d-%d", (int)bin->min, (int)bin->max);
    b = json_pack("{s:s,s:i}", "label", label, "from", (int)bin->min);
    json_object_set_new(
        b, "to", bin->max == INT32_MAX ? json_null() : json_integer(bin->max));
    json_object_set_new(b, "count",
                        hidden ? json_null() : json_integer(counts[i]));
    json_object_set_new(b, "suppressed", json_boolean(hidden));
    json_array_append_new(bins, b);
  }
  json_object_set_new(o, "bins", bins);
  hist_release(&h);
  *out = o;
  return 0;
}

/* Builds the view object. */
static int view_build(const struct dashboard *d,
                      const struct dashboard_query *q, json_t **out,
                      const struct org_unit **unit, int32_t *pfrom,
                      const char **param, struct error *err) {
  const struct org_unit *u = NULL;
  enum indicator_period per;
  int32_t at, from, to;
  size_t *kids = NULL, nkids;
  json_t *root = NULL, *path, *arr;
  char iso[32];
  int rc;
  if (q->dashboard == NULL ||
      strcmp(q->dashboard, DASHBOARD_HEALTH_STATIONS) != 0)
    return error_set(err, ERR_NOTFOUND, "unknown dashboard '%.64s'",
                     q->dashboard ? q->dashboard : "");
  if ((rc = parse_unit(d, q->unit, &u, param, err)) < 0 ||
      (rc = parse_period(q->period, &per, param, err)) < 0)
    return rc;
  at = today_of(q);
  if (q->at != NULL && (rc = parse_day(q->at, "at", &at, param, err)) < 0)
    return rc;
  if (at < INDICATOR_DAY_MIN + (DASHBOARD_TREND + 1) * 366)
    return bad(param, "at", err, "too early for a trend");
  indicator_period_bounds(per, at, &from, &to);
  root = json_pack("{s:s}", "dashboard", DASHBOARD_HEALTH_STATIONS);
  json_object_set_new(root, "unit", unit_json(u));
  path = json_array();
  for (long i = (long)u->index; i >= 0;
       i = org_unit_at(d->org, (size_t)i)->parent_index)
    json_array_insert_new(path, 0, unit_json(org_unit_at(d->org, (size_t)i)));
  json_object_set_new(root, "path", path);
  {
    json_t *p = json_pack("{s:s}", "kind", indicator_period_name(per));
    json_object_set_new(p, "from", date_json(from));
    json_object_set_new(p, "to", date_json(to));
    json_object_set_new(p, "at", date_json(at));
    json_object_set_new(root, "period", p);
  }
  chrono_format_iso(q->now, iso);
  json_object_set_new(root, "generated_at", json_string(iso));
  kids = mem_alloc((u->subtree_size ? u->subtree_size : 1) * sizeof *kids);
  nkids = children_of(d, u, kids);
  arr = json_array();
  for (size_t i = 0; i < nkids; i++) {
    const struct org_unit *c = org_unit_at(d->org, kids[i]);
    json_t *o = unit_json(c);
    json_object_set_new(o, "drill", json_boolean(drillable(d, c)));
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "children", arr);
  arr = json_array();
  json_object_set_new(root, "panels", arr);
  for (size_t i = 0; i < ARRAY_LEN(panel_ids); i++) {
    const struct indicator_def *def = indicator_find(d->cat, panel_ids[i]);
    json_t *p = NULL;
    if (def == NULL) {
      rc = error_set(err, ERR_CONFIG, "no indicator '%s' in the catalogue",
                     panel_ids[i]);
      goto out;
    }
    rc = indicator_panel(d, def, u, kids, nkids, per, from, to, &p, err);
    if (rc < 0)
      goto out;
    json_array_append_new(arr, p);
  }
  for (size_t i = 0; i < ARRAY_LEN(dist_panels); i++) {
    json_t *p = NULL;
    rc = dist_panel(d, i, u, from, to, &p, err);
    if (rc < 0)
      goto out;
    json_array_append_new(arr, p);
  }
  *out = root;
  root = NULL;
  if (unit != NULL)
    *unit = u;
  if (pfrom != NULL)
    *pfrom = from;
out:
  mem_free(kids);
  json_decref(root);
  return rc;
}

int dashboard_view_json(const struct dashboard *d,
                        const struct dashboard_query *q, struct buf *out,
                        const char **param, struct error *err) {
  json_t *root;
  int rc = view_build(d, q, &root, NULL, NULL, param, err);
  if (rc < 0)
    return rc;
  rc = dump(root, out, err);
  json_decref(root);
  return rc;
}

/* ============================================================== export */

enum lang { L_FI, L_SV, L_EN };

static const char *tr(enum lang l, const char *fi, const char *sv,
                      const char *en) {
  return l == L_FI ? fi : l == L_SV ? sv : en;
}

static const char *jtext(json_t *name, enum lang l) {
  const char *s = json_string_value(json_object_get(name, l == L_FI   ? "fi"
                                                          : l == L_SV ? "sv"
                                                                      : "en"));
  return s ? s : "";
}

/* The cells of one table, with the strings they point to. */
struct table {
  struct export_table t;
  const char *headers[6];
  struct export_cell *cells;
  char title[512];
};

static void cell_text(struct export_cell *c, const char *s) {
  c->kind = EXPORT_TEXT;
  c->text = s;
}

static void cell_num(struct export_cell *c, json_t *v) {
  if (json_is_number(v)) {
    c->kind = EXPORT_NUMBER;
    c->number = json_number_value(v);
  } else {
    c->kind = EXPORT_EMPTY;
  }
}

/* One panel of the view as a table (strings borrowed from 'view'). */
static void panel_table(json_t *view, json_t *panel, enum lang l,
                        struct table *tb) {
  const char *hidden = tr(l, "peitetty", "skyddad", "suppressed");
  json_t *period = json_object_get(view, "period");
  memset(tb, 0, sizeof *tb);
  tb->t.name = json_string_value(json_object_get(panel, "id"));
  snprintf(tb->title, sizeof tb->title, "%s \xe2\x80\x93 %s, %s..%s",
           jtext(json_object_get(panel, "name"), l),
           jtext(json_object_get(json_object_get(view, "unit"), "name"), l),
           json_string_value(json_object_get(period, "from")),
           json_string_value(json_object_get(period, "to")));
  tb->t.title = tb->title;
  tb->t.note =
      tr(l, "Pienet solut (1-4) ja niistä pääteltävät luvut on peitetty.",
         "Små celler (1-4) och tal som avslöjar dem har skyddats.",
         "Small cells (1-4) and figures that would reveal them are "
         "suppressed.");
  tb->t.headers = tb->headers;
  if (strcmp(json_string_value(json_object_get(panel, "kind")),
             "distribution") == 0) {
    json_t *bins = json_object_get(panel, "bins");
    size_t n = json_array_size(bins);
    tb->headers[0] =
        tr(l, "Odotusaika (vrk)", "Väntetid (dygn)", "Waiting time (days)");
    tb->headers[1] = tr(l, "Alkaen", "Från", "From");
    tb->headers[2] = tr(l, "Enintään", "Till", "To");
    tb->headers[3] = tr(l, "Käyntejä", "Besök", "Visits");
    tb->headers[4] = tr(l, "Huomautus", "Anmärkning", "Note");
    tb->t.ncols = 5;
    tb->t.nrows = n;
    tb->cells = mem_calloc(n ? 5 * n : 1, sizeof *tb->cells);
    for (size_t i = 0; i < n; i++) {
      json_t *b = json_array_get(bins, i);
      struct export_cell *row = &tb->cells[5 * i];
      cell_text(&row[0], json_string_value(json_object_get(b, "label")));
      cell_num(&row[1], json_object_get(b, "from"));
      cell_num(&row[2], json_object_get(b, "to"));
      cell_num(&row[3], json_object_get(b, "count"));
      if (json_is_true(json_object_get(b, "suppressed")))
        cell_text(&row[4], hidden);
    }
  } else {
    json_t *by = json_object_get(panel, "by_child");
    size_t n = json_array_size(by) + 1;
    tb->headers[0] = tr(l, "Yksikkö", "Enhet", "Unit");
    tb->headers[1] = tr(l, "Tunnus", "Kod", "Id");
    tb->headers[2] = tr(l, "Arvo", "Värde", "Value");
    tb->headers[3] = "n";
    tb->headers[4] = tr(l, "Sääntöversio", "Regelversion", "Rule version");
    tb->headers[5] = tr(l, "Huomautus", "Anmärkning", "Note");
    tb->t.ncols = 6;
    tb->t.nrows = n;
    tb->cells = mem_calloc(6 * n, sizeof *tb->cells);
    for (size_t i = 0; i < n; i++) {
      json_t *u =
          i == 0 ? json_object_get(view, "unit") : json_array_get(by, i - 1);
      json_t *v = json_object_get(i == 0 ? panel : u, "value");
      struct export_cell *row = &tb->cells[6 * i];
      cell_text(&row[0], jtext(json_object_get(u, "name"), l));
      cell_text(&row[1],
                json_string_value(json_object_get(u, i == 0 ? "id" : "unit")));
      cell_num(&row[2], json_object_get(v, "value"));
      cell_num(&row[3], json_object_get(v, "n"));
      if (json_is_string(json_object_get(v, "rule_version")))
        cell_text(&row[4],
                  json_string_value(json_object_get(v, "rule_version")));
      if (json_is_true(json_object_get(v, "suppressed")))
        cell_text(&row[5], hidden);
      else if (json_is_true(json_object_get(v, "capped")))
        cell_text(&row[5], tr(l, "vähintään", "minst", "at least"));
    }
  }
  tb->t.cells = tb->cells;
}

/* 's' with every byte outside [A-Za-z0-9._-] as '_'. */
static void safe_name(char *dst, size_t cap, const char *s) {
  size_t i = 0;
  for (; s[i] != '\0' && i + 1 < cap; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    dst[i] = ok ? c : '_';
  }
  dst[i] = '\0';
}

int dashboard_export(const struct dashboard *d, const struct dashboard_query *q,
                     struct buf *out, struct dashboard_file *file,
                     const char **param, struct error *err) {
  const struct org_unit *u = NULL;
  struct table *tabs = NULL;
  json_t *view = NULL, *panels;
  enum lang l = L_FI;
  bool csv;
  size_t n = 0;
  int32_t from = 0;
  int rc;
  char unit_s[80], from_s[11];
  if (q->format == NULL)
    return bad(param, "format", err, "required: csv or xlsx");
  if (strcmp(q->format, "csv") != 0 && strcmp(q->format, "xlsx") != 0)
    return bad(param, "format", err, "expected csv or xlsx");
  csv = strcmp(q->format, "csv") == 0;
  if (q->lang != NULL) {
    if (strcmp(q->lang, "fi") == 0)
      l = L_FI;
    else if (strcmp(q->lang, "sv") == 0)
      l = L_SV;
    else if (strcmp(q->lang, "en") == 0)
      l = L_EN;
    else
      return bad(param, "lang", err, "expected fi, sv or en");
  }
  rc = view_build(d, q, &view, &u, &from, param, err);
  if (rc < 0)
    return rc;
  panels = json_object_get(view, "panels");
  tabs = mem_calloc(json_array_size(panels), sizeof *tabs);
  for (size_t i = 0; i < json_array_size(panels); i++) {
    json_t *p = json_array_get(panels, i);
    if (q->panel != NULL &&
        strcmp(json_string_value(json_object_get(p, "id")), q->panel) != 0)
      continue;
    panel_table(view, p, l, &tabs[n++]);
  }
  if (n == 0) {
    rc = q->panel == NULL ? bad(param, "panel", err, "required for csv")
                          : bad(param, "panel", err, "unknown panel");
    goto out;
  }
  if (csv && q->panel == NULL) {
    rc = bad(param, "panel", err, "required for csv");
    goto out;
  }
  if (csv) {
    rc = export_csv(&tabs[0].t, out, err);
  } else {
    struct export_table *ts = mem_calloc(n, sizeof *ts);
    for (size_t i = 0; i < n; i++)
      ts[i] = tabs[i].t;
    rc = export_xlsx(ts, n, out, err);
    mem_free(ts);
  }
  if (rc < 0)
    goto out;
  safe_name(unit_s, sizeof unit_s, u->id);
  chrono_format_date(from, from_s);
  snprintf(file->filename, sizeof file->filename, "%s-%s-%s.%s",
           DASHBOARD_HEALTH_STATIONS, unit_s, from_s, csv ? "csv" : "xlsx");
  file->content_type =
      csv ? "text/csv; charset=utf-8"
          : "application/"
            "vnd.openxmlformats-officedocument.spreadsheetml.sheet";
out:
  for (size_t i = 0; i < n; i++)
    mem_free(tabs[i].cells);
  mem_free(tabs);
  json_decref(view);
  return rc;
}
