/* access.h -- access to care: waiting days, the published bins and
 * care-guarantee compliance (DOMAIN.md Part B §2).
 *
 * Waiting days are calendar days between Europe/Helsinki dates: THL's
 * current measure is visit_date - hta_date (needs assessment, hoidon
 * tarpeen arviointi, to visit; same day = 0), the older one visit_date -
 * contact_date (§2.1).
 *
 * The care guarantee changed several times (§2.3); the timeline is DATA:
 * a set of rules, each for one service (primary care non-urgent sick care,
 * dental) with a validity period [valid_from, valid_to] (either end may be
 * open), an optional age condition on the patient's age on the HTA date
 * (age >= age_min, age < age_below) and a limit in days or in months. The
 * rule applied to a visit is the one in force on the HTA date for the
 * patient's age on that date:
 *   - "within N vrk"    <=> visit_date - hta_date <= N (the start day is not
 *                           counted, määräaikalaki 2 §);
 *   - "within N months" <=> visit_date <= calendar_add_months(hta_date, N)
 *                           (same day number, clamped to the month's last
 *                           day, määräaikalaki 3 §).
 * Each rule also carries a days "proxy" (THL's "> 90 vrk" for 3 months),
 * reported separately and labelled. The built-in rules and bins are
 * indicators/care_guarantee.json, embedded in the binary at build time.
 *
 * Loaded rules are immutable: any number of threads may read them. The
 * other functions are pure and reentrant. No I/O, no logging. */
#ifndef TK_ACCESS_H
#define TK_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define ACCESS_NO_DATE INT32_MIN /* a date that is not known */
#define ACCESS_MAX_RULES 256
#define ACCESS_MAX_BINS 64
#define ACCESS_MAX_JSON (1024u * 1024u) /* bytes of a rules file */
#define ACCESS_MAX_LIMIT_DAYS 3660
#define ACCESS_MAX_LIMIT_MONTHS 120

enum access_service { ACCESS_PRIMARY_CARE, ACCESS_DENTAL, ACCESS__SERVICES };

/* Visits left out of the compliance statistic (§2.1, §2.3). */
#define ACCESS_URGENT 0x01u      /* urgent (kiireellinen) visit */
#define ACCESS_CARE_PLAN 0x02u   /* under a care or rehabilitation plan */
#define ACCESS_CERTIFICATE 0x04u /* solely for a certificate or statement */
#define ACCESS_SPECIALIST 0x08u  /* a non-GP specialist consultation */
#define ACCESS_PROMOTION 0x10u   /* health promotion (neuvola etc.) */
#define ACCESS_NO_HTA 0x20u      /* set in excluded_by: no assessment date */
#define ACCESS_EXCLUDING_FLAGS 0x1Fu

enum access_limit_kind { ACCESS_LIMIT_DAYS, ACCESS_LIMIT_MONTHS };

struct access_text {
  const char *fi, *sv, *en;
};

/* One period of the care-guarantee timeline. Strings are owned by the
 * rules set. */
struct access_rule {
  const char *id; /* e.g. "primary_care.2025.23_plus" */
  enum access_service service;
  int32_t valid_from; /* first day; ACCESS_NO_DATE = open */
  int32_t valid_to;   /* last day; ACCESS_NO_DATE = open */
  int age_min;        /* applies when age >= age_min; -1 none */
  int age_below;      /* applies when age < age_below; -1 none */
  enum access_limit_kind kind;
  int limit;                /* N days or N months */
  int proxy_days;           /* the days proxy (90 for 3 months) */
  const char *rule_version; /* "YYYY-MM-DD": effective date */
  struct access_text basis; /* legal basis, fi/sv/en */
  const char *domain_ref;   /* e.g. "DOMAIN.md Part B §2.3" */
};

/* One waiting-time bin: min..max days inclusive (max INT32_MAX = open). */
struct access_bin {
  const char *id; /* e.g. "d1_7" */
  int32_t min, max;
  struct access_text label;
};

/* The rules and bins. Opaque, immutable once loaded. */
struct access_rules;

/* One visit as the statistic sees it. */
struct access_visit {
  int32_t visit_date;   /* Helsinki date of the visit */
  int32_t hta_date;     /* Helsinki date of the needs assessment or
                           ACCESS_NO_DATE */
  int32_t contact_date; /* first contact, or ACCESS_NO_DATE */
  int age;              /* completed years on the HTA date; -1 unknown */
  enum access_service service;
  unsigned flags; /* ACCESS_URGENT | ACCESS_CARE_PLAN | ... */
};

enum access_verdict {
  ACCESS_MET,      /* within the limit of the rule in force */
  ACCESS_MISSED,   /* beyond it */
  ACCESS_EXCLUDED, /* not in the statistic (see excluded_by) */
  ACCESS_NO_RULE   /* no rule for the service, HTA date and age (e.g. the
                      age is unknown where the rule depends on it) */
};

struct access_result {
  enum access_verdict verdict;
  unsigned excluded_by;           /* ACCESS_* flags that excluded the visit */
  int32_t wait_days;              /* visit - HTA; -1 without an HTA */
  int32_t wait_contact_days;      /* visit - contact; -1 without a contact */
  const struct access_rule *rule; /* the rule applied, or NULL */
  int32_t deadline;               /* last compliant visit date, or
                                     ACCESS_NO_DATE without a rule */
  bool proxy_met;                 /* wait_days <= rule->proxy_days (labelled
                                     proxy, e.g. "not over 90 vrk") */
};

/* Stable names: "primary_care", "dental"; NULL when out of range. */
const char *access_service_name(enum access_service s);
/* 0 and *out, or ERR_NOTFOUND. */
NODISCARD int access_service_parse(const char *name, enum access_service *out);

/* Calendar days from 'from' to 'to' (to - from), both Helsinki dates. */
int32_t access_days(int32_t from, int32_t to);

/* The Helsinki date of UTC instant 'ms' (chrono_local_date). */
int32_t access_date_of(int64_t ms);

/* Completed years on 'day' of a person born on 'birth': the age grows on
 * the day add_months(birth, 12 * years) is reached (määräaikalaki 3 §
 * clamping, so a 29 February birthday counts on 28 February in other
 * years, docs/INDICATORS.md). -1 when day < birth. */
int access_age_on(int32_t birth, int32_t day);

/* Parses rules and bins from JSON text (docs/INDICATORS.md "The
 * care-guarantee timeline"). 0 and *out (free with access_rules_free), or
 * ERR_TOOBIG above ACCESS_MAX_JSON, ERR_PARSE / ERR_CONFIG with 'err'
 * naming the JSON path (unknown keys, overlapping rules, bins that do not
 * cover 0.. contiguously); *out untouched on failure. */
NODISCARD int access_rules_load_json(const char *text, size_t len,
                                     struct access_rules **out,
                                     struct error *err);

/* The built-in rules (indicators/care_guarantee.json, embedded). */
NODISCARD int access_rules_builtin(struct access_rules **out,
                                   struct error *err);

/* The embedded care_guarantee.json text (NUL-terminated) and its length. */
const char *access_builtin_json(size_t *len);

void access_rules_free(struct access_rules *r);

size_t access_rules_count(const struct access_rules *r);
const struct access_rule *access_rules_at(const struct access_rules *r,
                                          size_t i);

/* The rule for 'service' in force on 'hta_date' for a patient aged 'age'
 * (-1 unknown: only a rule without an age condition matches), or NULL. */
const struct access_rule *access_rule_find(const struct access_rules *r,
                                           enum access_service service,
                                           int32_t hta_date, int age);

/* The last compliant visit date under 'rule' for an HTA on 'hta_date'. */
int32_t access_rule_deadline(const struct access_rule *rule, int32_t hta_date);

/* The rule version to report for a figure of 'service' over the days
 * from..to: the newest rule_version among the rules in force on 'to'
 * (NULL when none), and *changed (may be NULL) set when a rule of the
 * service starts on a day in (from, to]. The string is owned by 'r'. */
const char *access_rules_version(const struct access_rules *r,
                                 enum access_service service, int32_t from,
                                 int32_t to, bool *changed);

/* Assesses one visit: waiting days, exclusions, the rule and the verdict.
 * 0 and *out; ERR_RANGE (out untouched) when the visit is before its HTA
 * or its contact, or the service is out of range. Reentrant. */
NODISCARD int access_assess(const struct access_rules *r,
                            const struct access_visit *v,
                            struct access_result *out);

/* ---- Bins --------------------------------------------------------------- */

size_t access_bins_count(const struct access_rules *r);
const struct access_bin *access_bin_at(const struct access_rules *r, size_t i);
/* The index of the bin holding 'days', or -1 when days < 0. O(log bins). */
int access_bin_index(const struct access_rules *r, int32_t days);

#endif
