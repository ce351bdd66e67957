/*
 * throttle.h: brute-force limits (GCRA in Redis, libcommon tc_ratelimit) per client address
 * and per account on login, sign-up and reset requests, per user on the second factor and on
 * re-entering a password. Redis down: fails open (counted in
 * auth_ratelimit_unavailable_total) or closed, as AUTH_RATELIMIT_FAIL_OPEN says.
 */
#ifndef AUTH_THROTTLE_H
#define AUTH_THROTTLE_H

#include "auth_app.h"

/* TC_OK to go ahead; TC_EAGAIN when limited (*retry_after_s set, at least 1). */
int throttle(auth_app_t *app, const char *bucket, const char *key, const auth_limit_t *lim,
             int *retry_after_s);

#endif
