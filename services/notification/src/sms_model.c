/*
 * SMS without I/O (sms_model.h): numbers, bodies, the Messages API's form and answers.
 */
#include "sms_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sms_e164(const char *written, char out[SMS_E164_MAX + 1])
{
    size_t n = 0;
    const char *p = written ? written : "";
    while (*p == ' ')
        p++;
    if (*p++ != '+')
        return TC_EINVAL;
    out[n++] = '+';
    for (; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n >= SMS_E164_MAX)
                return TC_EINVAL;
            out[n++] = *p;
        } else if (!strchr(" -().", *p)) {
            return TC_EINVAL;
        }
    }
    out[n] = '\0';
    /* no country code starts with 0, and eight digits is the shortest complete number */
    return n >= 9 && out[1] != '0' ? TC_OK : TC_EINVAL;
}

char *sms_body(const char *text)
{
    const char *s = text ? text : "";
    size_t len = strlen(s);
    while (len && strchr(" \t\r\n", s[len - 1]))
        len--;
    size_t chars = 0, cut = len;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue; /* a continuation byte: the same character */
        if (chars == SMS_BODY_MAX - 1)
            cut = i; /* where the ellipsis goes if the text is longer than the limit */
        if (++chars > SMS_BODY_MAX)
            break;
    }
    bool over = chars > SMS_BODY_MAX;
    size_t keep = over ? cut : len;
    char *out = malloc(keep + (over ? 4 : 1));
    if (!out)
        return NULL;
    memcpy(out, s, keep);
    if (over)
        memcpy(out + keep, "\xE2\x80\xA6", 4); /* … */
    else
        out[keep] = '\0';
    return out;
}

char *sms_form(const char *to, const char *from, const char *body)
{
    tc_buf_t b;
    tc_buf_init(&b);
    bool service = strncmp(from, "MG", 2) == 0;
    tc_buf_puts(&b, "To=");
    tc_buf_url_encode(&b, to);
    tc_buf_puts(&b, service ? "&MessagingServiceSid=" : "&From=");
    tc_buf_url_encode(&b, from);
    tc_buf_puts(&b, "&Body=");
    tc_buf_url_encode(&b, body);
    return tc_buf_detach(&b); /* NULL when any append failed */
}

notify_outcome_t sms_verdict(bool answered, long status)
{
    if (!answered || status == 429 || status >= 500 || status == 401 || status == 403 ||
        status == 404)
        return NOTIFY_TRANSIENT;
    if (status >= 200 && status < 300)
        return NOTIFY_SENT;
    return NOTIFY_PERMANENT;
}

void sms_error_detail(const char *body, char *out, size_t n)
{
    out[0] = '\0';
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *code = cJSON_GetObjectItem(j, "code");
    const char *msg = tc_json_get_str(j, "message");
    if (cJSON_IsNumber(code) && msg)
        snprintf(out, n, "code %d: %.150s", code->valueint, msg);
    else if (cJSON_IsNumber(code))
        snprintf(out, n, "code %d", code->valueint);
    else if (msg)
        snprintf(out, n, "%.150s", msg);
    cJSON_Delete(j);
}

int sms_parse_date(const char *s, int64_t *epoch_s)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char wday[4], mon[4], sign;
    int d, y, hh, mm, ss, tz, used = 0;
    if (!s ||
        sscanf(s, "%3[A-Za-z], %d %3s %d %d:%d:%d %c%4d%n", wday, &d, mon, &y, &hh, &mm, &ss, &sign,
               &tz, &used) != 9 ||
        s[used] != '\0' || (sign != '+' && sign != '-'))
        return TC_EINVAL;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            m = i;
    if (m < 0 || d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 || ss > 60 || tz % 100 > 59)
        return TC_EINVAL;
    /* days from the civil date (proleptic Gregorian), so no time zone of the process matters */
    int yy = y - (m < 2), mo = m + 1;
    int era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    int64_t off = (tz / 100) * 3600 + (tz % 100) * 60;
    *epoch_s = days * 86400 + hh * 3600 + mm * 60 + ss - (sign == '+' ? off : -off);
    return TC_OK;
}

int sms_list_find(const cJSON *page, const char *to, const char *body, int64_t since_s, char *sid,
                  size_t n)
{
    const cJSON *m;
    int64_t oldest = INT64_MAX;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(page, "messages"))
    {
        const char *mto = tc_json_get_str(m, "to"), *mbody = tc_json_get_str(m, "body");
        const char *status = tc_json_get_str(m, "status"), *msid = tc_json_get_str(m, "sid");
        int64_t created = 0;
        if (sms_parse_date(tc_json_get_str(m, "date_created"), &created) != TC_OK)
            continue;
        if (created < oldest)
            oldest = created;
        if (!mto || !mbody || !msid || strcmp(mto, to) != 0 || strcmp(mbody, body) != 0 ||
            created < since_s - 1)
            continue;
        if (status && strcmp(status, "failed") == 0) /* the provider never sent it */
            continue;
        snprintf(sid, n, "%s", msid);
        return TC_OK;
    }
    bool last = !tc_json_get_str(page, "next_page_uri");
    return last || oldest < since_s - 1 ? TC_ENOTFOUND : TC_EAGAIN;
}
