/* Unit tests for auth's Argon2id hashing (passwords.c): PHC strings, verification, salts. */
#include <criterion/criterion.h>
#include <string.h>

#include "passwords.h"
#include "tc/tc_core.h"

Test(passwords, argon2id_phc_round_trip)
{
    pw_params_t p = {7168, 5, 1};
    char phc[PW_PHC_MAX], again[PW_PHC_MAX];
    cr_assert_eq(pw_hash(&p, "correct horse battery", phc, sizeof phc), TC_OK);
    cr_assert(strncmp(phc, "$argon2id$v=19$m=7168,t=5,p=1$", 30) == 0, "%s", phc);
    cr_assert_eq(pw_verify(phc, "correct horse battery"), TC_OK);
    cr_assert_eq(pw_verify(phc, "correct horse batterY"), TC_EINVAL);
    cr_assert_eq(pw_verify(phc, ""), TC_EINVAL);
    cr_assert_eq(pw_verify("$2b$10$notargon", "x"), TC_ERROR, "other schemes are not accepted");
    cr_assert_eq(pw_verify(NULL, "x"), TC_ERROR);
    cr_assert_not(pw_needs_rehash(&p, phc), "made with the configured parameters");
    cr_assert_eq(pw_hash(&p, "correct horse battery", again, sizeof again), TC_OK);
    cr_assert_str_neq(phc, again, "a fresh salt every time");
    cr_assert_eq(pw_verify(again, "correct horse battery"), TC_OK);
    char tiny[16];
    cr_assert_neq(pw_hash(&p, "x", tiny, sizeof tiny), TC_OK, "output too small");
}
