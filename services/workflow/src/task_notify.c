/* tc:notify: Parameters → a com.techcorp.notification.requested event (no I/O here). */
#include "task_notify.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#define TEMPLATE_MAX 63 /* the notification service's kind names */
#define NAME_MAX_LEN 200

/* the templates only auth sends: their links carry one-time credentials */
static const char *const reserved[] = {"invitation", "password_reset", NULL};

static bool one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool template_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n > TEMPLATE_MAX || !islower((unsigned char)t[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)t[i]) && !isdigit((unsigned char)t[i]) && t[i] != '_')
            return false;
    return true;
}

/* usr_ and 26 Crockford base-32 characters, as every user id is */
static bool user_id_ok(const char *id)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (!id || strlen(id) != 30 || strncmp(id, "usr_", 4) != 0)
        return false;
    for (size_t i = 4; i < 30; i++)
        if (!strchr(alphabet, id[i]))
            return false;
    return true;
}

static int invalid(asl_err_t *err, const char *why)
{
    asl_err_set(err, NOTIFY_E_INVALID, "%s", why);
    return TC_EINVAL;
}

/* Checks the parameters; answers the fields through the out pointers (into params). */
static int check(const cJSON *params, const char **tmpl, const char **channel, const char **uid,
                 const char **email, const cJSON **name, const cJSON **vars, asl_err_t *err)
{
    static const char *const known[] = {"Template", "Channel", "To", "Params", NULL};
    static const char *const to_known[] = {"UserId", "Email", "Name", NULL};
    if (!cJSON_IsObject(params))
        return invalid(err, "Parameters must be an object");
    for (const cJSON *m = params->child; m; m = m->next)
        if (!one_of(m->string, known))
            return invalid(err, "Parameters has an unknown member (Template, Channel, To, Params)");
    *tmpl = tc_json_get_str(params, "Template");
    *channel = tc_json_get_str(params, "Channel");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(params, "To");
    *vars = cJSON_GetObjectItemCaseSensitive(params, "Params");
    if (!template_ok(*tmpl))
        return invalid(err, "Template must be a template name (a-z, 0-9, _; at most 63)");
    if (one_of(*tmpl, reserved))
        return invalid(err, "Template names one of the platform's own messages");
    if (!*channel || (strcmp(*channel, "email") != 0 && strcmp(*channel, "in_app") != 0))
        return invalid(err, "Channel must be email or in_app");
    if (*vars && !cJSON_IsObject(*vars))
        return invalid(err, "Params must be an object");
    if (!cJSON_IsObject(to))
        return invalid(err, "To must be an object with UserId");
    for (const cJSON *m = to->child; m; m = m->next)
        if (!one_of(m->string, to_known))
            return invalid(err, "To has an unknown member (UserId, Email, Name)");
    *uid = tc_json_get_str(to, "UserId");
    *email = tc_json_get_str(to, "Email");
    *name = cJSON_GetObjectItemCaseSensitive(to, "Name");
    if (!user_id_ok(*uid))
        return invalid(err, "To.UserId must be a user id (usr_…)");
    /* the rule the notification service applies: what passes here is not dead-lettered there */
    if (cJSON_GetObjectItemCaseSensitive(to, "Email") && !(*email && tc_email_valid(*email)))
        return invalid(err, "To.Email must be an email address");
    if (*name && !cJSON_IsNull(*name) &&
        (!cJSON_IsString(*name) || strlen((*name)->valuestring) > NAME_MAX_LEN))
        return invalid(err, "To.Name must be a string of at most 200 bytes, or null");
    if (strcmp(*channel, "email") == 0 && (!*email || !*name))
        return invalid(err, "an email needs To.Email and To.Name");
    return TC_OK;
}

int task_notify_build(const cJSON *params, const char *org_id, const char *occurred_at,
                      cJSON **data, cJSON **result, asl_err_t *err)
{
    const char *tmpl = NULL, *channel = NULL, *uid = NULL, *email = NULL;
    const cJSON *name = NULL, *vars = NULL;
    *data = *result = NULL;
    int rc = check(params, &tmpl, &channel, &uid, &email, &name, &vars, err);
    if (rc != TC_OK)
        return rc;
    cJSON *d = cJSON_CreateObject(), *to = NULL, *r = cJSON_CreateObject();
    bool ok =
        d && r && cJSON_AddStringToObject(d, "template", tmpl) &&
        cJSON_AddStringToObject(d, "channel", channel) && (to = cJSON_AddObjectToObject(d, "to")) &&
        cJSON_AddStringToObject(to, "user_id", uid) &&
        (!email || cJSON_AddStringToObject(to, "email", email)) &&
        (!name || cJSON_AddItemToObject(to, "name", cJSON_Duplicate(name, 1))) &&
        cJSON_AddStringToObject(d, "org_id", org_id) &&
        cJSON_AddStringToObject(d, "occurred_at", occurred_at) &&
        (!vars || cJSON_AddItemToObject(d, "params", cJSON_Duplicate(vars, 1))) &&
        cJSON_AddStringToObject(r, "Template", tmpl) &&
        cJSON_AddStringToObject(r, "Channel", channel) && cJSON_AddStringToObject(r, "UserId", uid);
    if (!ok) {
        cJSON_Delete(d);
        cJSON_Delete(r);
        return TC_ENOMEM;
    }
    *data = d;
    *result = r;
    return TC_OK;
}
