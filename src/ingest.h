/* ingest.h -- the ingest service: channels, the one writer thread, group
 * commit, idempotency, dead letters, and the projections it keeps.
 *
 * Flow of one HL7 v2 message (DESIGN.md):
 *
 *   caller thread (MLLP I/O, importer)         writer thread
 *   ----------------------------------         -------------
 *   ingest_submit_hl7:
 *     parse -> channel by MSH-3/4 ->
 *     map ADT to events (pseudonymised) ->
 *     seal the raw payload -> enqueue  ───────>  take a group of items
 *                                                BEGIN
 *                                                per item: resend? -> AA
 *                                                  mapping error -> dead letter
 *                                                  bed board refuses -> dead
 *                                                  letter; else store message
 *                                                  + events, apply projections
 *                                                COMMIT (WAL written, no sync)
 *                                                publish snapshot, notify SSE
 *                                                (at most every 10 ms)
 *                                                hand the group on ──┐
 *                                                                    v
 *                                                syncer thread: one
 *                                                fdatasync for every group
 *                                                committed so far
 *     <─────────────────────────────────────────  done(item) for each item
 *   ingest_item_ack -> ACK bytes
 *
 * Invariants:
 *  1. done() is called for an item only after everything it changed is
 *     durable; when a group fails to commit the process stops (fail-stop)
 *     before anything of it is acknowledged, so the sender resends;
 *  2. (channel, MSH-10) is applied at most once; a resend with the same
 *     content is acknowledged AA and counted as a duplicate; the same id with
 *     different content is refused AE and kept as a dead letter;
 *  3. every refused input is kept (sealed) in the dead letters with the
 *     reason; nothing personal is logged.
 *
 * Thread safety: ingest_submit_* may be called from any thread; done
 * callbacks run on the syncer thread and must be quick (hand the item to
 * another thread). */
#ifndef TK_INGEST_H
#define TK_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bedboard.h"
#include "buf.h"
#include "compat.h"
#include "err.h"
#include "org.h"
#include "store.h"
#include "t3.h"

struct ingest;
struct ingest_item;
struct stream_hub;
struct cube;
struct fhir_issue;
struct dashboard_options;
struct dashboard_query;
struct dashboard_file;

enum ingest_outcome {
  INGEST_ACCEPTED = 0, /* stored and applied: AA */
  INGEST_DUPLICATE,    /* a resend: AA, nothing applied */
  INGEST_ERROR,        /* readable, not usable: AE, dead letter */
  INGEST_REJECTED,     /* unreadable or unknown sender: AR, dead letter */
  INGEST_FAILED        /* storage failed: no ACK; the sender must resend */
};

struct ingest_options {
  size_t group_max;  /* most items in one transaction */
  int group_wait_ms; /* extra wait for a fuller group; 0 = none */
  size_t queue_max;  /* items waiting before submit blocks */
  /* T3 measurement time and cap (dashboard.h); NULL: defaults. Copied. */
  const struct dashboard_options *dashboard;
};

typedef void (*ingest_done_fn)(void *ctx, struct ingest_item *item);

/* Opens the data directory 'dir' (store, key file, organisation), rebuilds
 * the projections from the event log and starts the writer thread.
 * 'hub' (may be NULL) receives "bedboard" events after commits. */
NODISCARD int ingest_open(const char *dir, const struct ingest_options *opt,
                          struct stream_hub *hub, struct ingest **out,
                          struct error *err);

/* Drains the queue, stops the writer and closes everything. Accepts NULL. */
void ingest_close(struct ingest *in);

/* Copies 'len' bytes of one HL7 v2 message and queues it; 'done' is called
 * with the item once its outcome is durable. 'peer' names the source for
 * logs ("127.0.0.1:53211"; never personal data). Blocks while the queue is
 * full. ERR_CLOSED after ingest_close began. */
NODISCARD int ingest_submit_hl7(struct ingest *in, const char *data, size_t len,
                                const char *peer, ingest_done_fn done,
                                void *ctx);

/* Copies 'len' bytes of one FHIR R4 resource (JSON) for the FHIR channel
 * 'channel' (org type "fhir") and queues it like ingest_submit_hl7; 'done'
 * is called once its outcome is durable. Schedule, Slot, Appointment and
 * Encounter are understood (fhir.h): a Schedule is stored (it has no event)
 * and kept in a table the writer owns and rebuilds at open from the stored
 * Schedules; a Slot is mapped by the writer against that table; an
 * Appointment or Encounter is mapped on submit (zero or one event). Other
 * resource types are refused (INGEST_ERROR, issue code "not-supported"
 * naming the type). The writer also keeps an identifier index of every
 * stored resource (rebuilt at open from the stored payloads) for
 * ingest_submit_fhir_if_none_exist. The source key is
 * "<type>/<id>/_history/<meta.versionId>", or "<type>/<id>#<content
 * digest>" without a version, so a resend is a duplicate and an update a
 * new message; the raw JSON is sealed like an HL7 payload. Refusals
 * (INGEST_REJECTED: unknown channel or unreadable JSON; INGEST_ERROR:
 * mapping) are dead letters with ingest_item_fhir_issue saying why.
 * ERR_CLOSED after ingest_close began. */
#define INGEST_FHIR_BUNDLE_MAX 1000 /* entries of a transaction Bundle */

/* ... and a Bundle of type "transaction" is one message, all or nothing:
 * its Schedules and Slots (the Slots may name the Bundle's own Schedules)
 * are all mapped before anything is applied; one refusal refuses the
 * Bundle (the issue's expression names the entry,
 * "Bundle.entry[2].resource.start"), else every event is stored and
 * applied in the same transaction. The Bundle's key is built as above
 * with the type "Bundle"; its Slot events carry "<key>#<entry index>". */
NODISCARD int ingest_submit_fhir(struct ingest *in, const char *channel,
                                 const char *data, size_t len, const char *peer,
                                 ingest_done_fn done, void *ctx);

/* ingest_submit_fhir with a conditional create: 'if_none_exist' (an
 * If-None-Exist value, fhir_cond_parse; NULL: none). When a resource of the
 * same type on the channel already holds that identifier, nothing is
 * stored or applied: the outcome is INGEST_DUPLICATE and
 * ingest_item_fhir_existing gives its logical id. Several such resources:
 * INGEST_ERROR with the issue code "multiple-matches". An unreadable
 * criterion is INGEST_REJECTED; on a Bundle INGEST_ERROR (not-supported). */
NODISCARD int ingest_submit_fhir_if_none_exist(struct ingest *in,
                                               const char *channel,
                                               const char *data, size_t len,
                                               const char *if_none_exist,
                                               const char *peer,
                                               ingest_done_fn done, void *ctx);

/* Waits until every item submitted so far has completed. */
void ingest_flush(struct ingest *in);

enum ingest_outcome ingest_item_outcome(const struct ingest_item *item);
void *ingest_item_ctx(const struct ingest_item *item);
/* Appends the HL7 ACK for a completed HL7 item (ERR_STATE for
 * INGEST_FAILED and for FHIR items). */
NODISCARD int ingest_item_ack(const struct ingest_item *item, int64_t now_ms,
                              struct buf *out);
/* A short reason for AE/AR outcomes ("" otherwise); no personal data. */
const char *ingest_item_reason(const struct ingest_item *item);
/* The OperationOutcome issue of a refused FHIR item; NULL for others. Valid
 * until the item is freed. */
const struct fhir_issue *ingest_item_fhir_issue(const struct ingest_item *item);
/* The logical id of the resource a conditional create found (outcome
 * INGEST_DUPLICATE), else NULL. Valid until the item is freed. */
const char *ingest_item_fhir_existing(const struct ingest_item *item);
void ingest_item_free(struct ingest_item *item);

/* Read-side access for the HTTP API. */
const struct org *ingest_org(const struct ingest *in);
struct bedboard *ingest_bedboard(struct ingest *in);
/* Status JSON (store counts plus live figures), read through a separate
 * read-only store connection; thread-safe. */
NODISCARD int ingest_status_json(struct ingest *in, struct buf *out,
                                 struct error *err);
/* Formats store counts as the status JSON:
 * {"messages":{"accepted","duplicates","rejected","errors","dead_letters"},
 *  "data_quality":{"unverified_identity"},
 *  "events":{"total","last_seq","by_kind":{"episode.admitted":N,...}}} */
NODISCARD int ingest_status_format(const struct store_status *st,
                                   struct buf *out);
/* Flow figures for a unit (the cube), thread-safe. */
NODISCARD int ingest_flow_json(struct ingest *in, const char *unit,
                               struct buf *out, struct error *err);
/* T3 at 't0' for 'unit' and group 'g' from the appointment books the
 * writer keeps (schedule.h; THL defaults), as schedule_t3_json writes it.
 * Thread-safe. */
NODISCARD int ingest_t3_json(struct ingest *in, const char *unit,
                             enum t3_group g, int64_t t0, struct buf *out,
                             struct error *err);
/* The access-to-care figures the writer keeps (dashboard.h), under the
 * read lock: GET /api/v1/indicators/{id}, GET /api/v1/dashboards/{name}
 * and its export, as dashboard_series_json / dashboard_view_json /
 * dashboard_export (same errors, *param naming a bad parameter).
 * Thread-safe. */
NODISCARD int ingest_series_json(struct ingest *in,
                                 const struct dashboard_query *q,
                                 struct buf *out, const char **param,
                                 struct error *err);
NODISCARD int ingest_dashboard_json(struct ingest *in,
                                    const struct dashboard_query *q,
                                    struct buf *out, const char **param,
                                    struct error *err);
NODISCARD int ingest_dashboard_export(struct ingest *in,
                                      const struct dashboard_query *q,
                                      struct buf *out,
                                      struct dashboard_file *file,
                                      const char **param, struct error *err);
/* Takes the daily T3 measurements due before 'now' (UTC ms) when no event
 * has arrived to take them (dashboard_tick), and moves the ward-flow census
 * horizon to today (bedboard_flow_horizon), under the write lock. Call it
 * about once a minute. 0, or ERR_RANGE when a measurement could not be
 * counted ('err' says how many). Thread-safe. */
NODISCARD int ingest_tick(struct ingest *in, int64_t now, struct error *err);
/* Prometheus text lines for ingest metrics. */
NODISCARD int ingest_metrics(struct ingest *in, struct buf *out);

/* Data directory layout. */
#define INGEST_DB_FILE "tilannekuva.db"
#define INGEST_KEY_FILE "keys"
#define INGEST_ORG_FILE "org.json"
#define INGEST_LOCK_FILE "lock"

#endif
