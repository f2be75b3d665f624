/* audit.c -- the audit log's hash chain, signed checkpoints, verification
 * and the registrar's queries (audit.h).
 *
 * Design:
 *  - An append reads the last (seq, hash) and inserts the new records in
 *    one BEGIN IMMEDIATE transaction of the security database, so appends
 *    from several threads or processes (the server and the CLI) serialise
 *    and the chain never forks. The transaction commits with
 *    synchronous=FULL before audit_append returns: callers append before
 *    they release the data the record describes.
 *  - Checkpoints sign (count, head, time, kind) with the key file's Ed25519
 *    key (privacy_sign) and store the public key beside the signature for
 *    reference only: audit_verify trusts only the keys its caller passes.
 *  - Verification streams the records in seq order and walks the
 *    checkpoints (held in memory, sorted by count) in step with them.
 *
 * Invariants:
 *  1. after a successful append the records are 1..n without gaps and
 *     hash[k] = H(hash[k-1] || canonical(k)) for the appended ones;
 *  2. last_cp is never more than the count of a checkpoint in the database
 *     (it may lag when another process signed one).
 *
 * Thread safety: see audit.h; last_cp is guarded by 'lock'. */
#include "audit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "mem.h"

static const unsigned char RECORD_TAG[8] = {'T', 'K', 'A', 'U',
                                            'D', 'I', 'T', '1'};
static const unsigned char CHECKPOINT_TAG[8] = {'T', 'K', 'C', 'K',
                                                'P', 'T', '0', '1'};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static void sodium_start(void) {
  if (sodium_init() < 0)
    abort(); /* no usable randomness or CPU support: nothing is safe */
}

struct audit {
  struct secstore *ss;
  const struct privacy_keys *keys;
  unsigned every;
  pthread_mutex_t lock;
  int64_t last_cp;  /* count of the last checkpoint known here */
  int64_t last_seq; /* seq of the last record known here */
};

/* ---- the construction --------------------------------------------------- */

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 3; i >= 0; i--) {
    p[i] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
}

static void hash_field(crypto_generichash_state *st, const char *s) {
  unsigned char len[4];
  size_t n = s != NULL ? strlen(s) : 0;
  put_u32(len, (uint32_t)n);
  crypto_generichash_update(st, len, sizeof len);
  if (n > 0)
    crypto_generichash_update(st, (const unsigned char *)s, n);
}

void audit_record_hash(const unsigned char prev[AUDIT_HASH_BYTES],
                       const struct secstore_audit_row *r,
                       unsigned char out[AUDIT_HASH_BYTES]) {
  crypto_generichash_state st;
  unsigned char num[16];
  pthread_once(&sodium_once, sodium_start);
  crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
  crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
  crypto_generichash_update(&st, RECORD_TAG, sizeof RECORD_TAG);
  put_u64(num, (uint64_t)r->seq);
  put_u64(num + 8, (uint64_t)r->at_ms);
  crypto_generichash_update(&st, num, sizeof num);
  hash_field(&st, r->user);
  hash_field(&st, r->role);
  hash_field(&st, r->action);
  hash_field(&st, r->subject);
  hash_field(&st, r->unit);
  hash_field(&st, r->reason);
  hash_field(&st, r->address);
  hash_field(&st, r->request_id);
  crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

size_t audit_checkpoint_message(const struct secstore_checkpoint *cp,
                                unsigned char *out, size_t cap) {
  size_t klen = strnlen(cp->kind, sizeof cp->kind);
  size_t n = 8 + 8 + AUDIT_HASH_BYTES + 8 + 4 + klen;
  if (n > cap)
    return 0;
  memcpy(out, CHECKPOINT_TAG, 8);
  put_u64(out + 8, (uint64_t)cp->count);
  memcpy(out + 16, cp->head, AUDIT_HASH_BYTES);
  put_u64(out + 16 + AUDIT_HASH_BYTES, (uint64_t)cp->at_ms);
  put_u32(out + 24 + AUDIT_HASH_BYTES, (uint32_t)klen);
  memcpy(out + 28 + AUDIT_HASH_BYTES, cp->kind, klen);
  return n;
}

void audit_hex(const unsigned char *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ---- opening, appending, checkpoints ------------------------------------ */

int audit_open(struct secstore *ss, const struct privacy_keys *keys,
               unsigned checkpoint_every, struct audit **out,
               struct error *err) {
  struct audit *a;
  struct secstore_checkpoint cp;
  unsigned char head[AUDIT_HASH_BYTES];
  int64_t seq = 0;
  int rc;
  if (ss == NULL)
    return error_set(err, ERR_INVAL, "audit log needs a security database");
  pthread_once(&sodium_once, sodium_start);
  rc = secstore_audit_last(ss, &seq, head, err);
  if (rc < 0)
    return rc;
  a = mem_calloc(1, sizeof *a);
  a->ss = ss;
  a->keys = keys;
  a->every = checkpoint_every;
  a->last_seq = seq;
  pthread_mutex_init(&a->lock, NULL);
  rc = secstore_checkpoint_last(ss, &cp, err);
  if (rc == 0)
    a->last_cp = cp.count;
  else if (rc != ERR_NOTFOUND) {
    audit_free(a);
    return rc;
  }
  error_clear(err);
  *out = a;
  return 0;
}

void audit_free(struct audit *a) {
  if (a == NULL)
    return;
  pthread_mutex_destroy(&a->lock);
  mem_free(a);
}

/* Checks one field: at most 'max' bytes, no control characters. */
static int check_field(const char *v, size_t max, const char *name,
                       struct error *err) {
  size_t n;
  if (v == NULL)
    return 0;
  n = strlen(v);
  if (n > max)
    return error_set(err, ERR_TOOBIG, "audit %s is longer than %zu bytes", name,
                     max);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c == 0x7f)
      return error_set(err, ERR_INVAL, "audit %s holds a control character",
                       name);
  }
  return 0;
}

static int check_entry(const struct audit_entry *e, struct error *err) {
  int rc = check_field(e->user, AUDIT_USER_MAX, "user", err);
  if (rc == 0)
    rc = check_field(e->role, AUDIT_ROLE_MAX, "role", err);
  if (rc == 0)
    rc = check_field(e->action, AUDIT_ACTION_MAX, "action", err);
  if (rc == 0)
    rc = check_field(e->subject, AUDIT_SUBJECT_MAX, "subject", err);
  if (rc == 0)
    rc = check_field(e->unit, AUDIT_UNIT_MAX, "unit", err);
  if (rc == 0)
    rc = check_field(e->reason, AUDIT_REASON_MAX, "reason", err);
  if (rc == 0)
    rc = check_field(e->address, AUDIT_ADDRESS_MAX, "address", err);
  if (rc == 0)
    rc = check_field(e->request_id, AUDIT_REQUEST_ID_MAX, "request id", err);
  if (rc == 0 && (e->user == NULL || e->user[0] == '\0'))
    rc = error_set(err, ERR_INVAL, "audit record without a user");
  if (rc == 0 && (e->action == NULL || e->action[0] == '\0'))
    rc = error_set(err, ERR_INVAL, "audit record without an action");
  return rc;
}

/* Signs and stores a checkpoint of (count, head). Inside a transaction. */
static int sign_checkpoint(struct audit *a, int64_t count,
                           const unsigned char head[AUDIT_HASH_BYTES],
                           const char *kind, int64_t now_ms,
                           struct secstore_checkpoint *cp, struct error *err) {
  unsigned char msg[AUDIT_CHECKPOINT_MSG_MAX];
  size_t n;
  memset(cp, 0, sizeof *cp);
  cp->at_ms = now_ms;
  cp->count = count;
  memcpy(cp->head, head, AUDIT_HASH_BYTES);
  snprintf(cp->kind, sizeof cp->kind, "%s", kind);
  n = audit_checkpoint_message(cp, msg, sizeof msg);
  if (n == 0)
    return error_set(err, ERR_INVAL, "bad checkpoint kind");
  privacy_sign(a->keys, msg, n, cp->signature);
  privacy_sign_public(a->keys, cp->public_key);
  return secstore_checkpoint_add(a->ss, cp, &cp->id, err);
}

int audit_checkpoint(struct audit *a, const char *kind, int64_t now_ms,
                     bool *made, struct secstore_checkpoint *out,
                     struct error *err) {
  struct secstore_checkpoint cp, last;
  unsigned char head[AUDIT_HASH_BYTES];
  int64_t seq = 0, covered = -1;
  bool periodic;
  int rc;
  if (a->keys == NULL)
    return error_set(err, ERR_STATE, "no signing key for audit checkpoints");
  if (kind == NULL || kind[0] == '\0' || strlen(kind) >= SECSTORE_KIND_MAX)
    return error_set(err, ERR_INVAL, "bad checkpoint kind");
  periodic = strcmp(kind, "periodic") == 0;
  rc = secstore_begin(a->ss, err);
  if (rc < 0)
    return rc;
  rc = secstore_audit_last(a->ss, &seq, head, err);
  if (rc < 0)
    goto fail;
  rc = secstore_checkpoint_last(a->ss, &last, err);
  if (rc == 0)
    covered = last.count;
  else if (rc != ERR_NOTFOUND)
    goto fail;
  if (periodic && covered == seq && rc == 0) {
    secstore_rollback(a->ss);
    pthread_mutex_lock(&a->lock);
    a->last_cp = seq;
    a->last_seq = seq;
    pthread_mutex_unlock(&a->lock);
    if (made != NULL)
      *made = false;
    error_clear(err);
    return 0;
  }
  rc = sign_checkpoint(a, seq, head, kind, now_ms, &cp, err);
  if (rc < 0)
    goto fail;
  rc = secstore_commit(a->ss, err);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&a->lock);
  a->last_cp = seq;
  a->last_seq = seq;
  pthread_mutex_unlock(&a->lock);
  if (made != NULL)
    *made = true;
  if (out != NULL)
    *out = cp;
  return 0;
fail:
  secstore_rollback(a->ss);
  return rc;
}

int64_t audit_unsigned(struct audit *a) {
  int64_t n;
  pthread_mutex_lock(&a->lock);
  n = a->last_seq - a->last_cp;
  pthread_mutex_unlock(&a->lock);
  return n > 0 ? n : 0;
}

int audit_append(struct audit *a, const struct audit_entry *e, size_t n,
                 int64_t *last_seq, struct error *err) {
  unsigned char prev[AUDIT_HASH_BYTES];
  int64_t seq = 0, now = 0;
  bool due;
  int rc;
  if (n == 0 || n > AUDIT_BATCH_MAX)
    return error_set(err, ERR_INVAL, "audit batch of %zu records", n);
  for (size_t i = 0; i < n; i++) {
    rc = check_entry(&e[i], err);
    if (rc < 0)
      return rc;
    if (e[i].at_ms == 0 && now == 0)
      now = chrono_now_ms();
  }
  rc = secstore_begin(a->ss, err);
  if (rc < 0)
    return rc;
  rc = secstore_audit_last(a->ss, &seq, prev, err);
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct secstore_audit_row r;
    memset(&r, 0, sizeof r);
    r.seq = ++seq;
    r.at_ms = e[i].at_ms != 0 ? e[i].at_ms : now;
    r.user = e[i].user;
    r.role = e[i].role;
    r.action = e[i].action;
    r.subject = e[i].subject;
    r.unit = e[i].unit;
    r.reason = e[i].reason;
    r.address = e[i].address;
    r.request_id = e[i].request_id;
    audit_record_hash(prev, &r, r.hash);
    rc = secstore_audit_insert(a->ss, &r, err);
    memcpy(prev, r.hash, sizeof prev);
  }
  if (rc < 0) {
    secstore_rollback(a->ss);
    return rc;
  }
  rc = secstore_commit(a->ss, err);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&a->lock);
  a->last_seq = seq;
  due =
      a->keys != NULL && a->every > 0 && seq - a->last_cp >= (int64_t)a->every;
  pthread_mutex_unlock(&a->lock);
  if (due) {
    struct error ignored;
    /* The records are durable; a failed signature is retried by the next
     * checkpoint, which covers them too. */
    if (audit_checkpoint(a, "periodic", chrono_now_ms(), NULL, NULL, &ignored) <
        0) {
      /* nothing more to do here */
    }
  }
  if (last_seq != NULL)
    *last_seq = seq;
  return 0;
}

/* ---- verification ------------------------------------------------------- */

struct vcp {
  int64_t count, at_ms, id;
  unsigned char head[AUDIT_HASH_BYTES];
  bool valid;
};

struct vctx {
  const unsigned char (*trusted)[PRIVACY_SIGN_PUBLIC_BYTES];
  size_t ntrusted;
  struct vcp *cps;
  size_t ncps, cap;
  bool toobig;
  /* the walk */
  size_t next;      /* next valid checkpoint to meet (index into cps) */
  int64_t expected; /* the seq the next record must have */
  int64_t good_cp;  /* count of the last checkpoint that matched */
  unsigned char prev[AUDIT_HASH_BYTES];
  const struct audit_expect *expect;
  bool expect_met;
  int64_t bad;
  char problem[256];
};

static void fmt_time(int64_t ms, char out[32]) { chrono_format_iso(ms, out); }

static bool signature_valid(const struct vctx *v,
                            const struct secstore_checkpoint *cp) {
  unsigned char msg[AUDIT_CHECKPOINT_MSG_MAX];
  size_t n = audit_checkpoint_message(cp, msg, sizeof msg);
  if (n == 0)
    return false;
  for (size_t i = 0; i < v->ntrusted; i++)
    if (privacy_verify(v->trusted[i], msg, n, cp->signature))
      return true;
  return false;
}

static int collect_checkpoint(void *ctx, const struct secstore_checkpoint *cp) {
  struct vctx *v = ctx;
  struct vcp *c;
  if (v->ncps == v->cap) {
    if (v->cap >= AUDIT_VERIFY_MAX_CHECKPOINTS) {
      v->toobig = true;
      return 1;
    }
    v->cap = v->cap == 0 ? 64 : v->cap * 2;
    v->cps = mem_realloc(v->cps, v->cap * sizeof *v->cps);
  }
  c = &v->cps[v->ncps++];
  c->count = cp->count;
  c->at_ms = cp->at_ms;
  c->id = cp->id;
  memcpy(c->head, cp->head, AUDIT_HASH_BYTES);
  c->valid = cp->count >= 0 && signature_valid(v, cp);
  return 0;
}

/* Records the first break (the lowest position wins). */
static void broken(struct vctx *v, int64_t pos, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
static void broken(struct vctx *v, int64_t pos, const char *fmt, ...) {
  va_list ap;
  if (v->bad != 0 && v->bad <= pos)
    return;
  v->bad = pos;
  va_start(ap, fmt);
  vsnprintf(v->problem, sizeof v->problem, fmt, ap);
  va_end(ap);
}

/* Compares the chain at 'seq' (v->prev) with the checkpoints at 'seq'. */
static bool meet_checkpoints(struct vctx *v, int64_t seq) {
  while (v->next < v->ncps && v->cps[v->next].count <= seq) {
    const struct vcp *c = &v->cps[v->next++];
    char when[32];
    if (!c->valid || c->count < seq)
      continue;
    if (sodium_memcmp(c->head, v->prev, AUDIT_HASH_BYTES) != 0) {
      fmt_time(c->at_ms, when);
      broken(v, v->good_cp + 1,
             "records %lld..%lld do not match the checkpoint signed at %s "
             "(rewritten)",
             (long long)(v->good_cp + 1), (long long)seq, when);
      return false;
    }
    v->good_cp = seq;
  }
  if (v->expect != NULL && v->expect->count == seq) {
    v->expect_met = true;
    if (sodium_memcmp(v->expect->head, v->prev, AUDIT_HASH_BYTES) != 0) {
      broken(v, 1,
             "the chain at record %lld does not match the expected head "
             "(rewritten)",
             (long long)seq);
      return false;
    }
  }
  return true;
}

static int verify_row(void *ctx, const struct secstore_audit_row *r) {
  struct vctx *v = ctx;
  unsigned char h[AUDIT_HASH_BYTES];
  if (r->seq != v->expected) {
    if (r->seq > v->expected)
      broken(v, v->expected,
             "record %lld is missing (deleted; the log jumps to %lld)",
             (long long)v->expected, (long long)r->seq);
    else
      broken(v, v->expected, "record %lld is out of order", (long long)r->seq);
    return 1;
  }
  audit_record_hash(v->prev, r, h);
  if (sodium_memcmp(h, r->hash, AUDIT_HASH_BYTES) != 0) {
    broken(v, r->seq,
           "record %lld does not match the chain (modified, inserted, "
           "deleted or moved)",
           (long long)r->seq);
    return 1;
  }
  memcpy(v->prev, h, AUDIT_HASH_BYTES);
  if (!meet_checkpoints(v, r->seq))
    return 1;
  v->expected++;
  return 0;
}

static int cmp_vcp(const void *x, const void *y) {
  const struct vcp *a = x, *b = y;
  if (a->count != b->count)
    return a->count < b->count ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

int audit_verify(struct secstore *ss,
                 const unsigned char (*trusted)[PRIVACY_SIGN_PUBLIC_BYTES],
                 size_t ntrusted, const struct audit_expect *expect,
                 struct audit_verdict *out, struct error *err) {
  struct vctx v;
  struct audit_verdict res;
  int64_t records, valid = 0, last_valid_count = -1;
  int rc;
  pthread_once(&sodium_once, sodium_start);
  memset(&v, 0, sizeof v);
  v.trusted = trusted;
  v.ntrusted = ntrusted;
  v.expected = 1;
  v.expect = expect;
  rc = secstore_checkpoint_list(ss, collect_checkpoint, &v, err);
  if (v.toobig)
    rc = error_set(err, ERR_TOOBIG, "more than %d checkpoints",
                   AUDIT_VERIFY_MAX_CHECKPOINTS);
  if (rc < 0)
    goto out;
  if (v.ncps > 1)
    qsort(v.cps, v.ncps, sizeof *v.cps, cmp_vcp);
  for (size_t i = 0; i < v.ncps; i++) {
    if (!v.cps[i].valid) {
      char when[32];
      fmt_time(v.cps[i].at_ms, when);
      broken(&v, v.cps[i].count > 0 ? v.cps[i].count : 1,
             "checkpoint %lld (signed at %s, %lld records) has no valid "
             "signature from a trusted key (forged or altered)",
             (long long)v.cps[i].id, when, (long long)v.cps[i].count);
    } else {
      valid++;
      last_valid_count = v.cps[i].count;
    }
  }
  /* The empty log's head is the zero hash. */
  if (!meet_checkpoints(&v, 0))
    goto done;
  rc = secstore_audit_scan(ss, 1, verify_row, &v, err);
  if (rc < 0)
    goto out;
  rc = 0;
done:
  records = v.expected - 1;
  if (v.bad == 0 && last_valid_count > records) {
    char when[32];
    int64_t at = 0;
    for (size_t i = 0; i < v.ncps; i++)
      if (v.cps[i].valid && v.cps[i].count == last_valid_count)
        at = v.cps[i].at_ms;
    fmt_time(at, when);
    broken(&v, records + 1,
           "the log ends at record %lld but the checkpoint signed at %s "
           "covers %lld records (cut tail)",
           (long long)records, when, (long long)last_valid_count);
  }
  if (v.bad == 0 && expect != NULL && !v.expect_met) {
    broken(&v, records + 1,
           "the log ends at record %lld but the expected checkpoint covers "
           "%lld records (cut tail)",
           (long long)records, (long long)expect->count);
  }
  memset(&res, 0, sizeof res);
  res.ok = v.bad == 0;
  res.records = records;
  res.checkpoints = valid;
  res.covered = v.good_cp;
  res.first_bad = v.bad;
  snprintf(res.problem, sizeof res.problem, "%s", v.problem);
  if (res.ok)
    memcpy(res.head, v.prev, AUDIT_HASH_BYTES);
  *out = res;
out:
  mem_free(v.cps);
  return rc;
}

/* ---- queries ------------------------------------------------------------ */

int audit_who_viewed(struct secstore *ss, const struct privacy_keys *keys,
                     const char *id, size_t len, secstore_audit_fn fn,
                     void *ctx, struct error *err) {
  char pseudo[PRIVACY_PSEUDONYM_HEX];
  if (keys == NULL || id == NULL || len == 0)
    return error_set(err, ERR_INVAL, "who-viewed needs keys and a code");
  privacy_pseudonym(keys, "person", id, len, pseudo);
  return secstore_audit_by_subject(ss, pseudo, fn, ctx, err);
}

int audit_user_activity(struct secstore *ss, const char *user,
                        secstore_audit_fn fn, void *ctx, struct error *err) {
  if (user == NULL || user[0] == '\0')
    return error_set(err, ERR_INVAL, "user-activity needs a user");
  return secstore_audit_by_user(ss, user, fn, ctx, err);
}

/* "2026-11-23 15:20:01 +02:00" in Europe/Helsinki. */
static void local_time(int64_t ms, char out[40]) {
  struct chrono_local l;
  char date[11];
  int off;
  chrono_to_local(ms, &l);
  chrono_format_date(l.day, date);
  off = l.utc_offset_min;
  snprintf(out, 40, "%s %02d:%02d:%02d %c%02d:%02d", date, l.hour, l.minute,
           l.second, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
}

static const char *dash(const char *s) {
  return s != NULL && s[0] != '\0' ? s : "-";
}

int audit_row_text(const struct secstore_audit_row *r, struct buf *out) {
  char when[40];
  local_time(r->at_ms, when);
  return buf_printf(out,
                    "%s  #%lld  %s (%s)  %s  unit %s  subject %s  reason %s  "
                    "from %s  request %s\n",
                    when, (long long)r->seq, dash(r->user), dash(r->role),
                    dash(r->action), dash(r->unit), dash(r->subject),
                    dash(r->reason), dash(r->address), dash(r->request_id));
}

int audit_csv_header(struct buf *out) {
  return buf_puts(out, "seq,time_utc,time_local,user,role,action,subject,"
                       "unit,reason,address,request_id\r\n");
}

static int csv_field(struct buf *out, const char *s, bool last) {
  int rc = 0;
  bool quote = false;
  if (s == NULL)
    s = "";
  for (const char *p = s; *p != '\0'; p++)
    if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
      quote = true;
  if (quote)
    rc = buf_putc(out, '"');
  if (rc == 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                  s[0] == '\t'))
    rc = buf_putc(out, '\'');
  for (const char *p = s; *p != '\0' && rc == 0; p++) {
    if (*p == '"')
      rc = buf_putc(out, '"');
    if (rc == 0)
      rc = buf_putc(out, *p);
  }
  if (rc == 0 && quote)
    rc = buf_putc(out, '"');
  if (rc == 0)
    rc = last ? buf_puts(out, "\r\n") : buf_putc(out, ',');
  return rc;
}

int audit_row_csv(const struct secstore_audit_row *r, struct buf *out) {
  char seq[24], utc[32], local[40];
  int rc;
  snprintf(seq, sizeof seq, "%lld", (long long)r->seq);
  chrono_format_iso(r->at_ms, utc);
  local_time(r->at_ms, local);
  rc = csv_field(out, seq, false);
  if (rc == 0)
    rc = csv_field(out, utc, false);
  if (rc == 0)
    rc = csv_field(out, local, false);
  if (rc == 0)
    rc = csv_field(out, r->user, false);
  if (rc == 0)
    rc = csv_field(out, r->role, false);
  if (rc == 0)
    rc = csv_field(out, r->action, false);
  if (rc == 0)
    rc = csv_field(out, r->subject, false);
  if (rc == 0)
    rc = csv_field(out, r->unit, false);
  if (rc == 0)
    rc = csv_field(out, r->reason, false);
  if (rc == 0)
    rc = csv_field(out, r->address, false);
  if (rc == 0)
    rc = csv_field(out, r->request_id, true);
  return rc;
}
