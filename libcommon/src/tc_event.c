/*
 * CloudEvents 1.0, Kafka protocol binding, binary content mode: attributes travel as
 * `ce_<attribute>` headers, datacontenttype as `content-type`, the value is the data and
 * the key is the partitionkey extension. Also the org an event belongs to and the event in
 * structured mode (the CloudEvents JSON format).
 */
#include "tc/tc_events.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tc_event_clear(tc_event_t *ev)
{
    free(ev->specversion);
    free(ev->id);
    free(ev->source);
    free(ev->type);
    free(ev->subject);
    free(ev->time);
    free(ev->datacontenttype);
    free(ev->dataschema);
    free(ev->partitionkey);
    free(ev->traceparent);
    free(ev->data);
    memset(ev, 0, sizeof *ev);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

int tc_event_validate(const tc_event_t *ev, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!ev->specversion || strcmp(ev->specversion, "1.0") != 0) {
        *why = "specversion must be 1.0";
        return TC_EINVAL;
    }
    if (!ev->id || !*ev->id || !printable(ev->id)) {
        *why = "id is required";
        return TC_EINVAL;
    }
    if (!ev->source || !*ev->source || !printable(ev->source)) {
        *why = "source is required";
        return TC_EINVAL;
    }
    if (!ev->type || !*ev->type || !printable(ev->type)) {
        *why = "type is required";
        return TC_EINVAL;
    }
    return TC_OK;
}

static int add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    if (!value)
        return TC_OK;
    return rd_kafka_header_add(h, name, -1, value, -1) == RD_KAFKA_RESP_ERR_NO_ERROR ? TC_OK
                                                                                     : TC_ERROR;
}

rd_kafka_headers_t *tc_event_headers(const tc_event_t *ev)
{
    if (tc_event_validate(ev, NULL) != TC_OK)
        return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(10);
    if (!h)
        return NULL;
    int rc = add_header(h, "ce_specversion", ev->specversion);
    rc |= add_header(h, "ce_id", ev->id);
    rc |= add_header(h, "ce_source", ev->source);
    rc |= add_header(h, "ce_type", ev->type);
    rc |= add_header(h, "ce_time", ev->time);
    rc |= add_header(h, "ce_subject", ev->subject);
    rc |= add_header(h, "ce_dataschema", ev->dataschema);
    rc |= add_header(h, "ce_traceparent", ev->traceparent);
    rc |= add_header(h, "content-type",
                     ev->datacontenttype ? ev->datacontenttype : "application/json");
    if (rc != TC_OK) {
        rd_kafka_headers_destroy(h);
        return NULL;
    }
    return h;
}

static char *dup_n(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Maps one header onto its attribute slot; unknown headers are ignored (extensions we do
 * not use, or headers added by other tooling). */
static char **slot_for(tc_event_t *ev, const char *name)
{
    static const struct {
        const char *header;
        size_t offset;
    } map[] = {
        {"ce_specversion", offsetof(tc_event_t, specversion)},
        {"ce_id", offsetof(tc_event_t, id)},
        {"ce_source", offsetof(tc_event_t, source)},
        {"ce_type", offsetof(tc_event_t, type)},
        {"ce_time", offsetof(tc_event_t, time)},
        {"ce_subject", offsetof(tc_event_t, subject)},
        {"ce_dataschema", offsetof(tc_event_t, dataschema)},
        {"ce_traceparent", offsetof(tc_event_t, traceparent)},
        {"content-type", offsetof(tc_event_t, datacontenttype)},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(map); i++)
        if (strcmp(map[i].header, name) == 0)
            return (char **)((char *)ev + map[i].offset);
    return NULL;
}

int tc_event_decode_parts(const rd_kafka_headers_t *hdrs, const void *key, size_t keylen,
                          const void *value, size_t len, tc_event_t *ev, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(ev, 0, sizeof *ev);
    const char *name;
    const void *hv;
    size_t hlen;
    for (size_t i = 0; hdrs && rd_kafka_header_get_all(hdrs, i, &name, &hv, &hlen) == 0; i++) {
        char **slot = slot_for(ev, name);
        if (!slot || !hv)
            continue;
        if (memchr(hv, '\0', hlen)) {
            *why = "header contains a NUL byte";
            goto invalid;
        }
        free(*slot); /* a repeated header: the last one wins */
        if (!(*slot = dup_n(hv, hlen)))
            goto nomem;
    }
    if (key && !(ev->partitionkey = dup_n(key, keylen)))
        goto nomem;
    if (!(ev->data = dup_n(value, value ? len : 0)))
        goto nomem;
    ev->data_len = value ? len : 0;
    if (tc_event_validate(ev, why) != TC_OK)
        goto invalid;
    return TC_OK;
nomem:
    tc_event_clear(ev);
    *why = "out of memory";
    return TC_ENOMEM;
invalid:
    tc_event_clear(ev);
    return TC_EINVAL;
}

int tc_event_decode(const rd_kafka_message_t *msg, tc_event_t *ev, const char **why)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL;
    return tc_event_decode_parts(hdrs, msg->key, msg->key_len, msg->payload, msg->len, ev, why);
}

bool tc_event_type_match(const char *pattern, const char *type)
{
    if (!pattern || !type)
        return false;
    if (strcmp(pattern, "*") == 0)
        return true;
    size_t n = strlen(pattern);
    /* "a.b.*" keeps its dot, so "a.bc.x" and "a.b" itself stay out */
    if (n > 2 && pattern[n - 2] == '.' && pattern[n - 1] == '*')
        return strncmp(type, pattern, n - 1) == 0 && type[n - 1] != '\0';
    return strcmp(pattern, type) == 0;
}

/* ------------------------------------------------------------------ org and structured mode */

static bool copy_org(const char *id, size_t n, char *org, size_t orglen)
{
    if (n == 0 || n >= orglen)
        return false;
    memcpy(org, id, n);
    org[n] = '\0';
    return true;
}

bool tc_event_org(const char *source, const cJSON *data, char *org, size_t orglen)
{
    static const char orgs[] = "/orgs/";
    if (!org || orglen == 0)
        return false;
    org[0] = '\0';
    const char *id = cJSON_IsObject(data) ? tc_json_get_str(data, "org_id") : NULL;
    if (id && id[0])
        return copy_org(id, strlen(id), org, orglen);
    if (!source || strncmp(source, orgs, sizeof orgs - 1) != 0)
        return false;
    id = source + sizeof orgs - 1;
    if (strchr(id, '/'))
        return false; /* a resource under the org: its events carry data.org_id */
    return copy_org(id, strlen(id), org, orglen);
}

/* application/json, text/json and any +json type, parameters aside. NULL is CloudEvents'
 * default, JSON. */
static bool json_content_type(const char *ct)
{
    if (!ct)
        return true;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if ((n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
        (n == 9 && strncasecmp(ct, "text/json", n) == 0))
        return true;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* The data as a JSON value, or NULL when it is not exactly one JSON text. */
static cJSON *parse_exact(const char *data, size_t n)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(data, n, &end, false);
    if (!v)
        return NULL;
    for (const char *p = end; p < data + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(v);
            return NULL;
        }
    }
    return v;
}

/* UTF-8 text, control characters included (JSON escapes them): tc_utf8_validate refuses
 * those, so it checks the runs between them, which no multi-byte sequence can straddle. NUL
 * ends a C string, so text with one is bytes. */
static bool utf8_text(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 0;
        while (i + run < n && (unsigned char)s[i + run] >= 0x20 && s[i + run] != 0x7f)
            run++;
        if (run && tc_utf8_validate(s + i, run) < 0)
            return false;
        i += run;
        if (i < n && s[i++] == '\0')
            return false;
    }
    return true;
}

/* Text goes in "data" as a string; bytes that are not UTF-8 text go in "data_base64", the
 * CloudEvents JSON format's member for binary data, since no JSON string can carry them. */
static bool add_opaque_data(cJSON *o, const char *data, size_t n)
{
    if (utf8_text(data, n)) {
        char *text = malloc(n + 1);
        if (!text)
            return false;
        memcpy(text, data, n);
        text[n] = '\0';
        bool ok = cJSON_AddStringToObject(o, "data", text) != NULL;
        free(text);
        return ok;
    }
    if (n > (SIZE_MAX - 4) / 4 * 3)
        return false;
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *b64 = malloc(cap);
    bool ok = b64 && tc_b64_encode(data, n, b64, cap) >= 0 &&
              cJSON_AddStringToObject(o, "data_base64", b64) != NULL;
    free(b64);
    return ok;
}

static bool add_data(cJSON *o, const tc_event_t *ev)
{
    if (!ev->data)
        return true;
    if (json_content_type(ev->datacontenttype)) {
        cJSON *v = parse_exact(ev->data, ev->data_len);
        if (v) {
            if (cJSON_AddItemToObject(o, "data", v))
                return true;
            cJSON_Delete(v);
            return false;
        }
    }
    return add_opaque_data(o, ev->data, ev->data_len);
}

static bool add_opt(cJSON *o, const char *name, const char *value)
{
    return !value || cJSON_AddStringToObject(o, name, value);
}

cJSON *tc_event_json(const tc_event_t *ev)
{
    if (!ev)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o && cJSON_AddStringToObject(o, "specversion", ev->specversion ? ev->specversion : "1.0") &&
        add_opt(o, "id", ev->id) && add_opt(o, "source", ev->source) &&
        add_opt(o, "type", ev->type) && add_opt(o, "subject", ev->subject) &&
        add_opt(o, "time", ev->time) &&
        cJSON_AddStringToObject(o, "datacontenttype",
                                ev->datacontenttype ? ev->datacontenttype : "application/json") &&
        add_data(o, ev);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
