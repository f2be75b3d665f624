/* cli_sec.c -- `tilannekuva user|token|audit|auth`: accounts, API tokens,
 * the audit log and a directory sign-in test (cli_sec.h).
 *
 * Every command works on a data directory: security.db (created by the
 * commands that write), org.json (scopes are checked against it) and keys
 * (who-viewed pseudonymises with it, verify trusts its signing key,
 * checkpoint signs with it). Secrets come from standard input, never from
 * the command line (which other users can read in the process list):
 * passwords with --password-stdin, identity codes with --hetu-stdin (the
 * --hetu CODE form exists for a registrar's one-off use). On a terminal
 * the password is read without echo and asked twice when it is set.
 *
 * Output: results on stdout, diagnostics on stderr; a created API token is
 * the only thing on stdout, so `TOKEN=$(tilannekuva token create ...)`
 * works.
 *
 * Thread safety: none needed (main's thread). */
#include "cli_sec.h"

#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "buf.h"
#include "chrono.h"
#include "config.h"
#include "hetu.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "secstore.h"

#define OUT_MAX (256u * 1024u * 1024u) /* one command's output, bytes */
#define TRUSTED_MAX 64                 /* retired signing keys */

/* ---- options ------------------------------------------------------------ */

struct opts {
  const char *data, *user, *role, *scope, *expires, *id, *expect, *hetu,
      *config;
  bool password_stdin, no_password, csv, all, hetu_stdin;
};

static const struct optdef {
  const char *name;
  bool has_arg;
  size_t offset;
} optdefs[] = {
#define STR(n, f)                                                              \
  { n, true, offsetof(struct opts, f) }
#define FLAG(n, f)                                                             \
  { n, false, offsetof(struct opts, f) }
    STR("data", data),
    STR("user", user),
    STR("role", role),
    STR("scope", scope),
    STR("expires", expires),
    STR("id", id),
    STR("expect", expect),
    STR("hetu", hetu),
    STR("config", config),
    FLAG("password-stdin", password_stdin),
    FLAG("no-password", no_password),
    FLAG("csv", csv),
    FLAG("all", all),
    FLAG("hetu-stdin", hetu_stdin),
#undef STR
#undef FLAG
};

/* Parses argv[start..] into *o, allowing only the space-separated option
 * names in 'allowed'. Returns 0, or 2 after printing why to stderr. */
static int parse_opts(const char *cmd, int argc, char **argv, int start,
                      const char *allowed, struct opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = start; i < argc; i++) {
    const char *a = argv[i], *eq, *value = NULL;
    size_t n;
    const struct optdef *d = NULL;
    if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, "tilannekuva %s: unexpected argument '%s'\n", cmd, a);
      return 2;
    }
    a += 2;
    eq = strchr(a, '=');
    n = eq != NULL ? (size_t)(eq - a) : strlen(a);
    for (size_t k = 0; k < ARRAY_LEN(optdefs); k++)
      if (strlen(optdefs[k].name) == n && strncmp(optdefs[k].name, a, n) == 0)
        d = &optdefs[k];
    if (d != NULL) {
      /* allowed for this subcommand? */
      const char *p = strstr(allowed, d->name);
      size_t dl = strlen(d->name);
      while (p != NULL && !((p == allowed || p[-1] == ' ') &&
                            (p[dl] == ' ' || p[dl] == '\0')))
        p = strstr(p + 1, d->name);
      if (p == NULL)
        d = NULL;
    }
    if (d == NULL) {
      fprintf(stderr, "tilannekuva %s: unknown option '--%.*s'\n", cmd, (int)n,
              a);
      return 2;
    }
    if (d->has_arg) {
      if (eq != NULL)
        value = eq + 1;
      else if (i + 1 < argc)
        value = argv[++i];
      else {
        fprintf(stderr, "tilannekuva %s: --%s needs a value\n", cmd, d->name);
        return 2;
      }
      *(const char **)((char *)o + d->offset) = value;
    } else {
      if (eq != NULL) {
        fprintf(stderr, "tilannekuva %s: --%s takes no value\n", cmd, d->name);
        return 2;
      }
      *(bool *)((char *)o + d->offset) = true;
    }
  }
  return 0;
}

static int need(const char *cmd, const char *value, const char *name) {
  if (value == NULL || value[0] == '\0') {
    fprintf(stderr, "tilannekuva %s: --%s is required\n", cmd, name);
    return 2;
  }
  return 0;
}

static char *path_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mem_alloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* ---- secrets from standard input ---------------------------------------- */

/* Reads one line (without its newline) from fd 0 into out (cap bytes incl.
 * NUL). Returns its length, or -1 when it is too long or unreadable. */
static long read_line_fd(char *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(0, &c, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || c == '\n')
      break;
    if (n + 1 >= cap)
      return -1;
    out[n++] = c;
  }
  if (n > 0 && out[n - 1] == '\r')
    n--;
  out[n] = '\0';
  return (long)n;
}

/* A secret from standard input: without echo, prompted (and confirmed when
 * 'confirm') on a terminal; else the first line. */
static long read_secret(const char *prompt, bool confirm, char *out,
                        size_t cap) {
  struct termios old, quiet;
  bool tty = isatty(0) != 0;
  long n;
  if (tty && tcgetattr(0, &old) == 0) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "%s: ", prompt);
    tcsetattr(0, TCSAFLUSH, &quiet);
    n = read_line_fd(out, cap);
    fputc('\n', stderr);
    if (n >= 0 && confirm) {
      char *again = mem_alloc(cap);
      long m;
      fprintf(stderr, "again: ");
      m = read_line_fd(again, cap);
      fputc('\n', stderr);
      if (m != n || memcmp(again, out, (size_t)n) != 0)
        n = -2;
      explicit_bzero(again, cap);
      mem_free(again);
    }
    tcsetattr(0, TCSAFLUSH, &old);
    return n;
  }
  return read_line_fd(out, cap);
}

/* ---- shared context ----------------------------------------------------- */

struct ctx {
  struct secstore *ss;
  struct org *org;
  struct auth *auth;
  struct audit *audit;
  char actor[AUDIT_USER_MAX + 1];
};

static void ctx_close(struct ctx *c) {
  audit_free(c->audit);
  auth_free(c->auth);
  secstore_close(c->ss);
  org_free(c->org);
  memset(c, 0, sizeof *c);
}

/* Opens security.db (creating it when 'create'), org.json, and the
 * authenticator and audit log over them. */
static int ctx_open(const char *dir, bool create, struct ctx *c,
                    struct error *err) {
  char *p;
  int rc;
  memset(c, 0, sizeof *c);
  {
    struct passwd *pw = getpwuid(geteuid());
    if (pw != NULL && pw->pw_name != NULL)
      snprintf(c->actor, sizeof c->actor, "os:%.64s", pw->pw_name);
    else
      snprintf(c->actor, sizeof c->actor, "os:uid%u", (unsigned)geteuid());
  }
  p = path_join(dir, "org.json");
  rc = org_load_file(p, &c->org, err);
  mem_free(p);
  if (rc < 0)
    return rc;
  p = path_join(dir, SECSTORE_FILE);
  rc = secstore_open(p, create ? SECSTORE_CREATE : 0, &c->ss, err);
  mem_free(p);
  if (rc == 0)
    rc = auth_open(c->ss, c->org, NULL, NULL, &c->auth, err);
  if (rc == 0)
    rc = audit_open(c->ss, NULL, 0, &c->audit, err);
  if (rc < 0)
    ctx_close(c);
  return rc;
}

/* Records an administrative action ("user.add anna") in the audit log. */
static int record(struct ctx *c, const char *action, const char *target,
                  struct error *err) {
  struct audit_entry e;
  char what[AUDIT_ACTION_MAX + 1], rid[33];
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  audit_hex(raw, sizeof raw, rid);
  snprintf(what, sizeof what, "%s %s", action, target);
  memset(&e, 0, sizeof e);
  e.user = c->actor;
  e.role = "cli";
  e.action = what;
  e.request_id = rid;
  return audit_append(c->audit, &e, 1, NULL, err);
}

static int fail(const char *cmd, const struct error *err) {
  fprintf(stderr, "tilannekuva %s: %s\n", cmd,
          err->msg[0] != '\0' ? err->msg : err_str(err->code));
  return 1;
}

static void fmt_time(int64_t ms, char out[32]) {
  if (ms == 0)
    snprintf(out, 32, "-");
  else
    chrono_format_iso(ms, out);
}

/* ---- user --------------------------------------------------------------- */

static void user_usage(FILE *f) {
  fputs("usage: tilannekuva user add --data DIR --user NAME --role ROLE "
        "--scope UNIT[,UNIT...]\n"
        "                          (--password-stdin | --no-password)\n"
        "       tilannekuva user list --data DIR\n"
        "       tilannekuva user disable|enable --data DIR --user NAME\n"
        "       tilannekuva user passwd --data DIR --user NAME "
        "--password-stdin\n"
        "       tilannekuva user set --data DIR --user NAME --role ROLE "
        "--scope UNITS\n\n"
        "Local accounts in DIR/security.db. Roles: leader, analyst, "
        "unit_manager,\ncoordinator, integration_admin, registrar, admin "
        "(unit_manager and coordinator\nsee person-level rows). A scope is "
        "one or more organisation units; the user\nsees those units and "
        "everything below them. Passwords (12..1024 bytes) are\nread from "
        "standard input and stored as argon2id hashes.\n",
        f);
}

static int print_user(void *ctx, const struct secstore_user *u) {
  char when[32];
  (void)ctx;
  fmt_time(u->updated_ms, when);
  printf("%-24s %-18s %-9s %-11s %s  %s\n", u->name, u->role,
         u->disabled ? "disabled" : "active",
         u->pwhash[0] != '\0' ? "password" : "no-password", when, u->scope);
  return 0;
}

static int user_add(struct ctx *c, const struct opts *o, struct error *err) {
  struct auth_scope scope;
  enum auth_role role;
  char pw[AUTH_PASSWORD_MAX + 2];
  long n = 0;
  int rc;
  if (auth_role_parse(o->role, &role) != 0)
    return error_set(err, ERR_INVAL, "unknown role '%s'", o->role);
  rc = auth_scope_parse(o->scope, &scope, err);
  if (rc < 0)
    return rc;
  if (o->password_stdin) {
    n = read_secret("password", true, pw, sizeof pw);
    if (n < 0)
      return error_set(err, ERR_INVAL,
                       n == -2 ? "the passwords differ"
                               : "cannot read the password");
  }
  rc = auth_user_add(c->auth, o->user, role, &scope,
                     o->password_stdin ? pw : NULL, (size_t)n, chrono_now_ms(),
                     err);
  explicit_bzero(pw, sizeof pw);
  if (rc == 0)
    rc = record(c, "user.add", o->user, err);
  if (rc == 0)
    printf("added '%s' (%s, scope %s)\n", o->user, auth_role_name(role),
           o->scope);
  return rc;
}

int cli_sec_user_main(int argc, char **argv) {
  struct opts o;
  struct ctx c;
  struct error err;
  const char *sub = argc > 1 ? argv[1] : NULL;
  int rc;
  error_clear(&err);
  if (sub == NULL) {
    user_usage(stderr);
    return 2;
  }
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    user_usage(stdout);
    return 0;
  }
  if (strcmp(sub, "add") == 0) {
    rc = parse_opts("user add", argc, argv, 2,
                    "data user role scope password-stdin no-password", &o);
    if (rc == 0)
      rc = need("user add", o.data, "data");
    if (rc == 0)
      rc = need("user add", o.user, "user");
    if (rc == 0)
      rc = need("user add", o.role, "role");
    if (rc == 0)
      rc = need("user add", o.scope, "scope");
    if (rc == 0 && o.password_stdin == o.no_password) {
      fprintf(stderr, "tilannekuva user add: give --password-stdin or "
                      "--no-password\n");
      rc = 2;
    }
  } else if (strcmp(sub, "list") == 0) {
    rc = parse_opts("user list", argc, argv, 2, "data", &o);
    if (rc == 0)
      rc = need("user list", o.data, "data");
  } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
    rc = parse_opts("user", argc, argv, 2, "data user", &o);
    if (rc == 0)
      rc = need("user", o.data, "data");
    if (rc == 0)
      rc = need("user", o.user, "user");
  } else if (strcmp(sub, "passwd") == 0) {
    rc = parse_opts("user passwd", argc, argv, 2, "data user password-stdin",
                    &o);
    if (rc == 0)
      rc = need("user passwd", o.data, "data");
    if (rc == 0)
      rc = need("user passwd", o.user, "user");
    if (rc == 0 && !o.password_stdin) {
      fprintf(stderr, "tilannekuva user passwd: --password-stdin is "
                      "required\n");
      rc = 2;
    }
  } else if (strcmp(sub, "set") == 0) {
    rc = parse_opts("user set", argc, argv, 2, "data user role scope", &o);
    if (rc == 0)
      rc = need("user set", o.data, "data");
    if (rc == 0)
      rc = need("user set", o.user, "user");
    if (rc == 0)
      rc = need("user set", o.role, "role");
    if (rc == 0)
      rc = need("user set", o.scope, "scope");
  } else {
    fprintf(stderr, "tilannekuva user: unknown subcommand '%s'\n", sub);
    user_usage(stderr);
    return 2;
  }
  if (rc != 0)
    return rc;

  if (ctx_open(o.data, strcmp(sub, "list") != 0, &c, &err) < 0)
    return fail("user", &err);
  if (strcmp(sub, "add") == 0) {
    rc = user_add(&c, &o, &err);
  } else if (strcmp(sub, "list") == 0) {
    rc = secstore_user_list(c.ss, print_user, NULL, &err);
  } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
    bool off = strcmp(sub, "disable") == 0;
    rc = auth_user_set_disabled(c.auth, o.user, off, chrono_now_ms(), &err);
    if (rc == 0)
      rc = record(&c, off ? "user.disable" : "user.enable", o.user, &err);
    if (rc == 0)
      printf("%s '%s'%s\n", off ? "disabled" : "enabled", o.user,
             off ? ": sessions ended, API tokens revoked" : "");
  } else if (strcmp(sub, "passwd") == 0) {
    char pw[AUTH_PASSWORD_MAX + 2];
    long n = read_secret("new password", true, pw, sizeof pw);
    if (n < 0)
      rc = error_set(&err, ERR_INVAL,
                     n == -2 ? "the passwords differ"
                             : "cannot read the password");
    else
      rc = auth_user_set_password(c.auth, o.user, pw, (size_t)n,
                                  chrono_now_ms(), &err);
    explicit_bzero(pw, sizeof pw);
    if (rc == 0)
      rc = record(&c, "user.passwd", o.user, &err);
    if (rc == 0)
      printf("password of '%s' changed; its sessions ended\n", o.user);
  } else {
    struct auth_scope scope;
    enum auth_role role;
    if (auth_role_parse(o.role, &role) != 0)
      rc = error_set(&err, ERR_INVAL, "unknown role '%s'", o.role);
    else
      rc = auth_scope_parse(o.scope, &scope, &err);
    if (rc == 0)
      rc = auth_user_set_role(c.auth, o.user, role, &scope, chrono_now_ms(),
                              &err);
    if (rc == 0)
      rc = record(&c, "user.set", o.user, &err);
    if (rc == 0)
      printf("'%s' is now %s with scope %s\n", o.user, o.role, o.scope);
  }
  ctx_close(&c);
  return rc < 0 ? fail("user", &err) : 0;
}

/* ---- token -------------------------------------------------------------- */

static void token_usage(FILE *f) {
  fputs("usage: tilannekuva token create --data DIR --user NAME "
        "[--expires 30d]\n"
        "       tilannekuva token list --data DIR [--user NAME]\n"
        "       tilannekuva token revoke --data DIR (--id N | --user NAME "
        "--all)\n\n"
        "API tokens for machine clients, used as 'Authorization: Bearer "
        "TOKEN'. A token\nacts with its account's current role and scope; "
        "it is printed once and stored\nonly as a hash.\n",
        f);
}

static int print_token(void *ctx, const struct secstore_token *t) {
  char created[32], expires[32], used[32];
  int64_t now = *(const int64_t *)ctx;
  const char *state = t->revoked_ms != 0                             ? "revoked"
                      : (t->expires_ms != 0 && now >= t->expires_ms) ? "expired"
                                                                     : "active";
  fmt_time(t->created_ms, created);
  fmt_time(t->expires_ms, expires);
  fmt_time(t->last_used_ms, used);
  printf("%-6lld %-24s %-8s created %s  expires %s  last used %s\n",
         (long long)t->id, t->user, state, created, expires, used);
  return 0;
}

/* User names are stored in lowercase (auth.h); "os:" actors as given. */
static const char *lowered(const char *name, char *buf, size_t cap) {
  size_t i;
  if (name == NULL || strncmp(name, "os:", 3) == 0)
    return name;
  for (i = 0; name[i] != '\0' && i + 1 < cap; i++)
    buf[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a')
                                              : name[i];
  buf[i] = '\0';
  return buf;
}

int cli_sec_token_main(int argc, char **argv) {
  struct opts o;
  struct ctx c;
  struct error err;
  const char *sub = argc > 1 ? argv[1] : NULL;
  int64_t now = chrono_now_ms();
  int rc;
  error_clear(&err);
  if (sub == NULL) {
    token_usage(stderr);
    return 2;
  }
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    token_usage(stdout);
    return 0;
  }
  if (strcmp(sub, "create") == 0) {
    rc = parse_opts("token create", argc, argv, 2, "data user expires", &o);
    if (rc == 0)
      rc = need("token create", o.data, "data");
    if (rc == 0)
      rc = need("token create", o.user, "user");
  } else if (strcmp(sub, "list") == 0) {
    rc = parse_opts("token list", argc, argv, 2, "data user", &o);
    if (rc == 0)
      rc = need("token list", o.data, "data");
  } else if (strcmp(sub, "revoke") == 0) {
    rc = parse_opts("token revoke", argc, argv, 2, "data id user all", &o);
    if (rc == 0)
      rc = need("token revoke", o.data, "data");
    if (rc == 0 && (o.id != NULL) == (o.user != NULL && o.all)) {
      fprintf(stderr, "tilannekuva token revoke: give --id N or --user NAME "
                      "--all\n");
      rc = 2;
    }
  } else {
    fprintf(stderr, "tilannekuva token: unknown subcommand '%s'\n", sub);
    token_usage(stderr);
    return 2;
  }
  if (rc != 0)
    return rc;

  if (ctx_open(o.data, strcmp(sub, "list") != 0, &c, &err) < 0)
    return fail("token", &err);
  if (strcmp(sub, "create") == 0) {
    char token[AUTH_API_TOKEN_LEN + 1], when[32], what[64];
    long long ms = 0;
    int64_t id = 0;
    if (o.expires != NULL &&
        (config_parse_duration(o.expires, &ms, &err) < 0 || ms <= 0)) {
      ctx_close(&c);
      fprintf(stderr,
              "tilannekuva token create: bad --expires '%s' (e.g. "
              "30d, 12h)\n",
              o.expires);
      return 2;
    }
    rc = auth_token_create(c.auth, o.user, ms > 0 ? now + ms : 0, now, token,
                           &id, &err);
    if (rc == 0) {
      snprintf(what, sizeof what, "%lld", (long long)id);
      rc = record(&c, "token.create", what, &err);
    }
    if (rc == 0) {
      fmt_time(ms > 0 ? now + ms : 0, when);
      printf("%s\n", token);
      fflush(stdout);
      fprintf(stderr, "token %lld for '%s', expires %s\n", (long long)id,
              o.user, ms > 0 ? when : "never");
    }
    explicit_bzero(token, sizeof token);
  } else if (strcmp(sub, "list") == 0) {
    char lc[AUTH_USER_MAX + 2];
    rc = secstore_token_list(c.ss, lowered(o.user, lc, sizeof lc), print_token,
                             &now, &err);
  } else if (o.id != NULL) {
    char *end;
    long long id = strtoll(o.id, &end, 10);
    if (end == o.id || *end != '\0' || id <= 0) {
      ctx_close(&c);
      fprintf(stderr, "tilannekuva token revoke: bad --id '%s'\n", o.id);
      return 2;
    }
    rc = secstore_token_revoke(c.ss, id, now, &err);
    if (rc == 0)
      rc = record(&c, "token.revoke", o.id, &err);
    if (rc == 0)
      printf("revoked token %lld\n", id);
  } else {
    int64_t n = 0;
    char lc[AUTH_USER_MAX + 2];
    rc = secstore_token_revoke_user(c.ss, lowered(o.user, lc, sizeof lc), now,
                                    &n, &err);
    if (rc == 0)
      rc = record(&c, "token.revoke-all", o.user, &err);
    if (rc == 0)
      printf("revoked %lld token(s) of '%s'\n", (long long)n, o.user);
  }
  ctx_close(&c);
  return rc < 0 ? fail("token", &err) : 0;
}

/* ---- audit -------------------------------------------------------------- */

static void audit_usage(FILE *f) {
  fputs("usage: tilannekuva audit verify --data DIR [--expect COUNT:HEAD]\n"
        "       tilannekuva audit checkpoint --data DIR\n"
        "       tilannekuva audit who-viewed --data DIR (--hetu CODE | "
        "--hetu-stdin) [--csv]\n"
        "       tilannekuva audit user-activity --data DIR --user NAME "
        "[--csv]\n\n"
        "verify checks the hash chain and the signed checkpoints and prints "
        "OK or the\nfirst broken record (exit 1). --expect checks against a "
        "checkpoint kept\nelsewhere (the server log's 'count=N head=HEX'). "
        "who-viewed lists every record\nof one person (the identity code is "
        "pseudonymised as the ingest does, never\nstored); user-activity "
        "everything one user did.\n",
        f);
}

static bool hex_decode(const char *hex, unsigned char *out, size_t n) {
  size_t bin_len = 0;
  if (strlen(hex) != 2 * n)
    return false;
  return sodium_hex2bin(out, n, hex, 2 * n, NULL, &bin_len, NULL) == 0 &&
         bin_len == n;
}

/* The trusted signing keys: the key file's, plus DIR/audit-keys.pub (one
 * hex key per line, '#' comments) for retired ones. */
static int trusted_keys(const char *dir, const struct privacy_keys *keys,
                        unsigned char (*out)[PRIVACY_SIGN_PUBLIC_BYTES],
                        size_t *n, struct error *err) {
  char *p = path_join(dir, "audit-keys.pub");
  FILE *f = fopen(p, "r");
  char line[256];
  int lineno = 0;
  privacy_sign_public(keys, out[0]);
  *n = 1;
  if (f == NULL) {
    mem_free(p);
    return 0;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    char *s = line, *e;
    lineno++;
    while (*s == ' ' || *s == '\t')
      s++;
    e = s + strcspn(s, " \t\r\n#");
    if (*s == '#' || e == s)
      continue;
    *e = '\0';
    if (*n == TRUSTED_MAX ||
        !hex_decode(s, out[*n], PRIVACY_SIGN_PUBLIC_BYTES)) {
      fclose(f);
      error_set(err, ERR_PARSE, "%s:%d: not a 64-digit hex public key", p,
                lineno);
      mem_free(p);
      return ERR_PARSE;
    }
    (*n)++;
  }
  fclose(f);
  mem_free(p);
  return 0;
}

struct printer {
  struct buf out;
  bool csv;
  size_t n;
};

static int print_row(void *ctx, const struct secstore_audit_row *r) {
  struct printer *p = ctx;
  int rc = p->csv ? audit_row_csv(r, &p->out) : audit_row_text(r, &p->out);
  if (rc != 0)
    return rc;
  p->n++;
  if (p->out.len > 65536) {
    fwrite(p->out.data, 1, p->out.len, stdout);
    buf_reset(&p->out);
  }
  return 0;
}

static int audit_verify_cmd(const struct opts *o, struct secstore *ss,
                            const struct privacy_keys *keys,
                            struct error *err) {
  unsigned char trusted[TRUSTED_MAX][PRIVACY_SIGN_PUBLIC_BYTES];
  struct audit_expect expect;
  struct audit_verdict v;
  size_t nt = 0;
  char head[2 * AUDIT_HASH_BYTES + 1];
  int rc;
  if (o->expect != NULL) {
    const char *colon = strchr(o->expect, ':');
    char *end;
    memset(&expect, 0, sizeof expect);
    expect.count = colon != NULL ? strtoll(o->expect, &end, 10) : -1;
    if (colon == NULL || end != colon || expect.count < 0 ||
        !hex_decode(colon + 1, expect.head, AUDIT_HASH_BYTES)) {
      fprintf(stderr, "tilannekuva audit verify: --expect COUNT:HEAD with a "
                      "64-digit hex head\n");
      return 2;
    }
  }
  rc = trusted_keys(o->data, keys, trusted, &nt, err);
  if (rc == 0)
    rc = audit_verify(
        ss, (const unsigned char(*)[PRIVACY_SIGN_PUBLIC_BYTES])trusted, nt,
        o->expect != NULL ? &expect : NULL, &v, err);
  if (rc < 0)
    return fail("audit verify", err);
  if (!v.ok) {
    printf("audit log BROKEN at record %lld: %s\n", (long long)v.first_bad,
           v.problem);
    printf("records read: %lld; valid checkpoints: %lld; verified up to "
           "record %lld\n",
           (long long)v.records, (long long)v.checkpoints,
           (long long)v.covered);
    return 1;
  }
  audit_hex(v.head, sizeof v.head, head);
  printf("audit log OK: %lld records, %lld signed checkpoints; the last "
         "covers %lld records",
         (long long)v.records, (long long)v.checkpoints, (long long)v.covered);
  if (v.records > v.covered)
    printf(" (%lld newer records not yet signed)",
           (long long)(v.records - v.covered));
  printf("\nhead %lld:%s\n", (long long)v.records, head);
  if (v.checkpoints == 0)
    printf("note: without a signed checkpoint the chain proves only that it "
           "is consistent, not that it is complete\n");
  return 0;
}

int cli_sec_audit_main(int argc, char **argv) {
  struct opts o;
  struct error err;
  struct secstore *ss = NULL;
  struct privacy_keys *keys = NULL;
  const char *sub = argc > 1 ? argv[1] : NULL;
  char *p = NULL;
  int rc;
  error_clear(&err);
  if (sub == NULL) {
    audit_usage(stderr);
    return 2;
  }
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    audit_usage(stdout);
    return 0;
  }
  if (strcmp(sub, "verify") == 0)
    rc = parse_opts("audit verify", argc, argv, 2, "data expect", &o);
  else if (strcmp(sub, "checkpoint") == 0)
    rc = parse_opts("audit checkpoint", argc, argv, 2, "data", &o);
  else if (strcmp(sub, "who-viewed") == 0) {
    rc = parse_opts("audit who-viewed", argc, argv, 2,
                    "data hetu hetu-stdin csv", &o);
    if (rc == 0 && (o.hetu != NULL) == o.hetu_stdin) {
      fprintf(stderr, "tilannekuva audit who-viewed: give --hetu CODE or "
                      "--hetu-stdin\n");
      rc = 2;
    }
  } else if (strcmp(sub, "user-activity") == 0) {
    rc = parse_opts("audit user-activity", argc, argv, 2, "data user csv", &o);
    if (rc == 0)
      rc = need("audit user-activity", o.user, "user");
  } else {
    fprintf(stderr, "tilannekuva audit: unknown subcommand '%s'\n", sub);
    audit_usage(stderr);
    return 2;
  }
  if (rc == 0)
    rc = need("audit", o.data, "data");
  if (rc != 0)
    return rc;

  p = path_join(o.data, SECSTORE_FILE);
  rc = secstore_open(p, strcmp(sub, "checkpoint") == 0 ? 0 : SECSTORE_READONLY,
                     &ss, &err);
  mem_free(p);
  if (rc < 0)
    return fail("audit", &err);
  if (strcmp(sub, "user-activity") != 0) {
    p = path_join(o.data, "keys");
    rc = privacy_keys_load(p, &keys, &err);
    mem_free(p);
    if (rc < 0) {
      secstore_close(ss);
      return fail("audit", &err);
    }
  }
  if (strcmp(sub, "verify") == 0) {
    rc = audit_verify_cmd(&o, ss, keys, &err);
  } else if (strcmp(sub, "checkpoint") == 0) {
    struct audit *a = NULL;
    struct secstore_checkpoint cp;
    char head[2 * AUDIT_HASH_BYTES + 1];
    rc = audit_open(ss, keys, 0, &a, &err);
    if (rc == 0)
      rc = audit_checkpoint(a, "manual", chrono_now_ms(), NULL, &cp, &err);
    audit_free(a);
    if (rc == 0) {
      audit_hex(cp.head, sizeof cp.head, head);
      printf("signed checkpoint %lld: count=%lld head=%s\n", (long long)cp.id,
             (long long)cp.count, head);
    } else {
      rc = fail("audit checkpoint", &err);
    }
  } else {
    struct printer pr;
    memset(&pr, 0, sizeof pr);
    buf_init(&pr.out, OUT_MAX);
    pr.csv = o.csv;
    if (o.csv && audit_csv_header(&pr.out) != 0)
      rc = ERR_TOOBIG;
    if (strcmp(sub, "who-viewed") == 0) {
      char code[64];
      long n;
      if (o.hetu_stdin) {
        n = read_line_fd(code, sizeof code);
      } else {
        n = (long)strlen(o.hetu);
        if ((size_t)n < sizeof code)
          memcpy(code, o.hetu, (size_t)n + 1);
        else
          n = -1;
      }
      if (n <= 0) {
        rc = error_set(&err, ERR_INVAL, "no identity code given");
      } else {
        struct error why;
        if (hetu_check(code, (size_t)n, chrono_today(), NULL, &why) != 0)
          fprintf(stderr,
                  "tilannekuva audit who-viewed: note: not a valid identity "
                  "code (%s); searching for it as given\n",
                  why.msg);
        rc = audit_who_viewed(ss, keys, code, (size_t)n, print_row, &pr, &err);
      }
      explicit_bzero(code, sizeof code);
    } else {
      char lc[AUDIT_USER_MAX + 2];
      rc = audit_user_activity(ss, lowered(o.user, lc, sizeof lc), print_row,
                               &pr, &err);
    }
    if (rc == 0) {
      fwrite(pr.out.data != NULL ? pr.out.data : "", 1, pr.out.len, stdout);
      if (!o.csv)
        fprintf(stderr, "%zu record(s)\n", pr.n);
    } else {
      rc = fail("audit", &err);
    }
    buf_release(&pr.out);
  }
  privacy_keys_free(keys);
  secstore_close(ss);
  return rc;
}

/* ---- auth --------------------------------------------------------------- */

static void auth_usage(FILE *f) {
  fputs("usage: tilannekuva auth ldap-test (--data DIR | --config FILE) "
        "--user NAME\n"
        "                                  --password-stdin\n\n"
        "Signs in at the directory configured in DIR/ldap.ini (or FILE) "
        "exactly as the\nserver would, and prints the role and scope the "
        "user's groups map to, or why\nthe sign-in was refused (exit 1).\n",
        f);
}

int cli_sec_auth_main(int argc, char **argv) {
  struct opts o;
  struct error err;
  struct auth_ldap *l = NULL;
  struct auth_principal who;
  char pw[AUTH_PASSWORD_MAX + 2];
  char scope[SECSTORE_SCOPE_MAX];
  char *p = NULL;
  long n;
  int rc;
  error_clear(&err);
  if (argc < 2) {
    auth_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    auth_usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "ldap-test") != 0) {
    fprintf(stderr, "tilannekuva auth: unknown subcommand '%s'\n", argv[1]);
    auth_usage(stderr);
    return 2;
  }
  rc = parse_opts("auth ldap-test", argc, argv, 2,
                  "data config user password-stdin", &o);
  if (rc == 0)
    rc = need("auth ldap-test", o.user, "user");
  if (rc == 0 &&
      ((o.data == NULL) == (o.config == NULL) || !o.password_stdin)) {
    fprintf(stderr, "tilannekuva auth ldap-test: give --data DIR or --config "
                    "FILE, and --password-stdin\n");
    rc = 2;
  }
  if (rc != 0)
    return rc;
  if (o.config == NULL)
    p = path_join(o.data, AUTH_LDAP_FILE);
  rc = auth_ldap_load(o.config != NULL ? o.config : p, &l, &err);
  mem_free(p);
  if (rc < 0)
    return fail("auth ldap-test", &err);
  if (o.data != NULL) {
    struct org *org = NULL;
    p = path_join(o.data, "org.json");
    rc = org_load_file(p, &org, &err);
    mem_free(p);
    if (rc == 0)
      rc = auth_ldap_check_scopes(l, org, &err);
    org_free(org);
    if (rc < 0) {
      auth_ldap_free(l);
      return fail("auth ldap-test", &err);
    }
  }
  n = read_secret("password", false, pw, sizeof pw);
  if (n < 0) {
    auth_ldap_free(l);
    fprintf(stderr, "tilannekuva auth ldap-test: cannot read the password\n");
    return 2;
  }
  rc = auth_ldap_authenticate(l, o.user, pw, (size_t)n, &who, &err);
  explicit_bzero(pw, sizeof pw);
  auth_ldap_free(l);
  if (rc == ERR_DENIED || rc == ERR_INVAL) {
    printf("refused: %s\n", err.msg);
    return 1;
  }
  if (rc < 0) {
    printf("error: %s\n", err.msg);
    return 1;
  }
  if (auth_scope_format(&who.scope, scope, sizeof scope) != 0)
    scope[0] = '\0';
  printf("ok: user=%s role=%s scope=%s person_level=%s\n", who.user,
         auth_role_name(who.role), scope,
         auth_role_person_level(who.role) ? "yes" : "no");
  return 0;
}
