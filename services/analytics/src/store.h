/*
 * store.h: all of analytics' SQL. Every value is a parameter; the query language's
 * statements come rendered with theirs from query_model.
 */
#ifndef ANALYTICS_STORE_H
#define ANALYTICS_STORE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "audit_model.h"
#include "report_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_db.h"

/* Rows in COPY text format (ingest_model's an_copy_line) into events; rows already there
 * (same org, id and time) are left alone. *stored: rows new to the table. */
int store_events_copy(tc_dbconn_t *tx, const tc_buf_t *lines, int64_t *stored);

/* Runs a rendered query as org (row-level security: the transaction names the org) with a
 * statement timeout. TC_ETIMEDOUT past it; TC_EINVAL when PostgreSQL refuses a value (an
 * unknown time zone). The caller owns *res. */
int store_query_run(tc_dbconn_t *tx, const char *org_id, int timeout_ms, const char *sql,
                    int nparams, const char *const *params, PGresult **res);

/* The transaction's statement timeout (ends with it): reads over a whole org's history. */
int store_statement_timeout(tc_dbconn_t *tx, int timeout_ms);

/* One audit record appended to its org's chain (seq and hashes set by the database); an
 * event id the org's log has already is left alone (*added false). */
int store_audit_append(tc_dbconn_t *tx, const audit_rec_t *r, bool *added);
/* A page of the org's log, newest first, matching f; *data owns its records, *next the
 * cursor key ("" at the end). */
int store_audit_list(tc_dbconn_t *c, const char *org_id, const audit_filter_t *f, cJSON **data,
                     char next[64]);
/* Every record matching f, oldest first, each as one JSON line appended to out. */
int store_audit_export(tc_dbconn_t *c, const char *org_id, const audit_filter_t *f, tc_buf_t *out,
                       int64_t *count);
/* Recomputes the org's chain; *report is {"valid", "records", "head", "first_break"}. */
int store_audit_verify(tc_dbconn_t *c, const char *org_id, cJSON **report);

/* Saved reports. Each returns the report's API representation in *out (caller owns it). */
int store_report_create(tc_dbconn_t *tx, const char *id, const char *org_id, const char *created_by,
                        const rm_fields_t *f, cJSON **out);
/* TC_ENOTFOUND for another org's report or none; for_update locks it for the transaction. */
int store_report_get(tc_dbconn_t *c, const char *org_id, const char *id, bool for_update,
                     cJSON **out);
/* The fields f gives, changed; the stored query and range checked together by the caller
 * first (store_report_get). TC_ENOTFOUND. */
int store_report_update(tc_dbconn_t *tx, const char *org_id, const char *id, const rm_fields_t *f,
                        cJSON **out);
int store_report_delete(tc_dbconn_t *tx, const char *org_id, const char *id);
/* A page of the org's saved reports, oldest first; next: the cursor key ("" at the end). */
int store_report_list(tc_dbconn_t *c, const char *org_id, int limit, const char *after,
                      cJSON **data, char next[128]);
/* The cached result of a report for the org (TC_ENOTFOUND without one for that version). */
int store_result_get(tc_dbconn_t *c, const char *org_id, const char *report_id, int version,
                     cJSON **result, int64_t *computed_ms);
int store_result_put(tc_dbconn_t *c, const char *org_id, const char *report_id, int version,
                     int64_t computed_ms, const cJSON *result);
/* Claims up to limit saved reports whose hourly or daily result is due and that no replica
 * holds: a lease of lease_s seconds, committed by the statement itself (run it outside a
 * transaction). The least recently attempted first. *due: an array of report JSON. */
int store_reports_claim(tc_dbconn_t *c, int limit, int lease_s, cJSON **due);
/* Ends the job's lease on a report (computed, or failed: due again at the next run). */
int store_report_release(tc_dbconn_t *c, const char *org_id, const char *id);
/* Whether PostgreSQL knows the time zone (*rc: TC_OK or the query's failure). */
bool store_timezone_known(tc_dbconn_t *c, const char *tz, int *rc);

/* Partitions from the one holding oldest_ms to ahead units after now; *made counts new ones. */
int store_partitions_ensure(tc_dbconn_t *c, const char *table, const char *unit, int64_t oldest_ms,
                            int ahead, int *made);
/* Drops the partitions of table wholly older than keep_after_ms; *dropped counts them. */
int store_partitions_drop(tc_dbconn_t *c, const char *table, int64_t keep_after_ms, int *dropped);

#endif
