/* gen.c -- the synthetic county: patient-flow simulation and ADT writer.
 *
 * Design: a discrete-event simulation over UTC milliseconds. Events (an ED
 * arrival, a decision to admit, a move into a bed, the end of care, a leave,
 * the ten-minute bed-manager tick, ...) sit in a binary heap ordered by
 * (time, push sequence), so the order of equal times is the order they were
 * scheduled and the run is deterministic. All randomness comes from one
 * xoshiro256** stream seeded through splitmix64; nothing reads the clock.
 *
 * The simulation starts GEN_WARMUP_DAYS before the first written day with
 * empty wards. Messages about what happens before the first day are not
 * written; at the first day's 00:00 local time a census block admits every
 * patient present then (A01/A04/A06/A14, plus A08 ZTK and A21 for those
 * ready for transfer or on leave), with EVN-6 the real past times. A wrong
 * entry and its cancel (A11/A12/A13) are one unit: when the wrong entry was
 * made before the first day, neither is written.
 *
 * Each message is handled by an action time (when the act happened, EVN-6
 * for all but cancels), then recorded 0-25 min later (EVN-2 = MSH-7; at
 * least a second after the same patient's previous message). Messages wait
 * in a second heap ordered by (MSH-7, sequence) and are released once the
 * simulation clock passes their MSH-7, so output is in MSH-7 order.
 *
 * Invariants:
 *  1. a bed is held by at most one episode (occ[b]); a bed left by a patient
 *     (or held for a wrong entry) is free again only after a turnaround of
 *     at least TURNAROUND_MIN_MS, which exceeds the largest recording delay,
 *     so even in MSH-7 order no bed ever holds two patients;
 *  2. every place written (PV1-3, PV1-6) is a location code of the channel
 *     and every bed one of the ward's configured beds;
 *  3. an episode's messages have strictly increasing MSH-7.
 *
 * Privacy: names and identity codes are synthetic but are still never
 * logged (this module does not log at all).
 *
 * Thread safety: all state lives in a struct sim on the caller's stack and
 * heap; the org is only read. */
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "chrono.h"
#include "rng.h"
#include "hetu.h"
#include "mem.h"

/* ------------------------------------------------------------ parameters */

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

#define TICK_MS (10 * MIN_MS)           /* bed manager runs this often */
#define TURNAROUND_MIN_MS (30 * MIN_MS) /* bed cleaning, wards */
#define TURNAROUND_MAX_MS (90 * MIN_MS)
#define ED_TURNAROUND_MAX_MS (45 * MIN_MS)
#define RECORD_DELAY_MAX_S 1500 /* 25 min: < TURNAROUND_MIN_MS */

#define P_ED_ADMITTED 0.25      /* share of ED visits that lead to a ward */
#define P_CANCEL_ADMIT 0.01     /* A01/A04 entered wrongly, then A11 */
#define P_CANCEL_TRANSFER 0.01  /* A02 to the wrong bed, then A12 */
#define P_CANCEL_DISCHARGE 0.01 /* A03 entered too early, then A13 */
#define P_BAD_HETU 0.005        /* persons whose check character is wrong */
#define P_NEW_SEPARATOR 0.01    /* persons with a DVV 2023 century sign */
#define P_READMIT 0.08          /* acute ED patients who were here before */
#define P_EXPECT_HOSPITAL 0.75  /* stays that get an A08 with PV2-9 */
#define P_EXPECT_POSTACUTE 0.5
#define P_EXPECT_REVISE 0.6   /* estimate passed: a revised A08 */
#define P_ONWARD_TO_WARD 0.75 /* onward care: a ward (else care home) */
#define P_LEAVE_WEEKEND 0.12  /* post-acute patients on weekend leave */
#define P_POSTACUTE_HOME 0.8  /* post-acute discharges home (else 24h care) */
#define P_ICU_HOME 0.1        /* ICU patients going home (else a ward) */
#define ONWARD_65_FACTOR 0.3  /* onward need at 65-74 relative to 75+ */
#define ICU_STEPDOWN_LOS 0.6  /* LOS factor on the step-down ward */

#define ED_WORKUP_MEDIAN_H 3.0 /* registration to admission decision */
#define ED_WORKUP_SIGMA 0.5
#define ED_VISIT_MEDIAN_H 3.5 /* ED visits that end at home */
#define ED_VISIT_SIGMA 0.55
#define PLACEMENT_MEDIAN_D 1.5 /* ready -> a place found (onward care) */
#define PLACEMENT_SIGMA 0.9
#define OVERFLOW_AFTER_MS (4 * HOUR_MS)  /* boarders may go to other wards */
#define CORRIDOR_AFTER_MS (6 * HOUR_MS)  /* boarders may get an extra place */
#define FORCE_AFTER_MS (10 * HOUR_MS)    /* an extra place over the limit */
#define ONWARD_MAX_WAIT_MS (14 * DAY_MS) /* then discharged to a care home */
#define ELECTIVE_LEAD_DAYS 21            /* A14 sent 1..20 days ahead */
#define ELECTIVE_MAX_POSTPONE 5
#define ELECTIVE_LAST_HOUR 16 /* planned patients wait for a bed until */
#define MIN_STAY_MS (3 * HOUR_MS)
#define POSTACUTE_DIRECT_MIN 0.2   /* direct admissions, share of need */
#define POSTACUTE_TRANSFER_MAX 0.8 /* hospital transfers, share of need */
#define POSTACUTE_GAIN 4.0    /* feedback of fill on post-acute admissions */
#define POSTACUTE_MAX_F 8.0   /* most the feedback multiplies their rate */
#define HANDOVER_MEDIAN_H 1.2 /* decision -> ward ready to receive */
#define HANDOVER_SIGMA 0.6
#define LOS_SNAP_DAYS 0.35 /* mean added by snapping discharges */

#define RING_SIZE 4096 /* recently discharged persons (readmissions) */
#define EP_MAX 50000000u
#define CENSUS_BANDS 21

/* ------------------------------------------------------------ tables */

enum age_profile {
  AGE_ED,
  AGE_MEDICAL,
  AGE_ELDERLY,
  AGE_SURGICAL,
  AGE_PAEDIATRIC,
  AGE_MATERNITY,
  AGE_PSYCHIATRIC,
  AGE__COUNT
};

/* Relative weights of the 5-year age bands 0-4, 5-9, ..., 100-104. */
static const double age_weights[AGE__COUNT][CENSUS_BANDS] = {
    [AGE_ED] = {5, 3, 3,   5, 7,   7,   6.5, 6, 5.5, 5.5, 5.5,
                6, 6, 6.5, 7, 6.5, 5.5, 4,   2, 0.6, 0.1},
    [AGE_MEDICAL] = {0,   0, 0, 0.5, 1,  1,  1.2, 1.5, 2,   2.5, 3.5,
                     4.5, 6, 8, 11,  13, 14, 12,  7,   2.5, 0.3},
    [AGE_ELDERLY] = {0, 0, 0, 0, 0,  0,  0,  0,  0, 0, 0.5,
                     1, 2, 4, 8, 14, 20, 24, 17, 7, 1},
    [AGE_SURGICAL] = {0, 0,   0,  1.5, 2.5, 3,   3,   3.5, 4, 5,  6,
                      7, 8.5, 10, 11,  10,  8.5, 6.5, 3.5, 1, 0.1},
    [AGE_PAEDIATRIC] = {50, 25, 25},
    [AGE_MATERNITY] = {0, 0, 0, 2, 12, 30, 33, 18, 5},
    [AGE_PSYCHIATRIC] = {0, 0, 0, 8, 12, 11, 10, 9, 8, 8, 7, 7, 6, 5, 4, 3, 2},
};

enum ward_class { WC_ACUTE, WC_SPECIAL, WC_POSTACUTE };
enum arrival { ARR_ED, ARR_DIRECT };

/* One ward type's flow. For post-acute types 'emergency' is the share of
 * their direct (not transferred) admissions that come through the ED. */
struct profile {
  const char *ward_type;
  double los_median; /* days, lognormal */
  double los_sigma;
  double occupancy; /* target used to size the arrival rates */
  double emergency; /* share of admissions that are unplanned */
  enum arrival arrival;
  enum age_profile age;
  double onward;   /* share of patients aged 75+ needing onward care */
  double to_rehab; /* of those: to a rehabilitation ward, when one exists */
  enum ward_class cls;
  double corridor; /* extra places (no bed) as a share of the beds */
};

static const struct profile profiles[] = {
    {"internal_medicine", 3.8, 0.65, 0.95, 0.95, ARR_ED, AGE_MEDICAL, 0.30, 0.2,
     WC_ACUTE, 0.12},
    {"cardiology", 2.8, 0.60, 0.90, 0.85, ARR_ED, AGE_MEDICAL, 0.12, 0.2,
     WC_ACUTE, 0.05},
    {"neurology", 4.2, 0.65, 0.90, 0.90, ARR_ED, AGE_MEDICAL, 0.30, 0.6,
     WC_ACUTE, 0.05},
    {"geriatrics", 7.0, 0.60, 0.92, 0.90, ARR_ED, AGE_ELDERLY, 0.40, 0.3,
     WC_ACUTE, 0.10},
    {"surgery", 2.0, 0.75, 0.89, 0.55, ARR_ED, AGE_SURGICAL, 0.08, 0.3,
     WC_ACUTE, 0.05},
    {"orthopaedics", 3.0, 0.65, 0.90, 0.60, ARR_ED, AGE_SURGICAL, 0.30, 0.6,
     WC_ACUTE, 0.05},
    {"intensive_care", 2.5, 0.80, 0.85, 0.95, ARR_ED, AGE_MEDICAL, 0.0, 0.0,
     WC_SPECIAL, 0.0},
    {"paediatrics", 2.0, 0.75, 0.82, 0.85, ARR_ED, AGE_PAEDIATRIC, 0.0, 0.0,
     WC_SPECIAL, 0.0},
    {"maternity", 2.5, 0.40, 0.82, 0.85, ARR_DIRECT, AGE_MATERNITY, 0.0, 0.0,
     WC_SPECIAL, 0.10},
    {"psychiatry", 14.0, 0.80, 0.95, 0.70, ARR_ED, AGE_PSYCHIATRIC, 0.0, 0.0,
     WC_SPECIAL, 0.0},
    {"rehabilitation", 14.0, 0.60, 0.95, 0.0, ARR_DIRECT, AGE_ELDERLY, 0.0, 0.0,
     WC_POSTACUTE, 0.0},
    {"health_centre", 16.0, 0.80, 0.98, 0.7, ARR_ED, AGE_ELDERLY, 0.0, 0.0,
     WC_POSTACUTE, 0.0},
};

/* Any other ward_type. */
static const struct profile default_profile = {
    "", 3.5, 0.65, 0.90, 0.80, ARR_ED, AGE_SURGICAL, 0.15, 0.3, WC_ACUTE, 0.05};

/* ED arrivals by local hour (relative) and by ISO weekday (Mon..Sun, mean
 * 1). Elective admissions are on weekdays 07:00-09:59. */
static const double ed_hour_w[24] = {2.0, 1.6, 1.3, 1.1, 1.0, 1.1, 1.5, 2.4,
                                     3.8, 5.0, 5.8, 6.0, 5.9, 5.7, 5.6, 5.5,
                                     5.4, 5.2, 5.0, 4.6, 4.0, 3.4, 2.8, 2.4};
static const double weekday_f[7] = {1.15, 1.03, 1.00, 0.99, 1.00, 0.92, 0.91};

/* Discharges by local hour (relative); on Saturday and Sunday 55 % of the
 * planned discharges wait for Monday. */
static const double discharge_hour_w[24] = {
    0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1,   3, 6,   9,
    11,  12,  11,  9,   6,   4,   3,   2,   1.5, 1, 0.5, 0.2};
#define P_WEEKEND_TO_MONDAY 0.55

/* Swedish-speaking share of residents by municipality (approximate,
 * Statistics Finland 2023); others get DEFAULT_SWEDISH. */
static const struct {
  const char *code;
  double share;
} swedish_share[] = {
    {"049", 0.07}, {"078", 0.41}, {"149", 0.52}, {"257", 0.15}, {"444", 0.04},
    {"710", 0.64}, {"755", 0.27}, {"927", 0.02}, {"224", 0.01},
};
#define DEFAULT_SWEDISH 0.005

static const char *const fi_male[] = {
    "Juhani", "Matti", "Mikko",  "Timo",  "Jari",   "Kari",   "Antti",
    "Pekka",  "Jukka", "Markku", "Mika",  "Heikki", "Ville",  "Janne",
    "Tuomas", "Lauri", "Eero",   "Onni",  "Leo",    "Elias",  "Väinö",
    "Aleksi", "Jussi", "Petri",  "Sami",  "Tapio",  "Veikko", "Pentti",
    "Erkki",  "Olavi", "Juha",   "Risto", "Esa",    "Seppo",  "Keijo",
    "Raimo",  "Hannu", "Lasse",  "Eino",  "Toivo"};
static const char *const fi_female[] = {
    "Maria", "Helena", "Anneli", "Johanna", "Kaarina", "Marjatta", "Anna",
    "Liisa", "Sari",   "Tuula",  "Päivi",   "Pirjo",   "Ritva",    "Leena",
    "Aino",  "Eeva",   "Sanna",  "Minna",   "Riitta",  "Tiina",    "Hanna",
    "Laura", "Emilia", "Aada",   "Sofia",   "Ella",    "Venla",    "Kerttu",
    "Irma",  "Aili",   "Elina",  "Katja",   "Satu",    "Heidi",    "Marja",
    "Eila",  "Raija",  "Sirkka", "Terttu",  "Sinikka"};
static const char *const fi_last[] = {
    "Korhonen",   "Virtanen", "Mäkinen",    "Nieminen", "Mäkelä",
    "Hämäläinen", "Laine",    "Heikkinen",  "Koskinen", "Järvinen",
    "Lehtonen",   "Lehtinen", "Saarinen",   "Salminen", "Heinonen",
    "Niemi",      "Heikkilä", "Kinnunen",   "Salonen",  "Turunen",
    "Salo",       "Laitinen", "Tuominen",   "Rantanen", "Karjalainen",
    "Jokinen",    "Mattila",  "Savolainen", "Lahtinen", "Ahonen",
    "Hiltunen",   "Leinonen", "Miettinen",  "Aaltonen", "Rajala",
    "Peltonen",   "Hakala",   "Räsänen",    "Koivisto", "Kallio",
    "Vainio",     "Lampinen", "Laaksonen",  "Seppälä",  "Kettunen",
    "Manninen",   "Anttila",  "Nurmi",      "Hirvonen", "Toivonen"};
static const char *const sv_male[] = {
    "Erik",    "Johan",  "Karl",    "Lars", "Anders", "Per",    "Mikael",
    "Fredrik", "Henrik", "Stefan",  "Mats", "Nils",   "Gustav", "Axel",
    "Oskar",   "Elias",  "William", "Hugo", "Anton",  "Viktor", "Bengt",
    "Ragnar",  "Göran",  "Jan",     "Rolf"};
static const char *const sv_female[] = {
    "Anna",      "Eva",       "Maria",   "Karin",    "Kristina",
    "Margareta", "Elisabeth", "Ingrid",  "Birgitta", "Ulla",
    "Sofia",     "Emma",      "Ebba",    "Alva",     "Elsa",
    "Wilma",     "Linnea",    "Saga",    "Ida",      "Matilda",
    "Gunilla",   "Britt",     "Kerstin", "Marianne", "Astrid"};
static const char *const sv_last[] = {
    "Lindström", "Lindqvist",  "Nyström",   "Holmström",  "Johansson",
    "Karlsson",  "Eriksson",   "Andersson", "Lindberg",   "Sjöberg",
    "Forsman",   "Nordström",  "Grönqvist", "Westerlund", "Söderholm",
    "Lundqvist", "Björklund",  "Ekström",   "Wikström",   "Åberg",
    "Blomqvist", "Strandberg", "Sundström", "Holmberg",   "Backman",
    "Lindgren",  "Berg",       "Mattsson",  "Österberg",  "Fagerström"};

static const char check_chars[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";

void gen_person_names(uint64_t h, bool swedish, char sex, const char **first,
                      const char **last) {
  uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32);
  if (swedish) {
    *first = sex == 'M' ? sv_male[a % ARRAY_LEN(sv_male)]
                        : sv_female[a % ARRAY_LEN(sv_female)];
    *last = sv_last[b % ARRAY_LEN(sv_last)];
  } else {
    *first = sex == 'M' ? fi_male[a % ARRAY_LEN(fi_male)]
                        : fi_female[a % ARRAY_LEN(fi_female)];
    *last = fi_last[b % ARRAY_LEN(fi_last)];
  }
}

double gen_swedish_share(const char *code) {
  if (code != NULL)
    for (size_t i = 0; i < ARRAY_LEN(swedish_share); i++)
      if (strcmp(swedish_share[i].code, code) == 0)
        return swedish_share[i].share;
  return DEFAULT_SWEDISH;
}

/* ------------------------------------------------------------ random */

/* ------------------------------------------------------------ the model */

enum trig {
  T_A01,
  T_A02,
  T_A03,
  T_A04,
  T_A06,
  T_A08,
  T_A11,
  T_A12,
  T_A13,
  T_A14,
  T_A21,
  T_A22,
  T_A27,
  T__COUNT
};
static const char *const trig_code[T__COUNT] = {
    "A01", "A02", "A03", "A04", "A06", "A08", "A11",
    "A12", "A13", "A14", "A21", "A22", "A27"};
static const char *const trig_struct[T__COUNT] = {
    "ADT_A01", "ADT_A02", "ADT_A03", "ADT_A01", "ADT_A06", "ADT_A01", "ADT_A09",
    "ADT_A12", "ADT_A01", "ADT_A05", "ADT_A21", "ADT_A21", "ADT_A21"};

struct ward {
  const struct org_unit *unit;
  const char *poc; /* location code on the channel */
  const struct profile *prof;
  int type; /* index into sim.types; -1 for an ED */
  bool is_ed;
  size_t nbeds;
  int32_t *occ;     /* episode holding each bed, -1 free, HELD for errors */
  int64_t *free_at; /* a free bed is usable from then */
  int corridor;     /* places in use without a bed (incl. reserved) */
  int corridor_max;
  int present; /* patients physically here (midnight census) */
  int ed;      /* nearest ED (ward index), -1 none */
  double em_per_day, el_per_day; /* arrival streams targeting this ward */
  double ed_other_per_day;       /* EDs: visits that end at home */
};
#define HELD (-2)

struct wtype {
  const char *name; /* ward_type, "" for none */
  const struct profile *prof;
  int *wards;
  size_t nwards;
  size_t beds;
  double adm_per_day; /* all admissions, computed from the target */
  double onward_share;
  double accept; /* post-acute: share of the onward patients taken */
};

struct person {
  char hetu[12];
  int32_t birth;
  char sex;
  uint8_t lang; /* 0 fi, 1 sv */
  uint8_t bad;  /* deliberately wrong check character */
  uint16_t first, last;
  int16_t muni;      /* index into sim.munis, -1 none */
  int32_t active_ep; /* episode in progress, -1 */
};

enum ep_state {
  ST_NEW,      /* created, not yet registered or pending */
  ST_PENDING,  /* A14 sent, elective admission ahead */
  ST_ED,       /* registered in the ED */
  ST_BOARDING, /* admission decided, waiting in the ED */
  ST_WARD,     /* on a ward (in a bed or an extra place) */
  ST_DONE
};

enum wait_kind {
  WAIT_NONE,
  WAIT_ED,       /* boarder in the ED wanting a bed of 'type' */
  WAIT_CORRIDOR, /* on a ward without a bed, wanting one there */
  WAIT_ONWARD    /* on a ward bed, wanting a bed of 'type' elsewhere */
};

#define ERRF_ADMIT 1u
#define ERRF_TRANSFER 2u
#define ERRF_DISCHARGE 4u

struct ep {
  uint32_t person;
  uint32_t visit;
  uint32_t plan; /* bumped when a new ward stay is planned */
  uint8_t state, wait, errors, on_leave, ready, transit, written, expect_rev;
  char cls;      /* PV1-2 */
  char adm_type; /* PV1-4: 'E' or 'C' */
  int16_t type;  /* clinical ward type (index), -1 ED only */
  int16_t target;
  int16_t ed;
  int16_t ward; /* current place (ED or ward), -1 none */
  int32_t bed;  /* -1: no bed */
  int16_t dest_ward;
  int32_t dest_bed;
  int16_t wrong_ward; /* bed held for a wrong entry, -1 none */
  int32_t wrong_bed;
  uint8_t postpones;
  const char *disposition; /* for a deferred discharge */
  double los_factor;
  int64_t visit_start, decided_at, ward_in, care_end, ready_at, wait_since;
  int64_t leave_at, expected, expected_admit, pending_at, last_rec;
  int64_t eligible_at; /* boarders: the ward can receive from then */
  int64_t quiet_until; /* a wrong discharge is being cancelled until then */
};

enum sev_kind {
  K_DAY,
  K_TICK,
  K_ARRIVE,
  K_REGISTER,
  K_DECIDE,
  K_ED_LEAVE,
  K_MOVE,
  K_CARE_END,
  K_PLACED,
  K_DISCHARGE,
  K_EXPECT,
  K_EXPECT_CHECK,
  K_LEAVE_START,
  K_LEAVE_END,
  K_PENDING,
  K_ELECTIVE,
  K_ADMIT
};

struct sev {
  int64_t t;
  uint64_t seq;
  uint32_t ep;
  uint32_t plan;
  int kind;
};

struct outmsg {
  int64_t t;
  uint64_t seq;
  char *text;
  size_t len;
  size_t id_off; /* where MSH-10's counter digits start */
  uint32_t ep;
  uint8_t trig, census, bad, ztk;
};

#define CTL_DIGITS 10

struct sim {
  const struct org *org;
  const struct org_channel *ch;
  struct rng rng;
  int64_t now, start_ms, from_ms, end_ms;
  int32_t start_day, from_day, end_day;

  struct ward *wards;
  size_t nwards;
  struct wtype *types;
  size_t ntypes;
  int hc_type, rehab_type, icu_type, stepdown[2];

  const struct org_unit **munis;
  double *muni_w;
  double *muni_sv;
  size_t nmunis;

  struct person *persons;
  size_t npersons, cap_persons;
  struct ep *eps;
  size_t neps, cap_eps;
  uint64_t *hetu_set;
  size_t hetu_cap, hetu_n;
  uint32_t ring[RING_SIZE];
  size_t ring_n, ring_pos;

  uint32_t *wait;
  size_t nwait, cap_wait;

  struct sev *ev;
  size_t nev, cap_ev;
  uint64_t ev_seq;
  struct outmsg *out;
  size_t nout, cap_out;
  uint64_t out_seq;

  gen_sink_fn sink;
  void *ctx;
  int sink_rc;
  char ctl_prefix[16];
  char visit_prefix[8];
  uint64_t ctl_counter;
  uint32_t visit_counter;
  bool census_done;
  bool in_census;
  struct buf fmt;
  struct gen_stats st;
  double census_sum, census_beds;
};

/* ------------------------------------------------------------ heaps */

static bool sev_less(const struct sev *a, const struct sev *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push_ev(struct sim *s, int64_t t, int kind, uint32_t ep,
                    uint32_t plan) {
  size_t i;
  if (t >= s->end_ms)
    return; /* after the run */
  if (t < s->now)
    t = s->now; /* time never runs backwards */
  if (s->nev == s->cap_ev) {
    s->cap_ev = s->cap_ev ? s->cap_ev * 2 : 4096;
    s->ev = mem_realloc(s->ev, s->cap_ev * sizeof *s->ev);
  }
  i = s->nev++;
  s->ev[i] = (struct sev){t, s->ev_seq++, ep, plan, kind};
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!sev_less(&s->ev[i], &s->ev[p]))
      break;
    struct sev tmp = s->ev[p];
    s->ev[p] = s->ev[i];
    s->ev[i] = tmp;
    i = p;
  }
}

static struct sev pop_ev(struct sim *s) {
  struct sev top = s->ev[0];
  size_t i = 0;
  s->ev[0] = s->ev[--s->nev];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->nev && sev_less(&s->ev[l], &s->ev[m]))
      m = l;
    if (r < s->nev && sev_less(&s->ev[r], &s->ev[m]))
      m = r;
    if (m == i)
      break;
    struct sev tmp = s->ev[m];
    s->ev[m] = s->ev[i];
    s->ev[i] = tmp;
    i = m;
  }
  return top;
}

static bool out_less(const struct outmsg *a, const struct outmsg *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push_out(struct sim *s, struct outmsg m) {
  size_t i;
  if (s->nout == s->cap_out) {
    s->cap_out = s->cap_out ? s->cap_out * 2 : 1024;
    s->out = mem_realloc(s->out, s->cap_out * sizeof *s->out);
  }
  i = s->nout++;
  m.seq = s->out_seq++;
  s->out[i] = m;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!out_less(&s->out[i], &s->out[p]))
      break;
    struct outmsg tmp = s->out[p];
    s->out[p] = s->out[i];
    s->out[i] = tmp;
    i = p;
  }
}

static struct outmsg pop_out(struct sim *s) {
  struct outmsg top = s->out[0];
  size_t i = 0;
  s->out[0] = s->out[--s->nout];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->nout && out_less(&s->out[l], &s->out[m]))
      m = l;
    if (r < s->nout && out_less(&s->out[r], &s->out[m]))
      m = r;
    if (m == i)
      break;
    struct outmsg tmp = s->out[m];
    s->out[m] = s->out[i];
    s->out[i] = tmp;
    i = m;
  }
  return top;
}

/* ------------------------------------------------------------ time */

/* The instant of local wall time day h:mi:s (values always in range). */
static int64_t at_local(int32_t day, int h, int mi, int sec) {
  int64_t ms = 0;
  if (chrono_from_local(day, h, mi, sec, &ms) < 0)
    ms = (int64_t)day * DAY_MS; /* unreachable: arguments are in range */
  return ms;
}

static int32_t local_day(int64_t ms) { return chrono_local_date(ms); }

/* "YYYYMMDDHHMMSS+HHMM" (Europe/Helsinki local time with its offset). */
static void format_ts(int64_t ms, char out[24]) {
  struct chrono_local l;
  int y, m, d, off;
  chrono_to_local(ms, &l);
  chrono_civil_from_days(l.day, &y, &m, &d);
  off = l.utc_offset_min;
  snprintf(out, 24, "%04u%02u%02u%02u%02u%02u%c%02u%02u", (unsigned)y % 10000u,
           (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)l.hour % 100u,
           (unsigned)l.minute % 100u, (unsigned)l.second % 100u,
           off < 0 ? '-' : '+', (unsigned)abs(off) / 60u % 100u,
           (unsigned)abs(off) % 60u);
}

/* A discharge-like time on local day 'day' or later, not before
 * 'not_before': an hour from discharge_hour_w, weekends partly moved to
 * Monday. */
static int64_t snap_discharge(struct sim *s, int64_t t, int64_t not_before) {
  int32_t day = local_day(t);
  int wd = chrono_weekday(day);
  size_t h = rng_weighted(&s->rng, discharge_hour_w, 24);
  int mi = (int)rng_below(&s->rng, 60), sec = (int)rng_below(&s->rng, 60);
  int64_t ms;
  if (wd >= 6 && rng_chance(&s->rng, P_WEEKEND_TO_MONDAY))
    day += 8 - wd;
  ms = at_local(day, (int)h, mi, sec);
  while (ms < not_before) {
    day++;
    ms = at_local(day, (int)h, mi, sec);
  }
  return ms;
}

/* The next ward round (09:00-11:59 local) at least an hour after 't'. */
static int64_t next_round(struct sim *s, int64_t t) {
  int32_t day = local_day(t);
  int64_t ms;
  for (;;) {
    ms = at_local(day, 9 + (int)rng_below(&s->rng, 3),
                  (int)rng_below(&s->rng, 60), 0);
    if (ms >= t + HOUR_MS)
      return ms;
    day++;
  }
}

/* ------------------------------------------------------------ people */

static double band_share(enum age_profile a, int lo_band, int hi_band) {
  double all = 0, part = 0;
  for (int b = 0; b < CENSUS_BANDS; b++) {
    all += age_weights[a][b];
    if (b >= lo_band && b <= hi_band)
      part += age_weights[a][b];
  }
  return all > 0 ? part / all : 0;
}

static uint64_t hash_hetu(const char *h) {
  uint64_t x = 1469598103934665603ULL;
  for (int i = 0; i < HETU_LEN; i++) {
    x ^= (unsigned char)h[i];
    x *= 1099511628211ULL;
  }
  return x | 1; /* 0 marks an empty slot */
}

/* Adds 'h' to the set; false when it was already there. */
static bool hetu_insert(struct sim *s, const char *h) {
  uint64_t k = hash_hetu(h);
  size_t i;
  if (2 * (s->hetu_n + 1) > s->hetu_cap) {
    size_t ncap = s->hetu_cap ? s->hetu_cap * 2 : 1u << 14;
    uint64_t *n = mem_calloc(ncap, sizeof *n);
    for (size_t j = 0; j < s->hetu_cap; j++) {
      uint64_t v = s->hetu_set[j];
      if (v == 0)
        continue;
      size_t p = (size_t)(v & (ncap - 1));
      while (n[p] != 0)
        p = (p + 1) & (ncap - 1);
      n[p] = v;
    }
    mem_free(s->hetu_set);
    s->hetu_set = n;
    s->hetu_cap = ncap;
  }
  i = (size_t)(k & (s->hetu_cap - 1));
  while (s->hetu_set[i] != 0) {
    if (s->hetu_set[i] == k)
      return false;
    i = (i + 1) & (s->hetu_cap - 1);
  }
  s->hetu_set[i] = k;
  s->hetu_n++;
  return true;
}

static void make_hetu(struct sim *s, struct person *p) {
  int y, m, d;
  chrono_civil_from_days(p->birth, &y, &m, &d);
  for (;;) {
    char sep = hetu_century_sign(y);
    int zzz = 2 + (int)rng_below(&s->rng, 898);
    char q;
    if (rng_chance(&s->rng, P_NEW_SEPARATOR)) {
      if (y >= 1900 && y <= 1999)
        sep = "YXWVU"[rng_below(&s->rng, 5)];
      else if (y >= 2000 && y <= 2099)
        sep = "BCDEF"[rng_below(&s->rng, 5)];
    }
    if ((zzz % 2 == 1) != (p->sex == 'M'))
      zzz += zzz < 899 ? 1 : -1;
    q = hetu_checksum_char(d, m, y % 100, zzz);
    if (p->bad) {
      const char *at = strchr(check_chars, q);
      size_t idx = at != NULL ? (size_t)(at - check_chars) : 0;
      q = check_chars[(idx + 1 + rng_below(&s->rng, 30)) % 31];
    }
    snprintf(p->hetu, sizeof p->hetu, "%02u%02u%02u%c%03u%c",
             (unsigned)d % 100u, (unsigned)m % 100u, (unsigned)y % 100u, sep,
             (unsigned)zzz % 1000u, q);
    if (hetu_insert(s, p->hetu))
      return;
  }
}

/* A new person of age profile 'a' arriving on local day 'day'. */
static uint32_t new_person(struct sim *s, enum age_profile a, int32_t day) {
  struct person p;
  size_t band = rng_weighted(&s->rng, age_weights[a], CENSUS_BANDS);
  double age = (double)band * 5 + rng_unit(&s->rng) * 5;
  double pf;
  memset(&p, 0, sizeof p);
  p.birth = day - (int32_t)(age * 365.2425) - 1;
  if (a == AGE_MATERNITY)
    pf = 1.0;
  else if (age >= 80)
    pf = 0.65;
  else if (age >= 65)
    pf = 0.55;
  else
    pf = 0.5;
  p.sex = rng_chance(&s->rng, pf) ? 'F' : 'M';
  p.muni = -1;
  if (s->nmunis > 0)
    p.muni = (int16_t)rng_weighted(&s->rng, s->muni_w, s->nmunis);
  p.lang =
      rng_chance(&s->rng, p.muni >= 0 ? s->muni_sv[p.muni] : DEFAULT_SWEDISH)
          ? 1
          : 0;
  if (p.lang == 1) {
    p.first =
        (uint16_t)(p.sex == 'M' ? rng_below(&s->rng, ARRAY_LEN(sv_male))
                                : rng_below(&s->rng, ARRAY_LEN(sv_female)));
    p.last = (uint16_t)rng_below(&s->rng, ARRAY_LEN(sv_last));
  } else {
    p.first =
        (uint16_t)(p.sex == 'M' ? rng_below(&s->rng, ARRAY_LEN(fi_male))
                                : rng_below(&s->rng, ARRAY_LEN(fi_female)));
    p.last = (uint16_t)rng_below(&s->rng, ARRAY_LEN(fi_last));
  }
  p.bad = rng_chance(&s->rng, P_BAD_HETU) ? 1 : 0;
  p.active_ep = -1;
  make_hetu(s, &p);
  if (s->npersons == s->cap_persons) {
    s->cap_persons = s->cap_persons ? s->cap_persons * 2 : 4096;
    s->persons = mem_realloc(s->persons, s->cap_persons * sizeof *s->persons);
  }
  s->persons[s->npersons] = p;
  return (uint32_t)s->npersons++;
}

static int age_on(const struct person *p, int32_t day) {
  int by, bm, bd, y, m, d, age;
  chrono_civil_from_days(p->birth, &by, &bm, &bd);
  chrono_civil_from_days(day, &y, &m, &d);
  age = y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
  return age;
}

/* ------------------------------------------------------------ episodes */

static uint32_t new_ep(struct sim *s, int type, int target, int ed) {
  struct ep e;
  memset(&e, 0, sizeof e);
  e.person = UINT32_MAX;
  e.visit = s->visit_counter++;
  e.state = ST_NEW;
  e.cls = 'E';
  e.adm_type = 'E';
  e.type = (int16_t)type;
  e.target = (int16_t)target;
  e.ed = (int16_t)ed;
  e.ward = -1;
  e.bed = -1;
  e.dest_ward = -1;
  e.dest_bed = -1;
  e.wrong_ward = -1;
  e.wrong_bed = -1;
  e.los_factor = 1.0;
  if (s->neps == s->cap_eps) {
    s->cap_eps = s->cap_eps ? s->cap_eps * 2 : 8192;
    s->eps = mem_realloc(s->eps, s->cap_eps * sizeof *s->eps);
  }
  s->eps[s->neps] = e;
  return (uint32_t)s->neps++;
}

/* Gives episode 'i' a person: a recent patient (readmission) or a new one. */
static void assign_person(struct sim *s, uint32_t i, enum age_profile a,
                          bool may_readmit) {
  uint32_t p = UINT32_MAX;
  if (may_readmit && s->ring_n > 0 && rng_chance(&s->rng, P_READMIT)) {
    uint32_t cand = s->ring[rng_below(&s->rng, (uint32_t)s->ring_n)];
    if (s->persons[cand].active_ep < 0)
      p = cand;
  }
  if (p == UINT32_MAX)
    p = new_person(s, a, local_day(s->now));
  s->persons[p].active_ep = (int32_t)i;
  s->eps[i].person = p;
}

static void person_done(struct sim *s, struct ep *e, bool remember) {
  struct person *p = &s->persons[e->person];
  p->active_ep = -1;
  if (remember) {
    s->ring[s->ring_pos] = e->person;
    s->ring_pos = (s->ring_pos + 1) % RING_SIZE;
    if (s->ring_n < RING_SIZE)
      s->ring_n++;
  }
}

/* ------------------------------------------------------------ messages */

struct msg {
  enum trig trig;
  int64_t action; /* when the act happened: orders and dates the message */
  int64_t evn6;   /* EVN-6 (for cancels: the cancelled event's time) */
  int ward;       /* PV1-3 */
  int32_t bed;
  int prior_ward; /* PV1-6, -1 none */
  int32_t prior_bed;
  int64_t discharge;       /* PV1-45, 0 none */
  const char *disposition; /* PV1-36 */
  int64_t expected;        /* PV2-9 */
  int64_t expected_admit;  /* PV2-8 */
  int64_t ready;           /* ZTK-2, 0 = no ZTK segment */
  bool erroneous;          /* a wrong entry or its cancel */
  int64_t err_start;       /* when the wrong entry was made */
};

static struct msg msg_at(enum trig t, const struct ep *e, int64_t when) {
  struct msg m;
  memset(&m, 0, sizeof m);
  m.trig = t;
  m.action = when;
  m.evn6 = when;
  m.ward = e->ward;
  m.bed = e->bed;
  m.prior_ward = -1;
  m.prior_bed = -1;
  return m;
}

/* Recording delay: 80 % within 2 min, 17 % 2-10 min, 3 % 10-25 min. */
static int64_t record_delay(struct sim *s) {
  double u = rng_unit(&s->rng);
  if (u < 0.80)
    return (int64_t)rng_below(&s->rng, 121) * 1000;
  if (u < 0.97)
    return (120 + (int64_t)rng_below(&s->rng, 481)) * 1000;
  return (600 + (int64_t)rng_below(&s->rng, RECORD_DELAY_MAX_S - 600 + 1)) *
         1000;
}

static int put_place(struct buf *b, const struct sim *s, int ward,
                     int32_t bed) {
  int rc;
  if (ward < 0)
    return 0;
  rc = buf_puts(b, s->wards[ward].poc);
  if (rc == 0 && bed >= 0)
    rc = buf_printf(b, "^^%s", s->wards[ward].unit->beds[bed]);
  return rc;
}

static int put_ts(struct buf *b, int64_t ms) {
  char ts[24];
  if (ms == 0)
    return 0;
  format_ts(ms, ts);
  return buf_puts(b, ts);
}

/* Formats message 'm' about episode 'e', recorded at 'rec', into s->fmt.
 * MSH-10 gets CTL_DIGITS zeros at *id_off, patched when released. */
static int format_msg(struct sim *s, const struct ep *e, const struct msg *m,
                      int64_t rec, size_t *id_off) {
  struct buf *b = &s->fmt;
  const struct person *p = &s->persons[e->person];
  const char *fac = s->ch->facility;
  const char *first, *last;
  int y, mo, d, rc = 0;
  char ts[24];

  buf_reset(b);
  if (p->lang == 1) {
    first = p->sex == 'M' ? sv_male[p->first] : sv_female[p->first];
    last = sv_last[p->last];
  } else {
    first = p->sex == 'M' ? fi_male[p->first] : fi_female[p->first];
    last = fi_last[p->last];
  }
  format_ts(rec, ts);
  rc = buf_printf(b, "MSH|^~\\&|%s|%s|TILANNEKUVA|%s|%s||ADT^%s^%s|%s",
                  s->ch->application, fac, fac, ts, trig_code[m->trig],
                  trig_struct[m->trig], s->ctl_prefix);
  if (rc < 0)
    return rc;
  *id_off = b->len;
  rc = buf_printf(b, "%0*d|P|2.5|||||FIN|UNICODE UTF-8\r", CTL_DIGITS, 0);
  if (rc == 0)
    rc = buf_printf(b, "EVN|%s|%s||||", trig_code[m->trig], ts);
  if (rc == 0)
    rc = put_ts(b, m->evn6);
  chrono_civil_from_days(p->birth, &y, &mo, &d);
  if (rc == 0)
    rc = buf_printf(b,
                    "\rPID|1||%s^^^1.2.246.21^NNFIN||%s^%s||%04d%02d%02d|%c"
                    "|||",
                    p->hetu, last, first, y, mo, d, p->sex);
  if (rc == 0 && p->muni >= 0) {
    const struct org_unit *mu = s->munis[p->muni];
    rc = buf_printf(b, "^^%s^^^FIN^H^^%s",
                    p->lang == 1 ? mu->name.sv : mu->name.fi, mu->municipality);
  }
  if (rc == 0)
    rc = buf_printf(b, "||||%s\r", p->lang == 1 ? "sv" : "fi");
  /* PV1: 1 set id, 2 class, 3 location, 4 admission type, 6 prior location,
   * 19 visit number, 36 discharge disposition, 44 admit, 45 discharge. */
  if (rc == 0)
    rc = buf_printf(b, "PV1|1|%c|", e->cls);
  if (rc == 0)
    rc = put_place(b, s, m->ward, m->bed);
  if (rc == 0)
    rc = buf_printf(b, "|%c||", e->adm_type);
  if (rc == 0)
    rc = put_place(b, s, m->prior_ward, m->prior_bed);
  if (rc == 0)
    rc = buf_printf(b, "|||||||||||||%s%07u|||||||||||||||||%s||||||||",
                    s->visit_prefix, e->visit,
                    m->disposition != NULL ? m->disposition : "");
  if (rc == 0)
    rc = put_ts(b, e->visit_start);
  if (rc == 0)
    rc = buf_putc(b, '|');
  if (rc == 0)
    rc = put_ts(b, m->discharge);
  if (rc == 0)
    rc = buf_putc(b, '\r');
  if (rc == 0 && (m->expected != 0 || m->expected_admit != 0)) {
    rc = buf_puts(b, "PV2||||||||"); /* to PV2-8 */
    if (rc == 0)
      rc = put_ts(b, m->expected_admit);
    if (rc == 0)
      rc = buf_putc(b, '|');
    if (rc == 0)
      rc = put_ts(b, m->expected);
    if (rc == 0)
      rc = buf_putc(b, '\r');
  }
  if (rc == 0 && m->ready != 0) {
    rc = buf_puts(b, "ZTK|Y|");
    if (rc == 0)
      rc = put_ts(b, m->ready);
    if (rc == 0)
      rc = buf_putc(b, '\r');
  }
  return rc;
}

/* Writes message 'm' about episode 'ei' when it belongs in the output (see
 * the file comment); always advances the episode's recording clock. */
static void emit(struct sim *s, uint32_t ei, const struct msg *m) {
  struct ep *e = &s->eps[ei];
  int64_t rec;
  struct outmsg o;
  size_t id_off = 0;

  if (s->in_census) {
    rec = s->from_ms;
  } else {
    rec = m->action + record_delay(s);
    if (rec <= e->last_rec)
      rec = e->last_rec + 1000;
    e->last_rec = rec;
    if (m->erroneous ? m->err_start < s->from_ms : m->action < s->from_ms)
      return;
  }
  if (rec >= s->end_ms)
    return;
  if (format_msg(s, e, m, rec, &id_off) < 0)
    return; /* cannot happen: GEN_MSG_MAX holds every message */
  memset(&o, 0, sizeof o);
  o.t = rec;
  o.len = s->fmt.len;
  o.text = mem_strndup(s->fmt.data, s->fmt.len);
  o.id_off = id_off;
  o.ep = ei;
  o.trig = (uint8_t)m->trig;
  o.census = s->in_census;
  o.bad = s->persons[e->person].bad;
  o.ztk = m->ready != 0;
  push_out(s, o);
}

/* Releases the messages recorded up to 'until' to the sink. */
static int flush_out(struct sim *s, int64_t until) {
  while (s->nout > 0 && s->out[0].t <= until) {
    struct outmsg o = pop_out(s);
    struct ep *e = &s->eps[o.ep];
    char digits[CTL_DIGITS + 1];
    int rc = 0;
    uint64_t *cnt[T__COUNT] = {&s->st.a01, &s->st.a02, &s->st.a03, &s->st.a04,
                               &s->st.a06, &s->st.a08, &s->st.a11, &s->st.a12,
                               &s->st.a13, &s->st.a14, &s->st.a21, &s->st.a22,
                               &s->st.a27};
    snprintf(digits, sizeof digits, "%0*llu", CTL_DIGITS,
             (unsigned long long)(++s->ctl_counter % 10000000000ULL));
    memcpy(o.text + o.id_off, digits, CTL_DIGITS);
    if (s->sink_rc == 0)
      rc = s->sink(s->ctx, local_day(o.t), o.text, o.len);
    mem_free(o.text);
    if (rc < 0 && s->sink_rc == 0)
      s->sink_rc = rc;
    s->st.messages++;
    (*cnt[o.trig])++;
    if (o.census)
      s->st.census++;
    if (o.bad)
      s->st.bad_hetu++;
    if (o.ztk)
      s->st.ready_marks++;
    if (!e->written) {
      e->written = 1;
      s->st.episodes++;
    }
  }
  return s->sink_rc;
}

/* ------------------------------------------------------------ beds */

static bool bed_free(const struct sim *s, const struct ward *w, size_t b) {
  return w->occ[b] == -1 && w->free_at[b] <= s->now;
}

static size_t free_beds(const struct sim *s, const struct ward *w) {
  size_t n = 0;
  for (size_t b = 0; b < w->nbeds; b++)
    n += bed_free(s, w, b);
  return n;
}

/* A random free bed of ward 'wi', or -1. */
static int32_t pick_bed(struct sim *s, int wi, int32_t except) {
  const struct ward *w = &s->wards[wi];
  size_t n = 0, k;
  for (size_t b = 0; b < w->nbeds; b++)
    n += bed_free(s, w, b) && (int32_t)b != except;
  if (n == 0)
    return -1;
  k = rng_below(&s->rng, (uint32_t)n);
  for (size_t b = 0; b < w->nbeds; b++)
    if (bed_free(s, w, b) && (int32_t)b != except && k-- == 0)
      return (int32_t)b;
  return -1;
}

static void release_bed(struct sim *s, int wi, int32_t b) {
  struct ward *w;
  if (wi < 0)
    return;
  w = &s->wards[wi];
  if (b < 0) {
    if (!w->is_ed && w->corridor > 0)
      w->corridor--;
    return;
  }
  w->occ[b] = -1;
  w->free_at[b] =
      s->now + rng_ms(&s->rng, TURNAROUND_MIN_MS,
                      w->is_ed ? ED_TURNAROUND_MAX_MS : TURNAROUND_MAX_MS);
}

/* The ward of type 'type' with a free bed: 'prefer' when it has one, else
 * the one with the most free beds; -1 when none. */
static int ward_with_bed(struct sim *s, int type, int prefer) {
  const struct wtype *t = &s->types[type];
  int best = -1;
  size_t best_n = 0;
  if (prefer >= 0 && s->wards[prefer].type == type &&
      free_beds(s, &s->wards[prefer]) > 0)
    return prefer;
  for (size_t k = 0; k < t->nwards; k++) {
    size_t n = free_beds(s, &s->wards[t->wards[k]]);
    if (n > best_n) {
      best_n = n;
      best = t->wards[k];
    }
  }
  return best;
}

/* An acute ward of any type with a free bed (overflow, "evakko"). */
static int overflow_ward(struct sim *s) {
  int best = -1;
  size_t best_n = 0;
  for (size_t i = 0; i < s->nwards; i++) {
    const struct ward *w = &s->wards[i];
    size_t n;
    if (w->is_ed || w->prof->cls != WC_ACUTE)
      continue;
    n = free_beds(s, w);
    if (n > best_n) {
      best_n = n;
      best = (int)i;
    }
  }
  return best;
}

/* A ward of 'type' with a free extra place, preferring 'prefer'. */
static int ward_with_corridor(struct sim *s, int type, int prefer) {
  const struct wtype *t = &s->types[type];
  if (prefer >= 0 && s->wards[prefer].corridor < s->wards[prefer].corridor_max)
    return prefer;
  for (size_t k = 0; k < t->nwards; k++) {
    const struct ward *w = &s->wards[t->wards[k]];
    if (w->corridor < w->corridor_max)
      return t->wards[k];
  }
  return -1;
}

static void wait_add(struct sim *s, uint32_t ei, enum wait_kind kind) {
  s->eps[ei].wait = (uint8_t)kind;
  s->eps[ei].wait_since = s->now;
  if (s->nwait == s->cap_wait) {
    s->cap_wait = s->cap_wait ? s->cap_wait * 2 : 256;
    s->wait = mem_realloc(s->wait, s->cap_wait * sizeof *s->wait);
  }
  s->wait[s->nwait++] = ei;
}

/* Reserves (ward, bed) for episode 'ei' and schedules the move. bed -1 is
 * an extra place. */
static void reserve(struct sim *s, uint32_t ei, int wi, int32_t bed,
                    int64_t delay) {
  struct ep *e = &s->eps[ei];
  if (bed >= 0)
    s->wards[wi].occ[bed] = (int32_t)ei;
  else
    s->wards[wi].corridor++;
  e->dest_ward = (int16_t)wi;
  e->dest_bed = bed;
  e->transit = 1;
  e->wait = WAIT_NONE;
  push_ev(s, s->now + delay, K_MOVE, ei, e->plan);
}

/* ------------------------------------------------------------ stays */

static double los_days(struct sim *s, const struct profile *p) {
  return rng_lognormal(&s->rng, p->los_median, p->los_sigma);
}

/* Plans a new stay on the current ward: end of care, expected-discharge
 * update, weekend leaves are planned on Fridays. */
static void plan_stay(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  const struct ward *w = &s->wards[e->ward];
  const struct profile *clin = e->type >= 0 ? s->types[e->type].prof : w->prof;
  double days = los_days(s, clin) * e->los_factor;
  int64_t end;
  bool post = w->prof->cls == WC_POSTACUTE;
  e->plan++;
  e->ward_in = s->now;
  e->ready = 0;
  e->ready_at = 0;
  e->expected = 0;
  e->expect_rev = 0;
  e->los_factor = 1.0;
  end = s->now + (int64_t)(days * (double)DAY_MS);
  e->care_end = snap_discharge(s, end, s->now + MIN_STAY_MS);
  push_ev(s, e->care_end, K_CARE_END, ei, e->plan);
  if (rng_chance(&s->rng, post ? P_EXPECT_POSTACUTE : P_EXPECT_HOSPITAL)) {
    int64_t r = next_round(s, s->now);
    if (r < e->care_end - HOUR_MS)
      push_ev(s, r, K_EXPECT, ei, e->plan);
  }
}

/* An estimate of the discharge: the planned date at 14:00, give or take a
 * day or two on longer stays. */
static int64_t estimate(struct sim *s, const struct ep *e, int64_t base) {
  int32_t day = local_day(base);
  double spread = (double)(base - e->ward_in) / (double)DAY_MS / 4.0;
  if (spread > 0.5) {
    double n = rng_normal(&s->rng) * (spread > 2 ? 2 : spread);
    day += (int32_t)lround(n);
  }
  if (day < local_day(s->now))
    day = local_day(s->now);
  return at_local(day, 14, 0, 0);
}

/* ------------------------------------------------------------ handlers */

static void discharge(struct sim *s, uint32_t ei, const char *disposition);

static void ed_register(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  e->state = ST_ED;
  e->cls = 'E';
  e->adm_type = 'E';
  e->visit_start = s->now;
  e->ward = e->ed;
  e->bed = pick_bed(s, e->ed, -1);
  if (e->bed >= 0)
    s->wards[e->ed].occ[e->bed] = (int32_t)ei;
  s->wards[e->ed].present++;
  m = msg_at(T_A04, e, s->now);
  emit(s, ei, &m);
  if (e->type >= 0) {
    double h = rng_lognormal(&s->rng, ED_WORKUP_MEDIAN_H, ED_WORKUP_SIGMA);
    if (h < 0.5)
      h = 0.5;
    if (h > 10)
      h = 10;
    push_ev(s, s->now + (int64_t)(h * (double)HOUR_MS) / 1000 * 1000, K_DECIDE,
            ei, e->plan);
  } else {
    double h = rng_lognormal(&s->rng, ED_VISIT_MEDIAN_H, ED_VISIT_SIGMA);
    if (h < 0.5)
      h = 0.5;
    if (h > 14)
      h = 14;
    push_ev(s, s->now + (int64_t)(h * (double)HOUR_MS) / 1000 * 1000,
            K_ED_LEAVE, ei, e->plan);
  }
}

static void on_arrive(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  enum age_profile a = e->type >= 0 ? s->types[e->type].prof->age : AGE_ED;
  bool acute = e->type >= 0 && s->types[e->type].prof->cls == WC_ACUTE;
  assign_person(s, ei, a, acute);
  e = &s->eps[ei];
  if (rng_chance(&s->rng, P_CANCEL_ADMIT)) {
    /* Registered by mistake (wrong patient or place), cancelled, redone. */
    int64_t d = rng_ms(&s->rng, 2 * MIN_MS, 15 * MIN_MS);
    struct msg m;
    e->errors |= ERRF_ADMIT;
    e->visit_start = s->now;
    e->ward = e->ed;
    e->bed = -1;
    m = msg_at(T_A04, e, s->now);
    m.erroneous = true;
    m.err_start = s->now;
    emit(s, ei, &m);
    m = msg_at(T_A11, e, s->now + d);
    m.evn6 = s->now;
    m.erroneous = true;
    m.err_start = s->now;
    emit(s, ei, &m);
    e->ward = -1;
    push_ev(s, s->now + d + rng_ms(&s->rng, MIN_MS, 5 * MIN_MS), K_REGISTER, ei,
            e->plan);
    return;
  }
  ed_register(s, ei);
}

static void on_decide(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  e->state = ST_BOARDING;
  e->cls = 'I';
  e->decided_at = s->now;
  m = msg_at(T_A06, e, s->now);
  emit(s, ei, &m);
  wait_add(s, ei, WAIT_ED);
  {
    double h = rng_lognormal(&s->rng, HANDOVER_MEDIAN_H, HANDOVER_SIGMA);
    if (h < 0.3)
      h = 0.3;
    if (h > 6)
      h = 6;
    e->eligible_at = s->now + (int64_t)(h * (double)HOUR_MS) / 1000 * 1000;
  }
}

static void on_move(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  int old_ward = e->ward;
  int32_t old_bed = e->bed;
  bool same_ward = e->dest_ward == e->ward;

  if (!same_ward && !(e->errors & ERRF_TRANSFER) &&
      rng_chance(&s->rng, P_CANCEL_TRANSFER)) {
    /* Transferred to the wrong bed, cancelled (A12), then done right. */
    int wi = e->dest_ward;
    int32_t wb = pick_bed(s, wi, e->dest_bed);
    if (wb < 0 && s->wards[wi].type >= 0) {
      /* a free bed on a ward of the same type, else on any ward */
      int other = ward_with_bed(s, s->wards[wi].type, -1);
      if (other < 0 || other == wi)
        other = overflow_ward(s);
      if (other >= 0 && other != wi) {
        wi = other;
        wb = pick_bed(s, wi, -1);
      }
    }
    if (wb >= 0) {
      int64_t d = rng_ms(&s->rng, 5 * MIN_MS, 40 * MIN_MS);
      e->errors |= ERRF_TRANSFER;
      s->wards[wi].occ[wb] = HELD;
      e->wrong_ward = (int16_t)wi;
      e->wrong_bed = wb;
      m = msg_at(T_A02, e, s->now);
      m.ward = wi;
      m.bed = wb;
      m.prior_ward = old_ward;
      m.prior_bed = old_bed;
      m.erroneous = true;
      m.err_start = s->now;
      emit(s, ei, &m);
      m = msg_at(T_A12, e, s->now + d);
      m.evn6 = s->now;
      m.prior_ward = wi;
      m.prior_bed = wb;
      m.erroneous = true;
      m.err_start = s->now;
      emit(s, ei, &m);
      push_ev(s, s->now + d + rng_ms(&s->rng, 2 * MIN_MS, 10 * MIN_MS), K_MOVE,
              ei, e->plan);
      return;
    }
  }
  if (e->wrong_ward >= 0) {
    release_bed(s, e->wrong_ward, e->wrong_bed);
    e->wrong_ward = -1;
    e->wrong_bed = -1;
  }
  release_bed(s, old_ward, old_bed);
  if (old_ward >= 0)
    s->wards[old_ward].present--;
  e->ward = e->dest_ward;
  e->bed = e->dest_bed;
  e->dest_ward = -1;
  e->dest_bed = -1;
  e->transit = 0;
  e->state = ST_WARD;
  e->cls = 'I';
  s->wards[e->ward].present++;
  m = msg_at(T_A02, e, s->now);
  m.prior_ward = old_ward;
  m.prior_bed = old_bed;
  emit(s, ei, &m);
  if (e->bed < 0)
    wait_add(s, ei, WAIT_CORRIDOR);
  if (!same_ward)
    plan_stay(s, ei);
}

/* End of the medical need on the current ward. */
static void on_care_end(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  const struct ward *w = &s->wards[e->ward];
  const struct profile *clin = e->type >= 0 ? s->types[e->type].prof : w->prof;
  int age = age_on(&s->persons[e->person], local_day(s->now));
  double p_onward;

  if (w->prof->cls == WC_POSTACUTE) {
    discharge(s, ei, rng_chance(&s->rng, P_POSTACUTE_HOME) ? "01" : "02");
    return;
  }
  if (e->type >= 0 && (int)e->type == s->icu_type && w->type == s->icu_type) {
    /* Intensive care: step down to a ward, seldom straight home. */
    int st = s->stepdown[rng_below(&s->rng, 2)];
    if (st < 0 || rng_chance(&s->rng, P_ICU_HOME)) {
      discharge(s, ei, "01");
      return;
    }
    e->type = (int16_t)st;
    e->target = -1;
    e->los_factor = ICU_STEPDOWN_LOS;
    wait_add(s, ei, WAIT_ONWARD);
    return;
  }
  p_onward = age >= 75 ? clin->onward
                       : (age >= 65 ? clin->onward * ONWARD_65_FACTOR : 0);
  if (p_onward > 0 && rng_chance(&s->rng, p_onward)) {
    /* Ready for transfer (siirtokelpoinen): A08 with ZTK, then a place is
     * looked for; the patient keeps the bed meanwhile. */
    struct msg m;
    double d = rng_lognormal(&s->rng, PLACEMENT_MEDIAN_D, PLACEMENT_SIGMA);
    int64_t placed;
    e->ready = 1;
    e->ready_at = s->now;
    m = msg_at(T_A08, e, s->now);
    m.ready = s->now;
    emit(s, ei, &m);
    if (d < 0.1)
      d = 0.1;
    if (d > 30)
      d = 30;
    placed = snap_discharge(s, s->now + (int64_t)(d * (double)DAY_MS),
                            s->now + HOUR_MS);
    push_ev(s, placed, K_PLACED, ei, e->plan);
    return;
  }
  discharge(s, ei, "01");
}

/* A follow-on place was found: a post-acute ward (then wait for its bed)
 * or a care home (then discharge). */
static void on_placed(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  const struct profile *clin =
      e->type >= 0 ? s->types[e->type].prof : s->wards[e->ward].prof;
  int dest = -1;
  if (rng_chance(&s->rng, P_ONWARD_TO_WARD)) {
    if (s->rehab_type >= 0 && rng_chance(&s->rng, clin->to_rehab))
      dest = s->rehab_type;
    else
      dest = s->hc_type >= 0 ? s->hc_type : s->rehab_type;
  }
  if (dest < 0 || !rng_chance(&s->rng, s->types[dest].accept)) {
    discharge(s, ei, "02");
    return;
  }
  e->type = (int16_t)dest;
  e->target = -1;
  wait_add(s, ei, WAIT_ONWARD);
}

static void discharge(struct sim *s, uint32_t ei, const char *disposition) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  if (!(e->errors & ERRF_DISCHARGE) && !e->on_leave &&
      rng_chance(&s->rng, P_CANCEL_DISCHARGE)) {
    /* Discharged too early or the wrong patient: A03, A13, later the real
     * discharge. The patient never leaves the bed. */
    int64_t d = rng_ms(&s->rng, 5 * MIN_MS, 60 * MIN_MS);
    e->errors |= ERRF_DISCHARGE;
    m = msg_at(T_A03, e, s->now);
    m.discharge = s->now;
    m.disposition = disposition;
    m.erroneous = true;
    m.err_start = s->now;
    emit(s, ei, &m);
    m = msg_at(T_A13, e, s->now + d);
    m.evn6 = s->now;
    m.erroneous = true;
    m.err_start = s->now;
    emit(s, ei, &m);
    e->disposition = disposition;
    e->wait = WAIT_NONE;
    e->quiet_until = s->now + d;
    push_ev(s, s->now + d + rng_ms(&s->rng, 15 * MIN_MS, 3 * HOUR_MS),
            K_DISCHARGE, ei, e->plan);
    return;
  }
  m = msg_at(T_A03, e, s->now);
  m.discharge = s->now;
  m.disposition = disposition;
  emit(s, ei, &m);
  if (e->transit) {
    /* a reservation never used: free at once */
    if (e->dest_bed >= 0)
      s->wards[e->dest_ward].occ[e->dest_bed] = -1;
    else
      s->wards[e->dest_ward].corridor--;
    e->transit = 0;
    e->dest_ward = -1;
    e->dest_bed = -1;
  }
  if (e->wrong_ward >= 0) {
    release_bed(s, e->wrong_ward, e->wrong_bed);
    e->wrong_ward = -1;
    e->wrong_bed = -1;
  }
  release_bed(s, e->ward, e->bed);
  if (e->ward >= 0)
    s->wards[e->ward].present--;
  person_done(s, e, e->ward >= 0 && !s->wards[e->ward].is_ed);
  e->state = ST_DONE;
  e->wait = WAIT_NONE;
  e->ward = -1;
  e->bed = -1;
  e->plan++;
}

static void on_expect(struct sim *s, uint32_t ei, bool revise) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  int64_t base;
  if (e->transit || e->wait == WAIT_ONWARD)
    return;
  if (revise) {
    if (e->expect_rev || !rng_chance(&s->rng, P_EXPECT_REVISE))
      return;
    e->expect_rev = 1;
  }
  base = e->ready ? s->now + 2 * DAY_MS : e->care_end;
  if (base < s->now)
    base = s->now;
  e->expected = estimate(s, e, base);
  m = msg_at(T_A08, e, s->now);
  m.expected = e->expected;
  emit(s, ei, &m);
  if (!revise) {
    int64_t r = next_round(s, e->expected + DAY_MS / 2);
    push_ev(s, r, K_EXPECT_CHECK, ei, e->plan);
  }
}

static void on_leave(struct sim *s, uint32_t ei, bool start) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  if (e->state != ST_WARD || e->transit || e->wait == WAIT_ONWARD)
    return;
  if (start == (e->on_leave != 0))
    return;
  e->on_leave = start;
  if (start)
    e->leave_at = s->now;
  m = msg_at(start ? T_A21 : T_A22, e, s->now);
  emit(s, ei, &m);
}

/* Elective (or direct) admission: a free bed on the ward or its type,
 * overflow for acute types, an extra place for direct emergencies, else
 * postponed to the next weekday with a new A14. */
static void on_elective(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  const struct profile *prof = s->types[e->type].prof;
  bool direct = e->adm_type == 'E';
  int wi = ward_with_bed(s, e->type, e->target);
  int32_t bed = -1;
  if (wi < 0 && prof->cls == WC_ACUTE)
    wi = overflow_ward(s);
  if (wi >= 0)
    bed = pick_bed(s, wi, -1);
  if (wi < 0 && direct) {
    wi = ward_with_corridor(s, e->type, e->target);
    if (wi < 0)
      wi = e->target; /* labour does not wait: an extra place anyway */
  }
  if (wi < 0) {
    /* Wait for the day's discharges: try again hourly until 16:00. */
    struct chrono_local l;
    chrono_to_local(s->now + HOUR_MS, &l);
    if (l.day == local_day(s->now) && l.hour < ELECTIVE_LAST_HOUR) {
      push_ev(s, s->now + HOUR_MS, K_ELECTIVE, ei, e->plan);
      return;
    }
  }
  if (wi < 0 &&
      (prof->cls == WC_POSTACUTE || e->postpones >= ELECTIVE_MAX_POSTPONE)) {
    /* No bed: a post-acute admission is called off (the patient stays at
     * home and is asked again later); an elective one after a few tries. */
    struct msg m = msg_at(T_A27, e, s->now);
    m.ward = e->target;
    m.bed = -1;
    emit(s, ei, &m);
    person_done(s, e, false);
    e->state = ST_DONE;
    e->plan++;
    return;
  }
  if (wi < 0) {
    int32_t day = local_day(s->now) + 1;
    struct msg m;
    while (chrono_weekday(day) > 5)
      day++;
    e->postpones++;
    e->expected_admit = at_local(day, 7 + (int)rng_below(&s->rng, 3),
                                 (int)rng_below(&s->rng, 60), 0);
    e->pending_at = s->now;
    m = msg_at(T_A14, e, s->now);
    m.ward = e->target;
    m.bed = -1;
    m.expected_admit = e->expected_admit;
    emit(s, ei, &m);
    push_ev(s, e->expected_admit, K_ELECTIVE, ei, e->plan);
    return;
  }
  if (bed >= 0)
    s->wards[wi].occ[bed] = (int32_t)ei;
  else
    s->wards[wi].corridor++;
  e->dest_ward = (int16_t)wi;
  e->dest_bed = bed;
  if (bed >= 0 && rng_chance(&s->rng, P_CANCEL_ADMIT)) {
    int32_t wb = pick_bed(s, wi, bed);
    if (wb >= 0) {
      int64_t d = rng_ms(&s->rng, 3 * MIN_MS, 30 * MIN_MS);
      struct msg m;
      e->errors |= ERRF_ADMIT;
      s->wards[wi].occ[wb] = HELD;
      e->wrong_ward = (int16_t)wi;
      e->wrong_bed = wb;
      e->visit_start = s->now;
      e->cls = 'I';
      m = msg_at(T_A01, e, s->now);
      m.ward = wi;
      m.bed = wb;
      m.erroneous = true;
      m.err_start = s->now;
      emit(s, ei, &m);
      m = msg_at(T_A11, e, s->now + d);
      m.ward = wi;
      m.bed = wb;
      m.evn6 = s->now;
      m.erroneous = true;
      m.err_start = s->now;
      emit(s, ei, &m);
      push_ev(s, s->now + d + rng_ms(&s->rng, MIN_MS, 5 * MIN_MS), K_ADMIT, ei,
              e->plan);
      return;
    }
  }
  push_ev(s, s->now, K_ADMIT, ei, e->plan);
}

static void on_admit(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  if (e->wrong_ward >= 0) {
    release_bed(s, e->wrong_ward, e->wrong_bed);
    e->wrong_ward = -1;
    e->wrong_bed = -1;
  }
  e->state = ST_WARD;
  e->cls = 'I';
  e->ward = e->dest_ward;
  e->bed = e->dest_bed;
  e->dest_ward = -1;
  e->dest_bed = -1;
  e->visit_start = s->now;
  s->wards[e->ward].present++;
  m = msg_at(T_A01, e, s->now);
  emit(s, ei, &m);
  if (e->bed < 0)
    wait_add(s, ei, WAIT_CORRIDOR);
  plan_stay(s, ei);
}

/* The bed manager: extra-place patients into beds of their ward first,
 * then boarders and onward-care patients in the order they began to wait. */
static void on_tick(struct sim *s) {
  size_t k = 0;
  for (size_t i = 0; i < s->nwait; i++) {
    uint32_t ei = s->wait[i];
    struct ep *e = &s->eps[ei];
    if (e->wait == WAIT_CORRIDOR && e->state == ST_WARD && !e->transit) {
      int32_t b = pick_bed(s, e->ward, -1);
      if (b >= 0) {
        /* the extra place is given back when the move happens */
        s->wards[e->ward].occ[b] = (int32_t)ei;
        e->dest_ward = e->ward;
        e->dest_bed = b;
        e->transit = 1;
        e->wait = WAIT_NONE;
        push_ev(s, s->now + rng_ms(&s->rng, 2 * MIN_MS, 10 * MIN_MS), K_MOVE,
                ei, e->plan);
      }
    }
  }
  for (size_t i = 0; i < s->nwait; i++) {
    uint32_t ei = s->wait[i];
    struct ep *e = &s->eps[ei];
    int64_t waited = s->now - e->wait_since;
    int wi = -1;
    int32_t bed = -1;
    if (e->state == ST_DONE || e->transit || e->wait == WAIT_NONE ||
        e->wait == WAIT_CORRIDOR)
      continue;
    if (e->on_leave || (e->wait == WAIT_ED && s->now < e->eligible_at))
      continue;
    wi = ward_with_bed(s, e->type, e->target);
    if (wi < 0 && e->wait == WAIT_ED && waited >= OVERFLOW_AFTER_MS &&
        s->types[e->type].prof->cls != WC_SPECIAL)
      wi = overflow_ward(s);
    if (wi >= 0) {
      bed = pick_bed(s, wi, -1);
    } else if (e->wait == WAIT_ED && waited >= CORRIDOR_AFTER_MS) {
      wi = ward_with_corridor(s, e->type, e->target);
    }
    if (wi < 0 && e->wait == WAIT_ED && waited >= FORCE_AFTER_MS) {
      if (s->types[e->type].prof->cls == WC_SPECIAL) {
        /* e.g. intensive care full: sent to another hospital */
        discharge(s, ei, "03");
        continue;
      }
      /* the ward must take the patient: an extra place over its limit */
      wi = e->target >= 0 ? e->target : s->types[e->type].wards[0];
    }
    if (wi >= 0) {
      reserve(s, ei, wi, bed, rng_ms(&s->rng, 5 * MIN_MS, 30 * MIN_MS));
      continue;
    }
    if (e->wait == WAIT_ONWARD && waited >= ONWARD_MAX_WAIT_MS &&
        s->wards[e->ward].prof->cls != WC_SPECIAL)
      discharge(s, ei, "02");
  }
  for (size_t i = 0; i < s->nwait; i++) {
    const struct ep *e = &s->eps[s->wait[i]];
    if (e->wait != WAIT_NONE && e->state != ST_DONE && !e->transit)
      s->wait[k++] = s->wait[i];
  }
  s->nwait = k;
}

/* ------------------------------------------------------------ days */

/* Plans one planned admission to ward 'wi' on local day 'day': elective
 * (A14 1-20 days ahead, admission 07:00-09:59), short notice (post-acute
 * wards: A14 08:00-10:59 the same day, admission 11:00-14:59) or direct
 * (labour: no A14, any hour). */
static void plan_elective(struct sim *s, int wi, int32_t day, bool direct) {
  struct ward *w = &s->wards[wi];
  uint32_t ei = new_ep(s, w->type, wi, w->ed);
  struct ep *e = &s->eps[ei];
  int64_t admit, pend;
  e->adm_type = direct ? 'E' : 'C';
  e->cls = 'I';
  if (direct) {
    /* Straight to the ward (e.g. labour): any hour, shaped like the ED. */
    size_t h = rng_weighted(&s->rng, ed_hour_w, 24);
    admit = at_local(day, (int)h, (int)rng_below(&s->rng, 60),
                     (int)rng_below(&s->rng, 60));
    if (admit < s->now)
      admit = s->now;
    e->expected_admit = admit;
    push_ev(s, admit, K_ELECTIVE, ei, e->plan);
    return;
  }
  if (w->prof->cls == WC_POSTACUTE) {
    admit = at_local(day, 11 + (int)rng_below(&s->rng, 4),
                     (int)rng_below(&s->rng, 60), 0);
    pend = at_local(day, 8 + (int)rng_below(&s->rng, 3),
                    (int)rng_below(&s->rng, 60), (int)rng_below(&s->rng, 60));
  } else {
    admit = at_local(day, 7 + (int)rng_below(&s->rng, 3),
                     (int)rng_below(&s->rng, 60), 0);
    pend =
        at_local(day - 1 - (int32_t)rng_below(&s->rng, ELECTIVE_LEAD_DAYS - 1),
                 8 + (int)rng_below(&s->rng, 8), (int)rng_below(&s->rng, 60),
                 (int)rng_below(&s->rng, 60));
  }
  if (pend < s->now)
    pend = s->now + rng_ms(&s->rng, 0, 3 * HOUR_MS);
  if (pend >= admit)
    pend = admit - HOUR_MS;
  e->expected_admit = admit;
  push_ev(s, pend, K_PENDING, ei, e->plan);
  push_ev(s, admit, K_ELECTIVE, ei, e->plan);
}

/* Elective admissions of acute and special wards for 'day' (planned
 * ELECTIVE_LEAD_DAYS ahead) or, with 'postacute', the same-day admissions
 * of post-acute wards: their rate follows the ward's fill, since a health
 * centre ward always has people waiting at home (feedback towards the
 * target occupancy). */
static void plan_electives(struct sim *s, int32_t day, bool postacute) {
  int wd = chrono_weekday(day);
  if (wd > 5)
    return;
  for (size_t i = 0; i < s->nwards; i++) {
    const struct ward *w = &s->wards[i];
    double rate;
    int n;
    if (w->is_ed || w->el_per_day <= 0 ||
        (w->prof->cls == WC_POSTACUTE) != postacute)
      continue;
    rate = w->el_per_day * 7.0 / 5.0;
    if (postacute) {
      size_t held = 0;
      double fill, f;
      for (size_t b = 0; b < w->nbeds; b++)
        held += w->occ[b] != -1;
      fill = (double)held / (double)w->nbeds;
      f = 1 + POSTACUTE_GAIN * (w->prof->occupancy - fill) / w->prof->occupancy;
      rate *= f < 0.1 ? 0.1 : (f > POSTACUTE_MAX_F ? POSTACUTE_MAX_F : f);
    }
    n = rng_poisson(&s->rng, rate);
    for (int k = 0; k < n; k++)
      plan_elective(s, (int)i, day, false);
  }
}

static void on_pending(struct sim *s, uint32_t ei) {
  struct ep *e = &s->eps[ei];
  struct msg m;
  assign_person(s, ei, s->types[e->type].prof->age, false);
  e = &s->eps[ei];
  e->state = ST_PENDING;
  e->pending_at = s->now;
  e->visit_start = 0;
  m = msg_at(T_A14, e, s->now);
  m.ward = e->target;
  m.bed = -1;
  m.expected_admit = e->expected_admit;
  emit(s, ei, &m);
}

static void on_day(struct sim *s, int32_t day) {
  int wd = chrono_weekday(day);
  int64_t t0 = at_local(day, 0, 0, 0), t1 = at_local(day + 1, 0, 0, 0);
  double dayf = weekday_f[wd - 1];
  double hw_sum = 0;

  if (t1 < s->end_ms)
    push_ev(s, t1, K_DAY, 0, 0);
  for (int h = 0; h < 24; h++)
    hw_sum += ed_hour_w[h];

  /* Midnight census for the occupancy figure. */
  if (day >= s->from_day && day < s->end_day) {
    for (size_t i = 0; i < s->nwards; i++) {
      if (s->wards[i].is_ed)
        continue;
      s->census_sum += s->wards[i].present;
      s->census_beds += (double)s->wards[i].nbeds;
    }
  }

  /* ED arrivals, hour by hour (UTC hours: a DST day has 23 or 25). */
  for (int64_t t = t0; t < t1; t += HOUR_MS) {
    struct chrono_local l;
    double f;
    chrono_to_local(t, &l);
    f = ed_hour_w[l.hour] / hw_sum * dayf;
    for (size_t i = 0; i < s->nwards; i++) {
      const struct ward *w = &s->wards[i];
      int n;
      if (w->is_ed) {
        n = rng_poisson(&s->rng, w->ed_other_per_day * f);
        for (int k = 0; k < n; k++) {
          uint32_t ei = new_ep(s, -1, -1, (int)i);
          push_ev(s, t + rng_ms(&s->rng, 0, HOUR_MS - 1000), K_ARRIVE, ei, 0);
        }
      } else if (w->em_per_day > 0 && w->prof->arrival == ARR_ED &&
                 w->ed >= 0) {
        n = rng_poisson(&s->rng, w->em_per_day * f);
        for (int k = 0; k < n; k++) {
          uint32_t ei = new_ep(s, w->type, (int)i, w->ed);
          push_ev(s, t + rng_ms(&s->rng, 0, HOUR_MS - 1000), K_ARRIVE, ei, 0);
        }
      }
    }
  }
  /* Direct emergency admissions (labour), by day. */
  for (size_t i = 0; i < s->nwards; i++) {
    const struct ward *w = &s->wards[i];
    if (w->is_ed || w->em_per_day <= 0 ||
        (w->prof->arrival == ARR_ED && w->ed >= 0))
      continue;
    int n = rng_poisson(&s->rng, w->em_per_day * dayf);
    for (int k = 0; k < n; k++)
      plan_elective(s, (int)i, day, true);
  }
  plan_electives(s, day + ELECTIVE_LEAD_DAYS, false);
  plan_electives(s, day, true);

  /* Friday: weekend leaves on post-acute wards. */
  if (wd == 5) {
    int64_t fri = at_local(day, 14, 0, 0);
    for (size_t i = 0; i < s->nwards; i++) {
      const struct ward *w = &s->wards[i];
      if (w->is_ed || w->prof->cls != WC_POSTACUTE)
        continue;
      for (size_t b = 0; b < w->nbeds; b++) {
        int32_t ei = w->occ[b];
        struct ep *e;
        int64_t start, end;
        if (ei < 0)
          continue;
        e = &s->eps[ei];
        if (e->state != ST_WARD || e->ward != (int16_t)i ||
            e->bed != (int32_t)b || e->transit || e->wait != WAIT_NONE ||
            e->ward_in > t0 - 3 * DAY_MS ||
            !rng_chance(&s->rng, P_LEAVE_WEEKEND))
          continue;
        start = fri + rng_ms(&s->rng, 0, 4 * HOUR_MS);
        end = at_local(day + 2, 15 + (int)rng_below(&s->rng, 5),
                       (int)rng_below(&s->rng, 60), 0);
        if (e->care_end <= end + HOUR_MS)
          continue;
        push_ev(s, start, K_LEAVE_START, (uint32_t)ei, e->plan);
        push_ev(s, end, K_LEAVE_END, (uint32_t)ei, e->plan);
      }
    }
  }
}

/* ------------------------------------------------------------ census */

/* Admits everyone present at the first day's 00:00 (see the file
 * comment). */
static void census(struct sim *s) {
  s->in_census = true;
  for (size_t i = 0; i < s->neps; i++) {
    uint32_t ei = (uint32_t)i;
    struct ep *e = &s->eps[i];
    struct msg m;
    if (e->state == ST_NEW || e->state == ST_DONE)
      continue;
    if (e->state == ST_PENDING) {
      m = msg_at(T_A14, e, e->pending_at);
      m.ward = e->target;
      m.bed = -1;
      m.expected_admit = e->expected_admit;
      emit(s, ei, &m);
      continue;
    }
    if (e->state == ST_ED || e->state == ST_BOARDING) {
      char cls = e->cls;
      e->cls = 'E';
      m = msg_at(T_A04, e, e->visit_start);
      emit(s, ei, &m);
      e->cls = cls;
      if (e->state == ST_BOARDING) {
        m = msg_at(T_A06, e, e->decided_at);
        emit(s, ei, &m);
      }
      continue;
    }
    /* On a ward. */
    m = msg_at(T_A01, e, e->ward_in);
    m.expected = e->expected;
    emit(s, ei, &m);
    if (e->ready) {
      m = msg_at(T_A08, e, e->ready_at);
      m.ready = e->ready_at;
      emit(s, ei, &m);
    }
    if (e->on_leave) {
      m = msg_at(T_A21, e, e->leave_at);
      emit(s, ei, &m);
    }
  }
  s->in_census = false;
  s->census_done = true;
}

/* ------------------------------------------------------------ setup */

static const struct profile *profile_for(const char *ward_type) {
  if (ward_type != NULL)
    for (size_t i = 0; i < ARRAY_LEN(profiles); i++)
      if (strcmp(profiles[i].ward_type, ward_type) == 0)
        return &profiles[i];
  return &default_profile;
}

static int type_index(struct sim *s, const char *name) {
  for (size_t i = 0; i < s->ntypes; i++)
    if (strcmp(s->types[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* The ED nearest to unit 'u': in the lowest common ancestor. */
static int nearest_ed(struct sim *s, const struct org_unit *u) {
  long anc = u->parent_index;
  while (anc >= 0) {
    const struct org_unit *a = org_unit_at(s->org, (size_t)anc);
    for (size_t i = 0; i < s->nwards; i++)
      if (s->wards[i].is_ed && org_unit_within(s->org, s->wards[i].unit, a))
        return (int)i;
    anc = a->parent_index;
  }
  return -1;
}

static double mean_los(const struct profile *p) {
  return p->los_median * exp(p->los_sigma * p->los_sigma / 2) + LOS_SNAP_DAYS;
}

static int build_model(struct sim *s, struct error *err) {
  size_t nloc = org_channel_location_count(s->ch);
  double em_total = 0;
  double placement_mean =
      PLACEMENT_MEDIAN_D * exp(PLACEMENT_SIGMA * PLACEMENT_SIGMA / 2) + 0.5;

  s->wards = mem_calloc(nloc ? nloc : 1, sizeof *s->wards);
  for (size_t i = 0; i < nloc; i++) {
    const char *code = NULL;
    const struct org_unit *u = NULL;
    const char *wt;
    struct ward *w;
    bool dup = false;
    if (!org_channel_location_at(s->org, s->ch, i, &code, &u))
      continue;
    bool is_ed = strcmp(u->type, "ed") == 0;
    if (!is_ed && (strcmp(u->type, "ward") != 0 || u->nbeds == 0))
      continue;
    for (size_t j = 0; j < s->nwards; j++)
      dup |= s->wards[j].unit == u;
    if (dup)
      continue;
    if (s->nwards >= GEN_MAX_WARDS)
      return error_set(err, ERR_TOOBIG, "more than %d wards on channel '%s'",
                       GEN_MAX_WARDS, s->ch->id);
    w = &s->wards[s->nwards++];
    w->unit = u;
    w->poc = org_channel_location_code(s->org, s->ch, u);
    w->is_ed = is_ed;
    w->nbeds = u->nbeds;
    w->occ = mem_alloc((u->nbeds ? u->nbeds : 1) * sizeof *w->occ);
    w->free_at = mem_calloc(u->nbeds ? u->nbeds : 1, sizeof *w->free_at);
    for (size_t b = 0; b < u->nbeds; b++)
      w->occ[b] = -1;
    w->ed = -1;
    w->type = -1;
    wt = org_unit_ward_type(u);
    w->prof = is_ed ? &default_profile : profile_for(wt);
  }
  /* Types, by ward_type name ("" when a ward has none). */
  s->types = mem_calloc(s->nwards ? s->nwards : 1, sizeof *s->types);
  for (size_t i = 0; i < s->nwards; i++) {
    struct ward *w = &s->wards[i];
    const char *name;
    int t;
    if (w->is_ed)
      continue;
    name = org_unit_ward_type(w->unit);
    if (name == NULL)
      name = "";
    t = type_index(s, name);
    if (t < 0) {
      t = (int)s->ntypes++;
      s->types[t].name = name;
      s->types[t].prof = w->prof;
      s->types[t].wards = mem_alloc(s->nwards * sizeof(int));
      s->types[t].accept = 1.0;
    }
    w->type = t;
    s->types[t].wards[s->types[t].nwards++] = (int)i;
    s->types[t].beds += w->nbeds;
    w->corridor_max = (int)floor((double)w->nbeds * w->prof->corridor + 0.5);
  }
  if (s->ntypes == 0)
    return error_set(err, ERR_CONFIG, "channel '%s' maps no ward with beds",
                     s->ch->id);
  for (size_t i = 0; i < s->nwards; i++)
    if (!s->wards[i].is_ed)
      s->wards[i].ed = nearest_ed(s, s->wards[i].unit);

  s->hc_type = type_index(s, "health_centre");
  s->rehab_type = type_index(s, "rehabilitation");
  s->icu_type = type_index(s, "intensive_care");
  s->stepdown[0] = type_index(s, "internal_medicine");
  s->stepdown[1] = type_index(s, "surgery");
  if (s->stepdown[1] < 0)
    s->stepdown[1] = s->stepdown[0];
  if (s->stepdown[0] < 0)
    s->stepdown[0] = s->stepdown[1];

  /* Admission rates of acute and special types from their targets. */
  double to_post[2] = {0, 0}; /* into HC, into rehabilitation */
  for (size_t t = 0; t < s->ntypes; t++) {
    struct wtype *wt = &s->types[t];
    const struct profile *p = wt->prof;
    double p75 = band_share(p->age, 15, 20), p65 = band_share(p->age, 13, 14);
    if (p->cls == WC_POSTACUTE)
      continue;
    wt->onward_share = p75 * p->onward + p65 * p->onward * ONWARD_65_FACTOR;
    wt->adm_per_day = p->occupancy * (double)wt->beds /
                      (mean_los(p) + wt->onward_share * placement_mean);
    {
      double onward = wt->adm_per_day * wt->onward_share * P_ONWARD_TO_WARD;
      double rehab = s->rehab_type >= 0 ? p->to_rehab : 0;
      if (s->hc_type < 0)
        rehab = s->rehab_type >= 0 ? 1 : 0;
      to_post[0] += onward * (1 - rehab);
      to_post[1] += onward * rehab;
    }
  }
  for (size_t t = 0; t < s->ntypes; t++) {
    struct wtype *wt = &s->types[t];
    const struct profile *p = wt->prof;
    double need, direct, inflow;
    if (p->cls != WC_POSTACUTE)
      continue;
    need = p->occupancy * (double)wt->beds / mean_los(p);
    inflow = (int)t == s->hc_type ? to_post[0]
                                  : ((int)t == s->rehab_type ? to_post[1] : 0);
    /* When the hospitals would send more than the wards can take, the rest
     * go to care homes and home care instead. */
    wt->accept = inflow > 0 && inflow > POSTACUTE_TRANSFER_MAX * need
                     ? POSTACUTE_TRANSFER_MAX * need / inflow
                     : 1.0;
    inflow *= wt->accept;
    direct = need - inflow;
    if (direct < POSTACUTE_DIRECT_MIN * need)
      direct = POSTACUTE_DIRECT_MIN * need;
    wt->adm_per_day = direct;
  }
  for (size_t i = 0; i < s->nwards; i++) {
    struct ward *w = &s->wards[i];
    const struct wtype *wt;
    double share, em;
    if (w->is_ed)
      continue;
    wt = &s->types[w->type];
    share = wt->beds ? (double)w->nbeds / (double)wt->beds : 0;
    em = wt->adm_per_day * share * w->prof->emergency;
    w->el_per_day = wt->adm_per_day * share - em;
    w->em_per_day = em;
    if (w->prof->arrival == ARR_ED && w->ed >= 0) {
      em_total += em;
      s->wards[w->ed].ed_other_per_day +=
          em * (1 - P_ED_ADMITTED) / P_ED_ADMITTED;
    } else if (w->prof->arrival == ARR_ED) {
      /* No ED in reach: these come in as planned admissions instead. */
      w->el_per_day += em;
      w->em_per_day = 0;
    }
  }
  if (em_total <= 0) {
    bool any_ed = false;
    for (size_t i = 0; i < s->nwards; i++)
      any_ed |= s->wards[i].is_ed;
    if (!any_ed)
      return error_set(err, ERR_CONFIG,
                       "channel '%s' maps no emergency department", s->ch->id);
  }

  /* Municipalities, weighted by population. */
  {
    size_t n = org_unit_count(s->org);
    s->munis = mem_calloc(n ? n : 1, sizeof *s->munis);
    s->muni_w = mem_calloc(n ? n : 1, sizeof *s->muni_w);
    s->muni_sv = mem_calloc(n ? n : 1, sizeof *s->muni_sv);
    for (size_t i = 0; i < n; i++) {
      const struct org_unit *u = org_unit_at(s->org, i);
      if (u->municipality == NULL || u->population <= 0)
        continue;
      s->munis[s->nmunis] = u;
      s->muni_w[s->nmunis] = (double)u->population;
      s->muni_sv[s->nmunis] = DEFAULT_SWEDISH;
      for (size_t k = 0; k < ARRAY_LEN(swedish_share); k++)
        if (strcmp(swedish_share[k].code, u->municipality) == 0)
          s->muni_sv[s->nmunis] = swedish_share[k].share;
      s->nmunis++;
    }
  }
  return 0;
}

static void sim_free(struct sim *s) {
  for (size_t i = 0; i < s->nwards; i++) {
    mem_free(s->wards[i].occ);
    mem_free(s->wards[i].free_at);
  }
  for (size_t i = 0; i < s->ntypes; i++)
    mem_free(s->types[i].wards);
  for (size_t i = 0; i < s->nout; i++)
    mem_free(s->out[i].text);
  mem_free(s->wards);
  mem_free(s->types);
  mem_free(s->munis);
  mem_free(s->muni_w);
  mem_free(s->muni_sv);
  mem_free(s->persons);
  mem_free(s->eps);
  mem_free(s->hetu_set);
  mem_free(s->wait);
  mem_free(s->ev);
  mem_free(s->out);
  buf_release(&s->fmt);
}

static uint64_t hash_str(uint64_t h, const char *str) {
  for (; *str; str++) {
    h ^= (unsigned char)*str;
    h *= 1099511628211ULL;
  }
  return h;
}

static const struct org_channel *pick_channel(const struct org *org,
                                              const char *id) {
  if (id != NULL)
    return org_channel_find(org, id);
  for (size_t i = 0; i < org_channel_count(org); i++) {
    const struct org_channel *ch = org_channel_at(org, i);
    if (strcmp(ch->type, "hl7v2") != 0)
      continue;
    for (size_t k = 0; k < org_channel_location_count(ch); k++) {
      const char *code;
      const struct org_unit *u;
      if (org_channel_location_at(org, ch, k, &code, &u) &&
          strcmp(u->type, "ward") == 0)
        return ch;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------ run */

static void dispatch(struct sim *s, const struct sev *v) {
  struct ep *e = v->kind == K_DAY || v->kind == K_TICK ? NULL : &s->eps[v->ep];
  if (e != NULL && v->plan != e->plan)
    return; /* planned for a stay that has ended */
  if (e != NULL && s->now <= e->quiet_until &&
      (v->kind == K_EXPECT || v->kind == K_EXPECT_CHECK ||
       v->kind == K_CARE_END || v->kind == K_PLACED)) {
    /* nothing else happens between a wrong A03 and its A13 */
    push_ev(s, e->quiet_until + MIN_MS, v->kind, v->ep, v->plan);
    return;
  }
  if (e != NULL && s->now <= e->quiet_until && v->kind == K_LEAVE_START)
    return;
  switch (v->kind) {
  case K_DAY:
    on_day(s, local_day(s->now));
    break;
  case K_TICK:
    if (s->now + TICK_MS < s->end_ms)
      push_ev(s, s->now + TICK_MS, K_TICK, 0, 0);
    on_tick(s);
    break;
  case K_ARRIVE:
    on_arrive(s, v->ep);
    break;
  case K_REGISTER:
    ed_register(s, v->ep);
    break;
  case K_DECIDE:
    if (e->state == ST_ED)
      on_decide(s, v->ep);
    break;
  case K_ED_LEAVE:
    if (e->state == ST_ED)
      discharge(s, v->ep, "01");
    break;
  case K_MOVE:
    if (e->transit)
      on_move(s, v->ep);
    break;
  case K_CARE_END:
    if (e->state == ST_WARD && !e->transit && !e->on_leave)
      on_care_end(s, v->ep);
    else if (e->state == ST_WARD)
      push_ev(s, s->now + HOUR_MS, K_CARE_END, v->ep, e->plan);
    break;
  case K_PLACED:
    if (e->state == ST_WARD && !e->transit)
      on_placed(s, v->ep);
    break;
  case K_DISCHARGE:
    if (e->state != ST_DONE)
      discharge(s, v->ep, e->disposition != NULL ? e->disposition : "01");
    break;
  case K_EXPECT:
  case K_EXPECT_CHECK:
    if (e->state == ST_WARD)
      on_expect(s, v->ep, v->kind == K_EXPECT_CHECK);
    break;
  case K_LEAVE_START:
  case K_LEAVE_END:
    on_leave(s, v->ep, v->kind == K_LEAVE_START);
    break;
  case K_PENDING:
    on_pending(s, v->ep);
    break;
  case K_ELECTIVE:
    if (e->person == UINT32_MAX) {
      enum age_profile a = s->types[e->type].prof->age;
      assign_person(s, v->ep, a, false);
    }
    on_elective(s, v->ep);
    break;
  case K_ADMIT:
    on_admit(s, v->ep);
    break;
  default:
    break;
  }
}

int gen_stream(const struct gen_options *opt, gen_sink_fn sink, void *ctx,
               struct error *err) {
  struct sim *s = NULL;
  struct org *own = NULL;
  const struct org *org;
  int rc = 0;
  int warm;
  uint64_t h;

  if (opt == NULL || sink == NULL)
    return error_set(err, ERR_INVAL, "generator options missing");
  if (opt->days < 1 || opt->days > GEN_MAX_DAYS)
    return error_set(err, ERR_INVAL, "days: expected 1 to %d", GEN_MAX_DAYS);
  warm = opt->warmup_days ? opt->warmup_days : GEN_WARMUP_DAYS;
  if (warm < 1 || warm > GEN_MAX_DAYS)
    return error_set(err, ERR_INVAL, "warm-up days: expected 1 to %d",
                     GEN_MAX_DAYS);
  /* births (ages up to 105) and planned admissions must get a century
   * sign: 1800-2099 */
  if (opt->from < chrono_days_from_civil(1920, 1, 1) ||
      opt->from + opt->days > chrono_days_from_civil(2098, 12, 1))
    return error_set(err, ERR_INVAL,
                     "from: expected dates from 1920-01-01 to 2098-11-30");
  org = opt->org;
  if (org == NULL) {
    rc = org_load_builtin(opt->region, &own, err);
    if (rc < 0)
      return rc;
    org = own;
  }
  s = mem_calloc(1, sizeof *s);
  s->org = org;
  s->ch = pick_channel(org, opt->channel);
  if (s->ch == NULL) {
    rc = error_set(err, ERR_NOTFOUND, "no HL7 v2 channel '%s' with wards",
                   opt->channel != NULL ? opt->channel : "");
    goto out;
  }
  buf_init(&s->fmt, GEN_MSG_MAX);
  rc = build_model(s, err);
  if (rc < 0)
    goto out;

  rng_seed(&s->rng, opt->seed);
  h = hash_str(1469598103934665603ULL ^ opt->seed, s->ch->id);
  {
    uint64_t x = h;
    snprintf(s->visit_prefix, sizeof s->visit_prefix, "V%04X",
             (unsigned)(rng_splitmix64(&x) & 0xffff));
    x = h ^ ((uint64_t)(uint32_t)opt->from << 20) ^ (uint64_t)opt->days;
    snprintf(s->ctl_prefix, sizeof s->ctl_prefix, "TKG%08X",
             (unsigned)(rng_splitmix64(&x) & 0xffffffffu));
  }
  s->sink = sink;
  s->ctx = ctx;
  s->from_day = opt->from;
  s->end_day = opt->from + opt->days;
  s->start_day = opt->from - warm;
  s->start_ms = at_local(s->start_day, 0, 0, 0);
  s->from_ms = at_local(s->from_day, 0, 0, 0);
  s->end_ms = at_local(s->end_day, 0, 0, 0);
  s->now = s->start_ms;

  push_ev(s, s->start_ms, K_DAY, 0, 0);
  push_ev(s, s->start_ms, K_TICK, 0, 0);
  for (int32_t d = s->start_day; d < s->start_day + ELECTIVE_LEAD_DAYS; d++)
    plan_electives(s, d, false);

  while (s->nev > 0 && s->ev[0].t < s->end_ms) {
    struct sev v;
    if (!s->census_done && s->ev[0].t >= s->from_ms) {
      s->now = s->from_ms;
      census(s);
    }
    rc = flush_out(s, s->ev[0].t);
    if (rc < 0)
      goto out;
    v = pop_ev(s);
    s->now = v.t;
    dispatch(s, &v);
    if (s->neps > EP_MAX) {
      rc = error_set(err, ERR_TOOBIG, "more than %u episodes", EP_MAX);
      goto out;
    }
  }
  if (!s->census_done) {
    s->now = s->from_ms;
    census(s);
  }
  rc = flush_out(s, INT64_MAX);
  if (rc < 0)
    goto out;
  if (opt->stats != NULL) {
    *opt->stats = s->st;
    opt->stats->occupancy_pct =
        s->census_beds > 0 ? 100.0 * s->census_sum / s->census_beds : 0;
  }
out:
  /* a sink that failed without saying why */
  if (rc < 0 && s != NULL && s->sink_rc < 0 && err != NULL && err->code == 0)
    error_set(err, rc, "the message sink failed");
  if (s != NULL)
    sim_free(s);
  mem_free(s);
  org_free(own);
  return rc;
}

/* ------------------------------------------------------------ files */

void gen_file_name(int32_t day, char out[32]) {
  char date[11];
  chrono_format_date(day, date);
  snprintf(out, 32, "adt-%s.hl7", date);
}

struct file_sink {
  const char *dir;
  int32_t from, end;
  int32_t day; /* day of the open file; from - 1 before the first */
  FILE *f;
  char tmp[4112];
  char final[4096];
  struct error *err;
  uint64_t files;
};

static int close_day(struct file_sink *fs) {
  int rc = 0;
  if (fs->f == NULL)
    return 0;
  if (fflush(fs->f) != 0 || fsync(fileno(fs->f)) != 0)
    rc = error_set(fs->err, ERR_IO, "cannot write '%s': %s", fs->tmp,
                   strerror(errno));
  if (fclose(fs->f) != 0 && rc == 0)
    rc = error_set(fs->err, ERR_IO, "cannot write '%s': %s", fs->tmp,
                   strerror(errno));
  fs->f = NULL;
  if (rc == 0 && rename(fs->tmp, fs->final) != 0)
    rc = error_set(fs->err, ERR_IO, "cannot rename '%s': %s", fs->tmp,
                   strerror(errno));
  if (rc < 0)
    unlink(fs->tmp);
  else
    fs->files++;
  return rc;
}

static int open_day(struct file_sink *fs, int32_t day) {
  char name[32];
  int n;
  gen_file_name(day, name);
  n = snprintf(fs->final, sizeof fs->final, "%s/%s", fs->dir, name);
  if (n < 0 || (size_t)n >= sizeof fs->final - 8)
    return error_set(fs->err, ERR_INVAL, "output directory name too long");
  snprintf(fs->tmp, sizeof fs->tmp, "%s.tmp", fs->final);
  fs->f = fopen(fs->tmp, "wb");
  if (fs->f == NULL)
    return error_set(fs->err, ERR_IO, "cannot create '%s': %s", fs->tmp,
                     strerror(errno));
  fs->day = day;
  return 0;
}

/* Moves the open file forward to 'day', writing empty files for days
 * without messages. */
static int advance_to(struct file_sink *fs, int32_t day) {
  int rc;
  while (fs->day < day) {
    rc = close_day(fs);
    if (rc == 0)
      rc = open_day(fs, fs->day + 1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int file_sink(void *ctx, int32_t day, const char *msg, size_t len) {
  struct file_sink *fs = ctx;
  int rc;
  if (day < fs->from || day >= fs->end)
    return 0; /* cannot happen: messages are inside the range */
  if (fs->f == NULL && fs->day < fs->from) {
    rc = open_day(fs, fs->from);
    if (rc < 0)
      return rc;
  }
  rc = advance_to(fs, day);
  if (rc < 0)
    return rc;
  if (fwrite(msg, 1, len, fs->f) != len || fputc('\n', fs->f) == EOF)
    return error_set(fs->err, ERR_IO, "cannot write '%s': %s", fs->tmp,
                     strerror(errno));
  return 0;
}

int gen_run(const struct gen_options *opt, struct error *err) {
  struct file_sink fs;
  struct gen_stats st;
  struct gen_options o;
  int rc;

  if (opt == NULL || opt->out_dir == NULL || opt->out_dir[0] == '\0')
    return error_set(err, ERR_INVAL, "output directory missing");
  if (mkdir(opt->out_dir, 0755) != 0 && errno != EEXIST)
    return error_set(err, ERR_IO, "cannot create '%s': %s", opt->out_dir,
                     strerror(errno));
  memset(&fs, 0, sizeof fs);
  fs.dir = opt->out_dir;
  fs.from = opt->from;
  fs.end = opt->from + opt->days;
  fs.day = opt->from - 1;
  fs.err = err;
  o = *opt;
  memset(&st, 0, sizeof st);
  o.stats = &st;
  rc = gen_stream(&o, file_sink, &fs, err);
  if (rc == 0) {
    if (fs.f == NULL)
      rc = open_day(&fs, fs.from);
    if (rc == 0)
      rc = advance_to(&fs, fs.end - 1);
    if (rc == 0)
      rc = close_day(&fs);
  }
  if (rc < 0 && fs.f != NULL) {
    fclose(fs.f);
    unlink(fs.tmp);
  }
  if (rc == 0 && opt->stats != NULL) {
    st.files = fs.files;
    *opt->stats = st;
  }
  return rc;
}
