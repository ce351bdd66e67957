/*
 * tc_service: the life of a service process without any dependency (no database, Redis or
 * Kafka; a Redis URL pointing at a closed loopback port where a test needs one that fails):
 * configuration errors reported at once, the API and admin ports, /health, /ready with its
 * checks and degraded mode, /metrics, periodic jobs, SIGHUP reloads, a custom server's
 * lifecycle, and the graceful shutdown on SIGTERM. The service runs inside the test process
 * on loopback ports; signals are sent to the process as a supervisor would.
 */
#include "tc/tc_core.h"
#include "tc/tc_http.h"
#include "tc/tc_service.h"
#include "tc/tc_time.h"

#include "../service_runner.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the service under test; its ports are set in the environment before each test */
static runner_t r;

static void env_setup(void)
{
    runner_env(&r);
    unsetenv("DATABASE_URL");
    unsetenv("REDIS_URL");
    unsetenv("KAFKA_BROKERS");
    unsetenv("JWKS_URL");
    unsetenv("JWKS_FILE");
}

TestSuite(service, .init = env_setup, .timeout = 60);

static int api_port(void)
{
    return atoi(strrchr(r.api, ':') + 1);
}

static int get(const char *base, const char *path, probe_resp_t *out)
{
    return runner_get(base, path, out);
}

static tc_service_t *new_service(unsigned needs, unsigned degradable)
{
    tc_service_def_t def = {
        .name = "svc-test", .default_port = 0, .needs = needs, .degradable = degradable};
    tc_service_t *s = tc_service_new(&def);
    cr_assert_not_null(s);
    return s;
}

static void h_ping(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "pong", "yes");
    tc_resp_json(resp, 200, o);
}

static atomic_int g_slow_entered;

static void h_slow(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    atomic_store(&g_slow_entered, 1);
    tc_sleep_ms(1500);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "finished", 1);
    tc_resp_json(resp, 200, o);
}

static void h_debug(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_empty(resp, 204);
}

static const tc_route_t g_routes[] = {
    {.method = "GET", .pattern = "/v1/ping", .fn = h_ping},
    {.method = "GET", .pattern = "/v1/slow", .fn = h_slow},
};

/* ------------------------------------------------------------------ configuration */

Test(service, every_configuration_problem_fails_open_at_once)
{
    setenv("PORT", "not-a-port", 1);
    tc_service_t *s = new_service(TC_NEED_DB | TC_NEED_AUTH, 0);
    cr_assert_eq(tc_service_open(s), TC_EINVAL);
    /* PORT, DATABASE_URL and JWKS_URL/JWKS_FILE, reported together */
    cr_assert_geq((int)tc_config_errors(tc_service_config(s)), 3);
    tc_service_free(s);
}

Test(service, each_declared_dependency_requires_its_setting)
{
    const struct {
        unsigned need;
        const char *var;
    } cases[] = {
        {TC_NEED_DB, "DATABASE_URL"},
        {TC_NEED_REDIS, "REDIS_URL"},
        {TC_NEED_KAFKA, "KAFKA_BROKERS"},
        {TC_NEED_AUTH, "JWKS_URL"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_service_t *s = new_service(cases[i].need, 0);
        cr_assert_eq(tc_service_open(s), TC_EINVAL, "%s missing must fail", cases[i].var);
        tc_config_t *cfg = tc_service_config(s);
        int named = 0;
        for (int e = 0; e < (int)tc_config_errors(cfg); e++)
            named |= strstr(tc_config_error(cfg, e), cases[i].var) != NULL;
        cr_assert(named, "the problem names %s", cases[i].var);
        tc_service_free(s);
    }
}

static void on_stop_noop(void *ud)
{
    TC_UNUSED(ud);
}

Test(service, registration_limits_are_refused)
{
    tc_service_t *s = new_service(0, 0);
    const char *const topics[] = {"user-events", NULL};
    cr_assert_eq(tc_service_consume(s, NULL, topics, NULL, NULL), TC_EINVAL,
                 "a consumer needs TC_NEED_KAFKA");
    cr_assert_eq(tc_service_every(s, "job", 0, NULL, NULL), TC_EINVAL);
    tc_service_server_t incomplete = {0};
    cr_assert_eq(tc_service_custom_server(s, &incomplete), TC_EINVAL);
    cr_assert_eq(tc_service_on_stop(s, NULL, NULL), TC_EINVAL);
    for (int i = 0; i < TC_MAX_STOP_HOOKS; i++)
        cr_assert_eq(tc_service_on_stop(s, on_stop_noop, NULL), TC_OK);
    cr_assert_eq(tc_service_on_stop(s, on_stop_noop, NULL), TC_EINVAL, "past TC_MAX_STOP_HOOKS");
    tc_service_free(s);
}

/* ------------------------------------------------------------------ ports and probes */

Test(service, api_and_admin_ports_serve_their_own_routes)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_routes(r.s, g_routes, TC_ARRAY_LEN(g_routes)), TC_OK);
    tc_route_t debug = {.method = "GET", .pattern = "/debug", .fn = h_debug};
    cr_assert_eq(tc_router_add(tc_service_admin_router(r.s), &debug), TC_OK);
    cr_assert_eq(tc_service_port(r.s), api_port());
    cr_assert_str_eq(tc_service_name(r.s), "svc-test");
    runner_start(&r);

    probe_resp_t p;
    cr_assert_eq(get(r.api, "/v1/ping", &p), 0);
    cr_assert_eq(p.status, 200);
    cr_assert(strstr(p.body, "\"pong\""), "%s", p.body);
    cr_assert_eq(get(r.admin, "/debug", &p), 0);
    cr_assert_eq(p.status, 204, "admin extras are served on the admin port");
    cr_assert_eq(get(r.api, "/debug", &p), 0);
    cr_assert_eq(p.status, 404, "and not on the public one");
    cr_assert_eq(get(r.admin, "/v1/ping", &p), 0);
    cr_assert_eq(p.status, 404, "the public API is not on the admin port");
    cr_assert_eq(get(r.api, "/health", &p), 0);
    cr_assert_eq(p.status, 404, "probes are not on the public port");

    cr_assert_eq(get(r.admin, "/health", &p), 0);
    cr_assert_eq(p.status, 200);
    cr_assert(strstr(p.body, "\"status\":\"ok\""), "%s", p.body);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

Test(service, admin_port_defaults_to_the_api_port_plus_1000)
{
    int port = 0;
    for (int i = 0; i < 50 && !port; i++) {
        int p = probe_free_port();
        if (p > 0 && p + 1000 < 65536) {
            /* p + 1000 must be free too */
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)(p + 1000)),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0)
                port = p;
            close(fd);
        }
    }
    cr_assert_gt(port, 0);
    char v[16];
    snprintf(v, sizeof v, "%d", port);
    setenv("PORT", v, 1);
    unsetenv("ADMIN_PORT");
    snprintf(r.admin, sizeof r.admin, "http://127.0.0.1:%d", port + 1000);
    r.s = new_service(0, 0);
    runner_start(&r); /* waits for /health on port + 1000 */
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

static atomic_int g_check_rc;

static int my_check(void *ud)
{
    TC_UNUSED(ud);
    return atomic_load(&g_check_rc);
}

Test(service, ready_is_200_only_while_every_check_passes)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_ready_check(r.s, "queue", my_check, NULL), TC_OK);
    runner_start(&r);
    probe_resp_t p;
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 200, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"ready\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"queue\":\"ok\""), "%s", p.body);

    atomic_store(&g_check_rc, TC_EUNAVAIL);
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 503, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"not_ready\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"queue\":\"unavailable\""), "%s", p.body);
    cr_assert_eq(get(r.admin, "/health", &p), 0);
    cr_assert_eq(p.status, 200, "liveness does not depend on readiness");

    atomic_store(&g_check_rc, TC_OK);
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 200);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

static void redis_at_closed_port(void)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", probe_free_port());
    setenv("REDIS_URL", url, 1);
}

Test(service, a_degradable_dependency_down_keeps_ready_at_200)
{
    redis_at_closed_port();
    r.s = new_service(TC_NEED_REDIS, TC_NEED_REDIS);
    runner_start(&r);
    probe_resp_t p;
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 200, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"degraded\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"redis\":\"unavailable\""), "%s", p.body);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

Test(service, a_required_dependency_down_makes_ready_503)
{
    redis_at_closed_port();
    r.s = new_service(TC_NEED_REDIS, 0);
    runner_start(&r);
    probe_resp_t p;
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 503, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"not_ready\""), "%s", p.body);
    cr_assert(strstr(p.body, "\"redis\":\"unavailable\""), "%s", p.body);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

Test(service, metrics_are_prometheus_text_with_request_counts)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_routes(r.s, g_routes, TC_ARRAY_LEN(g_routes)), TC_OK);
    runner_start(&r);
    probe_resp_t p;
    cr_assert_eq(get(r.api, "/v1/ping", &p), 0);
    /* the request is counted when it completes, which may be just after its answer arrived */
    int64_t until = tc_mono_ms() + 5000;
    for (;;) {
        cr_assert_eq(get(r.admin, "/metrics", &p), 0);
        if (strstr(p.body, "http_requests_total{") || tc_mono_ms() >= until)
            break;
        tc_sleep_ms(20);
    }
    cr_assert_eq(p.status, 200);
    cr_assert_str_eq(p.content_type, "text/plain; version=0.0.4; charset=utf-8");
    cr_assert(strstr(p.body, "# TYPE process_uptime_seconds gauge"), "%s", p.body);
    cr_assert(strstr(p.body, "http_requests_total{"), "%s", p.body);
    cr_assert(strstr(p.body, "/v1/ping"), "the API request is counted by route: %s", p.body);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

/* ------------------------------------------------------------------ background work */

static atomic_int g_job_runs;

static void job(void *ud)
{
    TC_UNUSED(ud);
    atomic_fetch_add(&g_job_runs, 1);
}

Test(service, periodic_jobs_run_until_shutdown)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_every(r.s, "tick", 50, job, NULL), TC_OK);
    runner_start(&r);
    cr_assert_eq(tc_service_stopping(r.s), 0);
    tc_sleep_ms(600);
    int runs = atomic_load(&g_job_runs);
    cr_assert_geq(runs, 4, "a 50 ms job ran %d times in 600 ms", runs);
    cr_assert_eq(runner_stop(&r), 0);
    cr_assert_eq(tc_service_stopping(r.s), 1);
    runs = atomic_load(&g_job_runs);
    tc_sleep_ms(300);
    cr_assert_eq(atomic_load(&g_job_runs), runs, "no job runs after shutdown");
    tc_service_free(r.s);
}

static atomic_int g_stop_hooks;

static void on_stop(void *ud)
{
    /* called while the jobs may still run: shutdown has begun, the jobs are not joined */
    cr_assert_eq(tc_service_stopping(ud), 1);
    atomic_fetch_add(&g_stop_hooks, 1);
}

static void idle_worker(void *ud)
{
    tc_wake_t *w = ud;
    while (tc_wake_idle(w, 600000))
        ;
}

Test(service, stop_hooks_run_once_and_end_a_pools_idle_waits)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 2), TC_OK);
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_on_stop(r.s, on_stop, r.s), TC_OK);
    cr_assert_eq(tc_service_close_on_stop(r.s, &w), TC_OK);
    /* two workers that wait without a timeout: the shutdown must not hang on them */
    cr_assert_eq(tc_service_every(r.s, "pool-1", 1, idle_worker, &w), TC_OK);
    cr_assert_eq(tc_service_every(r.s, "pool-2", 1, idle_worker, &w), TC_OK);
    runner_start(&r);
    tc_sleep_ms(100);
    cr_assert_eq(atomic_load(&g_stop_hooks), 0);
    cr_assert_eq(runner_stop(&r), 0);
    cr_assert_eq(atomic_load(&g_stop_hooks), 1);
    tc_service_free(r.s);
    tc_wake_destroy(&w);
}

static atomic_int g_reloads;

static void on_reload(void *ud)
{
    TC_UNUSED(ud);
    atomic_fetch_add(&g_reloads, 1);
}

Test(service, sighup_reloads_and_keeps_serving)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_on_reload(r.s, on_reload, NULL), TC_OK);
    runner_start(&r);
    cr_assert_eq(kill(getpid(), SIGHUP), 0);
    int64_t until = tc_mono_ms() + 5000;
    while (atomic_load(&g_reloads) == 0 && tc_mono_ms() < until)
        tc_sleep_ms(10);
    cr_assert_eq(atomic_load(&g_reloads), 1);
    probe_resp_t p;
    cr_assert_eq(get(r.admin, "/health", &p), 0);
    cr_assert_eq(p.status, 200, "a reload is not a shutdown");
    cr_assert_eq(tc_service_stopping(r.s), 0);
    cr_assert_eq(runner_stop(&r), 0);
    tc_service_free(r.s);
}

/* ------------------------------------------------------------------ shutdown */

typedef struct {
    probe_resp_t resp;
    int rc;
} slow_call_t;

static void *call_slow(void *arg)
{
    slow_call_t *c = arg;
    c->rc = get(r.api, "/v1/slow", &c->resp);
    return NULL;
}

Test(service, sigterm_finishes_in_flight_requests_then_exits_0)
{
    r.s = new_service(0, 0);
    cr_assert_eq(tc_service_routes(r.s, g_routes, TC_ARRAY_LEN(g_routes)), TC_OK);
    runner_start(&r);
    slow_call_t call = {0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_slow, &call), 0);
    int64_t until = tc_mono_ms() + 5000;
    while (!atomic_load(&g_slow_entered) && tc_mono_ms() < until)
        tc_sleep_ms(5);
    cr_assert(atomic_load(&g_slow_entered), "the slow request never started");

    cr_assert_eq(kill(getpid(), SIGTERM), 0);
    tc_sleep_ms(300);
    /* draining: the admin port reports it, the API port accepts nothing new */
    probe_resp_t p;
    cr_assert_eq(get(r.admin, "/ready", &p), 0);
    cr_assert_eq(p.status, 503, "%s", p.body);
    cr_assert(strstr(p.body, "\"status\":\"stopping\""), "%s", p.body);
    cr_assert_neq(get(r.api, "/v1/ping", &p), 0, "a new connection during the drain is refused");

    pthread_join(t, NULL);
    cr_assert_eq(call.rc, 0);
    cr_assert_eq(call.resp.status, 200, "the in-flight request is finished, not cut");
    cr_assert(strstr(call.resp.body, "\"finished\":true"), "%s", call.resp.body);
    pthread_join(r.thread, NULL);
    cr_assert_eq(r.rc, 0, "a graceful shutdown exits 0");
    cr_assert_neq(get(r.admin, "/health", &p), 0, "the admin port closes last");
    tc_service_free(r.s);
}

/* A custom server (the gateway's event loop) gets the same lifecycle. */
static char g_calls[128];
static int g_custom_port;
static pthread_mutex_t g_calls_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(const char *what)
{
    pthread_mutex_lock(&g_calls_lock);
    size_t n = strlen(g_calls);
    snprintf(g_calls + n, sizeof g_calls - n, "%s%s", n ? "," : "", what);
    pthread_mutex_unlock(&g_calls_lock);
}

static int cs_start(void *ud, int port)
{
    TC_UNUSED(ud);
    g_custom_port = port;
    note("start");
    return TC_OK;
}

static void cs_quiesce(void *ud)
{
    TC_UNUSED(ud);
    note("quiesce");
}

static int cs_drain(void *ud, int timeout_ms)
{
    TC_UNUSED(ud);
    note(timeout_ms == 5000 ? "drain" : "drain-with-wrong-grace");
    return TC_OK;
}

static void cs_stop(void *ud)
{
    TC_UNUSED(ud);
    note("stop");
}

Test(service, a_custom_server_is_started_quiesced_drained_and_stopped)
{
    r.s = new_service(0, 0);
    tc_service_server_t cs = {
        .start = cs_start, .quiesce = cs_quiesce, .drain = cs_drain, .stop = cs_stop};
    cr_assert_eq(tc_service_custom_server(r.s, &cs), TC_OK);
    runner_start(&r);
    cr_assert_eq(g_custom_port, api_port(), "the custom server gets the configured API port");
    probe_resp_t p;
    cr_assert_neq(get(r.api, "/health", &p), 0, "tc_service serves nothing on the API port");
    cr_assert_eq(runner_stop(&r), 0);
    cr_assert_str_eq(g_calls, "start,quiesce,drain,stop");
    tc_service_free(r.s);
}
