/*
 * Idempotency-Key as a create handler sees it: tc_idem_begin and tc_tx_respond around a real
 * write, through a real tc_http server and PostgreSQL. A retry replays the first answer and
 * writes nothing; a reuse for another request is 422; an invalid key is 400; no key, no replay.
 */
#include "component.h"

#include "tc/tc_buf.h"
#include "tc/tc_http.h"
#include "tc/tc_idem.h"
#include "tc/tc_tx.h"

#include <curl/curl.h>

static tc_db_t *g_db;
static tc_router_t *g_router;
static tc_http_server_t *g_srv;
static char g_scope[64];

/* POST /things {"name":…}: inserts it_kv(<new id>, name) and answers 201 {"id","name"}. */
static void h_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    const char *name = tc_json_get_str(tc_req_json(req), "name");
    tc_dbconn_t *tx = tc_tx_begin(g_db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, g_scope) != TC_OK) {
        tc_tx_abort(g_db, tx);
        return;
    }
    char id[TC_ID_MAX], location[96];
    cr_assert_eq(tc_id_new("thg", id, sizeof id), TC_OK);
    int rc =
        tc_db_qp(tx, NULL, NULL, "INSERT INTO it_kv (k, v) VALUES ($1, $2)", id, name ? name : "");
    if (rc != TC_OK) {
        tc_tx_abort(g_db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    tc_json_add_str(body, "id", id);
    tc_json_add_str(body, "name", name);
    snprintf(location, sizeof location, "/things/%s", id);
    tc_tx_respond(g_db, tx, &idem, resp, 201, body, location);
}

static void setup(void)
{
    g_db = it_db(4);
    it_unique("idem-scope", g_scope, sizeof g_scope);
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    g_router = tc_router_new();
    tc_route_t rt = {"POST",         "/things",    h_create,       NULL,
                     TC_PUBLIC_JSON, TC_ROLE_NONE, TC_BODY_RECORD, NULL};
    cr_assert_eq(tc_router_add(g_router, &rt), TC_OK);
    tc_http_opts_t o = {.service = "idem-test", .bind_addr = "127.0.0.1", .router = g_router};
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
}

static void teardown(void)
{
    tc_http_stop(g_srv);
    tc_router_free(g_router);
    tc_db_close(g_db);
    curl_global_cleanup();
}

TestSuite(idem_handler, .init = setup, .fini = teardown, .timeout = 60);

typedef struct {
    long status;
    tc_buf_t body;
    char replayed[16];
    char location[128];
} answer_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    tc_buf_append(&((answer_t *)ud)->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    answer_t *a = ud;
    size_t len = size * n;
    if (len > 21 && strncasecmp(p, "Idempotent-Replayed: ", 21) == 0)
        snprintf(a->replayed, sizeof a->replayed, "%.*s", (int)strcspn(p + 21, "\r\n"), p + 21);
    if (len > 10 && strncasecmp(p, "Location: ", 10) == 0)
        snprintf(a->location, sizeof a->location, "%.*s", (int)strcspn(p + 10, "\r\n"), p + 10);
    return len;
}

static void post(const char *key, const char *body, answer_t *a)
{
    memset(a, 0, sizeof *a);
    char url[96], hdr[320];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/things", (int)tc_http_port(g_srv));
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (key) {
        snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
        h = curl_slist_append(h, hdr);
    }
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

static long long rows_named(const char *name)
{
    return it_scalar(g_db, "SELECT count(*) FROM it_kv WHERE v = $1", name);
}

Test(idem_handler, a_retry_replays_the_first_answer_and_writes_nothing)
{
    char key[64], name[64], body[128];
    it_unique("key", key, sizeof key);
    it_unique("thing", name, sizeof name);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    answer_t first, retry;
    post(key, body, &first);
    cr_assert_eq(first.status, 201, "%s", tc_buf_cstr(&first.body));
    cr_assert(strncmp(first.location, "/things/thg_", 12) == 0, "%s", first.location);
    cr_assert_str_eq(first.replayed, "");
    post(key, body, &retry);
    cr_assert_eq(retry.status, 201);
    cr_assert_str_eq(tc_buf_cstr(&retry.body), tc_buf_cstr(&first.body), "the same answer");
    cr_assert_str_eq(retry.replayed, "true");
    cr_assert_eq(rows_named(name), 1, "the retry wrote nothing");
    tc_buf_free(&first.body);
    tc_buf_free(&retry.body);
}

Test(idem_handler, a_key_reused_for_another_request_is_422)
{
    char key[64], name[64], body[128];
    it_unique("key", key, sizeof key);
    it_unique("thing", name, sizeof name);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    answer_t a, b;
    post(key, body, &a);
    cr_assert_eq(a.status, 201);
    post(key, "{\"name\":\"something else\"}", &b);
    cr_assert_eq(b.status, 422);
    cr_assert(strstr(tc_buf_cstr(&b.body), "\"code\":\"idempotency_key_reused\""), "%s",
              tc_buf_cstr(&b.body));
    cr_assert_eq(rows_named("something else"), 0);
    tc_buf_free(&a.body);
    tc_buf_free(&b.body);
}

Test(idem_handler, invalid_keys_are_400_and_no_key_means_no_replay)
{
    char name[64], body[128];
    it_unique("thing", name, sizeof name);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    answer_t a;
    post("bad\x01key", body, &a);
    cr_assert_eq(a.status, 400);
    cr_assert(strstr(tc_buf_cstr(&a.body), "invalid_idempotency_key"), "%s", tc_buf_cstr(&a.body));
    tc_buf_free(&a.body);
    cr_assert_eq(rows_named(name), 0, "a refused key wrote nothing");
    post(NULL, body, &a);
    cr_assert_eq(a.status, 201);
    tc_buf_free(&a.body);
    post(NULL, body, &a);
    cr_assert_eq(a.status, 201);
    cr_assert_str_eq(a.replayed, "");
    tc_buf_free(&a.body);
    cr_assert_eq(rows_named(name), 2, "without a key every request is its own");
}
