/* The connector catalog and the pure half of running an action (connector_model.h). */
#include "connector_model.h"
#include "hub_schema.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const HUB_CATEGORIES[] = {"http", "chat", "developer", "platform", NULL};

static const char *const AUTH_NAMES[] = {"none", "api_key", "bearer", "basic",
                                         "oauth2_client_credentials"};
static const char *const METHODS[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool bad(char *err, size_t errlen, const char *id, const char *fmt, const char *arg)
{
    char what[256];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    snprintf(err, errlen, "connector %s: %s", id ? id : "?", what);
    return false;
}

/* Control characters (CR and LF above all) in a value would split or forge header lines. */
static bool has_ctl(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return true;
    return false;
}

/* ------------------------------------------------------------------ templates */

/* A whole-value template "{settings.x}" or "{credentials.x}": which object and which field. */
static bool template_parse(const char *t, const char **source, char field[72])
{
    size_t n = t ? strlen(t) : 0;
    if (n < 3 || t[0] != '{' || t[n - 1] != '}')
        return false;
    const char *dot = strchr(t, '.');
    if (!dot || (size_t)(dot - t) > 16)
        return false;
    if (strncmp(t, "{settings.", 10) == 0)
        *source = "settings";
    else if (strncmp(t, "{credentials.", 13) == 0)
        *source = "credentials";
    else
        return false;
    size_t flen = n - (size_t)(dot - t) - 2;
    if (flen == 0 || flen >= 72)
        return false;
    memcpy(field, dot + 1, flen);
    field[flen] = '\0';
    return true;
}

static bool is_field_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '_'))
            return false;
    return n <= 64;
}

/* ^[a-z][a-z0-9-]{1,39}$ (ids) or ^[a-z][a-z0-9_]{0,63}$ (action names): what
 * connector.schema.json says, checked again here because workflow's tc:integration resource
 * and the URL paths rely on it */
static bool is_name(const char *s, char sep, size_t min, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > max || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != sep)
            return false;
    return true;
}

static bool is_header_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

/* ------------------------------------------------------------------ loading */

static bool check_schema(const cJSON *def, const char *key, bool required, const char *id,
                         char *err, size_t errlen)
{
    const cJSON *s = get(def, key);
    if (!s)
        return required ? bad(err, errlen, id, "%s is required", key) : true;
    const cJSON *type = get(s, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "object") != 0)
        return bad(err, errlen, id, "%s must be a schema of type object", key);
    char why[200];
    if (!hub_schema_usable(s, key, why, sizeof why))
        return bad(err, errlen, id, "%s", why);
    return true;
}

/* The base URL (or token URL) of a definition: a fixed https URL, or a whole template naming
 * a uri-format property of settings (or credentials, when allowed). */
static bool check_url_template(const cJSON *def, const char *what, const char *t,
                               bool credentials_ok, bool *fixed, const char *id, char *err,
                               size_t errlen)
{
    *fixed = false;
    if (!t)
        return bad(err, errlen, id, "%s is required", what);
    if (strncmp(t, "https://", 8) == 0 && !strpbrk(t, "{} ") && t[8]) {
        *fixed = true;
        return true;
    }
    const char *source;
    char field[72];
    if (!template_parse(t, &source, field) ||
        (!credentials_ok && strcmp(source, "credentials") == 0))
        return bad(err, errlen, id, "%s must be an https URL or {settings.<field>}", what);
    const cJSON *prop = hub_schema_property(get(def, source), field);
    const char *fmt = str(prop, "format");
    if (!prop || !fmt || strcmp(fmt, "uri") != 0)
        return bad(err, errlen, id, "%s names a field that is not a uri-format property", what);
    return true;
}

static bool check_auth(hub_connector_t *c, char *err, size_t errlen)
{
    const cJSON *auth = get(c->def, "auth");
    const char *type = str(auth, "type");
    int kind = -1;
    for (int i = 0; type && i < (int)(sizeof AUTH_NAMES / sizeof AUTH_NAMES[0]); i++)
        if (strcmp(type, AUTH_NAMES[i]) == 0)
            kind = i;
    if (kind < 0)
        return bad(err, errlen, c->id, "auth.type is not one of the known kinds", NULL);
    c->auth = (hub_auth_kind_t)kind;
    const cJSON *creds = get(c->def, "credentials");
    const char *fields[2] = {NULL, NULL};
    switch (c->auth) {
    case HUB_AUTH_API_KEY:
        if (!one_of(str(auth, "in"), (const char *const[]){"header", "query", NULL}) ||
            !is_header_name(str(auth, "name")))
            return bad(err, errlen, c->id, "auth api_key needs in (header|query) and name", NULL);
        fields[0] = str(auth, "field");
        break;
    case HUB_AUTH_BEARER:
        fields[0] = str(auth, "field");
        break;
    case HUB_AUTH_BASIC:
        fields[0] = str(auth, "username_field");
        fields[1] = str(auth, "password_field");
        break;
    case HUB_AUTH_OAUTH2_CC: {
        bool fixed;
        fields[0] = "client_id";
        fields[1] = "client_secret";
        if (!check_url_template(c->def, "auth.token_url", str(auth, "token_url"), false, &fixed,
                                c->id, err, errlen))
            return false;
        break;
    }
    case HUB_AUTH_NONE:
        break;
    }
    for (int i = 0; i < 2; i++)
        if (fields[i] && (!is_field_name(fields[i]) || !hub_schema_property(creds, fields[i])))
            return bad(err, errlen, c->id, "auth names credential %s, which is not defined",
                       fields[i]);
    return true;
}

static bool check_headers(const cJSON *h, const char *id, char *err, size_t errlen)
{
    if (!h)
        return true;
    if (!cJSON_IsObject(h))
        return bad(err, errlen, id, "headers must be an object", NULL);
    const cJSON *m;
    cJSON_ArrayForEach(m, h)
    {
        if (!is_header_name(m->string) || !cJSON_IsString(m) || strpbrk(m->valuestring, "\r\n"))
            return bad(err, errlen, id, "header %s is not a valid header", m->string);
    }
    return true;
}

/* Every {x} / {+x} of a path names a required string or integer input property. */
static bool check_path(const cJSON *action, const char *path, const char *id, char *err,
                       size_t errlen)
{
    const cJSON *input = get(action, "input");
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        const char *name = p + 1 + (p[1] == '+');
        char field[72];
        size_t n = end ? (size_t)(end - name) : 0;
        if (!end || n == 0 || n >= sizeof field)
            return bad(err, errlen, id, "path %s has a malformed template", path);
        memcpy(field, name, n);
        field[n] = '\0';
        const cJSON *prop = hub_schema_property(input, field);
        const char *type = str(prop, "type");
        if (!prop || !hub_schema_required(input, field) || !type ||
            (strcmp(type, "string") != 0 && strcmp(type, "integer") != 0))
            return bad(err, errlen, id, "path template {%s} is not a required string or integer",
                       field);
    }
    return !strchr(path, '}') || strchr(path, '{')
               ? true
               : bad(err, errlen, id, "path %s has a malformed template", path);
}

static bool check_field_ref(const cJSON *action, const char *key, const char *id, char *err,
                            size_t errlen)
{
    const char *f = str(action, key);
    if (!get(action, key))
        return true;
    if (!f || !hub_schema_property(get(action, "input"), f))
        return bad(err, errlen, id, "%s names no input property", key);
    return true;
}

static bool check_action(const hub_connector_t *c, const cJSON *a, char *err, size_t errlen)
{
    static const char *const KEYS[] = {
        "title",
        "description",
        "method",
        "path",
        "input",
        "query",
        "query_object",
        "headers",
        "headers_object",
        "body",
        "idempotency_header",
        "retry",
        "output",
        NULL,
    };
    const cJSON *m;
    cJSON_ArrayForEach(m, a)
    {
        if (!one_of(m->string, KEYS))
            return bad(err, errlen, c->id, "action field %s is not known", m->string);
    }
    if (!is_name(a->string, '_', 1, 64))
        return bad(err, errlen, c->id, "action name %s is not [a-z][a-z0-9_]{0,63}", a->string);
    char where[96];
    snprintf(where, sizeof where, "actions.%s.input", a->string);
    const cJSON *input = get(a, "input");
    char why[200];
    if (!str(a, "title") || !str(a, "description") || !one_of(str(a, "method"), METHODS) ||
        !str(a, "path"))
        return bad(err, errlen, c->id, "action %s needs title, description, method and path",
                   a->string);
    if (!input || !cJSON_IsString(get(input, "type")) ||
        strcmp(get(input, "type")->valuestring, "object") != 0)
        return bad(err, errlen, c->id, "%s must be a schema of type object", where);
    if (!hub_schema_usable(input, where, why, sizeof why))
        return bad(err, errlen, c->id, "%s", why);
    if (!check_path(a, str(a, "path"), c->id, err, errlen))
        return false;
    const cJSON *q;
    cJSON_ArrayForEach(q, get(a, "query"))
    {
        if (!cJSON_IsString(q) || !hub_schema_property(input, q->valuestring))
            return bad(err, errlen, c->id, "action %s: query names no input property", a->string);
    }
    if (get(a, "query") && !cJSON_IsArray(get(a, "query")))
        return bad(err, errlen, c->id, "action %s: query must be an array", a->string);
    if (!check_field_ref(a, "query_object", c->id, err, errlen) ||
        !check_field_ref(a, "headers_object", c->id, err, errlen) ||
        !check_headers(get(a, "headers"), c->id, err, errlen))
        return false;
    const char *body = str(a, "body");
    if (get(a, "body") && (!body || (strcmp(body, "none") != 0 && strcmp(body, "rest") != 0 &&
                                     !hub_schema_property(input, body))))
        return bad(err, errlen, c->id, "action %s: body is none, rest or an input property",
                   a->string);
    const cJSON *idem = get(a, "idempotency_header");
    if (idem && !(cJSON_IsString(idem) && is_header_name(idem->valuestring)))
        return bad(err, errlen, c->id, "action %s: idempotency_header is a header name", a->string);
    const cJSON *retry = get(a, "retry");
    const cJSON *max = get(retry, "max_attempts");
    if (retry && !(cJSON_IsNumber(max) && max->valueint >= 1 && max->valueint <= 5 &&
                   max->valuedouble == max->valueint && cJSON_GetArraySize(retry) == 1))
        return bad(err, errlen, c->id, "action %s: retry is {max_attempts: 1..5}", a->string);
    const cJSON *out = get(a, "output");
    if (out && !(cJSON_IsString(out) && (!out->valuestring[0] || out->valuestring[0] == '/')))
        return bad(err, errlen, c->id, "action %s: output is a JSON Pointer", a->string);
    return true;
}

static bool check_definition(hub_connector_t *c, const char *file, char *err, size_t errlen)
{
    static const char *const KEYS[] = {
        "id",          "name", "category", "description", "docs_url", "base_url", "settings",
        "credentials", "auth", "headers",  "test",        "actions",  NULL};
    const cJSON *d = c->def;
    c->id = str(d, "id");
    if (!c->id || !is_name(c->id, '-', 2, 40))
        return bad(err, errlen, file, "id is required, [a-z][a-z0-9-]{1,39}", NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "%s.json", c->id);
    if (strcmp(expect, file) != 0)
        return bad(err, errlen, c->id, "the file is not named %s", expect);
    const cJSON *m;
    cJSON_ArrayForEach(m, d)
    {
        if (!one_of(m->string, KEYS))
            return bad(err, errlen, c->id, "field %s is not known", m->string);
    }
    if (!str(d, "name") || !str(d, "description") || !one_of(str(d, "category"), HUB_CATEGORIES))
        return bad(err, errlen, c->id, "name, description and a known category are required", NULL);
    if (!check_schema(d, "settings", false, c->id, err, errlen) ||
        !check_schema(d, "credentials", false, c->id, err, errlen) ||
        !check_url_template(d, "base_url", str(d, "base_url"), true, &c->base_fixed, c->id, err,
                            errlen) ||
        !check_auth(c, err, errlen) || !check_headers(get(d, "headers"), c->id, err, errlen))
        return false;
    const cJSON *actions = get(d, "actions");
    if (!cJSON_IsObject(actions) || !actions->child)
        return bad(err, errlen, c->id, "actions must name at least one action", NULL);
    cJSON_ArrayForEach(m, actions)
    {
        if (!check_action(c, m, err, errlen))
            return false;
    }
    const cJSON *test = get(d, "test");
    if (test && !(cJSON_IsString(test) && get(actions, test->valuestring)))
        return bad(err, errlen, c->id, "test names no action", NULL);
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Puts an object's members in name order (the catalog lists actions that way, whatever the
 * file's order). */
static int sort_members(cJSON *obj)
{
    int n = cJSON_GetArraySize(obj);
    if (n < 2)
        return TC_OK;
    cJSON **items = calloc((size_t)n, sizeof *items);
    if (!items)
        return TC_ENOMEM;
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemViaPointer(obj, obj->child);
    qsort(items, (size_t)n, sizeof *items, by_name);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(obj, items[i]); /* keeps each item's name */
    free(items);
    return TC_OK;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const hub_connector_t *)a)->id, ((const hub_connector_t *)b)->id);
}

int hub_catalog_load(hub_catalog_t *cat, const hub_connector_file_t *files, size_t n, char *err,
                     size_t errlen)
{
    memset(cat, 0, sizeof *cat);
    if (n == 0)
        return TC_OK;
    cat->items = calloc(n, sizeof *cat->items);
    if (!cat->items)
        return TC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        hub_connector_t *c = &cat->items[cat->n];
        c->def = cJSON_Parse(files[i].text);
        if (!c->def) {
            snprintf(err, errlen, "%s is not JSON", files[i].name);
            goto fail;
        }
        cat->n++;
        if (!cJSON_IsObject(c->def) || !check_definition(c, files[i].name, err, errlen))
            goto fail;
        if (i > 0 && hub_catalog_find(cat, c->id) != c) {
            bad(err, errlen, c->id, "is defined twice", NULL);
            goto fail;
        }
        if (sort_members(cJSON_GetObjectItemCaseSensitive(c->def, "actions")) != TC_OK) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    qsort(cat->items, cat->n, sizeof *cat->items, by_id);
    return TC_OK;
fail:
    hub_catalog_free(cat);
    return TC_EINVAL;
}

void hub_catalog_free(hub_catalog_t *cat)
{
    for (size_t i = 0; i < cat->n; i++)
        cJSON_Delete(cat->items[i].def);
    free(cat->items);
    memset(cat, 0, sizeof *cat);
}

const hub_connector_t *hub_catalog_find(const hub_catalog_t *cat, const char *id)
{
    for (size_t i = 0; id && i < cat->n; i++)
        if (cat->items[i].id && strcmp(cat->items[i].id, id) == 0)
            return &cat->items[i];
    return NULL;
}

/* ------------------------------------------------------------------ catalog answers */

bool hub_category_known(const char *category)
{
    return one_of(category, HUB_CATEGORIES);
}

static bool contains_ci(const char *hay, const char *needle)
{
    if (!hay)
        return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return n == 0;
}

bool hub_connector_matches(const hub_connector_t *c, const char *q, const char *category)
{
    if (category && strcmp(category, str(c->def, "category")) != 0)
        return false;
    return !q || contains_ci(c->id, q) || contains_ci(str(c->def, "name"), q) ||
           contains_ci(str(c->def, "description"), q);
}

static cJSON *action_names(const hub_connector_t *c)
{
    cJSON *names = cJSON_CreateArray();
    const cJSON *a;
    cJSON_ArrayForEach(a, get(c->def, "actions"))
    {
        if (!names || !cJSON_AddItemToArray(names, cJSON_CreateString(a->string))) {
            cJSON_Delete(names);
            return NULL;
        }
    }
    return names;
}

cJSON *hub_connector_summary(const hub_connector_t *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *names = action_names(c);
    bool ok = o && names && tc_json_add_str(o, "id", c->id) &&
              tc_json_add_str(o, "name", str(c->def, "name")) &&
              tc_json_add_str(o, "category", str(c->def, "category")) &&
              tc_json_add_str(o, "description", str(c->def, "description")) &&
              tc_json_add_str(o, "docs_url", str(c->def, "docs_url")) &&
              tc_json_add_str(o, "auth_type", AUTH_NAMES[c->auth]) &&
              cJSON_AddItemToObject(o, "actions", names);
    if (!ok) {
        if (!o || !cJSON_GetObjectItemCaseSensitive(o, "actions"))
            cJSON_Delete(names);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_copy(cJSON *o, const char *name, const cJSON *v, const cJSON *fallback)
{
    cJSON *copy = cJSON_Duplicate(v ? v : fallback, true);
    if (!copy || !cJSON_AddItemToObject(o, name, copy)) {
        cJSON_Delete(copy);
        return false;
    }
    return true;
}

static cJSON *action_detail(const cJSON *a)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_json_add_str(o, "name", a->string) &&
              tc_json_add_str(o, "title", str(a, "title")) &&
              tc_json_add_str(o, "description", str(a, "description")) &&
              tc_json_add_str(o, "method", str(a, "method")) &&
              tc_json_add_str(o, "path", str(a, "path")) &&
              add_copy(o, "input", get(a, "input"), NULL);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *hub_connector_detail(const hub_connector_t *c)
{
    cJSON *empty =
        cJSON_Parse("{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}");
    cJSON *o = cJSON_CreateObject();
    cJSON *actions = cJSON_CreateArray();
    bool ok = empty && o && actions && tc_json_add_str(o, "id", c->id) &&
              tc_json_add_str(o, "name", str(c->def, "name")) &&
              tc_json_add_str(o, "category", str(c->def, "category")) &&
              tc_json_add_str(o, "description", str(c->def, "description")) &&
              tc_json_add_str(o, "docs_url", str(c->def, "docs_url")) &&
              tc_json_add_str(o, "base_url", str(c->def, "base_url")) &&
              add_copy(o, "auth", get(c->def, "auth"), NULL) &&
              add_copy(o, "settings", get(c->def, "settings"), empty) &&
              add_copy(o, "credentials", get(c->def, "credentials"), empty) &&
              tc_json_add_str(o, "test", str(c->def, "test"));
    const cJSON *a;
    cJSON_ArrayForEach(a, get(c->def, "actions"))
    {
        cJSON *d = ok ? action_detail(a) : NULL;
        if (!d || !cJSON_AddItemToArray(actions, d)) {
            cJSON_Delete(d);
            ok = false;
        }
    }
    ok = ok && cJSON_AddItemToObject(o, "actions", actions);
    cJSON_Delete(empty);
    if (!ok) {
        if (!o || !cJSON_GetObjectItemCaseSensitive(o, "actions"))
            cJSON_Delete(actions);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const cJSON *hub_connector_action(const hub_connector_t *c, const char *name)
{
    return name ? get(get(c->def, "actions"), name) : NULL;
}

const char *hub_connector_test_action(const hub_connector_t *c)
{
    return str(c->def, "test");
}

/* ------------------------------------------------------------------ connections */

static const cJSON *obj_field(tc_jv_t *jv, const cJSON *body, const char *name)
{
    const cJSON *v = get(body, name);
    if (v && !cJSON_IsObject(v)) {
        tc_jv_error(jv, name, "must be an object");
        return NULL;
    }
    return v;
}

static void check_against(tc_jv_t *jv, const hub_connector_t *c, const char *which,
                          const cJSON *value)
{
    const cJSON *schema = get(c->def, which);
    if (strcmp(which, "credentials") == 0) {
        /* a credential may become a header's value */
        const cJSON *m;
        cJSON_ArrayForEach(m, value)
        {
            char field[128];
            snprintf(field, sizeof field, "credentials.%s", m->string);
            if (cJSON_IsString(m) && has_ctl(m->valuestring))
                tc_jv_error(jv, field, "must not hold control characters");
        }
    }
    if (schema) {
        hub_schema_check(jv, schema, value, which);
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, value)
    {
        char field[128];
        snprintf(field, sizeof field, "%s.%s", which, m->string);
        tc_jv_error(jv, field, "is not a known field (the connector takes no %s)", which);
    }
}

/* Does a connector take its base URL or its token URL from the connection's settings? */
static bool urls_from_settings(const hub_connector_t *c)
{
    const char *base = str(c->def, "base_url");
    const char *token = str(get(c->def, "auth"), "token_url");
    return (base && strncmp(base, "{settings.", 10) == 0) ||
           (token && strncmp(token, "{settings.", 10) == 0);
}

void hub_connection_validate(tc_jv_t *jv, const hub_catalog_t *cat, const cJSON *body,
                             const hub_connector_t *current, bool has_credentials,
                             hub_connection_in_t *out)
{
    static const cJSON empty = {.type = cJSON_Object};
    static const char *const CREATE[] = {"connector",   "name",     "settings",
                                         "credentials", "base_url", NULL};
    static const char *const PATCH[] = {"name", "settings", "credentials", "base_url", NULL};
    memset(out, 0, sizeof *out);
    bool create = current == NULL;
    if (!tc_jv_object(jv, body, NULL))
        return;
    tc_jv_no_unknown(jv, body, create ? CREATE : PATCH);
    out->connector = current;
    if (create) {
        const char *id = tc_jv_str(jv, body, "connector", TC_JV_REQUIRED, 1, 64);
        out->connector = id ? hub_catalog_find(cat, id) : NULL;
        if (id && !out->connector)
            tc_jv_error(jv, "connector", "is not a connector of the catalog");
    }
    out->has_name = tc_jv_has(body, "name");
    out->name = tc_jv_str(jv, body, "name", create ? TC_JV_REQUIRED : 0, 1, HUB_CONN_NAME_MAX);
    if (out->has_name && cJSON_IsNull(get(body, "name")))
        tc_jv_error(jv, "name", "must be a string: a connection always has a name");
    out->has_settings = tc_jv_has(body, "settings");
    out->settings = obj_field(jv, body, "settings");
    out->has_credentials = tc_jv_has(body, "credentials");
    out->credentials = obj_field(jv, body, "credentials");
    out->has_base_url = tc_jv_has(body, "base_url");
    const cJSON *bu = get(body, "base_url");
    if (bu && !cJSON_IsNull(bu)) {
        if (!cJSON_IsString(bu) || !hub_schema_url_valid(bu->valuestring) ||
            strlen(bu->valuestring) > 2048)
            tc_jv_error(jv, "base_url", "must be an absolute http or https URL");
        else
            out->base_url = bu->valuestring;
    }
    const hub_connector_t *c = out->connector;
    if (!c)
        return;
    if (out->base_url && !c->base_fixed)
        tc_jv_error(jv, "base_url", "the connector takes its base URL from the connection's %s",
                    strncmp(str(c->def, "base_url"), "{settings", 9) == 0 ? "settings"
                                                                          : "credentials");
    /* a create checks what it stores; a PATCH checks only the objects it replaces, since the
     * stored ones were checked when they were stored (and a member that is not an object has
     * its one error already) */
    if (out->settings || (create && !out->has_settings))
        check_against(jv, c, "settings", out->settings ? out->settings : &empty);
    if (out->credentials || (create && !out->has_credentials))
        check_against(jv, c, "credentials", out->credentials ? out->credentials : &empty);
    /* removing an override sends them back to the connector's own vendor: no move */
    bool moves = out->base_url || (out->has_settings && urls_from_settings(c));
    if (!create && moves && has_credentials && !out->has_credentials)
        tc_jv_error(jv, "credentials",
                    "must be given again: the change moves the address the stored credentials "
                    "are sent to");
}

cJSON *hub_credentials_hint(const cJSON *credentials)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *m;
    cJSON_ArrayForEach(m, credentials)
    {
        char hint[32] = "\xe2\x80\xa6"; /* … */
        const char *v = cJSON_IsString(m) ? m->valuestring : "";
        size_t n = strlen(v);
        if (tc_utf8_count(v, n) >= 12) {
            /* the last 4 characters, whole: step back over 4 lead bytes */
            const char *tail = v + n;
            for (int chars = 0; chars < 4 && tail > v;) {
                tail--;
                if (((unsigned char)*tail & 0xC0) != 0x80)
                    chars++;
            }
            snprintf(hint, sizeof hint, "\xe2\x80\xa6%s", tail);
        }
        if (!o || !cJSON_AddStringToObject(o, m->string, hint)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* ------------------------------------------------------------------ building a call */

void hub_call_free(hub_call_t *call)
{
    free(call->url);
    for (int i = 0; i < call->nheaders; i++)
        free(call->headers[i]);
    free(call->body);
    memset(call, 0, sizeof *call);
}

static int add_header(hub_call_t *call, const char *name, const char *value)
{
    if (call->nheaders >= HUB_CALL_HEADERS_MAX || has_ctl(value))
        return TC_EINVAL;
    size_t n = strlen(name) + strlen(value) + 3;
    char *h = malloc(n);
    if (!h)
        return TC_ENOMEM;
    snprintf(h, n, "%s: %s", name, value);
    call->headers[call->nheaders++] = h;
    call->headers[call->nheaders] = NULL;
    return TC_OK;
}

static bool has_header(const hub_call_t *call, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < call->nheaders; i++)
        if (strncasecmp(call->headers[i], name, n) == 0 && call->headers[i][n] == ':')
            return true;
    return false;
}

/* The value a whole template names in the connection; NULL when it is not set. */
static const char *template_value(const char *t, const hub_conn_view_t *conn)
{
    const char *source;
    char field[72];
    if (!template_parse(t, &source, field))
        return t; /* a fixed value */
    const cJSON *from = strcmp(source, "settings") == 0 ? conn->settings : conn->credentials;
    const char *v = str(from, field);
    return v && *v ? v : NULL;
}

/* Headers no input may set: the hub owns authentication, framing and the target host. */
static bool header_reserved(const char *name)
{
    static const char *const RESERVED[] = {
        "authorization",
        "proxy-authorization",
        "host",
        "cookie",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "expect",
        "keep-alive",
        "trailer",
        "content-type",
        "user-agent",
        NULL,
    };
    for (size_t i = 0; RESERVED[i]; i++)
        if (strcasecmp(name, RESERVED[i]) == 0)
            return true;
    return strncasecmp(name, "proxy-", 6) == 0;
}

/* A scalar input value as text for a path or query: strings as they are, integers without a
 * fraction, other numbers in shortest form, booleans as true/false. false for anything else. */
static bool scalar_text(const cJSON *v, char *buf, size_t buflen, const char **out)
{
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
        return true;
    }
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? "true" : "false";
        return true;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
            snprintf(buf, buflen, "%.0f", v->valuedouble);
        else
            snprintf(buf, buflen, "%.17g", v->valuedouble);
        *out = buf;
        return true;
    }
    return false;
}

/* {+x}: a path: keeps its slashes, percent-encodes everything else but unreserved characters
 * (so no query, fragment or userinfo can be slipped in), and refuses dot segments, which would
 * climb out of the base URL's path. */
static bool append_reserved(tc_buf_t *b, const char *v)
{
    for (const char *seg = v; *seg;) {
        size_t n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n + (seg[n] == '/');
    }
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        int rc = isalnum(*p) || strchr("/-._~", *p) ? tc_buf_putc(b, (char)*p)
                                                    : tc_buf_printf(b, "%%%02X", *p);
        if (rc != TC_OK)
            return false;
    }
    return true;
}

/* Expands the path's templates into b; marks the fields used. */
static void expand_path(tc_jv_t *jv, const char *path, const cJSON *input, tc_buf_t *b, cJSON *used)
{
    const char *p = path;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            tc_buf_puts(b, p);
            return;
        }
        tc_buf_append(b, p, (size_t)(open - p));
        bool reserved = open[1] == '+';
        const char *name = open + 1 + reserved;
        const char *close = strchr(name, '}');
        char field[72];
        snprintf(field, sizeof field, "%.*s", (int)(close - name), name);
        if (!cJSON_AddTrueToObject(used, field))
            b->oom = 1;
        char num[40], where[96];
        const char *text = NULL;
        snprintf(where, sizeof where, "input.%s", field);
        if (!scalar_text(get(input, field), num, sizeof num, &text) || !*text)
            tc_jv_error(jv, where, "must be a non-empty string or an integer");
        else if (reserved && !append_reserved(b, text))
            tc_jv_error(jv, where, "must not hold . or .. segments");
        else if (!reserved && (strcmp(text, ".") == 0 || strcmp(text, "..") == 0))
            tc_jv_error(jv, where, "must not be . or .. (a path segment of its own)");
        else if (!reserved)
            tc_buf_url_encode(b, text);
        p = close + 1;
    }
}

static void append_query(tc_buf_t *b, bool *first, const char *name, const char *value)
{
    tc_buf_putc(b, *first ? '?' : '&');
    *first = false;
    tc_buf_url_encode(b, name);
    tc_buf_putc(b, '=');
    tc_buf_url_encode(b, value);
}

static void expand_query(tc_jv_t *jv, const cJSON *action, const cJSON *input, tc_buf_t *b,
                         bool *first, cJSON *used)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, get(action, "query"))
    {
        const cJSON *v = get(input, q->valuestring);
        char num[40], where[96];
        const char *text;
        if (!cJSON_AddTrueToObject(used, q->valuestring))
            b->oom = 1;
        if (!v)
            continue;
        snprintf(where, sizeof where, "input.%s", q->valuestring);
        if (!scalar_text(v, num, sizeof num, &text))
            tc_jv_error(jv, where, "must be a string, a number or a boolean");
        else
            append_query(b, first, q->valuestring, text);
    }
    const char *qo = str(action, "query_object");
    if (!qo)
        return;
    if (!cJSON_AddTrueToObject(used, qo))
        b->oom = 1;
    const cJSON *m;
    cJSON_ArrayForEach(m, get(input, qo))
    {
        char num[40], where[160];
        const char *text;
        snprintf(where, sizeof where, "input.%s.%s", qo, m->string);
        if (!scalar_text(m, num, sizeof num, &text))
            tc_jv_error(jv, where, "must be a string, a number or a boolean");
        else
            append_query(b, first, m->string, text);
    }
}

static int fixed_headers(hub_call_t *call, const cJSON *headers)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, headers)
    {
        int rc = add_header(call, h->string, h->valuestring);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* Input headers leave room for the ones the hub adds (authentication, idempotency, content
 * type, accept and the connector's own). */
#define HUB_INPUT_HEADERS_MAX (HUB_CALL_HEADERS_MAX - 16)

static int input_headers(tc_jv_t *jv, const hub_connector_t *c, hub_call_t *call,
                         const cJSON *action, const cJSON *input, cJSON *used)
{
    const char *ho = str(action, "headers_object");
    if (!ho)
        return TC_OK;
    if (!cJSON_AddTrueToObject(used, ho))
        return TC_ENOMEM;
    const cJSON *auth = get(c->def, "auth");
    const char *key_header = c->auth == HUB_AUTH_API_KEY && strcmp(str(auth, "in"), "header") == 0
                                 ? str(auth, "name")
                                 : NULL;
    int n = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, get(input, ho))
    {
        char where[160];
        snprintf(where, sizeof where, "input.%s.%s", ho, h->string);
        if (++n > HUB_INPUT_HEADERS_MAX)
            tc_jv_error(jv, where, "is one header too many (at most %d)", HUB_INPUT_HEADERS_MAX);
        else if (!is_header_name(h->string) || header_reserved(h->string) ||
                 (key_header && strcasecmp(h->string, key_header) == 0))
            tc_jv_error(jv, where, "is not a header an action may set");
        else if (!cJSON_IsString(h) || has_ctl(h->valuestring) || strlen(h->valuestring) > 8192)
            tc_jv_error(jv, where, "must be a string of one line");
        else if (add_header(call, h->string, h->valuestring) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

static int auth_headers(const hub_connector_t *c, const hub_conn_view_t *conn, hub_call_t *call,
                        tc_buf_t *url, bool *first)
{
    const cJSON *auth = get(c->def, "auth");
    const cJSON *cred = conn->credentials;
    tc_buf_t v;
    tc_buf_init(&v);
    int rc = TC_OK;
    switch (c->auth) {
    case HUB_AUTH_API_KEY: {
        const char *key = str(cred, str(auth, "field"));
        if (!key)
            break;
        if (strcmp(str(auth, "in"), "query") == 0)
            append_query(url, first, str(auth, "name"), key);
        else
            rc = add_header(call, str(auth, "name"), key);
        break;
    }
    case HUB_AUTH_BEARER:
    case HUB_AUTH_OAUTH2_CC: {
        const char *token =
            c->auth == HUB_AUTH_BEARER ? str(cred, str(auth, "field")) : conn->access_token;
        if (token && (rc = tc_buf_printf(&v, "Bearer %s", token)) == TC_OK)
            rc = add_header(call, "Authorization", tc_buf_cstr(&v));
        break;
    }
    case HUB_AUTH_BASIC: {
        const char *user = str(cred, str(auth, "username_field"));
        const char *pass = str(cred, str(auth, "password_field"));
        if (!user || !pass)
            break;
        tc_buf_t raw;
        tc_buf_init(&raw);
        rc = tc_buf_printf(&raw, "%s:%s", user, pass);
        if (rc == TC_OK && (rc = tc_buf_puts(&v, "Basic ")) == TC_OK &&
            (rc = tc_buf_b64(&v, raw.data, raw.len)) == TC_OK)
            rc = add_header(call, "Authorization", tc_buf_cstr(&v));
        if (raw.data)
            memset(raw.data, 0, raw.len);
        tc_buf_free(&raw);
        break;
    }
    case HUB_AUTH_NONE:
        break;
    }
    if (v.data)
        memset(v.data, 0, v.len);
    tc_buf_free(&v);
    return rc;
}

/* The body: none, the input without what went elsewhere (rest), or one input field. */
static int make_body(const cJSON *action, const cJSON *input, const cJSON *used, hub_call_t *call)
{
    const char *method = str(action, "method");
    const char *mode = str(action, "body");
    if (!mode)
        mode = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0 ? "none" : "rest";
    if (strcmp(mode, "none") == 0)
        return TC_OK;
    cJSON *body = NULL;
    if (strcmp(mode, "rest") == 0) {
        body = cJSON_Duplicate(input, true);
        const cJSON *u;
        cJSON_ArrayForEach(u, used)
        {
            if (body)
                cJSON_DeleteItemFromObjectCaseSensitive(body, u->string);
        }
    } else {
        const cJSON *v = get(input, mode);
        if (!v)
            return TC_OK;
        body = cJSON_Duplicate(v, true);
    }
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return TC_ENOMEM;
    call->body = text;
    call->body_len = strlen(text);
    return add_header(call, "Content-Type", "application/json");
}

/* Joins base and path: one slash between them; a path that is only a query ("?wait=true")
 * adds to a query the base already has (a webhook URL's "?thread_id=…"). */
static int join_base(tc_buf_t *url, const char *base, const char *path)
{
    size_t blen = strlen(base);
    if (path[0] == '/' && blen > 0 && base[blen - 1] == '/')
        blen--;
    if (tc_buf_append(url, base, blen) != TC_OK)
        return TC_ENOMEM;
    if (path[0] == '?' && strchr(base, '?'))
        return tc_buf_printf(url, "&%s", path + 1);
    return tc_buf_puts(url, path);
}

/* The path must go on from the base URL's own path, never into its host: after a base
 * without a final slash, a path starts with / or ? ("evil.example" or "@evil.example" would
 * otherwise change the host the credentials go to). */
static bool stays_under(const char *base, const char *path)
{
    size_t blen = strlen(base);
    return !*path || path[0] == '/' || path[0] == '?' || (blen > 0 && base[blen - 1] == '/');
}

/* The error of a path that would leave its base: on the input field its first template names. */
static void path_error(tc_jv_t *jv, const char *path)
{
    const char *open = strchr(path, '{');
    char where[96] = "input";
    if (open) {
        const char *name = open + 1 + (open[1] == '+');
        snprintf(where, sizeof where, "input.%.*s", (int)strcspn(name, "}"), name);
    }
    tc_jv_error(jv, where, "must start with / or ?: a path goes on from the base URL");
}

static int default_attempts(const cJSON *action, const char *idempotency_key)
{
    const cJSON *max = get(get(action, "retry"), "max_attempts");
    if (cJSON_IsNumber(max))
        return max->valueint;
    const char *m = str(action, "method");
    bool idempotent = strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
    return idempotent || (get(action, "idempotency_header") && idempotency_key) ? 3 : 1;
}

int hub_call_build(const hub_connector_t *c, const cJSON *action, const hub_conn_view_t *conn,
                   const cJSON *input, tc_jv_t *jv, hub_call_t *out)
{
    memset(out, 0, sizeof *out);
    const char *base = c->base_fixed && conn->base_url
                           ? conn->base_url
                           : template_value(str(c->def, "base_url"), conn);
    if (!base)
        return TC_EINVAL;
    hub_schema_check(jv, get(action, "input"), input, "input");
    if (tc_jv_failed(jv))
        return TC_EINVAL;
    tc_buf_t path, url;
    tc_buf_init(&path);
    tc_buf_init(&url);
    cJSON *used = cJSON_CreateObject();
    int rc = used ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        expand_path(jv, str(action, "path"), input, &path, used);
    bool first = true;
    if (rc == TC_OK && (rc = join_base(&url, base, tc_buf_cstr(&path))) == TC_OK) {
        first = !strchr(tc_buf_cstr(&url), '?');
        expand_query(jv, action, input, &url, &first, used);
    }
    if (rc == TC_OK && (path.oom || url.oom))
        rc = TC_ENOMEM; /* a request with a cut path must never go */
    if (rc == TC_OK && !stays_under(base, tc_buf_cstr(&path)))
        path_error(jv, str(action, "path"));
    if (rc == TC_OK)
        rc = fixed_headers(out, get(c->def, "headers"));
    if (rc == TC_OK)
        rc = fixed_headers(out, get(action, "headers"));
    if (rc == TC_OK)
        rc = input_headers(jv, c, out, action, input, used);
    if (rc == TC_OK && tc_jv_failed(jv))
        rc = TC_EINVAL;
    if (rc == TC_OK)
        rc = auth_headers(c, conn, out, &url, &first);
    const char *idem = str(action, "idempotency_header");
    if (rc == TC_OK && idem && conn->idempotency_key && !has_header(out, idem))
        rc = add_header(out, idem, conn->idempotency_key);
    if (rc == TC_OK)
        rc = make_body(action, input, used, out);
    if (rc == TC_OK && !has_header(out, "Accept"))
        rc = add_header(out, "Accept", "application/json");
    if (rc == TC_OK && !(out->url = tc_buf_detach(&url)))
        rc = TC_ENOMEM;
    out->method = str(action, "method");
    out->max_attempts = default_attempts(action, conn->idempotency_key);
    out->output = str(action, "output");
    cJSON_Delete(used);
    tc_buf_free(&path);
    tc_buf_free(&url);
    if (rc != TC_OK)
        hub_call_free(out);
    return rc;
}

/* ------------------------------------------------------------------ OAuth 2.0 */

int hub_oauth_token_call(const hub_connector_t *c, const hub_conn_view_t *conn, hub_call_t *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *auth = get(c->def, "auth");
    const char *url = template_value(str(auth, "token_url"), conn);
    const char *scope = str(auth, "scope") ? template_value(str(auth, "scope"), conn) : NULL;
    const char *id = str(conn->credentials, "client_id");
    const char *secret = str(conn->credentials, "client_secret");
    if (c->auth != HUB_AUTH_OAUTH2_CC || !url || !id || !secret)
        return TC_EINVAL;
    tc_buf_t form, client, header;
    tc_buf_init(&form);
    tc_buf_init(&client);
    tc_buf_init(&header);
    int rc = tc_buf_puts(&form, "grant_type=client_credentials");
    if (rc == TC_OK && scope && *scope && (rc = tc_buf_puts(&form, "&scope=")) == TC_OK)
        rc = tc_buf_url_encode(&form, scope);
    /* RFC 6749 §2.3.1: each part form-encoded, then joined and base64-encoded */
    if (rc == TC_OK && (rc = tc_buf_url_encode(&client, id)) == TC_OK &&
        (rc = tc_buf_putc(&client, ':')) == TC_OK)
        rc = tc_buf_url_encode(&client, secret);
    if (rc == TC_OK && (rc = tc_buf_puts(&header, "Basic ")) == TC_OK &&
        (rc = tc_buf_b64(&header, client.data, client.len)) == TC_OK)
        rc = add_header(out, "Authorization", tc_buf_cstr(&header));
    if (rc == TC_OK)
        rc = add_header(out, "Content-Type", "application/x-www-form-urlencoded");
    if (rc == TC_OK)
        rc = add_header(out, "Accept", "application/json");
    if (rc == TC_OK && !(out->url = strdup(url)))
        rc = TC_ENOMEM;
    if (rc == TC_OK) {
        out->body_len = form.len;
        if (!(out->body = tc_buf_detach(&form)))
            rc = TC_ENOMEM;
    }
    out->method = "POST";
    out->max_attempts = 2;
    if (client.data)
        memset(client.data, 0, client.len);
    if (header.data)
        memset(header.data, 0, header.len);
    tc_buf_free(&form);
    tc_buf_free(&client);
    tc_buf_free(&header);
    if (rc != TC_OK)
        hub_call_free(out);
    return rc;
}

int hub_oauth_token_parse(const char *body, size_t n, char **token, int64_t *expires_in,
                          const char **why)
{
    *token = NULL;
    *expires_in = 3600;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(body, n, &end, false);
    if (doc && !hub_json_whole(end, body + n)) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    const char *t = str(doc, "access_token");
    const char *type = str(doc, "token_type");
    const cJSON *exp = get(doc, "expires_in");
    int rc = TC_EINVAL;
    if (!doc || !cJSON_IsObject(doc))
        *why = "the token endpoint's answer is not a JSON object";
    else if (!t || !*t || strchr(t, ' ') || has_ctl(t))
        *why = "the token endpoint's answer has no access_token (or one that is no token)";
    else if (type && strcasecmp(type, "bearer") != 0)
        *why = "the token endpoint issued a token that is not a bearer token";
    else if (exp && !(cJSON_IsNumber(exp) && exp->valuedouble > 0 && exp->valuedouble < 1e9))
        *why = "the token endpoint's expires_in is not a positive number";
    else if (!(*token = strdup(t)))
        rc = TC_ENOMEM;
    else
        rc = TC_OK;
    if (rc == TC_OK && exp)
        *expires_in = (int64_t)exp->valuedouble;
    cJSON_Delete(doc);
    return rc;
}

int64_t hub_oauth_refresh_at(int64_t now_ms, int64_t expires_in)
{
    int64_t margin = expires_in >= 120 ? 60 : expires_in / 2;
    return now_ms + (expires_in - margin) * 1000;
}

/* ------------------------------------------------------------------ answers and retries */

bool hub_status_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

int64_t hub_retry_after_ms(const char *value, int64_t now_ms)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ')
            end++;
        if (*end || s < 0)
            return -1;
        return (s > 86400 * 365 ? 86400 * 365 : (int64_t)s) * 1000; /* longer: "not now" */
    }
    struct tm tm = {0};
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    int64_t at = (int64_t)timegm(&tm) * 1000;
    return at > now_ms ? at - now_ms : 0;
}

int hub_backoff_ms(int next)
{
    int ms = 200;
    for (int i = 2; i < next && ms < 2000; i++)
        ms *= 2;
    return ms < 2000 ? ms : 2000;
}

bool hub_json_whole(const char *end, const char *limit)
{
    if (!end)
        return false;
    for (; end < limit && *end; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
            return false;
    return true;
}

const cJSON *hub_json_pointer(const cJSON *doc, const char *ptr)
{
    if (!ptr || !*ptr)
        return doc;
    if (*ptr != '/')
        return NULL;
    const cJSON *cur = doc;
    const char *p = ptr;
    while (cur && *p == '/') {
        p++;
        char token[256];
        size_t n = 0;
        for (; *p && *p != '/'; p++) {
            char ch = *p;
            if (ch == '~') {
                if (p[1] != '0' && p[1] != '1')
                    return NULL;
                ch = p[1] == '0' ? '~' : '/';
                p++;
            }
            if (n + 1 >= sizeof token)
                return NULL;
            token[n++] = ch;
        }
        token[n] = '\0';
        if (cJSON_IsArray(cur)) {
            /* RFC 6901: digits only, no leading zero */
            if (!n || n > 9 || (n > 1 && token[0] == '0') || strspn(token, "0123456789") != n)
                return NULL;
            cur = cJSON_GetArrayItem(cur, atoi(token));
        } else if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, token);
        } else {
            return NULL;
        }
    }
    return cur;
}
