/* tc_log: secret detection and the JSON line format. */
#include <criterion/criterion.h>
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
                            "private_key",  "credentials"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
        cr_assert(tc_log_is_secret_key(secret[i]), "%s must be masked", secret[i]);
    const char *plain[] = {"request_id", "span_id", "company", "route",
                           "status",     "user_id", "path"};
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
    tc_log_debug("not shown at info");
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
