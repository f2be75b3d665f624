/* cli_serve.c -- `tilannekuva serve`: one data directory, the MLLP listener
 * and the HTTP server, until SIGINT or SIGTERM.
 *
 * Configuration comes from the config table (config.h): defaults < INI file
 * (--config FILE, else DIR/tilannekuva.ini when present) < environment
 * (TK_*) < command line (--mllp, --http, --section.key=value).
 *
 * Access control is always on: api_auth opens (creating it on the first
 * serve) DIR/security.db and is the authorizer of every routed request, so
 * everything but /healthz, the sign-in route and the web UI's files needs a
 * session or an API token (docs/SECURITY.md). Accounts are made with
 * `tilannekuva user add`; a server without any answers 401 to everyone
 * and says so in its log.
 *
 * Shutdown order: stop HTTP (ends streams), stop MLLP (waits for in-flight
 * ACKs), close ingest (drains the writer), then free the API and api_auth
 * (which signs a "shutdown" checkpoint of the audit log). A SIGKILL at any
 * point loses no acknowledged message: ACKs are sent only after commit. */
#include "cli_serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "api_auth.h"
#include "api_fhir.h"
#include "chrono.h"
#include "config.h"
#include "dashboard.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "mem.h"
#include "mllp_server.h"
#include "secstore.h"
#include "stream.h"

static void usage(FILE *f) {
  struct buf b;
  fprintf(f, "usage: tilannekuva serve --data DIR [--mllp HOST:PORT] "
             "[--http HOST:PORT] [--config FILE] [--section.key=value...]\n\n"
             "Serves MLLP for the source systems and HTTP (API, live stream, "
             "pages) for people. Options (defaults < file < environment TK_* < "
             "command line):\n\n");
  buf_init(&b, 1 << 20);
  if (config_help(&b) == 0)
    fputs(buf_str(&b), f);
  buf_release(&b);
}

struct app {
  struct ingest *in;
  struct http_server *http;
};

static int status_json(void *ctx, struct buf *out, struct error *err) {
  struct app *a = ctx;
  return ingest_status_json(a->in, out, err);
}

static int flow_json(void *ctx, const char *unit, struct buf *out,
                     struct error *err) {
  struct app *a = ctx;
  return ingest_flow_json(a->in, unit, out, err);
}

static int t3_json(void *ctx, const char *unit, enum t3_group g, int64_t t0,
                   struct buf *out, struct error *err) {
  struct app *a = ctx;
  return ingest_t3_json(a->in, unit, g, t0, out, err);
}

static int series_json(void *ctx, const struct dashboard_query *q,
                       struct buf *out, const char **param, struct error *err) {
  struct app *a = ctx;
  return ingest_series_json(a->in, q, out, param, err);
}

static int view_json(void *ctx, const struct dashboard_query *q,
                     struct buf *out, const char **param, struct error *err) {
  struct app *a = ctx;
  return ingest_dashboard_json(a->in, q, out, param, err);
}

static int view_export(void *ctx, const struct dashboard_query *q,
                       struct buf *out, struct dashboard_file *file,
                       const char **param, struct error *err) {
  struct app *a = ctx;
  return ingest_dashboard_export(a->in, q, out, file, param, err);
}

/* The minute timer: the daily T3 measurements that no event took and the
 * ward census of a new day (ingest_tick), until 'stop'. */
struct ticker {
  struct ingest *in;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stop;
};

static void *ticker_main(void *arg) {
  struct ticker *t = arg;
  pthread_mutex_lock(&t->lock);
  while (!t->stop) {
    struct timespec ts;
    struct error err;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_cond_timedwait(&t->cond, &t->lock, &ts);
    if (t->stop)
      break;
    pthread_mutex_unlock(&t->lock);
    error_clear(&err);
    if (ingest_tick(t->in, chrono_now_ms(), &err) < 0)
      log_warn("serve", "T3 measurement: %s", err.msg);
    pthread_mutex_lock(&t->lock);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

static int metrics(void *ctx, struct buf *out, struct error *err) {
  struct app *a = ctx;
  (void)err;
  return ingest_metrics(a->in, out);
}

static int count_user(void *ctx, const struct secstore_user *u) {
  size_t *n = ctx;
  if (!u->disabled)
    (*n)++;
  return 0;
}

/* Says in the log how to get in when no account can sign in yet. */
static void hint_accounts(struct api_auth *auth) {
  struct error err;
  size_t n = 0;
  error_clear(&err);
  if (secstore_user_list(api_auth_secstore(auth), count_user, &n, &err) != 0) {
    log_warn("serve", "cannot list accounts: %s", err.msg);
    return;
  }
  if (n == 0)
    log_warn("serve", "no local accounts yet: every request but /healthz "
                      "needs sign-in; create one with 'tilannekuva user add' "
                      "(directory accounts need ldap.ini)");
}

int cli_serve_main(int argc, char **argv) {
  struct config *cfg = config_new();
  struct error err;
  const char *cfgfile = NULL;
  char *inifile = NULL;
  struct ingest *in = NULL;
  struct mllp_server *mllp = NULL;
  struct http_server *http = NULL;
  struct stream_hub *hub = NULL;
  struct api *api = NULL;
  struct api_fhir *fhir = NULL;
  struct api_auth *auth = NULL;
  struct app app;
  struct ticker tick = {NULL, PTHREAD_MUTEX_INITIALIZER,
                        PTHREAD_COND_INITIALIZER, false};
  pthread_t ticker;
  bool ticking = false;
  sigset_t set;
  int sig = 0;
  int rc = 1;
  enum log_level lvl;

  error_clear(&err);
  /* First pass: --config and --help; the file must load before the
   * command line overrides it. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      config_free(cfg);
      return 0;
    }
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      cfgfile = argv[++i];
    else if (strncmp(argv[i], "--config=", 9) == 0)
      cfgfile = argv[i] + 9;
  }
  for (int i = 1; i < argc; i++) {
    if ((strcmp(argv[i], "--data") == 0) && i + 1 < argc) {
      const char *d = argv[i + 1];
      if (cfgfile == NULL) {
        size_t n = strlen(d) + 20;
        inifile = mem_alloc(n);
        snprintf(inifile, n, "%s/tilannekuva.ini", d);
        if (access(inifile, R_OK) == 0)
          cfgfile = inifile;
      }
    }
  }
  if (cfgfile != NULL && config_load_file(cfg, cfgfile, &err) < 0)
    goto usage_err;
  if (config_load_env(cfg, &err) < 0)
    goto usage_err;
  for (int i = 1; i < argc; i++) {
    const char *name = NULL;
    if (strcmp(argv[i], "--config") == 0) {
      i++;
      continue;
    }
    if (strncmp(argv[i], "--config=", 9) == 0)
      continue;
    if (strcmp(argv[i], "--data") == 0)
      name = "server.data_dir";
    else if (strcmp(argv[i], "--mllp") == 0)
      name = "mllp.listen";
    else if (strcmp(argv[i], "--http") == 0)
      name = "http.listen";
    else if (strcmp(argv[i], "--log-level") == 0)
      name = "server.log_level";
    if (name != NULL) {
      if (i + 1 >= argc) {
        error_set(&err, ERR_INVAL, "%s needs a value", argv[i]);
        goto usage_err;
      }
      if (config_set(cfg, name, argv[++i], &err) < 0)
        goto usage_err;
    } else if (config_set_arg(cfg, argv[i], &err) < 0) {
      goto usage_err;
    }
  }
  if (config_validate(cfg, &err) < 0)
    goto usage_err;
  if (config_str(cfg, "server.data_dir")[0] == '\0') {
    error_set(&err, ERR_INVAL, "--data DIR is required");
    goto usage_err;
  }
  if (log_parse_level(config_str(cfg, "server.log_level"), &lvl) == 0)
    log_set_level(lvl);

  /* Signals are handled by this thread alone (sigwait); every thread
   * started below inherits the blocked mask. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  hub = stream_hub_new();
  {
    struct ingest_options io;
    struct dashboard_options dopt;
    memset(&io, 0, sizeof io);
    io.group_max = (size_t)config_int(cfg, "ingest.group_max");
    io.group_wait_ms = (int)config_int(cfg, "ingest.group_wait");
    dashboard_options_default(&dopt);
    dopt.measure_minute = (int)config_int(cfg, "t3.measure_time");
    dopt.cap_days = (int32_t)config_int(cfg, "t3.cap_days");
    io.dashboard = &dopt;
    if (ingest_open(config_str(cfg, "server.data_dir"), &io, hub, &in, &err) <
        0)
      goto fail;
  }
  app.in = in;
  tick.in = in;
  if (pthread_create(&ticker, NULL, ticker_main, &tick) != 0) {
    error_set(&err, ERR_IO, "cannot start the T3 timer thread");
    goto fail;
  }
  ticking = true;
  {
    struct http_options ho;
    struct api_ctx actx;
    memset(&ho, 0, sizeof ho);
    ho.listen = config_str(cfg, "http.listen");
    ho.threads = (unsigned)config_int(cfg, "http.threads");
    ho.body_max = (size_t)config_int(cfg, "http.max_body");
    ho.tls_cert_file = config_str(cfg, "http.tls_cert")[0]
                           ? config_str(cfg, "http.tls_cert")
                           : NULL;
    ho.tls_key_file = config_str(cfg, "http.tls_key")[0]
                          ? config_str(cfg, "http.tls_key")
                          : NULL;
    ho.web_root = config_str(cfg, "http.web_root")[0]
                      ? config_str(cfg, "http.web_root")
                      : TK_WEB_ROOT;
    ho.vendor_root = TK_VENDOR_ROOT;
    if (access(ho.web_root, R_OK) != 0)
      ho.web_root = NULL;
    if (access(ho.vendor_root, R_OK) != 0)
      ho.vendor_root = NULL;
    if (http_server_new(&ho, &http, &err) < 0)
      goto fail;
    {
      struct api_auth_options ao;
      memset(&ao, 0, sizeof ao);
      ao.data_dir = config_str(cfg, "server.data_dir");
      ao.org = ingest_org(in);
      ao.tls = http_server_tls(http);
      if (api_auth_install(http, &ao, &auth, &err) < 0)
        goto fail;
      http_server_set_authorizer(http, api_auth_authorize, auth);
      hint_accounts(auth);
    }
    memset(&actx, 0, sizeof actx);
    actx.org = ingest_org(in);
    actx.auth = auth;
    actx.bedboard = ingest_bedboard(in);
    actx.hub = hub;
    actx.status_json = status_json;
    actx.flow_json = flow_json;
    actx.t3_json = t3_json;
    actx.series_json = series_json;
    actx.dashboard_json = view_json;
    actx.dashboard_export = view_export;
    actx.metrics_text = metrics;
    actx.app = &app;
    if (api_install(http, &actx, &api, &err) < 0)
      goto fail;
    /* The FHIR endpoint when the organisation has a FHIR channel. */
    for (size_t i = 0; i < org_channel_count(actx.org); i++) {
      if (strcmp(org_channel_at(actx.org, i)->type, "fhir") == 0) {
        if (api_fhir_install(http, in, NULL, &fhir, &err) < 0)
          goto fail;
        break;
      }
    }
    if (http_server_start(http, &err) < 0)
      goto fail;
    app.http = http;
  }
  {
    struct mllp_server_options mo;
    memset(&mo, 0, sizeof mo);
    mo.listen = config_str(cfg, "mllp.listen");
    mo.max_frame = (size_t)config_int(cfg, "mllp.max_frame");
    mo.idle_timeout_ms = (int)config_int(cfg, "mllp.idle_timeout");
    mo.frame_timeout_ms = (int)config_int(cfg, "mllp.frame_timeout");
    mo.max_connections = (size_t)config_int(cfg, "mllp.max_connections");
    mo.max_inflight = 64;
    if (mllp_server_start(&mo, in, &mllp, &err) < 0)
      goto fail;
  }
  log_info("serve", "serving '%s': MLLP on %s, HTTP on %s",
           config_str(cfg, "server.data_dir"), config_str(cfg, "mllp.listen"),
           config_str(cfg, "http.listen"));

  while (sigwait(&set, &sig) == 0 && sig == SIGPIPE)
    ;
  log_info("serve", "signal %d: shutting down", sig);
  rc = 0;
fail:
  if (rc != 0)
    log_error("serve", "%s", err.msg);
  http_server_stop(http);
  mllp_server_stop(mllp);
  if (ticking) {
    pthread_mutex_lock(&tick.lock);
    tick.stop = true;
    pthread_cond_signal(&tick.cond);
    pthread_mutex_unlock(&tick.lock);
    pthread_join(ticker, NULL);
  }
  ingest_close(in);
  http_server_free(http);
  api_free(api);
  api_fhir_free(fhir);
  api_auth_free(auth);
  stream_hub_free(hub);
  config_free(cfg);
  mem_free(inifile);
  return rc;
usage_err:
  fprintf(stderr, "tilannekuva serve: %s\n", err.msg);
  config_free(cfg);
  mem_free(inifile);
  return 2;
}
