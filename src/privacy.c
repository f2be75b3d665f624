/* privacy.c -- keys, pseudonyms, payload encryption and signatures.
 *
 * The key file is INI text (parsed with libinih), every secret hex-encoded:
 *
 *     # tilannekuva key file ...
 *     [keyfile]
 *     version = 1
 *     [pseudonym]
 *     key = <64 hex>
 *     [encryption]
 *     current = 2
 *     key.1 = <64 hex>
 *     key.2 = <64 hex>
 *     [signing]
 *     seed = <64 hex>       Ed25519 seed; the secret key derives from it
 *     public = <64 hex>     checked against the seed on load
 *
 * Invariants:
 *  1. a loaded struct privacy_keys has a pseudonym key, at least one
 *     encryption key, a current id that names one of them, distinct ids, and
 *     a signing key pair whose public half matches the file;
 *  2. key material only ever sits in memory this module zeroes before
 *     freeing: the file's text is read with read(2) into our own buffer (no
 *     stdio buffer), and buffers holding keys are sized once, never
 *     realloc'd. (libinih copies each line into its own stack buffer; that
 *     copy is beyond our reach.)
 *  3. the key file is written only as a whole: created with O_EXCL, or
 *     replaced by rename of a fully written and fsynced temporary file,
 *     followed by an fsync of the directory; writers (rotate, prune) hold
 *     an exclusive flock on the current file, so they serialise.
 *
 * Nonces for sealing are random (libsodium's randombytes, the kernel's
 * getrandom), drawn NONCE_POOL at a time into a per-thread buffer, each
 * used once: one system call per NONCE_POOL sealed payloads instead of one
 * per payload. A fork forgets the forking thread's unused nonces
 * (pthread_atfork), so parent and child never share one.
 *
 * Thread safety: sodium_init runs once (pthread_once). A loaded key set is
 * never modified, so it may be shared between threads. The nonce buffer is
 * per thread (_Thread_local). */
#include "privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

#define KEYFILE_VERSION 1
#define ID_DIGITS_MAX 10 /* 4294967295 */
#define AD_STACK 512

struct enc_key {
  uint32_t id;
  unsigned char key[PRIVACY_KEY_BYTES];
};

struct privacy_keys {
  unsigned char pseudo[PRIVACY_KEY_BYTES];
  unsigned char sign_seed[crypto_sign_SEEDBYTES];
  unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
  uint32_t current;
  size_t current_idx;
  size_t n, cap;
  struct enc_key *enc; /* cap entries; grown by copy + wipe, not realloc */
};

/* ---- libsodium, once ---------------------------------------------------- */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void) {
  if (sodium_init() < 0) {
    /* Only when the system has no usable randomness: nothing here can
     * work safely, so stop like on out-of-memory. */
    fputs("fatal: libsodium initialisation failed\n", stderr);
    abort();
  }
}

static void ensure_sodium(void) {
  (void)pthread_once(&sodium_once, sodium_start);
}

/* ---- small helpers ------------------------------------------------------ */

static int errno_code(int e) {
  switch (e) {
  case ENOENT:
  case ENOTDIR:
    return ERR_NOTFOUND;
  case EEXIST:
    return ERR_EXISTS;
  case EACCES:
  case EPERM:
  case EROFS:
  case ELOOP:
    return ERR_DENIED;
  default:
    return ERR_IO;
  }
}

static const char *errno_text(int e, char *tmp, size_t cap) {
  if (strerror_r(e, tmp, cap) != 0)
    snprintf(tmp, cap, "errno %d", e);
  return tmp;
}

static int sys_error(struct error *err, int e, const char *what,
                     const char *path) {
  char tmp[128];
  return error_set(err, errno_code(e), "cannot %s '%s': %s", what, path,
                   errno_text(e, tmp, sizeof tmp));
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static struct privacy_keys *keys_new(void) {
  struct privacy_keys *k = mem_calloc(1, sizeof *k);
  return k;
}

void privacy_keys_free(struct privacy_keys *keys) {
  if (keys == NULL)
    return;
  if (keys->enc != NULL) {
    sodium_memzero(keys->enc, keys->cap * sizeof keys->enc[0]);
    mem_free(keys->enc);
  }
  sodium_memzero(keys, sizeof *keys);
  mem_free(keys);
}

/* Appends an encryption key; the caller checked the id is new and the count
 * below PRIVACY_KEYS_MAX. */
static void keys_add(struct privacy_keys *k, uint32_t id,
                     const unsigned char key[PRIVACY_KEY_BYTES]) {
  if (k->n == k->cap) {
    size_t ncap = k->cap ? k->cap * 2 : 4;
    struct enc_key *e = mem_calloc(ncap, sizeof *e);
    if (k->enc != NULL) {
      memcpy(e, k->enc, k->n * sizeof *e);
      sodium_memzero(k->enc, k->cap * sizeof *e);
      mem_free(k->enc);
    }
    k->enc = e;
    k->cap = ncap;
  }
  k->enc[k->n].id = id;
  memcpy(k->enc[k->n].key, key, PRIVACY_KEY_BYTES);
  k->n++;
}

static const struct enc_key *keys_find(const struct privacy_keys *k,
                                       uint32_t id) {
  size_t i;
  for (i = 0; i < k->n; i++) {
    if (k->enc[i].id == id)
      return &k->enc[i];
  }
  return NULL;
}

/* Parses a decimal key id 1..UINT32_MAX without sign or leading zeros. */
static bool parse_id(const char *s, uint32_t *out) {
  uint64_t v = 0;
  size_t i, n = strlen(s);
  if (n == 0 || n > ID_DIGITS_MAX || s[0] == '0')
    return false;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

/* Decodes exactly 'len' bytes of lowercase or uppercase hex. */
static bool parse_hex(const char *s, unsigned char *out, size_t len) {
  size_t got = 0;
  const char *end = NULL;
  if (strlen(s) != len * 2)
    return false;
  if (sodium_hex2bin(out, len, s, len * 2, NULL, &got, &end) != 0)
    return false;
  return got == len && end == s + len * 2;
}

/* ---- reading the key file ----------------------------------------------- */

struct parse {
  struct privacy_keys *k;
  struct error *err;
  const char *path;
  int rc;   /* first error, 0 while none */
  int line; /* line number of the chunk last handed to inih */
  int next_line;
  const char *text; /* the file's text and the read position */
  size_t pos, len;
  bool have_version, have_pseudo, have_current, have_seed, have_public;
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pub[crypto_sign_PUBLICKEYBYTES];
};

/* inih's reader: fgets over our buffer, counting lines. */
static char *parse_reader(char *str, int num, void *stream) {
  struct parse *p = stream;
  size_t n = 0;
  if (p->pos >= p->len || num <= 1)
    return NULL;
  p->line = p->next_line;
  while (p->pos < p->len && n < (size_t)num - 1) {
    char c = p->text[p->pos++];
    str[n++] = c;
    if (c == '\n') {
      p->next_line++;
      break;
    }
  }
  str[n] = '\0';
  return str;
}

static int parse_fail(struct parse *p, int code, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Records the first error (with its line) and tells inih this line failed. */
static int parse_fail(struct parse *p, int code, const char *fmt, ...) {
  if (p->rc == 0) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->rc = error_set(p->err, code, "key file '%s' line %d: %s", p->path,
                      p->line, msg);
  }
  return 0;
}

static int parse_handler(void *user, const char *section, const char *name,
                         const char *value) {
  struct parse *p = user;
  unsigned char key[PRIVACY_KEY_BYTES];
  uint32_t id;
  int ok = 1;

  if (p->rc != 0)
    return 0;
  if (strcmp(section, "keyfile") == 0 && strcmp(name, "version") == 0) {
    if (p->have_version)
      return parse_fail(p, ERR_PARSE, "duplicate '%s'", name);
    if (strcmp(value, "1") != 0)
      return parse_fail(p, ERR_UNSUPPORTED, "version '%s' not supported",
                        value);
    p->have_version = true;
  } else if (strcmp(section, "pseudonym") == 0 && strcmp(name, "key") == 0) {
    if (p->have_pseudo)
      return parse_fail(p, ERR_PARSE, "duplicate pseudonym '%s'", name);
    if (!parse_hex(value, p->k->pseudo, PRIVACY_KEY_BYTES))
      return parse_fail(p, ERR_PARSE, "pseudonym '%s' is not 64 hex digits",
                        name);
    p->have_pseudo = true;
  } else if (strcmp(section, "encryption") == 0 &&
             strcmp(name, "current") == 0) {
    if (p->have_current)
      return parse_fail(p, ERR_PARSE, "duplicate '%s'", name);
    if (!parse_id(value, &p->k->current))
      return parse_fail(p, ERR_PARSE, "'current' is not a key id: '%s'", value);
    p->have_current = true;
  } else if (strcmp(section, "encryption") == 0 &&
             strncmp(name, "key.", 4) == 0) {
    if (!parse_id(name + 4, &id))
      return parse_fail(p, ERR_PARSE, "'%s' does not end in a key id", name);
    if (keys_find(p->k, id) != NULL)
      return parse_fail(p, ERR_PARSE, "duplicate '%s'", name);
    if (p->k->n >= PRIVACY_KEYS_MAX)
      return parse_fail(p, ERR_RANGE, "more than %d encryption keys",
                        PRIVACY_KEYS_MAX);
    if (!parse_hex(value, key, sizeof key)) {
      sodium_memzero(key, sizeof key);
      return parse_fail(p, ERR_PARSE, "'%s' is not 64 hex digits", name);
    }
    keys_add(p->k, id, key);
    sodium_memzero(key, sizeof key);
  } else if (strcmp(section, "signing") == 0 && strcmp(name, "seed") == 0) {
    if (p->have_seed)
      return parse_fail(p, ERR_PARSE, "duplicate signing '%s'", name);
    if (!parse_hex(value, p->seed, sizeof p->seed))
      return parse_fail(p, ERR_PARSE, "signing '%s' is not 64 hex digits",
                        name);
    p->have_seed = true;
  } else if (strcmp(section, "signing") == 0 && strcmp(name, "public") == 0) {
    if (p->have_public)
      return parse_fail(p, ERR_PARSE, "duplicate signing '%s'", name);
    if (!parse_hex(value, p->pub, sizeof p->pub))
      return parse_fail(p, ERR_PARSE, "signing '%s' is not 64 hex digits",
                        name);
    p->have_public = true;
  } else {
    ok = parse_fail(p, ERR_PARSE, "unknown field '%s' in [%s]", name, section);
  }
  return ok;
}

/* Parses 'len' bytes of key file text into a new key set. */
static int parse_text(const char *path, const char *text, size_t len,
                      struct privacy_keys **out, struct error *err) {
  struct parse p;
  size_t i;
  int line, rc = 0;

  memset(&p, 0, sizeof p);
  p.k = keys_new();
  p.err = err;
  p.path = path;
  p.text = text;
  p.len = len;
  p.next_line = 1;
  line = ini_parse_stream(parse_reader, &p, parse_handler, &p);
  if (p.rc != 0) {
    rc = p.rc;
    goto out;
  }
  if (line != 0) {
    rc = error_set(err, ERR_PARSE, "key file '%s' line %d: malformed", path,
                   line);
    goto out;
  }
  if (!p.have_version || !p.have_pseudo || !p.have_current || p.k->n == 0 ||
      !p.have_seed || !p.have_public) {
    rc = error_set(err, ERR_PARSE, "key file '%s': missing %s", path,
                   !p.have_version   ? "[keyfile] version"
                   : !p.have_pseudo  ? "[pseudonym] key"
                   : !p.have_current ? "[encryption] current"
                   : p.k->n == 0     ? "[encryption] key.N"
                   : !p.have_seed    ? "[signing] seed"
                                     : "[signing] public");
    goto out;
  }
  if (sodium_is_zero(p.k->pseudo, sizeof p.k->pseudo)) {
    rc = error_set(err, ERR_PARSE, "key file '%s': pseudonym key is all zero",
                   path);
    goto out;
  }
  for (i = 0; i < p.k->n; i++) {
    if (sodium_is_zero(p.k->enc[i].key, PRIVACY_KEY_BYTES)) {
      rc = error_set(err, ERR_PARSE, "key file '%s': key.%u is all zero", path,
                     (unsigned)p.k->enc[i].id);
      goto out;
    }
    if (p.k->enc[i].id == p.k->current)
      p.k->current_idx = i;
  }
  if (keys_find(p.k, p.k->current) == NULL) {
    rc =
        error_set(err, ERR_PARSE, "key file '%s': current key %u has no key.%u",
                  path, (unsigned)p.k->current, (unsigned)p.k->current);
    goto out;
  }
  memcpy(p.k->sign_seed, p.seed, sizeof p.seed);
  if (crypto_sign_seed_keypair(p.k->sign_pk, p.k->sign_sk, p.seed) != 0 ||
      sodium_memcmp(p.k->sign_pk, p.pub, sizeof p.pub) != 0) {
    rc = error_set(err, ERR_PARSE,
                   "key file '%s': signing seed does not match the public key",
                   path);
    goto out;
  }
  *out = p.k;
  p.k = NULL;
out:
  privacy_keys_free(p.k);
  sodium_memzero(p.seed, sizeof p.seed);
  return rc;
}

/* Reads an open key file after checking what it is. *text (zeroed and freed
 * by the caller with wipe_free) gets the bytes and a NUL. */
static int read_keyfile(int fd, const char *path, char **text, size_t *len,
                        struct error *err) {
  struct stat sb;
  char *buf = NULL;
  size_t cap, n = 0;
  if (fstat(fd, &sb) != 0)
    return sys_error(err, errno, "stat key file", path);
  if (!S_ISREG(sb.st_mode))
    return error_set(err, ERR_DENIED, "key file '%s' is not a regular file",
                     path);
  if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return error_set(err, ERR_DENIED,
                     "key file '%s' is accessible by group or others "
                     "(mode %03o): run chmod 600 '%s'",
                     path, (unsigned)(sb.st_mode & 0777), path);
  if (sb.st_size < 0 || sb.st_size > PRIVACY_KEYFILE_MAX)
    return error_set(err, ERR_TOOBIG, "key file '%s' is larger than %d bytes",
                     path, PRIVACY_KEYFILE_MAX);
  /* One spare byte to notice a file that grew since fstat. */
  cap = (size_t)sb.st_size + 1;
  buf = mem_alloc(cap + 1);
  for (;;) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      sodium_memzero(buf, cap + 1);
      mem_free(buf);
      return sys_error(err, e, "read key file", path);
    }
    if (r == 0)
      break;
    n += (size_t)r;
    if (n == cap) {
      sodium_memzero(buf, cap + 1);
      mem_free(buf);
      return error_set(err, ERR_IO, "key file '%s' changed while reading",
                       path);
    }
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

static void wipe_free(char *text, size_t len) {
  if (text != NULL) {
    sodium_memzero(text, len + 1);
    mem_free(text);
  }
}

int privacy_keys_load(const char *path, struct privacy_keys **out,
                      struct error *err) {
  char *text = NULL;
  size_t len = 0;
  int fd, rc;
  ensure_sodium();
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error(err, errno, "open key file", path);
  rc = read_keyfile(fd, path, &text, &len, err);
  close(fd);
  if (rc == 0)
    rc = parse_text(path, text, len, out, err);
  wipe_free(text, len);
  return rc;
}

/* ---- writing the key file ----------------------------------------------- */

static const char keyfile_banner[] =
    "# tilannekuva key file: keep it secret (mode 0600) and back it up\n"
    "# offline. Without it sealed payloads cannot be read and pseudonyms\n"
    "# cannot be repeated. Rotate with 'tilannekuva keys rotate'.\n";

/* Formats 'k' as key file text into a buffer sized once (so no partial
 * copy of a secret is left behind by a realloc). Free with wipe_free. */
static char *format_keyfile(const struct privacy_keys *k, size_t *len_out) {
  size_t cap = sizeof keyfile_banner + 512 + k->n * 96;
  char *t = mem_alloc(cap);
  char hex[2 * 32 + 1];
  size_t n = 0, i;
  int w;

#define EMIT(...)                                                              \
  do {                                                                         \
    w = snprintf(t + n, cap - n, __VA_ARGS__);                                 \
    if (ALWAYS(w >= 0 && (size_t)w < cap - n))                                 \
      n += (size_t)w;                                                          \
  } while (0)

  EMIT("%s\n[keyfile]\nversion = %d\n\n", keyfile_banner, KEYFILE_VERSION);
  sodium_bin2hex(hex, sizeof hex, k->pseudo, sizeof k->pseudo);
  EMIT("[pseudonym]\nkey = %s\n\n", hex);
  EMIT("[encryption]\ncurrent = %u\n", (unsigned)k->current);
  for (i = 0; i < k->n; i++) {
    sodium_bin2hex(hex, sizeof hex, k->enc[i].key, PRIVACY_KEY_BYTES);
    EMIT("key.%u = %s\n", (unsigned)k->enc[i].id, hex);
  }
  sodium_bin2hex(hex, sizeof hex, k->sign_seed, sizeof k->sign_seed);
  EMIT("\n[signing]\nseed = %s\n", hex);
  sodium_bin2hex(hex, sizeof hex, k->sign_pk, sizeof k->sign_pk);
  EMIT("public = %s\n", hex);
#undef EMIT
  sodium_memzero(hex, sizeof hex);
  *len_out = n;
  return t;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

/* The directory part of 'path' ("." when none), mem_alloc'd. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    return mem_strdup(".");
  if (slash == path)
    return mem_strdup("/");
  return mem_strndup(path, (size_t)(slash - path));
}

static int fsync_dir(const char *path, struct error *err) {
  char *dir = dir_of(path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = 0;
  if (fd < 0 || fsync(fd) != 0)
    rc = sys_error(err, errno, "sync directory", dir);
  if (fd >= 0)
    close(fd);
  mem_free(dir);
  return rc;
}

int privacy_keyfile_create(const char *path, struct error *err) {
  struct privacy_keys *k = NULL;
  unsigned char key[PRIVACY_KEY_BYTES];
  char *text = NULL;
  size_t len = 0;
  int fd = -1, rc = 0;
  bool created = false;

  ensure_sodium();
  k = keys_new();
  randombytes_buf(k->pseudo, sizeof k->pseudo);
  randombytes_buf(key, sizeof key);
  keys_add(k, 1, key);
  sodium_memzero(key, sizeof key);
  k->current = 1;
  randombytes_buf(k->sign_seed, sizeof k->sign_seed);
  if (crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, k->sign_seed) != 0) {
    rc = error_set(err, ERR_CRYPTO, "cannot derive signing key pair");
    goto out;
  }
  text = format_keyfile(k, &len);

  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    rc = sys_error(err, errno, "create key file", path);
    goto out;
  }
  created = true;
  /* The umask can only have narrowed 0600; make it exactly 0600. */
  if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 ||
      fsync(fd) != 0) {
    rc = sys_error(err, errno, "write key file", path);
    goto out;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = sys_error(err, errno, "write key file", path);
    goto out;
  }
  fd = -1;
  rc = fsync_dir(path, err);
out:
  if (fd >= 0)
    close(fd);
  if (rc < 0 && created)
    (void)unlink(path);
  wipe_free(text, len);
  privacy_keys_free(k);
  return rc;
}

/* Writes 'text' to a new temporary file beside 'path' and renames it over
 * 'path', syncing file and directory. */
static int replace_file(const char *path, const char *text, size_t len,
                        struct error *err) {
  size_t plen = strlen(path);
  char *tmp = mem_alloc(plen + 8);
  int fd, rc = 0;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".XXXXXX", 8);
  fd = mkstemp(tmp); /* mode 0600 */
  if (fd < 0) {
    rc = sys_error(err, errno, "create temporary key file", tmp);
    mem_free(tmp);
    return rc;
  }
  if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 ||
      fsync(fd) != 0) {
    rc = sys_error(err, errno, "write temporary key file", tmp);
    close(fd);
    goto fail;
  }
  if (close(fd) != 0) {
    rc = sys_error(err, errno, "write temporary key file", tmp);
    goto fail;
  }
  if (rename(tmp, path) != 0) {
    rc = sys_error(err, errno, "replace key file", path);
    goto fail;
  }
  mem_free(tmp);
  return fsync_dir(path, err);
fail:
  (void)unlink(tmp);
  mem_free(tmp);
  return rc;
}

/* Opens the key file at 'path', takes an exclusive flock on it, makes sure
 * it is still the file at 'path' (a rotation that ran while we waited has
 * renamed a new one in) and parses it. On success *fd_out holds the lock
 * (close it to release) and *out owns the keys. */
static int lock_and_parse(const char *path, int *fd_out,
                          struct privacy_keys **out, struct error *err) {
  char *text = NULL;
  size_t len = 0;
  int fd = -1, rc = 0, attempt;
  struct stat lsb, fsb;

  for (attempt = 0;; attempt++) {
    if (lstat(path, &lsb) != 0)
      return sys_error(err, errno, "open key file", path);
    if (S_ISLNK(lsb.st_mode))
      return error_set(err, ERR_UNSUPPORTED,
                       "key file '%s' is a symbolic link: rotate the file it "
                       "points to",
                       path);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return sys_error(err, errno, "open key file", path);
    if (flock(fd, LOCK_EX) != 0) {
      rc = sys_error(err, errno, "lock key file", path);
      goto out;
    }
    if (fstat(fd, &fsb) != 0) {
      rc = sys_error(err, errno, "stat key file", path);
      goto out;
    }
    if (lstat(path, &lsb) == 0 && lsb.st_dev == fsb.st_dev &&
        lsb.st_ino == fsb.st_ino)
      break;
    close(fd);
    fd = -1;
    if (attempt >= 100)
      return error_set(err, ERR_AGAIN, "key file '%s' keeps changing", path);
  }
  rc = read_keyfile(fd, path, &text, &len, err);
  if (rc == 0)
    rc = parse_text(path, text, len, out, err);
out:
  wipe_free(text, len);
  if (rc < 0) {
    if (fd >= 0)
      close(fd);
    return rc;
  }
  *fd_out = fd;
  return 0;
}

int privacy_keys_rotate(const char *path, uint32_t *new_id, struct error *err) {
  struct privacy_keys *k = NULL;
  unsigned char key[PRIVACY_KEY_BYTES];
  char *out_text = NULL;
  size_t out_len = 0, i;
  uint32_t id = 0;
  int fd = -1, rc;

  ensure_sodium();
  rc = lock_and_parse(path, &fd, &k, err);
  if (rc < 0)
    return rc;
  if (k->n >= PRIVACY_KEYS_MAX) {
    rc = error_set(err, ERR_RANGE, "key file '%s' already holds %d keys", path,
                   PRIVACY_KEYS_MAX);
    goto out;
  }
  for (i = 0; i < k->n; i++) {
    if (k->enc[i].id > id)
      id = k->enc[i].id;
  }
  if (id == UINT32_MAX) {
    rc = error_set(err, ERR_RANGE, "key file '%s': key ids exhausted", path);
    goto out;
  }
  id++;
  randombytes_buf(key, sizeof key);
  keys_add(k, id, key);
  sodium_memzero(key, sizeof key);
  k->current = id;
  k->current_idx = k->n - 1;
  out_text = format_keyfile(k, &out_len);
  rc = replace_file(path, out_text, out_len, err);
  if (rc == 0 && new_id != NULL)
    *new_id = id;
out:
  close(fd); /* releases the lock */
  wipe_free(out_text, out_len);
  privacy_keys_free(k);
  return rc;
}

int privacy_keys_prune(const char *path, uint32_t keep_id, size_t *removed,
                       struct error *err) {
  struct privacy_keys *k = NULL;
  char *out_text = NULL;
  size_t out_len = 0, n_old;
  int fd = -1, rc;

  ensure_sodium();
  rc = lock_and_parse(path, &fd, &k, err);
  if (rc < 0)
    return rc;
  if (k->current != keep_id) {
    rc = error_set(err, ERR_STATE,
                   "cannot prune key file '%s': its current key is %u, not "
                   "%u (rotated meanwhile?)",
                   path, (unsigned)k->current, (unsigned)keep_id);
    goto out;
  }
  n_old = k->n - 1;
  if (n_old > 0) {
    struct enc_key cur = k->enc[k->current_idx];
    /* The survivor moves to slot 0; the rest is wiped (keys_add never
     * reallocates in place, and format_keyfile reads only k->n). */
    sodium_memzero(k->enc, k->cap * sizeof k->enc[0]);
    k->enc[0] = cur;
    sodium_memzero(&cur, sizeof cur);
    k->n = 1;
    k->current_idx = 0;
    out_text = format_keyfile(k, &out_len);
    rc = replace_file(path, out_text, out_len, err);
  }
  if (rc == 0 && removed != NULL)
    *removed = n_old;
out:
  close(fd);
  wipe_free(out_text, out_len);
  privacy_keys_free(k);
  return rc;
}

uint32_t privacy_keys_current_id(const struct privacy_keys *keys) {
  return keys->current;
}

size_t privacy_keys_count(const struct privacy_keys *keys) { return keys->n; }

uint32_t privacy_keys_id_at(const struct privacy_keys *keys, size_t i) {
  return i < keys->n ? keys->enc[i].id : 0;
}

bool privacy_keys_has(const struct privacy_keys *keys, uint32_t id) {
  return keys_find(keys, id) != NULL;
}

/* ---- pseudonyms and digests --------------------------------------------- */

void privacy_pseudonym(const struct privacy_keys *keys, const char *domain,
                       const char *id, size_t len,
                       char out[PRIVACY_PSEUDONYM_HEX]) {
  crypto_generichash_state st;
  unsigned char h[PRIVACY_PSEUDONYM_BYTES];
  ensure_sodium();
  /* Keyed BLAKE2b with valid sizes cannot fail. */
  (void)crypto_generichash_init(&st, keys->pseudo, sizeof keys->pseudo,
                                sizeof h);
  /* The domain's NUL is the 0x00 separator. */
  (void)crypto_generichash_update(&st, (const unsigned char *)domain,
                                  strlen(domain) + 1);
  (void)crypto_generichash_update(&st, (const unsigned char *)id, len);
  (void)crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(out, PRIVACY_PSEUDONYM_HEX, h, sizeof h);
  sodium_memzero(&st, sizeof st);
}

void privacy_digest(const void *data, size_t len,
                    unsigned char out[PRIVACY_DIGEST_BYTES]) {
  ensure_sodium();
  (void)crypto_generichash(out, PRIVACY_DIGEST_BYTES, data, len, NULL, 0);
}

/* ---- nonces ----------------------------------------------------------------
 */

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define NONCE_POOL 64 /* nonces drawn per refill */

static _Thread_local struct {
  unsigned char b[NONCE_POOL * NONCE_BYTES];
  unsigned left; /* unused nonces at the start of b */
} nonce_pool;

static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonce_pool_forget(void) {
  sodium_memzero(&nonce_pool, sizeof nonce_pool);
}

static void nonce_init(void) {
  /* Fails only without memory; a fork (which this program does not do)
   * could then reuse nonces, so stop rather than seal without it. */
  if (pthread_atfork(NULL, NULL, nonce_pool_forget) != 0)
    abort();
}

/* Writes a fresh random nonce, never handed out before, to 'out'. */
static void fresh_nonce(unsigned char out[NONCE_BYTES]) {
  unsigned char *p;
  pthread_once(&nonce_once, nonce_init);
  if (nonce_pool.left == 0) {
    randombytes_buf(nonce_pool.b, sizeof nonce_pool.b);
    nonce_pool.left = NONCE_POOL;
  }
  nonce_pool.left--;
  p = nonce_pool.b + (size_t)nonce_pool.left * NONCE_BYTES;
  memcpy(out, p, NONCE_BYTES);
  sodium_memzero(p, NONCE_BYTES);
}

/* ---- payload encryption ------------------------------------------------- */

size_t privacy_sealed_len(size_t plain_len) {
  return plain_len + PRIVACY_SEAL_OVERHEAD;
}

/* Builds header || ad in 'stack' when it fits, else in a new buffer. */
static unsigned char *full_ad(const unsigned char *header, const void *ad,
                              size_t ad_len, unsigned char *stack) {
  unsigned char *p = stack;
  if (ad_len > AD_STACK - 5)
    p = mem_alloc(5 + ad_len);
  memcpy(p, header, 5);
  if (ad_len > 0)
    memcpy(p + 5, ad, ad_len);
  return p;
}

int privacy_seal(const struct privacy_keys *keys, const void *plain, size_t len,
                 const void *ad, size_t ad_len, unsigned char *out,
                 size_t out_cap, size_t *out_len, struct error *err) {
  const struct enc_key *k = &keys->enc[keys->current_idx];
  unsigned char stack[AD_STACK];
  unsigned char *a;
  unsigned long long clen = 0;
  int rc = 0;

  ensure_sodium();
  if (len > PRIVACY_PLAIN_MAX || ad_len > PRIVACY_PLAIN_MAX)
    return error_set(err, ERR_TOOBIG, "cannot seal %zu bytes: more than %u",
                     len > ad_len ? len : ad_len, PRIVACY_PLAIN_MAX);
  if (out_cap < privacy_sealed_len(len))
    return error_set(err, ERR_TOOBIG,
                     "cannot seal: output holds %zu bytes, needs %zu", out_cap,
                     privacy_sealed_len(len));
  out[0] = PRIVACY_SEAL_VERSION;
  put_be32(out + 1, k->id);
  fresh_nonce(out + 5);
  a = full_ad(out, ad, ad_len, stack);
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          out + PRIVACY_SEAL_HEADER, &clen, plain, len, a, 5 + ad_len, NULL,
          out + 5, k->key) != 0)
    rc = error_set(err, ERR_CRYPTO, "cannot seal payload");
  if (a != stack)
    mem_free(a);
  if (rc == 0)
    *out_len = PRIVACY_SEAL_HEADER + (size_t)clen;
  return rc;
}

/* Checks the header; *key gets the key to open with. */
static int check_sealed(const struct privacy_keys *keys, const unsigned char *s,
                        size_t sealed_len, const struct enc_key **key,
                        struct error *err) {
  uint32_t id;
  if (sealed_len < PRIVACY_SEAL_OVERHEAD)
    return error_set(err, ERR_CRYPTO,
                     "cannot open sealed payload: %zu bytes is too short",
                     sealed_len);
  if (s[0] != PRIVACY_SEAL_VERSION)
    return error_set(err, ERR_UNSUPPORTED,
                     "cannot open sealed payload: version %u not supported",
                     (unsigned)s[0]);
  id = get_be32(s + 1);
  *key = keys_find(keys, id);
  if (*key == NULL)
    return error_set(err, ERR_NOTFOUND,
                     "cannot open sealed payload: no key with id %u",
                     (unsigned)id);
  return 0;
}

int privacy_open(const struct privacy_keys *keys, const void *sealed,
                 size_t sealed_len, const void *ad, size_t ad_len,
                 unsigned char *out, size_t out_cap, size_t *out_len,
                 struct error *err) {
  const unsigned char *s = sealed;
  const struct enc_key *k = NULL;
  unsigned char stack[AD_STACK];
  unsigned char *a;
  unsigned long long mlen = 0;
  int rc;

  ensure_sodium();
  if (ad_len > PRIVACY_PLAIN_MAX)
    return error_set(err, ERR_TOOBIG, "cannot open: additional data too long");
  rc = check_sealed(keys, s, sealed_len, &k, err);
  if (rc < 0)
    return rc;
  if (out_cap < sealed_len - PRIVACY_SEAL_OVERHEAD)
    return error_set(err, ERR_TOOBIG,
                     "cannot open: output holds %zu bytes, needs %zu", out_cap,
                     sealed_len - PRIVACY_SEAL_OVERHEAD);
  a = full_ad(s, ad, ad_len, stack);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out, &mlen, NULL, s + PRIVACY_SEAL_HEADER,
          sealed_len - PRIVACY_SEAL_HEADER, a, 5 + ad_len, s + 5, k->key) != 0)
    rc = error_set(err, ERR_CRYPTO,
                   "cannot open sealed payload: authentication failed");
  if (a != stack)
    mem_free(a);
  if (rc == 0)
    *out_len = (size_t)mlen;
  return rc;
}

int privacy_open_alloc(const struct privacy_keys *keys, const void *sealed,
                       size_t sealed_len, const void *ad, size_t ad_len,
                       unsigned char **out, size_t *out_len,
                       struct error *err) {
  const struct enc_key *k = NULL;
  unsigned char *p;
  size_t n = 0, cap;
  int rc = check_sealed(keys, sealed, sealed_len, &k, err);
  if (rc < 0)
    return rc;
  cap = sealed_len - PRIVACY_SEAL_OVERHEAD;
  p = mem_alloc(cap + 1);
  rc = privacy_open(keys, sealed, sealed_len, ad, ad_len, p, cap, &n, err);
  if (rc < 0) {
    mem_free(p);
    return rc;
  }
  p[n] = '\0';
  *out = p;
  *out_len = n;
  return 0;
}

int privacy_reseal(const struct privacy_keys *keys, const void *sealed,
                   size_t sealed_len, const void *ad, size_t ad_len,
                   unsigned char *out, size_t out_cap, size_t *out_len,
                   struct error *err) {
  const struct enc_key *k = NULL;
  unsigned char *plain;
  size_t cap, n = 0, got = 0;
  int rc = check_sealed(keys, sealed, sealed_len, &k, err);
  if (rc < 0)
    return rc;
  cap = sealed_len - PRIVACY_SEAL_OVERHEAD;
  if (out_cap < privacy_sealed_len(cap))
    return error_set(err, ERR_TOOBIG,
                     "cannot reseal: output holds %zu bytes, needs %zu",
                     out_cap, privacy_sealed_len(cap));
  /* +1: a zero-length plaintext still gets a buffer to wipe. */
  plain = mem_alloc(cap + 1);
  rc = privacy_open(keys, sealed, sealed_len, ad, ad_len, plain, cap, &n, err);
  if (rc == 0)
    rc = privacy_seal(keys, plain, n, ad, ad_len, out, out_cap, &got, err);
  sodium_memzero(plain, cap + 1);
  mem_free(plain);
  if (rc == 0)
    *out_len = got;
  return rc;
}

int privacy_sealed_key_id(const void *sealed, size_t sealed_len, uint32_t *id,
                          struct error *err) {
  const unsigned char *s = sealed;
  if (sealed_len < PRIVACY_SEAL_OVERHEAD || s[0] != PRIVACY_SEAL_VERSION)
    return error_set(err, ERR_PARSE, "not a sealed payload of version %d",
                     PRIVACY_SEAL_VERSION);
  *id = get_be32(s + 1);
  return 0;
}

/* ---- signatures --------------------------------------------------------- */

void privacy_sign(const struct privacy_keys *keys, const void *msg, size_t len,
                  unsigned char sig[PRIVACY_SIGNATURE_BYTES]) {
  ensure_sodium();
  (void)crypto_sign_detached(sig, NULL, msg, len, keys->sign_sk);
}

void privacy_sign_public(const struct privacy_keys *keys,
                         unsigned char pk[PRIVACY_SIGN_PUBLIC_BYTES]) {
  memcpy(pk, keys->sign_pk, PRIVACY_SIGN_PUBLIC_BYTES);
}

bool privacy_verify(const unsigned char pk[PRIVACY_SIGN_PUBLIC_BYTES],
                    const void *msg, size_t len,
                    const unsigned char sig[PRIVACY_SIGNATURE_BYTES]) {
  ensure_sodium();
  return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}
