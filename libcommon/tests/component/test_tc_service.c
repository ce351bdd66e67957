/*
 * tc_service with its dependencies, against the real PostgreSQL, Redis and Kafka dev broker:
 * tc_service_open connects what the service declares and runs libcommon's and the service's
 * migrations, /ready checks each dependency, the outbox relay publishes what handlers write,
 * a registered consumer gets the events of its topics in its group, and a SIGTERM still
 * ends in exit 0. (Without dependencies: libcommon/tests/unit/test_tc_service.c.)
 */
#include "component.h"

#include "tc/tc_http.h"
#include "tc/tc_service.h"

#include "../service_runner.h"

#include <stdatomic.h>

#define SVC "svc-component-test"

static runner_t r;
static tc_db_t *db; /* the test's own view of the same database */
static char topic[64];

static const tc_migration_t migrations[] = {
    {"001_notes.sql", "CREATE TABLE svc_notes (id text PRIMARY KEY, body text NOT NULL);"},
};

static void setup(void)
{
    db = it_db(2);
    runner_env(&r);
    setenv("DATABASE_URL", it_env("TC_TEST_PG_URL"), 1);
    setenv("REDIS_URL", it_env("TC_TEST_REDIS_URL"), 1);
    setenv("KAFKA_BROKERS", it_env("TC_TEST_KAFKA"), 1);
    setenv("KAFKA_SESSION_TIMEOUT_MS", "6000", 1);
    setenv("KAFKA_HEARTBEAT_MS", "1000", 1);
    unsetenv("JWKS_URL");
    unsetenv("JWKS_FILE");
    it_unique("it-svc", topic, sizeof topic);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(service, .init = setup, .fini = teardown, .timeout = 120);

static tc_service_t *new_service(void)
{
    tc_service_def_t def = {.name = SVC,
                            .needs = TC_NEED_DB | TC_NEED_REDIS | TC_NEED_KAFKA,
                            .migrations = migrations,
                            .nmigrations = TC_ARRAY_LEN(migrations)};
    tc_service_t *s = tc_service_new(&def);
    cr_assert_not_null(s);
    return s;
}

/* POST /v1/notes/{id}: a row and its event, in one transaction */
static void h_note(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    tc_service_t *s = ud;
    tc_db_t *pool = tc_service_db(s);
    tc_dbconn_t *tx = tc_db_acquire(pool);
    if (!tx) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    const char *id = tc_req_param(req, "id");
    char key[96];
    snprintf(key, sizeof key, "%s-key", id);
    tc_event_t ev = {.type = IT_EV_TYPE,
                     .source = "/tests/events",
                     .subject = key,
                     .partitionkey = key,
                     .data = "{\"note\":true}"};
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = tc_db_q(tx, NULL, "INSERT INTO svc_notes (id, body) VALUES ($1, 'hello')", id);
    if (rc == TC_OK)
        rc = tc_outbox_add(tx, topic, &ev, NULL, 0);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(pool, tx);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_empty(resp, 201);
}

Test(service, open_connects_every_dependency_and_runs_the_migrations)
{
    r.s = new_service();
    runner_start(&r);
    cr_assert_not_null(tc_service_db(r.s));
    cr_assert_not_null(tc_service_redis(r.s));
    cr_assert_not_null(tc_service_producer(r.s));
    cr_assert_null(tc_service_dbpipe(r.s), "no pipelined reads unless declared");
    cr_assert_null(tc_service_auth(r.s), "no verifier unless declared");
    cr_assert_eq(it_scalar(db,
                           "SELECT count(*) FROM schema_migrations WHERE component=$1"
                           " AND name='001_notes.sql'",
                           SVC),
                 1, "the service's migration is recorded once");
    cr_assert_gt(
        it_scalar(db, "SELECT count(*) FROM schema_migrations WHERE component=$1", "libcommon"), 0,
        "libcommon's schema comes first");
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM svc_notes WHERE id=$1", "none"), 0);

    probe_resp_t p;
    cr_assert_eq(runner_get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 200, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"ready\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"database\":\"ok\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"redis\":\"ok\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"kafka\":\"ok\""), "%s", p.body);
    cr_assert_eq(runner_get(r.admin, "/metrics", &p), 0);
    cr_assert(strstr(p.body, "db_pool_in_use"), "%s", p.body);
    cr_assert(strstr(p.body, "outbox_pending"), "%s", p.body);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

static int outbox_sent(void *ud)
{
    return it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NOT NULL",
                     ud) == 3;
}

Test(service, the_relay_publishes_what_handlers_write)
{
    r.s = new_service();
    const tc_route_t route = {
        .method = "POST", .pattern = "/v1/notes/{id}", .fn = h_note, .ud = r.s};
    cr_assert_eq(tc_service_routes(r.s, &route, 1), TC_OK);
    runner_start(&r);
    for (int i = 0; i < 3; i++) {
        char url[160], id[64];
        it_unique("note", id, sizeof id);
        snprintf(url, sizeof url, "%s/v1/notes/%s", r.api, id);
        probe_resp_t p;
        cr_assert_eq(probe("POST", url, NULL, NULL, NULL, &p), 0);
        cr_assert_eq(p.status, 201, "%s", p.body);
    }
    cr_assert(it_wait(outbox_sent, topic, 30000), "the relay did not publish the 3 events");
    it_wire_check_t w = {0};
    cr_assert_eq(it_read_topic(topic, IT_AUTO_PARTITIONS, 3, 20000, it_check_wire, &w), 3);
    cr_assert_eq(w.with_ce_headers, 3);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

static atomic_int g_handled;

static int on_event(const tc_event_t *ev, const char *t, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(t);
    TC_UNUSED(ud);
    int rc = tc_db_q(tx, NULL, "INSERT INTO svc_notes (id, body) VALUES ($1, 'consumed')", ev->id);
    if (rc == TC_OK)
        atomic_fetch_add(&g_handled, 1);
    return rc;
}

static atomic_int g_committed;

static void on_committed(const tc_event_t *ev, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    atomic_fetch_add(&g_committed, 1);
}

static int handled_two(void *ud)
{
    TC_UNUSED(ud);
    return atomic_load(&g_handled) >= 2 && atomic_load(&g_committed) >= 2;
}

Test(service, a_registered_consumer_gets_its_topics_in_its_group)
{
    char suffix[64], group[128];
    it_unique("c", suffix, sizeof suffix);
    snprintf(group, sizeof group, SVC ".%s", suffix);
    r.s = new_service();
    cr_assert_eq(tc_service_open(r.s), TC_OK);
    /* registered after open (the producer exists), started by run */
    static const char *topics[2];
    topics[0] = topic;
    cr_assert_eq(tc_service_after_commit(r.s, on_committed, NULL), TC_EINVAL,
                 "a hook needs a consumer to belong to");
    cr_assert_eq(tc_service_consume(r.s, suffix, topics, on_event, NULL), TC_OK);
    cr_assert_eq(tc_service_after_commit(r.s, on_committed, NULL), TC_OK);
    runner_serve(&r);

    /* written to the same database: the service's own relay publishes them */
    it_write_events(db, topic, topic, 2);
    cr_assert(it_wait(handled_two, NULL, 60000),
              "the consumer handled %d of 2 events, the after-commit hook saw %d",
              atomic_load(&g_handled), atomic_load(&g_committed));
    cr_assert_eq(runner_stop(&r), 0, "stopping with a consumer still exits 0");
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM processed_events WHERE consumer_group=$1", group), 2,
        "the inbox records each event under the group <service>.<suffix>");
    tc_service_free(r.s);
}
