/* auth.h -- who someone is and what they may see: roles, scopes, local
 * accounts (argon2id), directory accounts (LDAP / Active Directory, in
 * auth_ldap.c), sessions, API tokens and sign-in throttling.
 *
 * Roles and what they may do (auth_role_perms):
 *
 *   role               aggregates  person-level rows  feeds  audit  users
 *   leader                 x
 *   analyst                x
 *   unit_manager           x              x
 *   coordinator            x              x
 *   integration_admin      x                            x
 *   registrar              x                                   x
 *   admin                  x                            x      x      x
 *
 * A scope is one or more subtrees of the organisation tree, named by their
 * root unit ids; a unit is in scope when it lies within one of them
 * (org_unit_within). Scope unit ids that the organisation no longer has
 * cover nothing (fail closed).
 *
 * Credentials are never stored: passwords as argon2id strings
 * (crypto_pwhash_str), session and API tokens as BLAKE2b-256 hashes of 256
 * random bits. A session token is 43 base64url characters; an API token is
 * "tk_" and 43 base64url characters.
 *
 * Thread safety: the role, scope and password functions are reentrant. A
 * struct auth may be used from any number of threads (its secstore
 * serialises); it only reads its org and settings. Nothing here logs. */
#ifndef TK_AUTH_H
#define TK_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"
#include "org.h"
#include "secstore.h"

/* ---- roles -------------------------------------------------------------- */

enum auth_role {
  AUTH_ROLE_LEADER,
  AUTH_ROLE_ANALYST,
  AUTH_ROLE_UNIT_MANAGER,
  AUTH_ROLE_COORDINATOR,
  AUTH_ROLE_INTEGRATION_ADMIN,
  AUTH_ROLE_REGISTRAR,
  AUTH_ROLE_ADMIN,
  AUTH_ROLE__COUNT
};

#define AUTH_PERM_AGGREGATE 0x01u /* aggregates within scope */
#define AUTH_PERM_PERSON 0x02u    /* person-level rows within scope */
#define AUTH_PERM_FEEDS 0x04u     /* feed monitoring, metrics */
#define AUTH_PERM_AUDIT 0x08u     /* read the audit log */
#define AUTH_PERM_USERS 0x10u     /* manage accounts */

/* Parses a role name ("coordinator"); ERR_NOTFOUND (untouched) otherwise. */
NODISCARD int auth_role_parse(const char *s, enum auth_role *out);
/* The role's name; "" for a value out of range. */
const char *auth_role_name(enum auth_role r);
/* The role's AUTH_PERM_* bits; 0 for a value out of range. */
unsigned auth_role_perms(enum auth_role r);
/* True when the role may see person-level rows (AUTH_PERM_PERSON). */
bool auth_role_person_level(enum auth_role r);

/* ---- scopes ------------------------------------------------------------- */

#define AUTH_SCOPE_MAX 32   /* subtrees in one scope */
#define AUTH_UNIT_ID_MAX 64 /* == EVENT_ID_MAX: 1..63 of [A-Za-z0-9._-] */

struct auth_scope {
  size_t n;
  char units[AUTH_SCOPE_MAX][AUTH_UNIT_ID_MAX];
};

/* Parses "unit[,unit...]" (spaces around commas allowed): 1..AUTH_SCOPE_MAX
 * unit ids, no duplicates. ERR_PARSE / ERR_TOOBIG (untouched) otherwise. */
NODISCARD int auth_scope_parse(const char *text, struct auth_scope *out,
                               struct error *err);
/* ERR_NOTFOUND naming the first unit id 'org' does not have. */
NODISCARD int auth_scope_check(const struct auth_scope *scope,
                               const struct org *org, struct error *err);
/* "a,b,c" into out (cap bytes, SECSTORE_SCOPE_MAX always suffices);
 * ERR_TOOBIG when it does not fit. */
NODISCARD int auth_scope_format(const struct auth_scope *scope, char *out,
                                size_t cap);
/* True when 'unit' lies within one of the scope's subtrees. */
bool auth_scope_covers(const struct auth_scope *scope, const struct org *org,
                       const struct org_unit *unit);

/* ---- names -------------------------------------------------------------- */

#define AUTH_USER_MAX 64 /* bytes of a user name */

/* A user name: 1..AUTH_USER_MAX bytes of [A-Za-z0-9._@-], starting with a
 * letter or digit. ERR_INVAL otherwise. Names are case-insensitive, as in
 * Active Directory: every function below that takes a user name lowercases
 * it first, so accounts, sessions, throttling and audit records always carry
 * the lowercase form. */
NODISCARD int auth_user_name_check(const char *name, struct error *err);

/* ---- passwords ---------------------------------------------------------- */

#define AUTH_PASSWORD_MIN 12   /* bytes, for passwords set here */
#define AUTH_PASSWORD_MAX 1024 /* bytes accepted at all */
#define AUTH_PWHASH_MAX SECSTORE_PWHASH_MAX

struct auth_pwhash_params {
  unsigned long long opslimit;
  size_t memlimit;
};

/* Production: argon2id with libsodium's INTERACTIVE limits (2 passes,
 * 64 MiB). */
struct auth_pwhash_params auth_pwhash_default(void);
/* Tests only: libsodium's minimum limits (fast, weak). */
struct auth_pwhash_params auth_pwhash_test(void);

/* Hashes 'len' bytes of 'pw' with argon2id into 'out' (a NUL-terminated
 * crypto_pwhash_str string). 'p' NULL means auth_pwhash_default(). ERR_INVAL
 * for a password outside AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX bytes or with
 * a NUL; ERR_NOMEM when argon2 cannot get its memory. */
NODISCARD int auth_password_hash(const char *pw, size_t len,
                                 const struct auth_pwhash_params *p,
                                 char out[AUTH_PWHASH_MAX], struct error *err);
/* 0 when 'pw' matches 'hash', ERR_DENIED otherwise (also for a malformed
 * hash). Takes as long as the hash's own limits say. */
NODISCARD int auth_password_verify(const char *hash, const char *pw,
                                   size_t len);
/* True when 'hash' was made with other limits than 'p' (NULL: default). */
bool auth_password_needs_rehash(const char *hash,
                                const struct auth_pwhash_params *p);

/* ---- settings (DATA_DIR/security.ini) ----------------------------------- */

#define AUTH_SETTINGS_FILE "security.ini"

struct auth_settings {
  int64_t idle_timeout_ms;        /* [session] idle_timeout, default 30m */
  int64_t absolute_timeout_ms;    /* [session] absolute_timeout, default 12h */
  int64_t touch_interval_ms;      /* [session] touch_interval, default 1m */
  bool secure_cookie;             /* [session] secure_cookie: Secure also
                                     without TLS here (behind a TLS proxy) */
  unsigned user_free_failures;    /* [signin] user_failures, default 5 */
  unsigned addr_free_failures;    /* [signin] address_failures, default 20 */
  int64_t backoff_base_ms;        /* [signin] backoff_base, default 1s */
  int64_t backoff_max_ms;         /* [signin] backoff_max, default 15m */
  int64_t failure_window_ms;      /* [signin] failure_window, default 15m */
  bool trusted_proxy;             /* [http] trusted_proxy: take the client
                                     address from X-Forwarded-For */
  unsigned checkpoint_every;      /* [audit] checkpoint_every, default 1000 */
  int64_t checkpoint_interval_ms; /* [audit] checkpoint_interval, 5m */
  struct auth_pwhash_params pwhash; /* not in the file: tests only */
};

/* The defaults above. */
void auth_settings_default(struct auth_settings *s);

/* Reads an INI file over 's' (keys as above; durations like config.h's:
 * 30m, 12h, 1d). Unknown sections or keys, a key given twice, bad values
 * and lines over 198 bytes are ERR_CONFIG naming "path:line"; ERR_NOTFOUND
 * when the file does not exist. All or nothing: 's' is unchanged on
 * failure. */
NODISCARD int auth_settings_load(const char *path, struct auth_settings *s,
                                 struct error *err);

/* The INI reader shared with auth_ldap.c: calls 'fn' for every key with
 * the line number; a non-zero return from fn is an error at that line,
 * described by fn in 'msg' (cap 200). Lines over 198 bytes and syntax
 * errors are errors. 0, ERR_NOTFOUND (no file), ERR_IO or ERR_CONFIG
 * ("path:line: ..."). */
typedef int (*auth_ini_fn)(void *ctx, const char *section, const char *key,
                           const char *value, char *msg, size_t cap);
NODISCARD int auth_ini_parse(const char *path, auth_ini_fn fn, void *ctx,
                             struct error *err);

/* ---- principals --------------------------------------------------------- */

/* Who a request acts as. */
struct auth_principal {
  char user[AUTH_USER_MAX + 1];
  enum auth_role role;
  struct auth_scope scope;
  char source[SECSTORE_SOURCE_MAX]; /* "local", "ldap" */
  bool via_token;                   /* an API token, not a session */
  int64_t token_id;                 /* when via_token */
  char csrf[SECSTORE_CSRF_MAX];     /* the session's CSRF token ("" for
                                       tokens) */
  int64_t expires_ms;               /* when the session or token ends (0:
                                       never) */
};

/* ---- directory accounts (auth_ldap.c) ----------------------------------- */

#define AUTH_LDAP_FILE "ldap.ini"

struct auth_ldap;

/* Reads the directory settings (docs/SECURITY.md, "Active Directory"):
 * [ldap] url, ca_file, bind_dn_template or upn_suffix, base, user_filter,
 * group_attribute or group_base + group_filter, disabled_group, timeout,
 * and one [group NAME] section per mapped group: dn, role, scope. ERR_CONFIG
 * naming "path:line" or the missing key; ERR_NOTFOUND when there is no
 * file. On success *out owns the settings (auth_ldap_free). */
NODISCARD int auth_ldap_load(const char *path, struct auth_ldap **out,
                             struct error *err);
void auth_ldap_free(struct auth_ldap *l);

/* ERR_NOTFOUND naming the first group scope unit 'org' does not have. */
NODISCARD int auth_ldap_check_scopes(const struct auth_ldap *l,
                                     const struct org *org, struct error *err);

/* Signs in at the directory: connects (ldaps://, or ldap:// with StartTLS
 * required; the certificate is verified against ca_file or the system
 * store), binds as the user with 'password', reads the user's entry and
 * groups, refuses a disabled account and maps the first configured group
 * the user belongs to (in file order) to a role; the scope is the union of
 * every matched group's scope with that role. On success fills *out
 * (source "ldap"). ERR_DENIED for a wrong password, an unknown or disabled
 * user, or no mapped group (err says which; never show it to the person
 * signing in); ERR_IO when the directory cannot be reached or TLS fails;
 * ERR_INVAL for a user name auth_user_name_check refuses or an empty
 * password (an empty password would be an anonymous bind). Blocking, with
 * the configured timeout; reentrant (one connection per call). */
NODISCARD int auth_ldap_authenticate(const struct auth_ldap *l,
                                     const char *user, const char *password,
                                     size_t pwlen, struct auth_principal *out,
                                     struct error *err);

/* ---- the authenticator -------------------------------------------------- */

struct auth;

/* An authenticator over 'ss' and 'org' (both borrowed, must outlive it),
 * with 'settings' (copied; NULL: defaults) and optional directory settings
 * 'ldap' (borrowed; NULL: local accounts only). ERR_NOTFOUND when a group
 * scope names a unit 'org' lacks. */
NODISCARD int auth_open(struct secstore *ss, const struct org *org,
                        const struct auth_settings *settings,
                        const struct auth_ldap *ldap, struct auth **out,
                        struct error *err);
void auth_free(struct auth *a);
const struct auth_settings *auth_settings(const struct auth *a);
const struct org *auth_org(const struct auth *a);

/* Local accounts (the CLI). auth_user_add refuses an unknown role, a scope
 * unit the org lacks, a bad name (ERR_INVAL / ERR_NOTFOUND) and an existing
 * name (ERR_EXISTS). 'pw' may be NULL (an account for API tokens only).
 * auth_user_set_disabled also ends the user's sessions and, when
 * disabling, revokes their API tokens. */
NODISCARD int auth_user_add(struct auth *a, const char *name,
                            enum auth_role role, const struct auth_scope *scope,
                            const char *pw, size_t pwlen, int64_t now_ms,
                            struct error *err);
NODISCARD int auth_user_set_password(struct auth *a, const char *name,
                                     const char *pw, size_t pwlen,
                                     int64_t now_ms, struct error *err);
/* Sets role and scope (checked as auth_user_add does). */
NODISCARD int auth_user_set_role(struct auth *a, const char *name,
                                 enum auth_role role,
                                 const struct auth_scope *scope, int64_t now_ms,
                                 struct error *err);
NODISCARD int auth_user_set_disabled(struct auth *a, const char *name,
                                     bool disabled, int64_t now_ms,
                                     struct error *err);

/* A new session: the token for the cookie (shown once, never stored) and
 * the principal (with its CSRF token). */
#define AUTH_SESSION_TOKEN_LEN 43 /* base64url of 32 bytes */
struct auth_signin {
  char token[AUTH_SESSION_TOKEN_LEN + 1];
  struct auth_principal who;
};

/* Signs in 'user' with 'password' from 'address' (NULL or "" when unknown:
 * then only the per-user throttle applies). Local accounts first; a name
 * with no local account goes to the directory when one is configured.
 * Throttling is checked before the password: ERR_AGAIN with
 * *retry_after_ms set while the user or the address is locked out. A
 * failure counts against both and locks them out with exponential backoff
 * after the free failures; a success clears the user's count. Returns 0
 * and fills *out; ERR_DENIED for any wrong credential, unknown or disabled
 * account (the detail in 'err' is for the server log, never for the
 * client); ERR_IO when the directory is unreachable. A local password
 * hashed with older limits is rehashed with the current ones. */
NODISCARD int auth_signin(struct auth *a, const char *user,
                          const char *password, size_t pwlen,
                          const char *address, int64_t now_ms,
                          struct auth_signin *out, int64_t *retry_after_ms,
                          struct error *err);

/* Resolves a session token (the cookie value) at 'now_ms': ERR_DENIED when
 * unknown, idle longer than the idle timeout, older than the absolute
 * timeout (expired sessions are deleted), or when its local account is
 * gone or disabled. Touches last_seen at most once per touch interval.
 * Fills *out with the current role and scope (re-read for local users). */
NODISCARD int auth_session_check(struct auth *a, const char *token, size_t len,
                                 int64_t now_ms, struct auth_principal *out,
                                 struct error *err);

/* Ends the session with 'token' (0 also when there was none). */
NODISCARD int auth_session_end(struct auth *a, const char *token, size_t len,
                               struct error *err);

/* API tokens. auth_token_create makes a token for local account 'user'
 * (ERR_NOTFOUND without one), expiring at 'expires_ms' (0: never), writes
 * it to 'out' (AUTH_API_TOKEN_LEN + 1 bytes; shown once, stored only as a
 * hash) and its id to *id (may be NULL). auth_token_check resolves
 * "tk_..." to the user's current role and scope: ERR_DENIED when unknown,
 * revoked, expired, or the user is disabled. */
#define AUTH_API_TOKEN_LEN 46 /* "tk_" + 43 */
NODISCARD int auth_token_create(struct auth *a, const char *user,
                                int64_t expires_ms, int64_t now_ms, char *out,
                                int64_t *id, struct error *err);
NODISCARD int auth_token_check(struct auth *a, const char *token, size_t len,
                               int64_t now_ms, struct auth_principal *out,
                               struct error *err);

/* Constant-time equality of two NUL-terminated strings (CSRF tokens). An
 * empty 'expected' never matches. */
bool auth_token_equal(const char *expected, const char *given);

/* Deletes expired sessions and stale throttle rows. */
NODISCARD int auth_purge(struct auth *a, int64_t now_ms, struct error *err);

#endif
