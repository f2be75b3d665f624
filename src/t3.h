/* t3.h -- T3, the third next available appointment (DOMAIN.md Part B §1).
 *
 * Per professional (§1.3): the calendar days from the measurement date
 * date(t0) to the date of the 3rd free, bookable, non-urgent, non-held slot
 * starting at or after t0, both dates in Europe/Helsinki. A free slot later
 * on the measurement day counts as 0 days. When the book holds fewer than
 * three such slots the value is the cap (default 182 days, THL) and it is
 * "censored". Whether remote (phone, video) slots count is a flag
 * (DOMAIN §1.2 [U]); both variants can be computed.
 *
 * Per unit and professional group: the median of the professionals' values
 * (even n: the mean of the two middle values), with n, the number censored
 * and the mean, under two labelled rules: "thl" (censored values included
 * at the cap, THL 2020) and "excluding_censored" (censored values left
 * out).
 *
 * Two ways to get a professional's value:
 *   - t3_professional: from a plain array of slots, O(n);
 *   - struct t3_book: an appointment book kept incrementally (slot opened,
 *     booked, released, modified, removed), with the counting slots in two
 *     ordered indexes (remote counted / not counted), so the value "now"
 *     costs O(log n) after any change, and each change O(log n) too.
 *
 * Pure: no I/O, no logging. Thread safety: the free functions are
 * reentrant; a struct t3_book has one writer and no lock inside (const
 * functions may run concurrently when nothing writes). */
#ifndef TK_T3_H
#define TK_T3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define T3_DEFAULT_CAP 182 /* days recorded when no third slot (THL) */
#define T3_DEFAULT_NTH 3   /* the third slot */
#define T3_MAX_NTH 16
#define T3_MAX_CAP 3660
#define T3_ID_MAX 128               /* bytes of a slot id */
#define T3_MAX_BOOK_SLOTS 1000000   /* slots in one book */
#define T3_MAX_PROFESSIONALS 100000 /* values in one t3_unit call */
#define T3_DEFAULT_HOUR 8           /* daily measurement 08:00 Helsinki */

/* Rule labels of struct t3_stat. */
#define T3_RULE_THL "thl"
#define T3_RULE_EXCL "excluding_censored"

/* Professional groups, measured separately (§1.2). */
enum t3_group { T3_PHYSICIAN, T3_NURSE, T3_DENTIST, T3_HYGIENIST, T3__GROUPS };

/* One slot of an appointment book. */
struct t3_slot {
  int64_t start; /* UTC ms */
  bool bookable; /* open for booking (false: a non-bookable block) */
  bool urgent;   /* urgent / same-day emergency slot (kiireellinen) */
  bool held;     /* held, frozen or reserved for a purpose (groups,
                    screenings, pre-booked control series) */
  bool remote;   /* phone or video appointment */
  bool free;     /* not booked */
};

struct t3_opts {
  int32_t cap;       /* days when fewer than 'nth' slots; default 182 */
  int nth;           /* which slot; default 3 (1..T3_MAX_NTH) */
  bool count_remote; /* remote slots count; default true ([U] §1.2) */
};

/* A professional's value. */
struct t3_value {
  int32_t days;
  bool censored; /* fewer than 'nth' slots: days is the cap */
};

/* One rule's statistics over a unit's values. */
struct t3_stat {
  const char *rule; /* T3_RULE_THL or T3_RULE_EXCL (static) */
  int64_t n;        /* values used */
  bool has_value;   /* false when n == 0 (median and mean are then 0) */
  double median;    /* even n: mean of the two middle values */
  double mean;
};

struct t3_summary {
  int64_t n;           /* professionals */
  int64_t censored;    /* of which censored */
  struct t3_stat thl;  /* censored values at the cap (THL rule) */
  struct t3_stat excl; /* censored values left out */
};

/* The stable name of a group ("physician", "nurse", "dentist",
 * "hygienist"), or NULL when out of range. */
const char *t3_group_name(enum t3_group g);

/* Writes the defaults (cap 182, third slot, remote counted). */
void t3_opts_default(struct t3_opts *o);

/* True when 's' counts for T3: free, bookable, not urgent, not held, and
 * remote only when 'count_remote'. */
bool t3_slot_counts(const struct t3_slot *s, bool count_remote);

/* The instant of the daily measurement on local day 'day' at hh:mm
 * Europe/Helsinki (08:00 by default; see chrono_from_local for DST gaps).
 * 0, or ERR_RANGE (out untouched). */
NODISCARD int t3_measure_time(int32_t day, int hour, int minute, int64_t *out);

/* A professional's T3 at 't0' from 'n' slots in any order. 'opts' may be
 * NULL (defaults). 0 and *out set; ERR_INVAL when slots is NULL with n > 0
 * or the options are out of range (*out untouched). Reentrant. */
NODISCARD int t3_professional(const struct t3_slot *slots, size_t n, int64_t t0,
                              const struct t3_opts *opts, struct t3_value *out);

/* The unit statistics of 'n' professionals' values (both rules). 0 and *out
 * set (n == 0 gives empty stats); ERR_INVAL for vals NULL with n > 0;
 * ERR_TOOBIG above T3_MAX_PROFESSIONALS; ERR_RANGE for a negative value.
 * Allocates one scratch array. Reentrant. */
NODISCARD int t3_unit(const struct t3_value *vals, size_t n,
                      struct t3_summary *out);

/* ---- Incremental appointment book --------------------------------------- */

struct t3_book;

/* A new, empty book. Never NULL. Free with t3_book_free (accepts NULL). */
struct t3_book *t3_book_new(void);
void t3_book_free(struct t3_book *b);

/* Slots are named by the source's id (1..T3_ID_MAX-1 bytes, any bytes but
 * NUL). Each call below returns 0 or a negative code and changes nothing
 * on failure:
 *   t3_book_open    a new slot (slot->free says whether it is free);
 *                   ERR_EXISTS when the id is in the book, ERR_TOOBIG when
 *                   the book holds T3_MAX_BOOK_SLOTS, ERR_INVAL for a bad
 *                   id;
 *   t3_book_book    free -> booked; ERR_NOTFOUND, ERR_STATE when not free;
 *   t3_book_release booked -> free; ERR_NOTFOUND, ERR_STATE when free;
 *   t3_book_update  replaces the slot's time and flags (rescheduled,
 *                   modified); ERR_NOTFOUND;
 *   t3_book_remove  deletes the slot; ERR_NOTFOUND.
 * O(log n) expected each. Not thread-safe (the writer). */
NODISCARD int t3_book_open(struct t3_book *b, const char *id, size_t id_len,
                           const struct t3_slot *slot);
NODISCARD int t3_book_book(struct t3_book *b, const char *id, size_t id_len);
NODISCARD int t3_book_release(struct t3_book *b, const char *id, size_t id_len);
NODISCARD int t3_book_update(struct t3_book *b, const char *id, size_t id_len,
                             const struct t3_slot *slot);
NODISCARD int t3_book_remove(struct t3_book *b, const char *id, size_t id_len);

/* Copies the slot named 'id' to *out. 0 or ERR_NOTFOUND (out untouched). */
NODISCARD int t3_book_get(const struct t3_book *b, const char *id,
                          size_t id_len, struct t3_slot *out);

/* Slots in the book (all states). */
size_t t3_book_count(const struct t3_book *b);

/* Removes every slot starting before 'before' (history no measurement will
 * look at again) and returns how many. O(n). */
size_t t3_book_prune(struct t3_book *b, int64_t before);

/* The professional's T3 at 't0', equal to t3_professional over the book's
 * slots. 'opts' may be NULL. 0 and *out set, or ERR_INVAL for bad options.
 * O(log n + nth). */
NODISCARD int t3_book_value(const struct t3_book *b, int64_t t0,
                            const struct t3_opts *opts, struct t3_value *out);

#endif
