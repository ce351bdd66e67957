/* email_model.c: the MIME text of notification emails (headers, encoded words, parts),
 * and refusal of values that would inject headers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "email_model.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"

static email_msg_t sample(void)
{
    email_msg_t m = {
        .from_email = "no-reply@techcorp.test",
        .from_name = "TechCorp",
        .to_email = "ada@example.com",
        .to_name = "Ada Lovelace",
        .subject = "Hello",
        .text = "line 1\nline 2\n",
        .html = "<p>hi</p>",
        .message_id = "<dlv_01@notification.techcorp.test>",
        .list_unsubscribe = "https://app.techcorp.test/unsubscribe?c=x",
        .date_ms = 1780491713000LL,
    };
    return m;
}

static char *build(const email_msg_t *m)
{
    char *out = NULL;
    size_t len = 0;
    const char *why = NULL;
    cr_assert_eq(email_build(m, &out, &len, &why), TC_OK, "%s", why ? why : "?");
    cr_assert_eq(strlen(out), len);
    return out;
}

Test(email, headers_and_parts)
{
    email_msg_t m = sample();
    char *s = build(&m);
    cr_expect_not_null(strstr(s, "From: \"TechCorp\" <no-reply@techcorp.test>\r\n"));
    cr_expect_not_null(strstr(s, "To: \"Ada Lovelace\" <ada@example.com>\r\n"));
    cr_expect_not_null(strstr(s, "Subject: Hello\r\n"));
    cr_expect_not_null(strstr(s, "Message-ID: <dlv_01@notification.techcorp.test>\r\n"));
    cr_expect_not_null(strstr(s, "MIME-Version: 1.0\r\n"));
    cr_expect_not_null(
        strstr(s, "List-Unsubscribe: <https://app.techcorp.test/unsubscribe?c=x>\r\n"));
    cr_expect_not_null(strstr(s, "Content-Type: multipart/alternative; boundary="));
    cr_expect_not_null(strstr(s, "Content-Type: text/plain; charset=UTF-8\r\n"));
    cr_expect_not_null(strstr(s, "Content-Type: text/html; charset=UTF-8\r\n"));
    cr_expect_not_null(strstr(s, "Date: Wed, 03 Jun 2026 13:01:53 +0000\r\n"));
    /* the text part is base64 of the CRLF form */
    char enc[64];
    tc_b64_encode("line 1\r\nline 2\r\n", 16, enc, sizeof enc);
    cr_expect_not_null(strstr(s, enc));
    /* the header block ends before the first part */
    cr_expect_lt(strstr(s, "\r\n\r\n"), strstr(s, "text/plain"));
    free(s);
}

Test(email, no_list_unsubscribe_when_not_given)
{
    email_msg_t m = sample();
    m.list_unsubscribe = NULL;
    m.from_name = NULL;
    char *s = build(&m);
    cr_expect_null(strstr(s, "List-Unsubscribe"));
    cr_expect_not_null(strstr(s, "From: <no-reply@techcorp.test>\r\n"));
    free(s);
}

Test(email, non_ascii_subject_and_names_are_encoded_words)
{
    email_msg_t m = sample();
    m.subject = "Vous êtes invité à rejoindre TechCorp — une très longue ligne de sujet";
    m.to_name = "Zoë";
    char *s = build(&m);
    cr_expect_not_null(strstr(s, "Subject: =?UTF-8?B?"));
    cr_expect_not_null(strstr(s, "To: =?UTF-8?B?Wm/Dqw==?= <ada@example.com>"));
    /* long subjects are folded into several words on continuation lines */
    cr_expect_not_null(strstr(s, "?=\r\n =?UTF-8?B?"));
    cr_expect_null(strstr(s, "ê"));
    free(s);
}

Test(email, quotes_in_display_names_are_escaped)
{
    email_msg_t m = sample();
    m.to_name = "Ada \"The Countess\" L\\";
    char *s = build(&m);
    cr_expect_not_null(strstr(s, "To: \"Ada \\\"The Countess\\\" L\\\\\" <ada@example.com>"));
    free(s);
}

Test(email, header_injection_is_refused)
{
    const char *why = NULL;
    char *out = NULL;
    size_t len;
    email_msg_t m = sample();
    m.subject = "Hi\r\nBcc: victim@example.com";
    cr_expect_eq(email_build(&m, &out, &len, &why), TC_EINVAL);
    m = sample();
    m.to_name = "x\nBcc: y@z";
    cr_expect_eq(email_build(&m, &out, &len, &why), TC_EINVAL);
    m = sample();
    m.to_email = "a@b.c>\r\nBcc: <x@y.z";
    cr_expect_eq(email_build(&m, &out, &len, &why), TC_EINVAL);
    m = sample();
    m.list_unsubscribe = "https://x> <mailto:evil@x";
    cr_expect_eq(email_build(&m, &out, &len, &why), TC_EINVAL);
    m = sample();
    m.message_id = "no-brackets";
    cr_expect_eq(email_build(&m, &out, &len, &why), TC_EINVAL);
    cr_expect_null(out);
}

Test(email, addresses)
{
    cr_expect(email_addr_ok("a@b.c"));
    cr_expect(email_addr_ok("first.last+tag@sub.example.com"));
    cr_expect_not(email_addr_ok(NULL));
    cr_expect_not(email_addr_ok("nobody"));
    cr_expect_not(email_addr_ok("a b@c.d"));
    cr_expect_not(email_addr_ok("a@b@c"));
    cr_expect_not(email_addr_ok("<a@b.c>"));
    cr_expect_not(email_addr_ok("@b.c"));
    cr_expect_not(email_addr_ok("a@"));
    cr_expect_not(email_addr_ok("zoë@b.c"));
}

Test(email, body_lines_are_short)
{
    email_msg_t m = sample();
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m.html = big;
    char *s = build(&m);
    for (char *line = s, *nl; (nl = strstr(line, "\r\n")); line = nl + 2)
        cr_expect_leq(nl - line, 998);
    free(s);
}
