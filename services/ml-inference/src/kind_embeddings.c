/*
 * kind_embeddings.c: the "embeddings" kind, JSON glue around embeddings_model.c.
 *
 *   params  {"file": "glove100.i8.bin"}   the model file in the version's directory
 *   answer  {"dimensions": 100, "vector": [...], "tokens": n, "known": k}
 *
 * The loaded model (the void * the registry holds) is an emb_model_t.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embeddings_model.h"
#include "ml_kind.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#define DEFAULT_FILE "glove100.i8.bin"
/* Shadow answers agree when their sentence vectors point the same way. */
#define AGREE_COSINE 0.95

static int emb_load(const char *dir, const cJSON *params, void **out)
{
    const cJSON *file = params ? cJSON_GetObjectItemCaseSensitive(params, "file") : NULL;
    const char *name = cJSON_IsString(file) ? file->valuestring : DEFAULT_FILE;
    int rc = TC_ENOMEM;
    char *path = NULL;

    *out = NULL;
    if (file && !cJSON_IsString(file)) {
        tc_log_kv(TC_LOG_ERROR, "embeddings params.file is not a string", "dir", dir, NULL);
        return TC_EINVAL;
    }
    /* The file must be inside the version's directory. */
    if (name[0] == '\0' || strchr(name, '/') != NULL) {
        tc_log_kv(TC_LOG_ERROR, "embeddings params.file is not a plain file name", "dir", dir,
                  "file", name, NULL);
        return TC_EINVAL;
    }
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    path = malloc(n);
    if (!path)
        goto cleanup;
    snprintf(path, n, "%s/%s", dir, name);
    rc = emb_model_open(path, (emb_model_t **)out);
cleanup:
    free(path);
    return rc;
}

static bool emb_options_valid(const cJSON *options, char *err, size_t errlen)
{
    if (!options || (cJSON_IsObject(options) && options->child == NULL))
        return true;
    snprintf(err, errlen, "embeddings takes no options");
    return false;
}

/* 6 significant digits: the answer carries what float32 vectors can mean, not 17 digits. */
static double round6(float v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", (double)v);
    return strtod(buf, NULL);
}

static cJSON *vector_json(const float *v, size_t dims)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t d = 0; arr && d < dims; d++) {
        cJSON *num = cJSON_CreateNumber(round6(v[d]));
        if (!num || !cJSON_AddItemToArray(arr, num)) {
            cJSON_Delete(num);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static int emb_predict(const void *model, const char *text, size_t len, const cJSON *options,
                       cJSON **out)
{
    const emb_model_t *m = model;
    size_t dims = emb_model_dims(m);
    emb_counts_t counts;
    cJSON *obj = NULL, *arr = NULL;
    int rc = TC_ENOMEM;
    float *vec = malloc(dims * sizeof(float));

    TC_UNUSED(options);
    *out = NULL;
    if (!vec || emb_model_sentence(m, text, len, vec, &counts) != TC_OK)
        goto cleanup;
    obj = cJSON_CreateObject();
    if (!obj || !cJSON_AddNumberToObject(obj, "dimensions", (double)dims))
        goto cleanup;
    arr = vector_json(vec, dims);
    if (!arr || !cJSON_AddItemToObject(obj, "vector", arr))
        goto cleanup;
    arr = NULL; /* owned by obj now */
    if (!cJSON_AddNumberToObject(obj, "tokens", (double)counts.tokens) ||
        !cJSON_AddNumberToObject(obj, "known", (double)counts.known))
        goto cleanup;
    *out = obj;
    obj = NULL;
    rc = TC_OK;
cleanup:
    cJSON_Delete(arr);
    cJSON_Delete(obj);
    free(vec);
    return rc;
}

/* a.b, a.a and b.b of two vector answers; false unless both are arrays of numbers of one
 * length. */
static bool vectors_dot(const cJSON *a, const cJSON *b, double *dot, double *aa, double *bb)
{
    if (!cJSON_IsArray(a) || !cJSON_IsArray(b) || cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return false;
    *dot = *aa = *bb = 0;
    const cJSON *y = b->child;
    for (const cJSON *x = a->child; x; x = x->next, y = y->next) {
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y))
            return false;
        *dot += x->valuedouble * y->valuedouble;
        *aa += x->valuedouble * x->valuedouble;
        *bb += y->valuedouble * y->valuedouble;
    }
    return true;
}

static bool emb_agree(const cJSON *a, const cJSON *b)
{
    double dot, aa, bb;
    if (!a || !b ||
        !vectors_dot(cJSON_GetObjectItemCaseSensitive(a, "vector"),
                     cJSON_GetObjectItemCaseSensitive(b, "vector"), &dot, &aa, &bb))
        return false;
    /* Two "no known word" answers agree; one of them alone does not. */
    if (aa == 0 || bb == 0)
        return aa == 0 && bb == 0;
    return dot / sqrt(aa * bb) >= AGREE_COSINE;
}

static void emb_free(void *model)
{
    emb_model_close(model);
}

const ml_kind_t ml_kind_embeddings = {
    .name = "embeddings",
    .load = emb_load,
    .options_valid = emb_options_valid,
    .predict = emb_predict,
    .agree = emb_agree,
    .free = emb_free,
};
