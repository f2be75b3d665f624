/* api_auth.c -- sign-in, sessions, authorisation and the audit trail on the
 * HTTP server (api_auth.h).
 *
 * Design:
 *  - One struct api_auth owns the security database, the authenticator,
 *    the audit log and (unless given) the keys. The authorizer resolves the
 *    principal on every request (a primary-key read of the security
 *    database; local accounts re-read), so disabling a user or revoking a
 *    token takes effect at the next request, in every server process.
 *  - The rules are tables: public routes, unscoped routes (no unit-bound
 *    data), routes that need a permission, access-reason codes. A route
 *    missing from the unscoped table is unit-bound: this fails closed for
 *    routes added later.
 *  - A person-level request is audited before its handler runs: the record
 *    is committed (synchronous=FULL) inside the authorizer, so no data
 *    leaves without its record; if the append fails, the request fails.
 *  - A background thread signs periodic checkpoints and purges expired
 *    sessions and throttle rows; every checkpoint is logged (count, head,
 *    signature) so that a copy lives outside the database.
 *
 * Invariants:
 *  1. nothing here answers 200 for a request the authorizer did not admit;
 *  2. no session token, API token, password or CSRF token is ever logged
 *     or echoed, except the new session's own CSRF token to its owner.
 *
 * Thread safety: see api_auth.h. The checkpoint thread and request threads
 * share only the thread-safe secstore, auth and audit, the atomic
 * last_cp_ms and the stop flag under 'mu'. */
#include "api_auth.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "chrono.h"
#include "log.h"
#include "mem.h"
#include "secstore.h"

#define TICK_MS 30000        /* the checkpoint thread's wake-up period */
#define PURGE_EVERY_MS 60000 /* expired sessions and throttle rows */
#define REQUEST_ID_MAX API_AUTH_REQUEST_ID_MAX /* bytes of an X-Request-Id */
#define MAX_COOKIE_TRIES 4 /* tk_session values tried in one header */
#define REPLY_MAX (64u * 1024u)

/* ---- the rule tables ---------------------------------------------------- */

/* Access reasons for person-level views: codes the UI translates. Codes,
 * not free text, so that no name or identity code is ever typed into the
 * audit log. */
static const char *const reasons[] = {
    "care",              /* direct care of the patient or client */
    "care_coordination", /* bed management, patient flow, transfers */
    "patient_safety",    /* a safety incident or a near miss */
    "client_request",    /* the client's own request for information */
    "investigation",     /* a complaint, supervision or legal matter */
};

const char *api_auth_reason_at(size_t i) {
  return i < ARRAY_LEN(reasons) ? reasons[i] : NULL;
}

bool api_auth_reason_valid(const char *reason) {
  if (reason == NULL)
    return false;
  for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
    if (strcmp(reason, reasons[i]) == 0)
      return true;
  return false;
}

/* Routes that carry no unit-bound data: any signed-in user, any scope. */
static const char *const unscoped[] = {
    "/api/v1/units", "/api/v1/indicators", "/api/v1/status", "/api/v1/stream",
    "/api/v1/me",    "/api/v1/session",    "/metrics",
};

/* Routes that need a permission beyond signing in. */
static const struct {
  const char *path;
  unsigned perm;
} needs[] = {
    {"/metrics", AUTH_PERM_FEEDS},
};

/* The FHIR endpoint (api_fhir.h): /fhir/r4 and below. */
static bool is_fhir(const char *path) {
  return strcmp(path, "/fhir/r4") == 0 || strncmp(path, "/fhir/r4/", 9) == 0;
}

static bool in_list(const char *path, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(path, list[i]) == 0)
      return true;
  return false;
}

/* ---- the state ---------------------------------------------------------- */

struct api_auth {
  struct secstore *ss;
  struct auth *auth;
  struct audit *audit;
  struct auth_ldap *ldap;
  struct privacy_keys *own_keys;
  const struct privacy_keys *keys;
  const struct org *org;
  struct auth_settings st;
  bool tls;
  _Atomic int64_t last_cp_ms;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  bool thread_started;
  pthread_t thread;
};

/* ---- small helpers ------------------------------------------------------ */

static bool state_changing(const char *method) {
  return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
         strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

/* The client address into out (cap >= SECSTORE_ADDRESS_MAX); "" when
 * unknown. */
static void client_address(const struct api_auth *a,
                           const struct http_request *req, char *out,
                           size_t cap) {
  out[0] = '\0';
#ifdef HTTP_HAS_CLIENT_ADDRESS
  if (http_request_client_address(req, out, cap) != 0)
    out[0] = '\0';
#endif
  if (a->st.trusted_proxy) {
    const char *v = http_request_header(req, "X-Real-IP");
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    if (v == NULL) {
      /* the last hop the proxy appended */
      const char *f = http_request_header(req, "X-Forwarded-For");
      if (f != NULL) {
        const char *c = strrchr(f, ',');
        v = c != NULL ? c + 1 : f;
        while (*v == ' ')
          v++;
      }
    }
    if (v != NULL && strlen(v) < sizeof tmp) {
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *e = tmp + strlen(tmp); e > tmp && e[-1] == ' ';)
        *--e = '\0';
      if (inet_pton(AF_INET, tmp, bin) == 1 ||
          inet_pton(AF_INET6, tmp, bin) == 1)
        snprintf(out, cap, "%s", tmp);
    }
  }
}

/* X-Request-Id when it is [A-Za-z0-9._-]{1,64}, else 32 random hex. */
static void request_id(const struct http_request *req,
                       char out[REQUEST_ID_MAX + 1]) {
  const char *v = http_request_header(req, "X-Request-Id");
  if (v != NULL) {
    size_t n = strlen(v);
    bool ok = n > 0 && n <= REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) {
      char c = v[i];
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (ok) {
      memcpy(out, v, n + 1);
      return;
    }
  }
  {
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    audit_hex(raw, sizeof raw, out);
  }
}

/* True when the request may come from our own pages: no Origin or an
 * Origin whose host is the Host header, and no Sec-Fetch-Site cross-site. */
static bool same_origin(const struct http_request *req) {
  const char *origin = http_request_header(req, "Origin");
  const char *site = http_request_header(req, "Sec-Fetch-Site");
  const char *host = http_request_header(req, "Host");
  if (site != NULL && strcmp(site, "same-origin") != 0 &&
      strcmp(site, "none") != 0)
    return false;
  if (origin == NULL)
    return true;
  if (host == NULL)
    return false;
  if (strncasecmp(origin, "https://", 8) == 0)
    origin += 8;
  else if (strncasecmp(origin, "http://", 7) == 0)
    origin += 7;
  else
    return false; /* "null" and anything else */
  return strcasecmp(origin, host) == 0;
}

/* Finds the i-th tk_session value in the Cookie header; its span in
 * 'v' and 'len'. */
static bool cookie_value(const char *cookies, size_t nth, const char **v,
                         size_t *len) {
  const size_t klen = strlen(API_AUTH_COOKIE);
  const char *p = cookies;
  size_t seen = 0;
  while (p != NULL && *p != '\0') {
    const char *end;
    while (*p == ' ' || *p == ';')
      p++;
    end = strchr(p, ';');
    if (end == NULL)
      end = p + strlen(p);
    if ((size_t)(end - p) > klen && strncmp(p, API_AUTH_COOKIE, klen) == 0 &&
        p[klen] == '=') {
      if (seen++ == nth) {
        *v = p + klen + 1;
        *len = (size_t)(end - *v);
        while (*len > 0 && (*v)[*len - 1] == ' ')
          (*len)--;
        return true;
      }
    }
    p = *end != '\0' ? end + 1 : end;
  }
  return false;
}

/* Resolves the request's principal: Bearer token, else session cookie.
 * 0, ERR_DENIED (no or bad credentials) or a store error. */
static int resolve(struct api_auth *a, const struct http_request *req,
                   int64_t now, struct auth_principal *who,
                   const char **session, size_t *session_len,
                   struct error *err) {
  const char *authz = http_request_header(req, "Authorization");
  const char *cookies;
  int rc = ERR_DENIED;
  if (authz != NULL) {
    if (strncasecmp(authz, "Bearer ", 7) != 0)
      return error_set(err, ERR_DENIED, "unsupported authorization scheme");
    authz += 7;
    while (*authz == ' ')
      authz++;
    return auth_token_check(a->auth, authz, strlen(authz), now, who, err);
  }
  cookies = http_request_header(req, "Cookie");
  if (cookies == NULL)
    return error_set(err, ERR_DENIED, "no session");
  for (size_t i = 0; i < MAX_COOKIE_TRIES; i++) {
    const char *v;
    size_t len;
    if (!cookie_value(cookies, i, &v, &len))
      break;
    rc = auth_session_check(a->auth, v, len, now, who, err);
    if (rc == 0 && session != NULL) {
      *session = v;
      *session_len = len;
    }
    if (rc != ERR_DENIED)
      return rc;
  }
  return rc == 0 ? 0 : error_set(err, ERR_DENIED, "no valid session");
}

static void log_checkpoint(const struct secstore_checkpoint *cp) {
  char head[2 * AUDIT_HASH_BYTES + 1], sig[2 * SECSTORE_SIGNATURE_BYTES + 1];
  char pk[2 * SECSTORE_PUBLIC_KEY_BYTES + 1], when[32];
  audit_hex(cp->head, sizeof cp->head, head);
  audit_hex(cp->signature, sizeof cp->signature, sig);
  audit_hex(cp->public_key, sizeof cp->public_key, pk);
  chrono_format_iso(cp->at_ms, when);
  log_info("audit",
           "checkpoint %s at %s: count=%lld head=%s signature=%s key=%s",
           cp->kind, when, (long long)cp->count, head, sig, pk);
}

static int checkpoint(struct api_auth *a, const char *kind, bool *made,
                      struct error *err) {
  struct secstore_checkpoint cp;
  bool m = false;
  int64_t now = chrono_now_ms();
  int rc = audit_checkpoint(a->audit, kind, now, &m, &cp, err);
  if (rc == 0) {
    atomic_store(&a->last_cp_ms, now);
    if (m)
      log_checkpoint(&cp);
  }
  if (made != NULL)
    *made = m;
  return rc;
}

/* Appends audit records and signs a checkpoint when enough have piled up. */
static int append(struct api_auth *a, const struct audit_entry *e, size_t n,
                  struct error *err) {
  int rc = audit_append(a->audit, e, n, NULL, err);
  if (rc == 0 && a->st.checkpoint_every > 0 &&
      audit_unsigned(a->audit) >= (int64_t)a->st.checkpoint_every) {
    struct error cerr;
    if (checkpoint(a, "periodic", NULL, &cerr) < 0)
      log_warn("audit", "cannot sign a checkpoint: %s", cerr.msg);
  }
  return rc;
}

/* "view /api/v1/bedboard", cut at a character boundary to fit. */
static void view_action(const char *path, char out[AUDIT_ACTION_MAX + 1]) {
  size_t n;
  snprintf(out, AUDIT_ACTION_MAX + 1, "view %s", path);
  n = strlen(out);
  if (n == AUDIT_ACTION_MAX)
    while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
      out[--n] = '\0';
  if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
    out[--n] = '\0';
}

/* ---- the authorizer ----------------------------------------------------- */

static void refuse(const struct http_request *req, const char *code,
                   const char *field) {
#ifdef HTTP_HAS_REFUSE
  http_request_refuse(req, 400, code, field);
#else
  (void)req;
  (void)code;
  (void)field;
#endif
}

int api_auth_authorize(void *ctx, const struct http_request *req,
                       unsigned route_flags) {
  struct api_auth *a = ctx;
  const char *path = http_request_path(req);
  const char *method = http_request_method(req);
  struct auth_principal who;
  struct error err;
  const struct org_unit *unit = NULL;
  unsigned perms;
  int64_t now = chrono_now_ms();
  int rc;

  /* 1. Public. */
  if (strcmp(path, "/healthz") == 0)
    return 0;
  if (strcmp(path, "/api/v1/session") == 0 && strcmp(method, "POST") == 0)
    return 0;

  /* 2. Who. */
  error_clear(&err);
  rc = resolve(a, req, now, &who, NULL, NULL, &err);
  if (rc == ERR_DENIED)
    return ERR_AGAIN;
  if (rc < 0) {
    log_error("auth", "cannot check credentials: %s", err.msg);
    return rc;
  }

  /* 3. Cross-site request forgery. */
  if (state_changing(method) && !who.via_token) {
    const char *csrf = http_request_header(req, API_AUTH_CSRF_HEADER);
    if (!auth_token_equal(who.csrf, csrf) || !same_origin(req)) {
      log_warn("auth", "refused %s %s for '%s': CSRF token or origin", method,
               path, who.user);
      return ERR_DENIED;
    }
  }

  /* 4. Permissions of the route. */
  perms = auth_role_perms(who.role);
  for (size_t i = 0; i < ARRAY_LEN(needs); i++)
    if (strcmp(path, needs[i].path) == 0 && !(perms & needs[i].perm))
      return ERR_DENIED;
  /* The FHIR endpoint is a feed (source systems post to it): the feeds
   * permission, not bound to a unit. */
  if (is_fhir(path) && !(perms & AUTH_PERM_FEEDS))
    return ERR_DENIED;

  /* 5. Scope. */
  if ((route_flags & HTTP_ROUTE_PERSON_LEVEL) ||
      (!in_list(path, unscoped, ARRAY_LEN(unscoped)) && !is_fhir(path))) {
    const char *id = http_query_get(http_request_query(req), "unit");
    if (id != NULL) {
      unit = org_unit_find(a->org, id);
      if (unit == NULL)
        return 0; /* the handler answers 400 unknown_unit, without data */
    } else {
      unit = org_unit_count(a->org) > 0 ? org_unit_at(a->org, 0) : NULL;
    }
    if (!auth_scope_covers(&who.scope, a->org, unit))
      return ERR_DENIED;
  }

  /* 6. Person-level rows: the role, a reason, and the record first. */
  if (route_flags & HTTP_ROUTE_PERSON_LEVEL) {
    const char *reason = http_request_header(req, API_AUTH_REASON_HEADER);
    char addr[SECSTORE_ADDRESS_MAX], rid[REQUEST_ID_MAX + 1];
    char action[AUDIT_ACTION_MAX + 1];
    struct audit_entry e;
    if (!(perms & AUTH_PERM_PERSON))
      return ERR_DENIED;
    if (reason == NULL || reason[0] == '\0') {
      refuse(req, "missing_parameter", "reason");
      return ERR_INVAL;
    }
    if (!api_auth_reason_valid(reason)) {
      refuse(req, "invalid_parameter", "reason");
      return ERR_INVAL;
    }
    client_address(a, req, addr, sizeof addr);
    request_id(req, rid);
    view_action(path, action);
    memset(&e, 0, sizeof e);
    e.at_ms = now;
    e.user = who.user;
    e.role = auth_role_name(who.role);
    e.action = action;
    e.unit = unit != NULL ? unit->id : "";
    e.reason = reason;
    e.address = addr;
    e.request_id = rid;
    rc = append(a, &e, 1, &err);
    if (rc < 0) {
      log_error("audit", "cannot append, refusing %s: %s", path, err.msg);
      return rc == ERR_INVAL || rc == ERR_TOOBIG ? ERR_STORE : rc;
    }
  }
  return 0;
}

int api_auth_record(struct api_auth *a, const struct http_request *req,
                    const char *action, const char *unit,
                    const char *const *subjects, size_t n, struct error *err) {
  struct auth_principal who;
  struct audit_entry *e;
  char addr[SECSTORE_ADDRESS_MAX], rid[REQUEST_ID_MAX + 1];
  const char *reason = http_request_header(req, API_AUTH_REASON_HEADER);
  int64_t now = chrono_now_ms();
  int rc;
  if (n == 0 || n > AUDIT_BATCH_MAX || subjects == NULL)
    return error_set(err, ERR_INVAL, "audit: %zu subjects", n);
  rc = resolve(a, req, now, &who, NULL, NULL, err);
  if (rc < 0)
    return rc;
  client_address(a, req, addr, sizeof addr);
  request_id(req, rid);
  e = mem_calloc(n, sizeof *e);
  for (size_t i = 0; i < n; i++) {
    e[i].at_ms = now;
    e[i].user = who.user;
    e[i].role = auth_role_name(who.role);
    e[i].action = action;
    e[i].subject = subjects[i];
    e[i].unit = unit;
    e[i].reason = api_auth_reason_valid(reason) ? reason : "";
    e[i].address = addr;
    e[i].request_id = rid;
  }
  rc = append(a, e, n, err);
  mem_free(e);
  return rc;
}

/* ---- routes that serve aggregates and person-level rows ----------------- */

int api_auth_access(struct api_auth *a, const struct http_request *req,
                    const char *unit, struct api_auth_access *out,
                    struct error *err) {
  const char *reason = http_request_header(req, API_AUTH_REASON_HEADER);
  const struct org_unit *u;
  struct api_auth_access *acc;
  bool has_reason = reason != NULL && reason[0] != '\0';
  int rc;
  if (has_reason && !api_auth_reason_valid(reason))
    return error_set(err, ERR_INVAL, "unknown access reason");
  acc = mem_calloc(1, sizeof *acc);
  rc = resolve(a, req, chrono_now_ms(), &acc->who, NULL, NULL, err);
  if (rc < 0)
    goto out;
  if (unit != NULL)
    u = org_unit_find(a->org, unit);
  else
    u = org_unit_count(a->org) > 0 ? org_unit_at(a->org, 0) : NULL;
  if (!auth_role_person_level(acc->who.role)) {
    acc->detail = API_AUTH_SUPPRESSED;
  } else if (has_reason && u != NULL &&
             auth_scope_covers(&acc->who.scope, a->org, u)) {
    acc->detail = API_AUTH_PERSONS;
    snprintf(acc->reason, sizeof acc->reason, "%s", reason);
  } else {
    acc->detail = API_AUTH_AGGREGATE;
  }
  request_id(req, acc->request_id);
  *out = *acc;
out:
  sodium_memzero(acc, sizeof *acc);
  mem_free(acc);
  return rc;
}

int api_auth_record_view(struct api_auth *a, const struct http_request *req,
                         const struct api_auth_access *acc, const char *action,
                         const char *unit, const struct api_auth_subject *s,
                         size_t n, struct error *err) {
  char addr[SECSTORE_ADDRESS_MAX], act[AUDIT_ACTION_MAX + 1];
  struct audit_entry *e;
  size_t batch = n == 0 ? 1 : (n < AUDIT_BATCH_MAX ? n : AUDIT_BATCH_MAX);
  int64_t now = chrono_now_ms();
  int rc = 0;
  if (acc == NULL || acc->detail != API_AUTH_PERSONS)
    return error_set(err, ERR_DENIED, "not a person-level access");
  if (n > 0 && s == NULL)
    return error_set(err, ERR_INVAL, "audit: no subjects");
  client_address(a, req, addr, sizeof addr);
  if (action == NULL)
    view_action(http_request_path(req), act);
  else
    snprintf(act, sizeof act, "%s", action);
  e = mem_calloc(batch, sizeof *e);
  for (size_t done = 0; rc == 0 && (done < n || (n == 0 && done == 0));) {
    size_t m = n == 0 ? 1 : (n - done < batch ? n - done : batch);
    for (size_t i = 0; i < m; i++) {
      e[i].at_ms = now;
      e[i].user = acc->who.user;
      e[i].role = auth_role_name(acc->who.role);
      e[i].action = act;
      e[i].subject = n == 0 ? "" : s[done + i].subject;
      e[i].unit = n == 0 ? unit : s[done + i].unit;
      e[i].reason = acc->reason;
      e[i].address = addr;
      e[i].request_id = acc->request_id;
    }
    rc = append(a, e, m, err);
    done += m;
  }
  mem_free(e);
  return rc;
}

/* ---- replies ------------------------------------------------------------ */

/* Our own error codes (not in http.c's table), same body shape. */
static const struct {
  const char *code, *fi, *sv, *en;
} own_errors[] = {
    {"invalid_credentials", "virheellinen käyttäjätunnus tai salasana",
     "felaktigt användarnamn eller lösenord", "wrong user name or password"},
    {"too_many_attempts",
     "liian monta epäonnistunutta kirjautumista, yritä myöhemmin uudelleen",
     "för många misslyckade inloggningar, försök senare igen",
     "too many failed sign-ins, try again later"},
    {"unsupported_media_type", "pyynnön sisällön on oltava JSON",
     "begärans innehåll måste vara JSON", "the request body must be JSON"},
    {"directory_unavailable", "käyttäjähakemistoon ei saada yhteyttä",
     "användarkatalogen kan inte nås", "the user directory cannot be reached"},
    {"no_session", "istuntoa ei ole", "ingen session", "no session to end"},
};

static void reply_own_error(struct http_reply *rep, unsigned status,
                            const char *code, const char *field) {
  json_t *o = NULL, *i18n;
  char *text = NULL;
  struct buf b;
  size_t i;
  for (i = 0; i < ARRAY_LEN(own_errors); i++)
    if (strcmp(own_errors[i].code, code) == 0)
      break;
  if (i == ARRAY_LEN(own_errors)) {
    http_reply_error(rep, 500, "internal", NULL, NULL);
    return;
  }
  i18n = json_pack("{s:s,s:s,s:s}", "fi", own_errors[i].fi, "sv",
                   own_errors[i].sv, "en", own_errors[i].en);
  o = json_pack("{s:{s:i,s:s,s:o,s:s,s:o}}", "error", "status", (int)status,
                "code", code, "field",
                field != NULL ? json_string(field) : json_null(), "message",
                own_errors[i].en, "i18n", i18n);
  if (o != NULL)
    text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  buf_init(&b, REPLY_MAX);
  if (text == NULL || buf_puts(&b, text) != 0) {
    free(text);
    buf_release(&b);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    return;
  }
  free(text);
  http_reply_json(rep, status, &b);
}

/* The body of sign-in and /me. */
static int principal_json(const struct auth_principal *who, bool with_csrf,
                          struct buf *out) {
  json_t *o = json_object(), *scope = json_array(), *rs = json_array();
  char when[32];
  char *text;
  int rc;
  for (size_t i = 0; i < who->scope.n; i++)
    json_array_append_new(scope, json_string(who->scope.units[i]));
  for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
    json_array_append_new(rs, json_string(reasons[i]));
  json_object_set_new(o, "user", json_string(who->user));
  json_object_set_new(o, "role", json_string(auth_role_name(who->role)));
  json_object_set_new(o, "scope", scope);
  json_object_set_new(o, "person_level",
                      json_boolean(auth_role_person_level(who->role)));
  json_object_set_new(o, "source",
                      json_string(who->via_token ? "token" : who->source));
  json_object_set_new(o, "csrf",
                      with_csrf && who->csrf[0] != '\0' ? json_string(who->csrf)
                                                        : json_null());
  if (who->expires_ms != 0) {
    chrono_format_iso(who->expires_ms, when);
    json_object_set_new(o, "expires_at", json_string(when));
  } else {
    json_object_set_new(o, "expires_at", json_null());
  }
  json_object_set_new(o, "reasons", rs);
  text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text == NULL)
    return ERR_NOMEM;
  rc = buf_puts(out, text);
  sodium_memzero(text, strlen(text));
  free(text);
  return rc;
}

static int set_cookie(struct api_auth *a, struct http_reply *rep,
                      const char *value, int64_t max_age_s) {
  char c[256];
  snprintf(c, sizeof c,
           "%s=%s; Path=/; HttpOnly; SameSite=Strict; "
           "Max-Age=%lld%s",
           API_AUTH_COOKIE, value, (long long)max_age_s,
           a->tls || a->st.secure_cookie ? "; Secure" : "");
  return http_reply_header(rep, "Set-Cookie", c);
}

static void audit_event(struct api_auth *a, const struct http_request *req,
                        const struct auth_principal *who, const char *action) {
  char addr[SECSTORE_ADDRESS_MAX], rid[REQUEST_ID_MAX + 1];
  struct audit_entry e;
  struct error err;
  client_address(a, req, addr, sizeof addr);
  request_id(req, rid);
  memset(&e, 0, sizeof e);
  e.user = who->user;
  e.role = auth_role_name(who->role);
  e.action = action;
  e.address = addr;
  e.request_id = rid;
  if (append(a, &e, 1, &err) < 0)
    log_error("audit", "cannot record %s for '%s': %s", action, who->user,
              err.msg);
}

/* Ends a session just made when its reply cannot be sent. */
static void drop_session(struct api_auth *a, const char *token) {
  struct error err;
  if (auth_session_end(a->auth, token, strlen(token), &err) < 0)
    log_error("auth", "cannot end a session: %s", err.msg);
}

/* ---- the sign-in body ---------------------------------------------------- */

static int body_fault(struct api_auth_body_fault *f, const char *code,
                      const char *field, const char *arg) {
  size_t n = arg != NULL ? strlen(arg) : 0;
  f->code = code;
  f->field = field;
  if (n >= sizeof f->arg)
    n = sizeof f->arg - 1;
  memcpy(f->arg, arg != NULL ? arg : "", n);
  f->arg[n] = '\0';
  return ERR_PARSE;
}

int api_auth_parse_signin(const char *body, size_t len, char *user,
                          size_t user_cap, char **pw, size_t *pwlen,
                          struct api_auth_body_fault *f) {
  json_t *root, *val;
  json_error_t jerr;
  const char *key;
  int rc = 0;
  if (len == 0 || len > API_AUTH_BODY_MAX)
    return body_fault(f, "bad_request", NULL, NULL);
  root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL || !json_is_object(root)) {
    json_decref(root);
    return body_fault(f, "bad_request", NULL, NULL);
  }
  json_object_foreach(root, key, val) {
    if (strcmp(key, "user") != 0 && strcmp(key, "password") != 0) {
      rc = body_fault(f, "unknown_parameter", "body", key);
      goto out;
    }
  }
  val = json_object_get(root, "user");
  if (val == NULL) {
    rc = body_fault(f, "missing_parameter", "user", "user");
    goto out;
  }
  if (!json_is_string(val) || json_string_length(val) == 0 ||
      json_string_length(val) > AUTH_USER_MAX ||
      json_string_length(val) >= user_cap ||
      strlen(json_string_value(val)) != json_string_length(val)) {
    rc = body_fault(f, "invalid_parameter", "user", "user");
    goto out;
  }
  val = json_object_get(root, "password");
  if (val == NULL) {
    rc = body_fault(f, "missing_parameter", "password", "password");
    goto out;
  }
  if (!json_is_string(val) || json_string_length(val) == 0 ||
      json_string_length(val) > AUTH_PASSWORD_MAX) {
    rc = body_fault(f, "invalid_parameter", "password", "password");
    goto out;
  }
  memcpy(user, json_string_value(json_object_get(root, "user")),
         json_string_length(json_object_get(root, "user")) + 1);
  *pwlen = json_string_length(val);
  *pw = mem_alloc(*pwlen + 1);
  memcpy(*pw, json_string_value(val), *pwlen);
  (*pw)[*pwlen] = '\0';
  sodium_memzero((char *)json_string_value(val), *pwlen);
out:
  json_decref(root);
  return rc;
}

/* ---- handlers ----------------------------------------------------------- */

static int h_signin(void *ctx, const struct http_request *req,
                    struct http_reply *rep) {
  struct api_auth *a = ctx;
  const char *ctype = http_request_header(req, "Content-Type");
  const char *body;
  char addr[SECSTORE_ADDRESS_MAX];
  char user[AUTH_USER_MAX + 1];
  char *pw = NULL;
  size_t len, pwlen = 0;
  struct auth_signin *s = NULL;
  struct error err;
  int64_t retry = 0, now;
  struct buf b;
  int rc;

  if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
      (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
    reply_own_error(rep, 415, "unsupported_media_type", NULL);
    return 0;
  }
  if (!same_origin(req)) {
    http_reply_error(rep, 403, "forbidden", NULL, NULL);
    return 0;
  }
  body = http_request_body(req, &len);
  if (body == NULL || len == 0 || len > API_AUTH_BODY_MAX) {
    http_reply_error(rep, 400, "bad_request", NULL, NULL);
    return 0;
  }
  {
    struct api_auth_body_fault f;
    if (api_auth_parse_signin(body, len, user, sizeof user, &pw, &pwlen, &f) <
        0) {
      http_reply_error(rep, 400, f.code, f.field, f.arg[0] ? f.arg : NULL);
      goto out;
    }
  }
  client_address(a, req, addr, sizeof addr);
  s = mem_calloc(1, sizeof *s);
  now = chrono_now_ms();
  error_clear(&err);
  rc = auth_signin(a->auth, user, pw, pwlen, addr, now, s, &retry, &err);
  if (rc == ERR_AGAIN) {
    char secs[24];
    snprintf(secs, sizeof secs, "%lld", (long long)((retry + 999) / 1000));
    log_warn("auth", "sign-in locked out from %s",
             addr[0] != '\0' ? addr : "an unknown address");
    reply_own_error(rep, 429, "too_many_attempts", NULL);
    if (http_reply_header(rep, "Retry-After", secs) != 0) {
      /* the reply stands without the hint */
    }
    goto out;
  }
  if (rc == ERR_DENIED || rc == ERR_INVAL) {
    log_warn("auth", "sign-in refused from %s: %s",
             addr[0] != '\0' ? addr : "an unknown address", err.msg);
    reply_own_error(rep, 401, "invalid_credentials", NULL);
    goto out;
  }
  if (rc == ERR_IO) {
    log_error("auth", "sign-in: %s", err.msg);
    reply_own_error(rep, 503, "directory_unavailable", NULL);
    goto out;
  }
  if (rc < 0) {
    log_error("auth", "sign-in failed: %s", err.msg);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    goto out;
  }
  audit_event(a, req, &s->who, "session.create");
  log_info("auth", "'%s' signed in as %s (%s)", s->who.user,
           auth_role_name(s->who.role), s->who.source);
  buf_init(&b, REPLY_MAX);
  if (principal_json(&s->who, true, &b) != 0) {
    buf_release(&b);
    drop_session(a, s->token);
    http_reply_error(rep, 500, "internal", NULL, NULL);
    goto out;
  }
  http_reply_json(rep, 200, &b);
  if (set_cookie(a, rep, s->token, a->st.absolute_timeout_ms / 1000) != 0) {
    drop_session(a, s->token);
    http_reply_error(rep, 500, "internal", NULL, NULL);
  }
out:
  if (pw != NULL) {
    sodium_memzero(pw, pwlen);
    mem_free(pw);
  }
  if (s != NULL) {
    sodium_memzero(s, sizeof *s);
    mem_free(s);
  }
  return 0;
}

static int h_signout(void *ctx, const struct http_request *req,
                     struct http_reply *rep) {
  static const char done[] = "{\"status\":\"signed_out\"}";
  struct api_auth *a = ctx;
  struct auth_principal who;
  const char *token = NULL;
  size_t len = 0;
  struct error err;
  int rc = resolve(a, req, chrono_now_ms(), &who, &token, &len, &err);
  if (rc == ERR_DENIED) {
    http_reply_error(rep, 401, "unauthorized", NULL, NULL);
    return 0;
  }
  if (rc < 0)
    return rc;
  if (who.via_token || token == NULL) {
    reply_own_error(rep, 400, "no_session", NULL);
    return 0;
  }
  rc = auth_session_end(a->auth, token, len, &err);
  if (rc < 0)
    return rc;
  audit_event(a, req, &who, "session.delete");
  log_info("auth", "'%s' signed out", who.user);
  http_reply_static(rep, 200, "application/json", done, sizeof done - 1);
  return set_cookie(a, rep, "", 0);
}

static int h_me(void *ctx, const struct http_request *req,
                struct http_reply *rep) {
  struct api_auth *a = ctx;
  struct auth_principal who;
  struct error err;
  struct buf b;
  int rc = resolve(a, req, chrono_now_ms(), &who, NULL, NULL, &err);
  if (rc == ERR_DENIED) {
    http_reply_error(rep, 401, "unauthorized", NULL, NULL);
    return 0;
  }
  if (rc < 0)
    return rc;
  buf_init(&b, REPLY_MAX);
  rc = principal_json(&who, true, &b);
  sodium_memzero(&who, sizeof who);
  if (rc != 0) {
    buf_release(&b);
    return ERR_NOMEM;
  }
  http_reply_json(rep, 200, &b);
  return 0;
}

/* ---- the checkpoint thread ---------------------------------------------- */

static void *checkpointer(void *arg) {
  struct api_auth *a = arg;
  int64_t last_purge = 0;
  pthread_mutex_lock(&a->mu);
  while (!a->stop) {
    struct timespec ts;
    int64_t tick = a->st.checkpoint_interval_ms < TICK_MS
                       ? a->st.checkpoint_interval_ms
                       : TICK_MS;
    int64_t now;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(tick / 1000);
    ts.tv_nsec += (long)(tick % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    if (a->stop)
      break;
    pthread_mutex_unlock(&a->mu);
    now = chrono_now_ms();
    if (audit_unsigned(a->audit) > 0 &&
        now - atomic_load(&a->last_cp_ms) >= a->st.checkpoint_interval_ms) {
      struct error err;
      if (checkpoint(a, "periodic", NULL, &err) < 0)
        log_warn("audit", "cannot sign a checkpoint: %s", err.msg);
    }
    if (now - last_purge >= PURGE_EVERY_MS) {
      struct error err;
      if (auth_purge(a->auth, now, &err) < 0)
        log_warn("auth", "cannot purge expired sessions: %s", err.msg);
      last_purge = now;
    }
    pthread_mutex_lock(&a->mu);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

/* ---- install and free --------------------------------------------------- */

static char *path_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mem_alloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

int api_auth_install(struct http_server *srv,
                     const struct api_auth_options *opt, struct api_auth **out,
                     struct error *err) {
  struct api_auth *a = NULL;
  pthread_condattr_t ca;
  char *p = NULL;
  int rc;
  if (opt == NULL || opt->data_dir == NULL || opt->org == NULL)
    return error_set(err, ERR_INVAL,
                     "api_auth needs a data directory and an "
                     "organisation");
  a = mem_calloc(1, sizeof *a);
  a->org = opt->org;
  a->tls = opt->tls;
  pthread_mutex_init(&a->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (opt->settings != NULL) {
    a->st = *opt->settings;
  } else {
    auth_settings_default(&a->st);
    p = path_join(opt->data_dir, AUTH_SETTINGS_FILE);
    rc = auth_settings_load(p, &a->st, err);
    if (rc == ERR_NOTFOUND)
      error_clear(err);
    else if (rc < 0)
      goto fail;
    mem_free(p);
    p = NULL;
  }
  p = path_join(opt->data_dir, AUTH_LDAP_FILE);
  rc = auth_ldap_load(p, &a->ldap, err);
  if (rc == ERR_NOTFOUND)
    error_clear(err);
  else if (rc < 0)
    goto fail;
  mem_free(p);
  if (opt->keys != NULL) {
    a->keys = opt->keys;
  } else {
    p = path_join(opt->data_dir, "keys");
    rc = privacy_keys_load(p, &a->own_keys, err);
    if (rc < 0)
      goto fail;
    a->keys = a->own_keys;
    mem_free(p);
  }
  p = path_join(opt->data_dir, SECSTORE_FILE);
  rc = secstore_open(p, SECSTORE_CREATE, &a->ss, err);
  if (rc < 0)
    goto fail;
  mem_free(p);
  p = NULL;
  rc = auth_open(a->ss, a->org, &a->st, a->ldap, &a->auth, err);
  if (rc < 0)
    goto fail;
  rc = audit_open(a->ss, a->keys, 0, &a->audit, err);
  if (rc < 0)
    goto fail;
  atomic_store(&a->last_cp_ms, chrono_now_ms());
  {
    const struct http_route routes[] = {
        {HTTP_M_POST, "/api/v1/session", 0, NULL, "session_create", h_signin,
         a},
        {HTTP_M_DELETE, "/api/v1/session", 0, NULL, "session_delete", h_signout,
         a},
        {HTTP_M_GET, "/api/v1/me", 0, NULL, "me", h_me, a},
    };
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
      rc = http_server_route(srv, &routes[i], err);
      if (rc < 0)
        goto fail;
    }
  }
  if (pthread_create(&a->thread, NULL, checkpointer, a) != 0) {
    rc = error_set(err, ERR_STATE, "cannot start the checkpoint thread");
    goto fail;
  }
  a->thread_started = true;
  if (a->ldap != NULL)
    log_info("auth", "directory sign-in configured (%s)", AUTH_LDAP_FILE);
  *out = a;
  return 0;
fail:
  mem_free(p);
  api_auth_free(a);
  return rc;
}

int api_auth_checkpoint(struct api_auth *a, struct error *err) {
  return checkpoint(a, "manual", NULL, err);
}

struct secstore *api_auth_secstore(struct api_auth *a) {
  return a->ss;
}
struct auth *api_auth_auth(struct api_auth *a) {
  return a->auth;
}
struct audit *api_auth_audit(struct api_auth *a) {
  return a->audit;
}

void api_auth_free(struct api_auth *a) {
  if (a == NULL)
    return;
  if (a->thread_started) {
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    /* A clean shutdown seals the head. */
    if (a->audit != NULL && a->keys != NULL) {
      struct error err;
      if (checkpoint(a, "shutdown", NULL, &err) < 0)
        log_warn("audit", "cannot sign the shutdown checkpoint: %s", err.msg);
    }
  }
  audit_free(a->audit);
  auth_free(a->auth);
  secstore_close(a->ss);
  auth_ldap_free(a->ldap);
  privacy_keys_free(a->own_keys);
  pthread_cond_destroy(&a->cv);
  pthread_mutex_destroy(&a->mu);
  mem_free(a);
}
