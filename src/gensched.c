/* gensched.c -- the synthetic appointment books: SIU and FHIR writer.
 *
 * Design: slot-driven. Slot dates are generated in increasing order; a
 * date's slots are made when its books open (the horizon H days ahead), and
 * each slot's whole story is drawn at once from one xoshiro256** stream
 * (seeded through splitmix64; nothing reads the clock): opened, held and
 * perhaps released, booked at its lead time, perhaps cancelled and booked
 * again, then a no-show or a completed visit. The lead of a non-urgent
 * booking is the station's lead W plus up to 20 % (W <= L <= 1.2 W days
 * before the slot), so at any moment a book is full up to about W days
 * ahead and T3 is about W: strained stations get W of 62-70 days, the
 * others 2-15. A few slots are never booked (about one per W days in a
 * book, so T3 stays near W); cancelled slots are free until booked again.
 *
 * Each story step is an action (time, slot, kind) put in the bucket of its
 * local day. Actions of slot date X lie in days [X - H, X + 1], so once the
 * date X is made, the day X - H is complete: its bucket is sorted by (time,
 * date, slot, kind) and written. The days before the first written day are
 * not written; at its 00:00 a census block opens every slot already in the
 * books then, in its state at that instant. Memory is therefore about H
 * days of slots and actions whatever the length of the run.
 *
 * People are not stored: person number i (per station, a range of the
 * pool) maps through a bijection of [0, M) onto (birth day, individual
 * number 900-999), M = 35040 birth days x 100, so codes are unique; names
 * and language come from a hash of the same number.
 *
 * Invariants: times within a slot's story strictly increase (each step at
 * least a minute after the previous one); every slot lies on an arkipäivä
 * within 08:00-16:00 local; contact <= needs assessment <= booking <= slot
 * start.
 *
 * Privacy: names and identity codes are synthetic and never logged (this
 * module does not log at all).
 *
 * Thread safety: all state lives in a struct gs owned by the call; the org
 * is only read. */
#include "gensched.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "calendar.h"
#include "rng.h"
#include "chrono.h"
#include "event.h"
#include "gen.h"
#include "hetu.h"
#include "mem.h"

/* ------------------------------------------------------------ parameters */

#define SEC 1000LL
#define MIN_MS (60 * SEC)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

#define BIRTH_DAYS 35040 /* 96 years of birth days */
#define ZZZ_RANGE 100    /* temporary individual numbers 900..999 */
#define PERSON_SPACE ((uint64_t)BIRTH_DAYS * ZZZ_RANGE)
#define PERSON_MUL 2654435761ULL /* prime: a bijection modulo the space */
#define VISITING_SHARE 0.7       /* of the catchment who ever book */
#define DEFAULT_CATCHMENT 8000

#define STRAINED_SHARE 0.2 /* of the stations (at least one) */
#define STRAINED_LEAD_MIN 62
#define STRAINED_LEAD_MAX 70
#define LEAD_MIN 2
#define LEAD_MAX 15
#define LEAD_SPREAD 0.2 /* non-urgent bookings W..(1 + spread) W ahead */

#define P_HELD 0.04         /* non-urgent slots held (Blocked) */
#define P_HELD_RELEASED 0.5 /* of those, released 1-2 days ahead */
#define P_RELEASED_BOOKED 0.7
#define P_RELEASED_BOOKED_STRAINED 0.97 /* from the waiting list */
#define P_URGENT_BOOKED 0.9
#define P_CANCEL 0.07 /* non-urgent bookings cancelled */
#define P_CANCEL_URGENT 0.02
#define P_REBOOK_STRAINED 1.0
#define REBOOK_WAIT_STRAINED                                                   \
  (8 * HOUR_MS) /* cancelled -> booked again, at most */
#define REBOOK_WAIT (72 * HOUR_MS)
#define P_REBOOK 0.75
#define P_NOSHOW 0.03
#define P_EARLY_CONTACT 0.22 /* contact 1-3 working days before the HTA */
#define P_CARE_PLAN_NO_HTA 0.5
#define P_PART_TIME 0.2 /* professionals with a weekday off */

/* Professional groups: code(s) as sent, staffing, slot grid. */
struct group_def {
  const char *codes[2]; /* AIP-4 / ZHT-5 codes; [1] may be NULL */
  double code1_share;   /* of the professionals using codes[1] */
  const char *letter;   /* in professional ids */
  double per_resident;  /* professionals per catchment resident */
  int min_count;
  int slot_min;            /* slot length */
  int urgent_slots;        /* the first N of the morning and of the afternoon */
  double lead_factor;      /* of the station's lead */
  double p_phone, p_video; /* of the non-urgent slots */
  double p_care_plan, p_certificate, p_specialist, p_promotion;
  const char *service; /* AIS-3 */
};

static const struct group_def groups[T3__GROUPS] = {
    [T3_PHYSICIAN] = {{"l\xc3\xa4\xc3\xa4k\xc3\xa4ri", NULL},
                      0,
                      "L",
                      1.0 / 5000,
                      2,
                      30,
                      2,
                      1.0,
                      0.10,
                      0.04,
                      0.06,
                      0.03,
                      0.01,
                      0.0,
                      "LAAKARI^L\xc3\xa4\xc3\xa4k\xc3\xa4rin vastaanotto"},
    [T3_NURSE] = {{"sairaanhoitaja", "terveydenhoitaja"},
                  0.3,
                  "H",
                  1.0 / 3500,
                  2,
                  20,
                  3,
                  0.6,
                  0.20,
                  0.0,
                  0.10,
                  0.01,
                  0.0,
                  0.04,
                  "HOITAJA^Hoitajan vastaanotto"},
    [T3_DENTIST] = {{"hammasl\xc3\xa4\xc3\xa4k\xc3\xa4ri", NULL},
                    0,
                    "HL",
                    1.0 / 8000,
                    1,
                    45,
                    1,
                    1.0,
                    0.0,
                    0.0,
                    0.05,
                    0.0,
                    0.0,
                    0.0,
                    "HAMMAS^Hammasl\xc3\xa4\xc3\xa4k\xc3\xa4rin vastaanotto"},
    [T3_HYGIENIST] = {{"suuhygienisti", NULL},
                      0,
                      "SH",
                      1.0 / 12000,
                      1,
                      45,
                      0,
                      0.8,
                      0.0,
                      0.0,
                      0.05,
                      0.0,
                      0.0,
                      0.02,
                      "SUUHYG^Suuhygienistin vastaanotto"},
};

/* The FHIR extensions of the access-to-care contract. */
#define EXT_BASE "https://tilannekuva.fi/fhir/StructureDefinition/"

#define MORNING_START (8 * 60) /* minutes after midnight */
#define LUNCH_START (11 * 60 + 30)
#define AFTERNOON_START (12 * 60)
#define DAY_END (16 * 60)

/* ------------------------------------------------------------ random */

/* The stream (rng.h), seeded apart from gen.c's so that the two
 * generators' streams are independent for the same seed. */
static void sched_seed(struct rng *r, uint64_t seed) {
  rng_seed(r, seed ^ 0x5c4ed0f1e5ab1e5ULL);
}

static uint64_t hash_str(uint64_t h, const char *s) {
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

/* ------------------------------------------------------------ model */

#define S_URGENT 0x01u
#define S_PHONE 0x02u
#define S_VIDEO 0x04u
#define S_HELD 0x08u

enum outcome { OUT_NONE, OUT_COMPLETE, OUT_NOSHOW };

#define NO_TIME INT32_MIN

/* One booking of a slot; times are seconds relative to the slot start. */
struct booking {
  uint32_t person;
  int32_t book;    /* when booked */
  int32_t hta;     /* needs assessment; NO_TIME = none recorded */
  int32_t contact; /* first contact; NO_TIME = none recorded */
  int32_t cancel;  /* when cancelled; 0 = not cancelled */
  uint16_t excl;   /* EVENT_F_CARE_PLAN.. bits >> 9 */
};

struct slot {
  int64_t start;
  uint32_t prof;
  uint8_t flags; /* S_* */
  uint8_t nbook; /* 0..2 */
  uint8_t outcome;
  uint8_t slot_ver; /* FHIR Slot versions written so far */
  int32_t open;     /* seconds relative to start (negative) */
  int32_t release;  /* held slot released; 0 = never */
  int32_t final;    /* no-show or completion record time (positive) */
  struct booking b[2];
};

enum act_kind {
  ACT_CENSUS,
  ACT_OPEN,
  ACT_RELEASE,
  ACT_BOOK0,
  ACT_CANCEL,
  ACT_BOOK1,
  ACT_NOSHOW,
  ACT_COMPLETE
};

struct action {
  int64_t t;
  uint32_t date; /* slot date - first date */
  uint32_t idx;  /* slot index within its date */
  uint8_t kind;
};

struct prof {
  char id[48]; /* AIP-3, Practitioner and Schedule id */
  uint16_t station;
  uint8_t group;  /* enum t3_group */
  uint8_t code;   /* index into groups[g].codes */
  uint8_t dayoff; /* ISO weekday off (1..5), 0 none */
  uint64_t name_h;
};

struct station {
  const struct org_unit *unit;
  const char *loc;      /* SIU location code */
  const char *fhir_loc; /* FHIR Location reference, NULL without FHIR */
  bool strained;
  int lead[T3__GROUPS];
  int nprof[T3__GROUPS];
  double unbooked[T3__GROUPS];
  double sv_share;
  uint64_t person_base, person_pool;
};

struct dayslots {
  struct slot *v;
  size_t n, cap;
};

struct bucket {
  struct action *v;
  size_t n, cap;
};

struct gs {
  const struct org *org;
  const struct org_channel *ch, *fch;
  struct rng rng;
  bool fhir;
  gensched_sink_fn sink;
  void *ctx;
  int32_t from, end, first_date, horizon;
  int64_t from_ms, end_ms;
  int32_t birth_min;

  struct station *st;
  size_t nst;
  struct prof *profs;
  size_t nprofs;

  size_t ring; /* horizon + 4: ring size of dates and of days */
  struct dayslots *dates;
  struct bucket *days;

  char ctl_prefix[16];
  uint64_t ctl;
  struct buf fmt, bundle;
  struct gensched_stats stats;
};

/* ------------------------------------------------------------ time */

static int64_t at_local(int32_t day, int h, int mi, int s) {
  int64_t ms = 0;
  if (chrono_from_local(day, h, mi, s, &ms) < 0)
    ms = (int64_t)day * DAY_MS + ((int64_t)h * 3600 + mi * 60 + s) * SEC;
  return ms;
}

static void put_digits(char *p, unsigned v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* "YYYYMMDDHHMMSS+HHMM", Europe/Helsinki (written by hand: formatting
 * times is most of the generator's work). */
static void hl7_ts(int64_t ms, char out[24]) {
  struct chrono_local l;
  int y, m, d, off;
  unsigned a;
  chrono_to_local(ms, &l);
  chrono_civil_from_days(l.day, &y, &m, &d);
  off = l.utc_offset_min;
  a = (unsigned)abs(off);
  put_digits(out, (unsigned)y % 10000u, 4);
  put_digits(out + 4, (unsigned)m % 100u, 2);
  put_digits(out + 6, (unsigned)d % 100u, 2);
  put_digits(out + 8, (unsigned)l.hour % 100u, 2);
  put_digits(out + 10, (unsigned)l.minute % 100u, 2);
  put_digits(out + 12, (unsigned)l.second % 100u, 2);
  out[14] = off < 0 ? '-' : '+';
  put_digits(out + 15, a / 60u % 100u, 2);
  put_digits(out + 17, a % 60u, 2);
  out[19] = '\0';
}

/* RFC 3339 with the Helsinki offset: "2025-03-03T08:00:00+02:00". */
static void fhir_ts(int64_t ms, char out[32]) {
  char h[24];
  hl7_ts(ms, h);
  memcpy(out, h, 4);
  out[4] = '-';
  memcpy(out + 5, h + 4, 2);
  out[7] = '-';
  memcpy(out + 8, h + 6, 2);
  out[10] = 'T';
  memcpy(out + 11, h + 8, 2);
  out[13] = ':';
  memcpy(out + 14, h + 10, 2);
  out[16] = ':';
  memcpy(out + 17, h + 12, 2);
  memcpy(out + 19, h + 14, 3);
  out[22] = ':';
  memcpy(out + 23, h + 17, 2);
  out[25] = '\0';
}

/* The arkipäivä before 'day'. */
static int32_t prev_workday(int32_t day) {
  do
    day--;
  while (!calendar_is_arkipaiva(day));
  return day;
}

/* A random office-hours instant (08:00:00-15:59:59) on 'day'. */
static int64_t office_time(struct rng *r, int32_t day) {
  int64_t base = at_local(day, 8, 0, 0);
  return base + (int64_t)rng_below(r, 8 * 3600) * SEC;
}

/* 't' moved to 07:00-21:59 of its own day when it falls at night and the
 * moved time stays within (lo, hi); people cancel and book in the day. */
static int64_t daytime(struct rng *r, int64_t t, int64_t lo, int64_t hi) {
  struct chrono_local l;
  int64_t alt;
  chrono_to_local(t, &l);
  if (l.hour >= 7 && l.hour < 22)
    return t;
  alt = at_local(l.day, 7 + (int)rng_below(r, 15), (int)rng_below(r, 60),
                 (int)rng_below(r, 60));
  return alt > lo && alt < hi ? alt : t;
}

/* ------------------------------------------------------------ people */

static uint64_t person_key(uint64_t person) {
  return (person % PERSON_SPACE * PERSON_MUL + 12345) % PERSON_SPACE;
}

struct person {
  char hetu[12];
  int32_t birth;
  char sex;
  bool swedish;
  uint64_t h;
};

static void person_get(const struct gs *g, uint32_t station, uint64_t person,
                       struct person *p) {
  uint64_t k = person_key(person);
  int32_t off = (int32_t)(k % BIRTH_DAYS);
  int zzz = 900 + (int)(k / BIRTH_DAYS);
  int y, m, d;
  uint64_t x = k ^ 0xabcdef12345ULL;
  p->birth = g->birth_min + off;
  p->sex = (zzz & 1) ? 'M' : 'F';
  chrono_civil_from_days(p->birth, &y, &m, &d);
  snprintf(p->hetu, sizeof p->hetu, "%02u%02u%02u%c%03u%c", (unsigned)d % 100u,
           (unsigned)m % 100u, (unsigned)y % 100u, hetu_century_sign(y),
           (unsigned)zzz % 1000u, hetu_checksum_char(d, m, y % 100, zzz));
  p->h = rng_splitmix64(&x);
  p->swedish = (double)(p->h >> 11) * 0x1.0p-53 < g->st[station].sv_share;
}

/* ------------------------------------------------------------ setup */

static const struct org_channel *
pick_channel(const struct org *org, const char *id, const char *type) {
  if (id != NULL) {
    const struct org_channel *ch = org_channel_find(org, id);
    return ch != NULL && strcmp(ch->type, type) == 0 ? ch : NULL;
  }
  for (size_t i = 0; i < org_channel_count(org); i++) {
    const struct org_channel *ch = org_channel_at(org, i);
    if (strcmp(ch->type, type) != 0)
      continue;
    for (size_t k = 0; k < org_channel_location_count(ch); k++) {
      const char *code;
      const struct org_unit *u;
      if (org_channel_location_at(org, ch, k, &code, &u) &&
          strcmp(u->type, "health_station") == 0)
        return ch;
    }
  }
  return NULL;
}

/* Residents served by 'u': its municipality's population shared evenly by
 * the municipality's health stations. */
static double catchment(const struct org *org, const struct org_unit *u) {
  const struct org_unit *muni =
      u->parent != NULL ? org_unit_find(org, u->parent) : NULL;
  size_t n = 0;
  if (muni == NULL || muni->population <= 0)
    return DEFAULT_CATCHMENT;
  for (size_t i = 0; i < org_unit_count(org); i++) {
    const struct org_unit *o = org_unit_at(org, i);
    if (o->parent != NULL && strcmp(o->parent, muni->id) == 0 &&
        strcmp(o->type, "health_station") == 0)
      n++;
  }
  return (double)muni->population / (double)(n ? n : 1);
}

static int cmp_u64_idx(const void *a, const void *b) {
  const uint64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : 1);
}

/* Stations, their strain and staff; everything from the seed and the org,
 * independent of the dates. */
static int build_plan(struct gs *g, uint64_t seed, struct error *err) {
  uint64_t base = 0;
  size_t nstrained;
  uint64_t(*order)[2];
  for (size_t i = 0; i < org_unit_count(g->org); i++) {
    const struct org_unit *u = org_unit_at(g->org, i);
    const char *code;
    if (strcmp(u->type, "health_station") != 0)
      continue;
    code = org_channel_location_code(g->org, g->ch, u);
    if (code == NULL)
      continue;
    if (g->nst == GENSCHED_MAX_STATIONS)
      return error_set(err, ERR_TOOBIG, "more than %d health stations",
                       GENSCHED_MAX_STATIONS);
    if (g->nst == 0)
      g->st = mem_calloc(GENSCHED_MAX_STATIONS, sizeof *g->st);
    g->st[g->nst].unit = u;
    g->st[g->nst].loc = code;
    if (g->fch != NULL)
      g->st[g->nst].fhir_loc = org_channel_location_code(g->org, g->fch, u);
    g->nst++;
  }
  if (g->nst == 0)
    return error_set(err, ERR_CONFIG, "channel '%s' maps no health station",
                     g->ch->id);

  /* The strained stations: the lowest hashes of (seed, unit id). */
  order = mem_alloc(g->nst * sizeof *order);
  for (size_t i = 0; i < g->nst; i++) {
    order[i][0] =
        hash_str(1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL),
                 g->st[i].unit->id);
    order[i][1] = i;
  }
  qsort(order, g->nst, sizeof *order, cmp_u64_idx);
  nstrained = (size_t)((double)g->nst * STRAINED_SHARE + 0.5);
  if (nstrained == 0)
    nstrained = 1;
  if (nstrained >= g->nst && g->nst > 1)
    nstrained = g->nst - 1;
  for (size_t i = 0; i < nstrained; i++)
    g->st[order[i][1]].strained = true;
  mem_free(order);

  for (size_t i = 0; i < g->nst; i++) {
    struct station *s = &g->st[i];
    uint64_t x = hash_str(seed ^ 0x1234567ULL, s->unit->id);
    double pop = catchment(g->org, s->unit);
    const struct org_unit *muni =
        s->unit->parent != NULL ? org_unit_find(g->org, s->unit->parent) : NULL;
    int lead;
    uint64_t r = rng_splitmix64(&x);
    if (s->strained)
      lead = STRAINED_LEAD_MIN +
             (int)(r % (STRAINED_LEAD_MAX - STRAINED_LEAD_MIN + 1));
    else
      lead = LEAD_MIN + (int)(r % (LEAD_MAX - LEAD_MIN + 1));
    for (int gi = 0; gi < T3__GROUPS; gi++) {
      const struct group_def *gd = &groups[gi];
      double l = (double)lead * gd->lead_factor;
      double maxl = (double)(g->horizon - 3) / (1.0 + LEAD_SPREAD);
      int n = (int)(pop * gd->per_resident + 0.5);
      if (l > maxl)
        l = maxl;
      if (l < 1)
        l = 1;
      s->lead[gi] = (int)(l + 0.5);
      s->nprof[gi] = n < gd->min_count ? gd->min_count : n;
      /* about one never-booked slot per lead period in a book */
      {
        int per_day = 0;
        for (int m = MORNING_START; m + gd->slot_min <= LUNCH_START;
             m += gd->slot_min)
          per_day++;
        for (int m = AFTERNOON_START; m + gd->slot_min <= DAY_END;
             m += gd->slot_min)
          per_day++;
        per_day -= 2 * gd->urgent_slots;
        s->unbooked[gi] =
            s->strained ? 0.0 : 1.0 / ((double)per_day * (double)s->lead[gi]);
      }
    }
    s->sv_share = gen_swedish_share(muni != NULL ? muni->municipality : NULL);
    s->person_base = base;
    s->person_pool = (uint64_t)(pop * VISITING_SHARE) + 1;
    base += s->person_pool;
  }

  /* Professionals, station by station and group by group. */
  {
    size_t total = 0, k = 0;
    for (size_t i = 0; i < g->nst; i++)
      for (int gi = 0; gi < T3__GROUPS; gi++)
        total += (size_t)g->st[i].nprof[gi];
    g->profs = mem_calloc(total, sizeof *g->profs);
    for (size_t i = 0; i < g->nst; i++)
      for (int gi = 0; gi < T3__GROUPS; gi++)
        for (int n = 0; n < g->st[i].nprof[gi]; n++) {
          struct prof *p = &g->profs[k++];
          uint64_t x = hash_str(seed ^ ((uint64_t)gi << 40) ^ (uint64_t)n,
                                g->st[i].unit->id);
          uint64_t r1 = rng_splitmix64(&x), r2 = rng_splitmix64(&x);
          snprintf(p->id, sizeof p->id, "%.30s-%s%d", g->st[i].loc,
                   groups[gi].letter, n + 1);
          p->station = (uint16_t)i;
          p->group = (uint8_t)gi;
          p->code = (groups[gi].codes[1] != NULL &&
                     (double)(r1 >> 11) * 0x1.0p-53 < groups[gi].code1_share)
                        ? 1
                        : 0;
          p->dayoff = (double)(r2 >> 11) * 0x1.0p-53 < P_PART_TIME
                          ? (uint8_t)(1 + (r2 % 5))
                          : 0;
          p->name_h = rng_splitmix64(&x);
        }
    g->nprofs = total;
  }
  return 0;
}

/* ------------------------------------------------------------ stories */

static void push_action(struct gs *g, int64_t t, uint32_t date, uint32_t idx,
                        int kind) {
  int32_t day;
  struct bucket *b;
  if (t >= g->end_ms)
    return;
  if (t < g->from_ms)
    return; /* folded into the census */
  day = chrono_local_date(t);
  b = &g->days[(size_t)(day - g->first_date) % g->ring];
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 4096;
    b->v = mem_realloc(b->v, b->cap * sizeof *b->v);
  }
  b->v[b->n++] = (struct action){t, date, idx, (uint8_t)kind};
}

/* Who books, and when they made contact and were assessed, for a booking
 * made at 'tb' (ms) of slot 's'. */
static void make_booking(struct gs *g, const struct station *st, struct slot *s,
                         int k, int64_t tb, bool urgent) {
  struct booking *b = &s->b[k];
  struct rng *r = &g->rng;
  int64_t hta = tb - (int64_t)rng_below(r, 20 * 60) * SEC, contact;
  memset(b, 0, sizeof *b);
  b->person =
      (uint32_t)((st->person_base + rng_below(r, (uint32_t)st->person_pool)) %
                 PERSON_SPACE);
  b->book = (int32_t)((tb - s->start) / SEC);
  if (!urgent && rng_chance(r, P_EARLY_CONTACT)) {
    int32_t d = chrono_local_date(hta);
    int back = 1 + (int)rng_below(r, 3);
    for (int i = 0; i < back; i++)
      d = prev_workday(d);
    contact = office_time(r, d);
  } else {
    int64_t opens = at_local(chrono_local_date(hta), 7, 0, 0);
    contact = hta - (int64_t)rng_below(r, (urgent ? 60 : 120) * 60) * SEC;
    if (contact < opens && hta >= opens) /* phone lines open at 07:00 */
      contact = rng_ms(r, opens, hta);
  }
  b->hta = (int32_t)((hta - s->start) / SEC);
  b->contact = (int32_t)((contact - s->start) / SEC);
}

/* Draws the whole story of slot 'idx' of date 'date' (index from the first
 * date) and queues its actions. */
static void make_story(struct gs *g, uint32_t date, uint32_t idx,
                       const struct prof *p, int urgent_pos, int32_t day,
                       int minute) {
  struct slot *s = &g->dates[date % g->ring].v[idx];
  const struct group_def *gd = &groups[p->group];
  const struct station *st = &g->st[p->station];
  struct rng *r = &g->rng;
  int64_t start = at_local(day, minute / 60, minute % 60, 0);
  int64_t end = start + gd->slot_min * MIN_MS;
  int64_t open = at_local(day - g->horizon, 6, (int)rng_below(r, 60),
                          (int)rng_below(r, 60));
  int64_t last, tb = 0;
  bool booked = false;

  memset(s, 0, sizeof *s);
  s->start = start;
  s->prof = (uint32_t)(p - g->profs);
  s->open = (int32_t)((open - start) / SEC);
  if (urgent_pos)
    s->flags |= S_URGENT;
  else {
    double u = rng_unit(r);
    if (u < gd->p_phone)
      s->flags |= S_PHONE;
    else if (u < gd->p_phone + gd->p_video)
      s->flags |= S_VIDEO;
    if (rng_chance(r, P_HELD))
      s->flags |= S_HELD;
  }
  last = open;

  if (s->flags & S_HELD) {
    if (rng_chance(r, P_HELD_RELEASED)) {
      int64_t rel = start - rng_ms(r, 26 * HOUR_MS, 50 * HOUR_MS);
      rel = daytime(r, rel, last + MIN_MS, start - 2 * HOUR_MS);
      if (rel <= last + MIN_MS)
        rel = last + MIN_MS;
      s->release = (int32_t)((rel - start) / SEC);
      last = rel;
      if (rng_chance(r, st->strained ? P_RELEASED_BOOKED_STRAINED
                                     : P_RELEASED_BOOKED) &&
          start - 40 * MIN_MS > last) {
        int64_t hi = start - 30 * MIN_MS;
        int64_t wait = st->strained ? REBOOK_WAIT_STRAINED : 20 * HOUR_MS;
        if (hi > last + wait)
          hi = last + wait;
        tb = daytime(r, rng_ms(r, last + 10 * MIN_MS, hi), last + 10 * MIN_MS,
                     hi);
        booked = true;
      }
    }
  } else if (s->flags & S_URGENT) {
    if (rng_chance(r, P_URGENT_BOOKED)) {
      int64_t morning = at_local(day, 7, 30, 0);
      tb = start - rng_ms(r, 30 * MIN_MS, 5 * HOUR_MS);
      if (tb < morning)
        tb = morning + (int64_t)rng_below(r, 20 * 60) * SEC;
      if (tb > start - 10 * MIN_MS)
        tb = start - rng_ms(r, 10 * MIN_MS, 20 * MIN_MS);
      booked = true;
    }
  } else if (!rng_chance(r, st->unbooked[p->group])) {
    double w = (double)st->lead[p->group];
    double lead = w * (1.0 + LEAD_SPREAD * rng_unit(r));
    int32_t bday = day - (int32_t)(lead + 0.5);
    if (bday < day - g->horizon)
      bday = day - g->horizon;
    if (!calendar_is_arkipaiva(bday))
      bday = prev_workday(bday);
    if (bday < day - g->horizon)
      bday = day - g->horizon;
    tb = office_time(r, bday);
    if (tb <= last + MIN_MS)
      tb = last + MIN_MS + (int64_t)rng_below(r, 3600) * SEC;
    if (tb > start - 10 * MIN_MS)
      tb = start - 10 * MIN_MS;
    booked = tb > last;
  }
  if (!booked)
    goto queue;

  make_booking(g, st, s, 0, tb, (s->flags & S_URGENT) != 0);
  s->nbook = 1;
  last = tb;
  if (start - last > 2 * HOUR_MS &&
      rng_chance(r, (s->flags & S_URGENT) ? P_CANCEL_URGENT : P_CANCEL)) {
    int64_t tc = daytime(r, rng_ms(r, last + HOUR_MS, start - HOUR_MS),
                         last + HOUR_MS, start - HOUR_MS);
    double p_rebook = st->strained ? P_REBOOK_STRAINED : P_REBOOK;
    s->b[0].cancel = (int32_t)((tc - start) / SEC);
    last = tc;
    if (!(s->flags & S_URGENT) && start - tc > HOUR_MS &&
        rng_chance(r, p_rebook)) {
      /* strained stations fill a cancelled slot from their waiting list
       * within hours */
      int64_t wait = st->strained ? REBOOK_WAIT_STRAINED : REBOOK_WAIT;
      int64_t hi = start - 30 * MIN_MS;
      if (hi > tc + wait)
        hi = tc + wait;
      tb = daytime(r, rng_ms(r, tc + 5 * MIN_MS, hi), tc + 5 * MIN_MS, hi);
      make_booking(g, st, s, 1, tb, false);
      s->nbook = 2;
      last = tb;
    } else {
      goto queue; /* free until it passes */
    }
  }
  /* The last booking ends in a no-show or a visit. */
  {
    struct booking *b = &s->b[s->nbook - 1];
    if (rng_chance(r, P_NOSHOW)) {
      s->outcome = OUT_NOSHOW;
      s->final = (int32_t)rng_below(r, 20 * 60) + 10 * 60;
    } else {
      double u = rng_unit(r);
      s->outcome = OUT_COMPLETE;
      s->final =
          (int32_t)((end - start) / SEC) + 60 + (int32_t)rng_below(r, 59 * 60);
      if (u < gd->p_care_plan) {
        b->excl |= EVENT_F_CARE_PLAN >> 9;
        if (rng_chance(r, P_CARE_PLAN_NO_HTA)) {
          b->hta = NO_TIME;
          b->contact = NO_TIME;
        }
      } else if ((u -= gd->p_care_plan) < gd->p_certificate) {
        b->excl |= EVENT_F_CERTIFICATE >> 9;
      } else if ((u -= gd->p_certificate) < gd->p_specialist) {
        b->excl |= EVENT_F_SPECIALIST >> 9;
      } else if ((u -= gd->p_specialist) < gd->p_promotion) {
        b->excl |= EVENT_F_PROMOTION >> 9;
      }
    }
  }

queue:
  if (open < g->from_ms)
    push_action(g, g->from_ms, date, idx, ACT_CENSUS);
  else
    push_action(g, open, date, idx, ACT_OPEN);
  if (s->release != 0)
    push_action(g, start + (int64_t)s->release * SEC, date, idx, ACT_RELEASE);
  if (s->nbook >= 1)
    push_action(g, start + (int64_t)s->b[0].book * SEC, date, idx, ACT_BOOK0);
  if (s->nbook >= 1 && s->b[0].cancel != 0)
    push_action(g, start + (int64_t)s->b[0].cancel * SEC, date, idx,
                ACT_CANCEL);
  if (s->nbook >= 2)
    push_action(g, start + (int64_t)s->b[1].book * SEC, date, idx, ACT_BOOK1);
  if (s->outcome == OUT_NOSHOW)
    push_action(g, start + (int64_t)s->final * SEC, date, idx, ACT_NOSHOW);
  else if (s->outcome == OUT_COMPLETE)
    push_action(g, start + (int64_t)s->final * SEC, date, idx, ACT_COMPLETE);
}

/* Makes every slot of local day 'day' (date index 'date'). */
static void make_date(struct gs *g, uint32_t date, int32_t day) {
  struct dayslots *ds = &g->dates[date % g->ring];
  int wd = chrono_weekday(day);
  ds->n = 0;
  if (!calendar_is_arkipaiva(day))
    return;
  for (size_t pi = 0; pi < g->nprofs; pi++) {
    const struct prof *p = &g->profs[pi];
    const struct group_def *gd = &groups[p->group];
    if (p->dayoff == wd)
      continue;
    for (int pass = 0; pass < 2; pass++) {
      int m0 = pass == 0 ? MORNING_START : AFTERNOON_START;
      int m1 = pass == 0 ? LUNCH_START : DAY_END;
      int pos = 0;
      for (int m = m0; m + gd->slot_min <= m1; m += gd->slot_min, pos++) {
        if (ds->n == ds->cap) {
          ds->cap = ds->cap ? ds->cap * 2 : 1024;
          ds->v = mem_realloc(ds->v, ds->cap * sizeof *ds->v);
        }
        ds->n++;
        make_story(g, date, (uint32_t)(ds->n - 1), p, pos < gd->urgent_slots,
                   day, m);
      }
    }
  }
}

/* ------------------------------------------------------------ SIU */

static const char *const siu_trig[] = {
    [ACT_CENSUS] = "S12", [ACT_OPEN] = "S12",    [ACT_RELEASE] = "S14",
    [ACT_BOOK0] = "S12",  [ACT_CANCEL] = "S15",  [ACT_BOOK1] = "S12",
    [ACT_NOSHOW] = "S26", [ACT_COMPLETE] = "S14"};

/* The slot's state at the census: -1 free, -2 held, else the booking. */
static int census_state(const struct gs *g, const struct slot *s) {
  int64_t t = (g->from_ms - s->start) / SEC;
  int state = (s->flags & S_HELD) ? -2 : -1;
  if (s->release != 0 && s->release <= t)
    state = -1;
  if (s->nbook >= 1 && s->b[0].book <= t)
    state = 0;
  if (s->nbook >= 1 && s->b[0].cancel != 0 && s->b[0].cancel <= t)
    state = -1;
  if (s->nbook >= 2 && s->b[1].book <= t)
    state = 1;
  return state;
}

static void slot_id(const struct gs *g, const struct slot *s, char out[64]) {
  const char *id = g->profs[s->prof].id;
  size_t n = strlen(id);
  char ts[24];
  hl7_ts(s->start, ts);
  memcpy(out, id, n); /* ids are at most 44 bytes (build_plan) */
  out[n] = '-';
  memcpy(out + n + 1, ts, 12);
  out[n + 13] = '\0';
}

static const char *slot_type(const struct slot *s) {
  if (s->flags & S_PHONE)
    return "PHONE";
  if (s->flags & S_VIDEO)
    return "VIDEO";
  return "OFFICE";
}

static const char *prof_code(const struct prof *p) {
  return groups[p->group].codes[p->code];
}

/* Appends the NUL-terminated strings given, up to a NULL (faster than
 * buf_printf for the long fixed texts of a message). 0 or ERR_TOOBIG. */
static int cat(struct buf *b, ...) {
  va_list ap;
  const char *p;
  int rc = 0;
  va_start(ap, b);
  while (rc == 0 && (p = va_arg(ap, const char *)) != NULL)
    rc = buf_append(b, p, strlen(p));
  va_end(ap);
  return rc;
}

static int put_exclusions(struct buf *b, uint16_t excl, bool fhir) {
  static const char *const hl7[] = {"CARE_PLAN", "CERTIFICATE", "SPECIALIST",
                                    "PROMOTION"};
  static const char *const fh[] = {"care_plan", "certificate", "specialist",
                                   "promotion"};
  int rc = 0;
  bool first = true;
  for (int i = 0; i < 4 && rc == 0; i++)
    if (excl & (1u << i)) {
      if (fhir)
        rc = cat(b,
                 ",{\"url\":\"" EXT_BASE
                 "care-guarantee-exclusion\",\"valueCode\":\"",
                 fh[i], "\"}", NULL);
      else
        rc = cat(b, first ? "" : "~", hl7[i], NULL);
      first = false;
    }
  return rc;
}

/* Formats the SIU message of action 'kind' into g->fmt. 'bk' is the booking
 * the message is about (-1: none). */
static int format_siu(struct gs *g, const struct slot *s, int kind, int bk,
                      int64_t t, const char *status) {
  struct buf *b = &g->fmt;
  const struct prof *p = &g->profs[s->prof];
  const struct station *st = &g->st[p->station];
  const struct group_def *gd = &groups[p->group];
  char ts[24], start[24], end[24], sid[64], ctl[12], dur[4], bkn[2];
  int64_t endms = s->start + gd->slot_min * MIN_MS;
  const char *pfirst, *plast;
  int rc;

  buf_reset(b);
  hl7_ts(t, ts);
  hl7_ts(s->start, start);
  hl7_ts(endms, end);
  slot_id(g, s, sid);
  put_digits(ctl, (unsigned)(++g->ctl % 1000000000ULL), 9);
  ctl[9] = '\0';
  snprintf(dur, sizeof dur, "%u", (unsigned)gd->slot_min % 1000u);
  bkn[0] = (char)('1' + (bk < 0 ? 0 : bk));
  bkn[1] = '\0';
  gen_person_names(p->name_h, st->sv_share > 0.5,
                   (p->name_h >> 7) & 1 ? 'M' : 'F', &pfirst, &plast);
  rc = cat(b, "MSH|^~\\&|", g->ch->application, "|", g->ch->facility,
           "|TILANNEKUVA|", g->ch->facility, "|", ts, "||SIU^", siu_trig[kind],
           "^SIU_S12|", g->ctl_prefix, ctl,
           "|P|2.5|||||FIN|UNICODE UTF-8\rSCH|", NULL);
  if (rc == 0 && bk >= 0)
    rc = cat(b, sid, "-", bkn, NULL);
  if (rc == 0)
    rc = cat(b, "|", sid, "|||||", (s->flags & S_URGENT) ? "URGENT" : "ROUTINE",
             "|", slot_type(s), "|", dur, "|min|^^", dur, "^", start, "^", end,
             "||||||||||||||", status, "\rTQ1|1||||||", start, "|", end, "\r",
             NULL);
  if (rc == 0 && bk >= 0) {
    struct person pe;
    const char *first, *last;
    char birth[9], sex[2];
    int y, m, d;
    person_get(g, p->station, s->b[bk].person, &pe);
    gen_person_names(pe.h, pe.swedish, pe.sex, &first, &last);
    chrono_civil_from_days(pe.birth, &y, &m, &d);
    put_digits(birth, (unsigned)y % 10000u, 4);
    put_digits(birth + 4, (unsigned)m % 100u, 2);
    put_digits(birth + 6, (unsigned)d % 100u, 2);
    birth[8] = '\0';
    sex[0] = pe.sex;
    sex[1] = '\0';
    rc = cat(b, "PID|1||", pe.hetu, "^^^1.2.246.21^NNFIN||", last, "^", first,
             "||", birth, "|", sex, "|||||||", pe.swedish ? "sv" : "fi", "\r",
             NULL);
  }
  if (rc == 0)
    rc = cat(b, "RGS|1|A\rAIS|1|A|", gd->service, "|", start, "|||", dur,
             "|min\rAIL|1|A|", st->loc, "^^^", g->ch->facility, "\rAIP|1|A|",
             p->id, "^", plast, "^", pfirst, "|", prof_code(p), "||", start,
             "\r", NULL);
  if (rc == 0 && kind == ACT_COMPLETE) {
    const struct booking *bb = &s->b[bk];
    char hta[24] = "", contact[24] = "";
    const char *chan = (s->flags & S_PHONE)   ? "PHONE"
                       : (s->flags & S_VIDEO) ? "VIDEO"
                                              : "IN_PERSON";
    if (bb->hta != NO_TIME)
      hl7_ts(s->start + (int64_t)bb->hta * SEC, hta);
    if (bb->contact != NO_TIME)
      hl7_ts(s->start + (int64_t)bb->contact * SEC, contact);
    rc = cat(b, "ZHT|1|", hta, "|", contact, "|",
             (s->flags & S_URGENT) ? "U" : "N", "|", prof_code(p), "|", chan,
             "|", NULL);
    if (rc == 0)
      rc = put_exclusions(b, bb->excl, false);
    if (rc == 0)
      rc = buf_putc(b, '\r');
  }
  return rc;
}

/* ------------------------------------------------------------ FHIR */

/* 'v' in decimal. */
static void utoa(unsigned v, char out[12]) {
  char tmp[12];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (int i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  out[n] = '\0';
}

static int fhir_entry_begin(struct buf *b, bool *first, const char *type,
                            const char *id) {
  int rc = cat(b, *first ? "" : ",", "{\"fullUrl\":\"urn:tkgen:", type, "/", id,
               "\",\"resource\":", NULL);
  *first = false;
  return rc;
}

static int fhir_entry_end(struct buf *b, const char *type, const char *id) {
  return cat(b, ",\"request\":{\"method\":\"PUT\",\"url\":\"", type, "/", id,
             "\"}}", NULL);
}

static int fhir_slot(struct gs *g, struct buf *b, bool *first, struct slot *s,
                     const char *status, int64_t t) {
  const struct prof *p = &g->profs[s->prof];
  const struct group_def *gd = &groups[p->group];
  char sid[64], ts[32], start[32], end[32], ver[12];
  int rc;
  slot_id(g, s, sid);
  fhir_ts(t, ts);
  fhir_ts(s->start, start);
  fhir_ts(s->start + gd->slot_min * MIN_MS, end);
  utoa((unsigned)++s->slot_ver, ver);
  rc = fhir_entry_begin(b, first, "Slot", sid);
  if (rc == 0)
    rc = cat(b, "{\"resourceType\":\"Slot\",\"id\":\"", sid,
             "\",\"meta\":{\"versionId\":\"", ver, "\",\"lastUpdated\":\"", ts,
             "\"},\"schedule\":{\"reference\":\"Schedule/", p->id,
             "\"},\"status\":\"", status, "\",\"start\":\"", start,
             "\",\"end\":\"", end, "\"", NULL);
  if (rc == 0 && (s->flags & (S_PHONE | S_VIDEO)))
    rc = cat(b, ",\"appointmentType\":{\"coding\":[{\"code\":\"", slot_type(s),
             "\"}]}", NULL);
  if (rc == 0 && (s->flags & S_URGENT))
    rc = buf_puts(b, ",\"serviceType\":[{\"coding\":[{\"code\":\"URGENT\"}]}]");
  if (rc == 0)
    rc = buf_putc(b, '}');
  if (rc == 0)
    rc = fhir_entry_end(b, "Slot", sid);
  g->stats.resources++;
  return rc;
}

/* The id of booking 'bk' of slot 's' (Appointment and Encounter). */
static void booking_id(const struct gs *g, const struct slot *s, int bk,
                       char out[72]) {
  size_t n;
  slot_id(g, s, out);
  n = strlen(out);
  out[n] = '-';
  out[n + 1] = (char)('1' + bk);
  out[n + 2] = '\0';
}

static int fhir_appointment(struct gs *g, struct buf *b, bool *first,
                            const struct slot *s, int bk, const char *status,
                            int version, int64_t t) {
  const struct prof *p = &g->profs[s->prof];
  const struct station *st = &g->st[p->station];
  const struct group_def *gd = &groups[p->group];
  char sid[64], aid[72], ts[32], start[32], end[32], created[32], ver[12];
  struct person pe;
  int rc;
  slot_id(g, s, sid);
  booking_id(g, s, bk, aid);
  fhir_ts(t, ts);
  fhir_ts(s->start, start);
  fhir_ts(s->start + gd->slot_min * MIN_MS, end);
  fhir_ts(s->start + (int64_t)s->b[bk].book * SEC, created);
  utoa((unsigned)version, ver);
  person_get(g, p->station, s->b[bk].person, &pe);
  rc = fhir_entry_begin(b, first, "Appointment", aid);
  if (rc == 0)
    rc = cat(b, "{\"resourceType\":\"Appointment\",\"id\":\"", aid,
             "\",\"meta\":{\"versionId\":\"", ver, "\",\"lastUpdated\":\"", ts,
             "\"},\"status\":\"", status,
             "\",\"serviceType\":[{\"coding\":[{\"code\":\"", prof_code(p),
             "\"}]}],\"priority\":", (s->flags & S_URGENT) ? "1" : "5",
             ",\"start\":\"", start, "\",\"end\":\"", end, "\",\"created\":\"",
             created, "\",\"slot\":[{\"reference\":\"Slot/", sid,
             "\"}],\"participant\":[{\"actor\":{\"identifier\":{\"system\":"
             "\"urn:oid:1.2.246.21\",\"value\":\"",
             pe.hetu, "\"}},\"status\":\"",
             strcmp(status, "cancelled") == 0 ? "declined" : "accepted",
             "\"},{\"type\":[{\"coding\":[{\"code\":\"", prof_code(p),
             "\"}]}],\"actor\":{\"reference\":\"Practitioner/", p->id,
             "\"},\"status\":\"accepted\"},{\"actor\":{\"reference\":\"",
             st->fhir_loc, "\"},\"status\":\"accepted\"}]}", NULL);
  if (rc == 0)
    rc = fhir_entry_end(b, "Appointment", aid);
  g->stats.resources++;
  return rc;
}

static int fhir_encounter(struct gs *g, struct buf *b, bool *first,
                          const struct slot *s, int bk, int64_t t) {
  const struct prof *p = &g->profs[s->prof];
  const struct station *st = &g->st[p->station];
  const struct group_def *gd = &groups[p->group];
  const struct booking *bb = &s->b[bk];
  char eid[72], ts[32], start[32], end[32], tmp[32];
  struct person pe;
  const char *chan = (s->flags & S_PHONE)   ? "phone"
                     : (s->flags & S_VIDEO) ? "video"
                                            : "in_person";
  int rc;
  booking_id(g, s, bk, eid);
  fhir_ts(t, ts);
  fhir_ts(s->start, start);
  fhir_ts(s->start + gd->slot_min * MIN_MS, end);
  person_get(g, p->station, bb->person, &pe);
  rc = fhir_entry_begin(b, first, "Encounter", eid);
  if (rc == 0)
    rc = cat(b, "{\"resourceType\":\"Encounter\",\"id\":\"", eid,
             "\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"", ts,
             "\"},\"extension\":[{\"url\":\"" EXT_BASE
             "contact-channel\",\"valueCode\":\"",
             chan, "\"}", NULL);
  if (rc == 0 && bb->hta != NO_TIME) {
    fhir_ts(s->start + (int64_t)bb->hta * SEC, tmp);
    rc = cat(b,
             ",{\"url\":\"" EXT_BASE "needs-assessment\",\"valueDateTime\":\"",
             tmp, "\"}", NULL);
  }
  if (rc == 0 && bb->contact != NO_TIME) {
    fhir_ts(s->start + (int64_t)bb->contact * SEC, tmp);
    rc = cat(b, ",{\"url\":\"" EXT_BASE "first-contact\",\"valueDateTime\":\"",
             tmp, "\"}", NULL);
  }
  if (rc == 0)
    rc = put_exclusions(b, bb->excl, true);
  if (rc == 0)
    rc = cat(
        b,
        "],\"status\":\"finished\",\"class\":{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"",
        (s->flags & (S_PHONE | S_VIDEO)) ? "VR" : "AMB",
        "\"},\"priority\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/v3-ActPriority\","
        "\"code\":\"",
        (s->flags & S_URGENT) ? "UR" : "R",
        "\"}]},\"subject\":{\"identifier\":{\"system\":"
        "\"urn:oid:1.2.246.21\",\"value\":\"",
        pe.hetu, "\"}},\"participant\":[{\"type\":[{\"coding\":[{\"code\":\"",
        prof_code(p), "\"}]}],\"individual\":{\"reference\":\"Practitioner/",
        p->id, "\"}}],\"appointment\":[{\"reference\":\"Appointment/", eid,
        "\"}],\"period\":{\"start\":\"", start, "\",\"end\":\"", end,
        "\"},\"location\":[{\"location\":{\"reference\":\"", st->fhir_loc,
        "\"}}]}", NULL);
  if (rc == 0)
    rc = fhir_entry_end(b, "Encounter", eid);
  g->stats.resources++;
  return rc;
}

static int bundle_begin(struct buf *b) {
  buf_reset(b);
  return buf_puts(b, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                     "\"entry\":[");
}

static int bundle_send(struct gs *g, int32_t day) {
  int rc = buf_puts(&g->bundle, "]}");
  if (rc < 0)
    return rc;
  g->stats.bundles++;
  return g->sink(g->ctx, GENSCHED_FHIR, day, g->bundle.data, g->bundle.len);
}

/* The Schedules, at the start of the FHIR output. */
static int fhir_schedules(struct gs *g) {
  char ts[32];
  int rc = 0;
  bool first = true;
  size_t in_bundle = 0;
  fhir_ts(g->from_ms, ts);
  for (size_t i = 0; i < g->nprofs && rc == 0; i++) {
    const struct prof *p = &g->profs[i];
    if (in_bundle == 0) {
      rc = bundle_begin(&g->bundle);
      first = true;
    }
    if (rc == 0)
      rc = fhir_entry_begin(&g->bundle, &first, "Schedule", p->id);
    if (rc == 0)
      rc = buf_printf(
          &g->bundle,
          "{\"resourceType\":\"Schedule\",\"id\":\"%s\",\"meta\":{"
          "\"versionId\":\"1\",\"lastUpdated\":\"%s\"},\"active\":true,"
          "\"serviceType\":[{\"coding\":[{\"code\":\"%s\"}]}],\"actor\":["
          "{\"reference\":\"Practitioner/%s\"},{\"reference\":\"%s\"}]}",
          p->id, ts, prof_code(p), p->id, g->st[p->station].fhir_loc);
    if (rc == 0)
      rc = fhir_entry_end(&g->bundle, "Schedule", p->id);
    g->stats.resources++;
    if (rc == 0 &&
        (++in_bundle == GENSCHED_SCHEDULES_PER_BUNDLE || i + 1 == g->nprofs)) {
      rc = bundle_send(g, g->from);
      in_bundle = 0;
    }
  }
  return rc;
}

static int write_fhir(struct gs *g, struct slot *s, int kind, int state,
                      int64_t t, int32_t day) {
  struct buf *b = &g->bundle;
  bool first = true;
  int last = s->nbook - 1;
  int rc = bundle_begin(b);
  if (rc < 0)
    return rc;
  switch (kind) {
  case ACT_CENSUS:
    if (state >= 0) {
      rc = fhir_slot(g, b, &first, s, "busy", t);
      if (rc == 0)
        rc = fhir_appointment(g, b, &first, s, state, "booked", 1, t);
    } else {
      rc = fhir_slot(g, b, &first, s, state == -2 ? "busy-unavailable" : "free",
                     t);
    }
    break;
  case ACT_OPEN:
    rc = fhir_slot(g, b, &first, s,
                   (s->flags & S_HELD) ? "busy-unavailable" : "free", t);
    break;
  case ACT_RELEASE:
    rc = fhir_slot(g, b, &first, s, "free", t);
    break;
  case ACT_BOOK0:
  case ACT_BOOK1:
    rc = fhir_slot(g, b, &first, s, "busy", t);
    if (rc == 0)
      rc = fhir_appointment(g, b, &first, s, kind == ACT_BOOK0 ? 0 : 1,
                            "booked", 1, t);
    break;
  case ACT_CANCEL:
    rc = fhir_appointment(g, b, &first, s, 0, "cancelled", 2, t);
    if (rc == 0)
      rc = fhir_slot(g, b, &first, s, "free", t);
    break;
  case ACT_NOSHOW:
    rc = fhir_appointment(g, b, &first, s, last, "noshow", 2, t);
    break;
  case ACT_COMPLETE:
    rc = fhir_appointment(g, b, &first, s, last, "fulfilled", 2, t);
    if (rc == 0)
      rc = fhir_encounter(g, b, &first, s, last, t);
    break;
  default:
    break;
  }
  if (rc < 0)
    return rc;
  return bundle_send(g, day);
}

/* ------------------------------------------------------------ output */

static int cmp_action(const void *a, const void *b) {
  const struct action *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  if (x->date != y->date)
    return x->date < y->date ? -1 : 1;
  if (x->idx != y->idx)
    return x->idx < y->idx ? -1 : 1;
  return (int)x->kind - (int)y->kind;
}

static int emit_action(struct gs *g, const struct action *a, int32_t day) {
  struct slot *s = &g->dates[a->date % g->ring].v[a->idx];
  int bk = -1, state = 0, rc;
  const char *status = "";
  switch (a->kind) {
  case ACT_CENSUS:
    state = census_state(g, s);
    bk = state >= 0 ? state : -1;
    status = state >= 0 ? "Booked" : state == -2 ? "Blocked" : "";
    g->stats.census++;
    break;
  case ACT_OPEN:
    status = (s->flags & S_HELD) ? "Blocked" : "";
    g->stats.opened++;
    break;
  case ACT_RELEASE:
    g->stats.released++;
    break;
  case ACT_BOOK0:
  case ACT_BOOK1:
    bk = a->kind == ACT_BOOK0 ? 0 : 1;
    status = "Booked";
    g->stats.booked++;
    break;
  case ACT_CANCEL:
    bk = 0;
    status = "Cancelled";
    g->stats.cancelled++;
    break;
  case ACT_NOSHOW:
    bk = s->nbook - 1;
    status = "Noshow";
    g->stats.noshows++;
    break;
  case ACT_COMPLETE:
    bk = s->nbook - 1;
    status = "Complete";
    g->stats.visits++;
    break;
  default:
    return 0;
  }
  rc = format_siu(g, s, a->kind, bk, a->t, status);
  if (rc < 0)
    return rc;
  g->stats.messages++;
  rc = g->sink(g->ctx, GENSCHED_SIU, day, g->fmt.data, g->fmt.len);
  if (rc < 0)
    return rc;
  if (g->fhir)
    rc = write_fhir(g, s, a->kind, state, a->t, day);
  return rc;
}

static int emit_day(struct gs *g, int32_t day) {
  struct bucket *b = &g->days[(size_t)(day - g->first_date) % g->ring];
  int rc = 0;
  if (day >= g->end) {
    b->n = 0;
    return 0;
  }
  if (b->n > 1)
    qsort(b->v, b->n, sizeof *b->v, cmp_action);
  for (size_t i = 0; i < b->n && rc == 0; i++)
    rc = emit_action(g, &b->v[i], day);
  b->n = 0;
  return rc;
}

/* ------------------------------------------------------------ run */

static void gs_free(struct gs *g) {
  if (g->dates != NULL)
    for (size_t i = 0; i < g->ring; i++)
      mem_free(g->dates[i].v);
  if (g->days != NULL)
    for (size_t i = 0; i < g->ring; i++)
      mem_free(g->days[i].v);
  mem_free(g->dates);
  mem_free(g->days);
  mem_free(g->st);
  mem_free(g->profs);
  buf_release(&g->fmt);
  buf_release(&g->bundle);
}

static int setup(struct gs *g, const struct gensched_options *opt, bool fhir,
                 struct org **own, struct error *err) {
  memset(g, 0, sizeof *g);
  buf_init(&g->fmt, GENSCHED_MSG_MAX);
  buf_init(&g->bundle, GENSCHED_BUNDLE_MAX);
  if (opt == NULL)
    return error_set(err, ERR_INVAL, "generator options missing");
  if (opt->days < 1 || opt->days > GENSCHED_MAX_DAYS)
    return error_set(err, ERR_INVAL, "days: expected 1 to %d",
                     GENSCHED_MAX_DAYS);
  g->horizon = opt->horizon_days ? opt->horizon_days : GENSCHED_HORIZON_DAYS;
  if (g->horizon < GENSCHED_MIN_HORIZON || g->horizon > GENSCHED_MAX_HORIZON)
    return error_set(err, ERR_INVAL, "horizon: expected %d to %d days",
                     GENSCHED_MIN_HORIZON, GENSCHED_MAX_HORIZON);
  /* birth dates down to 96 years before, with a 2000s or 1900s sign */
  if (opt->from < chrono_days_from_civil(1998, 1, 1) ||
      opt->from + opt->days > chrono_days_from_civil(2098, 12, 1))
    return error_set(err, ERR_INVAL,
                     "from: expected dates from 1998-01-01 to 2098-11-30");
  g->org = opt->org;
  if (g->org == NULL) {
    int rc = org_load_builtin(opt->region, own, err);
    if (rc < 0)
      return rc;
    g->org = *own;
  }
  g->ch = pick_channel(g->org, opt->channel, "hl7v2");
  if (g->ch == NULL)
    return error_set(err, ERR_NOTFOUND,
                     "no HL7 v2 channel '%s' with health stations",
                     opt->channel != NULL ? opt->channel : "");
  if (fhir || opt->fhir_channel != NULL) {
    g->fch = pick_channel(g->org, opt->fhir_channel, "fhir");
    if (g->fch == NULL && fhir)
      return error_set(err, opt->fhir_channel ? ERR_NOTFOUND : ERR_CONFIG,
                       "no FHIR channel '%s' with health stations",
                       opt->fhir_channel != NULL ? opt->fhir_channel : "");
  }
  g->fhir = fhir;
  g->from = opt->from;
  g->end = opt->from + opt->days;
  g->from_ms = at_local(g->from, 0, 0, 0);
  g->end_ms = at_local(g->end, 0, 0, 0);
  g->first_date = opt->from;
  g->birth_min = opt->from - g->horizon - 30 - BIRTH_DAYS + 1;
  {
    int rc = build_plan(g, opt->seed, err);
    if (rc < 0)
      return rc;
  }
  if (fhir)
    for (size_t i = 0; i < g->nst; i++)
      if (g->st[i].fhir_loc == NULL)
        return error_set(err, ERR_CONFIG, "FHIR channel '%s' does not map '%s'",
                         g->fch->id, g->st[i].unit->id);
  sched_seed(&g->rng, opt->seed);
  {
    uint64_t x = hash_str(1469598103934665603ULL ^ opt->seed, g->ch->id) ^
                 ((uint64_t)(uint32_t)opt->from << 20) ^ (uint64_t)opt->days;
    snprintf(g->ctl_prefix, sizeof g->ctl_prefix, "TKS%08X0",
             (unsigned)(rng_splitmix64(&x) & 0xffffffffu));
  }
  g->ring = (size_t)g->horizon + 4;
  g->dates = mem_calloc(g->ring, sizeof *g->dates);
  g->days = mem_calloc(g->ring, sizeof *g->days);
  g->stats.stations = g->nst;
  g->stats.professionals = g->nprofs;
  return 0;
}

int gensched_stations(const struct gensched_options *opt,
                      struct gensched_station *out, size_t cap, size_t *n,
                      struct error *err) {
  struct gs g;
  struct org *own = NULL;
  int rc = setup(&g, opt, false, &own, err);
  if (rc == 0) {
    for (size_t i = 0; i < g.nst && i < cap; i++) {
      out[i].unit = g.st[i].unit;
      out[i].strained = g.st[i].strained;
      for (int k = 0; k < T3__GROUPS; k++) {
        out[i].lead_days[k] = g.st[i].lead[k];
        out[i].professionals[k] = g.st[i].nprof[k];
      }
    }
    *n = g.nst;
  }
  gs_free(&g);
  org_free(own);
  return rc;
}

int gensched_stream(const struct gensched_options *opt, bool fhir,
                    gensched_sink_fn sink, void *ctx, struct error *err) {
  struct gs g;
  struct org *own = NULL;
  int rc;
  int32_t last_date;
  if (sink == NULL)
    return error_set(err, ERR_INVAL, "generator sink missing");
  rc = setup(&g, opt, fhir, &own, err);
  if (rc < 0)
    goto out;
  g.sink = sink;
  g.ctx = ctx;
  if (fhir) {
    rc = fhir_schedules(&g);
    if (rc < 0)
      goto out;
  }
  /* Slot dates whose books open before the end. */
  last_date = g.end - 1 + g.horizon;
  for (int32_t x = g.from; x <= last_date; x++) {
    make_date(&g, (uint32_t)(x - g.from), x);
    if (x - g.horizon >= g.from) {
      rc = emit_day(&g, x - g.horizon);
      if (rc < 0)
        goto out;
    }
  }
  for (int32_t y = last_date - g.horizon + 1; y < g.end; y++) {
    if (y < g.from)
      continue;
    rc = emit_day(&g, y);
    if (rc < 0)
      goto out;
  }
  if (opt->stats != NULL)
    *opt->stats = g.stats;
out:
  gs_free(&g);
  org_free(own);
  return rc;
}

/* ------------------------------------------------------------ files */

struct out_file {
  const char *dir;
  const char *prefix, *suffix;
  FILE *f;
  int32_t day;
  char path[4096], tmp[4104];
};

struct file_sink {
  struct out_file of[2];
  uint64_t files;
};

static int close_file(struct out_file *o, uint64_t *files) {
  int rc = 0;
  if (o->f == NULL)
    return 0;
  if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
    rc = ERR_IO;
  if (fclose(o->f) != 0)
    rc = ERR_IO;
  o->f = NULL;
  if (rc == 0 && rename(o->tmp, o->path) != 0)
    rc = ERR_IO;
  if (rc < 0)
    unlink(o->tmp);
  else
    (*files)++;
  return rc;
}

static int open_file(struct out_file *o, int32_t day) {
  char date[11];
  chrono_format_date(day, date);
  snprintf(o->path, sizeof o->path, "%s/%s%s%s", o->dir, o->prefix, date,
           o->suffix);
  snprintf(o->tmp, sizeof o->tmp, "%s/.%s%s%s.tmp", o->dir, o->prefix, date,
           o->suffix);
  o->f = fopen(o->tmp, "wb");
  if (o->f == NULL)
    return ERR_IO;
  o->day = day;
  return 0;
}

static int file_sink_fn(void *ctx, int kind, int32_t day, const char *data,
                        size_t len) {
  struct file_sink *fs = ctx;
  struct out_file *o = &fs->of[kind == GENSCHED_FHIR ? 1 : 0];
  int rc;
  if (o->dir == NULL)
    return 0;
  if (o->f != NULL && o->day != day) {
    rc = close_file(o, &fs->files);
    if (rc < 0)
      return rc;
  }
  if (o->f == NULL) {
    rc = open_file(o, day);
    if (rc < 0)
      return rc;
  }
  if (fwrite(data, 1, len, o->f) != len || fputc('\n', o->f) == EOF)
    return ERR_IO;
  return 0;
}

static int make_dir(const char *dir, struct error *err) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return error_set(err, ERR_IO, "cannot create '%s'", dir);
  return 0;
}

int gensched_run(const struct gensched_options *opt, const char *siu_dir,
                 const char *fhir_dir, struct error *err) {
  struct file_sink fs;
  struct gensched_stats st;
  struct gensched_options o;
  int rc;
  if (opt == NULL || (siu_dir == NULL && fhir_dir == NULL))
    return error_set(err, ERR_INVAL, "no output directory");
  memset(&fs, 0, sizeof fs);
  fs.of[0] = (struct out_file){siu_dir, "siu-", ".hl7", NULL, 0, "", ""};
  fs.of[1] = (struct out_file){fhir_dir, "fhir-", ".ndjson", NULL, 0, "", ""};
  if (siu_dir != NULL && (rc = make_dir(siu_dir, err)) < 0)
    return rc;
  if (fhir_dir != NULL && (rc = make_dir(fhir_dir, err)) < 0)
    return rc;
  o = *opt;
  o.stats = &st;
  rc = gensched_stream(&o, fhir_dir != NULL, file_sink_fn, &fs, err);
  for (int i = 0; i < 2; i++) {
    if (rc < 0) {
      if (fs.of[i].f != NULL) {
        fclose(fs.of[i].f);
        unlink(fs.of[i].tmp);
        fs.of[i].f = NULL;
      }
    } else {
      rc = close_file(&fs.of[i], &fs.files);
    }
  }
  if (rc == ERR_IO)
    return error_set(err, ERR_IO, "cannot write the scheduling files");
  if (rc < 0)
    return rc;
  st.files = fs.files;
  if (opt->stats != NULL)
    *opt->stats = st;
  return 0;
}
