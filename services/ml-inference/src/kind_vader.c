/*
 * kind_vader.c: the "vader" kind (sentiment-v3): JSON in and out around vader_model.c.
 *
 * Answer: {"label": "positive"|"neutral"|"negative", "compound": c,
 *          "scores": {"pos": p, "neu": u, "neg": n}}
 * No options. Two answers agree when their labels are the same.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ml_kind.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "vader_model.h"

#define DEFAULT_LEXICON "lexicon.bin"

/* The card's params name the lexicon file inside the version directory; only a plain file
 * name is accepted so that a card cannot point outside its directory. */
static int lexicon_name(const cJSON *params, const char **name)
{
    *name = DEFAULT_LEXICON;
    const cJSON *item = params ? cJSON_GetObjectItemCaseSensitive(params, "lexicon") : NULL;
    if (!item)
        return TC_OK;
    const char *s = cJSON_GetStringValue(item);
    if (!s || !*s || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        tc_log_kv(TC_LOG_ERROR, "vader: params.lexicon must be a file name in the version dir",
                  NULL);
        return TC_EINVAL;
    }
    *name = s;
    return TC_OK;
}

static int vader_load(const char *dir, const cJSON *params, void **out)
{
    *out = NULL;
    const char *name;
    int rc = lexicon_name(params, &name);
    if (rc != TC_OK)
        return rc;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        tc_log_kv(TC_LOG_ERROR, "vader: lexicon path too long", "dir", dir, NULL);
        return TC_EINVAL;
    }
    vader_model_t *m = NULL;
    rc = vader_model_open(path, &m);
    if (rc == TC_OK)
        *out = m;
    return rc;
}

static bool vader_options_valid(const cJSON *options, char *err, size_t errlen)
{
    if (!options || (cJSON_IsObject(options) && !options->child))
        return true;
    snprintf(err, errlen, "sentiment (vader) takes no options");
    return false;
}

/* The answer object, or NULL when an allocation fails. */
static cJSON *answer(const vader_scores_t *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *scores = cJSON_AddObjectToObject(o, "scores");
    bool ok = cJSON_AddStringToObject(o, "label", vader_label(s->compound)) &&
              cJSON_AddNumberToObject(o, "compound", s->compound) && scores &&
              cJSON_AddNumberToObject(scores, "pos", s->pos) &&
              cJSON_AddNumberToObject(scores, "neu", s->neu) &&
              cJSON_AddNumberToObject(scores, "neg", s->neg);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int vader_predict(const void *model, const char *text, size_t len, const cJSON *options,
                         cJSON **out)
{
    TC_UNUSED(options);
    *out = NULL;
    vader_scores_t s;
    int rc = vader_model_score(model, text, len, &s);
    if (rc != TC_OK)
        return rc;
    *out = answer(&s);
    return *out ? TC_OK : TC_ENOMEM;
}

static bool vader_agree(const cJSON *a, const cJSON *b)
{
    const char *la = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "label"));
    const char *lb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "label"));
    return la && lb && strcmp(la, lb) == 0;
}

static void vader_free(void *model)
{
    vader_model_free(model);
}

const ml_kind_t ml_kind_vader = {
    .name = "vader",
    .load = vader_load,
    .options_valid = vader_options_valid,
    .predict = vader_predict,
    .agree = vader_agree,
    .free = vader_free,
};
