/* tc_auth_cache: the verified-token cache — expiry rechecked, lookups without verifying,
 * eviction without confusing tokens. */
#include "../auth_fixture.h"

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------------------- cache */

Test(auth, cache_rechecks_expiry)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "exp", (double)(now_s() + 60));
    char *tok = sign(c);
    expect_ok(a, tok, NULL);
    tc_principal_t p;
    expect_ok(a, tok, &p); /* served from the cache */
    cr_assert_str_eq(p.sub, "usr_01TESTUSER");
    cr_assert_eq(p.role, TC_ROLE_EDITOR);

    tc_time_set_offset_ms((60 + 20) * 1000); /* past exp, within leeway */
    expect_ok(a, tok, NULL);
    tc_time_set_offset_ms((60 + 30 + 5) * 1000); /* past exp + leeway */
    expect_reject(a, tok, "expired");
    expect_reject(a, tok, "expired");
    tc_time_set_offset_ms(0);
    tc_auth_free(a);
    free(tok);
}

Test(auth, lookup_answers_from_the_cache_only)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "exp", (double)(now_s() + 60));
    char *tok = sign(c);
    tc_principal_t p;
    const char *why = "unset";
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_EAGAIN, "never verified: not cached");
    cr_assert_null(why);
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_OK);
    cr_assert_str_eq(p.sub, "usr_01TESTUSER");
    char *tampered = strdup(tok);
    tampered[strlen(tampered) - 2] ^= 1;
    cr_assert_eq(tc_auth_lookup(a, tampered, &p, &why), TC_EAGAIN, "a different token");
    cr_assert_eq(tc_auth_lookup(a, "", &p, &why), TC_EINVAL);
    cr_assert_str_eq(why, "malformed");
    tc_time_set_offset_ms((60 + 30 + 5) * 1000);
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_EINVAL);
    cr_assert_str_eq(why, "expired");
    cr_assert_eq(p.sub[0], '\0');
    tc_time_set_offset_ms(0);
    free(tampered);
    tc_auth_free(a);
    free(tok);
}

Test(auth, small_cache_evicts_without_confusion)
{
    tc_auth_t *a = auth_with(1, 0, 2);
    char *toks[8];
    char sub[32];
    for (int i = 0; i < 8; i++) {
        cJSON *c = user_claims();
        snprintf(sub, sizeof sub, "usr_%d", i);
        set_str(c, "sub", sub);
        toks[i] = sign(c);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            tc_principal_t p;
            expect_ok(a, toks[i], &p);
            snprintf(sub, sizeof sub, "usr_%d", i);
            cr_assert_str_eq(p.sub, sub);
        }
    }
    for (int i = 0; i < 8; i++)
        free(toks[i]);
    tc_auth_free(a);
}
