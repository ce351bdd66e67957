"""workflow tc:integration Tasks: a step runs an action of one of the org's integration-hub
connections (the hub's internal API, with the workflow service's own service token); the
hub authenticates to the vendor with the connection's sealed credentials, and the vendor's
answer is the step's result. A vendor's non-2xx, input the hub refuses, a connection of
another org and an action the connector lacks are catchable errors; the Task's key reaches a
vendor whose action takes an idempotency key; the validator refuses a resource that names no
connection and action; the hub's internal endpoint takes service tokens only. Answers are
checked against the services' OpenAPI documents."""
import json
import time

from platform_client import Api, new_id
from wfkit import Wf, machine

CONNS = "/v1/integrations/connections"


def connect(stack, org_id, connector, **body):
    """A connection of the org, made by one of its admins through the hub's API."""
    hub = Api(stack, "integration-hub")
    admin = stack.token(org=org_id, role="admin")
    r = hub("POST", CONNS, token=admin,
            json_body={"connector": connector, "name": new_id("conn"), **body})
    assert r.status_code == 201, r.text
    return r.json()


def task(connection_id, action, params=None, **fields):
    st = {"Type": "Task", "Resource": f"tc:integration:{connection_id}/{action}", "End": True}
    if params is not None:
        st["Parameters"] = params
    st.update(fields)
    return {k: v for k, v in st.items() if v is not None}


def test_a_step_runs_a_connections_action(stack, upstream):
    me = Wf(stack)
    con = connect(stack, me.org_id, "http", settings={"base_url": upstream.url("")},
                  credentials={"token": "tok-" + new_id("t")})
    chat = connect(stack, me.org_id, "slack", credentials={"webhook_url": upstream.url("/ok/chat")})
    definition = machine({
        "Call": task(con["id"], "post", {"path": "/ok/orders", "body": {"sku.$": "$.sku"}},
                     End=None, Next="Tell", ResultPath="$.call"),
        "Tell": task(chat["id"], "post_message", {"text.$": "States.Format('ordered {}', $.sku)"},
                     ResultSelector={"status.$": "$.StatusCode", "said.$": "$.Body.body.text"},
                     ResultPath="$.tell")})
    done = me.run(definition, {"sku": "A-1"})
    assert done["status"] == "SUCCEEDED", done
    call = done["output"]["call"]
    assert call["StatusCode"] == 200 and call["Attempts"] == 1, call
    assert call["Output"] == call["Body"] and call["Body"]["body"] == {"sku": "A-1"}, call
    assert call["Headers"]["content-type"] == "application/json", call
    assert done["output"]["tell"] == {"status": 200, "said": "ordered A-1"}, done["output"]
    [req] = [q for q in upstream.requests if q["path"] == "/ok/orders"]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    # the connection's credential, and the Task's key (<execution>:<state>:<attempt>)
    assert headers["authorization"].startswith("Bearer tok-"), headers
    assert headers["idempotency-key"].startswith(done["id"] + ":Call:"), headers
    assert headers["user-agent"] == "techcorp-integrations", headers
    h = [e["type"] for e in me.history(done["id"])]
    assert h.count("TaskSucceeded") == 2, h


def test_refusals_are_catchable_errors(stack, upstream):
    me = Wf(stack)
    con = connect(stack, me.org_id, "http", settings={"base_url": upstream.url("")})
    other = connect(stack, new_id("org"), "http", settings={"base_url": upstream.url("")})
    caught = {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err",
                         "Next": "Out"}], "End": None, "Next": "Out"}
    out = {"Type": "Pass", "End": True, "Parameters": {"error.$": "$.err.Error",
                                                       "cause.$": "$.err.Cause"}}
    for cid, action, params, error, cause in [
            (con["id"], "get", {"path": "/status/404"}, "Integration.StatusCode.404", "404"),
            (con["id"], "get", {"nope": 1}, "Integration.InvalidInput", "input.path"),
            (con["id"], "post_message", {}, "Integration.ActionNotFound", "post_message"),
            (other["id"], "get", {"path": "/ok"}, "Integration.ConnectionNotFound", "404"),
            ("con_" + "0" * 26, "get", {"path": "/ok"}, "Integration.ConnectionNotFound", "404")]:
        done = me.run(machine({"Call": task(cid, action, params, **caught), "Out": out}))
        assert done["status"] == "SUCCEEDED", (action, params, done)
        assert done["output"]["error"] == error and cause in done["output"]["cause"], \
            (action, params, done["output"])
    assert not [q for q in upstream.requests if q["path"] == "/ok"], \
        "another org's connection was used"


def test_a_retry_is_a_new_attempt_with_its_own_key(stack, upstream):
    me = Wf(stack)
    con = connect(stack, me.org_id, "http", settings={"base_url": upstream.url("")})
    tag = new_id("t")
    retry = [{"ErrorEquals": ["Integration.StatusCode.500"], "IntervalSeconds": 1,
              "MaxAttempts": 2}]
    done = me.run(machine({"Call": task(con["id"], "post", {"path": f"/flaky/{tag}", "query": {"fail": "1"}},
                                        Retry=retry)}))
    assert done["status"] == "SUCCEEDED", done
    keys = [q["headers"].get("Idempotency-Key") for q in upstream.requests
            if q["path"] == f"/flaky/{tag}"]
    assert len(keys) == 2 and len(set(keys)) == 2, keys


def test_the_validator_wants_a_connection_and_an_action(stack):
    me = Wf(stack)
    for resource in ["tc:integration:", "tc:integration:con_1", "tc:integration:whe_1/x",
                     "tc:integration:con_1/Post"]:
        r = me("POST", "/v1/workflows", {"name": new_id("wf"), "definition": machine(
            {"Call": {"Type": "Task", "Resource": resource, "End": True}})})
        assert r.status_code == 422, (resource, r.text)


def test_the_internal_endpoint_takes_service_tokens_only(stack, upstream):
    org = new_id("org")
    con = connect(stack, org, "http", settings={"base_url": upstream.url("")})
    api = Api(stack, "integration-hub")
    path = f"/internal/v1/integrations/orgs/{org}/connections/{con['id']}/actions/get"
    body = {"input": {"path": "/ok/internal"}}
    assert api("POST", path, token=stack.token(org=org, role="owner"),
               json_body=body).status_code == 403
    assert api("POST", path, json_body=body).status_code == 401
    svc = stack.service_token()
    r = api("POST", path, token=svc, json_body=body)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    other = f"/internal/v1/integrations/orgs/{new_id('org')}/connections/{con['id']}/actions/get"
    assert api("POST", other, token=svc, json_body=body).status_code == 404


def test_a_callback_step_sends_its_token_through_a_connection_and_waits(stack, upstream):
    """tc:integration:<connection>/<action>.waitForTaskToken: the action carries the task token
    to the vendor, and the step waits for the answer with it."""
    me = Wf(stack)
    con = connect(stack, me.org_id, "http", settings={"base_url": upstream.url("")})
    wf = me.create(machine({"Ask": task(
        con["id"], "post.waitForTaskToken",
        {"path": "/ok/jobs", "body": {"token.$": "$$.Task.Token"}}, ResultPath="$.job")}))
    ex = me.start(wf["id"], {"n": 1})
    deadline = time.time() + 30
    while not [q for q in upstream.requests if q["path"] == "/ok/jobs"]:
        assert time.time() < deadline, "the action was not run"
        time.sleep(0.02)
    [req] = [q for q in upstream.requests if q["path"] == "/ok/jobs"]
    token = json.loads(req["body"])["token"]
    r = me("POST", "/v1/executions/task-token/success",
           {"task_token": token, "output": {"job": "done"}})
    assert r.status_code == 200, r.text
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"n": 1, "job": {"job": "done"}}, done
    submitted = [e for e in me.history(ex["id"]) if e["type"] == "TaskSubmitted"]
    assert submitted[0]["details"]["output"]["StatusCode"] == 200, submitted
