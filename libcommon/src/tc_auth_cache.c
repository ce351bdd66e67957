/*
 * Verified-token cache: direct-mapped slots keyed by SHA-256 of the token, striped mutexes.
 * Entries carry the key-set epoch current when their verification started; a reload that
 * drops a kid bumps the epoch, so tokens of a withdrawn key stop verifying at once instead of
 * living on in the cache until they expire.
 */
#include "tc_auth_int.h"

/* ------------------------------------------------------------------------- cache */

static size_t cache_slot(const tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN])
{
    uint64_t v;
    memcpy(&v, hash, sizeof v);
    return (size_t)(v % a->cache_n);
}

auth_cache_hit_t auth_cache_get(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch,
                                int64_t now_s, tc_principal_t *out)
{
    size_t slot = cache_slot(a, hash);
    pthread_mutex_t *mu = &a->cache_mu[slot % CACHE_STRIPES];
    cache_entry_t *e = &a->cache[slot];
    auth_cache_hit_t res = AUTH_CACHE_MISS;
    pthread_mutex_lock(mu);
    if (e->used && CRYPTO_memcmp(e->hash, hash, TC_SHA256_LEN) == 0) {
        if (e->epoch != epoch) {
            e->used = 0;
        } else if (now_s > e->p.exp + a->leeway_s) {
            e->used = 0;
            res = AUTH_CACHE_EXPIRED;
        } else {
            *out = e->p;
            res = AUTH_CACHE_HIT;
        }
    }
    pthread_mutex_unlock(mu);
    return res;
}

void auth_cache_put(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch,
                    const tc_principal_t *p)
{
    size_t slot = cache_slot(a, hash);
    pthread_mutex_t *mu = &a->cache_mu[slot % CACHE_STRIPES];
    cache_entry_t *e = &a->cache[slot];
    pthread_mutex_lock(mu);
    memcpy(e->hash, hash, TC_SHA256_LEN);
    e->epoch = epoch;
    e->p = *p;
    e->used = 1;
    pthread_mutex_unlock(mu);
}
