/* err.c -- error code table and detail formatting.
 *
 * The message strings live in one table generated from ERR_TABLE, so a code
 * and its text cannot drift apart. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[] = {
#define ERR_MSG(name, msg) msg,
    ERR_TABLE(ERR_MSG)
#undef ERR_MSG
};

static const char *const names[] = {
#define ERR_NAME(name, msg) #name,
    ERR_TABLE(ERR_NAME)
#undef ERR_NAME
};

const char *err_str(int code) {
  int i = -code;
  if (i < 0 || i >= (int)ERR__COUNT)
    return "unknown error";
  return messages[i];
}

const char *err_name(int code) {
  int i = -code;
  if (i < 0 || i >= (int)ERR__COUNT)
    return "ERR_UNKNOWN";
  return names[i];
}

int error_set(struct error *err, int code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void error_clear(struct error *err) {
  if (err != NULL) {
    err->code = 0;
    err->msg[0] = '\0';
  }
}
