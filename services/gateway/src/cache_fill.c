/* Request coalescing for the response cache (see cache_fill.h). */
#include "cache_fill.h"
#include "tc/tc_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BUCKETS        1024 /* a power of two; the records are few (the misses in flight) */
#define SWEEP_EVERY_MS 100

typedef struct fill {
    struct fill *next;
    uint64_t hash;
    uint64_t ticket;  /* 0 while passing */
    int64_t until_ms; /* the claim's or the pass's end */
    size_t len;
    char key[]; /* len bytes */
} fill_t;

struct gw_fills {
    pthread_mutex_t mu;
    fill_t *buckets[BUCKETS];
    size_t count;
    uint64_t next_ticket;
    int64_t swept_ms; /* the last sweep: at most one each SWEEP_EVERY_MS */
    uint64_t seed;    /* keys come from clients: they must not choose one chain for all */
};

gw_fills_t *gw_fills_new(void)
{
    gw_fills_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (getrandom(&f->seed, sizeof f->seed, 0) != (ssize_t)sizeof f->seed) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

void gw_fills_free(gw_fills_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        for (fill_t *r = f->buckets[i], *next; r; r = next) {
            next = r->next;
            free(r);
        }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static uint64_t hash_of(const gw_fills_t *f, const char *key, size_t len)
{
    uint64_t h = tc_fnv1a64(key, len) ^ f->seed;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL; /* splitmix64's finaliser */
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* The record of a key in its chain, expired ones unlinked and freed on the way (locked). */
static fill_t **find(gw_fills_t *f, uint64_t h, const char *key, size_t len, int64_t now_ms)
{
    fill_t **pp = &f->buckets[h & (BUCKETS - 1)];
    while (*pp) {
        fill_t *r = *pp;
        if (r->until_ms <= now_ms) {
            *pp = r->next;
            free(r);
            f->count--;
            continue;
        }
        if (r->hash == h && r->len == len && memcmp(r->key, key, len) == 0)
            return pp;
        pp = &r->next;
    }
    return pp;
}

/* Drops every expired record (locked): records of keys never asked for again would otherwise
 * stay until their chain is walked. */
static void sweep(gw_fills_t *f, int64_t now_ms)
{
    for (size_t i = 0; i < BUCKETS; i++) {
        fill_t **pp = &f->buckets[i];
        while (*pp) {
            fill_t *r = *pp;
            if (r->until_ms <= now_ms) {
                *pp = r->next;
                free(r);
                f->count--;
            } else {
                pp = &r->next;
            }
        }
    }
}

gw_fill_t gw_fills_claim(gw_fills_t *f, const char *key, size_t len, int64_t now_ms,
                         int64_t hold_ms, uint64_t *ticket)
{
    uint64_t h = hash_of(f, key, len);
    gw_fill_t out = GW_FILL_PASS;
    *ticket = 0;
    pthread_mutex_lock(&f->mu);
    fill_t **pp = find(f, h, key, len, now_ms);
    if (!*pp && f->count >= GW_FILL_MAX && now_ms - f->swept_ms >= SWEEP_EVERY_MS) {
        f->swept_ms = now_ms;
        sweep(f, now_ms);
        pp = find(f, h, key, len, now_ms);
    }
    if (*pp) {
        out = (*pp)->ticket ? GW_FILL_WAIT : GW_FILL_PASS;
    } else if (f->count < GW_FILL_MAX) {
        fill_t *r = malloc(sizeof *r + len);
        if (r) { /* out of memory: not coalesced, nothing lost */
            r->next = NULL;
            r->hash = h;
            r->ticket = ++f->next_ticket;
            r->until_ms = now_ms + hold_ms;
            r->len = len;
            memcpy(r->key, key, len);
            *pp = r;
            f->count++;
            *ticket = r->ticket;
            out = GW_FILL_MINE;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return out;
}

void gw_fills_done(gw_fills_t *f, const char *key, size_t len, uint64_t ticket, bool stored,
                   int64_t now_ms)
{
    if (!ticket)
        return;
    uint64_t h = hash_of(f, key, len);
    pthread_mutex_lock(&f->mu);
    fill_t **pp = find(f, h, key, len, now_ms);
    fill_t *r = *pp;
    if (r && r->ticket == ticket) {
        if (stored) {
            *pp = r->next;
            free(r);
            f->count--;
        } else {
            r->ticket = 0;
            r->until_ms = now_ms + GW_FILL_PASS_MS;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

size_t gw_fills_count(gw_fills_t *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->count;
    pthread_mutex_unlock(&f->mu);
    return n;
}
