/* API-key introspection cache (see apikey_cache.h). */
#include "apikey_cache.h"
#include "tc/tc_core.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 16

typedef struct entry {
    struct entry *next;
    uint8_t hash[TC_SHA256_LEN];
    int negative;
    int64_t expires_ms;
    tc_principal_t p;
    char key_id[64];
    char *token;
} entry_t;

typedef struct {
    pthread_mutex_t mu;
    entry_t **buckets;
    int nbuckets;
    int count;
} stripe_t;

struct gw_apikeys {
    stripe_t stripes[STRIPES];
    int per_stripe;
    atomic_uint_fast64_t generation;
};

static void entry_free(entry_t *e)
{
    if (e->token) {
        OPENSSL_cleanse(e->token, strlen(e->token));
        free(e->token);
    }
    free(e);
}

gw_apikeys_t *gw_apikeys_new(int capacity)
{
    gw_apikeys_t *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->per_stripe = capacity / STRIPES > 0 ? capacity / STRIPES : 1;
    atomic_init(&k->generation, 0);
    for (int i = 0; i < STRIPES; i++) {
        stripe_t *s = &k->stripes[i];
        pthread_mutex_init(&s->mu, NULL);
        s->nbuckets = k->per_stripe;
        if (!(s->buckets = calloc((size_t)s->nbuckets, sizeof *s->buckets))) {
            gw_apikeys_free(k);
            return NULL;
        }
    }
    return k;
}

void gw_apikeys_free(gw_apikeys_t *k)
{
    if (!k)
        return;
    for (int i = 0; i < STRIPES; i++) {
        stripe_t *s = &k->stripes[i];
        for (int b = 0; s->buckets && b < s->nbuckets; b++) {
            entry_t *e = s->buckets[b];
            while (e) {
                entry_t *next = e->next;
                entry_free(e);
                e = next;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(k);
}

static stripe_t *stripe_of(gw_apikeys_t *k, const uint8_t *h)
{
    return &k->stripes[h[0] % STRIPES];
}

static entry_t **bucket_of(stripe_t *s, const uint8_t *h)
{
    uint32_t v;
    memcpy(&v, h + 1, sizeof v);
    return &s->buckets[v % (uint32_t)s->nbuckets];
}

int gw_bearer_copy_n(char **buf, size_t *cap, const char *token, size_t n)
{
    size_t need = n + sizeof "Bearer ";
    if (*cap < need) {
        char *p = realloc(*buf, need);
        if (!p)
            return TC_ENOMEM;
        *buf = p;
        *cap = need;
    }
    snprintf(*buf, *cap, "Bearer %.*s", (int)n, token);
    return TC_OK;
}

int gw_bearer_copy(char **buf, size_t *cap, const char *token)
{
    return gw_bearer_copy_n(buf, cap, token, strlen(token));
}

gw_apikey_lookup_t gw_apikeys_get(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN],
                                  int64_t now_ms, tc_principal_t *p, char key_id[64], char **auth,
                                  size_t *auth_cap)
{
    stripe_t *s = stripe_of(k, hash);
    gw_apikey_lookup_t res = GW_APIKEY_UNKNOWN;
    pthread_mutex_lock(&s->mu);
    for (entry_t **pp = bucket_of(s, hash); *pp; pp = &(*pp)->next) {
        entry_t *e = *pp;
        if (CRYPTO_memcmp(e->hash, hash, TC_SHA256_LEN) != 0)
            continue;
        if (now_ms >= e->expires_ms) {
            *pp = e->next;
            s->count--;
            entry_free(e);
            break;
        }
        if (e->negative) {
            res = GW_APIKEY_INVALID;
        } else if (gw_bearer_copy(auth, auth_cap, e->token) == TC_OK) {
            *p = e->p;
            memcpy(key_id, e->key_id, 64);
            res = GW_APIKEY_VALID;
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return res;
}

uint64_t gw_apikeys_generation(gw_apikeys_t *k)
{
    return atomic_load(&k->generation);
}

/* Makes room in a full stripe: the entry closest to expiry goes. Called with the lock. */
static void evict_one(stripe_t *s)
{
    entry_t **victim = NULL;
    for (int b = 0; b < s->nbuckets; b++)
        for (entry_t **pp = &s->buckets[b]; *pp; pp = &(*pp)->next)
            if (!victim || (*pp)->expires_ms < (*victim)->expires_ms)
                victim = pp;
    if (victim) {
        entry_t *e = *victim;
        *victim = e->next;
        s->count--;
        entry_free(e);
    }
}

static void insert(gw_apikeys_t *k, entry_t *e, uint64_t gen)
{
    stripe_t *s = stripe_of(k, e->hash);
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&k->generation) != gen) {
        pthread_mutex_unlock(&s->mu);
        entry_free(e); /* a revocation arrived while this was being looked up */
        return;
    }
    entry_t **head = bucket_of(s, e->hash);
    for (entry_t **pp = head; *pp; pp = &(*pp)->next) {
        if (CRYPTO_memcmp((*pp)->hash, e->hash, TC_SHA256_LEN) == 0) {
            entry_t *old = *pp;
            *pp = old->next;
            s->count--;
            entry_free(old);
            break;
        }
    }
    if (s->count >= k->per_stripe)
        evict_one(s);
    e->next = *head;
    *head = e;
    s->count++;
    pthread_mutex_unlock(&s->mu);
}

void gw_apikeys_put(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN], const tc_principal_t *p,
                    const char *key_id, const char *token, int64_t now_ms, int64_t token_exp_ms,
                    uint64_t gen)
{
    int64_t until = token_exp_ms - GW_APIKEY_MARGIN_MS;
    if (until > now_ms + GW_APIKEY_MAX_MS)
        until = now_ms + GW_APIKEY_MAX_MS;
    if (until <= now_ms)
        return; /* the token is too close to expiry to be worth keeping */
    entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    if (!(e->token = strdup(token))) {
        free(e);
        return;
    }
    memcpy(e->hash, hash, TC_SHA256_LEN);
    e->p = *p;
    snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
    e->expires_ms = until;
    insert(k, e, gen);
}

void gw_apikeys_put_negative(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN], int64_t now_ms,
                             uint64_t gen)
{
    entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    memcpy(e->hash, hash, TC_SHA256_LEN);
    e->negative = 1;
    e->expires_ms = now_ms + GW_APIKEY_NEGATIVE_MS;
    insert(k, e, gen);
}

int gw_apikeys_revoke(gw_apikeys_t *k, const char *key_id)
{
    int n = 0;
    /* bump first: lookups that started before now must not cache what they find */
    atomic_fetch_add(&k->generation, 1);
    for (int i = 0; i < STRIPES; i++) {
        stripe_t *s = &k->stripes[i];
        pthread_mutex_lock(&s->mu);
        for (int b = 0; b < s->nbuckets; b++) {
            entry_t **pp = &s->buckets[b];
            while (*pp) {
                entry_t *e = *pp;
                if (!e->negative && strcmp(e->key_id, key_id) == 0) {
                    *pp = e->next;
                    s->count--;
                    entry_free(e);
                    n++;
                } else {
                    pp = &e->next;
                }
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

int gw_apikeys_count(gw_apikeys_t *k)
{
    int n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&k->stripes[i].mu);
        n += k->stripes[i].count;
        pthread_mutex_unlock(&k->stripes[i].mu);
    }
    return n;
}
