/*
 * Sessions and their refresh tokens (only the SHA-256 of a token is stored). Times the rules
 * compare are read as epoch seconds of the database's clock, beside its now.
 */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH(col) "floor(extract(epoch FROM " col "))::bigint"

static bool is_true(const PGresult *r, int row, int col)
{
    const char *v = tc_db_val(r, row, col);
    return v && v[0] == 't';
}

int store_sessions_unrevoked(tc_dbconn_t *c, const char *user_id, session_view_t **out, int *n,
                             int64_t *now)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "sess_unrevoked",
                      "SELECT id, " EPOCH("auth_time") ", " EPOCH("last_seen_at") ", " EPOCH(
                          "now()") " FROM sessions WHERE user_id=$1 AND revoked_at IS NULL",
                      user_id);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    *now = rc == TC_OK && rows ? tc_db_int(r, 0, 3, 0) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        session_view_t *s = &(*out)[i];
        snprintf(s->id, sizeof s->id, "%s", tc_db_val(r, i, 0));
        s->auth_time = tc_db_int(r, i, 1, 0);
        s->last_seen = tc_db_int(r, i, 2, 0);
        (*n)++;
    }
    PQclear(r);
    return rc;
}

int store_session_insert(tc_dbconn_t *c, const char *sid, const char *user_id, const char *org_id,
                         bool mfa, const char *amr, const char *ip, const char *user_agent)
{
    return tc_db_qp(
        c, NULL, "sess_insert",
        "INSERT INTO sessions (id, user_id, org_id, auth_time, last_seen_at, mfa, amr, ip,"
        " user_agent) VALUES ($1,$2,$3, now(), now(), $4::boolean, $5, $6,"
        " left($7, 256))",
        sid, user_id, org_id, mfa ? "true" : "false", amr, ip, user_agent);
}

int store_session_revoke(tc_dbconn_t *c, const char *sid, const char *user_id, const char *reason)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "sess_revoke",
                      "UPDATE sessions SET revoked_at=now(), revoke_reason=$3"
                      " WHERE id=$1 AND user_id=$2 AND revoked_at IS NULL",
                      sid, user_id, reason);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_session_ended(tc_dbconn_t *c, const char *sid, bool *ended)
{
    PGresult *r = NULL;
    *ended = false;
    int rc = tc_db_qp(c, &r, "sess_ended",
                      "SELECT revoked_at IS NOT NULL FROM sessions WHERE id=$1", sid);
    if (rc == TC_OK && PQntuples(r) == 1)
        *ended = is_true(r, 0, 0);
    PQclear(r);
    return rc;
}

int store_sessions_revoke_all(tc_dbconn_t *c, const char *user_id, const char *keep,
                              const char *reason, store_revoked_t **out, int *n, int64_t *now)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    *now = 0;
    int rc = tc_db_qp(c, &r, "sess_revoke_all",
                      "UPDATE sessions SET revoked_at=now(), revoke_reason=$3"
                      " WHERE user_id=$1 AND revoked_at IS NULL AND ($2::text IS NULL OR id <> $2)"
                      " RETURNING id, " EPOCH("last_seen_at") ", " EPOCH("now()"),
                      user_id, keep, reason);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        snprintf((*out)[i].id, sizeof(*out)[i].id, "%s", tc_db_val(r, i, 0));
        (*out)[i].last_seen = tc_db_int(r, i, 1, 0);
        *now = tc_db_int(r, i, 2, 0);
        (*n)++;
    }
    PQclear(r);
    return rc;
}

int store_sessions_live(tc_dbconn_t *c, const session_policy_t *pol, const char *user_id,
                        store_session_row_t **out, int *n)
{
    char idle[16], max_age[16];
    snprintf(idle, sizeof idle, "%d", pol->idle_s);
    snprintf(max_age, sizeof max_age, "%d", pol->max_age_s);
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc =
        tc_db_qp(c, &r, "sess_live",
                 "SELECT id, " TC_DB_TS("auth_time") ", " TC_DB_TS(
                     "last_seen_at") ", ip, user_agent, mfa"
                                     " FROM sessions WHERE user_id=$1 AND revoked_at IS NULL"
                                     " AND last_seen_at > now() - make_interval(secs => $2::int)"
                                     " AND auth_time > now() - make_interval(secs => $3::int)"
                                     " ORDER BY auth_time DESC, id DESC",
                 user_id, idle, max_age);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        store_session_row_t *s = &(*out)[i];
        snprintf(s->id, sizeof s->id, "%s", tc_db_val(r, i, 0));
        snprintf(s->created_at, sizeof s->created_at, "%s", tc_db_val(r, i, 1));
        snprintf(s->last_seen_at, sizeof s->last_seen_at, "%s", tc_db_val(r, i, 2));
        const char *ip = tc_db_val(r, i, 3), *ua = tc_db_val(r, i, 4);
        s->ip = ip ? strdup(ip) : NULL;
        s->user_agent = ua ? strdup(ua) : NULL;
        s->mfa = is_true(r, i, 5);
        (*n)++;
        if ((ip && !s->ip) || (ua && !s->user_agent))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc != TC_OK) {
        store_session_rows_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void store_session_rows_free(store_session_row_t *rows, int n)
{
    for (int i = 0; rows && i < n; i++) {
        free(rows[i].ip);
        free(rows[i].user_agent);
    }
    free(rows);
}

int store_refresh_insert(tc_dbconn_t *c, const char *token_hash, const char *sid, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "rt_insert",
                    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
                    " VALUES ($1,$2, now() + make_interval(secs => $3::int))",
                    token_hash, sid, ttl);
}

int store_refresh_lookup(tc_dbconn_t *c, const char *token_hash, store_refresh_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(
        c, &r, "rt_lookup",
        "SELECT s.id, s.user_id, s.org_id, s.mfa, rt.used_at IS NOT NULL,"
        " rt.expires_at < now(), s.revoked_at IS NOT NULL, " EPOCH("s.auth_time") ", " EPOCH(
            "s.last_seen_at") ", " EPOCH("now()") ", s.amr FROM refresh_tokens rt JOIN sessions s "
                                                  "ON s.id "
                                                  "= rt.session_id"
                                                  " WHERE rt.token_hash=$1 FOR UPDATE OF rt, s",
        token_hash);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->sid, sizeof out->sid, "%s", tc_db_val(r, 0, 0));
        snprintf(out->user_id, sizeof out->user_id, "%s", tc_db_val(r, 0, 1));
        snprintf(out->org_id, sizeof out->org_id, "%s", tc_db_val(r, 0, 2));
        out->mfa = is_true(r, 0, 3);
        out->state.used = is_true(r, 0, 4);
        out->state.expired = is_true(r, 0, 5);
        out->state.revoked = is_true(r, 0, 6);
        out->state.auth_time = tc_db_int(r, 0, 7, 0);
        out->state.last_seen = tc_db_int(r, 0, 8, 0);
        out->now = tc_db_int(r, 0, 9, 0);
        snprintf(out->amr, sizeof out->amr, "%s", tc_db_val(r, 0, 10));
    }
    PQclear(r);
    return rc;
}

int store_refresh_use(tc_dbconn_t *c, const char *token_hash, const char *sid)
{
    int rc = tc_db_qp(c, NULL, "rt_use",
                      "UPDATE refresh_tokens SET used_at=now() WHERE token_hash=$1", token_hash);
    if (rc == TC_OK)
        rc = tc_db_qp(c, NULL, "sess_seen", "UPDATE sessions SET last_seen_at=now() WHERE id=$1",
                      sid);
    return rc;
}
