/* GET and POST /v1/search: the caller's org only (query filter and row-level security). */
#include "handlers.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdlib.h>
#include <string.h>

static bool query_flag(const tc_req_t *req, const char *name, bool def)
{
    const char *v = tc_req_query(req, name);
    if (!v)
        return def;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* The words of the plan with the typo candidates found for them ("did you mean"). */
/* {"words": "new york", "synonyms": [...]}: a multi-word key the query's words made */
static bool span_json(cJSON *spans, const search_plan_t *plan, const search_span_t *sp)
{
    char typed[SEARCH_SYNONYM_MAX + 1];
    search_plan_words(plan, sp->first, sp->count, typed, sizeof typed);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(spans, o)) {
        cJSON_Delete(o);
        return false;
    }
    cJSON *syns = tc_json_add_str(o, "words", typed) ? cJSON_AddArrayToObject(o, "synonyms") : NULL;
    bool ok = syns != NULL;
    for (int j = 0; ok && j < sp->nsyns; j++) {
        cJSON *s = cJSON_CreateString(sp->syns[j]);
        ok = s && cJSON_AddItemToArray(syns, s);
        if (!ok)
            cJSON_Delete(s);
    }
    return ok;
}

static cJSON *query_json(const search_query_t *sq)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *words = o ? cJSON_AddArrayToObject(o, "words") : NULL;
    bool ok = words != NULL;
    for (int i = 0; ok && i < sq->plan.nwords; i++) {
        const search_word_t *w = &sq->plan.words[i];
        cJSON *wj = cJSON_CreateObject();
        if (!wj || !cJSON_AddItemToArray(words, wj)) {
            cJSON_Delete(wj);
            ok = false;
            break;
        }
        cJSON *c = cJSON_AddArrayToObject(wj, "typo_candidates");
        ok = c && tc_json_add_str(wj, "word", w->text) &&
             cJSON_AddBoolToObject(wj, "prefix", w->prefix) &&
             cJSON_AddBoolToObject(wj, "stop_word", w->dropped) &&
             cJSON_AddNumberToObject(wj, "typos", w->typos);
        for (int j = 0; ok && j < w->ncands; j++) {
            cJSON *s = cJSON_CreateString(w->cands[j]);
            ok = s && cJSON_AddItemToArray(c, s);
            if (!ok)
                cJSON_Delete(s);
        }
        cJSON *syns = ok ? cJSON_AddArrayToObject(wj, "synonyms") : NULL;
        ok = syns != NULL;
        for (int j = 0; ok && j < w->nsyns; j++) {
            cJSON *s = cJSON_CreateString(w->syns[j]);
            ok = s && cJSON_AddItemToArray(syns, s);
            if (!ok)
                cJSON_Delete(s);
        }
    }
    cJSON *spans = ok ? cJSON_AddArrayToObject(o, "spans") : NULL;
    ok = spans != NULL;
    for (int i = 0; ok && i < sq->plan.nspans; i++)
        ok = span_json(spans, &sq->plan, &sq->plan.spans[i]);
    if (ok)
        ok = sq->lang[0] ? tc_json_add_str(o, "language", sq->lang) != NULL
                         : cJSON_AddNullToObject(o, "language") != NULL;
    if (ok) /* whether documents of the query's language match by their stems too */
        ok = cJSON_AddBoolToObject(o, "stems", search_stem_config(sq->lang) != NULL) != NULL;
    if (ok && sq->plan.truncated)
        ok = cJSON_AddBoolToObject(o, "truncated", true) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void run(search_app_t *app, tc_req_t *req, tc_resp_t *resp, search_query_t *sq)
{
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *hits = NULL, *facets = NULL, *body = NULL;
    int64_t total = 0;
    char next[32];
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    bool hidden = false;
    int rc = store_tenant(tx, p->org, (int)p->role, &hidden);
    if (rc == TC_OK && sq->lang[0])
        rc = store_stop_words(tx, search_stop_dictionary(sq->lang), &sq->plan);
    if (rc == TC_OK)
        search_plan_drop_stop_words(&sq->plan);
    if (rc == TC_OK)
        rc = store_typo_candidates(tx, p->org, &sq->plan, hidden);
    if (rc == TC_OK)
        rc = store_synonyms_expand(tx, p->org, &sq->plan);
    if (rc == TC_OK)
        rc = store_search(tx, p->org, sq, &hits, &facets, &total);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) != TC_OK) {
        cJSON_Delete(hits);
        cJSON_Delete(facets);
        return;
    }
    search_next_key(sq->offset, sq->limit, cJSON_GetArraySize(hits), next, sizeof next);
    body = tc_page_body(hits, *next ? next : NULL);
    cJSON *fj = body ? cJSON_CreateObject() : NULL;
    cJSON *qj = fj ? query_json(sq) : NULL;
    bool ok = qj && cJSON_AddItemToObject(fj, "type", facets);
    if (ok)
        facets = NULL;
    ok = ok && cJSON_AddItemToObject(body, "facets", fj);
    if (ok)
        fj = NULL;
    ok = ok && cJSON_AddNumberToObject(body, "total", (double)total) &&
         cJSON_AddItemToObject(body, "query", qj);
    if (ok)
        qj = NULL;
    cJSON_Delete(facets);
    cJSON_Delete(fj);
    cJSON_Delete(qj);
    if (!ok) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_resp_json(resp, 200, body);
}

/* ?limit= and ?cursor= (both methods); cursor keys are offsets into the ranking. */
static int page_of(tc_req_t *req, tc_resp_t *resp, int *limit, int *offset)
{
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return TC_EINVAL;
    if (search_offset_from_key(page.after, offset) != TC_OK) {
        tc_resp_error(resp, 400, "invalid_cursor", "The cursor is not valid");
        return TC_EINVAL;
    }
    *limit = page.limit;
    return TC_OK;
}

/* Answers 422 for what jv collected, or runs the query; releases both. */
static void answer(search_app_t *app, tc_req_t *req, tc_resp_t *resp, search_query_t *sq,
                   tc_jv_t *jv)
{
    if (tc_jv_failed(jv))
        tc_resp_invalid(resp, jv);
    else
        run(app, req, resp, sq);
    tc_jv_free(jv);
    free(sq);
}

/* The query (large: kept off the server thread's stack) with its limit and offset, or NULL
 * when the request was answered (bad page parameters, out of memory). */
static search_query_t *query_new(tc_req_t *req, tc_resp_t *resp, int *limit, int *offset)
{
    if (page_of(req, resp, limit, offset) != TC_OK)
        return NULL;
    search_query_t *sq = malloc(sizeof *sq);
    if (!sq)
        tc_resp_fail(resp, TC_ENOMEM);
    return sq;
}

void h_search_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    int limit = 0, offset = 0;
    search_query_t *sq = query_new(req, resp, &limit, &offset);
    if (!sq)
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *types = tc_req_query(req, "type");
    search_query_build(sq, &jv, tc_req_query(req, "q"), types, NULL, limit, offset,
                       query_flag(req, "debug", false), query_flag(req, "prefix", true),
                       query_flag(req, "typo_tolerance", true));
    search_query_filter(sq, &jv, tc_req_query(req, "filter"), NULL);
    search_query_sort(sq, &jv, tc_req_query(req, "sort"));
    search_query_lang(sq, &jv, tc_req_query(req, "lang"), tc_req_header(req, "Accept-Language"));
    answer(ud, req, resp, sq, &jv);
}

void h_search_post(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {
        "q", "types", "debug", "prefix", "filter", "typo_tolerance", "sort", "lang", NULL};
    int limit = 0, offset = 0;
    const cJSON *body = tc_req_json(req);
    search_query_t *sq = query_new(req, resp, &limit, &offset);
    if (!sq)
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    const char *q = tc_jv_str(&jv, body, "q", TC_JV_OPTIONAL, 0, SEARCH_Q_MAX);
    bool debug = tc_jv_bool(&jv, body, "debug", TC_JV_OPTIONAL, false);
    bool prefix = tc_jv_bool(&jv, body, "prefix", TC_JV_OPTIONAL, true);
    bool typos = tc_jv_bool(&jv, body, "typo_tolerance", TC_JV_OPTIONAL, true);
    const char *sort = tc_jv_str(&jv, body, "sort", TC_JV_OPTIONAL, 0, 80);
    const char *lang = tc_jv_str(&jv, body, "lang", TC_JV_OPTIONAL, 1, SEARCH_LANG_MAX);
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(body, "types");
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(body, "filter");
    /* every bad member is reported at once (a bad q leaves q NULL here) */
    search_query_build(sq, &jv, q, NULL, types, limit, offset, debug, prefix, typos);
    search_query_filter(sq, &jv, NULL, filter);
    search_query_sort(sq, &jv, sort);
    /* lang absent or null: the header's (a lang tc_jv_str refused is a 422 already) */
    search_query_lang(sq, &jv, lang, lang ? NULL : tc_req_header(req, "Accept-Language"));
    answer(ud, req, resp, sq, &jv);
}
