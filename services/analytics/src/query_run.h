/*
 * query_run.h: one query of the query language (query_model.h) run as an org, shared by the
 * query API and saved reports.
 */
#ifndef ANALYTICS_QUERY_RUN_H
#define ANALYTICS_QUERY_RUN_H

#include <cjson/cJSON.h>

#include "analytics_app.h"
#include "tc/tc_http.h"
#include "tc/tc_json.h"

/* Runs body as org: TC_OK with *result {type, data, meta} (caller owns it). TC_EINVAL with the
 * problems in jv (the body), or with jv clean when PostgreSQL refused a value (sqlstate);
 * TC_ETIMEDOUT past ANALYTICS_QUERY_TIMEOUT_MS; TC_EUNAVAIL; TC_ENOMEM. */
int analytics_query_run(analytics_app_t *app, const char *org, const cJSON *body, tc_jv_t *jv,
                        cJSON **result, char sqlstate[8]);
/* The answer for a failure of analytics_query_run. */
void analytics_query_fail(analytics_app_t *app, tc_resp_t *resp, int rc, tc_jv_t *jv,
                          const char *sqlstate);

#endif
