"""Saved and built-in reports (/v1/analytics/reports): editors save a query with a relative
range, members read reports and their results, results are cached per report version and
computed again on demand, after a change, and by the job when due; built-ins are read-only and
answer from the org's own events; idempotent creation, tenancy, roles and scopes."""
import datetime as dt

from analyticskit import Analytics, api_key_token, iso, now
from platform_client import assert_error, eventually

QUERY = {"events": ["signup"], "breakdown": ["plan"], "metrics": [{"op": "count"}]}


def seed(a, n_pro=3, n_free=2):
    t = now() - dt.timedelta(days=1)
    batch = [{"event": "signup", "distinct_id": f"u{i}", "uuid": f"{a.org_id}-s{i}",
              "timestamp": iso(t), "properties": {"plan": "pro" if i < n_pro else "free"}}
             for i in range(n_pro + n_free)]
    assert a.capture({"batch": batch}).status_code == 202


def create(a, body, token=None, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return a.api("POST", "/v1/analytics/reports", token=token or a.editor, json_body=body,
                 headers=headers)


def results(a, rid, refresh=False, token=None):
    q = "?refresh=true" if refresh else ""
    r = a.api("GET", f"/v1/analytics/reports/{rid}/results{q}", token=token or a.token)
    assert r.status_code == 200, r.text
    return r.json()


def counts(res):
    return {row["breakdown"]["plan"]: row["count"] for row in res["result"]["data"]}


def new(stack):
    a = Analytics(stack)
    a.editor = stack.token(org=a.org_id, role="editor")
    return a


def test_a_saved_report_is_computed_cached_and_recomputed_on_demand(stack):
    a = new(stack)
    seed(a)
    r = create(a, {"name": "Signups by plan", "query": QUERY, "range_days": 7})
    assert r.status_code == 201, r.text
    rep = r.json()
    assert r.headers["Location"].endswith(rep["id"])
    assert (rep["kind"], rep["range_days"], rep["refresh"], rep["version"]) == \
        ("saved", 7, "daily", 1)
    # the cache on its own: a daily report without a result is due for the refresh job too,
    # which may compute it a moment after this request does and replace the cached result
    r = create(a, {"name": "Signups by plan, by hand", "query": QUERY, "range_days": 7,
                   "refresh": "manual"})
    assert r.status_code == 201, r.text
    rep = r.json()
    first = results(a, rep["id"])
    assert counts(first) == {"pro": 3, "free": 2} and first["stale"] is False
    seed_more = {"event": "signup", "distinct_id": "late", "uuid": f"{a.org_id}-late",
                 "timestamp": iso(now()), "properties": {"plan": "pro"}}
    assert a.capture(seed_more).status_code == 202
    cached = results(a, rep["id"])
    assert cached["computed_at"] == first["computed_at"] and counts(cached)["pro"] == 3
    fresh = results(a, rep["id"], refresh=True)
    assert counts(fresh)["pro"] == 4 and fresh["computed_at"] >= first["computed_at"]


def test_a_change_makes_the_cached_result_obsolete(stack):
    a = new(stack)
    seed(a)
    rid = create(a, {"name": "r", "query": QUERY}).json()["id"]
    assert counts(results(a, rid)) == {"pro": 3, "free": 2}
    r = a.api("PATCH", f"/v1/analytics/reports/{rid}", token=a.editor, json_body={
        "query": {**QUERY, "filters": [{"property": "plan", "op": "eq", "value": "pro"}]}})
    assert r.status_code == 200 and r.json()["version"] == 2
    after = results(a, rid)
    assert after["version"] == 2 and counts(after) == {"pro": 3}
    # a range the query cannot take (minute buckets allow 7 days) is refused with the field
    bad = a.api("PATCH", f"/v1/analytics/reports/{rid}", token=a.editor,
                json_body={"query": {"events": ["signup"], "interval": "minute"}})
    assert_error(bad, 422)
    # checked merged with what is stored: a 7-day report takes minute buckets, and then a
    # range of 30 days is refused
    short = create(a, {"name": "s", "query": QUERY, "range_days": 7}).json()["id"]
    ok = a.api("PATCH", f"/v1/analytics/reports/{short}", token=a.editor,
               json_body={"query": {"events": ["signup"], "interval": "minute"}})
    assert ok.status_code == 200, ok.text
    assert_error(a.api("PATCH", f"/v1/analytics/reports/{short}", token=a.editor,
                       json_body={"range_days": 30}), 422)
    # a time zone PostgreSQL does not know is refused when saved, not at every run
    assert_error(create(a, {"name": "tz", "query": {**QUERY, "timezone": "Mars/Olympus"}}), 422)


def test_the_job_refreshes_a_due_report(stack):
    a = new(stack)
    seed(a)
    rid = create(a, {"name": "hourly", "query": QUERY, "refresh": "hourly"}).json()["id"]
    first = results(a, rid)
    # the cached result made two hours old (the job may take it at once, so no reading of the
    # stale one): the job computes it again, with a time after the first
    stack.sql("analytics", "UPDATE report_results SET computed_at = now() - interval '2 hours'"
                           f" WHERE report_id = '{rid}'")
    eventually(lambda: results(a, rid)["computed_at"] > first["computed_at"], timeout=30,
               what="the job refreshing the report")
    assert results(a, rid)["stale"] is False
    # no lease left behind: the report is free for the next run
    assert stack.sql("analytics", f"SELECT refreshing_until IS NULL FROM reports"
                                  f" WHERE id = '{rid}'") == "t"


def test_builtin_reports_are_listed_read_only_and_answer_from_the_orgs_events(stack):
    a = new(stack)
    a.api_request(route="users", status=200)
    a.api_request(route="users", status=404)
    a.wait_stored(2)
    r = a.api("GET", "/v1/analytics/reports?kind=builtin", token=a.token)
    ids = [x["id"] for x in r.json()["data"]]
    assert "builtin.api_usage" in ids and "builtin.workflow_executions" in ids
    assert {x["refresh"] for x in r.json()["data"]} == {"hourly"}
    res = results(a, "builtin.api_usage", refresh=True)
    rows = {(x["breakdown"]["route"], x["breakdown"]["status"]): x["requests"]
            for x in res["result"]["data"]}
    assert rows == {("users", "200"): 1, ("users", "404"): 1}
    b = new(stack)  # another org: its own (empty) answer
    assert results(b, "builtin.api_usage", refresh=True)["result"]["data"] == []
    # a built-in's cached answer past its hour is computed again when asked for
    cached = results(a, "builtin.api_usage")
    stack.sql("analytics", "UPDATE report_results SET computed_at = now() - interval '2 hours'"
                           f" WHERE org_id = '{a.org_id}' AND report_id = 'builtin.api_usage'")
    again = results(a, "builtin.api_usage")
    assert again["computed_at"] > cached["computed_at"] and again["stale"] is False
    assert_error(a.api("PATCH", "/v1/analytics/reports/builtin.api_usage", token=a.editor,
                       json_body={"name": "x"}), 409, "builtin_report")
    assert_error(a.api("DELETE", "/v1/analytics/reports/builtin.api_usage", token=a.editor),
                 409, "builtin_report")
    assert_error(a.api("GET", "/v1/analytics/reports/builtin.nothing", token=a.token), 404)


def test_list_get_delete_idempotency_tenancy_and_roles(stack):
    a, b = new(stack), new(stack)
    one = create(a, {"name": "one", "query": QUERY}, key="k-1")
    again = create(a, {"name": "one", "query": QUERY}, key="k-1")
    assert one.status_code == 201 and again.json() == one.json()
    two = create(a, {"name": "two", "query": QUERY}).json()
    page = a.api("GET", "/v1/analytics/reports?limit=1", token=a.token).json()
    assert [x["name"] for x in page["data"]] == ["one"] and page["next_cursor"]
    rest = a.api("GET", f"/v1/analytics/reports?limit=1&cursor={page['next_cursor']}",
                 token=a.token).json()
    assert [x["name"] for x in rest["data"]] == ["two"] and rest["next_cursor"] is None
    assert b.api("GET", "/v1/analytics/reports", token=b.token).json()["data"] == []
    assert_error(b.api("GET", f"/v1/analytics/reports/{two['id']}", token=b.token), 404)
    assert_error(create(a, {"name": "v", "query": QUERY}, token=a.token), 403)  # a viewer
    key = api_key_token(stack, a.org_id, "editor", "analytics:read")
    assert_error(create(a, {"name": "k", "query": QUERY}, token=key), 403)
    assert a.api("GET", f"/v1/analytics/reports/{two['id']}", token=key).status_code == 200
    writer = api_key_token(stack, a.org_id, "editor", "analytics_reports:write")
    assert create(a, {"name": "k", "query": QUERY}, token=writer).status_code == 201
    assert a.api("DELETE", f"/v1/analytics/reports/{two['id']}",
                 token=a.editor).status_code == 204
    assert_error(a.api("GET", f"/v1/analytics/reports/{two['id']}", token=a.token), 404)
    assert_error(a.api("DELETE", f"/v1/analytics/reports/{two['id']}", token=a.editor), 404)
    assert_error(create(a, {"name": "bad", "query": {"events": []}}), 422)
