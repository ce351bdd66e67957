/* Unit tests for the in-process response cache (response_cache.c): get and put, expiry,
 * replacement, the byte budget (least recently used out), Vary signatures, purges, and
 * references that outlive a purge. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response_cache.h"
#include "tc/tc_core.h"

static gw_cache_entry_t *entry(const char *key, const char *body, int64_t expires_ms)
{
    gw_cache_entry_t *e = gw_cache_entry_new(key, strlen(key), "", "", 0, "HTTP/1.1 200 OK\r\n\r\n",
                                             19, body, strlen(body), "\"e\"", 3);
    cr_assert_not_null(e);
    e->stored_ms = 0;
    e->expires_ms = expires_ms;
    return e;
}

static long no_sig(const char *names, char *out, size_t cap, void *ud)
{
    (void)names, (void)out, (void)cap, (void)ud;
    return 0;
}

static bool last_stale;

static gw_cache_entry_t *get(gw_cache_t *c, const char *key, int64_t now)
{
    return gw_cache_get(c, key, strlen(key), now, no_sig, NULL, &last_stale);
}

Test(response_cache, get_put_expire_replace)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    cr_assert_null(get(c, "GET\n/a?\n-\n", 0));
    cr_assert_eq(gw_cache_put(c, entry("GET\n/a?\n-\n", "one", 1000), gw_cache_generation(c)),
                 TC_OK);
    gw_cache_entry_t *e = get(c, "GET\n/a?\n-\n", 999);
    cr_assert_not_null(e);
    cr_assert_str_eq(e->body, "one");
    gw_cache_release(e);
    cr_assert_null(get(c, "GET\n/a?\norg_1\n", 0), "another org is another key");
    cr_assert_eq(gw_cache_put(c, entry("GET\n/a?\n-\n", "two", 2000), gw_cache_generation(c)),
                 TC_OK);
    e = get(c, "GET\n/a?\n-\n", 1500);
    cr_assert_str_eq(e->body, "two", "replaced");
    gw_cache_release(e);
    cr_assert_null(get(c, "GET\n/a?\n-\n", 2000), "expired");
    gw_cache_stats_t st;
    gw_cache_stats(c, &st);
    cr_assert_eq(st.entries, 0, "an expired entry met is dropped");
    cr_assert_eq(st.bytes, 0);
    gw_cache_free(c);
}

Test(response_cache, stale_while_revalidate_window)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    gw_cache_entry_t *e = entry("GET\n/s?\n-\n", "old", 1000);
    e->stale_ms = 3000;
    cr_assert_eq(gw_cache_put(c, e, gw_cache_generation(c)), TC_OK);
    gw_cache_entry_t *got = get(c, "GET\n/s?\n-\n", 999);
    cr_assert(got && !last_stale, "fresh before expires_ms");
    gw_cache_release(got);
    got = get(c, "GET\n/s?\n-\n", 1000);
    cr_assert(got && last_stale, "stale from expires_ms");
    cr_assert_str_eq(got->body, "old");
    gw_cache_release(got);
    cr_assert_null(get(c, "GET\n/s?\n-\n", 3000), "gone when the window ends");
    gw_cache_stats_t st;
    gw_cache_stats(c, &st);
    cr_assert_eq(st.entries, 0);
    gw_cache_free(c);
}

Test(response_cache, budget_drops_the_least_recently_used)
{
    char body[20000];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    gw_cache_t *c = gw_cache_new(200000); /* an entry may take 25000 */
    cr_assert_eq(gw_cache_put(c, entry("GET\n/big?\n-\n", "y", 10), gw_cache_generation(c)), TC_OK);
    char *huge = malloc(30000);
    memset(huge, 'z', 29999);
    huge[29999] = '\0';
    cr_assert_eq(gw_cache_put(c, entry("GET\n/huge?\n-\n", huge, 10), gw_cache_generation(c)),
                 TC_EINVAL);
    free(huge);
    char key[32];
    for (int i = 0; i < 10; i++) { /* ten of ~20 KB: one too many */
        snprintf(key, sizeof key, "GET\n/k%d?\n-\n", i);
        cr_assert_eq(gw_cache_put(c, entry(key, body, 10), gw_cache_generation(c)), TC_OK);
        if (i == 0) /* touch /big so /k0 is the oldest use */
            gw_cache_release(get(c, "GET\n/big?\n-\n", 0));
    }
    gw_cache_stats_t st;
    gw_cache_stats(c, &st);
    cr_assert_leq(st.bytes, 200000);
    cr_assert_null(get(c, "GET\n/k0?\n-\n", 0), "least recently used went first");
    gw_cache_entry_t *e = get(c, "GET\n/big?\n-\n", 0);
    cr_assert_not_null(e, "used after /k0 went in: kept");
    gw_cache_release(e);
    cr_assert_not_null(e = get(c, "GET\n/k9?\n-\n", 0));
    gw_cache_release(e);
    gw_cache_free(c);
}

static long sig_en(const char *names, char *out, size_t cap, void *ud)
{
    cr_assert_str_eq(names, "accept-language");
    const char *v = ud;
    size_t n = strlen(v);
    cr_assert_lt(n, cap);
    memcpy(out, v, n);
    return (long)n;
}

Test(response_cache, vary_signatures)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    gw_cache_entry_t *e = gw_cache_entry_new("k", 1, "accept-language", "en\n", 3,
                                             "HTTP/1.1 200 OK\r\n\r\n", 19, "b", 1, "", 0);
    e->expires_ms = 100;
    cr_assert_eq(gw_cache_put(c, e, gw_cache_generation(c)), TC_OK);
    bool stale;
    gw_cache_entry_t *hit = gw_cache_get(c, "k", 1, 0, sig_en, "en\n", &stale);
    cr_assert_not_null(hit);
    gw_cache_release(hit);
    cr_assert_null(gw_cache_get(c, "k", 1, 0, sig_en, "fr\n", &stale));
    gw_cache_free(c);
}

Test(response_cache, a_copy_begun_before_a_purge_is_not_stored)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    uint64_t gen = gw_cache_generation(c);
    gw_cache_purge(c, "/a", 2);
    cr_assert_eq(gw_cache_put(c, entry("GET\n/a?\n-\n", "old", 100), gen), TC_ECONFLICT);
    cr_assert_null(get(c, "GET\n/a?\n-\n", 0));
    cr_assert_eq(gw_cache_put(c, entry("GET\n/a?\n-\n", "new", 100), gw_cache_generation(c)),
                 TC_OK);
    gw_cache_free(c);
}

Test(response_cache, many_keys_grow_the_table)
{
    gw_cache_t *c = gw_cache_new(64 << 20);
    char key[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "GET\n/k?i=%d\n-\n", i);
        cr_assert_eq(gw_cache_put(c, entry(key, "b", 100), gw_cache_generation(c)), TC_OK);
    }
    for (int i = 0; i < 5000; i += 499) {
        snprintf(key, sizeof key, "GET\n/k?i=%d\n-\n", i);
        gw_cache_entry_t *e = get(c, key, 0);
        cr_assert_not_null(e, "%s", key);
        gw_cache_release(e);
    }
    gw_cache_stats_t st;
    gw_cache_stats(c, &st);
    cr_assert_eq(st.entries, 5000);
    gw_cache_free(c);
}

Test(response_cache, purge_by_prefix_keeps_references_valid)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    const char *keys[] = {"GET\n/v1/users?\n-\n", "GET\n/v1/users/1?a=1\no\n",
                          "GET\n/v1/usersx?\n-\n", "GET\n/v1/orgs?\n-\n"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(gw_cache_put(c, entry(keys[i], "b", 100), gw_cache_generation(c)), TC_OK);
    gw_cache_entry_t *held = get(c, keys[1], 0);
    cr_assert_eq(gw_cache_purge(c, "/v1/users", 9), 2);
    cr_assert_str_eq(held->body, "b", "a reader's reference outlives the purge");
    gw_cache_release(held);
    cr_assert_not_null(held = get(c, keys[2], 0), "not under /v1/users on a segment boundary");
    gw_cache_release(held);
    /* the admin API gives the prefix decoded; keys hold paths as sent */
    cr_assert_eq(
        gw_cache_put(c, entry("GET\n/v1/%75sers/2?\n-\n", "b", 100), gw_cache_generation(c)),
        TC_OK);
    cr_assert_eq(gw_cache_purge(c, "/v1/users/", 10), 1);
    cr_assert_eq(gw_cache_purge(c, "", 0), 2, "everything");
    gw_cache_free(c);
}

static bool listens_a(const char *route, void *ud)
{
    (void)ud;
    return strcmp(route, "a") == 0;
}

static gw_cache_entry_t *tagged(const char *key, const char *route, const char *org)
{
    gw_cache_entry_t *e = entry(key, "b", 100);
    cr_assert_eq(gw_cache_entry_tag(e, route, org), TC_OK);
    return e;
}

Test(response_cache, purge_by_event_tags)
{
    gw_cache_t *c = gw_cache_new(1 << 20);
    const char *item = "GET\n/v1/users/usr_1?\nh\np:1:org_A:usr_9\n";
    const char *list_a = "GET\n/v1/users?limit=5\nh\no:org_A:admin:1:\n";
    const char *list_b = "GET\n/v1/users?\nh\no:org_B:admin:1:\n";
    const char *other_route = "GET\n/v1/other?\nh\no:org_A:admin:1:\n";
    const char *anon_item = "GET\n/pub/usr_1?\nh\n-\n";
    const char *longer = "GET\n/pub/usr_10?\nh\n-\n";
    cr_assert_eq(gw_cache_put(c, tagged(item, "a", "org_A"), gw_cache_generation(c)), TC_OK);
    cr_assert_eq(gw_cache_put(c, tagged(list_a, "a", "org_A"), gw_cache_generation(c)), TC_OK);
    cr_assert_eq(gw_cache_put(c, tagged(list_b, "a", "org_B"), gw_cache_generation(c)), TC_OK);
    cr_assert_eq(gw_cache_put(c, tagged(other_route, "x", "org_A"), gw_cache_generation(c)), TC_OK);
    cr_assert_eq(gw_cache_put(c, tagged(anon_item, "a", ""), gw_cache_generation(c)), TC_OK);
    cr_assert_eq(gw_cache_put(c, tagged(longer, "a", ""), gw_cache_generation(c)), TC_OK);
    uint64_t gen = gw_cache_generation(c);
    /* usr_1 of org_A changed: org_A's entries of route a, and any of its paths naming usr_1 */
    cr_assert_eq(gw_cache_purge_tagged(c, listens_a, NULL, "org_A", "usr_1"), 3);
    cr_assert_null(get(c, item, 0));
    cr_assert_null(get(c, list_a, 0));
    cr_assert_null(get(c, anon_item, 0));
    gw_cache_entry_t *e;
    cr_assert_not_null(e = get(c, list_b, 0), "another org's list stays");
    gw_cache_release(e);
    cr_assert_not_null(e = get(c, other_route, 0), "a route that does not listen keeps it");
    gw_cache_release(e);
    cr_assert_not_null(e = get(c, longer, 0), "a segment is compared whole");
    gw_cache_release(e);
    cr_assert_neq(gw_cache_generation(c), gen, "answers on their way are not stored");
    cr_assert_eq(gw_cache_purge_tagged(c, listens_a, NULL, "", NULL), 0, "no resource: none");
    cr_assert_eq(gw_cache_purge_tagged(c, listens_a, NULL, NULL, "usr_10"), 1);
    gw_cache_free(c);
}
