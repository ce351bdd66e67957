/* Canary group assignment: header override, else a sticky hash of the caller (canary.h). */
#include "canary.h"

#include "tc/tc_hash.h"

#include <string.h>
#include <strings.h>

/* FNV-1a then the murmur3 finalizer: FNV alone spreads short, similar keys (usr_…1,
 * usr_…2) poorly in the low bits that a modulo keeps. */
static uint64_t hash64(const char *salt, const char *key, size_t keylen)
{
    static const unsigned char separator = 0xff; /* ("ab","c") differs from ("a","bc") */
    uint64_t h = tc_fnv1a64_add(TC_FNV1A64_INIT, salt, strlen(salt));
    h = tc_fnv1a64_add(h, &separator, 1);
    return tc_hash_mix64(tc_fnv1a64_add(h, key, keylen));
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
