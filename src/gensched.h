/* gensched.h -- the synthetic county's appointment books: a seeded
 * generator of health-station scheduling written as HL7 v2.5 SIU and as
 * FHIR R4 transaction Bundles.
 *
 * For every health station of an organisation (org.h, normally a built-in
 * region) the generator staffs the station with physicians, nurses,
 * dentists and dental hygienists, opens each professional's appointment
 * book day by day a fixed horizon ahead (working days only, 08:00-16:00
 * Europe/Helsinki, Finnish holidays off), and tells the story of every
 * slot: opened (some urgent, some remote by phone or video, some held),
 * booked after a first contact and a needs assessment, sometimes cancelled
 * (and then often booked again), and finally a no-show or a completed visit
 * that carries the access-to-care facts (the ZHT segment of adt.h; the
 * Encounter extensions of the FHIR contract). Each station has a "lead":
 * how far ahead its books are full. A few stations are strained (lead about
 * 62-70 days), the others not (2-15 days), so T3 (t3.h) ranges from a few
 * days to over 60. The model, its parameters and the file formats are in
 * docs/SYNTHETIC.md.
 *
 * Invariants of the output:
 *  1. the same options (seed included) give byte-identical output;
 *  2. messages (and Bundles) come in non-decreasing time order (MSH-7 /
 *     meta.lastUpdated), each in the file of its Europe/Helsinki date;
 *  3. the first day starts with a census block (time = the first day's
 *     00:00) that opens every slot already in the books then, free, held or
 *     booked, so a consumer that starts empty has the full books;
 *  4. every slot starts on an arkipäivä (calendar.h) between 08:00 and
 *     16:00 local time and ends by 16:00; every location maps through the
 *     channel; contact <= needs assessment <= visit, the assessment on the
 *     contact's day or within 3 working days of it;
 *  5. identity codes are valid temporary codes (individual number 900-999)
 *     with birth dates spread over 0-95 years, unique per person.
 *
 * Thread safety: gensched_stream and gensched_run keep all state in their
 * own frame; concurrent calls are safe. The org is only read. */
#ifndef TK_GENSCHED_H
#define TK_GENSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"
#include "org.h"
#include "t3.h"

#define GENSCHED_MAX_DAYS 3660
#define GENSCHED_HORIZON_DAYS 91 /* books open this far ahead (default) */
#define GENSCHED_MIN_HORIZON 28
#define GENSCHED_MAX_HORIZON 365
#define GENSCHED_MSG_MAX 4096             /* bytes of one SIU message */
#define GENSCHED_BUNDLE_MAX (1024 * 1024) /* bytes of one FHIR Bundle line */
#define GENSCHED_MAX_STATIONS 4096        /* health stations used */
#define GENSCHED_SCHEDULES_PER_BUNDLE 200

/* Counts of what was written. */
struct gensched_stats {
  uint64_t messages;      /* SIU messages, census included */
  uint64_t census;        /* messages of the first day's census block */
  uint64_t opened;        /* S12 without a patient after the census */
  uint64_t booked;        /* S12 with a patient after the census */
  uint64_t released;      /* S14 without a patient: held slot released */
  uint64_t cancelled;     /* S15 */
  uint64_t noshows;       /* S26 */
  uint64_t visits;        /* S14 Complete */
  uint64_t bundles;       /* FHIR Bundles (when FHIR was asked for) */
  uint64_t resources;     /* FHIR resources in them */
  uint64_t files;         /* files written (gensched_run) */
  uint64_t stations;      /* health stations staffed */
  uint64_t professionals; /* appointment books */
};

struct gensched_options {
  /* The organisation: 'org' when not NULL (not owned), else the built-in
   * region named by 'region'. */
  const struct org *org;
  const char *region;
  /* The SIU channel (type "hl7v2") whose sender and location codes are
   * written; NULL = the first hl7v2 channel that maps a health station. */
  const char *channel;
  /* The FHIR channel (type "fhir") whose "locations" give the Location
   * references; NULL = the first fhir channel that maps a health station.
   * Needed only when FHIR output is asked for. */
  const char *fhir_channel;
  int32_t from; /* first day written (chrono day number, local) */
  int days;     /* days written, 1..GENSCHED_MAX_DAYS */
  uint64_t seed;
  int horizon_days;             /* 0 = GENSCHED_HORIZON_DAYS */
  struct gensched_stats *stats; /* optional: filled on success */
};

/* One station's plan (what gensched_stations reports). */
struct gensched_station {
  const struct org_unit *unit;
  bool strained;
  int lead_days[T3__GROUPS];     /* target lead per group */
  int professionals[T3__GROUPS]; /* books per group */
};

/* Receives one SIU message ('kind' 0; segments ended by '\r', no trailing
 * newline) or one FHIR Bundle ('kind' 1; compact JSON, no newline) of local
 * day 'day'; valid only during the call. Return 0 to go on, or a negative
 * ERR_* code to stop the run with it. */
typedef int (*gensched_sink_fn)(void *ctx, int kind, int32_t day,
                                const char *data, size_t len);

#define GENSCHED_SIU 0
#define GENSCHED_FHIR 1

/* The stations' plan for 'opt' (the same as a run with these options
 * uses): up to 'cap' entries into 'out' (may be NULL when cap is 0) and
 * the number of stations into *n. 0; ERR_INVAL, ERR_NOTFOUND or ERR_CONFIG
 * as gensched_stream. The unit pointers belong to the org: with 'region'
 * (no 'org') they are valid only during the call, so pass an org to keep
 * them. */
NODISCARD int gensched_stations(const struct gensched_options *opt,
                                struct gensched_station *out, size_t cap,
                                size_t *n, struct error *err);

/* Runs the generator and hands every SIU message and, when 'fhir' is true,
 * every FHIR Bundle to 'sink' in output order (within a time, SIU before
 * FHIR). Returns 0, ERR_INVAL for bad options (named in 'err'),
 * ERR_NOTFOUND for an unknown region or channel, ERR_CONFIG when the
 * channel maps no health station (or, with 'fhir', there is no FHIR
 * channel that does), or the sink's code. Stats are written on success
 * only. Thread-safe. */
NODISCARD int gensched_stream(const struct gensched_options *opt, bool fhir,
                              gensched_sink_fn sink, void *ctx,
                              struct error *err);

/* Runs the generator and writes SIU_DIR/siu-YYYY-MM-DD.hl7 (segments end
 * with '\r', each message is followed by '\n') when 'siu_dir' is not NULL,
 * and FHIR_DIR/fhir-YYYY-MM-DD.ndjson (one transaction Bundle a line) when
 * 'fhir_dir' is not NULL, for every day in [from, from + days). Directories
 * are created when missing (not their parents); each file is written to a
 * temporary name and renamed. At least one directory must be given
 * (ERR_INVAL). Returns what gensched_stream returns, or ERR_IO. */
NODISCARD int gensched_run(const struct gensched_options *opt,
                           const char *siu_dir, const char *fhir_dir,
                           struct error *err);

#endif
