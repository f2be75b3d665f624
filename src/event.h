/* event.h -- the canonical event: what every feed becomes.
 *
 * A source message (HL7 v2, FHIR, CSV) maps to zero or more canonical
 * events. Events are the truth every projection is rebuilt from (DESIGN.md).
 * An event never holds a plain personal identity code or a name: 'subject'
 * and 'episode' are keyed pseudonyms (privacy.h).
 *
 * The struct is fixed-size and flat, so mapping allocates nothing and a
 * projection can copy events freely. Text fields are NUL-terminated and
 * truncated to their caps by event_set_str; callers check lengths against
 * the caps where truncation would change meaning (unit ids, beds).
 *
 * Thread safety: plain data; the functions are pure and reentrant. */
#ifndef TK_EVENT_H
#define TK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

#define EVENT_ID_MAX 64     /* unit ids, channel ids (incl. NUL) */
#define EVENT_KEY_MAX 200   /* source keys (incl. NUL) */
#define EVENT_PSEUDO_MAX 33 /* 32 hex characters + NUL */
#define EVENT_BED_MAX 24
#define EVENT_CODE_MAX 24
#define EVENT_CHANNEL_MAX 12 /* contact channel name (incl. NUL) */

/* Contact channels (yhteystapa) of a visit or slot. */
#define EVENT_CONTACT_IN_PERSON "in_person"
#define EVENT_CONTACT_PHONE "phone"
#define EVENT_CONTACT_VIDEO "video"
#define EVENT_CONTACT_CHAT "chat"
#define EVENT_CONTACT_ESERVICE "eservice"
#define EVENT_ATTRS_JSON_MAX                                                   \
  4096 /* attrs JSON text, far above the most                                  \
          event_attrs_to_json can write */

/* X(enum, name): the kinds, with the stable name stored in the event table.
 * Never renumber or rename: append. */
#define EVENT_KIND_TABLE(X)                                                    \
  X(EV_NONE, "none")                                                           \
  X(EV_ADMITTED, "episode.admitted")                                           \
  X(EV_TRANSFERRED, "episode.transferred")                                     \
  X(EV_DISCHARGED, "episode.discharged")                                       \
  X(EV_REGISTERED, "episode.registered")                                       \
  X(EV_UPDATED, "episode.updated")                                             \
  X(EV_LEAVE_STARTED, "episode.leave_started")                                 \
  X(EV_LEAVE_ENDED, "episode.leave_ended")                                     \
  X(EV_READY_FOR_TRANSFER, "episode.ready_for_transfer")                       \
  X(EV_ADMIT_CANCELLED, "episode.admit_cancelled")                             \
  X(EV_TRANSFER_CANCELLED, "episode.transfer_cancelled")                       \
  X(EV_DISCHARGE_CANCELLED, "episode.discharge_cancelled")                     \
  X(EV_LEAVE_START_CANCELLED, "episode.leave_start_cancelled")                 \
  X(EV_LEAVE_END_CANCELLED, "episode.leave_end_cancelled")                     \
  X(EV_PENDING_ADMIT, "episode.pending_admit")                                 \
  X(EV_PENDING_ADMIT_CANCELLED, "episode.pending_admit_cancelled")             \
  X(EV_PENDING_TRANSFER, "episode.pending_transfer")                           \
  X(EV_PENDING_TRANSFER_CANCELLED, "episode.pending_transfer_cancelled")       \
  X(EV_TO_OUTPATIENT, "episode.to_outpatient")                                 \
  X(EV_SLOT_OPENED, "slot.opened")                                             \
  X(EV_SLOT_BOOKED, "slot.booked")                                             \
  X(EV_SLOT_RELEASED, "slot.released")                                         \
  X(EV_SLOT_REMOVED, "slot.removed")                                           \
  X(EV_APPOINTMENT_BOOKED, "appointment.booked")                               \
  X(EV_APPOINTMENT_CANCELLED, "appointment.cancelled")                         \
  X(EV_APPOINTMENT_NOSHOW, "appointment.noshow")                               \
  X(EV_VISIT_COMPLETED, "visit.completed")

enum event_kind {
#define EVENT_KIND_ENUM(e, name) e,
  EVENT_KIND_TABLE(EVENT_KIND_ENUM)
#undef EVENT_KIND_ENUM
      EV__COUNT
};

/* Flags in event_attrs.flags. */
#define EVENT_F_UNVERIFIED_ID 0x01u /* identity code missing a valid check */
#define EVENT_F_TEMPORARY_ID 0x02u  /* hetu individual number 900-999 */
#define EVENT_F_TURVAKIELTO 0x04u   /* non-disclosure marking */
#define EVENT_F_EMERGENCY 0x08u     /* emergency (päivystyksellinen) */
#define EVENT_F_READY_CLEARED 0x10u /* ready-for-transfer withdrawn */
/* Scheduling (slot.*, appointment.*, visit.completed): */
#define EVENT_F_URGENT 0x20u   /* urgent (kiireellinen) slot or visit */
#define EVENT_F_BOOKABLE 0x40u /* the slot is open for booking */
#define EVENT_F_HELD 0x80u     /* held, frozen or reserved for a purpose */
#define EVENT_F_REMOTE 0x100u  /* phone, video, chat or e-service */
/* visit.completed: why a visit falls outside the care-guarantee statistic
 * (DOMAIN §2.2; access.h ACCESS_CARE_PLAN..ACCESS_PROMOTION). */
#define EVENT_F_CARE_PLAN 0x200u   /* under a care or rehabilitation plan */
#define EVENT_F_CERTIFICATE 0x400u /* solely for a certificate */
#define EVENT_F_SPECIALIST 0x800u  /* a non-GP specialist consultation */
#define EVENT_F_PROMOTION 0x1000u  /* health promotion (neuvola etc.) */

/* Sex as the source says it: 'M', 'F' or 'U' (unknown). */

struct event_attrs {
  char bed[EVENT_BED_MAX];            /* bed id within the unit, "" if none */
  char from_unit[EVENT_ID_MAX];       /* transfers: the unit left */
  char from_bed[EVENT_BED_MAX];       /* transfers: the bed left */
  char patient_class[EVENT_CODE_MAX]; /* PV1-2 as sent (I, O, E, ...) */
  int16_t age_band; /* lower bound of a 5-year band (0, 5, ... 95), -1 */
  char sex;         /* 'M', 'F', 'U' */
  uint32_t flags;   /* EVENT_F_* */
  int64_t expected_discharge; /* UTC ms, 0 = not sent */
  int64_t ready_since;        /* UTC ms, ready-for-transfer time, 0 = none */
  int64_t cancels_time;       /* cancels: occurred_at of what is undone, 0 */
  /* Scheduling: slot.*, appointment.*, visit.completed ("" / 0 if unset). */
  char professional[EVENT_PSEUDO_MAX];     /* professional pseudonym */
  char prof_group[EVENT_CODE_MAX];         /* professional group code as sent */
  char slot[EVENT_PSEUDO_MAX];             /* slot id pseudonym */
  char appointment[EVENT_PSEUDO_MAX];      /* appointment id pseudonym */
  char contact_channel[EVENT_CHANNEL_MAX]; /* EVENT_CONTACT_* */
  int64_t slot_start;                      /* UTC ms */
  int64_t slot_end;                        /* UTC ms */
  int64_t assessed_at; /* needs assessment (hoidon tarpeen arviointi) UTC ms */
  int64_t contact_at;  /* first contact (yhteydenotto) UTC ms */
  int16_t age_years;   /* visit.completed: completed years on the needs-
                          assessment date (else on the visit date); -1 when
                          unknown. Finer than age_band because the care
                          guarantee changes at 23 (DOMAIN §2.3). */
};

struct event {
  int64_t seq;                    /* assigned by the store, 0 before */
  char channel[EVENT_ID_MAX];     /* org channel id */
  char source_key[EVENT_KEY_MAX]; /* the source's message id (MSH-10) */
  enum event_kind kind;
  int64_t occurred_at;            /* UTC, milliseconds since the epoch */
  int32_t local_date;             /* Europe/Helsinki day number */
  char unit[EVENT_ID_MAX];        /* canonical org unit id */
  char subject[EVENT_PSEUDO_MAX]; /* person pseudonym */
  char episode[EVENT_PSEUDO_MAX]; /* episode pseudonym */
  struct event_attrs attrs;
};

/* Resets 'ev' to an empty event (kind EV_NONE, age_band -1, sex 'U'). */
void event_init(struct event *ev);

/* The stable name of 'kind' ("episode.admitted"); "none" when out of range. */
const char *event_kind_name(enum event_kind kind);

/* The kind for 'name'; EV_NONE when unknown. */
enum event_kind event_kind_from_name(const char *name);

/* Copies at most cap-1 bytes of 'src' (length 'len') into 'dst' and
 * terminates it. Returns true when everything fit. */
bool event_set_str(char *dst, size_t cap, const char *src, size_t len);

/* Appends the attributes as one compact JSON object to 'out' (only the
 * fields that are set; "{}" when none). Bytes that are not valid UTF-8 are
 * written as U+FFFD so the output is always valid JSON. 0 or ERR_TOOBIG
 * ('out' is then unchanged). */
NODISCARD int event_attrs_to_json(const struct event_attrs *a, struct buf *out);

/* Parses what event_attrs_to_json wrote; fields absent keep their
 * event_init defaults, unknown keys are ignored (forward compatibility).
 * 0, ERR_TOOBIG when 'len' exceeds EVENT_ATTRS_JSON_MAX, or ERR_PARSE (with
 * 'err' naming the field); *out is untouched on failure. */
NODISCARD int event_attrs_from_json(const char *json, size_t len,
                                    struct event_attrs *out, struct error *err);

#endif
