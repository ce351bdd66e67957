/*
 * tc_hash.h: fast non-cryptographic hashes for spreading keys over tables, slots and buckets
 * (FNV-1a, and the murmur3 finalizer for keys whose low bits differ little). Never for
 * anything an attacker could benefit from colliding: use tc_sha256 / tc_hmac_sha256 there.
 */
#ifndef TC_HASH_H
#define TC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TC_FNV1A32_INIT 0x811c9dc5u
#define TC_FNV1A64_INIT 0xcbf29ce484222325ull

/* Continues a 64-bit FNV-1a hash h over n bytes (start from TC_FNV1A64_INIT). */
static inline uint64_t tc_fnv1a64_add(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static inline uint64_t tc_fnv1a64(const void *data, size_t n)
{
    return tc_fnv1a64_add(TC_FNV1A64_INIT, data, n);
}

static inline uint32_t tc_fnv1a32(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t h = TC_FNV1A32_INIT;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* murmur3's 64-bit finalizer: every input bit reaches every output bit, so a modulo of the
 * result spreads keys that FNV alone leaves clustered in the low bits. */
static inline uint64_t tc_hash_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

#endif
