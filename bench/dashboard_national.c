/* dashboard_national.c -- the health-station dashboard at national scale:
 * the daily cube beside DuckDB and SQLite over the same raw events.
 *
 * Builds a synthetic national organisation in memory (21 counties, about
 * 100 service areas, about 360 municipalities and 33 x Kanta-Häme's 16
 * health stations = 528 stations) and simulates one year
 * (2024-07-01..2025-06-30) of appointment books: every professional
 * (physicians and nurses) has a book of slots on working days (urgent,
 * remote and ordinary slots), opened a fixed horizon ahead; requests arrive
 * every working day and book the earliest free slot (some patients choose a
 * later one); stations differ in demand against capacity, so T3 ranges
 * from a few days to the 182-day cap. Each booked slot on a day of the year
 * is a completed visit (HTA = the booking day, a first contact 0-3 days
 * before, the age on the HTA date, urgency, care-guarantee exclusions), and
 * each professional's T3 is measured every day at 08:00 from the book
 * (DOMAIN §1.3, with and without remote slots). About 30 million visits at
 * scale 1 (TK_BENCH_SCALE scales the number of stations).
 *
 * Then: the visits and T3 rows are fed to the cube (indicator_feed_visit /
 * indicator_feed_t3, with access_assess deciding each visit's
 * care-guarantee verdict from indicators/care_guarantee.json), written once
 * as CSV, loaded into SQLite (in memory, one transaction, prepared
 * statements, then indexes) and into DuckDB (bench/dashboard_duckdb.mjs,
 * read_csv), and the health-station dashboard for a month is computed for
 * the whole country and for one station: for every panel the unit's value,
 * its 13-month trend and its children's values, and the waiting-time
 * distribution. Every figure from SQLite and DuckDB must equal the cube's
 * (value, n, suppression); a mismatch is printed and the exit status is 1.
 * The SQL derives everything from the raw rows: medians (even n: the mean
 * of the two middle values), shares, counts, and the verdict by the rule in
 * force on the HTA date for the age on it, as a CASE generated from the
 * same timeline.
 *
 *   bench_dashboard_national WORKDIR [DUCKDB_SCRIPT]
 *
 * Last, the product's own path: the same simulation (at
 * TK_BENCH_VIEW_SCALE, default 0.25, with its own directly fed cube) as
 * slot.opened / slot.booked / visit.completed events in time order through
 * dashboard_apply, so T3 is measured daily by the product's schedule from
 * the appointment books; then dashboard_view_json (the whole JSON view of
 * GET /api/v1/dashboards/health-stations) is timed for the country and the
 * station, and its figures from 2024-07 on must equal the directly fed
 * cube's (12 significant digits, as the JSON carries). At scale 1 the
 * event feed needs about 20 GiB and 15 minutes, hence the default (never
 * above TK_BENCH_SCALE).
 *
 * Environment: TK_BENCH_SCALE (1.0), TK_BENCH_REPS (cube repetitions,
 * 2000; the view gets a tenth), TK_BENCH_DUCKDB_REPS (country, 5; the
 * station gets 3x), TK_BENCH_SQLITE_REPS (country, 1; the station gets
 * 10x; 0 skips SQLite), TK_BENCH_VIEW_SCALE (0.25; 0 skips the
 * projection), TK_BENCH_NODE ("node"). Without DUCKDB_SCRIPT the DuckDB
 * side is skipped.
 *
 * Single-threaded apart from the node child process. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "access.h"
#include "buf.h"
#include "chrono.h"
#include "dashboard.h"
#include "err.h"
#include "event.h"
#include "hist.h"
#include "indicator.h"
#include "mem.h"
#include "org.h"
#include "t3.h"

#define KH_STATIONS 16 /* health stations in the built-in Kanta-Häme */
#define NATION_FACTOR 33
#define MAX_COUNTIES 21
#define NO_DAY ACCESS_NO_DATE
#define NEVER_BOOKED 0
#define T3_CAP T3_DEFAULT_CAP
#define TREND 13
#define MAX_KEYS 200000

/* ------------------------------------------------------------ randomness */

static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double unif(uint64_t *s) {
  return (double)(mix(s) >> 11) / 9007199254740992.0;
}

static int irand(uint64_t *s, int n) { return (int)(unif(s) * n); }

static int poisson(uint64_t *s, double lambda) {
  double l = exp(-lambda), p = 1.0;
  int k = 0;
  do {
    k++;
    p *= unif(s);
  } while (p > l);
  return k - 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

/* ------------------------------------------------------------- raw data */

struct visit {
  int32_t vday, hta, contact; /* local days; NO_DAY when none */
  uint16_t station;
  uint8_t grp;   /* 0 physician, 1 nurse */
  uint8_t flags; /* ACCESS_URGENT | ACCESS_CARE_PLAN | ... */
  int8_t age;    /* -1 unknown */
};

struct t3row {
  int32_t day;
  uint16_t station;
  uint8_t grp, censored;
  int16_t days, inp; /* with remote slots; in person only */
};

struct slot {
  int32_t start;     /* local minutes since 1970-01-01 */
  int32_t booked_at; /* local minute of the booking */
  int32_t hta, contact;
  uint8_t urgent, remote, booked, flags;
  int8_t age;
};

struct data {
  struct visit *v;
  size_t nv, capv;
  struct t3row *t;
  size_t nt, capt;
};

struct params {
  int nstations, nmunis, nareas, ncounties;
  int32_t y0, y1; /* the year of visits, inclusive */
  int *station_muni, *muni_area, *area_county;
  double *rho; /* demand / capacity per station */
  double *tol; /* days of waiting at which every patient goes elsewhere */
};

static void push_visit(struct data *d, const struct visit *x) {
  if (d->nv == d->capv) {
    d->capv = d->capv ? d->capv * 2 : 1u << 20;
    d->v = mem_realloc(d->v, d->capv * sizeof *d->v);
  }
  d->v[d->nv++] = *x;
}

static void push_t3(struct data *d, const struct t3row *x) {
  if (d->nt == d->capt) {
    d->capt = d->capt ? d->capt * 2 : 1u << 18;
    d->t = mem_realloc(d->t, d->capt * sizeof *d->t);
  }
  d->t[d->nt++] = *x;
}

static void fill_visit_attrs(uint64_t *rs, struct slot *s, int grp,
                             int32_t hta_day, int32_t at, bool urgent) {
  double u = unif(rs);
  s->booked = 1;
  s->booked_at = at;
  s->hta = hta_day;
  s->contact = hta_day;
  if (!urgent) {
    double c = unif(rs);
    if (c < 0.10)
      s->contact = hta_day - 1 - irand(rs, 3);
    if (unif(rs) < 0.05) /* a follow-up booked without an assessment */
      s->hta = NO_DAY;
    if (unif(rs) < 0.03)
      s->contact = NO_DAY;
  }
  s->flags = urgent ? ACCESS_URGENT : 0;
  if (!urgent) {
    double f = unif(rs);
    if (f < 0.08)
      s->flags |= ACCESS_CARE_PLAN;
    else if (f < 0.11)
      s->flags |= ACCESS_CERTIFICATE;
    else if (f < 0.12 && grp == 0)
      s->flags |= ACCESS_SPECIALIST;
    else if (f < 0.14 && grp == 1)
      s->flags |= ACCESS_PROMOTION;
  }
  if (u < 0.01)
    s->age = -1;
  else if (u < 0.22)
    s->age = (int8_t)irand(rs, 23);
  else
    s->age = (int8_t)(23 + irand(rs, 73));
}

/* First slot index >= i that a request at minute 'now' may book. */
static size_t first_free(const struct slot *sl, size_t n, size_t i,
                         int32_t now) {
  while (i < n && (sl[i].urgent || sl[i].booked || sl[i].start <= now))
    i++;
  return i;
}

/* The 'nth' free counting slot from index i at minute t0 within the
 * horizon; its day, or -1. */
static int32_t third_free(const struct slot *sl, size_t n, size_t i, int32_t t0,
                          int32_t limit, bool in_person) {
  int k = 0;
  for (; i < n && sl[i].start <= limit; i++) {
    if (sl[i].urgent || sl[i].booked || sl[i].start < t0 ||
        (in_person && sl[i].remote))
      continue;
    if (++k == T3_DEFAULT_NTH)
      return sl[i].start / 1440;
  }
  return -1;
}

/* One professional's book and year. */
static size_t simulate_prof(const struct params *p, struct data *d,
                            struct slot **slbuf, size_t *slcap, int station,
                            int prof, int grp, int *horizon_out) {
  uint64_t rs = 0x5EED0000ull ^ ((uint64_t)station << 20) ^ (uint64_t)prof;
  int spd = grp == 0 ? 14 : 16, step = grp == 0 ? 30 : 25;
  double premote = grp == 0 ? 0.10 : 0.35, purgent = 0.15;
  int horizon = 42 + irand(&rs, 140); /* days the book is open ahead */
  *horizon_out = horizon;
  int32_t w0 = p->y0 - 220, last = p->y1 + horizon + 1;
  int vac = irand(&rs, 50); /* summer vacation: 4 weeks from July + vac */
  double lambda = p->rho[station] * spd * (1.0 - purgent);
  double tol = p->tol[station];
  size_t n = 0, ff = 0, p0 = 0;
  struct slot *sl;
  for (int i = 0; i < 3; i++)
    (void)mix(&rs);
  /* the book */
  for (int32_t day = w0; day <= last; day++) {
    int wd = chrono_weekday(day);
    int off = (int)((day - p->y0 + 3650) % 365);
    if (wd > 5 || (off >= vac && off < vac + 28))
      continue;
    if (n + (size_t)spd > *slcap) {
      *slcap = *slcap ? *slcap * 2 : 8192;
      *slbuf = mem_realloc(*slbuf, *slcap * sizeof **slbuf);
    }
    for (int k = 0; k < spd; k++) {
      struct slot *s = &(*slbuf)[n++];
      memset(s, 0, sizeof *s);
      s->start = day * 1440 + 495 + k * step;
      s->urgent = unif(&rs) < purgent;
      s->remote = unif(&rs) < premote;
      s->hta = s->contact = NO_DAY;
    }
  }
  sl = *slbuf;
  /* the days, in time order */
  for (int32_t day = w0; day <= p->y1; day++) {
    int32_t t0 = day * 1440 + 480, lim = t0 + horizon * 1440;
    int wd = chrono_weekday(day);
    while (p0 < n && sl[p0].start < t0)
      p0++;
    ff = first_free(sl, n, ff, t0 - 1);
    if (day >= p->y0) {
      int32_t a = third_free(sl, n, ff, t0, lim, false);
      int32_t b = third_free(sl, n, ff, t0, lim, true);
      struct t3row r = {day,
                        (uint16_t)station,
                        (uint8_t)grp,
                        a < 0,
                        (int16_t)(a < 0 ? T3_CAP : a - day),
                        (int16_t)(b < 0 ? T3_CAP : b - day)};
      push_t3(d, &r);
    }
    if (wd > 5)
      continue;
    /* urgent slots of the day: booked the same morning */
    for (size_t i = p0; i < n && sl[i].start / 1440 == day; i++)
      if (sl[i].urgent && unif(&rs) < 0.9)
        fill_visit_attrs(&rs, &sl[i], grp, day, t0 + 1, true);
    /* requests through the day; Mondays are busier */
    {
      int nreq = poisson(&rs, lambda * (wd == 1 ? 1.3 : 0.925));
      for (int r = 0; r < nreq; r++) {
        int32_t bt = t0 + 15 + (r * 465) / (nreq ? nreq : 1);
        size_t j;
        ff = first_free(sl, n, ff, bt);
        j = ff;
        if (j >= n || sl[j].start > bt + horizon * 1440)
          continue; /* the book is full: to the waiting list */
        /* the longer the wait, the more patients go elsewhere */
        if (unif(&rs) < (double)(sl[j].start / 1440 - day) / tol)
          continue;
        if (unif(&rs) < 0.25) { /* a later slot of the patient's choosing */
          size_t k = j + 1 + (size_t)irand(&rs, spd * 8);
          while (k < n && (sl[k].urgent || sl[k].booked))
            k++;
          if (k < n && sl[k].start <= bt + horizon * 1440)
            j = k;
        }
        fill_visit_attrs(&rs, &sl[j], grp, day, bt, false);
      }
    }
  }
  /* visits: booked slots on a day of the year */
  for (size_t i = 0; i < n; i++) {
    int32_t vd = sl[i].start / 1440;
    struct visit v;
    if (!sl[i].booked || vd < p->y0 || vd > p->y1)
      continue;
    v.vday = vd;
    v.hta = sl[i].hta;
    v.contact = sl[i].contact;
    v.station = (uint16_t)station;
    v.grp = (uint8_t)grp;
    v.flags = sl[i].flags;
    v.age = sl[i].age;
    push_visit(d, &v);
  }
  return n;
}

/* Every professional's book kept for the event feed (the projection
 * phase): slot arrays, station, group and horizon. */
struct prof {
  struct slot *sl;
  uint32_t n;
  uint16_t station;
  uint8_t grp;
  int16_t horizon;
};

struct profs {
  struct prof *p;
  size_t n, cap;
};

static void generate(const struct params *p, struct data *d,
                     struct profs *keep) {
  struct slot *sl = NULL;
  size_t slcap = 0;
  for (int s = 0; s < p->nstations; s++) {
    uint64_t rs = 0xC0FFEEull + (uint64_t)s * 7919u;
    int nphys = 3 + irand(&rs, 7), nnurse = 6 + irand(&rs, 12);
    for (int i = 0; i < nphys + nnurse; i++) {
      int horizon;
      size_t n =
          simulate_prof(p, d, &sl, &slcap, s, i, i < nphys ? 0 : 1, &horizon);
      if (keep != NULL) {
        struct prof *pr;
        if (keep->n == keep->cap) {
          keep->cap = keep->cap ? keep->cap * 2 : 1024;
          keep->p = mem_realloc(keep->p, keep->cap * sizeof *keep->p);
        }
        pr = &keep->p[keep->n++];
        pr->sl = mem_alloc((n ? n : 1) * sizeof *pr->sl);
        memcpy(pr->sl, sl, n * sizeof *sl);
        pr->n = (uint32_t)n;
        pr->station = (uint16_t)s;
        pr->grp = (uint8_t)(i < nphys ? 0 : 1);
        pr->horizon = (int16_t)horizon;
      }
    }
  }
  mem_free(sl);
  /* arrival order: by visit day (counting sort) */
  {
    int32_t span = p->y1 - p->y0 + 1;
    size_t *pos = mem_calloc((size_t)span + 1, sizeof *pos);
    struct visit *out = mem_alloc((d->nv ? d->nv : 1) * sizeof *out);
    for (size_t i = 0; i < d->nv; i++)
      pos[d->v[i].vday - p->y0 + 1]++;
    for (int32_t i = 0; i < span; i++)
      pos[i + 1] += pos[i];
    for (size_t i = 0; i < d->nv; i++)
      out[pos[d->v[i].vday - p->y0]++] = d->v[i];
    mem_free(pos);
    mem_free(d->v);
    d->v = out;
    d->capv = d->nv;
  }
}

/* -------------------------------------------------------- organisation */

static void plan_org(struct params *p, double scale) {
  uint64_t rs = 42;
  p->nstations = (int)lround(KH_STATIONS * NATION_FACTOR * scale);
  if (p->nstations < 3)
    p->nstations = 3;
  p->nmunis = (int)lround(p->nstations * 11.0 / 16.0);
  p->nareas = (int)lround(p->nstations * 3.0 / 16.0);
  if (p->nmunis < 1)
    p->nmunis = 1;
  if (p->nareas < 1)
    p->nareas = 1;
  p->ncounties = p->nareas < MAX_COUNTIES ? p->nareas : MAX_COUNTIES;
  p->station_muni = mem_alloc((size_t)p->nstations * sizeof(int));
  p->muni_area = mem_alloc((size_t)p->nmunis * sizeof(int));
  p->area_county = mem_alloc((size_t)p->nareas * sizeof(int));
  p->rho = mem_alloc((size_t)p->nstations * sizeof(double));
  p->tol = mem_alloc((size_t)p->nstations * sizeof(double));
  for (int i = 0; i < p->nstations; i++) {
    double u = unif(&rs), w = unif(&rs);
    p->station_muni[i] = i % p->nmunis;
    /* demand exceeds capacity; the queue settles where enough patients
     * go elsewhere: about tol x (1 - 1/rho) days, longer for a few */
    p->rho[i] = 1.05 + 0.5 * u;
    p->tol[i] = 15 + 150 * w * w;
  }
  for (int i = 0; i < p->nmunis; i++)
    p->muni_area[i] = i % p->nareas;
  for (int i = 0; i < p->nareas; i++)
    p->area_county[i] = i % p->ncounties;
}

static void add_unit(json_t *units, const char *id, const char *type,
                     const char *parent, const char *name, long population,
                     const char *muni_code) {
  json_t *u = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "id", id, "type", type,
                        "name", "fi", name, "sv", name, "en", name);
  if (parent != NULL)
    json_object_set_new(u, "parent", json_string(parent));
  if (muni_code != NULL) {
    json_object_set_new(u, "municipality", json_string(muni_code));
    json_object_set_new(u, "population", json_integer(population));
  }
  json_array_append_new(units, u);
}

static struct org *build_org(const struct params *p) {
  json_t *root =
      json_pack("{s:s,s:{s:s,s:s,s:s},s:[]}", "id", "fi", "name", "fi",
                "Suomi (synteettinen)", "sv", "Finland (syntetisk)", "en",
                "Finland (synthetic)", "units");
  json_t *units = json_object_get(root, "units");
  char id[64], parent[64], name[96], code[8];
  struct org *org = NULL;
  struct error err;
  char *text;
  add_unit(units, "fi", "country", NULL, "Finland (synthetic)", 0, NULL);
  for (int c = 0; c < p->ncounties; c++) {
    snprintf(id, sizeof id, "c%02d", c);
    snprintf(name, sizeof name, "County %d (synthetic)", c + 1);
    add_unit(units, id, "county", "fi", name, 0, NULL);
  }
  for (int a = 0; a < p->nareas; a++) {
    snprintf(id, sizeof id, "a%03d", a);
    snprintf(parent, sizeof parent, "c%02d", p->area_county[a]);
    snprintf(name, sizeof name, "Service area %d (synthetic)", a + 1);
    add_unit(units, id, "area", parent, name, 0, NULL);
  }
  for (int m = 0; m < p->nmunis; m++) {
    snprintf(id, sizeof id, "m%03d", m);
    snprintf(parent, sizeof parent, "a%03d", p->muni_area[m]);
    snprintf(name, sizeof name, "Municipality %d (synthetic)", m + 1);
    snprintf(code, sizeof code, "%03d", m % 1000);
    add_unit(units, id, "municipality", parent, name, 5600000L / p->nmunis,
             code);
  }
  for (int s = 0; s < p->nstations; s++) {
    snprintf(id, sizeof id, "s%04d", s);
    snprintf(parent, sizeof parent, "m%03d", p->station_muni[s]);
    snprintf(name, sizeof name, "Health station %d (synthetic)", s + 1);
    add_unit(units, id, "health_station", parent, name, 0, NULL);
  }
  text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (org_load_json(text, strlen(text), &org, &err) != 0) {
    fprintf(stderr, "cannot load the synthetic organisation: %s\n", err.msg);
    exit(1);
  }
  free(text);
  return org;
}

/* ------------------------------------------------------------- figures */

/* The dashboard's panels (docs/API.md, /tmp contract): indicator ids. */
static const char *const panels[] = {
    "t3_physician",
    "t3_physician_excl_censored",
    "t3_nurse",
    "t3_nurse_excl_censored",
    "wait_physician_median",
    "wait_nurse_median",
    "wait_contact_physician_median",
    "wait_contact_nurse_median",
    "wait_physician_within_7",
    "wait_physician_within_14",
    "wait_physician_over_90",
    "wait_nurse_within_7",
    "wait_nurse_within_14",
    "wait_nurse_over_90",
    "care_guarantee_primary_care",
};
#define NPANELS (sizeof panels / sizeof panels[0])

/* One figure of one engine: an indicator point or a distribution bin. */
struct fig {
  char key[64];   /* panel|unit|from  or  dist|unit|bin */
  bool has, supp; /* a value; suppressed */
  int64_t n;
  double value;
};

struct figs {
  struct fig *f;
  size_t n, cap;
};

static void fig_put(struct figs *fs, const char *key, bool has, bool supp,
                    int64_t n, double value) {
  struct fig *f;
  for (size_t i = 0; i < fs->n; i++)
    if (strcmp(fs->f[i].key, key) == 0) {
      f = &fs->f[i];
      goto set;
    }
  if (fs->n == fs->cap) {
    fs->cap = fs->cap ? fs->cap * 2 : 1024;
    fs->f = mem_realloc(fs->f, fs->cap * sizeof *fs->f);
  }
  f = &fs->f[fs->n++];
  snprintf(f->key, sizeof f->key, "%s", key);
set:
  f->has = has;
  f->supp = supp;
  f->n = n;
  f->value = value;
}

static const struct fig *fig_get(const struct figs *fs, const char *key) {
  for (size_t i = 0; i < fs->n; i++)
    if (strcmp(fs->f[i].key, key) == 0)
      return &fs->f[i];
  return NULL;
}

/* The dashboard as the cube computes it. */
struct dash {
  const struct indicator_cube *cube;
  const struct indicator_catalogue *cat;
  const struct access_rules *rules;
  const struct org *org;
  int32_t m_from[TREND], m_to[TREND]; /* the 13 months, the last = 'at' */
  size_t wait_hta[2];                 /* measure indexes */
};

static void key_of(char *out, size_t len, const char *a, const char *unit,
                   long b) {
  snprintf(out, len, "%s|%s|%ld", a, unit, b);
}

/* Computes every figure of the dashboard for 'unit' with 'nchild' children;
 * records them in 'fs' when not NULL. Returns a checksum (so the work
 * cannot be optimised away). */
static double dash_cube(const struct dash *d, size_t unit,
                        const size_t *children, size_t nchild,
                        struct figs *fs) {
  double sum = 0;
  struct error err;
  int32_t from = d->m_from[TREND - 1], to = d->m_to[TREND - 1];
  const char *uid = org_unit_at(d->org, unit)->id;
  char key[64];
  for (size_t p = 0; p < NPANELS; p++) {
    const struct indicator_def *def = indicator_find(d->cat, panels[p]);
    struct indicator_point pt, *series = NULL;
    size_t np = 0;
    if (indicator_value(d->cube, def, unit, from, to, &pt, &err) != 0) {
      fprintf(stderr, "indicator_value: %s\n", err.msg);
      exit(1);
    }
    sum += pt.value;
    if (fs) {
      key_of(key, sizeof key, panels[p], uid, from);
      fig_put(fs, key, pt.has_value, pt.suppressed, pt.n, pt.value);
    }
    if (indicator_series(d->cube, def, unit, d->m_from[0], to, INDICATOR_MONTH,
                         &series, &np, &err) != 0 ||
        np != TREND) {
      fprintf(stderr, "indicator_series: %s (%zu points)\n", err.msg, np);
      exit(1);
    }
    for (size_t i = 0; i < np; i++) {
      sum += series[i].value;
      if (fs) {
        key_of(key, sizeof key, panels[p], uid, series[i].from);
        fig_put(fs, key, series[i].has_value, series[i].suppressed, series[i].n,
                series[i].value);
      }
    }
    mem_free(series);
    for (size_t c = 0; c < nchild; c++) {
      if (indicator_value(d->cube, def, children[c], from, to, &pt, &err) != 0)
        exit(1);
      sum += pt.value;
      if (fs) {
        key_of(key, sizeof key, panels[p], org_unit_at(d->org, children[c])->id,
               from);
        fig_put(fs, key, pt.has_value, pt.suppressed, pt.n, pt.value);
      }
    }
  }
  /* the waiting-time distribution (HTA -> visit, physicians and nurses) */
  {
    struct hist h;
    size_t nb = access_bins_count(d->rules);
    int64_t counts[ACCESS_MAX_BINS] = {0};
    if (hist_init(&h, indicator_measure_at(d->cat, d->wait_hta[0])->bins) != 0)
      exit(1);
    for (int g = 0; g < 2; g++)
      if (indicator_cube_hist(d->cube, unit, d->wait_hta[g], from, to, &h) != 0)
        exit(1);
    for (size_t v = 0; v < h.nbins; v++)
      if (h.bins[v] > 0)
        counts[access_bin_index(d->rules, (int32_t)v)] += h.bins[v];
    if (h.over > 0)
      counts[nb - 1] += h.over;
    for (size_t b = 0; b < nb; b++) {
      sum += (double)counts[b];
      if (fs) {
        key_of(key, sizeof key, "dist", uid, (long)b);
        fig_put(fs, key, true, false, counts[b], (double)counts[b]);
      }
    }
    hist_release(&h);
  }
  return sum;
}

/* SQL rows -> figures. Row shapes (both engines):
 *   V: key, grp, n_hta, med_hta, k7, k14, k90, n_con, med_con, assessed, met
 *   T: key, grp, n, med, n_unc, med_unc
 *   D: bin, count
 * 'key' is a month's first day (trend) or a child's station-table county
 * index (by_child). */
struct vrow {
  int64_t n_hta, k7, k14, k90, n_con, assessed, met;
  double med_hta, med_con;
};
struct trow {
  int64_t n, n_unc;
  double med, med_unc;
};

struct sqlfigs {
  /* [unit slot][grp]: slot 0..TREND-1 = trend months, TREND + c = child c */
  struct vrow v[TREND + MAX_COUNTIES][2];
  struct trow t[TREND + MAX_COUNTIES][2];
  int64_t bins[ACCESS_MAX_BINS];
};

/* The point an indicator has from SQL figures, suppressed as the cube
 * does (eval_finish in indicator.c). */
static void sql_point(const struct indicator_def *def, const struct vrow *v,
                      const struct trow *t, struct fig *out) {
  const char *id = def->id;
  int g = strstr(id, "nurse") != NULL ? 1 : 0;
  int64_t n = 0, numcount = -1;
  double value = 0;
  memset(out, 0, sizeof *out);
  if (strncmp(id, "t3_", 3) == 0) {
    bool excl = strstr(id, "excl") != NULL;
    n = excl ? t[g].n_unc : t[g].n;
    value = excl ? t[g].med_unc : t[g].med;
  } else if (strncmp(id, "wait_contact_", 13) == 0) {
    n = v[g].n_con;
    value = v[g].med_con;
  } else if (strstr(id, "_median") != NULL) {
    n = v[g].n_hta;
    value = v[g].med_hta;
  } else if (strstr(id, "_within_") != NULL) {
    int64_t k = def->days == 7 ? v[g].k7 : v[g].k14;
    n = v[g].n_hta;
    numcount = k;
    value = n > 0 ? (double)k / (double)n * def->factor : 0;
  } else if (strstr(id, "_over_90") != NULL) {
    n = v[g].n_hta;
    numcount = v[g].k90;
    value = (double)v[g].k90;
  } else { /* care_guarantee_primary_care */
    int64_t num = v[0].met + v[1].met;
    n = v[0].assessed + v[1].assessed;
    numcount = num;
    value = n > 0 ? (double)num / (double)n * def->factor : 0;
  }
  if (n <= 0) {
    out->has = false;
    return;
  }
  if (def->min_n > 0 &&
      ((n < def->min_n) ||
       (def->small_numerator && numcount > 0 && numcount < def->min_n))) {
    out->supp = true;
    return;
  }
  out->has = true;
  out->n = n;
  out->value = value;
}

/* Turns SQL figures for 'uid' into the dashboard's figures. */
static void sql_to_figs(const struct dash *d, const struct sqlfigs *sf,
                        const char *uid, const char *const *child_ids,
                        size_t nchild, size_t nbins, struct figs *fs) {
  char key[64];
  for (size_t p = 0; p < NPANELS; p++) {
    const struct indicator_def *def = indicator_find(d->cat, panels[p]);
    struct fig f;
    for (int m = 0; m < TREND; m++) {
      sql_point(def, sf->v[m], sf->t[m], &f);
      key_of(key, sizeof key, panels[p], uid, d->m_from[m]);
      fig_put(fs, key, f.has, f.supp, f.n, f.value);
    }
    for (size_t c = 0; c < nchild; c++) {
      sql_point(def, sf->v[TREND + c], sf->t[TREND + c], &f);
      key_of(key, sizeof key, panels[p], child_ids[c], d->m_from[TREND - 1]);
      fig_put(fs, key, f.has, f.supp, f.n, f.value);
    }
  }
  for (size_t b = 0; b < nbins; b++) {
    key_of(key, sizeof key, "dist", uid, (long)b);
    fig_put(fs, key, true, false, sf->bins[b], (double)sf->bins[b]);
  }
}

/* Every cube figure must have an equal SQL figure. Prints mismatches;
 * returns their number. */
static size_t compare(const char *engine, const struct figs *cube,
                      const struct figs *sql) {
  size_t bad = 0;
  for (size_t i = 0; i < cube->n; i++) {
    const struct fig *a = &cube->f[i], *b = fig_get(sql, a->key);
    if (b == NULL || a->has != b->has || a->supp != b->supp ||
        (a->has && (a->n != b->n || a->value != b->value))) {
      if (bad < 20)
        fprintf(stderr,
                "MISMATCH %s %s: cube has=%d supp=%d n=%" PRId64
                " value=%.17g; %s has=%d supp=%d n=%" PRId64 " value=%.17g\n",
                engine, a->key, a->has, a->supp, a->n, a->value, engine,
                b ? b->has : -1, b ? b->supp : -1, b ? b->n : -1,
                b ? b->value : -1.0);
      bad++;
    }
  }
  return bad;
}

/* ---------------------------------------------------------- SQL text */

/* The care-guarantee verdict of a visit row as SQL: 1 met, 0 missed, NULL
 * excluded or no rule; generated from the timeline (primary care). Row
 * aliases: v (visit), c (calendar of the visit day), h (of the HTA day). */
static void verdict_sql(const struct access_rules *r, bool dates,
                        struct buf *out) {
  int rc = buf_printf(out,
                      "CASE WHEN (v.flags & %u) <> 0 OR v.hta IS NULL "
                      "THEN NULL",
                      (unsigned)ACCESS_EXCLUDING_FLAGS);
  for (size_t i = 0; i < access_rules_count(r); i++) {
    const struct access_rule *ru = access_rules_at(r, i);
    if (ru->service != ACCESS_PRIMARY_CARE)
      continue;
    rc |= buf_puts(out, " WHEN 1 = 1");
    if (ru->valid_from != ACCESS_NO_DATE)
      rc |= buf_printf(out, " AND v.hta >= %d", ru->valid_from);
    if (ru->valid_to != ACCESS_NO_DATE)
      rc |= buf_printf(out, " AND v.hta <= %d", ru->valid_to);
    if (ru->age_min >= 0)
      rc |= buf_printf(out, " AND v.age >= %d", ru->age_min);
    if (ru->age_below >= 0)
      rc |= buf_printf(out, " AND v.age < %d", ru->age_below);
    if (ru->kind == ACCESS_LIMIT_DAYS)
      rc |= buf_printf(out,
                       " THEN CASE WHEN v.vday - v.hta <= %d THEN 1 ELSE 0 "
                       "END",
                       ru->limit);
    else if (dates) /* DuckDB: DATE + INTERVAL clamps to the month's end */
      rc |= buf_printf(out,
                       " THEN CASE WHEN v.vdate <= v.hdate + INTERVAL %d MONTH "
                       "THEN 1 ELSE 0 END",
                       ru->limit);
    else /* visit <= add_months(hta, N), the day clamped to the month's end */
      rc |= buf_printf(
          out,
          " THEN CASE WHEN (c.y * 12 + c.m) - (h.y * 12 + h.m) < %d OR "
          "((c.y * 12 + c.m) - (h.y * 12 + h.m) = %d AND c.d <= h.d) THEN 1 "
          "ELSE 0 END",
          ru->limit, ru->limit);
  }
  rc |= buf_puts(out, " ELSE NULL END");
  if (rc != 0)
    exit(1);
}

/* The waiting-time bin of expression 'w' as SQL. */
static void bin_sql(const struct access_rules *r, const char *w,
                    struct buf *out) {
  size_t nb = access_bins_count(r);
  int rc = buf_puts(out, "CASE");
  for (size_t b = 0; b + 1 < nb; b++)
    rc |= buf_printf(out, " WHEN %s <= %d THEN %zu", w,
                     access_bin_at(r, b)->max, b);
  rc |= buf_printf(out, " ELSE %zu END", nb - 1);
  if (rc != 0)
    exit(1);
}

/* ------------------------------------------------------------- CSV */

static char *put_i(char *p, int64_t x) {
  char tmp[24];
  int n = 0;
  if (x < 0) {
    *p++ = '-';
    x = -x;
  }
  do {
    tmp[n++] = (char)('0' + x % 10);
    x /= 10;
  } while (x > 0);
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

static void write_csvs(const char *dir, const struct params *p,
                       const struct data *d, int32_t cal_from) {
  char path[1024];
  char *line = mem_alloc(1u << 20);
  FILE *f;
  size_t used = 0;
  snprintf(path, sizeof path, "%s/visits.csv", dir);
  f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
    exit(1);
  }
  fputs("station,grp,vday,hta,contact,age,flags\n", f);
  for (size_t i = 0; i < d->nv; i++) {
    const struct visit *v = &d->v[i];
    char *q = line + used;
    q = put_i(q, v->station);
    *q++ = ',';
    q = put_i(q, v->grp);
    *q++ = ',';
    q = put_i(q, v->vday);
    *q++ = ',';
    if (v->hta != NO_DAY)
      q = put_i(q, v->hta);
    *q++ = ',';
    if (v->contact != NO_DAY)
      q = put_i(q, v->contact);
    *q++ = ',';
    if (v->age >= 0)
      q = put_i(q, v->age);
    *q++ = ',';
    q = put_i(q, v->flags);
    *q++ = '\n';
    used = (size_t)(q - line);
    if (used > (1u << 20) - 128) {
      fwrite(line, 1, used, f);
      used = 0;
    }
  }
  fwrite(line, 1, used, f);
  used = 0;
  fclose(f);
  snprintf(path, sizeof path, "%s/t3.csv", dir);
  f = fopen(path, "w");
  if (f == NULL)
    exit(1);
  fputs("station,grp,day,days,censored,inp\n", f);
  for (size_t i = 0; i < d->nt; i++) {
    const struct t3row *t = &d->t[i];
    fprintf(f, "%u,%u,%d,%d,%u,%d\n", t->station, t->grp, t->day, t->days,
            t->censored, t->inp);
  }
  fclose(f);
  snprintf(path, sizeof path, "%s/stations.csv", dir);
  f = fopen(path, "w");
  if (f == NULL)
    exit(1);
  fputs("station,county\n", f);
  for (int s = 0; s < p->nstations; s++)
    fprintf(f, "%d,%d\n", s, p->area_county[p->muni_area[p->station_muni[s]]]);
  fclose(f);
  snprintf(path, sizeof path, "%s/calendar.csv", dir);
  f = fopen(path, "w");
  if (f == NULL)
    exit(1);
  fputs("day,y,m,d,month_from\n", f);
  for (int32_t day = cal_from; day <= p->y1; day++) {
    int y, m, dd;
    chrono_civil_from_days(day, &y, &m, &dd);
    fprintf(f, "%d,%d,%d,%d,%d\n", day, y, m, dd,
            chrono_days_from_civil(y, m, 1));
  }
  fclose(f);
  mem_free(line);
}

/* ------------------------------------------------------------- SQLite */

static void sq_exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  in: %.300s\n", msg, sql);
    exit(1);
  }
}

static sqlite3_stmt *sq_prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n  in: %.400s\n", sqlite3_errmsg(db), sql);
    exit(1);
  }
  return st;
}

static void sq_load(sqlite3 *db, const struct params *p, const struct data *d,
                    int32_t cal_from) {
  sqlite3_stmt *st;
  sq_exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
              "PRAGMA cache_size = -4000000; PRAGMA temp_store = MEMORY;"
              "CREATE TABLE visits (station INTEGER, grp INTEGER, vday "
              "INTEGER, hta INTEGER, contact INTEGER, age INTEGER, flags "
              "INTEGER);"
              "CREATE TABLE t3 (station INTEGER, grp INTEGER, day INTEGER, "
              "days INTEGER, censored INTEGER, inp INTEGER);"
              "CREATE TABLE stations (station INTEGER PRIMARY KEY, county "
              "INTEGER);"
              "CREATE TABLE calendar (day INTEGER PRIMARY KEY, y INTEGER, m "
              "INTEGER, d INTEGER, month_from INTEGER);"
              "BEGIN");
  st = sq_prep(db, "INSERT INTO visits VALUES (?,?,?,?,?,?,?)");
  for (size_t i = 0; i < d->nv; i++) {
    const struct visit *v = &d->v[i];
    sqlite3_bind_int(st, 1, v->station);
    sqlite3_bind_int(st, 2, v->grp);
    sqlite3_bind_int(st, 3, v->vday);
    if (v->hta != NO_DAY)
      sqlite3_bind_int(st, 4, v->hta);
    else
      sqlite3_bind_null(st, 4);
    if (v->contact != NO_DAY)
      sqlite3_bind_int(st, 5, v->contact);
    else
      sqlite3_bind_null(st, 5);
    if (v->age >= 0)
      sqlite3_bind_int(st, 6, v->age);
    else
      sqlite3_bind_null(st, 6);
    sqlite3_bind_int(st, 7, v->flags);
    if (sqlite3_step(st) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = sq_prep(db, "INSERT INTO t3 VALUES (?,?,?,?,?,?)");
  for (size_t i = 0; i < d->nt; i++) {
    const struct t3row *t = &d->t[i];
    sqlite3_bind_int(st, 1, t->station);
    sqlite3_bind_int(st, 2, t->grp);
    sqlite3_bind_int(st, 3, t->day);
    sqlite3_bind_int(st, 4, t->days);
    sqlite3_bind_int(st, 5, t->censored);
    sqlite3_bind_int(st, 6, t->inp);
    if (sqlite3_step(st) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = sq_prep(db, "INSERT INTO stations VALUES (?,?)");
  for (int s = 0; s < p->nstations; s++) {
    sqlite3_bind_int(st, 1, s);
    sqlite3_bind_int(st, 2, p->area_county[p->muni_area[p->station_muni[s]]]);
    if (sqlite3_step(st) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = sq_prep(db, "INSERT INTO calendar VALUES (?,?,?,?,?)");
  for (int32_t day = cal_from; day <= p->y1; day++) {
    int y, m, dd;
    chrono_civil_from_days(day, &y, &m, &dd);
    sqlite3_bind_int(st, 1, day);
    sqlite3_bind_int(st, 2, y);
    sqlite3_bind_int(st, 3, m);
    sqlite3_bind_int(st, 4, dd);
    sqlite3_bind_int(st, 5, chrono_days_from_civil(y, m, 1));
    if (sqlite3_step(st) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sq_exec(db, "COMMIT;"
              "CREATE INDEX visits_day ON visits (vday);"
              "CREATE INDEX visits_station ON visits (station, vday);"
              "CREATE INDEX t3_day ON t3 (day);"
              "CREATE INDEX t3_station ON t3 (station, day);"
              "ANALYZE");
}

/* The SQLite queries of one dashboard (unit = country when station < 0).
 * Medians: the values' counts per (key, group, value), then the values at
 * the middle ranks from cumulative counts (even n: the mean of the two). */
struct sqq {
  sqlite3_stmt *hta, *con, *cg, *t3, *t3u, *dist; /* trend */
  sqlite3_stmt *chta, *ccon, *ccg, *ct3, *ct3u;   /* by child */
};

static const char *median_tail =
    "), r AS (SELECT k, grp, w, c, sum(c) OVER (PARTITION BY k, grp ORDER BY "
    "w) AS cum, sum(c) OVER (PARTITION BY k, grp) AS n FROM g) "
    "SELECT k, grp, n, (min(CASE WHEN cum >= (n + 1) / 2 THEN w END) + "
    "min(CASE WHEN cum >= n / 2 + 1 THEN w END)) / 2.0, "
    "sum(CASE WHEN w <= 7 THEN c ELSE 0 END), "
    "sum(CASE WHEN w <= 14 THEN c ELSE 0 END), "
    "sum(CASE WHEN w > 90 THEN c ELSE 0 END) FROM r GROUP BY k, grp";

static sqlite3_stmt *sq_median(sqlite3 *db, bool child, int station,
                               const char *table, const char *dayc,
                               const char *wexpr, const char *cond) {
  struct buf b;
  sqlite3_stmt *st;
  int rc;
  buf_init(&b, 1u << 16);
  rc = buf_printf(
      &b,
      "WITH g AS (SELECT %s AS k, x.grp AS grp, %s AS w, count(*) AS c FROM "
      "%s x %s WHERE x.%s BETWEEN ?1 AND ?2 %s AND %s GROUP BY 1, 2, 3",
      child ? "s.county" : "c.month_from", wexpr, table,
      child ? "JOIN stations s ON s.station = x.station"
            : "JOIN calendar c ON c.day = x.vday",
      dayc, station >= 0 ? "AND x.station = ?3" : "", cond);
  if (strcmp(dayc, "day") == 0 && !child) {
    /* t3 rows: the calendar joins on 'day' */
    buf_reset(&b);
    rc = buf_printf(
        &b,
        "WITH g AS (SELECT c.month_from AS k, x.grp AS grp, %s AS w, count(*) "
        "AS c FROM %s x JOIN calendar c ON c.day = x.day WHERE x.day BETWEEN "
        "?1 AND ?2 %s AND %s GROUP BY 1, 2, 3",
        wexpr, table, station >= 0 ? "AND x.station = ?3" : "", cond);
  }
  rc |= buf_puts(&b, median_tail);
  if (rc != 0)
    exit(1);
  st = sq_prep(db, buf_str(&b));
  buf_release(&b);
  return st;
}

static sqlite3_stmt *sq_cg(sqlite3 *db, bool child, int station,
                           const char *verdict) {
  struct buf b;
  sqlite3_stmt *st;
  buf_init(&b, 1u << 16);
  if (buf_printf(&b,
                 "SELECT %s, x.grp, count(x.ok), sum(x.ok) FROM (SELECT "
                 "v.station AS station, v.grp AS grp, c.month_from AS mf, %s "
                 "AS ok FROM visits v JOIN calendar c ON c.day = v.vday LEFT "
                 "JOIN calendar h ON h.day = v.hta WHERE v.vday BETWEEN ?1 AND "
                 "?2 %s) x %s GROUP BY 1, 2",
                 child ? "s.county" : "x.mf", verdict,
                 station >= 0 ? "AND v.station = ?3" : "",
                 child ? "JOIN stations s ON s.station = x.station" : "") != 0)
    exit(1);
  st = sq_prep(db, buf_str(&b));
  buf_release(&b);
  return st;
}

static void sq_prepare(sqlite3 *db, int station, const char *verdict,
                       const char *bins, struct sqq *q) {
  struct buf b;
  const char *hcond = "(x.flags & 1) = 0 AND x.hta IS NOT NULL";
  const char *ccond = "(x.flags & 1) = 0 AND x.contact IS NOT NULL";
  memset(q, 0, sizeof *q);
  q->hta =
      sq_median(db, false, station, "visits", "vday", "x.vday - x.hta", hcond);
  q->con = sq_median(db, false, station, "visits", "vday", "x.vday - x.contact",
                     ccond);
  q->cg = sq_cg(db, false, station, verdict);
  q->t3 = sq_median(db, false, station, "t3", "day", "x.days", "1 = 1");
  q->t3u =
      sq_median(db, false, station, "t3", "day", "x.days", "x.censored = 0");
  buf_init(&b, 1u << 16);
  if (buf_printf(&b,
                 "SELECT %s AS bin, count(*) FROM visits x WHERE x.vday "
                 "BETWEEN ?1 AND ?2 %s AND (x.flags & 1) = 0 AND x.hta IS NOT "
                 "NULL GROUP BY 1",
                 bins, station >= 0 ? "AND x.station = ?3" : "") != 0)
    exit(1);
  q->dist = sq_prep(db, buf_str(&b));
  buf_release(&b);
  if (station < 0) {
    q->chta =
        sq_median(db, true, station, "visits", "vday", "x.vday - x.hta", hcond);
    q->ccon = sq_median(db, true, station, "visits", "vday",
                        "x.vday - x.contact", ccond);
    q->ccg = sq_cg(db, true, station, verdict);
    q->ct3 = sq_median(db, true, station, "t3", "day", "x.days", "1 = 1");
    q->ct3u =
        sq_median(db, true, station, "t3", "day", "x.days", "x.censored = 0");
  }
}

static void sq_finalize(struct sqq *q) {
  sqlite3_stmt **all = (sqlite3_stmt **)q;
  for (size_t i = 0; i < sizeof *q / sizeof(sqlite3_stmt *); i++)
    sqlite3_finalize(all[i]);
}

/* The slot of a row's key: a trend month or a child county. */
static int slot_of(const struct dash *d, bool child, int64_t key) {
  if (child)
    return key >= 0 && key < MAX_COUNTIES ? TREND + (int)key : -1;
  for (int m = 0; m < TREND; m++)
    if (d->m_from[m] == key)
      return m;
  return -1;
}

enum qkind { Q_HTA, Q_CON, Q_CG, Q_T3, Q_T3U };

static void sq_run(const struct dash *d, sqlite3_stmt *st, bool child,
                   int32_t from, int32_t to, int station, enum qkind kind,
                   struct sqlfigs *sf) {
  sqlite3_bind_int(st, 1, from);
  sqlite3_bind_int(st, 2, to);
  if (station >= 0)
    sqlite3_bind_int(st, 3, station);
  for (;;) {
    int rc = sqlite3_step(st), slot, g;
    if (rc == SQLITE_DONE)
      break;
    if (rc != SQLITE_ROW) {
      fprintf(stderr, "sqlite step failed: %d\n", rc);
      exit(1);
    }
    slot = slot_of(d, child, sqlite3_column_int64(st, 0));
    g = sqlite3_column_int(st, 1);
    if (slot < 0 || g < 0 || g > 1)
      continue;
    switch (kind) {
    case Q_HTA:
      sf->v[slot][g].n_hta = sqlite3_column_int64(st, 2);
      sf->v[slot][g].med_hta = sqlite3_column_double(st, 3);
      sf->v[slot][g].k7 = sqlite3_column_int64(st, 4);
      sf->v[slot][g].k14 = sqlite3_column_int64(st, 5);
      sf->v[slot][g].k90 = sqlite3_column_int64(st, 6);
      break;
    case Q_CON:
      sf->v[slot][g].n_con = sqlite3_column_int64(st, 2);
      sf->v[slot][g].med_con = sqlite3_column_double(st, 3);
      break;
    case Q_CG:
      sf->v[slot][g].assessed = sqlite3_column_int64(st, 2);
      sf->v[slot][g].met = sqlite3_column_int64(st, 3);
      break;
    case Q_T3:
      sf->t[slot][g].n = sqlite3_column_int64(st, 2);
      sf->t[slot][g].med = sqlite3_column_double(st, 3);
      break;
    case Q_T3U:
      sf->t[slot][g].n_unc = sqlite3_column_int64(st, 2);
      sf->t[slot][g].med_unc = sqlite3_column_double(st, 3);
      break;
    }
  }
  sqlite3_reset(st);
}

static void sq_dashboard(const struct dash *d, struct sqq *q, int station,
                         struct sqlfigs *sf) {
  int32_t a = d->m_from[0], b = d->m_to[TREND - 1];
  int32_t ma = d->m_from[TREND - 1];
  memset(sf, 0, sizeof *sf);
  sq_run(d, q->hta, false, a, b, station, Q_HTA, sf);
  sq_run(d, q->con, false, a, b, station, Q_CON, sf);
  sq_run(d, q->cg, false, a, b, station, Q_CG, sf);
  sq_run(d, q->t3, false, a, b, station, Q_T3, sf);
  sq_run(d, q->t3u, false, a, b, station, Q_T3U, sf);
  if (station < 0) {
    sq_run(d, q->chta, true, ma, b, station, Q_HTA, sf);
    sq_run(d, q->ccon, true, ma, b, station, Q_CON, sf);
    sq_run(d, q->ccg, true, ma, b, station, Q_CG, sf);
    sq_run(d, q->ct3, true, ma, b, station, Q_T3, sf);
    sq_run(d, q->ct3u, true, ma, b, station, Q_T3U, sf);
  }
  sqlite3_bind_int(q->dist, 1, ma);
  sqlite3_bind_int(q->dist, 2, b);
  if (station >= 0)
    sqlite3_bind_int(q->dist, 3, station);
  while (sqlite3_step(q->dist) == SQLITE_ROW) {
    int bin = sqlite3_column_int(q->dist, 0);
    if (bin >= 0 && bin < ACCESS_MAX_BINS)
      sf->bins[bin] = sqlite3_column_int64(q->dist, 1);
  }
  sqlite3_reset(q->dist);
}

/* ------------------------------------------------------------- stats */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* p50 and p99 (nearest rank) of n timings, sorted in place. */
static void pct(double *t, size_t n, double *p50, double *p99) {
  size_t r50, r99;
  qsort(t, n, sizeof *t, cmp_d);
  r50 = (n + 1) / 2;
  r99 = (size_t)ceil(0.99 * (double)n);
  *p50 = t[r50 ? r50 - 1 : 0];
  *p99 = t[r99 ? r99 - 1 : 0];
}

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s != NULL && *s ? atol(s) : dflt;
}

static double env_double(const char *name, double dflt) {
  const char *s = getenv(name);
  return s != NULL && *s ? atof(s) : dflt;
}

/* ------------------------------------------------------------- DuckDB */

/* Reads a figures object of the node script ({"v":[[..]],"vc":..,"t":..,
 * "tc":..,"d":..}) into sf. */
static void duck_figs(const struct dash *d, json_t *o, struct sqlfigs *sf) {
  static const char *const names[] = {"v", "vc", "t", "tc"};
  memset(sf, 0, sizeof *sf);
  for (int q = 0; q < 4; q++) {
    json_t *rows = json_object_get(o, names[q]), *row;
    size_t i;
    bool child = q % 2 == 1;
    json_array_foreach(rows, i, row) {
      int slot = slot_of(d, child, json_integer_value(json_array_get(row, 0)));
      int g = (int)json_integer_value(json_array_get(row, 1));
#define I(k) json_integer_value(json_array_get(row, k))
#define D(k) json_number_value(json_array_get(row, k))
      if (slot < 0 || g < 0 || g > 1)
        continue;
      if (q < 2) {
        struct vrow *v = &sf->v[slot][g];
        v->n_hta = I(2);
        v->med_hta = D(3);
        v->k7 = I(4);
        v->k14 = I(5);
        v->k90 = I(6);
        v->n_con = I(7);
        v->med_con = D(8);
        v->assessed = I(9);
        v->met = I(10);
      } else {
        struct trow *t = &sf->t[slot][g];
        t->n = I(2);
        t->med = D(3);
        t->n_unc = I(4);
        t->med_unc = D(5);
      }
    }
  }
  {
    json_t *rows = json_object_get(o, "d"), *row;
    size_t i;
    json_array_foreach(rows, i, row) {
      int64_t bin = I(0);
      if (bin >= 0 && bin < ACCESS_MAX_BINS)
        sf->bins[bin] = I(1);
    }
  }
#undef I
#undef D
}

/* ----------------------------------------------- the projection (events) */

/* One event of the feed: kind (EVK_*) << 14 | slot index, at a local
 * minute, of professional 'prof'. */
struct evrec {
  int32_t minute;
  uint16_t prof;
  uint16_t code;
};
#define EVK_OPEN 0u
#define EVK_BOOK 1u
#define EVK_VISIT 2u
#define SLOT_BITS 14

/* UTC offsets (ms) of the local days [d0, d0 + n): events are all in the
 * daytime, where a day has one offset. */
struct zone_cache {
  int32_t d0, n;
  int64_t *off;
};

static int64_t utc_of(const struct zone_cache *z, int32_t minute) {
  int32_t day = minute / 1440;
  if (day < z->d0 || day >= z->d0 + z->n) {
    fprintf(stderr, "day %d outside the zone cache\n", day);
    exit(1);
  }
  return (int64_t)minute * 60000 - z->off[day - z->d0];
}

static void put_views(json_t *view, const char *uid, int32_t y0,
                      struct figs *fs) {
  json_t *arr = json_object_get(view, "panels"), *pn;
  size_t i;
  int64_t bins[ACCESS_MAX_BINS] = {0};
  bool bins_ok = true;
  size_t nbins = 0;
  char key[64];
  json_array_foreach(arr, i, pn) {
    const char *kind = json_string_value(json_object_get(pn, "kind"));
    if (kind != NULL && strcmp(kind, "distribution") == 0) {
      json_t *b;
      size_t k;
      json_array_foreach(json_object_get(pn, "bins"), k, b) {
        if (json_is_true(json_object_get(b, "suppressed")))
          bins_ok = false;
        if (k < ACCESS_MAX_BINS)
          bins[k] += json_integer_value(json_object_get(b, "count"));
        if (k + 1 > nbins)
          nbins = k + 1;
      }
      continue;
    }
    {
      const char *ind = json_string_value(json_object_get(pn, "indicator"));
      json_t *pts[64], *c;
      const char *units[64];
      size_t np = 0, k;
      if (ind == NULL)
        continue;
      pts[np] = json_object_get(pn, "value");
      units[np++] = uid;
      json_array_foreach(json_object_get(pn, "trend"), k, c) {
        if (np < 64) {
          pts[np] = c;
          units[np++] = uid;
        }
      }
      json_array_foreach(json_object_get(pn, "by_child"), k, c) {
        if (np < 64) {
          pts[np] = json_object_get(c, "value");
          units[np++] = json_string_value(json_object_get(c, "unit"));
        }
      }
      for (k = 0; k < np; k++) {
        const char *from = json_string_value(json_object_get(pts[k], "from"));
        json_t *v = json_object_get(pts[k], "value");
        int32_t day;
        if (from == NULL || units[k] == NULL ||
            chrono_parse_date(from, strlen(from), &day) != 0 || day < y0)
          continue;
        key_of(key, sizeof key, ind, units[k], day);
        fig_put(fs, key, json_is_number(v),
                json_is_true(json_object_get(pts[k], "suppressed")),
                json_is_number(v)
                    ? json_integer_value(json_object_get(pts[k], "n"))
                    : 0,
                json_is_number(v) ? json_number_value(v) : 0);
      }
    }
  }
  for (size_t b = 0; bins_ok && b < nbins; b++) {
    key_of(key, sizeof key, "dist", uid, (long)b);
    fig_put(fs, key, true, false, bins[b], (double)bins[b]);
  }
}

/* Every view figure must equal the cube's (the cube at the same scale,
 * fed directly); returns the mismatches and sets *compared. */
static size_t compare_view(const struct figs *view, const struct figs *cube,
                           size_t *compared) {
  size_t bad = 0;
  for (size_t i = 0; i < view->n; i++) {
    const struct fig *a = &view->f[i], *b = fig_get(cube, a->key);
    (*compared)++;
    /* the view's JSON carries 12 significant digits */
    if (b == NULL || a->has != b->has || a->supp != b->supp ||
        (a->has && (a->n != b->n || fabs(a->value - b->value) >
                                        1e-11 * fmax(1.0, fabs(b->value))))) {
      if (bad < 20)
        fprintf(stderr,
                "MISMATCH view %s: dashboard has=%d supp=%d n=%" PRId64
                " value=%.17g; cube has=%d supp=%d n=%" PRId64 " value=%.17g\n",
                a->key, a->has, a->supp, a->n, a->value, b ? b->has : -1,
                b ? b->supp : -1, b ? b->n : -1, b ? b->value : -1.0);
      bad++;
    }
  }
  return bad;
}

/* The projection: the same simulation again, as slot.opened / slot.booked
 * / visit.completed events in time order through dashboard_apply (the
 * schedule measures T3 from the books daily at 08:00), then
 * dashboard_view_json for the country and the station, timed; its figures
 * must equal the directly fed cube's. Returns the mismatches. */
static size_t view_phase(const struct params *p, const struct org *org,
                         const struct figs *cube_c, const struct figs *cube_s,
                         const char *station_id, long reps) {
  struct profs keep = {0};
  struct data d2 = {0};
  struct evrec *ev = NULL, *sorted;
  size_t nev = 0, k = 0, bad = 0, compared = 0, fails = 0;
  int32_t mn = INT32_MAX, mx = INT32_MIN;
  struct zone_cache z;
  struct dashboard *db = NULL;
  struct error err;
  double t0, t_feed;
  int64_t tick;
  struct buf out;
  double v50[2], v99[2];
  size_t vlen[2] = {0, 0};
  generate(p, &d2, &keep);
  mem_free(d2.v);
  mem_free(d2.t);
  for (size_t i = 0; i < keep.n; i++)
    for (uint32_t j = 0; j < keep.p[i].n; j++) {
      const struct slot *sl = &keep.p[i].sl[j];
      int32_t vd = sl->start / 1440;
      nev += 1 + sl->booked + (sl->booked && vd >= p->y0 && vd <= p->y1);
    }
  ev = mem_alloc((nev ? nev : 1) * sizeof *ev);
  for (size_t i = 0; i < keep.n; i++) {
    const struct prof *pr = &keep.p[i];
    for (uint32_t j = 0; j < pr->n; j++)
      ev[k++] =
          (struct evrec){pr->sl[j].start - pr->horizon * 1440, (uint16_t)i,
                         (uint16_t)(EVK_OPEN << SLOT_BITS | j)};
    for (uint32_t j = 0; j < pr->n; j++)
      if (pr->sl[j].booked)
        ev[k++] = (struct evrec){pr->sl[j].booked_at, (uint16_t)i,
                                 (uint16_t)(EVK_BOOK << SLOT_BITS | j)};
    for (uint32_t j = 0; j < pr->n; j++) {
      int32_t vd = pr->sl[j].start / 1440;
      if (pr->sl[j].booked && vd >= p->y0 && vd <= p->y1)
        ev[k++] = (struct evrec){pr->sl[j].start, (uint16_t)i,
                                 (uint16_t)(EVK_VISIT << SLOT_BITS | j)};
    }
  }
  for (size_t i = 0; i < nev; i++) {
    mn = ev[i].minute < mn ? ev[i].minute : mn;
    mx = ev[i].minute > mx ? ev[i].minute : mx;
  }
  /* time order (stable: per professional, a slot's opening comes first) */
  {
    size_t nb = (size_t)(mx - mn) + 2;
    size_t *pos = mem_calloc(nb, sizeof *pos);
    sorted = mem_alloc((nev ? nev : 1) * sizeof *sorted);
    for (size_t i = 0; i < nev; i++)
      pos[ev[i].minute - mn + 1]++;
    for (size_t i = 0; i + 1 < nb; i++)
      pos[i + 1] += pos[i];
    for (size_t i = 0; i < nev; i++)
      sorted[pos[ev[i].minute - mn]++] = ev[i];
    mem_free(pos);
    mem_free(ev);
  }
  /* the cache covers every event and every slot's start */
  for (size_t i = 0; i < keep.n; i++)
    if (keep.p[i].n > 0 && keep.p[i].sl[keep.p[i].n - 1].start > mx)
      mx = keep.p[i].sl[keep.p[i].n - 1].start;
  z.d0 = mn / 1440 - 1;
  z.n = mx / 1440 - z.d0 + 3;
  z.off = mem_alloc((size_t)z.n * sizeof *z.off);
  for (int32_t i = 0; i < z.n; i++) {
    int64_t ms;
    if (chrono_from_local(z.d0 + i, 12, 0, 0, &ms) != 0)
      exit(1);
    z.off[i] = ((int64_t)(z.d0 + i) * 1440 + 720) * 60000 - ms;
  }
  if (dashboard_new(org, NULL, &db, &err) != 0) {
    fprintf(stderr, "dashboard_new: %s\n", err.msg);
    exit(1);
  }
  printf("\nprojection: %zu events (slot.opened, slot.booked, "
         "visit.completed) in time order through dashboard_apply ...\n",
         nev);
  fflush(stdout);
  t0 = now_ms();
  for (size_t i = 0; i < nev; i++) {
    const struct evrec *e = &sorted[i];
    const struct prof *pr = &keep.p[e->prof];
    uint32_t j = e->code & ((1u << SLOT_BITS) - 1), kind = e->code >> SLOT_BITS;
    const struct slot *sl = &pr->sl[j];
    struct event x;
    event_init(&x);
    memcpy(x.channel, "gen", 4);
    x.occurred_at = utc_of(&z, e->minute);
    x.local_date = e->minute / 1440;
    snprintf(x.unit, sizeof x.unit, "s%04u", pr->station);
    snprintf(x.attrs.professional, sizeof x.attrs.professional, "p%05u",
             e->prof);
    snprintf(x.attrs.prof_group, sizeof x.attrs.prof_group, "%s",
             pr->grp ? "nurse" : "physician");
    snprintf(x.attrs.slot, sizeof x.attrs.slot, "%05x%05x", e->prof, j);
    x.attrs.slot_start = utc_of(&z, sl->start);
    x.attrs.slot_end = x.attrs.slot_start + 20 * 60000;
    snprintf(x.attrs.contact_channel, sizeof x.attrs.contact_channel, "%s",
             sl->remote ? EVENT_CONTACT_PHONE : EVENT_CONTACT_IN_PERSON);
    snprintf(x.source_key, sizeof x.source_key, "%c%05x%05x", "obv"[kind],
             e -> prof, j);
    if (kind == EVK_VISIT) {
      x.kind = EV_VISIT_COMPLETED;
      snprintf(x.subject, sizeof x.subject, "%05x%05x", e->prof, j);
      snprintf(x.attrs.appointment, sizeof x.attrs.appointment, "%05x%05x",
               e->prof, j);
      x.attrs.assessed_at = sl->hta != NO_DAY ? utc_of(&z, sl->booked_at) : 0;
      x.attrs.contact_at =
          sl->contact != NO_DAY ? utc_of(&z, sl->contact * 1440 + 480) : 0;
      x.attrs.age_years = sl->age;
      x.attrs.flags =
          (sl->flags & ACCESS_URGENT ? EVENT_F_URGENT : 0) |
          (sl->flags & ACCESS_CARE_PLAN ? EVENT_F_CARE_PLAN : 0) |
          (sl->flags & ACCESS_CERTIFICATE ? EVENT_F_CERTIFICATE : 0) |
          (sl->flags & ACCESS_SPECIALIST ? EVENT_F_SPECIALIST : 0) |
          (sl->flags & ACCESS_PROMOTION ? EVENT_F_PROMOTION : 0) |
          (sl->remote ? EVENT_F_REMOTE : 0);
    } else {
      x.kind = kind == EVK_OPEN ? EV_SLOT_OPENED : EV_SLOT_BOOKED;
      x.attrs.flags = EVENT_F_BOOKABLE | (sl->urgent ? EVENT_F_URGENT : 0) |
                      (sl->remote ? EVENT_F_REMOTE : 0);
    }
    if (dashboard_apply(db, &x, &err) != 0 && fails++ == 0)
      fprintf(stderr, "dashboard_apply (%s): %s\n", event_kind_name(x.kind),
              err.msg);
  }
  tick = utc_of(&z, p->y1 * 1440 + 1380);
  if (dashboard_tick(db, tick, &err) != 0 && fails++ == 0)
    fprintf(stderr, "dashboard_tick: %s\n", err.msg);
  t_feed = now_ms() - t0;
  printf("  applied in %.1f s (%.2f M events/s), %zu visits counted, %zu "
         "failures; peak RSS %ld MiB\n",
         t_feed / 1e3, (double)nev / t_feed / 1e3, dashboard_visit_count(db),
         fails, peak_rss_mb());
  mem_free(sorted);
  for (size_t i = 0; i < keep.n; i++)
    mem_free(keep.p[i].sl);
  mem_free(keep.p);
  bad += fails;

  buf_init(&out, 64u << 20);
  printf("%-34s | %12s | %12s | %12s | %12s\n", "health-station dashboard",
         "country p50", "country p99", "station p50", "station p99");
  for (int u = 0; u < 2; u++) {
    struct dashboard_query q;
    const char *param = NULL;
    double *tm = mem_alloc((size_t)reps * sizeof *tm);
    struct figs vf = {0};
    json_t *view;
    memset(&q, 0, sizeof q);
    q.dashboard = DASHBOARD_HEALTH_STATIONS;
    q.unit = u == 0 ? NULL : station_id;
    q.period = "month";
    q.at = "2025-06-30";
    q.now = tick;
    for (long r = 0; r < reps; r++) {
      double a;
      buf_reset(&out);
      a = now_ms();
      if (dashboard_view_json(db, &q, &out, &param, &err) != 0) {
        fprintf(stderr, "dashboard_view_json: %s\n", err.msg);
        exit(1);
      }
      tm[r] = now_ms() - a;
    }
    vlen[u] = out.len;
    pct(tm, (size_t)reps, &v50[u], &v99[u]);
    mem_free(tm);
    view = json_loadb(out.data, out.len, 0, NULL);
    if (view == NULL)
      exit(1);
    put_views(view, u == 0 ? "fi" : station_id, p->y0, &vf);
    json_decref(view);
    bad += compare_view(&vf, u == 0 ? cube_c : cube_s, &compared);
    mem_free(vf.f);
  }
  buf_release(&out);
  printf("%-34s | %9.3f ms | %9.3f ms | %9.3f ms | %9.3f ms   (%zu / %zu "
         "bytes of JSON, %ld reps)\n",
         "dashboard_view_json (whole view)", v50[0], v99[0], v50[1], v99[1],
         vlen[0], vlen[1], reps);
  printf("  view figures from 2024-07 on equal to the directly fed cube's "
         "(to the 12 significant digits of the JSON): %zu compared, %zu "
         "mismatches (T3 here measured by the product's schedule from the "
         "slot events)\n",
         compared, bad);
  mem_free(z.off);
  dashboard_free(db);
  return bad;
}

/* ------------------------------------------------------------ a world */

/* An organisation at some scale, its generated year and the cube fed
 * directly from it, with the dashboard's figures from the cube. */
struct world {
  struct params p;
  struct org *org;
  struct data d;
  struct indicator_cube *cube;
  struct dash dash;
  int station;
  size_t station_unit, children[MAX_COUNTIES];
  const char *child_ids[MAX_COUNTIES];
  struct figs cube_c, cube_s;
};

static void world_build(struct world *w, double scale,
                        const struct access_rules *rules,
                        const struct indicator_catalogue *cat) {
  struct params *p = &w->p;
  struct data *d = &w->d;
  size_t *unit_of;
  double t0, t_gen, t_feed;
  char id[32];
  memset(w, 0, sizeof *w);
  p->y0 = chrono_days_from_civil(2024, 7, 1);
  p->y1 = chrono_days_from_civil(2025, 6, 30);
  plan_org(p, scale);
  w->org = build_org(p);
  printf("scale %.3g: %d stations (Kanta-Häme %d x %d at scale 1), %d "
         "municipalities, %d areas, %d counties, %zu units\n",
         scale, p->nstations, KH_STATIONS, NATION_FACTOR, p->nmunis, p->nareas,
         p->ncounties, org_unit_count(w->org));
  t0 = now_ms();
  generate(p, d, NULL);
  t_gen = now_ms() - t0;
  {
    size_t nu = 0, nh = 0;
    int64_t cens = 0;
    for (size_t i = 0; i < d->nv; i++) {
      nu += (d->v[i].flags & ACCESS_URGENT) != 0;
      nh += d->v[i].hta != NO_DAY;
    }
    for (size_t i = 0; i < d->nt; i++)
      cens += d->t[i].censored;
    printf("generated in %.1f s: %zu visits (%zu urgent, %zu with an HTA), "
           "%zu T3 measurements (%" PRId64 " censored)\n",
           t_gen / 1e3, d->nv, nu, nh, d->nt, cens);
  }
  /* the cube, fed directly: access_assess + indicator_feed_visit, and
   * indicator_feed_t3 */
  w->cube = indicator_cube_new(w->org, cat);
  unit_of = mem_alloc((size_t)p->nstations * sizeof *unit_of);
  for (int s = 0; s < p->nstations; s++) {
    snprintf(id, sizeof id, "s%04d", s);
    unit_of[s] = org_unit_find(w->org, id)->index;
  }
  t0 = now_ms();
  for (size_t i = 0; i < d->nv; i++) {
    const struct visit *v = &d->v[i];
    struct access_visit av = {
        v->vday, v->hta, v->contact, v->age, ACCESS_PRIMARY_CARE, v->flags};
    struct access_result res;
    if (access_assess(rules, &av, &res) != 0 ||
        indicator_feed_visit(w->cube, unit_of[v->station],
                             v->grp ? T3_NURSE : T3_PHYSICIAN, &av, &res,
                             1) != 0) {
      fprintf(stderr, "cannot feed visit %zu\n", i);
      exit(1);
    }
  }
  for (size_t i = 0; i < d->nt; i++) {
    const struct t3row *t = &d->t[i];
    struct t3_value a = {t->days, t->censored != 0};
    struct t3_value b = {t->inp, t->inp >= T3_CAP};
    if (indicator_feed_t3(w->cube, unit_of[t->station], t->day,
                          t->grp ? T3_NURSE : T3_PHYSICIAN, &a, &b, 1) != 0) {
      fprintf(stderr, "cannot feed T3 row %zu\n", i);
      exit(1);
    }
  }
  t_feed = now_ms() - t0;
  w->station = p->nstations / 2;
  w->station_unit = unit_of[w->station];
  mem_free(unit_of);
  printf("cube fed in %.1f s (%.2f M events/s), %.0f MiB\n", t_feed / 1e3,
         (double)(d->nv + d->nt) / t_feed / 1e3,
         (double)indicator_cube_memory(w->cube) / 1048576.0);
  /* the dashboard: the month of 2025-06-30 and the 12 before it */
  w->dash.cube = w->cube;
  w->dash.cat = cat;
  w->dash.rules = rules;
  w->dash.org = w->org;
  for (int m = 0; m < TREND; m++) {
    int mi = 2025 * 12 + 5 - (TREND - 1 - m);
    int y = mi / 12, mo = mi % 12 + 1;
    w->dash.m_from[m] = chrono_days_from_civil(y, mo, 1);
    w->dash.m_to[m] =
        chrono_days_from_civil(y, mo, chrono_days_in_month(y, mo));
  }
  w->dash.wait_hta[0] =
      (size_t)indicator_measure_find(cat, "wait_hta.physician");
  w->dash.wait_hta[1] = (size_t)indicator_measure_find(cat, "wait_hta.nurse");
  for (int c = 0; c < p->ncounties; c++) {
    snprintf(id, sizeof id, "c%02d", c);
    w->children[c] = org_unit_find(w->org, id)->index;
    w->child_ids[c] = org_unit_at(w->org, w->children[c])->id;
  }
  dash_cube(&w->dash, 0, w->children, (size_t)p->ncounties, &w->cube_c);
  dash_cube(&w->dash, w->station_unit, NULL, 0, &w->cube_s);
}

static void world_free(struct world *w) {
  mem_free(w->d.v);
  mem_free(w->d.t);
  mem_free(w->cube_c.f);
  mem_free(w->cube_s.f);
  indicator_cube_free(w->cube);
  org_free(w->org);
  mem_free(w->p.station_muni);
  mem_free(w->p.muni_area);
  mem_free(w->p.area_county);
  mem_free(w->p.rho);
  mem_free(w->p.tol);
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv) {
  const char *dir, *script = NULL;
  double scale = env_double("TK_BENCH_SCALE", 1.0);
  long reps = env_long("TK_BENCH_REPS", 2000);
  long dreps = env_long("TK_BENCH_DUCKDB_REPS", 5);
  long sreps = env_long("TK_BENCH_SQLITE_REPS", 1);
  const char *node = getenv("TK_BENCH_NODE") ? getenv("TK_BENCH_NODE") : "node";
  struct params p;
  struct data d;
  struct access_rules *rules = NULL;
  struct indicator_catalogue *cat = NULL;
  struct indicator_cube *cube;
  struct org *org;
  struct error err;
  struct dash dash;
  size_t country, station_unit, children[MAX_COUNTIES];
  const char *child_ids[MAX_COUNTIES];
  int station = 0;
  int32_t cal_from;
  double t0, t_csv;
  struct figs cube_c = {0}, cube_s = {0};
  struct world w;
  double vscale = env_double("TK_BENCH_VIEW_SCALE", 0.25);
  size_t bad = 0;
  struct buf verdict, verdict_dates, bins;
  double c50[2], c99[2];
  size_t nbins;

  if (argc < 2) {
    fprintf(stderr,
            "usage: bench_dashboard_national WORKDIR [DUCKDB_SCRIPT]\n");
    return 2;
  }
  dir = argv[1];
  if (argc > 2)
    script = argv[2];
  if (reps < 10)
    reps = 10;
  if (access_rules_builtin(&rules, &err) != 0 ||
      indicator_catalogue_builtin(rules, &cat, &err) != 0) {
    fprintf(stderr, "cannot load the catalogue: %s\n", err.msg);
    return 1;
  }
  world_build(&w, scale, rules, cat);
  p = w.p;
  d = w.d;
  org = w.org;
  cube = w.cube;
  dash = w.dash;
  station = w.station;
  station_unit = w.station_unit;
  memcpy(children, w.children, sizeof children);
  memcpy(child_ids, w.child_ids, sizeof child_ids);
  cube_c = w.cube_c;
  cube_s = w.cube_s;
  country = 0;
  nbins = access_bins_count(rules);
  cal_from = p.y0 - 400;
  /* what the data look like: T3 and waits per station in the last month */
  {
    static const char *const shown[] = {"t3_physician", "t3_nurse",
                                        "wait_physician_median",
                                        "care_guarantee_primary_care"};
    double *vals = mem_alloc((size_t)p.nstations * sizeof *vals);
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
      const struct indicator_def *def = indicator_find(cat, shown[k]);
      struct indicator_point pt;
      size_t nv = 0, over60 = 0;
      for (int s = 0; s < p.nstations; s++) {
        char id[16];
        snprintf(id, sizeof id, "s%04d", s);
        if (indicator_value(cube, def, org_unit_find(org, id)->index,
                            dash.m_from[TREND - 1], dash.m_to[TREND - 1], &pt,
                            &err) == 0 &&
            pt.has_value) {
          vals[nv++] = pt.value;
          over60 += pt.value > 60;
        }
      }
      if (nv == 0)
        continue;
      qsort(vals, nv, sizeof *vals, cmp_d);
      printf("  %-28s per station, June 2025: min %.1f, median %.1f, max "
             "%.1f %s",
             shown[k], vals[0], vals[nv / 2], vals[nv - 1], def->unit);
      if (strcmp(def->unit, "days") == 0)
        printf(" (%zu stations over 60)", over60);
      printf("\n");
    }
    mem_free(vals);
  }
  {
    double *tm = mem_alloc((size_t)reps * sizeof *tm), chk = 0;
    for (int u = 0; u < 2; u++) {
      for (long r = 0; r < reps; r++) {
        double a = now_ms();
        chk += u == 0 ? dash_cube(&dash, country, children, (size_t)p.ncounties,
                                  NULL)
                      : dash_cube(&dash, station_unit, NULL, 0, NULL);
        tm[r] = now_ms() - a;
      }
      pct(tm, (size_t)reps, &c50[u], &c99[u]);
    }
    mem_free(tm);
    printf("cube: %zu figures per country dashboard (%zu panels x (value + "
           "%d-month trend + %d children) + %zu bins), %zu per station; "
           "checksum %.6g\n",
           cube_c.n, NPANELS, TREND, p.ncounties, nbins, cube_s.n, chk);
  }

  /* the raw events, once, for the SQL engines */
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create '%s': %s\n", dir, strerror(errno));
    return 1;
  }
  t0 = now_ms();
  write_csvs(dir, &p, &d, cal_from);
  t_csv = now_ms() - t0;
  printf("raw events written as CSV in %.1f s (%s)\n", t_csv / 1e3, dir);

  buf_init(&verdict, 1u << 16);
  buf_init(&verdict_dates, 1u << 16);
  buf_init(&bins, 1u << 12);
  verdict_sql(rules, false, &verdict);
  verdict_sql(rules, true, &verdict_dates);
  bin_sql(rules, "(x.vday - x.hta)", &bins);

  printf("\n%-34s | %12s | %12s | %12s | %12s\n", "health-station dashboard",
         "country p50", "country p99", "station p50", "station p99");
  printf("%-34s | %9.3f ms | %9.3f ms | %9.3f ms | %9.3f ms\n",
         "tilannekuva cube", c50[0], c99[0], c50[1], c99[1]);
  fflush(stdout);

  /* SQLite */
  if (sreps > 0) {
    sqlite3 *db;
    struct sqq qc, qs;
    struct sqlfigs sf;
    struct figs fc = {0}, fsf = {0};
    double load, s50[2], s99[2];
    double *tm = mem_alloc((size_t)(sreps * 10) * sizeof *tm);
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
      return 1;
    t0 = now_ms();
    sq_load(db, &p, &d, cal_from);
    load = now_ms() - t0;
    sq_prepare(db, -1, buf_str(&verdict), buf_str(&bins), &qc);
    sq_prepare(db, station, buf_str(&verdict), buf_str(&bins), &qs);
    for (int u = 0; u < 2; u++) {
      long n = u == 0 ? sreps : sreps * 10;
      for (long r = 0; r < n; r++) {
        double a = now_ms();
        sq_dashboard(&dash, u == 0 ? &qc : &qs, u == 0 ? -1 : station, &sf);
        tm[r] = now_ms() - a;
      }
      pct(tm, (size_t)n, &s50[u], &s99[u]);
      if (u == 0)
        sql_to_figs(&dash, &sf, "fi", child_ids, (size_t)p.ncounties, nbins,
                    &fc);
      else
        sql_to_figs(&dash, &sf, org_unit_at(org, station_unit)->id, NULL, 0,
                    nbins, &fsf);
    }
    printf("%-34s | %9.1f ms | %9.1f ms | %9.3f ms | %9.3f ms   (load %.1f s, "
           "%ld/%ld reps)\n",
           "SQLite SQL (in memory)", s50[0], s99[0], s50[1], s99[1], load / 1e3,
           sreps, sreps * 10);
    printf("%-34s | %11.0fx | %11.0fx | %11.0fx | %11.0fx\n",
           "  cube faster by", s50[0] / c50[0], s99[0] / c99[0],
           s50[1] / c50[1], s99[1] / c99[1]);
    bad += compare("sqlite", &cube_c, &fc);
    bad += compare("sqlite", &cube_s, &fsf);
    sq_finalize(&qc);
    sq_finalize(&qs);
    sqlite3_close(db);
    mem_free(fc.f);
    mem_free(fsf.f);
    mem_free(tm);
    fflush(stdout);
  }
  mem_free(d.v);
  d.v = NULL;

  /* DuckDB */
  if (script != NULL && dreps > 0) {
    char path[1024], cmd[4096];
    json_t *params, *out;
    json_error_t jerr;
    FILE *f;
    struct buf res;
    char chunk[65536];
    size_t got;
    params = json_pack(
        "{s:s,s:s,s:s,s:s,s:[],s:[i,i],s:i,s:s,s:s,s:i,s:i}", "visits_csv",
        "visits.csv", "t3_csv", "t3.csv", "stations_csv", "stations.csv",
        "calendar_csv", "calendar.csv", "months", "at", dash.m_from[TREND - 1],
        dash.m_to[TREND - 1], "station", station, "verdict_sql",
        buf_str(&verdict_dates), "bin_sql", buf_str(&bins), "reps_country",
        (int)dreps, "reps_station", (int)(dreps * 3));
    for (int m = 0; m < TREND; m++)
      json_array_append_new(json_object_get(params, "months"),
                            json_pack("[i,i]", dash.m_from[m], dash.m_to[m]));
    json_object_set_new(params, "dir", json_string(dir));
    snprintf(path, sizeof path, "%s/params.json", dir);
    if (json_dump_file(params, path, JSON_INDENT(1)) != 0)
      return 1;
    json_decref(params);
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'", node, script, path);
    f = popen(cmd, "r");
    if (f == NULL)
      return 1;
    buf_init(&res, 1u << 26);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
      if (buf_append(&res, chunk, got) != 0)
        return 1;
    if (pclose(f) != 0) {
      fprintf(stderr, "the DuckDB script failed\n");
      return 1;
    }
    out = json_loadb(res.data, res.len, 0, &jerr);
    if (out == NULL) {
      fprintf(stderr, "cannot read the DuckDB script's output: %s\n",
              jerr.text);
      return 1;
    }
    {
      struct sqlfigs sf;
      struct figs fc = {0}, fsf = {0};
      json_t *cj = json_object_get(out, "country"),
             *sj = json_object_get(out, "station");
      double d50[2] = {json_number_value(json_object_get(cj, "p50_ms")),
                       json_number_value(json_object_get(sj, "p50_ms"))};
      double d99[2] = {json_number_value(json_object_get(cj, "p99_ms")),
                       json_number_value(json_object_get(sj, "p99_ms"))};
      duck_figs(&dash, json_object_get(cj, "figures"), &sf);
      sql_to_figs(&dash, &sf, "fi", child_ids, (size_t)p.ncounties, nbins, &fc);
      duck_figs(&dash, json_object_get(sj, "figures"), &sf);
      sql_to_figs(&dash, &sf, org_unit_at(org, station_unit)->id, NULL, 0,
                  nbins, &fsf);
      printf("%-34s | %9.1f ms | %9.1f ms | %9.3f ms | %9.3f ms   (load %.1f "
             "s, %ld/%ld reps, DuckDB %s)\n",
             "DuckDB SQL (@duckdb/node-api)", d50[0], d99[0], d50[1], d99[1],
             json_number_value(json_object_get(out, "load_ms")) / 1e3, dreps,
             dreps * 3,
             json_string_value(json_object_get(out, "version"))
                 ? json_string_value(json_object_get(out, "version"))
                 : "?");
      printf("%-34s | %11.0fx | %11.0fx | %11.0fx | %11.0fx\n",
             "  cube faster by", d50[0] / c50[0], d99[0] / c99[0],
             d50[1] / c50[1], d99[1] / c99[1]);
      printf("goal: the cube at least 20x faster than DuckDB at p50: country "
             "%s (%.0fx), station %s (%.0fx)\n",
             d50[0] / c50[0] >= 20 ? "met" : "NOT met", d50[0] / c50[0],
             d50[1] / c50[1] >= 20 ? "met" : "NOT met", d50[1] / c50[1]);
      bad += compare("duckdb", &cube_c, &fc);
      bad += compare("duckdb", &cube_s, &fsf);
      mem_free(fc.f);
      mem_free(fsf.f);
    }
    json_decref(out);
    buf_release(&res);
  }
  if (vscale > scale)
    vscale = scale; /* never more than the main run (quick runs) */
  if (vscale > 0) {
    if (vscale == scale) {
      bad += view_phase(&p, org, &cube_c, &cube_s,
                        org_unit_at(org, station_unit)->id, reps / 10 + 1);
    } else {
      struct world vw;
      printf("\nthe projection at scale %.3g (TK_BENCH_VIEW_SCALE; the "
             "event feed takes about 20 GiB and 15 minutes at scale 1):\n",
             vscale);
      world_build(&vw, vscale, rules, cat);
      bad +=
          view_phase(&vw.p, vw.org, &vw.cube_c, &vw.cube_s,
                     org_unit_at(vw.org, vw.station_unit)->id, reps / 10 + 1);
      world_free(&vw);
    }
  }
  printf("values: %zu cube figures compared with each engine, %zu "
         "mismatches\n",
         cube_c.n + cube_s.n, bad);
  printf("peak RSS of this process: %ld MiB\n", peak_rss_mb());
  buf_release(&verdict);
  buf_release(&verdict_dates);
  buf_release(&bins);
  mem_free(cube_c.f);
  mem_free(cube_s.f);
  mem_free(d.t);
  indicator_cube_free(cube);
  indicator_catalogue_free(cat);
  access_rules_free(rules);
  org_free(org);
  mem_free(p.station_muni);
  mem_free(p.muni_area);
  mem_free(p.area_county);
  mem_free(p.rho);
  mem_free(p.tol);
  return bad ? 1 : 0;
}
