/*
 * tc_audit against the real PostgreSQL: an audit record is an outbox row of
 * com.techcorp.audit.recorded on audit-events, keyed and sourced by the resource acted upon,
 * whose data validates against proto/events/com.techcorp.audit.recorded.json (checked with
 * python3-jsonschema, as the service suites check theirs), and it stands or falls with the
 * transaction of the change it records.
 */
#include "component.h"

#include "tc/tc_audit.h"
#include "tc/tc_auth.h"

#include <unistd.h>

static tc_db_t *db;

static void setup(void)
{
    db = it_db(2);
    tc_log_set_context(NULL, NULL);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 60);

static tc_principal_t user_actor(void)
{
    tc_principal_t p = {.role = TC_ROLE_ADMIN};
    snprintf(p.sub, sizeof p.sub, "usr_actor1");
    snprintf(p.org, sizeof p.org, "org_audit1");
    return p;
}

/* The outbox row of the record about target_id: topic, type, source, key, data. */
typedef struct {
    char topic[64], type[96], source[128], key[96], data[4096];
} row_t;

static int fetch_row(const char *target_id, row_t *out)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_not_null(c);
    PGresult *r = NULL;
    int rc = tc_db_q(c, &r,
                     "SELECT topic, type, source, partition_key, data FROM outbox"
                     " WHERE partition_key=$1 AND type='com.techcorp.audit.recorded'",
                     target_id);
    tc_db_release(db, c);
    cr_assert_eq(rc, TC_OK);
    int n = PQntuples(r);
    if (n == 1) {
        snprintf(out->topic, sizeof out->topic, "%s", tc_db_val(r, 0, 0));
        snprintf(out->type, sizeof out->type, "%s", tc_db_val(r, 0, 1));
        snprintf(out->source, sizeof out->source, "%s", tc_db_val(r, 0, 2));
        snprintf(out->key, sizeof out->key, "%s", tc_db_val(r, 0, 3));
        snprintf(out->data, sizeof out->data, "%s", tc_db_val(r, 0, 4));
    }
    PQclear(r);
    return n;
}

/* Validates data against the event's JSON Schema in proto/events/ (python3-jsonschema). */
static void assert_schema_valid(const char *data)
{
    char path[] = "/tmp/tc-audit-data-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json, sys, jsonschema\n"
             "schema = json.load(open(sys.argv[2]))\n"
             "jsonschema.validate(json.load(open(sys.argv[1])), schema,"
             " format_checker=jsonschema.FormatChecker())' %s "
             "'%s/proto/events/com.techcorp.audit.recorded.json' 2>&1",
             path, it_env("TC_TEST_ROOT"));
    int status = system(cmd);
    unlink(path);
    cr_assert_eq(status, 0, "the audit data does not match its schema: %s", data);
}

static int record(const tc_principal_t *actor, const char *target_id, const cJSON *before,
                  const cJSON *after, int commit)
{
    tc_dbconn_t *tx = tc_db_acquire(db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    int rc = tc_audit_record(tx, actor, "org_audit1", "user.role_changed", "user", target_id,
                             before, after);
    if (commit)
        cr_assert_eq(tc_db_commit(tx), TC_OK);
    else
        tc_db_rollback(tx);
    tc_db_release(db, tx);
    return rc;
}

Test(audit, a_user_action_is_recorded_on_audit_events_keyed_by_its_target)
{
    char target[64];
    it_unique("usr_t", target, sizeof target);
    tc_principal_t actor = user_actor();
    cJSON *before = cJSON_Parse("{\"role\":\"viewer\"}");
    cJSON *after = cJSON_Parse("{\"role\":\"editor\"}");
    tc_log_set_context("req_audit0001", NULL);
    cr_assert_eq(record(&actor, target, before, after, 1), TC_OK);
    /* borrowed, copied: the caller may change or free its objects afterwards */
    cJSON_ReplaceItemInObject(after, "role", cJSON_CreateString("owner"));
    cJSON_Delete(before);
    cJSON_Delete(after);

    row_t row;
    cr_assert_eq(fetch_row(target, &row), 1);
    cr_assert_str_eq(row.topic, "audit-events");
    cr_assert_str_eq(row.type, "com.techcorp.audit.recorded");
    char source[128];
    snprintf(source, sizeof source, "/users/%s", target);
    cr_assert_str_eq(row.source, source);
    cr_assert_str_eq(row.key, target);
    assert_schema_valid(row.data);

    cJSON *d = cJSON_Parse(row.data);
    cr_assert_not_null(d, "%s", row.data);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "actor");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "type")->valuestring, "user");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring, "usr_actor1");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "role")->valuestring, "admin");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d, "org_id")->valuestring, "org_audit1");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d, "action")->valuestring,
                     "user.role_changed");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "target");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "type")->valuestring, "user");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "id")->valuestring, target);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(d, "before");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(d, "after");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(b, "role")->valuestring, "viewer");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(f, "role")->valuestring, "editor",
                     "the record keeps the state as it was when recorded");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d, "request_id")->valuestring,
                     "req_audit0001", "the request that made the change");
    int64_t at = 0;
    cr_assert_eq(
        tc_time_parse(cJSON_GetObjectItemCaseSensitive(d, "occurred_at")->valuestring, &at), TC_OK);
    cr_assert_lt(llabs(tc_now_ms() - at), 60000);
    cJSON_Delete(d);
}

Test(audit, a_service_actor_has_no_role_and_missing_states_are_null)
{
    char target[64];
    it_unique("usr_s", target, sizeof target);
    tc_principal_t actor = {.is_service = true, .role = TC_ROLE_NONE};
    snprintf(actor.sub, sizeof actor.sub, "billing");
    cr_assert_eq(record(&actor, target, NULL, NULL, 1), TC_OK);
    row_t row;
    cr_assert_eq(fetch_row(target, &row), 1);
    assert_schema_valid(row.data);
    cJSON *d = cJSON_Parse(row.data);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "actor");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "type")->valuestring, "service");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring, "billing");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "role")), "%s", row.data);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "before")), "%s", row.data);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "after")), "%s", row.data);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "request_id")),
              "no request in context: %s", row.data);
    cJSON_Delete(d);
}

Test(audit, a_rolled_back_change_leaves_no_audit_record)
{
    char target[64];
    it_unique("usr_r", target, sizeof target);
    tc_principal_t actor = user_actor();
    cJSON *after = cJSON_Parse("{\"status\":\"deactivated\"}");
    cr_assert_eq(record(&actor, target, NULL, after, 0), TC_OK);
    cJSON_Delete(after);
    row_t row;
    cr_assert_eq(fetch_row(target, &row), 0, "the record stands or falls with the change");
}
