/*
 * passwords.h: Argon2id hashing and verification (libargon2, PHC string format). Pure
 * computation, no I/O; the rules about passwords are in password_model.h.
 */
#ifndef AUTH_PASSWORDS_H
#define AUTH_PASSWORDS_H

#include <stddef.h>
#include "password_model.h"

/* Keeps Argon2id's working buffer out of glibc's arenas (call once, before threads). */
void pw_memory_policy(void);
/* A fresh salt and the PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) in out. */
int pw_hash(const pw_params_t *params, const char *password, char *out, size_t outlen);
/* TC_OK when the password matches, TC_EINVAL when it does not, TC_ERROR for a hash that is
 * not an Argon2id PHC string or cannot be checked. */
int pw_verify(const char *phc, const char *password);

#endif
