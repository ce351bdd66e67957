/* ner_tool: the build-time side of ner-v2, linked with the service's ner_model.c so training
 * and serving share the tokenizer, the features and the hashing.
 *
 *   ner_tool gaz IN.tsv OUT.gaz                 "phrase<TAB>flags" lines -> sorted hash table
 *   ner_tool train TRAIN.txt GAZ OUT EPOCHS LOG2
 *       averaged perceptron on "word<TAB>tag" lines (tag 0 O, 1 B, 2 I; a blank line ends a
 *       sentence), greedy decoding with the predicted previous tags, sentences shuffled each
 *       epoch by a fixed-seed generator; writes the averaged weights
 *   ner_tool calib WEIGHTS GAZ BIO.txt
 *       the softmax temperature that best fits (least log loss) the tags of held-out tokens
 *       as greedy decoding sees them; prints it
 *   ner_tool predict WEIGHTS GAZ TEMP           one text per stdin line -> one line of
 *       "start end TYPE score" entities separated by tabs
 *   ner_tool bench WEIGHTS GAZ TEMP CALLS       latency of one sentence, mean and p99
 */
#include "ner_model.h"

#include "tc/tc_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what)
{
    fprintf(stderr, "ner_tool: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static int cmp_entry(const void *x, const void *y)
{
    const ner_gaz_entry_t *a = x, *b = y;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

static void write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (fwrite(p, 1, n, f) != n)
        die(path);
}

/* ------------------------------------------------------------------ gaz */

static int cmd_gaz(const char *in, const char *outp)
{
    FILE *f = fopen(in, "r");
    if (!f)
        die(in);
    ner_gaz_entry_t *e = NULL;
    size_t n = 0, cap = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        ner_token_t *toks;
        size_t nt;
        if (ner_tokenize(line, strlen(line), &toks, &nt) != TC_OK)
            die("out of memory");
        if (nt > 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                e = xrealloc(e, cap * sizeof *e);
            }
            /* Keyed as the runtime keys a span: its tokens, so "st. louis" matches "St. Louis". */
            e[n++] = (ner_gaz_entry_t){.hash = ner_phrase_hash(line, toks, 0, nt),
                                       .flags = (uint32_t)strtoul(tab + 1, NULL, 10)};
        }
        free(toks);
    }
    fclose(f);
    qsort(e, n, sizeof *e, cmp_entry);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (m > 0 && e[m - 1].hash == e[k].hash)
            e[m - 1].flags |= e[k].flags; /* two spellings, one key */
        else
            e[m++] = e[k];
    }
    FILE *o = fopen(outp, "wb");
    if (!o)
        die(outp);
    uint32_t hdr[2] = {(uint32_t)m, 0};
    write_all(o, "NERG0001", 8, outp);
    write_all(o, hdr, sizeof hdr, outp);
    write_all(o, e, m * sizeof *e, outp);
    if (fclose(o) != 0)
        die(outp);
    free(e);
    fprintf(stderr, "gazetteer: %zu entries\n", m);
    return 0;
}

/* Maps a gazetteer through the model loader's format by reading it whole. */
static ner_gaz_t read_gaz(const char *path, void **mem)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 16)
        die(path);
    unsigned char *p = xmalloc((size_t)len);
    if (fread(p, 1, (size_t)len, f) != (size_t)len)
        die(path);
    fclose(f);
    uint32_t n;
    memcpy(&n, p + 8, sizeof n);
    *mem = p;
    return (ner_gaz_t){.e = (const ner_gaz_entry_t *)(p + 16), .n = n};
}

/* ------------------------------------------------------------------ train */

typedef struct {
    char *text;        /* all sentences, each its words joined by spaces */
    ner_token_t *toks; /* all tokens, offsets into text */
    uint8_t *gold;     /* the gold tag of each token */
    size_t *first;     /* first token of each sentence; first[nsent] = ntok */
    size_t ntok, nsent;
} corpus_t;

static void read_corpus(const char *path, corpus_t *c)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    size_t tcap = 1 << 20, kcap = 1 << 16, scap = 1 << 12, tlen = 0;
    c->text = xmalloc(tcap);
    c->toks = xmalloc(kcap * sizeof *c->toks);
    c->gold = xmalloc(kcap);
    c->first = xmalloc(scap * sizeof *c->first);
    c->ntok = c->nsent = 0;
    char line[4096];
    bool in_sentence = false;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) {
            in_sentence = false; /* blank line: the sentence ended */
            continue;
        }
        *tab = '\0';
        size_t wl = strlen(line);
        if (!in_sentence) {
            if (c->nsent + 2 > scap)
                c->first = xrealloc(c->first, (scap *= 2) * sizeof *c->first);
            c->first[c->nsent++] = c->ntok;
            in_sentence = true;
        }
        if (tlen + wl + 2 > tcap)
            c->text = xrealloc(c->text, tcap *= 2);
        if (c->ntok + 1 > kcap) {
            kcap *= 2;
            c->toks = xrealloc(c->toks, kcap * sizeof *c->toks);
            c->gold = xrealloc(c->gold, kcap);
        }
        memcpy(c->text + tlen, line, wl);
        c->toks[c->ntok] = (ner_token_t){.start = (uint32_t)tlen, .end = (uint32_t)(tlen + wl)};
        c->gold[c->ntok++] = (uint8_t)(tab[1] - '0');
        tlen += wl;
        c->text[tlen++] = ' ';
    }
    fclose(f);
    c->first[c->nsent] = c->ntok;
}

typedef struct {
    float *w;
    double *acc;     /* sum over updates of weight * time it held */
    uint32_t *stamp; /* the time of each weight's last change */
    uint32_t now;
} perceptron_t;

static void update(perceptron_t *p, size_t k, float v)
{
    p->acc[k] += (double)(p->now - p->stamp[k]) * p->w[k];
    p->stamp[k] = p->now;
    p->w[k] += v;
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: a fixed seed makes the shuffles, hence the weights, reproducible. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int cmd_train(const char *trainp, const char *gazp, const char *outp, int epochs, int log2)
{
    corpus_t c;
    read_corpus(trainp, &c);
    void *gmem;
    ner_gaz_t gaz = read_gaz(gazp, &gmem);
    size_t nb = (size_t)1 << log2, nw = nb * NER_NTAGS;
    uint32_t mask = (uint32_t)(nb - 1);
    perceptron_t p = {.w = calloc(nw, sizeof(float)),
                      .acc = calloc(nw, sizeof(double)),
                      .stamp = calloc(nw, sizeof(uint32_t))};
    size_t *order = xmalloc(c.nsent * sizeof *order);
    if (!p.w || !p.acc || !p.stamp)
        die("out of memory");
    for (size_t k = 0; k < c.nsent; k++)
        order[k] = k;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    uint64_t feats[NER_MAX_FEATS];
    fprintf(stderr, "train: %zu sentences, %zu tokens, 2^%d buckets\n", c.nsent, c.ntok, log2);
    for (int ep = 0; ep < epochs; ep++) {
        for (size_t k = c.nsent - 1; k > 0; k--) {
            size_t j = (size_t)(rng_next(&seed) % (k + 1));
            size_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        size_t right = 0;
        for (size_t k = 0; k < c.nsent; k++) {
            size_t s = c.first[order[k]], e = c.first[order[k] + 1];
            int prev = NER_TAG_O, prev2 = NER_TAG_O;
            for (size_t i = s; i < e; i++) {
                size_t nf = ner_features(&gaz, c.text, c.toks, s, e, i, prev, prev2, feats);
                float sc[NER_NTAGS];
                ner_scores(p.w, mask, feats, nf, sc);
                int best = 0;
                for (int t = 1; t < NER_NTAGS; t++)
                    if (sc[t] > sc[best])
                        best = t;
                int gold = c.gold[i];
                p.now++;
                if (best != gold) {
                    for (size_t f = 0; f < nf; f++) {
                        size_t b = (size_t)ner_bucket(feats[f], mask) * NER_NTAGS;
                        update(&p, b + (size_t)gold, 1.0f);
                        update(&p, b + (size_t)best, -1.0f);
                    }
                } else {
                    right++;
                }
                prev2 = prev;
                prev = best;
            }
        }
        fprintf(stderr, "epoch %d: train token accuracy %.4f\n", ep + 1,
                (double)right / (double)c.ntok);
    }
    /* The averaged weight: each weight's value integrated over time, divided by time. */
    float *avg = xmalloc(nw * sizeof *avg);
    for (size_t k = 0; k < nw; k++) {
        double total = p.acc[k] + (double)(p.now - p.stamp[k]) * p.w[k];
        avg[k] = (float)(total / (double)p.now);
    }
    FILE *o = fopen(outp, "wb");
    if (!o)
        die(outp);
    uint32_t hdr[2] = {(uint32_t)log2, NER_NTAGS};
    write_all(o, "NERW0001", 8, outp);
    write_all(o, hdr, sizeof hdr, outp);
    write_all(o, avg, nw * sizeof *avg, outp);
    if (fclose(o) != 0)
        die(outp);
    free(avg);
    free(p.w);
    free(p.acc);
    free(p.stamp);
    free(order);
    free(gmem);
    free(c.text);
    free(c.toks);
    free(c.gold);
    free(c.first);
    return 0;
}

/* ------------------------------------------------------------------ calib */

/* Log loss of the gold tags under softmax(scores / t). */
static double log_loss(const float (*sc)[NER_NTAGS], const uint8_t *gold, size_t n, double t)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double mx = sc[i][0];
        for (int k = 1; k < NER_NTAGS; k++)
            mx = sc[i][k] > mx ? sc[i][k] : mx;
        double z = 0;
        for (int k = 0; k < NER_NTAGS; k++)
            z += exp((sc[i][k] - mx) / t);
        sum -= (sc[i][gold[i]] - mx) / t - log(z);
    }
    return sum / (double)n;
}

static int cmd_calib(const char *wp, const char *gp, const char *biop)
{
    corpus_t c;
    read_corpus(biop, &c);
    FILE *f = fopen(wp, "rb");
    if (!f)
        die(wp);
    uint32_t hdr[2];
    char magic[8];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "NERW0001", 8) != 0 ||
        fread(hdr, sizeof hdr[0], 2, f) != 2 || hdr[0] > 26)
        die(wp);
    size_t nw = ((size_t)1 << hdr[0]) * NER_NTAGS;
    float *w = xmalloc(nw * sizeof *w);
    if (fread(w, sizeof *w, nw, f) != nw)
        die(wp);
    fclose(f);
    void *gmem;
    ner_gaz_t gaz = read_gaz(gp, &gmem);
    uint32_t mask = (uint32_t)(((size_t)1 << hdr[0]) - 1);
    float(*sc)[NER_NTAGS] = xmalloc(c.ntok * sizeof *sc);
    uint64_t feats[NER_MAX_FEATS];
    for (size_t k = 0; k < c.nsent; k++) {
        size_t s = c.first[k], e = c.first[k + 1];
        int prev = NER_TAG_O, prev2 = NER_TAG_O;
        for (size_t i = s; i < e; i++) {
            size_t nf = ner_features(&gaz, c.text, c.toks, s, e, i, prev, prev2, feats);
            ner_scores(w, mask, feats, nf, sc[i]);
            int best = 0;
            for (int t = 1; t < NER_NTAGS; t++)
                if (sc[i][t] > sc[i][best])
                    best = t;
            prev2 = prev;
            prev = best;
        }
    }
    /* A grid in log steps is enough for one scalar whose loss is smooth and unimodal. */
    double best_t = 1, best = log_loss((const float(*)[NER_NTAGS])sc, c.gold, c.ntok, 1);
    for (double t = 0.25; t <= 64; t *= 1.05) {
        double l = log_loss((const float(*)[NER_NTAGS])sc, c.gold, c.ntok, t);
        if (l < best) {
            best = l;
            best_t = t;
        }
    }
    fprintf(stderr, "calib: %zu tokens, log loss %.4f at T=1, %.4f at T=%.3f\n", c.ntok,
            log_loss((const float(*)[NER_NTAGS])sc, c.gold, c.ntok, 1), best, best_t);
    printf("%.3f\n", best_t);
    free(sc);
    free(w);
    free(gmem);
    free(c.text);
    free(c.toks);
    free(c.gold);
    free(c.first);
    return 0;
}

/* ------------------------------------------------------------------ predict, bench */

static ner_model_t *load(const char *wp, const char *gp, const char *temp)
{
    ner_model_t *m;
    char err[512];
    if (ner_model_load(wp, gp, strtof(temp, NULL), &m, err, sizeof err) != TC_OK)
        die(err);
    return m;
}

static int cmd_predict(const char *wp, const char *gp, const char *temp)
{
    ner_model_t *m = load(wp, gp, temp);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        ner_entities_t ents = {0};
        if (ner_model_predict(m, line, (size_t)len, &ents) != TC_OK)
            die("out of memory");
        for (size_t k = 0; k < ents.n; k++)
            printf("%s%u %u %s %.4f", k ? "\t" : "", ents.v[k].start, ents.v[k].end,
                   ner_type_name(ents.v[k].type), ents.v[k].score);
        putchar('\n');
        ner_entities_free(&ents);
    }
    free(line);
    ner_model_free(m);
    return 0;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int cmd_bench(const char *wp, const char *gp, const char *temp, int calls)
{
    static const char text[] =
        "Mr. John Smith of Acme Corp. met Maria Lopez in Paris on March 5, 2024 and paid "
        "$3.5 million (12% more) -- write to john.smith@example.com.";
    ner_model_t *m = load(wp, gp, temp);
    double *t = xmalloc((size_t)calls * sizeof *t), sum = 0;
    for (int k = 0; k < calls; k++) {
        ner_entities_t ents = {0};
        double t0 = now_us();
        if (ner_model_predict(m, text, sizeof text - 1, &ents) != TC_OK)
            die("out of memory");
        t[k] = now_us() - t0;
        sum += t[k];
        ner_entities_free(&ents);
    }
    qsort(t, (size_t)calls, sizeof *t, cmp_double);
    printf("{\"calls\": %d, \"chars\": %zu, \"mean_us\": %.1f, \"p99_us\": %.1f}\n", calls,
           sizeof text - 1, sum / calls, t[(size_t)calls * 99 / 100]);
    free(t);
    ner_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gaz") == 0)
        return cmd_gaz(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "train") == 0)
        return cmd_train(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
    if (argc == 5 && strcmp(argv[1], "calib") == 0)
        return cmd_calib(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "predict") == 0)
        return cmd_predict(argv[2], argv[3], argv[4]);
    if (argc == 6 && strcmp(argv[1], "bench") == 0)
        return cmd_bench(argv[2], argv[3], argv[4], atoi(argv[5]));
    die("usage: ner_tool gaz|train|predict|bench ...");
    return 1;
}
