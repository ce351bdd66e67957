/*
 * registry.c: loading the built model versions and choosing which one answers.
 */
#include "registry.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The kinds this build serves (kinds.c). */
extern const ml_kind_t *const ml_kinds[];
extern const int ml_nkinds;

static const ml_kind_t *kind_find(const char *name)
{
    for (int i = 0; name && i < ml_nkinds; i++)
        if (strcmp(ml_kinds[i]->name, name) == 0)
            return ml_kinds[i];
    return NULL;
}

/* dir/name into out; false when it does not fit. */
static bool path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return n > 0 && (size_t)n < outlen;
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    bool whole = buf && feof(f) && !ferror(f);
    fclose(f);
    if (!whole) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Numeric order of dotted versions ("2.10.0" after "2.9.1"). */
static int version_cmp(const char *a, const char *b)
{
    for (;;) {
        char *ea, *eb;
        unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*ea != '.' || *eb != '.')
            return strcmp(ea, eb);
        a = ea + 1;
        b = eb + 1;
    }
}

static int by_version(const void *a, const void *b)
{
    return version_cmp(((const ml_version_t *)a)->version, ((const ml_version_t *)b)->version);
}

static void version_free(ml_version_t *v)
{
    if (v->model && v->kind)
        v->kind->free(v->model);
    cJSON_Delete(v->card);
    free(v->version);
    memset(v, 0, sizeof *v);
}

/* Loads <vdir>/card.json and the version it describes into v. */
static int version_load(const char *vdir, const char *model_name, ml_version_t *v)
{
    char path[4200];
    char *text = path_join(path, sizeof path, vdir, "card.json") ? read_file(path, 1 << 20) : NULL;
    int rc = TC_EINVAL;
    if (!text) {
        tc_log_kv(TC_LOG_ERROR, "model card unreadable", "path", path, NULL);
        return TC_EINVAL;
    }
    v->card = cJSON_Parse(text);
    free(text);
    const char *model = tc_json_get_str(v->card, "model");
    const char *version = tc_json_get_str(v->card, "version");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(v->card, "max_chars");
    v->kind = kind_find(tc_json_get_str(v->card, "kind"));
    if (!v->card || !model || strcmp(model, model_name) != 0 || !version || !*version || !v->kind ||
        !cJSON_IsNumber(max) || max->valuedouble < 1 || max->valuedouble > 1e7) {
        tc_log_kv(TC_LOG_ERROR, "model card invalid (model, version, kind, max_chars)", "path",
                  path, NULL);
        goto cleanup;
    }
    v->version = strdup(version);
    v->max_chars = (int)max->valuedouble;
    v->card_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v->card, "default"));
    if (!v->version) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    int64_t t0 = tc_mono_ms();
    rc = v->kind->load(vdir, cJSON_GetObjectItemCaseSensitive(v->card, "params"), &v->model);
    v->load_ms = tc_mono_ms() - t0;
    if (rc != TC_OK) {
        v->model = NULL;
        tc_log_kv(TC_LOG_ERROR, "model version failed to load", "path", vdir, NULL);
    }
cleanup:
    if (rc != TC_OK)
        version_free(v);
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The subdirectory names of dir that do not start with a dot, sorted. */
static int list_dirs(const char *dir, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return TC_ENOTFOUND;
    struct dirent *e;
    int rc = TC_OK;
    while ((e = readdir(d))) {
        char path[4096];
        if (e->d_name[0] == '.' || !path_join(path, sizeof path, dir, e->d_name) || !is_dir(path))
            continue;
        char **grown = realloc(*out, sizeof **out * (size_t)(*n + 1));
        char *name = strdup(e->d_name);
        if (!grown || !name) {
            free(name);
            if (grown)
                *out = grown;
            rc = TC_ENOMEM;
            break;
        }
        *out = grown;
        (*out)[(*n)++] = name;
    }
    closedir(d);
    return rc;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void model_init(ml_model_t *m, const ml_gate_opts_t *gate)
{
    int def = m->nversions - 1;
    for (int i = 0; i < m->nversions; i++)
        if (m->versions[i].card_default)
            def = i;
    m->built_default = def;
    atomic_init(&m->def, def);
    atomic_init(&m->shadow, -1);
    atomic_init(&m->shadow_percent, 0);
    const char *task = tc_json_get_str(m->versions[def].card, "task");
    m->task = strdup(task ? task : "");
    ml_gate_init(&m->gate, gate);
    m->gate_ready = true;
}

/* Loads the versions under <dir>/<name>; a directory with no card is not a model. */
static int model_load(const char *dir, const char *name, ml_model_t *m, const ml_gate_opts_t *gate)
{
    char mdir[4096];
    char **names;
    int n, rc = path_join(mdir, sizeof mdir, dir, name) ? list_dirs(mdir, &names, &n) : TC_EINVAL;
    if (rc != TC_OK)
        return rc;
    m->versions = calloc((size_t)(n ? n : 1), sizeof *m->versions);
    if (!m->versions)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        char vdir[4200], card[4300];
        struct stat st;
        if (!path_join(vdir, sizeof vdir, mdir, names[i]) ||
            !path_join(card, sizeof card, vdir, "card.json") || stat(card, &st) != 0)
            continue; /* eval data and the like */
        rc = version_load(vdir, name, &m->versions[m->nversions]);
        if (rc == TC_OK)
            m->nversions++;
    }
    free_names(names, n);
    for (int i = 1; rc == TC_OK && i < m->nversions; i++)
        if (m->versions[i].kind != m->versions[0].kind) {
            /* a request's options and a shadow's comparison are the kind's: one per model */
            tc_log_kv(TC_LOG_ERROR, "the versions of a model are of different kinds", "model", name,
                      NULL);
            rc = TC_EINVAL;
        }
    if (rc == TC_OK && m->nversions > 0) {
        qsort(m->versions, (size_t)m->nversions, sizeof *m->versions, by_version);
        m->name = strdup(name);
        model_init(m, gate);
        if (!m->name || !m->task)
            rc = TC_ENOMEM;
    }
    return rc;
}

static void model_free(ml_model_t *m)
{
    for (int v = 0; v < m->nversions; v++)
        version_free(&m->versions[v]);
    free(m->versions);
    free(m->name);
    free(m->task);
    if (m->gate_ready)
        ml_gate_destroy(&m->gate);
    memset(m, 0, sizeof *m);
}

int ml_registry_load(ml_registry_t *reg, const char *dir, const ml_gate_opts_t *gate)
{
    memset(reg, 0, sizeof *reg);
    int64_t t0 = tc_mono_ms();
    char **names;
    int n, rc = list_dirs(dir, &names, &n);
    if (rc == TC_ENOTFOUND) {
        tc_log_kv(TC_LOG_ERROR, "models directory missing (make models builds it)", "dir", dir,
                  NULL);
        return TC_EINVAL;
    }
    if (rc != TC_OK)
        return rc;
    reg->models = calloc((size_t)(n ? n : 1), sizeof *reg->models);
    if (!reg->models)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        if (strcmp(names[i], "src") == 0 || strcmp(names[i], "npm") == 0)
            continue; /* make models' unpacked data */
        ml_model_t *m = &reg->models[reg->nmodels];
        rc = model_load(dir, names[i], m, gate);
        if (rc == TC_OK && m->nversions > 0) {
            reg->nmodels++;
            continue;
        }
        model_free(m);
    }
    free_names(names, n);
    reg->load_ms = tc_mono_ms() - t0;
    if (rc != TC_OK)
        ml_registry_free(reg);
    return rc;
}

void ml_registry_free(ml_registry_t *reg)
{
    for (int i = 0; i < reg->nmodels; i++)
        model_free(&reg->models[i]);
    free(reg->models);
    memset(reg, 0, sizeof *reg);
}

/* Seed 004 section 3.5's latency budgets and prices per 1,000 inputs; this service's
 * target is a tenth of each budget (DESIGN section 9). */
static const ml_budget_t budgets[] = {
    {"text-classifier-v2", 50, 5, 0.10}, {"sentiment-v3", 30, 3, 0.05},  {"ner-v2", 80, 8, 0.15},
    {"summarizer-v1", 500, 50, 0.50},    {"embeddings-v2", 20, 2, 0.02},
};

const ml_budget_t *ml_budget_of(const char *model)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(budgets); i++)
        if (strcmp(budgets[i].model, model) == 0)
            return &budgets[i];
    return NULL;
}

ml_model_t *ml_registry_find(ml_registry_t *reg, const char *name)
{
    for (int i = 0; name && i < reg->nmodels; i++)
        if (strcmp(reg->models[i].name, name) == 0)
            return &reg->models[i];
    return NULL;
}

int ml_model_version_index(const ml_model_t *m, const char *version)
{
    for (int i = 0; version && i < m->nversions; i++)
        if (strcmp(m->versions[i].version, version) == 0)
            return i;
    return -1;
}

int ml_model_set_default(ml_model_t *m, const char *version)
{
    int i = ml_model_version_index(m, version);
    if (i < 0)
        return TC_ENOTFOUND;
    atomic_store(&m->def, i);
    if (atomic_load(&m->shadow) == i)
        atomic_store(&m->shadow, -1);
    return TC_OK;
}

int ml_model_set_shadow(ml_model_t *m, const char *version, int percent)
{
    if (!version) {
        atomic_store(&m->shadow, -1);
        return TC_OK;
    }
    int i = ml_model_version_index(m, version);
    if (i < 0)
        return TC_ENOTFOUND;
    if (i == atomic_load(&m->def) || percent < 1 || percent > 100)
        return TC_EINVAL;
    if (atomic_exchange(&m->shadow, i) != i) {
        atomic_store(&m->shadow_compared, 0);
        atomic_store(&m->shadow_agreed, 0);
        atomic_store(&m->shadow_dropped, 0);
    }
    atomic_store(&m->shadow_percent, percent);
    return TC_OK;
}

/* Copies the card's descriptive members into o. */
static void add_card(cJSON *o, const cJSON *card, const char *const *keys)
{
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(card, keys[i]);
        if (v)
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
    }
}

static cJSON *version_json(const ml_version_t *v, bool full)
{
    static const char *const summary[] = {"labels", "options", "quality", NULL};
    static const char *const more[] = {"data", "licence", "build", "peer", "latency", NULL};
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "version", v->version);
    tc_json_add_str(o, "kind", v->kind->name);
    tc_json_add_int(o, "max_chars", v->max_chars);
    add_card(o, v->card, summary);
    if (full) {
        add_card(o, v->card, more);
        tc_json_add_int(o, "load_ms", v->load_ms);
    }
    return o;
}

cJSON *ml_model_json(const ml_model_t *m, bool full)
{
    int def = atomic_load(&m->def), shadow = atomic_load(&m->shadow);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "name", m->name);
    tc_json_add_str(o, "task", m->task);
    tc_json_add_str(o, "default_version", m->versions[def].version);
    const ml_budget_t *b = ml_budget_of(m->name);
    if (b) {
        cJSON *l = cJSON_AddObjectToObject(o, "latency");
        tc_json_add_int(l, "seed_budget_p99_ms", b->seed_p99_ms);
        cJSON_AddNumberToObject(l, "target_p99_ms", b->target_p99_ms);
        cJSON_AddNumberToObject(l, "price_per_1k_usd", b->price_per_1k);
    }
    cJSON *versions = cJSON_AddArrayToObject(o, "versions");
    for (int i = 0; versions && i < m->nversions; i++)
        cJSON_AddItemToArray(versions, version_json(&m->versions[i], full));
    if (shadow < 0) {
        cJSON_AddNullToObject(o, "shadow");
        return o;
    }
    cJSON *s = cJSON_AddObjectToObject(o, "shadow");
    uint64_t compared = atomic_load(&m->shadow_compared), agreed = atomic_load(&m->shadow_agreed);
    tc_json_add_str(s, "version", m->versions[shadow].version);
    tc_json_add_int(s, "percent", atomic_load(&m->shadow_percent));
    tc_json_add_int(s, "compared", (int64_t)compared);
    tc_json_add_int(s, "agreed", (int64_t)agreed);
    tc_json_add_int(s, "dropped", (int64_t)atomic_load(&m->shadow_dropped));
    if (compared)
        cJSON_AddNumberToObject(s, "agreement", (double)agreed / (double)compared);
    else
        cJSON_AddNullToObject(s, "agreement");
    return o;
}
