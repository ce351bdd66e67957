/*
 * password_model.h: the rules for passwords, free of I/O — the policy a new password must
 * meet, OWASP's Argon2id minimums, and when a stored hash must be redone.
 */
#ifndef AUTH_PASSWORD_MODEL_H
#define AUTH_PASSWORD_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "tc/tc_json.h"

#define PW_MIN_CHARS 10
#define PW_MAX_CHARS 128
#define PW_PHC_MAX   256 /* room for any PHC string auth writes */

/* Argon2id parameters: memory (KiB), passes, lanes. */
typedef struct {
    uint32_t m_kib, t, p;
} pw_params_t;

/* Meets OWASP's Argon2id table (m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5; p >= 1). */
bool pw_params_ok(const pw_params_t *params);
/* The stored hash was made with other parameters (or another version or scheme) than the
 * configured ones, so the next successful login rehashes it. */
bool pw_needs_rehash(const pw_params_t *configured, const char *phc);
/* Records what is wrong with a new password under `field`: length (10-128 characters),
 * only blanks, control characters, one of the most common passwords, or containing the
 * local part of the account's email (4 characters or more). email may be NULL. */
void pw_policy(tc_jv_t *jv, const char *field, const char *password, const char *email);

#endif
