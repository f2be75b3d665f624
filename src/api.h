/* api.h -- the JSON API: /healthz, /metrics and /api/v1/... on the HTTP
 * server.
 *
 * Endpoints (docs/API.md has the shapes):
 *   GET /healthz               {"status":"ok"}; 503 {"status":"not_ready"}
 *   GET /metrics               Prometheus text: HTTP, live stream, the app's
 *   GET /api/v1/units          the organisation tree (org_units_json;
 *                              rendered once, the org is immutable)
 *   GET /api/v1/bedboard[?unit=ID]   bed board of the wards under a unit:
 *                              person-level rows only for a person-level
 *                              role with a reason (X-Access-Reason), each
 *                              row audited before the reply; small cells
 *                              suppressed for roles without person-level
 *                              rights (api_auth_access decides)
 *   GET /api/v1/flow?unit=ID   patient flow (the app's callback), small
 *                              cells suppressed as for the bed board
 *   GET /api/v1/t3?unit=ID[&group=G][&at=T]  T3 of the unit's
 *                              professionals of group G (physician by
 *                              default; schedule_group_from_code's codes)
 *                              at the RFC 3339 instant T (default now):
 *                              aggregates over professionals only (the
 *                              app's callback), scoped like flow
 *   GET /api/v1/indicators/ID?unit=&from=&to=&period=   one indicator's
 *                              series (the app's callback); 404 for an
 *                              unknown ID; scoped like flow
 *   GET /api/v1/dashboards/NAME?unit=&period=&at=   every panel of a view
 *                              (NAME: health-stations); 404 otherwise
 *   GET /api/v1/dashboards/NAME/export?...&format=csv|xlsx&panel=&lang=
 *                              a view's tables as a file (attachment)
 *   GET /api/v1/status         ingest status (the app's callback)
 *   GET /api/v1/stream         server-sent events (stream.h)
 *
 * The app (cli serve) fills a struct api_ctx with what it owns and hooks;
 * api_install adds the routes. The authorizer (api_auth_authorize, set by
 * the app) admits or refuses every request (sign-in, role, scope) before a
 * handler runs; handlers of unit-bound data then ask api_auth_access what
 * this request may see. No route here is HTTP_ROUTE_PERSON_LEVEL: the bed
 * board serves every role within scope, at the detail its role and reason
 * allow.
 *
 * Thread safety: handlers run on the HTTP server's threads concurrently;
 * they only read the org, take bed-board snapshots, and call the app's
 * callbacks, which must therefore be thread-safe. */
#ifndef TK_API_H
#define TK_API_H

#include <stdbool.h>

#include "bedboard.h"
#include "buf.h"
#include "compat.h"
#include "dashboard.h"
#include "err.h"
#include "http.h"
#include "org.h"
#include "stream.h"
#include "t3.h"

#define API_MAX_BODY (64u * 1024u * 1024u) /* a JSON response, bytes */

struct api_auth;

/* What the API serves from. Every pointer must outlive the HTTP server.
 * Callbacks may be NULL (the endpoint then answers 503 "unavailable");
 * they are called on server threads, concurrently, with 'app'. A callback
 * appends to 'out' and returns 0, or a negative ERR_* code: ERR_NOTFOUND
 * -> 400 unknown_unit, ERR_AGAIN or ERR_STATE -> 503 not_ready, anything
 * else -> 500 internal. */
struct api_ctx {
  const struct org *org; /* required */
  /* Sign-in and audit (api_auth.h): decides the detail of unit-bound data
   * and records person-level views. NULL: no one is known, so the bed
   * board and flow are served as to a role without person-level rights
   * (small cells suppressed, no rows): it fails closed. */
  struct api_auth *auth;
  struct bedboard *bedboard; /* NULL: /api/v1/bedboard answers 503 */
  struct stream_hub *hub;    /* NULL: /api/v1/stream answers 503 */
  void *app;                 /* passed to every callback */
  bool (*ready)(void *app);  /* NULL: always ready */
  int (*status_json)(void *app, struct buf *out, struct error *err);
  int (*flow_json)(void *app, const char *unit, struct buf *out,
                   struct error *err);
  /* T3 of 'unit' and group 'g' at 't0' (UTC ms), as schedule_t3_json. */
  int (*t3_json)(void *app, const char *unit, enum t3_group g, int64_t t0,
                 struct buf *out, struct error *err);
  /* The access-to-care figures (dashboard.h): a series, a dashboard view
   * and its export. ERR_NOTFOUND -> 404 unknown_indicator /
   * unknown_dashboard; ERR_INVAL -> 400 invalid_parameter naming *param;
   * others as above. */
  int (*series_json)(void *app, const struct dashboard_query *q,
                     struct buf *out, const char **param, struct error *err);
  int (*dashboard_json)(void *app, const struct dashboard_query *q,
                        struct buf *out, const char **param, struct error *err);
  int (*dashboard_export)(void *app, const struct dashboard_query *q,
                          struct buf *out, struct dashboard_file *file,
                          const char **param, struct error *err);
  /* Appends more Prometheus text to /metrics (the app's own counters). */
  int (*metrics_text)(void *app, struct buf *out, struct error *err);
};

struct api;

/* Adds the API's routes to 'srv' (not yet started), copying 'ctx', and
 * registers stream_hub_stop_hook when there is a hub. On success *out owns
 * the API state (free with api_free after the server stops); on failure
 * *out is untouched (ERR_INVAL without an org, or http_server_route's
 * errors) and 'srv' may hold some of the routes: free it, do not start
 * it. */
NODISCARD int api_install(struct http_server *srv, const struct api_ctx *ctx,
                          struct api **out, struct error *err);

/* Accepts NULL. Only after the HTTP server has stopped. */
void api_free(struct api *api);

#endif
