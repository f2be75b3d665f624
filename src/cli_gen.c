/* cli_gen.c -- `tilannekuva generate` and `tilannekuva replay`.
 *
 * generate: argument parsing around gen_run (gen.h, the ADT feed) and
 * gensched_run (gensched.h, the scheduling feed as SIU and FHIR), one
 * summary line each.
 *
 * replay: the main thread reads messages in order (replay.h), paces them by
 * MSH-7 divided by --speed, optionally rewrites their timestamps so the
 * message time becomes the send time (--retime), and hands each to one of
 * --connections worker threads. A message always goes to the same worker as
 * the other messages of its slot (SIU: SCH-2) or visit (PV1-19; else
 * PID-3), so one slot's or patient's messages keep their order. A worker owns
 * one MLLP connection: it sends a frame, waits for the ACK (0x1C 0x0D), counts
 * MSA-1 and only then takes the next message; on a broken connection or an ACK
 * timeout it reconnects with exponential backoff and resends the unacknowledged
 * message (the server's idempotent ingest acknowledges a duplicate without
 * applying it twice).
 *
 * Invariants: a queued message is owned by its worker's queue until sent or
 * dropped; counters change only under 'shared.mu'. Nothing personal is
 * printed or logged: only counts, file positions and peer addresses.
 *
 * Thread safety: the *_main functions use getopt's global state and a
 * process-wide signal flag; call them from main only. */
#include "cli_gen.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "chrono.h"
#include "gen.h"
#include "gensched.h"
#include "log.h"
#include "mem.h"
#include "mllp.h"
#include "org.h"
#include "replay.h"

#define MAX_CONNECTIONS 64
#define QUEUE_MAX 256           /* messages waiting per worker */
#define ACK_MAX (1024u * 1024u) /* bytes of one ACK frame */
#define FRAME_MAX (REPLAY_MAX_MESSAGE + 3)
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define PROGRESS_MS 500
#define HOSTPORT_MAX 512

/* The one signal flag of this command (DESIGN: the only mutable global
 * besides the logger). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int usage_error(const char *cmd, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tilannekuva %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'tilannekuva %s --help'.\n", cmd);
  return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* ------------------------------------------------------------ generate */

static const char generate_usage[] =
    "usage: tilannekuva generate [options] [--out DIR] [--scheduling-out DIR]\n"
    "                            [--fhir-out DIR]\n"
    "\n"
    "Writes a synthetic county's HL7 v2.5 ADT feed (--out): one file per\n"
    "day, DIR/adt-YYYY-MM-DD.hl7, messages in time order (segments end with\n"
    "CR, each message is followed by LF); and its health stations'\n"
    "appointment books as HL7 v2.5 SIU (--scheduling-out:\n"
    "DIR/siu-YYYY-MM-DD.hl7, the same layout) and as FHIR R4 transaction\n"
    "Bundles (--fhir-out: DIR/fhir-YYYY-MM-DD.ndjson, one Bundle a line).\n"
    "At least one of the three is required. The same options and seed\n"
    "always give the same bytes. See docs/SYNTHETIC.md for the model.\n"
    "\n"
    "  --region NAME   built-in organisation: kanta-hame (default) or\n"
    "                  lansi-uusimaa\n"
    "  --org FILE      an organisation JSON file instead of a region\n"
    "  --channel ID    the HL7 v2 channel to write for (default: the first\n"
    "                  one that maps wards)\n"
    "  --from DATE     first day, YYYY-MM-DD (default: the history ends\n"
    "                  today, Europe/Helsinki)\n"
    "  --days N        number of days, 1-3660 (default 90)\n"
    "  --seed S        random seed, an unsigned integer (default 1)\n"
    "  --warmup N      days simulated before the first to fill the wards\n"
    "                  (default 120)\n"
    "  --out DIR       ADT output directory (created when missing)\n"
    "  --scheduling-out DIR  SIU output directory (created when missing)\n"
    "  --fhir-out DIR  FHIR output directory (created when missing)\n"
    "  --sched-channel ID  the SIU channel (default: the first HL7 v2 one\n"
    "                  that maps health stations)\n"
    "  --fhir-channel ID   the FHIR channel for Location references\n"
    "                  (default: the first one that maps health stations)\n"
    "  --horizon N     days ahead the appointment books are open, 28-365\n"
    "                  (default 91)\n"
    "  -h, --help      show this help\n";

int cli_gen_generate_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"region", required_argument, NULL, 'r'},
      {"org", required_argument, NULL, 'g'},
      {"channel", required_argument, NULL, 'c'},
      {"from", required_argument, NULL, 'f'},
      {"days", required_argument, NULL, 'd'},
      {"seed", required_argument, NULL, 's'},
      {"warmup", required_argument, NULL, 'w'},
      {"out", required_argument, NULL, 'o'},
      {"scheduling-out", required_argument, NULL, 'S'},
      {"fhir-out", required_argument, NULL, 'F'},
      {"sched-channel", required_argument, NULL, 'C'},
      {"fhir-channel", required_argument, NULL, 'H'},
      {"horizon", required_argument, NULL, 'z'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct gen_options opt;
  struct gensched_options sopt;
  struct gensched_stats sst;
  const char *siu_dir = NULL, *fhir_dir = NULL;
  struct gen_stats st;
  struct error err;
  struct org *org = NULL;
  const char *org_file = NULL;
  bool have_from = false;
  int c, rc;
  long v;

  memset(&opt, 0, sizeof opt);
  memset(&st, 0, sizeof st);
  memset(&sopt, 0, sizeof sopt);
  memset(&sst, 0, sizeof sst);
  error_clear(&err);
  opt.region = "kanta-hame";
  opt.days = 90;
  opt.seed = 1;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'r':
      opt.region = optarg;
      break;
    case 'g':
      org_file = optarg;
      break;
    case 'c':
      opt.channel = optarg;
      break;
    case 'f':
      if (chrono_parse_date(optarg, strlen(optarg), &opt.from) != 0)
        return usage_error("generate", "bad date '%s', expected YYYY-MM-DD",
                           optarg);
      have_from = true;
      break;
    case 'd':
      if (!parse_long(optarg, 1, GEN_MAX_DAYS, &v))
        return usage_error("generate", "bad --days '%s' (1-%d)", optarg,
                           GEN_MAX_DAYS);
      opt.days = (int)v;
      break;
    case 's': {
      char *end;
      errno = 0;
      opt.seed = strtoull(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-')
        return usage_error("generate", "bad --seed '%s'", optarg);
      break;
    }
    case 'w':
      if (!parse_long(optarg, 1, GEN_MAX_DAYS, &v))
        return usage_error("generate", "bad --warmup '%s' (1-%d)", optarg,
                           GEN_MAX_DAYS);
      opt.warmup_days = (int)v;
      break;
    case 'o':
      opt.out_dir = optarg;
      break;
    case 'S':
      siu_dir = optarg;
      break;
    case 'F':
      fhir_dir = optarg;
      break;
    case 'C':
      sopt.channel = optarg;
      break;
    case 'H':
      sopt.fhir_channel = optarg;
      break;
    case 'z':
      if (!parse_long(optarg, GENSCHED_MIN_HORIZON, GENSCHED_MAX_HORIZON, &v))
        return usage_error("generate", "bad --horizon '%s' (%d-%d)", optarg,
                           GENSCHED_MIN_HORIZON, GENSCHED_MAX_HORIZON);
      sopt.horizon_days = (int)v;
      break;
    case 'h':
      fputs(generate_usage, stdout);
      return fflush(stdout) == 0 ? 0 : 1;
    default:
      return usage_error("generate", "bad option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("generate", "unexpected argument '%s'", argv[optind]);
  if (opt.out_dir == NULL && siu_dir == NULL && fhir_dir == NULL)
    return usage_error("generate",
                       "--out, --scheduling-out or --fhir-out is required");
  if (!have_from)
    opt.from = chrono_today() - opt.days + 1;
  if (org_file != NULL) {
    rc = org_load_file(org_file, &org, &err);
    if (rc < 0) {
      fprintf(stderr, "tilannekuva generate: %s\n", err.msg);
      return 1;
    }
    opt.org = org;
  }
  opt.stats = &st;
  rc = 0;
  if (opt.out_dir != NULL) {
    rc = gen_run(&opt, &err);
    if (rc == 0)
      printf("wrote %llu messages (%llu visits) in %llu files to %s; "
             "mean ward occupancy %.1f %%\n",
             (unsigned long long)st.messages, (unsigned long long)st.episodes,
             (unsigned long long)st.files, opt.out_dir, st.occupancy_pct);
  }
  if (rc == 0 && (siu_dir != NULL || fhir_dir != NULL)) {
    sopt.org = opt.org;
    sopt.region = opt.region;
    sopt.from = opt.from;
    sopt.days = opt.days;
    sopt.seed = opt.seed;
    sopt.stats = &sst;
    rc = gensched_run(&sopt, siu_dir, fhir_dir, &err);
    if (rc == 0) {
      printf("wrote %llu SIU messages (%llu visits, %llu bookings, %llu "
             "cancellations, %llu no-shows) for %llu appointment books at "
             "%llu health stations",
             (unsigned long long)sst.messages, (unsigned long long)sst.visits,
             (unsigned long long)sst.booked, (unsigned long long)sst.cancelled,
             (unsigned long long)sst.noshows,
             (unsigned long long)sst.professionals,
             (unsigned long long)sst.stations);
      if (siu_dir != NULL)
        printf(" to %s", siu_dir);
      if (fhir_dir != NULL)
        printf("; %llu FHIR Bundles (%llu resources) to %s",
               (unsigned long long)sst.bundles,
               (unsigned long long)sst.resources, fhir_dir);
      printf("; %llu files\n", (unsigned long long)sst.files);
    }
  }
  org_free(org);
  if (rc < 0) {
    fprintf(stderr, "tilannekuva generate: %s\n",
            err.msg[0] ? err.msg : err_str(rc));
    return rc == ERR_INVAL || rc == ERR_NOTFOUND ? 2 : 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ replay */

struct item {
  char *data;
  size_t len;
};

struct shared {
  const char *host, *port;
  int timeout_ms;
  int max_retries;
  pthread_mutex_t mu;
  uint64_t sent, aa, ae, ar, skipped;
  bool failed; /* a worker gave up */
};

struct worker {
  struct shared *sh;
  int id;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct item q[QUEUE_MAX];
  size_t head, n;
  bool done; /* no more items will come */
  int fd;
  struct buf frame, rbuf;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps 'ms' unless a stop is requested (in slices). */
static void nap(int64_t ms) {
  while (ms > 0 && !stop_requested) {
    int64_t slice = ms > 200 ? 200 : ms;
    struct timespec ts = {(time_t)(slice / 1000),
                          (long)(slice % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    ms -= slice;
  }
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints, *res = NULL, *ai;
  int fd = -1;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res) != 0)
    return -1;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static bool send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

enum ack_code { ACK_NONE, ACK_AA, ACK_AE, ACK_AR };

/* Reads one ACK frame; ACK_NONE when the connection broke or timed out. */
static enum ack_code read_ack(struct worker *w) {
  int64_t deadline = mono_ms() + w->sh->timeout_ms;
  buf_reset(&w->rbuf);
  for (;;) {
    size_t start = 0, mlen = 0, consumed = 0;
    char chunk[4096];
    struct pollfd pfd = {w->fd, POLLIN, 0};
    int64_t left;
    ssize_t k;
    int rc = w->rbuf.len > 0
                 ? mllp_frame_find(w->rbuf.data, w->rbuf.len, ACK_MAX, &start,
                                   &mlen, &consumed, NULL)
                 : 0;
    if (rc < 0)
      return ACK_NONE;
    if (rc == 1) {
      const char *v;
      size_t vn;
      const char *ack = w->rbuf.data + start;
      if (!replay_field(ack, mlen, "MSA", 1, &v, &vn) || vn < 2)
        return ACK_AR;
      if ((v[0] == 'A' || v[0] == 'C') && v[1] == 'A')
        return ACK_AA;
      if ((v[0] == 'A' || v[0] == 'C') && v[1] == 'E')
        return ACK_AE;
      return ACK_AR;
    }
    left = deadline - mono_ms();
    if (left <= 0 || stop_requested)
      return ACK_NONE;
    rc = poll(&pfd, 1, (int)(left > 200 ? 200 : left));
    if (rc < 0 && errno != EINTR)
      return ACK_NONE;
    if (rc <= 0)
      continue;
    k = recv(w->fd, chunk, sizeof chunk, 0);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return ACK_NONE;
    if (buf_append(&w->rbuf, chunk, (size_t)k) < 0)
      return ACK_NONE;
  }
}

static void drop_connection(struct worker *w) {
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
}

/* Sends one message until it is acknowledged; false when giving up. */
static bool deliver(struct worker *w, const struct item *it) {
  int64_t backoff = BACKOFF_MIN_MS;
  int failures = 0;
  buf_reset(&w->frame);
  if (mllp_wrap(&w->frame, it->data, it->len) < 0) {
    pthread_mutex_lock(&w->sh->mu);
    w->sh->skipped++;
    pthread_mutex_unlock(&w->sh->mu);
    log_warn("replay", "a message holding MLLP control bytes was skipped");
    return true;
  }
  while (!stop_requested) {
    enum ack_code a;
    const char *why = "cannot connect to";
    if (w->fd < 0) {
      w->fd = connect_to(w->sh->host, w->sh->port);
      if (w->fd >= 0)
        log_info("replay", "connection %d: connected to %s:%s", w->id,
                 w->sh->host, w->sh->port);
    }
    if (w->fd >= 0) {
      why = "no acknowledgement from";
      if (send_all(w->fd, w->frame.data, w->frame.len)) {
        a = read_ack(w);
        if (a != ACK_NONE) {
          pthread_mutex_lock(&w->sh->mu);
          w->sh->sent++;
          if (a == ACK_AA)
            w->sh->aa++;
          else if (a == ACK_AE)
            w->sh->ae++;
          else
            w->sh->ar++;
          pthread_mutex_unlock(&w->sh->mu);
          return true;
        }
      }
    }
    if (stop_requested)
      break;
    drop_connection(w);
    if (++failures > w->sh->max_retries) {
      log_error("replay",
                "connection %d: giving up after %d attempts (%s %s:%s)", w->id,
                failures, why, w->sh->host, w->sh->port);
      return false;
    }
    /* the first failure of a message is worth a warning, retries are not */
    if (failures == 1)
      log_warn("replay", "connection %d: %s %s:%s, retrying", w->id, why,
               w->sh->host, w->sh->port);
    else
      log_debug("replay", "connection %d: %s %s:%s, retry %d in %lld ms", w->id,
                why, w->sh->host, w->sh->port, failures, (long long)backoff);
    nap(backoff);
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  return false;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  bool ok = true;
  for (;;) {
    struct item it;
    pthread_mutex_lock(&w->mu);
    while (w->n == 0 && !w->done)
      pthread_cond_wait(&w->cv, &w->mu);
    if (w->n == 0) {
      pthread_mutex_unlock(&w->mu);
      break;
    }
    it = w->q[w->head];
    pthread_mutex_unlock(&w->mu);
    if (ok && !stop_requested)
      ok = deliver(w, &it); /* after a failure the rest is dropped */
    mem_free(it.data);
    pthread_mutex_lock(&w->mu);
    w->head = (w->head + 1) % QUEUE_MAX;
    w->n--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (!ok) {
      pthread_mutex_lock(&w->sh->mu);
      w->sh->failed = true;
      pthread_mutex_unlock(&w->sh->mu);
    }
  }
  drop_connection(w);
  return NULL;
}

/* Queues a copy of the message (blocks while the queue is full). */
static void enqueue(struct worker *w, const char *data, size_t len) {
  pthread_mutex_lock(&w->mu);
  while (w->n == QUEUE_MAX && !stop_requested)
    pthread_cond_wait(&w->cv, &w->mu);
  if (w->n < QUEUE_MAX) {
    w->q[(w->head + w->n) % QUEUE_MAX] =
        (struct item){mem_strndup(data, len), len};
    w->n++;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
}

/* The worker for a message: by slot (SCH-2, else SCH-1), else visit
 * number, else patient id, else 0. */
static size_t route(const char *msg, size_t len, size_t n) {
  const char *v = NULL;
  size_t vn = 0;
  uint64_t h = 1469598103934665603ULL;
  if (n <= 1)
    return 0;
  if ((!replay_field(msg, len, "SCH", 2, &v, &vn) || vn == 0) &&
      (!replay_field(msg, len, "SCH", 1, &v, &vn) || vn == 0) &&
      (!replay_field(msg, len, "PV1", 19, &v, &vn) || vn == 0) &&
      !replay_field(msg, len, "PID", 3, &v, &vn))
    return 0;
  for (size_t i = 0; i < vn && v[i] != '^' && v[i] != '~'; i++) {
    h ^= (unsigned char)v[i];
    h *= 1099511628211ULL;
  }
  return (size_t)(h % n);
}

static void progress(struct shared *sh, size_t file, size_t files, bool final) {
  uint64_t sent, aa, ae, ar;
  pthread_mutex_lock(&sh->mu);
  sent = sh->sent;
  aa = sh->aa;
  ae = sh->ae;
  ar = sh->ar;
  pthread_mutex_unlock(&sh->mu);
  fprintf(stderr,
          "\rreplay: file %zu/%zu, sent %llu (AA %llu, AE %llu, AR %llu)  %s",
          file, files, (unsigned long long)sent, (unsigned long long)aa,
          (unsigned long long)ae, (unsigned long long)ar, final ? "\n" : "");
  fflush(stderr);
}

static const char replay_usage[] =
    "usage: tilannekuva replay DIR --to HOST:PORT [options]\n"
    "\n"
    "Sends the messages of DIR's .hl7 files (in name order; a message starts\n"
    "with MSH| at the start of a line) over MLLP, each after the previous\n"
    "one was acknowledged, and prints \"sent N, AA N, AE N, AR N\".\n"
    "\n"
    "  --to HOST:PORT     the MLLP listener ([v6addr]:port for IPv6)\n"
    "  --speed X          pace by message time (MSH-7) divided by X:\n"
    "                     1 = real time (default), 60 = an hour a minute,\n"
    "                     0 or max = as fast as the server acknowledges\n"
    "  --retime           shift every timestamp so that each message's time\n"
    "                     becomes the moment it is sent (Europe/Helsinki)\n"
    "  --connections N    parallel connections, 1-64 (default 1); one\n"
    "                     visit's messages always share a connection\n"
    "  --timeout S        seconds to wait for an ACK before resending\n"
    "                     (default 30)\n"
    "  --retries N        reconnect attempts per message before giving up\n"
    "                     (default 20)\n"
    "  --after TIME       skip messages whose MSH-7 is before TIME and pace\n"
    "                     from TIME (now, YYYY-MM-DD local midnight, or RFC\n"
    "                     3339)\n"
    "  --before TIME      stop at the first message at or after TIME\n"
    "  -h, --help         show this help\n";

/* "now", "YYYY-MM-DD" (Europe/Helsinki midnight) or RFC 3339. */
static bool parse_when(const char *s, int64_t *out) {
  int32_t day;
  if (strcmp(s, "now") == 0) {
    *out = chrono_now_ms();
    return true;
  }
  if (strlen(s) == 10 && chrono_parse_date(s, 10, &day) == 0)
    return chrono_from_local(day, 0, 0, 0, out) == 0;
  return chrono_parse_iso(s, strlen(s), out, NULL) == 0;
}

static bool split_hostport(const char *s, char *host, char *port) {
  const char *colon;
  size_t hl;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (end == NULL || end[1] != ':')
      return false;
    hl = (size_t)(end - s - 1);
    colon = end + 1;
    s++;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL)
      return false;
    hl = (size_t)(colon - s);
  }
  if (hl == 0 || hl >= HOSTPORT_MAX || colon[1] == '\0' ||
      strlen(colon + 1) >= 16)
    return false;
  memcpy(host, s, hl);
  host[hl] = '\0';
  strcpy(port, colon + 1);
  return true;
}

int cli_gen_replay_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"to", required_argument, NULL, 't'},
      {"speed", required_argument, NULL, 's'},
      {"retime", no_argument, NULL, 'r'},
      {"connections", required_argument, NULL, 'c'},
      {"timeout", required_argument, NULL, 'T'},
      {"retries", required_argument, NULL, 'R'},
      {"after", required_argument, NULL, 'a'},
      {"before", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  char host[HOSTPORT_MAX], port[16];
  const char *to = NULL, *dir = NULL;
  double speed = 1.0;
  bool retime = false, have_base = false, tty;
  long nconn = 1, timeout_s = 30, retries = 20;
  struct replay *rp = NULL;
  struct worker *workers = NULL;
  struct shared sh;
  struct error err;
  struct buf rbuf;
  struct sigaction sa, old_int, old_term;
  int64_t base_msg = 0, base_wall = 0, last_progress = 0;
  int64_t after = INT64_MIN, before = INT64_MAX;
  int c, rc = 0, exit_code = 0;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 't':
      to = optarg;
      break;
    case 's':
      if (strcmp(optarg, "max") == 0) {
        speed = 0;
      } else {
        char *end;
        errno = 0;
        speed = strtod(optarg, &end);
        if (errno != 0 || end == optarg || *end != '\0' || !(speed >= 0) ||
            speed > 1e9)
          return usage_error("replay", "bad --speed '%s'", optarg);
      }
      break;
    case 'r':
      retime = true;
      break;
    case 'c':
      if (!parse_long(optarg, 1, MAX_CONNECTIONS, &nconn))
        return usage_error("replay", "bad --connections '%s' (1-%d)", optarg,
                           MAX_CONNECTIONS);
      break;
    case 'T':
      if (!parse_long(optarg, 1, 3600, &timeout_s))
        return usage_error("replay", "bad --timeout '%s' (1-3600)", optarg);
      break;
    case 'R':
      if (!parse_long(optarg, 0, 1000000, &retries))
        return usage_error("replay", "bad --retries '%s'", optarg);
      break;
    case 'a':
    case 'b':
      if (!parse_when(optarg, c == 'a' ? &after : &before))
        return usage_error("replay",
                           "bad --%s '%s' (now, YYYY-MM-DD or RFC 3339)",
                           c == 'a' ? "after" : "before", optarg);
      break;
    case 'h':
      fputs(replay_usage, stdout);
      return fflush(stdout) == 0 ? 0 : 1;
    default:
      return usage_error("replay", "bad option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    dir = argv[optind++];
  if (optind < argc)
    return usage_error("replay", "unexpected argument '%s'", argv[optind]);
  if (dir == NULL)
    return usage_error("replay", "the directory DIR is required");
  if (to == NULL)
    return usage_error("replay", "--to HOST:PORT is required");
  if (!split_hostport(to, host, port))
    return usage_error("replay", "bad --to '%s', expected HOST:PORT", to);

  error_clear(&err);
  rc = replay_open(dir, &rp, &err);
  if (rc < 0) {
    fprintf(stderr, "tilannekuva replay: %s\n", err.msg);
    return 1;
  }

  memset(&sh, 0, sizeof sh);
  sh.host = host;
  sh.port = port;
  sh.timeout_ms = (int)timeout_s * 1000;
  sh.max_retries = (int)retries;
  pthread_mutex_init(&sh.mu, NULL);
  stop_requested = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  tty = isatty(STDERR_FILENO) == 1;

  workers = mem_calloc((size_t)nconn, sizeof *workers);
  for (long i = 0; i < nconn; i++) {
    struct worker *w = &workers[i];
    w->sh = &sh;
    w->id = (int)i + 1;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    buf_init(&w->frame, FRAME_MAX);
    buf_init(&w->rbuf, ACK_MAX + 4096);
    pthread_create(&w->th, NULL, worker_main, w);
  }
  buf_init(&rbuf, REPLAY_MAX_MESSAGE + 1024);
  log_info("replay", "replaying %zu files to %s:%s at speed %g%s",
           replay_file_count(rp), host, port, speed, retime ? ", retimed" : "");

  while (!stop_requested) {
    const char *msg;
    size_t len;
    int64_t t, now;
    bool failed;
    pthread_mutex_lock(&sh.mu);
    failed = sh.failed;
    pthread_mutex_unlock(&sh.mu);
    if (failed)
      break;
    rc = replay_next(rp, &msg, &len, &t, &err);
    if (rc < 0) {
      fprintf(stderr, "%stilannekuva replay: %s\n", tty ? "\n" : "", err.msg);
      exit_code = 1;
      break;
    }
    if (rc == 0 || t >= before)
      break;
    if (t < after)
      continue;
    if (!have_base) {
      /* with --after the clock starts there: --after now --speed 1 sends
       * each message at its own MSH-7 */
      base_msg = after != INT64_MIN ? after : t;
      base_wall = mono_ms();
      have_base = true;
    }
    if (speed > 0) {
      int64_t due = base_wall + (int64_t)((double)(t - base_msg) / speed);
      nap(due - mono_ms());
      if (stop_requested)
        break;
    }
    if (retime) {
      now = chrono_now_ms();
      buf_reset(&rbuf);
      if (replay_retime(msg, len, now - t, &rbuf, &err) < 0) {
        pthread_mutex_lock(&sh.mu);
        sh.skipped++;
        pthread_mutex_unlock(&sh.mu);
        continue;
      }
      msg = rbuf.data;
      len = rbuf.len;
    }
    enqueue(&workers[route(msg, len, (size_t)nconn)], msg, len);
    if (tty && mono_ms() - last_progress >= PROGRESS_MS) {
      last_progress = mono_ms();
      progress(&sh, replay_file_index(rp), replay_file_count(rp), false);
    }
  }

  for (long i = 0; i < nconn; i++) {
    pthread_mutex_lock(&workers[i].mu);
    workers[i].done = true;
    pthread_cond_broadcast(&workers[i].cv);
    pthread_mutex_unlock(&workers[i].mu);
  }
  for (long i = 0; i < nconn; i++) {
    pthread_join(workers[i].th, NULL);
    /* items left behind after a stop */
    while (workers[i].n > 0) {
      mem_free(workers[i].q[workers[i].head].data);
      workers[i].head = (workers[i].head + 1) % QUEUE_MAX;
      workers[i].n--;
    }
    buf_release(&workers[i].frame);
    buf_release(&workers[i].rbuf);
    pthread_mutex_destroy(&workers[i].mu);
    pthread_cond_destroy(&workers[i].cv);
  }
  if (tty)
    progress(&sh, replay_file_index(rp), replay_file_count(rp), true);
  if (stop_requested || sh.failed)
    exit_code = 1;
  if (sh.skipped > 0)
    fprintf(stderr, "tilannekuva replay: %llu messages skipped\n",
            (unsigned long long)sh.skipped);
  printf("sent %llu, AA %llu, AE %llu, AR %llu\n", (unsigned long long)sh.sent,
         (unsigned long long)sh.aa, (unsigned long long)sh.ae,
         (unsigned long long)sh.ar);
  if (fflush(stdout) != 0)
    exit_code = 1;
  log_info("replay", "done: sent %llu, AA %llu, AE %llu, AR %llu%s",
           (unsigned long long)sh.sent, (unsigned long long)sh.aa,
           (unsigned long long)sh.ae, (unsigned long long)sh.ar,
           exit_code ? " (stopped early)" : "");
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  pthread_mutex_destroy(&sh.mu);
  buf_release(&rbuf);
  mem_free(workers);
  replay_close(rp);
  return exit_code;
}
