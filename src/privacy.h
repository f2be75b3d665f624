/* privacy.h -- keys, pseudonyms, payload encryption and signatures.
 *
 * Everything secret Tilannekuva holds lives in one key file, a text INI file
 * of mode 0600 (see privacy.c for the format):
 *  - a 32-byte pseudonym key: personal identity codes and episode ids become
 *    keyed BLAKE2b pseudonyms (privacy_pseudonym), stable for a key, so the
 *    analytics side can count and join without seeing who anyone is;
 *  - one or more 32-byte payload encryption keys with numeric ids, one of
 *    them current: raw messages are sealed with XChaCha20-Poly1305 under the
 *    current key (privacy_seal) and opened with whichever key id the sealed
 *    bytes name, so rotation (privacy_keys_rotate) never strands old data;
 *    privacy_reseal moves one payload to the current key, and
 *    privacy_keys_prune drops the older keys once nothing needs them;
 *  - an Ed25519 key pair that signs the audit log's checkpoints.
 *
 * Sealed format (version 1), all of it authenticated:
 *
 *     +---------+----------------+-------------+-----------------------+
 *     | 1: ver  | 4: key id (BE) | 24: nonce   | ciphertext + 16: tag  |
 *     +---------+----------------+-------------+-----------------------+
 *
 * The 5 header bytes are bound as additional data together with the
 * caller's own (for example channel + source key), so a sealed payload moved
 * to another row, or given another key id, does not open.
 *
 * libsodium is initialised once, lazily and thread-safely, inside this
 * module; callers need not call sodium_init.
 *
 * Thread safety: a loaded struct privacy_keys is immutable and may be shared
 * by any number of threads; every function here is thread-safe. */
#ifndef TK_PRIVACY_H
#define TK_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "err.h"

#define PRIVACY_KEY_BYTES 32
#define PRIVACY_PSEUDONYM_BYTES 16 /* 32 hex characters */
#define PRIVACY_PSEUDONYM_HEX 33   /* with the NUL; == EVENT_PSEUDO_MAX */
#define PRIVACY_DIGEST_BYTES 16    /* == STORE_DIGEST_BYTES */
#define PRIVACY_SEAL_VERSION 1
#define PRIVACY_SEAL_HEADER 29        /* version + key id + nonce */
#define PRIVACY_SEAL_OVERHEAD 45      /* header + tag */
#define PRIVACY_PLAIN_MAX (64u << 20) /* the most one seal may hold */
#define PRIVACY_KEYS_MAX 1024         /* encryption keys in one key file */
#define PRIVACY_KEYFILE_MAX                                                    \
  262144 /* bytes; far above PRIVACY_KEYS_MAX keys                             \
          */
#define PRIVACY_SIGN_PUBLIC_BYTES 32
#define PRIVACY_SIGNATURE_BYTES 64

struct privacy_keys;

/* ---- the key file ------------------------------------------------------- */

/* Creates a new key file at 'path' with fresh random keys (encryption key id
 * 1 current), mode 0600, and fsyncs it and its directory. Never overwrites:
 * ERR_EXISTS when 'path' exists. ERR_DENIED when the directory is not
 * writable, ERR_IO otherwise; a partly written file is removed. */
NODISCARD int privacy_keyfile_create(const char *path, struct error *err);

/* Loads and validates the key file at 'path'. Refuses (ERR_DENIED) a file
 * that group or others may access in any way, or that is not a regular
 * file; ERR_NOTFOUND when missing; ERR_PARSE naming the line or field when
 * malformed (wrong hex length, unknown field, duplicate or missing key, a
 * current id without a key, a signing seed that does not give the stored
 * public key). On success *out owns the keys (privacy_keys_free); on failure
 * *out is untouched and no key material is left in freed memory. */
NODISCARD int privacy_keys_load(const char *path, struct privacy_keys **out,
                                struct error *err);

/* Wipes and frees. Accepts NULL. */
void privacy_keys_free(struct privacy_keys *keys);

/* Adds a new encryption key to the key file at 'path' (id = highest + 1) and
 * makes it current; every other key stays, so payloads sealed before still
 * open. The file is rewritten atomically (temporary file of mode 0600, fsync,
 * rename, fsync of the directory) under an exclusive lock, so concurrent
 * rotations serialise instead of losing a key. Processes holding loaded keys
 * keep sealing with the old key until they load again. *new_id (may be
 * NULL) gets the new key's id. Errors as privacy_keys_load, plus ERR_RANGE
 * when the file already holds PRIVACY_KEYS_MAX keys or the ids ran out, and
 * ERR_IO. */
NODISCARD int privacy_keys_rotate(const char *path, uint32_t *new_id,
                                  struct error *err);

/* Removes every encryption key but 'keep_id' from the key file at 'path',
 * which must be its current key (ERR_STATE otherwise, e.g. when another
 * rotation ran since the caller checked), with the same atomic rewrite and
 * lock as privacy_keys_rotate. Payloads sealed under a removed key can never
 * be opened again: the caller must first make sure none is left (the
 * 'keys prune' command checks every stored payload). *removed (may be
 * NULL) gets the number of keys removed, 0 when only 'keep_id' was there
 * (the file is then not rewritten). Errors as privacy_keys_rotate. */
NODISCARD int privacy_keys_prune(const char *path, uint32_t keep_id,
                                 size_t *removed, struct error *err);

/* The id of the current encryption key (the one privacy_seal uses). */
uint32_t privacy_keys_current_id(const struct privacy_keys *keys);

/* The number of encryption keys held. */
size_t privacy_keys_count(const struct privacy_keys *keys);

/* The id of the i-th encryption key, in key file order (0 when i is not
 * below privacy_keys_count). */
uint32_t privacy_keys_id_at(const struct privacy_keys *keys, size_t i);

/* True when 'keys' holds an encryption key with id 'id'. */
bool privacy_keys_has(const struct privacy_keys *keys, uint32_t id);

/* ---- pseudonyms and digests --------------------------------------------- */

/* Writes the pseudonym of 'id' (len bytes) in 'domain' ("hetu", "episode",
 * ...) to 'out' as 32 lowercase hex characters and a NUL: BLAKE2b-128 keyed
 * with the pseudonym key over domain || 0x00 || id. Deterministic for one
 * key; distinct domains give unrelated pseudonyms for the same id. */
void privacy_pseudonym(const struct privacy_keys *keys, const char *domain,
                       const char *id, size_t len,
                       char out[PRIVACY_PSEUDONYM_HEX]);

/* Unkeyed BLAKE2b-128 of 'len' bytes: a content digest for recognising
 * resends (not a secret, not a pseudonym). */
void privacy_digest(const void *data, size_t len,
                    unsigned char out[PRIVACY_DIGEST_BYTES]);

/* ---- payload encryption ------------------------------------------------- */

/* The sealed size of 'plain_len' bytes (plain_len + PRIVACY_SEAL_OVERHEAD),
 * for plain_len <= PRIVACY_PLAIN_MAX. */
size_t privacy_sealed_len(size_t plain_len);

/* Encrypts 'len' bytes at 'plain' under the current key with a random nonce,
 * binding 'ad' (ad_len bytes; may be NULL when 0) to the result, and writes
 * privacy_sealed_len(len) bytes to 'out' (which must not overlap 'plain').
 * ERR_TOOBIG when len exceeds PRIVACY_PLAIN_MAX or out_cap is too small;
 * *out_len untouched then. Thread-safe. */
NODISCARD int privacy_seal(const struct privacy_keys *keys, const void *plain,
                           size_t len, const void *ad, size_t ad_len,
                           unsigned char *out, size_t out_cap, size_t *out_len,
                           struct error *err);

/* Decrypts what privacy_seal wrote, with the same 'ad', into 'out' (at least
 * sealed_len - PRIVACY_SEAL_OVERHEAD bytes). ERR_CRYPTO when the data was
 * tampered with, truncated, bound to other additional data or sealed under
 * another key file; ERR_NOTFOUND when the key id is not in 'keys';
 * ERR_UNSUPPORTED for an unknown format version; ERR_TOOBIG when out_cap is
 * too small. On failure *out_len is untouched and 'out' may have been
 * zeroed. */
NODISCARD int privacy_open(const struct privacy_keys *keys, const void *sealed,
                           size_t sealed_len, const void *ad, size_t ad_len,
                           unsigned char *out, size_t out_cap, size_t *out_len,
                           struct error *err);

/* As privacy_open, into a buffer allocated here: *out (freed with mem_free;
 * one spare NUL byte follows the plaintext) and *out_len. Both untouched on
 * failure. */
NODISCARD int privacy_open_alloc(const struct privacy_keys *keys,
                                 const void *sealed, size_t sealed_len,
                                 const void *ad, size_t ad_len,
                                 unsigned char **out, size_t *out_len,
                                 struct error *err);

/* Re-encrypts a sealed payload under the current key: opens 'sealed' with
 * the key it names and 'ad', and seals the plaintext again with a fresh
 * nonce and the same 'ad' into 'out' (not overlapping 'sealed'; out_cap at
 * least sealed_len: the sealed size does not change). The plaintext only
 * ever sits in a buffer this function wipes before returning. Errors as
 * privacy_open and privacy_seal; *out_len untouched on failure. A payload
 * already under the current key gets a new nonce (callers skip those with
 * privacy_sealed_key_id). Thread-safe. */
NODISCARD int privacy_reseal(const struct privacy_keys *keys,
                             const void *sealed, size_t sealed_len,
                             const void *ad, size_t ad_len, unsigned char *out,
                             size_t out_cap, size_t *out_len,
                             struct error *err);

/* Reads the key id a sealed payload names (for re-encryption after a
 * rotation). ERR_PARSE when 'sealed' is shorter than a sealed payload or of
 * an unknown version; *id untouched then. */
NODISCARD int privacy_sealed_key_id(const void *sealed, size_t sealed_len,
                                    uint32_t *id, struct error *err);

/* ---- signatures --------------------------------------------------------- */

/* Ed25519 signature of 'len' bytes with the key file's signing key. */
void privacy_sign(const struct privacy_keys *keys, const void *msg, size_t len,
                  unsigned char sig[PRIVACY_SIGNATURE_BYTES]);

/* The signing public key, for publishing next to signed checkpoints. */
void privacy_sign_public(const struct privacy_keys *keys,
                         unsigned char pk[PRIVACY_SIGN_PUBLIC_BYTES]);

/* True when 'sig' is a valid signature of 'msg' under public key 'pk'. */
bool privacy_verify(const unsigned char pk[PRIVACY_SIGN_PUBLIC_BYTES],
                    const void *msg, size_t len,
                    const unsigned char sig[PRIVACY_SIGNATURE_BYTES]);

#endif
