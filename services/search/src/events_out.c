/* The searchable-document events, emitted by the ingest API into the outbox: the same log
 * other services write to, so one consumer indexes both in order. */
#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_proto.h"

int events_document_upserted(tc_dbconn_t *tx, const char *id, const cJSON *doc)
{
    return tc_emit(tx, TC_EV_SEARCH_DOCUMENT_UPSERTED, id, cJSON_Duplicate(doc, 1));
}

int events_document_deleted(tc_dbconn_t *tx, const char *id, const cJSON *ref)
{
    return tc_emit(tx, TC_EV_SEARCH_DOCUMENT_DELETED, id, cJSON_Duplicate(ref, 1));
}
