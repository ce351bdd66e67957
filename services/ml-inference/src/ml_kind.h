/*
 * ml_kind.h: what the registry needs of a kind of model (fastText classifier, VADER, word
 * embeddings, TextRank, NER tagger). A model version on disk names its kind in the manifest;
 * the registry loads it with the kind's load(), answers requests with predict() and compares a
 * shadow candidate's answers with agree().
 *
 * Every function is safe to call from many request threads at once on one loaded model (a
 * loaded model is read-only).
 */
#ifndef ML_KIND_H
#define ML_KIND_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name; /* "fasttext", "vader", "embeddings", "textrank", "ner" */
    /* Loads a version from its directory; params is the manifest's "params" object (may be
     * NULL). TC_OK and *out, or a TC_* code after logging what is wrong with which file. */
    int (*load)(const char *dir, const cJSON *params, void **out);
    /* A request's "options" object (NULL when the request gave none): true when the kind
     * accepts it, else false with a one-line reason in err. A kind without options accepts
     * only NULL or an empty object. */
    bool (*options_valid)(const cJSON *options, char *err, size_t errlen);
    /* The answer for one input: well-formed UTF-8 of len bytes (not NUL-terminated), within
     * the model's limits, already checked by the caller; options as accepted by
     * options_valid (or NULL). *out is a new JSON object owned by the caller. TC_OK, or
     * TC_ENOMEM. */
    int (*predict)(const void *model, const char *text, size_t len, const cJSON *options,
                   cJSON **out);
    /* Shadow traffic: true when the candidate's answer b agrees with the default's a (same
     * label, same sign, cosine above a threshold, ...). */
    bool (*agree)(const cJSON *a, const cJSON *b);
    void (*free)(void *model);
} ml_kind_t;

extern const ml_kind_t ml_kind_fasttext;
extern const ml_kind_t ml_kind_vader;
extern const ml_kind_t ml_kind_embeddings;
extern const ml_kind_t ml_kind_textrank;
extern const ml_kind_t ml_kind_ner;

#endif
