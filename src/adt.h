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
 * Thread safety: reentrant; org and keys are only read. */
#ifndef TK_ADT_H
#define TK_ADT_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "event.h"
#include "hl7.h"
#include "org.h"
#include "privacy.h"

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
 * EVENT_F_TEMPORARY_ID into *flags. Shared by every HL7 v2 mapper (siu.h).
 * 0, or ERR_MAPPING with *e naming PID-3 (ev then partly written). The
 * plain identifier is wiped before returning. Reentrant. */
NODISCARD int adt_map_person(const struct hl7_msg *msg,
                             const struct hl7_seg *pid,
                             const struct privacy_keys *keys,
                             int64_t received_at, struct event *ev,
                             uint32_t *flags, struct adt_error *e);

#endif
