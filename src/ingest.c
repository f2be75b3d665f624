/* ingest.c -- channels, the one writer thread, group commit, idempotency,
 * dead letters and the projections it keeps (see ingest.h for the flow).
 *
 * Design notes:
 *  - Work that needs no shared state (parsing, mapping, pseudonymising,
 *    sealing) runs on the submitting thread, so the writer thread does only
 *    what must be serial: the resend check, the bed-board check, the store
 *    writes and the projection updates.
 *  - A group is one transaction. Projections are updated as each item is
 *    processed (a later item in the same group must see an earlier one's
 *    effect); if the commit fails the process stops without acknowledging
 *    anything of the group (fail-stop), and the next start rebuilds the
 *    projections from what is durable.
 *  - Counters are summed per group and written once per group.
 *  - An HL7 item is one allocation (item, message, sealed copy). Items for
 *    messages up to ITEM_POOL_MSG bytes all have one size and are kept for
 *    reuse in a small per-thread cache (pthread key, freed at thread exit):
 *    an I/O thread frees the item it acknowledged and takes it again for its
 *    next message, instead of the allocator growing and trimming its arena
 *    (a page fault per message).
 *
 * Invariants: see ingest.h. The writer thread is the only user of 'wst'
 * (the write connection) and of the bed board's mutators; 'rst' (the read
 * connection for status) is guarded by 'rlock'. */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adt.h"
#include "chrono.h"
#include "cube.h"
#include "fhir.h"
#include "hl7.h"
#include "log.h"
#include "mem.h"
#include "privacy.h"
#include "dashboard.h"
#include "schedule.h"
#include "siu.h"
#include "stream.h"

#define PEER_MAX 64
/* A group closes when no message has arrived for this long (or at
 * ingest.group_wait, or at ingest.group_max messages). */
#define LINGER_QUIET_US 150
#define REASON_MAX 160 /* == sizeof adt_error.text */
/* The bed board and its stream event are published at most this often;
 * a change that comes sooner is published when the interval has passed
 * (the writer wakes for it when idle), so readers see a commit within
 * about this long, and /api/v1/status says whether they do yet. Rendering the
 * board after every group cost about a fifth of the writer's time at 30,000
 * messages/s. */
#define PUBLISH_INTERVAL_US 10000

enum prep { PREP_OK, PREP_AE, PREP_AR };

struct ingest_item {
  struct ingest_item *next;
  char *data;
  size_t len;
  bool inline_bufs; /* data and sealed live in this item's allocation */
  bool pooled;      /* of size POOLED_ITEM_SIZE: may go to a thread's cache */
  bool parsed;
  const struct org_channel *ch;
  enum prep prep;
  enum ingest_outcome outcome;
  struct adt_result res;
  struct adt_error aerr; /* for AE/AR */
  unsigned char digest[STORE_DIGEST_BYTES];
  unsigned char *sealed;
  size_t sealed_len;
  char msg_type[32];
  char source_key[EVENT_KEY_MAX];
  char ack_id[32];
  int64_t received_at;
  ingest_done_fn done;
  void *ctx;
  char peer[PEER_MAX];
  /* FHIR items (ingest_submit_fhir): */
  bool fhir;
  json_t *fres;              /* the resource; a Slot is mapped by the writer */
  struct fhir_schedule fsch; /* a Schedule, mapped on submit */
  struct fhir_issue fiss;    /* why it was refused */
  bool has_cond;             /* a conditional create (If-None-Exist) */
  struct fhir_cond fcond;
  char fexisting[FHIR_ID_MAX]; /* the resource the condition found */
  /* A transaction Bundle: its Schedules (mapped on submit) and the events
   * of its Slots (mapped by the writer), applied all or nothing. */
  struct fhir_schedule *bsch;
  size_t nbsch;
  struct event *bev;
  size_t nbev;
  struct hl7_msg msg; /* last: about 41 KiB, filled by hl7_parse, not zeroed */
};

struct counter_delta {
  const char *channel;
  enum store_counter which;
  int64_t delta;
};

#define DELTAS_MAX 256

struct ingest {
  char *dir;
  struct ingest_options opt;
  struct org *org;
  struct privacy_keys *keys;
  struct store *wst;
  struct store *rst;
  pthread_mutex_t rlock;
  struct bedboard *bb;
  struct dashboard *dash; /* books, T3, visits, indicator cube; guarded by
                            cube_lock */
  struct dashboard_options dash_opt;
  struct fhir_schedules *fsched; /* FHIR Schedules; the writer's alone */
  struct fhir_idents *fidents;   /* FHIR identifiers; the writer's alone */
  pthread_rwlock_t cube_lock;    /* the cube is read by HTTP threads */
  struct stream_hub *hub;
  int lock_fd;

  pthread_mutex_t lock;
  pthread_cond_t nonempty, space, idle;
  struct ingest_item *head, *tail;
  size_t depth;
  uint64_t submitted, completed;
  bool closing;
  bool writer_idle; /* the writer waits on 'nonempty' */
  pthread_t writer;

  /* Committed groups waiting for the WAL to reach the disk (syncer). */
  pthread_mutex_t slock;
  pthread_cond_t scond;
  struct ingest_item *shead, *stail; /* items in commit order */
  size_t spending;                   /* items in shead */
  bool sclosing;
  pthread_t syncer;

  atomic_uint_fast64_t ack_seq;
  int64_t started_ms;

  /* writer-thread statistics (read racily for metrics) */
  atomic_uint_fast64_t groups, items, commit_failures;
  atomic_uint_fast64_t outcome_count[INGEST_FAILED + 1];

  struct counter_delta deltas[DELTAS_MAX];
  size_t ndeltas;

  /* The writer's: when the board was last published, and whether a
   * committed change waits for the next publication. */
  int64_t published_us;
  bool publish_due;
  atomic_bool board_stale; /* publish_due, for readers of the status */
};

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- items ------------------------------------------------------------ */

enum ingest_outcome ingest_item_outcome(const struct ingest_item *item) {
  return item->outcome;
}

void *ingest_item_ctx(const struct ingest_item *item) { return item->ctx; }

const char *ingest_item_reason(const struct ingest_item *item) {
  return item->prep == PREP_OK && item->outcome != INGEST_ERROR
             ? ""
             : item->aerr.text;
}

/* ---- the per-thread item cache ----------------------------------------- */

#define ITEM_POOL_MSG 8192u /* messages up to this many bytes: pooled items */
#define ITEM_POOL_MAX 64u   /* items one thread keeps */
#define POOLED_ITEM_SIZE                                                       \
  (sizeof(struct ingest_item) + ITEM_POOL_MSG + 1 + PRIVACY_SEAL_OVERHEAD +    \
   ITEM_POOL_MSG)

struct item_cache {
  struct ingest_item *head;
  unsigned n;
};

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool cache_usable; /* set once by cache_init */

static void cache_destroy(void *p) {
  struct item_cache *c = p;
  while (c->head != NULL) {
    struct ingest_item *it = c->head;
    c->head = it->next;
    mem_free(it);
  }
  mem_free(c);
}

static void cache_init(void) {
  cache_usable = pthread_key_create(&cache_key, cache_destroy) == 0;
}

/* The calling thread's cache, created when 'create'; NULL if none. */
static struct item_cache *thread_cache(bool create) {
  struct item_cache *c;
  pthread_once(&cache_once, cache_init);
  if (!cache_usable)
    return NULL;
  c = pthread_getspecific(cache_key);
  if (c == NULL && create) {
    c = mem_calloc(1, sizeof *c);
    if (pthread_setspecific(cache_key, c) != 0) {
      mem_free(c);
      c = NULL;
    }
  }
  return c;
}

/* An HL7 item with room for 'len' message bytes and their sealed copy;
 * zeroed up to 'msg', data and sealed pointing into it. */
static struct ingest_item *item_alloc_hl7(size_t len) {
  struct ingest_item *it = NULL;
  bool pooled = len <= ITEM_POOL_MSG;
  if (pooled) {
    struct item_cache *c = thread_cache(true);
    if (c != NULL && c->head != NULL) {
      it = c->head;
      c->head = it->next;
      c->n--;
    } else {
      it = mem_alloc(POOLED_ITEM_SIZE);
    }
  } else {
    it = mem_alloc(sizeof *it + len + 1 + privacy_sealed_len(len));
  }
  memset(it, 0, offsetof(struct ingest_item, msg));
  it->inline_bufs = true;
  it->pooled = pooled;
  it->data = (char *)(it + 1);
  it->sealed = (unsigned char *)it->data + len + 1;
  return it;
}

void ingest_item_free(struct ingest_item *item) {
  if (item == NULL)
    return;
  if (!item->inline_bufs) {
    mem_free(item->data);
    mem_free(item->sealed);
  }
  json_decref(item->fres);
  mem_free(item->bsch);
  mem_free(item->bev);
  if (item->pooled) {
    struct item_cache *c = thread_cache(false);
    if (c != NULL && c->n < ITEM_POOL_MAX) {
      item->next = c->head;
      c->head = item;
      c->n++;
      return;
    }
  }
  mem_free(item);
}

int ingest_item_ack(const struct ingest_item *item, int64_t now_ms,
                    struct buf *out) {
  const char *code = "AA";
  struct hl7_ack_error ae;
  const struct hl7_ack_error *pe = NULL;
  if (item->outcome == INGEST_FAILED || item->fhir)
    return ERR_STATE;
  if (item->outcome == INGEST_ERROR || item->outcome == INGEST_REJECTED) {
    code = item->outcome == INGEST_ERROR ? "AE" : "AR";
    memset(&ae, 0, sizeof ae);
    ae.segment = item->aerr.segment;
    ae.occurrence = item->aerr.occurrence ? item->aerr.occurrence : 1;
    ae.field = item->aerr.field;
    ae.comp = item->aerr.component;
    ae.code = (unsigned)item->aerr.hl7_code;
    ae.text = item->aerr.text;
    pe = &ae;
  }
  if (item->parsed)
    return hl7_ack_build(&item->msg, code, item->ack_id, now_ms, pe, out);
  return hl7_ack_build_raw(item->data, item->len, code, item->ack_id, now_ms,
                           pe, out);
}

/* Copies a C string, truncating to 'cap' - 1 bytes. */
static void copy_text(char *dst, size_t cap, const char *src) {
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void set_error(struct ingest_item *it, enum prep p, const char *seg,
                      unsigned field, unsigned comp, int code,
                      const char *text) {
  it->prep = p;
  memset(&it->aerr, 0, sizeof it->aerr);
  snprintf(it->aerr.segment, sizeof it->aerr.segment, "%s", seg);
  it->aerr.occurrence = 1;
  it->aerr.field = field;
  it->aerr.component = comp;
  it->aerr.hl7_code = code;
  copy_text(it->aerr.text, sizeof it->aerr.text, text);
}

/* Printable ASCII copy of a span for texts and keys. */
static void span_copy(struct hl7_span s, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < s.len && n + 1 < cap; i++) {
    unsigned char ch = (unsigned char)s.p[i];
    out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  out[n] = '\0';
}

/* Seals the raw bytes, bound to channel and key, into it->sealed (allocated
 * here unless the item carries it inline). */
static int seal_payload(struct ingest *in, struct ingest_item *it) {
  char ad[EVENT_ID_MAX + EVENT_KEY_MAX + 2];
  const char *id = it->ch ? it->ch->id : "";
  size_t idn = strnlen(id, EVENT_ID_MAX);
  size_t keyn = strnlen(it->source_key, EVENT_KEY_MAX);
  size_t cap = privacy_sealed_len(it->len);
  memcpy(ad, id, idn);
  ad[idn] = '|';
  memcpy(ad + idn + 1, it->source_key, keyn);
  if (it->sealed == NULL)
    it->sealed = mem_alloc(cap);
  return privacy_seal(in->keys, it->data, it->len, ad, idn + 1 + keyn,
                      it->sealed, cap, &it->sealed_len, NULL);
}

/* The content digest: every segment after MSH, each ended by CR whatever
 * terminator was sent. When the message already has exactly that form
 * (single CRs, no blank lines) the bytes are hashed in place; else a
 * normalised copy is hashed. */
static void digest_body(const struct hl7_msg *m,
                        unsigned char out[STORE_DIGEST_BYTES]) {
  unsigned nseg = hl7_segment_count(m);
  bool in_place = nseg > 1;
  struct buf norm;
  for (unsigned i = 1; in_place && i < nseg; i++) {
    const struct hl7_seg *sg = hl7_segment_at(m, i);
    size_t end = (size_t)sg->off + sg->len;
    in_place = end < m->len && m->data[end] == '\r' &&
               (i + 1 == nseg || hl7_segment_at(m, i + 1)->off == end + 1);
  }
  if (in_place) {
    size_t start = hl7_segment_at(m, 1)->off;
    const struct hl7_seg *last = hl7_segment_at(m, nseg - 1);
    privacy_digest(m->data + start, (size_t)last->off + last->len + 1 - start,
                   out);
    return;
  }
  buf_init(&norm, m->len + nseg + 1);
  for (unsigned i = 1; i < nseg; i++) {
    const struct hl7_seg *sg = hl7_segment_at(m, i);
    if (buf_append(&norm, m->data + sg->off, sg->len) < 0 ||
        buf_putc(&norm, '\r') < 0)
      break; /* cannot happen: the cap covers every segment */
  }
  privacy_digest(norm.data ? norm.data : "", norm.len, out);
  buf_release(&norm);
}

/* Parse, identify the channel, map: everything that needs no shared
 * mutable state. */
static void prepare(struct ingest *in, struct ingest_item *it) {
  struct hl7_error herr;
  const struct hl7_seg *msh;
  struct hl7_span app, fac, key, type, trig;
  char text[REASON_MAX];
  int rc;

  memset(&herr, 0, sizeof herr);
  rc = hl7_parse(it->data, it->len, &it->msg, &herr);
  if (rc < 0) {
    copy_text(text, sizeof text,
              herr.base.msg[0] ? herr.base.msg : err_str(rc));
    set_error(it, PREP_AR, herr.segment[0] ? herr.segment : "MSH", herr.field,
              0, herr.hl7_code ? (int)herr.hl7_code : 100, text);
    return;
  }
  it->parsed = true;
  msh = hl7_segment(&it->msg, "MSH", 0);
  app = hl7_get(&it->msg, msh, 3, 0, 1, 0);
  fac = hl7_get(&it->msg, msh, 4, 0, 1, 0);
  key = hl7_get(&it->msg, msh, 10, 0, 0, 0);
  type = hl7_get(&it->msg, msh, 9, 0, 1, 0);
  trig = hl7_get(&it->msg, msh, 9, 0, 2, 0);
  {
    char t[8], g[8];
    size_t tn, gn;
    span_copy(type, t, sizeof t);
    span_copy(trig, g, sizeof g);
    tn = strlen(t);
    gn = strlen(g);
    /* "t^g" or "t": at most 7 + 1 + 7 bytes, msg_type holds 31. */
    memcpy(it->msg_type, t, tn);
    if (gn > 0) {
      it->msg_type[tn] = '^';
      memcpy(it->msg_type + tn + 1, g, gn);
      tn += 1 + gn;
    }
    it->msg_type[tn] = '\0';
  }
  if (key.len < EVENT_KEY_MAX)
    span_copy(key, it->source_key, sizeof it->source_key);
  it->ch = org_channel_by_sender(in->org, app.p, app.len, fac.p, fac.len);
  if (it->ch == NULL) {
    char a[48], f[48];
    span_copy(app, a, sizeof a);
    span_copy(fac, f, sizeof f);
    snprintf(text, sizeof text,
             "MSH-3/MSH-4: sender '%s'/'%s' is not configured", a, f);
    set_error(it, PREP_AR, "MSH", 3, 1, 204, text);
    return;
  }
  if (key.len == 0 || key.len >= EVENT_KEY_MAX) {
    set_error(it, PREP_AR, "MSH", 10, 0, key.len ? 102 : 101,
              key.len ? "MSH-10: message control id too long"
                      : "MSH-10: message control id missing");
    return;
  }
  span_copy(key, it->source_key, sizeof it->source_key);
  /* Content digest: every segment after MSH, each ended by CR whatever
   * terminator was sent, so a resend with a fresh MSH-7 or other line ends
   * still counts as the same message. */
  digest_body(&it->msg, it->digest);
  if (siu_handles(&it->msg)) {
    rc = siu_map(&it->msg, in->org, it->ch, in->keys, it->received_at, &it->res,
                 &it->aerr);
    it->prep = rc < 0 ? PREP_AE : PREP_OK;
    return;
  }
  if (!adt_handles(&it->msg)) {
    char t[16];
    span_copy(type, t, sizeof t);
    snprintf(text, sizeof text, "MSH-9: unsupported message type '%s'", t);
    set_error(it, PREP_AE, "MSH", 9, 1, 200, text);
    return;
  }
  rc = adt_map(&it->msg, in->org, it->ch, in->keys, it->received_at, &it->res,
               &it->aerr);
  if (rc < 0) {
    it->prep = PREP_AE;
    return;
  }
  it->prep = PREP_OK;
}

/* A FHIR refusal: the issue, and the reason and location the dead letter
 * keeps. */
static void fhir_refuse(struct ingest_item *it, enum prep p) {
  it->prep = p;
  memset(&it->aerr, 0, sizeof it->aerr);
  copy_text(it->aerr.text, sizeof it->aerr.text, it->fiss.diagnostics);
}

/* A transaction Bundle: every entry a Schedule or a Slot, the Schedules
 * mapped here. */
static void prepare_bundle(struct ingest *in, struct ingest_item *it) {
  const char *btype = json_string_value(json_object_get(it->fres, "type"));
  json_t *entries = json_object_get(it->fres, "entry"), *e;
  size_t n = json_array_size(entries), i;
  it->prep = PREP_OK;
  if (btype == NULL || strcmp(btype, "transaction") != 0) {
    snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
    snprintf(it->fiss.expression, sizeof it->fiss.expression, "Bundle.type");
    snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
             "only a transaction Bundle is taken as one message");
    fhir_refuse(it, PREP_AE);
    return;
  }
  if (n > INGEST_FHIR_BUNDLE_MAX) {
    snprintf(it->fiss.code, sizeof it->fiss.code, "too-long");
    snprintf(it->fiss.expression, sizeof it->fiss.expression, "Bundle.entry");
    snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
             "more than %u entries", (unsigned)INGEST_FHIR_BUNDLE_MAX);
    fhir_refuse(it, PREP_AE);
    return;
  }
  it->bsch = mem_calloc(n ? n : 1, sizeof *it->bsch);
  json_array_foreach(entries, i, e) {
    json_t *res = json_object_get(e, "resource");
    const char *t = fhir_resource_type(res);
    if (json_object_get(json_object_get(e, "request"), "ifNoneExist") != NULL) {
      snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
      snprintf(it->fiss.expression, sizeof it->fiss.expression,
               "Bundle.entry[%zu].request.ifNoneExist", i);
      snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
               "entry %zu: conditional create inside a transaction is not "
               "supported (use a batch Bundle)",
               i);
      fhir_refuse(it, PREP_AE);
      return;
    }
    if (strcmp(t, "Schedule") == 0) {
      if (fhir_schedule_map(res, in->org, it->ch, in->keys,
                            &it->bsch[it->nbsch], &it->fiss) < 0) {
        fhir_refuse(it, PREP_AE);
        return;
      }
      it->nbsch++;
    } else if (strcmp(t, "Slot") != 0 && strcmp(t, "Appointment") != 0 &&
               strcmp(t, "Encounter") != 0) {
      char tn[48];
      copy_text(tn, sizeof tn, t);
      for (char *c = tn; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"')
          *c = '?';
      snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
      snprintf(it->fiss.expression, sizeof it->fiss.expression,
               "Bundle.entry[%zu].resource", i);
      snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
               "entry %zu: resourceType '%s' is not supported (Schedule, "
               "Slot, Appointment, Encounter)",
               i, tn);
      fhir_refuse(it, PREP_AE);
      return;
    }
  }
}

/* Maps a transaction Bundle's Slots (the writer): against its own
 * Schedules first, then the table. Nothing is applied here. */
static void map_bundle(struct ingest *in, struct ingest_item *it) {
  json_t *entries = json_object_get(it->fres, "entry"), *e;
  struct fhir_schedules *own = fhir_schedules_new();
  size_t n = json_array_size(entries), i;
  for (i = 0; i < it->nbsch; i++)
    if (fhir_schedules_put(own, &it->bsch[i]) < 0)
      break; /* cannot happen: n <= INGEST_FHIR_BUNDLE_MAX */
  it->bev = mem_calloc(n ? n : 1, sizeof *it->bev);
  it->nbev = 0;
  json_array_foreach(entries, i, e) {
    json_t *res = json_object_get(e, "resource");
    const char *ref;
    const struct fhir_schedules *tab = in->fsched;
    struct event *ev = &it->bev[it->nbev];
    const char *t = fhir_resource_type(res);
    if (strcmp(t, "Appointment") == 0 || strcmp(t, "Encounter") == 0) {
      size_t k = 0;
      int mrc = t[0] == 'A'
                    ? fhir_appointment_map(res, in->org, it->ch, in->keys,
                                           it->received_at, ev, &k, &it->fiss)
                    : fhir_encounter_map(res, in->org, it->ch, in->keys,
                                         it->received_at, ev, &k, &it->fiss);
      if (mrc < 0) {
        char expr[128];
        const char *dot = strchr(it->fiss.expression, '.');
        snprintf(expr, sizeof expr, "Bundle.entry[%zu].resource%.40s", i,
                 dot != NULL ? dot : "");
        copy_text(it->fiss.expression, sizeof it->fiss.expression, expr);
        fhir_refuse(it, PREP_AE);
        it->nbev = 0;
        break;
      }
      if (k == 1) {
        char key[EVENT_KEY_MAX];
        snprintf(key, sizeof key, "%.150s#%zu", it->source_key, i);
        event_set_str(ev->source_key, sizeof ev->source_key, key, strlen(key));
        it->res.flags |=
            ev->attrs.flags & (EVENT_F_UNVERIFIED_ID | EVENT_F_TEMPORARY_ID);
        it->nbev++;
      }
      continue;
    }
    if (strcmp(t, "Slot") != 0)
      continue;
    ref = json_string_value(
        json_object_get(json_object_get(res, "schedule"), "reference"));
    if (ref != NULL && strncmp(ref, "Schedule/", 9) == 0 &&
        fhir_schedules_find(own, ref + 9) != NULL)
      tab = own;
    if (fhir_slot_map(res, it->ch, in->keys, tab, it->received_at, ev,
                      &it->fiss) < 0) {
      char expr[128];
      snprintf(expr, sizeof expr, "Bundle.entry[%zu].resource.%.30s", i,
               strncmp(it->fiss.expression, "Slot.", 5) == 0
                   ? it->fiss.expression + 5
                   : it->fiss.expression);
      copy_text(it->fiss.expression, sizeof it->fiss.expression, expr);
      fhir_refuse(it, PREP_AE);
      it->nbev = 0;
      break;
    }
    {
      char key[EVENT_KEY_MAX];
      snprintf(key, sizeof key, "%.150s#%zu", it->source_key, i);
      event_set_str(ev->source_key, sizeof ev->source_key, key, strlen(key));
    }
    it->nbev++;
  }
  fhir_schedules_free(own);
}

/* Parse, channel, key, digest and (for a Schedule) the mapping of a FHIR
 * resource: everything but what needs the writer's schedule table. */
static void prepare_fhir(struct ingest *in, struct ingest_item *it,
                         const char *channel, const char *cond) {
  const char *type, *id, *vid;
  char *canon;
  char hex[2 * STORE_DIGEST_BYTES + 1];
  int rc;

  it->ch = channel != NULL ? org_channel_find(in->org, channel) : NULL;
  if (it->ch == NULL || strcmp(it->ch->type, "fhir") != 0) {
    snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
    snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
             "no FHIR channel '%.60s' is configured", channel ? channel : "");
    it->ch = NULL;
    fhir_refuse(it, PREP_AR);
    return;
  }
  rc = fhir_parse(it->data, it->len, &it->fres, &it->fiss);
  if (rc < 0) {
    fhir_refuse(it, PREP_AR);
    return;
  }
  if (cond != NULL) {
    rc = fhir_cond_parse(cond, "If-None-Exist", &it->fcond, &it->fiss);
    if (rc < 0) {
      fhir_refuse(it, PREP_AR);
      return;
    }
    it->has_cond = true;
  }
  type = fhir_resource_type(it->fres);
  snprintf(it->msg_type, sizeof it->msg_type, "FHIR %.20s", type);
  canon = json_dumps(it->fres, JSON_COMPACT | JSON_SORT_KEYS);
  privacy_digest(canon != NULL ? canon : "", canon != NULL ? strlen(canon) : 0,
                 it->digest);
  free(canon);
  for (size_t i = 0; i < STORE_DIGEST_BYTES; i++)
    snprintf(hex + 2 * i, 3, "%02x", it->digest[i]);
  id = json_string_value(json_object_get(it->fres, "id"));
  vid = json_string_value(
      json_object_get(json_object_get(it->fres, "meta"), "versionId"));
  if (id == NULL || id[0] == '\0' || strlen(id) >= FHIR_ID_MAX)
    snprintf(it->source_key, sizeof it->source_key, "%.20s#%s", type, hex);
  else if (vid != NULL && vid[0] != '\0' && strlen(vid) < FHIR_ID_MAX)
    snprintf(it->source_key, sizeof it->source_key, "%.20s/%s/_history/%s",
             type, id, vid);
  else
    snprintf(it->source_key, sizeof it->source_key, "%.20s/%s#%s", type, id,
             hex);
  if (it->has_cond && strcmp(type, "Bundle") == 0) {
    snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
    snprintf(it->fiss.expression, sizeof it->fiss.expression, "If-None-Exist");
    snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
             "If-None-Exist does not apply to a Bundle");
    fhir_refuse(it, PREP_AE);
  } else if (strcmp(type, "Bundle") == 0) {
    prepare_bundle(in, it);
  } else if (strcmp(type, "Appointment") == 0 ||
             strcmp(type, "Encounter") == 0) {
    size_t k = 0;
    rc = type[0] == 'A' ? fhir_appointment_map(it->fres, in->org, it->ch,
                                               in->keys, it->received_at,
                                               &it->res.ev[0], &k, &it->fiss)
                        : fhir_encounter_map(it->fres, in->org, it->ch,
                                             in->keys, it->received_at,
                                             &it->res.ev[0], &k, &it->fiss);
    it->prep = PREP_OK;
    if (rc < 0) {
      fhir_refuse(it, PREP_AE);
    } else {
      it->res.n = k;
      if (k == 1) {
        event_set_str(it->res.ev[0].source_key, sizeof it->res.ev[0].source_key,
                      it->source_key, strlen(it->source_key));
        it->res.flags = it->res.ev[0].attrs.flags &
                        (EVENT_F_UNVERIFIED_ID | EVENT_F_TEMPORARY_ID);
      }
    }
  } else if (strcmp(type, "Schedule") == 0) {
    rc = fhir_schedule_map(it->fres, in->org, it->ch, in->keys, &it->fsch,
                           &it->fiss);
    it->prep = PREP_OK;
    if (rc < 0)
      fhir_refuse(it, PREP_AE);
  } else if (strcmp(type, "Slot") == 0) {
    it->prep = PREP_OK; /* mapped by the writer, with the Schedules */
  } else {
    char t[48];
    copy_text(t, sizeof t, type);
    for (char *c = t; *c != '\0'; c++)
      if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"')
        *c = '?';
    snprintf(it->fiss.code, sizeof it->fiss.code, "not-supported");
    snprintf(it->fiss.expression, sizeof it->fiss.expression, "resourceType");
    snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
             "resourceType '%s' is not supported (Schedule, Slot, "
             "Appointment, Encounter)",
             t);
    fhir_refuse(it, PREP_AE);
  }
}

/* Queues a prepared item. */
static int enqueue(struct ingest *in, struct ingest_item *it);

int ingest_submit_fhir(struct ingest *in, const char *channel, const char *data,
                       size_t len, const char *peer, ingest_done_fn done,
                       void *ctx) {
  return ingest_submit_fhir_if_none_exist(in, channel, data, len, NULL, peer,
                                          done, ctx);
}

int ingest_submit_fhir_if_none_exist(struct ingest *in, const char *channel,
                                     const char *data, size_t len,
                                     const char *if_none_exist,
                                     const char *peer, ingest_done_fn done,
                                     void *ctx) {
  struct ingest_item *it = mem_alloc(sizeof *it);
  memset(it, 0, offsetof(struct ingest_item, msg));
  it->fhir = true;
  it->data = mem_alloc(len + 1);
  memcpy(it->data, data, len);
  it->data[len] = '\0';
  it->len = len;
  it->done = done;
  it->ctx = ctx;
  it->received_at = chrono_now_ms();
  snprintf(it->peer, sizeof it->peer, "%s", peer ? peer : "");
  prepare_fhir(in, it, channel, if_none_exist);
  if (seal_payload(in, it) < 0) {
    ingest_item_free(it);
    return ERR_CRYPTO;
  }
  return enqueue(in, it);
}

const struct fhir_issue *
ingest_item_fhir_issue(const struct ingest_item *item) {
  if (!item->fhir ||
      (item->outcome != INGEST_ERROR && item->outcome != INGEST_REJECTED))
    return NULL;
  return &item->fiss;
}

const char *ingest_item_fhir_existing(const struct ingest_item *item) {
  if (!item->fhir || item->outcome != INGEST_DUPLICATE ||
      item->fexisting[0] == '\0')
    return NULL;
  return item->fexisting;
}

/* Writes "TK<started_ms>-<seq>" to 'out' exactly as snprintf with
 * "TK%" PRId64 "-%" PRIuFAST64 would, truncated to 31 bytes and a NUL (in
 * practice 2 + 13 + 1 + a few digits). */
static void format_ack_id(char out[32], int64_t started_ms, uint_fast64_t seq) {
  char t[48];
  size_t i = sizeof t;
  uint64_t v = seq;
  bool neg = started_ms < 0;
  uint64_t s = neg ? 0 - (uint64_t)started_ms : (uint64_t)started_ms;
  size_t n;
  do {
    t[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  t[--i] = '-';
  do {
    t[--i] = (char)('0' + s % 10);
    s /= 10;
  } while (s != 0);
  if (neg)
    t[--i] = '-';
  t[--i] = 'K';
  t[--i] = 'T';
  n = sizeof t - i;
  if (n > 31)
    n = 31; /* as snprintf truncates */
  memcpy(out, t + i, n);
  out[n] = '\0';
}

int ingest_submit_hl7(struct ingest *in, const char *data, size_t len,
                      const char *peer, ingest_done_fn done, void *ctx) {
  /* One allocation: the item, then the message, then room for it sealed. */
  struct ingest_item *it = item_alloc_hl7(len);
  memcpy(it->data, data, len);
  it->data[len] = '\0';
  it->len = len;
  it->done = done;
  it->ctx = ctx;
  it->received_at = chrono_now_ms();
  copy_text(it->peer, sizeof it->peer, peer ? peer : "");
  format_ack_id(it->ack_id, in->started_ms,
                (uint_fast64_t)atomic_fetch_add(&in->ack_seq, 1) + 1);
  prepare(in, it);
  if (seal_payload(in, it) < 0) {
    /* Cannot happen with a loaded key; never store plain bytes. */
    ingest_item_free(it);
    return ERR_CRYPTO;
  }
  return enqueue(in, it);
}

static int enqueue(struct ingest *in, struct ingest_item *it) {
  pthread_mutex_lock(&in->lock);
  while (!in->closing && in->depth >= in->opt.queue_max)
    pthread_cond_wait(&in->space, &in->lock);
  if (in->closing) {
    pthread_mutex_unlock(&in->lock);
    ingest_item_free(it);
    return ERR_CLOSED;
  }
  if (in->tail != NULL)
    in->tail->next = it;
  else
    in->head = it;
  in->tail = it;
  in->depth++;
  in->submitted++;
  /* Wake the writer only when it sleeps: a busy writer takes everything
   * queued when it finishes its group, and a futex wake per message would
   * cost more than the message. */
  if (in->writer_idle)
    pthread_cond_signal(&in->nonempty);
  pthread_mutex_unlock(&in->lock);
  return 0;
}

void ingest_flush(struct ingest *in) {
  pthread_mutex_lock(&in->lock);
  while (in->completed < in->submitted)
    pthread_cond_wait(&in->idle, &in->lock);
  pthread_mutex_unlock(&in->lock);
}

/* ---- the writer ------------------------------------------------------- */

static void count(struct ingest *in, const char *channel,
                  enum store_counter which) {
  for (size_t i = 0; i < in->ndeltas; i++) {
    if (in->deltas[i].which == which &&
        strcmp(in->deltas[i].channel, channel) == 0) {
      in->deltas[i].delta++;
      return;
    }
  }
  if (in->ndeltas < DELTAS_MAX) {
    in->deltas[in->ndeltas].channel = channel;
    in->deltas[in->ndeltas].which = which;
    in->deltas[in->ndeltas].delta = 1;
    in->ndeltas++;
  }
}

static int flush_counters(struct ingest *in, struct error *err) {
  for (size_t i = 0; i < in->ndeltas; i++) {
    int rc = store_counter_add(in->wst, in->deltas[i].channel,
                               in->deltas[i].which, in->deltas[i].delta, err);
    if (rc < 0)
      return rc;
  }
  in->ndeltas = 0;
  return 0;
}

static int dead_letter(struct ingest *in, struct ingest_item *it,
                       const char *ack_code, struct error *err) {
  struct store_dead_letter d;
  char loc[32] = "";
  int64_t id;
  if (it->fhir) {
    snprintf(loc, sizeof loc, "%.31s", it->fiss.expression);
  } else if (it->aerr.segment[0] != '\0') {
    if (it->aerr.field > 0)
      snprintf(loc, sizeof loc, "%s-%u", it->aerr.segment, it->aerr.field);
    else
      snprintf(loc, sizeof loc, "%s", it->aerr.segment);
  }
  memset(&d, 0, sizeof d);
  d.channel = it->ch ? it->ch->id : "";
  d.source_key = it->source_key;
  d.msg_type = it->msg_type;
  d.received_at = it->received_at;
  d.ack_code = ack_code;
  d.reason = it->aerr.text;
  d.location = loc;
  d.sealed = it->sealed;
  d.sealed_len = it->sealed_len;
  return store_dead_letter_put(in->wst, &d, &id, err);
}

/* Indexes the identifiers of a stored FHIR resource (each entry of a
 * Bundle). 0 or ERR_TOOBIG. */
static int index_fhir(struct ingest *in, const char *chan, const json_t *res) {
  size_t i;
  json_t *e;
  int rc = 0;
  if (strcmp(fhir_resource_type(res), "Bundle") != 0)
    return fhir_idents_add(in->fidents, chan, res);
  json_array_foreach(json_object_get(res, "entry"), i, e) {
    if (rc == 0)
      rc = fhir_idents_add(in->fidents, chan, json_object_get(e, "resource"));
  }
  return rc;
}

/* The resend check: 1 when the item's key is stored with the same
 * content (a duplicate: outcome set, counted); 0 otherwise, the item made
 * an AE when the key was used for different content; negative on a
 * storage failure. */
static int resend_check(struct ingest *in, struct ingest_item *it,
                        const char *chan, struct error *err) {
  bool found = false;
  unsigned char digest[STORE_DIGEST_BYTES];
  int rc =
      store_message_lookup(in->wst, chan, it->source_key, &found, digest, err);
  if (rc < 0)
    return rc;
  if (found) {
    if (memcmp(digest, it->digest, STORE_DIGEST_BYTES) == 0) {
      it->outcome = INGEST_DUPLICATE;
      count(in, chan, STORE_C_DUPLICATES);
      return 1;
    }
    if (it->fhir) {
      snprintf(it->fiss.code, sizeof it->fiss.code, "conflict");
      snprintf(it->fiss.expression, sizeof it->fiss.expression,
               "meta.versionId");
      snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
               "version '%.60s' was already sent with different content",
               it->source_key);
      fhir_refuse(it, PREP_AE);
    } else {
      char text[REASON_MAX];
      snprintf(text, sizeof text,
               "MSH-10: control id '%.60s' was already used for a different "
               "message",
               it->source_key);
      set_error(it, PREP_AE, "MSH", 10, 0, 204, text);
    }
  }
  return 0;
}

/* Processes one item inside the open transaction. A negative return is a
 * storage failure that fails the whole group. */
static int process(struct ingest *in, struct ingest_item *it,
                   struct error *err) {
  const char *chan = it->ch ? it->ch->id : "";
  /* A mapped HL7 message is inserted without a lookup first: the unique
   * (channel, key) finds a resend at the insert, one index descent
   * instead of two. The bed-board check comes first either way and
   * changes nothing, so a resend it refuses is still found below. */
  bool insert_first = !it->fhir && it->prep == PREP_OK;
  int rc;
  if (it->prep == PREP_AR) {
    it->outcome = INGEST_REJECTED;
    count(in, chan, STORE_C_REJECTED);
    log_info("ingest", "AR from %s: %s", it->peer, it->aerr.text);
    return dead_letter(in, it, "AR", err);
  }
  if (it->prep == PREP_OK && it->has_cond) {
    rc = fhir_idents_find(in->fidents, chan, fhir_resource_type(it->fres),
                          &it->fcond, it->fexisting);
    if (rc == 1) {
      it->outcome = INGEST_DUPLICATE;
      count(in, chan, STORE_C_DUPLICATES);
      return 0;
    }
    it->fexisting[0] = '\0';
    if (rc < 0) {
      snprintf(it->fiss.code, sizeof it->fiss.code, "multiple-matches");
      snprintf(it->fiss.expression, sizeof it->fiss.expression,
               "If-None-Exist");
      snprintf(it->fiss.diagnostics, sizeof it->fiss.diagnostics,
               "If-None-Exist: several resources hold the identifier");
      fhir_refuse(it, PREP_AE);
      it->outcome = INGEST_ERROR;
      count(in, chan, STORE_C_ERRORS);
      return dead_letter(in, it, "AE", err);
    }
  }
  if ((it->prep == PREP_OK || it->prep == PREP_AE) && !insert_first) {
    rc = resend_check(in, it, chan, err);
    if (rc != 0)
      return rc < 0 ? rc : 0;
  }
  if (it->prep == PREP_OK && it->fhir &&
      strcmp(fhir_resource_type(it->fres), "Bundle") == 0)
    map_bundle(in, it);
  if (it->prep == PREP_OK && it->fhir &&
      strcmp(fhir_resource_type(it->fres), "Slot") == 0) {
    rc = fhir_slot_map(it->fres, it->ch, in->keys, in->fsched, it->received_at,
                       &it->res.ev[0], &it->fiss);
    if (rc < 0) {
      fhir_refuse(it, PREP_AE);
    } else {
      event_set_str(it->res.ev[0].source_key, sizeof it->res.ev[0].source_key,
                    it->source_key, strlen(it->source_key));
      it->res.n = 1;
    }
  }
  if (it->prep == PREP_OK) {
    struct error berr;
    for (size_t i = 0; i < it->res.n; i++) {
      error_clear(&berr);
      if (bedboard_check(in->bb, &it->res.ev[i], &berr) < 0) {
        char text[REASON_MAX];
        copy_text(text, sizeof text, berr.msg);
        set_error(it, PREP_AE, "PV1", 0, 0, 207, text);
        break;
      }
    }
  }
  if (insert_first && it->prep == PREP_AE) {
    rc = resend_check(in, it, chan, err); /* refused: perhaps a resend */
    if (rc != 0)
      return rc < 0 ? rc : 0;
  }
  if (it->prep == PREP_AE) {
    it->outcome = INGEST_ERROR;
    count(in, chan, STORE_C_ERRORS);
    log_info("ingest", "AE for %s from %s: %s", it->msg_type, it->peer,
             it->aerr.text);
    return dead_letter(in, it, "AE", err);
  }
  {
    struct store_message m;
    int64_t mid;
    memset(&m, 0, sizeof m);
    m.channel = chan;
    m.source_key = it->source_key;
    m.msg_type = it->msg_type;
    m.received_at = it->received_at;
    memcpy(m.digest, it->digest, STORE_DIGEST_BYTES);
    m.sealed = it->sealed;
    m.sealed_len = it->sealed_len;
    m.flags = it->res.flags;
    rc = store_message_put(in->wst, &m, &mid, err);
    if (rc == ERR_EXISTS && insert_first) {
      /* The key is stored: a resend, or the key reused. */
      error_clear(err);
      rc = resend_check(in, it, chan, err);
      if (rc != 0)
        return rc < 0 ? rc : 0;
      if (it->prep != PREP_AE)
        return error_set(err, ERR_STATE, "message key '%s' both stored and not",
                         it->source_key);
      it->outcome = INGEST_ERROR;
      count(in, chan, STORE_C_ERRORS);
      log_info("ingest", "AE for %s from %s: %s", it->msg_type, it->peer,
               it->aerr.text);
      return dead_letter(in, it, "AE", err);
    }
    if (rc < 0)
      return rc;
    for (size_t i = 0; i < it->res.n; i++) {
      struct error berr;
      rc = store_event_append(in->wst, mid, &it->res.ev[i], err);
      if (rc < 0)
        return rc;
      if (bedboard_apply(in->bb, &it->res.ev[i], &berr) < 0)
        log_warn("ingest", "event %" PRId64 " checked but not applied: %s",
                 it->res.ev[i].seq, berr.msg);
      if (dashboard_apply(in->dash, &it->res.ev[i], &berr) < 0)
        log_warn("ingest", "event %" PRId64 " not applied to the dashboard: %s",
                 it->res.ev[i].seq, berr.msg);
    }
    for (size_t i = 0; i < it->nbev; i++) {
      struct error berr;
      rc = store_event_append(in->wst, mid, &it->bev[i], err);
      if (rc < 0)
        return rc;
      if (dashboard_apply(in->dash, &it->bev[i], &berr) < 0)
        log_warn("ingest", "event %" PRId64 " not applied to the dashboard: %s",
                 it->bev[i].seq, berr.msg);
    }
    for (size_t i = 0; i < it->nbsch; i++)
      if (fhir_schedules_put(in->fsched, &it->bsch[i]) < 0)
        log_warn("ingest", "over %u FHIR Schedules",
                 (unsigned)FHIR_SCHEDULES_MAX);
    if (it->fhir && it->fsch.id[0] != '\0' &&
        fhir_schedules_put(in->fsched, &it->fsch) < 0)
      log_warn("ingest",
               "FHIR Schedule stored but over %u Schedules: its "
               "Slots are refused",
               (unsigned)FHIR_SCHEDULES_MAX);
    if (it->fhir && index_fhir(in, chan, it->fres) < 0)
      log_warn("ingest", "over %u FHIR identifiers: If-None-Exist may miss",
               (unsigned)FHIR_IDENTS_MAX);
    it->outcome = INGEST_ACCEPTED;
    count(in, chan, STORE_C_ACCEPTED);
    if (it->res.flags & EVENT_F_UNVERIFIED_ID)
      count(in, chan, STORE_C_UNVERIFIED_ID);
  }
  return 0;
}

struct rebuild_ctx {
  struct bedboard *bb;
  struct dashboard *dash;
};

static int apply_cb(void *ctx, const struct event *ev) {
  struct rebuild_ctx *rc = ctx;
  struct error err;
  if (bedboard_apply(rc->bb, ev, &err) < 0)
    log_warn("ingest", "rebuild: event %" PRId64 " not applied: %s", ev->seq,
             err.msg);
  if (dashboard_apply(rc->dash, ev, &err) < 0)
    log_warn("ingest",
             "rebuild: event %" PRId64 " not applied to the dashboard: %s",
             ev->seq, err.msg);
  return 0;
}

/* One stored FHIR resource back into the Schedule table and the identifier
 * index (rebuild). */
static int schedule_cb(void *ctx, const struct store_payload_row *row) {
  struct ingest *in = ctx;
  const struct org_channel *ch = org_channel_find(in->org, row->channel);
  char ad[EVENT_ID_MAX + EVENT_KEY_MAX + 2];
  struct fhir_schedule s;
  struct fhir_issue iss;
  struct error err;
  unsigned char *plain = NULL;
  size_t len = 0;
  json_t *res = NULL;
  int n;
  if (ch == NULL || strcmp(ch->type, "fhir") != 0 ||
      (strncmp(row->source_key, "Schedule", 8) != 0 &&
       strncmp(row->source_key, "Bundle", 6) != 0 &&
       strncmp(row->source_key, "Slot", 4) != 0 &&
       strncmp(row->source_key, "Appointment", 11) != 0 &&
       strncmp(row->source_key, "Encounter", 9) != 0))
    return 0;
  n = snprintf(ad, sizeof ad, "%s|%s", row->channel, row->source_key);
  error_clear(&err);
  if (privacy_open_alloc(in->keys, row->sealed, row->sealed_len, ad, (size_t)n,
                         &plain, &len, &err) < 0) {
    log_warn("ingest", "rebuild: FHIR message %" PRId64 " unreadable: %s",
             row->id, err.msg);
    return 0;
  }
  memset(&iss, 0, sizeof iss);
  if (fhir_parse((const char *)plain, len, &res, &iss) == 0 &&
      index_fhir(in, row->channel, res) < 0)
    log_warn("ingest", "rebuild: over %u FHIR identifiers",
             (unsigned)FHIR_IDENTS_MAX);
  if (res != NULL && strcmp(fhir_resource_type(res), "Schedule") != 0 &&
      strcmp(fhir_resource_type(res), "Bundle") != 0) {
    /* Slots, Appointments, Encounters: only their identifiers. */
  } else if (res != NULL && strcmp(fhir_resource_type(res), "Bundle") == 0) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(res, "entry"), i, e) {
      json_t *r = json_object_get(e, "resource");
      if (strcmp(fhir_resource_type(r), "Schedule") == 0 &&
          (fhir_schedule_map(r, in->org, ch, in->keys, &s, &iss) != 0 ||
           fhir_schedules_put(in->fsched, &s) != 0))
        log_warn("ingest",
                 "rebuild: a Schedule of Bundle %" PRId64 " no longer maps: %s",
                 row->id, iss.diagnostics);
    }
  } else if (res != NULL &&
             fhir_schedule_map(res, in->org, ch, in->keys, &s, &iss) == 0) {
    if (fhir_schedules_put(in->fsched, &s) < 0)
      log_warn("ingest", "rebuild: over %u FHIR Schedules",
               (unsigned)FHIR_SCHEDULES_MAX);
  } else {
    log_warn("ingest", "rebuild: FHIR Schedule %" PRId64 " no longer maps: %s",
             row->id, iss.diagnostics);
  }
  json_decref(res);
  sodium_memzero(plain, len);
  mem_free(plain);
  return 0;
}

/* Builds the bed board, the dashboard (books, T3, visits) and the FHIR
 * Schedules from the log (at open, before any reader); the dashboard then
 * measures the T3 days due since the last event. */
static int rebuild(struct ingest *in, struct error *err) {
  struct rebuild_ctx c = {NULL, NULL};
  struct error terr;
  int rc = dashboard_new(in->org, &in->dash_opt, &c.dash, err);
  if (rc < 0)
    return rc;
  c.bb = bedboard_new(in->org);
  /* The board's flow figures feed the dashboard's indicator cube (both are
   * written under cube_lock). */
  rc = bedboard_set_flow_listener(c.bb, dashboard_flow_change, c.dash);
  fhir_schedules_free(in->fsched);
  in->fsched = fhir_schedules_new();
  fhir_idents_free(in->fidents);
  in->fidents = fhir_idents_new();
  if (rc == 0)
    rc = store_payloads_scan(in->wst, STORE_PAYLOAD_MESSAGE, 0, 0, schedule_cb,
                             in, err);
  if (rc == 0)
    rc = store_events_scan(in->wst, 0, apply_cb, &c, err);
  if (rc < 0) {
    bedboard_free(c.bb);
    dashboard_free(c.dash);
    return rc;
  }
  error_clear(&terr);
  if (dashboard_tick(c.dash, chrono_now_ms(), &terr) < 0)
    log_warn("ingest", "rebuild: %s", terr.msg);
  bedboard_flow_horizon(c.bb, chrono_local_date(chrono_now_ms()));
  bedboard_free(in->bb);
  dashboard_free(in->dash);
  in->bb = c.bb;
  in->dash = c.dash;
  bedboard_publish(in->bb, chrono_now_ms());
  return 0;
}

static void publish(struct ingest *in) {
  size_t changed = bedboard_publish(in->bb, chrono_now_ms());
  in->published_us = mono_us();
  in->publish_due = false;
  atomic_store(&in->board_stale, false);
  if (changed > 0 && in->hub != NULL) {
    struct bedboard_snapshot *snap = bedboard_snapshot_get(in->bb);
    struct buf b;
    char iso[32];
    chrono_format_iso(chrono_now_ms(), iso);
    buf_init(&b, 1u << 20);
    if (buf_printf(&b, "{\"version\":%" PRIu64 ",\"as_of\":\"%s\",\"changed\":",
                   bedboard_snapshot_version(snap), iso) == 0 &&
        bedboard_changed_json(in->bb, &b) == 0 && buf_putc(&b, '}') == 0)
      stream_hub_publish(in->hub, "bedboard", buf_str(&b));
    buf_release(&b);
    bedboard_snapshot_release(snap);
  }
}

static void run_group(struct ingest *in, struct ingest_item *group) {
  struct error err;
  int rc;
  size_t n = 0;
  error_clear(&err);
  in->ndeltas = 0;
  rc = store_begin(in->wst, &err);
  pthread_rwlock_wrlock(&in->cube_lock);
  for (struct ingest_item *it = group; rc == 0 && it != NULL; it = it->next) {
    rc = process(in, it, &err);
    n++;
  }
  pthread_rwlock_unlock(&in->cube_lock);
  if (rc == 0)
    rc = flush_counters(in, &err);
  if (rc == 0)
    rc = store_commit(in->wst, &err);
  if (rc < 0) {
    /* The projections already saw this group's events and the store did
     * not keep them. Fail-stop: nothing of the group is acknowledged, and
     * the process exits so that the next start rebuilds the projections
     * from what is durable (docs/ARCHITECTURE.md). */
    log_error("ingest",
              "group of %zu failed to commit, nothing acknowledged; stopping: "
              "%s",
              n, err.msg);
    store_rollback(in->wst);
    _exit(3);
  }
  atomic_fetch_add(&in->groups, 1);
  in->publish_due = true;
  atomic_store(&in->board_stale, true);
  /* The commit is written but not yet on disk: the syncer makes it
   * durable while this thread goes on with the next group. */
  pthread_mutex_lock(&in->slock);
  if (in->stail != NULL)
    in->stail->next = group;
  else
    in->shead = group;
  while (group->next != NULL)
    group = group->next;
  in->stail = group;
  in->spending += n;
  pthread_cond_signal(&in->scond);
  pthread_mutex_unlock(&in->slock);
  if (in->publish_due && mono_us() - in->published_us >= PUBLISH_INTERVAL_US)
    publish(in);
}

/* The syncer: one fdatasync for everything committed since the last one,
 * then the ACKs. Commits and syncs overlap, so the writer's cycle is
 * max(processing, fsync) rather than their sum. */
static void *syncer_main(void *arg) {
  struct ingest *in = arg;
  (void)prctl(PR_SET_NAME, "tk-syncer", 0, 0, 0);
  for (;;) {
    struct ingest_item *list;
    size_t n;
    struct error err;
    pthread_mutex_lock(&in->slock);
    while (in->shead == NULL && !in->sclosing)
      pthread_cond_wait(&in->scond, &in->slock);
    if (in->shead == NULL) {
      pthread_mutex_unlock(&in->slock);
      break;
    }
    list = in->shead;
    n = in->spending;
    in->shead = in->stail = NULL;
    in->spending = 0;
    pthread_mutex_unlock(&in->slock);

    error_clear(&err);
    if (store_sync(in->wst, &err) < 0) {
      log_error("ingest",
                "cannot make %zu committed messages durable, nothing of them "
                "acknowledged; stopping: %s",
                n, err.msg);
      _exit(3);
    }
    while (list != NULL) {
      struct ingest_item *next = list->next;
      list->next = NULL;
      atomic_fetch_add(&in->items, 1);
      atomic_fetch_add(&in->outcome_count[list->outcome], 1);
      list->done(list->ctx, list);
      list = next;
    }
    pthread_mutex_lock(&in->lock);
    in->completed += n;
    if (in->completed == in->submitted)
      pthread_cond_broadcast(&in->idle);
    pthread_mutex_unlock(&in->lock);
  }
  return NULL;
}

static void *writer_main(void *arg) {
  struct ingest *in = arg;
  (void)prctl(PR_SET_NAME, "tk-writer", 0, 0, 0);
  for (;;) {
    struct ingest_item *group, *last;
    size_t n = 0;
    pthread_mutex_lock(&in->lock);
    while (in->head == NULL && !in->closing) {
      in->writer_idle = true;
      if (in->publish_due) {
        /* A change waits for its publication: wake for it. */
        int64_t due = in->published_us + PUBLISH_INTERVAL_US;
        if (mono_us() >= due) {
          in->writer_idle = false;
          pthread_mutex_unlock(&in->lock);
          publish(in);
          pthread_mutex_lock(&in->lock);
          continue;
        }
        {
          struct timespec ts;
          ts.tv_sec = (time_t)(due / 1000000);
          ts.tv_nsec = (long)(due % 1000000) * 1000L;
          pthread_cond_timedwait(&in->nonempty, &in->lock, &ts);
        }
      } else {
        pthread_cond_wait(&in->nonempty, &in->lock);
      }
      in->writer_idle = false;
    }
    if (in->head == NULL && in->closing) {
      pthread_mutex_unlock(&in->lock);
      if (in->publish_due)
        publish(in);
      break;
    }
    /* Linger while messages keep arriving (at most group_wait): senders
     * that wait for their ACK come back in a burst after each commit, and
     * one group per burst means one fsync for all of them. */
    if (in->opt.group_wait_ms > 0) {
      int64_t start = mono_us(), last_change = start;
      int64_t cap = (int64_t)in->opt.group_wait_ms * 1000;
      size_t seen = in->depth;
      while (in->depth < in->opt.group_max && !in->closing) {
        int64_t now = mono_us();
        int64_t until = last_change + LINGER_QUIET_US;
        struct timespec ts;
        if (until > start + cap)
          until = start + cap;
        if (now >= until)
          break;
        ts.tv_sec = (time_t)(until / 1000000);
        ts.tv_nsec = (long)(until % 1000000) * 1000L;
        in->writer_idle = true;
        pthread_cond_timedwait(&in->nonempty, &in->lock, &ts);
        in->writer_idle = false;
        if (in->depth != seen) {
          seen = in->depth;
          last_change = mono_us();
        }
      }
    }
    group = last = in->head;
    n = 1;
    while (n < in->opt.group_max && last->next != NULL) {
      last = last->next;
      n++;
    }
    in->head = last->next;
    if (in->head == NULL)
      in->tail = NULL;
    last->next = NULL;
    in->depth -= n;
    pthread_cond_broadcast(&in->space);
    pthread_mutex_unlock(&in->lock);

    run_group(in, group);
  }
  return NULL;
}

/* ---- open / close ----------------------------------------------------- */

static char *path_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mem_alloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

int ingest_open(const char *dir, const struct ingest_options *opt,
                struct stream_hub *hub, struct ingest **out,
                struct error *err) {
  struct ingest *in = mem_calloc(1, sizeof *in);
  char *p = NULL;
  int rc;

  in->dir = mem_strdup(dir);
  in->opt = *opt;
  if (opt->dashboard != NULL)
    in->dash_opt = *opt->dashboard;
  else
    dashboard_options_default(&in->dash_opt);
  in->opt.dashboard = NULL; /* copied: the caller's may go */
  if (in->opt.group_max == 0)
    in->opt.group_max = 4096;
  if (in->opt.queue_max == 0)
    in->opt.queue_max = 65536;
  in->hub = hub;
  in->lock_fd = -1;
  in->started_ms = chrono_now_ms();
  pthread_mutex_init(&in->lock, NULL);
  pthread_mutex_init(&in->rlock, NULL);
  pthread_rwlock_init(&in->cube_lock, NULL);
  {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&in->nonempty, &ca);
    pthread_condattr_destroy(&ca);
  }
  pthread_cond_init(&in->space, NULL);
  pthread_cond_init(&in->idle, NULL);
  pthread_mutex_init(&in->slock, NULL);
  pthread_cond_init(&in->scond, NULL);

  p = path_join(dir, INGEST_LOCK_FILE);
  in->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (in->lock_fd < 0) {
    rc = error_set(err, ERR_IO, "cannot open '%s': %s", p, strerror(errno));
    goto fail;
  }
  if (flock(in->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    rc = error_set(err, ERR_STATE,
                   "data directory '%s' is in use by another process", dir);
    goto fail;
  }
  mem_free(p);
  p = path_join(dir, INGEST_KEY_FILE);
  rc = privacy_keys_load(p, &in->keys, err);
  if (rc < 0)
    goto fail;
  mem_free(p);
  p = path_join(dir, INGEST_ORG_FILE);
  rc = org_load_file(p, &in->org, err);
  if (rc < 0)
    goto fail;
  mem_free(p);
  p = path_join(dir, INGEST_DB_FILE);
  rc = store_open(p, 0, &in->wst, err);
  if (rc == ERR_STATE) {
    /* An older schema: the server, holding the data directory's lock, is
     * the one writer that may migrate it. */
    error_clear(err);
    rc = store_open(p, STORE_CREATE, &in->wst, err);
    if (rc == 0)
      log_info("ingest", "migrated the store to the current schema");
  }
  if (rc < 0)
    goto fail;
  rc = store_open(p, STORE_READONLY, &in->rst, err);
  if (rc < 0)
    goto fail;
  mem_free(p);
  p = NULL;
  rc = rebuild(in, err);
  if (rc < 0)
    goto fail;
  rc = store_set_deferred_sync(in->wst, true, err);
  if (rc < 0)
    goto fail;
  if (pthread_create(&in->syncer, NULL, syncer_main, in) != 0) {
    rc = error_set(err, ERR_IO, "cannot start the syncer thread");
    goto fail;
  }
  if (pthread_create(&in->writer, NULL, writer_main, in) != 0) {
    pthread_mutex_lock(&in->slock);
    in->sclosing = true;
    pthread_cond_signal(&in->scond);
    pthread_mutex_unlock(&in->slock);
    pthread_join(in->syncer, NULL);
    rc = error_set(err, ERR_IO, "cannot start the writer thread");
    goto fail;
  }
  *out = in;
  return 0;
fail:
  mem_free(p);
  bedboard_free(in->bb);
  dashboard_free(in->dash);
  fhir_schedules_free(in->fsched);
  fhir_idents_free(in->fidents);
  store_close(in->rst);
  store_close(in->wst);
  org_free(in->org);
  privacy_keys_free(in->keys);
  if (in->lock_fd >= 0)
    close(in->lock_fd);
  mem_free(in->dir);
  mem_free(in);
  return rc;
}

void ingest_close(struct ingest *in) {
  if (in == NULL)
    return;
  pthread_mutex_lock(&in->lock);
  in->closing = true;
  pthread_cond_broadcast(&in->nonempty);
  pthread_cond_broadcast(&in->space);
  pthread_mutex_unlock(&in->lock);
  pthread_join(in->writer, NULL);
  pthread_mutex_lock(&in->slock);
  in->sclosing = true;
  pthread_cond_signal(&in->scond);
  pthread_mutex_unlock(&in->slock);
  pthread_join(in->syncer, NULL);
  bedboard_free(in->bb);
  dashboard_free(in->dash);
  fhir_schedules_free(in->fsched);
  fhir_idents_free(in->fidents);
  store_close(in->rst);
  store_close(in->wst);
  org_free(in->org);
  privacy_keys_free(in->keys);
  close(in->lock_fd);
  pthread_mutex_destroy(&in->lock);
  pthread_mutex_destroy(&in->rlock);
  pthread_rwlock_destroy(&in->cube_lock);
  pthread_cond_destroy(&in->nonempty);
  pthread_cond_destroy(&in->space);
  pthread_cond_destroy(&in->idle);
  pthread_mutex_destroy(&in->slock);
  pthread_cond_destroy(&in->scond);
  mem_free(in->dir);
  mem_free(in);
}

/* ---- read side -------------------------------------------------------- */

const struct org *ingest_org(const struct ingest *in) { return in->org; }

struct bedboard *ingest_bedboard(struct ingest *in) {
  return in->bb;
}

int ingest_status_json(struct ingest *in, struct buf *out, struct error *err) {
  struct store_status st;
  int rc;
  pthread_mutex_lock(&in->rlock);
  rc = store_status_get(in->rst, &st, err);
  pthread_mutex_unlock(&in->rlock);
  if (rc < 0)
    return rc;
  rc = ingest_status_format(&st, out);
  if (rc == 0) {
    /* The served form adds whether the bed board readers see has caught
     * up with the last commit (it is published at most every
     * PUBLISH_INTERVAL_US). */
    out->len--; /* the closing brace, put back below */
    out->data[out->len] = '\0';
    rc = buf_printf(out, ",\"bedboard\":{\"published\":%s}}",
                    atomic_load(&in->board_stale) ? "false" : "true");
  }
  return rc;
}

int ingest_status_format(const struct store_status *st, struct buf *out) {
  bool first = true;
  int rc = buf_printf(out,
                      "{\"messages\":{\"accepted\":%" PRId64
                      ",\"duplicates\":%" PRId64 ",\"rejected\":%" PRId64
                      ",\"errors\":%" PRId64 ",\"dead_letters\":%" PRId64
                      "},\"data_quality\":{\"unverified_identity\":%" PRId64
                      "},\"events\":{\"total\":%" PRId64
                      ",\"last_seq\":%" PRId64 ",\"by_kind\":{",
                      st->accepted, st->duplicates, st->rejected, st->errors,
                      st->dead_letters, st->unverified_id, st->events_total,
                      st->last_seq);
  for (int k = 1; rc == 0 && k < EV__COUNT; k++) {
    if (st->by_kind[k] == 0)
      continue;
    rc = buf_printf(out, "%s\"%s\":%" PRId64, first ? "" : ",",
                    event_kind_name((enum event_kind)k), st->by_kind[k]);
    first = false;
  }
  if (rc == 0)
    rc = buf_puts(out, "}}}");
  return rc;
}

int ingest_flow_json(struct ingest *in, const char *unit, struct buf *out,
                     struct error *err) {
  int rc;
  pthread_rwlock_rdlock(&in->cube_lock);
  rc = cube_flow_json(bedboard_cube(in->bb), in->org, unit,
                      chrono_local_date(chrono_now_ms()), out, err);
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_t3_json(struct ingest *in, const char *unit, enum t3_group g,
                   int64_t t0, struct buf *out, struct error *err) {
  int rc;
  pthread_rwlock_rdlock(&in->cube_lock);
  rc = schedule_t3_json(dashboard_schedule(in->dash), unit, g, t0, NULL, out,
                        err);
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_series_json(struct ingest *in, const struct dashboard_query *q,
                       struct buf *out, const char **param, struct error *err) {
  int rc;
  pthread_rwlock_rdlock(&in->cube_lock);
  rc = dashboard_series_json(in->dash, q, out, param, err);
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_dashboard_json(struct ingest *in, const struct dashboard_query *q,
                          struct buf *out, const char **param,
                          struct error *err) {
  int rc;
  pthread_rwlock_rdlock(&in->cube_lock);
  rc = dashboard_view_json(in->dash, q, out, param, err);
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_dashboard_export(struct ingest *in, const struct dashboard_query *q,
                            struct buf *out, struct dashboard_file *file,
                            const char **param, struct error *err) {
  int rc;
  pthread_rwlock_rdlock(&in->cube_lock);
  rc = dashboard_export(in->dash, q, out, file, param, err);
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_tick(struct ingest *in, int64_t now, struct error *err) {
  int rc;
  pthread_rwlock_wrlock(&in->cube_lock);
  rc = dashboard_tick(in->dash, now, err);
  /* Today's census of the open stays reaches the indicator cube. */
  bedboard_flow_horizon(in->bb, chrono_local_date(now));
  pthread_rwlock_unlock(&in->cube_lock);
  return rc;
}

int ingest_metrics(struct ingest *in, struct buf *out) {
  static const char *const names[] = {"accepted", "duplicate", "error",
                                      "rejected", "failed"};
  int rc = buf_printf(out,
                      "# TYPE tk_ingest_groups_total counter\n"
                      "tk_ingest_groups_total %" PRIuFAST64 "\n"
                      "# TYPE tk_ingest_commit_failures_total counter\n"
                      "tk_ingest_commit_failures_total %" PRIuFAST64 "\n"
                      "# TYPE tk_ingest_messages_total counter\n",
                      (uint_fast64_t)atomic_load(&in->groups),
                      (uint_fast64_t)atomic_load(&in->commit_failures));
  for (int i = 0; rc == 0 && i <= INGEST_FAILED; i++)
    rc = buf_printf(
        out, "tk_ingest_messages_total{outcome=\"%s\"} %" PRIuFAST64 "\n",
        names[i], (uint_fast64_t)atomic_load(&in->outcome_count[i]));
  if (rc == 0) {
    size_t depth;
    pthread_mutex_lock(&in->lock);
    depth = in->depth;
    pthread_mutex_unlock(&in->lock);
    rc = buf_printf(out,
                    "# TYPE tk_ingest_queue_depth gauge\n"
                    "tk_ingest_queue_depth %zu\n",
                    depth);
  }
  return rc;
}
