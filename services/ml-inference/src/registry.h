/*
 * registry.h: the models this process serves, each with its loaded versions, the default
 * version that answers, and an optional shadow candidate (the model's own canary).
 *
 * The set of versions is fixed at start (what `make models` built, found by their
 * card.json); the default and the shadow change at run time (an admin's PUT, or another
 * replica's, read back from Redis by the settings sync), as atomics, so the request threads
 * never take a lock to pick a version.
 */
#ifndef ML_REGISTRY_H
#define ML_REGISTRY_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gate.h"
#include "ml_kind.h"

typedef struct {
    char *version;
    const ml_kind_t *kind;
    void *model;
    cJSON *card; /* card.json as built (figures, data, licence) */
    int max_chars;
    int64_t load_ms; /* how long its load took */
    bool card_default;
} ml_version_t;

typedef struct {
    char *name; /* "sentiment-v3" */
    char *task;
    ml_version_t *versions;
    int nversions;
    int built_default;         /* the version the cards make the default */
    atomic_int def;            /* index of the default version */
    atomic_int shadow;         /* index of the shadow candidate, -1: none */
    atomic_int shadow_percent; /* share of requests mirrored to it, 1..100 */
    _Atomic uint64_t shadow_compared, shadow_agreed, shadow_dropped;
    ml_gate_t gate; /* admission control of this model's requests */
    bool gate_ready;
} ml_model_t;

typedef struct {
    ml_model_t *models;
    int nmodels;
    int64_t load_ms; /* the whole load: the cold start's share */
} ml_registry_t;

/* Loads every <dir>/<model>/<version>/card.json. TC_OK (with zero models when the directory
 * holds none: the caller decides whether that is fatal), or the first failure, logged. */
int ml_registry_load(ml_registry_t *reg, const char *dir, const ml_gate_opts_t *gate);
void ml_registry_free(ml_registry_t *reg);

ml_model_t *ml_registry_find(ml_registry_t *reg, const char *name);
/* The index of a version of m, or -1. */
int ml_model_version_index(const ml_model_t *m, const char *version);

/* Makes version the default (TC_ENOTFOUND when m has no such version). A shadow on the new
 * default is cleared: a version cannot shadow itself. */
int ml_model_set_default(ml_model_t *m, const char *version);
/* Mirrors percent (1..100) of requests to version; NULL clears the shadow. TC_ENOTFOUND for
 * an unknown version, TC_EINVAL for the default itself or a percent out of range. Counters
 * restart when the candidate changes. */
int ml_model_set_shadow(ml_model_t *m, const char *version, int percent);

typedef struct {
    const char *model;
    int seed_p99_ms;      /* the seed's budget */
    double target_p99_ms; /* a tenth of it */
    double price_per_1k;  /* USD per 1,000 inputs (billing's catalogue) */
} ml_budget_t;
/* The budget of a model by name, or NULL for a model the seed does not name. */
const ml_budget_t *ml_budget_of(const char *model);

/* The model's description for GET /models (summary) and GET /models/{name} (full). */
cJSON *ml_model_json(const ml_model_t *m, bool full);

#endif
