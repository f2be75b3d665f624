/* test_privacy.c -- unit tests for keys, pseudonyms, sealing and signing
 * (privacy.c).
 *
 * Every test works in its own temporary directory. Expected pseudonyms and
 * digests are computed here with libsodium directly from keys this test
 * wrote itself, so they check the construction, not just stability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "privacy.h"

struct fixture {
  char dir[64];
  char path[128];
};

static int setup(void **state) {
  struct fixture *f = mem_calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/tk-privacy-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/keys.ini", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[512];
  if (d != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  mem_free(f);
  return 0;
}

static size_t count_files(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.')
      n++;
  }
  closedir(d);
  return n;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd;
  unlink(path);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  char *s = mem_alloc(65536);
  size_t n;
  assert_non_null(fp);
  n = fread(s, 1, 65535, fp);
  s[n] = '\0';
  fclose(fp);
  return s;
}

/* Known keys: pseudonym key 01 02 .. 20, encryption key 1 = a0 a1 .., and a
 * signing key pair from seed 42 42 ... */
static void known_keys(unsigned char pkey[32], unsigned char ekey[32],
                       unsigned char seed[32], unsigned char pub[32]) {
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  int i;
  for (i = 0; i < 32; i++) {
    pkey[i] = (unsigned char)(i + 1);
    ekey[i] = (unsigned char)(0xA0 + i);
    seed[i] = 0x42;
  }
  assert_int_equal(sodium_init() >= 0, 1);
  assert_int_equal(crypto_sign_seed_keypair(pub, sk, seed), 0);
}

/* Writes a key file from the known keys; 'extra' is appended verbatim and
 * 'skip' names a line prefix to leave out. */
static void write_known(const char *path, const char *skip, const char *extra,
                        mode_t mode) {
  unsigned char pkey[32], ekey[32], seed[32], pub[32];
  char h1[65], h2[65], h3[65], h4[65];
  char text[2048];
  char lines[8][128];
  size_t i, n = 0;
  known_keys(pkey, ekey, seed, pub);
  sodium_bin2hex(h1, sizeof h1, pkey, 32);
  sodium_bin2hex(h2, sizeof h2, ekey, 32);
  sodium_bin2hex(h3, sizeof h3, seed, 32);
  sodium_bin2hex(h4, sizeof h4, pub, 32);
  snprintf(lines[0], sizeof lines[0], "[keyfile]\nversion = 1\n");
  snprintf(lines[1], sizeof lines[1], "[pseudonym]\nkey = %s\n", h1);
  snprintf(lines[2], sizeof lines[2], "[encryption]\ncurrent = 1\n");
  snprintf(lines[3], sizeof lines[3], "[encryption]\nkey.1 = %s\n", h2);
  snprintf(lines[4], sizeof lines[4], "[signing]\nseed = %s\n", h3);
  snprintf(lines[5], sizeof lines[5], "[signing]\npublic = %s\n", h4);
  text[0] = '\0';
  strcat(text, "# hand-written test key file\n");
  for (i = 0; i < 6; i++) {
    if (skip != NULL && strstr(lines[i], skip) != NULL)
      continue;
    strcat(text, lines[i]);
    n++;
  }
  if (extra != NULL)
    strcat(text, extra);
  write_file(path, text, mode);
}

static struct privacy_keys *load_ok(const char *path) {
  struct privacy_keys *k = NULL;
  struct error err;
  error_clear(&err);
  if (privacy_keys_load(path, &k, &err) != 0)
    fail_msg("load failed: %s", err.msg);
  assert_non_null(k);
  return k;
}

static void test_create_load(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k = NULL, *k2 = NULL;
  struct stat sb;
  struct error err;
  char *text;
  char p1[33], p2[33];
  mode_t old = umask(0);

  assert_int_equal(privacy_keyfile_create(f->path, &err), 0);
  umask(old);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_true(S_ISREG(sb.st_mode));
  assert_int_equal(sb.st_mode & 07777, 0600);
  text = read_file(f->path);
  assert_non_null(strstr(text, "[pseudonym]\nkey = "));
  assert_non_null(strstr(text, "current = 1\nkey.1 = "));
  assert_non_null(strstr(text, "[signing]\nseed = "));
  mem_free(text);

  k = load_ok(f->path);
  assert_int_equal(privacy_keys_current_id(k), 1);
  assert_int_equal(privacy_keys_count(k), 1);
  k2 = load_ok(f->path);
  /* same file, same pseudonyms */
  privacy_pseudonym(k, "hetu", "010101-123N", 11, p1);
  privacy_pseudonym(k2, "hetu", "010101-123N", 11, p2);
  assert_string_equal(p1, p2);
  privacy_keys_free(k);
  privacy_keys_free(k2);
  privacy_keys_free(NULL);

  /* a restrictive umask still yields exactly 0600 */
  unlink(f->path);
  old = umask(0277);
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  umask(old);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0600);
}

static void test_create_never_overwrites(void **state) {
  struct fixture *f = *state;
  struct error err;
  char *before, *after;
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  before = read_file(f->path);
  error_clear(&err);
  assert_int_equal(privacy_keyfile_create(f->path, &err), ERR_EXISTS);
  assert_int_equal(err.code, ERR_EXISTS);
  assert_non_null(strstr(err.msg, f->path));
  after = read_file(f->path);
  assert_string_equal(before, after);
  mem_free(before);
  mem_free(after);
  /* a missing directory is reported, nothing is left behind */
  assert_int_equal(privacy_keyfile_create("/nonexistent-tk/keys.ini", &err),
                   ERR_NOTFOUND);
}

static void test_load_refuses_open_modes(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k = NULL;
  struct error err;
  const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0610};
  size_t i;
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(chmod(f->path, bad[i]), 0);
    error_clear(&err);
    assert_int_equal(privacy_keys_load(f->path, &k, &err), ERR_DENIED);
    assert_null(k);
    assert_non_null(strstr(err.msg, "chmod 600"));
  }
  /* owner-only modes are fine */
  assert_int_equal(chmod(f->path, 0400), 0);
  k = load_ok(f->path);
  privacy_keys_free(k);
  k = NULL;
  /* missing file, directory */
  assert_int_equal(privacy_keys_load("/nonexistent-tk/keys.ini", &k, &err),
                   ERR_NOTFOUND);
  assert_int_equal(privacy_keys_load(f->dir, &k, &err), ERR_DENIED);
  assert_null(k);
}

static void check_bad_file(const char *path, const char *skip,
                           const char *extra, int code, const char *needle) {
  struct privacy_keys *k = NULL;
  struct error err;
  write_known(path, skip, extra, 0600);
  error_clear(&err);
  assert_int_equal(privacy_keys_load(path, &k, &err), code);
  assert_null(k);
  if (strstr(err.msg, needle) == NULL)
    fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_load_validates(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k;
  char pub_other[200], seed_hex[65];
  unsigned char seed[32], pub[32], sk[64];

  /* the hand-written file itself is good */
  write_known(f->path, NULL, NULL, 0600);
  k = load_ok(f->path);
  assert_int_equal(privacy_keys_current_id(k), 1);
  privacy_keys_free(k);

  check_bad_file(f->path, "version", NULL, ERR_PARSE, "[keyfile] version");
  check_bad_file(f->path, "[pseudonym]", NULL, ERR_PARSE, "[pseudonym] key");
  check_bad_file(f->path, "current", NULL, ERR_PARSE, "[encryption] current");
  check_bad_file(f->path, "key.1", NULL, ERR_PARSE, "[encryption] key.N");
  check_bad_file(f->path, "seed", NULL, ERR_PARSE, "[signing] seed");
  check_bad_file(f->path, "public", NULL, ERR_PARSE, "[signing] public");
  check_bad_file(f->path, NULL, "[keyfile]\nversion = 2\n", ERR_PARSE,
                 "duplicate 'version'");
  check_bad_file(f->path, "version", "[keyfile]\nversion = 2\n",
                 ERR_UNSUPPORTED, "version '2' not supported");
  check_bad_file(f->path, NULL, "[encryption]\nkey.1 = 00\n", ERR_PARSE,
                 "duplicate 'key.1'");
  check_bad_file(f->path, NULL,
                 "[encryption]\nkey.2 = "
                 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbd"
                 "be\n",
                 ERR_PARSE, "'key.2' is not 64 hex digits");
  check_bad_file(f->path, NULL,
                 "[encryption]\nkey.3 = "
                 "g0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbd"
                 "bebf\n",
                 ERR_PARSE, "'key.3' is not 64 hex digits");
  check_bad_file(f->path, NULL,
                 "[encryption]\nkey.4 = "
                 "000000000000000000000000000000000000000000000000000000000000"
                 "0000\n",
                 ERR_PARSE, "key.4 is all zero");
  check_bad_file(f->path, NULL, "[encryption]\nkey.01 = 00\n", ERR_PARSE,
                 "'key.01' does not end in a key id");
  check_bad_file(f->path, NULL, "[encryption]\nkey.4294967296 = 00\n",
                 ERR_PARSE, "does not end in a key id");
  check_bad_file(f->path, "current", "[encryption]\ncurrent = 7\n", ERR_PARSE,
                 "current key 7 has no key.7");
  check_bad_file(f->path, NULL, "[encryption]\ncolour = blue\n", ERR_PARSE,
                 "unknown field 'colour' in [encryption]");
  check_bad_file(f->path, NULL, "[other]\nkey = 1\n", ERR_PARSE,
                 "unknown field 'key' in [other]");
  check_bad_file(f->path, NULL, "this line has no equals sign\n", ERR_PARSE,
                 "line 14: malformed");

  /* a public key that is not the seed's */
  memset(seed, 0x43, sizeof seed);
  assert_int_equal(crypto_sign_seed_keypair(pub, sk, seed), 0);
  sodium_bin2hex(seed_hex, sizeof seed_hex, pub, 32);
  snprintf(pub_other, sizeof pub_other, "[signing]\npublic = %s\n", seed_hex);
  check_bad_file(f->path, "public", pub_other, ERR_PARSE,
                 "does not match the public key");
}

static void test_pseudonym_known_answer(void **state) {
  struct fixture *f = *state;
  unsigned char pkey[32], ekey[32], seed[32], pub[32], h[16];
  char expect[33], got[33], other[33];
  crypto_generichash_state st;
  struct privacy_keys *k, *k2;
  const char *id = "131052-308T";
  size_t i;

  write_known(f->path, NULL, NULL, 0600);
  k = load_ok(f->path);
  known_keys(pkey, ekey, seed, pub);
  /* BLAKE2b-128 keyed with the pseudonym key over "hetu" 0x00 id */
  assert_int_equal(crypto_generichash_init(&st, pkey, 32, 16), 0);
  assert_int_equal(
      crypto_generichash_update(&st, (const unsigned char *)"hetu", 4), 0);
  assert_int_equal(
      crypto_generichash_update(&st, (const unsigned char *)"\0", 1), 0);
  assert_int_equal(
      crypto_generichash_update(&st, (const unsigned char *)id, strlen(id)), 0);
  assert_int_equal(crypto_generichash_final(&st, h, 16), 0);
  sodium_bin2hex(expect, sizeof expect, h, 16);

  privacy_pseudonym(k, "hetu", id, strlen(id), got);
  assert_string_equal(got, expect);
  assert_int_equal(strlen(got), 32);
  for (i = 0; i < 32; i++)
    assert_true((got[i] >= '0' && got[i] <= '9') ||
                (got[i] >= 'a' && got[i] <= 'f'));
  /* deterministic */
  privacy_pseudonym(k, "hetu", id, strlen(id), other);
  assert_string_equal(got, other);
  /* another domain, another pseudonym */
  privacy_pseudonym(k, "episode", id, strlen(id), other);
  assert_string_not_equal(got, other);
  /* the separator keeps domain and id apart: "ab"+"c" != "a"+"bc" */
  privacy_pseudonym(k, "ab", "c", 1, got);
  privacy_pseudonym(k, "a", "bc", 2, other);
  assert_string_not_equal(got, other);
  /* the length bounds the id */
  privacy_pseudonym(k, "hetu", "131052-308TXYZ", strlen(id), got);
  assert_string_equal(got, expect);

  /* another key file, another pseudonym */
  assert_int_equal(unlink(f->path), 0);
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  k2 = load_ok(f->path);
  privacy_pseudonym(k2, "hetu", id, strlen(id), other);
  assert_string_not_equal(expect, other);
  privacy_keys_free(k);
  privacy_keys_free(k2);
}

static void test_digest(void **state) {
  unsigned char d[16], e[16];
  (void)state;
  assert_true(sodium_init() >= 0);
  privacy_digest("MSH|^~\\&|A", 10, d);
  assert_int_equal(crypto_generichash(e, 16,
                                      (const unsigned char *)"MSH|^~\\&|A", 10,
                                      NULL, 0),
                   0);
  assert_memory_equal(d, e, 16);
  privacy_digest("MSH|^~\\&|B", 10, e);
  assert_memory_not_equal(d, e, 16);
  privacy_digest("", 0, d);
  assert_int_equal(crypto_generichash(e, 16, NULL, 0, NULL, 0), 0);
  assert_memory_equal(d, e, 16);
}

static void test_seal_open(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k;
  const char *msg = "MSH|^~\\&|LIFECARE|...|ADT^A01|MSG0001|P|2.5\r";
  const char *ad = "lifecare\x1fMSG0001";
  unsigned char sealed[256], plain[256], *heap = NULL;
  size_t slen = 0, plen = 0, mlen = strlen(msg), i;
  uint32_t id = 0;
  struct error err;
  unsigned char *big, *bsealed, *bopen = NULL;
  size_t bl = 100000, bsl = 0, bol = 0;

  write_known(f->path, NULL, NULL, 0600);
  k = load_ok(f->path);
  assert_int_equal(privacy_sealed_len(mlen), mlen + 45);
  assert_int_equal(privacy_seal(k, msg, mlen, ad, strlen(ad), sealed,
                                sizeof sealed, &slen, &err),
                   0);
  assert_int_equal(slen, mlen + PRIVACY_SEAL_OVERHEAD);
  assert_int_equal(sealed[0], 1);
  assert_int_equal(sealed[1], 0);
  assert_int_equal(sealed[4], 1); /* key id 1, big endian */
  assert_int_equal(privacy_sealed_key_id(sealed, slen, &id, NULL), 0);
  assert_int_equal(id, 1);
  for (i = 0; i + 7 <= slen; i++) /* not plain text */
    assert_memory_not_equal(sealed + i, "ADT^A01", 7);

  assert_int_equal(privacy_open(k, sealed, slen, ad, strlen(ad), plain,
                                sizeof plain, &plen, &err),
                   0);
  assert_int_equal(plen, mlen);
  assert_memory_equal(plain, msg, mlen);
  assert_int_equal(
      privacy_open_alloc(k, sealed, slen, ad, strlen(ad), &heap, &plen, &err),
      0);
  assert_int_equal(plen, mlen);
  assert_string_equal((char *)heap, msg);
  mem_free(heap);

  /* two seals of the same text differ (random nonce) but both open */
  {
    unsigned char s2[256];
    size_t l2 = 0;
    assert_int_equal(
        privacy_seal(k, msg, mlen, ad, strlen(ad), s2, sizeof s2, &l2, NULL),
        0);
    assert_int_equal(l2, slen);
    assert_memory_not_equal(s2 + 5, sealed + 5, slen - 5);
  }

  /* empty plaintext, no additional data (NULL and "" are the same) */
  assert_int_equal(
      privacy_seal(k, "", 0, NULL, 0, sealed, sizeof sealed, &slen, NULL), 0);
  assert_int_equal(slen, 45);
  plen = 99;
  assert_int_equal(privacy_open(k, sealed, slen, "", 0, plain, 0, &plen, NULL),
                   0);
  assert_int_equal(plen, 0);

  /* output too small: refused, out_len untouched */
  slen = 7;
  assert_int_equal(
      privacy_seal(k, msg, mlen, NULL, 0, sealed, mlen + 44, &slen, &err),
      ERR_TOOBIG);
  assert_int_equal(slen, 7);
  assert_int_equal(
      privacy_seal(k, msg, mlen, NULL, 0, sealed, sizeof sealed, &slen, &err),
      0);
  plen = 3;
  assert_int_equal(
      privacy_open(k, sealed, slen, NULL, 0, plain, mlen - 1, &plen, &err),
      ERR_TOOBIG);
  assert_int_equal(plen, 3);

  /* large payload, large additional data (heap path) */
  big = mem_alloc(bl);
  bsealed = mem_alloc(privacy_sealed_len(bl));
  randombytes_buf(big, bl);
  assert_int_equal(privacy_seal(k, big, bl, big, 4000, bsealed,
                                privacy_sealed_len(bl), &bsl, NULL),
                   0);
  assert_int_equal(
      privacy_open_alloc(k, bsealed, bsl, big, 4000, &bopen, &bol, NULL), 0);
  assert_int_equal(bol, bl);
  assert_memory_equal(bopen, big, bl);
  assert_int_equal(
      privacy_open_alloc(k, bsealed, bsl, big, 3999, &heap, &bol, &err),
      ERR_CRYPTO);
  mem_free(bopen);
  mem_free(bsealed);
  mem_free(big);
  privacy_keys_free(k);
}

static void test_tampering(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k;
  const char *msg = "payload that must not change";
  const char *ad = "ch\x1fkey1";
  unsigned char sealed[128], t[128], plain[128], *heap = NULL;
  size_t slen = 0, plen = 1234, hl = 4321, i;
  struct error err;

  write_known(f->path, NULL, NULL, 0600);
  k = load_ok(f->path);
  assert_int_equal(privacy_seal(k, msg, strlen(msg), ad, strlen(ad), sealed,
                                sizeof sealed, &slen, NULL),
                   0);
  /* every single flipped bit outside the header is caught */
  for (i = 5; i < slen; i++) {
    memcpy(t, sealed, slen);
    t[i] ^= 0x01;
    error_clear(&err);
    assert_int_equal(privacy_open(k, t, slen, ad, strlen(ad), plain,
                                  sizeof plain, &plen, &err),
                     ERR_CRYPTO);
    assert_int_equal(plen, 1234);
  }
  assert_non_null(strstr(err.msg, "authentication failed"));
  /* version byte */
  memcpy(t, sealed, slen);
  t[0] = 2;
  assert_int_equal(privacy_open(k, t, slen, ad, strlen(ad), plain, sizeof plain,
                                &plen, &err),
                   ERR_UNSUPPORTED);
  /* key id naming a key we do not have */
  memcpy(t, sealed, slen);
  t[4] = 9;
  assert_int_equal(privacy_open(k, t, slen, ad, strlen(ad), plain, sizeof plain,
                                &plen, &err),
                   ERR_NOTFOUND);
  assert_non_null(strstr(err.msg, "no key with id 9"));
  /* truncated, and shorter than a header */
  assert_int_equal(privacy_open(k, sealed, slen - 1, ad, strlen(ad), plain,
                                sizeof plain, &plen, &err),
                   ERR_CRYPTO);
  assert_int_equal(privacy_open(k, sealed, 44, ad, strlen(ad), plain,
                                sizeof plain, &plen, &err),
                   ERR_CRYPTO);
  /* moved to another row: other additional data */
  assert_int_equal(privacy_open(k, sealed, slen, "ch\x1fkey2", strlen(ad),
                                plain, sizeof plain, &plen, &err),
                   ERR_CRYPTO);
  assert_int_equal(
      privacy_open_alloc(k, sealed, slen, NULL, 0, &heap, &hl, &err),
      ERR_CRYPTO);
  assert_null(heap);
  assert_int_equal(hl, 4321);
  assert_int_equal(plen, 1234);
  privacy_keys_free(k);
}

static void test_wrong_key(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k1, *k2;
  unsigned char sealed[128], plain[128];
  size_t slen = 0, plen = 0;
  char other[160];
  struct error err;

  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  snprintf(other, sizeof other, "%s/other.ini", f->dir);
  assert_int_equal(privacy_keyfile_create(other, NULL), 0);
  k1 = load_ok(f->path);
  k2 = load_ok(other);
  /* both files name their key 1, but the keys differ */
  assert_int_equal(privacy_seal(k1, "secret", 6, "ad", 2, sealed, sizeof sealed,
                                &slen, NULL),
                   0);
  assert_int_equal(
      privacy_open(k2, sealed, slen, "ad", 2, plain, sizeof plain, &plen, &err),
      ERR_CRYPTO);
  assert_int_equal(
      privacy_open(k1, sealed, slen, "ad", 2, plain, sizeof plain, &plen, &err),
      0);
  assert_memory_equal(plain, "secret", 6);
  privacy_keys_free(k1);
  privacy_keys_free(k2);
}

static void test_rotation(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k1, *k2, *k3;
  unsigned char s1[128], s2[128], plain[128], pk1[32], pk2[32];
  unsigned char sig[64];
  size_t l1 = 0, l2 = 0, pl = 0;
  uint32_t id = 0;
  struct stat sb;
  char ps1[33], ps2[33];
  struct error err;

  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  k1 = load_ok(f->path);
  assert_int_equal(privacy_seal(k1, "old", 3, "a", 1, s1, sizeof s1, &l1, NULL),
                   0);
  privacy_pseudonym(k1, "hetu", "x", 1, ps1);
  privacy_sign_public(k1, pk1);

  assert_int_equal(privacy_keys_rotate(f->path, &id, &err), 0);
  assert_int_equal(id, 2);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0600);
  assert_int_equal(count_files(f->dir), 1); /* no temporary left */

  k2 = load_ok(f->path);
  assert_int_equal(privacy_keys_count(k2), 2);
  assert_int_equal(privacy_keys_current_id(k2), 2);
  /* old payloads still open */
  assert_int_equal(
      privacy_open(k2, s1, l1, "a", 1, plain, sizeof plain, &pl, NULL), 0);
  assert_int_equal(pl, 3);
  assert_memory_equal(plain, "old", 3);
  /* new seals use the new key id; the old key set cannot open them */
  assert_int_equal(privacy_seal(k2, "new", 3, "a", 1, s2, sizeof s2, &l2, NULL),
                   0);
  assert_int_equal(privacy_sealed_key_id(s2, l2, &id, NULL), 0);
  assert_int_equal(id, 2);
  assert_int_equal(s2[4], 2);
  assert_int_equal(
      privacy_open(k1, s2, l2, "a", 1, plain, sizeof plain, &pl, &err),
      ERR_NOTFOUND);
  /* pseudonyms and the signing key survive rotation */
  privacy_pseudonym(k2, "hetu", "x", 1, ps2);
  assert_string_equal(ps1, ps2);
  privacy_sign_public(k2, pk2);
  assert_memory_equal(pk1, pk2, 32);
  privacy_sign(k2, "checkpoint", 10, sig);
  assert_true(privacy_verify(pk1, "checkpoint", 10, sig));

  /* once more: 3 keys, all payloads open */
  assert_int_equal(privacy_keys_rotate(f->path, NULL, NULL), 0);
  k3 = load_ok(f->path);
  assert_int_equal(privacy_keys_count(k3), 3);
  assert_int_equal(privacy_keys_current_id(k3), 3);
  assert_int_equal(
      privacy_open(k3, s1, l1, "a", 1, plain, sizeof plain, &pl, NULL), 0);
  assert_int_equal(
      privacy_open(k3, s2, l2, "a", 1, plain, sizeof plain, &pl, NULL), 0);
  assert_memory_equal(plain, "new", 3);
  privacy_keys_free(k1);
  privacy_keys_free(k2);
  privacy_keys_free(k3);

  /* a file others can read is refused here too, and left as it was */
  assert_int_equal(chmod(f->path, 0644), 0);
  assert_int_equal(privacy_keys_rotate(f->path, &id, &err), ERR_DENIED);
  assert_int_equal(chmod(f->path, 0600), 0);
  k1 = load_ok(f->path);
  assert_int_equal(privacy_keys_count(k1), 3);
  privacy_keys_free(k1);
}

struct rotator {
  const char *path;
  int n, failures;
};

static void *rotate_thread(void *arg) {
  struct rotator *r = arg;
  int i;
  for (i = 0; i < r->n; i++) {
    if (privacy_keys_rotate(r->path, NULL, NULL) != 0)
      r->failures++;
  }
  return NULL;
}

static void test_concurrent_rotation_loses_no_key(void **state) {
  struct fixture *f = *state;
  struct rotator r[2];
  pthread_t t[2];
  struct privacy_keys *k;
  int i;
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  for (i = 0; i < 2; i++) {
    r[i].path = f->path;
    r[i].n = 15;
    r[i].failures = 0;
    assert_int_equal(pthread_create(&t[i], NULL, rotate_thread, &r[i]), 0);
  }
  for (i = 0; i < 2; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(r[0].failures + r[1].failures, 0);
  k = load_ok(f->path);
  assert_int_equal(privacy_keys_count(k), 31);
  assert_int_equal(privacy_keys_current_id(k), 31);
  privacy_keys_free(k);
  assert_int_equal(count_files(f->dir), 1);
}

static void test_rotate_refuses_symlink(void **state) {
  struct fixture *f = *state;
  char link[160];
  struct error err;
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  snprintf(link, sizeof link, "%s/link.ini", f->dir);
  assert_int_equal(symlink(f->path, link), 0);
  assert_int_equal(privacy_keys_rotate(link, NULL, &err), ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "symbolic link"));
}

/* Re-encryption: a payload sealed under key 1 comes out under the current
 * key with the same plaintext and additional data, a fresh nonce, and the
 * same size; the old key set cannot open it, the new one can. */
static void test_reseal(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k1, *k2;
  const char *msg = "MSH|^~\\&|LIFECARE|KH|...|ADT^A01|MSG9|P|2.5\rPID|1||X\r";
  const char *ad = "lifecare|MSG9";
  unsigned char s1[256], s2[256], s3[256], plain[256];
  size_t l1 = 0, l2 = 0, l3 = 0, pl = 0, mlen = strlen(msg);
  uint32_t id = 0;
  struct error err;

  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  k1 = load_ok(f->path);
  assert_int_equal(
      privacy_seal(k1, msg, mlen, ad, strlen(ad), s1, sizeof s1, &l1, NULL), 0);
  assert_int_equal(privacy_keys_rotate(f->path, &id, NULL), 0);
  assert_int_equal(id, 2);
  k2 = load_ok(f->path);

  assert_int_equal(
      privacy_reseal(k2, s1, l1, ad, strlen(ad), s2, sizeof s2, &l2, &err), 0);
  assert_int_equal(l2, l1);
  assert_int_equal(privacy_sealed_key_id(s2, l2, &id, NULL), 0);
  assert_int_equal(id, 2);
  assert_memory_not_equal(s2 + 5, s1 + 5, 24); /* new nonce */
  assert_int_equal(
      privacy_open(k2, s2, l2, ad, strlen(ad), plain, sizeof plain, &pl, NULL),
      0);
  assert_int_equal(pl, mlen);
  assert_memory_equal(plain, msg, mlen);
  /* bound to the same additional data, and only to it */
  assert_int_equal(privacy_open(k2, s2, l2, "lifecare|MSG8", 13, plain,
                                sizeof plain, &pl, &err),
                   ERR_CRYPTO);
  /* the old key set has no key 2 */
  assert_int_equal(
      privacy_open(k1, s2, l2, ad, strlen(ad), plain, sizeof plain, &pl, &err),
      ERR_NOTFOUND);

  /* wrong additional data, tampering, a short output: refused, untouched */
  l3 = 77;
  assert_int_equal(
      privacy_reseal(k2, s1, l1, "lifecare|MSG8", 13, s3, sizeof s3, &l3, &err),
      ERR_CRYPTO);
  assert_int_equal(l3, 77);
  s1[l1 - 1] ^= 0x01;
  assert_int_equal(
      privacy_reseal(k2, s1, l1, ad, strlen(ad), s3, sizeof s3, &l3, &err),
      ERR_CRYPTO);
  s1[l1 - 1] ^= 0x01;
  assert_int_equal(
      privacy_reseal(k2, s1, l1, ad, strlen(ad), s3, l1 - 1, &l3, &err),
      ERR_TOOBIG);
  assert_int_equal(
      privacy_reseal(k2, s1, 10, ad, strlen(ad), s3, sizeof s3, &l3, &err),
      ERR_CRYPTO);
  assert_int_equal(l3, 77);
  /* a key the set does not hold */
  assert_int_equal(
      privacy_reseal(k1, s2, l2, ad, strlen(ad), s3, sizeof s3, &l3, &err),
      ERR_NOTFOUND);
  /* an empty plaintext reseals too */
  assert_int_equal(privacy_seal(k1, "", 0, NULL, 0, s1, sizeof s1, &l1, NULL),
                   0);
  assert_int_equal(
      privacy_reseal(k2, s1, l1, NULL, 0, s3, sizeof s3, &l3, &err), 0);
  assert_int_equal(l3, PRIVACY_SEAL_OVERHEAD);
  assert_int_equal(privacy_sealed_key_id(s3, l3, &id, NULL), 0);
  assert_int_equal(id, 2);
  privacy_keys_free(k1);
  privacy_keys_free(k2);
}

static void test_key_ids(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k;
  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  assert_int_equal(privacy_keys_rotate(f->path, NULL, NULL), 0);
  assert_int_equal(privacy_keys_rotate(f->path, NULL, NULL), 0);
  k = load_ok(f->path);
  assert_int_equal(privacy_keys_count(k), 3);
  assert_int_equal(privacy_keys_id_at(k, 0), 1);
  assert_int_equal(privacy_keys_id_at(k, 1), 2);
  assert_int_equal(privacy_keys_id_at(k, 2), 3);
  assert_int_equal(privacy_keys_id_at(k, 3), 0);
  assert_true(privacy_keys_has(k, 1));
  assert_true(privacy_keys_has(k, 3));
  assert_false(privacy_keys_has(k, 4));
  assert_false(privacy_keys_has(k, 0));
  privacy_keys_free(k);
}

/* Pruning keeps only the current key (and the pseudonym and signing keys),
 * rewrites the file 0600 with nothing left behind, and refuses when the
 * caller's idea of the current key is out of date. */
static void test_prune(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k1, *k3, *kp;
  unsigned char s1[128], s3[128], plain[128], pk1[32], pk2[32];
  size_t l1 = 0, l3 = 0, pl = 0, removed = 99;
  char ps1[33], ps2[33];
  struct stat sb;
  struct error err;
  char *text;

  assert_int_equal(privacy_keyfile_create(f->path, NULL), 0);
  k1 = load_ok(f->path);
  assert_int_equal(privacy_seal(k1, "one", 3, "a", 1, s1, sizeof s1, &l1, NULL),
                   0);
  privacy_pseudonym(k1, "hetu", "131052-308T", 11, ps1);
  privacy_sign_public(k1, pk1);

  /* nothing to prune: the file is not rewritten */
  assert_int_equal(stat(f->path, &sb), 0);
  {
    ino_t ino = sb.st_ino;
    assert_int_equal(privacy_keys_prune(f->path, 1, &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_ino, ino);
  }

  assert_int_equal(privacy_keys_rotate(f->path, NULL, NULL), 0);
  assert_int_equal(privacy_keys_rotate(f->path, NULL, NULL), 0);
  k3 = load_ok(f->path);
  assert_int_equal(
      privacy_seal(k3, "three", 5, "a", 1, s3, sizeof s3, &l3, NULL), 0);

  /* a stale current id: refused, file unchanged */
  removed = 99;
  assert_int_equal(privacy_keys_prune(f->path, 2, &removed, &err), ERR_STATE);
  assert_non_null(strstr(err.msg, "current key is 3"));
  assert_int_equal(removed, 99);
  kp = load_ok(f->path);
  assert_int_equal(privacy_keys_count(kp), 3);
  privacy_keys_free(kp);

  assert_int_equal(privacy_keys_prune(f->path, 3, &removed, &err), 0);
  assert_int_equal(removed, 2);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0600);
  assert_int_equal(count_files(f->dir), 1); /* no temporary left */
  kp = load_ok(f->path);
  assert_int_equal(privacy_keys_count(kp), 1);
  assert_int_equal(privacy_keys_current_id(kp), 3);
  assert_int_equal(privacy_keys_id_at(kp, 0), 3);
  /* the current key still opens what it sealed; the pruned one is gone */
  assert_int_equal(
      privacy_open(kp, s3, l3, "a", 1, plain, sizeof plain, &pl, NULL), 0);
  assert_memory_equal(plain, "three", 5);
  assert_int_equal(
      privacy_open(kp, s1, l1, "a", 1, plain, sizeof plain, &pl, &err),
      ERR_NOTFOUND);
  /* pseudonyms and the signing key are untouched */
  privacy_pseudonym(kp, "hetu", "131052-308T", 11, ps2);
  assert_string_equal(ps1, ps2);
  privacy_sign_public(kp, pk2);
  assert_memory_equal(pk1, pk2, 32);
  text = read_file(f->path);
  assert_null(strstr(text, "key.1 ="));
  assert_null(strstr(text, "key.2 ="));
  assert_non_null(strstr(text, "key.3 ="));
  assert_non_null(strstr(text, "current = 3"));
  mem_free(text);
  /* rotation continues from the highest remaining id */
  {
    uint32_t id = 0;
    assert_int_equal(privacy_keys_rotate(f->path, &id, NULL), 0);
    assert_int_equal(id, 4);
  }
  /* a file others can read is refused, like everywhere */
  assert_int_equal(chmod(f->path, 0640), 0);
  assert_int_equal(privacy_keys_prune(f->path, 4, NULL, &err), ERR_DENIED);
  privacy_keys_free(k1);
  privacy_keys_free(k3);
  privacy_keys_free(kp);
}

static void test_sign_verify(void **state) {
  struct fixture *f = *state;
  struct privacy_keys *k;
  unsigned char pk[32], sig[64], seed[32], pub[32], pkey[32], ekey[32];
  write_known(f->path, NULL, NULL, 0600);
  k = load_ok(f->path);
  known_keys(pkey, ekey, seed, pub);
  privacy_sign_public(k, pk);
  assert_memory_equal(pk, pub, 32);
  privacy_sign(k, "audit checkpoint 42", 19, sig);
  assert_true(privacy_verify(pk, "audit checkpoint 42", 19, sig));
  assert_false(privacy_verify(pk, "audit checkpoint 43", 19, sig));
  sig[0] ^= 1;
  assert_false(privacy_verify(pk, "audit checkpoint 42", 19, sig));
  privacy_keys_free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_never_overwrites, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_load_refuses_open_modes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_load_validates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pseudonym_known_answer, setup,
                                      teardown),
      cmocka_unit_test(test_digest),
      cmocka_unit_test_setup_teardown(test_seal_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampering, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_rotation_loses_no_key,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotate_refuses_symlink, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reseal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_key_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
