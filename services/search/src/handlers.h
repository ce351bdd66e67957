/* handlers.h: the search service's HTTP entry points (HTTP only: model and store do the work). */
#ifndef SEARCH_HANDLERS_H
#define SEARCH_HANDLERS_H

#include "search_app.h"
#include "tc/tc_http.h"

void h_search_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_search_post(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_synonyms_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_synonyms_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_synonyms_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_documents_upsert(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_documents_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_vocabulary_recount(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_reindex(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_reindex_status(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
