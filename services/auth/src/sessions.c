/*
 * Sessions (DESIGN §6): at most session_max live sessions per user (a new login revokes the
 * oldest), an inactivity limit measured from the last refresh, and a forced re-login after
 * session_max_age since the user last proved who they are. Each session is one family of
 * refresh tokens: every refresh rotates the token, and presenting a rotated token again
 * (a stolen copy, or a replay) revokes the whole family.
 *
 * All time comparisons use the database clock (now()), so tests can age a session by
 * moving its timestamps instead of waiting.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void grant_clear(session_grant_t *g)
{
    free(g->access);
    memset(g, 0, sizeof *g);
}

static int issue_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *sid, char *out)
{
    char hash[TC_SHA256_HEX_LEN], ttl[16];
    if (tok_secret("rt", out, hash) != TC_OK)
        return TC_ERROR;
    snprintf(ttl, sizeof ttl, "%d", app->refresh_ttl_s);
    return tc_db_qp(tx, NULL, "rt_insert",
                    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
                    " VALUES ($1,$2, now() + make_interval(secs => $3::int))",
                    hash, sid, ttl);
}

static int issue_access(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *sid,
                        char **access)
{
    char plan[32];
    int rc = org_plan(tx, acc->org_id, plan, sizeof plan);
    return rc == TC_OK ? tok_access(app, acc, plan, sid, access) : rc;
}

/* Live = not revoked and within both time limits. */
#define LIVE_SQL                                                                                   \
    "revoked_at IS NULL AND last_seen_at > now() - make_interval(secs => $2::int)"                 \
    " AND auth_time > now() - make_interval(secs => $3::int)"

static int enforce_limit(auth_app_t *app, tc_dbconn_t *tx, const char *user_id,
                         session_grant_t *out)
{
    char idle[16], max_age[16], keep[16];
    snprintf(idle, sizeof idle, "%d", app->session_idle_s);
    snprintf(max_age, sizeof max_age, "%d", app->session_max_age_s);
    snprintf(keep, sizeof keep, "%d", app->session_max - 1);
    PGresult *r = NULL;
    /* the account row lock serialises logins of one user, so two can't both see room */
    int rc = tc_db_qp(tx, NULL, "sess_lock_acct",
                      "SELECT 1 FROM accounts WHERE user_id=$1 FOR UPDATE", user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "sess_over_limit",
                      "UPDATE sessions SET revoked_at=now(), revoke_reason='session_limit'"
                      " WHERE id IN (SELECT id FROM sessions WHERE user_id=$1 AND " LIVE_SQL
                      " ORDER BY auth_time DESC, id DESC OFFSET $4::int) RETURNING id",
                      user_id, idle, max_age, keep);
    for (int i = 0; rc == TC_OK && i < PQntuples(r) && out->nrevoked < 8; i++)
        snprintf(out->revoked[out->nrevoked++], AUTH_ID_LEN, "%s", tc_db_val(r, i, 0));
    PQclear(r);
    return rc;
}

int session_start(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, int mfa, const char *ip,
                  const char *user_agent, session_grant_t *out)
{
    memset(out, 0, sizeof *out);
    if (tc_id_new("ses", out->sid, sizeof out->sid) != TC_OK)
        return TC_ERROR;
    snprintf(out->user_id, sizeof out->user_id, "%s", acc->user_id);
    int rc = enforce_limit(app, tx, acc->user_id, out);
    if (rc == TC_OK)
        rc =
            tc_db_qp(tx, NULL, "sess_insert",
                     "INSERT INTO sessions (id, user_id, org_id, auth_time, last_seen_at, mfa, ip,"
                     " user_agent) VALUES ($1,$2,$3, now(), now(), $4::boolean, $5, left($6, 256))",
                     out->sid, acc->user_id, acc->org_id, mfa ? "true" : "false", ip, user_agent);
    if (rc == TC_OK)
        rc = issue_refresh(app, tx, out->sid, out->refresh);
    if (rc == TC_OK)
        rc = issue_access(app, tx, acc, out->sid, &out->access);
    return rc;
}

int session_revoke(tc_dbconn_t *tx, const char *sid, const char *user_id, const char *reason)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "sess_revoke",
                      "UPDATE sessions SET revoked_at=now(), revoke_reason=$3"
                      " WHERE id=$1 AND user_id=$2 AND revoked_at IS NULL",
                      sid, user_id, reason);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int session_revoke_all(tc_dbconn_t *tx, const char *user_id, const char *keep, const char *reason,
                       int *count)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "sess_revoke_all",
                      "UPDATE sessions SET revoked_at=now(), revoke_reason=$3"
                      " WHERE user_id=$1 AND revoked_at IS NULL AND ($2::text IS NULL OR id <> $2)",
                      user_id, keep, reason);
    if (rc == TC_OK && count)
        *count = atoi(PQcmdTuples(r));
    PQclear(r);
    return rc;
}

typedef struct {
    char sid[AUTH_ID_LEN], user_id[AUTH_ID_LEN];
    int used, expired, revoked, idle, too_old, mfa;
} rt_state_t;

static int lookup_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *hash, rt_state_t *st)
{
    char idle[16], max_age[16];
    snprintf(idle, sizeof idle, "%d", app->session_idle_s);
    snprintf(max_age, sizeof max_age, "%d", app->session_max_age_s);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "rt_lookup",
                      "SELECT s.id, s.user_id, rt.used_at IS NOT NULL, rt.expires_at < now(),"
                      " s.revoked_at IS NOT NULL,"
                      " s.last_seen_at < now() - make_interval(secs => $2::int),"
                      " s.auth_time < now() - make_interval(secs => $3::int), s.mfa"
                      " FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id"
                      " WHERE rt.token_hash=$1 FOR UPDATE OF rt, s",
                      hash, idle, max_age);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(st->sid, sizeof st->sid, "%s", tc_db_val(r, 0, 0));
        snprintf(st->user_id, sizeof st->user_id, "%s", tc_db_val(r, 0, 1));
        st->used = tc_db_val(r, 0, 2)[0] == 't';
        st->expired = tc_db_val(r, 0, 3)[0] == 't';
        st->revoked = tc_db_val(r, 0, 4)[0] == 't';
        st->idle = tc_db_val(r, 0, 5)[0] == 't';
        st->too_old = tc_db_val(r, 0, 6)[0] == 't';
        st->mfa = tc_db_val(r, 0, 7)[0] == 't';
    }
    PQclear(r);
    return rc;
}

/* A refused refresh that must still change state (revocations) returns TC_EDENIED after
 * the change; the caller commits either way. */
static int deny(tc_dbconn_t *tx, const rt_state_t *st, const char *reason, const char **why)
{
    *why = reason;
    if (!st->revoked) {
        int rc = session_revoke(tx, st->sid, st->user_id, reason);
        if (rc != TC_OK && rc != TC_ENOTFOUND)
            return rc;
    }
    return TC_EDENIED;
}

int session_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *refresh, session_grant_t *out,
                    int *reused, const char **why)
{
    char hash[TC_SHA256_HEX_LEN];
    rt_state_t st = {0};
    account_t acc = {0};
    memset(out, 0, sizeof *out);
    *reused = 0;
    tok_hash(refresh, hash);
    int rc = lookup_refresh(app, tx, hash, &st);
    if (rc == TC_ENOTFOUND) {
        *why = "unknown";
        return TC_EDENIED;
    }
    if (rc != TC_OK)
        return rc;
    snprintf(out->sid, sizeof out->sid, "%s", st.sid);
    snprintf(out->user_id, sizeof out->user_id, "%s", st.user_id);
    if (st.used) {
        /* a rotated token came back: someone holds a copy. End the family. */
        *reused = !st.revoked;
        return deny(tx, &st, "refresh_token_reuse", why);
    }
    if (st.revoked) {
        *why = "revoked";
        return TC_EDENIED;
    }
    if (st.expired)
        return deny(tx, &st, "expired", why);
    if (st.too_old)
        return deny(tx, &st, "reauthentication_required", why);
    if (st.idle)
        return deny(tx, &st, "inactive", why);
    rc = acct_by_id(app, tx, st.user_id, 0, &acc);
    if (rc == TC_ENOTFOUND || (rc == TC_OK && strcmp(acc.status, "active") != 0)) {
        account_clear(&acc);
        return deny(tx, &st, "account_disabled", why);
    }
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "rt_use",
                      "UPDATE refresh_tokens SET used_at=now() WHERE token_hash=$1", hash);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "sess_seen", "UPDATE sessions SET last_seen_at=now() WHERE id=$1",
                      st.sid);
    if (rc == TC_OK)
        rc = issue_refresh(app, tx, st.sid, out->refresh);
    if (rc == TC_OK)
        rc = issue_access(app, tx, &acc, st.sid, &out->access);
    account_clear(&acc);
    return rc;
}

cJSON *session_grant_json(const auth_app_t *app, const session_grant_t *g)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "access_token", g->access) ||
        !cJSON_AddStringToObject(j, "token_type", "Bearer") ||
        !tc_json_add_int(j, "expires_in", app->access_ttl_s) ||
        !cJSON_AddStringToObject(j, "refresh_token", g->refresh) ||
        !tc_json_add_int(j, "refresh_expires_in", app->refresh_ttl_s) ||
        !cJSON_AddStringToObject(j, "session_id", g->sid)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
