/*
 * The revocation list: a small chained hash table of "s:<sid>" and "u:<subject>" entries with
 * the time of revocation, behind a read-write lock (every verified request reads it; writes
 * come only from auth-events). An empty list costs one atomic load per check.
 */
#include "tc/tc_revoke.h"
#include "tc/tc_core.h"
#include "tc/tc_hash.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define REVOKE_BUCKETS 1024
#define REVOKE_KEY_MAX 80

typedef struct rv_entry {
    char key[REVOKE_KEY_MAX]; /* "s:<sid>" or "u:<sub>" */
    int64_t at_ms;
    bool same_second; /* also refuse tokens issued in the revocation's own second */
    struct rv_entry *next;
} rv_entry_t;

struct tc_revocations {
    pthread_rwlock_t lock;
    rv_entry_t *buckets[REVOKE_BUCKETS];
    int64_t keep_ms;
    atomic_size_t count;
};

tc_revocations_t *tc_revocations_new(int64_t keep_ms)
{
    tc_revocations_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    r->keep_ms = keep_ms;
    return r;
}

void tc_revocations_free(tc_revocations_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < REVOKE_BUCKETS; i++)
        for (rv_entry_t *e = r->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

static size_t bucket_of(const char *key)
{
    return (size_t)(tc_hash_mix64(tc_fnv1a64(key, strlen(key))) % REVOKE_BUCKETS);
}

static bool make_key(char out[REVOKE_KEY_MAX], char kind, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n + 3 > REVOKE_KEY_MAX)
        return false;
    out[0] = kind;
    out[1] = ':';
    memcpy(out + 2, id, n + 1);
    return true;
}

/* Under the write lock: drops the bucket's expired entries. */
static void prune(tc_revocations_t *r, rv_entry_t **head, int64_t now)
{
    for (rv_entry_t **pp = head; *pp;) {
        if ((*pp)->at_ms + r->keep_ms < now) {
            rv_entry_t *gone = *pp;
            *pp = gone->next;
            free(gone);
            atomic_fetch_sub(&r->count, 1);
        } else {
            pp = &(*pp)->next;
        }
    }
}

static int add(tc_revocations_t *r, char kind, const char *id, int64_t at_ms, bool same_second)
{
    char key[REVOKE_KEY_MAX];
    if (!make_key(key, kind, id))
        return TC_EINVAL;
    int64_t now = tc_now_ms();
    if (at_ms + r->keep_ms < now)
        return TC_OK; /* every token it could concern has expired */
    size_t b = bucket_of(key);
    pthread_rwlock_wrlock(&r->lock);
    prune(r, &r->buckets[b], now);
    rv_entry_t *e = r->buckets[b];
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    int rc = TC_OK;
    if (e) {
        if (at_ms / 1000 > e->at_ms / 1000 || (at_ms / 1000 == e->at_ms / 1000 && same_second))
            e->same_second = same_second; /* the later revocation covers more tokens */
        if (at_ms > e->at_ms)
            e->at_ms = at_ms;
    } else if ((e = calloc(1, sizeof *e))) {
        memcpy(e->key, key, sizeof key);
        e->at_ms = at_ms;
        e->same_second = same_second;
        e->next = r->buckets[b];
        r->buckets[b] = e;
        atomic_fetch_add(&r->count, 1);
    } else {
        rc = TC_ENOMEM;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int tc_revoke_session(tc_revocations_t *r, const char *sid, int64_t at_ms)
{
    return add(r, 's', sid, at_ms, true);
}

int tc_revoke_subject(tc_revocations_t *r, const char *sub, int64_t at_ms)
{
    return add(r, 'u', sub, at_ms, false);
}

int tc_revoke_subject_for_good(tc_revocations_t *r, const char *sub, int64_t at_ms)
{
    return add(r, 'u', sub, at_ms, true);
}

/* The entry of a key, or NULL. Under the read lock. */
static const rv_entry_t *lookup(tc_revocations_t *r, char kind, const char *id)
{
    char key[REVOKE_KEY_MAX];
    if (!make_key(key, kind, id))
        return NULL;
    for (const rv_entry_t *e = r->buckets[bucket_of(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

bool tc_revocations_refuse(tc_revocations_t *r, const tc_principal_t *p)
{
    if (!r || atomic_load(&r->count) == 0)
        return false;
    pthread_rwlock_rdlock(&r->lock);
    bool refused = p->sid[0] && lookup(r, 's', p->sid);
    if (!refused) {
        /* whole seconds: iat has no finer grain. After a logout-everywhere a token of the
         * revocation's own second is let through (it may be the login that followed); after
         * a suspension or a key revocation nothing new can be issued, so it is refused too */
        const rv_entry_t *e = lookup(r, 'u', p->sub);
        int64_t at_s = e ? e->at_ms / 1000 : 0;
        refused = e && (p->iat < at_s || (e->same_second && p->iat == at_s));
    }
    pthread_rwlock_unlock(&r->lock);
    return refused;
}

size_t tc_revocations_count(tc_revocations_t *r)
{
    return atomic_load(&r->count);
}

int tc_revocations_apply(tc_revocations_t *r, const tc_event_t *ev)
{
    static const char prefix[] = "com.techcorp.auth.";
    if (!ev->type || strncmp(ev->type, prefix, sizeof prefix - 1) != 0)
        return TC_OK;
    const char *what = ev->type + sizeof prefix - 1;
    bool session =
        strcmp(what, "session_revoked") == 0 || strcmp(what, "refresh_token_reused") == 0;
    bool user = strcmp(what, "access_revoked") == 0, key = strcmp(what, "api_key_revoked") == 0;
    if (!session && !user && !key)
        return TC_OK;
    int64_t at = 0;
    if (!ev->time || tc_time_parse(ev->time, &at) != TC_OK)
        at = tc_now_ms();
    cJSON *d = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    const char *sid = tc_json_get_str(d, "session_id"), *uid = tc_json_get_str(d, "user_id");
    int rc = TC_EINVAL;
    if (key)
        rc = tc_revoke_subject_for_good(r, tc_json_get_str(d, "key_id"), at);
    else if (user)
        rc = tc_revoke_subject_for_good(r, uid, at);
    else if (sid && strcmp(sid, "all") == 0)
        rc = tc_revoke_subject(r, uid, at);
    else
        rc = tc_revoke_session(r, sid, at);
    cJSON_Delete(d);
    return rc;
}
