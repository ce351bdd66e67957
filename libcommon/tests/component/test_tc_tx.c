/*
 * tc_tx: a request handler's transaction against the real PostgreSQL, driven through a
 * tc_http server on a loopback ephemeral port (a response only exists inside a request).
 * A committed change is there, an aborted one is not; when the database fails the helpers
 * answer themselves (503 with Retry-After, 409 for a conflict found at commit) and leave
 * nothing behind; tc_tx_respond stores the answer for the Idempotency-Key and commits, so a
 * retry replays it without doing the work twice.
 */
#include "component.h"

#include "tc/tc_http.h"
#include "tc/tc_idem.h"
#include "tc/tc_tx.h"

#include "../http_probe.h"

static tc_db_t *db, *db_down;
static tc_router_t *router;
static tc_http_server_t *srv;
static char base[64];

/* ------------------------------------------------------------------ handlers */

static const char *item(tc_req_t *req)
{
    return tc_req_param(req, "k");
}

static int insert(tc_dbconn_t *tx, const char *k)
{
    return tc_db_q(tx, NULL, "INSERT INTO tx_items (k, v) VALUES ($1, 'written')", k);
}

/* POST /commit/{k}: one row, committed */
static void h_commit(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    tc_db_t *pool = ud;
    tc_dbconn_t *tx = tc_tx_begin(pool, resp);
    if (!tx)
        return;
    if (insert(tx, item(req)) != TC_OK) {
        tc_tx_abort(pool, tx);
        tc_resp_error(resp, 500, "insert_failed", "insert failed");
        return;
    }
    if (tc_tx_commit(pool, tx, resp) == TC_OK)
        tc_resp_empty(resp, 201);
}

/* POST /abort/{k}: written, then a domain error: rolled back */
static void h_abort(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_dbconn_t *tx = tc_tx_begin(db, resp);
    if (!tx)
        return;
    insert(tx, item(req));
    tc_tx_abort(db, tx);
    tc_resp_error(resp, 422, "domain_rule", "refused by the domain");
}

/* POST /broken/{k}: written, then a statement fails inside the transaction */
static void h_broken(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_dbconn_t *tx = tc_tx_begin(db, resp);
    if (!tx)
        return;
    insert(tx, item(req));
    tc_db_exec(tx, NULL, "SELECT 1/0"); /* the transaction is now aborted */
    if (tc_tx_commit(db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 201);
}

/* POST /twice/{k}: the same key twice under a deferred unique constraint: fails at COMMIT */
static void h_twice(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_dbconn_t *tx = tc_tx_begin(db, resp);
    if (!tx)
        return;
    insert(tx, item(req));
    insert(tx, item(req));
    if (tc_tx_commit(db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 201);
}

/* POST /create/{k}: a create with Idempotency-Key support, answered by tc_tx_respond */
static void h_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_dbconn_t *tx = tc_tx_begin(db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, "tx-test") != TC_OK) {
        tc_tx_abort(db, tx);
        return;
    }
    if (insert(tx, item(req)) != TC_OK) {
        tc_tx_abort(db, tx);
        tc_resp_error(resp, 409, "exists", "already there");
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/items/%s", item(req));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "k", item(req));
    tc_tx_respond(db, tx, &idem, resp, 201, body, location);
}

/* ------------------------------------------------------------------ fixture */

static void setup(void)
{
    db = it_db(4);
    static const tc_migration_t m[] = {
        {"001_tx_items.sql", "CREATE TABLE tx_items (k text, v text,"
                             " CONSTRAINT tx_items_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED);"},
    };
    cr_assert_eq(tc_db_migrate(db, "component-tc-tx", m, 1), TC_OK);
    /* a pool whose server is not there: a closed loopback port */
    char url[160];
    snprintf(url, sizeof url, "postgresql://nobody:nothing@127.0.0.1:%d/none", probe_free_port());
    tc_db_opts_t o = {.url = url, .pool_size = 1, .connect_timeout_s = 1};
    db_down = tc_db_open(&o);
    cr_assert_not_null(db_down);

    router = tc_router_new();
    const tc_route_t routes[] = {
        {.method = "POST", .pattern = "/commit/{k}", .fn = h_commit, .ud = db},
        {.method = "POST", .pattern = "/down/{k}", .fn = h_commit, .ud = db_down},
        {.method = "POST", .pattern = "/abort/{k}", .fn = h_abort},
        {.method = "POST", .pattern = "/broken/{k}", .fn = h_broken},
        {.method = "POST", .pattern = "/twice/{k}", .fn = h_twice},
        {.method = "POST", .pattern = "/create/{k}", .fn = h_create},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(routes); i++)
        cr_assert_eq(tc_router_add(router, &routes[i]), TC_OK);
    tc_http_opts_t ho = {.service = "tx-test", .bind_addr = "127.0.0.1", .router = router};
    srv = tc_http_start(&ho);
    cr_assert_not_null(srv);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", tc_http_port(srv));
}

static void teardown(void)
{
    tc_http_stop(srv);
    tc_router_free(router);
    tc_db_close(db_down);
    tc_db_close(db);
}

TestSuite(tx, .init = setup, .fini = teardown, .timeout = 60);

static void post(const char *what, const char *k, const char *idem_key, const char *want_header,
                 probe_resp_t *out)
{
    char url[160], line[160];
    snprintf(url, sizeof url, "%s/%s/%s", base, what, k);
    snprintf(line, sizeof line, "Idempotency-Key: %s", idem_key ? idem_key : "");
    const char *headers[] = {line, NULL};
    cr_assert_eq(probe_h("POST", url, idem_key ? headers : NULL, NULL, want_header, out), 0,
                 "no answer from %s", url);
}

static long long rows(const char *k)
{
    return it_scalar(db, "SELECT count(*) FROM tx_items WHERE k=$1", k);
}

static const char *code_of(const probe_resp_t *r)
{
    static char code[64];
    cJSON *root = cJSON_Parse(r->body);
    const cJSON *c =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "error"), "code");
    snprintf(code, sizeof code, "%s", cJSON_IsString(c) ? c->valuestring : "");
    cJSON_Delete(root);
    return code;
}

/* ------------------------------------------------------------------ tests */

Test(tx, a_committed_change_is_there_and_the_connection_returns_to_the_pool)
{
    char k[64];
    probe_resp_t r;
    for (int i = 0; i < 10; i++) { /* more requests than the pool has connections */
        it_unique("commit", k, sizeof k);
        post("commit", k, NULL, NULL, &r);
        cr_assert_eq(r.status, 201, "%s", r.body);
        cr_assert_eq(rows(k), 1);
    }
    cr_assert_eq(tc_db_in_use(db), 0, "every connection was released");
}

Test(tx, an_aborted_change_is_not_there)
{
    char k[64];
    it_unique("abort", k, sizeof k);
    probe_resp_t r;
    post("abort", k, NULL, NULL, &r);
    cr_assert_eq(r.status, 422, "the handler's own answer stands: %s", r.body);
    cr_assert_eq(rows(k), 0);
    cr_assert_eq(tc_db_in_use(db), 0);
}

Test(tx, an_unreachable_database_is_answered_503_with_retry_after)
{
    probe_resp_t r;
    post("down", "x", NULL, "Retry-After", &r);
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(code_of(&r), "service_unavailable", "%s", r.body);
    cr_assert_str_eq(r.header, "1");
}

Test(tx, a_transaction_broken_by_a_failed_statement_answers_503_and_leaves_nothing)
{
    char k[64];
    it_unique("broken", k, sizeof k);
    probe_resp_t r;
    post("broken", k, NULL, "Retry-After", &r);
    cr_assert_eq(r.status, 503, "a failed commit can be retried by the client: %s", r.body);
    cr_assert_str_eq(r.header, "1");
    cr_assert_eq(rows(k), 0);
    cr_assert_eq(tc_db_in_use(db), 0);
}

Test(tx, a_conflict_found_at_commit_answers_409_and_leaves_nothing)
{
    char k[64];
    it_unique("twice", k, sizeof k);
    probe_resp_t r;
    post("twice", k, NULL, NULL, &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert_str_eq(code_of(&r), "conflict");
    cr_assert_eq(rows(k), 0);
}

Test(tx, respond_commits_and_answers_with_location)
{
    char k[64];
    it_unique("create", k, sizeof k);
    probe_resp_t r;
    post("create", k, NULL, "Location", &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    char want[96];
    snprintf(want, sizeof want, "/items/%s", k);
    cr_assert_str_eq(r.header, want);
    cr_assert(strstr(r.body, k), "%s", r.body);
    cr_assert_eq(rows(k), 1);
}

Test(tx, respond_stores_the_answer_for_the_idempotency_key)
{
    char k[64], key[64];
    it_unique("create", k, sizeof k);
    it_unique("idem", key, sizeof key);
    probe_resp_t first, again;
    post("create", k, key, NULL, &first);
    cr_assert_eq(first.status, 201, "%s", first.body);
    post("create", k, key, "Idempotent-Replayed", &again);
    cr_assert_eq(again.status, 201, "a retry gets the first answer, not a conflict: %s",
                 again.body);
    cr_assert_str_eq(again.body, first.body);
    cr_assert_str_eq(again.header, "true");
    cr_assert_eq(rows(k), 1, "the work was done once");
    cr_assert_eq(it_scalar(db,
                           "SELECT count(*) FROM idempotency_keys WHERE scope='tx-test'"
                           " AND key=$1 AND status=201",
                           key),
                 1);

    /* the same key for another request is refused, and nothing is written */
    char other[64];
    it_unique("create", other, sizeof other);
    probe_resp_t reused;
    post("create", other, key, NULL, &reused);
    cr_assert_eq(reused.status, 422, "%s", reused.body);
    cr_assert_eq(rows(other), 0);
}
