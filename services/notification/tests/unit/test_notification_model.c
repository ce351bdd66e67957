/* notification_model.c: requests, locales and their fallback chain, built-in templates,
 * preference decisions, the retry schedule and send outcomes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "notification_model.h"
#include "tc/tc_core.h"

#define ORG "org_01JABCDEFGHJKMNPQRSTVWXYZ0"
#define USR "usr_01JABCDEFGHJKMNPQRSTVWXYZ0"

/* ------------------------------------------------------------------ locales */

Test(locale, chain_drops_subtags_then_english)
{
    char c[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain("fr-CA", c);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(c[0], "fr-CA");
    cr_expect_str_eq(c[1], "fr");
    cr_expect_str_eq(c[2], "en");
    n = notify_locale_chain("en-GB", c);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(c[0], "en-GB");
    cr_expect_str_eq(c[1], "en");
    n = notify_locale_chain("en", c);
    cr_assert_eq(n, 1);
    n = notify_locale_chain("zh-Hant-TW", c);
    cr_assert_eq(n, 4);
    cr_expect_str_eq(c[0], "zh-Hant-TW");
    cr_expect_str_eq(c[1], "zh-Hant");
    cr_expect_str_eq(c[2], "zh");
    cr_expect_str_eq(c[3], "en");
}

Test(locale, chain_of_nothing_or_garbage_is_english)
{
    char c[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    cr_expect_eq(notify_locale_chain(NULL, c), 1);
    cr_expect_str_eq(c[0], "en");
    cr_expect_eq(notify_locale_chain("not a locale!", c), 1);
    cr_expect_str_eq(c[0], "en");
}

Test(locale, chain_is_bounded_for_long_tags)
{
    char c[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain("de-Latn-DE-1996-x1", c);
    cr_expect_leq(n, NOTIFY_CHAIN_MAX);
    cr_expect_str_eq(c[n - 1], "en");
}

Test(locale, normalize)
{
    char out[NOTIFY_LOCALE_MAX];
    cr_assert_eq(notify_locale_normalize("FR-ca", out), TC_OK);
    cr_expect_str_eq(out, "fr-CA");
    cr_assert_eq(notify_locale_normalize("pt_br", out), TC_OK);
    cr_expect_str_eq(out, "pt-BR");
    cr_assert_eq(notify_locale_normalize("zh-Hant", out), TC_OK);
    cr_expect_str_eq(out, "zh-Hant");
    cr_expect_eq(notify_locale_normalize("e", out), TC_EINVAL);
    cr_expect_eq(notify_locale_normalize("english", out), TC_EINVAL);
    cr_expect_eq(notify_locale_normalize("fr-", out), TC_EINVAL);
    cr_expect_eq(notify_locale_normalize("fr-CA'--", out), TC_EINVAL);
    cr_expect_eq(notify_locale_normalize(NULL, out), TC_EINVAL);
}

/* ------------------------------------------------------------------ templates */

Test(builtin, defaults_for_critical_kinds_follow_the_chain)
{
    const notify_template_t *t = notify_builtin_for("invitation", "fr-CA");
    cr_assert_not_null(t);
    cr_expect_str_eq(t->locale, "fr");
    t = notify_builtin_for("invitation", "de-DE");
    cr_assert_not_null(t);
    cr_expect_str_eq(t->locale, "en");
    t = notify_builtin_for("password_reset", NULL);
    cr_assert_not_null(t);
    cr_expect_str_eq(t->locale, "en");
    cr_expect_null(notify_builtin_for("weekly_digest", "en"));
}

Test(builtin, every_default_renders_its_sample)
{
    const char *kinds[] = {"invitation", "password_reset"};
    const char *locales[] = {"en", "fr"};
    for (int k = 0; k < 2; k++) {
        for (int l = 0; l < 2; l++) {
            const notify_template_t *t = notify_builtin(kinds[k], locales[l]);
            cr_assert_not_null(t, "%s/%s", kinds[k], locales[l]);
            cJSON *params = notify_sample_params(kinds[k]);
            cJSON *ctx = notify_context(params, "Ada <Lovelace>", "ada@example.com");
            notify_rendered_t r;
            const char *why = NULL;
            cr_assert_eq(notify_render(t, ctx, &r, &why), TC_OK, "%s", why ? why : "?");
            const char *url = k == 0
                                  ? "https://app.techcorp.com/invitations/accept?token=inv_sample"
                                  : "https://app.techcorp.com/password/reset?token=rst_sample";
            cr_expect_not_null(strstr(r.text, url), "%s", r.text);
            cr_expect_not_null(strstr(r.html, "Ada &lt;Lovelace&gt;"), "%s", r.html);
            cr_expect_null(strstr(r.html, "<Lovelace>"));
            cr_expect_null(strchr(r.subject, '\n'));
            notify_rendered_clear(&r);
            cJSON_Delete(ctx);
            cJSON_Delete(params);
        }
    }
}

Test(builtin, missing_name_falls_back)
{
    const notify_template_t *t = notify_builtin("invitation", "en");
    cJSON *ctx = notify_context(NULL, NULL, "x@example.com");
    notify_rendered_t r;
    const char *why;
    cr_assert_eq(notify_render(t, ctx, &r, &why), TC_OK);
    cr_expect(strncmp(r.text, "Hello there,", 12) == 0, "%s", r.text);
    notify_rendered_clear(&r);
    cJSON_Delete(ctx);
}

Test(render, subject_is_one_line)
{
    notify_template_t t = {"k", "en", "Hi {{name}}", "t", "h"};
    cJSON *ctx = cJSON_Parse("{\"name\":\"a\\r\\nBcc: x@y\"}");
    notify_rendered_t r;
    const char *why;
    cr_assert_eq(notify_render(&t, ctx, &r, &why), TC_OK);
    cr_expect_str_eq(r.subject, "Hi a  Bcc: x@y");
    notify_rendered_clear(&r);
    cJSON_Delete(ctx);
}

Test(render, context_recipient_overrides_params)
{
    cJSON *params = cJSON_Parse("{\"recipient\":{\"name\":\"spoof\"},\"x\":1}");
    cJSON *ctx = notify_context(params, "Real", "r@example.com");
    cr_expect_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ctx, "recipient"), "name")->valuestring, "Real");
    cr_expect_not_null(cJSON_GetObjectItem(ctx, "x"));
    cJSON_Delete(ctx);
    cJSON_Delete(params);
}

Test(template_validate, good_and_bad_bodies)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *ok = cJSON_Parse("{\"kind\":\"weekly_report\",\"locale\":\"fr-CA\",\"subject\":\"S "
                            "{{x}}\",\"text\":\"T\",\"html\":\"<p>{{#l}}{{.}}{{/l}}</p>\"}");
    notify_template_validate(&jv, ok, true);
    cr_expect_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON_Delete(ok);

    tc_jv_init(&jv);
    cJSON *bad =
        cJSON_Parse("{\"kind\":\"Bad Kind\",\"locale\":\"xx_yy_zz!\",\"subject\":\"a\\nb\","
                    "\"text\":\"{{#x}}\",\"html\":\"{{> p}}\",\"extra\":1}");
    notify_template_validate(&jv, bad, true);
    cr_expect_eq(jv.count, 6, "%d errors", jv.count);
    tc_jv_free(&jv);
    cJSON_Delete(bad);

    tc_jv_init(&jv);
    cJSON *part = cJSON_Parse("{\"kind\":\"x\",\"subject\":\"s\",\"text\":\"t\",\"html\":\"h\"}");
    notify_template_validate(&jv, part, false);
    cr_expect_eq(jv.count, 1); /* kind is not a field of a PUT */
    tc_jv_free(&jv);
    cJSON_Delete(part);
}

/* ------------------------------------------------------------------ requests */

Test(request, parses_what_auth_emits)
{
    cJSON *d =
        cJSON_Parse("{\"template\":\"invitation\",\"channel\":\"email\",\"to\":{\"email\":"
                    "\"a@example.com\",\"name\":null,\"user_id\":\"" USR "\"},\"org_id\":\"" ORG
                    "\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"params\":{\"accept_url\":"
                    "\"https://x\"}}");
    notify_request_t r;
    const char *why = NULL;
    cr_assert_eq(notify_request_parse(d, &r, &why), TC_OK, "%s", why);
    cr_expect_str_eq(r.kind, "invitation");
    cr_expect_str_eq(r.channel, "email");
    cr_expect_str_eq(r.user_id, USR);
    cr_expect_null(r.name);
    cr_expect_not_null(r.params);
    cJSON_Delete(d);
}

Test(request, poison_is_refused)
{
    const char *bad[] = {
        "{\"template\":\"Bad\",\"channel\":\"email\",\"to\":{\"email\":\"a@b.c\",\"user_id\":\"" USR
        "\"},\"org_id\":\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"carrier_pigeon\",\"to\":{\"email\":\"a@b.c\",\"user_"
        "id\":"
        "\"" USR "\"},\"org_id\":\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"email\",\"org_id\":\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"email\",\"to\":{\"email\":\"nope\",\"user_id\":\"" USR
        "\"},\"org_id\":\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"email\",\"to\":{\"email\":\"a@b.c\",\"user_id\":\"u\"},"
        "\"org_id\":\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"email\",\"to\":{\"email\":\"a@b.c\",\"user_id\":\"" USR
        "\"},\"org_id\":\"" ORG "\",\"params\":[1]}",
        /* an audience is the org, never with to, never for security mail */
        "{\"template\":\"x\",\"channel\":\"in_app\",\"audience\":\"org\",\"to\":{"
        "\"user_id\":\"" USR "\"},\"org_id\":\"" ORG "\"}",
        /* an audience this service does not know */
        "{\"template\":\"x\",\"channel\":\"in_app\",\"audience\":\"everyone\",\"org_id\":"
        "\"" ORG "\"}",
        "{\"template\":\"x\",\"channel\":\"in_app\",\"audience\":{\"org\":true},\"org_id\":"
        "\"" ORG "\"}",
        /* security mail is for one person */
        "{\"template\":\"password_reset\",\"channel\":\"email\",\"audience\":\"org\","
        "\"org_id\":\"" ORG "\"}",
        /* still an org id */
        "{\"template\":\"x\",\"channel\":\"in_app\",\"audience\":\"org\",\"org_id\":\"o\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *d = cJSON_Parse(bad[i]);
        cr_assert_not_null(d, "%zu", i);
        notify_request_t r;
        const char *why = NULL;
        cr_expect_eq(notify_request_parse(d, &r, &why), TC_EINVAL, "case %zu", i);
        cr_expect_not_null(why);
        cJSON_Delete(d);
    }
}

Test(request, in_app_needs_no_email)
{
    cJSON *d = cJSON_Parse("{\"template\":\"workflow_done\",\"channel\":\"in_app\",\"to\":{"
                           "\"user_id\":\"" USR "\"},\"org_id\":\"" ORG "\"}");
    notify_request_t r;
    const char *why = NULL;
    cr_expect_eq(notify_request_parse(d, &r, &why), TC_OK, "%s", why ? why : "");
    cJSON_Delete(d);
}

Test(request, every_channel_is_delivered)
{
    cr_expect(notify_channel_supported("push"));
    cr_expect(notify_channel_supported("email"));
    cr_expect(notify_channel_supported("in_app"));
    cr_expect(notify_channel_supported("sms"));
    cr_expect_not(notify_channel_supported("fax"));
    cr_expect_not(notify_channel_supported(NULL));
    cJSON *d = cJSON_Parse("{\"template\":\"team_update\",\"channel\":\"push\",\"to\":{"
                           "\"user_id\":\"" USR "\"},\"org_id\":\"" ORG "\"}");
    notify_request_t r;
    const char *why = NULL;
    cr_expect_eq(notify_request_parse(d, &r, &why), TC_OK, "%s", why ? why : "");
    cJSON_Delete(d);
}

Test(request, an_email_may_name_only_the_user)
{
    /* the address is then the recipient's own from user-events (consumer_requests.c) */
    cJSON *d = cJSON_Parse("{\"template\":\"invoice_overdue\",\"channel\":\"email\",\"to\":{"
                           "\"user_id\":\"" USR "\"},\"org_id\":\"" ORG "\"}");
    notify_request_t r;
    const char *why = NULL;
    cr_expect_eq(notify_request_parse(d, &r, &why), TC_OK, "%s", why ? why : "");
    cr_expect_null(r.email);
    cr_expect_null(r.name);
    cJSON_Delete(d);
}

Test(request, an_audience_names_the_org_instead_of_a_person)
{
    cJSON *d = cJSON_Parse("{\"template\":\"maintenance\",\"channel\":\"in_app\","
                           "\"audience\":\"org\",\"org_id\":\"" ORG "\"}");
    notify_request_t r;
    const char *why = NULL;
    cr_assert_eq(notify_request_parse(d, &r, &why), TC_OK, "%s", why ? why : "");
    cr_expect(r.audience_org);
    cr_expect_null(r.user_id);
    cr_expect_str_eq(r.org_id, ORG);
    cJSON_Delete(d);
    d = cJSON_Parse("{\"template\":\"x\",\"channel\":\"email\",\"to\":{\"user_id\":\"" USR
                    "\"},\"org_id\":\"" ORG "\"}");
    cr_assert_eq(notify_request_parse(d, &r, &why), TC_OK);
    cr_expect_not(r.audience_org, "a person's request is not an audience");
    cJSON_Delete(d);
}

/* ------------------------------------------------------------------ preferences */

Test(prefs, defaults_allow)
{
    cr_expect(notify_pref_allows("weekly_report", "email", NULL, NULL, NULL));
    cr_expect(notify_pref_allows("weekly_report", "in_app", NULL, NULL, NULL));
}

Test(prefs, channel_switch_and_category_choice)
{
    cJSON *channels = cJSON_Parse("{\"email\":false}");
    cJSON *cats =
        cJSON_Parse("{\"weekly_report\":{\"email\":true},\"mention\":{\"in_app\":false}}");
    /* the user turned email off … */
    cr_expect_not(notify_pref_allows("mention", "email", channels, NULL, NULL));
    /* … but a category choice wins over the channel switch */
    cr_expect(notify_pref_allows("weekly_report", "email", channels, cats, NULL));
    cr_expect_not(notify_pref_allows("mention", "in_app", NULL, cats, NULL));
    cr_expect(notify_pref_allows("mention", "email", NULL, cats, NULL));
    cJSON_Delete(channels);
    cJSON_Delete(cats);
}

Test(prefs, org_defaults_come_after_the_users_own_choices)
{
    cJSON *org = cJSON_Parse("{\"weekly_report\":{\"email\":false},"
                             "\"mention\":{\"email\":true},"
                             "\"password_reset\":{\"email\":false}}");
    cJSON *on = cJSON_Parse("{\"weekly_report\":{\"email\":true}}");
    cJSON *off = cJSON_Parse("{\"email\":false}");
    /* the org turned weekly reports off by default … */
    cr_expect_not(notify_pref_allows("weekly_report", "email", NULL, NULL, org));
    cr_expect(notify_pref_allows("weekly_report", "in_app", NULL, NULL, org), "only email");
    /* … a user who chose them gets them */
    cr_expect(notify_pref_allows("weekly_report", "email", NULL, on, org));
    /* an org default never turns back on a channel the user switched off */
    cr_expect_not(notify_pref_allows("mention", "email", off, NULL, org));
    cr_expect(notify_pref_allows("mention", "email", NULL, NULL, org));
    /* nor off a critical kind */
    cr_expect(notify_pref_allows("password_reset", "email", NULL, NULL, org));
    cJSON_Delete(org);
    cJSON_Delete(on);
    cJSON_Delete(off);
}

Test(prefs, critical_kinds_cannot_be_turned_off)
{
    cJSON *channels = cJSON_Parse("{\"email\":false}");
    cJSON *cats = cJSON_Parse("{\"password_reset\":{\"email\":false}}");
    cr_expect(notify_pref_allows("password_reset", "email", channels, cats, NULL));
    cr_expect(notify_pref_allows("invitation", "email", channels, cats, NULL));
    cr_expect(notify_kind_critical("invitation"));
    cr_expect_not(notify_kind_critical("weekly_report"));
    cr_expect_not(notify_kind_critical(NULL));
    cJSON_Delete(channels);
    cJSON_Delete(cats);
}

Test(prefs, validation)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *ok = cJSON_Parse("{\"categories\":{\"weekly_report\":{\"email\":false,\"in_app\":true},"
                            "\"invitation\":{\"email\":true}}}");
    notify_prefs_validate(&jv, ok);
    cr_expect_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON_Delete(ok);

    tc_jv_init(&jv);
    cJSON *bad = cJSON_Parse("{\"categories\":{\"password_reset\":{\"email\":false},\"BAD\":{},"
                             "\"x\":{\"fax\":true},\"y\":{\"email\":\"no\"},\"z\":3},\"other\":1}");
    notify_prefs_validate(&jv, bad);
    cr_expect_eq(jv.count, 6, "%d errors", jv.count);
    tc_jv_free(&jv);
    cJSON_Delete(bad);

    tc_jv_init(&jv);
    cJSON *missing = cJSON_Parse("{}");
    notify_prefs_validate(&jv, missing);
    cr_expect_eq(jv.count, 1);
    tc_jv_free(&jv);
    cJSON_Delete(missing);
}

/* ------------------------------------------------------------------ delivery */

Test(backoff, grows_exponentially_with_equal_jitter)
{
    /* rnd 0: the fixed half; rnd max: the whole step */
    cr_expect_eq(notify_backoff_ms(1, 1000, 60000, 0), 500);
    cr_expect_eq(notify_backoff_ms(1, 1000, 60000, UINT32_MAX), 1000);
    cr_expect_eq(notify_backoff_ms(2, 1000, 60000, UINT32_MAX), 2000);
    cr_expect_eq(notify_backoff_ms(3, 1000, 60000, 0), 2000);
    cr_expect_eq(notify_backoff_ms(4, 1000, 60000, UINT32_MAX), 8000);
    for (int a = 1; a < 12; a++) {
        for (uint32_t r = 0; r < 10; r++) {
            int64_t d = notify_backoff_ms(a, 1000, 60000, r * (UINT32_MAX / 9));
            int64_t step = 1000LL << (a - 1);
            if (step > 60000)
                step = 60000;
            cr_expect_geq(d, step / 2, "attempt %d", a);
            cr_expect_leq(d, step, "attempt %d", a);
        }
    }
}

Test(backoff, capped_and_never_zero)
{
    cr_expect_eq(notify_backoff_ms(100, 1000, 60000, UINT32_MAX), 60000);
    cr_expect_eq(notify_backoff_ms(1000000, 1000, 60000, 0), 30000);
    cr_expect_geq(notify_backoff_ms(1, 0, 0, 0), 1);
    cr_expect_geq(notify_backoff_ms(0, 1, 1, 0), 1);
}

Test(outcome, smtp_replies)
{
    cr_expect_eq(notify_smtp_outcome(true, 250), NOTIFY_SENT);
    cr_expect_eq(notify_smtp_outcome(true, 451), NOTIFY_TRANSIENT);
    cr_expect_eq(notify_smtp_outcome(true, 421), NOTIFY_TRANSIENT);
    cr_expect_eq(notify_smtp_outcome(false, 0), NOTIFY_TRANSIENT);
    cr_expect_eq(notify_smtp_outcome(false, 451), NOTIFY_TRANSIENT);
    cr_expect_eq(notify_smtp_outcome(false, 550), NOTIFY_PERMANENT);
    cr_expect_eq(notify_smtp_outcome(true, 554), NOTIFY_PERMANENT);
}

Test(outcome, next_status)
{
    cr_expect_str_eq(notify_next_status(NOTIFY_SENT, 1, 5), "delivered");
    cr_expect_str_eq(notify_next_status(NOTIFY_SENT, 5, 5), "delivered");
    cr_expect_str_eq(notify_next_status(NOTIFY_TRANSIENT, 1, 5), "retrying");
    cr_expect_str_eq(notify_next_status(NOTIFY_TRANSIENT, 5, 5), "failed");
    cr_expect_str_eq(notify_next_status(NOTIFY_PERMANENT, 1, 5), "failed");
}

Test(message_id, derived_from_the_delivery)
{
    char out[128];
    cr_assert_eq(notify_message_id("dlv_01ABC", "techcorp.test", out, sizeof out), TC_OK);
    cr_expect_str_eq(out, "<dlv_01ABC@techcorp.test>");
    cr_expect_eq(notify_message_id("dlv_01ABC", "bad domain", out, sizeof out), TC_EINVAL);
    cr_expect_eq(notify_message_id("dlv>", "x", out, sizeof out), TC_EINVAL);
    cr_expect_eq(notify_message_id("dlv_01ABC", "techcorp.test", out, 8), TC_EINVAL);
}

Test(kinds, validity)
{
    cr_expect(notify_kind_valid("invitation"));
    cr_expect(notify_kind_valid("a1_b"));
    cr_expect_not(notify_kind_valid("1a"));
    cr_expect_not(notify_kind_valid("A"));
    cr_expect_not(notify_kind_valid(""));
    cr_expect_not(notify_kind_valid(NULL));
    cr_expect_not(notify_kind_valid("with-dash"));
}

/* ------------------------------------------------------------------ quiet hours */

static notify_quiet_t quiet(const char *start, const char *end, const char *zone)
{
    char text[160];
    snprintf(text, sizeof text, "{\"start\":\"%s\",\"end\":\"%s\",\"time_zone\":\"%s\"}", start,
             end, zone);
    cJSON *q = cJSON_Parse(text);
    notify_quiet_t out;
    cr_assert_eq(notify_quiet_parse(q, &out), TC_OK, "%s", text);
    cJSON_Delete(q);
    return out;
}

/* 2026-12-06T<hh:mm>:00Z */
static int64_t utc(int hh, int mm)
{
    return 1796515200 + hh * 3600 + mm * 60;
}

/* How many errors a validator finds in a body. */
static int validation_errors(void (*validate)(tc_jv_t *, const cJSON *), const char *json)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *b = cJSON_Parse(json);
    cr_assert_not_null(b, "%s", json);
    validate(&jv, b);
    int n = jv.count;
    tc_jv_free(&jv);
    cJSON_Delete(b);
    return n;
}

static int org_prefs_errors(const char *json)
{
    return validation_errors(notify_org_prefs_validate, json);
}

Test(throttle, org_limits_per_channel_are_validated)
{
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"email\":20,\"push\":1}}"), 0);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"sms\":3}}"), 0);
    cr_expect_eq(org_prefs_errors("{\"categories\":{}}"), 0, "no throttle: none");
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"fax\":2}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"email\":0}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"email\":2.5}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"email\":10001}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":{\"email\":\"5\"}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"throttle\":[]}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"quiet_hours\":null}"), 0);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"quiet_hours\":{\"start\":\"22:00\","
                                  "\"end\":\"07:00\",\"time_zone\":\"Europe/Paris\"}}"),
                 0, "an org's default quiet hours");
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"quiet_hours\":{\"start\":\"22:00\","
                                  "\"end\":\"22:00\",\"time_zone\":\"UTC\"}}"),
                 1);
}

static int prefs_errors(const char *json)
{
    return validation_errors(notify_prefs_validate, json);
}

Test(quiet, a_member_may_turn_the_orgs_default_off_and_the_org_has_no_such_value)
{
    cr_expect_eq(prefs_errors("{\"categories\":{},\"quiet_hours\":false}"), 0,
                 "false: none, the org's default neither");
    cr_expect_eq(prefs_errors("{\"categories\":{},\"quiet_hours\":null}"), 0);
    cr_expect_eq(prefs_errors("{\"categories\":{},\"quiet_hours\":true}"), 1);
    cr_expect_eq(prefs_errors("{\"categories\":{},\"quiet_hours\":\"off\"}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"quiet_hours\":false}"), 1,
                 "an org's none is null");
    notify_quiet_t q;
    cJSON *off = cJSON_Parse("false");
    cr_expect_eq(notify_quiet_parse(off, &q), TC_EINVAL, "false holds nothing back");
    cJSON_Delete(off);
}

Test(throttle, the_limit_counts_every_kind_but_critical_ones)
{
    cJSON *t = cJSON_Parse("{\"email\":3,\"push\":10}");
    cr_expect_eq(notify_throttle_limit(t, "email"), 3);
    cr_expect_eq(notify_throttle_limit(t, "in_app"), 0, "not limited");
    cr_expect_eq(notify_throttle_limit(NULL, "email"), 0);
    cr_expect_not(notify_throttled("weekly_report", 3, 2));
    cr_expect(notify_throttled("weekly_report", 3, 3), "the fourth in an hour");
    cr_expect_not(notify_throttled("password_reset", 3, 50), "critical kinds are never held back");
    cr_expect_not(notify_throttled("weekly_report", 0, 1000), "no limit");
    cJSON_Delete(t);
}

Test(quiet, a_window_across_midnight_defers_until_its_end)
{
    notify_quiet_t q = quiet("22:00", "07:00", "Europe/Paris"); /* UTC+1 in December */
    tc_tz_t *paris = NULL;
    cr_assert_eq(tc_tz_load("Europe/Paris", &paris), TC_OK);
    int64_t until = 0;
    /* 21:30Z is 22:30 in Paris: quiet until 07:00 Paris the next morning, 06:00Z */
    cr_assert(notify_quiet_defers(&q, paris, "weekly_report", "email", utc(21, 30), &until));
    cr_assert_eq(until, utc(6, 0) + 86400);
    /* 05:00Z is 06:00 in Paris: quiet until 06:00Z the same day */
    cr_assert(notify_quiet_defers(&q, paris, "weekly_report", "email", utc(5, 0), &until));
    cr_assert_eq(until, utc(6, 0));
    /* 06:00Z is 07:00 in Paris: the end itself is outside */
    cr_assert_not(notify_quiet_defers(&q, paris, "weekly_report", "email", utc(6, 0), &until));
    cr_assert_not(notify_quiet_defers(&q, paris, "weekly_report", "email", utc(12, 0), &until));
    /* 21:00Z is 22:00 in Paris: the start itself is inside */
    cr_assert(notify_quiet_defers(&q, paris, "weekly_report", "email", utc(21, 0), &until));
    tc_tz_free(paris);
}

Test(quiet, a_window_within_a_day_in_utc)
{
    notify_quiet_t q = quiet("12:00", "13:30", "UTC");
    int64_t until = 0;
    cr_assert(notify_quiet_defers(&q, NULL, "digest", "email", utc(12, 45), &until));
    cr_assert_eq(until, utc(13, 30));
    cr_assert(notify_quiet_defers(&q, NULL, "digest", "push", utc(12, 45), &until),
              "a push interrupts as an email does");
    cr_assert_not(notify_quiet_defers(&q, NULL, "digest", "in_app", utc(12, 45), &until));
    cr_assert_not(notify_quiet_defers(&q, NULL, "digest", "email", utc(11, 59), &until));
    cr_assert_not(notify_quiet_defers(&q, NULL, "digest", "email", utc(13, 30), &until));
}

Test(quiet, critical_kinds_and_the_inbox_never_wait)
{
    notify_quiet_t q = quiet("00:00", "23:59", "UTC");
    int64_t until = 0;
    cr_assert(notify_quiet_defers(&q, NULL, "team_update", "email", utc(10, 0), &until));
    cr_assert_not(notify_quiet_defers(&q, NULL, "password_reset", "email", utc(10, 0), &until));
    cr_assert_not(notify_quiet_defers(&q, NULL, "invitation", "email", utc(10, 0), &until));
    cr_assert_not(notify_quiet_defers(&q, NULL, "team_update", "in_app", utc(10, 0), &until),
                  "the inbox is silent: nothing to hold back");
    cr_assert_not(notify_quiet_defers(NULL, NULL, "team_update", "email", utc(10, 0), &until));
}

/* Whether {"categories":{},"quiet_hours":<quiet>} is refused. */
static bool quiet_refused(const char *quiet)
{
    char text[300];
    snprintf(text, sizeof text, "{\"categories\":{},\"quiet_hours\":%s}", quiet);
    cJSON *b = cJSON_Parse(text);
    cr_assert_not_null(b, "%s", text);
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_prefs_validate(&jv, b);
    bool failed = tc_jv_failed(&jv);
    tc_jv_free(&jv);
    cJSON_Delete(b);
    return failed;
}

Test(quiet, validation)
{
    const char *bad[] = {
        "{\"start\":\"24:00\",\"end\":\"07:00\",\"time_zone\":\"UTC\"}",
        "{\"start\":\"7:00\",\"end\":\"07:00\",\"time_zone\":\"UTC\"}",
        "{\"start\":\"07:00\",\"end\":\"07:00\",\"time_zone\":\"UTC\"}",
        "{\"start\":\"22:00\",\"end\":\"07:00\",\"time_zone\":\"../etc/passwd\"}",
        "{\"start\":\"22:00\",\"end\":\"07:00\"}",
        "{\"start\":\"22:00\",\"end\":\"07:00\",\"time_zone\":\"UTC\",\"days\":[1]}",
        "\"22-7\"",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_expect(quiet_refused(bad[i]), "%s", bad[i]);
    cr_expect_not(quiet_refused("null"));
    cr_expect_not(quiet_refused("{\"start\":\"22:00\",\"end\":\"07:00\",\"time_zone\":\"America/"
                                "Argentina/Buenos_Aires\"}"));
    cJSON *none = cJSON_Parse("{\"categories\":{}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_prefs_validate(&jv, none);
    cr_expect_not(tc_jv_failed(&jv), "quiet hours are optional");
    tc_jv_free(&jv);
    cJSON_Delete(none);
}

/* ------------------------------------------------------------------ digests */

Test(digest, org_windows_are_validated)
{
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"mention\":60}}"), 0);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{}}"), 0);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"mention\":4}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"mention\":1441}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"mention\":7.5}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"invitation\":60}}"), 1,
                 "a critical kind is always sent on its own");
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":{\"Bad Kind\":60}}"), 1);
    cr_expect_eq(org_prefs_errors("{\"categories\":{},\"digests\":[]}"), 1);
}

Test(digest, only_email_of_a_collected_non_critical_kind_waits)
{
    cJSON *d = cJSON_Parse("{\"mention\":30,\"password_reset\":30}");
    cr_expect_eq(notify_digest_minutes(d, "mention", "email"), 30);
    cr_expect_eq(notify_digest_minutes(d, "mention", "push"), 0, "email only");
    cr_expect_eq(notify_digest_minutes(d, "mention", "in_app"), 0);
    cr_expect_eq(notify_digest_minutes(d, "weekly_report", "email"), 0, "not collected");
    cr_expect_eq(notify_digest_minutes(d, "password_reset", "email"), 0,
                 "critical, even if stored before the rule");
    cr_expect_eq(notify_digest_minutes(NULL, "mention", "email"), 0);
    cJSON_Delete(d);
}

Test(digest, the_builtin_lists_every_item)
{
    cJSON *params = cJSON_Parse("{\"count\":2,\"kind\":\"mention\",\"items\":["
                                "{\"subject\":\"Ann mentioned you\",\"text\":\"in <Plans>\\n\"},"
                                "{\"subject\":\"Bob mentioned you\",\"text\":\"in Q3\\n\"}]}");
    cJSON *ctx = notify_context(params, "Ada", "ada@example.com");
    notify_rendered_t r;
    const char *why = NULL;
    cr_assert_eq(notify_render(notify_builtin_digest("fr-CA"), ctx, &r, &why), TC_OK);
    cr_expect_str_eq(r.subject, "2 nouvelles notifications", "the locale chain: fr-CA → fr");
    cr_expect_neq(strstr(r.text, "- Ann mentioned you\n  in <Plans>"), NULL, "%s", r.text);
    cr_expect_neq(strstr(r.text, "- Bob mentioned you\n  in Q3"), NULL, "%s", r.text);
    cr_expect_neq(strstr(r.html, "in &lt;Plans&gt;"), NULL, "HTML escaped: %s", r.html);
    notify_rendered_clear(&r);
    cr_assert_eq(notify_render(notify_builtin_digest("de"), ctx, &r, &why), TC_OK);
    cr_expect_str_eq(r.subject, "2 new notifications");
    notify_rendered_clear(&r);
    cJSON_Delete(ctx);
    cJSON_Delete(params);
}
