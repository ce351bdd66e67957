/* Session limits, timeouts and the refresh-token family rules (DESIGN §6). */
#include "session_model.h"

#include <string.h>

/* Verifiers accept a token up to this long after its exp (libcommon tc_auth's default leeway
 * is 30 s; a little more covers a verifier configured with more). */
#define ACCESS_LEEWAY_S 60

bool session_live(const session_policy_t *pol, const session_view_t *s, int64_t now)
{
    return !s->revoked && s->last_seen > now - pol->idle_s && s->auth_time > now - pol->max_age_s;
}

/* Newer first: by auth_time, then by id (time-sortable), as the session list orders them. */
static bool newer(const session_view_t *a, const session_view_t *b)
{
    if (a->auth_time != b->auth_time)
        return a->auth_time > b->auth_time;
    return strcmp(a->id, b->id) > 0;
}

size_t session_choose_evictions(const session_policy_t *pol, const session_view_t *sessions,
                                size_t n, int64_t now, size_t *evict, size_t max_evict)
{
    size_t keep = pol->session_max > 0 ? (size_t)pol->session_max - 1 : 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!session_live(pol, &sessions[i], now))
            continue;
        /* rank among the live sessions: how many live ones are newer than this one */
        size_t rank = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && session_live(pol, &sessions[j], now) && newer(&sessions[j], &sessions[i]))
                rank++;
        if (rank >= keep && count < max_evict)
            evict[count++] = i;
    }
    return count;
}

bool session_may_hold_access(const session_policy_t *pol, int64_t last_seen, int64_t now)
{
    return last_seen > now - pol->access_ttl_s - ACCESS_LEEWAY_S;
}

refresh_verdict_t refresh_decide(const session_policy_t *pol, const refresh_state_t *st,
                                 int64_t now)
{
    if (st->used)
        return REFRESH_REUSED;
    if (st->revoked)
        return REFRESH_REVOKED;
    if (st->expired)
        return REFRESH_EXPIRED;
    if (st->auth_time <= now - pol->max_age_s)
        return REFRESH_TOO_OLD;
    if (st->last_seen <= now - pol->idle_s)
        return REFRESH_IDLE;
    if (!st->account_active)
        return REFRESH_ACCOUNT_DISABLED;
    return REFRESH_OK;
}

bool refresh_revokes_session(refresh_verdict_t v, const refresh_state_t *st)
{
    return v != REFRESH_OK && v != REFRESH_REVOKED && !st->revoked;
}

const char *refresh_reason(refresh_verdict_t v)
{
    switch (v) {
    case REFRESH_OK:
        return "ok";
    case REFRESH_REUSED:
        return "refresh_token_reuse";
    case REFRESH_REVOKED:
        return "revoked";
    case REFRESH_EXPIRED:
        return "expired";
    case REFRESH_TOO_OLD:
        return "reauthentication_required";
    case REFRESH_IDLE:
        return "inactive";
    case REFRESH_ACCOUNT_DISABLED:
        return "account_disabled";
    }
    return "unknown";
}

bool refresh_reports_reuse(refresh_verdict_t v, const refresh_state_t *st)
{
    return v == REFRESH_REUSED && !st->revoked;
}

const char *session_amr(session_proof_t p)
{
    switch (p) {
    case PROOF_PASSWORD_OTP:
        return "pwd otp mfa";
    case PROOF_FEDERATED:
        return "fed";
    case PROOF_PASSWORD:
        break;
    }
    return "pwd";
}
