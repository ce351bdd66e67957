/*
 * store.h: all of search's SQL (PostgreSQL full-text search), parameterised only. This is the
 * index interface of the service: another engine (Elasticsearch/OpenSearch, Meilisearch)
 * would implement these functions (README "Engines").
 *
 * Every function runs in the caller's transaction after store_tenant() named the org: the
 * row-level security policies of the tables then show only that org's rows, and every
 * statement also filters by org_id itself.
 */
#ifndef SEARCH_STORE_H
#define SEARCH_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "search_model.h"
#include "tc/tc_db.h"

/* Names the transaction's org (SET LOCAL search.org_id) and the caller's role level
 * (search.role_level: tc_role_t, viewer 1 to owner 4) for row-level security: the query
 * path's (the writes name their orgs themselves, and see every level). A document is found by
 * callers of at least its min_role only; unnamed, the level is 0 and nothing is found. */
int store_tenant(tc_dbconn_t *tx, const char *org_id, int role_level, bool *hidden);
/* hidden (when not NULL): set when the org has documents above the caller's role, in the same
 * round trip (store_typo_candidates needs it). */

/* Many changes of many orgs' documents at once: each org's part is a few statements whatever
 * its number of documents, and the whole batch goes to the database in one round trip
 * (store_batch_run). Each document newer than its stored version is written (ups: rows of
 * store_doc_row) or turned into a tombstone (dels: rows of store_doc_ref_row), the rest
 * ignored; each org's vocabulary follows its documents' words. A document appears once in the
 * batch (search_changes_collapse); an org once, in the order added. */
typedef struct store_batch store_batch_t;
store_batch_t *store_batch_new(int max_orgs);
/* org_id is borrowed until the run; ups and dels (either NULL or empty) are copied. */
int store_batch_add(store_batch_t *b, const char *org_id, const cJSON *ups, const cJSON *dels);
/* The orgs added so far. */
int store_batch_orgs(const store_batch_t *b);
/* *applied (may be NULL): how many documents changed. */
int store_batch_run(tc_dbconn_t *tx, store_batch_t *b, int *applied);
void store_batch_free(store_batch_t *b);
/* A document as a row of a batch's ups; NULL when out of memory. */
cJSON *store_doc_row(const search_doc_t *d);
/* A delete as a row of its dels: version 0 or less is final (a purge outranks every version);
 * updated_at NULL or "": the time of the write. */
cJSON *store_doc_ref_row(const char *type, const char *id, int64_t version, const char *updated_at);

/* Applies a document if its version is newer than the stored one (*applied tells): a batch of
 * one, naming its org. The org's vocabulary follows its documents' words. */
int store_doc_upsert(tc_dbconn_t *tx, const search_doc_t *d, bool *applied);
/* Turns (org, type, id) into a tombstone at version (text erased, words released); a
 * tombstone is written even for a document never seen, so its late create is ignored. */
int store_doc_delete(tc_dbconn_t *tx, const char *org_id, const char *type, const char *id,
                     int64_t version, const char *updated_at, bool *applied);

/* The first org after `after` ("": the first of all) that has live documents, into out;
 * TC_ENOTFOUND past the last. Outside a transaction (no org named). */
int store_next_org(tc_dbconn_t *c, const char *after, char *out, size_t cap);
/* Sets each word of the org's vocabulary to the number of its live documents holding it, and
 * words none holds to 0: the counts the writes keep by difference, made exact again. Waits for
 * the org's writes in flight and holds new ones back until the transaction ends. Names the org
 * itself. *fixed: the words whose count changed. */
int store_vocabulary_recount(tc_dbconn_t *tx, const char *org_id, int *fixed);

/* The postings mapping (migration 005): 2 is the current one. store_remap_org
 * finds an org with postings of an older one (TC_ENOTFOUND: none); store_remap_batch makes up
 * to `limit` of them again from their stored documents (words, stems, role, time), named
 * with the org in a transaction of its own, skipping rows another writer holds; *done: how
 * many. store_reindex_org marks every posting of an org older, for the remap to make them
 * again (the org's reindex: its results stay served meanwhile); *marked: how many. */
int store_remap_org(tc_dbconn_t *c, char *out, size_t cap);
int store_remap_batch(tc_dbconn_t *tx, const char *org_id, int limit, int *done);
int store_reindex_org(tc_dbconn_t *tx, const char *org_id, int64_t *marked);
/* How many of the org's postings are still of an older mapping (its reindex's progress). */
int store_remap_pending(tc_dbconn_t *c, const char *org_id, int64_t *pending);

/* Fills each word's typo candidates from the org's own vocabulary (within its budget); with
 * hidden (store_tenant), only words of documents the caller may find are known or offered. */
int store_typo_candidates(tc_dbconn_t *tx, const char *org_id, search_plan_t *plan, bool hidden);
/* Marks the plan's droppable words (search_plan_word_droppable) that are stop words of the
 * dictionary (search_stop_dictionary's name; NULL marks none). */
int store_stop_words(tc_dbconn_t *tx, const char *dictionary, search_plan_t *plan);

/* The org's synonyms as {word: [synonym, …]} (*out owned by the caller). */
int store_synonyms_get(tc_dbconn_t *tx, const char *org_id, cJSON **out);
/* Replaces the org's synonyms with a normalized set (search_synonym_entry). TC_EINVAL, naming
 * the word in bad, when one is no longer a word once folded. */
int store_synonyms_replace(tc_dbconn_t *tx, const char *org_id, const cJSON *set, char *bad,
                           size_t bad_cap);
int store_synonyms_clear(tc_dbconn_t *tx, const char *org_id);
/* Fills the synonyms of each word of the plan that stands alone (search_plan_word_free). */
int store_synonyms_expand(tc_dbconn_t *tx, const char *org_id, search_plan_t *plan);

/* The page of results and the facet counts by type of the whole match (type filter aside).
 * *hits is an array of result objects, *facets an object {type: count}, *total the number
 * of results with the type filter applied. */
int store_search(tc_dbconn_t *tx, const char *org_id, const search_query_t *sq, cJSON **hits,
                 cJSON **facets, int64_t *total);

#endif
