/* Unit tests for the second factor's rules around TOTP (mfa_model.c): recovery codes and the
 * window to confirm an enrolment. No I/O. */
#include <criterion/criterion.h>
#include <string.h>

#include "mfa_model.h"

Test(mfa_model, recovery_codes_have_two_groups_without_look_alikes)
{
    uint8_t rnd[MFA_RECOVERY_RANDOM];
    for (int round = 0; round < 256; round++) {
        for (int i = 0; i < MFA_RECOVERY_RANDOM; i++)
            rnd[i] = (uint8_t)(round * 7 + i * 31);
        char code[MFA_RECOVERY_LEN];
        mfa_recovery_code(rnd, code);
        cr_assert_eq(strlen(code), 11, "%s", code);
        cr_assert_eq(code[5], '-');
        for (int i = 0; i < 11; i++)
            if (i != 5)
                cr_assert_null(strchr("il1o0", code[i]), "look-alike in %s", code);
    }
    uint8_t zero[MFA_RECOVERY_RANDOM] = {0}, one[MFA_RECOVERY_RANDOM] = {1};
    char a[MFA_RECOVERY_LEN], b[MFA_RECOVERY_LEN];
    mfa_recovery_code(zero, a);
    mfa_recovery_code(one, b);
    cr_assert_str_eq(a, "aaaaa-aaaaa");
    cr_assert_str_neq(a, b);
}

Test(mfa_model, an_enrolment_is_confirmed_within_its_window)
{
    cr_assert(mfa_enrolment_fresh(1000, 1000, 600));
    cr_assert(mfa_enrolment_fresh(1000, 1600, 600));
    cr_assert_not(mfa_enrolment_fresh(1000, 1601, 600), "the password proof has gone stale");
}
