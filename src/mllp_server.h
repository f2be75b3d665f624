/* mllp_server.h -- the MLLP listener: many connections, two I/O threads.
 *
 * Two epoll threads accept connections, read frames (mllp.h), hand each
 * message to the ingest service, and write the ACK when ingest says the
 * message is durable. A slow or broken connection never stalls the others:
 * sockets are non-blocking, each connection has a cap on frame size, on
 * messages in flight and on unsent ACK bytes, an idle timeout, and a frame
 * timeout (a frame that takes too long to arrive closes the connection).
 *
 * Thread safety: start/stop from one thread; the server runs its own. */
#ifndef TK_MLLP_SERVER_H
#define TK_MLLP_SERVER_H

#include <stddef.h>

#include "compat.h"
#include "err.h"
#include "ingest.h"

struct mllp_server;

struct mllp_server_options {
  const char *listen;     /* "HOST:PORT" (IPv4, or [IPv6]:PORT) */
  size_t max_frame;       /* bytes */
  int idle_timeout_ms;    /* close a connection silent this long */
  int frame_timeout_ms;   /* close when one frame takes this long */
  size_t max_connections; /* further connections are closed at once */
  size_t max_inflight;    /* messages awaiting their ACK per connection */
};

/* Binds, listens and starts the I/O threads. On failure *out is untouched. */
NODISCARD int mllp_server_start(const struct mllp_server_options *opt,
                                struct ingest *in, struct mllp_server **out,
                                struct error *err);

/* The bound port (useful with port 0). */
int mllp_server_port(const struct mllp_server *srv);

/* Stops accepting, waits for in-flight ACKs (bounded), closes everything.
 * Accepts NULL. */
void mllp_server_stop(struct mllp_server *srv);

/* Parses "HOST:PORT" / "[V6]:PORT" into a socket address. */
NODISCARD int mllp_server_parse_listen(const char *s, char *host,
                                       size_t host_cap, int *port,
                                       struct error *err);

#endif
