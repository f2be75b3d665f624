/* mem.h -- allocation that aborts on out-of-memory.
 *
 * Tilannekuva is a program, not a library: running out of memory is not a
 * condition it can recover from meaningfully, so these never return NULL
 * (for a non-zero size). Sizes that come from input must be checked against
 * a named cap by the caller before they get here. Thread-safe. */
#ifndef TK_MEM_H
#define TK_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
/* Copies 'n' bytes of 's' and a terminating NUL. */
char *mem_strndup(const char *s, size_t n);
/* Accepts NULL. */
void mem_free(void *p);

#endif
