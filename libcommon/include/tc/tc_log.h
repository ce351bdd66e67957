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

typedef enum { TC_LOG_DEBUG = 0, TC_LOG_INFO, TC_LOG_WARN, TC_LOG_ERROR } tc_log_level_t;

void tc_log_init(const char *service, const char *level); /* level: debug|info|warn|error */
void tc_log_set_level(tc_log_level_t level);
int tc_log_enabled(tc_log_level_t level);

/* Thread context: copied, so callers may free their strings afterwards. NULL clears. */
void tc_log_set_context(const char *request_id, const char *trace_id);
const char *tc_log_request_id(void);
const char *tc_log_trace_id(void);

/* msg is printf-formatted. */
void tc_log(tc_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Message plus string fields: key, value pairs terminated by NULL. NULL values are skipped. */
void tc_log_kv(tc_log_level_t level, const char *msg, ...) __attribute__((sentinel));

#define tc_log_debug(...) tc_log(TC_LOG_DEBUG, __VA_ARGS__)
#define tc_log_info(...)  tc_log(TC_LOG_INFO, __VA_ARGS__)
#define tc_log_warn(...)  tc_log(TC_LOG_WARN, __VA_ARGS__)
#define tc_log_error(...) tc_log(TC_LOG_ERROR, __VA_ARGS__)

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
int tc_log_is_secret_key(const char *key);

#endif
