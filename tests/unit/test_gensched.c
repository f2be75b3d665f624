/* test_gensched.c -- the synthetic appointment books (gensched.c).
 *
 * Everything generated is run through the project's real consumers: each
 * SIU message through hl7_parse and siu_map (the events then into a
 * schedule projection, whose T3 is measured with schedule_t3), each FHIR
 * Bundle through fhir_parse and the FHIR mappers (Schedule, Slot,
 * Appointment, Encounter). The checks are on values: byte-identical output
 * for a seed, time order, slots on working days within 08:00-16:00,
 * temporary identity codes, contact <= needs assessment <= visit with the
 * assessment within 3 working days of the contact, ages spread over 0-95
 * with people just under and over 23, strained stations' T3 over 60 days and
 * the others' under 20. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "chrono.h"
#include "fhir.h"
#include "gensched.h"
#include "hetu.h"
#include "hl7.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "replay.h"
#include "schedule.h"
#include "siu.h"

/* A small county: three stations (one of them strained), an SIU and a FHIR
 * channel. */
static const char SMALL_ORG[] =
    "{\"id\":\"t\",\"name\":{\"fi\":\"Testi\"},\"units\":["
    "{\"id\":\"t\",\"type\":\"county\",\"name\":{\"fi\":\"Testi\"}},"
    "{\"id\":\"t-109\",\"type\":\"municipality\",\"parent\":\"t\","
    "\"municipality\":\"109\",\"population\":30000,\"name\":{\"fi\":\"H\"}},"
    "{\"id\":\"t-ts1\",\"type\":\"health_station\",\"parent\":\"t-109\","
    "\"name\":{\"fi\":\"TS1\"}},"
    "{\"id\":\"t-ts2\",\"type\":\"health_station\",\"parent\":\"t-109\","
    "\"name\":{\"fi\":\"TS2\"}},"
    "{\"id\":\"t-ts3\",\"type\":\"health_station\",\"parent\":\"t-109\","
    "\"name\":{\"fi\":\"TS3\"}}],"
    "\"channels\":["
    "{\"id\":\"t-sched\",\"type\":\"hl7v2\",\"sender\":{\"application\":"
    "\"GEN\",\"facility\":\"T\"},\"locations\":{\"TS1\":\"t-ts1\","
    "\"TS2\":\"t-ts2\",\"TS3\":\"t-ts3\"}},"
    "{\"id\":\"t-fhir\",\"type\":\"fhir\",\"locations\":{"
    "\"Location/TS1\":\"t-ts1\",\"Location/TS2\":\"t-ts2\","
    "\"Location/TS3\":\"t-ts3\"}}]}";

struct fx {
  struct org *small, *kh;
  struct privacy_keys *keys;
  char dir[64];
  char path[128];
};

static int setup(void **state) {
  struct fx *f = mem_calloc(1, sizeof *f);
  struct error err;
  error_clear(&err);
  snprintf(f->dir, sizeof f->dir, "/tmp/test_gensched.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/keys", f->dir);
  if (privacy_keyfile_create(f->path, &err) != 0 ||
      privacy_keys_load(f->path, &f->keys, &err) != 0 ||
      org_load_json(SMALL_ORG, strlen(SMALL_ORG), &f->small, &err) != 0 ||
      org_load_builtin("kanta-hame", &f->kh, &err) != 0) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char p[512];
  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL) {
    struct stat sb;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
      rm_tree(p);
    else
      unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static int teardown(void **state) {
  struct fx *f = *state;
  org_free(f->small);
  org_free(f->kh);
  privacy_keys_free(f->keys);
  rm_tree(f->dir);
  mem_free(f);
  return 0;
}

static int32_t day_of(int y, int m, int d) {
  return chrono_days_from_civil(y, m, d);
}

/* ------------------------------------------------------------ checker */

struct check {
  const struct org *org;
  const struct org_channel *ch, *fch;
  const struct privacy_keys *keys;
  struct hl7_msg *msg;
  struct schedule *sched;
  struct fhir_schedules *fs;
  /* T3 at t0, measured when the first message after t0 arrives */
  int64_t t0;
  bool measured;
  const struct gensched_station *st;
  size_t nst;
  double t3[64];
  int64_t t3_n[64];
  /* counts */
  uint64_t hash, siu, fhir, events, slot_events, visits, with_hta, with_contact,
      temporary, urgent_visits, remote_visits, excluded;
  uint64_t kinds[EV__COUNT];
  uint64_t ages[120], age_22, age_23;
  uint64_t fhir_types[4]; /* Schedule, Slot, Appointment, Encounter */
  uint64_t fhir_visits, fhir_visits_hta;
  int64_t last_t, last_fhir_t;
  bool map_siu, map_fhir;
};

static uint64_t fnv(uint64_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static void measure(struct check *c) {
  for (size_t i = 0; i < c->nst; i++) {
    struct t3_summary sum;
    struct error err;
    error_clear(&err);
    assert_int_equal(schedule_t3(c->sched, c->st[i].unit->id, T3_PHYSICIAN,
                                 c->t0, NULL, &sum, &err),
                     0);
    assert_true(sum.thl.has_value);
    c->t3[i] = sum.thl.median;
    c->t3_n[i] = sum.n;
  }
  c->measured = true;
}

/* Local minutes after midnight of 'ms'. */
static int local_minute(int64_t ms) {
  struct chrono_local l;
  chrono_to_local(ms, &l);
  return l.hour * 60 + l.minute;
}

static void check_event(struct check *c, const struct event *ev) {
  struct error err;
  error_clear(&err);
  c->events++;
  c->kinds[ev->kind]++;
  if (ev->kind == EV_SLOT_OPENED || ev->kind == EV_SLOT_BOOKED ||
      ev->kind == EV_SLOT_RELEASED || ev->kind == EV_SLOT_REMOVED) {
    int32_t d = chrono_local_date(ev->attrs.slot_start);
    c->slot_events++;
    assert_true(calendar_is_arkipaiva(d));
    assert_int_equal(chrono_local_date(ev->attrs.slot_end), d);
    assert_true(local_minute(ev->attrs.slot_start) >= 8 * 60);
    assert_true(local_minute(ev->attrs.slot_end) <= 16 * 60);
    assert_true(ev->attrs.slot_end > ev->attrs.slot_start);
    if (c->sched != NULL)
      assert_int_equal(schedule_apply(c->sched, ev, &err), 0);
  }
  if (ev->kind == EV_VISIT_COMPLETED) {
    c->visits++;
    if (ev->attrs.flags & EVENT_F_TEMPORARY_ID)
      c->temporary++;
    if (ev->attrs.flags & EVENT_F_URGENT)
      c->urgent_visits++;
    if (ev->attrs.flags & EVENT_F_REMOTE)
      c->remote_visits++;
    if (ev->attrs.flags & (EVENT_F_CARE_PLAN | EVENT_F_CERTIFICATE |
                           EVENT_F_SPECIALIST | EVENT_F_PROMOTION))
      c->excluded++;
    if (ev->attrs.assessed_at != 0) {
      c->with_hta++;
      assert_true(ev->attrs.assessed_at <= ev->occurred_at);
      assert_true(ev->attrs.age_years >= 0 && ev->attrs.age_years < 120);
      c->ages[ev->attrs.age_years]++;
      if (ev->attrs.age_years == 22)
        c->age_22++;
      if (ev->attrs.age_years == 23)
        c->age_23++;
    }
    if (ev->attrs.contact_at != 0) {
      int32_t cd = chrono_local_date(ev->attrs.contact_at);
      c->with_contact++;
      assert_true(ev->attrs.assessed_at != 0);
      assert_true(ev->attrs.contact_at <= ev->attrs.assessed_at);
      assert_true(chrono_local_date(ev->attrs.assessed_at) <=
                  calendar_add_workdays(cd, 3));
    }
  }
}

static int siu_sink(struct check *c, const char *data, size_t len) {
  struct hl7_error herr;
  struct adt_result res;
  struct adt_error e;
  int64_t t = 0;
  assert_int_equal(replay_msg_time(data, len, &t), 0);
  assert_true(t >= c->last_t);
  c->last_t = t;
  if (!c->map_siu)
    return 0;
  if (c->t0 != 0 && !c->measured && t > c->t0)
    measure(c);
  assert_int_equal(hl7_parse(data, len, c->msg, &herr), 0);
  assert_true(siu_handles(c->msg));
  memset(&e, 0, sizeof e);
  if (siu_map(c->msg, c->org, c->ch, c->keys, t, &res, &e) != 0) {
    fprintf(stderr, "siu_map: %s (%.*s)\n", e.text,
            (int)(len > 300 ? 300 : len), data);
    fail();
  }
  assert_true(res.n >= 1);
  for (size_t i = 0; i < res.n; i++)
    check_event(c, &res.ev[i]);
  return 0;
}

static int fhir_sink(struct check *c, const char *data, size_t len) {
  json_t *b, *entries, *en;
  struct fhir_issue iss;
  size_t i;
  int64_t t;
  if (!c->map_fhir)
    return 0;
  memset(&iss, 0, sizeof iss);
  assert_int_equal(fhir_parse(data, len, &b, &iss), 0);
  assert_string_equal(fhir_resource_type(b), "Bundle");
  assert_string_equal(json_string_value(json_object_get(b, "type")),
                      "transaction");
  entries = json_object_get(b, "entry");
  assert_true(json_array_size(entries) >= 1);
  json_array_foreach(entries, i, en) {
    json_t *res = json_object_get(en, "resource");
    json_t *req = json_object_get(en, "request");
    const char *type = fhir_resource_type(res);
    const char *id = json_string_value(json_object_get(res, "id"));
    const char *url = json_string_value(json_object_get(req, "url"));
    char want[160];
    struct event ev[2];
    size_t n = 0;
    const char *upd = json_string_value(
        json_object_get(json_object_get(res, "meta"), "lastUpdated"));
    assert_non_null(id);
    assert_true(strlen(id) < FHIR_ID_MAX);
    snprintf(want, sizeof want, "%s/%s", type, id);
    assert_string_equal(url, want);
    assert_string_equal(json_string_value(json_object_get(req, "method")),
                        "PUT");
    assert_non_null(upd);
    assert_int_equal(chrono_parse_iso(upd, strlen(upd), &t, NULL), 0);
    assert_true(t >= c->last_fhir_t);
    c->last_fhir_t = t;
    if (strcmp(type, "Schedule") == 0) {
      struct fhir_schedule s;
      assert_int_equal(
          fhir_schedule_map(res, c->org, c->fch, c->keys, &s, &iss), 0);
      assert_int_equal(fhir_schedules_put(c->fs, &s), 0);
      c->fhir_types[0]++;
    } else if (strcmp(type, "Slot") == 0) {
      const char *status = json_string_value(json_object_get(res, "status"));
      if (fhir_slot_map(res, c->fch, c->keys, c->fs, t, &ev[0], &iss) != 0) {
        fprintf(stderr, "Slot: %s %s\n", iss.expression, iss.diagnostics);
        fail();
      }
      assert_int_equal(ev[0].kind, strcmp(status, "busy") == 0
                                       ? EV_SLOT_BOOKED
                                       : EV_SLOT_OPENED);
      c->fhir_types[1]++;
    } else if (strcmp(type, "Appointment") == 0) {
      const char *status = json_string_value(json_object_get(res, "status"));
      if (fhir_appointment_map(res, c->org, c->fch, c->keys, t, ev, &n, &iss) !=
          0) {
        fprintf(stderr, "Appointment: %s %s\n", iss.expression,
                iss.diagnostics);
        fail();
      }
      assert_int_equal(n, 1);
      if (strcmp(status, "cancelled") == 0)
        assert_int_equal(ev[0].kind, EV_APPOINTMENT_CANCELLED);
      else if (strcmp(status, "noshow") == 0)
        assert_int_equal(ev[0].kind, EV_APPOINTMENT_NOSHOW);
      else
        assert_int_equal(ev[0].kind, EV_APPOINTMENT_BOOKED);
      assert_true(ev[0].unit[0] != '\0');
      assert_true(ev[0].subject[0] != '\0');
      c->fhir_types[2]++;
    } else if (strcmp(type, "Encounter") == 0) {
      if (fhir_encounter_map(res, c->org, c->fch, c->keys, t, ev, &n, &iss) !=
          0) {
        fprintf(stderr, "Encounter: %s %s\n", iss.expression, iss.diagnostics);
        fail();
      }
      assert_int_equal(n, 1);
      assert_int_equal(ev[0].kind, EV_VISIT_COMPLETED);
      assert_true(ev[0].attrs.flags & EVENT_F_TEMPORARY_ID);
      if (ev[0].attrs.assessed_at != 0) {
        c->fhir_visits_hta++;
        assert_true(ev[0].attrs.assessed_at <= ev[0].occurred_at);
        assert_true(ev[0].attrs.age_years >= 0);
      }
      if (ev[0].attrs.contact_at != 0)
        assert_true(ev[0].attrs.contact_at <= ev[0].attrs.assessed_at);
      c->fhir_visits++;
      c->fhir_types[3]++;
    } else {
      fail_msg("unexpected resource type %s", type);
    }
  }
  json_decref(b);
  return 0;
}

static int sink(void *ctx, int kind, int32_t day, const char *data,
                size_t len) {
  struct check *c = ctx;
  (void)day;
  assert_true(kind == GENSCHED_SIU || kind == GENSCHED_FHIR);
  c->hash = fnv(c->hash, (const char *)&kind, sizeof kind);
  c->hash = fnv(c->hash, data, len);
  if (kind == GENSCHED_SIU) {
    c->siu++;
    return siu_sink(c, data, len);
  }
  c->fhir++;
  return fhir_sink(c, data, len);
}

static void check_init(struct check *c, const struct fx *f,
                       const struct org *org, const char *ch, const char *fch) {
  memset(c, 0, sizeof *c);
  c->org = org;
  c->ch = org_channel_find(org, ch);
  c->fch = fch != NULL ? org_channel_find(org, fch) : NULL;
  c->keys = f->keys;
  c->msg = mem_alloc(sizeof *c->msg);
  c->sched = schedule_new();
  c->fs = fhir_schedules_new();
  c->hash = 1469598103934665603ULL;
  assert_non_null(c->ch);
}

static void check_free(struct check *c) {
  mem_free(c->msg);
  schedule_free(c->sched);
  fhir_schedules_free(c->fs);
}

/* ------------------------------------------------------------ tests */

static void small_opts(struct gensched_options *o, const struct fx *f) {
  memset(o, 0, sizeof *o);
  o->org = f->small;
  o->from = day_of(2025, 3, 3);
  o->days = 4;
  o->seed = 7;
  o->horizon_days = 35;
}

static void test_deterministic(void **state) {
  struct fx *f = *state;
  struct gensched_options o;
  struct gensched_stats s1, s2;
  struct check a, b, c;
  struct error err;
  error_clear(&err);
  small_opts(&o, f);
  check_init(&a, f, f->small, "t-sched", "t-fhir");
  check_init(&b, f, f->small, "t-sched", "t-fhir");
  check_init(&c, f, f->small, "t-sched", "t-fhir");
  o.stats = &s1;
  assert_int_equal(gensched_stream(&o, true, sink, &a, &err), 0);
  o.stats = &s2;
  assert_int_equal(gensched_stream(&o, true, sink, &b, &err), 0);
  assert_int_equal(a.hash, b.hash);
  assert_int_equal(a.siu, b.siu);
  assert_int_equal(a.fhir, b.fhir);
  assert_int_equal(s1.messages, a.siu);
  assert_int_equal(s1.bundles, a.fhir);
  assert_memory_equal(&s1, &s2, sizeof s1);
  /* one SIU message and one Bundle per change, plus the Schedules */
  assert_int_equal(a.fhir, a.siu + 1);
  assert_int_equal(s1.messages, s1.census + s1.opened + s1.booked +
                                    s1.released + s1.cancelled + s1.noshows +
                                    s1.visits);
  assert_true(s1.census > 1000);
  assert_true(s1.visits > 100);
  assert_true(s1.cancelled > 0 && s1.noshows > 0 && s1.released > 0);
  assert_int_equal(s1.stations, 3);
  /* another seed, other bytes */
  o.seed = 8;
  o.stats = NULL;
  assert_int_equal(gensched_stream(&o, true, sink, &c, &err), 0);
  assert_true(c.hash != a.hash);
  check_free(&a);
  check_free(&b);
  check_free(&c);
}

/* Every SIU message and FHIR Bundle of the small county through the real
 * mappers. */
static void test_maps(void **state) {
  struct fx *f = *state;
  struct gensched_options o;
  struct gensched_stats st;
  struct check c;
  struct error err;
  error_clear(&err);
  small_opts(&o, f);
  o.days = 10;
  o.stats = &st;
  check_init(&c, f, f->small, "t-sched", "t-fhir");
  c.map_siu = true;
  c.map_fhir = true;
  assert_int_equal(gensched_stream(&o, true, sink, &c, &err), 0);
  assert_int_equal(c.siu, st.messages);
  /* the events */
  assert_int_equal(c.kinds[EV_VISIT_COMPLETED], st.visits);
  assert_int_equal(c.kinds[EV_APPOINTMENT_NOSHOW], st.noshows);
  assert_int_equal(c.kinds[EV_APPOINTMENT_CANCELLED], st.cancelled);
  assert_int_equal(c.kinds[EV_SLOT_RELEASED], st.cancelled);
  assert_true(c.kinds[EV_APPOINTMENT_BOOKED] >= st.booked);
  /* every visit has a temporary identity code; most an assessment */
  assert_int_equal(c.temporary, c.visits);
  assert_true(c.with_hta > c.visits * 9 / 10);
  assert_true(c.with_contact == c.with_hta);
  assert_true(c.urgent_visits > c.visits / 10 &&
              c.urgent_visits < c.visits / 2);
  assert_true(c.remote_visits > c.visits / 20 &&
              c.remote_visits < c.visits / 3);
  assert_true(c.excluded > 0 && c.excluded < c.visits / 4);
  /* FHIR: every type, the visits the same as over SIU */
  assert_int_equal(c.fhir_types[0], st.professionals);
  assert_true(c.fhir_types[1] > 1000);
  assert_true(c.fhir_types[2] > 100);
  assert_int_equal(c.fhir_types[3], st.visits);
  assert_int_equal(c.fhir_visits, c.visits);
  assert_int_equal(c.fhir_visits_hta, c.with_hta);
  assert_int_equal(st.resources, c.fhir_types[0] + c.fhir_types[1] +
                                     c.fhir_types[2] + c.fhir_types[3]);
  check_free(&c);
}

/* Kanta-Häme: strained stations' T3 over 60 days, the others' under 20,
 * measured from the SIU events a week after the first day; and the ages. */
static void test_t3_kanta_hame(void **state) {
  struct fx *f = *state;
  struct gensched_options o;
  struct gensched_station st[64];
  struct check c;
  struct error err;
  size_t n = 0, nstrained = 0, nordinary = 0;
  uint64_t spread = 0;
  error_clear(&err);
  memset(&o, 0, sizeof o);
  o.org = f->kh;
  o.from = day_of(2025, 3, 3);
  o.days = 9;
  o.seed = 1;
  assert_int_equal(gensched_stations(&o, st, 64, &n, &err), 0);
  assert_int_equal(n, 16);
  check_init(&c, f, f->kh, "kh-sched", NULL);
  c.map_siu = true;
  c.st = st;
  c.nst = n;
  assert_int_equal(t3_measure_time(day_of(2025, 3, 10), 8, 0, &c.t0), 0);
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), 0);
  assert_true(c.measured);
  for (size_t i = 0; i < n; i++) {
    assert_true(c.t3_n[i] >= 2);
    assert_int_equal(c.t3_n[i], st[i].professionals[T3_PHYSICIAN]);
    if (st[i].strained) {
      nstrained++;
      assert_true(st[i].lead_days[T3_PHYSICIAN] >= 60);
      if (!(c.t3[i] > 60))
        fail_msg("strained %s: T3 %.1f", st[i].unit->id, c.t3[i]);
    } else {
      nordinary++;
      if (!(c.t3[i] < 20 && c.t3[i] >= 1))
        fail_msg("ordinary %s: T3 %.1f", st[i].unit->id, c.t3[i]);
    }
  }
  assert_true(nstrained >= 2 && nstrained <= 4);
  assert_true(nordinary >= 12);
  /* ages on the assessment date: 0..95, 22 and 23 both present */
  for (int a = 0; a < 96; a += 10) {
    uint64_t k = 0;
    for (int b = a; b < a + 10 && b < 120; b++)
      k += c.ages[b];
    if (k > 0)
      spread++;
  }
  assert_int_equal(spread, 10);
  assert_true(c.ages[0] > 0);
  assert_true(c.ages[95] + c.ages[96] > 0);
  assert_true(c.age_22 > 10 && c.age_23 > 10);
  check_free(&c);
}

/* gensched_run writes day files that replay reads back in the same order. */
static void test_run_files(void **state) {
  struct fx *f = *state;
  struct gensched_options o;
  struct gensched_stats st;
  struct check c;
  struct error err;
  struct replay *rp = NULL;
  char siu[128], fh[160], path[256];
  const char *msg;
  size_t len, nmsg = 0;
  int64_t t;
  uint64_t h = 1469598103934665603ULL;
  int kind = GENSCHED_SIU;
  struct stat sb;
  error_clear(&err);
  small_opts(&o, f);
  o.days = 3;
  o.stats = &st;
  snprintf(siu, sizeof siu, "%s/siu", f->dir);
  snprintf(fh, sizeof fh, "%s/fhir", f->dir);
  assert_int_equal(gensched_run(&o, siu, fh, &err), 0);
  assert_int_equal(st.files, 6);
  snprintf(path, sizeof path, "%s/siu-2025-03-05.hl7", siu);
  assert_int_equal(stat(path, &sb), 0);
  snprintf(path, sizeof path, "%s/fhir-2025-03-03.ndjson", fh);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(replay_open(siu, &rp, &err), 0);
  assert_int_equal(replay_file_count(rp), 3);
  while (replay_next(rp, &msg, &len, &t, &err) == 1) {
    h = fnv(h, (const char *)&kind, sizeof kind);
    h = fnv(h, msg, len);
    nmsg++;
  }
  replay_close(rp);
  assert_int_equal(nmsg, st.messages);
  check_init(&c, f, f->small, "t-sched", NULL);
  o.stats = NULL;
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), 0);
  assert_int_equal(c.hash, h);
  check_free(&c);
  /* no output directory */
  assert_int_equal(gensched_run(&o, NULL, NULL, &err), ERR_INVAL);
}

struct lu_count {
  uint64_t schedules, schedule_bundles, bundles, siu;
};

static int lu_sink(void *ctx, int kind, int32_t day, const char *data,
                   size_t len) {
  struct lu_count *c = ctx;
  json_t *b, *en;
  struct fhir_issue iss;
  size_t i;
  (void)day;
  if (kind == GENSCHED_SIU) {
    c->siu++;
    return 0;
  }
  c->bundles++;
  if (len < 200 || strstr(data, "\"resourceType\":\"Schedule\"") == NULL)
    return 0;
  assert_int_equal(fhir_parse(data, len, &b, &iss), 0);
  c->schedule_bundles++;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    assert_string_equal(fhir_resource_type(json_object_get(en, "resource")),
                        "Schedule");
    c->schedules++;
  }
  json_decref(b);
  return 0;
}

/* Länsi-Uusimaa: every health station on both channels; its 348 Schedules
 * come in Bundles of at most GENSCHED_SCHEDULES_PER_BUNDLE. */
static void test_lansi_uusimaa(void **state) {
  struct org *org = NULL;
  struct gensched_options o;
  struct gensched_station st[64];
  struct gensched_stats s;
  struct lu_count c;
  struct error err;
  size_t n = 0, stations = 0;
  const struct org_channel *sch, *fch;
  (void)state;
  error_clear(&err);
  assert_int_equal(org_load_builtin("lansi-uusimaa", &org, &err), 0);
  sch = org_channel_find(org, "lu-sched");
  fch = org_channel_find(org, "lu-fhir");
  assert_non_null(sch);
  assert_non_null(fch);
  assert_string_equal(sch->facility, "LANSI-UUSIMAA-AJANVARAUS");
  for (size_t i = 0; i < org_unit_count(org); i++) {
    const struct org_unit *u = org_unit_at(org, i);
    if (strcmp(u->type, "health_station") != 0)
      continue;
    stations++;
    assert_non_null(org_channel_location_code(org, sch, u));
    assert_non_null(org_channel_location_code(org, fch, u));
  }
  assert_int_equal(stations, 22);
  memset(&o, 0, sizeof o);
  o.org = org;
  o.from = day_of(2025, 3, 3);
  o.days = 1;
  o.seed = 3;
  o.horizon_days = GENSCHED_MIN_HORIZON;
  o.stats = &s;
  assert_int_equal(gensched_stations(&o, st, 64, &n, &err), 0);
  assert_int_equal(n, 22);
  memset(&c, 0, sizeof c);
  assert_int_equal(gensched_stream(&o, true, lu_sink, &c, &err), 0);
  assert_int_equal(s.stations, 22);
  assert_int_equal(c.schedules, s.professionals);
  assert_int_equal(c.schedule_bundles,
                   (s.professionals + GENSCHED_SCHEDULES_PER_BUNDLE - 1) /
                       GENSCHED_SCHEDULES_PER_BUNDLE);
  assert_true(c.schedule_bundles >= 2);
  assert_int_equal(c.siu, s.messages);
  assert_int_equal(c.bundles, s.bundles);
  org_free(org);
}

static void test_bad_options(void **state) {
  struct fx *f = *state;
  struct gensched_options o;
  struct check c;
  struct error err;
  error_clear(&err);
  small_opts(&o, f);
  check_init(&c, f, f->small, "t-sched", NULL);
  o.days = 0;
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), ERR_INVAL);
  small_opts(&o, f);
  o.horizon_days = 10;
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), ERR_INVAL);
  small_opts(&o, f);
  o.channel = "t-nope";
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), ERR_NOTFOUND);
  small_opts(&o, f);
  o.fhir_channel = "t-sched"; /* not a FHIR channel */
  assert_int_equal(gensched_stream(&o, true, sink, &c, &err), ERR_NOTFOUND);
  small_opts(&o, f);
  o.org = NULL;
  o.region = "nowhere";
  assert_int_equal(gensched_stream(&o, false, sink, &c, &err), ERR_NOTFOUND);
  assert_int_equal(c.siu, 0);
  check_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deterministic), cmocka_unit_test(test_maps),
      cmocka_unit_test(test_t3_kanta_hame), cmocka_unit_test(test_run_files),
      cmocka_unit_test(test_lansi_uusimaa), cmocka_unit_test(test_bad_options),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
