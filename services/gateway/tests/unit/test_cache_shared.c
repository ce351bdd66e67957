/* Unit tests for the shared cache tier's pure part (cache_shared.c): values written and read
 * back, refused when truncated or foreign, the Redis names of entries and markers, the
 * markers an entry is checked against, and when a value read may be served. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_shared.h"
#include "tc/tc_core.h"

#define KEY "GET\n/v1/users/u_1/items?a=1\nhost\np:1:org_a:u_1\n"

static gw_shared_entry_t sample(void)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    return (gw_shared_entry_t){
        .fetched_ms = 1700000000000,
        .stored_ms = 1700000000100,
        .ttl_ms = 60000,
        .swr_ms = 30000,
        .age0_s = 3,
        .key = KEY,
        .key_len = strlen(KEY),
        .vary_names = "accept-language",
        .vary_names_len = 15,
        .vary_sig = "fr\n",
        .vary_sig_len = 3,
        .etag = "\"v1\"",
        .etag_len = 4,
        .head = head,
        .head_len = strlen(head),
        .body = "hel\0o",
        .body_len = 5,
    };
}

Test(cache_shared, a_value_reads_back_as_written)
{
    gw_shared_entry_t e = sample(), d;
    size_t len = 0;
    char *v = gw_shared_encode(&e, &len);
    cr_assert_not_null(v);
    cr_assert_eq(gw_shared_decode(v, len, &d), TC_OK);
    cr_assert_eq(d.fetched_ms, e.fetched_ms);
    cr_assert_eq(d.stored_ms, e.stored_ms);
    cr_assert_eq(d.ttl_ms, 60000);
    cr_assert_eq(d.swr_ms, 30000);
    cr_assert_eq(d.age0_s, 3);
    cr_assert_eq(d.key_len, e.key_len);
    cr_assert_eq(memcmp(d.key, KEY, d.key_len), 0);
    cr_assert_eq(d.vary_names_len, 15);
    cr_assert_eq(memcmp(d.vary_sig, "fr\n", 3), 0);
    cr_assert_eq(d.etag_len, 4);
    cr_assert_eq(d.head_len, e.head_len);
    cr_assert_eq(d.body_len, 5);
    cr_assert_eq(memcmp(d.body, "hel\0o", 5), 0, "bodies are bytes");
    free(v);
}

Test(cache_shared, truncated_foreign_or_padded_values_are_refused)
{
    gw_shared_entry_t e = sample(), d;
    size_t len = 0;
    char *v = gw_shared_encode(&e, &len);
    for (size_t n = 0; n < len; n++)
        cr_assert_eq(gw_shared_decode(v, n, &d), TC_EINVAL, "cut at %zu", n);
    char *big = malloc(len + 1);
    memcpy(big, v, len);
    big[len] = 'x';
    cr_assert_eq(gw_shared_decode(big, len + 1, &d), TC_EINVAL, "bytes after the body");
    v[0] = 'X';
    cr_assert_eq(gw_shared_decode(v, len, &d), TC_EINVAL, "another format");
    cr_assert_eq(gw_shared_decode("plain text someone SET", 22, &d), TC_EINVAL);
    cr_assert_eq(gw_shared_decode(NULL, 0, &d), TC_EINVAL);
    free(big);
    free(v);
}

Test(cache_shared, a_huge_length_field_is_refused_not_followed)
{
    gw_shared_entry_t e = sample(), d;
    size_t len = 0;
    char *v = gw_shared_encode(&e, &len);
    /* the body's length (the last of the six) set to 0xffffffff */
    memset(v + 4 + 5 * 8 + 5 * 4, 0xff, 4);
    cr_assert_eq(gw_shared_decode(v, len, &d), TC_EINVAL);
    free(v);
}

Test(cache_shared, entry_names_share_the_route_tag_with_its_markers)
{
    char entry[128], mark[256];
    cr_assert_eq(gw_shared_entry_name("users", KEY, strlen(KEY), entry, sizeof entry), TC_OK);
    cr_assert_eq(strncmp(entry, "gw:c:{", 6), 0);
    cr_assert_eq(strlen(entry), strlen("gw:c:{0123456789abcdef}:") + 64);
    cr_assert_eq(gw_shared_marker_name("users", GW_MARK_ALL, "", 0, mark, sizeof mark), TC_OK);
    /* one hash tag: one Redis Cluster slot for the MGET */
    cr_assert_eq(memcmp(entry + 5, mark + 6, 18), 0, "%s vs %s", entry, mark);
    char other[128];
    gw_shared_entry_name("orders", KEY, strlen(KEY), other, sizeof other);
    cr_assert_neq(strcmp(entry, other), 0, "routes' entries never share a name");
    char k2[] = "GET\n/v1/users/u_1/items?a=1\nhost\np:1:org_b:u_1\n";
    gw_shared_entry_name("users", k2, strlen(k2), other, sizeof other);
    cr_assert_neq(strcmp(entry, other), 0, "another org, another entry");
    cr_assert_eq(gw_shared_entry_name("users", KEY, strlen(KEY), entry, 20), TC_EINVAL);
}

Test(cache_shared, a_prefix_marker_ignores_trailing_slashes_and_slash_alone_means_all)
{
    char a[256], b[256], all[256];
    gw_shared_marker_name("r", GW_MARK_PFX, "/v1/users/", 10, a, sizeof a);
    gw_shared_marker_name("r", GW_MARK_PFX, "/v1/users", 9, b, sizeof b);
    cr_assert_str_eq(a, b);
    cr_assert(strstr(a, ":pfx:/v1/users") != NULL, "%s", a);
    gw_shared_marker_name("r", GW_MARK_PFX, "/", 1, a, sizeof a);
    gw_shared_marker_name("r", GW_MARK_ALL, "ignored", 7, all, sizeof all);
    cr_assert_str_eq(a, all);
    cr_assert(strstr(all, ":all") != NULL);
    cr_assert_eq(gw_shared_marker_name("r", GW_MARK_ORG, "org_a", 5, a, 10), TC_EINVAL);
}

/* Whether the markers of key include the marker named by (kind, value). */
static bool concerned(const char *org, const char *key, gw_mark_t kind, const char *value)
{
    char buf[8192], want[256];
    const char *names[GW_SHARED_MAX_MARKERS];
    size_t lens[GW_SHARED_MAX_MARKERS];
    int n = gw_shared_markers("r", org, key, strlen(key), buf, sizeof buf, names, lens);
    cr_assert_geq(n, 1);
    gw_shared_marker_name("r", kind, value, strlen(value), want, sizeof want);
    for (int i = 0; i < n; i++)
        if (lens[i] == strlen(want) && memcmp(names[i], want, lens[i]) == 0)
            return true;
    return false;
}

Test(cache_shared, an_entry_is_checked_against_every_purge_that_concerns_it)
{
    cr_assert(concerned("org_a", KEY, GW_MARK_ALL, ""));
    cr_assert(concerned("org_a", KEY, GW_MARK_ORG, "org_a"));
    cr_assert_not(concerned("org_a", KEY, GW_MARK_ORG, "org_b"));
    cr_assert_not(concerned("", KEY, GW_MARK_ORG, ""), "anonymous entries have no org marker");
    cr_assert(concerned("org_a", KEY, GW_MARK_SUB, "u_1"));
    cr_assert(concerned("org_a", KEY, GW_MARK_SUB, "items"));
    cr_assert_not(concerned("org_a", KEY, GW_MARK_SUB, "u_"));
    cr_assert_not(concerned("org_a", KEY, GW_MARK_SUB, "a=1"), "the query is not the path");
    cr_assert(concerned("org_a", KEY, GW_MARK_PFX, "/v1"));
    cr_assert(concerned("org_a", KEY, GW_MARK_PFX, "/v1/users/"));
    cr_assert(concerned("org_a", KEY, GW_MARK_PFX, "/v1/users/u_1/items"));
    cr_assert_not(concerned("org_a", KEY, GW_MARK_PFX, "/v1/us"), "not on a segment boundary");
    cr_assert_not(concerned("org_a", KEY, GW_MARK_PFX, "/v2"));
    /* prefixes are compared decoded, as the admin API receives them */
    const char *enc = "GET\n/v1/caf%C3%A9/x?\nh\n-\n";
    cr_assert(concerned("", enc, GW_MARK_PFX, "/v1/caf\xc3\xa9"));
    cr_assert(concerned("", enc, GW_MARK_SUB, "caf%C3%A9"), "subjects as sent");
}

Test(cache_shared, paths_too_deep_or_long_stay_local)
{
    char key[4096] = "GET\n";
    for (int i = 0; i <= GW_SHARED_MAX_SEGMENTS; i++)
        strcat(key, "/s");
    strcat(key, "?\nh\n-\n");
    char buf[16384];
    const char *names[GW_SHARED_MAX_MARKERS];
    size_t lens[GW_SHARED_MAX_MARKERS];
    cr_assert_eq(gw_shared_markers("r", "", key, strlen(key), buf, sizeof buf, names, lens), -1);
    char lng[GW_SHARED_MAX_PATH + 64] = "GET\n/";
    memset(lng + 5, 'a', GW_SHARED_MAX_PATH);
    strcpy(lng + 5 + GW_SHARED_MAX_PATH, "?\nh\n-\n");
    cr_assert_eq(gw_shared_markers("r", "", lng, strlen(lng), buf, sizeof buf, names, lens), -1);
    cr_assert_eq(gw_shared_markers("r", "", KEY, strlen(KEY), buf, 40, names, lens), -1,
                 "a buffer too small");
}

Test(cache_shared, served_only_when_fetched_after_the_newest_purge_and_still_alive)
{
    gw_shared_entry_t e = sample();
    bool fresh;
    int64_t t0 = e.stored_ms;
    cr_assert(gw_shared_usable(&e, KEY, strlen(KEY), t0 + 1000, 0, 1000, &fresh));
    cr_assert(fresh);
    cr_assert_not(gw_shared_usable(&e, KEY, strlen(KEY) - 1, t0 + 1000, 0, 1000, &fresh),
                  "another key (a hash collision)");
    /* a purge after the fetch, or within the clock skew before it */
    cr_assert_not(gw_shared_usable(&e, KEY, strlen(KEY), t0 + 1000, e.fetched_ms + 5, 0, &fresh));
    cr_assert_not(
        gw_shared_usable(&e, KEY, strlen(KEY), t0 + 1000, e.fetched_ms - 500, 1000, &fresh));
    cr_assert(gw_shared_usable(&e, KEY, strlen(KEY), t0 + 1000, e.fetched_ms - 1001, 1000, &fresh));
    /* past freshness: inside the stale window usable but not fresh, then not at all */
    cr_assert(gw_shared_usable(&e, KEY, strlen(KEY), t0 + 60000, 0, 1000, &fresh));
    cr_assert_not(fresh);
    cr_assert_not(gw_shared_usable(&e, KEY, strlen(KEY), t0 + 90000, 0, 1000, &fresh));
}

Test(cache_shared, keys_the_tier_does_not_take)
{
    cr_assert(gw_shared_key_fits(KEY, strlen(KEY)));
    const char *nul = "GET\n/v1/a%00b?\nh\n-\n";
    cr_assert_not(gw_shared_key_fits(nul, strlen(nul)), "a NUL once decoded");
    char key[512] = "GET\n/a";
    for (int i = 1; i < GW_SHARED_MAX_SEGMENTS; i++)
        strcat(key, "/s");
    strcat(key, "?\nh\n-\n");
    cr_assert(gw_shared_key_fits(key, strlen(key)), "16 segments");
    char enc[512] = "GET\n/a%2Fb";
    for (int i = 1; i < GW_SHARED_MAX_SEGMENTS; i++)
        strcat(enc, "/s");
    strcat(enc, "?\nh\n-\n");
    cr_assert_not(gw_shared_key_fits(enc, strlen(enc)), "17 once an encoded slash is decoded");
    char buf[16384];
    const char *names[GW_SHARED_MAX_MARKERS];
    size_t lens[GW_SHARED_MAX_MARKERS];
    cr_assert_eq(gw_shared_markers("r", "", enc, strlen(enc), buf, sizeof buf, names, lens), -1,
                 "what the tier does not take has no markers: it is neither read nor written");
}

Test(cache_shared, times_out_of_bounds_are_refused)
{
    gw_shared_entry_t e = sample(), d;
    e.ttl_ms = INT64_MAX;
    size_t len = 0;
    char *v = gw_shared_encode(&e, &len);
    cr_assert_eq(gw_shared_decode(v, len, &d), TC_EINVAL, "sums of times would overflow");
    free(v);
    e = sample();
    e.stored_ms = -1;
    v = gw_shared_encode(&e, &len);
    cr_assert_eq(gw_shared_decode(v, len, &d), TC_EINVAL);
    free(v);
}
