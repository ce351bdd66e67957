/* The shared tier's values, names and rule of use (see cache_shared.h). */
#include "cache_shared.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC      "GWC1"
#define MAGIC_LEN  4
#define NUMS       5 /* fetched, stored, ttl, swr, age0 */
#define PARTS      6 /* key, vary names, vary signature, etag, head, body */
#define HEADER_LEN (MAGIC_LEN + NUMS * 8 + PARTS * 4)
#define KEY_PREFIX 4 /* "GET\n": the path follows */

/* Little-endian on the wire: replicas of different architectures share the values. */
static void put_u64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
}

static uint64_t get_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

static void put_u32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}

static uint32_t get_u32(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)(unsigned char)p[i] << (8 * i);
    return v;
}

char *gw_shared_encode(const gw_shared_entry_t *e, size_t *len)
{
    const char *parts[PARTS] = {e->key, e->vary_names, e->vary_sig, e->etag, e->head, e->body};
    size_t lens[PARTS] = {e->key_len,  e->vary_names_len, e->vary_sig_len,
                          e->etag_len, e->head_len,       e->body_len};
    size_t total = HEADER_LEN;
    for (int i = 0; i < PARTS; i++) {
        if (lens[i] > UINT32_MAX || total + lens[i] < total)
            return NULL;
        total += lens[i];
    }
    char *out = malloc(total);
    if (!out)
        return NULL;
    memcpy(out, MAGIC, MAGIC_LEN);
    const int64_t nums[NUMS] = {e->fetched_ms, e->stored_ms, e->ttl_ms, e->swr_ms, e->age0_s};
    char *p = out + MAGIC_LEN;
    for (int i = 0; i < NUMS; i++, p += 8)
        put_u64(p, (uint64_t)nums[i]);
    for (int i = 0; i < PARTS; i++, p += 4)
        put_u32(p, (uint32_t)lens[i]);
    for (int i = 0; i < PARTS; i++) {
        if (lens[i])
            memcpy(p, parts[i], lens[i]);
        p += lens[i];
    }
    *len = total;
    return out;
}

int gw_shared_decode(const char *buf, size_t len, gw_shared_entry_t *out)
{
    memset(out, 0, sizeof *out);
    if (!buf || len < HEADER_LEN || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
        return TC_EINVAL;
    const char *p = buf + MAGIC_LEN;
    int64_t *nums[NUMS] = {&out->fetched_ms, &out->stored_ms, &out->ttl_ms, &out->swr_ms,
                           &out->age0_s};
    for (int i = 0; i < NUMS; i++, p += 8)
        *nums[i] = (int64_t)get_u64(p);
    const char **parts[PARTS] = {&out->key,  &out->vary_names, &out->vary_sig,
                                 &out->etag, &out->head,       &out->body};
    size_t *lens[PARTS] = {&out->key_len,  &out->vary_names_len, &out->vary_sig_len,
                           &out->etag_len, &out->head_len,       &out->body_len};
    size_t at = HEADER_LEN;
    for (int i = 0; i < PARTS; i++, p += 4) {
        size_t n = get_u32(p);
        if (n > len - at)
            return TC_EINVAL;
        *parts[i] = buf + at;
        *lens[i] = n;
        at += n;
    }
    /* times within bounds: the sums made of them cannot overflow */
    if (at != len || out->fetched_ms < 0 || out->fetched_ms > GW_SHARED_TIME_MAX ||
        out->stored_ms < 0 || out->stored_ms > GW_SHARED_TIME_MAX || out->ttl_ms < 0 ||
        out->ttl_ms > GW_SHARED_TIME_MAX || out->swr_ms < 0 || out->swr_ms > GW_SHARED_TIME_MAX ||
        out->age0_s < 0 || out->age0_s > GW_SHARED_TIME_MAX || !out->key_len || !out->head_len)
        return TC_EINVAL;
    return TC_OK;
}

/* The hash tag of a route's names: its name hashed, so any name makes a plain tag. */
static void route_tag(const char *route, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)tc_fnv1a64(route, strlen(route)));
}

int gw_shared_entry_name(const char *route, const char *key, size_t key_len, char *out, size_t cap)
{
    char tag[17], hex[TC_SHA256_HEX_LEN];
    route_tag(route, tag);
    tc_sha256_hex(key, key_len, hex);
    int n = snprintf(out, cap, "gw:c:{%s}:%s", tag, hex);
    return n > 0 && (size_t)n < cap ? TC_OK : TC_EINVAL;
}

int gw_shared_marker_name(const char *route, gw_mark_t kind, const char *value, size_t len,
                          char *out, size_t cap)
{
    static const char *const kinds[] = {"all", "org:", "sub:", "pfx:"};
    if (kind == GW_MARK_PFX) {
        while (len && value[len - 1] == '/')
            len--;
        if (!len)
            kind = GW_MARK_ALL;
    }
    if (kind == GW_MARK_ALL)
        len = 0;
    char tag[17];
    route_tag(route, tag);
    int n = snprintf(out, cap, "gw:cp:{%s}:%s", tag, kinds[kind]);
    if (n < 0 || (size_t)n >= cap || len >= cap - (size_t)n)
        return TC_EINVAL;
    if (len)
        memcpy(out + n, value, len);
    out[(size_t)n + len] = '\0';
    return TC_OK;
}

/* The path of a key decoded (as the admin API receives prefixes) into out: its length, or -1
 * when it does not fit or holds a NUL (marker names are C strings). */
static long decode_path(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned ch = (unsigned char)p[i], hi, lo;
        if (ch == '%' && n - i > 2 && tc_hex_nibble(p[i + 1], &hi) &&
            tc_hex_nibble(p[i + 2], &lo)) {
            ch = hi * 16 + lo;
            i += 2;
        }
        if (k == cap || ch == 0)
            return -1;
        out[k++] = (char)ch;
    }
    return (long)k;
}

/* Appends a marker's name to buf at *at and records it. */
static bool add_marker(const char *route, gw_mark_t kind, const char *v, size_t len, char *buf,
                       size_t cap, size_t *at, const char **names, size_t *lens, int *n)
{
    if (*n == GW_SHARED_MAX_MARKERS ||
        gw_shared_marker_name(route, kind, v, len, buf + *at, cap - *at) != TC_OK)
        return false;
    names[*n] = buf + *at;
    lens[*n] = strlen(buf + *at);
    *at += lens[*n] + 1;
    (*n)++;
    return true;
}

static int segments(const char *p, size_t n)
{
    int segs = 0;
    for (size_t i = 0; i < n; i++)
        segs += p[i] != '/' && (i == 0 || p[i - 1] == '/');
    return segs;
}

/* The path of a key (up to its query) and that path decoded into dec: its decoded length, or
 * -1 when it is not one the shared tier takes (too long, a NUL in it, too many segments). */
static long key_path(const char *key, size_t key_len, const char **path, size_t *plen,
                     char dec[GW_SHARED_MAX_PATH])
{
    if (key_len < KEY_PREFIX)
        return -1;
    const char *p = key + KEY_PREFIX, *end = key + key_len;
    const char *q = memchr(p, '?', (size_t)(end - p));
    *path = p;
    *plen = (size_t)((q ? q : end) - p);
    if (*plen > GW_SHARED_MAX_PATH || memchr(p, 0, *plen))
        return -1;
    long n = decode_path(p, *plen, dec, GW_SHARED_MAX_PATH);
    /* segments as sent and as decoded (an encoded slash makes one more): a marker each */
    return n < 0 || segments(p, *plen) > GW_SHARED_MAX_SEGMENTS ||
                   segments(dec, (size_t)n) > GW_SHARED_MAX_SEGMENTS
               ? -1
               : n;
}

bool gw_shared_key_fits(const char *key, size_t key_len)
{
    const char *path;
    size_t plen;
    char dec[GW_SHARED_MAX_PATH];
    return key_path(key, key_len, &path, &plen, dec) >= 0;
}

int gw_shared_markers(const char *route, const char *org, const char *key, size_t key_len,
                      char *buf, size_t cap, const char **names, size_t *lens)
{
    const char *path;
    size_t plen;
    char dec[GW_SHARED_MAX_PATH];
    long dlen = key_path(key, key_len, &path, &plen, dec);
    if (dlen < 0)
        return -1;
    size_t at = 0;
    int n = 0, segs = 0;
    if (!add_marker(route, GW_MARK_ALL, "", 0, buf, cap, &at, names, lens, &n))
        return -1;
    if (org && *org &&
        !add_marker(route, GW_MARK_ORG, org, strlen(org), buf, cap, &at, names, lens, &n))
        return -1;
    /* the segments as the client sent them (events name plain ids) */
    for (const char *p = path, *pend = path + plen; p < pend;) {
        while (p < pend && *p == '/')
            p++;
        const char *s = p;
        while (p < pend && *p != '/')
            p++;
        if (p > s &&
            (++segs > GW_SHARED_MAX_SEGMENTS ||
             !add_marker(route, GW_MARK_SUB, s, (size_t)(p - s), buf, cap, &at, names, lens, &n)))
            return -1;
    }
    /* each decoded prefix ending at a segment's end: what an admin purge of it names */
    for (long i = 1; i <= dlen; i++) {
        bool boundary = i == dlen || dec[i] == '/';
        if (boundary && dec[i - 1] != '/' &&
            !add_marker(route, GW_MARK_PFX, dec, (size_t)i, buf, cap, &at, names, lens, &n))
            return -1;
    }
    return n;
}

bool gw_shared_usable(const gw_shared_entry_t *e, const char *key, size_t key_len, int64_t now_ms,
                      int64_t newest_marker_ms, int64_t skew_ms, bool *fresh)
{
    *fresh = false;
    if (e->key_len != key_len || memcmp(e->key, key, key_len) != 0)
        return false;
    if (newest_marker_ms && e->fetched_ms <= newest_marker_ms + skew_ms)
        return false; /* fetched before a purge (or too close to one to tell) */
    int64_t expires = e->stored_ms + e->ttl_ms;
    *fresh = now_ms < expires;
    return *fresh || now_ms < expires + e->swr_ms;
}
