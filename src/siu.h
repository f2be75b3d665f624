/* siu.h -- maps HL7 v2 SIU (scheduling) messages to canonical slot,
 * appointment and visit events.
 *
 * Pure domain code like adt.h: no I/O, no logging; the patient identifier
 * is pseudonymised by adt_map_person, the professional's id (AIP-3) by
 * privacy_pseudonym in the domain "professional", slot and appointment ids
 * (SCH-2, else SCH-1) in the domains "slot" and "appointment", each
 * prefixed with the channel id so two sources never collide.
 *
 * A SIU record is a slot of a professional's appointment book. Without a
 * patient (no PID-3) it is a free slot; with one it is a booked
 * appointment in that slot. Mapping (trigger -> events):
 *   S12 booked:       no patient: slot.opened;
 *                     patient: slot.booked + appointment.booked
 *   S13 rescheduled,
 *   S14 modified:     no patient: slot.opened (new time and flags);
 *                     patient: slot.booked (new time and flags)
 *   S15 cancelled,
 *   S17 deleted:      no patient: slot.removed;
 *                     patient: appointment.cancelled + slot.released
 *   S26 no-show:      appointment.noshow
 * and, when SCH-25 (filler status) is "Complete" on S12/S14 with a
 * patient, the visit: on S12 the appointment event becomes
 * visit.completed (slot.booked + visit.completed); on S14 a
 * visit.completed follows the slot.booked.
 *
 * Fields: unit from AIL-3 (first subcomponent of component 1) through the
 * channel's "locations" (PV1-3 when there is no AIL); professional from
 * AIP-3 component 1; professional group code from AIP-4 component 1 as
 * sent; slot start from AIS-4, AIL-6, AIP-6, TQ1-7 or SCH-11 component 4
 * (first present: TQ1 replaces the deprecated SCH-11 from v2.5); end from
 * TQ1-8 or SCH-11 component 5, else (or when before the start) the start
 * plus SCH-9 in SCH-10 units (minutes by default). Flags: urgent when SCH-7
 * (appointment reason) is EMERGENCY, URGENT or KIIREELLINEN; held and not
 * bookable when SCH-25 is "Blocked", else bookable; contact channel from
 * SCH-8 (appointment type) PHONE, VIDEO, CHAT or ESERVICE (remote), else in
 * person. The event time is MSH-7 (the scheduling system's time of the
 * change), else 'received_at'; a visit.completed's is the slot start (the
 * visit time).
 *
 * A visit.completed also carries (adt.h): the ZHT segment's values
 * (adt_zht_apply: HTA and first-contact times, ZHT-4 urgency over SCH-7,
 * ZHT-5 group over AIP-4, ZHT-6 channel over SCH-8, ZHT-7 exclusions), and
 * age_years (adt_visit_age: completed years on the HTA date, else on the
 * visit date, from the birth date of the identity code or PID-7; -1 when
 * unknown). A ZHT is checked in every SIU message that has one; a bad value
 * fails the message naming ZHT and the field.
 *
 * Thread safety: reentrant; org and keys are only read. */
#ifndef TK_SIU_H
#define TK_SIU_H

#include <stdbool.h>
#include <stdint.h>

#include "adt.h"
#include "compat.h"
#include "event.h"
#include "hl7.h"
#include "org.h"
#include "privacy.h"

/* True when 'msg' is a SIU message (MSH-9 component 1). */
bool siu_handles(const struct hl7_msg *msg);

/* Maps 'msg' from channel 'ch' to events (at most ADT_MAX_EVENTS). On
 * success returns 0 and fills *out (channel and source_key set on every
 * event); on failure returns ERR_MAPPING (ERR_UNSUPPORTED for a trigger not
 * listed above), leaves *out untouched and fills *e with the segment and
 * field at fault. */
NODISCARD int siu_map(const struct hl7_msg *msg, const struct org *org,
                      const struct org_channel *ch,
                      const struct privacy_keys *keys, int64_t received_at,
                      struct adt_result *out, struct adt_error *e);

#endif
