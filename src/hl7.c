/* hl7.c -- HL7 v2 (ER7) message parser, text decoder and ACK builder.
 *
 * Design: hl7_parse makes one pass over the bytes with a 256-entry class
 * table (delimiter, terminator or data), recording each segment's name and
 * extent and counting fields, repetitions, components and subcomponents only
 * to enforce the caps; the offset of every field separator goes into the
 * message's fixed separator index while it has room (a segment that does not
 * fit is left unindexed). Nothing is copied or allocated; the result is built
 * in a local struct and only its used parts are copied to the caller, so *out
 * is untouched on failure. hl7_get takes the field from the index (or splits
 * an unindexed segment with memchr, which gives the same span) and splits
 * only inside the field on request.
 * hl7_text decodes escapes with a pull decoder (raw bytes -> escape-decoded
 * bytes in the message charset -> UTF-8), run twice: once to measure, once to
 * write, so the output buffer is untouched on failure.
 *
 * Invariants (see hl7.h for those of a parsed message):
 *   1. every offset stored in struct hl7_seg fits in uint32_t because the
 *      input is capped at HL7_MAX_MESSAGE;
 *   2. delimiters are ASCII punctuation, pairwise distinct, never CR or LF,
 *      so a terminator never hides inside a value;
 *   3. ACK builders restore the caller's buffer length on any failure.
 *
 * Thread safety: no state beyond arguments and the stack; reentrant. */
#include "hl7.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Byte classes for the parse loop. */
enum { C_DATA = 0, C_FIELD, C_REP, C_COMP, C_SUB, C_TERM };

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alnum_uc(unsigned char c) { return is_upper(c) || is_digit(c); }
static bool is_term(unsigned char c) { return c == '\r' || c == '\n'; }

/* Bytes a blank line may hold besides its terminator. */
static bool is_blank(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == 0x1c;
}

/* ASCII punctuation: what a delimiter may be. */
static bool is_delim_char(unsigned char c) {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

static struct hl7_span span_none(void) {
  struct hl7_span s = {NULL, 0};
  return s;
}

static struct hl7_span span_of(const char *p, size_t len) {
  struct hl7_span s = {p, len};
  return s;
}

/* Index of the first CR or LF at or after 'pos', or 'len'. */
static size_t line_end(const char *d, size_t len, size_t pos) {
  while (pos < len && !is_term((unsigned char)d[pos]))
    pos++;
  return pos;
}

/* Skips terminators and blank lines from 'pos'; returns the start of the next
 * line holding something else, or 'len'. */
static size_t skip_blank_lines(const char *d, size_t len, size_t pos) {
  while (pos < len) {
    size_t q = pos;
    if (is_term((unsigned char)d[pos])) {
      pos++;
      continue;
    }
    while (q < len && is_blank((unsigned char)d[q]))
      q++;
    if (q < len && !is_term((unsigned char)d[q]))
      break;
    pos = q;
  }
  return pos;
}

/* True when the line at 'p' ('rem' bytes left) starts with segment 'name'
 * not followed by another letter or digit. */
static bool line_is(const char *p, size_t rem, const char *name) {
  return rem >= 3 && memcmp(p, name, 3) == 0 &&
         (rem == 3 || !is_alnum_uc((unsigned char)p[3]));
}

static bool is_envelope(const char *p, size_t rem) {
  return line_is(p, rem, "FHS") || line_is(p, rem, "BHS") ||
         line_is(p, rem, "BTS") || line_is(p, rem, "FTS");
}

/* The n-th (0-based) piece of 's' split at 'sep' (-1: never splits). */
static struct hl7_span nth_piece(struct hl7_span s, int sep, unsigned n) {
  const char *p = s.p;
  const char *end = s.p + s.len;
  const char *q;
  if (s.p == NULL)
    return span_none();
  if (sep < 0)
    return n == 0 ? s : span_none();
  while (n > 0) {
    q = memchr(p, sep, (size_t)(end - p));
    if (q == NULL)
      return span_none();
    p = q + 1;
    n--;
  }
  q = memchr(p, sep, (size_t)(end - p));
  return span_of(p, q != NULL ? (size_t)(q - p) : (size_t)(end - p));
}

static size_t count_byte(struct hl7_span s, int c) {
  size_t n = 0;
  const char *p = s.p;
  const char *end = s.p + s.len;
  if (c < 0)
    return 0;
  while (p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
    n++;
    p++;
  }
  return n;
}

static bool seg_is_msh(const struct hl7_seg *seg) {
  return memcmp(seg->name, "MSH", 4) == 0;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

struct loc {
  const char *segment; /* NULL: none */
  unsigned seg_index;
  unsigned occurrence;
  unsigned field;
  size_t offset;
  unsigned hl7_code;
};

static int fail(struct hl7_error *err, int code, const struct loc *l,
                const char *fmt, ...) PRINTF_LIKE(4, 5);

static int fail(struct hl7_error *err, int code, const struct loc *l,
                const char *fmt, ...) {
  va_list ap;
  if (err == NULL)
    return code;
  memset(err, 0, sizeof *err);
  err->base.code = code;
  va_start(ap, fmt);
  vsnprintf(err->base.msg, sizeof err->base.msg, fmt, ap);
  va_end(ap);
  if (l->segment != NULL) {
    memcpy(err->segment, l->segment, 3);
    err->segment[3] = '\0';
  }
  err->seg_index = l->seg_index;
  err->occurrence = l->occurrence;
  err->field = l->field;
  err->offset = l->offset;
  err->hl7_code = l->hl7_code;
  return code;
}

/* 1-based occurrence a new segment called 'name' would have. */
static unsigned occurrence_of(const struct hl7_msg *m, const char *name) {
  unsigned n = 1;
  for (unsigned i = 0; i < m->nseg; i++)
    if (memcmp(m->seg[i].name, name, 3) == 0)
      n++;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

static unsigned parse_version(struct hl7_span v) {
  size_t i = 0;
  unsigned minor = 0;
  unsigned patch = 0;
  if (v.p == NULL || v.len < 3 || v.p[0] != '2' || v.p[1] != '.')
    return 0;
  i = 2;
  if (i >= v.len || !is_digit((unsigned char)v.p[i]))
    return 0;
  minor = (unsigned)(v.p[i++] - '0');
  if (i < v.len && v.p[i] == '.') {
    i++;
    if (i >= v.len || !is_digit((unsigned char)v.p[i]))
      return 0;
    patch = (unsigned)(v.p[i++] - '0');
  }
  if (i != v.len)
    return 0;
  return 200 + minor * 10 + patch;
}

/* Charset names are compared lowercased with ' ', '-', '_', '/' dropped. */
static enum hl7_charset parse_charset(struct hl7_span s) {
  static const struct {
    const char *name;
    enum hl7_charset cs;
  } names[] = {
      {"", HL7_CS_DEFAULT},         {"ascii", HL7_CS_DEFAULT},
      {"usascii", HL7_CS_DEFAULT},  {"isoir6", HL7_CS_DEFAULT},
      {"unicodeutf8", HL7_CS_UTF8}, {"utf8", HL7_CS_UTF8},
      {"isoir192", HL7_CS_UTF8},    {"88591", HL7_CS_LATIN1},
      {"iso88591", HL7_CS_LATIN1},  {"isoir100", HL7_CS_LATIN1},
      {"latin1", HL7_CS_LATIN1},    {"885915", HL7_CS_LATIN9},
      {"iso885915", HL7_CS_LATIN9}, {"isoir203", HL7_CS_LATIN9},
      {"latin9", HL7_CS_LATIN9},    {"windows1252", HL7_CS_CP1252},
      {"cp1252", HL7_CS_CP1252},
  };
  char norm[24];
  size_t n = 0;
  for (size_t i = 0; s.p != NULL && i < s.len; i++) {
    unsigned char c = (unsigned char)s.p[i];
    if (c == ' ' || c == '-' || c == '_' || c == '/')
      continue;
    if (n + 1 >= sizeof norm)
      return HL7_CS_UNKNOWN;
    norm[n++] = (char)(is_upper(c) ? c - 'A' + 'a' : c);
  }
  norm[n] = '\0';
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (strcmp(norm, names[i].name) == 0)
      return names[i].cs;
  return HL7_CS_UNKNOWN;
}

/* Reads MSH-1 and MSH-2 of the MSH segment at d[pos]; on success fills *dl
 * and *enc_end (index just past MSH-2). */
static int read_delims(const char *d, size_t len, size_t pos,
                       struct hl7_delims *dl, size_t *enc_end,
                       struct hl7_error *err) {
  struct loc l = {"MSH", 0, 1, 1, pos, 102};
  int *slots[5];
  size_t i = 0;
  size_t n;
  unsigned char fs;
  if (len - pos < 5 || is_term((unsigned char)d[pos + 3]) ||
      is_term((unsigned char)d[pos + 4])) {
    l.field = len - pos < 4 ? 1 : 2;
    return fail(err, ERR_PARSE, &l, "truncated MSH segment");
  }
  fs = (unsigned char)d[pos + 3];
  if (!is_delim_char(fs))
    return fail(err, ERR_PARSE, &l, "invalid field separator 0x%02x in MSH-1",
                fs);
  dl->field = fs;
  dl->comp = dl->rep = dl->esc = dl->sub = dl->trunc = -1;
  slots[0] = &dl->comp;
  slots[1] = &dl->rep;
  slots[2] = &dl->esc;
  slots[3] = &dl->sub;
  slots[4] = &dl->trunc;
  l.field = 2;
  for (i = pos + 4, n = 0; i < len; i++, n++) {
    unsigned char c = (unsigned char)d[i];
    if (c == fs || is_term(c))
      break;
    l.offset = i;
    if (n >= 5)
      return fail(err, ERR_PARSE, &l,
                  "more than 5 encoding characters in MSH-2");
    if (!is_delim_char(c))
      return fail(err, ERR_PARSE, &l,
                  "invalid encoding character 0x%02x in MSH-2", c);
    for (size_t k = 0; k < n; k++)
      if (*slots[k] == c)
        return fail(err, ERR_PARSE, &l,
                    "repeated encoding character '%c' in MSH-2", c);
    *slots[n] = c;
  }
  if (n == 0)
    return fail(err, ERR_PARSE, &l, "no encoding characters in MSH-2");
  *enc_end = i;
  return 0;
}

/* The field separator index being filled: offsets from 'base' go to
 * at[n++] while n < cap; 'over' when a separator did not fit. */
struct fsep_rec {
  uint32_t *at;
  unsigned n;
  unsigned cap;
  size_t base;
  bool over;
};

/* Scans one segment's delimiters from d[*ip] up to its terminator (or the
 * end), counting against the caps and recording field separators in *fr.
 * '*field' is the HL7 number of the field the scan starts in. Returns 0 with
 * *ip at the terminator, or ERR_TOOBIG with *ip at the offending delimiter
 * and *what naming the cap. */
static int scan_segment(const unsigned char *cls, const char *d, size_t len,
                        size_t *ip, unsigned *field, struct fsep_rec *fr,
                        const char **what) {
  size_t i = *ip;
  unsigned reps = 1;
  unsigned comps = 1;
  unsigned subs = 1;
  int rc = 0;
  for (;;) {
    while (i < len && cls[(unsigned char)d[i]] == C_DATA)
      i++;
    if (i == len)
      break;
    switch (cls[(unsigned char)d[i]]) {
    case C_FIELD:
      reps = comps = subs = 1;
      if (fr->n < fr->cap)
        fr->at[fr->n++] = (uint32_t)(i - fr->base);
      else
        fr->over = true;
      if (++*field > HL7_MAX_FIELDS) {
        *what = "fields";
        rc = ERR_TOOBIG;
      }
      break;
    case C_REP:
      comps = subs = 1;
      if (++reps > HL7_MAX_REPS) {
        *what = "repetitions";
        rc = ERR_TOOBIG;
      }
      break;
    case C_COMP:
      subs = 1;
      if (++comps > HL7_MAX_COMPONENTS) {
        *what = "components";
        rc = ERR_TOOBIG;
      }
      break;
    case C_SUB:
      if (++subs > HL7_MAX_SUBCOMPONENTS) {
        *what = "subcomponents";
        rc = ERR_TOOBIG;
      }
      break;
    default: /* C_TERM */
      *ip = i;
      return 0;
    }
    if (rc < 0)
      break;
    i++;
  }
  *ip = i;
  return rc;
}

/* True when a segment may start at d[pos]: [A-Z][A-Z0-9][A-Z0-9] followed by
 * the field separator, a terminator or the end. */
static bool seg_name_ok(const unsigned char *cls, const char *d, size_t len,
                        size_t pos) {
  return len - pos >= 3 && is_upper((unsigned char)d[pos]) &&
         is_alnum_uc((unsigned char)d[pos + 1]) &&
         is_alnum_uc((unsigned char)d[pos + 2]) &&
         (len - pos == 3 || cls[(unsigned char)d[pos + 3]] == C_FIELD ||
          cls[(unsigned char)d[pos + 3]] == C_TERM);
}

/* Parses into *m (a scratch struct). 'header_only' stops after MSH. */
static int parse(const char *d, size_t len, struct hl7_msg *m,
                 struct hl7_error *err, bool header_only) {
  unsigned char cls[256];
  struct loc l = {NULL, 0, 0, 0, 0, 100};
  size_t pos = 0;
  size_t msh;
  size_t i = 0;
  size_t end_of_msg = 0;
  unsigned field;
  struct fsep_rec fr;
  int rc;

  m->batch = false;
  m->nseg = 0;
  m->nfsep = 0;
  if (len > HL7_MAX_MESSAGE) {
    l.hl7_code = 207;
    return fail(err, ERR_TOOBIG, &l, "message of %zu bytes exceeds the cap %u",
                len, HL7_MAX_MESSAGE);
  }
  if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  pos = skip_blank_lines(d, len, pos);
  while (pos < len && is_envelope(d + pos, len - pos)) {
    m->batch = true;
    pos = skip_blank_lines(d, len, line_end(d, len, pos));
  }
  l.offset = pos;
  if (pos == len)
    return fail(err, ERR_PARSE, &l, "empty message");
  if (!line_is(d + pos, len - pos, "MSH"))
    return fail(err, ERR_PARSE, &l, "missing MSH segment");
  msh = pos;
  rc = read_delims(d, len, msh, &m->delims, &i, err);
  if (rc < 0)
    return rc;

  m->data = d + msh;
  memset(cls, C_DATA, sizeof cls);
  cls[m->delims.field] = C_FIELD;
  if (m->delims.rep >= 0)
    cls[m->delims.rep] = C_REP;
  if (m->delims.comp >= 0)
    cls[m->delims.comp] = C_COMP;
  if (m->delims.sub >= 0)
    cls[m->delims.sub] = C_SUB;
  cls['\r'] = cls['\n'] = C_TERM;
  fr.at = m->fsep;
  fr.n = 0;
  fr.cap = HL7_MAX_INDEXED_FIELDS;
  fr.base = msh;
  fr.over = false;
  fr.at[fr.n++] = 3; /* MSH-1, the separator after "MSH" */

  /* One iteration per segment: 'pos' is its first byte, 'i' where the
   * delimiter scan starts (for MSH, the separator after MSH-2). */
  field = 2;
  for (;;) {
    const char *what = "";
    struct hl7_seg *seg;
    unsigned first = pos == msh ? 0 : fr.n;
    l.segment = d + pos;
    l.seg_index = m->nseg;
    if (scan_segment(cls, d, len, &i, &field, &fr, &what) < 0) {
      l.occurrence = occurrence_of(m, d + pos);
      l.field = field;
      l.offset = i;
      l.hl7_code = 207;
      return fail(err, ERR_TOOBIG, &l,
                  "too many %s in segment '%.3s' field %u (cap %u)", what,
                  d + pos, field,
                  what[0] == 'f'   ? HL7_MAX_FIELDS
                  : what[0] == 'r' ? HL7_MAX_REPS
                  : what[0] == 'c' ? HL7_MAX_COMPONENTS
                                   : HL7_MAX_SUBCOMPONENTS);
    }
    if (m->nseg == HL7_MAX_SEGMENTS) {
      l.occurrence = occurrence_of(m, d + pos);
      l.field = 0;
      l.offset = pos;
      l.hl7_code = 207;
      return fail(err, ERR_TOOBIG, &l, "too many segments at '%.3s' (cap %u)",
                  d + pos, HL7_MAX_SEGMENTS);
    }
    seg = &m->seg[m->nseg++];
    memcpy(seg->name, d + pos, 3);
    seg->name[3] = '\0';
    seg->off = (uint32_t)(pos - msh);
    seg->len = (uint32_t)(i - pos);
    if (fr.over) {
      /* Did not fit: scanned on request instead; the room goes to the
       * segments after it. */
      fr.n = first;
      fr.over = false;
      seg->fidx = HL7_FSEP_NONE;
      seg->nfsep = 0;
    } else {
      seg->fidx = (uint16_t)first;
      seg->nfsep = (uint16_t)(fr.n - first);
    }
    m->nfsep = fr.n;
    end_of_msg = i;
    if (i < len)
      end_of_msg += (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') ? 2 : 1;
    pos = skip_blank_lines(d, len, i);
    if (header_only || pos == len)
      break;
    if (line_is(d + pos, len - pos, "MSH") || is_envelope(d + pos, len - pos)) {
      m->batch = true;
      break;
    }
    if (!seg_name_ok(cls, d, len, pos)) {
      l.segment = NULL;
      l.seg_index = m->nseg;
      l.occurrence = 0;
      l.field = 0;
      l.offset = pos;
      l.hl7_code = 100;
      return fail(err, ERR_PARSE, &l, "invalid segment name at segment %u",
                  m->nseg + 1);
    }
    i = pos + 3;
    field = 0;
  }

  /* Batch trailers belong to no message; skip them for 'next'. */
  while (!header_only && pos < len &&
         (line_is(d + pos, len - pos, "BTS") ||
          line_is(d + pos, len - pos, "FTS")))
    pos = skip_blank_lines(d, len, line_end(d, len, pos));
  m->next = header_only ? end_of_msg : pos;
  m->len = end_of_msg - msh;
  return 0;
}

/* Fills the cached MSH fields and checks MSH-9. */
static int cache_msh(const char *input, struct hl7_msg *m,
                     struct hl7_error *err) {
  const struct hl7_seg *msh = &m->seg[0];
  struct hl7_span f9;
  m->encoding = hl7_get(m, msh, 2, 0, 0, 0);
  m->sending_app = hl7_get(m, msh, 3, 0, 1, 0);
  m->sending_fac = hl7_get(m, msh, 4, 0, 1, 0);
  m->receiving_app = hl7_get(m, msh, 5, 0, 1, 0);
  m->receiving_fac = hl7_get(m, msh, 6, 0, 1, 0);
  m->type = hl7_get(m, msh, 9, 0, 1, 0);
  m->trigger = hl7_get(m, msh, 9, 0, 2, 0);
  m->structure = hl7_get(m, msh, 9, 0, 3, 0);
  m->control_id = hl7_get(m, msh, 10, HL7_REP_ALL, 0, 0);
  m->processing_id = hl7_get(m, msh, 11, 0, 1, 0);
  m->version = hl7_get(m, msh, 12, 0, 1, 0);
  m->charset_name = hl7_get(m, msh, 18, 0, 0, 0);
  m->version_num = parse_version(m->version);
  m->charset = parse_charset(m->charset_name);
  if (m->type.len == 0) {
    struct loc l = {"MSH", 0, 1, 9, 0, 101};
    f9 = hl7_get(m, msh, 9, HL7_REP_ALL, 0, 0);
    l.offset = (size_t)((f9.p != NULL ? f9.p : m->data + msh->len) - input);
    return fail(err, ERR_PARSE, &l, "message type missing in MSH-9");
  }
  return 0;
}

static int parse_common(const char *data, size_t len, struct hl7_msg *out,
                        struct hl7_error *err, bool header_only) {
  struct hl7_msg m;
  int rc;
  if (data == NULL || out == NULL) {
    struct loc l = {NULL, 0, 0, 0, 0, 207};
    return fail(err, ERR_INVAL, &l, "no message given");
  }
  rc = parse(data, len, &m, err, header_only);
  if (rc == 0)
    rc = cache_msh(data, &m, err);
  if (rc < 0)
    return rc;
  memcpy(out, &m, offsetof(struct hl7_msg, fsep) + m.nfsep * sizeof m.fsep[0]);
  memcpy(out->seg, m.seg, m.nseg * sizeof m.seg[0]);
  return 0;
}

int hl7_parse(const char *data, size_t len, struct hl7_msg *out,
              struct hl7_error *err) {
  return parse_common(data, len, out, err, false);
}

int hl7_parse_header(const char *data, size_t len, struct hl7_msg *out,
                     struct hl7_error *err) {
  return parse_common(data, len, out, err, true);
}

bool hl7_version_supported(const struct hl7_msg *m) {
  return m != NULL && m->version_num >= 220 && m->version_num < 290;
}

/* ------------------------------------------------------------------------ */
/* Access                                                                   */
/* ------------------------------------------------------------------------ */

unsigned hl7_segment_count(const struct hl7_msg *m) {
  return m != NULL ? m->nseg : 0;
}

const struct hl7_seg *hl7_segment_at(const struct hl7_msg *m, unsigned i) {
  if (m == NULL || i >= m->nseg)
    return NULL;
  return &m->seg[i];
}

const struct hl7_seg *hl7_segment(const struct hl7_msg *m, const char *name,
                                  unsigned nth) {
  if (m == NULL || name == NULL || strlen(name) != 3)
    return NULL;
  for (unsigned i = 0; i < m->nseg; i++) {
    if (memcmp(m->seg[i].name, name, 3) == 0) {
      if (nth == 0)
        return &m->seg[i];
      nth--;
    }
  }
  return NULL;
}

static struct hl7_span seg_span(const struct hl7_msg *m,
                                const struct hl7_seg *seg) {
  return span_of(m->data + seg->off, seg->len);
}

/* The n-th (0-based) piece of 'seg' split at the field separator, from the
 * index when the segment has one: the same span nth_piece gives. */
static struct hl7_span seg_piece(const struct hl7_msg *m,
                                 const struct hl7_seg *seg, unsigned n) {
  const uint32_t *at;
  uint32_t start;
  uint32_t end;
  if (seg->fidx == HL7_FSEP_NONE)
    return nth_piece(seg_span(m, seg), m->delims.field, n);
  if (n > seg->nfsep)
    return span_none();
  at = m->fsep + seg->fidx;
  start = n == 0 ? seg->off : at[n - 1] + 1;
  end = n < seg->nfsep ? at[n] : seg->off + seg->len;
  return span_of(m->data + start, end - start);
}

unsigned hl7_field_count(const struct hl7_msg *m, const struct hl7_seg *seg) {
  size_t n;
  if (m == NULL || seg == NULL)
    return 0;
  n = seg->fidx != HL7_FSEP_NONE
          ? seg->nfsep
          : count_byte(seg_span(m, seg), m->delims.field);
  return (unsigned)(seg_is_msh(seg) ? n + 1 : n);
}

struct hl7_span hl7_get(const struct hl7_msg *m, const struct hl7_seg *seg,
                        unsigned field, unsigned rep, unsigned comp,
                        unsigned sub) {
  struct hl7_span s;
  struct hl7_span f;
  struct hl7_span r;
  struct hl7_span c;
  if (m == NULL || seg == NULL)
    return span_none();
  s = seg_span(m, seg);
  if (field == 0)
    return rep == 0 && comp == 0 && sub == 0 ? span_of(s.p, 3) : span_none();
  if (seg_is_msh(seg) && field <= 2) {
    if ((rep != 0 && rep != HL7_REP_ALL) || comp > 1 || sub > 1)
      return span_none();
    if (field == 1)
      return s.len > 3 ? span_of(s.p + 3, 1) : span_none();
    return seg_piece(m, seg, 1);
  }
  f = seg_piece(m, seg, seg_is_msh(seg) ? field - 1 : field);
  if (f.p == NULL)
    return f;
  if (rep == HL7_REP_ALL)
    return comp == 0 && sub == 0 ? f : span_none();
  r = nth_piece(f, m->delims.rep, rep);
  if (r.p == NULL || comp == 0)
    return sub == 0 ? r : span_none();
  c = nth_piece(r, m->delims.comp, comp - 1);
  if (c.p == NULL || sub == 0)
    return c;
  return nth_piece(c, m->delims.sub, sub - 1);
}

unsigned hl7_reps(const struct hl7_msg *m, const struct hl7_seg *seg,
                  unsigned field) {
  struct hl7_span f = hl7_get(m, seg, field, HL7_REP_ALL, 0, 0);
  if (f.p == NULL || f.len == 0)
    return 0;
  if (seg_is_msh(seg) && field <= 2)
    return 1;
  return (unsigned)count_byte(f, m->delims.rep) + 1;
}

bool hl7_span_eq(struct hl7_span s, const char *str) {
  size_t n;
  if (s.p == NULL || str == NULL)
    return false;
  n = strlen(str);
  return n == s.len && memcmp(s.p, str, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Text decoding                                                            */
/* ------------------------------------------------------------------------ */

/* Pull decoder: raw value bytes -> escape-decoded bytes (message charset). */
struct dec {
  const struct hl7_delims *dl;
  const unsigned char *p;       /* next raw byte */
  const unsigned char *end;     /* end of the raw value */
  const unsigned char *hex;     /* pending \X..\ digits */
  const unsigned char *hex_end; /* end of them */
  const unsigned char *lit;     /* pending literal run (unknown escape) */
  const unsigned char *lit_end;
  int pend;  /* one pending byte from an escape, or -1 */
  int la[4]; /* lookahead queue of decoded bytes */
  unsigned nla;
};

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* True when [p, q) is hex digits (spaces allowed between pairs) making at
 * least one whole byte. */
static bool hex_ok(const unsigned char *p, const unsigned char *q) {
  size_t digits = 0;
  for (; p < q; p++) {
    if (*p == ' ')
      continue;
    if (hexval(*p) < 0)
      return false;
    digits++;
  }
  return digits > 0 && digits % 2 == 0;
}

static bool seq_is(const unsigned char *p, size_t n, const char *word) {
  size_t w = strlen(word);
  return n >= w && memcmp(p, word, w) == 0;
}

/* Interprets the escape sequence [s, s+n) (between escape characters).
 * Returns 1 with *byte set when it yields one byte, 0 when it yields nothing
 * (or hex digits queued in d), -1 when unknown. */
static int escape_meaning(struct dec *d, const unsigned char *s, size_t n,
                          int *byte) {
  const struct hl7_delims *dl = d->dl;
  if (n == 1) {
    int v = -2;
    switch (s[0]) {
    case 'F':
      v = dl->field;
      break;
    case 'S':
      v = dl->comp;
      break;
    case 'T':
      v = dl->sub;
      break;
    case 'R':
      v = dl->rep;
      break;
    case 'E':
      v = dl->esc;
      break;
    case 'P':
      v = dl->trunc;
      break;
    case 'H':
    case 'N':
      return 0;
    default:
      return -1;
    }
    if (v < 0)
      return -1;
    *byte = v;
    return 1;
  }
  if (n == 0)
    return -1;
  switch (s[0]) {
  case 'X':
    if (!hex_ok(s + 1, s + n))
      return -1;
    d->hex = s + 1;
    d->hex_end = s + n;
    return 0;
  case 'C':
  case 'M':
    /* ISO 2022 character set switches: \Cxxyy\ \Mxxyy[zz]\; dropped. */
    return (n == 5 || (s[0] == 'M' && n == 7)) && hex_ok(s + 1, s + n) ? 0 : -1;
  case 'Z':
    return 0; /* locally defined escape: dropped */
  case '.':
    if (seq_is(s, n, ".br") || seq_is(s, n, ".sp") || seq_is(s, n, ".ce")) {
      *byte = '\n';
      return 1;
    }
    if (seq_is(s, n, ".in") || seq_is(s, n, ".ti") || seq_is(s, n, ".fi") ||
        seq_is(s, n, ".nf") || seq_is(s, n, ".sk"))
      return 0;
    return -1;
  default:
    return -1;
  }
}

static int raw_next(struct dec *d) {
  for (;;) {
    const unsigned char *q;
    int byte = 0;
    int r;
    unsigned char c;
    if (d->pend >= 0) {
      byte = d->pend;
      d->pend = -1;
      return byte;
    }
    if (d->lit != NULL) {
      if (d->lit < d->lit_end)
        return *d->lit++;
      d->lit = d->lit_end = NULL;
    }
    if (d->hex != NULL) {
      while (d->hex < d->hex_end && *d->hex == ' ')
        d->hex++;
      if (d->hex_end - d->hex >= 2) {
        byte = hexval(d->hex[0]) << 4 | hexval(d->hex[1]);
        d->hex += 2;
        return byte;
      }
      d->hex = d->hex_end = NULL;
    }
    if (d->p == d->end)
      return -1;
    c = *d->p++;
    if (d->dl->esc < 0 || c != d->dl->esc)
      return c;
    q = memchr(d->p, c, (size_t)(d->end - d->p));
    if (q == NULL)
      return c; /* unterminated: the escape character is data */
    r = escape_meaning(d, d->p, (size_t)(q - d->p), &byte);
    if (r < 0) {
      /* Unknown: keep the whole sequence, both escape characters included. */
      d->lit = d->p;
      d->lit_end = q + 1;
      d->p = q + 1;
      return c;
    }
    d->p = q + 1;
    if (r == 1)
      return byte;
  }
}

static int dec_get(struct dec *d) {
  int b;
  if (d->nla == 0)
    return raw_next(d);
  b = d->la[0];
  memmove(d->la, d->la + 1, (d->nla - 1) * sizeof d->la[0]);
  d->nla--;
  return b;
}

static int dec_peek(struct dec *d, unsigned k) {
  while (d->nla <= k) {
    int b = raw_next(d);
    if (b < 0)
      return -1;
    d->la[d->nla++] = b;
  }
  return d->la[k];
}

/* Output: counts always, writes when 'out' is not NULL. */
struct sink {
  char *out;
  size_t n;
};

static void put(struct sink *s, unsigned char c) {
  if (s->out != NULL)
    s->out[s->n] = (char)c;
  s->n++;
}

static void put_cp(struct sink *s, uint32_t cp) {
  if (cp < 0x80) {
    put(s, (unsigned char)cp);
  } else if (cp < 0x800) {
    put(s, (unsigned char)(0xC0 | cp >> 6));
    put(s, (unsigned char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    put(s, (unsigned char)(0xE0 | cp >> 12));
    put(s, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    put(s, (unsigned char)(0x80 | (cp & 0x3F)));
  } else {
    put(s, (unsigned char)(0xF0 | cp >> 18));
    put(s, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
    put(s, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    put(s, (unsigned char)(0x80 | (cp & 0x3F)));
  }
}

static uint32_t latin9_cp(unsigned char b) {
  switch (b) {
  case 0xA4:
    return 0x20AC;
  case 0xA6:
    return 0x0160;
  case 0xA8:
    return 0x0161;
  case 0xB4:
    return 0x017D;
  case 0xB8:
    return 0x017E;
  case 0xBC:
    return 0x0152;
  case 0xBD:
    return 0x0153;
  case 0xBE:
    return 0x0178;
  default:
    return b;
  }
}

/* Windows-1252 0x80..0x9F as the WHATWG encoding standard maps them. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

/* Handles a byte >= 0x80 in UTF-8 or default mode. */
static void utf8_seq(struct dec *d, struct sink *s, int lead,
                     enum hl7_charset cs) {
  unsigned need;
  int lo = 0x80;
  int hi = 0xBF;
  unsigned k;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0)
      lo = 0xA0;
    else if (lead == 0xED)
      hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0)
      lo = 0x90;
    else if (lead == 0xF4)
      hi = 0x8F;
  } else {
    need = 0;
  }
  for (k = 0; k < need; k++) {
    int c = dec_peek(d, k);
    int l = k == 0 ? lo : 0x80;
    int h = k == 0 ? hi : 0xBF;
    if (c < l || c > h)
      break;
  }
  if (need > 0 && k == need) {
    put(s, (unsigned char)lead);
    for (k = 0; k < need; k++)
      put(s, (unsigned char)dec_get(d));
    return;
  }
  if (cs == HL7_CS_UTF8) {
    /* One U+FFFD for the lead byte and its valid continuation prefix. */
    put_cp(s, 0xFFFD);
    while (k-- > 0)
      (void)dec_get(d);
    return;
  }
  put_cp(s, (uint32_t)lead); /* not UTF-8: ISO 8859-1 */
}

static void decode(const struct hl7_msg *m, struct hl7_span in,
                   struct sink *s) {
  struct dec d;
  int b;
  memset(&d, 0, sizeof d);
  d.dl = &m->delims;
  d.p = (const unsigned char *)in.p;
  d.end = d.p + in.len;
  d.pend = -1;
  while ((b = dec_get(&d)) >= 0) {
    if (b < 0x80) {
      put(s, (unsigned char)b);
      continue;
    }
    switch (m->charset) {
    case HL7_CS_LATIN1:
      put_cp(s, (uint32_t)b);
      break;
    case HL7_CS_LATIN9:
      put_cp(s, latin9_cp((unsigned char)b));
      break;
    case HL7_CS_CP1252:
      put_cp(s, b < 0xA0 ? cp1252_high[b - 0x80] : (uint32_t)b);
      break;
    default:
      utf8_seq(&d, s, b, m->charset);
      break;
    }
  }
}

int hl7_text(const struct hl7_msg *m, struct hl7_span in, char *out, size_t cap,
             size_t *out_len) {
  struct sink s = {NULL, 0};
  if (m == NULL || out_len == NULL || (out == NULL && cap != 0))
    return ERR_INVAL;
  if (m->charset == HL7_CS_UNKNOWN)
    return ERR_UNSUPPORTED;
  if (in.p == NULL)
    in = span_of("", 0);
  decode(m, in, &s);
  if (out == NULL) {
    *out_len = s.n;
    return 0;
  }
  if (s.n >= cap)
    return ERR_TOOBIG;
  s.out = out;
  s.n = 0;
  decode(m, in, &s);
  out[s.n] = '\0';
  *out_len = s.n;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Escaping and ACKs                                                        */
/* ------------------------------------------------------------------------ */

void hl7_delims_default(struct hl7_delims *d) {
  d->field = '|';
  d->comp = '^';
  d->rep = '~';
  d->esc = '\\';
  d->sub = '&';
  d->trunc = -1;
}

/* Appends 'text' escaped; the buffer may be partly extended on failure
 * (callers restore its length). */
static int escape_into(const struct hl7_delims *d, const char *text, size_t len,
                       struct buf *out) {
  static const char hexd[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    char code = 0;
    int rc;
    if (c == d->field)
      code = 'F';
    else if (c == d->comp)
      code = 'S';
    else if (c == d->rep)
      code = 'R';
    else if (c == d->esc)
      code = 'E';
    else if (c == d->sub)
      code = 'T';
    else if (c == d->trunc)
      code = 'P';
    if (code == 0 && c >= 0x20 && c != 0x7f) {
      rc = buf_putc(out, (char)c);
    } else if (d->esc < 0) {
      rc = buf_putc(out, ' ');
    } else if (code != 0) {
      char e[3] = {(char)d->esc, code, (char)d->esc};
      rc = buf_append(out, e, sizeof e);
    } else {
      char e[5] = {(char)d->esc, 'X', hexd[c >> 4], hexd[c & 15], (char)d->esc};
      rc = buf_append(out, e, sizeof e);
    }
    if (rc < 0)
      return rc;
  }
  return 0;
}

int hl7_escape(const struct hl7_delims *d, const char *text, size_t len,
               struct buf *out) {
  size_t orig;
  int rc;
  if (d == NULL || out == NULL || (text == NULL && len > 0))
    return ERR_INVAL;
  orig = out->len;
  rc = escape_into(d, text, len, out);
  if (rc < 0 && out->data != NULL) {
    out->len = orig;
    out->data[orig] = '\0';
  }
  return rc;
}

static const char *code_name(unsigned code) {
  switch (code) {
  case 0:
    return "Message accepted";
  case 100:
    return "Segment sequence error";
  case 101:
    return "Required field missing";
  case 102:
    return "Data type error";
  case 103:
    return "Table value not found";
  case 104:
    return "Value too long";
  case 200:
    return "Unsupported message type";
  case 201:
    return "Unsupported event code";
  case 202:
    return "Unsupported processing id";
  case 203:
    return "Unsupported version id";
  case 204:
    return "Unknown key identifier";
  case 205:
    return "Duplicate key identifier";
  case 206:
    return "Application record locked";
  case 207:
    return "Application internal error";
  default:
    return "Error";
  }
}

void hl7_ack_error_from_parse(const struct hl7_error *pe,
                              struct hl7_ack_error *out) {
  memset(out, 0, sizeof *out);
  out->segment = pe->segment[0] != '\0' ? pe->segment : NULL;
  out->occurrence = pe->segment[0] != '\0' ? pe->occurrence : 0;
  out->field = pe->field;
  out->code = pe->hl7_code != 0 ? pe->hl7_code : 207;
  out->text = pe->base.msg;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *mo, unsigned *d) {
  int64_t era;
  unsigned doe;
  unsigned yoe;
  unsigned doy;
  unsigned mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *mo = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*mo <= 2);
}

/* Years 1..9999 in milliseconds since the epoch. */
#define MS_MIN (-62135596800000LL)
#define MS_MAX (253402300799999LL)

static int put_ts(struct buf *out, int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned mo;
  unsigned d;
  char t[19];
  unsigned v[5];
  civil_from_days(days, &y, &mo, &d);
  /* y is 1..9999 (MS_MIN..MS_MAX): always four digits. */
  v[0] = mo;
  v[1] = d;
  v[2] = (unsigned)(sod / 3600);
  v[3] = (unsigned)(sod / 60 % 60);
  v[4] = (unsigned)(sod % 60);
  t[0] = (char)('0' + y / 1000 % 10);
  t[1] = (char)('0' + y / 100 % 10);
  t[2] = (char)('0' + y / 10 % 10);
  t[3] = (char)('0' + y % 10);
  for (unsigned k = 0; k < 5; k++) {
    t[4 + 2 * k] = (char)('0' + v[k] / 10);
    t[5 + 2 * k] = (char)('0' + v[k] % 10);
  }
  memcpy(t + 14, "+0000", 5);
  return buf_append(out, t, sizeof t);
}

static int put_span(struct buf *out, struct hl7_span s) {
  return s.p != NULL ? buf_append(out, s.p, s.len) : 0;
}

/* Appends the decimal digits of 'n' (as "%u"). */
static int put_uint(struct buf *out, unsigned n) {
  char t[12];
  size_t i = sizeof t;
  do {
    t[--i] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  return buf_append(out, t + i, sizeof t - i);
}

static int put_num(struct buf *out, unsigned n) {
  return n != 0 ? put_uint(out, n) : 0;
}

/* Appends the C string 'a', the byte 'c', and the C string 'b'. */
static int put3(struct buf *out, const char *a, char c, const char *b) {
  int rc = buf_puts(out, a);
  if (rc == 0)
    rc = buf_putc(out, c);
  if (rc == 0)
    rc = buf_puts(out, b);
  return rc;
}

static bool valid_ack_code(const char *c) {
  static const char *const codes[] = {"AA", "AE", "AR", "CA", "CE", "CR"};
  for (size_t i = 0; i < ARRAY_LEN(codes); i++)
    if (strcmp(c, codes[i]) == 0)
      return true;
  return false;
}

/* The ERR segment for versions 2.5 and later. */
static int put_err_v25(struct buf *out, const struct hl7_delims *dl,
                       const struct hl7_ack_error *e, bool warning) {
  char fs = (char)dl->field;
  char cs = (char)dl->comp;
  char head[5] = {'E', 'R', 'R', fs, fs};
  int rc = buf_append(out, head, sizeof head);
  if (rc == 0 && e->segment != NULL && e->segment[0] != '\0') {
    /* ERL: segment^sequence^field^repetition^component, trailing empties
     * dropped. */
    unsigned parts[4] = {e->occurrence != 0 ? e->occurrence : 1, e->field,
                         e->rep, e->comp};
    unsigned last = 0;
    for (unsigned k = 0; k < 4; k++)
      if (parts[k] != 0)
        last = k + 1;
    rc = escape_into(dl, e->segment, strlen(e->segment), out);
    for (unsigned k = 0; rc == 0 && k < last; k++) {
      rc = buf_putc(out, cs);
      if (rc == 0)
        rc = put_num(out, parts[k]);
    }
  }
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = put_uint(out, e->code);
  if (rc == 0)
    rc = buf_putc(out, cs);
  if (rc == 0)
    rc = escape_into(dl, code_name(e->code), strlen(code_name(e->code)), out);
  if (rc == 0) {
    char tail[14] = {cs,  'H', 'L', '7', '0',
                     '3', '5', '7', fs,  warning ? 'W' : 'E',
                     fs,  fs,  fs,  fs};
    rc = buf_append(out, tail, sizeof tail);
  }
  if (rc == 0 && e->text != NULL)
    rc = escape_into(dl, e->text, strlen(e->text), out);
  if (rc == 0)
    rc = buf_putc(out, '\r');
  return rc;
}

/* The ERR segment (ERR-1, ELD) for versions before 2.5. */
static int put_err_old(struct buf *out, const struct hl7_delims *dl,
                       const struct hl7_ack_error *e) {
  char fs = (char)dl->field;
  char cs = (char)dl->comp;
  const char *text =
      e->text != NULL && e->text[0] != '\0' ? e->text : code_name(e->code);
  bool have_seg = e->segment != NULL && e->segment[0] != '\0';
  int rc = put3(out, "ERR", fs, "");
  if (rc == 0 && have_seg)
    rc = escape_into(dl, e->segment, strlen(e->segment), out);
  if (rc == 0)
    rc = buf_putc(out, cs);
  if (rc == 0 && have_seg)
    rc = put_num(out, e->occurrence != 0 ? e->occurrence : 1);
  if (rc == 0)
    rc = buf_putc(out, cs);
  if (rc == 0)
    rc = put_num(out, e->field);
  if (rc == 0)
    rc = buf_putc(out, cs);
  if (rc == 0)
    rc = put_uint(out, e->code);
  if (rc == 0 && dl->sub >= 0) {
    rc = buf_putc(out, (char)dl->sub);
    if (rc == 0)
      rc = escape_into(dl, text, strlen(text), out);
    if (rc == 0)
      rc = put3(out, "", (char)dl->sub, "HL70357");
  }
  if (rc == 0)
    rc = buf_putc(out, '\r');
  return rc;
}

static int ack_build(const struct hl7_msg *in, struct hl7_span salvaged,
                     const char *ack_code, const char *ack_control_id,
                     int64_t now_ms, const struct hl7_ack_error *e,
                     struct buf *out) {
  struct hl7_delims dl;
  const struct hl7_seg *msh = NULL;
  unsigned ver = 250;
  size_t orig;
  char fs;
  char cs;
  bool warning;
  int rc;

  if (ack_code == NULL || ack_control_id == NULL || out == NULL ||
      !valid_ack_code(ack_code))
    return ERR_INVAL;
  if (now_ms < MS_MIN || now_ms > MS_MAX)
    return ERR_RANGE;
  warning = ack_code[1] == 'A';
  if (in != NULL) {
    dl = in->delims;
    msh = &in->seg[0];
    if (in->version_num != 0)
      ver = in->version_num;
  } else {
    hl7_delims_default(&dl);
  }
  fs = (char)dl.field;
  cs = (char)dl.comp;
  orig = out->len;

  /* MSH */
  rc = put3(out, "MSH", fs, "");
  if (rc == 0)
    rc = in != NULL ? put_span(out, in->encoding) : buf_puts(out, "^~\\&");
  for (unsigned f = 0; rc == 0 && f < 4; f++) {
    static const unsigned swap[4] = {5, 6, 3, 4};
    rc = buf_putc(out, fs);
    if (rc == 0 && in != NULL)
      rc = put_span(out, hl7_get(in, msh, swap[f], HL7_REP_ALL, 0, 0));
  }
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = put_ts(out, now_ms);
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = put3(out, "", fs, "ACK");
  /* MSH-9: ACK^trigger^ACK; before v2.3.1 no structure component. */
  if (rc == 0 && (ver >= 231 || (in != NULL && in->trigger.len > 0))) {
    rc = buf_putc(out, cs);
    if (rc == 0 && in != NULL)
      rc = put_span(out, in->trigger);
  }
  if (rc == 0 && ver >= 231)
    rc = put3(out, "", cs, "ACK");
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = escape_into(&dl, ack_control_id, strlen(ack_control_id), out);
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0) {
    struct hl7_span pid =
        in != NULL ? hl7_get(in, msh, 11, HL7_REP_ALL, 0, 0) : span_none();
    rc = pid.len > 0 ? put_span(out, pid) : buf_putc(out, 'P');
  }
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = in != NULL && in->version_num != 0 ? put_span(out, in->version)
                                            : buf_puts(out, "2.5");
  if (rc == 0)
    rc = buf_putc(out, '\r');

  /* MSA */
  if (rc == 0)
    rc = put3(out, "MSA", fs, ack_code);
  if (rc == 0)
    rc = buf_putc(out, fs);
  if (rc == 0)
    rc = in != NULL ? put_span(out, in->control_id)
                    : escape_into(&dl, salvaged.p, salvaged.len, out);
  if (rc == 0 && e != NULL && ver < 250 && e->text != NULL &&
      e->text[0] != '\0') {
    rc = buf_putc(out, fs);
    if (rc == 0)
      rc = escape_into(&dl, e->text, strlen(e->text), out);
  }
  if (rc == 0)
    rc = buf_putc(out, '\r');

  /* ERR */
  if (rc == 0 && e != NULL)
    rc = ver >= 250 ? put_err_v25(out, &dl, e, warning)
                    : put_err_old(out, &dl, e);

  if (rc < 0 && out->data != NULL) {
    out->len = orig;
    out->data[orig] = '\0';
  }
  return rc;
}

int hl7_ack_build(const struct hl7_msg *in, const char *ack_code,
                  const char *ack_control_id, int64_t now_ms,
                  const struct hl7_ack_error *e, struct buf *out) {
  return ack_build(in, span_of("", 0), ack_code, ack_control_id, now_ms, e,
                   out);
}

int hl7_ack_build_raw(const char *data, size_t len, const char *ack_code,
                      const char *ack_control_id, int64_t now_ms,
                      const struct hl7_ack_error *e, struct buf *out) {
  struct hl7_msg hdr;
  struct hl7_span id = span_of("", 0);
  if (data != NULL && hl7_parse_header(data, len, &hdr, NULL) == 0)
    return ack_build(&hdr, id, ack_code, ack_control_id, now_ms, e, out);
  if (data != NULL && hl7_salvage_control_id(data, len, &id) < 0)
    id = span_of("", 0);
  return ack_build(NULL, id, ack_code, ack_control_id, now_ms, e, out);
}

int hl7_salvage_control_id(const char *data, size_t len, struct hl7_span *out) {
  size_t pos = 0;
  size_t end;
  size_t start;
  unsigned seps = 0;
  unsigned char fs;
  if (data == NULL || out == NULL)
    return ERR_NOTFOUND;
  if (len > HL7_MAX_MESSAGE)
    len = HL7_MAX_MESSAGE;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  pos = skip_blank_lines(data, len, pos);
  while (pos < len && is_envelope(data + pos, len - pos))
    pos = skip_blank_lines(data, len, line_end(data, len, pos));
  if (len - pos < 4 || memcmp(data + pos, "MSH", 3) != 0)
    return ERR_NOTFOUND;
  fs = (unsigned char)data[pos + 3];
  if (!is_delim_char(fs))
    return ERR_NOTFOUND;
  end = line_end(data, len, pos);
  /* MSH-10 follows the ninth field separator (MSH-1 is the first). */
  for (start = pos + 3; start < end && seps < 9; start++)
    if ((unsigned char)data[start] == fs)
      seps++;
  if (seps < 9)
    return ERR_NOTFOUND;
  for (end = start; end < len && (unsigned char)data[end] != fs &&
                    !is_term((unsigned char)data[end]);
       end++) {
    unsigned char c = (unsigned char)data[end];
    if (c < 0x20 || c >= 0x7f || end - start >= HL7_MAX_CONTROL_ID)
      return ERR_NOTFOUND;
  }
  if (end == start)
    return ERR_NOTFOUND;
  *out = span_of(data + start, end - start);
  return 0;
}
