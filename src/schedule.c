/* schedule.c -- the scheduling projection: professionals' books and T3.
 *
 * Design: professionals live in an array, found through an open-addressing
 * hash table on their pseudonym (power-of-two size, linear probing, kept at
 * most half full), so an event costs O(1) to find its book plus the book's
 * O(log n). T3 for a unit and group walks the professionals once.
 *
 * Invariants:
 *  1. every professional in 'pros' is in exactly one table slot;
 *  2. a failed schedule_apply changed nothing (all checks come before any
 *     change, and a book refuses atomically).
 *
 * Thread safety: see sched.h. */
#include "schedule.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mem.h"

struct pro {
  char id[EVENT_PSEUDO_MAX];
  char unit[EVENT_ID_MAX];
  int group; /* enum t3_group, or -1 */
  struct t3_book *book;
};

struct schedule {
  struct pro *pros;
  size_t n, cap;
  uint32_t *table; /* index + 1 into pros; 0 = empty */
  size_t tcap;     /* power of two */
};

static const struct {
  const char *code;
  enum t3_group g;
} group_codes[] = {
    {"physician", T3_PHYSICIAN},
    {"laakari", T3_PHYSICIAN},
    {"l\xc3\xa4\xc3\xa4k\xc3\xa4ri", T3_PHYSICIAN},
    {"nurse", T3_NURSE},
    {"hoitaja", T3_NURSE},
    {"sairaanhoitaja", T3_NURSE},
    {"terveydenhoitaja", T3_NURSE},
    {"dentist", T3_DENTIST},
    {"hammaslaakari", T3_DENTIST},
    {"hammasl\xc3\xa4\xc3\xa4k\xc3\xa4ri", T3_DENTIST},
    {"hygienist", T3_HYGIENIST},
    {"suuhygienisti", T3_HYGIENIST},
};

int schedule_group_from_code(const char *code, enum t3_group *out) {
  for (size_t i = 0; i < ARRAY_LEN(group_codes); i++)
    if (strcasecmp(code, group_codes[i].code) == 0) {
      *out = group_codes[i].g;
      return 0;
    }
  return ERR_NOTFOUND;
}

struct schedule *schedule_new(void) {
  struct schedule *s = mem_calloc(1, sizeof *s);
  s->tcap = 64;
  s->table = mem_calloc(s->tcap, sizeof *s->table);
  return s;
}

void schedule_free(struct schedule *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    t3_book_free(s->pros[i].book);
  mem_free(s->pros);
  mem_free(s->table);
  mem_free(s);
}

size_t schedule_professionals(const struct schedule *s) { return s->n; }

static uint64_t hash_id(const char *id) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *id; id++)
    h = (h ^ (unsigned char)*id) * 1099511628211ull;
  return h;
}

/* The table slot holding 'id', or the empty slot where it would go. */
static size_t probe(const struct schedule *s, const char *id) {
  size_t mask = s->tcap - 1, i = (size_t)hash_id(id) & mask;
  while (s->table[i] != 0 && strcmp(s->pros[s->table[i] - 1].id, id) != 0)
    i = (i + 1) & mask;
  return i;
}

static void grow_table(struct schedule *s) {
  size_t old = s->tcap;
  uint32_t *ot = s->table;
  s->tcap *= 2;
  s->table = mem_calloc(s->tcap, sizeof *s->table);
  for (size_t i = 0; i < old; i++)
    if (ot[i] != 0)
      s->table[probe(s, s->pros[ot[i] - 1].id)] = ot[i];
  mem_free(ot);
}

static struct pro *find(const struct schedule *s, const char *id) {
  size_t i = probe(s, id);
  return s->table[i] ? &s->pros[s->table[i] - 1] : NULL;
}

static struct pro *add(struct schedule *s, const char *id) {
  struct pro *p;
  if ((s->n + 1) * 2 > s->tcap)
    grow_table(s);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->pros = mem_realloc(s->pros, s->cap * sizeof *s->pros);
  }
  p = &s->pros[s->n];
  memset(p, 0, sizeof *p);
  memcpy(p->id, id, strlen(id) + 1);
  p->group = -1;
  p->book = t3_book_new();
  s->n++;
  s->table[probe(s, id)] = (uint32_t)s->n;
  return p;
}

static bool is_slot_kind(enum event_kind k) {
  return k == EV_SLOT_OPENED || k == EV_SLOT_BOOKED || k == EV_SLOT_RELEASED ||
         k == EV_SLOT_REMOVED;
}

int schedule_apply(struct schedule *s, const struct event *ev,
                   struct error *err) {
  const char *kname = event_kind_name(ev->kind);
  const struct event_attrs *a = &ev->attrs;
  size_t idlen = strnlen(a->slot, sizeof a->slot);
  struct t3_slot slot, cur;
  struct pro *p;
  bool exists;
  int rc = 0;

  if (!is_slot_kind(ev->kind))
    return 0;
  if (a->professional[0] == '\0')
    return error_set(err, ERR_INVAL, "cannot apply %s: no professional", kname);
  if (idlen == 0)
    return error_set(err, ERR_INVAL, "cannot apply %s: no slot id", kname);
  p = find(s, a->professional);
  if (ev->kind == EV_SLOT_REMOVED) {
    if (p != NULL && t3_book_remove(p->book, a->slot, idlen) == 0)
      return 0;
    return 0; /* unknown: nothing to remove */
  }
  if (ev->unit[0] == '\0' || a->slot_start == 0)
    return error_set(err, ERR_INVAL, "cannot apply %s: no unit or start time",
                     kname);
  exists = p != NULL && t3_book_get(p->book, a->slot, idlen, &cur) == 0;
  memset(&slot, 0, sizeof slot);
  slot.start = a->slot_start;
  slot.bookable = (a->flags & EVENT_F_BOOKABLE) != 0;
  slot.urgent = (a->flags & EVENT_F_URGENT) != 0;
  slot.held = (a->flags & EVENT_F_HELD) != 0;
  slot.remote = (a->flags & EVENT_F_REMOTE) != 0;
  slot.free = ev->kind != EV_SLOT_BOOKED;
  if (p == NULL) {
    if (s->n >= SCHEDULE_MAX_PROFESSIONALS)
      return error_set(err, ERR_TOOBIG,
                       "cannot apply %s: more than %d professionals", kname,
                       SCHEDULE_MAX_PROFESSIONALS);
    p = add(s, a->professional);
  }
  if (exists)
    rc = t3_book_update(p->book, a->slot, idlen, &slot);
  else
    rc = t3_book_open(p->book, a->slot, idlen, &slot);
  if (rc < 0)
    return error_set(err, rc, "cannot apply %s: the book refuses the slot",
                     kname);
  memcpy(p->unit, ev->unit, sizeof p->unit);
  {
    enum t3_group g;
    p->group = schedule_group_from_code(a->prof_group, &g) == 0 ? (int)g : -1;
  }
  return 0;
}

int schedule_t3(const struct schedule *s, const char *unit, enum t3_group g,
                int64_t t0, const struct t3_opts *opts, struct t3_summary *out,
                struct error *err) {
  struct t3_value *vals = NULL;
  size_t n = 0;
  int rc = 0;
  if ((int)g < 0 || g >= T3__GROUPS)
    return error_set(err, ERR_INVAL, "cannot compute t3: unknown group %d",
                     (int)g);
  vals = mem_alloc((s->n ? s->n : 1) * sizeof *vals);
  for (size_t i = 0; i < s->n; i++) {
    const struct pro *p = &s->pros[i];
    if (p->group != (int)g || strcmp(p->unit, unit) != 0)
      continue;
    rc = t3_book_value(p->book, t0, opts, &vals[n]);
    if (rc < 0) {
      error_set(err, rc, "cannot compute t3: bad options");
      goto out;
    }
    n++;
  }
  rc = t3_unit(vals, n, out);
  if (rc < 0)
    error_set(err, rc, "cannot compute t3 over %zu professionals", n);
out:
  mem_free(vals);
  return rc;
}

int schedule_measure(struct schedule *s, int64_t t0, int64_t prune_before,
                     const struct t3_opts *opts, schedule_measure_fn fn,
                     void *ctx) {
  struct t3_opts with, without;
  if (opts != NULL)
    with = *opts;
  else
    t3_opts_default(&with);
  with.count_remote = true;
  without = with;
  without.count_remote = false;
  for (size_t i = 0; i < s->n; i++) {
    struct pro *p = &s->pros[i];
    struct t3_value a, b;
    int rc;
    if (prune_before > 0)
      t3_book_prune(p->book, prune_before < t0 ? prune_before : t0);
    if (p->group < 0 || t3_book_count(p->book) == 0)
      continue;
    if (t3_book_value(p->book, t0, &with, &a) < 0 ||
        t3_book_value(p->book, t0, &without, &b) < 0)
      return ERR_INVAL;
    rc = fn(ctx, p->unit, (enum t3_group)p->group, &a, &b);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static json_t *stat_json(const struct t3_stat *st) {
  json_t *o = json_pack("{s:s,s:I}", "rule", st->rule, "n", (json_int_t)st->n);
  json_object_set_new(o, "median",
                      st->has_value ? json_real(st->median) : json_null());
  json_object_set_new(o, "mean",
                      st->has_value ? json_real(st->mean) : json_null());
  return o;
}

int schedule_t3_json(const struct schedule *s, const char *unit,
                     enum t3_group g, int64_t t0, const struct t3_opts *opts,
                     struct buf *out, struct error *err) {
  struct t3_summary sum;
  json_t *o;
  char *text;
  int rc = schedule_t3(s, unit, g, t0, opts, &sum, err);
  if (rc < 0)
    return rc;
  o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "unit", unit, "group",
                t3_group_name(g), "at", (json_int_t)t0, "n", (json_int_t)sum.n,
                "censored", (json_int_t)sum.censored);
  if (o == NULL)
    return error_set(err, ERR_INVAL, "cannot format t3: unit id is not utf-8");
  json_object_set_new(o, "thl", stat_json(&sum.thl));
  json_object_set_new(o, "excluding_censored", stat_json(&sum.excl));
  text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                           JSON_REAL_PRECISION(10));
  json_decref(o);
  if (text == NULL)
    return error_set(err, ERR_NOMEM, "cannot format t3");
  rc = buf_puts(out, text);
  free(text);
  if (rc < 0)
    return error_set(err, rc, "t3 json longer than the buffer's cap");
  return 0;
}
