/*
 * tc_core: the one vocabulary of return codes (TC_OK and the negative TC_E* codes) and their
 * names for logs.
 */
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <string.h>

static const int codes[] = {TC_OK,        TC_ERROR,    TC_ENOMEM, TC_ETIMEDOUT, TC_ENOTFOUND,
                            TC_ECONFLICT, TC_EUNAVAIL, TC_EINVAL, TC_EDENIED,   TC_EAGAIN};

Test(core, success_is_zero_and_every_failure_is_negative)
{
    cr_assert_eq(TC_OK, 0);
    for (size_t i = 1; i < TC_ARRAY_LEN(codes); i++)
        cr_assert_lt(codes[i], 0, "code %d", codes[i]);
}

Test(core, every_code_has_its_own_name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(codes); i++) {
        const char *name = tc_strerror(codes[i]);
        cr_assert_not_null(name);
        cr_assert_str_neq(name, "unknown", "code %d has no name", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(name, tc_strerror(codes[j]), "codes %d and %d share a name", codes[i],
                              codes[j]);
    }
    cr_assert_str_eq(tc_strerror(TC_OK), "ok");
    cr_assert_str_eq(tc_strerror(TC_EUNAVAIL), "unavailable");
    cr_assert_str_eq(tc_strerror(TC_ENOTFOUND), "not found");
}

Test(core, codes_outside_the_vocabulary_are_unknown)
{
    cr_assert_str_eq(tc_strerror(1), "unknown");
    cr_assert_str_eq(tc_strerror(-1000), "unknown");
}

Test(core, array_len_counts_elements)
{
    const char *names[7];
    long wide[3];
    cr_assert_eq(TC_ARRAY_LEN(names), 7);
    cr_assert_eq(TC_ARRAY_LEN(wide), 3);
    cr_assert_eq(TC_ARRAY_LEN(codes), 10);
}
