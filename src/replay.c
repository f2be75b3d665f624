/* replay.c -- reads HL7 v2 files message by message; shifts timestamps.
 *
 * Design: replay_open lists and sorts the directory's ".hl7" names once;
 * replay_next reads one whole file at a time into memory (bounded by
 * REPLAY_MAX_FILE) and walks it with a cursor, cutting messages at "MSH|"
 * that starts a line (replay.h gives the format). Field access is a small
 * hand-written scan (segment by CR/LF, fields by the separator after
 * "MSH"), enough for the few fields replay needs; it never decodes escapes
 * or looks at personal data.
 *
 * Invariants: pos <= len of the loaded file; 'file' counts the files
 * consumed; a message handed out lies within the loaded file.
 *
 * Thread safety: a struct replay belongs to one thread; the free functions
 * are pure. No logging. */
#include "replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chrono.h"
#include "mem.h"

#define PATH_MAX_LEN 4096

struct replay {
  char *dir;
  char **names;
  size_t nnames;
  size_t file; /* files opened so far */
  char *data;  /* the current file */
  size_t len;
  size_t pos;
  int64_t last_time;
};

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int replay_open(const char *dir, struct replay **out, struct error *err) {
  DIR *d = NULL;
  struct dirent *de;
  struct replay *r = NULL;
  size_t cap = 0;
  int rc = 0;

  if (dir == NULL || out == NULL)
    return error_set(err, ERR_INVAL, "replay directory missing");
  {
    /* One file is a directory of one. */
    struct stat fst;
    if (stat(dir, &fst) == 0 && S_ISREG(fst.st_mode)) {
      const char *slash = strrchr(dir, '/');
      r = mem_calloc(1, sizeof *r);
      r->dir = slash != NULL ? mem_strndup(dir, (size_t)(slash - dir))
                             : mem_strdup(".");
      if (r->dir[0] == '\0') {
        mem_free(r->dir);
        r->dir = mem_strdup("/");
      }
      r->names = mem_alloc(sizeof *r->names);
      r->names[0] = mem_strdup(slash != NULL ? slash + 1 : dir);
      r->nnames = 1;
      *out = r;
      return 0;
    }
  }
  d = opendir(dir);
  if (d == NULL)
    return error_set(err, ERR_IO, "cannot open '%s': %s", dir, strerror(errno));
  r = mem_calloc(1, sizeof *r);
  r->dir = mem_strdup(dir);
  errno = 0;
  while ((de = readdir(d)) != NULL) {
    char path[PATH_MAX_LEN];
    struct stat st;
    int n;
    if (de->d_name[0] == '.' || !ends_with(de->d_name, ".hl7"))
      continue;
    n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (r->nnames >= REPLAY_MAX_FILES) {
      rc = error_set(err, ERR_TOOBIG, "more than %u files in '%s'",
                     REPLAY_MAX_FILES, dir);
      goto out;
    }
    if (r->nnames == cap) {
      cap = cap ? cap * 2 : 64;
      r->names = mem_realloc(r->names, cap * sizeof *r->names);
    }
    r->names[r->nnames++] = mem_strdup(de->d_name);
    errno = 0;
  }
  if (errno != 0) {
    rc = error_set(err, ERR_IO, "cannot read '%s': %s", dir, strerror(errno));
    goto out;
  }
  if (r->nnames == 0) {
    rc = error_set(err, ERR_NOTFOUND, "no .hl7 files in '%s'", dir);
    goto out;
  }
  qsort(r->names, r->nnames, sizeof *r->names, cmp_names);
out:
  closedir(d);
  if (rc < 0) {
    replay_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

void replay_close(struct replay *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->nnames; i++)
    mem_free(r->names[i]);
  mem_free(r->names);
  mem_free(r->dir);
  mem_free(r->data);
  mem_free(r);
}

size_t replay_file_count(const struct replay *r) { return r->nnames; }
size_t replay_file_index(const struct replay *r) { return r->file; }

/* Reads file 'name' of the directory whole. */
static int load_file(struct replay *r, const char *name, struct error *err) {
  char path[PATH_MAX_LEN];
  struct stat st;
  char *data = NULL;
  size_t got = 0;
  int fd, n, rc = 0;

  n = snprintf(path, sizeof path, "%s/%s", r->dir, name);
  if (n < 0 || (size_t)n >= sizeof path)
    return error_set(err, ERR_INVAL, "path of '%s' too long", name);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return error_set(err, ERR_IO, "cannot open '%s': %s", path,
                     strerror(errno));
  if (fstat(fd, &st) != 0) {
    rc = error_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    goto out;
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX_FILE) {
    rc = error_set(err, ERR_TOOBIG, "'%s' is larger than %u bytes", path,
                   REPLAY_MAX_FILE);
    goto out;
  }
  data = mem_alloc((size_t)st.st_size + 1);
  while (got < (size_t)st.st_size) {
    ssize_t k = read(fd, data + got, (size_t)st.st_size - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      rc =
          error_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
      goto out;
    }
    if (k == 0)
      break; /* the file shrank: use what is there */
    got += (size_t)k;
  }
  data[got] = '\0';
  mem_free(r->data);
  r->data = data;
  r->len = got;
  r->pos = 0;
  data = NULL;
out:
  close(fd);
  mem_free(data);
  return rc;
}

/* True when a message starts at offset i of the loaded file. */
static bool msg_start_at(const char *p, size_t len, size_t i) {
  return i + 4 <= len && memcmp(p + i, "MSH|", 4) == 0 &&
         (i == 0 || p[i - 1] == '\r' || p[i - 1] == '\n');
}

static size_t find_start(const char *p, size_t len, size_t from) {
  for (size_t i = from; i + 4 <= len; i++) {
    if (p[i] != 'M')
      continue;
    if (msg_start_at(p, len, i))
      return i;
  }
  return len;
}

int replay_next(struct replay *r, const char **msg, size_t *len,
                int64_t *msg_time_ms, struct error *err) {
  for (;;) {
    size_t start, end;
    int64_t t;
    if (r->data != NULL)
      r->pos = find_start(r->data, r->len, r->pos);
    if (r->data == NULL || r->pos >= r->len) {
      int rc;
      if (r->file >= r->nnames)
        return 0;
      rc = load_file(r, r->names[r->file], err);
      if (rc < 0)
        return rc;
      r->file++;
      continue;
    }
    start = r->pos;
    end = find_start(r->data, r->len, start + 4);
    r->pos = end;
    while (end > start && r->data[end - 1] == '\n')
      end--;
    if (end - start > REPLAY_MAX_MESSAGE)
      return error_set(err, ERR_TOOBIG,
                       "a message in '%s' is longer than %u bytes",
                       r->names[r->file - 1], REPLAY_MAX_MESSAGE);
    if (replay_msg_time(r->data + start, end - start, &t) == 0)
      r->last_time = t;
    *msg = r->data + start;
    *len = end - start;
    *msg_time_ms = r->last_time;
    return 1;
  }
}

/* Segment [*s, *e) following position 'from'; false at the end. */
static bool next_segment(const char *msg, size_t len, size_t *from, size_t *s,
                         size_t *e) {
  size_t i = *from;
  while (i < len && (msg[i] == '\r' || msg[i] == '\n'))
    i++;
  if (i >= len)
    return false;
  *s = i;
  while (i < len && msg[i] != '\r' && msg[i] != '\n')
    i++;
  *e = i;
  *from = i;
  return true;
}

/* Field 'field' within segment [s, e): MSH counts its separator as MSH-1. */
static bool seg_field(const char *msg, size_t s, size_t e, char sep,
                      unsigned field, size_t *fs, size_t *fe) {
  bool is_msh = e - s >= 3 && memcmp(msg + s, "MSH", 3) == 0;
  unsigned idx = 0; /* index of the field that starts at i */
  size_t i = s + 3;
  unsigned want = is_msh ? field - 1 : field;
  if (field == 0 || (is_msh && field == 1))
    return false;
  /* at msg[i] is the separator that opens field 1 (MSH: MSH-2) */
  while (i < e) {
    size_t j;
    if (msg[i] != sep)
      return false;
    idx++;
    j = i + 1;
    while (j < e && msg[j] != sep)
      j++;
    if (idx == want) {
      *fs = i + 1;
      *fe = j;
      return true;
    }
    i = j;
  }
  return false;
}

bool replay_field(const char *msg, size_t len, const char *seg, unsigned field,
                  const char **val, size_t *vlen) {
  size_t pos = 0, s, e, fs, fe;
  char sep;
  if (len < 4 || memcmp(msg, "MSH", 3) != 0)
    return false;
  sep = msg[3];
  while (next_segment(msg, len, &pos, &s, &e)) {
    if (e - s < 3 || memcmp(msg + s, seg, 3) != 0)
      continue;
    if (!seg_field(msg, s, e, sep, field, &fs, &fe))
      return false;
    *val = msg + fs;
    *vlen = fe - fs;
    return true;
  }
  return false;
}

/* The component separator (MSH-2's first byte), '^' by default. */
static char comp_sep(const char *msg, size_t len) {
  return len > 4 && msg[4] != msg[3] ? msg[4] : '^';
}

int replay_msg_time(const char *msg, size_t len, int64_t *ms) {
  const char *v;
  size_t n, k = 0;
  char cs = comp_sep(msg, len);
  if (!replay_field(msg, len, "MSH", 7, &v, &n))
    return ERR_PARSE;
  while (k < n && v[k] != cs)
    k++;
  if (k == 0)
    return ERR_PARSE;
  return chrono_parse_hl7_ts(v, k, ms, NULL) == 0 ? 0 : ERR_PARSE;
}

struct ts_field {
  const char *seg;
  unsigned field;
};

static const struct ts_field ts_fields[] = {
    {"MSH", 7},  {"EVN", 2}, {"EVN", 6}, {"PV1", 44},
    {"PV1", 45}, {"PV2", 8}, {"PV2", 9}, {"ZTK", 2},
};

static bool is_ts_field(const char *seg, unsigned field) {
  for (size_t i = 0; i < ARRAY_LEN(ts_fields); i++)
    if (memcmp(ts_fields[i].seg, seg, 3) == 0 && ts_fields[i].field == field)
      return true;
  return false;
}

/* Appends field value [fs, fe) shifted (component 1 only). */
static int put_shifted(struct buf *out, const char *v, size_t n, char cs,
                       int64_t shift) {
  size_t k = 0;
  int64_t ms;
  struct chrono_local l;
  int y, m, d, off;
  while (k < n && v[k] != cs)
    k++;
  if (k == 0 || chrono_parse_hl7_ts(v, k, &ms, NULL) != 0)
    return buf_append(out, v, n);
  chrono_to_local(ms + shift, &l);
  chrono_civil_from_days(l.day, &y, &m, &d);
  off = l.utc_offset_min;
  if (buf_printf(out, "%04d%02d%02d%02d%02d%02d%c%02d%02d", y, m, d, l.hour,
                 l.minute, l.second, off < 0 ? '-' : '+', abs(off) / 60,
                 abs(off) % 60) < 0)
    return ERR_TOOBIG;
  return buf_append(out, v + k, n - k);
}

int replay_retime(const char *msg, size_t len, int64_t shift_ms,
                  struct buf *out, struct error *err) {
  size_t i = 0;
  char sep, cs;
  if (len < 8 || memcmp(msg, "MSH", 3) != 0)
    return buf_append(out, msg, len) == 0
               ? 0
               : error_set(err, ERR_TOOBIG, "retimed message too long");
  sep = msg[3];
  cs = comp_sep(msg, len);
  while (i < len) {
    size_t s = i, e, f;
    unsigned field;
    bool is_msh;
    /* copy line terminators as they are */
    if (msg[i] == '\r' || msg[i] == '\n') {
      if (buf_putc(out, msg[i]) < 0)
        goto toobig;
      i++;
      continue;
    }
    e = s;
    while (e < len && msg[e] != '\r' && msg[e] != '\n')
      e++;
    i = e;
    if (e - s < 4 || msg[s + 3] != sep) {
      if (buf_append(out, msg + s, e - s) < 0)
        goto toobig;
      continue;
    }
    is_msh = memcmp(msg + s, "MSH", 3) == 0;
    if (buf_append(out, msg + s, 3) < 0)
      goto toobig;
    /* fields: at msg[f] is a separator opening field number 'field' */
    field = is_msh ? 2 : 1;
    f = s + 3;
    while (f < e) {
      size_t j = f + 1;
      while (j < e && msg[j] != sep)
        j++;
      if (buf_putc(out, sep) < 0)
        goto toobig;
      if (is_ts_field(msg + s, field) && !(is_msh && field == 2)) {
        if (put_shifted(out, msg + f + 1, j - f - 1, cs, shift_ms) < 0)
          goto toobig;
      } else if (buf_append(out, msg + f + 1, j - f - 1) < 0) {
        goto toobig;
      }
      field++;
      f = j;
    }
  }
  return 0;
toobig:
  return error_set(err, ERR_TOOBIG, "retimed message too long");
}
