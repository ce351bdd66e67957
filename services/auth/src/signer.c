/*
 * Signing keys. Auth holds at most one 'current' key (signs every token), one 'next' key
 * (published in the JWKS before it signs anything, so every verifier already has it when
 * rotation promotes it) and 'retired' keys (published until the last token they signed has
 * expired). Private keys are stored sealed with the key-encryption key (AES-256-GCM bound to
 * the kid). Every replica reloads the table periodically, so a rotation done by one replica
 * reaches the others without coordination beyond the database.
 */
#include "signer.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 16

typedef struct {
    char kid[48];
    char state[16];
    EVP_PKEY *key; /* private key for current/next; NULL for retired */
    cJSON *jwk;    /* public JWK */
} skey_t;

struct auth_signer {
    auth_app_t *app;
    pthread_rwlock_t lock;
    skey_t keys[MAX_KEYS];
    int n;
    int current; /* index of the signing key, -1 when none */
    cJSON *dev_jwk;
};

static void keys_clear(skey_t *keys, int n)
{
    for (int i = 0; i < n; i++) {
        EVP_PKEY_free(keys[i].key);
        cJSON_Delete(keys[i].jwk);
    }
}

/* ------------------------------------------------------------------ sealing */

static char *pem_of(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL, *data = NULL;
    if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (out = malloc((size_t)n + 1))) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(bio);
    return out;
}

static void aad_for(const char *kid, char *out, size_t n)
{
    snprintf(out, n, "signing_key|%.60s", kid);
}

static char *seal_key(const auth_app_t *app, const char *kid, EVP_PKEY *key)
{
    char aad[96], *pem = pem_of(key), *text = NULL;
    uint8_t *sealed = NULL;
    size_t written = 0;
    if (!pem)
        return NULL;
    size_t n = strlen(pem), cap = n + TC_AEAD_OVERHEAD;
    sealed = malloc(cap);
    text = malloc(cap * 4 / 3 + 8);
    aad_for(kid, aad, sizeof aad);
    if (!sealed || !text ||
        tc_aead_seal(app->kek, aad, strlen(aad), pem, n, sealed, cap, &written) != TC_OK ||
        tc_b64url_encode(sealed, written, text, cap * 4 / 3 + 8) < 0) {
        free(text);
        text = NULL;
    }
    OPENSSL_cleanse(pem, n);
    free(pem);
    free(sealed);
    return text;
}

static EVP_PKEY *open_key(const auth_app_t *app, const char *kid, const char *sealed_b64)
{
    char aad[96];
    size_t n = strlen(sealed_b64), written = 0;
    uint8_t *raw = malloc(n + 1);
    char *pem = malloc(n + 1);
    EVP_PKEY *key = NULL;
    ssize_t rawlen = raw ? tc_b64url_decode(sealed_b64, n, raw, n + 1) : -1;
    aad_for(kid, aad, sizeof aad);
    if (pem && rawlen > 0 &&
        tc_aead_open(app->kek, aad, strlen(aad), raw, (size_t)rawlen, (uint8_t *)pem, n,
                     &written) == TC_OK) {
        BIO *bio = BIO_new_mem_buf(pem, (int)written);
        if (bio)
            key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        OPENSSL_cleanse(pem, written);
    }
    if (!key)
        tc_log_kv(TC_LOG_ERROR, "signing key does not open (wrong DATA_KEK?)", "kid", kid, NULL);
    free(raw);
    free(pem);
    return key;
}

/* ------------------------------------------------------------------ generation */

static int insert_new_key(auth_app_t *app, tc_dbconn_t *tx, const char *state)
{
    char kid[48], rnd[32];
    if (tc_random_token("", 9, rnd, sizeof rnd) != TC_OK)
        return TC_ERROR;
    char day[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), day);
    snprintf(kid, sizeof kid, "%.4s%.2s%.2s-%s", day, day + 5, day + 8, rnd);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!key)
        return TC_ERROR;
    char *sealed = seal_key(app, kid, key);
    cJSON *jwk = tc_jwk_from_pkey(key, kid);
    char *jwk_text = jwk ? cJSON_PrintUnformatted(jwk) : NULL;
    int rc = (sealed && jwk_text) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = store_signing_insert(tx, kid, sealed, jwk_text, state);
    if (rc == TC_OK)
        tc_log_kv(TC_LOG_INFO, "signing key created", "kid", kid, "state", state, NULL);
    free(sealed);
    free(jwk_text);
    cJSON_Delete(jwk);
    EVP_PKEY_free(key);
    return rc;
}

/* Creates the first current/next pair, or just a missing next, under a transaction-scoped
 * advisory lock so replicas starting together create one set. */
static int ensure_keys(auth_signer_t *s)
{
    tc_dbconn_t *tx = tc_db_acquire(s->app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int current = 0, next = 0;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_signing_lock(tx);
    if (rc == TC_OK)
        rc = store_signing_counts(tx, &current, &next);
    if (rc == TC_OK && current == 0)
        rc = insert_new_key(s->app, tx, "current");
    if (rc == TC_OK && next == 0)
        rc = insert_new_key(s->app, tx, "next");
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(s->app->db, tx);
    return rc;
}

/* ------------------------------------------------------------------ loading */

/* Retired keys stay published as long as a token they signed can be valid. */
#define PUBLISH_RETIRED_S(app) ((app)->sessions.access_ttl_s + 300)

static int read_keys(auth_signer_t *s, tc_dbconn_t *c, skey_t *keys, int *n, int *current)
{
    store_signing_key_t *rows = NULL;
    int nrows = 0;
    int rc = store_signing_keys(c, PUBLISH_RETIRED_S(s->app), &rows, &nrows);
    *n = 0;
    *current = -1;
    for (int i = 0; rc == TC_OK && i < nrows && *n < MAX_KEYS; i++) {
        skey_t *k = &keys[*n];
        memset(k, 0, sizeof *k);
        snprintf(k->kid, sizeof k->kid, "%s", rows[i].kid);
        snprintf(k->state, sizeof k->state, "%s", rows[i].state);
        k->jwk = cJSON_Parse(rows[i].public_jwk);
        bool retired = strcmp(k->state, "retired") == 0;
        if (!retired)
            k->key = open_key(s->app, k->kid, rows[i].private_enc);
        if (!k->jwk || (!retired && !k->key)) {
            keys_clear(k, 1);
            rc = TC_ERROR;
            break;
        }
        if (strcmp(k->state, "current") == 0)
            *current = *n;
        (*n)++;
    }
    store_signing_keys_free(rows, nrows);
    if (rc == TC_OK && *current < 0)
        rc = TC_ENOTFOUND;
    if (rc != TC_OK)
        keys_clear(keys, *n);
    return rc;
}

static int install(auth_signer_t *s, skey_t *keys, int n, int current)
{
    pthread_rwlock_wrlock(&s->lock);
    skey_t old[MAX_KEYS];
    int oldn = s->n;
    memcpy(old, s->keys, sizeof old);
    memcpy(s->keys, keys, sizeof s->keys);
    s->n = n;
    s->current = current;
    pthread_rwlock_unlock(&s->lock);
    keys_clear(old, oldn);
    /* auth verifies its own tokens against exactly what it publishes */
    char *jwks = signer_jwks(s);
    int rc = jwks ? tc_auth_set_jwks(s->app->verifier, jwks) : TC_ENOMEM;
    free(jwks);
    return rc;
}

int signer_load(auth_signer_t *s)
{
    skey_t keys[MAX_KEYS];
    memset(keys, 0, sizeof keys);
    int n = 0, current = -1;
    int rc = ensure_keys(s);
    tc_dbconn_t *c = rc == TC_OK ? tc_db_acquire(s->app->db) : NULL;
    if (!c)
        return rc == TC_OK ? TC_EUNAVAIL : rc;
    rc = read_keys(s, c, keys, &n, &current);
    tc_db_release(s->app->db, c);
    if (rc == TC_OK)
        rc = install(s, keys, n, current);
    return rc;
}

static cJSON *load_dev_jwk(const auth_app_t *app)
{
    if (!app->dev_key_file || !app->dev_kid)
        return NULL;
    EVP_PKEY *key = tc_pkey_load_pem(app->dev_key_file);
    cJSON *jwk = key ? tc_jwk_from_pkey(key, app->dev_kid) : NULL;
    EVP_PKEY_free(key);
    if (jwk)
        tc_log_kv(TC_LOG_WARN, "publishing the development signing key (never in production)",
                  "kid", app->dev_kid, NULL);
    else
        tc_log_kv(TC_LOG_ERROR, "cannot load the development signing key", NULL);
    return jwk;
}

auth_signer_t *signer_new(auth_app_t *app)
{
    auth_signer_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->app = app;
    s->current = -1;
    pthread_rwlock_init(&s->lock, NULL);
    s->dev_jwk = load_dev_jwk(app);
    return s;
}

void signer_free(auth_signer_t *s)
{
    if (!s)
        return;
    keys_clear(s->keys, s->n);
    cJSON_Delete(s->dev_jwk);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

/* ------------------------------------------------------------------ use */

int signer_sign(auth_signer_t *s, const cJSON *claims, char **jwt)
{
    pthread_rwlock_rdlock(&s->lock);
    int rc = TC_EUNAVAIL;
    if (s->current >= 0)
        rc = tc_jwt_sign_rs256(s->keys[s->current].key, s->keys[s->current].kid, claims, jwt);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

char *signer_jwks(auth_signer_t *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "keys") : NULL;
    int ok = arr != NULL;
    pthread_rwlock_rdlock(&s->lock);
    for (int i = 0; ok && i < s->n; i++) {
        cJSON *k = cJSON_Duplicate(s->keys[i].jwk, 1);
        ok = k && cJSON_AddItemToArray(arr, k);
    }
    pthread_rwlock_unlock(&s->lock);
    if (ok && s->dev_jwk) {
        cJSON *k = cJSON_Duplicate(s->dev_jwk, 1);
        ok = k && cJSON_AddItemToArray(arr, k);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int signer_rotate(auth_signer_t *s, int min_age_h, char *kid, size_t kidlen)
{
    tc_dbconn_t *tx = tc_db_acquire(s->app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_signing_lock(tx);
    if (rc == TC_OK && min_age_h > 0)
        rc = store_signing_due(tx, min_age_h); /* not due, or another replica just rotated */
    if (rc == TC_OK)
        rc = store_signing_promote(tx, kid, kidlen);
    if (rc == TC_OK)
        rc = insert_new_key(s->app, tx, "next");
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(s->app->db, tx);
    if (rc == TC_OK)
        rc = signer_load(s);
    return rc;
}
