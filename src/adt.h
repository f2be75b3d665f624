/* adt.h -- maps HL7 v2 ADT messages to canonical episode events.
 *
 * Pure domain code: no I/O, no logging. The identity code is validated
 * (hetu.h) and replaced by a keyed pseudonym (privacy.h) here, so no plain
 * identity code leaves this module. A message whose identity code is
 * invalid is still mapped: it is pseudonymised as given and flagged
 * EVENT_F_UNVERIFIED_ID (real systems send such codes).
 *
 * Mapping (trigger -> kind; unit from PV1-3 component 1 through the
 * channel's "locations", bed from PV1-3 component 3):
 *   A01 admitted, A02 transferred (from PV1-6), A03 discharged,
 *   A04 registered, A05/A14 pending admit, A06 admitted (to inpatient),
 *   A07 to outpatient, A08 updated, A11 admit cancelled,
 *   A12 transfer cancelled (PV1-3 = where the patient returns, PV1-6 = the
 *   cancelled location), A13 discharge cancelled, A15 pending transfer (unit
 *   from PV1-42), A21 leave started, A22 leave ended, A26 pending transfer
 *   cancelled, A27/A38 pending admit cancelled, A52/A53 leave cancels.
 * The event time is EVN-6 (event occurred), else PV1-44 (admissions) or
 * PV1-45 (discharges), else EVN-2 (recorded), else MSH-7.
 * The channel's ready_for_transfer source (org.h) adds a
 * EV_READY_FOR_TRANSFER event when the configured segment is present.
 *
 * Visits (DOMAIN §2): an A03 yields, after episode.discharged, a
 * visit.completed when the episode is an outpatient one (PV1-2 "O") at a
 * unit of type "health_station", or whenever the message carries a ZHT
 * segment. The visit copies the discharge (unit, subject, episode: the
 * episode pseudonym is the visit's identity, so an A13 can undo it) with:
 * occurred_at = PV1-44 (admit time) when sent, else the A03's event time;
 * prof_group = ZHT-5, else PV1-10 (hospital service) as sent; professional
 * = pseudonym of PV1-7 component 1 (attending doctor) in the domain
 * "professional" ("<channel>|<id>", as SIU does for AIP-3); contact channel
 * = ZHT-6, else in person; urgent when ZHT-4 is "U", or without ZHT-4 when
 * the episode is an emergency one (PV1-2 or PV1-4 "E"); the other ZHT
 * fields as adt_zht_apply says; age_years as adt_visit_age says.
 *
 * The ZHT segment (Tilannekuva's access-to-care Z-segment, in ADT and SIU):
 *   ZHT|<set id>|<HTA time>|<first contact time>|<urgency>|<prof group>|
 *       <contact channel>|<exclusions>
 *   ZHT-1 set id: optional, ignored.
 *   ZHT-2 needs assessment (hoidon tarpeen arviointi) time, DTM (component
 *         1), read by chrono_parse_hl7_ts: Helsinki local without an offset.
 *   ZHT-3 first contact (yhteydenotto) time, DTM, likewise.
 *   ZHT-4 urgency: "U" urgent, "N" non-urgent (overrides SCH-7).
 *   ZHT-5 professional group code as sent (overrides AIP-4 / PV1-10);
 *         shorter than EVENT_CODE_MAX.
 *   ZHT-6 contact channel: IN_PERSON, PHONE, VIDEO, CHAT or ESERVICE (the
 *         last four remote; overrides SCH-8).
 *   ZHT-7 care-guarantee exclusions, repeated with '~': CARE_PLAN,
 *         CERTIFICATE, SPECIALIST, PROMOTION.
 * Codes are matched ignoring case and surrounding blanks; an empty field
 * or HL7 null ("") is "not sent". Only the first ZHT counts. A ZHT is
 * checked in every ADT and SIU message that carries one (a bad value fails
 * the message, the ERR naming ZHT and the field) but only a visit.completed
 * takes its values.
 *
 * Thread safety: reentrant; org and keys are only read. */
#ifndef TK_ADT_H
#define TK_ADT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "event.h"
#include "hl7.h"
#include "org.h"
#include "privacy.h"

/* Events one message yields at most: the episode event, then a
 * ready-for-transfer (A01/A02/A06/A08) or a visit.completed (A03). */
#define ADT_MAX_EVENTS 2

/* Where and why a message could not be mapped; becomes the ACK's ERR
 * segment. No personal data in 'text'. */
struct adt_error {
  char segment[4];
  unsigned occurrence; /* 1-based */
  unsigned field;
  unsigned component;
  int hl7_code; /* HL7 table 0357: 100, 101, 102, 103, 200, 201, 207 */
  char text[160];
};

struct adt_result {
  size_t n;
  struct event ev[ADT_MAX_EVENTS];
  uint32_t flags; /* EVENT_F_* over the message */
};

/* Birth day of a person whose birth date is not known (adt_map_person). */
#define ADT_BIRTH_UNKNOWN INT32_MIN

/* The ZHT segment of a message, checked (see above). */
struct adt_zht {
  bool present;                    /* the message has a ZHT segment */
  int64_t assessed_at;             /* ZHT-2, UTC ms; 0 when not sent */
  int64_t contact_at;              /* ZHT-3, UTC ms; 0 when not sent */
  int urgent;                      /* ZHT-4: 1 "U", 0 "N", -1 not sent */
  char prof_group[EVENT_CODE_MAX]; /* ZHT-5 as sent; "" when not sent */
  const char *channel; /* ZHT-6 as an EVENT_CONTACT_* string; NULL if not */
  uint32_t exclusions; /* ZHT-7 as EVENT_F_CARE_PLAN..EVENT_F_PROMOTION */
};

/* Reads and checks the first ZHT segment of 'msg' into *out (present =
 * false and everything "not sent" when there is none). 0, or ERR_MAPPING
 * with *e naming ZHT and the field (HL7 code 102 for a malformed time or an
 * over-long group, 103 for an unknown code); *out is untouched on failure.
 * Reentrant. */
NODISCARD int adt_zht_parse(const struct hl7_msg *msg, struct adt_zht *out,
                            struct adt_error *e);

/* Applies a parsed ZHT to the visit 'ev' (occurred_at and local_date
 * already the visit's): sets attrs.assessed_at and attrs.contact_at when
 * sent; sets or clears EVENT_F_URGENT from ZHT-4; replaces prof_group with
 * ZHT-5; replaces contact_channel with ZHT-6 and sets EVENT_F_REMOTE for a
 * remote one (clears it for IN_PERSON); ORs the ZHT-7 exclusions into
 * attrs.flags. Fails with ERR_MAPPING (HL7 code 102, *e naming ZHT-2 or
 * ZHT-3) when the Helsinki date of the assessment or of the first contact is
 * after the visit's date; 'ev' is then untouched. No-op when !z->present. */
NODISCARD int adt_zht_apply(const struct adt_zht *z, struct event *ev,
                            struct adt_error *e);

/* Completed years of age on day 'on_day' for a person born on
 * 'birth_day' (chrono day numbers): the calendar years between them, less
 * one when the month and day of 'on_day' come before those of the birth.
 * So someone born on 29 February completes a year on 1 March in common
 * years (28.2.2025: still 0 for a child born 29.2.2024; 1.3.2025: 1) and on
 * 29 February in leap years. -1 when 'birth_day' is ADT_BIRTH_UNKNOWN,
 * when 'on_day' is before the birth, or when the age would exceed 150 (not
 * a living person; event.h's attrs cannot hold it). Pure. */
int adt_age_years(int32_t birth_day, int32_t on_day);

/* The ages of the visit 'ev' from 'birth_day' (ADT_BIRTH_UNKNOWN allowed):
 * attrs.age_years = adt_age_years on the Helsinki date of
 * attrs.assessed_at when set (the care guarantee's rule is chosen by the
 * age on the HTA date, DOMAIN §2.3), else on ev->local_date (the visit
 * date); attrs.age_band recomputed on ev->local_date when the birth day is
 * known (else left as it is). Pure. */
void adt_visit_age(struct event *ev, int32_t birth_day);

/* True when 'msg' is a message type this module maps (ADT). */
bool adt_handles(const struct hl7_msg *msg);

/* Maps 'msg' from channel 'ch' to events. 'received_at' (UTC ms) dates the
 * identity-code check. On success returns 0 and fills *out (source_key and
 * channel set on every event); on failure returns ERR_MAPPING (or
 * ERR_UNSUPPORTED for a trigger we do not handle), leaves *out untouched and
 * fills *e. */
NODISCARD int adt_map(const struct hl7_msg *msg, const struct org *org,
                      const struct org_channel *ch,
                      const struct privacy_keys *keys, int64_t received_at,
                      struct adt_result *out, struct adt_error *e);

/* Fills *e (segment 'seg', field 'f', component 'comp', HL7 table 0357
 * 'code', printf-style text without personal data) and returns
 * ERR_UNSUPPORTED for codes 200/201, else ERR_MAPPING. For HL7 v2 mappers. */
int adt_fail(struct adt_error *e, const char *seg, unsigned f, unsigned comp,
             int code, const char *fmt, ...) PRINTF_LIKE(6, 7);

/* Checks the MSH every HL7 v2 mapper needs: present, MSH-9.1 equal to
 * 'type' ("ADT", "SIU"), MSH-10 present and shorter than EVENT_KEY_MAX.
 * Sets *trigger (MSH-9.2) and *key (MSH-10). 0, or the adt_fail code with
 * *e naming MSH-9 or MSH-10. */
NODISCARD int adt_check_header(const struct hl7_msg *msg, const char *type,
                               struct hl7_span *trigger, struct hl7_span *key,
                               struct adt_error *e);

/* Refuses an event this mapper does not handle: HL7 error 201 on MSH-9.2
 * naming the trigger. Returns ERR_UNSUPPORTED. */
int adt_fail_trigger(struct hl7_span trigger, struct adt_error *e);

/* The patient of 'msg' (PID segment 'pid') onto 'ev': the identifier from
 * PID-3 (the repetition with assigning authority 1.2.246.21 or type NNFIN,
 * else the first non-empty one; then PID-2), checked as a henkilötunnus on
 * the local date of 'received_at', replaced by its "person" pseudonym in
 * ev->subject, reduced to an age band on ev->local_date and a sex (from
 * PID-7/PID-8 when the code is not valid). ORs EVENT_F_UNVERIFIED_ID or
 * EVENT_F_TEMPORARY_ID into *flags. Sets *birth_day (when not NULL) to the
 * birth date (from the valid or temporary identity code, else PID-7's
 * Helsinki date), or ADT_BIRTH_UNKNOWN. Shared by every HL7 v2 mapper
 * (siu.h). 0, or ERR_MAPPING with *e naming PID-3 (ev then partly written).
 * The plain identifier is wiped before returning. Reentrant. */
NODISCARD int adt_map_person(const struct hl7_msg *msg,
                             const struct hl7_seg *pid,
                             const struct privacy_keys *keys,
                             int64_t received_at, struct event *ev,
                             uint32_t *flags, int32_t *birth_day,
                             struct adt_error *e);

#endif
