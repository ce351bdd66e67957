/* Component test of the built embeddings-v2 model ($ML_MODELS_DIR, default build/models, from
 * `make models`), through ml_kind_embeddings as the registry calls it:
 *   - sentence vectors agree with the numpy float32 peer the recipe stored (eval/peer.jsonl):
 *     same token and known counts, cosine >= 0.999 on every sentence;
 *   - the word lookup finds the sampled words with vectors close to float32 (eval/words.jsonl);
 *   - WordNet synonym pairs score above random pairs: AUC floor (eval/pairs.jsonl);
 *   - the kind's options and agree() contract.
 * A missing model directory fails with the command that builds it. */
#include <criterion/criterion.h>

#include "modelkit.h"
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embeddings_model.h"
#include "ml_kind.h"
#include "tc/tc_core.h"

/* Measured when the recipe was written: synonym AUC 0.835 (int8 and float32 alike), peer
 * cosine min 0.99993, word cosine min 0.99990. Floors sit a little under. */
#define AUC_FLOOR         0.825
#define PEER_COSINE_FLOOR 0.999
#define WORD_COSINE_FLOOR 0.9998

static char model_dir[4096];

static const char *dir_path(void)
{
    mk_version_dir("embeddings-v2", "2.0.0", model_dir, sizeof model_dir);
    return model_dir;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f,
                       "cannot read %s: build the model with `make models` "
                       "(services/ml-inference/models/embeddings-v2/build.sh)",
                       path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static cJSON *card_read(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/card.json", dir_path());
    char *text = slurp(path);
    cJSON *card = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(card, "%s is not JSON", path);
    return card;
}

/* The model as the registry loads it: the card's params handed to the kind's load(). */
static void *model_load(void)
{
    cJSON *card = card_read();
    void *model = NULL;
    int rc = ml_kind_embeddings.load(dir_path(), cJSON_GetObjectItemCaseSensitive(card, "params"),
                                     &model);
    cJSON_Delete(card);
    cr_assert_eq(rc, TC_OK, "cannot load %s (rc %d): rebuild with `make models`", dir_path(), rc);
    return model;
}

/* Calls fn on every JSON line of eval/<name>. */
static size_t each_line(const char *name, void (*fn)(const cJSON *row, void *ctx), void *ctx)
{
    return mk_each_line(dir_path(), name, fn, ctx);
}

static double cosine(const double *a, const double *b, size_t n)
{
    double dot = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? dot / sqrt(aa * bb) : 0;
}

/* A JSON array of numbers into out[n]. */
static void numbers(const cJSON *arr, double *out, size_t n)
{
    cr_assert(cJSON_IsArray(arr));
    cr_assert_eq((size_t)cJSON_GetArraySize(arr), n);
    size_t i = 0;
    for (const cJSON *x = arr->child; x; x = x->next)
        out[i++] = x->valuedouble;
}

static int int_of(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsNumber(v), "no number %s", name);
    return v->valueint;
}

/* ------------------------------------------------------------------ card */

Test(embeddings_peer, card_names_the_kind_and_limits)
{
    cJSON *card = card_read();
    const char *str[][2] = {{"model", "embeddings-v2"},
                            {"version", "2.0.0"},
                            {"kind", "embeddings"},
                            {"task", "embedding"}};
    for (size_t i = 0; i < TC_ARRAY_LEN(str); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(card, str[i][0]);
        cr_assert(cJSON_IsString(v) && strcmp(v->valuestring, str[i][1]) == 0, "%s", str[i][0]);
    }
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(card, "default")));
    cr_assert_eq(int_of(card, "max_chars"), 10000);
    cJSON_Delete(card);
}

/* ------------------------------------------------------------------ peer sentences */

typedef struct {
    void *model;
    size_t rows, known_rows, agreeing;
    double cos_min, cos_sum;
} peer_t;

static void peer_row(const cJSON *row, void *ctx)
{
    peer_t *p = ctx;
    const char *text = cJSON_GetObjectItemCaseSensitive(row, "text")->valuestring;
    cJSON *ans = NULL;
    cr_assert_eq(ml_kind_embeddings.predict(p->model, text, strlen(text), NULL, &ans), TC_OK);
    cr_assert_eq(int_of(ans, "dimensions"), 100);
    cr_assert_eq(int_of(ans, "tokens"), int_of(row, "tokens"), "tokens differ on: %s", text);
    cr_assert_eq(int_of(ans, "known"), int_of(row, "known"), "known differs on: %s", text);
    double mine[100], peer[100];
    numbers(cJSON_GetObjectItemCaseSensitive(ans, "vector"), mine, 100);
    numbers(cJSON_GetObjectItemCaseSensitive(row, "vector"), peer, 100);
    p->rows++;
    if (int_of(row, "known") == 0) {
        for (size_t d = 0; d < 100; d++)
            cr_assert(mine[d] == 0.0, "no known word but a non-zero vector: %s", text);
        cr_assert(ml_kind_embeddings.agree(ans, row));
    } else {
        double c = cosine(mine, peer, 100);
        p->known_rows++;
        p->cos_sum += c;
        if (c < p->cos_min)
            p->cos_min = c;
        if (c >= PEER_COSINE_FLOOR)
            p->agreeing++;
        cr_assert(ml_kind_embeddings.agree(ans, row), "agree() refuses the peer on: %s", text);
    }
    cJSON_Delete(ans);
}

Test(embeddings_peer, sentence_vectors_match_numpy_float32)
{
    peer_t p = {.model = model_load(), .cos_min = 1.0};
    each_line("peer.jsonl", peer_row, &p);
    cr_log_info("peer: %zu sentences, %zu with a known word, %zu at cosine >= %.3f, "
                "min %.6f, mean %.6f",
                p.rows, p.known_rows, p.agreeing, PEER_COSINE_FLOOR, p.cos_min,
                p.cos_sum / (double)p.known_rows);
    cr_assert_geq(p.rows, 300);
    cr_assert_eq(p.agreeing, p.known_rows, "min cosine %.6f", p.cos_min);
    ml_kind_embeddings.free(p.model);
}

/* ------------------------------------------------------------------ words */

typedef struct {
    const emb_model_t *m;
    size_t rows;
    double cos_min, cos_sum;
} words_t;

static void word_row(const cJSON *row, void *ctx)
{
    words_t *w = ctx;
    const char *word = cJSON_GetObjectItemCaseSensitive(row, "word")->valuestring;
    int64_t id = emb_model_lookup(w->m, word, strlen(word));
    cr_assert_eq(id, (int64_t)int_of(row, "id"), "lookup of %s", word);
    float v[100];
    double mine[100], f32[100];
    emb_model_vector(w->m, (size_t)id, v);
    for (size_t d = 0; d < 100; d++)
        mine[d] = v[d];
    numbers(cJSON_GetObjectItemCaseSensitive(row, "vector"), f32, 100);
    double c = cosine(mine, f32, 100);
    w->rows++;
    w->cos_sum += c;
    if (c < w->cos_min)
        w->cos_min = c;
}

Test(embeddings_peer, quantised_words_match_float32)
{
    void *model = model_load();
    words_t w = {.m = model, .cos_min = 1.0};
    cr_assert_eq(emb_model_dims(w.m), 100);
    cr_assert_eq(emb_model_words(w.m), 341479);
    each_line("words.jsonl", word_row, &w);
    cr_log_info("int8 vs float32: %zu words, cosine min %.6f mean %.6f", w.rows, w.cos_min,
                w.cos_sum / (double)w.rows);
    cr_assert_geq(w.rows, 500);
    cr_assert_geq(w.cos_min, WORD_COSINE_FLOOR);
    cr_assert_lt(emb_model_lookup(w.m, "qqqxqqq", 7), 0);
    ml_kind_embeddings.free(model);
}

/* ------------------------------------------------------------------ WordNet AUC */

typedef struct {
    const emb_model_t *m;
    double *pos, *neg;
    size_t npos, nneg, cap;
} pairs_t;

static void pair_row(const cJSON *row, void *ctx)
{
    pairs_t *p = ctx;
    const char *words[2] = {cJSON_GetObjectItemCaseSensitive(row, "a")->valuestring,
                            cJSON_GetObjectItemCaseSensitive(row, "b")->valuestring};
    float v[2][100];
    double x[2][100];
    for (size_t k = 0; k < 2; k++) {
        int64_t id = emb_model_lookup(p->m, words[k], strlen(words[k]));
        cr_assert_geq(id, 0, "%s not found", words[k]);
        emb_model_vector(p->m, (size_t)id, v[k]);
        for (size_t d = 0; d < 100; d++)
            x[k][d] = v[k][d];
    }
    double c = cosine(x[0], x[1], 100);
    if (int_of(row, "label") == 1) {
        cr_assert_lt(p->npos, p->cap);
        p->pos[p->npos++] = c;
    } else {
        cr_assert_lt(p->nneg, p->cap);
        p->neg[p->nneg++] = c;
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* P(cos(synonyms) > cos(random)), ties half: a merge over both sorted lists. */
static double auc(double *pos, size_t np, double *neg, size_t nn)
{
    qsort(pos, np, sizeof *pos, by_value);
    qsort(neg, nn, sizeof *neg, by_value);
    double wins = 0;
    size_t lo = 0, hi = 0; /* neg[0..lo) < pos[i], neg[0..hi) <= pos[i] */
    for (size_t i = 0; i < np; i++) {
        while (lo < nn && neg[lo] < pos[i])
            lo++;
        if (hi < lo)
            hi = lo;
        while (hi < nn && neg[hi] <= pos[i])
            hi++;
        wins += (double)lo + 0.5 * (double)(hi - lo);
    }
    return wins / ((double)np * (double)nn);
}

Test(embeddings_peer, wordnet_synonyms_score_above_random_pairs)
{
    void *model = model_load();
    pairs_t p = {.m = model, .cap = 20000};
    p.pos = calloc(p.cap, sizeof(double));
    p.neg = calloc(p.cap, sizeof(double));
    cr_assert(p.pos && p.neg);
    each_line("pairs.jsonl", pair_row, &p);
    cr_assert_geq(p.npos, 5000);
    cr_assert_geq(p.nneg, 5000);
    double a = auc(p.pos, p.npos, p.neg, p.nneg);
    cr_log_info("WordNet synonym AUC %.4f (%zu synonym, %zu random pairs)", a, p.npos, p.nneg);
    cr_assert_geq(a, AUC_FLOOR, "synonym AUC %.4f under the floor %.3f", a, AUC_FLOOR);
    free(p.pos);
    free(p.neg);
    ml_kind_embeddings.free(model);
}

/* ------------------------------------------------------------------ kind contract */

Test(embeddings_peer, options_none_accepted)
{
    char err[128] = "";
    cJSON *empty = cJSON_CreateObject(), *some = cJSON_Parse("{\"normalize\":false}");
    cr_assert(ml_kind_embeddings.options_valid(NULL, err, sizeof err));
    cr_assert(ml_kind_embeddings.options_valid(empty, err, sizeof err));
    cr_assert_not(ml_kind_embeddings.options_valid(some, err, sizeof err));
    cr_assert_neq(err[0], '\0');
    cJSON_Delete(empty);
    cJSON_Delete(some);
}

Test(embeddings_peer, predict_answer_shape_and_agree)
{
    void *model = model_load();
    const char *texts[] = {"The movie was wonderful.", "A wonderful film!",
                           "Quarterly tax filings are due.", "", "zzqx qqzv"};
    cJSON *ans[TC_ARRAY_LEN(texts)];
    for (size_t i = 0; i < TC_ARRAY_LEN(texts); i++) {
        cr_assert_eq(ml_kind_embeddings.predict(model, texts[i], strlen(texts[i]), NULL, &ans[i]),
                     TC_OK);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ans[i], "vector")), 100);
    }
    cr_assert_eq(int_of(ans[0], "tokens"), 4);
    cr_assert_eq(int_of(ans[0], "known"), 4);
    cr_assert_eq(int_of(ans[3], "tokens"), 0);
    cr_assert_eq(int_of(ans[4], "known"), 0);
    cr_assert(ml_kind_embeddings.agree(ans[0], ans[0]));
    cr_assert_not(ml_kind_embeddings.agree(ans[0], ans[2]), "unrelated sentences agree");
    cr_assert(ml_kind_embeddings.agree(ans[3], ans[4]), "two zero vectors disagree");
    cr_assert_not(ml_kind_embeddings.agree(ans[0], ans[3]));
    cr_assert_not(ml_kind_embeddings.agree(ans[0], NULL));
    /* Similar sentences are closer than unrelated ones. */
    double v[3][100];
    for (size_t i = 0; i < 3; i++)
        numbers(cJSON_GetObjectItemCaseSensitive(ans[i], "vector"), v[i], 100);
    cr_assert_gt(cosine(v[0], v[1], 100), cosine(v[0], v[2], 100));
    for (size_t i = 0; i < TC_ARRAY_LEN(texts); i++)
        cJSON_Delete(ans[i]);
    ml_kind_embeddings.free(model);
}
