"""The fleet's events into analytics: api.request from analytics-events and the other *-events
topics stored once each (a redelivery changes nothing), personal fields left out, events
without an org skipped, and partitions made ahead and dropped whole past retention."""
import datetime as dt

from analyticskit import Analytics, iso, now
from platform_client import eventually, new_id


def test_api_requests_are_stored_once_each_and_queryable(stack):
    a = Analytics(stack)
    ids = [a.api_request(principal=f"usr_{i % 3}", route="users" if i % 2 else "search",
                         status=200 if i < 8 else 500, latency_ms=float(i)) for i in range(10)]
    a.redeliver(ids[0])  # the same events delivered again
    a.redeliver(ids[1])
    a.wait_stored(10)
    q = {"from": iso(now() - dt.timedelta(hours=1)), "to": iso(now() + dt.timedelta(hours=1)),
         "events": ["api.request"], "breakdown": ["status"],
         "metrics": [{"op": "count"}, {"op": "unique", "property": "principal"},
                     {"op": "max", "property": "latency_ms"}]}
    rows = {r["breakdown"]["status"]: r for r in a.rows(q)}
    assert rows["200"]["count"] == 8 and rows["500"]["count"] == 2
    assert rows["200"]["unique_principal"] == 3 and rows["500"]["max_latency_ms"] == 9
    assert a.stored() == 10  # the redelivered ones did not add rows


def test_fleet_events_keep_ids_and_leave_personal_data_out(stack):
    a = Analytics(stack)
    user = new_id("usr")
    stack.produce_event("user-events", user, "com.techcorp.user.created", f"/users/{user}",
                        {"id": user, "org_id": a.org_id, "email": "ann@example.com",
                         "name": "Ann", "role": "editor", "status": "invited", "version": 1,
                         "created_at": iso(now()), "updated_at": iso(now()), "deleted_at": None})
    stack.produce_event("user-events", a.org_id, "com.techcorp.org.created",
                        f"/orgs/{a.org_id}", {"id": a.org_id, "name": "Acme", "plan": "free",
                                              "version": 1, "created_at": iso(now()),
                                              "updated_at": iso(now())})
    # each by name: the invitation auth sends for this user (notification-events) is stored in
    # the org too, and may arrive before org.created
    a.wait_stored(1, "user.created")
    a.wait_stored(1, "org.created")
    row = stack.sql("analytics", "SELECT distinct_id, properties::text FROM events WHERE"
                                 f" org_id = '{a.org_id}' AND name = 'user.created'")
    person, props = row.split("|", 1)
    assert person == user
    assert "ann@example.com" not in props and "Ann" not in props and '"editor"' in props
    assert a.stored("org.created") == 1


def test_an_event_without_an_org_is_skipped_not_stored(stack):
    a = Analytics(stack)
    req = new_id("req")
    stack.produce_event("analytics-events", "anonymous", "com.techcorp.api.request",
                        f"/requests/{req}",
                        {"request_id": req, "org_id": None, "principal": None,
                         "principal_type": "anonymous", "route": "jwks", "method": "GET",
                         "status": 200, "latency_ms": 1, "bytes_in": 0, "bytes_out": 1,
                         "occurred_at": iso(now())})
    a.api_request()  # after it on another key: once this is stored, the other was handled
    a.wait_stored(1)
    assert stack.sql("analytics", "SELECT count(*) FROM events WHERE properties->>'request_id'"
                                  f" = '{req}'") == "0"


def test_partitions_cover_the_retention_and_old_ones_are_dropped_whole(stack):
    parts = stack.sql("analytics", "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON"
                                   " c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass")
    names = set(parts.split())
    here = now()
    ahead = (here.replace(day=1) + dt.timedelta(days=95)).strftime("events_p%Y%m")
    edge = (here - dt.timedelta(days=729)).strftime("events_p%Y%m")
    assert {here.strftime("events_p%Y%m"), ahead, edge} <= names, sorted(names)
    # a month long past retention, with a row in it: the job drops the partition whole
    stack.sql("analytics", "CREATE TABLE events_p200001 PARTITION OF events FOR VALUES FROM"
                           " ('2000-01-01') TO ('2000-02-01');"
                           " INSERT INTO events (org_id, id, name, occurred_at, source) VALUES"
                           " ('org_old', 'e1', 'x', '2000-01-15', 'capture')")
    eventually(lambda: stack.sql("analytics", "SELECT to_regclass('events_p200001')") == "",
               timeout=30, what="the expired partition dropped")
