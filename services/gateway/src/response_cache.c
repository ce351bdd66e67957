/* The in-process response cache (see response_cache.h). */
#include "response_cache.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BUCKETS0   1024 /* initial buckets (a power of two); doubled past 2 entries a bucket */
#define KEY_PREFIX 4    /* "GET\n": the path follows */

struct gw_cache {
    pthread_mutex_t mu;
    gw_cache_entry_t **buckets;
    size_t nbuckets;
    gw_cache_entry_t *lru_head, *lru_tail; /* head: most recently used */
    size_t max_bytes;
    size_t bytes;
    size_t entries;
    /* keys come from clients: a secret seed keeps them from choosing one chain for all */
    uint64_t seed;
    atomic_uint_fast64_t generation; /* purges so far: a copy begun before one is not stored */
};

gw_cache_t *gw_cache_new(size_t max_bytes)
{
    gw_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!(c->buckets = calloc(BUCKETS0, sizeof *c->buckets)) ||
        getrandom(&c->seed, sizeof c->seed, 0) != (ssize_t)sizeof c->seed) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->nbuckets = BUCKETS0;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    return c;
}

size_t gw_cache_max_entry(const gw_cache_t *c)
{
    return c->max_bytes / 8;
}

uint64_t gw_cache_generation(gw_cache_t *c)
{
    return atomic_load(&c->generation);
}

static uint64_t key_hash(const gw_cache_t *c, const char *key, size_t len)
{
    uint64_t h = tc_fnv1a64(key, len) ^ c->seed;
    /* a finaliser (splitmix64) so the seed reaches every bit of the bucket index */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static void entry_free(gw_cache_entry_t *e)
{
    free(e->key);
    free(e->vary_names);
    free(e->vary_sig);
    free(e->head);
    free(e->body);
    free(e->etag);
    free(e->route);
    free(e->org);
    free(e);
}

int gw_cache_entry_tag(gw_cache_entry_t *e, const char *route, const char *org)
{
    free(e->route);
    free(e->org);
    e->route = strdup(route ? route : "");
    e->org = strdup(org ? org : "");
    if (!e->route || !e->org)
        return TC_ENOMEM;
    e->bytes += strlen(e->route) + strlen(e->org) + 2;
    return TC_OK;
}

void gw_cache_release(gw_cache_entry_t *e)
{
    if (e && atomic_fetch_sub(&e->refs, 1) == 1)
        entry_free(e);
}

void gw_cache_free(gw_cache_t *c)
{
    if (!c)
        return;
    for (gw_cache_entry_t *e = c->lru_head, *next; e; e = next) {
        next = e->lru_next;
        gw_cache_release(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c);
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

gw_cache_entry_t *gw_cache_entry_new(const char *key, size_t key_len, const char *vary_names,
                                     const char *vary_sig, size_t vary_sig_len, const char *head,
                                     size_t head_len, const char *body, size_t body_len,
                                     const char *etag, size_t etag_len)
{
    gw_cache_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    atomic_init(&e->refs, 1);
    e->key = dup_n(key, key_len);
    e->vary_names = dup_n(vary_names, strlen(vary_names));
    e->vary_sig = dup_n(vary_sig, vary_sig_len);
    e->head = dup_n(head, head_len);
    e->body = dup_n(body, body_len);
    e->etag = dup_n(etag, etag_len);
    if (!e->key || !e->vary_names || !e->vary_sig || !e->head || !e->body || !e->etag) {
        entry_free(e);
        return NULL;
    }
    e->key_len = key_len;
    e->vary_sig_len = vary_sig_len;
    e->head_len = head_len;
    e->body_len = body_len;
    e->bytes = sizeof *e + key_len + vary_sig_len + head_len + body_len + etag_len +
               strlen(vary_names) + 6;
    return e;
}

/* ------------------------------------------------------------------ table (locked) */

static void lru_unlink(gw_cache_t *c, gw_cache_entry_t *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(gw_cache_t *c, gw_cache_entry_t *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Unlinks e from the table and the list and drops the table's reference. */
static void remove_entry(gw_cache_t *c, gw_cache_entry_t *e)
{
    gw_cache_entry_t **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    c->entries--;
    gw_cache_release(e);
}

static gw_cache_entry_t *find(gw_cache_t *c, uint64_t h, const char *key, size_t len)
{
    for (gw_cache_entry_t *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

gw_cache_entry_t *gw_cache_get(gw_cache_t *c, const char *key, size_t key_len, int64_t now_ms,
                               gw_cache_sig_fn sig, void *ud, bool *stale)
{
    uint64_t h = key_hash(c, key, key_len);
    *stale = false;
    pthread_mutex_lock(&c->mu);
    gw_cache_entry_t *e = find(c, h, key, key_len);
    if (e && e->expires_ms <= now_ms && e->stale_ms <= now_ms) {
        remove_entry(c, e);
        e = NULL;
    }
    if (e) {
        lru_unlink(c, e);
        lru_push(c, e);
        atomic_fetch_add(&e->refs, 1);
        *stale = e->expires_ms <= now_ms;
    }
    pthread_mutex_unlock(&c->mu);
    if (!e || !e->vary_names[0])
        return e;
    /* the response varied on request headers: served only to requests that send the same */
    char buf[2048];
    long n = sig(e->vary_names, buf, sizeof buf, ud);
    if (n >= 0 && (size_t)n == e->vary_sig_len && memcmp(buf, e->vary_sig, (size_t)n) == 0)
        return e;
    gw_cache_release(e);
    return NULL;
}

/* Twice the buckets once chains average two entries (locked; a failed allocation keeps the
 * table as it is). */
static void grow(gw_cache_t *c)
{
    if (c->entries < 2 * c->nbuckets)
        return;
    size_t n = c->nbuckets * 2;
    gw_cache_entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (gw_cache_entry_t *e = c->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

int gw_cache_put(gw_cache_t *c, gw_cache_entry_t *e, uint64_t generation)
{
    if (e->bytes > gw_cache_max_entry(c)) {
        gw_cache_release(e);
        return TC_EINVAL;
    }
    e->hash = key_hash(c, e->key, e->key_len);
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->generation) != generation) { /* purged since the copy began */
        pthread_mutex_unlock(&c->mu);
        gw_cache_release(e);
        return TC_ECONFLICT;
    }
    gw_cache_entry_t *old = find(c, e->hash, e->key, e->key_len);
    if (old)
        remove_entry(c, old);
    while (c->lru_tail && c->bytes + e->bytes > c->max_bytes)
        remove_entry(c, c->lru_tail);
    grow(c);
    gw_cache_entry_t **b = &c->buckets[e->hash & (c->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_push(c, e);
    c->bytes += e->bytes;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
    return TC_OK;
}

/* Whether a key's path, decoded, is under prefix (a decoded path) on a segment boundary: the
 * admin API receives the prefix decoded, keys hold paths as clients sent them. */
static bool under(const gw_cache_entry_t *e, const char *prefix, size_t len)
{
    const char *p = e->key + KEY_PREFIX, *end = e->key + e->key_len;
    size_t k = 0;
    while (k < len && p < end && *p != '?') {
        unsigned ch = (unsigned char)*p, hi, lo;
        if (ch == '%' && end - p > 2 && tc_hex_nibble(p[1], &hi) && tc_hex_nibble(p[2], &lo)) {
            ch = hi * 16 + lo;
            p += 2;
        }
        if ((unsigned char)prefix[k] != ch)
            return false;
        p++, k++;
    }
    if (k < len)
        return false;
    char next = p < end ? *p : '?';
    return len == 0 || prefix[len - 1] == '/' || next == '/' || next == '?';
}

/* Whether the key's path (as the client sent it) has a segment equal to s: ids are plain
 * tokens, so a percent-encoded one is not compared decoded. */
static bool path_has_segment(const gw_cache_entry_t *e, const char *s, size_t n)
{
    const char *p = e->key + KEY_PREFIX, *end = e->key + e->key_len;
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q)
        end = q;
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        const char *seg = p;
        while (p < end && *p != '/')
            p++;
        if ((size_t)(p - seg) == n && memcmp(seg, s, n) == 0)
            return true;
    }
    return false;
}

size_t gw_cache_purge_tagged(gw_cache_t *c, gw_cache_route_fn listens, void *ud, const char *org,
                             const char *subject)
{
    size_t n = 0, olen = org ? strlen(org) : 0, slen = subject ? strlen(subject) : 0;
    if (!olen && !slen)
        return 0;
    pthread_mutex_lock(&c->mu);
    atomic_fetch_add(&c->generation, 1);
    for (gw_cache_entry_t *e = c->lru_head, *next; e; e = next) {
        next = e->lru_next;
        if (!e->route || !listens(e->route, ud))
            continue;
        if ((olen && e->org && strcmp(e->org, org) == 0) ||
            (slen && path_has_segment(e, subject, slen))) {
            remove_entry(c, e);
            n++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

size_t gw_cache_purge(gw_cache_t *c, const char *prefix, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&c->mu);
    atomic_fetch_add(&c->generation, 1);
    for (gw_cache_entry_t *e = c->lru_head, *next; e; e = next) {
        next = e->lru_next;
        if (under(e, prefix, len)) {
            remove_entry(c, e);
            n++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

void gw_cache_stats(gw_cache_t *c, gw_cache_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    out->entries = c->entries;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}
