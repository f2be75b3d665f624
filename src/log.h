/* log.h -- the logger: one line per event, UTC timestamp, level, subsystem.
 *
 * Only the service layer and main log (DESIGN.md). Never pass a personal
 * identity code, a name or a payload to the logger. The level check happens
 * in the macro before any formatting. The logger is the one piece of global
 * mutable state besides the signal flag; log_write is thread-safe (one
 * write(2) per line). */
#ifndef TK_LOG_H
#define TK_LOG_H

#include "compat.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

extern int log_threshold;

/* Sets the threshold; messages below it are dropped. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error"; 0 or ERR_INVAL. */
NODISCARD int log_parse_level(const char *s, enum log_level *out);

/* Sends log lines to file descriptor 'fd' (default 2). */
void log_set_fd(int fd);

void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

#define LOG_AT(level, subsys, ...)                                             \
  do {                                                                         \
    if ((int)(level) >= log_threshold)                                         \
      log_write((level), (subsys), __VA_ARGS__);                               \
  } while (0)
#define log_debug(subsys, ...) LOG_AT(LOG_DEBUG, subsys, __VA_ARGS__)
#define log_info(subsys, ...) LOG_AT(LOG_INFO, subsys, __VA_ARGS__)
#define log_warn(subsys, ...) LOG_AT(LOG_WARN, subsys, __VA_ARGS__)
#define log_error(subsys, ...) LOG_AT(LOG_ERROR, subsys, __VA_ARGS__)

#endif
