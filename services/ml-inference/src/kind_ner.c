/* kind_ner.c: the "ner" kind (ner-v2) for the registry: the card's params name the two model
 * files; an answer is {"entities": [{"text", "type", "start", "end", "score"}]} with start and
 * end in code points of the input; the option "types" keeps only the listed types. */
#include "ml_kind.h"
#include "ner_model.h"

#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A model file named by the card: a plain file name inside the version directory, so a card
 * cannot point the service at any other file. */
static int file_param(const char *dir, const cJSON *params, const char *key, const char *dflt,
                      char *path, size_t n)
{
    const cJSON *v = params ? cJSON_GetObjectItemCaseSensitive(params, key) : NULL;
    const char *name = dflt;
    if (v) {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strchr(v->valuestring, '/') ||
            strcmp(v->valuestring, "..") == 0) {
            tc_log_kv(TC_LOG_ERROR, "ner: card param must be a file name", "dir", dir, "param", key,
                      NULL);
            return TC_EINVAL;
        }
        name = v->valuestring;
    }
    if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n) {
        tc_log_kv(TC_LOG_ERROR, "ner: model path too long", "dir", dir, "param", key, NULL);
        return TC_EINVAL;
    }
    return TC_OK;
}

static int ner_load(const char *dir, const cJSON *params, void **out)
{
    char wpath[4096], gpath[4096], err[512];
    int rc;
    *out = NULL;
    if ((rc = file_param(dir, params, "weights", "ner.weights", wpath, sizeof wpath)) != TC_OK ||
        (rc = file_param(dir, params, "gazetteer", "ner.gaz", gpath, sizeof gpath)) != TC_OK)
        return rc;
    /* The softmax temperature the recipe fitted on held-out tokens (1 when absent). */
    const cJSON *t = params ? cJSON_GetObjectItemCaseSensitive(params, "temperature") : NULL;
    if (t && !(cJSON_IsNumber(t) && t->valuedouble > 0 && t->valuedouble < 1e6)) {
        tc_log_kv(TC_LOG_ERROR, "ner: card param temperature must be a positive number", "dir", dir,
                  NULL);
        return TC_EINVAL;
    }
    ner_model_t *m;
    if ((rc = ner_model_load(wpath, gpath, t ? (float)t->valuedouble : 1.0f, &m, err,
                             sizeof err)) != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "ner: cannot load model", "dir", dir, "error", err, NULL);
        return rc;
    }
    *out = m;
    return TC_OK;
}

/* Fills want[type] from the options; every type when there is no "types". */
static bool types_wanted(const cJSON *options, bool want[NER_NTYPES], char *err, size_t errlen)
{
    const cJSON *types = options ? cJSON_GetObjectItemCaseSensitive(options, "types") : NULL;
    for (int t = 0; t < NER_NTYPES; t++)
        want[t] = types == NULL;
    if (!types)
        return true;
    int count = cJSON_GetArraySize(types);
    if (!cJSON_IsArray(types) || count < 1 || count > NER_NTYPES) {
        snprintf(err, errlen, "types must be an array of 1 to %d entity types", NER_NTYPES);
        return false;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, types)
    {
        int t = cJSON_IsString(e) ? ner_type_parse(e->valuestring) : -1;
        if (t < 0) {
            snprintf(err, errlen,
                     "unknown entity type in types (PERSON, LOCATION, ORGANIZATION, MISC, DATE, "
                     "MONEY, PERCENT, EMAIL)");
            return false;
        }
        want[t] = true;
    }
    return true;
}

static bool ner_options_valid(const cJSON *options, char *err, size_t errlen)
{
    bool want[NER_NTYPES];
    if (options == NULL)
        return true;
    if (!cJSON_IsObject(options)) {
        snprintf(err, errlen, "options must be an object");
        return false;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, options)
    {
        if (strcmp(e->string, "types") != 0) {
            snprintf(err, errlen, "unknown option (only \"types\" is accepted)");
            return false;
        }
    }
    return types_wanted(options, want, err, errlen);
}

/* One entity as JSON; scratch holds at least its text's bytes + 1. */
static cJSON *entity_json(const char *text, const ner_entity_t *e, char *scratch)
{
    size_t n = e->byte_end - e->byte_start;
    memcpy(scratch, text + e->byte_start, n);
    scratch[n] = '\0';
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "text", scratch) ||
        !cJSON_AddStringToObject(o, "type", ner_type_name(e->type)) ||
        !cJSON_AddNumberToObject(o, "start", e->start) ||
        !cJSON_AddNumberToObject(o, "end", e->end) ||
        !cJSON_AddNumberToObject(o, "score", round((double)e->score * 1000.0) / 1000.0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int ner_predict(const void *model, const char *text, size_t len, const cJSON *options,
                       cJSON **out)
{
    int rc = TC_ENOMEM;
    ner_entities_t ents = {0};
    char *scratch = NULL;
    cJSON *res = NULL;
    bool want[NER_NTYPES];
    char err[160];
    *out = NULL;
    if (!types_wanted(options, want, err, sizeof err))
        return TC_EINVAL; /* the caller checked options_valid; kept for safety */
    if (ner_model_predict(model, text, len, &ents) != TC_OK)
        goto cleanup;
    scratch = malloc(len + 1);
    res = cJSON_CreateObject();
    cJSON *arr = res ? cJSON_AddArrayToObject(res, "entities") : NULL;
    if (!scratch || !arr)
        goto cleanup;
    for (size_t k = 0; k < ents.n; k++) {
        if (!want[ents.v[k].type])
            continue;
        cJSON *o = entity_json(text, &ents.v[k], scratch);
        if (!o)
            goto cleanup;
        cJSON_AddItemToArray(arr, o);
    }
    *out = res;
    res = NULL;
    rc = TC_OK;
cleanup:
    cJSON_Delete(res);
    free(scratch);
    ner_entities_free(&ents);
    return rc;
}

/* The (start, end) pairs of an answer's entities, or -1 when it is not an answer. */
static int spans_of(const cJSON *ans, double (*spans)[2], int max)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "entities");
    if (!cJSON_IsArray(arr))
        return -1;
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "start");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "end");
        if (!cJSON_IsNumber(s) || !cJSON_IsNumber(t))
            return -1;
        if (n < max) {
            spans[n][0] = s->valuedouble;
            spans[n][1] = t->valuedouble;
        }
        n++;
    }
    return n < max ? n : max;
}

/* Agreement is span F1 >= 0.9 over exact (start, end) pairs, types ignored: a candidate that
 * finds the same names but types one differently still agrees, one that misses or adds more
 * than about one span in ten does not. Two empty answers agree. */
static bool ner_agree(const cJSON *a, const cJSON *b)
{
    enum { MAX = 2048 }; /* answers beyond this are compared on their first MAX spans */
    double(*sa)[2] = malloc(sizeof(double[2]) * MAX);
    double(*sb)[2] = malloc(sizeof(double[2]) * MAX);
    bool ok = false;
    if (!sa || !sb)
        goto cleanup;
    int na = spans_of(a, sa, MAX), nb = spans_of(b, sb, MAX);
    if (na < 0 || nb < 0)
        goto cleanup;
    if (na == 0 || nb == 0) {
        ok = na == nb;
        goto cleanup;
    }
    int same = 0;
    for (int i = 0; i < na; i++) {
        for (int j = 0; j < nb; j++) {
            if (sa[i][0] == sb[j][0] && sa[i][1] == sb[j][1]) {
                same++;
                break;
            }
        }
    }
    ok = 2.0 * same / (na + nb) >= 0.9;
cleanup:
    free(sa);
    free(sb);
    return ok;
}

static void ner_free(void *model)
{
    ner_model_free(model);
}

const ml_kind_t ml_kind_ner = {
    .name = "ner",
    .load = ner_load,
    .options_valid = ner_options_valid,
    .predict = ner_predict,
    .agree = ner_agree,
    .free = ner_free,
};
