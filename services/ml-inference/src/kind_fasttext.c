/*
 * kind_fasttext.c: the "fasttext" kind (text-classifier-v2): JSON in and out around
 * fasttext_model.c.
 *
 *   params   {"file": "model.bin"}      the .bin in the version's directory
 *   options  {"top_k": n}               how many labels to list (default all)
 *   answer   {"label": best, "score": p, "labels": [{"label", "score"}, ...]} by score
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fasttext_model.h"
#include "ml_kind.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

/* options_valid() does not see the model, so it bounds top_k loosely and predict() lists at
 * most the model's labels. */
#define TOP_K_MAX 1000

static int ft_load(const char *dir, const cJSON *params, void **out)
{
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(params, "file");
    if (!cJSON_IsString(file) || file->valuestring[0] == '\0' || file->valuestring[0] == '.' ||
        strchr(file->valuestring, '/') != NULL) {
        tc_log_kv(TC_LOG_ERROR,
                  "fasttext: params.file must name the .bin in the version's "
                  "directory",
                  "dir", dir, NULL);
        return TC_EINVAL;
    }
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file->valuestring);
    if (n < 0 || (size_t)n >= sizeof path) {
        tc_log_kv(TC_LOG_ERROR, "fasttext: model path too long", "dir", dir, NULL);
        return TC_EINVAL;
    }
    ft_model_t *m = NULL;
    int rc = ft_model_open(path, &m);
    if (rc == TC_OK)
        *out = m;
    return rc;
}

static bool ft_options_valid(const cJSON *options, char *err, size_t errlen)
{
    if (options == NULL)
        return true;
    if (!cJSON_IsObject(options)) {
        snprintf(err, errlen, "options must be an object");
        return false;
    }
    for (const cJSON *o = options->child; o != NULL; o = o->next) {
        if (strcmp(o->string, "top_k") != 0) {
            /* the name is not echoed: cut to fit, it could end inside a character */
            snprintf(err, errlen, "unknown option (accepted: top_k)");
            return false;
        }
        if (!cJSON_IsNumber(o) || o->valuedouble != floor(o->valuedouble) || o->valuedouble < 1 ||
            o->valuedouble > TOP_K_MAX) {
            snprintf(err, errlen,
                     "top_k must be an integer from 1 to %d (answers list at most "
                     "the model's labels)",
                     TOP_K_MAX);
            return false;
        }
    }
    return true;
}

static size_t top_k(const cJSON *options, size_t nlabels)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(options, "top_k");
    if (!cJSON_IsNumber(k) || k->valuedouble >= (double)nlabels)
        return nlabels;
    return (size_t)k->valuedouble;
}

/* Label indices by descending probability; a tie keeps the model's label order. */
static void rank(const float *probs, size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t v = order[i], j = i;
        for (; j > 0 && probs[order[j - 1]] < probs[v]; j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
}

static cJSON *scored(const char *label, float p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "label", label) == NULL ||
        cJSON_AddNumberToObject(o, "score", (double)p) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int ft_predict(const void *model, const char *text, size_t len, const cJSON *options,
                      cJSON **out)
{
    const ft_model_t *m = model;
    size_t n = ft_model_nlabels(m);
    int rc = TC_ENOMEM;
    cJSON *answer = NULL;
    float *probs = malloc(n * sizeof *probs);
    size_t *order = malloc(n * sizeof *order);
    if (probs == NULL || order == NULL)
        goto cleanup;
    rc = ft_model_predict(m, text, len, probs);
    if (rc != TC_OK)
        goto cleanup;
    rc = TC_ENOMEM;
    rank(probs, order, n);
    answer = scored(ft_model_label(m, order[0]), probs[order[0]]);
    cJSON *list = answer == NULL ? NULL : cJSON_AddArrayToObject(answer, "labels");
    if (list == NULL)
        goto cleanup;
    for (size_t i = 0, k = top_k(options, n); i < k; i++) {
        cJSON *item = scored(ft_model_label(m, order[i]), probs[order[i]]);
        if (item == NULL || !cJSON_AddItemToArray(list, item)) {
            cJSON_Delete(item);
            goto cleanup;
        }
    }
    *out = answer;
    answer = NULL;
    rc = TC_OK;
cleanup:
    cJSON_Delete(answer);
    free(probs);
    free(order);
    return rc;
}

static bool ft_agree(const cJSON *a, const cJSON *b)
{
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(a, "label");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(b, "label");
    return cJSON_IsString(la) && cJSON_IsString(lb) &&
           strcmp(la->valuestring, lb->valuestring) == 0;
}

static void ft_free(void *model)
{
    ft_model_close(model);
}

const ml_kind_t ml_kind_fasttext = {
    .name = "fasttext",
    .load = ft_load,
    .options_valid = ft_options_valid,
    .predict = ft_predict,
    .agree = ft_agree,
    .free = ft_free,
};
