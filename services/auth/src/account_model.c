/* The rules about accounts: statuses, who may log in, which account a login means. */
#include "account_model.h"

#include <stdlib.h>
#include <string.h>

void account_clear(account_t *a)
{
    free(a->email);
    free(a->name);
    free(a->password_hash);
    memset(a, 0, sizeof *a);
}

bool account_status_disabled(const char *status)
{
    return status && (strcmp(status, "suspended") == 0 || strcmp(status, "deleted") == 0);
}

bool account_may_log_in(const account_t *a)
{
    return strcmp(a->status, "active") == 0 && a->password_hash != NULL;
}

bool auth_principal_is_person(const tc_principal_t *p)
{
    return p && !p->is_service && !p->is_api_key && p->org[0] && p->role != TC_ROLE_NONE &&
           strncmp(p->sub, "key_", 4) != 0;
}

login_match_t login_resolve(const account_t *candidates, const bool *matched, int n, int *chosen)
{
    int found = 0;
    *chosen = -1;
    for (int i = 0; i < n; i++) {
        if (!matched[i] || !account_may_log_in(&candidates[i]))
            continue;
        if (found++ == 0)
            *chosen = i;
    }
    if (found == 0)
        return LOGIN_NONE;
    if (found == 1)
        return LOGIN_ONE;
    *chosen = -1;
    return LOGIN_AMBIGUOUS;
}

account_standing_t account_standing(const account_t *a, bool found)
{
    if (!found)
        return ACCOUNT_UNKNOWN;
    return strcmp(a->status, "active") == 0 ? ACCOUNT_OK : ACCOUNT_DISABLED;
}

bool account_may_sign_in_federated(const account_t *a, bool invitation_open)
{
    return strcmp(a->status, "active") == 0 ||
           (strcmp(a->status, "invited") == 0 && invitation_open);
}

bool sso_password_allowed(const account_t *a)
{
    return strcmp(a->role, "owner") == 0;
}
