/*
 * Process-wide Prometheus registry.
 *
 * Locking: g_registry_lock guards the family list (registration, render, reset); each family
 * has its own lock for its series table and values, so hot-path updates of different families
 * never contend. Families live until tc_metrics_reset(), which callers run only when no other
 * thread uses metrics (tests, process exit), so update paths never take the registry lock.
 *
 * Names are checked at registration against a snake_case subset of the Prometheus grammar,
 * plus the conventions `promtool check metrics` enforces (counters end in _total, nothing else
 * does, reserved suffixes and labels, HELP present): a bad name fails at start-up instead of
 * producing a /metrics page that the scrape checks reject.
 */
#include "tc/tc_metrics.h"
#include "tc/tc_hash.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS         16
#define MAX_BUCKETS        64
#define MAX_SERIES         10000 /* per family: a guard against unbounded label values */
#define INITIAL_TABLE_SIZE 16

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_GAUGE_FN } kind_t;

static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/* One labelled time series; label values and bucket counts share its allocation. */
typedef struct series {
    struct series *chain; /* next in the same hash bucket */
    struct series *next;  /* next in creation order: render output is stable */
    uint64_t hash;
    const char **values;
    uint64_t *buckets; /* histogram: per-bound counts, not cumulative; [nbounds] is +Inf */
    double value;      /* counter, gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram */
} series_t;

struct tc_metric {
    struct tc_metric *next;
    kind_t kind;
    char *name;
    char *help;
    char *label_buf; /* the label names, NUL-separated; labels[] points into it */
    const char *labels[MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    tc_metric_fn fn;
    void *ud;
    pthread_mutex_t lock;
    series_t **table;
    size_t table_size; /* power of two */
    size_t nseries;
    series_t *first;
    series_t *last;
    int overflow_logged;
};

static pthread_mutex_t g_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tc_metric_t *g_first; /* guarded by g_registry_lock */
static tc_metric_t *g_last;

/* ------------------------------------------------------------------------------ names */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* [a-z_][a-z0-9_]*: Prometheus' grammar minus ':' (reserved for recording rules) and
 * upper case (promtool flags camelCase). */
static int valid_identifier(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static int valid_family_name(kind_t kind, const char *name)
{
    if (!name || !valid_identifier(name, strlen(name)) || strncmp(name, "__", 2) == 0)
        return 0;
    if (has_suffix(name, "_bucket") || has_suffix(name, "_count") || has_suffix(name, "_sum"))
        return 0;
    return (kind == KIND_COUNTER) == has_suffix(name, "_total");
}

static int valid_label_name(const char *s, size_t n)
{
    if (!valid_identifier(s, n) || (n >= 2 && s[0] == '_' && s[1] == '_'))
        return 0;
    /* le and quantile belong to histograms and summaries. */
    return !(n == 2 && memcmp(s, "le", 2) == 0) && !(n == 8 && memcmp(s, "quantile", 8) == 0);
}

/* Splits "a,b,c" into m->labels (spaces around names are allowed). */
static int parse_labels(tc_metric_t *m, const char *labels)
{
    if (!labels || !*labels)
        return TC_OK;
    m->label_buf = strdup(labels);
    if (!m->label_buf)
        return TC_ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(m->label_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok += strspn(tok, " ");
        size_t n = strcspn(tok, " ");
        if (tok[n + strspn(tok + n, " ")] != '\0' || !valid_label_name(tok, n) ||
            m->nlabels == MAX_LABELS)
            return TC_EINVAL;
        tok[n] = '\0';
        for (size_t i = 0; i < m->nlabels; i++)
            if (strcmp(m->labels[i], tok) == 0)
                return TC_EINVAL;
        m->labels[m->nlabels++] = tok;
    }
    /* "a,,b" or a trailing comma would otherwise be silently dropped by strtok_r. */
    size_t commas = 0;
    for (const char *p = labels; *p; p++)
        commas += *p == ',';
    return commas + 1 == m->nlabels ? TC_OK : TC_EINVAL;
}

static int set_bounds(tc_metric_t *m, const double *buckets, size_t n)
{
    if (!buckets || n == 0) {
        buckets = default_buckets;
        n = TC_ARRAY_LEN(default_buckets);
    }
    if (n > MAX_BUCKETS)
        return TC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
            return TC_EINVAL; /* +Inf is implicit; bounds must strictly ascend */
    m->bounds = malloc(n * sizeof *m->bounds);
    if (!m->bounds)
        return TC_ENOMEM;
    memcpy(m->bounds, buckets, n * sizeof *m->bounds);
    m->nbounds = n;
    return TC_OK;
}

/* ------------------------------------------------------------------------------ series */

static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = TC_FNV1A64_INIT;
    for (size_t i = 0; i < n; i++) /* with its NUL, which separates the values */
        h = tc_fnv1a64_add(h, values[i], strlen(values[i]) + 1);
    return h;
}

static int same_values(const series_t *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return 0;
    return 1;
}

static series_t *series_find(const tc_metric_t *m, uint64_t h, const char *const *values)
{
    for (series_t *s = m->table[h & (m->table_size - 1)]; s; s = s->chain)
        if (s->hash == h && same_values(s, values, m->nlabels))
            return s;
    return NULL;
}

static series_t *series_alloc(const tc_metric_t *m, uint64_t h, const char *const *values)
{
    size_t nbuckets = m->kind == KIND_HISTOGRAM ? m->nbounds + 1 : 0;
    size_t lens[MAX_LABELS];
    size_t size = sizeof(series_t) + nbuckets * sizeof(uint64_t) + m->nlabels * sizeof(char *);
    for (size_t i = 0; i < m->nlabels; i++) {
        lens[i] = strlen(values[i]) + 1;
        size += lens[i];
    }
    series_t *s = calloc(1, size);
    if (!s)
        return NULL;
    s->hash = h;
    s->buckets = nbuckets ? (uint64_t *)(s + 1) : NULL;
    s->values = (const char **)((char *)(s + 1) + nbuckets * sizeof(uint64_t));
    char *text = (char *)(s->values + m->nlabels);
    for (size_t i = 0; i < m->nlabels; i++) {
        memcpy(text, values[i], lens[i]);
        s->values[i] = text;
        text += lens[i];
    }
    return s;
}

static int table_grow(tc_metric_t *m)
{
    size_t size = m->table_size ? m->table_size * 2 : INITIAL_TABLE_SIZE;
    series_t **table = calloc(size, sizeof *table);
    if (!table)
        return TC_ENOMEM;
    for (series_t *s = m->first; s; s = s->next) {
        s->chain = table[s->hash & (size - 1)];
        table[s->hash & (size - 1)] = s;
    }
    free(m->table);
    m->table = table;
    m->table_size = size;
    return TC_OK;
}

/* Finds or creates the series; the family lock is held. NULL on OOM or the series cap. */
static series_t *series_get(tc_metric_t *m, const char *const *values)
{
    uint64_t h = hash_values(values, m->nlabels);
    series_t *s = series_find(m, h, values);
    if (s)
        return s;
    if (m->nseries >= MAX_SERIES) {
        if (!m->overflow_logged) {
            char n[24];
            tc_log_kv(TC_LOG_ERROR, "metric series limit reached; dropping new label values",
                      "metric", m->name, "series", tc_log_int(n, MAX_SERIES), NULL);
        }
        m->overflow_logged = 1;
        return NULL;
    }
    if (m->nseries + 1 > m->table_size / 4 * 3 && table_grow(m) != TC_OK)
        return NULL;
    s = series_alloc(m, h, values);
    if (!s)
        return NULL;
    s->chain = m->table[h & (m->table_size - 1)];
    m->table[h & (m->table_size - 1)] = s;
    if (m->last)
        m->last->next = s;
    else
        m->first = s;
    m->last = s;
    m->nseries++;
    return s;
}

/* ------------------------------------------------------------------------------ families */

static void family_free(tc_metric_t *m)
{
    series_t *s = m->first;
    while (s) {
        series_t *next = s->next;
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&m->lock);
    free(m->table);
    free(m->bounds);
    free(m->label_buf);
    free(m->help);
    free(m->name);
    free(m);
}

static tc_metric_t *family_new(kind_t kind, const char *name, const char *help, const char *labels,
                               const double *buckets, size_t nbuckets)
{
    tc_metric_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->kind = kind;
    m->name = strdup(name);
    m->help = strdup(help);
    if (!m->name || !m->help || parse_labels(m, labels) != TC_OK)
        goto fail;
    if (kind == KIND_HISTOGRAM && set_bounds(m, buckets, nbuckets) != TC_OK)
        goto fail;
    if (table_grow(m) != TC_OK)
        goto fail;
    /* An unlabelled series exists from the start, so it is scraped as 0 before first use. */
    if (kind != KIND_GAUGE_FN && m->nlabels == 0 && !series_get(m, NULL))
        goto fail;
    return m;
fail:
    family_free(m);
    return NULL;
}

static int same_shape(const tc_metric_t *a, const tc_metric_t *b)
{
    if (a->kind != b->kind || a->nlabels != b->nlabels || a->nbounds != b->nbounds)
        return 0;
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->labels[i], b->labels[i]) != 0)
            return 0;
    return a->nbounds == 0 || memcmp(a->bounds, b->bounds, a->nbounds * sizeof(double)) == 0;
}

static tc_metric_t *find_family_locked(const char *name)
{
    for (tc_metric_t *m = g_first; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

/* Publishes m, or returns the compatible family already registered under its name. */
static tc_metric_t *publish(tc_metric_t *m)
{
    pthread_mutex_lock(&g_registry_lock);
    tc_metric_t *existing = find_family_locked(m->name);
    if (!existing) {
        if (g_last)
            g_last->next = m;
        else
            g_first = m;
        g_last = m;
    }
    pthread_mutex_unlock(&g_registry_lock);
    if (!existing)
        return m;
    if (!same_shape(existing, m)) {
        tc_log_kv(TC_LOG_ERROR, "metric already registered with another type or labels", "metric",
                  m->name, NULL);
        existing = NULL;
    }
    family_free(m);
    return existing;
}

static tc_metric_t *register_family(kind_t kind, const char *name, const char *help,
                                    const char *labels, const double *buckets, size_t nbuckets)
{
    if (!valid_family_name(kind, name) || !help || !*help) {
        tc_log_kv(TC_LOG_ERROR, "invalid metric name or missing help", "metric",
                  name ? name : "(null)", NULL);
        return NULL;
    }
    tc_metric_t *m = family_new(kind, name, help, labels, buckets, nbuckets);
    if (!m) {
        tc_log_kv(TC_LOG_ERROR, "cannot register metric (bad labels or buckets, or out of memory)",
                  "metric", name, NULL);
        return NULL;
    }
    return publish(m);
}

tc_metric_t *tc_metric_counter(const char *name, const char *help, const char *labels)
{
    return register_family(KIND_COUNTER, name, help, labels, NULL, 0);
}

tc_metric_t *tc_metric_gauge(const char *name, const char *help, const char *labels)
{
    return register_family(KIND_GAUGE, name, help, labels, NULL, 0);
}

tc_metric_t *tc_metric_histogram(const char *name, const char *help, const char *labels,
                                 const double *buckets, size_t nbuckets)
{
    return register_family(KIND_HISTOGRAM, name, help, labels, buckets, nbuckets);
}

tc_metric_t *tc_metric_gauge_fn(const char *name, const char *help, tc_metric_fn fn, void *ud)
{
    if (!fn)
        return NULL;
    if (!valid_family_name(KIND_GAUGE_FN, name) || !help || !*help) {
        tc_log_kv(TC_LOG_ERROR, "invalid metric name or missing help", "metric",
                  name ? name : "(null)", NULL);
        return NULL;
    }
    tc_metric_t *m = family_new(KIND_GAUGE_FN, name, help, NULL, NULL, 0);
    if (!m)
        return NULL;
    m->fn = fn;
    m->ud = ud;
    return publish(m);
}

/* ------------------------------------------------------------------------------ updates */

/* NULL label values are recorded as "" rather than crashing a request path. */
static void collect_values(const tc_metric_t *m, va_list ap, const char **values)
{
    for (size_t i = 0; i < m->nlabels; i++) {
        const char *v = va_arg(ap, const char *);
        values[i] = v ? v : "";
    }
}

static void add_value(tc_metric_t *m, const char *const *values, double v, int replace)
{
    pthread_mutex_lock(&m->lock);
    series_t *s = series_get(m, values);
    if (s)
        s->value = replace ? v : s->value + v;
    pthread_mutex_unlock(&m->lock);
}

void tc_metric_inc(tc_metric_t *m, double v, ...)
{
    if (!m || (m->kind != KIND_COUNTER && m->kind != KIND_GAUGE))
        return;
    if (m->kind == KIND_COUNTER && !(v >= 0))
        return; /* counters only go up (this also rejects NaN) */
    const char *values[MAX_LABELS];
    va_list ap;
    va_start(ap, v);
    collect_values(m, ap, values);
    va_end(ap);
    add_value(m, values, v, 0);
}

void tc_metric_set(tc_metric_t *m, double v, ...)
{
    if (!m || m->kind != KIND_GAUGE)
        return;
    const char *values[MAX_LABELS];
    va_list ap;
    va_start(ap, v);
    collect_values(m, ap, values);
    va_end(ap);
    add_value(m, values, v, 1);
}

void tc_metric_observe(tc_metric_t *m, double v, ...)
{
    if (!m || m->kind != KIND_HISTOGRAM || isnan(v))
        return;
    const char *values[MAX_LABELS];
    va_list ap;
    va_start(ap, v);
    collect_values(m, ap, values);
    va_end(ap);
    size_t b = 0;
    while (b < m->nbounds && v > m->bounds[b])
        b++;
    pthread_mutex_lock(&m->lock);
    series_t *s = series_get(m, values);
    if (s) {
        s->buckets[b]++;
        s->count++;
        s->sum += v;
    }
    pthread_mutex_unlock(&m->lock);
}

/* For a histogram this is the observation count of the series. */
double tc_metric_value(tc_metric_t *m, ...)
{
    if (!m)
        return 0;
    if (m->kind == KIND_GAUGE_FN)
        return m->fn(m->ud);
    const char *values[MAX_LABELS];
    va_list ap;
    va_start(ap, m);
    collect_values(m, ap, values);
    va_end(ap);
    double v = 0;
    pthread_mutex_lock(&m->lock);
    const series_t *s = series_find(m, hash_values(values, m->nlabels), values);
    if (s)
        v = m->kind == KIND_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->lock);
    return v;
}

/* ------------------------------------------------------------------------------ render */

/* Shortest text that parses back to the same double; integers without exponent or point. */
static void format_number(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(out, 40, "%.0f", v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 40, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

static void put_number(tc_buf_t *out, double v)
{
    char text[40];
    format_number(v, text);
    tc_buf_puts(out, text);
}

/* HELP escapes backslash and newline; label values also escape the double quote. */
static void put_escaped(tc_buf_t *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            tc_buf_puts(out, "\\\\");
        else if (*s == '\n')
            tc_buf_puts(out, "\\n");
        else if (*s == '"' && quote)
            tc_buf_puts(out, "\\\"");
        else
            tc_buf_putc(out, *s);
    }
}

static void put_labels(tc_buf_t *out, const tc_metric_t *m, const series_t *s, const char *le)
{
    if (m->nlabels == 0 && !le)
        return;
    tc_buf_putc(out, '{');
    for (size_t i = 0; i < m->nlabels; i++) {
        tc_buf_printf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(out, s->values[i], 1);
        tc_buf_putc(out, '"');
    }
    if (le)
        tc_buf_printf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    tc_buf_putc(out, '}');
}

static void put_sample(tc_buf_t *out, const tc_metric_t *m, const char *suffix, const series_t *s,
                       const char *le, double v)
{
    tc_buf_puts(out, m->name);
    tc_buf_puts(out, suffix);
    put_labels(out, m, s, le);
    tc_buf_putc(out, ' ');
    put_number(out, v);
    tc_buf_putc(out, '\n');
}

static void render_histogram(tc_buf_t *out, const tc_metric_t *m, const series_t *s)
{
    char le[40];
    uint64_t cumulative = 0;
    for (size_t b = 0; b < m->nbounds; b++) {
        cumulative += s->buckets[b];
        format_number(m->bounds[b], le);
        put_sample(out, m, "_bucket", s, le, (double)cumulative);
    }
    put_sample(out, m, "_bucket", s, "+Inf", (double)s->count);
    put_sample(out, m, "_sum", s, NULL, s->sum);
    put_sample(out, m, "_count", s, NULL, (double)s->count);
}

static void render_family(tc_buf_t *out, tc_metric_t *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "gauge"};
    tc_buf_printf(out, "# HELP %s ", m->name);
    put_escaped(out, m->help, 0);
    tc_buf_printf(out, "\n# TYPE %s %s\n", m->name, types[m->kind]);
    if (m->kind == KIND_GAUGE_FN) {
        /* Without the family lock, so the callback may read other metrics; it runs under the
         * registry lock, so it must not register any. */
        put_sample(out, m, "", NULL, NULL, m->fn(m->ud));
        return;
    }
    pthread_mutex_lock(&m->lock);
    for (const series_t *s = m->first; s; s = s->next) {
        if (m->kind == KIND_HISTOGRAM)
            render_histogram(out, m, s);
        else
            put_sample(out, m, "", s, NULL, s->value);
    }
    pthread_mutex_unlock(&m->lock);
}

int tc_metrics_render(tc_buf_t *out)
{
    if (!out)
        return TC_EINVAL;
    pthread_mutex_lock(&g_registry_lock);
    for (tc_metric_t *m = g_first; m; m = m->next)
        render_family(out, m);
    pthread_mutex_unlock(&g_registry_lock);
    return out->oom ? TC_ENOMEM : TC_OK;
}

void tc_metrics_reset(void)
{
    pthread_mutex_lock(&g_registry_lock);
    tc_metric_t *m = g_first;
    g_first = g_last = NULL;
    pthread_mutex_unlock(&g_registry_lock);
    while (m) {
        tc_metric_t *next = m->next;
        family_free(m);
        m = next;
    }
}
