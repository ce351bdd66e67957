/* ner-v2 as built by `make models` ($ML_MODELS_DIR, default build/models), through the kind's
 * load/predict/agree: name-span quality on the held-out Brown files the recipe stored, the
 * agreement with the peer (compromise@14.17.0) whose spans the recipe stored, the card's
 * figures being reproduced, options, agree() and concurrent use (latency: `make bench`).
 *
 * Measured when written (2^19 buckets, 6 epochs): held-out name spans P 0.934, R 0.902,
 * F1 0.918 (3,744 gold spans); peer overlap F1 0.724 (ours overlapping the peer's 0.663, the
 * peer's overlapping ours 0.798). The floors below sit a little under those. */
#include "ml_kind.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define F1_FLOOR        0.905
#define PRECISION_FLOOR 0.92
#define RECALL_FLOOR    0.89
#define PEER_F1_FLOOR   0.70

static const char *const name_types[] = {"PERSON", "LOCATION", "ORGANIZATION", "MISC", NULL};

static char version_dir[1024];

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The built version's card; fails (not skips) when the model was not built. */
static cJSON *card(void)
{
    const char *root = getenv("ML_MODELS_DIR");
    snprintf(version_dir, sizeof version_dir, "%s/ner-v2/2.0.0", root ? root : "build/models");
    char path[1100];
    snprintf(path, sizeof path, "%s/card.json", version_dir);
    char *text = read_all(path);
    cr_assert_not_null(text,
                       "%s missing: build the models first (make models, or bash "
                       "services/ml-inference/models/ner-v2/build.sh build/models/src "
                       "build/models/ner-v2)",
                       path);
    cJSON *c = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(c, "%s is not JSON", path);
    return c;
}

static void *load_model(cJSON **card_out)
{
    cJSON *c = card();
    cr_assert_str_eq(cJSON_GetObjectItem(c, "kind")->valuestring, "ner");
    void *m = NULL;
    int rc = ml_kind_ner.load(version_dir, cJSON_GetObjectItem(c, "params"), &m);
    cr_assert_eq(rc, TC_OK, "ml_kind_ner.load(%s) = %d", version_dir, rc);
    if (card_out)
        *card_out = c;
    else
        cJSON_Delete(c);
    return m;
}

/* The lines of an eval file, each parsed; *n of them. */
static cJSON **read_jsonl(const char *name, size_t *n)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/eval/%s", version_dir, name);
    char *text = read_all(path);
    cr_assert_not_null(text, "%s missing: rebuild the model", path);
    size_t cap = 1024;
    cJSON **v = malloc(cap * sizeof *v);
    cr_assert_not_null(v);
    *n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (*n == cap)
            cr_assert_not_null(v = realloc(v, (cap *= 2) * sizeof *v));
        cr_assert_not_null(v[*n] = cJSON_Parse(line), "bad line in %s", path);
        (*n)++;
    }
    free(text);
    return v;
}

static void free_jsonl(cJSON **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        cJSON_Delete(v[k]);
    free(v);
}

static cJSON *predict(const void *m, const char *text, const cJSON *options)
{
    cJSON *out = NULL;
    cr_assert_eq(ml_kind_ner.predict(m, text, strlen(text), options, &out), TC_OK);
    cr_assert_not_null(out);
    return out;
}

static bool is_name_type(const char *t)
{
    for (size_t k = 0; name_types[k]; k++)
        if (strcmp(t, name_types[k]) == 0)
            return true;
    return false;
}

/* The name spans of an answer: at most max (start, end) pairs. */
static size_t name_spans(const cJSON *ans, int (*out)[2], size_t max)
{
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(ans, "entities"))
    {
        if (n < max && is_name_type(cJSON_GetObjectItem(e, "type")->valuestring)) {
            out[n][0] = cJSON_GetObjectItem(e, "start")->valueint;
            out[n][1] = cJSON_GetObjectItem(e, "end")->valueint;
            n++;
        }
    }
    return n;
}

/* How many of a's spans overlap one of b's. */
static size_t overlapping(int (*a)[2], size_t na, int (*b)[2], size_t nb)
{
    size_t hit = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a[i][0] < b[j][1] && b[j][0] < a[i][1]) {
                hit++;
                break;
            }
    return hit;
}

static double card_number(const cJSON *c, const char *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(c, obj), key);
    cr_assert(cJSON_IsNumber(v), "card.json %s.%s", obj, key);
    return v->valuedouble;
}

Test(ner_peer, heldout_brown_name_spans)
{
    cJSON *c;
    void *m = load_model(&c);
    size_t n;
    cJSON **recs = read_jsonl("heldout.jsonl", &n);
    cr_assert_gt(n, 5000, "the held-out set has %zu sentences", n);
    size_t tp = 0, npred = 0, ngold = 0;
    int pred[256][2];
    for (size_t k = 0; k < n; k++) {
        cJSON *ans = predict(m, cJSON_GetObjectItem(recs[k], "text")->valuestring, NULL);
        size_t np = name_spans(ans, pred, 256);
        const cJSON *g;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(recs[k], "gold"))
        {
            int s = cJSON_GetArrayItem(g, 0)->valueint, e = cJSON_GetArrayItem(g, 1)->valueint;
            for (size_t j = 0; j < np; j++)
                if (pred[j][0] == s && pred[j][1] == e) {
                    tp++;
                    break;
                }
            ngold++;
        }
        npred += np;
        cJSON_Delete(ans);
    }
    double p = (double)tp / (double)npred, r = (double)tp / (double)ngold;
    double f1 = 2 * p * r / (p + r);
    cr_log_info("ner-v2 held-out Brown: %zu sentences, %zu gold names: P %.4f R %.4f F1 %.4f", n,
                ngold, p, r, f1);
    fprintf(stderr, "ner-v2 held-out Brown: %zu sentences, %zu gold names: P %.4f R %.4f F1 %.4f\n",
            n, ngold, p, r, f1);
    cr_expect_geq(f1, F1_FLOOR, "F1 %.4f", f1);
    cr_expect_geq(p, PRECISION_FLOOR, "precision %.4f", p);
    cr_expect_geq(r, RECALL_FLOOR, "recall %.4f", r);
    /* The recipe measured the same model through ner_tool; the service must reproduce it. */
    cr_expect(fabs(f1 - card_number(c, "quality", "name_f1")) < 0.001,
              "F1 %.4f here, %.4f in card.json", f1, card_number(c, "quality", "name_f1"));
    free_jsonl(recs, n);
    cJSON_Delete(c);
    ml_kind_ner.free(m);
}

Test(ner_peer, agreement_with_compromise)
{
    cJSON *c;
    void *m = load_model(&c);
    size_t n;
    cJSON **recs = read_jsonl("peer.jsonl", &n);
    cr_assert_geq(n, 300, "the peer set has %zu sentences", n);
    size_t ours_n = 0, peer_n = 0, ours_hit = 0, peer_hit = 0;
    int ours[256][2], peer[256][2];
    for (size_t k = 0; k < n; k++) {
        cJSON *ans = predict(m, cJSON_GetObjectItem(recs[k], "text")->valuestring, NULL);
        size_t no = name_spans(ans, ours, 256), np = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(recs[k], "peer"))
        {
            if (np < 256) {
                peer[np][0] = cJSON_GetArrayItem(s, 0)->valueint;
                peer[np][1] = cJSON_GetArrayItem(s, 1)->valueint;
                np++;
            }
        }
        ours_n += no;
        peer_n += np;
        ours_hit += overlapping(ours, no, peer, np);
        peer_hit += overlapping(peer, np, ours, no);
        cJSON_Delete(ans);
    }
    double op = (double)ours_hit / (double)ours_n, orr = (double)peer_hit / (double)peer_n;
    double f1 = 2 * op * orr / (op + orr);
    fprintf(stderr,
            "ner-v2 vs compromise: %zu sentences, ours %zu, peer %zu; ours overlapping peer "
            "%.4f, peer overlapping ours %.4f, overlap F1 %.4f\n",
            n, ours_n, peer_n, op, orr, f1);
    cr_expect_geq(f1, PEER_F1_FLOOR, "overlap F1 with the peer %.4f", f1);
    cr_expect(fabs(f1 - card_number(c, "peer", "agreement")) < 0.001,
              "agreement %.4f here, %.4f in card.json", f1, card_number(c, "peer", "agreement"));
    free_jsonl(recs, n);
    cJSON_Delete(c);
    ml_kind_ner.free(m);
}

/* The entity of type at index k of an answer, as "TYPE:text@start-end". */
static void describe(const cJSON *ans, int k, char *buf, size_t n)
{
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(ans, "entities"), k);
    cr_assert_not_null(e, "entity %d missing", k);
    snprintf(buf, n, "%s:%s@%d-%d", cJSON_GetObjectItem(e, "type")->valuestring,
             cJSON_GetObjectItem(e, "text")->valuestring, cJSON_GetObjectItem(e, "start")->valueint,
             cJSON_GetObjectItem(e, "end")->valueint);
}

Test(ner_peer, a_sentence_end_to_end)
{
    void *m = load_model(NULL);
    const char *text = "Mr. Zoë Müller of Acme Corp. met John Smith in Paris on March 5, 1960 and "
                       "paid $3 million (12% more); mail z.muller@acme.com.";
    cJSON *ans = predict(m, text, NULL);
    char *s = cJSON_PrintUnformatted(ans);
    fprintf(stderr, "ner-v2: %s\n", s);
    free(s);
    char buf[256];
    const char *want[] = {"PERSON:Zoë Müller@4-14",   "ORGANIZATION:Acme@18-22",
                          "PERSON:John Smith@33-43",  "LOCATION:Paris@47-52",
                          "DATE:March 5, 1960@56-69", "MONEY:$3 million@79-89",
                          "PERCENT:12%@91-94",        "EMAIL:z.muller@acme.com@107-124"};
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ans, "entities")), 8);
    for (int k = 0; k < 8; k++) {
        describe(ans, k, buf, sizeof buf);
        cr_expect_str_eq(buf, want[k]);
    }
    cJSON_Delete(ans);
    ml_kind_ner.free(m);
}

Test(ner_peer, options_and_agree)
{
    void *m = load_model(NULL);
    char err[160];
    cJSON *opt = cJSON_Parse("{\"types\": [\"PERSON\", \"DATE\"]}");
    cr_assert(ml_kind_ner.options_valid(NULL, err, sizeof err));
    cr_assert(ml_kind_ner.options_valid(opt, err, sizeof err), "%s", err);
    const char *bad[] = {"{\"types\": []}", "{\"types\": [\"person\"]}", "{\"types\": \"PERSON\"}",
                         "{\"limit\": 3}", "[]"};
    for (size_t k = 0; k < 5; k++) {
        cJSON *b = cJSON_Parse(bad[k]);
        err[0] = '\0';
        cr_expect_not(ml_kind_ner.options_valid(b, err, sizeof err), "%s accepted", bad[k]);
        cr_expect_neq(err[0], '\0', "no reason for %s", bad[k]);
        cJSON_Delete(b);
    }
    const char *text = "John Smith flew to Paris on Monday with Acme Corp.";
    cJSON *all = predict(m, text, NULL), *some = predict(m, text, opt);
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(some, "entities"))
    {
        const char *t = cJSON_GetObjectItem(e, "type")->valuestring;
        cr_expect(strcmp(t, "PERSON") == 0 || strcmp(t, "DATE") == 0, "type %s", t);
        n++;
    }
    cr_expect_eq(n, 2);
    cr_expect(ml_kind_ner.agree(all, all));
    cr_expect_not(ml_kind_ner.agree(all, some), "2 of 4 spans: F1 0.67");
    cJSON *empty = cJSON_Parse("{\"entities\": []}");
    cr_expect_not(ml_kind_ner.agree(all, empty));
    cr_expect(ml_kind_ner.agree(empty, empty));
    cJSON *junk = cJSON_Parse("{\"label\": 1}");
    cr_expect_not(ml_kind_ner.agree(all, junk));
    cJSON_Delete(junk);
    cJSON_Delete(empty);
    cJSON_Delete(all);
    cJSON_Delete(some);
    cJSON_Delete(opt);
    ml_kind_ner.free(m);
}

Test(ner_peer, bad_params_fail_to_load)
{
    cJSON *c = card();
    cJSON_Delete(c);
    void *m = (void *)1;
    cJSON *p = cJSON_Parse("{\"weights\": \"../ner-v2/2.0.0/ner.weights\"}");
    cr_expect_eq(ml_kind_ner.load(version_dir, p, &m), TC_EINVAL);
    cr_expect_null(m);
    cJSON_Delete(p);
    p = cJSON_Parse("{\"weights\": \"ner.gaz\"}");
    cr_expect_eq(ml_kind_ner.load(version_dir, p, &m), TC_EINVAL, "a gazetteer is no weights");
    cJSON_Delete(p);
}

typedef struct {
    const void *m;
    cJSON **recs;
    size_t n;
    char **want; /* the single-threaded answers */
    int mismatches;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    for (size_t k = 0; k < w->n; k++) {
        cJSON *out = NULL;
        const char *text = cJSON_GetObjectItem(w->recs[k], "text")->valuestring;
        if (ml_kind_ner.predict(w->m, text, strlen(text), NULL, &out) != TC_OK) {
            w->mismatches++;
            continue;
        }
        char *s = cJSON_PrintUnformatted(out);
        w->mismatches += strcmp(s, w->want[k]) != 0;
        free(s);
        cJSON_Delete(out);
    }
    return NULL;
}

Test(ner_peer, concurrent_predictions_match_single_threaded)
{
    void *m = load_model(NULL);
    size_t n;
    cJSON **recs = read_jsonl("peer.jsonl", &n);
    char **want = malloc(n * sizeof *want);
    cr_assert_not_null(want);
    for (size_t k = 0; k < n; k++) {
        cJSON *ans = predict(m, cJSON_GetObjectItem(recs[k], "text")->valuestring, NULL);
        want[k] = cJSON_PrintUnformatted(ans);
        cJSON_Delete(ans);
    }
    pthread_t th[4];
    worker_t w[4];
    for (int t = 0; t < 4; t++) {
        w[t] = (worker_t){.m = m, .recs = recs, .n = n, .want = want};
        cr_assert_eq(pthread_create(&th[t], NULL, worker, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        cr_expect_eq(w[t].mismatches, 0, "thread %d: %d answers differ", t, w[t].mismatches);
    }
    for (size_t k = 0; k < n; k++)
        free(want[k]);
    free(want);
    free_jsonl(recs, n);
    ml_kind_ner.free(m);
}
