/* cube.c -- the daily flow cube (cube.h): ward x day counters kept from
 * episode contributions.
 *
 * Design: one slot per ward (org units of type "ward", in the org's
 * depth-first order, so a subtree's wards are a contiguous slot range found
 * by binary search). A slot holds a ring of 'days' day records, indexed by
 * day modulo 'days', covering the window [hi - days + 1, hi]. Stays enter
 * as census differences (+1 on the first midnight counted, -1 on the day
 * after the last one), so an open stay keeps counting without any daily
 * work, and the census of a day is base + the differences up to it. Flow
 * counters (admissions, transfers, discharges, hours, length of stay) are
 * plain per-day counts.
 *
 * Invariants:
 *  1. hi only grows; a day leaves the window exactly once and then its
 *     census differences are folded into the slot's base and its record is
 *     zeroed (so the record is clean when the ring position is reused);
 *  2. census differences for days before the window go to the base; other
 *     counters for such days are dropped (they are outside every query);
 *  3. for a day d > hi nothing was recorded: census(d) = census(hi) and the
 *     flows are 0, which is exact.
 * With 1-3 the state is a function of the set of contributions and of hi.
 *  4. census_total (ready_total) is the sum of every census difference
 *     ever added, i.e. census_base plus the differences in the ring.
 *
 * The listener (cube.h): cube_replace first reduces the old and new items
 * to their net multiset difference (sort, sum the signs of equal items),
 * moves the horizon to the latest day the rest touches (reporting the
 * census totals for the new days), applies the rest while recording the
 * census differences, then sorts and merges those per ward and reports the
 * running sums as day ranges ending at the next changed day or the
 * horizon. So a correction that shortens a stay by a day reports one day,
 * and an update that changes nothing of the flow reports nothing. Flows
 * are reported per item with its net sign.
 *
 * Midnight census (DOMAIN §5): a stay [a, b) is on the ward at the midnight
 * that starts local day d when a <= midnight(d) < b; with local dates only
 * this is local_date(a - 1) < d <= local_date(b - 1).
 *
 * Thread safety: none inside; see cube.h. */
#include "cube.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "mem.h"

struct wday {
  int32_t census_diff, ready_diff;
  int32_t adm, tin, tout, dis;
  int32_t adm_hour[24], dis_hour[24];
  int32_t los[CUBE_LOS_BINS];
  int64_t los_sum;
};

struct slot {
  const struct org_unit *unit;
  size_t org_index;
  int64_t census_base, ready_base;   /* differences of days before the window */
  int64_t census_total, ready_total; /* every difference ever: the census at
                                        the end (after the last change) */
  struct wday *ring;                 /* 'days' records, NULL until touched */
};

struct cube {
  const struct org *org;
  int32_t days;
  bool started; /* false until the first contribution */
  int32_t hi;   /* the latest day in the window */
  int32_t low;  /* the earliest day any record was written (scans start) */
  size_t nslots;
  struct slot *slots; /* in depth-first org order */
  long *slot_of;      /* org index -> slot, or -1 */
  /* The change listener (cube.h) and its horizon. */
  cube_listener_fn listen;
  void *listen_ctx;
  bool has_horizon;
  int32_t horizon;
  bool recording;  /* census_add records into 'dc' */
  struct dchg *dc; /* census differences of one cube_replace */
  size_t ndc, capdc;
  struct net *net; /* the signed items of one cube_replace */
  size_t nnet, capnet;
};

/* One census difference recorded while applying. */
struct dchg {
  size_t slot;
  int32_t day;
  int32_t ready; /* 0 census, 1 ready census */
  int64_t delta;
};

/* An item with its net sign. */
struct net {
  struct cube_item it;
  int64_t sign;
};

bool cube_tracks(const struct org_unit *unit) {
  return unit != NULL && unit->type != NULL && strcmp(unit->type, "ward") == 0;
}

struct cube *cube_new(const struct org *org, int32_t days) {
  struct cube *c = mem_calloc(1, sizeof *c);
  size_t n = org_unit_count(org);
  if (days < CUBE_MIN_DAYS)
    days = CUBE_MIN_DAYS;
  if (days > CUBE_MAX_DAYS)
    days = CUBE_MAX_DAYS;
  c->org = org;
  c->days = days;
  c->slot_of = mem_alloc((n ? n : 1) * sizeof *c->slot_of);
  c->slots = mem_calloc(n ? n : 1, sizeof *c->slots);
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    c->slot_of[i] = -1;
    if (!cube_tracks(u))
      continue;
    c->slot_of[i] = (long)c->nslots;
    c->slots[c->nslots].unit = u;
    c->slots[c->nslots].org_index = i;
    c->nslots++;
  }
  return c;
}

void cube_free(struct cube *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->nslots; i++)
    mem_free(c->slots[i].ring);
  mem_free(c->slots);
  mem_free(c->slot_of);
  mem_free(c->dc);
  mem_free(c->net);
  mem_free(c);
}

/* ------------------------------------------------------------ the window */

static size_t ring_pos(const struct cube *c, int32_t day) {
  int64_t m = (int64_t)day % c->days;
  if (m < 0)
    m += c->days;
  return (size_t)m;
}

static int64_t window_lo(const struct cube *c) {
  return (int64_t)c->hi - c->days + 1;
}

/* The first day a scan of the window must look at: records before 'low'
 * were never written. */
static int64_t scan_lo(const struct cube *c) {
  int64_t lo = window_lo(c);
  return c->low > lo ? c->low : lo;
}

static void fold(struct slot *s, struct wday *w) {
  s->census_base += w->census_diff;
  s->ready_base += w->ready_diff;
  memset(w, 0, sizeof *w);
}

/* Moves the window so that it ends at 'day' if that is later (invariant
 * 1). */
static void advance(struct cube *c, int32_t day) {
  int64_t old_lo, stop;
  if (!c->started) {
    c->started = true;
    c->hi = day;
    c->low = day;
    return;
  }
  if (day <= c->hi)
    return;
  old_lo = window_lo(c);
  stop = (int64_t)day - c->days; /* the last day leaving the window */
  if (stop > c->hi)
    stop = c->hi;
  for (size_t i = 0; i < c->nslots; i++) {
    struct slot *s = &c->slots[i];
    if (s->ring == NULL)
      continue;
    for (int64_t x = old_lo; x <= stop; x++)
      fold(s, &s->ring[ring_pos(c, (int32_t)x)]);
  }
  c->hi = day;
}

/* The record of 'day' for writing, or NULL when the day is before the
 * window. */
static struct wday *wday_for(struct cube *c, struct slot *s, int32_t day) {
  advance(c, day);
  if ((int64_t)day < window_lo(c))
    return NULL;
  if (s->ring == NULL)
    s->ring = mem_calloc((size_t)c->days, sizeof *s->ring);
  if (day < c->low)
    c->low = day;
  return &s->ring[ring_pos(c, day)];
}

static const struct wday *wday_read(const struct cube *c, const struct slot *s,
                                    int32_t day) {
  if (s->ring == NULL || !c->started || day > c->hi ||
      (int64_t)day < window_lo(c))
    return NULL;
  return &s->ring[ring_pos(c, day)];
}

/* ------------------------------------------------------------- applying */

static void census_add(struct cube *c, struct slot *s, int32_t day,
                       int64_t delta, bool ready) {
  struct wday *w = wday_for(c, s, day);
  if (ready)
    s->ready_total += delta;
  else
    s->census_total += delta;
  if (c->recording) {
    if (c->ndc == c->capdc) {
      c->capdc = c->capdc ? c->capdc * 2 : 32;
      c->dc = mem_realloc(c->dc, c->capdc * sizeof *c->dc);
    }
    c->dc[c->ndc++] = (struct dchg){(size_t)(s - c->slots), day, ready, delta};
  }
  if (w == NULL) {
    if (ready)
      s->ready_base += delta;
    else
      s->census_base += delta;
  } else if (ready) {
    w->ready_diff += (int32_t)delta;
  } else {
    w->census_diff += (int32_t)delta;
  }
}

static void apply_interval(struct cube *c, struct slot *s,
                           const struct cube_item *it, int64_t sign,
                           bool ready) {
  int32_t first, last = 0;
  bool open = it->end == CUBE_OPEN;
  first = chrono_local_date(it->start - 1) + 1;
  if (!open) {
    if (it->end <= it->start)
      return;
    last = chrono_local_date(it->end - 1);
    if (first > last)
      return; /* no midnight inside */
  }
  census_add(c, s, first, sign, ready);
  if (!open)
    census_add(c, s, last + 1, -sign, ready);
}

static void apply_point(struct cube *c, struct slot *s,
                        const struct cube_item *it, int64_t sign) {
  struct chrono_local loc;
  struct wday *w;
  int32_t los = it->los_days < 0 ? 0 : it->los_days;
  int32_t d = (int32_t)sign;
  enum cube_figure fig = CUBE_FIG_DISCHARGES;
  chrono_to_local(it->start, &loc);
  w = wday_for(c, s, loc.day);
  switch (it->kind) {
  case CUBE_ADMISSION:
    fig = CUBE_FIG_ADMISSIONS;
    if (w != NULL) {
      w->adm += d;
      w->adm_hour[loc.hour] += d;
    }
    break;
  case CUBE_TRANSFER_IN:
    fig = CUBE_FIG_TRANSFERS_IN;
    if (w != NULL)
      w->tin += d;
    break;
  case CUBE_TRANSFER_OUT:
    fig = CUBE_FIG_TRANSFERS_OUT;
    if (w != NULL)
      w->tout += d;
    break;
  case CUBE_DISCHARGE:
    if (w != NULL) {
      w->dis += d;
      w->dis_hour[loc.hour] += d;
      w->los[los >= CUBE_LOS_BINS - 1 ? CUBE_LOS_BINS - 1 : los] += d;
      w->los_sum += sign * los;
    }
    break;
  default:
    return;
  }
  /* The listener hears of flows before the window too (exact there). */
  if (c->recording) {
    struct cube_change ch = {fig,      s->org_index, loc.day, loc.day,
                             loc.hour, los,          sign};
    c->listen(c->listen_ctx, &ch);
  }
}

static void apply_item(struct cube *c, const struct cube_item *it,
                       int64_t sign) {
  struct slot *s;
  if (!ALWAYS(it->unit < org_unit_count(c->org)) || c->slot_of[it->unit] < 0)
    return;
  s = &c->slots[c->slot_of[it->unit]];
  switch (it->kind) {
  case CUBE_STAY:
    apply_interval(c, s, it, sign, false);
    break;
  case CUBE_READY:
    apply_interval(c, s, it, sign, true);
    break;
  case CUBE_ADMISSION:
  case CUBE_TRANSFER_IN:
  case CUBE_TRANSFER_OUT:
  case CUBE_DISCHARGE:
    apply_point(c, s, it, sign);
    break;
  }
}

/* The latest day applying 'it' writes to (as apply_interval / apply_point
 * would), or false when it writes nothing. */
static bool item_last_day(const struct cube *c, const struct cube_item *it,
                          int32_t *out) {
  int32_t first, last;
  if (!ALWAYS(it->unit < org_unit_count(c->org)) || c->slot_of[it->unit] < 0)
    return false;
  switch (it->kind) {
  case CUBE_STAY:
  case CUBE_READY:
    first = chrono_local_date(it->start - 1) + 1;
    if (it->end == CUBE_OPEN) {
      *out = first;
      return true;
    }
    if (it->end <= it->start)
      return false;
    last = chrono_local_date(it->end - 1);
    if (first > last)
      return false;
    *out = last + 1;
    return true;
  case CUBE_ADMISSION:
  case CUBE_TRANSFER_IN:
  case CUBE_TRANSFER_OUT:
  case CUBE_DISCHARGE:
    *out = chrono_local_date(it->start);
    return true;
  }
  return false;
}

static void report(struct cube *c, enum cube_figure fig, const struct slot *s,
                   int32_t from, int32_t to, int64_t delta) {
  struct cube_change ch = {fig, s->org_index, from, to, 0, 0, delta};
  if (delta != 0 && from <= to)
    c->listen(c->listen_ctx, &ch);
}

/* Moves the horizon to 'day', reporting each ward's census at its end for
 * the new days (every census difference lies at or before the horizon, so
 * that census is the total). */
static void horizon_to(struct cube *c, int32_t day) {
  if (!c->has_horizon) {
    c->has_horizon = true;
    c->horizon = day;
    return;
  }
  if (day <= c->horizon)
    return;
  for (size_t i = 0; c->listen != NULL && i < c->nslots; i++) {
    const struct slot *s = &c->slots[i];
    report(c, CUBE_FIG_CENSUS, s, c->horizon + 1, day, s->census_total);
    report(c, CUBE_FIG_READY, s, c->horizon + 1, day, s->ready_total);
  }
  c->horizon = day;
}

static int cmp_item(const struct cube_item *a, const struct cube_item *b) {
  if (a->kind != b->kind)
    return a->kind < b->kind ? -1 : 1;
  if (a->unit != b->unit)
    return a->unit < b->unit ? -1 : 1;
  if (a->start != b->start)
    return a->start < b->start ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  if (a->los_days != b->los_days)
    return a->los_days < b->los_days ? -1 : 1;
  return 0;
}

static int cmp_net(const void *pa, const void *pb) {
  return cmp_item(&((const struct net *)pa)->it, &((const struct net *)pb)->it);
}

static int cmp_dchg(const void *pa, const void *pb) {
  const struct dchg *a = pa, *b = pb;
  if (a->slot != b->slot)
    return a->slot < b->slot ? -1 : 1;
  if (a->ready != b->ready)
    return a->ready < b->ready ? -1 : 1;
  if (a->day != b->day)
    return a->day < b->day ? -1 : 1;
  return 0;
}

static void net_push(struct cube *c, const struct cube_item *items, size_t n,
                     int64_t sign) {
  for (size_t i = 0; i < n; i++) {
    if (c->nnet == c->capnet) {
      c->capnet = c->capnet ? c->capnet * 2 : 32;
      c->net = mem_realloc(c->net, c->capnet * sizeof *c->net);
    }
    c->net[c->nnet++] = (struct net){items[i], sign};
  }
}

/* Reports the recorded census differences as per-day census changes: for
 * each ward and census kind, the running sum of the merged differences
 * from one changed day to the next (the last run up to the horizon). */
static void report_census(struct cube *c) {
  size_t i = 0;
  if (c->ndc > 1)
    qsort(c->dc, c->ndc, sizeof *c->dc, cmp_dchg);
  while (i < c->ndc) {
    size_t slot = c->dc[i].slot;
    int32_t ready = c->dc[i].ready;
    int64_t run = 0;
    while (i < c->ndc && c->dc[i].slot == slot && c->dc[i].ready == ready) {
      int32_t day = c->dc[i].day, end;
      while (i < c->ndc && c->dc[i].slot == slot && c->dc[i].ready == ready &&
             c->dc[i].day == day)
        run += c->dc[i++].delta;
      end = c->horizon;
      if (i < c->ndc && c->dc[i].slot == slot && c->dc[i].ready == ready)
        end = c->dc[i].day - 1;
      if (end > c->horizon)
        end = c->horizon;
      report(c, ready ? CUBE_FIG_READY : CUBE_FIG_CENSUS, &c->slots[slot], day,
             end, run);
    }
  }
  c->ndc = 0;
}

void cube_replace(struct cube *c, const struct cube_item *old, size_t nold,
                  const struct cube_item *new_items, size_t nnew) {
  size_t n = 0;
  bool any = false;
  int32_t last = INT32_MIN;
  if (c->listen == NULL) {
    for (size_t i = 0; i < nold; i++)
      apply_item(c, &old[i], -1);
    for (size_t i = 0; i < nnew; i++)
      apply_item(c, &new_items[i], +1);
    return;
  }
  /* The net multiset difference: equal items cancel. */
  c->nnet = 0;
  net_push(c, old, nold, -1);
  net_push(c, new_items, nnew, +1);
  if (c->nnet > 1)
    qsort(c->net, c->nnet, sizeof *c->net, cmp_net);
  for (size_t i = 0; i < c->nnet;) {
    struct net cur = c->net[i++];
    int32_t day;
    while (i < c->nnet && cmp_item(&c->net[i].it, &cur.it) == 0)
      cur.sign += c->net[i++].sign;
    if (cur.sign == 0)
      continue;
    c->net[n++] = cur;
    if (item_last_day(c, &cur.it, &day)) {
      last = any && last > day ? last : day;
      any = true;
    }
  }
  c->nnet = n;
  if (!any)
    return;
  /* First the horizon (reported with the census before the change), then
   * the change itself, on days up to the horizon. */
  horizon_to(c, last);
  c->recording = true;
  c->ndc = 0;
  for (size_t i = 0; i < n; i++)
    apply_item(c, &c->net[i].it, c->net[i].sign);
  c->recording = false;
  report_census(c);
}

void cube_apply(struct cube *c, const struct cube_item *items, size_t n,
                int sign) {
  if (sign < 0)
    cube_replace(c, items, n, NULL, 0);
  else
    cube_replace(c, NULL, 0, items, n);
}

int cube_set_listener(struct cube *c, cube_listener_fn fn, void *ctx) {
  if (c->started)
    return ERR_STATE;
  c->listen = fn;
  c->listen_ctx = ctx;
  return 0;
}

void cube_set_horizon(struct cube *c, int32_t day) { horizon_to(c, day); }

int32_t cube_horizon(const struct cube *c) {
  return c->has_horizon ? c->horizon : INT32_MIN;
}

/* -------------------------------------------------------------- queries */

/* The slot range [*lo, *hi) of the wards under 'u'. */
static void subtree_slots(const struct cube *c, const struct org_unit *u,
                          size_t *first, size_t *end) {
  size_t a = 0, b = c->nslots;
  size_t from = u->index, to = u->index + u->subtree_size;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (c->slots[m].org_index < from)
      a = m + 1;
    else
      b = m;
  }
  *first = a;
  b = a;
  while (b < c->nslots && c->slots[b].org_index < to)
    b++;
  *end = b;
}

/* Sums the wards under 'u' over from..to into 'days' (to - from + 1
 * entries, may be NULL) and 'st' (may be NULL). The work per ward is
 * bounded by the window, whatever the range. */
static void gather(const struct cube *c, const struct org_unit *u, int32_t from,
                   int32_t to, struct cube_day *days, struct cube_stats *st) {
  size_t first, end;
  int64_t lo = c->started ? window_lo(c) : INT64_MIN;
  int64_t span = (int64_t)to - from + 1;
  subtree_slots(c, u, &first, &end);
  if (days != NULL) {
    for (int64_t i = 0; i < span; i++) {
      memset(&days[i], 0, sizeof days[i]);
      days[i].known = (int64_t)from + i >= lo;
    }
  }
  if (st != NULL) {
    memset(st, 0, sizeof *st);
    st->from = from;
    st->to = to;
    st->days_known = lo <= from ? span : (lo > to ? 0 : (int64_t)to - lo + 1);
    st->wards = (int64_t)(end - first);
    for (size_t i = first; i < end; i++)
      st->beds += (int64_t)c->slots[i].unit->nbeds;
  }
  if (!c->started)
    return;
  for (size_t i = first; i < end; i++) {
    const struct slot *s = &c->slots[i];
    int64_t census = s->census_base, ready = s->ready_base;
    int64_t d, stop, known_from;
    if (s->ring == NULL && census == 0 && ready == 0)
      continue;
    /* Differences before the range. */
    stop = (int64_t)from - 1 < c->hi ? (int64_t)from - 1 : c->hi;
    for (d = scan_lo(c); d <= stop; d++) {
      const struct wday *w = wday_read(c, s, (int32_t)d);
      if (w != NULL) {
        census += w->census_diff;
        ready += w->ready_diff;
      }
    }
    known_from = from > lo ? from : lo;
    stop = to < c->hi ? to : c->hi;
    for (d = known_from; d <= stop; d++) {
      const struct wday *w = wday_read(c, s, (int32_t)d);
      int wd;
      if (w != NULL) {
        census += w->census_diff;
        ready += w->ready_diff;
      }
      if (days != NULL) {
        struct cube_day *o = &days[d - from];
        o->census += census;
        o->ready += ready;
        if (w != NULL) {
          o->admissions += w->adm;
          o->transfers_in += w->tin;
          o->transfers_out += w->tout;
          o->discharges += w->dis;
        }
      }
      if (st == NULL)
        continue;
      st->care_days += census;
      st->delay_days += ready;
      if (w == NULL)
        continue;
      st->admissions += w->adm;
      st->transfers_in += w->tin;
      st->transfers_out += w->tout;
      st->discharges += w->dis;
      wd = chrono_weekday((int32_t)d) - 1;
      st->admissions_by_weekday[wd] += w->adm;
      st->discharges_by_weekday[wd] += w->dis;
      for (int h = 0; h < 24; h++) {
        st->admissions_by_hour[h] += w->adm_hour[h];
        st->discharges_by_hour[h] += w->dis_hour[h];
      }
      for (int b = 0; b < CUBE_LOS_BINS; b++) {
        st->los[b] += w->los[b];
        st->los_n += w->los[b];
      }
      st->los_sum_days += w->los_sum;
    }
    /* Days after hi: the census stays, nothing else happens (invariant 3). */
    if ((int64_t)to > c->hi) {
      int64_t a = (int64_t)from > c->hi + 1 ? from : c->hi + 1;
      if (days != NULL)
        for (d = a; d <= to; d++) {
          days[d - from].census += census;
          days[d - from].ready += ready;
        }
      if (st != NULL && a <= to) {
        st->care_days += census * ((int64_t)to - a + 1);
        st->delay_days += ready * ((int64_t)to - a + 1);
      }
    }
  }
}

int cube_day_get(const struct cube *c, const struct org_unit *unit, int32_t day,
                 struct cube_day *out) {
  struct cube_day d;
  if (unit == NULL)
    return ERR_INVAL;
  gather(c, unit, day, day, &d, NULL);
  *out = d;
  return 0;
}

int cube_stats_get(const struct cube *c, const struct org_unit *unit,
                   int32_t from, int32_t to, struct cube_stats *out) {
  if (unit == NULL || from > to)
    return ERR_INVAL;
  gather(c, unit, from, to, NULL, out);
  return 0;
}

/* The value at 1-based 'rank' of the histogram. */
static int32_t value_at_rank(const struct cube_stats *st, int64_t rank) {
  int64_t cum = 0;
  for (int32_t b = 0; b < CUBE_LOS_BINS; b++) {
    cum += st->los[b];
    if (cum >= rank)
      return b;
  }
  return CUBE_LOS_BINS - 1;
}

bool cube_los_median(const struct cube_stats *st, double *out, bool *capped) {
  int32_t a, b;
  if (st->los_n <= 0)
    return false;
  if (st->los_n % 2 == 1) {
    a = b = value_at_rank(st, (st->los_n + 1) / 2);
  } else {
    a = value_at_rank(st, st->los_n / 2);
    b = value_at_rank(st, st->los_n / 2 + 1);
  }
  *out = (a + b) / 2.0;
  *capped = b == CUBE_LOS_BINS - 1;
  return true;
}

bool cube_los_p90(const struct cube_stats *st, int32_t *out, bool *capped) {
  int32_t v;
  if (st->los_n <= 0)
    return false;
  v = value_at_rank(st, (9 * st->los_n + 9) / 10);
  *out = v;
  *capped = v == CUBE_LOS_BINS - 1;
  return true;
}

/* ----------------------------------------------------------------- JSON */

/* Length of the valid UTF-8 sequence at 'p' (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  uint32_t cp;
  size_t len;
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    len = 2;
    cp = p[0] & 0x1Fu;
  } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    len = 3;
    cp = p[0] & 0x0Fu;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    len = 4;
    cp = p[0] & 0x07u;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

int cube_json_string(struct buf *out, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n, run = 0;
  int rc;
  if (s == NULL)
    return buf_puts(out, "null");
  n = strlen(s);
  if ((rc = buf_putc(out, '"')) < 0)
    return rc;
  for (size_t i = 0; i < n;) {
    unsigned char ch = p[i];
    size_t len = 1;
    const char *esc = NULL;
    char tmp[8];
    if (ch == '"')
      esc = "\\\"";
    else if (ch == '\\')
      esc = "\\\\";
    else if (ch == '\n')
      esc = "\\n";
    else if (ch == '\r')
      esc = "\\r";
    else if (ch == '\t')
      esc = "\\t";
    else if (ch < 0x20) {
      snprintf(tmp, sizeof tmp, "\\u%04x", ch);
      esc = tmp;
    } else if (ch >= 0x80) {
      len = utf8_len(p + i, n - i);
      if (len == 0) {
        esc = "\\ufffd";
        len = 1;
      }
    }
    if (esc == NULL) {
      run += len;
      i += len;
      continue;
    }
    if ((run > 0 && (rc = buf_append(out, p + i - run, run)) < 0) ||
        (rc = buf_puts(out, esc)) < 0)
      return rc;
    run = 0;
    i += len;
  }
  if (run > 0 && (rc = buf_append(out, p + n - run, run)) < 0)
    return rc;
  return buf_putc(out, '"');
}

static int put_pct(struct buf *out, int64_t num, int64_t den) {
  if (den <= 0)
    return buf_puts(out, "null");
  return buf_printf(out, "%.1f", 100.0 * (double)num / (double)den);
}

static int put_array(struct buf *out, const int64_t *v, size_t n) {
  int rc = buf_putc(out, '[');
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = buf_printf(out, "%s%" PRId64, i ? "," : "", v[i]);
  if (rc == 0)
    rc = buf_putc(out, ']');
  return rc;
}

static int put_day(struct buf *out, int32_t day) {
  char d[11];
  chrono_format_date(day, d);
  return buf_printf(out, "\"%s\"", d);
}

/* {"care_days":N,"days":N,"pct":x} for an occupancy window. */
static int put_occupancy(struct buf *out, const struct cube_stats *st) {
  int rc = buf_printf(
      out, "{\"days\":%" PRId64 ",\"care_days\":%" PRId64 ",\"pct\":",
      st->days_known, st->care_days);
  if (rc == 0)
    rc = put_pct(out, st->care_days, st->beds * st->days_known);
  if (rc == 0)
    rc = buf_putc(out, '}');
  return rc;
}

static int put_los(struct buf *out, const struct cube_stats *st) {
  double med;
  int32_t p90;
  bool cap1 = false, cap2 = false;
  int rc = buf_printf(out, "{\"n\":%" PRId64, st->los_n);
  if (rc == 0 && cube_los_median(st, &med, &cap1) &&
      cube_los_p90(st, &p90, &cap2))
    rc = buf_printf(out,
                    ",\"median\":%.1f,\"p90\":%d,\"mean\":%.2f,"
                    "\"capped\":%s",
                    med, (int)p90, (double)st->los_sum_days / (double)st->los_n,
                    cap1 || cap2 ? "true" : "false");
  else if (rc == 0)
    rc = buf_puts(out, ",\"median\":null,\"p90\":null,\"mean\":null,"
                       "\"capped\":false");
  if (rc == 0)
    rc = buf_printf(out, ",\"cap_days\":%d,\"histogram\":", CUBE_LOS_BINS - 1);
  if (rc == 0) {
    /* Trailing empty bins are left out. */
    size_t n = CUBE_LOS_BINS;
    while (n > 0 && st->los[n - 1] == 0)
      n--;
    rc = put_array(out, st->los, n);
  }
  if (rc == 0)
    rc = buf_putc(out, '}');
  return rc;
}

int cube_flow_json(const struct cube *c, const struct org *org,
                   const char *unit, int32_t today, struct buf *out,
                   struct error *err) {
  const struct org_unit *u;
  struct cube_stats *s30 = NULL, *s7 = NULL;
  struct cube_day *series = NULL;
  int32_t from = today - (CUBE_FLOW_DAYS - 1);
  int rc;
  if (unit == NULL || unit[0] == '\0')
    u = org_unit_count(org) > 0 ? org_unit_at(org, 0) : NULL;
  else
    u = org_unit_find(org, unit);
  if (u == NULL)
    return error_set(err, ERR_NOTFOUND, "unknown unit '%.64s'",
                     unit != NULL ? unit : "");
  s30 = mem_alloc(sizeof *s30);
  s7 = mem_alloc(sizeof *s7);
  series = mem_alloc(CUBE_FLOW_DAYS * sizeof *series);
  gather(c, u, from, today, series, s30);
  gather(c, u, today - 6, today, NULL, s7);

  rc = buf_puts(out, "{\"unit\":");
  if (rc == 0)
    rc = cube_json_string(out, u->id);
  if (rc == 0)
    rc = buf_puts(out, ",\"type\":");
  if (rc == 0)
    rc = cube_json_string(out, u->type);
  if (rc == 0)
    rc = buf_puts(out, ",\"name\":{\"fi\":");
  if (rc == 0)
    rc = cube_json_string(out, u->name.fi);
  if (rc == 0)
    rc = buf_puts(out, ",\"sv\":");
  if (rc == 0)
    rc = cube_json_string(out, u->name.sv);
  if (rc == 0)
    rc = buf_puts(out, ",\"en\":");
  if (rc == 0)
    rc = cube_json_string(out, u->name.en);
  if (rc == 0)
    rc = buf_puts(out, "},\"today\":");
  if (rc == 0)
    rc = put_day(out, today);
  if (rc == 0)
    rc = buf_puts(out, ",\"from\":");
  if (rc == 0)
    rc = put_day(out, from);
  if (rc == 0)
    rc = buf_printf(out, ",\"wards\":%" PRId64 ",\"beds\":%" PRId64, s30->wards,
                    s30->beds);
  /* Occupancy: today's midnight census, and the 7- and 30-day averages. */
  if (rc == 0) {
    const struct cube_day *t = &series[CUBE_FLOW_DAYS - 1];
    if (t->known)
      rc = buf_printf(
          out, ",\"occupancy\":{\"today\":{\"census\":%" PRId64 ",\"pct\":",
          t->census);
    else
      rc = buf_puts(out, ",\"occupancy\":{\"today\":{\"census\":null,\"pct\":");
    if (rc == 0)
      rc =
          t->known ? put_pct(out, t->census, s30->beds) : buf_puts(out, "null");
  }
  if (rc == 0)
    rc = buf_puts(out, "},\"avg7\":");
  if (rc == 0)
    rc = put_occupancy(out, s7);
  if (rc == 0)
    rc = buf_puts(out, ",\"avg30\":");
  if (rc == 0)
    rc = put_occupancy(out, s30);
  if (rc == 0)
    rc = buf_printf(out,
                    "},\"admissions\":%" PRId64 ",\"transfers_in\":%" PRId64
                    ",\"transfers_out\":%" PRId64 ",\"discharges\":%" PRId64
                    ",\"transfer_delay_days\":%" PRId64 ",\"los_days\":",
                    s30->admissions, s30->transfers_in, s30->transfers_out,
                    s30->discharges, s30->delay_days);
  if (rc == 0)
    rc = put_los(out, s30);
  if (rc == 0)
    rc = buf_puts(out, ",\"admissions_by_hour\":");
  if (rc == 0)
    rc = put_array(out, s30->admissions_by_hour, 24);
  if (rc == 0)
    rc = buf_puts(out, ",\"discharges_by_hour\":");
  if (rc == 0)
    rc = put_array(out, s30->discharges_by_hour, 24);
  if (rc == 0)
    rc = buf_puts(out, ",\"admissions_by_weekday\":");
  if (rc == 0)
    rc = put_array(out, s30->admissions_by_weekday, 7);
  if (rc == 0)
    rc = buf_puts(out, ",\"discharges_by_weekday\":");
  if (rc == 0)
    rc = put_array(out, s30->discharges_by_weekday, 7);
  if (rc == 0)
    rc = buf_puts(out, ",\"series\":[");
  for (int i = 0; rc == 0 && i < CUBE_FLOW_DAYS; i++) {
    const struct cube_day *d = &series[i];
    rc = buf_puts(out, i ? ",{\"date\":" : "{\"date\":");
    if (rc == 0)
      rc = put_day(out, from + i);
    if (rc == 0 && !d->known)
      rc = buf_puts(out, ",\"census\":null,\"occupancy_pct\":null,"
                         "\"admissions\":null,\"transfers_in\":null,"
                         "\"transfers_out\":null,\"discharges\":null,"
                         "\"transfer_delay\":null}");
    else if (rc == 0) {
      rc = buf_printf(out,
                      ",\"census\":%" PRId64 ",\"occupancy_pct\":", d->census);
      if (rc == 0)
        rc = put_pct(out, d->census, s30->beds);
      if (rc == 0)
        rc = buf_printf(out,
                        ",\"admissions\":%" PRId64 ",\"transfers_in\":%" PRId64
                        ",\"transfers_out\":%" PRId64 ",\"discharges\":%" PRId64
                        ",\"transfer_delay\":%" PRId64 "}",
                        d->admissions, d->transfers_in, d->transfers_out,
                        d->discharges, d->ready);
    }
  }
  if (rc == 0)
    rc = buf_puts(out, "]}");
  mem_free(s30);
  mem_free(s7);
  mem_free(series);
  if (rc < 0)
    error_set(err, rc, "flow JSON exceeds the output cap");
  return rc;
}

/* ------------------------------------------------------ checks and dumps */

int cube_check(const struct cube *c, struct error *err) {
  if (!c->started)
    return 0;
  for (size_t i = 0; i < c->nslots; i++) {
    const struct slot *s = &c->slots[i];
    int64_t census = s->census_base, ready = s->ready_base;
    if (s->ring != NULL)
      for (int64_t d = scan_lo(c); d <= c->hi; d++) {
        census += wday_read(c, s, (int32_t)d)->census_diff;
        ready += wday_read(c, s, (int32_t)d)->ready_diff;
      }
    if (census != s->census_total || ready != s->ready_total)
      return error_set(err, ERR_STATE,
                       "cube: ward '%s': census total %" PRId64
                       " / ready total %" PRId64 " differ from the days",
                       s->unit->id, s->census_total, s->ready_total);
    census = s->census_base;
    ready = s->ready_base;
    if (census < 0 || ready < 0 || ready > census)
      return error_set(err, ERR_STATE,
                       "cube: ward '%s': base census %" PRId64
                       " / ready %" PRId64 " invalid",
                       s->unit->id, census, ready);
    if (s->ring == NULL)
      continue;
    for (int64_t d = scan_lo(c); d <= c->hi; d++) {
      const struct wday *w = wday_read(c, s, (int32_t)d);
      bool neg = w->adm < 0 || w->tin < 0 || w->tout < 0 || w->dis < 0 ||
                 w->los_sum < 0;
      int64_t hsum = 0, dsum = 0, lsum = 0;
      census += w->census_diff;
      ready += w->ready_diff;
      for (int h = 0; h < 24; h++) {
        neg = neg || w->adm_hour[h] < 0 || w->dis_hour[h] < 0;
        hsum += w->adm_hour[h];
        dsum += w->dis_hour[h];
      }
      for (int b = 0; b < CUBE_LOS_BINS; b++) {
        neg = neg || w->los[b] < 0;
        lsum += w->los[b];
      }
      if (neg || census < 0 || ready < 0 || ready > census || hsum != w->adm ||
          dsum != w->dis || lsum != w->dis) {
        char day[11];
        chrono_format_date((int32_t)d, day);
        return error_set(err, ERR_STATE,
                         "cube: ward '%s' day %s: inconsistent counters",
                         s->unit->id, day);
      }
    }
  }
  return 0;
}

static int dump_hist(struct buf *out, const char *name, const int32_t *v,
                     size_t n) {
  bool any = false;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (v[i] == 0)
      continue;
    rc = buf_printf(out, "%s%zu:%" PRId32, any ? "," : name, i, v[i]);
    any = true;
  }
  return rc;
}

int cube_dump(const struct cube *c, struct buf *out) {
  int rc = buf_printf(out, "cube days=%d\n", (int)c->days);
  if (!c->started)
    return rc;
  for (size_t i = 0; rc == 0 && i < c->nslots; i++) {
    static const struct wday zero;
    const struct slot *s = &c->slots[i];
    bool any = s->census_base != 0 || s->ready_base != 0;
    /* A ward whose counters all returned to zero prints nothing, so a ward
     * touched only by contributions later withdrawn compares equal. */
    for (int64_t d = scan_lo(c); !any && s->ring != NULL && d <= c->hi; d++)
      any = memcmp(wday_read(c, s, (int32_t)d), &zero, sizeof zero) != 0;
    if (!any)
      continue;
    rc = buf_printf(out, "ward %s base=%" PRId64 " ready_base=%" PRId64 "\n",
                    s->unit->id, s->census_base, s->ready_base);
    if (s->ring == NULL)
      continue;
    for (int64_t d = scan_lo(c); rc == 0 && d <= c->hi; d++) {
      const struct wday *w = wday_read(c, s, (int32_t)d);
      char day[11];
      if (memcmp(w, &zero, sizeof zero) == 0)
        continue;
      chrono_format_date((int32_t)d, day);
      rc = buf_printf(out,
                      " %s c%+" PRId32 " r%+" PRId32 " a%" PRId32 " ti%" PRId32
                      " to%" PRId32 " d%" PRId32 " ls%" PRId64,
                      day, w->census_diff, w->ready_diff, w->adm, w->tin,
                      w->tout, w->dis, w->los_sum);
      if (rc == 0)
        rc = dump_hist(out, " ah=", w->adm_hour, 24);
      if (rc == 0)
        rc = dump_hist(out, " dh=", w->dis_hour, 24);
      if (rc == 0)
        rc = dump_hist(out, " los=", w->los, CUBE_LOS_BINS);
      if (rc == 0)
        rc = buf_putc(out, '\n');
    }
  }
  return rc;
}
