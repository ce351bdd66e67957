/* The registry's rules without model files: a directory of cards that do not load is refused,
 * an empty one loads nothing, and a model's default and shadow switch as the API promises. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

static ml_version_t versions[3];
static ml_model_t model;

static void setup(void)
{
    tc_log_init("test", "error");
    const char *names[] = {"2.0.0", "2.1.0", "2.10.0"};
    for (int i = 0; i < 3; i++)
        versions[i] = (ml_version_t){.version = (char *)names[i],
                                     .kind = &ml_kind_vader,
                                     .card = cJSON_Parse("{\"quality\":{\"eval_set\":\"x\"}}"),
                                     .max_chars = 10};
    model = (ml_model_t){.name = "text-classifier-v2",
                         .task = "classification",
                         .versions = versions,
                         .nversions = 3};
    atomic_init(&model.def, 0);
    atomic_init(&model.shadow, -1);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        cJSON_Delete(versions[i].card);
}

TestSuite(model, .init = setup, .fini = teardown);

Test(model, default_switches_to_a_loaded_version_only)
{
    cr_assert_eq(ml_model_set_default(&model, "2.10.0"), TC_OK);
    cr_assert_eq(atomic_load(&model.def), 2);
    cr_assert_eq(ml_model_set_default(&model, "3.0.0"), TC_ENOTFOUND);
    cr_assert_eq(atomic_load(&model.def), 2, "a refused switch changes nothing");
    cr_assert_eq(ml_model_version_index(&model, "2.1.0"), 1);
    cr_assert_eq(ml_model_version_index(&model, NULL), -1);
}

Test(model, shadow_is_another_version_with_a_percent_and_fresh_counters)
{
    cr_assert_eq(ml_model_set_shadow(&model, "2.0.0", 50), TC_EINVAL, "the default itself");
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 0), TC_EINVAL);
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 101), TC_EINVAL);
    cr_assert_eq(ml_model_set_shadow(&model, "9.0.0", 50), TC_ENOTFOUND);
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 25), TC_OK);
    atomic_store(&model.shadow_compared, 10);
    atomic_store(&model.shadow_agreed, 7);
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 50), TC_OK);
    cr_assert_eq(atomic_load(&model.shadow_compared), 10, "same candidate: counts go on");
    cr_assert_eq(ml_model_set_shadow(&model, "2.10.0", 50), TC_OK);
    cr_assert_eq(atomic_load(&model.shadow_compared), 0, "a new candidate starts afresh");
    cr_assert_eq(ml_model_set_default(&model, "2.10.0"), TC_OK);
    cr_assert_eq(atomic_load(&model.shadow), -1, "the new default cannot shadow itself");
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 100), TC_OK);
    cr_assert_eq(ml_model_set_shadow(&model, NULL, 0), TC_OK);
    cr_assert_eq(atomic_load(&model.shadow), -1);
}

Test(model, json_names_the_default_the_shadow_and_its_agreement)
{
    cr_assert_eq(ml_model_set_shadow(&model, "2.1.0", 40), TC_OK);
    atomic_store(&model.shadow_compared, 8);
    atomic_store(&model.shadow_agreed, 6);
    cJSON *o = ml_model_json(&model, false);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "default_version")->valuestring, "2.0.0");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "versions")), 3);
    cJSON *s = cJSON_GetObjectItem(o, "shadow");
    cr_assert_str_eq(cJSON_GetObjectItem(s, "version")->valuestring, "2.1.0");
    cr_assert_eq(cJSON_GetObjectItem(s, "percent")->valueint, 40);
    cr_assert_float_eq(cJSON_GetObjectItem(s, "agreement")->valuedouble, 0.75, 1e-9);
    cJSON *lat = cJSON_GetObjectItem(o, "latency");
    cr_assert_eq(cJSON_GetObjectItem(lat, "seed_budget_p99_ms")->valueint, 50);
    cJSON_Delete(o);
}

static char dir[64];

static void write_card(const char *model_name, const char *version, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, model_name);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/%s", dir, model_name, version);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/%s/card.json", dir, model_name, version);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_dir(void)
{
    tc_log_init("test", "error");
    snprintf(dir, sizeof dir, "/tmp/ml-registry-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(load, .init = make_dir, .fini = remove_dir);

static const ml_gate_opts_t gate = {.concurrency = 1, .queue = 1, .wait_ms = 1};

Test(load, an_empty_directory_loads_no_model_and_a_missing_one_is_refused)
{
    ml_registry_t reg;
    cr_assert_eq(ml_registry_load(&reg, dir, &gate), TC_OK);
    cr_assert_eq(reg.nmodels, 0);
    ml_registry_free(&reg);
    cr_assert_eq(ml_registry_load(&reg, "/nonexistent/models", &gate), TC_EINVAL);
}

Test(load, cards_that_do_not_describe_a_loadable_version_are_refused)
{
    const char *bad[] = {
        "not json",
        "{\"model\":\"m\",\"version\":\"1.0.0\",\"kind\":\"nope\",\"max_chars\":10}",
        "{\"model\":\"other\",\"version\":\"1.0.0\",\"kind\":\"vader\",\"max_chars\":10}",
        "{\"model\":\"m\",\"version\":\"1.0.0\",\"kind\":\"vader\"}",
        "{\"model\":\"m\",\"kind\":\"vader\",\"max_chars\":10}",
        /* a valid card whose lexicon file is missing: the kind's load fails */
        "{\"model\":\"m\",\"version\":\"1.0.0\",\"kind\":\"vader\",\"max_chars\":10}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_card("m", "1.0.0", bad[i]);
        ml_registry_t reg;
        cr_assert_neq(ml_registry_load(&reg, dir, &gate), TC_OK, "card %zu loaded", i);
    }
}
