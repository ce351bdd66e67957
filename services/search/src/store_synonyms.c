/* Each org's synonyms: the set an admin gives, and the expansion of a query's words. */
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_synonyms_get(tc_dbconn_t *tx, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    *out = NULL;
    int rc = tc_db_qp(tx, &r, "synonyms_get",
                      "SELECT coalesce(jsonb_object_agg(word, to_jsonb(synonyms)), '{}')::text"
                      " FROM search_synonyms WHERE org_id=$1",
                      org_id);
    if (rc == TC_OK && PQntuples(r) == 1 && !(*out = cJSON_Parse(tc_db_val(r, 0, 0))))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_synonyms_clear(tc_dbconn_t *tx, const char *org_id)
{
    return tc_db_qp(tx, NULL, "synonyms_clear", "DELETE FROM search_synonyms WHERE org_id=$1",
                    org_id);
}

/* Words and synonyms are stored folded as a query word is looked up (lower(unaccent)): two keys
 * that fold alike ("Café", "cafe") are one word, their synonyms merged (the first 16 in byte
 * order kept). unaccent may turn a letter into more than a letter ("½" -> " 1/2"): such a
 * word is named in bad and TC_EINVAL returned. Concurrent replacements of one org's set take
 * turns (an advisory lock), so neither fails on the other's rows. */
int store_synonyms_replace(tc_dbconn_t *tx, const char *org_id, const cJSON *set, char *bad,
                           size_t bad_cap)
{
    PGresult *r = NULL;
    char max_words[12];
    snprintf(max_words, sizeof max_words, "%d", SEARCH_SYNONYM_WORDS);
    char *json = cJSON_PrintUnformatted(set);
    if (!json)
        return TC_ENOMEM;
    int rc = tc_db_qp(tx, &r, "synonyms_folded",
                      "SELECT e.key, lower(unaccent(e.key)), $2::int FROM jsonb_each($1::jsonb) e"
                      " UNION ALL SELECT v.syn, lower(unaccent(v.syn)), $2::int"
                      " FROM jsonb_each($1::jsonb) e, jsonb_array_elements_text(e.value) v(syn)",
                      json, max_words);
    for (int row = 0; rc == TC_OK && row < PQntuples(r); row++) {
        char norm[SEARCH_SYNONYM_MAX + 1];
        const char *folded = tc_db_val(r, row, 1);
        int words = (int)tc_db_int(r, row, 2, 1);
        if (search_synonym_normalize(folded, words, norm, sizeof norm) != TC_OK ||
            strcmp(norm, folded) != 0) {
            snprintf(bad, bad_cap, "%s", tc_db_val(r, row, 0));
            rc = TC_EINVAL;
        }
    }
    PQclear(r);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "synonyms_lock",
                      "SELECT pg_advisory_xact_lock(hashtext('search_synonyms:' || $1))", org_id);
    if (rc == TC_OK)
        rc = store_synonyms_clear(tx, org_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "synonyms_put",
                      "INSERT INTO search_synonyms (org_id, word, synonyms)"
                      " SELECT $1, lower(unaccent(e.key)),"
                      " (array_agg(DISTINCT lower(unaccent(v.syn)) COLLATE \"C\""
                      " ORDER BY lower(unaccent(v.syn)) COLLATE \"C\"))[1:16]"
                      " FROM jsonb_each($2::jsonb) e, jsonb_array_elements_text(e.value) v(syn)"
                      " GROUP BY lower(unaccent(e.key))",
                      org_id, json);
    free(json);
    return rc;
}

/* The keys to look up: every free word, and every run of 2 to SEARCH_SYNONYM_WORDS of them
 * that may stand for a multi-word key ("new york"), each with the words it covers. */
typedef struct {
    int first, count;
} key_at_t;

static int expand_keys(const search_plan_t *plan, tc_buf_t *keys, key_at_t *at, int cap)
{
    int n = 0;
    for (int i = 0; i < plan->nwords; i++) {
        if (!search_plan_word_free(plan, i) || !search_word_valid(plan->words[i].text))
            continue;
        for (int count = 1; count <= SEARCH_SYNONYM_WORDS && n < cap; count++) {
            if (count > 1 && !search_plan_span_ok(plan, i, count))
                break;
            bool valid = true;
            for (int k = 0; k < count; k++)
                valid = valid && search_word_valid(plan->words[i + k].text);
            if (!valid)
                break;
            /* the words are lexemes (letters, digits): a comma separates keys, a space words */
            if (n > 0)
                tc_buf_putc(keys, ',');
            for (int k = 0; k < count; k++) {
                if (k > 0)
                    tc_buf_putc(keys, ' ');
                tc_buf_puts(keys, plan->words[i + k].text);
            }
            at[n++] = (key_at_t){i, count};
        }
    }
    return n;
}

int store_synonyms_expand(tc_dbconn_t *tx, const char *org_id, search_plan_t *plan)
{
    key_at_t at[SEARCH_MAX_WORDS * SEARCH_SYNONYM_WORDS];
    tc_buf_t keys;
    tc_buf_init(&keys);
    int n = expand_keys(plan, &keys, at, (int)TC_ARRAY_LEN(at));
    if (n == 0 || keys.oom) {
        int rc = keys.oom ? TC_ENOMEM : TC_OK;
        tc_buf_free(&keys);
        return rc;
    }
    /* longest keys first, so "new york city" takes its own span before "new york" would */
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "synonyms_expand",
                      "SELECT q.i, v.syn FROM unnest(string_to_array($2, ',')) WITH ORDINALITY"
                      " q(w, i) JOIN search_synonyms s ON s.org_id=$1"
                      " AND s.word = lower(unaccent(q.w)),"
                      " unnest(s.synonyms) WITH ORDINALITY v(syn, o)"
                      " ORDER BY array_length(string_to_array(q.w, ' '), 1) DESC, q.i, v.o",
                      org_id, keys.data);
    for (int row = 0; rc == TC_OK && row < PQntuples(r); row++) {
        int64_t k = tc_db_int(r, row, 0, 0);
        if (k < 1 || k > n)
            continue;
        const key_at_t *a = &at[k - 1];
        if (a->count == 1)
            search_word_add_synonym(&plan->words[a->first], tc_db_val(r, row, 1));
        else
            search_plan_add_span_synonym(plan, a->first, a->count, tc_db_val(r, row, 1));
    }
    PQclear(r);
    tc_buf_free(&keys);
    return rc;
}
