/* Unit tests for vader_model.c: the lexicon image (built here, inline), each VADER rule on
 * hand-checked sentences whose expected scores were taken from the JS package
 * vader-sentiment@1.1.3 (polarity_scores), JS rounding, labels and concurrent scoring.
 *
 * The inline lexicon holds, with the package's values, every word of these sentences that is in
 * the real lexicon, so the scores are the package's own. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_core.h"
#include "vader_model.h"

typedef struct {
    const char *key;
    double v;
} entry_t;

static const entry_t LEX[] = {
    {"good", 1.9},  {"truly", 1.9}, {"boring", -1.3}, {"horrible", -2.5}, {"kind", 2.4},
    {"shit", -2.6}, {"bad", -2.5},  {"yeah", 1.2},    {"great", 3.1},     {"nice", 1.8},
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->key, ((const entry_t *)b)->key);
}

/* A lexicon image in the format pack.py writes; sorted unless keep_order. Caller frees. */
static unsigned char *build_image(const entry_t *in, size_t n, bool keep_order, size_t *len)
{
    entry_t *e = malloc(n * sizeof *e);
    cr_assert_not_null(e);
    memcpy(e, in, n * sizeof *e);
    if (!keep_order)
        qsort(e, n, sizeof *e, entry_cmp);
    size_t blob = 0;
    for (size_t i = 0; i < n; i++)
        blob += strlen(e[i].key);
    *len = 16 + 16 * n + blob;
    unsigned char *img = calloc(1, *len);
    cr_assert_not_null(img);
    memcpy(img, "VADERLX1", 8);
    uint32_t count = (uint32_t)n, bl = (uint32_t)blob, off = 0;
    memcpy(img + 8, &count, 4);
    memcpy(img + 12, &bl, 4);
    for (size_t i = 0; i < n; i++) {
        uint32_t kl = (uint32_t)strlen(e[i].key);
        unsigned char *p = img + 16 + 16 * i;
        memcpy(p, &off, 4);
        memcpy(p + 4, &kl, 4);
        memcpy(p + 8, &e[i].v, 8);
        memcpy(img + 16 + 16 * n + off, e[i].key, kl);
        off += kl;
    }
    free(e);
    return img;
}

static unsigned char *image;
static vader_model_t *model;

static void setup(void)
{
    size_t len;
    image = build_image(LEX, TC_ARRAY_LEN(LEX), false, &len);
    cr_assert_eq(vader_model_wrap(image, len, &model), TC_OK);
}

static void teardown(void)
{
    vader_model_free(model);
    free(image);
}

/* The package's numbers are short decimals; ours are the nearest doubles to the same decimals,
 * so they compare exactly (the epsilon only keeps failure messages readable). */
static void expect(const char *text, double compound, double pos, double neu, double neg)
{
    vader_scores_t s;
    cr_assert_eq(vader_model_score(model, text, strlen(text), &s), TC_OK);
    cr_expect_float_eq(s.compound, compound, 1e-12, "%s: compound %g, want %g", text, s.compound,
                       compound);
    cr_expect_float_eq(s.pos, pos, 1e-12, "%s: pos %g, want %g", text, s.pos, pos);
    cr_expect_float_eq(s.neu, neu, 1e-12, "%s: neu %g, want %g", text, s.neu, neu);
    cr_expect_float_eq(s.neg, neg, 1e-12, "%s: neg %g, want %g", text, s.neg, neg);
}

TestSuite(vader, .init = setup, .fini = teardown);

Test(vader, lexicon_words_are_scored)
{
    expect("The book was good.", 0.4404, 0.492, 0.508, 0);
    expect("good day", 0.4404, 0.744, 0.256, 0);
}

Test(vader, negation_words_and_nt_flip_the_valence)
{
    expect("The book was not good.", -0.3412, 0, 0.624, 0.376);
    expect("The book isn't good.", -0.3412, 0, 0.555, 0.445);
}

Test(vader, boosters_raise_and_dampeners_lower)
{
    expect("The book was very good.", 0.4927, 0.444, 0.556, 0);
    expect("He is not such a bad guy, he was kinda nice", 0.655, 0.401, 0.599, 0);
}

Test(vader, all_caps_count_only_when_the_text_mixes_case)
{
    expect("The book was VERY GOOD, truly.", 0.8602, 0.681, 0.319, 0);
    expect("GOOD", 0.4404, 1, 0, 0); /* every word in capitals: no emphasis */
}

Test(vader, but_halves_before_and_raises_after)
{
    expect("The plot was good, but the characters are boring.", -0.25, 0.164, 0.588, 0.248);
    expect("good BUT boring", -0.25, 0.331, 0.169, 0.5); /* "BUT" when there is no "but" */
}

Test(vader, least_negates_unless_after_at)
{
    expect("At least it isn't a horrible book.", 0.431, 0.363, 0.637, 0);
    expect("It is the least good", -0.3412, 0, 0.624, 0.376);
}

Test(vader, kind_of_is_a_dampener_not_the_word_kind)
{
    expect("The book was kind of good.", 0.3832, 0.343, 0.657, 0);
    /* KELVIN SIGN lower-cases to "k" for lookups but idioms compare the original word */
    expect("\xe2\x84\xaaind of bad", -0.5423, 0, 0.364, 0.636);
}

Test(vader, never_so_amplifies)
{
    expect("It was never so good", 0.7279, 0.561, 0.439, 0);
    /* the package's quirk: "so" right before the word scales by 1.25 even without "never" */
    expect("It was so good", 0.5777, 0.555, 0.445, 0);
    expect("It was so GOOD", 0.6866, 0.608, 0.392, 0);
}

Test(vader, idioms_replace_the_valence)
{
    expect("That movie was the shit", 0.6124, 0.5, 0.5, 0);
    expect("Yeah right, great", 0.743, 0.863, 0.137, 0); /* too early in the text to check */
}

Test(vader, exclamation_and_question_marks_amplify)
{
    expect("good!!!", 0.5826, 1, 0, 0);
    expect("good??", 0.504, 1, 0, 0);
    expect("good???", 0.533, 1, 0, 0);
    /* "????" is not in PUNC_LIST, so the word keeps it and is not found */
    expect("good????", 0, 0, 1, 0);
}

Test(vader, punctuation_is_stripped_from_one_end_only)
{
    expect("good.", 0.4404, 1, 0, 0);
    expect(":good", 0.4404, 1, 0, 0);
    expect("!?!good", 0.5399, 1, 0, 0); /* stripped, and still counted as emphasis */
    /* only runs listed in PUNC_LIST are stripped, and from one end */
    expect("(good", 0, 0, 1, 0);
    expect("good)", 0, 0, 1, 0);
    expect("'good'", 0, 0, 1, 0);
}

Test(vader, empty_and_short_words)
{
    expect("", 0, 0, 0, 0);
    expect("   ", 0, 0, 0, 0);
    expect("a b c", 0, 0, 0, 0); /* one-character words are dropped */
    /* an emoji is two UTF-16 units, so it stays a word (neutral); "I" does not */
    expect("I \xf0\x9f\x98\x80 it", 0, 0, 1, 0);
}

Test(vader, unicode_whitespace_splits_words)
{
    expect("good\xc2\xa0"
           "day",
           0.4404, 0.744, 0.256, 0);
    expect("good\xe3\x80\x80"
           "day",
           0.4404, 0.744, 0.256, 0);
}

Test(vader, js_rounding_takes_ties_away_from_zero)
{
    cr_assert_float_eq(vader_js_round(0.0625, 3), 0.063, 1e-15);
    cr_assert_float_eq(vader_js_round(-0.0625, 3), -0.063, 1e-15);
    cr_assert_float_eq(vader_js_round(0.9375, 3), 0.938, 1e-15);
    cr_assert_float_eq(vader_js_round(0.03125, 4), 0.0313, 1e-15);
    cr_assert_float_eq(vader_js_round(0.12345, 4), 0.1235, 1e-15);
    cr_assert_float_eq(vader_js_round(0.99995, 4), 1.0, 1e-15);
    cr_assert_float_eq(vader_js_round(0.1234, 4), 0.1234, 1e-15);
}

Test(vader, labels_follow_the_standard_thresholds)
{
    cr_assert_str_eq(vader_label(0.05), "positive");
    cr_assert_str_eq(vader_label(0.0499), "neutral");
    cr_assert_str_eq(vader_label(0), "neutral");
    cr_assert_str_eq(vader_label(-0.0499), "neutral");
    cr_assert_str_eq(vader_label(-0.05), "negative");
}

Test(vader, lookup_finds_exact_keys_only)
{
    double v = 0;
    cr_assert_eq(vader_model_lookup(model, "good", 4, &v), 1);
    cr_assert_float_eq(v, 1.9, 1e-15);
    cr_assert_eq(vader_model_lookup(model, "goo", 3, &v), 0);
    cr_assert_eq(vader_model_lookup(model, "goods", 5, &v), 0);
    cr_assert_eq(vader_model_lookup(model, "GOOD", 4, &v), 0);
    cr_assert_eq(vader_model_entries(model), TC_ARRAY_LEN(LEX));
}

Test(vader_image, bad_images_are_refused)
{
    size_t len;
    vader_model_t *m = (vader_model_t *)1;
    unsigned char *img = build_image(LEX, TC_ARRAY_LEN(LEX), true, &len); /* unsorted */
    cr_assert_eq(vader_model_wrap(img, len, &m), TC_EINVAL);
    cr_assert_null(m);
    free(img);

    img = build_image(LEX, TC_ARRAY_LEN(LEX), false, &len);
    cr_assert_eq(vader_model_wrap(img, len - 1, &m), TC_EINVAL); /* truncated */
    img[0] = 'X';
    cr_assert_eq(vader_model_wrap(img, len, &m), TC_EINVAL); /* magic */
    img[0] = 'V';
    uint32_t far = 1000;
    memcpy(img + 16, &far, 4); /* first key outside the blob */
    cr_assert_eq(vader_model_wrap(img, len, &m), TC_EINVAL);
    free(img);

    const entry_t dup[] = {{"good", 1.9}, {"good", 2.0}};
    img = build_image(dup, 2, false, &len);
    cr_assert_eq(vader_model_wrap(img, len, &m), TC_EINVAL);
    free(img);

    cr_assert_neq(vader_model_open("/nonexistent/lexicon.bin", &m), TC_OK);
    cr_assert_null(m);
}

static void *score_many(void *arg)
{
    const char *text = arg;
    vader_scores_t first, s;
    if (vader_model_score(model, text, strlen(text), &first) != TC_OK)
        return (void *)1;
    for (int i = 0; i < 2000; i++) {
        if (vader_model_score(model, text, strlen(text), &s) != TC_OK ||
            memcmp(&s, &first, sizeof s) != 0)
            return (void *)1;
    }
    return NULL;
}

Test(vader, concurrent_scoring_gives_the_same_answers)
{
    const char *texts[] = {"The book was VERY GOOD, truly.", "It was never so good",
                           "The plot was good, but the characters are boring.",
                           "That movie was the shit"};
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, score_many, (void *)texts[i]), 0);
    for (size_t i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_expect_null(rc, "thread %zu saw a different answer", i);
    }
    expect("It was never so good", 0.7279, 0.561, 0.439, 0);
    /* the package's quirk: "so" right before the word scales by 1.25 even without "never" */
    expect("It was so good", 0.5777, 0.555, 0.445, 0);
    expect("It was so GOOD", 0.6866, 0.608, 0.392, 0);
}
