/* err.h -- the project's error codes and the error detail struct.
 *
 * Every fallible function returns 0 or a negative ERR_* code from one
 * X-macro table, which also yields the code's name and message. Human detail
 * (which field, which byte) goes into an optional caller-owned struct error
 * with a fixed buffer, so the error path never allocates. errno never
 * crosses a module boundary: modules translate it to a code here.
 *
 * Thread safety: everything here is reentrant. */
#ifndef TK_ERR_H
#define TK_ERR_H

#include <stddef.h>

#include "compat.h"

/* X(name, message) */
#define ERR_TABLE(X)                                                           \
  X(ERR_OK, "ok")                                                              \
  X(ERR_NOMEM, "out of memory")                                                \
  X(ERR_INVAL, "invalid argument")                                             \
  X(ERR_PARSE, "malformed input")                                              \
  X(ERR_TOOBIG, "input exceeds a size cap")                                    \
  X(ERR_RANGE, "value out of range")                                           \
  X(ERR_NOTFOUND, "not found")                                                 \
  X(ERR_EXISTS, "already exists")                                              \
  X(ERR_IO, "input/output error")                                              \
  X(ERR_STORE, "storage error")                                                \
  X(ERR_CRYPTO, "cryptographic operation failed")                              \
  X(ERR_UNSUPPORTED, "not supported")                                          \
  X(ERR_MAPPING, "cannot map message to the organisation")                     \
  X(ERR_DENIED, "permission denied")                                           \
  X(ERR_AGAIN, "try again")                                                    \
  X(ERR_CLOSED, "closed")                                                      \
  X(ERR_CONFIG, "configuration error")                                         \
  X(ERR_STATE, "operation not valid in the current state")

enum err_code {
#define ERR_ENUM(name, msg) name##_INDEX,
  ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
      ERR__COUNT
};

/* The codes themselves are negative: ERR_NOMEM == -1, and so on. They are
 * enum constants so they work as case labels. */
enum err_value {
#define ERR_DEFINE(name, msg) name = -(int)name##_INDEX,
  ERR_TABLE(ERR_DEFINE)
#undef ERR_DEFINE
};

#define ERROR_MSG_MAX 256

/* Caller-owned error detail. 'code' is the ERR_* code; 'msg' a lowercase
 * human sentence naming what failed, e.g. "PID-3: no identifier". */
struct error {
  int code;
  char msg[ERROR_MSG_MAX];
};

/* The constant message for 'code' ("out of memory"); "unknown error" for a
 * code outside the table. Never NULL. */
const char *err_str(int code);

/* The code's symbolic name ("ERR_NOMEM"); never NULL. */
const char *err_name(int code);

/* When 'err' is not NULL, sets its code and formats its message; returns
 * 'code' so callers can write `return error_set(err, ERR_PARSE, ...);`. */
int error_set(struct error *err, int code, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Resets 'err' (may be NULL) to ERR_OK and an empty message. */
void error_clear(struct error *err);

#endif
