/* http.c -- the HTTP server on libmicrohttpd: routing, security headers,
 * static files, strict query strings, trilingual JSON errors, metrics.
 *
 * Request life cycle (one struct http_request per request, allocated in
 * the URI-log callback, which libmicrohttpd calls once per request with
 * the raw request target, and freed in the completion callback):
 *
 *   uri_log ──> access handler, first call ("begin")
 *                 decode target (path, query) ──> route ──> method ──>
 *                 query names ──> authorizer ──> body cap
 *                   │ an error: reply prepared    │ a body over the cap:
 *                   │ GET/HEAD/...: nothing yet   │ 413 queued at once
 *                   v                             v  (connection closes)
 *               next calls: body chunks (POST/PUT/PATCH, capped)
 *                   v
 *               last call: the prepared reply, or dispatch (the handler
 *               fills the reply) ──> respond: reply -> MHD response +
 *               headers -> queue
 *   completed ──> metrics (route x status, duration) ──> free
 *
 * Responses are queued only once the whole request is in: libmicrohttpd
 * closes a connection whose response was queued "early", which would cost
 * keep-alive for every request.
 *
 * Invariants:
 *  1. exactly one response is queued per request, and every response gets
 *     the security headers (add_headers) -- there is no other queue call;
 *  2. the decoded path is valid UTF-8 without NUL, control characters,
 *     backslashes, or encoded slashes; the query obeys http_query_parse;
 *  3. files are opened beneath a root descriptor one segment at a time with
 *     O_NOFOLLOW, and only regular files are served;
 *  4. metrics are relaxed atomics: readers see each counter exactly, the set
 *     of counters only approximately at one instant.
 *
 * Thread safety: see http.h. The server struct is read-only while running
 * except for the atomic counters. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

/* ==== messages ========================================================= */

/* code, fi, sv, en; "{}" is replaced by the argument. */
#define HTTP_MESSAGE_TABLE(X)                                                  \
  X("bad_request", "virheellinen pyyntö", "felaktig begäran",                  \
    "malformed request")                                                       \
  X("bad_path", "virheellinen polku", "ogiltig sökväg", "malformed path")      \
  X("uri_too_long", "pyynnön osoite on liian pitkä",                           \
    "begärans adress är för lång", "request target too long")                  \
  X("query_too_long", "kyselymerkkijono on liian pitkä",                       \
    "frågesträngen är för lång", "query string too long")                      \
  X("too_many_parameters", "liikaa kyselyparametreja",                         \
    "för många frågeparametrar", "too many query parameters")                  \
  X("bad_parameter_name", "virheellinen parametrin nimi",                      \
    "ogiltigt parameternamn", "invalid parameter name")                        \
  X("parameter_too_long", "parametri '{}' on liian pitkä",                     \
    "parametern '{}' är för lång", "parameter '{}' is too long")               \
  X("bad_encoding", "parametrin '{}' koodaus on virheellinen",                 \
    "parametern '{}' har ogiltig kodning",                                     \
    "parameter '{}' is not valid percent-encoded UTF-8")                       \
  X("duplicate_parameter", "parametri '{}' on annettu useammin kuin kerran",   \
    "parametern '{}' har angetts mer än en gång",                              \
    "parameter '{}' given more than once")                                     \
  X("unknown_parameter", "tuntematon parametri '{}'", "okänd parameter '{}'",  \
    "unknown parameter '{}'")                                                  \
  X("missing_parameter", "parametri '{}' puuttuu", "parametern '{}' saknas",   \
    "parameter '{}' is required")                                              \
  X("invalid_parameter", "parametrin '{}' arvo on virheellinen",               \
    "parametern '{}' har ett ogiltigt värde",                                  \
    "invalid value for parameter '{}'")                                        \
  X("unknown_unit", "tuntematon yksikkö '{}'", "okänd enhet '{}'",             \
    "unknown unit '{}'")                                                       \
  X("unknown_indicator", "tuntematon indikaattori '{}'",                       \
    "okänd indikator '{}'", "unknown indicator '{}'")                          \
  X("unknown_dashboard", "tuntematon näkymä '{}'", "okänd vy '{}'",            \
    "unknown dashboard '{}'")                                                  \
  X("not_found", "sivua tai tietoa ei löydy",                                  \
    "sidan eller uppgiften hittades inte", "not found")                        \
  X("method_not_allowed", "menetelmä '{}' ei ole sallittu",                    \
    "metoden '{}' är inte tillåten", "method '{}' not allowed")                \
  X("body_too_large", "pyynnön sisältö on liian suuri",                        \
    "begärans innehåll är för stort", "request body too large")                \
  X("unauthorized", "kirjautuminen vaaditaan", "inloggning krävs",             \
    "sign-in required")                                                        \
  X("forbidden", "ei käyttöoikeutta", "åtkomst nekad", "access denied")        \
  X("not_ready", "palvelu käynnistyy, yritä hetken kuluttua uudelleen",        \
    "tjänsten startar, försök igen om en stund",                               \
    "service is starting, try again shortly")                                  \
  X("unavailable", "tieto ei ole käytettävissä",                               \
    "uppgiften är inte tillgänglig", "not available")                          \
  X("too_many_streams", "liikaa samanaikaisia reaaliaikayhteyksiä",            \
    "för många samtidiga realtidsanslutningar", "too many live connections")   \
  X("internal", "palvelimen sisäinen virhe", "internt serverfel",              \
    "internal server error")

struct message {
  const char *code, *fi, *sv, *en;
};

static const struct message messages[] = {
#define HTTP_MESSAGE_ROW(c, f, s, e) {c, f, s, e},
    HTTP_MESSAGE_TABLE(HTTP_MESSAGE_ROW)
#undef HTTP_MESSAGE_ROW
};

#define ARG_MAX 64 /* bytes of an argument echoed in a message */

static const struct message *message_find(const char *code) {
  if (code == NULL)
    return NULL;
  for (size_t i = 0; i < ARRAY_LEN(messages); i++)
    if (strcmp(messages[i].code, code) == 0)
      return &messages[i];
  return NULL;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* True when s[0..n) is valid UTF-8 without C0 controls or DEL. */
static bool text_ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t k;
    if (p[i] < 0x20 || p[i] == 0x7f)
      return false;
    k = utf8_seq(p + i, n - i);
    if (k == 0)
      return false;
    i += k;
  }
  return true;
}

/* Copies at most ARG_MAX bytes of 'arg' into 'dst' (ARG_MAX + 4 bytes):
 * valid UTF-8 only, controls and invalid bytes become '?', "..." marks a
 * cut. */
static void sanitize_arg(const char *arg, char *dst) {
  const unsigned char *p = (const unsigned char *)arg;
  size_t n = strlen(arg);
  size_t i = 0, o = 0;
  while (i < n) {
    size_t k = (p[i] < 0x20 || p[i] == 0x7f) ? 0 : utf8_seq(p + i, n - i);
    size_t w = k == 0 ? 1 : k;
    if (o + w > ARG_MAX) {
      memcpy(dst + o, "...", 3);
      o += 3;
      break;
    }
    if (k == 0)
      dst[o] = '?';
    else
      memcpy(dst + o, p + i, k);
    o += w;
    i += k == 0 ? 1 : k;
  }
  dst[o] = '\0';
}

static int put_template(struct buf *out, const char *tpl, const char *arg) {
  const char *p = tpl;
  int rc = 0;
  while (rc == 0 && *p != '\0') {
    const char *q = strstr(p, "{}");
    if (q == NULL)
      return buf_puts(out, p);
    rc = buf_append(out, p, (size_t)(q - p));
    if (rc == 0)
      rc = buf_puts(out, arg);
    p = q + 2;
  }
  return rc;
}

int http_error_message(const char *code, const char *lang, const char *arg,
                       struct buf *out) {
  const struct message *m = message_find(code);
  const char *tpl;
  char clean[ARG_MAX + 4];
  if (m == NULL || lang == NULL)
    return ERR_NOTFOUND;
  if (strcmp(lang, "fi") == 0)
    tpl = m->fi;
  else if (strcmp(lang, "sv") == 0)
    tpl = m->sv;
  else if (strcmp(lang, "en") == 0)
    tpl = m->en;
  else
    return ERR_NOTFOUND;
  sanitize_arg(arg != NULL ? arg : "", clean);
  return put_template(out, tpl, clean);
}

/* Appends 's' as a JSON string; 's' is valid UTF-8 (callers sanitise). */
static int put_json_str(struct buf *out, const char *s) {
  int rc = buf_putc(out, '"');
  for (const char *p = s; rc == 0 && *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      rc = buf_append(out, e, 2);
    } else if (c < 0x20 || c == 0x7f) {
      rc = buf_printf(out, "\\u%04x", c);
    } else {
      rc = buf_putc(out, (char)c);
    }
  }
  if (rc == 0)
    rc = buf_putc(out, '"');
  return rc;
}

/* Appends the template with the argument substituted, as a JSON string. */
static int put_json_template(struct buf *out, const char *tpl,
                             const char *clean) {
  struct buf tmp;
  int rc;
  buf_init(&tmp, 4096);
  rc = put_template(&tmp, tpl, clean);
  if (rc == 0)
    rc = put_json_str(out, buf_str(&tmp));
  buf_release(&tmp);
  return rc;
}

int http_error_json(unsigned status, const char *code, const char *field,
                    const char *arg, struct buf *out) {
  const struct message *m = message_find(code);
  char clean[ARG_MAX + 4];
  char cfield[ARG_MAX + 4];
  int rc;
  if (m == NULL)
    m = message_find("internal");
  sanitize_arg(arg != NULL ? arg : "", clean);
  rc = buf_printf(out, "{\"error\":{\"status\":%u,\"code\":", status);
  if (rc == 0)
    rc = put_json_str(out, m->code);
  if (rc == 0)
    rc = buf_puts(out, ",\"field\":");
  if (rc == 0) {
    if (field != NULL) {
      sanitize_arg(field, cfield);
      rc = put_json_str(out, cfield);
    } else {
      rc = buf_puts(out, "null");
    }
  }
  if (rc == 0)
    rc = buf_puts(out, ",\"message\":");
  if (rc == 0)
    rc = put_json_template(out, m->en, clean);
  if (rc == 0)
    rc = buf_puts(out, ",\"i18n\":{\"fi\":");
  if (rc == 0)
    rc = put_json_template(out, m->fi, clean);
  if (rc == 0)
    rc = buf_puts(out, ",\"sv\":");
  if (rc == 0)
    rc = put_json_template(out, m->sv, clean);
  if (rc == 0)
    rc = buf_puts(out, ",\"en\":");
  if (rc == 0)
    rc = put_json_template(out, m->en, clean);
  if (rc == 0)
    rc = buf_puts(out, "}}}");
  return rc;
}

static int put_html_text(struct buf *out, const char *s) {
  int rc = 0;
  for (const char *p = s; rc == 0 && *p != '\0'; p++) {
    switch (*p) {
    case '<':
      rc = buf_puts(out, "&lt;");
      break;
    case '>':
      rc = buf_puts(out, "&gt;");
      break;
    case '&':
      rc = buf_puts(out, "&amp;");
      break;
    case '"':
      rc = buf_puts(out, "&quot;");
      break;
    case '\'':
      rc = buf_puts(out, "&#39;");
      break;
    default:
      rc = buf_putc(out, *p);
    }
  }
  return rc;
}

/* A small trilingual HTML error page (no inline script or style). */
static int error_html(unsigned status, const char *code, const char *arg,
                      struct buf *out) {
  static const char *const langs[] = {"fi", "sv", "en"};
  const struct message *m = message_find(code);
  struct buf tmp;
  int rc;
  if (m == NULL)
    m = message_find("internal");
  buf_init(&tmp, 4096);
  rc = buf_printf(out,
                  "<!doctype html>\n<html lang=\"fi\"><head>"
                  "<meta charset=\"utf-8\"><title>%u</title></head>\n"
                  "<body><main><h1>%u</h1>\n",
                  status, status);
  for (size_t i = 0; rc == 0 && i < ARRAY_LEN(langs); i++) {
    buf_reset(&tmp);
    rc = http_error_message(m->code, langs[i], arg, &tmp);
    if (rc == 0)
      rc = buf_printf(out, "<p lang=\"%s\">", langs[i]);
    if (rc == 0)
      rc = put_html_text(out, buf_str(&tmp));
    if (rc == 0)
      rc = buf_puts(out, "</p>\n");
  }
  if (rc == 0)
    rc = buf_puts(out, "<p><a href=\"/\">Tilannekuva</a></p></main>"
                       "</body></html>\n");
  buf_release(&tmp);
  return rc;
}

/* ==== query strings ==================================================== */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int query_fail(struct http_query_fault *fault, const char *code,
                      const char *field, size_t field_len, int rc,
                      struct error *err, const char *what) {
  if (fault != NULL) {
    fault->code = code;
    if (field_len > HTTP_QUERY_MAX_KEY)
      field_len = HTTP_QUERY_MAX_KEY;
    if (field_len > 0)
      memcpy(fault->field, field, field_len);
    fault->field[field_len] = '\0';
  }
  if (field_len > 0)
    return error_set(err, rc, "query parameter '%.*s': %s", (int)field_len,
                     field, what);
  return error_set(err, rc, "query string: %s", what);
}

int http_query_parse_detail(const char *raw, size_t len, struct http_query *out,
                            struct http_query_fault *fault, struct error *err) {
  struct http_query q;
  size_t used = 0;
  size_t i = 0;
  if (len > HTTP_QUERY_MAX_RAW)
    return query_fail(fault, "query_too_long", NULL, 0, ERR_TOOBIG, err,
                      "too long");
  q.count = 0;
  while (i < len) {
    const char *seg = raw + i;
    const char *amp = memchr(seg, '&', len - i);
    size_t seg_len = amp != NULL ? (size_t)(amp - seg) : len - i;
    const char *eq = memchr(seg, '=', seg_len);
    size_t key_len = eq != NULL ? (size_t)(eq - seg) : seg_len;
    const char *val = eq != NULL ? eq + 1 : seg + seg_len;
    size_t val_raw = eq != NULL ? seg_len - key_len - 1 : 0;
    size_t vstart, vlen = 0;
    i += seg_len + (amp != NULL ? 1 : 0);
    if (seg_len == 0)
      continue;
    if (key_len == 0 || key_len > HTTP_QUERY_MAX_KEY)
      return query_fail(fault, "bad_parameter_name", NULL, 0, ERR_PARSE, err,
                        "invalid parameter name");
    for (size_t k = 0; k < key_len; k++)
      if (!key_char(seg[k]))
        return query_fail(fault, "bad_parameter_name", NULL, 0, ERR_PARSE, err,
                          "invalid parameter name");
    if (q.count == HTTP_QUERY_MAX_PARAMS)
      return query_fail(fault, "too_many_parameters", NULL, 0, ERR_TOOBIG, err,
                        "too many parameters");
    for (size_t k = 0; k < q.count; k++) {
      const char *other = q.text + q.params[k].key;
      if (strlen(other) == key_len && memcmp(other, seg, key_len) == 0)
        return query_fail(fault, "duplicate_parameter", seg, key_len, ERR_PARSE,
                          err, "given more than once");
    }
    /* Room: key + NUL + decoded value (<= raw) + NUL, by construction of
     * the text size; checked anyway. */
    if (NEVER(used + key_len + val_raw + 2 > sizeof q.text))
      return query_fail(fault, "query_too_long", NULL, 0, ERR_TOOBIG, err,
                        "too long");
    q.params[q.count].key = (uint16_t)used;
    memcpy(q.text + used, seg, key_len);
    used += key_len;
    q.text[used++] = '\0';
    vstart = used;
    for (size_t k = 0; k < val_raw; k++) {
      char c = val[k];
      if (c == '%') {
        int hi = -1, lo = -1;
        if (k + 2 < val_raw) {
          hi = hexval(val[k + 1]);
          lo = hexval(val[k + 2]);
        }
        if (hi < 0 || lo < 0)
          return query_fail(fault, "bad_encoding", seg, key_len, ERR_PARSE, err,
                            "bad percent-encoding");
        c = (char)(hi * 16 + lo);
        k += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (vlen == HTTP_QUERY_MAX_VALUE)
        return query_fail(fault, "parameter_too_long", seg, key_len, ERR_TOOBIG,
                          err, "value too long");
      q.text[used++] = c;
      vlen++;
    }
    if (!text_ok(q.text + vstart, vlen))
      return query_fail(fault, "bad_encoding", seg, key_len, ERR_PARSE, err,
                        "not valid UTF-8 text");
    q.text[used++] = '\0';
    q.params[q.count].value = (uint16_t)vstart;
    q.params[q.count].value_len = (uint16_t)vlen;
    q.count++;
  }
  memcpy(out, &q, sizeof q);
  return 0;
}

int http_query_parse(const char *raw, size_t len, struct http_query *out,
                     struct error *err) {
  return http_query_parse_detail(raw, len, out, NULL, err);
}

const char *http_query_get(const struct http_query *q, const char *key) {
  for (size_t i = 0; i < q->count; i++)
    if (strcmp(q->text + q->params[i].key, key) == 0)
      return q->text + q->params[i].value;
  return NULL;
}

const char *http_query_key_at(const struct http_query *q, size_t i) {
  return i < q->count ? q->text + q->params[i].key : NULL;
}

const char *http_query_value_at(const struct http_query *q, size_t i) {
  return i < q->count ? q->text + q->params[i].value : NULL;
}

/* ==== paths and content types ========================================== */

/* Decodes the path of a request target into 'out' (HTTP_MAX_PATH + 1
 * bytes). ERR_TOOBIG or ERR_PARSE (invariant 2). */
static int path_decode(const char *raw, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)raw[i];
    if (c == '%') {
      int hi, lo;
      if (i + 2 >= len)
        return ERR_PARSE;
      hi = hexval(raw[i + 1]);
      lo = hexval(raw[i + 2]);
      if (hi < 0 || lo < 0)
        return ERR_PARSE;
      c = (unsigned char)(hi * 16 + lo);
      if (c == '/')
        return ERR_PARSE;
      i += 2;
    }
    if (c < 0x20 || c == 0x7f || c == '\\')
      return ERR_PARSE;
    if (o == HTTP_MAX_PATH)
      return ERR_TOOBIG;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  if (!text_ok(out, o))
    return ERR_PARSE;
  return 0;
}

static const struct {
  const char *ext;
  const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"map", "application/json"},
};

const char *http_content_type(const char *name) {
  const char *slash = strrchr(name, '/');
  const char *dot = strrchr(slash != NULL ? slash : name, '.');
  if (dot == NULL)
    return NULL;
  for (size_t i = 0; i < ARRAY_LEN(content_types); i++)
    if (strcmp(dot + 1, content_types[i].ext) == 0)
      return content_types[i].type;
  return NULL;
}

/* The files served under /vendor/: paths below vendor_root (the npm
 * node_modules directory). The only place to allow another. */
static const char *const vendor_files[] = {
    "chart.js/dist/chart.umd.js",
    "chart.js/dist/chart.umd.js.map",
    "chart.js/dist/chart.umd.min.js",
    "chart.js/dist/chart.umd.min.js.map",
};

/* ==== the server ======================================================= */

#define CSP                                                                    \
  "default-src 'self'; script-src 'self'; style-src 'self'; "                  \
  "img-src 'self' data:; connect-src 'self'; font-src 'self'; "                \
  "object-src 'none'; base-uri 'none'; form-action 'self'; "                   \
  "frame-ancestors 'none'"

#define MAX_STOP_HOOKS 4
#define MAX_SEGMENTS 8     /* directory depth of a static path */
#define MAX_SEGMENT 255    /* bytes of one path segment */
#define STREAM_BLOCK 16384 /* read size offered to stream callbacks */
#define REPLY_HEADER_BYTES 512
#define DISCARD_MAX (1024u * 1024u) /* body read past the cap, then close */

/* Statuses counted separately in metrics; the last slot is "other". */
static const unsigned counted_status[] = {200, 204, 304, 400, 401, 403,
                                          404, 405, 413, 414, 500, 503};
#define NSTATUS (ARRAY_LEN(counted_status) + 1)

/* Duration histogram bounds, microseconds. */
static const uint64_t bucket_us[] = {500,    1000,   2500,   5000,
                                     10000,  25000,  50000,  100000,
                                     250000, 500000, 1000000};
#define NBUCKETS (ARRAY_LEN(bucket_us) + 1)

struct route_stats {
  _Atomic uint64_t by_status[NSTATUS];
  _Atomic uint64_t buckets[NBUCKETS]; /* not cumulative; +Inf last */
  _Atomic uint64_t count;
  _Atomic uint64_t sum_us;
};

enum builtin { B_NONE = 0, B_INDEX, B_STATIC, B_VENDOR };

struct route_entry {
  struct http_route r;
  size_t path_len;
  enum builtin builtin;
};

struct stop_hook {
  http_stop_fn fn;
  void *ctx;
};

struct http_server {
  struct sockaddr_storage addr;
  bool ipv6, any6;
  unsigned threads, timeout_s, conn_limit, per_ip;
  size_t body_max;
  char *cert, *key;
  size_t key_len;
  int web_fd, vendor_fd; /* -1 when not configured */
  struct route_entry routes[HTTP_MAX_ROUTES];
  size_t nroutes;
  struct route_stats stats[HTTP_MAX_ROUTES + 1]; /* last: unmatched */
  http_authorize_fn auth;
  void *auth_ctx;
  struct stop_hook hooks[MAX_STOP_HOOKS];
  size_t nhooks;
  struct MHD_Daemon *daemon;
  uint16_t port;
};

enum reply_kind { R_NONE = 0, R_BUFFER, R_STATIC, R_FD, R_STREAM };

struct http_reply {
  struct http_request *req;
  enum reply_kind kind;
  unsigned status;
  char *body; /* R_BUFFER: owned */
  const char *data;
  size_t len;
  int fd; /* R_FD: owned, -1 otherwise */
  uint64_t fd_size;
  http_stream_read_fn read_fn;
  http_stream_free_fn free_fn;
  void *cls;
  bool file_cache; /* static file: no-cache instead of no-store */
  size_t nheaders;
  uint16_t hname[HTTP_MAX_REPLY_HEADERS], hvalue[HTTP_MAX_REPLY_HEADERS];
  size_t hused;
  char hbuf[REPLY_HEADER_BYTES];
};

struct http_request {
  struct http_server *srv;
  struct MHD_Connection *conn;
  const char *method;
  unsigned mbit;
  struct timespec start;
  char *target;     /* raw request target, NULL when over the cap */
  bool target_long; /* over HTTP_MAX_TARGET */
  bool started, prepared, responded, streaming, wants_body, body_too_big;
  size_t discarded; /* body bytes dropped beyond the cap */
  bool api_target;  /* the raw target starts with /api/ */
  const struct route_entry *route;
  size_t stats_index;
  unsigned status; /* queued status, 0 before */
  struct buf body;
  struct http_reply reply;
  struct http_query query;
  unsigned refuse_status; /* set by the authorizer (http_request_refuse) */
  const char *refuse_code, *refuse_field;
  char path[HTTP_MAX_PATH + 1];
};

struct http_stream {
  struct MHD_Connection *conn;
  http_stream_read_fn read_fn;
  http_stream_free_fn free_fn;
  void *cls;
};

/* ---- request accessors ---- */

const char *http_request_method(const struct http_request *req) {
  return req->method;
}

const char *http_request_path(const struct http_request *req) {
  return req->path;
}

const struct http_query *http_request_query(const struct http_request *req) {
  return &req->query;
}

const char *http_request_header(const struct http_request *req,
                                const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_body(const struct http_request *req, size_t *len) {
  *len = req->body.len;
  return req->body.len > 0 ? req->body.data : NULL;
}

unsigned http_request_route_flags(const struct http_request *req) {
  return req->route != NULL ? req->route->r.flags : 0;
}

struct http_server *http_request_server(const struct http_request *req) {
  return req->srv;
}

int http_request_client_address(const struct http_request *req, char *out,
                                size_t cap) {
  const union MHD_ConnectionInfo *ci;
  const struct sockaddr *sa;
  char tmp[INET6_ADDRSTRLEN];
  const char *p = NULL;
  if (cap > 0)
    out[0] = '\0';
  if (req->conn == NULL)
    return ERR_NOTFOUND;
  ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == NULL || ci->client_addr == NULL)
    return ERR_NOTFOUND;
  sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    p = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, tmp,
                  sizeof tmp);
  } else if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6))
      p = inet_ntop(AF_INET, &a6->s6_addr[12], tmp, sizeof tmp);
    else
      p = inet_ntop(AF_INET6, a6, tmp, sizeof tmp);
  }
  if (p == NULL)
    return ERR_NOTFOUND;
  if (strlen(tmp) >= cap)
    return ERR_TOOBIG;
  memcpy(out, tmp, strlen(tmp) + 1);
  return 0;
}

void http_request_refuse(const struct http_request *req, unsigned status,
                         const char *code, const char *field) {
  /* the request is the server's own, mutable object */
  struct http_request *r = (struct http_request *)req;
  if (status < 400 || status > 499 || code == NULL)
    return;
  r->refuse_status = status;
  r->refuse_code = code;
  r->refuse_field = field;
}

/* ---- replies ---- */

/* Forgets the headers added so far. */
static void headers_clear(struct http_reply *rep) {
  rep->nheaders = 0;
  rep->hused = 0;
}

/* Forgets the body (closing or freeing what it owns); headers stay. */
static void reply_clear(struct http_reply *rep) {
  mem_free(rep->body);
  rep->body = NULL;
  if (rep->fd >= 0)
    close(rep->fd);
  rep->fd = -1;
  if (rep->kind == R_STREAM && rep->free_fn != NULL)
    rep->free_fn(rep->cls);
  rep->free_fn = NULL;
  rep->read_fn = NULL;
  rep->cls = NULL;
  rep->data = NULL;
  rep->len = 0;
  rep->kind = R_NONE;
  rep->file_cache = false;
}

static void reply_take(struct http_reply *rep, unsigned status,
                       struct buf *body) {
  size_t len;
  reply_clear(rep);
  rep->body = buf_detach(body, &len);
  rep->len = len;
  rep->status = status;
  rep->kind = R_BUFFER;
}

/* Sets Content-Type (replacing one set before). */
static void reply_content_type(struct http_reply *rep, const char *type) {
  for (size_t i = 0; i < rep->nheaders; i++) {
    if (strcmp(rep->hbuf + rep->hname[i], "Content-Type") == 0) {
      /* Drop it: shift the rest down (values stay in hbuf). */
      memmove(&rep->hname[i], &rep->hname[i + 1],
              (rep->nheaders - i - 1) * sizeof rep->hname[0]);
      memmove(&rep->hvalue[i], &rep->hvalue[i + 1],
              (rep->nheaders - i - 1) * sizeof rep->hvalue[0]);
      rep->nheaders--;
      break;
    }
  }
  if (http_reply_header(rep, "Content-Type", type) != 0) {
    /* Only a handler that filled the header table lands here; the
     * response then goes without a Content-Type, which nosniff makes
     * harmless. */
  }
}

void http_reply_json(struct http_reply *rep, unsigned status,
                     struct buf *body) {
  reply_take(rep, status, body);
  reply_content_type(rep, "application/json");
}

void http_reply_body(struct http_reply *rep, unsigned status,
                     const char *content_type, struct buf *body) {
  reply_take(rep, status, body);
  reply_content_type(rep, content_type);
}

void http_reply_static(struct http_reply *rep, unsigned status,
                       const char *content_type, const char *data, size_t len) {
  reply_clear(rep);
  rep->kind = R_STATIC;
  rep->status = status;
  rep->data = data;
  rep->len = len;
  reply_content_type(rep, content_type);
}

static bool wants_json_errors(const struct http_request *req) {
  if (strncmp(req->path, "/api/", 5) == 0 || req->api_target)
    return true;
  if (req->route == NULL)
    return false;
  return req->route->builtin == B_NONE;
}

void http_reply_error(struct http_reply *rep, unsigned status, const char *code,
                      const char *field, const char *arg) {
  struct buf b;
  bool json = rep->req == NULL || wants_json_errors(rep->req);
  int rc;
  buf_init(&b, 64 * 1024);
  rc = json ? http_error_json(status, code, field, arg, &b)
            : error_html(status, code, arg, &b);
  if (rc != 0) {
    static const char fallback[] =
        "{\"error\":{\"status\":500,\"code\":\"internal\"}}";
    buf_release(&b);
    http_reply_static(rep, 500, "application/json", fallback,
                      sizeof fallback - 1);
    return;
  }
  reply_take(rep, status, &b);
  reply_content_type(rep,
                     json ? "application/json" : "text/html; charset=utf-8");
}

static bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int http_reply_header(struct http_reply *rep, const char *name,
                      const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  if (nl == 0)
    return ERR_INVAL;
  for (size_t i = 0; i < nl; i++)
    if (!token_char(name[i]))
      return ERR_INVAL;
  for (size_t i = 0; i < vl; i++)
    if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
      return ERR_INVAL;
  if (rep->nheaders == HTTP_MAX_REPLY_HEADERS ||
      nl + vl + 2 > sizeof rep->hbuf - rep->hused)
    return ERR_TOOBIG;
  rep->hname[rep->nheaders] = (uint16_t)rep->hused;
  memcpy(rep->hbuf + rep->hused, name, nl + 1);
  rep->hused += nl + 1;
  rep->hvalue[rep->nheaders] = (uint16_t)rep->hused;
  memcpy(rep->hbuf + rep->hused, value, vl + 1);
  rep->hused += vl + 1;
  rep->nheaders++;
  return 0;
}

void http_reply_stream(struct http_reply *rep, const char *content_type,
                       http_stream_read_fn read_fn, http_stream_free_fn free_fn,
                       void *cls) {
  reply_clear(rep);
  rep->kind = R_STREAM;
  rep->status = 200;
  rep->read_fn = read_fn;
  rep->free_fn = free_fn;
  rep->cls = cls;
  reply_content_type(rep, content_type);
}

void http_stream_suspend(struct http_stream *s) {
  MHD_suspend_connection(s->conn);
}

void http_stream_resume(struct http_stream *s) {
  MHD_resume_connection(s->conn);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  struct http_stream *s = cls;
  ssize_t n;
  (void)pos;
  n = s->read_fn(s->cls, s, buf, max);
  if (n == HTTP_STREAM_END)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (n < 0)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  return n;
}

static void stream_release(void *cls) {
  struct http_stream *s = cls;
  if (s->free_fn != NULL)
    s->free_fn(s->cls);
  mem_free(s);
}

/* ---- metrics ---- */

static size_t status_slot(unsigned status) {
  for (size_t i = 0; i < ARRAY_LEN(counted_status); i++)
    if (counted_status[i] == status)
      return i;
  return NSTATUS - 1;
}

static int64_t elapsed_us(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
         (now.tv_nsec - start->tv_nsec) / 1000;
}

static const char *route_label(const struct http_server *srv, size_t i) {
  if (i >= srv->nroutes)
    return "none";
  return srv->routes[i].r.name != NULL ? srv->routes[i].r.name
                                       : srv->routes[i].r.path;
}

int http_server_metrics(const struct http_server *srv, struct buf *out) {
  int rc = buf_puts(out, "# HELP tilannekuva_http_requests_total HTTP "
                         "requests answered, by route and status.\n"
                         "# TYPE tilannekuva_http_requests_total counter\n");
  for (size_t r = 0; rc == 0 && r <= srv->nroutes; r++) {
    const struct route_stats *st = &srv->stats[r];
    for (size_t s = 0; rc == 0 && s < NSTATUS; s++) {
      uint64_t n =
          atomic_load_explicit(&st->by_status[s], memory_order_relaxed);
      if (n == 0)
        continue;
      if (s < ARRAY_LEN(counted_status))
        rc = buf_printf(out,
                        "tilannekuva_http_requests_total{route=\"%s\","
                        "status=\"%u\"} %llu\n",
                        route_label(srv, r), counted_status[s],
                        (unsigned long long)n);
      else
        rc = buf_printf(out,
                        "tilannekuva_http_requests_total{route=\"%s\","
                        "status=\"other\"} %llu\n",
                        route_label(srv, r), (unsigned long long)n);
    }
  }
  if (rc == 0)
    rc = buf_puts(out, "# HELP tilannekuva_http_request_duration_seconds "
                       "Time from request line to response sent "
                       "(streams excluded).\n"
                       "# TYPE tilannekuva_http_request_duration_seconds "
                       "histogram\n");
  for (size_t r = 0; rc == 0 && r <= srv->nroutes; r++) {
    const struct route_stats *st = &srv->stats[r];
    uint64_t count = atomic_load_explicit(&st->count, memory_order_relaxed);
    uint64_t cum = 0;
    if (count == 0)
      continue;
    for (size_t b = 0; rc == 0 && b < NBUCKETS; b++) {
      cum += atomic_load_explicit(&st->buckets[b], memory_order_relaxed);
      if (b < ARRAY_LEN(bucket_us))
        rc = buf_printf(out,
                        "tilannekuva_http_request_duration_seconds_bucket{"
                        "route=\"%s\",le=\"%g\"} %llu\n",
                        route_label(srv, r), (double)bucket_us[b] / 1e6,
                        (unsigned long long)cum);
      else
        rc = buf_printf(out,
                        "tilannekuva_http_request_duration_seconds_bucket{"
                        "route=\"%s\",le=\"+Inf\"} %llu\n",
                        route_label(srv, r), (unsigned long long)cum);
    }
    if (rc == 0)
      rc = buf_printf(
          out,
          "tilannekuva_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
          "tilannekuva_http_request_duration_seconds_count{route=\"%s\"} "
          "%llu\n",
          route_label(srv, r),
          (double)atomic_load_explicit(&st->sum_us, memory_order_relaxed) / 1e6,
          route_label(srv, r), (unsigned long long)count);
  }
  return rc;
}

static void record(struct http_request *req) {
  struct route_stats *st = &req->srv->stats[req->stats_index];
  uint64_t us;
  size_t b = 0;
  if (req->status == 0)
    return;
  atomic_fetch_add_explicit(&st->by_status[status_slot(req->status)], 1,
                            memory_order_relaxed);
  if (req->streaming)
    return;
  us = (uint64_t)elapsed_us(&req->start);
  while (b < ARRAY_LEN(bucket_us) && us > bucket_us[b])
    b++;
  atomic_fetch_add_explicit(&st->buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->sum_us, us, memory_order_relaxed);
}

/* ---- responding ---- */

static bool add(struct MHD_Response *resp, const char *name,
                const char *value) {
  return MHD_add_response_header(resp, name, value) == MHD_YES;
}

/* Invariant 1: every response passes here. */
static bool add_headers(struct http_request *req, struct MHD_Response *resp) {
  const struct http_reply *rep = &req->reply;
  bool ok =
      add(resp, "Content-Security-Policy", CSP) &&
      add(resp, "X-Content-Type-Options", "nosniff") &&
      add(resp, "Referrer-Policy", "no-referrer") &&
      add(resp, "X-Frame-Options", "DENY") &&
      add(resp, "Cross-Origin-Opener-Policy", "same-origin") &&
      add(resp, "Cross-Origin-Resource-Policy", "same-origin") &&
      add(resp, "Cache-Control", rep->file_cache ? "no-cache" : "no-store");
  if (ok && req->srv->cert != NULL)
    ok = add(resp, "Strict-Transport-Security", "max-age=31536000");
  for (size_t i = 0; ok && i < rep->nheaders; i++)
    ok = add(resp, rep->hbuf + rep->hname[i], rep->hbuf + rep->hvalue[i]);
  return ok;
}

static enum MHD_Result respond(struct http_request *req) {
  struct http_reply *rep = &req->reply;
  struct MHD_Response *resp = NULL;
  struct http_stream *s = NULL;
  enum MHD_Result ret;

  req->responded = true;
  switch (rep->kind) {
  case R_BUFFER:
    resp = MHD_create_response_from_buffer_with_free_callback(
        rep->len, rep->body, mem_free);
    if (resp != NULL)
      rep->body = NULL; /* the response owns it now */
    break;
  case R_STATIC:
    resp = MHD_create_response_from_buffer(rep->len, (void *)rep->data,
                                           MHD_RESPMEM_PERSISTENT);
    break;
  case R_FD:
    resp = MHD_create_response_from_fd(rep->fd_size, rep->fd);
    if (resp != NULL)
      rep->fd = -1; /* the response closes it */
    break;
  case R_STREAM:
    s = mem_alloc(sizeof *s);
    s->conn = req->conn;
    s->read_fn = rep->read_fn;
    s->free_fn = rep->free_fn;
    s->cls = rep->cls;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                             stream_reader, s, stream_release);
    if (resp == NULL) {
      mem_free(s);
    } else {
      rep->free_fn = NULL; /* invariant 2: the response calls it */
      rep->kind = R_NONE;
      req->streaming = true;
    }
    break;
  case R_NONE:
    break;
  }
  if (resp == NULL) {
    reply_clear(rep);
    return MHD_NO;
  }
  if (!add_headers(req, resp)) {
    MHD_destroy_response(resp);
    reply_clear(rep);
    return MHD_NO;
  }
  ret = MHD_queue_response(req->conn, rep->status, resp);
  MHD_destroy_response(resp);
  if (ret == MHD_YES)
    req->status = rep->status;
  reply_clear(rep);
  return ret;
}

static enum MHD_Result respond_error(struct http_request *req, unsigned status,
                                     const char *code, const char *field,
                                     const char *arg) {
  http_reply_error(&req->reply, status, code, field, arg);
  return respond(req);
}

/* ---- static files ---- */

static bool segment_ok(const char *s, size_t n) {
  if (n == 0 || n > MAX_SEGMENT || s[0] == '.')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!key_char(s[i]))
      return false;
  return true;
}

/* Opens 'rel' (segments separated by '/') beneath 'root' without following
 * symbolic links (invariant 3). ERR_NOTFOUND for anything not servable. */
static int open_beneath(int root, const char *rel, int *fd_out,
                        struct stat *st) {
  char seg[MAX_SEGMENT + 1];
  int dir = root;
  int fd = -1;
  size_t depth = 0;
  const char *p = rel;
  int rc = ERR_NOTFOUND;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (!segment_ok(p, n) || ++depth > MAX_SEGMENTS)
      goto out;
    memcpy(seg, p, n);
    seg[n] = '\0';
    if (slash == NULL) {
      fd = openat(dir, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0)
        goto out;
      if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        fd = -1;
        goto out;
      }
      *fd_out = fd;
      rc = 0;
      goto out;
    }
    fd = openat(dir, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      goto out;
    if (dir != root)
      close(dir);
    dir = fd;
    fd = -1;
    p = slash + 1;
  }
out:
  if (dir != root)
    close(dir);
  return rc;
}

/* Fills the reply with an open file: 200 with ETag, or 304 when the
 * client's If-None-Match has it. Takes 'fd'. */
static void reply_file(struct http_request *req, int fd, const struct stat *st,
                       const char *type) {
  struct http_reply *rep = &req->reply;
  const char *inm = http_request_header(req, "If-None-Match");
  char etag[80];
  snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"",
           (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
           (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
               (unsigned long long)st->st_mtim.tv_nsec);
  reply_clear(rep);
  headers_clear(rep);
  if (inm != NULL && strstr(inm, etag) != NULL) {
    close(fd);
    rep->kind = R_STATIC;
    rep->status = 304;
    rep->data = "";
    rep->len = 0;
  } else {
    rep->kind = R_FD;
    rep->status = 200;
    rep->fd = fd;
    rep->fd_size = (uint64_t)st->st_size;
    reply_content_type(rep, type);
  }
  rep->file_cache = true;
  if (http_reply_header(rep, "ETag", etag) != 0) {
    /* cannot happen: at most two short headers in an emptied table */
  }
}

static int serve_file(struct http_request *req, int root, const char *rel,
                      bool beneath) {
  const char *type = http_content_type(rel);
  struct stat st;
  int fd = -1;
  if (root < 0 || type == NULL)
    goto notfound;
  if (beneath) {
    if (open_beneath(root, rel, &fd, &st) != 0)
      goto notfound;
  } else {
    fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
      goto notfound;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      goto notfound;
    }
  }
  reply_file(req, fd, &st, type);
  return 0;
notfound:
  http_reply_error(&req->reply, 404, "not_found", NULL, NULL);
  return 0;
}

static int builtin_handler(struct http_request *req) {
  const struct route_entry *re = req->route;
  switch (re->builtin) {
  case B_INDEX:
    return serve_file(req, req->srv->web_fd, "index.html", true);
  case B_STATIC:
    return serve_file(req, req->srv->web_fd, req->path + re->path_len, true);
  case B_VENDOR:
    for (size_t i = 0; i < ARRAY_LEN(vendor_files); i++)
      if (strcmp(req->path + re->path_len, vendor_files[i]) == 0)
        return serve_file(req, req->srv->vendor_fd, vendor_files[i], false);
    http_reply_error(&req->reply, 404, "not_found", NULL, NULL);
    return 0;
  case B_NONE:
    break;
  }
  return ERR_STATE;
}

/* ---- routing ---- */

static unsigned method_bit(const char *m) {
  static const struct {
    const char *name;
    unsigned bit;
  } methods[] = {{"GET", HTTP_M_GET},        {"HEAD", HTTP_M_HEAD},
                 {"POST", HTTP_M_POST},      {"PUT", HTTP_M_PUT},
                 {"DELETE", HTTP_M_DELETE},  {"PATCH", HTTP_M_PATCH},
                 {"OPTIONS", HTTP_M_OPTIONS}};
  for (size_t i = 0; i < ARRAY_LEN(methods); i++)
    if (strcmp(m, methods[i].name) == 0)
      return methods[i].bit;
  return 0;
}

static unsigned route_methods(const struct route_entry *re) {
  unsigned m = re->r.methods;
  if (m & HTTP_M_GET)
    m |= HTTP_M_HEAD;
  return m;
}

static bool route_matches(const struct route_entry *re, const char *path) {
  if (re->r.flags & HTTP_ROUTE_PREFIX)
    return strncmp(path, re->r.path, re->path_len) == 0;
  return strcmp(path, re->r.path) == 0;
}

/* The best route for (path, method): exact before prefix, longer prefix
 * before shorter. *allowed gets the methods of every route on the path. */
static const struct route_entry *route_find(const struct http_server *srv,
                                            const char *path, unsigned mbit,
                                            unsigned *allowed,
                                            const struct route_entry **any) {
  const struct route_entry *best = NULL;
  *allowed = 0;
  *any = NULL;
  for (size_t i = 0; i < srv->nroutes; i++) {
    const struct route_entry *re = &srv->routes[i];
    if (!route_matches(re, path))
      continue;
    *allowed |= route_methods(re);
    if (*any == NULL)
      *any = re;
    if ((route_methods(re) & mbit) == 0)
      continue;
    if (best == NULL ||
        ((best->r.flags & HTTP_ROUTE_PREFIX) &&
         (!(re->r.flags & HTTP_ROUTE_PREFIX) || re->path_len > best->path_len)))
      best = re;
  }
  return best;
}

static void allow_header(unsigned allowed, char *out, size_t cap) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{HTTP_M_GET, "GET"},        {HTTP_M_HEAD, "HEAD"},
               {HTTP_M_POST, "POST"},      {HTTP_M_PUT, "PUT"},
               {HTTP_M_DELETE, "DELETE"},  {HTTP_M_PATCH, "PATCH"},
               {HTTP_M_OPTIONS, "OPTIONS"}};
  size_t o = 0;
  out[0] = '\0';
  allowed |= HTTP_M_OPTIONS;
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    if (allowed & names[i].bit) {
      int n =
          snprintf(out + o, cap - o, "%s%s", o > 0 ? ", " : "", names[i].name);
      if (n < 0 || (size_t)n >= cap - o)
        break;
      o += (size_t)n;
    }
  }
}

static enum MHD_Result dispatch(struct http_request *req) {
  const struct route_entry *re = req->route;
  int rc;
  if (re->builtin != B_NONE)
    rc = builtin_handler(req);
  else
    rc = re->r.handler(re->r.ctx, req, &req->reply);
  if (rc < 0 || req->reply.kind == R_NONE) {
    log_warn("http", "handler for route '%s' failed: %s",
             route_label(req->srv, req->stats_index),
             rc < 0 ? err_name(rc) : "no reply");
    headers_clear(&req->reply); /* nothing of the failed reply goes out */
    return respond_error(req, 500, "internal", NULL, NULL);
  }
  return respond(req);
}

static bool param_allowed(const struct route_entry *re, const char *key) {
  if (re->r.params == NULL)
    return false;
  for (const char *const *p = re->r.params; *p != NULL; p++)
    if (strcmp(*p, key) == 0)
      return true;
  return false;
}

/* Sets an error reply to be sent once the request has been read (queuing
 * earlier would make libmicrohttpd close the connection). */
static enum MHD_Result prepare_error(struct http_request *req, unsigned status,
                                     const char *code, const char *field,
                                     const char *arg) {
  http_reply_error(&req->reply, status, code, field, arg);
  req->prepared = true;
  return MHD_YES;
}

/* The first call for a request: everything up to the body. Responds at
 * once only to refuse a body; otherwise the reply (an error, or the
 * handler's) is made when the whole request is in (on_request). */
static enum MHD_Result begin(struct http_request *req) {
  struct http_server *srv = req->srv;
  const char *target = req->target;
  const char *qmark;
  size_t path_len;
  unsigned allowed = 0;
  const struct route_entry *any = NULL;
  struct http_query_fault fault;
  int rc;

  req->mbit = method_bit(req->method);
  strcpy(req->path, "/");
  if (req->target_long)
    return prepare_error(req, 414, "uri_too_long", NULL, NULL);
  if (target == NULL || target[0] != '/' || strchr(target, '#') != NULL)
    return prepare_error(req, 400, "bad_request", NULL, NULL);
  qmark = strchr(target, '?');
  path_len = qmark != NULL ? (size_t)(qmark - target) : strlen(target);
  rc = path_decode(target, path_len, req->path);
  if (rc != 0) {
    strcpy(req->path, "/");
    return rc == ERR_TOOBIG
               ? prepare_error(req, 414, "uri_too_long", NULL, NULL)
               : prepare_error(req, 400, "bad_path", NULL, NULL);
  }
  req->route = route_find(srv, req->path, req->mbit, &allowed, &any);
  if (req->route == NULL) {
    char allow[96];
    if (any == NULL)
      return prepare_error(req, 404, "not_found", NULL, NULL);
    /* The path exists: answer for its route (error format, metrics). */
    req->route = any;
    req->stats_index = (size_t)(any - srv->routes);
    allow_header(allowed, allow, sizeof allow);
    if (req->mbit == HTTP_M_OPTIONS) {
      http_reply_static(&req->reply, 204, "text/plain", "", 0);
    } else {
      http_reply_error(&req->reply, 405, "method_not_allowed", NULL,
                       req->method);
    }
    if (http_reply_header(&req->reply, "Allow", allow) != 0)
      return prepare_error(req, 500, "internal", NULL, NULL);
    req->prepared = true;
    return MHD_YES;
  }
  req->stats_index = (size_t)(req->route - srv->routes);
  if (qmark != NULL) {
    const char *raw = qmark + 1;
    rc = http_query_parse_detail(raw, strlen(raw), &req->query, &fault, NULL);
    if (rc != 0)
      return prepare_error(req, 400, fault.code,
                           fault.field[0] != '\0' ? fault.field : NULL,
                           fault.field);
  }
  for (size_t i = 0; i < req->query.count; i++) {
    const char *key = http_query_key_at(&req->query, i);
    if (!param_allowed(req->route, key))
      return prepare_error(req, 400, "unknown_parameter", key, key);
  }
  if (srv->auth != NULL && req->route->builtin == B_NONE) {
    rc = srv->auth(srv->auth_ctx, req, req->route->r.flags);
    if (rc != 0 && req->refuse_status != 0)
      return prepare_error(req, req->refuse_status, req->refuse_code,
                           req->refuse_field, req->refuse_field);
    if (rc == ERR_DENIED)
      return prepare_error(req, 403, "forbidden", NULL, NULL);
    if (rc == ERR_AGAIN)
      return prepare_error(req, 401, "unauthorized", NULL, NULL);
    if (rc != 0)
      return prepare_error(req, 500, "internal", NULL, NULL);
  }
  if (req->mbit & (HTTP_M_POST | HTTP_M_PUT | HTTP_M_PATCH)) {
    const char *cl = http_request_header(req, "Content-Length");
    if (cl != NULL) {
      char *end;
      unsigned long long n;
      errno = 0;
      n = strtoull(cl, &end, 10);
      if (errno != 0 || end == cl || *end != '\0' || n > srv->body_max)
        return respond_error(req, 413, "body_too_large", NULL, NULL);
    }
    buf_init(&req->body, srv->body_max);
    req->wants_body = true;
    return MHD_YES;
  }
  /* No body expected: refuse one now rather than read it. */
  {
    const char *cl = http_request_header(req, "Content-Length");
    if ((cl != NULL && strcmp(cl, "0") != 0) ||
        http_request_header(req, "Transfer-Encoding") != NULL)
      return respond_error(req, 413, "body_too_large", NULL, NULL);
  }
  return MHD_YES;
}

/* ---- libmicrohttpd callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
  struct http_request *req = mem_calloc(1, sizeof *req);
  size_t n = strlen(uri);
  (void)con;
  req->srv = cls;
  req->stats_index = req->srv->nroutes; /* unmatched until routed */
  req->reply.req = req;
  req->reply.fd = -1;
  clock_gettime(CLOCK_MONOTONIC, &req->start);
  req->api_target = strncmp(uri, "/api/", 5) == 0;
  if (n > HTTP_MAX_TARGET)
    req->target_long = true;
  else
    req->target = mem_strndup(uri, n);
  buf_init(&req->body, 0);
  return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
  struct http_request *req = *req_cls;
  (void)cls;
  (void)url;
  (void)version;
  if (req == NULL)
    return MHD_NO;
  if (!req->started) {
    req->started = true;
    req->conn = conn;
    req->method = method;
    return begin(req);
  }
  if (*upload_size > 0) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (req->prepared || req->responded)
      return MHD_YES;
    if (req->body_too_big || buf_append(&req->body, upload, n) != 0) {
      /* Over the cap. libmicrohttpd cannot answer in the middle of a body,
       * so the rest is read and dropped, for a while: the 413 goes out at
       * the end, unless the client sends more than DISCARD_MAX on top,
       * which closes the connection. */
      if (!req->body_too_big) {
        req->body_too_big = true;
        buf_release(&req->body);
      }
      req->discarded += n;
      if (req->discarded > DISCARD_MAX)
        return MHD_NO;
    }
    return MHD_YES;
  }
  if (req->responded)
    return MHD_YES;
  if (req->prepared)
    return respond(req);
  if (req->body_too_big)
    return respond_error(req, 413, "body_too_large", NULL, NULL);
  return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct http_request *req = *req_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (req == NULL)
    return;
  *req_cls = NULL;
  record(req);
  reply_clear(&req->reply);
  buf_release(&req->body);
  mem_free(req->target);
  mem_free(req);
}

PRINTF_LIKE(2, 0)
static void on_log(void *cls, const char *fmt, va_list ap) {
  char line[512];
  size_t n;
  (void)cls;
  vsnprintf(line, sizeof line, fmt, ap);
  n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  /* A client that went away mid-response is routine, not a warning. */
  if (strstr(line, "no longer available") != NULL ||
      strstr(line, "reset by remote") != NULL ||
      strstr(line, "closed by remote") != NULL)
    log_debug("http", "%s", line);
  else
    log_warn("http", "%s", line);
}

/* ---- life cycle ---- */

static int parse_listen(const char *listen, struct http_server *srv,
                        struct error *err) {
  char host[64];
  const char *port_s;
  size_t hl;
  char *end;
  unsigned long port;
  if (listen == NULL || listen[0] == '\0')
    return error_set(err, ERR_CONFIG, "listen address is empty");
  if (listen[0] == '[') {
    const char *close_b = strchr(listen, ']');
    if (close_b == NULL || close_b[1] != ':')
      return error_set(err, ERR_CONFIG,
                       "cannot parse listen address '%s': expected "
                       "[IPV6]:PORT",
                       listen);
    hl = (size_t)(close_b - listen - 1);
    if (hl == 0 || hl >= sizeof host)
      return error_set(err, ERR_CONFIG, "bad host in listen address '%s'",
                       listen);
    memcpy(host, listen + 1, hl);
    host[hl] = '\0';
    port_s = close_b + 2;
    srv->ipv6 = true;
  } else {
    const char *colon = strrchr(listen, ':');
    if (colon == NULL)
      return error_set(err, ERR_CONFIG,
                       "cannot parse listen address '%s': expected HOST:PORT",
                       listen);
    hl = (size_t)(colon - listen);
    if (hl == 0 || hl >= sizeof host)
      return error_set(err, ERR_CONFIG, "bad host in listen address '%s'",
                       listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    port_s = colon + 1;
    srv->ipv6 = false;
  }
  if (port_s[0] < '0' || port_s[0] > '9')
    return error_set(err, ERR_CONFIG, "bad port in listen address '%s'",
                     listen);
  errno = 0;
  port = strtoul(port_s, &end, 10);
  if (errno != 0 || *end != '\0' || port > 65535)
    return error_set(err, ERR_CONFIG, "bad port in listen address '%s'",
                     listen);
  memset(&srv->addr, 0, sizeof srv->addr);
  if (srv->ipv6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&srv->addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
      return error_set(err, ERR_CONFIG, "bad IPv6 address '%s'", host);
    srv->any6 = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&srv->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
      strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
      return error_set(err, ERR_CONFIG, "bad IPv4 address '%s'", host);
  }
  return 0;
}

static int read_pem(const char *path, char **out, size_t *len_out,
                    struct error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *data = NULL;
  size_t got = 0;
  int rc;
  if (fd < 0)
    return error_set(err, ERR_IO, "cannot open '%s': %s", path,
                     strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = error_set(err, ERR_IO, "cannot read '%s': not a regular file", path);
    goto out;
  }
  if ((uint64_t)st.st_size > HTTP_MAX_CERT_FILE) {
    rc = error_set(err, ERR_TOOBIG, "cannot read '%s': larger than %u bytes",
                   path, HTTP_MAX_CERT_FILE);
    goto out;
  }
  data = mem_alloc((size_t)st.st_size + 1);
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = error_set(err, ERR_IO, "cannot read '%s'", path);
      goto out;
    }
    got += (size_t)n;
  }
  data[got] = '\0';
  *out = data;
  *len_out = got;
  data = NULL;
  rc = 0;
out:
  if (data != NULL) {
    explicit_bzero(data, (size_t)st.st_size + 1);
    mem_free(data);
  }
  close(fd);
  return rc;
}

static int open_root(const char *path, int *fd_out, struct error *err) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return error_set(err, ERR_IO, "cannot open directory '%s': %s", path,
                     strerror(errno));
  *fd_out = fd;
  return 0;
}

static const char *const index_params[] = {"unit", "lang", NULL};

static void add_builtin(struct http_server *srv, const char *path,
                        unsigned flags, const char *name, enum builtin b) {
  struct route_entry *re = &srv->routes[srv->nroutes++];
  memset(re, 0, sizeof *re);
  re->r.methods = HTTP_M_GET;
  re->r.path = path;
  re->r.flags = flags;
  re->r.name = name;
  re->path_len = strlen(path);
  re->builtin = b;
}

int http_server_new(const struct http_options *opts, struct http_server **out,
                    struct error *err) {
  struct http_server *srv = mem_calloc(1, sizeof *srv);
  size_t cert_len = 0;
  int rc;
  srv->web_fd = -1;
  srv->vendor_fd = -1;
  rc = parse_listen(opts->listen, srv, err);
  if (rc != 0)
    goto out;
  srv->threads = opts->threads ? opts->threads : HTTP_DEFAULT_THREADS;
  srv->timeout_s = opts->connection_timeout_s ? opts->connection_timeout_s
                                              : HTTP_DEFAULT_TIMEOUT_S;
  srv->conn_limit = opts->connection_limit ? opts->connection_limit
                                           : HTTP_DEFAULT_CONNECTIONS;
  srv->per_ip = opts->per_ip_limit;
  srv->body_max = opts->body_max ? opts->body_max : HTTP_DEFAULT_BODY_MAX;
  if (srv->threads > 64) {
    rc = error_set(err, ERR_CONFIG, "too many http threads (%u, at most 64)",
                   srv->threads);
    goto out;
  }
  if ((opts->tls_cert_file == NULL) != (opts->tls_key_file == NULL)) {
    rc = error_set(err, ERR_CONFIG,
                   "tls needs both a certificate and a key file");
    goto out;
  }
  if (opts->tls_cert_file != NULL) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      rc = error_set(err, ERR_UNSUPPORTED,
                     "libmicrohttpd was built without tls");
      goto out;
    }
    rc = read_pem(opts->tls_cert_file, &srv->cert, &cert_len, err);
    if (rc == 0)
      rc = read_pem(opts->tls_key_file, &srv->key, &srv->key_len, err);
    if (rc != 0)
      goto out;
  }
  if (opts->web_root != NULL) {
    rc = open_root(opts->web_root, &srv->web_fd, err);
    if (rc != 0)
      goto out;
  }
  if (opts->vendor_root != NULL) {
    rc = open_root(opts->vendor_root, &srv->vendor_fd, err);
    if (rc != 0)
      goto out;
  }
  add_builtin(srv, "/", 0, "index", B_INDEX);
  /* The page keeps its view in the URL (?unit=ID, ?lang=xx) so it can be
   * bookmarked and shared. */
  srv->routes[srv->nroutes - 1].r.params = index_params;
  add_builtin(srv, "/static/", HTTP_ROUTE_PREFIX, "static", B_STATIC);
  add_builtin(srv, "/vendor/", HTTP_ROUTE_PREFIX, "vendor", B_VENDOR);
  *out = srv;
  srv = NULL;
out:
  http_server_free(srv);
  return rc;
}

int http_server_route(struct http_server *srv, const struct http_route *route,
                      struct error *err) {
  struct route_entry *re;
  size_t len;
  if (srv->daemon != NULL)
    return error_set(err, ERR_STATE, "cannot add a route to a running server");
  if (route->path == NULL || route->path[0] != '/' || route->handler == NULL ||
      route->methods == 0 ||
      (route->methods &
       ~(unsigned)(HTTP_M_GET | HTTP_M_HEAD | HTTP_M_POST | HTTP_M_PUT |
                   HTTP_M_DELETE | HTTP_M_PATCH)) != 0)
    return error_set(err, ERR_INVAL, "malformed route '%s'",
                     route->path != NULL ? route->path : "(null)");
  len = strlen(route->path);
  if ((route->flags & HTTP_ROUTE_PREFIX) && route->path[len - 1] != '/')
    return error_set(err, ERR_INVAL, "prefix route '%s' must end with '/'",
                     route->path);
  for (size_t i = 0; i < srv->nroutes; i++) {
    const struct route_entry *o = &srv->routes[i];
    if (strcmp(o->r.path, route->path) == 0 &&
        (o->r.flags & HTTP_ROUTE_PREFIX) ==
            (route->flags & HTTP_ROUTE_PREFIX) &&
        (route_methods(o) & route->methods) != 0)
      return error_set(err, ERR_EXISTS, "route '%s' already exists",
                       route->path);
  }
  if (srv->nroutes == HTTP_MAX_ROUTES)
    return error_set(err, ERR_TOOBIG, "too many routes (at most %d)",
                     HTTP_MAX_ROUTES);
  re = &srv->routes[srv->nroutes++];
  memset(re, 0, sizeof *re);
  re->r = *route;
  re->path_len = len;
  re->builtin = B_NONE;
  return 0;
}

void http_server_set_authorizer(struct http_server *srv, http_authorize_fn fn,
                                void *ctx) {
  srv->auth = fn;
  srv->auth_ctx = ctx;
}

int http_server_on_stop(struct http_server *srv, http_stop_fn fn, void *ctx) {
  if (srv->nhooks == MAX_STOP_HOOKS)
    return ERR_TOOBIG;
  srv->hooks[srv->nhooks].fn = fn;
  srv->hooks[srv->nhooks].ctx = ctx;
  srv->nhooks++;
  return 0;
}

int http_server_start(struct http_server *srv, struct error *err) {
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  struct MHD_OptionItem tls[4];
  const union MHD_DaemonInfo *info;
  size_t nt = 0;
  if (srv->daemon != NULL)
    return error_set(err, ERR_STATE, "http server already started");
  if (srv->ipv6)
    flags |= srv->any6 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
  if (srv->cert != NULL) {
    flags |= MHD_USE_TLS;
    tls[nt++] =
        (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert};
    tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key};
    tls[nt++] = (struct MHD_OptionItem){
        MHD_OPTION_HTTPS_PRIORITIES, 0,
        (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
  }
  tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  srv->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_log,
      srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr,
      MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, srv->conn_limit,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->per_ip,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, srv, MHD_OPTION_THREAD_POOL_SIZE,
      srv->threads > 1 ? srv->threads : 0u, MHD_OPTION_ARRAY, tls,
      MHD_OPTION_END);
  if (srv->daemon == NULL)
    return error_set(
        err, ERR_IO, "cannot start http server on port %u",
        (unsigned)ntohs(srv->ipv6
                            ? ((struct sockaddr_in6 *)&srv->addr)->sin6_port
                            : ((struct sockaddr_in *)&srv->addr)->sin_port));
  info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info != NULL ? info->port : 0;
  return 0;
}

uint16_t http_server_port(const struct http_server *srv) { return srv->port; }

bool http_server_tls(const struct http_server *srv) {
  return srv->cert != NULL;
}

void http_server_stop(struct http_server *srv) {
  if (srv == NULL || srv->daemon == NULL)
    return;
  for (size_t i = 0; i < srv->nhooks; i++)
    srv->hooks[i].fn(srv->hooks[i].ctx);
  MHD_stop_daemon(srv->daemon);
  srv->daemon = NULL;
  srv->port = 0;
}

void http_server_free(struct http_server *srv) {
  if (srv == NULL)
    return;
  http_server_stop(srv);
  if (srv->web_fd >= 0)
    close(srv->web_fd);
  if (srv->vendor_fd >= 0)
    close(srv->vendor_fd);
  mem_free(srv->cert);
  if (srv->key != NULL)
    explicit_bzero(srv->key, srv->key_len);
  mem_free(srv->key);
  mem_free(srv);
}
