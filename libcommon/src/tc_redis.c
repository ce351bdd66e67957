/*
 * Redis connection pool over blocking hiredis contexts.
 *
 * The pool is a stack of `size` slots guarded by one mutex; a slot holds a live context or
 * NULL (not dialled yet, or dropped after a failure). Live contexts sit above the empty slots,
 * so a lightly loaded service keeps reusing one warm connection and only dials more when
 * concurrency demands it. Dialling and commands run outside the lock.
 *
 * Failure policy: a command that fails at the I/O level (no reply, or ctx->err) frees its
 * context and returns NULL; nothing is retried here, because a retried write may already have
 * executed (INCR, rate-limit scripts). The next call on that slot dials again. Before reusing
 * an idle context we peek at its socket, so a connection the server closed while it sat in
 * the pool (CLIENT KILL, idle timeout, restart) is re-dialled instead of failing a request.
 * After a failed dial, calls fail fast for DIAL_HOLDOFF_MS rather than each one waiting out
 * the connect timeout while Redis is down.
 *
 * hiredis writes with write(2), so a peer reset can raise SIGPIPE: the process (tc_service)
 * is expected to ignore SIGPIPE, as any network server must.
 */
#include "tc/tc_redis.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_POOL_SIZE          8
#define DEFAULT_CONNECT_TIMEOUT_MS 500
#define DEFAULT_COMMAND_TIMEOUT_MS 500
#define DEFAULT_ACQUIRE_TIMEOUT_MS 1000
#define DEFAULT_PORT               6379
#define MAX_POOL_SIZE              1024
#define DIAL_HOLDOFF_MS            200
#define WARN_INTERVAL_MS           1000 /* at most one connectivity warning per pool per second */

struct tc_redis {
    char *host;
    char *user;     /* NULL: AUTH <password> (the default user) */
    char *password; /* NULL: no AUTH */
    int port;
    int db;
    struct timeval connect_tv;
    struct timeval command_tv;
    int acquire_timeout_ms;
    int size;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    redisContext **slots; /* [0, nidle) are free; NULL entries below live ones */
    int nidle;
    int64_t holdoff_until_ms; /* monotonic; guarded by lock */
    int64_t last_warn_ms;     /* monotonic; guarded by lock */
};

/* Guards the lazily computed sha1 of every tc_redis_script_t (they are usually static). */
static pthread_mutex_t g_script_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------------ logging */

/* 1 when this pool may log a connectivity warning now (at most one per WARN_INTERVAL_MS). */
static int warn_due(tc_redis_t *r)
{
    int64_t now = tc_mono_ms();
    pthread_mutex_lock(&r->lock);
    int due = r->last_warn_ms == 0 || now - r->last_warn_ms >= WARN_INTERVAL_MS;
    if (due)
        r->last_warn_ms = now;
    pthread_mutex_unlock(&r->lock);
    return due;
}

/* A rate-limited warning about pool r: msg (a string literal) with the server's host and
 * port, then the given key, value pairs (ending with NULL). */
#define warn_limited(r, msg, ...)                                                                  \
    do {                                                                                           \
        tc_redis_t *r_ = (r);                                                                      \
        if (warn_due(r_)) {                                                                        \
            char port_[24];                                                                        \
            tc_log_kv(TC_LOG_WARN, msg, "host", r_->host, "port", tc_log_int(port_, r_->port),     \
                      __VA_ARGS__);                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------------ URL */

/* Percent-decodes s[0..n) into a new string, so passwords may contain '@', ':' or '/'. */
static int url_decode(const char *s, size_t n, char **out)
{
    char *d = malloc(n + 1);
    if (!d)
        return TC_ENOMEM;
    if (tc_url_decode(s, n, d, n + 1) < 0) {
        free(d);
        return TC_EINVAL;
    }
    *out = d;
    return TC_OK;
}

static int parse_uint(const char *s, size_t n, long max, long *out)
{
    long v = 0;
    if (n == 0)
        return TC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TC_EINVAL;
        v = v * 10 + (s[i] - '0');
        if (v > max)
            return TC_EINVAL;
    }
    *out = v;
    return TC_OK;
}

/* userinfo is "password" or "user:password" (user may be empty: ":password"). */
static int parse_userinfo(tc_redis_t *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    const char *pw = colon ? colon + 1 : s;
    size_t pwlen = (size_t)(s + n - pw);
    if (colon && colon > s) {
        int rc = url_decode(s, (size_t)(colon - s), &r->user);
        if (rc != TC_OK)
            return rc;
    }
    if (pwlen == 0)
        return TC_OK;
    return url_decode(pw, pwlen, &r->password);
}

/* "host", "host:port", "[v6addr]" or "[v6addr]:port". */
static int parse_hostport(tc_redis_t *r, const char *s, size_t n)
{
    const char *end = s + n;
    const char *host = s;
    const char *host_end;
    const char *rest;
    if (n > 0 && *s == '[') {
        host = s + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end)
            return TC_EINVAL;
        rest = host_end + 1;
    } else {
        host_end = memchr(s, ':', n);
        if (!host_end)
            host_end = end;
        rest = host_end;
    }
    if (host_end == host)
        return TC_EINVAL;
    long port = DEFAULT_PORT;
    if (rest < end) {
        if (*rest != ':' || parse_uint(rest + 1, (size_t)(end - rest - 1), 65535, &port) != TC_OK ||
            port == 0)
            return TC_EINVAL;
    }
    r->host = strndup(host, (size_t)(host_end - host));
    if (!r->host)
        return TC_ENOMEM;
    r->port = (int)port;
    return TC_OK;
}

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(tc_redis_t *r, const char *url)
{
    static const char scheme[] = "redis://";
    if (!url || strncasecmp(url, scheme, sizeof scheme - 1) != 0)
        return TC_EINVAL;
    const char *auth = url + sizeof scheme - 1;
    size_t auth_len = strcspn(auth, "/?#");
    const char *path = auth + auth_len;
    if (*path == '?' || *path == '#')
        return TC_EINVAL; /* no URL options are supported; refuse rather than ignore them */
    const char *at = memrchr(auth, '@', auth_len);
    if (at) {
        int rc = parse_userinfo(r, auth, (size_t)(at - auth));
        if (rc != TC_OK)
            return rc;
        auth_len -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    int rc = parse_hostport(r, auth, auth_len);
    if (rc != TC_OK)
        return rc;
    long db = 0;
    if (*path == '/' && path[1] != '\0' &&
        parse_uint(path + 1, strlen(path + 1), INT_MAX, &db) != TC_OK)
        return TC_EINVAL;
    r->db = (int)db;
    return TC_OK;
}

/* ------------------------------------------------------------------------------ dialling */

static struct timeval ms_to_timeval(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Runs a set-up command on a fresh context; TC_OK only for an +OK status reply. */
static int setup_command(tc_redis_t *r, redisContext *c, int argc, const char **argv)
{
    redisReply *reply = redisCommandArgv(c, argc, argv, NULL);
    int rc = TC_OK;
    if (!reply) {
        warn_limited(r, "redis command failed", "command", argv[0], "error", c->errstr, NULL);
        rc = TC_EUNAVAIL;
    } else if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
        /* The error text never contains the password, so it is safe to log. */
        warn_limited(r, "redis command rejected", "command", argv[0], "error",
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply", NULL);
        rc = TC_EUNAVAIL;
    }
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static int authenticate(tc_redis_t *r, redisContext *c)
{
    if (r->user) {
        const char *argv[] = {"AUTH", r->user, r->password ? r->password : ""};
        return setup_command(r, c, 3, argv);
    }
    const char *argv[] = {"AUTH", r->password};
    return setup_command(r, c, 2, argv);
}

static int select_db(tc_redis_t *r, redisContext *c)
{
    char db[16];
    snprintf(db, sizeof db, "%d", r->db);
    const char *argv[] = {"SELECT", db};
    return setup_command(r, c, 2, argv);
}

static redisContext *dial(tc_redis_t *r)
{
    redisContext *c = redisConnectWithTimeout(r->host, r->port, r->connect_tv);
    if (!c) {
        warn_limited(r, "redis connect failed", "error", "out of memory", NULL);
        return NULL;
    }
    if (c->err) {
        warn_limited(r, "redis connect failed", "error", c->errstr, NULL);
        goto fail;
    }
    if (redisSetTimeout(c, r->command_tv) != REDIS_OK) {
        warn_limited(r, "setting the redis command timeout failed", "error", c->errstr, NULL);
        goto fail;
    }
    if ((r->password || r->user) && authenticate(r, c) != TC_OK)
        goto fail;
    if (r->db != 0 && select_db(r, c) != TC_OK)
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* 1 while the server has not closed the connection: an idle socket has nothing to read. */
static int conn_alive(const redisContext *c)
{
    char byte;
    ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ------------------------------------------------------------------------------ pool */

/* Caller holds the lock. Empty slots go to the bottom so live connections are reused first. */
static void put_slot_locked(tc_redis_t *r, redisContext *c)
{
    if (c) {
        r->slots[r->nidle++] = c;
    } else {
        memmove(r->slots + 1, r->slots, (size_t)r->nidle * sizeof *r->slots);
        r->slots[0] = NULL;
        r->nidle++;
    }
    pthread_cond_signal(&r->cond);
}

static void pool_release(tc_redis_t *r, redisContext *c)
{
    pthread_mutex_lock(&r->lock);
    put_slot_locked(r, c);
    pthread_mutex_unlock(&r->lock);
}

static void note_dial_failure(tc_redis_t *r)
{
    pthread_mutex_lock(&r->lock);
    r->holdoff_until_ms = tc_mono_ms() + DIAL_HOLDOFF_MS;
    put_slot_locked(r, NULL);
    pthread_mutex_unlock(&r->lock);
}

/* Waits for a free slot; TC_EUNAVAIL on acquire timeout or during the dial hold-off. */
static int take_slot(tc_redis_t *r, redisContext **out)
{
    struct timespec deadline = tc_deadline_ms(CLOCK_MONOTONIC, r->acquire_timeout_ms);
    int rc = TC_OK;
    pthread_mutex_lock(&r->lock);
    while (r->nidle == 0) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT && r->nidle == 0) {
            rc = TC_EUNAVAIL;
            goto cleanup;
        }
    }
    *out = r->slots[--r->nidle];
    if (!*out && tc_mono_ms() < r->holdoff_until_ms) {
        put_slot_locked(r, NULL);
        rc = TC_EUNAVAIL;
    }
cleanup:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* A ready connection, or NULL (the slot has then been returned). */
static redisContext *pool_acquire(tc_redis_t *r)
{
    redisContext *c = NULL;
    if (take_slot(r, &c) != TC_OK) {
        warn_limited(r, "no redis connection available (pool exhausted or redis down)", NULL);
        return NULL;
    }
    if (c && !conn_alive(c)) {
        redisFree(c);
        c = NULL;
    }
    if (!c) {
        c = dial(r);
        if (!c)
            note_dial_failure(r);
    }
    return c;
}

/* Keeps the reply when the connection is healthy; otherwise drops the connection. */
static redisReply *checked_reply(tc_redis_t *r, redisContext **c, void *reply, const char *what)
{
    if (reply && (*c)->err == 0)
        return reply;
    warn_limited(r, "redis command failed", "command", what, "error",
                 (*c)->err ? (*c)->errstr : "no reply", NULL);
    if (reply)
        freeReplyObject(reply);
    redisFree(*c);
    *c = NULL;
    return NULL;
}

/* ------------------------------------------------------------------------------ public */

static int apply_opts(tc_redis_t *r, const tc_redis_opts_t *opts)
{
    int connect_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    int command_ms =
        opts->command_timeout_ms > 0 ? opts->command_timeout_ms : DEFAULT_COMMAND_TIMEOUT_MS;
    r->connect_tv = ms_to_timeval(connect_ms);
    r->command_tv = ms_to_timeval(command_ms);
    r->acquire_timeout_ms =
        opts->acquire_timeout_ms > 0 ? opts->acquire_timeout_ms : DEFAULT_ACQUIRE_TIMEOUT_MS;
    r->size = opts->pool_size > 0 ? opts->pool_size : DEFAULT_POOL_SIZE;
    if (r->size > MAX_POOL_SIZE)
        return TC_EINVAL;
    return TC_OK;
}

static int init_sync(tc_redis_t *r)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return TC_ERROR;
    int rc = TC_ERROR;
    /* Acquire deadlines must not move with wall-clock adjustments. */
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
        goto cleanup;
    if (pthread_cond_init(&r->cond, &attr) != 0)
        goto cleanup;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        pthread_cond_destroy(&r->cond);
        goto cleanup;
    }
    rc = TC_OK;
cleanup:
    pthread_condattr_destroy(&attr);
    return rc;
}

static void free_settings(tc_redis_t *r)
{
    if (r->password) {
        OPENSSL_cleanse(r->password, strlen(r->password));
        free(r->password);
    }
    free(r->user);
    free(r->host);
    free(r->slots);
    free(r);
}

tc_redis_t *tc_redis_open(const tc_redis_opts_t *opts)
{
    if (!opts || !opts->url) {
        tc_log_kv(TC_LOG_ERROR, "redis url not configured", NULL);
        return NULL;
    }
    tc_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (parse_url(r, opts->url) != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "invalid redis url", "expected",
                  "redis://[[user]:password@]host[:port][/db]", NULL);
        goto fail;
    }
    if (apply_opts(r, opts) != TC_OK) {
        char n[24];
        tc_log_kv(TC_LOG_ERROR, "redis pool size too large", "max_pool_size",
                  tc_log_int(n, MAX_POOL_SIZE), NULL);
        goto fail;
    }
    r->slots = calloc((size_t)r->size, sizeof *r->slots);
    if (!r->slots)
        goto fail;
    r->nidle = r->size; /* all slots free and not dialled: connections are made on demand */
    if (init_sync(r) != TC_OK)
        goto fail;
    return r;
fail:
    free_settings(r);
    return NULL;
}

void tc_redis_close(tc_redis_t *r)
{
    if (!r)
        return;
    /* Connections still checked out belong to callers that outlived the pool: a bug. */
    if (r->nidle != r->size) {
        char n[24];
        tc_log_kv(TC_LOG_ERROR, "redis pool closed with connections in use", "in_use",
                  tc_log_int(n, r->size - r->nidle), NULL);
    }
    for (int i = 0; i < r->nidle; i++)
        if (r->slots[i])
            redisFree(r->slots[i]);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free_settings(r);
}

redisReply *tc_redis_cmd(tc_redis_t *r, int argc, const char **argv, const size_t *lens)
{
    if (!r || argc <= 0 || !argv)
        return NULL;
    redisContext *c = pool_acquire(r);
    if (!c)
        return NULL;
    redisReply *reply = checked_reply(r, &c, redisCommandArgv(c, argc, argv, lens), argv[0]);
    pool_release(r, c);
    return reply;
}

redisReply *tc_redis_cmdf(tc_redis_t *r, const char *fmt, ...)
{
    if (!r || !fmt)
        return NULL;
    redisContext *c = pool_acquire(r);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    void *raw = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisReply *reply = checked_reply(r, &c, raw, "command");
    pool_release(r, c);
    return reply;
}

static int sha1_hex(const char *data, size_t n, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return TC_ERROR;
    tc_hex_encode(md, mdlen, out);
    return TC_OK;
}

/* Copies the script's sha1 into out, computing it on first use. */
static int script_sha1(tc_redis_script_t *s, char out[41])
{
    int rc = TC_OK;
    pthread_mutex_lock(&g_script_lock);
    if (s->sha1[0] == '\0')
        rc = sha1_hex(s->source, strlen(s->source), s->sha1);
    if (rc == TC_OK)
        memcpy(out, s->sha1, 41);
    pthread_mutex_unlock(&g_script_lock);
    return rc;
}

static int is_noscript(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR && reply->str &&
           strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/* Runs EVALSHA, then EVAL on the same connection if the server does not know the script. */
static redisReply *eval_on(tc_redis_t *r, redisContext **c, tc_redis_script_t *s, int argc,
                           const char **argv)
{
    redisReply *reply = checked_reply(r, c, redisCommandArgv(*c, argc, argv, NULL), "EVALSHA");
    if (!reply || !is_noscript(reply))
        return reply;
    freeReplyObject(reply);
    argv[0] = "EVAL";
    argv[1] = s->source;
    return checked_reply(r, c, redisCommandArgv(*c, argc, argv, NULL), "EVAL");
}

redisReply *tc_redis_eval(tc_redis_t *r, tc_redis_script_t *s, int nkeys, const char **keys,
                          int nargs, const char **args)
{
    if (!r || !s || !s->source || nkeys < 0 || nargs < 0 || (nkeys > 0 && !keys) ||
        (nargs > 0 && !args) || nkeys > INT_MAX / 2 - 3 || nargs > INT_MAX / 2)
        return NULL;
    char sha[41];
    char nkeys_str[16];
    redisReply *reply = NULL;
    int argc = 3 + nkeys + nargs;
    const char **argv = malloc((size_t)argc * sizeof *argv);
    if (!argv)
        return NULL;
    if (script_sha1(s, sha) != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "cannot hash redis script", NULL);
        goto cleanup;
    }
    snprintf(nkeys_str, sizeof nkeys_str, "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = nkeys_str;
    if (nkeys > 0)
        memcpy(argv + 3, keys, (size_t)nkeys * sizeof *argv);
    if (nargs > 0)
        memcpy(argv + 3 + nkeys, args, (size_t)nargs * sizeof *argv);
    redisContext *c = pool_acquire(r);
    if (!c)
        goto cleanup;
    reply = eval_on(r, &c, s, argc, argv);
    pool_release(r, c);
cleanup:
    free(argv);
    return reply;
}

int tc_redis_ping(tc_redis_t *r)
{
    const char *argv[] = {"PING"};
    redisReply *reply = tc_redis_cmd(r, 1, argv, NULL);
    if (!reply)
        return TC_EUNAVAIL;
    int rc =
        reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0 ? TC_OK : TC_ERROR;
    freeReplyObject(reply);
    return rc;
}
