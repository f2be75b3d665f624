/* export.h -- tables as CSV (RFC 4180, for Excel) and as XLSX workbooks.
 *
 * A table is a grid of cells with a header row, an optional title row above
 * it and an optional note row below it (e.g. the small-cell suppression
 * note). Both writers take the table as given: no I/O but the temporary
 * file libxlsxwriter needs (it writes only to a named file), no logging, no
 * global state.
 *
 * CSV layout (export_csv):
 *   1. the UTF-8 byte-order mark EF BB BF (so Excel reads UTF-8);
 *   2. the title as a one-cell row, when there is one;
 *   3. the header row; 4. the data rows; 5. the note as a one-cell row;
 *   every row ends in CRLF; cells are separated by ','; a cell holding
 *   ',', '"', CR or LF is quoted with '"' and its quotes doubled; an empty
 *   cell (EXPORT_EMPTY, or a number that is not finite) is empty; numbers
 *   use '.' as the decimal mark and the shortest form that reads back as
 *   the same double ("%.15g", else "%.17g"), -0 as "0".
 *   Formula injection: a text cell (title, header, note or data) starting
 *   with '=', '+', '-', '@', TAB or CR gets a leading apostrophe, so a
 *   spreadsheet shows it as text and never evaluates it (OWASP's advice).
 *   Number cells are written by us from a double and are never neutralised.
 *
 * XLSX layout (export_xlsx): one worksheet per table, named from the
 * table's name sanitised (the characters []:*?/\ become '_', leading and
 * trailing apostrophes dropped, cut to EXPORT_SHEETNAME_MAX bytes at a
 * UTF-8 boundary, "Sheet" when nothing is left) and made unique without
 * regard to case by a "~2", "~3" ... suffix; the title in bold on the
 * first row, the header row bold and frozen (panes split below it), the
 * numbers as numeric cells, text as string cells (never formulas, so no
 * neutralising is needed), the note on the row after the data, column
 * widths from the longest text in each column (8..60 characters).
 *
 * Input is checked: all text must be valid UTF-8 with at most
 * EXPORT_MAX_TEXT bytes per cell, ncols <= EXPORT_MAX_COLS, nrows <=
 * EXPORT_MAX_ROWS, at most EXPORT_MAX_SHEETS tables. The output grows in
 * the caller's struct buf and stops at its cap (ERR_TOOBIG).
 *
 * Thread safety: every function is reentrant; distinct calls may run at
 * once (each XLSX workbook has its own temporary files). */
#ifndef TK_EXPORT_H
#define TK_EXPORT_H

#include <stddef.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

#define EXPORT_MAX_COLS 16384   /* Excel's column limit */
#define EXPORT_MAX_ROWS 1048000 /* data rows (Excel: 1,048,576 in all) */
#define EXPORT_MAX_TEXT 32767   /* bytes of one cell (Excel: characters) */
#define EXPORT_MAX_SHEETS 256   /* tables in one workbook */
#define EXPORT_SHEETNAME_MAX 31 /* bytes of a sheet name (Excel: chars) */

enum export_cell_kind { EXPORT_EMPTY, EXPORT_TEXT, EXPORT_NUMBER };

/* One cell: 'text' for EXPORT_TEXT (NULL reads as ""), 'number' for
 * EXPORT_NUMBER; EXPORT_EMPTY uses neither. */
struct export_cell {
  enum export_cell_kind kind;
  const char *text;
  double number;
};

/* A table; the caller owns every pointer, which must stay valid for the
 * call. */
struct export_table {
  const char *name;  /* sheet name (<= 31 bytes after sanitising) */
  const char *title; /* first row, may be NULL */
  const char *note;  /* last row, e.g. the suppression note; may be NULL */
  size_t ncols, nrows;
  const char *const *headers;      /* ncols; a NULL header reads as "" */
  const struct export_cell *cells; /* row-major, nrows x ncols */
};

/* Appends table 't' to 'out' as CSV (layout above). Returns 0, or
 * ERR_INVAL (t NULL, headers or cells missing, sizes over the caps, text
 * that is not UTF-8) or ERR_TOOBIG (out's cap reached); on failure 'out'
 * is left as it was. 'err' (may be NULL) gets the detail. */
NODISCARD int export_csv(const struct export_table *t, struct buf *out,
                         struct error *err);

/* Appends an XLSX workbook with one sheet per table in 'tables' (n >= 1)
 * to 'out'. The workbook is written by libxlsxwriter to a private file
 * made with mkstemp in $TMPDIR (else /tmp), read back and unlinked on every
 * path. Returns 0, or ERR_INVAL (as for export_csv, or n out of 1..
 * EXPORT_MAX_SHEETS), ERR_IO (the temporary file could not be made,
 * written or read), ERR_TOOBIG (out's cap reached); on failure 'out' is
 * left as it was. 'err' (may be NULL) gets the detail. */
NODISCARD int export_xlsx(const struct export_table *tables, size_t n,
                          struct buf *out, struct error *err);

/* Writes the sheet name that 'name' sanitises to (before making it unique)
 * into 'dst' (at least EXPORT_SHEETNAME_MAX + 1 bytes) as a C string.
 * Never fails: invalid UTF-8 bytes become '_'. */
void export_sheet_name(const char *name, char *dst);

#endif
