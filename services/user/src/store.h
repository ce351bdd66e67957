/*
 * store.h: the user service's SQL. Functions take an open connection (usually inside the
 * caller's transaction) and return TC_* codes: TC_ENOTFOUND for absent rows, TC_ECONFLICT
 * for a taken email. PII is encrypted/decrypted here, so handlers only see plaintext.
 */
#ifndef USER_STORE_H
#define USER_STORE_H

#include "user_app.h"
#include "user_model.h"
#include "tc/tc_page.h"

/* Makes sure the org's data key is cached before a connection is held (a cache miss needs
 * a connection of its own). */
int store_prepare_keys(user_app_t *app, const char *org_id);

/* org_id NULL: any org (internal callers). */
int store_user_get(user_app_t *app, tc_dbconn_t *c, const char *org_id, const char *id,
                   int for_update, user_t *out);
/* The same read of one user of the org, pipelined: fn receives the result, which
 * store_user_from_result turns into *out (TC_ENOTFOUND without a row). */
int store_user_get_async(user_app_t *app, const char *org_id, const char *id, tc_dbpipe_fn fn,
                         void *ud);
int store_user_from_result(user_app_t *app, const PGresult *r, user_t *out);
int store_user_insert(user_app_t *app, tc_dbconn_t *c, user_t *u);
/* Writes name, profile, role, status (deleted_at follows status) and bumps version. */
int store_user_save(user_app_t *app, tc_dbconn_t *c, user_t *u);
int store_owner_count(tc_dbconn_t *c, const char *org_id, const char *except_id, int64_t *n);
/* A user's current role and status; TC_ENOTFOUND when the id is not a user of the org. Roles
 * and statuses change only under the org lock, so a caller holding it reads a settled value. */
int store_user_standing(tc_dbconn_t *c, const char *org_id, const char *id, char *role,
                        size_t rolelen, char *status, size_t statuslen);

typedef struct {
    const char *role, *status, *email, *q;
} user_filter_t;

/* Fills users (up to page->limit) and *next_key when more rows follow. */
int store_user_list(user_app_t *app, tc_dbconn_t *c, const char *org_id, const user_filter_t *f,
                    const tc_page_t *page, user_t **users, int *n, char *next_key, size_t keylen);
void store_users_free(user_t *users, int n);

/* Live members for SCIM, by any of these (NULL: any), from offset, at most limit; *total is
 * how many match. */
typedef struct {
    const char *email, *external_id, *id, *role;
    int offset, limit;
} store_scim_query_t;
int store_user_scim_list(user_app_t *app, tc_dbconn_t *c, const char *org_id,
                         const store_scim_query_t *q, user_t **users, int *n, long *total);

/* The org of a SCIM token's SHA-256; TC_ENOTFOUND when no org has it. */
int store_scim_token_org(tc_dbconn_t *c, const char *token_hash, char *org_id, size_t n);
/* The org's SCIM token from now on (the previous one stops working). */
int store_scim_token_set(tc_dbconn_t *c, const char *org_id, const char *token_hash,
                         const char *prefix, const char *created_by, char *created_at, size_t n);
/* TC_ENOTFOUND when the org had none. */
int store_scim_token_delete(tc_dbconn_t *c, const char *org_id);
/* Revokes the org's SCIM token when `created_by` created it (*revoked says whether). */
int store_scim_token_revoke_by(tc_dbconn_t *c, const char *org_id, const char *created_by,
                               bool *revoked);
/* The provider's id of a member ("" when none). */
int store_scim_external_get(tc_dbconn_t *c, const char *user_id, char *out, size_t n);
/* Sets (NULL: clears) it; TC_ECONFLICT when another member of the org has it. */
int store_scim_external_set(tc_dbconn_t *c, const char *org_id, const char *user_id,
                            const char *external_id);

int store_prefs_get(tc_dbconn_t *c, const char *org_id, const char *id, char **json);
/* *version: the new version, 0 when the preferences were already these */
int store_prefs_put(tc_dbconn_t *c, const char *id, const char *json, int64_t *version);

/* Deletes up to `batch` users deleted longer than retention_s ago; ids/org ids returned. */
int store_user_purge(tc_dbconn_t *c, int64_t retention_s, int batch, PGresult **res);

int store_org_insert(tc_dbconn_t *c, org_t *o);
int store_org_get(tc_dbconn_t *c, const char *id, int for_update, org_t *out);
int store_org_save(tc_dbconn_t *c, org_t *o);

#endif
