/* cli_data.c -- data directory commands: init, status, import, rebuild,
 * deadletters.
 *
 * A data directory holds: keys (the key file, mode 0600), org.json (the
 * county's organisation), tilannekuva.db (+ WAL: the event store) and lock
 * (held by the process that writes). The directory itself is mode 0700. */
#include "cli_data.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bedboard.h"
#include "buf.h"
#include "chrono.h"
#include "cube.h"
#include "ingest.h"
#include "log.h"
#include "mem.h"
#include "org.h"
#include "privacy.h"
#include "replay.h"
#include "secstore.h"
#include "store.h"

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = mem_alloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int write_file(const char *path, const char *data, size_t len,
                      struct error *err) {
  FILE *f = fopen(path, "wx");
  if (f == NULL)
    return error_set(err, ERR_IO, "cannot create '%s': %s", path,
                     strerror(errno));
  if (fwrite(data, 1, len, f) != len || fflush(f) != 0 ||
      fsync(fileno(f)) != 0) {
    fclose(f);
    return error_set(err, ERR_IO, "cannot write '%s'", path);
  }
  fclose(f);
  return 0;
}

static char *read_file(const char *path, size_t cap, size_t *len,
                       struct error *err) {
  FILE *f = fopen(path, "rb");
  struct buf b;
  char chunk[65536];
  size_t n;
  if (f == NULL) {
    error_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  buf_init(&b, cap);
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (buf_append(&b, chunk, n) < 0) {
      fclose(f);
      buf_release(&b);
      error_set(err, ERR_TOOBIG, "'%s' is larger than %zu bytes", path, cap);
      return NULL;
    }
  }
  fclose(f);
  return buf_detach(&b, len);
}

/* ---- init ------------------------------------------------------------- */

static void init_usage(FILE *f) {
  fprintf(f, "usage: tilannekuva init --data DIR [--region kanta-hame|"
             "lansi-uusimaa | --org FILE]\n\n"
             "Creates a data directory: a key file (mode 0600), the "
             "organisation and an empty event store.\n");
}

int cli_data_init_main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"region", required_argument, NULL, 'r'},
                                       {"org", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL, *region = NULL, *orgfile = NULL;
  char *text = NULL, *p = NULL;
  size_t len = 0;
  struct org *org = NULL;
  struct store *st = NULL;
  struct error err;
  int c, rc = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'r':
      region = optarg;
      break;
    case 'o':
      orgfile = optarg;
      break;
    case 'h':
      init_usage(stdout);
      return 0;
    default:
      init_usage(stderr);
      return 2;
    }
  }
  if (dir == NULL || optind != argc || (region != NULL && orgfile != NULL)) {
    init_usage(stderr);
    return 2;
  }
  if (region == NULL && orgfile == NULL)
    region = "kanta-hame";
  error_clear(&err);
  if (region != NULL) {
    const char *j = org_builtin_json(region);
    if (j == NULL) {
      fprintf(stderr,
              "tilannekuva init: unknown region '%s' (kanta-hame, "
              "lansi-uusimaa)\n",
              region);
      return 2;
    }
    text = mem_strdup(j);
    len = strlen(text);
  } else {
    text = read_file(orgfile, ORG_MAX_FILE, &len, &err);
    if (text == NULL)
      goto out;
  }
  if (org_load_json(text, len, &org, &err) < 0)
    goto out;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    error_set(&err, ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
    goto out;
  }
  p = join(dir, INGEST_DB_FILE);
  if (access(p, F_OK) == 0) {
    error_set(&err, ERR_EXISTS, "'%s' is already a data directory", dir);
    goto out;
  }
  mem_free(p);
  p = join(dir, INGEST_KEY_FILE);
  if (privacy_keyfile_create(p, &err) < 0)
    goto out;
  mem_free(p);
  p = join(dir, INGEST_ORG_FILE);
  if (write_file(p, text, len, &err) < 0)
    goto out;
  mem_free(p);
  p = join(dir, INGEST_DB_FILE);
  if (store_open(p, STORE_CREATE, &st, &err) < 0)
    goto out;
  mem_free(p);
  p = join(dir, SECSTORE_FILE);
  {
    struct secstore *ss = NULL;
    if (secstore_open(p, SECSTORE_CREATE, &ss, &err) < 0)
      goto out;
    secstore_close(ss);
  }
  printf("initialised '%s' for %s: %zu units, %zu channels\n", dir, org_id(org),
         org_unit_count(org), org_channel_count(org));
  rc = 0;
out:
  if (rc != 0)
    fprintf(stderr, "tilannekuva init: %s\n", err.msg);
  store_close(st);
  org_free(org);
  mem_free(text);
  mem_free(p);
  return rc;
}

/* ---- status ----------------------------------------------------------- */

int cli_data_status_main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL;
  bool json = false;
  struct store *st = NULL;
  struct store_status s;
  struct error err;
  char *p;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'j':
      json = true;
      break;
    case 'h':
      printf("usage: tilannekuva status --data DIR [--json]\n");
      return 0;
    default:
      return 2;
    }
  }
  if (dir == NULL || optind != argc) {
    fprintf(stderr, "usage: tilannekuva status --data DIR [--json]\n");
    return 2;
  }
  error_clear(&err);
  p = join(dir, INGEST_DB_FILE);
  if (store_open(p, STORE_READONLY, &st, &err) < 0 ||
      store_status_get(st, &s, &err) < 0) {
    fprintf(stderr, "tilannekuva status: %s\n", err.msg);
    store_close(st);
    mem_free(p);
    return 1;
  }
  store_close(st);
  mem_free(p);
  if (json) {
    struct buf b;
    buf_init(&b, 1 << 20);
    if (ingest_status_format(&s, &b) < 0) {
      buf_release(&b);
      return 1;
    }
    printf("%s\n", buf_str(&b));
    buf_release(&b);
    return 0;
  }
  printf("messages: %" PRId64 " accepted, %" PRId64 " duplicates, %" PRId64
         " rejected (AR), %" PRId64 " errors (AE), %" PRId64 " dead letters\n",
         s.accepted, s.duplicates, s.rejected, s.errors, s.dead_letters);
  printf("data quality: %" PRId64 " messages with an unverified identity\n",
         s.unverified_id);
  printf("events: %" PRId64 " (last seq %" PRId64 ")\n", s.events_total,
         s.last_seq);
  for (int k = 1; k < EV__COUNT; k++)
    if (s.by_kind[k] > 0)
      printf("  %-32s %" PRId64 "\n", event_kind_name((enum event_kind)k),
             s.by_kind[k]);
  return 0;
}

/* ---- import ----------------------------------------------------------- */

struct tally {
  atomic_long n[INGEST_FAILED + 1];
};

static void tally_done(void *ctx, struct ingest_item *item) {
  struct tally *t = ctx;
  atomic_fetch_add(&t->n[ingest_item_outcome(item)], 1);
  ingest_item_free(item);
}

static int import_path(struct ingest *in, const char *path, struct tally *t,
                       long *sent, struct error *err) {
  struct replay *r = NULL;
  const char *msg;
  size_t len;
  int64_t ms;
  int rc = replay_open(path, &r, err);
  if (rc < 0)
    return rc;
  while ((rc = replay_next(r, &msg, &len, &ms, err)) > 0) {
    rc = ingest_submit_hl7(in, msg, len, "import", tally_done, t);
    if (rc < 0)
      break;
    (*sent)++;
  }
  replay_close(r);
  return rc < 0 ? rc : 0;
}

int cli_data_import_main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL;
  struct ingest *in = NULL;
  struct ingest_options io = {0, 0, 0, NULL};
  struct tally t;
  struct error err;
  long sent = 0;
  int c, rc = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'h':
      printf("usage: tilannekuva import --data DIR FILE_OR_DIR...\n\n"
             "Ingests HL7 v2 files (messages separated by new lines) through "
             "the same channels, checks and dead letters as MLLP.\n");
      return 0;
    default:
      return 2;
    }
  }
  if (dir == NULL || optind >= argc) {
    fprintf(stderr, "usage: tilannekuva import --data DIR FILE_OR_DIR...\n");
    return 2;
  }
  memset(&t, 0, sizeof t);
  error_clear(&err);
  if (ingest_open(dir, &io, NULL, &in, &err) < 0) {
    fprintf(stderr, "tilannekuva import: %s\n", err.msg);
    return 1;
  }
  for (int i = optind; i < argc && rc == 0; i++)
    rc = import_path(in, argv[i], &t, &sent, &err);
  ingest_flush(in);
  ingest_close(in);
  printf("imported %ld messages: %ld accepted, %ld duplicates, %ld errors "
         "(AE), %ld rejected (AR), %ld failed\n",
         sent, atomic_load(&t.n[INGEST_ACCEPTED]),
         atomic_load(&t.n[INGEST_DUPLICATE]), atomic_load(&t.n[INGEST_ERROR]),
         atomic_load(&t.n[INGEST_REJECTED]), atomic_load(&t.n[INGEST_FAILED]));
  if (rc < 0) {
    fprintf(stderr, "tilannekuva import: %s\n", err.msg);
    return 1;
  }
  return atomic_load(&t.n[INGEST_FAILED]) > 0 ? 1 : 0;
}

/* ---- rebuild ---------------------------------------------------------- */

struct rebuild_ctx {
  struct bedboard *bb;
  long applied, refused;
};

static int rebuild_cb(void *ctx, const struct event *ev) {
  struct rebuild_ctx *r = ctx;
  struct error err;
  if (bedboard_apply(r->bb, ev, &err) < 0)
    r->refused++;
  else
    r->applied++;
  return 0;
}

int cli_data_rebuild_main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"dump", no_argument, NULL, 'u'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL;
  bool dump = false;
  struct org *org = NULL;
  struct store *st = NULL;
  struct rebuild_ctx r;
  struct error err;
  struct buf b;
  char *p = NULL;
  int c, rc = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'u':
      dump = true;
      break;
    case 'h':
      printf("usage: tilannekuva rebuild --data DIR [--dump]\n\n"
             "Rebuilds the bed board and the flow cube from the event log, "
             "checks their invariants and prints a summary (--dump: the "
             "whole canonical state). The server does the same at every "
             "start.\n");
      return 0;
    default:
      return 2;
    }
  }
  if (dir == NULL || optind != argc) {
    fprintf(stderr, "usage: tilannekuva rebuild --data DIR [--dump]\n");
    return 2;
  }
  memset(&r, 0, sizeof r);
  error_clear(&err);
  buf_init(&b, (size_t)1 << 30);
  p = join(dir, INGEST_ORG_FILE);
  if (org_load_file(p, &org, &err) < 0)
    goto out;
  mem_free(p);
  p = join(dir, INGEST_DB_FILE);
  if (store_open(p, STORE_READONLY, &st, &err) < 0)
    goto out;
  r.bb = bedboard_new(org);
  if (store_events_scan(st, 0, rebuild_cb, &r, &err) < 0)
    goto out;
  if (bedboard_check_invariants(r.bb, &err) < 0)
    goto out;
  if (dump) {
    if (bedboard_dump(r.bb, &b) < 0 || cube_dump(bedboard_cube(r.bb), &b) < 0) {
      error_set(&err, ERR_TOOBIG, "state too large to dump");
      goto out;
    }
    fwrite(b.data ? b.data : "", 1, b.len, stdout);
  } else {
    bedboard_publish(r.bb, chrono_now_ms());
    {
      struct bedboard_snapshot *snap = bedboard_snapshot_get(r.bb);
      rc = bedboard_snapshot_json(snap, NULL, false, &b, &err);
      bedboard_snapshot_release(snap);
      if (rc < 0) {
        rc = 1;
        goto out;
      }
    }
    printf("rebuilt from %ld events (%ld not applicable); invariants hold\n",
           r.applied + r.refused, r.refused);
    printf("%s\n", buf_str(&b));
  }
  rc = 0;
out:
  if (rc != 0)
    fprintf(stderr, "tilannekuva rebuild: %s\n", err.msg);
  buf_release(&b);
  bedboard_free(r.bb);
  store_close(st);
  org_free(org);
  mem_free(p);
  return rc;
}

/* ---- deadletters ------------------------------------------------------ */

static int dl_print(void *ctx, const struct store_dead_letter_row *row) {
  char iso[32];
  static const char *const status[] = {"open", "replayed", "discarded"};
  (void)ctx;
  chrono_format_iso(row->received_at, iso);
  printf("%" PRId64 "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row->id, iso,
         status[row->status >= 0 && row->status <= 2 ? row->status : 0],
         row->ack_code, row->channel[0] ? row->channel : "-",
         row->msg_type[0] ? row->msg_type : "-",
         row->source_key[0] ? row->source_key : "-",
         row->location[0] ? row->location : "-", row->reason);
  return 0;
}

struct replay_one {
  atomic_int outcome;
};

static void replay_done(void *ctx, struct ingest_item *item) {
  struct replay_one *r = ctx;
  atomic_store(&r->outcome, (int)ingest_item_outcome(item));
  ingest_item_free(item);
}

static int dl_replay(const char *dir, int64_t only, struct error *err) {
  struct store *st = NULL;
  struct privacy_keys *keys = NULL;
  struct ingest *in = NULL;
  struct ingest_options io = {0, 0, 0, NULL};
  char *p = join(dir, INGEST_DB_FILE);
  char *kp = join(dir, INGEST_KEY_FILE);
  int64_t *ids = NULL;
  size_t nids = 0;
  int rc;
  rc = ingest_open(dir, &io, NULL, &in, err);
  if (rc == 0)
    rc = privacy_keys_load(kp, &keys, err);
  if (rc == 0)
    rc = store_open(p, 0, &st, err);
  if (rc < 0)
    goto out;
  ids = mem_alloc(sizeof *ids);
  ids[nids++] = only;
  for (size_t i = 0; i < nids; i++) {
    struct store_dead_letter_row row;
    unsigned char *plain = NULL;
    size_t plen = 0;
    char ad[EVENT_ID_MAX + EVENT_KEY_MAX + 2];
    int n;
    struct replay_one one;
    rc = store_dead_letter_get(st, ids[i], &row, err);
    if (rc < 0)
      goto out;
    n = snprintf(ad, sizeof ad, "%s|%s", row.channel, row.source_key);
    rc = privacy_open_alloc(keys, row.sealed, row.sealed_len, ad, (size_t)n,
                            &plain, &plen, err);
    if (rc < 0) {
      store_dead_letter_row_release(&row);
      goto out;
    }
    atomic_init(&one.outcome, -1);
    rc = ingest_submit_hl7(in, (const char *)plain, plen, "replay", replay_done,
                           &one);
    mem_free(plain);
    if (rc == 0) {
      ingest_flush(in);
      printf("%" PRId64 ": %s\n", row.id,
             atomic_load(&one.outcome) == INGEST_ACCEPTED    ? "accepted"
             : atomic_load(&one.outcome) == INGEST_DUPLICATE ? "duplicate"
                                                             : "refused again");
      rc = store_dead_letter_mark(st, row.id, 1, err);
    }
    store_dead_letter_row_release(&row);
    if (rc < 0)
      goto out;
  }
out:
  ingest_close(in);
  store_close(st);
  privacy_keys_free(keys);
  mem_free(ids);
  mem_free(p);
  mem_free(kp);
  return rc;
}

int cli_data_deadletters_main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"all", no_argument, NULL, 'a'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL;
  bool all = false;
  struct error err;
  int c;
  const char *usage =
      "usage: tilannekuva deadletters --data DIR [--all] list\n"
      "       tilannekuva deadletters --data DIR replay ID\n\n"
      "list: open dead letters (--all: also replayed ones), tab-separated: "
      "id, received, status, ACK code, channel, type, control id, location, "
      "reason.\nreplay: sends a dead letter through ingest again (stop the "
      "server first; it holds the data directory).\n";
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      dir = optarg;
      break;
    case 'a':
      all = true;
      break;
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fputs(usage, stderr);
      return 2;
    }
  }
  if (dir == NULL || optind >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  error_clear(&err);
  if (strcmp(argv[optind], "list") == 0) {
    struct store *st = NULL;
    char *p = join(dir, INGEST_DB_FILE);
    int rc = store_open(p, STORE_READONLY, &st, &err);
    mem_free(p);
    if (rc == 0)
      rc = store_dead_letters_list(st, all ? -1 : 0, 100000, dl_print, NULL,
                                   &err);
    store_close(st);
    if (rc < 0) {
      fprintf(stderr, "tilannekuva deadletters: %s\n", err.msg);
      return 1;
    }
    return 0;
  }
  if (strcmp(argv[optind], "replay") == 0 && optind + 1 < argc) {
    char *end;
    long long id = strtoll(argv[optind + 1], &end, 10);
    if (*end != '\0' || id <= 0) {
      fputs(usage, stderr);
      return 2;
    }
    if (dl_replay(dir, id, &err) < 0) {
      fprintf(stderr, "tilannekuva deadletters: %s\n", err.msg);
      return 1;
    }
    return 0;
  }
  fputs(usage, stderr);
  return 2;
}
