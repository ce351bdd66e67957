/* ner_model: the tokenizer (byte and code-point offsets, multibyte UTF-8, abbreviations,
 * punctuation), the rule entities (dates, money, percentages, emails), the feature hashing,
 * BIO decoding, span typing with a small inline gazetteer, prediction with hand-made weights,
 * and the loader's checks. No built model is needed.
 *
 * The FNV-1a values were computed apart from this code (Python, the published FNV-1a 64
 * parameters). */
#include "ner_model.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ helpers */

typedef struct {
    const char *text;
    ner_token_t *t;
    size_t n;
} toks_t;

static toks_t tokenize(const char *text)
{
    toks_t r = {.text = text};
    cr_assert_eq(ner_tokenize(text, strlen(text), &r.t, &r.n), TC_OK);
    return r;
}

/* The tokens as text joined by '|'. */
static const char *joined(const toks_t *r)
{
    static char buf[1024];
    buf[0] = '\0';
    for (size_t k = 0; k < r->n; k++) {
        if (k)
            strcat(buf, "|");
        strncat(buf, r->text + r->t[k].start, r->t[k].end - r->t[k].start);
    }
    return buf;
}

static void check_tokens(const char *text, const char *want)
{
    toks_t r = tokenize(text);
    cr_expect_str_eq(joined(&r), want, "tokens of \"%s\"", text);
    free(r.t);
}

/* The rule entities of a text as "TYPE:text" joined by '|'. */
static const char *rules_of(const char *text)
{
    static char buf[1024];
    toks_t r = tokenize(text);
    ner_entities_t e = {0};
    cr_assert_eq(ner_rules(text, r.t, r.n, &e), TC_OK);
    buf[0] = '\0';
    for (size_t k = 0; k < e.n; k++) {
        if (k)
            strcat(buf, "|");
        strcat(buf, ner_type_name(e.v[k].type));
        strcat(buf, ":");
        strncat(buf, text + e.v[k].byte_start, e.v[k].byte_end - e.v[k].byte_start);
    }
    ner_entities_free(&e);
    free(r.t);
    return buf;
}

/* ------------------------------------------------------------------ tokenizer */

Test(tokenize, multibyte_offsets_in_code_points)
{
    /* ë, €, ü are 2, 3 and 2 bytes: byte and code-point offsets part after each. */
    const char *text = "Zoë paid €5 to Müller.";
    toks_t r = tokenize(text);
    cr_assert_str_eq(joined(&r), "Zoë|paid|€|5|to|Müller|.");
    uint32_t bytes[][2] = {{0, 4}, {5, 9}, {10, 13}, {13, 14}, {15, 17}, {18, 25}, {25, 26}};
    uint32_t cps[][2] = {{0, 3}, {4, 8}, {9, 10}, {10, 11}, {12, 14}, {15, 21}, {21, 22}};
    for (size_t k = 0; k < r.n; k++) {
        cr_expect_eq(r.t[k].start, bytes[k][0], "token %zu byte start", k);
        cr_expect_eq(r.t[k].end, bytes[k][1], "token %zu byte end", k);
        cr_expect_eq(r.t[k].cp_start, cps[k][0], "token %zu code-point start", k);
        cr_expect_eq(r.t[k].cp_end, cps[k][1], "token %zu code-point end", k);
    }
    free(r.t);
}

Test(tokenize, curly_quotes_and_em_dash_are_tokens)
{
    check_tokens("“Hi,” said Zoë—twice.", "“|Hi|,|”|said|Zoë|—|twice|.");
    check_tokens("a\u00A0b", "a|b"); /* a no-break space separates */
}

Test(tokenize, abbreviations_keep_their_period)
{
    check_tokens("Mr. J. Smith of the U.S. left.", "Mr.|J.|Smith|of|the|U.S.|left|.");
    check_tokens("Acme Corp. and Dr. No.", "Acme|Corp.|and|Dr.|No.");
    check_tokens("It was 5 p.m. Then it rained...", "It|was|5|p.m.|Then|it|rained|...");
}

Test(tokenize, punctuation_splits_off)
{
    check_tokens("(\"Hello,\" she said--quietly; ok?)",
                 "(|\"|Hello|,|\"|she|said|--|quietly|;|ok|?|)");
    check_tokens("Atlanta's mayor, the Joneses' dog", "Atlanta's|mayor|,|the|Joneses'|dog");
    check_tokens("$3.5 rose 12%.", "$|3.5|rose|12|%|.");
    check_tokens("1,000 or 3.14", "1,000|or|3.14");
}

Test(tokenize, empty_and_space_only)
{
    ner_token_t *t = (ner_token_t *)1;
    size_t n = 7;
    cr_assert_eq(ner_tokenize(" \t\n ", 4, &t, &n), TC_OK);
    cr_expect_eq(n, 0);
    cr_expect_null(t);
}

Test(tokenize, invalid_utf8_does_not_stall)
{
    const char text[] = "ab\xC3 \xFF"
                        "cd";
    ner_token_t *t;
    size_t n;
    cr_assert_eq(ner_tokenize(text, sizeof text - 1, &t, &n), TC_OK);
    cr_expect_eq(n, 2);
    free(t);
}

Test(tokenize, sentences_end_at_final_punctuation_and_blank_lines)
{
    const char *text = "He left. \"Why?\" she asked.\n\nNew heading here";
    toks_t r = tokenize(text);
    /* He|left|.|"|Why|?|"|she|asked|.|New|heading|here */
    cr_assert_eq(r.n, 13);
    cr_expect_eq(ner_sentence_end(text, r.t, r.n, 0), 3);
    cr_expect_eq(ner_sentence_end(text, r.t, r.n, 3), 7, "the closing quote stays");
    cr_expect_eq(ner_sentence_end(text, r.t, r.n, 7), 10);
    cr_expect_eq(ner_sentence_end(text, r.t, r.n, 10), 13);
    free(r.t);
    const char *para = "Title\n\nBody text";
    r = tokenize(para);
    cr_expect_eq(ner_sentence_end(para, r.t, r.n, 0), 1, "a blank line ends a sentence");
    free(r.t);
}

/* ------------------------------------------------------------------ rules */

Test(rules, dates)
{
    cr_expect_str_eq(rules_of("He came on March 5, 1960 and left in May."),
                     "DATE:March 5, 1960|DATE:May");
    cr_expect_str_eq(rules_of("We may march. May I?"), "", "verbs are not months");
    cr_expect_str_eq(rules_of("Born 5 June 1944, seen Monday, due 2024-01-15 or 1/15/2024."),
                     "DATE:5 June 1944|DATE:Monday|DATE:2024-01-15|DATE:1/15/2024");
    cr_expect_str_eq(rules_of("It grew in 1960 but not in 1500 cases; the 1920s."),
                     "DATE:1960|DATE:1920s");
    cr_expect_str_eq(rules_of("Sept. 12 and December"), "DATE:Sept. 12|DATE:December");
}

Test(rules, money)
{
    cr_expect_str_eq(rules_of("It cost $3.5 million, €20 or 40 dollars and 5 cents."),
                     "MONEY:$3.5 million|MONEY:€20|MONEY:40 dollars|MONEY:5 cents");
    cr_expect_str_eq(rules_of("A lone $ sign and 7 apples"), "");
}

Test(rules, percentages)
{
    cr_expect_str_eq(rules_of("Up 12% then 3.5 percent, or 4 per cent."),
                     "PERCENT:12%|PERCENT:3.5 percent|PERCENT:4 per cent");
    cr_expect_str_eq(rules_of("the percent sign"), "");
}

Test(rules, emails)
{
    cr_expect_str_eq(rules_of("Write to john.doe+x@mail.example.com. Or <a_b@c-d.org>"),
                     "EMAIL:john.doe+x@mail.example.com|EMAIL:a_b@c-d.org");
    cr_expect_str_eq(rules_of("not@home, @x.com, a@b, a@.com, a@b..c"), "");
}

Test(rules, code_point_offsets_after_multibyte_text)
{
    const char *text = "Zoë paid €5";
    toks_t r = tokenize(text);
    ner_entities_t e = {0};
    cr_assert_eq(ner_rules(text, r.t, r.n, &e), TC_OK);
    cr_assert_eq(e.n, 1);
    cr_expect_eq(e.v[0].type, NER_MONEY);
    cr_expect_eq(e.v[0].start, 9);
    cr_expect_eq(e.v[0].end, 11);
    cr_expect_eq(e.v[0].byte_start, 10);
    cr_expect_eq(e.v[0].byte_end, 14);
    ner_entities_free(&e);
    free(r.t);
}

/* ------------------------------------------------------------------ hashing, features */

Test(hash, fnv1a_64_known_values)
{
    cr_expect_eq(ner_hash_bytes(NER_HASH_SEED, "", 0), 0xcbf29ce484222325ULL);
    cr_expect_eq(ner_hash_bytes(NER_HASH_SEED, "a", 1), 0xaf63dc4c8601ec8cULL);
    cr_expect_eq(ner_hash_lower(NER_HASH_SEED, "A", 1), 0xaf63dc4c8601ec8cULL);
    cr_expect_eq(ner_hash_lower(NER_HASH_SEED, "NeW YoRk", 8), 0xa361ce1f22a20d88ULL);
}

Test(hash, phrase_hash_is_lowercase_tokens_joined_by_one_space)
{
    toks_t r = tokenize("New \t York");
    cr_expect_eq(ner_phrase_hash(r.text, r.t, 0, r.n), 0xa361ce1f22a20d88ULL);
    free(r.t);
}

Test(hash, buckets_stay_in_the_table_and_spread)
{
    uint32_t mask = 1023;
    int used[1024] = {0};
    int distinct = 0;
    for (uint64_t h = 0; h < 4096; h++) {
        /* Sequential inputs are the worst case for a plain mask. */
        uint32_t b = ner_bucket(h, mask);
        cr_assert_leq(b, mask);
        distinct += used[b]++ == 0;
    }
    cr_expect_gt(distinct, 1000, "4096 keys reach only %d of 1024 buckets", distinct);
    cr_expect_eq(ner_bucket(12345, mask), ner_bucket(12345, mask));
}

Test(features, case_prev_tag_and_templates)
{
    toks_t a = tokenize("I met Paris today"), b = tokenize("I met PARIS today");
    uint64_t fa[NER_MAX_FEATS], fb[NER_MAX_FEATS], fc[NER_MAX_FEATS];
    size_t na = ner_features(NULL, a.text, a.t, 0, a.n, 2, NER_TAG_O, NER_TAG_O, fa);
    size_t nb = ner_features(NULL, b.text, b.t, 0, b.n, 2, NER_TAG_O, NER_TAG_O, fb);
    size_t nc = ner_features(NULL, a.text, a.t, 0, a.n, 2, NER_TAG_B, NER_TAG_O, fc);
    cr_assert_eq(na, nb);
    cr_assert_eq(na, nc);
    cr_assert_leq(na, NER_MAX_FEATS);
    cr_expect_eq(fa[1], fb[1], "the lower-case word is one feature whatever the case");
    cr_expect_neq(fa[2], fb[2], "the word as written differs");
    cr_expect_eq(fa[8], fb[8], "the previous word is the same");
    int differ = 0;
    for (size_t k = 0; k < na; k++)
        differ += fa[k] != fc[k];
    cr_expect_eq(differ, 4, "exactly the four tag features change with the previous tag");
    /* No two templates of one token collide. */
    for (size_t i = 0; i < na; i++)
        for (size_t j = i + 1; j < na; j++)
            cr_expect_neq(fa[i], fa[j], "features %zu and %zu share a hash", i, j);
    /* The shape collapses runs: "Paris" and "Lyon" are both "Xx", "PARIS" is "X". */
    toks_t l = tokenize("I met Lyon today");
    uint64_t fl[NER_MAX_FEATS];
    ner_features(NULL, l.text, l.t, 0, l.n, 2, NER_TAG_O, NER_TAG_O, fl);
    cr_expect_eq(fa[6], fl[6], "Paris and Lyon share a shape");
    cr_expect_neq(fa[6], fb[6], "Paris and PARIS do not");
    cr_expect_neq(fa[1], fl[1]);
    free(l.t);
    /* The first word of a sentence has one more feature. */
    uint64_t f0[NER_MAX_FEATS];
    cr_expect_eq(ner_features(NULL, a.text, a.t, 0, a.n, 0, NER_TAG_O, NER_TAG_O, f0), na + 1);
    free(a.t);
    free(b.t);
}

Test(features, scores_sum_bucket_weights)
{
    float w[16 * NER_NTAGS] = {0};
    uint64_t feats[2] = {7, 99};
    w[ner_bucket(7, 15) * NER_NTAGS + NER_TAG_B] += 1.5f;
    w[ner_bucket(99, 15) * NER_NTAGS + NER_TAG_B] += 1.0f;
    w[ner_bucket(99, 15) * NER_NTAGS + NER_TAG_O] -= 2.0f;
    float sc[NER_NTAGS];
    ner_scores(w, 15, feats, 2, sc);
    if (ner_bucket(7, 15) != ner_bucket(99, 15)) {
        cr_expect_float_eq(sc[NER_TAG_B], 2.5f, 1e-6);
        cr_expect_float_eq(sc[NER_TAG_O], -2.0f, 1e-6);
        cr_expect_float_eq(sc[NER_TAG_I], 0.0f, 1e-6);
    }
}

/* ------------------------------------------------------------------ BIO, spans */

Test(bio, decode)
{
    const uint8_t tags[] = {0, 1, 2, 2, 0, 2, 1, 1, 2};
    ner_span_t s[9];
    size_t n = ner_bio_decode(tags, 9, s);
    cr_assert_eq(n, 4);
    uint32_t want[][2] = {{1, 4}, {5, 6}, {6, 7}, {7, 9}};
    for (size_t k = 0; k < n; k++) {
        cr_expect_eq(s[k].a, want[k][0], "span %zu", k);
        cr_expect_eq(s[k].b, want[k][1], "span %zu", k);
    }
    cr_expect_eq(ner_bio_decode(tags, 1, s), 0);
    cr_expect_eq(ner_bio_decode(tags, 0, s), 0);
}

Test(bio, possessive_is_not_part_of_a_name)
{
    toks_t r = tokenize("Atlanta's Joneses' Paris S'");
    cr_expect_eq(ner_name_end(r.text, &r.t[0]), 7);
    cr_expect_eq(ner_name_end(r.text, &r.t[1]), 17);
    cr_expect_eq(ner_name_end(r.text, &r.t[2]), 24);
    free(r.t);
}

/* A gazetteer of a few phrases, sorted as the recipe writes it. */
static ner_gaz_entry_t gaz_entries[8];

static ner_gaz_t small_gaz(void)
{
    static const struct {
        const char *phrase;
        uint32_t flags;
    } src[] = {
        {"john", NER_GAZ_FIRST},        {"georgia", NER_GAZ_LOC | NER_GAZ_FIRST},
        {"paris", NER_GAZ_LOC},         {"new york", NER_GAZ_LOC},
        {"smith", NER_GAZ_LAST},        {"ibm", NER_GAZ_ORG},
        {"americans", NER_GAZ_DEMONYM}, {"oregon", NER_GAZ_LOC},
    };
    for (size_t k = 0; k < 8; k++) {
        gaz_entries[k].hash = ner_hash_lower(NER_HASH_SEED, src[k].phrase, strlen(src[k].phrase));
        gaz_entries[k].flags = src[k].flags;
    }
    for (size_t i = 1; i < 8; i++)
        for (size_t j = i; j > 0 && gaz_entries[j - 1].hash > gaz_entries[j].hash; j--) {
            ner_gaz_entry_t t = gaz_entries[j];
            gaz_entries[j] = gaz_entries[j - 1];
            gaz_entries[j - 1] = t;
        }
    return (ner_gaz_t){.e = gaz_entries, .n = 8};
}

/* The type of tokens [a, b) of text. */
static const char *type_of(const ner_gaz_t *g, const char *text, size_t a, size_t b)
{
    toks_t r = tokenize(text);
    cr_assert_leq(b, r.n);
    const char *name = ner_type_name(ner_type_span(g, text, r.t, r.n, a, b));
    free(r.t);
    return name;
}

Test(typing, gazetteer_and_context)
{
    ner_gaz_t g = small_gaz();
    cr_expect_eq(ner_gaz_lookup(&g, ner_hash_lower(NER_HASH_SEED, "paris", 5)), NER_GAZ_LOC);
    cr_expect_eq(ner_gaz_lookup(&g, ner_hash_lower(NER_HASH_SEED, "lyon", 4)), 0);
    cr_expect_str_eq(type_of(&g, "said Mr. Zorgon", 2, 3), "PERSON", "a title");
    cr_expect_str_eq(type_of(&g, "Acme Corp. grew", 0, 2), "ORGANIZATION", "a suffix inside");
    cr_expect_str_eq(type_of(&g, "Acme Corp. grew", 0, 1), "ORGANIZATION", "a suffix after");
    cr_expect_str_eq(type_of(&g, "the University of Zorgon", 3, 4), "ORGANIZATION");
    cr_expect_str_eq(type_of(&g, "IBM sold", 0, 1), "ORGANIZATION", "gazetteer");
    cr_expect_str_eq(type_of(&g, "we saw New York", 2, 4), "LOCATION", "a phrase");
    cr_expect_str_eq(type_of(&g, "John Zorgon left", 0, 2), "PERSON", "a first name");
    cr_expect_str_eq(type_of(&g, "J. Zorgon left", 0, 2), "PERSON", "an initial");
    cr_expect_str_eq(type_of(&g, "Zorgon Smith left", 0, 2), "PERSON", "a family name");
    cr_expect_str_eq(type_of(&g, "Georgia said", 0, 1), "PERSON", "a first name alone");
    cr_expect_str_eq(type_of(&g, "born in Georgia", 2, 3), "LOCATION", "a place after in");
    cr_expect_str_eq(type_of(&g, "born in Zorgon", 2, 3), "LOCATION", "in X");
    cr_expect_str_eq(type_of(&g, "Zorgon, Oregon", 0, 1), "LOCATION", "X, <place>");
    cr_expect_str_eq(type_of(&g, "Americans voted", 0, 1), "MISC", "a demonym");
    cr_expect_str_eq(type_of(&g, "Zorgon voted", 0, 1), "MISC");
}

/* ------------------------------------------------------------------ prediction */

/* Hand-made weights: every feature votes for one tag, so the tagger's answer is known. */
static float *weights_for(int tag, uint32_t mask)
{
    float *w = calloc((size_t)(mask + 1) * NER_NTAGS, sizeof *w);
    cr_assert_not_null(w);
    for (size_t b = 0; b <= mask; b++)
        w[b * NER_NTAGS + (size_t)tag] = 1.0f;
    return w;
}

Test(predict, everything_inside_names_one_span_per_sentence)
{
    float *w = weights_for(NER_TAG_I, 63);
    ner_gaz_t g = small_gaz();
    const char *text = "Alpha Zoë. Gamma's";
    ner_entities_t e = {0};
    cr_assert_eq(ner_predict_with(w, 63, &g, 1.0f, text, strlen(text), &e), TC_OK);
    cr_assert_eq(e.n, 2, "an I after O starts a span; sentences are tagged apart");
    cr_expect_eq(e.v[0].start, 0);
    cr_expect_eq(e.v[0].end, 10, "\"Alpha Zoë.\" in code points");
    cr_expect_eq(e.v[0].byte_end, 11);
    cr_expect_eq(e.v[1].start, 11);
    cr_expect_eq(e.v[1].end, 16, "\"Gamma\" without its possessive");
    cr_expect_float_eq(e.v[1].score, 1.0f, 0.01f);
    ner_entities_free(&e);
    free(w);
}

Test(predict, rules_win_over_names_and_results_are_sorted)
{
    float *w = weights_for(NER_TAG_B, 63); /* every token its own name */
    ner_gaz_t g = small_gaz();
    const char *text = "Pay $5 Bob";
    ner_entities_t e = {0};
    cr_assert_eq(ner_predict_with(w, 63, &g, 1.0f, text, strlen(text), &e), TC_OK);
    cr_assert_eq(e.n, 3);
    cr_expect_eq(e.v[0].start, 0);
    cr_expect_eq(e.v[1].type, NER_MONEY);
    cr_expect_eq(e.v[1].start, 4);
    cr_expect_eq(e.v[1].end, 6);
    cr_expect_eq(e.v[2].start, 7);
    cr_expect_gt(e.v[2].score, 0.99f, "every feature votes B: a sure name");
    ner_entities_free(&e);
    /* "Bob" has 23 features: scores (0, 23, 0) over a temperature of 23 are (0, 1, 0), and
     * the name probability is (e + 1) / (e + 2). */
    cr_assert_eq(ner_predict_with(w, 63, &g, 23.0f, text, strlen(text), &e), TC_OK);
    cr_assert_eq(e.n, 3);
    cr_expect_float_eq(e.v[2].score, 0.7881f, 0.001f);
    ner_entities_free(&e);
    free(w);
}

Test(predict, zero_weights_find_only_rules)
{
    float *w = calloc(16 * NER_NTAGS, sizeof *w);
    cr_assert_not_null(w);
    const char *text = "Mail a@b.io on May 5 about 3%";
    ner_entities_t e = {0};
    cr_assert_eq(ner_predict_with(w, 15, NULL, 1.0f, text, strlen(text), &e), TC_OK);
    cr_assert_eq(e.n, 3);
    cr_expect_eq(e.v[0].type, NER_EMAIL);
    cr_expect_eq(e.v[1].type, NER_DATE);
    cr_expect_eq(e.v[2].type, NER_PERCENT);
    ner_entities_free(&e);
    cr_assert_eq(ner_predict_with(w, 15, NULL, 1.0f, "", 0, &e), TC_OK);
    cr_expect_eq(e.n, 0);
    free(w);
}

Test(predict, capitalised_words_before_a_corporate_suffix_are_an_organisation)
{
    float *w = calloc(16 * NER_NTAGS, sizeof *w); /* the tagger finds nothing */
    cr_assert_not_null(w);
    const char *text = "Shares of Apple Inc. rose. Big Blue Widget Co. sold. the inc. dropped";
    ner_entities_t e = {0};
    cr_assert_eq(ner_predict_with(w, 15, NULL, 1.0f, text, strlen(text), &e), TC_OK);
    cr_assert_eq(e.n, 2);
    cr_expect_eq(e.v[0].type, NER_ORGANIZATION);
    cr_expect_eq(e.v[0].start, 10);
    cr_expect_eq(e.v[0].end, 15, "\"Apple\", the suffix is not part of a name (as in Brown)");
    cr_expect_eq(e.v[1].type, NER_ORGANIZATION);
    cr_expect_eq(e.v[1].start, 27);
    cr_expect_eq(e.v[1].end, 42, "\"Big Blue Widget\": three words at most");
    ner_entities_free(&e);
    free(w);
}

/* ------------------------------------------------------------------ loading */

static char *temp_file(const void *data, size_t n)
{
    char *path = strdup("/tmp/ner_test_XXXXXX");
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

Test(load, good_files_and_each_kind_of_bad_one)
{
    unsigned char wbuf[16 + 16 * 3 * 4] = "NERW0001";
    uint32_t whdr[2] = {4, 3};
    memcpy(wbuf + 8, whdr, 8);
    unsigned char gbuf[16 + 2 * sizeof(ner_gaz_entry_t)] = "NERG0001";
    uint32_t ghdr[2] = {2, 0};
    memcpy(gbuf + 8, ghdr, 8);
    ner_gaz_entry_t ge[2] = {{.hash = 1, .flags = NER_GAZ_LOC}, {.hash = 5, .flags = 1}};
    memcpy(gbuf + 16, ge, sizeof ge);
    char *wp = temp_file(wbuf, sizeof wbuf), *gp = temp_file(gbuf, sizeof gbuf);
    char *short_w = temp_file(wbuf, sizeof wbuf - 4);
    ge[0].hash = 9; /* unsorted */
    memcpy(gbuf + 16, ge, sizeof ge);
    char *unsorted = temp_file(gbuf, sizeof gbuf);
    char err[512];
    ner_model_t *m = NULL;

    cr_assert_eq(ner_model_load(wp, gp, 1.0f, &m, err, sizeof err), TC_OK, "%s", err);
    cr_expect_eq(ner_gaz_lookup(ner_model_gaz(m), 1), NER_GAZ_LOC);
    cr_expect_eq(ner_model_bytes(m), sizeof wbuf + sizeof gbuf);
    ner_entities_t e = {0};
    cr_expect_eq(ner_model_predict(m, "hello 5%", 8, &e), TC_OK);
    cr_expect_eq(e.n, 1);
    ner_entities_free(&e);
    ner_model_free(m);

    cr_expect_eq(ner_model_load("/nonexistent/ner.weights", gp, 1.0f, &m, err, sizeof err),
                 TC_EINVAL);
    cr_expect_null(m);
    cr_expect_not_null(strstr(err, "/nonexistent/ner.weights"), "%s", err);
    cr_expect_eq(ner_model_load(short_w, gp, 1.0f, &m, err, sizeof err), TC_EINVAL);
    cr_expect_not_null(strstr(err, "bad header or size"), "%s", err);
    cr_expect_eq(ner_model_load(gp, gp, 1.0f, &m, err, sizeof err), TC_EINVAL,
                 "a gazetteer as weights");
    cr_expect_eq(ner_model_load(wp, gp, 0.0f, &m, err, sizeof err), TC_EINVAL, "temperature 0");
    cr_expect_eq(ner_model_load(wp, unsorted, 1.0f, &m, err, sizeof err), TC_EINVAL);
    cr_expect_not_null(strstr(err, "not sorted"), "%s", err);
    for (char **p = (char *[]){wp, gp, short_w, unsorted, NULL}; *p; p++) {
        unlink(*p);
        free(*p);
    }
}

Test(types, names_round_trip)
{
    for (int t = 0; t < NER_NTYPES; t++)
        cr_expect_eq(ner_type_parse(ner_type_name(t)), t);
    cr_expect_eq(ner_type_parse("person"), -1);
    cr_expect_null(ner_type_name(NER_NTYPES));
    cr_expect(ner_type_is_name(NER_MISC));
    cr_expect_not(ner_type_is_name(NER_DATE));
}
