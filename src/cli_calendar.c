/* cli_calendar.c -- `tilannekuva calendar deadline|holidays`.
 *
 * Design: argument parsing (getopt_long) and printing only; every rule is in
 * calendar.c. Numbers and dates are parsed strictly (no trailing bytes, no
 * silent wrap-around) and checked against named limits. Exit codes: 0 ok,
 * 1 failure (output error), 2 usage.
 *
 * Thread safety: uses getopt's global state; call from main only. */
#include "cli_calendar.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "chrono.h"

#define PROG "tilannekuva calendar"
#define MAX_WORKDAYS 100000
#define MAX_MONTHS 12000
#define MIN_YEAR 1583 /* the first full Gregorian year */
#define MAX_YEAR 9999

static const char usage_text[] =
    "usage: tilannekuva calendar deadline --from YYYY-MM-DD --workdays N "
    "[--extend]\n"
    "       tilannekuva calendar deadline --from YYYY-MM-DD --months N "
    "[--extend]\n"
    "       tilannekuva calendar holidays YEAR\n"
    "\n"
    "Finnish deadlines (määräaikalaki 150/1930) and public holidays.\n"
    "\n"
    "deadline   prints one date, YYYY-MM-DD:\n"
    "  --from DATE     the day the matter became pending (never counted)\n"
    "  --workdays N    the N-th arkipäivä after DATE; Saturdays, Sundays,\n"
    "                  public holidays, Christmas Eve and Midsummer Eve are\n"
    "                  not arkipäivä (2 §, 5 §)\n"
    "  --months N      the same date N months later, clamped to the end of\n"
    "                  the month (3 §)\n"
    "  --extend        a result that is not an arkipäivä moves to the next\n"
    "                  arkipäivä (5 §)\n"
    "holidays   prints YEAR's holidays, one per line:\n"
    "           YYYY-MM-DD<TAB>Finnish<TAB>Swedish<TAB>English\n"
    "\n"
    "  -h, --help      show this help\n";

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, PROG ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'tilannekuva calendar --help'.\n");
  return 2;
}

static int help(void) {
  fputs(usage_text, stdout);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* Strict decimal in [lo, hi]. */
static bool parse_num(const char *s, long lo, long hi, long *out) {
  char *end;
  long v;
  if (*s == '\0' || *s == ' ' || *s == '+')
    return false;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

static int finish(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, PROG ": cannot write the output\n");
    return 1;
  }
  return 0;
}

static int deadline(int argc, char **argv) {
  static const struct option longopts[] = {
      {"from", required_argument, NULL, 'f'},
      {"workdays", required_argument, NULL, 'w'},
      {"months", required_argument, NULL, 'm'},
      {"extend", no_argument, NULL, 'e'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *from = NULL, *workdays = NULL, *months = NULL;
  bool extend = false;
  int32_t day, result;
  long n;
  int c;
  char out[11];

  optind = 0; /* glibc: full re-initialisation */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      from = optarg;
      break;
    case 'w':
      workdays = optarg;
      break;
    case 'm':
      months = optarg;
      break;
    case 'e':
      extend = true;
      break;
    case 'h':
      return help();
    default:
      return usage_error("bad option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  if (from == NULL)
    return usage_error("--from is required");
  if ((workdays == NULL) == (months == NULL))
    return usage_error("give exactly one of --workdays and --months");
  if (chrono_parse_date(from, strlen(from), &day) != 0)
    return usage_error("bad date '%s', expected YYYY-MM-DD", from);
  if (workdays != NULL) {
    if (!parse_num(workdays, 0, MAX_WORKDAYS, &n))
      return usage_error("bad --workdays '%s', expected 0..100000", workdays);
    result = calendar_add_workdays(day, (int)n);
  } else {
    if (!parse_num(months, 0, MAX_MONTHS, &n))
      return usage_error("bad --months '%s', expected 0..12000", months);
    result = calendar_add_months(day, (int)n);
  }
  if (extend)
    result = calendar_extend(result);
  chrono_format_date(result, out);
  printf("%s\n", out);
  return finish();
}

static int holidays(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  struct calendar_holiday h[CALENDAR_HOLIDAYS_PER_YEAR];
  size_t count;
  long year;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h')
      return help();
    return usage_error("bad option '%s'", argv[optind - 1]);
  }
  if (optind >= argc)
    return usage_error("YEAR is required");
  if (optind + 1 < argc)
    return usage_error("unexpected argument '%s'", argv[optind + 1]);
  if (!parse_num(argv[optind], MIN_YEAR, MAX_YEAR, &year))
    return usage_error("bad year '%s', expected 1583..9999", argv[optind]);
  count = calendar_holidays((int)year, h, ARRAY_LEN(h));
  for (size_t i = 0; i < count && i < ARRAY_LEN(h); i++) {
    char d[11];
    chrono_format_date(h[i].day, d);
    printf("%s\t%s\t%s\t%s\n", d, h[i].fi, h[i].sv, h[i].en);
  }
  return finish();
}

int cli_calendar_main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("a subcommand is required (deadline, holidays)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0)
    return help();
  if (strcmp(argv[1], "deadline") == 0)
    return deadline(argc - 1, argv + 1);
  if (strcmp(argv[1], "holidays") == 0)
    return holidays(argc - 1, argv + 1);
  return usage_error("unknown subcommand '%s'", argv[1]);
}
