/*
 * tc_config: typed getters over the environment, collected problems, URL masking and the
 * start-up log line with secrets masked.
 */
#include <criterion/criterion.h>

#include "tc/tc_config.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set(const char *name, const char *value)
{
    cr_assert_eq(setenv(name, value, 1), 0);
}

static void unset(const char *name)
{
    cr_assert_eq(unsetenv(name), 0);
}

static void expect_errors(const tc_config_t *cfg, const char *const *want, int n)
{
    cr_assert_eq(tc_config_errors(cfg), n, "%d problems, want %d (first: %s)",
                 tc_config_errors(cfg), n, tc_config_error(cfg, 0));
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(tc_config_error(cfg, i), want[i]);
    cr_assert_null(tc_config_error(cfg, n));
    cr_assert_null(tc_config_error(cfg, -1));
}

static void expect_one_error(const tc_config_t *cfg, const char *want)
{
    expect_errors(cfg, &want, 1);
}

/* Runs fn with fd 1 redirected into a pipe and returns what it wrote (caller frees). */
static char *capture_stdout(void (*fn)(const tc_config_t *), const tc_config_t *cfg)
{
    int p[2];
    fflush(stdout);
    cr_assert_eq(pipe(p), 0);
    int saved = dup(STDOUT_FILENO);
    cr_assert_geq(saved, 0);
    cr_assert_geq(dup2(p[1], STDOUT_FILENO), 0);
    close(p[1]);
    fn(cfg);
    fflush(stdout);
    cr_assert_geq(dup2(saved, STDOUT_FILENO), 0); /* closes the pipe's last write end */
    close(saved);

    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        ssize_t n = read(p[0], out + len, cap - len - 1);
        cr_assert_geq(n, 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(p[0]);
    out[len] = '\0';
    return out;
}

static void log_config(const tc_config_t *cfg)
{
    tc_config_log(cfg);
}

static void check_config(const tc_config_t *cfg)
{
    cr_assert_eq(tc_config_check(cfg), TC_EINVAL);
}

/* ------------------------------------------------------------------------- strings */

Test(config, required_missing)
{
    unset("TCT_DATABASE_URL");
    tc_config_t *cfg = tc_config_new();
    cr_assert_null(tc_config_str(cfg, "TCT_DATABASE_URL", NULL));
    expect_one_error(cfg, "TCT_DATABASE_URL: required but not set");
    char *out = capture_stdout(check_config, cfg);
    cr_assert(strstr(out, "\"msg\":\"invalid configuration\",\"problem\":\"TCT_DATABASE_URL: "
                          "required but not set\"") != NULL,
              "%s", out);
    free(out);
    tc_config_free(cfg);
}

Test(config, required_present)
{
    set("TCT_DATABASE_URL", "postgres://db/app");
    tc_config_t *cfg = tc_config_new();
    cr_assert_str_eq(tc_config_str(cfg, "TCT_DATABASE_URL", NULL), "postgres://db/app");
    unset("TCT_SIGNING");
    cr_assert_null(tc_config_secret(cfg, "TCT_SIGNING", NULL));
    expect_one_error(cfg, "TCT_SIGNING: required but not set");
    tc_config_free(cfg);
}

Test(config, defaults_and_copies)
{
    unset("TCT_REGION");
    set("TCT_NAME", "alpha");
    tc_config_t *cfg = tc_config_new();
    static const char def[] = "eu-west-1";
    cr_assert_eq(tc_config_str(cfg, "TCT_REGION", def), def);
    const char *name = tc_config_str(cfg, "TCT_NAME", "beta");
    cr_assert_str_eq(name, "alpha");
    /* the value is a copy: changing the environment later changes nothing */
    set("TCT_NAME", "gamma");
    cr_assert_str_eq(name, "alpha");
    cr_assert_str_eq(tc_config_str(cfg, "TCT_NAME", "beta"), "alpha", "first read wins");
    cr_assert_eq(tc_config_errors(cfg), 0);
    cr_assert_eq(tc_config_check(cfg), TC_OK);
    tc_config_free(cfg);
}

Test(config, empty_string_is_unset)
{
    set("TCT_EMPTY", "");
    tc_config_t *cfg = tc_config_new();
    cr_assert_str_eq(tc_config_str(cfg, "TCT_EMPTY", "dflt"), "dflt");
    cr_assert_null(tc_config_opt(cfg, "TCT_EMPTY"));
    cr_assert_eq(tc_config_int(cfg, "TCT_EMPTY", 5, 0, 10), 5);
    cr_assert_eq(tc_config_bool(cfg, "TCT_EMPTY", 1), 1);
    cr_assert_eq(tc_config_errors(cfg), 0);
    tc_config_free(cfg);

    cfg = tc_config_new();
    cr_assert_null(tc_config_str(cfg, "TCT_EMPTY", NULL));
    expect_one_error(cfg, "TCT_EMPTY: required but not set");
    tc_config_free(cfg);

    cfg = tc_config_new();
    cr_assert_eq(tc_config_int_req(cfg, "TCT_EMPTY", 0, 10), 0);
    expect_one_error(cfg, "TCT_EMPTY: required but not set");
    tc_config_free(cfg);
}

Test(config, opt_is_never_an_error)
{
    unset("TCT_OPTIONAL");
    set("TCT_PRESENT", "here");
    tc_config_t *cfg = tc_config_new();
    cr_assert_null(tc_config_opt(cfg, "TCT_OPTIONAL"));
    cr_assert_str_eq(tc_config_opt(cfg, "TCT_PRESENT"), "here");
    cr_assert_eq(tc_config_errors(cfg), 0);
    tc_config_free(cfg);
}

/* ------------------------------------------------------------------------- integers */

Test(config, int_values)
{
    set("TCT_A", "8080");
    set("TCT_B", "-5");
    set("TCT_C", "+7");
    set("TCT_D", "0");
    set("TCT_E", "9223372036854775807");
    unset("TCT_F");
    tc_config_t *cfg = tc_config_new();
    cr_assert_eq(tc_config_int(cfg, "TCT_A", 1, 1, 65535), 8080);
    cr_assert_eq(tc_config_int(cfg, "TCT_B", 1, -10, 10), -5);
    cr_assert_eq(tc_config_int(cfg, "TCT_C", 1, 0, 10), 7);
    cr_assert_eq(tc_config_int(cfg, "TCT_D", 1, 0, 0), 0);
    cr_assert_eq(tc_config_int(cfg, "TCT_E", 1, 0, INT64_MAX), INT64_MAX);
    cr_assert_eq(tc_config_int(cfg, "TCT_F", 30, 1, 60), 30);
    cr_assert_eq(tc_config_int_req(cfg, "TCT_A", 1, 65535), 8080);
    cr_assert_eq(tc_config_errors(cfg), 0);
    tc_config_free(cfg);
}

Test(config, int_parse_errors)
{
    static const char *const bad[] = {
        "abc", "12abc", "1.5", "12 ", "0x10", "1e3", "-", "99999999999999999999", "--1", "٣",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        set("TCT_N", bad[i]);
        tc_config_t *cfg = tc_config_new();
        cr_assert_eq(tc_config_int(cfg, "TCT_N", 42, INT64_MIN, INT64_MAX), 42, "\"%s\"", bad[i]);
        expect_one_error(cfg, "TCT_N: not an integer");
        tc_config_free(cfg);
    }
}

Test(config, int_range)
{
    set("TCT_PORT", "70000");
    set("TCT_WORKERS", "0");
    tc_config_t *cfg = tc_config_new();
    cr_assert_eq(tc_config_int(cfg, "TCT_PORT", 8080, 1, 65535), 8080);
    cr_assert_eq(tc_config_int_req(cfg, "TCT_WORKERS", 1, 64), 0);
    const char *want[] = {"TCT_PORT: 70000 is outside [1, 65535]",
                          "TCT_WORKERS: 0 is outside [1, 64]"};
    expect_errors(cfg, want, 2);
    tc_config_free(cfg);
}

Test(config, int_required_missing)
{
    unset("TCT_PORT");
    tc_config_t *cfg = tc_config_new();
    cr_assert_eq(tc_config_int_req(cfg, "TCT_PORT", 1, 65535), 0);
    expect_one_error(cfg, "TCT_PORT: required but not set");
    tc_config_free(cfg);
}

/* ------------------------------------------------------------------------- bool, enum */

Test(config, bool_spellings)
{
    static const char *const yes[] = {"1", "true", "TRUE", "True", "yes", "YES", "on", "On"};
    static const char *const no[] = {"0", "false", "FALSE", "no", "No", "off", "OFF"};
    for (size_t i = 0; i < TC_ARRAY_LEN(yes); i++) {
        set("TCT_FLAG", yes[i]);
        tc_config_t *cfg = tc_config_new();
        cr_assert_eq(tc_config_bool(cfg, "TCT_FLAG", 0), 1, "%s", yes[i]);
        cr_assert_eq(tc_config_errors(cfg), 0);
        tc_config_free(cfg);
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(no); i++) {
        set("TCT_FLAG", no[i]);
        tc_config_t *cfg = tc_config_new();
        cr_assert_eq(tc_config_bool(cfg, "TCT_FLAG", 1), 0, "%s", no[i]);
        cr_assert_eq(tc_config_errors(cfg), 0);
        tc_config_free(cfg);
    }
}

Test(config, bool_invalid_and_default)
{
    static const char *const bad[] = {"2", "y", "n", "enabled", "truee", " true", "-1"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        set("TCT_FLAG", bad[i]);
        tc_config_t *cfg = tc_config_new();
        cr_assert_eq(tc_config_bool(cfg, "TCT_FLAG", 1), 1, "%s", bad[i]);
        expect_one_error(cfg, "TCT_FLAG: not a boolean (true/false)");
        tc_config_free(cfg);
    }
    unset("TCT_FLAG");
    tc_config_t *cfg = tc_config_new();
    cr_assert_eq(tc_config_bool(cfg, "TCT_FLAG", 1), 1);
    cr_assert_eq(tc_config_bool(cfg, "TCT_OTHER_FLAG", 0), 0);
    cr_assert_eq(tc_config_errors(cfg), 0);
    tc_config_free(cfg);
}

Test(config, enum_values)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    tc_config_t *cfg = tc_config_new();
    set("TCT_LEVEL", "warn");
    cr_assert_eq(tc_config_enum(cfg, "TCT_LEVEL", levels, 1), 2);
    set("TCT_LEVEL2", "ERROR");
    cr_assert_eq(tc_config_enum(cfg, "TCT_LEVEL2", levels, 1), 3, "case-insensitive");
    unset("TCT_LEVEL3");
    cr_assert_eq(tc_config_enum(cfg, "TCT_LEVEL3", levels, 1), 1);
    cr_assert_eq(tc_config_errors(cfg), 0);
    set("TCT_LEVEL4", "verbose");
    cr_assert_eq(tc_config_enum(cfg, "TCT_LEVEL4", levels, 1), 1);
    expect_one_error(cfg, "TCT_LEVEL4: must be one of: debug, info, warn, error");
    tc_config_free(cfg);
}

/* ------------------------------------------------------------------------- collection */

Test(config, every_problem_collected)
{
    static const char *const modes[] = {"a", "b", NULL};
    unset("TCT_DATABASE_URL");
    set("TCT_PORT", "http");
    set("TCT_WORKERS", "500");
    set("TCT_DEBUG", "maybe");
    set("TCT_MODE", "c");
    unset("TCT_API_KEY");
    set("TCT_OK", "fine");
    tc_config_t *cfg = tc_config_new();
    tc_config_str(cfg, "TCT_DATABASE_URL", NULL);
    tc_config_int(cfg, "TCT_PORT", 8080, 1, 65535);
    tc_config_int(cfg, "TCT_WORKERS", 4, 1, 64);
    tc_config_str(cfg, "TCT_OK", NULL);
    tc_config_bool(cfg, "TCT_DEBUG", 0);
    tc_config_enum(cfg, "TCT_MODE", modes, 0);
    tc_config_secret(cfg, "TCT_API_KEY", NULL);
    tc_config_fail(cfg, "TCT_OK", "must differ from TCT_MODE");
    const char *want[] = {
        "TCT_DATABASE_URL: required but not set", "TCT_PORT: not an integer",
        "TCT_WORKERS: 500 is outside [1, 64]",    "TCT_DEBUG: not a boolean (true/false)",
        "TCT_MODE: must be one of: a, b",         "TCT_API_KEY: required but not set",
        "TCT_OK: must differ from TCT_MODE",
    };
    expect_errors(cfg, want, (int)TC_ARRAY_LEN(want));

    /* tc_config_check logs every problem, one error line each */
    char *out = capture_stdout(check_config, cfg);
    int lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_assert_eq(lines, 7, "%s", out);
    cr_assert(strstr(out, "\"problem\":\"TCT_WORKERS: 500 is outside [1, 64]\"") != NULL, "%s",
              out);
    cr_assert(strstr(out, "\"level\":\"error\"") != NULL);
    free(out);
    tc_config_free(cfg);
}

Test(config, free_null)
{
    tc_config_free(NULL);
}

/* ------------------------------------------------------------------------- masking */

static void expect_masked(const char *url, const char *want)
{
    char out[256];
    tc_config_mask_url(url, out, sizeof out);
    cr_assert_str_eq(out, want, "mask(%s)", url);
}

Test(config, mask_url)
{
    expect_masked("postgres://app:hunter2@db:5432/app", "postgres://app:***@db:5432/app");
    expect_masked("redis://:pw@localhost:6379/0", "redis://:***@localhost:6379/0");
    expect_masked("amqp://u:p@h", "amqp://u:***@h");
    /* no password */
    expect_masked("postgres://app@db:5432/app", "postgres://app@db:5432/app");
    expect_masked("http://localhost:8080/v1", "http://localhost:8080/v1");
    expect_masked("kafka:9092", "kafka:9092");
    expect_masked("", "");
    /* '@' outside the authority is not userinfo */
    expect_masked("https://api.example.com:8443/users/@me",
                  "https://api.example.com:8443/users/@me");
    expect_masked("http://host:80/a?email=x@y.z", "http://host:80/a?email=x@y.z");
    expect_masked("http://host:80/#frag@x", "http://host:80/#frag@x");
    expect_masked("postgres://app:hunter2@db:5432/app?opt=a@b",
                  "postgres://app:***@db:5432/app?opt=a@b");
    expect_masked("postgres://app:hunter2@db/pa@th", "postgres://app:***@db/pa@th");
    /* an unencoded '@' inside the password: the last '@' of the authority ends userinfo */
    expect_masked("postgres://app:hun@ter2@db/app", "postgres://app:***@db/app");
}

Test(config, mask_url_truncates_safely)
{
    char out[16];
    memset(out, 'X', sizeof out);
    tc_config_mask_url("postgres://app:hunter2@db:5432/app", out, sizeof out);
    cr_assert_eq(strlen(out), sizeof out - 1);
    cr_assert_str_eq(out, "postgres://app:");
    cr_assert_null(strstr(out, "hunter2"));
}

/* ------------------------------------------------------------------------- the log line */

Test(config, log_masks_secrets)
{
    tc_log_init("config-test", "info");
    set("TCT_DATABASE_URL", "postgres://app:hunter2@db:5432/app");
    set("TCT_SIGNING", "s3cr3t-signing-value");
    set("TCT_JWT_TOKEN", "tok-abcdef");
    set("TCT_DB_PASSWORD", "pw-123456");
    set("TCT_PORT", "8080");
    unset("TCT_UNSET");
    tc_config_t *cfg = tc_config_new();
    tc_config_str(cfg, "TCT_DATABASE_URL", NULL);
    tc_config_secret(cfg, "TCT_SIGNING", NULL); /* secret by declaration */
    tc_config_str(cfg, "TCT_JWT_TOKEN", NULL);  /* secret by its name */
    tc_config_opt(cfg, "TCT_DB_PASSWORD");
    tc_config_int(cfg, "TCT_PORT", 1, 1, 65535);
    tc_config_str(cfg, "TCT_UNSET", "d");

    char *out = capture_stdout(log_config, cfg);
    cr_assert_null(strstr(out, "hunter2"), "%s", out);
    cr_assert_null(strstr(out, "s3cr3t"), "%s", out);
    cr_assert_null(strstr(out, "tok-abcdef"), "%s", out);
    cr_assert_null(strstr(out, "pw-123456"), "%s", out);

    /* exactly one JSON line */
    size_t len = strlen(out);
    cr_assert_gt(len, 0);
    cr_assert_eq(out[len - 1], '\n');
    cr_assert_eq(strchr(out, '\n'), out + len - 1, "one line: %s", out);
    cJSON *line = cJSON_Parse(out);
    cr_assert_not_null(line, "not JSON: %s", out);
    cr_assert_str_eq(cJSON_GetObjectItem(line, "level")->valuestring, "info");
    cr_assert_str_eq(cJSON_GetObjectItem(line, "service")->valuestring, "config-test");
    cr_assert_str_eq(cJSON_GetObjectItem(line, "msg")->valuestring, "configuration");
    const cJSON *config = cJSON_GetObjectItem(line, "config");
    cr_assert(cJSON_IsString(config));
    cr_assert_str_eq(config->valuestring,
                     "TCT_DATABASE_URL=postgres://app:***@db:5432/app TCT_SIGNING=*** "
                     "TCT_JWT_TOKEN=*** TCT_DB_PASSWORD=*** TCT_PORT=8080 TCT_UNSET=(unset)");
    cJSON_Delete(line);
    free(out);
    tc_config_free(cfg);
}

Test(config, secret_flag_sticks_across_reads)
{
    set("TCT_SIGNING", "s3cr3t-signing-value");
    tc_config_t *cfg = tc_config_new();
    tc_config_str(cfg, "TCT_SIGNING", NULL);
    tc_config_secret(cfg, "TCT_SIGNING", NULL);
    char *out = capture_stdout(log_config, cfg);
    cr_assert_null(strstr(out, "s3cr3t"), "%s", out);
    cr_assert(strstr(out, "TCT_SIGNING=***") != NULL, "%s", out);
    free(out);
    tc_config_free(cfg);
}

Test(config, key32_hex_or_base64_and_masked)
{
    tc_log_init("config-test", "info");
    set("TCT_KEK_HEX", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    set("TCT_KEK_B64", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    set("TCT_KEK_SHORT", "0001");
    unset("TCT_KEK_MISSING");
    tc_config_t *cfg = tc_config_new();
    uint8_t a[32], b[32], c[32];
    cr_assert_eq(tc_config_key32(cfg, "TCT_KEK_HEX", a), TC_OK);
    cr_assert_eq(tc_config_key32(cfg, "TCT_KEK_B64", b), TC_OK);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(a[i], i);
    cr_assert_arr_eq(a, b, 32, "the same key in both spellings");
    cr_assert_eq(tc_config_key32(cfg, "TCT_KEK_SHORT", c), TC_EINVAL);
    cr_assert_eq(tc_config_key32(cfg, "TCT_KEK_MISSING", c), TC_EINVAL);
    const char *const want[] = {"TCT_KEK_SHORT: must be 32 bytes as 64 hex characters or base64",
                                "TCT_KEK_MISSING: required but not set"};
    expect_errors(cfg, want, 2);
    char *out = capture_stdout(log_config, cfg);
    cr_assert_null(strstr(out, "0001"), "a key is never logged: %s", out);
    cr_assert_null(strstr(out, "AAECAwQF"), "%s", out);
    free(out);
    tc_config_free(cfg);
}

Test(config, topics)
{
    tc_config_t *cfg = tc_config_new();
    const char *topics[4];
    char *buf = NULL;
    unset("TC_TEST_TOPICS");
    tc_config_topics(cfg, "TC_TEST_TOPICS", "user-events,\tbilling-events\n", &buf, topics, 3);
    cr_assert_eq(tc_config_errors(cfg), 0);
    cr_assert_str_eq(topics[0], "user-events");
    cr_assert_str_eq(topics[1], "billing-events");
    cr_assert_null(topics[2]);
    const char *bad[] = {
        "a,b", "user-events,notification-events", "a-events,b-events,c-events,d-events", ",",
        " ",   "user-events,user-events"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        tc_config_t *c = tc_config_new();
        set("TC_TEST_TOPICS", bad[i]);
        tc_config_topics(c, "TC_TEST_TOPICS", "user-events", &buf, topics, 3);
        cr_assert_eq(tc_config_errors(c), 1, "%s accepted", bad[i]);
        cr_assert(strstr(tc_config_error(c, 0), "1 to 3 distinct *-events topics"), "%s",
                  tc_config_error(c, 0));
        cr_assert_null(topics[0]);
        tc_config_free(c);
    }
    unset("TC_TEST_TOPICS");
    free(buf); /* each call freed the list before it */
    tc_config_free(cfg);
}
