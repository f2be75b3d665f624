/* auth.c -- roles, scopes, local accounts, sessions, API tokens and sign-in
 * throttling (auth.h); the directory backend is auth_ldap.c.
 *
 * Design:
 *  - Secrets are 32 random bytes from libsodium, shown once as base64url
 *    and stored only as BLAKE2b-256 of their text, so the security
 *    database alone signs nobody in. 256 bits of entropy make a salt or a
 *    slow hash unnecessary for these (unlike passwords).
 *  - Passwords are argon2id strings (crypto_pwhash_str) carrying their own
 *    limits; verifying a name that has no account still runs one argon2id
 *    verification against a dummy hash, so response time does not tell
 *    which names exist.
 *  - Throttling: per user name and per client address, failures within a
 *    window count; past the free ones each failure locks out for
 *    base * 2^k (capped). The window restarts only after a quiet window
 *    following the last failure or lockout, so a patient attacker gets
 *    about one guess per backoff_max. Locks are checked before the
 *    password, so a locked-out user learns nothing from a right guess.
 *  - Local sessions re-read their account on every check, so disabling a
 *    user or changing a role takes effect at the next request.
 *
 * Invariants:
 *  1. a principal handed out has a valid role and a scope that parsed;
 *  2. no token, password or CSRF value is ever written to the database in
 *     clear, and every buffer that held one is wiped (sodium_memzero).
 *
 * Thread safety: see auth.h. */
#include "auth.h"

#include <ini.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mem.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static void sodium_start(void) {
  if (sodium_init() < 0)
    abort(); /* no randomness: nothing here can be safe */
}

/* ---- roles -------------------------------------------------------------- */

static const struct {
  const char *name;
  unsigned perms;
} roles[AUTH_ROLE__COUNT] = {
    [AUTH_ROLE_LEADER] = {"leader", AUTH_PERM_AGGREGATE},
    [AUTH_ROLE_ANALYST] = {"analyst", AUTH_PERM_AGGREGATE},
    [AUTH_ROLE_UNIT_MANAGER] = {"unit_manager",
                                AUTH_PERM_AGGREGATE | AUTH_PERM_PERSON},
    [AUTH_ROLE_COORDINATOR] = {"coordinator",
                               AUTH_PERM_AGGREGATE | AUTH_PERM_PERSON},
    [AUTH_ROLE_INTEGRATION_ADMIN] = {"integration_admin",
                                     AUTH_PERM_AGGREGATE | AUTH_PERM_FEEDS},
    [AUTH_ROLE_REGISTRAR] = {"registrar",
                             AUTH_PERM_AGGREGATE | AUTH_PERM_AUDIT},
    [AUTH_ROLE_ADMIN] = {"admin", AUTH_PERM_AGGREGATE | AUTH_PERM_FEEDS |
                                      AUTH_PERM_AUDIT | AUTH_PERM_USERS},
};

int auth_role_parse(const char *s, enum auth_role *out) {
  if (s == NULL)
    return ERR_NOTFOUND;
  for (int i = 0; i < AUTH_ROLE__COUNT; i++)
    if (strcmp(s, roles[i].name) == 0) {
      *out = (enum auth_role)i;
      return 0;
    }
  return ERR_NOTFOUND;
}

const char *auth_role_name(enum auth_role r) {
  return (int)r >= 0 && r < AUTH_ROLE__COUNT ? roles[r].name : "";
}

unsigned auth_role_perms(enum auth_role r) {
  return (int)r >= 0 && r < AUTH_ROLE__COUNT ? roles[r].perms : 0;
}

bool auth_role_person_level(enum auth_role r) {
  return (auth_role_perms(r) & AUTH_PERM_PERSON) != 0;
}

/* ---- scopes ------------------------------------------------------------- */

static bool unit_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int auth_scope_parse(const char *text, struct auth_scope *out,
                     struct error *err) {
  struct auth_scope sc;
  const char *p = text;
  if (text == NULL)
    return error_set(err, ERR_PARSE, "empty scope");
  memset(&sc, 0, sizeof sc);
  for (;;) {
    const char *b, *e;
    size_t n;
    while (*p == ' ')
      p++;
    b = p;
    while (*p != '\0' && *p != ',' && *p != ' ')
      p++;
    e = p;
    while (*p == ' ')
      p++;
    if (*p != '\0' && *p != ',')
      return error_set(err, ERR_PARSE, "scope: space inside a unit id");
    n = (size_t)(e - b);
    if (n == 0)
      return error_set(err, ERR_PARSE, "scope: empty unit id");
    if (n >= AUTH_UNIT_ID_MAX)
      return error_set(err, ERR_TOOBIG, "scope: unit id longer than %d bytes",
                       AUTH_UNIT_ID_MAX - 1);
    for (size_t i = 0; i < n; i++)
      if (!unit_char(b[i]))
        return error_set(err, ERR_PARSE,
                         "scope: unit id with a character outside "
                         "[A-Za-z0-9._-]");
    if (sc.n == AUTH_SCOPE_MAX)
      return error_set(err, ERR_TOOBIG, "scope: more than %d units",
                       AUTH_SCOPE_MAX);
    memcpy(sc.units[sc.n], b, n);
    sc.units[sc.n][n] = '\0';
    for (size_t i = 0; i < sc.n; i++)
      if (strcmp(sc.units[i], sc.units[sc.n]) == 0)
        return error_set(err, ERR_PARSE, "scope: unit '%s' given twice",
                         sc.units[i]);
    sc.n++;
    if (*p == '\0')
      break;
    p++; /* the comma */
  }
  *out = sc;
  return 0;
}

int auth_scope_check(const struct auth_scope *scope, const struct org *org,
                     struct error *err) {
  for (size_t i = 0; i < scope->n; i++)
    if (org_unit_find(org, scope->units[i]) == NULL)
      return error_set(err, ERR_NOTFOUND,
                       "scope: the organisation has no unit '%s'",
                       scope->units[i]);
  return 0;
}

int auth_scope_format(const struct auth_scope *scope, char *out, size_t cap) {
  size_t len = 0;
  for (size_t i = 0; i < scope->n; i++) {
    size_t n = strlen(scope->units[i]);
    if (len + n + (i > 0) + 1 > cap)
      return ERR_TOOBIG;
    if (i > 0)
      out[len++] = ',';
    memcpy(out + len, scope->units[i], n);
    len += n;
  }
  if (cap == 0)
    return ERR_TOOBIG;
  out[len] = '\0';
  return 0;
}

bool auth_scope_covers(const struct auth_scope *scope, const struct org *org,
                       const struct org_unit *unit) {
  if (unit == NULL)
    return false;
  for (size_t i = 0; i < scope->n; i++) {
    const struct org_unit *root = org_unit_find(org, scope->units[i]);
    if (root != NULL && org_unit_within(org, unit, root))
      return true;
  }
  return false;
}

/* ---- names -------------------------------------------------------------- */

int auth_user_name_check(const char *name, struct error *err) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n == 0 || n > AUTH_USER_MAX)
    return error_set(err, ERR_INVAL, "a user name has 1..%d bytes",
                     AUTH_USER_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')))
      return error_set(err, ERR_INVAL,
                       "a user name is [A-Za-z0-9._@-], starting with a "
                       "letter or digit");
  }
  return 0;
}

/* The lowercase form of a user name (user names are case-insensitive, as
 * in Active Directory); "" when 'in' is NULL or longer than AUTH_USER_MAX,
 * which no name check accepts. */
static const char *lower_name(const char *in, char out[AUTH_USER_MAX + 1]) {
  size_t n = in != NULL ? strlen(in) : 0;
  if (n > AUTH_USER_MAX)
    n = 0;
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
  out[n] = '\0';
  return out;
}

/* ---- passwords ---------------------------------------------------------- */

struct auth_pwhash_params auth_pwhash_default(void) {
  struct auth_pwhash_params p = {crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE};
  return p;
}

struct auth_pwhash_params auth_pwhash_test(void) {
  struct auth_pwhash_params p = {crypto_pwhash_OPSLIMIT_MIN,
                                 crypto_pwhash_MEMLIMIT_MIN};
  return p;
}

int auth_password_hash(const char *pw, size_t len,
                       const struct auth_pwhash_params *p,
                       char out[AUTH_PWHASH_MAX], struct error *err) {
  struct auth_pwhash_params d = auth_pwhash_default();
  char tmp[crypto_pwhash_STRBYTES];
  pthread_once(&sodium_once, sodium_start);
  if (p == NULL)
    p = &d;
  if (pw == NULL || len < AUTH_PASSWORD_MIN || len > AUTH_PASSWORD_MAX)
    return error_set(err, ERR_INVAL, "a password has %d..%d bytes",
                     AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
  if (memchr(pw, '\0', len) != NULL)
    return error_set(err, ERR_INVAL, "a password cannot hold a NUL byte");
  if (crypto_pwhash_str_alg(tmp, pw, len, p->opslimit, p->memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return error_set(err, ERR_NOMEM, "argon2id could not get its memory");
  memcpy(out, tmp, sizeof tmp < AUTH_PWHASH_MAX ? sizeof tmp : AUTH_PWHASH_MAX);
  out[AUTH_PWHASH_MAX - 1] = '\0';
  return 0;
}

int auth_password_verify(const char *hash, const char *pw, size_t len) {
  pthread_once(&sodium_once, sodium_start);
  if (hash == NULL || pw == NULL || len > AUTH_PASSWORD_MAX ||
      strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
              strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
    return ERR_DENIED;
  return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : ERR_DENIED;
}

bool auth_password_needs_rehash(const char *hash,
                                const struct auth_pwhash_params *p) {
  struct auth_pwhash_params d = auth_pwhash_default();
  pthread_once(&sodium_once, sodium_start);
  if (p == NULL)
    p = &d;
  return crypto_pwhash_str_needs_rehash(hash, p->opslimit, p->memlimit) != 0;
}

/* ---- the INI reader ----------------------------------------------------- */

struct ini_ctx {
  FILE *f;
  const char *path;
  int line;
  int err_line;
  char msg[200];
  auth_ini_fn fn;
  void *ctx;
};

static void ini_error(struct ini_ctx *c, const char *msg) {
  if (c->err_line != 0)
    return;
  c->err_line = c->line;
  snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static char *read_line(char *str, int num, void *stream) {
  struct ini_ctx *c = stream;
  size_t n;
  if (fgets(str, num, c->f) == NULL)
    return NULL;
  c->line++;
  n = strlen(str);
  if (n + 1 == (size_t)num && str[n - 1] != '\n' && !feof(c->f)) {
    int ch;
    ini_error(c, "line longer than 198 bytes");
    do
      ch = fgetc(c->f);
    while (ch != EOF && ch != '\n');
  }
  return str;
}

static int on_key(void *user, const char *section, const char *key,
                  const char *value) {
  struct ini_ctx *c = user;
  char msg[200];
  msg[0] = '\0';
  if (c->fn(c->ctx, section, key, value, msg, sizeof msg) != 0) {
    ini_error(c, msg[0] != '\0' ? msg : "bad line");
    return 0;
  }
  return 1;
}

int auth_ini_parse(const char *path, auth_ini_fn fn, void *ctx,
                   struct error *err) {
  struct ini_ctx c;
  int ret, rc = 0;
  memset(&c, 0, sizeof c);
  c.path = path;
  c.fn = fn;
  c.ctx = ctx;
  c.f = fopen(path, "r");
  if (c.f == NULL)
    return error_set(err, access(path, F_OK) == 0 ? ERR_IO : ERR_NOTFOUND,
                     "cannot open '%s'", path);
  ret = ini_parse_stream(read_line, &c, on_key, &c);
  if (ferror(c.f))
    rc = error_set(err, ERR_IO, "cannot read '%s'", path);
  else if (ret > 0 && (c.err_line == 0 || ret < c.err_line))
    rc = error_set(err, ERR_CONFIG, "%s:%d: syntax error", path, ret);
  else if (c.err_line != 0)
    rc = error_set(err, ERR_CONFIG, "%s:%d: %s", path, c.err_line, c.msg);
  else if (ret != 0)
    rc = error_set(err, ERR_CONFIG, "cannot parse '%s'", path);
  fclose(c.f);
  return rc;
}

/* ---- settings ----------------------------------------------------------- */

void auth_settings_default(struct auth_settings *s) {
  memset(s, 0, sizeof *s);
  s->idle_timeout_ms = 30LL * 60 * 1000;
  s->absolute_timeout_ms = 12LL * 3600 * 1000;
  s->touch_interval_ms = 60LL * 1000;
  s->secure_cookie = false;
  s->user_free_failures = 5;
  s->addr_free_failures = 20;
  s->backoff_base_ms = 1000;
  s->backoff_max_ms = 15LL * 60 * 1000;
  s->failure_window_ms = 15LL * 60 * 1000;
  s->trusted_proxy = false;
  s->checkpoint_every = 1000;
  s->checkpoint_interval_ms = 5LL * 60 * 1000;
  s->pwhash = auth_pwhash_default();
}

enum setting_type { T_DURATION, T_BOOL, T_COUNT };

static const struct setting {
  const char *section, *key;
  enum setting_type type;
  size_t offset;
  long long min, max;
} settings_table[] = {
    {"session", "idle_timeout", T_DURATION,
     offsetof(struct auth_settings, idle_timeout_ms), 60000, 86400000},
    {"session", "absolute_timeout", T_DURATION,
     offsetof(struct auth_settings, absolute_timeout_ms), 60000,
     7LL * 86400000},
    {"session", "touch_interval", T_DURATION,
     offsetof(struct auth_settings, touch_interval_ms), 0, 3600000},
    {"session", "secure_cookie", T_BOOL,
     offsetof(struct auth_settings, secure_cookie), 0, 1},
    {"signin", "user_failures", T_COUNT,
     offsetof(struct auth_settings, user_free_failures), 1, 1000},
    {"signin", "address_failures", T_COUNT,
     offsetof(struct auth_settings, addr_free_failures), 1, 100000},
    {"signin", "backoff_base", T_DURATION,
     offsetof(struct auth_settings, backoff_base_ms), 100, 3600000},
    {"signin", "backoff_max", T_DURATION,
     offsetof(struct auth_settings, backoff_max_ms), 1000, 86400000},
    {"signin", "failure_window", T_DURATION,
     offsetof(struct auth_settings, failure_window_ms), 1000, 86400000},
    {"http", "trusted_proxy", T_BOOL,
     offsetof(struct auth_settings, trusted_proxy), 0, 1},
    {"audit", "checkpoint_every", T_COUNT,
     offsetof(struct auth_settings, checkpoint_every), 0, 10000000},
    {"audit", "checkpoint_interval", T_DURATION,
     offsetof(struct auth_settings, checkpoint_interval_ms), 1000, 86400000},
};

struct settings_ctx {
  struct auth_settings s;
  bool seen[ARRAY_LEN(settings_table)];
};

static int settings_key(void *ctx, const char *section, const char *key,
                        const char *value, char *msg, size_t cap) {
  struct settings_ctx *c = ctx;
  struct error why;
  for (size_t i = 0; i < ARRAY_LEN(settings_table); i++) {
    const struct setting *t = &settings_table[i];
    char *field;
    long long v = 0;
    if (strcmp(t->section, section) != 0 || strcmp(t->key, key) != 0)
      continue;
    if (c->seen[i]) {
      snprintf(msg, cap, "'%s.%s' given twice", section, key);
      return 1;
    }
    c->seen[i] = true;
    field = (char *)&c->s + t->offset;
    if (t->type == T_BOOL) {
      bool b;
      if (config_parse_bool(value, &b, &why) != 0) {
        snprintf(msg, cap, "bad value for '%s.%s': %s", section, key, why.msg);
        return 1;
      }
      memcpy(field, &b, sizeof b);
      return 0;
    }
    if (t->type == T_DURATION) {
      if (config_parse_duration(value, &v, &why) != 0) {
        snprintf(msg, cap, "bad value for '%s.%s': %s", section, key, why.msg);
        return 1;
      }
    } else {
      char *end;
      v = strtoll(value, &end, 10);
      if (end == value || *end != '\0') {
        snprintf(msg, cap, "bad value for '%s.%s': not a whole number", section,
                 key);
        return 1;
      }
    }
    if (v < t->min || v > t->max) {
      snprintf(msg, cap, "'%s.%s' out of range %lld..%lld", section, key,
               t->min, t->max);
      return 1;
    }
    if (t->type == T_COUNT) {
      unsigned u = (unsigned)v;
      memcpy(field, &u, sizeof u);
    } else {
      int64_t d = v;
      memcpy(field, &d, sizeof d);
    }
    return 0;
  }
  snprintf(msg, cap, "unknown setting '%s.%s'", section, key);
  return 1;
}

int auth_settings_load(const char *path, struct auth_settings *s,
                       struct error *err) {
  struct settings_ctx c;
  int rc;
  memset(&c, 0, sizeof c);
  c.s = *s;
  rc = auth_ini_parse(path, settings_key, &c, err);
  if (rc < 0)
    return rc;
  if (c.s.idle_timeout_ms > c.s.absolute_timeout_ms)
    return error_set(err, ERR_CONFIG,
                     "%s: session.idle_timeout is longer than "
                     "session.absolute_timeout",
                     path);
  if (c.s.backoff_base_ms > c.s.backoff_max_ms)
    return error_set(err, ERR_CONFIG,
                     "%s: signin.backoff_base is longer than "
                     "signin.backoff_max",
                     path);
  *s = c.s;
  return 0;
}

/* ---- secrets ------------------------------------------------------------ */

/* 32 random bytes as 43 base64url characters and a NUL. */
static void random_token(char out[AUTH_SESSION_TOKEN_LEN + 1]) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(out, AUTH_SESSION_TOKEN_LEN + 1, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}

static void token_hash(const char *token, size_t len,
                       unsigned char out[SECSTORE_HASH_BYTES]) {
  crypto_generichash(out, SECSTORE_HASH_BYTES, (const unsigned char *)token,
                     len, NULL, 0);
}

static bool base64url(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  }
  return true;
}

bool auth_token_equal(const char *expected, const char *given) {
  size_t n;
  if (expected == NULL || given == NULL || expected[0] == '\0')
    return false;
  n = strlen(expected);
  if (strlen(given) != n)
    return false;
  return sodium_memcmp(expected, given, n) == 0;
}

/* ---- the authenticator -------------------------------------------------- */

struct auth {
  struct secstore *ss;
  const struct org *org;
  const struct auth_ldap *ldap;
  struct auth_settings st;
  pthread_mutex_t dummy_lock;
  bool dummy_made;
  char dummy[AUTH_PWHASH_MAX]; /* verified when a name has no account */
};

int auth_open(struct secstore *ss, const struct org *org,
              const struct auth_settings *settings,
              const struct auth_ldap *ldap, struct auth **out,
              struct error *err) {
  struct auth *a;
  int rc;
  pthread_once(&sodium_once, sodium_start);
  if (ss == NULL || org == NULL)
    return error_set(err, ERR_INVAL,
                     "auth needs a security database and an "
                     "organisation");
  if (ldap != NULL) {
    rc = auth_ldap_check_scopes(ldap, org, err);
    if (rc < 0)
      return rc;
  }
  a = mem_calloc(1, sizeof *a);
  a->ss = ss;
  a->org = org;
  a->ldap = ldap;
  if (settings != NULL)
    a->st = *settings;
  else
    auth_settings_default(&a->st);
  pthread_mutex_init(&a->dummy_lock, NULL);
  *out = a;
  return 0;
}

void auth_free(struct auth *a) {
  if (a == NULL)
    return;
  pthread_mutex_destroy(&a->dummy_lock);
  mem_free(a);
}

const struct auth_settings *auth_settings(const struct auth *a) {
  return &a->st;
}

const struct org *auth_org(const struct auth *a) { return a->org; }

/* ---- local accounts ----------------------------------------------------- */

int auth_user_add(struct auth *a, const char *name_in, enum auth_role role,
                  const struct auth_scope *scope, const char *pw, size_t pwlen,
                  int64_t now_ms, struct error *err) {
  char name[AUTH_USER_MAX + 1];
  struct secstore_user *u;
  int rc;
  lower_name(name_in, name);
  rc = auth_user_name_check(name, err);
  if (rc < 0)
    return rc;
  if (auth_role_name(role)[0] == '\0')
    return error_set(err, ERR_INVAL, "unknown role");
  if (scope == NULL || scope->n == 0)
    return error_set(err, ERR_INVAL, "a user needs a scope");
  rc = auth_scope_check(scope, a->org, err);
  if (rc < 0)
    return rc;
  u = mem_calloc(1, sizeof *u);
  snprintf(u->name, sizeof u->name, "%s", name);
  snprintf(u->role, sizeof u->role, "%s", auth_role_name(role));
  rc = auth_scope_format(scope, u->scope, sizeof u->scope);
  if (rc < 0) {
    rc = error_set(err, rc, "scope too long");
    goto out;
  }
  if (pw != NULL) {
    rc = auth_password_hash(pw, pwlen, &a->st.pwhash, u->pwhash, err);
    if (rc < 0)
      goto out;
  }
  u->created_ms = u->updated_ms = now_ms;
  rc = secstore_user_add(a->ss, u, &u->id, err);
out:
  sodium_memzero(u, sizeof *u);
  mem_free(u);
  return rc;
}

int auth_user_set_password(struct auth *a, const char *name_in, const char *pw,
                           size_t pwlen, int64_t now_ms, struct error *err) {
  char name[AUTH_USER_MAX + 1];
  char hash[AUTH_PWHASH_MAX];
  int rc = auth_password_hash(pw, pwlen, &a->st.pwhash, hash, err);
  lower_name(name_in, name);
  if (rc < 0)
    return rc;
  rc = secstore_user_set_password(a->ss, name, hash, now_ms, err);
  sodium_memzero(hash, sizeof hash);
  if (rc == 0)
    rc = secstore_session_delete_user(a->ss, name, NULL, err);
  return rc;
}

int auth_user_set_role(struct auth *a, const char *name_in, enum auth_role role,
                       const struct auth_scope *scope, int64_t now_ms,
                       struct error *err) {
  char name[AUTH_USER_MAX + 1];
  char text[SECSTORE_SCOPE_MAX];
  int rc;
  lower_name(name_in, name);
  if (auth_role_name(role)[0] == '\0')
    return error_set(err, ERR_INVAL, "unknown role");
  if (scope == NULL || scope->n == 0)
    return error_set(err, ERR_INVAL, "a user needs a scope");
  rc = auth_scope_check(scope, a->org, err);
  if (rc < 0)
    return rc;
  if (auth_scope_format(scope, text, sizeof text) < 0)
    return error_set(err, ERR_TOOBIG, "scope too long");
  return secstore_user_set_role(a->ss, name, auth_role_name(role), text, now_ms,
                                err);
}

int auth_user_set_disabled(struct auth *a, const char *name_in, bool disabled,
                           int64_t now_ms, struct error *err) {
  char name[AUTH_USER_MAX + 1];
  int rc = secstore_user_set_disabled(a->ss, lower_name(name_in, name),
                                      disabled, now_ms, err);
  if (rc == 0 && disabled)
    rc = secstore_session_delete_user(a->ss, name, NULL, err);
  if (rc == 0 && disabled)
    rc = secstore_token_revoke_user(a->ss, name, now_ms, NULL, err);
  return rc;
}

/* Fills role and scope of 'who' from text; ERR_DENIED when either does not
 * parse (a damaged row never grants anything). */
static int principal_rights(struct auth_principal *who, const char *role,
                            const char *scope, struct error *err) {
  if (auth_role_parse(role, &who->role) != 0)
    return error_set(err, ERR_DENIED, "unknown role '%s'", role);
  if (auth_scope_parse(scope, &who->scope, NULL) != 0)
    return error_set(err, ERR_DENIED, "unreadable scope");
  return 0;
}

/* The dummy hash (made on first use, with the current limits). */
static const char *dummy_hash(struct auth *a) {
  static const char pw[] = "no such account, no such password";
  pthread_mutex_lock(&a->dummy_lock);
  if (!a->dummy_made) {
    struct error ignored;
    if (auth_password_hash(pw, sizeof pw - 1, &a->st.pwhash, a->dummy,
                           &ignored) == 0)
      a->dummy_made = true;
  }
  pthread_mutex_unlock(&a->dummy_lock);
  return a->dummy_made ? a->dummy : "";
}

/* Spends the time of one password verification against the dummy hash,
 * so that a name without an account answers as slowly as one with. */
static void burn(struct auth *a, const char *pw, size_t len) {
  if (auth_password_verify(dummy_hash(a), pw, len) == 0) {
    /* the dummy password is never offered by anyone who can sign in */
  }
}

/* ---- throttling --------------------------------------------------------- */

/* 1 with *until set when 'key' is locked out at 'now', 0 when not, or a
 * negative code. */
static int throttle_locked(struct auth *a, const char *kind, const char *key,
                           int64_t now, int64_t *until, struct error *err) {
  struct secstore_throttle t;
  int rc = secstore_throttle_get(a->ss, kind, key, &t, err);
  if (rc == ERR_NOTFOUND) {
    error_clear(err);
    return 0;
  }
  if (rc < 0)
    return rc;
  if (t.locked_until_ms > now) {
    *until = t.locked_until_ms;
    return 1;
  }
  return 0;
}

static int throttle_fail(struct auth *a, const char *kind, const char *key,
                         unsigned free_failures, int64_t now,
                         struct error *err) {
  struct secstore_throttle t;
  int64_t quiet_since;
  int rc = secstore_throttle_get(a->ss, kind, key, &t, err);
  if (rc == ERR_NOTFOUND) {
    memset(&t, 0, sizeof t);
    error_clear(err);
  } else if (rc < 0) {
    return rc;
  }
  quiet_since = t.last_failure_ms > t.locked_until_ms ? t.last_failure_ms
                                                      : t.locked_until_ms;
  if (now - quiet_since > a->st.failure_window_ms)
    t.failures = 0;
  t.failures++;
  t.last_failure_ms = now;
  if (t.failures > (int64_t)free_failures) {
    int64_t k = t.failures - (int64_t)free_failures - 1;
    int64_t delay = a->st.backoff_base_ms;
    while (k-- > 0 && delay < a->st.backoff_max_ms)
      delay *= 2;
    if (delay > a->st.backoff_max_ms)
      delay = a->st.backoff_max_ms;
    t.locked_until_ms = now + delay;
  }
  return secstore_throttle_put(a->ss, kind, key, &t, err);
}

/* ---- sessions ----------------------------------------------------------- */

static int session_create(struct auth *a, const struct auth_principal *who,
                          const char *address, int64_t now,
                          struct auth_signin *out, struct error *err) {
  struct secstore_session *se = mem_calloc(1, sizeof *se);
  struct auth_signin res;
  int rc;
  memset(&res, 0, sizeof res);
  res.who = *who;
  random_token(res.token);
  random_token(res.who.csrf);
  res.who.expires_ms = now + a->st.idle_timeout_ms;
  token_hash(res.token, AUTH_SESSION_TOKEN_LEN, se->token_hash);
  snprintf(se->user, sizeof se->user, "%s", who->user);
  snprintf(se->source, sizeof se->source, "%s", who->source);
  snprintf(se->role, sizeof se->role, "%s", auth_role_name(who->role));
  snprintf(se->csrf, sizeof se->csrf, "%s", res.who.csrf);
  snprintf(se->address, sizeof se->address, "%s",
           address != NULL ? address : "");
  rc = auth_scope_format(&who->scope, se->scope, sizeof se->scope);
  if (rc < 0) {
    rc = error_set(err, rc, "scope too long");
    goto out;
  }
  se->created_ms = se->last_seen_ms = now;
  rc = secstore_session_add(a->ss, se, err);
  if (rc == 0)
    *out = res;
out:
  sodium_memzero(&res, sizeof res);
  sodium_memzero(se, sizeof *se);
  mem_free(se);
  return rc;
}

/* Counts a failed sign-in against the name and the address (either may be
 * NULL). Returns ERR_DENIED with 'err' still saying why the sign-in failed,
 * or the store's error. */
static int count_failure(struct auth *a, const char *user, const char *address,
                         int64_t now, struct error *err) {
  int rc = 0;
  if (user != NULL)
    rc = throttle_fail(a, "user", user, a->st.user_free_failures, now, NULL);
  if (rc == 0 && address != NULL)
    rc = throttle_fail(a, "addr", address, a->st.addr_free_failures, now, NULL);
  if (rc < 0)
    return error_set(err, rc, "cannot record a failed sign-in");
  return ERR_DENIED;
}

int auth_signin(struct auth *a, const char *user_in, const char *password,
                size_t pwlen, const char *address, int64_t now_ms,
                struct auth_signin *out, int64_t *retry_after_ms,
                struct error *err) {
  char user[AUTH_USER_MAX + 1];
  struct secstore_user *u = NULL;
  struct auth_principal who;
  const bool have_addr = address != NULL && address[0] != '\0' &&
                         strlen(address) < SECSTORE_ADDRESS_MAX;
  const bool good_name =
      auth_user_name_check(lower_name(user_in, user), NULL) == 0;
  int64_t until = 0, u2 = 0;
  bool ok = false;
  int rc;

  memset(&who, 0, sizeof who);
  /* 1. Lockouts, before any password is looked at. */
  if (good_name) {
    rc = throttle_locked(a, "user", user, now_ms, &until, err);
    if (rc < 0)
      return rc;
  }
  if (have_addr) {
    rc = throttle_locked(a, "addr", address, now_ms, &u2, err);
    if (rc < 0)
      return rc;
    if (u2 > until)
      until = u2;
  }
  if (until > now_ms) {
    if (retry_after_ms != NULL)
      *retry_after_ms = until - now_ms;
    return error_set(err, ERR_AGAIN, "sign-in locked out for %lld ms",
                     (long long)(until - now_ms));
  }

  /* 2. The credentials. */
  if (!good_name || password == NULL || pwlen == 0 ||
      pwlen > AUTH_PASSWORD_MAX) {
    burn(a, "x", 1);
    rc = error_set(err, ERR_DENIED, "malformed user name or password");
    goto failed;
  }
  u = mem_calloc(1, sizeof *u);
  rc = secstore_user_get(a->ss, user, u, err);
  if (rc == 0) {
    bool match =
        auth_password_verify(u->pwhash[0] != '\0' ? u->pwhash : dummy_hash(a),
                             password, pwlen) == 0;
    if (u->pwhash[0] == '\0')
      rc = error_set(err, ERR_DENIED, "account '%s' has no password", user);
    else if (!match)
      rc = error_set(err, ERR_DENIED, "wrong password for '%s'", user);
    else if (u->disabled)
      rc = error_set(err, ERR_DENIED, "account '%s' is disabled", user);
    else
      rc = principal_rights(&who, u->role, u->scope, err);
    if (rc < 0)
      goto failed;
    snprintf(who.user, sizeof who.user, "%s", user);
    snprintf(who.source, sizeof who.source, "local");
    ok = true;
    if (auth_password_needs_rehash(u->pwhash, &a->st.pwhash)) {
      char h[AUTH_PWHASH_MAX];
      struct error ignored;
      if (auth_password_hash(password, pwlen, &a->st.pwhash, h, &ignored) ==
              0 &&
          secstore_user_set_password(a->ss, user, h, now_ms, &ignored) == 0) {
        /* rehashed with the current limits */
      }
      sodium_memzero(h, sizeof h);
    }
  } else if (rc != ERR_NOTFOUND) {
    goto out;
  } else if (a->ldap != NULL) {
    error_clear(err);
    rc = auth_ldap_authenticate(a->ldap, user, password, pwlen, &who, err);
    if (rc == ERR_DENIED || rc == ERR_INVAL)
      goto failed;
    if (rc < 0)
      goto out; /* the directory is down: not the user's failure */
    ok = true;
  } else {
    burn(a, password, pwlen);
    rc = error_set(err, ERR_DENIED, "no account '%s'", user);
    goto failed;
  }

  /* 3. A session. */
  if (ok) {
    rc = secstore_throttle_clear(a->ss, "user", user, err);
    if (rc == 0)
      rc = session_create(a, &who, have_addr ? address : "", now_ms, out, err);
  }
  goto out;

failed:
  rc = count_failure(a, good_name ? user : NULL, have_addr ? address : NULL,
                     now_ms, err);
out:
  if (u != NULL) {
    sodium_memzero(u, sizeof *u);
    mem_free(u);
  }
  sodium_memzero(&who, sizeof who);
  return rc;
}

int auth_session_check(struct auth *a, const char *token, size_t len,
                       int64_t now_ms, struct auth_principal *out,
                       struct error *err) {
  struct secstore_session se;
  struct auth_principal who;
  unsigned char h[SECSTORE_HASH_BYTES];
  int64_t abs_end, idle_end;
  int rc;
  if (token == NULL || len != AUTH_SESSION_TOKEN_LEN || !base64url(token, len))
    return error_set(err, ERR_DENIED, "malformed session token");
  token_hash(token, len, h);
  rc = secstore_session_get(a->ss, h, &se, err);
  if (rc == ERR_NOTFOUND)
    return error_set(err, ERR_DENIED, "no such session");
  if (rc < 0)
    return rc;
  abs_end = se.created_ms + a->st.absolute_timeout_ms;
  idle_end = se.last_seen_ms + a->st.idle_timeout_ms;
  if (now_ms >= abs_end || now_ms >= idle_end) {
    rc = secstore_session_delete(a->ss, h, err);
    return rc < 0 ? rc
                  : error_set(err, ERR_DENIED, "session expired (%s)",
                              now_ms >= abs_end ? "absolute" : "idle");
  }
  memset(&who, 0, sizeof who);
  snprintf(who.user, sizeof who.user, "%s", se.user);
  snprintf(who.source, sizeof who.source, "%s", se.source);
  snprintf(who.csrf, sizeof who.csrf, "%s", se.csrf);
  if (strcmp(se.source, "local") == 0) {
    struct secstore_user *u = mem_calloc(1, sizeof *u);
    rc = secstore_user_get(a->ss, se.user, u, err);
    if (rc == 0 && u->disabled)
      rc = error_set(err, ERR_DENIED, "account '%s' is disabled", se.user);
    else if (rc == ERR_NOTFOUND)
      rc = error_set(err, ERR_DENIED, "account '%s' is gone", se.user);
    if (rc == 0)
      rc = principal_rights(&who, u->role, u->scope, err);
    sodium_memzero(u, sizeof *u);
    mem_free(u);
    if (rc == ERR_DENIED) {
      struct error keep = err != NULL ? *err : (struct error){0};
      if (secstore_session_delete(a->ss, h, NULL) == 0 && err != NULL)
        *err = keep;
    }
  } else {
    rc = principal_rights(&who, se.role, se.scope, err);
  }
  if (rc < 0)
    return rc;
  if (now_ms - se.last_seen_ms >= a->st.touch_interval_ms) {
    rc = secstore_session_touch(a->ss, h, now_ms, err);
    if (rc == ERR_NOTFOUND)
      return error_set(err, ERR_DENIED, "session ended meanwhile");
    if (rc < 0)
      return rc;
    idle_end = now_ms + a->st.idle_timeout_ms;
  }
  who.expires_ms = idle_end < abs_end ? idle_end : abs_end;
  *out = who;
  return 0;
}

int auth_session_end(struct auth *a, const char *token, size_t len,
                     struct error *err) {
  unsigned char h[SECSTORE_HASH_BYTES];
  if (token == NULL || len != AUTH_SESSION_TOKEN_LEN || !base64url(token, len))
    return 0;
  token_hash(token, len, h);
  return secstore_session_delete(a->ss, h, err);
}

/* ---- API tokens --------------------------------------------------------- */

int auth_token_create(struct auth *a, const char *user_in, int64_t expires_ms,
                      int64_t now_ms, char *out, int64_t *id,
                      struct error *err) {
  char user[AUTH_USER_MAX + 1];
  struct secstore_user *u = mem_calloc(1, sizeof *u);
  struct secstore_token t;
  char text[AUTH_API_TOKEN_LEN + 1];
  int rc = secstore_user_get(a->ss, lower_name(user_in, user), u, err);
  if (rc == 0 && u->disabled)
    rc = error_set(err, ERR_STATE, "account '%s' is disabled", user);
  mem_free(u);
  if (rc < 0)
    return rc;
  if (expires_ms != 0 && expires_ms <= now_ms)
    return error_set(err, ERR_RANGE,
                     "the token would expire before it is "
                     "made");
  memcpy(text, "tk_", 3);
  random_token(text + 3);
  memset(&t, 0, sizeof t);
  token_hash(text, AUTH_API_TOKEN_LEN, t.token_hash);
  snprintf(t.user, sizeof t.user, "%s", user);
  t.created_ms = now_ms;
  t.expires_ms = expires_ms;
  rc = secstore_token_add(a->ss, &t, id, err);
  if (rc == 0)
    memcpy(out, text, AUTH_API_TOKEN_LEN + 1);
  sodium_memzero(text, sizeof text);
  return rc;
}

int auth_token_check(struct auth *a, const char *token, size_t len,
                     int64_t now_ms, struct auth_principal *out,
                     struct error *err) {
  struct secstore_token t;
  struct secstore_user *u;
  struct auth_principal who;
  unsigned char h[SECSTORE_HASH_BYTES];
  int rc;
  if (token == NULL || len != AUTH_API_TOKEN_LEN ||
      memcmp(token, "tk_", 3) != 0 || !base64url(token + 3, len - 3))
    return error_set(err, ERR_DENIED, "malformed API token");
  token_hash(token, len, h);
  rc = secstore_token_get(a->ss, h, &t, err);
  if (rc == ERR_NOTFOUND)
    return error_set(err, ERR_DENIED, "no such API token");
  if (rc < 0)
    return rc;
  if (t.revoked_ms != 0)
    return error_set(err, ERR_DENIED, "API token %lld is revoked",
                     (long long)t.id);
  if (t.expires_ms != 0 && now_ms >= t.expires_ms)
    return error_set(err, ERR_DENIED, "API token %lld has expired",
                     (long long)t.id);
  memset(&who, 0, sizeof who);
  u = mem_calloc(1, sizeof *u);
  rc = secstore_user_get(a->ss, t.user, u, err);
  if (rc == ERR_NOTFOUND)
    rc = error_set(err, ERR_DENIED, "account '%s' is gone", t.user);
  else if (rc == 0 && u->disabled)
    rc = error_set(err, ERR_DENIED, "account '%s' is disabled", t.user);
  if (rc == 0)
    rc = principal_rights(&who, u->role, u->scope, err);
  mem_free(u);
  if (rc < 0)
    return rc;
  snprintf(who.user, sizeof who.user, "%s", t.user);
  snprintf(who.source, sizeof who.source, "local");
  who.via_token = true;
  who.token_id = t.id;
  who.expires_ms = t.expires_ms;
  if (now_ms - t.last_used_ms >= a->st.touch_interval_ms) {
    rc = secstore_token_touch(a->ss, t.id, now_ms, err);
    if (rc < 0)
      return rc;
  }
  *out = who;
  return 0;
}

int auth_purge(struct auth *a, int64_t now_ms, struct error *err) {
  int rc =
      secstore_session_purge(a->ss, now_ms - a->st.idle_timeout_ms,
                             now_ms - a->st.absolute_timeout_ms, NULL, err);
  if (rc == 0)
    rc = secstore_throttle_purge(
        a->ss, now_ms - a->st.failure_window_ms - a->st.backoff_max_ms, err);
  return rc;
}
