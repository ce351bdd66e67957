/*
 * kind_textrank.c: the "textrank" kind (summarizer-v1): card params and request options in,
 * the summary as JSON out. The summarizing itself is textrank_model.c.
 *
 *   params  {"file": "textrank.bin", "position_prior": 1.5}  (these are the defaults)
 *   options {"sentences": 1..10}  (default 3)
 *   answer  {"summary": "...", "sentences": [{"index", "text", "score"}], "sentence_count"}
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml_kind.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "textrank_model.h"

#define DEFAULT_FILE      "textrank.bin"
#define DEFAULT_PRIOR     1.5 /* chosen on the recipe's dev articles, as in the card */
#define DEFAULT_SENTENCES 3
#define MAX_SENTENCES_OPT 10

typedef struct {
    textrank_model_t *model;
    double prior; /* weight of the position prior: 0 is plain TextRank */
} kind_model_t;

static void kind_free(void *p)
{
    kind_model_t *k = p;
    if (!k)
        return;
    textrank_model_free(k->model);
    free(k);
}

/* The card's params: a plain file name and a finite prior >= 0, both optional; nothing else
 * (a misspelt key would otherwise fall back to a default unnoticed). */
static int read_params(const char *dir, const cJSON *params, const char **file, double *prior)
{
    *file = DEFAULT_FILE;
    *prior = DEFAULT_PRIOR;
    const char *key = "params";
    if (!params)
        return TC_OK;
    if (!cJSON_IsObject(params))
        goto bad;
    for (const cJSON *p = params->child; p; p = p->next) {
        key = p->string;
        if (strcmp(p->string, "file") == 0 && cJSON_IsString(p) && p->valuestring[0] &&
            !strchr(p->valuestring, '/') && strcmp(p->valuestring, "..") != 0)
            *file = p->valuestring;
        else if (strcmp(p->string, "position_prior") == 0 && cJSON_IsNumber(p) &&
                 isfinite(p->valuedouble) && p->valuedouble >= 0)
            *prior = p->valuedouble;
        else
            goto bad;
    }
    return TC_OK;
bad:
    tc_log_kv(TC_LOG_ERROR, "textrank params are invalid (want file, position_prior >= 0)", "dir",
              dir, "param", key, NULL);
    return TC_EINVAL;
}

static int kind_load(const char *dir, const cJSON *params, void **out)
{
    *out = NULL;
    const char *file;
    double prior;
    char *path = NULL;
    kind_model_t *k = NULL;
    int rc = read_params(dir, params, &file, &prior);
    if (rc != TC_OK)
        return rc;
    rc = TC_ENOMEM;
    k = calloc(1, sizeof *k);
    size_t n = strlen(dir) + strlen(file) + 2;
    path = malloc(n);
    if (!k || !path)
        goto cleanup;
    snprintf(path, n, "%s/%s", dir, file);
    k->prior = prior;
    if ((rc = textrank_model_open(path, &k->model)) != TC_OK)
        goto cleanup;
    *out = k;
    k = NULL;
cleanup:
    free(path);
    kind_free(k);
    return rc;
}

/* The number of sentences an accepted options object asks for. */
static size_t wanted_sentences(const cJSON *options)
{
    const cJSON *s = options ? cJSON_GetObjectItemCaseSensitive(options, "sentences") : NULL;
    return s ? (size_t)s->valuedouble : DEFAULT_SENTENCES;
}

static bool kind_options_valid(const cJSON *options, char *err, size_t errlen)
{
    if (!options)
        return true;
    if (!cJSON_IsObject(options)) {
        snprintf(err, errlen, "options must be an object");
        return false;
    }
    for (const cJSON *o = options->child; o; o = o->next) {
        if (strcmp(o->string, "sentences") != 0) {
            snprintf(err, errlen, "unknown option (only \"sentences\")");
            return false;
        }
        double v = o->valuedouble;
        if (!cJSON_IsNumber(o) || !isfinite(v) || floor(v) != v || v < 1 || v > MAX_SENTENCES_OPT) {
            snprintf(err, errlen, "sentences must be an integer from 1 to %d", MAX_SENTENCES_OPT);
            return false;
        }
    }
    return true;
}

/* The picked sentences joined by one space; malloc'd, NULL on ENOMEM. */
static char *join_picks(const textrank_summary_t *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->n_picks; i++)
        n += strlen(s->picks[i].text) + 1;
    char *out = malloc(n), *p = out;
    if (!out)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < s->n_picks; i++) {
        size_t l = strlen(s->picks[i].text);
        if (i > 0)
            *p++ = ' ';
        memcpy(p, s->picks[i].text, l + 1);
        p += l;
    }
    return out;
}

static cJSON *summary_json(const textrank_summary_t *s)
{
    char *joined = join_picks(s);
    cJSON *o = cJSON_CreateObject(), *arr = NULL;
    if (!joined || !o || !cJSON_AddStringToObject(o, "summary", joined) ||
        !(arr = cJSON_AddArrayToObject(o, "sentences")))
        goto fail;
    for (size_t i = 0; i < s->n_picks; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            goto fail;
        }
        if (!cJSON_AddNumberToObject(e, "index", (double)s->picks[i].index) ||
            !cJSON_AddStringToObject(e, "text", s->picks[i].text) ||
            !cJSON_AddNumberToObject(e, "score", s->picks[i].score))
            goto fail;
    }
    if (!cJSON_AddNumberToObject(o, "sentence_count", (double)s->sentence_count))
        goto fail;
    free(joined);
    return o;
fail:
    free(joined);
    cJSON_Delete(o);
    return NULL;
}

static int kind_predict(const void *model, const char *text, size_t len, const cJSON *options,
                        cJSON **out)
{
    const kind_model_t *k = model;
    *out = NULL;
    textrank_summary_t s;
    int rc = textrank_summarize(k->model, text, len, wanted_sentences(options), k->prior, &s);
    if (rc != TC_OK)
        return rc;
    *out = summary_json(&s);
    textrank_summary_free(&s);
    return *out ? TC_OK : TC_ENOMEM;
}

/* Chosen sentence indexes of an answer, at most cap; -1 when it is no answer of this kind. */
static int chosen(const cJSON *answer, double *idx, int cap)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(answer, "sentences");
    if (!cJSON_IsArray(arr))
        return -1;
    int n = 0;
    for (const cJSON *e = arr->child; e && n < cap; e = e->next) {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "index");
        if (!cJSON_IsNumber(i))
            return -1;
        idx[n++] = i->valuedouble;
    }
    return n;
}

/* Agreement: the same first sentence (in document order), or at least half of the larger
 * set of chosen sentences in common; two empty summaries agree. */
static bool kind_agree(const cJSON *a, const cJSON *b)
{
    double x[MAX_SENTENCES_OPT], y[MAX_SENTENCES_OPT];
    int na = chosen(a, x, MAX_SENTENCES_OPT), nb = chosen(b, y, MAX_SENTENCES_OPT);
    if (na < 0 || nb < 0)
        return false;
    if (na == 0 || nb == 0)
        return na == nb;
    if (x[0] == y[0])
        return true;
    int common = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            common += x[i] == y[j];
    return 2 * common >= (na > nb ? na : nb);
}

const ml_kind_t ml_kind_textrank = {
    .name = "textrank",
    .load = kind_load,
    .options_valid = kind_options_valid,
    .predict = kind_predict,
    .agree = kind_agree,
    .free = kind_free,
};
