/*
 * mfa_model.h: the rules of the second factor around TOTP (totp.h), free of I/O: recovery
 * codes and how long a started enrolment may be confirmed.
 */
#ifndef AUTH_MFA_MODEL_H
#define AUTH_MFA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFA_ISSUER          "TechCorp" /* the name authenticator apps show */
#define MFA_RECOVERY_CODES  10
#define MFA_RECOVERY_RANDOM 10 /* random bytes behind one recovery code */
#define MFA_RECOVERY_LEN    12 /* "k7f2m-q9xwp" + NUL */

/* A recovery code ("k7f2m-q9xwp": 10 characters of an alphabet without look-alikes, in two
 * groups) made of MFA_RECOVERY_RANDOM random bytes. */
void mfa_recovery_code(const uint8_t rnd[MFA_RECOVERY_RANDOM], char out[MFA_RECOVERY_LEN]);
/* An enrolment started at started_s (its secret shown once) may be confirmed until ttl_s
 * later: starting it needed the password (README, "Passwords and MFA"), and the proof does not
 * last forever. */
bool mfa_enrolment_fresh(int64_t started_s, int64_t now_s, int ttl_s);

#endif
