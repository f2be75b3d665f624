/* export.c -- tables as CSV (RFC 4180, for Excel) and as XLSX workbooks.
 *
 * Design: both writers first validate the whole input (sizes against the
 * caps, UTF-8, text lengths), so that a refusal comes before any output and
 * libxlsxwriter never sees input it would warn about on stderr. The CSV
 * writer appends straight into the caller's buffer and, on failure, cuts it
 * back to its length at entry. libxlsxwriter (1.1.4 here) has no in-memory
 * output, so the workbook goes to a file made by mkstemp (mode 0600) in
 * $TMPDIR or /tmp; the descriptor stays open, the workbook is written by
 * name (fopen "wb" truncates the same inode), read back through the
 * descriptor and the name unlinked on every path.
 *
 * Invariants: (1) every text cell starting with = + - @ TAB or CR is
 * written to CSV with a leading apostrophe; (2) sheet names are <= 31 bytes,
 * hold none of []:*?/\, neither start nor end with an apostrophe and are
 * unique without regard to case; (3) 'out' is unchanged on failure.
 *
 * Thread safety: reentrant; no global state. */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "mem.h"

#define TMPDIR_MAX 1024 /* bytes of $TMPDIR we accept */
#define WIDTH_MIN 8.0   /* column widths, in characters */
#define WIDTH_MAX 60.0
#define NUMBER_TEXT_MAX 32

/* ---------- validation ---------- */

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
static bool utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (len - i <= n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

static int check_text(const char *s, const char *what, size_t row, size_t col,
                      struct error *err) {
  if (s == NULL)
    return 0;
  size_t len = strnlen(s, EXPORT_MAX_TEXT + 1);
  if (len > EXPORT_MAX_TEXT)
    return error_set(err, ERR_INVAL,
                     "%s at row %zu column %zu is longer than %d bytes", what,
                     row, col, EXPORT_MAX_TEXT);
  if (!utf8_valid((const unsigned char *)s, len))
    return error_set(err, ERR_INVAL,
                     "%s at row %zu column %zu is not valid UTF-8", what, row,
                     col);
  return 0;
}

static int check_table(const struct export_table *t, struct error *err) {
  if (t == NULL)
    return error_set(err, ERR_INVAL, "cannot export a missing table");
  if (t->ncols == 0 || t->ncols > EXPORT_MAX_COLS)
    return error_set(err, ERR_INVAL, "cannot export %zu columns (1..%d)",
                     t->ncols, EXPORT_MAX_COLS);
  if (t->nrows > EXPORT_MAX_ROWS)
    return error_set(err, ERR_INVAL, "cannot export %zu rows (at most %d)",
                     t->nrows, EXPORT_MAX_ROWS);
  if (t->headers == NULL)
    return error_set(err, ERR_INVAL, "cannot export a table without headers");
  if (t->nrows > 0 && t->cells == NULL)
    return error_set(err, ERR_INVAL, "cannot export %zu rows without cells",
                     t->nrows);
  int rc = check_text(t->title, "title", 0, 0, err);
  if (rc == 0)
    rc = check_text(t->note, "note", 0, 0, err);
  if (rc == 0)
    rc = check_text(t->name, "sheet name", 0, 0, err);
  for (size_t c = 0; rc == 0 && c < t->ncols; c++)
    rc = check_text(t->headers[c], "header", 0, c, err);
  for (size_t r = 0; rc == 0 && r < t->nrows; r++) {
    for (size_t c = 0; rc == 0 && c < t->ncols; c++) {
      const struct export_cell *x = &t->cells[r * t->ncols + c];
      if (x->kind == EXPORT_TEXT)
        rc = check_text(x->text, "cell", r, c, err);
      else if (x->kind != EXPORT_EMPTY && x->kind != EXPORT_NUMBER)
        rc = error_set(err, ERR_INVAL, "cell at row %zu column %zu has kind %d",
                       r, c, (int)x->kind);
    }
  }
  return rc;
}

/* ---------- numbers ---------- */

/* The shortest of %.15g / %.17g that reads back as 'v' ('.' decimals:
 * the C locale is the only one this program runs in, and a ',' from a
 * changed locale is turned back). Empty for a value that is not finite. */
static void number_text(double v, char dst[NUMBER_TEXT_MAX]) {
  if (!isfinite(v)) {
    dst[0] = '\0';
    return;
  }
  if (v == 0.0)
    v = 0.0; /* -0 reads as "0" */
  snprintf(dst, NUMBER_TEXT_MAX, "%.15g", v);
  if (strtod(dst, NULL) != v)
    snprintf(dst, NUMBER_TEXT_MAX, "%.17g", v);
  for (char *p = dst; *p; p++)
    if (*p == ',')
      *p = '.';
}

/* ---------- CSV ---------- */

static bool needs_neutralising(const char *s) {
  return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
         s[0] == '\t' || s[0] == '\r';
}

static int csv_text(struct buf *out, const char *s) {
  if (s == NULL)
    s = "";
  bool quote = strpbrk(s, ",\"\r\n") != NULL;
  int rc = 0;
  if (quote)
    rc = buf_putc(out, '"');
  if (rc == 0 && needs_neutralising(s))
    rc = buf_putc(out, '\'');
  for (const char *p = s; rc == 0 && *p; p++) {
    if (*p == '"')
      rc = buf_append(out, "\"\"", 2);
    else
      rc = buf_putc(out, *p);
  }
  if (rc == 0 && quote)
    rc = buf_putc(out, '"');
  return rc;
}

static int csv_cell(struct buf *out, const struct export_cell *x) {
  if (x->kind == EXPORT_TEXT)
    return csv_text(out, x->text);
  if (x->kind == EXPORT_NUMBER) {
    char num[NUMBER_TEXT_MAX];
    number_text(x->number, num);
    return buf_puts(out, num);
  }
  return 0;
}

static int csv_write(const struct export_table *t, struct buf *out) {
  int rc = buf_append(out, "\xEF\xBB\xBF", 3);
  if (rc == 0 && t->title != NULL) {
    rc = csv_text(out, t->title);
    if (rc == 0)
      rc = buf_append(out, "\r\n", 2);
  }
  for (size_t c = 0; rc == 0 && c < t->ncols; c++) {
    if (c > 0)
      rc = buf_putc(out, ',');
    if (rc == 0)
      rc = csv_text(out, t->headers[c]);
  }
  if (rc == 0)
    rc = buf_append(out, "\r\n", 2);
  for (size_t r = 0; rc == 0 && r < t->nrows; r++) {
    for (size_t c = 0; rc == 0 && c < t->ncols; c++) {
      if (c > 0)
        rc = buf_putc(out, ',');
      if (rc == 0)
        rc = csv_cell(out, &t->cells[r * t->ncols + c]);
    }
    if (rc == 0)
      rc = buf_append(out, "\r\n", 2);
  }
  if (rc == 0 && t->note != NULL) {
    rc = csv_text(out, t->note);
    if (rc == 0)
      rc = buf_append(out, "\r\n", 2);
  }
  return rc;
}

/* Cuts 'b' back to 'len' bytes (undoing a failed append sequence). */
static void truncate_to(struct buf *b, size_t len) {
  if (b->data != NULL && b->len > len) {
    b->len = len;
    b->data[len] = '\0';
  }
}

int export_csv(const struct export_table *t, struct buf *out,
               struct error *err) {
  if (out == NULL)
    return error_set(err, ERR_INVAL, "cannot export into a missing buffer");
  int rc = check_table(t, err);
  if (rc != 0)
    return rc;
  size_t start = out->len;
  rc = csv_write(t, out);
  if (rc != 0) {
    truncate_to(out, start);
    return error_set(err, rc, "cannot export table '%s': output over %zu bytes",
                     t->name ? t->name : "", out->cap);
  }
  return 0;
}

/* ---------- sheet names ---------- */

/* Length of the UTF-8 sequence starting at s (1 for an invalid byte). */
static size_t seq_len(const unsigned char *s) {
  size_t n = 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    n = 2;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    n = 3;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    n = 4;
  /* utf8_valid refuses a sequence cut short by the NUL */
  if (n > 1 && !utf8_valid(s, strnlen((const char *)s, n)))
    return 1;
  return n;
}

void export_sheet_name(const char *name, char *dst) {
  size_t o = 0;
  const unsigned char *s = (const unsigned char *)(name ? name : "");
  while (*s == '\'')
    s++;
  while (*s != '\0') {
    size_t n = seq_len(s);
    if (n == 1 && s[0] >= 0x80) {
      /* an invalid byte */
      if (o + 1 > EXPORT_SHEETNAME_MAX)
        break;
      dst[o++] = '_';
    } else if (n == 1) {
      if (o + 1 > EXPORT_SHEETNAME_MAX)
        break;
      char c = (char)s[0];
      if (strchr("[]:*?/\\", c) != NULL || (unsigned char)c < 0x20)
        c = '_';
      dst[o++] = c;
    } else {
      if (o + n > EXPORT_SHEETNAME_MAX)
        break;
      memcpy(dst + o, s, n);
      o += n;
    }
    s += n;
  }
  while (o > 0 && dst[o - 1] == '\'')
    o--;
  dst[o] = '\0';
  if (o == 0)
    strcpy(dst, "Sheet");
}

/* Folds ASCII and the Latin-1 letters (U+00C0..U+00DE but U+00D7, as
 * C3 80..C3 9E) to lower case, so that "Äiti" and "äiti" compare equal as
 * Excel's names do. */
static bool same_name(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  unsigned char px = 0, py = 0;
  for (;; x++, y++) {
    unsigned char cx = *x, cy = *y;
    if (px != 0xC3 && cx >= 'A' && cx <= 'Z')
      cx = (unsigned char)(cx + 32);
    if (py != 0xC3 && cy >= 'A' && cy <= 'Z')
      cy = (unsigned char)(cy + 32);
    if (px == 0xC3 && cx >= 0x80 && cx <= 0x9E && cx != 0x97)
      cx = (unsigned char)(cx + 0x20);
    if (py == 0xC3 && cy >= 0x80 && cy <= 0x9E && cy != 0x97)
      cy = (unsigned char)(cy + 0x20);
    if (cx != cy)
      return false;
    if (cx == '\0')
      return true;
    px = *x;
    py = *y;
  }
}

static bool name_taken(char names[][EXPORT_SHEETNAME_MAX + 1], size_t n,
                       const char *name) {
  /* "History" is reserved by Excel. */
  if (same_name(name, "History"))
    return true;
  for (size_t i = 0; i < n; i++)
    if (same_name(names[i], name))
      return true;
  return false;
}

/* Sheet name i: sanitised, then "~k" until it is free. */
static void unique_name(char names[][EXPORT_SHEETNAME_MAX + 1], size_t i,
                        const char *raw) {
  char base[EXPORT_SHEETNAME_MAX + 1];
  export_sheet_name(raw, base);
  if (!name_taken(names, i, base)) {
    strcpy(names[i], base);
    return;
  }
  for (unsigned k = 2;; k++) {
    char suffix[16];
    int sl = snprintf(suffix, sizeof suffix, "~%u", k);
    size_t keep = strlen(base);
    if (keep + (size_t)sl > EXPORT_SHEETNAME_MAX)
      keep = EXPORT_SHEETNAME_MAX - (size_t)sl;
    /* back to a UTF-8 boundary */
    while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
      keep--;
    char cand[EXPORT_SHEETNAME_MAX + 1];
    memcpy(cand, base, keep);
    memcpy(cand + keep, suffix, (size_t)sl + 1);
    if (!name_taken(names, i, cand)) {
      strcpy(names[i], cand);
      return;
    }
  }
}

/* ---------- XLSX ---------- */

/* Characters (code points) in a UTF-8 string. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xC0) != 0x80)
      n++;
  return n;
}

static int lxw_code(lxw_error e) {
  switch (e) {
  case LXW_NO_ERROR:
    return 0;
  case LXW_ERROR_MEMORY_MALLOC_FAILED:
    return ERR_NOMEM;
  case LXW_ERROR_CREATING_XLSX_FILE:
  case LXW_ERROR_CREATING_TMPFILE:
  case LXW_ERROR_READING_TMPFILE:
  case LXW_ERROR_ZIP_FILE_OPERATION:
  case LXW_ERROR_ZIP_FILE_ADD:
  case LXW_ERROR_ZIP_CLOSE:
    return ERR_IO;
  default:
    return ERR_INVAL;
  }
}

static int write_sheet(lxw_workbook *wb, const struct export_table *t,
                       const char *name, lxw_format *bold, lxw_format *titlef,
                       struct error *err) {
  lxw_worksheet *ws = workbook_add_worksheet(wb, name);
  if (ws == NULL)
    return error_set(err, ERR_INVAL, "cannot add sheet '%s'", name);
  lxw_row_t row = 0;
  lxw_error e = LXW_NO_ERROR;
  double *width = mem_calloc(t->ncols, sizeof *width);
  if (t->title != NULL) {
    e = worksheet_write_string(ws, row, 0, t->title, titlef);
    row++;
  }
  for (size_t c = 0; e == LXW_NO_ERROR && c < t->ncols; c++) {
    const char *hd = t->headers[c] ? t->headers[c] : "";
    e = worksheet_write_string(ws, row, (lxw_col_t)c, hd, bold);
    width[c] = (double)utf8_chars(hd);
  }
  lxw_row_t header_row = row;
  row++;
  for (size_t r = 0; e == LXW_NO_ERROR && r < t->nrows; r++, row++) {
    for (size_t c = 0; e == LXW_NO_ERROR && c < t->ncols; c++) {
      const struct export_cell *x = &t->cells[r * t->ncols + c];
      double w = 0;
      if (x->kind == EXPORT_TEXT) {
        const char *s = x->text ? x->text : "";
        if (*s != '\0')
          e = worksheet_write_string(ws, row, (lxw_col_t)c, s, NULL);
        w = (double)utf8_chars(s);
      } else if (x->kind == EXPORT_NUMBER && isfinite(x->number)) {
        char num[NUMBER_TEXT_MAX];
        number_text(x->number, num);
        e = worksheet_write_number(ws, row, (lxw_col_t)c, x->number, NULL);
        w = (double)strlen(num);
      }
      if (w > width[c])
        width[c] = w;
    }
  }
  if (e == LXW_NO_ERROR && t->note != NULL)
    e = worksheet_write_string(ws, row, 0, t->note, NULL);
  for (size_t c = 0; e == LXW_NO_ERROR && c < t->ncols; c++) {
    double w = width[c] + 2;
    w = w < WIDTH_MIN ? WIDTH_MIN : w > WIDTH_MAX ? WIDTH_MAX : w;
    e = worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, w, NULL);
  }
  mem_free(width);
  if (e != LXW_NO_ERROR)
    return error_set(err, lxw_code(e), "cannot write sheet '%s': %s", name,
                     lxw_strerror(e));
  worksheet_freeze_panes(ws, header_row + 1, 0);
  return 0;
}

static const char *temp_dir(void) {
  const char *d = getenv("TMPDIR");
  if (d == NULL || d[0] != '/' || strnlen(d, TMPDIR_MAX + 1) > TMPDIR_MAX)
    return "/tmp";
  return d;
}

/* Reads the whole file behind 'fd' (from its start) onto 'out'. */
static int read_back(int fd, struct buf *out, struct error *err) {
  struct stat st;
  if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)
    return error_set(err, ERR_IO, "cannot read the workbook back: %s",
                     strerror(errno));
  if ((uint64_t)st.st_size > out->cap - out->len)
    return error_set(err, ERR_TOOBIG,
                     "cannot export: workbook of %lld bytes "
                     "over the output's cap",
                     (long long)st.st_size);
  char chunk[16384];
  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return error_set(err, ERR_IO, "cannot read the workbook back: %s",
                       strerror(errno));
    if (got == 0)
      return 0;
    if (buf_append(out, chunk, (size_t)got) != 0)
      return error_set(err, ERR_TOOBIG,
                       "cannot export: workbook over the "
                       "output's cap");
  }
}

int export_xlsx(const struct export_table *tables, size_t n, struct buf *out,
                struct error *err) {
  if (out == NULL)
    return error_set(err, ERR_INVAL, "cannot export into a missing buffer");
  if (tables == NULL || n == 0 || n > EXPORT_MAX_SHEETS)
    return error_set(err, ERR_INVAL, "cannot export %zu sheets (1..%d)", n,
                     EXPORT_MAX_SHEETS);
  for (size_t i = 0; i < n; i++) {
    int rc = check_table(&tables[i], err);
    if (rc != 0)
      return rc;
  }
  int rc = 0;
  int fd = -1;
  char path[TMPDIR_MAX + 32];
  char(*names)[EXPORT_SHEETNAME_MAX + 1] = mem_calloc(n, sizeof *names);
  lxw_workbook *wb = NULL;
  size_t start = out->len;

  snprintf(path, sizeof path, "%s/tk-export-XXXXXX", temp_dir());
  fd = mkstemp(path);
  if (fd < 0) {
    rc = error_set(err, ERR_IO, "cannot create a temporary file in '%s': %s",
                   temp_dir(), strerror(errno));
    goto out;
  }
  lxw_workbook_options opts = {.constant_memory = LXW_FALSE,
                               .tmpdir = (char *)temp_dir(),
                               .use_zip64 = LXW_FALSE};
  wb = workbook_new_opt(path, &opts);
  if (wb == NULL) {
    rc = error_set(err, ERR_NOMEM, "cannot create a workbook");
    goto out;
  }
  lxw_format *bold = workbook_add_format(wb);
  lxw_format *titlef = workbook_add_format(wb);
  format_set_bold(bold);
  format_set_bold(titlef);
  format_set_font_size(titlef, 13);
  for (size_t i = 0; i < n && rc == 0; i++) {
    unique_name(names, i, tables[i].name);
    rc = write_sheet(wb, &tables[i], names[i], bold, titlef, err);
  }
  if (rc != 0)
    goto out;                       /* wb is freed unwritten below */
  lxw_error e = workbook_close(wb); /* writes, and frees wb on every path */
  wb = NULL;
  if (e != LXW_NO_ERROR) {
    rc = error_set(err, lxw_code(e), "cannot write the workbook: %s",
                   lxw_strerror(e));
    goto out;
  }
  rc = read_back(fd, out, err);

out:
  if (wb != NULL)
    lxw_workbook_free(wb);
  if (rc != 0)
    truncate_to(out, start);
  if (fd >= 0) {
    unlink(path);
    close(fd);
  }
  mem_free(names);
  return rc;
}
