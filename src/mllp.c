/* mllp.c -- MLLP framing: 0x0B <message> 0x1C 0x0D.
 *
 * mllp_frame_find is two memchr calls: one for the start block, one for the
 * end block within at most max_frame + 1 bytes after it, then a third over
 * the message to reject a nested start block. It rescans from the buffer's
 * start on every call; callers drop consumed bytes so a buffer holds at most
 * one partial frame, which bounds the rescan by max_frame.
 *
 * Invariant: a returned frame lies entirely inside [buf, buf + len) and
 * msg_start + msg_len + 2 == consumed.
 *
 * Thread safety: no state; reentrant. */
#include "mllp.h"

#include <stdint.h>
#include <string.h>

#include "err.h"

int mllp_frame_find(const char *buf, size_t len, size_t max_frame,
                    size_t *msg_start, size_t *msg_len, size_t *consumed,
                    size_t *junk) {
  const char *sb;
  const char *eb;
  size_t start;
  size_t avail;
  size_t window;

  if (buf == NULL || len == 0) {
    *consumed = 0;
    if (junk != NULL)
      *junk = 0;
    return 0;
  }
  sb = memchr(buf, MLLP_SB, len);
  if (sb == NULL) {
    *consumed = len;
    if (junk != NULL)
      *junk = len;
    return 0;
  }
  start = (size_t)(sb - buf) + 1;
  avail = len - start;
  /* The end block may sit at most max_frame bytes after the start block. */
  window = avail;
  if (max_frame < SIZE_MAX && window > max_frame + 1)
    window = max_frame + 1;
  eb = memchr(buf + start, MLLP_EB, window);
  if (memchr(buf + start, MLLP_SB,
             eb != NULL ? (size_t)(eb - (buf + start)) : window) != NULL)
    return ERR_PARSE;
  if (eb == NULL) {
    if (avail > max_frame)
      return ERR_TOOBIG;
    *consumed = start - 1;
    if (junk != NULL)
      *junk = start - 1;
    return 0;
  }
  if ((size_t)(eb - (buf + start)) > max_frame)
    return ERR_TOOBIG;
  if ((size_t)(eb - buf) + 1 == len) {
    *consumed = start - 1;
    if (junk != NULL)
      *junk = start - 1;
    return 0;
  }
  if (eb[1] != MLLP_CR)
    return ERR_PARSE;
  *msg_start = start;
  *msg_len = (size_t)(eb - (buf + start));
  *consumed = (size_t)(eb - buf) + 2;
  if (junk != NULL)
    *junk = start - 1;
  return 1;
}

int mllp_wrap(struct buf *out, const char *msg, size_t len) {
  size_t orig;
  char sb = MLLP_SB;
  static const char trailer[2] = {MLLP_EB, MLLP_CR};
  int rc;
  if (out == NULL || (msg == NULL && len > 0))
    return ERR_INVAL;
  if (len > 0 &&
      (memchr(msg, MLLP_SB, len) != NULL || memchr(msg, MLLP_EB, len) != NULL))
    return ERR_INVAL;
  orig = out->len;
  rc = buf_append(out, &sb, 1);
  if (rc == 0 && len > 0)
    rc = buf_append(out, msg, len);
  if (rc == 0)
    rc = buf_append(out, trailer, sizeof trailer);
  if (rc < 0 && out->data != NULL) {
    out->len = orig;
    out->data[orig] = '\0';
  }
  return rc;
}
