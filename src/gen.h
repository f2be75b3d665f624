/* gen.h -- the synthetic county: a seeded simulation of patient flow that
 * writes a hospital district's HL7 v2.5 ADT feed.
 *
 * A discrete-event simulation moves patients through the emergency
 * departments, hospital wards and health-centre wards of an organisation
 * (org.h, normally a built-in region) and writes the ADT messages a patient
 * administration system would send: A04/A06/A02/A03 emergency paths,
 * A14/A01 elective admissions, A08 expected discharges and ready-for-transfer
 * (ZTK) markings, A21/A22 leaves and the A11/A12/A13 cancels of wrong
 * entries. The model, every parameter and the file format are described in
 * docs/SYNTHETIC.md.
 *
 * Invariants of the output:
 *  1. the same options (seed included) give byte-identical output;
 *  2. messages come in non-decreasing MSH-7 order, each in the file of its
 *     MSH-7 Europe/Helsinki date;
 *  3. read in that order, no bed holds two patients at once, every location
 *     maps through the channel and every bed is one of the ward's beds;
 *  4. the first day starts with a census block (MSH-7 = the first day's
 *     00:00:00) that admits every patient present at that instant, so a
 *     consumer that starts empty ends up with the full picture.
 *
 * Thread safety: gen_stream and gen_run keep all state in their own frame;
 * concurrent calls with distinct options are safe. The org is only read. */
#ifndef TK_GEN_H
#define TK_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"
#include "org.h"

#define GEN_MAX_DAYS 3660   /* longest history generated in one run */
#define GEN_WARMUP_DAYS 120 /* simulated before --from to fill the wards */
#define GEN_MSG_MAX 4096    /* bytes of one generated message */
#define GEN_MAX_WARDS 4096  /* wards and emergency departments used */

/* Counts of what was generated (only messages written count). */
struct gen_stats {
  uint64_t messages; /* messages written, census included */
  uint64_t census;   /* messages of the first day's census block */
  uint64_t a01, a02, a03, a04, a06, a08, a11, a12, a13, a14, a21, a22, a27;
  uint64_t ready_marks; /* A08 with the ZTK ready-for-transfer segment */
  uint64_t bad_hetu;    /* messages whose PID-3 fails the checksum */
  uint64_t episodes;    /* visits with at least one message written */
  uint64_t files;       /* day files written (gen_run) */
  double occupancy_pct; /* mean midnight census / beds over the wards and
                           days written, hospital and health-centre wards */
};

struct gen_options {
  /* The organisation: 'org' when not NULL (not owned; must outlive the
   * call), else the built-in region named by 'region'. */
  const struct org *org;
  const char *region;
  /* The ADT channel whose sender ids and location codes are used; NULL =
   * the first "hl7v2" channel that maps at least one ward. */
  const char *channel;
  int32_t from; /* first day written (chrono day number, local) */
  int days;     /* days written, 1..GEN_MAX_DAYS */
  uint64_t seed;
  int warmup_days;         /* 0 = GEN_WARMUP_DAYS; else 1..GEN_MAX_DAYS */
  const char *out_dir;     /* gen_run: created when missing (not its parents) */
  struct gen_stats *stats; /* optional: filled on success */
};

/* Receives one message: 'day' is its MSH-7 local date, 'msg' its 'len'
 * bytes (segments ended by '\r', no trailing newline). 'msg' is valid only
 * during the call. Return 0 to go on, or a negative ERR_* code to stop the
 * run with that code. */
typedef int (*gen_sink_fn)(void *ctx, int32_t day, const char *msg, size_t len);

/* Runs the simulation and hands every message, in output order, to 'sink'.
 * Returns 0, ERR_INVAL for bad options (with the option named in 'err'),
 * ERR_NOTFOUND for an unknown region or channel, ERR_CONFIG when the
 * organisation has no usable ward or emergency department on the channel,
 * or the sink's code. Stats (when asked for) are written only on success.
 * Thread-safe (see above). */
NODISCARD int gen_stream(const struct gen_options *opt, gen_sink_fn sink,
                         void *ctx, struct error *err);

/* Runs the simulation and writes OUT/adt-YYYY-MM-DD.hl7 for every day in
 * [from, from + days): each message's segments end with '\r' and the
 * message is followed by '\n'. A day's file is replaced as a whole (written
 * to a temporary name, then renamed). Returns what gen_stream returns, or
 * ERR_IO when the directory or a file cannot be written. */
NODISCARD int gen_run(const struct gen_options *opt, struct error *err);

/* The file name for 'day' ("adt-2025-03-01.hl7") into 'out'. */
void gen_file_name(int32_t day, char out[32]);

/* Synthetic names shared with the scheduling generator (gensched.h): a
 * first name for 'sex' ('M' or anything else for female) and a family name
 * in Finnish ('swedish' false) or Swedish, picked by 'h' (any value).
 * Static strings. Thread-safe. */
void gen_person_names(uint64_t h, bool swedish, char sex, const char **first,
                      const char **last);

/* The Swedish-speaking share of the residents of the municipality with
 * Statistics Finland code 'code' (approximate), or a small default for the
 * others and for NULL. Thread-safe. */
double gen_swedish_share(const char *code);

#endif
