/* config.c -- the configuration table and its sources.
 *
 * Design: 'options' below is the single description of every option: name,
 * type, default text, bounds or choices, help. Parsing, bounds checks,
 * defaults, environment names, help and the dump are all driven from it;
 * one new option = one row here + one line in the operator docs.
 *
 * A struct config holds one value per row: the text as given, the parsed
 * number (int, size in bytes, duration in ms, clock in minutes) or flag, the
 * source and where it came from. Loading a file or the environment first
 * validates every assignment into a pending list and applies them only when
 * all are good, so a failed load leaves the config unchanged.
 *
 * Invariants: every value's text parses under its row's type and bounds;
 * value.src never decreases (a weaker source never replaces a stronger).
 *
 * Thread safety: a struct config is not synchronised (see config.h); the
 * table is constant. */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#define KIB 1024LL
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)
#define SEC 1000LL
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

enum type {
  T_STRING,
  T_INT,
  T_BOOL,
  T_SIZE,
  T_DURATION,
  T_HOSTPORT,
  T_ENUM,
  T_CLOCK
};

enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_CLI };

struct option {
  const char *name;
  enum type type;
  const char *def;
  long long min, max;  /* int, size, duration */
  const char *choices; /* enum: "a|b|c" */
  const char *help;
};

/* clang-format off */
static const struct option options[] = {
  {"server.data_dir", T_STRING, "", 0, 0, NULL,
   "data directory: database, key file, dead letters"},
  {"server.log_level", T_ENUM, "info", 0, 0, "debug|info|warn|error",
   "lowest level written to the log"},
  {"mllp.listen", T_HOSTPORT, "127.0.0.1:2575", 0, 0, NULL,
   "address and port of the MLLP listener"},
  {"mllp.max_frame", T_SIZE, "1M", 1 * KIB, 64 * MIB, NULL,
   "largest MLLP frame (one HL7 message) accepted"},
  {"mllp.idle_timeout", T_DURATION, "300s", 1 * SEC, 1 * DAY, NULL,
   "close an MLLP connection idle this long"},
  {"mllp.frame_timeout", T_DURATION, "30s", 100, 1 * DAY, NULL,
   "close an MLLP connection whose frame takes longer than this to arrive"},
  {"mllp.max_connections", T_INT, "1024", 1, 65536, NULL,
   "most MLLP connections open at once"},
  {"ingest.group_max", T_INT, "4096", 1, 1000000, NULL,
   "most messages committed in one group"},
  {"ingest.group_wait", T_DURATION, "0ms", 0, 1 * SEC, NULL,
   "longest wait to fill a commit group"},
  {"http.listen", T_HOSTPORT, "127.0.0.1:8080", 0, 0, NULL,
   "address and port of the HTTP server"},
  {"http.threads", T_INT, "4", 1, 256, NULL,
   "HTTP worker threads"},
  {"http.max_body", T_SIZE, "8M", 1 * KIB, 1 * GIB, NULL,
   "largest HTTP request body accepted"},
  {"http.web_root", T_STRING, "", 0, 0, NULL,
   "directory of the web UI (empty: web/ beside the binary's source)"},
  {"http.tls_cert", T_STRING, "", 0, 0, NULL,
   "PEM certificate file for HTTPS (empty: plain HTTP)"},
  {"http.tls_key", T_STRING, "", 0, 0, NULL,
   "PEM private key file for http.tls_cert"},
  {"bedboard.occupancy_high", T_INT, "85", 0, 100, NULL,
   "bed occupancy percentage shown as high"},
  {"bedboard.occupancy_critical", T_INT, "95", 0, 100, NULL,
   "bed occupancy percentage shown as critical"},
  {"t3.cap_days", T_INT, "182", 1, 3650, NULL,
   "T3 (third next available appointment) is capped at this many days"},
  {"t3.measure_time", T_CLOCK, "08:00", 0, 0, NULL,
   "Europe/Helsinki time of day at which T3 is measured"},
};
/* clang-format on */

#define NOPT (sizeof options / sizeof options[0])

struct value {
  char *text; /* as given; owned */
  long long num;
  bool flag;
  enum source src;
  char *origin; /* "path:line" or "TK_..."; owned; NULL otherwise */
};

struct config {
  struct value v[NOPT];
};

/* A validated assignment waiting to be applied. */
struct pending {
  bool set;
  char *text;
  long long num;
  bool flag;
  char *origin;
};

/* ---- typed parsers ------------------------------------------------------ */

/* Decimal digits into *out with overflow check; *end past them. */
static bool digits(const char *s, const char **end, long long *out) {
  long long v = 0;
  const char *p = s;
  if (*p < '0' || *p > '9')
    return false;
  while (*p >= '0' && *p <= '9') {
    if (v > (LLONG_MAX - (*p - '0')) / 10)
      return false;
    v = v * 10 + (*p - '0');
    p++;
  }
  *end = p;
  *out = v;
  return true;
}

static int parse_int(const char *s, long long *out, struct error *err) {
  const char *p = s, *end;
  long long v;
  bool neg = false;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  if (!digits(p, &end, &v) || *end != '\0')
    return error_set(err, ERR_PARSE, "'%s' is not an integer", s);
  *out = neg ? -v : v;
  return 0;
}

int config_parse_bool(const char *s, bool *out, struct error *err) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return error_set(err, ERR_PARSE,
                   "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                   s);
}

int config_parse_size(const char *s, long long *bytes, struct error *err) {
  const char *end;
  long long v, mult = 1;
  if (!digits(s, &end, &v))
    goto bad;
  switch (*end) {
  case '\0':
    break;
  case 'k':
  case 'K':
    mult = KIB;
    end++;
    break;
  case 'm':
  case 'M':
    mult = MIB;
    end++;
    break;
  case 'g':
  case 'G':
    mult = GIB;
    end++;
    break;
  default:
    goto bad;
  }
  if (mult > 1 && (strcmp(end, "B") == 0 || strcmp(end, "iB") == 0))
    end += strlen(end);
  if (*end != '\0')
    goto bad;
  if (v > LLONG_MAX / mult)
    return error_set(err, ERR_PARSE, "size '%s' is too large", s);
  *bytes = v * mult;
  return 0;
bad:
  return error_set(err, ERR_PARSE,
                   "'%s' is not a size (e.g. 65536, 64k, 1M, 2G)", s);
}

int config_parse_duration(const char *s, long long *ms, struct error *err) {
  static const struct {
    const char *unit;
    long long ms;
  } units[] = {{"ms", 1}, {"s", SEC}, {"m", MINUTE}, {"h", HOUR}, {"d", DAY}};
  const char *end;
  long long v;
  if (!digits(s, &end, &v))
    goto bad;
  if (*end == '\0') {
    if (v != 0)
      return error_set(err, ERR_PARSE,
                       "duration '%s' needs a unit (ms, s, m, h, d)", s);
    *ms = 0;
    return 0;
  }
  for (size_t i = 0; i < ARRAY_LEN(units); i++) {
    if (strcmp(end, units[i].unit) == 0) {
      if (v > LLONG_MAX / units[i].ms)
        return error_set(err, ERR_PARSE, "duration '%s' is too long", s);
      *ms = v * units[i].ms;
      return 0;
    }
  }
bad:
  return error_set(err, ERR_PARSE,
                   "'%s' is not a duration (e.g. 250ms, 300s, 5m, 2h)", s);
}

static bool host_name_ok(const char *h, size_t n) {
  bool label_start = true;
  for (size_t i = 0; i < n; i++) {
    char c = h[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    if (c == '.') {
      if (label_start)
        return false;
      label_start = true;
    } else if (c == '-') {
      if (label_start)
        return false;
    } else if (alnum) {
      label_start = false;
    } else {
      return false;
    }
  }
  return n > 0;
}

int config_split_hostport(const char *s, char *host, size_t hostcap, int *port,
                          struct error *err) {
  const char *h, *colon, *end;
  char tmp[CONFIG_HOST_MAX];
  size_t n;
  long long p;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    unsigned char addr[16];
    if (close == NULL || close[1] != ':')
      goto bad;
    h = s + 1;
    n = (size_t)(close - h);
    colon = close + 1;
    if (n == 0 || n >= sizeof tmp)
      goto bad;
    memcpy(tmp, h, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, addr) != 1)
      return error_set(err, ERR_PARSE, "'%s': bad IPv6 address", s);
  } else {
    bool dotted = true;
    unsigned char addr[4];
    colon = strrchr(s, ':');
    if (colon == NULL)
      goto bad;
    h = s;
    n = (size_t)(colon - h);
    if (n == 0 || n >= sizeof tmp || !host_name_ok(h, n))
      goto bad;
    memcpy(tmp, h, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++)
      if (tmp[i] != '.' && (tmp[i] < '0' || tmp[i] > '9'))
        dotted = false;
    if (dotted && inet_pton(AF_INET, tmp, addr) != 1)
      return error_set(err, ERR_PARSE, "'%s': bad IPv4 address", s);
  }
  if (!digits(colon + 1, &end, &p) || *end != '\0' || end - colon > 6)
    goto bad;
  if (p > 65535)
    return error_set(err, ERR_PARSE, "'%s': port above 65535", s);
  if (n >= hostcap)
    return error_set(err, ERR_PARSE, "'%s': host longer than the buffer", s);
  memcpy(host, tmp, n + 1);
  *port = (int)p;
  return 0;
bad:
  return error_set(err, ERR_PARSE,
                   "'%s' is not host:port (e.g. 127.0.0.1:2575, [::1]:2575)",
                   s);
}

static int parse_clock(const char *s, long long *minutes, struct error *err) {
  if (strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' &&
      s[1] <= '9' && s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
      s[4] <= '9') {
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h < 24) {
      *minutes = h * 60 + m;
      return 0;
    }
  }
  return error_set(err, ERR_PARSE, "'%s' is not a time of day HH:MM", s);
}

static int parse_choice(const struct option *o, const char *s,
                        struct error *err) {
  const char *c = o->choices;
  size_t n = strlen(s);
  while (*c != '\0') {
    const char *bar = strchr(c, '|');
    size_t len = bar != NULL ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, s, n) == 0)
      return 0;
    c += len + (bar != NULL);
  }
  return error_set(err, ERR_PARSE, "'%s' is not one of %s", s, o->choices);
}

/* Writes a number of the option's unit in the shortest exact form. */
static void show_num(enum type t, long long v, char *out, size_t cap) {
  static const struct {
    long long mult;
    const char *suffix;
  } sizes[] = {{GIB, "G"}, {MIB, "M"}, {KIB, "k"}},
    durs[] = {{DAY, "d"}, {HOUR, "h"}, {MINUTE, "m"}, {SEC, "s"}};
  if (t == T_SIZE || t == T_DURATION) {
    size_t n = t == T_SIZE ? ARRAY_LEN(sizes) : ARRAY_LEN(durs);
    for (size_t i = 0; i < n; i++) {
      long long m = t == T_SIZE ? sizes[i].mult : durs[i].mult;
      if (v != 0 && v % m == 0) {
        snprintf(out, cap, "%lld%s", v / m,
                 t == T_SIZE ? sizes[i].suffix : durs[i].suffix);
        return;
      }
    }
    snprintf(out, cap, "%lld%s", v, t == T_DURATION ? "ms" : "");
    return;
  }
  snprintf(out, cap, "%lld", v);
}

/* Parses 'text' under option 'o'; 0 or ERR_PARSE with the reason. */
static int parse_value(const struct option *o, const char *text, long long *num,
                       bool *flag, struct error *err) {
  long long v = 0;
  bool b = false;
  int rc = 0;
  if (strlen(text) > CONFIG_VALUE_MAX)
    return error_set(err, ERR_PARSE, "value longer than %d bytes",
                     CONFIG_VALUE_MAX);
  switch (o->type) {
  case T_STRING:
    break;
  case T_INT:
    rc = parse_int(text, &v, err);
    break;
  case T_BOOL:
    rc = config_parse_bool(text, &b, err);
    break;
  case T_SIZE:
    rc = config_parse_size(text, &v, err);
    break;
  case T_DURATION:
    rc = config_parse_duration(text, &v, err);
    break;
  case T_HOSTPORT: {
    char host[CONFIG_HOST_MAX];
    int port;
    rc = config_split_hostport(text, host, sizeof host, &port, err);
    break;
  }
  case T_ENUM:
    rc = parse_choice(o, text, err);
    break;
  case T_CLOCK:
    rc = parse_clock(text, &v, err);
    break;
  }
  if (rc != 0)
    return rc;
  if (o->type == T_INT || o->type == T_SIZE || o->type == T_DURATION) {
    char lim[32];
    if (v < o->min) {
      show_num(o->type, o->min, lim, sizeof lim);
      return error_set(err, ERR_PARSE, "'%s' is below the minimum %s", text,
                       lim);
    }
    if (v > o->max) {
      show_num(o->type, o->max, lim, sizeof lim);
      return error_set(err, ERR_PARSE, "'%s' is above the maximum %s", text,
                       lim);
    }
  }
  *num = v;
  *flag = b;
  return 0;
}

/* ---- the table ---------------------------------------------------------- */

static int find(const char *name) {
  for (size_t i = 0; i < NOPT; i++)
    if (strcmp(options[i].name, name) == 0)
      return (int)i;
  return -1;
}

bool config_has(const char *name) { return find(name) >= 0; }

/* TK_SECTION_KEY for option 'o'. */
static void env_name(const struct option *o, char *out, size_t cap) {
  size_t n = 0;
  const char *p;
  assert(cap > 4);
  memcpy(out, "TK_", 3);
  n = 3;
  for (p = o->name; *p != '\0' && n + 1 < cap; p++) {
    char c = *p;
    if (c == '.')
      c = '_';
    else if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    out[n++] = c;
  }
  out[n] = '\0';
}

static void value_set(struct value *v, const char *text, long long num,
                      bool flag, enum source src, const char *origin) {
  char *t = mem_strdup(text);
  char *o = origin != NULL ? mem_strdup(origin) : NULL;
  mem_free(v->text);
  mem_free(v->origin);
  v->text = t;
  v->num = num;
  v->flag = flag;
  v->src = src;
  v->origin = o;
}

struct config *config_new(void) {
  struct config *cfg = mem_calloc(1, sizeof *cfg);
  for (size_t i = 0; i < NOPT; i++) {
    long long num = 0;
    bool flag = false;
    int rc = parse_value(&options[i], options[i].def, &num, &flag, NULL);
    assert(rc == 0); /* the defaults are constants that must parse */
    (void)rc;
    value_set(&cfg->v[i], options[i].def, num, flag, SRC_DEFAULT, NULL);
  }
  return cfg;
}

void config_free(struct config *cfg) {
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < NOPT; i++) {
    mem_free(cfg->v[i].text);
    mem_free(cfg->v[i].origin);
  }
  mem_free(cfg);
}

static void pending_clear(struct pending *p) {
  for (size_t i = 0; i < NOPT; i++) {
    mem_free(p[i].text);
    mem_free(p[i].origin);
    p[i].text = NULL;
    p[i].origin = NULL;
    p[i].set = false;
  }
}

static void pending_apply(struct config *cfg, struct pending *p,
                          enum source src) {
  for (size_t i = 0; i < NOPT; i++)
    if (p[i].set && cfg->v[i].src <= src)
      value_set(&cfg->v[i], p[i].text, p[i].num, p[i].flag, src, p[i].origin);
}

/* ---- the INI file -------------------------------------------------------- */

struct file_ctx {
  FILE *f;
  const char *path;
  int line;     /* lines read so far = the line inih is working on */
  int err_line; /* first error found here (0: none) */
  struct error err;
  struct pending pend[NOPT];
};

/* Records the first error, prefixed with "path:line: ". */
static void file_error(struct file_ctx *c, const char *msg) {
  if (c->err_line != 0)
    return;
  c->err_line = c->line;
  error_set(&c->err, ERR_CONFIG, "%s:%d: %s", c->path, c->line, msg);
}

/* inih reader: fgets that counts lines and flags lines inih would split. */
static char *file_reader(char *str, int num, void *stream) {
  struct file_ctx *c = stream;
  size_t n;
  if (fgets(str, num, c->f) == NULL)
    return NULL;
  c->line++;
  n = strlen(str);
  if (n + 1 == (size_t)num && str[n - 1] != '\n' && !feof(c->f)) {
    int ch;
    file_error(c, "line longer than 198 bytes");
    do
      ch = fgetc(c->f);
    while (ch != EOF && ch != '\n');
  }
  return str;
}

static int file_handler(void *user, const char *section, const char *key,
                        const char *value) {
  struct file_ctx *c = user;
  char name[256];
  char msg[ERROR_MSG_MAX + 300];
  struct error why;
  long long num;
  bool flag;
  int i;
  snprintf(name, sizeof name, "%s.%s", section, key);
  i = find(name);
  if (i < 0) {
    snprintf(msg, sizeof msg, "unknown option '%s'", name);
    file_error(c, msg);
    return 0;
  }
  if (c->pend[i].set) {
    snprintf(msg, sizeof msg, "option '%s' given twice", name);
    file_error(c, msg);
    return 0;
  }
  if (parse_value(&options[i], value, &num, &flag, &why) != 0) {
    snprintf(msg, sizeof msg, "bad value for '%s': %s", name, why.msg);
    file_error(c, msg);
    return 0;
  }
  {
    char origin[512];
    snprintf(origin, sizeof origin, "%s:%d", c->path, c->line);
    c->pend[i].set = true;
    c->pend[i].text = mem_strdup(value);
    c->pend[i].num = num;
    c->pend[i].flag = flag;
    c->pend[i].origin = mem_strdup(origin);
  }
  return 1;
}

int config_load_file(struct config *cfg, const char *path, struct error *err) {
  struct file_ctx c;
  int rc, ret;
  memset(&c, 0, sizeof c);
  c.path = path;
  c.f = fopen(path, "r");
  if (c.f == NULL)
    return error_set(err, ERR_IO, "cannot open '%s'", path);
  ret = ini_parse_stream(file_reader, &c, file_handler, &c);
  if (ferror(c.f)) {
    rc = error_set(err, ERR_IO, "cannot read '%s'", path);
    goto out;
  }
  if (ret > 0 && (c.err_line == 0 || ret < c.err_line)) {
    rc = error_set(err, ERR_CONFIG, "%s:%d: syntax error", path, ret);
    goto out;
  }
  if (c.err_line != 0) {
    rc = error_set(err, ERR_CONFIG, "%s", c.err.msg);
    goto out;
  }
  if (ret != 0) {
    rc = error_set(err, ERR_CONFIG, "cannot parse '%s'", path);
    goto out;
  }
  pending_apply(cfg, c.pend, SRC_FILE);
  rc = 0;
out:
  pending_clear(c.pend);
  fclose(c.f);
  return rc;
}

/* ---- environment and command line ---------------------------------------- */

int config_load_env(struct config *cfg, struct error *err) {
  struct pending pend[NOPT];
  int rc = 0;
  memset(pend, 0, sizeof pend);
  for (size_t i = 0; i < NOPT; i++) {
    char name[128];
    const char *val;
    struct error why;
    env_name(&options[i], name, sizeof name);
    val = getenv(name);
    if (val == NULL)
      continue;
    if (parse_value(&options[i], val, &pend[i].num, &pend[i].flag, &why) != 0) {
      rc = error_set(err, ERR_CONFIG, "bad value in %s for '%s': %s", name,
                     options[i].name, why.msg);
      goto out;
    }
    pend[i].set = true;
    pend[i].text = mem_strdup(val);
    pend[i].origin = mem_strdup(name);
  }
  pending_apply(cfg, pend, SRC_ENV);
out:
  pending_clear(pend);
  return rc;
}

int config_set(struct config *cfg, const char *name, const char *value,
               struct error *err) {
  struct error why;
  long long num;
  bool flag;
  int i = find(name);
  if (i < 0)
    return error_set(err, ERR_CONFIG, "unknown option '%s'", name);
  if (parse_value(&options[i], value, &num, &flag, &why) != 0)
    return error_set(err, ERR_CONFIG, "bad value for '%s': %s", name, why.msg);
  value_set(&cfg->v[i], value, num, flag, SRC_CLI, NULL);
  return 0;
}

int config_set_arg(struct config *cfg, const char *arg, struct error *err) {
  const char *eq;
  char name[128];
  size_t n;
  if (strncmp(arg, "--", 2) != 0 || (eq = strchr(arg, '=')) == NULL ||
      (n = (size_t)(eq - arg - 2)) == 0 || n >= sizeof name)
    return error_set(err, ERR_CONFIG,
                     "malformed option '%s', expected --section.key=value",
                     arg);
  memcpy(name, arg + 2, n);
  name[n] = '\0';
  return config_set(cfg, name, eq + 1, err);
}

int config_validate(const struct config *cfg, struct error *err) {
  long long high = config_int(cfg, "bedboard.occupancy_high");
  long long crit = config_int(cfg, "bedboard.occupancy_critical");
  bool cert = config_str(cfg, "http.tls_cert")[0] != '\0';
  bool key = config_str(cfg, "http.tls_key")[0] != '\0';
  if (high > crit)
    return error_set(err, ERR_CONFIG,
                     "bedboard.occupancy_high (%lld) is above "
                     "bedboard.occupancy_critical (%lld)",
                     high, crit);
  if (cert != key)
    return error_set(err, ERR_CONFIG,
                     "http.tls_cert and http.tls_key must be set together");
  return 0;
}

/* ---- accessors ------------------------------------------------------------
 */

static const struct value *lookup(const struct config *cfg, const char *name,
                                  unsigned type_mask) {
  int i = find(name);
  if (i < 0 || !((1u << options[i].type) & type_mask)) {
    assert(!"config: unknown option or wrong type");
    return NULL;
  }
  return &cfg->v[i];
}

const char *config_str(const struct config *cfg, const char *name) {
  const struct value *v = lookup(cfg, name, ~0u);
  return v != NULL ? v->text : "";
}

long long config_int(const struct config *cfg, const char *name) {
  const struct value *v = lookup(
      cfg, name, 1u << T_INT | 1u << T_SIZE | 1u << T_DURATION | 1u << T_CLOCK);
  return v != NULL ? v->num : 0;
}

bool config_bool(const struct config *cfg, const char *name) {
  const struct value *v = lookup(cfg, name, 1u << T_BOOL);
  return v != NULL ? v->flag : false;
}

/* ---- help and dump ---------------------------------------------------------
 */

static const char *metavar(const struct option *o) {
  switch (o->type) {
  case T_STRING:
    return "TEXT";
  case T_INT:
    return "N";
  case T_BOOL:
    return "BOOL";
  case T_SIZE:
    return "SIZE";
  case T_DURATION:
    return "DURATION";
  case T_HOSTPORT:
    return "HOST:PORT";
  case T_ENUM:
    return o->choices;
  case T_CLOCK:
    return "HH:MM";
  }
  return "";
}

int config_help(struct buf *out) {
  int rc = 0;
  for (size_t i = 0; i < NOPT && rc == 0; i++) {
    const struct option *o = &options[i];
    char env[128], lo[32], hi[32];
    env_name(o, env, sizeof env);
    rc = buf_printf(out, "  --%s=%s\n      %s\n      default \"%s\"", o->name,
                    metavar(o), o->help, o->def);
    if (rc == 0 &&
        (o->type == T_INT || o->type == T_SIZE || o->type == T_DURATION)) {
      show_num(o->type, o->min, lo, sizeof lo);
      show_num(o->type, o->max, hi, sizeof hi);
      rc = buf_printf(out, ", range %s..%s", lo, hi);
    }
    if (rc == 0)
      rc = buf_printf(out, ", environment %s\n", env);
  }
  return rc;
}

int config_dump(const struct config *cfg, struct buf *out) {
  int rc = 0;
  for (size_t i = 0; i < NOPT && rc == 0; i++) {
    const struct value *v = &cfg->v[i];
    switch (v->src) {
    case SRC_DEFAULT:
      rc = buf_printf(out, "%s = %s (default)\n", options[i].name, v->text);
      break;
    case SRC_FILE:
      rc = buf_printf(out, "%s = %s (file %s)\n", options[i].name, v->text,
                      v->origin);
      break;
    case SRC_ENV:
      rc = buf_printf(out, "%s = %s (env %s)\n", options[i].name, v->text,
                      v->origin);
      break;
    case SRC_CLI:
      rc =
          buf_printf(out, "%s = %s (command line)\n", options[i].name, v->text);
      break;
    }
  }
  return rc;
}
