/* freshness.c -- how fresh the live stream is: from a message's ACK to the
 * bed-board event reaching a server-sent-events client.
 *
 * One SSE client reads GET /api/v1/stream and stamps every "bedboard" event
 * as it arrives. One MLLP sender sends N messages at RATE a second (an
 * admission and a discharge in turn, each a bed-board change), stamps each
 * ACK, and pairs it with the first event that arrives after the message was
 * sent. Prints the distribution of (event received - ACK received): a
 * negative value means the event beat the ACK to the client.
 *
 *   freshness HOST MLLP_PORT HTTP_PORT N RATE [BEARER_TOKEN]
 *
 * Output, one line: "events=N rate=R p50_us=A p99_us=B max_us=C missed=M". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS (1u << 20)

static const char *host;
static int http_port;
static const char *token;
static int64_t *ev_time; /* arrival of each bedboard event */
static atomic_uint_fast64_t nev;
static atomic_int stop;

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int dial(int port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void *sse_main(void *arg) {
  char req[1024], buf[65536];
  int fd = dial(http_port);
  size_t keep = 0;
  (void)arg;
  if (fd < 0) {
    fprintf(stderr, "cannot connect to the stream\n");
    exit(1);
  }
  snprintf(req, sizeof req,
           "GET /api/v1/stream HTTP/1.1\r\nHost: %s\r\nAccept: "
           "text/event-stream\r\n%s%s%sConnection: keep-alive\r\n\r\n",
           host, token ? "Authorization: Bearer " : "", token ? token : "",
           token ? "\r\n" : "");
  if (write(fd, req, strlen(req)) < 0)
    exit(1);
  while (!atomic_load(&stop)) {
    ssize_t r = read(fd, buf + keep, sizeof buf - keep - 1);
    int64_t t = now_us();
    char *p;
    if (r <= 0)
      break;
    keep += (size_t)r;
    buf[keep] = '\0';
    /* Count complete "event: bedboard" lines; keep a partial tail. */
    p = buf;
    for (;;) {
      char *e = strstr(p, "event: bedboard\n");
      if (e == NULL)
        break;
      {
        uint64_t i = atomic_load(&nev);
        if (i < MAX_EVENTS)
          ev_time[i] = t;
        atomic_store(&nev, i + 1);
      }
      p = e + 16;
    }
    keep = strlen(p) < 64 ? strlen(p) : 64;
    memmove(buf, p + strlen(p) - keep, keep);
  }
  close(fd);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int mport, n, rate, fd;
  pthread_t th;
  int64_t *lat, t0;
  int got = 0, missed = 0;
  char msg[1024], in[8192];
  if (argc < 6) {
    fprintf(stderr, "usage: freshness HOST MLLP_PORT HTTP_PORT N RATE "
                    "[TOKEN]\n");
    return 2;
  }
  host = argv[1];
  mport = atoi(argv[2]);
  http_port = atoi(argv[3]);
  n = atoi(argv[4]);
  rate = atoi(argv[5]);
  token = argc > 6 ? argv[6] : NULL;
  ev_time = calloc(MAX_EVENTS, sizeof *ev_time);
  lat = calloc((size_t)n, sizeof *lat);
  pthread_create(&th, NULL, sse_main, NULL);
  usleep(300000);
  fd = dial(mport);
  if (fd < 0)
    return 1;
  t0 = now_us();
  for (int i = 0; i < n; i++) {
    int64_t due = t0 + (int64_t)i * 1000000 / rate, tack, deadline;
    uint64_t before;
    size_t k = 0;
    int len;
    const char *trig = i % 2 == 0 ? "A01" : "A03";
    while (now_us() < due)
      ;
    len =
        snprintf(msg, sizeof msg,
                 "\x0bMSH|^~\\&|LOADGEN|TEST|TK|TK|20261123101500||ADT^%s|"
                 "F%lld-%d|P|2.5\rEVN|%s|20261123101500\rPID|1||131052-308T"
                 "^^^1.2.246.21^NNFIN\rPV1|1|I|W1^^||||||||||||||||FV%lld-%d\r"
                 "\x1c\r",
                 trig, (long long)t0, i, trig, (long long)t0, i / 2);
    before = atomic_load(&nev);
    if (write(fd, msg, (size_t)len) != len)
      return 1;
    for (;;) {
      ssize_t r = read(fd, in + k, sizeof in - k);
      if (r <= 0)
        return 1;
      k += (size_t)r;
      if (k >= 2 && in[k - 2] == 0x1c && in[k - 1] == 0x0d)
        break;
    }
    tack = now_us();
    deadline = tack + 1000000;
    while (atomic_load(&nev) <= before && now_us() < deadline)
      ;
    if (atomic_load(&nev) > before) {
      lat[got++] = ev_time[before] - tack;
    } else {
      missed++;
    }
  }
  atomic_store(&stop, 1);
  qsort(lat, (size_t)got, sizeof *lat, cmp64);
  printf("events=%d rate=%d p50_us=%lld p99_us=%lld max_us=%lld missed=%d\n",
         got, rate, got ? (long long)lat[got / 2] : 0,
         got ? (long long)lat[got * 99 / 100] : 0,
         got ? (long long)lat[got - 1] : 0, missed);
  return 0;
}
