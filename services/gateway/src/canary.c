/* Canary group assignment: header override, else a sticky hash of the caller (canary.h). */
#include "canary.h"

#include <strings.h>

/* FNV-1a then the murmur3 finalizer: FNV alone spreads short, similar keys (usr_…1,
 * usr_…2) poorly in the low bits that a modulo keeps. */
static uint64_t hash64(const char *salt, const char *key, size_t keylen)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = salt; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* separator: ("ab","c") differs from ("a","bc") */
    for (size_t i = 0; i < keylen; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

int canary_bucket(const char *salt, const char *key, size_t keylen)
{
    return (int)(hash64(salt, key, keylen) % 100);
}

gw_canary_override_t canary_override(const char *value, size_t len)
{
    if (len == 6 && strncasecmp(value, "always", 6) == 0)
        return CANARY_ALWAYS;
    if (len == 5 && strncasecmp(value, "never", 5) == 0)
        return CANARY_NEVER;
    return CANARY_AUTO;
}

gw_group_id_t canary_choose(gw_upstream_t *up, gw_canary_override_t ov, const char *key,
                            size_t keylen)
{
    if (up->groups[GW_GROUP_CANARY].n == 0 || ov == CANARY_NEVER)
        return GW_GROUP_STABLE;
    if (ov == CANARY_ALWAYS)
        return GW_GROUP_CANARY;
    int weight = atomic_load_explicit(&up->canary_weight, memory_order_relaxed);
    if (weight <= 0)
        return GW_GROUP_STABLE;
    if (weight >= 100)
        return GW_GROUP_CANARY;
    return canary_bucket(up->name, key, keylen) < weight ? GW_GROUP_CANARY : GW_GROUP_STABLE;
}
