/* fhir.h -- maps FHIR R4 Schedule and Slot resources (JSON) to canonical
 * slot events.
 *
 * Pure domain code like siu.h: no I/O, no logging. A FHIR appointment book
 * is a Schedule (whose actors are the professional and the place) and its
 * Slots (each naming its Schedule). The mapping mirrors siu.c:
 *
 *   Schedule  -> a struct fhir_schedule (no event): the professional is
 *                the first actor whose reference is "Practitioner/..." or
 *                "PractitionerRole/..." (else whose type is one of those
 *                with an identifier), pseudonymised with privacy_pseudonym
 *                in the domain "professional" over "<channel>|<reference
 *                or identifier value>"; the unit is the first actor whose
 *                reference ("Location/x", "Organization/y") or identifier
 *                value is in the channel's "locations"; the professional
 *                group is the first code of serviceType, then specialty,
 *                that schedule_group_from_code knows, else the first code
 *                as sent.
 *   Slot      -> one event. status free: slot.opened (bookable); busy,
 *                busy-tentative: slot.booked; busy-unavailable:
 *                slot.opened held (not bookable, like SIU "Blocked");
 *                entered-in-error: slot.removed. The slot id (Slot.id, else
 *                identifier[0].value) is pseudonymised in the domain "slot"
 *                like siu.c. start and end are RFC 3339 instants (end at or
 *                after start). Urgent when a code of appointmentType or
 *                serviceType is EMERGENCY, URGENT or KIIREELLINEN
 *                (case-insensitive); overbooked: true makes the slot held,
 *                not bookable; appointmentType PHONE, VIDEO, CHAT or
 *                ESERVICE is a remote contact channel, else in person. The
 *                event time is meta.lastUpdated, else 'received_at'.
 *
 * The professional, group and unit of a Slot come from its Schedule in a
 * struct fhir_schedules the caller keeps (key: "Schedule/<id>").
 *
 * Errors fill a struct fhir_issue: an OperationOutcome issue whose
 * 'expression' names the element at fault ("Slot.start"), with a
 * diagnostics text that holds no personal data (at most a code).
 *
 * Thread safety: reentrant; a struct fhir_schedules has no lock (the
 * caller's writer owns it). */
#ifndef TK_FHIR_H
#define TK_FHIR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "event.h"
#include "org.h"
#include "privacy.h"

#define FHIR_RESOURCE_MAX (1024u * 1024u) /* one resource's JSON, bytes */
#define FHIR_ID_MAX 65                    /* FHIR id: 1..64 chars + NUL */
#define FHIR_SCHEDULES_MAX 1000000        /* Schedules one table holds */

/* One OperationOutcome issue. 'code' is an IssueType code ("invalid",
 * "required", "value", "not-found", "not-supported", "too-long",
 * "structure"). */
struct fhir_issue {
  char code[24];
  char expression[64];
  char diagnostics[160];
};

/* What a Schedule says about its book. */
struct fhir_schedule {
  char id[FHIR_ID_MAX];
  char professional[EVENT_PSEUDO_MAX];
  char prof_group[EVENT_CODE_MAX];
  char unit[EVENT_ID_MAX];
};

struct fhir_schedules;

/* Parses 'len' bytes of one JSON resource (at most FHIR_RESOURCE_MAX).
 * 0 and *out (a new reference: json_decref it) when it is an object with a
 * string resourceType; else ERR_TOOBIG or ERR_PARSE with 'iss' filled. */
NODISCARD int fhir_parse(const char *data, size_t len, json_t **out,
                         struct fhir_issue *iss);

/* The resource's type ("Slot") or "" when absent. */
const char *fhir_resource_type(const json_t *res);

/* Maps a Schedule from channel 'ch'. 0 and *out filled; ERR_MAPPING with
 * 'iss' filled (*out untouched). */
NODISCARD int fhir_schedule_map(const json_t *res, const struct org *org,
                                const struct org_channel *ch,
                                const struct privacy_keys *keys,
                                struct fhir_schedule *out,
                                struct fhir_issue *iss);

/* Maps a Slot from channel 'ch' to one event (channel set; source_key
 * "Slot/<id>"; the caller may replace it). Its Schedule must be in 'tab'.
 * 0 and *out filled; ERR_MAPPING with 'iss' filled (*out untouched). */
NODISCARD int fhir_slot_map(const json_t *res, const struct org_channel *ch,
                            const struct privacy_keys *keys,
                            const struct fhir_schedules *tab,
                            int64_t received_at, struct event *out,
                            struct fhir_issue *iss);

/* A new empty table (never NULL); free with fhir_schedules_free (accepts
 * NULL). */
struct fhir_schedules *fhir_schedules_new(void);
void fhir_schedules_free(struct fhir_schedules *t);
/* Adds or replaces the Schedule with s->id. 0, or ERR_TOOBIG past
 * FHIR_SCHEDULES_MAX (the table unchanged). */
NODISCARD int fhir_schedules_put(struct fhir_schedules *t,
                                 const struct fhir_schedule *s);
/* The Schedule with 'id', or NULL. */
const struct fhir_schedule *fhir_schedules_find(const struct fhir_schedules *t,
                                                const char *id);

/* Appends an OperationOutcome (severity error) with the issue to 'out'.
 * 0 or ERR_TOOBIG. */
NODISCARD int fhir_outcome_json(const struct fhir_issue *iss, struct buf *out);

#endif
