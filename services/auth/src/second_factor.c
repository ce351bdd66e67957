/* The second factor: TOTP codes (no replay) and single-use recovery codes. */
#include "second_factor.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tokens.h"
#include "totp.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

bool second_factor_totp(const char *secret_b32, const char *code, int64_t now_s, int64_t last_step,
                        int64_t *step)
{
    uint8_t secret[64];
    ssize_t n = totp_base32_decode(secret_b32, secret, sizeof secret);
    bool ok = n > 0 && totp_verify(secret, (size_t)n, code, now_s, last_step, step);
    OPENSSL_cleanse(secret, sizeof secret);
    return ok;
}

int second_factor_check(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code)
{
    char *b32 = NULL;
    int64_t last = 0, step = 0;
    int rc = store_mfa_confirmed(app, tx, acc, &b32, &last);
    if (rc == TC_ENOTFOUND)
        return TC_EINVAL;
    if (rc != TC_OK)
        return rc;
    bool ok = second_factor_totp(b32, code, tc_now_ms() / 1000, last, &step);
    OPENSSL_cleanse(b32, strlen(b32));
    free(b32);
    if (ok)
        return store_mfa_set_step(tx, acc->user_id, step);
    /* not a current TOTP code: maybe a recovery code (single use) */
    char hash[TC_SHA256_HEX_LEN];
    tok_hash(code, hash);
    rc = store_recovery_use(tx, acc->user_id, hash);
    return rc == TC_ENOTFOUND ? TC_EINVAL : rc;
}
