/* sms_model: numbers to E.164, bodies within one message's limit, the Messages API's form and
 * answers, and finding an in-doubt attempt's message in the provider's list. */
#include <criterion/criterion.h>

#include "sms_model.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

static const char *e164(const char *written)
{
    static char out[SMS_E164_MAX + 1];
    return sms_e164(written, out) == TC_OK ? out : NULL;
}

Test(number, written_forms_become_e164)
{
    cr_expect_str_eq(e164("+44 20 7946 0958"), "+442079460958");
    cr_expect_str_eq(e164("+1 (415) 555-0100"), "+14155550100");
    cr_expect_str_eq(e164(" +33.1.23.45.67.89"), "+33123456789");
    cr_expect_str_eq(e164("+123456789012345"), "+123456789012345", "15 digits: the most");
}

Test(number, national_or_malformed_numbers_are_refused)
{
    cr_expect_null(e164("020 7946 0958"), "no country code: which country is unknown");
    cr_expect_null(e164("+0 20 7946 0958"), "no country code starts with 0");
    cr_expect_null(e164("+1234567"), "seven digits is not a whole number");
    cr_expect_null(e164("+1234567890123456"), "16 digits is more than E.164 allows");
    cr_expect_null(e164("+44 20 7946 0958 ext 2"));
    cr_expect_null(e164("+44+2079460958"));
    cr_expect_null(e164(""));
    cr_expect_null(e164(NULL));
}

Test(body, trailing_space_goes_and_short_text_stays)
{
    char *b = sms_body("Your code is 123456.\n\n");
    cr_expect_str_eq(b, "Your code is 123456.");
    free(b);
    b = sms_body(NULL);
    cr_expect_str_eq(b, "");
    free(b);
}

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

Test(body, long_text_is_cut_at_a_character_to_the_limit)
{
    /* 1000 two-byte characters then 1000 ASCII ones: 2000 characters, 3000 bytes */
    char *text = malloc(3001);
    for (int i = 0; i < 1000; i++)
        memcpy(text + 2 * i, "\xC3\xA9", 2); /* é */
    memset(text + 2000, 'a', 1000);
    text[3000] = '\0';
    char *b = sms_body(text);
    cr_assert_eq(chars(b), SMS_BODY_MAX);
    cr_expect_eq(strncmp(b + strlen(b) - 3, "\xE2\x80\xA6", 3), 0, "ends in an ellipsis");
    cr_expect_eq(memcmp(b, text, 2000), 0, "the start is the text's");
    free(b);
    /* exactly the limit: kept whole */
    text[2000 + SMS_BODY_MAX - 1000] = '\0';
    b = sms_body(text);
    cr_expect_str_eq(b, text);
    free(b);
    free(text);
}

Test(form, fields_are_form_encoded)
{
    char *f = sms_form("+442079460958", "+15005550006", "Hi & bye = 100%\n");
    cr_expect_str_eq(
        f, "To=%2B442079460958&From=%2B15005550006&Body=Hi%20%26%20bye%20%3D%20100%25%0A");
    free(f);
    f = sms_form("+442079460958", "MG0123456789abcdef0123456789abcdef", "x");
    cr_expect_str_eq(
        f, "To=%2B442079460958&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&Body=x",
        "a Messaging Service sends instead of a number");
    free(f);
}

Test(verdict, answers_map_to_outcomes)
{
    cr_expect_eq(sms_verdict(true, 201), NOTIFY_SENT);
    cr_expect_eq(sms_verdict(true, 200), NOTIFY_SENT);
    cr_expect_eq(sms_verdict(false, 0), NOTIFY_TRANSIENT, "no answer");
    cr_expect_eq(sms_verdict(true, 429), NOTIFY_TRANSIENT);
    cr_expect_eq(sms_verdict(true, 503), NOTIFY_TRANSIENT);
    cr_expect_eq(sms_verdict(true, 401), NOTIFY_TRANSIENT, "credentials: the operator's to fix");
    cr_expect_eq(sms_verdict(true, 404), NOTIFY_TRANSIENT, "account: the operator's to fix");
    cr_expect_eq(sms_verdict(true, 400), NOTIFY_PERMANENT, "an invalid number stays invalid");
    cr_expect_eq(sms_verdict(true, 422), NOTIFY_PERMANENT);
}

Test(verdict, error_bodies_are_summarised)
{
    char d[200];
    sms_error_detail(
        "{\"code\":21211,\"message\":\"The 'To' number is not valid.\",\"status\":400}", d,
        sizeof d);
    cr_expect_str_eq(d, "code 21211: The 'To' number is not valid.");
    sms_error_detail("{\"code\":20003}", d, sizeof d);
    cr_expect_str_eq(d, "code 20003");
    sms_error_detail("<html>Bad gateway</html>", d, sizeof d);
    cr_expect_str_eq(d, "");
    sms_error_detail(NULL, d, sizeof d);
    cr_expect_str_eq(d, "");
}

Test(date, rfc2822_dates_parse_in_utc)
{
    int64_t t = 0;
    cr_assert_eq(sms_parse_date("Thu, 30 Jul 2015 20:12:31 +0000", &t), TC_OK);
    cr_expect_eq(t, 1438287151);
    cr_assert_eq(sms_parse_date("Thu, 30 Jul 2015 22:12:31 +0200", &t), TC_OK);
    cr_expect_eq(t, 1438287151, "the offset is taken off");
    cr_assert_eq(sms_parse_date("Mon, 07 Dec 2026 01:00:00 -0130", &t), TC_OK);
    cr_expect_eq(t, 1796605200 + 5400);
    cr_expect_eq(sms_parse_date("2015-07-30T20:12:31Z", &t), TC_EINVAL);
    cr_expect_eq(sms_parse_date("Thu, 30 Foo 2015 20:12:31 +0000", &t), TC_EINVAL);
    cr_expect_eq(sms_parse_date("Thu, 30 Jul 2015 20:12:31 +0000 x", &t), TC_EINVAL);
    cr_expect_eq(sms_parse_date(NULL, &t), TC_EINVAL);
}

Test(doubt, the_list_shows_whether_the_message_went)
{
    const char *json =
        "{\"messages\":["
        "{\"sid\":\"SM3\",\"to\":\"+442079460958\",\"body\":\"other\",\"status\":\"sent\","
        "\"date_created\":\"Thu, 30 Jul 2015 20:13:00 +0000\"},"
        "{\"sid\":\"SM2\",\"to\":\"+442079460958\",\"body\":\"hello\",\"status\":\"failed\","
        "\"date_created\":\"Thu, 30 Jul 2015 20:12:50 +0000\"},"
        "{\"sid\":\"SM1\",\"to\":\"+442079460958\",\"body\":\"hello\",\"status\":\"queued\","
        "\"date_created\":\"Thu, 30 Jul 2015 20:12:31 +0000\"},"
        "{\"sid\":\"SM0\",\"to\":\"+442079460958\",\"body\":\"hello\",\"status\":\"delivered\","
        "\"date_created\":\"Thu, 30 Jul 2015 19:00:00 +0000\"}],"
        "\"next_page_uri\":\"/2010-04-01/Accounts/AC1/Messages.json?Page=1\"}";
    cJSON *page = cJSON_Parse(json);
    char sid[64] = "";
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello", 1438287151, sid, sizeof sid), TC_OK);
    cr_expect_str_eq(sid, "SM1", "not the failed one, nor the one from before the attempt");
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello", 1438287152, sid, sizeof sid), TC_OK,
                 "a second of clock skew between us and the provider is allowed");
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello", 1438287160, sid, sizeof sid),
                 TC_ENOTFOUND, "only the failed one since: send again");
    cr_expect_eq(sms_list_find(page, "+14155550100", "hello", 1438287151, sid, sizeof sid),
                 TC_ENOTFOUND);
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello!", 1438287151, sid, sizeof sid),
                 TC_ENOTFOUND, "the page reaches back past the attempt: it is not there");
    cJSON_Delete(page);
    cr_expect_eq(sms_list_find(NULL, "+442079460958", "hello", 0, sid, sizeof sid), TC_ENOTFOUND);
}

Test(doubt, a_page_that_does_not_reach_back_cannot_tell)
{
    const char *json =
        "{\"messages\":["
        "{\"sid\":\"SM9\",\"to\":\"+442079460958\",\"body\":\"later\",\"status\":\"sent\","
        "\"date_created\":\"Thu, 30 Jul 2015 20:13:00 +0000\"}],"
        "\"next_page_uri\":\"/2010-04-01/Accounts/AC1/Messages.json?Page=1\"}";
    cJSON *page = cJSON_Parse(json);
    char sid[64] = "";
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello", 1438287151, sid, sizeof sid),
                 TC_EAGAIN, "the attempt's message may be on the next page: never resend blind");
    cJSON_DeleteItemFromObject(page, "next_page_uri");
    cr_expect_eq(sms_list_find(page, "+442079460958", "hello", 1438287151, sid, sizeof sid),
                 TC_ENOTFOUND, "the last page: it is not there");
    cJSON_Delete(page);
}
