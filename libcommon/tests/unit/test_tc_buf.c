/*
 * tc_buf: the growable buffer (append, printf, reserve, detach, reset) and JSON escaping.
 */
#include <criterion/criterion.h>

#include "tc/tc_buf.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- tc_buf */

Test(buf, starts_empty)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    tc_buf_t c;
    tc_buf_init(&c);
    cr_assert_null(c.data);
    cr_assert_eq(c.len, 0);
    cr_assert_eq(c.cap, 0);
    cr_assert_eq(c.oom, 0);
    tc_buf_free(&b);
    tc_buf_free(&c);
}

Test(buf, append_puts_putc)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_append(&b, "abc", 3), TC_OK);
    cr_assert_eq(tc_buf_puts(&b, "def"), TC_OK);
    cr_assert_eq(tc_buf_putc(&b, '!'), TC_OK);
    cr_assert_eq(tc_buf_append(&b, "xyz", 0), TC_OK);
    cr_assert_eq(b.len, 7);
    cr_assert_str_eq(tc_buf_cstr(&b), "abcdef!");
    cr_assert_eq(b.data[b.len], '\0');
    /* binary data with NULs is kept, len counts it */
    cr_assert_eq(tc_buf_append(&b, "\0z", 2), TC_OK);
    cr_assert_eq(b.len, 9);
    cr_assert_eq(memcmp(b.data, "abcdef!\0z", 9), 0);
    cr_assert_eq(b.data[9], '\0');
    tc_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
}

Test(buf, empty_append_allocates_a_terminated_string)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_append(&b, "", 0), TC_OK);
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    tc_buf_free(&b);
}

Test(buf, printf_grows_over_many_kb)
{
    tc_buf_t b = TC_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(tc_buf_printf(&b, "%05d,", i), TC_OK);
    cr_assert_eq(b.len, 5000 * 6);
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert_geq(b.cap, b.len + 1);
    for (int i = 0; i < 5000; i += 499) {
        char want[16];
        snprintf(want, sizeof want, "%05d,", i);
        cr_assert_eq(memcmp(b.data + i * 6, want, 6), 0, "item %d", i);
    }
    /* one large formatted append */
    char *big = malloc(70001);
    cr_assert_not_null(big);
    memset(big, 'q', 70000);
    big[70000] = '\0';
    cr_assert_eq(tc_buf_printf(&b, "[%s]%d", big, 42), TC_OK);
    cr_assert_eq(b.len, 30000 + 70004);
    cr_assert_eq(b.data[30000], '[');
    cr_assert_eq(b.data[30000 + 70001], ']');
    cr_assert_str_eq(b.data + 30000 + 70002, "42");
    free(big);
    tc_buf_free(&b);
}

Test(buf, printf_empty_result)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_printf(&b, "%s", ""), TC_OK);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    tc_buf_free(&b);
}

Test(buf, reserve)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_reserve(&b, 1000), TC_OK);
    cr_assert_geq(b.cap, 1001);
    cr_assert_eq(b.len, 0);
    char *before = b.data;
    for (int i = 0; i < 1000; i++)
        tc_buf_putc(&b, 'x');
    cr_assert_eq(b.data, before, "no reallocation within the reserved space");
    cr_assert_eq(b.len, 1000);
    tc_buf_free(&b);
}

static char *escape(const char *s, size_t n)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_json_escape(&b, s, n), TC_OK);
    return tc_buf_detach(&b);
}

static void expect_escape(const char *s, size_t n, const char *want)
{
    char *got = escape(s, n);
    cr_assert_str_eq(got, want);
    free(got);
}

Test(buf, json_escape)
{
    expect_escape("", 0, "");
    expect_escape("plain text", 10, "plain text");
    expect_escape("say \"hi\"", 8, "say \\\"hi\\\"");
    expect_escape("C:\\dir\\", 7, "C:\\\\dir\\\\");
    expect_escape("a\nb\rc\td", 7, "a\\nb\\rc\\td");
    expect_escape("\x01\x08\x0c\x1f", 4, "\\u0001\\u0008\\u000c\\u001f");
    expect_escape("a\0b", 3, "a\\u0000b");
    expect_escape("\x7f", 1, "\x7f");
    expect_escape("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac");
    expect_escape("</script>", 9, "</script>");
    /* only n bytes are read */
    expect_escape("ab\"cd", 2, "ab");
}

static void expect_html(const char *s, size_t n, const char *want)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_html_escape(&b, s, n), TC_OK);
    char *got = tc_buf_detach(&b);
    cr_assert_str_eq(got, want);
    free(got);
}

Test(buf, html_escape)
{
    expect_html("", 0, "");
    expect_html("plain café", 11, "plain café");
    expect_html("<script>alert('x')</script>", 27,
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    expect_html("a & b", 5, "a &amp; b");
    expect_html("&amp;", 5, "&amp;amp;");
    expect_html("x=\"1\" `y`", 9, "x&#x3D;&quot;1&quot; &#x60;y&#x60;");
    /* only n bytes are read */
    expect_html("ab<cd", 2, "ab");
}

Test(buf, json_escape_result_parses_back)
{
    char raw[64];
    for (int i = 0; i < 32; i++)
        raw[i] = (char)(i + 1 == 32 ? 0x20 : i + 1);
    memcpy(raw + 32, "\"\\/end", 6);
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_putc(&b, '"');
    tc_buf_json_escape(&b, raw, 38);
    tc_buf_putc(&b, '"');
    cr_assert_eq(b.oom, 0);
    /* compare with a straightforward decoder of the escapes used */
    char out[64];
    size_t o = 0;
    for (size_t i = 1; i + 1 < b.len; i++) {
        if (b.data[i] != '\\') {
            out[o++] = b.data[i];
            continue;
        }
        char e = b.data[++i];
        if (e == 'u') {
            unsigned v;
            cr_assert_eq(sscanf(b.data + i + 1, "%4x", &v), 1);
            out[o++] = (char)v;
            i += 4;
        } else {
            out[o++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
        }
    }
    cr_assert_eq(o, 38);
    cr_assert_eq(memcmp(out, raw, 38), 0);
    tc_buf_free(&b);
}

Test(buf, b64_appends_padded_standard_base64)
{
    static const struct {
        const char *in, *out;
    } cases[] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
                 {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"\xff\xfe\xfd?", "//79Pw=="}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_buf_t b;
        tc_buf_init(&b);
        cr_assert_eq(tc_buf_puts(&b, "Basic "), TC_OK);
        cr_assert_eq(tc_buf_b64(&b, cases[i].in, strlen(cases[i].in)), TC_OK);
        char want[64];
        snprintf(want, sizeof want, "Basic %s", cases[i].out);
        cr_assert_str_eq(tc_buf_cstr(&b), want);
        cr_assert_eq(b.len, strlen(want));
        tc_buf_free(&b);
    }
    /* long input: the buffer grows in one step and the result is terminated */
    char raw[3000];
    memset(raw, 0xAB, sizeof raw);
    tc_buf_t b;
    tc_buf_init(&b);
    cr_assert_eq(tc_buf_b64(&b, raw, sizeof raw), TC_OK);
    cr_assert_eq(b.len, 4000);
    cr_assert_eq(strlen(tc_buf_cstr(&b)), 4000);
    tc_buf_free(&b);
}

Test(buf, detach)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "hello");
    char *s = tc_buf_detach(&b);
    cr_assert_str_eq(s, "hello");
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    /* the buffer is usable again and independent of the detached string */
    tc_buf_puts(&b, "again");
    cr_assert_str_eq(tc_buf_cstr(&b), "again");
    cr_assert_str_eq(s, "hello");
    free(s);
    tc_buf_free(&b);

    char *empty = tc_buf_detach(&b);
    cr_assert_not_null(empty, "an empty buffer detaches as \"\"");
    cr_assert_str_eq(empty, "");
    free(empty);
}

Test(buf, detach_after_oom_is_null)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "partial");
    b.oom = 1; /* as after a failed allocation */
    cr_assert_eq(tc_buf_puts(&b, "more"), TC_ENOMEM);
    cr_assert_eq(tc_buf_printf(&b, "%d", 1), TC_ENOMEM);
    cr_assert_str_eq(tc_buf_cstr(&b), "partial", "appends after oom are ignored");
    cr_assert_null(tc_buf_detach(&b));
    cr_assert_null(b.data);
    cr_assert_eq(b.oom, 0);
}

Test(buf, reset_keeps_allocation)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "some content that needs space");
    char *data = b.data;
    size_t cap = b.cap;
    tc_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    cr_assert_eq(b.data, data);
    cr_assert_eq(b.cap, cap);
    tc_buf_puts(&b, "x");
    cr_assert_str_eq(tc_buf_cstr(&b), "x");
    tc_buf_free(&b);

    tc_buf_t e = TC_BUF_INIT;
    tc_buf_reset(&e); /* no allocation yet: still fine */
    cr_assert_str_eq(tc_buf_cstr(&e), "");
}

Test(buf, url_encode_keeps_only_the_unreserved)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_url_encode(&b, "aZ09-._~ /?&=+%\"é"), TC_OK);
    cr_assert_str_eq(tc_buf_cstr(&b), "aZ09-._~%20%2F%3F%26%3D%2B%25%22%C3%A9");
    tc_buf_reset(&b);
    cr_assert_eq(tc_buf_url_encode(&b, ""), TC_OK);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    tc_buf_free(&b);
}
