/* mllp_ingest.c -- MLLP ingest benchmark client.
 *
 * N sender threads, each with its own connection, each sending one ADT
 * message and waiting for its ACK before the next (as real MLLP senders
 * do). Each sender alternates admission (A01) and discharge (A03) of its own
 * visit, so the server's state stays bounded however long the run.
 * Prints messages/s and ACK latency p50/p99 over the measured window.
 *
 *   mllp_ingest HOST PORT SENDERS SECONDS [WARMUP_SECONDS]
 *
 * Output, one line: "senders=N messages=M seconds=S rate=R p50_us=A
 * p99_us=B non_aa=C". Exit 1 when a connection fails. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

#define MAX_SENDERS 1024
#define LAT_CAP (1u << 22)

struct sender {
  int id;
  pthread_t th;
  uint32_t *lat; /* microseconds, measured window only */
  size_t nlat;
  uint64_t non_aa;
  int failed;
  const char *why; /* when failed */
  int err;         /* errno, when failed */
};

static const char *host;
static int port;
static atomic_int phase; /* 0 warmup, 1 measure, 2 stop */

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int connect_to(void) {
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

static void *run(void *arg) {
  struct sender *s = arg;
  char msg[1024];
  char in[8192];
  uint64_t i = 0;
  int fd = connect_to();
  if (fd < 0) {
    s->failed = 1;
    s->why = "cannot connect";
    s->err = errno;
    return NULL;
  }
  while (atomic_load(&phase) < 2) {
    int n;
    size_t got = 0;
    int64_t t0;
    const char *trig = (i % 2 == 0) ? "A01" : "A03";
    n = snprintf(msg, sizeof msg,
                 "\x0bMSH|^~\\&|LOADGEN|TEST|TK|TK|20261123101500||ADT^%s^"
                 "ADT_A01|B%d-%llu|P|2.5\r"
                 "EVN|%s|20261123101500\r"
                 "PID|1||131052-308T^^^1.2.246.21^NNFIN||Testi^Potilas||"
                 "19521013|F\r"
                 "PV1|1|I|W1^^||||||||||||||||BV%d-%llu\r\x1c\r",
                 trig, s->id, (unsigned long long)i, trig, s->id,
                 (unsigned long long)(i / 2));
    t0 = now_us();
    if (write(fd, msg, (size_t)n) != n) {
      s->failed = 1;
      s->why = "write failed";
      s->err = errno;
      break;
    }
    for (;;) {
      ssize_t r = read(fd, in + got, sizeof in - got);
      if (r <= 0) {
        s->failed = 1;
        s->why = r == 0 ? "server closed the connection" : "read failed";
        s->err = r == 0 ? 0 : errno;
        goto out;
      }
      got += (size_t)r;
      if (got >= 2 && in[got - 2] == 0x1c && in[got - 1] == 0x0d)
        break;
      if (got == sizeof in) {
        s->failed = 1;
        s->why = "ACK too long";
        goto out;
      }
    }
    if (memmem(in, got, "MSA|AA|", 7) == NULL)
      s->non_aa++;
    if (atomic_load(&phase) == 1 && s->nlat < LAT_CAP)
      s->lat[s->nlat++] = (uint32_t)(now_us() - t0);
    i++;
  }
out:
  close(fd);
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n;
  double secs, warm = 1.0;
  struct sender *ss;
  size_t total = 0, k = 0;
  uint64_t non_aa = 0;
  uint32_t *all;
  int64_t t0, t1;
  if (argc < 5) {
    fprintf(stderr, "usage: mllp_ingest HOST PORT SENDERS SECONDS [WARMUP]\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  n = atoi(argv[3]);
  secs = atof(argv[4]);
  if (argc > 5)
    warm = atof(argv[5]);
  if (n < 1 || n > MAX_SENDERS)
    return 2;
  ss = calloc((size_t)n, sizeof *ss);
  for (int i = 0; i < n; i++) {
    ss[i].id = i + (int)(now_us() % 100000) * 1000;
    ss[i].lat = malloc(LAT_CAP * sizeof(uint32_t));
    pthread_create(&ss[i].th, NULL, run, &ss[i]);
  }
  usleep((useconds_t)(warm * 1e6));
  atomic_store(&phase, 1);
  t0 = now_us();
  usleep((useconds_t)(secs * 1e6));
  atomic_store(&phase, 2);
  t1 = now_us();
  for (int i = 0; i < n; i++) {
    pthread_join(ss[i].th, NULL);
    if (ss[i].failed) {
      fprintf(stderr, "sender %d failed: %s%s%s\n", i, ss[i].why,
              ss[i].err ? ": " : "", ss[i].err ? strerror(ss[i].err) : "");
      return 1;
    }
    total += ss[i].nlat;
    non_aa += ss[i].non_aa;
  }
  all = malloc((total ? total : 1) * sizeof *all);
  for (int i = 0; i < n; i++) {
    memcpy(all + k, ss[i].lat, ss[i].nlat * sizeof *all);
    k += ss[i].nlat;
  }
  qsort(all, total, sizeof *all, cmp_u32);
  printf("senders=%d messages=%zu seconds=%.2f rate=%.0f p50_us=%u p99_us=%u "
         "non_aa=%llu\n",
         n, total, (double)(t1 - t0) / 1e6,
         (double)total / ((double)(t1 - t0) / 1e6), total ? all[total / 2] : 0,
         total ? all[total * 99 / 100] : 0, (unsigned long long)non_aa);
  return 0;
}
