/* tc_revoke: which tokens a revocation refuses, from auth's events, and for how long. */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_revoke.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

#define KEEP_MS (16 * 60 * 1000)

static tc_principal_t token(const char *sub, const char *sid, int64_t iat_s)
{
    tc_principal_t p = {0};
    snprintf(p.sub, sizeof p.sub, "%s", sub);
    snprintf(p.sid, sizeof p.sid, "%s", sid ? sid : "");
    p.iat = iat_s;
    return p;
}

static tc_event_t event(const char *type, const char *data, int64_t at_ms, char *time_buf)
{
    tc_time_format(at_ms, time_buf);
    tc_event_t ev = {.type = (char *)type, .id = "evt_1", .time = time_buf, .data = (char *)data};
    ev.data_len = strlen(data);
    return ev;
}

Test(revoke, nothing_revoked_refuses_nothing)
{
    tc_revocations_t *r = tc_revocations_new(KEEP_MS);
    tc_principal_t p = token("usr_1", "ses_1", tc_now_ms() / 1000);
    cr_assert(!tc_revocations_refuse(r, &p));
    cr_assert(!tc_revocations_refuse(NULL, &p));
    tc_revocations_free(r);
}

Test(revoke, a_revoked_session_refuses_only_its_own_tokens)
{
    tc_revocations_t *r = tc_revocations_new(KEEP_MS);
    int64_t now = tc_now_ms();
    char t[TC_RFC3339_LEN];
    tc_event_t ev =
        event("com.techcorp.auth.session_revoked",
              "{\"session_id\":\"ses_1\",\"user_id\":\"usr_1\",\"reason\":\"logout\"}", now, t);
    cr_assert_eq(tc_revocations_apply(r, &ev), TC_OK);
    tc_principal_t same = token("usr_1", "ses_1", now / 1000 - 5);
    tc_principal_t later = token("usr_1", "ses_1", now / 1000 + 5); /* a session never revives */
    tc_principal_t other = token("usr_1", "ses_2", now / 1000 - 5);
    cr_assert(tc_revocations_refuse(r, &same));
    cr_assert(tc_revocations_refuse(r, &later));
    cr_assert(!tc_revocations_refuse(r, &other));
    cr_assert_eq(tc_revocations_count(r), 1);
    tc_revocations_free(r);
}

Test(revoke, everything_of_a_user_refuses_what_was_issued_before)
{
    tc_revocations_t *r = tc_revocations_new(KEEP_MS);
    int64_t now = tc_now_ms();
    char t[TC_RFC3339_LEN];
    tc_event_t all =
        event("com.techcorp.auth.session_revoked",
              "{\"session_id\":\"all\",\"user_id\":\"usr_1\",\"reason\":\"logout_all\"}", now, t);
    cr_assert_eq(tc_revocations_apply(r, &all), TC_OK);
    tc_principal_t before = token("usr_1", "ses_1", now / 1000 - 1);
    tc_principal_t after = token("usr_1", "ses_9", now / 1000 + 1);
    tc_principal_t same_second = token("usr_1", "ses_9", now / 1000);
    tc_principal_t no_iat = token("usr_1", "", 0);
    tc_principal_t someone_else = token("usr_2", "ses_3", now / 1000 - 1);
    cr_assert(tc_revocations_refuse(r, &before));
    cr_assert(!tc_revocations_refuse(r, &after), "a login after the logout works");
    cr_assert(!tc_revocations_refuse(r, &same_second));
    cr_assert(tc_revocations_refuse(r, &no_iat), "a token that does not say when it was issued");
    cr_assert(!tc_revocations_refuse(r, &someone_else));
    tc_revocations_free(r);
}

Test(revoke, suspension_reuse_and_key_revocation)
{
    tc_revocations_t *r = tc_revocations_new(KEEP_MS);
    int64_t now = tc_now_ms();
    char t1[TC_RFC3339_LEN], t2[TC_RFC3339_LEN], t3[TC_RFC3339_LEN], t4[TC_RFC3339_LEN];
    tc_event_t evs[] = {
        event("com.techcorp.auth.access_revoked", "{\"user_id\":\"usr_5\",\"org_id\":\"org_1\"}",
              now, t1),
        event("com.techcorp.auth.refresh_token_reused",
              "{\"session_id\":\"ses_7\",\"user_id\":\"usr_6\"}", now, t2),
        event("com.techcorp.auth.api_key_revoked", "{\"key_id\":\"key_1\",\"org_id\":\"org_1\"}",
              now, t3),
        /* not a revocation: ignored */
        event("com.techcorp.auth.login_succeeded", "{\"user_id\":\"usr_8\"}", now, t4),
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(evs); i++)
        cr_assert_eq(tc_revocations_apply(r, &evs[i]), TC_OK, "event %zu", i);
    tc_principal_t suspended = token("usr_5", "ses_1", now / 1000 - 60);
    tc_principal_t same_second = token("usr_5", "", now / 1000);
    cr_assert(tc_revocations_refuse(r, &same_second), "no new token for a suspended user");
    tc_principal_t reused = token("usr_6", "ses_7", now / 1000 - 60);
    tc_principal_t key = token("key_1", "", now / 1000 - 10);
    tc_principal_t logged_in = token("usr_8", "ses_8", now / 1000 - 10);
    cr_assert(tc_revocations_refuse(r, &suspended));
    cr_assert(tc_revocations_refuse(r, &reused));
    cr_assert(tc_revocations_refuse(r, &key));
    cr_assert(!tc_revocations_refuse(r, &logged_in));
    cr_assert_eq(tc_revocations_count(r), 3);
    tc_revocations_free(r);
}

Test(revoke, unreadable_revocations_are_reported)
{
    tc_revocations_t *r = tc_revocations_new(KEEP_MS);
    char t[TC_RFC3339_LEN];
    tc_event_t no_sid =
        event("com.techcorp.auth.session_revoked", "{\"user_id\":\"usr_1\"}", tc_now_ms(), t);
    tc_event_t not_json = event("com.techcorp.auth.access_revoked", "not json", tc_now_ms(), t);
    cr_assert_eq(tc_revocations_apply(r, &no_sid), TC_EINVAL);
    cr_assert_eq(tc_revocations_apply(r, &not_json), TC_EINVAL);
    cr_assert_eq(tc_revocations_count(r), 0);
    tc_revocations_free(r);
}

Test(revoke, entries_older_than_any_token_are_dropped)
{
    tc_revocations_t *r = tc_revocations_new(1000);
    int64_t now = tc_now_ms();
    /* revoked long ago: every token it could concern has expired */
    cr_assert_eq(tc_revoke_session(r, "ses_old", now - 5000), TC_OK);
    cr_assert_eq(tc_revocations_count(r), 0);
    cr_assert_eq(tc_revoke_session(r, "ses_new", now), TC_OK);
    cr_assert_eq(tc_revocations_count(r), 1);
    tc_principal_t p = token("usr_1", "ses_new", now / 1000);
    cr_assert(tc_revocations_refuse(r, &p));
    cr_assert_eq(tc_revoke_session(r, NULL, now), TC_EINVAL);
    cr_assert_eq(tc_revoke_subject(r, "", now), TC_EINVAL);
    tc_revocations_free(r);
}
