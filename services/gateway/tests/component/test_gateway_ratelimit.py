"""Plan rate limits (GCRA per minute + daily quota, per org, in Redis), per-IP limits for
routes without authentication, the RateLimit-* headers, and failing open when Redis stops."""
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from platform_client import assert_error, new_id

SEED_PLANS = {"free": 100, "starter": 500, "professional": 2000, "enterprise": 10000}


def burst(gw, token, n, path="/t/limited"):
    return [gw.get(path, token=token) for _ in range(n)]


def test_headers_follow_the_plan_claim(gw, ups, tokens):
    for plan, per_minute in SEED_PLANS.items():
        r = gw.get("/t/limited", token=tokens.mint(plan=plan))
        assert r.status_code == 200, (plan, r.text)
        assert int(r.headers["RateLimit-Limit"]) == per_minute, plan
        assert int(r.headers["RateLimit-Remaining"]) == per_minute - 1, plan
        assert int(r.headers["RateLimit-Reset"]) >= 1


def test_default_plan_is_free(gw, ups, tokens):
    r = gw.get("/t/limited", token=tokens.mint())  # no plan claim
    assert r.headers["RateLimit-Limit"] == "100"
    r = gw.get("/t/limited", token=tokens.mint(plan="platinum"))  # not a configured plan
    assert r.headers["RateLimit-Limit"] == "100"


def test_free_plan_burst_limit_and_recovery(gw, ups, tokens):
    tok = tokens.mint(plan="free")  # 100 per minute, burst 100: one cell every 0.6 s
    t0 = time.time()
    remaining = []
    while True:
        r = gw.get("/t/limited", token=tok)
        if r.status_code != 200:
            break
        remaining.append(int(r.headers["RateLimit-Remaining"]))
        assert len(remaining) <= 200
    elapsed = time.time() - t0
    # the whole burst, plus the cells that refilled while the burst was being sent
    assert 100 <= len(remaining) <= 100 + int(elapsed / 0.6) + 1, (len(remaining), elapsed)
    assert remaining[0] == 99 and remaining[-1] == 0
    err = assert_error(r, 429, "rate_limit_exceeded")
    assert "100 requests/minute" in err["message"]
    assert r.headers["Retry-After"] == "1"
    assert r.headers["RateLimit-Remaining"] == "0"
    refused = time.time()
    time.sleep(0.7)
    # a cell refills every 0.6 s: at least one request passes now, and no more than the cells
    # that refilled by the last one (counted, not assumed: a loaded machine may stall between
    # two requests long enough for a second cell)
    passed = 0
    while (r := gw.get("/t/limited", token=tok)).status_code == 200:
        passed += 1
        assert passed <= 10
    refilled = int((time.time() - refused) / 0.6) + 1
    assert 1 <= passed <= refilled, (passed, refilled)
    assert_error(r, 429, "rate_limit_exceeded")
    assert len(ups["echo-a"].seen("/t/limited")) == len(remaining) + passed


def concurrent_gets(gw, tokens_for_each, path="/t/limited", workers=48):
    """One GET per token in the list, from `workers` keep-alive connections at once (the
    gateway then sees many requests of one org in the same event-loop turn)."""
    local = threading.local()

    def one(tok):
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s.get(gw.url(path), headers={"Authorization": f"Bearer {tok}"}, timeout=15)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, tokens_for_each))


def test_concurrent_requests_of_one_org_share_one_burst(gw, ups, tokens):
    """Requests of one org arriving together are decided together by one script run: each
    admitted request takes its own cell (its own RateLimit-Remaining), exactly the burst is
    admitted (plus cells refilled meanwhile), and every refusal is a complete 429."""
    tok = tokens.mint(plan="free")  # burst 100, one cell every 0.6 s
    t0 = time.time()
    rs = concurrent_gets(gw, [tok] * 160)
    elapsed = time.time() - t0
    ok = [r for r in rs if r.status_code == 200]
    refused = [r for r in rs if r.status_code == 429]
    assert len(ok) + len(refused) == 160, sorted({r.status_code for r in rs})
    refills = int(elapsed / 0.6) + 1
    assert 100 <= len(ok) <= 100 + refills, (len(ok), elapsed)
    remaining = sorted(int(r.headers["RateLimit-Remaining"]) for r in ok)
    # one cell each: the values are distinct but for cells that refilled in between
    assert len(set(remaining)) >= len(ok) - refills, remaining
    assert remaining[0] == 0 and remaining[-1] == 99, remaining
    for r in refused:
        assert_error(r, 429, "rate_limit_exceeded")
        assert r.headers["RateLimit-Remaining"] == "0"
        assert int(r.headers["Retry-After"]) >= 1
    assert len(ups["echo-a"].seen("/t/limited")) >= len(ok)


def test_concurrent_orgs_keep_their_own_limits(gw, ups, tokens):
    a, b = tokens.mint(plan="free"), tokens.mint(plan="starter")  # bursts 100 and 500
    rs = concurrent_gets(gw, [a, b] * 120)
    by_org = {"a": [r for r in rs[0::2]], "b": [r for r in rs[1::2]]}
    ok_a = sum(r.status_code == 200 for r in by_org["a"])
    assert 100 <= ok_a <= 110, ok_a
    assert all(r.status_code == 200 for r in by_org["b"]), "org b's starter burst is its own"
    assert {r.headers["RateLimit-Limit"] for r in by_org["b"]} == {"500"}


def test_limits_are_per_org(gw, ups, tokens):
    org = new_id("org")
    a, b = tokens.mint(org=org, plan="tiny"), tokens.mint(org=org, plan="tiny")
    assert [r.status_code for r in burst(gw, a, 3) + burst(gw, b, 2)] == [200] * 5
    assert gw.get("/t/limited", token=b).status_code == 429  # same org, same bucket
    other = tokens.mint(plan="tiny")
    assert gw.get("/t/limited", token=other).status_code == 200


def test_tiny_plan_retry_after(gw, ups, tokens):
    tok = tokens.mint(plan="tiny")  # 5 per minute: one every 12 s
    assert [r.status_code for r in burst(gw, tok, 5)] == [200] * 5
    r = gw.get("/t/limited", token=tok)
    assert r.status_code == 429
    assert 11 <= int(r.headers["Retry-After"]) <= 12
    assert "5 requests/minute" in r.json()["error"]["message"]


def test_daily_quota(gw, ups, tokens):
    tok = tokens.mint(plan="daily")  # 1000/min but 3 per day
    rs = burst(gw, tok, 3)
    assert [r.status_code for r in rs] == [200] * 3
    assert rs[0].headers["RateLimit-Limit"] == "3"  # the quota is what runs out first
    assert [r.headers["RateLimit-Remaining"] for r in rs] == ["2", "1", "0"]
    r = gw.get("/t/limited", token=tok)
    err = assert_error(r, 429, "rate_limit_exceeded")
    assert "daily quota of 3" in err["message"]
    retry = int(r.headers["Retry-After"])
    now = time.time()
    assert 0 < retry <= 86400
    assert abs(retry - (86400 - now % 86400)) < 5  # until the next UTC midnight
    assert len(ups["echo-a"].seen("/t/limited")) == 3


def test_ip_limit_for_routes_without_auth(gw, ups):
    client = f"198.51.100.{int(time.time()) % 250 + 1}"
    h = {"X-Forwarded-For": client}
    rs = [gw.get("/t/ip", headers=h, via_proxy=True) for _ in range(10)]
    assert [r.status_code for r in rs] == [200] * 10
    assert rs[0].headers["RateLimit-Limit"] == "60"
    assert_error(gw.get("/t/ip", headers=h, via_proxy=True), 429, "rate_limit_exceeded")
    other = {"X-Forwarded-For": "192.0.2.77, " + client.replace("100", "99")}
    assert gw.get("/t/ip", headers=other, via_proxy=True).status_code == 200


def test_metrics_count_rejections(gw, ups, tokens):
    before = gw.metric("gateway_ratelimit_rejected_total", kind="plan")
    tok = tokens.mint(plan="tiny")
    burst(gw, tok, 6)
    assert gw.metric("gateway_ratelimit_rejected_total", kind="plan") == before + 1


@pytest.fixture
def redis_stopped(stack):
    """Redis paused (SIGSTOP): it accepts connections but never answers, the hardest case.
    Always resumed, even when the test fails."""
    with open(os.path.join(stack.run_dir, "pids", "redis.pid")) as f:
        pid = int(f.readline())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def test_fail_open_when_redis_stops(gw, ups, tokens, redis_stopped):
    before = gw.metric("ratelimit_fail_open_total")
    tok = tokens.mint(plan="tiny")
    t0 = time.time()
    rs = burst(gw, tok, 8)
    elapsed = time.time() - t0
    # the in-process limiter decides (the same plan: 5 then 429), without waiting on Redis
    # for every request: at most the first ones wait RATE_LIMIT_TIMEOUT_MS (200 ms)
    assert [r.status_code for r in rs[:5]] == [200] * 5, [r.text for r in rs]
    assert all(r.status_code == 429 for r in rs[5:])
    assert elapsed < 3, elapsed
    assert gw.metric("ratelimit_fail_open_total") >= before + 8
    # still serving, so still ready: every replica leaving the load balancer because Redis
    # is down would turn a degradation into an outage
    ready = requests.get(gw.admin_base + "/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded" and ready.json()["checks"]["redis"] != "ok"


def test_redis_is_used_again_after_it_returns(gw, ups, tokens, stack):
    with open(os.path.join(stack.run_dir, "pids", "redis.pid")) as f:
        pid = int(f.readline())
    os.kill(pid, signal.SIGSTOP)
    try:
        burst(gw, tokens.mint(), 3)
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.time() + 15
    while True:  # the workers redial with backoff (at most 5 s)
        before = gw.metric("ratelimit_fail_open_total")
        burst(gw, tokens.mint(), 4)
        if gw.metric("ratelimit_fail_open_total") == before:
            break
        assert time.time() < deadline, "still failing open after Redis came back"
        time.sleep(0.5)


def test_redis_losing_its_script_cache_is_survived(gw, ups, tokens, stack):
    """A Redis restart or SCRIPT FLUSH forgets the script: EVALSHA answers NOSCRIPT and the
    gateway sends the script itself (EVAL), without failing open."""
    args = ["redis-cli", "-p", os.environ.get("TC_REDIS_PORT", "57379"), "SCRIPT", "FLUSH"]
    assert subprocess.run(args, capture_output=True, text=True).stdout.strip() == "OK"
    before = gw.metric("ratelimit_fail_open_total")
    tok = tokens.mint(plan="tiny")
    assert [r.status_code for r in burst(gw, tok, 6)] == [200] * 5 + [429]
    assert gw.metric("ratelimit_fail_open_total") == before


# ---------------------------------------------------------------------- per-route limits (issue 23)

def codes(rs):
    return [r.status_code for r in rs]


def test_route_limit_per_principal_beside_the_plan(gw, ups, tokens):
    org = new_id("org")  # plan tiny: 5 a minute for the org, one more every 12 s
    alice, bob, carol = (tokens.mint(org=org, plan="tiny") for _ in range(3))
    rs = burst(gw, alice, 4, "/t/routelim")
    assert codes(rs) == [200, 200, 200, 429], [r.text for r in rs]
    # the route's limit (3) runs out before the plan's (5), so the headers describe it
    assert [r.headers["RateLimit-Limit"] for r in rs] == ["3"] * 4
    assert [r.headers["RateLimit-Remaining"] for r in rs] == ["2", "1", "0", "0"]
    err = assert_error(rs[3], 429, "rate_limit_exceeded")
    assert "3 requests/minute of route t-route-limited" in err["message"]
    assert int(rs[3].headers["Retry-After"]) >= 1
    # another user of the same org has a limit of their own on this route
    assert gw.get("/t/routelim", token=bob).status_code == 200
    # the refused request took nothing of the org's plan: 4 of 5 used, one left
    assert codes(burst(gw, carol, 2)) == [200, 429]
    assert len(ups["echo-a"].seen("/t/routelim")) + len(ups["echo-b"].seen("/t/routelim")) == 4


def test_route_limit_per_org_and_the_plan_still_applies(gw, ups, tokens):
    org = new_id("org")
    rs = burst(gw, tokens.mint(org=org), 2, "/t/routeorg") + \
        burst(gw, tokens.mint(org=org), 3, "/t/routeorg")
    assert codes(rs) == [200] * 4 + [429]
    assert gw.get("/t/routeorg", token=tokens.mint()).status_code == 200  # another org
    # a tiny plan (5/min) with this route (4/min): the plan's own limit still refuses
    tiny = tokens.mint(plan="tiny")
    assert codes(burst(gw, tiny, 2, "/t/limited") + burst(gw, tiny, 4, "/t/routeorg")) == \
        [200] * 5 + [429]


def test_route_limit_per_address_on_open_routes(gw, ups):
    client = f"198.51.101.{int(time.time() * 7) % 250 + 1}"
    h = {"X-Forwarded-For": client}
    rs = [gw.get("/t/routeip", headers=h, via_proxy=True) for _ in range(3)]
    assert codes(rs) == [200, 200, 429]
    assert rs[0].headers["RateLimit-Limit"] == "2"
    other = {"X-Forwarded-For": client.replace("101", "102")}
    assert gw.get("/t/routeip", headers=other, via_proxy=True).status_code == 200


def test_route_rejections_are_counted_by_kind(gw, ups, tokens):
    before = gw.metric("gateway_ratelimit_rejected_total", kind="route")
    burst(gw, tokens.mint(), 5, "/t/routelim")
    assert gw.metric("gateway_ratelimit_rejected_total", kind="route") == before + 2


def test_route_limit_holds_while_failing_open(gw, ups, tokens, redis_stopped):
    rs = burst(gw, tokens.mint(), 5, "/t/routelim")
    assert codes(rs) == [200, 200, 200, 429, 429], [r.text for r in rs]
    assert "of route t-route-limited" in rs[3].json()["error"]["message"]
