/* bedboard.c -- the bed-board projection (bedboard.h).
 *
 * Design: a hash table of episodes; each episode keeps its events as
 * compact records sorted by (occurred_at, seq, arrival) and a derived state
 * computed by replay() from those records alone (two passes: cancels pick
 * their targets, then the state machine in step()). Applying an event
 * (1) takes the episode off its wards' lists using the old state, (2)
 * removes its old cube contribution, (3) inserts the record and replays,
 * (4) adds the new contribution and (5) puts the episode on its wards'
 * lists again, marking those wards dirty. Checking an event replays a
 * scratch copy with the record inserted and looks at whether it is void.
 *
 * Wards are the org units of type "ward" and "ed" (the units that may have
 * beds), in depth-first order, so a subtree's wards are an index range.
 * Each ward keeps the episodes placed on it (present) and its waiting list
 * (pending admits/transfers, ED boarding), with counters kept alongside.
 *
 * Publication: bedboard_publish renders each dirty ward to two immutable
 * reference-counted JSON fragments (with and without person-level rows)
 * and swaps in a new snapshot that shares the unchanged wards' fragments
 * with the previous one. The snapshot pointer is guarded by a mutex held
 * only for a pointer copy and a reference increment; reference counts are
 * C11 atomics, so readers never wait for rendering.
 *
 * Invariants: bedboard.h 1-4; besides, every record array is sorted, and an
 * episode's stored membership (m_present, m_wait) is the one its state
 * implies.
 *
 * Thread safety: mutators and the board's own data belong to the writer;
 * snapshots may be used from any thread. */
#include "bedboard.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "mem.h"
#include "suppress.h"

#define PCLASS_MAX 8 /* patient class bytes kept, incl. NUL */
#define FRAGMENT_MAX (256u * 1024 * 1024) /* one ward's JSON */

/* ------------------------------------------------------------- records */

enum { R_CANCELLED = 1, R_VOID = 2 };

/* Why a record is void. */
enum why {
  WHY_OK,
  WHY_NOT_ADMITTED, /* the episode has no admission (none, or cancelled) */
  WHY_WAITING,      /* pending admission only, not placed */
  WHY_CLOSED,
  WHY_NOTHING,   /* a cancel without anything to cancel */
  WHY_BED,       /* a bed change to a bed the ward does not have */
  WHY_ELSEWHERE, /* ED registration of an episode placed elsewhere */
};

struct rec {
  int64_t t;
  int64_t seq;
  uint64_t arrival;
  int64_t expected_discharge, ready_since, cancels_time;
  char *key; /* "channel\x1fsource_key", or NULL without a source key */
  uint32_t flags;
  int32_t unit; /* org unit index, -1 when none */
  int16_t age_band;
  char sex;
  uint8_t kind;
  uint8_t mark; /* R_* (derived) */
  uint8_t why;  /* enum why (derived) */
  char bed[EVENT_BED_MAX];
  char pclass[PCLASS_MAX];
  char subject[EVENT_PSEUDO_MAX];
};

/* --------------------------------------------------------------- state */

enum status { S_NONE, S_WAITING, S_OPEN, S_CLOSED };
enum pend { P_NONE, P_ADMIT, P_TRANSFER };
enum wkind { W_PENDING_ADMIT = 1, W_PENDING_TRANSFER, W_IN_ED };

struct state {
  uint8_t status;
  int32_t unit; /* org index of the current/last unit, -1 */
  char bed[EVENT_BED_MAX];
  int32_t bed_idx;    /* position in the ward's bed list, -1 */
  int64_t placed_at;  /* in this unit and bed since */
  int64_t unit_since; /* in this unit since */
  int64_t first_at;   /* first placement */
  int64_t ward_at;    /* first placement on a ward (cube), 0 */
  char pclass[PCLASS_MAX];
  bool on_leave;
  int64_t leave_since;
  bool ready;
  int64_t ready_since;
  int64_t expected_discharge;
  bool boarding;
  int64_t boarding_since;
  uint8_t pend;
  int32_t pend_unit;
  char pend_bed[EVENT_BED_MAX];
  int64_t pend_since;
  int64_t closed_at;
  char subject[EVENT_PSEUDO_MAX];
  int16_t age_band;
  char sex;
  uint32_t flags; /* EVENT_F_TURVAKIELTO | EVENT_F_EMERGENCY seen */
  int64_t last_t; /* latest record time */
};

struct items {
  struct cube_item *v;
  size_t n, cap;
};

struct episode {
  struct episode *next; /* hash chain */
  uint64_t hash;
  char id[EVENT_PSEUDO_MAX];
  struct rec *recs;
  size_t n, cap;
  struct state st;
  struct items items; /* the current cube contribution */
  int32_t m_present;  /* board ward index, -1 */
  int32_t m_wait[2];
  uint8_t m_wkind[2];
};

/* ------------------------------------------------------- wards, snapshots */

struct frag {
  atomic_uint refs;
  size_t len;
  char data[];
};

struct wsum {
  int64_t beds, patients, occupied, free, overflow, ready, leave, waiting,
      boarding, expected_today;
};

struct wentry {
  struct episode *ep;
  uint8_t kind;
};

struct ward {
  const struct org_unit *u;
  bool ed;
  const char *hospital;
  struct episode **present;
  size_t npresent, cap_present;
  struct wentry *waiting;
  size_t nwaiting, cap_waiting;
  size_t nready, nleave, nboarding; /* kept with the lists */
  bool dirty;
  /* Last rendered (the board's references): with person-level rows,
   * aggregates, aggregates with small cells suppressed, and the subjects
   * the person-level rows show (one "subject\n" per row). */
  struct frag *full, *agg, *sup, *subj;
  struct wsum sum;
};

struct bedboard_snapshot {
  atomic_uint refs;
  uint64_t version;
  int64_t as_of;
  const struct org *org;
  size_t nwards;
  size_t *org_index;
  bool *is_ed;
  struct frag **full, **agg, **sup, **subj;
  struct wsum *sums;
  /* Per org unit (index): the totals' keys (bits of enum key) that are
   * suppressed (small) or withheld (complementary suppression). */
  size_t nunits;
  uint16_t *tot_sup, *tot_wh;
};

struct bedboard {
  const struct org *org;
  size_t nunits;
  int32_t *ward_of; /* org index -> board ward, -1 */
  struct ward *wards;
  size_t nwards;
  struct episode **buckets;
  size_t nbuckets, nepisodes;
  uint64_t arrival;
  struct cube *cube;
  struct items spare; /* the replaced contribution's buffer, reused */
  int64_t clock;
  int32_t render_day;
  bool rendered;
  uint64_t version;
  size_t *changed; /* board ward indices rendered by the last publish */
  size_t nchanged;
  pthread_mutex_t lock;
  struct bedboard_snapshot *snap;
};

/* ------------------------------------------------------------- helpers */

static uint64_t hash_id(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static const struct org_unit *unit_at(const struct bedboard *bb, int32_t i) {
  return i < 0 ? NULL : org_unit_at(bb->org, (size_t)i);
}

static bool is_ward(const struct bedboard *bb, int32_t unit) {
  return unit >= 0 && cube_tracks(unit_at(bb, unit));
}

static bool is_ed(const struct bedboard *bb, int32_t unit) {
  return unit >= 0 && bb->ward_of[unit] >= 0 && bb->wards[bb->ward_of[unit]].ed;
}

static bool is_cancel(int kind) {
  return kind == EV_ADMIT_CANCELLED || kind == EV_TRANSFER_CANCELLED ||
         kind == EV_DISCHARGE_CANCELLED || kind == EV_LEAVE_START_CANCELLED ||
         kind == EV_LEAVE_END_CANCELLED || kind == EV_PENDING_ADMIT_CANCELLED ||
         kind == EV_PENDING_TRANSFER_CANCELLED;
}

/* Does 'kind' belong to the bed board at all? */
static bool is_episode_kind(int kind) {
  switch (kind) {
  case EV_ADMITTED:
  case EV_TRANSFERRED:
  case EV_DISCHARGED:
  case EV_REGISTERED:
  case EV_UPDATED:
  case EV_LEAVE_STARTED:
  case EV_LEAVE_ENDED:
  case EV_READY_FOR_TRANSFER:
  case EV_PENDING_ADMIT:
  case EV_PENDING_TRANSFER:
  case EV_TO_OUTPATIENT:
    return true;
  default:
    return is_cancel(kind);
  }
}

/* True when a cancel of kind 'c' may target a record of kind 'k'. */
static bool cancels(int c, int k) {
  switch (c) {
  case EV_ADMIT_CANCELLED:
    return k == EV_ADMITTED || k == EV_REGISTERED;
  case EV_TRANSFER_CANCELLED:
    return k == EV_TRANSFERRED;
  case EV_DISCHARGE_CANCELLED:
    return k == EV_DISCHARGED || k == EV_TO_OUTPATIENT;
  case EV_LEAVE_START_CANCELLED:
    return k == EV_LEAVE_STARTED;
  case EV_LEAVE_END_CANCELLED:
    return k == EV_LEAVE_ENDED;
  case EV_PENDING_ADMIT_CANCELLED:
    return k == EV_PENDING_ADMIT;
  case EV_PENDING_TRANSFER_CANCELLED:
    return k == EV_PENDING_TRANSFER;
  default:
    return false;
  }
}

/* Sort order of records; seq 0 (not yet stored) sorts after stored ones. */
static int rec_cmp(const struct rec *a, const struct rec *b) {
  int64_t sa = a->seq == 0 ? INT64_MAX : a->seq;
  int64_t sb = b->seq == 0 ? INT64_MAX : b->seq;
  if (a->t != b->t)
    return a->t < b->t ? -1 : 1;
  if (sa != sb)
    return sa < sb ? -1 : 1;
  if (a->arrival != b->arrival)
    return a->arrival < b->arrival ? -1 : 1;
  return 0;
}

/* Where 'r' goes in the sorted 'recs' (searching from the end: events
 * mostly arrive in order). */
static size_t insert_pos(const struct rec *recs, size_t n,
                         const struct rec *r) {
  size_t i = n;
  while (i > 0 && rec_cmp(&recs[i - 1], r) > 0)
    i--;
  return i;
}

static int32_t bed_index(const struct org_unit *u, const char *bed) {
  if (u == NULL || bed[0] == '\0')
    return -1;
  for (size_t i = 0; i < u->nbeds; i++)
    if (strcmp(u->beds[i], bed) == 0)
      return (int32_t)i;
  return -1;
}

/* --------------------------------------------------------------- replay */

struct rctx {
  const struct bedboard *bb;
  struct state *st;
  struct items *items; /* NULL: contributions not wanted */
  bool seg_open;       /* on a ward since seg_start */
  int64_t seg_start;
  int64_t ready_floor; /* a new readiness cannot start before this */
};

static void emit(struct rctx *rc, enum cube_item_kind kind, int32_t unit,
                 int64_t start, int64_t end, int32_t los) {
  struct items *v = rc->items;
  struct cube_item *it;
  if (v == NULL)
    return;
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 8;
    v->v = mem_realloc(v->v, v->cap * sizeof *v->v);
  }
  it = &v->v[v->n++];
  it->kind = kind;
  it->unit = (size_t)unit;
  it->start = start;
  it->end = end;
  it->los_days = los;
}

static void end_ready(struct rctx *rc, int64_t t) {
  struct state *st = rc->st;
  if (!st->ready)
    return;
  if (is_ward(rc->bb, st->unit))
    emit(rc, CUBE_READY, st->unit, st->ready_since, t, 0);
  st->ready = false;
  st->ready_since = 0;
  rc->ready_floor = t;
}

/* The patient leaves the current unit at 't' (a move, or a discharge). */
static void leave_unit(struct rctx *rc, int64_t t, bool move) {
  struct state *st = rc->st;
  end_ready(rc, t);
  if (rc->seg_open) {
    emit(rc, CUBE_STAY, st->unit, rc->seg_start, t, 0);
    if (move)
      emit(rc, CUBE_TRANSFER_OUT, st->unit, t, 0, 0);
    rc->seg_open = false;
  }
  st->on_leave = false;
  st->leave_since = 0;
}

static void set_bed(struct rctx *rc, const char *bed) {
  struct state *st = rc->st;
  copy_str(st->bed, sizeof st->bed, bed);
  st->bed_idx = bed_index(unit_at(rc->bb, st->unit), bed);
}

/* Places the patient on 'unit'/'bed' at 't' (admission, registration,
 * transfer). */
static void place(struct rctx *rc, int32_t unit, const char *bed, int64_t t) {
  struct state *st = rc->st;
  if (st->status == S_OPEN && st->unit == unit) {
    if (bed[0] != '\0' && strcmp(bed, st->bed) != 0) {
      set_bed(rc, bed);
      st->placed_at = t;
    }
  } else {
    if (st->status == S_OPEN) {
      leave_unit(rc, t, true);
      st->expected_discharge = 0;
    }
    st->unit = unit;
    set_bed(rc, bed);
    st->placed_at = t;
    st->unit_since = t;
    rc->ready_floor = t;
    if (st->first_at == 0)
      st->first_at = t;
    if (is_ward(rc->bb, unit)) {
      rc->seg_open = true;
      rc->seg_start = t;
      if (st->ward_at == 0) {
        st->ward_at = t;
        emit(rc, CUBE_ADMISSION, unit, t, 0, 0);
      } else {
        emit(rc, CUBE_TRANSFER_IN, unit, t, 0, 0);
      }
    }
  }
  /* A placement on the awaited unit completes a pending admit or transfer;
   * a pending admit is also fulfilled by an admission to another ward (an
   * overflow placement: the plan changed). */
  if ((st->pend != P_NONE && st->pend_unit == unit) ||
      (st->pend == P_ADMIT && is_ward(rc->bb, unit)))
    st->pend = P_NONE;
}

static enum why not_open(const struct state *st) {
  switch (st->status) {
  case S_WAITING:
    return WHY_WAITING;
  case S_CLOSED:
    return WHY_CLOSED;
  default:
    return WHY_NOT_ADMITTED;
  }
}

static void take_common(struct state *st, const struct rec *r) {
  if (r->pclass[0] != '\0' &&
      (r->kind == EV_ADMITTED || r->kind == EV_REGISTERED ||
       r->kind == EV_TRANSFERRED || r->kind == EV_UPDATED))
    copy_str(st->pclass, sizeof st->pclass, r->pclass);
  if (r->expected_discharge != 0 &&
      (r->kind == EV_ADMITTED || r->kind == EV_TRANSFERRED ||
       r->kind == EV_UPDATED))
    st->expected_discharge = r->expected_discharge;
  if (r->subject[0] != '\0')
    copy_str(st->subject, sizeof st->subject, r->subject);
  if (r->age_band >= 0)
    st->age_band = r->age_band;
  if (r->sex == 'M' || r->sex == 'F')
    st->sex = r->sex;
  st->flags |= r->flags & (EVENT_F_TURVAKIELTO | EVENT_F_EMERGENCY);
}

/* Applies one record to the state; WHY_OK or why it is void (the state is
 * then unchanged). */
static enum why step(struct rctx *rc, const struct rec *r) {
  struct state *st = rc->st;
  bool boarding;
  switch (r->kind) {
  case EV_ADMITTED:
  case EV_REGISTERED:
    if (st->status == S_CLOSED)
      return WHY_CLOSED;
    if (r->kind == EV_REGISTERED && st->status == S_OPEN && st->unit != r->unit)
      return WHY_ELSEWHERE;
    place(rc, r->unit, r->bed, r->t);
    st->status = S_OPEN;
    break;
  case EV_TRANSFERRED:
    if (st->status != S_OPEN)
      return not_open(st);
    place(rc, r->unit, r->bed, r->t);
    break;
  case EV_DISCHARGED:
  case EV_TO_OUTPATIENT: {
    bool ward = rc->seg_open;
    int32_t unit = st->unit;
    if (st->status != S_OPEN)
      return not_open(st);
    leave_unit(rc, r->t, false);
    if (ward)
      emit(rc, CUBE_DISCHARGE, unit, r->t, 0,
           chrono_local_date(r->t) - chrono_local_date(st->ward_at));
    st->status = S_CLOSED;
    st->closed_at = r->t;
    st->pend = P_NONE;
    break;
  }
  case EV_UPDATED:
    if (st->status != S_OPEN && st->status != S_WAITING)
      return not_open(st);
    if (r->bed[0] != '\0' && st->status == S_OPEN &&
        (r->unit < 0 || r->unit == st->unit) && strcmp(r->bed, st->bed) != 0) {
      const struct org_unit *u = unit_at(rc->bb, st->unit);
      if (u->nbeds > 0 && !org_unit_has_bed(u, r->bed, strlen(r->bed)))
        return WHY_BED;
      set_bed(rc, r->bed);
      st->placed_at = r->t;
    }
    break;
  case EV_LEAVE_STARTED:
    if (st->status != S_OPEN)
      return not_open(st);
    if (!st->on_leave) {
      st->on_leave = true;
      st->leave_since = r->t;
    }
    break;
  case EV_LEAVE_ENDED:
    if (st->status != S_OPEN)
      return not_open(st);
    st->on_leave = false;
    st->leave_since = 0;
    break;
  case EV_READY_FOR_TRANSFER:
    if (st->status != S_OPEN)
      return not_open(st);
    if (r->flags & EVENT_F_READY_CLEARED) {
      end_ready(rc, r->t);
    } else if (!st->ready) {
      int64_t since = r->ready_since != 0 ? r->ready_since : r->t;
      if (since > r->t)
        since = r->t;
      if (since < rc->ready_floor)
        since = rc->ready_floor;
      st->ready = true;
      st->ready_since = since;
    }
    break;
  case EV_PENDING_ADMIT:
    if (st->status == S_CLOSED)
      return WHY_CLOSED;
    if (st->status == S_NONE)
      st->status = S_WAITING;
    st->pend = P_ADMIT;
    st->pend_unit = r->unit;
    copy_str(st->pend_bed, sizeof st->pend_bed, r->bed);
    st->pend_since = r->t;
    break;
  case EV_PENDING_TRANSFER:
    if (st->status != S_OPEN)
      return not_open(st);
    st->pend = P_TRANSFER;
    st->pend_unit = r->unit;
    copy_str(st->pend_bed, sizeof st->pend_bed, r->bed);
    st->pend_since = r->t;
    break;
  default:
    return WHY_OK;
  }
  take_common(st, r);
  boarding =
      st->status == S_OPEN && is_ed(rc->bb, st->unit) && st->pclass[0] == 'I';
  if (boarding && !st->boarding)
    st->boarding_since = r->t;
  if (!boarding)
    st->boarding_since = 0;
  st->boarding = boarding;
  return WHY_OK;
}

static void state_init(struct state *st) {
  memset(st, 0, sizeof *st);
  st->status = S_NONE;
  st->unit = -1;
  st->bed_idx = -1;
  st->pend_unit = -1;
  st->age_band = -1;
  st->sex = 'U';
}

/* Derives the state (and, when 'items' is not NULL, the cube contribution)
 * from the sorted records, writing each record's mark and why. */
static void replay(const struct bedboard *bb, struct rec *recs, size_t n,
                   struct state *st, struct items *items) {
  struct rctx rc;
  state_init(st);
  if (items != NULL)
    items->n = 0;
  /* Pass 1: cancels pick their targets. */
  for (size_t i = 0; i < n; i++) {
    recs[i].mark = 0;
    recs[i].why = WHY_OK;
  }
  for (size_t i = 0; i < n; i++) {
    struct rec *c = &recs[i];
    long best = -1;
    if (!is_cancel(c->kind))
      continue;
    if (c->cancels_time != 0) {
      for (size_t j = 0; j < n; j++)
        if (cancels(c->kind, recs[j].kind) && recs[j].t == c->cancels_time &&
            !(recs[j].mark & R_CANCELLED))
          best = (long)j;
    } else {
      for (size_t j = i; j-- > 0;)
        if (cancels(c->kind, recs[j].kind) && !(recs[j].mark & R_CANCELLED)) {
          best = (long)j;
          break;
        }
    }
    if (best < 0) {
      c->mark |= R_VOID;
      c->why = WHY_NOTHING;
    } else {
      recs[best].mark |= R_CANCELLED;
    }
  }
  /* Pass 2: the state machine over what is left. */
  memset(&rc, 0, sizeof rc);
  rc.bb = bb;
  rc.st = st;
  rc.items = items;
  for (size_t i = 0; i < n; i++) {
    struct rec *r = &recs[i];
    enum why w;
    if (r->t > st->last_t || i == 0)
      st->last_t = r->t;
    if ((r->mark & R_CANCELLED) || is_cancel(r->kind))
      continue;
    w = step(&rc, r);
    if (w != WHY_OK) {
      r->mark |= R_VOID;
      r->why = (uint8_t)w;
    }
  }
  if (st->status == S_OPEN) {
    if (st->ready && is_ward(bb, st->unit))
      emit(&rc, CUBE_READY, st->unit, st->ready_since, CUBE_OPEN, 0);
    if (rc.seg_open)
      emit(&rc, CUBE_STAY, st->unit, rc.seg_start, CUBE_OPEN, 0);
  }
}

/* ----------------------------------------------------------- membership */

struct memb {
  int32_t present;
  int32_t wait[2];
  uint8_t wkind[2];
};

static void memberships(const struct bedboard *bb, const struct state *st,
                        struct memb *m) {
  int n = 0;
  m->present = -1;
  m->wait[0] = m->wait[1] = -1;
  m->wkind[0] = m->wkind[1] = 0;
  if (st->status == S_OPEN && st->unit >= 0)
    m->present = bb->ward_of[st->unit];
  if (st->pend != P_NONE && (st->status == S_OPEN || st->status == S_WAITING) &&
      st->pend_unit >= 0 && bb->ward_of[st->pend_unit] >= 0) {
    m->wait[n] = bb->ward_of[st->pend_unit];
    m->wkind[n] = st->pend == P_ADMIT ? W_PENDING_ADMIT : W_PENDING_TRANSFER;
    n++;
  }
  if (st->boarding && m->present >= 0) {
    m->wait[n] = m->present;
    m->wkind[n] = W_IN_ED;
  }
}

static void ward_remove(struct bedboard *bb, struct episode *ep) {
  if (ep->m_present >= 0) {
    struct ward *w = &bb->wards[ep->m_present];
    for (size_t i = 0; i < w->npresent; i++) {
      if (w->present[i] != ep)
        continue;
      w->present[i] = w->present[--w->npresent];
      break;
    }
    if (ep->st.ready)
      w->nready--;
    if (ep->st.on_leave)
      w->nleave--;
    w->dirty = true;
  }
  for (int k = 0; k < 2; k++) {
    struct ward *w;
    if (ep->m_wait[k] < 0)
      continue;
    w = &bb->wards[ep->m_wait[k]];
    for (size_t i = 0; i < w->nwaiting; i++) {
      if (w->waiting[i].ep != ep || w->waiting[i].kind != ep->m_wkind[k])
        continue;
      w->waiting[i] = w->waiting[--w->nwaiting];
      break;
    }
    if (ep->m_wkind[k] == W_IN_ED)
      w->nboarding--;
    w->dirty = true;
  }
  ep->m_present = ep->m_wait[0] = ep->m_wait[1] = -1;
}

static void ward_add(struct bedboard *bb, struct episode *ep) {
  struct memb m;
  memberships(bb, &ep->st, &m);
  ep->m_present = m.present;
  if (m.present >= 0) {
    struct ward *w = &bb->wards[m.present];
    if (w->npresent == w->cap_present) {
      w->cap_present = w->cap_present ? w->cap_present * 2 : 16;
      w->present = mem_realloc(w->present, w->cap_present * sizeof *w->present);
    }
    w->present[w->npresent++] = ep;
    if (ep->st.ready)
      w->nready++;
    if (ep->st.on_leave)
      w->nleave++;
    w->dirty = true;
  }
  for (int k = 0; k < 2; k++) {
    struct ward *w;
    ep->m_wait[k] = m.wait[k];
    ep->m_wkind[k] = m.wkind[k];
    if (m.wait[k] < 0)
      continue;
    w = &bb->wards[m.wait[k]];
    if (w->nwaiting == w->cap_waiting) {
      w->cap_waiting = w->cap_waiting ? w->cap_waiting * 2 : 8;
      w->waiting = mem_realloc(w->waiting, w->cap_waiting * sizeof *w->waiting);
    }
    w->waiting[w->nwaiting].ep = ep;
    w->waiting[w->nwaiting].kind = m.wkind[k];
    w->nwaiting++;
    if (m.wkind[k] == W_IN_ED)
      w->nboarding++;
    w->dirty = true;
  }
}

/* ------------------------------------------------------------ episodes */

static struct episode *find(const struct bedboard *bb, const char *id) {
  uint64_t h = hash_id(id);
  for (struct episode *e = bb->buckets[h & (bb->nbuckets - 1)]; e != NULL;
       e = e->next)
    if (e->hash == h && strcmp(e->id, id) == 0)
      return e;
  return NULL;
}

static void rehash(struct bedboard *bb) {
  size_t n = bb->nbuckets * 2;
  struct episode **b = mem_calloc(n, sizeof *b);
  for (size_t i = 0; i < bb->nbuckets; i++) {
    struct episode *e = bb->buckets[i];
    while (e != NULL) {
      struct episode *next = e->next;
      e->next = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
      e = next;
    }
  }
  mem_free(bb->buckets);
  bb->buckets = b;
  bb->nbuckets = n;
}

static struct episode *create(struct bedboard *bb, const char *id) {
  struct episode *e = mem_calloc(1, sizeof *e);
  if (bb->nepisodes >= bb->nbuckets)
    rehash(bb);
  copy_str(e->id, sizeof e->id, id);
  e->hash = hash_id(e->id);
  state_init(&e->st);
  e->m_present = e->m_wait[0] = e->m_wait[1] = -1;
  e->next = bb->buckets[e->hash & (bb->nbuckets - 1)];
  bb->buckets[e->hash & (bb->nbuckets - 1)] = e;
  bb->nepisodes++;
  return e;
}

static void episode_free(struct episode *e) {
  if (e == NULL)
    return;
  for (size_t i = 0; i < e->n; i++)
    mem_free(e->recs[i].key);
  mem_free(e->recs);
  mem_free(e->items.v);
  mem_free(e);
}

/* ------------------------------------------------------- check / apply */

enum verdict { V_APPLY, V_NOOP };

static const char *why_text(enum why w) {
  switch (w) {
  case WHY_NOT_ADMITTED:
    return "the episode has no admission";
  case WHY_WAITING:
    return "the episode is waiting for a bed, not placed";
  case WHY_CLOSED:
    return "the episode is closed";
  case WHY_NOTHING:
    return "nothing to cancel";
  case WHY_BED:
    return "the bed is not on the patient's ward";
  case WHY_ELSEWHERE:
    return "the episode is placed on another unit";
  default:
    return "ok";
  }
}

static bool same_key(const struct rec *r, const struct event *ev) {
  size_t cl = strlen(ev->channel);
  return r->key != NULL && r->kind == (uint8_t)ev->kind &&
         strncmp(r->key, ev->channel, cl) == 0 && r->key[cl] == '\x1f' &&
         strcmp(r->key + cl + 1, ev->source_key) == 0;
}

static bool needs_unit(int kind) {
  return kind == EV_ADMITTED || kind == EV_REGISTERED ||
         kind == EV_TRANSFERRED || kind == EV_PENDING_ADMIT ||
         kind == EV_PENDING_TRANSFER;
}

static bool opens(int kind) {
  return kind == EV_ADMITTED || kind == EV_REGISTERED ||
         kind == EV_PENDING_ADMIT;
}

/* Everything that can be said about 'ev' without replaying: fills the
 * record (without key), finds the episode, detects duplicates and events
 * the board ignores. */
static int prepare(const struct bedboard *bb, const struct event *ev,
                   struct rec *r, struct episode **epp, enum verdict *v,
                   struct error *err) {
  const char *kname = event_kind_name(ev->kind);
  const struct org_unit *u = NULL;
  struct episode *ep;
  *v = V_APPLY;
  *epp = NULL;
  if (ev->kind == EV_NONE || (int)ev->kind < 0 || ev->kind >= EV__COUNT)
    return error_set(err, ERR_INVAL, "cannot apply event: unknown kind %d",
                     (int)ev->kind);
  if (!is_episode_kind(ev->kind)) {
    *v = V_NOOP;
    return 0;
  }
  if (ev->episode[0] == '\0')
    return error_set(err, ERR_STATE, "cannot apply %s: no episode id", kname);
  if (ev->occurred_at < CHRONO_MS_MIN + CHRONO_MS_PER_DAY ||
      ev->occurred_at > CHRONO_MS_MAX - CHRONO_MS_PER_DAY)
    return error_set(err, ERR_STATE, "cannot apply %s: time out of range",
                     kname);
  if (bb->clock != 0 && ev->kind != EV_PENDING_ADMIT &&
      ev->kind != EV_PENDING_TRANSFER &&
      ev->occurred_at > bb->clock + BEDBOARD_FUTURE_MS)
    return error_set(err, ERR_STATE,
                     "cannot apply %s: time is more than 24 h in the future",
                     kname);
  if (ev->unit[0] != '\0') {
    u = org_unit_find(bb->org, ev->unit);
    if (u == NULL)
      return error_set(err, ERR_STATE, "cannot apply %s: unknown unit '%.64s'",
                       kname, ev->unit);
  }
  if (needs_unit(ev->kind)) {
    if (u == NULL)
      return error_set(err, ERR_STATE, "cannot apply %s: no unit", kname);
    if (ev->kind == EV_REGISTERED && !is_ed(bb, (int32_t)u->index)) {
      *v = V_NOOP; /* outpatient registration: not on the bed board */
      return 0;
    }
    if (bb->ward_of[u->index] < 0)
      return error_set(err, ERR_STATE,
                       "cannot apply %s: unit '%.64s' is not a ward", kname,
                       u->id);
  }
  if (ev->attrs.bed[0] != '\0' && u != NULL && bb->ward_of[u->index] >= 0 &&
      u->nbeds > 0 &&
      !org_unit_has_bed(u, ev->attrs.bed, strlen(ev->attrs.bed)))
    return error_set(err, ERR_STATE,
                     "cannot apply %s: bed '%.24s' is not on ward '%.64s'",
                     kname, ev->attrs.bed, u->id);

  memset(r, 0, sizeof *r);
  r->t = ev->occurred_at;
  r->seq = ev->seq;
  r->arrival = bb->arrival + 1;
  r->expected_discharge = ev->attrs.expected_discharge;
  r->ready_since = ev->attrs.ready_since;
  r->cancels_time = ev->attrs.cancels_time;
  r->flags = ev->attrs.flags;
  r->unit = u != NULL ? (int32_t)u->index : -1;
  r->age_band = ev->attrs.age_band;
  r->sex = ev->attrs.sex;
  r->kind = (uint8_t)ev->kind;
  copy_str(r->bed, sizeof r->bed, ev->attrs.bed);
  copy_str(r->pclass, sizeof r->pclass, ev->attrs.patient_class);
  copy_str(r->subject, sizeof r->subject, ev->subject);

  ep = find(bb, ev->episode);
  if (ep != NULL) {
    for (size_t i = 0; i < ep->n; i++) {
      const struct rec *o = &ep->recs[i];
      if ((ev->seq != 0 && o->seq == ev->seq) ||
          (ev->source_key[0] != '\0' && same_key(o, ev))) {
        *v = V_NOOP; /* a duplicate */
        return 0;
      }
    }
    if (ep->n >= BEDBOARD_MAX_EPISODE_EVENTS)
      return error_set(err, ERR_STATE,
                       "cannot apply %s: the episode has %d events already",
                       kname, BEDBOARD_MAX_EPISODE_EVENTS);
  } else if (!opens(ev->kind) && ev->kind != EV_READY_FOR_TRANSFER) {
    if (u != NULL && bb->ward_of[u->index] < 0 &&
        !is_ed(bb, (int32_t)u->index)) {
      *v = V_NOOP; /* an outpatient visit (e.g. a health station's A03): its
                      registration was never on the board either */
      return 0;
    }
    return error_set(err, ERR_STATE, "cannot apply %s: unknown episode", kname);
  }
  *epp = ep;
  return 0;
}

/* Replays a scratch copy of 'ep' with 'r' inserted: 0 when 'r' would take
 * effect (or is a lenient kind), else ERR_STATE with the reason. */
static int simulate(const struct bedboard *bb, const struct episode *ep,
                    const struct rec *r, struct error *err) {
  size_t n = ep != NULL ? ep->n : 0;
  struct rec *tmp = mem_alloc((n + 1) * sizeof *tmp);
  struct state st;
  size_t pos = ep != NULL ? insert_pos(ep->recs, n, r) : 0;
  int rc = 0;
  if (pos > 0)
    memcpy(tmp, ep->recs, pos * sizeof *tmp);
  tmp[pos] = *r;
  if (n > pos)
    memcpy(tmp + pos + 1, ep->recs + pos, (n - pos) * sizeof *tmp);
  replay(bb, tmp, n + 1, &st, NULL);
  if ((tmp[pos].mark & R_VOID) && r->kind != EV_READY_FOR_TRANSFER)
    rc = error_set(err, ERR_STATE, "cannot apply %s: %s",
                   event_kind_name((enum event_kind)r->kind),
                   why_text((enum why)tmp[pos].why));
  mem_free(tmp);
  return rc;
}

int bedboard_check(const struct bedboard *bb, const struct event *ev,
                   struct error *err) {
  struct rec r;
  struct episode *ep;
  enum verdict v;
  int rc = prepare(bb, ev, &r, &ep, &v, err);
  if (rc < 0 || v == V_NOOP)
    return rc;
  return simulate(bb, ep, &r, err);
}

int bedboard_apply(struct bedboard *bb, const struct event *ev,
                   struct error *err) {
  struct rec r;
  struct episode *ep;
  enum verdict v;
  size_t pos;
  struct items old;
  int rc = prepare(bb, ev, &r, &ep, &v, err);
  if (rc < 0 || v == V_NOOP)
    return rc;
  rc = simulate(bb, ep, &r, err);
  if (rc < 0)
    return rc;
  if (ep == NULL)
    ep = create(bb, ev->episode);
  if (ev->source_key[0] != '\0') {
    size_t cl = strlen(ev->channel), kl = strlen(ev->source_key);
    r.key = mem_alloc(cl + kl + 2);
    memcpy(r.key, ev->channel, cl);
    r.key[cl] = '\x1f';
    memcpy(r.key + cl + 1, ev->source_key, kl + 1);
  }
  bb->arrival++;
  ward_remove(bb, ep);
  /* The old contribution stays in 'old' until the cube has replaced it. */
  old = ep->items;
  ep->items = bb->spare;
  ep->items.n = 0;
  if (ep->n == ep->cap) {
    ep->cap = ep->cap ? ep->cap * 2 : 8;
    ep->recs = mem_realloc(ep->recs, ep->cap * sizeof *ep->recs);
  }
  pos = insert_pos(ep->recs, ep->n, &r);
  memmove(ep->recs + pos + 1, ep->recs + pos, (ep->n - pos) * sizeof r);
  ep->recs[pos] = r;
  ep->n++;
  replay(bb, ep->recs, ep->n, &ep->st, &ep->items);
  cube_replace(bb->cube, old.v, old.n, ep->items.v, ep->items.n);
  bb->spare = old;
  ward_add(bb, ep);
  return 0;
}

/* ---------------------------------------------------------- lifecycle */

static void frag_release(struct frag *f) {
  if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
    mem_free(f);
}

static struct frag *frag_ref(struct frag *f) {
  atomic_fetch_add(&f->refs, 1);
  return f;
}

static void snap_free(struct bedboard_snapshot *s) {
  for (size_t i = 0; i < s->nwards; i++) {
    frag_release(s->full[i]);
    frag_release(s->agg[i]);
    frag_release(s->sup[i]);
    frag_release(s->subj[i]);
  }
  mem_free(s->org_index);
  mem_free(s->is_ed);
  mem_free(s->full);
  mem_free(s->agg);
  mem_free(s->sup);
  mem_free(s->subj);
  mem_free(s->sums);
  mem_free(s->tot_sup);
  mem_free(s->tot_wh);
  mem_free(s);
}

void bedboard_snapshot_release(struct bedboard_snapshot *snap) {
  if (snap != NULL && atomic_fetch_sub(&snap->refs, 1) == 1)
    snap_free(snap);
}

/* The nearest "hospital" ancestor's id, else the parent's. */
static const char *hospital_of(const struct org *org,
                               const struct org_unit *u) {
  const struct org_unit *p = u;
  while (p->parent_index >= 0) {
    p = org_unit_at(org, (size_t)p->parent_index);
    if (p->type != NULL && strcmp(p->type, "hospital") == 0)
      return p->id;
  }
  return u->parent;
}

static size_t publish(struct bedboard *bb, int64_t as_of, bool force);

struct bedboard *bedboard_new_days(const struct org *org, int32_t cube_days) {
  struct bedboard *bb = mem_calloc(1, sizeof *bb);
  size_t n = org_unit_count(org);
  bb->org = org;
  bb->nunits = n;
  bb->ward_of = mem_alloc((n ? n : 1) * sizeof *bb->ward_of);
  bb->wards = mem_calloc(n ? n : 1, sizeof *bb->wards);
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    bool ward = u->type != NULL && strcmp(u->type, "ward") == 0;
    bool ed = u->type != NULL && strcmp(u->type, "ed") == 0;
    bb->ward_of[i] = -1;
    if (!ward && !ed)
      continue;
    bb->ward_of[i] = (int32_t)bb->nwards;
    bb->wards[bb->nwards].u = u;
    bb->wards[bb->nwards].ed = ed;
    bb->wards[bb->nwards].hospital = hospital_of(org, u);
    bb->nwards++;
  }
  bb->nbuckets = 64;
  bb->buckets = mem_calloc(bb->nbuckets, sizeof *bb->buckets);
  bb->cube = cube_new(org, cube_days);
  pthread_mutex_init(&bb->lock, NULL);
  publish(bb, 0, true);
  bb->version = 0;
  bb->snap->version = 0;
  return bb;
}

struct bedboard *bedboard_new(const struct org *org) {
  return bedboard_new_days(org, CUBE_DEFAULT_DAYS);
}

void bedboard_free(struct bedboard *bb) {
  if (bb == NULL)
    return;
  mem_free(bb->changed);
  for (size_t i = 0; i < bb->nbuckets; i++) {
    struct episode *e = bb->buckets[i];
    while (e != NULL) {
      struct episode *next = e->next;
      episode_free(e);
      e = next;
    }
  }
  for (size_t i = 0; i < bb->nwards; i++) {
    mem_free(bb->wards[i].present);
    mem_free(bb->wards[i].waiting);
    frag_release(bb->wards[i].full);
    frag_release(bb->wards[i].agg);
    frag_release(bb->wards[i].sup);
    frag_release(bb->wards[i].subj);
  }
  bedboard_snapshot_release(bb->snap);
  pthread_mutex_destroy(&bb->lock);
  cube_free(bb->cube);
  mem_free(bb->spare.v);
  mem_free(bb->buckets);
  mem_free(bb->wards);
  mem_free(bb->ward_of);
  mem_free(bb);
}

const struct cube *bedboard_cube(const struct bedboard *bb) { return bb->cube; }

int bedboard_set_flow_listener(struct bedboard *bb, cube_listener_fn fn,
                               void *ctx) {
  return cube_set_listener(bb->cube, fn, ctx);
}

void bedboard_flow_horizon(struct bedboard *bb, int32_t day) {
  cube_set_horizon(bb->cube, day);
}

void bedboard_set_now(struct bedboard *bb, int64_t now_ms) {
  if (now_ms > bb->clock)
    bb->clock = now_ms;
}

size_t bedboard_prune(struct bedboard *bb, int64_t before) {
  size_t gone = 0;
  for (size_t i = 0; i < bb->nbuckets; i++) {
    struct episode **pp = &bb->buckets[i];
    while (*pp != NULL) {
      struct episode *e = *pp;
      if ((e->st.status == S_CLOSED || e->st.status == S_NONE) &&
          e->st.last_t < before && ALWAYS(e->m_present < 0)) {
        *pp = e->next;
        episode_free(e);
        bb->nepisodes--;
        gone++;
      } else {
        pp = &e->next;
      }
    }
  }
  return gone;
}

int bedboard_episode(const struct bedboard *bb, const char *episode,
                     struct bedboard_episode *out) {
  const struct episode *e = find(bb, episode);
  const struct state *st;
  struct bedboard_episode o;
  if (e == NULL)
    return ERR_NOTFOUND;
  st = &e->st;
  memset(&o, 0, sizeof o);
  o.status = st->status == S_WAITING  ? BEDBOARD_WAITING
             : st->status == S_OPEN   ? BEDBOARD_OPEN
             : st->status == S_CLOSED ? BEDBOARD_CLOSED
                                      : BEDBOARD_NONE;
  o.unit = st->unit >= 0 ? unit_at(bb, st->unit)->id : NULL;
  o.bed = st->bed;
  o.subject = st->subject;
  o.admitted_at = st->ward_at != 0 ? st->ward_at : st->first_at;
  o.closed_at = st->status == S_CLOSED ? st->closed_at : 0;
  o.on_leave = st->on_leave;
  o.ready = st->ready;
  o.ready_since = st->ready ? st->ready_since : 0;
  o.expected_discharge = st->expected_discharge;
  o.boarding = st->boarding;
  if (st->pend != P_NONE && (st->status == S_OPEN || st->status == S_WAITING)) {
    o.pending = st->pend == P_ADMIT ? BEDBOARD_PENDING_ADMIT
                                    : BEDBOARD_PENDING_TRANSFER;
    o.pending_unit = unit_at(bb, st->pend_unit)->id;
  }
  o.nevents = e->n;
  *out = o;
  return 0;
}

/* ------------------------------------------------------------ rendering */

static int put_time(struct buf *b, int64_t ms) {
  char iso[32];
  if (ms == 0)
    return buf_puts(b, "null");
  chrono_format_iso(ms, iso);
  return buf_printf(b, "\"%s\"", iso);
}

static int put_kv_str(struct buf *b, const char *key, const char *s) {
  int rc = buf_printf(b, ",\"%s\":", key);
  if (rc == 0)
    rc = cube_json_string(b, s);
  return rc;
}

static int put_kv_time(struct buf *b, const char *key, int64_t ms) {
  int rc = buf_printf(b, ",\"%s\":", key);
  if (rc == 0)
    rc = put_time(b, ms);
  return rc;
}

static int put_pct(struct buf *b, int64_t num, int64_t den) {
  if (den <= 0)
    return buf_puts(b, "null");
  return buf_printf(b, "%.1f", 100.0 * (double)num / (double)den);
}

static int put_person(struct buf *b, const struct episode *ep) {
  int rc = buf_puts(b, "{\"episode\":");
  if (rc == 0)
    rc = cube_json_string(b, ep->id);
  if (rc == 0)
    rc = put_kv_str(b, "subject", ep->st.subject);
  if (rc == 0)
    rc = ep->st.age_band >= 0
             ? buf_printf(b, ",\"age_band\":%d", (int)ep->st.age_band)
             : buf_puts(b, ",\"age_band\":null");
  if (rc == 0)
    rc = buf_printf(b, ",\"sex\":\"%c\"",
                    ep->st.sex == 'M' || ep->st.sex == 'F' ? ep->st.sex : 'U');
  return rc;
}

/* Sort order of the patients on a ward: configured bed order, other bed
 * ids, no bed; then who came first. */
static int present_cmp(const void *pa, const void *pb) {
  const struct episode *a = *(struct episode *const *)pa;
  const struct episode *b = *(struct episode *const *)pb;
  int64_t ka = a->st.bed_idx >= 0 ? a->st.bed_idx
               : a->st.bed[0]     ? INT32_MAX - 1
                                  : INT32_MAX;
  int64_t kb = b->st.bed_idx >= 0 ? b->st.bed_idx
               : b->st.bed[0]     ? INT32_MAX - 1
                                  : INT32_MAX;
  int c;
  if (ka != kb)
    return ka < kb ? -1 : 1;
  c = strcmp(a->st.bed, b->st.bed);
  if (c != 0)
    return c;
  if (a->st.placed_at != b->st.placed_at)
    return a->st.placed_at < b->st.placed_at ? -1 : 1;
  return strcmp(a->id, b->id);
}

static int64_t wentry_since(const struct wentry *w) {
  return w->kind == W_IN_ED ? w->ep->st.boarding_since : w->ep->st.pend_since;
}

static int wentry_cmp(const void *pa, const void *pb) {
  const struct wentry *a = pa, *b = pb;
  int64_t sa = wentry_since(a), sb = wentry_since(b);
  if (sa != sb)
    return sa < sb ? -1 : 1;
  if (a->kind != b->kind)
    return a->kind < b->kind ? -1 : 1;
  return strcmp(a->ep->id, b->ep->id);
}

/* Marks bed conflicts in 'v' (sorted with present_cmp): a patient whose bed
 * the one before already claims, unless the ward shares beds. */
static void mark_conflicts(const struct ward *w, struct episode *const *v,
                           size_t n, bool *conflict) {
  for (size_t i = 0; i < n; i++)
    conflict[i] = !w->u->shared_beds && i > 0 && v[i]->st.bed[0] != '\0' &&
                  strcmp(v[i]->st.bed, v[i - 1]->st.bed) == 0;
}

/* Sorts the ward's present list and marks bed conflicts ('conflict' has
 * npresent entries). */
static void sort_present(const struct ward *w, bool *conflict) {
  if (w->npresent > 1)
    qsort(w->present, w->npresent, sizeof *w->present, present_cmp);
  mark_conflicts(w, w->present, w->npresent, conflict);
}

static void ward_sum(const struct ward *w, int32_t today, struct wsum *s) {
  memset(s, 0, sizeof *s);
  s->beds = (int64_t)w->u->nbeds;
  s->patients = (int64_t)w->npresent;
  s->occupied = s->patients < s->beds ? s->patients : s->beds;
  s->free = s->beds - s->occupied;
  s->overflow = s->patients - s->occupied;
  s->ready = (int64_t)w->nready;
  s->leave = (int64_t)w->nleave;
  s->waiting = (int64_t)w->nwaiting;
  s->boarding = (int64_t)w->nboarding;
  for (size_t i = 0; i < w->npresent; i++) {
    int64_t edd = w->present[i]->st.expected_discharge;
    if (edd != 0 && chrono_local_date(edd) == today)
      s->expected_today++;
  }
}

/* ---------------------------------------------- small-cell suppression */

/* How a ward (or the totals) is rendered. */
enum mode {
  M_FULL, /* counts and person-level rows */
  M_AGG,  /* exact counts */
  M_SUP   /* counts with small cells suppressed (suppress.h) */
};

/* The keys suppression covers, in the order they are listed. The counts
 * are the suppressed cells. occupied = min(patient_count, beds) follows
 * patient_count: suppressed with it (it is then 1..4 too), shown with it
 * (it is then at least 5, or the ward's configured beds). free, overflow
 * and occupancy_pct are derived from patient_count and withheld with it. */
enum key {
  K_PATIENTS,
  K_OCCUPIED,
  K_FREE,
  K_OVERFLOW,
  K_PCT,
  K_READY,
  K_LEAVE,
  K_EXPECTED,
  K_BOARDING,
  K_WAITING,
  K_ED,
  K__N
};

#define BIT(k) (1u << (k))
#define DERIVED_KEYS (BIT(K_FREE) | BIT(K_OVERFLOW) | BIT(K_PCT))
/* Not decided on their own value. */
#define FOLLOWING_KEYS (DERIVED_KEYS | BIT(K_OCCUPIED))

static const char *const key_name[K__N] = {
    "patient_count", "occupied",
    "free",          "overflow",
    "occupancy_pct", "awaiting_transfer",
    "on_leave",      "expected_discharges_today",
    "boarding",      "waiting_count",
    "ed_patients",
};

/* The derived keys that 'hidden' (counts) takes with it. */
static unsigned derived_of(unsigned hidden) {
  return (hidden & BIT(K_PATIENTS)) ? DERIVED_KEYS : 0u;
}

/* occupied follows patient_count. */
static unsigned with_occupied(unsigned bits) {
  return (bits & BIT(K_PATIENTS)) ? bits | BIT(K_OCCUPIED) : bits;
}

/* ,"key":v or ,"key":null when its bit is in 'hide'. */
static int put_count(struct buf *b, enum key k, int64_t v, unsigned hide) {
  if (hide & BIT(k))
    return buf_printf(b, ",\"%s\":null", key_name[k]);
  return buf_printf(b, ",\"%s\":%" PRId64, key_name[k], v);
}

static int put_pct_or_null(struct buf *b, int64_t num, int64_t den,
                           unsigned hide) {
  int rc = buf_puts(b, ",\"occupancy_pct\":");
  if (rc == 0)
    rc = (hide & BIT(K_PCT)) ? buf_puts(b, "null") : put_pct(b, num, den);
  return rc;
}

/* ,"suppressed":[..],"withheld":[..] */
static int put_marks(struct buf *b, unsigned sup, unsigned wh) {
  int rc = buf_puts(b, ",\"suppressed\":[");
  bool first = true;
  for (int k = 0; rc == 0 && k < K__N; k++)
    if (sup & BIT(k)) {
      rc = buf_printf(b, "%s\"%s\"", first ? "" : ",", key_name[k]);
      first = false;
    }
  if (rc == 0)
    rc = buf_puts(b, "],\"withheld\":[");
  first = true;
  for (int k = 0; rc == 0 && k < K__N; k++)
    if (wh & BIT(k)) {
      rc = buf_printf(b, "%s\"%s\"", first ? "" : ",", key_name[k]);
      first = false;
    }
  if (rc == 0)
    rc = buf_putc(b, ']');
  return rc;
}

/* The counts of one ward by key (derived keys 0). */
static void ward_counts(const struct wsum *s, int64_t v[K__N]) {
  memset(v, 0, K__N * sizeof *v);
  v[K_PATIENTS] = s->patients;
  v[K_OCCUPIED] = s->occupied;
  v[K_READY] = s->ready;
  v[K_LEAVE] = s->leave;
  v[K_EXPECTED] = s->expected_today;
  v[K_BOARDING] = s->boarding;
  v[K_WAITING] = s->waiting;
}

/* A ward's counts with small cells suppressed. */
static int render_ward_suppressed(const struct wsum *s, struct buf *b) {
  int64_t v[K__N];
  unsigned sup = 0, wh;
  int rc;
  ward_counts(s, v);
  for (int k = 0; k < K__N; k++)
    if (!(FOLLOWING_KEYS & BIT(k)) && suppress_small(v[k]))
      sup |= BIT(k);
  sup = with_occupied(sup);
  wh = derived_of(sup);
  rc = buf_printf(b, ",\"beds\":%" PRId64, s->beds);
  if (rc == 0)
    rc = put_count(b, K_PATIENTS, s->patients, sup);
  if (rc == 0)
    rc = put_count(b, K_OCCUPIED, s->occupied, sup);
  if (rc == 0)
    rc = put_count(b, K_FREE, s->free, wh);
  if (rc == 0)
    rc = put_count(b, K_OVERFLOW, s->overflow, wh);
  if (rc == 0)
    rc = put_pct_or_null(b, s->patients, s->beds, wh);
  if (rc == 0)
    rc = put_count(b, K_READY, s->ready, sup);
  if (rc == 0)
    rc = put_count(b, K_LEAVE, s->leave, sup);
  if (rc == 0)
    rc = put_count(b, K_EXPECTED, s->expected_today, sup);
  if (rc == 0)
    rc = put_count(b, K_BOARDING, s->boarding, sup);
  if (rc == 0)
    rc = put_count(b, K_WAITING, s->waiting, sup);
  if (rc == 0)
    rc = put_marks(b, sup, wh);
  return rc;
}

static int render_ward(const struct bedboard *bb, struct ward *w, int32_t today,
                       enum mode mode, const bool *conflict, struct buf *b) {
  const struct wsum *s = &w->sum;
  const bool with_patients = mode == M_FULL;
  int rc = buf_puts(b, "{\"id\":");
  if (rc == 0)
    rc = cube_json_string(b, w->u->id);
  if (rc == 0)
    rc = buf_printf(
        b, ",\"type\":\"%s\",\"name\":{\"fi\":", w->ed ? "ed" : "ward");
  if (rc == 0)
    rc = cube_json_string(b, w->u->name.fi);
  if (rc == 0)
    rc = put_kv_str(b, "sv", w->u->name.sv);
  if (rc == 0)
    rc = put_kv_str(b, "en", w->u->name.en);
  if (rc == 0)
    rc = buf_puts(b, "}");
  if (rc == 0)
    rc = put_kv_str(b, "hospital", w->hospital);
  if (rc == 0 && mode == M_SUP) {
    rc = render_ward_suppressed(s, b);
    return rc == 0 ? buf_putc(b, '}') : rc;
  }
  if (rc == 0)
    rc = buf_printf(b,
                    ",\"beds\":%" PRId64 ",\"patient_count\":%" PRId64
                    ",\"occupied\":%" PRId64 ",\"free\":%" PRId64
                    ",\"overflow\":%" PRId64 ",\"occupancy_pct\":",
                    s->beds, s->patients, s->occupied, s->free, s->overflow);
  if (rc == 0)
    rc = put_pct(b, s->patients, s->beds);
  if (rc == 0)
    rc = buf_printf(b,
                    ",\"awaiting_transfer\":%" PRId64 ",\"on_leave\":%" PRId64
                    ",\"expected_discharges_today\":%" PRId64
                    ",\"boarding\":%" PRId64 ",\"waiting_count\":%" PRId64,
                    s->ready, s->leave, s->expected_today, s->boarding,
                    s->waiting);
  if (rc == 0 && with_patients) {
    bool first = true;
    rc = buf_puts(b, ",\"patients\":[");
    for (size_t i = 0; rc == 0 && i < w->npresent; i++) {
      const struct episode *e = w->present[i];
      const struct state *st = &e->st;
      int64_t adm = st->ward_at != 0 ? st->ward_at : st->first_at;
      if (st->boarding)
        continue; /* listed as waiting (in_ed) */
      rc = buf_puts(b, first ? "" : ",");
      first = false;
      if (rc == 0)
        rc = put_person(b, e);
      if (rc == 0)
        rc = put_kv_str(b, "bed", st->bed[0] ? st->bed : NULL);
      if (rc == 0)
        rc = buf_printf(b, ",\"bed_conflict\":%s",
                        conflict[i] ? "true" : "false");
      if (rc == 0)
        rc = put_kv_time(b, "admitted_at", adm);
      if (rc == 0)
        rc = put_kv_time(b, "ward_since", st->unit_since);
      if (rc == 0)
        rc = buf_printf(b, ",\"los_days\":%" PRId32,
                        today - chrono_local_date(adm));
      if (rc == 0)
        rc = put_kv_time(b, "expected_discharge", st->expected_discharge);
      if (rc == 0)
        rc = buf_printf(b, ",\"on_leave\":%s,\"ready_for_transfer\":%s",
                        st->on_leave ? "true" : "false",
                        st->ready ? "true" : "false");
      if (rc == 0)
        rc = put_kv_time(b, "ready_since", st->ready ? st->ready_since : 0);
      if (rc == 0)
        rc = put_kv_str(b, "pending_transfer_to",
                        st->pend == P_TRANSFER ? unit_at(bb, st->pend_unit)->id
                                               : NULL);
      if (rc == 0 && (st->flags & EVENT_F_TURVAKIELTO))
        rc = buf_puts(b, ",\"non_disclosure\":true");
      if (rc == 0)
        rc = buf_putc(b, '}');
    }
    if (rc == 0)
      rc = buf_puts(b, "],\"waiting\":[");
    for (size_t i = 0; rc == 0 && i < w->nwaiting; i++) {
      const struct wentry *we = &w->waiting[i];
      const struct state *st = &we->ep->st;
      static const char *const kinds[] = {"", "pending_admit",
                                          "pending_transfer", "in_ed"};
      rc = buf_puts(b, i ? "," : "");
      if (rc == 0)
        rc = put_person(b, we->ep);
      if (rc == 0)
        rc = buf_printf(b, ",\"kind\":\"%s\"", kinds[we->kind]);
      if (rc == 0)
        rc = put_kv_time(b, "since", wentry_since(we));
      if (rc == 0)
        rc =
            put_kv_str(b, "unit_now",
                       st->status == S_OPEN ? unit_at(bb, st->unit)->id : NULL);
      if (rc == 0)
        rc = put_kv_str(b, "bed",
                        we->kind != W_IN_ED && st->pend_bed[0] ? st->pend_bed
                                                               : NULL);
      if (rc == 0)
        rc = buf_putc(b, '}');
    }
    if (rc == 0)
      rc = buf_putc(b, ']');
  }
  if (rc == 0)
    rc = buf_putc(b, '}');
  return rc;
}

static struct frag *frag_of(struct buf *b) {
  struct frag *f = mem_alloc(sizeof *f + b->len + 1);
  atomic_init(&f->refs, 1);
  f->len = b->len;
  memcpy(f->data, buf_str(b), b->len + 1);
  buf_release(b);
  return f;
}

static struct frag *make_frag(const struct bedboard *bb, struct ward *w,
                              int32_t today, enum mode mode,
                              const bool *conflict) {
  struct buf b;
  buf_init(&b, FRAGMENT_MAX);
  if (render_ward(bb, w, today, mode, conflict, &b) < 0) {
    buf_reset(&b);
    if (buf_puts(&b, "{\"id\":") < 0 || cube_json_string(&b, w->u->id) < 0 ||
        buf_puts(&b, ",\"error\":\"too large to render\"}") < 0)
      buf_reset(&b);
  }
  return frag_of(&b);
}

/* The subject of a person row for the audit log: its pseudonym, else its
 * episode's ("episode:" and the id), so that every row shown is traceable. */
static int put_subject_line(struct buf *b, const struct episode *e) {
  if (e->st.subject[0] != '\0')
    return buf_printf(b, "%s\n", e->st.subject);
  return buf_printf(b, "episode:%s\n", e->id);
}

/* One line per person row of the M_FULL rendering, in the same order. */
static struct frag *make_subjects(const struct ward *w) {
  struct buf b;
  int rc = 0;
  buf_init(&b, FRAGMENT_MAX);
  for (size_t i = 0; rc == 0 && i < w->npresent; i++)
    if (!w->present[i]->st.boarding)
      rc = put_subject_line(&b, w->present[i]);
  for (size_t i = 0; rc == 0 && i < w->nwaiting; i++)
    rc = put_subject_line(&b, w->waiting[i].ep);
  if (rc != 0)
    buf_reset(&b); /* the full fragment failed to render too */
  return frag_of(&b);
}

/* Decides, for every org unit and count key, whether the totals of a
 * suppressed rendering for that unit show the count (bedboard.h,
 * "Suppression"). Bottom-up over the tree (children have larger indices):
 * each unit sums its wards' counts (v) and keeps the number (k) and sum (r)
 * of the suppressed ward cells that no shown total below it accounts for.
 * A total is suppressed when small, else withheld when a reader who
 * subtracts the shown cells from it would learn too much about those
 * (suppress_set_safe); a hidden total hands its (k, r) up to its parent.
 * Decisions are made once per snapshot for the whole tree, so every
 * request sees the same ones: no two responses can be differenced. */
static void suppress_totals(struct bedboard_snapshot *s) {
  size_t n = org_unit_count(s->org);
  size_t cells = (n ? n : 1) * K__N;
  int64_t *v = mem_calloc(cells, sizeof *v);
  int64_t *k = mem_calloc(cells, sizeof *k);
  int64_t *r = mem_calloc(cells, sizeof *r);
  s->nunits = n;
  s->tot_sup = mem_calloc(n ? n : 1, sizeof *s->tot_sup);
  s->tot_wh = mem_calloc(n ? n : 1, sizeof *s->tot_wh);
  for (size_t i = 0; i < s->nwards; i++) {
    int64_t c[K__N];
    size_t base = s->org_index[i] * K__N;
    ward_counts(&s->sums[i], c);
    if (s->is_ed[i]) {
      /* An ED counts in the totals' ed_patients, waiting and boarding. */
      c[K_ED] = c[K_PATIENTS];
      c[K_PATIENTS] = c[K_OCCUPIED] = c[K_READY] = c[K_LEAVE] = 0;
      c[K_EXPECTED] = 0;
    }
    for (int key = 0; key < K__N; key++) {
      if (FOLLOWING_KEYS & BIT(key))
        continue;
      v[base + (size_t)key] += c[key];
      if (suppress_small(c[key])) {
        k[base + (size_t)key]++;
        r[base + (size_t)key] += c[key];
      }
    }
  }
  for (size_t i = n; i-- > 0;) {
    const struct org_unit *u = org_unit_at(s->org, i);
    for (int key = 0; key < K__N; key++) {
      size_t at = i * K__N + (size_t)key;
      bool hidden = true;
      if (FOLLOWING_KEYS & BIT(key))
        continue;
      if (suppress_small(v[at]))
        s->tot_sup[i] |= (uint16_t)BIT(key);
      else if (!suppress_set_safe(k[at], r[at]))
        s->tot_wh[i] |= (uint16_t)BIT(key);
      else
        hidden = false;
      if (u->parent_index >= 0) {
        size_t up = (size_t)u->parent_index * K__N + (size_t)key;
        v[up] += v[at];
        if (hidden) {
          k[up] += k[at];
          r[up] += r[at];
        }
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    s->tot_sup[i] = (uint16_t)with_occupied(s->tot_sup[i]);
    s->tot_wh[i] = (uint16_t)with_occupied(s->tot_wh[i]);
  }
  mem_free(v);
  mem_free(k);
  mem_free(r);
}

static size_t publish(struct bedboard *bb, int64_t as_of, bool force) {
  int32_t today = chrono_local_date(as_of);
  bool all = force || !bb->rendered || today != bb->render_day;
  size_t changed = 0;
  struct bedboard_snapshot *s, *old;
  bool *conflict = NULL;
  if (bb->changed == NULL)
    bb->changed = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof(size_t));
  size_t conflict_cap = 0;
  for (size_t i = 0; i < bb->nwards; i++) {
    struct ward *w = &bb->wards[i];
    if (!all && !w->dirty)
      continue;
    if (w->npresent > conflict_cap) {
      conflict_cap = w->npresent;
      conflict = mem_realloc(conflict, conflict_cap * sizeof *conflict);
    }
    sort_present(w, conflict);
    if (w->nwaiting > 1)
      qsort(w->waiting, w->nwaiting, sizeof *w->waiting, wentry_cmp);
    ward_sum(w, today, &w->sum);
    frag_release(w->full);
    frag_release(w->agg);
    frag_release(w->sup);
    frag_release(w->subj);
    w->full = make_frag(bb, w, today, M_FULL, conflict);
    w->agg = make_frag(bb, w, today, M_AGG, conflict);
    w->sup = make_frag(bb, w, today, M_SUP, conflict);
    w->subj = make_subjects(w);
    w->dirty = false;
    bb->changed[changed] = i;
    changed++;
  }
  mem_free(conflict);
  bb->nchanged = changed;
  bb->rendered = true;
  bb->render_day = today;
  bedboard_set_now(bb, as_of);
  if (changed == 0 && bb->snap != NULL)
    return 0;
  s = mem_calloc(1, sizeof *s);
  atomic_init(&s->refs, 1);
  s->version = ++bb->version;
  s->as_of = as_of;
  s->org = bb->org;
  s->nwards = bb->nwards;
  s->org_index = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof(size_t));
  s->is_ed = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof(bool));
  s->full = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof *s->full);
  s->agg = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof *s->agg);
  s->sup = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof *s->sup);
  s->subj = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof *s->subj);
  s->sums = mem_alloc((bb->nwards ? bb->nwards : 1) * sizeof *s->sums);
  for (size_t i = 0; i < bb->nwards; i++) {
    s->org_index[i] = bb->wards[i].u->index;
    s->is_ed[i] = bb->wards[i].ed;
    s->full[i] = frag_ref(bb->wards[i].full);
    s->agg[i] = frag_ref(bb->wards[i].agg);
    s->sup[i] = frag_ref(bb->wards[i].sup);
    s->subj[i] = frag_ref(bb->wards[i].subj);
    s->sums[i] = bb->wards[i].sum;
  }
  suppress_totals(s);
  pthread_mutex_lock(&bb->lock);
  old = bb->snap;
  bb->snap = s;
  pthread_mutex_unlock(&bb->lock);
  bedboard_snapshot_release(old);
  return changed;
}

size_t bedboard_publish(struct bedboard *bb, int64_t as_of) {
  return publish(bb, as_of, false);
}

int bedboard_changed_json(const struct bedboard *bb, struct buf *out) {
  int rc = buf_putc(out, '[');
  for (size_t i = 0; rc == 0 && i < bb->nchanged; i++) {
    if (i > 0)
      rc = buf_putc(out, ',');
    if (rc == 0)
      rc = cube_json_string(out, bb->wards[bb->changed[i]].u->id);
  }
  if (rc == 0)
    rc = buf_putc(out, ']');
  return rc;
}

struct bedboard_snapshot *bedboard_snapshot_get(struct bedboard *bb) {
  struct bedboard_snapshot *s;
  pthread_mutex_lock(&bb->lock);
  s = bb->snap;
  atomic_fetch_add(&s->refs, 1);
  pthread_mutex_unlock(&bb->lock);
  return s;
}

uint64_t bedboard_snapshot_version(const struct bedboard_snapshot *snap) {
  return snap->version;
}

/* The board's ward range [*a, *end) under 'unit' (NULL or "": the root).
 * NULL when the unit is unknown. */
static const struct org_unit *ward_range(const struct bedboard_snapshot *snap,
                                         const char *unit, size_t *first,
                                         size_t *end) {
  const struct org_unit *u;
  size_t a = 0, b = snap->nwards, e;
  if (unit == NULL || unit[0] == '\0')
    u = org_unit_count(snap->org) > 0 ? org_unit_at(snap->org, 0) : NULL;
  else
    u = org_unit_find(snap->org, unit);
  if (u == NULL)
    return NULL;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (snap->org_index[m] < u->index)
      a = m + 1;
    else
      b = m;
  }
  for (e = a;
       e < snap->nwards && snap->org_index[e] < u->index + u->subtree_size; e++)
    ;
  *first = a;
  *end = e;
  return u;
}

/* The totals of a suppressed rendering: counts hidden by the unit's
 * decisions (suppress_totals), derived keys withheld with them. */
static int put_totals_suppressed(const struct bedboard_snapshot *snap,
                                 const struct org_unit *u, const struct wsum *t,
                                 int64_t nwards, int64_t ed_patients,
                                 struct buf *out) {
  unsigned sup = snap->tot_sup[u->index];
  unsigned wh = snap->tot_wh[u->index];
  unsigned hide;
  int rc;
  wh |= derived_of(sup | wh);
  hide = sup | wh;
  rc = buf_printf(out, ",\"totals\":{\"wards\":%" PRId64 ",\"beds\":%" PRId64,
                  nwards, t->beds);
  if (rc == 0)
    rc = put_count(out, K_PATIENTS, t->patients, hide);
  if (rc == 0)
    rc = put_count(out, K_OCCUPIED, t->occupied, hide);
  if (rc == 0)
    rc = put_count(out, K_FREE, t->free, hide);
  if (rc == 0)
    rc = put_count(out, K_OVERFLOW, t->overflow, hide);
  if (rc == 0)
    rc = put_pct_or_null(out, t->patients, t->beds, hide);
  if (rc == 0)
    rc = put_count(out, K_READY, t->ready, hide);
  if (rc == 0)
    rc = put_count(out, K_LEAVE, t->leave, hide);
  if (rc == 0)
    rc = put_count(out, K_EXPECTED, t->expected_today, hide);
  if (rc == 0)
    rc = put_count(out, K_WAITING, t->waiting, hide);
  if (rc == 0)
    rc = put_count(out, K_ED, ed_patients, hide);
  if (rc == 0)
    rc = put_count(out, K_BOARDING, t->boarding, hide);
  if (rc == 0)
    rc = put_marks(out, sup, wh);
  if (rc == 0)
    rc = buf_puts(out, "},\"wards\":[");
  return rc;
}

int bedboard_snapshot_json(const struct bedboard_snapshot *snap,
                           const char *unit, bool with_patients,
                           struct buf *out, struct error *err) {
  return bedboard_snapshot_render(
      snap, unit, with_patients ? BEDBOARD_PERSONS : BEDBOARD_AGGREGATE, out,
      err);
}

int bedboard_snapshot_subjects(const struct bedboard_snapshot *snap,
                               const char *unit, bedboard_subject_fn fn,
                               void *ctx, struct error *err) {
  size_t a, end;
  if (ward_range(snap, unit, &a, &end) == NULL)
    return error_set(err, ERR_NOTFOUND, "unknown unit '%.64s'",
                     unit != NULL ? unit : "");
  for (size_t i = a; i < end; i++) {
    const struct frag *f = snap->subj[i];
    const char *ward = org_unit_at(snap->org, snap->org_index[i])->id;
    const char *p = f->data, *stop = f->data + f->len;
    while (p < stop) {
      const char *nl = memchr(p, '\n', (size_t)(stop - p));
      char subject[EVENT_PSEUDO_MAX + 16];
      size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(stop - p);
      int rc;
      if (n >= sizeof subject)
        n = sizeof subject - 1;
      memcpy(subject, p, n);
      subject[n] = '\0';
      rc = fn(ctx, ward, subject);
      if (rc != 0)
        return rc;
      p = nl != NULL ? nl + 1 : stop;
    }
  }
  return 0;
}

int bedboard_snapshot_render(const struct bedboard_snapshot *snap,
                             const char *unit, enum bedboard_detail detail,
                             struct buf *out, struct error *err) {
  const struct org_unit *u;
  size_t a = 0, end = 0;
  struct wsum t;
  int64_t ed_patients = 0, nwards = 0;
  char iso[32];
  int rc;
  u = ward_range(snap, unit, &a, &end);
  if (u == NULL)
    return error_set(err, ERR_NOTFOUND, "unknown unit '%.64s'",
                     unit != NULL ? unit : "");
  memset(&t, 0, sizeof t);
  for (size_t i = a; i < end; i++) {
    const struct wsum *s = &snap->sums[i];
    t.waiting += s->waiting;
    t.boarding += s->boarding;
    if (snap->is_ed[i]) {
      ed_patients += s->patients;
      continue;
    }
    nwards++;
    t.beds += s->beds;
    t.patients += s->patients;
    t.occupied += s->occupied;
    t.free += s->free;
    t.overflow += s->overflow;
    t.ready += s->ready;
    t.leave += s->leave;
    t.expected_today += s->expected_today;
  }
  chrono_format_iso(snap->as_of, iso);
  rc = buf_printf(out,
                  "{\"as_of\":\"%s\",\"version\":%" PRIu64 ",\"unit\":", iso,
                  snap->version);
  if (rc == 0)
    rc = cube_json_string(out, u->id);
  if (rc == 0 && detail == BEDBOARD_SUPPRESSED)
    rc = put_totals_suppressed(snap, u, &t, nwards, ed_patients, out);
  else if (rc == 0)
    rc = buf_printf(out,
                    ",\"totals\":{\"wards\":%" PRId64 ",\"beds\":%" PRId64
                    ",\"patient_count\":%" PRId64 ",\"occupied\":%" PRId64
                    ",\"free\":%" PRId64 ",\"overflow\":%" PRId64
                    ",\"occupancy_pct\":",
                    nwards, t.beds, t.patients, t.occupied, t.free, t.overflow);
  if (rc == 0 && detail != BEDBOARD_SUPPRESSED)
    rc = put_pct(out, t.patients, t.beds);
  if (rc == 0 && detail != BEDBOARD_SUPPRESSED)
    rc = buf_printf(
        out,
        ",\"awaiting_transfer\":%" PRId64 ",\"on_leave\":%" PRId64
        ",\"expected_discharges_today\":%" PRId64 ",\"waiting_count\":%" PRId64
        ",\"ed_patients\":%" PRId64 ",\"boarding\":%" PRId64 "},\"wards\":[",
        t.ready, t.leave, t.expected_today, t.waiting, ed_patients, t.boarding);
  for (size_t i = a; rc == 0 && i < end; i++) {
    const struct frag *f = detail == BEDBOARD_PERSONS      ? snap->full[i]
                           : detail == BEDBOARD_SUPPRESSED ? snap->sup[i]
                                                           : snap->agg[i];
    if (i > a)
      rc = buf_putc(out, ',');
    if (rc == 0)
      rc = buf_append(out, f->data, f->len);
  }
  if (rc == 0)
    rc = buf_puts(out, "]}");
  if (rc < 0)
    error_set(err, rc, "bed-board JSON exceeds the output cap");
  return rc;
}

/* ----------------------------------------------------- invariants, dump */

static int check_ward(const struct bedboard *bb, size_t wi, struct error *err) {
  const struct ward *w = &bb->wards[wi];
  struct wsum s;
  size_t nready = 0, nleave = 0, nboard = 0;
  struct episode **sorted;
  bool *conflict;
  int rc = 0;
  ward_sum(w, 0, &s);
  if (s.occupied + s.free != s.beds || s.free < 0 || s.overflow < 0 ||
      s.occupied + s.overflow != s.patients)
    return error_set(err, ERR_STATE, "ward '%s': occupied + free != beds",
                     w->u->id);
  for (size_t i = 0; i < w->npresent; i++) {
    const struct episode *e = w->present[i];
    if (e->m_present != (int32_t)wi || e->st.status != S_OPEN ||
        bb->ward_of[e->st.unit] != (int32_t)wi)
      return error_set(err, ERR_STATE,
                       "ward '%s': lists an episode placed elsewhere",
                       w->u->id);
    nready += e->st.ready;
    nleave += e->st.on_leave;
  }
  for (size_t i = 0; i < w->nwaiting; i++) {
    const struct wentry *we = &w->waiting[i];
    bool found = false;
    for (int k = 0; k < 2; k++)
      found = found || (we->ep->m_wait[k] == (int32_t)wi &&
                        we->ep->m_wkind[k] == we->kind);
    if (!found)
      return error_set(err, ERR_STATE,
                       "ward '%s': waiting list holds a stale entry", w->u->id);
    nboard += we->kind == W_IN_ED;
  }
  if (nready != w->nready || nleave != w->nleave || nboard != w->nboarding)
    return error_set(err, ERR_STATE,
                     "ward '%s': counters differ from a recount", w->u->id);
  /* Invariant 3: per bed at most one patient not marked as a conflict
   * (unless the ward shares beds); claimed beds are configured ones. */
  sorted = mem_alloc((w->npresent ? w->npresent : 1) * sizeof *sorted);
  conflict = mem_alloc((w->npresent ? w->npresent : 1) * sizeof *conflict);
  if (w->npresent > 0)
    memcpy(sorted, w->present, w->npresent * sizeof *sorted);
  if (w->npresent > 1)
    qsort(sorted, w->npresent, sizeof *sorted, present_cmp);
  mark_conflicts(w, sorted, w->npresent, conflict);
  for (size_t i = 0; rc == 0 && i < w->npresent; i++) {
    const char *bed = sorted[i]->st.bed;
    size_t holders = 0, j;
    if (bed[0] == '\0' || (i > 0 && strcmp(sorted[i - 1]->st.bed, bed) == 0))
      continue;
    if (w->u->nbeds > 0 && sorted[i]->st.bed_idx < 0)
      rc = error_set(err, ERR_STATE, "ward '%s': bed '%s' is not configured",
                     w->u->id, bed);
    for (j = i; j < w->npresent && strcmp(sorted[j]->st.bed, bed) == 0; j++)
      holders += !conflict[j];
    if (rc == 0 && holders > 1 && !w->u->shared_beds)
      rc = error_set(err, ERR_STATE, "ward '%s': bed '%s' has %zu holders",
                     w->u->id, bed, holders);
  }
  mem_free(sorted);
  mem_free(conflict);
  return rc;
}

static size_t count_in(struct episode *const *v, size_t n,
                       const struct episode *e) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += v[i] == e;
  return c;
}

int bedboard_check_invariants(const struct bedboard *bb, struct error *err) {
  size_t nep = 0;
  int rc;
  for (size_t i = 0; i < bb->nwards; i++)
    if ((rc = check_ward(bb, i, err)) < 0)
      return rc;
  for (size_t b = 0; b < bb->nbuckets; b++) {
    for (const struct episode *e = bb->buckets[b]; e != NULL; e = e->next) {
      struct memb m;
      size_t nwait = 0;
      nep++;
      for (size_t i = 1; i < e->n; i++)
        if (rec_cmp(&e->recs[i - 1], &e->recs[i]) >= 0)
          return error_set(err, ERR_STATE, "an episode's events are unsorted");
      memberships(bb, &e->st, &m);
      if (m.present != e->m_present || m.wait[0] != e->m_wait[0] ||
          m.wait[1] != e->m_wait[1])
        return error_set(err, ERR_STATE,
                         "an episode's lists differ from its state");
      if (e->st.status == S_OPEN &&
          (m.present < 0 || count_in(bb->wards[m.present].present,
                                     bb->wards[m.present].npresent, e) != 1))
        return error_set(err, ERR_STATE,
                         "an open episode is not placed exactly once");
      for (int k = 0; k < 2; k++)
        nwait += m.wait[k] >= 0;
      if (e->st.status == S_WAITING && (m.present >= 0 || nwait != 1))
        return error_set(err, ERR_STATE,
                         "a waiting episode is not on exactly one list");
      if ((e->st.status == S_CLOSED || e->st.status == S_NONE) &&
          (m.present >= 0 || nwait != 0))
        return error_set(err, ERR_STATE, "a closed episode is still listed");
    }
  }
  if (nep != bb->nepisodes)
    return error_set(err, ERR_STATE, "episode count differs from the table");
  return cube_check(bb->cube, err);
}

static int ep_cmp(const void *pa, const void *pb) {
  const struct episode *a = *(struct episode *const *)pa;
  const struct episode *b = *(struct episode *const *)pb;
  return strcmp(a->id, b->id);
}

static const char *unit_id(const struct bedboard *bb, int32_t i) {
  return i >= 0 ? unit_at(bb, i)->id : "-";
}

static int dump_episode(const struct bedboard *bb, const struct episode *e,
                        struct buf *out) {
  static const char *const status[] = {"none", "waiting", "open", "closed"};
  static const char *const pend[] = {"none", "admit", "transfer"};
  const struct state *st = &e->st;
  int rc = buf_printf(
      out,
      "episode %s %s unit=%s bed=%s placed=%" PRId64 " since=%" PRId64
      " first=%" PRId64 " ward=%" PRId64 " class=%s leave=%d@%" PRId64
      " ready=%d@%" PRId64 " edd=%" PRId64 " boarding=%d@%" PRId64
      " pend=%s:%s:%s@%" PRId64 " closed=%" PRId64
      " subject=%s age=%d sex=%c flags=%" PRIu32 "\n",
      e->id, status[st->status], unit_id(bb, st->unit), st->bed, st->placed_at,
      st->unit_since, st->first_at, st->ward_at, st->pclass, st->on_leave,
      st->leave_since, st->ready, st->ready_since, st->expected_discharge,
      st->boarding, st->boarding_since, pend[st->pend],
      unit_id(bb, st->pend_unit), st->pend_bed, st->pend_since, st->closed_at,
      st->subject, (int)st->age_band, st->sex, st->flags);
  for (size_t i = 0; rc == 0 && i < e->n; i++) {
    const struct rec *r = &e->recs[i];
    rc = buf_printf(out, " %" PRId64 " seq=%" PRId64 " %s unit=%s bed=%s %s\n",
                    r->t, r->seq, event_kind_name((enum event_kind)r->kind),
                    unit_id(bb, r->unit), r->bed,
                    (r->mark & R_CANCELLED) ? "cancelled"
                    : (r->mark & R_VOID)    ? why_text((enum why)r->why)
                                            : "ok");
  }
  for (size_t i = 0; rc == 0 && i < e->items.n; i++) {
    const struct cube_item *it = &e->items.v[i];
    rc = buf_printf(out, " item %d %s %" PRId64 " %" PRId64 " %" PRId32 "\n",
                    (int)it->kind, unit_at(bb, (int32_t)it->unit)->id,
                    it->start, it->end, it->los_days);
  }
  return rc;
}

int bedboard_dump(const struct bedboard *bb, struct buf *out) {
  struct episode **all =
      mem_alloc((bb->nepisodes ? bb->nepisodes : 1) * sizeof *all);
  size_t n = 0;
  int rc = buf_puts(out, "bedboard\n");
  for (size_t b = 0; b < bb->nbuckets; b++)
    for (struct episode *e = bb->buckets[b]; e != NULL; e = e->next)
      all[n++] = e;
  if (n > 1)
    qsort(all, n, sizeof *all, ep_cmp);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = dump_episode(bb, all[i], out);
  for (size_t i = 0; rc == 0 && i < bb->nwards; i++) {
    const struct ward *w = &bb->wards[i];
    rc = buf_printf(out,
                    "ward %s present=%zu waiting=%zu ready=%zu leave=%zu "
                    "boarding=%zu\n",
                    w->u->id, w->npresent, w->nwaiting, w->nready, w->nleave,
                    w->nboarding);
  }
  mem_free(all);
  return rc;
}
