/*
 * user_model.h: the user service's domain rules, free of I/O: what a user and an org look
 * like, which fields are valid, who may change what.
 */
#ifndef USER_MODEL_H
#define USER_MODEL_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "tc/tc_auth.h"
#include "tc/tc_json.h"

#define USER_ID_LEN            64
#define USER_TS_LEN            32
#define USER_NAME_MAX          200
#define USER_PROFILE_MAX_BYTES 8192
#define USER_SEARCH_PREFIX_MAX 32

typedef struct {
    char id[USER_ID_LEN];
    char org_id[USER_ID_LEN];
    char *email;    /* owned, plaintext */
    char *name;     /* owned */
    cJSON *profile; /* owned, object */
    char role[16];
    char status[16];
    char invited_by[USER_ID_LEN];
    int64_t version;
    char created_at[USER_TS_LEN];
    char updated_at[USER_TS_LEN];
    char deleted_at[USER_TS_LEN]; /* "" when live */
} user_t;

typedef struct {
    char id[USER_ID_LEN];
    char *name;
    char plan[32];
    cJSON *settings;
    int64_t version;
    char created_at[USER_TS_LEN];
    char updated_at[USER_TS_LEN];
} org_t;

void user_clear(user_t *u);
void org_clear(org_t *o);

extern const char *const user_roles[];        /* viewer … owner */
extern const char *const user_statuses[];     /* invited active suspended deleted */
extern const char *const user_set_statuses[]; /* what PATCH may set: active suspended */

/* API representations. NULL on OOM. */
cJSON *user_to_json(const user_t *u);
cJSON *org_to_json(const org_t *o);
/* Event data: the full current state consumers need (DESIGN §6). */
cJSON *user_event_data(const user_t *u);
cJSON *org_event_data(const org_t *o);

/* Lower-cases ASCII letters (emails compare case-insensitively). Caller frees. */
char *user_email_normalize(const char *email);

/* ---- request validation: every problem recorded in jv ---- */

typedef struct {
    const char *email, *name, *role;
    const cJSON *profile;
} user_create_t;

typedef struct {
    const char *name; /* NULL: unchanged */
    const cJSON *profile;
    int has_profile;
    const char *role;
    const char *status;
} user_patch_t;

void user_validate_create(tc_jv_t *jv, const cJSON *body, user_create_t *out);
void user_validate_patch(tc_jv_t *jv, const cJSON *body, user_patch_t *out);
/* Profile: an object of at most USER_PROFILE_MAX_BYTES whose known keys have the right type
 * (title, phone, avatar_url, department, bio: strings). */
void user_validate_profile(tc_jv_t *jv, const char *field, const cJSON *profile);
/* Preferences: an object of at most max_bytes; typed known keys locale, timezone,
 * notifications {email,sms,push,in_app: bool}. */
void user_validate_preferences(tc_jv_t *jv, const cJSON *prefs, size_t max_bytes);
bool user_timezone_valid(const char *s);

/* ---- authorisation ---- */

typedef enum {
    USER_OK = 0,
    USER_DENIED,      /* 403 */
    USER_NOT_ALLOWED, /* 422-like: the change itself is not permitted for anyone */
} user_decision_t;

/*
 * The principal to authorise a write with: the token's, with its role lowered to the role the
 * actor holds now (role, status: the actor's row; NULL when the actor has no row). A token
 * outlives a demotion or suspension by up to its lifetime; the user service owns roles, so
 * its writes go by the stored ones. USER_DENIED when the actor is no longer an active member.
 */
/* true for a person's token; false for service tokens and API keys (sub "key_…"). */
bool user_actor_is_member(const tc_principal_t *p);
user_decision_t user_effective_actor(const tc_principal_t *token, const char *role,
                                     const char *status, tc_principal_t *out, const char **why);
/* May `actor` apply `patch` to `target`? `why` gets a short message when not. */
user_decision_t user_may_patch(const tc_principal_t *actor, const user_t *target,
                               const user_patch_t *patch, const char **why);
user_decision_t user_may_delete(const tc_principal_t *actor, const user_t *target,
                                const char **why);
/* May actor invite someone with this role? */
user_decision_t user_may_invite(const tc_principal_t *actor, const char *role, const char **why);
/* Self or admin+: who may read a member's preferences (profiles are open to the org). */
bool user_is_self_or_admin(const tc_principal_t *actor, const char *user_id);
/* Who may replace a member's preferences: the rule of every change to a member (yourself, an
 * admin for others, an owner for owners). */
user_decision_t user_may_write_preferences(const tc_principal_t *actor, const user_t *target,
                                           const char **why);

/* true when applying the change would leave the org without an active owner, given how many
 * other active owners there are. */
bool user_removes_last_owner(const user_t *target, const char *new_role, const char *new_status,
                             int64_t other_active_owners);

/* ---- search ---- */

/* Search keys for a user: lower-cased prefixes (1..USER_SEARCH_PREFIX_MAX code points) of
 * each word of the name (split at blanks and at - . _ , ', and also whole between blanks), of
 * the email and of its local part. Calls emit for each prefix (repeats possible). */
typedef int (*user_token_fn)(const char *prefix, size_t n, void *ud);
int user_search_prefixes(const char *name, const char *email, user_token_fn emit, void *ud);
/* Normalises a query the way prefixes are normalised (lower-case, trimmed, capped). */
char *user_search_normalize(const char *q);

#endif
