#include "workflow_model.h"
#include "task_integration.h"
#include "task_ml.h"
#include "asl.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const wf_resources[] = {
    "tc:http",     "tc:http" WF_CALLBACK_SUFFIX, "tc:notify", "tc:notify" WF_CALLBACK_SUFFIX,
    "tc:workflow", "tc:workflow:start",          "tc:ml:",    "tc:integration:",
    NULL};

bool wf_callback_resource(const char *resource, char *base, size_t n)
{
    size_t len = resource ? strlen(resource) : 0, sl = strlen(WF_CALLBACK_SUFFIX);
    if (len <= sl || strcmp(resource + len - sl, WF_CALLBACK_SUFFIX) != 0)
        return false;
    if (base && n > 0)
        snprintf(base, n, "%.*s", (int)(len - sl), resource);
    return true;
}

static const wf_limits_t plans[] = {
    {"starter", 10, 5000, 20},
    {"professional", 100, 100000, 100},
    {"enterprise", WF_UNLIMITED, WF_UNLIMITED, 500},
};

static const wf_limits_t *plan_find(const char *name)
{
    for (size_t i = 0; name && i < TC_ARRAY_LEN(plans); i++)
        if (strcmp(plans[i].plan, name) == 0)
            return &plans[i];
    return NULL;
}

bool wf_plan_known(const char *name)
{
    return plan_find(name) || (name && strcmp(name, "free") == 0);
}

void wf_plan_limits(const char *plan, const char *free_as, wf_limits_t *out)
{
    const wf_limits_t *p = plan_find(plan);
    if (!p)
        p = plan_find(free_as);
    if (!p)
        p = &plans[0];
    *out = *p;
}

/* Each problem of asl_validate as a 422 field "definition.<path without $.>". */
static void add_problems(tc_jv_t *jv, const cJSON *problems, bool *over_limit)
{
    const cJSON *pr;
    cJSON_ArrayForEach(pr, problems)
    {
        const char *path = tc_json_get_str(pr, "path");
        const char *msg = tc_json_get_str(pr, "message");
        char field[512];
        if (!path || strcmp(path, "$") == 0)
            snprintf(field, sizeof field, "definition");
        else
            snprintf(field, sizeof field, "definition.%s",
                     strncmp(path, "$.", 2) == 0 ? path + 2 : path);
        tc_jv_error(jv, field, "%s", msg ? msg : "is invalid");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pr, "limit")))
            *over_limit = true;
    }
}

/* A tc:http Task's Parameters, where they are literals: the URL's scheme and the method are
 * known before anything runs (values given by a path are checked when the Task runs). */
static void check_http_task(tc_jv_t *jv, const char *state, const cJSON *st)
{
    static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                          "DELETE", "HEAD", "OPTIONS", NULL};
    char field[512];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "Parameters");
    if (!cJSON_IsObject(p))
        return; /* asl_validate reports a Parameters that is not an object */
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(p, "ApiEndpoint");
    snprintf(field, sizeof field, "%s.Parameters.ApiEndpoint", state);
    if (!url && !cJSON_GetObjectItemCaseSensitive(p, "ApiEndpoint.$"))
        tc_jv_error(jv, field, "is required by tc:http (or ApiEndpoint.$)");
    else if (url && (!cJSON_IsString(url) || (strncmp(url->valuestring, "http://", 7) != 0 &&
                                              strncmp(url->valuestring, "https://", 8) != 0)))
        tc_jv_error(jv, field, "must be an http:// or https:// URL");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "Method");
    snprintf(field, sizeof field, "%s.Parameters.Method", state);
    if (!m && !cJSON_GetObjectItemCaseSensitive(p, "Method.$")) {
        tc_jv_error(jv, field, "is required by tc:http (or Method.$)");
        return;
    }
    if (!m)
        return;
    size_t i = 0;
    while (cJSON_IsString(m) && methods[i] && strcmp(methods[i], m->valuestring) != 0)
        i++;
    if (!cJSON_IsString(m) || !methods[i])
        tc_jv_error(jv, field, "must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
}

/* Does v (a Parameters template) pass $$.Task.Token on: a ".$" field whose path or intrinsic
 * names it, at any depth? */
static bool passes_token(const cJSON *v, int depth)
{
    const cJSON *c;
    if (depth > 32)
        return false;
    cJSON_ArrayForEach(c, v)
    {
        size_t n = c->string ? strlen(c->string) : 0;
        if (n > 2 && strcmp(c->string + n - 2, ".$") == 0 && cJSON_IsString(c) &&
            strstr(c->valuestring, "$$.Task.Token"))
            return true;
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && passes_token(c, depth + 1))
            return true;
    }
    return false;
}

/* A callback Task: a resource that can carry the token, and Parameters that pass it (else
 * nobody could ever answer, and the state would only wait for its timeout). */
static void check_callback_task(tc_jv_t *jv, const char *state, const cJSON *st, const char *base)
{
    char field[460];
    snprintf(field, sizeof field, "%s.Resource", state);
    if (strcmp(base, "tc:http") != 0 && strcmp(base, "tc:notify") != 0 &&
        strncmp(base, INTEGRATION_RESOURCE_PREFIX, strlen(INTEGRATION_RESOURCE_PREFIX)) != 0) {
        tc_jv_error(jv, field,
                    "%s is offered for tc:http, tc:notify and tc:integration:<connection>/<action>"
                    " only",
                    WF_CALLBACK_SUFFIX);
        return;
    }
    snprintf(field, sizeof field, "%s.Parameters", state);
    if (!passes_token(cJSON_GetObjectItemCaseSensitive(st, "Parameters"), 0))
        tc_jv_error(jv, field,
                    "must pass the task token on (e.g. \"TaskToken.$\": \"$$.Task.Token\"): a "
                    "%s Task waits for an answer with it",
                    WF_CALLBACK_SUFFIX);
}

/* Every Task of machine ({"StartAt", "States"} at path), in branches and Map processors too. */
static void check_states(tc_jv_t *jv, const cJSON *machine, const char *path, int depth)
{
    const cJSON *st;
    char at[400];
    if (depth > 16)
        return; /* asl_validate refuses deeper nesting */
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(machine, "States"))
    {
        const char *type = tc_json_get_str(st, "Type");
        const char *res = tc_json_get_str(st, "Resource");
        char base[256];
        snprintf(at, sizeof at, "%s.States.%.80s", path, st->string);
        if (type && strcmp(type, "Task") == 0 && wf_callback_resource(res, base, sizeof base)) {
            check_callback_task(jv, at, st, base);
            res = base;
        }
        if (type && strcmp(type, "Task") == 0 && res && strcmp(res, "tc:http") == 0)
            check_http_task(jv, at, st);
        if (type && strcmp(type, "Task") == 0 && res &&
            strncmp(res, ML_RESOURCE_PREFIX, strlen(ML_RESOURCE_PREFIX)) == 0 &&
            !task_ml_model(res)) {
            char field[460];
            snprintf(field, sizeof field, "%s.Resource", at);
            tc_jv_error(jv, field,
                        "must be tc:ml:<model>, a model's name ([a-z0-9.-], at most 64)");
        }
        char conn[INTEGRATION_ID_MAX], action[INTEGRATION_ACTION_MAX];
        if (type && strcmp(type, "Task") == 0 && res &&
            strncmp(res, INTEGRATION_RESOURCE_PREFIX, strlen(INTEGRATION_RESOURCE_PREFIX)) == 0 &&
            !task_integration_target(res, conn, action)) {
            char field[460];
            snprintf(field, sizeof field, "%s.Resource", at);
            tc_jv_error(jv, field,
                        "must be tc:integration:<connection id>/<action>, e.g. "
                        "tc:integration:con_…/post_message");
        }
        int i = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(st, "Branches"))
        {
            char sub[440];
            snprintf(sub, sizeof sub, "%s.Branches[%d]", at, i++);
            check_states(jv, b, sub, depth + 1);
        }
        static const char *const procs[] = {"ItemProcessor", "Iterator"};
        for (size_t k = 0; k < 2; k++) {
            char sub[440];
            snprintf(sub, sizeof sub, "%s.%s", at, procs[k]);
            check_states(jv, cJSON_GetObjectItemCaseSensitive(st, procs[k]), sub, depth + 1);
        }
    }
}

static void validate_definition(tc_jv_t *jv, const cJSON *def, const wf_limits_t *lim,
                                bool *over_limit)
{
    if (!cJSON_IsObject(def)) {
        tc_jv_error(jv, "definition", "must be an Amazon States Language object");
        return;
    }
    char *text = cJSON_PrintUnformatted(def);
    if (!text) {
        tc_jv_error(jv, "definition", "could not be read");
        return;
    }
    size_t len = strlen(text);
    free(text);
    if (len > WF_DEFINITION_MAX) {
        tc_jv_error(jv, "definition", "is larger than %d bytes", WF_DEFINITION_MAX);
        return;
    }
    check_states(jv, def, "definition", 0);
    asl_limits_t al = {.max_states = lim->steps == WF_UNLIMITED ? 0 : lim->steps,
                       .resources = wf_resources};
    cJSON *problems = NULL;
    int rc = asl_validate(def, &al, &problems);
    if (rc == TC_ENOMEM)
        tc_jv_error(jv, "definition", "could not be checked");
    else if (rc != TC_OK)
        add_problems(jv, problems, over_limit);
    cJSON_Delete(problems);
}

void wf_validate_workflow(tc_jv_t *jv, const cJSON *body, bool create, const wf_limits_t *lim,
                          bool *over_limit)
{
    static const char *const allowed[] = {"name", "description", "definition", NULL};
    *over_limit = false;
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    unsigned req = create ? TC_JV_REQUIRED : TC_JV_OPTIONAL;
    tc_jv_str(jv, body, "name", req, 1, WF_NAME_MAX);
    tc_jv_str(jv, body, "description", TC_JV_OPTIONAL, 0, WF_DESCRIPTION_MAX);
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(body, "definition");
    if (def)
        validate_definition(jv, def, lim, over_limit);
    else if (create)
        tc_jv_error(jv, "definition", "is required");
    if (!create && !tc_jv_has(body, "name") && !tc_jv_has(body, "description") && !def)
        tc_jv_error(jv, "body", "must change name, description or definition");
}

void wf_validate_execute(tc_jv_t *jv, const cJSON *body)
{
    static const char *const allowed[] = {"input", NULL};
    if (!body)
        return; /* the route requires a JSON body; nothing to check without one */
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (!input)
        return;
    char *text = cJSON_PrintUnformatted(input);
    if (!text) {
        tc_jv_error(jv, "input", "could not be read");
        return;
    }
    if (strlen(text) > WF_PAYLOAD_MAX)
        tc_jv_error(jv, "input", "is larger than %d bytes", WF_PAYLOAD_MAX);
    free(text);
}

void wf_validate_task_answer(tc_jv_t *jv, const cJSON *body, wf_token_answer_t kind)
{
    static const char *const success[] = {"task_token", "output", NULL};
    static const char *const failure[] = {"task_token", "error", "cause", NULL};
    static const char *const heartbeat[] = {"task_token", NULL};
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body,
                     kind == WF_TOKEN_SUCCESS   ? success
                     : kind == WF_TOKEN_FAILURE ? failure
                                                : heartbeat);
    tc_jv_str(jv, body, "task_token", TC_JV_REQUIRED, 1, WF_TASK_TOKEN_MAX);
    if (kind == WF_TOKEN_SUCCESS) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(body, "output");
        char *text = out ? cJSON_PrintUnformatted(out) : NULL;
        if (!out)
            tc_jv_error(jv, "output", "is required (any JSON: the Task's result)");
        else if (!text)
            tc_jv_error(jv, "output", "could not be read");
        else if (strlen(text) > WF_PAYLOAD_MAX)
            tc_jv_error(jv, "output", "is larger than %d bytes", WF_PAYLOAD_MAX);
        free(text);
    } else if (kind == WF_TOKEN_FAILURE) {
        tc_jv_str(jv, body, "error", TC_JV_OPTIONAL, 1, WF_ERROR_NAME_MAX);
        tc_jv_str(jv, body, "cause", TC_JV_OPTIONAL, 0, WF_CAUSE_MAX);
        const char *e = tc_json_get_str(body, "error");
        if (e && strncmp(e, "States.", 7) == 0)
            tc_jv_error(jv, "error", "names starting with States. are the platform's own");
    }
}

static const char *const statuses[] = {"RUNNING",   "SUCCEEDED", "FAILED",
                                       "TIMED_OUT", "ABORTED",   NULL};

bool wf_status_valid(const char *status)
{
    for (size_t i = 0; status && statuses[i]; i++)
        if (strcmp(statuses[i], status) == 0)
            return true;
    return false;
}

void wf_month_of(int64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (snprintf(out, 11, "%04d-%02d-01", tm.tm_year + 1900, tm.tm_mon + 1) >= 11)
        snprintf(out, 11, "9999-12-01"); /* past year 9999: not a date PostgreSQL needs */
}

/* ------------------------------------------------------------------------- graph */

static bool add_edge(cJSON *edges, const char *from, const char *to, const char *kind)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddItemToArray(edges, e)) {
        cJSON_Delete(e);
        return false;
    }
    return cJSON_AddStringToObject(e, "from", from) && cJSON_AddStringToObject(e, "to", to) &&
           cJSON_AddStringToObject(e, "kind", kind);
}

static bool graph_states(const cJSON *machine, const char *prefix, cJSON *nodes, cJSON *edges);

/* A node id: the state's name at top level, "<parent>/<branch>/<name>" inside a branch. */
static void node_id(char *out, size_t n, const char *prefix, const char *name)
{
    if (prefix && prefix[0])
        snprintf(out, n, "%s/%s", prefix, name);
    else
        snprintf(out, n, "%s", name);
}

static bool graph_targets(const cJSON *st, const char *prefix, const char *id, cJSON *edges)
{
    char to[512];
    const char *next = tc_json_get_str(st, "Next");
    if (next) {
        node_id(to, sizeof to, prefix, next);
        if (!add_edge(edges, id, to, "next"))
            return false;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "Choices"))
    {
        const char *n = tc_json_get_str(c, "Next");
        node_id(to, sizeof to, prefix, n ? n : "");
        if (n && !add_edge(edges, id, to, "choice"))
            return false;
    }
    const char *def = tc_json_get_str(st, "Default");
    if (def) {
        node_id(to, sizeof to, prefix, def);
        if (!add_edge(edges, id, to, "default"))
            return false;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "Catch"))
    {
        const char *n = tc_json_get_str(c, "Next");
        node_id(to, sizeof to, prefix, n ? n : "");
        if (n && !add_edge(edges, id, to, "catch"))
            return false;
    }
    return true;
}

static bool graph_children(const cJSON *st, const char *id, cJSON *nodes, cJSON *edges)
{
    char sub[512];
    const cJSON *b;
    int i = 0;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(st, "Branches"))
    {
        if (snprintf(sub, sizeof sub, "%s/%d", id, i++) >= (int)sizeof sub ||
            !graph_states(b, sub, nodes, edges))
            return false;
    }
    const cJSON *proc = cJSON_GetObjectItemCaseSensitive(st, "ItemProcessor");
    if (!proc)
        proc = cJSON_GetObjectItemCaseSensitive(st, "Iterator");
    if (proc) {
        if (snprintf(sub, sizeof sub, "%s/0", id) >= (int)sizeof sub ||
            !graph_states(proc, sub, nodes, edges))
            return false;
    }
    return true;
}

static bool graph_states(const cJSON *machine, const char *prefix, cJSON *nodes, cJSON *edges)
{
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(machine, "States"))
    {
        char id[512];
        node_id(id, sizeof id, prefix, st->string);
        cJSON *n = cJSON_CreateObject();
        if (!n || !cJSON_AddItemToArray(nodes, n)) {
            cJSON_Delete(n);
            return false;
        }
        const char *type = tc_json_get_str(st, "Type");
        bool ok = cJSON_AddStringToObject(n, "id", id) &&
                  cJSON_AddStringToObject(n, "name", st->string) &&
                  cJSON_AddStringToObject(n, "type", type ? type : "") &&
                  (!prefix[0] || cJSON_AddStringToObject(n, "parent", prefix));
        const char *start = tc_json_get_str(machine, "StartAt");
        if (ok && start && strcmp(start, st->string) == 0)
            ok = cJSON_AddBoolToObject(n, "start", 1) != NULL;
        if (ok && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "End")))
            ok = cJSON_AddBoolToObject(n, "end", 1) != NULL;
        if (!ok || !graph_targets(st, prefix, id, edges) || !graph_children(st, id, nodes, edges))
            return false;
    }
    return true;
}

cJSON *wf_graph(const cJSON *definition)
{
    cJSON *g = cJSON_CreateObject();
    cJSON *nodes = cJSON_AddArrayToObject(g, "nodes");
    cJSON *edges = cJSON_AddArrayToObject(g, "edges");
    if (!g || !nodes || !edges || !graph_states(definition, "", nodes, edges)) {
        cJSON_Delete(g);
        return NULL;
    }
    return g;
}
