/* Unit tests for fasttext_model.c: the normalisation the recipe's normalise.py also applies,
 * fastText's hash and softmax, and the .bin reader on tiny files written here (a valid model
 * whose answers are worked out by hand, and files it must refuse). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fasttext_model.h"
#include "tc/tc_core.h"

static void expect_norm(const char *in, const char *want)
{
    char *got = NULL;
    size_t len = 0;
    cr_assert_eq(ft_normalise(in, strlen(in), &got, &len), TC_OK);
    cr_assert_str_eq(got, want, "normalise(%s)", in);
    cr_assert_eq(len, strlen(want));
    free(got);
}

Test(normalise, plain_text_is_lowercased_and_punctuation_split)
{
    expect_norm("Hello, WORLD!  It's 50% off...", "hello , world ! it ' s 50 % off . . .");
    expect_norm("", "");
    expect_norm(" \t\r\n ", "");
}

Test(normalise, non_ascii_stays_inside_words)
{
    expect_norm("Caf\xc3\xa9 \xc3\x89T\xc3\x89", "caf\xc3\xa9 \xc3\x89t\xc3\x89");
}

Test(normalise, an_email_keeps_its_subject_and_body_only)
{
    expect_norm("From someone@example.com  Thu Aug 22 12:36:23 2002\n"
                "Return-Path: <x@example.com>\n"
                "Subject: Cheap\n"
                "\tPILLS\n"
                "X-Other: skipped\n"
                "\n"
                "Buy now\n",
                "cheap pills buy now");
    expect_norm("To: a@b.c\r\nSubject: Hi\r\n\r\nBody\r\n", "hi body");
    /* the empty line after the last '\n' ends the headers: no body, and the subject's '='
     * is no soft line break */
    expect_norm("To: a@b.c\nSubject: Hi =\n", "hi =");
}

Test(normalise, text_that_only_looks_like_headers_stays_whole)
{
    expect_norm("Note: call me", "note : call me");                /* no blank line */
    expect_norm("Note: call me\n\nlater", "note : call me later"); /* no common field */
    expect_norm("Subject: x\nnot a header\n\nbody", "subject : x not a header body");
    expect_norm("\nSubject: x\n\nbody", "subject : x body"); /* blank first line */
}

Test(normalise, base64_lines_are_dropped)
{
    expect_norm("see\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt\r\nattached",
                "see attached");
    expect_norm("short QUJDREVG", "short qujdrevg"); /* not a whole line of 40 */
}

Test(normalise, quoted_printable_is_decoded)
{
    expect_norm("infor=\nmation size=3D2 caf=E9 =\r\nend", "information size = 2 caf = e9 end");
    expect_norm("=3D41", "= 41"); /* one pass: a decoded '=' starts no escape */
    expect_norm("=4", "= 4");
}

Test(hash, is_fasttexts_fnv1a)
{
    cr_assert_eq(ft_hash("a", 1), 0xe40c292cu); /* FNV-1a test vectors (ASCII) */
    cr_assert_eq(ft_hash("foobar", 6), 0xbf9cf968u);
    cr_assert_eq(ft_hash("</s>", 4), 0xd79c9359u);
    /* bytes >= 0x80 are sign-extended as fastText's signed char: not plain FNV-1a */
    cr_assert_eq(ft_hash("caf\xc3\xa9", 5), 0x7572c049u);
    cr_assert_eq(ft_hash("\xc3\xa9", 2), 0x3cfa68c1u);
    cr_assert_eq(ft_hash("", 0), 2166136261u);
}

Test(softmax, matches_the_definition_and_is_stable)
{
    float v[3] = {1, 2, 3};
    ft_softmax(v, 3);
    cr_assert_float_eq(v[0], 0.0900306f, 1e-6);
    cr_assert_float_eq(v[1], 0.2447285f, 1e-6);
    cr_assert_float_eq(v[2], 0.6652410f, 1e-6);
    float big[2] = {1000, 1000};
    ft_softmax(big, 2);
    cr_assert_float_eq(big[0], 0.5f, 1e-6);
    cr_assert_float_eq(big[1], 0.5f, 1e-6);
}

/* ------------------------------------------------------------------ tiny .bin files */

typedef struct {
    unsigned char b[1024];
    size_t n;
} buf_t;

static void put(buf_t *w, const void *p, size_t n)
{
    cr_assert_leq(w->n + n, sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_i32(buf_t *w, int32_t v)
{
    put(w, &v, 4);
}

static void put_i64(buf_t *w, int64_t v)
{
    put(w, &v, 8);
}

static void put_entry(buf_t *w, const char *word, int8_t type)
{
    put(w, word, strlen(word) + 1);
    put_i64(w, 5);
    put(w, &type, 1);
}

static void put_matrix(buf_t *w, int64_t rows, int64_t cols, const float *data)
{
    unsigned char quantized = 0;
    put(w, &quantized, 1);
    put_i64(w, rows);
    put_i64(w, cols);
    put(w, data, (size_t)(rows * cols) * 4);
}

/* Offsets of fields the tests corrupt. */
#define OFF_MAGIC  0
#define OFF_LOSS   (8 + 6 * 4)
#define OFF_MODEL  (8 + 7 * 4)
#define OFF_BUCKET (8 + 8 * 4)
#define OFF_PRUNE  (8 + 12 * 4 + 8 + 12 + 8)

/* dim 2; words "</s>" (0,0), "good" (2,0), "bad" (0,2); labels pos (1,0), neg (0,1). */
static buf_t tiny_model(void)
{
    buf_t w = {.n = 0};
    int32_t args[12] = {2, 5, 5, 1, 5, 1, 3 /* softmax */, 3 /* supervised */, 0, 0, 0, 100};
    double t = 1e-4;
    put_i32(&w, 793712314);
    put_i32(&w, 12);
    put(&w, args, sizeof args);
    put(&w, &t, 8);
    put_i32(&w, 5);
    put_i32(&w, 3);
    put_i32(&w, 2);
    put_i64(&w, 100);
    put_i64(&w, -1);
    put_entry(&w, "</s>", 0);
    put_entry(&w, "good", 0);
    put_entry(&w, "bad", 0);
    put_entry(&w, "__label__pos", 1);
    put_entry(&w, "__label__neg", 1);
    const float input[] = {0, 0, 2, 0, 0, 2}, output[] = {1, 0, 0, 1};
    put_matrix(&w, 3, 2, input);
    put_matrix(&w, 2, 2, output);
    return w;
}

static char tmpl[] = "/tmp/ft_unit_XXXXXX";

static const char *write_file(const buf_t *w, size_t n)
{
    static char path[64];
    strcpy(path, tmpl);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, w->b, n), (ssize_t)n);
    close(fd);
    return path;
}

static int open_bytes(const buf_t *w, size_t n, ft_model_t **m)
{
    const char *path = write_file(w, n);
    int rc = ft_model_open(path, m);
    unlink(path);
    return rc;
}

static float p_pos(const ft_model_t *m, const char *text)
{
    float p[2];
    cr_assert_eq(ft_model_predict(m, text, strlen(text), p), TC_OK);
    cr_assert_float_eq(p[0] + p[1], 1.0f, 1e-6);
    return p[0];
}

Test(reader, a_tiny_model_answers_as_worked_out_by_hand)
{
    buf_t w = tiny_model();
    ft_model_t *m = NULL;
    cr_assert_eq(open_bytes(&w, w.n, &m), TC_OK);
    cr_assert_eq(ft_model_nlabels(m), 2);
    cr_assert_str_eq(ft_model_label(m, 0), "pos");
    cr_assert_str_eq(ft_model_label(m, 1), "neg");
    cr_assert_eq(ft_model_dim(m), 2);
    const float e = 1.0f / (1.0f + expf(-1.0f));   /* hidden (1,0): softmax(1, 0) */
    cr_assert_float_eq(p_pos(m, "Good"), e, 1e-6); /* avg of good, </s> */
    cr_assert_float_eq(p_pos(m, "bad"), 1 - e, 1e-6);
    cr_assert_float_eq(p_pos(m, "good bad"), 0.5f, 1e-6);
    /* words outside the vocabulary add no row (no subwords in this model) */
    cr_assert_float_eq(p_pos(m, "good unknown words"), e, 1e-6);
    cr_assert_float_eq(p_pos(m, ""), 0.5f, 1e-6); /* only </s>, a zero row */
    ft_model_close(m);
}

Test(reader, refuses_every_truncation)
{
    buf_t w = tiny_model();
    for (size_t n = 0; n < w.n; n++) {
        ft_model_t *m = NULL;
        cr_assert_eq(open_bytes(&w, n, &m), TC_EINVAL, "accepted %zu of %zu bytes", n, w.n);
        cr_assert_null(m);
    }
}

static void expect_refused(buf_t w, size_t off, int32_t value)
{
    ft_model_t *m = NULL;
    memcpy(w.b + off, &value, 4);
    cr_assert_eq(open_bytes(&w, w.n, &m), TC_EINVAL, "accepted %d at offset %zu", value, off);
    cr_assert_null(m);
}

Test(reader, refuses_what_it_does_not_serve)
{
    buf_t w = tiny_model();
    expect_refused(w, OFF_MAGIC, 0x464c457f); /* an ELF file, say */
    expect_refused(w, OFF_MAGIC + 4, 11);     /* older format version */
    expect_refused(w, OFF_LOSS, 1);           /* hierarchical softmax */
    expect_refused(w, OFF_LOSS, 4);           /* one-vs-all */
    expect_refused(w, OFF_MODEL, 1);          /* cbow word vectors */
    expect_refused(w, OFF_BUCKET, -5);
    int64_t pruned = 0; /* a pruned (.ftz) dictionary */
    ft_model_t *m = NULL;
    memcpy(w.b + OFF_PRUNE, &pruned, 8);
    cr_assert_eq(open_bytes(&w, w.n, &m), TC_EINVAL);
    cr_assert_null(m);
}

Test(reader, refuses_a_quantized_matrix_and_trailing_bytes)
{
    buf_t w = tiny_model();
    size_t input_flag = w.n - (1 + 16 + 16) - (1 + 16 + 24);
    ft_model_t *m = NULL;
    w.b[input_flag] = 1;
    cr_assert_eq(open_bytes(&w, w.n, &m), TC_EINVAL);
    w = tiny_model();
    w.b[w.n++] = 0;
    cr_assert_eq(open_bytes(&w, w.n, &m), TC_EINVAL);
    cr_assert_null(m);
}

Test(reader, a_missing_file_is_an_error)
{
    ft_model_t *m = NULL;
    cr_assert_eq(ft_model_open("/nonexistent/model.bin", &m), TC_ERROR);
    cr_assert_null(m);
}
