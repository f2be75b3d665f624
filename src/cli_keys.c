/* cli_keys.c -- `tilannekuva keys status|rotate|prune`: the payload
 * encryption keys of a data directory (cli_keys.h).
 *
 * Design. Every raw message and dead letter is stored sealed (privacy.h)
 * with the additional data "<channel>|<source_key>" of its row, under the
 * key id the sealed bytes name. A rotation is:
 *
 *   1. privacy_keys_rotate: a new key becomes current in the key file
 *      (atomic rename, fsynced) -- before anything is sealed under it;
 *   2. the marker meta['keys.rotation'] = "TARGET MSG_AFTER DL_AFTER" is
 *      stored (TARGET: the new key id; *_AFTER: the highest row id done);
 *   3. messages, then dead letters, in id order, BATCH rows per write
 *      transaction: each payload not under TARGET is opened and sealed
 *      again under it (privacy_reseal) and replaced in place, and the
 *      marker's cursor moves in the same transaction;
 *   4. the marker is cleared (meta value "") and the WAL checkpointed and
 *      truncated. The store is opened with STORE_SECURE_DELETE, so the
 *      replaced ciphertexts are zeroed in the database file, not left in
 *      free space.
 *
 * Invariants:
 *  1. every stored payload is sealed under a key in the key file: old keys
 *     are never removed by rotate, the new key is durable in the key file
 *     before the first payload is sealed under it, and a batch's payloads
 *     and cursor commit together. A crash (or kill -9) at any point leaves
 *     every payload readable; running rotate again resumes from the cursor
 *     when TARGET is still the current key, or starts over towards the
 *     current key otherwise (rows already under it are skipped), and adds no
 *     key while a marker is set;
 *  2. rotate and prune hold DIR/lock (flock, as ingest_open), so no server,
 *     import or replay seals anything meanwhile with keys loaded earlier;
 *  3. prune removes keys only after a scan of every payload, under that
 *     lock, found all of them under the current key, and privacy_keys_prune
 *     refuses if the current key changed in between.
 *
 * Output carries ids, counts and key ids only: never a payload.
 *
 * Thread safety: none needed (main's thread). */
#include "cli_keys.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "chrono.h"
#include "ingest.h"
#include "mem.h"
#include "privacy.h"
#include "store.h"

#define BATCH_DEFAULT 500
#define BATCH_MAX 100000
#define BATCH_BYTES_MAX (32u << 20) /* resealed bytes held per transaction */
#define KEY_IDS_MAX 4096            /* distinct key ids counted by status */
#define META_ROTATION "keys.rotation"
#define MARKER_MAX 96
#define AD_MAX (EVENT_ID_MAX + EVENT_KEY_MAX + 2)
#define PROGRESS_MS 5000

static const char *const kind_name[2] = {"messages", "dead letters"};

/* ---- small helpers ------------------------------------------------------ */

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mem_alloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static size_t make_ad(char ad[AD_MAX], const struct store_payload_row *row) {
  int n = snprintf(ad, AD_MAX, "%s|%s", row->channel, row->source_key);
  return n < 0 ? 0 : (size_t)n;
}

/* Takes the data directory's lock as ingest_open does; *fd_out holds it
 * until closed. */
static int lock_dir(const char *dir, int *fd_out, struct error *err) {
  char *p = join(dir, INGEST_DB_FILE);
  int fd, rc = 0;
  if (access(p, F_OK) != 0) {
    rc = error_set(err, ERR_NOTFOUND, "'%s' is not a data directory (no %s)",
                   dir, INGEST_DB_FILE);
    mem_free(p);
    return rc;
  }
  mem_free(p);
  p = join(dir, INGEST_LOCK_FILE);
  fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = error_set(err, ERR_IO, "cannot open '%s': %s", p, strerror(errno));
  } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    rc = errno == EWOULDBLOCK
             ? error_set(err, ERR_STATE,
                         "data directory '%s' is in use by another process "
                         "(a server, import or replay): stop it first",
                         dir)
             : error_set(err, ERR_IO, "cannot lock '%s': %s", p,
                         strerror(errno));
    close(fd);
  } else {
    *fd_out = fd;
  }
  mem_free(p);
  return rc;
}

/* ---- the rotation marker ------------------------------------------------ */

struct marker {
  bool active;
  uint32_t target;
  int64_t after[2]; /* by enum store_payload_kind */
};

static int marker_read(struct store *st, struct marker *m, struct error *err) {
  char v[MARKER_MAX];
  bool found = false;
  unsigned long long t;
  long long a, b;
  char extra;
  int rc = store_meta_get(st, META_ROTATION, v, sizeof v, &found, err);
  if (rc < 0)
    return rc;
  memset(m, 0, sizeof *m);
  if (!found || v[0] == '\0')
    return 0;
  if (sscanf(v, "%llu %lld %lld %c", &t, &a, &b, &extra) != 3 || t == 0 ||
      t > UINT32_MAX || a < 0 || b < 0)
    return error_set(err, ERR_PARSE, "meta '%s' is malformed: '%s'",
                     META_ROTATION, v);
  m->active = true;
  m->target = (uint32_t)t;
  m->after[STORE_PAYLOAD_MESSAGE] = a;
  m->after[STORE_PAYLOAD_DEAD_LETTER] = b;
  return 0;
}

static int marker_write(struct store *st, const struct marker *m,
                        struct error *err) {
  char v[MARKER_MAX] = "";
  if (m->active)
    snprintf(v, sizeof v, "%u %" PRId64 " %" PRId64, (unsigned)m->target,
             m->after[STORE_PAYLOAD_MESSAGE],
             m->after[STORE_PAYLOAD_DEAD_LETTER]);
  return store_meta_put(st, META_ROTATION, v, err);
}

/* ---- counting payloads by key id ----------------------------------------- */

struct key_count {
  uint32_t id;
  int64_t n[2];
};

struct census {
  struct key_count *ids;
  size_t nids;
  int64_t unreadable[2]; /* no sealed header, or too many distinct ids */
  int64_t total[2];
};

static int census_cb(void *ctx, const struct store_payload_row *row) {
  struct census *c = ctx;
  uint32_t id = 0;
  size_t i;
  c->total[row->kind]++;
  if (privacy_sealed_key_id(row->sealed, row->sealed_len, &id, NULL) < 0) {
    c->unreadable[row->kind]++;
    return 0;
  }
  for (i = 0; i < c->nids; i++) {
    if (c->ids[i].id == id) {
      c->ids[i].n[row->kind]++;
      return 0;
    }
  }
  if (c->nids >= KEY_IDS_MAX) {
    c->unreadable[row->kind]++;
    return 0;
  }
  /* Grown one at a time only up to KEY_IDS_MAX; ids are few in practice. */
  c->ids = mem_realloc(c->ids, (c->nids + 1) * sizeof c->ids[0]);
  memset(&c->ids[c->nids], 0, sizeof c->ids[0]);
  c->ids[c->nids].id = id;
  c->ids[c->nids].n[row->kind] = 1;
  c->nids++;
  return 0;
}

static int cmp_count(const void *a, const void *b) {
  const struct key_count *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/* Counts every payload by key id in one snapshot, and reads the marker. */
static int census_take(struct store *st, struct census *c, struct marker *m,
                       struct error *err) {
  int rc;
  memset(c, 0, sizeof *c);
  rc = store_begin(st, err);
  if (rc < 0)
    return rc;
  rc = store_payloads_scan(st, STORE_PAYLOAD_MESSAGE, 0, 0, census_cb, c, err);
  if (rc == 0)
    rc = store_payloads_scan(st, STORE_PAYLOAD_DEAD_LETTER, 0, 0, census_cb, c,
                             err);
  if (rc == 0)
    rc = marker_read(st, m, err);
  store_rollback(st);
  if (c->nids > 1)
    qsort(c->ids, c->nids, sizeof c->ids[0], cmp_count);
  return rc;
}

static void census_release(struct census *c) {
  mem_free(c->ids);
  c->ids = NULL;
  c->nids = 0;
}

/* Payloads not under key 'current' (unreadable ones included). */
static int64_t census_other(const struct census *c, uint32_t current) {
  int64_t n = c->unreadable[0] + c->unreadable[1];
  size_t i;
  for (i = 0; i < c->nids; i++) {
    if (c->ids[i].id != current)
      n += c->ids[i].n[0] + c->ids[i].n[1];
  }
  return n;
}

/* ---- status ------------------------------------------------------------- */

static void print_status_text(const char *kp, const struct privacy_keys *keys,
                              const struct census *c, const struct marker *m) {
  uint32_t cur = privacy_keys_current_id(keys);
  size_t i, n = privacy_keys_count(keys);
  int64_t other = census_other(c, cur);
  printf("key file: %s\n", kp);
  printf("encryption keys:");
  for (i = 0; i < n; i++)
    printf(" %u", (unsigned)privacy_keys_id_at(keys, i));
  printf("\ncurrent key: %u\n", (unsigned)cur);
  printf("payloads: %" PRId64 " messages, %" PRId64 " dead letters\n",
         c->total[0], c->total[1]);
  for (i = 0; i < c->nids; i++) {
    const struct key_count *k = &c->ids[i];
    printf("  key %u: %" PRId64 " messages, %" PRId64 " dead letters%s\n",
           (unsigned)k->id, k->n[0], k->n[1],
           k->id == cur                     ? " (current)"
           : !privacy_keys_has(keys, k->id) ? " (NOT IN THE KEY FILE: these "
                                              "cannot be opened)"
                                            : "");
  }
  if (c->unreadable[0] + c->unreadable[1] > 0)
    printf("  unreadable header: %" PRId64 " messages, %" PRId64
           " dead letters\n",
           c->unreadable[0], c->unreadable[1]);
  if (m->active)
    printf("rotation: unfinished, towards key %u (messages done up to id "
           "%" PRId64 ", dead letters up to id %" PRId64
           "): run 'tilannekuva keys rotate' to finish it\n",
           (unsigned)m->target, m->after[0], m->after[1]);
  else
    printf("rotation: none unfinished\n");
  printf("under older keys: %" PRId64 " payloads%s\n", other,
         other == 0 && n > 1 ? "; 'tilannekuva keys prune' may remove the "
                               "older keys"
                             : "");
}

static void print_status_json(const struct privacy_keys *keys,
                              const struct census *c, const struct marker *m) {
  uint32_t cur = privacy_keys_current_id(keys);
  size_t i, n = privacy_keys_count(keys);
  printf("{\"current\":%u,\"keys\":[", (unsigned)cur);
  for (i = 0; i < n; i++)
    printf("%s%u", i ? "," : "", (unsigned)privacy_keys_id_at(keys, i));
  printf("],\"messages\":%" PRId64 ",\"dead_letters\":%" PRId64 ",\"by_key\":[",
         c->total[0], c->total[1]);
  for (i = 0; i < c->nids; i++)
    printf("%s{\"key\":%u,\"messages\":%" PRId64 ",\"dead_letters\":%" PRId64
           ",\"in_key_file\":%s}",
           i ? "," : "", (unsigned)c->ids[i].id, c->ids[i].n[0], c->ids[i].n[1],
           privacy_keys_has(keys, c->ids[i].id) ? "true" : "false");
  printf("],\"unreadable\":{\"messages\":%" PRId64 ",\"dead_letters\":%" PRId64
         "},\"under_older_keys\":%" PRId64 ",\"rotation\":",
         c->unreadable[0], c->unreadable[1], census_other(c, cur));
  if (m->active)
    printf("{\"target\":%u,\"messages_after\":%" PRId64
           ",\"dead_letters_after\":%" PRId64 "}",
           (unsigned)m->target, m->after[0], m->after[1]);
  else
    printf("null");
  printf("}\n");
}

static int keys_status(const char *dir, bool json, struct error *err) {
  char *kp = join(dir, INGEST_KEY_FILE), *dbp = join(dir, INGEST_DB_FILE);
  struct privacy_keys *keys = NULL;
  struct store *st = NULL;
  struct census c;
  struct marker m;
  int rc;
  memset(&c, 0, sizeof c);
  rc = privacy_keys_load(kp, &keys, err);
  if (rc == 0)
    rc = store_open(dbp, STORE_READONLY, &st, err);
  if (rc == 0)
    rc = census_take(st, &c, &m, err);
  if (rc == 0) {
    if (json)
      print_status_json(keys, &c, &m);
    else
      print_status_text(kp, keys, &c, &m);
  }
  census_release(&c);
  store_close(st);
  privacy_keys_free(keys);
  mem_free(kp);
  mem_free(dbp);
  return rc;
}

/* ---- verify ------------------------------------------------------------- */

#define VERIFY_REPORT_MAX 20 /* failures printed one by one */

struct verify {
  const struct privacy_keys *keys;
  int64_t ok[2], failed[2];
};

static int verify_cb(void *ctx, const struct store_payload_row *row) {
  struct verify *v = ctx;
  struct error oerr;
  unsigned char *plain = NULL;
  size_t plen = 0;
  char ad[AD_MAX];
  size_t adl = make_ad(ad, row);
  error_clear(&oerr);
  if (privacy_open_alloc(v->keys, row->sealed, row->sealed_len, ad, adl, &plain,
                         &plen, &oerr) < 0) {
    if (v->failed[0] + v->failed[1] < VERIFY_REPORT_MAX)
      fprintf(stderr, "tilannekuva keys: %s %" PRId64 " does not open: %s\n",
              row->kind == STORE_PAYLOAD_MESSAGE ? "message" : "dead letter",
              row->id, oerr.msg);
    v->failed[row->kind]++;
    return 0;
  }
  sodium_memzero(plain, plen);
  mem_free(plain);
  v->ok[row->kind]++;
  return 0;
}

static int keys_verify(const char *dir, int *exit_code, struct error *err) {
  char *kp = join(dir, INGEST_KEY_FILE), *dbp = join(dir, INGEST_DB_FILE);
  struct privacy_keys *keys = NULL;
  struct store *st = NULL;
  struct verify v;
  int rc;
  memset(&v, 0, sizeof v);
  rc = privacy_keys_load(kp, &keys, err);
  if (rc == 0)
    rc = store_open(dbp, STORE_READONLY, &st, err);
  if (rc == 0)
    rc = store_begin(st, err);
  if (rc < 0)
    goto out;
  v.keys = keys;
  rc = store_payloads_scan(st, STORE_PAYLOAD_MESSAGE, 0, 0, verify_cb, &v, err);
  if (rc == 0)
    rc = store_payloads_scan(st, STORE_PAYLOAD_DEAD_LETTER, 0, 0, verify_cb, &v,
                             err);
  store_rollback(st);
  if (rc < 0)
    goto out;
  printf("messages: %" PRId64 " open, %" PRId64 " do not\n", v.ok[0],
         v.failed[0]);
  printf("dead letters: %" PRId64 " open, %" PRId64 " do not\n", v.ok[1],
         v.failed[1]);
  if (v.failed[0] + v.failed[1] > 0)
    *exit_code = 1;
out:
  store_close(st);
  privacy_keys_free(keys);
  mem_free(kp);
  mem_free(dbp);
  return rc;
}

/* ---- rotate ------------------------------------------------------------- */

struct resealed {
  int64_t id;
  unsigned char *sealed;
  size_t len;
};

struct batch {
  const struct privacy_keys *keys;
  uint32_t target;
  struct resealed *rows;
  size_t n, cap, bytes;
  int64_t last_id;
  int64_t scanned, already, failed;
};

static int batch_cb(void *ctx, const struct store_payload_row *row) {
  struct batch *b = ctx;
  struct resealed *r;
  struct error rerr;
  char ad[AD_MAX];
  uint32_t id = 0;
  size_t adl;
  b->last_id = row->id;
  b->scanned++;
  if (privacy_sealed_key_id(row->sealed, row->sealed_len, &id, NULL) == 0 &&
      id == b->target) {
    b->already++;
    return 0;
  }
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 64;
    b->rows = mem_realloc(b->rows, b->cap * sizeof b->rows[0]);
  }
  r = &b->rows[b->n];
  r->id = row->id;
  r->sealed = mem_alloc(row->sealed_len);
  r->len = 0;
  adl = make_ad(ad, row);
  error_clear(&rerr);
  if (privacy_reseal(b->keys, row->sealed, row->sealed_len, ad, adl, r->sealed,
                     row->sealed_len, &r->len, &rerr) < 0) {
    /* Left as it is, under its old key; reported, never lost. */
    fprintf(stderr,
            "tilannekuva keys: cannot re-encrypt %s %" PRId64
            " (stays under key %u): %s\n",
            row->kind == STORE_PAYLOAD_MESSAGE ? "message" : "dead letter",
            row->id, (unsigned)id, rerr.msg);
    mem_free(r->sealed);
    b->failed++;
    return 0;
  }
  b->n++;
  b->bytes += r->len;
  return b->bytes >= BATCH_BYTES_MAX ? 1 : 0; /* 1: stop after this row */
}

static void batch_clear(struct batch *b) {
  size_t i;
  for (i = 0; i < b->n; i++)
    mem_free(b->rows[i].sealed);
  b->n = 0;
  b->bytes = 0;
}

struct sweep {
  size_t batch, max_batches, batches;
  int64_t resealed[2], already[2], failed[2];
  bool paused;
};

/* Re-encrypts the payloads of one kind from the marker's cursor on. */
static int sweep_kind(struct store *st, const struct privacy_keys *keys,
                      struct marker *m, enum store_payload_kind kind,
                      struct sweep *sw, struct error *err) {
  struct batch b;
  int64_t next_report = chrono_now_ms() + PROGRESS_MS, prev;
  int rc = 0;
  size_t i;
  memset(&b, 0, sizeof b);
  b.keys = keys;
  b.target = m->target;
  for (;;) {
    if (sw->max_batches > 0 && sw->batches >= sw->max_batches) {
      sw->paused = true;
      break;
    }
    b.scanned = 0;
    b.already = 0;
    b.failed = 0;
    rc = store_begin(st, err);
    if (rc < 0)
      break;
    rc = store_payloads_scan(st, kind, m->after[kind], sw->batch, batch_cb, &b,
                             err);
    if (rc > 0)
      rc = 0; /* the byte cap stopped the batch early */
    if (rc == 0 && b.scanned == 0) {
      store_rollback(st);
      break;
    }
    for (i = 0; i < b.n && rc == 0; i++)
      rc = store_payload_update(st, kind, b.rows[i].id, b.rows[i].sealed,
                                b.rows[i].len, err);
    if (rc == 0) {
      prev = m->after[kind];
      m->after[kind] = b.last_id;
      rc = marker_write(st, m, err);
      if (rc == 0)
        rc = store_commit(st, err);
      if (rc < 0)
        m->after[kind] = prev;
    }
    if (rc < 0) {
      /* Nothing of this batch happened; the cursor is where it was. */
      store_rollback(st);
      break;
    }
    sw->resealed[kind] += (int64_t)b.n;
    sw->already[kind] += b.already;
    sw->failed[kind] += b.failed;
    sw->batches++;
    batch_clear(&b);
    if (chrono_now_ms() >= next_report) {
      fprintf(stderr,
              "tilannekuva keys: %s re-encrypted up to id %" PRId64 "\n",
              kind_name[kind], m->after[kind]);
      next_report = chrono_now_ms() + PROGRESS_MS;
    }
  }
  batch_clear(&b);
  mem_free(b.rows);
  return rc;
}

static int keys_rotate(const char *dir, size_t batch, size_t max_batches,
                       int *exit_code, struct error *err) {
  char *kp = join(dir, INGEST_KEY_FILE), *dbp = join(dir, INGEST_DB_FILE);
  struct privacy_keys *keys = NULL;
  struct store *st = NULL;
  struct marker m;
  struct sweep sw;
  uint32_t cur;
  int lock_fd = -1, rc;

  memset(&sw, 0, sizeof sw);
  sw.batch = batch;
  sw.max_batches = max_batches;
  rc = lock_dir(dir, &lock_fd, err);
  if (rc == 0)
    rc = store_open(dbp, STORE_SECURE_DELETE, &st, err);
  if (rc == 0)
    rc = marker_read(st, &m, err);
  if (rc < 0)
    goto out;
  if (m.active) {
    rc = privacy_keys_load(kp, &keys, err);
    if (rc < 0)
      goto out;
    cur = privacy_keys_current_id(keys);
    if (m.target != cur) {
      /* The key file moved on: re-encrypt everything towards its current
       * key (rows already under it are skipped). */
      m.target = cur;
      m.after[0] = m.after[1] = 0;
      rc = marker_write(st, &m, err);
      if (rc < 0)
        goto out;
    }
    printf("resuming the unfinished rotation to key %u\n", (unsigned)cur);
  } else {
    uint32_t id = 0;
    rc = privacy_keys_rotate(kp, &id, err);
    if (rc == 0)
      rc = privacy_keys_load(kp, &keys, err);
    if (rc < 0)
      goto out;
    cur = privacy_keys_current_id(keys);
    m.active = true;
    m.target = cur;
    m.after[0] = m.after[1] = 0;
    rc = marker_write(st, &m, err);
    if (rc < 0)
      goto out;
    printf("added key %u to '%s'; it is now the current key\n", (unsigned)cur,
           kp);
  }
  rc = sweep_kind(st, keys, &m, STORE_PAYLOAD_MESSAGE, &sw, err);
  if (rc == 0 && !sw.paused)
    rc = sweep_kind(st, keys, &m, STORE_PAYLOAD_DEAD_LETTER, &sw, err);
  if (rc < 0)
    goto out;
  printf("messages: %" PRId64 " re-encrypted, %" PRId64
         " already under key %u\n",
         sw.resealed[0], sw.already[0], (unsigned)cur);
  printf("dead letters: %" PRId64 " re-encrypted, %" PRId64
         " already under key %u\n",
         sw.resealed[1], sw.already[1], (unsigned)cur);
  if (sw.paused) {
    printf("paused after %zu batches: run 'tilannekuva keys rotate' again to "
           "continue\n",
           sw.batches);
    goto out;
  }
  m.active = false;
  rc = marker_write(st, &m, err);
  if (rc < 0)
    goto out;
  {
    struct error cerr;
    error_clear(&cerr);
    if (store_checkpoint(st, &cerr) < 0)
      fprintf(stderr,
              "tilannekuva keys: warning: %s (the replaced ciphertexts stay "
              "in the write-ahead log until the next checkpoint)\n",
              cerr.msg);
  }
  if (sw.failed[0] + sw.failed[1] > 0) {
    fprintf(stderr,
            "tilannekuva keys: %" PRId64 " messages and %" PRId64
            " dead letters could not be re-encrypted and stay under their "
            "old keys (listed above); 'keys prune' will refuse while they "
            "are there\n",
            sw.failed[0], sw.failed[1]);
    *exit_code = 1;
  }
  printf("rotation to key %u complete\n", (unsigned)cur);
out:
  store_close(st);
  privacy_keys_free(keys);
  if (lock_fd >= 0)
    close(lock_fd);
  mem_free(kp);
  mem_free(dbp);
  return rc;
}

/* ---- prune -------------------------------------------------------------- */

static int keys_prune(const char *dir, struct error *err) {
  char *kp = join(dir, INGEST_KEY_FILE), *dbp = join(dir, INGEST_DB_FILE);
  struct privacy_keys *keys = NULL;
  struct store *st = NULL;
  struct census c;
  struct marker m;
  uint32_t cur = 0;
  size_t removed = 0, i;
  int lock_fd = -1, rc;
  int64_t other;

  memset(&c, 0, sizeof c);
  rc = lock_dir(dir, &lock_fd, err);
  if (rc == 0)
    rc = privacy_keys_load(kp, &keys, err);
  if (rc == 0)
    rc = store_open(dbp, STORE_READONLY, &st, err);
  if (rc == 0)
    rc = census_take(st, &c, &m, err);
  if (rc < 0)
    goto out;
  cur = privacy_keys_current_id(keys);
  if (m.active) {
    rc = error_set(err, ERR_STATE,
                   "cannot prune: the rotation to key %u is unfinished: run "
                   "'tilannekuva keys rotate' first",
                   (unsigned)m.target);
    goto out;
  }
  other = census_other(&c, cur);
  if (other > 0) {
    for (i = 0; i < c.nids; i++) {
      if (c.ids[i].id != cur)
        fprintf(stderr,
                "  key %u: %" PRId64 " messages, %" PRId64 " dead letters\n",
                (unsigned)c.ids[i].id, c.ids[i].n[0], c.ids[i].n[1]);
    }
    if (c.unreadable[0] + c.unreadable[1] > 0)
      fprintf(stderr, "  unreadable header: %" PRId64 " payloads\n",
              c.unreadable[0] + c.unreadable[1]);
    rc = error_set(err, ERR_STATE,
                   "cannot prune: %" PRId64 " payloads are not sealed under "
                   "the current key %u (above): run 'tilannekuva keys rotate' "
                   "first",
                   other, (unsigned)cur);
    goto out;
  }
  rc = privacy_keys_prune(kp, cur, &removed, err);
  if (rc < 0)
    goto out;
  printf("removed %zu older keys from '%s'; key %u remains\n", removed, kp,
         (unsigned)cur);
out:
  census_release(&c);
  store_close(st);
  privacy_keys_free(keys);
  if (lock_fd >= 0)
    close(lock_fd);
  mem_free(kp);
  mem_free(dbp);
  return rc;
}

/* ---- the command -------------------------------------------------------- */

static const char usage_text[] =
    "usage: tilannekuva keys status --data DIR [--json]\n"
    "       tilannekuva keys rotate --data DIR [--batch N] [--max-batches N]\n"
    "       tilannekuva keys verify --data DIR\n"
    "       tilannekuva keys prune  --data DIR\n\n"
    "status: encryption key ids, the current one, and how many messages and "
    "dead letters are sealed under each.\n"
    "rotate: adds a new current key and re-encrypts every stored payload "
    "under it, N rows per transaction (default 500); safe to interrupt, and "
    "run again to resume. --max-batches stops after that many transactions.\n"
    "verify: opens every stored payload with the key file (exit 1 when one "
    "does not open).\n"
    "prune: removes the older keys once no payload needs them.\n"
    "rotate and prune refuse while a server or an import holds the data "
    "directory.\n";

static bool parse_count(const char *s, size_t lo, size_t hi, size_t *out) {
  char *end = NULL;
  unsigned long long v;
  if (s[0] < '0' || s[0] > '9')
    return false;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  *out = (size_t)v;
  return true;
}

int cli_keys_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"data", required_argument, NULL, 'd'},
      {"json", no_argument, NULL, 'j'},
      {"batch", required_argument, NULL, 'b'},
      {"max-batches", required_argument, NULL, 'm'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *dir = NULL, *sub;
  bool json = false, have_batch = false, have_max = false;
  size_t batch = BATCH_DEFAULT, max_batches = 0;
  struct error err;
  int c, rc, exit_code = 0;

  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (argc < 2 || argv[1][0] == '-') {
    fputs(usage_text, stderr);
    return 2;
  }
  sub = argv[1];
  optind = 1;
  while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'j':
      json = true;
      break;
    case 'b':
      if (!parse_count(optarg, 1, BATCH_MAX, &batch)) {
        fprintf(stderr, "tilannekuva keys: --batch must be 1..%d\n", BATCH_MAX);
        return 2;
      }
      have_batch = true;
      break;
    case 'm':
      if (!parse_count(optarg, 1, SIZE_MAX, &max_batches)) {
        fprintf(stderr, "tilannekuva keys: --max-batches must be at least "
                        "1\n");
        return 2;
      }
      have_max = true;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      fputs(usage_text, stderr);
      return 2;
    }
  }
  if (dir == NULL || optind != argc - 1) {
    fputs(usage_text, stderr);
    return 2;
  }
  error_clear(&err);
  if (strcmp(sub, "status") == 0 && !have_batch && !have_max) {
    rc = keys_status(dir, json, &err);
  } else if (strcmp(sub, "rotate") == 0 && !json) {
    rc = keys_rotate(dir, batch, max_batches, &exit_code, &err);
  } else if (strcmp(sub, "verify") == 0 && !json && !have_batch && !have_max) {
    rc = keys_verify(dir, &exit_code, &err);
  } else if (strcmp(sub, "prune") == 0 && !json && !have_batch && !have_max) {
    rc = keys_prune(dir, &err);
  } else {
    fputs(usage_text, stderr);
    return 2;
  }
  if (rc < 0) {
    fprintf(stderr, "tilannekuva keys %s: %s\n", sub, err.msg);
    return 1;
  }
  return exit_code;
}
