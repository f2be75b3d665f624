/* indicator.c -- the indicator catalogue and the daily cube (indicator.h).
 *
 * Catalogue: parsed with jansson and checked strictly (unknown keys are
 * errors, "x-" keys are comments); the JSON tree is kept and every string
 * points into it. Measure references are resolved to indexes at load.
 *
 * Cube layout: for every org unit that was touched, one series per
 * measure. A series holds a dense array of day cells [d0, d0 + nd) and of
 * month cells [m0, m0 + nm) (month index = year * 12 + month - 1); a cell
 * is an int64_t for counters and a struct hist_cell for histograms. The
 * arrays grow at either end with a margin, so chronological feeding
 * reallocates rarely. A contribution goes to the unit and every ancestor,
 * day cell and month cell: O(depth) cells per add.
 *
 * Invariants:
 *  1. for every unit u, measure m and day d: cell(u, m, d) = the sum of
 *     the contributions to (v, m, d) over v in u's subtree;
 *  2. month cell(u, m, M) = the sum of day cells(u, m, d) over d in M;
 *  3. every histogram count is >= 0 (a removal that would break this is
 *     refused before anything is written: the unit's own day cell holds
 *     the fewest, the root's month cell the most of any cell touched).
 * Queries rely on 1 and 2 only, so the figures depend on the multiset of
 * contributions, not on their order or on the arrays' margins.
 *
 * Thread safety: see indicator.h. */
#include "jsonv.h"
#include "indicator.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrono.h"
#include "mem.h"

#define PATH_LEN 128
#define TEXT_MAX 4000
#define MONTH_MIN (1900 * 12)
#define MONTH_MAX (2199 * 12 + 11)
#define MAX_SPAN_MONTHS (61 * 12)

/* Generated at build time from indicators/catalogue.json
 * (scripts/embed_json.py). */
extern const char indicator_embedded_catalogue[];
extern const size_t indicator_embedded_catalogue_len;

struct indicator_catalogue {
  json_t *root; /* owns every string */
  const struct access_rules *rules;
  size_t nmeasures;
  struct indicator_measure *measures;
  size_t ndefs;
  struct indicator_def *defs;
};

/* ================================================================ parsing */

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

/* An id: 1..INDICATOR_ID_MAX-1 of a-z 0-9 _ . - */
static int get_id(json_t *obj, const char *key, const char *path,
                  const char **out, struct error *err) {
  int rc = get_str(obj, key, path, true, out, err);
  size_t n;
  if (rc < 0)
    return rc;
  n = strlen(*out);
  if (n >= INDICATOR_ID_MAX)
    goto bad;
  for (size_t i = 0; i < n; i++) {
    char ch = (*out)[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '.' || ch == '-'))
      goto bad;
  }
  return 0;
bad:
  return error_set(err, ERR_CONFIG,
                   "%s.%s: invalid id (1 to %d of a-z, 0-9, '_', '.', '-')",
                   path, key, INDICATOR_ID_MAX - 1);
}

static int get_text(json_t *obj, const char *key, const char *path,
                    struct indicator_text *out, struct error *err) {
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

static int get_number(json_t *obj, const char *key, const char *path,
                      bool *present, double *out, struct error *err) {
  json_t *v;
  int rc = get_val(obj, key, path, false, &v, err);
  if (rc < 0)
    return rc;
  *present = v != NULL;
  if (v == NULL)
    return 0;
  if (!json_is_number(v))
    return error_set(err, ERR_CONFIG, "%s.%s: expected a number", path, key);
  *out = json_number_value(v);
  return 0;
}

static int get_int(json_t *obj, const char *key, const char *path, long long lo,
                   long long hi, bool *present, long long *out,
                   struct error *err) {
  json_t *v;
  int rc = get_val(obj, key, path, false, &v, err);
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

/* Index of measure 'id' in the first n measures, or -1. */
static long measure_index(const struct indicator_measure *ms, size_t n,
                          const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(ms[i].id, id) == 0)
      return (long)i;
  return -1;
}

/* The measures the feeders write must have the right kind when declared. */
static bool known_kind(const char *id, enum indicator_measure_kind *kind) {
  static const struct {
    const char *prefix;
    enum indicator_measure_kind kind;
  } known[] = {
      {"wait_hta.", INDICATOR_HISTOGRAM},
      {"wait_contact.", INDICATOR_HISTOGRAM},
      {"cg.", INDICATOR_COUNTER},
      {"ward.los", INDICATOR_HISTOGRAM},
      {"ward.", INDICATOR_COUNTER},
  };
  size_t n = strlen(id);
  if (strncmp(id, "t3.", 3) == 0) {
    *kind = n > 9 && strcmp(id + n - 9, ".censored") == 0 ? INDICATOR_COUNTER
                                                          : INDICATOR_HISTOGRAM;
    return true;
  }
  for (size_t i = 0; i < ARRAY_LEN(known); i++)
    if (strncmp(id, known[i].prefix, strlen(known[i].prefix)) == 0) {
      *kind = known[i].kind;
      return true;
    }
  return false;
}

static int parse_measure(json_t *o, const char *path,
                         struct indicator_measure *m, struct error *err) {
  static const char *const keys[] = {"id", "kind", "bins", "description", NULL};
  const char *kind;
  bool has;
  long long bins = 0;
  enum indicator_measure_kind want;
  int rc;
  if (!json_is_object(o))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  if ((rc = check_keys(o, path, keys, err)) < 0 ||
      (rc = get_id(o, "id", path, &m->id, err)) < 0 ||
      (rc = get_str(o, "kind", path, true, &kind, err)) < 0 ||
      (rc = get_str(o, "description", path, false, &m->description, err)) < 0 ||
      (rc = get_int(o, "bins", path, 1, HIST_MAX_BINS, &has, &bins, err)) < 0)
    return rc;
  if (strcmp(kind, "counter") == 0) {
    m->kind = INDICATOR_COUNTER;
    if (has)
      return error_set(err, ERR_CONFIG, "%s.bins: only for histograms", path);
  } else if (strcmp(kind, "histogram") == 0) {
    m->kind = INDICATOR_HISTOGRAM;
    if (!has)
      return error_set(err, ERR_CONFIG, "%s.bins: required", path);
    m->bins = (size_t)bins;
  } else {
    return error_set(err, ERR_CONFIG,
                     "%s.kind: expected \"counter\" or \"histogram\"", path);
  }
  if (known_kind(m->id, &want) && want != m->kind)
    return error_set(err, ERR_CONFIG, "%s.kind: '%s' must be a %s", path, m->id,
                     want == INDICATOR_COUNTER ? "counter" : "histogram");
  return 0;
}

/* A list of measure ids -> indexes. */
static int parse_terms(json_t *arr, const char *path,
                       const struct indicator_catalogue *cat, size_t *idx,
                       size_t *n, struct error *err) {
  if (!json_is_array(arr) || json_array_size(arr) == 0 ||
      json_array_size(arr) > INDICATOR_MAX_TERMS)
    return error_set(err, ERR_CONFIG,
                     "%s: expected an array of 1 to %d measure ids", path,
                     INDICATOR_MAX_TERMS);
  *n = json_array_size(arr);
  for (size_t i = 0; i < *n; i++) {
    json_t *v = json_array_get(arr, i);
    long m;
    if (!json_is_string(v))
      return error_set(err, ERR_CONFIG, "%s[%zu]: expected a measure id", path,
                       i);
    m = measure_index(cat->measures, cat->nmeasures, json_string_value(v));
    if (m < 0)
      return error_set(err, ERR_CONFIG, "%s[%zu]: unknown measure '%.60s'",
                       path, i, json_string_value(v));
    idx[i] = (size_t)m;
  }
  return 0;
}

static const char *const stat_names[] = {"median",       "percentile", "mean",
                                         "share_within", "count_over", "count"};

static int parse_formula(json_t *o, const char *path,
                         const struct indicator_catalogue *cat,
                         struct indicator_def *d, struct error *err) {
  static const char *const keys[] = {"type",        "statistic", "p",
                                     "days",        "measures",  "numerator",
                                     "denominator", "factor",    NULL};
  const char *type, *stat;
  json_t *v;
  bool has_p, has_days, has_factor;
  double p = 0, factor = 1;
  long long days = 0;
  char p2[PATH_LEN];
  int rc;
  if (!json_is_object(o))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  if ((rc = check_keys(o, path, keys, err)) < 0 ||
      (rc = get_str(o, "type", path, true, &type, err)) < 0 ||
      (rc = get_number(o, "p", path, &has_p, &p, err)) < 0 ||
      (rc = get_int(o, "days", path, 0, HIST_MAX_BINS, &has_days, &days, err)) <
          0 ||
      (rc = get_number(o, "factor", path, &has_factor, &factor, err)) < 0)
    return rc;
  if (has_factor && !(factor > 0 && factor <= 1e9))
    return error_set(err, ERR_CONFIG, "%s.factor: expected a number > 0", path);
  d->factor = factor;
  if (strcmp(type, "statistic") == 0) {
    size_t bins;
    d->formula = INDICATOR_STATISTIC;
    if ((rc = get_str(o, "statistic", path, true, &stat, err)) < 0)
      return rc;
    for (d->stat = 0; (size_t)d->stat < ARRAY_LEN(stat_names); d->stat++)
      if (strcmp(stat, stat_names[d->stat]) == 0)
        break;
    if ((size_t)d->stat == ARRAY_LEN(stat_names))
      return error_set(err, ERR_CONFIG,
                       "%s.statistic: expected median, percentile, mean, "
                       "share_within, count_over or count",
                       path);
    if (json_object_get(o, "numerator") || json_object_get(o, "denominator"))
      return error_set(err, ERR_CONFIG,
                       "%s: a statistic has \"measures\", not a ratio", path);
    sub(p2, path, "measures");
    if ((rc = get_val(o, "measures", path, true, &v, err)) < 0 ||
        (rc = parse_terms(v, p2, cat, d->num, &d->nnum, err)) < 0)
      return rc;
    bins = cat->measures[d->num[0]].bins;
    for (size_t i = 0; i < d->nnum; i++) {
      const struct indicator_measure *m = &cat->measures[d->num[i]];
      if (m->kind != INDICATOR_HISTOGRAM)
        return error_set(err, ERR_CONFIG, "%s[%zu]: '%s' is not a histogram",
                         p2, i, m->id);
      if (m->bins != bins)
        return error_set(err, ERR_CONFIG,
                         "%s[%zu]: '%s' has %zu bins, the first %zu", p2, i,
                         m->id, m->bins, bins);
    }
    if (has_p != (d->stat == INDICATOR_PERCENTILE))
      return error_set(err, ERR_CONFIG, "%s.p: %s", path,
                       has_p ? "only for a percentile" : "required");
    if (has_p && !(p >= 0 && p <= 100))
      return error_set(err, ERR_CONFIG, "%s.p: expected 0..100", path);
    d->p = p;
    if (has_days !=
        (d->stat == INDICATOR_SHARE_WITHIN || d->stat == INDICATOR_COUNT_OVER))
      return error_set(err, ERR_CONFIG, "%s.days: %s", path,
                       has_days ? "only for share_within and count_over"
                                : "required");
    if (has_days && (size_t)days >= bins)
      return error_set(err, ERR_CONFIG,
                       "%s.days: must be below the histogram's %zu bins", path,
                       bins);
    d->days = (int32_t)days;
    if (has_factor && d->stat != INDICATOR_SHARE_WITHIN)
      return error_set(err, ERR_CONFIG, "%s.factor: only for share_within",
                       path);
    return 0;
  }
  if (strcmp(type, "ratio") == 0) {
    d->formula = INDICATOR_RATIO;
    if (json_object_get(o, "measures") || json_object_get(o, "statistic") ||
        has_p || has_days)
      return error_set(err, ERR_CONFIG,
                       "%s: a ratio has \"numerator\" and \"denominator\"",
                       path);
    sub(p2, path, "numerator");
    if ((rc = get_val(o, "numerator", path, true, &v, err)) < 0 ||
        (rc = parse_terms(v, p2, cat, d->num, &d->nnum, err)) < 0 ||
        (rc = get_val(o, "denominator", path, true, &v, err)) < 0)
      return rc;
    sub(p2, path, "denominator");
    if (json_is_string(v)) {
      const char *s = json_string_value(v);
      if (strcmp(s, "population") == 0)
        d->den_kind = INDICATOR_DEN_POPULATION;
      else if (strcmp(s, "days") == 0)
        d->den_kind = INDICATOR_DEN_DAYS;
      else if (strcmp(s, "bed_days") == 0)
        d->den_kind = INDICATOR_DEN_BED_DAYS;
      else if (strcmp(s, "none") == 0)
        d->den_kind = INDICATOR_DEN_NONE;
      else
        return error_set(err, ERR_CONFIG,
                         "%s: expected measure ids or \"population\", "
                         "\"days\", \"bed_days\", \"none\"",
                         p2);
      return 0;
    }
    d->den_kind = INDICATOR_DEN_MEASURES;
    return parse_terms(v, p2, cat, d->den, &d->nden, err);
  }
  return error_set(err, ERR_CONFIG,
                   "%s.type: expected \"statistic\" or \"ratio\"", path);
}

static int parse_def(json_t *o, const char *path,
                     const struct indicator_catalogue *cat,
                     struct indicator_def *d, struct error *err) {
  static const char *const keys[] = {
      "id",     "name",         "description",   "formula",
      "unit",   "direction",    "target",        "suppression",
      "source", "rule_version", "rule_timeline", "domain_ref",
      NULL};
  static const char *const units[] = {"days", "%", "per_1000", "count",
                                      "per_day"};
  static const char *const supp_keys[] = {"min_n", "small_numerator", NULL};
  const char *dir, *timeline;
  json_t *v;
  bool has, found = false;
  long long min_n = INDICATOR_DEFAULT_MIN_N;
  int32_t ver;
  char p[PATH_LEN];
  int rc;
  if (!json_is_object(o))
    return error_set(err, ERR_CONFIG, "%s: expected an object", path);
  if ((rc = check_keys(o, path, keys, err)) < 0 ||
      (rc = get_id(o, "id", path, &d->id, err)) < 0 ||
      (rc = get_text(o, "name", path, &d->name, err)) < 0 ||
      (rc = get_text(o, "description", path, &d->description, err)) < 0 ||
      (rc = get_text(o, "source", path, &d->source, err)) < 0 ||
      (rc = get_str(o, "unit", path, true, &d->unit, err)) < 0 ||
      (rc = get_str(o, "direction", path, true, &dir, err)) < 0 ||
      (rc = get_number(o, "target", path, &d->has_target, &d->target, err)) <
          0 ||
      (rc = get_str(o, "rule_version", path, true, &d->rule_version, err)) <
          0 ||
      (rc = get_str(o, "rule_timeline", path, false, &timeline, err)) < 0 ||
      (rc = get_str(o, "domain_ref", path, false, &d->domain_ref, err)) < 0)
    return rc;
  for (size_t i = 0; i < ARRAY_LEN(units); i++)
    found = found || strcmp(d->unit, units[i]) == 0;
  if (!found)
    return error_set(err, ERR_CONFIG,
                     "%s.unit: expected days, %%, per_1000, count or per_day",
                     path);
  if (strcmp(dir, "higher_is_better") == 0)
    d->direction = INDICATOR_HIGHER_IS_BETTER;
  else if (strcmp(dir, "lower_is_better") == 0)
    d->direction = INDICATOR_LOWER_IS_BETTER;
  else if (strcmp(dir, "neutral") == 0)
    d->direction = INDICATOR_NEUTRAL;
  else
    return error_set(err, ERR_CONFIG,
                     "%s.direction: expected higher_is_better, "
                     "lower_is_better or neutral",
                     path);
  if (strlen(d->rule_version) != 10 ||
      chrono_parse_date(d->rule_version, 10, &ver) != 0)
    return error_set(err, ERR_CONFIG,
                     "%s.rule_version: expected a date YYYY-MM-DD", path);
  if (timeline != NULL) {
    if (access_service_parse(timeline, &d->rule_service) != 0)
      return error_set(err, ERR_CONFIG,
                       "%s.rule_timeline: expected \"primary_care\" or "
                       "\"dental\"",
                       path);
    if (cat->rules == NULL)
      return error_set(err, ERR_CONFIG,
                       "%s.rule_timeline: no care-guarantee rules loaded",
                       path);
    d->rule_timeline = true;
  }
  /* suppression: defaults min_n 5; small numerators for % and counts */
  d->small_numerator =
      strcmp(d->unit, "%") == 0 || strcmp(d->unit, "count") == 0;
  if ((rc = get_val(o, "suppression", path, false, &v, err)) < 0)
    return rc;
  if (v != NULL) {
    json_t *sn;
    sub(p, path, "suppression");
    if (!json_is_object(v))
      return error_set(err, ERR_CONFIG, "%s: expected an object", p);
    if ((rc = check_keys(v, p, supp_keys, err)) < 0 ||
        (rc = get_int(v, "min_n", p, 0, 1000000, &has, &min_n, err)) < 0 ||
        (rc = get_val(v, "small_numerator", p, false, &sn, err)) < 0)
      return rc;
    if (sn != NULL) {
      if (!json_is_boolean(sn))
        return error_set(err, ERR_CONFIG,
                         "%s.small_numerator: expected a "
                         "boolean",
                         p);
      d->small_numerator = json_is_true(sn);
    }
  }
  d->min_n = min_n;
  sub(p, path, "formula");
  if ((rc = get_val(o, "formula", path, true, &v, err)) < 0 ||
      (rc = parse_formula(v, p, cat, d, err)) < 0)
    return rc;
  return 0;
}

int indicator_catalogue_load_json(const char *text, size_t len,
                                  const struct access_rules *rules,
                                  struct indicator_catalogue **out,
                                  struct error *err) {
  static const char *const keys[] = {"version", "measures", "indicators", NULL};
  struct indicator_catalogue *cat = NULL;
  json_error_t jerr;
  json_t *root = NULL, *ms, *ids;
  bool has;
  long long version = 0;
  char p[PATH_LEN];
  int rc = 0;
  if (len > INDICATOR_MAX_JSON)
    return error_set(err, ERR_TOOBIG,
                     "indicator catalogue larger than %u bytes",
                     INDICATOR_MAX_JSON);
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return error_set(err, ERR_PARSE, "invalid JSON at line %d, column %d: %s",
                     jerr.line, jerr.column, jerr.text);
  if (!json_is_object(root)) {
    rc = error_set(err, ERR_CONFIG, "catalogue: expected a JSON object");
    goto out;
  }
  if ((rc = check_keys(root, "catalogue", keys, err)) < 0 ||
      (rc = get_int(root, "version", "catalogue", 1, 1, &has, &version, err)) <
          0)
    goto out;
  if (!has) {
    rc = error_set(err, ERR_CONFIG, "catalogue.version: required");
    goto out;
  }
  ms = json_object_get(root, "measures");
  ids = json_object_get(root, "indicators");
  if (!json_is_array(ms) || json_array_size(ms) == 0 ||
      json_array_size(ms) > INDICATOR_MAX_MEASURES) {
    rc = error_set(err, ERR_CONFIG,
                   "measures: expected an array of 1 to %d measures",
                   INDICATOR_MAX_MEASURES);
    goto out;
  }
  if (!json_is_array(ids) || json_array_size(ids) == 0 ||
      json_array_size(ids) > INDICATOR_MAX_INDICATORS) {
    rc = error_set(err, ERR_CONFIG,
                   "indicators: expected an array of 1 to %d indicators",
                   INDICATOR_MAX_INDICATORS);
    goto out;
  }
  cat = mem_calloc(1, sizeof *cat);
  cat->rules = rules;
  cat->measures = mem_calloc(json_array_size(ms), sizeof *cat->measures);
  for (size_t i = 0; i < json_array_size(ms); i++) {
    snprintf(p, sizeof p, "measures[%zu]", i);
    if ((rc = parse_measure(json_array_get(ms, i), p, &cat->measures[i], err)) <
        0)
      goto out;
    if (measure_index(cat->measures, i, cat->measures[i].id) >= 0) {
      rc = error_set(err, ERR_CONFIG, "%s.id: duplicate id '%s'", p,
                     cat->measures[i].id);
      goto out;
    }
    cat->nmeasures = i + 1;
  }
  cat->defs = mem_calloc(json_array_size(ids), sizeof *cat->defs);
  for (size_t i = 0; i < json_array_size(ids); i++) {
    snprintf(p, sizeof p, "indicators[%zu]", i);
    if ((rc = parse_def(json_array_get(ids, i), p, cat, &cat->defs[i], err)) <
        0)
      goto out;
    for (size_t j = 0; j < i; j++)
      if (strcmp(cat->defs[j].id, cat->defs[i].id) == 0) {
        rc = error_set(err, ERR_CONFIG, "%s.id: duplicate id '%s'", p,
                       cat->defs[i].id);
        goto out;
      }
    cat->ndefs = i + 1;
  }
  cat->root = root;
  root = NULL;
  *out = cat;
  cat = NULL;
out:
  indicator_catalogue_free(cat);
  json_decref(root);
  return rc;
}

const char *indicator_builtin_json(size_t *len) {
  if (len != NULL)
    *len = indicator_embedded_catalogue_len;
  return indicator_embedded_catalogue;
}

int indicator_catalogue_builtin(const struct access_rules *rules,
                                struct indicator_catalogue **out,
                                struct error *err) {
  return indicator_catalogue_load_json(indicator_embedded_catalogue,
                                       indicator_embedded_catalogue_len, rules,
                                       out, err);
}

void indicator_catalogue_free(struct indicator_catalogue *cat) {
  if (cat == NULL)
    return;
  mem_free(cat->measures);
  mem_free(cat->defs);
  json_decref(cat->root);
  mem_free(cat);
}

size_t indicator_count(const struct indicator_catalogue *cat) {
  return cat->ndefs;
}

const struct indicator_def *indicator_at(const struct indicator_catalogue *cat,
                                         size_t i) {
  return i < cat->ndefs ? &cat->defs[i] : NULL;
}

const struct indicator_def *
indicator_find(const struct indicator_catalogue *cat, const char *id) {
  for (size_t i = 0; id != NULL && i < cat->ndefs; i++)
    if (strcmp(cat->defs[i].id, id) == 0)
      return &cat->defs[i];
  return NULL;
}

size_t indicator_measure_count(const struct indicator_catalogue *cat) {
  return cat->nmeasures;
}

const struct indicator_measure *
indicator_measure_at(const struct indicator_catalogue *cat, size_t i) {
  return i < cat->nmeasures ? &cat->measures[i] : NULL;
}

long indicator_measure_find(const struct indicator_catalogue *cat,
                            const char *id) {
  if (id == NULL)
    return -1;
  return measure_index(cat->measures, cat->nmeasures, id);
}

/* ------------------------------------------------------- catalogue JSON */

static json_t *text_json(const struct indicator_text *t) {
  return json_pack("{s:s, s:s, s:s}", "fi", t->fi, "sv", t->sv, "en", t->en);
}

static json_t *terms_json(const struct indicator_catalogue *cat,
                          const size_t *idx, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(cat->measures[idx[i]].id));
  return a;
}

static json_t *formula_json(const struct indicator_catalogue *cat,
                            const struct indicator_def *d) {
  static const char *const den_names[] = {NULL, "population", "days",
                                          "bed_days", "none"};
  json_t *f = json_object();
  if (d->formula == INDICATOR_STATISTIC) {
    json_object_set_new(f, "type", json_string("statistic"));
    json_object_set_new(f, "statistic", json_string(stat_names[d->stat]));
    json_object_set_new(f, "measures", terms_json(cat, d->num, d->nnum));
    if (d->stat == INDICATOR_PERCENTILE)
      json_object_set_new(f, "p", json_real(d->p));
    if (d->stat == INDICATOR_SHARE_WITHIN || d->stat == INDICATOR_COUNT_OVER)
      json_object_set_new(f, "days", json_integer(d->days));
  } else {
    json_object_set_new(f, "type", json_string("ratio"));
    json_object_set_new(f, "numerator", terms_json(cat, d->num, d->nnum));
    if (d->den_kind == INDICATOR_DEN_MEASURES)
      json_object_set_new(f, "denominator", terms_json(cat, d->den, d->nden));
    else
      json_object_set_new(f, "denominator",
                          json_string(den_names[d->den_kind]));
  }
  if (d->formula == INDICATOR_RATIO || d->stat == INDICATOR_SHARE_WITHIN)
    json_object_set_new(f, "factor", json_real(d->factor));
  return f;
}

int indicator_catalogue_json(const struct indicator_catalogue *cat,
                             struct buf *out) {
  json_t *root = json_object(), *arr = json_array();
  char *text;
  int rc;
  for (size_t i = 0; i < cat->ndefs; i++) {
    const struct indicator_def *d = &cat->defs[i];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "name", text_json(&d->name));
    json_object_set_new(o, "description", text_json(&d->description));
    json_object_set_new(o, "unit", json_string(d->unit));
    json_object_set_new(o, "direction",
                        json_string(d->direction == INDICATOR_HIGHER_IS_BETTER
                                        ? "higher_is_better"
                                    : d->direction == INDICATOR_LOWER_IS_BETTER
                                        ? "lower_is_better"
                                        : "neutral"));
    json_object_set_new(o, "target",
                        d->has_target ? json_real(d->target) : json_null());
    json_object_set_new(o, "suppression",
                        json_pack("{s:I, s:b}", "min_n", (json_int_t)d->min_n,
                                  "small_numerator", (int)d->small_numerator));
    json_object_set_new(o, "source", text_json(&d->source));
    json_object_set_new(o, "rule_version", json_string(d->rule_version));
    json_object_set_new(o, "rule_timeline",
                        d->rule_timeline
                            ? json_string(access_service_name(d->rule_service))
                            : json_null());
    json_object_set_new(o, "domain_ref",
                        d->domain_ref != NULL ? json_string(d->domain_ref)
                                              : json_null());
    json_object_set_new(o, "formula", formula_json(cat, d));
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "indicators", arr);
  text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (text == NULL)
    return ERR_NOMEM;
  rc = buf_puts(out, text);
  free(text);
  return rc;
}

/* ================================================================ periods */

static const char *const period_names[INDICATOR__PERIODS] = {
    "day",  "week",     "month",     "quarter",
    "year", "rolling7", "rolling30", "rolling365"};

const char *indicator_period_name(enum indicator_period p) {
  if ((int)p < 0 || p >= INDICATOR__PERIODS)
    return NULL;
  return period_names[p];
}

int indicator_period_parse(const char *name, enum indicator_period *out) {
  for (int i = 0; name != NULL && i < INDICATOR__PERIODS; i++)
    if (strcmp(name, period_names[i]) == 0) {
      *out = (enum indicator_period)i;
      return 0;
    }
  return ERR_NOTFOUND;
}

static int32_t rolling_days(enum indicator_period p) {
  return p == INDICATOR_ROLL7 ? 7 : p == INDICATOR_ROLL30 ? 30 : 365;
}

void indicator_period_bounds(enum indicator_period p, int32_t day,
                             int32_t *first, int32_t *last) {
  int y, m, d, m0;
  chrono_civil_from_days(day, &y, &m, &d);
  switch (p) {
  case INDICATOR_WEEK:
    *first = day - (chrono_weekday(day) - 1);
    *last = *first + 6;
    return;
  case INDICATOR_MONTH:
    *first = chrono_days_from_civil(y, m, 1);
    *last = chrono_days_from_civil(y, m, chrono_days_in_month(y, m));
    return;
  case INDICATOR_QUARTER:
    m0 = (m - 1) / 3 * 3 + 1;
    *first = chrono_days_from_civil(y, m0, 1);
    *last = chrono_days_from_civil(y, m0 + 2, chrono_days_in_month(y, m0 + 2));
    return;
  case INDICATOR_YEAR:
    *first = chrono_days_from_civil(y, 1, 1);
    *last = chrono_days_from_civil(y, 12, 31);
    return;
  case INDICATOR_ROLL7:
  case INDICATOR_ROLL30:
  case INDICATOR_ROLL365:
    *first = day - rolling_days(p) + 1;
    *last = day;
    return;
  case INDICATOR_DAY:
  default:
    *first = *last = day;
    return;
  }
}

/* =================================================================== cube */

struct series {
  int32_t d0, nd;   /* day cells [d0, d0 + nd) */
  int32_t m0, nm;   /* month cells [m0, m0 + nm) */
  int32_t dlo, dhi; /* days ever touched (dlo > dhi: none) */
  int32_t mlo, mhi; /* months ever touched */
  void *day, *mon;  /* int64_t[] (counters) or struct hist_cell[] */
};

/* The measures the feeders write, resolved once (-1 when not declared). */
struct feed_measures {
  long wait_hta[T3__GROUPS], wait_contact[T3__GROUPS];
  long cg_assessed[T3__GROUPS], cg_met[T3__GROUPS], cg_proxy[T3__GROUPS],
      cg_no_rule[T3__GROUPS];
  long t3[T3__GROUPS], t3_unc[T3__GROUPS], t3_inp[T3__GROUPS],
      t3_cens[T3__GROUPS];
  long care_days, delay_days, admissions, los, discharges;
  long transfers_in, transfers_out;
};

struct indicator_cube {
  const struct org *org;
  const struct indicator_catalogue *cat;
  size_t nunits, nmeasures;
  long *parent;          /* parent index, -1 for the root */
  int64_t *population;   /* subtree residents */
  int64_t *beds;         /* subtree ward beds */
  struct series **units; /* per unit: nmeasures series, NULL until touched */
  struct feed_measures fm;
};

static int month_of(int32_t day) {
  int y, m, d;
  chrono_civil_from_days(day, &y, &m, &d);
  return y * 12 + m - 1;
}

static int32_t month_first(int mi) {
  return chrono_days_from_civil(mi / 12, mi % 12 + 1, 1);
}

static int32_t month_last(int mi) {
  int y = mi / 12, m = mi % 12 + 1;
  return chrono_days_from_civil(y, m, chrono_days_in_month(y, m));
}

static size_t cell_size(const struct indicator_cube *c, size_t m) {
  return c->cat->measures[m].kind == INDICATOR_COUNTER
             ? sizeof(int64_t)
             : sizeof(struct hist_cell);
}

/* out[g] = the index of measure prefix + group + suffix, or -1. */
static void resolve_group(const struct indicator_catalogue *cat, long *out,
                          const char *prefix, const char *suffix,
                          bool dental_merged) {
  char name[INDICATOR_ID_MAX + 16];
  for (int g = 0; g < T3__GROUPS; g++) {
    const char *gn = t3_group_name((enum t3_group)g);
    if (dental_merged && (g == T3_DENTIST || g == T3_HYGIENIST))
      gn = "dental";
    snprintf(name, sizeof name, "%s%s%s", prefix, gn, suffix);
    out[g] = indicator_measure_find(cat, name);
  }
}

struct indicator_cube *
indicator_cube_new(const struct org *org,
                   const struct indicator_catalogue *cat) {
  struct indicator_cube *c = mem_calloc(1, sizeof *c);
  size_t n = org_unit_count(org);
  c->org = org;
  c->cat = cat;
  c->nunits = n;
  c->nmeasures = cat->nmeasures;
  c->parent = mem_alloc((n ? n : 1) * sizeof *c->parent);
  c->population = mem_calloc(n ? n : 1, sizeof *c->population);
  c->beds = mem_calloc(n ? n : 1, sizeof *c->beds);
  c->units = mem_calloc(n ? n : 1, sizeof *c->units);
  for (size_t i = 0; i < n; i++) {
    const struct org_unit *u = org_unit_at(org, i);
    c->parent[i] = u->parent_index;
    if (u->type != NULL && strcmp(u->type, "municipality") == 0)
      c->population[i] = u->population;
    if (u->type != NULL && strcmp(u->type, "ward") == 0)
      c->beds[i] = (int64_t)u->nbeds;
  }
  /* depth-first order: children come after their parent */
  for (size_t i = n; i-- > 0;)
    if (c->parent[i] >= 0) {
      c->population[c->parent[i]] += c->population[i];
      c->beds[c->parent[i]] += c->beds[i];
    }
  resolve_group(cat, c->fm.wait_hta, "wait_hta.", "", true);
  resolve_group(cat, c->fm.wait_contact, "wait_contact.", "", true);
  resolve_group(cat, c->fm.cg_assessed, "cg.assessed.", "", true);
  resolve_group(cat, c->fm.cg_met, "cg.met.", "", true);
  resolve_group(cat, c->fm.cg_proxy, "cg.proxy_met.", "", true);
  resolve_group(cat, c->fm.cg_no_rule, "cg.no_rule.", "", true);
  resolve_group(cat, c->fm.t3, "t3.", "", false);
  resolve_group(cat, c->fm.t3_unc, "t3.", ".uncensored", false);
  resolve_group(cat, c->fm.t3_inp, "t3.", ".in_person", false);
  resolve_group(cat, c->fm.t3_cens, "t3.", ".censored", false);
  c->fm.care_days = indicator_measure_find(cat, "ward.care_days");
  c->fm.delay_days = indicator_measure_find(cat, "ward.delay_days");
  c->fm.admissions = indicator_measure_find(cat, "ward.admissions");
  c->fm.los = indicator_measure_find(cat, "ward.los");
  c->fm.discharges = indicator_measure_find(cat, "ward.discharges");
  c->fm.transfers_in = indicator_measure_find(cat, "ward.transfers_in");
  c->fm.transfers_out = indicator_measure_find(cat, "ward.transfers_out");
  return c;
}

static void series_release(const struct indicator_cube *c, size_t m,
                           struct series *s) {
  if (c->cat->measures[m].kind == INDICATOR_HISTOGRAM) {
    struct hist_cell *d = s->day, *mo = s->mon;
    for (int32_t i = 0; i < s->nd; i++)
      hist_cell_release(&d[i]);
    for (int32_t i = 0; i < s->nm; i++)
      hist_cell_release(&mo[i]);
  }
  mem_free(s->day);
  mem_free(s->mon);
}

void indicator_cube_free(struct indicator_cube *c) {
  if (c == NULL)
    return;
  for (size_t u = 0; u < c->nunits; u++) {
    if (c->units[u] == NULL)
      continue;
    for (size_t m = 0; m < c->nmeasures; m++)
      series_release(c, m, &c->units[u][m]);
    mem_free(c->units[u]);
  }
  mem_free(c->units);
  mem_free(c->parent);
  mem_free(c->population);
  mem_free(c->beds);
  mem_free(c);
}

int64_t indicator_cube_population(const struct indicator_cube *c, size_t unit) {
  return unit < c->nunits ? c->population[unit] : 0;
}

int64_t indicator_cube_beds(const struct indicator_cube *c, size_t unit) {
  return unit < c->nunits ? c->beds[unit] : 0;
}

/* Makes cells [*b0, *b0 + *n) cover index 'idx' within [lo, hi]. The
 * indexes ever touched, [*tlo, *thi] (empty when *tlo > *thi), may span at
 * most 'maxspan': that, and only that, is checked, so whether a
 * contribution is accepted depends on the days the series was fed, never
 * on how its arrays happened to grow. The arrays grow with a margin at the
 * side that grows, never beyond maxspan from a touched index, so they stay
 * under twice maxspan. New cells are zero (an empty hist_cell is all
 * zero). 0 or ERR_RANGE (nothing changed). */
static int reserve(void **arr, int32_t *b0, int32_t *n, int32_t *tlo,
                   int32_t *thi, size_t esz, int32_t idx, int32_t lo,
                   int32_t hi, int32_t maxspan, int32_t min_margin) {
  int32_t nlo, nhi, margin, ntlo, nthi;
  char *a;
  ntlo = *tlo <= *thi && *tlo < idx ? *tlo : idx;
  nthi = *tlo <= *thi && *thi > idx ? *thi : idx;
  if (nthi - ntlo + 1 > maxspan)
    return ERR_RANGE;
  *tlo = ntlo;
  *thi = nthi;
  if (*n > 0 && idx >= *b0 && idx < *b0 + *n)
    return 0;
  margin = *n / 4 > min_margin ? *n / 4 : min_margin;
  if (*n == 0) {
    nlo = idx - min_margin / 4;
    nhi = idx + min_margin;
  } else if (idx < *b0) {
    nlo = idx - margin;
    nhi = *b0 + *n - 1;
  } else {
    nlo = *b0;
    nhi = idx + margin;
  }
  /* no margin beyond what could still be touched (idx itself is within:
   * nthi - maxspan + 1 <= ntlo <= idx <= nthi <= ntlo + maxspan - 1) */
  if (nlo < nthi - maxspan + 1)
    nlo = nthi - maxspan + 1;
  if (nhi > ntlo + maxspan - 1)
    nhi = ntlo + maxspan - 1;
  if (*n > 0 && nlo > *b0)
    nlo = *b0;
  if (*n > 0 && nhi < *b0 + *n - 1)
    nhi = *b0 + *n - 1;
  if (nlo < lo)
    nlo = lo;
  if (nhi > hi)
    nhi = hi;
  a = mem_calloc((size_t)(nhi - nlo + 1), esz);
  if (*n > 0)
    memcpy(a + (size_t)(*b0 - nlo) * esz, *arr, (size_t)*n * esz);
  mem_free(*arr);
  *arr = a;
  *b0 = nlo;
  *n = nhi - nlo + 1;
  return 0;
}

static struct series *series_get(struct indicator_cube *c, size_t unit,
                                 size_t m) {
  if (c->units[unit] == NULL) {
    c->units[unit] = mem_calloc(c->nmeasures, sizeof(struct series));
    for (size_t i = 0; i < c->nmeasures; i++) {
      c->units[unit][i].dlo = c->units[unit][i].mlo = 1;
      c->units[unit][i].dhi = c->units[unit][i].mhi = 0;
    }
  }
  return &c->units[unit][m];
}

static const struct series *series_peek(const struct indicator_cube *c,
                                        size_t unit, size_t m) {
  return c->units[unit] == NULL ? NULL : &c->units[unit][m];
}

static int series_reserve(struct indicator_cube *c, size_t unit, size_t m,
                          int32_t day, int month) {
  struct series *s = series_get(c, unit, m);
  size_t esz = cell_size(c, m);
  int rc = reserve(&s->day, &s->d0, &s->nd, &s->dlo, &s->dhi, esz, day,
                   INDICATOR_DAY_MIN, INDICATOR_DAY_MAX,
                   INDICATOR_MAX_SPAN_DAYS, 64);
  /* a day span within the limit always has a month span within it */
  if (rc == 0)
    rc = reserve(&s->mon, &s->m0, &s->nm, &s->mlo, &s->mhi, esz, month,
                 MONTH_MIN, MONTH_MAX, MAX_SPAN_MONTHS, 4);
  return rc;
}

static struct hist_cell *hcell(const struct series *s, bool month,
                               int32_t idx) {
  struct hist_cell *a;
  int32_t b0, n;
  if (s == NULL)
    return NULL;
  a = month ? s->mon : s->day;
  b0 = month ? s->m0 : s->d0;
  n = month ? s->nm : s->nd;
  if (n == 0 || idx < b0 || idx >= b0 + n)
    return NULL;
  return &a[idx - b0];
}

static int64_t *ccell(const struct series *s, bool month, int32_t idx) {
  int64_t *a = month ? s->mon : s->day;
  int32_t b0 = month ? s->m0 : s->d0, n = month ? s->nm : s->nd;
  if (n == 0 || idx < b0 || idx >= b0 + n)
    return NULL;
  return &a[idx - b0];
}

/* One change: a counter delta (count unused) or 'count' x 'value'. */
struct op {
  long m;
  int64_t value;
  int64_t count;
};

/* Applies ops[0..n) for 'unit' and 'day' to the unit and its ancestors, or
 * nothing: everything is reserved and checked first. Ops with m < 0 are
 * skipped. Within one call no two ops may name the same measure. */
static int apply_ops(struct indicator_cube *c, size_t unit, int32_t day,
                     const struct op *ops, size_t n) {
  int month;
  size_t root = 0;
  if (unit >= c->nunits || day < INDICATOR_DAY_MIN || day > INDICATOR_DAY_MAX)
    return ERR_RANGE;
  month = month_of(day);
  for (size_t i = 0; i < n; i++) {
    const struct indicator_measure *ms;
    if (ops[i].m < 0)
      continue;
    if ((size_t)ops[i].m >= c->nmeasures)
      return ERR_RANGE;
    ms = &c->cat->measures[ops[i].m];
    if (ms->kind == INDICATOR_HISTOGRAM &&
        (ops[i].value < 0 || ops[i].value > HIST_MAX_VALUE ||
         ops[i].count < -HIST_MAX_COUNT || ops[i].count > HIST_MAX_COUNT))
      return ERR_RANGE;
  }
  /* 1. no series may come to span too many days (checked before any
   * change, so a refusal leaves even the touched ranges alone) */
  for (long a = (long)unit; a >= 0; a = c->parent[a])
    for (size_t i = 0; i < n; i++) {
      const struct series *s;
      if (ops[i].m < 0)
        continue;
      s = series_peek(c, (size_t)a, (size_t)ops[i].m);
      if (s != NULL && s->dlo <= s->dhi &&
          ((int64_t)(day > s->dhi ? day : s->dhi) -
               (day < s->dlo ? day : s->dlo) + 1 >
           INDICATOR_MAX_SPAN_DAYS))
        return ERR_RANGE;
    }
  /* 2. histogram counts stay within 0..UINT32_MAX: the unit's day cell
   * holds the fewest of any cell touched, the root's month cell the most
   * (a cell not yet allocated is empty) */
  for (long a = (long)unit; a >= 0; a = c->parent[a])
    root = (size_t)a;
  for (size_t i = 0; i < n; i++) {
    static const struct hist_cell empty;
    const struct indicator_measure *ms;
    const struct hist_cell *cell;
    if (ops[i].m < 0)
      continue;
    ms = &c->cat->measures[ops[i].m];
    if (ms->kind != INDICATOR_HISTOGRAM)
      continue;
    cell = ops[i].count < 0
               ? hcell(series_peek(c, unit, (size_t)ops[i].m), false, day)
               : hcell(series_peek(c, root, (size_t)ops[i].m), true, month);
    if (!hist_cell_can_add(cell != NULL ? cell : &empty, ms->bins, ops[i].value,
                           ops[i].count))
      return ops[i].count < 0 ? ERR_STATE : ERR_RANGE;
  }
  /* 3. room in every cell to touch (growth changes no figure) */
  for (long a = (long)unit; a >= 0; a = c->parent[a]) {
    for (size_t i = 0; i < n; i++) {
      int rc;
      if (ops[i].m < 0)
        continue;
      rc = series_reserve(c, (size_t)a, (size_t)ops[i].m, day, month);
      if (NEVER(rc != 0)) /* step 1 checked the spans */
        return rc;
    }
  }
  /* 4. apply */
  for (long a = (long)unit; a >= 0; a = c->parent[a]) {
    for (size_t i = 0; i < n; i++) {
      const struct indicator_measure *ms;
      const struct series *s;
      if (ops[i].m < 0)
        continue;
      ms = &c->cat->measures[ops[i].m];
      s = series_peek(c, (size_t)a, (size_t)ops[i].m);
      if (ms->kind == INDICATOR_COUNTER) {
        *ccell(s, false, day) += ops[i].value;
        *ccell(s, true, month) += ops[i].value;
      } else {
        int r1 = hist_cell_add(hcell(s, false, day), ms->bins, ops[i].value,
                               ops[i].count);
        int r2 = hist_cell_add(hcell(s, true, month), ms->bins, ops[i].value,
                               ops[i].count);
        (void)ALWAYS(r1 == 0 && r2 == 0);
      }
    }
  }
  return 0;
}

int indicator_cube_add_count(struct indicator_cube *c, size_t unit, int32_t day,
                             size_t measure, int64_t delta) {
  struct op op = {(long)measure, delta, 0};
  if (measure >= c->nmeasures)
    return ERR_RANGE;
  if (c->cat->measures[measure].kind != INDICATOR_COUNTER)
    return ERR_INVAL;
  return apply_ops(c, unit, day, &op, 1);
}

int indicator_cube_add_value(struct indicator_cube *c, size_t unit, int32_t day,
                             size_t measure, int64_t value, int64_t count) {
  struct op op = {(long)measure, value, count};
  if (measure >= c->nmeasures)
    return ERR_RANGE;
  if (c->cat->measures[measure].kind != INDICATOR_HISTOGRAM)
    return ERR_INVAL;
  return apply_ops(c, unit, day, &op, 1);
}

/* ---------------------------------------------------------------- reads */

/* A day range split into whole months and the days around them:
 * days [d1a, d1b], months [ma, mb], days [d2a, d2b] (empty when a > b). */
struct plan {
  int32_t d1a, d1b;
  int ma, mb;
  int32_t d2a, d2b;
};

static void make_plan(int32_t from, int32_t to, struct plan *p) {
  int mf = month_of(from), mt = month_of(to);
  int fm = month_first(mf) == from ? mf : mf + 1;
  int lm = month_last(mt) == to ? mt : mt - 1;
  if (fm > lm) {
    p->d1a = from;
    p->d1b = to;
    p->ma = 1;
    p->mb = 0;
    p->d2a = 1;
    p->d2b = 0;
    return;
  }
  p->d1a = from;
  p->d1b = month_first(fm) - 1;
  p->ma = fm;
  p->mb = lm;
  p->d2a = month_last(lm) + 1;
  p->d2b = to;
}

/* Clips [a, b] to the cells [b0, b0 + n); false when empty. */
static bool clip(int32_t *a, int32_t *b, int32_t b0, int32_t n) {
  if (n == 0)
    return false;
  if (*a < b0)
    *a = b0;
  if (*b > b0 + n - 1)
    *b = b0 + n - 1;
  return *a <= *b;
}

static int64_t sum_range(const struct indicator_cube *c, const struct series *s,
                         size_t m, bool month, int32_t a, int32_t b) {
  int64_t sum = 0;
  int32_t b0 = month ? s->m0 : s->d0, n = month ? s->nm : s->nd;
  if (!clip(&a, &b, b0, n))
    return 0;
  if (c->cat->measures[m].kind == INDICATOR_COUNTER) {
    const int64_t *arr = month ? s->mon : s->day;
    for (int32_t i = a; i <= b; i++)
      sum += arr[i - b0];
  } else {
    const struct hist_cell *arr = month ? s->mon : s->day;
    for (int32_t i = a; i <= b; i++)
      sum += arr[i - b0].n;
  }
  return sum;
}

static void merge_range(const struct series *s, bool month, int32_t a,
                        int32_t b, struct hist *acc) {
  const struct hist_cell *arr = month ? s->mon : s->day;
  int32_t b0 = month ? s->m0 : s->d0, n = month ? s->nm : s->nd;
  if (!clip(&a, &b, b0, n))
    return;
  for (int32_t i = a; i <= b; i++)
    hist_merge_cell(acc, &arr[i - b0]);
}

static int64_t sum_plan(const struct indicator_cube *c, size_t unit, size_t m,
                        const struct plan *p) {
  const struct series *s = series_peek(c, unit, m);
  if (s == NULL)
    return 0;
  return sum_range(c, s, m, false, p->d1a, p->d1b) +
         sum_range(c, s, m, true, p->ma, p->mb) +
         sum_range(c, s, m, false, p->d2a, p->d2b);
}

static void merge_plan(const struct indicator_cube *c, size_t unit, size_t m,
                       const struct plan *p, struct hist *acc) {
  const struct series *s = series_peek(c, unit, m);
  if (s == NULL)
    return;
  merge_range(s, false, p->d1a, p->d1b, acc);
  merge_range(s, true, p->ma, p->mb, acc);
  merge_range(s, false, p->d2a, p->d2b, acc);
}

int indicator_cube_sum(const struct indicator_cube *c, size_t unit,
                       size_t measure, int32_t from, int32_t to, int64_t *out) {
  struct plan p;
  if (unit >= c->nunits || measure >= c->nmeasures || from > to)
    return ERR_RANGE;
  make_plan(from, to, &p);
  *out = sum_plan(c, unit, measure, &p);
  return 0;
}

int indicator_cube_hist(const struct indicator_cube *c, size_t unit,
                        size_t measure, int32_t from, int32_t to,
                        struct hist *acc) {
  struct plan p;
  if (unit >= c->nunits || measure >= c->nmeasures || from > to)
    return ERR_RANGE;
  if (c->cat->measures[measure].kind != INDICATOR_HISTOGRAM ||
      acc->nbins != c->cat->measures[measure].bins)
    return ERR_INVAL;
  make_plan(from, to, &p);
  merge_plan(c, unit, measure, &p, acc);
  return 0;
}

/* Cells of two series equal over the union of their ranges. */
static bool series_equal(const struct indicator_cube *c, size_t m,
                         const struct series *a, const struct series *b) {
  static const struct series empty;
  bool hist = c->cat->measures[m].kind == INDICATOR_HISTOGRAM;
  static const struct hist_cell zero_cell;
  if (a == NULL)
    a = &empty;
  if (b == NULL)
    b = &empty;
  for (int month = 0; month < 2; month++) {
    int32_t a0 = month ? a->m0 : a->d0, an = month ? a->nm : a->nd;
    int32_t b0 = month ? b->m0 : b->d0, bn = month ? b->nm : b->nd;
    int32_t lo, hi;
    if (an == 0 && bn == 0)
      continue;
    lo = an == 0 ? b0 : bn == 0 ? a0 : (a0 < b0 ? a0 : b0);
    hi = an == 0   ? b0 + bn
         : bn == 0 ? a0 + an
                   : (a0 + an > b0 + bn ? a0 + an : b0 + bn);
    for (int32_t i = lo; i < hi; i++) {
      if (hist) {
        const struct hist_cell *x = hcell(a, month, i), *y = hcell(b, month, i);
        if (!hist_cell_equal(x ? x : &zero_cell, y ? y : &zero_cell))
          return false;
      } else {
        const int64_t *x = ccell(a, month, i), *y = ccell(b, month, i);
        if ((x ? *x : 0) != (y ? *y : 0))
          return false;
      }
    }
  }
  return true;
}

bool indicator_cube_equal(const struct indicator_cube *a,
                          const struct indicator_cube *b) {
  if (a->nunits != b->nunits || a->nmeasures != b->nmeasures)
    return false;
  for (size_t m = 0; m < a->nmeasures; m++) {
    const struct indicator_measure *x = &a->cat->measures[m],
                                   *y = &b->cat->measures[m];
    if (x->kind != y->kind || x->bins != y->bins || strcmp(x->id, y->id) != 0)
      return false;
  }
  for (size_t u = 0; u < a->nunits; u++)
    for (size_t m = 0; m < a->nmeasures; m++)
      if (!series_equal(a, m, series_peek(a, u, m), series_peek(b, u, m)))
        return false;
  return true;
}

size_t indicator_cube_memory(const struct indicator_cube *c) {
  size_t total = sizeof *c + c->nunits * (sizeof(long) + 2 * sizeof(int64_t) +
                                          sizeof(struct series *));
  for (size_t u = 0; u < c->nunits; u++) {
    if (c->units[u] == NULL)
      continue;
    total += c->nmeasures * sizeof(struct series);
    for (size_t m = 0; m < c->nmeasures; m++) {
      const struct series *s = &c->units[u][m];
      total += ((size_t)s->nd + (size_t)s->nm) * cell_size(c, m);
      if (c->cat->measures[m].kind == INDICATOR_HISTOGRAM) {
        const struct hist_cell *d = s->day, *mo = s->mon;
        for (int32_t i = 0; i < s->nd; i++)
          total += hist_cell_bytes(&d[i]);
        for (int32_t i = 0; i < s->nm; i++)
          total += hist_cell_bytes(&mo[i]);
      }
    }
  }
  return total;
}

/* ============================================================ evaluation */

/* Accumulated state of one indicator over some days. */
struct eval {
  const struct indicator_cube *c;
  const struct indicator_def *d;
  struct hist h; /* statistics */
  int64_t num, den;
};

static void eval_init(struct eval *e, const struct indicator_cube *c,
                      const struct indicator_def *d) {
  memset(e, 0, sizeof *e);
  e->c = c;
  e->d = d;
  if (d->formula == INDICATOR_STATISTIC) {
    int rc = hist_init(&e->h, c->cat->measures[d->num[0]].bins);
    (void)ALWAYS(rc == 0);
  }
}

static void eval_release(struct eval *e) { hist_release(&e->h); }

static void eval_reset(struct eval *e) {
  if (e->d->formula == INDICATOR_STATISTIC)
    hist_reset(&e->h);
  e->num = e->den = 0;
}

static void eval_plan(struct eval *e, size_t unit, const struct plan *p) {
  const struct indicator_def *d = e->d;
  if (d->formula == INDICATOR_STATISTIC) {
    for (size_t i = 0; i < d->nnum; i++)
      merge_plan(e->c, unit, d->num[i], p, &e->h);
    return;
  }
  for (size_t i = 0; i < d->nnum; i++)
    e->num += sum_plan(e->c, unit, d->num[i], p);
  if (d->den_kind == INDICATOR_DEN_MEASURES)
    for (size_t i = 0; i < d->nden; i++)
      e->den += sum_plan(e->c, unit, d->den[i], p);
}

/* Adds (sign +1) or subtracts (-1) one day's cells. */
static void eval_day(struct eval *e, size_t unit, int32_t day, int sign) {
  const struct indicator_def *d = e->d;
  if (d->formula == INDICATOR_STATISTIC) {
    for (size_t i = 0; i < d->nnum; i++) {
      const struct series *s = series_peek(e->c, unit, d->num[i]);
      const struct hist_cell *cell = s ? hcell(s, false, day) : NULL;
      if (cell == NULL)
        continue;
      if (sign > 0) {
        hist_merge_cell(&e->h, cell);
      } else {
        int rc = hist_subtract_cell(&e->h, cell);
        (void)ALWAYS(rc == 0);
      }
    }
    return;
  }
  for (size_t i = 0; i < d->nnum; i++) {
    const struct series *s = series_peek(e->c, unit, d->num[i]);
    if (s != NULL)
      e->num += sign * sum_range(e->c, s, d->num[i], false, day, day);
  }
  if (d->den_kind == INDICATOR_DEN_MEASURES)
    for (size_t i = 0; i < d->nden; i++) {
      const struct series *s = series_peek(e->c, unit, d->den[i]);
      if (s != NULL)
        e->den += sign * sum_range(e->c, s, d->den[i], false, day, day);
    }
}

/* Turns the accumulated state into a point for days from..to. */
static void eval_finish(const struct eval *e, size_t unit, int32_t from,
                        int32_t to, struct indicator_point *pt) {
  const struct indicator_def *d = e->d;
  const struct indicator_cube *c = e->c;
  int64_t n = 0, numcount = -1; /* -1: no numerator count to protect */
  int64_t days = (int64_t)to - from + 1;
  bool has = false, capped = false;
  double v = 0;
  memset(pt, 0, sizeof *pt);
  pt->from = from;
  pt->to = to;
  if (d->formula == INDICATOR_STATISTIC) {
    const struct hist *h = &e->h;
    int64_t k = 0;
    int rc = 0;
    n = h->n;
    has = n > 0;
    if (has) {
      switch (d->stat) {
      case INDICATOR_MEDIAN:
        rc = hist_median(h, &v, &capped);
        break;
      case INDICATOR_PERCENTILE:
        rc = hist_percentile(h, d->p, &k, &capped);
        v = (double)k;
        break;
      case INDICATOR_MEAN:
        rc = hist_mean(h, &v); /* exact: the sum includes the open bin */
        break;
      case INDICATOR_SHARE_WITHIN:
        rc = hist_count_within(h, d->days, &k);
        v = (double)k / (double)n * d->factor;
        numcount = k;
        break;
      case INDICATOR_COUNT_OVER:
        rc = hist_count_over(h, d->days, &k);
        v = (double)k;
        numcount = k;
        break;
      case INDICATOR_COUNT:
      default:
        v = (double)n;
        numcount = n;
        break;
      }
      /* days < bins is checked at load, so the statistics cannot fail */
      (void)ALWAYS(rc == 0);
    }
  } else {
    int64_t den = 0;
    numcount = e->num;
    switch (d->den_kind) {
    case INDICATOR_DEN_MEASURES:
      den = e->den;
      n = den;
      break;
    case INDICATOR_DEN_POPULATION:
      den = c->population[unit];
      n = e->num;
      break;
    case INDICATOR_DEN_DAYS:
      den = days;
      n = e->num;
      break;
    case INDICATOR_DEN_BED_DAYS:
      den = c->beds[unit] * days;
      n = e->num;
      break;
    case INDICATOR_DEN_NONE:
    default:
      den = 1;
      n = e->num;
      break;
    }
    has = den > 0;
    if (has)
      v = d->den_kind == INDICATOR_DEN_NONE
              ? (double)e->num * d->factor
              : (double)e->num / (double)den * d->factor;
  }
  if (d->rule_timeline)
    pt->rule_version = access_rules_version(c->cat->rules, d->rule_service,
                                            from, to, &pt->rule_changed);
  else
    pt->rule_version = d->rule_version;
  if (!has)
    return;
  if (d->min_n > 0 &&
      ((n > 0 && n < d->min_n) ||
       (d->small_numerator && numcount > 0 && numcount < d->min_n))) {
    pt->suppressed = true;
    return;
  }
  pt->has_value = true;
  pt->value = v;
  pt->capped = capped;
  pt->n = n;
}

int indicator_value(const struct indicator_cube *c,
                    const struct indicator_def *def, size_t unit, int32_t from,
                    int32_t to, struct indicator_point *out,
                    struct error *err) {
  struct eval e;
  struct plan p;
  if (unit >= c->nunits)
    return error_set(err, ERR_RANGE, "unit index %zu out of range", unit);
  if (from > to)
    return error_set(err, ERR_RANGE, "period starts after it ends");
  eval_init(&e, c, def);
  make_plan(from, to, &p);
  eval_plan(&e, unit, &p);
  eval_finish(&e, unit, from, to, out);
  eval_release(&e);
  return 0;
}

int indicator_series(const struct indicator_cube *c,
                     const struct indicator_def *def, size_t unit, int32_t from,
                     int32_t to, enum indicator_period period,
                     struct indicator_point **out, size_t *count,
                     struct error *err) {
  struct indicator_point *pts = NULL;
  struct eval e;
  struct plan p;
  size_t n = 0;
  if (unit >= c->nunits)
    return error_set(err, ERR_RANGE, "unit index %zu out of range", unit);
  if ((int)period < 0 || period >= INDICATOR__PERIODS)
    return error_set(err, ERR_RANGE, "unknown period");
  if (from > to || from < INDICATOR_DAY_MIN || to > INDICATOR_DAY_MAX)
    return error_set(err, ERR_RANGE, "bad date range");
  if (period >= INDICATOR_ROLL7) {
    int32_t w = rolling_days(period);
    if ((int64_t)to - from + 1 > INDICATOR_MAX_POINTS)
      return error_set(err, ERR_TOOBIG, "more than %d points",
                       INDICATOR_MAX_POINTS);
    n = (size_t)(to - from + 1);
    pts = mem_alloc(n * sizeof *pts);
    eval_init(&e, c, def);
    make_plan(from - w + 1, from, &p);
    eval_plan(&e, unit, &p);
    eval_finish(&e, unit, from - w + 1, from, &pts[0]);
    for (int32_t d = from + 1; d <= to; d++) {
      eval_day(&e, unit, d, +1);
      eval_day(&e, unit, d - w, -1);
      eval_finish(&e, unit, d - w + 1, d, &pts[d - from]);
    }
    eval_release(&e);
  } else {
    int32_t a, b, cur = from;
    /* count first, so one allocation holds the series */
    for (;;) {
      indicator_period_bounds(period, cur, &a, &b);
      if (a > to)
        break;
      if (++n > INDICATOR_MAX_POINTS)
        return error_set(err, ERR_TOOBIG, "more than %d points",
                         INDICATOR_MAX_POINTS);
      cur = b + 1;
    }
    pts = mem_alloc(n * sizeof *pts);
    eval_init(&e, c, def);
    cur = from;
    for (size_t i = 0; i < n; i++) {
      indicator_period_bounds(period, cur, &a, &b);
      eval_reset(&e);
      make_plan(a, b, &p);
      eval_plan(&e, unit, &p);
      eval_finish(&e, unit, a, b, &pts[i]);
      cur = b + 1;
    }
    eval_release(&e);
  }
  *out = pts;
  *count = n;
  return 0;
}

/* ================================================================ feeders */

static long pick(const long *by_group, enum t3_group g) {
  if ((int)g < 0 || g >= T3__GROUPS)
    return -1;
  return by_group[g];
}

int indicator_feed_visit(struct indicator_cube *c, size_t unit, enum t3_group g,
                         const struct access_visit *v,
                         const struct access_result *res, int sign) {
  struct op ops[6];
  size_t n = 0;
  bool urgent = (v->flags & ACCESS_URGENT) != 0;
  if (sign != 1 && sign != -1)
    return ERR_INVAL;
  if ((int)g < 0 || g >= T3__GROUPS)
    return ERR_RANGE;
  if (!urgent && v->hta_date != ACCESS_NO_DATE && res->wait_days >= 0)
    ops[n++] = (struct op){pick(c->fm.wait_hta, g), res->wait_days, sign};
  if (!urgent && v->contact_date != ACCESS_NO_DATE &&
      res->wait_contact_days >= 0)
    ops[n++] =
        (struct op){pick(c->fm.wait_contact, g), res->wait_contact_days, sign};
  if (res->verdict == ACCESS_MET || res->verdict == ACCESS_MISSED) {
    ops[n++] = (struct op){pick(c->fm.cg_assessed, g), sign, 0};
    if (res->verdict == ACCESS_MET)
      ops[n++] = (struct op){pick(c->fm.cg_met, g), sign, 0};
    if (res->proxy_met)
      ops[n++] = (struct op){pick(c->fm.cg_proxy, g), sign, 0};
  } else if (res->verdict == ACCESS_NO_RULE) {
    ops[n++] = (struct op){pick(c->fm.cg_no_rule, g), sign, 0};
  }
  return apply_ops(c, unit, v->visit_date, ops, n);
}

int indicator_feed_t3(struct indicator_cube *c, size_t unit, int32_t day,
                      enum t3_group g, const struct t3_value *with_remote,
                      const struct t3_value *in_person, int sign) {
  struct op ops[4];
  size_t n = 0;
  if (sign != 1 && sign != -1)
    return ERR_INVAL;
  if ((int)g < 0 || g >= T3__GROUPS || with_remote == NULL)
    return ERR_RANGE;
  ops[n++] = (struct op){c->fm.t3[g], with_remote->days, sign};
  if (!with_remote->censored)
    ops[n++] = (struct op){c->fm.t3_unc[g], with_remote->days, sign};
  else
    ops[n++] = (struct op){c->fm.t3_cens[g], sign, 0};
  if (in_person != NULL)
    ops[n++] = (struct op){c->fm.t3_inp[g], in_person->days, sign};
  return apply_ops(c, unit, day, ops, n);
}

int indicator_feed_ward_day(struct indicator_cube *c, size_t unit, int32_t day,
                            int64_t census, int64_t ready, int64_t admissions,
                            int sign) {
  struct op ops[3] = {
      {census != 0 ? c->fm.care_days : -1, sign * census, 0},
      {ready != 0 ? c->fm.delay_days : -1, sign * ready, 0},
      {admissions != 0 ? c->fm.admissions : -1, sign * admissions, 0},
  };
  if (sign != 1 && sign != -1)
    return ERR_INVAL;
  return apply_ops(c, unit, day, ops, ARRAY_LEN(ops));
}

int indicator_feed_transfers(struct indicator_cube *c, size_t unit, int32_t day,
                             int64_t in, int64_t out) {
  struct op ops[2] = {
      {in != 0 ? c->fm.transfers_in : -1, in, 0},
      {out != 0 ? c->fm.transfers_out : -1, out, 0},
  };
  return apply_ops(c, unit, day, ops, ARRAY_LEN(ops));
}

int indicator_feed_discharge(struct indicator_cube *c, size_t unit, int32_t day,
                             int32_t los_days, int sign) {
  struct op ops[2] = {
      {c->fm.los, los_days, sign},
      {c->fm.discharges, sign, 0},
  };
  if (sign != 1 && sign != -1)
    return ERR_INVAL;
  return apply_ops(c, unit, day, ops, ARRAY_LEN(ops));
}
