/* api_fhir.c -- the FHIR R4 endpoint's handlers (see api_fhir.h).
 *
 * A handler checks the media type and what the path says against the body
 * (resourceType, id), hands the bytes to ingest_submit_fhir and waits on a
 * condition variable until ingest's done callback has recorded the
 * durable outcome; only then does it answer. A Bundle's entries are all
 * submitted first and then awaited, so they share the writer's groups.
 *
 * Invariants:
 *  1. no reply says "created" before the resource is durable;
 *  2. every refusal is an OperationOutcome with the element at fault;
 *  3. a waiter lives on the handler's stack until its done callback has
 *     run (the handler waits for all it submitted, also on failure).
 *
 * Thread safety: the state is immutable after install; each waiter is
 * shared only between its handler and the ingest syncer thread, under its
 * own mutex. */
#include "api_fhir.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fhir.h"
#include "log.h"
#include "mem.h"

#define PREFIX "/fhir/r4/"
#define FHIR_CT "application/fhir+json"
#define REPLY_MAX (64u * 1024u * 1024u)

struct api_fhir {
  struct ingest *in;
  char *channel;
};

/* One submitted resource and its outcome. */
struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  enum ingest_outcome outcome;
  struct fhir_issue iss;
  char existing[FHIR_ID_MAX]; /* what a conditional create found, or "" */
};

static void waiter_init(struct waiter *w) {
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->done = false;
  w->outcome = INGEST_FAILED;
  memset(&w->iss, 0, sizeof w->iss);
  w->existing[0] = '\0';
}

static void waiter_destroy(struct waiter *w) {
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
}

/* ingest's done callback (the syncer thread): record and wake. */
static void on_done(void *ctx, struct ingest_item *item) {
  struct waiter *w = ctx;
  const struct fhir_issue *iss = ingest_item_fhir_issue(item);
  const char *existing = ingest_item_fhir_existing(item);
  pthread_mutex_lock(&w->mu);
  w->outcome = ingest_item_outcome(item);
  if (iss != NULL)
    w->iss = *iss;
  if (existing != NULL)
    snprintf(w->existing, sizeof w->existing, "%s", existing);
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  ingest_item_free(item);
}

static void waiter_wait(struct waiter *w) {
  pthread_mutex_lock(&w->mu);
  while (!w->done)
    pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
}

static void set_issue(struct fhir_issue *iss, const char *code,
                      const char *expr, const char *diag) {
  memset(iss, 0, sizeof *iss);
  snprintf(iss->code, sizeof iss->code, "%s", code);
  snprintf(iss->expression, sizeof iss->expression, "%s", expr);
  snprintf(iss->diagnostics, sizeof iss->diagnostics, "%s", diag);
}

static void reply_outcome(struct http_reply *rep, unsigned status,
                          const struct fhir_issue *iss) {
  struct buf b;
  buf_init(&b, 4096);
  if (fhir_outcome_json(iss, &b) != 0) {
    buf_release(&b);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    return;
  }
  http_reply_body(rep, status, FHIR_CT, &b);
}

static void refuse(struct http_reply *rep, unsigned status, const char *code,
                   const char *expr, const char *diag) {
  struct fhir_issue iss;
  set_issue(&iss, code, expr, diag);
  reply_outcome(rep, status, &iss);
}

/* True for application/fhir+json and application/json (parameters such as
 * charset allowed). */
static bool media_ok(const struct http_request *req) {
  const char *ct = http_request_header(req, "Content-Type");
  size_t n;
  if (ct == NULL)
    return false;
  n = strcspn(ct, "; \t");
  return (n == strlen(FHIR_CT) && strncasecmp(ct, FHIR_CT, n) == 0) ||
         (n == 16 && strncasecmp(ct, "application/json", n) == 0);
}

/* HTTP status for a completed outcome ('created' for a new resource). */
static unsigned status_of(enum ingest_outcome o, bool create) {
  switch (o) {
  case INGEST_ACCEPTED:
    return create ? 201 : 200;
  case INGEST_DUPLICATE:
    return 200;
  case INGEST_ERROR:
    return 422;
  case INGEST_REJECTED:
    return 400;
  default:
    return 500;
  }
}

static const char *status_line(unsigned status) {
  switch (status) {
  case 200:
    return "200 OK";
  case 201:
    return "201 Created";
  case 400:
    return "400 Bad Request";
  case 422:
    return "422 Unprocessable Entity";
  default:
    return "500 Internal Server Error";
  }
}

/* Checks a resource against the type and id the request names ('id' may
 * be NULL) and fills in a missing id from the path. 0, or false-y with
 * 'iss' set. */
static bool resource_ok(json_t *res, const char *type, const char *id,
                        struct fhir_issue *iss) {
  const char *rt = fhir_resource_type(res);
  json_t *jid = json_object_get(res, "id");
  if (type != NULL && strcmp(rt, type) != 0) {
    set_issue(iss, "invalid", "resourceType",
              "resourceType does not match the URL");
    return false;
  }
  if (id != NULL) {
    if (jid == NULL) {
      if (json_object_set_new(res, "id", json_string(id)) != 0) {
        set_issue(iss, "value", "Resource.id", "id is not valid");
        return false;
      }
    } else if (!json_is_string(jid) || strcmp(json_string_value(jid), id)) {
      set_issue(iss, "invalid", "Resource.id", "id does not match the URL");
      return false;
    }
  }
  return true;
}

/* Submits one resource ('cond': an If-None-Exist value or NULL); on
 * failure to queue, *w is marked done as failed. */
static void submit(const struct api_fhir *a, const json_t *res,
                   const char *cond, struct waiter *w) {
  char *text = json_dumps(res, JSON_COMPACT);
  int rc;
  waiter_init(w);
  if (text == NULL) {
    w->done = true;
    set_issue(&w->iss, "exception", "", "cannot render the resource");
    return;
  }
  rc = ingest_submit_fhir_if_none_exist(a->in, a->channel, text, strlen(text),
                                        cond, "http", on_done, w);
  free(text);
  if (rc != 0) {
    log_warn("fhir", "cannot submit a resource: %s", err_name(rc));
    w->done = true;
    set_issue(&w->iss, "transient", "", "the service is stopping");
  }
}

/* Parses the request body, or replies with an OperationOutcome. */
static json_t *body_json(const struct http_request *req,
                         struct http_reply *rep) {
  struct fhir_issue iss;
  const char *body;
  size_t len = 0;
  json_t *res = NULL;
  if (!media_ok(req)) {
    refuse(rep, 415, "not-supported", "",
           "Content-Type must be application/fhir+json");
    return NULL;
  }
  body = http_request_body(req, &len);
  memset(&iss, 0, sizeof iss);
  if (fhir_parse(body != NULL ? body : "", len, &res, &iss) != 0) {
    reply_outcome(rep, 400, &iss);
    return NULL;
  }
  return res;
}

/* Location of 'type'/'id' into 'out'. */
static void location_of(const char *type, const char *id, char out[160]) {
  snprintf(out, 160, PREFIX "%.20s/%.64s", type, id);
}

static void reply_resource(struct http_reply *rep, unsigned status,
                           const json_t *res) {
  char *text = json_dumps(res, JSON_COMPACT);
  const char *type = fhir_resource_type(res);
  const char *id = json_string_value(json_object_get(res, "id"));
  struct buf b;
  buf_init(&b, REPLY_MAX);
  if (text == NULL || buf_puts(&b, text) != 0) {
    free(text);
    buf_release(&b);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    return;
  }
  free(text);
  http_reply_body(rep, status, FHIR_CT, &b);
  if (status == 201 && id != NULL) {
    char loc[160];
    location_of(type, id, loc);
    if (http_reply_header(rep, "Location", loc) != 0)
      log_warn("fhir", "cannot set Location");
  }
}

/* 200 for a conditional create that found 'id': nothing was applied. */
static void reply_existing(struct http_reply *rep, const char *type,
                           const char *id) {
  struct fhir_issue iss;
  struct buf b;
  char loc[160];
  location_of(type, id, loc);
  memset(&iss, 0, sizeof iss);
  snprintf(iss.code, sizeof iss.code, "duplicate");
  snprintf(iss.expression, sizeof iss.expression, "%.20s.identifier", type);
  snprintf(iss.diagnostics, sizeof iss.diagnostics,
           "%.20s/%.64s already holds the identifier; nothing was applied",
           type, id);
  buf_init(&b, 4096);
  if (fhir_outcome_json_severity(&iss, "information", &b) != 0) {
    buf_release(&b);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    return;
  }
  http_reply_body(rep, 200, FHIR_CT, &b);
  if (http_reply_header(rep, "Location", loc) != 0)
    log_warn("fhir", "cannot set Location");
}

static int h_bundle(void *ctx, const struct http_request *req,
                    struct http_reply *rep);

/* POST /fhir/r4/{type} and PUT /fhir/r4/{type}/{id}. */
static int h_resource(void *ctx, const struct http_request *req,
                      struct http_reply *rep) {
  const struct api_fhir *a = ctx;
  const char *path = http_request_path(req) + strlen(PREFIX);
  bool put = strcmp(http_request_method(req), "PUT") == 0;
  char type[32], id[FHIR_ID_MAX];
  const char *slash = strchr(path, '/');
  struct fhir_issue iss;
  struct waiter w;
  json_t *res;
  unsigned status;
  size_t tlen = slash != NULL ? (size_t)(slash - path) : strlen(path);

  if (tlen == 0 && !put && slash == NULL)
    return h_bundle(ctx, req, rep); /* POST /fhir/r4/ is the base too */
  if (tlen == 0 || tlen >= sizeof type || (put && slash == NULL) ||
      (!put && slash != NULL) ||
      (slash != NULL &&
       (strlen(slash + 1) == 0 || strlen(slash + 1) >= sizeof id ||
        strchr(slash + 1, '/') != NULL))) {
    refuse(rep, 404, "not-found", "", "no such FHIR interaction");
    return 0;
  }
  memcpy(type, path, tlen);
  type[tlen] = '\0';
  if (slash != NULL)
    snprintf(id, sizeof id, "%s", slash + 1);
  res = body_json(req, rep);
  if (res == NULL)
    return 0;
  memset(&iss, 0, sizeof iss);
  if (!resource_ok(res, type, put ? id : NULL, &iss)) {
    json_decref(res);
    reply_outcome(rep, 400, &iss);
    return 0;
  }
  submit(a, res, put ? NULL : http_request_header(req, "If-None-Exist"), &w);
  waiter_wait(&w);
  status =
      w.done && w.outcome <= INGEST_FAILED ? status_of(w.outcome, !put) : 500;
  if (status < 300 && w.existing[0] != '\0')
    reply_existing(rep, type, w.existing);
  else if (status < 300)
    reply_resource(rep, status, res);
  else
    reply_outcome(rep, status, &w.iss);
  waiter_destroy(&w);
  json_decref(res);
  return 0;
}

/* POST /fhir/r4 with a Bundle. */
static int h_bundle(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  const struct api_fhir *a = ctx;
  json_t *bundle = body_json(req, rep), *entries, *out = NULL, *oents;
  struct waiter *ws = NULL;
  const char *btype;
  bool transaction;
  size_t n, i;
  struct fhir_issue iss;
  char *text = NULL;
  struct buf b;

  if (bundle == NULL)
    return 0;
  btype = json_string_value(json_object_get(bundle, "type"));
  if (strcmp(fhir_resource_type(bundle), "Bundle") != 0) {
    refuse(rep, 400, "invalid", "resourceType", "expected a Bundle");
    goto out;
  }
  if (btype == NULL ||
      (strcmp(btype, "batch") != 0 && strcmp(btype, "transaction") != 0)) {
    refuse(rep, 400, "value", "Bundle.type",
           "Bundle.type must be batch or transaction");
    goto out;
  }
  transaction = strcmp(btype, "transaction") == 0;
  entries = json_object_get(bundle, "entry");
  n = json_array_size(entries);
  if (n > API_FHIR_BUNDLE_MAX) {
    refuse(rep, 400, "too-long", "Bundle.entry", "too many entries");
    goto out;
  }
  /* Read every entry before submitting any. */
  for (i = 0; i < n; i++) {
    json_t *e = json_array_get(entries, i);
    json_t *res = json_object_get(e, "resource");
    json_t *request = json_object_get(e, "request");
    const char *method = json_string_value(json_object_get(request, "method"));
    const char *url = json_string_value(json_object_get(request, "url"));
    char type[32], id[FHIR_ID_MAX], expr[64];
    const char *slash;
    size_t tlen;
    bool put;
    snprintf(expr, sizeof expr, "Bundle.entry[%zu].request", i);
    if (method != NULL && strcmp(method, "POST") != 0 &&
        strcmp(method, "PUT") != 0) {
      refuse(rep, 400, "not-supported", expr,
             "only POST and PUT entries (no reads or deletes)");
      goto out;
    }
    if (!json_is_object(res) || method == NULL || url == NULL) {
      refuse(rep, 400, "required", expr,
             "each entry needs a resource and a request");
      goto out;
    }
    put = strcmp(method, "PUT") == 0;
    if (!put && strcmp(method, "POST") != 0) {
      refuse(rep, 400, "not-supported", expr, "only POST and PUT entries");
      goto out;
    }
    if (json_object_get(request, "ifNoneExist") != NULL &&
        (transaction || put ||
         !json_is_string(json_object_get(request, "ifNoneExist")))) {
      snprintf(expr, sizeof expr, "Bundle.entry[%zu].request.ifNoneExist", i);
      refuse(rep, 400, "not-supported", expr,
             transaction ? "conditional create inside a transaction is not "
                           "supported (use a batch Bundle)"
                         : "ifNoneExist needs a POST entry with a string");
      goto out;
    }
    slash = strchr(url, '/');
    if (!put && slash != NULL && slash[1] == '\0')
      slash = NULL; /* "Type/" is the type's URL too */
    tlen = slash != NULL ? (size_t)(slash - url) : strcspn(url, "/");
    if (tlen == 0 || tlen >= sizeof type || (put && slash == NULL) ||
        (slash != NULL &&
         (strlen(slash + 1) == 0 || strlen(slash + 1) >= sizeof id))) {
      refuse(rep, 400, "value", expr, "request.url must be Type or Type/id");
      goto out;
    }
    memcpy(type, url, tlen);
    type[tlen] = '\0';
    if (slash != NULL)
      snprintf(id, sizeof id, "%s", slash + 1);
    memset(&iss, 0, sizeof iss);
    if (!resource_ok(res, type, put ? id : NULL, &iss)) {
      char e2[64];
      snprintf(e2, sizeof e2, "Bundle.entry[%zu].resource", i);
      snprintf(iss.expression, sizeof iss.expression, "%s", e2);
      reply_outcome(rep, 400, &iss);
      goto out;
    }
  }
  if (transaction) {
    /* One message, all or nothing (ingest_submit_fhir). */
    struct waiter w;
    unsigned status;
    submit(a, bundle, NULL, &w);
    waiter_wait(&w);
    status = status_of(w.outcome, true);
    if (status >= 300) {
      reply_outcome(rep, status, &w.iss);
      waiter_destroy(&w);
      goto out;
    }
    waiter_destroy(&w);
    out = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type",
                    "transaction-response", "entry");
    oents = json_object_get(out, "entry");
    for (i = 0; i < n; i++) {
      json_t *e = json_array_get(entries, i);
      bool put = strcmp(json_string_value(json_object_get(
                            json_object_get(e, "request"), "method")),
                        "PUT") == 0;
      /* A resend of the whole Bundle is 200 for every entry. */
      unsigned st = w.outcome == INGEST_DUPLICATE ? 200 : put ? 200 : 201;
      json_array_append_new(
          oents, json_pack("{s:{s:s}}", "response", "status", status_line(st)));
    }
    goto reply;
  }
  ws = mem_calloc(n ? n : 1, sizeof *ws);
  for (i = 0; i < n; i++) {
    json_t *e = json_array_get(entries, i);
    submit(a, json_object_get(e, "resource"),
           json_string_value(
               json_object_get(json_object_get(e, "request"), "ifNoneExist")),
           &ws[i]);
  }
  out = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type",
                  "batch-response", "entry");
  oents = json_object_get(out, "entry");
  for (i = 0; i < n; i++) {
    json_t *e = json_array_get(entries, i);
    bool put = strcmp(json_string_value(json_object_get(
                          json_object_get(e, "request"), "method")),
                      "PUT") == 0;
    unsigned status;
    json_t *resp;
    waiter_wait(&ws[i]);
    status = status_of(ws[i].outcome, !put);
    resp = json_pack("{s:s}", "status", status_line(status));
    if (status < 300 && ws[i].existing[0] != '\0') {
      char loc[160];
      snprintf(loc, sizeof loc, "%.20s/%.64s",
               fhir_resource_type(json_object_get(e, "resource")),
               ws[i].existing);
      json_object_set_new(resp, "location", json_string(loc));
    }
    if (status >= 300) {
      struct buf ob;
      json_t *oo;
      buf_init(&ob, 4096);
      if (fhir_outcome_json(&ws[i].iss, &ob) == 0 &&
          (oo = json_loadb(ob.data, ob.len, 0, NULL)) != NULL)
        json_object_set_new(resp, "outcome", oo);
      buf_release(&ob);
    }
    json_array_append_new(oents, json_pack("{s:o}", "response", resp));
    waiter_destroy(&ws[i]);
  }
reply:
  text = json_dumps(out, JSON_COMPACT);
  buf_init(&b, REPLY_MAX);
  if (text == NULL || buf_puts(&b, text) != 0) {
    buf_release(&b);
    http_reply_error(rep, 500, "internal", NULL, NULL);
  } else {
    http_reply_body(rep, 200, FHIR_CT, &b);
  }
out:
  free(text);
  json_decref(out);
  mem_free(ws);
  json_decref(bundle);
  return 0;
}

int api_fhir_install(struct http_server *srv, struct ingest *in,
                     const char *channel, struct api_fhir **out,
                     struct error *err) {
  const struct org *org = ingest_org(in);
  const struct org_channel *ch = NULL;
  struct api_fhir *a;
  int rc;
  if (channel != NULL) {
    ch = org_channel_find(org, channel);
  } else {
    for (size_t i = 0; ch == NULL && i < org_channel_count(org); i++)
      if (strcmp(org_channel_at(org, i)->type, "fhir") == 0)
        ch = org_channel_at(org, i);
  }
  if (ch == NULL || strcmp(ch->type, "fhir") != 0)
    return error_set(err, ERR_CONFIG, "no FHIR channel '%s' in the org",
                     channel != NULL ? channel : "(any)");
  a = mem_calloc(1, sizeof *a);
  a->in = in;
  a->channel = mem_strdup(ch->id);
  {
    const struct http_route routes[] = {
        {HTTP_M_POST | HTTP_M_PUT, PREFIX, HTTP_ROUTE_PREFIX, NULL,
         "fhir_resource", h_resource, a},
        {HTTP_M_POST, "/fhir/r4", 0, NULL, "fhir_bundle", h_bundle, a},
    };
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
      rc = http_server_route(srv, &routes[i], err);
      if (rc != 0) {
        api_fhir_free(a);
        return rc;
      }
    }
  }
  *out = a;
  return 0;
}

void api_fhir_free(struct api_fhir *a) {
  if (a == NULL)
    return;
  mem_free(a->channel);
  mem_free(a);
}
