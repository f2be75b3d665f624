/* log.c -- one line per event: "2026-11-23T15:20:01.123Z INFO mllp: ...".
 *
 * Each line is formatted into a stack buffer and written with a single
 * write(2), so lines from different threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

int log_threshold = LOG_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level) { log_threshold = (int)level; }

void log_set_fd(int fd) { log_fd = fd; }

int log_parse_level(const char *s, enum log_level *out) {
  static const char *const lower[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, lower[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  }
  return ERR_INVAL;
}

void log_write(enum log_level level, const char *subsys, const char *fmt, ...) {
  char line[1024];
  struct timespec ts;
  struct tm tm;
  size_t n;
  int k;
  va_list ap;
  ssize_t w;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
  k = snprintf(line + n, sizeof line - n,
               ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
               level_names[(unsigned)level < 4 ? (unsigned)level : 3], subsys);
  if (k > 0)
    n += (size_t)k;
  if (n < sizeof line - 2) {
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k > 0)
      n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
  }
  /* No control characters from a message may forge a second line. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)line[i] < 0x20)
      line[i] = ' ';
  line[n++] = '\n';
  w = write(log_fd, line, n);
  (void)w;
}
