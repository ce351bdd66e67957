/*
 * scim_model.h: SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) for identity providers that
 * provision an organization's members (Okta, Microsoft Entra ID), free of I/O — a member as a
 * SCIM User and back, filters, PATCH operations, list and error answers, and the groups, which
 * are the org's roles.
 *
 * Mapping: userName is the member's email; name.formatted (or givenName familyName, or
 * displayName) its name; active is status active (false: suspended); externalId the
 * provider's own id. Groups are the roles a provider may give — admin, editor, viewer (id
 * "role_<name>"): a member is in the group of its role; adding a member to a group gives it
 * that role, removing it returns it to viewer. Owners are the org's own business: SCIM never
 * changes an owner, and lists them in no group.
 */
#ifndef USER_SCIM_MODEL_H
#define USER_SCIM_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include "user_model.h"

#define SCIM_USER_SCHEMA  "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_LIST_SCHEMA  "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_ERROR_SCHEMA "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_MAX_COUNT    100
#define SCIM_EXTERNAL_MAX 255

/* What SCIM says of a member: the parts of a User the platform keeps. Strings owned. */
typedef struct {
    char *user_name; /* the email */
    char *name;      /* formatted */
    char *given_name, *family_name;
    char *external_id;
    bool active;
} scim_user_t;

void scim_user_clear(scim_user_t *s);

/* A member's SCIM attributes from its stored state and externalId (NULL: none). The platform
 * keeps one name: givenName and familyName are read from it (its first word, the rest), so
 * that a PATCH of one part keeps the other. TC_ENOMEM or TC_OK. */
int scim_user_from(const user_t *u, const char *external_id, scim_user_t *out);

/* The User resource of a member; base: the SCIM base URL (…/scim/v2). NULL on OOM. */
cJSON *scim_user_json(const user_t *u, const scim_user_t *s, const char *base);

/* A User from a POST or PUT body: userName an email, a name from name.formatted, givenName
 * and familyName, or displayName (else the email's local part), active (default true),
 * externalId. NULL and *out, or the reason it is not one (*scim_type "invalidValue"). */
const char *scim_user_parse(const cJSON *body, scim_user_t *out, const char **scim_type);

/* Applies a PatchOp body (RFC 7644 §3.5.2) to *s: add/replace (any case) with a path among
 * active, userName, externalId, displayName, name.formatted, name.givenName,
 * name.familyName, emails[type eq "work"].value, emails — or without a path, an object of
 * those; remove of externalId, name.givenName, name.familyName. "True"/"False" strings are
 * taken for active (Entra ID sends them). NULL, or why not with *scim_type (invalidPath,
 * invalidValue, noTarget, mutability, invalidSyntax). */
const char *scim_user_patch(const cJSON *body, scim_user_t *s, const char **scim_type);

/* The status a SCIM user's `active` gives a member of `current` status. */
const char *scim_status(bool active, const char *current);

/* A filter (RFC 7644 §3.4.2.2) the service answers: one `attr eq "value"`. */
typedef enum {
    SCIM_FILTER_NONE = 0,
    SCIM_FILTER_USERNAME,    /* userName, emails.value, emails[type eq "work"].value */
    SCIM_FILTER_EXTERNAL_ID, /* externalId */
    SCIM_FILTER_ID,          /* id */
    SCIM_FILTER_DISPLAY_NAME /* displayName (groups) */
} scim_filter_attr_t;

typedef struct {
    scim_filter_attr_t attr;
    char value[256];
} scim_filter_t;

/* NULL (no filter: attr NONE) or why the filter is not answered (scimType invalidFilter). */
const char *scim_filter_parse(const char *text, scim_filter_t *out);

/* startIndex (1-based, default 1) and count (default and at most SCIM_MAX_COUNT; 0 allowed)
 * from their query texts (NULL: absent). false when one is not a number. */
bool scim_page_parse(const char *start_index, const char *count, int *start, int *n);

/* {schemas: [ListResponse], totalResults, startIndex, itemsPerPage, Resources} taking
 * `resources` (an array). NULL on OOM (resources deleted). */
cJSON *scim_list_json(cJSON *resources, long total, int start);

/* {schemas: [Error], status: "<status>", scimType?, detail}. NULL on OOM. */
cJSON *scim_error_json(int status, const char *scim_type, const char *detail);

/* ---- groups: the roles a provider gives ---- */

extern const char *const scim_group_roles[]; /* admin, editor, viewer */

/* "role_admin" → "admin"; NULL for anything else. */
const char *scim_group_role(const char *group_id);
/* The Group resource of a role with its members (an array of user_t, those of that role), or
 * without the members attribute at all (with_members false: excluded by the request). */
cJSON *scim_group_json(const char *role, const user_t *members, int n, const char *base,
                       bool with_members);
/* More members appended to a group resource made with its members (a role's next page). */
int scim_group_add_members(cJSON *group, const user_t *members, int n, const char *base);

/* Does the request want a group's members (RFC 7644 §3.4.2.5): `attributes` absent or naming
 * members, and `excludedAttributes` not naming them? Both are comma-separated lists, names
 * short or fully qualified, any case. Identity providers ask without them for large groups. */
bool scim_wants_members(const char *attributes, const char *excluded);
bool scim_names_attribute(const char *list, const char *name);

/* Members one PATCH or PUT may name: a thousand ids fit the 64 KB body a SCIM request may be. */
#define SCIM_GROUP_MAX_MEMBERS 1000

/* The member changes of a Group PATCH: ids added and removed; a `replace` of members sets
 * replace_all (the group's members become exactly `add`). */
typedef struct {
    char add[SCIM_GROUP_MAX_MEMBERS][USER_ID_LEN];
    char remove[SCIM_GROUP_MAX_MEMBERS][USER_ID_LEN];
    int nadd, nremove;
    bool replace_all;
} scim_member_ops_t;

/* A Group PATCH body of the group of `role` (add/replace `members`, remove `members` with a
 * value or `members[value eq "<id>"]`; a displayName that is the role's own — Okta sends it
 * with every replace — changes nothing, another is refused). NULL and *out, or why not. */
const char *scim_group_patch(const cJSON *body, const char *role, scim_member_ops_t *out,
                             const char **scim_type);

/* The static documents: ServiceProviderConfig, ResourceTypes, Schemas. NULL on OOM. */
cJSON *scim_service_provider_config(const char *base);
cJSON *scim_resource_types(const char *base);
cJSON *scim_schemas(void);

#endif
