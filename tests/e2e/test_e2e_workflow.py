"""End to end through the gateway's public port: a new org's owner signs up, defines a workflow
whose Task calls an HTTP API, runs it, watches it finish and reads its history; the workflow
service's events reach workflow-events, and the search service finds the workflow (and forgets
it once deleted). Everything goes through the gateway, as a customer's
client would."""
import secrets
import time

from e2ekit import Client
from platform_client import new_password


def test_owner_defines_and_runs_a_workflow(stack, contracts):
    me = Client(stack, contracts, "203.0.113.81")
    r = me.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Flow Journey", "email": f"e2e-flow-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Wren Flow"})
    token = r.json()["access_token"]
    # the Task calls the workflow service's own health endpoint on the admin port (loopback is
    # allowed in the test stack; a deployment refuses private addresses)
    health = stack.admin_url("workflow", "/health")
    definition = {"StartAt": "Check", "States": {
        "Check": {"Type": "Task", "Resource": "tc:http",
                  "Parameters": {"ApiEndpoint": health, "Method": "GET"},
                  "ResultSelector": {"code.$": "$.StatusCode"}, "ResultPath": "$.health",
                  "Next": "Done"},
        "Done": {"Type": "Succeed"}}}
    wf = me.call("POST", "/v1/workflows", token=token, expect=201,
                 json_body={"name": "Health check", "definition": definition}).json()
    ex = me.call("POST", f"/v1/workflows/{wf['id']}/execute", token=token, expect=202,
                 json_body={"input": {"who": "e2e"}}).json()
    deadline = time.time() + 30
    while True:
        got = me.call("GET", f"/v1/executions/{ex['id']}", token=token, expect=200).json()
        if got["status"] != "RUNNING":
            break
        assert time.time() < deadline, got
        time.sleep(0.1)
    assert got["status"] == "SUCCEEDED", got
    assert got["output"] == {"who": "e2e", "health": {"code": 200}}
    history = me.call("GET", f"/v1/executions/{ex['id']}/history", token=token,
                      expect=200).json()["data"]
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded"
    listed = me.call("GET", f"/v1/workflows/{wf['id']}/executions", token=token,
                     expect=200).json()["data"]
    assert [e["id"] for e in listed] == [ex["id"]]
    msgs = stack.kafka_messages("workflow-events", key=wf["id"], until=lambda m: len(m) >= 4)
    assert [m["headers"]["ce_type"] for m in msgs][-2:] == [
        "com.techcorp.workflow.execution.succeeded", "com.techcorp.workflow.completed"]

    # the search service indexed it from workflow-events, and forgets it once deleted
    def found():
        r = me.call("GET", "/v1/search?q=health&type=workflow", token=token, expect=200)
        return [h["id"] for h in r.json()["data"]]
    deadline = time.time() + 30
    while found() != [wf["id"]]:
        assert time.time() < deadline, "the workflow is not searchable"
        time.sleep(0.2)
    me.call("DELETE", f"/v1/workflows/{wf['id']}", token=token, expect=204)
    deadline = time.time() + 30
    while found():
        assert time.time() < deadline, "the deleted workflow is still found"
        time.sleep(0.2)
