/*
 * Key sets: parsed into EVP_PKEYs once per load and published as an immutable, refcounted
 * snapshot. Readers take a reference under a mutex held for two instructions; a reload builds
 * the next snapshot without any lock and swaps the pointer, so verification never waits for
 * a fetch (except a token whose kid is unknown, which waits for the one refetch in flight
 * because that refetch is its only chance to succeed).
 */
#include "tc_auth_int.h"

/* ------------------------------------------------------------------------- key sets */

static void keyset_free(keyset_t *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks);
}

static keyset_t *keyset_acquire(tc_auth_t *a)
{
    pthread_mutex_lock(&a->ks_mu);
    keyset_t *ks = a->ks;
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&a->ks_mu);
    return ks;
}

void auth_keyset_release(keyset_t *ks)
{
    if (ks && atomic_fetch_sub(&ks->refs, 1) == 1)
        keyset_free(ks);
}

EVP_PKEY *auth_keyset_find(const keyset_t *ks, const char *kid)
{
    for (size_t i = 0; ks && i < ks->n; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            return ks->keys[i].pkey;
    return NULL;
}

/* 1 when some kid of `old` is missing from `next`. */
static bool keyset_dropped_keys(const keyset_t *old, const keyset_t *next)
{
    for (size_t i = 0; old && i < old->n; i++)
        if (!auth_keyset_find(next, old->keys[i].kid))
            return true;
    return false;
}

/* Only RSA signing keys meant for RS256 (or not saying) and of a sane size are used; a key
 * without a kid only when kidless (kept under "": another issuer's lone key). */
static EVP_PKEY *jwk_for_rs256(const cJSON *jwk, bool kidless, const char **kid)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    if ((!k && !kidless) ||
        (k && (!cJSON_IsString(k) || !k->valuestring[0] || strlen(k->valuestring) >= KID_MAX)))
        return NULL;
    if ((use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0)) ||
        (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0)))
        return NULL;
    EVP_PKEY *pkey = tc_pkey_from_jwk(jwk);
    int bits = pkey ? EVP_PKEY_get_bits(pkey) : 0;
    if (pkey && (bits < RSA_MIN_BITS || bits > RSA_MAX_BYTES * 8)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    *kid = k ? k->valuestring : "";
    return pkey;
}

int auth_keyset_parse(const char *text, bool kidless, keyset_t **out)
{
    *out = NULL;
    keyset_t *ks = NULL;
    const cJSON *jwk = NULL;
    cJSON *root = cJSON_Parse(text);
    const cJSON *keys = root ? cJSON_GetObjectItemCaseSensitive(root, "keys") : NULL;
    int rc = TC_EINVAL;
    if (!cJSON_IsArray(keys))
        goto cleanup;
    ks = calloc(1, sizeof *ks + (size_t)cJSON_GetArraySize(keys) * sizeof ks->keys[0]);
    if (!ks) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    atomic_init(&ks->refs, 1);
    cJSON_ArrayForEach(jwk, keys)
    {
        const char *kid = NULL;
        EVP_PKEY *pkey = jwk_for_rs256(jwk, kidless, &kid);
        if (!pkey)
            continue; /* other algorithms and encryption keys may share the set */
        if (auth_keyset_find(ks, kid)) {
            EVP_PKEY_free(pkey); /* first occurrence of a kid wins */
            continue;
        }
        snprintf(ks->keys[ks->n].kid, KID_MAX, "%s", kid);
        ks->keys[ks->n++].pkey = pkey;
    }
    /* An empty or unusable set is treated as a failed load so the current keys stay. */
    if (ks->n == 0) {
        keyset_free(ks);
        goto cleanup;
    }
    *out = ks;
    rc = TC_OK;
cleanup:
    cJSON_Delete(root);
    return rc;
}

static int read_file(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return TC_ENOTFOUND;
    int rc = TC_ENOMEM;
    size_t n = 0;
    char *buf = malloc(JWKS_MAX + 1);
    if (!buf)
        goto cleanup;
    n = fread(buf, 1, JWKS_MAX + 1, f);
    if (ferror(f) || n > JWKS_MAX) {
        rc = TC_EINVAL;
        free(buf);
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    rc = TC_OK;
cleanup:
    fclose(f);
    return rc;
}

static int fetch_url(tc_auth_t *a, char **out)
{
    *out = NULL;
    tc_httpc_resp_t r;
    int rc = tc_httpc_do(a->http, &(tc_httpc_req_t){.url = a->jwks_url}, &r);
    if (rc == TC_OK && r.status != 200)
        rc = TC_EUNAVAIL;
    else if (rc == TC_OK && r.body_len > JWKS_MAX)
        rc = TC_EINVAL;
    if (rc == TC_OK) {
        *out = r.body; /* ownership moves to the caller */
        r.body = NULL;
    }
    tc_httpc_resp_free(&r);
    return rc;
}

void auth_keyset_install(tc_auth_t *a, keyset_t *next)
{
    pthread_mutex_lock(&a->ks_mu);
    keyset_t *old = a->ks;
    a->ks = next;
    pthread_mutex_unlock(&a->ks_mu);
    /* After the swap, so no verification can start on the old set with the new epoch. */
    if (keyset_dropped_keys(old, next))
        atomic_fetch_add(&a->epoch, 1);
    auth_keyset_release(old);
}

static int keyset_load(tc_auth_t *a)
{
    if (a->manual) {
        /* nothing to fetch: the owner installs keys with tc_auth_set_jwks */
        keyset_t *ks = keyset_acquire(a);
        int rc = ks && ks->n ? TC_OK : TC_EUNAVAIL;
        auth_keyset_release(ks);
        return rc;
    }
    char *text = NULL;
    keyset_t *ks = NULL;
    const char *source = a->jwks_url ? a->jwks_url : a->jwks_file;
    int rc = a->jwks_url ? fetch_url(a, &text) : read_file(a->jwks_file, &text);
    if (rc == TC_OK)
        rc = auth_keyset_parse(text, false, &ks);
    free(text);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "jwks load failed, keeping current keys", "source", source, "error",
                  tc_strerror(rc), NULL);
        return rc;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", ks->n);
    auth_keyset_install(a, ks);
    tc_log_kv(TC_LOG_INFO, "jwks loaded", "source", source, "keys", count, NULL);
    return TC_OK;
}

/* ------------------------------------------------------------------------- reloads */

static bool reload_claim(tc_auth_t *a, reload_kind_t kind, int *rc)
{
    if (a->reloading) {
        if (kind == RELOAD_PERIODIC) {
            *rc = TC_EAGAIN; /* someone else is on it; keep using the current set */
            return false;
        }
        uint64_t gen = a->reload_gen;
        while (a->reloading && a->reload_gen == gen)
            pthread_cond_wait(&a->reload_cv, &a->reload_mu);
        if (kind == RELOAD_UNKNOWN_KID) {
            *rc = a->last_reload_rc; /* that refetch was ours too */
            return false;
        }
        while (a->reloading)
            pthread_cond_wait(&a->reload_cv, &a->reload_mu);
    }
    int64_t now = tc_mono_ms();
    if (kind == RELOAD_PERIODIC && now < atomic_load(&a->next_refresh_ms)) {
        *rc = TC_OK; /* refreshed while we were deciding */
        return false;
    }
    if (kind == RELOAD_UNKNOWN_KID) {
        if (a->last_refetch_ms != NEVER && now - a->last_refetch_ms < a->refetch_ms) {
            *rc = TC_EAGAIN;
            return false;
        }
        a->last_refetch_ms = now;
    }
    a->reloading = 1;
    return true;
}

/* Runs at most one load at a time; see reload_claim for who waits and who does not. */
int auth_reload(tc_auth_t *a, reload_kind_t kind)
{
    int rc = TC_OK;
    pthread_mutex_lock(&a->reload_mu);
    bool mine = reload_claim(a, kind, &rc);
    pthread_mutex_unlock(&a->reload_mu);
    if (!mine)
        return rc;

    rc = keyset_load(a);

    int64_t retry = a->refetch_ms < a->refresh_ms ? a->refetch_ms : a->refresh_ms;
    pthread_mutex_lock(&a->reload_mu);
    a->reloading = 0;
    a->reload_gen++;
    a->last_reload_rc = rc;
    atomic_store(&a->next_refresh_ms, tc_mono_ms() + (rc == TC_OK ? a->refresh_ms : retry));
    pthread_cond_broadcast(&a->reload_cv);
    pthread_mutex_unlock(&a->reload_mu);
    return rc;
}

int tc_auth_set_jwks(tc_auth_t *a, const char *jwks_json)
{
    keyset_t *ks = NULL;
    if (!a || !a->manual || !jwks_json)
        return TC_EINVAL;
    int rc = auth_keyset_parse(jwks_json, false, &ks);
    if (rc == TC_OK)
        auth_keyset_install(a, ks);
    return rc;
}

int tc_auth_reload(tc_auth_t *a)
{
    return a ? auth_reload(a, RELOAD_EXPLICIT) : TC_EINVAL;
}

size_t tc_auth_key_count(tc_auth_t *a)
{
    if (!a)
        return 0;
    keyset_t *ks = keyset_acquire(a);
    int n = ks ? (int)ks->n : 0;
    auth_keyset_release(ks);
    return n;
}

/* The key for `kid`, with a reference on the set that holds it (release after use). */
keyset_t *auth_key_for(tc_auth_t *a, const char *kid, EVP_PKEY **pkey, const char **why)
{
    if (tc_mono_ms() >= atomic_load(&a->next_refresh_ms))
        auth_reload(a, RELOAD_PERIODIC);
    keyset_t *ks = keyset_acquire(a);
    *pkey = auth_keyset_find(ks, kid);
    if (*pkey)
        return ks;
    auth_keyset_release(ks);
    /* Whatever the refetch reports, a concurrent one may have brought the key: look again. */
    auth_reload(a, RELOAD_UNKNOWN_KID);
    ks = keyset_acquire(a);
    *pkey = auth_keyset_find(ks, kid);
    if (*pkey)
        return ks;
    *why = ks ? "unknown_kid" : "no_keys";
    auth_keyset_release(ks);
    return NULL;
}
