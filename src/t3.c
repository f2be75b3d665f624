/* t3.c -- T3, the third next available appointment (t3.h, DOMAIN §1).
 *
 * Design of struct t3_book: the slots live in a record array (freed records
 * are reused through a free list) found by id through an open-addressing
 * hash table (linear probing, deletion by backward shift, load <= 1/2).
 * Counting slots are also kept in two treaps ordered by (start, record):
 * index 0 holds every counting slot with remote slots included, index 1
 * the same without remote slots. Treap priorities come from a per-book
 * counter through splitmix64, so the shape is deterministic and expected
 * O(log n) deep whatever the input. The value at t0 descends to the first
 * slot >= t0 and steps to the nth in order: O(log n + nth).
 *
 * Invariants:
 *  1. a used record is in the hash table exactly once;
 *  2. a record is in index t exactly when in_index[t] is set, and that is
 *     exactly when t3_slot_counts(slot, t == 0) holds;
 *  3. count == the number of used records.
 *
 * Thread safety: see t3.h. */
#include "t3.h"

#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "mem.h"

#define NIL UINT32_MAX
#define NINDEX 2      /* 0: remote counted, 1: remote not counted */
#define STACK_MAX 256 /* treap depth walked without falling back */

static const char *const group_names[T3__GROUPS] = {"physician", "nurse",
                                                    "dentist", "hygienist"};

const char *t3_group_name(enum t3_group g) {
  if ((int)g < 0 || g >= T3__GROUPS)
    return NULL;
  return group_names[g];
}

void t3_opts_default(struct t3_opts *o) {
  o->cap = T3_DEFAULT_CAP;
  o->nth = T3_DEFAULT_NTH;
  o->count_remote = true;
}

static bool opts_ok(const struct t3_opts *o) {
  return o->cap >= 0 && o->cap <= T3_MAX_CAP && o->nth >= 1 &&
         o->nth <= T3_MAX_NTH;
}

bool t3_slot_counts(const struct t3_slot *s, bool count_remote) {
  return s->free && s->bookable && !s->urgent && !s->held &&
         (count_remote || !s->remote);
}

int t3_measure_time(int32_t day, int hour, int minute, int64_t *out) {
  return chrono_from_local(day, hour, minute, 0, out) == 0 ? 0 : ERR_RANGE;
}

static void set_value(int64_t t0, const struct t3_opts *o, bool found,
                      int64_t start, struct t3_value *out) {
  if (found) {
    out->days = chrono_local_date(start) - chrono_local_date(t0);
    out->censored = false;
  } else {
    out->days = o->cap;
    out->censored = true;
  }
}

int t3_professional(const struct t3_slot *slots, size_t n, int64_t t0,
                    const struct t3_opts *opts, struct t3_value *out) {
  struct t3_opts def;
  int64_t best[T3_MAX_NTH]; /* the k smallest counting starts >= t0 */
  int k = 0;
  if (opts == NULL) {
    t3_opts_default(&def);
    opts = &def;
  }
  if ((slots == NULL && n > 0) || !opts_ok(opts))
    return ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    int64_t s = slots[i].start;
    int j;
    if (s < t0 || !t3_slot_counts(&slots[i], opts->count_remote))
      continue;
    if (k == opts->nth && s >= best[k - 1])
      continue;
    j = k < opts->nth ? k++ : k - 1;
    while (j > 0 && best[j - 1] > s) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = s;
  }
  set_value(t0, opts, k == opts->nth, k > 0 ? best[k - 1] : 0, out);
  return 0;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Median and mean of sorted a[0..n). */
static void stat_of(const int32_t *a, size_t n, const char *rule,
                    struct t3_stat *st) {
  int64_t sum = 0;
  st->rule = rule;
  st->n = (int64_t)n;
  st->has_value = n > 0;
  st->median = 0;
  st->mean = 0;
  if (n == 0)
    return;
  for (size_t i = 0; i < n; i++)
    sum += a[i];
  st->mean = (double)sum / (double)n;
  if (n % 2 == 1)
    st->median = a[n / 2];
  else
    st->median = ((double)a[n / 2 - 1] + (double)a[n / 2]) / 2.0;
}

int t3_unit(const struct t3_value *vals, size_t n, struct t3_summary *out) {
  int32_t *all = NULL, *unc;
  size_t nunc = 0;
  int64_t ncens = 0;
  if (vals == NULL && n > 0)
    return ERR_INVAL;
  if (n > T3_MAX_PROFESSIONALS)
    return ERR_TOOBIG;
  for (size_t i = 0; i < n; i++)
    if (vals[i].days < 0)
      return ERR_RANGE;
  all = mem_alloc((n ? n : 1) * 2 * sizeof *all);
  unc = all + (n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    all[i] = vals[i].days;
    if (vals[i].censored)
      ncens++;
    else
      unc[nunc++] = vals[i].days;
  }
  qsort(all, n, sizeof *all, cmp_i32);
  qsort(unc, nunc, sizeof *unc, cmp_i32);
  out->n = (int64_t)n;
  out->censored = ncens;
  stat_of(all, n, T3_RULE_THL, &out->thl);
  stat_of(unc, nunc, T3_RULE_EXCL, &out->excl);
  mem_free(all);
  return 0;
}

/* ------------------------------------------------------------------ book */

struct rec {
  char *id; /* NULL when the record is unused */
  size_t id_len;
  struct t3_slot s;
  uint64_t prio;
  uint32_t l[NINDEX], r[NINDEX];
  bool in_index[NINDEX];
  uint32_t next_free; /* free list link when unused */
};

struct t3_book {
  struct rec *recs;
  uint32_t nrecs, cap; /* records in use or freed / allocated */
  uint32_t free_head;  /* first freed record, NIL when none */
  uint32_t root[NINDEX];
  size_t count;
  uint32_t *table; /* hash slots: record index or NIL */
  size_t tcap;     /* power of two */
  uint64_t seq;
};

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

static uint64_t hash_id(const char *id, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)id[i];
    h *= 0x100000001b3ULL;
  }
  return splitmix64(h);
}

struct t3_book *t3_book_new(void) {
  struct t3_book *b = mem_calloc(1, sizeof *b);
  b->free_head = NIL;
  for (int t = 0; t < NINDEX; t++)
    b->root[t] = NIL;
  b->tcap = 16;
  b->table = mem_alloc(b->tcap * sizeof *b->table);
  for (size_t i = 0; i < b->tcap; i++)
    b->table[i] = NIL;
  return b;
}

void t3_book_free(struct t3_book *b) {
  if (b == NULL)
    return;
  for (uint32_t i = 0; i < b->nrecs; i++)
    mem_free(b->recs[i].id);
  mem_free(b->recs);
  mem_free(b->table);
  mem_free(b);
}

size_t t3_book_count(const struct t3_book *b) { return b->count; }

/* The hash slot holding record 'id', or the empty slot where it would go. */
static size_t find_slot(const struct t3_book *b, const char *id, size_t len) {
  size_t mask = b->tcap - 1;
  size_t i = (size_t)hash_id(id, len) & mask;
  for (;;) {
    uint32_t r = b->table[i];
    if (r == NIL)
      return i;
    if (b->recs[r].id_len == len && memcmp(b->recs[r].id, id, len) == 0)
      return i;
    i = (i + 1) & mask;
  }
}

static uint32_t find_rec(const struct t3_book *b, const char *id, size_t len) {
  if (id == NULL || len == 0 || len >= T3_ID_MAX)
    return NIL;
  return b->table[find_slot(b, id, len)];
}

static void table_grow(struct t3_book *b) {
  size_t ncap = b->tcap * 2;
  uint32_t *old = b->table;
  size_t ocap = b->tcap;
  b->table = mem_alloc(ncap * sizeof *b->table);
  b->tcap = ncap;
  for (size_t i = 0; i < ncap; i++)
    b->table[i] = NIL;
  for (size_t i = 0; i < ocap; i++)
    if (old[i] != NIL) {
      const struct rec *r = &b->recs[old[i]];
      b->table[find_slot(b, r->id, r->id_len)] = old[i];
    }
  mem_free(old);
}

/* Deletes hash slot i by backward shift (linear probing). */
static void table_delete(struct t3_book *b, size_t i) {
  size_t mask = b->tcap - 1;
  size_t j = i;
  b->table[i] = NIL;
  for (;;) {
    size_t home;
    uint32_t r;
    j = (j + 1) & mask;
    r = b->table[j];
    if (r == NIL)
      return;
    home = (size_t)hash_id(b->recs[r].id, b->recs[r].id_len) & mask;
    /* move r back to i when i lies cyclically in [home, j) */
    if ((j > i && (home <= i || home > j)) ||
        (j < i && home <= i && home > j)) {
      b->table[i] = r;
      b->table[j] = NIL;
      i = j;
    }
  }
}

/* (start, index) order. */
static bool less(const struct rec *R, uint32_t a, uint32_t b) {
  if (R[a].s.start != R[b].s.start)
    return R[a].s.start < R[b].s.start;
  return a < b;
}

static uint32_t rot_right(struct rec *R, int t, uint32_t x) {
  uint32_t y = R[x].l[t];
  R[x].l[t] = R[y].r[t];
  R[y].r[t] = x;
  return y;
}

static uint32_t rot_left(struct rec *R, int t, uint32_t x) {
  uint32_t y = R[x].r[t];
  R[x].r[t] = R[y].l[t];
  R[y].l[t] = x;
  return y;
}

static uint32_t tinsert(struct rec *R, int t, uint32_t root, uint32_t x) {
  if (root == NIL) {
    R[x].l[t] = R[x].r[t] = NIL;
    return x;
  }
  if (less(R, x, root)) {
    R[root].l[t] = tinsert(R, t, R[root].l[t], x);
    if (R[R[root].l[t]].prio > R[root].prio)
      root = rot_right(R, t, root);
  } else {
    R[root].r[t] = tinsert(R, t, R[root].r[t], x);
    if (R[R[root].r[t]].prio > R[root].prio)
      root = rot_left(R, t, root);
  }
  return root;
}

static uint32_t tmerge(struct rec *R, int t, uint32_t a, uint32_t b) {
  if (a == NIL)
    return b;
  if (b == NIL)
    return a;
  if (R[a].prio > R[b].prio) {
    R[a].r[t] = tmerge(R, t, R[a].r[t], b);
    return a;
  }
  R[b].l[t] = tmerge(R, t, a, R[b].l[t]);
  return b;
}

static uint32_t terase(struct rec *R, int t, uint32_t root, uint32_t x) {
  if (root == NIL)
    return NIL;
  if (root == x)
    return tmerge(R, t, R[x].l[t], R[x].r[t]);
  if (less(R, x, root))
    R[root].l[t] = terase(R, t, R[root].l[t], x);
  else
    R[root].r[t] = terase(R, t, R[root].r[t], x);
  return root;
}

/* Puts record x into exactly the indexes its slot belongs to. */
static void index_sync(struct t3_book *b, uint32_t x) {
  for (int t = 0; t < NINDEX; t++) {
    bool want = b->recs[x].id != NULL && t3_slot_counts(&b->recs[x].s, t == 0);
    if (want == b->recs[x].in_index[t])
      continue;
    if (want)
      b->root[t] = tinsert(b->recs, t, b->root[t], x);
    else
      b->root[t] = terase(b->recs, t, b->root[t], x);
    b->recs[x].in_index[t] = want;
  }
}

static void index_drop(struct t3_book *b, uint32_t x) {
  for (int t = 0; t < NINDEX; t++)
    if (b->recs[x].in_index[t]) {
      b->root[t] = terase(b->recs, t, b->root[t], x);
      b->recs[x].in_index[t] = false;
    }
}

int t3_book_open(struct t3_book *b, const char *id, size_t id_len,
                 const struct t3_slot *slot) {
  size_t hs;
  uint32_t x;
  struct rec *r;
  if (id == NULL || id_len == 0 || id_len >= T3_ID_MAX ||
      memchr(id, '\0', id_len) != NULL || slot == NULL)
    return ERR_INVAL;
  hs = find_slot(b, id, id_len);
  if (b->table[hs] != NIL)
    return ERR_EXISTS;
  if (b->count >= T3_MAX_BOOK_SLOTS)
    return ERR_TOOBIG;
  if (b->free_head != NIL) {
    x = b->free_head;
    b->free_head = b->recs[x].next_free;
  } else {
    if (b->nrecs == b->cap) {
      b->cap = b->cap ? b->cap * 2 : 16;
      b->recs = mem_realloc(b->recs, b->cap * sizeof *b->recs);
    }
    x = b->nrecs++;
  }
  r = &b->recs[x];
  memset(r, 0, sizeof *r);
  r->id = mem_strndup(id, id_len);
  r->id_len = id_len;
  r->s = *slot;
  r->prio = splitmix64(++b->seq);
  r->next_free = NIL;
  for (int t = 0; t < NINDEX; t++)
    r->l[t] = r->r[t] = NIL;
  b->table[hs] = x;
  b->count++;
  if (b->count * 2 > b->tcap)
    table_grow(b);
  index_sync(b, x);
  return 0;
}

int t3_book_book(struct t3_book *b, const char *id, size_t id_len) {
  uint32_t x = find_rec(b, id, id_len);
  if (x == NIL)
    return ERR_NOTFOUND;
  if (!b->recs[x].s.free)
    return ERR_STATE;
  b->recs[x].s.free = false;
  index_sync(b, x);
  return 0;
}

int t3_book_release(struct t3_book *b, const char *id, size_t id_len) {
  uint32_t x = find_rec(b, id, id_len);
  if (x == NIL)
    return ERR_NOTFOUND;
  if (b->recs[x].s.free)
    return ERR_STATE;
  b->recs[x].s.free = true;
  index_sync(b, x);
  return 0;
}

int t3_book_update(struct t3_book *b, const char *id, size_t id_len,
                   const struct t3_slot *slot) {
  uint32_t x = find_rec(b, id, id_len);
  if (x == NIL)
    return ERR_NOTFOUND;
  if (slot == NULL)
    return ERR_INVAL;
  /* the start is part of the index key: take it out before changing it */
  index_drop(b, x);
  b->recs[x].s = *slot;
  index_sync(b, x);
  return 0;
}

static void remove_rec(struct t3_book *b, uint32_t x) {
  struct rec *r = &b->recs[x];
  index_drop(b, x);
  table_delete(b, find_slot(b, r->id, r->id_len));
  mem_free(r->id);
  r->id = NULL;
  r->next_free = b->free_head;
  b->free_head = x;
  b->count--;
}

int t3_book_remove(struct t3_book *b, const char *id, size_t id_len) {
  uint32_t x = find_rec(b, id, id_len);
  if (x == NIL)
    return ERR_NOTFOUND;
  remove_rec(b, x);
  return 0;
}

int t3_book_get(const struct t3_book *b, const char *id, size_t id_len,
                struct t3_slot *out) {
  uint32_t x = find_rec(b, id, id_len);
  if (x == NIL)
    return ERR_NOTFOUND;
  *out = b->recs[x].s;
  return 0;
}

size_t t3_book_prune(struct t3_book *b, int64_t before) {
  size_t removed = 0;
  for (uint32_t x = 0; x < b->nrecs; x++)
    if (b->recs[x].id != NULL && b->recs[x].s.start < before) {
      remove_rec(b, x);
      removed++;
    }
  return removed;
}

/* The slow path when the treap is deeper than STACK_MAX (never expected):
 * the same answer from a scan of every record. */
static void value_by_scan(const struct t3_book *b, int64_t t0,
                          const struct t3_opts *o, struct t3_value *out) {
  int64_t best[T3_MAX_NTH];
  int k = 0;
  for (uint32_t x = 0; x < b->nrecs; x++) {
    const struct rec *r = &b->recs[x];
    int64_t s = r->s.start;
    int j;
    if (r->id == NULL || s < t0 || !t3_slot_counts(&r->s, o->count_remote))
      continue;
    if (k == o->nth && s >= best[k - 1])
      continue;
    j = k < o->nth ? k++ : k - 1;
    while (j > 0 && best[j - 1] > s) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = s;
  }
  set_value(t0, o, k == o->nth, k > 0 ? best[k - 1] : 0, out);
}

int t3_book_value(const struct t3_book *b, int64_t t0,
                  const struct t3_opts *opts, struct t3_value *out) {
  struct t3_opts def;
  uint32_t stack[STACK_MAX];
  int sp = 0, t, k = 0;
  uint32_t x;
  const struct rec *R = b->recs;
  if (opts == NULL) {
    t3_opts_default(&def);
    opts = &def;
  }
  if (!opts_ok(opts))
    return ERR_INVAL;
  t = opts->count_remote ? 0 : 1;
  /* descend to the first slot >= t0, keeping the nodes to visit next */
  x = b->root[t];
  while (x != NIL) {
    if (R[x].s.start >= t0) {
      if (sp == STACK_MAX)
        goto slow;
      stack[sp++] = x;
      x = R[x].l[t];
    } else {
      x = R[x].r[t];
    }
  }
  while (sp > 0) {
    uint32_t y = stack[--sp];
    if (++k == opts->nth) {
      set_value(t0, opts, true, R[y].s.start, out);
      return 0;
    }
    for (x = R[y].r[t]; x != NIL; x = R[x].l[t]) {
      if (sp == STACK_MAX)
        goto slow;
      stack[sp++] = x;
    }
  }
  set_value(t0, opts, false, 0, out);
  return 0;
slow:
  value_by_scan(b, t0, opts, out);
  return 0;
}
