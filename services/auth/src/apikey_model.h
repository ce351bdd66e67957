/*
 * apikey_model.h: the rules of API keys (DESIGN §6, README "API keys"), free of I/O.
 *
 * A key acts for its org with a role no higher than its creator's and never above admin. It
 * may be restricted to scopes of the platform's vocabulary (proto/scopes.json, generated into
 * tc_scopes[]): each service then lets it call only the routes whose scope it holds. A key
 * created without scopes is unrestricted and bound by its role alone. Reserved scopes
 * ("internal") and unknown ones are refused at creation, and never appear in a key's token.
 */
#ifndef AUTH_APIKEY_MODEL_H
#define AUTH_APIKEY_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include "tc/tc_auth.h"
#include "tc/tc_json.h"

#define APIKEY_MAX_SCOPES 32
#define APIKEY_PREFIX_LEN 16 /* "tc_live_" + 8 characters, shown in lists */

typedef struct {
    const char *name;
    const char *role;                      /* as asked (NULL: the default for the creator) */
    const char *scopes[APIKEY_MAX_SCOPES]; /* distinct vocabulary scopes, in the given order */
    int nscopes;
} apikey_create_t;

/* A scope of the vocabulary (the first TC_SCOPES_COUNT entries of tc_scopes), not reserved. */
bool apikey_scope_known(const char *scope);

/* Validates {name, scopes?, role?} for a creator of role `creator`: every problem into jv;
 * scopes outside the vocabulary are listed by value in one error on "scopes". */
void apikey_validate_create(tc_jv_t *jv, const cJSON *body, tc_role_t creator,
                            apikey_create_t *out);
/* The role of a new key: the one asked for, or the creator's capped at admin. */
const char *apikey_role(const apikey_create_t *in, tc_role_t creator);

/* May this person create a key now? Their stored role and status (NULL when auth has no
 * account for them), not their token's: a key outlives the token that created it. */
bool apikey_creator_allowed(const char *stored_role, const char *stored_status);

/* The scopes a key's token may carry: the stored ones (space-separated) that are in the
 * vocabulary, written to out space-separated. false when the key was restricted to scopes
 * and none of them is usable (a key created before the vocabulary, or holding only reserved
 * ones): it must not turn into an unrestricted key, so it is inactive. */
bool apikey_usable_scopes(const char *stored, char *out, size_t outlen);

/* A key as stored (never its secret). */
typedef struct {
    char id[64];
    char org_id[64];
    char *name; /* owned */
    char prefix[APIKEY_PREFIX_LEN + 8];
    char role[16];
    char *scopes_json; /* owned: a JSON array of strings */
    char created_at[32];
    char last_used_at[32]; /* "" when never used */
    char revoked_at[32];   /* "" while live */
    char created_by[64];
} apikey_t;

void apikey_clear(apikey_t *k);
/* The API representation {id, name, prefix, role, scopes, created_at, last_used_at,
 * revoked_at, created_by}. NULL on OOM. */
cJSON *apikey_to_json(const apikey_t *k);

/* The visible prefix of a key (its first APIKEY_PREFIX_LEN characters). */
void apikey_prefix(const char *key, char out[APIKEY_PREFIX_LEN + 1]);

#endif
