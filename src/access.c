/* access.c -- waiting days, bins and care-guarantee compliance (access.h,
 * DOMAIN.md Part B §2).
 *
 * Design: the rules file is parsed with jansson and checked strictly
 * (unknown keys are errors, "x-" keys are comments); the parsed JSON tree is
 * kept and every string of a rule or bin points into it, so the set is one
 * allocation plus the tree. Rules are few (tens), so a lookup is a linear
 * scan; bins are found by binary search.
 *
 * Invariants after a successful load:
 *  1. rule ids are unique; valid_from <= valid_to where both are given;
 *  2. no two rules of one service overlap in both validity and age, so at
 *     most one rule applies to a (service, HTA date, age);
 *  3. bins cover 0.. contiguously: bins[0].min == 0, bins[i].min ==
 *     bins[i-1].max + 1, and only the last is open (max INT32_MAX).
 *
 * Thread safety: see access.h. */
#include "jsonv.h"
#include "access.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "chrono.h"
#include "mem.h"

#define PATH_LEN 96
#define TEXT_MAX 4000 /* bytes of one text (basis, label) */

/* Generated at build time from indicators/care_guarantee.json
 * (scripts/embed_json.py). */
extern const char access_embedded_care_guarantee[];
extern const size_t access_embedded_care_guarantee_len;

struct access_rules {
  json_t *root; /* owns every string below */
  size_t nrules;
  struct access_rule *rules;
  size_t nbins;
  struct access_bin *bins;
};

static const char *const service_names[ACCESS__SERVICES] = {"primary_care",
                                                            "dental"};

const char *access_service_name(enum access_service s) {
  if ((int)s < 0 || s >= ACCESS__SERVICES)
    return NULL;
  return service_names[s];
}

int access_service_parse(const char *name, enum access_service *out) {
  for (int i = 0; i < ACCESS__SERVICES; i++)
    if (name != NULL && strcmp(name, service_names[i]) == 0) {
      *out = (enum access_service)i;
      return 0;
    }
  return ERR_NOTFOUND;
}

int32_t access_days(int32_t from, int32_t to) { return to - from; }

int32_t access_date_of(int64_t ms) { return chrono_local_date(ms); }

int access_age_on(int32_t birth, int32_t day) {
  int yb, mb, db, yd, md, dd, years;
  if (day < birth)
    return -1;
  chrono_civil_from_days(birth, &yb, &mb, &db);
  chrono_civil_from_days(day, &yd, &md, &dd);
  years = yd - yb;
  if (years > 0 && calendar_add_months(birth, 12 * years) > day)
    years--;
  return years;
}

/* ------------------------------------------------------------- parsing */

/* The shared helpers (jsonv.h) with this file's caps. */
static const char *sub(char out[PATH_LEN], const char *path, const char *key) {
  return jsonv_path(out, PATH_LEN, path, key);
}

static int check_keys(json_t *obj, const char *path, const char *const *allowed,
                      struct error *err) {
  return jsonv_check_keys(obj, path, allowed, err);
}

static int get_val(json_t *obj, const char *key, const char *path,
                   bool required, json_t **out, struct error *err) {
  return jsonv_get(obj, key, path, required, out, err);
}

static int get_str(json_t *obj, const char *key, const char *path,
                   bool required, const char **out, struct error *err) {
  return jsonv_get_str(obj, key, path, required, TEXT_MAX, out, err);
}

/* An integer in lo..hi. */
static int get_int(json_t *obj, const char *key, const char *path,
                   bool required, long long lo, long long hi, bool *present,
                   long long *out, struct error *err) {
  json_t *v;
  int rc = get_val(obj, key, path, required, &v, err);
  if (rc < 0)
    return rc;
  *present = v != NULL;
  if (v == NULL)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo ||
      json_integer_value(v) > hi)
    return error_set(err, ERR_CONFIG, "%s.%s: expected an integer %lld..%lld",
                     path, key, lo, hi);
  *out = json_integer_value(v);
  return 0;
}

/* A "YYYY-MM-DD" date, or ACCESS_NO_DATE when absent/null and optional. */
static int get_date(json_t *obj, const char *key, const char *path,
                    bool required, int32_t *out, struct error *err) {
  const char *s;
  int rc = get_str(obj, key, path, required, &s, err);
  if (rc < 0)
    return rc;
  if (s == NULL) {
    *out = ACCESS_NO_DATE;
    return 0;
  }
  if (chrono_parse_date(s, strlen(s), out) != 0)
    return error_set(err, ERR_CONFIG, "%s.%s: expected a date YYYY-MM-DD", path,
                     key);
  return 0;
}

/* {"fi","sv","en"}, all three required. */
static int get_text(json_t *obj, const char *key, const char *path,
                    struct access_text *out, struct error *err) {
  static const char *const keys[] = {"fi", "sv", "en", NULL};
  char p[PATH_LEN];
  json_t *v;
  int rc = get_val(obj, key, path, true, &v, err);
  if (rc < 0)
    return rc;
  sub(p, path, key);
  if (!json_is_object(v))
    return error_set(err, ERR_CONFIG, "%s: expected an object", p);
  if ((rc = check_keys(v, p, keys, err)) < 0 ||
      (rc = get_str(v, "fi", p, true, &out->fi, err)) < 0 ||
      (rc = get_str(v, "sv", p, true, &out->sv, err)) < 0 ||
      (rc = get_str(v, "en", p, true, &out->en, err)) < 0)
    return rc;
  return 0;
}

static int parse_rule(json_t *o, const char *path, struct access_rule *r,
                      struct error *err) {
  static const char *const keys[] = {
      "id",         "service",      "valid_from", "valid_to",   "age", "limit",
      "proxy_days", "rule_version", "basis",      "domain_ref", NULL};
  static const char *const age_keys[] = {"min", "below", NULL};
  static const char *const limit_keys[] = {"days", "months", NULL};
  const char *service;
  json_t *age, *limit;
  bool has, has2;
  long long v = 0, v2 = 0;
  int32_t ver;
  char p[PATH_LEN];
  int rc;
  if (!json_is_object(o))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  if ((rc = check_keys(o, path, keys, err)) < 0 ||
      (rc = get_str(o, "id", path, true, &r->id, err)) < 0 ||
      (rc = get_str(o, "service", path, true, &service, err)) < 0)
    return rc;
  if (access_service_parse(service, &r->service) != 0)
    return error_set(err, ERR_CONFIG,
                     "%s.service: expected \"primary_care\" or \"dental\"",
                     path);
  if ((rc = get_date(o, "valid_from", path, false, &r->valid_from, err)) < 0 ||
      (rc = get_date(o, "valid_to", path, false, &r->valid_to, err)) < 0)
    return rc;
  if (r->valid_from != ACCESS_NO_DATE && r->valid_to != ACCESS_NO_DATE &&
      r->valid_from > r->valid_to)
    return error_set(err, ERR_CONFIG, "%s: valid_from is after valid_to", path);
  r->age_min = r->age_below = -1;
  if ((rc = get_val(o, "age", path, false, &age, err)) < 0)
    return rc;
  if (age != NULL) {
    sub(p, path, "age");
    if (!json_is_object(age))
      return error_set(err, ERR_CONFIG, "%s: expected an object", p);
    if ((rc = check_keys(age, p, age_keys, err)) < 0 ||
        (rc = get_int(age, "min", p, false, 0, 200, &has, &v, err)) < 0 ||
        (rc = get_int(age, "below", p, false, 1, 200, &has2, &v2, err)) < 0)
      return rc;
    if (!has && !has2)
      return error_set(err, ERR_CONFIG, "%s: needs \"min\" or \"below\"", p);
    if (has)
      r->age_min = (int)v;
    if (has2)
      r->age_below = (int)v2;
    if (has && has2 && v >= v2)
      return error_set(err, ERR_CONFIG, "%s: min must be below \"below\"", p);
  }
  if ((rc = get_val(o, "limit", path, true, &limit, err)) < 0)
    return rc;
  sub(p, path, "limit");
  if (!json_is_object(limit))
    return error_set(err, ERR_CONFIG, "%s: expected an object", p);
  if ((rc = check_keys(limit, p, limit_keys, err)) < 0 ||
      (rc = get_int(limit, "days", p, false, 0, ACCESS_MAX_LIMIT_DAYS, &has, &v,
                    err)) < 0 ||
      (rc = get_int(limit, "months", p, false, 1, ACCESS_MAX_LIMIT_MONTHS,
                    &has2, &v2, err)) < 0)
    return rc;
  if (has == has2)
    return error_set(err, ERR_CONFIG, "%s: exactly one of \"days\", \"months\"",
                     p);
  r->kind = has ? ACCESS_LIMIT_DAYS : ACCESS_LIMIT_MONTHS;
  r->limit = (int)(has ? v : v2);
  if ((rc = get_int(o, "proxy_days", path, true, 0, ACCESS_MAX_LIMIT_DAYS, &has,
                    &v, err)) < 0)
    return rc;
  r->proxy_days = (int)v;
  if ((rc = get_str(o, "rule_version", path, true, &r->rule_version, err)) < 0)
    return rc;
  if (strlen(r->rule_version) != 10 ||
      chrono_parse_date(r->rule_version, 10, &ver) != 0)
    return error_set(err, ERR_CONFIG,
                     "%s.rule_version: expected a date YYYY-MM-DD", path);
  if ((rc = get_text(o, "basis", path, &r->basis, err)) < 0 ||
      (rc = get_str(o, "domain_ref", path, false, &r->domain_ref, err)) < 0)
    return rc;
  return 0;
}

static bool dates_overlap(const struct access_rule *a,
                          const struct access_rule *b) {
  /* open ends are -inf / +inf */
  int64_t af = a->valid_from == ACCESS_NO_DATE ? INT64_MIN : a->valid_from;
  int64_t at = a->valid_to == ACCESS_NO_DATE ? INT64_MAX : a->valid_to;
  int64_t bf = b->valid_from == ACCESS_NO_DATE ? INT64_MIN : b->valid_from;
  int64_t bt = b->valid_to == ACCESS_NO_DATE ? INT64_MAX : b->valid_to;
  return af <= bt && bf <= at;
}

static bool ages_overlap(const struct access_rule *a,
                         const struct access_rule *b) {
  int alo = a->age_min < 0 ? 0 : a->age_min;
  int ahi = a->age_below < 0 ? 1000 : a->age_below; /* [lo, hi) */
  int blo = b->age_min < 0 ? 0 : b->age_min;
  int bhi = b->age_below < 0 ? 1000 : b->age_below;
  return alo < bhi && blo < ahi;
}

static int parse_bin(json_t *o, const char *path, struct access_bin *b,
                     struct error *err) {
  static const char *const keys[] = {"id", "min", "max", "label", NULL};
  bool has;
  long long v = 0;
  int rc;
  if (!json_is_object(o))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  if ((rc = check_keys(o, path, keys, err)) < 0 ||
      (rc = get_str(o, "id", path, true, &b->id, err)) < 0 ||
      (rc = get_int(o, "min", path, true, 0, 100000, &has, &v, err)) < 0)
    return rc;
  b->min = (int32_t)v;
  if ((rc = get_int(o, "max", path, false, 0, 100000, &has, &v, err)) < 0)
    return rc;
  b->max = has ? (int32_t)v : INT32_MAX;
  if (b->max < b->min)
    return error_set(err, ERR_CONFIG, "%s: max is below min", path);
  return get_text(o, "label", path, &b->label, err);
}

int access_rules_load_json(const char *text, size_t len,
                           struct access_rules **out, struct error *err) {
  static const char *const keys[] = {"version", "rules", "bins", NULL};
  struct access_rules *r = NULL;
  json_error_t jerr;
  json_t *root = NULL, *rules, *bins;
  bool has;
  long long version = 0;
  char p[PATH_LEN];
  int rc = 0;
  if (len > ACCESS_MAX_JSON)
    return error_set(err, ERR_TOOBIG,
                     "care-guarantee rules larger than %u bytes",
                     ACCESS_MAX_JSON);
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return error_set(err, ERR_PARSE, "invalid JSON at line %d, column %d: %s",
                     jerr.line, jerr.column, jerr.text);
  if (!json_is_object(root)) {
    rc = error_set(err, ERR_CONFIG, "care guarantee: expected a JSON object");
    goto out;
  }
  if ((rc = check_keys(root, "care_guarantee", keys, err)) < 0 ||
      (rc = get_int(root, "version", "care_guarantee", true, 1, 1, &has,
                    &version, err)) < 0 ||
      (rc = get_val(root, "rules", "care_guarantee", true, &rules, err)) < 0 ||
      (rc = get_val(root, "bins", "care_guarantee", true, &bins, err)) < 0)
    goto out;
  if (!json_is_array(rules) || json_array_size(rules) == 0 ||
      json_array_size(rules) > ACCESS_MAX_RULES) {
    rc = error_set(err, ERR_CONFIG, "rules: expected an array of 1 to %d rules",
                   ACCESS_MAX_RULES);
    goto out;
  }
  if (!json_is_array(bins) || json_array_size(bins) == 0 ||
      json_array_size(bins) > ACCESS_MAX_BINS) {
    rc = error_set(err, ERR_CONFIG, "bins: expected an array of 1 to %d bins",
                   ACCESS_MAX_BINS);
    goto out;
  }
  r = mem_calloc(1, sizeof *r);
  r->nrules = json_array_size(rules);
  r->rules = mem_calloc(r->nrules, sizeof *r->rules);
  for (size_t i = 0; i < r->nrules; i++) {
    snprintf(p, sizeof p, "rules[%zu]", i);
    if ((rc = parse_rule(json_array_get(rules, i), p, &r->rules[i], err)) < 0)
      goto out;
    for (size_t j = 0; j < i; j++) {
      const struct access_rule *a = &r->rules[j], *b = &r->rules[i];
      if (strcmp(a->id, b->id) == 0) {
        rc =
            error_set(err, ERR_CONFIG, "%s.id: duplicate id '%.40s'", p, b->id);
        goto out;
      }
      if (a->service == b->service && dates_overlap(a, b) &&
          ages_overlap(a, b)) {
        rc = error_set(err, ERR_CONFIG, "%s: overlaps rules[%zu] ('%.40s')", p,
                       j, a->id);
        goto out;
      }
    }
  }
  r->nbins = json_array_size(bins);
  r->bins = mem_calloc(r->nbins, sizeof *r->bins);
  for (size_t i = 0; i < r->nbins; i++) {
    struct access_bin *b = &r->bins[i];
    snprintf(p, sizeof p, "bins[%zu]", i);
    if ((rc = parse_bin(json_array_get(bins, i), p, b, err)) < 0)
      goto out;
    if (i == 0 && b->min != 0) {
      rc = error_set(err, ERR_CONFIG, "%s.min: the first bin must start at 0",
                     p);
      goto out;
    }
    if (i > 0 &&
        (r->bins[i - 1].max == INT32_MAX || b->min != r->bins[i - 1].max + 1)) {
      rc = error_set(err, ERR_CONFIG,
                     "%s.min: must be the previous bin's max + 1", p);
      goto out;
    }
  }
  if (r->bins[r->nbins - 1].max != INT32_MAX) {
    rc = error_set(err, ERR_CONFIG, "bins: the last bin must be open (no max)");
    goto out;
  }
  r->root = root;
  root = NULL;
  *out = r;
  r = NULL;
out:
  if (r != NULL) {
    mem_free(r->rules);
    mem_free(r->bins);
    mem_free(r);
  }
  json_decref(root);
  return rc;
}

const char *access_builtin_json(size_t *len) {
  if (len != NULL)
    *len = access_embedded_care_guarantee_len;
  return access_embedded_care_guarantee;
}

int access_rules_builtin(struct access_rules **out, struct error *err) {
  return access_rules_load_json(access_embedded_care_guarantee,
                                access_embedded_care_guarantee_len, out, err);
}

void access_rules_free(struct access_rules *r) {
  if (r == NULL)
    return;
  mem_free(r->rules);
  mem_free(r->bins);
  json_decref(r->root);
  mem_free(r);
}

size_t access_rules_count(const struct access_rules *r) { return r->nrules; }

const struct access_rule *access_rules_at(const struct access_rules *r,
                                          size_t i) {
  return i < r->nrules ? &r->rules[i] : NULL;
}

static bool in_force(const struct access_rule *ru, int32_t day) {
  return (ru->valid_from == ACCESS_NO_DATE || day >= ru->valid_from) &&
         (ru->valid_to == ACCESS_NO_DATE || day <= ru->valid_to);
}

static bool age_fits(const struct access_rule *ru, int age) {
  if (ru->age_min < 0 && ru->age_below < 0)
    return true;
  if (age < 0)
    return false;
  return (ru->age_min < 0 || age >= ru->age_min) &&
         (ru->age_below < 0 || age < ru->age_below);
}

const struct access_rule *access_rule_find(const struct access_rules *r,
                                           enum access_service service,
                                           int32_t hta_date, int age) {
  for (size_t i = 0; i < r->nrules; i++) {
    const struct access_rule *ru = &r->rules[i];
    if (ru->service == service && in_force(ru, hta_date) && age_fits(ru, age))
      return ru;
  }
  return NULL;
}

int32_t access_rule_deadline(const struct access_rule *rule, int32_t hta_date) {
  if (rule->kind == ACCESS_LIMIT_DAYS)
    return hta_date + rule->limit;
  return calendar_add_months(hta_date, rule->limit);
}

const char *access_rules_version(const struct access_rules *r,
                                 enum access_service service, int32_t from,
                                 int32_t to, bool *changed) {
  const char *best = NULL;
  bool ch = false;
  for (size_t i = 0; i < r->nrules; i++) {
    const struct access_rule *ru = &r->rules[i];
    if (ru->service != service)
      continue;
    if (ru->valid_from != ACCESS_NO_DATE && ru->valid_from > from &&
        ru->valid_from <= to)
      ch = true;
    if (in_force(ru, to) &&
        (best == NULL || strcmp(ru->rule_version, best) > 0))
      best = ru->rule_version;
  }
  if (changed != NULL)
    *changed = ch;
  return best;
}

int access_assess(const struct access_rules *r, const struct access_visit *v,
                  struct access_result *out) {
  struct access_result res;
  if ((int)v->service < 0 || v->service >= ACCESS__SERVICES)
    return ERR_RANGE;
  if (v->hta_date != ACCESS_NO_DATE && v->visit_date < v->hta_date)
    return ERR_RANGE;
  if (v->contact_date != ACCESS_NO_DATE && v->visit_date < v->contact_date)
    return ERR_RANGE;
  memset(&res, 0, sizeof res);
  res.wait_days = v->hta_date == ACCESS_NO_DATE
                      ? -1
                      : access_days(v->hta_date, v->visit_date);
  res.wait_contact_days = v->contact_date == ACCESS_NO_DATE
                              ? -1
                              : access_days(v->contact_date, v->visit_date);
  res.deadline = ACCESS_NO_DATE;
  res.excluded_by = v->flags & ACCESS_EXCLUDING_FLAGS;
  if (v->hta_date == ACCESS_NO_DATE)
    res.excluded_by |= ACCESS_NO_HTA;
  if (res.excluded_by != 0) {
    res.verdict = ACCESS_EXCLUDED;
    *out = res;
    return 0;
  }
  res.rule = access_rule_find(r, v->service, v->hta_date, v->age);
  if (res.rule == NULL) {
    res.verdict = ACCESS_NO_RULE;
    *out = res;
    return 0;
  }
  res.deadline = access_rule_deadline(res.rule, v->hta_date);
  res.verdict = v->visit_date <= res.deadline ? ACCESS_MET : ACCESS_MISSED;
  res.proxy_met = res.wait_days <= res.rule->proxy_days;
  *out = res;
  return 0;
}

/* ---------------------------------------------------------------- bins */

size_t access_bins_count(const struct access_rules *r) { return r->nbins; }

const struct access_bin *access_bin_at(const struct access_rules *r, size_t i) {
  return i < r->nbins ? &r->bins[i] : NULL;
}

int access_bin_index(const struct access_rules *r, int32_t days) {
  size_t lo = 0, hi = r->nbins; /* the first bin with max >= days */
  if (days < 0)
    return -1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->bins[mid].max < days)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < r->nbins ? (int)lo : -1;
}
