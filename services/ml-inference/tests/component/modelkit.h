/*
 * Shared helpers of the component tests on the built models (test_kind_*.c): where `make
 * models` put a version, and its evaluation files read line by line. A missing file fails the
 * test: these suites must never pass by not running.
 */
#ifndef ML_TEST_MODELKIT_H
#define ML_TEST_MODELKIT_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* $ML_MODELS_DIR (default build/models, from the repository root) /<model>/<version> */
static inline void mk_version_dir(const char *model, const char *version, char *out, size_t n)
{
    const char *base = getenv("ML_MODELS_DIR");
    snprintf(out, n, "%s/%s/%s", base && *base ? base : "build/models", model, version);
}

/* Calls fn on every line of <vdir>/eval/<name> parsed as JSON; returns the number of lines. */
static inline size_t mk_each_line(const char *vdir, const char *name,
                                  void (*fn)(const cJSON *row, void *ctx), void *ctx)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/eval/%s", vdir, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s: build the models with `make models`", path);
    char *line = NULL;
    size_t cap = 0, rows = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *row = cJSON_Parse(line);
        cr_assert_not_null(row, "%s:%zu is not JSON", path, rows + 1);
        fn(row, ctx);
        cJSON_Delete(row);
        rows++;
    }
    free(line);
    fclose(f);
    return rows;
}

#endif
