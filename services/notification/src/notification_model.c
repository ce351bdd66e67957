/* The notification service's domain rules (notification_model.h). */
#include "notification_model.h"
#include "template_model.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ requests */

bool notify_kind_valid(const char *kind)
{
    if (!kind || !(kind[0] >= 'a' && kind[0] <= 'z'))
        return false;
    size_t n = 0;
    for (const char *p = kind; *p; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    }
    return n < NOTIFY_KIND_MAX;
}

bool notify_kind_critical(const char *kind)
{
    static const char *const critical[] = {"invitation", "password_reset", NULL};
    for (int i = 0; kind && critical[i]; i++)
        if (strcmp(kind, critical[i]) == 0)
            return true;
    return false;
}

bool notify_channel_supported(const char *channel)
{
    return channel && (strcmp(channel, "email") == 0 || strcmp(channel, "in_app") == 0 ||
                       strcmp(channel, "push") == 0 || strcmp(channel, "sms") == 0);
}

static bool id_like(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s && strncmp(s, prefix, n) == 0 && s[n] == '_' && strlen(s) == n + 27;
}

int notify_request_parse(const cJSON *data, notify_request_t *req, const char **why)
{
    memset(req, 0, sizeof *req);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(data, "to");
    const cJSON *audience = cJSON_GetObjectItemCaseSensitive(data, "audience");
    req->audience_org = audience != NULL;
    req->kind = tc_json_get_str(data, "template");
    req->channel = tc_json_get_str(data, "channel");
    req->org_id = tc_json_get_str(data, "org_id");
    req->user_id = tc_json_get_str(to, "user_id");
    req->email = tc_json_get_str(to, "email");
    req->name = tc_json_get_str(to, "name");
    req->params = cJSON_GetObjectItemCaseSensitive(data, "params");
    if (!notify_kind_valid(req->kind))
        *why = "template is not a valid kind";
    else if (!notify_channel_supported(req->channel))
        *why = "unsupported channel";
    else if (audience && to)
        *why = "to and audience are exclusive";
    else if (audience && !(cJSON_IsString(audience) && strcmp(audience->valuestring, "org") == 0))
        *why = "audience is not \"org\"";
    else if (audience && notify_kind_critical(req->kind))
        *why = "an invitation or a password reset goes to one person, not an audience";
    else if (!audience && !cJSON_IsObject(to))
        *why = "to is missing";
    else if (!id_like(req->org_id, "org") || (!audience && !id_like(req->user_id, "usr")))
        *why = "org_id or to.user_id is not an id";
    else if (req->email && !tc_email_valid(req->email))
        *why = "to.email is not an email address";
    else if (req->params && !cJSON_IsObject(req->params))
        *why = "params is not an object";
    else
        return TC_OK;
    return TC_EINVAL;
}

/* ------------------------------------------------------------------ locales */

bool notify_locale_valid(const char *locale)
{
    char tmp[NOTIFY_LOCALE_MAX];
    return notify_locale_normalize(locale, tmp) == TC_OK;
}

int notify_locale_normalize(const char *locale, char out[NOTIFY_LOCALE_MAX])
{
    if (!locale)
        return TC_EINVAL;
    size_t n = strlen(locale);
    if (n < 2 || n >= NOTIFY_LOCALE_MAX)
        return TC_EINVAL;
    size_t seg = 0, segno = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = locale[i];
        if (c == '-' || c == '_' || c == '\0') {
            size_t min = segno == 0 ? 2 : 2, max = segno == 0 ? 3 : 8;
            if (seg < min || seg > max)
                return TC_EINVAL;
            /* a 2-letter region is upper case, the language lower */
            if (segno > 0 && seg == 2)
                for (size_t k = i - 2; k < i; k++)
                    out[k] = (char)toupper((unsigned char)out[k]);
            out[i] = c == '\0' ? '\0' : '-';
            seg = 0;
            segno++;
            continue;
        }
        if (segno == 0 ? !isalpha((unsigned char)c) : !isalnum((unsigned char)c))
            return TC_EINVAL;
        out[i] = segno == 0 ? (char)tolower((unsigned char)c) : c;
        seg++;
    }
    return TC_OK;
}

int notify_locale_chain(const char *locale, char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX])
{
    char norm[NOTIFY_LOCALE_MAX];
    int n = 0;
    if (locale && notify_locale_normalize(locale, norm) == TC_OK) {
        /* drop subtags one at a time: zh-Hant-TW → zh-Hant → zh */
        while (n < NOTIFY_CHAIN_MAX - 1) {
            snprintf(chain[n++], NOTIFY_LOCALE_MAX, "%s", norm);
            char *dash = strrchr(norm, '-');
            if (!dash)
                break;
            *dash = '\0';
        }
    }
    bool has_default = false;
    for (int i = 0; i < n; i++)
        has_default |= strcmp(chain[i], NOTIFY_DEFAULT_LOCALE) == 0;
    if (!has_default)
        snprintf(chain[n++], NOTIFY_LOCALE_MAX, "%s", NOTIFY_DEFAULT_LOCALE);
    return n;
}

/* ------------------------------------------------------------------ built-in templates */

static const notify_template_t builtins[] = {
    {"invitation", "en", "You're invited to join {{org_name}}{{^org_name}}TechCorp{{/org_name}}",
     "Hello {{recipient.name}}{{^recipient.name}}there{{/recipient.name}},\n\n"
     "You have been invited to TechCorp. Accept the invitation and choose your password:\n\n"
     "{{{accept_url}}}\n\n"
     "The link is valid until {{expires_at}}. If you did not expect this invitation, you can "
     "ignore this message.\n",
     "<!doctype html><html><body>"
     "<p>Hello {{recipient.name}}{{^recipient.name}}there{{/recipient.name}},</p>"
     "<p>You have been invited to TechCorp. Accept the invitation and choose your password:</p>"
     "<p><a href=\"{{accept_url}}\">Accept the invitation</a></p>"
     "<p>The link is valid until {{expires_at}}. If you did not expect this invitation, you "
     "can ignore this message.</p></body></html>"},
    {"invitation", "fr", "Vous êtes invité à rejoindre TechCorp",
     "Bonjour {{recipient.name}},\n\n"
     "Vous avez été invité à rejoindre TechCorp. Acceptez l'invitation et choisissez votre "
     "mot de passe :\n\n{{{accept_url}}}\n\nLe lien est valable jusqu'au {{expires_at}}.\n",
     "<!doctype html><html><body><p>Bonjour {{recipient.name}},</p>"
     "<p>Vous avez été invité à rejoindre TechCorp.</p>"
     "<p><a href=\"{{accept_url}}\">Accepter l'invitation</a></p>"
     "<p>Le lien est valable jusqu'au {{expires_at}}.</p></body></html>"},
    {"password_reset", "en", "Reset your TechCorp password",
     "Hello {{recipient.name}}{{^recipient.name}}there{{/recipient.name}},\n\n"
     "Someone asked to reset the password of your TechCorp account. To choose a new one, "
     "open:\n\n{{{reset_url}}}\n\n"
     "The link is valid until {{expires_at}}. If you did not ask for this, ignore this "
     "message: your password stays as it is.\n",
     "<!doctype html><html><body>"
     "<p>Hello {{recipient.name}}{{^recipient.name}}there{{/recipient.name}},</p>"
     "<p>Someone asked to reset the password of your TechCorp account.</p>"
     "<p><a href=\"{{reset_url}}\">Choose a new password</a></p>"
     "<p>The link is valid until {{expires_at}}. If you did not ask for this, ignore this "
     "message: your password stays as it is.</p></body></html>"},
    {"password_reset", "fr", "Réinitialisez votre mot de passe TechCorp",
     "Bonjour {{recipient.name}},\n\n"
     "Pour choisir un nouveau mot de passe, ouvrez :\n\n{{{reset_url}}}\n\n"
     "Le lien est valable jusqu'au {{expires_at}}.\n",
     "<!doctype html><html><body><p>Bonjour {{recipient.name}},</p>"
     "<p><a href=\"{{reset_url}}\">Choisir un nouveau mot de passe</a></p>"
     "<p>Le lien est valable jusqu'au {{expires_at}}.</p></body></html>"},
};

const notify_template_t *notify_builtin(const char *kind, const char *locale)
{
    for (size_t i = 0; kind && locale && i < TC_ARRAY_LEN(builtins); i++)
        if (strcmp(builtins[i].kind, kind) == 0 && strcmp(builtins[i].locale, locale) == 0)
            return &builtins[i];
    return NULL;
}

const notify_template_t *notify_builtin_for(const char *kind, const char *locale)
{
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(locale, chain);
    for (int i = 0; i < n; i++) {
        const notify_template_t *t = notify_builtin(kind, chain[i]);
        if (t)
            return t;
    }
    return NULL;
}

const notify_template_t *notify_builtin_digest(const char *locale)
{
    static const notify_template_t digests[] = {
        {"digest", "en", "{{count}} new notifications",
         "{{#items}}- {{subject}}\n  {{text}}\n{{/items}}",
         "<!doctype html><html><body><ul>{{#items}}<li><p><strong>{{subject}}</strong></p>"
         "<p>{{text}}</p></li>{{/items}}</ul></body></html>"},
        {"digest", "fr", "{{count}} nouvelles notifications",
         "{{#items}}- {{subject}}\n  {{text}}\n{{/items}}",
         "<!doctype html><html><body><ul>{{#items}}<li><p><strong>{{subject}}</strong></p>"
         "<p>{{text}}</p></li>{{/items}}</ul></body></html>"},
    };
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(locale, chain);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < TC_ARRAY_LEN(digests); j++)
            if (strcmp(digests[j].locale, chain[i]) == 0)
                return &digests[j];
    return &digests[0];
}

const notify_template_t *notify_builtin_generic(void)
{
    static const notify_template_t generic = {"generic", "en", "{{title}}", "{{body}}\n",
                                              "<!doctype html><html><body><p>{{body}}</p>"
                                              "</body></html>"};
    return &generic;
}

cJSON *notify_sample_params(const char *kind)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return NULL;
    bool ok = true;
    if (kind && strcmp(kind, "invitation") == 0)
        ok = cJSON_AddStringToObject(
                 p, "accept_url", "https://app.techcorp.com/invitations/accept?token=inv_sample") &&
             cJSON_AddStringToObject(p, "token", "inv_sample") &&
             cJSON_AddStringToObject(p, "expires_at", "2030-01-01T00:00:00.000Z");
    else if (kind && strcmp(kind, "password_reset") == 0)
        ok = cJSON_AddStringToObject(p, "reset_url",
                                     "https://app.techcorp.com/password/reset?token=rst_sample") &&
             cJSON_AddStringToObject(p, "token", "rst_sample") &&
             cJSON_AddStringToObject(p, "expires_at", "2030-01-01T00:00:00.000Z");
    if (!ok) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

void notify_template_validate(tc_jv_t *jv, const cJSON *body, bool with_key)
{
    static const char *const keyed[] = {"kind", "locale", "subject", "text", "html", NULL};
    static const char *const parts[] = {"subject", "text", "html", NULL};
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, with_key ? keyed : parts);
    if (with_key) {
        const char *kind = tc_jv_str(jv, body, "kind", TC_JV_REQUIRED, 1, NOTIFY_KIND_MAX - 1);
        if (kind && !notify_kind_valid(kind))
            tc_jv_error(jv, "kind", "must match ^[a-z][a-z0-9_]*$");
        const char *locale = tc_jv_str(jv, body, "locale", TC_JV_REQUIRED, 2, 35);
        if (locale && !notify_locale_valid(locale))
            tc_jv_error(jv, "locale", "must be a BCP 47 language tag such as fr-CA");
    }
    static const size_t max[] = {NOTIFY_SUBJECT_MAX, NOTIFY_BODY_MAX, NOTIFY_BODY_MAX};
    for (int i = 0; parts[i]; i++) {
        const char *s = tc_jv_str(jv, body, parts[i], TC_JV_REQUIRED, 1, max[i]);
        const char *why = NULL;
        if (s && tpl_check(s, &why) != TC_OK)
            tc_jv_error(jv, parts[i], "template syntax: %s", why);
        if (s && i == 0 && strpbrk(s, "\r\n"))
            tc_jv_error(jv, parts[i], "must be one line");
    }
}

/* ------------------------------------------------------------------ rendering */

void notify_rendered_clear(notify_rendered_t *r)
{
    free(r->subject);
    free(r->text);
    free(r->html);
    memset(r, 0, sizeof *r);
}

int notify_render(const notify_template_t *t, const cJSON *ctx, notify_rendered_t *out,
                  const char **why)
{
    memset(out, 0, sizeof *out);
    int rc = tpl_render(t->subject, ctx, false, NOTIFY_SUBJECT_MAX * 4, &out->subject, why);
    if (rc == TC_OK)
        rc = tpl_render(t->text, ctx, false, NOTIFY_RENDER_MAX, &out->text, why);
    if (rc == TC_OK)
        rc = tpl_render(t->html, ctx, true, NOTIFY_RENDER_MAX, &out->html, why);
    if (rc != TC_OK) {
        notify_rendered_clear(out);
        return rc;
    }
    for (char *p = out->subject; *p; p++) /* a header is one line */
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    return TC_OK;
}

cJSON *notify_context(const cJSON *params, const char *name, const char *email)
{
    cJSON *ctx = params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
    if (!ctx)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "recipient");
    cJSON *rcpt = cJSON_AddObjectToObject(ctx, "recipient");
    if (!rcpt || !tc_json_add_str(rcpt, "name", name) || !tc_json_add_str(rcpt, "email", email)) {
        cJSON_Delete(ctx);
        return NULL;
    }
    return ctx;
}

/* ------------------------------------------------------------------ preferences */

static const cJSON *bool_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return cJSON_IsBool(v) ? v : NULL;
}

/* categories[kind][channel] when it is a boolean, else NULL. */
static const cJSON *category_choice(const cJSON *categories, const char *kind, const char *channel)
{
    const cJSON *cat =
        cJSON_IsObject(categories) ? cJSON_GetObjectItemCaseSensitive(categories, kind) : NULL;
    return bool_member(cat, channel);
}

bool notify_pref_allows(const char *kind, const char *channel, const cJSON *user_channels,
                        const cJSON *categories, const cJSON *org_categories)
{
    if (notify_kind_critical(kind))
        return true;
    const cJSON *choice = category_choice(categories, kind, channel);
    if (choice)
        return cJSON_IsTrue(choice);
    choice = bool_member(user_channels, channel);
    if (choice && !cJSON_IsTrue(choice))
        return false; /* the user turned the channel off: no org default turns it back on */
    choice = category_choice(org_categories, kind, channel);
    return choice ? cJSON_IsTrue(choice) : true;
}

/* "HH:MM" (24-hour) into minutes after midnight; -1 when it is not one. */
static int hhmm_minutes(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

int notify_quiet_parse(const cJSON *q, notify_quiet_t *out)
{
    memset(out, 0, sizeof *out);
    const char *tz = tc_json_get_str(q, "time_zone");
    out->start_min = hhmm_minutes(tc_json_get_str(q, "start"));
    out->end_min = hhmm_minutes(tc_json_get_str(q, "end"));
    if (out->start_min < 0 || out->end_min < 0 || out->start_min == out->end_min || !tz ||
        !tc_tz_name_valid(tz))
        return TC_EINVAL;
    snprintf(out->time_zone, sizeof out->time_zone, "%s", tz);
    return TC_OK;
}

/* A member may also say false: none at all, the org's default included. The org's own
 * defaults have no such value (null already means none there). */
static void quiet_validate(tc_jv_t *jv, const cJSON *body, bool member)
{
    static const char *const keys[] = {"start", "end", "time_zone", NULL};
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "quiet_hours");
    if (!q || cJSON_IsNull(q) || (member && cJSON_IsFalse(q)))
        return;
    if (!cJSON_IsObject(q)) {
        tc_jv_error(jv, "quiet_hours",
                    member ? "must be an object, null (the org's default) or false (none)"
                           : "must be an object or null");
        return;
    }
    tc_jv_no_unknown(jv, q, keys);
    int start = hhmm_minutes(tc_json_get_str(q, "start"));
    int end = hhmm_minutes(tc_json_get_str(q, "end"));
    if (start < 0)
        tc_jv_error(jv, "quiet_hours.start", "must be a time HH:MM (24-hour)");
    if (end < 0)
        tc_jv_error(jv, "quiet_hours.end", "must be a time HH:MM (24-hour)");
    if (start >= 0 && start == end)
        tc_jv_error(jv, "quiet_hours.end", "must differ from start");
    const char *tz = tc_json_get_str(q, "time_zone");
    if (!tz || !tc_tz_name_valid(tz))
        tc_jv_error(jv, "quiet_hours.time_zone", "must be an IANA time zone (Europe/Paris)");
}

bool notify_quiet_defers(const notify_quiet_t *q, const tc_tz_t *tz, const char *kind,
                         const char *channel, int64_t now_s, int64_t *until_s)
{
    if (!q || q->start_min == q->end_min || notify_kind_critical(kind) ||
        strcmp(channel, "in_app") == 0)
        return false;
    int64_t local = now_s + tc_tz_offset(tz, now_s);
    int64_t day = local - ((local % 86400) + 86400) % 86400; /* local midnight, floored */
    int minute = (int)((local - day) / 60);
    bool inside = q->start_min < q->end_min ? minute >= q->start_min && minute < q->end_min
                                            : minute >= q->start_min || minute < q->end_min;
    if (!inside)
        return false;
    int64_t end = day + (int64_t)q->end_min * 60;
    if (end <= local)
        end += 86400;
    *until_s = tc_tz_to_utc(tz, end, NULL);
    return true;
}

/* The preferences body with the top-level members `top` allows; a member's or the org's. */
static void prefs_validate(tc_jv_t *jv, const cJSON *body, const char *const *top, bool member)
{
    static const char *const channels[] = {"email", "in_app", "sms", "push", NULL};
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, top);
    quiet_validate(jv, body, member);
    const cJSON *cats = tc_jv_obj(jv, body, "categories", TC_JV_REQUIRED);
    if (!cats)
        return;
    if (cJSON_GetArraySize(cats) > NOTIFY_CATEGORY_MAX)
        tc_jv_error(jv, "categories", "at most %d categories", NOTIFY_CATEGORY_MAX);
    const cJSON *cat;
    cJSON_ArrayForEach(cat, cats)
    {
        char field[NOTIFY_KIND_MAX + 32];
        if (!notify_kind_valid(cat->string)) {
            tc_jv_error(jv, "categories", "category names must match ^[a-z][a-z0-9_]*$");
            continue;
        }
        snprintf(field, sizeof field, "categories.%s", cat->string);
        if (!cJSON_IsObject(cat)) {
            tc_jv_error(jv, field, "must be an object of channel: true|false");
            continue;
        }
        const cJSON *ch;
        cJSON_ArrayForEach(ch, cat)
        {
            int known = 0;
            for (int i = 0; channels[i]; i++)
                known |= strcmp(ch->string, channels[i]) == 0;
            if (!known)
                tc_jv_error(jv, field, "unknown channel (email, in_app, sms, push)");
            else if (!cJSON_IsBool(ch))
                tc_jv_error(jv, field, "channel choices must be true or false");
            else if (cJSON_IsFalse(ch) && notify_kind_critical(cat->string))
                tc_jv_error(jv, field, "this kind is critical and cannot be turned off");
        }
    }
}

void notify_prefs_validate(tc_jv_t *jv, const cJSON *body)
{
    static const char *const top[] = {"categories", "quiet_hours", NULL};
    prefs_validate(jv, body, top, true);
}

static bool throttled_channel(const char *channel)
{
    return strcmp(channel, "email") == 0 || strcmp(channel, "push") == 0 ||
           strcmp(channel, "in_app") == 0 || strcmp(channel, "sms") == 0;
}

static void throttle_validate(tc_jv_t *jv, const cJSON *body)
{
    const cJSON *t = tc_jv_obj(jv, body, "throttle", TC_JV_OPTIONAL);
    const cJSON *ch;
    cJSON_ArrayForEach(ch, t)
    {
        char field[NOTIFY_KIND_MAX + 16];
        snprintf(field, sizeof field, "throttle.%s", ch->string);
        if (!throttled_channel(ch->string))
            tc_jv_error(jv, "throttle", "unknown channel (email, in_app, sms, push)");
        else if (!cJSON_IsNumber(ch) || ch->valuedouble != (double)(int64_t)ch->valuedouble ||
                 ch->valuedouble < 1 || ch->valuedouble > NOTIFY_THROTTLE_MAX)
            tc_jv_error(jv, field, "must be a whole number of messages an hour, 1 to %d",
                        NOTIFY_THROTTLE_MAX);
    }
}

static void digests_validate(tc_jv_t *jv, const cJSON *body)
{
    const cJSON *d = tc_jv_obj(jv, body, "digests", TC_JV_OPTIONAL);
    const cJSON *k;
    if (d && cJSON_GetArraySize(d) > NOTIFY_CATEGORY_MAX)
        tc_jv_error(jv, "digests", "at most %d kinds", NOTIFY_CATEGORY_MAX);
    cJSON_ArrayForEach(k, d)
    {
        char field[NOTIFY_KIND_MAX + 16];
        snprintf(field, sizeof field, "digests.%.*s", NOTIFY_KIND_MAX, k->string);
        if (!notify_kind_valid(k->string))
            tc_jv_error(jv, "digests", "a kind must match ^[a-z][a-z0-9_]*$");
        else if (notify_kind_critical(k->string))
            tc_jv_error(jv, field, "a critical kind is always sent on its own");
        else if (!cJSON_IsNumber(k) || k->valuedouble != (double)(int64_t)k->valuedouble ||
                 k->valuedouble < NOTIFY_DIGEST_MIN || k->valuedouble > NOTIFY_DIGEST_MAX)
            tc_jv_error(jv, field, "must be a whole number of minutes, %d to %d", NOTIFY_DIGEST_MIN,
                        NOTIFY_DIGEST_MAX);
    }
}

void notify_org_prefs_validate(tc_jv_t *jv, const cJSON *body)
{
    static const char *const top[] = {"categories", "digests", "quiet_hours", "throttle", NULL};
    prefs_validate(jv, body, top, false);
    if (cJSON_IsObject(body)) {
        throttle_validate(jv, body);
        digests_validate(jv, body);
    }
}

int notify_digest_minutes(const cJSON *digests, const char *kind, const char *channel)
{
    if (!kind || !channel || strcmp(channel, "email") != 0 || notify_kind_critical(kind))
        return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(digests, kind);
    return cJSON_IsNumber(v) && v->valuedouble >= NOTIFY_DIGEST_MIN &&
                   v->valuedouble <= NOTIFY_DIGEST_MAX
               ? (int)v->valuedouble
               : 0;
}

int notify_throttle_limit(const cJSON *throttle, const char *channel)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(throttle, channel);
    return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= NOTIFY_THROTTLE_MAX
               ? (int)v->valuedouble
               : 0;
}

bool notify_throttled(const char *kind, int limit, int64_t last_hour)
{
    return limit > 0 && !notify_kind_critical(kind) && last_hour >= limit;
}

/* ------------------------------------------------------------------ delivery */

notify_outcome_t notify_smtp_outcome(bool transport_ok, long smtp_code)
{
    if (!transport_ok)
        return smtp_code >= 500 && smtp_code < 600 ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT;
    if (smtp_code >= 200 && smtp_code < 300)
        return NOTIFY_SENT;
    if (smtp_code >= 500 && smtp_code < 600)
        return NOTIFY_PERMANENT;
    return NOTIFY_TRANSIENT;
}

int64_t notify_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint32_t rnd)
{
    if (initial_ms < 1)
        initial_ms = 1;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    int64_t d = initial_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t half = d / 2;
    int64_t jitter = (int64_t)((double)(d - half) * ((double)rnd / (double)UINT32_MAX));
    int64_t out = half + jitter;
    return out < 1 ? 1 : out;
}

const char *notify_next_status(notify_outcome_t outcome, int attempts, int max_attempts)
{
    if (outcome == NOTIFY_SENT)
        return "delivered";
    if (outcome == NOTIFY_TRANSIENT && attempts < max_attempts)
        return "retrying";
    return "failed";
}

int notify_message_id(const char *delivery_id, const char *domain, char *out, size_t outlen)
{
    if (!delivery_id || !domain || !*domain || strpbrk(domain, "<>@ \r\n") ||
        strpbrk(delivery_id, "<>@ \r\n"))
        return TC_EINVAL;
    int n = snprintf(out, outlen, "<%s@%s>", delivery_id, domain);
    return n > 0 && (size_t)n < outlen ? TC_OK : TC_EINVAL;
}
