/* API keys: scope vocabulary, role ceiling, who may create them, what their tokens carry. */
#include "apikey_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool apikey_scope_known(const char *scope)
{
    for (int i = 0; scope && i < TC_SCOPES_COUNT; i++)
        if (strcmp(tc_scopes[i], scope) == 0)
            return true;
    return false;
}

static void read_scopes(tc_jv_t *jv, const cJSON *body, apikey_create_t *out)
{
    const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(body, "scopes");
    if (!scopes)
        return;
    if (!cJSON_IsArray(scopes) || cJSON_GetArraySize(scopes) > APIKEY_MAX_SCOPES) {
        tc_jv_error(jv, "scopes", "must be an array of at most %d scopes", APIKEY_MAX_SCOPES);
        return;
    }
    tc_buf_t bad = TC_BUF_INIT;
    const cJSON *s;
    bool not_strings = false;
    cJSON_ArrayForEach(s, scopes)
    {
        if (!cJSON_IsString(s)) {
            not_strings = true;
            continue;
        }
        if (!apikey_scope_known(s->valuestring)) {
            /* the vocabulary's own characters only, so the message never echoes markup */
            char shown[72];
            size_t k = 0;
            for (const char *c = s->valuestring; *c && k + 1 < sizeof shown; c++)
                shown[k++] = strchr("abcdefghijklmnopqrstuvwxyz0123456789:._-", *c) ? *c : '?';
            shown[k] = '\0';
            tc_buf_printf(&bad, "%s\"%s\"", bad.len ? ", " : "", shown);
            continue;
        }
        bool dup = false;
        for (int i = 0; i < out->nscopes; i++)
            dup |= strcmp(out->scopes[i], s->valuestring) == 0;
        if (!dup)
            out->scopes[out->nscopes++] = s->valuestring;
    }
    if (not_strings)
        tc_jv_error(jv, "scopes", "must be an array of strings");
    if (bad.len)
        tc_jv_error(jv, "scopes",
                    "unknown or reserved scopes: %s (a key may hold only the scopes of "
                    "proto/scopes.json)",
                    tc_buf_cstr(&bad));
    tc_buf_free(&bad);
}

void apikey_validate_create(tc_jv_t *jv, const cJSON *body, tc_role_t creator, apikey_create_t *out)
{
    static const char *const allowed[] = {"name", "scopes", "role", NULL};
    static const char *const roles[] = {"viewer", "editor", "admin", NULL};
    memset(out, 0, sizeof *out);
    tc_jv_no_unknown(jv, body, allowed);
    out->name = tc_jv_str(jv, body, "name", TC_JV_REQUIRED, 1, 100);
    out->role = tc_jv_enum(jv, body, "role", TC_JV_OPTIONAL, roles);
    read_scopes(jv, body, out);
    /* a key never holds more than its creator, and never owner powers (billing, members) */
    if (out->role && tc_role_parse(out->role) > creator)
        tc_jv_error(jv, "role", "cannot exceed your own role");
}

const char *apikey_role(const apikey_create_t *in, tc_role_t creator)
{
    if (in->role)
        return in->role;
    return creator >= TC_ROLE_ADMIN ? "admin" : tc_role_name(creator);
}

bool apikey_creator_allowed(const char *stored_role, const char *stored_status)
{
    return stored_role && stored_status && strcmp(stored_status, "active") == 0 &&
           tc_role_parse(stored_role) >= TC_ROLE_ADMIN;
}

bool apikey_usable_scopes(const char *stored, char *out, size_t outlen)
{
    size_t o = 0;
    bool any = false, restricted = false;
    out[0] = '\0';
    for (const char *p = stored ? stored : ""; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        restricted = true;
        char one[72];
        if (len < sizeof one) {
            memcpy(one, p, len);
            one[len] = '\0';
            if (apikey_scope_known(one) && o + len + 2 <= outlen) {
                o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? " " : "", one);
                any = true;
            }
        }
        p += len;
    }
    return any || !restricted;
}

void apikey_prefix(const char *key, char out[APIKEY_PREFIX_LEN + 1])
{
    snprintf(out, APIKEY_PREFIX_LEN + 1, "%s", key);
}

void apikey_clear(apikey_t *k)
{
    free(k->name);
    free(k->scopes_json);
    memset(k, 0, sizeof *k);
}

cJSON *apikey_to_json(const apikey_t *k)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "id", k->id) ||
        !cJSON_AddStringToObject(j, "name", k->name ? k->name : "") ||
        !cJSON_AddStringToObject(j, "prefix", k->prefix) ||
        !cJSON_AddStringToObject(j, "role", k->role) ||
        !tc_json_add_raw(j, "scopes", k->scopes_json ? k->scopes_json : "[]") ||
        !cJSON_AddStringToObject(j, "created_at", k->created_at) ||
        !tc_json_add_str(j, "last_used_at", k->last_used_at[0] ? k->last_used_at : NULL) ||
        !tc_json_add_str(j, "revoked_at", k->revoked_at[0] ? k->revoked_at : NULL) ||
        !cJSON_AddStringToObject(j, "created_by", k->created_by)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
