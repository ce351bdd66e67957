#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"

void respond_store_error(tc_resp_t *resp, int rc, const char *what)
{
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 404, "not_found", "%s not found", what);
    else
        tc_resp_fail(resp, rc);
}

void respond_user(tc_resp_t *resp, int status, const user_t *u)
{
    tc_resp_json(resp, status, user_to_json(u));
}

int user_id_ok(const char *id)
{
    return id && tc_id_valid("usr", id);
}
