/*
 * second_factor.h: checking a person's second factor inside the caller's transaction — a TOTP
 * code of an enabled enrolment (its step then recorded, so it is never accepted again) or one
 * of their unused recovery codes (then used up). No HTTP.
 */
#ifndef AUTH_SECOND_FACTOR_H
#define AUTH_SECOND_FACTOR_H

#include "account_model.h"
#include "auth_app.h"

/* TC_OK when the code is good (and now used); TC_EINVAL when it is not. */
int second_factor_check(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code);
/* Verifies a code against a base32 secret at the database's clock; *step on success. */
bool second_factor_totp(const char *secret_b32, const char *code, int64_t now_s, int64_t last_step,
                        int64_t *step);

#endif
