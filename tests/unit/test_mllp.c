/* test_mllp.c -- unit tests for MLLP framing.
 *
 * A small receiver loop (append bytes, find frames, drop what was consumed)
 * is driven with the same stream split at every byte boundary and in every
 * chunk size; frames must come out whole and in order. Then junk, oversize,
 * bad trailers, nested start blocks and mllp_wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"
#include "mllp.h"

static const char *const msgs[] = {
    "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123\r",
    "",
    "MSH|^~\\&|X||||||ADT^A02|2|P|2.4\r",
};

/* The three messages framed, with junk before the first and between the
 * second and third. */
static void make_stream(struct buf *s) {
  buf_init(s, 4096);
  assert_int_equal(buf_puts(s, "\r\n junk"), 0);
  assert_int_equal(mllp_wrap(s, msgs[0], strlen(msgs[0])), 0);
  assert_int_equal(mllp_wrap(s, msgs[1], 0), 0);
  assert_int_equal(buf_puts(s, "\n"), 0);
  assert_int_equal(mllp_wrap(s, msgs[2], strlen(msgs[2])), 0);
}

struct receiver {
  struct buf in;    /* bytes received, not yet consumed */
  unsigned got;     /* frames delivered */
  size_t junk;      /* junk bytes dropped */
  char out[3][256]; /* messages delivered */
  size_t out_len[3];
};

/* Feeds 'n' bytes and delivers every complete frame. */
static void feed(struct receiver *r, const char *p, size_t n) {
  assert_int_equal(buf_append(&r->in, p, n), 0);
  for (;;) {
    size_t start = 0;
    size_t len = 0;
    size_t consumed = 0;
    size_t junk = 0;
    int rc = mllp_frame_find(r->in.data, r->in.len, 1024, &start, &len,
                             &consumed, &junk);
    assert_true(rc == 0 || rc == 1);
    assert_true(consumed <= r->in.len);
    r->junk += junk;
    if (rc == 1) {
      assert_true(r->got < 3);
      assert_int_equal(start, junk + 1);
      assert_int_equal(consumed, start + len + 2);
      memcpy(r->out[r->got], r->in.data + start, len);
      r->out_len[r->got] = len;
      r->got++;
    } else {
      assert_int_equal(consumed, junk);
    }
    memmove(r->in.data, r->in.data + consumed, r->in.len - consumed);
    r->in.len -= consumed;
    if (rc == 0)
      break;
  }
}

static void check_delivered(const struct receiver *r) {
  assert_int_equal(r->got, 3);
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(r->out_len[i], strlen(msgs[i]));
    assert_memory_equal(r->out[i], msgs[i], r->out_len[i]);
  }
  assert_int_equal(r->junk, 8); /* "\r\n junk" and "\n" */
  assert_int_equal(r->in.len, 0);
}

static void test_split_at_every_boundary(void **state) {
  struct buf s;
  (void)state;
  make_stream(&s);
  for (size_t cut = 0; cut <= s.len; cut++) {
    struct receiver r;
    memset(&r, 0, sizeof r);
    buf_init(&r.in, 8192);
    feed(&r, s.data, cut);
    feed(&r, s.data + cut, s.len - cut);
    check_delivered(&r);
    buf_release(&r.in);
  }
  buf_release(&s);
}

static void test_every_chunk_size(void **state) {
  struct buf s;
  (void)state;
  make_stream(&s);
  for (size_t chunk = 1; chunk <= s.len; chunk++) {
    struct receiver r;
    memset(&r, 0, sizeof r);
    buf_init(&r.in, 8192);
    for (size_t off = 0; off < s.len; off += chunk)
      feed(&r, s.data + off, off + chunk <= s.len ? chunk : s.len - off);
    check_delivered(&r);
    buf_release(&r.in);
  }
  buf_release(&s);
}

static void test_several_frames_one_buffer(void **state) {
  const char stream[] = "\x0b"
                        "one\x1c\r\x0b"
                        "two\x1c\r\x0b"
                        "three\x1c\r";
  size_t len = sizeof stream - 1;
  size_t off = 0;
  size_t start;
  size_t mlen;
  size_t consumed;
  size_t junk;
  (void)state;
  assert_int_equal(
      mllp_frame_find(stream, len, 100, &start, &mlen, &consumed, &junk), 1);
  assert_int_equal(start, 1);
  assert_int_equal(mlen, 3);
  assert_memory_equal(stream + start, "one", 3);
  assert_int_equal(consumed, 6);
  assert_int_equal(junk, 0);
  off += consumed;
  assert_int_equal(mllp_frame_find(stream + off, len - off, 100, &start, &mlen,
                                   &consumed, NULL),
                   1);
  assert_memory_equal(stream + off + start, "two", 3);
  off += consumed;
  assert_int_equal(mllp_frame_find(stream + off, len - off, 100, &start, &mlen,
                                   &consumed, &junk),
                   1);
  assert_int_equal(mlen, 5);
  assert_memory_equal(stream + off + start, "three", 5);
  off += consumed;
  assert_int_equal(off, len);
  assert_int_equal(mllp_frame_find(stream + off, len - off, 100, &start, &mlen,
                                   &consumed, &junk),
                   0);
  assert_int_equal(consumed, 0);
}

static void test_junk(void **state) {
  size_t start = 77;
  size_t mlen = 77;
  size_t consumed = 77;
  size_t junk = 77;
  (void)state;
  /* only junk: all of it may go */
  assert_int_equal(
      mllp_frame_find("abc\r\n", 5, 100, &start, &mlen, &consumed, &junk), 0);
  assert_int_equal(consumed, 5);
  assert_int_equal(junk, 5);
  assert_int_equal(start, 77); /* untouched */
  /* junk then a partial frame: the junk goes, the frame stays */
  assert_int_equal(
      mllp_frame_find("xy\x0bMSH|", 7, 100, &start, &mlen, &consumed, &junk),
      0);
  assert_int_equal(consumed, 2);
  assert_int_equal(junk, 2);
  /* junk then a frame */
  assert_int_equal(mllp_frame_find("xyz\x0bMSG\x1c\rtail", 13, 100, &start,
                                   &mlen, &consumed, &junk),
                   1);
  assert_int_equal(junk, 3);
  assert_int_equal(start, 4);
  assert_int_equal(mlen, 3);
  assert_int_equal(consumed, 9);
  /* a stray trailer before the start block is junk too */
  assert_int_equal(mllp_frame_find("\x1c\r\x0bok\x1c\r", 7, 100, &start, &mlen,
                                   &consumed, &junk),
                   1);
  assert_int_equal(junk, 2);
  assert_int_equal(mlen, 2);
  /* nothing at all */
  assert_int_equal(mllp_frame_find("", 0, 100, &start, &mlen, &consumed, &junk),
                   0);
  assert_int_equal(consumed, 0);
  assert_int_equal(junk, 0);
}

static void test_oversize(void **state) {
  size_t start = 77;
  size_t mlen = 77;
  size_t consumed = 77;
  size_t junk = 77;
  (void)state;
  /* exactly max_frame bytes: fine */
  assert_int_equal(mllp_frame_find("\x0b"
                                   "12345\x1c\r",
                                   8, 5, &start, &mlen, &consumed, &junk),
                   1);
  assert_int_equal(mlen, 5);
  /* one more, trailer present */
  consumed = junk = 77;
  assert_int_equal(mllp_frame_find("\x0b"
                                   "123456\x1c\r",
                                   9, 5, &start, &mlen, &consumed, &junk),
                   ERR_TOOBIG);
  /* one more, trailer not yet here: known too big already */
  assert_int_equal(mllp_frame_find("\x0b"
                                   "123456",
                                   7, 5, &start, &mlen, &consumed, &junk),
                   ERR_TOOBIG);
  /* max_frame bytes without a trailer: still waiting */
  assert_int_equal(mllp_frame_find("\x0b"
                                   "12345",
                                   6, 5, &start, &mlen, &consumed, &junk),
                   0);
  assert_int_equal(consumed, 0);
  consumed = junk = 77;
  /* out-params untouched on error */
  assert_int_equal(mllp_frame_find("ab\x0b"
                                   "1234567",
                                   10, 5, &start, &mlen, &consumed, &junk),
                   ERR_TOOBIG);
  assert_int_equal(consumed, 77);
  assert_int_equal(junk, 77);
  assert_int_equal(start, 1); /* from the last frame found */
  /* zero-length frames are allowed even with max_frame 0 */
  assert_int_equal(
      mllp_frame_find("\x0b\x1c\r", 3, 0, &start, &mlen, &consumed, &junk), 1);
  assert_int_equal(mlen, 0);
  assert_int_equal(consumed, 3);
}

static void test_bad_trailer(void **state) {
  size_t start = 77;
  size_t mlen = 77;
  size_t consumed = 77;
  size_t junk = 77;
  (void)state;
  assert_int_equal(mllp_frame_find("\x0b"
                                   "ab\x1cX",
                                   5, 100, &start, &mlen, &consumed, &junk),
                   ERR_PARSE);
  assert_int_equal(mllp_frame_find("\x0b"
                                   "ab\x1c\x1c\r",
                                   6, 100, &start, &mlen, &consumed, &junk),
                   ERR_PARSE);
  assert_int_equal(consumed, 77);
  /* 0x1C as the last byte: wait for the next one */
  assert_int_equal(mllp_frame_find("\x0b"
                                   "ab\x1c",
                                   4, 100, &start, &mlen, &consumed, &junk),
                   0);
  assert_int_equal(consumed, 0);
  /* a start block inside a frame, with or without its trailer yet */
  consumed = 77;
  assert_int_equal(mllp_frame_find("\x0b"
                                   "ab\x0b"
                                   "cd\x1c\r",
                                   8, 100, &start, &mlen, &consumed, &junk),
                   ERR_PARSE);
  assert_int_equal(mllp_frame_find("\x0b"
                                   "ab\x0b"
                                   "c",
                                   5, 100, &start, &mlen, &consumed, &junk),
                   ERR_PARSE);
  assert_int_equal(consumed, 77);
  assert_int_equal(start, 77);
  assert_int_equal(mlen, 77);
}

static void test_wrap(void **state) {
  struct buf b;
  size_t start;
  size_t mlen;
  size_t consumed;
  (void)state;
  buf_init(&b, 64);
  assert_int_equal(mllp_wrap(&b, "MSH|x", 5), 0);
  assert_int_equal(b.len, 8);
  assert_memory_equal(b.data, "\x0bMSH|x\x1c\r", 8);
  assert_int_equal(
      mllp_frame_find(b.data, b.len, 64, &start, &mlen, &consumed, NULL), 1);
  assert_int_equal(start, 1);
  assert_int_equal(mlen, 5);
  assert_int_equal(consumed, 8);
  /* framing bytes inside the message are refused */
  assert_int_equal(mllp_wrap(&b, "a\x0b", 2), ERR_INVAL);
  assert_int_equal(mllp_wrap(&b, "a\x1c", 2), ERR_INVAL);
  assert_int_equal(mllp_wrap(NULL, "a", 1), ERR_INVAL);
  assert_int_equal(b.len, 8);
  buf_release(&b);
  /* the cap: nothing appended */
  buf_init(&b, 10);
  assert_int_equal(buf_puts(&b, "abc"), 0);
  assert_int_equal(mllp_wrap(&b, "12345", 5), ERR_TOOBIG);
  assert_string_equal(buf_str(&b), "abc");
  assert_int_equal(mllp_wrap(&b, "1234", 4), 0);
  assert_int_equal(b.len, 10);
  buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_at_every_boundary),
      cmocka_unit_test(test_every_chunk_size),
      cmocka_unit_test(test_several_frames_one_buffer),
      cmocka_unit_test(test_junk),
      cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_bad_trailer),
      cmocka_unit_test(test_wrap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
