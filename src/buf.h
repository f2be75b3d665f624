/* buf.h -- a growable byte buffer with a size cap (curl's dynbuf, git's
 * strbuf).
 *
 * Invariants: data is always NUL-terminated past 'len' once anything was
 * added (so text can be used as a C string); len <= cap; growth never
 * exceeds 'cap', and an append that would is refused with ERR_TOOBIG and
 * leaves the buffer unchanged. A buf is a value the caller embeds; it is not
 * thread-safe. Lifecycle: buf_init, then buf_release (frees, reusable) or
 * buf_detach (ownership of the bytes leaves). */
#ifndef TK_BUF_H
#define TK_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "compat.h"

struct buf {
  char *data; /* NULL until the first append */
  size_t len; /* bytes in use, excluding the NUL */
  size_t alloc;
  size_t cap; /* the most 'len' may ever be */
};

/* Initialises an empty buffer that may hold at most 'cap' bytes. */
void buf_init(struct buf *b, size_t cap);

/* Frees the memory; the buffer is empty and reusable with the same cap. */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);

/* Returns the bytes (NUL-terminated, never NULL: "" when empty) and leaves
 * the buffer empty; the caller frees with mem_free. *len_out gets the
 * length when not NULL. */
char *buf_detach(struct buf *b, size_t *len_out);

/* Appends; 0 or ERR_TOOBIG (the buffer is unchanged). */
NODISCARD int buf_append(struct buf *b, const void *data, size_t len);
NODISCARD int buf_putc(struct buf *b, char c);
NODISCARD int buf_puts(struct buf *b, const char *s);
NODISCARD int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
NODISCARD int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* The content as a C string; "" when empty. */
const char *buf_str(const struct buf *b);

#endif
