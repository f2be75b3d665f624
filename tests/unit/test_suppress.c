/* test_suppress.c -- unit tests for small-cell suppression (suppress.c) and
 * the bed board's suppressed rendering (bedboard_snapshot_render with
 * BEDBOARD_SUPPRESSED), which uses its rules.
 *
 * The predicates are checked at every boundary; the flow rewrite on a
 * hand-made flow object whose every decision is worked out in the comments;
 * the bed board on a real board fed with events, for the ward cells, the
 * derived values and the totals' complementary suppression at every level
 * of the tree, and for what a reader who combines the responses for
 * different units can compute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bedboard.h"
#include "buf.h"
#include "chrono.h"
#include "cube.h"
#include "event.h"
#include "mem.h"
#include "org.h"
#include "suppress.h"

#define BIG (16u * 1024 * 1024)

static json_t *parse(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (j == NULL)
    fail_msg("not JSON (%s): %s", je.text, text);
  return j;
}

/* The strings of array 'a' joined by ','. */
static void joined(json_t *a, char *out, size_t cap) {
  size_t i;
  json_t *v;
  out[0] = '\0';
  assert_true(json_is_array(a));
  json_array_foreach(a, i, v) {
    if (i > 0)
      strncat(out, ",", cap - strlen(out) - 1);
    strncat(out, json_string_value(v), cap - strlen(out) - 1);
  }
}

static void assert_marks(json_t *obj, const char *sup, const char *wh) {
  char s[512], w[512];
  joined(json_object_get(obj, "suppressed"), s, sizeof s);
  joined(json_object_get(obj, "withheld"), w, sizeof w);
  assert_string_equal(s, sup);
  assert_string_equal(w, wh);
}

static void assert_null_key(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || !json_is_null(v))
    fail_msg("'%s' is not null", key);
}

static void assert_int_key(json_t *obj, const char *key, json_int_t want) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v))
    fail_msg("'%s' is not an integer", key);
  assert_int_equal(json_integer_value(v), want);
}

/* ---- predicates --------------------------------------------------------- */

static void test_predicates(void **state) {
  (void)state;
  assert_false(suppress_small(-1));
  assert_false(suppress_small(0));
  for (int v = 1; v < SUPPRESS_MIN; v++)
    assert_true(suppress_small(v));
  assert_false(suppress_small(SUPPRESS_MIN));
  assert_false(suppress_small(1000));

  assert_true(suppress_set_safe(0, 0));
  /* one suppressed cell and a known sum: the cell itself */
  for (int v = 1; v < SUPPRESS_MIN; v++)
    assert_false(suppress_set_safe(1, v));
  /* two cells: 2..4 is a small sum; 5, 6, 7 leave each cell open; 8 is
   * 4 + 4 */
  assert_false(suppress_set_safe(2, 2));
  assert_false(suppress_set_safe(2, 4));
  assert_true(suppress_set_safe(2, 5));
  assert_true(suppress_set_safe(2, 7));
  assert_false(suppress_set_safe(2, 8));
  /* many cells: all ones or all fours pin every cell */
  assert_false(suppress_set_safe(5, 5));
  assert_true(suppress_set_safe(5, 6));
  assert_true(suppress_set_safe(5, 19));
  assert_false(suppress_set_safe(5, 20));
  assert_true(suppress_set_safe(3, 11));
  assert_false(suppress_set_safe(3, 12));

  /* a suppressed sum over k nonzero cells: 4 cells pin it to 1+1+1+1 */
  for (int k = 0; k < SUPPRESS_MIN - 1; k++)
    assert_true(suppress_set_safe_hidden_sum(k));
  assert_false(suppress_set_safe_hidden_sum(SUPPRESS_MIN - 1));
}

/* ---- the flow ----------------------------------------------------------- */

/* A flow object, as cube_flow_json renders it, with a three-day series.
 *  - admissions 12 = by hour 7 + 5 (no small cell: shown) = by weekday
 *    9 + 3 (one small cell against a shown total: withheld) = series
 *    4 + 6 + 2 (two small cells summing to 6: shown, cells suppressed);
 *  - discharges 7 = by hour 3 + 4 (two small, sum 7 < 8: shown) = by
 *    weekday 7 (shown) = series 0 + 7 + 0;
 *  - transfers_in 2 (suppressed) = series 1 + 0 + 1 (two nonzero parts of
 *    a suppressed sum: shown, suppressed);
 *  - transfers_out 0; transfer_delay_days 8 = series 4 + 4 + 0 (4 + 4
 *    pins both: the column is withheld);
 *  - census 3, 6, 3 against avg30 care_days 12 (two small cells summing to
 *    6: safe) and avg7 the same; today's census 3 is suppressed and its
 *    pct withheld;
 *  - los n 3 (suppressed): median, p90, mean, capped withheld; its
 *    histogram 0, 1, 2 has two nonzero cells of a suppressed sum: shown
 *    with the cells suppressed. */
static const char FLOW[] =
    "{\"unit\":\"w1\",\"type\":\"ward\",\"name\":{\"fi\":\"O\",\"sv\":\"A\","
    "\"en\":\"W\"},\"today\":\"2026-11-23\",\"from\":\"2026-11-21\","
    "\"wards\":1,\"beds\":10,"
    "\"occupancy\":{\"today\":{\"census\":3,\"pct\":30.0},"
    "\"avg7\":{\"days\":3,\"care_days\":12,\"pct\":40.0},"
    "\"avg30\":{\"days\":3,\"care_days\":12,\"pct\":40.0}},"
    "\"admissions\":12,\"transfers_in\":2,\"transfers_out\":0,"
    "\"discharges\":7,\"transfer_delay_days\":8,"
    "\"los_days\":{\"n\":3,\"median\":2.0,\"p90\":2,\"mean\":1.67,"
    "\"capped\":false,\"cap_days\":100,\"histogram\":[0,1,2]},"
    "\"admissions_by_hour\":[0,0,0,0,0,0,0,0,7,5,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
    "\"discharges_by_hour\":[0,0,0,0,0,0,0,0,0,0,3,4,0,0,0,0,0,0,0,0,0,0,0,0],"
    "\"admissions_by_weekday\":[9,3,0,0,0,0,0],"
    "\"discharges_by_weekday\":[0,7,0,0,0,0,0],"
    "\"series\":["
    "{\"date\":\"2026-11-21\",\"census\":3,\"occupancy_pct\":30.0,"
    "\"admissions\":4,\"transfers_in\":1,\"transfers_out\":0,"
    "\"discharges\":0,\"transfer_delay\":4},"
    "{\"date\":\"2026-11-22\",\"census\":6,\"occupancy_pct\":60.0,"
    "\"admissions\":6,\"transfers_in\":0,\"transfers_out\":0,"
    "\"discharges\":7,\"transfer_delay\":4},"
    "{\"date\":\"2026-11-23\",\"census\":3,\"occupancy_pct\":30.0,"
    "\"admissions\":2,\"transfers_in\":1,\"transfers_out\":0,"
    "\"discharges\":0,\"transfer_delay\":0}]}";

static void test_flow(void **state) {
  struct buf b;
  struct error err;
  json_t *j, *o, *a, *d;
  (void)state;
  buf_init(&b, BIG);
  assert_int_equal(suppress_flow_json(FLOW, strlen(FLOW), &b, &err), 0);
  j = parse(buf_str(&b));
  /* public: identity and configuration */
  assert_string_equal(json_string_value(json_object_get(j, "unit")), "w1");
  assert_int_key(j, "beds", 10);
  assert_int_key(j, "wards", 1);
  /* top-level counts */
  assert_int_key(j, "admissions", 12);
  assert_null_key(j, "transfers_in");
  assert_int_key(j, "transfers_out", 0);
  assert_int_key(j, "discharges", 7);
  assert_int_key(j, "transfer_delay_days", 8);
  assert_marks(j, "transfers_in,discharges_by_hour", "admissions_by_weekday");
  /* arrays */
  a = json_object_get(j, "admissions_by_hour");
  assert_int_equal(json_integer_value(json_array_get(a, 8)), 7);
  assert_int_equal(json_integer_value(json_array_get(a, 9)), 5);
  a = json_object_get(j, "discharges_by_hour");
  assert_true(json_is_null(json_array_get(a, 10)));
  assert_true(json_is_null(json_array_get(a, 11)));
  assert_int_equal(json_integer_value(json_array_get(a, 0)), 0);
  assert_null_key(j, "admissions_by_weekday");
  a = json_object_get(j, "discharges_by_weekday");
  assert_int_equal(json_integer_value(json_array_get(a, 1)), 7);
  /* occupancy */
  o = json_object_get(json_object_get(j, "occupancy"), "today");
  assert_null_key(o, "census");
  assert_null_key(o, "pct");
  assert_marks(o, "census", "pct");
  o = json_object_get(json_object_get(j, "occupancy"), "avg30");
  assert_int_key(o, "care_days", 12);
  assert_true(json_real_value(json_object_get(o, "pct")) == 40.0);
  assert_marks(o, "", "");
  /* length of stay */
  o = json_object_get(j, "los_days");
  assert_null_key(o, "n");
  assert_null_key(o, "median");
  assert_null_key(o, "p90");
  assert_null_key(o, "mean");
  assert_null_key(o, "capped");
  assert_int_key(o, "cap_days", 100);
  a = json_object_get(o, "histogram");
  assert_int_equal(json_integer_value(json_array_get(a, 0)), 0);
  assert_true(json_is_null(json_array_get(a, 1)));
  assert_true(json_is_null(json_array_get(a, 2)));
  assert_marks(o, "n,histogram", "median,p90,mean,capped");
  /* series */
  a = json_object_get(j, "series");
  assert_int_equal(json_array_size(a), 3);
  d = json_array_get(a, 0);
  assert_null_key(d, "census");
  assert_null_key(d, "occupancy_pct");
  assert_null_key(d, "admissions");
  assert_null_key(d, "transfers_in");
  assert_int_key(d, "transfers_out", 0);
  assert_int_key(d, "discharges", 0);
  assert_null_key(d, "transfer_delay");
  assert_marks(d, "admissions,transfers_in,census",
               "transfer_delay,occupancy_pct");
  d = json_array_get(a, 1);
  assert_int_key(d, "census", 6);
  assert_true(json_real_value(json_object_get(d, "occupancy_pct")) == 60.0);
  assert_int_key(d, "admissions", 6);
  assert_int_key(d, "discharges", 7);
  assert_null_key(d, "transfer_delay");
  assert_marks(d, "", "transfer_delay");
  json_decref(j);
  buf_release(&b);

  /* Not a flow object. */
  buf_init(&b, BIG);
  assert_int_equal(suppress_flow_json("[1]", 3, &b, &err), ERR_PARSE);
  assert_int_equal(suppress_flow_json("{\"series\":[1]}", 14, &b, &err),
                   ERR_PARSE);
  assert_int_equal(suppress_flow_json("{", 1, &b, &err), ERR_PARSE);
  buf_release(&b);
}

/* Every value the flow rewrite keeps is the original one. */
static void test_flow_keeps_shown_values(void **state) {
  struct buf b;
  struct error err;
  json_t *in, *out;
  const char *key;
  json_t *v;
  (void)state;
  buf_init(&b, BIG);
  assert_int_equal(suppress_flow_json(FLOW, strlen(FLOW), &b, &err), 0);
  in = parse(FLOW);
  out = parse(buf_str(&b));
  json_object_foreach(out, key, v) {
    if (json_is_integer(v))
      assert_true(json_equal(v, json_object_get(in, key)));
  }
  json_decref(in);
  json_decref(out);
  buf_release(&b);
}

/* ---- the bed board ------------------------------------------------------ */

/* county c: hospital h1 (wards a: 10 beds, b: 10 beds, ED e: 6 places),
 * hospital h2 (ward x: 10 beds, ward y: 4 beds), hospital h3 (ward z). */
static const char ORG_JSON[] =
    "{\"id\":\"c\",\"name\":{\"fi\":\"C\"},\"units\":["
    "{\"id\":\"c\",\"type\":\"county\",\"name\":{\"fi\":\"C\"}},"
    "{\"id\":\"h1\",\"type\":\"hospital\",\"parent\":\"c\","
    "\"name\":{\"fi\":\"H1\"}},"
    "{\"id\":\"a\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"A\"},\"beds\":10},"
    "{\"id\":\"b\",\"type\":\"ward\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"B\"},\"beds\":10},"
    "{\"id\":\"e\",\"type\":\"ed\",\"parent\":\"h1\","
    "\"name\":{\"fi\":\"E\"},\"beds\":6},"
    "{\"id\":\"h2\",\"type\":\"hospital\",\"parent\":\"c\","
    "\"name\":{\"fi\":\"H2\"}},"
    "{\"id\":\"x\",\"type\":\"ward\",\"parent\":\"h2\","
    "\"name\":{\"fi\":\"X\"},\"beds\":10},"
    "{\"id\":\"y\",\"type\":\"ward\",\"parent\":\"h2\","
    "\"name\":{\"fi\":\"Y\"},\"beds\":4},"
    "{\"id\":\"h3\",\"type\":\"hospital\",\"parent\":\"c\","
    "\"name\":{\"fi\":\"H3\"}},"
    "{\"id\":\"z\",\"type\":\"ward\",\"parent\":\"h3\","
    "\"name\":{\"fi\":\"Z\"},\"beds\":10}]}";

struct board {
  struct org *org;
  struct bedboard *bb;
  int64_t seq, t0;
};

static void admit(struct board *f, const char *unit, int n, const char *cls) {
  for (int i = 0; i < n; i++) {
    struct event e;
    struct error err;
    event_init(&e);
    e.seq = ++f->seq;
    snprintf(e.channel, sizeof e.channel, "t");
    snprintf(e.source_key, sizeof e.source_key, "m%" PRId64, e.seq);
    e.kind = EV_ADMITTED;
    e.occurred_at = f->t0 + e.seq * 1000;
    e.local_date = chrono_local_date(e.occurred_at);
    snprintf(e.unit, sizeof e.unit, "%s", unit);
    snprintf(e.episode, sizeof e.episode, "ep%" PRId64, e.seq);
    snprintf(e.subject, sizeof e.subject, "s%" PRId64, e.seq);
    snprintf(e.attrs.patient_class, sizeof e.attrs.patient_class, "%s", cls);
    e.attrs.age_band = 50;
    e.attrs.sex = 'M';
    if (bedboard_apply(f->bb, &e, &err) != 0)
      fail_msg("refused: %s", err.msg);
  }
}

static json_t *render(struct board *f, const char *unit,
                      enum bedboard_detail d) {
  struct bedboard_snapshot *s = bedboard_snapshot_get(f->bb);
  struct buf b;
  struct error err;
  json_t *j;
  buf_init(&b, BIG);
  assert_int_equal(bedboard_snapshot_render(s, unit, d, &b, &err), 0);
  bedboard_snapshot_release(s);
  j = parse(buf_str(&b));
  buf_release(&b);
  return j;
}

static json_t *ward(json_t *board, const char *id) {
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(board, "wards"), i, w) {
    if (strcmp(json_string_value(json_object_get(w, "id")), id) == 0)
      return w;
  }
  fail_msg("no ward '%s'", id);
  return NULL;
}

static int setup_board(void **state) {
  struct board *f = mem_calloc(1, sizeof *f);
  struct error err;
  if (org_load_json(ORG_JSON, strlen(ORG_JSON), &f->org, &err) != 0)
    return -1;
  f->bb = bedboard_new(f->org);
  f->t0 = chrono_now_ms() - 3600 * 1000;
  /* patients: a 3, b 6, e 2 (ED), x 7, y 2, z 9 */
  admit(f, "a", 3, "I");
  admit(f, "b", 6, "I");
  admit(f, "e", 2, "E");
  admit(f, "x", 7, "I");
  admit(f, "y", 2, "I");
  admit(f, "z", 9, "I");
  (void)bedboard_publish(f->bb, chrono_now_ms());
  *state = f;
  return 0;
}

static int teardown_board(void **state) {
  struct board *f = *state;
  bedboard_free(f->bb);
  org_free(f->org);
  mem_free(f);
  return 0;
}

static void test_board_wards(void **state) {
  struct board *f = *state;
  json_t *j = render(f, NULL, BEDBOARD_SUPPRESSED);
  json_t *w;
  size_t i;
  /* No person-level field anywhere. */
  json_array_foreach(json_object_get(j, "wards"), i, w) {
    assert_null(json_object_get(w, "patients"));
    assert_null(json_object_get(w, "waiting"));
  }
  /* a: 3 patients on 10 beds: the counts suppressed, free (7), overflow
   * and occupancy_pct withheld with them. */
  w = ward(j, "a");
  assert_int_key(w, "beds", 10);
  assert_null_key(w, "patient_count");
  assert_null_key(w, "occupied");
  assert_null_key(w, "free");
  assert_null_key(w, "overflow");
  assert_null_key(w, "occupancy_pct");
  assert_int_key(w, "awaiting_transfer", 0);
  assert_int_key(w, "on_leave", 0);
  assert_marks(w, "patient_count,occupied", "free,overflow,occupancy_pct");
  /* b: 6 patients, shown exactly. */
  w = ward(j, "b");
  assert_int_key(w, "patient_count", 6);
  assert_int_key(w, "occupied", 6);
  assert_int_key(w, "free", 4);
  assert_true(json_real_value(json_object_get(w, "occupancy_pct")) == 60.0);
  assert_marks(w, "", "");
  /* y: 2 patients on 4 beds: free (2) would reveal them. */
  w = ward(j, "y");
  assert_null_key(w, "patient_count");
  assert_null_key(w, "free");
  /* the ED: its own count suppressed. */
  w = ward(j, "e");
  assert_null_key(w, "patient_count");
  assert_marks(w, "patient_count,occupied", "free,overflow,occupancy_pct");
  json_decref(j);

  /* The same board for a person-level role without a reason: exact, no
   * rows, and no markers. */
  j = render(f, NULL, BEDBOARD_AGGREGATE);
  w = ward(j, "a");
  assert_int_key(w, "patient_count", 3);
  assert_int_key(w, "free", 7);
  assert_null(json_object_get(w, "suppressed"));
  assert_null(json_object_get(w, "patients"));
  json_decref(j);
}

/* Totals: patient_count per unit. Ward cells: a 3*, b 6, x 7, y 2*, z 9
 * (* suppressed); the ED (2*) counts only in ed_patients.
 *  - h1 = 9 and a reader who subtracts b (6) learns a = 3: withheld;
 *  - h2 = 9, minus x (7): y = 2: withheld;
 *  - h3 = 9 = z: shown;
 *  - c = 27: its hidden cells are a and y (h1 and h2 are hidden and pass
 *    theirs up): 3 + 2 = 5 over two cells, each of them open: shown.
 *  ed_patients: h1 = 2 (suppressed); c = 2 (suppressed). */
static void test_board_totals(void **state) {
  struct board *f = *state;
  struct {
    const char *unit;
    bool hidden;
    const char *sup, *wh;
  } want[] = {
      {"c", false, "ed_patients", ""},
      {"h1", true, "ed_patients",
       "patient_count,occupied,free,overflow,occupancy_pct"},
      {"h2", true, "", "patient_count,occupied,free,overflow,occupancy_pct"},
      {"h3", false, "", ""},
      {"a", true, "patient_count,occupied", "free,overflow,occupancy_pct"},
      {"z", false, "", ""},
  };
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    json_t *j = render(f, want[i].unit, BEDBOARD_SUPPRESSED);
    json_t *t = json_object_get(j, "totals");
    if (want[i].hidden)
      assert_null_key(t, "patient_count");
    else
      assert_true(json_is_integer(json_object_get(t, "patient_count")));
    assert_marks(t, want[i].sup, want[i].wh);
    json_decref(j);
  }
  {
    json_t *j = render(f, "c", BEDBOARD_SUPPRESSED);
    json_t *t = json_object_get(j, "totals");
    assert_int_key(t, "patient_count", 27);
    assert_int_key(t, "occupied", 27);
    assert_int_key(t, "free", 17);
    assert_int_key(t, "beds", 44);
    assert_int_key(t, "wards", 5);
    assert_null_key(t, "ed_patients");
    json_decref(j);
  }
}

/* A reader who holds every suppressed response (every unit) and subtracts
 * every shown total from the shown cells below it can learn only sums of
 * two or more suppressed cells, never one. */
static void test_board_no_differencing(void **state) {
  struct board *f = *state;
  static const char *const units[] = {"c", "h1", "h2", "h3", "a",
                                      "b", "x",  "y",  "z"};
  int64_t known_patients[9];
  bool shown[9];
  for (size_t i = 0; i < ARRAY_LEN(units); i++) {
    json_t *j = render(f, units[i], BEDBOARD_SUPPRESSED);
    json_t *v = json_object_get(json_object_get(j, "totals"), "patient_count");
    shown[i] = json_is_integer(v);
    known_patients[i] = shown[i] ? (int64_t)json_integer_value(v) : -1;
    json_decref(j);
  }
  /* The shown ward cells: b 6, x 7, z 9; the shown totals: c 27, h3 9. */
  assert_true(shown[0] && !shown[1] && !shown[2] && shown[3]);
  assert_true(!shown[4] && shown[5] && shown[6] && !shown[7] && shown[8]);
  /* c - (b + x + z) = a + y = 5: two cells, so (1,4), (2,3), (3,2) and
   * (4,1) all fit; h3 - z = 0 says nothing. No other equation exists. */
  assert_int_equal(known_patients[0] - known_patients[5] - known_patients[6] -
                       known_patients[8],
                   5);
  assert_int_equal(known_patients[3] - known_patients[8], 0);
}

/* The rows a person-level rendering shows are exactly those the subject
 * walk reports, for the audit log. */
static int collect(void *ctx, const char *ward_id, const char *subject) {
  struct buf *b = ctx;
  return buf_printf(b, "%s:%s;", ward_id, subject);
}

static void test_board_subjects(void **state) {
  struct board *f = *state;
  struct bedboard_snapshot *s = bedboard_snapshot_get(f->bb);
  struct buf b, want;
  struct error err;
  json_t *j;
  size_t i, k;
  json_t *w, *p;
  buf_init(&b, BIG);
  assert_int_equal(bedboard_snapshot_subjects(s, "h2", collect, &b, &err), 0);
  assert_int_equal(bedboard_snapshot_subjects(s, "nope", collect, &b, &err),
                   ERR_NOTFOUND);
  bedboard_snapshot_release(s);
  j = render(f, "h2", BEDBOARD_PERSONS);
  buf_init(&want, BIG);
  json_array_foreach(json_object_get(j, "wards"), i, w) {
    json_array_foreach(json_object_get(w, "patients"), k, p) {
      assert_int_equal(
          buf_printf(&want, "%s:%s;",
                     json_string_value(json_object_get(w, "id")),
                     json_string_value(json_object_get(p, "subject"))),
          0);
    }
    json_array_foreach(json_object_get(w, "waiting"), k, p) {
      assert_int_equal(
          buf_printf(&want, "%s:%s;",
                     json_string_value(json_object_get(w, "id")),
                     json_string_value(json_object_get(p, "subject"))),
          0);
    }
  }
  /* x has 7 patients, y 2: nine rows. */
  assert_string_equal(buf_str(&b), buf_str(&want));
  assert_non_null(strstr(buf_str(&b), "y:s"));
  {
    size_t rows = 0;
    for (const char *q = buf_str(&b); *q != '\0'; q++)
      rows += *q == ';';
    assert_int_equal(rows, 9);
  }
  json_decref(j);
  buf_release(&b);
  buf_release(&want);
}

/* ---- the flow over the organisation tree -------------------------------- */

/* county c: hospital h (wards a, b, d; an ED e), hospital g (ward w). */
static const char TREE_ORG[] =
    "{\"id\":\"c\",\"name\":{\"fi\":\"C\"},\"units\":["
    "{\"id\":\"c\",\"type\":\"county\",\"name\":{\"fi\":\"C\"}},"
    "{\"id\":\"h\",\"type\":\"hospital\",\"parent\":\"c\","
    "\"name\":{\"fi\":\"H\"}},"
    "{\"id\":\"a\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"A\"},\"beds\":10},"
    "{\"id\":\"b\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"B\"},\"beds\":20},"
    "{\"id\":\"d\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"D\"},\"beds\":20},"
    "{\"id\":\"e\",\"type\":\"ed\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"E\"},\"beds\":5},"
    "{\"id\":\"g\",\"type\":\"hospital\",\"parent\":\"c\","
    "\"name\":{\"fi\":\"G\"}},"
    "{\"id\":\"w\",\"type\":\"ward\",\"parent\":\"g\","
    "\"name\":{\"fi\":\"W\"},\"beds\":20}]}";

struct cubefx {
  struct org *org;
  struct cube *cube;
  int32_t today;
};

static int cube_flow(void *ctx, const char *unit, struct buf *out,
                     struct error *err) {
  struct cubefx *f = ctx;
  return cube_flow_json(f->cube, f->org, unit, f->today, out, err);
}

/* 'n' episodes on ward 'unit': admitted i % 9 + 1 days ago at hour
 * 7 + i % 5 (+ i minutes), discharged the next day at hour 9 + i % 3,
 * every third one ready for transfer from its first day, every fourth one
 * transferred in (and out of ward 'from'). */
static void episodes(struct cubefx *f, const char *unit, const char *from,
                     int n) {
  const struct org_unit *u = org_unit_find(f->org, unit);
  const struct org_unit *fu = org_unit_find(f->org, from);
  int64_t now = chrono_now_ms();
  for (int i = 0; i < n; i++) {
    int64_t day = 86400000;
    int64_t t = now - (i % 9 + 1) * day - (now % day) +
                (int64_t)(7 + i % 5) * 3600000 + (int64_t)i * 60000;
    int64_t end = t + day + (int64_t)(2 + i % 3) * 3600000;
    struct cube_item it[6];
    size_t k = 0;
    it[k++] = (struct cube_item){CUBE_STAY, u->index, t, end, 0};
    it[k++] = (struct cube_item){CUBE_ADMISSION, u->index, t, 0, 0};
    it[k++] = (struct cube_item){CUBE_DISCHARGE, u->index, end, 0, 1};
    if (i % 3 == 0)
      it[k++] = (struct cube_item){CUBE_READY, u->index, t, end, 0};
    if (i % 4 == 0) {
      it[k++] = (struct cube_item){CUBE_TRANSFER_IN, u->index, t, 0, 0};
      it[k++] = (struct cube_item){CUBE_TRANSFER_OUT, fu->index, t, 0, 0};
    }
    cube_apply(f->cube, it, k, +1);
  }
}

/* A count's path in a flow object, and its value (NULL for a null). */
struct leaf {
  char path[96];
  json_t *v;
};

static bool count_key(const char *key) {
  static const char *const not_counts[] = {
      "beds",   "wards", "days", "cap_days",     "p90",
      "median", "mean",  "pct",  "occupancy_pct"};
  for (size_t i = 0; i < ARRAY_LEN(not_counts); i++)
    if (strcmp(key, not_counts[i]) == 0)
      return false;
  return true;
}

/* Every integer or null count under 'j', by path. */
static void leaves(json_t *j, const char *path, struct leaf *out, size_t *n,
                   size_t cap) {
  char p[96];
  if (json_is_object(j)) {
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
      if (!count_key(key) || strcmp(key, "suppressed") == 0 ||
          strcmp(key, "withheld") == 0)
        continue;
      snprintf(p, sizeof p, "%s/%s", path, key);
      leaves(v, p, out, n, cap);
    }
  } else if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) {
      snprintf(p, sizeof p, "%s/%zu", path, i);
      leaves(v, p, out, n, cap);
    }
  } else if (json_is_integer(j) || json_is_null(j)) {
    assert_true(*n < cap);
    snprintf(out[*n].path, sizeof out[*n].path, "%s", path);
    out[*n].v = j;
    (*n)++;
  }
}

/* The value at 'path' ("/a/3/b") of 'j': an integer, null, or 0 for a
 * histogram cell left out (trailing zeros); -2 for a whole array
 * withheld, -3 for a null cell. */
static int64_t at_path(json_t *j, const char *path) {
  char buf[96], *save = NULL;
  snprintf(buf, sizeof buf, "%s", path);
  for (char *tok = strtok_r(buf, "/", &save); tok != NULL;
       tok = strtok_r(NULL, "/", &save)) {
    if (json_is_null(j))
      return -2;
    if (json_is_array(j)) {
      size_t i = (size_t)strtoul(tok, NULL, 10);
      if (i >= json_array_size(j))
        return 0;
      j = json_array_get(j, i);
    } else {
      j = json_object_get(j, tok);
    }
  }
  if (json_is_null(j))
    return -3;
  assert_true(json_is_integer(j));
  return (int64_t)json_integer_value(j);
}

static json_t *flow_of(struct cubefx *f, const char *unit, bool suppressed) {
  struct buf b;
  struct error err;
  json_t *j;
  buf_init(&b, BIG);
  if (suppressed)
    assert_int_equal(suppress_flow_tree(f->org, unit, cube_flow, f, &b, &err),
                     0);
  else
    assert_int_equal(cube_flow(f, unit, &b, &err), 0);
  j = parse(buf_str(&b));
  buf_release(&b);
  return j;
}

/* For every count of the flow, a reader who holds the suppressed answers
 * for the hospital and each of its wards and subtracts the wards shown
 * from the hospital shown learns only a sum over two or more hidden
 * cells, never one cell, never a small sum, never all of them at 1 or 4;
 * and the same for the county against its hospitals. */
static void check_parent(struct cubefx *f, const char *parent,
                         const char *const *kids, size_t nkids, size_t *checked,
                         size_t *hidden_kids) {
  json_t *ex = flow_of(f, parent, false);
  json_t *sp = flow_of(f, parent, true);
  json_t *kex[4], *ksp[4];
  struct leaf *lv = mem_calloc(4096, sizeof *lv);
  size_t n = 0;
  for (size_t k = 0; k < nkids; k++) {
    kex[k] = flow_of(f, kids[k], false);
    ksp[k] = flow_of(f, kids[k], true);
  }
  leaves(ex, "", lv, &n, 4096);
  for (size_t i = 0; i < n; i++) {
    int64_t p = at_path(sp, lv[i].path), hid_sum = 0, k = 0, small = 0;
    if (p < 0)
      continue; /* the parent is hidden: nothing to subtract from */
    for (size_t c = 0; c < nkids; c++) {
      int64_t shown = at_path(ksp[c], lv[i].path);
      int64_t exact = at_path(kex[c], lv[i].path);
      if (exact < 0)
        continue; /* not a count here (a day before the window) */
      if (shown >= 0) {
        assert_int_equal(shown, exact);
        continue;
      }
      k++;
      hid_sum += exact;
      small += suppress_small(exact);
    }
    (*checked)++;
    if (k == 0)
      continue;
    (*hidden_kids)++;
    if (k < 2 || hid_sum < SUPPRESS_MIN ||
        (small == k && !suppress_set_safe(k, hid_sum)))
      fail_msg("%s%s: %" PRId64 " shown, %" PRId64
               " hidden children sum %" PRId64,
               parent, lv[i].path, p, k, hid_sum);
  }
  for (size_t k = 0; k < nkids; k++) {
    json_decref(kex[k]);
    json_decref(ksp[k]);
  }
  json_decref(ex);
  json_decref(sp);
  mem_free(lv);
}

/* In each answer, an array or series column not withheld whole leaves its
 * suppressed cells safe against a shown margin (the per-response rule). */
static void check_rows(struct cubefx *f, const char *unit) {
  static const struct {
    const char *arr, *margin;
  } rows[] = {{"/admissions_by_hour", "/admissions"},
              {"/discharges_by_hour", "/discharges"},
              {"/admissions_by_weekday", "/admissions"},
              {"/discharges_by_weekday", "/discharges"},
              {"/los_days/histogram", "/los_days/n"}};
  json_t *ex = flow_of(f, unit, false), *sp = flow_of(f, unit, true);
  for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
    int64_t m = at_path(sp, rows[r].margin), k = 0, sum = 0;
    json_t *a = json_object_get(sp, rows[r].arr + 1);
    char p[96];
    if (strcmp(rows[r].arr, "/los_days/histogram") == 0)
      a = json_object_get(json_object_get(sp, "los_days"), "histogram");
    if (m < 0 || json_is_null(a))
      continue;
    for (size_t i = 0; i < json_array_size(a); i++) {
      snprintf(p, sizeof p, "%s/%zu", rows[r].arr, i);
      if (json_is_null(json_array_get(a, i))) {
        k++;
        sum += at_path(ex, p);
      }
    }
    if (!suppress_set_safe(k, sum))
      fail_msg("%s%s: %" PRId64 " cells sum %" PRId64, unit, rows[r].arr, k,
               sum);
  }
  json_decref(ex);
  json_decref(sp);
}

/* Builds the cube with na, nb, nd, nw episodes on a, b, d, w and runs
 * every check; returns how many parent cells were shown and checked. */
static size_t run_tree(int na, int nb, int nd, int nw, size_t *hidden) {
  struct cubefx f;
  struct error err;
  static const char *const hkids[] = {"a", "b", "d", "e"};
  static const char *const ckids[] = {"h", "g"};
  static const char *const all[] = {"c", "h", "a", "b", "d", "e", "g", "w"};
  size_t checked = 0;
  assert_int_equal(org_load_json(TREE_ORG, strlen(TREE_ORG), &f.org, &err), 0);
  f.cube = cube_new(f.org, CUBE_DEFAULT_DAYS);
  f.today = chrono_local_date(chrono_now_ms());
  episodes(&f, "a", "b", na);
  episodes(&f, "b", "d", nb);
  episodes(&f, "d", "a", nd);
  episodes(&f, "w", "b", nw);
  *hidden = 0;
  check_parent(&f, "h", hkids, ARRAY_LEN(hkids), &checked, hidden);
  check_parent(&f, "c", ckids, ARRAY_LEN(ckids), &checked, hidden);
  for (size_t i = 0; i < ARRAY_LEN(all); i++)
    check_rows(&f, all[i]);
  {
    /* Admissions: each ward's own count, small ones suppressed. */
    const char *w[] = {"a", "b", "d", "w"};
    int nv[] = {na, nb, nd, nw};
    for (size_t i = 0; i < ARRAY_LEN(w); i++) {
      json_t *j = flow_of(&f, w[i], true);
      if (suppress_small(nv[i]))
        assert_null_key(j, "admissions");
      else
        assert_int_key(j, "admissions", nv[i]);
      json_decref(j);
    }
  }
  cube_free(f.cube);
  org_free(f.org);
  return checked;
}

/* One ward with small counts among large ones: for every figure of the
 * flow, the hospital's shown value minus its wards' shown values never
 * yields a's (or any) suppressed cell, nor does the county's minus the
 * other hospital's. Here the hospital's admissions (33 = 3 + 23 + 7)
 * would give a's 3 back: withheld. */
static void test_flow_tree_one_small(void **state) {
  size_t hidden, checked;
  struct cubefx f;
  struct error err;
  json_t *j;
  (void)state;
  checked = run_tree(3, 23, 7, 30, &hidden);
  assert_true(checked > 0);
  assert_int_equal(org_load_json(TREE_ORG, strlen(TREE_ORG), &f.org, &err), 0);
  f.cube = cube_new(f.org, CUBE_DEFAULT_DAYS);
  f.today = chrono_local_date(chrono_now_ms());
  episodes(&f, "a", "b", 3);
  episodes(&f, "b", "d", 23);
  episodes(&f, "d", "a", 7);
  episodes(&f, "w", "b", 30);
  j = flow_of(&f, "h", true);
  assert_null_key(j, "admissions");
  assert_true(json_is_array(json_object_get(j, "withheld")));
  json_decref(j);
  /* The county (63) minus g (30) would give h back. */
  j = flow_of(&f, "c", true);
  assert_null_key(j, "admissions");
  json_decref(j);
  j = flow_of(&f, "g", true);
  assert_int_key(j, "admissions", 30);
  json_decref(j);
  cube_free(f.cube);
  org_free(f.org);
}

/* Two small wards (3 and 4 episodes: 7 over two cells, each open): the
 * hospital's totals are shown, and every shown figure still passes. */
static void test_flow_tree_two_small(void **state) {
  size_t hidden, checked;
  struct cubefx f;
  struct error err;
  json_t *j;
  (void)state;
  checked = run_tree(3, 23, 4, 30, &hidden);
  /* Shown at the hospital or the county: the scalars, the histogram, the
   * occupancy averages and more (42 in all), 7 of them over hidden ward
   * cells (two or more, summing to 5 or more). */
  assert_true(checked >= 40);
  assert_true(hidden >= 5);
  assert_int_equal(org_load_json(TREE_ORG, strlen(TREE_ORG), &f.org, &err), 0);
  f.cube = cube_new(f.org, CUBE_DEFAULT_DAYS);
  f.today = chrono_local_date(chrono_now_ms());
  episodes(&f, "a", "b", 3);
  episodes(&f, "b", "d", 23);
  episodes(&f, "d", "a", 4);
  episodes(&f, "w", "b", 30);
  j = flow_of(&f, "h", true);
  assert_int_key(j, "admissions", 30);
  assert_int_key(j, "discharges", 30);
  assert_int_key(json_object_get(j, "los_days"), "n", 30);
  json_decref(j);
  cube_free(f.cube);
  org_free(f.org);
}

/* Exhaustively, for a county over one hospital over three wards and one
 * figure: every combination of ward counts 0..8. A reader who holds all
 * five answers and knows that a suppressed cell is 1..4, a withheld one
 * at least 5, and that every parent is the sum of its children, must be
 * left with at least two values for every suppressed cell. */
struct tiny {
  struct org *org;
  int64_t v[3];
  int64_t skew; /* added to h and k: the cube moved between reads */
  int fail;     /* nonzero: the callback's error */
};

static int tiny_flow(void *ctx, const char *unit, struct buf *out,
                     struct error *err) {
  struct tiny *t = ctx;
  int64_t v = t->v[0] + t->v[1] + t->v[2] + t->skew;
  if (t->fail != 0)
    return error_set(err, t->fail, "not loaded");
  if (unit[0] >= 'a' && unit[0] <= 'c' && unit[1] == '\0')
    v = t->v[unit[0] - 'a'];
  return buf_printf(out, "{\"unit\":\"%s\",\"admissions\":%" PRId64 "}", unit,
                    v);
}

static const char TINY_ORG[] =
    "{\"id\":\"k\",\"name\":{\"fi\":\"K\"},\"units\":["
    "{\"id\":\"k\",\"type\":\"county\",\"name\":{\"fi\":\"K\"}},"
    "{\"id\":\"h\",\"type\":\"hospital\",\"parent\":\"k\","
    "\"name\":{\"fi\":\"H\"}},"
    "{\"id\":\"a\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"A\"},\"beds\":10},"
    "{\"id\":\"b\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"B\"},\"beds\":10},"
    "{\"id\":\"c\",\"type\":\"ward\",\"parent\":\"h\","
    "\"name\":{\"fi\":\"C\"},\"beds\":10}]}";

/* -1 shown as null suppressed, -2 withheld, else the value. */
static int64_t tiny_answer(struct tiny *t, const char *unit) {
  struct buf b;
  struct error err;
  json_t *j, *v, *sup;
  int64_t out;
  buf_init(&b, BIG);
  assert_int_equal(suppress_flow_tree(t->org, unit, tiny_flow, t, &b, &err), 0);
  j = parse(buf_str(&b));
  v = json_object_get(j, "admissions");
  sup = json_object_get(j, "suppressed");
  if (json_is_integer(v))
    out = (int64_t)json_integer_value(v);
  else
    out = json_array_size(sup) > 0 ? -1 : -2;
  json_decref(j);
  buf_release(&b);
  return out;
}

static bool fits(int64_t answer, int64_t v) {
  if (answer == -1)
    return suppress_small(v);
  if (answer == -2)
    return v >= SUPPRESS_MIN;
  return answer == v;
}

static void test_flow_tree_exhaustive(void **state) {
  struct tiny t = {NULL, {0, 0, 0}, 0, 0};
  struct error err;
  size_t cases = 0, suppressed = 0;
  (void)state;
  assert_int_equal(org_load_json(TINY_ORG, strlen(TINY_ORG), &t.org, &err), 0);
  for (int x = 0; x <= 8; x++)
    for (int y = 0; y <= 8; y++)
      for (int z = 0; z <= 8; z++) {
        int64_t ans[3], ah, ak;
        int64_t lo[3] = {99, 99, 99}, hi[3] = {-1, -1, -1};
        t.v[0] = x;
        t.v[1] = y;
        t.v[2] = z;
        ans[0] = tiny_answer(&t, "a");
        ans[1] = tiny_answer(&t, "b");
        ans[2] = tiny_answer(&t, "c");
        ah = tiny_answer(&t, "h");
        ak = tiny_answer(&t, "k");
        /* The rules themselves. */
        for (int i = 0; i < 3; i++)
          assert_int_equal(ans[i], suppress_small(t.v[i]) ? -1 : t.v[i]);
        assert_int_equal(ah, ak); /* k = h: one answer */
        /* Everything the reader can reconcile. */
        for (int p = 0; p <= 40; p++)
          for (int q = 0; q <= 40; q++)
            for (int r = 0; r <= 40; r++) {
              int64_t c[3] = {p, q, r};
              if (!fits(ans[0], p) || !fits(ans[1], q) || !fits(ans[2], r) ||
                  !fits(ah, p + q + r) || !fits(ak, p + q + r))
                continue;
              for (int i = 0; i < 3; i++) {
                if (c[i] < lo[i])
                  lo[i] = c[i];
                if (c[i] > hi[i])
                  hi[i] = c[i];
              }
            }
        for (int i = 0; i < 3; i++) {
          assert_true(lo[i] <= t.v[i] && t.v[i] <= hi[i]);
          if (ans[i] == -1) {
            suppressed++;
            if (hi[i] <= lo[i])
              fail_msg("(%d,%d,%d): cell %d pinned to %" PRId64, x, y, z, i,
                       lo[i]);
          }
        }
        /* A shown hospital over suppressed cells: their sum is >= 5. */
        if (ah >= 0) {
          int64_t hid = 0;
          for (int i = 0; i < 3; i++)
            hid += ans[i] == -1 ? t.v[i] : 0;
          assert_true(hid == 0 || hid >= SUPPRESS_MIN);
        }
        cases++;
      }
  assert_int_equal(cases, 729);
  assert_true(suppressed > 300);
  org_free(t.org);
}

/* Figures that do not add up (the cube changed between the reads): the
 * unit answered for must agree with its wards, or the answer is
 * ERR_AGAIN; another unit's disagreement is replaced by the sum. The
 * callback's errors and unknown units pass through. */
static void test_flow_tree_errors(void **state) {
  struct tiny t = {NULL, {3, 9, 7}, 1, 0};
  struct error err;
  struct buf b;
  (void)state;
  assert_int_equal(org_load_json(TINY_ORG, strlen(TINY_ORG), &t.org, &err), 0);
  buf_init(&b, BIG);
  assert_int_equal(suppress_flow_tree(t.org, "h", tiny_flow, &t, &b, &err),
                   ERR_AGAIN);
  assert_int_equal(b.len, 0);
  /* Answering for b, h's disagreement does not matter: h is taken as its
   * wards' sum (19), withheld (19 - 9 - 7 gives a's 3), and b shown. */
  assert_int_equal(suppress_flow_tree(t.org, "b", tiny_flow, &t, &b, &err), 0);
  assert_string_equal(
      buf_str(&b),
      "{\"unit\":\"b\",\"admissions\":9,\"suppressed\":[],\"withheld\":[]}");
  t.skew = 0;
  assert_int_equal(tiny_answer(&t, "h"), -2);
  t.fail = ERR_AGAIN;
  buf_reset(&b);
  assert_int_equal(suppress_flow_tree(t.org, "a", tiny_flow, &t, &b, &err),
                   ERR_AGAIN);
  t.fail = ERR_IO;
  assert_int_equal(suppress_flow_tree(t.org, "a", tiny_flow, &t, &b, &err),
                   ERR_IO);
  assert_int_equal(suppress_flow_tree(t.org, "nope", tiny_flow, &t, &b, &err),
                   ERR_NOTFOUND);
  buf_release(&b);
  org_free(t.org);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_predicates),
      cmocka_unit_test(test_flow),
      cmocka_unit_test(test_flow_keeps_shown_values),
      cmocka_unit_test(test_flow_tree_one_small),
      cmocka_unit_test(test_flow_tree_two_small),
      cmocka_unit_test(test_flow_tree_exhaustive),
      cmocka_unit_test(test_flow_tree_errors),
      cmocka_unit_test_setup_teardown(test_board_wards, setup_board,
                                      teardown_board),
      cmocka_unit_test_setup_teardown(test_board_totals, setup_board,
                                      teardown_board),
      cmocka_unit_test_setup_teardown(test_board_no_differencing, setup_board,
                                      teardown_board),
      cmocka_unit_test_setup_teardown(test_board_subjects, setup_board,
                                      teardown_board),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
