/* The documents and vocabulary tables: indexing and querying (PostgreSQL full-text search). */
#include "store.h"
#include "tc/tc_auth.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a tombstone of a purged document outranks every version a producer can give */
#define VERSION_FINAL "4611686018427387903"

/* Besides the org: typo candidates by trigram similarity from 0.2 (a short word with one typo
 * shares few trigrams), and custom plans, because a generic plan of a prepared full-text
 * statement does not know the query's words and reads every document of the org instead of
 * the words' postings. */
/* The caller's role level as the transaction named it (store_tenant), in SQL: 0 (nothing is
 * visible) when it was not named, as row-level security's policy reads it too. A scalar
 * subquery, so it is read once per statement (an InitPlan), not once per row. */
#define ROLE_LEVEL_SQL                                                                             \
    "(SELECT coalesce(nullif(current_setting('search.role_level', true), '')::int, 0))"

int store_tenant(tc_dbconn_t *tx, const char *org_id, int role_level, bool *hidden)
{
    char level[16];
    snprintf(level, sizeof level, "%d", role_level > 0 ? role_level : 0);
    if (!hidden)
        return tc_db_qp(tx, NULL, "tenant",
                        "SELECT set_config('search.org_id', $1, true),"
                        " set_config('search.role_level', $2, true),"
                        " set_config('pg_trgm.similarity_threshold', '0.2', true),"
                        " set_config('plan_cache_mode', 'force_custom_plan', true)",
                        org_id, level);
    /* in the same round trip: whether the org has documents above the caller's role (one
     * probe of a small partial index; most orgs have none) */
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "tenant_query",
                      "SELECT set_config('search.org_id', $1, true),"
                      " set_config('search.role_level', $2, true),"
                      " set_config('pg_trgm.similarity_threshold', '0.2', true),"
                      " set_config('plan_cache_mode', 'force_custom_plan', true),"
                      " EXISTS (SELECT 1 FROM search_postings WHERE org_id=$1 AND min_role > 1"
                      " AND min_role > $2::int)",
                      org_id, level);
    *hidden = rc == TC_OK && PQntuples(r) == 1 && strcmp(tc_db_val(r, 0, 4), "t") == 0;
    PQclear(r);
    return rc;
}

/* The org alone. Generic plans (plan_cache_mode) would save the planning of each batch
 * statement, about 8 % of the database's time while indexing; they are not used until measured
 * longer (README, Figures). */
/* A write also takes the org's vocabulary lock shared (many writers at once), so a recount
 * (store_vocabulary_recount, exclusive) never overlaps one: a count set from a snapshot that
 * missed a write in flight would be off by that write's difference once it commits. */
static const char SQL_TENANT_WRITER[] =
    "SELECT set_config('search.org_id', $1, true), set_config('search.role_level', '4', true),"
    " pg_advisory_xact_lock_shared(hashtextextended('search.vocabulary:' || $1, 0))";

/* Locks the stored rows of a batch's documents (upserts $2 and deletes $3 of the org $1), in
 * key order: concurrent writers of the same documents queue in one order instead of
 * deadlocking, and the writing statements that follow, each with a snapshot taken after the
 * locks, see what such a writer committed (a FOR UPDATE inside a writing statement would skip
 * the rows that statement itself changes). */
static const char SQL_LOCK[] =
    "SELECT 1 FROM search_documents d"
    " WHERE d.org_id=$1 AND (d.type, d.id) IN ("
    " SELECT type, id FROM jsonb_to_recordset($2::jsonb) AS u(type text, id text)"
    " UNION ALL"
    " SELECT type, id FROM jsonb_to_recordset($3::jsonb) AS x(type text, id text))"
    " ORDER BY d.type, d.id FOR UPDATE";

/* The stems of a document d (title A, body B, the fields' strings C, as tsv weighs its words)
 * under its stemming configuration (a name, NULL for none: no stems). */
#define STEMS_SQL(cfg, d)                                                                          \
    " CASE WHEN " cfg " IS NOT NULL THEN"                                                          \
    " setweight(to_tsvector(" cfg "::regconfig, " d ".title), 'A') ||"                             \
    " setweight(to_tsvector(" cfg "::regconfig, " d ".body), 'B') ||"                              \
    " setweight(jsonb_to_tsvector(" cfg "::regconfig, " d ".fields, '[\"string\"]'), 'C') END"

/*
 * All of a batch's upserts in one org ($2): the documents newer than their stored version are
 * written with their postings, and the org's vocabulary moves by the difference of the old and
 * new versions' words summed over the batch (+1 for a word only the new version of a document
 * has, -1 for one only its old live version had), each vocabulary row changed once, in word
 * order. `cur` is the statement's snapshot of the stored rows, before `up`.
 */
static const char SQL_PUT[] =
    "WITH input AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS i(type text, id text,"
    " title text, body text, fields jsonb, locale text, stem text, min_role smallint,"
    " version bigint, updated_at timestamptz)),"
    " cur AS (SELECT d.type, d.id, d.tsv, d.deleted FROM search_documents d"
    " JOIN input i ON d.org_id=$1 AND d.type=i.type AND d.id=i.id),"
    " up AS (INSERT INTO search_documents (org_id, type, id, title, body, fields, locale,"
    " min_role, version, deleted, updated_at, indexed_at)"
    " SELECT $1, type, id, title, body, fields, locale, coalesce(min_role, 1), version, false,"
    " updated_at, now() FROM input ORDER BY type, id"
    " ON CONFLICT (org_id, type, id) DO UPDATE SET title=EXCLUDED.title,"
    " body=EXCLUDED.body, fields=EXCLUDED.fields, locale=EXCLUDED.locale,"
    " min_role=EXCLUDED.min_role,"
    " version=EXCLUDED.version, deleted=false, updated_at=EXCLUDED.updated_at,"
    " indexed_at=now() WHERE search_documents.version < EXCLUDED.version"
    " RETURNING type, id, title, body, fields, tsv, min_role, updated_at),"
    " delta AS (SELECT w, sum(n)::int AS n FROM ("
    " SELECT u.lexeme AS w, -1 AS n FROM cur JOIN up ON up.type=cur.type AND up.id=cur.id,"
    " unnest(cur.tsv) u WHERE NOT cur.deleted"
    " UNION ALL SELECT u.lexeme, 1 FROM up, unnest(up.tsv) u) x"
    " WHERE w ~ '^[[:alnum:]]+$' AND octet_length(w) <= 64"
    " GROUP BY w HAVING sum(n) <> 0),"
    " joined AS (INSERT INTO search_vocabulary (org_id, word, docs)"
    " SELECT $1, w, n FROM delta WHERE n > 0 ORDER BY w"
    " ON CONFLICT (org_id, word) DO UPDATE SET docs = search_vocabulary.docs + EXCLUDED.docs"
    " RETURNING 1),"
    " gone AS (UPDATE search_vocabulary v SET docs = v.docs + delta.n FROM delta"
    " WHERE delta.n < 0 AND v.org_id=$1 AND v.word = delta.w RETURNING 1),"
    " posted AS (INSERT INTO search_postings (org_id, type, id, tsv, min_role, updated_at,"
    " mapping, stem, stv)"
    " SELECT $1, up.type, up.id, up.tsv, up.min_role, up.updated_at, 2, i.stem," STEMS_SQL(
        "i.stem", "up") " FROM up JOIN input i ON i.type = up.type AND i.id = up.id"
                        " ORDER BY up.type, up.id"
                        " ON CONFLICT (org_id, type, id) DO UPDATE SET tsv=EXCLUDED.tsv,"
                        " min_role=EXCLUDED.min_role, updated_at=EXCLUDED.updated_at,"
                        " mapping=2, stem=EXCLUDED.stem, stv=EXCLUDED.stv RETURNING 1)"
                        " SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM joined),"
                        " (SELECT count(*) FROM gone), (SELECT count(*) FROM posted)";

/* All of a batch's deletes in one org ($2): tombstones (text erased) where the version is
 * newer, the words of the documents that were live released from the vocabulary, their
 * postings dropped. A tombstone is written for a document never seen too. */
static const char SQL_DROP[] =
    "WITH input AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS i(type text, id text,"
    " version bigint, updated_at timestamptz)),"
    " cur AS (SELECT d.type, d.id, d.tsv, d.deleted FROM search_documents d"
    " JOIN input i ON d.org_id=$1 AND d.type=i.type AND d.id=i.id),"
    " dead AS (INSERT INTO search_documents (org_id, type, id, version, deleted, updated_at)"
    " SELECT $1, type, id, version, true, coalesce(updated_at, now()) FROM input"
    " ORDER BY type, id"
    " ON CONFLICT (org_id, type, id) DO UPDATE SET title='', body='',"
    " fields='{}', version=EXCLUDED.version, deleted=true,"
    " updated_at=EXCLUDED.updated_at, indexed_at=now()"
    " WHERE search_documents.version < EXCLUDED.version RETURNING type, id),"
    " delta AS (SELECT u.lexeme AS w, count(*)::int AS n FROM cur"
    " JOIN dead ON dead.type=cur.type AND dead.id=cur.id, unnest(cur.tsv) u"
    " WHERE NOT cur.deleted GROUP BY 1),"
    " gone AS (UPDATE search_vocabulary v SET docs = v.docs - delta.n FROM delta"
    " WHERE v.org_id=$1 AND v.word = delta.w RETURNING 1),"
    " unposted AS (DELETE FROM search_postings p USING dead"
    " WHERE p.org_id=$1 AND p.type=dead.type AND p.id=dead.id RETURNING 1)"
    " SELECT (SELECT count(*) FROM dead), (SELECT count(*) FROM gone),"
    " (SELECT count(*) FROM unposted)";

/* One org's part of a batch: its lists as JSON text and the parameters of its statements. */
typedef struct {
    char *ups, *dels; /* owned; NULL: none */
    const char *tenant[1], *lock[3], *put[2], *drop[2];
} org_part_t;

struct store_batch {
    org_part_t *parts;
    int n, cap;
};

store_batch_t *store_batch_new(int max_orgs)
{
    store_batch_t *b = calloc(1, sizeof *b);
    if (b && max_orgs > 0 && !(b->parts = calloc((size_t)max_orgs, sizeof *b->parts))) {
        free(b);
        return NULL;
    }
    if (b)
        b->cap = max_orgs;
    return b;
}

void store_batch_free(store_batch_t *b)
{
    for (int i = 0; b && i < b->n; i++) {
        free(b->parts[i].ups);
        free(b->parts[i].dels);
    }
    if (b)
        free(b->parts);
    free(b);
}

int store_batch_add(store_batch_t *b, const char *org_id, const cJSON *ups, const cJSON *dels)
{
    if (b->n >= b->cap)
        return TC_EINVAL;
    org_part_t *p = &b->parts[b->n];
    memset(p, 0, sizeof *p);
    p->ups = cJSON_GetArraySize(ups) > 0 ? cJSON_PrintUnformatted(ups) : NULL;
    p->dels = cJSON_GetArraySize(dels) > 0 ? cJSON_PrintUnformatted(dels) : NULL;
    b->n++; /* counted before the checks, so store_batch_free releases what was made */
    if ((cJSON_GetArraySize(ups) > 0 && !p->ups) || (cJSON_GetArraySize(dels) > 0 && !p->dels))
        return TC_ENOMEM;
    p->tenant[0] = org_id;
    p->lock[0] = p->put[0] = p->drop[0] = org_id;
    p->lock[1] = p->put[1] = p->ups ? p->ups : "[]";
    p->lock[2] = p->drop[1] = p->dels ? p->dels : "[]";
    return TC_OK;
}

int store_batch_orgs(const store_batch_t *b)
{
    return b ? b->n : 0;
}

/* The statements of one org's part, from *n on: the org named, its rows locked, its upserts,
 * its deletes. */
static void part_statements(org_part_t *p, tc_db_stmt_t *st, int *n, bool keep)
{
    st[(*n)++] = (tc_db_stmt_t){
        .name = "tenant_writer", .sql = SQL_TENANT_WRITER, .nparams = 1, .params = p->tenant};
    st[(*n)++] =
        (tc_db_stmt_t){.name = "docs_lock", .sql = SQL_LOCK, .nparams = 3, .params = p->lock};
    if (p->ups)
        st[(*n)++] = (tc_db_stmt_t){
            .name = "docs_put", .sql = SQL_PUT, .nparams = 2, .params = p->put, .keep = keep};
    if (p->dels)
        st[(*n)++] = (tc_db_stmt_t){
            .name = "docs_drop", .sql = SQL_DROP, .nparams = 2, .params = p->drop, .keep = keep};
}

int store_batch_run(tc_dbconn_t *tx, store_batch_t *b, int *applied)
{
    int n = 0, done = 0;
    tc_db_stmt_t *st = b->n > 0 ? calloc((size_t)b->n * 4, sizeof *st) : NULL;
    if (b->n > 0 && !st)
        return TC_ENOMEM;
    for (int i = 0; i < b->n; i++)
        part_statements(&b->parts[i], st, &n, applied != NULL);
    int rc = tc_db_pipeline(tx, st, n);
    for (int i = 0; i < n; i++) {
        if (st[i].res)
            done += (int)tc_db_int(st[i].res, 0, 0, 0); /* the first count: documents changed */
        PQclear(st[i].res);
    }
    if (applied)
        *applied = rc == TC_OK ? done : 0;
    free(st);
    return rc;
}

/* The org of a one-column result's first row into out; TC_ENOTFOUND when there is none. The
 * result (from the query's code rc) is freed. */
static int org_of(int rc, PGresult *r, char *out, size_t cap)
{
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && (size_t)snprintf(out, cap, "%s", tc_db_val(r, 0, 0)) >= cap)
        rc = TC_EINVAL;
    PQclear(r);
    return rc;
}

int store_next_org(tc_dbconn_t *c, const char *after, char *out, size_t cap)
{
    PGresult *r = NULL;
    /* the postings have no row-level security, and their key starts with the org: one index
     * step per org */
    int rc = tc_db_qp(c, &r, "next_org",
                      "SELECT org_id FROM search_postings WHERE org_id > $1"
                      " ORDER BY org_id LIMIT 1",
                      after);
    return org_of(rc, r, out, cap);
}

int store_vocabulary_recount(tc_dbconn_t *tx, const char *org_id, int *fixed)
{
    PGresult *r = NULL;
    *fixed = 0;
    int rc = tc_db_qp(tx, NULL, "tenant_recount",
                      "SELECT set_config('search.org_id', $1, true),"
                      " set_config('search.role_level', '4', true),"
                      " pg_advisory_xact_lock(hashtextextended('search.vocabulary:' || $1, 0))",
                      org_id);
    /* a statement of its own after the lock: its snapshot holds every write that went before */
    if (rc == TC_OK)
        rc = tc_db_qp(
            tx, &r, "vocab_recount",
            "WITH actual AS (SELECT u.lexeme AS w, count(*) AS n FROM search_documents d,"
            " unnest(d.tsv) u WHERE d.org_id=$1 AND NOT d.deleted"
            " AND u.lexeme ~ '^[[:alnum:]]+$' AND octet_length(u.lexeme) <= 64 GROUP BY 1),"
            " fixed AS (INSERT INTO search_vocabulary (org_id, word, docs)"
            " SELECT $1, w, n FROM actual ORDER BY w"
            " ON CONFLICT (org_id, word) DO UPDATE SET docs = EXCLUDED.docs"
            " WHERE search_vocabulary.docs <> EXCLUDED.docs RETURNING 1),"
            " zeroed AS (UPDATE search_vocabulary v SET docs = 0"
            " WHERE v.org_id=$1 AND v.docs <> 0"
            " AND NOT EXISTS (SELECT FROM actual a WHERE a.w = v.word) RETURNING 1)"
            " SELECT (SELECT count(*) FROM fixed) + (SELECT count(*) FROM zeroed)",
            org_id);
    if (rc == TC_OK)
        *fixed = (int)tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_remap_org(tc_dbconn_t *c, char *out, size_t cap)
{
    PGresult *r = NULL;
    /* the first key of a partial index that holds only the rows still to remap */
    int rc = tc_db_qp(c, &r, "remap_org",
                      "SELECT org_id FROM search_postings WHERE mapping < 2"
                      " ORDER BY org_id, type, id LIMIT 1");
    return org_of(rc, r, out, cap);
}

/* A batch of the org's ($1) postings of an older mapping, made again from their documents
 * (left join: a posting whose document is gone loses its stems rather than staying behind):
 * the stemming configuration from the locale's primary subtag through the model's map ($2, as
 * search_stem_config reads a tag). Rows another transaction holds are skipped, and a row a
 * writer changed meanwhile is left to it (its mapping is no longer older). */
static const char SQL_REMAP[] =
    "WITH due AS MATERIALIZED (SELECT p.type, p.id FROM search_postings p"
    " WHERE p.org_id=$1 AND p.mapping < 2 ORDER BY p.type, p.id LIMIT $3::int"
    " FOR UPDATE SKIP LOCKED),"
    " src AS (SELECT t.type, t.id, d.title, d.body, d.fields, d.tsv, d.min_role, d.updated_at,"
    " $2::jsonb ->> lower(substring(d.locale FROM '^([A-Za-z]{2})(-|$)')) AS stem"
    " FROM due t LEFT JOIN search_documents d"
    " ON d.org_id=$1 AND d.type = t.type AND d.id = t.id AND NOT d.deleted)"
    " UPDATE search_postings p SET mapping = 2, stem = src.stem, stv =" STEMS_SQL(
        "src.stem", "src") ", tsv = coalesce(src.tsv, p.tsv),"
                           " min_role = coalesce(src.min_role, p.min_role),"
                           " updated_at = coalesce(src.updated_at, p.updated_at)"
                           " FROM src WHERE p.org_id=$1 AND p.type = src.type AND p.id = src.id "
                           "AND p.mapping < 2"
                           " RETURNING 1";

int store_remap_batch(tc_dbconn_t *tx, const char *org_id, int limit, int *done)
{
    char lim[16];
    tc_buf_t map = TC_BUF_INIT;
    PGresult *r = NULL;
    *done = 0;
    snprintf(lim, sizeof lim, "%d", limit);
    int rc = search_stem_map_json(&map);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "tenant_remap",
                      "SELECT set_config('search.org_id', $1, true),"
                      " set_config('search.role_level', '4', true)",
                      org_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "remap", SQL_REMAP, org_id, tc_buf_cstr(&map), lim);
    if (rc == TC_OK)
        *done = PQntuples(r);
    PQclear(r);
    tc_buf_free(&map);
    return rc;
}

int store_reindex_org(tc_dbconn_t *tx, const char *org_id, int64_t *marked)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "reindex_org",
                      "WITH m AS (UPDATE search_postings SET mapping = 1"
                      " WHERE org_id=$1 AND mapping >= 2 RETURNING 1) SELECT count(*) FROM m",
                      org_id);
    *marked = rc == TC_OK ? tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    return rc;
}

int store_remap_pending(tc_dbconn_t *c, const char *org_id, int64_t *pending)
{
    PGresult *r = NULL;
    /* the partial index of the rows still to remap, counted within the org */
    int rc =
        tc_db_qp(c, &r, "remap_pending",
                 "SELECT count(*) FROM search_postings WHERE org_id=$1 AND mapping < 2", org_id);
    *pending = rc == TC_OK ? tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    return rc;
}

/* A version as a JSON string: cJSON's numbers are doubles, exact only up to 2^53. */
static bool add_version(cJSON *obj, int64_t version)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    return cJSON_AddStringToObject(obj, "version", v) != NULL;
}

/* The stemming configuration of the document's locale, null for none. */
static bool add_stem(cJSON *obj, const char *locale)
{
    const char *stem = search_stem_config(locale);
    return (stem ? cJSON_AddStringToObject(obj, "stem", stem)
                 : cJSON_AddNullToObject(obj, "stem")) != NULL;
}

cJSON *store_doc_row(const search_doc_t *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *fields = cJSON_CreateRaw(d->fields_json ? d->fields_json : "{}");
    if (!o || !fields || !cJSON_AddItemToObject(o, "fields", fields)) {
        cJSON_Delete(fields);
        cJSON_Delete(o);
        return NULL;
    }
    if (!cJSON_AddStringToObject(o, "type", d->type) || !cJSON_AddStringToObject(o, "id", d->id) ||
        !cJSON_AddStringToObject(o, "title", d->title) ||
        !cJSON_AddStringToObject(o, "body", d->body ? d->body : "") ||
        !cJSON_AddStringToObject(o, "locale", d->locale ? d->locale : "simple") ||
        !add_stem(o, d->locale) ||
        !cJSON_AddNumberToObject(o, "min_role", d->min_role > 0 ? d->min_role : TC_ROLE_VIEWER) ||
        !add_version(o, d->version) || !cJSON_AddStringToObject(o, "updated_at", d->updated_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *store_doc_ref_row(const char *type, const char *id, int64_t version, const char *updated_at)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "type", type) &&
              cJSON_AddStringToObject(o, "id", id) &&
              (version > 0 ? add_version(o, version)
                           : cJSON_AddStringToObject(o, "version", VERSION_FINAL) != NULL) &&
              (updated_at && *updated_at ? cJSON_AddStringToObject(o, "updated_at", updated_at)
                                         : cJSON_AddNullToObject(o, "updated_at")) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* One document's change as a batch of one (row owned, freed here). */
static int apply_one(tc_dbconn_t *tx, const char *org_id, cJSON *row, bool deleted, bool *applied)
{
    int n = 0, rc = TC_ENOMEM;
    cJSON *list = cJSON_CreateArray();
    store_batch_t *b = store_batch_new(1);
    *applied = false;
    if (list && row && b && cJSON_AddItemToArray(list, row)) {
        row = NULL;
        rc = store_batch_add(b, org_id, deleted ? NULL : list, deleted ? list : NULL);
        if (rc == TC_OK)
            rc = store_batch_run(tx, b, &n);
    }
    store_batch_free(b);
    cJSON_Delete(row);
    cJSON_Delete(list);
    *applied = rc == TC_OK && n > 0;
    return rc;
}

int store_doc_upsert(tc_dbconn_t *tx, const search_doc_t *d, bool *applied)
{
    return apply_one(tx, d->org_id, store_doc_row(d), false, applied);
}

int store_doc_delete(tc_dbconn_t *tx, const char *org_id, const char *type, const char *id,
                     int64_t version, const char *updated_at, bool *applied)
{
    return apply_one(tx, org_id, store_doc_ref_row(type, id, version, updated_at), true, applied);
}

/* Whether the org's vocabulary has the word as typed (or, for the prefix word, a word that
 * starts with it): then no typo is looked for, as Typesense's typo_tokens_threshold of 1
 * does, which keeps the common query (no typo) at index-lookup cost. */
/* Whether the org's documents that the caller may find hold the word (or, for the prefix word,
 * a word starting with it). The vocabulary counts every document of the org; with documents
 * hidden from the caller, the postings of the visible ones answer instead, so that whether a
 * word gets typo candidates says nothing of a document the caller may not find. */
static int word_known(tc_dbconn_t *tx, const char *org_id, const search_word_t *w, bool hidden,
                      bool *known)
{
    PGresult *r = NULL;
    int rc = hidden      ? tc_db_qp(tx, &r, "word_visible",
                                    "SELECT 1 FROM search_postings WHERE org_id=$1"
                                         " AND min_role <= " ROLE_LEVEL_SQL
                                    " AND tsv @@ (quote_literal(lower(unaccent($2))) || $3)::tsquery"
                                         " LIMIT 1",
                                    org_id, w->text, w->prefix ? ":*" : "")
             : w->prefix ? tc_db_qp(tx, &r, "word_known_prefix",
                                    "SELECT 1 FROM search_vocabulary WHERE org_id=$1 AND docs > 0"
                                    " AND word LIKE lower(unaccent($2)) || '%' LIMIT 1",
                                    org_id, w->text)
                         : tc_db_qp(tx, &r, "word_known",
                                    "SELECT 1 FROM search_vocabulary WHERE org_id=$1 AND docs > 0"
                                    " AND word = lower(unaccent($2))",
                                    org_id, w->text);
    *known = rc == TC_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_typo_candidates(tc_dbconn_t *tx, const char *org_id, search_plan_t *plan, bool hidden)
{
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < plan->nwords; i++) {
        search_word_t *w = &plan->words[i];
        if (w->typos <= 0)
            continue;
        char budget[16];
        snprintf(budget, sizeof budget, "%d", w->typos);
        PGresult *r = NULL;
        bool known = false;
        rc = word_known(tx, org_id, w, hidden, &known);
        if (rc != TC_OK || known)
            continue;
        /* the words with the same first letter (one range of the primary key: a typo on the
         * first letter is not tolerated, and only leakproof comparisons can use an index under
         * row-level security), narrowed by trigrams and Levenshtein (a swap of two letters is 2
         * there); the model's edit distance decides (a swap is one typo) */
        rc = tc_db_qp(tx, &r, "typo_cands",
                      "WITH w AS (SELECT lower(unaccent($2)) AS word)"
                      " SELECT v.word, w.word FROM search_vocabulary v, w"
                      " WHERE v.org_id=$1 AND v.word >= left(w.word, 1)"
                      " AND v.word < left(w.word, 1) || chr(1114111)"
                      " AND v.docs > 0 AND v.word % w.word"
                      " AND v.word <> w.word"
                      " AND abs(length(v.word) - length(w.word)) <= $3::int"
                      " AND levenshtein_less_equal(v.word, w.word, $3::int + 1) <= $3::int + 1"
                      /* only words of documents the caller may find (none hidden: all) */
                      " AND (NOT $4::bool OR EXISTS (SELECT 1 FROM search_postings p"
                      " WHERE p.org_id=$1 AND p.min_role <= " ROLE_LEVEL_SQL
                      " AND p.tsv @@ quote_literal(v.word)::tsquery))"
                      " ORDER BY levenshtein(v.word, w.word), v.docs DESC, v.word LIMIT 16",
                      org_id, w->text, budget, hidden ? "true" : "false");
        for (int row = 0; rc == TC_OK && row < PQntuples(r); row++)
            if (search_edit_distance(tc_db_val(r, row, 0), tc_db_val(r, row, 1), w->typos) <=
                w->typos)
                search_word_add_candidate(w, tc_db_val(r, row, 0));
        PQclear(r);
    }
    return rc;
}

int store_stop_words(tc_dbconn_t *tx, const char *dictionary, search_plan_t *plan)
{
    int index[SEARCH_MAX_WORDS], n = 0;
    tc_buf_t words;
    tc_buf_init(&words);
    tc_buf_putc(&words, '{');
    for (int i = 0; dictionary && i < plan->nwords; i++) {
        /* valid words are letters and digits: nothing to escape inside the quotes */
        if (!search_plan_word_droppable(plan, i) || !search_word_valid(plan->words[i].text))
            continue;
        tc_buf_printf(&words, "%s\"%s\"", n ? "," : "", plan->words[i].text);
        index[n++] = i;
    }
    tc_buf_putc(&words, '}');
    int rc = words.oom ? TC_ENOMEM : TC_OK;
    PGresult *r = NULL;
    if (rc == TC_OK && n > 0)
        rc = tc_db_qp(tx, &r, "stop_words",
                      "SELECT u.i::int FROM unnest($2::text[]) WITH ORDINALITY AS u(w, i)"
                      " WHERE cardinality(ts_lexize($1::regdictionary, u.w)) = 0",
                      dictionary, tc_buf_cstr(&words));
    for (int row = 0; rc == TC_OK && r && row < PQntuples(r); row++) {
        int k = atoi(tc_db_val(r, row, 0)) - 1;
        if (k >= 0 && k < n)
            plan->words[index[k]].stop = true;
    }
    PQclear(r);
    tc_buf_free(&words);
    return rc;
}

/* "{user,org}" for the type filter (names are [a-z0-9_], nothing to quote), NULL: any. */
static int types_param(const search_query_t *sq, tc_buf_t *out)
{
    if (sq->ntypes == 0)
        return TC_OK;
    tc_buf_putc(out, '{');
    for (int i = 0; i < sq->ntypes; i++)
        tc_buf_printf(out, "%s%s", i ? "," : "", sq->types[i]);
    tc_buf_putc(out, '}');
    return out->oom ? TC_ENOMEM : TC_OK;
}

static double num(const PGresult *r, int row, int col)
{
    const char *v = tc_db_val(r, row, col);
    return v ? strtod(v, NULL) : 0.0;
}

/* The highlight as HTML (the document's text escaped, matches in <mark>). */
static bool add_highlight(cJSON *obj, const char *name, const char *marked)
{
    tc_buf_t b = TC_BUF_INIT;
    if (search_highlight_html(&b, marked ? marked : "") != TC_OK) {
        tc_buf_free(&b);
        return false;
    }
    char *html = tc_buf_detach(&b);
    bool ok = html && tc_json_add_str(obj, name, html);
    free(html);
    return ok;
}

/* Columns: 0 type, 1 id, 2 title, 3 fields, 4 updated_at, 5 score, 6 exact, 7 phrase,
 * 8 prefix, 9 typo, 10 title highlight, 11 snippet, 12 stem */
static cJSON *hit_of(const PGresult *r, int row, bool debug)
{
    cJSON *h = cJSON_CreateObject();
    if (!h)
        return NULL;
    bool ok = tc_json_add_str(h, "type", tc_db_val(r, row, 0)) &&
              tc_json_add_str(h, "id", tc_db_val(r, row, 1)) &&
              tc_json_add_str(h, "title", tc_db_val(r, row, 2)) &&
              tc_json_add_raw(h, "fields", tc_db_val(r, row, 3)) &&
              tc_json_add_str(h, "updated_at", tc_db_val(r, row, 4)) &&
              cJSON_AddNumberToObject(h, "score", num(r, row, 5));
    cJSON *hl = ok ? cJSON_AddObjectToObject(h, "highlight") : NULL;
    ok = hl && add_highlight(hl, "title", tc_db_val(r, row, 10)) &&
         add_highlight(hl, "snippet", tc_db_val(r, row, 11));
    if (ok && debug) {
        cJSON *dbg = cJSON_AddObjectToObject(h, "debug");
        ok = dbg && cJSON_AddNumberToObject(dbg, "exact", num(r, row, 6)) &&
             cJSON_AddNumberToObject(dbg, "phrase", num(r, row, 7)) &&
             cJSON_AddNumberToObject(dbg, "prefix", num(r, row, 8)) &&
             cJSON_AddNumberToObject(dbg, "typo", num(r, row, 9)) &&
             cJSON_AddNumberToObject(dbg, "stem", num(r, row, 12)) &&
             tc_json_add_str(dbg, "recency", tc_db_val(r, row, 4));
    }
    if (!ok) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

/* What a posting p must satisfy: the match ($2) in its words as written, or, for a query in a
 * language with a stemmer (cfg, a configuration name; NULL: none, and the planner drops the
 * arm), in the stems of a document of that language. */
#define MATCH_SQL(cfg)                                                                             \
    " (p.tsv @@ to_tsquery('search_simple', $2) OR (" cfg "::text IS NOT NULL"                     \
    " AND p.stem = " cfg "::text AND p.stv @@ to_tsquery(" cfg "::regconfig, $2)))"

/* The match and its score parts ($2 the match, $3-$6 the parts' tsqueries, $7 the types, cfg
 * the stemming configuration), on the postings alone. The stem part scores a document of the
 * query's language by its stems; hl is the configuration its highlights are made with: the
 * stemming one when only the stems matched (so "running" is marked for "runs"), else simple
 * (so a prefix being typed marks the words it starts). */
#define PARTS_SQL(cfg)                                                                             \
    "WITH q AS (SELECT"                                                                            \
    " CASE WHEN $3 <> '' THEN to_tsquery('search_simple', $3) END AS e,"                           \
    " CASE WHEN $4 <> '' THEN to_tsquery('search_simple', $4) END AS ph,"                          \
    " CASE WHEN $5 <> '' THEN to_tsquery('search_simple', $5) END AS pf,"                          \
    " CASE WHEN $6 <> '' THEN to_tsquery('search_simple', $6) END AS ty,"                          \
    " CASE WHEN " cfg "::text IS NOT NULL THEN to_tsquery(" cfg "::regconfig, $2) END AS st),"     \
    " parts AS MATERIALIZED (SELECT p.type, p.id, p.updated_at,"                                   \
    " coalesce(ts_rank_cd('{0.05, 0.1, 0.4, 1.0}'::float4[], p.tsv, q.e), 0) AS exact,"            \
    " coalesce(ts_rank_cd('{0.05, 0.1, 0.4, 1.0}'::float4[], p.tsv, q.ph), 0) AS phrase,"          \
    " coalesce(ts_rank_cd('{0.05, 0.1, 0.4, 1.0}'::float4[], p.tsv, q.pf), 0) AS prefix,"          \
    " coalesce(ts_rank_cd('{0.05, 0.1, 0.4, 1.0}'::float4[], p.tsv, q.ty), 0) AS typo,"            \
    " CASE WHEN p.stem = " cfg "::text"                                                            \
    " THEN coalesce(ts_rank_cd('{0.05, 0.1, 0.4, 1.0}'::float4[], p.stv, q.st), 0)"                \
    " ELSE 0 END AS stem,"                                                                         \
    " CASE WHEN p.stem = " cfg "::text AND NOT p.tsv @@ to_tsquery('search_simple', $2)"           \
    " THEN p.stem ELSE 'search_simple' END AS hl"                                                  \
    " FROM search_postings p, q"                                                                   \
    " WHERE p.org_id=$1 AND" MATCH_SQL(                                                            \
        cfg) " AND p.min_role <= " ROLE_LEVEL_SQL                                                  \
             " AND ($7::text[] IS NULL OR p.type = ANY($7::text[]))),"

/* The highlights of a ranked row r in its document d: the title whole, the body as snippets. */
#define HIGHLIGHTS_SQL                                                                             \
    " ts_headline(r.hl::regconfig, d.title, to_tsquery(r.hl::regconfig, $2),"                      \
    " 'HighlightAll=true, StartSel=" SEARCH_MARK_OPEN ", StopSel=" SEARCH_MARK_CLOSE "'),"         \
    " ts_headline(r.hl::regconfig, d.body, to_tsquery(r.hl::regconfig, $2),"                       \
    " 'MaxFragments=2, MaxWords=20, MinWords=8,"                                                   \
    " FragmentDelimiter=\" … \", StartSel=" SEARCH_MARK_OPEN ", StopSel=" SEARCH_MARK_CLOSE "'),"

/* One statement. The match and the ranking run on the postings alone, in a MATERIALIZED CTE:
 * planned apart from the documents' row-level security, the full-text match is an index
 * condition there (in one plan with an RLS table, PostgreSQL may not push the non-leakproof @@
 * into an index). The page then joins the documents, under their policy, for what is returned
 * and highlighted. Score parts: ts_rank_cd with weights {D, C, B, A} = {0.05, 0.1, 0.4, 1.0}:
 * title (A) over body (B) over fields (C); ties go to the newest. */
static const char SEARCH_SQL[] = PARTS_SQL(
    "$14") " ranked AS MATERIALIZED (SELECT *, exact*$10::float8 + phrase*$11::float8"
           " + prefix*$12::float8 + typo*$13::float8 + stem*$15::float8 AS score FROM parts"
           " ORDER BY score DESC, updated_at DESC, type, id LIMIT $8::int OFFSET $9::int)"
           " SELECT d.type, d.id, d.title, d.fields::text,"
           " to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
           " r.score, r.exact, r.phrase, r.prefix, r.typo," HIGHLIGHTS_SQL " r.stem"
           " FROM ranked r JOIN search_documents d"
           " ON d.org_id=$1 AND d.type = r.type AND d.id = r.id AND NOT d.deleted"
           " ORDER BY r.score DESC, r.updated_at DESC, r.type, r.id";

/* The field filter ($N: {"field": ["value", …]}, NULL for none) on the documents d: for every
 * field, its value as text (->>), or one element of it when it is an array, is one of the
 * values. */
#define FILTER_SQL(p)                                                                              \
    " AND (" p "::jsonb IS NULL OR NOT EXISTS (SELECT 1 FROM jsonb_each(" p "::jsonb) f"           \
    " WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(f.value) want(v)"                  \
    " WHERE want.v = d.fields ->> f.key OR want.v IN (SELECT jsonb_array_elements_text(CASE"       \
    " WHEN jsonb_typeof(d.fields -> f.key) = 'array' THEN d.fields -> f.key ELSE '[]' END)))))"

/* The sort key of a document d ($by: 'updated', 'field' or '' for relevance; $field the
 * member), and the order by it (x.sk, $desc) before the relevance order: jsonb orders numbers
 * by value, strings by the database's collation; documents without the field (or with a JSON
 * null, which jsonb would order first) go last. */
#define SORT_KEY_SQL(by, field)                                                                    \
    " CASE " by "::text WHEN 'updated' THEN to_jsonb(extract(epoch FROM d.updated_at))"            \
    " WHEN 'field' THEN NULLIF(d.fields -> " field "::text, 'null'::jsonb) END AS sk"
#define SORT_ORDER_SQL(x, desc)                                                                    \
    " CASE WHEN " desc "::bool THEN " x ".sk END DESC NULLS LAST,"                                 \
    " CASE WHEN NOT " desc "::bool THEN " x ".sk END ASC NULLS LAST"

/* As SEARCH_SQL, for a query with a field filter or another order than relevance: the ranked
 * matches join their documents (under row-level security) before the page is cut, since the
 * filter and the sort key live in the documents' fields. */
static const char SEARCH_FILTERED_SQL[] = PARTS_SQL(
    "$18") " ranked AS MATERIALIZED (SELECT * FROM (SELECT pt.*, pt.exact*$10::float8"
           " + pt.phrase*$11::float8 + pt.prefix*$12::float8 + pt.typo*$13::float8"
           " + pt.stem*$19::float8 AS score," SORT_KEY_SQL(
               "$15",
               "$16") " FROM parts pt"
                      " JOIN search_documents d"
                      " ON d.org_id=$1 AND d.type = pt.type AND d.id = pt.id AND NOT d.deleted"
                      " WHERE true" FILTER_SQL("$14") ") x ORDER BY" SORT_ORDER_SQL(
                          "x",
                          "$17") ","
                                 " x.score DESC, x.updated_at DESC, x.type, x.id LIMIT $8::int "
                                 "OFFSET $9::int)"
                                 " SELECT d.type, d.id, d.title, d.fields::text,"
                                 " to_char(d.updated_at AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                                 " r.score, r.exact, r.phrase, r.prefix, r.typo," HIGHLIGHTS_SQL
                                 " r.stem"
                                 " FROM ranked r JOIN search_documents d"
                                 " ON d.org_id=$1 AND d.type = r.type AND d.id = r.id AND NOT "
                                 "d.deleted"
                                 " ORDER BY" SORT_ORDER_SQL(
                                     "r", "$17") ", r.score DESC, r.updated_at DESC, r.type, r.id";

/* An empty q: the org's documents, newest first unless another order is asked for. */
static const char BROWSE_SQL[] =
    "SELECT x.type, x.id, x.title, x.fields::text,"
    " to_char(x.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " 0, 0, 0, 0, 0, x.title, left(x.body, 200), 0"
    " FROM (SELECT d.type, d.id, d.title, d.fields, d.updated_at, d.body," SORT_KEY_SQL(
        "$5", "$6") " FROM search_documents d WHERE d.org_id=$1 AND NOT d.deleted"
                    " AND d.min_role <= " ROLE_LEVEL_SQL
                    " AND ($2::text[] IS NULL OR d.type = ANY($2::text[]))" FILTER_SQL(
                        "$7") ") x"
                              " ORDER BY" SORT_ORDER_SQL("x",
                                                         "$8") ", x.updated_at DESC, x.type, x.id"
                                                               " LIMIT $3::int OFFSET $4::int";

/* The counts by type of the whole match, the field filter applied, the type filter aside. */
static int facets_of(tc_dbconn_t *tx, const char *org_id, const char *match, const char *stem,
                     const char *filter, const char *types, cJSON *facets, int64_t *total)
{
    PGresult *r = NULL;
    int rc = *match
                 ? tc_db_qp(tx, &r, "facets",
                            "WITH m AS MATERIALIZED (SELECT p.type, p.id FROM search_postings p"
                            " WHERE p.org_id=$1 AND p.min_role <= " ROLE_LEVEL_SQL " AND" MATCH_SQL(
                                "$4") ")"
                                      " SELECT d.type, count(*) FROM m JOIN search_documents d"
                                      " ON d.org_id=$1 AND d.type = m.type AND d.id = m.id"
                                      " WHERE NOT d.deleted" FILTER_SQL(
                                          "$3") " GROUP BY d.type ORDER BY 2 DESC, 1 LIMIT 100",
                            org_id, match, filter, stem)
                 : tc_db_qp(tx, &r, "facets_all",
                            "SELECT d.type, count(*) FROM search_documents d"
                            " WHERE d.org_id=$1 AND NOT d.deleted"
                            " AND d.min_role <= " ROLE_LEVEL_SQL FILTER_SQL(
                                "$2") " GROUP BY d.type ORDER BY 2 DESC, 1 LIMIT 100",
                            org_id, filter);
    *total = 0;
    for (int row = 0; rc == TC_OK && row < PQntuples(r); row++) {
        const char *type = tc_db_val(r, row, 0);
        int64_t n = tc_db_int(r, row, 1, 0);
        if (!cJSON_AddNumberToObject(facets, type, (double)n))
            rc = TC_ENOMEM;
        /* types is "{a,b}" of validated names: a member test on ",a,b," */
        char probe[SEARCH_TYPE_MAX + 3];
        snprintf(probe, sizeof probe, ",%s,", type);
        if (!types || strstr(types, probe))
            *total += n;
    }
    PQclear(r);
    return rc;
}

int store_search(tc_dbconn_t *tx, const char *org_id, const search_query_t *sq, cJSON **hits,
                 cJSON **facets, int64_t *total)
{
    tc_buf_t t[5], types = TC_BUF_INIT, members = TC_BUF_INIT;
    static const search_tsq_kind_t kinds[5] = {
        SEARCH_TSQ_MATCH, SEARCH_TSQ_EXACT, SEARCH_TSQ_PHRASE, SEARCH_TSQ_PREFIX, SEARCH_TSQ_TYPO};
    PGresult *r = NULL;
    char limit[16], offset[16], w[5][32];
    int rc = TC_OK;
    *hits = cJSON_CreateArray();
    *facets = cJSON_CreateObject();
    if (!*hits || !*facets)
        rc = TC_ENOMEM;
    for (int i = 0; i < 5; i++) {
        tc_buf_init(&t[i]);
        if (rc == TC_OK)
            rc = search_plan_tsquery(&sq->plan, kinds[i], &t[i]);
    }
    if (rc == TC_OK)
        rc = types_param(sq, &types);
    for (int i = 0; rc == TC_OK && i < sq->ntypes; i++) /* ",a,b," for facets_of */
        tc_buf_printf(&members, "%s%s,", i ? "" : ",", sq->types[i]);
    if (members.oom)
        rc = TC_ENOMEM;
    if (rc != TC_OK)
        goto cleanup;
    snprintf(limit, sizeof limit, "%d", sq->limit);
    snprintf(offset, sizeof offset, "%d", sq->offset);
    snprintf(w[0], sizeof w[0], "%g", SEARCH_W_EXACT);
    snprintf(w[1], sizeof w[1], "%g", SEARCH_W_PHRASE);
    snprintf(w[2], sizeof w[2], "%g", SEARCH_W_PREFIX);
    snprintf(w[3], sizeof w[3], "%g", SEARCH_W_TYPO);
    snprintf(w[4], sizeof w[4], "%g", SEARCH_W_STEM);
    const char *stem = search_stem_config(sq->lang);
    const char *type_arr = sq->ntypes > 0 ? tc_buf_cstr(&types) : NULL;
    const char *match = tc_buf_cstr(&t[0]);
    const char *filter = sq->filter[0] ? sq->filter : NULL;
    const char *by = sq->sort_by == SEARCH_SORT_UPDATED ? "updated"
                     : sq->sort_by == SEARCH_SORT_FIELD ? "field"
                                                        : "";
    const char *desc = sq->sort_desc ? "true" : "false";
    if (*match && !filter && sq->sort_by == SEARCH_SORT_RELEVANCE)
        rc = tc_db_qp(tx, &r, "search", SEARCH_SQL, org_id, match, tc_buf_cstr(&t[1]),
                      tc_buf_cstr(&t[2]), tc_buf_cstr(&t[3]), tc_buf_cstr(&t[4]), type_arr, limit,
                      offset, w[0], w[1], w[2], w[3], stem, w[4]);
    else if (*match)
        rc = tc_db_qp(tx, &r, "search_filtered", SEARCH_FILTERED_SQL, org_id, match,
                      tc_buf_cstr(&t[1]), tc_buf_cstr(&t[2]), tc_buf_cstr(&t[3]),
                      tc_buf_cstr(&t[4]), type_arr, limit, offset, w[0], w[1], w[2], w[3], filter,
                      by, sq->sort_field, desc, stem, w[4]);
    else
        rc = tc_db_qp(tx, &r, "browse", BROWSE_SQL, org_id, type_arr, limit, offset, by,
                      sq->sort_field, filter, desc);
    for (int row = 0; rc == TC_OK && row < PQntuples(r); row++) {
        cJSON *h = hit_of(r, row, sq->debug);
        if (!h || !cJSON_AddItemToArray(*hits, h)) {
            cJSON_Delete(h);
            rc = TC_ENOMEM;
        }
    }
    if (rc == TC_OK)
        rc = facets_of(tx, org_id, match, stem, filter,
                       sq->ntypes > 0 ? tc_buf_cstr(&members) : NULL, *facets, total);
cleanup:
    PQclear(r);
    for (int i = 0; i < 5; i++)
        tc_buf_free(&t[i]);
    tc_buf_free(&types);
    tc_buf_free(&members);
    if (rc != TC_OK) {
        cJSON_Delete(*hits);
        cJSON_Delete(*facets);
        *hits = *facets = NULL;
    }
    return rc;
}
