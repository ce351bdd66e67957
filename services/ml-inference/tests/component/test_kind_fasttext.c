/*
 * Component test of the "fasttext" kind on the built text-classifier-v2 (make models):
 * the C normalisation gives the recipe's tokens on every held-out email, the C reader of the
 * .bin gives fastText's own answers (predict-prob, stored by the recipe) on every one of them,
 * and both versions keep their held-out quality. Models come from $ML_MODELS_DIR (default
 * build/models, relative to the repository root).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fasttext_model.h"
#include "ml_kind.h"
#include "tc/tc_core.h"

#define MODEL "text-classifier-v2"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s is missing: build the models first (make models)", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_geq(n, 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void version_path(char *out, size_t size, const char *version, const char *file)
{
    const char *root = getenv("ML_MODELS_DIR");
    snprintf(out, size, "%s/" MODEL "/%s%s%s", root && *root ? root : "build/models", version,
             file ? "/" : "", file ? file : "");
}

/* The lines of a JSONL file, parsed; *n of them. */
static cJSON **read_jsonl(const char *version, const char *file, size_t *n)
{
    char path[4096];
    size_t len, cap = 4096;
    version_path(path, sizeof path, version, file);
    char *text = read_all(path, &len);
    cJSON **rows = malloc(cap * sizeof *rows);
    cr_assert_not_null(rows);
    *n = 0;
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        if (*n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            cr_assert_not_null(rows);
        }
        rows[*n] = cJSON_ParseWithLength(line, l);
        cr_assert_not_null(rows[*n], "%s: line %zu is not JSON", path, *n + 1);
        (*n)++;
        line += l + 1;
    }
    free(text);
    return rows;
}

static void free_rows(cJSON **rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(rows[i]);
    free(rows);
}

static void *load_version(const char *version)
{
    char path[4096];
    size_t len;
    version_path(path, sizeof path, version, "card.json");
    char *text = read_all(path, &len);
    cJSON *card = cJSON_Parse(text);
    cr_assert_not_null(card, "%s is not JSON", path);
    cr_assert_str_eq(cJSON_GetObjectItem(card, "kind")->valuestring, "fasttext");
    version_path(path, sizeof path, version, NULL);
    void *model = NULL;
    cr_assert_eq(ml_kind_fasttext.load(path, cJSON_GetObjectItem(card, "params"), &model), TC_OK,
                 "cannot load %s", path);
    cJSON_Delete(card);
    free(text);
    return model;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    cr_assert(cJSON_IsString(v), "no string \"%s\"", name);
    return v->valuestring;
}

static double score_of(const cJSON *answer, const char *label)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(answer, "labels"))
    {
        if (strcmp(str(item, "label"), label) == 0)
            return cJSON_GetObjectItem(item, "score")->valuedouble;
    }
    cr_assert_fail("label %s missing from the answer", label);
    return -1;
}

Test(fasttext_peer, c_normalisation_gives_the_recipes_tokens)
{
    size_t n;
    cJSON **held = read_jsonl("2.0.0", "eval/heldout.jsonl", &n);
    cr_assert_gt(n, 2000);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        const char *raw = str(held[i], "text"), *want = str(held[i], "norm");
        char *got = NULL;
        size_t len = 0;
        cr_assert_eq(ft_normalise(raw, strlen(raw), &got, &len), TC_OK);
        if (strcmp(got, want) != 0 && differ++ == 0)
            cr_log_error("first difference: %s %s", str(held[i], "group"), str(held[i], "id"));
        free(got);
    }
    cr_assert_eq(differ, 0, "%zu of %zu held-out emails normalise differently in C", differ, n);
    free_rows(held, n);
}

/* Agreement with fastText and quality floors for one version. */
static void check_version(const char *version, double min_accuracy, double min_precision,
                          double min_recall)
{
    size_t n, np;
    cJSON **held = read_jsonl(version, "eval/heldout.jsonl", &n);
    cJSON **peer = read_jsonl(version, "eval/peer.jsonl", &np);
    cr_assert_eq(n, np, "%s: %zu held-out emails, %zu peer answers", version, n, np);
    void *model = load_version(version);
    size_t same = 0, close = 0, right = 0, tp = 0, fp = 0, fn = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(str(held[i], "id"), str(peer[i], "id"));
        const char *raw = str(held[i], "text"), *gold = str(held[i], "label");
        cJSON *answer = NULL;
        cr_assert_eq(ml_kind_fasttext.predict(model, raw, strlen(raw), NULL, &answer), TC_OK);
        const char *label = str(answer, "label");
        same += strcmp(label, str(peer[i], "label")) == 0;
        /* predict-prob prints p + 1e-5 to 6 significant digits */
        double d = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(peer[i], "probs"))
        {
            d = fmax(d, fabs(score_of(answer, p->string) - p->valuedouble));
        }
        worst = fmax(worst, d);
        close += d <= 1e-4;
        right += strcmp(label, gold) == 0;
        tp += strcmp(label, "spam") == 0 && strcmp(gold, "spam") == 0;
        fp += strcmp(label, "spam") == 0 && strcmp(gold, "ham") == 0;
        fn += strcmp(label, "ham") == 0 && strcmp(gold, "spam") == 0;
        cJSON_Delete(answer);
    }
    double accuracy = (double)right / (double)n, precision = (double)tp / (double)(tp + fp),
           recall = (double)tp / (double)(tp + fn);
    cr_log_info("%s: %zu emails, same label %zu, probabilities within 1e-4 %zu (worst %.2g), "
                "accuracy %.4f, spam precision %.4f, recall %.4f",
                version, n, same, close, worst, accuracy, precision, recall);
    cr_assert_eq(same, n, "%s: C and fastText disagree on %zu of %zu labels", version, n - same, n);
    cr_assert_eq(close, n, "%s: %zu probabilities further than 1e-4 from fastText (worst %g)",
                 version, n - close, worst);
    cr_assert_geq(accuracy, min_accuracy, "%s: accuracy %.4f", version, accuracy);
    cr_assert_geq(precision, min_precision, "%s: spam precision %.4f", version, precision);
    cr_assert_geq(recall, min_recall, "%s: spam recall %.4f", version, recall);
    ml_kind_fasttext.free(model);
    free_rows(held, n);
    free_rows(peer, np);
}

/* measured at build: accuracy 0.9399, spam precision 0.9920, recall 0.8868 */
Test(fasttext_peer, unigrams_2_0_0_match_fasttext_and_keep_quality, .timeout = 120)
{
    check_version("2.0.0", 0.93, 0.98, 0.87);
}

/* measured at build: accuracy 0.9428, spam precision 0.9913, recall 0.8933 */
Test(fasttext_peer, bigrams_and_subwords_2_1_0_match_fasttext_and_keep_quality, .timeout = 120)
{
    check_version("2.1.0", 0.93, 0.98, 0.875);
}

Test(fasttext_peer, answer_lists_labels_by_score_and_honours_top_k)
{
    void *model = load_version("2.0.0");
    const char *spam = "Subject: FREE money!!!\n\nClick here to claim your FREE prize, "
                       "limited time offer, act now! Unsubscribe: reply REMOVE.";
    cJSON *all = NULL, *one = NULL, *opts = cJSON_Parse("{\"top_k\":1}");
    cr_assert_eq(ml_kind_fasttext.predict(model, spam, strlen(spam), NULL, &all), TC_OK);
    cr_assert_str_eq(str(all, "label"), "spam");
    const cJSON *labels = cJSON_GetObjectItem(all, "labels");
    cr_assert_eq(cJSON_GetArraySize(labels), 2);
    double p0 = cJSON_GetObjectItem(cJSON_GetArrayItem(labels, 0), "score")->valuedouble;
    double p1 = cJSON_GetObjectItem(cJSON_GetArrayItem(labels, 1), "score")->valuedouble;
    cr_assert_geq(p0, p1);
    cr_assert_float_eq(p0 + p1, 1.0, 1e-5);
    cr_assert_float_eq(cJSON_GetObjectItem(all, "score")->valuedouble, p0, 1e-12);
    cr_assert_eq(ml_kind_fasttext.predict(model, spam, strlen(spam), opts, &one), TC_OK);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(one, "labels")), 1);
    cr_assert(ml_kind_fasttext.agree(all, one));
    cJSON_Delete(all);
    cJSON_Delete(one);
    cJSON_Delete(opts);
    ml_kind_fasttext.free(model);
}

Test(fasttext_peer, options_are_checked)
{
    char err[128];
    const char *good[] = {"{}", "{\"top_k\":1}", "{\"top_k\":2}"};
    const char *bad[] = {"{\"top_k\":0}", "{\"top_k\":1.5}", "{\"top_k\":\"1\"}", "{\"k\":1}",
                         "[1]"};
    cr_assert(ml_kind_fasttext.options_valid(NULL, err, sizeof err));
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        cJSON *o = cJSON_Parse(good[i]);
        cr_assert(ml_kind_fasttext.options_valid(o, err, sizeof err), "%s refused", good[i]);
        cJSON_Delete(o);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *o = cJSON_Parse(bad[i]);
        err[0] = '\0';
        cr_assert_not(ml_kind_fasttext.options_valid(o, err, sizeof err), "%s accepted", bad[i]);
        cr_assert_neq(err[0], '\0');
        cJSON_Delete(o);
    }
}

Test(fasttext_peer, agree_compares_top_labels)
{
    cJSON *a = cJSON_Parse("{\"label\":\"spam\",\"score\":0.9}");
    cJSON *b = cJSON_Parse("{\"label\":\"spam\",\"score\":0.6}");
    cJSON *c = cJSON_Parse("{\"label\":\"ham\",\"score\":0.7}");
    cr_assert(ml_kind_fasttext.agree(a, b));
    cr_assert_not(ml_kind_fasttext.agree(a, c));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}
