/* store.c -- the event store's front: checks, state, tallies, dispatch.
 *
 * Everything the same for every backend lives here; the backend is reached
 * through its ops table (store_int.h).
 *
 * Design: every public function validates its arguments and the handle's
 * state here, once for all backends, then calls the backend. Writes need a
 * handle opened for writing (ERR_DENIED otherwise). Messages, events, dead
 * letters and counters need an open transaction (ERR_STATE otherwise: a
 * writer that forgot store_begin would pay one fsync per row, and the
 * tallies below live in the transaction); the one-row administrative writes
 * store_dead_letter_mark and store_meta_put may also run on their own, each
 * then its own durable transaction. Text that goes into fixed-size
 * fields of rows read back later is checked against those sizes: ids and
 * keys are refused when too long (ERR_TOOBIG); dead letters, the safety net
 * for bad input, are never refused for length: their text is truncated at
 * a UTF-8 boundary instead.
 *
 * State machine of a handle:
 *
 *     open --store_begin--> in_tx --store_commit/rollback--> open
 *       \                                                     |
 *        `------------------- store_close <-------------------'
 *
 * store_close in in_tx rolls back. A failed store_commit rolls back too, so
 * the handle is always back in 'open' after commit returns.
 *
 * Invariants:
 *  1. st->tallies is empty outside a write transaction;
 *  2. a tally is added only after the row it counts was written, and
 *     tallies reach the backend in the same transaction (ops->counter_add
 *     before ops->commit), so status counts equal row counts exactly.
 *
 * Thread safety: none inside; one handle per thread (store.h). */
#include "store.h"

#include <string.h>

#include "mem.h"
#include "store_int.h"

static const char *const counter_names[STORE_C__COUNT] = {
    [STORE_C_ACCEPTED] = "accepted",
    [STORE_C_DUPLICATES] = "duplicates",
    [STORE_C_REJECTED] = "rejected",
    [STORE_C_ERRORS] = "errors",
    [STORE_C_UNVERIFIED_ID] = "unverified_id",
};

static const char *const event_tally_names[EV__COUNT] = {
#define TALLY_NAME(e, name) STORE_TALLY_EVENT_PREFIX name,
    EVENT_KIND_TABLE(TALLY_NAME)
#undef TALLY_NAME
};

/* ---- opening ------------------------------------------------------------ */

int store_open(const char *location, int flags, struct store **out,
               struct error *err) {
  const char *path = location;
  if (location == NULL || out == NULL)
    return error_set(err, ERR_INVAL, "cannot open store: no location");
  if ((flags & ~(STORE_READONLY | STORE_CREATE | STORE_SECURE_DELETE)) != 0 ||
      ((flags & STORE_READONLY) && (flags & STORE_CREATE)))
    return error_set(err, ERR_INVAL, "cannot open store '%s': bad flags 0x%x",
                     location, (unsigned)flags);
  if (strncmp(location, "postgresql://", 13) == 0 ||
      strncmp(location, "postgres://", 11) == 0)
    return error_set(err, ERR_UNSUPPORTED,
                     "cannot open store: the postgresql backend is not built "
                     "in");
  if (strncmp(location, "sqlite:", 7) == 0)
    path = location + 7;
  if (path[0] == '\0')
    return error_set(err, ERR_INVAL, "cannot open store: empty path");
  return store_sqlite_open(path, flags, out, err);
}

void store_close(struct store *st) {
  if (st == NULL)
    return;
  if (st->in_tx)
    store_rollback(st);
  mem_free(st->tallies);
  st->tallies = NULL;
  st->ops->close(st);
}

/* ---- checks ------------------------------------------------------------- */

/* 'single': a one-row administrative write (dead letter mark, meta) that
 * may also run outside a transaction, committing on its own. */
static int need_write(struct store *st, const char *what, bool single,
                      struct error *err) {
  if (st->flags & STORE_READONLY)
    return error_set(err, ERR_DENIED, "cannot %s: store opened read-only",
                     what);
  if (!st->in_tx && !single)
    return error_set(err, ERR_STATE, "cannot %s: no transaction open", what);
  return 0;
}

/* 0 when 's' is a string shorter than 'cap' bytes. */
static int check_str(const char *s, size_t cap, const char *field,
                     struct error *err) {
  if (s == NULL)
    return error_set(err, ERR_INVAL, "%s missing", field);
  if (strnlen(s, cap) >= cap)
    return error_set(err, ERR_TOOBIG, "%s longer than %zu bytes", field,
                     cap - 1);
  return 0;
}

/* ---- tallies ------------------------------------------------------------ */

static int tally(struct store *st, const char *channel, const char *name,
                 int64_t delta, struct error *err) {
  struct store_tally *t;
  size_t i;
  if (st->ntallies > 0) {
    t = &st->tallies[st->tally_last];
    if (t->name == name && strcmp(t->channel, channel) == 0) {
      t->delta += delta;
      return 0;
    }
  }
  for (i = 0; i < st->ntallies; i++) {
    t = &st->tallies[i];
    if (t->name == name && strcmp(t->channel, channel) == 0) {
      t->delta += delta;
      st->tally_last = i;
      return 0;
    }
  }
  if (st->ntallies >= STORE_TALLIES_MAX)
    return error_set(err, ERR_TOOBIG,
                     "cannot count: more than %d counters in a transaction",
                     STORE_TALLIES_MAX);
  if (st->ntallies == st->tally_cap) {
    st->tally_cap = st->tally_cap ? st->tally_cap * 2 : 32;
    st->tallies =
        mem_realloc(st->tallies, st->tally_cap * sizeof st->tallies[0]);
  }
  t = &st->tallies[st->ntallies];
  t->name = name;
  (void)event_set_str(t->channel, sizeof t->channel, channel, strlen(channel));
  t->delta = delta;
  st->tally_last = st->ntallies++;
  return 0;
}

/* Hands the pending tallies to the backend (inside the open transaction). */
static int flush_tallies(struct store *st, struct error *err) {
  size_t i;
  int rc = 0;
  for (i = 0; i < st->ntallies && rc == 0; i++) {
    const struct store_tally *t = &st->tallies[i];
    if (t->delta != 0)
      rc = st->ops->counter_add(st, t->channel, t->name, t->delta, err);
  }
  st->ntallies = 0;
  st->tally_last = 0;
  return rc;
}

/* ---- transactions ------------------------------------------------------- */

int store_begin(struct store *st, struct error *err) {
  int rc;
  if (st->in_tx)
    return error_set(err, ERR_STATE, "cannot begin: a transaction is open");
  rc = st->ops->begin(st, err);
  if (rc == 0) {
    st->in_tx = true;
    st->ntallies = 0;
  }
  return rc;
}

int store_commit(struct store *st, struct error *err) {
  int rc;
  if (!st->in_tx)
    return error_set(err, ERR_STATE, "cannot commit: no transaction open");
  rc = flush_tallies(st, err);
  if (rc == 0)
    rc = st->ops->commit(st, err);
  if (rc < 0)
    st->ops->rollback(st);
  st->in_tx = false;
  st->ntallies = 0;
  return rc;
}

void store_rollback(struct store *st) {
  if (!st->in_tx)
    return;
  st->ops->rollback(st);
  st->in_tx = false;
  st->ntallies = 0;
}

/* ---- messages and events ------------------------------------------------ */

int store_message_lookup(struct store *st, const char *channel,
                         const char *source_key, bool *found,
                         unsigned char *digest_out, struct error *err) {
  int rc = check_str(channel, EVENT_ID_MAX, "channel", err);
  if (rc == 0)
    rc = check_str(source_key, EVENT_KEY_MAX, "source key", err);
  if (rc == 0)
    rc = st->ops->message_lookup(st, channel, source_key, found, digest_out,
                                 err);
  return rc;
}

int store_message_put(struct store *st, const struct store_message *m,
                      int64_t *id_out, struct error *err) {
  int64_t id = 0;
  int rc = need_write(st, "store message", false, err);
  if (rc == 0)
    rc = check_str(m->channel, EVENT_ID_MAX, "channel", err);
  if (rc == 0)
    rc = check_str(m->source_key, EVENT_KEY_MAX, "source key", err);
  if (rc == 0)
    rc = check_str(m->msg_type, STORE_MSG_TYPE_MAX, "message type", err);
  if (rc == 0 && m->sealed == NULL && m->sealed_len > 0)
    rc = error_set(err, ERR_INVAL, "payload missing");
  if (rc == 0 && m->sealed_len > STORE_PAYLOAD_MAX)
    rc = error_set(err, ERR_TOOBIG, "payload of %zu bytes exceeds %u",
                   m->sealed_len, STORE_PAYLOAD_MAX);
  if (rc == 0)
    rc = st->ops->message_put(st, m, &id, err);
  if (rc == 0)
    rc = tally(st, m->channel, STORE_TALLY_MESSAGES, 1, err);
  if (rc == 0 && id_out != NULL)
    *id_out = id;
  return rc;
}

int store_event_append(struct store *st, int64_t message_id, struct event *ev,
                       struct error *err) {
  int rc = need_write(st, "append event", false, err);
  if (rc == 0 && (ev->kind <= EV_NONE || ev->kind >= EV__COUNT))
    rc = error_set(err, ERR_INVAL, "cannot append event: kind %d unknown",
                   (int)ev->kind);
  if (rc == 0 && message_id <= 0)
    rc = error_set(err, ERR_INVAL, "cannot append event: no message id");
  if (rc == 0)
    rc = st->ops->event_append(st, message_id, ev, err);
  if (rc == 0) {
    char channel[EVENT_ID_MAX];
    (void)event_set_str(channel, sizeof channel, ev->channel,
                        strnlen(ev->channel, sizeof ev->channel));
    rc = tally(st, channel, event_tally_names[ev->kind], 1, err);
  }
  return rc;
}

/* ---- dead letters ------------------------------------------------------- */

/* Copies 's' (NULL = "") truncated to fit 'cap' at a UTF-8 boundary. */
static const char *fit(const char *s, char *tmp, size_t cap) {
  if (s == NULL)
    return "";
  if (strnlen(s, cap) < cap)
    return s;
  (void)event_set_str(tmp, cap, s, strlen(s));
  return tmp;
}

int store_dead_letter_put(struct store *st, const struct store_dead_letter *d,
                          int64_t *id_out, struct error *err) {
  struct store_dead_letter f = *d;
  char channel[EVENT_ID_MAX], key[EVENT_KEY_MAX], type[STORE_MSG_TYPE_MAX];
  char ack[STORE_ACK_MAX], reason[STORE_REASON_MAX], loc[STORE_LOCATION_MAX];
  int64_t id = 0;
  int rc = need_write(st, "store dead letter", false, err);
  if (rc < 0)
    return rc;
  if (d->sealed == NULL && d->sealed_len > 0)
    return error_set(err, ERR_INVAL, "payload missing");
  if (d->sealed_len > STORE_PAYLOAD_MAX)
    return error_set(err, ERR_TOOBIG, "payload of %zu bytes exceeds %u",
                     d->sealed_len, STORE_PAYLOAD_MAX);
  f.channel = fit(d->channel, channel, sizeof channel);
  f.source_key = fit(d->source_key, key, sizeof key);
  f.msg_type = fit(d->msg_type, type, sizeof type);
  f.ack_code = fit(d->ack_code, ack, sizeof ack);
  f.reason = fit(d->reason, reason, sizeof reason);
  f.location = fit(d->location, loc, sizeof loc);
  rc = st->ops->dead_letter_put(st, &f, &id, err);
  if (rc == 0)
    rc = tally(st, f.channel, STORE_TALLY_DEAD_LETTERS, 1, err);
  if (rc == 0 && id_out != NULL)
    *id_out = id;
  return rc;
}

/* status < 0 lists every status. */
int store_dead_letters_list(struct store *st, int status, size_t max,
                            store_dead_letter_cb cb, void *ctx,
                            struct error *err) {
  if (status > 2)
    return error_set(err, ERR_INVAL, "dead letter status %d unknown", status);
  return st->ops->dead_letters_list(st, status, max, cb, ctx, err);
}

int store_dead_letter_get(struct store *st, int64_t id,
                          struct store_dead_letter_row *out,
                          struct error *err) {
  return st->ops->dead_letter_get(st, id, out, err);
}

void store_dead_letter_row_release(struct store_dead_letter_row *row) {
  if (row == NULL)
    return;
  mem_free(row->sealed);
  row->sealed = NULL;
  row->sealed_len = 0;
}

int store_dead_letter_mark(struct store *st, int64_t id, int status,
                           struct error *err) {
  int rc = need_write(st, "mark dead letter", true, err);
  if (rc == 0 && (status < 0 || status > 2))
    rc = error_set(err, ERR_INVAL, "dead letter status %d unknown", status);
  if (rc == 0)
    rc = st->ops->dead_letter_mark(st, id, status, err);
  return rc;
}

/* ---- counters and status ------------------------------------------------ */

int store_counter_add(struct store *st, const char *channel,
                      enum store_counter which, int64_t delta,
                      struct error *err) {
  int rc = need_write(st, "count", false, err);
  if (rc == 0 && ((int)which < 0 || which >= STORE_C__COUNT))
    rc = error_set(err, ERR_INVAL, "counter %d unknown", (int)which);
  if (rc == 0)
    rc = check_str(channel, EVENT_ID_MAX, "channel", err);
  if (rc == 0)
    rc = tally(st, channel, counter_names[which], delta, err);
  return rc;
}

static int add_to_status(void *ctx, const char *name, int64_t sum) {
  struct store_status *s = ctx;
  size_t plen = sizeof STORE_TALLY_EVENT_PREFIX - 1;
  if (strcmp(name, STORE_TALLY_MESSAGES) == 0) {
    s->accepted = sum;
  } else if (strcmp(name, STORE_TALLY_DEAD_LETTERS) == 0) {
    s->dead_letters = sum;
  } else if (strcmp(name, counter_names[STORE_C_DUPLICATES]) == 0) {
    s->duplicates = sum;
  } else if (strcmp(name, counter_names[STORE_C_REJECTED]) == 0) {
    s->rejected = sum;
  } else if (strcmp(name, counter_names[STORE_C_ERRORS]) == 0) {
    s->errors = sum;
  } else if (strcmp(name, counter_names[STORE_C_UNVERIFIED_ID]) == 0) {
    s->unverified_id = sum;
  } else if (strncmp(name, STORE_TALLY_EVENT_PREFIX, plen) == 0) {
    /* A kind this build does not know (written by a newer one) still
     * counts in the total, under EV_NONE. */
    s->by_kind[event_kind_from_name(name + plen)] += sum;
    s->events_total += sum;
  }
  return 0;
}

int store_status_get(struct store *st, struct store_status *out,
                     struct error *err) {
  struct store_status s;
  int rc = 0;
  memset(&s, 0, sizeof s);
  /* The writer's own pending tallies belong to its open transaction. */
  if (st->in_tx && !(st->flags & STORE_READONLY))
    rc = flush_tallies(st, err);
  if (rc == 0)
    rc = st->ops->counters_read(st, add_to_status, &s, &s.last_seq, err);
  if (rc == 0)
    *out = s;
  return rc;
}

/* ---- scanning ----------------------------------------------------------- */

/* The callback may read through the same handle (lookups, status) but not
 * scan again (ERR_STATE) and should not append events: whether rows added
 * during a scan are visited is not defined. */

int store_events_scan(struct store *st, int64_t after_seq, store_event_cb cb,
                      void *ctx, struct error *err) {
  int rc;
  if (st->in_scan)
    return error_set(err, ERR_STATE, "cannot scan events: already scanning");
  st->in_scan = true;
  rc = st->ops->events_scan(st, after_seq, cb, ctx, err);
  st->in_scan = false;
  return rc;
}

/* ---- sealed payloads ---------------------------------------------------- */

static int check_kind(enum store_payload_kind kind, struct error *err) {
  if ((int)kind != STORE_PAYLOAD_MESSAGE &&
      (int)kind != STORE_PAYLOAD_DEAD_LETTER)
    return error_set(err, ERR_INVAL, "payload kind %d unknown", (int)kind);
  return 0;
}

int store_payloads_scan(struct store *st, enum store_payload_kind kind,
                        int64_t after_id, size_t max, store_payload_cb cb,
                        void *ctx, struct error *err) {
  int rc = check_kind(kind, err);
  if (rc < 0)
    return rc;
  if (st->in_scan)
    return error_set(err, ERR_STATE, "cannot scan payloads: already scanning");
  st->in_scan = true;
  rc = st->ops->payloads_scan(st, kind, after_id, max, cb, ctx, err);
  st->in_scan = false;
  return rc;
}

int store_payload_update(struct store *st, enum store_payload_kind kind,
                         int64_t id, const unsigned char *sealed,
                         size_t sealed_len, struct error *err) {
  int rc = need_write(st, "replace payload", false, err);
  if (rc == 0)
    rc = check_kind(kind, err);
  if (rc == 0 && st->in_scan)
    rc = error_set(err, ERR_STATE, "cannot replace payload during a scan");
  if (rc == 0 && (sealed == NULL || sealed_len == 0))
    rc = error_set(err, ERR_INVAL, "cannot replace payload: it is empty");
  if (rc == 0 && sealed_len > STORE_PAYLOAD_MAX)
    rc = error_set(err, ERR_TOOBIG, "payload of %zu bytes exceeds %u",
                   sealed_len, STORE_PAYLOAD_MAX);
  if (rc == 0)
    rc = st->ops->payload_update(st, kind, id, sealed, sealed_len, err);
  return rc;
}

int store_set_deferred_sync(struct store *st, bool on, struct error *err) {
  if (st->flags & STORE_READONLY)
    return error_set(err, ERR_DENIED,
                     "cannot defer syncs: store opened read-only");
  if (st->in_tx)
    return error_set(err, ERR_STATE,
                     "cannot defer syncs: a transaction is open");
  return st->ops->set_deferred_sync(st, on, err);
}

int store_sync(struct store *st, struct error *err) {
  return st->ops->sync(st, err);
}

int store_checkpoint(struct store *st, struct error *err) {
  if (st->flags & STORE_READONLY)
    return error_set(err, ERR_DENIED,
                     "cannot checkpoint: store opened "
                     "read-only");
  if (st->in_tx)
    return error_set(err, ERR_STATE,
                     "cannot checkpoint: a transaction is open");
  return st->ops->checkpoint(st, err);
}

/* ---- metadata ----------------------------------------------------------- */

int store_meta_get(struct store *st, const char *key, char *out, size_t cap,
                   bool *found, struct error *err) {
  int rc = check_str(key, STORE_META_KEY_MAX, "meta key", err);
  if (rc == 0 && (out == NULL || cap == 0))
    rc = error_set(err, ERR_INVAL, "meta value buffer missing");
  if (rc == 0)
    rc = st->ops->meta_get(st, key, out, cap, found, err);
  return rc;
}

int store_meta_put(struct store *st, const char *key, const char *value,
                   struct error *err) {
  int rc = need_write(st, "store meta", true, err);
  if (rc == 0)
    rc = check_str(key, STORE_META_KEY_MAX, "meta key", err);
  if (rc == 0)
    rc = check_str(value, STORE_META_VALUE_MAX, "meta value", err);
  if (rc == 0 && strcmp(key, "schema_version") == 0)
    rc = error_set(err, ERR_DENIED,
                   "meta key 'schema_version' is kept by the migrations");
  if (rc == 0)
    rc = st->ops->meta_put(st, key, value, err);
  return rc;
}
