/*
 * Domain rules of the user service. Nothing here touches the network or the database, so
 * every rule is unit-tested directly (tests/unit/test_user_model.c).
 */
#include "user_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const user_roles[] = {"viewer", "editor", "admin", "owner", NULL};
const char *const user_statuses[] = {"invited", "active", "suspended", "deleted", NULL};
const char *const user_set_statuses[] = {"active", "suspended", NULL};

void user_clear(user_t *u)
{
    free(u->email);
    free(u->name);
    cJSON_Delete(u->profile);
    memset(u, 0, sizeof *u);
}

void org_clear(org_t *o)
{
    free(o->name);
    cJSON_Delete(o->settings);
    memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------------------ representations */

static bool add_ts(cJSON *obj, const char *name, const char *ts)
{
    return tc_json_add_str(obj, name, ts && *ts ? ts : NULL) != NULL;
}

static cJSON *user_common(const user_t *u)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", u->id) ||
        !cJSON_AddStringToObject(o, "org_id", u->org_id) ||
        !cJSON_AddStringToObject(o, "email", u->email ? u->email : "") ||
        !cJSON_AddStringToObject(o, "name", u->name ? u->name : "") ||
        !cJSON_AddStringToObject(o, "role", u->role) ||
        !cJSON_AddStringToObject(o, "status", u->status)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *add_times(cJSON *o, const user_t *u)
{
    if (!o)
        return NULL;
    if (!add_ts(o, "created_at", u->created_at) || !add_ts(o, "updated_at", u->updated_at) ||
        !add_ts(o, "deleted_at", u->deleted_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *user_to_json(const user_t *u)
{
    cJSON *o = user_common(u);
    if (!o)
        return NULL;
    cJSON *profile = u->profile ? cJSON_Duplicate(u->profile, 1) : cJSON_CreateObject();
    if (!profile || !cJSON_AddItemToObject(o, "profile", profile)) {
        cJSON_Delete(profile);
        cJSON_Delete(o);
        return NULL;
    }
    return add_times(o, u);
}

cJSON *user_event_data(const user_t *u)
{
    cJSON *o = user_common(u);
    /* the phone is a contact address like the email (notification's SMS), not profile data */
    const cJSON *phone = u->profile ? cJSON_GetObjectItem(u->profile, "phone") : NULL;
    if (!o || !tc_json_add_int(o, "version", u->version) ||
        !tc_json_add_str(o, "phone", cJSON_IsString(phone) ? phone->valuestring : NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return add_times(o, u);
}

static cJSON *org_common(const org_t *o)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "id", o->id) ||
        !cJSON_AddStringToObject(j, "name", o->name ? o->name : "") ||
        !cJSON_AddStringToObject(j, "plan", o->plan) || !add_ts(j, "created_at", o->created_at) ||
        !add_ts(j, "updated_at", o->updated_at)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

cJSON *org_to_json(const org_t *o)
{
    cJSON *j = org_common(o);
    if (!j)
        return NULL;
    cJSON *settings = o->settings ? cJSON_Duplicate(o->settings, 1) : cJSON_CreateObject();
    if (!settings || !cJSON_AddItemToObject(j, "settings", settings)) {
        cJSON_Delete(settings);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

cJSON *org_event_data(const org_t *o)
{
    cJSON *j = org_common(o);
    if (j && !tc_json_add_int(j, "version", o->version)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

char *user_email_normalize(const char *email)
{
    char *s = strdup(email);
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

/* ------------------------------------------------------------------ validation */

static size_t json_size(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    size_t n = s ? strlen(s) : (size_t)-1;
    free(s);
    return n;
}

static bool phone_valid(const char *s)
{
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (!strchr("+ -().", *p) || (*p == '+' && p != s))
            return false;
    }
    return digits >= 4 && digits <= 20;
}

static bool url_valid(const char *s)
{
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return false;
    return true;
}

void user_validate_profile(tc_jv_t *jv, const char *field, const cJSON *profile)
{
    static const char *const keys[] = {"title", "phone",    "avatar_url", "department",
                                       "bio",   "location", NULL};
    if (!cJSON_IsObject(profile)) {
        tc_jv_error(jv, field, "must be an object");
        return;
    }
    if (json_size(profile) > USER_PROFILE_MAX_BYTES) {
        tc_jv_error(jv, field, "must be at most %d bytes", USER_PROFILE_MAX_BYTES);
        return;
    }
    tc_jv_t inner;
    tc_jv_init(&inner);
    tc_jv_no_unknown(&inner, profile, keys);
    unsigned o = TC_JV_NULLABLE;
    tc_jv_str(&inner, profile, "title", o, 1, 100);
    tc_jv_str(&inner, profile, "department", o, 1, 100);
    tc_jv_str(&inner, profile, "location", o, 1, 100);
    tc_jv_str(&inner, profile, "bio", o, 0, 2000);
    const char *phone = tc_jv_str(&inner, profile, "phone", o, 4, 32);
    if (phone && !phone_valid(phone))
        tc_jv_error(&inner, "phone", "must be a phone number such as +44 20 7946 0958");
    const char *url = tc_jv_str(&inner, profile, "avatar_url", o, 10, 2048);
    if (url && !url_valid(url))
        tc_jv_error(&inner, "avatar_url", "must be an http(s) URL");
    /* report nested fields as profile.<key> */
    const cJSON *e;
    cJSON_ArrayForEach(e, inner.errors)
    {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", field, tc_json_get_str(e, "field"));
        tc_jv_error(jv, name, "%s", tc_json_get_str(e, "message"));
    }
    tc_jv_free(&inner);
}

void user_validate_create(tc_jv_t *jv, const cJSON *body, user_create_t *out)
{
    static const char *const allowed[] = {"email", "name", "role", "profile", NULL};
    static const char *const invitable[] = {"viewer", "editor", "admin", "owner", NULL};
    memset(out, 0, sizeof *out);
    tc_jv_no_unknown(jv, body, allowed);
    out->email = tc_jv_email(jv, body, "email", TC_JV_REQUIRED);
    out->name = tc_jv_str(jv, body, "name", TC_JV_REQUIRED, 1, USER_NAME_MAX);
    out->role = tc_jv_enum(jv, body, "role", TC_JV_REQUIRED, invitable);
    out->profile = tc_jv_obj(jv, body, "profile", TC_JV_OPTIONAL);
    if (out->profile)
        user_validate_profile(jv, "profile", out->profile);
}

void user_validate_patch(tc_jv_t *jv, const cJSON *body, user_patch_t *out)
{
    static const char *const allowed[] = {"name", "profile", "role", "status", NULL};
    memset(out, 0, sizeof *out);
    tc_jv_no_unknown(jv, body, allowed);
    out->name = tc_jv_str(jv, body, "name", TC_JV_OPTIONAL, 1, USER_NAME_MAX);
    out->role = tc_jv_enum(jv, body, "role", TC_JV_OPTIONAL, user_roles);
    out->status = tc_jv_enum(jv, body, "status", TC_JV_OPTIONAL, user_set_statuses);
    if (tc_jv_has(body, "profile")) {
        out->has_profile = 1;
        out->profile = tc_jv_obj(jv, body, "profile", TC_JV_OPTIONAL);
        if (out->profile)
            user_validate_profile(jv, "profile", out->profile);
    }
    if (cJSON_GetArraySize(body) == 0)
        tc_jv_error(jv, "body", "at least one of name, profile, role, status is required");
}

bool user_timezone_valid(const char *s)
{
    if (strcmp(s, "UTC") == 0)
        return true;
    /* Area/Location[/Sub]: letters, digits, _ + - ; never "." (no path tricks) */
    int parts = 1;
    size_t n = strlen(s);
    if (n < 3 || n > 64 || !isalpha((unsigned char)s[0]))
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '/') {
            if (p[1] == '\0' || p[1] == '/')
                return false;
            parts++;
        } else if (!isalnum((unsigned char)*p) && !strchr("_+-", *p)) {
            return false;
        }
    }
    if (parts < 2 || parts > 3)
        return false;
    /* with a tz database present, the zone must exist in it */
    struct stat st;
    if (stat("/usr/share/zoneinfo", &st) == 0 && S_ISDIR(st.st_mode)) {
        char path[128];
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", s);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
    }
    return true;
}

void user_validate_preferences(tc_jv_t *jv, const cJSON *prefs, size_t max_bytes)
{
    static const char *const channels[] = {"email", "sms", "push", "in_app", NULL};
    if (!tc_jv_object(jv, prefs, "body"))
        return;
    if (json_size(prefs) > max_bytes) {
        tc_jv_error(jv, "body", "preferences must be at most %zu bytes", max_bytes);
        return;
    }
    const char *locale = tc_jv_str(jv, prefs, "locale", TC_JV_NULLABLE, 2, 35);
    if (locale && !tc_lang_tag_valid(locale))
        tc_jv_error(jv, "locale", "must be a BCP 47 language tag such as en-GB");
    const char *tz = tc_jv_str(jv, prefs, "timezone", TC_JV_NULLABLE, 3, 64);
    if (tz && !user_timezone_valid(tz))
        tc_jv_error(jv, "timezone", "must be an IANA time zone such as Europe/Paris");
    const cJSON *n = tc_jv_obj(jv, prefs, "notifications", TC_JV_NULLABLE);
    if (!n)
        return;
    const cJSON *it;
    cJSON_ArrayForEach(it, n)
    {
        char field[96];
        /* the name is echoed in the error: a name that is not text is not repeated */
        if (tc_utf8_validate(it->string, strlen(it->string)) < 0) {
            tc_jv_error(jv, "notifications", "channel names must be valid UTF-8 text");
            continue;
        }
        snprintf(field, sizeof field, "notifications.%s", it->string);
        int known = 0;
        for (int i = 0; channels[i]; i++)
            known |= strcmp(it->string, channels[i]) == 0;
        if (!known)
            tc_jv_error(jv, field, "unknown channel (email, sms, push, in_app)");
        else if (!cJSON_IsBool(it))
            tc_jv_error(jv, field, "must be true or false");
    }
}

/* ------------------------------------------------------------------ authorisation */

bool user_is_self_or_admin(const tc_principal_t *actor, const char *user_id)
{
    return strcmp(actor->sub, user_id) == 0 || tc_principal_at_least(actor, TC_ROLE_ADMIN);
}

user_decision_t user_may_invite(const tc_principal_t *actor, const char *role, const char **why)
{
    if (!tc_principal_at_least(actor, TC_ROLE_ADMIN)) {
        *why = "Only admins and owners can invite users";
        return USER_DENIED;
    }
    if (strcmp(role, "owner") == 0 && !tc_principal_at_least(actor, TC_ROLE_OWNER)) {
        *why = "Only owners can grant the owner role";
        return USER_DENIED;
    }
    return USER_OK;
}

bool user_actor_is_member(const tc_principal_t *p)
{
    /* services act by scope; an API key's role is auth's to keep (lowered with its creator's,
     * announced as api_key_updated), so neither has a member row to consult */
    return !p->is_service && !tc_id_valid("key", p->sub);
}

user_decision_t user_effective_actor(const tc_principal_t *token, const char *role,
                                     const char *status, tc_principal_t *out, const char **why)
{
    *out = *token;
    if (!user_actor_is_member(token))
        return USER_OK;
    if (!role || !status || strcmp(status, "active") != 0) {
        *why = "Your account is no longer an active member of this organization";
        return USER_DENIED;
    }
    tc_role_t now = tc_role_parse(role);
    if (now < out->role)
        out->role = now;
    return USER_OK;
}

static bool is_owner(const user_t *u)
{
    return strcmp(u->role, "owner") == 0;
}

/* The one rule for changing someone: yourself, or another member as an admin, or an owner
 * only as an owner. Every write to a user (its fields, its preferences) goes through it. */
static user_decision_t may_change(const tc_principal_t *actor, const user_t *target,
                                  const char **why)
{
    bool self = strcmp(actor->sub, target->id) == 0;
    if (!self && !tc_principal_at_least(actor, TC_ROLE_ADMIN)) {
        *why = "Only admins and owners can change other users";
        return USER_DENIED;
    }
    if (!self && is_owner(target) && !tc_principal_at_least(actor, TC_ROLE_OWNER)) {
        *why = "Only owners can change an owner";
        return USER_DENIED;
    }
    return USER_OK;
}

user_decision_t user_may_write_preferences(const tc_principal_t *actor, const user_t *target,
                                           const char **why)
{
    return may_change(actor, target, why);
}

user_decision_t user_may_patch(const tc_principal_t *actor, const user_t *target,
                               const user_patch_t *p, const char **why)
{
    bool self = strcmp(actor->sub, target->id) == 0;
    bool admin = tc_principal_at_least(actor, TC_ROLE_ADMIN);
    bool owner = tc_principal_at_least(actor, TC_ROLE_OWNER);
    bool role_change = p->role && strcmp(p->role, target->role) != 0;
    bool status_change = p->status && strcmp(p->status, target->status) != 0;

    if (strcmp(target->status, "deleted") == 0) {
        *why = "The user is deleted";
        return USER_NOT_ALLOWED;
    }
    user_decision_t d = may_change(actor, target, why);
    if (d != USER_OK)
        return d;
    if ((role_change || status_change) && !admin) {
        *why = "Only admins and owners can change roles and statuses";
        return USER_DENIED;
    }
    if (role_change && (is_owner(target) || strcmp(p->role, "owner") == 0) && !owner) {
        *why = "Only owners can grant or remove the owner role";
        return USER_DENIED;
    }
    if (status_change && self) {
        *why = "You cannot change your own status";
        return USER_NOT_ALLOWED;
    }
    if (status_change && strcmp(target->status, "invited") == 0) {
        *why = "An invited user becomes active by accepting the invitation";
        return USER_NOT_ALLOWED;
    }
    return USER_OK;
}

user_decision_t user_may_delete(const tc_principal_t *actor, const user_t *target, const char **why)
{
    if (!tc_principal_at_least(actor, TC_ROLE_ADMIN)) {
        *why = "Only admins and owners can delete users";
        return USER_DENIED;
    }
    if (is_owner(target) && !tc_principal_at_least(actor, TC_ROLE_OWNER)) {
        *why = "Only owners can delete an owner";
        return USER_DENIED;
    }
    if (strcmp(actor->sub, target->id) == 0) {
        *why = "You cannot delete your own account; another admin or owner can";
        return USER_NOT_ALLOWED;
    }
    return USER_OK;
}

bool user_removes_last_owner(const user_t *target, const char *new_role, const char *new_status,
                             int64_t other_active_owners)
{
    if (!is_owner(target) || strcmp(target->status, "active") != 0)
        return false;
    int stays = (!new_role || strcmp(new_role, "owner") == 0) &&
                (!new_status || strcmp(new_status, "active") == 0);
    return !stays && other_active_owners == 0;
}

/* ------------------------------------------------------------------ search */

/* Emits prefixes of s[0..n) ending on code-point boundaries, up to the cap. */
static int emit_prefixes(const char *s, size_t n, user_token_fn emit, void *ud)
{
    size_t cps = 0;
    for (size_t i = 1; i <= n && cps < USER_SEARCH_PREFIX_MAX; i++) {
        if (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            continue; /* inside a multi-byte character */
        cps++;
        int rc = emit(s, i, ud);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

static bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '_' || c == ',' || c == '\'';
}

char *user_search_normalize(const char *q)
{
    while (*q == ' ' || *q == '\t')
        q++;
    char *s = user_email_normalize(q);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

int user_search_prefixes(const char *name, const char *email, user_token_fn emit, void *ud)
{
    int rc = TC_OK;
    char *lname = user_email_normalize(name), *lemail = user_email_normalize(email);
    if (!lname || !lemail) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    for (const char *p = lname; *p && rc == TC_OK;) {
        while (*p && is_separator(*p))
            p++;
        size_t len = 0;
        while (p[len] && !is_separator(p[len]))
            len++;
        if (len)
            rc = emit_prefixes(p, len, emit, ud);
        p += len;
    }
    /* and the words as people type them ("o'brien", "jean-luc"): a query splits on blanks
     * only, so that an email prefix such as "ada.l" stays one word */
    for (const char *p = lname; *p && rc == TC_OK;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = 0;
        int joined = 0;
        for (; p[len] && p[len] != ' ' && p[len] != '\t'; len++)
            joined |= is_separator(p[len]);
        if (joined)
            rc = emit_prefixes(p, len, emit, ud);
        p += len;
    }
    if (rc == TC_OK)
        rc = emit_prefixes(lemail, strlen(lemail), emit, ud);
cleanup:
    free(lname);
    free(lemail);
    return rc;
}
