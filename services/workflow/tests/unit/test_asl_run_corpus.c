/*
 * The ASL corpus (services/workflow/tests/asl-corpus/NNN_<name>.json) through asl_run: one
 * Criterion test per case. Each case's "expected" comes from the differential oracle
 * (aws-local-stepfunctions, tests/component/test_asl_oracle.py) or, where the oracle departs
 * from the States Language specification, from the specification ("divergence"); asl_run
 * must give it: the output (JSON equality, numbers compared as doubles, key order ignored) or
 * the error name, and the cause when the case names one.
 *
 * The corpus directory: $TC_ASL_CORPUS, else $TC_TEST_ROOT/services/workflow/tests/asl-corpus,
 * else services/workflow/tests/asl-corpus from the working directory (scripts/test.sh runs the
 * unit binaries from the repository root), else the directory beside this source file.
 *
 * The Task resources are the corpus's test functions (asl-corpus/README.md), the same as
 * oracle.js's. asl_task_fn is not told the state name, so tc:test:flaky counts its calls per
 * params.id (the corpus gives every flaky state "id": its own state name) within one run.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "asl.h"
#include "tc/tc_core.h"

#define CORPUS_REL    "services/workflow/tests/asl-corpus"
#define CASE_NAME_MAX 160
#define STEPS_MAX     10000
#define MIN_CASES     100
#define MSG_MAX       4096

/* ------------------------------------------------------------------ finding the corpus */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *corpus_dir(char *buf, size_t n)
{
    const char *env = getenv("TC_ASL_CORPUS");
    if (env && *env)
        return env;
    const char *root = getenv("TC_TEST_ROOT");
    if (root && *root) {
        snprintf(buf, n, "%s/%s", root, CORPUS_REL);
        if (is_dir(buf))
            return buf;
    }
    if (is_dir(CORPUS_REL))
        return CORPUS_REL;
    /* __FILE__ is .../services/workflow/tests/unit/test_asl_run_corpus.c */
    snprintf(buf, n, "%s", __FILE__);
    char *slash = strrchr(buf, '/');
    if (slash) {
        *slash = '\0';
        slash = strrchr(buf, '/');
    }
    if (slash) {
        snprintf(slash, n - (size_t)(slash - buf), "/asl-corpus");
        return buf;
    }
    return CORPUS_REL;
}

static bool is_case_file(const char *f)
{
    size_t len = strlen(f);
    return len > 9 && len < CASE_NAME_MAX && f[0] >= '0' && f[0] <= '9' && f[1] >= '0' &&
           f[1] <= '9' && f[2] >= '0' && f[2] <= '9' && f[3] == '_' &&
           strcmp(f + len - 5, ".json") == 0;
}

typedef struct {
    char file[CASE_NAME_MAX];
} corpus_case_t;

static int by_file(const void *a, const void *b)
{
    return strcmp(((const corpus_case_t *)a)->file, ((const corpus_case_t *)b)->file);
}

/* The case files, sorted; *out is malloc'd (or cr_malloc'd when shared is set). */
static size_t list_cases(corpus_case_t **out, bool shared)
{
    char buf[4096];
    const char *dir = corpus_dir(buf, sizeof buf);
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0, cap = 0;
    corpus_case_t *cases = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_case_file(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            corpus_case_t *more = realloc(cases, cap * sizeof *cases);
            if (!more)
                break;
            cases = more;
        }
        memcpy(cases[n].file, e->d_name, strlen(e->d_name) + 1); /* is_case_file: it fits */
        n++;
    }
    closedir(d);
    if (n == 0) {
        free(cases);
        return 0;
    }
    qsort(cases, n, sizeof *cases, by_file);
    if (!shared) {
        *out = cases;
        return n;
    }
    corpus_case_t *params = cr_malloc(n * sizeof *params);
    if (params)
        memcpy(params, cases, n * sizeof *params);
    free(cases);
    *out = params;
    return params ? n : 0;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, len = 0;
    char *text = malloc(cap);
    while (text) {
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (len < cap - 1)
            break;
        cap *= 2;
        char *more = realloc(text, cap);
        if (!more) {
            free(text);
            text = NULL;
            break;
        }
        text = more;
    }
    fclose(f);
    if (!text)
        return NULL;
    text[len] = '\0';
    cJSON *doc = cJSON_Parse(text);
    free(text);
    return doc;
}

/* ------------------------------------------------------------------ the test functions */

#define FLAKY_KEYS 64

typedef struct {
    struct {
        char key[ASL_NAME_MAX + 1];
        int calls;
    } flaky[FLAKY_KEYS];
    int nflaky;
} task_state_t;

static const char *str_field(const cJSON *obj, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int *flaky_counter(task_state_t *ts, const cJSON *params)
{
    char key[ASL_NAME_MAX + 1];
    const char *id = str_field(params, "id", NULL);
    if (id) {
        snprintf(key, sizeof key, "%s", id);
    } else {
        char *p = cJSON_PrintUnformatted(params);
        snprintf(key, sizeof key, "%s", p ? p : "");
        cJSON_free(p);
    }
    for (int i = 0; i < ts->nflaky; i++)
        if (strcmp(ts->flaky[i].key, key) == 0)
            return &ts->flaky[i].calls;
    if (ts->nflaky == FLAKY_KEYS)
        return NULL;
    snprintf(ts->flaky[ts->nflaky].key, sizeof ts->flaky[ts->nflaky].key, "%s", key);
    ts->flaky[ts->nflaky].calls = 0;
    return &ts->flaky[ts->nflaky++].calls;
}

static int test_task(const char *resource, const cJSON *params, void *ud, cJSON **result,
                     asl_err_t *err)
{
    task_state_t *ts = ud;
    *result = NULL;
    if (strcmp(resource, "tc:test:echo") == 0) {
        *result = cJSON_Duplicate(params, true);
        return *result ? TC_OK : TC_ENOMEM;
    }
    if (strcmp(resource, "tc:test:fail") == 0) {
        asl_err_set(err, str_field(params, "error", "Test.Failed"), "%s",
                    str_field(params, "cause", ""));
        return TC_ERROR;
    }
    if (strcmp(resource, "tc:test:flaky") == 0) {
        const cJSON *t =
            cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "times") : NULL;
        int times = cJSON_IsNumber(t) ? (int)t->valuedouble : 0;
        int *calls = flaky_counter(ts, params);
        if (!calls) {
            asl_err_set(err, "Test.TooManyFlakyStates", "more than %d flaky states", FLAKY_KEYS);
            return TC_ERROR;
        }
        int n = ++*calls;
        if (n <= times) {
            asl_err_set(err, "Test.Flaky", "attempt %d", n);
            return TC_ERROR;
        }
        *result = cJSON_CreateObject();
        if (!*result || !cJSON_AddNumberToObject(*result, "attempts", n)) {
            cJSON_Delete(*result);
            *result = NULL;
            return TC_ENOMEM;
        }
        return TC_OK;
    }
    if (strcmp(resource, "tc:test:add") == 0) {
        const cJSON *a =
            cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "a") : NULL;
        const cJSON *b =
            cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "b") : NULL;
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b)) {
            asl_err_set(err, "Test.BadArguments", "tc:test:add takes numbers a and b");
            return TC_ERROR;
        }
        *result = cJSON_CreateNumber(a->valuedouble + b->valuedouble);
        return *result ? TC_OK : TC_ENOMEM;
    }
    asl_err_set(err, "Test.UnknownResource", "%s", resource);
    return TC_ERROR;
}

/* ------------------------------------------------------------------ comparing */

static bool json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (cJSON_IsBool(a) || cJSON_IsBool(b))
        return cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b);
    if (cJSON_IsNumber(a) || cJSON_IsNumber(b))
        return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) || cJSON_IsString(b))
        return cJSON_IsString(a) && cJSON_IsString(b) &&
               strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsNull(a) || cJSON_IsNull(b))
        return cJSON_IsNull(a) && cJSON_IsNull(b);
    if (cJSON_IsArray(a) || cJSON_IsArray(b)) {
        if (!cJSON_IsArray(a) || !cJSON_IsArray(b) ||
            cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        for (const cJSON *x = a->child, *y = b->child; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return false;
        return true;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        const cJSON *x;
        cJSON_ArrayForEach(x, a)
        {
            if (!json_equal(x, cJSON_GetObjectItemCaseSensitive(b, x->string)))
                return false;
        }
        return true;
    }
    return false;
}

/* text of v for a message (at most 1000 bytes) */
static void show(const cJSON *v, char *buf, size_t n)
{
    char *p = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, n, "%.1000s%s", p ? p : "(none)", p && strlen(p) > 1000 ? "..." : "");
    cJSON_free(p);
}

/* Runs one case; answers true when asl_run gives what it expects, else false with msg. */
static bool run_case(const char *file, char *msg, size_t n)
{
    char dirbuf[4096], path[4400];
    snprintf(path, sizeof path, "%s/%s", corpus_dir(dirbuf, sizeof dirbuf), file);
    cJSON *doc = read_json(path);
    if (!doc) {
        snprintf(msg, n, "%.1000s: cannot read or parse it as JSON", path);
        return false;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(doc, "input");
    const cJSON *expected = cJSON_GetObjectItemCaseSensitive(doc, "expected");
    const cJSON *exp_out = cJSON_GetObjectItemCaseSensitive(expected, "output");
    const cJSON *exp_err = cJSON_GetObjectItemCaseSensitive(expected, "error");
    const cJSON *exp_cause = cJSON_GetObjectItemCaseSensitive(expected, "cause");
    if (!cJSON_IsString(name) || !cJSON_IsObject(def) || !input || (!exp_out && !exp_err)) {
        snprintf(msg, n, "%s: not a corpus case (name, definition, input, expected)", file);
        cJSON_Delete(doc);
        return false;
    }

    task_state_t ts;
    memset(&ts, 0, sizeof ts);
    asl_err_t err;
    memset(&err, 0, sizeof err);
    cJSON *output = NULL;
    int rc = asl_run(def, input, name->valuestring, test_task, &ts, STEPS_MAX, &output, &err);

    bool ok;
    char want[1100], got[1100];
    if (rc == TC_OK) {
        ok = exp_out && json_equal(exp_out, output);
        show(output, got, sizeof got);
    } else if (rc == TC_ERROR) {
        const char *cause = err.cause ? err.cause : "";
        ok = exp_err && cJSON_IsString(exp_err) && strcmp(exp_err->valuestring, err.error) == 0 &&
             (!cJSON_IsString(exp_cause) || strcmp(exp_cause->valuestring, cause) == 0);
        snprintf(got, sizeof got, "error %s, cause \"%.900s\"", err.error, cause);
    } else {
        ok = false;
        snprintf(got, sizeof got, "asl_run answered %d", rc);
    }
    if (!ok) {
        show(expected, want, sizeof want);
        snprintf(msg, n, "%s: expected %s, asl_run gave %s", file, want, got);
    }
    cJSON_Delete(output);
    asl_err_clear(&err);
    cJSON_Delete(doc);
    return ok;
}

/* ------------------------------------------------------------------ the tests */

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(asl_corpus, run)
{
    corpus_case_t *params = NULL;
    size_t n = list_cases(&params, true);
    if (n == 0) {
        /* one placeholder, so that the test runs and says the corpus is missing */
        params = cr_malloc(sizeof *params);
        if (params)
            params[0].file[0] = '\0';
        n = params ? 1 : 0;
    }
    return cr_make_param_array(corpus_case_t, params, n, free_params);
}

ParameterizedTest(corpus_case_t *c, asl_corpus, run)
{
    char dirbuf[4096];
    cr_assert(c->file[0], "no corpus case found in %s (set TC_ASL_CORPUS)",
              corpus_dir(dirbuf, sizeof dirbuf));
    char msg[MSG_MAX];
    bool ok = run_case(c->file, msg, sizeof msg);
    cr_assert(ok, "%s", msg);
}

Test(asl_corpus, has_enough_cases)
{
    corpus_case_t *cases = NULL;
    size_t n = list_cases(&cases, false);
    free(cases);
    char dirbuf[4096];
    cr_assert_geq(n, (size_t)MIN_CASES, "%zu cases in %s, the corpus needs %d", n,
                  corpus_dir(dirbuf, sizeof dirbuf), MIN_CASES);
}
