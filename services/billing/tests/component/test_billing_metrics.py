"""Custom billable metrics and reported usage (Lago's aggregations and events API): an
operator defines custom.* metrics with their aggregation, a price version meters them, a
reporter posts usage events, and the period's usage is aggregated as each metric says —
sum, count, max, unique count, latest — on the usage endpoint and on the invoice. A
definition never changes; a redelivered event is counted once; a batch with a bad event
records nothing."""
import secrets
from datetime import datetime, timedelta, timezone

from billkit import Billing, renew
from platform_client import Api, assert_error, new_id


def at(hours_ago):
    t = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_custom_metrics_are_aggregated_as_defined_and_billed(stack):
    api, svc = Api(stack, "billing"), stack.service_token()
    tag = secrets.token_hex(3)
    codes = {agg: f"custom.{name}_{tag}" for agg, name in (
        ("unique_count", "active_users"), ("max", "storage_gb"), ("latest", "seats"),
        ("count", "exports"), ("sum", "tokens"))}
    for agg, code in codes.items():
        body = {"code": code, "name": code.split(".")[1], "aggregation": agg}
        r = api("POST", "/internal/v1/billing/metrics", token=svc, json_body=body)
        assert r.status_code == 201 and r.json()["aggregation"] == agg, r.text
        assert api("POST", "/internal/v1/billing/metrics", token=svc,
                   json_body=body).status_code == 200  # the same definition again
    assert_error(api("POST", "/internal/v1/billing/metrics", token=svc,
                     json_body={"code": codes["max"], "name": "storage_gb", "aggregation": "sum"}),
                 409, "metric_defined")
    listed = {m["code"]: m for m in api("GET", "/v1/billing/metrics",
                                        token=stack.token()).json()["data"]}
    assert listed["api_requests"] == {"code": "api_requests", "aggregation": "sum",
                                      "builtin": True}
    assert listed[codes["latest"]]["aggregation"] == "latest"

    # a new enterprise price: its terms as they are, plus the custom metrics
    cur = api("GET", "/v1/billing/plans/enterprise", token=stack.token()).json()["price"]
    metered = dict(cur["metered"], **{code: {"per": 1, "price_minor": 100}
                                      for code in codes.values()})
    included = dict(cur["included"], **{codes["unique_count"]: 1})
    r = api("POST", "/internal/v1/billing/prices", token=svc,
            json_body={"plan": "enterprise", "currency": cur["currency"],
                       "base_fee_minor": cur["base_fee_minor"], "included": included,
                       "metered": metered})
    assert r.status_code == 201, r.text
    b = Billing(stack)
    b.sub()
    assert b.change("enterprise", proration_behavior="none").json()["price_version"] == \
        r.json()["version"]

    org = b.org_id

    def ev(metric, n, hours_ago, **kw):
        return dict({"id": f"{metric}-{n}", "org_id": org, "metric": metric,
                     "occurred_at": at(hours_ago)}, **kw)
    events = [ev(codes["unique_count"], i, 5, unique_key=u)
              for i, u in enumerate(["usr_a", "usr_b", "usr_a", "usr_c", "usr_a"])]
    events += [ev(codes["max"], i, 5, quantity=q) for i, q in enumerate([10, 40, 25])]
    # the latest by when it happened, not by when it arrived
    events += [ev(codes["latest"], 0, 1, quantity=6), ev(codes["latest"], 1, 3, quantity=5),
               ev(codes["latest"], 2, 2, quantity=8)]
    events += [ev(codes["count"], i, 4, quantity=9) for i in range(4)]
    events += [ev(codes["sum"], i, 4, quantity=q) for i, q in enumerate([100, 250])]
    r = api("POST", "/internal/v1/billing/usage", token=svc, json_body={"events": events})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": len(events), "recorded": len(events), "duplicates": 0}
    again = api("POST", "/internal/v1/billing/usage", token=svc, json_body={"events": events[:3]})
    assert again.json() == {"received": 3, "recorded": 0, "duplicates": 3}

    want = {codes["unique_count"]: 3, codes["max"]: 40, codes["latest"]: 6,
            codes["count"]: 4, codes["sum"]: 350}
    usage = {m["metric"]: m for m in b.get("/v1/billing/usage").json()["metrics"]}
    assert {k: usage[k]["quantity"] for k in want} == want
    assert usage[codes["unique_count"]]["amount_minor"] == 200  # 3 users, 1 included

    inv = renew(b)
    lines = {ln["metric"]: ln for ln in inv["lines"] if ln["kind"] == "usage"}
    assert {k: lines[k]["quantity"] for k in want} == want
    assert {k: lines[k]["amount_minor"] for k in want} == {
        codes["unique_count"]: 200, codes["max"]: 4000, codes["latest"]: 600,
        codes["count"]: 400, codes["sum"]: 35000}


def test_bad_usage_events_are_refused_and_record_nothing(stack):
    api, svc = Api(stack, "billing"), stack.service_token()
    tag = secrets.token_hex(3)
    users = f"custom.users_{tag}"
    assert api("POST", "/internal/v1/billing/metrics", token=svc,
               json_body={"code": users, "name": "users", "aggregation": "unique_count"}
               ).status_code == 201
    org = new_id("org")
    good = {"id": "g1", "org_id": org, "metric": users, "unique_key": "usr_1"}
    for bad, field in (({"id": "b1", "org_id": org, "metric": f"custom.nope_{tag}"},
                        "events[1].metric"),
                       ({"id": "b2", "org_id": org, "metric": users}, "events[1].metric"),
                       ({"id": "b3", "org_id": org, "metric": "api_requests",
                         "unique_key": "k"}, "events[1].metric"),
                       ({"id": "b4", "org_id": "org_1", "metric": "api_requests"},
                        "events[1].org_id"),
                       ({"id": "b5", "org_id": org, "metric": "api_requests",
                         "quantity": 1.5}, "events[1].quantity")):
        r = api("POST", "/internal/v1/billing/usage", token=svc,
                json_body={"events": [good, bad]})
        assert_error(r, 422, "validation_failed")
        assert [d["field"] for d in r.json()["error"]["details"]] == [field], r.text
    assert stack.sql("billing", f"SELECT count(*) FROM usage_records WHERE org_id = '{org}'") \
        == "0"
    assert_error(api("POST", "/internal/v1/billing/usage", token=svc, json_body={"events": []}),
                 422)
    assert_error(api("POST", "/internal/v1/billing/usage", token=stack.token(role="owner"),
                     json_body={"events": [good]}), 403)
