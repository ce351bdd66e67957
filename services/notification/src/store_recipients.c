/* The recipient read model (user-events) and each user's per-category choices. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void recipient_clear(recipient_t *r)
{
    cJSON_Delete(r->channels);
    cJSON_Delete(r->categories);
    cJSON_Delete(r->org_categories);
    cJSON_Delete(r->org_throttle);
    cJSON_Delete(r->org_digests);
    free(r->email);
    free(r->name);
    free(r->phone);
    memset(r, 0, sizeof *r);
}

int store_recipient_apply_state(notification_app_t *app, tc_dbconn_t *tx, const cJSON *user)
{
    const char *id = tc_json_get_str(user, "id"), *org = tc_json_get_str(user, "org_id");
    const char *email = tc_json_get_str(user, "email"), *name = tc_json_get_str(user, "name");
    const char *status = tc_json_get_str(user, "status");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(user, "version");
    if (!id || !org || !email || !status || !cJSON_IsNumber(version))
        return TC_EINVAL;
    /* the number as the person wrote it (their profile's); SMS needs it in E.164 */
    const char *phone = tc_json_get_str(user, "phone");
    char *email_enc = NULL, *name_enc = NULL, *phone_enc = NULL, ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)version->valuedouble);
    int rc = tc_keyring_seal(app->keys, org, "recipient.email", email, &email_enc);
    if (rc == TC_OK && name)
        rc = tc_keyring_seal(app->keys, org, "recipient.name", name, &name_enc);
    if (rc == TC_OK && phone && *phone)
        rc = tc_keyring_seal(app->keys, org, "recipient.phone", phone, &phone_enc);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "rcpt_state",
                      "INSERT INTO recipients (user_id, org_id, email_enc, name_enc, phone_enc,"
                      " status, state_version) VALUES ($1,$2,$3,$4,$5,$6,$7::bigint)"
                      " ON CONFLICT (user_id) DO UPDATE SET org_id = EXCLUDED.org_id,"
                      " email_enc = EXCLUDED.email_enc, name_enc = EXCLUDED.name_enc,"
                      " phone_enc = EXCLUDED.phone_enc,"
                      " status = EXCLUDED.status, state_version = EXCLUDED.state_version,"
                      " updated_at = now() WHERE recipients.state_version < EXCLUDED.state_version",
                      id, org, email_enc, name_enc, phone_enc, status, ver);
    free(email_enc);
    free(name_enc);
    free(phone_enc);
    return rc;
}

int store_recipient_apply_prefs(tc_dbconn_t *tx, const cJSON *data)
{
    const char *id = tc_json_get_str(data, "id"), *org = tc_json_get_str(data, "org_id");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(data, "version");
    const cJSON *prefs = cJSON_GetObjectItemCaseSensitive(data, "preferences");
    if (!id || !org || !cJSON_IsNumber(version) || !cJSON_IsObject(prefs))
        return TC_EINVAL;
    const char *locale = tc_json_get_str(prefs, "locale");
    char norm[NOTIFY_LOCALE_MAX], ver[24];
    if (!locale || notify_locale_normalize(locale, norm) != TC_OK)
        norm[0] = '\0';
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(prefs, "notifications");
    char *channels = cJSON_IsObject(ch) ? cJSON_PrintUnformatted(ch) : strdup("{}");
    if (!channels)
        return TC_ENOMEM;
    snprintf(ver, sizeof ver, "%lld", (long long)version->valuedouble);
    int rc = tc_db_qp(tx, NULL, "rcpt_prefs",
                      "INSERT INTO recipients (user_id, org_id, locale, channels, prefs_version)"
                      " VALUES ($1,$2,NULLIF($3,''),$4::jsonb,$5::bigint)"
                      " ON CONFLICT (user_id) DO UPDATE SET locale = EXCLUDED.locale,"
                      " channels = EXCLUDED.channels, prefs_version = EXCLUDED.prefs_version,"
                      " updated_at = now() WHERE recipients.prefs_version < EXCLUDED.prefs_version",
                      id, org, norm, channels, ver);
    free(channels);
    return rc;
}

int store_recipient_forget(tc_dbconn_t *tx, const char *user_id)
{
    int rc = tc_db_qp(tx, NULL, "rcpt_forget", "DELETE FROM recipients WHERE user_id=$1", user_id);
    if (rc == TC_OK)
        rc =
            tc_db_qp(tx, NULL, "prefs_forget", "DELETE FROM preferences WHERE user_id=$1", user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "inbox_forget", "DELETE FROM inbox WHERE user_id=$1", user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "inbox_seq_forget", "DELETE FROM inbox_seq WHERE user_id=$1",
                      user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "push_forget", "DELETE FROM push_subscriptions WHERE user_id=$1",
                      user_id);
    if (rc == TC_OK) /* with their items and the address they were going to */
        rc = tc_db_qp(tx, NULL, "digest_forget", "DELETE FROM digests WHERE recipient_id=$1",
                      user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "dlv_forget",
                      "UPDATE deliveries SET message_enc = NULL WHERE recipient_id=$1", user_id);
    return rc;
}

/* The columns a recipient is read from: RCPT_COLS over recipients r, preferences p (the
 * user's) and org_preferences o (their org's), in the order recipient_fill reads them. */
#define RCPT_COLS                                                                                  \
    "r.status, coalesce(r.locale, ''), r.channels::text, coalesce(p.categories, '{}')::text,"      \
    " r.email_enc, r.name_enc, coalesce(p.quiet_hours, o.quiet_hours)::text,"                      \
    " coalesce(o.categories, '{}')::text, coalesce(o.throttle, '{}')::text, r.phone_enc,"          \
    " coalesce(o.digests, '{}')::text"

/* Row `row` of r (RCPT_COLS) → out; found false: the user has no recipient row (the org's
 * columns may still be there). */
static int recipient_fill(notification_app_t *app, const char *org_id, const PGresult *r, int row,
                          bool found, recipient_t *out)
{
    bool any = PQntuples(r) > row;
    int rc = TC_OK;
    snprintf(out->status, sizeof out->status, "%s", found ? tc_db_val(r, row, 0) : "unknown");
    if (found)
        snprintf(out->locale, sizeof out->locale, "%s", tc_db_val(r, row, 1));
    out->channels = cJSON_Parse(found ? tc_db_val(r, row, 2) : "{}");
    out->categories = cJSON_Parse(any ? tc_db_val(r, row, 3) : "{}");
    out->org_categories = cJSON_Parse(any ? tc_db_val(r, row, 7) : "{}");
    out->org_throttle = cJSON_Parse(any ? tc_db_val(r, row, 8) : "{}");
    out->org_digests = cJSON_Parse(any ? tc_db_val(r, row, 10) : "{}");
    if (!out->channels || !out->categories || !out->org_categories || !out->org_throttle ||
        !out->org_digests)
        rc = TC_ENOMEM;
    if (rc == TC_OK && any && tc_db_val(r, row, 6)) {
        cJSON *q = cJSON_Parse(tc_db_val(r, row, 6));
        /* stored after validation: a member's false (none, the org's neither) holds nothing
         * back, and a row that does not parse is ignored, not fatal */
        out->has_quiet = cJSON_IsObject(q) && notify_quiet_parse(q, &out->quiet) == TC_OK;
        cJSON_Delete(q);
    }
    /* a row that does not open under the org's key is a fault, not an unknown address */
    if (rc == TC_OK && found && tc_db_val(r, row, 4))
        rc = tc_keyring_open(app->keys, org_id, "recipient.email", tc_db_val(r, row, 4),
                             &out->email);
    if (rc == TC_OK && found && tc_db_val(r, row, 5))
        rc = tc_keyring_open(app->keys, org_id, "recipient.name", tc_db_val(r, row, 5), &out->name);
    if (rc == TC_OK && found && tc_db_val(r, row, 9))
        rc = tc_keyring_open(app->keys, org_id, "recipient.phone", tc_db_val(r, row, 9),
                             &out->phone);
    if (rc != TC_OK)
        recipient_clear(out);
    return rc == TC_EINVAL ? TC_ERROR : rc;
}

int store_recipient_get(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                        const char *user_id, recipient_t *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "rcpt_get",
                      "SELECT " RCPT_COLS " FROM (SELECT $2::text AS user_id) k"
                      " LEFT JOIN recipients r ON r.user_id = k.user_id AND r.org_id = $1"
                      " LEFT JOIN preferences p ON p.user_id = k.user_id AND p.org_id = $1"
                      " LEFT JOIN org_preferences o ON o.org_id = $1",
                      org_id, user_id);
    if (rc == TC_OK)
        rc = recipient_fill(app, org_id, r, 0, PQntuples(r) == 1 && tc_db_val(r, 0, 0), out);
    PQclear(r);
    return rc;
}

/* Members are read this many at a time (keyset by user id): an org of any size in bounded
 * memory. */
#define RCPT_PAGE 2000

int store_recipients_each(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                          recipient_fn fn, void *ud)
{
    char after[TC_ID_MAX] = "", page[16];
    snprintf(page, sizeof page, "%d", RCPT_PAGE);
    for (;;) {
        PGresult *r = NULL;
        int rc = tc_db_qp(c, &r, "rcpt_each",
                          "SELECT " RCPT_COLS ", r.user_id FROM recipients r"
                          " LEFT JOIN preferences p ON p.user_id = r.user_id AND p.org_id = $1"
                          " LEFT JOIN org_preferences o ON o.org_id = $1"
                          " WHERE r.org_id = $1 AND r.status = 'active'"
                          " AND r.user_id COLLATE \"C\" > $2"
                          " ORDER BY r.user_id COLLATE \"C\" LIMIT $3::int",
                          org_id, after, page);
        int rows = rc == TC_OK ? PQntuples(r) : 0;
        for (int i = 0; rc == TC_OK && i < rows; i++) {
            recipient_t rcpt;
            memset(&rcpt, 0, sizeof rcpt);
            rc = recipient_fill(app, org_id, r, i, true, &rcpt);
            if (rc == TC_OK) {
                rc = fn(tc_db_val(r, i, 11), &rcpt, ud);
                recipient_clear(&rcpt);
            }
        }
        if (rc == TC_OK && rows > 0)
            snprintf(after, sizeof after, "%s", tc_db_val(r, rows - 1, 11));
        PQclear(r);
        if (rc != TC_OK || rows < RCPT_PAGE)
            return rc;
    }
}

int store_prefs_get(tc_dbconn_t *c, const char *org_id, const char *user_id, char **json,
                    char **quiet, int64_t *version)
{
    PGresult *r = NULL;
    *json = *quiet = NULL;
    *version = 0;
    int rc = tc_db_qp(c, &r, "prefs_get",
                      "SELECT categories::text, version, quiet_hours::text FROM preferences"
                      " WHERE user_id=$1 AND org_id=$2",
                      user_id, org_id);
    if (rc == TC_OK) {
        bool found = PQntuples(r) == 1;
        *json = strdup(found ? tc_db_val(r, 0, 0) : "{}");
        *version = found ? tc_db_int(r, 0, 1, 0) : 0;
        if (found && tc_db_val(r, 0, 2) && !(*quiet = strdup(tc_db_val(r, 0, 2))))
            rc = TC_ENOMEM;
        if (!*json)
            rc = TC_ENOMEM;
        if (rc != TC_OK) {
            free(*json);
            free(*quiet);
            *json = *quiet = NULL;
        }
    }
    PQclear(r);
    return rc;
}

int store_prefs_put(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *json,
                    const char *quiet, int64_t *version)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "prefs_put",
                      "INSERT INTO preferences (user_id, org_id, categories, quiet_hours)"
                      " VALUES ($1,$2,$3::jsonb,$4::jsonb)"
                      " ON CONFLICT (user_id) DO UPDATE SET categories = EXCLUDED.categories,"
                      " quiet_hours = EXCLUDED.quiet_hours,"
                      " version = preferences.version + 1, updated_at = now()"
                      " WHERE preferences.org_id = EXCLUDED.org_id RETURNING version",
                      user_id, org_id, json, quiet);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        *version = tc_db_int(r, 0, 0, 1);
    PQclear(r);
    return rc;
}

void org_prefs_clear(org_prefs_t *o)
{
    free(o->categories);
    free(o->throttle);
    free(o->quiet);
    free(o->digests);
    memset(o, 0, sizeof *o);
}

int store_org_prefs_get(tc_dbconn_t *c, const char *org_id, org_prefs_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(c, &r, "org_prefs_get",
                      "SELECT categories::text, throttle::text, version, quiet_hours::text,"
                      " digests::text FROM org_preferences WHERE org_id=$1",
                      org_id);
    if (rc == TC_OK) {
        bool found = PQntuples(r) == 1;
        const char *quiet = found ? tc_db_val(r, 0, 3) : NULL;
        out->version = found ? tc_db_int(r, 0, 2, 0) : 0;
        if (!(out->categories = strdup(found ? tc_db_val(r, 0, 0) : "{}")) ||
            !(out->throttle = strdup(found ? tc_db_val(r, 0, 1) : "{}")) ||
            !(out->digests = strdup(found ? tc_db_val(r, 0, 4) : "{}")) ||
            (quiet && !(out->quiet = strdup(quiet))))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc != TC_OK)
        org_prefs_clear(out);
    return rc;
}

int store_org_prefs_put(tc_dbconn_t *c, const char *org_id, org_prefs_t *o)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "org_prefs_put",
                      "INSERT INTO org_preferences (org_id, categories, throttle, quiet_hours,"
                      " digests) VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, $5::jsonb)"
                      " ON CONFLICT (org_id) DO UPDATE SET categories = EXCLUDED.categories,"
                      " throttle = EXCLUDED.throttle, quiet_hours = EXCLUDED.quiet_hours,"
                      " digests = EXCLUDED.digests,"
                      " version = org_preferences.version + 1, updated_at = now()"
                      " RETURNING version",
                      org_id, o->categories, o->throttle, o->quiet, o->digests);
    if (rc == TC_OK)
        o->version = tc_db_int(r, 0, 0, 1);
    PQclear(r);
    return rc;
}

int store_recent_deliveries(tc_dbconn_t *c, const char *org_id, const char *user_id,
                            const char *channel, int64_t *n)
{
    PGresult *r = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "dlv_recent",
                      "SELECT count(*) FROM deliveries WHERE recipient_id = $2 AND channel = $3"
                      " AND created_at > now() - interval '1 hour' AND org_id = $1"
                      " AND status <> 'suppressed'",
                      org_id, user_id, channel);
    if (rc == TC_OK)
        *n = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

static int recent_cmp(const void *a, const void *b)
{
    return strcmp(((const recent_count_t *)a)->user_id, ((const recent_count_t *)b)->user_id);
}

int store_recent_by_recipient(tc_dbconn_t *c, const char *org_id, const char *channel,
                              recent_count_t **out, int *n)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "dlv_recent_org",
                      "SELECT recipient_id, count(*) FROM deliveries WHERE org_id = $1"
                      " AND channel = $2 AND created_at > now() - interval '1 hour'"
                      " AND status <> 'suppressed' GROUP BY recipient_id",
                      org_id, channel);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0) {
        *out = calloc((size_t)rows, sizeof **out);
        if (!*out)
            rc = TC_ENOMEM;
    }
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        snprintf((*out)[i].user_id, sizeof(*out)[i].user_id, "%s", tc_db_val(r, i, 0));
        (*out)[i].count = tc_db_int(r, i, 1, 0);
    }
    PQclear(r);
    if (rc != TC_OK) {
        free(*out);
        *out = NULL;
        return rc;
    }
    if (rows > 1) /* sorted here, by the same comparison recent_count_of searches with */
        qsort(*out, (size_t)rows, sizeof **out, recent_cmp);
    *n = rows;
    return TC_OK;
}

int64_t recent_count_of(const recent_count_t *counts, int n, const char *user_id)
{
    recent_count_t key;
    snprintf(key.user_id, sizeof key.user_id, "%s", user_id);
    const recent_count_t *hit =
        n > 0 ? bsearch(&key, counts, (size_t)n, sizeof *counts, recent_cmp) : NULL;
    return hit ? hit->count : 0;
}

int store_settings_get(tc_dbconn_t *c, const char *org_id, char **from_email, char **from_name)
{
    PGresult *r = NULL;
    *from_email = *from_name = NULL;
    int rc = tc_db_qp(c, &r, "settings_get",
                      "SELECT from_email, from_name FROM org_settings WHERE org_id=$1", org_id);
    if (rc == TC_OK && PQntuples(r) == 1) {
        const char *e = tc_db_val(r, 0, 0), *n = tc_db_val(r, 0, 1);
        if ((e && !(*from_email = strdup(e))) || (n && !(*from_name = strdup(n)))) {
            free(*from_email);
            *from_email = NULL;
            rc = TC_ENOMEM;
        }
    }
    PQclear(r);
    return rc;
}

int store_settings_put(tc_dbconn_t *c, const char *org_id, const char *from_email,
                       const char *from_name)
{
    return tc_db_qp(c, NULL, "settings_put",
                    "INSERT INTO org_settings (org_id, from_email, from_name) VALUES ($1,$2,$3)"
                    " ON CONFLICT (org_id) DO UPDATE SET from_email = EXCLUDED.from_email,"
                    " from_name = EXCLUDED.from_name, version = org_settings.version + 1,"
                    " updated_at = now()",
                    org_id, from_email, from_name);
}
