/* auth_ldap.c -- directory sign-in (Active Directory or any LDAPv3 server)
 * with the OpenLDAP client library: the backend of auth.h's
 * auth_ldap_* functions.
 *
 * Design:
 *  - Settings come from their own INI file (DATA_DIR/ldap.ini, read with
 *    libinih through auth_ini_parse), not from the server's config table:
 *    an [ldap] section and one [group NAME] section per mapped group.
 *  - A sign-in is one connection: TLS first (ldaps://, or ldap:// with
 *    StartTLS, which is then required -- there is no clear-text mode), the
 *    server certificate verified (REQUIRE_CERT demand, TLS 1.2 or later,
 *    host name checked by libldap) against ca_file or the system store;
 *    then a simple bind AS THE USER (the service holds no directory
 *    password), by a DN template or, for Active Directory, by
 *    user@upn_suffix; then, still as the user, a read of the user's own
 *    entry (group attribute such as memberOf, and userAccountControl) and
 *    optionally a group search (member={dn}).
 *  - Every value put into a DN is escaped per RFC 4514 and every value put
 *    into a filter per RFC 4515, although user names are already limited to
 *    [A-Za-z0-9._@-]. An empty password is refused before any bind: LDAP
 *    treats a simple bind with a name and no password as anonymous, and
 *    "succeeds".
 *  - Disabled accounts: the directory itself refuses the bind (locked or
 *    expired accounts, OpenLDAP ppolicy pwdAccountLockedTime, AD's own
 *    checks); in addition an account in 'disabled_group' or with AD's
 *    ACCOUNTDISABLE bit (userAccountControl & 2) is refused here.
 *  - Groups are compared as normalised DNs (ldap_dn_normalize, then
 *    ASCII case-insensitively).
 *
 * Invariants:
 *  1. a loaded struct auth_ldap is complete and immutable: url with a TLS
 *     mode, one way to bind, at least one way to find groups, at least one
 *     group mapping whose role parsed and whose scope parsed;
 *  2. the LDAP handle is unbound on every path.
 *
 * Thread safety: a loaded struct auth_ldap is immutable; every call makes
 * its own connection, so calls may run in parallel. */
#include "auth.h"

#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mem.h"

#define MAX_GROUPS 256          /* [group] sections */
#define MAX_MEMBERSHIPS 1024    /* groups read for one user */
#define MAX_VALUE 512           /* bytes of one setting */
#define DEFAULT_TIMEOUT_MS 5000 /* network and operation timeout */

struct group_map {
  char *name;
  char *dn; /* normalised */
  enum auth_role role;
  struct auth_scope scope;
  bool has_dn, has_role, has_scope;
};

struct auth_ldap {
  char *url;
  bool starttls;
  char *ca_file;
  char *bind_dn_template; /* "uid={user},ou=people,dc=..." */
  char *upn_suffix;       /* "example.fi" */
  char *base;
  char *user_filter;
  char *group_attribute;
  char *group_base;
  char *group_filter;
  char *disabled_group; /* normalised */
  long long timeout_ms;
  struct group_map *groups;
  size_t ngroups;
};

static pthread_once_t ldap_once = PTHREAD_ONCE_INIT;
static void ldap_start(void) {
  int v = 0;
  /* Initialises libldap's global options once, before threads race. */
  (void)ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);
}

/* ---- DNs and filters ---------------------------------------------------- */

/* The normalised form of 'dn' (malloc'd via mem), or NULL when it does not
 * parse. */
static char *dn_normal(const char *dn) {
  char *n = NULL, *copy;
  if (dn == NULL || dn[0] == '\0')
    return NULL;
  if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &n, LDAP_DN_FORMAT_LDAPV3) !=
          LDAP_SUCCESS ||
      n == NULL)
    return NULL;
  copy = mem_strdup(n);
  ldap_memfree(n);
  return copy;
}

/* Appends 'v' escaped for a DN attribute value (RFC 4514). */
static int dn_escape(struct buf *b, const char *v) {
  size_t n = strlen(v);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    char c = v[i];
    bool esc = strchr(",+\"\\<>;=", c) != NULL ||
               (i == 0 && (c == ' ' || c == '#')) || (i + 1 == n && c == ' ');
    if ((unsigned char)c < 0x20)
      rc = buf_printf(b, "\\%02x", (unsigned char)c);
    else if (esc)
      rc = buf_printf(b, "\\%c", c);
    else
      rc = buf_putc(b, c);
  }
  return rc;
}

/* Appends 'v' escaped for a filter assertion value (RFC 4515). */
static int filter_escape(struct buf *b, const char *v) {
  int rc = 0;
  for (const char *p = v; *p != '\0' && rc == 0; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20)
      rc = buf_printf(b, "\\%02x", c);
    else
      rc = buf_putc(b, (char)c);
  }
  return rc;
}

/* Expands a template: each "{name}" is replaced by the value of the first
 * matching name in names/values (escaped with 'esc'); an unknown
 * placeholder is ERR_INVAL. */
static int expand(const char *tmpl, const char *const *names,
                  const char *const *values, size_t n,
                  int (*esc)(struct buf *, const char *), struct buf *out) {
  const char *p = tmpl;
  int rc = 0;
  while (*p != '\0' && rc == 0) {
    if (*p == '{') {
      const char *e = strchr(p, '}');
      size_t i;
      if (e == NULL)
        return ERR_INVAL;
      for (i = 0; i < n; i++)
        if (strlen(names[i]) == (size_t)(e - p - 1) &&
            strncmp(p + 1, names[i], (size_t)(e - p - 1)) == 0)
          break;
      if (i == n)
        return ERR_INVAL;
      rc = esc(out, values[i]);
      p = e + 1;
    } else {
      rc = buf_putc(out, *p++);
    }
  }
  return rc;
}

/* ---- settings ----------------------------------------------------------- */

struct load_ctx {
  struct auth_ldap *l;
  bool seen[16];
};

static const char *const ldap_keys[] = {
    "url",          "ca_file",        "bind_dn_template", "upn_suffix",
    "base",         "user_filter",    "group_attribute",  "group_base",
    "group_filter", "disabled_group", "timeout",
};

static char **ldap_field(struct auth_ldap *l, size_t i) {
  char **f[] = {&l->url,
                &l->ca_file,
                &l->bind_dn_template,
                &l->upn_suffix,
                &l->base,
                &l->user_filter,
                &l->group_attribute,
                &l->group_base,
                &l->group_filter,
                &l->disabled_group,
                NULL};
  return f[i];
}

static int ldap_key(void *ctx, const char *section, const char *key,
                    const char *value, char *msg, size_t cap) {
  struct load_ctx *c = ctx;
  struct auth_ldap *l = c->l;
  if (strlen(value) >= MAX_VALUE) {
    snprintf(msg, cap, "value of '%s' longer than %d bytes", key,
             MAX_VALUE - 1);
    return 1;
  }
  if (strcmp(section, "ldap") == 0) {
    for (size_t i = 0; i < ARRAY_LEN(ldap_keys); i++) {
      if (strcmp(key, ldap_keys[i]) != 0)
        continue;
      if (c->seen[i]) {
        snprintf(msg, cap, "'ldap.%s' given twice", key);
        return 1;
      }
      c->seen[i] = true;
      if (strcmp(key, "timeout") == 0) {
        struct error why;
        if (config_parse_duration(value, &l->timeout_ms, &why) != 0 ||
            l->timeout_ms < 100 || l->timeout_ms > 120000) {
          snprintf(msg, cap, "bad value for 'ldap.timeout' (100ms..2m)");
          return 1;
        }
        return 0;
      }
      if (value[0] == '\0') {
        snprintf(msg, cap, "empty value for 'ldap.%s'", key);
        return 1;
      }
      if (strcmp(key, "disabled_group") == 0) {
        l->disabled_group = dn_normal(value);
        if (l->disabled_group == NULL) {
          snprintf(msg, cap, "'ldap.disabled_group' is not a DN");
          return 1;
        }
        return 0;
      }
      *ldap_field(l, i) = mem_strdup(value);
      return 0;
    }
    snprintf(msg, cap, "unknown setting 'ldap.%s'", key);
    return 1;
  }
  if (strncmp(section, "group ", 6) == 0 && section[6] != '\0') {
    const char *name = section + 6;
    struct group_map *g = NULL;
    for (size_t i = 0; i < l->ngroups; i++)
      if (strcmp(l->groups[i].name, name) == 0)
        g = &l->groups[i];
    if (g == NULL) {
      if (l->ngroups == MAX_GROUPS) {
        snprintf(msg, cap, "more than %d groups", MAX_GROUPS);
        return 1;
      }
      l->groups = mem_realloc(l->groups, (l->ngroups + 1) * sizeof *l->groups);
      g = &l->groups[l->ngroups++];
      memset(g, 0, sizeof *g);
      g->name = mem_strdup(name);
    }
    if (strcmp(key, "dn") == 0 && !g->has_dn) {
      g->dn = dn_normal(value);
      if (g->dn == NULL) {
        snprintf(msg, cap, "group '%s': dn is not a DN", name);
        return 1;
      }
      g->has_dn = true;
    } else if (strcmp(key, "role") == 0 && !g->has_role) {
      if (auth_role_parse(value, &g->role) != 0) {
        snprintf(msg, cap, "group '%s': unknown role '%s'", name, value);
        return 1;
      }
      g->has_role = true;
    } else if (strcmp(key, "scope") == 0 && !g->has_scope) {
      struct error why;
      if (auth_scope_parse(value, &g->scope, &why) != 0) {
        snprintf(msg, cap, "group '%s': %s", name, why.msg);
        return 1;
      }
      g->has_scope = true;
    } else if (strcmp(key, "dn") == 0 || strcmp(key, "role") == 0 ||
               strcmp(key, "scope") == 0) {
      snprintf(msg, cap, "group '%s': '%s' given twice", name, key);
      return 1;
    } else {
      snprintf(msg, cap, "group '%s': unknown setting '%s'", name, key);
      return 1;
    }
    return 0;
  }
  snprintf(msg, cap, "unknown section '%s' (ldap or group NAME)", section);
  return 1;
}

void auth_ldap_free(struct auth_ldap *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < ARRAY_LEN(ldap_keys) - 1; i++)
    mem_free(*ldap_field(l, i));
  for (size_t i = 0; i < l->ngroups; i++) {
    mem_free(l->groups[i].name);
    mem_free(l->groups[i].dn);
  }
  mem_free(l->groups);
  mem_free(l);
}

/* Checks that a template only uses the given placeholders. */
static bool template_ok(const char *tmpl, const char *const *names, size_t n) {
  struct buf b;
  const char *vals[4] = {"x", "x", "x", "x"};
  int rc;
  buf_init(&b, 4 * MAX_VALUE);
  rc = expand(tmpl, names, vals, n, filter_escape, &b);
  buf_release(&b);
  return rc == 0;
}

int auth_ldap_load(const char *path, struct auth_ldap **out,
                   struct error *err) {
  struct load_ctx c;
  struct auth_ldap *l = mem_calloc(1, sizeof *l);
  static const char *const user_names[] = {"user"};
  static const char *const upn_names[] = {"user", "upn"};
  static const char *const dn_names[] = {"dn", "user"};
  int rc;
  memset(&c, 0, sizeof c);
  c.l = l;
  l->timeout_ms = DEFAULT_TIMEOUT_MS;
  rc = auth_ini_parse(path, ldap_key, &c, err);
  if (rc < 0)
    goto out;
  rc = ERR_CONFIG;
  if (l->url == NULL) {
    error_set(err, rc, "%s: [ldap] url is required", path);
    goto out;
  }
  if (strncasecmp(l->url, "ldaps://", 8) == 0) {
    l->starttls = false;
  } else if (strncasecmp(l->url, "ldap://", 7) == 0) {
    l->starttls = true; /* StartTLS is then mandatory */
  } else {
    error_set(err, rc,
              "%s: [ldap] url must be ldaps:// or ldap:// (with "
              "StartTLS)",
              path);
    goto out;
  }
  if (strchr(l->url, ' ') != NULL) {
    error_set(err, rc, "%s: [ldap] url: one URL only", path);
    goto out;
  }
  if ((l->bind_dn_template == NULL) == (l->upn_suffix == NULL)) {
    error_set(err, rc,
              "%s: [ldap] needs exactly one of bind_dn_template and "
              "upn_suffix",
              path);
    goto out;
  }
  if (l->bind_dn_template != NULL &&
      (strstr(l->bind_dn_template, "{user}") == NULL ||
       !template_ok(l->bind_dn_template, user_names, 1))) {
    error_set(err, rc,
              "%s: [ldap] bind_dn_template needs {user} and no "
              "other placeholder",
              path);
    goto out;
  }
  if (l->upn_suffix != NULL && l->base == NULL) {
    error_set(err, rc, "%s: [ldap] upn_suffix needs base", path);
    goto out;
  }
  if (l->user_filter == NULL)
    l->user_filter = mem_strdup("(userPrincipalName={upn})");
  if (!template_ok(l->user_filter, upn_names, 2)) {
    error_set(err, rc, "%s: [ldap] user_filter may use {user} and {upn}", path);
    goto out;
  }
  if (l->group_attribute == NULL && l->group_base == NULL) {
    error_set(err, rc,
              "%s: [ldap] needs group_attribute (e.g. memberOf) or "
              "group_base",
              path);
    goto out;
  }
  if (l->group_filter == NULL)
    l->group_filter = mem_strdup("(|(member={dn})(uniqueMember={dn}))");
  if (!template_ok(l->group_filter, dn_names, 2)) {
    error_set(err, rc, "%s: [ldap] group_filter may use {dn} and {user}", path);
    goto out;
  }
  if (l->ngroups == 0) {
    error_set(err, rc, "%s: no [group NAME] section maps a group to a role",
              path);
    goto out;
  }
  for (size_t i = 0; i < l->ngroups; i++) {
    const struct group_map *g = &l->groups[i];
    if (!g->has_dn || !g->has_role || !g->has_scope) {
      error_set(err, rc, "%s: group '%s' needs dn, role and scope", path,
                g->name);
      goto out;
    }
  }
  rc = 0;
  *out = l;
  l = NULL;
out:
  auth_ldap_free(l);
  return rc;
}

int auth_ldap_check_scopes(const struct auth_ldap *l, const struct org *org,
                           struct error *err) {
  for (size_t i = 0; i < l->ngroups; i++) {
    int rc = auth_scope_check(&l->groups[i].scope, org, err);
    if (rc < 0)
      return error_set(err, rc, "ldap group '%s': %s", l->groups[i].name,
                       err != NULL ? err->msg : "unknown unit");
  }
  return 0;
}

/* ---- signing in --------------------------------------------------------- */

/* The groups one user belongs to (normalised DNs). */
struct memberships {
  char **dn;
  size_t n;
  bool uac_disabled;
};

static void memberships_free(struct memberships *m) {
  for (size_t i = 0; i < m->n; i++)
    mem_free(m->dn[i]);
  mem_free(m->dn);
  m->dn = NULL;
  m->n = 0;
}

static void membership_add(struct memberships *m, const char *dn) {
  char *n;
  if (m->n == MAX_MEMBERSHIPS)
    return;
  n = dn_normal(dn);
  if (n == NULL)
    return;
  m->dn = mem_realloc(m->dn, (m->n + 1) * sizeof *m->dn);
  m->dn[m->n++] = n;
}

static bool member_of(const struct memberships *m, const char *dn) {
  for (size_t i = 0; i < m->n; i++)
    if (strcasecmp(m->dn[i], dn) == 0)
      return true;
  return false;
}

/* Maps an LDAP result code of a connection or bind to ours. */
static int ldap_fail(int lrc, const char *what, struct error *err) {
  switch (lrc) {
  case LDAP_INVALID_CREDENTIALS:
    return error_set(err, ERR_DENIED,
                     "%s: invalid credentials (wrong password, unknown, "
                     "locked or disabled account)",
                     what);
  case LDAP_SERVER_DOWN:
  case LDAP_CONNECT_ERROR:
  case LDAP_TIMEOUT:
  case LDAP_UNAVAILABLE:
  case LDAP_BUSY:
    return error_set(err, ERR_IO, "%s: %s", what, ldap_err2string(lrc));
  default:
    return error_set(err, ERR_DENIED, "%s: %s", what, ldap_err2string(lrc));
  }
}

static int connect_tls(const struct auth_ldap *l, LDAP **out,
                       struct error *err) {
  LDAP *ld = NULL;
  int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
  int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  struct timeval tv;
  int lrc;
  tv.tv_sec = (time_t)(l->timeout_ms / 1000);
  tv.tv_usec = (suseconds_t)((l->timeout_ms % 1000) * 1000);
  lrc = ldap_initialize(&ld, l->url);
  if (lrc != LDAP_SUCCESS)
    return error_set(err, ERR_CONFIG, "ldap url: %s", ldap_err2string(lrc));
  if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
      ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
          LDAP_OPT_SUCCESS ||
      ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
      ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
      ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
          LDAP_OPT_SUCCESS ||
      ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) !=
          LDAP_OPT_SUCCESS ||
      (l->ca_file != NULL && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
                                             l->ca_file) != LDAP_OPT_SUCCESS) ||
      ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
    ldap_unbind_ext_s(ld, NULL, NULL);
    return error_set(err, ERR_CONFIG,
                     "cannot set up TLS for the directory "
                     "(ca_file readable?)");
  }
  if (l->starttls) {
    lrc = ldap_start_tls_s(ld, NULL, NULL);
    if (lrc != LDAP_SUCCESS) {
      ldap_unbind_ext_s(ld, NULL, NULL);
      return error_set(err, ERR_IO, "StartTLS with the directory failed: %s",
                       ldap_err2string(lrc));
    }
  }
  *out = ld;
  return 0;
}

/* Searches and calls back for every entry; the result is freed. */
static int search(LDAP *ld, const char *base, int scope, const char *filter,
                  char **attrs, int sizelimit, LDAPMessage **res,
                  struct error *err) {
  int lrc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL,
                              NULL, sizelimit, res);
  if (lrc != LDAP_SUCCESS && lrc != LDAP_SIZELIMIT_EXCEEDED) {
    if (*res != NULL) {
      ldap_msgfree(*res);
      *res = NULL;
    }
    if (lrc == LDAP_NO_SUCH_OBJECT)
      return error_set(err, ERR_DENIED, "directory entry not found");
    return ldap_fail(lrc, "directory search", err);
  }
  return 0;
}

/* Reads the user's own entry: group attribute and userAccountControl. */
static int read_user(const struct auth_ldap *l, LDAP *ld, const char *dn,
                     struct memberships *m, struct error *err) {
  char *attrs[3] = {NULL, NULL, NULL};
  LDAPMessage *res = NULL, *e;
  int rc, na = 0;
  if (l->group_attribute != NULL)
    attrs[na++] = l->group_attribute;
  attrs[na++] = (char *)"userAccountControl";
  rc = search(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, err);
  if (rc < 0)
    return rc;
  e = ldap_first_entry(ld, res);
  if (e == NULL) {
    ldap_msgfree(res);
    return error_set(err, ERR_DENIED, "cannot read the user's own entry");
  }
  for (int i = 0; i < na; i++) {
    struct berval **vals = ldap_get_values_len(ld, e, attrs[i]);
    for (size_t k = 0; vals != NULL && vals[k] != NULL; k++) {
      char tmp[MAX_VALUE * 2];
      size_t n =
          vals[k]->bv_len < sizeof tmp - 1 ? vals[k]->bv_len : sizeof tmp - 1;
      memcpy(tmp, vals[k]->bv_val, n);
      tmp[n] = '\0';
      if (strcmp(attrs[i], "userAccountControl") == 0) {
        long uac = strtol(tmp, NULL, 10);
        if (uac & 0x2)
          m->uac_disabled = true;
      } else {
        membership_add(m, tmp);
      }
    }
    ldap_value_free_len(vals);
  }
  ldap_msgfree(res);
  return 0;
}

static int search_groups(const struct auth_ldap *l, LDAP *ld, const char *dn,
                         const char *user, struct memberships *m,
                         struct error *err) {
  static const char *const names[] = {"dn", "user"};
  const char *values[2] = {dn, user};
  char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
  LDAPMessage *res = NULL;
  struct buf f;
  int rc;
  buf_init(&f, 8 * MAX_VALUE);
  rc = expand(l->group_filter, names, values, 2, filter_escape, &f);
  if (rc < 0) {
    buf_release(&f);
    return error_set(err, ERR_CONFIG, "cannot build the group filter");
  }
  rc = search(ld, l->group_base, LDAP_SCOPE_SUBTREE, buf_str(&f), attrs,
              MAX_MEMBERSHIPS, &res, err);
  buf_release(&f);
  if (rc < 0)
    return rc;
  for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL;
       e = ldap_next_entry(ld, e)) {
    char *edn = ldap_get_dn(ld, e);
    if (edn != NULL) {
      membership_add(m, edn);
      ldap_memfree(edn);
    }
  }
  ldap_msgfree(res);
  return 0;
}

/* In UPN mode: the DN of the entry with the user's UPN. */
static int find_dn(const struct auth_ldap *l, LDAP *ld, const char *user,
                   const char *upn, char **dn, struct error *err) {
  static const char *const names[] = {"user", "upn"};
  const char *values[2] = {user, upn};
  char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
  LDAPMessage *res = NULL, *e;
  struct buf f;
  char *d;
  int rc;
  buf_init(&f, 8 * MAX_VALUE);
  rc = expand(l->user_filter, names, values, 2, filter_escape, &f);
  if (rc < 0) {
    buf_release(&f);
    return error_set(err, ERR_CONFIG, "cannot build the user filter");
  }
  rc =
      search(ld, l->base, LDAP_SCOPE_SUBTREE, buf_str(&f), attrs, 2, &res, err);
  buf_release(&f);
  if (rc < 0)
    return rc;
  if (ldap_count_entries(ld, res) != 1) {
    ldap_msgfree(res);
    return error_set(err, ERR_DENIED, "the user's entry is not unique");
  }
  e = ldap_first_entry(ld, res);
  d = e != NULL ? ldap_get_dn(ld, e) : NULL;
  ldap_msgfree(res);
  if (d == NULL)
    return error_set(err, ERR_DENIED, "the user's entry has no DN");
  *dn = mem_strdup(d);
  ldap_memfree(d);
  return 0;
}

int auth_ldap_authenticate(const struct auth_ldap *l, const char *user,
                           const char *password, size_t pwlen,
                           struct auth_principal *out, struct error *err) {
  static const char *const user_names[] = {"user"};
  char shortname[AUTH_USER_MAX + 1];
  struct memberships m;
  struct auth_principal who;
  struct buf bind;
  struct berval cred;
  LDAP *ld = NULL;
  char *dn = NULL;
  const struct group_map *first = NULL;
  int rc, lrc;

  pthread_once(&ldap_once, ldap_start);
  memset(&m, 0, sizeof m);
  buf_init(&bind, 4 * MAX_VALUE);
  rc = auth_user_name_check(user, err);
  if (rc < 0)
    return rc;
  if (password == NULL || pwlen == 0 || pwlen > AUTH_PASSWORD_MAX ||
      memchr(password, '\0', pwlen) != NULL)
    return error_set(err, ERR_INVAL, "empty or malformed password");
  snprintf(shortname, sizeof shortname, "%s", user);
  for (char *c = shortname; *c != '\0'; c++) /* names are case-insensitive */
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');

  /* 1. The name to bind with. */
  if (l->upn_suffix != NULL) {
    char *at = strchr(shortname, '@');
    if (at != NULL) {
      if (strcasecmp(at + 1, l->upn_suffix) != 0)
        return error_set(err, ERR_DENIED, "user name of another domain");
      *at = '\0';
    }
    rc = buf_printf(&bind, "%s@%s", shortname, l->upn_suffix);
  } else {
    if (strchr(shortname, '@') != NULL)
      return error_set(err, ERR_DENIED, "'@' in a name bound by template");
    {
      const char *values[1] = {shortname};
      rc = expand(l->bind_dn_template, user_names, values, 1, dn_escape, &bind);
    }
  }
  if (rc < 0) {
    rc = error_set(err, ERR_INVAL, "cannot build the bind name");
    goto out;
  }

  /* 2. TLS, then bind as the user. */
  rc = connect_tls(l, &ld, err);
  if (rc < 0)
    goto out;
  cred.bv_val = (char *)password;
  cred.bv_len = pwlen;
  lrc = ldap_sasl_bind_s(ld, buf_str(&bind), LDAP_SASL_SIMPLE, &cred, NULL,
                         NULL, NULL);
  if (lrc != LDAP_SUCCESS) {
    rc = ldap_fail(lrc, "directory bind", err);
    goto out;
  }

  /* 3. Who the user is in the directory, and their groups. */
  if (l->upn_suffix != NULL) {
    rc = find_dn(l, ld, shortname, buf_str(&bind), &dn, err);
    if (rc < 0)
      goto out;
  } else {
    dn = mem_strdup(buf_str(&bind));
  }
  rc = read_user(l, ld, dn, &m, err);
  if (rc == 0 && l->group_base != NULL)
    rc = search_groups(l, ld, dn, shortname, &m, err);
  if (rc < 0)
    goto out;

  /* 4. Disabled? Then the first mapped group gives the role. */
  if (m.uac_disabled) {
    rc = error_set(err, ERR_DENIED,
                   "account disabled in the directory "
                   "(userAccountControl)");
    goto out;
  }
  if (l->disabled_group != NULL && member_of(&m, l->disabled_group)) {
    rc = error_set(err, ERR_DENIED, "account in the disabled group");
    goto out;
  }
  memset(&who, 0, sizeof who);
  for (size_t i = 0; i < l->ngroups; i++) {
    const struct group_map *g = &l->groups[i];
    if (!member_of(&m, g->dn))
      continue;
    if (first == NULL) {
      first = g;
      who.role = g->role;
    }
    if (g->role != first->role)
      continue;
    for (size_t k = 0; k < g->scope.n && who.scope.n < AUTH_SCOPE_MAX; k++) {
      bool dup = false;
      for (size_t j = 0; j < who.scope.n; j++)
        if (strcmp(who.scope.units[j], g->scope.units[k]) == 0)
          dup = true;
      if (!dup)
        memcpy(who.scope.units[who.scope.n++], g->scope.units[k],
               AUTH_UNIT_ID_MAX);
    }
  }
  if (first == NULL) {
    rc = error_set(err, ERR_DENIED,
                   "no configured group maps the user to a "
                   "role");
    goto out;
  }
  snprintf(who.user, sizeof who.user, "%s", shortname);
  snprintf(who.source, sizeof who.source, "ldap");
  *out = who;
  rc = 0;
out:
  if (ld != NULL)
    ldap_unbind_ext_s(ld, NULL, NULL);
  memberships_free(&m);
  mem_free(dn);
  buf_release(&bind);
  return rc;
}
