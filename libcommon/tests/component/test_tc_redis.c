/*
 * tc_redis against a real Redis: TC_TEST_REDIS_URL must point at one (the test harness starts
 * it). Keys carry the test process id and a clock reading so parallel runs never collide, and
 * expire on their own.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_redis.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *redis_url(void)
{
    const char *url = getenv("TC_TEST_REDIS_URL");
    cr_assert(url && *url, "TC_TEST_REDIS_URL is not set: these tests need a running Redis, "
                           "e.g. TC_TEST_REDIS_URL=redis://127.0.0.1:6379/0");
    return url;
}

static tc_redis_t *open_url(const char *url, int pool_size, int command_timeout_ms)
{
    tc_redis_opts_t opts = {.url = url,
                            .pool_size = pool_size,
                            .connect_timeout_ms = 500,
                            .command_timeout_ms = command_timeout_ms,
                            .acquire_timeout_ms = 2000};
    tc_redis_t *r = tc_redis_open(&opts);
    cr_assert_not_null(r, "tc_redis_open(%s) failed", url);
    return r;
}

static tc_redis_t *open_pool(int pool_size)
{
    return open_url(redis_url(), pool_size, 2000);
}

static void unique_key(char *out, size_t n, const char *what)
{
    snprintf(out, n, "tc:test:redis:%s:%d:%lld", what, (int)getpid(), (long long)tc_mono_ns());
}

/* The test URL without its path, split into userinfo ("" if none) and host:port. */
static void split_test_url(char *userinfo, char *hostport, size_t n)
{
    const char *url = redis_url();
    cr_assert(strncmp(url, "redis://", 8) == 0, "TC_TEST_REDIS_URL must start with redis://");
    const char *auth = url + 8;
    size_t len = strcspn(auth, "/");
    const char *at = memchr(auth, '@', len);
    snprintf(userinfo, n, "%.*s", at ? (int)(at - auth) : 0, auth);
    if (at) {
        len -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    snprintf(hostport, n, "%.*s", (int)len, auth);
}

static long long client_id(tc_redis_t *r)
{
    redisReply *reply = tc_redis_cmdf(r, "CLIENT ID");
    cr_assert_not_null(reply, "CLIENT ID got no reply");
    cr_assert_eq(reply->type, REDIS_REPLY_INTEGER);
    long long id = reply->integer;
    freeReplyObject(reply);
    return id;
}

static void expect_status(redisReply *reply, const char *status)
{
    cr_assert_not_null(reply, "no reply (Redis unreachable?)");
    cr_assert_eq(reply->type, REDIS_REPLY_STATUS, "reply type %d: %s", reply->type,
                 reply->str ? reply->str : "");
    cr_assert_str_eq(reply->str, status);
    freeReplyObject(reply);
}

static long long expect_integer(redisReply *reply)
{
    cr_assert_not_null(reply, "no reply (Redis unreachable?)");
    cr_assert_eq(reply->type, REDIS_REPLY_INTEGER, "reply type %d: %s", reply->type,
                 reply->str ? reply->str : "");
    long long v = reply->integer;
    freeReplyObject(reply);
    return v;
}

/* A local port nobody listens on: bind to port 0, note the port, close. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------------------------ commands */

Test(redis, ping)
{
    tc_redis_t *r = open_pool(2);
    cr_assert_eq(tc_redis_ping(r), TC_OK);
    tc_redis_close(r);
}

Test(redis, set_get_argv_binary_safe)
{
    tc_redis_t *r = open_pool(2);
    char key[128];
    unique_key(key, sizeof key, "argv");
    const char *set[] = {"SET", key, "a\0b", "EX", "60"};
    const size_t lens[] = {3, strlen(key), 3, 2, 2};
    expect_status(tc_redis_cmd(r, 5, set, lens), "OK");

    const char *get[] = {"GET", key};
    redisReply *reply = tc_redis_cmd(r, 2, get, NULL);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    cr_assert_eq(reply->len, 3);
    cr_assert_eq(memcmp(reply->str, "a\0b", 3), 0);
    freeReplyObject(reply);
    tc_redis_close(r);
}

Test(redis, set_get_format)
{
    tc_redis_t *r = open_pool(2);
    char key[128];
    unique_key(key, sizeof key, "fmt");
    expect_status(tc_redis_cmdf(r, "SET %s %s EX %d", key, "hello world", 60), "OK");

    redisReply *reply = tc_redis_cmdf(r, "GET %s", key);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(reply->str, "hello world");
    freeReplyObject(reply);

    reply = tc_redis_cmdf(r, "GET %s", "tc:test:redis:surely-missing");
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_NIL);
    freeReplyObject(reply);
    tc_redis_close(r);
}

Test(redis, error_reply_keeps_connection)
{
    tc_redis_t *r = open_pool(1);
    long long id = client_id(r);
    char key[128];
    unique_key(key, sizeof key, "err");

    redisReply *reply = tc_redis_cmdf(r, "NOSUCHCOMMAND %s", key);
    cr_assert_not_null(reply, "an error reply must not look like an outage");
    cr_assert_eq(reply->type, REDIS_REPLY_ERROR);
    cr_assert(strncmp(reply->str, "ERR", 3) == 0, "got: %s", reply->str);
    freeReplyObject(reply);

    expect_status(tc_redis_cmdf(r, "SET %s notanumber EX 60", key), "OK");
    reply = tc_redis_cmdf(r, "INCR %s", key);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_ERROR);
    freeReplyObject(reply);

    cr_assert_eq(client_id(r), id, "an error reply must not cost the connection");
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ threads */

typedef struct {
    tc_redis_t *r;
    const char *key;
    tc_redis_script_t *script;
    int failures;
} worker_t;

#define WORKERS    8
#define ITERATIONS 250

static void *worker(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < ITERATIONS; i++) {
        const char *argv[] = {"INCR", w->key};
        redisReply *reply = tc_redis_cmd(w->r, 2, argv, NULL);
        if (!reply || reply->type != REDIS_REPLY_INTEGER)
            w->failures++;
        if (reply)
            freeReplyObject(reply);
        const char *args[] = {"x"};
        reply = tc_redis_eval(w->r, w->script, 0, NULL, 1, args);
        if (!reply || reply->type != REDIS_REPLY_STRING || strcmp(reply->str, "x") != 0)
            w->failures++;
        if (reply)
            freeReplyObject(reply);
    }
    return NULL;
}

Test(redis, pool_from_eight_threads)
{
    tc_redis_t *r = open_pool(4);
    char key[128];
    unique_key(key, sizeof key, "threads");
    char source[256];
    snprintf(source, sizeof source, "-- %s\nreturn ARGV[1]", key);
    tc_redis_script_t script = TC_REDIS_SCRIPT(source);
    pthread_t threads[WORKERS];
    worker_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (worker_t){.r = r, .key = key, .script = &script};
        cr_assert_eq(pthread_create(&threads[i], NULL, worker, &workers[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        cr_expect_eq(workers[i].failures, 0, "worker %d saw %d failures", i, workers[i].failures);
    }
    redisReply *reply = tc_redis_cmdf(r, "GET %s", key);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    cr_assert_eq(atoi(reply->str), WORKERS * ITERATIONS);
    freeReplyObject(reply);
    cr_assert_eq(expect_integer(tc_redis_cmdf(r, "DEL %s", key)), 1);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ scripts */

static long long info_field(tc_redis_t *r, const char *section, const char *field)
{
    redisReply *reply = tc_redis_cmdf(r, "INFO %s", section);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    const char *p = strstr(reply->str, field);
    long long v = p ? atoll(p + strlen(field)) : 0;
    freeReplyObject(reply);
    return v;
}

static int script_exists(tc_redis_t *r, const char *sha)
{
    redisReply *reply = tc_redis_cmdf(r, "SCRIPT EXISTS %s", sha);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(reply->elements, 1);
    int exists = (int)reply->element[0]->integer;
    freeReplyObject(reply);
    return exists;
}

static void expect_eval_echo(tc_redis_t *r, tc_redis_script_t *s, const char *key)
{
    const char *keys[] = {key};
    const char *args[] = {"a", "b"};
    redisReply *reply = tc_redis_eval(r, s, 1, keys, 2, args);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_ARRAY, "type %d: %s", reply->type,
                 reply->str ? reply->str : "");
    cr_assert_eq(reply->elements, 3);
    cr_assert_str_eq(reply->element[0]->str, key);
    cr_assert_str_eq(reply->element[1]->str, "a");
    cr_assert_str_eq(reply->element[2]->str, "b");
    freeReplyObject(reply);
}

Test(redis, evalsha_uses_local_sha1)
{
    tc_redis_t *r = open_pool(2);
    char key[128], source[256];
    unique_key(key, sizeof key, "evalsha");
    snprintf(source, sizeof source, "-- %s\nreturn {KEYS[1], ARGV[1], ARGV[2]}", key);
    tc_redis_script_t s = TC_REDIS_SCRIPT(source);

    redisReply *loaded = tc_redis_cmdf(r, "SCRIPT LOAD %s", source);
    cr_assert_not_null(loaded);
    cr_assert_eq(loaded->type, REDIS_REPLY_STRING);

    long long before = info_field(r, "commandstats", "cmdstat_evalsha:calls=");
    expect_eval_echo(r, &s, key);
    long long after = info_field(r, "commandstats", "cmdstat_evalsha:calls=");

    cr_assert_str_eq(s.sha1, loaded->str, "local SHA1 must match the server's");
    cr_assert_gt(after, before, "the script must run through EVALSHA");
    freeReplyObject(loaded);
    tc_redis_close(r);
}

Test(redis, noscript_falls_back_to_eval)
{
    tc_redis_t *r = open_pool(2);
    char key[128], source[256];
    unique_key(key, sizeof key, "noscript");
    snprintf(source, sizeof source, "-- %s\nreturn {KEYS[1], ARGV[1], ARGV[2]}", key);
    tc_redis_script_t s = TC_REDIS_SCRIPT(source);

    expect_eval_echo(r, &s, key); /* unknown to the server: NOSCRIPT, then EVAL */
    cr_assert_eq(script_exists(r, s.sha1), 1, "EVAL must leave the script cached");

    expect_status(tc_redis_cmdf(r, "SCRIPT FLUSH"), "OK");
    cr_assert_eq(script_exists(r, s.sha1), 0);
    long long eval_before = info_field(r, "commandstats", "cmdstat_eval:calls=");
    expect_eval_echo(r, &s, key);
    long long eval_after = info_field(r, "commandstats", "cmdstat_eval:calls=");
    cr_assert_gt(eval_after, eval_before, "the fallback must run EVAL");
    cr_assert_eq(script_exists(r, s.sha1), 1);
    tc_redis_close(r);
}

Test(redis, script_error_is_an_error_reply)
{
    tc_redis_t *r = open_pool(1);
    tc_redis_script_t s = TC_REDIS_SCRIPT("return redis.error_reply('BOOM nope')");
    redisReply *reply = tc_redis_eval(r, &s, 0, NULL, 0, NULL);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(reply->str, "BOOM") != NULL, "got: %s", reply->str);
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ failures */

Test(redis, closed_port_is_unavailable_quickly)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", closed_port());
    tc_redis_opts_t opts = {.url = url, .connect_timeout_ms = 300, .command_timeout_ms = 300};
    tc_redis_t *r = tc_redis_open(&opts);
    cr_assert_not_null(r, "open is lazy: it must not need the server");

    int64_t t0 = tc_mono_ms();
    const char *argv[] = {"PING"};
    cr_assert_null(tc_redis_cmd(r, 1, argv, NULL));
    cr_assert_eq(tc_redis_ping(r), TC_EUNAVAIL);
    cr_assert_null(tc_redis_cmdf(r, "GET %s", "k"));
    int64_t elapsed = tc_mono_ms() - t0;
    cr_assert_lt(elapsed, 1000, "three calls took %lld ms", (long long)elapsed);
    tc_redis_close(r);
}

/* A server that accepts connections (the kernel does) but never answers. */
Test(redis, command_timeout_on_silent_server)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(fd, 16), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(sa.sin_port));
    tc_redis_t *r = open_url(url, 1, 200);

    int64_t t0 = tc_mono_ms();
    cr_assert_eq(tc_redis_ping(r), TC_EUNAVAIL);
    int64_t elapsed = tc_mono_ms() - t0;
    cr_assert_geq(elapsed, 150, "returned after %lld ms: too early", (long long)elapsed);
    cr_assert_lt(elapsed, 1500, "returned after %lld ms: the timeout was ignored",
                 (long long)elapsed);
    tc_redis_close(r);
    close(fd);
}

static void *hold_connection(void *arg)
{
    tc_redis_t *r = arg;
    redisReply *reply = tc_redis_cmdf(r, "BLPOP tc:test:redis:never:%d 2", (int)getpid());
    if (reply)
        freeReplyObject(reply);
    return NULL;
}

Test(redis, acquire_times_out_when_pool_is_busy)
{
    tc_redis_opts_t opts = {
        .url = redis_url(), .pool_size = 1, .command_timeout_ms = 5000, .acquire_timeout_ms = 200};
    tc_redis_t *r = tc_redis_open(&opts);
    cr_assert_not_null(r);
    pthread_t holder;
    cr_assert_eq(pthread_create(&holder, NULL, hold_connection, r), 0);
    tc_sleep_ms(400); /* the holder is now blocked in BLPOP on the only connection */

    int64_t t0 = tc_mono_ms();
    cr_assert_null(tc_redis_cmdf(r, "PING"), "the pool's only connection is busy");
    int64_t elapsed = tc_mono_ms() - t0;
    cr_assert_geq(elapsed, 150, "gave up after %lld ms", (long long)elapsed);
    cr_assert_lt(elapsed, 1000, "waited %lld ms for a 200 ms acquire timeout", (long long)elapsed);

    pthread_join(holder, NULL);
    cr_assert_eq(tc_redis_ping(r), TC_OK, "the connection is back in the pool");
    tc_redis_close(r);
}

Test(redis, timed_out_command_drops_connection_then_redials)
{
    tc_redis_t *r = open_url(redis_url(), 1, 200);
    long long id = client_id(r);
    int64_t t0 = tc_mono_ms();
    redisReply *reply = tc_redis_cmdf(r, "BLPOP tc:test:redis:never:%d 2", (int)getpid());
    int64_t elapsed = tc_mono_ms() - t0;
    cr_assert_null(reply, "a command slower than the timeout must fail");
    cr_assert_lt(elapsed, 1500, "took %lld ms", (long long)elapsed);
    cr_assert_eq(tc_redis_ping(r), TC_OK, "the next call must dial again");
    cr_assert_neq(client_id(r), id, "a timed-out connection must not be reused");
    tc_redis_close(r);
}

Test(redis, reconnects_after_client_kill)
{
    tc_redis_t *r = open_pool(1);
    tc_redis_t *admin = open_pool(1); /* a separate connection does the killing */
    long long id = client_id(r);

    redisReply *reply = tc_redis_cmdf(admin, "CLIENT KILL ID %lld TYPE normal", id);
    cr_assert_eq(expect_integer(reply), 1, "the pool's connection must have been killed");

    char key[128];
    unique_key(key, sizeof key, "kill");
    expect_status(tc_redis_cmdf(r, "SET %s v EX 60", key), "OK");
    cr_assert_neq(client_id(r), id);
    tc_redis_close(admin);
    tc_redis_close(r);
}

Test(redis, reconnects_after_killing_itself)
{
    tc_redis_t *r = open_pool(1);
    long long id = client_id(r);
    redisReply *reply = tc_redis_cmdf(r, "CLIENT KILL ID %lld SKIPME no", id);
    cr_assert_eq(expect_integer(reply), 1);
    /* Redis closes a self-killed client after its reply, on its next event-loop turn. */
    tc_sleep_ms(50);
    cr_assert_eq(tc_redis_ping(r), TC_OK);
    cr_assert_neq(client_id(r), id);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ URLs */

Test(redis, url_selects_database)
{
    char userinfo[256], hostport[256], url[600];
    split_test_url(userinfo, hostport, sizeof userinfo);
    snprintf(url, sizeof url, "redis://%s%s%s/3", userinfo, *userinfo ? "@" : "", hostport);
    tc_redis_t *r = open_url(url, 1, 2000);
    redisReply *reply = tc_redis_cmdf(r, "CLIENT INFO");
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    cr_assert(strstr(reply->str, " db=3 ") != NULL, "CLIENT INFO: %s", reply->str);
    freeReplyObject(reply);
    tc_redis_close(r);
}

Test(redis, url_user_and_encoded_password_authenticate)
{
    tc_redis_t *admin = open_pool(1);
    char user[64], userinfo[256], hostport[256], url[600];
    snprintf(user, sizeof user, "tc_test_%d_%lld", (int)getpid(), (long long)tc_mono_ns());
    split_test_url(userinfo, hostport, sizeof userinfo);
    expect_status(tc_redis_cmdf(admin, "ACL SETUSER %s on >p@ss:w/rd ~tc:test:* +@all", user),
                  "OK");

    snprintf(url, sizeof url, "redis://%s:p%%40ss%%3Aw%%2Frd@%s/0", user, hostport);
    tc_redis_t *r = open_url(url, 1, 2000);
    redisReply *reply = tc_redis_cmdf(r, "ACL WHOAMI");
    cr_assert_not_null(reply, "AUTH with the decoded password must succeed");
    cr_assert_eq(reply->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(reply->str, user);
    freeReplyObject(reply);
    tc_redis_close(r);

    snprintf(url, sizeof url, "redis://%s:wrong@%s/0", user, hostport);
    r = open_url(url, 1, 2000);
    cr_assert_eq(tc_redis_ping(r), TC_EUNAVAIL, "a rejected AUTH leaves no usable connection");
    tc_redis_close(r);

    cr_assert_eq(expect_integer(tc_redis_cmdf(admin, "ACL DELUSER %s", user)), 1);
    tc_redis_close(admin);
}

Test(redis, invalid_urls_are_rejected)
{
    static const char *const bad[] = {
        "http://127.0.0.1:6379",  "redis://",           "redis://:6379",   "redis://host:0",
        "redis://host:65536",     "redis://host:12ab",  "redis://host/db", "redis://host/1/2",
        "redis://host?timeout=1", "redis://u:%zz@host", "redis://[::1",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        tc_redis_opts_t opts = {.url = bad[i]};
        tc_redis_t *r = tc_redis_open(&opts);
        cr_expect_null(r, "accepted %s", bad[i]);
        tc_redis_close(r);
    }
    static const char *const good[] = {"redis://localhost", "redis://127.0.0.1:6390/",
                                       "redis://:secret@h:1/15", "redis://[::1]:6379/2",
                                       "REDIS://pw@h"};
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++) {
        tc_redis_opts_t opts = {.url = good[i]};
        tc_redis_t *r = tc_redis_open(&opts);
        cr_expect_not_null(r, "rejected %s", good[i]);
        tc_redis_close(r);
    }
}
