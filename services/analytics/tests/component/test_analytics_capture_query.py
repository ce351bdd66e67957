"""Product events sent by clients (POST /v1/analytics/events) and the query language over them
(POST /v1/analytics/query): stored before the 202, retries with a uuid stored once, every bad
field reported at once, every filter operator and metric against hand-computed answers, time
buckets in a time zone, and one org never seeing another's events."""
import datetime as dt

from analyticskit import Analytics, api_key_token, iso, now
from platform_client import assert_error

DAY = dt.timedelta(days=1)


def base_time():
    """Noon UTC two days ago: every test event is inside one local day in UTC and Berlin."""
    t = now() - 2 * DAY
    return t.replace(hour=12, minute=0, second=0, microsecond=0)


def capture_fixture(a):
    t0 = base_time()
    events = [
        # (event, person, properties, minutes after t0)
        ("signup", "u1", {"plan": "pro", "price": 10, "ms": 100}, 0),
        ("signup", "u2", {"plan": "free", "price": 0, "ms": 200}, 1),
        ("signup", "u3", {"plan": "pro", "price": 30, "ms": 300, "tag": "Beta Tester"}, 2),
        ("signup", "u3", {"plan": "Pro", "price": "30", "ms": 400}, 3),  # a string price
        ("login", "u1", {"plan": "pro"}, 4),
    ]
    batch = [{"event": e, "distinct_id": p, "properties": props, "uuid": f"{a.org_id}-{i}",
              "timestamp": iso(t0 + dt.timedelta(minutes=m))}
             for i, (e, p, props, m) in enumerate(events)]
    r = a.capture({"batch": batch})
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 5, "duplicates": 0}
    return t0, batch


def window(t0):
    return {"from": iso(t0 - DAY), "to": iso(t0 + DAY)}


def test_captured_events_are_stored_before_the_answer_and_a_retry_is_stored_once(stack):
    a = Analytics(stack)
    t0, batch = capture_fixture(a)
    assert a.stored() == 5  # no waiting: stored before the 202
    again = a.capture({"batch": batch})
    assert again.status_code == 202 and again.json() == {"accepted": 5, "duplicates": 5}
    assert a.stored() == 5
    one = a.capture({"event": "login", "distinct_id": "u9"})  # one event as the body, no uuid
    assert one.status_code == 202 and one.json()["accepted"] == 1
    assert a.stored("login") == 2


def test_every_bad_field_of_a_batch_is_reported_and_nothing_is_stored(stack):
    a = Analytics(stack)
    r = a.capture({"batch": [{"event": "ok", "distinct_id": "u"},
                             {"event": "", "distinct_id": "u"},
                             {"event": "x", "distinct_id": "u", "timestamp": "yesterday"},
                             {"event": "x", "distinct_id": "u", "properties": [1], "extra": 1}]})
    assert_error(r, 422, "validation_failed")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"batch[1].event", "batch[2].timestamp", "batch[3].properties",
            "batch[3].extra"} <= fields
    assert a.stored() == 0
    assert_error(a.capture({"batch": []}), 422)
    big = {"batch": [{"event": "e", "distinct_id": "u", "properties": {"pad": "x" * 30000}}
                     for _ in range(40)]}
    assert_error(a.capture(big), 413)


def test_filters_metrics_and_breakdowns_match_hand_computed_answers(stack):
    a = Analytics(stack)
    t0, _ = capture_fixture(a)
    w = window(t0)

    def one(filters=None, metrics=None, events=("signup",)):
        rows = a.rows({**w, "events": list(events), "filters": filters or [],
                       "metrics": metrics or [{"op": "count"}]})
        assert len(rows) == 1, rows
        return rows[0]

    assert one()["count"] == 4
    assert one(events=("signup", "login"))["count"] == 5
    assert one(metrics=[{"op": "unique"}])["unique_distinct_id"] == 3
    assert one([{"property": "plan", "op": "eq", "value": "pro"}])["count"] == 2
    assert one([{"property": "plan", "op": "neq", "value": "pro"}])["count"] == 2
    assert one([{"property": "plan", "op": "in", "value": ["pro", "Pro"]}])["count"] == 3
    assert one([{"property": "plan", "op": "contains", "value": "PR"}])["count"] == 3
    assert one([{"property": "price", "op": "gt", "value": 5}])["count"] == 2  # "30" is text
    assert one([{"property": "price", "op": "gte", "value": 10}])["count"] == 2
    assert one([{"property": "price", "op": "lt", "value": 10}])["count"] == 1
    assert one([{"property": "price", "op": "lte", "value": 10}])["count"] == 2
    assert one([{"property": "price", "op": "eq", "value": 30}])["count"] == 1  # JSON compare
    assert one([{"property": "price", "op": "eq", "value": "30"}])["count"] == 1
    assert one([{"property": "tag", "op": "is_set"}])["count"] == 1
    assert one([{"property": "tag", "op": "is_not_set"}])["count"] == 3
    assert one([{"property": "distinct_id", "op": "eq", "value": "u3"}])["count"] == 2
    m = one(metrics=[{"op": "sum", "property": "price"}, {"op": "avg", "property": "ms"},
                     {"op": "min", "property": "ms"}, {"op": "max", "property": "ms"},
                     {"op": "p50", "property": "ms"}, {"op": "p95", "property": "ms", "as": "slow"}])
    assert m["sum_price"] == 40 and m["avg_ms"] == 250 and (m["min_ms"], m["max_ms"]) == (100, 400)
    assert m["p50_ms"] == 250 and abs(m["slow"] - 385) < 1e-9  # continuous percentiles
    rows = a.rows({**w, "events": ["signup"], "breakdown": ["plan"],
                   "metrics": [{"op": "count"}]})
    assert {r["breakdown"]["plan"]: r["count"] for r in rows} == {"pro": 2, "free": 1, "Pro": 1}


def test_buckets_follow_the_time_zone(stack):
    a = Analytics(stack)
    t = base_time().replace(hour=23, minute=30)  # 23:30 UTC is 00:30 the next day in Berlin
    r = a.capture({"event": "late", "distinct_id": "u", "timestamp": iso(t)})
    assert r.status_code == 202
    q = {**window(t), "events": ["late"], "interval": "day", "metrics": [{"op": "count"}]}
    utc = a.rows(q)
    berlin = a.rows({**q, "timezone": "Europe/Berlin"})
    assert [b["bucket"][:10] for b in utc] == [t.strftime("%Y-%m-%d")]
    assert [b["bucket"][:10] for b in berlin] == [t.strftime("%Y-%m-%d")]  # local midnight
    assert berlin[0]["bucket"][11:13] in ("22", "23")  # ... as a UTC instant
    assert_error(a.query({**q, "timezone": "Mars/Olympus_Mons"}), 422)


def test_an_org_sees_only_its_own_events(stack):
    a, b = Analytics(stack), Analytics(stack)
    t0, _ = capture_fixture(a)
    q = {**window(t0), "events": ["signup", "login"], "metrics": [{"op": "count"}]}
    assert a.rows(q)[0]["count"] == 5
    assert b.rows(q)[0]["count"] == 0
    # row-level security: the service's own role, naming no org, reads nothing
    try:
        out = stack.sql("analytics", "SET ROLE tc_analytics; SELECT count(*) FROM events")
    finally:
        stack.sql("analytics", "RESET ROLE")
    assert out == "0"


def test_invalid_queries_list_every_problem(stack):
    a = Analytics(stack)
    r = a.query({"from": "yesterday", "to": iso(now()), "events": [],
                 "filters": [{"property": "x y", "op": "like", "value": 1}],
                 "metrics": [{"op": "p42", "property": "ms"}], "interval": "fortnight"})
    assert_error(r, 422, "validation_failed")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"from", "events", "filters[0].property", "filters[0].op", "metrics[0].op",
            "interval"} <= fields, fields
    long = {"from": iso(now() - 500 * DAY), "to": iso(now()), "events": ["e"],
            "metrics": [{"op": "count"}]}
    assert_error(a.query(long), 422)


def test_roles_and_api_key_scopes(stack):
    a = Analytics(stack)
    stranger = api_key_token(stack, a.org_id, "editor", "search:read")
    assert_error(a.capture({"event": "e", "distinct_id": "u"}, token=stranger), 403)
    q = {"from": iso(now() - DAY), "to": iso(now()), "events": ["e"], "metrics": [{"op": "count"}]}
    assert_error(a.query(q, token=stranger), 403)
    reader = api_key_token(stack, a.org_id, "editor", "analytics:read")
    assert a.query(q, token=reader).status_code == 200
    assert_error(a.capture({"event": "e", "distinct_id": "u"}, token=reader), 403)
    assert_error(stack.call("POST", "analytics", "/v1/analytics/query", json_body=q), 401)
