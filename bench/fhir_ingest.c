/* fhir_ingest.c -- FHIR R4 ingest benchmark client.
 *
 * N connections (one thread each, HTTP/1.1 keep-alive), each first posting
 * a transaction Bundle of its own Schedules (professionals at Location/X),
 * then Bundles of B Slots (type batch or transaction) to POST /fhir/r4 and
 * waiting for each response before the next, as a source system's sender
 * does. The server answers only after the resources are durable (see
 * src/api_fhir.h), so every counted resource is committed and fsync'ed.
 * Every response must be 200 with B "201 Created" entries; anything else
 * is counted as an error. Slot ids are unique per run, so nothing is a
 * resend. Prints resources/s and Bundle latency p50/p99 over the measured
 * window.
 *
 *   fhir_ingest HOST PORT TOKEN CONNECTIONS SECONDS BUNDLE_SIZE
 *               batch|transaction [WARMUP_SECONDS]
 *
 * Output, one line: "type=T connections=N bundle=B resources=R seconds=S
 * rate=X p50_ms=A p99_ms=B errors=E". Exit 1 when a connection fails. */
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
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define LAT_CAP (1u << 20)
#define SCHEDULES 8
#define RESP_MAX (8u << 20)

struct conn {
  int id;
  pthread_t th;
  uint32_t *lat; /* microseconds, measured window only */
  size_t nlat;
  uint64_t resources, errors;
  int failed;
  char why[256];
};

static const char *host, *token, *btype;
static int port, bundle;
static unsigned run_id;
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

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* POSTs 'body' to /fhir/r4 and reads the response into 'resp' (RESP_MAX).
 * Returns the status, or -1 on a connection failure. */
static int post(int fd, const char *body, size_t len, char *resp,
                size_t *rlen) {
  char head[1024];
  size_t got = 0, hend = 0, clen = 0;
  int hn = snprintf(head, sizeof head,
                    "POST /fhir/r4 HTTP/1.1\r\nHost: %s:%d\r\n"
                    "Authorization: Bearer %s\r\n"
                    "Content-Type: application/fhir+json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    host, port, token, len);
  char *p;
  if (write_all(fd, head, (size_t)hn) != 0 || write_all(fd, body, len) != 0)
    return -1;
  for (;;) {
    ssize_t r = read(fd, resp + got, RESP_MAX - 1 - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
    resp[got] = '\0';
    if (hend == 0 && (p = strstr(resp, "\r\n\r\n")) != NULL) {
      char *cl;
      hend = (size_t)(p - resp) + 4;
      cl = strcasestr(resp, "\r\ncontent-length:");
      if (cl == NULL || cl > p)
        return -1; /* chunked replies are not expected */
      clen = strtoul(cl + 17, NULL, 10);
    }
    if (hend != 0 && got >= hend + clen)
      break;
    if (got >= RESP_MAX - 1)
      return -1;
  }
  *rlen = got;
  return atoi(resp + 9);
}

static size_t count_of(const char *s, const char *what) {
  size_t n = 0, wl = strlen(what);
  while ((s = strstr(s, what)) != NULL) {
    n++;
    s += wl;
  }
  return n;
}

static void fmt_time(int64_t secs, char out[32]) {
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void *run(void *arg) {
  struct conn *c = arg;
  size_t cap = 4096 + (size_t)bundle * 1024, len;
  char *body = malloc(cap), *resp = malloc(RESP_MAX);
  uint64_t i = 0;
  size_t rlen;
  int fd = connect_to(), st;
  if (fd < 0 || body == NULL || resp == NULL) {
    c->failed = 1;
    snprintf(c->why, sizeof c->why, "cannot connect");
    goto out;
  }
  /* the Schedules: one transaction */
  len =
      (size_t)snprintf(body, cap,
                       "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                       "\"entry\":[");
  for (int k = 0; k < SCHEDULES; k++)
    len += (size_t)snprintf(
        body + len, cap - len,
        "%s{\"request\":{\"method\":\"PUT\",\"url\":\"Schedule/s%u-%d-%d\"},"
        "\"resource\":{\"resourceType\":\"Schedule\",\"id\":\"s%u-%d-%d\","
        "\"specialty\":[{\"coding\":[{\"code\":\"%s\"}]}],\"actor\":[{"
        "\"reference\":\"Practitioner/p%u-%d-%d\"},{\"reference\":"
        "\"Location/X\"}]}}",
        k ? "," : "", run_id, c->id, k, run_id, c->id, k,
        k % 3 == 0 ? "physician" : "nurse", run_id, c->id, k);
  len += (size_t)snprintf(body + len, cap - len, "]}");
  st = post(fd, body, len, resp, &rlen);
  if (st != 200) {
    c->failed = 1;
    snprintf(c->why, sizeof c->why, "schedules: status %d: %.200s", st,
             st > 0 ? strstr(resp, "\r\n\r\n") : "");
    goto out;
  }
  while (atomic_load(&phase) < 2) {
    int64_t t0;
    len = (size_t)snprintf(body, cap,
                           "{\"resourceType\":\"Bundle\",\"type\":\"%s\","
                           "\"entry\":[",
                           btype);
    for (int k = 0; k < bundle; k++, i++) {
      char a[32], b[32];
      int64_t start = 1800000000 + (int64_t)(i / SCHEDULES) * 1200;
      fmt_time(start, a);
      fmt_time(start + 1200, b);
      len += (size_t)snprintf(
          body + len, cap - len,
          "%s{\"request\":{\"method\":\"POST\",\"url\":\"Slot\"},"
          "\"resource\":{\"resourceType\":\"Slot\",\"id\":\"t%u-%d-%llu\","
          "\"schedule\":{\"reference\":\"Schedule/s%u-%d-%d\"},"
          "\"status\":\"%s\",\"appointmentType\":{\"coding\":[{\"system\":"
          "\"http://terminology.hl7.org/CodeSystem/v2-0276\",\"code\":"
          "\"ROUTINE\"}]},\"start\":\"%s\",\"end\":\"%s\"}}",
          k ? "," : "", run_id, c->id, (unsigned long long)i, run_id, c->id,
          (int)(i % SCHEDULES), i % 4 == 0 ? "busy" : "free", a, b);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    t0 = now_us();
    st = post(fd, body, len, resp, &rlen);
    if (st < 0) {
      c->failed = 1;
      snprintf(c->why, sizeof c->why, "connection lost");
      break;
    }
    if (st != 200 || count_of(resp, "201 Created") != (size_t)bundle) {
      if (c->errors++ == 0)
        snprintf(c->why, sizeof c->why, "status %d: %.200s", st,
                 strstr(resp, "\r\n\r\n") ? strstr(resp, "\r\n\r\n") : "");
      continue;
    }
    if (atomic_load(&phase) == 1) {
      if (c->nlat < LAT_CAP)
        c->lat[c->nlat++] = (uint32_t)(now_us() - t0);
      c->resources += (uint64_t)bundle;
    }
  }
out:
  if (fd >= 0)
    close(fd);
  free(body);
  free(resp);
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n;
  double secs, warm = 1.0;
  struct conn *cs;
  size_t total = 0, k = 0;
  uint64_t resources = 0, errors = 0;
  uint32_t *all;
  int64_t t0, t1;
  if (argc < 8) {
    fprintf(stderr, "usage: fhir_ingest HOST PORT TOKEN CONNECTIONS SECONDS "
                    "BUNDLE_SIZE batch|transaction [WARMUP]\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  token = argv[3];
  n = atoi(argv[4]);
  secs = atof(argv[5]);
  bundle = atoi(argv[6]);
  btype = argv[7];
  if (argc > 8)
    warm = atof(argv[8]);
  if (n < 1 || n > MAX_CONNS || bundle < 1 || bundle > 1000 ||
      (strcmp(btype, "batch") != 0 && strcmp(btype, "transaction") != 0))
    return 2;
  run_id = (unsigned)(now_us() % 1000000000);
  cs = calloc((size_t)n, sizeof *cs);
  for (int i = 0; i < n; i++) {
    cs[i].id = i;
    cs[i].lat = malloc(LAT_CAP * sizeof(uint32_t));
    pthread_create(&cs[i].th, NULL, run, &cs[i]);
  }
  usleep((useconds_t)(warm * 1e6));
  atomic_store(&phase, 1);
  t0 = now_us();
  usleep((useconds_t)(secs * 1e6));
  atomic_store(&phase, 2);
  t1 = now_us();
  for (int i = 0; i < n; i++) {
    pthread_join(cs[i].th, NULL);
    if (cs[i].failed) {
      fprintf(stderr, "connection %d failed: %s\n", i, cs[i].why);
      return 1;
    }
    if (cs[i].errors)
      fprintf(stderr, "connection %d: %llu errors, first: %s\n", i,
              (unsigned long long)cs[i].errors, cs[i].why);
    total += cs[i].nlat;
    resources += cs[i].resources;
    errors += cs[i].errors;
  }
  all = malloc((total ? total : 1) * sizeof *all);
  for (int i = 0; i < n; i++) {
    memcpy(all + k, cs[i].lat, cs[i].nlat * sizeof *all);
    k += cs[i].nlat;
  }
  qsort(all, total, sizeof *all, cmp_u32);
  printf("type=%s connections=%d bundle=%d resources=%llu seconds=%.2f "
         "rate=%.0f p50_ms=%.2f p99_ms=%.2f errors=%llu\n",
         btype, n, bundle, (unsigned long long)resources,
         (double)(t1 - t0) / 1e6, (double)resources / ((double)(t1 - t0) / 1e6),
         total ? all[(total + 1) / 2 - 1] / 1e3 : 0.0,
         total ? all[(total * 99 + 99) / 100 - 1] / 1e3 : 0.0,
         (unsigned long long)errors);
  return errors ? 1 : 0;
}
