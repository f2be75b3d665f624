/* test_gen.c -- the synthetic county generator (gen.c) and the HL7 file
 * reader (replay.c).
 *
 * The generated feed is checked by an independent ADT replayer written
 * here: it parses every message with the project's HL7 parser, maps every
 * point of care through the channel, and follows visits and beds message by
 * message, failing on a bed held by two visits, a bed the ward does not
 * have, or a transfer, discharge or update of a visit it has not seen. It
 * also checks the documented rates (identity-code errors, cancels), the
 * arrival shape by hour and weekday, elective admission hours, ready-for-
 * transfer markings and leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "chrono.h"
#include "gen.h"
#include "hetu.h"
#include "hl7.h"
#include "mem.h"
#include "org.h"
#include "replay.h"

/* ------------------------------------------------------------ helpers */

struct msgs {
  char **text;
  size_t *len;
  int32_t *day;
  size_t n, cap;
};

static int collect(void *ctx, int32_t day, const char *msg, size_t len) {
  struct msgs *m = ctx;
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 1024;
    m->text = mem_realloc(m->text, m->cap * sizeof *m->text);
    m->len = mem_realloc(m->len, m->cap * sizeof *m->len);
    m->day = mem_realloc(m->day, m->cap * sizeof *m->day);
  }
  m->text[m->n] = mem_strndup(msg, len);
  m->len[m->n] = len;
  m->day[m->n] = day;
  m->n++;
  return 0;
}

static void msgs_free(struct msgs *m) {
  for (size_t i = 0; i < m->n; i++)
    mem_free(m->text[i]);
  mem_free(m->text);
  mem_free(m->len);
  mem_free(m->day);
  memset(m, 0, sizeof *m);
}

static void generate(const char *region, int32_t from, int days, uint64_t seed,
                     struct msgs *out, struct gen_stats *st) {
  struct gen_options o;
  struct error err;
  memset(&o, 0, sizeof o);
  memset(out, 0, sizeof *out);
  error_clear(&err);
  o.region = region;
  o.from = from;
  o.days = days;
  o.seed = seed;
  o.stats = st;
  assert_int_equal(gen_stream(&o, collect, out, &err), 0);
  assert_true(out->n > 0);
}

/* Copies a span into a NUL-terminated buffer. */
static const char *sz(struct hl7_span s, char *buf, size_t cap) {
  size_t n = s.p == NULL ? 0 : (s.len < cap ? s.len : cap - 1);
  if (n > 0)
    memcpy(buf, s.p, n);
  buf[n] = '\0';
  return buf;
}

static struct hl7_span get(const struct hl7_msg *m, const char *seg,
                           unsigned field, unsigned comp) {
  const struct hl7_seg *s = hl7_segment(m, seg, 0);
  struct hl7_span none = {NULL, 0};
  return s == NULL ? none : hl7_get(m, s, field, 0, comp, 0);
}

static int64_t ts_of(struct hl7_span s) {
  int64_t ms = 0;
  assert_non_null(s.p);
  assert_int_equal(chrono_parse_hl7_ts(s.p, s.len, &ms, NULL), 0);
  return ms;
}

/* A small string -> int map (open addressing) for visits and beds. */
struct smap {
  char **keys;
  long *vals;
  size_t cap, n;
};

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

static long *smap_slot(struct smap *m, const char *key, bool create) {
  size_t i;
  if (create && 2 * (m->n + 1) > m->cap) {
    struct smap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->keys = mem_calloc(m->cap, sizeof *m->keys);
    m->vals = mem_calloc(m->cap, sizeof *m->vals);
    m->n = 0;
    for (size_t k = 0; k < old.cap; k++)
      if (old.keys[k] != NULL) {
        *smap_slot(m, old.keys[k], true) = old.vals[k];
        mem_free(old.keys[k]);
      }
    mem_free(old.keys);
    mem_free(old.vals);
  }
  if (m->cap == 0)
    return NULL;
  i = (size_t)(fnv(key) & (m->cap - 1));
  while (m->keys[i] != NULL) {
    if (strcmp(m->keys[i], key) == 0)
      return &m->vals[i];
    i = (i + 1) & (m->cap - 1);
  }
  if (!create)
    return NULL;
  m->keys[i] = mem_strdup(key);
  m->vals[i] = 0;
  m->n++;
  return &m->vals[i];
}

static void smap_free(struct smap *m) {
  for (size_t i = 0; i < m->cap; i++)
    mem_free(m->keys[i]);
  mem_free(m->keys);
  mem_free(m->vals);
  memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ checker */

enum vstate { V_NONE, V_PENDING, V_OPEN, V_CLOSED };

struct visit {
  enum vstate state;
  const struct org_unit *unit; /* current place */
  char bed[32];
};

struct checker {
  const struct org *org;
  const struct org_channel *ch;
  int64_t from_ms;
  struct smap visit_idx; /* visit number -> index into visits */
  struct visit *visits;
  size_t nvisits, cap;
  struct smap beds;    /* "unit|bed" -> visit index + 1, 0 free */
  struct smap ctl;     /* MSH-10 seen */
  struct smap persons; /* PID-3 -> 1 */
  /* counts */
  size_t trig[32];
  size_t census_a01, census;
  size_t ed_by_hour[24];
  double ed_weekday_sum, ed_weekend_sum;
  size_t ztk, leaves;
  size_t electives;
  size_t persons_n, persons_bad, new_separators;
};

static const char *const trig_names[] = {"A01", "A02", "A03", "A04", "A06",
                                         "A08", "A11", "A12", "A13", "A14",
                                         "A21", "A22", "A27"};

static int trig_index(struct hl7_span t) {
  for (size_t i = 0; i < sizeof trig_names / sizeof trig_names[0]; i++)
    if (hl7_span_eq(t, trig_names[i]))
      return (int)i;
  fail_msg("unexpected trigger");
  return -1;
}

static struct visit *visit_of(struct checker *c, const char *id, bool create) {
  long *slot = smap_slot(&c->visit_idx, id, create);
  if (slot == NULL)
    return NULL;
  if (*slot == 0) {
    if (c->nvisits == c->cap) {
      c->cap = c->cap ? c->cap * 2 : 1024;
      c->visits = mem_realloc(c->visits, c->cap * sizeof *c->visits);
    }
    memset(&c->visits[c->nvisits], 0, sizeof c->visits[0]);
    *slot = (long)++c->nvisits;
  }
  return &c->visits[*slot - 1];
}

/* The unit and bed of a PL field (PV1-3 or PV1-6); the unit must map. */
static const struct org_unit *place(struct checker *c, const struct hl7_msg *m,
                                    unsigned field, char *bed, size_t cap) {
  struct hl7_span poc = get(m, "PV1", field, 1);
  struct hl7_span b = get(m, "PV1", field, 3);
  const struct org_unit *u;
  assert_true(poc.len > 0);
  u = org_channel_location(c->org, c->ch, poc.p, poc.len);
  assert_non_null(u); /* every location maps through the channel */
  sz(b, bed, cap);
  if (bed[0] != '\0')
    assert_true(org_unit_has_bed(u, b.p, b.len));
  return u;
}

static void bed_key(const struct org_unit *u, const char *bed, char *out,
                    size_t cap) {
  snprintf(out, cap, "%s|%s", u->id, bed);
}

static void take(struct checker *c, struct visit *v, long vi,
                 const struct org_unit *u, const char *bed) {
  v->unit = u;
  snprintf(v->bed, sizeof v->bed, "%s", bed);
  if (bed[0] != '\0') {
    char key[160];
    long *slot;
    bed_key(u, bed, key, sizeof key);
    slot = smap_slot(&c->beds, key, true);
    /* never two patients in one bed */
    assert_true(*slot == 0 || *slot == vi + 1);
    *slot = vi + 1;
  }
}

static void leave_place(struct checker *c, struct visit *v, long vi) {
  if (v->unit != NULL && v->bed[0] != '\0') {
    char key[160];
    long *slot;
    bed_key(v->unit, v->bed, key, sizeof key);
    slot = smap_slot(&c->beds, key, false);
    assert_non_null(slot);
    assert_int_equal(*slot, vi + 1);
    *slot = 0;
  }
  v->unit = NULL;
  v->bed[0] = '\0';
}

static void same_place(const struct visit *v, const struct org_unit *u,
                       const char *bed) {
  assert_ptr_equal(v->unit, u);
  assert_string_equal(v->bed, bed);
}

static void check_identity(struct checker *c, const struct hl7_msg *m) {
  struct hl7_span id = get(m, "PID", 3, 1);
  char code[32], dob[16], sex[4];
  long *slot;
  assert_int_equal(id.len, HETU_LEN);
  assert_true(hl7_span_eq(get(m, "PID", 3, 4), "1.2.246.21"));
  assert_true(hl7_span_eq(get(m, "PID", 3, 5), "NNFIN"));
  sz(id, code, sizeof code);
  slot = smap_slot(&c->persons, code, true);
  if (*slot != 0)
    return;
  *slot = 1;
  c->persons_n++;
  {
    struct hetu_info info;
    struct error err;
    int zzz = (code[7] - '0') * 100 + (code[8] - '0') * 10 + (code[9] - '0');
    error_clear(&err);
    assert_true(zzz >= 2 && zzz <= 899);
    if (strchr("YXWVUBCDEF", code[6]) != NULL)
      c->new_separators++;
    if (hetu_check(code, HETU_LEN, chrono_days_from_civil(2100, 1, 1), &info,
                   &err) != 0) {
      /* the deliberate errors are wrong check characters, nothing else */
      assert_memory_equal(err.msg, "checksum", 8);
      c->persons_bad++;
      return;
    }
    {
      int y, mo, d;
      char want[16];
      chrono_civil_from_days(info.birth_day, &y, &mo, &d);
      snprintf(want, sizeof want, "%04d%02d%02d", y, mo, d);
      assert_string_equal(sz(get(m, "PID", 7, 1), dob, sizeof dob), want);
      sz(get(m, "PID", 8, 1), sex, sizeof sex);
      assert_int_equal(sex[0], info.sex);
    }
  }
}

static void check_message(struct checker *c, const char *text, size_t len,
                          int32_t day, int64_t *last_msh7) {
  struct hl7_msg *m = mem_alloc(sizeof *m);
  struct hl7_error he;
  char buf[64], bed[32], bed6[32];
  int64_t msh7, evn6;
  int t;
  long vi;
  struct visit *v;
  const struct org_unit *u, *u6;

  assert_int_equal(hl7_parse(text, len, m, &he), 0);
  assert_true(hl7_span_eq(m->sending_app, c->ch->application));
  assert_true(hl7_span_eq(m->sending_fac, c->ch->facility));
  assert_true(hl7_span_eq(m->version, "2.5"));
  assert_true(hl7_span_eq(m->type, "ADT"));
  assert_string_equal(hl7_segment_at(m, 0)->name, "MSH");
  assert_string_equal(hl7_segment_at(m, 1)->name, "EVN");
  assert_non_null(hl7_segment(m, "PID", 0));
  assert_non_null(hl7_segment(m, "PV1", 0));
  t = trig_index(m->trigger);
  c->trig[t]++;
  assert_true(hl7_span_eq(get(m, "EVN", 1, 1), trig_names[t]));

  /* unique control ids; MSH-7 = EVN-2, in order, in the file of its day */
  sz(m->control_id, buf, sizeof buf);
  assert_true(buf[0] != '\0');
  {
    long *slot = smap_slot(&c->ctl, buf, true);
    assert_int_equal(*slot, 0);
    *slot = 1;
  }
  msh7 = ts_of(get(m, "MSH", 7, 1));
  assert_int_equal(ts_of(get(m, "EVN", 2, 1)), msh7);
  assert_true(msh7 >= *last_msh7);
  *last_msh7 = msh7;
  assert_int_equal(chrono_local_date(msh7), day);
  evn6 = ts_of(get(m, "EVN", 6, 1));
  if (evn6 < c->from_ms) {
    assert_int_equal(msh7, c->from_ms); /* the census block */
    c->census++;
  }

  check_identity(c, m);

  sz(get(m, "PV1", 19, 1), buf, sizeof buf);
  assert_true(buf[0] != '\0');
  v = visit_of(c, buf, true);
  vi = v - c->visits;
  u = place(c, m, 3, bed, sizeof bed);

  switch (t) {
  case 0: /* A01 */
    assert_true(v->state != V_OPEN);
    take(c, v, vi, u, bed);
    v->state = V_OPEN;
    assert_string_equal(u->type, "ward");
    if (evn6 < c->from_ms)
      c->census_a01++;
    if (hl7_span_eq(get(m, "PV1", 4, 1), "C") && evn6 >= c->from_ms) {
      struct chrono_local l;
      chrono_to_local(evn6, &l);
      assert_true(chrono_weekday(l.day) <= 5);
      assert_true(l.hour >= 7 && l.hour <= 16);
      c->electives++;
    }
    break;
  case 3: /* A04 */
    assert_true(v->state != V_OPEN);
    take(c, v, vi, u, bed);
    v->state = V_OPEN;
    assert_string_equal(u->type, "ed");
    assert_true(hl7_span_eq(get(m, "PV1", 2, 1), "E"));
    if (evn6 >= c->from_ms) {
      struct chrono_local l;
      chrono_to_local(evn6, &l);
      c->ed_by_hour[l.hour]++;
      if (chrono_weekday(l.day) >= 6)
        c->ed_weekend_sum += 1;
      else
        c->ed_weekday_sum += 1;
    }
    break;
  case 4: /* A06: admitted, still in the ED */
    assert_int_equal(v->state, V_OPEN);
    same_place(v, u, bed);
    assert_true(hl7_span_eq(get(m, "PV1", 2, 1), "I"));
    break;
  case 1: /* A02 */
    assert_int_equal(v->state, V_OPEN);
    u6 = place(c, m, 6, bed6, sizeof bed6);
    same_place(v, u6, bed6);
    leave_place(c, v, vi);
    take(c, v, vi, u, bed);
    break;
  case 2: /* A03 */
  case 6: /* A11 */
    assert_int_equal(v->state, V_OPEN);
    same_place(v, u, bed);
    leave_place(c, v, vi);
    v->state = V_CLOSED;
    break;
  case 7: /* A12: back to PV1-3 from the cancelled PV1-6 */
    assert_int_equal(v->state, V_OPEN);
    u6 = place(c, m, 6, bed6, sizeof bed6);
    same_place(v, u6, bed6);
    leave_place(c, v, vi);
    take(c, v, vi, u, bed);
    break;
  case 8: /* A13 */
    assert_int_equal(v->state, V_CLOSED);
    take(c, v, vi, u, bed);
    v->state = V_OPEN;
    break;
  case 5: /* A08 */
    assert_int_equal(v->state, V_OPEN);
    same_place(v, u, bed);
    if (hl7_segment(m, "ZTK", 0) != NULL) {
      assert_true(hl7_span_eq(get(m, "ZTK", 1, 1), "Y"));
      assert_int_equal(ts_of(get(m, "ZTK", 2, 1)), evn6);
      c->ztk++;
    } else {
      assert_true(ts_of(get(m, "PV2", 9, 1)) > 0);
    }
    break;
  case 10: /* A21 */
  case 11: /* A22 */
    assert_int_equal(v->state, V_OPEN);
    same_place(v, u, bed);
    {
      const char *wt = org_unit_ward_type(u);
      assert_non_null(wt);
      assert_true(strcmp(wt, "health_centre") == 0 ||
                  strcmp(wt, "rehabilitation") == 0);
    }
    c->leaves++;
    break;
  case 9: /* A14 */
    assert_true(v->state == V_NONE || v->state == V_PENDING);
    assert_true(bed[0] == '\0');
    assert_true(ts_of(get(m, "PV2", 8, 1)) > evn6);
    v->state = V_PENDING;
    break;
  case 12: /* A27 */
    assert_int_equal(v->state, V_PENDING);
    v->state = V_CLOSED;
    break;
  default:
    break;
  }
  mem_free(m);
}

static void checker_run(struct checker *c, const char *region,
                        const struct msgs *ms, int32_t from) {
  struct error err;
  int64_t last = 0;
  memset(c, 0, sizeof *c);
  error_clear(&err);
  assert_int_equal(org_load_builtin(region, (struct org **)&c->org, &err), 0);
  c->ch = org_channel_at(c->org, 0);
  assert_int_equal(chrono_from_local(from, 0, 0, 0, &c->from_ms), 0);
  for (size_t i = 0; i < ms->n; i++)
    check_message(c, ms->text[i], ms->len[i], ms->day[i], &last);
}

static void checker_free(struct checker *c) {
  org_free((struct org *)c->org);
  smap_free(&c->visit_idx);
  smap_free(&c->beds);
  smap_free(&c->ctl);
  smap_free(&c->persons);
  mem_free(c->visits);
}

static size_t total_ward_beds(const struct org *org) {
  size_t n = 0;
  for (size_t i = 0; i < org_unit_count(org); i++) {
    const struct org_unit *u = org_unit_at(org, i);
    if (strcmp(u->type, "ward") == 0)
      n += u->nbeds;
  }
  return n;
}

/* ------------------------------------------------------------ tests */

static void test_feed_semantics(void **state) {
  int32_t from = chrono_days_from_civil(2025, 3, 3); /* a Monday */
  struct msgs ms;
  struct gen_stats st;
  struct checker c;
  double cancels, base, night = 0, peak = 0;
  (void)state;

  memset(&st, 0, sizeof st);
  generate("kanta-hame", from, 14, 7, &ms, &st);
  checker_run(&c, "kanta-hame", &ms, from);

  /* the stats agree with what was delivered */
  assert_int_equal(st.messages, ms.n);
  assert_int_equal(st.a01, c.trig[0]);
  assert_int_equal(st.a02, c.trig[1]);
  assert_int_equal(st.a03, c.trig[2]);
  assert_int_equal(st.a04, c.trig[3]);
  assert_int_equal(st.a11, c.trig[6]);
  assert_int_equal(st.a12, c.trig[7]);
  assert_int_equal(st.a13, c.trig[8]);
  assert_int_equal(st.census, c.census);
  assert_int_equal(st.ready_marks, c.ztk);

  /* every kind of message is there */
  for (size_t i = 0; i < sizeof trig_names / sizeof trig_names[0]; i++)
    if (i != 12) /* A27: only when a post-acute admission finds no bed */
      assert_true(c.trig[i] > 0);

  /* a full board from the first day: the census fills most ward beds */
  assert_true((double)c.census_a01 >= 0.7 * (double)total_ward_beds(c.org));
  assert_true(st.occupancy_pct >= 80 && st.occupancy_pct <= 100);

  /* cancels: about 1 % of admissions, transfers and discharges */
  cancels = (double)(c.trig[6] + c.trig[7] + c.trig[8]);
  base = (double)(c.trig[0] + c.trig[1] + c.trig[2] + c.trig[3]);
  assert_true(cancels / base >= 0.004 && cancels / base <= 0.016);

  /* identity codes: 0.5 % of persons have a wrong check character */
  assert_true(c.persons_n > 2000);
  assert_true((double)c.persons_bad / (double)c.persons_n >= 0.001);
  assert_true((double)c.persons_bad / (double)c.persons_n <= 0.012);
  assert_true(c.new_separators > 0);
  assert_true(c.new_separators < c.persons_n / 20);

  /* ED arrivals: late morning and afternoon busy, nights quiet, weekends
   * quieter than weekdays (per day: 10 weekdays, 4 weekend days) */
  for (int h = 2; h <= 5; h++)
    night += (double)c.ed_by_hour[h];
  for (int h = 10; h <= 13; h++)
    peak += (double)c.ed_by_hour[h];
  assert_true(peak > 2.5 * night);
  assert_true(c.ed_weekend_sum / 4 < c.ed_weekday_sum / 10);

  assert_true(c.electives > 50);
  assert_true(c.ztk > 10);
  assert_true(c.leaves > 0);

  checker_free(&c);
  msgs_free(&ms);
}

static void test_second_region(void **state) {
  int32_t from = chrono_days_from_civil(2025, 10, 20); /* DST ends on 26th */
  struct msgs ms;
  struct gen_stats st;
  struct checker c;
  (void)state;
  memset(&st, 0, sizeof st);
  generate("lansi-uusimaa", from, 8, 99, &ms, &st);
  checker_run(&c, "lansi-uusimaa", &ms, from);
  assert_true(st.occupancy_pct >= 80 && st.occupancy_pct <= 100);
  assert_true(c.trig[3] > 1000); /* a bigger county: more ED visits */
  checker_free(&c);
  msgs_free(&ms);
}

/* FNV-1a over every message and its day. */
static int hash_sink(void *ctx, int32_t day, const char *msg, size_t len) {
  uint64_t *h = ctx;
  for (size_t i = 0; i < len; i++) {
    *h ^= (unsigned char)msg[i];
    *h *= 1099511628211ULL;
  }
  *h ^= (uint64_t)(uint32_t)day;
  *h *= 1099511628211ULL;
  return 0;
}

static uint64_t stream_hash(uint64_t seed) {
  struct gen_options o;
  uint64_t h = 1469598103934665603ULL;
  memset(&o, 0, sizeof o);
  o.region = "kanta-hame";
  o.from = chrono_days_from_civil(2025, 1, 1);
  o.days = 3;
  o.seed = seed;
  o.warmup_days = 30;
  assert_int_equal(gen_stream(&o, hash_sink, &h, NULL), 0);
  return h;
}

static void test_seed_determines_output(void **state) {
  (void)state;
  assert_true(stream_hash(1) == stream_hash(1));
  assert_true(stream_hash(1) != stream_hash(2));
}

/* Reads file 'dir'/'name' whole. */
static char *slurp(const char *dir, const char *name, size_t *len) {
  char path[512];
  FILE *f;
  char *data;
  long n;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  data = mem_alloc((size_t)n + 1);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return data;
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL) {
    char path[512];
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static void make_tmp(char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(out, cap, "%s/tk-gen-XXXXXX", base ? base : "/tmp");
  assert_non_null(mkdtemp(out));
}

static void run_to(const char *dir, uint64_t seed, struct gen_stats *st) {
  struct gen_options o;
  struct error err;
  memset(&o, 0, sizeof o);
  error_clear(&err);
  o.region = "kanta-hame";
  o.from = chrono_days_from_civil(2025, 3, 29); /* DST starts on the 30th */
  o.days = 4;
  o.seed = seed;
  o.warmup_days = 60;
  o.out_dir = dir;
  o.stats = st;
  assert_int_equal(gen_run(&o, &err), 0);
}

static void test_files_identical_for_a_seed(void **state) {
  char a[256], b[256], cdir[256];
  struct gen_stats st;
  bool differs = false;
  (void)state;
  make_tmp(a, sizeof a);
  make_tmp(b, sizeof b);
  make_tmp(cdir, sizeof cdir);
  memset(&st, 0, sizeof st);
  run_to(a, 5, &st);
  assert_int_equal(st.files, 4);
  run_to(b, 5, NULL);
  run_to(cdir, 6, NULL);
  for (int32_t d = 0; d < 4; d++) {
    char name[32];
    size_t la, lb, lc;
    char *da, *db, *dc;
    gen_file_name(chrono_days_from_civil(2025, 3, 29) + d, name);
    da = slurp(a, name, &la);
    db = slurp(b, name, &lb);
    dc = slurp(cdir, name, &lc);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    differs |= la != lc || memcmp(da, dc, la) != 0;
    /* every message: MSH| at a line start, segments end in CR, then LF */
    assert_memory_equal(da, "MSH|", 4);
    assert_int_equal(da[la - 1], '\n');
    assert_int_equal(da[la - 2], '\r');
    mem_free(da);
    mem_free(db);
    mem_free(dc);
  }
  assert_true(differs);
  {
    char name[32];
    gen_file_name(chrono_days_from_civil(2025, 3, 29), name);
    assert_string_equal(name, "adt-2025-03-29.hl7");
  }

  /* replay reads back exactly what was written, in order */
  {
    struct replay *r = NULL;
    struct error err;
    const char *msg;
    size_t len, n = 0;
    int64_t t, last = 0;
    int rc;
    error_clear(&err);
    assert_int_equal(replay_open(a, &r, &err), 0);
    assert_int_equal(replay_file_count(r), 4);
    while ((rc = replay_next(r, &msg, &len, &t, &err)) == 1) {
      int64_t want;
      assert_memory_equal(msg, "MSH|", 4);
      assert_int_equal(msg[len - 1], '\r');
      assert_int_equal(replay_msg_time(msg, len, &want), 0);
      assert_int_equal(t, want);
      assert_true(t >= last);
      last = t;
      n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, st.messages);
    replay_close(r);
  }
  rm_tree(a);
  rm_tree(b);
  rm_tree(cdir);
}

static void test_options_refused(void **state) {
  struct gen_options o;
  struct error err;
  (void)state;
  memset(&o, 0, sizeof o);
  o.region = "kanta-hame";
  o.from = chrono_days_from_civil(2025, 1, 1);
  o.days = 0;
  error_clear(&err);
  assert_int_equal(gen_stream(&o, hash_sink, &(uint64_t){0}, &err), ERR_INVAL);
  o.days = 1;
  o.region = "atlantis";
  assert_int_equal(gen_stream(&o, hash_sink, &(uint64_t){0}, &err),
                   ERR_NOTFOUND);
  o.region = "kanta-hame";
  o.channel = "no-such-channel";
  assert_int_equal(gen_stream(&o, hash_sink, &(uint64_t){0}, &err),
                   ERR_NOTFOUND);
  o.channel = NULL;
  o.out_dir = NULL;
  assert_int_equal(gen_run(&o, &err), ERR_INVAL);
}

/* A sink that fails: the run stops with its code. */
static int failing_sink(void *ctx, int32_t day, const char *msg, size_t len) {
  size_t *n = ctx;
  (void)day;
  (void)msg;
  (void)len;
  return ++*n >= 10 ? ERR_IO : 0;
}

static void test_sink_failure_stops(void **state) {
  struct gen_options o;
  struct gen_stats st;
  size_t n = 0;
  (void)state;
  memset(&o, 0, sizeof o);
  memset(&st, 0, sizeof st);
  o.region = "kanta-hame";
  o.from = chrono_days_from_civil(2025, 1, 1);
  o.days = 2;
  o.warmup_days = 10;
  o.stats = &st;
  assert_int_equal(gen_stream(&o, failing_sink, &n, NULL), ERR_IO);
  assert_int_equal(n, 10);
  assert_int_equal(st.messages, 0); /* stats untouched on failure */
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  fclose(f);
}

static void test_replay_reader_formats(void **state) {
  char dir[256];
  struct replay *r = NULL;
  struct error err;
  const char *msg;
  size_t len;
  int64_t t, want;
  (void)state;
  make_tmp(dir, sizeof dir);
  error_clear(&err);
  assert_int_equal(replay_open(dir, &r, &err), ERR_NOTFOUND);
  /* b.hl7: junk before the first message, CR LF lines; a.hl7: LF only */
  write_file(dir, "b.hl7",
             "junk\r\nMSH|^~\\&|A|B|||20250301120000||ADT^A01|2|P|2.5\r\n"
             "PID|1||x\r\n\r\n");
  write_file(dir, "a.hl7",
             "MSH|^~\\&|A|B|||20250301100000+0200||ADT^A01|1|P|2.5\n"
             "EVN|A01\nMSH|^~\\&|A|B|||bad||ADT^A02|1b|P|2.5\n");
  write_file(dir, "c.txt", "MSH|^~\\&|not|read\r");
  assert_int_equal(replay_open(dir, &r, &err), 0);
  assert_int_equal(replay_file_count(r), 2);

  assert_int_equal(replay_next(r, &msg, &len, &t, &err), 1);
  assert_int_equal(replay_file_index(r), 1);
  assert_int_equal(len, strlen("MSH|^~\\&|A|B|||20250301100000+0200||ADT^A01|"
                               "1|P|2.5\nEVN|A01"));
  assert_int_equal(chrono_parse_hl7_ts("20250301080000+0000", 19, &want, NULL),
                   0);
  assert_int_equal(t, want);
  /* MSH-7 malformed: the previous message's time */
  assert_int_equal(replay_next(r, &msg, &len, &t, &err), 1);
  assert_memory_equal(msg + len - 6, "|P|2.5", 6);
  assert_int_equal(t, want);
  /* local time without an offset: Helsinki winter time, UTC+2 */
  assert_int_equal(replay_next(r, &msg, &len, &t, &err), 1);
  assert_int_equal(replay_file_index(r), 2);
  assert_memory_equal(msg, "MSH|", 4);
  assert_memory_equal(msg + len - 11, "PID|1||x\r\n\r", 11);
  assert_int_equal(chrono_parse_hl7_ts("20250301100000+0000", 19, &want, NULL),
                   0);
  assert_int_equal(t, want);
  assert_int_equal(replay_next(r, &msg, &len, &t, &err), 0);
  assert_int_equal(replay_next(r, &msg, &len, &t, &err), 0);
  replay_close(r);
  rm_tree(dir);
}

static void test_replay_fields_and_retime(void **state) {
  static const char msg[] =
      "MSH|^~\\&|TKGEN|KANTA-HAME|TK|KANTA-HAME|20250115103000+0200||ADT^A08^"
      "ADT_A01|C1|P|2.5\r"
      "EVN|A08|20250115103000+0200||||20250115102500+0200\r"
      "PID|1||131052-308T^^^1.2.246.21^NNFIN||Nimi^Etu||19521013|F\r"
      "PV1|1|I|SIS1^^3|E|||||||||||||||V1|||||||||||||||||||||||||"
      "20250110080000+0200|\r"
      "PV2||||||||20250120^x|20250117140000\r"
      "ZTK|Y|20250115102500+0200\r";
  struct buf out;
  const char *v;
  size_t vn;
  int64_t a, b;
  const int64_t shift = 200LL * 86400000 + 37 * 60000; /* into summer */
  (void)state;

  assert_true(replay_field(msg, sizeof msg - 1, "MSH", 3, &v, &vn));
  assert_int_equal(vn, 5);
  assert_memory_equal(v, "TKGEN", 5);
  assert_true(replay_field(msg, sizeof msg - 1, "MSH", 10, &v, &vn));
  assert_memory_equal(v, "C1", 2);
  assert_true(replay_field(msg, sizeof msg - 1, "PV1", 19, &v, &vn));
  assert_memory_equal(v, "V1", 2);
  assert_true(replay_field(msg, sizeof msg - 1, "PID", 3, &v, &vn));
  assert_int_equal(vn, strlen("131052-308T^^^1.2.246.21^NNFIN"));
  assert_false(replay_field(msg, sizeof msg - 1, "PV1", 99, &v, &vn));
  assert_false(replay_field(msg, sizeof msg - 1, "OBX", 1, &v, &vn));

  buf_init(&out, 1 << 16);
  assert_int_equal(replay_retime(msg, sizeof msg - 1, shift, &out, NULL), 0);
  /* every timestamp moved by the shift; summer time is written +0300 */
  assert_int_equal(replay_msg_time(msg, sizeof msg - 1, &a), 0);
  assert_int_equal(replay_msg_time(out.data, out.len, &b), 0);
  assert_int_equal(b - a, shift);
  assert_true(replay_field(out.data, out.len, "MSH", 7, &v, &vn));
  assert_int_equal(vn, 19);
  assert_memory_equal(v + 14, "+0300", 5);
  {
    static const struct {
      const char *seg;
      unsigned f;
    } moved[] = {{"EVN", 2}, {"EVN", 6}, {"PV1", 44}, {"PV2", 9}, {"ZTK", 2}};
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
      const char *ov;
      size_t on;
      int64_t x, y;
      assert_true(replay_field(msg, sizeof msg - 1, moved[i].seg, moved[i].f,
                               &ov, &on));
      assert_true(
          replay_field(out.data, out.len, moved[i].seg, moved[i].f, &v, &vn));
      assert_int_equal(chrono_parse_hl7_ts(ov, on, &x, NULL), 0);
      assert_int_equal(chrono_parse_hl7_ts(v, vn, &y, NULL), 0);
      assert_int_equal(y - x, shift);
    }
  }
  /* PV2-8 keeps its second component; other fields are untouched */
  assert_true(replay_field(out.data, out.len, "PV2", 8, &v, &vn));
  assert_memory_equal(v + vn - 2, "^x", 2);
  assert_true(replay_field(out.data, out.len, "PID", 7, &v, &vn));
  assert_memory_equal(v, "19521013", 8);
  assert_true(replay_field(out.data, out.len, "PV1", 45, &v, &vn));
  assert_int_equal(vn, 0);
  assert_true(replay_field(out.data, out.len, "PID", 3, &v, &vn));
  assert_memory_equal(v, "131052-308T^^^1.2.246.21^NNFIN", vn);
  /* the segment count and terminators are unchanged */
  {
    size_t crs = 0;
    for (size_t i = 0; i < out.len; i++)
      crs += out.data[i] == '\r';
    assert_int_equal(crs, 6);
  }
  /* a zero shift rewrites only the form of the times, not their value */
  buf_reset(&out);
  assert_int_equal(replay_retime(msg, sizeof msg - 1, 0, &out, NULL), 0);
  assert_int_equal(replay_msg_time(out.data, out.len, &b), 0);
  assert_int_equal(a, b);
  buf_release(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options_refused),
      cmocka_unit_test(test_sink_failure_stops),
      cmocka_unit_test(test_seed_determines_output),
      cmocka_unit_test(test_files_identical_for_a_seed),
      cmocka_unit_test(test_feed_semantics),
      cmocka_unit_test(test_second_region),
      cmocka_unit_test(test_replay_reader_formats),
      cmocka_unit_test(test_replay_fields_and_retime),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
