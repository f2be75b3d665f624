/* http_client.h -- a tiny HTTP/1.1 client for the unit tests of http,
 * stream and api: raw sockets, one request per connection (Connection:
 * close), status line, headers and body (Content-Length, chunked or until
 * close) parsed strictly enough to assert on. Test-only; static functions
 * so each test file gets its own copy. */
#ifndef TK_TEST_HTTP_CLIENT_H
#define TK_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TC_MAX_RESPONSE (8u * 1024u * 1024u)

struct tc_response {
  int status;
  char head[16384]; /* status line and headers, NUL-terminated */
  char *body;       /* malloc'd, NUL-terminated */
  size_t body_len;
  bool chunked;
};

static inline int64_t tc_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Connects to 127.0.0.1:port (or [::1] when v6); -1 on failure. A receive
 * timeout of 'timeout_ms' keeps a broken test from hanging. */
static inline int tc_connect_ex(uint16_t port, bool v6, int rcvbuf,
                                int timeout_ms) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int one = 1;
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rcvbuf > 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (v6) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      return -1;
    }
  } else {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

static inline int tc_connect(uint16_t port) {
  return tc_connect_ex(port, false, 0, 10000);
}

static inline bool tc_send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

/* Reads until EOF (or timeout) into a malloc'd buffer. */
static inline char *tc_read_all(int fd, size_t *len_out) {
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    ssize_t n;
    if (len == cap) {
      if (cap >= TC_MAX_RESPONSE)
        break;
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    n = recv(fd, buf + len, cap - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *len_out = len;
  return buf;
}

/* The value of header 'name' in a response head, copied to 'out'; false
 * when absent. */
static inline bool tc_header_in(const char *head, const char *name, char *out,
                                size_t cap) {
  size_t nl = strlen(name);
  const char *p = strstr(head, "\r\n");
  while (p != NULL && p[2] != '\0') {
    const char *line = p + 2;
    const char *end = strstr(line, "\r\n");
    if (end == NULL)
      end = line + strlen(line);
    if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 &&
        line[nl] == ':') {
      const char *v = line + nl + 1;
      size_t vl;
      while (*v == ' ')
        v++;
      vl = (size_t)(end - v);
      if (vl >= cap)
        vl = cap - 1;
      memcpy(out, v, vl);
      out[vl] = '\0';
      return true;
    }
    p = *end != '\0' ? end : NULL;
  }
  return false;
}

static inline const char *tc_header(const struct tc_response *r,
                                    const char *name) {
  static _Thread_local char value[4096];
  return tc_header_in(r->head, name, value, sizeof value) ? value : NULL;
}

/* Decodes a chunked body in place; returns false when malformed. */
static inline bool tc_dechunk(char *data, size_t len, size_t *out_len) {
  size_t i = 0, o = 0;
  for (;;) {
    char *end;
    unsigned long n;
    const char *crlf;
    if (i >= len)
      return false;
    n = strtoul(data + i, &end, 16);
    crlf = strstr(end, "\r\n");
    if (crlf == NULL)
      return false;
    i = (size_t)(crlf - data) + 2;
    if (n == 0)
      break;
    if (i + n + 2 > len)
      return false;
    memmove(data + o, data + i, n);
    o += n;
    i += n + 2;
  }
  data[o] = '\0';
  *out_len = o;
  return true;
}

/* Splits a raw response into status, head and body. */
static inline bool tc_parse(char *raw, size_t len, struct tc_response *r) {
  char *sep = strstr(raw, "\r\n\r\n");
  size_t hl;
  char value[64];
  memset(r, 0, sizeof *r);
  if (sep == NULL || strncmp(raw, "HTTP/1.", 7) != 0) {
    free(raw);
    return false;
  }
  hl = (size_t)(sep - raw) + 2;
  if (hl >= sizeof r->head)
    hl = sizeof r->head - 1;
  memcpy(r->head, raw, hl);
  r->head[hl] = '\0';
  r->status = atoi(raw + 9);
  r->body_len = len - (size_t)(sep + 4 - raw);
  r->body = malloc(r->body_len + 1);
  memcpy(r->body, sep + 4, r->body_len);
  r->body[r->body_len] = '\0';
  free(raw);
  if (tc_header_in(r->head, "Transfer-Encoding", value, sizeof value) &&
      strcmp(value, "chunked") == 0) {
    r->chunked = true;
    return tc_dechunk(r->body, r->body_len, &r->body_len);
  }
  return true;
}

static inline void tc_response_free(struct tc_response *r) {
  free(r->body);
  r->body = NULL;
}

/* Sends 'request' as is and reads the response to EOF. */
static inline bool tc_raw(uint16_t port, const char *request,
                          struct tc_response *r) {
  int fd = tc_connect(port);
  size_t len;
  char *raw;
  memset(r, 0, sizeof *r);
  if (fd < 0)
    return false;
  if (!tc_send_all(fd, request, strlen(request))) {
    close(fd);
    return false;
  }
  raw = tc_read_all(fd, &len);
  close(fd);
  return tc_parse(raw, len, r);
}

/* METHOD target with Connection: close and optional extra header lines
 * ("Name: value\r\n..."). */
static inline bool tc_request(uint16_t port, const char *method,
                              const char *target, const char *extra,
                              struct tc_response *r) {
  char req[8192];
  snprintf(req, sizeof req,
           "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
           method, target, extra != NULL ? extra : "");
  return tc_raw(port, req, r);
}

static inline bool tc_get(uint16_t port, const char *target,
                          struct tc_response *r) {
  return tc_request(port, "GET", target, NULL, r);
}

#endif
