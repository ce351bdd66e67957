"""workflow service API: definitions (create, read, list, change as new versions, delete),
validation that names every problem, roles, tenancy (another org's workflow is 404 everywhere),
the plan's limits on workflows and states, Idempotency-Key, and the events each change emits.
Every answer is checked against proto/openapi/workflow.yaml."""
from concurrent.futures import ThreadPoolExecutor

from platform_client import assert_error, new_id
from wfkit import Wf, machine

PASS = machine({"A": {"Type": "Pass", "Result": {"x": 1}, "End": True}})


def chain(n):
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(n - 1)}
    states[f"S{n - 1}"] = {"Type": "Succeed"}
    return machine(states, "S0")


def test_create_read_change_delete(stack, schemas):
    me = Wf(stack)
    r = me("POST", "/v1/workflows", {"name": "Orders", "description": "d", "definition": PASS})
    assert r.status_code == 201, r.text
    wf = r.json()
    assert r.headers["Location"] == f"/v1/workflows/{wf['id']}"
    assert wf["id"].startswith("wf_") and wf["version"] == 1 and wf["states"] == 1
    assert wf["definition"] == PASS and wf["created_by"] == me.user_id
    assert me("GET", f"/v1/workflows/{wf['id']}").json() == wf

    # a name change keeps the version; a definition change makes a new one
    r = me("PATCH", f"/v1/workflows/{wf['id']}", {"name": "Orders v2"})
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["name"] == "Orders v2"
    r = me("PATCH", f"/v1/workflows/{wf['id']}", {"definition": chain(3)})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["states"] == 3
    assert me("GET", f"/v1/workflows/{wf['id']}").json()["definition"] == chain(3)

    # names are unique among the org's live workflows
    assert_error(me("POST", "/v1/workflows", {"name": "Orders v2", "definition": PASS}), 409,
                 "workflow_exists")
    other = me.create(PASS, name="Other")
    assert_error(me("PATCH", f"/v1/workflows/{other['id']}", {"name": "Orders v2"}), 409,
                 "workflow_exists")

    r = me("DELETE", f"/v1/workflows/{wf['id']}")
    assert r.status_code == 204
    assert_error(me("GET", f"/v1/workflows/{wf['id']}"), 404, "not_found")
    assert_error(me("DELETE", f"/v1/workflows/{wf['id']}"), 404, "not_found")
    me.create(PASS, name="Orders v2")  # the name is free again

    msgs = stack.kafka_messages("workflow-events", key=wf["id"],
                                until=lambda m: len(m) >= 4)
    types = [m["headers"]["ce_type"] for m in msgs]
    assert types == ["com.techcorp.workflow.created", "com.techcorp.workflow.updated",
                     "com.techcorp.workflow.updated", "com.techcorp.workflow.deleted"], types
    import json
    for m in msgs:
        data = json.loads(m["payload"])
        schemas.validate(m["headers"]["ce_type"], data)
        assert data["workflow_id"] == wf["id"] and data["org_id"] == me.org_id
    assert json.loads(msgs[2]["payload"])["version"] == 2
    # every change counts in the revision, the deletion included: consumers keep the highest
    assert [json.loads(m["payload"])["revision"] for m in msgs] == [1, 2, 3, 4]


def test_list_pages_of_the_orgs_workflows(stack):
    me = Wf(stack)
    ids = [me.create(PASS)["id"] for _ in range(5)]
    Wf(stack).create(PASS)  # another org's
    seen, cursor = [], None
    while True:
        r = me("GET", "/v1/workflows?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200
        page = r.json()
        assert len(page["data"]) <= 2
        assert all("definition" not in w for w in page["data"])
        seen += [w["id"] for w in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids)
    assert_error(me("GET", "/v1/workflows?limit=0"), 400)


def test_a_bad_definition_names_every_problem(stack):
    me = Wf(stack)
    bad = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"},
        "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True},
        "C": {"Type": "Choice", "Choices": []},
        "D": {"Type": "Map", "End": True}}}
    r = me("POST", "/v1/workflows", {"name": "bad", "definition": bad, "colour": "red"})
    err = assert_error(r, 422)
    fields = {d["field"] for d in err["details"]}
    assert {"colour", "definition.States.A.Next", "definition.States.B.Resource",
            "definition.States.D"} <= fields, fields
    assert any(f.startswith("definition.States.C") for f in fields), fields
    r = me("POST", "/v1/workflows", {"name": "jsonata", "definition": {
        "QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}})
    err = assert_error(r, 422)
    assert any("JSONata" in d["message"] for d in err["details"]), err
    assert_error(me("POST", "/v1/workflows", {"name": "x", "definition": [1]}), 422)
    assert_error(me("POST", "/v1/workflows", {"definition": PASS}), 422)
    wf = me.create(PASS)
    assert_error(me("PATCH", f"/v1/workflows/{wf['id']}", {}), 422)
    assert_error(me("PATCH", f"/v1/workflows/{wf['id']}", {"definition": bad}), 422)
    assert me("GET", f"/v1/workflows/{wf['id']}").json()["version"] == 1


def test_roles_and_tenancy(stack):
    org = new_id("org")
    editor = Wf(stack, org, role="editor")
    viewer = Wf(stack, org, role="viewer")
    stranger = Wf(stack, role="owner")
    wf = editor.create(PASS)
    ex = editor.start(wf["id"])
    assert viewer("GET", f"/v1/workflows/{wf['id']}").status_code == 200
    assert viewer("GET", f"/v1/executions/{ex['id']}").status_code == 200
    assert_error(viewer("POST", "/v1/workflows", {"name": "v", "definition": PASS}), 403)
    assert_error(viewer("PATCH", f"/v1/workflows/{wf['id']}", {"name": "v"}), 403)
    assert_error(viewer("DELETE", f"/v1/workflows/{wf['id']}"), 403)
    assert_error(viewer("POST", f"/v1/workflows/{wf['id']}/execute", {}), 403)
    assert_error(viewer("POST", f"/v1/executions/{ex['id']}/cancel"), 403)
    # another org sees nothing of them, whatever its role
    for method, path, body in [
            ("GET", f"/v1/workflows/{wf['id']}", None),
            ("PATCH", f"/v1/workflows/{wf['id']}", {"name": "mine"}),
            ("DELETE", f"/v1/workflows/{wf['id']}", None),
            ("GET", f"/v1/workflows/{wf['id']}/graph", None),
            ("POST", f"/v1/workflows/{wf['id']}/execute", {}),
            ("GET", f"/v1/workflows/{wf['id']}/executions", None),
            ("GET", f"/v1/executions/{ex['id']}", None),
            ("GET", f"/v1/executions/{ex['id']}/history", None),
            ("POST", f"/v1/executions/{ex['id']}/cancel", None),
            ("POST", f"/v1/executions/{ex['id']}/redrive", None)]:
        assert_error(stranger(method, path, body), 404, "not_found")
    assert stranger("GET", "/v1/executions").json()["data"] == []
    assert_error(editor("GET", "/v1/workflows/not-an-id"), 404)
    assert_error(editor("GET", "/v1/executions/exe_x"), 404)


def test_the_plan_limits_workflows_and_states(stack):
    starter = Wf(stack, plan="starter")
    for _ in range(10):
        starter.create(PASS)
    err = assert_error(starter("POST", "/v1/workflows", {"name": "11th", "definition": PASS}), 422,
                       "plan_limit_exceeded")
    assert "10 workflows" in err["message"] and "starter" in err["message"]
    # 21 states: over starter's 20, within professional's 100
    err = assert_error(Wf(stack, plan="starter")("POST", "/v1/workflows",
                                                 {"name": "big", "definition": chain(21)}),
                       422, "plan_limit_exceeded")
    assert "20 states" in err["message"]
    Wf(stack, plan="starter").create(chain(20))
    Wf(stack, plan="professional").create(chain(21))
    # the free plan gets the starter limits (WORKFLOW_FREE_PLAN)
    assert_error(Wf(stack, plan="free")("POST", "/v1/workflows",
                                        {"name": "big", "definition": chain(21)}),
                 422, "plan_limit_exceeded")


def test_the_workflow_limit_holds_under_concurrent_creates(stack):
    org = new_id("org")
    clients = [Wf(stack, org, plan="starter") for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(
            lambda c: c("POST", "/v1/workflows", {"name": new_id("n"), "definition": PASS},
                        check=False).status_code, clients))
    assert codes.count(201) == 10 and codes.count(422) == 10, codes
    assert len(clients[0]("GET", "/v1/workflows?limit=100").json()["data"]) == 10


def test_idempotency_key_replays_the_first_answer(stack):
    me = Wf(stack)
    h = {"Idempotency-Key": new_id("idem")}
    body = {"name": "once", "definition": PASS}
    a = me("POST", "/v1/workflows", body, headers=h)
    b = me("POST", "/v1/workflows", body, headers=h)
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert len(me("GET", "/v1/workflows").json()["data"]) == 1
    h = {"Idempotency-Key": new_id("idem")}
    x = me("POST", f"/v1/workflows/{a.json()['id']}/execute", {"input": {"n": 1}}, headers=h)
    y = me("POST", f"/v1/workflows/{a.json()['id']}/execute", {"input": {"n": 1}}, headers=h)
    assert x.status_code == y.status_code == 202 and x.json()["id"] == y.json()["id"]
    assert len(me("GET", "/v1/executions").json()["data"]) == 1


def test_graph_of_a_definition(stack):
    me = Wf(stack)
    wf = me.create(machine({
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.ok", "BooleanEquals": True, "Next": "Call"}], "Default": "Stop"},
        "Call": {"Type": "Task", "Resource": "tc:http",
                 "Parameters": {"ApiEndpoint": "https://example.com", "Method": "GET"},
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Stop"}], "End": True},
        "Stop": {"Type": "Fail", "Error": "Stopped"}}))
    g = me("GET", f"/v1/workflows/{wf['id']}/graph").json()
    assert g["workflow_id"] == wf["id"] and g["version"] == 1
    assert [n["id"] for n in g["nodes"]] == ["Check", "Call", "Stop"]
    assert {(e["from"], e["to"], e["kind"]) for e in g["edges"]} == {
        ("Check", "Call", "choice"), ("Check", "Stop", "default"), ("Call", "Stop", "catch")}
