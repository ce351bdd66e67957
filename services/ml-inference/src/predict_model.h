/*
 * predict_model.h: the rules of a prediction request, without HTTP or Redis: the body's
 * shape, each input's limits, and the cache key of an input.
 */
#ifndef ML_PREDICT_MODEL_H
#define ML_PREDICT_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "tc/tc_json.h"

#define ML_BATCH_MAX 64

typedef struct {
    const char *text[ML_BATCH_MAX]; /* borrowed from the body */
    size_t len[ML_BATCH_MAX];
    int n;
    const cJSON *options; /* NULL when absent */
    const char *version;  /* an explicit version, or NULL for the default */
} ml_request_t;

/* Reads {"input": "...", "options": {...}, "version": "..."} (batch: "inputs": [1..64
 * strings]); the problems go into jv (422). */
bool ml_request_parse(const cJSON *body, bool batch, ml_request_t *req, tc_jv_t *jv);

typedef enum {
    ML_INPUT_OK = 0,
    ML_INPUT_EMPTY,    /* nothing but white space: 422 */
    ML_INPUT_BAD_UTF8, /* 422 */
    ML_INPUT_TOO_LONG, /* more characters than the model takes: 413 */
} ml_input_check_t;

/* Checks an input as the model will see it (untrimmed: entity offsets are the caller's):
 * not only white space, well-formed UTF-8 without NUL, at most max_chars characters (code
 * points). *chars is its length in characters when it is valid UTF-8. */
ml_input_check_t ml_input_check(const char *text, size_t len, int max_chars, size_t *chars);

/* "<prefix><model>:<version>:<sha-256 of the options and the input>"; false when it could not
 * be computed (then the request goes without the cache). */
#define ML_CACHE_KEY_MAX 256
bool ml_cache_key(const char *prefix, const char *model, const char *version,
                  const char *options_json, const char *text, size_t len,
                  char out[ML_CACHE_KEY_MAX]);

#endif
