/*
 * Validation of the routing document (config_int.h): typed member access that records every
 * problem with its JSON path instead of stopping at the first, so one failed reload tells the
 * operator everything that is wrong. Unknown keys are errors (a typo such as "timout_ms" must
 * not silently fall back to a default); keys that start with "_" are comments.
 */
#include "config_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void gw_cv_error(gw_cv_t *v, const char *path, const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    v->count++;
    if (v->errors)
        cJSON_AddItemToArray(v->errors, cJSON_CreateString(msg));
}

void gw_cv_path(char *out, size_t n, const char *base, const char *key)
{
    if (snprintf(out, n, "%s%s%s", base, base[0] ? "." : "", key) >= (int)n)
        memcpy(out + n - 4, "...", 4); /* an absurdly deep path: keep it readable */
}

void gw_cv_keys(gw_cv_t *v, const cJSON *obj, const char *path, const char *const *allowed)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (!it->string || it->string[0] == '_')
            continue;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, it->string) == 0;
        if (!ok)
            gw_cv_error(v, path[0] ? path : "(top level)", "unknown key \"%s\"", it->string);
    }
}

/* Integer member: def when absent; records an error when not an integer in [min, max]. */
int64_t gw_cv_int(gw_cv_t *v, const cJSON *obj, const char *key, const char *path, int64_t def,
                  int64_t min, int64_t max)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return def;
    char p[256];
    gw_cv_path(p, sizeof p, path, key);
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || !(d >= (double)min && d <= (double)max) || d != floor(d)) {
        gw_cv_error(v, p, "must be an integer from %lld to %lld", (long long)min, (long long)max);
        return def;
    }
    return (int64_t)d;
}

/* The member `key` of obj when it is there and `is` it; NULL otherwise, with the problem
 * recorded when it is there but is not (`want` says what it must be), or is missing though
 * required. */
static const cJSON *member(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                           bool required, bool (*is)(const cJSON *), const char *want)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it && is(it))
        return it;
    if (it || required) {
        char p[256];
        gw_cv_path(p, sizeof p, path, key);
        gw_cv_error(v, p, "%s", it ? want : "is required");
    }
    return NULL;
}

static bool is_text(const cJSON *it)
{
    return cJSON_IsString(it) && it->valuestring[0];
}

static bool is_object(const cJSON *it)
{
    return cJSON_IsObject(it);
}

static bool is_array(const cJSON *it)
{
    return cJSON_IsArray(it);
}

const char *gw_cv_str(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                      bool required)
{
    const cJSON *it = member(v, obj, key, path, required, is_text, "must be a non-empty string");
    return it ? it->valuestring : NULL;
}

bool gw_cv_bool(gw_cv_t *v, const cJSON *obj, const char *key, const char *path, bool def)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return def;
    if (!cJSON_IsBool(it)) {
        char p[256];
        gw_cv_path(p, sizeof p, path, key);
        gw_cv_error(v, p, "must be true or false");
        return def;
    }
    return cJSON_IsTrue(it);
}

int gw_cv_enum(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
               const char *const *choices, int def)
{
    const char *s = gw_cv_str(v, obj, key, path, false);
    if (!s)
        return def;
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0)
            return i;
    char p[256], list[128] = "";
    gw_cv_path(p, sizeof p, path, key);
    for (int i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 choices[i]);
    gw_cv_error(v, p, "must be one of %s, not \"%s\"", list, s);
    return def;
}

const cJSON *gw_cv_obj(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                       bool required)
{
    return member(v, obj, key, path, required, is_object, "must be an object");
}

const cJSON *gw_cv_array(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                         bool required)
{
    const cJSON *it = member(v, obj, key, path, required, is_array, "must be an array");
    if (it && required && cJSON_GetArraySize(it) == 0) {
        char p[256];
        gw_cv_path(p, sizeof p, path, key);
        gw_cv_error(v, p, "must not be empty");
        return NULL;
    }
    return it;
}
