/* test_export.c -- CSV bytes exactly (BOM, CRLF, quoting, formula
 * neutralising, numbers, empty cells, title and note rows), refusals, and
 * XLSX workbooks opened for real: the ZIP container is walked by its
 * central directory, the entries inflated with zlib (libxlsxwriter links
 * it), and the sheet, shared-string and workbook XML checked for the
 * values, the sheet names, the frozen header and the column widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <zlib.h>

#include "buf.h"
#include "err.h"
#include "export.h"
#include "mem.h"

#define TXT(s)                                                                 \
  { EXPORT_TEXT, (s), 0 }
#define NUM(v)                                                                 \
  { EXPORT_NUMBER, NULL, (v) }
#define EMPTY                                                                  \
  { EXPORT_EMPTY, NULL, 0 }

static const char *const HEAD3[] = {"Asema", "T3 (pv)", "n"};

static void csv_exact(void **state) {
  (void)state;
  const struct export_cell cells[] = {
      TXT("Lammi"),         NUM(14),   NUM(5),
      TXT("Hauho, kylä"),   NUM(12.5), EMPTY,
      TXT("Sanoi \"hei\""), NUM(-3),   NUM(0.1),
  };
  struct export_table t = {.name = "t3",
                           .title = "T3 marraskuu 2026",
                           .note = "<5: alle viisi henkilöä",
                           .ncols = 3,
                           .nrows = 3,
                           .headers = HEAD3,
                           .cells = cells};
  struct buf b;
  buf_init(&b, 1 << 16);
  assert_int_equal(export_csv(&t, &b, NULL), 0);
  const char *want = "\xEF\xBB\xBF"
                     "T3 marraskuu 2026\r\n"
                     "Asema,T3 (pv),n\r\n"
                     "Lammi,14,5\r\n"
                     "\"Hauho, kylä\",12.5,\r\n"
                     "\"Sanoi \"\"hei\"\"\",-3,0.1\r\n"
                     "<5: alle viisi henkilöä\r\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  buf_release(&b);
}

static void csv_no_title_note_and_appends(void **state) {
  (void)state;
  static const char *const head[] = {"a", NULL};
  const struct export_cell cells[] = {EMPTY, EMPTY, TXT(""), TXT("x\ny")};
  struct export_table t = {
      .name = "x", .ncols = 2, .nrows = 2, .headers = head, .cells = cells};
  struct buf b;
  buf_init(&b, 1024);
  assert_int_equal(buf_puts(&b, "pre"), 0);
  assert_int_equal(export_csv(&t, &b, NULL), 0);
  const char *want = "pre\xEF\xBB\xBF"
                     "a,\r\n"
                     ",\r\n"
                     ",\"x\ny\"\r\n";
  assert_string_equal(buf_str(&b), want);
  buf_release(&b);
}

static void csv_formula_injection(void **state) {
  (void)state;
  static const char *const head[] = {"=SUM(A1)", "ok"};
  const struct export_cell cells[] = {
      TXT("=HYPERLINK(\"http://x\",\"y\")"),
      TXT("+1"),
      TXT("-2+3"),
      TXT("@cmd"),
      TXT("\tlead"),
      TXT("\rcr"),
      TXT("a=b"),
      NUM(-1.5),
  };
  struct export_table t = {.name = "x",
                           .title = "=title",
                           .note = "-note",
                           .ncols = 2,
                           .nrows = 4,
                           .headers = head,
                           .cells = cells};
  struct buf b;
  buf_init(&b, 1024);
  assert_int_equal(export_csv(&t, &b, NULL), 0);
  const char *want = "\xEF\xBB\xBF"
                     "'=title\r\n"
                     "'=SUM(A1),ok\r\n"
                     "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1\r\n"
                     "'-2+3,'@cmd\r\n"
                     "'\tlead,\"'\rcr\"\r\n"
                     "a=b,-1.5\r\n"
                     "'-note\r\n";
  assert_string_equal(buf_str(&b), want);
  buf_release(&b);
}

static void csv_numbers(void **state) {
  (void)state;
  static const char *const head[] = {"v"};
  const struct export_cell cells[] = {
      NUM(0.0),         NUM(-0.0), NUM(1e21),     NUM(1.0 / 3.0), NUM(0.3),
      NUM(123456789.0), NUM(NAN),  NUM(INFINITY), NUM(2.5e-7),
  };
  struct export_table t = {
      .name = "n", .ncols = 1, .nrows = 9, .headers = head, .cells = cells};
  struct buf b;
  buf_init(&b, 1024);
  assert_int_equal(export_csv(&t, &b, NULL), 0);
  const char *want = "\xEF\xBB\xBF"
                     "v\r\n0\r\n0\r\n1e+21\r\n0.33333333333333331\r\n0.3\r\n"
                     "123456789\r\n\r\n\r\n2.5e-07\r\n";
  assert_string_equal(buf_str(&b), want);
  buf_release(&b);
}

static void csv_refusals(void **state) {
  (void)state;
  struct error e;
  struct buf b;
  buf_init(&b, 1024);
  static const char *const head[] = {"a"};
  const struct export_cell bad[] = {TXT("\xC3(")};
  struct export_table t = {
      .name = "x", .ncols = 1, .nrows = 1, .headers = head, .cells = bad};
  assert_int_equal(export_csv(&t, &b, &e), ERR_INVAL);
  assert_int_equal(e.code, ERR_INVAL);
  assert_non_null(strstr(e.msg, "UTF-8"));
  assert_int_equal(b.len, 0);
  /* overlong and surrogate encodings are refused too */
  const struct export_cell overlong[] = {TXT("\xC0\xAF")};
  t.cells = overlong;
  assert_int_equal(export_csv(&t, &b, NULL), ERR_INVAL);
  const struct export_cell surrogate[] = {TXT("\xED\xA0\x80")};
  t.cells = surrogate;
  assert_int_equal(export_csv(&t, &b, NULL), ERR_INVAL);
  t.cells = NULL;
  assert_int_equal(export_csv(&t, &b, NULL), ERR_INVAL);
  t.nrows = 0; /* no rows: the header only */
  assert_int_equal(export_csv(&t, &b, NULL), 0);
  assert_string_equal(buf_str(&b), "\xEF\xBB\xBF"
                                   "a\r\n");
  t.ncols = 0;
  assert_int_equal(export_csv(&t, &b, NULL), ERR_INVAL);
  t.ncols = EXPORT_MAX_COLS + 1;
  assert_int_equal(export_csv(&t, &b, NULL), ERR_INVAL);
  assert_int_equal(export_csv(NULL, &b, NULL), ERR_INVAL);
  buf_release(&b);

  /* over the output cap: ERR_TOOBIG and the buffer as it was */
  struct buf small;
  buf_init(&small, 12);
  assert_int_equal(buf_puts(&small, "keep"), 0);
  const struct export_cell long_cells[] = {TXT("abcdefghijklmnop")};
  struct export_table lt = {.name = "x",
                            .ncols = 1,
                            .nrows = 1,
                            .headers = head,
                            .cells = long_cells};
  assert_int_equal(export_csv(&lt, &small, &e), ERR_TOOBIG);
  assert_string_equal(buf_str(&small), "keep");
  buf_release(&small);
}

static void sheet_names(void **state) {
  (void)state;
  char n[EXPORT_SHEETNAME_MAX + 1];
  export_sheet_name("a/b:c*d?e[f]g\\h", n);
  assert_string_equal(n, "a_b_c_d_e_f_g_h");
  export_sheet_name("''quoted''", n);
  assert_string_equal(n, "quoted");
  export_sheet_name("", n);
  assert_string_equal(n, "Sheet");
  export_sheet_name(NULL, n);
  assert_string_equal(n, "Sheet");
  export_sheet_name("'''", n);
  assert_string_equal(n, "Sheet");
  /* 31 bytes at most, cut at a UTF-8 boundary: 15 x "ä" is 30 bytes */
  export_sheet_name("ääääääääääääääääää", n);
  assert_int_equal(strlen(n), 30);
  assert_string_equal(n, "äääääääääääääää");
  export_sheet_name("0123456789012345678901234567890123456789", n);
  assert_string_equal(n, "0123456789012345678901234567890");
  export_sheet_name("a\xFF"
                    "b",
                    n);
  assert_string_equal(n, "a_b");
}

/* ---------- a minimal ZIP reader for the XLSX checks ---------- */

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint16_t le16(const unsigned char *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

/* The inflated entry 'name' of the ZIP in z[0..len) as a C string (freed
 * by the caller), or NULL when there is none. */
static char *zip_entry(const unsigned char *z, size_t len, const char *name) {
  /* the end-of-central-directory record, searched from the end */
  size_t eocd = len;
  for (size_t i = len >= 22 ? len - 22 : 0;; i--) {
    if (le32(z + i) == 0x06054b50) {
      eocd = i;
      break;
    }
    if (i == 0)
      break;
  }
  assert_true(eocd < len);
  size_t count = le16(z + eocd + 10);
  size_t off = le32(z + eocd + 16);
  for (size_t k = 0; k < count; k++) {
    assert_true(off + 46 <= len);
    assert_int_equal(le32(z + off), 0x02014b50);
    uint16_t method = le16(z + off + 10);
    uint32_t csize = le32(z + off + 20);
    uint32_t usize = le32(z + off + 24);
    uint16_t nlen = le16(z + off + 28);
    uint16_t xlen = le16(z + off + 30);
    uint16_t clen = le16(z + off + 32);
    uint32_t local = le32(z + off + 42);
    const char *ename = (const char *)z + off + 46;
    if (nlen == strlen(name) && memcmp(ename, name, nlen) == 0) {
      assert_int_equal(le32(z + local), 0x04034b50);
      size_t data = local + 30 + le16(z + local + 26) + le16(z + local + 28);
      assert_true(data + csize <= len);
      char *outp = malloc((size_t)usize + 1);
      assert_non_null(outp);
      if (method == 0) {
        memcpy(outp, z + data, usize);
      } else {
        assert_int_equal(method, 8);
        z_stream s;
        memset(&s, 0, sizeof s);
        assert_int_equal(inflateInit2(&s, -MAX_WBITS), Z_OK);
        s.next_in = (Bytef *)(uintptr_t)(z + data);
        s.avail_in = csize;
        s.next_out = (Bytef *)outp;
        s.avail_out = usize;
        assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
        assert_int_equal(s.total_out, usize);
        inflateEnd(&s);
      }
      outp[usize] = '\0';
      return outp;
    }
    off += 46 + nlen + xlen + clen;
  }
  return NULL;
}

/* Number of tk-export-* files in the temporary directory. */
static int temp_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "tk-export-", 10) == 0)
      n++;
  closedir(d);
  return n;
}

static char tmpdir[64];

static int make_tmpdir(void **state) {
  (void)state;
  strcpy(tmpdir, "/tmp/tk-export-test-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  setenv("TMPDIR", tmpdir, 1);
  return 0;
}

static int drop_tmpdir(void **state) {
  (void)state;
  unsetenv("TMPDIR");
  return rmdir(tmpdir);
}

static void xlsx_workbook(void **state) {
  (void)state;
  const struct export_cell c1[] = {
      TXT("Hämeenlinnan keskusta"),
      NUM(14),
      NUM(5),
      TXT("=1+1"),
      NUM(12.5),
      EMPTY,
  };
  const struct export_cell c2[] = {TXT("0-7"), NUM(42)};
  static const char *const head2[] = {"Jono", "Määrä"};
  struct export_table t[3] = {
      {.name = "T3 / lääkäri",
       .title = "T3 marraskuu",
       .note = "<5: alle viisi",
       .ncols = 3,
       .nrows = 2,
       .headers = HEAD3,
       .cells = c1},
      {.name = "t3 _ LÄÄKÄRI",
       .ncols = 2,
       .nrows = 1,
       .headers = head2,
       .cells = c2},
      {.name = "History",
       .ncols = 2,
       .nrows = 1,
       .headers = head2,
       .cells = c2},
  };
  struct buf b;
  buf_init(&b, 4 << 20);
  assert_int_equal(buf_puts(&b, "X"), 0);
  struct error e;
  assert_int_equal(export_xlsx(t, 3, &b, &e), 0);
  assert_int_equal(temp_files(tmpdir), 0);
  assert_true(b.len > 1000);
  const unsigned char *z = (const unsigned char *)b.data + 1;
  size_t zl = b.len - 1;
  assert_memory_equal(z, "PK\x03\x04", 4);

  char *wbx = zip_entry(z, zl, "xl/workbook.xml");
  assert_non_null(wbx);
  /* the second name collides without regard to case: made unique */
  assert_non_null(strstr(wbx, "name=\"T3 _ lääkäri\""));
  assert_non_null(strstr(wbx, "name=\"t3 _ LÄÄKÄRI~2\""));
  assert_non_null(strstr(wbx, "name=\"History~2\""));
  free(wbx);

  char *ss = zip_entry(z, zl, "xl/sharedStrings.xml");
  assert_non_null(ss);
  assert_non_null(strstr(ss, "<t>Hämeenlinnan keskusta</t>"));
  assert_non_null(strstr(ss, "<t>=1+1</t>"));
  assert_non_null(strstr(ss, "<t>&lt;5: alle viisi</t>"));
  assert_non_null(strstr(ss, "<t>Määrä</t>"));
  free(ss);

  char *s1 = zip_entry(z, zl, "xl/worksheets/sheet1.xml");
  assert_non_null(s1);
  /* numbers are numeric cells; text is never a formula */
  assert_non_null(strstr(s1, "<c r=\"B3\"><v>14</v></c>"));
  assert_non_null(strstr(s1, "<c r=\"C3\"><v>5</v></c>"));
  assert_non_null(strstr(s1, "<c r=\"B4\"><v>12.5</v></c>"));
  assert_null(strstr(s1, "<f>"));
  assert_null(strstr(s1, "r=\"C4\""));
  /* header bold (style 1) on row 2, frozen below it */
  /* title (style 1) and header (style 2) in bold fonts */
  assert_non_null(strstr(s1, "<c r=\"A1\" s=\"1\" t=\"s\">"));
  assert_non_null(strstr(s1, "<c r=\"A2\" s=\"2\" t=\"s\">"));
  assert_non_null(strstr(s1, "<c r=\"C2\" s=\"2\" t=\"s\">"));
  assert_non_null(strstr(s1, "<c r=\"A3\" t=\"s\">"));
  assert_non_null(strstr(s1, "ySplit=\"2\" topLeftCell=\"A3\""));
  assert_non_null(strstr(s1, "state=\"frozen\""));
  /* the note on the row after the data */
  assert_non_null(strstr(s1, "<c r=\"A5\" t=\"s\">"));
  /* widths: 21 characters + 2; the minimum 8 */
  assert_non_null(strstr(
      s1, "<col min=\"1\" max=\"1\" width=\"23.7109375\" customWidth=\"1\"/>"));
  assert_non_null(strstr(
      s1, "<col min=\"2\" max=\"2\" width=\"9.7109375\" customWidth=\"1\"/>"));
  assert_non_null(strstr(
      s1, "<col min=\"3\" max=\"3\" width=\"8.7109375\" customWidth=\"1\"/>"));
  free(s1);
  char *st = zip_entry(z, zl, "xl/styles.xml");
  assert_non_null(st);
  /* fonts: the default, the 13 pt bold title, the bold header */
  assert_non_null(strstr(st, "<fonts count=\"3\">"));
  assert_non_null(strstr(st, "<font><b/><sz val=\"13\"/>"));
  assert_non_null(strstr(st, "<font><b/><sz val=\"11\"/>"));
  free(st);

  char *s2 = zip_entry(z, zl, "xl/worksheets/sheet2.xml");
  assert_non_null(s2);
  assert_non_null(strstr(s2, "<c r=\"B2\"><v>42</v></c>"));
  assert_non_null(strstr(s2, "ySplit=\"1\" topLeftCell=\"A2\""));
  free(s2);
  assert_null(zip_entry(z, zl, "xl/worksheets/sheet4.xml"));
  buf_release(&b);
}

static void xlsx_refusals(void **state) {
  (void)state;
  struct buf b;
  buf_init(&b, 4 << 20);
  struct error e;
  static const char *const head[] = {"a"};
  const struct export_cell bad[] = {TXT("\xC3(")};
  struct export_table t = {
      .name = "x", .ncols = 1, .nrows = 1, .headers = head, .cells = bad};
  assert_int_equal(export_xlsx(&t, 1, &b, &e), ERR_INVAL);
  assert_int_equal(export_xlsx(&t, 0, &b, &e), ERR_INVAL);
  assert_int_equal(export_xlsx(NULL, 1, &b, &e), ERR_INVAL);
  assert_int_equal(b.len, 0);
  /* over the output cap: ERR_TOOBIG, nothing appended, no file left */
  const struct export_cell ok[] = {NUM(1)};
  t.cells = ok;
  struct buf small;
  buf_init(&small, 200);
  assert_int_equal(export_xlsx(&t, 1, &small, &e), ERR_TOOBIG);
  assert_int_equal(e.code, ERR_TOOBIG);
  assert_int_equal(small.len, 0);
  assert_int_equal(temp_files(tmpdir), 0);
  buf_release(&small);
  buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(csv_exact),
      cmocka_unit_test(csv_no_title_note_and_appends),
      cmocka_unit_test(csv_formula_injection),
      cmocka_unit_test(csv_numbers),
      cmocka_unit_test(csv_refusals),
      cmocka_unit_test(sheet_names),
      cmocka_unit_test_setup_teardown(xlsx_workbook, make_tmpdir, drop_tmpdir),
      cmocka_unit_test_setup_teardown(xlsx_refusals, make_tmpdir, drop_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
