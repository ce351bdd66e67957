/* tc_log: secret detection, the JSON line format and buffered output. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc/tc_log.h"

Test(log, secret_keys_are_recognised_case_insensitively)
{
    const char *secret[] = {"password",     "Password",     "db_passwd",     "client_secret",
                            "access_token", "X-Auth-Token", "Authorization", "api_key",
                            "APIKEY",       "cookie",       "card_number",   "cvv",
                            "private_key",  "credentials",  "ClientSecret",  "ACCESS_TOKEN",
                            "x_CVV",        "my-PassWord",  "apikey2"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
        cr_assert(tc_log_is_secret_key(secret[i]), "%s must be masked", secret[i]);
    const char *plain[] = {"request_id", "span_id", "company", "route", "status", "user_id",
                           "path",       "carp",    "api-key", "pass",  "tok",    ""};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        cr_assert(!tc_log_is_secret_key(plain[i]), "%s must not be masked", plain[i]);
    char long_key[200];
    memset(long_key, 'a', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    cr_assert(tc_log_is_secret_key(long_key), "unscannable keys are masked");
    cr_assert(!tc_log_is_secret_key(NULL));
}

/* Runs fn with stdout redirected to a temp file and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/tc-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int saved = dup(1);
    dup2(fd, 1);
    fn();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    static char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

static void log_some(void)
{
    tc_log_init("svc", "info");
    tc_log_set_context("req_1", "abc");
    tc_log_kv(TC_LOG_INFO, "hello \"world\"", "user_id", "usr_1", "password", "hunter2", NULL);
    tc_log_kv(TC_LOG_DEBUG, "not shown at info", NULL);
    tc_log_set_context(NULL, NULL);
}

Test(log, one_json_object_per_line_with_context_and_masking)
{
    char *out = capture(log_some);
    cr_assert_eq(strchr(out, '\n') - out + 1, (long)strlen(out), "exactly one line: %s", out);
    cr_assert(strstr(out, "\"level\":\"info\",\"service\":\"svc\",\"msg\":\"hello \\\"world\\\"\""),
              "%s", out);
    cr_assert(strstr(out, "\"user_id\":\"usr_1\""));
    cr_assert(strstr(out, "\"password\":\"***\""));
    cr_assert_null(strstr(out, "hunter2"), "secrets never reach the log");
    cr_assert(strstr(out, "\"request_id\":\"req_1\",\"trace_id\":\"abc\"}"));
}

/* ------------------------------------------------------------------ buffered output */

static int g_out_fd = -1;

/* What the redirected stdout holds so far. */
static const char *written(void)
{
    static char buf[8192];
    ssize_t n = pread(g_out_fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void buffered_in_order(void)
{
    tc_log_init("svc", "info");
    cr_assert_eq(tc_log_buffer_start(60000), 0);
    tc_log_kv(TC_LOG_INFO, "first", NULL);
    tc_log_kv(TC_LOG_INFO, "second", NULL);
    /* info lines wait for the flusher (a minute away here) */
    cr_assert_null(strstr(written(), "first"));
    tc_log_kv(TC_LOG_WARN, "third", NULL);
    /* a warning writes what was buffered, then itself, in order */
    const char *out = written();
    const char *a = strstr(out, "first"), *b = strstr(out, "second"), *c = strstr(out, "third");
    cr_assert(a && b && c && a < b && b < c, "%s", out);
    tc_log_kv(TC_LOG_INFO, "fourth", NULL);
    cr_assert_null(strstr(written(), "fourth"));
    tc_log_flush();
    cr_assert_not_null(strstr(written(), "fourth"));
    tc_log_kv(TC_LOG_INFO, "fifth", NULL);
    tc_log_buffer_stop(); /* writes the rest */
    cr_assert_not_null(strstr(written(), "fifth"));
    tc_log_kv(TC_LOG_INFO, "sixth", NULL); /* unbuffered again */
    cr_assert_not_null(strstr(written(), "sixth"));
}

static void buffered_flusher_writes(void)
{
    tc_log_init("svc", "info");
    cr_assert_eq(tc_log_buffer_start(20), 0);
    tc_log_kv(TC_LOG_INFO, "periodic", NULL);
    for (int i = 0; i < 100 && !strstr(written(), "periodic"); i++)
        usleep(10000);
    cr_assert_not_null(strstr(written(), "periodic"), "the flusher never wrote the line");
    tc_log_buffer_stop();
}

static void run_redirected(void (*fn)(void))
{
    char path[] = "/tmp/tc-log-XXXXXX";
    g_out_fd = mkstemp(path);
    cr_assert_geq(g_out_fd, 0);
    int saved = dup(1);
    dup2(g_out_fd, 1);
    fn();
    dup2(saved, 1);
    close(saved);
    close(g_out_fd);
    unlink(path);
}

Test(log, buffered_lines_keep_their_order_and_problems_appear_at_once)
{
    run_redirected(buffered_in_order);
}

Test(log, buffered_lines_are_written_by_the_flusher)
{
    run_redirected(buffered_flusher_writes);
}

static void *log_lines(void *arg)
{
    for (int i = 0; i < 2000; i++)
        tc_log_kv(
            TC_LOG_INFO, "line", "thread", (const char *)arg, "pad",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            NULL);
    return NULL;
}

static void buffered_many_threads(void)
{
    tc_log_init("svc", "info");
    cr_assert_eq(tc_log_buffer_start(5), 0);
    pthread_t t[4];
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_lines, (void *)names[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    tc_log_buffer_stop();
    /* 8000 lines, each a whole JSON object: count them and check every line's shape */
    off_t size = lseek(g_out_fd, 0, SEEK_END);
    char *all = malloc((size_t)size + 1);
    cr_assert_not_null(all);
    cr_assert_eq(pread(g_out_fd, all, (size_t)size, 0), size);
    all[size] = '\0';
    int lines = 0;
    for (char *line = all, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cr_assert(line[0] == '{' && nl[-1] == '}', "broken line: %.80s", line);
        lines++;
    }
    free(all);
    cr_assert_eq(lines, 8000);
}

Test(log, buffered_lines_from_many_threads_stay_whole)
{
    run_redirected(buffered_many_threads);
}
