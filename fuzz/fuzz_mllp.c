/* fuzz_mllp.c -- libFuzzer target for MLLP framing.
 *
 * The first two input bytes choose max_frame and a chunk size; the rest is a
 * byte stream. It is fed to a receiver loop (append a chunk, find frames,
 * drop 'consumed') and, separately, handed over whole. Both must deliver the
 * same frames and end in the same state, and every frame must satisfy the
 * framing invariants and survive mllp_wrap unchanged. No shared seeds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mllp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

const char *fuzz_shared_seed_dir(void) { return NULL; }

/* Stops the run with the failed condition named (libFuzzer keeps the input). */
static void fail_check(int line, const char *what) {
  fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
  abort();
}
#define check(cond) ((cond) ? (void)0 : fail_check(__LINE__, #cond))

struct run {
  uint64_t hash; /* FNV-1a over delivered frames */
  unsigned frames;
  int end;     /* 0 or the error that stopped the stream */
  size_t left; /* bytes never consumed */
};

static void hash_frame(struct run *r, const char *p, size_t n) {
  uint64_t h = r->hash ^ (uint64_t)n;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  r->hash = h * 1099511628211ULL;
  r->frames++;
}

/* Finds frames in 'b' until more bytes are needed or an error stops it. */
static void drain(struct buf *b, size_t max_frame, struct run *r) {
  while (r->end == 0) {
    size_t start = 0;
    size_t len = 0;
    size_t consumed = 0;
    size_t junk = 0;
    int rc = mllp_frame_find(b->data, b->len, max_frame, &start, &len,
                             &consumed, &junk);
    if (rc < 0) {
      check(rc == ERR_PARSE || rc == ERR_TOOBIG);
      r->end = rc;
      return;
    }
    check(consumed <= b->len);
    check(junk <= consumed);
    check(memchr(b->data, 0x0B, junk) == NULL);
    if (rc == 1) {
      struct buf w;
      check(start == junk + 1 && b->data[junk] == 0x0B);
      check(len <= max_frame);
      check(consumed == start + len + 2);
      check(b->data[consumed - 2] == 0x1C && b->data[consumed - 1] == 0x0D);
      check(memchr(b->data + start, 0x0B, len) == NULL);
      check(memchr(b->data + start, 0x1C, len) == NULL);
      buf_init(&w, len + 3);
      check(mllp_wrap(&w, b->data + start, len) == 0);
      check(w.len == len + 3 && memcmp(w.data, b->data + junk, w.len) == 0);
      buf_release(&w);
      hash_frame(r, b->data + start, len);
    } else {
      check(rc == 0 && consumed == junk);
    }
    memmove(b->data, b->data + consumed, b->len - consumed);
    b->len -= consumed;
    if (rc == 0)
      return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct run chunked = {14695981039346656037ULL, 0, 0, 0};
  struct run whole = {14695981039346656037ULL, 0, 0, 0};
  struct buf b;
  size_t max_frame;
  size_t chunk;
  if (size < 2)
    return 0;
  max_frame = data[0] == 255 ? SIZE_MAX : (size_t)data[0] * 4;
  chunk = (size_t)data[1] % 32 + 1;
  data += 2;
  size -= 2;

  buf_init(&b, size + 1);
  for (size_t off = 0; off < size && chunked.end == 0; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    check(buf_append(&b, data + off, n) == 0);
    drain(&b, max_frame, &chunked);
  }
  chunked.left = b.len;
  buf_release(&b);

  buf_init(&b, size + 1);
  check(buf_append(&b, data, size) == 0);
  drain(&b, max_frame, &whole);
  whole.left = b.len;
  buf_release(&b);

  check(chunked.frames == whole.frames && chunked.hash == whole.hash);
  check(chunked.end == whole.end);
  if (whole.end == 0)
    check(chunked.left == whole.left);
  return 0;
}
