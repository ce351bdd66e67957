"""Canary routing: the split follows the weight, a caller stays on one side, testers force a
side with X-Canary, the weight changes at run time, and the metrics tell the groups apart."""
import pytest

from platform_client import new_id

N = 2000


@pytest.fixture
def canary_weight(gw):
    """Sets the canary upstream's weight for a test; back to the file's 25 afterwards."""
    def set_weight(w):
        r = gw.admin("PUT", "/admin/upstreams/canary/canary", json={"weight": w})
        assert r.status_code == 200, r.text
        return r.json()
    yield set_weight
    set_weight(25)


def served_by(r):
    assert r.status_code == 200, r.text
    return r.json()["server"]


def split(gw, n, weight_hint=""):
    """n anonymous callers with distinct addresses (through the trusted proxy)."""
    canary = 0
    for i in range(n):
        ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        r = gw.get("/t/canary", via_proxy=True, headers={"X-Forwarded-For": ip})
        canary += served_by(r) == "echo-b"
    return 100.0 * canary / n


def test_split_follows_the_weight(gw, ups, canary_weight):
    pct = split(gw, N)
    assert abs(pct - 25) <= 3, pct  # test.json: weight 25
    canary_weight(5)
    pct = split(gw, N)
    assert abs(pct - 5) <= 3, pct
    canary_weight(0)
    assert split(gw, 200) == 0
    canary_weight(100)
    assert split(gw, 200) == 100


def test_assignment_is_sticky_per_user(gw, ups, tokens, canary_weight):
    canary_weight(50)
    sides = {}
    for _ in range(20):
        tok = tokens.mint(sub=new_id("usr"))
        seen = {served_by(gw.get("/t/canary", token=tok)) for _ in range(10)}
        assert len(seen) == 1, seen  # one user, one version
        sides[tok] = seen.pop()
    assert set(sides.values()) == {"echo-a", "echo-b"}  # and users do land on both sides
    # raising the weight only moves users towards the canary
    canary_weight(80)
    for tok, side in sides.items():
        if side == "echo-b":
            assert served_by(gw.get("/t/canary", token=tok)) == "echo-b"


def test_anonymous_callers_are_sticky_by_address(gw, ups):
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
        seen = {served_by(gw.get("/t/canary", via_proxy=True, headers={"X-Forwarded-For": ip}))
                for _ in range(5)}
        assert len(seen) == 1


def test_x_canary_header_overrides(gw, ups, tokens, canary_weight):
    canary_weight(0)
    tok = tokens.mint()
    assert served_by(gw.get("/t/canary", token=tok, headers={"X-Canary": "always"})) == "echo-b"
    assert served_by(gw.get("/t/canary", token=tok)) == "echo-a"
    canary_weight(100)
    assert served_by(gw.get("/t/canary", token=tok, headers={"X-Canary": "never"})) == "echo-a"
    # the header is for the gateway, never for the service
    assert "x-canary" not in ups["echo-a"].seen("/t/canary")[-1]["headers"]


def test_metrics_per_group(gw, ups, canary_weight):
    def count(group, cls="2xx"):
        return gw.metric("gateway_upstream_requests_total", upstream="canary", group=group,
                         **{"class": cls})

    stable0, canary0 = count("stable"), count("canary")
    canary_weight(100)
    for _ in range(7):
        gw.get("/t/canary")
    gw.get("/t/canary?status=500")
    assert count("canary") == canary0 + 7
    assert count("canary", "5xx") >= 1
    assert count("stable") == stable0
    buckets = gw.metric("gateway_upstream_duration_seconds_count", upstream="canary",
                        group="canary")
    assert buckets >= 8
