/* event.c -- the canonical event: kind names, strings, attrs as JSON.
 *
 * Design: the kind names come from EVENT_KIND_TABLE, so an enum value and
 * its stored name cannot drift apart. The attributes travel as one compact
 * JSON object (the store's events.attrs column). Writing is by hand because
 * it runs once per stored event on the ingest writer's hot path: no
 * allocation beyond the caller's buffer, no printf. Reading uses jansson,
 * because it runs on rebuilds and reads where robustness matters more.
 *
 * Invariants:
 *  1. event_attrs_from_json(event_attrs_to_json(a)) == a for every 'a' whose
 *     strings are valid UTF-8 without control characters lost (strings are
 *     escaped, so they round-trip byte for byte);
 *  2. the writer never emits invalid JSON: invalid UTF-8 becomes U+FFFD;
 *  3. event_set_str never splits a UTF-8 sequence when it truncates.
 *
 * Thread safety: pure functions on caller-owned data; reentrant. */
#include "event.h"

#include <jansson.h>
#include <limits.h>
#include <string.h>

static const char *const kind_names[] = {
#define KIND_NAME(e, name) name,
    EVENT_KIND_TABLE(KIND_NAME)
#undef KIND_NAME
};

void event_init(struct event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->kind = EV_NONE;
  ev->attrs.age_band = -1;
  ev->attrs.age_years = -1;
  ev->attrs.sex = 'U';
}

const char *event_kind_name(enum event_kind kind) {
  if ((int)kind < 0 || (int)kind >= (int)EV__COUNT)
    return kind_names[EV_NONE];
  return kind_names[kind];
}

enum event_kind event_kind_from_name(const char *name) {
  size_t i;
  if (name == NULL)
    return EV_NONE;
  for (i = 1; i < ARRAY_LEN(kind_names); i++) {
    if (strcmp(kind_names[i], name) == 0)
      return (enum event_kind)i;
  }
  return EV_NONE;
}

bool event_set_str(char *dst, size_t cap, const char *src, size_t len) {
  size_t n = len;
  bool fit = true;
  if (cap == 0)
    return len == 0;
  if (n > cap - 1) {
    n = cap - 1;
    fit = false;
    /* Back off to the start of a UTF-8 sequence so a truncated string
     * stays valid text: src[n] is the first byte dropped. */
    while (n > 0 && ((unsigned char)src[n] & 0xC0u) == 0x80u)
      n--;
  }
  if (n > 0)
    memcpy(dst, src, n);
  dst[n] = '\0';
  return fit;
}

/* ---- writing ------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at s[0..len), or 0 when the bytes
 * there are not one (overlong forms, surrogates and values above U+10FFFF
 * are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  size_t n, i;
  unsigned int cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (len < n)
    return 0;
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xC0u) != 0x80u)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* Appends 's' (at most 'cap' bytes, NUL-terminated earlier) as a JSON
 * string with its quotes. */
static int put_json_str(struct buf *b, const char *s, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strnlen(s, cap);
  size_t i = 0, run = 0;
  int rc = buf_putc(b, '"');
  while (rc == 0 && i < len) {
    unsigned char c = p[i];
    size_t n = 1;
    char esc[8];
    size_t esc_len = 0;
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      run++;
      continue;
    }
    if (c >= 0x80) {
      n = utf8_seq(p + i, len - i);
      if (n > 0) {
        i += n;
        run += n;
        continue;
      }
      n = 1;
      memcpy(esc, "\\ufffd", 6);
      esc_len = 6;
    } else if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      esc_len = 2;
    } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      esc[0] = '\\';
      esc[1] = c == '\n'   ? 'n'
               : c == '\r' ? 'r'
               : c == '\t' ? 't'
               : c == '\b' ? 'b'
                           : 'f';
      esc_len = 2;
    } else {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 0xFu];
      esc_len = 6;
    }
    rc = buf_append(b, s + i - run, run);
    if (rc == 0)
      rc = buf_append(b, esc, esc_len);
    run = 0;
    i += n;
  }
  if (rc == 0)
    rc = buf_append(b, s + i - run, run);
  if (rc == 0)
    rc = buf_putc(b, '"');
  return rc;
}

static int put_int(struct buf *b, int64_t v) {
  char tmp[24];
  size_t n = sizeof tmp;
  /* Work in unsigned so INT64_MIN negates without overflow. */
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--n] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  if (v < 0)
    tmp[--n] = '-';
  return buf_append(b, tmp + n, sizeof tmp - n);
}

/* Appends `,"key":` (without the comma for the first member). */
static int put_key(struct buf *b, bool *first, const char *key) {
  int rc = 0;
  if (!*first)
    rc = buf_putc(b, ',');
  *first = false;
  if (rc == 0)
    rc = buf_putc(b, '"');
  if (rc == 0)
    rc = buf_puts(b, key);
  if (rc == 0)
    rc = buf_append(b, "\":", 2);
  return rc;
}

static int put_str_member(struct buf *b, bool *first, const char *key,
                          const char *val, size_t cap) {
  int rc;
  if (val[0] == '\0')
    return 0;
  rc = put_key(b, first, key);
  if (rc == 0)
    rc = put_json_str(b, val, cap);
  return rc;
}

static int put_int_member(struct buf *b, bool *first, const char *key,
                          int64_t v) {
  int rc = put_key(b, first, key);
  if (rc == 0)
    rc = put_int(b, v);
  return rc;
}

int event_attrs_to_json(const struct event_attrs *a, struct buf *out) {
  size_t start = out->len;
  bool first = true;
  int rc = buf_putc(out, '{');
  if (rc == 0)
    rc = put_str_member(out, &first, "bed", a->bed, sizeof a->bed);
  if (rc == 0)
    rc = put_str_member(out, &first, "from_unit", a->from_unit,
                        sizeof a->from_unit);
  if (rc == 0)
    rc = put_str_member(out, &first, "from_bed", a->from_bed,
                        sizeof a->from_bed);
  if (rc == 0)
    rc = put_str_member(out, &first, "patient_class", a->patient_class,
                        sizeof a->patient_class);
  if (rc == 0 && a->age_band != -1)
    rc = put_int_member(out, &first, "age_band", a->age_band);
  if (rc == 0 && a->age_years != -1)
    rc = put_int_member(out, &first, "age_years", a->age_years);
  if (rc == 0 && a->sex != 'U' && a->sex != '\0') {
    char s[2] = {a->sex, '\0'};
    rc = put_key(out, &first, "sex");
    if (rc == 0)
      rc = put_json_str(out, s, sizeof s);
  }
  if (rc == 0 && a->flags != 0)
    rc = put_int_member(out, &first, "flags", (int64_t)a->flags);
  if (rc == 0 && a->expected_discharge != 0)
    rc = put_int_member(out, &first, "expected_discharge",
                        a->expected_discharge);
  if (rc == 0 && a->ready_since != 0)
    rc = put_int_member(out, &first, "ready_since", a->ready_since);
  if (rc == 0 && a->cancels_time != 0)
    rc = put_int_member(out, &first, "cancels_time", a->cancels_time);
  if (rc == 0)
    rc = put_str_member(out, &first, "professional", a->professional,
                        sizeof a->professional);
  if (rc == 0)
    rc = put_str_member(out, &first, "prof_group", a->prof_group,
                        sizeof a->prof_group);
  if (rc == 0)
    rc = put_str_member(out, &first, "slot", a->slot, sizeof a->slot);
  if (rc == 0)
    rc = put_str_member(out, &first, "appointment", a->appointment,
                        sizeof a->appointment);
  if (rc == 0)
    rc = put_str_member(out, &first, "contact_channel", a->contact_channel,
                        sizeof a->contact_channel);
  if (rc == 0 && a->slot_start != 0)
    rc = put_int_member(out, &first, "slot_start", a->slot_start);
  if (rc == 0 && a->slot_end != 0)
    rc = put_int_member(out, &first, "slot_end", a->slot_end);
  if (rc == 0 && a->assessed_at != 0)
    rc = put_int_member(out, &first, "assessed_at", a->assessed_at);
  if (rc == 0 && a->contact_at != 0)
    rc = put_int_member(out, &first, "contact_at", a->contact_at);
  if (rc == 0)
    rc = buf_putc(out, '}');
  if (rc < 0 && out->data != NULL) {
    out->len = start;
    out->data[start] = '\0';
  }
  return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int get_str(json_t *v, const char *key, char *dst, size_t cap,
                   struct error *err) {
  size_t len;
  if (!json_is_string(v))
    return error_set(err, ERR_PARSE, "attrs: '%s' is not a string", key);
  len = json_string_length(v);
  if (len >= cap)
    return error_set(err, ERR_PARSE, "attrs: '%s' longer than %zu bytes", key,
                     cap - 1);
  memcpy(dst, json_string_value(v), len);
  dst[len] = '\0';
  return 0;
}

static int get_int(json_t *v, const char *key, int64_t lo, int64_t hi,
                   int64_t *out, struct error *err) {
  json_int_t n;
  if (!json_is_integer(v))
    return error_set(err, ERR_PARSE, "attrs: '%s' is not an integer", key);
  n = json_integer_value(v);
  if (n < lo || n > hi)
    return error_set(err, ERR_PARSE, "attrs: '%s' out of range", key);
  *out = (int64_t)n;
  return 0;
}

static int get_member(const char *key, json_t *v, struct event_attrs *a,
                      struct error *err) {
  int64_t n = 0;
  int rc = 0;
  if (strcmp(key, "bed") == 0) {
    rc = get_str(v, key, a->bed, sizeof a->bed, err);
  } else if (strcmp(key, "from_unit") == 0) {
    rc = get_str(v, key, a->from_unit, sizeof a->from_unit, err);
  } else if (strcmp(key, "from_bed") == 0) {
    rc = get_str(v, key, a->from_bed, sizeof a->from_bed, err);
  } else if (strcmp(key, "patient_class") == 0) {
    rc = get_str(v, key, a->patient_class, sizeof a->patient_class, err);
  } else if (strcmp(key, "age_band") == 0) {
    rc = get_int(v, key, -1, INT16_MAX, &n, err);
    if (rc == 0)
      a->age_band = (int16_t)n;
  } else if (strcmp(key, "age_years") == 0) {
    rc = get_int(v, key, -1, 150, &n, err);
    if (rc == 0)
      a->age_years = (int16_t)n;
  } else if (strcmp(key, "sex") == 0) {
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || json_string_length(v) != 1 || s[0] <= 0x20 || s[0] >= 0x7F)
      return error_set(err, ERR_PARSE,
                       "attrs: 'sex' is not one printable character");
    a->sex = s[0];
  } else if (strcmp(key, "flags") == 0) {
    rc = get_int(v, key, 0, UINT32_MAX, &n, err);
    if (rc == 0)
      a->flags = (uint32_t)n;
  } else if (strcmp(key, "expected_discharge") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->expected_discharge, err);
  } else if (strcmp(key, "ready_since") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->ready_since, err);
  } else if (strcmp(key, "cancels_time") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->cancels_time, err);
  } else if (strcmp(key, "professional") == 0) {
    rc = get_str(v, key, a->professional, sizeof a->professional, err);
  } else if (strcmp(key, "prof_group") == 0) {
    rc = get_str(v, key, a->prof_group, sizeof a->prof_group, err);
  } else if (strcmp(key, "slot") == 0) {
    rc = get_str(v, key, a->slot, sizeof a->slot, err);
  } else if (strcmp(key, "appointment") == 0) {
    rc = get_str(v, key, a->appointment, sizeof a->appointment, err);
  } else if (strcmp(key, "contact_channel") == 0) {
    rc = get_str(v, key, a->contact_channel, sizeof a->contact_channel, err);
  } else if (strcmp(key, "slot_start") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->slot_start, err);
  } else if (strcmp(key, "slot_end") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->slot_end, err);
  } else if (strcmp(key, "assessed_at") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->assessed_at, err);
  } else if (strcmp(key, "contact_at") == 0) {
    rc = get_int(v, key, INT64_MIN, INT64_MAX, &a->contact_at, err);
  }
  return rc;
}

int event_attrs_from_json(const char *json, size_t len, struct event_attrs *out,
                          struct error *err) {
  struct event ev;
  json_error_t jerr;
  json_t *root = NULL;
  const char *key;
  json_t *v;
  int rc = 0;

  if (len > EVENT_ATTRS_JSON_MAX)
    return error_set(err, ERR_TOOBIG, "attrs: json longer than %d bytes",
                     EVENT_ATTRS_JSON_MAX);
  event_init(&ev);
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    rc = error_set(err, ERR_PARSE, "attrs: malformed json at byte %d: %s",
                   jerr.position, jerr.text);
    goto out;
  }
  if (!json_is_object(root)) {
    rc = error_set(err, ERR_PARSE, "attrs: not a json object");
    goto out;
  }
  json_object_foreach(root, key, v) {
    rc = get_member(key, v, &ev.attrs, err);
    if (rc < 0)
      goto out;
  }
  *out = ev.attrs;
out:
  json_decref(root);
  return rc;
}
