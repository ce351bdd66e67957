/*
 * search_app.h: the search service's shared context (configuration and dependencies), handed
 * to every handler and consumer as their `ud`.
 */
#ifndef SEARCH_APP_H
#define SEARCH_APP_H

#include "tc/tc_service.h"

#include <stdint.h>

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    int64_t recount_ms;     /* SEARCH_RECOUNT_INTERVAL_MS: one org's vocabulary per run; 0 off */
    char recount_after[80]; /* the org recounted last (the job's own) */
    int64_t remap_ms;       /* SEARCH_REMAP_INTERVAL_MS: the postings remap's period; 0 off */
    int remap_batch;        /* SEARCH_REMAP_BATCH: postings made again per transaction */
    int index_connections;  /* SEARCH_INDEX_CONNECTIONS: transactions a batch is written in */
} search_app_t;

/* Reads SEARCH_* variables; problems go into cfg. */
void search_app_config(search_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int search_app_init(search_app_t *app, tc_service_t *svc);
void search_app_free(search_app_t *app);

/* Registers the public and internal routes. */
int search_routes(search_app_t *app);
/* The consumers that feed the index: users and orgs (user-events), searchable documents
 * (search-events). */
int consumer_users_start(search_app_t *app);
int consumer_documents_start(search_app_t *app);
/* Workflows (workflow-events) as documents of type "workflow". */
int consumer_workflows_start(search_app_t *app);
/* Connections (integration-events) as documents of type "connection". */
int consumer_connections_start(search_app_t *app);

/* Recounts one org's vocabulary from its live documents in a transaction of its own (*fixed:
 * the words whose count changed). */
int vocabulary_recount(search_app_t *app, const char *org_id, int *fixed);
/* The periodic recount, one org per SEARCH_RECOUNT_INTERVAL_MS. */
int vocabulary_job_start(search_app_t *app);

/* Remaps postings of an older mapping (store_remap_batch), up to `batches` batches, one
 * transaction each, until none is left; *total: how many. */
int remap_run(search_app_t *app, int batches, int *total);
/* Marks every posting of the org for the remap (its reindex from its stored documents);
 * *marked: how many. */
int reindex_org(search_app_t *app, const char *org_id, int64_t *marked);
/* How many of the org's postings the remap has still to make again. */
int remap_pending(search_app_t *app, const char *org_id, int64_t *pending);
/* The periodic remap, every SEARCH_REMAP_INTERVAL_MS. */
int remap_job_start(search_app_t *app);

#endif
