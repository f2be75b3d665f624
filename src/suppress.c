/* suppress.c -- small-cell suppression of aggregate outputs (suppress.h).
 *
 * Design: the predicates are arithmetic on what a reader can know. The flow
 * rewrite parses the flow JSON with jansson, decides everything from the
 * original values first (margins, then every breakdown against its margin),
 * and only then edits the tree, so that no decision depends on an earlier
 * edit.
 *
 * Invariants:
 *  1. every value set to null here is listed in exactly one of its object's
 *     "suppressed" or "withheld" arrays (an array cell: its array's key);
 *  2. a breakdown is either shown with its small cells suppressed and the
 *     suppressed cells' known sum safe (suppress_set_safe), or withheld
 *     whole.
 *
 * Thread safety: reentrant; no shared state. */
#include "suppress.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

bool suppress_small(int64_t count) {
  return count >= 1 && count < SUPPRESS_MIN;
}

bool suppress_set_safe(int64_t k, int64_t sum) {
  if (k == 0)
    return true;
  return k >= 2 && sum >= SUPPRESS_MIN && sum > k &&
         sum < (int64_t)(SUPPRESS_MIN - 1) * k;
}

bool suppress_set_safe_hidden_sum(int64_t k) { return k < SUPPRESS_MIN - 1; }

/* ---- marking ------------------------------------------------------------ */

/* The object's "suppressed" and "withheld" arrays, created (empty) when
 * missing. */
static json_t *marks(json_t *obj, const char *which) {
  json_t *a = json_object_get(obj, which);
  if (!json_is_array(a)) {
    a = json_array();
    json_object_set_new(obj, which, a);
  }
  return a;
}

static void ensure_marks(json_t *obj) {
  (void)marks(obj, "suppressed");
  (void)marks(obj, "withheld");
}

static bool listed(json_t *arr, const char *key) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), key) == 0)
      return true;
  }
  return false;
}

static void unlist(json_t *arr, const char *key) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), key) == 0) {
      json_array_remove(arr, i);
      return;
    }
  }
}

static void list(json_t *arr, const char *key) {
  if (!listed(arr, key))
    json_array_append_new(arr, json_string(key));
}

/* Sets obj.key to null as suppressed (a small count). */
static void suppress_key(json_t *obj, const char *key) {
  json_object_set_new(obj, key, json_null());
  if (!listed(marks(obj, "withheld"), key))
    list(marks(obj, "suppressed"), key);
}

/* Sets obj.key to null as withheld (would reveal a suppressed count). */
static void withhold_key(json_t *obj, const char *key) {
  if (json_object_get(obj, key) == NULL)
    return;
  json_object_set_new(obj, key, json_null());
  unlist(marks(obj, "suppressed"), key);
  list(marks(obj, "withheld"), key);
}

/* ---- reading ------------------------------------------------------------ */

/* A count: true with *v when obj.key is an integer. */
static bool count_of(json_t *obj, const char *key, int64_t *v) {
  json_t *j = json_object_get(obj, key);
  if (!json_is_integer(j))
    return false;
  *v = (int64_t)json_integer_value(j);
  return true;
}

static bool small_at(json_t *obj, const char *key) {
  int64_t v;
  return count_of(obj, key, &v) && suppress_small(v);
}

/* A margin: its value and whether it will be suppressed. */
struct margin {
  bool known;
  bool hidden;
  int64_t value;
};

static struct margin margin_of(json_t *obj, const char *key) {
  struct margin m = {false, false, 0};
  if (obj != NULL && count_of(obj, key, &m.value)) {
    m.known = true;
    m.hidden = suppress_small(m.value);
  }
  return m;
}

/* Adds the small cells among 'n' values to (k, sum). */
struct cells {
  int64_t k, sum;
};

static void add_cell(struct cells *c, json_t *v) {
  if (json_is_integer(v) && suppress_small((int64_t)json_integer_value(v))) {
    c->k++;
    c->sum += (int64_t)json_integer_value(v);
  }
}

/* True when the breakdown 'c' of margin 'm' may be shown. A margin that is
 * not a number (unknown) reveals nothing. */
static bool breakdown_safe(const struct margin *m, const struct cells *c) {
  if (!m->known)
    return true;
  if (m->hidden)
    return suppress_set_safe_hidden_sum(c->k);
  return suppress_set_safe(c->k, c->sum);
}

static bool array_safe(json_t *arr, const struct margin *m) {
  struct cells c = {0, 0};
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) add_cell(&c, v);
  return breakdown_safe(m, &c);
}

/* Suppresses the small cells of obj.key (an array), or withholds it whole
 * when 'safe' is false. */
static void apply_array(json_t *obj, const char *key, bool safe) {
  json_t *arr = json_object_get(obj, key);
  bool any = false;
  size_t i;
  json_t *v;
  if (!json_is_array(arr))
    return;
  if (!safe) {
    withhold_key(obj, key);
    return;
  }
  json_array_foreach(arr, i, v) {
    if (json_is_integer(v) && suppress_small((int64_t)json_integer_value(v))) {
      json_array_set_new(arr, i, json_null());
      any = true;
    }
  }
  if (any)
    list(marks(obj, "suppressed"), key);
}

/* ---- the flow ----------------------------------------------------------- */

/* Series columns and the margins they break down. */
static const struct {
  const char *column; /* key in each series day */
  const char *margin; /* top-level key */
} series_cols[] = {
    {"admissions", "admissions"},
    {"transfers_in", "transfers_in"},
    {"transfers_out", "transfers_out"},
    {"discharges", "discharges"},
    {"transfer_delay", "transfer_delay_days"},
};

/* Top-level arrays and their margins. */
static const struct {
  const char *array, *margin;
} flow_arrays[] = {
    {"admissions_by_hour", "admissions"},
    {"discharges_by_hour", "discharges"},
    {"admissions_by_weekday", "admissions"},
    {"discharges_by_weekday", "discharges"},
};

static const char *const flow_counts[] = {
    "admissions", "transfers_in",        "transfers_out",
    "discharges", "transfer_delay_days",
};

/* The census column over the series' last 'days' entries (0: all). */
static bool census_safe(json_t *series, size_t days, const struct margin *m) {
  struct cells c = {0, 0};
  size_t n = json_array_size(series);
  for (size_t i = days == 0 || days > n ? 0 : n - days; i < n; i++)
    add_cell(&c, json_object_get(json_array_get(series, i), "census"));
  return breakdown_safe(m, &c);
}

static int rewrite_flow(json_t *root) {
  json_t *occ = json_object_get(root, "occupancy");
  json_t *today = json_is_object(occ) ? json_object_get(occ, "today") : NULL;
  json_t *avg7 = json_is_object(occ) ? json_object_get(occ, "avg7") : NULL;
  json_t *avg30 = json_is_object(occ) ? json_object_get(occ, "avg30") : NULL;
  json_t *los = json_object_get(root, "los_days");
  json_t *series = json_object_get(root, "series");
  bool arr_ok[sizeof flow_arrays / sizeof flow_arrays[0]];
  bool col_ok[sizeof series_cols / sizeof series_cols[0]];
  bool census_ok = true, hist_ok = true;
  bool today_hidden, avg7_hidden, avg30_hidden, los_hidden;

  if (!json_is_object(root))
    return ERR_PARSE;

  /* 1. Decide, from the original values. */
  for (size_t i = 0; i < sizeof flow_arrays / sizeof flow_arrays[0]; i++) {
    struct margin m = margin_of(root, flow_arrays[i].margin);
    json_t *arr = json_object_get(root, flow_arrays[i].array);
    arr_ok[i] = !json_is_array(arr) || array_safe(arr, &m);
  }
  for (size_t i = 0; i < sizeof series_cols / sizeof series_cols[0]; i++) {
    struct margin m = margin_of(root, series_cols[i].margin);
    struct cells c = {0, 0};
    size_t j;
    json_t *day;
    if (json_is_array(series))
      json_array_foreach(series, j, day) {
        add_cell(&c, json_object_get(day, series_cols[i].column));
      }
    col_ok[i] = breakdown_safe(&m, &c);
  }
  if (json_is_array(series)) {
    struct margin m30 = margin_of(avg30, "care_days");
    struct margin m7 = margin_of(avg7, "care_days");
    census_ok = census_safe(series, 0, &m30) && census_safe(series, 7, &m7);
  }
  if (json_is_object(los)) {
    struct margin m = margin_of(los, "n");
    json_t *h = json_object_get(los, "histogram");
    hist_ok = !json_is_array(h) || array_safe(h, &m);
  }
  today_hidden = json_is_object(today) && small_at(today, "census");
  avg7_hidden = json_is_object(avg7) && small_at(avg7, "care_days");
  avg30_hidden = json_is_object(avg30) && small_at(avg30, "care_days");
  los_hidden = json_is_object(los) && small_at(los, "n");

  /* 2. Apply. */
  ensure_marks(root);
  for (size_t i = 0; i < sizeof flow_counts / sizeof flow_counts[0]; i++)
    if (small_at(root, flow_counts[i]))
      suppress_key(root, flow_counts[i]);
  for (size_t i = 0; i < sizeof flow_arrays / sizeof flow_arrays[0]; i++)
    apply_array(root, flow_arrays[i].array, arr_ok[i]);
  if (json_is_object(today)) {
    ensure_marks(today);
    if (today_hidden) {
      suppress_key(today, "census");
      withhold_key(today, "pct");
    }
  }
  if (json_is_object(avg7)) {
    ensure_marks(avg7);
    if (avg7_hidden) {
      suppress_key(avg7, "care_days");
      withhold_key(avg7, "pct");
    }
  }
  if (json_is_object(avg30)) {
    ensure_marks(avg30);
    if (avg30_hidden) {
      suppress_key(avg30, "care_days");
      withhold_key(avg30, "pct");
    }
  }
  if (json_is_object(los)) {
    static const char *const derived[] = {"median", "p90", "mean", "capped"};
    ensure_marks(los);
    if (los_hidden) {
      suppress_key(los, "n");
      for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++)
        withhold_key(los, derived[i]);
    }
    apply_array(los, "histogram", hist_ok);
  }
  if (json_is_array(series)) {
    size_t j;
    json_t *day;
    json_array_foreach(series, j, day) {
      bool census_hidden;
      if (!json_is_object(day))
        return ERR_PARSE;
      ensure_marks(day);
      for (size_t i = 0; i < sizeof series_cols / sizeof series_cols[0]; i++) {
        const char *col = series_cols[i].column;
        if (!col_ok[i])
          withhold_key(day, col);
        else if (small_at(day, col))
          suppress_key(day, col);
      }
      census_hidden = small_at(day, "census");
      if (!census_ok) {
        withhold_key(day, "census");
        withhold_key(day, "occupancy_pct");
      } else if (census_hidden) {
        suppress_key(day, "census");
        withhold_key(day, "occupancy_pct");
      }
    }
  }
  return 0;
}

int suppress_flow_json(const char *json, size_t len, struct buf *out,
                       struct error *err) {
  json_error_t je;
  json_t *root;
  char *text = NULL;
  int rc;
  if (len > SUPPRESS_MAX_JSON)
    return error_set(err, ERR_TOOBIG, "flow JSON of %zu bytes exceeds %u", len,
                     (unsigned)SUPPRESS_MAX_JSON);
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    return error_set(err, ERR_PARSE, "cannot parse flow JSON: %s", je.text);
  rc = rewrite_flow(root);
  if (rc != 0) {
    json_decref(root);
    return error_set(err, rc, "flow JSON has an unexpected shape");
  }
  text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12));
  json_decref(root);
  if (text == NULL)
    return error_set(err, ERR_NOMEM, "cannot render flow JSON");
  rc = buf_puts(out, text);
  free(text);
  if (rc != 0)
    return error_set(err, rc, "flow JSON exceeds the output cap");
  return 0;
}
