/* Unit tests for the rules of API keys (apikey_model.c): the scope vocabulary (reserved and
 * unknown scopes refused, listed by value), the role ceiling, who may create keys, and which
 * scopes reach a key's token. No I/O. */
#include <criterion/criterion.h>
#include <string.h>

#include "apikey_model.h"
#include "tc/tc_proto.h"

typedef struct {
    int count;
    char fields[256];
    char messages[1024];
} verdict_t;

static verdict_t validate(const char *json, tc_role_t creator, apikey_create_t *out)
{
    verdict_t v = {0};
    cJSON *body = cJSON_Parse(json);
    cr_assert_not_null(body, "%s", json);
    tc_jv_t jv;
    tc_jv_init(&jv);
    apikey_validate_create(&jv, body, creator, out);
    v.count = jv.count;
    const cJSON *e;
    cJSON_ArrayForEach(e, jv.errors)
    {
        strncat(v.fields, tc_json_get_str(e, "field"), sizeof v.fields - strlen(v.fields) - 2);
        strcat(v.fields, " ");
        strncat(v.messages, tc_json_get_str(e, "message"),
                sizeof v.messages - strlen(v.messages) - 2);
        strcat(v.messages, "|");
    }
    tc_jv_free(&jv);
    /* out's strings point into body: the tests look at counts only after this */
    cJSON_Delete(body);
    return v;
}

Test(apikey_model, a_key_may_hold_the_whole_vocabulary_and_its_token_carries_it)
{
    /* every scope on one key (a scope per route group grows with the fleet): the key takes
     * them all and the token's scope claim fits the principal every verifier fills */
    cr_assert_leq(TC_SCOPES_COUNT, APIKEY_MAX_SCOPES, "raise APIKEY_MAX_SCOPES");
    size_t len = 0;
    for (int i = 0; i < TC_SCOPES_COUNT; i++)
        len += strlen(tc_scopes[i]) + 1;
    tc_principal_t p;
    cr_assert_lt(len, sizeof p.scope, "%zu bytes of scopes: raise tc_principal_t.scope", len);
}

Test(apikey_model, the_vocabulary_is_the_scopes_of_proto)
{
    cr_assert_gt(TC_SCOPES_COUNT, 0);
    for (int i = 0; i < TC_SCOPES_COUNT; i++)
        cr_assert(apikey_scope_known(tc_scopes[i]), "%s", tc_scopes[i]);
    for (int i = TC_SCOPES_COUNT; i < TC_SCOPES_ALL_COUNT; i++)
        cr_assert_not(apikey_scope_known(tc_scopes[i]), "reserved %s", tc_scopes[i]);
    cr_assert_not(apikey_scope_known("internal"));
    cr_assert_not(apikey_scope_known("auth:admin"));
    cr_assert_not(apikey_scope_known("users:read "));
    cr_assert_not(apikey_scope_known(""));
    cr_assert_not(apikey_scope_known(NULL));
    cr_assert(apikey_scope_known(TC_SCOPE_USERS_READ));
}

Test(apikey_model, known_scopes_are_accepted_once_each)
{
    apikey_create_t in;
    verdict_t v = validate("{\"name\":\"ci\",\"scopes\":[\"users:read\",\"orgs:read\","
                           "\"users:read\"]}",
                           TC_ROLE_ADMIN, &in);
    cr_assert_eq(v.count, 0, "%s", v.messages);
    cr_assert_eq(in.nscopes, 2, "a repeated scope counts once");
}

Test(apikey_model, reserved_and_unknown_scopes_are_refused_by_value)
{
    apikey_create_t in;
    verdict_t v = validate("{\"name\":\"x\",\"scopes\":[\"internal\",\"auth:admin\","
                           "\"users:read\"]}",
                           TC_ROLE_OWNER, &in);
    cr_assert_eq(v.count, 1);
    cr_assert_str_eq(v.fields, "scopes ");
    cr_assert(strstr(v.messages, "\"internal\""), "%s", v.messages);
    cr_assert(strstr(v.messages, "\"auth:admin\""), "%s", v.messages);
    cr_assert_null(strstr(v.messages, "users:read\""), "the good one is not listed");
    v = validate("{\"name\":\"x\",\"scopes\":[\"<b>x</b>\"]}", TC_ROLE_OWNER, &in);
    cr_assert_eq(v.count, 1);
    cr_assert_null(strstr(v.messages, "<b>"), "never echoed raw: %s", v.messages);
}

Test(apikey_model, scopes_must_be_an_array_of_strings)
{
    apikey_create_t in;
    cr_assert_eq(validate("{\"name\":\"x\",\"scopes\":\"users:read\"}", TC_ROLE_ADMIN, &in).count,
                 1);
    cr_assert_eq(validate("{\"name\":\"x\",\"scopes\":[1]}", TC_ROLE_ADMIN, &in).count, 1);
    cr_assert_eq(validate("{\"name\":\"x\",\"scopes\":[]}", TC_ROLE_ADMIN, &in).count, 0,
                 "an empty list is a key without scopes");
    char many[1024] = "{\"name\":\"x\",\"scopes\":[";
    for (int i = 0; i < APIKEY_MAX_SCOPES + 1; i++)
        strcat(many, i ? ",\"users:read\"" : "\"users:read\"");
    strcat(many, "]}");
    cr_assert_eq(validate(many, TC_ROLE_ADMIN, &in).count, 1, "at most 16");
}

Test(apikey_model, every_bad_field_is_listed)
{
    apikey_create_t in;
    verdict_t v = validate("{\"name\":\"\",\"scopes\":[\"UPPER\"],\"role\":\"owner\",\"extra\":1}",
                           TC_ROLE_OWNER, &in);
    cr_assert_eq(v.count, 4, "%s", v.fields);
}

Test(apikey_model, role_ceiling)
{
    apikey_create_t in;
    cr_assert_eq(validate("{\"name\":\"x\",\"role\":\"admin\"}", TC_ROLE_EDITOR, &in).count, 1,
                 "not above the creator");
    cr_assert_eq(validate("{\"name\":\"x\",\"role\":\"viewer\"}", TC_ROLE_ADMIN, &in).count, 0);
    apikey_create_t none = {.name = "x"};
    cr_assert_str_eq(apikey_role(&none, TC_ROLE_OWNER), "admin", "an owner's key is admin");
    cr_assert_str_eq(apikey_role(&none, TC_ROLE_ADMIN), "admin");
    cr_assert_str_eq(apikey_role(&none, TC_ROLE_EDITOR), "editor");
    apikey_create_t viewer = {.name = "x", .role = "viewer"};
    cr_assert_str_eq(apikey_role(&viewer, TC_ROLE_OWNER), "viewer");
}

Test(apikey_model, creators_go_by_their_stored_standing)
{
    cr_assert(apikey_creator_allowed("admin", "active"));
    cr_assert(apikey_creator_allowed("owner", "active"));
    cr_assert_not(apikey_creator_allowed("editor", "active"), "demoted");
    cr_assert_not(apikey_creator_allowed("admin", "suspended"));
    cr_assert_not(apikey_creator_allowed("admin", "deleted"));
    cr_assert_not(apikey_creator_allowed(NULL, NULL), "no account: a key or a stranger");
}

Test(apikey_model, tokens_carry_only_vocabulary_scopes)
{
    char out[256];
    cr_assert(apikey_usable_scopes("", out, sizeof out));
    cr_assert_str_eq(out, "", "no scopes: unrestricted, bound by role");
    cr_assert(apikey_usable_scopes("users:read orgs:read", out, sizeof out));
    cr_assert_str_eq(out, "users:read orgs:read");
    cr_assert(apikey_usable_scopes("internal users:read auth:admin", out, sizeof out));
    cr_assert_str_eq(out, "users:read", "reserved and unknown scopes never reach a token");
    cr_assert_not(apikey_usable_scopes("internal auth:admin", out, sizeof out),
                  "restricted to nothing usable: inactive, never unrestricted");
    cr_assert_str_eq(out, "");
    cr_assert_not(apikey_usable_scopes("widgets:read", out, sizeof out)); /* not a scope */
}

Test(apikey_model, representation_and_prefix)
{
    char prefix[APIKEY_PREFIX_LEN + 1];
    apikey_prefix("tc_live_AbCdEfGh0123456789", prefix);
    cr_assert_str_eq(prefix, "tc_live_AbCdEfGh");
    apikey_t k = {.name = strdup("ci"), .scopes_json = strdup("[\"users:read\"]")};
    strcpy(k.id, "key_1");
    strcpy(k.prefix, prefix);
    strcpy(k.role, "viewer");
    strcpy(k.created_at, "2026-01-01T00:00:00.000Z");
    strcpy(k.created_by, "usr_1");
    cJSON *j = apikey_to_json(&k);
    cr_assert_not_null(j);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "last_used_at")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "revoked_at")));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "scopes")), 1);
    cr_assert_null(cJSON_GetObjectItem(j, "key"), "never the secret");
    cr_assert_null(cJSON_GetObjectItem(j, "org_id"));
    cJSON_Delete(j);
    apikey_clear(&k);
}
