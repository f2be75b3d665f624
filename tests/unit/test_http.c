/* test_http.c -- unit tests for the HTTP server (http.h).
 *
 * The query parser and the message table are tested directly; the server
 * runs for real on 127.0.0.1 (port 0) with a temporary web root and vendor
 * root and test routes, driven by the raw-socket client in http_client.h:
 * static files and path traversal, routing (404/405/OPTIONS/HEAD), query
 * validation with exact error bodies, the body cap (413), handler failure,
 * the authorizer, security headers on every response, metrics, TLS with a
 * certificate generated at run time, and IPv6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "http_client.h"
#include "mem.h"

#define CSP_EXPECTED                                                           \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "   \
  "data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri "   \
  "'none'; form-action 'self'; frame-ancestors 'none'"

/* ------------------------------------------------------------ query */

static void test_query_basic(void **state) {
  struct http_query q;
  struct error err;
  const char raw[] = "unit=ward-1&x=a+b%20c&empty=&flag&&z=%C3%A4%E2%82%AC";
  (void)state;
  assert_int_equal(http_query_parse(raw, strlen(raw), &q, &err), 0);
  assert_int_equal(q.count, 5);
  assert_string_equal(http_query_get(&q, "unit"), "ward-1");
  assert_string_equal(http_query_get(&q, "x"), "a b c");
  assert_string_equal(http_query_get(&q, "empty"), "");
  assert_string_equal(http_query_get(&q, "flag"), "");
  assert_string_equal(http_query_get(&q, "z"), "\xc3\xa4\xe2\x82\xac");
  assert_null(http_query_get(&q, "nope"));
  assert_string_equal(http_query_key_at(&q, 1), "x");
  assert_string_equal(http_query_value_at(&q, 0), "ward-1");
  assert_null(http_query_key_at(&q, 5));
  assert_int_equal(q.params[4].value_len, 5);
  /* Empty input and only separators. */
  assert_int_equal(http_query_parse("", 0, &q, &err), 0);
  assert_int_equal(q.count, 0);
  assert_int_equal(http_query_parse("&&&", 3, &q, &err), 0);
  assert_int_equal(q.count, 0);
}

/* Parses 'raw' and expects failure 'rc' with fault 'code' and 'field'; the
 * output must stay untouched. */
static void expect_query_fail(const char *raw, size_t len, int rc,
                              const char *code, const char *field) {
  struct http_query q;
  struct http_query_fault fault;
  struct error err;
  memset(&q, 0x5a, sizeof q);
  error_clear(&err);
  assert_int_equal(http_query_parse_detail(raw, len, &q, &fault, &err), rc);
  assert_string_equal(fault.code, code);
  assert_string_equal(fault.field, field);
  assert_int_equal(err.code, rc);
  assert_true(err.msg[0] != '\0');
  for (size_t i = 0; i < sizeof q; i++)
    assert_int_equal(((unsigned char *)&q)[i], 0x5a);
}

static void test_query_errors(void **state) {
  char big[HTTP_QUERY_MAX_RAW + 2];
  char many[256];
  char longval[HTTP_QUERY_MAX_VALUE + 16];
  size_t o = 0;
  (void)state;
  expect_query_fail("a=1&a=2", 7, ERR_PARSE, "duplicate_parameter", "a");
  expect_query_fail("a=%2", 4, ERR_PARSE, "bad_encoding", "a");
  expect_query_fail("a=%zz", 5, ERR_PARSE, "bad_encoding", "a");
  expect_query_fail("a=%", 3, ERR_PARSE, "bad_encoding", "a");
  expect_query_fail("unit=%ff", 8, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=%C3", 8, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=%ED%A0%80", 14, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=%C0%AF", 11, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=a%0Ab", 10, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=a%00b", 10, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit=a\x01", 7, ERR_PARSE, "bad_encoding", "unit");
  expect_query_fail("unit%5B%5D=1", 12, ERR_PARSE, "bad_parameter_name", "");
  expect_query_fail("unit[]=1", 8, ERR_PARSE, "bad_parameter_name", "");
  expect_query_fail("=1", 2, ERR_PARSE, "bad_parameter_name", "");
  expect_query_fail("a b=1", 5, ERR_PARSE, "bad_parameter_name", "");
  expect_query_fail("abcdefghijabcdefghijabcdefghijabc=1", 35, ERR_PARSE,
                    "bad_parameter_name", "");
  memset(big, 'a', sizeof big);
  expect_query_fail(big, HTTP_QUERY_MAX_RAW + 1, ERR_TOOBIG, "query_too_long",
                    "");
  for (int i = 0; i <= HTTP_QUERY_MAX_PARAMS; i++)
    o += (size_t)snprintf(many + o, sizeof many - o, "%sp%d=1",
                          i > 0 ? "&" : "", i);
  expect_query_fail(many, o, ERR_TOOBIG, "too_many_parameters", "");
  memcpy(longval, "v=", 2);
  memset(longval + 2, 'x', HTTP_QUERY_MAX_VALUE + 1);
  expect_query_fail(longval, HTTP_QUERY_MAX_VALUE + 3, ERR_TOOBIG,
                    "parameter_too_long", "v");
}

static void test_query_limits_ok(void **state) {
  char many[256];
  char val[HTTP_QUERY_MAX_VALUE * 3 + 8];
  struct http_query q;
  size_t o = 0;
  (void)state;
  for (int i = 0; i < HTTP_QUERY_MAX_PARAMS; i++)
    o += (size_t)snprintf(many + o, sizeof many - o, "%sp%d=%d",
                          i > 0 ? "&" : "", i, i);
  assert_int_equal(http_query_parse(many, o, &q, NULL), 0);
  assert_int_equal(q.count, HTTP_QUERY_MAX_PARAMS);
  assert_string_equal(http_query_get(&q, "p15"), "15");
  /* A value exactly at the cap, percent-encoded (3 raw bytes each). */
  o = 0;
  memcpy(val, "v=", 2);
  o = 2;
  for (int i = 0; i < HTTP_QUERY_MAX_VALUE / 4; i++) {
    memcpy(val + o, "%41bcd", 6);
    o += 6;
  }
  assert_int_equal(http_query_parse(val, o, &q, NULL), 0);
  assert_int_equal(strlen(http_query_get(&q, "v")), HTTP_QUERY_MAX_VALUE);
  assert_memory_equal(http_query_get(&q, "v"), "Abcd", 4);
  /* The struct holds offsets, not pointers: a copy reads the same. */
  {
    struct http_query copy = q;
    memset(&q, 0, sizeof q);
    assert_int_equal(strlen(http_query_get(&copy, "v")), HTTP_QUERY_MAX_VALUE);
  }
}

/* ------------------------------------------------------------ messages */

static void test_messages(void **state) {
  struct buf b;
  (void)state;
  buf_init(&b, 4096);
  assert_int_equal(http_error_message("unknown_unit", "fi", "x", &b), 0);
  assert_string_equal(buf_str(&b), "tuntematon yksikkö 'x'");
  buf_reset(&b);
  assert_int_equal(http_error_message("unknown_unit", "sv", "x", &b), 0);
  assert_string_equal(buf_str(&b), "okänd enhet 'x'");
  buf_reset(&b);
  assert_int_equal(http_error_message("unknown_unit", "en", "x", &b), 0);
  assert_string_equal(buf_str(&b), "unknown unit 'x'");
  buf_reset(&b);
  assert_int_equal(http_error_message("nope", "en", "x", &b), ERR_NOTFOUND);
  assert_int_equal(http_error_message("unknown_unit", "de", "x", &b),
                   ERR_NOTFOUND);
  /* Control characters and invalid UTF-8 are replaced; long args cut. */
  buf_reset(&b);
  assert_int_equal(
      http_error_message("unknown_unit", "en", "a\nb\xff\xc3\xa4", &b), 0);
  assert_string_equal(buf_str(&b), "unknown unit 'a?b?\xc3\xa4'");
  buf_reset(&b);
  {
    char longarg[200];
    memset(longarg, 'x', sizeof longarg - 1);
    longarg[sizeof longarg - 1] = '\0';
    assert_int_equal(http_error_message("unknown_unit", "en", longarg, &b), 0);
    assert_int_equal(strlen(buf_str(&b)), strlen("unknown unit ''") + 64 + 3);
    assert_non_null(strstr(buf_str(&b), "xxx...'"));
  }
  buf_release(&b);
}

static void test_error_json(void **state) {
  struct buf b;
  (void)state;
  buf_init(&b, 4096);
  assert_int_equal(http_error_json(400, "unknown_unit", "unit", "x\"y", &b), 0);
  assert_string_equal(
      buf_str(&b),
      "{\"error\":{\"status\":400,\"code\":\"unknown_unit\",\"field\":"
      "\"unit\",\"message\":\"unknown unit 'x\\\"y'\",\"i18n\":{\"fi\":"
      "\"tuntematon yksikkö 'x\\\"y'\",\"sv\":\"okänd enhet 'x\\\"y'\","
      "\"en\":\"unknown unit 'x\\\"y'\"}}}");
  buf_reset(&b);
  assert_int_equal(http_error_json(404, "not_found", NULL, NULL, &b), 0);
  assert_string_equal(
      buf_str(&b),
      "{\"error\":{\"status\":404,\"code\":\"not_found\",\"field\":null,"
      "\"message\":\"not found\",\"i18n\":{\"fi\":\"sivua tai tietoa ei "
      "löydy\",\"sv\":\"sidan eller uppgiften hittades inte\",\"en\":\"not "
      "found\"}}}");
  buf_reset(&b);
  /* The 404s of /api/v1/indicators/{id} and /api/v1/dashboards/{name}
   * name what was not found. */
  assert_int_equal(http_error_json(404, "unknown_indicator", NULL, "t3_x", &b),
                   0);
  assert_string_equal(
      buf_str(&b),
      "{\"error\":{\"status\":404,\"code\":\"unknown_indicator\",\"field\":"
      "null,\"message\":\"unknown indicator 't3_x'\",\"i18n\":{\"fi\":"
      "\"tuntematon indikaattori 't3_x'\",\"sv\":\"okänd indikator "
      "'t3_x'\",\"en\":\"unknown indicator 't3_x'\"}}}");
  buf_reset(&b);
  assert_int_equal(http_error_message("unknown_dashboard", "sv", "v", &b), 0);
  assert_string_equal(buf_str(&b), "okänd vy 'v'");
  buf_reset(&b);
  /* An unknown code falls back to "internal". */
  assert_int_equal(http_error_json(500, "no_such_code", NULL, NULL, &b), 0);
  assert_non_null(strstr(buf_str(&b), "\"code\":\"internal\""));
  buf_release(&b);
}

static void test_content_types(void **state) {
  (void)state;
  assert_string_equal(http_content_type("index.html"),
                      "text/html; charset=utf-8");
  assert_string_equal(http_content_type("js/app.js"),
                      "text/javascript; charset=utf-8");
  assert_string_equal(http_content_type("m.mjs"),
                      "text/javascript; charset=utf-8");
  assert_string_equal(http_content_type("a.css"), "text/css; charset=utf-8");
  assert_string_equal(http_content_type("i18n/fi.json"), "application/json");
  assert_string_equal(http_content_type("x.svg"), "image/svg+xml");
  assert_string_equal(http_content_type("x.png"), "image/png");
  assert_string_equal(http_content_type("favicon.ico"), "image/x-icon");
  assert_string_equal(http_content_type("f.woff2"), "font/woff2");
  assert_string_equal(http_content_type("chart.umd.js.map"),
                      "application/json");
  assert_null(http_content_type("x.exe"));
  assert_null(http_content_type("Makefile"));
  assert_null(http_content_type("dir.js/file"));
}

/* ------------------------------------------------------------ fixture */

struct fixture {
  char root[256];   /* temporary directory */
  char web[300];    /* root/web */
  char vendor[300]; /* root/node_modules */
  struct http_server *srv;
  uint16_t port;
  atomic_int auth_mode; /* 0 allow, 1 deny person-level, 2 unauthenticated */
  atomic_uint auth_calls;
};

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void pathf(char *out, size_t cap, const char *a, const char *b) {
  snprintf(out, cap, "%s/%s", a, b);
}

/* Echoes the query as a JSON object (values are plain test text). */
static int h_echo(void *ctx, const struct http_request *req,
                  struct http_reply *rep) {
  const struct http_query *q = http_request_query(req);
  struct buf b;
  (void)ctx;
  buf_init(&b, 4096);
  assert_int_equal(buf_putc(&b, '{'), 0);
  for (size_t i = 0; i < q->count; i++)
    assert_int_equal(buf_printf(&b, "%s\"%s\":\"%s\"", i > 0 ? "," : "",
                                http_query_key_at(q, i),
                                http_query_value_at(q, i)),
                     0);
  assert_int_equal(buf_putc(&b, '}'), 0);
  http_reply_json(rep, 200, &b);
  return http_reply_header(rep, "X-Test", "echo");
}

static int h_body(void *ctx, const struct http_request *req,
                  struct http_reply *rep) {
  size_t len;
  const char *body = http_request_body(req, &len);
  struct buf b;
  (void)ctx;
  buf_init(&b, 1 << 20);
  assert_int_equal(buf_printf(&b, "%s %zu:", http_request_method(req), len), 0);
  if (len > 0)
    assert_int_equal(buf_append(&b, body, len), 0);
  http_reply_body(rep, 201, "text/plain; charset=utf-8", &b);
  return 0;
}

static int h_fail(void *ctx, const struct http_request *req,
                  struct http_reply *rep) {
  (void)ctx;
  (void)req;
  (void)rep;
  return ERR_STORE;
}

static int h_silent(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  (void)ctx;
  (void)req;
  (void)rep;
  return 0; /* no reply: a bug the server turns into 500 */
}

static int h_person(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  static const char body[] = "{\"person\":true}";
  (void)ctx;
  assert_int_equal(http_request_route_flags(req), HTTP_ROUTE_PERSON_LEVEL);
  http_reply_static(rep, 200, "application/json", body, sizeof body - 1);
  return 0;
}

static int h_prefix(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  struct buf b;
  (void)ctx;
  buf_init(&b, 4096);
  assert_int_equal(buf_printf(&b, "{\"path\":\"%s\"}", http_request_path(req)),
                   0);
  http_reply_json(rep, 200, &b);
  return 0;
}

static int h_header(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  const char *v = http_request_header(req, "x-probe");
  struct buf b;
  (void)ctx;
  buf_init(&b, 4096);
  assert_int_equal(buf_printf(&b, "{\"probe\":\"%s\"}", v != NULL ? v : ""), 0);
  http_reply_json(rep, 200, &b);
  /* Bad header names and values are refused. */
  assert_int_equal(http_reply_header(rep, "Bad Name", "x"), ERR_INVAL);
  assert_int_equal(http_reply_header(rep, "X-Ok", "a\r\nInjected: 1"),
                   ERR_INVAL);
  return 0;
}

static int authorize(void *ctx, const struct http_request *req,
                     unsigned flags) {
  struct fixture *fx = ctx;
  (void)req;
  atomic_fetch_add(&fx->auth_calls, 1);
  if (atomic_load(&fx->auth_mode) == 1 && (flags & HTTP_ROUTE_PERSON_LEVEL))
    return ERR_DENIED;
  if (atomic_load(&fx->auth_mode) == 2)
    return ERR_AGAIN;
  return 0;
}

static const char *const echo_params[] = {"a", "b", "unit", NULL};

static void add_routes(struct http_server *srv, struct fixture *fx) {
  const struct http_route routes[] = {
      {HTTP_M_GET, "/api/v1/echo", 0, echo_params, "echo", h_echo, fx},
      {HTTP_M_POST | HTTP_M_PUT, "/api/v1/body", 0, NULL, "body", h_body, fx},
      {HTTP_M_GET, "/api/v1/fail", 0, NULL, "fail", h_fail, fx},
      {HTTP_M_GET, "/api/v1/silent", 0, NULL, NULL, h_silent, fx},
      {HTTP_M_GET, "/api/v1/person", HTTP_ROUTE_PERSON_LEVEL, NULL, "person",
       h_person, fx},
      {HTTP_M_GET, "/api/v1/tree/", HTTP_ROUTE_PREFIX, NULL, "tree", h_prefix,
       fx},
      {HTTP_M_GET, "/api/v1/tree/special", 0, NULL, "special", h_echo, fx},
      {HTTP_M_GET, "/api/v1/header", 0, NULL, "header", h_header, fx},
  };
  struct error err;
  for (size_t i = 0; i < ARRAY_LEN(routes); i++)
    assert_int_equal(http_server_route(srv, &routes[i], &err), 0);
}

static int setup(void **state) {
  struct fixture *fx = mem_calloc(1, sizeof *fx);
  struct http_options o;
  struct error err;
  char p[512];
  strcpy(fx->root, "/tmp/tk-test-http-XXXXXX");
  assert_non_null(mkdtemp(fx->root));
  pathf(fx->web, sizeof fx->web, fx->root, "web");
  pathf(fx->vendor, sizeof fx->vendor, fx->root, "node_modules");
  assert_int_equal(mkdir(fx->web, 0700), 0);
  assert_int_equal(mkdir(fx->vendor, 0700), 0);
  pathf(p, sizeof p, fx->web, "index.html");
  write_file(p, "<!doctype html><title>t</title>\n");
  pathf(p, sizeof p, fx->web, "css");
  assert_int_equal(mkdir(p, 0700), 0);
  pathf(p, sizeof p, fx->web, "css/app.css");
  write_file(p, "body{color:#000}\n");
  pathf(p, sizeof p, fx->web, "js");
  assert_int_equal(mkdir(p, 0700), 0);
  pathf(p, sizeof p, fx->web, "js/app.js");
  write_file(p, "export const x = 1;\n");
  pathf(p, sizeof p, fx->web, ".hidden.css");
  write_file(p, "secret\n");
  pathf(p, sizeof p, fx->web, "x.exe");
  write_file(p, "MZ\n");
  pathf(p, sizeof p, fx->root, "secret.css");
  write_file(p, "outside the web root\n");
  {
    char target[512];
    pathf(target, sizeof target, fx->root, "secret.css");
    pathf(p, sizeof p, fx->web, "link.css");
    assert_int_equal(symlink(target, p), 0);
    pathf(p, sizeof p, fx->web, "linkdir");
    assert_int_equal(symlink(fx->root, p), 0);
  }
  pathf(p, sizeof p, fx->web, "fifo.css");
  assert_int_equal(mkfifo(p, 0600), 0);
  pathf(p, sizeof p, fx->web, "dir.css");
  assert_int_equal(mkdir(p, 0700), 0);
  pathf(p, sizeof p, fx->vendor, "chart.js");
  assert_int_equal(mkdir(p, 0700), 0);
  pathf(p, sizeof p, fx->vendor, "chart.js/dist");
  assert_int_equal(mkdir(p, 0700), 0);
  pathf(p, sizeof p, fx->vendor, "chart.js/dist/chart.umd.js");
  write_file(p, "/* chart */\n");
  pathf(p, sizeof p, fx->vendor, "chart.js/package.json");
  write_file(p, "{}\n");

  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.body_max = 1024;
  o.web_root = fx->web;
  o.vendor_root = fx->vendor;
  error_clear(&err);
  if (http_server_new(&o, &fx->srv, &err) != 0)
    fail_msg("http_server_new: %s", err.msg);
  add_routes(fx->srv, fx);
  http_server_set_authorizer(fx->srv, authorize, fx);
  if (http_server_start(fx->srv, &err) != 0)
    fail_msg("http_server_start: %s", err.msg);
  fx->port = http_server_port(fx->srv);
  assert_true(fx->port > 0);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  char cmd[600];
  http_server_free(fx->srv);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->root);
  assert_int_equal(system(cmd), 0);
  mem_free(fx);
  return 0;
}

/* Every response carries the security headers; 'cache' is the expected
 * Cache-Control. */
static void assert_security_headers(const struct tc_response *r,
                                    const char *cache) {
  assert_non_null(tc_header(r, "Content-Security-Policy"));
  assert_string_equal(tc_header(r, "Content-Security-Policy"), CSP_EXPECTED);
  assert_string_equal(tc_header(r, "X-Content-Type-Options"), "nosniff");
  assert_string_equal(tc_header(r, "Referrer-Policy"), "no-referrer");
  assert_string_equal(tc_header(r, "X-Frame-Options"), "DENY");
  assert_string_equal(tc_header(r, "Cache-Control"), cache);
  assert_null(tc_header(r, "Strict-Transport-Security"));
}

static void get_ok(uint16_t port, const char *target, int status,
                   struct tc_response *r) {
  if (!tc_get(port, target, r))
    fail_msg("no response for '%s'", target);
  if (r->status != status)
    fail_msg("'%s': status %d, expected %d; body: %s", target, r->status,
             status, r->body);
}

/* ------------------------------------------------------------ static */

static void test_index_and_static(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  char etag[128];
  char extra[256];
  get_ok(fx->port, "/", 200, &r);
  assert_string_equal(r.body, "<!doctype html><title>t</title>\n");
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/html; charset=utf-8");
  assert_security_headers(&r, "no-cache");
  assert_non_null(tc_header(&r, "ETag"));
  tc_response_free(&r);

  get_ok(fx->port, "/static/css/app.css", 200, &r);
  assert_string_equal(r.body, "body{color:#000}\n");
  assert_string_equal(tc_header(&r, "Content-Type"), "text/css; charset=utf-8");
  assert_string_equal(tc_header(&r, "Content-Length"), "17");
  strcpy(etag, tc_header(&r, "ETag"));
  assert_true(etag[0] == '"');
  tc_response_free(&r);

  /* Revalidation: the same ETag gives 304 without a body. */
  snprintf(extra, sizeof extra, "If-None-Match: %s\r\n", etag);
  assert_true(tc_request(fx->port, "GET", "/static/css/app.css", extra, &r));
  assert_int_equal(r.status, 304);
  assert_int_equal(r.body_len, 0);
  assert_string_equal(tc_header(&r, "ETag"), etag);
  assert_security_headers(&r, "no-cache");
  tc_response_free(&r);

  get_ok(fx->port, "/static/js/app.js", 200, &r);
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/javascript; charset=utf-8");
  tc_response_free(&r);

  /* HEAD: headers with the length, no body. */
  assert_true(tc_request(fx->port, "HEAD", "/static/js/app.js", NULL, &r));
  assert_int_equal(r.status, 200);
  assert_string_equal(tc_header(&r, "Content-Length"), "20");
  assert_int_equal(r.body_len, 0);
  assert_security_headers(&r, "no-cache");
  tc_response_free(&r);
}

static void test_static_refusals(void **state) {
  struct fixture *fx = *state;
  static const struct {
    const char *target;
    int status;
  } cases[] = {
      {"/static/../secret.css", 404},     /* ".." segment */
      {"/static/%2e%2e/secret.css", 404}, /* encoded ".." */
      {"/static/css/../../secret.css", 404},
      {"/static/..%2fsecret.css", 400}, /* encoded slash */
      {"/static/%2Fetc%2Fpasswd", 400},
      {"/static/a%00b.css", 400},          /* NUL */
      {"/static/..\\secret.css", 400},     /* backslash */
      {"/static/%5c..%5csecret.css", 400}, /* encoded backslash */
      {"/static/%zz.css", 400},            /* bad escape */
      {"/static/%ff.css", 400},            /* not UTF-8 */
      {"/static//etc/passwd", 404},        /* empty segment */
      {"/static/link.css", 404},           /* symlink out of the root */
      {"/static/linkdir/secret.css", 404}, /* symlinked directory */
      {"/static/.hidden.css", 404},        /* dot file */
      {"/static/fifo.css", 404},           /* not a regular file */
      {"/static/dir.css", 404},            /* a directory */
      {"/static/x.exe", 404},              /* type not served */
      {"/static/", 404},
      {"/static/css", 404},
      {"/static/missing.css", 404},
      {"/vendor/chart.js/package.json", 404}, /* not on the allowlist */
      {"/vendor/chart.js/dist/../package.json", 404},
      {"/vendor/", 404},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    struct tc_response r;
    get_ok(fx->port, cases[i].target, cases[i].status, &r);
    /* Outside /api/ errors are HTML pages, in three languages. */
    assert_string_equal(tc_header(&r, "Content-Type"),
                        "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<p lang=\"fi\">"));
    assert_non_null(strstr(r.body, "<p lang=\"sv\">"));
    assert_non_null(strstr(r.body, "<p lang=\"en\">"));
    assert_null(strstr(r.body, "outside the web root"));
    assert_null(strstr(r.body, "secret"));
    assert_security_headers(&r, "no-store");
    tc_response_free(&r);
  }
  /* Absolute-form targets are refused. */
  {
    struct tc_response r;
    assert_true(tc_raw(fx->port,
                       "GET http://127.0.0.1/static/css/app.css HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\nConnection: close\r\n\r\n",
                       &r));
    assert_int_equal(r.status, 400);
    tc_response_free(&r);
  }
}

static void test_vendor(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_ok(fx->port, "/vendor/chart.js/dist/chart.umd.js", 200, &r);
  assert_string_equal(r.body, "/* chart */\n");
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/javascript; charset=utf-8");
  assert_security_headers(&r, "no-cache");
  tc_response_free(&r);
  /* On the allowlist but not installed. */
  get_ok(fx->port, "/vendor/chart.js/dist/chart.umd.min.js", 404, &r);
  tc_response_free(&r);
}

/* ------------------------------------------------------------ routing */

static void test_routes_and_queries(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_ok(fx->port, "/api/v1/echo?a=1&b=x+y%21", 200, &r);
  assert_string_equal(r.body, "{\"a\":\"1\",\"b\":\"x y!\"}");
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_string_equal(tc_header(&r, "X-Test"), "echo");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  /* The path is decoded before routing. */
  get_ok(fx->port, "/api/v1/%65cho?unit=%C3%A4", 200, &r);
  assert_string_equal(r.body, "{\"unit\":\"\xc3\xa4\"}");
  tc_response_free(&r);

  get_ok(fx->port, "/api/v1/echo?c=1", 400, &r);
  assert_string_equal(
      r.body,
      "{\"error\":{\"status\":400,\"code\":\"unknown_parameter\",\"field\":"
      "\"c\",\"message\":\"unknown parameter 'c'\",\"i18n\":{\"fi\":"
      "\"tuntematon parametri 'c'\",\"sv\":\"okänd parameter 'c'\",\"en\":"
      "\"unknown parameter 'c'\"}}}");
  assert_string_equal(tc_header(&r, "Content-Type"), "application/json");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  get_ok(fx->port, "/api/v1/echo?a=1&a=2", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"duplicate_parameter\","
                                 "\"field\":\"a\""));
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/echo?a=%ff", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"bad_encoding\",\"field\":\"a\""));
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/echo?a[]=1", 400, &r);
  assert_non_null(
      strstr(r.body, "\"code\":\"bad_parameter_name\",\"field\":null"));
  tc_response_free(&r);
  /* A route without parameters refuses any. */
  get_ok(fx->port, "/api/v1/fail?x=1", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"unknown_parameter\""));
  tc_response_free(&r);

  /* Prefix routes: the longest match wins, exact routes before prefixes. */
  get_ok(fx->port, "/api/v1/tree/a/b", 200, &r);
  assert_string_equal(r.body, "{\"path\":\"/api/v1/tree/a/b\"}");
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/tree/special", 200, &r);
  assert_string_equal(r.body, "{}");
  tc_response_free(&r);

  /* Request headers reach the handler. */
  assert_true(
      tc_request(fx->port, "GET", "/api/v1/header", "X-Probe: 42\r\n", &r));
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"probe\":\"42\"}");
  assert_null(tc_header(&r, "Injected"));
  tc_response_free(&r);
}

static void test_not_found_and_methods(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_ok(fx->port, "/api/v1/nope", 404, &r);
  assert_string_equal(
      r.body, "{\"error\":{\"status\":404,\"code\":\"not_found\",\"field\":"
              "null,\"message\":\"not found\",\"i18n\":{\"fi\":\"sivua tai "
              "tietoa ei löydy\",\"sv\":\"sidan eller uppgiften hittades "
              "inte\",\"en\":\"not found\"}}}");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  get_ok(fx->port, "/nope", 404, &r);
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/html; charset=utf-8");
  assert_non_null(strstr(r.body, "<h1>404</h1>"));
  assert_non_null(strstr(r.body, "sivua tai tietoa ei löydy"));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  assert_true(tc_request(fx->port, "POST", "/api/v1/echo",
                         "Content-Length: 0\r\n", &r));
  assert_int_equal(r.status, 405);
  assert_string_equal(tc_header(&r, "Allow"), "GET, HEAD, OPTIONS");
  assert_non_null(strstr(r.body, "\"code\":\"method_not_allowed\""));
  assert_non_null(strstr(r.body, "method 'POST' not allowed"));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  assert_true(tc_request(fx->port, "DELETE", "/api/v1/body", NULL, &r));
  assert_int_equal(r.status, 405);
  assert_string_equal(tc_header(&r, "Allow"), "POST, PUT, OPTIONS");
  tc_response_free(&r);

  assert_true(tc_request(fx->port, "BREW", "/api/v1/echo", NULL, &r));
  assert_int_equal(r.status, 405);
  tc_response_free(&r);

  /* 405 on a static path is an HTML page. */
  assert_true(tc_request(fx->port, "PUT", "/static/css/app.css",
                         "Content-Length: 0\r\n", &r));
  assert_int_equal(r.status, 405);
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/html; charset=utf-8");
  tc_response_free(&r);

  assert_true(tc_request(fx->port, "OPTIONS", "/api/v1/echo", NULL, &r));
  assert_int_equal(r.status, 204);
  assert_string_equal(tc_header(&r, "Allow"), "GET, HEAD, OPTIONS");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  assert_true(tc_request(fx->port, "HEAD", "/api/v1/echo?a=1", NULL, &r));
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, 0);
  assert_string_equal(tc_header(&r, "Content-Length"), "9");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);
}

static void test_bad_targets(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  char *target = mem_alloc(HTTP_MAX_TARGET + 64);
  get_ok(fx->port, "/api/v1/%zz", 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"bad_path\""));
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/a%2Fb", 400, &r);
  tc_response_free(&r);

  strcpy(target, "/api/v1/echo?a=");
  memset(target + strlen(target), 'x', HTTP_MAX_TARGET);
  target[HTTP_MAX_TARGET + 10] = '\0';
  get_ok(fx->port, target, 414, &r);
  assert_non_null(strstr(r.body, "\"code\":\"uri_too_long\""));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  /* A query over its cap but within the target cap. */
  strcpy(target, "/api/v1/echo?a=");
  memset(target + strlen(target), 'x', HTTP_QUERY_MAX_RAW);
  target[15 + HTTP_QUERY_MAX_RAW] = '\0';
  get_ok(fx->port, target, 400, &r);
  assert_non_null(strstr(r.body, "\"code\":\"query_too_long\""));
  tc_response_free(&r);
  mem_free(target);
}

static void test_body(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  char big[2048];
  char req[4096];
  assert_true(tc_raw(fx->port,
                     "POST /api/v1/body HTTP/1.1\r\nHost: x\r\n"
                     "Connection: close\r\nContent-Length: 5\r\n\r\nhello",
                     &r));
  assert_int_equal(r.status, 201);
  assert_string_equal(r.body, "POST 5:hello");
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  /* Declared length over the cap: 413 before the body is read. */
  assert_true(tc_request(fx->port, "PUT", "/api/v1/body",
                         "Content-Length: 1025\r\n", &r));
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(r.body, "\"code\":\"body_too_large\""));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);

  /* A GET announcing a body is refused before the body is sent. */
  assert_true(
      tc_request(fx->port, "GET", "/api/v1/echo", "Content-Length: 3\r\n", &r));
  assert_int_equal(r.status, 413);
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);
  assert_true(tc_request(fx->port, "GET", "/api/v1/echo",
                         "Transfer-Encoding: chunked\r\n", &r));
  assert_int_equal(r.status, 413);
  tc_response_free(&r);

  /* Chunked over the cap: 413 after the body. */
  memset(big, 'z', sizeof big);
  snprintf(req, sizeof req,
           "POST /api/v1/body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Transfer-Encoding: chunked\r\n\r\n400\r\n%.1024s\r\n1\r\nz\r\n"
           "0\r\n\r\n",
           big);
  assert_true(tc_raw(fx->port, req, &r));
  assert_int_equal(r.status, 413);
  tc_response_free(&r);

  /* Chunked, and far over the cap: the connection is closed rather than
   * the whole body read. */
  {
    int fd = tc_connect(fx->port);
    static const char head[] = "POST /api/v1/body HTTP/1.1\r\nHost: x\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    char chunk[16384 + 16];
    bool closed = false;
    assert_true(fd >= 0);
    assert_true(tc_send_all(fd, head, sizeof head - 1));
    memcpy(chunk, "4000\r\n", 6);
    memset(chunk + 6, 'q', 16384);
    memcpy(chunk + 6 + 16384, "\r\n", 2);
    for (int i = 0; i < 4096 && !closed; i++) /* up to 64 MiB */
      closed = !tc_send_all(fd, chunk, 6 + 16384 + 2);
    assert_true(closed);
    close(fd);
  }

  /* Chunked within the cap. */
  snprintf(req, sizeof req,
           "POST /api/v1/body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n"
           "0\r\n\r\n");
  assert_true(tc_raw(fx->port, req, &r));
  assert_int_equal(r.status, 201);
  assert_string_equal(r.body, "POST 5:abcde");
  tc_response_free(&r);
}

static void test_handler_failures(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  get_ok(fx->port, "/api/v1/fail", 500, &r);
  assert_non_null(strstr(r.body, "\"code\":\"internal\""));
  assert_non_null(strstr(r.body, "\"fi\":\"palvelimen sisäinen virhe\""));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/silent", 500, &r);
  tc_response_free(&r);
}

static void test_authorizer(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  unsigned before = atomic_load(&fx->auth_calls);
  get_ok(fx->port, "/api/v1/person", 200, &r);
  assert_string_equal(r.body, "{\"person\":true}");
  tc_response_free(&r);
  assert_int_equal(atomic_load(&fx->auth_calls), before + 1);
  atomic_store(&fx->auth_mode, 1);
  get_ok(fx->port, "/api/v1/person", 403, &r);
  assert_non_null(strstr(r.body, "\"code\":\"forbidden\""));
  assert_security_headers(&r, "no-store");
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/echo", 200, &r); /* not person-level */
  tc_response_free(&r);
  atomic_store(&fx->auth_mode, 2);
  get_ok(fx->port, "/api/v1/echo", 401, &r);
  assert_non_null(strstr(r.body, "\"code\":\"unauthorized\""));
  tc_response_free(&r);
  /* Static files do not ask the authorizer (the UI must load to sign in). */
  before = atomic_load(&fx->auth_calls);
  get_ok(fx->port, "/static/css/app.css", 200, &r);
  tc_response_free(&r);
  assert_int_equal(atomic_load(&fx->auth_calls), before);
  atomic_store(&fx->auth_mode, 0);
}

static void test_keepalive(void **state) {
  struct fixture *fx = *state;
  int fd = tc_connect(fx->port);
  static const char first[] =
      "GET /api/v1/echo?a=1 HTTP/1.1\r\nHost: x\r\n\r\n";
  static const char second[] = "GET /api/v1/echo?a=2 HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n";
  char buf[8192];
  size_t got = 0;
  size_t len;
  char *rest;
  struct tc_response r;
  assert_true(fd >= 0);
  assert_true(tc_send_all(fd, first, sizeof first - 1));
  /* Read the first response (its length is known) without closing. */
  while (got < sizeof buf - 1) {
    ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
    assert_true(n > 0);
    got += (size_t)n;
    buf[got] = '\0';
    if (strstr(buf, "{\"a\":\"1\"}") != NULL)
      break;
  }
  assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
  assert_null(strstr(buf, "Connection: close"));
  /* The same connection serves a second request. */
  assert_true(tc_send_all(fd, second, sizeof second - 1));
  rest = tc_read_all(fd, &len);
  close(fd);
  assert_true(tc_parse(rest, len, &r));
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"a\":\"2\"}");
  tc_response_free(&r);
}

static void test_metrics(void **state) {
  struct fixture *fx = *state;
  struct tc_response r;
  struct buf b;
  get_ok(fx->port, "/api/v1/tree/metrics-probe", 200, &r);
  tc_response_free(&r);
  get_ok(fx->port, "/api/v1/tree/metrics-probe", 200, &r);
  tc_response_free(&r);
  get_ok(fx->port, "/no/such/path/for/metrics", 404, &r);
  tc_response_free(&r);
  /* The completion callback may run just after the client saw the end of
   * the response: wait for the last count to land. */
  buf_init(&b, 1 << 20);
  for (int i = 0; i < 500; i++) {
    buf_reset(&b);
    assert_int_equal(http_server_metrics(fx->srv, &b), 0);
    if (strstr(buf_str(&b), "route=\"none\",status=\"404\"} 1\n") != NULL &&
        strstr(buf_str(&b), "route=\"tree\",status=\"200\"} 2\n") != NULL)
      break;
    usleep(10000);
  }
  assert_non_null(
      strstr(buf_str(&b), "# TYPE tilannekuva_http_requests_total counter\n"));
  assert_non_null(strstr(
      buf_str(&b),
      "tilannekuva_http_requests_total{route=\"tree\",status=\"200\"} 2\n"));
  assert_non_null(strstr(
      buf_str(&b),
      "tilannekuva_http_requests_total{route=\"none\",status=\"404\"} 1\n"));
  assert_non_null(strstr(buf_str(&b),
                         "tilannekuva_http_request_duration_seconds_bucket{"
                         "route=\"tree\",le=\"+Inf\"} 2\n"));
  assert_non_null(strstr(buf_str(&b),
                         "tilannekuva_http_request_duration_seconds_count{"
                         "route=\"tree\"} 2\n"));
  buf_release(&b);
}

/* ------------------------------------------------------------ options */

static void test_options(void **state) {
  static const char *const bad[] = {
      "",
      "8080",
      "127.0.0.1",
      "127.0.0.1:",
      ":8080",
      "127.0.0.1:x",
      "127.0.0.1:65536",
      "1.2.3:80",
      "[::1]8080",
      "[::1:80",
      "[zz]:80",
      "example.org:80",
      "127.0.0.1:-1",
  };
  struct http_options o;
  struct http_server *srv = NULL;
  struct error err;
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    memset(&o, 0, sizeof o);
    o.listen = bad[i];
    error_clear(&err);
    assert_int_equal(http_server_new(&o, &srv, &err), ERR_CONFIG);
    assert_null(srv);
    assert_true(err.msg[0] != '\0');
  }
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = "/nonexistent/cert.pem";
  assert_int_equal(http_server_new(&o, &srv, &err), ERR_CONFIG);
  o.tls_key_file = "/nonexistent/key.pem";
  assert_int_equal(http_server_new(&o, &srv, &err), ERR_IO);
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.web_root = "/nonexistent/web";
  assert_int_equal(http_server_new(&o, &srv, &err), ERR_IO);
  assert_null(srv);
  /* Routes: malformed, duplicate, after start. */
  memset(&o, 0, sizeof o);
  o.listen = "localhost:0";
  assert_int_equal(http_server_new(&o, &srv, &err), 0);
  {
    struct http_route rt = {HTTP_M_GET, "/x/", HTTP_ROUTE_PREFIX, NULL, NULL,
                            h_echo,     NULL};
    struct http_route bad_prefix = {
        HTTP_M_GET, "/x", HTTP_ROUTE_PREFIX, NULL, NULL, h_echo, NULL};
    struct http_route no_slash = {HTTP_M_GET, "x", 0, NULL, NULL, h_echo, NULL};
    assert_int_equal(http_server_route(srv, &rt, &err), 0);
    assert_int_equal(http_server_route(srv, &rt, &err), ERR_EXISTS);
    assert_int_equal(http_server_route(srv, &bad_prefix, &err), ERR_INVAL);
    assert_int_equal(http_server_route(srv, &no_slash, &err), ERR_INVAL);
    /* The built-in "/" route exists already. */
    rt.path = "/";
    rt.flags = 0;
    assert_int_equal(http_server_route(srv, &rt, &err), ERR_EXISTS);
    assert_int_equal(http_server_start(srv, &err), 0);
    assert_int_equal(http_server_start(srv, &err), ERR_STATE);
    rt.path = "/late";
    assert_int_equal(http_server_route(srv, &rt, &err), ERR_STATE);
    /* No web root: / is a 404. */
    {
      struct tc_response r;
      get_ok(http_server_port(srv), "/", 404, &r);
      tc_response_free(&r);
    }
  }
  http_server_free(srv);
  http_server_free(NULL);
}

static void test_port_in_use(void **state) {
  struct http_options o;
  struct http_server *a = NULL, *b = NULL;
  struct error err;
  char addr[64];
  (void)state;
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  assert_int_equal(http_server_new(&o, &a, &err), 0);
  assert_int_equal(http_server_start(a, &err), 0);
  snprintf(addr, sizeof addr, "127.0.0.1:%u", http_server_port(a));
  o.listen = addr;
  assert_int_equal(http_server_new(&o, &b, &err), 0);
  assert_int_equal(http_server_start(b, &err), ERR_IO);
  http_server_free(b);
  http_server_free(a);
}

static void test_ipv6(void **state) {
  struct http_options o;
  struct http_server *srv = NULL;
  struct error err;
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  int fd;
  size_t len;
  char *raw;
  struct tc_response r;
  static const char req[] = "GET /nope HTTP/1.1\r\nHost: x\r\n"
                            "Connection: close\r\n\r\n";
  (void)state;
  if (probe < 0) {
    skip();
    return;
  }
  close(probe);
  memset(&o, 0, sizeof o);
  o.listen = "[::1]:0";
  assert_int_equal(http_server_new(&o, &srv, &err), 0);
  if (http_server_start(srv, &err) != 0) {
    http_server_free(srv);
    skip(); /* no IPv6 loopback in this sandbox */
    return;
  }
  fd = tc_connect_ex(http_server_port(srv), true, 0, 5000);
  assert_true(fd >= 0);
  assert_true(tc_send_all(fd, req, sizeof req - 1));
  raw = tc_read_all(fd, &len);
  close(fd);
  assert_true(tc_parse(raw, len, &r));
  assert_int_equal(r.status, 404);
  tc_response_free(&r);
  http_server_free(srv);
}

/* ------------------------------------------------------------ TLS */

/* Writes a fresh self-signed EC certificate and key under 'dir'. */
static void make_cert(const char *dir, char *cert_path, char *key_path) {
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t d;
  unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  time_t now = time(NULL);
  FILE *f;
  assert_int_equal(gnutls_x509_privkey_init(&key), 0);
  assert_int_equal(gnutls_x509_privkey_generate(
                       key, GNUTLS_PK_ECDSA,
                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                   0);
  assert_int_equal(gnutls_x509_crt_init(&crt), 0);
  assert_int_equal(gnutls_x509_crt_set_version(crt, 3), 0);
  assert_int_equal(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), 0);
  assert_int_equal(gnutls_x509_crt_set_activation_time(crt, now - 3600), 0);
  assert_int_equal(gnutls_x509_crt_set_expiration_time(crt, now + 3600), 0);
  assert_int_equal(gnutls_x509_crt_set_dn_by_oid(
                       crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9),
                   0);
  assert_int_equal(gnutls_x509_crt_set_key(crt, key), 0);
  assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0),
                   0);
  sprintf(cert_path, "%s/cert.pem", dir);
  sprintf(key_path, "%s/key.pem", dir);
  assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d), 0);
  f = fopen(cert_path, "w");
  assert_non_null(f);
  fwrite(d.data, 1, d.size, f);
  fclose(f);
  gnutls_free(d.data);
  assert_int_equal(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d),
                   0);
  f = fopen(key_path, "w");
  assert_non_null(f);
  fwrite(d.data, 1, d.size, f);
  fclose(f);
  gnutls_free(d.data);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
}

static void test_tls(void **state) {
  struct fixture *fx = *state;
  char cert[512], key[512];
  struct http_options o;
  struct http_server *srv = NULL;
  struct error err;
  gnutls_session_t s;
  gnutls_certificate_credentials_t cred;
  static const char req[] = "GET /nope HTTP/1.1\r\nHost: localhost\r\n"
                            "Connection: close\r\n\r\n";
  char *raw = malloc(65536);
  size_t len = 0;
  struct tc_response r;
  int fd, rc;
  make_cert(fx->root, cert, key);
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  error_clear(&err);
  rc = http_server_new(&o, &srv, &err);
  if (rc == ERR_UNSUPPORTED) {
    free(raw);
    skip();
    return;
  }
  assert_int_equal(rc, 0);
  assert_true(http_server_tls(srv));
  if (http_server_start(srv, &err) != 0)
    fail_msg("tls start: %s", err.msg);

  fd = tc_connect(http_server_port(srv));
  assert_true(fd >= 0);
  assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
  assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
  assert_int_equal(gnutls_set_default_priority(s), 0);
  assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred), 0);
  gnutls_transport_set_int(s, fd);
  do {
    rc = gnutls_handshake(s);
  } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
  assert_int_equal(rc, 0);
  assert_true(gnutls_record_send(s, req, sizeof req - 1) ==
              (ssize_t)(sizeof req - 1));
  for (;;) {
    ssize_t n = gnutls_record_recv(s, raw + len, 65535 - len);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  raw[len] = '\0';
  gnutls_deinit(s);
  gnutls_certificate_free_credentials(cred);
  close(fd);
  assert_true(tc_parse(raw, len, &r));
  assert_int_equal(r.status, 404);
  assert_string_equal(tc_header(&r, "Strict-Transport-Security"),
                      "max-age=31536000");
  assert_string_equal(tc_header(&r, "X-Frame-Options"), "DENY");
  tc_response_free(&r);

  /* Plain HTTP to the TLS port gets no HTTP response. */
  {
    struct tc_response p;
    assert_false(tc_get(http_server_port(srv), "/nope", &p));
  }
  http_server_free(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_basic),
      cmocka_unit_test(test_query_errors),
      cmocka_unit_test(test_query_limits_ok),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_error_json),
      cmocka_unit_test(test_content_types),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_port_in_use),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test_setup_teardown(test_index_and_static, setup, teardown),
      cmocka_unit_test_setup_teardown(test_static_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vendor, setup, teardown),
      cmocka_unit_test_setup_teardown(test_routes_and_queries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_targets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handler_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_authorizer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
