/* mllp_null.c -- the baseline: a minimal MLLP server that ACKs every frame
 * without parsing or storing it. One epoll thread, like the real server's
 * I/O thread, so the difference between the two is the cost of parsing,
 * mapping, encrypting, storing durably and projecting.
 *
 *   mllp_null PORT */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char ack[] = "\x0bMSH|^~\\&|TK|TK|LOADGEN|TEST|20261123101500||"
                          "ACK^A01^ACK|1|P|2.5\rMSA|AA|0\r\x1c\r";

struct conn {
  int fd;
  size_t state; /* bytes of a pending 0x1c seen */
};

int main(int argc, char **argv) {
  int lfd, efd, one = 1;
  struct sockaddr_in a;
  struct epoll_event ev, evs[256];
  if (argc < 2)
    return 2;
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024))
    return 1;
  efd = epoll_create1(0);
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev);
  for (;;) {
    int n = epoll_wait(efd, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          c = calloc(1, sizeof *c);
          c->fd = fd;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ev.events = EPOLLIN;
          ev.data.ptr = c;
          epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      for (;;) {
        char buf[65536];
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r <= 0) {
          if (r == 0) {
            close(c->fd);
            free(c);
          }
          break;
        }
        for (ssize_t j = 0; j < r; j++) {
          if (c->state == 1 && buf[j] == 0x0d) {
            ssize_t w = write(c->fd, ack, sizeof ack - 1);
            (void)w;
          }
          c->state = buf[j] == 0x1c;
        }
      }
    }
  }
}
