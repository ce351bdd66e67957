"""Usage events: one com.techcorp.api.request per request on analytics-events, in binary-mode
CloudEvents, keyed by org, valid against proto/events/com.techcorp.api.request.json."""
import json
import secrets

from platform_client import new_id

CE_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type")


def api_requests(msgs):
    """The org's per-request events: the same key also carries the gateway's billing-grade
    usage records (com.techcorp.api.usage, one per window)."""
    return [m for m in msgs if m["headers"].get("ce_type") == "com.techcorp.api.request"]


def events_with(stack, key, request_ids, timeout=30):
    def done(msgs):
        found = {json.loads(m["payload"])["request_id"] for m in api_requests(msgs)}
        return set(request_ids) <= found
    msgs = stack.kafka_messages("analytics-events", key=key, timeout=timeout, until=done)
    return [m for m in api_requests(msgs) if json.loads(m["payload"])["request_id"] in request_ids]


def test_one_event_per_request_valid_against_the_schema(gw, ups, stack, schemas, tokens):
    org, sub = new_id("org"), new_id("usr")
    tok = tokens.mint(org=org, sub=sub, role="editor")
    rid_get, rid_post = f"req_test_{secrets.token_hex(6)}", f"req_test_{secrets.token_hex(6)}"
    assert gw.get("/t/auth/x", token=tok, headers={"X-Request-Id": rid_get}).status_code == 200
    r = gw.call("POST", "/t/auth/y?status=201", token=tok, data=b"z" * 100,
                headers={"X-Request-Id": rid_post})
    assert r.status_code == 201
    msgs = events_with(stack, org, [rid_get, rid_post])
    assert len(msgs) == 2, msgs
    by_id = {}
    for m in msgs:
        h = m["headers"]
        for name in CE_REQUIRED:
            assert name in h, (name, h)
        assert h["ce_type"] == "com.techcorp.api.request"
        assert h["ce_source"] == "/gateway"
        assert h["ce_specversion"] == "1.0" and h["ce_id"].startswith("evt_")
        assert h["content-type"] == "application/json"
        assert h["ce_dataschema"] == "https://schemas.techcorp.com/events/com.techcorp.api.request.json"
        assert m["key"] == org
        data = json.loads(m["payload"])
        schemas.validate("com.techcorp.api.request", data)
        by_id[data["request_id"]] = data
    get, post = by_id[rid_get], by_id[rid_post]
    assert get["org_id"] == org and get["principal"] == sub and get["principal_type"] == "user"
    assert get["route"] == "t-auth" and get["method"] == "GET" and get["status"] == 200
    assert post["method"] == "POST" and post["status"] == 201
    assert post["bytes_in"] > 100 and post["bytes_out"] > 0 and post["latency_ms"] >= 0


def test_anonymous_and_refused_requests_are_metered(gw, ups, stack, schemas):
    rid_ok, rid_401 = f"req_test_{secrets.token_hex(6)}", f"req_test_{secrets.token_hex(6)}"
    assert gw.get("/t/echo", headers={"X-Request-Id": rid_ok}).status_code == 200
    assert gw.get("/t/auth", headers={"X-Request-Id": rid_401}).status_code == 401
    msgs = events_with(stack, "anonymous", [rid_ok, rid_401])
    datas = {json.loads(m["payload"])["request_id"]: json.loads(m["payload"]) for m in msgs}
    for d in datas.values():
        schemas.validate("com.techcorp.api.request", d)
        assert d["org_id"] is None and d["principal"] is None
        assert d["principal_type"] == "anonymous"
    assert datas[rid_ok]["status"] == 200 and datas[rid_401]["status"] == 401


def test_no_events_dropped_in_normal_operation(gw):
    assert gw.metric("gateway_usage_events_dropped_total") == 0
