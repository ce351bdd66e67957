/*
 * One JSON object per line on stdout. Each line is built in a buffer and written with a
 * single write(2), so lines from different threads never interleave: the kernel writes a
 * pipe write of at most PIPE_BUF bytes, and any write to a regular file, as one piece. Such
 * lines take the lock shared; only a longer line, which a pipe may split, excludes the
 * others. A mutex around every write made the access log the busiest lock of a service
 * (threads queued on it during the syscall: 2 futex calls per request).
 */
#include "tc/tc_log.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char g_service[64] = "unknown";
static _Atomic int g_level = TC_LOG_INFO;
static pthread_rwlock_t g_write_lock = PTHREAD_RWLOCK_INITIALIZER;

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

bool tc_log_enabled(tc_log_level_t level)
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

/* Does `needle` (lower case) start at hay? `hay` is any case. */
static int starts_ci(const char *hay, const char *needle)
{
    for (; *needle; hay++, needle++) {
        char c = *hay;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *needle)
            return 0;
    }
    return 1;
}

/* Called for every field of every log line, so one pass over the key: at each position only
 * the words starting with that letter are compared. */
bool tc_log_is_secret_key(const char *key)
{
    if (!key)
        return false;
    size_t n = 0;
    for (const char *p = key; *p; p++, n++) {
        if (n >= 64)
            return true;     /* absurdly long key: mask rather than scan */
        switch (*p | 0x20) { /* ASCII letters to lower case; others stay unmatched */
        case 'a':
            if (starts_ci(p, "authorization") || starts_ci(p, "api_key") || starts_ci(p, "apikey"))
                return true;
            break;
        case 'c':
            if (starts_ci(p, "cookie") || starts_ci(p, "card") || starts_ci(p, "cvv") ||
                starts_ci(p, "credential"))
                return true;
            break;
        case 'p':
            if (starts_ci(p, "password") || starts_ci(p, "passwd") || starts_ci(p, "private"))
                return true;
            break;
        case 's':
            if (starts_ci(p, "secret"))
                return true;
            break;
        case 't':
            if (starts_ci(p, "token"))
                return true;
            break;
        default:
            break;
        }
    }
    return false;
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

static void write_all(const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(STDOUT_FILENO, data + off, len - off);
        if (n <= 0)
            break; /* stdout gone: nothing sensible left to do with a log line */
        off += (size_t)n;
    }
}

static void write_line(const tc_buf_t *b)
{
    int whole = b->len <= PIPE_BUF;
    if (whole)
        pthread_rwlock_rdlock(&g_write_lock);
    else
        pthread_rwlock_wrlock(&g_write_lock);
    write_all(b->data, b->len);
    pthread_rwlock_unlock(&g_write_lock);
}

/* ------------------------------------------------------------------ buffered output */

#define LOG_BUF_CAP (64 * 1024)

/* Two buffers: lines go into `fill`; a flush swaps it with `spare` under `lock` and writes
 * the old one holding only `out`, so appending threads never wait for the write. `out` also
 * orders flushes, which keeps lines in sequence. */
static struct {
    pthread_mutex_t lock; /* fill, len */
    pthread_mutex_t out;  /* spare, and every write while buffering */
    pthread_cond_t wake;  /* flusher: stop requested */
    char *fill, *spare;
    size_t len, spare_len;
    int flush_ms;
    int stop;
    pthread_t thread;
} g_buf = {.lock = PTHREAD_MUTEX_INITIALIZER,
           .out = PTHREAD_MUTEX_INITIALIZER,
           .wake = PTHREAD_COND_INITIALIZER};
static _Atomic int g_buffered;

/* Called holding g_buf.out. */
static void flush_locked(void)
{
    pthread_mutex_lock(&g_buf.lock);
    char *full = g_buf.fill;
    size_t len = g_buf.len;
    g_buf.fill = g_buf.spare;
    g_buf.len = 0;
    g_buf.spare = full;
    pthread_mutex_unlock(&g_buf.lock);
    if (len)
        write_all(full, len);
}

void tc_log_flush(void)
{
    if (!atomic_load(&g_buffered))
        return;
    pthread_mutex_lock(&g_buf.out);
    flush_locked();
    pthread_mutex_unlock(&g_buf.out);
}

/* 1 when the line went into the buffer; 0 when it must be written now (after the buffer). */
static int buffer_line(const tc_buf_t *b, tc_log_level_t level)
{
    if (level >= TC_LOG_WARN || b->len > LOG_BUF_CAP / 4)
        return 0;
    pthread_mutex_lock(&g_buf.lock);
    int fits = g_buf.fill && g_buf.len + b->len <= LOG_BUF_CAP; /* no buffer: stopping */
    if (fits) {
        memcpy(g_buf.fill + g_buf.len, b->data, b->len);
        g_buf.len += b->len;
    }
    int nearly_full = g_buf.len > LOG_BUF_CAP * 3 / 4;
    pthread_mutex_unlock(&g_buf.lock);
    if (fits && nearly_full)
        tc_log_flush();
    return fits;
}

static void end_line_buffered(const tc_buf_t *b, tc_log_level_t level)
{
    if (buffer_line(b, level))
        return;
    pthread_mutex_lock(&g_buf.out);
    flush_locked();
    write_all(b->data, b->len);
    pthread_mutex_unlock(&g_buf.out);
}

static void *flusher_main(void *arg)
{
    TC_UNUSED(arg);
    pthread_mutex_lock(&g_buf.lock);
    while (!g_buf.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)g_buf.flush_ms * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&g_buf.wake, &g_buf.lock, &ts);
        pthread_mutex_unlock(&g_buf.lock);
        tc_log_flush();
        pthread_mutex_lock(&g_buf.lock);
    }
    pthread_mutex_unlock(&g_buf.lock);
    return NULL;
}

static void flush_at_exit(void)
{
    tc_log_buffer_stop();
}

int tc_log_buffer_start(int flush_ms)
{
    static int exit_hook;
    if (atomic_load(&g_buffered) || flush_ms <= 0)
        return TC_OK;
    g_buf.fill = malloc(LOG_BUF_CAP);
    g_buf.spare = malloc(LOG_BUF_CAP);
    g_buf.len = 0;
    g_buf.flush_ms = flush_ms;
    g_buf.stop = 0;
    if (!g_buf.fill || !g_buf.spare || pthread_create(&g_buf.thread, NULL, flusher_main, NULL)) {
        free(g_buf.fill);
        free(g_buf.spare);
        g_buf.fill = g_buf.spare = NULL;
        return TC_ERROR;
    }
    if (!exit_hook)
        exit_hook = atexit(flush_at_exit) == 0;
    atomic_store(&g_buffered, 1);
    return TC_OK;
}

void tc_log_buffer_stop(void)
{
    if (!atomic_load(&g_buffered))
        return;
    pthread_mutex_lock(&g_buf.lock);
    g_buf.stop = 1;
    pthread_cond_signal(&g_buf.wake);
    pthread_mutex_unlock(&g_buf.lock);
    pthread_join(g_buf.thread, NULL);
    /* lines logged from here on go straight out; the buffer is written first, in order */
    pthread_mutex_lock(&g_buf.out);
    flush_locked();
    atomic_store(&g_buffered, 0);
    pthread_mutex_unlock(&g_buf.out);
    pthread_mutex_lock(&g_buf.lock);
    free(g_buf.fill);
    free(g_buf.spare);
    g_buf.fill = g_buf.spare = NULL;
    g_buf.len = 0;
    pthread_mutex_unlock(&g_buf.lock);
}

/* ------------------------------------------------------------------ lines */

static void end_line(tc_buf_t *b, tc_log_level_t level)
{
    if (t_request_id[0])
        add_field(b, "request_id", t_request_id);
    if (t_trace_id[0])
        add_field(b, "trace_id", t_trace_id);
    tc_buf_puts(b, "}\n");
    if (b->oom)
        return;
    if (atomic_load(&g_buffered))
        end_line_buffered(b, level);
    else
        write_line(b);
}

void tc_log_kv_(tc_log_level_t level, const char *msg, ...)
{
    if (!tc_log_enabled(level))
        return;
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_reserve(&b, 512); /* an access-log line, in one allocation; failure shows as oom */
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
    end_line(&b, level);
    tc_buf_free(&b);
}

const char *tc_log_int(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}
