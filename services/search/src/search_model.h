/*
 * search_model.h: the search domain without I/O.
 *
 *   query plan   q (websearch syntax: words, "phrases", -negation, OR) parsed into clauses of
 *                alternatives; the last word is a prefix while the user is still typing it;
 *                each plain word gets a typo budget (Meilisearch: 1 typo from 5 letters, 2
 *                from 9). The plan renders the tsquery texts the store binds as parameters
 *                (lexemes are letters and digits only, so no tsquery syntax can be injected).
 *   documents    the searchable-document contract (proto/events/common/searchable-document.json)
 *                validated into a search_doc_t; users and orgs of user-events mapped onto it.
 *   cursors      relevance order pages by offset, carried in tc_page's opaque cursor.
 */
#ifndef SEARCH_MODEL_H
#define SEARCH_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_buf.h"
#include "tc/tc_json.h"

#define SEARCH_Q_MAX             512  /* bytes of q */
#define SEARCH_MAX_WORDS         16   /* words (in phrases too) per query */
#define SEARCH_WORD_MAX          64   /* bytes of one word; longer words are cut */
#define SEARCH_MAX_TYPOS         4    /* candidates kept per word */
#define SEARCH_MAX_TYPES         8    /* type filter values */
#define SEARCH_TYPE_MAX          40   /* bytes of a document type name */
#define SEARCH_MAX_OFFSET        1000 /* deepest result a cursor reaches (as search engines cap) */
#define SEARCH_TITLE_MAX         1000 /* code points */
#define SEARCH_BODY_MAX          100000
#define SEARCH_FIELDS_MAX        16384 /* bytes of the fields object as JSON */
#define SEARCH_MAX_SYNONYMS      16    /* synonyms of one word */
#define SEARCH_SYNONYM_WORDS     4     /* words of one synonym ("new york") */
#define SEARCH_SYNONYM_MAX       (SEARCH_SYNONYM_WORDS * (SEARCH_WORD_MAX + 1)) /* bytes of one */
#define SEARCH_MAX_SYNONYM_WORDS 1000 /* words with synonyms, per org */

/* One word of the query, alone or inside a phrase. */
typedef struct {
    char text[SEARCH_WORD_MAX + 1]; /* lower-cased (ASCII; the database folds the rest) */
    int letters;                    /* code points */
    bool prefix;                    /* matches words starting with it (search-as-you-type) */
    int typos;                      /* 0, 1 or 2: edits a candidate may be away */
    int ncands;                     /* typo candidates filled in by the store */
    char cands[SEARCH_MAX_TYPOS][SEARCH_WORD_MAX + 1];
    int nsyns; /* the org's synonyms of the word, filled in by the store */
    char syns[SEARCH_MAX_SYNONYMS][SEARCH_SYNONYM_MAX + 1];
    bool stop;    /* a stop word of the query's language (filled in by the store) */
    bool dropped; /* left out of the query as a stop word (search_plan_drop_stop_words) */
} search_word_t;

/* An alternative: one word or a phrase (consecutive words), possibly negated. */
typedef struct {
    int first, count; /* words[first .. first+count) */
    bool negated;
    bool phrase; /* more than one word, adjacent */
    bool quoted; /* written in quotes (a phrase, or one word taken exactly as typed) */
} search_alt_t;

/* A clause: alternatives joined by OR; the clauses are joined by AND. */
typedef struct {
    int first, count; /* alts[first .. first+count) */
} search_clause_t;

/* Consecutive free words of the query that are one of the org's multi-word synonym keys
 * ("new york" -> "nyc"): they match as typed (each word as usual) or as any of the synonyms. */
#define SEARCH_MAX_SPANS 4 /* multi-word keys matched in one query */
typedef struct {
    int first, count; /* words[first .. first+count), 2 to SEARCH_SYNONYM_WORDS of them */
    int nsyns;
    char syns[SEARCH_MAX_SYNONYMS][SEARCH_SYNONYM_MAX + 1];
} search_span_t;

typedef struct {
    search_word_t words[SEARCH_MAX_WORDS];
    int nwords;
    search_span_t spans[SEARCH_MAX_SPANS]; /* filled in by the store, apart from each other */
    int nspans;
    search_alt_t alts[SEARCH_MAX_WORDS];
    int nalts;
    search_clause_t clauses[SEARCH_MAX_WORDS];
    int nclauses;
    bool truncated; /* more words than SEARCH_MAX_WORDS were given; the rest was ignored */
} search_plan_t;

/* Typo budget of a word of `letters` code points (0 below 5, 1 from 5, 2 from 9). */
int search_typo_budget(int letters);

/* Parses q into plan. TC_OK (an empty or all-punctuation q gives an empty plan: browse);
 * TC_EINVAL for a q longer than SEARCH_Q_MAX or not valid UTF-8. typo_tolerance false gives
 * every word a budget of 0; prefix false (the user finished typing) keeps the last word whole. */
int search_plan_parse(search_plan_t *plan, const char *q, bool prefix, bool typo_tolerance);
/* true when the plan has at least one positive (not negated) word: the query can match. */
bool search_plan_has_positive(const search_plan_t *plan);

/* true when words[i] stands alone, not negated (not in a phrase): it may be spelt another way
 * (typo candidates) or said another way (synonyms). */
bool search_plan_word_free(const search_plan_t *plan, int i);

/* The tsquery texts (for to_tsquery('search_simple', $n)), "" when there is nothing to say:
 *   MATCH   what a result must satisfy: every clause, each word with its prefix, typo
 *           candidates and synonyms, negations as !, phrases as <->
 *   EXACT   any positive word or phrase as typed, or a synonym of a word (the score's exact
 *           part: a synonym is the same word said another way, as Meilisearch ranks it)
 *   PHRASE  every positive word in order, adjacent (the whole query as a phrase)
 *   PREFIX  the prefix words, as prefixes
 *   TYPO    the typo candidates of every word */
typedef enum {
    SEARCH_TSQ_MATCH,
    SEARCH_TSQ_EXACT,
    SEARCH_TSQ_PHRASE,
    SEARCH_TSQ_PREFIX,
    SEARCH_TSQ_TYPO
} search_tsq_kind_t;
int search_plan_tsquery(const search_plan_t *plan, search_tsq_kind_t kind, tc_buf_t *out);

/* ------------------------------------------------------------------ stop words */

#define SEARCH_LANG_MAX 35 /* bytes of a language tag (BCP 47's common forms) */

/* The PostgreSQL stop-word dictionary (migration 003) of a language tag's primary subtag,
 * case-insensitive ("en", "en-GB", "pt-BR"), or NULL for a language without stop words here
 * (the simple fallback: every word counts). */
const char *search_stop_dictionary(const char *lang);
/* The Snowball stemming configuration (migration 005) of a language tag's primary subtag, as
 * search_stop_dictionary reads it ("en-US" -> "search_english"), or NULL for a language without
 * a stemmer here (the simple fallback: words match as written). */
const char *search_stem_config(const char *lang);
/* Every language code with its stemming configuration as a JSON object ({"en":
 * "search_english", …}), for SQL that maps stored locales the way search_stem_config does. */
int search_stem_map_json(tc_buf_t *out);
/* The language of an Accept-Language header that has stop words or a stemmer here: the one
 * with the highest q (the first of equal ones; q=0 refuses), its primary subtag lower-cased
 * into out; "" when none has (or there is no header). */
void search_lang_from_accept(const char *header, char *out, size_t cap);
/* true when words[i] may be left out as a stop word: it stands alone as the only alternative
 * of its clause (not quoted, negated, in an OR or a phrase) and is not being typed (prefix). */
bool search_plan_word_droppable(const search_plan_t *plan, int i);
/* Leaves out every droppable word marked stop, unless that would leave no positive word (a
 * query of stop words only, "the who", is taken as typed). Returns the number left out. */
int search_plan_drop_stop_words(search_plan_t *plan);

/* Edit distance between two UTF-8 words in code points, counting an insertion, a deletion, a
 * substitution or a swap of two adjacent letters as one typo (optimal string alignment, as
 * typo-tolerant engines count); any value above max is reported as max + 1. */
int search_edit_distance(const char *a, const char *b, int max);
/* true when word is a single lexeme the plan may use (letters, digits, UTF-8 >= 0x80). */
bool search_word_valid(const char *word);
/* Adds a typo candidate to word (ignored when full, equal to the word or not a valid word). */
void search_word_add_candidate(search_word_t *w, const char *cand);

/* ------------------------------------------------------------------ synonyms */

/* A synonym (or, with max_words 1, the word it belongs to) as it is stored and matched: 1 to
 * max_words words of letters and digits (search_word_valid) separated by single spaces, ASCII
 * lower-cased (the database folds accents and the rest of the case). TC_EINVAL otherwise. */
int search_synonym_normalize(const char *in, int max_words, char *out, size_t cap);
/* Adds a synonym (normalized) to word: ignored when full, invalid, the word itself or known. */
void search_word_add_synonym(search_word_t *w, const char *syn);
/* true when words[first .. first+count) may stand for a multi-word key: 2 to
 * SEARCH_SYNONYM_WORDS free words, each its own clause, the clauses consecutive ("new york",
 * not "new OR york", "\"new york\"" or "new -york"). */
bool search_plan_span_ok(const search_plan_t *plan, int first, int count);
/* Adds a synonym (normalized) of the words[first .. first+count): to their span, made when
 * new; ignored when the span is not ok, overlaps another, or as search_word_add_synonym. */
void search_plan_add_span_synonym(search_plan_t *plan, int first, int count, const char *syn);
/* The words[first .. first+count) as one key ("new york"), cut to cap. */
void search_plan_words(const search_plan_t *plan, int first, int count, char *out, size_t cap);

/* One entry of a synonyms body, "word": ["synonym", …] (1 to SEARCH_MAX_SYNONYMS of them; the
 * key is 1 to SEARCH_SYNONYM_WORDS words),
 * checked and normalized; every problem goes into jv under "synonyms". */
typedef struct {
    char word[SEARCH_SYNONYM_MAX + 1]; /* 1 to SEARCH_SYNONYM_WORDS words */
    int nsyns;
    char syns[SEARCH_MAX_SYNONYMS][SEARCH_SYNONYM_MAX + 1];
} search_synonym_entry_t;
bool search_synonym_entry(search_synonym_entry_t *e, tc_jv_t *jv, const char *key,
                          const cJSON *value);

/* ------------------------------------------------------------------ query parameters */

#define SEARCH_MAX_FILTERS      8    /* fields a query filters on */
#define SEARCH_FILTER_VALUES    16   /* accepted values of one field */
#define SEARCH_FILTER_VALUE_MAX 200  /* bytes of one value */
#define SEARCH_FIELD_NAME_MAX   64   /* bytes of a field name */
#define SEARCH_FILTER_JSON_MAX  8192 /* the filter as JSON */

typedef enum {
    SEARCH_SORT_RELEVANCE, /* score, then the newest */
    SEARCH_SORT_UPDATED,   /* the document's updated_at */
    SEARCH_SORT_FIELD      /* a top-level member of fields */
} search_sort_by_t;

typedef struct {
    search_plan_t plan;
    char q[SEARCH_Q_MAX + 1];
    /* {"field": ["value", …], …} as JSON, "" for no filter: a document passes when, for every
     * field named, its value (or, for an array, one of its elements) as text is one of the
     * values (numbers and booleans compare by their JSON text: 3, true) */
    char filter[SEARCH_FILTER_JSON_MAX + 1];
    search_sort_by_t sort_by;
    char sort_field[SEARCH_FIELD_NAME_MAX + 1];
    bool sort_desc;
    int ntypes;
    char types[SEARCH_MAX_TYPES][SEARCH_TYPE_MAX + 1];
    int limit;
    int offset;
    bool debug;
    bool highlight;
    /* the query's language (a primary subtag with stop words or a stemmer here, "en"): its
     * stop words are left out and its documents match by stems too; "" for none
     * (search_query_lang) */
    char lang[SEARCH_LANG_MAX + 1];
} search_query_t;

/* A document id: 1..128 of [A-Za-z0-9_.:-] (it becomes the event source /documents/<id>). */
bool search_id_valid(const char *id);
/* A document type name: [a-z][a-z0-9_]{0,39}. */
bool search_type_valid(const char *type);
/* Fills a query from its parts (GET query string or POST body); problems collected in jv.
 * types_csv is "user,org" (GET); types_json an array of strings (POST); either may be NULL. */
void search_query_build(search_query_t *sq, tc_jv_t *jv, const char *q, const char *types_csv,
                        const cJSON *types_json, int limit, int offset, bool debug, bool prefix,
                        bool typo_tolerance);

/* The query's language: lang when given (a bad tag is a problem under "lang"; a language
 * with neither stop words nor a stemmer here gives none), else the Accept-Language header's
 * best language that has one of them, else none. */
void search_query_lang(search_query_t *sq, tc_jv_t *jv, const char *lang,
                       const char *accept_language);

/* A name of a top-level member of a document's fields: [A-Za-z_][A-Za-z0-9_]{0,63}. */
bool search_field_name_valid(const char *name);
/* The filter from a GET's "status:active,role:admin,role:owner" (a name given again adds a
 * value) or a POST's {"status": "active", "role": ["admin", "owner"], "steps": 3}; problems
 * under "filter". Either may be NULL. */
void search_query_filter(search_query_t *sq, tc_jv_t *jv, const char *csv, const cJSON *json);
/* The order: NULL or "relevance"; "updated_at" (newest first) or "updated_at:asc";
 * "fields.<name>" (ascending) or "fields.<name>:desc". Problems under "sort". */
void search_query_sort(search_query_t *sq, tc_jv_t *jv, const char *spec);

/* Cursor key of the page after `offset` + `returned` results, "" when there is none. */
void search_next_key(int offset, int limit, int returned, char *out, size_t outlen);
/* Parses a cursor key ("" = 0) into an offset; TC_EINVAL when it is not one of ours. */
int search_offset_from_key(const char *key, int *offset);

/* ------------------------------------------------------------------ documents */

typedef struct {
    const char *org_id;
    const char *type;
    const char *id;
    const char *title;
    const char *body;
    char *fields_json; /* owned: the fields object as JSON text ("{}" when absent) */
    const char *locale;
    int min_role; /* the least role that finds it (tc_role_t: TC_ROLE_VIEWER, every member) */
    int64_t version;
    char updated_at[40];
} search_doc_t;

void search_doc_clear(search_doc_t *d);
/* Validates a searchable document (the upsert event's data, or the ingest body) into d
 * (strings borrowed from data). Every bad field goes into jv. */
void search_doc_from_json(search_doc_t *d, tc_jv_t *jv, const cJSON *data);
/* A document named for deletion: the document_deleted event's data, or the ingest call's. */
typedef struct {
    const char *org_id;
    const char *type;
    const char *id;
    int64_t version;
    char updated_at[40];
} search_doc_ref_t;
void search_doc_ref_from_json(search_doc_ref_t *r, tc_jv_t *jv, const cJSON *data);

/* One change of a batch of document events: an upsert or a delete of (org, type, id) at a
 * version. A batch is applied org by org, each org's documents in key order, one change per
 * document: the newest. */
typedef struct {
    const char *org_id;
    const char *type;
    const char *id;
    int64_t version;
    int seq;      /* the change's place in the batch: of equal versions the first one wins */
    bool deleted; /* a delete (tombstone) rather than an upsert */
    void *item;   /* the caller's record of the change (borrowed) */
} search_change_t;

/* Sorts changes by (org, type, id) and keeps one per document: the highest version, the
 * earliest of equal ones (as applying them one by one in order would leave it). Returns how
 * many are kept, at the front of c. Items are only moved, never freed. */
int search_changes_collapse(search_change_t *c, int n);

/* A user of user-events as a document of type "user": title its name, body its email,
 * fields {email, role, status}. TC_EINVAL when the state lacks what a document needs. */
int search_doc_from_user(search_doc_t *d, const cJSON *user);
/* An org of user-events as a document of type "org" in the org itself. */
int search_doc_from_org(search_doc_t *d, const cJSON *org);
/* A workflow of workflow-events (common/workflow-state.json) as a document of type "workflow":
 * title its name, body its description, fields {version, states}; the document's version is
 * the workflow's revision (every change counts, a delete included). */
int search_doc_from_workflow(search_doc_t *d, const cJSON *wf);
/* A connection of integration-events (connection.created/updated) as a document of type
 * "connection": title its name, body its connector's id (a search for "slack" finds the
 * org's Slack connections), fields {connector, status}; the document's version is the
 * connection's revision. Never a credential: the events carry none. */
int search_doc_from_connection(search_doc_t *d, const cJSON *conn);
/* A user's state that means "not searchable" (deleted). */
bool search_user_gone(const cJSON *user);

/* ------------------------------------------------------------------ results */

/* Weights of the score parts (documented in the README; debug=true returns each part). */
#define SEARCH_W_EXACT  1.0
#define SEARCH_W_PHRASE 0.5
#define SEARCH_W_PREFIX 0.3
#define SEARCH_W_TYPO   0.1
/* a word in another form of the document's language (its stem): below the word as written */
#define SEARCH_W_STEM 0.4
double search_score(double exact, double phrase, double prefix, double typo);

/* Highlights as HTML. PostgreSQL's ts_headline marks matches with the sentinels below (private
 * use code points, not HTML, so the document's own text never becomes markup); this escapes
 * the text for HTML and turns the sentinels into <mark> and </mark>, balanced: a stray or
 * nested sentinel (one the document itself contained) is dropped, an open mark is closed. */
#define SEARCH_MARK_OPEN  "\xEE\x80\x80" /* U+E000 */
#define SEARCH_MARK_CLOSE "\xEE\x80\x81" /* U+E001 */
int search_highlight_html(tc_buf_t *out, const char *text);

#endif
