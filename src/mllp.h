/* mllp.h -- MLLP framing: 0x0B <message> 0x1C 0x0D.
 *
 * Pure functions over a caller's byte buffer: mllp_frame_find locates the
 * next complete frame (the caller keeps reading into the buffer until one is
 * there, then drops 'consumed' bytes); mllp_wrap frames an outgoing message.
 * No I/O, no allocation (mllp_wrap appends to the caller's struct buf), no
 * state; thread-safe.
 *
 * Junk: bytes before a start block (0x0B) are not part of any frame. They are
 * skipped, counted in 'consumed' (so the caller drops them) and reported in
 * '*junk' so the caller can log or limit them. */
#ifndef TK_MLLP_H
#define TK_MLLP_H

#include <stddef.h>

#include "buf.h"
#include "compat.h"

#define MLLP_SB 0x0B /* start block */
#define MLLP_EB 0x1C /* end block */
#define MLLP_CR 0x0D /* follows the end block */

/* Looks for one frame at the start of 'buf' ('len' bytes), after any junk.
 * Returns
 *   1  a frame is complete: the message is 'msg_len' bytes at buf +
 *      'msg_start'; 'consumed' bytes (junk, start block, message, 0x1C 0x0D)
 *      are to be dropped;
 *   0  more bytes are needed: 'consumed' is the number of junk bytes that
 *      may be dropped now (all of 'len' when there is no 0x0B; then the
 *      partial frame starts the buffer); msg_start/msg_len untouched;
 *   ERR_TOOBIG  the message exceeds 'max_frame' bytes (whether or not its
 *      trailer has arrived);
 *   ERR_PARSE   0x1C not followed by 0x0D, or a 0x0B inside the frame.
 * '*junk' (may be NULL) gets the number of bytes skipped before the 0x0B
 * (included in 'consumed'). On an error no out-parameter is touched: the
 * stream cannot be resynchronised reliably, so close the connection.
 * 'consumed', 'msg_start' and 'msg_len' must not be NULL. */
NODISCARD int mllp_frame_find(const char *buf, size_t len, size_t max_frame,
                              size_t *msg_start, size_t *msg_len,
                              size_t *consumed, size_t *junk);

/* Appends 0x0B, the 'len' bytes of 'msg', 0x1C, 0x0D to 'out'. Returns 0;
 * ERR_INVAL when 'msg' contains 0x0B or 0x1C (the frame would be ambiguous);
 * ERR_TOOBIG when the buffer's cap is reached. On failure 'out' is
 * unchanged. */
NODISCARD int mllp_wrap(struct buf *out, const char *msg, size_t len);

#endif
