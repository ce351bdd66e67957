/* workflow_model: plan limits, request bodies, the definition checks around asl_validate, the
 * month key and the graph for the console. */
#include "workflow_model.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

/* The 422's fields, joined by spaces. */
static void fields_of(tc_jv_t *jv, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv->errors)
    {
        strncat(out, tc_json_get_str(e, "field"), n - strlen(out) - 2);
        strncat(out, " ", n - strlen(out) - 1);
    }
}

Test(plans, seed_limits_and_the_free_plan)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    cr_assert_eq(l.workflows, 10);
    cr_assert_eq(l.executions_per_month, 5000);
    cr_assert_eq(l.steps, 20);
    wf_plan_limits("professional", "starter", &l);
    cr_assert(l.workflows == 100 && l.executions_per_month == 100000 && l.steps == 100);
    wf_plan_limits("enterprise", "starter", &l);
    cr_assert(l.workflows == WF_UNLIMITED && l.executions_per_month == WF_UNLIMITED);
    cr_assert_eq(l.steps, 500);
    wf_plan_limits("free", "starter", &l);
    cr_assert_str_eq(l.plan, "starter");
    wf_plan_limits("free", "professional", &l);
    cr_assert_str_eq(l.plan, "professional");
    wf_plan_limits(NULL, "starter", &l);
    cr_assert_str_eq(l.plan, "starter");
    wf_plan_limits("platinum", "starter", &l); /* unknown: the free plan's limits */
    cr_assert_str_eq(l.plan, "starter");
    cr_assert(wf_plan_known("free") && wf_plan_known("enterprise"));
    cr_assert_not(wf_plan_known("platinum"));
    cr_assert_not(wf_plan_known(NULL));
}

static const char *valid =
    "{\"name\":\"n\",\"definition\":{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\","
    "\"End\":true}}}}";

Test(bodies, a_valid_workflow_passes)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    cJSON *b = parse(valid);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over = true;
    wf_validate_workflow(&jv, b, true, &l, &over);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_not(over);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(bodies, every_problem_of_a_definition_is_a_field)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    cJSON *b = parse("{\"name\":\"\",\"extra\":1,\"definition\":{\"StartAt\":\"A\",\"States\":{"
                     "\"A\":{\"Type\":\"Pass\",\"Next\":\"Nope\"},"
                     "\"B\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:x\",\"End\":true},"
                     "\"C\":{\"Type\":\"Map\",\"End\":true}}}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over = false;
    wf_validate_workflow(&jv, b, true, &l, &over);
    char f[2048];
    fields_of(&jv, f, sizeof f);
    cr_assert(strstr(f, "name "), "%s", f);
    cr_assert(strstr(f, "extra "), "%s", f);
    cr_assert(strstr(f, "definition.States.A.Next "), "%s", f);
    cr_assert(strstr(f, "definition.States.B.Resource "), "%s", f);
    cr_assert(strstr(f, "definition.States.C "), "%s", f); /* a Map without its processor */
    cr_assert_not(over);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(bodies, too_many_states_is_the_plans_limit)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    char def[8192] = "{\"name\":\"big\",\"definition\":{\"StartAt\":\"S0\",\"States\":{";
    for (int i = 0; i < 21; i++) {
        char st[96];
        if (i < 20)
            snprintf(st, sizeof st, "\"S%d\":{\"Type\":\"Pass\",\"Next\":\"S%d\"},", i, i + 1);
        else
            snprintf(st, sizeof st, "\"S%d\":{\"Type\":\"Pass\",\"End\":true}", i);
        strcat(def, st);
    }
    strcat(def, "}}}");
    cJSON *b = parse(def);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over = false;
    wf_validate_workflow(&jv, b, true, &l, &over);
    cr_assert(tc_jv_failed(&jv));
    cr_assert(over);
    tc_jv_free(&jv);
    /* professional allows 100 */
    wf_plan_limits("professional", "starter", &l);
    tc_jv_init(&jv);
    wf_validate_workflow(&jv, b, true, &l, &over);
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_not(over);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(bodies, patch_needs_a_change_and_create_needs_a_definition)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    tc_jv_t jv;
    bool over;
    cJSON *empty = parse("{}");
    tc_jv_init(&jv);
    wf_validate_workflow(&jv, empty, false, &l, &over);
    cr_assert(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    tc_jv_init(&jv);
    wf_validate_workflow(&jv, empty, true, &l, &over);
    char f[512];
    fields_of(&jv, f, sizeof f);
    cr_assert(strstr(f, "name ") && strstr(f, "definition "), "%s", f);
    tc_jv_free(&jv);
    cJSON *rename = parse("{\"description\":\"only this\"}");
    tc_jv_init(&jv);
    wf_validate_workflow(&jv, rename, false, &l, &over);
    cr_assert_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON *notobj = parse("{\"name\":\"x\",\"definition\":[1]}");
    tc_jv_init(&jv);
    wf_validate_workflow(&jv, notobj, true, &l, &over);
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "definition ");
    tc_jv_free(&jv);
    cJSON_Delete(empty);
    cJSON_Delete(rename);
    cJSON_Delete(notobj);
}

Test(bodies, execute_input_is_any_json_within_the_payload_limit)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_execute(&jv, NULL);
    cJSON *ok = parse("{\"input\":[1,\"two\",{\"three\":3}]}");
    wf_validate_execute(&jv, ok);
    cr_assert_not(tc_jv_failed(&jv));
    cJSON *unknown = parse("{\"inputs\":{}}");
    wf_validate_execute(&jv, unknown);
    cr_assert(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON *big = cJSON_CreateObject();
    char *s = malloc(WF_PAYLOAD_MAX + 10);
    cr_assert_not_null(s);
    memset(s, 'x', WF_PAYLOAD_MAX + 9);
    s[WF_PAYLOAD_MAX + 9] = '\0';
    cJSON_AddStringToObject(big, "input", s);
    tc_jv_init(&jv);
    wf_validate_execute(&jv, big);
    cr_assert(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    free(s);
    cJSON_Delete(big);
    cJSON_Delete(ok);
    cJSON_Delete(unknown);
}

Test(statuses, step_functions_names_only)
{
    cr_assert(wf_status_valid("RUNNING") && wf_status_valid("TIMED_OUT"));
    cr_assert(wf_status_valid("ABORTED") && wf_status_valid("SUCCEEDED"));
    cr_assert_not(wf_status_valid("running"));
    cr_assert_not(wf_status_valid(NULL));
}

Test(month, calendar_month_in_utc)
{
    char m[11];
    wf_month_of(1796083200000LL, m); /* 2026-12-01T00:00:00Z */
    cr_assert_str_eq(m, "2026-12-01");
    wf_month_of(1796083199999LL, m); /* a millisecond earlier */
    cr_assert_str_eq(m, "2026-11-01");
}

Test(graph, nodes_and_edges_of_every_transition)
{
    cJSON *def = parse("{\"StartAt\":\"A\",\"States\":{"
                       "\"A\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.x\","
                       "\"BooleanEquals\":true,\"Next\":\"B\"}],\"Default\":\"C\"},"
                       "\"B\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Catch\":[{"
                       "\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"C\"}],\"Next\":\"D\"},"
                       "\"C\":{\"Type\":\"Fail\"},\"D\":{\"Type\":\"Succeed\"}}}");
    cJSON *g = wf_graph(def);
    cr_assert_not_null(g);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 4);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(g, "edges"));
    cr_assert_str_eq(text, "[{\"from\":\"A\",\"to\":\"B\",\"kind\":\"choice\"},"
                           "{\"from\":\"A\",\"to\":\"C\",\"kind\":\"default\"},"
                           "{\"from\":\"B\",\"to\":\"D\",\"kind\":\"next\"},"
                           "{\"from\":\"B\",\"to\":\"C\",\"kind\":\"catch\"}]");
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "nodes"), 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "start")));
    free(text);
    cJSON_Delete(g);
    cJSON_Delete(def);
}

Test(graph, branches_nest_under_their_state)
{
    cJSON *def = parse("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"End\":true,"
                       "\"Branches\":[{\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\","
                       "\"End\":true}}},{\"StartAt\":\"Y\",\"States\":{\"Y\":{\"Type\":"
                       "\"Pass\",\"Next\":\"Z\"},\"Z\":{\"Type\":\"Succeed\"}}}]}}}");
    cJSON *g = wf_graph(def);
    cr_assert_not_null(g);
    const cJSON *nodes = cJSON_GetObjectItem(g, "nodes");
    cr_assert_eq(cJSON_GetArraySize(nodes), 4);
    const cJSON *y = cJSON_GetArrayItem(nodes, 2);
    cr_assert_str_eq(tc_json_get_str(y, "id"), "P/1/Y");
    cr_assert_str_eq(tc_json_get_str(y, "parent"), "P/1");
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "edges"), 0);
    cr_assert_str_eq(tc_json_get_str(e, "from"), "P/1/Y");
    cr_assert_str_eq(tc_json_get_str(e, "to"), "P/1/Z");
    cJSON_Delete(g);
    cJSON_Delete(def);
}

Test(bodies, literal_http_parameters_are_checked_when_defined)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    cJSON *b = parse("{\"name\":\"h\",\"definition\":{\"StartAt\":\"A\",\"States\":{"
                     "\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Parameters\":{"
                     "\"ApiEndpoint\":\"file:///etc/passwd\",\"Method\":\"TRACE\"},"
                     "\"Next\":\"B\"},"
                     "\"B\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Parameters\":{},"
                     "\"Next\":\"C\"},"
                     "\"C\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Parameters\":{"
                     "\"ApiEndpoint.$\":\"$.url\",\"Method.$\":\"$.m\"},\"End\":true}}}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over;
    wf_validate_workflow(&jv, b, true, &l, &over);
    char f[1024];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "definition.States.A.Parameters.ApiEndpoint "
                        "definition.States.A.Parameters.Method "
                        "definition.States.B.Parameters.ApiEndpoint "
                        "definition.States.B.Parameters.Method ");
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(bodies, http_parameters_in_branches_are_checked_at_their_path)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    cJSON *b =
        parse("{\"name\":\"h\",\"definition\":{\"StartAt\":\"P\",\"States\":{"
              "\"P\":{\"Type\":\"Parallel\",\"Next\":\"M\",\"Branches\":["
              "{\"StartAt\":\"Ok\",\"States\":{\"Ok\":{\"Type\":\"Pass\",\"End\":true}}},"
              "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\","
              "\"Parameters\":{\"ApiEndpoint\":\"ftp://x\",\"Method\":\"GET\"},\"End\":true}}}]},"
              "\"M\":{\"Type\":\"Map\",\"End\":true,\"Iterator\":{\"StartAt\":\"B\",\"States\":{"
              "\"B\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Parameters\":{"
              "\"ApiEndpoint\":\"https://x.example\",\"Method\":\"BREW\"},\"End\":true}}}}}}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over;
    wf_validate_workflow(&jv, b, true, &l, &over);
    char f[1024];
    fields_of(&jv, f, sizeof f);
    cr_assert_str_eq(f, "definition.States.P.Branches[1].States.A.Parameters.ApiEndpoint "
                        "definition.States.M.Iterator.States.B.Parameters.Method ");
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(callbacks, the_suffix_names_the_resource_called)
{
    char base[64];
    cr_assert(wf_callback_resource("tc:http.waitForTaskToken", base, sizeof base));
    cr_assert_str_eq(base, "tc:http");
    cr_assert(
        wf_callback_resource("tc:integration:con_1/post.waitForTaskToken", base, sizeof base));
    cr_assert_str_eq(base, "tc:integration:con_1/post");
    cr_assert_not(wf_callback_resource("tc:http", base, sizeof base));
    cr_assert_not(wf_callback_resource(".waitForTaskToken", base, sizeof base));
    cr_assert_not(wf_callback_resource("tc:http.waitfortasktoken", base, sizeof base));
    cr_assert_not(wf_callback_resource(NULL, base, sizeof base));
}

/* A definition of one Task state A with Resource res and Parameters params: its 422 fields. */
static void task_fields(const char *res, const char *params, char *f, size_t n)
{
    wf_limits_t l;
    wf_plan_limits("starter", "starter", &l);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"c\",\"definition\":{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":"
             "\"Task\",\"Resource\":\"%s\",\"Parameters\":%s,\"End\":true}}}}",
             res, params);
    cJSON *b = parse(text);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over;
    wf_validate_workflow(&jv, b, true, &l, &over);
    fields_of(&jv, f, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(callbacks, a_callback_task_must_pass_its_token_to_a_resource_that_can_carry_it)
{
    char f[1024];
    const char *http = "{\"ApiEndpoint\":\"https://x.example\",\"Method\":\"POST\","
                       "\"RequestBody\":{\"token.$\":\"$$.Task.Token\"}}";
    task_fields("tc:http.waitForTaskToken", http, f, sizeof f);
    cr_assert_str_eq(f, "");
    /* inside an intrinsic, at any depth */
    task_fields("tc:http.waitForTaskToken",
                "{\"ApiEndpoint\":\"https://x.example\",\"Method\":\"POST\",\"RequestBody\":{"
                "\"a\":[{\"link.$\":\"States.Format('https://x/{}', $$.Task.Token)\"}]}}",
                f, sizeof f);
    cr_assert_str_eq(f, "");
    /* not passed: nobody could answer */
    task_fields("tc:http.waitForTaskToken",
                "{\"ApiEndpoint\":\"https://x.example\",\"Method\":\"POST\","
                "\"RequestBody\":{\"token\":\"$$.Task.Token\"}}",
                f, sizeof f);
    cr_assert_str_eq(f, "definition.States.A.Parameters ");
    /* the literal checks of tc:http still apply */
    task_fields("tc:http.waitForTaskToken", "{\"token.$\":\"$$.Task.Token\"}", f, sizeof f);
    cr_assert_str_eq(f, "definition.States.A.Parameters.ApiEndpoint "
                        "definition.States.A.Parameters.Method ");
    /* resources that cannot carry a token */
    task_fields("tc:workflow.waitForTaskToken", "{\"t.$\":\"$$.Task.Token\"}", f, sizeof f);
    cr_assert(strstr(f, "definition.States.A.Resource "), "%s", f);
    task_fields("tc:ml:sentiment.waitForTaskToken", "{\"t.$\":\"$$.Task.Token\"}", f, sizeof f);
    cr_assert(strstr(f, "definition.States.A.Resource "), "%s", f);
    task_fields("tc:notify.waitForTaskToken", "{\"t.$\":\"$$.Task.Token\"}", f, sizeof f);
    cr_assert_str_eq(f, "");
}

static void answer_fields(const char *body, wf_token_answer_t k, char *f, size_t n)
{
    cJSON *b = parse(body);
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_task_answer(&jv, b, k);
    fields_of(&jv, f, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(callbacks, answers_carry_a_token_and_what_their_kind_needs)
{
    char f[1024];
    answer_fields("{\"task_token\":\"wft_x\",\"output\":{\"ok\":true}}", WF_TOKEN_SUCCESS, f,
                  sizeof f);
    cr_assert_str_eq(f, "");
    answer_fields("{\"task_token\":\"wft_x\",\"output\":null}", WF_TOKEN_SUCCESS, f, sizeof f);
    cr_assert_str_eq(f, "");
    answer_fields("{\"task_token\":\"wft_x\"}", WF_TOKEN_SUCCESS, f, sizeof f);
    cr_assert_str_eq(f, "output ");
    answer_fields("{\"output\":1,\"error\":\"E\"}", WF_TOKEN_SUCCESS, f, sizeof f);
    cr_assert_str_eq(f, "error task_token ");
    answer_fields("{\"task_token\":\"wft_x\",\"error\":\"Approval.Rejected\",\"cause\":\"no\"}",
                  WF_TOKEN_FAILURE, f, sizeof f);
    cr_assert_str_eq(f, "");
    answer_fields("{\"task_token\":\"wft_x\"}", WF_TOKEN_FAILURE, f, sizeof f);
    cr_assert_str_eq(f, "");
    answer_fields("{\"task_token\":\"wft_x\",\"error\":\"States.Runtime\"}", WF_TOKEN_FAILURE, f,
                  sizeof f);
    cr_assert_str_eq(f, "error ");
    answer_fields("{\"task_token\":\"wft_x\",\"output\":1}", WF_TOKEN_HEARTBEAT, f, sizeof f);
    cr_assert_str_eq(f, "output ");
    answer_fields("{\"task_token\":\"\"}", WF_TOKEN_HEARTBEAT, f, sizeof f);
    cr_assert_str_eq(f, "task_token ");
    answer_fields("[1]", WF_TOKEN_HEARTBEAT, f, sizeof f);
    cr_assert_str_eq(f, "body ");
}

Test(callbacks, a_large_output_is_refused)
{
    size_t n = WF_PAYLOAD_MAX + 64;
    char *body = malloc(n + 64);
    cr_assert_not_null(body);
    int o = snprintf(body, n + 64, "{\"task_token\":\"wft_x\",\"output\":\"");
    memset(body + o, 'a', WF_PAYLOAD_MAX);
    snprintf(body + o + WF_PAYLOAD_MAX, 8, "\"}");
    char f[256];
    answer_fields(body, WF_TOKEN_SUCCESS, f, sizeof f);
    cr_assert_str_eq(f, "output ");
    free(body);
}
