/* /v1/search/synonyms: the caller's org's synonyms, read by members, replaced and cleared by
 * admins (Meilisearch's settings shape: the whole set at once). */
#include "handlers.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_tx.h"

#include <stdlib.h>

/* {"synonyms": set} (set taken over); NULL when it could not be built. */
static cJSON *set_body(cJSON *set)
{
    cJSON *body = set ? cJSON_CreateObject() : NULL;
    if (!body || !cJSON_AddItemToObject(body, "synonyms", set)) {
        cJSON_Delete(body);
        cJSON_Delete(set);
        return NULL;
    }
    return body;
}

/* Answers with the org's set as stored, and commits. */
static void answer_set(search_app_t *app, tc_dbconn_t *tx, tc_resp_t *resp, const char *org)
{
    cJSON *set = NULL;
    int rc = store_synonyms_get(tx, org, &set);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, set_body(set), NULL);
}

/* A transaction in the caller's org (row-level security), or NULL when the request was
 * answered (503). */
static tc_dbconn_t *org_tx(search_app_t *app, tc_resp_t *resp, const char *org)
{
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return NULL;
    /* synonyms read no document: the level that finds none will do */
    int rc = store_tenant(tx, org, 0, NULL);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return NULL;
    }
    return tx;
}

void h_synonyms_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    search_app_t *app = ud;
    const char *org = tc_req_principal(req)->org;
    tc_dbconn_t *tx = org_tx(app, resp, org);
    if (tx)
        answer_set(app, tx, resp, org);
}

/* The body's set checked and normalized into a new object (NULL when jv failed or memory ran
 * out: *oom tells). A word given twice (after lower-casing) is refused: which list was meant? */
static cJSON *normalized_set(tc_jv_t *jv, const cJSON *body, bool *oom)
{
    static const char *const allowed[] = {"synonyms", NULL};
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(body, "synonyms");
    cJSON *out = cJSON_CreateObject();
    search_synonym_entry_t *e = malloc(sizeof *e);
    *oom = !out || !e;
    tc_jv_no_unknown(jv, body, allowed);
    if (!cJSON_IsObject(set))
        tc_jv_error(jv, "synonyms", "an object of words, each with an array of synonyms");
    else if (cJSON_GetArraySize(set) > SEARCH_MAX_SYNONYM_WORDS)
        tc_jv_error(jv, "synonyms", "at most %d words", SEARCH_MAX_SYNONYM_WORDS);
    const cJSON *entries = cJSON_IsObject(set) && !*oom ? set : NULL, *item;
    cJSON_ArrayForEach(item, entries)
    {
        if (!search_synonym_entry(e, jv, item->string, item))
            continue;
        if (cJSON_GetObjectItemCaseSensitive(out, e->word)) {
            tc_jv_error(jv, "synonyms", "\"%s\" is given twice", e->word);
            continue;
        }
        cJSON *list = cJSON_AddArrayToObject(out, e->word);
        for (int i = 0; list && i < e->nsyns; i++) {
            cJSON *s = cJSON_CreateString(e->syns[i]);
            if (!s || !cJSON_AddItemToArray(list, s)) {
                cJSON_Delete(s);
                list = NULL;
            }
        }
        if (!list) {
            *oom = true;
            break;
        }
    }
    free(e);
    if (*oom || tc_jv_failed(jv)) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

void h_synonyms_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    search_app_t *app = ud;
    const char *org = tc_req_principal(req)->org;
    bool oom = false;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *set = normalized_set(&jv, tc_req_json(req), &oom);
    if (!set) {
        if (oom)
            tc_resp_fail(resp, TC_ENOMEM);
        else
            tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = org_tx(app, resp, org);
    if (!tx) {
        cJSON_Delete(set);
        return;
    }
    char bad[SEARCH_SYNONYM_MAX + 1] = "";
    int rc = store_synonyms_replace(tx, org, set, bad, sizeof bad);
    cJSON_Delete(set);
    if (rc == TC_EINVAL) {
        tc_tx_abort(app->db, tx);
        tc_jv_init(&jv);
        tc_jv_error(&jv, "synonyms", "\"%s\" is not a word once its accents are folded", bad);
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    answer_set(app, tx, resp, org);
}

void h_synonyms_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    search_app_t *app = ud;
    const char *org = tc_req_principal(req)->org;
    tc_dbconn_t *tx = org_tx(app, resp, org);
    if (!tx)
        return;
    int rc = store_synonyms_clear(tx, org);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
