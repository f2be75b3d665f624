/* stream.h -- the live stream: a server-sent events (SSE) hub.
 *
 * The writer thread publishes an event after each commit; every connected
 * client of GET /api/v1/stream receives it within milliseconds. Each event
 * is formatted once into an immutable, reference-counted frame
 *
 *   id: N\nevent: NAME\ndata: LINE\n[data: LINE\n...]\n
 *
 * that every client's bounded queue points to. Ids increase by one per
 * event; they start from the wall clock (ms x 1000) when the hub is made,
 * so they also increase across restarts and a Last-Event-ID from an
 * earlier process is recognised as a gap.
 *
 * A client receives first "retry: 2000", then (when it reconnects with
 * Last-Event-ID) the events it missed from the hub's history (at most half
 * a queue of them), or an "event: reset" when they are no longer there;
 * then every event as it is published, and a comment line ": keepalive"
 * after each quiet heartbeat interval. A client whose queue is full when an
 * event comes (it reads too slowly) is dropped: its queue is emptied, it gets a
 * final "event: reset" and its response ends. "reset" means: reload the full
 * state, then follow the stream again.
 *
 * The HTTP side: the hub's handler (stream_hub_serve) answers with a
 * streaming reply (http.h); when a client's queue is empty its read
 * callback suspends the connection, and publishing resumes it.
 *
 * Invariants:
 *  1. a client's queue holds at most queue_max event frames (plus the
 *     retry, heartbeat and reset frames);
 *  2. a frame is freed when the last queue and the history let go of it;
 *  3. a partly sent frame is never dropped (the stream stays well-formed);
 *  4. a client is resumed at most once per suspend: 'suspended' is set and
 *     cleared under the hub lock.
 *
 * Thread safety: everything is thread-safe; one mutex guards the hub.
 * stream_hub_publish never blocks on a client's network. */
#ifndef TK_STREAM_H
#define TK_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "http.h"

#define STREAM_RETRY_MS 2000
#define STREAM_DEFAULT_HEARTBEAT_MS 15000u
#define STREAM_DEFAULT_QUEUE 1024u /* event frames per client */
#define STREAM_DEFAULT_MAX_CLIENTS 1000u
#define STREAM_DEFAULT_HISTORY 1024u /* events kept for reconnects */
#define STREAM_MAX_EVENT_NAME 64
#define STREAM_MAX_DATA (1024u * 1024u)
#define STREAM_MAX_QUEUE 65536u

struct stream_hub;

struct stream_options {
  unsigned heartbeat_ms; /* 0 = default */
  size_t queue_max;      /* 0 = default; at most STREAM_MAX_QUEUE */
  size_t max_clients;    /* 0 = default */
  size_t history;        /* 0 = default; at most STREAM_MAX_QUEUE */
  uint64_t first_id;     /* id of the first event; 0 = from the clock */
};

/* A hub with the defaults; never NULL (aborts on out-of-memory). Starts
 * the heartbeat thread. */
struct stream_hub *stream_hub_new(void);
/* A hub with 'opts' (NULL = defaults). */
struct stream_hub *stream_hub_new_with(const struct stream_options *opts);

/* Stops the heartbeat thread and frees the hub. Only after the HTTP server
 * that served it has stopped (no client may remain). Accepts NULL. */
void stream_hub_free(struct stream_hub *hub);

/* Sends event 'event' ([A-Za-z0-9_.-]{1,STREAM_MAX_EVENT_NAME}) with
 * 'data' (text; line breaks become several data lines; at most
 * STREAM_MAX_DATA bytes) to every client. Returns the event's id, or 0
 * when the name or data is refused (a programmer error; also asserted).
 * Thread-safe; bounded work per client, never waits on one. */
uint64_t stream_hub_publish(struct stream_hub *hub, const char *event,
                            const char *data);

/* The http_handler_fn for GET /api/v1/stream; 'ctx' is the hub. Replies
 * 503 "too_many_streams" beyond max_clients and "unavailable" while the
 * hub is closing. */
int stream_hub_serve(void *ctx, const struct http_request *req,
                     struct http_reply *rep);

/* Ends every client's stream (each drains its queue first) and refuses new
 * ones; waits up to 'wait_ms' for them to go. Returns the number of
 * clients still connected. Call before stopping the HTTP server:
 * stream_hub_stop_hook does it as an http_stop_fn. */
size_t stream_hub_close_all(struct stream_hub *hub, unsigned wait_ms);
void stream_hub_stop_hook(void *hub);

/* Connected clients now. */
size_t stream_hub_clients(struct stream_hub *hub);
/* The id of the last published event (first_id - 1 before any). */
uint64_t stream_hub_last_id(struct stream_hub *hub);

/* Appends Prometheus text: tilannekuva_sse_clients (gauge),
 * tilannekuva_sse_events_total, tilannekuva_sse_connections_total,
 * tilannekuva_sse_clients_dropped_total. 0 or ERR_TOOBIG. */
NODISCARD int stream_hub_metrics(struct stream_hub *hub, struct buf *out);

#endif
