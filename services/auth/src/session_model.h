/*
 * session_model.h: sessions and refresh-token families (DESIGN §6), free of I/O.
 *
 * A session starts when a person proves who they are (password, second factor, sign-up,
 * invitation) and is one family of refresh tokens: every refresh uses its token up and issues
 * the next, and presenting a used token again revokes the whole family. At most
 * `session_max` sessions of a user are live; a session ends after `idle_s` without a refresh
 * and `max_age_s` after the user last proved who they are. Times are epoch seconds of the
 * database's clock, so tests can age a session by moving its timestamps.
 */
#ifndef AUTH_SESSION_MODEL_H
#define AUTH_SESSION_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "account_model.h"

typedef struct {
    int access_ttl_s;  /* access tokens (900) */
    int refresh_ttl_s; /* refresh tokens (7 days) */
    int session_max;   /* live sessions per user (5) */
    int idle_s;        /* inactivity limit (8 h) */
    int max_age_s;     /* re-authentication limit (24 h) */
} session_policy_t;

/* A session as the rules see it. */
typedef struct {
    char id[AUTH_ID_LEN];
    int64_t auth_time; /* when the user last proved who they are */
    int64_t last_seen; /* last token issued (login or refresh): the inactivity clock */
    bool revoked;
} session_view_t;

/* How a person proved who they are when a session started. */
typedef enum {
    PROOF_PASSWORD,     /* a password (sign-up, invitation and reset set one) */
    PROOF_PASSWORD_OTP, /* a password and a second factor */
    PROOF_FEDERATED     /* single sign-on: the identity provider's own methods */
} session_proof_t;

/* The session's amr (RFC 8176 values, space-separated as stored and put in access tokens):
 * "pwd", "pwd otp mfa", "fed". */
const char *session_amr(session_proof_t p);

/* Not revoked, not idle for idle_s, not older than max_age_s since auth_time. */
bool session_live(const session_policy_t *pol, const session_view_t *s, int64_t now);

/*
 * Which live sessions a new login ends so that, with it, at most session_max stay live: the
 * oldest by auth_time (then by id), never the newest session_max - 1. Writes their indices
 * (into `sessions`) to evict, returns how many (at most max_evict).
 */
size_t session_choose_evictions(const session_policy_t *pol, const session_view_t *sessions,
                                size_t n, int64_t now, size_t *evict, size_t max_evict);

/* An access token issued for this session can still be valid: one is issued with every
 * login and refresh (last_seen) and lives access_ttl_s, plus the verifiers' clock leeway.
 * A revocation needs announcing (session_revoked) only for such sessions. */
bool session_may_hold_access(const session_policy_t *pol, int64_t last_seen, int64_t now);

/* ---- refresh-token rotation ---- */

/* What the store knows about a presented refresh token and its session. */
typedef struct {
    bool used;         /* rotated already */
    bool expired;      /* past its own expiry */
    bool revoked;      /* the session was revoked */
    int64_t auth_time; /* the session's */
    int64_t last_seen; /* the session's */
    bool account_active;
} refresh_state_t;

typedef enum {
    REFRESH_OK = 0,          /* rotate: use this token up, issue the next */
    REFRESH_REUSED,          /* a rotated token came back: someone holds a copy */
    REFRESH_REVOKED,         /* the session already ended */
    REFRESH_EXPIRED,         /* the token's own 7 days are over */
    REFRESH_TOO_OLD,         /* re-authentication required (max_age_s) */
    REFRESH_IDLE,            /* no refresh for idle_s */
    REFRESH_ACCOUNT_DISABLED /* the account is no longer active */
} refresh_verdict_t;

/* The outcome of presenting a refresh token, in that order of precedence: reuse is detected
 * even on a revoked session (and revokes nothing new then). */
refresh_verdict_t refresh_decide(const session_policy_t *pol, const refresh_state_t *st,
                                 int64_t now);
/* The refusal ends the session now (it is not revoked yet and the verdict ends it). */
bool refresh_revokes_session(refresh_verdict_t v, const refresh_state_t *st);
/* Reason recorded on the session and in events ("refresh_token_reuse", "inactive", …). */
const char *refresh_reason(refresh_verdict_t v);
/* A reuse that this presentation detected (the family was still live): announced as
 * refresh_token_reused, once. */
bool refresh_reports_reuse(refresh_verdict_t v, const refresh_state_t *st);

#endif
