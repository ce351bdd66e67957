/* Component test of summarizer-v1 as built by `make models` ($ML_MODELS_DIR, default
 * build/models, from the repository root): the C code with the position prior off agrees
 * with the plain TextRank peer the recipe ran (eval/peer.jsonl), the real model keeps its
 * headline-recall floors on the held-out Reuters articles (eval/heldout.jsonl) and matches the
 * lead sentence there, and answers the same from many threads (latency is `make bench`'s). A
 * missing model fails the test: the harness builds the models first. The options and agreement
 * rules of the kind are checked here too (they need no model). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ml_kind.h"
#include "tc/tc_core.h"
#include "textrank_model.h"

#define MODEL_PATH "summarizer-v1/1.0.0"

/* Measured when written: C vs peer first sentence 80/80, recall@1 0.603 (lead 0.603, plain
 * 0.473), recall@3 0.658 (lead 0.654) on the 50 test articles. */
#define MIN_PEER_FIRST    0.95
#define MIN_RECALL_1      0.58
#define MIN_RECALL_3      0.63
#define MIN_GAIN_ON_PLAIN 0.08

/* ------------------------------------------------------------------ fixtures */

static char *version_dir(void)
{
    const char *root = getenv("ML_MODELS_DIR");
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root && *root ? root : "build/models", MODEL_PATH);
    return dir;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

/* The version's file as text; fails the test (not skip) when it was not built. */
static char *must_read(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", version_dir(), name);
    char *s = slurp(path);
    if (!s)
        cr_assert_fail("summarizer-v1 is not built: cannot read %s (run `make models`, or set "
                       "ML_MODELS_DIR)",
                       path);
    return s;
}

/* A JSON-lines file as one array. */
static cJSON *must_read_jsonl(const char *name)
{
    char *text = must_read(name);
    cJSON *arr = cJSON_CreateArray();
    cr_assert_not_null(arr);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        cr_assert_not_null(o, "%s: bad line", name);
        cJSON_AddItemToArray(arr, o);
    }
    free(text);
    return arr;
}

typedef struct {
    cJSON *card, *heldout, *peer;
    void *model;             /* ml_kind_textrank's, with the card's prior */
    textrank_model_t *plain; /* the same file, called with prior 0 */
} fixture_t;

static fixture_t fx;

static void load_all(void)
{
    char *card = must_read("card.json");
    fx.card = cJSON_Parse(card);
    free(card);
    cr_assert_not_null(fx.card, "card.json is not JSON");
    cr_assert_str_eq(cJSON_GetObjectItem(fx.card, "kind")->valuestring, "textrank");
    const cJSON *params = cJSON_GetObjectItem(fx.card, "params");
    cr_assert_eq(ml_kind_textrank.load(version_dir(), params, &fx.model), TC_OK);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", version_dir(),
             cJSON_GetObjectItem(params, "file")->valuestring);
    cr_assert_eq(textrank_model_open(path, &fx.plain), TC_OK);
    fx.heldout = must_read_jsonl("eval/heldout.jsonl");
    fx.peer = must_read_jsonl("eval/peer.jsonl");
    cr_assert_eq(cJSON_GetArraySize(fx.heldout), cJSON_GetArraySize(fx.peer));
    cr_assert_gt(cJSON_GetArraySize(fx.heldout), 50);
}

static void free_all(void)
{
    if (fx.model)
        ml_kind_textrank.free(fx.model);
    textrank_model_free(fx.plain);
    cJSON_Delete(fx.card);
    cJSON_Delete(fx.heldout);
    cJSON_Delete(fx.peer);
    memset(&fx, 0, sizeof fx);
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(o, k)->valuestring;
}

static double num_of(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(o, k)->valuedouble;
}

/* The real model's answer for n sentences. */
static cJSON *predict(const char *text, int n)
{
    cJSON *opt = cJSON_CreateObject();
    cJSON_AddNumberToObject(opt, "sentences", n);
    char err[128];
    cr_assert(ml_kind_textrank.options_valid(opt, err, sizeof err));
    cJSON *out = NULL;
    cr_assert_eq(ml_kind_textrank.predict(fx.model, text, strlen(text), opt, &out), TC_OK);
    cJSON_Delete(opt);
    return out;
}

/* ------------------------------------------------------------------ headline recall */

/* Share of the headline's content words among the lowercased words of s (ASCII letters and
 * digits and non-ASCII bytes, as the recipe's tokens for this ASCII data). */
static double recall(const cJSON *words, const char *s)
{
    int n = 0, hit = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, words)
    {
        n++;
        size_t len = strlen(w->valuestring);
        for (const char *p = s; *p;) {
            while (*p && !((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p)))
                p++;
            const char *b = p;
            while (*p && ((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p)))
                p++;
            if ((size_t)(p - b) == len && strncasecmp(b, w->valuestring, len) == 0) {
                hit++;
                break;
            }
        }
    }
    return n ? (double)hit / n : 0;
}

/* The first n sentences of text, joined. */
static char *lead(const char *text, size_t n)
{
    textrank_span_t *spans = NULL;
    size_t count = 0;
    cr_assert_eq(textrank_split(text, strlen(text), &spans, &count), TC_OK);
    char *out = calloc(1, strlen(text) + 2);
    cr_assert_not_null(out);
    for (size_t i = 0; i < n && i < count; i++) {
        char *s = textrank_span_text(text, spans[i]);
        strcat(strcat(out, i ? " " : ""), s);
        free(s);
    }
    free(spans);
    return out;
}

static char *plain_summary(const char *text, size_t n)
{
    textrank_summary_t s;
    cr_assert_eq(textrank_summarize(fx.plain, text, strlen(text), n, 0, &s), TC_OK);
    char *out = calloc(1, strlen(text) + 2);
    cr_assert_not_null(out);
    for (size_t i = 0; i < s.n_picks; i++)
        strcat(strcat(out, i ? " " : ""), s.picks[i].text);
    textrank_summary_free(&s);
    return out;
}

/* Loaded in each test, not in .init: a missing model then fails the test with its message
 * rather than crashing the setup. */
TestSuite(textrank_peer, .fini = free_all, .timeout = 120);

Test(textrank_peer, c_without_prior_agrees_with_the_plain_textrank_peer)
{
    load_all();
    int n = 0, first = 0, counts = 0, top3 = 0, model_first = 0;
    for (int i = 0; i < cJSON_GetArraySize(fx.heldout); i++) {
        const cJSON *a = cJSON_GetArrayItem(fx.heldout, i), *p = cJSON_GetArrayItem(fx.peer, i);
        cr_assert_str_eq(str_of(a, "id"), str_of(p, "id"));
        const char *text = str_of(a, "text");
        const cJSON *best = cJSON_GetObjectItem(p, "best_first");
        textrank_summary_t s;
        cr_assert_eq(textrank_summarize(fx.plain, text, strlen(text), 1, 0, &s), TC_OK);
        n++;
        counts += s.sentence_count == (size_t)num_of(p, "sentence_count");
        first +=
            s.n_picks == 1 && s.picks[0].index == (size_t)cJSON_GetArrayItem(best, 0)->valueint;
        textrank_summary_free(&s);
        /* the three best as sets (the peer lists them best first, C in document order) */
        cr_assert_eq(textrank_summarize(fx.plain, text, strlen(text), 3, 0, &s), TC_OK);
        int same = 0;
        for (size_t k = 0; k < s.n_picks; k++)
            for (int j = 0; j < 3 && j < cJSON_GetArraySize(best); j++)
                same += s.picks[k].index == (size_t)cJSON_GetArrayItem(best, j)->valueint;
        top3 += same == (int)s.n_picks;
        textrank_summary_free(&s);
        /* the real model against the recipe's Python run of it */
        cJSON *ans = predict(text, 1);
        const cJSON *idx = cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(ans, "sentences"), 0), "index");
        model_first +=
            idx && idx->valueint ==
                       cJSON_GetArrayItem(cJSON_GetObjectItem(p, "model_best_first"), 0)->valueint;
        cJSON_Delete(ans);
    }
    fprintf(stderr,
            "textrank peer: %d articles; sentence counts equal %d, first sentence equal %d, "
            "top-3 set equal %d; with prior: first sentence equal %d\n",
            n, counts, first, top3, model_first);
    cr_assert_geq((double)counts / n, MIN_PEER_FIRST, "splitter: %d/%d counts equal", counts, n);
    cr_assert_geq((double)first / n, MIN_PEER_FIRST, "first sentence: %d/%d equal", first, n);
    cr_assert_geq((double)top3 / n, 0.90, "top-3 sets: %d/%d equal", top3, n);
    cr_assert_geq((double)model_first / n, MIN_PEER_FIRST, "with prior: %d/%d equal", model_first,
                  n);
}

Test(textrank_peer, headline_recall_keeps_its_floor_and_matches_the_lead)
{
    load_all();
    double r1 = 0, r3 = 0, l1 = 0, l3 = 0, p1 = 0;
    int n = 0;
    for (int i = 0; i < cJSON_GetArraySize(fx.heldout); i++) {
        const cJSON *a = cJSON_GetArrayItem(fx.heldout, i);
        if (strcmp(str_of(a, "split"), "test") != 0)
            continue;
        const char *text = str_of(a, "text");
        const cJSON *words = cJSON_GetObjectItem(a, "words");
        cJSON *one = predict(text, 1), *three = predict(text, 3);
        r1 += recall(words, str_of(one, "summary"));
        r3 += recall(words, str_of(three, "summary"));
        char *s1 = lead(text, 1), *s3 = lead(text, 3), *pl = plain_summary(text, 1);
        l1 += recall(words, s1);
        l3 += recall(words, s3);
        p1 += recall(words, pl);
        free(s1);
        free(s3);
        free(pl);
        cJSON_Delete(one);
        cJSON_Delete(three);
        n++;
    }
    r1 /= n, r3 /= n, l1 /= n, l3 /= n, p1 /= n;
    fprintf(stderr,
            "textrank quality (%d test articles): recall@1 %.4f (lead %.4f, plain TextRank "
            "%.4f), recall@3 %.4f (lead-3 %.4f)\n",
            n, r1, l1, p1, r3, l3);
    const cJSON *q = cJSON_GetObjectItem(fx.card, "quality");
    cr_assert_float_eq(r1, num_of(q, "headline_recall_1"), 0.01, "C differs from the card");
    cr_assert_geq(r1, MIN_RECALL_1);
    cr_assert_geq(r3, MIN_RECALL_3);
    cr_assert_geq(r1, l1 - 1e-9, "recall@1 %.4f below the lead sentence's %.4f", r1, l1);
    cr_assert_geq(r3, l3 - 1e-9, "recall@3 %.4f below the lead-3's %.4f", r3, l3);
    cr_assert_geq(r1 - p1, MIN_GAIN_ON_PLAIN, "the prior no longer helps: %.4f vs %.4f", r1, p1);
}

Test(textrank_peer, answer_shape)
{
    load_all();
    const char *text = str_of(cJSON_GetArrayItem(fx.heldout, 0), "text");
    cJSON *out = NULL;
    cr_assert_eq(ml_kind_textrank.predict(fx.model, text, strlen(text), NULL, &out), TC_OK);
    const cJSON *arr = cJSON_GetObjectItem(out, "sentences");
    cr_assert_eq(cJSON_GetArraySize(arr), 3, "three sentences by default");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(out, "sentence_count")));
    cr_assert_gt(num_of(out, "sentence_count"), 3);
    char joined[8192] = "";
    double last = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        cr_assert_gt(num_of(e, "index"), last, "document order");
        last = num_of(e, "index");
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(e, "score")));
        if (joined[0])
            strcat(joined, " ");
        strcat(joined, str_of(e, "text"));
    }
    cr_assert_str_eq(str_of(out, "summary"), joined);
    cr_assert(ml_kind_textrank.agree(out, out));
    cJSON_Delete(out);
    cr_assert_eq(ml_kind_textrank.predict(fx.model, "", 0, NULL, &out), TC_OK);
    cr_assert_str_eq(str_of(out, "summary"), "");
    cr_assert_eq(num_of(out, "sentence_count"), 0);
    cJSON_Delete(out);
}

static void *summarize_all(void *arg)
{
    char **outs = arg;
    for (int i = 0; i < cJSON_GetArraySize(fx.heldout); i++) {
        const char *text = str_of(cJSON_GetArrayItem(fx.heldout, i), "text");
        cJSON *out = NULL;
        if (ml_kind_textrank.predict(fx.model, text, strlen(text), NULL, &out) != TC_OK)
            return NULL;
        outs[i] = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
    }
    return arg;
}

Test(textrank_peer, threads_get_the_same_answers)
{
    load_all();
    enum { THREADS = 4 };
    int n = cJSON_GetArraySize(fx.heldout);
    char **outs[THREADS + 1];
    pthread_t th[THREADS];
    for (int t = 0; t <= THREADS; t++)
        cr_assert_not_null(outs[t] = calloc((size_t)n, sizeof(char *)));
    cr_assert_not_null(summarize_all(outs[THREADS]));
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, summarize_all, outs[t]), 0);
    for (int t = 0; t < THREADS; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        cr_assert_not_null(ret);
        for (int i = 0; i < n; i++)
            cr_assert_str_eq(outs[t][i], outs[THREADS][i]);
    }
    for (int t = 0; t <= THREADS; t++) {
        for (int i = 0; i < n; i++)
            free(outs[t][i]);
        free(outs[t]);
    }
}

Test(textrank_peer, bad_params_are_refused)
{
    load_all();
    const char *bad[] = {"{\"position_prior\":-1}", "{\"position_prior\":\"1\"}",
                         "{\"file\":\"../x.bin\"}", "{\"file\":\"textrank.bin\",\"x\":1}", "[]"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        cJSON *p = cJSON_Parse(bad[i]);
        void *m = (void *)1;
        cr_assert_eq(ml_kind_textrank.load(version_dir(), p, &m), TC_EINVAL, "%s", bad[i]);
        cr_assert_null(m);
        cJSON_Delete(p);
    }
    cJSON *p = cJSON_Parse("{\"file\":\"missing.bin\"}");
    void *m = NULL;
    cr_assert_neq(ml_kind_textrank.load(version_dir(), p, &m), TC_OK);
    cJSON_Delete(p);
}

/* ------------------------------------------------------------------ options and agreement */

Test(textrank_kind, options)
{
    const char *good[] = {"{}", "{\"sentences\":1}", "{\"sentences\":10}", "{\"sentences\":3.0}"};
    const char *bad[] = {"{\"sentences\":0}",
                         "{\"sentences\":11}",
                         "{\"sentences\":2.5}",
                         "{\"sentences\":\"3\"}",
                         "{\"sentences\":true}",
                         "{\"sentences\":null}",
                         "{\"sentences\":-1}",
                         "{\"n\":3}",
                         "{\"sentences\":3,\"x\":1}",
                         "[]",
                         "3"};
    char err[128];
    cr_assert(ml_kind_textrank.options_valid(NULL, err, sizeof err));
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++) {
        cJSON *o = cJSON_Parse(good[i]);
        cr_assert(ml_kind_textrank.options_valid(o, err, sizeof err), "%s", good[i]);
        cJSON_Delete(o);
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        cJSON *o = cJSON_Parse(bad[i]);
        err[0] = '\0';
        cr_assert(!ml_kind_textrank.options_valid(o, err, sizeof err), "%s", bad[i]);
        cr_assert_neq(err[0], '\0', "a reason for %s", bad[i]);
        cJSON_Delete(o);
    }
}

/* An answer choosing the given sentence indexes ("0 4 7"; "" none; NULL: not an answer). */
static cJSON *answer(const char *idx)
{
    cJSON *o = cJSON_CreateObject();
    if (!idx)
        return o;
    cJSON *arr = cJSON_AddArrayToObject(o, "sentences");
    for (const char *p = idx; *p;) {
        char *end;
        long i = strtol(p, &end, 10);
        if (end == p)
            break;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", (double)i);
        cJSON_AddStringToObject(e, "text", "t");
        cJSON_AddNumberToObject(e, "score", 1);
        cJSON_AddItemToArray(arr, e);
        p = end;
    }
    return o;
}

static bool agree(const char *a, const char *b)
{
    cJSON *x = answer(a), *y = answer(b);
    bool r = ml_kind_textrank.agree(x, y);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return r;
}

Test(textrank_kind, agreement)
{
    cr_assert(agree("0 4 7", "0 2 9"), "same first sentence");
    cr_assert(agree("1 4 7", "0 4 7"), "two of three in common");
    cr_assert(!agree("1 4 7", "0 4 9"), "one of three in common");
    cr_assert(agree("1 4", "0 4"), "half in common");
    cr_assert(!agree("1", "0"));
    cr_assert(agree("", ""), "two empty summaries");
    cr_assert(!agree("", "0"));
    cr_assert(!agree(NULL, "0"), "not an answer");
}
