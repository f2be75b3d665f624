/* test_org.c -- unit tests for the organisation loader (org.h).
 *
 * Loads the two built-in regions and checks their counts and populations
 * against DOMAIN.md Part A, the depth-first invariants, every lookup, the
 * /api/v1/units JSON, and one broken file per error message. Inline JSON is
 * written with single quotes (turned into double quotes by q()) to stay
 * readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "event.h"
#include "mem.h"
#include "org.h"

/* ------------------------------------------------------------ helpers */

/* 's' with every ' turned into " (a new string; free with mem_free). */
static char *q(const char *s) {
  char *t = mem_strdup(s);
  for (char *p = t; *p != '\0'; p++)
    if (*p == '\'')
      *p = '"';
  return t;
}

static struct org *load_q(const char *json) {
  char *text = q(json);
  struct org *org = NULL;
  struct error err;
  int rc;
  error_clear(&err);
  rc = org_load_json(text, strlen(text), &org, &err);
  if (rc != 0)
    fail_msg("load failed: %s", err.msg);
  mem_free(text);
  return org;
}

static struct org *load_builtin(const char *region) {
  struct org *org = NULL;
  struct error err;
  error_clear(&err);
  if (org_load_builtin(region, &org, &err) != 0)
    fail_msg("cannot load '%s': %s", region, err.msg);
  assert_non_null(org);
  return org;
}

/* Loads 'json' (quotes as in q()) and expects failure with 'code' and the
 * exact message 'msg'; checks that *out stays untouched. */
static void expect_err(const char *json, int code, const char *msg) {
  char *text = q(json);
  struct org *sentinel = (struct org *)(uintptr_t)0x5a5a;
  struct org *org = sentinel;
  struct error err;
  int rc;
  error_clear(&err);
  rc = org_load_json(text, strlen(text), &org, &err);
  mem_free(text);
  if (rc != code || strcmp(err.msg, msg) != 0)
    fail_msg("for %s\n  want %d '%s'\n  got  %d '%s'", json, code, msg, rc,
             err.msg);
  assert_int_equal(err.code, code);
  assert_ptr_equal(org, sentinel);
}

#define HEAD "{'id':'t','name':{'fi':'T'},"
#define ROOT "{'id':'r','type':'county','name':{'fi':'R'}}"

struct totals {
  size_t units, municipalities, wards, eds, hospitals, stations, areas;
  long population;
  size_t ward_beds, ed_beds, hc_wards, hc_beds;
};

static struct totals count(const struct org *org) {
  struct totals t;
  memset(&t, 0, sizeof t);
  t.units = org_unit_count(org);
  for (size_t i = 0; i < t.units; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    if (strcmp(u->type, "municipality") == 0) {
      t.municipalities++;
      t.population += u->population;
    } else if (strcmp(u->type, "ward") == 0) {
      t.wards++;
      t.ward_beds += u->nbeds;
      if (strcmp(org_unit_ward_type(u), "health_centre") == 0) {
        t.hc_wards++;
        t.hc_beds += u->nbeds;
      }
    } else if (strcmp(u->type, "ed") == 0) {
      t.eds++;
      t.ed_beds += u->nbeds;
    } else if (strcmp(u->type, "hospital") == 0) {
      t.hospitals++;
    } else if (strcmp(u->type, "health_station") == 0) {
      t.stations++;
    } else if (strcmp(u->type, "area") == 0) {
      t.areas++;
    }
  }
  return t;
}

/* The invariants of org.h, checked over every unit and channel. */
static void check_invariants(const struct org *org) {
  size_t n = org_unit_count(org);
  const struct org_unit *root = org_unit_at(org, 0);
  assert_true(n > 0);
  assert_null(root->parent);
  assert_int_equal(root->parent_index, -1);
  assert_int_equal(root->depth, 0);
  assert_int_equal(root->subtree_size, n);
  assert_null(org_unit_at(org, n));
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    assert_int_equal(u->index, i);
    assert_true(u->subtree_size >= 1);
    assert_true(i + u->subtree_size <= n);
    assert_ptr_equal(org_unit_find(org, u->id), u);
    assert_true(org_unit_within(org, u, u));
    assert_true(org_unit_within(org, u, root));
    assert_non_null(u->name.fi);
    assert_non_null(u->name.sv);
    assert_non_null(u->name.en);
    assert_true(strlen(u->id) < EVENT_ID_MAX);
    for (size_t b = 0; b < u->nbeds; b++) {
      assert_true(strlen(u->beds[b]) < EVENT_BED_MAX);
      assert_true(org_unit_has_bed(u, u->beds[b], strlen(u->beds[b])));
    }
    if (i == 0)
      continue;
    assert_non_null(u->parent);
    assert_true(u->parent_index >= 0 && (size_t)u->parent_index < i);
    {
      const struct org_unit *p = org_unit_at(org, (size_t)u->parent_index);
      assert_string_equal(p->id, u->parent);
      assert_int_equal(u->depth, p->depth + 1);
      /* Within the parent's index range, and the parent not within it. */
      assert_true(i > p->index && i < p->index + p->subtree_size);
      assert_true(i + u->subtree_size <= p->index + p->subtree_size);
      assert_true(org_unit_within(org, u, p));
      assert_false(org_unit_within(org, p, u));
    }
  }
  for (size_t c = 0; c < org_channel_count(org); c++) {
    const struct org_channel *ch = org_channel_at(org, c);
    assert_ptr_equal(org_channel_find(org, ch->id), ch);
    if (ch->application != NULL)
      assert_ptr_equal(
          org_channel_by_sender(org, ch->application, strlen(ch->application),
                                ch->facility, strlen(ch->facility)),
          ch);
    for (size_t l = 0; l < org_channel_location_count(ch); l++) {
      const char *code = NULL;
      const struct org_unit *u = NULL;
      assert_true(org_channel_location_at(org, ch, l, &code, &u));
      assert_ptr_equal(org_channel_location(org, ch, code, strlen(code)), u);
      assert_ptr_equal(org_unit_find(org, u->id), u);
    }
  }
}

/* ----------------------------------------------------- built-in regions */

static void test_kanta_hame_counts(void **state) {
  struct org *org = load_builtin("kanta-hame");
  struct totals t = count(org);
  struct org_name n = org_name(org);
  (void)state;
  assert_string_equal(org_id(org), "kanta-hame");
  assert_string_equal(n.fi, "Kanta-Hämeen hyvinvointialue");
  assert_string_equal(n.sv, "Egentliga Tavastlands välfärdsområde");
  assert_int_equal(t.municipalities, 11);
  assert_int_equal(t.population, 170300);
  assert_int_equal(t.areas, 3);
  assert_int_equal(t.hospitals, 3);
  assert_int_equal(t.eds, 3);
  assert_int_equal(t.ed_beds, 30);
  assert_int_equal(t.wards, 21);
  assert_int_equal(t.ward_beds, 504);
  assert_int_equal(t.hc_wards, 5);
  assert_int_equal(t.hc_beds, 134);
  assert_int_equal(t.stations, 16);
  assert_int_equal(t.units, 58);
  check_invariants(org);
  org_free(org);
}

static void test_lansi_uusimaa_counts(void **state) {
  struct org *org = load_builtin("lansi-uusimaa");
  struct totals t = count(org);
  const struct org_unit *u;
  (void)state;
  assert_string_equal(org_id(org), "lansi-uusimaa");
  assert_int_equal(t.municipalities, 9);
  assert_int_equal(t.population, 481300);
  assert_int_equal(t.areas, 4);
  assert_int_equal(t.hospitals, 4);
  assert_int_equal(t.eds, 3);
  assert_int_equal(t.ed_beds, 52);
  assert_int_equal(t.wards, 40);
  assert_int_equal(t.ward_beds, 1018);
  assert_int_equal(t.hc_wards, 6);
  assert_int_equal(t.hc_beds, 146);
  assert_int_equal(t.stations, 22);
  assert_int_equal(t.units, 83);
  check_invariants(org);
  /* Bilingual municipalities carry their Swedish names. */
  u = org_unit_by_municipality(org, "049");
  assert_non_null(u);
  assert_string_equal(u->id, "lu-049");
  assert_string_equal(u->name.fi, "Espoo");
  assert_string_equal(u->name.sv, "Esbo");
  assert_int_equal(u->population, 310000);
  u = org_unit_by_municipality(org, "710");
  assert_string_equal(u->name.sv, "Raseborg");
  assert_string_equal(org_unit_by_municipality(org, "078")->name.sv, "Hangö");
  assert_string_equal(org_unit_by_municipality(org, "149")->name.sv, "Ingå");
  assert_null(org_unit_by_municipality(org, "109"));
  assert_null(org_unit_by_municipality(org, "49"));
  assert_null(org_unit_by_municipality(org, NULL));
  org_free(org);
}

static void test_kanta_hame_municipalities(void **state) {
  static const struct {
    const char *code, *fi;
    long pop;
  } want[] = {{"109", "Hämeenlinna", 67800}, {"694", "Riihimäki", 28700},
              {"061", "Forssa", 16900},      {"165", "Janakkala", 16000},
              {"082", "Hattula", 9500},      {"086", "Hausjärvi", 8100},
              {"433", "Loppi", 7900},        {"834", "Tammela", 5900},
              {"169", "Jokioinen", 5100},    {"981", "Ypäjä", 2300},
              {"103", "Humppila", 2100}};
  struct org *org = load_builtin("kanta-hame");
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    const struct org_unit *u = org_unit_by_municipality(org, want[i].code);
    assert_non_null(u);
    assert_string_equal(u->municipality, want[i].code);
    assert_string_equal(u->name.fi, want[i].fi);
    assert_int_equal(u->population, want[i].pop);
    assert_string_equal(u->type, "municipality");
    assert_int_equal(u->depth, 2); /* county > area > municipality */
  }
  assert_string_equal(org_unit_by_municipality(org, "109")->name.sv,
                      "Tavastehus");
  org_free(org);
}

static void test_builtin_lookups(void **state) {
  struct org *org = load_builtin("kanta-hame");
  const struct org_unit *ward, *hosp, *area, *root, *muni;
  const struct org_channel *ch;
  (void)state;
  root = org_unit_find(org, "kh");
  ward = org_unit_find(org, "kh-khks-sis1");
  hosp = org_unit_find(org, "kh-khks");
  area = org_unit_find(org, "kh-a-hml");
  muni = org_unit_find(org, "kh-109");
  assert_ptr_equal(root, org_unit_at(org, 0));
  assert_non_null(ward);
  assert_string_equal(ward->type, "ward");
  assert_string_equal(org_unit_ward_type(ward), "internal_medicine");
  assert_null(org_unit_ward_type(hosp));
  assert_int_equal(ward->nbeds, 28);
  assert_string_equal(ward->beds[0], "1");
  assert_string_equal(ward->beds[27], "28");
  assert_true(org_unit_has_bed(ward, "28", 2));
  assert_true(org_unit_has_bed(ward, "12x", 2)); /* a span */
  assert_false(org_unit_has_bed(ward, "29", 2));
  assert_false(org_unit_has_bed(ward, "0", 1));
  assert_false(org_unit_has_bed(ward, "", 0));
  assert_false(org_unit_has_bed(hosp, "1", 1));
  assert_true(org_unit_within(org, ward, hosp));
  assert_true(org_unit_within(org, ward, root));
  assert_false(org_unit_within(org, ward, area));
  assert_true(org_unit_within(org, org_unit_find(org, "kh-tk-hml1"), area));
  assert_true(org_unit_within(org, org_unit_find(org, "kh-ts-lammi"), muni));
  assert_false(org_unit_within(org, org_unit_find(org, "kh-ts-loppi"), area));
  assert_string_equal(org_unit_find(org, "kh-khks-ed")->type, "ed");
  assert_int_equal(org_unit_find(org, "kh-khks-ed")->nbeds, 16);
  assert_null(org_unit_find(org, "kh-nope"));
  assert_null(org_unit_find(org, ""));
  assert_null(org_unit_find(org, NULL));

  /* Sender: spans, not strings. */
  ch = org_channel_by_sender(org, "TKGENX", 5, "KANTA-HAMEX", 10);
  assert_non_null(ch);
  assert_string_equal(ch->id, "kh-adt");
  assert_string_equal(ch->type, "hl7v2");
  assert_ptr_equal(org_channel_find(org, "kh-adt"), ch);
  assert_null(org_channel_by_sender(org, "TKGEN", 5, "LANSI-UUSIMAA", 13));
  assert_null(org_channel_by_sender(org, "TKGEN", 5, "", 0));
  assert_null(org_channel_by_sender(org, "TKGE", 4, "KANTA-HAME", 10));
  assert_null(org_channel_find(org, "lu-adt"));
  assert_string_equal(ch->ready.segment, "ZTK");
  assert_int_equal(ch->ready.field, 1);
  assert_int_equal(ch->ready.component, 0);
  assert_string_equal(ch->ready.value, "Y");

  /* Locations: every ward and ED has exactly one code. */
  assert_ptr_equal(org_channel_location(org, ch, "KHKS-SIS1", 9), ward);
  assert_ptr_equal(org_channel_location(org, ch, "KHKS-SIS1X", 9), ward);
  assert_null(org_channel_location(org, ch, "KHKS-SIS", 8));
  assert_null(org_channel_location(org, ch, "khks-sis1", 9));
  assert_string_equal(org_channel_location_code(org, ch, ward), "KHKS-SIS1");
  assert_null(org_channel_location_code(org, ch, hosp));
  assert_int_equal(org_channel_location_count(ch), 24);
  for (size_t i = 0; i < org_unit_count(org); i++) {
    const struct org_unit *u = org_unit_at(org, i);
    bool bedded = strcmp(u->type, "ward") == 0 || strcmp(u->type, "ed") == 0;
    const char *code = org_channel_location_code(org, ch, u);
    if (bedded) {
      assert_non_null(code);
      assert_ptr_equal(org_channel_location(org, ch, code, strlen(code)), u);
    } else {
      assert_null(code);
    }
  }
  {
    const char *code = "untouched";
    const struct org_unit *u = NULL;
    assert_false(org_channel_location_at(org, ch, 24, &code, &u));
    assert_string_equal(code, "untouched");
    assert_null(u);
  }
  org_free(org);

  org = load_builtin("lansi-uusimaa");
  ch = org_channel_by_sender(org, "TKGEN", 5, "LANSI-UUSIMAA", 13);
  assert_non_null(ch);
  assert_string_equal(ch->id, "lu-adt");
  assert_int_equal(org_channel_location_count(ch), 43);
  assert_string_equal(org_channel_location(org, ch, "ESH-GER3", 8)->id,
                      "lu-esh-ger3");
  assert_string_equal(org_unit_ward_type(org_unit_find(org, "lu-esh-ger3")),
                      "geriatrics");
  org_free(org);
}

static void test_builtin_unknown(void **state) {
  struct org *org = (struct org *)(uintptr_t)0x77;
  struct error err;
  (void)state;
  error_clear(&err);
  assert_null(org_builtin_json("pirkanmaa"));
  assert_null(org_builtin_json(NULL));
  assert_non_null(org_builtin_json("kanta-hame"));
  assert_int_equal(org_load_builtin("pirkanmaa", &org, &err), ERR_NOTFOUND);
  assert_string_equal(err.msg,
                      "unknown region 'pirkanmaa' (kanta-hame, lansi-uusimaa)");
  assert_ptr_equal(org, (struct org *)(uintptr_t)0x77);
}

/* -------------------------------------------------------- custom files */

static void test_file_order_and_depth_first(void **state) {
  /* Children listed before parents; siblings keep file order. */
  struct org *org = load_q(
      HEAD "'units':["
           "{'id':'w2','type':'ward','parent':'h','name':{'fi':'W2'}},"
           "{'id':'m','type':'municipality','parent':'r','municipality':'049',"
           " 'population':12,'name':{'fi':'M','sv':'MS'}},"
           "{'id':'h','type':'hospital','parent':'r','name':{'fi':'H'}},"
           "{'id':'w1','type':'ward','parent':'h','name':{'fi':'W1'},"
           " 'beds':['a','b'],'x-note':'ignored'},"
           "{'id':'r','type':'county','name':{'fi':'R','en':'RE'}}]}");
  static const char *const order[] = {"r", "m", "h", "w2", "w1"};
  static const size_t sizes[] = {5, 1, 3, 1, 1};
  static const int depths[] = {0, 1, 1, 2, 2};
  (void)state;
  assert_int_equal(org_unit_count(org), 5);
  for (size_t i = 0; i < 5; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    assert_string_equal(u->id, order[i]);
    assert_int_equal(u->subtree_size, sizes[i]);
    assert_int_equal(u->depth, depths[i]);
  }
  check_invariants(org);
  /* sv and en default to fi. */
  assert_string_equal(org_unit_find(org, "m")->name.sv, "MS");
  assert_string_equal(org_unit_find(org, "m")->name.en, "M");
  assert_string_equal(org_unit_find(org, "r")->name.sv, "R");
  assert_string_equal(org_unit_find(org, "r")->name.en, "RE");
  assert_string_equal(org_name(org).sv, "T");
  assert_int_equal(org_unit_find(org, "w2")->nbeds, 0);
  assert_true(org_unit_has_bed(org_unit_find(org, "w1"), "b", 1));
  assert_false(org_unit_has_bed(org_unit_find(org, "w1"), "c", 1));
  assert_false(org_unit_find(org, "w1")->shared_beds);
  assert_int_equal(org_channel_count(org), 0);
  assert_null(org_channel_at(org, 0));
  org_free(org);
}

static void test_big_ward_and_senders(void **state) {
  struct org *org = load_q(
      HEAD "'units':[" ROOT ","
           "{'id':'big','type':'ward','parent':'r','name':{'fi':'B'},"
           " 'beds':2000,'shared_beds':true,'ward_type':'virtual'},"
           "{'id':'e','type':'ed','parent':'r','name':{'fi':'E'},"
           " 'beds':['P1','P2','P3','P4','P5','P6','P7','P8','P9','P10','P11',"
           "'P12','P13','P14','P15','P16','P17','P18','P19','P20',"
           "'ABCDEFGHIJKLMNOPQRSTUVW']}],"
           "'channels':["
           "{'id':'c1','type':'hl7v2','sender':{'application':'APP'},"
           " 'locations':{'B':'big','E':'e','E2':'e','R':'r','SISÄ 1':'e'}},"
           "{'id':'c2','type':'hl7v2',"
           " 'sender':{'application':'APP','facility':'F'},"
           " 'ready_for_transfer':{'segment':'PV2','field':22,'component':1}},"
           "{'id':'c3','type':'fhir'},"
           "{'id':'c4','type':'csv','sender':{'application':'APP',"
           " 'facility':'G'}},"
           "{'id':'c5','type':'hl7v2','sender':{'application':'LIFECARE ADT',"
           " 'facility':'KÄS'}}]}");
  const struct org_unit *big, *ed;
  const struct org_channel *c1, *c2, *c3;
  (void)state;
  check_invariants(org);
  big = org_unit_find(org, "big");
  ed = org_unit_find(org, "e");
  assert_int_equal(big->nbeds, 2000);
  assert_true(big->shared_beds);
  assert_string_equal(org_unit_ward_type(big), "virtual");
  assert_string_equal(big->beds[1999], "2000");
  assert_true(org_unit_has_bed(big, "1999", 4));
  assert_true(org_unit_has_bed(big, "2000", 4));
  assert_false(org_unit_has_bed(big, "2001", 4));
  assert_false(org_unit_has_bed(big, "01", 2));
  assert_int_equal(ed->nbeds, 21);
  assert_true(org_unit_has_bed(ed, "P17", 3));
  assert_true(org_unit_has_bed(ed, "ABCDEFGHIJKLMNOPQRSTUVW", 23));
  assert_false(org_unit_has_bed(ed, "P", 1));

  c1 = org_channel_find(org, "c1");
  c2 = org_channel_find(org, "c2");
  c3 = org_channel_find(org, "c3");
  /* A missing facility is "" and matches an empty MSH-4 (or NULL). */
  assert_string_equal(c1->facility, "");
  assert_ptr_equal(org_channel_by_sender(org, "APP", 3, "", 0), c1);
  assert_ptr_equal(org_channel_by_sender(org, "APP", 3, NULL, 0), c1);
  assert_ptr_equal(org_channel_by_sender(org, "APPF", 3, "FX", 1), c2);
  assert_ptr_equal(org_channel_by_sender(org, "APP", 3, "G", 1),
                   org_channel_find(org, "c4"));
  assert_null(org_channel_by_sender(org, "APP", 3, "H", 1));
  assert_ptr_equal(
      org_channel_by_sender(org, "LIFECARE ADT", 12, "KÄS", strlen("KÄS")),
      org_channel_find(org, "c5"));
  assert_null(org_channel_by_sender(org, "AP", 2, "", 0));
  assert_null(org_channel_by_sender(org, NULL, 0, "", 0));
  assert_null(c1->ready.segment);
  assert_string_equal(c2->ready.segment, "PV2");
  assert_int_equal(c2->ready.field, 22);
  assert_int_equal(c2->ready.component, 1);
  assert_null(c2->ready.value);
  assert_null(c3->application);
  assert_null(c3->facility);
  assert_string_equal(c3->type, "fhir");

  assert_int_equal(org_channel_location_count(c1), 5);
  assert_ptr_equal(org_channel_location(org, c1, "SISÄ 1", strlen("SISÄ 1")),
                   ed);
  assert_ptr_equal(org_channel_location(org, c1, "E2", 2), ed);
  assert_ptr_equal(org_channel_location(org, c1, "R", 1), org_unit_at(org, 0));
  /* Reverse lookup: the first code in file order. */
  assert_string_equal(org_channel_location_code(org, c1, ed), "E");
  assert_null(org_channel_location(org, c2, "B", 1));
  assert_int_equal(org_channel_location_count(c2), 0);
  assert_null(org_channel_location_code(org, c2, big));
  {
    const char *code;
    const struct org_unit *u;
    assert_true(org_channel_location_at(org, c1, 1, &code, &u));
    assert_string_equal(code, "E");
    assert_ptr_equal(u, ed);
  }
  org_free(org);
}

/* The deepest tree allowed: a chain of ORG_MAX_DEPTH + 1 units; one more
 * fails. */
static char *chain_json(int levels) {
  struct buf b;
  buf_init(&b, 1 << 20);
  assert_int_equal(buf_puts(&b, HEAD "'units':[" ROOT), 0);
  for (int i = 1; i < levels; i++) {
    char parent[16];
    if (i == 1)
      snprintf(parent, sizeof parent, "r");
    else
      snprintf(parent, sizeof parent, "u%d", i - 1);
    assert_int_equal(buf_printf(&b,
                                ",{'id':'u%d','type':'area','parent':'%s',"
                                "'name':{'fi':'U'}}",
                                i, parent),
                     0);
  }
  assert_int_equal(buf_puts(&b, "]}"), 0);
  return buf_detach(&b, NULL);
}

static void test_depth_cap(void **state) {
  char *ok = chain_json(ORG_MAX_DEPTH + 1);
  char *bad = chain_json(ORG_MAX_DEPTH + 2);
  char msg[128];
  struct org *org = load_q(ok);
  struct buf b;
  json_t *tree;
  json_error_t jerr;
  (void)state;
  assert_int_equal(org_unit_count(org), ORG_MAX_DEPTH + 1);
  assert_int_equal(org_unit_at(org, ORG_MAX_DEPTH)->depth, ORG_MAX_DEPTH);
  check_invariants(org);
  /* The nested JSON of the deepest tree still parses. */
  buf_init(&b, 1 << 20);
  assert_int_equal(org_units_json(org, &b), 0);
  tree = json_loadb(b.data, b.len, 0, &jerr);
  assert_non_null(tree);
  json_decref(tree);
  buf_release(&b);
  org_free(org);
  snprintf(msg, sizeof msg,
           "units[%d].parent: more than %d levels below the root",
           ORG_MAX_DEPTH + 1, ORG_MAX_DEPTH);
  expect_err(bad, ERR_CONFIG, msg);
  mem_free(ok);
  mem_free(bad);
}

/* ------------------------------------------------------------- errors */

static void test_errors_top_level(void **state) {
  (void)state;
  expect_err("[]", ERR_CONFIG, "organisation: expected a JSON object");
  expect_err("{'name':{'fi':'T'},'units':[" ROOT "]}", ERR_CONFIG,
             "id: required");
  expect_err("{'id':'a b','name':{'fi':'T'},'units':[" ROOT "]}", ERR_CONFIG,
             "id: invalid id 'a b' (1 to 63 letters, digits, '.', '_' or "
             "'-')");
  expect_err("{'id':'t','units':[" ROOT "]}", ERR_CONFIG, "name: required");
  expect_err("{'id':'t','name':'T','units':[" ROOT "]}", ERR_CONFIG,
             "name: expected an object");
  expect_err("{'id':'t','name':{'sv':'T'},'units':[" ROOT "]}", ERR_CONFIG,
             "name.fi: required");
  expect_err("{'id':'t','name':{'fi':''},'units':[" ROOT "]}", ERR_CONFIG,
             "name.fi: expected 1 to 255 bytes of text without control "
             "characters");
  expect_err("{'id':'t','name':{'fi':'T','de':'T'},'units':[" ROOT "]}",
             ERR_CONFIG, "name.de: unknown key");
  expect_err(HEAD "'colour':'red','units':[" ROOT "]}", ERR_CONFIG,
             "colour: unknown key");
  expect_err(HEAD "'units':{}}", ERR_CONFIG, "units: expected an array");
  expect_err(HEAD "'units':null}", ERR_CONFIG, "units: required");
  expect_err(HEAD "'units':[]}", ERR_CONFIG,
             "units: expected at least one unit");
  expect_err(HEAD "'units':[" ROOT "],'channels':{}}", ERR_CONFIG,
             "channels: expected an array");
}

static void test_errors_json(void **state) {
  const char *dup = "{'id':'t','id':'u'}";
  char *big;
  struct org *org = NULL;
  struct error err;
  (void)state;
  error_clear(&err);
  {
    char *text = q(dup);
    assert_int_equal(org_load_json(text, strlen(text), &org, &err), ERR_PARSE);
    assert_non_null(strstr(err.msg, "duplicate object key"));
    mem_free(text);
  }
  assert_int_equal(org_load_json("{\"id\":", 6, &org, &err), ERR_PARSE);
  assert_true(strncmp(err.msg, "invalid JSON at line 1, column", 30) == 0);
  assert_int_equal(org_load_json("", 0, &org, &err), ERR_PARSE);
  assert_int_equal(org_load_json("{\"id\":\"t\"}\0junk", 15, &org, &err),
                   ERR_PARSE);
  assert_null(org);
  /* The size cap is checked before parsing. */
  big = mem_calloc(ORG_MAX_FILE + 2, 1);
  memset(big, ' ', ORG_MAX_FILE + 1);
  assert_int_equal(org_load_json(big, ORG_MAX_FILE + 1, &org, &err),
                   ERR_TOOBIG);
  assert_string_equal(err.msg, "organisation file larger than 67108864 bytes");
  mem_free(big);
  assert_null(org);
  assert_int_equal(org_load_json(NULL, 0, &org, &err), ERR_INVAL);
}

static void test_errors_units(void **state) {
  (void)state;
  expect_err(HEAD "'units':[" ROOT ",3]}", ERR_CONFIG,
             "units[1]: expected an object");
  expect_err(HEAD "'units':[{'id':'r','type':'county','name':{'fi':'R'},"
                  "'parnet':'x'}]}",
             ERR_CONFIG, "units[0].parnet: unknown key");
  expect_err(HEAD "'units':[{'type':'county','name':{'fi':'R'}}]}", ERR_CONFIG,
             "units[0].id: required");
  expect_err(HEAD "'units':[{'id':7,'type':'county','name':{'fi':'R'}}]}",
             ERR_CONFIG, "units[0].id: expected a string");
  expect_err(HEAD "'units':[{'id':'r','type':'county','name':{'fi':'R'}},"
                  "{'id':'a\\nb','type':'area','parent':'r','name':{'fi':'A'}}"
                  "]}",
             ERR_CONFIG,
             "units[1].id: invalid id 'a?b' (1 to 63 letters, digits, '.', "
             "'_' or '-')");
  expect_err(HEAD "'units':[{'id':'r','type':'Ward','name':{'fi':'R'}}]}",
             ERR_CONFIG,
             "units[0].type: invalid name 'Ward' (1 to 31 of a-z, 0-9, '_', "
             "starting with a letter)");
  expect_err(HEAD "'units':[{'id':'r','name':{'fi':'R'}}]}", ERR_CONFIG,
             "units[0].type: required");
  expect_err(HEAD "'units':[{'id':'r','type':'county'}]}", ERR_CONFIG,
             "units[0].name: required");
  expect_err(HEAD "'units':[{'id':'r','type':'county','name':{'fi':'R',"
                  "'sv':'a\\tb'}}]}",
             ERR_CONFIG,
             "units[0].name.sv: expected 1 to 255 bytes of text without "
             "control characters");
  expect_err(HEAD "'units':[" ROOT ",{'id':'r','type':'area','parent':'r',"
                  "'name':{'fi':'A'}}]}",
             ERR_CONFIG, "units[1].id: duplicate unit id 'r' (also units[0])");
  /* Ids: 63 characters pass, 64 do not. */
  expect_err(HEAD
             "'units':[{'id':'"
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789"
             "A','type':'county','name':{'fi':'R'}},"
             "{'id':'x','type':'area','name':{'fi':'X'}}]}",
             ERR_CONFIG,
             "units[1].parent: required (only the root may lack a parent, and "
             "units[0] 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
             "0123456789A' is the root)");
  expect_err(HEAD
             "'units':[{'id':'"
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789"
             "AB','type':'county','name':{'fi':'R'}}]}",
             ERR_CONFIG,
             "units[0].id: invalid id 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn"
             "...' (1 to 63 letters, digits, '.', '_' or '-')");
}

static void test_errors_municipality(void **state) {
  (void)state;
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'12','name':{'fi':'M'}}]}",
             ERR_CONFIG, "units[1].municipality: expected 3 digits, got '12'");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'1a2','name':{'fi':'M'}}]}",
             ERR_CONFIG, "units[1].municipality: expected 3 digits, got '1a2'");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':109,'name':{'fi':'M'}}]}",
             ERR_CONFIG, "units[1].municipality: expected a string");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','name':{'fi':'M'}}]}",
             ERR_CONFIG, "units[1].municipality: required");
  expect_err(HEAD "'units':[" ROOT ",{'id':'h','type':'hospital',"
                  "'parent':'r','municipality':'109','name':{'fi':'H'}}]}",
             ERR_CONFIG,
             "units[1].municipality: only units of type 'municipality' have "
             "a municipality code");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'109','name':{'fi':'M'}},"
                  "{'id':'n','type':'municipality','parent':'r',"
                  "'municipality':'109','name':{'fi':'N'}}]}",
             ERR_CONFIG,
             "units[2].municipality: duplicate code '109' (also units[1])");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'109','population':-1,"
                  "'name':{'fi':'M'}}]}",
             ERR_CONFIG,
             "units[1].population: expected an integer from 0 to 10000000");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'109','population':'5',"
                  "'name':{'fi':'M'}}]}",
             ERR_CONFIG,
             "units[1].population: expected an integer from 0 to 10000000");
  expect_err(HEAD "'units':[" ROOT ",{'id':'m','type':'municipality',"
                  "'parent':'r','municipality':'109','population':1.5,"
                  "'name':{'fi':'M'}}]}",
             ERR_CONFIG,
             "units[1].population: expected an integer from 0 to 10000000");
  expect_err(HEAD "'units':[{'id':'r','type':'county','population':5,"
                  "'name':{'fi':'R'}}]}",
             ERR_CONFIG,
             "units[0].population: only units of type 'municipality' have a "
             "population");
}

static void test_errors_hierarchy(void **state) {
  (void)state;
  expect_err(HEAD "'units':[" ROOT ",{'id':'a','type':'area','parent':'x',"
                  "'name':{'fi':'A'}}]}",
             ERR_CONFIG, "units[1].parent: unknown unit 'x'");
  expect_err(HEAD "'units':[" ROOT ",{'id':'a','type':'area','parent':'',"
                  "'name':{'fi':'A'}}]}",
             ERR_CONFIG,
             "units[1].parent: invalid id '' (1 to 63 letters, digits, '.', "
             "'_' or '-')");
  expect_err(HEAD "'units':[" ROOT ",{'id':'a','type':'area','name':{'fi':'A'}}"
                  "]}",
             ERR_CONFIG,
             "units[1].parent: required (only the root may lack a parent, and "
             "units[0] 'r' is the root)");
  /* b -> c -> b, reached from nowhere. */
  expect_err(HEAD "'units':[" ROOT ",{'id':'d','type':'area','parent':'c',"
                  "'name':{'fi':'D'}},{'id':'c','type':'area','parent':'b',"
                  "'name':{'fi':'C'}},{'id':'b','type':'area','parent':'c',"
                  "'name':{'fi':'B'}}]}",
             ERR_CONFIG, "units[2].parent: cycle ('c' is its own ancestor)");
  expect_err(HEAD "'units':[" ROOT ",{'id':'s','type':'area','parent':'s',"
                  "'name':{'fi':'S'}}]}",
             ERR_CONFIG, "units[1].parent: cycle ('s' is its own ancestor)");
  /* No root at all: every unit has a parent. */
  expect_err(HEAD "'units':[{'id':'a','type':'area','parent':'b',"
                  "'name':{'fi':'A'}},{'id':'b','type':'area','parent':'a',"
                  "'name':{'fi':'B'}}]}",
             ERR_CONFIG, "units[0].parent: cycle ('a' is its own ancestor)");
}

static void test_errors_beds(void **state) {
  (void)state;
  expect_err(HEAD "'units':[" ROOT ",{'id':'h','type':'hospital','parent':'r',"
                  "'beds':3,'name':{'fi':'H'}}]}",
             ERR_CONFIG,
             "units[1].beds: only wards and emergency departments have beds");
  expect_err(HEAD "'units':[" ROOT ",{'id':'h','type':'hospital','parent':'r',"
                  "'shared_beds':false,'name':{'fi':'H'}}]}",
             ERR_CONFIG,
             "units[1].shared_beds: only wards and emergency departments have "
             "beds");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'shared_beds':1,'name':{'fi':'W'}}]}",
             ERR_CONFIG, "units[1].shared_beds: expected true or false");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':['1','2','1'],'name':{'fi':'W'}}]}",
             ERR_CONFIG, "units[1].beds[2]: duplicate bed '1' (also beds[0])");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':['1',2],'name':{'fi':'W'}}]}",
             ERR_CONFIG, "units[1].beds[1]: expected a string");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':['ABCDEFGHIJKLMNOPQRSTUVWX'],'name':{'fi':'W'}}]}",
             ERR_CONFIG,
             "units[1].beds[0]: invalid bed id 'ABCDEFGHIJKLMNOPQRSTUVWX' (1 "
             "to 23 bytes; no control characters, no | ^ ~ \\ &, no leading or "
             "trailing space)");
  expect_err(
      HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
           "'beds':['a b','a^b'],'name':{'fi':'W'}}]}",
      ERR_CONFIG,
      "units[1].beds[1]: invalid bed id 'a^b' (1 to 23 bytes; no control "
      "characters, no | ^ ~ \\ &, no leading or trailing space)");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':['1 '],'name':{'fi':'W'}}]}",
             ERR_CONFIG,
             "units[1].beds[0]: invalid bed id '1 ' (1 to 23 bytes; no control "
             "characters, no | ^ ~ \\ &, no leading or trailing space)");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':2001,'name':{'fi':'W'}}]}",
             ERR_CONFIG, "units[1].beds: expected a count from 0 to 2000");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'beds':'5','name':{'fi':'W'}}]}",
             ERR_CONFIG,
             "units[1].beds: expected an array of bed ids or a count");
  expect_err(HEAD "'units':[" ROOT ",{'id':'h','type':'hospital','parent':'r',"
                  "'ward_type':'surgery','name':{'fi':'H'}}]}",
             ERR_CONFIG,
             "units[1].ward_type: only units of type 'ward' have a ward_type");
  expect_err(HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"
                  "'ward_type':'Surgery','name':{'fi':'W'}}]}",
             ERR_CONFIG,
             "units[1].ward_type: invalid name 'Surgery' (1 to 31 of a-z, "
             "0-9, '_', starting with a letter)");
}

static void test_errors_bed_total(void **state) {
  /* 501 wards of 2000 beds pass the per-ward cap but not the total. */
  struct buf b;
  char *text;
  (void)state;
  buf_init(&b, 1 << 20);
  assert_int_equal(buf_puts(&b, HEAD "'units':[" ROOT), 0);
  for (int i = 0; i < 501; i++)
    assert_int_equal(buf_printf(&b,
                                ",{'id':'w%d','type':'ward','parent':'r',"
                                "'beds':2000,'name':{'fi':'W'}}",
                                i),
                     0);
  assert_int_equal(buf_puts(&b, "]}"), 0);
  text = buf_detach(&b, NULL);
  expect_err(text, ERR_TOOBIG,
             "units[501].beds: more than 1000000 beds in the organisation");
  mem_free(text);
}

#define UNITS                                                                  \
  HEAD "'units':[" ROOT ",{'id':'w','type':'ward','parent':'r',"               \
       "'beds':2,'name':{'fi':'W'}}],"

static void test_errors_channels(void **state) {
  (void)state;
  expect_err(UNITS "'channels':[7]}", ERR_CONFIG,
             "channels[0]: expected an object");
  expect_err(UNITS "'channels':[{'type':'hl7v2'}]}", ERR_CONFIG,
             "channels[0].id: required");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2','sendr':{}}]}",
             ERR_CONFIG, "channels[0].sendr: unknown key");
  expect_err(UNITS "'channels':[{'id':'c','type':'mllp'}]}", ERR_CONFIG,
             "channels[0].type: unknown channel type 'mllp' (hl7v2, fhir, "
             "csv)");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2'}]}", ERR_CONFIG,
             "channels[0].sender: required for hl7v2 channels (MSH-3 and "
             "MSH-4)");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2','sender':'A'}]}",
             ERR_CONFIG, "channels[0].sender: expected an object");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'facility':'F'}}]}",
             ERR_CONFIG, "channels[0].sender.application: required");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':''}}]}",
             ERR_CONFIG,
             "channels[0].sender.application: invalid code '' (1 to 63 bytes; "
             "no control characters, no | ^ ~ \\ &, no leading or trailing "
             "space)");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A','facility':'F&G'}}]}",
             ERR_CONFIG,
             "channels[0].sender.facility: invalid code 'F&G' (1 to 63 bytes; "
             "no control characters, no | ^ ~ \\ &, no leading or trailing "
             "space, or empty)");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A','facility':'F'}},"
                   "{'id':'c','type':'fhir'}]}",
             ERR_CONFIG,
             "channels[1].id: duplicate channel id 'c' (also channels[0])");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A','facility':'F'}},"
                   "{'id':'d','type':'hl7v2',"
                   "'sender':{'application':'A','facility':'F'}}]}",
             ERR_CONFIG,
             "channels[1].sender: application 'A' facility 'F' is already "
             "channels[0]");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'}},"
                   "{'id':'d','type':'hl7v2',"
                   "'sender':{'application':'A','facility':''}}]}",
             ERR_CONFIG,
             "channels[1].sender: application 'A' facility '' is already "
             "channels[0]");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},'locations':[]}]}",
             ERR_CONFIG, "channels[0].locations: expected an object");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'locations':{'W1':'w','W2':'y'}}]}",
             ERR_CONFIG, "channels[0].locations.W2: unknown unit 'y'");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},'locations':{'W1':1}}]}",
             ERR_CONFIG, "channels[0].locations.W1: expected a unit id");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},'locations':{' W1':'w'}}]}",
             ERR_CONFIG,
             "channels[0].locations. W1: invalid code (1 to 63 bytes; no "
             "control characters, no | ^ ~ \\ &, no leading or trailing "
             "space)");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},'locations':{'W|1':'w'}}]}",
             ERR_CONFIG,
             "channels[0].locations.W|1: invalid code (1 to 63 bytes; no "
             "control characters, no | ^ ~ \\ &, no leading or trailing "
             "space)");
}

static void test_errors_ready(void **state) {
  (void)state;
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},'ready_for_transfer':1}]}",
             ERR_CONFIG, "channels[0].ready_for_transfer: expected an object");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'field':1}}]}",
             ERR_CONFIG, "channels[0].ready_for_transfer.segment: required");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZT','field':1}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer.segment: expected an HL7 segment "
             "id such as 'ZTK' or 'PV2', got 'ZT'");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZTK'}}]}",
             ERR_CONFIG, "channels[0].ready_for_transfer.field: required");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZTK','field':0}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer.field: expected an integer from "
             "1 to 999");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZTK','field':1,"
                   "'component':100}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer.component: expected an integer "
             "from 0 to 99");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZTK','field':1,"
                   "'value':''}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer.value: expected 1 to 255 bytes "
             "of text without control characters");
  expect_err(UNITS "'channels':[{'id':'c','type':'hl7v2',"
                   "'sender':{'application':'A'},"
                   "'ready_for_transfer':{'segment':'ZTK','field':1,"
                   "'repetition':2}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer.repetition: unknown key");
  expect_err(UNITS "'channels':[{'id':'c','type':'fhir',"
                   "'ready_for_transfer':{'segment':'ZTK','field':1}}]}",
             ERR_CONFIG,
             "channels[0].ready_for_transfer: only hl7v2 channels read HL7 "
             "fields");
}

/* ------------------------------------------------------------ output */

/* Walks the nested tree in pre-order and checks each node against the org. */
static void walk_tree(const struct org *org, json_t *node, size_t *next) {
  const struct org_unit *u = org_unit_at(org, *next);
  json_t *children = json_object_get(node, "children");
  json_t *parent = json_object_get(node, "parent");
  assert_non_null(u);
  (*next)++;
  assert_string_equal(json_string_value(json_object_get(node, "id")), u->id);
  assert_string_equal(json_string_value(json_object_get(node, "type")),
                      u->type);
  if (u->parent == NULL)
    assert_true(json_is_null(parent));
  else
    assert_string_equal(json_string_value(parent), u->parent);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(node, "name"), "sv")),
      u->name.sv);
  if (u->municipality != NULL) {
    assert_string_equal(
        json_string_value(json_object_get(node, "municipality")),
        u->municipality);
    assert_int_equal(json_integer_value(json_object_get(node, "population")),
                     u->population);
  } else {
    assert_null(json_object_get(node, "municipality"));
    assert_null(json_object_get(node, "population"));
  }
  if (strcmp(u->type, "ward") == 0 || strcmp(u->type, "ed") == 0)
    assert_int_equal(json_integer_value(json_object_get(node, "beds")),
                     u->nbeds);
  else
    assert_null(json_object_get(node, "beds"));
  if (org_unit_ward_type(u) != NULL)
    assert_string_equal(json_string_value(json_object_get(node, "ward_type")),
                        org_unit_ward_type(u));
  assert_true(json_is_array(children));
  for (size_t i = 0; i < json_array_size(children); i++)
    walk_tree(org, json_array_get(children, i), next);
  assert_int_equal(*next, u->index + u->subtree_size);
}

static void test_units_json(void **state) {
  static const char *const regions[] = {"kanta-hame", "lansi-uusimaa"};
  (void)state;
  for (size_t r = 0; r < ARRAY_LEN(regions); r++) {
    struct org *org = load_builtin(regions[r]);
    struct buf b;
    json_t *doc, *units;
    json_error_t jerr;
    size_t next = 0;
    buf_init(&b, 1 << 22);
    assert_int_equal(org_units_json(org, &b), 0);
    doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
      fail_msg("bad JSON: %s", jerr.text);
    assert_string_equal(json_string_value(json_object_get(doc, "id")),
                        org_id(org));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "name"), "en")),
        org_name(org).en);
    units = json_object_get(doc, "units");
    assert_int_equal(json_array_size(units), 1);
    walk_tree(org, json_array_get(units, 0), &next);
    assert_int_equal(next, org_unit_count(org));
    json_decref(doc);

    /* A cap too small: ERR_TOOBIG. */
    buf_release(&b);
    buf_init(&b, 100);
    assert_int_equal(org_units_json(org, &b), ERR_TOOBIG);
    buf_release(&b);
    org_free(org);
  }
  {
    /* Spot values and escaping. */
    struct org *org = load_q(HEAD "'units':[{'id':'r','type':'county',"
                                  "'name':{'fi':'Q\\u0027\\\\'}}]}");
    struct buf b;
    buf_init(&b, 4096);
    assert_string_equal(org_unit_at(org, 0)->name.fi, "Q'\\");
    assert_int_equal(org_units_json(org, &b), 0);
    assert_string_equal(
        buf_str(&b),
        "{\"id\":\"t\",\"name\":{\"fi\":\"T\",\"sv\":\"T\",\"en\":\"T\"},"
        "\"units\":[{\"id\":\"r\",\"type\":\"county\",\"parent\":null,"
        "\"name\":{\"fi\":\"Q'\\\\\",\"sv\":\"Q'\\\\\",\"en\":\"Q'\\\\\"},"
        "\"children\":[]}]}");
    buf_release(&b);
    org_free(org);
  }
}

/* ------------------------------------------------------------- files */

static void test_load_file(void **state) {
  char path[] = "/tmp/test_org_XXXXXX";
  int fd = mkstemp(path);
  const char *text = org_builtin_json("kanta-hame");
  const char *bad = "{\"id\":\"t\",\"name\":{\"fi\":\"T\"},\"units\":[]}";
  struct org *org = NULL;
  struct error err;
  char want[256];
  (void)state;
  error_clear(&err);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(org_load_file(path, &org, &err), 0);
  assert_int_equal(org_unit_count(org), 58);
  org_free(org);
  org = NULL;

  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
  close(fd);
  assert_int_equal(org_load_file(path, &org, &err), ERR_CONFIG);
  snprintf(want, sizeof want, "'%s': units: expected at least one unit", path);
  assert_string_equal(err.msg, want);
  assert_null(org);
  unlink(path);

  assert_int_equal(org_load_file(path, &org, &err), ERR_IO);
  snprintf(want, sizeof want, "cannot open '%s': No such file or directory",
           path);
  assert_string_equal(err.msg, want);
  assert_null(org);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kanta_hame_counts),
      cmocka_unit_test(test_lansi_uusimaa_counts),
      cmocka_unit_test(test_kanta_hame_municipalities),
      cmocka_unit_test(test_builtin_lookups),
      cmocka_unit_test(test_builtin_unknown),
      cmocka_unit_test(test_file_order_and_depth_first),
      cmocka_unit_test(test_big_ward_and_senders),
      cmocka_unit_test(test_depth_cap),
      cmocka_unit_test(test_errors_top_level),
      cmocka_unit_test(test_errors_json),
      cmocka_unit_test(test_errors_units),
      cmocka_unit_test(test_errors_municipality),
      cmocka_unit_test(test_errors_hierarchy),
      cmocka_unit_test(test_errors_beds),
      cmocka_unit_test(test_errors_bed_total),
      cmocka_unit_test(test_errors_channels),
      cmocka_unit_test(test_errors_ready),
      cmocka_unit_test(test_units_json),
      cmocka_unit_test(test_load_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
