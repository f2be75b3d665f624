/* http.h -- the HTTP server: libmicrohttpd underneath, a routing table,
 * security headers, static files, a strict query-string parser, JSON errors
 * in Finnish, Swedish and English, and request metrics.
 *
 * Design:
 *  - libmicrohttpd runs its own polling threads (a small pool); every
 *    request goes through one access handler that decodes the raw request
 *    target itself (path and query: MHD's own unescaping is not used),
 *    finds the route, checks the method, the query parameters and the body
 *    cap, calls the route's handler, and turns its reply into a response
 *    with the security headers. Handlers never see libmicrohttpd.
 *  - A route is (methods, path, exact or prefix, flags, allowed query
 *    parameters, handler). GET routes also answer HEAD. A path that matches
 *    a route but not its method gets 405 with Allow; OPTIONS gets 204 with
 *    Allow; no match gets 404 (JSON under /api/, HTML elsewhere).
 *  - Built-in routes: GET / (web_root/index.html), GET /static/... (files
 *    under web_root) and GET /vendor/... (an allowlist of files under
 *    vendor_root, the npm node_modules directory).
 *  - Every response carries Content-Security-Policy, X-Content-Type-Options,
 *    Referrer-Policy and X-Frame-Options; Cache-Control no-store except for
 *    static files (no-cache with an ETag); Strict-Transport-Security under
 *    TLS.
 *  - Streaming replies (server-sent events) use a read callback and
 *    suspend/resume: the reader suspends the connection when it has nothing
 *    to send, and any thread resumes it when there is something.
 *  - Error bodies: {"error":{"status","code","field","message",
 *    "i18n":{"fi","sv","en"}}} with the messages from one table keyed by
 *    code (http_error_message).
 *
 * Invariants:
 *  1. routes are added before http_server_start and never change after;
 *  2. a reply is turned into exactly one response; a stream's free callback
 *     runs exactly once, whether or not the stream ever started;
 *  3. every size from the client (request target, query, body) is checked
 *     against a named cap before it is copied.
 *
 * Thread safety: http_server_new/route/start/stop/free from one thread;
 * handlers run on the server's threads, concurrently; http_server_metrics
 * and http_stream_resume from any thread. */
#ifndef TK_HTTP_H
#define TK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

/* Caps. */
#define HTTP_MAX_ROUTES 64
#define HTTP_MAX_TARGET 4096    /* request target (path + query), bytes */
#define HTTP_MAX_PATH 1024      /* decoded path, bytes */
#define HTTP_QUERY_MAX_RAW 2048 /* raw query string, bytes */
#define HTTP_QUERY_MAX_PARAMS 16
#define HTTP_QUERY_MAX_KEY 32    /* parameter name, bytes */
#define HTTP_QUERY_MAX_VALUE 512 /* decoded value, bytes */
#define HTTP_MAX_REPLY_HEADERS 8
#define HTTP_MAX_CERT_FILE (1024u * 1024u)

/* Defaults used when an option is 0. */
#define HTTP_DEFAULT_THREADS 2u
#define HTTP_DEFAULT_TIMEOUT_S 60u
#define HTTP_DEFAULT_CONNECTIONS 1024u
#define HTTP_DEFAULT_BODY_MAX (1024u * 1024u)

/* ---- query strings ---------------------------------------------------- */

/* A parsed query string. Values are percent-decoded ('+' is a space), valid
 * UTF-8 without control characters, and NUL-terminated; names are
 * [A-Za-z0-9_.-]{1,HTTP_QUERY_MAX_KEY}. The struct holds its own text (no
 * pointers into itself), so it may be copied. Read it with the accessors. */
struct http_query {
  size_t count;
  struct {
    uint16_t key;   /* offset of the NUL-terminated name in text */
    uint16_t value; /* offset of the NUL-terminated value in text */
    uint16_t value_len;
  } params[HTTP_QUERY_MAX_PARAMS];
  char text[HTTP_QUERY_MAX_RAW + 2 * HTTP_QUERY_MAX_PARAMS + 2];
};

/* Why a query string was refused: 'code' is a stable error code of the
 * message table ("query_too_long", "too_many_parameters",
 * "bad_parameter_name", "parameter_too_long", "bad_encoding",
 * "duplicate_parameter"); 'field' the parameter concerned ("" when none or
 * when its name is itself invalid). */
struct http_query_fault {
  const char *code;
  char field[HTTP_QUERY_MAX_KEY + 1];
};

/* Parses 'len' bytes of a raw query string (without the '?'): parameters
 * separated by '&' (empty ones skipped), name '=' value (a name alone has
 * the value ""). A name may appear once. On success returns 0 and fills
 * *out; on failure returns ERR_TOOBIG (a cap exceeded) or ERR_PARSE, leaves
 * *out untouched and fills 'err'. Pure and reentrant. */
NODISCARD int http_query_parse(const char *raw, size_t len,
                               struct http_query *out, struct error *err);

/* The same, also filling 'fault' (may be NULL) on failure. */
NODISCARD int http_query_parse_detail(const char *raw, size_t len,
                                      struct http_query *out,
                                      struct http_query_fault *fault,
                                      struct error *err);

/* The value of parameter 'key', or NULL when absent. */
const char *http_query_get(const struct http_query *q, const char *key);
/* Name and value of parameter i (< q->count), in the order given. */
const char *http_query_key_at(const struct http_query *q, size_t i);
const char *http_query_value_at(const struct http_query *q, size_t i);

/* ---- error messages --------------------------------------------------- */

/* The message for error 'code' in 'lang' ("fi", "sv" or "en"), with every
 * "{}" in the template replaced by 'arg' (sanitised: at most 64 bytes of
 * valid UTF-8, control characters replaced). Appends to 'out'. ERR_NOTFOUND
 * when the code or language is unknown, ERR_TOOBIG from 'out'. */
NODISCARD int http_error_message(const char *code, const char *lang,
                                 const char *arg, struct buf *out);

/* Appends the JSON error body for (status, code, field, arg) to 'out':
 * {"error":{"status":S,"code":C,"field":F|null,"message":EN,
 *  "i18n":{"fi":..,"sv":..,"en":..}}}. 'field' and 'arg' may be NULL; an
 * unknown code falls back to "internal". 0 or ERR_TOOBIG. */
NODISCARD int http_error_json(unsigned status, const char *code,
                              const char *field, const char *arg,
                              struct buf *out);

/* ---- requests, replies and routes ------------------------------------- */

struct http_server;
struct http_request; /* valid only during the handler call */
struct http_reply;   /* filled by the handler */
struct http_stream;  /* a streaming response's connection */

/* Methods, as bits for http_route.methods. */
#define HTTP_M_GET 0x01u
#define HTTP_M_HEAD 0x02u
#define HTTP_M_POST 0x04u
#define HTTP_M_PUT 0x08u
#define HTTP_M_DELETE 0x10u
#define HTTP_M_PATCH 0x20u
#define HTTP_M_OPTIONS 0x40u

/* Route flags. */
#define HTTP_ROUTE_PREFIX 0x01u /* 'path' is a prefix (ends with '/') */
/* The route shows person-level data: the authorizer decides per request
 * (http_server_set_authorizer). */
#define HTTP_ROUTE_PERSON_LEVEL 0x02u

/* A handler fills 'rep' and returns 0; a negative ERR_* return (or 0
 * without a reply) becomes a 500 "internal" error, logged without detail
 * beyond the route and code. */
typedef int (*http_handler_fn)(void *ctx, const struct http_request *req,
                               struct http_reply *rep);

struct http_route {
  unsigned methods; /* HTTP_M_*; GET implies HEAD */
  const char *path; /* "/api/v1/units"; a prefix ends with '/' */
  unsigned flags;   /* HTTP_ROUTE_* */
  /* Allowed query parameter names, NULL-terminated; NULL = none. Any other
   * parameter is refused with 400 "unknown_parameter". */
  const char *const *params;
  const char *name; /* label in metrics; NULL = 'path' */
  http_handler_fn handler;
  void *ctx;
};

/* Decides whether a request may proceed: 0 to allow, ERR_DENIED for 403
 * "forbidden", ERR_AGAIN for 401 "unauthorized"; other codes become 500.
 * Called for every routed request before its handler, on server threads,
 * with the route's flags. */
typedef int (*http_authorize_fn)(void *ctx, const struct http_request *req,
                                 unsigned route_flags);

/* Called by http_server_stop before the daemon stops, so that streams can
 * end (libmicrohttpd must not stop with suspended connections). */
typedef void (*http_stop_fn)(void *ctx);

/* Request accessors. Strings live as long as the request. */
const char *http_request_method(const struct http_request *req);
/* The percent-decoded path ("/api/v1/units"). */
const char *http_request_path(const struct http_request *req);
const struct http_query *http_request_query(const struct http_request *req);
/* The value of request header 'name' (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req,
                                const char *name);
/* The request body (POST/PUT/PATCH), or NULL with *len 0. */
const char *http_request_body(const struct http_request *req, size_t *len);
unsigned http_request_route_flags(const struct http_request *req);
/* The server handling the request (for /metrics). */
struct http_server *http_request_server(const struct http_request *req);

/* The client's address as text ("192.0.2.1", "2001:db8::1"; an IPv4-mapped
 * IPv6 address is shown as IPv4) into 'out' (INET6_ADDRSTRLEN bytes
 * suffice). 0, or ERR_NOTFOUND when unknown, ERR_TOOBIG when 'cap' is too
 * small ('out' is then ""). */
#define HTTP_HAS_CLIENT_ADDRESS 1
NODISCARD int http_request_client_address(const struct http_request *req,
                                          char *out, size_t cap);

/* For an authorizer: the error to answer (status 400..499, a code of the
 * message table, a field or NULL; the strings must outlive the request,
 * e.g. literals) when it then returns non-zero, instead of the default for
 * its return code. Only from inside the authorizer. */
#define HTTP_HAS_REFUSE 1
void http_request_refuse(const struct http_request *req, unsigned status,
                         const char *code, const char *field);

/* Replies. Each replaces the status and body an earlier call set; headers
 * added with http_reply_header stay (so a handler may set an error and
 * then add Retry-After), except when the server turns a failed handler's
 * reply into a 500, which drops them. */

/* A JSON body (application/json); the bytes of 'body' are taken (it is
 * left empty). */
void http_reply_json(struct http_reply *rep, unsigned status, struct buf *body);
/* A body with 'content_type' (copied); the bytes of 'body' are taken. */
void http_reply_body(struct http_reply *rep, unsigned status,
                     const char *content_type, struct buf *body);
/* A constant body that outlives the server (no copy). */
void http_reply_static(struct http_reply *rep, unsigned status,
                       const char *content_type, const char *data, size_t len);
/* An error body from the message table: JSON under /api/ and for
 * non-HTML routes, else an HTML page. 'field' and 'arg' may be NULL. */
void http_reply_error(struct http_reply *rep, unsigned status, const char *code,
                      const char *field, const char *arg);
/* Adds a response header (name and value copied). ERR_TOOBIG beyond
 * HTTP_MAX_REPLY_HEADERS or 512 bytes in all; ERR_INVAL for characters
 * not allowed in a header. */
NODISCARD int http_reply_header(struct http_reply *rep, const char *name,
                                const char *value);

/* Streaming bodies. 'read' is called on a server thread whenever the
 * client can take bytes: it copies at most 'max' bytes to 'buf' and
 * returns their number; or calls http_stream_suspend(s) and returns 0 when
 * it has nothing now; or returns HTTP_STREAM_END to finish the response
 * normally, HTTP_STREAM_ERROR to abort the connection. 'free' is called
 * exactly once when the response is done (also when it never started). */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*http_stream_read_fn)(void *cls, struct http_stream *s,
                                       char *buf, size_t max);
typedef void (*http_stream_free_fn)(void *cls);

/* A 200 response streamed through 'read' (chunked under HTTP/1.1). */
void http_reply_stream(struct http_reply *rep, const char *content_type,
                       http_stream_read_fn read_fn, http_stream_free_fn free_fn,
                       void *cls);

/* Suspends the stream's connection; only from inside its read callback,
 * which must then return 0. */
void http_stream_suspend(struct http_stream *s);
/* Resumes a connection suspended by http_stream_suspend; any thread; at
 * most once per suspend (track it under the caller's lock). */
void http_stream_resume(struct http_stream *s);

/* ---- the server ------------------------------------------------------- */

struct http_options {
  /* "HOST:PORT": "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080",
   * "[::]:8080" (IPv6 and IPv4). PORT 0 picks a free port
   * (http_server_port). */
  const char *listen;
  unsigned threads;              /* polling threads; 0 = default */
  unsigned connection_timeout_s; /* idle connection timeout; 0 = default */
  unsigned connection_limit;     /* 0 = default */
  unsigned per_ip_limit;         /* 0 = no per-address limit */
  size_t body_max;               /* request body cap; 0 = default */
  const char *tls_cert_file;     /* PEM; both or neither */
  const char *tls_key_file;
  const char *web_root;    /* directory of index.html; NULL = no UI */
  const char *vendor_root; /* npm node_modules directory; NULL = none */
};

/* Validates 'opts' (listen address, TLS files, roots) and creates a server
 * with the built-in routes; nothing listens yet. On failure *out is
 * untouched: ERR_CONFIG for a bad option, ERR_IO when a file or root cannot
 * be opened, ERR_UNSUPPORTED for TLS when libmicrohttpd lacks it. */
NODISCARD int http_server_new(const struct http_options *opts,
                              struct http_server **out, struct error *err);

/* Adds a route (copied; strings and ctx must outlive the server).
 * ERR_STATE once started, ERR_TOOBIG beyond HTTP_MAX_ROUTES, ERR_INVAL for
 * a malformed route, ERR_EXISTS for a duplicate (methods, path). */
NODISCARD int http_server_route(struct http_server *srv,
                                const struct http_route *route,
                                struct error *err);

/* Sets the per-request authorizer (NULL = allow everything). Before start. */
void http_server_set_authorizer(struct http_server *srv, http_authorize_fn fn,
                                void *ctx);

/* Adds a hook run by http_server_stop before the daemon stops (at most
 * 4). Before start. */
NODISCARD int http_server_on_stop(struct http_server *srv, http_stop_fn fn,
                                  void *ctx);

/* Starts listening and serving. ERR_IO when the address cannot be bound,
 * ERR_STATE when already started. */
NODISCARD int http_server_start(struct http_server *srv, struct error *err);

/* The bound port (after start), 0 before. */
uint16_t http_server_port(const struct http_server *srv);

/* Whether the server serves TLS. */
bool http_server_tls(const struct http_server *srv);

/* Runs the stop hooks, then stops listening and closes every connection.
 * Accepts NULL; a no-op when not started. */
void http_server_stop(struct http_server *srv);

/* Stops (when running) and frees. Accepts NULL. */
void http_server_free(struct http_server *srv);

/* Appends the server's metrics in Prometheus text format: requests by
 * route and status (tilannekuva_http_requests_total) and request duration
 * histograms (tilannekuva_http_request_duration_seconds). Thread-safe.
 * 0 or ERR_TOOBIG. */
NODISCARD int http_server_metrics(const struct http_server *srv,
                                  struct buf *out);

/* The Content-Type for a file name by its extension, or NULL when the
 * extension is not served. */
const char *http_content_type(const char *name);

#endif
