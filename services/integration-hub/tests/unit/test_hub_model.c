/* hub_model: secrets, Standard Webhooks signing, inbound verification (Standard Webhooks,
 * GitHub, Stripe), the retry schedule, filters and request bodies.
 *
 * The expected MACs were computed apart from this code, with Python's hmac, hashlib and
 * base64 (the Svix one is also the example of Svix's documentation), so a mistake in how the
 * signed content is assembled or encoded fails here. */
#include "hub_model.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

/* The 422's fields, joined by spaces, each followed by one. */
static void fields_of(const tc_jv_t *jv, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv->errors)
    {
        strncat(out, tc_json_get_str(e, "field"), n - strlen(out) - 2);
        strncat(out, " ", n - strlen(out) - 1);
    }
}

/* The message recorded for a field, or NULL. */
static const char *message_of(const tc_jv_t *jv, const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, jv->errors)
    {
        if (strcmp(tc_json_get_str(e, "field"), field) == 0)
            return tc_json_get_str(e, "message");
    }
    return NULL;
}

/* ------------------------------------------------------------------ vectors */

#define ELLIPSIS "\xe2\x80\xa6" /* "…" in UTF-8 */

/* Svix's documented example: 24-byte key. */
#define SVIX_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SVIX_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SVIX_TS     1614265330
#define SVIX_BODY   "{\"test\": 2432232314}"
#define SVIX_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Bytes 0..31 as the key. */
#define SECRET2 "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define BODY    "{\"type\":\"com.techcorp.user.created\",\"data\":{\"id\":\"usr_1\"}}"
#define TS      1700000000
/* HMAC of "msg_1.1700000000." BODY with SVIX_SECRET's and SECRET2's keys */
#define SIG1 "v1,dlV3L4SwB92bsj4OZZXIHjKH3+5GCk94KxEKNq6xoEk="
#define SIG2 "v1,vsiKCRu1YRFl2Hivr+E9ngyGylg/yHb2eZ8Y3PABTX8="

/* GitHub's documented example. */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY   "Hello, World!"
#define GH_SIG    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* HMAC("whsec_stripe_test_secret_123", "1700000000." BODY) and the same with another key. */
#define ST_SECRET "whsec_stripe_test_secret_123"
#define ST_V1     "4a4a48eeeaba2e089cbafddc49c734d4912dc72ef65684a660b30622d4e8a05b"
#define ST_OTHER  "c41dba955ad401115da0b8c88ae151a8b18349aa906c7082a324f30251d18bb9"

/* ------------------------------------------------------------------ secrets */

Test(secrets, a_new_secret_is_whsec_and_32_random_bytes)
{
    char a[HUB_SECRET_MAX], b[HUB_SECRET_MAX];
    cr_assert_eq(hub_secret_new(a, sizeof a), TC_OK);
    cr_assert_eq(hub_secret_new(b, sizeof b), TC_OK);
    cr_assert_eq(strncmp(a, "whsec_", 6), 0, "%s", a);
    cr_assert_eq(strlen(a), 6 + 44, "%s", a); /* base64 of 32 bytes */
    cr_assert(hub_secret_valid(a));
    cr_assert_str_neq(a, b);
    char small[20];
    cr_assert_eq(hub_secret_new(small, sizeof small), TC_EINVAL);
}

Test(secrets, validity_is_whsec_and_base64_of_24_to_64_bytes)
{
    cr_assert(hub_secret_valid(SVIX_SECRET)); /* 24 bytes */
    cr_assert(hub_secret_valid(SECRET2));
    cr_assert(
        hub_secret_valid("whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
                         "BwcHBwcHBwcHBwcHBwcHBw=="));                     /* 64 */
    cr_assert_not(hub_secret_valid("whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwc=")); /* 23 */
    cr_assert_not(
        hub_secret_valid("whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
                         "BwcHBwcHBwcHBwcHBwcHBwcHBwc="));               /* 65 */
    cr_assert_not(hub_secret_valid("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")); /* no prefix */
    cr_assert_not(hub_secret_valid("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w"));
    cr_assert_not(hub_secret_valid("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")); /* pad */
    cr_assert_not(hub_secret_valid("whsec_"));
    cr_assert_not(hub_secret_valid(""));
    cr_assert_not(hub_secret_valid(NULL));
}

Test(secrets, the_hint_shows_the_prefix_and_the_last_four)
{
    char h[HUB_HINT_MAX];
    hub_secret_hint(SECRET2, h);
    cr_assert_str_eq(h, "whsec_" ELLIPSIS "Hh8=");
    hub_secret_hint(GH_SECRET, h);
    cr_assert_str_eq(h, ELLIPSIS "body");
    hub_secret_hint("whsec_short", h); /* too short to show any of it */
    cr_assert_str_eq(h, "whsec_" ELLIPSIS);
    hub_secret_hint(NULL, h);
    cr_assert_str_eq(h, "");
}

/* ------------------------------------------------------------------ signing */

Test(signing, svix_documented_example)
{
    char sig[HUB_SIG_MAX];
    cr_assert_eq(hub_sign(SVIX_SECRET, SVIX_ID, SVIX_TS, SVIX_BODY, strlen(SVIX_BODY), sig), TC_OK);
    cr_assert_str_eq(sig, SVIX_SIG);
}

Test(signing, known_answers_and_an_empty_body)
{
    char sig[HUB_SIG_MAX];
    cr_assert_eq(hub_sign(SVIX_SECRET, "msg_1", TS, BODY, strlen(BODY), sig), TC_OK);
    cr_assert_str_eq(sig, SIG1);
    cr_assert_eq(hub_sign(SECRET2, "msg_1", TS, BODY, strlen(BODY), sig), TC_OK);
    cr_assert_str_eq(sig, SIG2);
    cr_assert_eq(hub_sign(SECRET2, "msg_x", 0, NULL, 0, sig), TC_OK);
    cr_assert_str_eq(sig, "v1,TzW1DL0ph0SIzrXlObrPSX2CUKHDi2wlsYn84icBWl0=");
}

Test(signing, an_invalid_secret_signs_nothing)
{
    char sig[HUB_SIG_MAX] = "x";
    cr_assert_eq(hub_sign("whsec_nope", "msg_1", TS, BODY, strlen(BODY), sig), TC_EINVAL);
    cr_assert_str_eq(sig, "");
    cr_assert_eq(hub_sign(NULL, "msg_1", TS, BODY, strlen(BODY), sig), TC_EINVAL);
    cr_assert_eq(hub_sign(SECRET2, NULL, TS, BODY, strlen(BODY), sig), TC_EINVAL);
}

Test(signing, the_header_carries_the_previous_secret_during_a_rotation)
{
    char h[2 * HUB_SIG_MAX];
    cr_assert_eq(hub_signature_header(SECRET2, NULL, "msg_1", TS, BODY, strlen(BODY), h), TC_OK);
    cr_assert_str_eq(h, SIG2);
    cr_assert_eq(hub_signature_header(SECRET2, SVIX_SECRET, "msg_1", TS, BODY, strlen(BODY), h),
                 TC_OK);
    cr_assert_str_eq(h, SIG2 " " SIG1);
    cr_assert_eq(hub_signature_header(SECRET2, "bad", "msg_1", TS, BODY, strlen(BODY), h),
                 TC_EINVAL);
}

Test(signing, what_is_signed_verifies)
{
    char h[2 * HUB_SIG_MAX], ts[24];
    cr_assert_eq(hub_signature_header(SECRET2, SVIX_SECRET, "msg_9", TS, BODY, strlen(BODY), h),
                 TC_OK);
    snprintf(ts, sizeof ts, "%d", TS);
    hub_sig_headers_t hd = {.webhook_id = "msg_9", .webhook_timestamp = ts, .webhook_signature = h};
    const char *why;
    cr_assert_eq(
        hub_verify(HUB_VERIFY_STANDARD, SVIX_SECRET, &hd, BODY, strlen(BODY), TS, 300, &why),
        TC_OK);
    cr_assert_eq(hub_verify(HUB_VERIFY_STANDARD, SECRET2, &hd, BODY, strlen(BODY), TS, 300, &why),
                 TC_OK);
}

/* ------------------------------------------------------------------ verification */

Test(verify, names_both_ways)
{
    cr_assert_eq(hub_verify_parse("none"), HUB_VERIFY_NONE);
    cr_assert_eq(hub_verify_parse("standard"), HUB_VERIFY_STANDARD);
    cr_assert_eq(hub_verify_parse("github"), HUB_VERIFY_GITHUB);
    cr_assert_eq(hub_verify_parse("stripe"), HUB_VERIFY_STRIPE);
    cr_assert_eq(hub_verify_parse("Stripe"), -1);
    cr_assert_eq(hub_verify_parse(NULL), -1);
    for (int v = HUB_VERIFY_NONE; v <= HUB_VERIFY_STRIPE; v++)
        cr_assert_eq(hub_verify_parse(hub_verify_name((hub_verify_t)v)), v);
    cr_assert_null(hub_verify_name((hub_verify_t)42));
}

Test(verify, none_lets_anything_in)
{
    const char *why = "x";
    cr_assert_eq(hub_verify(HUB_VERIFY_NONE, NULL, NULL, "b", 1, 0, 0, &why), TC_OK);
    hub_sig_headers_t h = {.webhook_signature = "v1,garbage"};
    cr_assert_eq(hub_verify(HUB_VERIFY_NONE, NULL, &h, "b", 1, 0, 0, &why), TC_OK);
}

static int standard(const char *secret, const char *id, const char *ts, const char *sig,
                    const char *body, int64_t now, const char **why)
{
    hub_sig_headers_t h = {.webhook_id = id, .webhook_timestamp = ts, .webhook_signature = sig};
    return hub_verify(HUB_VERIFY_STANDARD, secret, &h, body, strlen(body), now, 300, why);
}

Test(verify_standard, the_svix_example_and_any_of_several_signatures)
{
    const char *why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, SVIX_ID, "1614265330", SVIX_SIG, SVIX_BODY, SVIX_TS, &why),
                 TC_OK);
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG2 " " SIG1, BODY, TS, &why),
                 TC_OK);
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1 " " SIG2, BODY, TS, &why),
                 TC_OK);
    /* other schemes and odd spacing are skipped, not fatal */
    cr_assert_eq(
        standard(SECRET2, "msg_1", "1700000000", "v1a,abc  v2,xyz " SIG2 " ", BODY, TS, &why),
        TC_OK);
    cr_assert_eq(standard(SECRET2, "msg_1", "1700000000", "v1,bm90IGEgbWFj " SIG2, BODY, TS, &why),
                 TC_OK);
}

Test(verify_standard, wrong_secret_tampered_body_or_other_message_id_is_a_mismatch)
{
    const char *why = NULL;
    cr_assert_eq(standard(SECRET2, "msg_1", "1700000000", SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1,
                          "{\"type\":\"com.techcorp.user.created\",\"data\":{\"id\":\"usr_2\"}}",
                          TS, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
    cr_assert_eq(standard(SVIX_SECRET, "msg_2", "1700000000", SIG1, BODY, TS, &why), TC_EDENIED);
    /* the timestamp is signed too: moving it within the tolerance breaks the MAC */
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000001", SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
}

Test(verify_standard, stale_or_future_timestamps_are_refused)
{
    const char *why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1, BODY, TS + 300, &why), TC_OK);
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1, BODY, TS - 300, &why), TC_OK);
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1, BODY, TS + 301, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "timestamp outside the tolerance");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", SIG1, BODY, TS - 301, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "timestamp outside the tolerance");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "999999999999999999", SIG1, BODY, INT64_MIN, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "timestamp outside the tolerance");
}

Test(verify_standard, missing_and_malformed_headers)
{
    const char *why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, NULL, "1700000000", SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", NULL, SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", NULL, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", "", BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    why = NULL;
    cr_assert_eq(
        hub_verify(HUB_VERIFY_STANDARD, SVIX_SECRET, NULL, BODY, strlen(BODY), TS, 300, &why),
        TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "17e8", SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "malformed signature header");
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "-1700000000", SIG1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "malformed signature header");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", "dlV3L4SwB92bsj4OZZXIHjKH3+5GCk94",
                          BODY, TS, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "malformed signature header");
    why = NULL;
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", "v1a,abc v2,def", BODY, TS, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "malformed signature header");
}

Test(verify_standard, a_truncated_signature_never_matches)
{
    const char *why = NULL;
    /* the first 16 bytes of SIG1's MAC, base64 */
    cr_assert_eq(
        standard(SVIX_SECRET, "msg_1", "1700000000", "v1,dlV3L4SwB92bsj4OZZXIHg==", BODY, TS, &why),
        TC_EDENIED);
    cr_assert_eq(standard(SVIX_SECRET, "msg_1", "1700000000", "v1,", BODY, TS, &why), TC_EDENIED);
}

Test(verify_standard, a_hook_without_a_usable_secret_is_a_server_fault)
{
    const char *why = NULL;
    cr_assert_eq(standard(NULL, "msg_1", "1700000000", SIG1, BODY, TS, &why), TC_EINVAL);
    cr_assert_not_null(why);
    cr_assert_eq(standard("not-a-whsec", "msg_1", "1700000000", SIG1, BODY, TS, &why), TC_EINVAL);
}

Test(verify, the_senders_delivery_id)
{
    hub_sig_headers_t h = {.webhook_id = "msg_1", .github_delivery = "72d3162e"};
    cr_assert_str_eq(hub_sender_delivery_id(HUB_VERIFY_STANDARD, &h), "msg_1");
    cr_assert_str_eq(hub_sender_delivery_id(HUB_VERIFY_GITHUB, &h), "72d3162e");
    cr_assert_null(hub_sender_delivery_id(HUB_VERIFY_STRIPE, &h));
    cr_assert_null(hub_sender_delivery_id(HUB_VERIFY_NONE, &h));
    cr_assert_null(hub_sender_delivery_id(HUB_VERIFY_STANDARD, NULL));
}

static int github(const char *secret, const char *sig, const char *body, const char **why)
{
    hub_sig_headers_t h = {.github_signature = sig, .github_delivery = "d-1"};
    /* GitHub signs no timestamp: "now" must not matter */
    return hub_verify(HUB_VERIFY_GITHUB, secret, &h, body, strlen(body), 0, 0, why);
}

Test(verify_github, documented_example_good_and_bad)
{
    const char *why = NULL;
    cr_assert_eq(github(GH_SECRET, GH_SIG, GH_BODY, &why), TC_OK);
    cr_assert_eq(github(GH_SECRET,
                        "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
                        GH_BODY, &why),
                 TC_OK);
    cr_assert_eq(github("It's a Secret to Everybody!", GH_SIG, GH_BODY, &why), TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
    why = NULL;
    cr_assert_eq(github(GH_SECRET, GH_SIG, "Hello, World?", &why), TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
}

Test(verify_github, missing_and_malformed)
{
    const char *why = NULL;
    cr_assert_eq(github(GH_SECRET, NULL, GH_BODY, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    const char *bad[] = {
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17a",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043ezz",
        "sha256=",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        why = NULL;
        cr_assert_eq(github(GH_SECRET, bad[i], GH_BODY, &why), TC_EDENIED, "%s", bad[i]);
        cr_assert_str_eq(why, "malformed signature header", "%s", bad[i]);
    }
}

static int stripe(const char *secret, const char *sig, const char *body, int64_t now,
                  const char **why)
{
    hub_sig_headers_t h = {.stripe_signature = sig};
    return hub_verify(HUB_VERIFY_STRIPE, secret, &h, body, strlen(body), now, 300, why);
}

Test(verify_stripe, good_and_any_of_several_v1)
{
    const char *why = NULL;
    cr_assert_eq(stripe(ST_SECRET, "t=1700000000,v1=" ST_V1, BODY, TS, &why), TC_OK);
    cr_assert_eq(
        stripe(ST_SECRET, "t=1700000000,v1=" ST_OTHER ",v1=" ST_V1 ",v0=abc", BODY, TS, &why),
        TC_OK);
    cr_assert_eq(stripe(ST_SECRET, "v1=" ST_V1 ",t=1700000000", BODY, TS + 299, &why), TC_OK);
    /* a v0 with the right value is not a v1 */
    cr_assert_eq(stripe(ST_SECRET, "t=1700000000,v0=" ST_V1 ",v1=" ST_OTHER, BODY, TS, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
}

Test(verify_stripe, wrong_secret_tampered_body_stale_future)
{
    const char *why = NULL;
    cr_assert_eq(stripe("another_secret_0000", "t=1700000000,v1=" ST_V1, BODY, TS, &why),
                 TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
    cr_assert_eq(stripe("another_secret_0000", "t=1700000000,v1=" ST_OTHER, BODY, TS, &why), TC_OK);
    cr_assert_eq(stripe(ST_SECRET, "t=1700000000,v1=" ST_V1, "{}", TS, &why), TC_EDENIED);
    cr_assert_eq(stripe(ST_SECRET, "t=1700000001,v1=" ST_V1, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "signature mismatch");
    why = NULL;
    cr_assert_eq(stripe(ST_SECRET, "t=1700000000,v1=" ST_V1, BODY, TS + 301, &why), TC_EDENIED);
    cr_assert_str_eq(why, "timestamp outside the tolerance");
    why = NULL;
    cr_assert_eq(stripe(ST_SECRET, "t=1700000000,v1=" ST_V1, BODY, TS - 301, &why), TC_EDENIED);
    cr_assert_str_eq(why, "timestamp outside the tolerance");
}

Test(verify_stripe, missing_and_malformed)
{
    const char *why = NULL;
    cr_assert_eq(stripe(ST_SECRET, NULL, BODY, TS, &why), TC_EDENIED);
    cr_assert_str_eq(why, "missing signature");
    const char *bad[] = {
        "v1=" ST_V1,                                    /* no t */
        "t=,v1=" ST_V1,                                 /* empty t */
        "t=17e8,v1=" ST_V1,                             /* not a number */
        "t=1700000000,t=1700000000,v1=" ST_V1,          /* t twice */
        "t=1700000000",                                 /* no v1 */
        "t=1700000000,v0=" ST_V1,                       /* only v0 */
        "t=1700000000,v1=4a4a48eeeaba2e089cbafddc49c7", /* short v1 */
        "garbage",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        why = NULL;
        cr_assert_eq(stripe(ST_SECRET, bad[i], BODY, TS, &why), TC_EDENIED, "%s", bad[i]);
        cr_assert_str_eq(why, "malformed signature header", "%s", bad[i]);
    }
}

/* ------------------------------------------------------------------ schedule */

Test(schedule, the_default_and_good_schedules)
{
    int s[HUB_SCHEDULE_MAX];
    cr_assert_eq(hub_schedule_parse(HUB_SCHEDULE_DEFAULT, s), 8);
    int want[] = {0, 5, 300, 1800, 7200, 18000, 36000, 36000};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(s[i], want[i]);
    cr_assert_eq(hub_schedule_parse("0", s), 1);
    cr_assert_eq(hub_schedule_parse("0, 1, 604800", s), 3);
    cr_assert_eq(s[2], 604800);
}

Test(schedule, malformed_schedules_are_refused_untouched)
{
    int s[HUB_SCHEDULE_MAX];
    const char *bad[] = {
        "",      " ",    "0,",    ",0",  "0,,5", "0,-5",     "5,10",
        "1",     "0,5x", "0,5.5", "0;5", "zero", "0,604801", "0,99999999999999999999",
        "0,5 5",
    };
    s[0] = 1234;
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_eq(hub_schedule_parse(bad[i], s), -1, "%s", bad[i]);
    cr_assert_eq(s[0], 1234);
    cr_assert_eq(hub_schedule_parse(NULL, s), -1);
}

Test(schedule, at_most_32_attempts)
{
    int s[HUB_SCHEDULE_MAX];
    char text[256] = "0";
    for (int i = 1; i < HUB_SCHEDULE_MAX; i++)
        strcat(text, ",1");
    cr_assert_eq(hub_schedule_parse(text, s), HUB_SCHEDULE_MAX);
    strcat(text, ",1");
    cr_assert_eq(hub_schedule_parse(text, s), -1);
}

Test(schedule, delay_before_each_attempt_then_none)
{
    int s[HUB_SCHEDULE_MAX];
    int n = hub_schedule_parse(HUB_SCHEDULE_DEFAULT, s);
    cr_assert_eq(hub_schedule_delay(s, n, 1), 0);
    cr_assert_eq(hub_schedule_delay(s, n, 2), 5);
    cr_assert_eq(hub_schedule_delay(s, n, 3), 300);
    cr_assert_eq(hub_schedule_delay(s, n, 8), 36000);
    cr_assert_eq(hub_schedule_delay(s, n, 9), -1);
    cr_assert_eq(hub_schedule_delay(s, n, 100), -1);
    cr_assert_eq(hub_schedule_delay(s, n, 0), -1);
    cr_assert_eq(hub_schedule_delay(NULL, 0, 1), -1);
}

/* ------------------------------------------------------------------ filters */

Test(filters, valid_and_invalid)
{
    const char *good[] = {"*", "com.techcorp.user.created", "com.techcorp.user.*", "com.*",
                          "com.techcorp.workflow.execution.timed_out"};
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++)
        cr_assert(hub_filter_valid(good[i]), "%s", good[i]);
    char longest[HUB_FILTER_LEN + 1];
    memset(longest, 'a', HUB_FILTER_LEN);
    longest[HUB_FILTER_LEN] = '\0';
    const char *bad[] = {"",
                         ".*",
                         "com.",
                         ".com",
                         "com..user",
                         "com.techcorp.*.created",
                         "**",
                         "com.*.*",
                         "com.User",
                         "com user",
                         "com.techcorp.user*",
                         "*.created",
                         "com.my-app.*",
                         longest};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_not(hub_filter_valid(bad[i]), "%s", bad[i]);
    cr_assert_not(hub_filter_valid(NULL));
}

/* the patterns themselves are libcommon's (tc_event_type_match, test_tc_event.c) */
Test(filters, matching)
{
    cr_assert(hub_filter_match("com.techcorp.user.*", "com.techcorp.user.created"));
    cr_assert_not(hub_filter_match("com.techcorp.user.*", "com.techcorp.users.created"));
    cr_assert_not(hub_filter_match(NULL, "x"));
}

Test(filters, any_of_an_array)
{
    cJSON *f = parse("[\"com.techcorp.org.created\", 7, \"com.techcorp.workflow.*\"]");
    cr_assert(hub_filters_match(f, "com.techcorp.workflow.created"));
    cr_assert(hub_filters_match(f, "com.techcorp.org.created"));
    cr_assert_not(hub_filters_match(f, "com.techcorp.user.created"));
    cJSON *empty = parse("[]"), *obj = parse("{\"a\":\"*\"}");
    cr_assert_not(hub_filters_match(empty, "com.techcorp.user.created"));
    cr_assert_not(hub_filters_match(obj, "com.techcorp.user.created"));
    cr_assert_not(hub_filters_match(NULL, "com.techcorp.user.created"));
    cJSON_Delete(f);
    cJSON_Delete(empty);
    cJSON_Delete(obj);
}

/* ------------------------------------------------------------------ endpoints */

static void endpoint(const char *json, bool create, bool allow_private, tc_jv_t *jv,
                     hub_endpoint_in_t *in, cJSON **body)
{
    *body = parse(json);
    tc_jv_init(jv);
    hub_endpoint_validate(jv, *body, create, allow_private, in);
}

Test(endpoints, a_full_create_passes)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint("{\"url\":\"https://hooks.example.com:8443/in?x=1\",\"description\":\"ops\","
             "\"event_types\":[\"com.techcorp.user.*\",\"com.techcorp.org.created\"],"
             "\"secret\":\"" SECRET2 "\",\"disabled\":true,\"rate_limit_per_s\":50}",
             true, false, &jv, &in, &b);
    char f[512];
    fields_of(&jv, f, sizeof f);
    cr_assert_not(tc_jv_failed(&jv), "%s", f);
    cr_assert_str_eq(in.url, "https://hooks.example.com:8443/in?x=1");
    cr_assert_str_eq(in.description, "ops");
    cr_assert_eq(cJSON_GetArraySize(in.event_types), 2);
    cr_assert_str_eq(in.secret, SECRET2);
    cr_assert(in.disabled);
    cr_assert_eq(in.rate_limit_per_s, 50);
    cr_assert(in.has_url && in.has_description && in.has_event_types && in.has_disabled &&
              in.has_rate_limit);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(endpoints, a_minimal_create_and_what_it_requires)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint("{\"url\":\"http://example.com\",\"event_types\":[\"*\"]}", true, false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_null(in.secret); /* generated by the caller */
    cr_assert_null(in.description);
    cr_assert_eq(in.rate_limit_per_s, 0);
    cr_assert_not(in.disabled);
    cr_assert_not(in.has_rate_limit || in.has_description || in.has_disabled);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    endpoint("{}", true, false, &jv, &in, &b);
    char f[512];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "url event_types ");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    cJSON *arr = parse("[]");
    tc_jv_init(&jv);
    hub_endpoint_validate(&jv, arr, true, false, &in);
    cr_assert_str_eq(message_of(&jv, "body"), "must be a JSON object");
    tc_jv_free(&jv);
    cJSON_Delete(arr);
}

/* The url's problem, or NULL when it is accepted. */
static const char *url_verdict(const char *url, bool allow_private, char *msg, size_t n)
{
    char json[512];
    snprintf(json, sizeof json, "{\"url\":\"%s\",\"event_types\":[\"*\"]}", url);
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint(json, true, allow_private, &jv, &in, &b);
    const char *m = message_of(&jv, "url");
    cr_assert_eq(jv.count, m ? 1 : 0, "%s", url);
    cr_assert(m || (in.url && strcmp(in.url, url) == 0), "%s", url);
    snprintf(msg, n, "%s", m ? m : "");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    return msg[0] ? msg : NULL;
}

Test(endpoints, urls_accepted)
{
    char m[256];
    const char *good[] = {
        "https://example.com",
        "https://example.com/",
        "HTTPS://Example.COM/Path",
        "http://example.com:80/a/b?c=d&e=f",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]:8443/hook",
        "https://my-host_1.example.co.uk./x",
        "https://example.com/path@with-at",
        "https://localhost.example.com/",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++)
        cr_assert_null(url_verdict(good[i], false, m, sizeof m), "%s: %s", good[i], m);
}

Test(endpoints, urls_refused_for_their_form)
{
    char m[256];
    const struct {
        const char *url, *want;
    } bad[] = {
        {"ftp://example.com/", "must be an http:// or https:// URL"},
        {"example.com/hook", "must be an http:// or https:// URL"},
        {"https:/example.com", "must be an http:// or https:// URL"},
        {"https://user:pw@example.com/", "must not contain user information (user:password@)"},
        {"https://user@example.com/", "must not contain user information (user:password@)"},
        {"https://example.com/#frag", "must not contain a fragment (#" ELLIPSIS ")"},
        {"https://exa mple.com/", "must not contain spaces, control characters or backslashes"},
        {"https://example.com\\\\@127.0.0.1/",
         "must not contain spaces, control characters or backslashes"},
        {"https://", "must name a valid host"},
        {"https:///path", "must name a valid host"},
        {"https://:443/", "must name a valid host"},
        {"https://exa%6dple.com/", "must name a valid host"},
        {"https://a..b/", "must name a valid host"},
        {"https://[::1/", "must name a valid host"},
        {"https://[not-v6]/", "must name a valid host"},
        {"https://[2606:4700::1111]x/", "must name a valid host"},
        {"https://example.com:0/", "must have a port between 1 and 65535"},
        {"https://example.com:65536/", "must have a port between 1 and 65535"},
        {"https://example.com:/", "must have a port between 1 and 65535"},
        {"https://example.com:44a/", "must have a port between 1 and 65535"},
        {"https://[2606:4700::1111]:99999/", "must have a port between 1 and 65535"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        const char *got = url_verdict(bad[i].url, false, m, sizeof m);
        cr_assert_not_null(got, "%s accepted", bad[i].url);
        cr_assert_str_eq(got, bad[i].want, "%s", bad[i].url);
    }
    /* allow_private changes nothing about form */
    cr_assert_not_null(url_verdict("https://u@10.0.0.1/", true, m, sizeof m));
    cr_assert_not_null(url_verdict("https://[zz]/", true, m, sizeof m));
}

Test(endpoints, private_literal_addresses_unless_allowed)
{
    char m[256];
    const char *priv[] = {
        "http://127.0.0.1/",
        "http://10.1.2.3:8080/x",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://localhost:3000/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://[::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(priv); i++) {
        const char *got = url_verdict(priv[i], false, m, sizeof m);
        cr_assert_not_null(got, "%s accepted", priv[i]);
        cr_assert_not_null(strstr(got, "private, loopback or link-local"), "%s: %s", priv[i], got);
        cr_assert_null(url_verdict(priv[i], true, m, sizeof m), "%s: %s", priv[i], m);
    }
}

Test(endpoints, every_bad_field_at_once)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    char desc[HUB_DESCRIPTION_MAX + 2];
    memset(desc, 'd', HUB_DESCRIPTION_MAX + 1);
    desc[HUB_DESCRIPTION_MAX + 1] = '\0';
    char json[2048];
    snprintf(json, sizeof json,
             "{\"url\":5,\"description\":\"%s\",\"event_types\":\"*\",\"secret\":\"whsec_x\","
             "\"disabled\":\"yes\",\"rate_limit_per_s\":0,\"extra\":1}",
             desc);
    endpoint(json, true, false, &jv, &in, &b);
    char f[1024];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "extra url description event_types secret disabled rate_limit_per_s ");
    cr_assert_str_eq(message_of(&jv, "extra"), "unknown field");
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(endpoints, rate_limit_bounds_and_null)
{
    const struct {
        const char *v;
        bool ok;
        int want;
    } cases[] = {{"1", true, 1},   {"10000", true, 10000}, {"null", true, 0},
                 {"0", false, 0},  {"10001", false, 0},    {"1.5", false, 0},
                 {"-3", false, 0}, {"\"5\"", false, 0}};
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"rate_limit_per_s\":%s}", cases[i].v);
        tc_jv_t jv;
        hub_endpoint_in_t in;
        cJSON *b;
        endpoint(json, false, false, &jv, &in, &b);
        cr_assert_eq(!tc_jv_failed(&jv), cases[i].ok, "%s", cases[i].v);
        cr_assert(in.has_rate_limit);
        if (cases[i].ok)
            cr_assert_eq(in.rate_limit_per_s, cases[i].want, "%s", cases[i].v);
        tc_jv_free(&jv);
        cJSON_Delete(b);
    }
}

Test(endpoints, filters_valid_distinct_and_at_most_50)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint("{\"event_types\":[\"com.techcorp.user.*\",\"bad filter\",7,"
             "\"com.techcorp.user.*\",\"*\"]}",
             false, false, &jv, &in, &b);
    char f[512];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "event_types[1] event_types[2] event_types[3] ");
    cr_assert_str_eq(message_of(&jv, "event_types[3]"), "repeats event_types[0]");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    endpoint("{\"event_types\":[]}", false, false, &jv, &in, &b);
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "event_types ");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    char json[4096] = "{\"event_types\":[";
    for (int i = 0; i <= HUB_FILTERS_MAX; i++) {
        char one[40];
        snprintf(one, sizeof one, "%s\"com.techcorp.t%d\"", i ? "," : "", i);
        strcat(json, one);
    }
    strcat(json, "]}");
    endpoint(json, false, false, &jv, &in, &b); /* 51 */
    cr_assert_str_eq(message_of(&jv, "event_types"), "must be an array of 1 to 50 filters");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    b = parse(json);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(b, "event_types"), 0);
    tc_jv_init(&jv);
    hub_endpoint_validate(&jv, b, false, false, &in); /* 50 */
    cr_assert_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(endpoints, a_patch_sets_only_what_it_names)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint("{}", false, false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_not(in.has_url || in.has_description || in.has_event_types || in.has_disabled ||
                  in.has_rate_limit);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    endpoint("{\"disabled\":false,\"description\":null,\"rate_limit_per_s\":null}", false, false,
             &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert(in.has_disabled && !in.disabled);
    cr_assert(in.has_description && !in.description); /* cleared */
    cr_assert(in.has_rate_limit && in.rate_limit_per_s == 0);
    cr_assert_not(in.has_url || in.has_event_types);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(endpoints, a_patch_cannot_null_required_fields_or_set_the_secret)
{
    tc_jv_t jv;
    hub_endpoint_in_t in;
    cJSON *b;
    endpoint("{\"url\":null,\"event_types\":null,\"disabled\":null,\"secret\":\"" SECRET2 "\"}",
             false, false, &jv, &in, &b);
    char f[512];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "url event_types secret disabled ");
    cr_assert_str_eq(message_of(&jv, "url"), "must not be null");
    cr_assert_str_eq(message_of(&jv, "secret"),
                     "cannot be changed here: rotate the secret instead");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    endpoint("{\"url\":\"http://10.0.0.1/\"}", false, false, &jv, &in, &b);
    cr_assert(tc_jv_failed(&jv));
    cr_assert_null(in.url);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

/* ------------------------------------------------------------------ hooks */

static void hook(const char *json, bool create, tc_jv_t *jv, hub_hook_in_t *in, cJSON **body)
{
    *body = parse(json);
    tc_jv_init(jv);
    hub_hook_validate(jv, *body, create, in);
}

Test(hooks, creates_that_pass)
{
    tc_jv_t jv;
    hub_hook_in_t in;
    cJSON *b;
    hook("{\"name\":\"billing\",\"verification\":\"standard\"}", true, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv)); /* standard, its secret generated */
    cr_assert_str_eq(in.name, "billing");
    cr_assert_eq(in.verification, HUB_VERIFY_STANDARD);
    cr_assert_null(in.secret);
    cr_assert(in.has_name && in.has_verification && !in.has_secret);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"billing\"}", true, &jv, &in, &b);
    cr_assert(tc_jv_failed(&jv), "a create names how its requests are verified");
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"gh\",\"verification\":\"github\",\"secret\":\"" GH_SECRET "\"}", true, &jv,
         &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(in.verification, HUB_VERIFY_GITHUB);
    cr_assert_str_eq(in.secret, GH_SECRET);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"st\",\"verification\":\"stripe\",\"secret\":\"" ST_SECRET "\"}", true, &jv,
         &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(in.verification, HUB_VERIFY_STRIPE);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"sw\",\"verification\":\"standard\",\"secret\":\"" SVIX_SECRET "\"}", true,
         &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(in.secret, SVIX_SECRET);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"gen\",\"verification\":\"standard\",\"secret\":null}", true, &jv, &in,
         &b); /* null: generated */
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert(!in.has_secret && !in.secret);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"open\",\"verification\":\"none\"}", true, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(in.verification, HUB_VERIFY_NONE);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

/* The fields a hook body is refused for, joined. */
static void hook_fields(const char *json, bool create, char *f, size_t n)
{
    tc_jv_t jv;
    hub_hook_in_t in;
    cJSON *b;
    hook(json, create, &jv, &in, &b);
    fields_of(&jv, f, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(hooks, refused_bodies)
{
    char f[512], name[HUB_NAME_MAX + 20];
    const struct {
        const char *json, *want;
        bool create;
    } cases[] = {
        {"{}", "name verification ", true},
        {"{\"name\":\"x\"}", "verification ", true},
        {"{\"name\":\"\",\"verification\":\"none\"}", "name ", true},
        {"{\"name\":\"x\",\"verification\":\"hmac\"}", "verification ", true},
        {"{\"name\":\"x\",\"verification\":\"github\"}", "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"stripe\",\"secret\":null}", "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"github\",\"secret\":\"short\"}", "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"github\",\"secret\":\"tab\\tinside-the-secret\"}",
         "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"standard\",\"secret\":\"" GH_SECRET "\"}", "secret ",
         true},
        {"{\"name\":\"x\",\"verification\":\"standard\",\"secret\":\"whsec_x\"}", "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"none\",\"secret\":\"" SECRET2 "\"}", "secret ", true},
        {"{\"name\":\"x\",\"verification\":\"none\",\"token\":\"t\"}", "token ", true},
        {"{\"secret\":\"" SECRET2 "\"}", "secret ", false},
        {"{\"name\":null}", "name ", false},
        {"{\"verification\":null}", "verification ", false},
        {"{\"verification\":\"stripe\"}", "secret ", false},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        hook_fields(cases[i].json, cases[i].create, f, sizeof f);
        cr_assert_str_eq(f, cases[i].want, "%s", cases[i].json);
    }
    memset(name, 'n', HUB_NAME_MAX + 1);
    name[HUB_NAME_MAX + 1] = '\0';
    char json[512];
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"verification\":\"none\"}", name);
    hook_fields(json, true, f, sizeof f);
    cr_assert_str_eq(f, "name ");
    name[HUB_NAME_MAX] = '\0';
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"verification\":\"none\"}", name);
    hook_fields(json, true, f, sizeof f);
    cr_assert_str_eq(f, "");
}

Test(hooks, patches)
{
    tc_jv_t jv;
    hub_hook_in_t in;
    cJSON *b;
    hook("{}", false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_not(in.has_name || in.has_verification || in.has_secret);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"name\":\"renamed\"}", false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert(in.has_name && !in.has_verification);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"verification\":\"none\",\"secret\":null}", false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert(in.has_verification && in.verification == HUB_VERIFY_NONE && !in.has_secret);
    cr_assert_null(in.secret);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"verification\":\"standard\"}", false, &jv, &in, &b); /* secret generated */
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert(in.has_verification && !in.has_secret);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    hook("{\"verification\":\"github\",\"secret\":\"" GH_SECRET "\"}", false, &jv, &in, &b);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(in.secret, GH_SECRET);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(replay, the_key_is_what_a_replay_must_repeat)
{
    char a[HUB_REPLAY_KEY_LEN], b[HUB_REPLAY_KEY_LEN];
    hub_sig_headers_t gh = {.github_signature = "sha256=00ff", .github_delivery = "d-1"};
    cr_assert(hub_replay_key(HUB_VERIFY_GITHUB, &gh, a));
    gh.github_delivery = "d-2"; /* unsigned: a made-up delivery id changes nothing */
    cr_assert(hub_replay_key(HUB_VERIFY_GITHUB, &gh, b));
    cr_assert_str_eq(a, b);
    gh.github_signature = "sha256=00fe"; /* another body */
    cr_assert(hub_replay_key(HUB_VERIFY_GITHUB, &gh, b));
    cr_assert_str_neq(a, b);
    cr_assert_eq(strlen(a), 64);

    hub_sig_headers_t st = {.stripe_signature = "t=1,v1=ab"};
    cr_assert(hub_replay_key(HUB_VERIFY_STRIPE, &st, a));
    st.stripe_signature = "t=2,v1=ab";
    cr_assert(hub_replay_key(HUB_VERIFY_STRIPE, &st, b));
    cr_assert_str_neq(a, b);

    hub_sig_headers_t sw = {.webhook_id = "msg_1", .webhook_timestamp = "1"};
    cr_assert(hub_replay_key(HUB_VERIFY_STANDARD, &sw, a));
    sw.webhook_timestamp = "2"; /* a sender's retry: same id, new timestamp */
    cr_assert(hub_replay_key(HUB_VERIFY_STANDARD, &sw, b));
    cr_assert_str_eq(a, b);
    /* the same text under two kinds is two keys */
    hub_sig_headers_t both = {.webhook_id = "x", .github_signature = "x"};
    cr_assert(hub_replay_key(HUB_VERIFY_STANDARD, &both, a));
    cr_assert(hub_replay_key(HUB_VERIFY_GITHUB, &both, b));
    cr_assert_str_neq(a, b);

    cr_assert_not(hub_replay_key(HUB_VERIFY_NONE, &sw, a));
    cr_assert_not(hub_replay_key(HUB_VERIFY_GITHUB, &sw, a), "no signature header");
    cr_assert_not(hub_replay_key(HUB_VERIFY_STANDARD, NULL, a));
}
