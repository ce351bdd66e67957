/* The ingest API for services that call rather than emit: each accepted document becomes a
 * searchable-document event in the outbox (so the index applies it in order with every other
 * source, and nothing acknowledged is lost). Service tokens only. */
#include "events_out.h"
#include "handlers.h"
#include "search_model.h"
#include "tc/tc_core.h"
#include "tc/tc_tx.h"

#include <string.h>

static void accepted(search_app_t *app, tc_resp_t *resp, const char *id, const cJSON *data,
                     bool deleted)
{
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc =
        deleted ? events_document_deleted(tx, id, data) : events_document_upserted(tx, id, data);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && !cJSON_AddBoolToObject(body, "accepted", true)) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 202, body, NULL);
}

void h_internal_documents_upsert(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    search_doc_t d;
    tc_jv_init(&jv);
    search_doc_from_json(&d, &jv, body);
    if (tc_jv_failed(&jv))
        tc_resp_invalid(resp, &jv);
    else
        accepted(ud, resp, d.id, body, false);
    search_doc_clear(&d);
    tc_jv_free(&jv);
}

void h_internal_documents_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    search_doc_ref_t ref;
    tc_jv_init(&jv);
    search_doc_ref_from_json(&ref, &jv, body);
    if (tc_jv_failed(&jv))
        tc_resp_invalid(resp, &jv);
    else
        accepted(ud, resp, ref.id, body, true);
    tc_jv_free(&jv);
}

/* The {org_id, <name>: n} body of the per-org operator routes. */
static void org_count(tc_resp_t *resp, int status, const char *org, const char *name, int64_t n)
{
    cJSON *body = cJSON_CreateObject();
    if (body && (!cJSON_AddStringToObject(body, "org_id", org) ||
                 !cJSON_AddNumberToObject(body, name, (double)n))) {
        cJSON_Delete(body);
        body = NULL;
    }
    if (!body)
        tc_resp_fail(resp, TC_ENOMEM);
    else
        tc_resp_json(resp, status, body);
}

/* The org of a path, NULL (after a 404) when it cannot be one. */
static const char *path_org(tc_req_t *req, tc_resp_t *resp)
{
    const char *org = tc_req_param(req, "org_id");
    if (!org || !*org || strlen(org) > 64) {
        tc_resp_error(resp, 404, "not_found", "org not found");
        return NULL;
    }
    return org;
}

/* Operators' repair after a restore or a manual change of the tables: the org's vocabulary
 * counted again now instead of on the periodic round. */
void h_internal_vocabulary_recount(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *org = path_org(req, resp);
    int fixed = 0;
    if (!org)
        return;
    int rc = vocabulary_recount(ud, org, &fixed);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        org_count(resp, 200, org, "fixed", fixed);
}

/* An org's index made again from its stored documents (after a mapping change that concerns
 * it, or to repair it): every posting is marked for the remap job, which rebuilds them in
 * batches while the org's results stay served. 202: the work is under way. */
void h_internal_reindex(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *org = path_org(req, resp);
    int64_t marked = 0;
    if (!org)
        return;
    int rc = reindex_org(ud, org, &marked);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        org_count(resp, 202, org, "marked", marked);
}

/* The progress of an org's reindex: its postings still to make again (0: done). */
void h_internal_reindex_status(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *org = path_org(req, resp);
    int64_t pending = 0;
    if (!org)
        return;
    int rc = remap_pending(ud, org, &pending);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        org_count(resp, 200, org, "pending", pending);
}
