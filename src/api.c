/* api.c -- the JSON API's handlers on the HTTP server.
 *
 * Each handler validates its query parameters (names are already checked
 * against the route's list by http.c), reads what it serves (the immutable
 * org, a bed-board snapshot, or an app callback) into a capped buffer, and
 * hands the bytes to the reply without copying. The organisation tree
 * never changes while serving, so it is rendered once at install time.
 *
 * Access: the authorizer has admitted every request that reaches a
 * handler. The bed board and flow handlers then ask api_auth_access what
 * the request may see: rows (a person-level role with a reason; each row
 * audited, durably, before the reply is made), exact aggregates (a
 * person-level role without a reason), or aggregates with small cells
 * suppressed (every other role, and every request when no api_auth is
 * configured).
 *
 * Invariants:
 *  1. a unit named by a client is looked up in the org before anything
 *     else sees it; an unknown one is a 400 naming the field 'unit';
 *  2. every bed-board snapshot taken is released on every path;
 *  3. no person-level row leaves without its audit record committed: the
 *     rows audited and the rows rendered come from the same snapshot.
 *
 * Thread safety: handlers share only immutable state (struct api after
 * install) and the thread-safe bed board and hub. */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "access.h"
#include "api_auth.h"
#include "audit.h"
#include "chrono.h"
#include "indicator.h"
#include "log.h"
#include "mem.h"
#include "schedule.h"
#include "suppress.h"

#define METRICS_MAX (4u * 1024u * 1024u)
#define UNITS_MAX (64u * 1024u * 1024u)

struct api {
  struct api_ctx ctx;
  char *units_json;
  size_t units_len;
  char *indicators_json; /* the catalogue, rendered once: it never changes */
  size_t indicators_len;
};

static const char *const unit_param[] = {"unit", NULL};
static const char *const t3_params[] = {"unit", "group", "at", NULL};
static const char *const series_params[] = {"unit", "from", "to", "period",
                                            NULL};
static const char *const dash_params[] = {"unit",  "period", "at", "format",
                                          "panel", "lang",   NULL};

#define INDICATORS_PREFIX "/api/v1/indicators/"
#define DASHBOARDS_PREFIX "/api/v1/dashboards/"
#define NAME_MAX_LEN 64 /* bytes of an indicator or dashboard name */

/* Maps an app callback's failure to a reply. */
static void reply_failure(struct http_reply *rep, int rc, const char *what,
                          const char *unit, const struct error *e) {
  if (rc == ERR_NOTFOUND) {
    http_reply_error(rep, 400, "unknown_unit", "unit", unit);
  } else if (rc == ERR_AGAIN || rc == ERR_STATE) {
    http_reply_error(rep, 503, "not_ready", NULL, NULL);
    if (http_reply_header(rep, "Retry-After", "2") != 0) {
      /* the fresh error reply has room; nothing to do otherwise */
    }
  } else {
    log_warn("api", "%s failed: %s: %s", what, err_name(rc),
             e->msg[0] != '\0' ? e->msg : err_str(rc));
    http_reply_error(rep, 500, "internal", NULL, NULL);
  }
}

/* Checks a 'unit' parameter: absent is fine unless 'required'. Returns
 * false with the error reply set when it is not. */
static bool unit_ok(const struct api *api, const struct http_request *req,
                    struct http_reply *rep, bool required, const char **unit) {
  const char *u = http_query_get(http_request_query(req), "unit");
  *unit = NULL;
  if (u == NULL) {
    if (required) {
      http_reply_error(rep, 400, "missing_parameter", "unit", "unit");
      return false;
    }
    return true;
  }
  if (u[0] == '\0') {
    http_reply_error(rep, 400, "invalid_parameter", "unit", "unit");
    return false;
  }
  if (org_unit_find(api->ctx.org, u) == NULL) {
    http_reply_error(rep, 400, "unknown_unit", "unit", u);
    return false;
  }
  *unit = u;
  return true;
}

static int h_healthz(void *ctx, const struct http_request *req,
                     struct http_reply *rep) {
  static const char ok[] = "{\"status\":\"ok\"}";
  static const char starting[] = "{\"status\":\"not_ready\"}";
  const struct api *api = ctx;
  (void)req;
  if (api->ctx.ready != NULL && !api->ctx.ready(api->ctx.app)) {
    http_reply_static(rep, 503, "application/json", starting,
                      sizeof starting - 1);
    return http_reply_header(rep, "Retry-After", "2");
  }
  http_reply_static(rep, 200, "application/json", ok, sizeof ok - 1);
  return 0;
}

static int h_metrics(void *ctx, const struct http_request *req,
                     struct http_reply *rep) {
  const struct api *api = ctx;
  struct error e = {0};
  struct buf b;
  int rc;
  buf_init(&b, METRICS_MAX);
  rc = http_server_metrics(http_request_server(req), &b);
  if (rc == 0 && api->ctx.hub != NULL)
    rc = stream_hub_metrics(api->ctx.hub, &b);
  if (rc == 0 && api->ctx.metrics_text != NULL)
    rc = api->ctx.metrics_text(api->ctx.app, &b, &e);
  if (rc != 0) {
    buf_release(&b);
    reply_failure(rep, rc == ERR_NOTFOUND ? ERR_INVAL : rc, "metrics", NULL,
                  &e);
    return 0;
  }
  http_reply_body(rep, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
  return 0;
}

static int h_indicators(void *ctx, const struct http_request *req,
                        struct http_reply *rep) {
  const struct api *api = ctx;
  (void)req;
  http_reply_static(rep, 200, "application/json", api->indicators_json,
                    api->indicators_len);
  return 0;
}

static int h_units(void *ctx, const struct http_request *req,
                   struct http_reply *rep) {
  const struct api *api = ctx;
  (void)req;
  http_reply_static(rep, 200, "application/json", api->units_json,
                    api->units_len);
  return 0;
}

/* What the request may see of 'unit'. False with the error reply set when
 * it cannot be decided. */
static bool access_ok(const struct api *api, const struct http_request *req,
                      struct http_reply *rep, const char *unit,
                      struct api_auth_access *acc) {
  struct error e = {0};
  int rc;
  if (api->ctx.auth == NULL) {
    memset(acc, 0, sizeof *acc);
    acc->detail = API_AUTH_SUPPRESSED;
    return true;
  }
  rc = api_auth_access(api->ctx.auth, req, unit, acc, &e);
  if (rc == 0)
    return true;
  if (rc == ERR_INVAL)
    http_reply_error(rep, 400, "invalid_parameter", "reason", "reason");
  else if (rc == ERR_DENIED)
    http_reply_error(rep, 401, "unauthorized", NULL, NULL);
  else
    reply_failure(rep, rc == ERR_NOTFOUND ? ERR_STORE : rc, "access", unit, &e);
  return false;
}

/* The rows of a person-level rendering, for the audit log. */
struct rows {
  struct api_auth_subject *v;
  char (*subject)[AUDIT_SUBJECT_MAX + 1];
  size_t n, cap;
};

static int add_row(void *ctx, const char *ward, const char *subject) {
  struct rows *r = ctx;
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->v = mem_realloc(r->v, r->cap * sizeof *r->v);
    r->subject = mem_realloc(r->subject, r->cap * sizeof *r->subject);
  }
  snprintf(r->subject[r->n], sizeof r->subject[r->n], "%s", subject);
  r->v[r->n].unit = ward;
  r->n++;
  return 0;
}

/* Records every row of 'snap' under 'unit' that a person-level rendering
 * shows. */
static int audit_rows(const struct api *api, const struct http_request *req,
                      const struct api_auth_access *acc,
                      const struct bedboard_snapshot *snap, const char *unit,
                      struct error *e) {
  struct rows r = {NULL, NULL, 0, 0};
  const struct org_unit *root = org_unit_at(api->ctx.org, 0);
  int rc = bedboard_snapshot_subjects(snap, unit, add_row, &r, e);
  for (size_t i = 0; i < r.n; i++)
    r.v[i].subject = r.subject[i];
  if (rc == 0)
    rc = api_auth_record_view(api->ctx.auth, req, acc, NULL,
                              unit != NULL ? unit : root->id, r.v, r.n, e);
  mem_free(r.v);
  mem_free(r.subject);
  return rc;
}

static int h_bedboard(void *ctx, const struct http_request *req,
                      struct http_reply *rep) {
  const struct api *api = ctx;
  struct bedboard_snapshot *snap;
  struct api_auth_access acc;
  enum bedboard_detail detail;
  struct error e = {0};
  const char *unit;
  struct buf b;
  int rc;
  if (!unit_ok(api, req, rep, false, &unit))
    return 0;
  if (api->ctx.bedboard == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (!access_ok(api, req, rep, unit, &acc))
    return 0;
  detail = acc.detail == API_AUTH_PERSONS     ? BEDBOARD_PERSONS
           : acc.detail == API_AUTH_AGGREGATE ? BEDBOARD_AGGREGATE
                                              : BEDBOARD_SUPPRESSED;
  buf_init(&b, API_MAX_BODY);
  snap = bedboard_snapshot_get(api->ctx.bedboard);
  rc = 0;
  if (detail == BEDBOARD_PERSONS) {
    /* The record first: no row leaves without it. */
    rc = audit_rows(api, req, &acc, snap, unit, &e);
    if (rc != 0)
      log_error("audit", "cannot record a bed-board view, refused: %s",
                e.msg[0] != '\0' ? e.msg : err_str(rc));
  }
  if (rc == 0)
    rc = bedboard_snapshot_render(snap, unit, detail, &b, &e);
  bedboard_snapshot_release(snap);
  if (rc != 0) {
    buf_release(&b);
    reply_failure(
        rep, rc == ERR_NOTFOUND && detail == BEDBOARD_PERSONS ? ERR_STORE : rc,
        "bed board", unit, &e);
    return 0;
  }
  http_reply_json(rep, 200, &b);
  if (detail == BEDBOARD_PERSONS &&
      http_reply_header(rep, "X-Request-Id", acc.request_id) != 0)
    log_warn("api", "cannot echo the request id");
  return 0;
}

static int h_flow(void *ctx, const struct http_request *req,
                  struct http_reply *rep) {
  const struct api *api = ctx;
  struct api_auth_access acc;
  struct error e = {0};
  const char *unit;
  struct buf b;
  int rc;
  if (!unit_ok(api, req, rep, true, &unit))
    return 0;
  if (api->ctx.flow_json == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (!access_ok(api, req, rep, unit, &acc))
    return 0;
  buf_init(&b, API_MAX_BODY);
  rc = api->ctx.flow_json(api->ctx.app, unit, &b, &e);
  if (rc == 0 && acc.detail == API_AUTH_SUPPRESSED) {
    struct buf s;
    buf_init(&s, API_MAX_BODY);
    rc = suppress_flow_tree(api->ctx.org, unit, api->ctx.flow_json,
                            api->ctx.app, &s, &e);
    buf_release(&b);
    b = s;
    if (rc == ERR_NOTFOUND)
      rc = ERR_PARSE; /* not an unknown unit */
  }
  if (rc != 0) {
    buf_release(&b);
    reply_failure(rep, rc, "flow", unit, &e);
    return 0;
  }
  http_reply_json(rep, 200, &b);
  return 0;
}

static int h_t3(void *ctx, const struct http_request *req,
                struct http_reply *rep) {
  const struct api *api = ctx;
  const struct http_query *q = http_request_query(req);
  const char *gs = http_query_get(q, "group");
  const char *at = http_query_get(q, "at");
  enum t3_group g = T3_PHYSICIAN;
  struct api_auth_access acc;
  struct error e = {0};
  int64_t t0 = chrono_now_ms();
  const char *unit;
  struct buf b;
  int rc;
  if (!unit_ok(api, req, rep, true, &unit))
    return 0;
  if (gs != NULL && schedule_group_from_code(gs, &g) != 0) {
    http_reply_error(rep, 400, "invalid_parameter", "group", "group");
    return 0;
  }
  if (at != NULL && chrono_parse_iso(at, strlen(at), &t0, NULL) != 0) {
    http_reply_error(rep, 400, "invalid_parameter", "at", "at");
    return 0;
  }
  if (api->ctx.t3_json == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (!access_ok(api, req, rep, unit, &acc))
    return 0;
  buf_init(&b, API_MAX_BODY);
  rc = api->ctx.t3_json(api->ctx.app, unit, g, t0, &b, &e);
  if (rc != 0) {
    buf_release(&b);
    reply_failure(rep, rc, "t3", unit, &e);
    return 0;
  }
  http_reply_json(rep, 200, &b);
  return 0;
}

/* Maps a dashboard callback's failure: 404 naming the indicator or
 * dashboard, 400 naming the parameter, else as reply_failure. */
static void reply_dash_failure(struct http_reply *rep, int rc, const char *code,
                               const char *name, const char *param,
                               const struct error *e) {
  if (rc == ERR_NOTFOUND)
    http_reply_error(rep, 404, code, NULL, name);
  else if (rc == ERR_INVAL)
    http_reply_error(rep, 400, "invalid_parameter", param,
                     param != NULL ? param : "");
  else
    reply_failure(rep, rc, code, NULL, e);
}

/* The name after 'prefix' in the request's path into 'out'; false (with a
 * 404 naming it) when empty, too long or holding a '/'. With 'export' set,
 * a trailing "/export" is taken off and *export says so. */
static bool path_name(const struct http_request *req, struct http_reply *rep,
                      const char *prefix, const char *code, char *out,
                      size_t cap, bool *export) {
  const char *rest = http_request_path(req) + strlen(prefix);
  size_t n = strlen(rest);
  bool may_export = *export;
  *export = false;
  if (may_export && n > 7 && strcmp(rest + n - 7, "/export") == 0) {
    *export = true;
    n -= 7;
  }
  if (n == 0 || n >= cap || memchr(rest, '/', n) != NULL) {
    char shown[NAME_MAX_LEN + 1];
    snprintf(shown, sizeof shown, "%.*s", (int)(n < cap ? n : cap - 1), rest);
    http_reply_error(rep, 404, code, NULL, shown);
    return false;
  }
  memcpy(out, rest, n);
  out[n] = '\0';
  return true;
}

static int h_indicator(void *ctx, const struct http_request *req,
                       struct http_reply *rep) {
  const struct api *api = ctx;
  const struct http_query *qs = http_request_query(req);
  struct dashboard_query q;
  struct api_auth_access acc;
  struct error e = {0};
  const char *param = NULL;
  char id[NAME_MAX_LEN + 1];
  bool unused = false;
  struct buf b;
  int rc;
  if (!path_name(req, rep, INDICATORS_PREFIX, "unknown_indicator", id,
                 sizeof id, &unused))
    return 0;
  memset(&q, 0, sizeof q);
  if (!unit_ok(api, req, rep, false, &q.unit))
    return 0;
  if (api->ctx.series_json == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (!access_ok(api, req, rep, q.unit, &acc))
    return 0;
  q.indicator = id;
  q.from = http_query_get(qs, "from");
  q.to = http_query_get(qs, "to");
  q.period = http_query_get(qs, "period");
  q.now = chrono_now_ms();
  buf_init(&b, API_MAX_BODY);
  rc = api->ctx.series_json(api->ctx.app, &q, &b, &param, &e);
  if (rc != 0) {
    buf_release(&b);
    reply_dash_failure(rep, rc, "unknown_indicator", id, param, &e);
    return 0;
  }
  http_reply_json(rep, 200, &b);
  return 0;
}

static int h_dashboard(void *ctx, const struct http_request *req,
                       struct http_reply *rep) {
  static const char *const export_only[] = {"format", "panel", "lang"};
  const struct api *api = ctx;
  const struct http_query *qs = http_request_query(req);
  struct dashboard_query q;
  struct dashboard_file file;
  struct api_auth_access acc;
  struct error e = {0};
  const char *param = NULL;
  char name[NAME_MAX_LEN + 1];
  bool export = true;
  struct buf b;
  int rc;
  if (!path_name(req, rep, DASHBOARDS_PREFIX, "unknown_dashboard", name,
                 sizeof name, &export))
    return 0;
  if (!export)
    for (size_t i = 0; i < ARRAY_LEN(export_only); i++)
      if (http_query_get(qs, export_only[i]) != NULL) {
        http_reply_error(rep, 400, "unknown_parameter", export_only[i],
                         export_only[i]);
        return 0;
      }
  memset(&q, 0, sizeof q);
  if (!unit_ok(api, req, rep, false, &q.unit))
    return 0;
  if ((export && api->ctx.dashboard_export == NULL) ||
      (!export && api->ctx.dashboard_json == NULL)) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (!access_ok(api, req, rep, q.unit, &acc))
    return 0;
  q.dashboard = name;
  q.period = http_query_get(qs, "period");
  q.at = http_query_get(qs, "at");
  q.format = http_query_get(qs, "format");
  q.panel = http_query_get(qs, "panel");
  q.lang = http_query_get(qs, "lang");
  q.now = chrono_now_ms();
  buf_init(&b, API_MAX_BODY);
  if (export)
    rc = api->ctx.dashboard_export(api->ctx.app, &q, &b, &file, &param, &e);
  else
    rc = api->ctx.dashboard_json(api->ctx.app, &q, &b, &param, &e);
  if (rc != 0) {
    buf_release(&b);
    reply_dash_failure(rep, rc, "unknown_dashboard", name, param, &e);
    return 0;
  }
  if (!export) {
    http_reply_json(rep, 200, &b);
    return 0;
  }
  http_reply_body(rep, 200, file.content_type, &b);
  {
    char cd[DASHBOARD_FILENAME_MAX + 40];
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", file.filename);
    if (http_reply_header(rep, "Content-Disposition", cd) != 0)
      log_warn("api", "cannot name the exported file");
  }
  return 0;
}

static int h_status(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  const struct api *api = ctx;
  struct error e = {0};
  struct buf b;
  int rc;
  (void)req;
  if (api->ctx.status_json == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  buf_init(&b, API_MAX_BODY);
  rc = api->ctx.status_json(api->ctx.app, &b, &e);
  if (rc != 0) {
    buf_release(&b);
    /* ERR_NOTFOUND has no unit to blame here. */
    reply_failure(rep, rc == ERR_NOTFOUND ? ERR_INVAL : rc, "status", NULL, &e);
    return 0;
  }
  http_reply_json(rep, 200, &b);
  return 0;
}

static int h_stream(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  const struct api *api = ctx;
  if (api->ctx.hub == NULL) {
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  return stream_hub_serve(api->ctx.hub, req, rep);
}

int api_install(struct http_server *srv, const struct api_ctx *ctx,
                struct api **out, struct error *err) {
  struct api *api = NULL;
  struct buf units;
  int rc;
  if (ctx == NULL || ctx->org == NULL)
    return error_set(err, ERR_INVAL, "api needs an organisation");
  api = mem_calloc(1, sizeof *api);
  api->ctx = *ctx;
  buf_init(&units, UNITS_MAX);
  rc = org_units_json(ctx->org, &units);
  if (rc != 0) {
    buf_release(&units);
    rc = error_set(err, rc, "cannot render the organisation tree");
    goto out;
  }
  api->units_json = buf_detach(&units, &api->units_len);
  {
    struct access_rules *rules = NULL;
    struct indicator_catalogue *cat = NULL;
    struct buf ind;
    buf_init(&ind, API_MAX_BODY);
    rc = access_rules_builtin(&rules, err);
    if (rc == 0)
      rc = indicator_catalogue_builtin(rules, &cat, err);
    if (rc == 0 && indicator_catalogue_json(cat, &ind) != 0)
      rc = error_set(err, ERR_TOOBIG, "cannot render the indicator catalogue");
    indicator_catalogue_free(cat);
    access_rules_free(rules);
    if (rc != 0) {
      buf_release(&ind);
      goto out;
    }
    api->indicators_json = buf_detach(&ind, &api->indicators_len);
  }
  {
    const struct http_route routes[] = {
        {HTTP_M_GET, "/healthz", 0, NULL, "healthz", h_healthz, api},
        {HTTP_M_GET, "/metrics", 0, NULL, "metrics", h_metrics, api},
        {HTTP_M_GET, "/api/v1/units", 0, NULL, "units", h_units, api},
        {HTTP_M_GET, "/api/v1/indicators", 0, NULL, "indicators", h_indicators,
         api},
        {HTTP_M_GET, "/api/v1/bedboard", 0, unit_param, "bedboard", h_bedboard,
         api},
        {HTTP_M_GET, "/api/v1/flow", 0, unit_param, "flow", h_flow, api},
        {HTTP_M_GET, "/api/v1/t3", 0, t3_params, "t3", h_t3, api},
        {HTTP_M_GET, INDICATORS_PREFIX, HTTP_ROUTE_PREFIX, series_params,
         "indicator", h_indicator, api},
        {HTTP_M_GET, DASHBOARDS_PREFIX, HTTP_ROUTE_PREFIX, dash_params,
         "dashboard", h_dashboard, api},
        {HTTP_M_GET, "/api/v1/status", 0, NULL, "status", h_status, api},
        {HTTP_M_GET, "/api/v1/stream", 0, NULL, "stream", h_stream, api},
    };
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
      rc = http_server_route(srv, &routes[i], err);
      if (rc != 0)
        goto out;
    }
  }
  if (ctx->hub != NULL) {
    rc = http_server_on_stop(srv, stream_hub_stop_hook, ctx->hub);
    if (rc != 0) {
      rc = error_set(err, rc, "cannot register the stream's stop hook");
      goto out;
    }
  }
  *out = api;
  api = NULL;
out:
  api_free(api);
  return rc;
}

void api_free(struct api *api) {
  if (api == NULL)
    return;
  mem_free(api->units_json);
  mem_free(api->indicators_json);
  mem_free(api);
}
