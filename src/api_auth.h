/* api_auth.h -- sign-in, sessions and authorisation on the HTTP server, and
 * the audit trail of every person-level view.
 *
 * Routes (added by api_auth_install):
 *   POST   /api/v1/session  {"user","password"} -> 200 and cookie tk_session
 *                           (HttpOnly; SameSite=Strict; Path=/; Max-Age;
 *                           Secure under TLS or with session.secure_cookie),
 *                           body {"user","role","scope":[..],
 *                           "person_level","csrf","expires_at","reasons":[..]};
 *                           400 bad body, 401 invalid_credentials, 415 not
 *                           JSON, 429 too_many_attempts (Retry-After), 503
 *                           directory unreachable
 *   DELETE /api/v1/session  sign out (needs X-CSRF-Token); clears the cookie
 *   GET    /api/v1/me       the same body as sign-in, for the signed-in user
 *
 * The authorizer (api_auth_authorize, an http_authorize_fn) decides for every
 * routed request:
 *   1. public: /healthz and POST /api/v1/session (static files never reach
 *      it: http.c serves them without asking);
 *   2. anyone else must present a session cookie or "Authorization: Bearer
 *      tk_..." (an API token), else 401;
 *   3. a state-changing request (POST, PUT, PATCH, DELETE) with a cookie
 *      needs X-CSRF-Token equal to the session's, and must not come from
 *      another origin (Origin, Sec-Fetch-Site), else 403;
 *   4. some routes need a permission (/metrics: feeds), else 403;
 *   5. every route that is not listed as unscoped (units, status, stream,
 *      me, session, metrics) is bound to a unit: the 'unit' query parameter,
 *      or the organisation's root when absent, must lie within the user's
 *      scope, else 403 (an unknown unit passes to the handler, which answers
 *      400 unknown_unit without data);
 *   6. person-level routes (HTTP_ROUTE_PERSON_LEVEL) need a role with
 *      person-level rights (403 otherwise) and a reason: header
 *      X-Access-Reason with one of the codes api_auth_reason_at lists (400,
 *      field "reason", when missing or unknown -- see HTTP_HAS_REFUSE below);
 *      then an audit record (user, role, "view PATH", unit, reason, client
 *      address, request id) is appended and committed BEFORE the handler
 *      runs; if it cannot be, the request fails with 500 and no data.
 *      (No route of the app is flagged so today: the bed board serves
 *      every role and decides per request with api_auth_access, below.)
 *
 * Checkpoints of the audit chain are signed every settings.checkpoint_every
 * records, every checkpoint_interval while records arrive, and at
 * api_auth_free (a clean shutdown); each is also written to the server log
 * (count, head, signature) so that a copy exists outside the database.
 *
 * Client address: with http.h's http_request_client_address
 * (HTTP_HAS_CLIENT_ADDRESS), and with [http] trusted_proxy from the
 * X-Real-IP or last X-Forwarded-For address. Without either it is unknown:
 * audit records say "" and only per-user sign-in throttling applies.
 *
 * Thread safety: api_auth_authorize and the handlers run on the HTTP
 * server's threads concurrently; install and free from the thread that
 * owns the server. */
#ifndef TK_API_AUTH_H
#define TK_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "compat.h"
#include "err.h"
#include "http.h"
#include "org.h"
#include "privacy.h"

#define API_AUTH_COOKIE "tk_session"
#define API_AUTH_REASON_HEADER "X-Access-Reason"
#define API_AUTH_CSRF_HEADER "X-CSRF-Token"
#define API_AUTH_BODY_MAX 4096 /* sign-in request body, bytes */

struct api_auth_options {
  /* The data directory: security.db (created when missing), security.ini
   * and ldap.ini (both optional), keys (unless 'keys' is given). */
  const char *data_dir;
  const struct org *org; /* required; must outlive the api_auth */
  bool tls;              /* the server serves TLS (http_server_tls) */
  /* NULL: defaults, overridden by DATA_DIR/security.ini when present.
   * Copied. */
  const struct auth_settings *settings;
  /* NULL: loaded from DATA_DIR/keys. Borrowed otherwise. */
  const struct privacy_keys *keys;
};

struct api_auth;

/* Opens the security database, loads the settings, the directory settings
 * (DATA_DIR/ldap.ini when present) and the keys, adds the three routes to
 * 'srv' (not yet started) and starts the checkpoint thread. The caller then
 * sets the authorizer: http_server_set_authorizer(srv, api_auth_authorize,
 * *out). On failure *out is untouched (ERR_CONFIG for a bad settings file,
 * the errors of secstore_open, privacy_keys_load and http_server_route);
 * 'srv' may then hold some of the routes: free it. */
NODISCARD int api_auth_install(struct http_server *srv,
                               const struct api_auth_options *opt,
                               struct api_auth **out, struct error *err);

/* The authorizer (http_authorize_fn); 'ctx' is the struct api_auth. Returns
 * 0 (allow), ERR_AGAIN (401), ERR_DENIED (403), ERR_INVAL (400 with field
 * "reason" when http.h has http_request_refuse, else answered as 500), or
 * another negative code (500). */
int api_auth_authorize(void *ctx, const struct http_request *req,
                       unsigned route_flags);

/* For handlers of person-level routes that know which persons they show or
 * record: appends one audit record per subject pseudonym ('n' of them, n >=
 * 1) for the request's user, with 'action' and 'unit' and the request's
 * reason and request id, in one transaction. ERR_DENIED when the request
 * has no valid principal. */
NODISCARD int api_auth_record(struct api_auth *a,
                              const struct http_request *req,
                              const char *action, const char *unit,
                              const char *const *subjects, size_t n,
                              struct error *err);

/* ---- routes that serve aggregates and person-level rows ------------------
 *
 * A route like GET /api/v1/bedboard is not flagged HTTP_ROUTE_PERSON_LEVEL:
 * every signed-in role within scope may call it, and its handler decides
 * per request what to show with api_auth_access, and audits the rows it
 * shows with api_auth_record_view before replying. */

/* What a request may see of the unit-bound data it asks for. */
enum api_auth_detail {
  /* A role without person-level rights (or no access control at all):
   * aggregates, small cells suppressed (suppress.h). */
  API_AUTH_SUPPRESSED,
  /* A person-level role without a reason: exact aggregates, no rows. */
  API_AUTH_AGGREGATE,
  /* A person-level role, the unit in its scope, and a valid reason in
   * X-Access-Reason: exact aggregates and person-level rows. */
  API_AUTH_PERSONS
};

#define API_AUTH_REASON_MAX 31     /* bytes of a reason code */
#define API_AUTH_REQUEST_ID_MAX 64 /* bytes of a request id */

struct api_auth_access {
  enum api_auth_detail detail;
  struct auth_principal who;
  char reason[API_AUTH_REASON_MAX + 1]; /* "" unless API_AUTH_PERSONS */
  /* X-Request-Id when it is [A-Za-z0-9._-]{1,64}, else 32 random hex
   * characters: the id of every audit record of this request; echo it in
   * the reply's X-Request-Id so a view can be matched to its records. */
  char request_id[API_AUTH_REQUEST_ID_MAX + 1];
};

/* Decides what 'req' (already admitted by api_auth_authorize) may see of
 * 'unit' (an org unit id the handler has checked; NULL: the root). The
 * principal is resolved again, so a session ended in between counts as
 * none. On success fills *out. ERR_INVAL when the request sends
 * X-Access-Reason with a value that is not a reason code (an empty header
 * counts as none): answer 400 invalid_parameter, field "reason";
 * ERR_DENIED when there is no valid principal (401); a store error
 * otherwise. A missing reason is not an error: the answer is then
 * API_AUTH_AGGREGATE for a person-level role. Thread-safe. */
NODISCARD int api_auth_access(struct api_auth *a,
                              const struct http_request *req, const char *unit,
                              struct api_auth_access *out, struct error *err);

/* One person-level row shown: its subject pseudonym and its unit. */
struct api_auth_subject {
  const char *subject;
  const char *unit;
};

/* Appends one audit record per row in 's' (n of them) for an
 * API_AUTH_PERSONS access 'acc' of 'req': time, user, role, action
 * ('action', or "view PATH" when NULL), subject, unit, reason, client
 * address and acc->request_id; committed durably (in transactions of up to
 * AUDIT_BATCH_MAX records) before this returns, so call it BEFORE the
 * reply is made. n == 0 appends one record for 'unit' without a subject, so
 * that the view itself is on record. ERR_DENIED when acc is not
 * API_AUTH_PERSONS; ERR_STORE (and the audit's errors) when the records
 * cannot be appended: the handler must then not show the rows. Records
 * already appended when a later batch fails stay (they over-report, never
 * under-report). Thread-safe. */
NODISCARD int api_auth_record_view(struct api_auth *a,
                                   const struct http_request *req,
                                   const struct api_auth_access *acc,
                                   const char *action, const char *unit,
                                   const struct api_auth_subject *s, size_t n,
                                   struct error *err);

/* The access-reason codes, in order: api_auth_reason_at(i) for i = 0.. until
 * NULL. */
const char *api_auth_reason_at(size_t i);
/* True when 'reason' is one of them. */
bool api_auth_reason_valid(const char *reason);

/* Signs the audit head now (kind "manual") and logs it. */
NODISCARD int api_auth_checkpoint(struct api_auth *a, struct error *err);

/* The security database, the authenticator and the audit log (for tests
 * and the app; owned by the api_auth). */
struct secstore *api_auth_secstore(struct api_auth *a);
struct auth *api_auth_auth(struct api_auth *a);
struct audit *api_auth_audit(struct api_auth *a);

/* Stops the checkpoint thread, signs a "shutdown" checkpoint (logged),
 * and frees. Only after the HTTP server has stopped. Accepts NULL. */
void api_auth_free(struct api_auth *a);

/* Why a sign-in body was refused: the error code, field and argument of
 * the 400 reply (http_reply_error). */
struct api_auth_body_fault {
  const char *code;  /* "bad_request", "unknown_parameter", ... */
  const char *field; /* NULL, "body", "user" or "password" */
  char arg[64];
};

/* Parses a sign-in body {"user": "...", "password": "..."} (nothing else).
 * On success returns 0, copies the user name into 'user' and sets *pw to a
 * mem_alloc'd NUL-terminated copy of the password (*pwlen bytes; the caller
 * wipes and frees it). On failure returns ERR_PARSE, fills *f and leaves the
 * out-parameters untouched. Pure; thread-safe. Fuzzed by
 * fuzz/fuzz_json_body.c. */
NODISCARD int api_auth_parse_signin(const char *body, size_t len, char *user,
                                    size_t user_cap, char **pw, size_t *pwlen,
                                    struct api_auth_body_fault *f);

#endif
