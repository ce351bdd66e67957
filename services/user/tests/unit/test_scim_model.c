/* Unit tests for SCIM 2.0 (scim_model.c): Users both ways, PATCH as Okta and Entra ID send
 * it, filters, pages, groups and errors. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim_model.h"
#include "tc/tc_core.h"

#define BASE "https://api.example.com/scim/v2"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s", text);
    return j;
}

static user_t member(const char *name, const char *status)
{
    user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "usr_01");
    snprintf(u.org_id, sizeof u.org_id, "org_01");
    snprintf(u.role, sizeof u.role, "viewer");
    snprintf(u.status, sizeof u.status, "%s", status);
    snprintf(u.created_at, sizeof u.created_at, "2026-01-01T00:00:00.000Z");
    snprintf(u.updated_at, sizeof u.updated_at, "2026-01-02T00:00:00.000Z");
    u.version = 3;
    u.email = strdup("ann@example.com");
    u.name = strdup(name);
    u.profile = cJSON_CreateObject();
    return u;
}

Test(scim_model, a_member_is_a_scim_user)
{
    user_t u = member("Ann Lee Smith", "active");
    scim_user_t s;
    cr_assert_eq(scim_user_from(&u, "okta-1", &s), TC_OK);
    cr_assert_str_eq(s.given_name, "Ann");
    cr_assert_str_eq(s.family_name, "Lee Smith");
    cJSON *j = scim_user_json(&u, &s, BASE);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "schemas"), 0)->valuestring,
                     SCIM_USER_SCHEMA);
    cr_assert_str_eq(tc_json_get_str(j, "userName"), "ann@example.com");
    cr_assert_str_eq(tc_json_get_str(j, "externalId"), "okta-1");
    cr_assert_str_eq(tc_json_get_str(cJSON_GetObjectItem(j, "name"), "formatted"), "Ann Lee Smith");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "active")));
    const cJSON *meta = cJSON_GetObjectItem(j, "meta");
    cr_assert_str_eq(tc_json_get_str(meta, "location"), BASE "/Users/usr_01");
    cr_assert_str_eq(tc_json_get_str(meta, "version"), "W/\"3\"");
    cJSON_Delete(j);
    scim_user_clear(&s);
    user_clear(&u);

    u = member("Cher", "suspended");
    cr_assert_eq(scim_user_from(&u, NULL, &s), TC_OK);
    cr_assert_null(s.family_name, "one word: no family name");
    j = scim_user_json(&u, &s, BASE);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "active")));
    cr_assert_null(cJSON_GetObjectItem(j, "externalId"));
    cJSON_Delete(j);
    scim_user_clear(&s);
    user_clear(&u);
}

Test(scim_model, a_user_body_as_okta_and_entra_id_send_it)
{
    scim_user_t s;
    const char *type = NULL;
    cJSON *b = parse("{\"schemas\":[\"" SCIM_USER_SCHEMA "\"],\"userName\":\"bo@example.com\","
                     "\"name\":{\"givenName\":\"Bo\",\"familyName\":\"Berg\"},"
                     "\"emails\":[{\"primary\":true,\"value\":\"bo@example.com\",\"type\":"
                     "\"work\"}],\"active\":true,\"externalId\":\"00u1\"}");
    cr_assert_null(scim_user_parse(b, &s, &type));
    cr_assert_str_eq(s.name, "Bo Berg", "given and family make the name");
    cr_assert_str_eq(s.external_id, "00u1");
    cr_assert(s.active);
    scim_user_clear(&s);
    cJSON_Delete(b);

    b = parse("{\"userName\":\"cy@example.com\",\"active\":\"False\",\"displayName\":\"Cy\"}");
    cr_assert_null(scim_user_parse(b, &s, &type));
    cr_assert_str_eq(s.name, "Cy");
    cr_assert_not(s.active, "the string False");
    scim_user_clear(&s);
    cJSON_Delete(b);

    b = parse("{\"userName\":\"di@example.com\"}");
    cr_assert_null(scim_user_parse(b, &s, &type));
    cr_assert_str_eq(s.name, "di", "the email's local part when nothing names it");
    scim_user_clear(&s);
    cJSON_Delete(b);

    const char *bad[] = {"{\"userName\":\"not-an-email\"}", "{\"name\":{\"formatted\":\"X\"}}",
                         "{\"userName\":\"e@example.com\",\"active\":3}",
                         "{\"userName\":\"e@example.com\",\"externalId\":\"\"}"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        b = parse(bad[i]);
        cr_assert_not_null(scim_user_parse(b, &s, &type), "%s", bad[i]);
        cr_assert_str_eq(type, "invalidValue");
        scim_user_clear(&s);
        cJSON_Delete(b);
    }
}

static scim_user_t current(void)
{
    user_t u = member("Ann Lee", "active");
    scim_user_t s;
    cr_assert_eq(scim_user_from(&u, "x-1", &s), TC_OK);
    user_clear(&u);
    return s;
}

static const char *patch(scim_user_t *s, const char *ops)
{
    char text[1024];
    const char *type = NULL;
    snprintf(text, sizeof text, "{\"schemas\":[\"" SCIM_PATCH_SCHEMA "\"],\"Operations\":%s}", ops);
    cJSON *b = parse(text);
    const char *why = scim_user_patch(b, s, &type);
    cJSON_Delete(b);
    return why;
}

Test(scim_model, patch_as_okta_deactivates_with_a_value_object)
{
    scim_user_t s = current();
    cr_assert_null(patch(&s, "[{\"op\":\"replace\",\"value\":{\"active\":false}}]"));
    cr_assert_not(s.active);
    cr_assert_str_eq(s.name, "Ann Lee", "nothing else moved");
    scim_user_clear(&s);
}

Test(scim_model, patch_as_entra_id_sends_paths_and_strings)
{
    scim_user_t s = current();
    cr_assert_null(patch(&s, "[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},"
                             "{\"op\":\"Replace\",\"path\":\"name.familyName\",\"value\":"
                             "\"Park\"},{\"op\":\"Add\",\"path\":\"externalId\",\"value\":"
                             "\"aad-9\"}]"));
    cr_assert_not(s.active);
    cr_assert_str_eq(s.name, "Ann Park", "the given name kept, the family name replaced");
    cr_assert_str_eq(s.external_id, "aad-9");
    cr_assert_null(patch(&s, "[{\"op\":\"remove\",\"path\":\"externalId\"}]"));
    cr_assert_null(s.external_id);
    cr_assert_null(patch(&s, "[{\"op\":\"replace\",\"path\":\"name.formatted\",\"value\":"
                             "\"Ann P.\"}]"));
    cr_assert_str_eq(s.name, "Ann P.");
    scim_user_clear(&s);
}

Test(scim_model, a_patch_that_cannot_apply_says_why)
{
    scim_user_t s = current();
    cr_assert_not_null(patch(&s, "[]"));
    cr_assert_not_null(patch(&s, "[{\"op\":\"move\",\"path\":\"active\",\"value\":true}]"));
    cr_assert_not_null(patch(&s, "[{\"op\":\"remove\",\"path\":\"active\"}]"));
    cr_assert_not_null(patch(&s, "[{\"op\":\"replace\",\"path\":\"active\",\"value\":\"yes\"}]"));
    cr_assert_not_null(patch(&s, "[{\"op\":\"replace\",\"path\":\"userName\",\"value\":"
                                 "\"nope\"}]"));
    scim_user_clear(&s);
}

Test(scim_model, statuses_follow_active)
{
    cr_assert_str_eq(scim_status(true, "suspended"), "active");
    cr_assert_str_eq(scim_status(false, "active"), "suspended");
    cr_assert_str_eq(scim_status(false, "invited"), "suspended",
                     "a deactivated invitee can no longer accept");
    cr_assert_str_eq(scim_status(true, "invited"), "invited",
                     "only accepting the invitation activates");
}

Test(scim_model, attributes_the_platform_does_not_keep_are_ignored)
{
    scim_user_t s = current();
    cr_assert_null(patch(&s, "[{\"op\":\"Replace\",\"path\":\"title\",\"value\":\"CTO\"},"
                             "{\"op\":\"Add\",\"path\":\"phoneNumbers[type eq \\\"work\\\"]"
                             ".value\",\"value\":\"1\"},{\"op\":\"Replace\",\"path\":"
                             "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                             "department\",\"value\":\"R&D\"},{\"op\":\"Replace\",\"path\":"
                             "\"active\",\"value\":\"False\"}]"));
    cr_assert_not(s.active, "the deactivation that came with them applies");
    cr_assert_str_eq(s.name, "Ann Lee");
    scim_user_clear(&s);
}

Test(scim_model, a_new_display_name_names_the_member_unless_the_name_is_set_too)
{
    scim_user_t s = current();
    cr_assert_null(patch(&s, "[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":"
                             "\"Annie\"}]"));
    cr_assert_str_eq(s.name, "Annie");
    cr_assert_null(patch(&s, "[{\"op\":\"replace\",\"value\":{\"displayName\":\"X\","
                             "\"name\":{\"formatted\":\"Ann Formal\"}}}]"));
    cr_assert_str_eq(s.name, "Ann Formal");
    scim_user_clear(&s);
}

Test(scim_model, names_are_counted_in_characters_and_must_be_clean)
{
    scim_user_t s;
    const char *type = NULL;
    char text[1024];
    char name[601] = "";
    for (int i = 0; i < 150; i++)
        strcat(name, "\xe5\xbc\xa0"); /* 150 CJK characters, 450 bytes */
    snprintf(text, sizeof text, "{\"userName\":\"z@example.com\",\"displayName\":\"%s\"}", name);
    cJSON *b = parse(text);
    cr_assert_null(scim_user_parse(b, &s, &type), "150 characters fit");
    scim_user_clear(&s);
    cJSON_Delete(b);
    b = parse("{\"userName\":\"z@example.com\",\"displayName\":\"bell\\u0007\"}");
    cr_assert_not_null(scim_user_parse(b, &s, &type), "a control character");
    scim_user_clear(&s);
    cJSON_Delete(b);
}

Test(scim_model, filters_answered_and_refused)
{
    scim_filter_t f;
    cr_assert_null(scim_filter_parse("userName eq \"ann@example.com\"", &f));
    cr_assert_eq(f.attr, SCIM_FILTER_USERNAME);
    cr_assert_str_eq(f.value, "ann@example.com");
    cr_assert_null(scim_filter_parse("USERNAME EQ \"a\\\"b\"", &f), "any case; escapes");
    cr_assert_str_eq(f.value, "a\"b");
    cr_assert_null(scim_filter_parse("externalId eq \"00u1\"", &f));
    cr_assert_eq(f.attr, SCIM_FILTER_EXTERNAL_ID);
    cr_assert_null(scim_filter_parse("emails[type eq \"work\"].value eq \"x@example.com\"", &f));
    cr_assert_eq(f.attr, SCIM_FILTER_USERNAME);
    cr_assert_null(scim_filter_parse("displayName eq \"admin\"", &f));
    cr_assert_eq(f.attr, SCIM_FILTER_DISPLAY_NAME);
    cr_assert_null(scim_filter_parse(NULL, &f));
    cr_assert_eq(f.attr, SCIM_FILTER_NONE);
    cr_assert_not_null(scim_filter_parse("userName co \"ann\"", &f));
    cr_assert_not_null(scim_filter_parse("userName eq \"a\" and active eq true", &f));
    cr_assert_not_null(scim_filter_parse("title eq \"x\"", &f));
    cr_assert_not_null(scim_filter_parse("userName eq ann", &f));
}

Test(scim_model, pages_are_one_based_and_bounded)
{
    int start, n;
    cr_assert(scim_page_parse(NULL, NULL, &start, &n));
    cr_assert_eq(start, 1);
    cr_assert_eq(n, SCIM_MAX_COUNT);
    cr_assert(scim_page_parse("0", "500", &start, &n));
    cr_assert_eq(start, 1, "below 1 is 1 (RFC 7644 section 3.4.2.4)");
    cr_assert_eq(n, SCIM_MAX_COUNT);
    cr_assert(scim_page_parse("3", "0", &start, &n));
    cr_assert_eq(n, 0);
    cr_assert_not(scim_page_parse("x", NULL, &start, &n));
}

Test(scim_model, groups_are_the_roles)
{
    cr_assert_str_eq(scim_group_role("role_admin"), "admin");
    cr_assert_null(scim_group_role("role_owner"), "owners are not a SCIM group");
    cr_assert_null(scim_group_role("admin"));
    user_t m = member("Ann", "active");
    cJSON *g = scim_group_json("editor", &m, 1, BASE, true);
    cr_assert_str_eq(tc_json_get_str(g, "id"), "role_editor");
    cr_assert_str_eq(tc_json_get_str(g, "displayName"), "editor");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "members"), 0);
    cr_assert_str_eq(tc_json_get_str(first, "value"), "usr_01");
    /* the next page of members appends */
    cr_assert_eq(scim_group_add_members(g, &m, 1, BASE), TC_OK);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "members")), 2);
    cJSON_Delete(g);
    g = scim_group_json("editor", &m, 1, BASE, false);
    cr_assert_null(cJSON_GetObjectItem(g, "members"), "left out when the request excludes them");
    cr_assert_eq(scim_group_add_members(g, &m, 1, BASE), TC_EINVAL);
    cJSON_Delete(g);
    user_clear(&m);
}

Test(scim_model, group_patches_add_remove_and_replace_members)
{
    scim_member_ops_t ops;
    const char *type = NULL;
    cJSON *b = parse("{\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":"
                     "[{\"value\":\"usr_1\"},{\"value\":\"usr_2\"}]},{\"op\":\"remove\","
                     "\"path\":\"members[value eq \\\"usr_3\\\"]\"}]}");
    cr_assert_null(scim_group_patch(b, "editor", &ops, &type));
    cr_assert_eq(ops.nadd, 2);
    cr_assert_str_eq(ops.add[1], "usr_2");
    cr_assert_eq(ops.nremove, 1);
    cr_assert_str_eq(ops.remove[0], "usr_3");
    cr_assert_not(ops.replace_all);
    cJSON_Delete(b);

    b = parse("{\"Operations\":[{\"op\":\"Replace\",\"value\":{\"members\":[{\"value\":"
              "\"usr_4\"}]}}]}");
    cr_assert_null(scim_group_patch(b, "editor", &ops, &type));
    cr_assert(ops.replace_all);
    cr_assert_eq(ops.nadd, 1);
    cJSON_Delete(b);

    b = parse("{\"Operations\":[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"x\"}]}");
    cr_assert_not_null(scim_group_patch(b, "editor", &ops, &type));
    cr_assert_str_eq(type, "mutability");
    cJSON_Delete(b);
    b = parse("{\"Operations\":[{\"op\":\"replace\",\"value\":{\"id\":\"role_editor\","
              "\"displayName\":\"Editor\"}}]}");
    cr_assert_null(scim_group_patch(b, "editor", &ops, &type), "Okta's replace of the same name");
    cr_assert_eq(ops.nadd + ops.nremove, 0);
    cJSON_Delete(b);
    b = parse("{\"Operations\":[{\"op\":\"remove\",\"path\":\"members\"}]}");
    cr_assert_not_null(scim_group_patch(b, "editor", &ops, &type));
    cr_assert_str_eq(type, "noTarget");
    cJSON_Delete(b);
}

Test(scim_model, errors_lists_and_documents)
{
    cJSON *e = scim_error_json(409, "uniqueness", "taken");
    cr_assert_str_eq(tc_json_get_str(e, "status"), "409", "a string, as RFC 7644 3.12 says");
    cr_assert_str_eq(tc_json_get_str(e, "scimType"), "uniqueness");
    cJSON_Delete(e);
    cJSON *l = scim_list_json(cJSON_CreateArray(), 7, 3);
    cr_assert_eq(cJSON_GetObjectItem(l, "totalResults")->valueint, 7);
    cr_assert_eq(cJSON_GetObjectItem(l, "startIndex")->valueint, 3);
    cr_assert_eq(cJSON_GetObjectItem(l, "itemsPerPage")->valueint, 0);
    cJSON_Delete(l);
    cJSON *docs[] = {scim_service_provider_config(BASE), scim_resource_types(BASE), scim_schemas()};
    for (size_t i = 0; i < TC_ARRAY_LEN(docs); i++) {
        cr_assert_not_null(docs[i], "document %zu", i);
        cJSON_Delete(docs[i]);
    }
}

Test(scim_model, a_request_may_leave_a_groups_members_out)
{
    cr_assert(scim_wants_members(NULL, NULL));
    cr_assert(scim_wants_members("members", NULL));
    cr_assert(scim_wants_members("displayName, members", "externalId"));
    cr_assert_not(scim_wants_members(NULL, "members"));
    cr_assert_not(scim_wants_members(NULL, "displayName,Members"));
    cr_assert_not(scim_wants_members(NULL, "urn:ietf:params:scim:schemas:core:2.0:Group:members"));
    cr_assert_not(scim_wants_members("displayName", NULL));
    cr_assert_not(scim_wants_members("members", "members"), "excluded wins");
    cr_assert(scim_wants_members(NULL, "nonmembers"), "a name, not a suffix");
}
