/* Unit tests for embeddings_model.c: the tokeniser, the file reader (valid, bad and truncated
 * files written here), word lookup and the SIF arithmetic. Tiny inline fixtures only. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embeddings_model.h"
#include "tc/tc_core.h"

/* ------------------------------------------------------------------ fixture file writer */

#define DIMS 4
#define FX_A 0.01
#define FX_H 2.0

typedef struct {
    const char *word;
    float scale;
    int8_t q[DIMS];
} fx_word_t;

/* Frequency order: id 0 is the most frequent. */
static const fx_word_t fx_words[] = {
    {"the", 0.01f, {100, 0, 0, 0}},     {"cat", 0.5f, {0, 2, 0, 0}},
    {"sat", 0.25f, {0, 0, 4, 0}},       {"do", 1.0f, {1, 1, 0, 0}},
    {"well-known", 0.5f, {0, 0, 0, 2}}, {"well", 1.0f, {1, 0, 1, 0}},
    {"known", 1.0f, {0, 1, 0, 1}},      {"cafe", 1.0f, {1, 1, 1, 1}},
    {"ca", 2.0f, {-1, 0, 0, 0}},
};
#define FX_N TC_ARRAY_LEN(fx_words)

/* Header field offsets (pack.py's layout). */
enum {
    H_FORMAT = 8,
    H_DIMS = 12,
    H_WORDS = 16,
    H_SLOTS = 20,
    H_LONGEST = 24,
    H_SIF_A = 32,
    H_ZIPF_H = 40,
    H_OFFSETS = 48,
    H_BLOB = 56,
    H_BLOB_LEN = 64,
    H_TABLE = 72,
    H_SCALES = 80,
    H_VECTORS = 88,
    H_FILE_SIZE = 96,
};

typedef struct {
    unsigned char *buf;
    size_t len;
} fx_file_t;

static void put32(unsigned char *b, size_t off, uint32_t v)
{
    memcpy(b + off, &v, 4);
}

static void put64(unsigned char *b, size_t off, uint64_t v)
{
    memcpy(b + off, &v, 8);
}

static void putf64(unsigned char *b, size_t off, double v)
{
    memcpy(b + off, &v, 8);
}

static size_t align64(size_t n)
{
    return (n + 63) / 64 * 64;
}

/* The model file for fx_words with a hash table of `slots` entries, as pack.py writes it. */
static fx_file_t fx_build(uint32_t slots)
{
    size_t n = FX_N, blob_len = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        blob_len += strlen(fx_words[i].word);
        if (strlen(fx_words[i].word) > longest)
            longest = strlen(fx_words[i].word);
    }
    size_t off_offsets = EMB_HEADER_SIZE;
    size_t off_table = align64(off_offsets + 4 * (n + 1));
    size_t off_scales = align64(off_table + 4 * (size_t)slots);
    size_t off_vectors = align64(off_scales + 4 * n);
    size_t off_blob = align64(off_vectors + n * DIMS);
    fx_file_t f = {.len = off_blob + blob_len};
    f.buf = calloc(1, f.len);
    cr_assert_not_null(f.buf);
    memcpy(f.buf, EMB_MAGIC, 8);
    put32(f.buf, H_FORMAT, EMB_FORMAT);
    put32(f.buf, H_DIMS, DIMS);
    put32(f.buf, H_WORDS, (uint32_t)n);
    put32(f.buf, H_SLOTS, slots);
    put32(f.buf, H_LONGEST, (uint32_t)longest);
    putf64(f.buf, H_SIF_A, FX_A);
    putf64(f.buf, H_ZIPF_H, FX_H);
    put64(f.buf, H_OFFSETS, off_offsets);
    put64(f.buf, H_BLOB, off_blob);
    put64(f.buf, H_BLOB_LEN, blob_len);
    put64(f.buf, H_TABLE, off_table);
    put64(f.buf, H_SCALES, off_scales);
    put64(f.buf, H_VECTORS, off_vectors);
    put64(f.buf, H_FILE_SIZE, f.len);
    uint32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t wl = strlen(fx_words[i].word);
        put32(f.buf, off_offsets + 4 * i, at);
        memcpy(f.buf + off_blob + at, fx_words[i].word, wl);
        at += (uint32_t)wl;
        memcpy(f.buf + off_scales + 4 * i, &fx_words[i].scale, 4);
        memcpy(f.buf + off_vectors + DIMS * i, fx_words[i].q, DIMS);
        uint32_t j = (uint32_t)(emb_hash(fx_words[i].word, wl) & (slots - 1));
        uint32_t e;
        while (memcpy(&e, f.buf + off_table + 4 * j, 4), e != 0)
            j = (j + 1) & (slots - 1);
        put32(f.buf, off_table + 4 * j, (uint32_t)i + 1);
    }
    put32(f.buf, off_offsets + 4 * n, at);
    return f;
}

static char fx_path[64];

/* Writes len bytes of f to a fresh temporary file (fx_path). */
static void fx_write(const fx_file_t *f, size_t len)
{
    strcpy(fx_path, "/tmp/emb_unit_XXXXXX");
    int fd = mkstemp(fx_path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, f->buf, len), (ssize_t)len);
    close(fd);
}

static int fx_open_bytes(fx_file_t *f, size_t len, emb_model_t **m)
{
    fx_write(f, len);
    int rc = emb_model_open(fx_path, m);
    unlink(fx_path);
    free(f->buf);
    return rc;
}

static emb_model_t *fx_model(void)
{
    emb_model_t *m = NULL;
    fx_file_t f = fx_build(16);
    cr_assert_eq(fx_open_bytes(&f, f.len, &m), TC_OK);
    return m;
}

/* ------------------------------------------------------------------ hash */

Test(hash, is_fnv1a_64)
{
    cr_assert_eq(emb_hash("", 0), 0xcbf29ce484222325ULL);
    cr_assert_eq(emb_hash("a", 1), 0xaf63dc4c8601ec8cULL);
    cr_assert_eq(emb_hash("foobar", 6), 0x85944171f73967e8ULL);
}

/* ------------------------------------------------------------------ tokeniser */

typedef struct {
    char out[2048];
    size_t n;
} joined_t;

static void join_token(const char *tok, size_t len, void *ctx)
{
    joined_t *j = ctx;
    const char *s = tok ? tok : "<long>";
    size_t l = tok ? len : strlen(s);
    cr_assert_lt(j->n + l + 1, sizeof j->out);
    if (j->n)
        j->out[j->n++] = '|';
    memcpy(j->out + j->n, s, l);
    j->n += l;
    j->out[j->n] = '\0';
}

/* The tokens of text joined by '|', and their count checked against the return value. */
static const char *toks(const emb_model_t *m, const char *text)
{
    static joined_t j;
    memset(&j, 0, sizeof j);
    size_t count = emb_tokenize(m, text, strlen(text), join_token, &j);
    size_t bars = 0;
    for (size_t i = 0; i < j.n; i++)
        bars += j.out[i] == '|';
    cr_assert_eq(count, j.n ? bars + 1 : 0, "%s", text);
    return j.out;
}

Test(tokenize, splits_negation_like_glove)
{
    cr_assert_str_eq(toks(NULL, "Don't stop believing"), "do|n't|stop|believing");
    cr_assert_str_eq(toks(NULL, "can't WON'T isn’t"), "ca|n't|wo|n't|is|n't");
    cr_assert_str_eq(toks(NULL, "n't"), "n|t");
}

Test(tokenize, splits_clitics)
{
    cr_assert_str_eq(toks(NULL, "It's WE'LL they’re I'm I'd we've"),
                     "it|'s|we|'ll|they|'re|i|'m|i|'d|we|'ve");
    cr_assert_str_eq(toks(NULL, "O’Neill’s rock'n'roll"), "o|neill|'s|rock|n|roll");
}

Test(tokenize, apostrophes_and_hyphens_not_between_words_separate)
{
    cr_assert_str_eq(toks(NULL, "'quoted' a--b -x- y' '"), "quoted|a|b|x|y");
    cr_assert_str_eq(toks(NULL, "well-known"), "well|known");
}

Test(tokenize, lowercases_and_folds_latin)
{
    cr_assert_str_eq(toks(NULL, "Café MÜLLER Straße Łódź ÆSIR"), "cafe|muller|strasse|lodz|aesir");
}

Test(tokenize, punctuation_and_symbols_separate)
{
    cr_assert_str_eq(toks(NULL, "hello, world! 3.5% 1,000"), "hello|world|3|5|1|000");
    cr_assert_str_eq(toks(NULL, "x×y÷z —…“quoted”"), "x|y|z|quoted");
    cr_assert_str_eq(toks(NULL, "日本語 emoji😀here"), "日本語|emoji|here");
    cr_assert_str_eq(toks(NULL, "a\xff"
                                "b"),
                     "a|b");
    cr_assert_str_eq(toks(NULL, ""), "");
    cr_assert_str_eq(toks(NULL, "!!! ... ''' -- ’’"), "");
}

Test(tokenize, overlong_parts_are_one_null_token)
{
    char text[600];
    memset(text, 'a', 255);
    text[255] = '\0';
    cr_assert_eq(strlen(toks(NULL, text)), 255);
    memset(text, 'a', 300);
    strcpy(text + 300, "'s b");
    cr_assert_str_eq(toks(NULL, text), "<long>|b");
}

Test(tokenize, keeps_known_hyphenated_words)
{
    emb_model_t *m = fx_model();
    cr_assert_str_eq(toks(m, "A Well-Known cat"), "a|well-known|cat");
    cr_assert_str_eq(toks(m, "un-known well-known's"), "un|known|well|known|'s");
    emb_model_close(m);
}

/* ------------------------------------------------------------------ reader */

Test(reader, opens_a_valid_file)
{
    emb_model_t *m = fx_model();
    cr_assert_eq(emb_model_dims(m), DIMS);
    cr_assert_eq(emb_model_words(m), FX_N);
    emb_model_close(m);
}

Test(reader, missing_file_is_an_error)
{
    emb_model_t *m = (emb_model_t *)1;
    cr_assert_eq(emb_model_open("/nonexistent/emb.bin", &m), TC_ERROR);
    cr_assert_null(m);
}

static int open_mutated(void (*mutate)(fx_file_t *f, size_t *len))
{
    emb_model_t *m = (emb_model_t *)1;
    fx_file_t f = fx_build(16);
    size_t len = f.len;
    mutate(&f, &len);
    int rc = fx_open_bytes(&f, len, &m);
    cr_assert_null(m);
    return rc;
}

static void bad_magic(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    f->buf[0] = 'X';
}

static void truncated(fx_file_t *f, size_t *len)
{
    TC_UNUSED(f);
    *len -= 10;
}

static void header_only_part(fx_file_t *f, size_t *len)
{
    TC_UNUSED(f);
    *len = 100;
}

static void zero_dims(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    put32(f->buf, H_DIMS, 0);
}

static void slots_not_power_of_two(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    put32(f->buf, H_SLOTS, 15);
}

static void vectors_past_end(fx_file_t *f, size_t *len)
{
    put64(f->buf, H_VECTORS, *len - 8);
}

static void offsets_short_of_blob(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    put64(f->buf, H_BLOB_LEN, 3);
}

static void unknown_format(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    put32(f->buf, H_FORMAT, 2);
}

Test(reader, rejects_bad_files)
{
    cr_assert_eq(open_mutated(bad_magic), TC_EINVAL);
    cr_assert_eq(open_mutated(truncated), TC_EINVAL);
    cr_assert_eq(open_mutated(header_only_part), TC_EINVAL);
    cr_assert_eq(open_mutated(zero_dims), TC_EINVAL);
    cr_assert_eq(open_mutated(slots_not_power_of_two), TC_EINVAL);
    cr_assert_eq(open_mutated(vectors_past_end), TC_EINVAL);
    cr_assert_eq(open_mutated(offsets_short_of_blob), TC_EINVAL);
    cr_assert_eq(open_mutated(unknown_format), TC_EINVAL);
}

/* ------------------------------------------------------------------ lookup */

Test(lookup, finds_every_word_and_nothing_else)
{
    emb_model_t *m = fx_model();
    for (size_t i = 0; i < FX_N; i++)
        cr_assert_eq(emb_model_lookup(m, fx_words[i].word, strlen(fx_words[i].word)), (int64_t)i,
                     "%s", fx_words[i].word);
    const char *absent[] = {"dog", "th", "thee", "The", "well-", "cafes", "ca\xc3\xa9"};
    for (size_t i = 0; i < TC_ARRAY_LEN(absent); i++)
        cr_assert_eq(emb_model_lookup(m, absent[i], strlen(absent[i])), -1, "%s", absent[i]);
    cr_assert_eq(emb_model_lookup(m, "", 0), -1);
    cr_assert_eq(emb_model_lookup(m, "well-knownx", 11), -1); /* longer than any word */
    emb_model_close(m);
}

Test(lookup, crowded_table_still_finds_words)
{
    /* 9 words in 16 slots collide and wrap; a table of 2^k > n is all the reader requires. */
    for (uint32_t slots = 16; slots <= 64; slots *= 2) {
        emb_model_t *m = NULL;
        fx_file_t f = fx_build(slots);
        cr_assert_eq(fx_open_bytes(&f, f.len, &m), TC_OK);
        for (size_t i = 0; i < FX_N; i++)
            cr_assert_eq(emb_model_lookup(m, fx_words[i].word, strlen(fx_words[i].word)),
                         (int64_t)i);
        emb_model_close(m);
    }
}

static void table_without_empty_slot(fx_file_t *f, size_t *len)
{
    TC_UNUSED(len);
    uint64_t table;
    memcpy(&table, f->buf + H_TABLE, 8);
    for (size_t i = 0; i < 16; i++)
        put32(f->buf, table + 4 * i, 1);
}

Test(lookup, corrupt_full_table_ends)
{
    emb_model_t *m = NULL;
    fx_file_t f = fx_build(16);
    size_t len = f.len;
    table_without_empty_slot(&f, &len);
    cr_assert_eq(fx_open_bytes(&f, len, &m), TC_OK);
    cr_assert_eq(emb_model_lookup(m, "zzz", 3), -1);
    cr_assert_eq(emb_model_lookup(m, "the", 3), 0);
    emb_model_close(m);
}

Test(lookup, dequantises_scale_times_q)
{
    emb_model_t *m = fx_model();
    float v[DIMS];
    emb_model_vector(m, 1, v);
    cr_assert_float_eq(v[0], 0.0f, 1e-9);
    cr_assert_float_eq(v[1], 1.0f, 1e-9);
    emb_model_vector(m, 0, v);
    cr_assert_float_eq(v[0], 1.0f, 1e-6);
    emb_model_vector(m, 8, v);
    cr_assert_float_eq(v[0], -2.0f, 1e-9);
    emb_model_close(m);
}

/* ------------------------------------------------------------------ SIF */

Test(sif, weight_is_a_over_a_plus_zipf_p)
{
    cr_assert_float_eq(emb_sif_weight(1e-3, 10.0, 1), 1e-3 / (1e-3 + 0.1), 1e-15);
    cr_assert_float_eq(emb_sif_weight(1e-3, 10.0, 100), 0.5, 1e-12); /* p = a */
    cr_assert_lt(emb_sif_weight(1e-3, 13.0, 1), emb_sif_weight(1e-3, 13.0, 2));
    cr_assert_gt(emb_sif_weight(1e-3, 13.0, 300000), 0.999);
    emb_model_t *m = fx_model();
    cr_assert_float_eq(emb_model_weight(m, 0), FX_A / (FX_A + 1.0 / FX_H), 1e-15);
    cr_assert_float_eq(emb_model_weight(m, 3), FX_A / (FX_A + 1.0 / (4 * FX_H)), 1e-15);
    emb_model_close(m);
}

Test(sif, accumulate_and_normalise)
{
    double acc[2] = {0, 0};
    int8_t q[2] = {3, 4};
    float out[2];
    emb_accumulate(acc, 2, 2.0, 0.5f, q);
    cr_assert_float_eq(acc[0], 3.0, 1e-12);
    cr_assert_float_eq(acc[1], 4.0, 1e-12);
    emb_accumulate(acc, 2, 1.0, 1.0f, q);
    cr_assert_float_eq(acc[1], 8.0, 1e-12);
    emb_normalise(acc, 2, out);
    cr_assert_float_eq(out[0], 0.6f, 1e-6);
    cr_assert_float_eq(out[1], 0.8f, 1e-6);
    double zero[2] = {0, 0};
    emb_normalise(zero, 2, out);
    cr_assert(out[0] == 0.0f && out[1] == 0.0f);
}

static void sentence(const emb_model_t *m, const char *text, float *v, emb_counts_t *c)
{
    cr_assert_eq(emb_model_sentence(m, text, strlen(text), v, c), TC_OK);
}

Test(sif, sentence_is_normalised_weighted_sum)
{
    emb_model_t *m = fx_model();
    float v[DIMS];
    emb_counts_t c;
    /* the = (1,0,0,0) at rank 1, cat = (0,1,0,0) at rank 2; dog is unknown. */
    sentence(m, "The cat, the dog.", v, &c);
    cr_assert_eq(c.tokens, 4);
    cr_assert_eq(c.known, 3);
    double w0 = emb_sif_weight(FX_A, FX_H, 1), w1 = emb_sif_weight(FX_A, FX_H, 2);
    double x = 2 * w0, y = w1, n = sqrt(x * x + y * y);
    cr_assert_float_eq(v[0], x / n, 1e-6);
    cr_assert_float_eq(v[1], y / n, 1e-6);
    cr_assert_float_eq(v[2], 0.0f, 1e-9);
    cr_assert_float_eq(v[3], 0.0f, 1e-9);
    emb_model_close(m);
}

Test(sif, no_known_word_is_the_zero_vector)
{
    emb_model_t *m = fx_model();
    float v[DIMS] = {1, 1, 1, 1};
    emb_counts_t c;
    sentence(m, "dogs bark", v, &c);
    cr_assert_eq(c.tokens, 2);
    cr_assert_eq(c.known, 0);
    for (size_t d = 0; d < DIMS; d++)
        cr_assert(v[d] == 0.0f);
    sentence(m, "", v, &c);
    cr_assert_eq(c.tokens, 0);
    emb_model_close(m);
}

Test(sif, clitics_count_as_unknown_tokens)
{
    emb_model_t *m = fx_model();
    float v[DIMS];
    emb_counts_t c;
    sentence(m, "Don't, can't; CAFÉ", v, &c);
    cr_assert_eq(c.tokens, 5); /* do n't ca n't cafe */
    cr_assert_eq(c.known, 3);
    emb_model_close(m);
}
