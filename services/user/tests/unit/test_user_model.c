/* Unit tests for the user service's domain rules (user_model.c): no I/O. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "user_model.h"
#include "tc/tc_core.h"

static tc_principal_t who(const char *sub, tc_role_t role)
{
    tc_principal_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.sub, sizeof p.sub, "%s", sub);
    snprintf(p.org, sizeof p.org, "org_1");
    p.role = role;
    return p;
}

static user_t target(const char *id, const char *role, const char *status)
{
    user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.role, sizeof u.role, "%s", role);
    snprintf(u.status, sizeof u.status, "%s", status);
    return u;
}

static int count_errors(const char *json_body, void (*fn)(tc_jv_t *, const cJSON *), char *fields,
                        size_t n)
{
    cJSON *body = cJSON_Parse(json_body);
    cr_assert_not_null(body);
    tc_jv_t jv;
    tc_jv_init(&jv);
    fn(&jv, body);
    int count = jv.count;
    fields[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv.errors)
    {
        strncat(fields, tc_json_get_str(e, "field"), n - strlen(fields) - 1);
        strncat(fields, " ", n - strlen(fields) - 1);
    }
    tc_jv_free(&jv);
    cJSON_Delete(body);
    return count;
}

static void create_fn(tc_jv_t *jv, const cJSON *b)
{
    user_create_t in;
    user_validate_create(jv, b, &in);
}

static void patch_fn(tc_jv_t *jv, const cJSON *b)
{
    user_patch_t in;
    user_validate_patch(jv, b, &in);
}

static void prefs_fn(tc_jv_t *jv, const cJSON *b)
{
    user_validate_preferences(jv, b, 16384);
}

/* ------------------------------------------------------------------ validation */

Test(validate, create_accepts_a_good_invite)
{
    char f[256];
    cr_assert_eq(count_errors("{\"email\":\"a@b.co\",\"name\":\"Ann\",\"role\":\"viewer\","
                              "\"profile\":{\"title\":\"CTO\",\"phone\":\"+1 (555) 010-9999\"}}",
                              create_fn, f, sizeof f),
                 0, "%s", f);
}

Test(validate, create_reports_every_bad_field)
{
    char f[256];
    int n = count_errors("{\"email\":\"nope\",\"name\":\"\",\"role\":\"god\","
                         "\"profile\":{\"phone\":\"x\",\"avatar_url\":\"ftp://x\"},\"x\":1}",
                         create_fn, f, sizeof f);
    cr_assert_eq(n, 6, "%s", f);
    cr_assert(strstr(f, "profile.phone") && strstr(f, "profile.avatar_url") && strstr(f, "x "));
}

Test(validate, create_requires_email_name_role)
{
    char f[256];
    cr_assert_eq(count_errors("{}", create_fn, f, sizeof f), 3);
    cr_assert_str_eq(f, "email name role ");
}

Test(validate, patch_rejects_empty_deleted_status_and_unknown_fields)
{
    char f[256];
    cr_assert_eq(count_errors("{}", patch_fn, f, sizeof f), 1);
    cr_assert_eq(count_errors("{\"status\":\"deleted\"}", patch_fn, f, sizeof f), 1);
    cr_assert_eq(count_errors("{\"email\":\"a@b.co\"}", patch_fn, f, sizeof f), 1);
    cr_assert_eq(count_errors("{\"profile\":{\"title\":null}}", patch_fn, f, sizeof f), 0,
                 "null removes a profile key");
    cr_assert_eq(count_errors("{\"name\":\"New\",\"role\":\"admin\"}", patch_fn, f, sizeof f), 0);
}

Test(validate, profile_size_is_bounded)
{
    char *big = malloc(20000);
    strcpy(big, "{\"profile\":{\"bio\":\"");
    memset(big + strlen(big), 'b', 9000);
    strcpy(big + 19 + 9000, "\"}}");
    char f[256];
    cr_assert_eq(count_errors(big, patch_fn, f, sizeof f), 1, "%s", f);
    free(big);
}

Test(validate, preferences)
{
    char f[256];
    cr_assert_eq(count_errors("{\"locale\":\"en-GB\",\"timezone\":\"UTC\",\"notifications\":"
                              "{\"email\":true,\"in_app\":false},\"anything\":[1,2]}",
                              prefs_fn, f, sizeof f),
                 0, "%s", f);
    cr_assert_eq(count_errors("{\"locale\":\"e\",\"timezone\":\"../../etc/passwd\","
                              "\"notifications\":{\"fax\":true,\"sms\":1}}",
                              prefs_fn, f, sizeof f),
                 4, "%s", f);
    cr_assert_eq(count_errors("{\"locale\":null,\"timezone\":null}", prefs_fn, f, sizeof f), 0);
}

Test(validate, timezone_shapes)
{
    cr_assert(user_timezone_valid("UTC"));
    cr_assert(!user_timezone_valid("Europe"));
    cr_assert(!user_timezone_valid("Europe/../Paris"));
    cr_assert(!user_timezone_valid("/etc/passwd"));
}

/* ------------------------------------------------------------------ authorisation */

Test(authz, invite_needs_admin_and_owner_grants_need_owner)
{
    const char *why;
    tc_principal_t viewer = who("usr_v", TC_ROLE_VIEWER), editor = who("usr_e", TC_ROLE_EDITOR);
    tc_principal_t admin = who("usr_a", TC_ROLE_ADMIN), owner = who("usr_o", TC_ROLE_OWNER);
    cr_assert_eq(user_may_invite(&viewer, "viewer", &why), USER_DENIED);
    cr_assert_eq(user_may_invite(&editor, "viewer", &why), USER_DENIED);
    cr_assert_eq(user_may_invite(&admin, "admin", &why), USER_OK);
    cr_assert_eq(user_may_invite(&admin, "owner", &why), USER_DENIED);
    cr_assert_eq(user_may_invite(&owner, "owner", &why), USER_OK);
}

Test(authz, patch_matrix)
{
    const char *why;
    tc_principal_t self = who("usr_t", TC_ROLE_EDITOR), admin = who("usr_a", TC_ROLE_ADMIN);
    tc_principal_t owner = who("usr_o", TC_ROLE_OWNER), viewer = who("usr_v", TC_ROLE_VIEWER);
    user_t t = target("usr_t", "editor", "active");
    user_patch_t name = {.name = "N"}, role = {.role = "admin"}, to_owner = {.role = "owner"};
    user_patch_t suspend = {.status = "suspended"}, same_role = {.role = "editor"};

    cr_assert_eq(user_may_patch(&self, &t, &name, &why), USER_OK);
    cr_assert_eq(user_may_patch(&self, &t, &same_role, &why), USER_OK, "not a change");
    cr_assert_eq(user_may_patch(&self, &t, &role, &why), USER_DENIED);
    cr_assert_eq(user_may_patch(&viewer, &t, &name, &why), USER_DENIED);
    cr_assert_eq(user_may_patch(&admin, &t, &role, &why), USER_OK);
    cr_assert_eq(user_may_patch(&admin, &t, &suspend, &why), USER_OK);
    cr_assert_eq(user_may_patch(&admin, &t, &to_owner, &why), USER_DENIED);
    cr_assert_eq(user_may_patch(&owner, &t, &to_owner, &why), USER_OK);

    user_t o = target("usr_x", "owner", "active");
    cr_assert_eq(user_may_patch(&admin, &o, &name, &why), USER_DENIED,
                 "admins cannot touch owners");
    cr_assert_eq(user_may_patch(&owner, &o, &role, &why), USER_OK);

    tc_principal_t admin_self = who("usr_a", TC_ROLE_ADMIN);
    user_t a = target("usr_a", "admin", "active");
    cr_assert_eq(user_may_patch(&admin_self, &a, &suspend, &why), USER_NOT_ALLOWED);

    user_t invited = target("usr_i", "viewer", "invited");
    user_patch_t activate = {.status = "active"};
    cr_assert_eq(user_may_patch(&admin, &invited, &activate, &why), USER_NOT_ALLOWED);
    user_t deleted = target("usr_d", "viewer", "deleted");
    cr_assert_eq(user_may_patch(&owner, &deleted, &name, &why), USER_NOT_ALLOWED);
}

Test(authz, preferences_follow_the_rule_of_every_change)
{
    /* the rule that governs changes to a member governs its preferences too: an admin may not
     * change an owner's preferences any more than its name */
    const char *why = NULL;
    tc_principal_t admin = who("usr_admin", TC_ROLE_ADMIN), owner = who("usr_o2", TC_ROLE_OWNER);
    tc_principal_t editor = who("usr_ed", TC_ROLE_EDITOR);
    user_t the_owner = target("usr_owner", "owner", "active");
    user_t member = target("usr_m", "viewer", "active");
    tc_principal_t self = who("usr_owner", TC_ROLE_OWNER);
    cr_assert_eq(user_may_write_preferences(&admin, &the_owner, &why), USER_DENIED);
    user_patch_t rename = {.name = "New"};
    cr_assert_eq(user_may_patch(&admin, &the_owner, &rename, &why), USER_DENIED,
                 "the same answer as for any other change");
    cr_assert_eq(user_may_write_preferences(&owner, &the_owner, &why), USER_OK);
    cr_assert_eq(user_may_write_preferences(&self, &the_owner, &why), USER_OK);
    cr_assert_eq(user_may_write_preferences(&admin, &member, &why), USER_OK);
    cr_assert_eq(user_may_write_preferences(&editor, &member, &why), USER_DENIED);
}

Test(authz, delete_matrix)
{
    const char *why;
    tc_principal_t editor = who("usr_e", TC_ROLE_EDITOR), admin = who("usr_a", TC_ROLE_ADMIN);
    tc_principal_t owner = who("usr_o", TC_ROLE_OWNER);
    user_t v = target("usr_v", "viewer", "active"), o = target("usr_x", "owner", "active");
    cr_assert_eq(user_may_delete(&editor, &v, &why), USER_DENIED);
    cr_assert_eq(user_may_delete(&admin, &v, &why), USER_OK);
    cr_assert_eq(user_may_delete(&admin, &o, &why), USER_DENIED);
    cr_assert_eq(user_may_delete(&owner, &o, &why), USER_OK);
    user_t me = target("usr_a", "admin", "active");
    cr_assert_eq(user_may_delete(&admin, &me, &why), USER_NOT_ALLOWED, "nobody deletes themself");
}

Test(authz, effective_actor_follows_the_stored_role)
{
    const char *why = NULL;
    tc_principal_t admin = who("usr_a", TC_ROLE_ADMIN), eff;
    cr_assert_eq(user_effective_actor(&admin, "viewer", "active", &eff, &why), USER_OK);
    cr_assert_eq(eff.role, TC_ROLE_VIEWER, "a demotion applies before the token expires");
    cr_assert_eq(user_effective_actor(&admin, "owner", "active", &eff, &why), USER_OK);
    cr_assert_eq(eff.role, TC_ROLE_ADMIN, "a promotion waits for a new token");
    cr_assert_eq(user_effective_actor(&admin, "admin", "suspended", &eff, &why), USER_DENIED);
    cr_assert_eq(user_effective_actor(&admin, "admin", "deleted", &eff, &why), USER_DENIED);
    cr_assert_eq(user_effective_actor(&admin, NULL, NULL, &eff, &why), USER_DENIED);
    tc_principal_t svc = who("svc", TC_ROLE_NONE);
    svc.is_service = 1;
    cr_assert_eq(user_effective_actor(&svc, NULL, NULL, &eff, &why), USER_OK);
    /* an API key has no member row: auth keeps its role */
    tc_principal_t key = who("key_01JAAAAAAAAAAAAAAAAAAAAAAA", TC_ROLE_ADMIN);
    cr_assert(!user_actor_is_member(&key));
    cr_assert_eq(user_effective_actor(&key, NULL, NULL, &eff, &why), USER_OK);
    cr_assert_eq(eff.role, TC_ROLE_ADMIN);
    cr_assert(user_actor_is_member(&admin));
}

Test(authz, service_principal_is_never_a_role)
{
    tc_principal_t svc = who("svc", TC_ROLE_NONE);
    svc.is_service = 1;
    const char *why;
    cr_assert_eq(user_may_invite(&svc, "viewer", &why), USER_DENIED);
}

Test(authz, last_owner_rule)
{
    user_t o = target("usr_o", "owner", "active");
    cr_assert(user_removes_last_owner(&o, "admin", NULL, 0));
    cr_assert(user_removes_last_owner(&o, NULL, "suspended", 0));
    cr_assert(user_removes_last_owner(&o, NULL, "deleted", 0));
    cr_assert(!user_removes_last_owner(&o, "admin", NULL, 1), "another active owner remains");
    cr_assert(!user_removes_last_owner(&o, "owner", "active", 0), "no change");
    cr_assert(!user_removes_last_owner(&o, NULL, NULL, 0));
    user_t e = target("usr_e", "editor", "active");
    cr_assert(!user_removes_last_owner(&e, "viewer", NULL, 0));
    user_t s = target("usr_s", "owner", "suspended");
    cr_assert(!user_removes_last_owner(&s, "admin", NULL, 0), "not an active owner");
}

/* ------------------------------------------------------------------ search */

typedef struct {
    char items[256][64];
    int n;
} collected_t;

static int collect(const char *p, size_t n, void *ud)
{
    collected_t *c = ud;
    if (c->n < 256)
        snprintf(c->items[c->n++], 64, "%.*s", (int)n, p);
    return TC_OK;
}

static int has(const collected_t *c, const char *s)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->items[i], s) == 0)
            return 1;
    return 0;
}

Test(search, prefixes_cover_words_and_email_lowercased)
{
    collected_t c = {.n = 0};
    cr_assert_eq(user_search_prefixes("Ada Lovelace-Byron", "ADA@Example.com", collect, &c), TC_OK);
    cr_assert(has(&c, "a") && has(&c, "ada"));
    cr_assert(has(&c, "love") && has(&c, "lovelace"));
    cr_assert(has(&c, "byr"), "hyphenated parts are words");
    cr_assert(has(&c, "ada@ex") && has(&c, "ada@example.com"));
    cr_assert(!has(&c, "Ada"), "lower-cased");
    cr_assert(!has(&c, "elace"), "prefixes only");
    cr_assert(has(&c, "lovelace-b") && has(&c, "lovelace-byron"), "and whole words as typed");

    collected_t o = {.n = 0};
    cr_assert_eq(user_search_prefixes("Sean O'Brien", "s@x.io", collect, &o), TC_OK);
    cr_assert(has(&o, "o'brien") && has(&o, "o'b") && has(&o, "brien") && has(&o, "sean"));
}

Test(search, prefixes_respect_utf8_boundaries_and_cap)
{
    collected_t c = {.n = 0};
    cr_assert_eq(user_search_prefixes("Zoë", "z@x.io", collect, &c), TC_OK);
    cr_assert(has(&c, "zo") && has(&c, "zoë"));
    for (int i = 0; i < c.n; i++)
        cr_assert_neq((unsigned char)c.items[i][strlen(c.items[i]) - 1], 0xc3,
                      "never cut inside a character");
    collected_t d = {.n = 0};
    cr_assert_eq(
        user_search_prefixes("abcdefghijklmnopqrstuvwxyzabcdefghijklmnop", "q@q.q", collect, &d),
        TC_OK);
    for (int i = 0; i < d.n; i++)
        cr_assert_leq(strlen(d.items[i]), USER_SEARCH_PREFIX_MAX);
}

/* ------------------------------------------------------------------ representation */

Test(repr, user_json_and_event_data)
{
    user_t u = target("usr_1", "admin", "active");
    snprintf(u.org_id, sizeof u.org_id, "org_1");
    u.email = strdup("a@b.co");
    u.name = strdup("Ann");
    u.profile = cJSON_Parse("{\"title\":\"CTO\"}");
    u.version = 3;
    snprintf(u.created_at, sizeof u.created_at, "2025-01-01T00:00:00.000Z");
    snprintf(u.updated_at, sizeof u.updated_at, "2025-01-02T00:00:00.000Z");
    cJSON *api = user_to_json(&u), *ev = user_event_data(&u);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(api, "deleted_at")));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(api, "profile"), "title")->valuestring,
                     "CTO");
    cr_assert_null(cJSON_GetObjectItem(api, "version"), "version is not part of the API");
    cr_assert_eq(cJSON_GetObjectItem(ev, "version")->valueint, 3);
    cr_assert_null(cJSON_GetObjectItem(ev, "profile"), "events carry identity state only");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(ev, "phone")), "no phone in the profile: null");
    cJSON_AddStringToObject(u.profile, "phone", "+44 20 7946 0958");
    cJSON *ev2 = user_event_data(&u);
    cr_assert_str_eq(cJSON_GetObjectItem(ev2, "phone")->valuestring, "+44 20 7946 0958",
                     "the phone is a contact address, carried like the email");
    cJSON_Delete(ev2);
    cJSON_Delete(api);
    cJSON_Delete(ev);
    user_clear(&u);
}
