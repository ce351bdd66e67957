/* tc_principal: roles, scopes and the bearer token of an Authorization header. */
#include "../auth_fixture.h"

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------------------- helpers */

Test(auth, roles_and_scopes)
{
    cr_assert_eq(tc_role_parse("viewer"), TC_ROLE_VIEWER);
    cr_assert_eq(tc_role_parse("owner"), TC_ROLE_OWNER);
    cr_assert_eq(tc_role_parse("root"), TC_ROLE_NONE);
    cr_assert_eq(tc_role_parse(NULL), TC_ROLE_NONE);
    cr_assert_str_eq(tc_role_name(TC_ROLE_ADMIN), "admin");
    cr_assert_null(tc_role_name(TC_ROLE_NONE));
    cr_assert_null(tc_role_name((tc_role_t)9));

    tc_principal_t p = {.role = TC_ROLE_ADMIN};
    snprintf(p.scope, sizeof p.scope, "%s", "a:read  b:write c");
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_OWNER), 0);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_ADMIN), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "b:write"), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "c"), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "a"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, "b:writ"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, "a:read b:write"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, ""), 0);
    p.role = TC_ROLE_NONE;
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_NONE), 0);
    cr_assert_eq(tc_principal_at_least(NULL, TC_ROLE_VIEWER), 0);
}

Test(auth, bearer_header)
{
    cr_assert_str_eq(tc_auth_bearer("Bearer abc.def.ghi"), "abc.def.ghi");
    cr_assert_str_eq(tc_auth_bearer("bearer   abc"), "abc");
    cr_assert_null(tc_auth_bearer("Basic dXNlcjpwYXNz"));
    cr_assert_null(tc_auth_bearer("Bearer"));
    cr_assert_null(tc_auth_bearer("Bearer "));
    cr_assert_null(tc_auth_bearer("Bearerabc"));
    cr_assert_null(tc_auth_bearer("Bearer a b"));
    cr_assert_null(tc_auth_bearer(NULL));
}
