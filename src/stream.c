/* stream.c -- the server-sent events hub: frames, per-client bounded
 * queues, suspend/resume, replay for reconnects, heartbeats.
 *
 * Client states (all under hub->mu):
 *
 *   connect ──> queued: retry [+ replay | reset]
 *      │
 *      v        queue empty: suspend              publish / heartbeat /
 *   reading ───────────────────────────> parked ──────────────────────┐
 *      ^                                  (suspended = true)          │
 *      └──────────────────── resume (suspended = false) <─────────────┘
 *      │
 *      │ queue full on publish: drop ──> queue = [partly sent frame] +
 *      │                                 reset; ending = true
 *      │ close_all ──> ending = true
 *      v
 *   ending: drain queue, then HTTP_STREAM_END ──> freed by the response
 *
 * Resumes happen after the lock is released, from a list built under it:
 * a parked client cannot run (and so cannot be freed) until it is resumed,
 * and only the thread that cleared 'suspended' resumes it (invariant 4 of
 * stream.h). */
#include "stream.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "mem.h"

struct frame {
  size_t refs; /* under hub->mu */
  uint64_t id; /* 0 for control frames */
  size_t len;
  char text[];
};

struct client {
  struct client *prev, *next;
  struct stream_hub *hub;
  struct http_stream *stream; /* set by the first read */
  struct frame **q;           /* ring of queue_cap */
  size_t head, count;
  size_t off; /* bytes of q[head] already sent */
  bool suspended, ending, dropped;
  struct client *wake_next;
  int64_t last_ms; /* last frame queued */
};

struct stream_hub {
  pthread_mutex_t mu;
  pthread_cond_t cond; /* clients gone; heartbeat thread stop */
  pthread_t thread;
  bool thread_started, stopping, closing;
  struct stream_options o;
  size_t queue_cap; /* queue_max + control frames */
  struct client *clients;
  size_t nclients;
  uint64_t last_id;
  struct frame **hist; /* ring of o.history */
  size_t hist_head, hist_count;
  struct frame *retry, *keepalive, *reset_overflow;
  uint64_t events, connections, dropped;
};

#define CONTROL_FRAMES 3

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct frame *frame_new(const char *text, size_t len, uint64_t id) {
  struct frame *f = mem_alloc(sizeof *f + len + 1);
  f->refs = 1;
  f->id = id;
  f->len = len;
  memcpy(f->text, text, len);
  f->text[len] = '\0';
  return f;
}

static void frame_unref(struct frame *f) {
  if (f != NULL && --f->refs == 0)
    mem_free(f);
}

/* ---- hub ---- */

static void *heartbeat_main(void *arg);

struct stream_hub *stream_hub_new(void) {
  return stream_hub_new_with(NULL);
}

struct stream_hub *stream_hub_new_with(const struct stream_options *opts) {
  struct stream_hub *hub = mem_calloc(1, sizeof *hub);
  static const char retry[] = "retry: 2000\n\n";
  static const char keepalive[] = ": keepalive\n\n";
  static const char reset[] =
      "event: reset\ndata: {\"reason\":\"overflow\"}\n\n";
  if (opts != NULL)
    hub->o = *opts;
  if (hub->o.heartbeat_ms == 0)
    hub->o.heartbeat_ms = STREAM_DEFAULT_HEARTBEAT_MS;
  if (hub->o.queue_max == 0)
    hub->o.queue_max = STREAM_DEFAULT_QUEUE;
  if (hub->o.queue_max > STREAM_MAX_QUEUE)
    hub->o.queue_max = STREAM_MAX_QUEUE;
  if (hub->o.max_clients == 0)
    hub->o.max_clients = STREAM_DEFAULT_MAX_CLIENTS;
  if (hub->o.history == 0)
    hub->o.history = STREAM_DEFAULT_HISTORY;
  if (hub->o.history > STREAM_MAX_QUEUE)
    hub->o.history = STREAM_MAX_QUEUE;
  if (hub->o.first_id == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hub->o.first_id =
        ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) * 1000u;
  }
  hub->last_id = hub->o.first_id - 1;
  hub->queue_cap = hub->o.queue_max + CONTROL_FRAMES;
  hub->hist = mem_calloc(hub->o.history, sizeof *hub->hist);
  hub->retry = frame_new(retry, sizeof retry - 1, 0);
  hub->keepalive = frame_new(keepalive, sizeof keepalive - 1, 0);
  hub->reset_overflow = frame_new(reset, sizeof reset - 1, 0);
  if (pthread_mutex_init(&hub->mu, NULL) != 0 ||
      pthread_cond_init(&hub->cond, NULL) != 0)
    abort(); /* only fails for lack of resources, like OOM */
  if (pthread_create(&hub->thread, NULL, heartbeat_main, hub) != 0)
    abort();
  hub->thread_started = true;
  return hub;
}

void stream_hub_free(struct stream_hub *hub) {
  if (hub == NULL)
    return;
  pthread_mutex_lock(&hub->mu);
  hub->stopping = true;
  pthread_cond_broadcast(&hub->cond);
  pthread_mutex_unlock(&hub->mu);
  if (hub->thread_started)
    pthread_join(hub->thread, NULL);
  assert(hub->nclients == 0);
  for (size_t i = 0; i < hub->hist_count; i++)
    frame_unref(hub->hist[(hub->hist_head + i) % hub->o.history]);
  mem_free(hub->hist);
  frame_unref(hub->retry);
  frame_unref(hub->keepalive);
  frame_unref(hub->reset_overflow);
  pthread_cond_destroy(&hub->cond);
  pthread_mutex_destroy(&hub->mu);
  mem_free(hub);
}

/* ---- queues (hub->mu held) ---- */

static void push(struct client *c, struct frame *f) {
  struct stream_hub *hub = c->hub;
  if (NEVER(c->count >= hub->queue_cap))
    return;
  f->refs++;
  c->q[(c->head + c->count) % hub->queue_cap] = f;
  c->count++;
}

static void pop(struct client *c) {
  frame_unref(c->q[c->head]);
  c->head = (c->head + 1) % c->hub->queue_cap;
  c->count--;
  c->off = 0;
}

/* Empties the queue except a partly sent head frame (invariant 3). */
static void clear_queue(struct client *c) {
  struct stream_hub *hub = c->hub;
  size_t keep = c->off > 0 ? 1 : 0;
  while (c->count > keep) {
    size_t last = (c->head + c->count - 1) % hub->queue_cap;
    frame_unref(c->q[last]);
    c->count--;
  }
}

/* Marks 'c' to be resumed after the lock is released. */
static void wake(struct client *c, struct client **list) {
  if (c->suspended) {
    c->suspended = false;
    c->wake_next = *list;
    *list = c;
  }
}

static void resume_all(struct client *list) {
  while (list != NULL) {
    /* Read the link first: once resumed, the client may finish and be
     * freed on a server thread. */
    struct client *next = list->wake_next;
    http_stream_resume(list->stream);
    list = next;
  }
}

/* ---- publishing ---- */

static bool event_name_ok(const char *s) {
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return n > 0 && n <= STREAM_MAX_EVENT_NAME;
}

/* Formats an event frame: id, event, one data line per line of 'data'. */
static struct frame *format_event(uint64_t id, const char *event,
                                  const char *data, size_t dlen) {
  size_t lines = 1;
  size_t cap;
  struct frame *f;
  char *p;
  for (size_t i = 0; i < dlen; i++)
    if (data[i] == '\n' ||
        (data[i] == '\r' && (i + 1 == dlen || data[i + 1] != '\n')))
      lines++;
  cap = 32 + strlen(event) + 16 + dlen + lines * 7 + 2;
  f = mem_alloc(sizeof *f + cap);
  f->refs = 1;
  f->id = id;
  p = f->text;
  p += snprintf(p, cap, "id: %" PRIu64 "\nevent: %s\n", id, event);
  memcpy(p, "data: ", 6);
  p += 6;
  for (size_t i = 0; i < dlen; i++) {
    if (data[i] == '\r' || data[i] == '\n') {
      if (data[i] == '\r' && i + 1 < dlen && data[i + 1] == '\n')
        i++;
      memcpy(p, "\ndata: ", 7);
      p += 7;
    } else {
      *p++ = data[i];
    }
  }
  *p++ = '\n';
  *p++ = '\n';
  *p = '\0';
  f->len = (size_t)(p - f->text);
  return f;
}

uint64_t stream_hub_publish(struct stream_hub *hub, const char *event,
                            const char *data) {
  struct client *list = NULL;
  struct frame *f;
  size_t dlen = strlen(data);
  uint64_t id;
  int64_t now = now_ms();
  if (!event_name_ok(event) || dlen > STREAM_MAX_DATA) {
    assert(!"stream_hub_publish: bad event name or data too large");
    return 0;
  }
  pthread_mutex_lock(&hub->mu);
  id = ++hub->last_id;
  f = format_event(id, event, data, dlen);
  /* History: the frame's first reference moves there. */
  if (hub->hist_count == hub->o.history) {
    frame_unref(hub->hist[hub->hist_head]);
    hub->hist_head = (hub->hist_head + 1) % hub->o.history;
    hub->hist_count--;
  }
  hub->hist[(hub->hist_head + hub->hist_count) % hub->o.history] = f;
  hub->hist_count++;
  hub->events++;
  for (struct client *c = hub->clients; c != NULL; c = c->next) {
    if (c->ending)
      continue;
    if (c->count >= hub->o.queue_max) {
      clear_queue(c);
      push(c, hub->reset_overflow);
      c->ending = true;
      c->dropped = true;
      hub->dropped++;
    } else {
      push(c, f);
    }
    c->last_ms = now;
    wake(c, &list);
  }
  pthread_mutex_unlock(&hub->mu);
  resume_all(list);
  return id;
}

static void *heartbeat_main(void *arg) {
  struct stream_hub *hub = arg;
  unsigned tick = hub->o.heartbeat_ms / 4;
  if (tick < 10)
    tick = 10;
  if (tick > 1000)
    tick = 1000;
  pthread_mutex_lock(&hub->mu);
  while (!hub->stopping) {
    struct client *list = NULL;
    struct timespec until;
    int64_t now;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(tick % 1000) * 1000000L;
    until.tv_sec += tick / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&hub->cond, &hub->mu, &until);
    if (hub->stopping)
      break;
    now = now_ms();
    for (struct client *c = hub->clients; c != NULL; c = c->next) {
      if (c->ending || now - c->last_ms < (int64_t)hub->o.heartbeat_ms ||
          c->count >= hub->o.queue_max)
        continue;
      push(c, hub->keepalive);
      c->last_ms = now;
      wake(c, &list);
    }
    if (list != NULL) {
      pthread_mutex_unlock(&hub->mu);
      resume_all(list);
      pthread_mutex_lock(&hub->mu);
    }
  }
  pthread_mutex_unlock(&hub->mu);
  return NULL;
}

/* ---- clients ---- */

static ssize_t client_read(void *cls, struct http_stream *s, char *buf,
                           size_t max) {
  struct client *c = cls;
  struct stream_hub *hub = c->hub;
  size_t n = 0;
  ssize_t ret;
  pthread_mutex_lock(&hub->mu);
  c->stream = s;
  while (c->count > 0 && n < max) {
    struct frame *f = c->q[c->head];
    size_t k = f->len - c->off;
    if (k > max - n)
      k = max - n;
    memcpy(buf + n, f->text + c->off, k);
    n += k;
    c->off += k;
    if (c->off == f->len)
      pop(c);
  }
  if (n > 0) {
    ret = (ssize_t)n;
  } else if (c->ending) {
    ret = HTTP_STREAM_END;
  } else {
    c->suspended = true;
    http_stream_suspend(s);
    ret = 0;
  }
  pthread_mutex_unlock(&hub->mu);
  return ret;
}

static void client_free(void *cls) {
  struct client *c = cls;
  struct stream_hub *hub = c->hub;
  pthread_mutex_lock(&hub->mu);
  while (c->count > 0)
    pop(c);
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    hub->clients = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  hub->nclients--;
  pthread_cond_broadcast(&hub->cond);
  pthread_mutex_unlock(&hub->mu);
  mem_free(c->q);
  mem_free(c);
}

/* Parses a Last-Event-ID: decimal digits only. */
static bool parse_last_id(const char *s, uint64_t *out) {
  uint64_t v = 0;
  size_t n = 0;
  if (s == NULL)
    return false;
  for (; s[n] != '\0'; n++) {
    if (s[n] < '0' || s[n] > '9' || n >= 20)
      return false;
    if (v > (UINT64_MAX - (uint64_t)(s[n] - '0')) / 10)
      return false;
    v = v * 10 + (uint64_t)(s[n] - '0');
  }
  if (n == 0)
    return false;
  *out = v;
  return true;
}

/* Queues what a reconnecting client missed, or a reset frame ("gap") when
 * the history no longer has it. hub->mu held. */
static void queue_replay(struct stream_hub *hub, struct client *c,
                         uint64_t last) {
  static const char gap[] = "event: reset\ndata: {\"reason\":\"gap\"}\n\n";
  uint64_t oldest;
  uint64_t missing;
  struct frame *f;
  if (last == hub->last_id)
    return;
  oldest = hub->hist_count > 0 ? hub->hist[hub->hist_head]->id : 0;
  missing = hub->last_id - last;
  /* Replay at most half a queue, so that the first live events do not
   * find the queue full. */
  if (last < hub->last_id && hub->hist_count > 0 && last + 1 >= oldest &&
      missing <= hub->o.queue_max / 2) {
    size_t start = (size_t)(last + 1 - oldest);
    for (size_t i = start; i < hub->hist_count; i++)
      push(c, hub->hist[(hub->hist_head + i) % hub->o.history]);
    return;
  }
  f = frame_new(gap, sizeof gap - 1, 0);
  push(c, f);
  frame_unref(f);
}

int stream_hub_serve(void *ctx, const struct http_request *req,
                     struct http_reply *rep) {
  struct stream_hub *hub = ctx;
  struct client *c;
  uint64_t last = 0;
  bool has_last;
  if (strcmp(http_request_method(req), "HEAD") == 0) {
    http_reply_static(rep, 200, "text/event-stream; charset=utf-8", "", 0);
    return http_reply_header(rep, "X-Accel-Buffering", "no");
  }
  has_last = parse_last_id(http_request_header(req, "Last-Event-ID"), &last);
  pthread_mutex_lock(&hub->mu);
  if (hub->closing) {
    pthread_mutex_unlock(&hub->mu);
    http_reply_error(rep, 503, "unavailable", NULL, NULL);
    return 0;
  }
  if (hub->nclients >= hub->o.max_clients) {
    pthread_mutex_unlock(&hub->mu);
    http_reply_error(rep, 503, "too_many_streams", NULL, NULL);
    return http_reply_header(rep, "Retry-After", "5");
  }
  c = mem_calloc(1, sizeof *c);
  c->hub = hub;
  c->q = mem_calloc(hub->queue_cap, sizeof *c->q);
  c->last_ms = now_ms();
  push(c, hub->retry);
  if (has_last)
    queue_replay(hub, c, last);
  c->next = hub->clients;
  if (hub->clients != NULL)
    hub->clients->prev = c;
  hub->clients = c;
  hub->nclients++;
  hub->connections++;
  pthread_mutex_unlock(&hub->mu);
  /* From here the client is the reply's: client_free runs exactly once. */
  http_reply_stream(rep, "text/event-stream; charset=utf-8", client_read,
                    client_free, c);
  return http_reply_header(rep, "X-Accel-Buffering", "no");
}

size_t stream_hub_close_all(struct stream_hub *hub, unsigned wait_ms) {
  struct client *list = NULL;
  struct timespec until;
  size_t left;
  pthread_mutex_lock(&hub->mu);
  hub->closing = true;
  for (struct client *c = hub->clients; c != NULL; c = c->next) {
    c->ending = true;
    wake(c, &list);
  }
  pthread_mutex_unlock(&hub->mu);
  resume_all(list);
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&hub->mu);
  while (hub->nclients > 0) {
    if (pthread_cond_timedwait(&hub->cond, &hub->mu, &until) == ETIMEDOUT)
      break;
  }
  left = hub->nclients;
  pthread_mutex_unlock(&hub->mu);
  return left;
}

void stream_hub_stop_hook(void *hub) { (void)stream_hub_close_all(hub, 2000); }

size_t stream_hub_clients(struct stream_hub *hub) {
  size_t n;
  pthread_mutex_lock(&hub->mu);
  n = hub->nclients;
  pthread_mutex_unlock(&hub->mu);
  return n;
}

uint64_t stream_hub_last_id(struct stream_hub *hub) {
  uint64_t id;
  pthread_mutex_lock(&hub->mu);
  id = hub->last_id;
  pthread_mutex_unlock(&hub->mu);
  return id;
}

int stream_hub_metrics(struct stream_hub *hub, struct buf *out) {
  size_t clients;
  uint64_t events, connections, dropped;
  pthread_mutex_lock(&hub->mu);
  clients = hub->nclients;
  events = hub->events;
  connections = hub->connections;
  dropped = hub->dropped;
  pthread_mutex_unlock(&hub->mu);
  return buf_printf(
      out,
      "# HELP tilannekuva_sse_clients Live-stream clients connected.\n"
      "# TYPE tilannekuva_sse_clients gauge\n"
      "tilannekuva_sse_clients %zu\n"
      "# HELP tilannekuva_sse_events_total Events published to the live "
      "stream.\n"
      "# TYPE tilannekuva_sse_events_total counter\n"
      "tilannekuva_sse_events_total %" PRIu64 "\n"
      "# HELP tilannekuva_sse_connections_total Live-stream connections "
      "accepted.\n"
      "# TYPE tilannekuva_sse_connections_total counter\n"
      "tilannekuva_sse_connections_total %" PRIu64 "\n"
      "# HELP tilannekuva_sse_clients_dropped_total Live-stream clients "
      "dropped for reading too slowly.\n"
      "# TYPE tilannekuva_sse_clients_dropped_total counter\n"
      "tilannekuva_sse_clients_dropped_total %" PRIu64 "\n",
      clients, events, connections, dropped);
}
