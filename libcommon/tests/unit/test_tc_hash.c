/* tc_hash: FNV-1a against the reference vectors, streaming equals one shot, the finalizer. */
#include <criterion/criterion.h>

#include "tc/tc_hash.h"

#include <string.h>

Test(hash, fnv1a_reference_vectors)
{
    /* from the FNV reference test suite (Fowler, Noll, Vo) */
    cr_assert_eq(tc_fnv1a32("", 0), 0x811c9dc5u);
    cr_assert_eq(tc_fnv1a32("a", 1), 0xe40c292cu);
    cr_assert_eq(tc_fnv1a32("foobar", 6), 0xbf9cf968u);
    cr_assert_eq(tc_fnv1a64("", 0), 0xcbf29ce484222325ull);
    cr_assert_eq(tc_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(tc_fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}

Test(hash, streaming_equals_one_shot)
{
    uint64_t h = tc_fnv1a64_add(TC_FNV1A64_INIT, "foo", 3);
    h = tc_fnv1a64_add(h, "bar", 3);
    cr_assert_eq(h, tc_fnv1a64("foobar", 6));
}

Test(hash, mix_spreads_neighbouring_keys)
{
    cr_assert_eq(tc_hash_mix64(0), 0);
    /* keys that differ in their last character land in different buckets of 100 */
    int seen[100] = {0}, distinct = 0;
    char key[] = "usr_0000000000000000000000000";
    for (int i = 0; i < 50; i++) {
        key[sizeof key - 3] = (char)('0' + i / 10);
        key[sizeof key - 2] = (char)('0' + i % 10);
        int b = (int)(tc_hash_mix64(tc_fnv1a64(key, strlen(key))) % 100);
        distinct += !seen[b];
        seen[b] = 1;
    }
    cr_assert_gt(distinct, 30, "only %d buckets of 100 for 50 keys", distinct);
}
