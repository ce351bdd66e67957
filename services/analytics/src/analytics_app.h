/*
 * analytics_app.h: the analytics service's shared context (configuration and dependencies),
 * handed to every handler, consumer and job as their `ud`.
 */
#ifndef ANALYTICS_APP_H
#define ANALYTICS_APP_H

#include "tc/tc_service.h"

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    int retention_days;        /* ANALYTICS_RETENTION_DAYS: raw events (seed §4.3: 2 years) */
    int audit_retention_years; /* AUDIT_RETENTION_YEARS: the audit log (seed §4.3: 7 years) */
    int partition_job_ms;      /* ANALYTICS_PARTITION_JOB_MS: partitions made ahead, old dropped */
    int partitions_ahead;      /* ANALYTICS_PARTITIONS_AHEAD: months of partitions made ahead */
    int ingest_batch;          /* ANALYTICS_INGEST_BATCH: events per ingest transaction */
    int ingest_workers;        /* ANALYTICS_INGEST_WORKERS: group members splitting the topics */
    int query_timeout_ms;      /* ANALYTICS_QUERY_TIMEOUT_MS: statement timeout of a query */
    int report_job_ms;         /* ANALYTICS_REPORT_JOB_MS: how often due reports are refreshed */
    int64_t future_skew_ms;    /* an event stamped later than now + this is taken as now */
} analytics_app_t;

/* Reads ANALYTICS_* variables; problems go into cfg. */
void analytics_app_config(analytics_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int analytics_app_init(analytics_app_t *app, tc_service_t *svc);
void analytics_app_free(analytics_app_t *app);

/* Registers the public routes. */
int analytics_routes(analytics_app_t *app);
/* Every *-events topic and analytics-events into the events table, in batches. */
int consumer_events_start(analytics_app_t *app);
/* audit-events into the hash-chained audit log. */
int consumer_audit_start(analytics_app_t *app);
/* The job that refreshes saved reports whose hourly or daily result is due. */
int reports_start(analytics_app_t *app);
/* The job that creates partitions ahead and drops those past retention; runs once before
 * the service takes traffic, so ingest never meets a month without its partition. */
int partitions_start(analytics_app_t *app);

#endif
