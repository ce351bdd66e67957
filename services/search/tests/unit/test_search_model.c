/* Unit tests for the search service's domain (search_model.c): query plans, the tsquery texts
 * they render, typo budgets and distances, documents, cursors. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_core.h"

static search_plan_t plan;
static tc_buf_t buf;

static void setup(void)
{
    tc_buf_init(&buf);
}

static void teardown(void)
{
    tc_buf_free(&buf);
}

static const char *tsq(search_tsq_kind_t kind)
{
    cr_assert_eq(search_plan_tsquery(&plan, kind, &buf), TC_OK);
    return tc_buf_cstr(&buf);
}

static void parse(const char *q)
{
    cr_assert_eq(search_plan_parse(&plan, q, true, true), TC_OK, "%s", q);
}

TestSuite(plan, .init = setup, .fini = teardown);

Test(plan, typo_budget_follows_meilisearch)
{
    cr_assert_eq(search_typo_budget(1), 0);
    cr_assert_eq(search_typo_budget(4), 0);
    cr_assert_eq(search_typo_budget(5), 1);
    cr_assert_eq(search_typo_budget(8), 1);
    cr_assert_eq(search_typo_budget(9), 2);
    cr_assert_eq(search_typo_budget(30), 2);
}

Test(plan, words_are_and_ed_and_the_last_is_a_prefix)
{
    parse("Quarterly Report");
    cr_assert_eq(plan.nwords, 2);
    cr_assert_eq(plan.nclauses, 2);
    cr_assert_str_eq(plan.words[0].text, "quarterly");
    cr_assert_not(plan.words[0].prefix);
    cr_assert(plan.words[1].prefix);
    cr_assert_eq(plan.words[0].typos, 2);
    cr_assert_eq(plan.words[1].typos, 1);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'quarterly' & 'report':*");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT), "'quarterly' | 'report'");
    cr_assert_str_eq(tsq(SEARCH_TSQ_PHRASE), "'quarterly' <-> 'report'");
    cr_assert_str_eq(tsq(SEARCH_TSQ_PREFIX), "'report':*");
    cr_assert_str_eq(tsq(SEARCH_TSQ_TYPO), "");
}

Test(plan, a_trailing_space_ends_the_prefix)
{
    parse("report ");
    cr_assert_not(plan.words[0].prefix);
    cr_assert_str_eq(tsq(SEARCH_TSQ_PREFIX), "");
    cr_assert_eq(search_plan_parse(&plan, "report", false, true), TC_OK);
    cr_assert_not(plan.words[0].prefix, "prefix=false: the user finished typing");
}

Test(plan, phrases_are_adjacent_words_without_prefix_or_typos)
{
    parse("\"annual budget\" review");
    cr_assert_eq(plan.nalts, 2);
    cr_assert(plan.alts[0].phrase);
    cr_assert_eq(plan.words[0].typos, 0);
    cr_assert_eq(plan.words[1].typos, 0);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "('annual' <-> 'budget') & 'review':*");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT), "('annual' <-> 'budget') | 'review'");
}

Test(plan, an_unclosed_quote_is_a_phrase_to_the_end)
{
    parse("\"annual budget");
    cr_assert_eq(plan.nalts, 1);
    cr_assert(plan.alts[0].phrase);
    cr_assert_not(plan.words[1].prefix, "inside a phrase no prefix");
}

Test(plan, minus_negates_a_word_or_a_phrase)
{
    parse("invoice -draft -\"old copy\"");
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'invoice' & !('draft') & !('old' <-> 'copy')");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT), "'invoice'");
    cr_assert_eq(plan.words[1].typos, 0, "negated words get no typos");
    cr_assert_not(plan.words[1].prefix);
    cr_assert(search_plan_has_positive(&plan));
}

Test(plan, a_hyphen_inside_a_word_does_not_negate)
{
    parse("e-mail");
    cr_assert_eq(plan.nwords, 2);
    cr_assert_not(plan.alts[1].negated);
}

Test(plan, or_joins_alternatives_of_one_clause)
{
    parse("report OR summary 2024");
    cr_assert_eq(plan.nclauses, 2);
    cr_assert_eq(plan.clauses[0].count, 2);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "('report' | 'summary') & '2024':*");
}

Test(plan, a_dangling_or_is_ignored_and_lower_case_or_is_a_word)
{
    parse("OR report OR");
    cr_assert_eq(plan.nwords, 1);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'report'");
    parse("this or that ");
    cr_assert_eq(plan.nwords, 3);
}

Test(plan, typo_candidates_widen_the_match_and_have_their_own_part)
{
    parse("reprot ");
    search_word_add_candidate(&plan.words[0], "report");
    search_word_add_candidate(&plan.words[0], "report");  /* duplicate */
    search_word_add_candidate(&plan.words[0], "reprot");  /* the word itself */
    search_word_add_candidate(&plan.words[0], "re'port"); /* not a lexeme */
    cr_assert_eq(plan.words[0].ncands, 1);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "('reprot' | 'report')");
    cr_assert_str_eq(tsq(SEARCH_TSQ_TYPO), "'report'");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT), "'reprot'");
}

TestSuite(synonyms, .init = setup, .fini = teardown);

Test(synonyms, a_free_word_matches_its_synonyms_in_the_match_and_exact_parts)
{
    parse("nyc car ");
    search_word_add_synonym(&plan.words[0], "new york");
    search_word_add_synonym(&plan.words[1], "automobile");
    search_word_add_candidate(&plan.words[1], "cat");
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH),
                     "('nyc' | ('new' <-> 'york')) & ('car' | 'cat' | 'automobile')");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT),
                     "('nyc' | ('new' <-> 'york')) | ('car' | 'automobile')");
    cr_assert_str_eq(tsq(SEARCH_TSQ_TYPO), "'cat'", "a synonym is not a typo");
}

Test(synonyms, the_prefix_word_keeps_its_prefix_beside_its_synonyms)
{
    parse("nyc");
    search_word_add_synonym(&plan.words[0], "new york");
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "('nyc':* | ('new' <-> 'york'))");
}

Test(synonyms, negated_and_phrase_words_take_none)
{
    parse("report -car \"big car\"");
    cr_assert(search_plan_word_free(&plan, 0));
    cr_assert_not(search_plan_word_free(&plan, 1), "negated");
    cr_assert_not(search_plan_word_free(&plan, 2), "in a phrase");
    cr_assert_not(search_plan_word_free(&plan, 3), "in a phrase");
    cr_assert_not(search_plan_word_free(&plan, 4), "no such word");
    parse("\"car\" ");
    cr_assert_not(search_plan_word_free(&plan, 0), "one quoted word is taken as typed");
    search_word_add_synonym(&plan.words[0], "automobile");
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'car'");
}

Test(synonyms, a_multi_word_key_matches_its_words_or_its_synonyms)
{
    parse("new york pizza");
    cr_assert(search_plan_span_ok(&plan, 0, 2));
    cr_assert(search_plan_span_ok(&plan, 0, 3));
    cr_assert_not(search_plan_span_ok(&plan, 0, 1), "one word is not a span");
    cr_assert_not(search_plan_span_ok(&plan, 2, 2), "past the last word");
    search_plan_add_span_synonym(&plan, 0, 2, "NYC");
    search_plan_add_span_synonym(&plan, 0, 2, "big apple");
    search_plan_add_span_synonym(&plan, 0, 2, "new york"); /* the words themselves */
    search_plan_add_span_synonym(&plan, 1, 2, "yorker");   /* overlaps: the first one wins */
    cr_assert_eq(plan.nspans, 1);
    cr_assert_eq(plan.spans[0].nsyns, 2);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH),
                     "(('new' & 'york') | 'nyc' | ('big' <-> 'apple')) & 'pizza':*");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT),
                     "'new' | 'york' | 'pizza' | 'nyc' | ('big' <-> 'apple')");
    char words[64];
    search_plan_words(&plan, 0, 2, words, sizeof words);
    cr_assert_str_eq(words, "new york");
}

Test(synonyms, a_span_is_only_free_words_in_clauses_of_their_own)
{
    parse("new OR old york");
    cr_assert_not(search_plan_span_ok(&plan, 0, 2), "an alternative");
    cr_assert_not(search_plan_span_ok(&plan, 1, 2), "an alternative");
    parse("\"new york\" city");
    cr_assert_not(search_plan_span_ok(&plan, 0, 2), "a quoted phrase");
    parse("new -york");
    cr_assert_not(search_plan_span_ok(&plan, 0, 2), "a negated word");
    search_plan_add_span_synonym(&plan, 0, 2, "nyc");
    cr_assert_eq(plan.nspans, 0);
    parse("a b c d e");
    cr_assert(search_plan_span_ok(&plan, 1, 4));
    cr_assert_not(search_plan_span_ok(&plan, 0, 5), "at most 4 words");
}

Test(synonyms, added_synonyms_are_normalized_deduplicated_and_capped)
{
    parse("car ");
    search_word_add_synonym(&plan.words[0], "  Auto  Mobile ");
    search_word_add_synonym(&plan.words[0], "auto mobile"); /* the same, normalized */
    search_word_add_synonym(&plan.words[0], "CAR");         /* the word itself */
    search_word_add_synonym(&plan.words[0], "a'b");         /* not words */
    search_word_add_synonym(&plan.words[0], "a b c d e");   /* five words */
    cr_assert_eq(plan.words[0].nsyns, 1);
    cr_assert_str_eq(plan.words[0].syns[0], "auto mobile");
    char syn[16];
    for (int i = 0; i < SEARCH_MAX_SYNONYMS + 2; i++) {
        snprintf(syn, sizeof syn, "s%d", i);
        search_word_add_synonym(&plan.words[0], syn);
    }
    cr_assert_eq(plan.words[0].nsyns, SEARCH_MAX_SYNONYMS);
}

Test(synonyms, normalize_accepts_words_of_letters_and_digits_only)
{
    char out[SEARCH_SYNONYM_MAX + 1];
    cr_assert_eq(search_synonym_normalize("\tNew\t York ", 4, out, sizeof out), TC_OK);
    cr_assert_str_eq(out, "new york");
    cr_assert_eq(search_synonym_normalize("Café", 1, out, sizeof out), TC_OK);
    cr_assert_str_eq(out, "caf\xc3\xa9", "only ASCII is lower-cased here");
    cr_assert_eq(search_synonym_normalize("new york", 1, out, sizeof out), TC_EINVAL);
    cr_assert_eq(search_synonym_normalize("", 4, out, sizeof out), TC_EINVAL);
    cr_assert_eq(search_synonym_normalize("   ", 4, out, sizeof out), TC_EINVAL);
    cr_assert_eq(search_synonym_normalize("new-york", 4, out, sizeof out), TC_EINVAL);
    cr_assert_eq(search_synonym_normalize("'a' | b", 4, out, sizeof out), TC_EINVAL);
    cr_assert_eq(search_synonym_normalize("new york", 4, out, 8), TC_EINVAL, "does not fit");
    char longword[SEARCH_WORD_MAX + 2];
    memset(longword, 'a', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    cr_assert_eq(search_synonym_normalize(longword, 4, out, sizeof out), TC_EINVAL);
}

Test(synonyms, an_entry_of_the_body_is_checked_and_normalized)
{
    search_synonym_entry_t *e = malloc(sizeof *e);
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *v = cJSON_Parse("[\"New York\", \"new  york\", \"NYC\", \"big apple\"]");
    cr_assert(search_synonym_entry(e, &jv, "NYC", v));
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(e->word, "nyc");
    cr_assert_eq(e->nsyns, 2, "the duplicate and the word itself are dropped");
    cr_assert_str_eq(e->syns[1], "big apple");
    cJSON_Delete(v);

    const char *bad[] = {"[]",
                         "\"york\"",
                         "[1]",
                         "[\"CAR\"]",
                         "[\"a-b\"]",
                         "[\"a b c d e\"]",
                         "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\","
                         "\"m\",\"n\",\"o\",\"p\",\"q\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_jv_t j2;
        tc_jv_init(&j2);
        v = cJSON_Parse(bad[i]);
        cr_assert_not(search_synonym_entry(e, &j2, "car", v), "%s", bad[i]);
        cr_assert(tc_jv_failed(&j2), "%s", bad[i]);
        cJSON_Delete(v);
        tc_jv_free(&j2);
    }
    v = cJSON_Parse("[\"nyc\"]");
    cr_assert(search_synonym_entry(e, &jv, " New  York ", v), "a key of several words");
    cr_assert_str_eq(e->word, "new york");
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_not(search_synonym_entry(e, &jv, "a b c d e", v), "a key is at most 4 words");
    cr_assert_not(search_synonym_entry(e, &jv, "", v));
    cr_assert(tc_jv_failed(&jv));
    cJSON_Delete(v);
    tc_jv_free(&jv);
    free(e);
}

Test(plan, candidates_are_capped)
{
    parse("abcdefghij ");
    const char *c[] = {"abcdefghik", "abcdefghil", "abcdefghim", "abcdefghin", "abcdefghio"};
    for (size_t i = 0; i < 5; i++)
        search_word_add_candidate(&plan.words[0], c[i]);
    cr_assert_eq(plan.words[0].ncands, SEARCH_MAX_TYPOS);
}

Test(plan, numbers_and_short_words_get_no_typos)
{
    parse("20245678 cat ");
    cr_assert_eq(plan.words[0].typos, 0);
    cr_assert_eq(plan.words[1].typos, 0);
    cr_assert_eq(search_plan_parse(&plan, "elephant", true, false), TC_OK);
    cr_assert_eq(plan.words[0].typos, 0, "typo_tolerance=false");
}

Test(plan, punctuation_cannot_reach_the_tsquery)
{
    parse("a'b & c|d ! (e) :* <-> f\\g");
    const char *m = tsq(SEARCH_TSQ_MATCH);
    for (const char *p = m; *p; p++)
        cr_assert(strchr("abcdefg' &|:*", *p), "unexpected %c in %s", *p, m);
    cr_assert_eq(plan.nwords, 7);
}

Test(plan, letters_outside_ascii_are_kept_and_ascii_is_lower_cased)
{
    parse("Émile CAFÉ");
    cr_assert_str_eq(plan.words[0].text, "Émile");
    cr_assert_eq(plan.words[0].letters, 5);
    cr_assert_eq(plan.words[0].typos, 1);
    cr_assert_str_eq(plan.words[1].text, "cafÉ");
}

Test(plan, empty_or_punctuation_only_is_browse)
{
    parse("");
    cr_assert_eq(plan.nwords, 0);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "");
    parse("  --- !!! ");
    cr_assert_eq(plan.nwords, 0);
    cr_assert_not(search_plan_has_positive(&plan));
    cr_assert_eq(search_plan_parse(&plan, NULL, true, true), TC_OK);
}

Test(plan, only_negations_have_no_positive_word)
{
    parse("-draft");
    cr_assert_not(search_plan_has_positive(&plan));
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "!('draft')");
}

Test(plan, too_long_or_invalid_utf8_is_refused)
{
    char q[SEARCH_Q_MAX + 2];
    memset(q, 'a', sizeof q - 1);
    q[sizeof q - 1] = '\0';
    cr_assert_eq(search_plan_parse(&plan, q, true, true), TC_EINVAL);
    cr_assert_eq(search_plan_parse(&plan, "caf\xC3", true, true), TC_EINVAL);
}

Test(plan, words_beyond_the_maximum_are_dropped_and_reported)
{
    char q[256] = "";
    for (int i = 0; i < SEARCH_MAX_WORDS + 4; i++)
        strcat(q, "w ");
    parse(q);
    cr_assert_eq(plan.nwords, SEARCH_MAX_WORDS);
    cr_assert(plan.truncated);
}

Test(plan, long_words_are_cut_on_a_code_point)
{
    char q[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(q, "é"); /* 80 bytes */
    parse(q);
    cr_assert_leq(strlen(plan.words[0].text), SEARCH_WORD_MAX);
    cr_assert_eq(strlen(plan.words[0].text) % 2, 0);
    cr_assert_eq(plan.words[0].letters, SEARCH_WORD_MAX / 2);
}

/* ------------------------------------------------------------------ edit distance */

/* Marks the words of the plan that are in stops (the store asks the language's dictionary). */
static void mark_stop(const char *const *stops)
{
    for (int i = 0; i < plan.nwords; i++)
        for (const char *const *s = stops; *s; s++)
            if (strcmp(plan.words[i].text, *s) == 0)
                plan.words[i].stop = true;
}

static const char *const EN_STOPS[] = {"the", "of", "a", "who", NULL};

TestSuite(stop, .init = setup, .fini = teardown);

Test(stop, free_stop_words_leave_every_part_of_the_query)
{
    cr_assert_eq(search_plan_parse(&plan, "The state of the art", false, true), TC_OK);
    mark_stop(EN_STOPS);
    cr_assert_eq(search_plan_drop_stop_words(&plan), 3);
    cr_assert(plan.words[0].dropped && plan.words[2].dropped && plan.words[3].dropped);
    cr_assert_not(plan.words[1].dropped);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'state' & 'art'");
    cr_assert_str_eq(tsq(SEARCH_TSQ_EXACT), "'state' | 'art'");
    /* the words left out still stand between the others in a text that says it whole */
    cr_assert_str_eq(tsq(SEARCH_TSQ_PHRASE), "'state' <3> 'art'");
    cr_assert(search_plan_has_positive(&plan));
}

Test(stop, phrases_negations_alternatives_and_the_typed_word_keep_theirs)
{
    parse("\"the art\" -the a OR report of");
    mark_stop(EN_STOPS);
    cr_assert_not(search_plan_word_droppable(&plan, 0)); /* in a phrase */
    cr_assert_not(search_plan_word_droppable(&plan, 2)); /* negated */
    cr_assert_not(search_plan_word_droppable(&plan, 3)); /* one of an OR */
    cr_assert_not(search_plan_word_droppable(&plan, 5)); /* being typed: "of" -> "offer" */
    cr_assert_eq(search_plan_drop_stop_words(&plan), 0);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH),
                     "('the' <-> 'art') & !('the') & ('a' | 'report') & 'of':*");
}

Test(stop, a_query_of_stop_words_only_is_taken_as_typed)
{
    cr_assert_eq(search_plan_parse(&plan, "the who", false, true), TC_OK);
    mark_stop(EN_STOPS);
    cr_assert_eq(search_plan_drop_stop_words(&plan), 0);
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'the' & 'who'");
    /* with a negated word beside them there is still nothing positive without them */
    cr_assert_eq(search_plan_parse(&plan, "the who -band", false, true), TC_OK);
    mark_stop(EN_STOPS);
    cr_assert_eq(search_plan_drop_stop_words(&plan), 0);
}

Test(stop, a_dropped_word_gets_no_typos_synonyms_or_span)
{
    cr_assert_eq(search_plan_parse(&plan, "the quarterly report", false, true), TC_OK);
    mark_stop(EN_STOPS);
    cr_assert_eq(plan.words[0].typos, 0); /* too short anyway */
    cr_assert_eq(search_plan_drop_stop_words(&plan), 1);
    cr_assert_not(search_plan_word_free(&plan, 0));
    cr_assert_not(search_plan_span_ok(&plan, 0, 2));
    cr_assert(search_plan_span_ok(&plan, 1, 2));
    cr_assert_str_eq(tsq(SEARCH_TSQ_MATCH), "'quarterly' & 'report'");
}

Test(stop, dictionaries_by_the_primary_subtag)
{
    cr_assert_str_eq(search_stop_dictionary("en"), "search_stop_english");
    cr_assert_str_eq(search_stop_dictionary("EN-gb"), "search_stop_english");
    cr_assert_str_eq(search_stop_dictionary("pt-BR"), "search_stop_portuguese");
    cr_assert_str_eq(search_stop_dictionary("nb"), "search_stop_norwegian");
    cr_assert_null(search_stop_dictionary("ja"));  /* no list: every word counts */
    cr_assert_null(search_stop_dictionary("eng")); /* a three-letter code has none here */
    cr_assert_null(search_stop_dictionary("e"));
    cr_assert_null(search_stop_dictionary("english"));
    cr_assert_null(search_stop_dictionary(NULL));
}

Test(stem, configurations_by_the_primary_subtag)
{
    cr_assert_str_eq(search_stem_config("en-US"), "search_english");
    cr_assert_str_eq(search_stem_config("DE"), "search_german");
    cr_assert_str_eq(search_stem_config("nn"), "search_norwegian");
    /* a stemmer without a stop list */
    cr_assert_str_eq(search_stem_config("ro"), "search_romanian");
    cr_assert_null(search_stop_dictionary("ro"));
    cr_assert_null(search_stem_config("ja")); /* no stemmer: words as written */
    cr_assert_null(search_stem_config("simple"));
    cr_assert_null(search_stem_config("en_US")); /* not a tag's shape: the simple fallback */
    cr_assert_null(search_stem_config(""));
    cr_assert_null(search_stem_config(NULL));
}

Test(stem, the_map_holds_every_code_as_search_stem_config_reads_it)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(search_stem_map_json(&b), TC_OK);
    cJSON *map = cJSON_Parse(tc_buf_cstr(&b));
    cr_assert_not_null(map);
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        cr_assert(cJSON_IsString(e));
        cr_assert_str_eq(search_stem_config(e->string), e->valuestring, "%s", e->string);
        n++;
    }
    cr_assert_eq(n, 30);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(map, "pt")->valuestring, "search_portuguese");
    cJSON_Delete(map);
    tc_buf_free(&b);
}

Test(stop, the_query_language_is_lang_else_the_header)
{
    static const struct {
        const char *lang, *header, *want;
        bool refused;
    } cases[] = {
        {"en-GB", "fr", "en", false}, /* lang wins over the header */
        {NULL, "fr-CA, en;q=0.5", "fr", false},
        {"ja", "fr", "", false},   /* a language without a list: every word counts */
        {"ro", NULL, "ro", false}, /* no stop list, a stemmer: the query's language */
        {NULL, NULL, "", false},
        {"english", NULL, "", true}, /* libcommon's tc_lang_tag_valid decides the shape */
        {"en_GB", "en", "", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        search_query_t *sq = malloc(sizeof *sq);
        cr_assert_not_null(sq);
        tc_jv_t jv;
        tc_jv_init(&jv);
        search_query_build(sq, &jv, "the zebra", NULL, NULL, 20, 0, false, false, true);
        search_query_lang(sq, &jv, cases[i].lang, cases[i].header);
        cr_assert_eq(tc_jv_failed(&jv), cases[i].refused, "case %zu", i);
        cr_assert_str_eq(sq->lang, cases[i].want, "case %zu", i);
        tc_jv_free(&jv);
        free(sq);
    }
}

Test(stop, accept_language_picks_the_best_language_with_stop_words)
{
    char lang[8];
    search_lang_from_accept("fr-CA,fr;q=0.9,en;q=0.8", lang, sizeof lang);
    cr_assert_str_eq(lang, "fr");
    search_lang_from_accept("ja, en-GB;q=0.5, de;q=0.7", lang, sizeof lang);
    cr_assert_str_eq(lang, "de"); /* ja has no list here */
    search_lang_from_accept("ja, el;q=0.4", lang, sizeof lang);
    cr_assert_str_eq(lang, "el"); /* a stemmer without a stop list counts */
    search_lang_from_accept("en;q=0.5,de;q=0.5", lang, sizeof lang);
    cr_assert_str_eq(lang, "en"); /* the first of equals */
    search_lang_from_accept("de;q=0, *", lang, sizeof lang);
    cr_assert_str_eq(lang, ""); /* q=0 refuses; * names no language */
    search_lang_from_accept("en;q=abc", lang, sizeof lang);
    cr_assert_str_eq(lang, "");
    search_lang_from_accept(NULL, lang, sizeof lang);
    cr_assert_str_eq(lang, "");
}

Test(distance, counts_edits_and_swaps_as_one_typo)
{
    cr_assert_eq(search_edit_distance("report", "report", 2), 0);
    cr_assert_eq(search_edit_distance("report", "reprt", 2), 1);      /* deletion */
    cr_assert_eq(search_edit_distance("report", "repoort", 2), 1);    /* insertion */
    cr_assert_eq(search_edit_distance("report", "rephrt", 2), 1);     /* substitution */
    cr_assert_eq(search_edit_distance("dijkstra", "dijkstar", 2), 1); /* swap */
    cr_assert_eq(search_edit_distance("kitten", "sitting", 5), 3);
}

Test(distance, is_capped_at_max_plus_one)
{
    cr_assert_eq(search_edit_distance("abc", "xyz", 1), 2);
    cr_assert_eq(search_edit_distance("a", "abcdef", 2), 3);
}

Test(distance, counts_code_points_not_bytes)
{
    cr_assert_eq(search_edit_distance("café", "cafe", 2), 1);
    cr_assert_eq(search_edit_distance("ñandú", "ñandu", 2), 1);
}

/* ------------------------------------------------------------------ query parameters */

Test(query, types_from_csv_and_json)
{
    search_query_t sq;
    tc_jv_t jv;
    tc_jv_init(&jv);
    search_query_build(&sq, &jv, "x", "user,org,user,", NULL, 20, 0, false, true, true);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(sq.ntypes, 2);
    cr_assert_str_eq(sq.types[1], "org");
    cJSON *arr = cJSON_Parse("[\"workflow\", \"Bad-Type\"]");
    search_query_build(&sq, &jv, "x", NULL, arr, 20, 0, false, true, true);
    cr_assert(tc_jv_failed(&jv));
    cJSON_Delete(arr);
    tc_jv_free(&jv);
}

Test(query, a_get_filter_collects_values_by_field)
{
    search_query_t *sq = calloc(1, sizeof *sq);
    tc_jv_t jv;
    tc_jv_init(&jv);
    search_query_filter(sq, &jv, "status:active,role:admin,role:owner,note:a:b", NULL);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(sq->filter,
                     "{\"status\":[\"active\"],\"role\":[\"admin\",\"owner\"],\"note\":[\"a:b\"]}");
    search_query_filter(sq, &jv, "", NULL);
    cr_assert_str_eq(sq->filter, "", "no filter");
    const char *bad[] = {"status", "bad-name:x", "9lives:x",
                         ":x",     "a:1,",       "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_jv_t j2;
        tc_jv_init(&j2);
        search_query_filter(sq, &j2, bad[i], NULL);
        cr_assert(tc_jv_failed(&j2), "%s", bad[i]);
        tc_jv_free(&j2);
    }
    tc_jv_free(&jv);
    free(sq);
}

Test(query, a_post_filter_takes_scalars_and_arrays_of_them)
{
    search_query_t *sq = calloc(1, sizeof *sq);
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *f = cJSON_Parse("{\"status\":\"active\",\"steps\":3,\"on\":true,"
                           "\"role\":[\"admin\",\"owner\"]}");
    search_query_filter(sq, &jv, NULL, f);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(sq->filter, "{\"status\":[\"active\"],\"steps\":[\"3\"],\"on\":[\"true\"],"
                                 "\"role\":[\"admin\",\"owner\"]}");
    cJSON_Delete(f);
    const char *bad[] = {"[1]",        "{\"a\":1e300}",     "{\"a\":null}",  "{\"a\":1.5}",
                         "{\"a\":[]}", "{\"a\":{\"b\":1}}", "{\"a\":[[1]]}", "{\"a-b\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_jv_t j2;
        tc_jv_init(&j2);
        f = cJSON_Parse(bad[i]);
        search_query_filter(sq, &j2, NULL, f);
        cr_assert(tc_jv_failed(&j2), "%s", bad[i]);
        cJSON_Delete(f);
        tc_jv_free(&j2);
    }
    tc_jv_free(&jv);
    free(sq);
}

Test(query, sort_names_relevance_updated_at_or_a_field)
{
    search_query_t *sq = calloc(1, sizeof *sq);
    tc_jv_t jv;
    tc_jv_init(&jv);
    search_query_sort(sq, &jv, NULL);
    cr_assert_eq(sq->sort_by, SEARCH_SORT_RELEVANCE);
    search_query_sort(sq, &jv, "updated_at");
    cr_assert(sq->sort_by == SEARCH_SORT_UPDATED && sq->sort_desc, "newest first by default");
    search_query_sort(sq, &jv, "updated_at:asc");
    cr_assert(sq->sort_by == SEARCH_SORT_UPDATED && !sq->sort_desc);
    search_query_sort(sq, &jv, "fields.priority");
    cr_assert(sq->sort_by == SEARCH_SORT_FIELD && !sq->sort_desc);
    cr_assert_str_eq(sq->sort_field, "priority");
    search_query_sort(sq, &jv, "fields.priority:desc");
    cr_assert(sq->sort_desc);
    cr_assert_not(tc_jv_failed(&jv));
    const char *bad[] = {"score", "updated_at:up", "fields.", "fields.a-b", "fields.x:", "title"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_jv_t j2;
        tc_jv_init(&j2);
        search_query_sort(sq, &j2, bad[i]);
        cr_assert(tc_jv_failed(&j2), "%s", bad[i]);
        cr_assert_eq(sq->sort_by, SEARCH_SORT_RELEVANCE, "%s", bad[i]);
        tc_jv_free(&j2);
    }
    tc_jv_free(&jv);
    free(sq);
}

Test(query, a_long_q_is_a_validation_error)
{
    search_query_t sq;
    tc_jv_t jv;
    char q[SEARCH_Q_MAX + 10];
    memset(q, 'x', sizeof q - 1);
    q[sizeof q - 1] = '\0';
    tc_jv_init(&jv);
    search_query_build(&sq, &jv, q, NULL, NULL, 20, 0, false, true, true);
    cr_assert(tc_jv_failed(&jv));
    tc_jv_free(&jv);
}

Test(cursor, offsets_round_trip_and_stop_at_the_cap)
{
    char key[32];
    int off = -1;
    search_next_key(0, 20, 20, key, sizeof key);
    cr_assert_str_eq(key, "o20");
    cr_assert_eq(search_offset_from_key(key, &off), TC_OK);
    cr_assert_eq(off, 20);
    search_next_key(20, 20, 7, key, sizeof key);
    cr_assert_str_eq(key, "", "a short page is the last");
    search_next_key(SEARCH_MAX_OFFSET - 20, 20, 20, key, sizeof key);
    cr_assert_str_eq(key, "");
    cr_assert_eq(search_offset_from_key("", &off), TC_OK);
    cr_assert_eq(off, 0);
    cr_assert_eq(search_offset_from_key("o", &off), TC_EINVAL);
    cr_assert_eq(search_offset_from_key("x5", &off), TC_EINVAL);
    cr_assert_eq(search_offset_from_key("o-5", &off), TC_EINVAL);
    cr_assert_eq(search_offset_from_key("o99999999999999", &off), TC_EINVAL);
}

/* ------------------------------------------------------------------ documents */

Test(doc, a_searchable_document_is_validated)
{
    cJSON *data = cJSON_Parse("{\"org_id\":\"org_1\",\"type\":\"workflow\",\"id\":\"wf_1\","
                              "\"title\":\"Nightly export\",\"body\":\"copies rows\","
                              "\"fields\":{\"owner\":\"ann\"},\"version\":3,"
                              "\"updated_at\":\"2026-01-02T03:04:05Z\"}");
    tc_jv_t jv;
    search_doc_t d;
    tc_jv_init(&jv);
    search_doc_from_json(&d, &jv, data);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(d.version, 3);
    cr_assert_str_eq(d.locale, "simple");
    cr_assert_eq(d.min_role, TC_ROLE_VIEWER); /* every member, when not said */
    cr_assert_str_eq(d.fields_json, "{\"owner\":\"ann\"}");
    cr_assert_str_eq(d.updated_at, "2026-01-02T03:04:05.000Z");
    search_doc_clear(&d);
    tc_jv_free(&jv);
    cJSON_Delete(data);
}

Test(doc, min_role_names_the_least_role_that_finds_it)
{
    static const struct {
        const char *json;
        int level;
    } cases[] = {
        {"\"viewer\"", TC_ROLE_VIEWER},
        {"\"editor\"", TC_ROLE_EDITOR},
        {"\"admin\"", TC_ROLE_ADMIN},
        {"\"owner\"", TC_ROLE_OWNER},
        {"\"member\"", -1},
        {"\"Admin\"", -1},
        {"3", -1},
        {"null", TC_ROLE_VIEWER}, /* null is "not said", as for every optional member */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"org_id\":\"org_1\",\"type\":\"note\",\"id\":\"n1\",\"title\":\"t\","
                 "\"version\":1,\"updated_at\":\"2026-01-02T03:04:05Z\",\"min_role\":%s}",
                 cases[i].json);
        cJSON *data = cJSON_Parse(text);
        tc_jv_t jv;
        search_doc_t d;
        tc_jv_init(&jv);
        search_doc_from_json(&d, &jv, data);
        if (cases[i].level < 0) {
            cr_assert(tc_jv_failed(&jv), "%s accepted", cases[i].json);
        } else {
            cr_assert_not(tc_jv_failed(&jv), "%s refused", cases[i].json);
            cr_assert_eq(d.min_role, cases[i].level, "%s", cases[i].json);
        }
        search_doc_clear(&d);
        tc_jv_free(&jv);
        cJSON_Delete(data);
    }
}

Test(doc, every_bad_field_is_reported)
{
    cJSON *data = cJSON_Parse("{\"org_id\":\"\",\"type\":\"Work Flow\",\"id\":\"a/b\","
                              "\"version\":0,\"updated_at\":\"yesterday\",\"extra\":1,"
                              "\"fields\":[]}");
    tc_jv_t jv;
    search_doc_t d;
    tc_jv_init(&jv);
    search_doc_from_json(&d, &jv, data);
    /* org_id, type, id, title, version, updated_at, extra, fields */
    cr_assert_geq(jv.count, 8, "%d errors", jv.count);
    search_doc_clear(&d);
    tc_jv_free(&jv);
    cJSON_Delete(data);
}

Test(doc, a_user_is_a_document_of_its_org)
{
    cJSON *u = cJSON_Parse("{\"id\":\"usr_1\",\"org_id\":\"org_1\",\"email\":\"ann@x.io\","
                           "\"name\":\"Ann Lee\",\"role\":\"editor\",\"status\":\"active\","
                           "\"version\":2,\"created_at\":\"2026-01-01T00:00:00Z\","
                           "\"updated_at\":\"2026-01-02T00:00:00Z\",\"deleted_at\":null}");
    search_doc_t d;
    cr_assert_eq(search_doc_from_user(&d, u), TC_OK);
    cr_assert_str_eq(d.type, "user");
    cr_assert_str_eq(d.org_id, "org_1");
    cr_assert_str_eq(d.title, "Ann Lee");
    cr_assert_str_eq(d.body, "ann@x.io");
    cr_assert_eq(d.version, 2);
    cr_assert(strstr(d.fields_json, "\"role\":\"editor\""));
    cr_assert_not(search_user_gone(u));
    search_doc_clear(&d);
    cJSON_ReplaceItemInObject(u, "status", cJSON_CreateString("deleted"));
    cr_assert(search_user_gone(u));
    cJSON_DeleteItemFromObject(u, "version");
    cr_assert_eq(search_doc_from_user(&d, u), TC_EINVAL, "no version: cannot be ordered");
    cJSON_Delete(u);
}

Test(doc, an_org_is_a_document_of_itself)
{
    cJSON *o = cJSON_Parse("{\"id\":\"org_9\",\"name\":\"Acme\",\"plan\":\"free\",\"version\":1,"
                           "\"created_at\":\"2026-01-01T00:00:00Z\","
                           "\"updated_at\":\"2026-01-01T00:00:00Z\"}");
    search_doc_t d;
    cr_assert_eq(search_doc_from_org(&d, o), TC_OK);
    cr_assert_str_eq(d.org_id, "org_9");
    cr_assert_str_eq(d.id, "org_9");
    cr_assert_str_eq(d.type, "org");
    search_doc_clear(&d);
    cJSON_Delete(o);
}

Test(doc, a_workflow_is_a_document_ordered_by_its_revision)
{
    cJSON *w = cJSON_Parse("{\"workflow_id\":\"wf_1\",\"org_id\":\"org_9\",\"name\":\"Onboard\","
                           "\"description\":\"mail and tasks\",\"version\":2,\"revision\":5,"
                           "\"states\":4,\"actor\":\"usr_1\","
                           "\"updated_at\":\"2026-01-01T00:00:00.000Z\","
                           "\"occurred_at\":\"2026-01-01T00:00:00.000Z\"}");
    search_doc_t d;
    cr_assert_eq(search_doc_from_workflow(&d, w), TC_OK);
    cr_assert_str_eq(d.type, "workflow");
    cr_assert_str_eq(d.id, "wf_1");
    cr_assert_str_eq(d.org_id, "org_9");
    cr_assert_str_eq(d.title, "Onboard");
    cr_assert_str_eq(d.body, "mail and tasks");
    cr_assert_eq(d.version, 5); /* the revision, not the definition's version */
    cr_assert_str_eq(d.fields_json, "{\"version\":2,\"states\":4}");
    search_doc_clear(&d);
    cJSON_DeleteItemFromObject(w, "revision");
    cr_assert_eq(search_doc_from_workflow(&d, w), TC_EINVAL);
    cJSON_Delete(w);
}

Test(doc, a_connection_is_a_document_ordered_by_its_revision)
{
    cJSON *c = cJSON_Parse("{\"connection_id\":\"con_1\",\"org_id\":\"org_9\","
                           "\"connector\":\"slack\",\"name\":\"Ops alerts\","
                           "\"status\":\"needs_attention\",\"status_reason\":\"401\","
                           "\"actor_id\":null,\"revision\":7,"
                           "\"updated_at\":\"2026-01-01T00:00:00.000Z\","
                           "\"occurred_at\":\"2026-01-01T00:00:01.000Z\"}");
    search_doc_t d;
    cr_assert_eq(search_doc_from_connection(&d, c), TC_OK);
    cr_assert_str_eq(d.type, "connection");
    cr_assert_str_eq(d.id, "con_1");
    cr_assert_str_eq(d.org_id, "org_9");
    cr_assert_str_eq(d.title, "Ops alerts");
    cr_assert_str_eq(d.body, "slack", "the connector's id is searchable");
    cr_assert_eq(d.version, 7);
    cr_assert_str_eq(d.fields_json, "{\"connector\":\"slack\",\"status\":\"needs_attention\"}");
    search_doc_clear(&d);
    cJSON_DeleteItemFromObject(c, "revision");
    cr_assert_eq(search_doc_from_connection(&d, c), TC_EINVAL, "no revision: cannot be ordered");
    cJSON_AddNumberToObject(c, "revision", 0);
    cr_assert_eq(search_doc_from_connection(&d, c), TC_EINVAL);
    cJSON_DeleteItemFromObject(c, "revision");
    cJSON_AddNumberToObject(c, "revision", 2);
    cJSON_DeleteItemFromObject(c, "connector");
    cr_assert_eq(search_doc_from_connection(&d, c), TC_EINVAL);
    cJSON_Delete(c);
}

Test(doc, a_removal_names_the_document_and_its_version)
{
    cJSON *data = cJSON_Parse("{\"org_id\":\"org_1\",\"type\":\"workflow\",\"id\":\"wf_1\","
                              "\"version\":4,\"updated_at\":\"2026-01-02T03:04:05Z\"}");
    tc_jv_t jv;
    search_doc_ref_t r;
    tc_jv_init(&jv);
    search_doc_ref_from_json(&r, &jv, data);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_eq(r.version, 4);
    cr_assert_str_eq(r.id, "wf_1");
    tc_jv_free(&jv);
    cJSON_Delete(data);
}

Test(ids, valid_ids_and_types)
{
    cr_assert(search_id_valid("usr_01ABC"));
    cr_assert(search_id_valid("conn:v2.item-3"));
    cr_assert_not(search_id_valid("a/b"));
    cr_assert_not(search_id_valid(""));
    cr_assert(search_type_valid("workflow_run"));
    cr_assert_not(search_type_valid("1type"));
    cr_assert_not(search_type_valid("Type"));
    cr_assert(search_word_valid("café"));
    cr_assert_not(search_word_valid("a b"));
}

Test(score, weights_order_exact_over_prefix_over_typo)
{
    cr_assert_gt(search_score(0.1, 0, 0, 0), search_score(0, 0, 0.1, 0));
    cr_assert_gt(search_score(0, 0, 0.1, 0), search_score(0, 0, 0, 0.1));
}

static void expect_highlight(const char *marked, const char *want)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(search_highlight_html(&b, marked), TC_OK);
    char *got = tc_buf_detach(&b);
    cr_assert_str_eq(got, want);
    free(got);
}

#define O SEARCH_MARK_OPEN
#define C SEARCH_MARK_CLOSE

Test(highlight, text_is_escaped_and_only_the_marks_are_markup)
{
    expect_highlight("", "");
    expect_highlight("plain", "plain");
    expect_highlight(O "Quarterly" C " sales", "<mark>Quarterly</mark> sales");
    expect_highlight("a <b>" O "x" C "</b> & 'y'",
                     "a &lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; &#39;y&#39;");
    expect_highlight("<mark>fake</mark>", "&lt;mark&gt;fake&lt;/mark&gt;");
}

Test(highlight, stray_and_nested_sentinels_stay_balanced)
{
    expect_highlight(C "a", "a");
    expect_highlight(O O "a" C C, "<mark>a</mark>");
    expect_highlight(O "open to the end", "<mark>open to the end</mark>");
    expect_highlight("caf\xc3\xa9 " O "\xe2\x82\xac" C, "caf\xc3\xa9 <mark>\xe2\x82\xac</mark>");
}

static search_change_t change(const char *org, const char *id, int64_t version, int seq,
                              bool deleted)
{
    return (search_change_t){
        .org_id = org, .type = "doc", .id = id, .version = version, .seq = seq, .deleted = deleted};
}

Test(batch, one_change_per_document_the_newest_in_key_order)
{
    search_change_t c[] = {
        change("org_b", "d1", 1, 0, false), change("org_a", "d2", 3, 1, false),
        change("org_a", "d2", 5, 2, true),  change("org_a", "d2", 4, 3, false),
        change("org_a", "d1", 2, 4, false), change("org_b", "d1", 1, 5, true),
    };
    int n = search_changes_collapse(c, TC_ARRAY_LEN(c));
    cr_assert_eq(n, 3);
    /* org by org, then type and id: the order in which rows are locked */
    cr_assert_str_eq(c[0].org_id, "org_a");
    cr_assert_str_eq(c[0].id, "d1");
    cr_assert_str_eq(c[1].id, "d2");
    cr_assert_str_eq(c[2].org_id, "org_b");
    /* the newest version stands, whichever came first: here a delete */
    cr_assert_eq(c[1].version, 5);
    cr_assert(c[1].deleted);
    /* of equal versions, the first in the batch (the later one would be ignored as not newer) */
    cr_assert_eq(c[2].seq, 0);
    cr_assert_not(c[2].deleted);
}

Test(batch, the_same_id_in_two_orgs_or_types_is_two_documents)
{
    search_change_t c[] = {change("org_a", "d1", 1, 0, false), change("org_b", "d1", 1, 1, false),
                           change("org_a", "d1", 1, 2, false)};
    c[2].type = "user";
    cr_assert_eq(search_changes_collapse(c, TC_ARRAY_LEN(c)), 3);
    cr_assert_eq(search_changes_collapse(c, 0), 0);
}
