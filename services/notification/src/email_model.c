/* Notification emails as MIME text (email_model.h). */
#include "email_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BOUNDARY "=_tc_alt_7f3a9c"

bool email_addr_ok(const char *addr)
{
    if (!addr)
        return false;
    size_t n = strlen(addr);
    const char *at = strchr(addr, '@');
    if (n < 3 || n > 254 || !at || at == addr || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>\"(),;:\\[]", c))
            return false;
    }
    return true;
}

void email_date(int64_t epoch_ms, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool plain_ascii(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return strstr(s, "=?") == NULL;
}

/* RFC 2047 B encoding in words of at most 45 input bytes, never splitting a UTF-8 sequence;
 * words are folded onto continuation lines. */
static void put_encoded(tc_buf_t *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    bool first = true;
    while (i < n) {
        size_t take = n - i > 45 ? 45 : n - i;
        while (take > 0 && i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - i > 45 ? 45 : n - i;
        char enc[64];
        tc_b64_encode(s + i, take, enc, sizeof enc);
        tc_buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
        first = false;
        i += take;
    }
}

static void put_phrase(tc_buf_t *b, const char *s)
{
    if (!plain_ascii(s)) {
        put_encoded(b, s);
        return;
    }
    tc_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            tc_buf_putc(b, '\\');
        tc_buf_putc(b, *p);
    }
    tc_buf_putc(b, '"');
}

static void put_address(tc_buf_t *b, const char *header, const char *name, const char *addr)
{
    tc_buf_printf(b, "%s: ", header);
    if (name && *name) {
        put_phrase(b, name);
        tc_buf_putc(b, ' ');
    }
    tc_buf_printf(b, "<%s>\r\n", addr);
}

/* The part's text with bare LF turned into CRLF, base64 in 76-character lines. */
static int put_body(tc_buf_t *b, const char *type, const char *s)
{
    tc_buf_t crlf = TC_BUF_INIT;
    for (const char *p = s; *p; p++) {
        if (*p == '\n' && (p == s || p[-1] != '\r'))
            tc_buf_putc(&crlf, '\r');
        tc_buf_putc(&crlf, *p);
    }
    if (crlf.oom) {
        tc_buf_free(&crlf);
        return TC_ENOMEM;
    }
    tc_buf_printf(b,
                  "--" BOUNDARY "\r\nContent-Type: %s; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  type);
    const char *d = tc_buf_cstr(&crlf);
    for (size_t i = 0; i < crlf.len; i += 57) {
        char line[80];
        size_t take = crlf.len - i > 57 ? 57 : crlf.len - i;
        tc_b64_encode(d + i, take, line, sizeof line);
        tc_buf_printf(b, "%s\r\n", line);
    }
    tc_buf_free(&crlf);
    return TC_OK;
}

static bool one_line(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

int email_build(const email_msg_t *m, char **out, size_t *len, const char **why)
{
    *out = NULL;
    *len = 0;
    if (!email_addr_ok(m->from_email) || !email_addr_ok(m->to_email))
        *why = "invalid address";
    else if ((m->from_name && !one_line(m->from_name)) || (m->to_name && !one_line(m->to_name)) ||
             !one_line(m->subject))
        *why = "header value spans lines";
    else if (!m->message_id || !one_line(m->message_id) || m->message_id[0] != '<')
        *why = "invalid Message-ID";
    else if (m->list_unsubscribe &&
             (!one_line(m->list_unsubscribe) || strpbrk(m->list_unsubscribe, "<> ")))
        *why = "invalid List-Unsubscribe URL";
    else if (!m->text || !m->html)
        *why = "missing body";
    else
        *why = NULL;
    if (*why)
        return TC_EINVAL;

    tc_buf_t b = TC_BUF_INIT;
    char date[40];
    email_date(m->date_ms, date);
    tc_buf_printf(&b, "Date: %s\r\n", date);
    put_address(&b, "From", m->from_name, m->from_email);
    put_address(&b, "To", m->to_name, m->to_email);
    tc_buf_puts(&b, "Subject: ");
    if (plain_ascii(m->subject))
        tc_buf_puts(&b, m->subject);
    else
        put_encoded(&b, m->subject);
    tc_buf_printf(&b, "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", m->message_id);
    tc_buf_puts(&b, "Auto-Submitted: auto-generated\r\n");
    if (m->list_unsubscribe)
        tc_buf_printf(&b, "List-Unsubscribe: <%s>\r\n", m->list_unsubscribe);
    tc_buf_puts(&b, "Content-Type: multipart/alternative; boundary=\"" BOUNDARY "\"\r\n\r\n");
    int rc = put_body(&b, "text/plain", m->text);
    if (rc == TC_OK)
        rc = put_body(&b, "text/html", m->html);
    tc_buf_puts(&b, "--" BOUNDARY "--\r\n");
    if (rc == TC_OK) {
        *len = b.len;
        *out = tc_buf_detach(&b);
        if (!*out)
            rc = TC_ENOMEM;
    }
    if (rc != TC_OK) {
        tc_buf_free(&b);
        *why = "out of memory";
    }
    return rc;
}
