/*
 * Single-use tokens (SHA-256 only): password resets and invitations mailed to people, the
 * second-factor challenges between a correct password and the code; and the queue of reset
 * requests (the blind index of an address, never the address).
 */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <string.h>

/* The user of a token row found by one statement (FOR UPDATE), or TC_ENOTFOUND. */
static int take(tc_dbconn_t *c, const char *name, const char *sql, const char *token_hash,
                char user_id[AUTH_ID_LEN])
{
    PGresult *r = NULL;
    int rc = tc_db_query(c, &r, name, sql, 1, TC_DB_PARAMS(token_hash));
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        snprintf(user_id, AUTH_ID_LEN, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_reset_request_add(tc_dbconn_t *c, const char *email_hash)
{
    return tc_db_qp(c, NULL, "reset_request_add",
                    "INSERT INTO reset_requests (email_hash) VALUES ($1)", email_hash);
}

int store_reset_requests_take(tc_dbconn_t *c, int max, char (*hashes)[24], int *n)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", max);
    PGresult *r = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "reset_requests_take",
                      "DELETE FROM reset_requests WHERE id IN (SELECT id FROM reset_requests"
                      " ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING email_hash",
                      limit);
    for (int i = 0; rc == TC_OK && i < PQntuples(r) && i < max; i++)
        snprintf(hashes[(*n)++], 24, "%s", tc_db_val(r, i, 0));
    PQclear(r);
    return rc;
}

int store_reset_insert(tc_dbconn_t *c, const char *token_hash, const char *user_id, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "reset_insert",
                    "INSERT INTO password_resets (token_hash, user_id, expires_at)"
                    " VALUES ($1,$2, now() + make_interval(secs => $3::int))",
                    token_hash, user_id, ttl);
}

int store_reset_take(tc_dbconn_t *c, const char *token_hash, char user_id[AUTH_ID_LEN])
{
    return take(c, "reset_take",
                "SELECT user_id FROM password_resets WHERE token_hash=$1 AND used_at IS NULL"
                " AND expires_at > now() FOR UPDATE",
                token_hash, user_id);
}

int store_resets_end(tc_dbconn_t *c, const char *user_id)
{
    return tc_db_qp(c, NULL, "resets_end",
                    "UPDATE password_resets SET used_at=now() WHERE user_id=$1 AND used_at IS NULL",
                    user_id);
}

int store_invitation_insert(tc_dbconn_t *c, const char *token_hash, const char *user_id,
                            const char *org_id, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "invitation_insert",
                    "INSERT INTO invitations (token_hash, user_id, org_id, expires_at)"
                    " VALUES ($1,$2,$3, now() + make_interval(secs => $4::int))",
                    token_hash, user_id, org_id, ttl);
}

int store_invitation_take(tc_dbconn_t *c, const char *token_hash, char user_id[AUTH_ID_LEN])
{
    return take(c, "invitation_take",
                "SELECT user_id FROM invitations WHERE token_hash=$1 AND accepted_at IS NULL"
                " AND expires_at > now() FOR UPDATE",
                token_hash, user_id);
}

int store_invitation_accept(tc_dbconn_t *c, const char *token_hash)
{
    return tc_db_qp(c, NULL, "invitation_accept",
                    "UPDATE invitations SET accepted_at=now() WHERE token_hash=$1", token_hash);
}

int store_invitation_open(tc_dbconn_t *c, const char *user_id, bool *open)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "invitation_open",
                      "SELECT EXISTS (SELECT 1 FROM invitations WHERE user_id=$1"
                      " AND accepted_at IS NULL AND expires_at > now())",
                      user_id);
    *open = rc == TC_OK && strcmp(tc_db_val(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

int store_invitations_accept_all(tc_dbconn_t *c, const char *user_id)
{
    return tc_db_qp(c, NULL, "invitations_accept_all",
                    "UPDATE invitations SET accepted_at=now() WHERE user_id=$1"
                    " AND accepted_at IS NULL",
                    user_id);
}

int store_challenge_insert(tc_dbconn_t *c, const char *id_hash, const char *user_id, const char *ip,
                           const char *user_agent, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "challenge_insert",
                    "INSERT INTO mfa_challenges (id_hash, user_id, ip, user_agent, expires_at)"
                    " VALUES ($1,$2,$3,left($4,256), now() + make_interval(secs => $5::int))",
                    id_hash, user_id, ip, user_agent, ttl);
}

int store_challenge_take(tc_dbconn_t *c, const char *id_hash, char user_id[AUTH_ID_LEN])
{
    return take(c, "challenge_take",
                "SELECT user_id FROM mfa_challenges WHERE id_hash=$1 AND used_at IS NULL"
                " AND expires_at > now() AND attempts < 5 FOR UPDATE",
                id_hash, user_id);
}

int store_challenge_failed(tc_dbconn_t *c, const char *id_hash)
{
    return tc_db_qp(c, NULL, "challenge_fail",
                    "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id_hash=$1", id_hash);
}

int store_challenge_used(tc_dbconn_t *c, const char *id_hash)
{
    return tc_db_qp(c, NULL, "challenge_used",
                    "UPDATE mfa_challenges SET used_at=now() WHERE id_hash=$1", id_hash);
}
