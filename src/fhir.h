/* fhir.h -- maps FHIR R4 Schedule, Slot, Appointment and Encounter
 * resources (JSON) to canonical events, and keeps the identifier index
 * conditional create (If-None-Exist) reads.
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
 *   Appointment -> zero or one event. status booked, arrived, checked-in,
 *                fulfilled: appointment.booked (a visit comes only from an
 *                Encounter, so none is counted twice); cancelled,
 *                entered-in-error: appointment.cancelled; noshow:
 *                appointment.noshow; proposed, pending, waitlist: no event
 *                (accepted, nothing else read). With an event: the unit is
 *                the first participant actor that maps (see "Units"
 *                below); start and end (required, as FHIR's app-3 says,
 *                unless cancelled) go to slot_start/slot_end; the
 *                appointment id (id, else identifier[0].value) is
 *                pseudonymised in the domain "appointment", slot[0]'s
 *                "Slot/<id>" in the domain "slot" (so it meets the Slot's
 *                pseudonym); the patient is the first participant actor
 *                that is a Patient (see "Persons"); the professional the
 *                first Practitioner or PractitionerRole actor (as for a
 *                Schedule); the group the first participant type,
 *                serviceType or specialty code schedule_group_from_code
 *                knows; urgency and contact channel as for a Slot, the
 *                contact-channel extension (below) winning. The event
 *                time is meta.lastUpdated, else 'received_at'.
 *   Encounter -> zero or one event. status "finished": visit.completed;
 *                planned, arrived, triaged, in-progress, onleave,
 *                cancelled, entered-in-error, unknown: no event (accepted,
 *                nothing else read; a correction of a finished visit is a
 *                PUT of the corrected finished Encounter, which the
 *                projections key by the episode). A finished Encounter
 *                needs: period.start (the visit time, occurred_at); a
 *                subject (see "Persons"); a unit from serviceProvider,
 *                else location[].location (see "Units"). The episode is
 *                the pseudonym (domain "episode") of "<channel>|Encounter/
 *                <id>" (id, else identifier[0].value): the visit's
 *                identity; attrs.appointment the pseudonym of
 *                appointment[0]'s "Appointment/<id>" as above. Urgent when
 *                priority (v3-ActPriority) is EM, UR, S or A. Contact
 *                channel: the contact-channel extension, else class
 *                (v3-ActCode) VR video, AMB and HH (home) and anything
 *                else in person; remote channels set EVENT_F_REMOTE. The
 *                professional is the first participant individual
 *                "Practitioner/..." or "PractitionerRole/..." (pseudonym
 *                as for a Schedule); the group the first participant type
 *                code outside v3-ParticipationType (a known group first),
 *                else the code of a contained PractitionerRole the
 *                participant points to ("#id"; a known group first, else
 *                the first as sent). attrs.patient_class = class code.
 *                age_years: completed years on the needs-assessment date,
 *                else on the visit date, -1 unknown; age_band on the visit
 *                date (5-year bands like adt.c).
 *
 * Extensions (on the Encounter, also read on an Appointment):
 *   EXT "needs-assessment"         valueDateTime -> attrs.assessed_at
 *   EXT "first-contact"            valueDateTime -> attrs.contact_at
 *   EXT "contact-channel"          valueCode in_person|phone|video|chat|
 *                                  eservice -> attrs.contact_channel
 *   EXT "care-guarantee-exclusion" valueCode care_plan|certificate|
 *                                  specialist|promotion (repeated) ->
 *                                  EVENT_F_CARE_PLAN .. EVENT_F_PROMOTION
 * where EXT is FHIR_EXT_BASE. A date-only valueDateTime is local midnight
 * in Helsinki. An unknown code or a value of the wrong type is refused,
 * naming "Encounter.extension[i].valueCode".
 *
 * Persons: a Reference whose identifier has system FHIR_HETU_SYSTEM (or no
 * system) is a henkilötunnus: checked with hetu_check (date = the day of
 * 'received_at') and pseudonymised over the code alone in the domain
 * "person", like adt_map_person, so HL7 and FHIR key a person alike;
 * invalid codes are kept and flagged EVENT_F_UNVERIFIED_ID, temporary ones
 * EVENT_F_TEMPORARY_ID; the birth date and sex come from the code. Another
 * system: pseudonym over "<system>|<value>", unverified. A reference "#id"
 * to a contained Patient reads that Patient's identifier (the henkilötunnus
 * one first) and, when the code gives none, its birthDate and gender. A
 * plain reference ("Patient/x"): pseudonym over "<channel>|<reference>",
 * unverified, no age.
 *
 * Units: a Reference maps through the channel's "locations" by, in order,
 * its reference ("Organization/1.2.3"), the id part of it ("1.2.3"), its
 * identifier value, the value without or with the "urn:oid:" prefix (so
 * organisation OIDs 1.2.246.10.* sent as system "urn:ietf:rfc:3986" value
 * "urn:oid:1.2.246.10..." and as a bare value are the same key), and an
 * identifier system that is itself an organisation OID ("urn:oid:
 * 1.2.246.10...", with or without the prefix).
 *
 * The professional, group and unit of a Slot come from its Schedule in a
 * struct fhir_schedules the caller keeps (key: "Schedule/<id>").
 *
 * Errors fill a struct fhir_issue: an OperationOutcome issue whose
 * 'expression' names the element at fault ("Slot.start"), with a
 * diagnostics text that holds no personal data (at most a code).
 *
 * Thread safety: reentrant; a struct fhir_schedules or fhir_idents has no
 * lock (the caller's writer owns it). */
#ifndef TK_FHIR_H
#define TK_FHIR_H

#include <jansson.h>
#include <stdbool.h>
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
#define FHIR_IDENTS_MAX (1u << 26)        /* identifier index entries */
#define FHIR_IDENT_VALUE_MAX 256          /* identifier system or value */
#define FHIR_HETU_SYSTEM "urn:oid:1.2.246.21"
#define FHIR_EXT_BASE "https://tilannekuva.fi/fhir/StructureDefinition/"

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

/* Maps an Appointment from channel 'ch' (see above). 0 with *n = 0 (no
 * event) or 1 and out[0] filled (channel set; source_key "Appointment/<id>",
 * the caller may replace it); ERR_MAPPING with 'iss' filled (*out, *n
 * untouched). */
NODISCARD int fhir_appointment_map(const json_t *res, const struct org *org,
                                   const struct org_channel *ch,
                                   const struct privacy_keys *keys,
                                   int64_t received_at, struct event *out,
                                   size_t *n, struct fhir_issue *iss);

/* Maps an Encounter from channel 'ch' (see above): like
 * fhir_appointment_map, the event a visit.completed. */
NODISCARD int fhir_encounter_map(const json_t *res, const struct org *org,
                                 const struct org_channel *ch,
                                 const struct privacy_keys *keys,
                                 int64_t received_at, struct event *out,
                                 size_t *n, struct fhir_issue *iss);

/* The unit a Reference object ('ref', may be NULL) maps to on 'ch' by the
 * rules under "Units" above, or NULL. */
const struct org_unit *fhir_reference_unit(const struct org *org,
                                           const struct org_channel *ch,
                                           const json_t *ref);

/* ---- conditional create (If-None-Exist) ------------------------------- */

/* A search on identifier: "identifier=system|value" (exact), "identifier=
 * |value" (no system) or "identifier=value" (any system). */
struct fhir_cond {
  char system[FHIR_IDENT_VALUE_MAX];
  char value[FHIR_IDENT_VALUE_MAX];
  bool any_system;
};

/* Parses an If-None-Exist value (URL-encoded query, '%7C' for '|' allowed).
 * 0 and *out; ERR_UNSUPPORTED (a parameter other than identifier, or more
 * than one) or ERR_PARSE (empty value, bad escape, too long) with 'iss'
 * filled naming 'expr' (*out untouched). */
NODISCARD int fhir_cond_parse(const char *query, const char *expr,
                              struct fhir_cond *out, struct fhir_issue *iss);

struct fhir_idents;

/* A new empty identifier index (never NULL); free with fhir_idents_free
 * (accepts NULL). Keys are (channel, resource type, identifier) digests;
 * values the resource's logical id (id, else identifier[0].value). */
struct fhir_idents *fhir_idents_new(void);
void fhir_idents_free(struct fhir_idents *t);

/* Indexes every identifier (with a string value) of 'res' received on
 * 'channel'. An identifier another resource of the type already holds
 * becomes ambiguous. Identifiers of 256 bytes or more and resource types
 * of 32 or more are skipped. 0 (also when 'res' has no logical id or
 * identifier),
 * or ERR_TOOBIG past FHIR_IDENTS_MAX entries (what fit is kept). */
NODISCARD int fhir_idents_add(struct fhir_idents *t, const char *channel,
                              const json_t *res);

/* Looks 'c' up among resources of 'type' on 'channel': 1 and the logical
 * id copied to 'id' (NUL-terminated), 0 when none has it, ERR_EXISTS when
 * several do ('id' untouched but for 1). */
NODISCARD int fhir_idents_find(const struct fhir_idents *t, const char *channel,
                               const char *type, const struct fhir_cond *c,
                               char id[FHIR_ID_MAX]);

/* The logical id of 'res': its id, else identifier[0].value; NULL when
 * neither is a non-empty string shorter than FHIR_ID_MAX. */
const char *fhir_logical_id(const json_t *res);

/* Appends an OperationOutcome (severity error) with the issue to 'out'.
 * 0 or ERR_TOOBIG. */
NODISCARD int fhir_outcome_json(const struct fhir_issue *iss, struct buf *out);

/* Appends an OperationOutcome with one issue of severity 'severity'
 * ("error", "information"). 0 or ERR_TOOBIG. */
NODISCARD int fhir_outcome_json_severity(const struct fhir_issue *iss,
                                         const char *severity, struct buf *out);

#endif
