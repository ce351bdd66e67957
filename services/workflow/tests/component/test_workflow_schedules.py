"""workflow schedule triggers: the schedules API (validation, tenancy, roles, the per-workflow
limit, pause and resume), executions started at the scheduled times (six-field expressions
fire every second or two, so these run in seconds), the three overlap policies, a time zone's
next time, and the plan a scheduled start counts against (auth's org_plan_changed over the
plan of the schedule's author). Answers are checked against proto/openapi/workflow.yaml."""
import datetime
import time
from zoneinfo import ZoneInfo

import pytest

from platform_client import assert_error, eventually, new_id
from wfkit import Wf, machine

PASS = machine({"Done": {"Type": "Pass", "End": True}})


def wait_state(seconds):
    return machine({"Hold": {"Type": "Wait", "Seconds": seconds, "End": True}})


def schedule(me, wf_id, **body):
    r = me("POST", f"/v1/workflows/{wf_id}/schedules", body)
    assert r.status_code == 201, r.text
    return r.json()


def scheduled_runs(me, wf_id):
    r = me("GET", f"/v1/workflows/{wf_id}/executions?limit=100")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["trigger"] == "schedule"]


def parse(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_a_schedule_is_created_read_listed_paused_resumed_and_deleted(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    s = schedule(me, wf["id"], cron="0 9 * * MON-FRI")
    assert s["id"].startswith("sch_") and s["workflow_id"] == wf["id"]
    assert (s["timezone"], s["overlap_policy"], s["jitter_seconds"], s["catchup_window_seconds"],
            s["enabled"], s["input"], s["name"]) == ("UTC", "skip", 0, 60, True, {}, "")
    assert s["last_run_at"] is None and s["last_skip"] is None and s["buffered_run_at"] is None
    nxt = parse(s["next_run_at"])
    assert nxt > datetime.datetime.now(datetime.timezone.utc)
    assert (nxt.hour, nxt.minute, nxt.second) == (9, 0, 0) and nxt.weekday() < 5
    assert me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").json() == s
    listed = me("GET", f"/v1/workflows/{wf['id']}/schedules").json()
    assert [x["id"] for x in listed["data"]] == [s["id"]] and listed["next_cursor"] is None

    r = me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["next_run_at"] is None
    r = me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}",
           {"enabled": True, "input": {"k": 1}, "name": "weekdays"})
    assert r.status_code == 200, r.text
    assert r.json()["next_run_at"] == s["next_run_at"] and r.json()["input"] == {"k": 1}
    assert r.json()["name"] == "weekdays"

    assert me("DELETE", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").status_code == 204
    assert_error(me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}"), 404, "not_found")
    assert_error(me("DELETE", f"/v1/workflows/{wf['id']}/schedules/{s['id']}"), 404)


def test_bad_schedules_are_refused_with_every_problem_named(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    r = me("POST", f"/v1/workflows/{wf['id']}/schedules",
           {"cron": "0 24 * * *", "timezone": "Mars/Olympus_Mons", "jitter_seconds": 4000,
            "overlap_policy": "queue", "catchup_window_seconds": -1, "color": "red"})
    err = assert_error(r, 422, "validation_failed")
    fields = {d["field"] for d in err["details"]}
    assert fields == {"cron", "timezone", "jitter_seconds", "overlap_policy",
                      "catchup_window_seconds", "color"}, err
    err = assert_error(me("POST", f"/v1/workflows/{wf['id']}/schedules", {"cron": "0 0 30 2 *"}),
                       422, "validation_failed")
    assert "ten years" in err["details"][0]["message"]
    err = assert_error(me("POST", f"/v1/workflows/{wf['id']}/schedules", {}), 422)
    assert [d["field"] for d in err["details"]] == ["cron"]
    s = schedule(me, wf["id"], cron="@daily")
    assert_error(me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {}), 422)
    assert_error(me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}",
                    {"cron": "0 0 31 4 *"}), 422, "validation_failed")
    # the refused change changed nothing
    assert me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").json()["cron"] == "@daily"


def test_schedules_are_the_orgs_own_and_editors_write_them(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    s = schedule(me, wf["id"], cron="@hourly")
    other = Wf(stack)
    assert_error(other("GET", f"/v1/workflows/{wf['id']}/schedules"), 404, "not_found")
    assert_error(other("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}"), 404)
    assert_error(other("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}",
                       {"enabled": False}), 404)
    assert_error(other("DELETE", f"/v1/workflows/{wf['id']}/schedules/{s['id']}"), 404)
    viewer = Wf(stack, org_id=me.org_id, role="viewer")
    assert viewer("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").status_code == 200
    assert_error(viewer("POST", f"/v1/workflows/{wf['id']}/schedules", {"cron": "@daily"}), 403)
    assert_error(viewer("DELETE", f"/v1/workflows/{wf['id']}/schedules/{s['id']}"), 403)
    assert_error(me("GET", f"/v1/workflows/{new_id('wf')}/schedules"), 404)
    assert_error(me("POST", f"/v1/workflows/{new_id('wf')}/schedules", {"cron": "@daily"}), 404)


def test_a_workflow_has_at_most_20_schedules_and_takes_them_along_when_deleted(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    ids = [schedule(me, wf["id"], cron=f"{i} 3 * * *")["id"] for i in range(20)]
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/schedules", {"cron": "@daily"}), 422,
                 "schedule_limit_exceeded")
    page = me("GET", f"/v1/workflows/{wf['id']}/schedules?limit=15").json()
    rest = me("GET", f"/v1/workflows/{wf['id']}/schedules?limit=15&cursor="
                     f"{page['next_cursor']}").json()
    assert [x["id"] for x in page["data"] + rest["data"]] == sorted(ids)
    assert me("DELETE", f"/v1/workflows/{wf['id']}").status_code == 204
    assert stack.sql("workflow", f"SELECT count(*) FROM schedules WHERE workflow_id = "
                                 f"'{wf['id']}'") == "0"


def test_scheduled_times_start_executions_with_the_schedules_input(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    s = schedule(me, wf["id"], cron="*/2 * * * * *", input={"from": "schedule"})
    runs = eventually(lambda: (lambda r: r if len(r) >= 2 else None)(
        scheduled_runs(me, wf["id"])), timeout=15, what="two scheduled executions")
    for ex in runs:
        assert ex["schedule_id"] == s["id"] and ex["started_by"] is None
        assert ex["input"] == {"from": "schedule"}
        at = parse(ex["scheduled_at"])
        assert at.second % 2 == 0 and at.microsecond == 0
        # it started at its time (no jitter): not before it
        assert parse(ex["started_at"]) >= at
    assert len({ex["scheduled_at"] for ex in runs}) == len(runs)
    assert all(me.wait(ex["id"])["status"] == "SUCCEEDED" for ex in runs)
    got = me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").json()
    assert got["last_execution_id"] is not None and got["last_run_at"] is not None
    # paused: nothing more starts
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    time.sleep(0.6)  # a firer's hold that began before the pause commits first
    before = len(scheduled_runs(me, wf["id"]))
    time.sleep(3)
    assert len(scheduled_runs(me, wf["id"])) == before


def running_at_once(me, wf_id, seconds):
    """The most executions of the workflow seen RUNNING at once, sampled for `seconds`."""
    most, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        r = me("GET", f"/v1/workflows/{wf_id}/executions?status=RUNNING&limit=100")
        most = max(most, len(r.json()["data"]))
        time.sleep(0.1)
    return most


def test_overlap_skip_starts_nothing_while_the_last_one_runs(stack):
    me = Wf(stack)
    wf = me.create(wait_state(3))
    s = schedule(me, wf["id"], cron="* * * * * *", overlap_policy="skip")
    assert running_at_once(me, wf["id"], 5) == 1
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    got = me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").json()
    assert got["last_skip"]["reason"] == "overlap", got
    runs = scheduled_runs(me, wf["id"])
    assert 1 <= len(runs) <= 3, runs  # one per ~3 s, the others skipped


def test_overlap_buffer_one_starts_the_kept_time_when_the_last_one_stops(stack):
    me = Wf(stack)
    wf = me.create(wait_state(2))
    s = schedule(me, wf["id"], cron="* * * * * *", overlap_policy="buffer_one")
    assert running_at_once(me, wf["id"], 6) == 1
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    runs = sorted(scheduled_runs(me, wf["id"]), key=lambda e: e["scheduled_at"])
    assert len(runs) >= 2, runs
    # the second started when the first stopped, for the time buffered while it ran (which
    # came well before it started)
    first, second = me.wait(runs[0]["id"]), runs[1]
    assert parse(second["scheduled_at"]) < parse(first["stopped_at"])
    assert parse(second["started_at"]) >= parse(first["stopped_at"])
    assert parse(second["started_at"]) - parse(second["scheduled_at"]) > \
        datetime.timedelta(milliseconds=500)


def test_overlap_allow_all_runs_them_side_by_side(stack):
    me = Wf(stack)
    wf = me.create(wait_state(3))
    s = schedule(me, wf["id"], cron="* * * * * *", overlap_policy="allow_all")
    assert running_at_once(me, wf["id"], 4) >= 2
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})


def test_the_next_time_is_on_the_zones_wall_clock(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    for zone in ("Europe/Berlin", "America/New_York", "Asia/Kolkata"):
        s = schedule(me, wf["id"], cron="30 9 * * *", timezone=zone)
        local = parse(s["next_run_at"]).astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (9, 30), (zone, s["next_run_at"])
        assert local - datetime.datetime.now(ZoneInfo(zone)) <= datetime.timedelta(days=1)


def jitter_ms(schedule_id, scheduled_s, jitter_s):
    """schedule_model.c's spread: FNV-1a over the id and the time's 8 bytes (little end
    first), murmur3's finalizer, modulo the window in milliseconds."""
    mask = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for b in schedule_id.encode() + scheduled_s.to_bytes(8, "little"):
        h = ((h ^ b) * 0x100000001b3) & mask
    for shift, mul in ((33, 0xff51afd7ed558ccd), (33, 0xc4ceb9fe1a85ec53)):
        h = ((h ^ (h >> shift)) * mul) & mask
    h ^= h >> 33
    return h % (jitter_s * 1000 + 1)


def test_jitter_delays_each_time_by_its_share_of_the_bound(stack):
    me = Wf(stack)
    wf = me.create(PASS)
    s = schedule(me, wf["id"], cron="*/3 * * * * *", jitter_seconds=2)
    runs = eventually(lambda: (lambda r: r if len(r) >= 3 else None)(
        scheduled_runs(me, wf["id"])), timeout=20, what="three scheduled executions")
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    for e in runs:
        at = parse(e["scheduled_at"])
        want = jitter_ms(s["id"], int(at.timestamp()), 2) / 1000
        delay = (parse(e["started_at"]) - at).total_seconds()
        # not before its jitter; after it by a firer's tick and a start at most
        assert want - 0.01 <= delay < want + 1.5, (delay, want, e["scheduled_at"])


def test_a_scheduled_start_counts_against_the_plan_auth_announced(stack):
    # the schedule's author holds a professional token; auth says the org is on starter,
    # whose 5,000 executions this month are used up: the time is skipped, not started
    me = Wf(stack, plan="professional")
    wf = me.create(PASS)
    stack.produce_event("auth-events", me.org_id, "com.techcorp.auth.org_plan_changed",
                        f"/orgs/{me.org_id}",
                        {"org_id": me.org_id, "plan": "starter", "previous_plan": "professional",
                         "plan_version": 2, "occurred_at": "2026-12-01T00:00:00Z"})
    # an older change arriving late does not move the plan back
    late = stack.produce_event("auth-events", me.org_id, "com.techcorp.auth.org_plan_changed",
                        f"/orgs/{me.org_id}",
                        {"org_id": me.org_id, "plan": "enterprise", "previous_plan": "starter",
                         "plan_version": 1, "occurred_at": "2026-11-01T00:00:00Z"})
    eventually(lambda: stack.sql("workflow", "SELECT count(*) FROM processed_events WHERE"
                                             " consumer_group = 'workflow.plans' AND event_id ="
                                             f" '{late}'") == "1",
               what="the late plan change handled")
    assert stack.sql("workflow", f"SELECT plan || '/' || plan_version FROM org_plans WHERE "
                                 f"org_id = '{me.org_id}'") == "starter/2"
    month = datetime.datetime.now(datetime.timezone.utc).date().replace(day=1).isoformat()
    stack.sql("workflow", f"INSERT INTO execution_counts VALUES ('{me.org_id}', '{month}', 5000)"
                          f" ON CONFLICT (org_id, month) DO UPDATE SET executions = 5000")
    s = schedule(me, wf["id"], cron="* * * * * *")
    got = eventually(lambda: (lambda g: g if g["last_skip"] else None)(
        me("GET", f"/v1/workflows/{wf['id']}/schedules/{s['id']}").json()), timeout=10,
        what="a skipped time")
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    assert got["last_skip"]["reason"] == "plan_limit", got
    assert scheduled_runs(me, wf["id"]) == []


def test_a_jitter_change_keeps_a_time_that_has_come_but_not_fired(stack):
    me = Wf(stack)
    # the time must not fire before the change below: a schedule whose first time draws a
    # jitter under 30 s of the hour's window (1 in 120) is paused, and another workflow's drawn
    for _ in range(8):
        wf = me.create(PASS)
        s = schedule(me, wf["id"], cron="*/10 * * * * *", jitter_seconds=3600)
        due = parse(s["next_run_at"])
        if jitter_ms(s["id"], int(due.timestamp()), 3600) > 30000:
            break
        r = me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
        assert r.status_code == 200, r.text
    else:
        pytest.fail("eight short jitters in a row: the spread is not what jitter_ms computes")
    time.sleep(max(0.0, (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1)
    r = me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"jitter_seconds": 0})
    assert r.status_code == 200, r.text
    assert r.json()["next_run_at"] == s["next_run_at"]  # the come-but-unfired time is kept
    runs = eventually(lambda: scheduled_runs(me, wf["id"]), timeout=10,
                      what="the kept time started")
    me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
    assert runs[-1]["scheduled_at"] == s["next_run_at"], runs
    # a pause with an expression that names no time is still refused
    assert_error(me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}",
                    {"enabled": False, "cron": "0 0 30 2 *"}), 422, "validation_failed")
