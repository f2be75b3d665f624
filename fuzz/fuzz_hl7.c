/* fuzz_hl7.c -- libFuzzer target for the HL7 v2 parser, decoder and ACKs.
 *
 * For every input: hl7_parse must either fail with ERR_PARSE/ERR_TOOBIG and
 * a consistent error, or succeed with a consistent index. On success every
 * segment / field / repetition / component / subcomponent is walked with
 * hl7_get and decoded with hl7_text (measured and written lengths must
 * agree); an AE acknowledgement is built and re-parsed: it must parse, echo
 * MSH-10 in MSA-2 and carry the error text back intact. On failure the raw
 * acknowledgement must still be a parseable AR. Seeds: fuzz/corpus/hl7 and,
 * in place, $TK_SHARED/testdata/hl7v2. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hl7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

const char *fuzz_shared_seed_dir(void) { return "hl7v2"; }

static struct hl7_msg msg;
static struct hl7_msg ack;
static char text[1 << 16];

/* hl7_get rescans its segment, so walking every value of a large input is
 * quadratic; the walk stops after this many values per input. */
#define WALK_BUDGET 4000u
static unsigned budget;

/* Stops the run with the failed condition named (libFuzzer keeps the input). */
static void fail_check(int line, const char *what) {
  fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
  abort();
}
#define check(cond) ((cond) ? (void)0 : fail_check(__LINE__, #cond))

static void check_span_in(struct hl7_span s, const char *lo, size_t n) {
  if (s.p != NULL)
    check(s.p >= lo && s.len <= n && (size_t)(s.p - lo) <= n - s.len);
}

static void decode(const struct hl7_msg *m, struct hl7_span s) {
  size_t need = 0;
  size_t got = 0;
  int rc;
  if (budget == 0)
    return;
  budget--;
  rc = hl7_text(m, s, NULL, 0, &need);
  if (m->charset == HL7_CS_UNKNOWN) {
    check(rc == ERR_UNSUPPORTED);
    return;
  }
  check(rc == 0);
  if (need >= sizeof text) {
    check(hl7_text(m, s, text, sizeof text, &got) == ERR_TOOBIG);
    return;
  }
  check(hl7_text(m, s, text, sizeof text, &got) == 0);
  check(got == need && text[got] == '\0');
  if (need > 0)
    check(hl7_text(m, s, text, need, &got) == ERR_TOOBIG);
}

static void walk(const struct hl7_msg *m) {
  budget = WALK_BUDGET;
  for (unsigned i = 0; i < hl7_segment_count(m) && budget > 0; i++) {
    const struct hl7_seg *seg = hl7_segment_at(m, i);
    const char *lo = m->data + seg->off;
    unsigned nf = hl7_field_count(m, seg);
    check(hl7_segment(m, seg->name, 0) != NULL);
    check(nf <= HL7_MAX_FIELDS);
    check(hl7_get(m, seg, nf + 1, 0, 0, 0).p == NULL);
    for (unsigned f = 1; f <= nf && budget > 0; f++) {
      struct hl7_span whole = hl7_get(m, seg, f, HL7_REP_ALL, 0, 0);
      unsigned reps = hl7_reps(m, seg, f);
      check(whole.p != NULL);
      check_span_in(whole, lo, seg->len);
      check(reps <= HL7_MAX_REPS);
      check(reps == 0 || hl7_get(m, seg, f, reps, 0, 0).p == NULL);
      decode(m, whole);
      for (unsigned r = 0; r < (reps > 0 ? reps : 1); r++) {
        struct hl7_span rep = hl7_get(m, seg, f, r, 0, 0);
        check(rep.p != NULL);
        check_span_in(rep, whole.p, whole.len);
        for (unsigned c = 1; budget > 0; c++) {
          struct hl7_span comp = hl7_get(m, seg, f, r, c, 0);
          if (comp.p == NULL)
            break;
          check(c <= HL7_MAX_COMPONENTS);
          check_span_in(comp, rep.p, rep.len);
          decode(m, comp);
          for (unsigned s = 1; budget > 0; s++) {
            struct hl7_span sub = hl7_get(m, seg, f, r, c, s);
            if (sub.p == NULL)
              break;
            check(s <= HL7_MAX_SUBCOMPONENTS);
            check_span_in(sub, comp.p, comp.len);
            decode(m, sub);
          }
        }
      }
    }
  }
}

/* Up to 40 printable-ASCII bytes of the input, as an error text. */
static void make_text(const uint8_t *data, size_t size, char *out) {
  size_t n = 0;
  for (size_t i = 0; i < size && n < 40; i++)
    if (data[i] >= 0x01 && data[i] < 0x80)
      out[n++] = (char)data[i];
  out[n] = '\0';
}

static void check_ack(const char *err_text, const struct hl7_msg *in) {
  struct buf b;
  struct hl7_error e;
  struct hl7_ack_error ae = {"PID", 1, 3, 0, 1, 102, err_text};
  unsigned ver = in->version_num != 0 ? in->version_num : 250;
  struct hl7_span got;
  size_t n = 0;
  buf_init(&b, 2 * HL7_MAX_MESSAGE);
  check(hl7_ack_build(in, "AE", "ACK1", 1700000000000LL, &ae, &b) == 0);
  check(hl7_parse(b.data, b.len, &ack, &e) == 0);
  check(hl7_span_eq(ack.type, "ACK"));
  check(hl7_span_eq(ack.control_id, "ACK1"));
  got = hl7_get(&ack, hl7_segment(&ack, "MSA", 0), 2, HL7_REP_ALL, 0, 0);
  check(got.p != NULL);
  check(got.len == in->control_id.len);
  check(got.len == 0 || memcmp(got.p, in->control_id.p, got.len) == 0);
  check(hl7_segment(&ack, "ERR", 0) != NULL);
  /* The text comes back intact where it was written. */
  if (err_text[0] != '\0' && in->delims.esc >= 0) {
    got =
        ver >= 250
            ? hl7_get(&ack, hl7_segment(&ack, "ERR", 0), 8, HL7_REP_ALL, 0, 0)
            : hl7_get(&ack, hl7_segment(&ack, "MSA", 0), 3, HL7_REP_ALL, 0, 0);
    check(hl7_text(&ack, got, text, sizeof text, &n) == 0);
    check(strcmp(text, err_text) == 0);
  }
  buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *d = (const char *)data;
  struct hl7_error e;
  char err_text[64];
  int rc = hl7_parse(d, size, &msg, &e);
  make_text(data, size, err_text);
  if (rc != 0) {
    struct hl7_ack_error ae;
    struct buf b;
    struct hl7_span id;
    check(rc == ERR_PARSE || rc == ERR_TOOBIG);
    check(e.base.code == rc && e.base.msg[0] != '\0');
    check(e.offset <= size);
    check(e.hl7_code != 0);
    hl7_ack_error_from_parse(&e, &ae);
    buf_init(&b, 2 * HL7_MAX_MESSAGE);
    check(hl7_ack_build_raw(d, size, "AR", "ACK2", 0, &ae, &b) == 0);
    check(hl7_parse(b.data, b.len, &ack, &e) == 0);
    check(hl7_span_eq(hl7_get(&ack, hl7_segment(&ack, "MSA", 0), 1, 0, 0, 0),
                      "AR"));
    buf_release(&b);
    if (hl7_salvage_control_id(d, size, &id) == 0)
      check(id.len > 0 && id.len <= HL7_MAX_CONTROL_ID);
    return 0;
  }
  check(msg.nseg >= 1 && msg.nseg <= HL7_MAX_SEGMENTS);
  check(strcmp(msg.seg[0].name, "MSH") == 0);
  check(msg.type.len > 0);
  check(msg.next <= size && msg.len <= size);
  check(msg.data >= d && (size_t)(msg.data - d) + msg.len <= size);
  for (unsigned i = 0; i < msg.nseg; i++)
    check((size_t)msg.seg[i].off + msg.seg[i].len <= msg.len);
  walk(&msg);
  check_ack(err_text, &msg);
  /* A header-only parse agrees with the full one. */
  check(hl7_parse_header(d, size, &ack, &e) == 0);
  check(ack.nseg == 1 && ack.control_id.len == msg.control_id.len);
  return 0;
}
