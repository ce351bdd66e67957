/*
 * tc_metrics: values, exact exposition text, and `promtool check metrics` on the output
 * (promtool must be on PATH; the test harness installs it).
 */
#include <criterion/criterion.h>

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(metrics, .fini = tc_metrics_reset);

static char *render(void)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_metrics_render(&b), TC_OK);
    char *text = tc_buf_detach(&b);
    cr_assert_not_null(text);
    return text;
}

static void expect_contains(const char *text, const char *line)
{
    cr_assert(strstr(text, line) != NULL, "missing:\n%s\nin:\n%s", line, text);
}

/* ------------------------------------------------------------------------------ values */

Test(metrics, counter_and_gauge_values)
{
    tc_metric_t *c = tc_metric_counter("jobs_total", "Jobs run.", "queue");
    tc_metric_t *g = tc_metric_gauge("temperature_celsius", "Temperature.", NULL);
    cr_assert_not_null(c);
    cr_assert_not_null(g);

    tc_metric_inc(c, 1, "a");
    tc_metric_inc(c, 2.5, "a");
    tc_metric_inc(c, 1, "b");
    tc_metric_inc(c, -5, "a"); /* counters never go down */
    tc_metric_inc(c, NAN, "a");
    cr_assert_float_eq(tc_metric_value(c, "a"), 3.5, 1e-12);
    cr_assert_float_eq(tc_metric_value(c, "b"), 1, 1e-12);
    cr_assert_float_eq(tc_metric_value(c, "absent"), 0, 1e-12);

    tc_metric_set(g, 21.5);
    tc_metric_inc(g, -1.5);
    cr_assert_float_eq(tc_metric_value(g), 20, 1e-12);
    tc_metric_set(c, 100, "a"); /* a counter cannot be set */
    cr_assert_float_eq(tc_metric_value(c, "a"), 3.5, 1e-12);
}

Test(metrics, registering_twice_returns_the_same_family)
{
    tc_metric_t *a = tc_metric_counter("dup_total", "Dup.", "x");
    cr_assert_not_null(a);
    cr_assert_eq(tc_metric_counter("dup_total", "Dup.", "x"), a);
    cr_assert_null(tc_metric_counter("dup_total", "Dup.", "y"), "other labels");
    cr_assert_null(tc_metric_gauge("dup_total", "Dup.", "x"), "other type");
}

Test(metrics, invalid_names_are_rejected)
{
    static const char *const bad_names[] = {
        "",           "1abc",     "has space", "a-b",   "camelCase", "with:colon",
        "__reserved", "x_bucket", "x_count",   "x_sum", "é_total",   "gauge_total",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad_names); i++)
        cr_expect_null(tc_metric_gauge(bad_names[i], "Help.", NULL), "accepted %s", bad_names[i]);
    cr_expect_null(tc_metric_gauge(NULL, "Help.", NULL));
    cr_expect_null(tc_metric_counter("requests", "Help.", NULL), "counters end in _total");
    cr_expect_null(tc_metric_histogram("latency_total", "Help.", NULL, NULL, 0));
    cr_expect_null(tc_metric_gauge("no_help", "", NULL));
    cr_expect_null(tc_metric_gauge("no_help", NULL, NULL));

    static const char *const bad_labels[] = {"le",        "quantile", "__x", "a,a",  "a,,b", "a,",
                                             "bad-label", "9x",       "a b", "Code", ","};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad_labels); i++)
        cr_expect_null(tc_metric_gauge("labelled", "Help.", bad_labels[i]), "accepted %s",
                       bad_labels[i]);
    tc_metric_t *ok = tc_metric_gauge("labelled", "Help.", "route, method");
    cr_expect_not_null(ok, "spaces around label names are allowed");

    const double descending[] = {1, 0.5};
    const double with_nan[] = {0.1, NAN};
    const double with_inf[] = {0.1, INFINITY};
    cr_expect_null(tc_metric_histogram("h1_seconds", "Help.", NULL, descending, 2));
    cr_expect_null(tc_metric_histogram("h2_seconds", "Help.", NULL, with_nan, 2));
    cr_expect_null(tc_metric_histogram("h3_seconds", "Help.", NULL, with_inf, 2));
}

Test(metrics, null_family_is_ignored)
{
    tc_metric_inc(NULL, 1);
    tc_metric_set(NULL, 1);
    tc_metric_observe(NULL, 1);
    cr_assert_float_eq(tc_metric_value(NULL), 0, 1e-12);
}

/* ------------------------------------------------------------------------------ histograms */

Test(metrics, histogram_buckets_are_cumulative)
{
    const double bounds[] = {0.1, 0.5, 1};
    tc_metric_t *h = tc_metric_histogram("job_duration_seconds", "Job time.", "kind", bounds, 3);
    cr_assert_not_null(h);
    tc_metric_observe(h, 0.0625, "a");
    tc_metric_observe(h, 0.1, "a"); /* le is inclusive */
    tc_metric_observe(h, 0.25, "a");
    tc_metric_observe(h, 2, "a");
    tc_metric_observe(h, NAN, "a"); /* ignored */
    cr_assert_float_eq(tc_metric_value(h, "a"), 4, 1e-12, "histogram value = count");

    char *text = render();
    expect_contains(text, "job_duration_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n"
                          "job_duration_seconds_bucket{kind=\"a\",le=\"0.5\"} 3\n"
                          "job_duration_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"
                          "job_duration_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"
                          "job_duration_seconds_sum{kind=\"a\"} 2.4125\n"
                          "job_duration_seconds_count{kind=\"a\"} 4\n");
    free(text);
}

Test(metrics, default_latency_buckets)
{
    tc_metric_t *h = tc_metric_histogram("rpc_duration_seconds", "RPC time.", NULL, NULL, 0);
    cr_assert_not_null(h);
    tc_metric_observe(h, 0.007);
    char *text = render();
    expect_contains(text, "# HELP rpc_duration_seconds RPC time.\n"
                          "# TYPE rpc_duration_seconds histogram\n"
                          "rpc_duration_seconds_bucket{le=\"0.005\"} 0\n"
                          "rpc_duration_seconds_bucket{le=\"0.01\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"0.025\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"0.05\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"0.1\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"0.25\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"0.5\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"1\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"2.5\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"5\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"10\"} 1\n"
                          "rpc_duration_seconds_bucket{le=\"+Inf\"} 1\n"
                          "rpc_duration_seconds_sum 0.007\n"
                          "rpc_duration_seconds_count 1\n");
    free(text);
}

/* ------------------------------------------------------------------------------ rendering */

Test(metrics, render_small_registry_exactly)
{
    tc_metric_t *c =
        tc_metric_counter("http_requests_total", "Requests handled.", "route,method,code");
    tc_metric_t *g = tc_metric_gauge("queue_depth", "Items waiting.", NULL);
    const double bounds[] = {0.1, 1};
    tc_metric_t *h = tc_metric_histogram("job_seconds", "Job time.", NULL, bounds, 2);
    tc_metric_t *idle = tc_metric_counter("errors_total", "Errors.", "kind");
    cr_assert(c && g && h && idle);
    tc_metric_inc(c, 1, "/v1/users/{id}", "GET", "200");
    tc_metric_inc(c, 2, "/v1/users/{id}", "GET", "200");
    tc_metric_inc(c, 1, "/v1/users", "POST", "201");
    tc_metric_set(g, 7);
    tc_metric_observe(h, 0.5);

    char *text = render();
    cr_assert_str_eq(text,
                     "# HELP http_requests_total Requests handled.\n"
                     "# TYPE http_requests_total counter\n"
                     "http_requests_total{route=\"/v1/users/{id}\",method=\"GET\",code=\"200\"} 3\n"
                     "http_requests_total{route=\"/v1/users\",method=\"POST\",code=\"201\"} 1\n"
                     "# HELP queue_depth Items waiting.\n"
                     "# TYPE queue_depth gauge\n"
                     "queue_depth 7\n"
                     "# HELP job_seconds Job time.\n"
                     "# TYPE job_seconds histogram\n"
                     "job_seconds_bucket{le=\"0.1\"} 0\n"
                     "job_seconds_bucket{le=\"1\"} 1\n"
                     "job_seconds_bucket{le=\"+Inf\"} 1\n"
                     "job_seconds_sum 0.5\n"
                     "job_seconds_count 1\n"
                     "# HELP errors_total Errors.\n"
                     "# TYPE errors_total counter\n");
    free(text);
}

Test(metrics, label_values_and_help_are_escaped)
{
    tc_metric_t *g = tc_metric_gauge("escaped", "Line one\nline \\two \"quoted\".", "path");
    cr_assert_not_null(g);
    tc_metric_set(g, 1, "a\"b\\c\nd");
    tc_metric_set(g, 2, (const char *)NULL);
    char *text = render();
    expect_contains(text, "# HELP escaped Line one\\nline \\\\two \"quoted\".\n");
    expect_contains(text, "escaped{path=\"a\\\"b\\\\c\\nd\"} 1\n");
    expect_contains(text, "escaped{path=\"\"} 2\n");
    free(text);
}

Test(metrics, numbers_are_formatted_for_prometheus)
{
    tc_metric_t *g = tc_metric_gauge("number", "Numbers.", "case");
    cr_assert_not_null(g);
    tc_metric_set(g, 0.1, "tenth");
    tc_metric_set(g, 1.0 / 3, "third");
    tc_metric_set(g, 123456789, "int");
    tc_metric_set(g, -2.5, "neg");
    tc_metric_set(g, 1e20, "big");
    tc_metric_set(g, INFINITY, "inf");
    tc_metric_set(g, -INFINITY, "ninf");
    tc_metric_set(g, NAN, "nan");
    char *text = render();
    expect_contains(text, "number{case=\"tenth\"} 0.1\n");
    expect_contains(text, "number{case=\"third\"} 0.3333333333333333\n");
    expect_contains(text, "number{case=\"int\"} 123456789\n");
    expect_contains(text, "number{case=\"neg\"} -2.5\n");
    expect_contains(text, "number{case=\"big\"} 1e+20\n");
    expect_contains(text, "number{case=\"inf\"} +Inf\n");
    expect_contains(text, "number{case=\"ninf\"} -Inf\n");
    expect_contains(text, "number{case=\"nan\"} NaN\n");
    free(text);
}

static double read_double(void *ud)
{
    return *(const double *)ud;
}

Test(metrics, gauge_fn_is_read_at_scrape_time)
{
    double pending = 3;
    tc_metric_t *m = tc_metric_gauge_fn("outbox_pending", "Unsent events.", read_double, &pending);
    cr_assert_not_null(m);
    cr_assert_null(tc_metric_gauge_fn("fn_without_callback", "Help.", NULL, NULL));
    pending = 42;
    cr_assert_float_eq(tc_metric_value(m), 42, 1e-12);
    char *text = render();
    expect_contains(text, "# HELP outbox_pending Unsent events.\n"
                          "# TYPE outbox_pending gauge\n"
                          "outbox_pending 42\n");
    free(text);
}

/* ------------------------------------------------------------------------------ threads */

#define THREADS    8
#define INCREMENTS 10000

typedef struct {
    tc_metric_t *counter;
    tc_metric_t *histogram;
    tc_metric_t *per_thread;
    int id;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    char label[16];
    snprintf(label, sizeof label, "t%d", w->id);
    for (int i = 0; i < INCREMENTS; i++) {
        tc_metric_inc(w->counter, 1, "shared");
        tc_metric_observe(w->histogram, 0.02);
        tc_metric_inc(w->per_thread, 1, label); /* new series appear while others update */
    }
    return NULL;
}

Test(metrics, concurrent_updates_are_not_lost)
{
    worker_t workers[THREADS];
    pthread_t threads[THREADS];
    tc_metric_t *counter = tc_metric_counter("ops_total", "Ops.", "kind");
    tc_metric_t *histogram = tc_metric_histogram("op_seconds", "Op time.", NULL, NULL, 0);
    tc_metric_t *per_thread = tc_metric_counter("thread_ops_total", "Per thread.", "thread");
    cr_assert(counter && histogram && per_thread);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker_t){counter, histogram, per_thread, i};
        cr_assert_eq(pthread_create(&threads[i], NULL, worker, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    cr_assert_float_eq(tc_metric_value(counter, "shared"), THREADS * INCREMENTS, 1e-9);
    cr_assert_float_eq(tc_metric_value(histogram), THREADS * INCREMENTS, 1e-9);
    cr_assert_float_eq(tc_metric_value(per_thread, "t3"), INCREMENTS, 1e-9);
}

Test(metrics, many_series_grow_the_table)
{
    tc_metric_t *c = tc_metric_counter("keyed_total", "Keyed.", "key");
    cr_assert_not_null(c);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        tc_metric_inc(c, i, key);
    }
    for (int i = 0; i < 2000; i += 97) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_float_eq(tc_metric_value(c, key), i, 1e-9);
    }
}

/* ------------------------------------------------------------------------------ promtool */

static char *write_temp(const char *text)
{
    const char *dir = getenv("TMPDIR");
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/tc_metrics_XXXXXX", dir && *dir ? dir : "/tmp") > 0);
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp %s", path);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Exit status of `promtool check metrics < file`; its output goes into `out`. */
static int promtool_check(const char *text, char *out, size_t outlen)
{
    cr_assert_eq(system("command -v promtool >/dev/null 2>&1"), 0,
                 "promtool is not installed (Debian package: prometheus); it is required");
    char *path = write_temp(text);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "promtool check metrics < '%s' 2>&1", path) > 0);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    unlink(path);
    free(path);
    free(cmd);
    cr_assert(WIFEXITED(status), "promtool did not exit normally");
    return WEXITSTATUS(status);
}

Test(metrics, rendered_text_passes_promtool)
{
    tc_metric_t *c =
        tc_metric_counter("http_requests_total", "Requests handled.", "route,method,code");
    tc_metric_t *h =
        tc_metric_histogram("http_request_duration_seconds", "Request latency.", "route", NULL, 0);
    tc_metric_t *g = tc_metric_gauge("db_pool_in_use", "Connections in use.", "pool");
    tc_metric_t *empty = tc_metric_counter("events_published_total", "Events.", "topic");
    double lag = 12;
    tc_metric_t *fn =
        tc_metric_gauge_fn("consumer_lag", "Lag.\nSecond \\ line.", read_double, &lag);
    tc_metric_t *plain = tc_metric_gauge("build_info", "Build.", NULL);
    cr_assert(c && h && g && empty && fn && plain);
    tc_metric_inc(c, 1, "/v1/users/{id}", "GET", "200");
    tc_metric_inc(c, 1, "/v1/a\"b\\c\nd", "POST", "500");
    tc_metric_observe(h, 0.003, "/v1/users/{id}");
    tc_metric_observe(h, 0.3, "/v1/users/{id}");
    tc_metric_observe(h, 30, "/v1/x");
    tc_metric_set(g, NAN, "main");
    tc_metric_set(g, INFINITY, "replica");
    tc_metric_set(g, 1.0 / 3, "other");

    char *text = render();
    char out[4096];
    int rc = promtool_check(text, out, sizeof out);
    cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s\non:\n%s", rc, out, text);
    free(text);
}

Test(metrics, promtool_check_can_fail)
{
    char out[4096];
    int rc = promtool_check("# HELP requests Bad name.\n# TYPE requests counter\nrequests 1\n", out,
                            sizeof out);
    cr_assert_neq(rc, 0, "promtool accepted a counter without _total: the check is not real");
}
