/*
 * tc_redis.h: Redis (hiredis) connection pool with connect and command timeouts, reconnect,
 * and Lua scripts run by EVALSHA with a NOSCRIPT fallback to EVAL.
 */
#ifndef TC_REDIS_H
#define TC_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

typedef struct tc_redis tc_redis_t;

typedef struct {
    const char *url;        /* redis://[:password@]host:port[/db] */
    int pool_size;          /* default 8 */
    int connect_timeout_ms; /* default 500 */
    int command_timeout_ms; /* default 500 */
    int acquire_timeout_ms; /* default 1000 */
} tc_redis_opts_t;

tc_redis_t *tc_redis_open(const tc_redis_opts_t *opts);
void tc_redis_close(tc_redis_t *r);

/*
 * Runs one command (argv form; lens may be NULL for C strings). Returns the reply (caller
 * frees with freeReplyObject) or NULL when Redis is unreachable or timed out; the broken
 * connection is dropped and re-dialled on a later call. A Redis error reply is returned as a
 * reply of type REDIS_REPLY_ERROR.
 */
redisReply *tc_redis_cmd(tc_redis_t *r, int argc, const char **argv, const size_t *lens);
/* printf-style convenience (hiredis format: %s, %b, %d…). */
redisReply *tc_redis_cmdf(tc_redis_t *r, const char *fmt, ...);

typedef struct {
    const char *source;
    char sha1[41]; /* computed on first use */
} tc_redis_script_t;

#define TC_REDIS_SCRIPT(src)                                                                       \
    {                                                                                              \
        (src),                                                                                     \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* EVALSHA; on NOSCRIPT loads the script with EVAL (which also caches it server-side). */
redisReply *tc_redis_eval(tc_redis_t *r, tc_redis_script_t *s, int nkeys, const char **keys,
                          int nargs, const char **args);

int tc_redis_ping(tc_redis_t *r); /* TC_OK when PONG */

#endif
