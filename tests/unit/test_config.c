/* test_config.c -- unit tests for config.c.
 *
 * Defaults for every row, the INI file (values, sources, every error with
 * its file:line message, all-or-nothing loading), the environment, the
 * command line, precedence in every load order, bounds, the typed parsers,
 * cross-option validation, help and dump output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

static const char *const all_env[] = {
    "TK_SERVER_DATA_DIR",
    "TK_SERVER_LOG_LEVEL",
    "TK_MLLP_LISTEN",
    "TK_MLLP_MAX_FRAME",
    "TK_MLLP_IDLE_TIMEOUT",
    "TK_MLLP_MAX_CONNECTIONS",
    "TK_INGEST_GROUP_MAX",
    "TK_INGEST_GROUP_WAIT",
    "TK_HTTP_LISTEN",
    "TK_HTTP_THREADS",
    "TK_HTTP_MAX_BODY",
    "TK_HTTP_WEB_ROOT",
    "TK_HTTP_TLS_CERT",
    "TK_HTTP_TLS_KEY",
    "TK_BEDBOARD_OCCUPANCY_HIGH",
    "TK_BEDBOARD_OCCUPANCY_CRITICAL",
    "TK_T3_CAP_DAYS",
    "TK_T3_MEASURE_TIME",
};

static int clean_env(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(all_env); i++)
    unsetenv(all_env[i]);
  return 0;
}

/* Writes 'text' to a fresh temporary file; the caller unlinks 'path'. */
static void write_ini(char *path, const char *text) {
  int fd;
  strcpy(path, "/tmp/test_config_XXXXXX");
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static char *dump(const struct config *cfg) {
  struct buf b;
  buf_init(&b, 1 << 16);
  assert_int_equal(config_dump(cfg, &b), 0);
  return buf_detach(&b, NULL);
}

static void test_defaults(void **state) {
  struct config *cfg = config_new();
  char *d;
  (void)state;
  assert_string_equal(config_str(cfg, "server.data_dir"), "");
  assert_string_equal(config_str(cfg, "server.log_level"), "info");
  assert_string_equal(config_str(cfg, "mllp.listen"), "127.0.0.1:2575");
  assert_int_equal(config_int(cfg, "mllp.max_frame"), 1048576);
  assert_string_equal(config_str(cfg, "mllp.max_frame"), "1M");
  assert_int_equal(config_int(cfg, "mllp.idle_timeout"), 300000);
  assert_int_equal(config_int(cfg, "mllp.frame_timeout"), 30000);
  assert_int_equal(config_int(cfg, "mllp.max_connections"), 1024);
  assert_int_equal(config_int(cfg, "ingest.group_max"), 4096);
  assert_int_equal(config_int(cfg, "ingest.group_wait"), 0);
  assert_string_equal(config_str(cfg, "http.listen"), "127.0.0.1:8080");
  assert_int_equal(config_int(cfg, "http.threads"), 4);
  assert_int_equal(config_int(cfg, "http.max_body"), 8 * 1048576);
  assert_string_equal(config_str(cfg, "http.web_root"), "");
  assert_string_equal(config_str(cfg, "http.tls_cert"), "");
  assert_string_equal(config_str(cfg, "http.tls_key"), "");
  assert_int_equal(config_int(cfg, "bedboard.occupancy_high"), 85);
  assert_int_equal(config_int(cfg, "bedboard.occupancy_critical"), 95);
  assert_int_equal(config_int(cfg, "t3.cap_days"), 182);
  assert_int_equal(config_int(cfg, "t3.measure_time"), 8 * 60);
  assert_string_equal(config_str(cfg, "t3.measure_time"), "08:00");
  assert_true(config_has("mllp.max_frame"));
  assert_false(config_has("mllp.max"));
  assert_false(config_has("max_frame"));
  assert_int_equal(config_validate(cfg, NULL), 0);
  d = dump(cfg);
  assert_non_null(strstr(d, "server.data_dir =  (default)\n"));
  assert_non_null(strstr(d, "mllp.max_frame = 1M (default)\n"));
  assert_non_null(strstr(d, "t3.measure_time = 08:00 (default)\n"));
  {
    int lines = 0;
    for (const char *p = d; *p != '\0'; p++)
      lines += *p == '\n';
    assert_int_equal(lines, 19);
  }
  free(d);
  config_free(cfg);
  config_free(NULL);
}

static void test_file(void **state) {
  char path[64], want[128];
  struct config *cfg = config_new();
  struct error err;
  char *d;
  (void)state;
  write_ini(path, "; Tilannekuva\n"
                  "[server]\n"
                  "data_dir = /var/lib/tk\n"
                  "log_level = debug\n"
                  "\n"
                  "[mllp]\n"
                  "listen = [::1]:2576\n"
                  "max_frame = 64k ; inline comment\n"
                  "idle_timeout = 5m\n"
                  "# another comment\n"
                  "[t3]\n"
                  "measure_time = 07:30\n");
  assert_int_equal(config_load_file(cfg, path, &err), 0);
  assert_string_equal(config_str(cfg, "server.data_dir"), "/var/lib/tk");
  assert_string_equal(config_str(cfg, "server.log_level"), "debug");
  assert_string_equal(config_str(cfg, "mllp.listen"), "[::1]:2576");
  assert_int_equal(config_int(cfg, "mllp.max_frame"), 65536);
  assert_int_equal(config_int(cfg, "mllp.idle_timeout"), 300000);
  assert_int_equal(config_int(cfg, "t3.measure_time"), 7 * 60 + 30);
  assert_int_equal(config_int(cfg, "http.threads"), 4); /* untouched */
  d = dump(cfg);
  snprintf(want, sizeof want, "mllp.max_frame = 64k (file %s:8)\n", path);
  assert_non_null(strstr(d, want));
  snprintf(want, sizeof want, "server.data_dir = /var/lib/tk (file %s:3)\n",
           path);
  assert_non_null(strstr(d, want));
  assert_non_null(strstr(d, "http.threads = 4 (default)\n"));
  free(d);
  unlink(path);
  config_free(cfg);
}

static void test_file_errors(void **state) {
  static const struct {
    const char *text;
    const char *msg; /* after "PATH:" */
  } rows[] = {
      {"[mllp]\nmax_frame = 2M\nfoo = 1\n", "3: unknown option 'mllp.foo'"},
      {"[mllp]\nmax_frame = 512\n",
       "2: bad value for 'mllp.max_frame': '512' is below the minimum 1k"},
      {"[mllp]\nmax_frame = 65M\n",
       "2: bad value for 'mllp.max_frame': '65M' is above the maximum 64M"},
      {"[mllp]\nmax_frame = lots\n",
       "2: bad value for 'mllp.max_frame': 'lots' is not a size (e.g. 65536, "
       "64k, 1M, 2G)"},
      {"[http]\nthreads = 4\nthreads = 5\n",
       "3: option 'http.threads' given twice"},
      {"[http]\nthreads = 0\n",
       "2: bad value for 'http.threads': '0' is below the minimum 1"},
      {"[http]\nthreads = four\n",
       "2: bad value for 'http.threads': 'four' is not an integer"},
      {"[http]\nlisten = 8080\n",
       "2: bad value for 'http.listen': '8080' is not host:port (e.g. "
       "127.0.0.1:2575, [::1]:2575)"},
      {"[server]\nlog_level = verbose\n",
       "2: bad value for 'server.log_level': 'verbose' is not one of "
       "debug|info|warn|error"},
      {"[mllp]\nidle_timeout = 300\n",
       "2: bad value for 'mllp.idle_timeout': duration '300' needs a unit "
       "(ms, s, m, h, d)"},
      {"[t3]\nmeasure_time = 24:00\n",
       "2: bad value for 't3.measure_time': '24:00' is not a time of day "
       "HH:MM"},
      {"max_frame = 1M\n", "1: unknown option '.max_frame'"},
      {"[nosuch]\nkey = 1\n", "2: unknown option 'nosuch.key'"},
      {"[mllp]\n\nthis line has no equals sign\n", "3: syntax error"},
      {"[mllp\nmax_frame = 1M\n", "1: syntax error"},
  };
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    char path[64], want[512];
    struct config *cfg = config_new();
    struct error err;
    char *before = dump(cfg), *after;
    write_ini(path, rows[i].text);
    error_clear(&err);
    assert_int_equal(config_load_file(cfg, path, &err), ERR_CONFIG);
    assert_int_equal(err.code, ERR_CONFIG);
    snprintf(want, sizeof want, "%s:%s", path, rows[i].msg);
    if (strcmp(err.msg, want) != 0)
      fail_msg("row %zu: '%s', want '%s'", i, err.msg, want);
    /* all or nothing: the good lines before the bad one were not applied */
    after = dump(cfg);
    assert_string_equal(after, before);
    free(before);
    free(after);
    unlink(path);
    config_free(cfg);
  }
}

static void test_file_long_line_and_missing(void **state) {
  char path[64], text[400], want[128];
  struct config *cfg = config_new();
  struct error err;
  (void)state;
  snprintf(text, sizeof text, "[server]\ndata_dir = /%0250d\nlog_level = x\n",
           0);
  write_ini(path, text);
  assert_int_equal(config_load_file(cfg, path, &err), ERR_CONFIG);
  snprintf(want, sizeof want, "%s:2: line longer than 198 bytes", path);
  assert_string_equal(err.msg, want);
  assert_string_equal(config_str(cfg, "server.data_dir"), "");
  unlink(path);
  assert_int_equal(config_load_file(cfg, "/nonexistent/tk.ini", &err), ERR_IO);
  assert_string_equal(err.msg, "cannot open '/nonexistent/tk.ini'");
  config_free(cfg);
}

static void test_env(void **state) {
  struct config *cfg = config_new();
  struct error err;
  char *d;
  (void)state;
  setenv("TK_MLLP_MAX_FRAME", "2M", 1);
  setenv("TK_HTTP_THREADS", "16", 1);
  setenv("TK_HTTP_TLS_CERT", "/etc/tk/cert.pem", 1);
  setenv("TK_SHARED_IGNORED", "x", 1); /* not an option: ignored */
  assert_int_equal(config_load_env(cfg, &err), 0);
  assert_int_equal(config_int(cfg, "mllp.max_frame"), 2 * 1048576);
  assert_int_equal(config_int(cfg, "http.threads"), 16);
  assert_string_equal(config_str(cfg, "http.tls_cert"), "/etc/tk/cert.pem");
  d = dump(cfg);
  assert_non_null(strstr(d, "mllp.max_frame = 2M (env TK_MLLP_MAX_FRAME)\n"));
  free(d);
  /* a bad variable: error names it, nothing is applied */
  setenv("TK_HTTP_THREADS", "32", 1);
  setenv("TK_T3_CAP_DAYS", "0", 1);
  assert_int_equal(config_load_env(cfg, &err), ERR_CONFIG);
  assert_string_equal(err.msg, "bad value in TK_T3_CAP_DAYS for "
                               "'t3.cap_days': '0' is below the minimum 1");
  assert_int_equal(config_int(cfg, "http.threads"), 16);
  unsetenv("TK_SHARED_IGNORED");
  clean_env(NULL);
  config_free(cfg);
}

static void test_precedence(void **state) {
  char path[64];
  struct error err;
  struct config *cfg;
  (void)state;
  write_ini(path, "[http]\nthreads = 8\nmax_body = 16M\n"
                  "[ingest]\ngroup_max = 100\n");
  setenv("TK_HTTP_THREADS", "12", 1);
  setenv("TK_INGEST_GROUP_MAX", "200", 1);

  /* the documented order: file, environment, command line */
  cfg = config_new();
  assert_int_equal(config_load_file(cfg, path, &err), 0);
  assert_int_equal(config_int(cfg, "http.threads"), 8);
  assert_int_equal(config_load_env(cfg, &err), 0);
  assert_int_equal(config_int(cfg, "http.threads"), 12);
  assert_int_equal(config_set(cfg, "ingest.group_max", "300", &err), 0);
  assert_int_equal(config_int(cfg, "ingest.group_max"), 300);
  assert_int_equal(config_int(cfg, "http.max_body"), 16 * 1048576);
  config_free(cfg);

  /* reversed order: the stronger source still wins */
  cfg = config_new();
  assert_int_equal(config_set_arg(cfg, "--ingest.group_max=300", &err), 0);
  assert_int_equal(config_load_env(cfg, &err), 0);
  assert_int_equal(config_load_file(cfg, path, &err), 0);
  assert_int_equal(config_int(cfg, "ingest.group_max"), 300);
  assert_int_equal(config_int(cfg, "http.threads"), 12);
  assert_int_equal(config_int(cfg, "http.max_body"), 16 * 1048576);
  {
    char *d = dump(cfg);
    assert_non_null(strstr(d, "ingest.group_max = 300 (command line)\n"));
    assert_non_null(strstr(d, "http.threads = 12 (env TK_HTTP_THREADS)\n"));
    free(d);
  }
  /* a later command-line value replaces an earlier one */
  assert_int_equal(config_set(cfg, "ingest.group_max", "400", &err), 0);
  assert_int_equal(config_int(cfg, "ingest.group_max"), 400);
  config_free(cfg);
  clean_env(NULL);
  unlink(path);
}

static void test_set(void **state) {
  struct config *cfg = config_new();
  struct error err;
  (void)state;
  assert_int_equal(config_set(cfg, "nope.nope", "1", &err), ERR_CONFIG);
  assert_string_equal(err.msg, "unknown option 'nope.nope'");
  assert_int_equal(config_set(cfg, "http.threads", "257", &err), ERR_CONFIG);
  assert_string_equal(err.msg,
                      "bad value for 'http.threads': '257' is above the "
                      "maximum 256");
  assert_int_equal(config_int(cfg, "http.threads"), 4);
  assert_int_equal(config_set(cfg, "http.threads", "256", &err), 0);
  assert_int_equal(config_int(cfg, "http.threads"), 256);
  assert_int_equal(config_set(cfg, "ingest.group_wait", "2s", &err),
                   ERR_CONFIG);
  assert_string_equal(err.msg, "bad value for 'ingest.group_wait': '2s' is "
                               "above the maximum 1s");
  assert_int_equal(config_set(cfg, "ingest.group_wait", "0", &err), 0);
  assert_int_equal(config_int(cfg, "ingest.group_wait"), 0);
  assert_int_equal(config_set(cfg, "mllp.idle_timeout", "999ms", &err),
                   ERR_CONFIG);
  assert_string_equal(err.msg, "bad value for 'mllp.idle_timeout': '999ms' "
                               "is below the minimum 1s");
  assert_int_equal(config_set(cfg, "mllp.idle_timeout", "2h", &err), 0);
  assert_int_equal(config_int(cfg, "mllp.idle_timeout"), 7200000);
  assert_int_equal(config_set(cfg, "mllp.max_frame", "1k", &err), 0);
  assert_int_equal(config_set(cfg, "mllp.max_frame", "64MiB", &err), 0);
  assert_int_equal(config_int(cfg, "mllp.max_frame"), 64 * 1048576);
  assert_int_equal(config_set(cfg, "bedboard.occupancy_high", "101", &err),
                   ERR_CONFIG);
  assert_int_equal(config_set(cfg, "server.log_level", "warn", &err), 0);
  assert_string_equal(config_str(cfg, "server.log_level"), "warn");
  assert_int_equal(config_set(cfg, "server.log_level", "WARN", &err),
                   ERR_CONFIG);
  assert_int_equal(config_set(cfg, "t3.measure_time", "8:00", &err),
                   ERR_CONFIG);
  assert_int_equal(config_set(cfg, "t3.measure_time", "23:59", &err), 0);
  assert_int_equal(config_int(cfg, "t3.measure_time"), 23 * 60 + 59);
  {
    char big[CONFIG_VALUE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(config_set(cfg, "server.data_dir", big, &err), ERR_CONFIG);
    assert_string_equal(err.msg, "bad value for 'server.data_dir': value "
                                 "longer than 4096 bytes");
    big[CONFIG_VALUE_MAX] = '\0';
    assert_int_equal(config_set(cfg, "server.data_dir", big, &err), 0);
    assert_int_equal(strlen(config_str(cfg, "server.data_dir")), 4096);
  }
  /* --name=value */
  assert_int_equal(config_set_arg(cfg, "--http.listen=0.0.0.0:80", &err), 0);
  assert_string_equal(config_str(cfg, "http.listen"), "0.0.0.0:80");
  assert_int_equal(config_set_arg(cfg, "--server.data_dir=", &err), 0);
  assert_string_equal(config_str(cfg, "server.data_dir"), "");
  assert_int_equal(config_set_arg(cfg, "--http.tls_key=a=b", &err), 0);
  assert_string_equal(config_str(cfg, "http.tls_key"), "a=b");
  assert_int_equal(config_set_arg(cfg, "http.threads=8", &err), ERR_CONFIG);
  assert_string_equal(err.msg, "malformed option 'http.threads=8', expected "
                               "--section.key=value");
  assert_int_equal(config_set_arg(cfg, "--http.threads", &err), ERR_CONFIG);
  assert_int_equal(config_set_arg(cfg, "--=8", &err), ERR_CONFIG);
  assert_int_equal(config_set_arg(cfg, "--http.nope=8", &err), ERR_CONFIG);
  assert_string_equal(err.msg, "unknown option 'http.nope'");
  config_free(cfg);
}

static void test_validate(void **state) {
  struct config *cfg = config_new();
  struct error err;
  (void)state;
  assert_int_equal(config_set(cfg, "bedboard.occupancy_high", "96", &err), 0);
  assert_int_equal(config_validate(cfg, &err), ERR_CONFIG);
  assert_string_equal(err.msg, "bedboard.occupancy_high (96) is above "
                               "bedboard.occupancy_critical (95)");
  assert_int_equal(config_set(cfg, "bedboard.occupancy_critical", "96", &err),
                   0);
  assert_int_equal(config_validate(cfg, &err), 0);
  assert_int_equal(config_set(cfg, "http.tls_cert", "/c.pem", &err), 0);
  assert_int_equal(config_validate(cfg, &err), ERR_CONFIG);
  assert_string_equal(err.msg,
                      "http.tls_cert and http.tls_key must be set together");
  assert_int_equal(config_set(cfg, "http.tls_key", "/k.pem", &err), 0);
  assert_int_equal(config_validate(cfg, &err), 0);
  config_free(cfg);
}

static void test_parsers(void **state) {
  static const struct {
    const char *s;
    long long v;
  } sizes[] = {{"0", 0},         {"1", 1},
               {"65536", 65536}, {"64k", 65536},
               {"64K", 65536},   {"64KB", 65536},
               {"64KiB", 65536}, {"1M", 1048576},
               {"1m", 1048576},  {"2G", 2147483648LL},
               {"8MiB", 8388608}},
    durs[] = {{"0", 0},       {"250ms", 250},  {"300s", 300000},
              {"5m", 300000}, {"2h", 7200000}, {"1d", 86400000},
              {"0s", 0},      {"1000ms", 1000}};
  static const char *const bad_sizes[] = {"",
                                          "k",
                                          "1x",
                                          "1.5M",
                                          "-1",
                                          "1 M",
                                          "1MB ",
                                          "1Mi",
                                          "1kk",
                                          "99999999999999999999",
                                          "9223372036854775807G"};
  static const char *const bad_durs[] = {"",     "5",  "1.5s",
                                         "-1s",  "ms", "5 s",
                                         "5sec", "1w", "9223372036854775807d"};
  static const char *const trues[] = {"true", "TRUE", "yes", "On", "1"};
  static const char *const falses[] = {"false", "No", "off", "0"};
  static const char *const bad_bools[] = {"", "2", "y", "truee", "enable"};
  static const struct {
    const char *s, *host;
    int port;
  } hps[] = {{"127.0.0.1:2575", "127.0.0.1", 2575},
             {"[::1]:2575", "::1", 2575},
             {"[fe80::1:2]:0", "fe80::1:2", 0},
             {"localhost:8080", "localhost", 8080},
             {"tk-1.example.fi:65535", "tk-1.example.fi", 65535},
             {"0.0.0.0:80", "0.0.0.0", 80}};
  static const char *const bad_hps[] = {
      "",          "8080",        ":8080",     "host:",    "host:65536",
      "host:-1",   "host:80x",    "[::1]2575", "::1:2575", "[::g]:1",
      "[]:1",      "256.0.0.1:1", "1.2.3:80",  "-host:1",  "ho st:1",
      "host..x:1", "host:0080000"};
  struct error err;
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    long long v = -7;
    if (config_parse_size(sizes[i].s, &v, &err) != 0)
      fail_msg("size '%s': %s", sizes[i].s, err.msg);
    assert_int_equal(v, sizes[i].v);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad_sizes); i++) {
    long long v = -7;
    if (config_parse_size(bad_sizes[i], &v, &err) != ERR_PARSE)
      fail_msg("size '%s' accepted", bad_sizes[i]);
    assert_int_equal(v, -7);
  }
  for (size_t i = 0; i < ARRAY_LEN(durs); i++) {
    long long v = -7;
    if (config_parse_duration(durs[i].s, &v, &err) != 0)
      fail_msg("duration '%s': %s", durs[i].s, err.msg);
    assert_int_equal(v, durs[i].v);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad_durs); i++) {
    long long v = -7;
    if (config_parse_duration(bad_durs[i], &v, &err) != ERR_PARSE)
      fail_msg("duration '%s' accepted", bad_durs[i]);
    assert_int_equal(v, -7);
  }
  for (size_t i = 0; i < ARRAY_LEN(trues); i++) {
    bool b = false;
    assert_int_equal(config_parse_bool(trues[i], &b, &err), 0);
    assert_true(b);
  }
  for (size_t i = 0; i < ARRAY_LEN(falses); i++) {
    bool b = true;
    assert_int_equal(config_parse_bool(falses[i], &b, &err), 0);
    assert_false(b);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad_bools); i++) {
    bool b = true;
    assert_int_equal(config_parse_bool(bad_bools[i], &b, &err), ERR_PARSE);
    assert_true(b);
  }
  assert_int_equal(config_parse_bool("maybe", &(bool){false}, &err), ERR_PARSE);
  assert_string_equal(
      err.msg, "'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
  for (size_t i = 0; i < ARRAY_LEN(hps); i++) {
    char host[CONFIG_HOST_MAX];
    int port = -1;
    if (config_split_hostport(hps[i].s, host, sizeof host, &port, &err) != 0)
      fail_msg("hostport '%s': %s", hps[i].s, err.msg);
    assert_string_equal(host, hps[i].host);
    assert_int_equal(port, hps[i].port);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad_hps); i++) {
    char host[CONFIG_HOST_MAX] = "unchanged";
    int port = -1;
    if (config_split_hostport(bad_hps[i], host, sizeof host, &port, &err) !=
        ERR_PARSE)
      fail_msg("hostport '%s' accepted", bad_hps[i]);
    assert_string_equal(host, "unchanged");
    assert_int_equal(port, -1);
  }
  {
    char small[4];
    int port;
    assert_int_equal(
        config_split_hostport("localhost:1", small, sizeof small, &port, &err),
        ERR_PARSE);
  }
}

static void test_help(void **state) {
  struct buf b;
  const char *h;
  static const char *const names[] = {"server.data_dir",
                                      "server.log_level",
                                      "mllp.listen",
                                      "mllp.max_frame",
                                      "mllp.idle_timeout",
                                      "mllp.frame_timeout",
                                      "mllp.max_connections",
                                      "ingest.group_max",
                                      "ingest.group_wait",
                                      "http.listen",
                                      "http.threads",
                                      "http.max_body",
                                      "http.web_root",
                                      "http.tls_cert",
                                      "http.tls_key",
                                      "bedboard.occupancy_high",
                                      "bedboard.occupancy_critical",
                                      "t3.cap_days",
                                      "t3.measure_time"};
  (void)state;
  buf_init(&b, 1 << 16);
  assert_int_equal(config_help(&b), 0);
  h = buf_str(&b);
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    char want[64];
    snprintf(want, sizeof want, "  --%s=", names[i]);
    if (strstr(h, want) == NULL)
      fail_msg("help lacks %s", names[i]);
    assert_int_equal(config_has(names[i]), true);
  }
  assert_non_null(strstr(
      h, "  --mllp.max_frame=SIZE\n      largest MLLP frame (one HL7 message) "
         "accepted\n      default \"1M\", range 1k..64M, environment "
         "TK_MLLP_MAX_FRAME\n"));
  assert_non_null(strstr(h, "--server.log_level=debug|info|warn|error\n"));
  assert_non_null(strstr(h, "range 0ms..1s, environment TK_INGEST_GROUP_WAIT"));
  assert_non_null(strstr(h, "--t3.measure_time=HH:MM\n"));
  buf_release(&b);
  buf_init(&b, 100);
  assert_int_equal(config_help(&b), ERR_TOOBIG);
  buf_release(&b);
  {
    struct config *cfg = config_new();
    buf_init(&b, 100);
    assert_int_equal(config_dump(cfg, &b), ERR_TOOBIG);
    buf_release(&b);
    config_free(cfg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_file),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_file_long_line_and_missing),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_set),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_parsers),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, clean_env, NULL);
}
