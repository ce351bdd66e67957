/*
 * tc_keyring.h: per-tenant data keys for application-level encryption of PII and
 * credentials (DESIGN §6).
 *
 * Each tenant (org) gets a random AES-256 data key (DEK), stored in `tenant_keys` only
 * wrapped by the service's key-encryption key (KEK, a secret from the environment). DEKs are
 * created in their own short transaction — never inside the caller's, whose rollback would
 * otherwise leave a cached key that was never stored — and cached in memory afterwards.
 *
 * Field values are sealed with AES-256-GCM using "<tenant>|<context>" as associated data,
 * so a ciphertext copied to another tenant or another column does not decrypt.
 */
#ifndef TC_KEYRING_H
#define TC_KEYRING_H

#include <stdint.h>
#include "tc/tc_crypto.h"
#include "tc/tc_db.h"

typedef struct tc_keyring tc_keyring_t;

tc_keyring_t *tc_keyring_new(tc_db_t *db, const uint8_t kek[TC_AEAD_KEY_LEN]);
void tc_keyring_free(tc_keyring_t *k);

/* The tenant's DEK; created when `create` and absent. TC_ENOTFOUND when absent and !create. */
int tc_keyring_dek(tc_keyring_t *k, const char *tenant, int create, uint8_t dek[TC_AEAD_KEY_LEN]);

/* Seals text into base64url; *out is malloc'd. */
int tc_keyring_seal(tc_keyring_t *k, const char *tenant, const char *context, const char *plain,
                    char **out);
/* Opens what tc_keyring_seal produced; TC_EINVAL when it does not authenticate. */
int tc_keyring_open(tc_keyring_t *k, const char *tenant, const char *context, const char *sealed,
                    char **out);

/* Keyed hash of a value under a tenant-derived key (blind index for equality/prefix lookups
 * on encrypted columns): base64url of the first 16 bytes of HMAC-SHA256. out: 24 bytes. */
int tc_keyring_blind(tc_keyring_t *k, const char *tenant, const char *purpose, const void *data,
                     size_t n, char out[24]);

/* Platform-wide blind index of an email address (case-insensitive): base64url of the first
 * 16 bytes of HMAC-SHA256(key, lower-cased email). Services that look people up by email
 * (user, auth) share the key (EMAIL_INDEX_KEY), so they compute the same value. out: 24. */
int tc_email_index(const uint8_t key[TC_SHA256_LEN], const char *email, char out[24]);

#endif
