/* test_stream.c -- unit tests for the server-sent events hub (stream.h).
 *
 * A real HTTP server on 127.0.0.1 (port 0) serves the hub at
 * /api/v1/stream; raw-socket clients read the chunked event stream and the
 * tests assert the exact frames: headers, retry, ids, multi-line data,
 * replay after reconnect, gap and overflow resets, heartbeats, a slow
 * client dropped while a fast one keeps everything, many clients, latency
 * from publish to receipt, disconnects, closing and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "http_client.h"
#include "mem.h"
#include "stream.h"

/* ------------------------------------------------------------ fixture */

struct fixture {
  struct stream_hub *hub;
  struct http_server *srv;
  uint16_t port;
};

static const char *const no_params[] = {NULL};

static struct fixture *start(const struct stream_options *so) {
  struct fixture *fx = mem_calloc(1, sizeof *fx);
  struct http_options o;
  struct error err;
  struct http_route rt = {HTTP_M_GET, "/api/v1/stream", 0,   no_params,
                          "stream",   stream_hub_serve, NULL};
  fx->hub = stream_hub_new_with(so);
  rt.ctx = fx->hub;
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  error_clear(&err);
  if (http_server_new(&o, &fx->srv, &err) != 0)
    fail_msg("http_server_new: %s", err.msg);
  assert_int_equal(http_server_route(fx->srv, &rt, &err), 0);
  assert_int_equal(http_server_on_stop(fx->srv, stream_hub_stop_hook, fx->hub),
                   0);
  if (http_server_start(fx->srv, &err) != 0)
    fail_msg("http_server_start: %s", err.msg);
  fx->port = http_server_port(fx->srv);
  return fx;
}

static void stop(struct fixture *fx) {
  http_server_free(fx->srv);
  assert_int_equal(stream_hub_clients(fx->hub), 0);
  stream_hub_free(fx->hub);
  mem_free(fx);
}

static struct stream_options opts(uint64_t first_id) {
  struct stream_options so;
  memset(&so, 0, sizeof so);
  so.first_id = first_id;
  so.heartbeat_ms = 60000;
  return so;
}

/* Waits until the hub has 'n' clients (connections are accepted on server
 * threads). */
static void wait_clients(struct stream_hub *hub, size_t n) {
  int64_t until = tc_now_us() + 5000000;
  while (stream_hub_clients(hub) != n) {
    if (tc_now_us() > until)
      fail_msg("expected %zu stream clients, have %zu", n,
               stream_hub_clients(hub));
    usleep(1000);
  }
}

static long metric(struct stream_hub *hub, const char *name);

/* Waits until the hub has accepted 'n' connections in all (clients that
 * went away while parked stay counted in stream_hub_clients until the next
 * write to them finds the socket gone). */
static void wait_connections(struct stream_hub *hub, long n) {
  int64_t until = tc_now_us() + 5000000;
  while (metric(hub, "tilannekuva_sse_connections_total") < n) {
    if (tc_now_us() > until)
      fail_msg("expected %ld stream connections", n);
    usleep(1000);
  }
}

/* ------------------------------------------------------------ SSE client */

struct sse {
  int fd;
  int status;
  char head[8192];
  char *raw; /* undecoded chunked bytes */
  size_t raw_len, raw_cap;
  char *text; /* decoded event-stream text */
  size_t text_len, text_cap;
  bool ended;  /* the terminating chunk came */
  bool closed; /* EOF */
};

static void append(char **buf, size_t *len, size_t *cap, const char *data,
                   size_t n) {
  if (*len + n + 1 > *cap) {
    while (*len + n + 1 > *cap)
      *cap = *cap ? *cap * 2 : 65536;
    *buf = realloc(*buf, *cap);
  }
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static char *find(char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

/* Moves whole chunks from raw to text. */
static void dechunk(struct sse *s) {
  for (;;) {
    char *crlf;
    char *end;
    unsigned long n;
    if (s->ended || s->raw_len == 0)
      return;
    crlf = find(s->raw, s->raw_len, "\r\n");
    if (crlf == NULL)
      return;
    n = strtoul(s->raw, &end, 16);
    assert_true(end <= crlf);
    if (n == 0) {
      s->ended = true;
      return;
    }
    if ((size_t)(crlf + 2 - s->raw) + n + 2 > s->raw_len)
      return;
    append(&s->text, &s->text_len, &s->text_cap, crlf + 2, n);
    assert_memory_equal(crlf + 2 + n, "\r\n", 2);
    {
      size_t used = (size_t)(crlf + 2 - s->raw) + n + 2;
      memmove(s->raw, s->raw + used, s->raw_len - used);
      s->raw_len -= used;
    }
  }
}

/* Reads what is available within 'timeout_ms'; false on timeout. */
static bool sse_pump(struct sse *s, int timeout_ms) {
  struct pollfd p = {s->fd, POLLIN, 0};
  char buf[65536];
  ssize_t n;
  if (s->closed)
    return false;
  if (poll(&p, 1, timeout_ms) <= 0)
    return false;
  n = recv(s->fd, buf, sizeof buf, 0);
  if (n <= 0) {
    s->closed = true;
    return false;
  }
  append(&s->raw, &s->raw_len, &s->raw_cap, buf, (size_t)n);
  dechunk(s);
  return true;
}

/* Reads until the decoded text contains 'needle' (or the stream ends). */
static bool sse_until(struct sse *s, const char *needle, int timeout_ms) {
  int64_t until = tc_now_us() + (int64_t)timeout_ms * 1000;
  while (s->text == NULL || strstr(s->text, needle) == NULL) {
    int64_t left = (until - tc_now_us()) / 1000;
    if (left <= 0 || s->ended || s->closed)
      return s->text != NULL && strstr(s->text, needle) != NULL;
    sse_pump(s, (int)left);
  }
  return true;
}

/* Reads until the stream ends (terminating chunk or EOF). */
static bool sse_until_end(struct sse *s, int timeout_ms) {
  int64_t until = tc_now_us() + (int64_t)timeout_ms * 1000;
  while (!s->ended && !s->closed) {
    int64_t left = (until - tc_now_us()) / 1000;
    if (left <= 0)
      return false;
    sse_pump(s, (int)left);
  }
  return true;
}

/* Connects and reads the response head; the body so far is dechunked. */
static void sse_open_ex(struct sse *s, uint16_t port, const char *extra,
                        int rcvbuf) {
  char req[1024];
  char *sep;
  memset(s, 0, sizeof *s);
  s->fd = tc_connect_ex(port, false, rcvbuf, 10000);
  assert_true(s->fd >= 0);
  snprintf(req, sizeof req,
           "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Accept: text/event-stream\r\n%s\r\n",
           extra != NULL ? extra : "");
  assert_true(tc_send_all(s->fd, req, strlen(req)));
  for (;;) {
    char buf[4096];
    ssize_t n = recv(s->fd, buf, sizeof buf, 0);
    if (n <= 0)
      fail_msg("stream closed before its head");
    append(&s->raw, &s->raw_len, &s->raw_cap, buf, (size_t)n);
    sep = find(s->raw, s->raw_len, "\r\n\r\n");
    if (sep != NULL)
      break;
  }
  {
    size_t hl = (size_t)(sep - s->raw) + 2;
    assert_true(hl < sizeof s->head);
    memcpy(s->head, s->raw, hl);
    s->head[hl] = '\0';
    s->status = atoi(s->raw + 9);
    memmove(s->raw, sep + 4, s->raw_len - hl - 2);
    s->raw_len -= hl + 2;
  }
  if (s->status == 200)
    dechunk(s);
}

static void sse_open(struct sse *s, uint16_t port, const char *extra) {
  sse_open_ex(s, port, extra, 0);
}

static void sse_close(struct sse *s) {
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  free(s->raw);
  free(s->text);
  s->raw = s->text = NULL;
}

static const char *head_value(const struct sse *s, const char *name) {
  static char v[512];
  return tc_header_in(s->head, name, v, sizeof v) ? v : NULL;
}

/* ------------------------------------------------------------ tests */

struct pub {
  struct stream_hub *hub;
  const char *event, *data;
  uint64_t id;
};

static void *publish_thread(void *arg) {
  struct pub *p = arg;
  p->id = stream_hub_publish(p->hub, p->event, p->data);
  return NULL;
}

/* Publishes from another thread, as the writer does. */
static uint64_t publish_from_thread(struct stream_hub *hub, const char *event,
                                    const char *data) {
  pthread_t t;
  struct pub p = {hub, event, data, 0};
  assert_int_equal(pthread_create(&t, NULL, publish_thread, &p), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  return p.id;
}

static void test_frames(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx = start(&so);
  struct sse s;
  static const char bb[] =
      "{\"version\":7,\"as_of\":\"2026-11-23T10:00:00.000Z\","
      "\"changed\":[\"ward-a\",\"ward-b\"]}";
  (void)state;
  sse_open(&s, fx->port, NULL);
  assert_int_equal(s.status, 200);
  assert_string_equal(head_value(&s, "Content-Type"),
                      "text/event-stream; charset=utf-8");
  assert_string_equal(head_value(&s, "Cache-Control"), "no-store");
  assert_string_equal(head_value(&s, "X-Accel-Buffering"), "no");
  assert_string_equal(head_value(&s, "Transfer-Encoding"), "chunked");
  assert_string_equal(head_value(&s, "X-Content-Type-Options"), "nosniff");
  assert_non_null(head_value(&s, "Content-Security-Policy"));
  assert_true(sse_until(&s, "retry: 2000\n\n", 5000));
  assert_string_equal(s.text, "retry: 2000\n\n");
  wait_clients(fx->hub, 1);

  assert_int_equal(publish_from_thread(fx->hub, "bedboard", bb), 1);
  assert_true(sse_until(&s, "\n\n", 5000));
  assert_true(sse_until(&s, "ward-b\"]}\n\n", 5000));
  assert_string_equal(s.text,
                      "retry: 2000\n\nid: 1\nevent: bedboard\ndata: "
                      "{\"version\":7,\"as_of\":\"2026-11-23T10:00:00.000Z\","
                      "\"changed\":[\"ward-a\",\"ward-b\"]}\n\n");

  /* Line breaks of every kind become separate data lines. */
  assert_int_equal(publish_from_thread(fx->hub, "status", "a\nb\r\nc\rd"), 2);
  assert_int_equal(publish_from_thread(fx->hub, "x.y-z_1", ""), 3);
  assert_int_equal(publish_from_thread(fx->hub, "t", "end\n"), 4);
  assert_true(sse_until(&s, "id: 4\nevent: t\ndata: end\ndata: \n\n", 5000));
  assert_non_null(strstr(s.text, "\n\nid: 2\nevent: status\ndata: a\ndata: "
                                 "b\ndata: c\ndata: d\n\nid: 3\nevent: "
                                 "x.y-z_1\ndata: \n\nid: 4\n"));
  assert_int_equal(stream_hub_last_id(fx->hub), 4);
  sse_close(&s);
  stop(fx);
}

static void test_replay(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx;
  struct sse s;
  char ev[32];
  (void)state;
  so.history = 4;
  fx = start(&so);
  for (int i = 1; i <= 5; i++) {
    snprintf(ev, sizeof ev, "{\"n\":%d}", i);
    assert_int_equal(stream_hub_publish(fx->hub, "bedboard", ev), (uint64_t)i);
  }
  /* Missed 4 and 5: replayed in order. */
  sse_open(&s, fx->port, "Last-Event-ID: 3\r\n");
  assert_true(sse_until(&s, "id: 5\n", 5000));
  assert_true(sse_until(&s, "{\"n\":5}\n\n", 5000));
  assert_string_equal(s.text, "retry: 2000\n\nid: 4\nevent: bedboard\ndata: "
                              "{\"n\":4}\n\nid: 5\nevent: bedboard\ndata: "
                              "{\"n\":5}\n\n");
  sse_close(&s);
  /* Oldest in history (2) still there. */
  sse_open(&s, fx->port, "Last-Event-ID: 1\r\n");
  assert_true(sse_until(&s, "{\"n\":5}\n\n", 5000));
  assert_non_null(strstr(s.text, "retry: 2000\n\nid: 2\n"));
  assert_null(strstr(s.text, "id: 1\n"));
  sse_close(&s);
  /* Up to date: nothing but retry, then live events. */
  sse_open(&s, fx->port, "Last-Event-ID: 5\r\n");
  assert_true(sse_until(&s, "retry: 2000\n\n", 5000));
  wait_connections(fx->hub, 3);
  assert_int_equal(stream_hub_publish(fx->hub, "bedboard", "{\"n\":6}"), 6);
  assert_true(sse_until(&s, "{\"n\":6}\n\n", 5000));
  assert_string_equal(
      s.text, "retry: 2000\n\nid: 6\nevent: bedboard\ndata: {\"n\":6}\n\n");
  sse_close(&s);
  /* Too old, or from the future (another process): reset, then live. */
  sse_open(&s, fx->port, "Last-Event-ID: 1\r\n"); /* history now 3..6 */
  assert_true(sse_until(&s, "reason", 5000));
  assert_true(sse_until(&s, "}\n\n", 5000));
  assert_string_equal(
      s.text, "retry: 2000\n\nevent: reset\ndata: {\"reason\":\"gap\"}\n\n");
  sse_close(&s);
  sse_open(&s, fx->port, "Last-Event-ID: 99\r\n");
  assert_true(sse_until(&s, "\"gap\"}\n\n", 5000));
  wait_connections(fx->hub, 5);
  assert_int_equal(stream_hub_publish(fx->hub, "bedboard", "{\"n\":7}"), 7);
  assert_true(sse_until(&s, "{\"n\":7}\n\n", 5000));
  sse_close(&s);
  /* A malformed Last-Event-ID is ignored. */
  sse_open(&s, fx->port, "Last-Event-ID: 3x\r\n");
  assert_true(sse_until(&s, "retry: 2000\n\n", 5000));
  wait_connections(fx->hub, 6);
  assert_int_equal(stream_hub_publish(fx->hub, "bedboard", "{\"n\":8}"), 8);
  assert_true(sse_until(&s, "{\"n\":8}\n\n", 5000));
  assert_string_equal(
      s.text, "retry: 2000\n\nid: 8\nevent: bedboard\ndata: {\"n\":8}\n\n");
  sse_close(&s);
  stop(fx);
}

static void test_ids_from_clock(void **state) {
  struct stream_hub *a = stream_hub_new();
  struct stream_hub *b;
  uint64_t ia, ib;
  (void)state;
  ia = stream_hub_publish(a, "x", "1");
  usleep(2000);
  b = stream_hub_new();
  ib = stream_hub_publish(b, "x", "1");
  /* A later hub's ids are above an earlier one's (restarts). */
  assert_true(ia > 1000000000000000ull);
  assert_true(ib > ia);
  assert_int_equal(stream_hub_publish(a, "x", "2"), ia + 1);
  stream_hub_free(a);
  stream_hub_free(b);
}

static void test_heartbeat(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx;
  struct sse s;
  (void)state;
  so.heartbeat_ms = 100;
  fx = start(&so);
  sse_open(&s, fx->port, NULL);
  assert_true(sse_until(&s, "retry: 2000\n\n: keepalive\n\n", 3000));
  assert_true(sse_until(&s, ": keepalive\n\n: keepalive\n\n", 3000));
  sse_close(&s);
  stop(fx);
}

static long metric(struct stream_hub *hub, const char *name) {
  struct buf b;
  const char *p;
  long v = -1;
  char key[128];
  buf_init(&b, 65536);
  assert_int_equal(stream_hub_metrics(hub, &b), 0);
  snprintf(key, sizeof key, "\n%s ", name);
  p = strstr(buf_str(&b), key);
  if (p != NULL)
    v = atol(p + strlen(key));
  buf_release(&b);
  return v;
}

static void test_slow_client_dropped(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx;
  struct sse slow, fast;
  char *big;
  size_t nbig = 64 * 1024;
  uint64_t published = 0;
  char last[64];
  (void)state;
  so.queue_max = 16;
  fx = start(&so);
  sse_open_ex(&slow, fx->port, NULL, 4096);
  sse_open(&fast, fx->port, NULL);
  wait_clients(fx->hub, 2);
  big = mem_alloc(nbig + 1);
  memset(big, 'x', nbig);
  big[nbig] = '\0';
  /* The fast client reads each event before the next is published; the
   * slow one reads nothing until it has been dropped. */
  for (int i = 0; i < 2000 &&
                  metric(fx->hub, "tilannekuva_sse_clients_dropped_total") == 0;
       i++) {
    char want[64];
    published = stream_hub_publish(fx->hub, "big", big);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long)published);
    assert_true(sse_until(&fast, want, 10000));
  }
  assert_int_equal(metric(fx->hub, "tilannekuva_sse_clients_dropped_total"), 1);
  assert_true(published > 16);
  /* The fast client still gets every event, the last one included. */
  {
    size_t expect = strlen("retry: 2000\n\n");
    int64_t until = tc_now_us() + 60000000;
    const char *p = fast.text;
    for (uint64_t id = 1; id <= published; id++)
      expect += (size_t)snprintf(
                    last, sizeof last,
                    "id: %llu\nevent: big\ndata: ", (unsigned long long)id) +
                nbig + 2;
    while (fast.text_len < expect && tc_now_us() < until)
      sse_pump(&fast, 1000);
    assert_int_equal(fast.text_len, expect);
    /* Every id 1..published, in order, each frame complete. */
    p = fast.text;
    for (uint64_t id = 1; id <= published; id++) {
      char want[64];
      snprintf(want, sizeof want,
               "id: %llu\nevent: big\ndata: ", (unsigned long long)id);
      p = strstr(p, want);
      assert_non_null(p);
      p += strlen(want) + nbig;
      assert_memory_equal(p, "\n\n", 2);
    }
  }
  /* The slow client: whatever it had, then the reset, then the end. */
  assert_true(sse_until_end(&slow, 30000));
  assert_true(slow.ended);
  assert_true(slow.text_len > strlen("event: reset"));
  {
    static const char reset[] =
        "event: reset\ndata: {\"reason\":\"overflow\"}\n\n";
    size_t rl = sizeof reset - 1;
    const char *p = slow.text + strlen("retry: 2000\n\n");
    uint64_t next = 1;
    assert_memory_equal(slow.text + slow.text_len - rl, reset, rl);
    /* The frames before the reset are whole and consecutive. */
    while ((size_t)(p - slow.text) < slow.text_len - rl) {
      char want[64];
      snprintf(want, sizeof want,
               "id: %llu\nevent: big\ndata: ", (unsigned long long)next);
      assert_memory_equal(p, want, strlen(want));
      p += strlen(want) + nbig;
      assert_memory_equal(p, "\n\n", 2);
      p += 2;
      next++;
    }
    assert_true(next - 1 < published);
  }
  wait_clients(fx->hub, 1);
  sse_close(&slow);
  sse_close(&fast);
  mem_free(big);
  stop(fx);
}

static void test_many_clients(void **state) {
  enum { NCLIENTS = 40, NEVENTS = 100 };
  struct stream_options so = opts(1);
  struct fixture *fx = start(&so);
  struct sse *c = mem_calloc(NCLIENTS, sizeof *c);
  char data[64];
  (void)state;
  for (int i = 0; i < NCLIENTS; i++)
    sse_open(&c[i], fx->port, NULL);
  wait_clients(fx->hub, NCLIENTS);
  for (int e = 1; e <= NEVENTS; e++) {
    snprintf(data, sizeof data, "{\"n\":%d}", e);
    assert_int_equal(stream_hub_publish(fx->hub, "bedboard", data),
                     (uint64_t)e);
  }
  for (int i = 0; i < NCLIENTS; i++) {
    const char *p;
    assert_true(sse_until(&c[i], "{\"n\":100}\n\n", 10000));
    p = c[i].text + strlen("retry: 2000\n\n");
    for (int e = 1; e <= NEVENTS; e++) {
      char want[96];
      int n = snprintf(want, sizeof want,
                       "id: %d\nevent: bedboard\ndata: {\"n\":%d}\n\n", e, e);
      assert_memory_equal(p, want, (size_t)n);
      p += n;
    }
    assert_int_equal(*p, '\0');
  }
  assert_int_equal(metric(fx->hub, "tilannekuva_sse_clients"), NCLIENTS);
  assert_int_equal(metric(fx->hub, "tilannekuva_sse_events_total"), NEVENTS);
  assert_int_equal(metric(fx->hub, "tilannekuva_sse_connections_total"),
                   NCLIENTS);
  /* Stopping the server with every client parked must not hang or leak. */
  http_server_stop(fx->srv);
  assert_int_equal(stream_hub_clients(fx->hub), 0);
  for (int i = 0; i < NCLIENTS; i++) {
    assert_true(sse_until_end(&c[i], 5000));
    sse_close(&c[i]);
  }
  mem_free(c);
  stop(fx);
}

/* Publishes at about 1 kHz with the send time in the data; each client
 * thread records how long each event took to arrive. */
struct lat_client {
  struct sse s;
  int64_t *lat_us;
  int got;
};

#define LAT_EVENTS 1000

static void *lat_reader(void *arg) {
  struct lat_client *lc = arg;
  size_t pos = 0;
  int n = 0;
  while (n < LAT_EVENTS) {
    char *nl;
    if (!sse_pump(&lc->s, 10000))
      break;
    /* Each "data: T\n" arrival is timed as soon as it is seen. */
    while ((nl = strstr(lc->s.text + pos, "data: ")) != NULL) {
      char *end = strchr(nl, '\n');
      if (end == NULL)
        break;
      lc->lat_us[n++] = tc_now_us() - atoll(nl + 6);
      pos = (size_t)(end - lc->s.text) + 1;
    }
  }
  lc->got = n;
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_latency(void **state) {
  enum { NCLIENTS = 10, NEVENTS = LAT_EVENTS };
  struct stream_options so = opts(1);
  struct fixture *fx = start(&so);
  struct lat_client *lc = mem_calloc(NCLIENTS, sizeof *lc);
  pthread_t th[NCLIENTS];
  int64_t *all = mem_alloc(sizeof *all * NCLIENTS * NEVENTS);
  size_t nall = 0;
  int64_t t0;
  (void)state;
  for (int i = 0; i < NCLIENTS; i++) {
    sse_open(&lc[i].s, fx->port, NULL);
    assert_true(sse_until(&lc[i].s, "retry: 2000\n\n", 5000));
    lc[i].lat_us = mem_alloc(sizeof(int64_t) * NEVENTS);
  }
  wait_clients(fx->hub, NCLIENTS);
  for (int i = 0; i < NCLIENTS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, lat_reader, &lc[i]), 0);
  t0 = tc_now_us();
  for (int e = 0; e < NEVENTS; e++) {
    char data[32];
    int64_t due = t0 + (int64_t)e * 1000;
    while (tc_now_us() < due)
      usleep(100);
    snprintf(data, sizeof data, "%lld", (long long)tc_now_us());
    assert_true(stream_hub_publish(fx->hub, "tick", data) > 0);
  }
  for (int i = 0; i < NCLIENTS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(lc[i].got, NEVENTS);
    memcpy(all + nall, lc[i].lat_us, sizeof(int64_t) * NEVENTS);
    nall += NEVENTS;
    mem_free(lc[i].lat_us);
    sse_close(&lc[i].s);
  }
  qsort(all, nall, sizeof *all, cmp64);
  printf("stream latency over %zu receipts at 1 kHz: p50 %.3f ms, p99 %.3f "
         "ms, max %.3f ms\n",
         nall, (double)all[nall / 2] / 1000,
         (double)all[nall * 99 / 100] / 1000, (double)all[nall - 1] / 1000);
  /* The bench goal is p99 < 100 ms from ACK to receipt on a quiet machine
   * (bench/); here the machine may be busy with other work, so the test
   * only bounds the median and the worst case and prints the rest. */
  assert_true(all[nall / 2] < 20000);
  assert_true(all[nall - 1] < 2000000);
  mem_free(all);
  mem_free(lc);
  stop(fx);
}

/* One event at a time, each alone: a lost wake-up would leave it queued
 * (nothing else publishes, heartbeats are a minute apart) and the read
 * would time out. */
static void test_no_lost_wakeups(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx = start(&so);
  struct sse a, b;
  (void)state;
  sse_open(&a, fx->port, NULL);
  sse_open(&b, fx->port, NULL);
  assert_true(sse_until(&a, "retry: 2000\n\n", 5000));
  assert_true(sse_until(&b, "retry: 2000\n\n", 5000));
  wait_clients(fx->hub, 2);
  for (int i = 1; i <= 200; i++) {
    char want[64], data[16];
    snprintf(want, sizeof want, "id: %d\nevent: n\ndata: %d\n\n", i, i);
    snprintf(data, sizeof data, "%d", i);
    assert_int_equal(stream_hub_publish(fx->hub, "n", data), (uint64_t)i);
    /* Vary the gap so publishing races both parked and reading states. */
    if (i % 3 == 0)
      usleep((useconds_t)(i % 7) * 300);
    if (!sse_until(&a, want, 3000) || !sse_until(&b, want, 3000))
      fail_msg("event %d not delivered", i);
  }
  sse_close(&a);
  sse_close(&b);
  stop(fx);
}

static void test_disconnect_while_parked(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx = start(&so);
  struct sse s;
  (void)state;
  sse_open(&s, fx->port, NULL);
  assert_true(sse_until(&s, "retry: 2000\n\n", 5000));
  wait_clients(fx->hub, 1);
  usleep(20000); /* parked (suspended) by now */
  sse_close(&s);
  /* The next writes find the socket gone; the client is freed. */
  for (int i = 0; i < 200 && stream_hub_clients(fx->hub) > 0; i++) {
    assert_true(stream_hub_publish(fx->hub, "x", "y") > 0);
    usleep(10000);
  }
  assert_int_equal(stream_hub_clients(fx->hub), 0);
  stop(fx);
}

static void test_close_all_and_limits(void **state) {
  struct stream_options so = opts(1);
  struct fixture *fx;
  struct sse a, b, c;
  struct tc_response r;
  (void)state;
  so.max_clients = 2;
  fx = start(&so);
  sse_open(&a, fx->port, NULL);
  sse_open(&b, fx->port, NULL);
  wait_clients(fx->hub, 2);
  /* A third client is refused. */
  sse_open(&c, fx->port, "Connection: close\r\n");
  assert_int_equal(c.status, 503);
  assert_string_equal(head_value(&c, "Retry-After"), "5");
  sse_close(&c);
  assert_true(tc_get(fx->port, "/api/v1/stream", &r));
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body, "\"code\":\"too_many_streams\""));
  tc_response_free(&r);
  /* HEAD answers without becoming a client. */
  assert_true(tc_request(fx->port, "HEAD", "/api/v1/stream", NULL, &r));
  assert_int_equal(r.status, 200);
  assert_string_equal(tc_header(&r, "Content-Type"),
                      "text/event-stream; charset=utf-8");
  assert_int_equal(r.body_len, 0);
  tc_response_free(&r);
  assert_int_equal(stream_hub_clients(fx->hub), 2);

  /* Queued events are delivered before the streams end. */
  assert_int_equal(stream_hub_publish(fx->hub, "last", "bye"), 1);
  assert_int_equal(stream_hub_close_all(fx->hub, 5000), 0);
  assert_true(sse_until_end(&a, 5000));
  assert_true(a.ended);
  assert_string_equal(a.text,
                      "retry: 2000\n\nid: 1\nevent: last\ndata: bye\n\n");
  assert_true(sse_until_end(&b, 5000));
  sse_close(&a);
  sse_close(&b);
  /* Closed: new streams get 503 "unavailable". */
  assert_true(tc_get(fx->port, "/api/v1/stream", &r));
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body, "\"code\":\"unavailable\""));
  tc_response_free(&r);
  stop(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames),
      cmocka_unit_test(test_replay),
      cmocka_unit_test(test_ids_from_clock),
      cmocka_unit_test(test_heartbeat),
      cmocka_unit_test(test_slow_client_dropped),
      cmocka_unit_test(test_many_clients),
      cmocka_unit_test(test_latency),
      cmocka_unit_test(test_no_lost_wakeups),
      cmocka_unit_test(test_disconnect_while_parked),
      cmocka_unit_test(test_close_all_and_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
