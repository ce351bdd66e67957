/* Unit tests for auth's account rules (account_model.c): statuses, who is a person, which
 * account a login means when an email has accounts in several orgs. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "account_model.h"

static account_t acct(const char *org, const char *status, const char *hash)
{
    account_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.user_id, sizeof a.user_id, "usr_%s", org);
    snprintf(a.org_id, sizeof a.org_id, "org_%s", org);
    snprintf(a.role, sizeof a.role, "viewer");
    snprintf(a.status, sizeof a.status, "%s", status);
    a.password_hash = (char *)hash; /* borrowed: never cleared here */
    return a;
}

Test(account_model, statuses)
{
    cr_assert(account_status_disabled("suspended"));
    cr_assert(account_status_disabled("deleted"));
    cr_assert_not(account_status_disabled("active"));
    cr_assert_not(account_status_disabled("invited"));
    cr_assert_not(account_status_disabled(""));
    cr_assert_not(account_status_disabled(NULL));
    account_t a = acct("a", "active", "$argon2id$x");
    cr_assert(account_may_log_in(&a));
    a = acct("a", "active", NULL);
    cr_assert_not(account_may_log_in(&a), "no password yet");
    a = acct("a", "invited", "$argon2id$x");
    cr_assert_not(account_may_log_in(&a));
    a = acct("a", "suspended", "$argon2id$x");
    cr_assert_not(account_may_log_in(&a));
}

Test(account_model, standing)
{
    account_t a = acct("a", "active", "h");
    cr_assert_eq(account_standing(&a, true), ACCOUNT_OK);
    cr_assert_eq(account_standing(&a, false), ACCOUNT_UNKNOWN);
    a = acct("a", "suspended", "h");
    cr_assert_eq(account_standing(&a, true), ACCOUNT_DISABLED);
    a = acct("a", "deleted", "h");
    cr_assert_eq(account_standing(&a, true), ACCOUNT_DISABLED);
    a = acct("a", "invited", NULL);
    cr_assert_eq(account_standing(&a, true), ACCOUNT_DISABLED, "not yet a member who acts");
}

Test(account_model, people_services_and_keys)
{
    tc_principal_t p = {.role = TC_ROLE_VIEWER};
    snprintf(p.sub, sizeof p.sub, "usr_1");
    snprintf(p.org, sizeof p.org, "org_1");
    cr_assert(auth_principal_is_person(&p));
    tc_principal_t key = p;
    key.is_api_key = true;
    snprintf(key.sub, sizeof key.sub, "key_1");
    cr_assert_not(auth_principal_is_person(&key));
    key.is_api_key = false; /* a key token minted before principal_type existed */
    cr_assert_not(auth_principal_is_person(&key));
    tc_principal_t svc = {.is_service = true};
    snprintf(svc.sub, sizeof svc.sub, "gateway");
    cr_assert_not(auth_principal_is_person(&svc));
    cr_assert_not(auth_principal_is_person(NULL));
}

Test(account_model, unknown_or_wrong_password_is_none)
{
    int chosen = 7;
    cr_assert_eq(login_resolve(NULL, NULL, 0, &chosen), LOGIN_NONE);
    cr_assert_eq(chosen, -1);
    account_t a[2] = {acct("a", "active", "h"), acct("b", "active", "h")};
    bool matched[2] = {false, false};
    cr_assert_eq(login_resolve(a, matched, 2, &chosen), LOGIN_NONE);
}

Test(account_model, the_one_account_the_password_fits)
{
    int chosen = -1;
    account_t a[3] = {acct("a", "active", "h"), acct("b", "active", "h"), acct("c", "active", "h")};
    bool matched[3] = {false, true, false};
    cr_assert_eq(login_resolve(a, matched, 3, &chosen), LOGIN_ONE);
    cr_assert_eq(chosen, 1);
}

Test(account_model, several_orgs_fit_is_ambiguous)
{
    int chosen = 0;
    account_t a[3] = {acct("a", "active", "h"), acct("b", "active", "h"), acct("c", "active", "h")};
    bool matched[3] = {true, false, true};
    cr_assert_eq(login_resolve(a, matched, 3, &chosen), LOGIN_AMBIGUOUS);
    cr_assert_eq(chosen, -1);
}

Test(account_model, accounts_that_cannot_log_in_do_not_count)
{
    int chosen = -1;
    account_t a[3] = {acct("a", "suspended", "h"), acct("b", "active", "h"),
                      acct("c", "invited", NULL)};
    bool matched[3] = {true, true, true};
    cr_assert_eq(login_resolve(a, matched, 3, &chosen), LOGIN_ONE,
                 "a suspended account whose password fits does not make the login ambiguous");
    cr_assert_eq(chosen, 1);
    bool only_suspended[3] = {true, false, false};
    cr_assert_eq(login_resolve(a, only_suspended, 3, &chosen), LOGIN_NONE);
}

Test(account_model, federated_sign_in_needs_an_active_account_not_a_password)
{
    account_t a = acct("a", "active", NULL);
    cr_assert(account_may_sign_in_federated(&a, false), "the provider proved who it is");
    cr_assert_not(account_may_log_in(&a), "no password: no password login");
    const char *off[] = {"suspended", "deleted"};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        account_t b = acct("b", off[i], "$argon2id$x");
        cr_assert_not(account_may_sign_in_federated(&b, true), "%s", off[i]);
    }
}

Test(account_model, an_invited_account_signs_in_federated_while_its_invitation_is_open)
{
    account_t a = acct("a", "invited", NULL);
    cr_assert(account_may_sign_in_federated(&a, true), "signing in accepts the invitation");
    cr_assert_not(account_may_sign_in_federated(&a, false), "expired or withdrawn");
}

Test(account_model, only_owners_keep_password_login_when_sso_is_required)
{
    const char *roles[] = {"admin", "editor", "viewer"};
    account_t a = acct("a", "active", "$argon2id$x");
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        snprintf(a.role, sizeof a.role, "%s", roles[i]);
        cr_assert_not(sso_password_allowed(&a), "%s", roles[i]);
    }
    snprintf(a.role, sizeof a.role, "owner");
    cr_assert(sso_password_allowed(&a), "the break-glass path");
}
