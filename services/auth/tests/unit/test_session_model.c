/* Unit tests for auth's session rules (session_model.c): the limit of concurrent sessions and
 * which one a login evicts, the inactivity and re-authentication limits, which revoked
 * sessions can still hold a valid access token, and every refresh-token verdict. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "session_model.h"

static const session_policy_t pol = {.access_ttl_s = 900,
                                     .refresh_ttl_s = 7 * 86400,
                                     .session_max = 5,
                                     .idle_s = 8 * 3600,
                                     .max_age_s = 24 * 3600};

#define NOW 1700000000LL

static session_view_t sess(int n, int64_t auth_ago, int64_t seen_ago)
{
    session_view_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "ses_%02d", n);
    s.auth_time = NOW - auth_ago;
    s.last_seen = NOW - seen_ago;
    return s;
}

Test(session_model, live_means_within_both_limits)
{
    session_view_t s = sess(1, 3600, 60);
    cr_assert(session_live(&pol, &s, NOW));
    s = sess(1, 3600, 8 * 3600 - 600); /* 7 h 50 min idle */
    cr_assert(session_live(&pol, &s, NOW));
    s = sess(1, 10 * 3600, 9 * 3600); /* 9 h idle */
    cr_assert_not(session_live(&pol, &s, NOW), "inactive for more than 8 h");
    s = sess(1, 24 * 3600 + 1, 60);
    cr_assert_not(session_live(&pol, &s, NOW), "re-authentication due after 24 h");
    s = sess(1, 23 * 3600, 60);
    cr_assert(session_live(&pol, &s, NOW));
    s.revoked = true;
    cr_assert_not(session_live(&pol, &s, NOW));
}

Test(session_model, room_left_evicts_nothing)
{
    session_view_t s[4] = {sess(1, 400, 10), sess(2, 300, 10), sess(3, 200, 10), sess(4, 100, 10)};
    size_t evict[8];
    cr_assert_eq(session_choose_evictions(&pol, s, 4, NOW, evict, 8), 0,
                 "4 live + the new one = 5");
    cr_assert_eq(session_choose_evictions(&pol, s, 0, NOW, evict, 8), 0);
}

Test(session_model, the_sixth_login_evicts_the_oldest)
{
    session_view_t s[5] = {sess(3, 300, 10), sess(1, 500, 10), sess(5, 100, 10), sess(2, 400, 10),
                           sess(4, 200, 10)};
    size_t evict[8];
    size_t n = session_choose_evictions(&pol, s, 5, NOW, evict, 8);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(s[evict[0]].id, "ses_01", "the oldest by the time the user proved who");
}

Test(session_model, dead_sessions_do_not_count_and_are_not_evicted)
{
    session_view_t s[6] = {
        sess(1, 600, 10),           sess(2, 500, 10),       sess(3, 400, 10),
        sess(4, 300, 10),           sess(5, 25 * 3600, 10), /* too old: not live */
        sess(6, 9 * 3600, 9 * 3600)};                       /* idle: not live */
    size_t evict[8];
    cr_assert_eq(session_choose_evictions(&pol, s, 6, NOW, evict, 8), 0);
}

Test(session_model, a_lower_limit_evicts_several_oldest_first)
{
    session_policy_t two = pol;
    two.session_max = 2;
    session_view_t s[4] = {sess(1, 400, 10), sess(2, 300, 10), sess(3, 200, 10), sess(4, 100, 10)};
    size_t evict[8];
    size_t n = session_choose_evictions(&two, s, 4, NOW, evict, 8);
    cr_assert_eq(n, 3, "only the newest stays beside the new one");
    for (size_t i = 0; i < n; i++)
        cr_assert_str_neq(s[evict[i]].id, "ses_04");
    cr_assert_eq(session_choose_evictions(&two, s, 4, NOW, evict, 2), 2, "bounded by max_evict");
}

Test(session_model, ties_are_broken_by_id)
{
    session_policy_t one = pol;
    one.session_max = 2;
    session_view_t s[2] = {sess(2, 100, 10), sess(1, 100, 10)};
    size_t evict[4];
    cr_assert_eq(session_choose_evictions(&one, s, 2, NOW, evict, 4), 1);
    cr_assert_str_eq(s[evict[0]].id, "ses_01", "same auth_time: the older id goes");
}

Test(session_model, which_revocations_leave_a_valid_access_token)
{
    cr_assert(session_may_hold_access(&pol, NOW - 60, NOW), "refreshed a minute ago");
    cr_assert(session_may_hold_access(&pol, NOW - 900, NOW), "the token is still valid");
    cr_assert(session_may_hold_access(&pol, NOW - 950, NOW), "within the verifiers' leeway");
    cr_assert_not(session_may_hold_access(&pol, NOW - 3600, NOW), "its last token expired");
}

static refresh_state_t fresh(void)
{
    refresh_state_t st = {.auth_time = NOW - 3600, .last_seen = NOW - 600, .account_active = true};
    return st;
}

Test(session_model, refresh_rotates_a_good_token)
{
    refresh_state_t st = fresh();
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_OK);
    cr_assert_not(refresh_revokes_session(REFRESH_OK, &st));
    cr_assert_not(refresh_reports_reuse(REFRESH_OK, &st));
}

Test(session_model, reuse_of_a_rotated_token_ends_the_family_once)
{
    refresh_state_t st = fresh();
    st.used = true;
    refresh_verdict_t v = refresh_decide(&pol, &st, NOW);
    cr_assert_eq(v, REFRESH_REUSED);
    cr_assert(refresh_revokes_session(v, &st));
    cr_assert(refresh_reports_reuse(v, &st));
    cr_assert_str_eq(refresh_reason(v), "refresh_token_reuse");
    /* the family already revoked (by this reuse or earlier): detected, nothing more to do */
    st.revoked = true;
    v = refresh_decide(&pol, &st, NOW);
    cr_assert_eq(v, REFRESH_REUSED, "reuse wins over revoked");
    cr_assert_not(refresh_revokes_session(v, &st));
    cr_assert_not(refresh_reports_reuse(v, &st), "reported once");
}

Test(session_model, refusals_in_order_of_precedence)
{
    refresh_state_t st = fresh();
    st.revoked = true;
    st.expired = true;
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_REVOKED);
    cr_assert_not(refresh_revokes_session(REFRESH_REVOKED, &st));
    st = fresh();
    st.expired = true;
    st.auth_time = NOW - 30 * 3600;
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_EXPIRED);
    st = fresh();
    st.auth_time = NOW - 24 * 3600 - 60;
    st.last_seen = NOW - 9 * 3600;
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_TOO_OLD, "24 h since the password");
    cr_assert_str_eq(refresh_reason(REFRESH_TOO_OLD), "reauthentication_required");
    st = fresh();
    st.last_seen = NOW - 8 * 3600 - 1;
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_IDLE, "8 h without a refresh");
    cr_assert(refresh_revokes_session(REFRESH_IDLE, &st));
    cr_assert_not(refresh_reports_reuse(REFRESH_IDLE, &st));
    st = fresh();
    st.account_active = false;
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_ACCOUNT_DISABLED);
    cr_assert(refresh_revokes_session(REFRESH_ACCOUNT_DISABLED, &st));
    cr_assert_str_eq(refresh_reason(REFRESH_ACCOUNT_DISABLED), "account_disabled");
}

Test(session_model, idle_limit_boundary)
{
    refresh_state_t st = fresh();
    st.last_seen = NOW - 8 * 3600 + 600; /* 7 h 50 min */
    cr_assert_eq(refresh_decide(&pol, &st, NOW), REFRESH_OK);
}

Test(session_model, amr_says_how_the_user_proved_who_they_are)
{
    cr_assert_str_eq(session_amr(PROOF_PASSWORD), "pwd");
    cr_assert_str_eq(session_amr(PROOF_PASSWORD_OTP), "pwd otp mfa");
    cr_assert_str_eq(session_amr(PROOF_FEDERATED), "fed");
}
