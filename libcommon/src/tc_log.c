/*
 * One JSON object per line on stdout. Each line is built in a buffer and written with a
 * single write(2) under a mutex, so lines from different threads never interleave.
 */
#include "tc/tc_log.h"
#include "tc/tc_buf.h"
#include "tc/tc_time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char g_service[64] = "unknown";
static _Atomic int g_level = TC_LOG_INFO;
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local char t_request_id[80];
static _Thread_local char t_trace_id[40];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tc_log_init(const char *service, const char *level)
{
    if (service)
        snprintf(g_service, sizeof g_service, "%s", service);
    if (level) {
        for (int i = 0; i < 4; i++)
            if (strcasecmp(level, level_names[i]) == 0)
                atomic_store(&g_level, i);
        if (strcasecmp(level, "warning") == 0)
            atomic_store(&g_level, TC_LOG_WARN);
    }
}

void tc_log_set_level(tc_log_level_t level)
{
    atomic_store(&g_level, (int)level);
}

int tc_log_enabled(tc_log_level_t level)
{
    return (int)level >= atomic_load(&g_level);
}

void tc_log_set_context(const char *request_id, const char *trace_id)
{
    snprintf(t_request_id, sizeof t_request_id, "%s", request_id ? request_id : "");
    snprintf(t_trace_id, sizeof t_trace_id, "%s", trace_id ? trace_id : "");
}

const char *tc_log_request_id(void)
{
    return t_request_id[0] ? t_request_id : NULL;
}

const char *tc_log_trace_id(void)
{
    return t_trace_id[0] ? t_trace_id : NULL;
}

/* Substring test on short ASCII strings; the key is already lower-cased. Called for every
 * field of every log line, so it avoids strcasestr's per-call set-up. */
static int contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

int tc_log_is_secret_key(const char *key)
{
    static const char *const needles[] = {
        "password", "passwd", "secret", "token",   "authorization", "api_key", "apikey",
        "cookie",   "card",   "cvv",    "private", "credential",    NULL};
    char lower[64];
    size_t n = 0;
    if (!key)
        return 0;
    for (; key[n] && n < sizeof lower; n++)
        lower[n] = (key[n] >= 'A' && key[n] <= 'Z') ? (char)(key[n] - 'A' + 'a') : key[n];
    if (key[n])
        return 1; /* absurdly long key: mask rather than scan */
    for (int i = 0; needles[i]; i++)
        if (contains(lower, n, needles[i]))
            return 1;
    return 0;
}

static void begin_line(tc_buf_t *b, tc_log_level_t level)
{
    char ts[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), ts);
    tc_buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", ts, level_names[level]);
    tc_buf_json_escape(b, g_service, strlen(g_service));
    tc_buf_puts(b, "\",\"msg\":\"");
}

static void add_field(tc_buf_t *b, const char *key, const char *value)
{
    tc_buf_puts(b, ",\"");
    tc_buf_json_escape(b, key, strlen(key));
    tc_buf_puts(b, "\":\"");
    if (tc_log_is_secret_key(key))
        tc_buf_puts(b, "***");
    else
        tc_buf_json_escape(b, value, strlen(value));
    tc_buf_putc(b, '"');
}

static void end_line(tc_buf_t *b)
{
    if (t_request_id[0])
        add_field(b, "request_id", t_request_id);
    if (t_trace_id[0])
        add_field(b, "trace_id", t_trace_id);
    tc_buf_puts(b, "}\n");
    if (b->oom)
        return;
    pthread_mutex_lock(&g_write_lock);
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(STDOUT_FILENO, b->data + off, b->len - off);
        if (n <= 0)
            break; /* stdout gone: nothing sensible left to do with a log line */
        off += (size_t)n;
    }
    pthread_mutex_unlock(&g_write_lock);
}

void tc_log(tc_log_level_t level, const char *fmt, ...)
{
    if (!tc_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tc_buf_t b = TC_BUF_INIT;
    begin_line(&b, level);
    tc_buf_json_escape(&b, msg, strlen(msg));
    tc_buf_putc(&b, '"');
    end_line(&b);
    tc_buf_free(&b);
}

void tc_log_kv(tc_log_level_t level, const char *msg, ...)
{
    if (!tc_log_enabled(level))
        return;
    tc_buf_t b = TC_BUF_INIT;
    begin_line(&b, level);
    tc_buf_json_escape(&b, msg, strlen(msg));
    tc_buf_putc(&b, '"');
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (value)
            add_field(&b, key, value);
    }
    va_end(ap);
    end_line(&b);
    tc_buf_free(&b);
}
