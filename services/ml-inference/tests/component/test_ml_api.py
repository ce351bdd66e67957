"""The ml-inference API against the test stack: every model listed with its card and answering
through its own C code, batches in order, the input limits (413 past max_chars, 422 for empty
or broken text, unknown options), the cache (a repeat is answered from Redis, keyed by
version and options), the default version switched at run time and shadow traffic counted,
and one usage record per answered request on analytics-events, in the caller's org."""
import json
import time

import requests

from platform_client import Api, assert_error, eventually, new_id

MODELS = {"text-classifier-v2", "sentiment-v3", "ner-v2", "summarizer-v1", "embeddings-v2"}

SPAM = ("Subject: URGENT: you have WON $1,000,000 cash prize!!!\n\nClick here now to claim "
        "your FREE money. Limited time offer, act now! Unsubscribe from this list at any time.")
HAM = ("Subject: Re: meeting notes for the build system\n\nHi Tom, I pushed the fix to the "
       "kernel config and the patch applies cleanly on the latest tree. Let's discuss the "
       "remaining test failures on Thursday. Thanks, Anna")
ARTICLE = ("The city council approved a new budget for public transport on Monday. "
           "The plan adds three bus lines and extends the tram network to the airport. "
           "Council members debated the cost for several hours. "
           "Opponents said the money should go to road repairs instead. "
           "The mayor called the vote a turning point for the city. "
           "Construction of the tram extension is expected to begin next spring.")


class Ml:
    def __init__(self, stack, org_id=None, role="viewer"):
        self.stack = stack
        self.api = Api(stack, "ml-inference")
        self.org_id = org_id or new_id("org")
        self.token = stack.token(org=self.org_id, role=role)
        self.admin = stack.token(org=self.org_id, role="admin")

    def predict(self, model, text, token=None, **extra):
        return self.api("POST", f"/v1/ml/models/{model}/predict", token=token or self.token,
                        json_body={"input": text, **extra})

    def batch(self, model, texts, **extra):
        return self.api("POST", f"/v1/ml/models/{model}/predict:batch", token=self.token,
                        json_body={"inputs": texts, **extra})

    def model(self, name):
        r = self.api("GET", f"/v1/ml/models/{name}", token=self.token)
        assert r.status_code == 200, r.text
        return r.json()

    def usage(self, expect, timeout=30):
        """The org's usage records on analytics-events once `expect` have arrived."""
        msgs = self.stack.kafka_messages(
            "analytics-events", key=self.org_id, timeout=timeout,
            until=lambda ms: len([m for m in ms if usage_of(m)]) >= expect)
        return [usage_of(m) for m in msgs if usage_of(m)]


def usage_of(m):
    if m["headers"].get("ce_type") != "com.techcorp.ml.usage":
        return None
    return json.loads(m["payload"])


def test_every_model_is_listed_with_its_card_and_figures(stack):
    ml = Ml(stack)
    r = ml.api("GET", "/v1/ml/models", token=ml.token)
    assert r.status_code == 200, r.text
    models = {m["name"]: m for m in r.json()["data"]}
    assert set(models) == MODELS
    for m in models.values():
        assert m["latency"]["target_p99_ms"] * 10 == m["latency"]["seed_budget_p99_ms"]
        for v in m["versions"]:
            assert v["max_chars"] > 0
            assert v["quality"].get("eval_set"), f"{m['name']} {v['version']}: no held-out set named"
    assert {v["version"] for v in models["text-classifier-v2"]["versions"]} >= {"2.0.0", "2.1.0"}
    card = ml.model("sentiment-v3")["versions"][0]
    assert card["licence"] and card["data"] and card["build"]
    assert ml.api("GET", "/v1/ml/models", token=None).status_code == 401


def test_each_model_answers_from_its_own_code(stack):
    ml = Ml(stack)
    r = ml.predict("sentiment-v3", "I absolutely love this phone, the battery is great!")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "sentiment-v3" and body["version"] == "3.0.0"
    assert body["output"]["label"] == "positive" and body["output"]["compound"] > 0.5
    neg = ml.predict("sentiment-v3", "This was the worst service, terrible and rude.").json()
    assert neg["output"]["label"] == "negative"

    spam = ml.predict("text-classifier-v2", SPAM).json()["output"]
    ham = ml.predict("text-classifier-v2", HAM).json()["output"]
    assert spam["label"] == "spam" and ham["label"] == "ham", (spam, ham)
    assert abs(sum(x["score"] for x in spam["labels"]) - 1) < 1e-3

    emb = ml.predict("embeddings-v2", "the cat sat on the mat").json()["output"]
    assert emb["dimensions"] == len(emb["vector"]) == 100
    assert abs(sum(x * x for x in emb["vector"]) - 1) < 1e-3
    assert emb["known"] >= 5

    summary = ml.predict("summarizer-v1", ARTICLE, options={"sentences": 2}).json()["output"]
    assert len(summary["sentences"]) == 2 and summary["sentence_count"] == 6
    assert [s["index"] for s in summary["sentences"]] == sorted(s["index"] for s in summary["sentences"])

    ner = ml.predict("ner-v2", "Angela Merkel met Emmanuel Macron in Paris on 3 March 2019; "
                     "write to press@example.org.").json()["output"]
    found = {(e["text"], e["type"]) for e in ner["entities"]}
    padded = ml.predict("ner-v2", "  \n" + "write to press@example.org").json()["output"]
    email = [e for e in padded["entities"] if e["type"] == "EMAIL"][0]
    assert (email["start"], email["end"]) == (12, 29), "offsets are into the text as sent"
    assert ("press@example.org", "EMAIL") in found, found
    assert any(e["type"] == "PERSON" and "Merkel" in e["text"] for e in ner["entities"]), found


def test_a_batch_answers_in_order_as_single_calls_do(stack):
    ml = Ml(stack)
    texts = ["I love it", "I hate it", "It is a table"]
    r = ml.batch("sentiment-v3", texts)
    assert r.status_code == 200, r.text
    outs = r.json()["outputs"]
    assert [o["label"] for o in outs] == ["positive", "negative", "neutral"]
    for text, out in zip(texts, outs):
        assert ml.predict("sentiment-v3", text).json()["output"] == out
    assert_error(ml.batch("sentiment-v3", ["x"] * 65), 422, "validation_failed")
    assert_error(ml.batch("sentiment-v3", []), 422, "validation_failed")


def test_bad_inputs_get_clear_errors_and_no_usage(stack):
    ml = Ml(stack)
    limit = next(v["max_chars"] for v in ml.model("sentiment-v3")["versions"])
    r = ml.predict("sentiment-v3", "é" * (limit + 1))
    assert_error(r, 413, "input_too_large")
    assert str(limit) in r.json()["error"]["message"]
    assert ml.predict("sentiment-v3", "  é" * limit).status_code == 413
    assert ml.predict("sentiment-v3", "é" * limit).status_code == 200, "characters, not bytes"
    r = ml.predict("sentiment-v3", " \n\t ")
    assert_error(r, 422, "validation_failed")
    assert r.json()["error"]["details"][0]["field"] == "input"
    r = ml.batch("sentiment-v3", ["fine", ""])
    assert_error(r, 422, "validation_failed")
    assert r.json()["error"]["details"][0]["field"] == "inputs[1]"

    def raw(body):
        return requests.post(stack.url("ml-inference", "/v1/ml/models/sentiment-v3/predict"),
                             data=body, headers={"Authorization": f"Bearer {ml.token}",
                                                 "Content-Type": "application/json"}, timeout=10)
    r = raw(b'{"input": "bad \xff byte"}')
    assert_error(r, 422, "validation_failed")
    assert r.json()["error"]["details"][0]["field"] == "input", r.text
    # a NUL would cut the text short: the HTTP layer refuses the body before any model
    assert_error(raw(b'{"input": "cut \\u0000 short"}'), 400, "bad_request")
    assert raw(b'{"input": "a backslash \\\\u0000 is text"}').status_code == 200
    assert_error(ml.predict("summarizer-v1", ARTICLE, options={"sentences": 0}), 422,
                 "validation_failed")
    assert_error(ml.predict("sentiment-v3", "ok", options={"x": 1}), 422, "validation_failed")
    assert_error(ml.predict("nope-v1", "ok"), 404, "model_not_found")
    assert_error(ml.predict("sentiment-v3", "ok", version="9.9.9"), 404, "version_not_found")
    assert_error(ml.predict("sentiment-v3", "ok", extra=1), 422, "validation_failed")
    ml.predict("sentiment-v3", "the second answered call")
    time.sleep(1)
    # the input of exactly max_chars, the escaped backslash and the call above: the refused
    # ones are not metered
    assert len(ml.usage(3, timeout=15)) == 3


def test_a_repeat_is_answered_from_the_cache_keyed_by_version_and_options(stack):
    ml = Ml(stack)
    text = f"cache probe {new_id('t')}: the service was quick and friendly"
    first = ml.predict("sentiment-v3", text).json()
    assert first["cached"] is False
    again = ml.predict("sentiment-v3", text).json()
    assert again["cached"] is True and again["output"] == first["output"]
    assert ml.predict("sentiment-v3", "  " + text).json()["cached"] is False, \
        "the input is taken as sent: other bytes, another entry"
    article = ARTICLE + f" Reported by {new_id('r')}."
    assert ml.predict("summarizer-v1", article, options={"sentences": 1}).json()["cached"] is False
    assert ml.predict("summarizer-v1", article, options={"sentences": 2}).json()["cached"] is False
    assert ml.predict("summarizer-v1", article, options={"sentences": 2}).json()["cached"] is True
    r = ml.batch("sentiment-v3", [text, text + "!"])
    assert r.json()["cached"] == 1
    v21 = ml.predict("text-classifier-v2", HAM + new_id("x"), version="2.1.0").json()
    assert v21["version"] == "2.1.0" and v21["cached"] is False
    metrics = requests.get(stack.admin_url("ml-inference", "/metrics"), timeout=5).text
    assert 'ml_cache_total{model="sentiment-v3",result="hit"}' in metrics


def test_the_default_version_switches_at_run_time_for_admins_only(stack):
    ml = Ml(stack)
    path = "/v1/ml/models/text-classifier-v2/default"
    before = ml.model("text-classifier-v2")["default_version"]
    other = "2.1.0" if before == "2.0.0" else "2.0.0"
    assert_error(ml.api("PUT", path, token=ml.token, json_body={"version": other}), 403)
    assert_error(ml.api("PUT", path, token=ml.admin, json_body={"version": "7.0.0"}), 404,
                 "version_not_found")
    try:
        r = ml.api("PUT", path, token=ml.admin, json_body={"version": other})
        assert r.status_code == 200, r.text
        assert r.json()["default_version"] == other
        assert ml.predict("text-classifier-v2", SPAM).json()["version"] == other
    finally:
        r = ml.api("PUT", path, token=ml.admin, json_body={"version": before})
        assert r.status_code == 200, r.text
    assert ml.predict("text-classifier-v2", SPAM).json()["version"] == before


def test_shadow_traffic_is_compared_and_counted(stack):
    ml = Ml(stack)
    base = "/v1/ml/models/text-classifier-v2/shadow"
    default = ml.model("text-classifier-v2")["default_version"]
    cand = "2.1.0" if default == "2.0.0" else "2.0.0"
    assert_error(ml.api("PUT", base, token=ml.admin, json_body={"version": default}), 409,
                 "shadow_is_default")
    assert_error(ml.api("PUT", base, token=ml.admin, json_body={"version": cand, "percent": 0}),
                 422, "validation_failed")
    try:
        r = ml.api("PUT", base, token=ml.admin, json_body={"version": cand, "percent": 100})
        assert r.status_code == 200, r.text
        assert r.json()["shadow"]["compared"] == 0
        texts = [SPAM + new_id("s") for _ in range(5)] + [HAM + new_id("h") for _ in range(5)]
        r = ml.batch("text-classifier-v2", texts)
        assert r.status_code == 200 and r.json()["version"] == default
        shadow = eventually(lambda: (s := ml.model("text-classifier-v2")["shadow"])
                            and s["compared"] >= 10 and s, what="10 shadow comparisons")
        assert shadow["version"] == cand and 0 <= shadow["agreement"] <= 1
        assert shadow["agreed"] >= 8, "both versions are good classifiers: they mostly agree"
    finally:
        r = ml.api("DELETE", base, token=ml.admin)
        assert r.status_code == 200 and r.json()["shadow"] is None


def test_one_usage_record_per_answered_request_in_the_callers_org(stack, schemas):
    a, b = Ml(stack), Ml(stack)
    a.predict("sentiment-v3", "good")
    a.batch("embeddings-v2", ["one", "two", "three"])
    b.predict("summarizer-v1", ARTICLE)
    ua, ub = a.usage(2), b.usage(1)
    assert len(ua) == 2 and len(ub) == 1
    for u in ua + ub:
        schemas.validate("com.techcorp.ml.usage", u)
    assert {u["org_id"] for u in ua} == {a.org_id} and ub[0]["org_id"] == b.org_id
    by_model = {u["model"]: u for u in ua}
    assert by_model["embeddings-v2"]["quantity"] == 3
    assert by_model["embeddings-v2"]["metric"] == "ml_inference.embeddings-v2"
    assert by_model["sentiment-v3"]["quantity"] == 1
    assert ub[0]["model"] == "summarizer-v1" and ub[0]["version"] == "1.0.0"
