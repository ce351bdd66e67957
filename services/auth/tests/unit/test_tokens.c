/* Unit tests for auth's opaque tokens (tokens.c): random, stored only as hashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "tokens.h"
#include "tc/tc_core.h"

Test(tokens, opaque_secrets_are_random_and_hashed)
{
    char a[AUTH_SECRET_LEN], b[AUTH_SECRET_LEN], ha[TC_SHA256_HEX_LEN], hb[TC_SHA256_HEX_LEN];
    cr_assert_eq(tok_secret("rt", a, ha), TC_OK);
    cr_assert_eq(tok_secret("rt", b, hb), TC_OK);
    cr_assert(strncmp(a, "rt_", 3) == 0, "%s", a);
    cr_assert_eq(strlen(a), 3 + 43);
    cr_assert_str_neq(a, b);
    char check[TC_SHA256_HEX_LEN];
    tok_hash(a, check);
    cr_assert_str_eq(check, ha);
    cr_assert_eq(tok_secret("tc_live", a, ha), TC_OK);
    cr_assert(strncmp(a, "tc_live_", 8) == 0);
}
