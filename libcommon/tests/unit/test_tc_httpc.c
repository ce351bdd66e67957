/*
 * tc_httpc against a real HTTP server (libmicrohttpd on loopback, ephemeral port) started
 * inside each test process.
 */
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_httpc.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOW_MS  1000
#define PAUSE_MS 300

static struct MHD_Daemon *g_daemon;
static uint16_t g_port;
static atomic_int g_connections;
static atomic_int g_hits_count, g_hits_flaky, g_hits_fail, g_hits_slow, g_hits_pause;
static atomic_int g_flaky_failures = 2;

typedef struct {
    tc_buf_t body;
} upload_t;

/* ------------------------------------------------------------------------- server */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static void echo_header(cJSON *o, struct MHD_Connection *conn, const char *key, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

static enum MHD_Result echo(struct MHD_Connection *conn, const char *method, upload_t *up)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", method);
    echo_header(o, conn, "request_id", "X-Request-Id");
    echo_header(o, conn, "traceparent", "traceparent");
    echo_header(o, conn, "authorization", "Authorization");
    echo_header(o, conn, "idempotency_key", "Idempotency-Key");
    echo_header(o, conn, "accept", "Accept");
    echo_header(o, conn, "content_type", "Content-Type");
    echo_header(o, conn, "user_agent", "User-Agent");
    echo_header(o, conn, "x_extra", "X-Extra");
    cJSON_AddStringToObject(o, "body", tc_buf_cstr(&up->body));
    char *text = cJSON_PrintUnformatted(o);
    enum MHD_Result ok = reply(conn, 200, text);
    cJSON_free(text);
    cJSON_Delete(o);
    return ok;
}

static enum MHD_Result route(struct MHD_Connection *conn, const char *url, const char *method,
                             upload_t *up)
{
    if (strcmp(url, "/echo") == 0)
        return echo(conn, method, up);
    if (strcmp(url, "/count") == 0) {
        atomic_fetch_add(&g_hits_count, 1);
        return reply(conn, 200, "{\"ok\":true}");
    }
    if (strcmp(url, "/flaky") == 0) {
        int n = atomic_fetch_add(&g_hits_flaky, 1) + 1;
        if (n <= atomic_load(&g_flaky_failures))
            return reply(conn, 503, "{\"error\":\"unavailable\"}");
        return reply(conn, 200, "{\"ok\":true}");
    }
    if (strcmp(url, "/fail") == 0) {
        atomic_fetch_add(&g_hits_fail, 1);
        return reply(conn, 500, "{\"error\":\"boom\"}");
    }
    if (strcmp(url, "/slow") == 0) {
        atomic_fetch_add(&g_hits_slow, 1);
        tc_sleep_ms(SLOW_MS);
        return reply(conn, 200, "{\"slow\":true}");
    }
    if (strcmp(url, "/pause") == 0) {
        atomic_fetch_add(&g_hits_pause, 1);
        tc_sleep_ms(PAUSE_MS);
        return reply(conn, 200, "{\"paused\":true}");
    }
    return reply(conn, 404, "{\"error\":\"not_found\"}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)cls;
    (void)version;
    upload_t *up = *state;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *state = up;
        return MHD_YES;
    }
    if (*data_size) {
        tc_buf_append(&up->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    return route(conn, url, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload_t *up = *state;
    if (up) {
        tc_buf_free(&up->body);
        free(up);
        *state = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)conn;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&g_connections, 1);
}

static void server_start(void)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    g_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
    cr_assert_not_null(g_daemon, "MHD_start_daemon failed");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(g_daemon, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert_not_null(info);
    g_port = info->port;
    cr_assert_gt(g_port, 0);
    tc_log_set_level(TC_LOG_ERROR);
}

static void server_stop(void)
{
    if (g_daemon)
        MHD_stop_daemon(g_daemon);
    g_daemon = NULL;
}

TestSuite(httpc, .init = server_start, .fini = server_stop, .timeout = 30);

/* ------------------------------------------------------------------------- helpers */

static void url_for(char *out, size_t n, const char *host, const char *path)
{
    snprintf(out, n, "http://%s:%u%s", host, (unsigned)g_port, path);
}

static tc_httpc_t *client(int retries, int timeout_ms)
{
    tc_httpc_opts_t o = {
        .timeout_ms = timeout_ms,
        .max_retries = retries,
        .backoff_initial_ms = 5,
        .backoff_max_ms = 20,
        .breaker_failures = 50,
    };
    tc_httpc_t *c = tc_httpc_new(&o);
    cr_assert_not_null(c);
    return c;
}

static cJSON *body_json(const tc_httpc_resp_t *r)
{
    cr_assert_not_null(r->body);
    cJSON *j = cJSON_Parse(r->body);
    cr_assert_not_null(j, "not JSON: %s", r->body);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A port with nothing listening: bind to an ephemeral port, then close it. */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------------------- basics */

Test(httpc, get_success_with_body_and_content_type)
{
    tc_httpc_t *c = client(2, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/echo");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.attempts, 1);
    cr_assert_str_eq(r.content_type, "application/json");
    cr_assert_eq(r.body_len, strlen(r.body));
    cJSON *j = body_json(&r);
    cr_assert_str_eq(jstr(j, "method"), "GET");
    cr_assert_str_eq(jstr(j, "accept"), "application/json");
    cr_assert_str_eq(jstr(j, "user_agent"), "techcorp-platform");
    cr_assert_null(jstr(j, "authorization"));
    cJSON_Delete(j);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, methods_and_bodies)
{
    tc_httpc_t *c = client(0, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/echo");
    const char *methods[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < TC_ARRAY_LEN(methods); i++) {
        const char *body = "{\"name\":\"x\"}";
        tc_httpc_req_t req = {
            .method = methods[i], .url = url, .body = body, .body_len = strlen(body)};
        tc_httpc_resp_t r;
        cr_assert_eq(tc_httpc_do(c, &req, &r), TC_OK);
        cr_assert_eq(r.status, 200);
        cJSON *j = body_json(&r);
        cr_assert_str_eq(jstr(j, "method"), methods[i]);
        cr_assert_str_eq(jstr(j, "body"), body);
        cr_assert_str_eq(jstr(j, "content_type"), "application/json");
        cJSON_Delete(j);
        tc_httpc_resp_free(&r);
    }
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.method = "HEAD", .url = url}, &r), TC_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, propagates_explicit_headers)
{
    tc_httpc_t *c = client(0, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/echo");
    const char *extra[] = {"X-Extra: yes", NULL};
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    tc_httpc_req_t req = {.url = url,
                          .authorization = "Bearer abc.def.ghi",
                          .idempotency_key = "idem-1",
                          .request_id = "req_explicit",
                          .traceparent = tp,
                          .headers = extra};
    tc_log_set_context("req_ignored", "4bf92f3577b34da6a3ce929d0e0e4736");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &req, &r), TC_OK);
    cJSON *j = body_json(&r);
    cr_assert_str_eq(jstr(j, "request_id"), "req_explicit");
    cr_assert_str_eq(jstr(j, "traceparent"), tp);
    cr_assert_str_eq(jstr(j, "authorization"), "Bearer abc.def.ghi");
    cr_assert_str_eq(jstr(j, "idempotency_key"), "idem-1");
    cr_assert_str_eq(jstr(j, "x_extra"), "yes");
    cJSON_Delete(j);
    tc_httpc_resp_free(&r);
    tc_log_set_context(NULL, NULL);
    tc_httpc_free(c);
}

Test(httpc, propagates_thread_context)
{
    tc_httpc_t *c = client(0, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/echo");
    tc_log_set_context("req_from_ctx", "4bf92f3577b34da6a3ce929d0e0e4736");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
    cJSON *j = body_json(&r);
    cr_assert_str_eq(jstr(j, "request_id"), "req_from_ctx");
    const char *tp = jstr(j, "traceparent");
    cr_assert_not_null(tp);
    cr_assert_eq(strlen(tp), 55, "%s", tp);
    cr_assert_eq(strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36), 0, "%s", tp);
    cr_assert_str_eq(tp + 52, "-01");
    for (int i = 36; i < 52; i++)
        cr_assert(strchr("0123456789abcdef", tp[i]) && tp[i], "span %s", tp);
    cr_assert_neq(strncmp(tp + 36, "0000000000000000", 16), 0);
    cJSON_Delete(j);
    tc_httpc_resp_free(&r);

    /* No context: no headers invented. */
    tc_log_set_context(NULL, NULL);
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
    j = body_json(&r);
    cr_assert_null(jstr(j, "request_id"));
    cr_assert_null(jstr(j, "traceparent"));
    cJSON_Delete(j);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, rejects_invalid_requests)
{
    tc_httpc_t *c = client(0, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/echo");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = NULL}, &r), TC_EINVAL);
    cr_assert_null(r.body);
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = "ftp://127.0.0.1/x"}, &r), TC_EINVAL);
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = "not a url"}, &r), TC_EINVAL);
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url, .method = "get"}, &r), TC_EINVAL);
    cr_assert_eq(
        tc_httpc_do(c, &(tc_httpc_req_t){.url = url, .authorization = "Bearer x\r\nX-Evil: 1"}, &r),
        TC_EINVAL);
    const char *bad[] = {"X-Ok: 1", "X-Evil: 1\r\nHost: other", NULL};
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url, .headers = bad}, &r), TC_EINVAL);
    cr_assert_eq(r.attempts, 0);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

/* ------------------------------------------------------------------------- retries */

Test(httpc, get_retried_on_503_until_success)
{
    atomic_store(&g_flaky_failures, 2);
    tc_httpc_t *c = client(2, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/flaky");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(atomic_load(&g_hits_flaky), 3);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, retries_are_bounded)
{
    atomic_store(&g_flaky_failures, 100);
    tc_httpc_t *c = client(2, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/flaky");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
    cr_assert_eq(r.status, 503);
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(atomic_load(&g_hits_flaky), 3);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, post_not_retried)
{
    atomic_store(&g_flaky_failures, 2);
    tc_httpc_t *c = client(2, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/flaky");
    tc_httpc_req_t req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &req, &r), TC_OK);
    cr_assert_eq(r.status, 503);
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(atomic_load(&g_hits_flaky), 1);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, post_with_idempotency_key_retried)
{
    atomic_store(&g_flaky_failures, 2);
    tc_httpc_t *c = client(2, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/flaky");
    tc_httpc_req_t req = {
        .method = "POST", .url = url, .body = "{}", .body_len = 2, .idempotency_key = "k-1"};
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &req, &r), TC_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(atomic_load(&g_hits_flaky), 3);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, timeout)
{
    tc_httpc_t *c = client(-1, 300);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/slow");
    tc_httpc_resp_t r;
    int64_t t0 = tc_mono_ms();
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_ETIMEDOUT);
    int64_t took = tc_mono_ms() - t0;
    cr_assert_geq(took, 150, "took %lld ms", (long long)took);
    cr_assert_lt(took, 900, "took %lld ms", (long long)took);
    cr_assert_eq(r.attempts, 1);
    cr_assert_null(r.body);
    cr_assert_eq(r.status, 0);
    tc_httpc_resp_free(&r);

    /* Per-request override of the total timeout. */
    t0 = tc_mono_ms();
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url, .timeout_ms = 3000}, &r), TC_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_geq(tc_mono_ms() - t0, SLOW_MS / 2);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, timeouts_are_retried_for_get)
{
    tc_httpc_t *c = client(1, 200);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/slow");
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_ETIMEDOUT);
    cr_assert_eq(r.attempts, 2);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

Test(httpc, connection_refused)
{
    tc_httpc_t *c = client(1, 2000);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)closed_port());
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_EUNAVAIL);
    cr_assert_eq(r.attempts, 2);
    cr_assert_null(r.body);
    tc_httpc_resp_free(&r);
    tc_httpc_free(c);
}

/* ------------------------------------------------------------------------- breaker */

static tc_httpc_t *breaker_client(void)
{
    tc_httpc_opts_t o = {
        .timeout_ms = 2000, .max_retries = -1, .breaker_failures = 3, .breaker_open_ms = 200};
    tc_httpc_t *c = tc_httpc_new(&o);
    cr_assert_not_null(c);
    return c;
}

static int get_status(tc_httpc_t *c, const char *url, long *status)
{
    tc_httpc_resp_t r;
    int rc = tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r);
    *status = r.status;
    tc_httpc_resp_free(&r);
    return rc;
}

static void trip(tc_httpc_t *c, const char *fail_url)
{
    long st;
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(tc_httpc_breaker_state(c, fail_url), "closed");
        cr_assert_eq(get_status(c, fail_url, &st), TC_OK);
        cr_assert_eq(st, 500);
    }
    cr_assert_str_eq(tc_httpc_breaker_state(c, fail_url), "open");
}

Test(httpc, breaker_opens_fails_fast_and_recovers)
{
    tc_httpc_t *c = breaker_client();
    char fail[128], count[128];
    url_for(fail, sizeof fail, "127.0.0.1", "/fail");
    url_for(count, sizeof count, "127.0.0.1", "/count");
    trip(c, fail);
    cr_assert_eq(atomic_load(&g_hits_fail), 3);

    /* Open: no request reaches the upstream, whatever the path. */
    long st;
    tc_httpc_resp_t r;
    cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = fail}, &r), TC_EUNAVAIL);
    cr_assert_eq(r.attempts, 0);
    tc_httpc_resp_free(&r);
    cr_assert_eq(get_status(c, count, &st), TC_EUNAVAIL);
    cr_assert_eq(atomic_load(&g_hits_fail), 3);
    cr_assert_eq(atomic_load(&g_hits_count), 0);

    tc_sleep_ms(250);
    cr_assert_str_eq(tc_httpc_breaker_state(c, count), "half_open");
    cr_assert_eq(get_status(c, count, &st), TC_OK);
    cr_assert_eq(st, 200);
    cr_assert_eq(atomic_load(&g_hits_count), 1);
    cr_assert_str_eq(tc_httpc_breaker_state(c, count), "closed");
    cr_assert_eq(get_status(c, count, &st), TC_OK);
    cr_assert_eq(atomic_load(&g_hits_count), 2);
    tc_httpc_free(c);
}

Test(httpc, breaker_failed_probe_reopens)
{
    tc_httpc_t *c = breaker_client();
    char fail[128], count[128];
    url_for(fail, sizeof fail, "127.0.0.1", "/fail");
    url_for(count, sizeof count, "127.0.0.1", "/count");
    trip(c, fail);
    tc_sleep_ms(250);
    long st;
    cr_assert_eq(get_status(c, fail, &st), TC_OK);
    cr_assert_eq(st, 500);
    cr_assert_eq(atomic_load(&g_hits_fail), 4);
    cr_assert_str_eq(tc_httpc_breaker_state(c, fail), "open");
    cr_assert_eq(get_status(c, count, &st), TC_EUNAVAIL);
    cr_assert_eq(atomic_load(&g_hits_count), 0);
    tc_httpc_free(c);
}

Test(httpc, breaker_is_per_origin)
{
    tc_httpc_t *c = breaker_client();
    char fail[128], other[128];
    url_for(fail, sizeof fail, "127.0.0.1", "/fail");
    url_for(other, sizeof other, "localhost", "/count");
    trip(c, fail);
    long st;
    cr_assert_str_eq(tc_httpc_breaker_state(c, other), "closed");
    cr_assert_eq(get_status(c, other, &st), TC_OK);
    cr_assert_eq(st, 200);
    cr_assert_eq(atomic_load(&g_hits_count), 1);
    tc_httpc_free(c);
}

Test(httpc, breaker_counts_connect_failures)
{
    tc_httpc_t *c = breaker_client();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)closed_port());
    long st;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(get_status(c, url, &st), TC_EUNAVAIL);
    cr_assert_str_eq(tc_httpc_breaker_state(c, url), "open");
    tc_httpc_free(c);
}

/* ------------------------------------------------------------------------- connections */

Test(httpc, keep_alive_reuses_one_connection)
{
    tc_httpc_t *c = client(0, 2000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/count");
    for (int i = 0; i < 20; i++) {
        tc_httpc_resp_t r;
        cr_assert_eq(tc_httpc_do(c, &(tc_httpc_req_t){.url = url}, &r), TC_OK);
        cr_assert_eq(r.status, 200);
        tc_httpc_resp_free(&r);
    }
    cr_assert_eq(atomic_load(&g_hits_count), 20);
    cr_assert_eq(atomic_load(&g_connections), 1);
    tc_httpc_free(c);
}

typedef struct {
    tc_httpc_t *c;
    const char *url;
    int ok;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 25; i++) {
        tc_httpc_resp_t r;
        if (tc_httpc_do(w->c, &(tc_httpc_req_t){.url = w->url}, &r) == TC_OK && r.status == 200)
            w->ok++;
        tc_httpc_resp_free(&r);
    }
    return NULL;
}

Test(httpc, concurrent_calls_share_connections)
{
    enum { THREADS = 8 };
    tc_httpc_t *c = client(0, 5000);
    char url[128];
    url_for(url, sizeof url, "127.0.0.1", "/count");
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){.c = c, .url = url};
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].ok, 25);
    }
    cr_assert_eq(atomic_load(&g_hits_count), THREADS * 25);
    /* At most one connection per concurrent caller, not one per request. */
    cr_assert_leq(atomic_load(&g_connections), THREADS);
    tc_httpc_free(c);
}

static void *pause_call(void *arg)
{
    worker_t *w = arg;
    tc_httpc_resp_t r;
    if (tc_httpc_do(w->c, &(tc_httpc_req_t){.url = w->url}, &r) == TC_OK && r.status == 200)
        w->ok++;
    tc_httpc_resp_free(&r);
    return NULL;
}

static void wait_for_pauses(int n)
{
    for (int i = 0; i < 200 && atomic_load(&g_hits_pause) < n; i++)
        tc_sleep_ms(5);
    cr_assert_eq(atomic_load(&g_hits_pause), n);
}

/*
 * A connection outlives the handle that opened it and is picked up by another handle: with a
 * pool of one handle, the second of two concurrent handles is destroyed, yet its connection
 * serves the next pair of concurrent calls.
 */
Test(httpc, connections_outlive_their_handle)
{
    tc_httpc_opts_t o = {.timeout_ms = 5000, .max_retries = -1, .pool_size = 1};
    tc_httpc_t *c = tc_httpc_new(&o);
    cr_assert_not_null(c);
    char pause[128], count[128];
    url_for(pause, sizeof pause, "127.0.0.1", "/pause");
    url_for(count, sizeof count, "127.0.0.1", "/count");
    long st;
    for (int round = 1; round <= 2; round++) {
        pthread_t th;
        worker_t w = {.c = c, .url = pause};
        cr_assert_eq(pthread_create(&th, NULL, pause_call, &w), 0);
        wait_for_pauses(round); /* that call now holds a handle and a connection */
        cr_assert_eq(get_status(c, count, &st), TC_OK);
        cr_assert_eq(st, 200);
        pthread_join(th, NULL);
        cr_assert_eq(w.ok, 1);
    }
    cr_assert_eq(atomic_load(&g_connections), 2);
    tc_httpc_free(c);
}
