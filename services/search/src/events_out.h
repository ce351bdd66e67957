/* events_out.h: the events search emits (through the outbox, in the caller's transaction). */
#ifndef SEARCH_EVENTS_OUT_H
#define SEARCH_EVENTS_OUT_H

#include <cjson/cJSON.h>
#include "tc/tc_db.h"

/* A searchable document accepted by the ingest API (data: the document, copied). */
int events_document_upserted(tc_dbconn_t *tx, const char *id, const cJSON *doc);
/* A document removal accepted by the ingest API (data: the reference, copied). */
int events_document_deleted(tc_dbconn_t *tx, const char *id, const cJSON *ref);

#endif
