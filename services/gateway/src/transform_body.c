/*
 * JSON body rules of a route's transformations (issue 23): top-level fields of a request's
 * or a response's JSON object removed, renamed, replaced (only when present) and added (only
 * when absent), in that order, like the header rules (transform.h). Values are templates and
 * become JSON strings. Pure: the caller owns what it gets.
 */
#include "transform.h"
#include "tc/tc_core.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 2048 /* an expanded value */

/* The member named exactly (JSON names are case-sensitive). */
static cJSON *member(cJSON *obj, const gw_tx_rule_t *r)
{
    cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && strlen(it->string) == r->name_len &&
            memcmp(it->string, r->name, r->name_len) == 0)
            return it;
    }
    return NULL;
}

static void remove_all(cJSON *obj, const gw_tx_rule_t *r)
{
    cJSON *m;
    while ((m = member(obj, r)))
        cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
}

/* The rule's value as a JSON string, or NULL when it expands to nothing (the rule is
 * skipped, as a header rule is) or *rc says why not. */
static cJSON *value_of(const gw_tx_rule_t *r, const gw_tx_ctx_t *x, int *rc)
{
    char buf[VALUE_MAX];
    long n = gw_tpl_expand(&r->value, x, false, buf, sizeof buf);
    if (n == -2)
        return NULL;
    if (n < 0) {
        *rc = TC_EINVAL;
        return NULL;
    }
    buf[n] = '\0';
    cJSON *v = cJSON_CreateString(buf);
    if (!v)
        *rc = TC_ENOMEM;
    return v;
}

static int apply(const gw_tx_set_t *s, const gw_tx_ctx_t *x, cJSON *obj)
{
    int rc = TC_OK;
    for (int i = 0; i < s->n[GW_TX_REMOVE]; i++)
        remove_all(obj, &s->rules[GW_TX_REMOVE][i]);
    for (int i = 0; i < s->n[GW_TX_RENAME]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_RENAME][i];
        cJSON *m = member(obj, r);
        if (!m)
            continue;
        cJSON_DetachItemViaPointer(obj, m);
        gw_tx_rule_t to = {.name = r->to, .name_len = r->to_len};
        remove_all(obj, &to); /* the renamed field wins over one of the new name */
        if (!cJSON_AddItemToObject(obj, r->to, m)) {
            cJSON_Delete(m);
            return TC_ENOMEM;
        }
    }
    for (int i = 0; i < s->n[GW_TX_REPLACE] && rc == TC_OK; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_REPLACE][i];
        cJSON *m = member(obj, r);
        cJSON *v = m ? value_of(r, x, &rc) : NULL;
        /* by name: the replacement takes the member's name (ViaPointer would leave it none) */
        if (v && !cJSON_ReplaceItemInObjectCaseSensitive(obj, m->string, v)) {
            cJSON_Delete(v);
            rc = TC_ENOMEM;
        }
    }
    for (int i = 0; i < s->n[GW_TX_ADD] && rc == TC_OK; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_ADD][i];
        if (member(obj, r))
            continue;
        cJSON *v = value_of(r, x, &rc);
        if (v && !cJSON_AddItemToObject(obj, r->name, v)) {
            cJSON_Delete(v);
            rc = TC_ENOMEM;
        }
    }
    return rc;
}

/* Whether a JSON text holds the escape \u0000 (an odd run of backslashes before it): the
 * parser's strings end at a NUL, so such a value would come out cut. */
static bool has_nul_escape(const char *in, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++) {
        if (in[i] != '\\' || memcmp(in + i + 1, "u0000", 5) != 0)
            continue;
        size_t run = 1;
        while (run <= i && in[i - run] == '\\')
            run++;
        if (run % 2 == 1)
            return true;
    }
    return false;
}

int gw_tx_json(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *in, size_t len, char **out,
               size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (has_nul_escape(in, len))
        return TC_EINVAL;
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(in, len, &end, false);
    if (!obj) /* cJSON also says NULL when out of memory: a body that big is refused anyway */
        return TC_EINVAL;
    /* one value and nothing after it but white space */
    for (; end && end < in + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(obj);
            return TC_EINVAL;
        }
    int rc = cJSON_IsObject(obj) ? apply(s, x, obj) : TC_EINVAL;
    if (rc == TC_OK) {
        *out = cJSON_PrintUnformatted(obj);
        if (*out)
            *out_len = strlen(*out);
        else
            rc = TC_ENOMEM;
    }
    cJSON_Delete(obj);
    return rc;
}

bool gw_tx_is_json(const char *type, size_t len)
{
    /* application/json, application/problem+json, …; parameters after ';' */
    size_t n = 0;
    while (n < len && type[n] != ';' && type[n] != ' ' && type[n] != '\t')
        n++;
    if (n >= 16 && strncasecmp(type, "application/json", 16) == 0 && n == 16)
        return true;
    return n > 17 && strncasecmp(type, "application/", 12) == 0 &&
           strncasecmp(type + n - 5, "+json", 5) == 0;
}
