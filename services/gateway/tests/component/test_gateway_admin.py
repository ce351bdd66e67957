"""The admin port: token guard, the admin API against its OpenAPI document, configuration
reloads (SIGHUP and POST /admin/reload, good and bad), /health, /ready and /metrics."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import requests

from platform_client import OpenApi, assert_error


@pytest.fixture(scope="module")
def spec(stack):
    return OpenApi(os.path.join(stack.root, "proto", "openapi", "gateway.yaml"))


def admin(gw, spec, method, path, **kw):
    r = gw.admin(method, path, **kw)
    spec.check(method, path, r)
    return r


def test_admin_api_needs_the_admin_token(gw, spec, tokens):
    for path in ("/admin/routes", "/admin/breakers"):
        assert_error(admin(gw, spec, "GET", path, token=None), 401, "unauthorized")
        assert_error(admin(gw, spec, "GET", path, token="wrong-token-wrong-token"), 401)
        # an ordinary user token is not an admin token, whatever its role
        assert_error(admin(gw, spec, "GET", path, token=tokens.mint(role="owner")), 401)
    r = admin(gw, spec, "PUT", "/admin/upstreams/canary/canary", token=None, json={"weight": 50})
    assert r.status_code == 401
    assert admin(gw, spec, "POST", "/admin/reload", token=None).status_code == 401
    # and the admin API is not reachable through the public port
    assert gw.get("/admin/routes").status_code == 404


def test_routes_and_breakers(gw, spec):
    r = admin(gw, spec, "GET", "/admin/routes")
    assert r.status_code == 200
    body = r.json()
    names = [x["name"] for x in body["routes"]]
    assert "users" in names and "t-echo" in names
    # match order: patterns first, then longest prefix
    assert names.index("t-echo-special") < names.index("t-echo")
    assert names.index("auth-login") < names.index("auth")
    users = next(x for x in body["routes"] if x["name"] == "users")
    assert users["upstream"] == "user" and users["auth"] == "required"
    assert users["route_limit"] is None and users["transform"] is None
    limited = next(x for x in body["routes"] if x["name"] == "t-route-limited")
    assert limited["route_limit"] == {"per_minute": 3, "burst": 3, "per": "principal"}
    tx = next(x for x in body["routes"] if x["name"] == "t-tx")["transform"]
    assert tx["path"] == "/internal/{file}/of/{id}"
    assert tx["request_headers"]["add"]["X-Org"] == "$(principal.org)"
    canary = next(u for u in body["upstreams"] if u["name"] == "canary")
    assert canary["canary"]["weight"] == 25
    assert body["plans"]["enterprise"]["per_day"] is None
    b = admin(gw, spec, "GET", "/admin/breakers").json()["breakers"]
    assert {"upstream": "user", "group": "stable"}.items() <= next(
        x for x in b if x["upstream"] == "user").items()


def test_canary_weight_validation(gw, spec):
    assert admin(gw, spec, "PUT", "/admin/upstreams/canary/canary",
                 json={"weight": 101}).status_code == 422
    assert admin(gw, spec, "PUT", "/admin/upstreams/canary/canary",
                 json={"weight": "10"}).status_code == 422
    assert admin(gw, spec, "PUT", "/admin/upstreams/canary/canary",
                 json={"weight": 10, "extra": 1}).status_code == 422
    assert_error(admin(gw, spec, "PUT", "/admin/upstreams/nope/canary", json={"weight": 10}),
                 404, "not_found")
    assert_error(admin(gw, spec, "PUT", "/admin/upstreams/echo/canary", json={"weight": 10}),
                 409, "no_canary")
    r = admin(gw, spec, "PUT", "/admin/upstreams/canary/canary", json={"weight": 40})
    assert r.json()["weight"] == 40 and r.json()["previous_weight"] == 25
    assert admin(gw, spec, "PUT", "/admin/upstreams/canary/canary",
                 json={"weight": 25}).status_code == 200


def test_health_ready_metrics(gw, stack):
    import requests
    assert requests.get(gw.admin_base + "/health", timeout=5).json() == {"status": "ok"}
    ready = requests.get(gw.admin_base + "/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) >= {"redis", "kafka", "signing_keys"}
    gw.get("/t/echo")
    text = requests.get(gw.admin_base + "/metrics", timeout=10).text
    for family in ("gateway_requests_total", "gateway_upstream_requests_total",
                   "gateway_upstream_duration_seconds", "gateway_breaker_state"):
        assert f"# TYPE {family} " in text, family
    if shutil.which("promtool"):
        out = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                             capture_output=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_metrics_do_not_reveal_internal_addresses(gw, ups):
    """Anyone who reaches the admin port may read /metrics (issue 24, finding 5): targets are
    labelled by group and position, never by URL; /admin/breakers (admin token) maps them."""
    gw.get("/t/echo")
    text = requests.get(gw.admin_base + "/metrics", timeout=10).text
    assert "http://" not in text
    assert "127.0.0.1:18" not in text, [l for l in text.splitlines() if "127.0.0.1:18" in l][:3]
    targets = {ls["target"] for n, ls, _ in gw.metrics() if n == "gateway_breaker_state"}
    assert targets and all(re.fullmatch(r"(stable|canary)-\d+", t) for t in targets), targets
    canary = {ls["target"] for n, ls, _ in gw.metrics()
              if n == "gateway_breaker_state" and ls["upstream"] == "canary"}
    assert canary == {"stable-0", "canary-0"}


# ---------------------------------------------------------------------- reloads

def edit(path, fn):
    with open(path) as f:
        doc = json.load(f)
    fn(doc)
    with open(path, "w") as f:
        json.dump(doc, f)


def route(doc, name):
    return next(r for r in doc["routes"] if r["name"] == name)


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline
        time.sleep(0.1)


def test_sighup_reloads_a_good_config(gw, ups, config_copy):
    assert gw.call("DELETE", "/t/methods").status_code == 405
    gen = gw.admin("GET", "/admin/routes").json()["generation"]
    edit(config_copy, lambda d: route(d, "t-methods").update(methods=["GET", "POST", "DELETE"]))
    os.kill(gw.pid(), signal.SIGHUP)
    wait_for(lambda: gw.admin("GET", "/admin/routes").json()["generation"] > gen)
    assert gw.call("DELETE", "/t/methods").status_code == 200
    assert gw.metric("gateway_config_reloads_total", result="ok") >= 1


def test_bad_config_is_rejected_and_the_old_one_stays(gw, ups, spec, config_copy):
    gen = gw.admin("GET", "/admin/routes").json()["generation"]

    def break_it(d):
        route(d, "t-methods")["upstream"] = "nowhere"
        route(d, "t-echo")["timout_ms"] = 5
        d["upstreams"][0]["targets"][0]["url"] = "https://tls.example"
        d["plans"]["free"]["per_minute"] = 0
    edit(config_copy, break_it)
    os.kill(gw.pid(), signal.SIGHUP)
    r = admin(gw, spec, "POST", "/admin/reload")
    err = assert_error(r, 422, "validation_failed")
    problems = " | ".join(d["message"] for d in err["details"])
    for needle in ('unknown upstream "nowhere"', 'unknown key "timout_ms"', "no https",
                   "plans.free.per_minute"):
        assert needle in problems, problems
    assert gw.admin("GET", "/admin/routes").json()["generation"] == gen  # still the old one
    assert gw.get("/t/methods").status_code == 200
    assert gw.metric("gateway_config_reloads_total", result="rejected") >= 2
    with open(config_copy, "w") as f:
        f.write("{ not json")
    r = admin(gw, spec, "POST", "/admin/reload")
    assert r.status_code == 422 and "not valid JSON" in r.text
    assert gw.get("/t/echo").status_code == 200


def test_admin_reload_and_in_flight_requests_keep_their_config(gw, ups, spec, config_copy):
    import threading
    results = []
    t = threading.Thread(target=lambda: results.append(gw.get("/t/slow?sleep_ms=700")))
    t.start()
    time.sleep(0.2)
    edit(config_copy, lambda d: d["routes"].remove(route(d, "t-slow")))
    r = admin(gw, spec, "POST", "/admin/reload")
    assert r.status_code == 200, r.text
    assert gw.get("/t/slow").status_code == 404  # new requests: the new config
    t.join()
    assert results[0].status_code == 200  # the one in flight finished on the old one
