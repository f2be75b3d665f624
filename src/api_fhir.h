/* api_fhir.h -- the FHIR R4 endpoint at /fhir/r4: Schedule, Slot,
 * Appointment and Encounter resources and Bundles posted by source
 * systems, through ingest.
 *
 * Routes (JSON bodies, Content-Type application/fhir+json or
 * application/json; anything else is 415):
 *   POST /fhir/r4/{type}        create; 201 with the resource echoed and
 *                               Location /fhir/r4/{type}/{id} (200 for a
 *                               resend, nothing applied). With the header
 *                               If-None-Exist: identifier=[system|]value
 *                               (conditional create): when a resource of
 *                               the type on the channel holds that
 *                               identifier, 200 with an informational
 *                               OperationOutcome (code "duplicate") and
 *                               Location naming it, nothing applied;
 *                               several: 422 "multiple-matches"
 *   PUT  /fhir/r4/{type}/{id}   update; the body's id must be {id} (taken
 *                               from the path when absent); 200
 *   POST /fhir/r4               a Bundle of type "batch" (each entry on its
 *                               own; POST entries may carry
 *                               request.ifNoneExist) or "transaction" (all
 *                               or nothing; ifNoneExist refused);
 *                               answered with a batch-response or
 *                               transaction-response Bundle
 * Errors are OperationOutcome resources naming the element: 400 for what
 * cannot be read (not JSON, wrong type for the path, unknown channel, an
 * unreadable If-None-Exist), 422 for what cannot be used (mapping, a
 * conflicting version, an unsupported resource type: code
 * "not-supported", the type named), 500 when the store failed. A reply is
 * sent only after ingest has made the outcome durable: the handler thread
 * waits for the item's done callback (the HTTP server runs a thread
 * pool).
 *
 * Access: the server's authorizer admits these routes for roles with the
 * feeds permission (integration_admin, admin) signed in with an API token
 * (Bearer); they are not unit-bound (api_auth.c).
 *
 * Every resource goes to one FHIR channel of the organisation (type
 * "fhir"), whose "locations" map Schedule actors, Appointment participants
 * and Encounter service providers and locations to units (fhir.h).
 *
 * Thread safety: handlers run concurrently on the server's threads; the
 * state is immutable after install. */
#ifndef TK_API_FHIR_H
#define TK_API_FHIR_H

#include "compat.h"
#include "err.h"
#include "http.h"
#include "ingest.h"

#define API_FHIR_BUNDLE_MAX 1000 /* entries in one Bundle */

struct api_fhir;

/* Adds the /fhir/r4 routes to 'srv' (not started). 'channel' names the
 * org's FHIR channel (copied); NULL picks the first channel of type
 * "fhir". 'in' must outlive the server. On success *out owns the state
 * (api_fhir_free after the server stops); ERR_CONFIG when there is no such
 * FHIR channel, or http_server_route's errors (*out untouched). */
NODISCARD int api_fhir_install(struct http_server *srv, struct ingest *in,
                               const char *channel, struct api_fhir **out,
                               struct error *err);

/* Accepts NULL. Only after the HTTP server has stopped. */
void api_fhir_free(struct api_fhir *a);

#endif
