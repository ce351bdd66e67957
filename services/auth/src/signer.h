/*
 * signer.h: auth's signing keys (README "Signing keys and rotation"): one current key signs,
 * one next key is already published, retired keys stay published until the tokens they signed
 * have expired. Private keys are stored sealed with DATA_KEK (AES-256-GCM bound to the kid).
 * Every replica reloads the table periodically, so a rotation done by one reaches the others.
 */
#ifndef AUTH_SIGNER_H
#define AUTH_SIGNER_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "auth_app.h"

auth_signer_t *signer_new(auth_app_t *app);
void signer_free(auth_signer_t *s);
/* Loads the keys from the database, creating the first pair (or a missing next key) under a
 * lock so replicas starting together create one set; installs them in the verifier. */
int signer_load(auth_signer_t *s);
/* Signs claims with the current key (RS256, header kid). */
int signer_sign(auth_signer_t *s, const cJSON *claims, char **jwt);
/* The published key set (JSON text, caller frees). */
char *signer_jwks(auth_signer_t *s);
/* next → current, current → retired, a new next; the new current kid in kid. With
 * min_age_h > 0 only when the current key is older than that (TC_ENOTFOUND otherwise), so
 * replicas running the same schedule rotate once. */
int signer_rotate(auth_signer_t *s, int min_age_h, char *kid, size_t kidlen);

#endif
