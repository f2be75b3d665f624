/* test_hl7.c -- unit tests for the HL7 v2 parser, decoder and ACK builder.
 *
 * Every file of $TK_SHARED/testdata/hl7v2 is parsed and checked against a
 * table of values read off the raw files by hand (message type, trigger,
 * control id, version, segment count and one PID/PV1/AIL value). Focused
 * tests then cover delimiters, terminators, escapes, character sets, caps,
 * malformed input and acknowledgements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hl7.h"
#include "mem.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const char *hl7_dir(void) {
  static char path[4096];
  const char *shared = getenv("TK_SHARED");
  if (shared == NULL)
    shared = "../shared";
  snprintf(path, sizeof path, "%s/testdata/hl7v2", shared);
  return path;
}

/* Reads a test data file; the caller frees with mem_free. */
static char *read_data(const char *name, size_t *len) {
  char path[4200];
  FILE *f;
  long n;
  char *data;
  snprintf(path, sizeof path, "%s/%s", hl7_dir(), name);
  f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open '%s'", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  data = mem_alloc((size_t)n + 1);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  data[n] = '\0';
  *len = (size_t)n;
  return data;
}

static void assert_span(struct hl7_span s, const char *want) {
  if (want == NULL) {
    if (s.p != NULL)
      fail_msg("expected absent, got '%.*s'", (int)s.len, s.p);
    return;
  }
  if (s.p == NULL)
    fail_msg("expected '%s', got absent", want);
  if (!hl7_span_eq(s, want))
    fail_msg("expected '%s', got '%.*s'", want, (int)s.len, s.p);
}

/* Parses a C string that must parse. */
static void parse_ok(const char *text, struct hl7_msg *m) {
  struct hl7_error e;
  int rc = hl7_parse(text, strlen(text), m, &e);
  if (rc != 0)
    fail_msg("parse failed: %s", e.base.msg);
}

/* Decodes a value to a static buffer. */
static const char *text_of(const struct hl7_msg *m, struct hl7_span s) {
  static char out[8192];
  size_t n = 0;
  assert_int_equal(hl7_text(m, s, out, sizeof out, &n), 0);
  assert_int_equal(strlen(out), n);
  return out;
}

static struct hl7_span get(const struct hl7_msg *m, const char *seg,
                           unsigned nth, unsigned field, unsigned rep,
                           unsigned comp, unsigned sub) {
  return hl7_get(m, hl7_segment(m, seg, nth), field, rep, comp, sub);
}

/* ------------------------------------------------------------------------ */
/* Every shared test file                                                   */
/* ------------------------------------------------------------------------ */

struct file_case {
  const char *file;
  int rc; /* expected hl7_parse result */
  unsigned nseg;
  const char *type, *trigger, *control_id, *version;
  const char *seg; /* one value to check */
  unsigned nth, field, rep, comp, sub;
  const char *value;
};

#define OK 0
static const struct file_case cases[] = {
    {"adt_a01_emap_canceltransfer_01.hl7", OK, 7, "ADT", "A01", "31644", "2.4",
     "PV1", 0, 3, 0, 2, 0, "UCHED RAT CHAIR"},
    {"adt_a01_msconv_1.hl7", OK, 24, "ADT", "A01", "MSG00001", "2.8", "PV1", 0,
     3, 0, 1, 1, "HUH AE OMU"},
    {"adt_a01_msconv_v23_accmgr.hl7", OK, 12, "ADT", "A01", "599102", "2.3",
     "PV1", 0, 3, 0, 1, 0, "PREOP"},
    {"adt_a01_msconv_v23_accmgr_raw_bom_lf.hl7", OK, 12, "ADT", "A01", "599102",
     "2.3", "PID", 0, 5, 0, 1, 0, "DUCK"},
    {"adt_a01_msconv_v251_everyman.hl7", OK, 5, "ADT", "A01", "MSG00001",
     "2.5.1", "PV1", 0, 3, 0, 0, 0, "2000^2012^01"},
    {"adt_a01_pythonhl7_v23.hl7", OK, 9, "ADT", "A01", "Q150084616T145947960",
     "2.3", "PID", 0, 3, 1, 1, 0, "162840"},
    {"adt_a01_rubyhl7_odd_encoding_chars.hl7", OK, 9, "ADT", "A01", "00003",
     "2.3", "PID", 0, 5, 0, 2, 0, "Doe"},
    {"adt_a02_emap_canceltransfer_02.hl7", OK, 7, "ADT", "A02", "31644", "2.4",
     "PV1", 0, 3, 0, 2, 0, "NON COVID MAJORS 05"},
    {"adt_a02_emap_canceltransfer_03.hl7", OK, 7, "ADT", "A02", "31644", "2.4",
     "PV1", 0, 3, 0, 2, 0, "DELETE ME"},
    {"adt_a02_emap_canceltransfer_05.hl7", OK, 7, "ADT", "A02", "31644", "2.4",
     "PV1", 0, 3, 0, 2, 0, "NON COVID MAJORS 04"},
    {"adt_a02_msconv_1.hl7", OK, 14, "ADT", "A02", "MSG00001", "2.8", "PV1", 0,
     3, 0, 3, 0, "Bed 03"},
    {"adt_a03_emap_canceltransfer_06.hl7", OK, 6, "ADT", "A03", "31644ZZZ",
     "2.4", "PV1", 0, 3, 0, 3, 0, "04-NON COVID MAJORS"},
    {"adt_a03_emap_generic_zseg.hl7", OK, 12, "ADT", "A03", "eh", "2.4", "PID",
     0, 5, 0, 1, 0, "AGBTESTD"},
    {"adt_a03_hapi_italian_v25.hl7", OK, 5, "ADT", "A03", "263206", "2.5",
     "PV1", 0, 3, 0, 9, 0, "MED. 1 - ONCOLOGIA"},
    {"adt_a03_msconv_1.hl7", OK, 24, "ADT", "A03", "MSG00001", "2.8", "PID", 0,
     3, 0, 1, 0, "PATID1234"},
    {"adt_a04_emap_generic.hl7", OK, 7, "ADT", "A04", "31644", "2.4", "PV1", 0,
     3, 0, 1, 0, "T42E"},
    {"adt_a04_msconv_1.hl7", OK, 24, "ADT", "A04", "MSG00001", "2.8", "PV1", 0,
     3, 0, 8, 0, "Floor5"},
    {"adt_a04_msconv_v23_nes.hl7", OK, 8, "ADT", "A04",
     "Q123456789T123456789X123456", "2.3", "PV1", 0, 3, 0, 2, 0, "EFGH"},
    {"adt_a04_msconv_v23_redox.hl7", OK, 8, "ADT", "A04", "1270326314", "2.3",
     "PID", 0, 3, 1, 1, 0, "e167267c-16c9-4fe3-96ae-9cff5703e90a"},
    {"adt_a06_msconv_1.hl7", OK, 23, "ADT", "A06", "MSG00006", "2.8", "PV1", 0,
     3, 0, 2, 2, "2.16.840.1.113883.4.642.1.1108"},
    {"adt_a08_emap_generic.hl7", OK, 6, "ADT", "A08", "31644ZZZ", "2.4", "PID",
     0, 5, 0, 1, 0, "ORANG"},
    {"adt_a08_msconv_1.hl7", OK, 24, "ADT", "A08", "MSG00001", "2.8", "PID", 0,
     5, 1, 1, 1, "Josh"},
    {"adt_a10_msconv_1.hl7", OK, 9, "ADT", "A10", "MSG00010", "2.8", "PV1", 0,
     3, 0, 3, 0, "BED-24"},
    {"adt_a11_emap_generic.hl7", OK, 6, "ADT", "A11", "100000", "2.4", "PV1", 0,
     3, 0, 3, 0, "BY03-17"},
    {"adt_a11_msconv_1.hl7", OK, 9, "ADT", "A11", "MSG00001", "2.8", "PV1", 0,
     3, 0, 2, 0, "OMU B"},
    {"adt_a12_emap_canceltransfer_04.hl7", OK, 7, "ADT", "A12", "31644", "2.4",
     "PV1", 0, 3, 0, 3, 0, "BY02-25"},
    {"adt_a12_emap_generic.hl7", OK, 6, "ADT", "A12", "100000", "2.4", "PV1", 0,
     3, 0, 5, 0, "PATIENT RETU"},
    {"adt_a13_emap_generic.hl7", OK, 11, "ADT", "A13", "100000", "2.4", "PV1",
     0, 4, 1, 0, 0, "I"},
    {"adt_a13_msconv_1.hl7", OK, 24, "ADT", "A13", "MSG00001", "2.8", "PID", 0,
     5, 0, 1, 5, "Aniston"},
    {"adt_o01_hl7dotnetcore_raw_crlf_blankline.hl7", OK, 5, "ADT", "O01",
     "MSGID12349876", "2.3", "PV1", 0, 3, 0, 2, 0, "PAREG"},
    {"bar_p01_hapi_odd_subcomp_sep_v24.hl7", OK, 4, "BAR", "P01",
     "299419ADT30502185725", "2.4", "PV1", 0, 3, 0, 2, 0, "083IC"},
    {"batch_adt_a04_pythonhl7_fhs_bhs_v25.hl7", OK, 6, "ADT", "A04",
     "12334456778890", "2.5", "PID", 0, 5, 0, 1, 0, "XXXXXXXXXX"},
    {"misc_pythonhl7_rep_sample.hl7", OK, 2, "ORU", "R01", "CNTRL-3456", "2.4",
     "PID", 0, 3, 0, 2, 2, "Sub-Component2"},
    {"oml_o21_hapi_utf8_accent_v25.hl7", OK, 14, "OML", "O21", "", "2.5", "PID",
     0, 5, 0, 1, 0, "BARRIONUEVO"},
    {"orm_o01_rubyhl7_unknown_segments_v231.hl7", OK, 53, "ORM", "O01",
     "241104", "2.3.1", "PV1", 0, 3, 0, 4, 0, "XYZ_HOSPITAL"},
    {"oru_r01_hapi_escapes_hnam_v24.hl7", OK, 5, "ORU", "R01", "72313573",
     "2.4", "PV1", 0, 3, 0, 4, 0, "2220"},
    {"oru_r01_hapi_escapes_olis_v23.hl7", OK, 8, "ORU", NULL, "5951", "2.3",
     "PID", 0, 5, 0, 3, 0, "DIAMOND"},
    {"oru_r01_hapi_v22_msa_radiology.hl7", OK, 7, "ORU", "R01",
     "1994050216163360", "2.2", "PV1", 0, 3, 0, 2, 0, "7714"},
    {"oru_r01_pythonhl7_v24.hl7", OK, 5, "ORU", "R01", "CNTRL-3456", "2.4",
     "PID", 0, 5, 0, 1, 0, "EVERYWOMAN"},
    /* Malformed on purpose: nameless segments "||||" after OBX. The header
     * still parses (checked in test_malformed_empty_segments). */
    {"oru_r03_rubyhl7_empty_segments_raw.hl7", ERR_PARSE, 7, "ORU", "R03",
     "LAB1003929", NULL, "PID", 0, 5, 0, 1, 0, "SANDIEGO"},
    {"rsp_k22_hl7apy_v27_truncation_char.hl7", OK, 5, "RSP", "K22", "1234",
     "2.7", "PID", 0, 3, 0, 4, 2, "1.3.6.1.4.1.21367.2011.2.5.17"},
    {"siu_s12_msconv_1.hl7", OK, 18, "SIU", "S12", "MSG00012", "2.8", "PV1", 0,
     3, 0, 2, 0, "Room01"},
    {"siu_s12_msconv_2.hl7", OK, 28, "SIU", "S12", "MSG00012", "2.8", "AIL", 1,
     3, 0, 1, 0, "DiagnosticUnit201"},
    {"siu_s12_msconv_3.hl7", OK, 32, "SIU", "S12", "MSG00001", "2.8", "AIL", 1,
     3, 0, 1, 2, "X-Ray Room"},
    {"siu_s13_msconv_1.hl7", OK, 14, "SIU", "S13", "MSG00013", "2.8", "AIL", 0,
     3, 0, 2, 0, "Room01"},
    {"siu_s14_corepoint_v23.hl7", OK, 8, "SIU", "S14", "20080306953450", "2.3",
     "AIL", 0, 3, 0, 2, 0, "FPCS NGUYEN, MD"},
    {"siu_s14_corepoint_v23_raw_lf.hl7", OK, 8, "SIU", "S14", "20080306953450",
     "2.3", "PID", 0, 5, 0, 2, 0, "MICHAEL"},
    {"siu_s14_msconv_1.hl7", OK, 14, "SIU", "S14", "MSG00014", "2.8", "AIL", 0,
     3, 0, 2, 0, "Room02"},
    {"siu_s15_msconv_1.hl7", OK, 14, "SIU", "S15", "MSG00015", "2.8", "AIL", 0,
     12, 0, 0, 0, "Cancelled"},
    {"siu_s17_msconv_1.hl7", OK, 14, "SIU", "S17", "MSG00017", "2.8", "AIL", 0,
     12, 0, 0, 0, "Deleted"},
    {"siu_s26_msconv_1.hl7", OK, 13, "SIU", "S26", "MSG00026", "2.8", "AIL", 0,
     12, 0, 0, 0, "Noshow"},
};

static const struct file_case *find_case(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(cases); i++)
    if (strcmp(cases[i].file, name) == 0)
      return &cases[i];
  return NULL;
}

static void check_file(const struct file_case *c) {
  static struct hl7_msg m;
  struct hl7_error e;
  size_t len;
  char *data = read_data(c->file, &len);
  int rc = hl7_parse(data, len, &m, &e);
  if (rc != c->rc)
    fail_msg("%s: rc %d, want %d (%s)", c->file, rc, c->rc, e.base.msg);
  if (rc == 0) {
    assert_int_equal(hl7_segment_count(&m), c->nseg);
    assert_string_equal(hl7_segment_at(&m, 0)->name, "MSH");
    assert_span(m.type, c->type);
    assert_span(m.trigger, c->trigger);
    assert_span(m.control_id, c->control_id);
    assert_span(m.version, c->version);
    assert_span(get(&m, c->seg, c->nth, c->field, c->rep, c->comp, c->sub),
                c->value);
    assert_true(hl7_version_supported(&m));
    assert_false(m.batch != (strncmp(c->file, "batch_", 6) == 0));
  } else {
    /* Malformed on purpose: everything before the error offset parses and
     * holds the expected values. */
    assert_true(e.offset > 0 && e.offset < len);
    assert_int_equal(hl7_parse(data, e.offset, &m, &e), 0);
    assert_int_equal(hl7_segment_count(&m), c->nseg);
    assert_span(m.type, c->type);
    assert_span(m.trigger, c->trigger);
    assert_span(m.control_id, c->control_id);
    assert_span(m.version, c->version);
    assert_span(get(&m, c->seg, c->nth, c->field, c->rep, c->comp, c->sub),
                c->value);
  }
  mem_free(data);
}

static void test_all_files(void **state) {
  DIR *d = opendir(hl7_dir());
  struct dirent *ent;
  unsigned seen = 0;
  (void)state;
  assert_non_null(d);
  while ((ent = readdir(d)) != NULL) {
    const struct file_case *c;
    if (ent->d_name[0] == '.')
      continue;
    c = find_case(ent->d_name);
    if (c == NULL)
      fail_msg("no expectations for '%s'", ent->d_name);
    check_file(c);
    seen++;
  }
  closedir(d);
  /* The directory holds exactly the 51 files of SOURCES.md, all tabled. */
  assert_int_equal(seen, 51);
  assert_int_equal(ARRAY_LEN(cases), 51);
}

/* ------------------------------------------------------------------------ */
/* The field separator index                                                */
/* ------------------------------------------------------------------------ */

static unsigned count_in(struct hl7_span s, int c) {
  unsigned n = 0;
  for (size_t i = 0; s.p != NULL && c >= 0 && i < s.len; i++)
    n += (unsigned char)s.p[i] == (unsigned char)c;
  return n;
}

static void assert_same_span(struct hl7_span a, struct hl7_span b) {
  assert_ptr_equal(a.p, b.p);
  assert_int_equal(a.len, b.len);
}

/* Every field, repetition, component and subcomponent (and one past each
 * end) of every segment: the same span from 'ix' (indexed) as from 'raw',
 * the same message with every segment left unindexed. Returns the number of
 * values compared. */
static unsigned compare_indexed(const struct hl7_msg *ix,
                                const struct hl7_msg *raw) {
  unsigned n = 0;
  assert_int_equal(hl7_segment_count(ix), hl7_segment_count(raw));
  for (unsigned i = 0; i < hl7_segment_count(ix); i++) {
    const struct hl7_seg *sx = hl7_segment_at(ix, i);
    const struct hl7_seg *sr = hl7_segment_at(raw, i);
    unsigned nf = hl7_field_count(ix, sx);
    assert_int_equal(nf, hl7_field_count(raw, sr));
    for (unsigned f = 0; f <= nf + 1; f++) {
      struct hl7_span whole = hl7_get(ix, sx, f, HL7_REP_ALL, 0, 0);
      unsigned nr = count_in(whole, ix->delims.rep) + 1;
      assert_same_span(whole, hl7_get(raw, sr, f, HL7_REP_ALL, 0, 0));
      assert_int_equal(hl7_reps(ix, sx, f), hl7_reps(raw, sr, f));
      n++;
      for (unsigned r = 0; r <= nr; r++) {
        struct hl7_span rs = hl7_get(ix, sx, f, r, 0, 0);
        unsigned nc = count_in(rs, ix->delims.comp) + 1;
        assert_same_span(rs, hl7_get(raw, sr, f, r, 0, 0));
        n++;
        for (unsigned c = 1; c <= nc + 1; c++) {
          struct hl7_span cs = hl7_get(ix, sx, f, r, c, 0);
          unsigned ns = count_in(cs, ix->delims.sub) + 1;
          assert_same_span(cs, hl7_get(raw, sr, f, r, c, 0));
          n++;
          for (unsigned k = 1; k <= ns + 1; k++) {
            assert_same_span(hl7_get(ix, sx, f, r, c, k),
                             hl7_get(raw, sr, f, r, c, k));
            n++;
          }
        }
      }
    }
  }
  return n;
}

/* A heap copy of 'm' with every segment unindexed. */
static struct hl7_msg *unindexed_copy(const struct hl7_msg *m) {
  struct hl7_msg *raw = mem_alloc(sizeof *raw);
  memcpy(raw, m, sizeof *raw);
  for (unsigned i = 0; i < raw->nseg; i++) {
    raw->seg[i].fidx = HL7_FSEP_NONE;
    raw->seg[i].nfsep = 0;
  }
  return raw;
}

static void test_index_matches_scan(void **state) {
  DIR *d = opendir(hl7_dir());
  struct dirent *ent;
  struct hl7_msg *m = mem_alloc(sizeof *m);
  unsigned files = 0;
  unsigned msgs = 0;
  unsigned values = 0;
  (void)state;
  assert_non_null(d);
  while ((ent = readdir(d)) != NULL) {
    size_t len;
    size_t pos = 0;
    char *data;
    if (ent->d_name[0] == '.')
      continue;
    data = read_data(ent->d_name, &len);
    files++;
    /* Every message of a batch; a file that does not parse is skipped. */
    while (pos < len && hl7_parse(data + pos, len - pos, m, NULL) == 0) {
      struct hl7_msg *raw = unindexed_copy(m);
      for (unsigned i = 0; i < m->nseg; i++)
        assert_int_not_equal(m->seg[i].fidx, HL7_FSEP_NONE);
      values += compare_indexed(m, raw);
      mem_free(raw);
      msgs++;
      if (m->next == 0)
        break;
      pos += m->next;
    }
    mem_free(data);
  }
  closedir(d);
  assert_int_equal(files, 51);
  assert_true(msgs >= 45);
  assert_true(values > 10000);
  mem_free(m);
}

/* More field separators than the index holds: the segment that overflows
 * is left unindexed, later segments that fit are indexed, and every value
 * is the same as scanning gives. */
static void test_index_overflow(void **state) {
  struct hl7_msg *m = mem_alloc(sizeof *m);
  struct hl7_msg *raw;
  struct buf b;
  unsigned unindexed = 0;
  (void)state;
  buf_init(&b, 1 << 20);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ADT^A01|1|P|2.5"), 0);
  for (unsigned s = 0; s < 5; s++) {
    assert_int_equal(buf_puts(&b, "\rOBX"), 0);
    for (unsigned i = 1; i <= 500; i++)
      assert_int_equal(buf_printf(&b, "|%u^%u&x~r", s, i), 0);
  }
  assert_int_equal(buf_puts(&b, "\rZZZ|last^one|end\r"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, m, NULL), 0);
  assert_int_equal(hl7_segment_count(m), 7);
  for (unsigned i = 0; i < m->nseg; i++)
    unindexed += m->seg[i].fidx == HL7_FSEP_NONE;
  assert_int_equal(unindexed, 1); /* 12 + 4 * 500 fit, the fifth OBX not */
  assert_int_equal(m->seg[5].fidx, HL7_FSEP_NONE);
  assert_int_not_equal(m->seg[6].fidx, HL7_FSEP_NONE);
  assert_true(m->nfsep <= HL7_MAX_INDEXED_FIELDS);
  assert_span(get(m, "OBX", 4, 500, 0, 1, 0), "4");
  assert_span(get(m, "OBX", 4, 500, 0, 2, 1), "500");
  assert_span(get(m, "OBX", 0, 1, 1, 0, 0), "r");
  assert_span(get(m, "ZZZ", 0, 2, 0, 0, 0), "end");
  assert_int_equal(hl7_field_count(m, hl7_segment(m, "OBX", 4)), 500);
  raw = unindexed_copy(m);
  assert_true(compare_indexed(m, raw) > 5 * 500 * 4);
  mem_free(raw);
  buf_release(&b);
  mem_free(m);
}

/* ------------------------------------------------------------------------ */
/* Malformed and special shared files                                       */
/* ------------------------------------------------------------------------ */

static void test_malformed_empty_segments(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  struct hl7_span id;
  size_t len;
  char *data = read_data("oru_r03_rubyhl7_empty_segments_raw.hl7", &len);
  (void)state;
  memset(&m, 0x5a, sizeof m);
  assert_int_equal(hl7_parse(data, len, &m, &e), ERR_PARSE);
  assert_int_equal(m.nseg, 0x5a5a5a5a); /* untouched */
  /* The eighth segment "||||" (after seven good ones) has no name. */
  assert_int_equal(e.base.code, ERR_PARSE);
  assert_int_equal(e.seg_index, 7);
  assert_int_equal(e.offset, 250);
  assert_int_equal(data[250], '|');
  assert_int_equal(e.hl7_code, 100);
  assert_string_equal(e.segment, "");
  assert_non_null(strstr(e.base.msg, "invalid segment name"));
  /* The header alone parses: no MSH-11/MSH-12 (no version). */
  assert_int_equal(hl7_parse_header(data, len, &m, &e), 0);
  assert_int_equal(m.nseg, 1);
  assert_span(m.type, "ORU");
  assert_span(m.trigger, "R03");
  assert_span(m.control_id, "LAB1003929");
  assert_span(m.version, NULL);
  assert_int_equal(m.version_num, 0);
  assert_false(hl7_version_supported(&m));
  assert_span(m.sending_app, "LAB1");
  assert_span(m.receiving_app, "DESTINATION");
  assert_int_equal(hl7_salvage_control_id(data, len, &id), 0);
  assert_span(id, "LAB1003929");
  mem_free(data);
}

static void test_batch_file(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  static const char *const ids[] = {"12334456778890", "12334456778891",
                                    "12334456778890"};
  size_t len;
  size_t off = 0;
  unsigned n = 0;
  char *data = read_data("batch_adt_a04_pythonhl7_fhs_bhs_v25.hl7", &len);
  (void)state;
  while (off < len) {
    assert_int_equal(hl7_parse(data + off, len - off, &m, &e), 0);
    assert_true(n < 3);
    assert_true(m.batch);
    assert_span(m.control_id, ids[n]);
    assert_int_equal(m.nseg, 6);
    assert_string_equal(m.seg[5].name, "PV1");
    assert_span(m.charset_name, "ASCII");
    assert_int_equal(m.charset, HL7_CS_DEFAULT);
    assert_true(m.next > 0);
    off += m.next;
    n++;
  }
  assert_int_equal(n, 3);
  assert_int_equal(off, len);
  mem_free(data);
}

static void test_odd_encoding_chars(void **state) {
  static struct hl7_msg m;
  size_t len;
  char *data = read_data("adt_a01_rubyhl7_odd_encoding_chars.hl7", &len);
  struct hl7_error e;
  (void)state;
  /* MSH-2 "^\&": encoding characters are positional, so '\' is the
   * repetition separator, '&' the escape character, no subcomponents. */
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_span(m.encoding, "^\\&");
  assert_int_equal(m.delims.field, '|');
  assert_int_equal(m.delims.comp, '^');
  assert_int_equal(m.delims.rep, '\\');
  assert_int_equal(m.delims.esc, '&');
  assert_int_equal(m.delims.sub, -1);
  assert_int_equal(m.delims.trunc, -1);
  assert_span(m.sending_app, "DPS");
  assert_span(get(&m, "MSH", 0, 3, 0, 3, 0), "GUID");
  assert_span(get(&m, "STF", 0, 3, 0, 2, 0), "Arnold");
  /* The trailing lone VT byte (0x0B) is a blank line, not a segment. */
  assert_string_equal(m.seg[m.nseg - 1].name, "STF");
  mem_free(data);

  /* "^~\}": '}' separates subcomponents. */
  data = read_data("bar_p01_hapi_odd_subcomp_sep_v24.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_int_equal(m.delims.sub, '}');
  assert_int_equal(m.delims.esc, '\\');
  mem_free(data);
  parse_ok("MSH|^~\\}|A||||||ADT^A01|1|P|2.4\rPID|||1}X}Y^^^Z&W\r", &m);
  assert_span(get(&m, "PID", 0, 3, 0, 1, 2), "X");
  assert_span(get(&m, "PID", 0, 3, 0, 1, 3), "Y");
  assert_span(get(&m, "PID", 0, 3, 0, 4, 0), "Z&W");
  assert_span(get(&m, "PID", 0, 3, 0, 4, 2), NULL);
}

static void test_five_encoding_chars(void **state) {
  static struct hl7_msg m;
  size_t len;
  char *data = read_data("rsp_k22_hl7apy_v27_truncation_char.hl7", &len);
  struct hl7_error e;
  (void)state;
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_span(m.encoding, "^~\\&#");
  assert_int_equal(m.delims.trunc, '#');
  assert_int_equal(m.delims.sub, '&');
  assert_span(m.structure, "RSP_K21");
  assert_int_equal(m.version_num, 270);
  assert_span(get(&m, "MSA", 0, 2, 0, 0, 0), "26775702551812240");
  assert_int_equal(hl7_reps(&m, hl7_segment(&m, "QPD", 0), 3), 2);
  assert_span(get(&m, "QPD", 0, 3, 1, 2, 0), "SMITH");
  assert_span(get(&m, "PID", 0, 11, 0, 3, 0), "CAGLIARI");
  /* '#' does not split values; \P\ decodes to it. */
  parse_ok("MSH|^~\\&#|A||||||ADT^A01|1|P|2.7\rNTE|1||ab#cd\\P\\e\r", &m);
  assert_span(get(&m, "NTE", 0, 3, 0, 1, 0), "ab#cd\\P\\e");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)), "ab#cd#e");
  mem_free(data);
}

/* The byte-exact BOM/LF and LF files give the same segments as their
 * CR-normalised twins. */
static void assert_same_segments(const char *a_file, const char *b_file) {
  static struct hl7_msg a;
  static struct hl7_msg b;
  struct hl7_error e;
  size_t alen;
  size_t blen;
  char *ad = read_data(a_file, &alen);
  char *bd = read_data(b_file, &blen);
  assert_int_equal(hl7_parse(ad, alen, &a, &e), 0);
  assert_int_equal(hl7_parse(bd, blen, &b, &e), 0);
  assert_int_equal(a.nseg, b.nseg);
  for (unsigned i = 0; i < a.nseg; i++) {
    struct hl7_span sa = hl7_get(&a, &a.seg[i], 0, 0, 0, 0);
    assert_string_equal(a.seg[i].name, b.seg[i].name);
    assert_int_equal(a.seg[i].len, b.seg[i].len);
    assert_memory_equal(sa.p, b.data + b.seg[i].off, a.seg[i].len);
  }
  mem_free(ad);
  mem_free(bd);
}

static void test_terminators_and_bom(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  size_t len;
  char *data;
  (void)state;
  assert_same_segments("adt_a01_msconv_v23_accmgr_raw_bom_lf.hl7",
                       "adt_a01_msconv_v23_accmgr.hl7");
  assert_same_segments("siu_s14_corepoint_v23_raw_lf.hl7",
                       "siu_s14_corepoint_v23.hl7");

  /* BOM skipped: data starts at MSH; trailing spaces are data. */
  data = read_data("adt_a01_msconv_v23_accmgr_raw_bom_lf.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_ptr_equal(m.data, data + 3);
  assert_span(get(&m, "MSH", 0, 15, 0, 0, 0), " ");
  assert_span(get(&m, "EVN", 0, 7, 0, 0, 0), " ");
  assert_span(get(&m, "DG1", 0, 3, 0, 2, 0), "OSTEOARTHROS NOS-L/LEG ");
  /* The last segment has no terminator. */
  assert_int_equal(m.len, len - 3);
  assert_int_equal(m.next, len);
  mem_free(data);

  /* CRLF, an empty line between NK1 and PV1, a lone space after the end. */
  data = read_data("adt_o01_hl7dotnetcore_raw_crlf_blankline.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_string_equal(m.seg[3].name, "NK1");
  assert_string_equal(m.seg[4].name, "PV1");
  assert_int_equal(m.data[m.seg[3].off + m.seg[3].len], '\r');
  assert_span(get(&m, "NK1", 1, 2, 0, 1, 0), "DOE");
  assert_span(get(&m, "PV1", 0, 50, 0, 0, 0), "002376853");
  assert_int_equal(m.next, len);
  mem_free(data);

  /* Mixed terminators and blank lines written here. */
  parse_ok("\r\n\n  \r\nMSH|^~\\&|A||||||ADT^A01|1|P|2.5\r\n\r\nEVN|A01\n"
           "\n\nPID|1|| x \r\t\x0b\rPV1|1|I|W1^R2^B3\n",
           &m);
  assert_int_equal(m.nseg, 4);
  assert_string_equal(m.seg[1].name, "EVN");
  assert_span(get(&m, "PID", 0, 3, 0, 0, 0), " x ");
  assert_span(get(&m, "PV1", 0, 3, 0, 3, 0), "B3");
}

static void test_get_semantics(void **state) {
  static struct hl7_msg m;
  const struct hl7_seg *msh;
  const struct hl7_seg *pid;
  (void)state;
  parse_ok("MSH|^~\\&|APP^X|FAC|||20240101||ADT^A08^ADT_A01|C1|P^T|2.5.1\r"
           "PID|1||a~~b^c&d&&e||N1^G1~N2^G2||\r"
           "PV1||I||~I\r"
           "PV1|2\r",
           &m);
  msh = hl7_segment_at(&m, 0);
  pid = hl7_segment(&m, "PID", 0);
  assert_non_null(pid);
  assert_null(hl7_segment_at(&m, 4));
  assert_null(hl7_segment(&m, "PID", 1));
  assert_null(hl7_segment(&m, "PV", 0));
  assert_span(hl7_get(&m, hl7_segment(&m, "PV1", 1), 1, 0, 0, 0), "2");
  assert_span(hl7_get(&m, msh, 0, 0, 0, 0), "MSH");
  assert_span(hl7_get(&m, msh, 1, 0, 0, 0), "|");
  assert_span(hl7_get(&m, msh, 2, 0, 0, 0), "^~\\&");
  assert_span(hl7_get(&m, msh, 2, 0, 2, 0), NULL);
  assert_span(hl7_get(&m, msh, 2, 1, 0, 0), NULL);
  assert_span(hl7_get(&m, msh, 3, 0, 0, 0), "APP^X");
  assert_span(hl7_get(&m, msh, 3, 0, 2, 0), "X");
  assert_span(hl7_get(&m, msh, 5, 0, 0, 0), "");
  assert_span(hl7_get(&m, msh, 13, 0, 0, 0), NULL);
  assert_int_equal(hl7_field_count(&m, msh), 12);
  assert_span(m.sending_app, "APP");
  assert_span(m.sending_fac, "FAC");
  assert_span(m.receiving_app, "");
  assert_span(m.structure, "ADT_A01");
  assert_span(m.processing_id, "P");
  assert_int_equal(m.version_num, 251);
  assert_span(m.charset_name, NULL);
  /* repetitions, components, subcomponents; absent vs empty */
  assert_int_equal(hl7_field_count(&m, pid), 7);
  assert_int_equal(hl7_reps(&m, pid, 3), 3);
  assert_int_equal(hl7_reps(&m, pid, 2), 0);
  assert_int_equal(hl7_reps(&m, pid, 9), 0);
  assert_int_equal(hl7_reps(&m, msh, 2), 1);
  assert_span(hl7_get(&m, pid, 3, HL7_REP_ALL, 0, 0), "a~~b^c&d&&e");
  assert_span(hl7_get(&m, pid, 3, HL7_REP_ALL, 1, 0), NULL);
  assert_span(hl7_get(&m, pid, 3, 0, 0, 0), "a");
  assert_span(hl7_get(&m, pid, 3, 1, 0, 0), "");
  assert_span(hl7_get(&m, pid, 3, 1, 1, 0), "");
  assert_span(hl7_get(&m, pid, 3, 1, 2, 0), NULL);
  assert_span(hl7_get(&m, pid, 3, 2, 1, 0), "b");
  assert_span(hl7_get(&m, pid, 3, 2, 2, 0), "c&d&&e");
  assert_span(hl7_get(&m, pid, 3, 2, 2, 1), "c");
  assert_span(hl7_get(&m, pid, 3, 2, 2, 3), "");
  assert_span(hl7_get(&m, pid, 3, 2, 2, 4), "e");
  assert_span(hl7_get(&m, pid, 3, 2, 2, 5), NULL);
  assert_span(hl7_get(&m, pid, 3, 2, 0, 1), NULL);
  assert_span(hl7_get(&m, pid, 3, 3, 0, 0), NULL);
  assert_span(hl7_get(&m, pid, 5, 1, 2, 0), "G2");
  assert_span(hl7_get(&m, pid, 7, 0, 0, 0), "");
  assert_span(hl7_get(&m, pid, 8, 0, 0, 0), NULL);
  assert_span(hl7_get(&m, NULL, 1, 0, 0, 0), NULL);
  /* "~I": an empty first repetition */
  assert_int_equal(hl7_reps(&m, hl7_segment(&m, "PV1", 0), 4), 2);
  assert_span(get(&m, "PV1", 0, 4, 0, 0, 0), "");
  assert_span(get(&m, "PV1", 0, 4, 1, 0, 0), "I");
  assert_span(get(&m, "PV1", 0, 3, 0, 0, 0), "");
  assert_false(hl7_span_eq(get(&m, "PV1", 0, 9, 0, 0, 0), ""));
}

static void test_versions(void **state) {
  static struct hl7_msg m;
  static const struct {
    const char *v;
    unsigned num;
    bool ok;
  } vs[] = {{"2.1", 210, false},    {"2.2", 220, true},   {"2.3", 230, true},
            {"2.3.1", 231, true},   {"2.5.1", 251, true}, {"2.8.2", 282, true},
            {"2.9", 290, false},    {"3.0", 0, false},    {"2.x", 0, false},
            {"2.5^FIN", 250, true}, {"", 0, false}};
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(vs); i++) {
    char text[128];
    snprintf(text, sizeof text, "MSH|^~\\&|A||||||ADT^A01|1|P|%s\r", vs[i].v);
    parse_ok(text, &m);
    assert_int_equal(m.version_num, vs[i].num);
    assert_int_equal(hl7_version_supported(&m), vs[i].ok);
  }
}

/* ------------------------------------------------------------------------ */
/* Escapes and character sets                                              */
/* ------------------------------------------------------------------------ */

static void test_escapes(void **state) {
  static struct hl7_msg m;
  char out[64];
  size_t n = 7;
  (void)state;
  parse_ok("MSH|^~\\&|A||||||ORU^R01|1|P|2.5||||||UNICODE UTF-8\r"
           "NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\r"
           "NTE|2||\\X41\\\\XC3A4\\-\\XC3 A4\\\r"
           "NTE|3||\\H\\bold\\N\\ x\\.br\\y\\.sp 2\\z\\.in+4\\\\.ce\\w\r"
           "NTE|4||\\Q\\ \\X4\\ \\Xzz\\ a\\F\r"
           "NTE|5||\\C2842\\\\Zabc\\ok\\.ti-2\\\\.fi\\\\.nf\\\\.sk1\\\r"
           "NTE|6||\\P\\\\E\r",
           &m);
  assert_int_equal(m.charset, HL7_CS_UTF8);
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)),
                      "a|b^c&d~e\\f");
  assert_string_equal(text_of(&m, get(&m, "NTE", 1, 3, 0, 0, 0)),
                      "A\xC3\xA4-\xC3\xA4");
  assert_string_equal(text_of(&m, get(&m, "NTE", 2, 3, 0, 0, 0)),
                      "bold x\ny\nz\nw");
  /* unknown, malformed and unterminated sequences stay literal */
  assert_string_equal(text_of(&m, get(&m, "NTE", 3, 3, 0, 0, 0)),
                      "\\Q\\ \\X4\\ \\Xzz\\ a\\F");
  /* charset switches, local escapes and layout commands vanish */
  assert_string_equal(text_of(&m, get(&m, "NTE", 4, 3, 0, 0, 0)), "ok");
  /* no truncation character before v2.7: \P\ stays literal */
  assert_string_equal(text_of(&m, get(&m, "NTE", 5, 3, 0, 0, 0)), "\\P\\\\E");

  /* size: measure, exact fit, one byte short leaves out untouched */
  assert_int_equal(hl7_text(&m, get(&m, "NTE", 0, 3, 0, 0, 0), NULL, 0, &n), 0);
  assert_int_equal(n, 11);
  memset(out, '#', sizeof out);
  n = 99;
  assert_int_equal(hl7_text(&m, get(&m, "NTE", 0, 3, 0, 0, 0), out, 11, &n),
                   ERR_TOOBIG);
  assert_int_equal(n, 99);
  assert_int_equal(out[0], '#');
  assert_int_equal(hl7_text(&m, get(&m, "NTE", 0, 3, 0, 0, 0), out, 12, &n), 0);
  assert_int_equal(n, 11);
  assert_string_equal(out, "a|b^c&d~e\\f");
  /* absent span decodes to "" */
  assert_int_equal(hl7_text(&m, get(&m, "NTE", 0, 9, 0, 0, 0), out, 2, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(hl7_text(NULL, get(&m, "NTE", 0, 3, 0, 0, 0), out, 2, &n),
                   ERR_INVAL);
}

static void test_escapes_in_shared_files(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  size_t len;
  const char *t;
  char *data = read_data("oru_r01_hapi_escapes_olis_v23.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  t = text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0));
  {
    const char *want = "\n                  Lipid - Target Levels for "
                       "Treatment \n\n  ****";
    assert_int_equal(strncmp(t, want, strlen(want)), 0);
  }
  assert_non_null(strstr(t, "\n  |  Risk   |                  |"));
  assert_null(strchr(t, '\\'));
  mem_free(data);

  data = read_data("oru_r01_hapi_escapes_hnam_v24.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  t = text_of(&m, get(&m, "OBX", 0, 5, 0, 0, 0));
  assert_non_null(strstr(t, "Calculated (37 ^o C) :\n"));
  assert_non_null(strstr(t, " pH :  7.28 (7.38-7.43)"));
  assert_null(strchr(t, '\\'));
  mem_free(data);

  /* \T\ in the Microsoft v2.8 samples */
  data = read_data("adt_a01_msconv_1.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  {
    bool found = false;
    for (unsigned i = 0; i < m.nseg && !found; i++) {
      struct hl7_span s = {m.data + m.seg[i].off, m.seg[i].len};
      bool has = false;
      for (size_t k = 0; k + 3 <= s.len && !has; k++)
        has = memcmp(s.p + k, "\\T\\", 3) == 0;
      if (has) {
        /* decode the whole segment body after the name */
        struct hl7_span body = {s.p + 4, m.seg[i].len - 4};
        t = text_of(&m, body);
        assert_null(strstr(t, "\\T\\"));
        found = true;
      }
    }
    assert_true(found);
  }
  mem_free(data);
}

static void test_charsets(void **state) {
  static struct hl7_msg m;
  (void)state;
  /* ISO 8859-1 bytes, declared */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\r"
           "PID|||1||J\xE4rvinen^\xC5sa||||||\\XE4\\ \\X E4\\\r",
           &m);
  assert_int_equal(m.charset, HL7_CS_LATIN1);
  assert_string_equal(text_of(&m, get(&m, "PID", 0, 5, 0, 1, 0)),
                      "J\xC3\xA4rvinen");
  assert_string_equal(text_of(&m, get(&m, "PID", 0, 5, 0, 2, 0)), "\xC3\x85sa");
  assert_string_equal(text_of(&m, get(&m, "PID", 0, 11, 0, 0, 0)),
                      "\xC3\xA4 \xC3\xA4");
  /* other spellings of Latin-1 */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||iso-8859-1\r", &m);
  assert_int_equal(m.charset, HL7_CS_LATIN1);
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||ISO IR100~UNICODE\r", &m);
  assert_int_equal(m.charset, HL7_CS_LATIN1);
  /* Latin-9 and Windows-1252 differ from Latin-1 in a few places */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/15\r"
           "NTE|||\xA4\xA6\xE4\r",
           &m);
  assert_int_equal(m.charset, HL7_CS_LATIN9);
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)),
                      "\xE2\x82\xAC\xC5\xA0\xC3\xA4");
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||WINDOWS-1252\r"
           "NTE|||\x80\x96\xE4\r",
           &m);
  assert_int_equal(m.charset, HL7_CS_CP1252);
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)),
                      "\xE2\x82\xAC\xE2\x80\x93\xC3\xA4");
  /* no MSH-18: valid UTF-8 kept, other high bytes read as Latin-1 */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5\r"
           "NTE|||\xC3\xA4|\xE4x|\xC3|\xF0\x9F\x98\x80\r",
           &m);
  assert_int_equal(m.charset, HL7_CS_DEFAULT);
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)), "\xC3\xA4");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 4, 0, 0, 0)), "\xC3\xA4x");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 5, 0, 0, 0)), "\xC3\x83");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 6, 0, 0, 0)),
                      "\xF0\x9F\x98\x80");
  /* declared UTF-8: invalid bytes become U+FFFD, one per maximal subpart */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8\r"
           "NTE|||a\xE4z|\xE2\x82z|\xC0\xAF|\xED\xA0\x80|\\XE4\\\r",
           &m);
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 3, 0, 0, 0)),
                      "a\xEF\xBF\xBDz");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 4, 0, 0, 0)),
                      "\xEF\xBF\xBDz");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 5, 0, 0, 0)),
                      "\xEF\xBF\xBD\xEF\xBF\xBD");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 6, 0, 0, 0)),
                      "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  assert_string_equal(text_of(&m, get(&m, "NTE", 0, 7, 0, 0, 0)),
                      "\xEF\xBF\xBD");
  /* an unknown character set is refused, not guessed */
  {
    char out[16];
    size_t n = 0;
    parse_ok("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/5\rNTE|||x\r", &m);
    assert_int_equal(m.charset, HL7_CS_UNKNOWN);
    assert_int_equal(
        hl7_text(&m, get(&m, "NTE", 0, 3, 0, 0, 0), out, sizeof out, &n),
        ERR_UNSUPPORTED);
  }
}

static void test_utf8_accent_file(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  size_t len;
  char *data = read_data("oml_o21_hapi_utf8_accent_v25.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &m, &e), 0);
  assert_int_equal(m.charset, HL7_CS_DEFAULT); /* MSH-18 empty */
  assert_span(m.charset_name, NULL);
  assert_span(get(&m, "PID", 0, 5, 0, 2, 0), "RODOLFO SEBASTI\xC3\x81N");
  assert_string_equal(text_of(&m, get(&m, "PID", 0, 5, 0, 2, 0)),
                      "RODOLFO SEBASTI\xC3\x81N");
  assert_span(m.control_id, "");
  assert_span(m.structure, NULL);
  assert_span(get(&m, "MSH", 0, 7, 0, 0, 0), "");
  mem_free(data);
}

/* ------------------------------------------------------------------------ */
/* Caps and malformed input                                                 */
/* ------------------------------------------------------------------------ */

static void test_cap_segments(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  struct buf b;
  (void)state;
  buf_init(&b, HL7_MAX_MESSAGE);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ORU^R01|1|P|2.5\r"), 0);
  for (unsigned i = 1; i < HL7_MAX_SEGMENTS; i++)
    assert_int_equal(buf_printf(&b, "NTE|%u\r", i), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), 0);
  assert_int_equal(m.nseg, HL7_MAX_SEGMENTS);
  assert_span(get(&m, "NTE", HL7_MAX_SEGMENTS - 2, 1, 0, 0, 0), "2047");
  assert_int_equal(buf_puts(&b, "OBX|1\r"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_string_equal(e.segment, "OBX");
  assert_int_equal(e.seg_index, HL7_MAX_SEGMENTS);
  assert_int_equal(e.occurrence, 1);
  assert_int_equal(e.offset, b.len - 6);
  assert_int_equal(e.hl7_code, 207);
  assert_non_null(strstr(e.base.msg, "too many segments"));
  buf_release(&b);
}

static void test_cap_fields_and_more(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  struct buf b;
  (void)state;
  buf_init(&b, 1 << 20);
  /* exactly HL7_MAX_FIELDS fields, then one more */
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID"), 0);
  for (unsigned i = 1; i <= HL7_MAX_FIELDS; i++)
    assert_int_equal(buf_printf(&b, "|%u", i), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), 0);
  assert_int_equal(hl7_field_count(&m, hl7_segment(&m, "PID", 0)),
                   HL7_MAX_FIELDS);
  assert_span(get(&m, "PID", 0, HL7_MAX_FIELDS, 0, 0, 0), "512");
  assert_int_equal(buf_puts(&b, "|x\rPV1|1\r"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_string_equal(e.segment, "PID");
  assert_int_equal(e.seg_index, 1);
  assert_int_equal(e.field, HL7_MAX_FIELDS + 1);
  assert_int_equal(b.data[e.offset], '|');
  assert_non_null(strstr(e.base.msg, "too many fields in segment 'PID'"));

  /* too many fields in MSH itself */
  buf_reset(&b);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&"), 0);
  for (unsigned i = 3; i <= HL7_MAX_FIELDS + 1; i++)
    assert_int_equal(buf_puts(&b, "|A^B"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_string_equal(e.segment, "MSH");
  assert_int_equal(e.field, HL7_MAX_FIELDS + 1);

  /* repetitions */
  buf_reset(&b);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1||"),
                   0);
  for (unsigned i = 0; i < HL7_MAX_REPS; i++)
    assert_int_equal(buf_puts(&b, "x~"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_int_equal(e.field, 3);
  assert_non_null(strstr(e.base.msg, "too many repetitions"));
  b.len -= 1; /* drop the last '~': exactly the cap */
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), 0);
  assert_int_equal(hl7_reps(&m, hl7_segment(&m, "PID", 0), 3), HL7_MAX_REPS);

  /* components and subcomponents */
  buf_reset(&b);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1|"), 0);
  for (unsigned i = 0; i < HL7_MAX_COMPONENTS; i++)
    assert_int_equal(buf_puts(&b, "c^"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_non_null(strstr(e.base.msg, "too many components"));
  assert_int_equal(e.field, 2);
  buf_reset(&b);
  assert_int_equal(buf_puts(&b, "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1|"), 0);
  for (unsigned i = 0; i < HL7_MAX_SUBCOMPONENTS; i++)
    assert_int_equal(buf_puts(&b, "s&"), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &m, &e), ERR_TOOBIG);
  assert_non_null(strstr(e.base.msg, "too many subcomponents"));
  buf_release(&b);

  /* the message size cap is checked before anything else */
  assert_int_equal(hl7_parse("MSH", HL7_MAX_MESSAGE + 1, &m, &e), ERR_TOOBIG);
  assert_int_equal(e.hl7_code, 207);
}

static void expect_parse_error(const char *text, int rc, unsigned field,
                               const char *msg_part) {
  size_t len = strlen(text);
  static struct hl7_msg m;
  struct hl7_error e;
  memset(&m, 0x33, sizeof m);
  assert_int_equal(hl7_parse(text, len, &m, &e), rc);
  assert_int_equal(e.base.code, rc);
  assert_int_equal(e.field, field);
  if (strstr(e.base.msg, msg_part) == NULL)
    fail_msg("'%s' lacks '%s'", e.base.msg, msg_part);
  assert_int_equal(m.nseg, 0x33333333);
}

static void test_malformed(void **state) {
  struct hl7_msg *m = mem_alloc(sizeof *m);
  (void)state;
  expect_parse_error("", ERR_PARSE, 0, "empty message");
  expect_parse_error("\r\n \r\n\t", ERR_PARSE, 0, "empty message");
  expect_parse_error("\xEF\xBB\xBF", ERR_PARSE, 0, "empty message");
  expect_parse_error("PID|1||x\r", ERR_PARSE, 0, "missing MSH");
  expect_parse_error("EVN|A01\rMSH|^~\\&|A\r", ERR_PARSE, 0, "missing MSH");
  expect_parse_error("MSHX|^~\\&|A\r", ERR_PARSE, 0, "missing MSH");
  expect_parse_error("MSH", ERR_PARSE, 1, "truncated MSH");
  expect_parse_error("MSH|", ERR_PARSE, 2, "truncated MSH");
  expect_parse_error("MSH|\r", ERR_PARSE, 2, "truncated MSH");
  expect_parse_error("MSH||A|B", ERR_PARSE, 2, "no encoding characters");
  expect_parse_error("MSH|^~\\&", ERR_PARSE, 9, "message type missing");
  expect_parse_error("MSH|^~\\&|A|B|C|D|E|F\rPID|1\r", ERR_PARSE, 9,
                     "message type missing");
  expect_parse_error("MSH|^~\\&|A|B|C|D|E|F|^A01|1\r", ERR_PARSE, 9,
                     "message type missing");
  expect_parse_error("MSH|^^\\&|A\r", ERR_PARSE, 2, "repeated encoding");
  expect_parse_error("MSH|^~a&|A\r", ERR_PARSE, 2,
                     "invalid encoding character");
  expect_parse_error("MSH|^~\\&#$|A\r", ERR_PARSE, 2, "more than 5 encoding");
  expect_parse_error("MSHA^~\\&|A\r", ERR_PARSE, 0, "missing MSH");
  expect_parse_error("MSH ^~\\&|A\r", ERR_PARSE, 1, "invalid field separator");
  expect_parse_error("MSH|^~\\&|A||||||ADT^A01|1\rpid|1\r", ERR_PARSE, 0,
                     "invalid segment name");
  expect_parse_error("MSH|^~\\&|A||||||ADT^A01|1\rPID^1\r", ERR_PARSE, 0,
                     "invalid segment name");
  expect_parse_error("MSH|^~\\&|A||||||ADT^A01|1\rPI\r", ERR_PARSE, 0,
                     "invalid segment name");
  expect_parse_error("MSH|^~\\&|A||||||ADT^A01|1\r x|1\r", ERR_PARSE, 0,
                     "invalid segment name");
  {
    struct hl7_error e;
    assert_int_equal(hl7_parse(NULL, 0, m, &e), ERR_INVAL);
    assert_int_equal(hl7_parse("MSH|^~\\&|A||||||ADT^A01", 23, NULL, NULL),
                     ERR_INVAL);
    /* err may be NULL */
    assert_int_equal(hl7_parse("PID", 3, m, NULL), ERR_PARSE);
  }
  /* segment without fields and a message ending without a terminator */
  parse_ok("MSH|^~\\&|A||||||ADT^A01|1\rPD1\rZZ9|x", m);
  assert_int_equal(m->nseg, 3);
  assert_span(get(m, "PD1", 0, 1, 0, 0, 0), NULL);
  assert_span(get(m, "ZZ9", 0, 1, 0, 0, 0), "x");
  /* a second MSH ends the message; 'next' says where the next starts */
  {
    const char *two = "MSH|^~\\&|A||||||ADT^A01|1\rPID|1\r\r"
                      "MSH|^~\\&|A||||||ADT^A02|2\rPID|2\r";
    parse_ok(two, m);
    assert_true(m->batch);
    assert_int_equal(m->nseg, 2);
    assert_int_equal(m->next, 33);
    assert_int_equal(m->len, 32);
    parse_ok(two + m->next, m);
    assert_span(m->trigger, "A02");
    assert_false(m->batch);
  }
  mem_free(m);
}

static void test_parse_header(void **state) {
  static struct hl7_msg m;
  struct hl7_error e;
  const char *t = "MSH|^~\\&|S||R||||ADT^A01|X1|P|2.4\r\nPID|1\r|bad\r";
  (void)state;
  assert_int_equal(hl7_parse(t, strlen(t), &m, &e), ERR_PARSE);
  assert_int_equal(hl7_parse_header(t, strlen(t), &m, &e), 0);
  assert_int_equal(m.nseg, 1);
  assert_int_equal(m.len, 35);
  assert_span(m.control_id, "X1");
  assert_span(m.receiving_app, "R");
}

/* ------------------------------------------------------------------------ */
/* Escaping, salvage, ACK                                                   */
/* ------------------------------------------------------------------------ */

static void test_escape(void **state) {
  struct hl7_delims d;
  struct buf b;
  (void)state;
  hl7_delims_default(&d);
  buf_init(&b, 1024);
  assert_int_equal(hl7_escape(&d, "a|b^c~d\\e&f#\r\n\x01z", 16, &b), 0);
  assert_string_equal(buf_str(&b),
                      "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f#\\X0D\\\\X0A\\\\X01\\z");
  buf_reset(&b);
  d.trunc = '#';
  assert_int_equal(hl7_escape(&d, "x#", 2, &b), 0);
  assert_string_equal(buf_str(&b), "x\\P\\");
  /* without an escape character, delimiters become spaces */
  buf_reset(&b);
  d.esc = -1;
  assert_int_equal(hl7_escape(&d, "a|b\r", 4, &b), 0);
  assert_string_equal(buf_str(&b), "a b ");
  buf_release(&b);
  /* cap reached: buffer unchanged */
  hl7_delims_default(&d);
  buf_init(&b, 8);
  assert_int_equal(buf_puts(&b, "ab"), 0);
  assert_int_equal(hl7_escape(&d, "||||", 4, &b), ERR_TOOBIG);
  assert_string_equal(buf_str(&b), "ab");
  assert_int_equal(b.len, 2);
  buf_release(&b);
}

static int salvage(const char *text, struct hl7_span *s) {
  return hl7_salvage_control_id(text, strlen(text), s);
}

static void test_salvage(void **state) {
  struct hl7_span s = {NULL, 0};
  char big[300];
  (void)state;
  assert_int_equal(salvage("\xEF\xBB\xBF\n\nMSH|^^|A|B|C|D|E|F|G|CTL-7|P", &s),
                   0);
  assert_span(s, "CTL-7");
  assert_int_equal(salvage("MSH#x#a#b#c#d#e#f#g#42\r", &s), 0);
  assert_span(s, "42");
  assert_int_equal(salvage("FHS|^~\\&\rMSH|^~\\&|||||||X|Z9", &s), 0);
  assert_span(s, "Z9");
  s.p = NULL;
  assert_int_equal(salvage("MSH|^~\\&|A|B\r|||||ID", &s), ERR_NOTFOUND);
  assert_int_equal(salvage("MSH|^~\\&|||||||X||P", &s), ERR_NOTFOUND);
  assert_int_equal(salvage("PID|1", &s), ERR_NOTFOUND);
  assert_int_equal(salvage("MSH|^~\\&|||||||X|A\x01\x02|P", &s), ERR_NOTFOUND);
  memset(big, 'x', sizeof big);
  memcpy(big, "MSH|^~\\&|||||||X|", 17);
  assert_int_equal(hl7_salvage_control_id(big, sizeof big, &s), ERR_NOTFOUND);
  assert_int_equal(hl7_salvage_control_id(big, 17 + HL7_MAX_CONTROL_ID, &s), 0);
  assert_int_equal(s.len, HL7_MAX_CONTROL_ID);
  assert_int_equal(hl7_salvage_control_id(NULL, 0, &s), ERR_NOTFOUND);
}

/* 2024-01-02 03:04:05 UTC */
#define NOW_MS 1704164645000LL

static void test_ack_aa_v251(void **state) {
  static struct hl7_msg in;
  static struct hl7_msg ack;
  struct hl7_error e;
  struct buf b;
  size_t len;
  char *data = read_data("adt_a01_msconv_v251_everyman.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  assert_int_equal(buf_puts(&b, "prefix:"), 0); /* ACKs append */
  assert_int_equal(hl7_ack_build(&in, "AA", "ACK1", NOW_MS, NULL, &b), 0);
  assert_string_equal(buf_str(&b),
                      "prefix:MSH|^~\\&|GHH LAB, INC.|GOOD HEALTH HOSPITAL|"
                      "ADT1|GOOD HEALTH HOSPITAL|20240102030405+0000||"
                      "ACK^A01^ACK|ACK1|P|2.5.1\r"
                      "MSA|AA|MSG00001\r");
  assert_int_equal(hl7_parse(b.data + 7, b.len - 7, &ack, &e), 0);
  assert_span(ack.type, "ACK");
  assert_span(get(&ack, "MSA", 0, 2, 0, 0, 0), "MSG00001");
  buf_release(&b);
  mem_free(data);
}

static void test_ack_swap_components(void **state) {
  static struct hl7_msg in;
  static struct hl7_msg ack;
  struct hl7_error e;
  struct buf b;
  size_t len;
  char *data = read_data("siu_s12_msconv_1.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  assert_int_equal(hl7_ack_build(&in, "AA", "A-9", 0, NULL, &b), 0);
  assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);
  /* whole HD fields move: sender becomes receiver and vice versa */
  assert_span(get(&ack, "MSH", 0, 3, 0, 0, 0), "EHRApp^1.Aux^ISO");
  assert_span(get(&ack, "MSH", 0, 4, 0, 0, 0),
              "GHHRFacility^2.16.840.1.1122848.1.32^ISO");
  assert_span(get(&ack, "MSH", 0, 5, 0, 0, 0), "SCHApp");
  assert_span(get(&ack, "MSH", 0, 6, 0, 0, 0),
              "GHHSFacility^2.16.840.1.122848.1.30^ISO");
  assert_span(get(&ack, "MSH", 0, 7, 0, 0, 0), "19700101000000+0000");
  assert_span(ack.trigger, "S12");
  assert_span(ack.structure, "ACK");
  assert_span(ack.control_id, "A-9");
  assert_span(ack.version, "2.8");
  assert_span(get(&ack, "MSA", 0, 2, 0, 0, 0), "MSG00012");
  assert_int_equal(ack.nseg, 2);
  buf_release(&b);
  mem_free(data);
}

static void test_ack_ae_v25(void **state) {
  static struct hl7_msg in;
  static struct hl7_msg ack;
  struct hl7_error e;
  struct buf b;
  size_t len;
  const struct hl7_ack_error err = {"PID", 1, 3, 2, 1, 101, "id | missing"};
  char *data = read_data("adt_a03_hapi_italian_v25.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  assert_int_equal(hl7_ack_build(&in, "AE", "K1", NOW_MS, &err, &b), 0);
  assert_string_equal(buf_str(&b),
                      "MSH|^~\\&|AMB_R|SANTER|IRIS|SANTER|"
                      "20240102030405+0000||ACK^A03^ACK|K1|P|2.5\r"
                      "MSA|AE|263206\r"
                      "ERR||PID^1^3^2^1|101^Required field missing^HL70357|E"
                      "||||id \\F\\ missing\r");
  assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);
  assert_span(get(&ack, "ERR", 0, 2, 0, 1, 0), "PID");
  assert_span(get(&ack, "ERR", 0, 2, 0, 3, 0), "3");
  assert_span(get(&ack, "ERR", 0, 3, 0, 1, 0), "101");
  assert_span(get(&ack, "ERR", 0, 4, 0, 0, 0), "E");
  assert_string_equal(text_of(&ack, get(&ack, "ERR", 0, 8, 0, 0, 0)),
                      "id | missing");

  /* trailing zero numbers are dropped from ERL; no segment: empty ERR-2 */
  {
    const struct hl7_ack_error e2 = {"MSH", 0, 9, 0, 0, 200, "no"};
    const struct hl7_ack_error e3 = {NULL, 0, 0, 0, 0, 207, NULL};
    buf_reset(&b);
    assert_int_equal(hl7_ack_build(&in, "AR", "K2", NOW_MS, &e2, &b), 0);
    assert_non_null(strstr(buf_str(&b), "\rERR||MSH^1^9|200^Unsupported "
                                        "message type^HL70357|E||||no\r"));
    buf_reset(&b);
    assert_int_equal(hl7_ack_build(&in, "AR", "K3", NOW_MS, &e3, &b), 0);
    assert_non_null(strstr(
        buf_str(&b), "\rERR|||207^Application internal error^HL70357|E||||\r"));
    /* a warning on AA */
    buf_reset(&b);
    assert_int_equal(hl7_ack_build(&in, "AA", "K4", NOW_MS, &e2, &b), 0);
    assert_non_null(strstr(buf_str(&b), "^HL70357|W||||no\r"));
  }
  buf_release(&b);
  mem_free(data);
}

static void test_ack_ar_v23(void **state) {
  static struct hl7_msg in;
  static struct hl7_msg ack;
  struct hl7_error e;
  struct buf b;
  size_t len;
  const struct hl7_ack_error err = {"PID", 1, 5, 0, 0, 102, "bad | name"};
  char *data = read_data("adt_a01_msconv_v23_accmgr.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  assert_int_equal(hl7_ack_build(&in, "AR", "R1", NOW_MS, &err, &b), 0);
  /* v2.3: MSH-9 has no structure; MSA-3 carries the text; ERR-1 is ELD */
  assert_string_equal(buf_str(&b),
                      "MSH|^~\\&|||AccMgr|1|20240102030405+0000||ACK^A01|R1|P|"
                      "2.3\r"
                      "MSA|AR|599102|bad \\F\\ name\r"
                      "ERR|PID^1^5^102&bad \\F\\ name&HL70357\r");
  assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);
  assert_span(get(&ack, "ERR", 0, 1, 0, 4, 1), "102");
  assert_string_equal(text_of(&ack, get(&ack, "ERR", 0, 1, 0, 4, 2)),
                      "bad | name");
  assert_span(ack.structure, NULL);
  buf_release(&b);
  mem_free(data);
}

static void test_ack_odd_delimiters(void **state) {
  static struct hl7_msg in;
  static struct hl7_msg ack;
  struct hl7_error e;
  struct buf b;
  size_t len;
  const struct hl7_ack_error err = {"PV1", 1, 3, 0, 0, 101, "a&b^c"};
  char *data = read_data("adt_a01_rubyhl7_odd_encoding_chars.hl7", &len);
  (void)state;
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  assert_int_equal(hl7_ack_build(&in, "AE", "Q", NOW_MS, &err, &b), 0);
  /* '&' is this sender's escape character and there is no subcomponent
   * separator, so ELD carries only the code. */
  assert_string_equal(buf_str(&b),
                      "MSH|^\\&|EB^EB||DPS^DPS^GUID||20240102030405+0000||"
                      "ACK^A01|Q|D|2.3\r"
                      "MSA|AE|00003|a&E&b&S&c\r"
                      "ERR|PV1^1^3^101\r");
  assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);
  assert_string_equal(text_of(&ack, get(&ack, "MSA", 0, 3, 0, 0, 0)), "a&b^c");
  buf_release(&b);
  mem_free(data);

  /* v2.7 with a truncation character */
  data = read_data("rsp_k22_hl7apy_v27_truncation_char.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &in, &e), 0);
  buf_init(&b, 4096);
  const struct hl7_ack_error err2 = {"QPD", 1, 3, 1, 0, 103, "#1"};
  assert_int_equal(hl7_ack_build(&in, "AE", "Q", NOW_MS, &err2, &b), 0);
  assert_string_equal(buf_str(&b),
                      "MSH|^~\\&#|REC APP|REC FAC|SEND APP|SEND FAC|"
                      "20240102030405+0000||ACK^K22^ACK|Q|D|2.7\r"
                      "MSA|AE|1234\r"
                      "ERR||QPD^1^3^1|103^Table value not found^HL70357|E"
                      "||||\\P\\1\r");
  buf_release(&b);
  mem_free(data);
}

static void test_ack_null_and_raw(void **state) {
  static struct hl7_msg ack;
  struct hl7_error e;
  struct hl7_ack_error ae;
  struct buf b;
  size_t len;
  char *data;
  (void)state;
  buf_init(&b, 4096);
  /* NULL input: defaults, empty MSA-2 */
  ae = (struct hl7_ack_error){NULL, 0, 0, 0, 0, 100, "cannot parse"};
  assert_int_equal(hl7_ack_build(NULL, "AR", "N1", NOW_MS, &ae, &b), 0);
  assert_string_equal(buf_str(&b),
                      "MSH|^~\\&|||||20240102030405+0000||ACK^^ACK|N1|P|2.5\r"
                      "MSA|AR|\r"
                      "ERR|||100^Segment sequence error^HL70357|E||||"
                      "cannot parse\r");
  assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);

  /* raw: the header of a message with a broken body still parses */
  data = read_data("oru_r03_rubyhl7_empty_segments_raw.hl7", &len);
  assert_int_equal(hl7_parse(data, len, &ack, &e), ERR_PARSE);
  hl7_ack_error_from_parse(&e, &ae);
  assert_null(ae.segment);
  assert_int_equal(ae.code, 100);
  assert_string_equal(ae.text, e.base.msg);
  buf_reset(&b);
  assert_int_equal(hl7_ack_build_raw(data, len, "AR", "N2", NOW_MS, &ae, &b),
                   0);
  assert_string_equal(buf_str(&b),
                      "MSH|^~\\&|DESTINATION||LAB1||20240102030405+0000||"
                      "ACK^R03^ACK|N2|P|2.5\r"
                      "MSA|AR|LAB1003929\r"
                      "ERR|||100^Segment sequence error^HL70357|E||||"
                      "invalid segment name at segment 8\r");
  mem_free(data);

  /* raw: a broken MSH; MSH-10 salvaged and escaped with default delimiters */
  {
    const char *bad = "MSH|^^~|A|B|C|D|E||ADT^A01|C&9|P|2.4\rPID|1\r";
    assert_int_equal(hl7_parse(bad, strlen(bad), &ack, &e), ERR_PARSE);
    assert_int_equal(e.hl7_code, 102);
    assert_string_equal(e.segment, "MSH");
    assert_int_equal(e.field, 2);
    assert_int_equal(e.offset, 5);
    hl7_ack_error_from_parse(&e, &ae);
    assert_string_equal(ae.segment, "MSH");
    assert_int_equal(ae.occurrence, 1);
    assert_int_equal(ae.field, 2);
    buf_reset(&b);
    assert_int_equal(
        hl7_ack_build_raw(bad, strlen(bad), "AR", "N3", NOW_MS, &ae, &b), 0);
    assert_non_null(strstr(buf_str(&b), "\rMSA|AR|C\\T\\9\r"));
    assert_non_null(strstr(buf_str(&b), "\rERR||MSH^1^2|102^Data type"));
    assert_int_equal(hl7_parse(b.data, b.len, &ack, &e), 0);
    assert_span(ack.version, "2.5");
    buf_reset(&b);
    assert_int_equal(hl7_ack_build_raw("garbage", 7, "AR", "N4", 0, NULL, &b),
                     0);
    assert_non_null(strstr(buf_str(&b), "\rMSA|AR|\r"));
  }
  buf_release(&b);
}

static void test_ack_errors(void **state) {
  static struct hl7_msg in;
  struct buf b;
  (void)state;
  parse_ok("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5\r", &in);
  buf_init(&b, 4096);
  assert_int_equal(hl7_ack_build(&in, "XX", "1", NOW_MS, NULL, &b), ERR_INVAL);
  assert_int_equal(hl7_ack_build(&in, "AA", NULL, NOW_MS, NULL, &b), ERR_INVAL);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", NOW_MS, NULL, NULL),
                   ERR_INVAL);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", -62135596800001LL, NULL, &b),
                   ERR_RANGE);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", 253402300800000LL, NULL, &b),
                   ERR_RANGE);
  assert_int_equal(b.len, 0);
  /* range ends and a leap day */
  assert_int_equal(hl7_ack_build(&in, "CA", "1", -62135596800000LL, NULL, &b),
                   0);
  assert_non_null(strstr(buf_str(&b), "|00010101000000+0000|"));
  buf_reset(&b);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", 253402300799999LL, NULL, &b),
                   0);
  assert_non_null(strstr(buf_str(&b), "|99991231235959+0000|"));
  buf_reset(&b);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", 951825600123LL, NULL, &b), 0);
  assert_non_null(strstr(buf_str(&b), "|20000229120000+0000|"));
  buf_reset(&b);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", -1LL, NULL, &b), 0);
  assert_non_null(strstr(buf_str(&b), "|19691231235959+0000|"));
  buf_release(&b);
  /* a full buffer: nothing appended */
  buf_init(&b, 40);
  assert_int_equal(buf_puts(&b, "keep"), 0);
  assert_int_equal(hl7_ack_build(&in, "AA", "1", NOW_MS, NULL, &b), ERR_TOOBIG);
  assert_string_equal(buf_str(&b), "keep");
  assert_int_equal(b.len, 4);
  buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_files),
      cmocka_unit_test(test_index_matches_scan),
      cmocka_unit_test(test_index_overflow),
      cmocka_unit_test(test_malformed_empty_segments),
      cmocka_unit_test(test_batch_file),
      cmocka_unit_test(test_odd_encoding_chars),
      cmocka_unit_test(test_five_encoding_chars),
      cmocka_unit_test(test_terminators_and_bom),
      cmocka_unit_test(test_get_semantics),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_escapes_in_shared_files),
      cmocka_unit_test(test_charsets),
      cmocka_unit_test(test_utf8_accent_file),
      cmocka_unit_test(test_cap_segments),
      cmocka_unit_test(test_cap_fields_and_more),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_parse_header),
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_salvage),
      cmocka_unit_test(test_ack_aa_v251),
      cmocka_unit_test(test_ack_swap_components),
      cmocka_unit_test(test_ack_ae_v25),
      cmocka_unit_test(test_ack_ar_v23),
      cmocka_unit_test(test_ack_odd_delimiters),
      cmocka_unit_test(test_ack_null_and_raw),
      cmocka_unit_test(test_ack_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
