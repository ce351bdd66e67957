"""Dependencies going away under a steady write load through the gateway: the Kafka brokers,
PostgreSQL and Redis. No service crashes or hangs, readiness tells the truth while the
dependency is gone (a hard dependency makes /ready 503; the gateway degrades instead), errors
are 503 in the platform format, and once the dependency is back nothing acknowledged is
missing and every committed change reached auth exactly once."""
import time

import faultkit
from faultkit import Load, check_answers, ready, verify_no_loss

OUTAGE_S = 10


def wait_status(stack, svc, code, what, **checks):
    """Polls svc's /ready until it answers `code` with body["checks"][name] satisfying each
    predicate in `checks`; returns the body."""
    def probe():
        status, body = ready(stack, svc)
        if status != code or not isinstance(body, dict):
            return None
        if not all(pred(body["checks"].get(name)) for name, pred in checks.items()):
            return None
        return body
    return faultkit.eventually(probe, timeout=30, interval=0.2,
                               what=f"{svc} /ready {code} ({what})")


def failing(v):
    return v is not None and v != "ok"


def all_ready(stack):
    for svc in faultkit.FLEET:
        body = wait_status(stack, svc, 200, "recovered")
        assert body["status"] == "ready", (svc, body)
        assert all(v == "ok" for v in body["checks"].values()), (svc, body)


def run_outage(stack, org, tag, take_down, bring_back, while_down, hold=OUTAGE_S):
    """The load runs; take_down(); while_down() checks readiness; the outage lasts `hold`
    seconds from take_down; bring_back(); the load runs on until requests succeed again.
    Returns (load, t_down, t_back)."""
    before = faultkit.pids(stack)
    load = Load(stack, org, tag=tag).start()
    try:
        load.wait_calls(20)
        t0 = time.time()
        take_down()
        while_down()
        left = t0 + hold - time.time()
        if left > 0:
            time.sleep(left)
        bring_back()
        t1 = time.time()
        all_ready(stack)
        load.wait_calls(20)
        # recovered means recovered: no request fails on what the outage left behind (a
        # pooled connection the dependency closed when it went away)
        after = load.burst()
    finally:
        load.stop()
    check_answers(after, allowed=set())
    assert faultkit.pids(stack) == before, "a service crashed or restarted during the outage"
    check_answers([c for c in load.calls if c.t_done < t0], allowed=set())  # all was well
    assert load.in_window(t0, t1), "no request was made during the outage"
    return load, t0, t1


def test_kafka_brokers_down_for_10s(stack, org, healed):
    """Kafka is a hard dependency of user and auth (/ready 503) and a degradable one of the
    gateway (200 "degraded"). Writes go through the transactional outbox, so they keep being
    acknowledged while the brokers are down; the relay publishes them afterwards."""
    def while_down():
        wait_status(stack, "user", 503, "kafka down", kafka=failing)
        wait_status(stack, "auth", 503, "kafka down", kafka=failing)
        body = wait_status(stack, "gateway", 200, "kafka down", kafka=failing)
        assert body["status"] == "degraded", body

    load, t0, t1 = run_outage(stack, org, "kafka", lambda: stack.broker(down=True),
                              lambda: stack.broker(down=False), while_down)
    check_answers(load.calls, allowed=set())  # every write acknowledged, outage or not
    verify_no_loss(stack, load)


def test_postgresql_restart(stack, org, healed):
    """PostgreSQL stopped (pg_ctl stop -m fast) and started again the way the stack starts
    it: user and auth report not ready, writes fail fast with 503 (never hang, never crash),
    the pools reconnect, and nothing acknowledged before or after is lost."""
    def while_down():
        wait_status(stack, "user", 503, "database down", database=failing)
        wait_status(stack, "auth", 503, "database down", database=failing)
        status, body = ready(stack, "gateway")  # owns no database
        assert status == 200 and body["status"] == "ready", body

    load, t0, t1 = run_outage(stack, org, "pg", lambda: faultkit.pg_stop(stack),
                              lambda: faultkit.stack_up(stack), while_down, hold=5)
    check_answers(load.calls, allowed={503})
    assert any(c.status == 503 for c in load.in_window(t0, t1)), \
        "no write noticed the database was gone"
    verify_no_loss(stack, load)


def test_postgresql_restart_costs_no_request_after_it(stack, org, healed):
    """A restart no request witnessed must not cost one afterwards. The old server closed
    every pooled connection as it went; libpq notices only at the next query, so each idle
    connection used to fail its first request with 503 although /ready said 200 and the
    database was back (libcommon tc_db now re-dials a connection the server closed)."""
    load = Load(stack, org, tag="pg-idle")
    paths = ("/v1/users?limit=1", "/v1/auth/sessions")  # user's pool and auth's
    for path in paths:  # more concurrent requests than the services have threads
        check_answers(load.burst(path=path), allowed=set())
    before = faultkit.pids(stack)
    faultkit.pg_stop(stack)
    wait_status(stack, "user", 503, "database down", database=failing)
    faultkit.stack_up(stack)
    all_ready(stack)
    for path in paths:
        check_answers(load.burst(path=path), allowed=set())
    assert faultkit.pids(stack) == before


def test_redis_down_for_10s(stack, org, healed):
    """redis-server shut down and started again with the stack's own command line: auth
    (throttling, sessions) reports not ready, the gateway degrades and keeps serving with its
    in-process rate limiter, and the user service (Redis holds only its SCIM tokens' limits,
    not enforced meanwhile) stays ready, degraded."""
    def while_down():
        wait_status(stack, "auth", 503, "redis down", redis=failing)
        body = wait_status(stack, "gateway", 200, "redis down", redis=failing)
        assert body["status"] == "degraded", body
        body = wait_status(stack, "user", 200, "redis down", redis=failing)
        assert body["status"] == "degraded", body

    load, t0, t1 = run_outage(stack, org, "redis", lambda: faultkit.redis_stop(stack),
                              lambda: faultkit.stack_up(stack), while_down)
    check_answers(load.calls, allowed=set())  # the gateway fails open: nothing refused
    verify_no_loss(stack, load)
