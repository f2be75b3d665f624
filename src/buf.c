/* buf.c -- a growable byte buffer with a size cap. */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mem.h"

void buf_init(struct buf *b, size_t cap) {
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  b->cap = cap;
}

void buf_release(struct buf *b) {
  mem_free(b->data);
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
}

void buf_reset(struct buf *b) {
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len_out) {
  char *p = b->data;
  if (len_out != NULL)
    *len_out = b->len;
  if (p == NULL)
    p = mem_strdup("");
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  return p;
}

/* Makes room for 'extra' more bytes plus the NUL. */
static int grow(struct buf *b, size_t extra) {
  size_t need;
  if (extra > b->cap || b->len > b->cap - extra)
    return ERR_TOOBIG;
  need = b->len + extra + 1;
  if (need > b->alloc) {
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
      n = n * 2;
    if (n > b->cap + 1)
      n = b->cap + 1;
    b->data = mem_realloc(b->data, n);
    b->alloc = n;
  }
  return 0;
}

int buf_append(struct buf *b, const void *data, size_t len) {
  int rc = grow(b, len);
  if (rc < 0)
    return rc;
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int buf_putc(struct buf *b, char c) { return buf_append(b, &c, 1); }

int buf_puts(struct buf *b, const char *s) {
  return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap) {
  va_list cp;
  int n;
  int rc;
  va_copy(cp, ap);
  n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0)
    return ERR_INVAL;
  rc = grow(b, (size_t)n);
  if (rc < 0)
    return rc;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...) {
  va_list ap;
  int rc;
  va_start(ap, fmt);
  rc = buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

const char *buf_str(const struct buf *b) {
  return b->data != NULL ? b->data : "";
}
