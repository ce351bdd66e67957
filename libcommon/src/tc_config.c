/*
 * Configuration comes only from the environment. Every value read is remembered (for the
 * start-up log line) and every problem is collected, so a misconfigured deployment reports
 * all of its mistakes in one restart instead of one per crash loop.
 */
#include "tc/tc_config.h"
#include "tc/tc_crypto.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TC_CONFIG_MAX 128

typedef struct {
    char *name;
    char *value; /* NULL when unset */
    int secret;
} tc_config_entry_t;

struct tc_config {
    tc_config_entry_t entries[TC_CONFIG_MAX];
    int nentries;
    char *errors[TC_CONFIG_MAX];
    int nerrors;
};

tc_config_t *tc_config_new(void)
{
    return calloc(1, sizeof(tc_config_t));
}

void tc_config_free(tc_config_t *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->nentries; i++) {
        free(cfg->entries[i].name);
        free(cfg->entries[i].value);
    }
    for (int i = 0; i < cfg->nerrors; i++)
        free(cfg->errors[i]);
    free(cfg);
}

void tc_config_fail(tc_config_t *cfg, const char *name, const char *problem)
{
    if (cfg->nerrors >= TC_CONFIG_MAX)
        return;
    char *msg = NULL;
    if (asprintf(&msg, "%s: %s", name, problem) < 0)
        msg = NULL;
    if (msg)
        cfg->errors[cfg->nerrors++] = msg;
}

/* Remembers a variable (first read wins) and returns the stored copy of its value. */
static const char *remember(tc_config_t *cfg, const char *name, int secret)
{
    for (int i = 0; i < cfg->nentries; i++) {
        if (strcmp(cfg->entries[i].name, name) == 0) {
            cfg->entries[i].secret |= secret;
            return cfg->entries[i].value;
        }
    }
    const char *env = getenv(name);
    if (env && !*env)
        env = NULL;
    if (cfg->nentries >= TC_CONFIG_MAX) {
        tc_config_fail(cfg, name, "too many configuration variables");
        return NULL;
    }
    tc_config_entry_t *e = &cfg->entries[cfg->nentries];
    e->name = strdup(name);
    e->value = env ? strdup(env) : NULL;
    e->secret = secret;
    if (!e->name || (env && !e->value)) {
        free(e->name);
        free(e->value);
        tc_config_fail(cfg, name, "out of memory");
        return NULL;
    }
    cfg->nentries++;
    return e->value;
}

static const char *get_str(tc_config_t *cfg, const char *name, const char *def, int secret)
{
    const char *v = remember(cfg, name, secret);
    if (v)
        return v;
    if (!def)
        tc_config_fail(cfg, name, "required but not set");
    return def;
}

const char *tc_config_str(tc_config_t *cfg, const char *name, const char *def)
{
    return get_str(cfg, name, def, 0);
}

const char *tc_config_secret(tc_config_t *cfg, const char *name, const char *def)
{
    return get_str(cfg, name, def, 1);
}

const char *tc_config_opt(tc_config_t *cfg, const char *name)
{
    return remember(cfg, name, tc_log_is_secret_key(name));
}

static int parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return TC_EINVAL;
    *out = v;
    return TC_OK;
}

static int64_t get_int(tc_config_t *cfg, const char *name, int required, int64_t def, int64_t min,
                       int64_t max)
{
    const char *v = remember(cfg, name, 0);
    if (!v) {
        if (required)
            tc_config_fail(cfg, name, "required but not set");
        return def;
    }
    int64_t n;
    char problem[128];
    if (parse_int(v, &n) != TC_OK) {
        tc_config_fail(cfg, name, "not an integer");
        return def;
    }
    if (n < min || n > max) {
        snprintf(problem, sizeof problem, "%lld is outside [%lld, %lld]", (long long)n,
                 (long long)min, (long long)max);
        tc_config_fail(cfg, name, problem);
        return def;
    }
    return n;
}

int64_t tc_config_int(tc_config_t *cfg, const char *name, int64_t def, int64_t min, int64_t max)
{
    return get_int(cfg, name, 0, def, min, max);
}

int64_t tc_config_int_req(tc_config_t *cfg, const char *name, int64_t min, int64_t max)
{
    return get_int(cfg, name, 1, 0, min, max);
}

bool tc_config_bool(tc_config_t *cfg, const char *name, bool def)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = remember(cfg, name, 0);
    if (!v)
        return def;
    for (size_t i = 0; i < TC_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return true;
        if (strcasecmp(v, no[i]) == 0)
            return false;
    }
    tc_config_fail(cfg, name, "not a boolean (true/false)");
    return def;
}

int tc_config_enum(tc_config_t *cfg, const char *name, const char *const *choices, int def_index)
{
    const char *v = remember(cfg, name, 0);
    if (!v)
        return def_index;
    tc_buf_t all = TC_BUF_INIT;
    for (int i = 0; choices[i]; i++) {
        if (strcasecmp(v, choices[i]) == 0) {
            tc_buf_free(&all);
            return i;
        }
        tc_buf_printf(&all, "%s%s", i ? ", " : "", choices[i]);
    }
    char problem[256];
    snprintf(problem, sizeof problem, "must be one of: %s", tc_buf_cstr(&all));
    tc_buf_free(&all);
    tc_config_fail(cfg, name, problem);
    return def_index;
}

size_t tc_config_errors(const tc_config_t *cfg)
{
    return cfg->nerrors;
}

const char *tc_config_error(const tc_config_t *cfg, int i)
{
    return (i >= 0 && i < cfg->nerrors) ? cfg->errors[i] : NULL;
}

int tc_config_check(const tc_config_t *cfg)
{
    for (int i = 0; i < cfg->nerrors; i++)
        tc_log_kv(TC_LOG_ERROR, "invalid configuration", "problem", cfg->errors[i], NULL);
    return cfg->nerrors ? TC_EINVAL : TC_OK;
}

void tc_config_mask_url(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *at = NULL, *colon = NULL;
    if (scheme) {
        /* userinfo ends at the last '@' of the authority; an '@' in the path, query or
         * fragment is data */
        const char *host = scheme + 3;
        size_t alen = strcspn(host, "/?#");
        for (const char *p = host; p < host + alen; p++)
            if (*p == '@')
                at = p;
    }
    if (at)
        colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
}

void tc_config_log(const tc_config_t *cfg)
{
    tc_buf_t b = TC_BUF_INIT;
    for (int i = 0; i < cfg->nentries; i++) {
        const tc_config_entry_t *e = &cfg->entries[i];
        char masked[512];
        const char *shown = "(unset)";
        if (e->value && (e->secret || tc_log_is_secret_key(e->name))) {
            shown = "***";
        } else if (e->value) {
            tc_config_mask_url(e->value, masked, sizeof masked);
            shown = masked;
        }
        tc_buf_printf(&b, "%s%s=%s", i ? " " : "", e->name, shown);
    }
    tc_log_kv(TC_LOG_INFO, "configuration", "config", tc_buf_cstr(&b), NULL);
    tc_buf_free(&b);
}

int tc_config_key32(tc_config_t *cfg, const char *name, uint8_t out[32])
{
    const char *text = tc_config_secret(cfg, name, NULL);
    if (!text)
        return TC_EINVAL; /* recorded as missing */
    if (tc_key_parse(text, out) != TC_OK) {
        tc_config_fail(cfg, name, "must be 32 bytes as 64 hex characters or base64");
        return TC_EINVAL;
    }
    return TC_OK;
}

/* Is t a "<name>-events" topic a customer's events may be read from, not yet in topics[0..n)? */
static bool topic_ok(const char *t, const char **topics, size_t n)
{
    size_t len = strlen(t);
    if (len < 8 || strcmp(t + len - 7, "-events") != 0 || strcmp(t, "notification-events") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(topics[i], t) == 0)
            return false;
    return true;
}

void tc_config_topics(tc_config_t *cfg, const char *name, const char *def, char **buf,
                      const char **topics, size_t max)
{
    topics[0] = NULL;
    free(*buf);
    *buf = strdup(tc_config_str(cfg, name, def));
    if (!*buf) {
        tc_config_fail(cfg, name, "out of memory");
        return;
    }
    size_t n = 0;
    bool ok = true;
    char *save = NULL;
    for (char *t = strtok_r(*buf, ", \t\r\n", &save); t && ok;
         t = strtok_r(NULL, ", \t\r\n", &save)) {
        ok = n < max && topic_ok(t, topics, n);
        if (ok)
            topics[n++] = t;
    }
    if (!ok || n == 0) {
        char problem[112];
        snprintf(problem, sizeof problem,
                 "must list 1 to %zu distinct *-events topics (never notification-events)", max);
        tc_config_fail(cfg, name, problem);
        n = 0;
    }
    topics[n] = NULL;
}
