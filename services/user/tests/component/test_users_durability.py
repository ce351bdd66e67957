"""user service under the conditions production brings: concurrent writers during a
pagination walk, a kill -9 between commit and publish, and the retention purge."""
import json
import os
import secrets
import signal
import time

import pytest
import requests

from platform_client import assert_error


def test_pagination_walks_every_row_once_while_rows_are_inserted(stack, org):
    initial = {org.owner["id"]}
    for _ in range(40):
        initial.add(org.invite("viewer")["id"])
    seen = []
    cursor = None
    pages = 0
    while True:
        path = "/v1/users?limit=7" + (f"&cursor={cursor}" if cursor else "")
        r = stack.call("GET", "user", path, token=org.owner_token)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [u["id"] for u in body["data"]]
        pages += 1
        org.invite("editor")  # a writer keeps inserting while we walk
        cursor = body["next_cursor"]
        if not cursor:
            break
        assert pages < 50
    assert len(seen) == len(set(seen)), "no row twice"
    assert initial <= set(seen), "every row that existed when the walk began was visited"
    assert seen == sorted(seen), "stable order"


@pytest.mark.serial  # takes the shared broker down and kills the user service
def test_event_survives_kill_9_between_commit_and_publish(stack, schemas, org):
    stack.broker(down=True)
    try:
        u = org.invite("viewer")
        # committed and answered, but the relay cannot publish while the brokers are down
        deadline = time.time() + 10
        while time.time() < deadline:
            pending = stack.sql("user", "SELECT count(*) FROM outbox WHERE partition_key = "
                                f"'{u['id']}' AND sent_at IS NULL")
            if pending == "2":  # user.created and its audit record
                break
            time.sleep(0.1)
        assert pending == "2"
        os.kill(stack.pid("user"), signal.SIGKILL)
    finally:
        stack.broker(down=False)
    time.sleep(0.5)
    stack.stack_cmd("restart-service", "user")
    stack.wait_ready("user")
    msgs = stack.kafka_messages("user-events", key=u["id"], timeout=60,
                                until=lambda m: len(m) >= 1)
    time.sleep(1)
    msgs = stack.kafka_messages("user-events", key=u["id"], timeout=5)
    assert len(msgs) == 1, msgs
    assert msgs[0]["headers"]["ce_type"] == "com.techcorp.user.created"
    schemas.validate("com.techcorp.user.created", json.loads(msgs[0]["payload"]))
    r = stack.call("GET", "user", f"/v1/users/{u['id']}", token=org.owner_token)
    assert r.status_code == 200, "the acknowledged write survived the crash"


def test_purge_removes_only_what_is_past_retention(stack, org):
    old, recent, live = org.invite("viewer"), org.invite("viewer"), org.invite("viewer")
    for u in (old, recent):
        assert stack.call("DELETE", "user", f"/v1/users/{u['id']}",
                          token=org.owner_token).status_code == 204
    # retention is 90 days (seed 004 §4.3); back-date the deletions around that line
    stack.sql("user", "UPDATE users SET deleted_at = now() - interval '91 days' "
                      f"WHERE id = '{old['id']}'")
    stack.sql("user", "UPDATE users SET deleted_at = now() - interval '89 days' "
                      f"WHERE id = '{recent['id']}'")
    deadline = time.time() + 20
    while time.time() < deadline:
        r = stack.call("GET", "user", f"/v1/users/{old['id']}", token=org.owner_token)
        if r.status_code == 404:
            break
        time.sleep(0.2)
    assert_error(r, 404)
    r = stack.call("GET", "user", f"/v1/users/{recent['id']}", token=org.owner_token)
    assert r.status_code == 200 and r.json()["status"] == "deleted"
    r = stack.call("GET", "user", f"/v1/users/{live['id']}", token=org.owner_token)
    assert r.status_code == 200 and r.json()["status"] == "invited"
    purged = stack.kafka_messages("user-events", key=old["id"], timeout=30,
                                  until=lambda m: any(x["headers"]["ce_type"].endswith("purged")
                                                      for x in m))
    assert [m["headers"]["ce_type"] for m in purged][-1] == "com.techcorp.user.purged"


def test_purge_leaves_no_stored_idempotent_response_behind(stack, org):
    """POST /v1/users with an Idempotency-Key stores the first response (the invitee's email,
    name and profile, in clear) for replays; it must not outlive the user's retention."""
    key = "purge-" + secrets.token_hex(8)
    email = f"idem-{secrets.token_hex(6)}@example.com"
    r = stack.call("POST", "user", "/v1/users", token=org.owner_token,
                   json_body={"email": email, "name": "Ida Idem", "role": "viewer"},
                   headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    u = r.json()
    count = f"SELECT count(*) FROM idempotency_keys WHERE key = '{key}'"
    assert stack.sql("user", count) == "1"
    assert stack.call("DELETE", "user", f"/v1/users/{u['id']}",
                      token=org.owner_token).status_code == 204
    # invited long ago, deleted past retention: the key was stored when the user was created
    stack.sql("user", "UPDATE users SET created_at = now() - interval '200 days', "
                      "deleted_at = now() - interval '91 days' "
                      f"WHERE id = '{u['id']}'")
    stack.sql("user", "UPDATE idempotency_keys SET created_at = now() - interval '200 days' "
                      f"WHERE key = '{key}'")
    deadline = time.time() + 20
    while time.time() < deadline:
        r = stack.call("GET", "user", f"/v1/users/{u['id']}", token=org.owner_token)
        if r.status_code == 404 and stack.sql("user", count) == "0":
            break
        time.sleep(0.2)
    assert_error(r, 404)
    assert stack.sql("user", count) == "0", "the stored response outlived the purged user"
    leftover = stack.sql("user", "SELECT count(*) FROM idempotency_keys "
                                 f"WHERE response LIKE '%{email}%'")
    assert leftover == "0"


def test_health_ready_metrics(stack):
    assert requests.get(stack.admin_url("user", "/health"), timeout=5).status_code == 200
    ready = requests.get(stack.admin_url("user", "/ready"), timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok", "redis": "ok",
                                      "signing_keys": "ok"}
    metrics = requests.get(stack.admin_url("user", "/metrics"), timeout=5)
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.text
    for name in ("http_requests_total", "http_request_duration_seconds_bucket",
                 "events_published_total", "outbox_pending", "db_pool_in_use"):
        assert name in text, name
    assert 'route="/v1/users/{id}"' in text, "metrics are labelled by route pattern"
