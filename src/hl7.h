/* hl7.h -- HL7 v2 (ER7) message parser, text decoder and ACK builder.
 *
 * Parses one message into an index of segments without copying: every value
 * is a span into the caller's buffer, which must outlive the struct hl7_msg.
 * Delimiters come from MSH-1 and MSH-2 (up to five encoding characters: the
 * v2.7 truncation character is recognised). Segments end with CR, LF or
 * CR LF; blank lines (empty, or holding only SP, HT, VT, FF or FS bytes) are
 * skipped anywhere; a UTF-8 BOM before the first segment is skipped; all other
 * bytes, trailing spaces included, are data. hl7_parse records where each
 * field separator is (up to HL7_MAX_INDEXED_FIELDS in one message), so
 * hl7_get finds a field without scanning; repetitions, components and
 * subcomponents are found on request within the field (a segment beyond the
 * index is scanned, with the same result); escape
 * sequences and the MSH-18 character set are decoded only on request
 * (hl7_text). Batch files (FHS/BHS ... BTS/FTS) are accepted: hl7_parse
 * returns the first message and says where the next one starts (see
 * struct hl7_msg.next). See docs/HL7.md for what is accepted.
 *
 * Invariants of a parsed struct hl7_msg:
 *   1. seg[0] is the MSH segment; 1 <= nseg <= HL7_MAX_SEGMENTS.
 *   2. every segment name is three bytes [A-Z][A-Z0-9][A-Z0-9];
 *   3. no segment has more than HL7_MAX_FIELDS fields, no field more than
 *      HL7_MAX_REPS repetitions, no repetition more than HL7_MAX_COMPONENTS
 *      components, no component more than HL7_MAX_SUBCOMPONENTS
 *      subcomponents;
 *   4. MSH-9.1 (message type) is not empty.
 *
 * Pure: no I/O, no logging, no allocation, no global state; every function is
 * safe to call from any thread on distinct or shared (read-only) messages. */
#ifndef TK_HL7_H
#define TK_HL7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

/* Caps on every size taken from input. Exceeding one is ERR_TOOBIG. */
#define HL7_MAX_MESSAGE (4u * 1024u * 1024u) /* bytes given to hl7_parse */
#define HL7_MAX_SEGMENTS 2048u               /* segments in one message */
#define HL7_MAX_FIELDS 512u                  /* fields in one segment */
#define HL7_MAX_REPS 1024u                   /* repetitions of one field */
#define HL7_MAX_COMPONENTS 256u              /* components of one repetition */
#define HL7_MAX_SUBCOMPONENTS 256u           /* subcomponents of a component */
#define HL7_MAX_CONTROL_ID 199u /* bytes of a salvaged MSH-10 (v2.7 length) */
/* Field separators indexed per message; not an input cap: segments past it
 * are simply not indexed (hl7_get scans them). */
#define HL7_MAX_INDEXED_FIELDS 2048u

/* Pass as 'rep' to hl7_get for the whole field, all repetitions. */
#define HL7_REP_ALL 0xFFFFFFFFu

/* A run of bytes inside the caller's message buffer; not NUL-terminated.
 * p == NULL means absent (the field, repetition... does not exist); p != NULL
 * with len == 0 means present but empty. */
struct hl7_span {
  const char *p;
  size_t len;
};

/* The delimiters of a message. Each is a byte value 0..255, or -1 when MSH-2
 * is too short to define it (the character is then never special). */
struct hl7_delims {
  int field; /* MSH-1, usually '|' */
  int comp;  /* MSH-2[0], '^' */
  int rep;   /* MSH-2[1], '~' */
  int esc;   /* MSH-2[2], '\\' */
  int sub;   /* MSH-2[3], '&' */
  int trunc; /* MSH-2[4], '#' (v2.7+); never splits values */
};

/* Character set of the message text, from MSH-18 (first repetition). */
enum hl7_charset {
  HL7_CS_DEFAULT, /* absent, "ASCII", "ISO IR6": bytes >= 0x80 are read as
                     UTF-8 where they form valid UTF-8, else ISO 8859-1 */
  HL7_CS_UTF8,    /* "UNICODE UTF-8", "UTF-8", "ISO IR192" */
  HL7_CS_LATIN1,  /* "8859/1", "ISO-8859-1", "ISO IR100", "LATIN1" */
  HL7_CS_LATIN9,  /* "8859/15", "ISO-8859-15", "LATIN9" */
  HL7_CS_CP1252,  /* "WINDOWS-1252", "CP1252" */
  HL7_CS_UNKNOWN  /* anything else: hl7_text refuses with ERR_UNSUPPORTED */
};

/* One segment: its name (NUL-terminated) and its bytes, without the
 * terminator, at msg->data + off. Its field separators, when indexed, are
 * msg->fsep[fidx .. fidx + nfsep - 1] (offsets from msg->data, ascending);
 * fidx == HL7_FSEP_NONE means not indexed. */
#define HL7_FSEP_NONE 0xFFFFu
struct hl7_seg {
  char name[4];
  uint32_t off;
  uint32_t len;
  uint16_t fidx;
  uint16_t nfsep;
};

/* A parsed message. Callers embed it (about 41 KiB, mostly the segment and
 * field indexes); it points into the parsed buffer and holds no other
 * resources, so there is nothing to free. Fields are read-only for callers. */
struct hl7_msg {
  const char *data; /* the message: MSH up to the end of its last segment */
  size_t len;       /* bytes at data, terminator of the last segment included */
  size_t next;      /* offset, in the buffer given to hl7_parse, of the first
                       byte after this message and any BTS/FTS trailers;
                       equals that buffer's length for a single message */
  bool batch;       /* FHS/BHS/BTS/FTS seen, or another message follows */
  struct hl7_delims delims;
  unsigned version_num; /* MSH-12.1 "2.5.1" -> 251, "2.3" -> 230; 0 when
                           absent or not of the form 2.N[.N] */
  enum hl7_charset charset;
  /* Cached MSH fields (absent: p == NULL). */
  struct hl7_span encoding;      /* MSH-2 as written, e.g. "^~\\&" */
  struct hl7_span sending_app;   /* MSH-3.1 */
  struct hl7_span sending_fac;   /* MSH-4.1 */
  struct hl7_span receiving_app; /* MSH-5.1 */
  struct hl7_span receiving_fac; /* MSH-6.1 */
  struct hl7_span type;          /* MSH-9.1, never empty */
  struct hl7_span trigger;       /* MSH-9.2 */
  struct hl7_span structure;     /* MSH-9.3 */
  struct hl7_span control_id;    /* MSH-10 */
  struct hl7_span processing_id; /* MSH-11.1 */
  struct hl7_span version;       /* MSH-12.1 */
  struct hl7_span charset_name;  /* MSH-18, first repetition */
  unsigned nseg;
  unsigned nfsep; /* used entries of fsep */
  uint32_t fsep[HL7_MAX_INDEXED_FIELDS];
  struct hl7_seg seg[HL7_MAX_SEGMENTS];
};

/* Where and why hl7_parse failed; the detail an ACK's ERR segment needs. */
struct hl7_error {
  struct error base;   /* code (ERR_*) and a lowercase message */
  char segment[4];     /* name of the segment at fault; "" when none */
  unsigned seg_index;  /* 0-based position of that segment in the message */
  unsigned occurrence; /* 1-based occurrence of that name (as in ERR-2.2) */
  unsigned field;      /* HL7 field number (MSH-1 is the separator); 0: none */
  size_t offset;       /* byte offset in the buffer given to hl7_parse */
  unsigned hl7_code;   /* suggested HL7 table 0357 code: 100 segment
                          sequence/name, 101 required field missing, 102
                          data type (bad delimiters), 207 otherwise */
};

/* Parses the first message in 'len' bytes at 'data'. On success returns 0
 * and fills *out (which then points into 'data'). On failure returns
 *   ERR_INVAL  data is NULL or out is NULL;
 *   ERR_PARSE  empty input, no MSH, bad delimiters, an invalid segment name,
 *              MSH-9 missing;
 *   ERR_TOOBIG len > HL7_MAX_MESSAGE or another cap exceeded;
 * leaves *out untouched and, when 'err' is not NULL, fills it. Single pass,
 * no allocation, about 41 KiB of stack. Thread-safe. */
NODISCARD int hl7_parse(const char *data, size_t len, struct hl7_msg *out,
                        struct hl7_error *err);

/* Like hl7_parse but reads only the MSH segment (nseg == 1): what can be
 * learned from a message whose body is broken, e.g. to route or ACK it. */
NODISCARD int hl7_parse_header(const char *data, size_t len,
                               struct hl7_msg *out, struct hl7_error *err);

/* True when version_num is 2.2 up to 2.8.x, the versions this server
 * supports. A message of another version still parses; the caller rejects
 * it (HL7 error 203). */
bool hl7_version_supported(const struct hl7_msg *m);

/* Number of segments. */
unsigned hl7_segment_count(const struct hl7_msg *m);

/* The i-th segment (0-based), or NULL when i >= hl7_segment_count(m). */
const struct hl7_seg *hl7_segment_at(const struct hl7_msg *m, unsigned i);

/* The nth (0-based) segment called 'name' ("PID"), or NULL. Linear in the
 * number of segments. */
const struct hl7_seg *hl7_segment(const struct hl7_msg *m, const char *name,
                                  unsigned nth);

/* Number of fields in 'seg' (highest field number present; MSH counts MSH-1
 * and MSH-2). */
unsigned hl7_field_count(const struct hl7_msg *m, const struct hl7_seg *seg);

/* A value of 'seg' by HL7 numbering: 'field' 1-based (0 gives the segment
 * name; for MSH, field 1 is the field separator and field 2 the encoding
 * characters, both returned whole and never split), 'rep' 0-based (or
 * HL7_REP_ALL for the whole field with comp == sub == 0), 'comp' and 'sub'
 * 1-based with 0 meaning the whole repetition / component. Returns raw bytes
 * (escapes not decoded) or {NULL, 0} when absent. Finds the field through
 * the separator index (or by scanning a segment that is not indexed), then
 * scans within the field; never fails. */
struct hl7_span hl7_get(const struct hl7_msg *m, const struct hl7_seg *seg,
                        unsigned field, unsigned rep, unsigned comp,
                        unsigned sub);

/* Number of repetitions of a field: 0 when absent or empty, else 1 + the
 * number of repetition separators in it. */
unsigned hl7_reps(const struct hl7_msg *m, const struct hl7_seg *seg,
                  unsigned field);

/* True when 's' is present and equals the C string 'str' byte for byte. */
bool hl7_span_eq(struct hl7_span s, const char *str);

/* Decodes raw value 'in' (a span from hl7_get) into UTF-8 text: escape
 * sequences \F\ \S\ \T\ \R\ \E\ \P\ become their delimiter; \Xhh...\ gives
 * the bytes hh (in the message character set); \.br\, \.sp\ and \.ce\ give a
 * newline; \H\ \N\ \.in\ \.ti\ \.fi\ \.nf\ \.sk\ \C..\ \M..\ \Z..\ give
 * nothing; an unknown or unterminated sequence is kept literally. The bytes
 * are then converted from the MSH-18 character set (enum hl7_charset) to
 * UTF-8; invalid UTF-8 in a UTF-8 message becomes U+FFFD. On success writes
 * *out_len bytes plus a NUL to 'out' and returns 0. With out == NULL and
 * cap == 0 only computes *out_len. Fails with ERR_TOOBIG when the text and
 * its NUL do not fit 'cap', ERR_UNSUPPORTED for an unknown character set,
 * ERR_INVAL for NULL arguments; then 'out' and *out_len are untouched.
 * Thread-safe. */
NODISCARD int hl7_text(const struct hl7_msg *m, struct hl7_span in, char *out,
                       size_t cap, size_t *out_len);

/* Sets *d to the default delimiters |^~\& (no truncation character). */
void hl7_delims_default(struct hl7_delims *d);

/* Appends 'len' bytes of 'text' to 'out' escaped for delimiters 'd': each
 * delimiter becomes \F\ \S\ \R\ \E\ \T\ or \P\, CR, LF and other control
 * bytes become \Xhh\. Without an escape character, those bytes become spaces.
 * Returns 0, or ERR_TOOBIG (buffer cap) with 'out' unchanged. */
NODISCARD int hl7_escape(const struct hl7_delims *d, const char *text,
                         size_t len, struct buf *out);

/* What an AE/AR acknowledgement reports. Numbers are written as in ERR-2
 * (1-based; 0 leaves the component empty; occurrence 0 is written as 1). */
struct hl7_ack_error {
  const char *segment; /* "PID"; NULL or "" when not about a segment */
  unsigned occurrence;
  unsigned field;
  unsigned rep;
  unsigned comp;
  unsigned code;    /* HL7 table 0357: 100 segment sequence error, 101
                       required field missing, 102 data type error, 103 table
                       value not found, 200 unsupported message type, 201
                       unsupported event code, 203 unsupported version id,
                       204 unknown key identifier, 207 application internal
                       error ... */
  const char *text; /* human detail (ASCII preferred); escaped on output */
};

/* Fills *out from a parse failure: segment, occurrence, field and text point
 * into 'pe', which must outlive *out. */
void hl7_ack_error_from_parse(const struct hl7_error *pe,
                              struct hl7_ack_error *out);

/* Appends an acknowledgement of 'in' to 'out', segments ended by CR:
 *   MSH  the message's MSH-1/MSH-2; MSH-3/4 = its MSH-5/6 and MSH-5/6 = its
 *        MSH-3/4 (whole fields); MSH-7 = now_ms as UTC YYYYMMDDHHMMSS+0000;
 *        MSH-9 ACK^<trigger>^ACK (ACK^<trigger> before v2.3.1); MSH-10 =
 *        ack_control_id; MSH-11 = its MSH-11 ("P" when empty); MSH-12 = its
 *        version (2.5 when absent or unrecognised);
 *   MSA  ack_code | its MSH-10 [| e->text for versions before 2.5];
 *   ERR  only when e != NULL: v2.5+ ERR||seg^occ^field^rep^comp|
 *        code^name^HL70357|E||||text; older
 * ERR|seg^occ^field^code&text&HL70357. Severity is W for AA/CA. 'in' NULL
 * (unparseable input): delimiters |^~\&, version 2.5, empty sender/receiver and
 * MSA-2 (see hl7_ack_build_raw to salvage MSH-10). 'ack_code' is AA, AE, AR (or
 * CA, CE, CR). Texts are escaped with the message's delimiters. Returns 0;
 * ERR_INVAL for a bad code or NULL argument; ERR_RANGE when now_ms is outside
 * years 1..9999; ERR_TOOBIG when the buffer cap is reached. On failure 'out' is
 * unchanged. Pure. */
NODISCARD int hl7_ack_build(const struct hl7_msg *in, const char *ack_code,
                            const char *ack_control_id, int64_t now_ms,
                            const struct hl7_ack_error *e, struct buf *out);

/* Acknowledges bytes hl7_parse rejected: when the MSH segment alone parses
 * (hl7_parse_header) the ACK is built from it as hl7_ack_build does; else
 * with defaults and MSA-2 = hl7_salvage_control_id's result (empty when none).
 * Same returns as hl7_ack_build. Uses about 82 KiB of stack. */
NODISCARD int hl7_ack_build_raw(const char *data, size_t len,
                                const char *ack_code,
                                const char *ack_control_id, int64_t now_ms,
                                const struct hl7_ack_error *e, struct buf *out);

/* Best-effort scan of a broken message for MSH-10: skips a BOM and blank
 * lines, finds "MSH" and its field separator, counts separators within the
 * first segment only. On success *out spans 1..HL7_MAX_CONTROL_ID printable
 * ASCII bytes inside 'data' and 0 is returned; otherwise ERR_NOTFOUND and
 * *out is untouched. */
NODISCARD int hl7_salvage_control_id(const char *data, size_t len,
                                     struct hl7_span *out);

#endif
