/*
 * tc_log.h: structured logs, one JSON object per line on stdout.
 *
 *   {"ts":"…","level":"info","service":"user","msg":"…","request_id":"req_…",
 *    "trace_id":"…", <fields>}
 *
 * request_id and trace_id come from the calling thread's context (set by the HTTP server
 * and the event consumer for the work they dispatch). Field values whose key looks like a
 * secret (password, token, secret, authorization, api_key, card…) are masked.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { TC_LOG_DEBUG = 0, TC_LOG_INFO, TC_LOG_WARN, TC_LOG_ERROR } tc_log_level_t;

void tc_log_init(const char *service, const char *level); /* level: debug|info|warn|error */
void tc_log_set_level(tc_log_level_t level);
bool tc_log_enabled(tc_log_level_t level);

/* Thread context: copied, so callers may free their strings afterwards. NULL clears. */
void tc_log_set_context(const char *request_id, const char *trace_id);
const char *tc_log_request_id(void);
const char *tc_log_trace_id(void);

/*
 * One line: a message saying what happened, then string fields as key, value pairs ending
 * with NULL (a NULL value skips its field; a NULL key ends the list early). The message must
 * be a string literal — the macro refuses anything else at compile time — so every piece of
 * data reaches the log under a key, where the masking of secret-looking keys applies; nothing
 * can be formatted into the message past it.
 *
 *   tc_log_kv(TC_LOG_WARN, "database pool exhausted", "busy", tc_log_int(n, busy), NULL);
 */
void tc_log_kv_(tc_log_level_t level, const char *msg, ...) __attribute__((sentinel));
#define tc_log_kv(level, msg, ...) tc_log_kv_((level), "" msg "", __VA_ARGS__)

/* A number as a field value: formats v into buf and returns it. */
const char *tc_log_int(char buf[24], int64_t v);

/*
 * Buffered output (services turn it on; off by default). Debug and info lines collect in a
 * buffer written every flush_ms by a flusher thread, or at once by the line that fills it,
 * instead of costing each request a write(2). A warn or error line writes what is buffered
 * and then itself, so the order of lines never changes and problems appear at once. At
 * exit, and on tc_log_flush(), the buffer is written. A process killed with SIGKILL loses at
 * most flush_ms of debug/info lines. TC_OK, or TC_ERROR when the flusher cannot start
 * (output stays unbuffered).
 */
int tc_log_buffer_start(int flush_ms);
void tc_log_flush(void);
/* Writes the buffer, stops the flusher and returns to unbuffered output. */
void tc_log_buffer_stop(void);

/* 1 if a field with this key must never be logged in clear. */
bool tc_log_is_secret_key(const char *key);

#endif
