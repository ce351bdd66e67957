/* Component test of sentiment-v3 (kind "vader") on the BUILT model ($ML_MODELS_DIR, default
 * build/models, made by `make models`): loads it through ml_kind_vader as the registry does and
 * checks
 *   1. agreement with the JS package vader-sentiment@1.1.3 on every text of eval/peer.jsonl
 *      (the package's answers stored by the recipe): same label, compound within 1e-4 and the
 *      proportions within 1e-3, on every one;
 *   2. accuracy floors on the 3,000 labelled held-out sentences (eval/heldout.jsonl), and that
 *      the card's figures are what the C port measures. (Latency is measured by `make bench`,
 *      never asserted in a test.) */
#include <criterion/criterion.h>

#include "modelkit.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ml_kind.h"
#include "tc/tc_core.h"
#include "vader_model.h"

#define MODEL   "sentiment-v3"
#define VERSION "3.0.0"

static char vdir[1024];
static cJSON *card;
static void *model;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static void setup(void)
{
    mk_version_dir(MODEL, VERSION, vdir, sizeof vdir);
    char path[1100];
    snprintf(path, sizeof path, "%s/card.json", vdir);
    char *text = slurp(path);
    if (!text)
        cr_assert_fail("%s is missing: build the model first (make models, or bash "
                       "services/ml-inference/models/" MODEL "/build.sh build/models/src "
                       "build/models/" MODEL ")",
                       path);
    card = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(card, "%s is not JSON", path);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(card, "kind")), "vader");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(card, "version")), VERSION);
    int rc = ml_kind_vader.load(vdir, cJSON_GetObjectItem(card, "params"), &model);
    cr_assert_eq(rc, TC_OK, "ml_kind_vader.load(%s) failed: %s", vdir, tc_strerror(rc));
}

static void teardown(void)
{
    if (model)
        ml_kind_vader.free(model);
    cJSON_Delete(card);
}

TestSuite(vader_peer, .init = setup, .fini = teardown, .timeout = 120);

static size_t each_line(const char *name, void (*fn)(const cJSON *row, void *arg), void *arg)
{
    return mk_each_line(vdir, name, fn, arg);
}

static cJSON *predict(const char *text)
{
    char err[128] = "";
    cr_assert(ml_kind_vader.options_valid(NULL, err, sizeof err));
    cJSON *out = NULL;
    cr_assert_eq(ml_kind_vader.predict(model, text, strlen(text), NULL, &out), TC_OK);
    cr_assert_not_null(out);
    return out;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    cr_assert(cJSON_IsNumber(v), "no number %s", name);
    return v->valuedouble;
}

typedef struct {
    size_t differ, exact;
} peer_t;

static void compare_with_peer(const cJSON *row, void *arg)
{
    peer_t *p = arg;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(row, "text"));
    cr_assert_not_null(text);
    cJSON *out = predict(text);
    const cJSON *scores = cJSON_GetObjectItem(out, "scores");
    double c = num(out, "compound"), pos = num(scores, "pos"), neu = num(scores, "neu"),
           neg = num(scores, "neg");
    const char *label = cJSON_GetStringValue(cJSON_GetObjectItem(out, "label"));
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(row, "label"));
    bool same = strcmp(label, want) == 0 && fabs(c - num(row, "compound")) <= 1e-4 &&
                fabs(pos - num(row, "pos")) <= 1e-3 && fabs(neu - num(row, "neu")) <= 1e-3 &&
                fabs(neg - num(row, "neg")) <= 1e-3;
    if (!same && p->differ++ < 10)
        cr_log_error("differs from JS on %s %s: C %s %.4f %.3f/%.3f/%.3f, JS %s %.4f "
                     "%.3f/%.3f/%.3f",
                     cJSON_GetStringValue(cJSON_GetObjectItem(row, "id")), text, label, c, pos, neu,
                     neg, want, num(row, "compound"), num(row, "pos"), num(row, "neu"),
                     num(row, "neg"));
    p->exact += c == num(row, "compound") && pos == num(row, "pos") && neu == num(row, "neu") &&
                neg == num(row, "neg");
    cJSON_Delete(out);
}

Test(vader_peer, agrees_with_the_js_package_on_every_text)
{
    peer_t p = {0};
    size_t n = each_line("peer.jsonl", compare_with_peer, &p);
    cr_log_info("peer: %zu texts, %zu differ, %zu bit-identical", n, p.differ, p.exact);
    cr_assert_geq(n, 6000, "eval/peer.jsonl has only %zu texts", n);
    cr_assert_eq(p.differ, 0, "%zu of %zu texts differ from the JS package", p.differ, n);
    cr_assert_eq(p.exact, n, "%zu of %zu answers are not bit-identical", n - p.exact, n);
}

enum { IMDB, AMAZON, YELP, NSETS };
static const char *const SETS[NSETS] = {"imdb", "amazon", "yelp"};

typedef struct {
    size_t n[NSETS], right[NSETS];
} acc_t;

static void score_heldout(const cJSON *row, void *arg)
{
    acc_t *a = arg;
    const char *set = cJSON_GetStringValue(cJSON_GetObjectItem(row, "set"));
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(row, "label"));
    cr_assert(set && want);
    size_t s = 0;
    while (s < NSETS && strcmp(set, SETS[s]) != 0)
        s++;
    cr_assert_lt(s, NSETS, "unknown set %s", set);
    cJSON *out = predict(cJSON_GetStringValue(cJSON_GetObjectItem(row, "text")));
    a->n[s]++;
    a->right[s] += strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(out, "label")), want) == 0;
    cJSON_Delete(out);
}

static double card_figure(const char *set)
{
    const cJSON *q = cJSON_GetObjectItem(card, "quality");
    if (set)
        q = cJSON_GetObjectItem(q, set);
    return num(q, "accuracy");
}

Test(vader_peer, heldout_accuracy_floors)
{
    /* measured at build: imdb 0.687, amazon 0.672, yelp 0.637, overall 0.6653 (a neutral
     * answer counts as wrong) */
    static const double floor_of[NSETS] = {0.67, 0.655, 0.62};
    acc_t a = {0};
    each_line("heldout.jsonl", score_heldout, &a);
    size_t n = 0, right = 0;
    for (size_t s = 0; s < NSETS; s++) {
        double acc = (double)a.right[s] / (double)a.n[s];
        cr_log_info("accuracy %s: %.4f (%zu/%zu)", SETS[s], acc, a.right[s], a.n[s]);
        cr_expect_eq(a.n[s], 1000, "%s: %zu sentences", SETS[s], a.n[s]);
        cr_expect_geq(acc, floor_of[s], "%s accuracy %.4f under its floor %.2f", SETS[s], acc,
                      floor_of[s]);
        cr_expect_leq(fabs(acc - card_figure(SETS[s])), 5e-5, "card says %s %.4f, C measures %.4f",
                      SETS[s], card_figure(SETS[s]), acc);
        n += a.n[s];
        right += a.right[s];
    }
    double acc = (double)right / (double)n;
    cr_log_info("accuracy overall: %.4f (%zu/%zu)", acc, right, n);
    cr_expect_geq(acc, 0.65, "overall accuracy %.4f under its floor 0.65", acc);
    cr_expect_leq(fabs(acc - card_figure(NULL)), 5e-5, "card says %.4f, C measures %.4f",
                  card_figure(NULL), acc);
}

Test(vader_peer, options_and_agreement)
{
    char err[128] = "";
    cJSON *empty = cJSON_CreateObject(), *opt = cJSON_Parse("{\"lang\":\"en\"}");
    cr_assert(ml_kind_vader.options_valid(empty, err, sizeof err));
    cr_assert_not(ml_kind_vader.options_valid(opt, err, sizeof err));
    cr_assert_neq(err[0], '\0');
    cJSON *a = predict("The food was great!"), *b = predict("Great food, great place!"),
          *c = predict("The food was awful.");
    cr_assert(ml_kind_vader.agree(a, b));
    cr_assert_not(ml_kind_vader.agree(a, c));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "label")), "negative");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(empty);
    cJSON_Delete(opt);
}
