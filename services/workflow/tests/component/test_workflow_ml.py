"""workflow tc:ml Tasks: a step asks the ml-inference service for a prediction for the
execution's org (its internal API, with the workflow service's own service token from auth),
the answer is the step's result and the usage is metered to the org; a model that does not
exist, input the service refuses and parameters that are not a request are catchable errors;
the validator refuses a resource that names no model. ml-inference's internal endpoint takes
service tokens only. Answers are checked against the services' OpenAPI documents, the usage
event against proto/events/."""
import json

from platform_client import Api, new_id
from wfkit import WAIT, Wf, machine


def ml(model, params, **fields):
    st = {"Type": "Task", "Resource": f"tc:ml:{model}", "Parameters": params, "End": True}
    st.update(fields)
    return {k: v for k, v in st.items() if v is not None}


def test_a_step_predicts_for_the_org_and_the_usage_is_the_orgs(stack, schemas):
    me = Wf(stack)
    definition = machine({
        "Mood": ml("sentiment-v3", {"Input.$": "$.review"}, End=None, Next="Spam",
                   ResultSelector={"label.$": "$.Output.label", "model.$": "$.Model",
                                   "version.$": "$.Version"}, ResultPath="$.mood"),
        "Spam": ml("text-classifier-v2", {"Input.$": "$.review", "Version": "2.1.0"},
                   ResultPath="$.spam")})
    done = me.run(definition, {"review": "I absolutely love this phone, the battery is great!"})
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["mood"] == {"label": "positive", "model": "sentiment-v3",
                                      "version": "3.0.0"}, done["output"]
    spam = done["output"]["spam"]
    assert spam["Model"] == "text-classifier-v2" and spam["Version"] == "2.1.0", spam
    assert spam["Output"]["label"] in ("ham", "spam") and spam["Cached"] is False
    # each prediction is metered to the execution's org, as the workflow service's call
    msgs = stack.kafka_messages("analytics-events", key=me.org_id, timeout=WAIT,
                                until=lambda ms: len([m for m in ms if m["headers"].get(
                                    "ce_type") == "com.techcorp.ml.usage"]) >= 2)
    usage = [json.loads(m["payload"]) for m in msgs
             if m["headers"].get("ce_type") == "com.techcorp.ml.usage"]
    assert sorted(u["model"] for u in usage) == ["sentiment-v3", "text-classifier-v2"], usage
    for u in usage:
        schemas.validate("com.techcorp.ml.usage", u)
        assert u["org_id"] == me.org_id and u["principal"] == "workflow" and \
            u["principal_type"] == "service", u
    h = [e["type"] for e in me.history(done["id"])]
    assert h.count("TaskSucceeded") == 2, h


def test_refusals_are_catchable_errors(stack):
    me = Wf(stack)
    caught = {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err",
                         "Next": "Out"}], "End": None, "Next": "Out"}
    out = {"Type": "Pass", "End": True, "Parameters": {"error.$": "$.err.Error",
                                                       "cause.$": "$.err.Cause"}}
    for model, params, error, cause in [
            ("no-such-model", {"Input": "x"}, "ML.ModelNotFound", "No model named"),
            ("sentiment-v3", {"Input": "x", "Version": "9.9.9"}, "ML.InvalidInput", "9.9.9"),
            ("sentiment-v3", {"Input": "x", "Options": {"nope": 1}}, "ML.InvalidInput", "422"),
            ("sentiment-v3", {"Input.$": "$.n"}, "ML.InvalidParameters", "Input must be a string")]:
        done = me.run(machine({"Ask": ml(model, params, **caught), "Out": out}), {"n": 5})
        assert done["status"] == "SUCCEEDED", (model, params, done)
        assert done["output"]["error"] == error and cause in done["output"]["cause"], \
            (model, params, done["output"])


def test_the_validator_wants_a_model_name(stack):
    me = Wf(stack)
    for resource in ["tc:ml:", "tc:ml:Sentiment", "tc:ml:a/b"]:
        r = me("POST", "/v1/workflows", {"name": new_id("wf"), "definition": machine(
            {"Ask": {"Type": "Task", "Resource": resource, "Parameters": {"Input": "x"},
                     "End": True}})})
        assert r.status_code == 422, (resource, r.text)


def test_the_internal_endpoint_takes_service_tokens_only(stack):
    api = Api(stack, "ml-inference")
    org = new_id("org")
    path = f"/internal/v1/ml/orgs/{org}/models/sentiment-v3/predict"
    user = stack.token(org=org, role="owner")
    assert api("POST", path, token=user, json_body={"input": "fine"}).status_code == 403
    assert api("POST", path, json_body={"input": "fine"}).status_code == 401
    svc = stack.service_token()
    r = api("POST", path, token=svc, json_body={"input": "fine"})
    assert r.status_code == 200 and r.json()["model"] == "sentiment-v3", r.text
    r = api("POST", "/internal/v1/ml/orgs/not-an-org/models/sentiment-v3/predict", token=svc,
            json_body={"input": "fine"})
    assert r.status_code == 404, r.text
