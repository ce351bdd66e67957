/* The JSON Schema subset of connector definitions (hub_schema.h). */
#include "hub_schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 256

static const char *const KEYWORDS[] = {
    "type",     "properties", "required",    "additionalProperties",
    "items",    "enum",       "minLength",   "maxLength",
    "minimum",  "maximum",    "minItems",    "maxItems",
    "format",   "title",      "description", "default",
    "examples", "writeOnly",  NULL,
};
static const char *const TYPES[] = {"object", "array",   "string", "integer",
                                    "number", "boolean", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool fail(char *err, size_t errlen, const char *at, const char *what)
{
    snprintf(err, errlen, "%s: %s", at, what);
    return false;
}

static bool count_ok(const cJSON *schema, const char *kw)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(schema, kw);
    return !v ||
           (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble));
}

static bool members_usable(const cJSON *schema, const char *at, char *err, size_t errlen)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    if (props && !cJSON_IsObject(props))
        return fail(err, errlen, at, "properties must be an object");
    const cJSON *p;
    cJSON_ArrayForEach(p, props)
    {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%s.%s", at, p->string);
        if (!hub_schema_usable(p, sub, err, errlen))
            return false;
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
    if (req && !cJSON_IsArray(req))
        return fail(err, errlen, at, "required must be an array");
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
    {
        if (!cJSON_IsString(r) || !hub_schema_property(schema, r->valuestring))
            return fail(err, errlen, at, "required names a property it does not define");
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
    if (items) {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%s[]", at);
        if (!hub_schema_usable(items, sub, err, errlen))
            return false;
    }
    return true;
}

bool hub_schema_usable(const cJSON *schema, const char *at, char *err, size_t errlen)
{
    if (!cJSON_IsObject(schema))
        return fail(err, errlen, at, "a schema must be an object");
    const cJSON *kw;
    cJSON_ArrayForEach(kw, schema)
    {
        if (!in_list(kw->string, KEYWORDS)) {
            char what[128];
            snprintf(what, sizeof what, "keyword \"%s\" is not supported", kw->string);
            return fail(err, errlen, at, what);
        }
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    if (type && !(cJSON_IsString(type) && in_list(type->valuestring, TYPES)))
        return fail(err, errlen, at,
                    "type must be one of object, array, string, integer, "
                    "number, boolean");
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
    if (ap && !cJSON_IsBool(ap))
        return fail(err, errlen, at, "additionalProperties must be a boolean");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(schema, "format");
    if (fmt && !(cJSON_IsString(fmt) && strcmp(fmt->valuestring, "uri") == 0))
        return fail(err, errlen, at, "the only format is \"uri\"");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    if (en && (!cJSON_IsArray(en) || cJSON_GetArraySize(en) == 0))
        return fail(err, errlen, at, "enum must be a non-empty array");
    const cJSON *e;
    cJSON_ArrayForEach(e, en)
    {
        if (!cJSON_IsString(e) && !cJSON_IsNumber(e))
            return fail(err, errlen, at, "enum values must be strings or numbers");
    }
    static const char *const COUNTS[] = {"minLength", "maxLength", "minItems", "maxItems"};
    for (size_t i = 0; i < sizeof COUNTS / sizeof COUNTS[0]; i++)
        if (!count_ok(schema, COUNTS[i]))
            return fail(err, errlen, at, "length and item bounds must be non-negative integers");
    static const char *const BOUNDS[] = {"minimum", "maximum"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(schema, BOUNDS[i]);
        if (b && !cJSON_IsNumber(b))
            return fail(err, errlen, at, "minimum and maximum must be numbers");
    }
    return members_usable(schema, at, err, errlen);
}

const cJSON *hub_schema_property(const cJSON *schema, const char *name)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    return props ? cJSON_GetObjectItemCaseSensitive(props, name) : NULL;
}

bool hub_schema_required(const cJSON *schema, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(schema, "required"))
    {
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ checking a value */

static bool is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
}

static bool type_matches(const char *type, const cJSON *v)
{
    if (strcmp(type, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0)
        return cJSON_IsArray(v);
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(type, "integer") == 0)
        return is_integer(v);
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(v);
    return cJSON_IsBool(v);
}

static int schema_int(const cJSON *schema, const char *kw, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(schema, kw);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* An absolute http(s) URL with a host and no whitespace or control characters. */
bool hub_schema_url_valid(const char *s)
{
    const char *rest = NULL;
    if (strncasecmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        rest = s + 7;
    if (!rest || !*rest || *rest == '/' || *rest == '?' || *rest == '#')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static void check_string(tc_jv_t *jv, const cJSON *schema, const cJSON *v, const char *path)
{
    size_t n = strlen(v->valuestring);
    ssize_t cps = tc_utf8_count(v->valuestring, n);
    double bound;
    if (cps < 0) {
        tc_jv_error(jv, path, "must be valid UTF-8");
        return;
    }
    if (schema_int(schema, "minLength", &bound) && (double)cps < bound)
        tc_jv_error(jv, path, "must be at least %.0f characters", bound);
    if (schema_int(schema, "maxLength", &bound) && (double)cps > bound)
        tc_jv_error(jv, path, "must be at most %.0f characters", bound);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(schema, "format");
    if (fmt && !hub_schema_url_valid(v->valuestring))
        tc_jv_error(jv, path, "must be an absolute http or https URL");
}

static void check_number(tc_jv_t *jv, const cJSON *schema, const cJSON *v, const char *path)
{
    double bound;
    if (schema_int(schema, "minimum", &bound) && v->valuedouble < bound)
        tc_jv_error(jv, path, "must be at least %g", bound);
    if (schema_int(schema, "maximum", &bound) && v->valuedouble > bound)
        tc_jv_error(jv, path, "must be at most %g", bound);
}

static void check_enum(tc_jv_t *jv, const cJSON *en, const cJSON *v, const char *path)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, en)
    {
        if (cJSON_IsString(e) && cJSON_IsString(v) && strcmp(e->valuestring, v->valuestring) == 0)
            return;
        if (cJSON_IsNumber(e) && cJSON_IsNumber(v) && e->valuedouble == v->valuedouble)
            return;
    }
    tc_jv_error(jv, path, "must be one of the allowed values");
}

static void check_object(tc_jv_t *jv, const cJSON *schema, const cJSON *v, const char *path)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(schema, "required"))
    {
        if (!cJSON_GetObjectItemCaseSensitive(v, r->valuestring)) {
            char sub[PATH_MAX_LEN];
            snprintf(sub, sizeof sub, "%s.%s", path, r->valuestring);
            tc_jv_error(jv, sub, "is required");
        }
    }
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
    bool closed = cJSON_IsFalse(ap);
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        const cJSON *ps = hub_schema_property(schema, m->string);
        if (ps)
            hub_schema_check(jv, ps, m, sub);
        else if (closed)
            tc_jv_error(jv, sub, "is not a known field");
    }
}

static void check_array(tc_jv_t *jv, const cJSON *schema, const cJSON *v, const char *path)
{
    double bound;
    int n = cJSON_GetArraySize(v);
    if (schema_int(schema, "minItems", &bound) && (double)n < bound)
        tc_jv_error(jv, path, "must have at least %.0f items", bound);
    if (schema_int(schema, "maxItems", &bound) && (double)n > bound)
        tc_jv_error(jv, path, "must have at most %.0f items", bound);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
    if (!items)
        return;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%s[%d]", path, i++);
        hub_schema_check(jv, items, it, sub);
    }
}

void hub_schema_check(tc_jv_t *jv, const cJSON *schema, const cJSON *value, const char *prefix)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    if (cJSON_IsString(type) && !type_matches(type->valuestring, value)) {
        tc_jv_error(jv, prefix, "must be %s %s", strchr("aeiou", type->valuestring[0]) ? "an" : "a",
                    type->valuestring);
        return;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    if (en)
        check_enum(jv, en, value, prefix);
    if (cJSON_IsString(value))
        check_string(jv, schema, value, prefix);
    else if (cJSON_IsNumber(value))
        check_number(jv, schema, value, prefix);
    else if (cJSON_IsObject(value))
        check_object(jv, schema, value, prefix);
    else if (cJSON_IsArray(value))
        check_array(jv, schema, value, prefix);
}
