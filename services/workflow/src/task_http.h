/*
 * task_http.h: the tc:http Task resource — an HTTP request to a customer-named URL, shaped
 * like Step Functions' HTTP Task (arn:aws:states:::http:invoke):
 *
 *   Parameters  {"ApiEndpoint": "https://…", "Method": "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS",
 *                "Headers": {"name": "value"}, "QueryParameters": {"k": "v"},
 *                "RequestBody": any JSON (a string is sent as it is, anything else as JSON)}
 *   result      {"StatusCode": 200, "Headers": {…}, "ResponseBody": JSON when the response
 *                says application/json and parses, else text}
 *   errors      States.Http.StatusCode.<code> for a non-2xx answer (cause: status and body),
 *               States.Http.Socket when no connection was made (or the address is refused),
 *               States.Timeout, States.Runtime for parameters that are not a request.
 *
 * Every call carries Idempotency-Key: <execution>:<state>:<attempt>, the same when a worker
 * that died mid-call is replaced, so a callee that honours the header does the work once.
 */
#ifndef WORKFLOW_TASK_HTTP_H
#define WORKFLOW_TASK_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "asl.h"
#include "tc/tc_egress.h"

/* A request built from Parameters (the model half, no I/O). */
typedef struct {
    char *url; /* with the query string */
    char *method;
    char **headers; /* "Name: value", NULL-terminated */
    char *body;
    size_t body_len;
} http_call_t;

void http_call_clear(http_call_t *c);
/* TC_OK, or TC_EINVAL with err (States.Runtime: what is wrong with the parameters). */
int http_call_build(const cJSON *params, const char *idempotency_key, http_call_t *out,
                    asl_err_t *err);
/* The Task's result (or error) from a response (TC_OK with *result, TC_ERROR with err). */
int http_call_result(long status, const cJSON *headers, const char *body, size_t body_len,
                     cJSON **result, asl_err_t *err);

/* Builds, calls and maps: the whole Task. timeout_s bounds the call. */
int task_http_run(const tc_egress_opts_t *egress, const cJSON *params, const char *idem_key,
                  int timeout_s, cJSON **result, asl_err_t *err);

#endif
