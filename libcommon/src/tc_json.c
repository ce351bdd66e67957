/*
 * Validation collects every problem instead of stopping at the first, so a client fixing a
 * request sees all bad fields in one 422.
 */
#include "tc/tc_json.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tc_jv_init(tc_jv_t *jv)
{
    jv->errors = NULL;
    jv->count = 0;
    jv->oom = 0;
}

void tc_jv_free(tc_jv_t *jv)
{
    cJSON_Delete(jv->errors);
    tc_jv_init(jv);
}

bool tc_jv_failed(const tc_jv_t *jv)
{
    return jv->count > 0 || jv->oom;
}

void tc_jv_error(tc_jv_t *jv, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jv->count++;
    if (!jv->errors && !(jv->errors = cJSON_CreateArray())) {
        jv->oom = 1;
        return;
    }
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "field", field) ||
        !cJSON_AddStringToObject(e, "message", msg)) {
        cJSON_Delete(e);
        jv->oom = 1;
        return;
    }
    cJSON_AddItemToArray(jv->errors, e);
}

cJSON *tc_jv_take_errors(tc_jv_t *jv)
{
    cJSON *e = jv->errors;
    jv->errors = NULL;
    return e;
}

bool tc_jv_object(tc_jv_t *jv, const cJSON *obj, const char *field)
{
    if (cJSON_IsObject(obj))
        return true;
    tc_jv_error(jv, field ? field : "body", "must be a JSON object");
    return false;
}

bool tc_jv_has(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name) != NULL;
}

void tc_jv_no_unknown(tc_jv_t *jv, const cJSON *obj, const char *const *allowed)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int known = 0;
        for (int i = 0; allowed[i] && !known; i++)
            known = it->string && strcmp(it->string, allowed[i]) == 0;
        if (!known)
            tc_jv_error(jv, it->string ? it->string : "?", "unknown field");
    }
}

/* Returns the member, or NULL after recording "required" when needed. *null_ok is set when
 * the member is an explicit null that the flags allow. */
static const cJSON *member(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags,
                           int *is_null)
{
    *is_null = 0;
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    if (v && cJSON_IsNull(v)) {
        if (flags & TC_JV_NULLABLE) {
            *is_null = 1;
            return NULL;
        }
        if (!(flags & TC_JV_REQUIRED))
            return NULL;
        tc_jv_error(jv, name, "must not be null");
        return NULL;
    }
    if (!v && (flags & TC_JV_REQUIRED))
        tc_jv_error(jv, name, "is required");
    return v;
}

/* Code points of well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), or -1; with text_only, also -1 at NUL and control characters other than tab and
 * newline (C0, DEL and C1). */
static ssize_t utf8_scan(const char *s, size_t n, bool text_only)
{
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            if (text_only && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f))
                return -1;
            i++;
            count++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (i + len > n)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (text_only && cp >= 0x80 && cp <= 0x9f))
            return -1;
        i += len;
        count++;
    }
    return count;
}

ssize_t tc_utf8_validate(const char *s, size_t n)
{
    return utf8_scan(s, n, true);
}

ssize_t tc_utf8_count(const char *s, size_t n)
{
    return utf8_scan(s, n, false);
}

const char *tc_jv_str(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags,
                      size_t minlen, size_t maxlen)
{
    int is_null;
    const cJSON *v = member(jv, obj, name, flags, &is_null);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        tc_jv_error(jv, name, "must be a string");
        return NULL;
    }
    long n = tc_utf8_validate(v->valuestring, strlen(v->valuestring));
    if (n < 0) {
        tc_jv_error(jv, name, "must be valid UTF-8 text without control characters");
        return NULL;
    }
    if ((size_t)n < minlen || (size_t)n > maxlen) {
        if (minlen == maxlen)
            tc_jv_error(jv, name, "must be %zu characters long", minlen);
        else
            tc_jv_error(jv, name, "must be between %zu and %zu characters long", minlen, maxlen);
        return NULL;
    }
    return v->valuestring;
}

bool tc_email_valid(const char *s)
{
    /* Deliberately simple (RFC 5321 lengths, one @, a dot in the domain, no spaces): the
     * real check is the invitation mail reaching the address. */
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || strchr(at + 1, '@') || (size_t)(at - s) > 64)
        return false;
    const char *domain = at + 1;
    if (!*domain || !strchr(domain, '.') || domain[0] == '.' || domain[strlen(domain) - 1] == '.' ||
        strstr(domain, ".."))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' ||
            c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == '"')
            return false;
    }
    return true;
}

bool tc_lang_tag_valid(const char *s)
{
    size_t n = 0;
    while (isalpha((unsigned char)s[n]))
        n++;
    if (n < 2 || n > 3)
        return false;
    const char *p = s + n;
    for (int tags = 0; *p; tags++) {
        if (*p != '-' || tags >= 3)
            return false;
        p++;
        size_t m = 0;
        while (isalnum((unsigned char)p[m]))
            m++;
        if (m < 2 || m > 8)
            return false;
        p += m;
    }
    return true;
}

const char *tc_jv_email(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags)
{
    int before = jv->count;
    const char *s = tc_jv_str(jv, obj, name, flags, 3, 254);
    if (!s)
        return NULL;
    if (jv->count == before && !tc_email_valid(s)) {
        tc_jv_error(jv, name, "must be a valid email address");
        return NULL;
    }
    return s;
}

const char *tc_jv_enum(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags,
                       const char *const *choices)
{
    const char *s = tc_jv_str(jv, obj, name, flags, 1, 64);
    if (!s)
        return NULL;
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0)
            return choices[i];
    char list[256] = "";
    size_t off = 0;
    for (int i = 0; choices[i] && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", choices[i]);
    tc_jv_error(jv, name, "must be one of: %s", list);
    return NULL;
}

bool tc_jv_bool(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags, bool def)
{
    int is_null;
    const cJSON *v = member(jv, obj, name, flags, &is_null);
    if (!v)
        return def;
    if (!cJSON_IsBool(v)) {
        tc_jv_error(jv, name, "must be true or false");
        return def;
    }
    return cJSON_IsTrue(v);
}

int64_t tc_jv_int(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags, int64_t def,
                  int64_t min, int64_t max)
{
    int is_null;
    const cJSON *v = member(jv, obj, name, flags, &is_null);
    if (!v)
        return def;
    double d = v->valuedouble;
    /* 2^53: from it on a double no longer holds every integer exactly (2^53 + 1 reads as
     * 2^53), so only |d| < 2^53 is known to be the integer the client sent */
    if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) >= 9007199254740992.0) {
        tc_jv_error(jv, name, "must be an integer");
        return def;
    }
    if ((int64_t)d < min || (int64_t)d > max) {
        tc_jv_error(jv, name, "must be between %lld and %lld", (long long)min, (long long)max);
        return def;
    }
    return (int64_t)d;
}

const cJSON *tc_jv_obj(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags)
{
    int is_null;
    const cJSON *v = member(jv, obj, name, flags, &is_null);
    if (!v)
        return NULL;
    if (!cJSON_IsObject(v)) {
        tc_jv_error(jv, name, "must be an object");
        return NULL;
    }
    return v;
}

cJSON *tc_json_add_str(cJSON *obj, const char *name, const char *value)
{
    return value ? cJSON_AddStringToObject(obj, name, value) : cJSON_AddNullToObject(obj, name);
}

cJSON *tc_json_add_int(cJSON *obj, const char *name, int64_t value)
{
    /* cJSON prints a number with 15 significant digits whenever that reads back within a
     * relative epsilon, which alters integers of 16 digits or more: print those exactly. */
    if (value > -1000000000000000LL && value < 1000000000000000LL)
        return cJSON_AddNumberToObject(obj, name, (double)value);
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)value);
    return cJSON_AddRawToObject(obj, name, text);
}

cJSON *tc_json_add_raw(cJSON *obj, const char *name, const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : cJSON_CreateNull();
    if (!v)
        return NULL;
    if (!cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

char *tc_json_print(const cJSON *v)
{
    return cJSON_PrintUnformatted(v);
}

const char *tc_json_get_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
