/*
 * sessions.h: starting, rotating and ending sessions inside the caller's transaction — the
 * session rules (session_model.h) applied to the store, the tokens issued, and every
 * revocation announced on auth-events (session_revoked, refresh_token_reused). No HTTP.
 */
#ifndef AUTH_SESSIONS_H
#define AUTH_SESSIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include "account_model.h"
#include "auth_app.h"
#include "session_model.h"

/* The tokens of a session. */
typedef struct {
    char sid[AUTH_ID_LEN];
    char user_id[AUTH_ID_LEN]; /* whose session (also set when a refresh is refused) */
    char refresh[AUTH_SECRET_LEN];
    char *access; /* JWT, owned */
} session_grant_t;

void grant_clear(session_grant_t *g);
/* {access_token, token_type, expires_in, refresh_token, refresh_expires_in, session_id};
 * NULL on OOM. */
cJSON *session_grant_json(const auth_app_t *app, const session_grant_t *g);

/* A new session for acc: the oldest live sessions beyond the limit are revoked (and
 * announced), login_succeeded is recorded, and the tokens issued. */
int session_start(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, session_proof_t proof,
                  const char *ip, const char *user_agent, session_grant_t *out);

/* Rotates a refresh token. TC_OK with new tokens, or TC_EDENIED with *verdict saying why;
 * a refusal may have revoked the session (a reused token ends its family: announced), which
 * the caller commits before answering. out->sid and out->user_id name the session when the
 * token was known. */
int session_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *refresh, session_grant_t *out,
                    refresh_verdict_t *verdict);

/* Ends one of the user's sessions and announces it; TC_ENOTFOUND when it is not theirs or
 * already ended. */
int session_end(tc_dbconn_t *tx, const char *sid, const char *user_id, const char *org_id,
                const char *reason);
/* Ends every session of the user except `keep`: each ended session that can still hold a
 * valid access token is announced by its id, and when keep is NULL the user's "all" follows.
 * *count gets how many ended. */
int session_end_all(auth_app_t *app, tc_dbconn_t *tx, const char *user_id, const char *org_id,
                    const char *keep, const char *reason, int *count);

#endif
