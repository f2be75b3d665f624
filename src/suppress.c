/* suppress.c -- small-cell suppression of aggregate outputs (suppress.h).
 *
 * Design: the predicates are arithmetic on what a reader can know. The flow
 * rewrite parses the flow JSON with jansson, decides everything from the
 * original values first (margins, then every breakdown against its margin),
 * and only then edits the tree, so that no decision depends on an earlier
 * edit.
 *
 * The tree rewrite (suppress_flow_tree) reads every unit's flow, numbers
 * every count of it as a figure (scalars, array cells, series days of each
 * column), and keeps per unit and figure a value, a state (shown,
 * suppressed, withheld by the tree, forced by a withheld breakdown) and a
 * forced flag. It alternates a bottom-up pass per figure (the board's
 * rule, with pieces that are small counts or unbounded ones) and a pass
 * over every unit's breakdowns, until no flag changes: flags only get set,
 * so it ends. The answer for one unit depends only on the values read,
 * never on which unit was asked for.
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

#include "mem.h"

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

/* ---- the flow over the organisation tree ------------------------------- */

/* Every count of a flow object is a "figure": the scalars, each array
 * cell, and each series day of each column. Figure f of every unit forms
 * one additive tree (a unit's value is the sum of its children's, plus a
 * ward's own). Figures are numbered: scalars, then the arrays' cells, then
 * the series columns day by day. */
enum {
  S_ADM,
  S_TIN,
  S_TOUT,
  S_DIS,
  S_DELAY,
  S_TODAY,
  S_AVG7,
  S_AVG30,
  S_LOSN,
  S__N
};

static const struct {
  const char *o1, *o2, *key;
} tree_scalars[S__N] = {
    {NULL, NULL, "admissions"},
    {NULL, NULL, "transfers_in"},
    {NULL, NULL, "transfers_out"},
    {NULL, NULL, "discharges"},
    {NULL, NULL, "transfer_delay_days"},
    {"occupancy", "today", "census"},
    {"occupancy", "avg7", "care_days"},
    {"occupancy", "avg30", "care_days"},
    {"los_days", NULL, "n"},
};

#define HIST_MAX 4096 /* histogram cells a flow object may have */
#define DAYS_MAX 400  /* series days a flow object may have */

static const struct {
  const char *obj; /* NULL: the root */
  const char *key;
  size_t len; /* 0: the histogram (its length is the longest seen) */
  int margin;
} tree_arrays[] = {
    {NULL, "admissions_by_hour", 24, S_ADM},
    {NULL, "discharges_by_hour", 24, S_DIS},
    {NULL, "admissions_by_weekday", 7, S_ADM},
    {NULL, "discharges_by_weekday", 7, S_DIS},
    {"los_days", "histogram", 0, S_LOSN},
};
#define N_ARRAYS (sizeof tree_arrays / sizeof tree_arrays[0])

/* Series columns: the five of series_cols, then the census. */
#define N_COLS (sizeof series_cols / sizeof series_cols[0] + 1)

enum { ST_SHOWN, ST_SUP, ST_WH, ST_FORCED };

/* A row: cells first..first+count-1 of one unit that sum to 'margin'. */
struct row {
  size_t first, count;
  int margin;
};

struct tree {
  size_t n, nf, ndays, hist_len;
  size_t target; /* the unit answered for */
  size_t arr_first[N_ARRAYS];
  size_t series_first; /* column c, day d: series_first + c * ndays + d */
  int64_t *v;          /* n * nf; -1: not a count (null, absent) */
  uint8_t *st, *forced;
  uint8_t *whole;  /* n * nrows: the unit's breakdown is withheld whole */
  int64_t *pieces; /* n * S__N * 4: a margin's unaccounted hidden pieces */
  struct row rows[N_ARRAYS + N_COLS + 1]; /* arrays, columns, census 7 */
  size_t nrows;
};

static json_t *sub(json_t *root, const char *o1, const char *o2) {
  json_t *o = root;
  if (o1 != NULL)
    o = json_object_get(o, o1);
  if (o2 != NULL && o != NULL)
    o = json_object_get(o, o2);
  return json_is_object(o) ? o : NULL;
}

static int64_t int_or(json_t *j, int64_t dflt) {
  return json_is_integer(j) ? (int64_t)json_integer_value(j) : dflt;
}

/* True when two flow objects have the same "today" (or neither has one). */
static bool same_day(json_t *a, json_t *b) {
  json_t *x = json_object_get(a, "today"), *y = json_object_get(b, "today");
  return x == NULL ? y == NULL : y != NULL && json_equal(x, y);
}

static int tree_layout(struct tree *t, json_t *const *roots) {
  size_t f = S__N;
  t->ndays = 0;
  t->hist_len = 0;
  for (size_t u = 0; u < t->n; u++) {
    json_t *s = json_object_get(roots[u], "series");
    json_t *h = json_object_get(sub(roots[u], "los_days", NULL), "histogram");
    if (!json_is_object(roots[u]))
      return ERR_PARSE;
    if (json_array_size(h) > HIST_MAX || json_array_size(s) > DAYS_MAX)
      return ERR_TOOBIG;
    if (json_array_size(h) > t->hist_len)
      t->hist_len = json_array_size(h);
    if (u == 0)
      t->ndays = json_array_size(s);
    else if (json_array_size(s) != t->ndays || !same_day(roots[u], roots[0]))
      return ERR_AGAIN; /* a day went by between the calls */
  }
  t->nrows = 0;
  for (size_t a = 0; a < N_ARRAYS; a++) {
    size_t len = tree_arrays[a].len ? tree_arrays[a].len : t->hist_len;
    t->arr_first[a] = f;
    t->rows[t->nrows++] = (struct row){f, len, tree_arrays[a].margin};
    f += len;
  }
  t->series_first = f;
  for (size_t c = 0; c < N_COLS; c++) {
    /* series_cols[c] breaks down S_ADM..S_DELAY in order; the census
     * the 30 days' care days. */
    int margin = c + 1 < N_COLS ? (int)c : S_AVG30;
    t->rows[t->nrows++] = (struct row){f, t->ndays, margin};
    f += t->ndays;
  }
  /* The census of the last seven days against avg7's care days. */
  {
    size_t last = t->ndays < 7 ? t->ndays : 7;
    t->rows[t->nrows++] =
        (struct row){f - last, last, S_AVG7}; /* f: after the census */
  }
  t->nf = f;
  return 0;
}

static void tree_values(struct tree *t, size_t u, json_t *root) {
  int64_t *v = t->v + u * t->nf;
  json_t *series = json_object_get(root, "series");
  for (int s = 0; s < S__N; s++)
    v[s] = int_or(
        json_object_get(sub(root, tree_scalars[s].o1, tree_scalars[s].o2),
                        tree_scalars[s].key),
        -1);
  for (size_t a = 0; a < N_ARRAYS; a++) {
    json_t *arr = json_object_get(sub(root, tree_arrays[a].obj, NULL),
                                  tree_arrays[a].key);
    size_t len = tree_arrays[a].len ? tree_arrays[a].len : t->hist_len;
    for (size_t i = 0; i < len; i++) {
      /* The histogram leaves trailing zeros out. */
      int64_t dflt = json_is_array(arr) && tree_arrays[a].len == 0 ? 0 : -1;
      v[t->arr_first[a] + i] = int_or(json_array_get(arr, i), dflt);
    }
  }
  for (size_t c = 0; c < N_COLS; c++) {
    const char *col = c + 1 < N_COLS ? series_cols[c].column : "census";
    for (size_t d = 0; d < t->ndays; d++)
      v[t->series_first + c * t->ndays + d] =
          int_or(json_object_get(json_array_get(series, d), col), -1);
  }
}

/* True when a reader who knows the sum of the hidden pieces (ks small
 * counts summing to rs, kl others, each >= 0, summing to rl) learns no
 * piece and no small sum. */
static bool pieces_safe(int64_t ks, int64_t rs, int64_t kl, int64_t rl) {
  if (ks + kl == 0)
    return true;
  if (kl == 0)
    return suppress_set_safe(ks, rs);
  /* An unbounded piece leaves every small one open unless all are ones;
   * the unbounded ones stay open within 3 * ks (or by each other). */
  return ks + kl >= 2 && rs + rl >= SUPPRESS_MIN && rs + rl > ks;
}

/* The tree pass of figure f: every unit's state from its value, its
 * forced flag and the pieces its hidden descendants leave unaccounted.
 * Sets *changed when a forced cell must force its children (its value
 * would be their sum). A unit without a ward of its own that is not the
 * sum of its children (the cube changed between the reads) takes their
 * sum; ERR_AGAIN when that unit is the one to answer for. */
static int tree_figure(struct tree *t, const struct org *org, size_t f,
                       int64_t *acc, bool *changed) {
  /* acc: per unit, ks, rs, kl, rl, child sum, children with a value */
  memset(acc, 0, t->n * 6 * sizeof *acc);
  for (size_t u = t->n; u-- > 0;) {
    const struct org_unit *ou = org_unit_at(org, u);
    int64_t *a = acc + u * 6;
    int64_t v = t->v[u * t->nf + f];
    bool leaf = ou->subtree_size == 1, hidden;
    uint8_t *st = &t->st[u * t->nf + f];
    if (v < 0) {
      *st = ST_SHOWN;
      continue;
    }
    if (!leaf) {
      int64_t own = v - a[4];
      if (own != 0 && strcmp(ou->type, "ward") != 0) {
        if (u == t->target)
          return ERR_AGAIN;
        v = t->v[u * t->nf + f] = a[4];
        own = 0;
      }
      if (own != 0 && suppress_small(own)) {
        a[0]++;
        a[1] += own;
      } else if (own != 0) {
        a[2]++;
        a[3] += own;
      }
    }
    if (suppress_small(v))
      *st = ST_SUP;
    else if (t->forced[u * t->nf + f])
      *st = ST_FORCED;
    else if (!pieces_safe(a[0], a[1], a[2], a[3]))
      *st = ST_WH;
    else
      *st = ST_SHOWN;
    hidden = *st != ST_SHOWN;
    if (f < S__N)
      memcpy(t->pieces + (u * S__N + f) * 4, a, 4 * sizeof *a);
    if (leaf) {
      memset(a, 0, 4 * sizeof *a);
      if (hidden && suppress_small(v)) {
        a[0] = 1;
        a[1] = v;
      } else if (hidden) {
        a[2] = 1;
        a[3] = v;
      }
    } else if (hidden && a[0] + a[2] == 0) {
      /* Its children show it: hide them too. */
      for (size_t c = u + 1; c < u + ou->subtree_size; c++) {
        const struct org_unit *cu = org_unit_at(org, c);
        if ((size_t)cu->parent_index == u && !t->forced[c * t->nf + f] &&
            t->v[c * t->nf + f] >= 0) {
          t->forced[c * t->nf + f] = 1;
          *changed = true;
        }
      }
    }
    if (ou->parent_index >= 0) {
      int64_t *p = acc + (size_t)ou->parent_index * 6;
      p[4] += v;
      if (hidden)
        for (int i = 0; i < 4; i++)
          p[i] += a[i];
    }
  }
  return 0;
}

/* A withheld margin whose breakdown shows every cell but ksup suppressed
 * ones (summing to rsup): the reader learns the margin within 3 * ksup,
 * hence the sum of the margin's unaccounted pieces. True when that still
 * leaves every piece at least two values. */
static bool margin_open(const struct tree *t, size_t u, int margin,
                        int64_t ksup, int64_t rsup) {
  const int64_t *p = t->pieces + (u * S__N + (size_t)margin) * 4;
  int64_t sum = p[1] + p[3], lo, hi;
  if (p[2] > 0)
    return true; /* an unbounded piece */
  if (ksup == 0 || p[0] == 0)
    return false;
  lo = sum - rsup + ksup - (SUPPRESS_MIN - 1) * (p[0] - 1);
  hi = sum - rsup + (SUPPRESS_MIN - 1) * ksup - (p[0] - 1);
  if (lo < 1)
    lo = 1;
  if (hi > SUPPRESS_MIN - 1)
    hi = SUPPRESS_MIN - 1;
  return hi > lo;
}

/* The row pass of unit u: a breakdown whose hidden cells its margin would
 * reveal, or that holds a withheld cell, is withheld whole (its cells
 * forced). Sets *changed when it forces a cell. */
static void tree_rows(struct tree *t, size_t u, bool *changed) {
  const int64_t *v = t->v + u * t->nf;
  const uint8_t *st = t->st + u * t->nf;
  uint8_t *forced = t->forced + u * t->nf;
  size_t today = t->series_first + (N_COLS - 1) * t->ndays + t->ndays - 1;
  for (size_t r = 0; r < t->nrows; r++) {
    const struct row *row = &t->rows[r];
    int64_t ksup = 0, rsup = 0, kbig = 0;
    bool unsafe;
    if (row->count == 0 || row->margin < 0 || v[row->margin] < 0)
      continue;
    for (size_t i = row->first; i < row->first + row->count; i++) {
      if (st[i] == ST_SUP) {
        ksup++;
        rsup += v[i];
      } else if (st[i] != ST_SHOWN) {
        kbig++;
      }
    }
    switch (st[row->margin]) {
    case ST_SHOWN:
      unsafe = kbig > 0 || !suppress_set_safe(ksup, rsup);
      break;
    case ST_SUP:
      unsafe = kbig > 0 || !suppress_set_safe_hidden_sum(ksup);
      break;
    default: /* a withheld margin */
      unsafe = kbig == 0 && !margin_open(t, u, row->margin, ksup, rsup);
      break;
    }
    if (!unsafe)
      continue;
    t->whole[u * t->nrows + r] = 1;
    for (size_t i = row->first; i < row->first + row->count; i++)
      if (!forced[i] && v[i] >= 0 && st[i] != ST_SUP) {
        forced[i] = 1;
        *changed = true;
      }
  }
  /* Today's census is the series' last census: one cell, one state. */
  if (t->ndays > 0 && forced[today] != forced[S_TODAY] && v[today] >= 0 &&
      v[S_TODAY] >= 0) {
    forced[today] = forced[S_TODAY] = 1;
    *changed = true;
  }
}

static int tree_decide(struct tree *t, const struct org *org) {
  int64_t *acc = mem_calloc(t->n * 6, sizeof *acc);
  bool changed = true;
  int rc = 0;
  while (rc == 0 && changed) {
    changed = false;
    for (size_t f = 0; rc == 0 && f < t->nf; f++)
      rc = tree_figure(t, org, f, acc, &changed);
    for (size_t u = 0; rc == 0 && u < t->n; u++)
      tree_rows(t, u, &changed);
  }
  mem_free(acc);
  return rc;
}

/* ---- applying a unit's decisions --------------------------------------- */

static bool is_hidden_big(uint8_t s) { return s == ST_WH || s == ST_FORCED; }

static void apply_scalar(json_t *obj, const char *key, uint8_t s) {
  if (obj == NULL)
    return;
  if (s == ST_SUP)
    suppress_key(obj, key);
  else if (s != ST_SHOWN)
    withhold_key(obj, key);
}

static void apply_tree_array(json_t *obj, const char *key, const uint8_t *st,
                             size_t len, bool whole) {
  json_t *arr = json_object_get(obj, key);
  bool any = false;
  if (!json_is_array(arr))
    return;
  for (size_t i = 0; i < len || whole; i++)
    if (whole || is_hidden_big(st[i])) {
      withhold_key(obj, key);
      return;
    }
  for (size_t i = 0; i < len && i < json_array_size(arr); i++)
    if (st[i] == ST_SUP) {
      json_array_set_new(arr, i, json_null());
      any = true;
    }
  if (any)
    list(marks(obj, "suppressed"), key);
}

/* Rewrites 'root' (unit u of 't') by the decisions, in rewrite_flow's
 * order, so that an answer the tree does not change is the same text. */
static int tree_apply(const struct tree *t, size_t u, json_t *root) {
  const uint8_t *st = t->st + u * t->nf;
  const uint8_t *whole = t->whole + u * t->nrows;
  json_t *los = json_object_get(root, "los_days");
  json_t *series = json_object_get(root, "series");
  static const char *const derived[] = {"median", "p90", "mean", "capped"};
  bool col_whole[N_COLS];
  ensure_marks(root);
  for (int s = 0; s <= S_DELAY; s++)
    apply_scalar(root, tree_scalars[s].key, st[s]);
  for (size_t a = 0; a + 1 < N_ARRAYS; a++)
    apply_tree_array(root, tree_arrays[a].key, st + t->arr_first[a],
                     tree_arrays[a].len, whole[a]);
  for (int s = S_TODAY; s <= S_AVG30; s++) {
    json_t *o = sub(root, tree_scalars[s].o1, tree_scalars[s].o2);
    if (o == NULL)
      continue;
    ensure_marks(o);
    apply_scalar(o, tree_scalars[s].key, st[s]);
    if (st[s] != ST_SHOWN)
      withhold_key(o, "pct");
  }
  if (json_is_object(los)) {
    ensure_marks(los);
    apply_scalar(los, "n", st[S_LOSN]);
    if (st[S_LOSN] != ST_SHOWN)
      for (size_t i = 0; i < ARRAY_LEN(derived); i++)
        withhold_key(los, derived[i]);
    apply_tree_array(los, "histogram", st + t->arr_first[N_ARRAYS - 1],
                     t->hist_len, whole[N_ARRAYS - 1]);
  }
  for (size_t c = 0; c < N_COLS; c++) {
    col_whole[c] = whole[N_ARRAYS + c] != 0 ||
                   (c + 1 == N_COLS && whole[N_ARRAYS + N_COLS] != 0);
    for (size_t d = 0; d < t->ndays; d++)
      if (is_hidden_big(st[t->series_first + c * t->ndays + d]))
        col_whole[c] = true;
  }
  if (json_is_array(series)) {
    size_t d;
    json_t *day;
    json_array_foreach(series, d, day) {
      if (!json_is_object(day))
        return ERR_PARSE;
      ensure_marks(day);
      for (size_t c = 0; c < N_COLS; c++) {
        const char *col = c + 1 < N_COLS ? series_cols[c].column : "census";
        uint8_t s = st[t->series_first + c * t->ndays + d];
        if (col_whole[c])
          withhold_key(day, col);
        else if (s == ST_SUP)
          suppress_key(day, col);
        if (c + 1 == N_COLS && (col_whole[c] || s != ST_SHOWN))
          withhold_key(day, "occupancy_pct");
      }
    }
  }
  return 0;
}

int suppress_flow_tree(const struct org *org, const char *unit,
                       suppress_flow_fn flow, void *ctx, struct buf *out,
                       struct error *err) {
  const struct org_unit *target = org_unit_find(org, unit);
  size_t n = org_unit_count(org);
  json_t **roots = NULL;
  struct tree t;
  char *text = NULL;
  int rc = ERR_AGAIN;
  memset(&t, 0, sizeof t);
  if (target == NULL)
    return error_set(err, ERR_NOTFOUND, "unknown unit '%s'", unit);
  roots = mem_calloc(n, sizeof *roots);
  t.n = n;
  t.target = target->index;
  for (int attempt = 0; attempt < SUPPRESS_TREE_ATTEMPTS && rc == ERR_AGAIN;
       attempt++) {
    rc = 0;
    /* The unit answered for last, so that its own figures are the latest
     * (the tree's sums must agree with them). */
    for (size_t i = 0; rc == 0 && i < n; i++) {
      size_t u = i + 1 == n ? target->index : i + (i >= target->index);
      struct buf b;
      json_error_t je;
      buf_init(&b, SUPPRESS_MAX_JSON);
      json_decref(roots[u]);
      roots[u] = NULL;
      rc = flow(ctx, org_unit_at(org, u)->id, &b, err);
      if (rc == 0) {
        roots[u] = json_loadb(buf_str(&b), b.len, JSON_REJECT_DUPLICATES, &je);
        if (roots[u] == NULL)
          rc = error_set(err, ERR_PARSE, "cannot parse flow JSON: %s", je.text);
      }
      buf_release(&b);
    }
    if (rc != 0)
      goto out;
    rc = tree_layout(&t, roots);
    if (rc == 0 && t.nf > SUPPRESS_TREE_MAX_CELLS / (n ? n : 1))
      rc = ERR_TOOBIG;
    if (rc != 0)
      continue;
    mem_free(t.v);
    mem_free(t.st);
    mem_free(t.forced);
    mem_free(t.whole);
    mem_free(t.pieces);
    t.whole = mem_calloc(n * t.nrows, 1);
    t.pieces = mem_calloc(n * S__N * 4, sizeof *t.pieces);
    t.v = mem_calloc(n * t.nf, sizeof *t.v);
    t.st = mem_calloc(n * t.nf, 1);
    t.forced = mem_calloc(n * t.nf, 1);
    for (size_t u = 0; u < n; u++)
      tree_values(&t, u, roots[u]);
    rc = tree_decide(&t, org);
  }
  if (rc != 0) {
    rc = error_set(err, rc,
                   rc == ERR_AGAIN    ? "the flow changed while it was read"
                   : rc == ERR_TOOBIG ? "the flow of the tree is too large"
                                      : "flow JSON has an unexpected shape");
    goto out;
  }
  rc = tree_apply(&t, target->index, roots[target->index]);
  if (rc != 0) {
    rc = error_set(err, rc, "flow JSON has an unexpected shape");
    goto out;
  }
  text =
      json_dumps(roots[target->index], JSON_COMPACT | JSON_REAL_PRECISION(12));
  if (text == NULL) {
    rc = error_set(err, ERR_NOMEM, "cannot render flow JSON");
    goto out;
  }
  rc = buf_puts(out, text);
  if (rc != 0)
    rc = error_set(err, rc, "flow JSON exceeds the output cap");
out:
  free(text);
  for (size_t u = 0; u < n; u++)
    json_decref(roots[u]);
  mem_free(roots);
  mem_free(t.v);
  mem_free(t.st);
  mem_free(t.forced);
  mem_free(t.whole);
  mem_free(t.pieces);
  return rc;
}
