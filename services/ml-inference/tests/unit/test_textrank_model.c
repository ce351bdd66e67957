/* Unit tests for textrank_model.c: the sentence splitter (abbreviations, acronyms, decimals,
 * quotes, paragraphs), the stemmer, PageRank on small graphs with known ranks, the model
 * image's checks and lookups, and summaries of empty, one-sentence and small texts, all on
 * inline fixtures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_core.h"
#include "textrank_model.h"

/* ------------------------------------------------------------------ splitter */

/* Splits text and checks the normalised sentences against want (NULL-terminated). */
static void expect_split(const char *text, const char *const *want)
{
    textrank_span_t *spans = NULL;
    size_t n = 0, n_want = 0;
    while (want[n_want])
        n_want++;
    cr_assert_eq(textrank_split(text, strlen(text), &spans, &n), TC_OK);
    cr_assert_eq(n, n_want, "\"%s\": %zu sentences, want %zu", text, n, n_want);
    for (size_t i = 0; i < n; i++) {
        char *s = textrank_span_text(text, spans[i]);
        cr_assert_not_null(s);
        cr_assert_str_eq(s, want[i], "\"%s\" sentence %zu", text, i);
        free(s);
    }
    free(spans);
}

#define SPLIT(text, ...) expect_split(text, (const char *const[]){__VA_ARGS__, NULL})

Test(split, titles_never_end_a_sentence)
{
    SPLIT("Mr. Smith met Dr. Jones. They talked.", "Mr. Smith met Dr. Jones.", "They talked.");
    SPLIT("Gov. Brown and Sen. Lee spoke.", "Gov. Brown and Sen. Lee spoke.");
}

Test(split, dotted_acronyms_end_a_sentence_only_before_a_starter)
{
    SPLIT("The U.S. Treasury said so. He moved to the U.S. It was cold.",
          "The U.S. Treasury said so.", "He moved to the U.S.", "It was cold.");
    SPLIT("Sedio N.V. of Lugano bought it.", "Sedio N.V. of Lugano bought it.");
}

Test(split, initials_and_company_abbreviations)
{
    SPLIT("John F. Kennedy spoke. It rained.", "John F. Kennedy spoke.", "It rained.");
    SPLIT("He works at Acme Corp. The firm grew.", "He works at Acme Corp.", "The firm grew.");
    SPLIT("Shares of Acme Corp. Holdings rose.", "Shares of Acme Corp. Holdings rose.");
    SPLIT("It opened on Jan. 5 in Texas.", "It opened on Jan. 5 in Texas.");
}

Test(split, decimals_times_and_lowercase_continuations)
{
    SPLIT("Prices rose 5.93 pct to .125 dlrs. Sales fell.", "Prices rose 5.93 pct to .125 dlrs.",
          "Sales fell.");
    SPLIT("It starts at 3 p.m. today. Come early.", "It starts at 3 p.m. today.", "Come early.");
    SPLIT("See e.g. the annex. Then stop.", "See e.g. the annex.", "Then stop.");
}

Test(split, quotes_and_brackets_close_a_sentence)
{
    SPLIT("\"Stop!\" he said. \"Why?\" She asked.", "\"Stop!\" he said.", "\"Why?\"", "She asked.");
    SPLIT("He said \xe2\x80\x9cyes.\xe2\x80\x9d Then he left (quickly.) Done.",
          "He said \xe2\x80\x9cyes.\xe2\x80\x9d", "Then he left (quickly.)", "Done.");
    SPLIT("Really?! Yes... Fine.", "Really?!", "Yes...", "Fine.");
}

Test(split, blank_lines_break_single_newlines_do_not)
{
    SPLIT("BAHIA COCOA REVIEW\n\nShowers continued in\nthe zone.\n    Arrivals rose.",
          "BAHIA COCOA REVIEW", "Showers continued in the zone.", "Arrivals rose.");
    SPLIT("one line\n \t\nanother line", "one line", "another line");
}

Test(split, empty_and_wordless_texts_have_no_sentences)
{
    expect_split("", (const char *const[]){NULL});
    textrank_span_t *spans = NULL;
    size_t n = 7;
    const char *t = "  \n\n ... !! \xe2\x80\x94 ?";
    cr_assert_eq(textrank_split(t, strlen(t), &spans, &n), TC_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(spans);
}

Test(split, text_without_terminator_is_one_sentence)
{
    SPLIT("  no punctuation at all  ", "no punctuation at all");
    SPLIT("Ends here.", "Ends here.");
}

/* ------------------------------------------------------------------ stemmer */

static void expect_stem(const char *w, const char *want)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", w);
    size_t n = textrank_stem(buf, strlen(buf));
    buf[n] = '\0';
    cr_assert_str_eq(buf, want, "stem of %s", w);
}

Test(stem, plurals_only)
{
    expect_stem("companies", "company");
    expect_stem("shares", "share");
    expect_stem("agrees", "agree");
    expect_stem("goes", "goe"); /* Harman: -oes only loses its s */
    expect_stem("glass", "glass");
    expect_stem("status", "status");
    expect_stem("bus", "bus");
    expect_stem("oil", "oil");
}

/* ------------------------------------------------------------------ PageRank */

Test(pagerank, star_graph_known_ranks)
{
    /* centre 0 joined to leaves 1..3 (weight 1): c = 0.15/4 + 0.85 * 3 l, l = 0.15/4 + 0.85 c/3,
     * so c = 0.133125 / 0.2775 and l = 0.0375 + 0.85 c / 3 */
    size_t row[] = {0, 3, 4, 5, 6};
    uint32_t col[] = {1, 2, 3, 0, 0, 0};
    double w[] = {1, 1, 1, 1, 1, 1}, t[] = {0.25, 0.25, 0.25, 0.25}, r[4], s[4];
    int it = textrank_pagerank(4, row, col, w, t, r, s);
    double c = 0.133125 / 0.2775, l = 0.0375 + 0.85 * c / 3;
    cr_assert_float_eq(r[0], c, 1e-7);
    for (int i = 1; i < 4; i++)
        cr_assert_float_eq(r[i], l, 1e-7);
    cr_assert_lt(it, TEXTRANK_MAX_ITER, "converged before the cap");
}

Test(pagerank, dangling_node_shares_by_teleport)
{
    /* 0-1 joined, 2 alone: r2 = (0.15 + 0.85 r2) / 3 */
    size_t row[] = {0, 1, 2, 2};
    uint32_t col[] = {1, 0};
    double w[] = {0.5, 0.5}, t[] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, r[3], s[3];
    textrank_pagerank(3, row, col, w, t, r, s);
    double r2 = 0.05 / (1 - 0.85 / 3);
    cr_assert_float_eq(r[2], r2, 1e-7);
    cr_assert_float_eq(r[0], (1 - r2) / 2, 1e-7);
    cr_assert_float_eq(r[1], (1 - r2) / 2, 1e-7);
}

Test(pagerank, heavier_edge_pulls_rank)
{
    /* path 0 -(1)- 1 -(3)- 2: node 1 first, then 2 (it gets 3/4 of 1's rank), then 0 */
    size_t row[] = {0, 1, 3, 4};
    uint32_t col[] = {1, 0, 2, 1};
    double w[] = {1, 1, 3, 3}, t[] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, r[3], s[3];
    textrank_pagerank(3, row, col, w, t, r, s);
    cr_assert_gt(r[1], r[2]);
    cr_assert_gt(r[2], r[0]);
    cr_assert_float_eq(r[0] + r[1] + r[2], 1.0, 1e-9);
}

/* ------------------------------------------------------------------ model image */

static const char *const STOP[] = {"the", "a", "of", "and", "in", "it", "is", "was", "to", "he"};
static const char *const STEMS[] = {"oil", "price", "rose", "opec", "output", "weather"};
static const float IDF[] = {2.0f, 2.5f, 3.0f, 6.0f, 4.0f, 5.0f};

static textrank_model_t *tiny_model(void)
{
    void *img = NULL;
    size_t len = 0;
    cr_assert_eq(textrank_image_build(STOP, TC_ARRAY_LEN(STOP), STEMS, IDF, TC_ARRAY_LEN(STEMS),
                                      7.0f, &img, &len),
                 TC_OK);
    textrank_model_t *m = NULL;
    cr_assert_eq(textrank_model_from_image(img, len, &m), TC_OK);
    free(img);
    return m;
}

Test(model, lookups)
{
    textrank_model_t *m = tiny_model();
    cr_assert(textrank_is_stop(m, "the", 3));
    cr_assert(!textrank_is_stop(m, "oil", 3));
    cr_assert(!textrank_is_stop(m, "th", 2));
    cr_assert_float_eq(textrank_idf(m, "opec", 4), 6.0, 1e-9);
    cr_assert_float_eq(textrank_idf(m, "zebra", 5), 7.0, 1e-9, "unseen");
    cr_assert_float_eq(textrank_idf(m, "the", 3), 7.0, 1e-9, "a stop word has no IDF");
    cr_assert_gt(textrank_model_bytes(m), 32);
    textrank_model_free(m);
}

Test(model, malformed_images_are_refused)
{
    void *img = NULL;
    size_t len = 0;
    cr_assert_eq(textrank_image_build(STOP, TC_ARRAY_LEN(STOP), STEMS, IDF, TC_ARRAY_LEN(STEMS),
                                      7.0f, &img, &len),
                 TC_OK);
    textrank_model_t *m = (textrank_model_t *)1;
    cr_assert_eq(textrank_model_from_image(img, len - 1, &m), TC_EINVAL, "truncated");
    cr_assert_null(m);
    cr_assert_eq(textrank_model_from_image(img, 16, &m), TC_EINVAL, "header only");
    unsigned char *b = img;
    b[0] = 'X';
    cr_assert_eq(textrank_model_from_image(img, len, &m), TC_EINVAL, "magic");
    b[0] = 'T';
    uint32_t bad_slots = 12;
    memcpy(b + 20, &bad_slots, 4);
    cr_assert_eq(textrank_model_from_image(img, len, &m), TC_EINVAL, "slots not a power of 2");
    free(img);
    cr_assert_eq(textrank_model_open("/nonexistent/textrank.bin", &m), TC_ERROR);
    cr_assert_eq(
        textrank_image_build((const char *const[]){""}, 1, NULL, NULL, 0, 1.0f, &img, &len),
        TC_EINVAL, "empty key");
}

/* ------------------------------------------------------------------ summaries */

Test(summary, empty_text)
{
    textrank_model_t *m = tiny_model();
    textrank_summary_t s;
    cr_assert_eq(textrank_summarize(m, "", 0, 3, 1.5, &s), TC_OK);
    cr_assert_eq(s.sentence_count, 0);
    cr_assert_eq(s.n_picks, 0);
    textrank_summary_free(&s);
    cr_assert_eq(textrank_summarize(m, " ... \n\n", 7, 3, 1.5, &s), TC_OK);
    cr_assert_eq(s.n_picks, 0);
    textrank_summary_free(&s);
    textrank_model_free(m);
}

Test(summary, one_sentence)
{
    textrank_model_t *m = tiny_model();
    textrank_summary_t s;
    const char *t = "  Only  one\nsentence here.  ";
    cr_assert_eq(textrank_summarize(m, t, strlen(t), 3, 0, &s), TC_OK);
    cr_assert_eq(s.sentence_count, 1);
    cr_assert_eq(s.n_picks, 1);
    cr_assert_eq(s.picks[0].index, 0);
    cr_assert_str_eq(s.picks[0].text, "Only one sentence here.");
    cr_assert_float_eq(s.picks[0].score, 1.0, 1e-9, "a lone node holds all the rank");
    textrank_summary_free(&s);
    cr_assert_eq(textrank_summarize(m, t, strlen(t), 1, 1.5, &s), TC_OK);
    cr_assert_float_eq(s.picks[0].score, 2.5, 1e-9, "plus the prior of the first sentence");
    textrank_summary_free(&s);
    textrank_model_free(m);
}

/* Sentence 1 shares words with 0 and 2, which share none: it is the centre. */
static const char *DOC = "The weather was mild. Oil output rose as the oil price rose. "
                         "OPEC cut output. Nothing else happened today.";

Test(summary, plain_textrank_picks_the_central_sentence)
{
    textrank_model_t *m = tiny_model();
    textrank_summary_t s;
    cr_assert_eq(textrank_summarize(m, DOC, strlen(DOC), 1, 0, &s), TC_OK);
    cr_assert_eq(s.sentence_count, 4);
    cr_assert_eq(s.n_picks, 1);
    cr_assert_eq(s.picks[0].index, 1);
    cr_assert_str_eq(s.picks[0].text, "Oil output rose as the oil price rose.");
    textrank_summary_free(&s);
    textrank_model_free(m);
}

Test(summary, the_prior_favours_the_lead_and_picks_come_in_document_order)
{
    textrank_model_t *m = tiny_model();
    textrank_summary_t s;
    cr_assert_eq(textrank_summarize(m, DOC, strlen(DOC), 1, 5.0, &s), TC_OK);
    cr_assert_eq(s.picks[0].index, 0);
    textrank_summary_free(&s);
    cr_assert_eq(textrank_summarize(m, DOC, strlen(DOC), 2, 0, &s), TC_OK);
    cr_assert_eq(s.n_picks, 2);
    cr_assert_lt(s.picks[0].index, s.picks[1].index);
    cr_assert_eq(s.picks[1].index, 2, "OPEC sentence shares 'output' with the centre");
    cr_assert_eq(s.picks[0].index, 1);
    textrank_summary_free(&s);
    cr_assert_eq(textrank_summarize(m, DOC, strlen(DOC), 10, 0, &s), TC_OK);
    cr_assert_eq(s.n_picks, 4, "never more picks than sentences");
    textrank_summary_free(&s);
    textrank_model_free(m);
}

Test(summary, only_the_first_sentences_are_ranked)
{
    textrank_model_t *m = tiny_model();
    size_t n = TEXTRANK_MAX_SENTENCES + 50, len = 0;
    char *t = malloc(n * 32);
    cr_assert_not_null(t);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "Oil price %zu rose. ", i);
    textrank_summary_t s;
    cr_assert_eq(textrank_summarize(m, t, len, 10, 0, &s), TC_OK);
    cr_assert_eq(s.sentence_count, n);
    cr_assert_eq(s.n_picks, 10);
    for (size_t i = 0; i < s.n_picks; i++)
        cr_assert_lt(s.picks[i].index, TEXTRANK_MAX_SENTENCES);
    textrank_summary_free(&s);
    free(t);
    textrank_model_free(m);
}
