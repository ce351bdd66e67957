#include "tc/tc_keyring.h"
#include "tc/tc_hash.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TC_KEYRING_SLOTS 1024

typedef struct {
    char tenant[64];
    uint8_t dek[TC_AEAD_KEY_LEN];
    int used;
} tc_kslot_t;

struct tc_keyring {
    tc_db_t *db;
    uint8_t kek[TC_AEAD_KEY_LEN];
    pthread_mutex_t lock;
    tc_kslot_t slots[TC_KEYRING_SLOTS]; /* direct-mapped cache by tenant hash */
};

tc_keyring_t *tc_keyring_new(tc_db_t *db, const uint8_t kek[TC_AEAD_KEY_LEN])
{
    tc_keyring_t *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->db = db;
    memcpy(k->kek, kek, TC_AEAD_KEY_LEN);
    pthread_mutex_init(&k->lock, NULL);
    return k;
}

void tc_keyring_free(tc_keyring_t *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    /* key material should not linger in freed memory */
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

/* FNV-1a: the slot only spreads tenants over the cache (a collision costs one reload from
 * the database, never a wrong key, as the slot keeps its tenant's name); a SHA-256 here was
 * three digests per user read. */
static unsigned slot_of(const char *tenant)
{
    return tc_fnv1a32(tenant, strlen(tenant)) % TC_KEYRING_SLOTS;
}

static int cache_get(tc_keyring_t *k, const char *tenant, uint8_t dek[TC_AEAD_KEY_LEN])
{
    tc_kslot_t *s = &k->slots[slot_of(tenant)];
    int hit = 0;
    pthread_mutex_lock(&k->lock);
    if (s->used && strcmp(s->tenant, tenant) == 0) {
        memcpy(dek, s->dek, TC_AEAD_KEY_LEN);
        hit = 1;
    }
    pthread_mutex_unlock(&k->lock);
    return hit;
}

static void cache_put(tc_keyring_t *k, const char *tenant, const uint8_t dek[TC_AEAD_KEY_LEN])
{
    tc_kslot_t *s = &k->slots[slot_of(tenant)];
    pthread_mutex_lock(&k->lock);
    snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
    memcpy(s->dek, dek, TC_AEAD_KEY_LEN);
    s->used = 1;
    pthread_mutex_unlock(&k->lock);
}

static int load(tc_keyring_t *k, tc_dbconn_t *c, const char *tenant, uint8_t dek[TC_AEAD_KEY_LEN])
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tc_keyring_get",
                      "SELECT wrapped_dek FROM tenant_keys WHERE tenant=$1", tenant);
    if (rc != TC_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TC_ENOTFOUND;
    }
    rc = tc_dek_unwrap(k->kek, tenant, tc_db_val(r, 0, 0), dek);
    PQclear(r);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_ERROR, "tenant key does not unwrap (wrong KEK?)", "tenant", tenant, NULL);
    return rc;
}

static int create(tc_keyring_t *k, tc_dbconn_t *c, const char *tenant)
{
    uint8_t dek[TC_AEAD_KEY_LEN];
    char wrapped[128];
    int rc = tc_dek_new(dek);
    if (rc == TC_OK)
        rc = tc_dek_wrap(k->kek, tenant, dek, wrapped, sizeof wrapped);
    OPENSSL_cleanse(dek, sizeof dek);
    if (rc != TC_OK)
        return rc;
    /* a concurrent creator may win; its key is then the one loaded afterwards */
    return tc_db_qp(c, NULL, "tc_keyring_put",
                    "INSERT INTO tenant_keys (tenant, wrapped_dek) VALUES ($1,$2)"
                    " ON CONFLICT DO NOTHING",
                    tenant, wrapped);
}

int tc_keyring_dek(tc_keyring_t *k, const char *tenant, int want_create,
                   uint8_t dek[TC_AEAD_KEY_LEN])
{
    if (strlen(tenant) >= sizeof k->slots[0].tenant)
        return TC_EINVAL;
    if (cache_get(k, tenant, dek))
        return TC_OK;
    tc_dbconn_t *c = tc_db_acquire(k->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = load(k, c, tenant, dek);
    if (rc == TC_ENOTFOUND && want_create) {
        rc = create(k, c, tenant);
        if (rc == TC_OK)
            rc = load(k, c, tenant, dek);
    }
    tc_db_release(k->db, c);
    if (rc == TC_OK)
        cache_put(k, tenant, dek);
    return rc;
}

static void make_aad(char *aad, size_t n, const char *tenant, const char *context)
{
    snprintf(aad, n, "%s|%s", tenant, context);
}

int tc_keyring_seal(tc_keyring_t *k, const char *tenant, const char *context, const char *plain,
                    char **out)
{
    uint8_t dek[TC_AEAD_KEY_LEN];
    char aad[160];
    *out = NULL;
    int rc = tc_keyring_dek(k, tenant, 1, dek);
    if (rc != TC_OK)
        return rc;
    size_t n = strlen(plain), cap = n + TC_AEAD_OVERHEAD, written = 0;
    uint8_t *sealed = malloc(cap);
    char *text = malloc(cap * 4 / 3 + 8);
    if (!sealed || !text) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    make_aad(aad, sizeof aad, tenant, context);
    rc = tc_aead_seal(dek, aad, strlen(aad), plain, n, sealed, cap, &written);
    if (rc == TC_OK && tc_b64url_encode(sealed, written, text, cap * 4 / 3 + 8) < 0)
        rc = TC_ERROR;
    if (rc == TC_OK) {
        *out = text;
        text = NULL;
    }
cleanup:
    OPENSSL_cleanse(dek, sizeof dek);
    free(sealed);
    free(text);
    return rc;
}

int tc_keyring_open(tc_keyring_t *k, const char *tenant, const char *context, const char *sealed,
                    char **out)
{
    uint8_t dek[TC_AEAD_KEY_LEN];
    char aad[160];
    *out = NULL;
    int rc = tc_keyring_dek(k, tenant, 0, dek);
    if (rc != TC_OK)
        return rc == TC_ENOTFOUND ? TC_EINVAL : rc;
    size_t n = strlen(sealed), written = 0;
    uint8_t *raw = malloc(n + 1);
    char *plain = malloc(n + 1);
    long rawlen;
    if (!raw || !plain) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    rawlen = tc_b64url_decode(sealed, n, raw, n + 1);
    if (rawlen < 0) {
        rc = TC_EINVAL;
        goto cleanup;
    }
    make_aad(aad, sizeof aad, tenant, context);
    rc = tc_aead_open(dek, aad, strlen(aad), raw, (size_t)rawlen, (uint8_t *)plain, n, &written);
    if (rc == TC_OK) {
        plain[written] = '\0';
        *out = plain;
        plain = NULL;
    }
cleanup:
    OPENSSL_cleanse(dek, sizeof dek);
    free(raw);
    free(plain);
    return rc;
}

int tc_keyring_blind(tc_keyring_t *k, const char *tenant, const char *purpose, const void *data,
                     size_t n, char out[24])
{
    uint8_t dek[TC_AEAD_KEY_LEN], subkey[TC_SHA256_LEN], mac[TC_SHA256_LEN];
    /* a subkey per purpose: the DEK itself never keys a MAC */
    int rc = tc_keyring_dek(k, tenant, 1, dek);
    if (rc == TC_OK)
        rc = tc_hmac_sha256(dek, sizeof dek, purpose, strlen(purpose), subkey);
    if (rc == TC_OK)
        rc = tc_hmac_sha256(subkey, sizeof subkey, data, n, mac);
    if (rc == TC_OK && tc_b64url_encode(mac, 16, out, 24) < 0)
        rc = TC_ERROR;
    OPENSSL_cleanse(dek, sizeof dek);
    OPENSSL_cleanse(subkey, sizeof subkey);
    return rc;
}

int tc_email_index(const uint8_t key[TC_SHA256_LEN], const char *email, char out[24])
{
    uint8_t mac[TC_SHA256_LEN];
    size_t n = strlen(email);
    char *lower = malloc(n + 1);
    if (!lower)
        return TC_ENOMEM;
    /* ASCII only: the domain is case-insensitive and everyone treats the local part so */
    for (size_t i = 0; i <= n; i++)
        lower[i] = (email[i] >= 'A' && email[i] <= 'Z') ? (char)(email[i] - 'A' + 'a') : email[i];
    int rc = tc_hmac_sha256(key, TC_SHA256_LEN, lower, n, mac);
    free(lower);
    if (rc == TC_OK && tc_b64url_encode(mac, 16, out, 24) < 0)
        rc = TC_ERROR;
    return rc;
}
