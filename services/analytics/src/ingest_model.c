#include "ingest_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_db.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_PREFIX "com.techcorp."

/* Fields never copied into properties, at any depth: personal data (analytics keeps ids, not
 * who a person is), secrets a message carries (a password reset's link and token ride in a
 * notification request's params), and bulky payloads (definitions, bodies, snapshots). A
 * notification's recipient (`to`) and template parameters (`params`) go whole. */
static const char *const dropped_fields[] = {
    "org_id", "email",  "name",     "ip",      "phone",   "payload", "states",     "description",
    "before", "after",  "title",    "body",    "fields",  "subject", "to",         "params",
    "token",  "secret", "password", "headers", "address", "url",     "accept_url", NULL,
};
/* ... and any field named like one of these (reset_url, api_token, signing_secret) */
static const char *const dropped_suffixes[] = {"_url",   "_token",    "_secret",
                                               "_email", "_password", NULL};

/* Where the person an event is about is named, first match wins. */
static const char *const person_fields[] = {"principal", "user_id", "recipient_id", "actor_id",
                                            NULL};

static bool dropped(const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; dropped_fields[i]; i++)
        if (strcmp(name, dropped_fields[i]) == 0)
            return true;
    for (int i = 0; dropped_suffixes[i]; i++) {
        size_t k = strlen(dropped_suffixes[i]);
        if (n >= k && strcmp(name + n - k, dropped_suffixes[i]) == 0)
            return true;
    }
    return false;
}

/* A copy of v without the dropped fields of any object inside it. */
static cJSON *scrubbed(const cJSON *v)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return cJSON_Duplicate(v, false);
    cJSON *out = cJSON_IsObject(v) ? cJSON_CreateObject() : cJSON_CreateArray();
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        if (cJSON_IsObject(v) && (!m->string || dropped(m->string)))
            continue;
        cJSON *copy = out ? scrubbed(m) : NULL;
        bool added = copy && (cJSON_IsObject(v) ? cJSON_AddItemToObject(out, m->string, copy)
                                                : cJSON_AddItemToArray(out, copy));
        if (!added) {
            cJSON_Delete(copy);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

static const char *org_of(const char *name, const cJSON *data)
{
    const char *org = tc_json_get_str(data, "org_id");
    if (!org && strncmp(name, "org.", 4) == 0)
        org = tc_json_get_str(data, "id"); /* an org's own events name it as id */
    return org && *org && strlen(org) <= AN_ORG_MAX ? org : NULL;
}

static const char *person_of(const char *name, const cJSON *data)
{
    for (int i = 0; person_fields[i]; i++) {
        const char *p = tc_json_get_str(data, person_fields[i]);
        if (p && *p)
            return p;
    }
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(data, "actor");
    const char *a = cJSON_IsObject(actor) ? tc_json_get_str(actor, "id") : NULL;
    if (a && *a)
        return a;
    const char *id = strncmp(name, "user.", 5) == 0 ? tc_json_get_str(data, "id") : NULL;
    return id ? id : "";
}

/* The data's members but the dropped ones; {"$truncated": true} when they are too big. */
static int properties_of(const cJSON *data, cJSON **out)
{
    cJSON *props = scrubbed(data);
    if (!props)
        return TC_ENOMEM;
    char *text = cJSON_PrintUnformatted(props);
    size_t len = text ? strlen(text) : 0;
    free(text);
    if (len > AN_PROPS_MAX) {
        cJSON_Delete(props);
        props = cJSON_CreateObject();
        if (!props || !cJSON_AddTrueToObject(props, "$truncated")) {
            cJSON_Delete(props);
            return TC_ENOMEM;
        }
    }
    *out = props;
    return TC_OK;
}

/* The event's own time: occurred_at, then the other usual names, then the envelope's. */
static int64_t time_of(const cJSON *data, const char *envelope_time, int64_t now_ms)
{
    static const char *const fields[] = {"occurred_at", "started_at", "received_at", NULL};
    int64_t ms;
    for (int i = 0; fields[i]; i++) {
        const char *t = tc_json_get_str(data, fields[i]);
        if (t && tc_time_parse(t, &ms) == TC_OK)
            return ms;
    }
    if (envelope_time && tc_time_parse(envelope_time, &ms) == TC_OK)
        return ms;
    return now_ms;
}

int an_row_from_event(const char *type, const char *id, const char *time, const cJSON *data,
                      int64_t now_ms, int64_t oldest_ms, int64_t skew_ms, an_row_t *row,
                      an_verdict_t *verdict)
{
    memset(row, 0, sizeof *row);
    *verdict = AN_KEEP;
    if (!type || !id || !*id || strlen(id) > AN_EVENT_ID_MAX || !cJSON_IsObject(data))
        return TC_EINVAL;
    const char *name =
        strncmp(type, TYPE_PREFIX, strlen(TYPE_PREFIX)) == 0 ? type + strlen(TYPE_PREFIX) : type;
    if (!*name || strlen(name) > AN_NAME_MAX)
        return TC_EINVAL;
    row->org_id = org_of(name, data);
    if (!row->org_id) {
        *verdict = AN_SKIP_NO_ORG;
        return TC_OK;
    }
    /* The time is decided by the event alone, so a redelivery gets the same one and stays one
     * row: a data time more than the skew past the envelope's (set by the producer's outbox
     * at commit) is not believed, and the envelope's is taken. Only then is the clock asked:
     * a time still ahead of it is skipped (a month without a partition must not fill). */
    row->occurred_ms = time_of(data, time, now_ms);
    int64_t envelope_ms = 0;
    if (time && tc_time_parse(time, &envelope_ms) == TC_OK &&
        row->occurred_ms > envelope_ms + skew_ms)
        row->occurred_ms = envelope_ms;
    if (row->occurred_ms > now_ms + skew_ms) {
        *verdict = AN_SKIP_FUTURE;
        return TC_OK;
    }
    if (row->occurred_ms < oldest_ms) {
        *verdict = AN_SKIP_EXPIRED;
        return TC_OK;
    }
    row->id = id;
    row->name = name;
    row->distinct_id = person_of(name, data);
    if (strlen(row->distinct_id) > AN_DISTINCT_MAX * 4)
        row->distinct_id = "";
    return properties_of(data, &row->properties);
}

void an_row_clear(an_row_t *row)
{
    cJSON_Delete(row->properties);
    memset(row, 0, sizeof *row);
}

void an_rows_free(an_row_t *rows, int n)
{
    for (int i = 0; rows && i < n; i++) {
        cJSON_Delete(rows[i].properties);
        free((char *)rows[i].id); /* capture rows own their id (see capture_one) */
    }
    free(rows);
}

/* ------------------------------------------------------------------ capture */

static bool id_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.' || *s == ':'))
            return false;
    return true;
}

/* A string member of 1..max code points; an error on field.name otherwise. */
static const char *member_str(tc_jv_t *jv, const cJSON *ev, const char *field, const char *name,
                              bool required, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);
    if (!v) {
        if (required)
            tc_jv_error(jv, field, "%s is required", name);
        return NULL;
    }
    ssize_t cps = cJSON_IsString(v) ? tc_utf8_validate(v->valuestring, strlen(v->valuestring)) : -1;
    if (cps < 1 || (size_t)cps > max) {
        tc_jv_error(jv, field, "%s: a string of 1 to %zu characters", name, max);
        return NULL;
    }
    return v->valuestring;
}

/* Well-formed UTF-8; control characters are fine (JSON escapes them). */
static bool utf8_ok(const char *s)
{
    return tc_utf8_count(s, strlen(s)) >= 0;
}

/* Every name and string inside v is well-formed UTF-8: PostgreSQL would refuse the whole
 * batch for one bad byte. */
static bool text_valid(const cJSON *v)
{
    if (v->string && !utf8_ok(v->string))
        return false;
    if (cJSON_IsString(v))
        return utf8_ok(v->valuestring);
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        if (!text_valid(m))
            return false;
    }
    return true;
}

static void capture_one(const cJSON *ev, const char *field, int64_t now_ms, int64_t oldest_ms,
                        int64_t skew_ms, tc_jv_t *jv, const char *org_id, an_row_t *row)
{
    static const char *const allowed[] = {"event",     "distinct_id", "properties",
                                          "timestamp", "uuid",        NULL};
    char where[96];
    if (!cJSON_IsObject(ev)) {
        tc_jv_error(jv, field, "an event object");
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, ev)
    {
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = m->string && strcmp(m->string, allowed[i]) == 0;
        if (!known) {
            snprintf(where, sizeof where, "%s.%s", field, m->string ? m->string : "?");
            tc_jv_error(jv, where, "unknown field");
        }
    }
    snprintf(where, sizeof where, "%s.event", field);
    const char *name = member_str(jv, ev, where, "event", true, AN_NAME_MAX);
    if (name && strlen(name) > AN_NAME_MAX) { /* the query language's limit is in bytes */
        tc_jv_error(jv, where, "event: at most %d bytes", AN_NAME_MAX);
        name = NULL;
    }
    snprintf(where, sizeof where, "%s.distinct_id", field);
    const char *person = member_str(jv, ev, where, "distinct_id", true, AN_DISTINCT_MAX);
    snprintf(where, sizeof where, "%s.uuid", field);
    const char *uuid = member_str(jv, ev, where, "uuid", false, AN_EVENT_ID_MAX);
    if (uuid && !id_chars_ok(uuid)) {
        tc_jv_error(jv, where, "letters, digits and _ - . : only");
        uuid = NULL;
    }
    int64_t at = now_ms;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(ev, "timestamp");
    snprintf(where, sizeof where, "%s.timestamp", field);
    /* an event is the same event again only at the same time: a client that retries fixes
     * both, as PostHog's SDKs do */
    if (uuid && !ts)
        tc_jv_error(jv, where,
                    "required with uuid (a retry is the same event only at the same time)");
    else if (ts && (!cJSON_IsString(ts) || tc_time_parse(ts->valuestring, &at) != TC_OK))
        tc_jv_error(jv, where, "an RFC 3339 time");
    else if (at < oldest_ms || at > now_ms + skew_ms)
        tc_jv_error(jv, where, "within the retention and not more than a day ahead");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
    snprintf(where, sizeof where, "%s.properties", field);
    char *text = props && cJSON_IsObject(props) ? cJSON_PrintUnformatted(props) : NULL;
    if (props && !cJSON_IsObject(props))
        tc_jv_error(jv, where, "an object");
    else if (props && !text_valid(props))
        tc_jv_error(jv, where, "names and strings of well-formed UTF-8");
    else if (props && (!text || strlen(text) > AN_PROPS_MAX))
        tc_jv_error(jv, where, "at most %d bytes as JSON", AN_PROPS_MAX);
    free(text);
    if (tc_jv_failed(jv))
        return; /* rows are built only for a clean request */
    char idbuf[AN_EVENT_ID_MAX + 1];
    if (uuid)
        snprintf(idbuf, sizeof idbuf, "%s", uuid);
    else if (tc_id_new("evt_", idbuf, sizeof idbuf) != TC_OK)
        jv->oom = 1;
    row->org_id = org_id;
    row->name = name;
    row->distinct_id = person;
    row->occurred_ms = at;
    row->id = jv->oom ? NULL : strdup(idbuf);
    row->properties = props ? cJSON_Duplicate(props, true) : cJSON_CreateObject();
    if (!row->id || !row->properties)
        jv->oom = 1;
}

int an_rows_from_capture(const cJSON *body, int64_t now_ms, int64_t oldest_ms, int64_t skew_ms,
                         tc_jv_t *jv, const char *org_id, an_row_t **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(body, "batch");
    int count = 1;
    if (batch) {
        count = cJSON_IsArray(batch) ? cJSON_GetArraySize(batch) : -1;
        if (count < 1 || count > AN_CAPTURE_MAX) {
            tc_jv_error(jv, "batch", "an array of 1 to %d events", AN_CAPTURE_MAX);
            return TC_EINVAL;
        }
        if (cJSON_GetArraySize(body) != 1)
            tc_jv_error(jv, "body", "batch is the only member of a batch request");
    }
    an_row_t *out = calloc((size_t)count, sizeof *out);
    if (!out)
        return TC_ENOMEM;
    if (!batch) {
        capture_one(body, "body", now_ms, oldest_ms, skew_ms, jv, org_id, &out[0]);
    } else {
        int i = 0;
        const cJSON *ev;
        cJSON_ArrayForEach(ev, batch)
        {
            char field[32];
            snprintf(field, sizeof field, "batch[%d]", i);
            capture_one(ev, field, now_ms, oldest_ms, skew_ms, jv, org_id, &out[i++]);
        }
    }
    if (jv->oom || tc_jv_failed(jv)) {
        int rc = jv->oom ? TC_ENOMEM : TC_EINVAL;
        an_rows_free(out, count);
        return rc;
    }
    *rows = out;
    *n = count;
    return TC_OK;
}

/* ------------------------------------------------------------------ COPY text format */

int an_copy_line(tc_buf_t *out, const an_row_t *row, const char *source)
{
    char at[TC_RFC3339_LEN];
    tc_time_format(row->occurred_ms, at);
    char *props = cJSON_PrintUnformatted(row->properties);
    if (!props)
        return TC_ENOMEM;
    const char *fields[] = {row->org_id, row->id, row->name, row->distinct_id, at, source, props};
    int rc = TC_OK;
    for (size_t i = 0; rc == TC_OK && i < TC_ARRAY_LEN(fields); i++) {
        rc = tc_db_copy_field(out, fields[i] ? fields[i] : "",
                              i + 1 < TC_ARRAY_LEN(fields) ? '\t' : '\n');
    }
    free(props);
    return rc;
}
