/* mllp_server.c -- the MLLP listener: epoll, two I/O threads, many
 * connections.
 *
 * Design: each I/O thread owns the connections it accepted. Readable
 * sockets are read into a per-connection buffer; each complete frame is
 * submitted to ingest (which parses, maps and seals it on this thread and
 * queues it for the writer thread). Ingest's syncer calls back once the
 * message is durable; the callback only appends the item to its thread's
 * completion array (reused, no allocation per message) and pokes the
 * eventfd when the array was empty, so one wake-up carries a whole group.
 * The I/O thread then builds each ACK and writes it.
 *
 * Invariants:
 *  1. a connection's ACKs go out in the order its messages arrived (the
 *     writer completes items in queue order);
 *  2. a connection is freed only when it is closed and nothing of it is in
 *     flight (refs == 0), so completions never touch freed memory;
 *  3. no read happens while a connection has max_inflight messages pending
 *     or too many unsent ACK bytes: a client that does not read its ACKs
 *     only stalls itself;
 *  4. an item whose group failed to commit gets no ACK; the connection is
 *     closed so the sender resends.
 *
 * Thread safety: each loop's completion array is the only shared structure
 * (its mutex); everything else of a loop belongs to its thread. */
#define _GNU_SOURCE /* accept4 */
#include "mllp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chrono.h"
#include "log.h"
#include "mem.h"
#include "mllp.h"

#define READ_CHUNK 65536
#define ACK_BUF_CAP (4u * 1024u * 1024u)
#define ACK_HIGH_WATER (256u * 1024u)
#define PEER_MAX 64

struct conn {
  int fd;
  bool closed;      /* socket closed, waiting for refs to drop */
  bool reading;     /* EPOLLIN wanted */
  uint32_t watched; /* the events registered with epoll now */
  int refs;         /* 1 while open + items in flight */
  size_t inflight;
  struct buf in;  /* unread bytes */
  struct buf out; /* unsent ACK bytes */
  size_t out_off;
  int64_t last_activity;
  int64_t frame_started; /* 0 when no partial frame is pending */
  char peer[PEER_MAX];
  struct loop *loop;        /* the I/O thread that owns it */
  struct conn *next, *prev; /* all open connections */
};

/* Items completed by ingest, in completion order. */
struct done_list {
  struct ingest_item **v;
  size_t n, cap;
};

/* One I/O thread: its epoll set, its connections, its completions. */
struct loop {
  struct mllp_server *s;
  int efd, evfd;
  pthread_t thread;
  struct conn *conns;
  size_t nconns;
  pthread_mutex_t lock;   /* 'done' */
  struct done_list done;  /* filled by ingest's syncer */
  struct done_list spare; /* drained by the I/O thread (swapped with 'done') */
  uint64_t accepted_conns, refused_conns, frames, acks, closed_bad;
};

/* The I/O threads share the listening socket (EPOLLEXCLUSIVE: one wakes per
 * connection) and accept into their own sets, so a burst of ACKs and the
 * burst of messages that answers it are parsed on both cores. */
#define LOOPS 2

struct mllp_server {
  struct mllp_server_options opt;
  struct ingest *ingest;
  int lfd;
  int port;
  atomic_bool stop;
  atomic_size_t nconns; /* over every loop */
  struct loop loops[LOOPS];
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mllp_server_parse_listen(const char *s, char *host, size_t host_cap,
                             int *port, struct error *err) {
  const char *colon;
  const char *h = s;
  size_t hlen;
  long p;
  char *end;
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (rb == NULL || rb[1] != ':')
      return error_set(err, ERR_INVAL,
                       "listen address '%s': expected [V6]:PORT", s);
    h = s + 1;
    hlen = (size_t)(rb - h);
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL)
      return error_set(err, ERR_INVAL,
                       "listen address '%s': expected HOST:PORT", s);
    hlen = (size_t)(colon - s);
  }
  if (hlen == 0 || hlen >= host_cap)
    return error_set(err, ERR_INVAL, "listen address '%s': bad host", s);
  errno = 0;
  p = strtol(colon + 1, &end, 10);
  if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 || p > 65535)
    return error_set(err, ERR_INVAL, "listen address '%s': bad port", s);
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (int)p;
  return 0;
}

/* Registers what the connection waits for; a system call only when that
 * changes (it rarely does: most connections just read). */
static void conn_watch(struct loop *srv, struct conn *c) {
  struct epoll_event ev;
  uint32_t want = (c->reading ? EPOLLIN : 0) | EPOLLRDHUP;
  if (c->out.len > c->out_off)
    want |= EPOLLOUT;
  if (want == c->watched)
    return;
  memset(&ev, 0, sizeof ev);
  ev.data.ptr = c;
  ev.events = want;
  epoll_ctl(srv->efd, EPOLL_CTL_MOD, c->fd, &ev);
  c->watched = want;
}

static void conn_unref(struct loop *srv, struct conn *c) {
  if (--c->refs > 0)
    return;
  (void)srv;
  buf_release(&c->in);
  buf_release(&c->out);
  mem_free(c);
}

static void conn_close(struct loop *srv, struct conn *c, const char *why) {
  if (c->closed)
    return;
  if (why != NULL)
    log_info("mllp", "closing connection from %s: %s", c->peer, why);
  epoll_ctl(srv->efd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->closed = true;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv->nconns--;
  atomic_fetch_sub(&srv->s->nconns, 1);
  conn_unref(srv, c);
}

/* Writes what can be written now; closes on a hard error. */
static void conn_flush(struct loop *srv, struct conn *c) {
  while (!c->closed && c->out.len > c->out_off) {
    ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                     MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      conn_close(srv, c, "write failed");
      return;
    }
  }
  if (c->closed)
    return;
  if (c->out_off == c->out.len) {
    buf_reset(&c->out);
    c->out_off = 0;
  }
}

/* Called on ingest's syncer thread: hand the item to the I/O thread. No
 * allocation per item: the list's array grows to the most items ever
 * pending and is reused. */
static void on_done(void *ctx, struct ingest_item *item) {
  struct loop *srv = ((struct conn *)ctx)->loop;
  uint64_t one = 1;
  ssize_t w;
  bool wake;
  pthread_mutex_lock(&srv->lock);
  /* One wake-up per batch: the I/O thread drains the whole list. */
  wake = srv->done.n == 0;
  if (srv->done.n == srv->done.cap) {
    srv->done.cap = srv->done.cap ? 2 * srv->done.cap : 256;
    srv->done.v = mem_realloc(srv->done.v, srv->done.cap * sizeof *srv->done.v);
  }
  srv->done.v[srv->done.n++] = item;
  pthread_mutex_unlock(&srv->lock);
  if (wake) {
    w = write(srv->evfd, &one, sizeof one);
    (void)w;
  }
}

static bool conn_can_read(const struct loop *srv, const struct conn *c) {
  return c->inflight < srv->s->opt.max_inflight &&
         c->out.len - c->out_off < ACK_HIGH_WATER;
}

/* A peer may put line breaks between frames; anything else outside a
 * frame means it does not speak MLLP. */
static bool junk_is_whitespace(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t')
      return false;
  return true;
}

/* Extracts and submits every complete frame in c->in. */
static void conn_frames(struct loop *srv, struct conn *c) {
  size_t off = 0;
  if (c->in.len == 0)
    return;
  while (!c->closed && conn_can_read(srv, c)) {
    size_t start = 0, mlen = 0, consumed = 0, junk = 0;
    int rc =
        mllp_frame_find(c->in.data + off, c->in.len - off,
                        srv->s->opt.max_frame, &start, &mlen, &consumed, &junk);
    if (rc >= 0 && !junk_is_whitespace(c->in.data + off, junk)) {
      srv->closed_bad++;
      conn_close(srv, c, "bytes outside an MLLP frame");
      return;
    }
    if (rc < 0) {
      srv->closed_bad++;
      conn_close(srv, c,
                 rc == ERR_TOOBIG ? "frame exceeds the size cap"
                                  : "broken MLLP framing");
      return;
    }
    if (rc == 0) {
      off += consumed;
      break;
    }
    {
      int src;
      c->refs++;
      c->inflight++;
      srv->frames++;
      src = ingest_submit_hl7(srv->s->ingest, c->in.data + off + start, mlen,
                              c->peer, on_done, c);
      if (src < 0) {
        c->refs--;
        c->inflight--;
        conn_close(srv, c, "ingest is closing");
        return;
      }
    }
    off += consumed;
  }
  if (c->closed)
    return;
  if (off > 0) {
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    c->in.data[c->in.len] = '\0';
  }
  c->frame_started =
      c->in.len > 0 ? (c->frame_started ? c->frame_started : mono_ms()) : 0;
}

static void conn_read(struct loop *srv, struct conn *c) {
  char chunk[READ_CHUNK];
  for (;;) {
    ssize_t n;
    if (!conn_can_read(srv, c))
      break;
    n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      c->last_activity = mono_ms();
      if (buf_append(&c->in, chunk, (size_t)n) < 0) {
        srv->closed_bad++;
        conn_close(srv, c, "frame exceeds the size cap");
        return;
      }
      conn_frames(srv, c);
      if (c->closed)
        return;
      if ((size_t)n < sizeof chunk)
        break;
    } else if (n == 0) {
      conn_close(srv, c, c->in.len > 0 ? "peer closed mid-frame" : NULL);
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else {
      conn_close(srv, c, "read failed");
      return;
    }
  }
  {
    bool want = conn_can_read(srv, c);
    if (want != c->reading) {
      c->reading = want;
      conn_watch(srv, c);
    }
  }
}

static void drain_completions(struct loop *srv) {
  struct done_list list;
  uint64_t v;
  ssize_t r = read(srv->evfd, &v, sizeof v);
  (void)r;
  pthread_mutex_lock(&srv->lock);
  list = srv->done;
  srv->done = srv->spare;
  pthread_mutex_unlock(&srv->lock);
  for (size_t i = 0; i < list.n; i++) {
    struct ingest_item *item = list.v[i];
    struct conn *c = ingest_item_ctx(item);
    c->inflight--;
    if (!c->closed) {
      if (ingest_item_outcome(item) == INGEST_FAILED) {
        conn_close(srv, c, "storage failed; the sender must resend");
      } else {
        size_t before = c->out.len;
        if (buf_putc(&c->out, 0x0b) < 0 ||
            ingest_item_ack(item, chrono_now_ms(), &c->out) < 0 ||
            buf_putc(&c->out, 0x1c) < 0 || buf_putc(&c->out, 0x0d) < 0) {
          c->out.len = before;
          conn_close(srv, c, "cannot queue the ACK");
        } else {
          srv->acks++;
          conn_flush(srv, c);
          if (!c->closed) {
            if (!c->reading && conn_can_read(srv, c)) {
              /* Frames may already be buffered. */
              conn_frames(srv, c);
              if (!c->closed)
                c->reading = conn_can_read(srv, c);
            }
            if (!c->closed)
              conn_watch(srv, c);
          }
        }
      }
    }
    conn_unref(srv, c);
    ingest_item_free(item);
  }
  list.n = 0;
  srv->spare = list; /* only this thread touches 'spare' */
}

static void do_accept(struct loop *srv) {
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(srv->s->lfd, (struct sockaddr *)&ss, &sl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct conn *c;
    struct epoll_event ev;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    int one = 1;
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (atomic_load(&srv->s->nconns) >= srv->s->opt.max_connections) {
      srv->refused_conns++;
      close(fd);
      log_warn("mllp", "connection refused: %zu connections open", srv->nconns);
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
    c = mem_calloc(1, sizeof *c);
    c->fd = fd;
    c->loop = srv;
    c->refs = 1;
    c->reading = true;
    buf_init(&c->in, srv->s->opt.max_frame + 16);
    buf_init(&c->out, ACK_BUF_CAP);
    c->last_activity = mono_ms();
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    c->next = srv->conns;
    if (srv->conns != NULL)
      srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    atomic_fetch_add(&srv->s->nconns, 1);
    srv->accepted_conns++;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    c->watched = ev.events;
    epoll_ctl(srv->efd, EPOLL_CTL_ADD, fd, &ev);
    log_debug("mllp", "connection from %s", c->peer);
  }
}

static void check_timeouts(struct loop *srv) {
  int64_t now = mono_ms();
  struct conn *c = srv->conns;
  while (c != NULL) {
    struct conn *next = c->next;
    if (c->frame_started != 0 && srv->s->opt.frame_timeout_ms > 0 &&
        now - c->frame_started > srv->s->opt.frame_timeout_ms) {
      srv->closed_bad++;
      conn_close(srv, c, "frame not completed in time");
    } else if (c->inflight == 0 && srv->s->opt.idle_timeout_ms > 0 &&
               now - c->last_activity > srv->s->opt.idle_timeout_ms) {
      conn_close(srv, c, "idle timeout");
    }
    c = next;
  }
}

static void *run(void *arg) {
  struct loop *srv = arg;
  struct epoll_event evs[128];
  int64_t last_check = mono_ms();
  pthread_setname_np(pthread_self(), "tk-mllp-io");
  while (!atomic_load(&srv->s->stop)) {
    int n = epoll_wait(srv->efd, evs, 128, 250);
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &srv->s->lfd) {
        do_accept(srv);
      } else if (p == &srv->evfd) {
        drain_completions(srv);
      } else {
        struct conn *c = p;
        if (c->closed)
          continue;
        c->refs++;
        if (evs[i].events & EPOLLOUT)
          conn_flush(srv, c);
        if (!c->closed &&
            (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
          conn_read(srv, c);
        if (!c->closed)
          conn_watch(srv, c);
        conn_unref(srv, c);
      }
    }
    if (mono_ms() - last_check >= 250) {
      check_timeouts(srv);
      last_check = mono_ms();
    }
  }
  return NULL;
}

int mllp_server_start(const struct mllp_server_options *opt, struct ingest *in,
                      struct mllp_server **out, struct error *err) {
  char host[256];
  char portstr[16];
  int port;
  int rc;
  struct addrinfo hints, *res = NULL;
  struct mllp_server *srv;
  int one = 1;
  struct epoll_event ev;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;

  rc = mllp_server_parse_listen(opt->listen, host, sizeof host, &port, err);
  if (rc < 0)
    return rc;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(portstr, sizeof portstr, "%d", port);
  if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL)
    return error_set(err, ERR_INVAL, "cannot resolve '%s'", host);

  srv = mem_calloc(1, sizeof *srv);
  srv->opt = *opt;
  if (srv->opt.max_inflight == 0)
    srv->opt.max_inflight = 64;
  srv->ingest = in;
  srv->lfd =
      socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (srv->lfd < 0) {
    freeaddrinfo(res);
    mem_free(srv);
    return error_set(err, ERR_IO, "cannot create a socket");
  }
  setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(srv->lfd, res->ai_addr, res->ai_addrlen) != 0 ||
      listen(srv->lfd, 1024) != 0) {
    int e = errno;
    freeaddrinfo(res);
    close(srv->lfd);
    mem_free(srv);
    return error_set(err, ERR_IO, "cannot listen on '%s': %s", opt->listen,
                     strerror(e));
  }
  freeaddrinfo(res);
  if (getsockname(srv->lfd, (struct sockaddr *)&ss, &sl) == 0)
    srv->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
  atomic_init(&srv->stop, false);
  atomic_init(&srv->nconns, 0);
  for (int i = 0; i < LOOPS; i++) {
    struct loop *lp = &srv->loops[i];
    lp->s = srv;
    lp->efd = epoll_create1(EPOLL_CLOEXEC);
    lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&lp->lock, NULL);
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &srv->lfd;
    epoll_ctl(lp->efd, EPOLL_CTL_ADD, srv->lfd, &ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &lp->evfd;
    epoll_ctl(lp->efd, EPOLL_CTL_ADD, lp->evfd, &ev);
  }
  for (int i = 0; i < LOOPS; i++) {
    if (pthread_create(&srv->loops[i].thread, NULL, run, &srv->loops[i]) != 0) {
      atomic_store(&srv->stop, true);
      for (int j = 0; j < i; j++)
        pthread_join(srv->loops[j].thread, NULL);
      for (int j = 0; j < LOOPS; j++) {
        close(srv->loops[j].efd);
        close(srv->loops[j].evfd);
        pthread_mutex_destroy(&srv->loops[j].lock);
      }
      close(srv->lfd);
      mem_free(srv);
      return error_set(err, ERR_IO, "cannot start the MLLP threads");
    }
  }
  *out = srv;
  return 0;
}

int mllp_server_port(const struct mllp_server *srv) { return srv->port; }

void mllp_server_stop(struct mllp_server *srv) {
  if (srv == NULL)
    return;
  /* Stop accepting; let in-flight items finish and their ACKs go out. */
  for (int i = 0; i < LOOPS; i++)
    epoll_ctl(srv->loops[i].efd, EPOLL_CTL_DEL, srv->lfd, NULL);
  close(srv->lfd);
  srv->lfd = -1;
  ingest_flush(srv->ingest);
  atomic_store(&srv->stop, true);
  for (int i = 0; i < LOOPS; i++)
    pthread_join(srv->loops[i].thread, NULL);
  for (int i = 0; i < LOOPS; i++) {
    struct loop *lp = &srv->loops[i];
    drain_completions(lp);
    while (lp->conns != NULL)
      conn_close(lp, lp->conns, NULL);
    close(lp->efd);
    close(lp->evfd);
    pthread_mutex_destroy(&lp->lock);
    mem_free(lp->done.v);
    mem_free(lp->spare.v);
  }
  mem_free(srv);
}
