/*
 * tc_crypto.h: randomness, identifiers, hashes, MACs and authenticated encryption (OpenSSL).
 *
 * Identifiers are "<prefix>_<26 chars>": 48 bits of millisecond time then 80 random bits,
 * Crockford base32, so they sort by creation time and cannot be guessed.
 */
#ifndef TC_CRYPTO_H
#define TC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tc/tc_codec.h"

#define TC_ID_MAX         48 /* enough for any prefix we use + "_" + 26 + NUL */
#define TC_SHA256_LEN     32
#define TC_SHA256_HEX_LEN 65 /* 64 hex + NUL */
#define TC_AEAD_KEY_LEN   32
#define TC_AEAD_NONCE_LEN 12
#define TC_AEAD_TAG_LEN   16
#define TC_AEAD_OVERHEAD  (1 + TC_AEAD_NONCE_LEN + TC_AEAD_TAG_LEN)

/* CSPRNG bytes. TC_ERROR if the generator fails (never returns predictable bytes). */
int tc_random_bytes(void *out, size_t n);
/* The same CSPRNG for identifiers (ids, trace and span ids), drawn in 512-byte refills per
 * thread: one RAND_bytes call per id cost more than the rest of building it. Not for keys,
 * tokens or nonces: use tc_random_bytes. */
int tc_random_id_bytes(void *out, size_t n);
/* Opaque token: n random bytes, base64url without padding, prefixed (prefix may be ""). */
int tc_random_token(const char *prefix, size_t nbytes, char *out, size_t outlen);
/* Time-sortable random id with a prefix ("usr" → "usr_01J…"). */
int tc_id_new(const char *prefix, char *out, size_t outlen);
/* Checks the shape of an id with the given prefix (does not prove it exists). */
bool tc_id_valid(const char *prefix, const char *id);

void tc_sha256(const void *data, size_t n, uint8_t out[TC_SHA256_LEN]);
void tc_sha256_hex(const void *data, size_t n, char out[TC_SHA256_HEX_LEN]);
int tc_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                   uint8_t out[TC_SHA256_LEN]);
/* Constant-time comparison: 1 when equal. */
bool tc_ct_equal(const void *a, const void *b, size_t n);
/* Computes HMAC-SHA256(key, data) and compares with mac in constant time: 1 when valid. */
bool tc_hmac_sha256_verify(const void *key, size_t keylen, const void *data, size_t n,
                           const uint8_t *mac, size_t maclen);

/*
 * AES-256-GCM. Sealed format: version byte (1) || nonce (12) || ciphertext || tag (16).
 * aad (may be NULL) binds the ciphertext to its context, e.g. "org_…:connection_…", so a
 * ciphertext moved to another row or tenant fails to open.
 */
int tc_aead_seal(const uint8_t key[TC_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                 const void *plain, size_t n, uint8_t *out, size_t outlen, size_t *written);
/* TC_EINVAL when the ciphertext, tag or aad does not authenticate. */
int tc_aead_open(const uint8_t key[TC_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                 const uint8_t *sealed, size_t n, uint8_t *out, size_t outlen, size_t *written);

/*
 * Envelope encryption with per-tenant data keys: a data key (DEK) is random per tenant and
 * stored only wrapped by the key-encryption key (KEK, from config/secret). wrap/unwrap seal
 * the DEK with the KEK, using the tenant id as aad.
 */
int tc_dek_new(uint8_t dek[TC_AEAD_KEY_LEN]);
int tc_dek_wrap(const uint8_t kek[TC_AEAD_KEY_LEN], const char *tenant,
                const uint8_t dek[TC_AEAD_KEY_LEN], char *out_b64, size_t outlen);
int tc_dek_unwrap(const uint8_t kek[TC_AEAD_KEY_LEN], const char *tenant, const char *wrapped_b64,
                  uint8_t dek[TC_AEAD_KEY_LEN]);
/* Parses a 32-byte key given as 64 hex chars or base64/base64url. */
int tc_key_parse(const char *text, uint8_t key[TC_AEAD_KEY_LEN]);

#endif
