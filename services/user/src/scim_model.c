/* SCIM 2.0 resources and protocol rules (scim_model.h). */
#include "scim_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const scim_group_roles[] = {"admin", "editor", "viewer", NULL};

void scim_user_clear(scim_user_t *s)
{
    free(s->user_name);
    free(s->name);
    free(s->given_name);
    free(s->family_name);
    free(s->external_id);
    memset(s, 0, sizeof *s);
}

/* *dst = copy of src (NULL stays NULL); false on OOM. */
static bool set_str(char **dst, const char *src)
{
    char *copy = src ? strdup(src) : NULL;
    if (src && !copy)
        return false;
    free(*dst);
    *dst = copy;
    return true;
}

int scim_user_from(const user_t *u, const char *external_id, scim_user_t *out)
{
    memset(out, 0, sizeof *out);
    out->active = strcmp(u->status, "active") == 0 || strcmp(u->status, "invited") == 0;
    size_t first = strcspn(u->name, " ");
    const char *rest = u->name + first + (u->name[first] == ' ');
    out->given_name = strndup(u->name, first);
    if (!out->given_name || !set_str(&out->user_name, u->email) || !set_str(&out->name, u->name) ||
        !set_str(&out->external_id, external_id) ||
        !set_str(&out->family_name, *rest ? rest : NULL)) {
        scim_user_clear(out);
        return TC_ENOMEM;
    }
    return TC_OK;
}

static cJSON *meta_json(const char *type, const char *created, const char *modified,
                        const char *location, int64_t version)
{
    char v[40];
    snprintf(v, sizeof v, "W/\"%lld\"", (long long)version);
    cJSON *m = cJSON_CreateObject();
    if (m && (!cJSON_AddStringToObject(m, "resourceType", type) ||
              !cJSON_AddStringToObject(m, "created", created) ||
              !cJSON_AddStringToObject(m, "lastModified", modified) ||
              !cJSON_AddStringToObject(m, "location", location) ||
              (version > 0 && !cJSON_AddStringToObject(m, "version", v)))) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static bool add_schemas(cJSON *j, const char *schema)
{
    cJSON *arr = cJSON_AddArrayToObject(j, "schemas");
    cJSON *s = arr ? cJSON_CreateString(schema) : NULL;
    if (!s || !cJSON_AddItemToArray(arr, s)) {
        cJSON_Delete(s);
        return false;
    }
    return true;
}

static cJSON *name_json(const scim_user_t *s)
{
    cJSON *n = cJSON_CreateObject();
    if (n && (!cJSON_AddStringToObject(n, "formatted", s->name) ||
              !tc_json_add_str(n, "givenName", s->given_name) ||
              !tc_json_add_str(n, "familyName", s->family_name))) {
        cJSON_Delete(n);
        return NULL;
    }
    if (n && !s->given_name)
        cJSON_DeleteItemFromObjectCaseSensitive(n, "givenName");
    if (n && !s->family_name)
        cJSON_DeleteItemFromObjectCaseSensitive(n, "familyName");
    return n;
}

static cJSON *emails_json(const char *email)
{
    cJSON *arr = cJSON_CreateArray(), *e = cJSON_CreateObject();
    if (!arr || !e || !cJSON_AddStringToObject(e, "value", email) ||
        !cJSON_AddStringToObject(e, "type", "work") || !cJSON_AddBoolToObject(e, "primary", 1) ||
        !cJSON_AddItemToArray(arr, e)) {
        cJSON_Delete(arr);
        cJSON_Delete(e);
        return NULL;
    }
    return arr;
}

cJSON *scim_user_json(const user_t *u, const scim_user_t *s, const char *base)
{
    char location[512];
    snprintf(location, sizeof location, "%s/Users/%s", base, u->id);
    cJSON *j = cJSON_CreateObject();
    cJSON *name = name_json(s), *emails = emails_json(u->email);
    cJSON *meta = meta_json("User", u->created_at, u->updated_at, location, u->version);
    bool ok = j && name && emails && meta && add_schemas(j, SCIM_USER_SCHEMA) &&
              cJSON_AddStringToObject(j, "id", u->id) &&
              (!s->external_id || cJSON_AddStringToObject(j, "externalId", s->external_id)) &&
              cJSON_AddStringToObject(j, "userName", u->email) &&
              cJSON_AddItemToObject(j, "name", name) &&
              cJSON_AddStringToObject(j, "displayName", u->name) &&
              cJSON_AddItemToObject(j, "emails", emails) &&
              cJSON_AddBoolToObject(j, "active", s->active) &&
              cJSON_AddItemToObject(j, "meta", meta);
    if (ok)
        return j;
    /* whatever was not attached yet is ours to free */
    if (!cJSON_GetObjectItemCaseSensitive(j, "name"))
        cJSON_Delete(name);
    if (!cJSON_GetObjectItemCaseSensitive(j, "emails"))
        cJSON_Delete(emails);
    if (!cJSON_GetObjectItemCaseSensitive(j, "meta"))
        cJSON_Delete(meta);
    cJSON_Delete(j);
    return NULL;
}

/* ---- parsing a User ---- */

/* The name a member gets: formatted, else "given family", else displayName, else the email's
 * local part. Owned; NULL on OOM. */
static char *derive_name(const scim_user_t *s, const char *display)
{
    if (s->name && s->name[0])
        return strdup(s->name);
    if (s->given_name || s->family_name) {
        const char *g = s->given_name ? s->given_name : "",
                   *f = s->family_name ? s->family_name : "";
        size_t n = strlen(g) + strlen(f) + 2;
        char *buf = malloc(n);
        if (buf)
            snprintf(buf, n, "%s%s%s", g, *g && *f ? " " : "", f);
        return buf;
    }
    if (display && display[0])
        return strdup(display);
    size_t at = strcspn(s->user_name, "@");
    return strndup(s->user_name, at);
}

static const char *check_user(scim_user_t *s, const char *display)
{
    if (!s->user_name || !tc_email_valid(s->user_name))
        return "userName must be the member's email address";
    ssize_t ext = s->external_id ? tc_utf8_count(s->external_id, strlen(s->external_id)) : 1;
    if (ext < 1 || ext > SCIM_EXTERNAL_MAX)
        return "externalId must be 1 to 255 characters of UTF-8";
    char *name = derive_name(s, display);
    if (!name)
        return "out of memory";
    free(s->name);
    s->name = name;
    ssize_t n = tc_utf8_validate(name, strlen(name));
    if (n < 1 || n > USER_NAME_MAX)
        return "the name must be 1 to 200 characters of UTF-8, without control characters";
    return NULL;
}

/* "true"/"false" in any case, or a JSON boolean. */
static bool bool_value(const cJSON *v, bool *out)
{
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsString(v) &&
        (strcasecmp(v->valuestring, "true") == 0 || strcasecmp(v->valuestring, "false") == 0)) {
        *out = strcasecmp(v->valuestring, "true") == 0;
        return true;
    }
    return false;
}

/* The primary (or first) email's value of an `emails` array. */
static const char *email_of(const cJSON *emails)
{
    const cJSON *e, *first = NULL;
    cJSON_ArrayForEach(e, emails)
    {
        if (!first)
            first = e;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "primary")))
            return tc_json_get_str(e, "value");
    }
    return first ? tc_json_get_str(first, "value") : NULL;
}

const char *scim_user_parse(const cJSON *body, scim_user_t *out, const char **scim_type)
{
    memset(out, 0, sizeof *out);
    *scim_type = "invalidValue";
    if (!cJSON_IsObject(body))
        return "the body must be a User object";
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(body, "active");
    const char *user_name = tc_json_get_str(body, "userName");
    const cJSON *emails = cJSON_GetObjectItemCaseSensitive(body, "emails");
    out->active = true;
    if (active && !bool_value(active, &out->active))
        return "active must be a boolean";
    if (!user_name && cJSON_IsArray(emails))
        user_name = email_of(emails);
    if (!set_str(&out->user_name, user_name) ||
        !set_str(&out->external_id, tc_json_get_str(body, "externalId")) ||
        !set_str(&out->name, tc_json_get_str(name, "formatted")) ||
        !set_str(&out->given_name, tc_json_get_str(name, "givenName")) ||
        !set_str(&out->family_name, tc_json_get_str(name, "familyName")))
        return "out of memory";
    return check_user(out, tc_json_get_str(body, "displayName"));
}

/* ---- PATCH ---- */

typedef enum { OP_ADD, OP_REPLACE, OP_REMOVE, OP_BAD } op_t;

static op_t op_of(const char *op)
{
    if (!op)
        return OP_BAD;
    if (strcasecmp(op, "add") == 0)
        return OP_ADD;
    if (strcasecmp(op, "replace") == 0)
        return OP_REPLACE;
    if (strcasecmp(op, "remove") == 0)
        return OP_REMOVE;
    return OP_BAD;
}

/* What one PATCH request changed besides *s: a displayName, and whether a name part was set
 * (which then wins over the displayName). */
typedef struct {
    char *display;
    bool name_set;
} patch_ctx_t;

static const char *set_name_part(scim_user_t *s, const char *path, const cJSON *v, patch_ctx_t *ctx)
{
    const char *str = cJSON_IsString(v) ? v->valuestring : NULL;
    if (v && !str)
        return "a name is a string";
    ctx->name_set = true;
    if (strcasecmp(path, "name.formatted") == 0)
        return set_str(&s->name, str) ? NULL : "out of memory";
    char **part = strcasecmp(path, "name.givenName") == 0 ? &s->given_name : &s->family_name;
    if (!set_str(part, str))
        return "out of memory";
    free(s->name); /* derived again from the parts */
    s->name = NULL;
    return NULL;
}

/*
 * One attribute set (add/replace) or removed (v NULL). An attribute the platform does not keep
 * (title, phoneNumbers, addresses, an extension's) is ignored, as when creating: providers map
 * more than any one service keeps, and refusing the whole PATCH would refuse the deactivation
 * that came with it.
 */
static const char *set_attr(scim_user_t *s, const char *path, const cJSON *v, patch_ctx_t *ctx,
                            const char **scim_type)
{
    const char *str = cJSON_IsString(v) ? v->valuestring : NULL;
    *scim_type = "invalidValue";
    if (strcasecmp(path, "active") == 0) {
        if (!v)
            return (*scim_type = "mutability", "active cannot be removed");
        return bool_value(v, &s->active) ? NULL : "active must be a boolean";
    }
    if (strcasecmp(path, "externalId") == 0)
        return (!v || str) ? (set_str(&s->external_id, str) ? NULL : "out of memory")
                           : "externalId must be a string";
    if (strcasecmp(path, "name.formatted") == 0 || strcasecmp(path, "name.givenName") == 0 ||
        strcasecmp(path, "name.familyName") == 0)
        return v || strcasecmp(path, "name.formatted") != 0
                   ? set_name_part(s, path, v, ctx)
                   : (*scim_type = "mutability", "the name cannot be removed");
    if (strcasecmp(path, "name") == 0) {
        if (!cJSON_IsObject(v))
            return (*scim_type = "mutability", "name is an object and cannot be removed");
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char sub[64];
            snprintf(sub, sizeof sub, "name.%s", it->string);
            const char *why = set_attr(s, sub, it, ctx, scim_type);
            if (why)
                return why;
        }
        return NULL;
    }
    if (strcasecmp(path, "displayName") == 0)
        return !v    ? NULL
               : str ? (set_str(&ctx->display, str) ? NULL : "out of memory")
                     : "displayName is a string";
    if (strcasecmp(path, "userName") == 0 ||
        strcasecmp(path, "emails[type eq \"work\"].value") == 0)
        return !v    ? (*scim_type = "mutability", "userName cannot be removed")
               : str ? (set_str(&s->user_name, str) ? NULL : "out of memory")
                     : "userName is a string";
    if (strcasecmp(path, "emails") == 0 && v)
        return cJSON_IsArray(v) && email_of(v)
                   ? (set_str(&s->user_name, email_of(v)) ? NULL : "out of memory")
                   : "emails must be an array of {value}";
    return NULL; /* not kept by the platform: ignored */
}

static const char *apply_op(scim_user_t *s, const cJSON *op, patch_ctx_t *ctx,
                            const char **scim_type)
{
    const char *path = tc_json_get_str(op, "path");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    op_t kind = op_of(tc_json_get_str(op, "op"));
    *scim_type = "invalidSyntax";
    if (kind == OP_BAD)
        return "op must be add, replace or remove";
    if (kind == OP_REMOVE) {
        if (!path)
            return (*scim_type = "noTarget", "remove needs a path");
        return set_attr(s, path, NULL, ctx, scim_type);
    }
    if (!value)
        return "add and replace need a value";
    if (path)
        return set_attr(s, path, value, ctx, scim_type);
    if (!cJSON_IsObject(value))
        return (*scim_type = "invalidValue", "a value without a path must be an object");
    const cJSON *it;
    cJSON_ArrayForEach(it, value)
    {
        const char *why = set_attr(s, it->string, it, ctx, scim_type);
        if (why)
            return why;
    }
    return NULL;
}

const char *scim_user_patch(const cJSON *body, scim_user_t *s, const char **scim_type)
{
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(body, "Operations"), *op;
    patch_ctx_t ctx = {0};
    const char *why = NULL;
    *scim_type = "invalidSyntax";
    if (!cJSON_IsArray(ops) || cJSON_GetArraySize(ops) == 0 || cJSON_GetArraySize(ops) > 100)
        return "Operations must be an array of 1 to 100 operations";
    cJSON_ArrayForEach(op, ops)
    {
        if (!cJSON_IsObject(op))
            return "each operation is an object";
        if ((why = apply_op(s, op, &ctx, scim_type)))
            break;
    }
    /* a new displayName names the member unless the name itself was set too */
    if (!why && ctx.display && !ctx.name_set && !set_str(&s->name, ctx.display))
        why = "out of memory";
    if (!why) {
        *scim_type = "invalidValue";
        why = check_user(s, NULL);
    }
    free(ctx.display);
    return why;
}

const char *scim_status(bool active, const char *current)
{
    bool invited = strcmp(current, "invited") == 0;
    if (active) /* only accepting the invitation (or signing in through SSO) activates */
        return invited ? "invited" : "active";
    return invited || strcmp(current, "active") == 0 ? "suspended" : current;
}

/* ---- filters and pages ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

const char *scim_filter_parse(const char *text, scim_filter_t *out)
{
    static const struct {
        const char *name;
        scim_filter_attr_t attr;
    } attrs[] = {{"userName", SCIM_FILTER_USERNAME},
                 {"emails.value", SCIM_FILTER_USERNAME},
                 {"emails[type eq \"work\"].value", SCIM_FILTER_USERNAME},
                 {"externalId", SCIM_FILTER_EXTERNAL_ID},
                 {"id", SCIM_FILTER_ID},
                 {"displayName", SCIM_FILTER_DISPLAY_NAME}};
    memset(out, 0, sizeof *out);
    if (!text || !*skip_ws(text))
        return NULL;
    const char *p = skip_ws(text);
    size_t i = 0;
    for (; i < TC_ARRAY_LEN(attrs); i++) {
        size_t n = strlen(attrs[i].name);
        if (strncasecmp(p, attrs[i].name, n) == 0 && p[n] == ' ') {
            p += n;
            break;
        }
    }
    if (i == TC_ARRAY_LEN(attrs))
        return "filters name userName, externalId, id, emails.value or displayName";
    p = skip_ws(p);
    if (strncasecmp(p, "eq ", 3) != 0)
        return "the only filter operator answered is eq";
    p = skip_ws(p + 3);
    if (*p != '"')
        return "the value must be a quoted string";
    size_t o = 0;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (o + 1 >= sizeof out->value)
            return "the value is too long";
        out->value[o++] = *p;
    }
    out->value[o] = '\0';
    if (*p != '"' || *skip_ws(p + 1))
        return "one comparison only (no and, or, not or grouping)";
    out->attr = attrs[i].attr;
    return NULL;
}

static bool page_number(const char *text, long min, long *out)
{
    char *end = NULL;
    if (!text)
        return true;
    long v = strtol(text, &end, 10);
    if (end == text || *end)
        return false;
    *out = v < min ? min : v;
    return true;
}

bool scim_page_parse(const char *start_index, const char *count, int *start, int *n)
{
    long s = 1, c = SCIM_MAX_COUNT;
    if (!page_number(start_index, 1, &s) || !page_number(count, 0, &c))
        return false;
    *start = s > 1000000 ? 1000000 : (int)s;
    *n = c > SCIM_MAX_COUNT ? SCIM_MAX_COUNT : (int)c;
    return true;
}

cJSON *scim_list_json(cJSON *resources, long total, int start)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !add_schemas(j, SCIM_LIST_SCHEMA) ||
        !cJSON_AddNumberToObject(j, "totalResults", (double)total) ||
        !cJSON_AddNumberToObject(j, "startIndex", start) ||
        !cJSON_AddNumberToObject(j, "itemsPerPage", cJSON_GetArraySize(resources)) ||
        !cJSON_AddItemToObject(j, "Resources", resources)) {
        if (!cJSON_GetObjectItemCaseSensitive(j, "Resources"))
            cJSON_Delete(resources);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

cJSON *scim_error_json(int status, const char *scim_type, const char *detail)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    cJSON *j = cJSON_CreateObject();
    if (!j || !add_schemas(j, SCIM_ERROR_SCHEMA) || !cJSON_AddStringToObject(j, "status", st) ||
        (scim_type && !cJSON_AddStringToObject(j, "scimType", scim_type)) ||
        !cJSON_AddStringToObject(j, "detail", detail)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ---- groups ---- */

const char *scim_group_role(const char *group_id)
{
    for (int i = 0; group_id && scim_group_roles[i]; i++)
        if (strncmp(group_id, "role_", 5) == 0 && strcmp(group_id + 5, scim_group_roles[i]) == 0)
            return scim_group_roles[i];
    return NULL;
}

int scim_group_add_members(cJSON *group, const user_t *members, int n, const char *base)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(group, "members");
    if (!cJSON_IsArray(arr))
        return TC_EINVAL;
    for (int i = 0; i < n; i++) {
        char ref[512];
        snprintf(ref, sizeof ref, "%s/Users/%s", base, members[i].id);
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddStringToObject(m, "value", members[i].id) ||
            !cJSON_AddStringToObject(m, "display", members[i].email) ||
            !cJSON_AddStringToObject(m, "$ref", ref) || !cJSON_AddItemToArray(arr, m)) {
            cJSON_Delete(m);
            return TC_ENOMEM;
        }
    }
    return TC_OK;
}

cJSON *scim_group_json(const char *role, const user_t *members, int n, const char *base,
                       bool with_members)
{
    char id[32], location[512];
    snprintf(id, sizeof id, "role_%s", role);
    snprintf(location, sizeof location, "%s/Groups/%s", base, id);
    cJSON *j = cJSON_CreateObject();
    cJSON *meta =
        meta_json("Group", "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", location, 0);
    bool ok = j && meta && add_schemas(j, SCIM_GROUP_SCHEMA) &&
              cJSON_AddStringToObject(j, "id", id) &&
              cJSON_AddStringToObject(j, "displayName", role) &&
              (!with_members || cJSON_AddArrayToObject(j, "members")) &&
              cJSON_AddItemToObject(j, "meta", meta);
    if (!ok && !cJSON_GetObjectItemCaseSensitive(j, "meta"))
        cJSON_Delete(meta);
    if (ok && with_members)
        ok = scim_group_add_members(j, members, n, base) == TC_OK;
    if (ok)
        return j;
    cJSON_Delete(j);
    return NULL;
}

bool scim_wants_members(const char *attributes, const char *excluded)
{
    return (!attributes || scim_names_attribute(attributes, "members")) &&
           !(excluded && scim_names_attribute(excluded, "members"));
}

bool scim_names_attribute(const char *list, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end && p[end - 1] == ' ')
            end--;
        /* "members", or the fully qualified urn:…:Group:members */
        if (end >= nl && strncasecmp(p + end - nl, name, nl) == 0 &&
            (end == nl || p[end - nl - 1] == ':'))
            return true;
        p += len;
    }
    return false;
}

static bool copy_id(char (*list)[USER_ID_LEN], int *n, const char *id)
{
    if (!id || *n >= SCIM_GROUP_MAX_MEMBERS || strlen(id) >= USER_ID_LEN)
        return false;
    memcpy(list[(*n)++], id, strlen(id) + 1);
    return true;
}

/* The ids of a members value: [{value}, …] (or one {value}). */
static const char *member_ids(const cJSON *v, char (*list)[USER_ID_LEN], int *n)
{
    const cJSON *m;
    if (cJSON_IsObject(v)) /* some providers send one member unwrapped */
        return copy_id(list, n, tc_json_get_str(v, "value"))
                   ? NULL
                   : "members are [{\"value\": \"<user id>\"}]";
    if (!cJSON_IsArray(v))
        return "members are [{\"value\": \"<user id>\"}]";
    cJSON_ArrayForEach(m, v)
    {
        if (!copy_id(list, n, tc_json_get_str(m, "value")))
            return "each member needs a value (a user id), at most 1000 in one request";
    }
    return NULL;
}

/* `members[value eq "usr_…"]`: the id one remove names. */
static bool member_path_id(const char *path, scim_member_ops_t *out)
{
    static const char prefix[] = "members[value eq \"";
    size_t pl = sizeof prefix - 1, len = strlen(path);
    char id[USER_ID_LEN];
    if (strncasecmp(path, prefix, pl) != 0 || len < pl + 3 || strcmp(path + len - 2, "\"]") != 0 ||
        len - pl - 2 >= sizeof id)
        return false;
    memcpy(id, path + pl, len - pl - 2);
    id[len - pl - 2] = '\0';
    return copy_id(out->remove, &out->nremove, id);
}

/* A displayName given for the group of `role`: its own (any case) or none. */
static bool same_name(const cJSON *v, const char *role)
{
    return !v || (cJSON_IsString(v) && strcasecmp(v->valuestring, role) == 0);
}

static const char *group_op(const cJSON *op, const char *role, scim_member_ops_t *out,
                            const char **scim_type)
{
    const char *path = tc_json_get_str(op, "path"), *why = NULL;
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    op_t kind = op_of(tc_json_get_str(op, "op"));
    *scim_type = "invalidSyntax";
    if (kind == OP_BAD)
        return "op must be add, replace or remove";
    if (path && strcasecmp(path, "displayName") == 0)
        return kind != OP_REMOVE && same_name(value, role)
                   ? NULL
                   : (*scim_type = "mutability", "a group's name is its role: it cannot change");
    if (!path && kind != OP_REMOVE &&
        !same_name(cJSON_GetObjectItemCaseSensitive(value, "displayName"), role))
        return *scim_type = "mutability", "a group's name is its role: it cannot change";
    if (kind == OP_REMOVE && path && strcasecmp(path, "members") != 0)
        return member_path_id(path, out)
                   ? NULL
                   : (*scim_type = "invalidPath", "remove members[value eq \"<id>\"]");
    if (path && strcasecmp(path, "members") != 0)
        return *scim_type = "invalidPath", "only members change";
    if (!path && kind != OP_REMOVE) {
        value = cJSON_GetObjectItemCaseSensitive(value, "members");
        if (!value)
            return NULL; /* a replace of the name alone, as Okta sends it */
    }
    if (kind == OP_REMOVE && !value)
        return *scim_type = "noTarget", "remove needs the members it removes";
    why = kind == OP_REMOVE ? member_ids(value, out->remove, &out->nremove)
                            : member_ids(value, out->add, &out->nadd);
    if (why)
        return *scim_type = "invalidValue", why;
    if (kind == OP_REPLACE)
        out->replace_all = true;
    return NULL;
}

const char *scim_group_patch(const cJSON *body, const char *role, scim_member_ops_t *out,
                             const char **scim_type)
{
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(body, "Operations"), *op;
    memset(out, 0, sizeof *out);
    *scim_type = "invalidSyntax";
    if (!cJSON_IsArray(ops) || cJSON_GetArraySize(ops) == 0)
        return "Operations must be a non-empty array";
    cJSON_ArrayForEach(op, ops)
    {
        const char *why =
            cJSON_IsObject(op) ? group_op(op, role, out, scim_type) : "each operation is an object";
        if (why)
            return why;
    }
    return NULL;
}

/* ---- discovery documents ---- */

cJSON *scim_service_provider_config(const char *base)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig\"],"
             "\"documentationUri\":\"https://docs.techcorp.com/scim\","
             "\"patch\":{\"supported\":true},\"bulk\":{\"supported\":false,\"maxOperations\":0,"
             "\"maxPayloadSize\":0},\"filter\":{\"supported\":true,\"maxResults\":%d},"
             "\"changePassword\":{\"supported\":false},\"sort\":{\"supported\":false},"
             "\"etag\":{\"supported\":false},\"authenticationSchemes\":[{\"type\":"
             "\"oauthbearertoken\",\"name\":\"OAuth Bearer Token\",\"description\":"
             "\"The organization's SCIM token\",\"primary\":true}],"
             "\"meta\":{\"resourceType\":\"ServiceProviderConfig\","
             "\"location\":\"%s/ServiceProviderConfig\"}}",
             SCIM_MAX_COUNT, base);
    return cJSON_Parse(text);
}

cJSON *scim_resource_types(const char *base)
{
    char text[1024];
    snprintf(
        text, sizeof text,
        "[{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:ResourceType\"],"
        "\"id\":\"User\",\"name\":\"User\",\"endpoint\":\"/Users\",\"schema\":\"" SCIM_USER_SCHEMA
        "\",\"meta\":{\"resourceType\":\"ResourceType\",\"location\":"
        "\"%s/ResourceTypes/User\"}},"
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:ResourceType\"],"
        "\"id\":\"Group\",\"name\":\"Group\",\"endpoint\":\"/Groups\",\"schema\":"
        "\"" SCIM_GROUP_SCHEMA "\",\"meta\":{\"resourceType\":\"ResourceType\","
        "\"location\":\"%s/ResourceTypes/Group\"}}]",
        base, base);
    cJSON *list = cJSON_Parse(text);
    return list ? scim_list_json(list, 2, 1) : NULL;
}

/* One attribute of a schema document. */
static cJSON *attribute(const char *name, const char *type, bool required, bool multi,
                        const char *mutability, const char *uniqueness)
{
    cJSON *a = cJSON_CreateObject();
    if (a &&
        (!cJSON_AddStringToObject(a, "name", name) || !cJSON_AddStringToObject(a, "type", type) ||
         !cJSON_AddBoolToObject(a, "multiValued", multi) ||
         !cJSON_AddBoolToObject(a, "required", required) ||
         !cJSON_AddBoolToObject(a, "caseExact", false) ||
         !cJSON_AddStringToObject(a, "mutability", mutability) ||
         !cJSON_AddStringToObject(a, "returned", "default") ||
         !cJSON_AddStringToObject(a, "uniqueness", uniqueness))) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

static cJSON *schema_doc(const char *id, const char *name, cJSON *attrs)
{
    cJSON *s = cJSON_CreateObject();
    if (!s || !attrs || !cJSON_AddStringToObject(s, "id", id) ||
        !cJSON_AddStringToObject(s, "name", name) ||
        !cJSON_AddItemToObject(s, "attributes", attrs)) {
        if (!cJSON_GetObjectItemCaseSensitive(s, "attributes"))
            cJSON_Delete(attrs);
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

static cJSON *attrs_of(cJSON *const *items, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    for (size_t i = 0; i < n; i++) {
        if (ok && items[i] && cJSON_AddItemToArray(arr, items[i]))
            continue;
        ok = false;
        cJSON_Delete(items[i]);
    }
    if (!ok) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

cJSON *scim_schemas(void)
{
    cJSON *const user[] = {
        attribute("userName", "string", true, false, "readWrite", "server"),
        attribute("name", "complex", false, false, "readWrite", "none"),
        attribute("displayName", "string", false, false, "readWrite", "none"),
        attribute("emails", "complex", false, true, "readWrite", "none"),
        attribute("active", "boolean", false, false, "readWrite", "none"),
        attribute("externalId", "string", false, false, "readWrite", "none"),
    };
    cJSON *const group[] = {
        attribute("displayName", "string", true, false, "readOnly", "server"),
        attribute("members", "complex", false, true, "readWrite", "none"),
    };
    cJSON *list = cJSON_CreateArray();
    cJSON *u = schema_doc(SCIM_USER_SCHEMA, "User", attrs_of(user, TC_ARRAY_LEN(user)));
    cJSON *g = schema_doc(SCIM_GROUP_SCHEMA, "Group", attrs_of(group, TC_ARRAY_LEN(group)));
    if (!list || !u || !g || !cJSON_AddItemToArray(list, u)) {
        cJSON_Delete(u);
        cJSON_Delete(g);
        cJSON_Delete(list);
        return NULL;
    }
    if (!cJSON_AddItemToArray(list, g)) {
        cJSON_Delete(g);
        cJSON_Delete(list);
        return NULL;
    }
    return scim_list_json(list, 2, 1);
}
