/* compat.h -- compiler attributes and small portability helpers.
 *
 * Every attribute the code uses goes through a macro here, so the rest of the
 * tree stays plain C11. Nothing here has state. */
#ifndef TK_COMPAT_H
#define TK_COMPAT_H

#if defined(__GNUC__) || defined(__clang__)
#define NODISCARD __attribute__((warn_unused_result))
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NODISCARD
#define PRINTF_LIKE(fmt, args)
#define NORETURN
#define UNUSED
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Defensive checks for conditions believed impossible (SQLite's ALWAYS and
 * NEVER): in debug builds they assert, in release builds they are evaluated
 * and the caller handles the "impossible" case anyway. */
#ifdef NDEBUG
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#else
#include <assert.h>
#define ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define NEVER(x) ((x) ? (assert(0), 1) : 0)
#endif

#endif
