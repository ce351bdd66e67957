/*
 * Runs a tc_service inside a test process, on loopback ports, as a supervisor would: the
 * service is opened on the test's thread, served on a thread of its own, and stopped with a
 * SIGTERM to the whole process (tc_service_new blocked the shutdown signals in every thread).
 * Used by the unit and component suites of tc_service.
 */
#ifndef TC_TEST_SERVICE_RUNNER_H
#define TC_TEST_SERVICE_RUNNER_H

#include "tc/tc_core.h"
#include "tc/tc_service.h"
#include "tc/tc_time.h"

#include "http_probe.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    tc_service_t *s;
    pthread_t thread;
    int rc;
    char api[64], admin[64]; /* http://127.0.0.1:<port> */
} runner_t;

/* PORT and ADMIN_PORT: two free loopback ports; BIND_ADDR 127.0.0.1; quiet logs. */
static inline void runner_env(runner_t *r)
{
    int port = probe_free_port(), admin = probe_free_port();
    cr_assert(port > 0 && admin > 0 && port != admin);
    char v[16];
    snprintf(v, sizeof v, "%d", port);
    setenv("PORT", v, 1);
    snprintf(v, sizeof v, "%d", admin);
    setenv("ADMIN_PORT", v, 1);
    setenv("BIND_ADDR", "127.0.0.1", 1);
    setenv("LOG_LEVEL", getenv("TC_TEST_LOG_LEVEL") ? getenv("TC_TEST_LOG_LEVEL") : "error", 1);
    setenv("HTTP_THREADS", "4", 1);
    setenv("SHUTDOWN_GRACE_MS", "5000", 1);
    snprintf(r->api, sizeof r->api, "http://127.0.0.1:%d", port);
    snprintf(r->admin, sizeof r->admin, "http://127.0.0.1:%d", admin);
}

static inline int runner_get(const char *base, const char *path, probe_resp_t *out)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    return probe("GET", url, NULL, NULL, NULL, out);
}

static inline void *runner_main(void *arg)
{
    runner_t *r = arg;
    r->rc = tc_service_run(r->s);
    return NULL;
}

/* Serves an opened service and waits until /health answers. */
static inline void runner_serve(runner_t *r)
{
    cr_assert_eq(pthread_create(&r->thread, NULL, runner_main, r), 0);
    probe_resp_t p;
    int64_t until = tc_mono_ms() + 10000;
    while (tc_mono_ms() < until) {
        if (runner_get(r->admin, "/health", &p) == 0 && p.status == 200)
            return;
        tc_sleep_ms(20);
    }
    cr_assert_fail("%s/health never answered 200", r->admin);
}

/* Opens the service (TC_OK expected) and serves it. */
static inline void runner_start(runner_t *r)
{
    cr_assert_eq(tc_service_open(r->s), TC_OK, "tc_service_open failed");
    runner_serve(r);
}

/* SIGTERM to the process, as Kubernetes sends it; returns the service's exit code. */
static inline int runner_stop(runner_t *r)
{
    cr_assert_eq(kill(getpid(), SIGTERM), 0);
    pthread_join(r->thread, NULL);
    return r->rc;
}

#endif
