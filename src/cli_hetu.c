/* cli_hetu.c -- `tilannekuva hetu check CODE...`.
 *
 * Design: argument parsing (getopt_long) and printing only; the rules are in
 * hetu.c. The codes the user typed are echoed to stdout beside their
 * verdicts and go nowhere else (no logging). Exit codes: 0 every code valid
 * or temporary, 1 any invalid (or an output error), 2 usage.
 *
 * Thread safety: uses getopt's global state; call from main only. */
#include "cli_hetu.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chrono.h"
#include "hetu.h"

#define PROG "tilannekuva hetu"

static const char usage_text[] =
    "usage: tilannekuva hetu check [--today YYYY-MM-DD] CODE...\n"
    "\n"
    "Checks Finnish personal identity codes (henkilötunnus, DDMMYYCZZZQ) and\n"
    "prints one line per code:\n"
    "  CODE: valid\n"
    "  CODE: temporary           (individual number 900-999)\n"
    "  CODE: invalid (reason)\n"
    "Exits 0 when every code is valid or temporary, 1 otherwise.\n"
    "\n"
    "  --today DATE    the latest possible birth date (default: today in\n"
    "                  Europe/Helsinki)\n"
    "  -h, --help      show this help\n";

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, PROG ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'tilannekuva hetu --help'.\n");
  return 2;
}

static int help(void) {
  fputs(usage_text, stdout);
  return fflush(stdout) == 0 ? 0 : 1;
}

static int check(int argc, char **argv) {
  static const struct option longopts[] = {
      {"today", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int32_t today = 0;
  bool have_today = false;
  int c, rc = 0;

  optind = 0; /* glibc: full re-initialisation */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (chrono_parse_date(optarg, strlen(optarg), &today) != 0)
        return usage_error("bad date '%s', expected YYYY-MM-DD", optarg);
      have_today = true;
      break;
    case 'h':
      return help();
    default:
      return usage_error("bad option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error("at least one CODE is required");
  if (!have_today)
    today = chrono_today();
  for (int i = optind; i < argc; i++) {
    struct hetu_info info;
    struct error err;
    error_clear(&err);
    if (hetu_check(argv[i], strlen(argv[i]), today, &info, &err) != 0) {
      printf("%s: invalid (%s)\n", argv[i], err.msg);
      rc = 1;
    } else {
      printf("%s: %s\n", argv[i], info.temporary ? "temporary" : "valid");
    }
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, PROG ": cannot write the output\n");
    return 1;
  }
  return rc;
}

int cli_hetu_main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("a subcommand is required (check)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0)
    return help();
  if (strcmp(argv[1], "check") == 0)
    return check(argc - 1, argv + 1);
  return usage_error("unknown subcommand '%s'", argv[1]);
}
