#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"
#include "store.h"

void respond_user(tc_resp_t *resp, int status, const user_t *u)
{
    tc_resp_json(resp, status, user_to_json(u));
}

int actor_current(tc_dbconn_t *tx, const tc_principal_t *token, tc_principal_t *eff,
                  tc_resp_t *resp)
{
    char role[16], status[16];
    const char *why = NULL;
    int found = 0;
    if (user_actor_is_member(token)) {
        int rc = store_user_standing(tx, token->org, token->sub, role, sizeof role, status,
                                     sizeof status);
        if (rc != TC_OK && rc != TC_ENOTFOUND) {
            tc_resp_fail(resp, rc);
            return rc;
        }
        found = rc == TC_OK;
    }
    if (user_effective_actor(token, found ? role : NULL, found ? status : NULL, eff, &why) !=
        USER_OK) {
        tc_resp_error(resp, 403, "forbidden", "%s", why);
        return TC_EDENIED;
    }
    return TC_OK;
}
