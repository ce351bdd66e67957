"""The response cache of routes with "cache" (issue 23): hits and misses, the key (normalised
query, the caller's org, declared and upstream Vary), what the service's Cache-Control,
Set-Cookie and size forbid, ETag and 304, HEAD, the client's no-cache, purges through the
admin API, the metrics, coalescing of concurrent misses, stale-while-revalidate, and purges by events."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from platform_client import eventually, new_id


@pytest.fixture(autouse=True)
def no_cookies(gw):
    """The test session must not send back a cookie a case's answer set: an anonymous request
    with a Cookie is never cached (the answer may be personal)."""
    gw.http.cookies.clear()
    yield
    gw.http.cookies.clear()


def upstream_calls(ups, path):
    return len(ups["echo-a"].seen(path)) + len(ups["echo-b"].seen(path))


def test_a_second_get_is_answered_from_the_cache(gw, ups):
    path = f"/t/cache/{new_id('c')}"
    first = gw.get(path + "?b=2&a=1")
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
    second = gw.get(path + "?a=1&b=2")  # the same query in another order is the same entry
    assert second.status_code == 200, second.text
    assert second.headers["X-Cache"] == "HIT"
    assert second.json() == first.json()
    assert int(second.headers["Age"]) >= 0
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert upstream_calls(ups, path) == 1
    assert gw.get(path + "?a=1&b=3").headers["X-Cache"] == "MISS"  # another query


def test_answers_are_per_caller_and_never_cross_orgs(gw, ups, tokens):
    path = f"/t/cache/{new_id('c')}"
    a, b = tokens.mint(org="org_cacheA"), tokens.mint(org="org_cacheB")
    b2 = tokens.mint(org="org_cacheB")  # another user of org B
    rs = [gw.get(path, token=t) for t in (a, b, b2)] + [gw.get(path)]
    assert [r.headers["X-Cache"] for r in rs] == ["MISS"] * 4
    again_a, again_b = gw.get(path, token=a), gw.get(path, token=b)
    assert again_a.headers["X-Cache"] == "HIT" and again_b.headers["X-Cache"] == "HIT"
    assert again_a.json()["headers"]["authorization"] == f"Bearer {a}"
    assert again_b.json()["headers"]["authorization"] == f"Bearer {b}"
    anon = gw.get(path)
    assert anon.headers["X-Cache"] == "HIT" and "authorization" not in anon.json()["headers"]
    assert upstream_calls(ups, path) == 4


def test_share_org_serves_an_org_whose_callers_have_the_same_role_and_scopes(gw, ups, tokens):
    path = f"/t/cacheorg/{new_id('c')}"
    viewer1 = tokens.mint(org="org_share", role="viewer")
    viewer2 = tokens.mint(org="org_share", role="viewer")
    admin = tokens.mint(org="org_share", role="admin")
    other = tokens.mint(org="org_share_other", role="viewer")
    assert gw.get(path, token=viewer1).headers["X-Cache"] == "MISS"
    hit = gw.get(path, token=viewer2)
    assert hit.headers["X-Cache"] == "HIT"
    assert hit.json()["headers"]["authorization"] == f"Bearer {viewer1}"  # the org's entry
    assert gw.get(path, token=admin).headers["X-Cache"] == "MISS", "another role"
    assert gw.get(path, token=other).headers["X-Cache"] == "MISS", "another org"
    assert upstream_calls(ups, path) == 3


def test_requests_that_may_be_personal_or_canary_are_not_cached(gw, ups):
    path = f"/t/cacheup/{new_id('c')}"
    p = {"cc": "max-age=60"}
    # auth "none" passes credentials on unchecked: the answer may be the caller's own
    for h in ({"Authorization": "Bearer something"}, {"Cookie": "session=1"},
              {"X-Canary": "always"}):
        r = gw.get(path, params=p, headers=h)
        assert r.headers["X-Cache"] == "BYPASS", h
    assert gw.get(path, params=p).headers["X-Cache"] == "MISS"
    assert gw.get(path, params=p).headers["X-Cache"] == "HIT"
    # the Host a client names is part of the key (a service may build links from it)
    assert gw.get(path, params=p, headers={"Host": "other.example"}).headers["X-Cache"] == "MISS"


def test_what_the_service_forbids_is_not_stored(gw, ups):
    for extra in ({"cc": "no-store, max-age=60"}, {"cc": "private, max-age=60"},
                  {"cc": "no-cache, max-age=60"}, {"cookie": "session=1"}, {"vary": "*"},
                  {"size": "5000"}, {"cc": "max-age=abc"}, {"status": "404"}):
        params = dict({"cc": "max-age=60"}, **extra)  # storable but for what the case adds
        path = f"/t/cacheup/{new_id('c')}"
        for _ in range(2):
            r = gw.get(path, params=params)
            gw.http.cookies.clear()
            assert r.headers["X-Cache"] == "MISS", (params, r.headers)
        assert upstream_calls(ups, path) == 2, params
    path = f"/t/cacheup/{new_id('c')}"  # the same with only max-age is stored: the cases can fail
    gw.get(path, params={"cc": "max-age=60"})
    assert gw.get(path, params={"cc": "max-age=60"}).headers["X-Cache"] == "HIT"


def test_max_age_and_the_services_age(gw, ups):
    path = f"/t/cacheup/{new_id('c')}"
    assert gw.get(path, params={"cc": "max-age=1"}).headers["X-Cache"] == "MISS"
    assert gw.get(path, params={"cc": "max-age=1"}).headers["X-Cache"] == "HIT"
    time.sleep(1.2)
    assert gw.get(path, params={"cc": "max-age=1"}).headers["X-Cache"] == "MISS"
    # s-maxage wins over max-age, and the Age the answer already had counts
    path = f"/t/cacheup/{new_id('c')}"
    p = {"cc": "max-age=0, s-maxage=100", "age": "30"}
    gw.get(path, params=p)
    hit = gw.get(path, params=p)
    assert hit.headers["X-Cache"] == "HIT" and int(hit.headers["Age"]) >= 30
    # an answer older than its freshness is not stored
    path = f"/t/cacheup/{new_id('c')}"
    p = {"cc": "max-age=10", "age": "20"}
    gw.get(path, params=p)
    assert gw.get(path, params=p).headers["X-Cache"] == "MISS"


def test_etag_and_if_none_match_get_a_304_from_the_cache(gw, ups):
    path = f"/t/cache/{new_id('c')}"
    p = {"etag": '"v1"'}
    first = gw.get(path, params=p)
    assert first.headers["ETag"] == '"v1"'
    r = gw.get(path, params=p, headers={"If-None-Match": 'W/"v0", "v1"'})
    assert r.status_code == 304, r.text
    assert r.content == b"" and r.headers["X-Cache"] == "HIT" and r.headers["ETag"] == '"v1"'
    r = gw.get(path, params=p, headers={"If-None-Match": '"v2"'})
    assert r.status_code == 200 and r.json() == first.json()
    assert upstream_calls(ups, path) == 1


def test_head_is_answered_from_the_get_entry(gw, ups):
    path = f"/t/cache/{new_id('c')}"
    body = gw.get(path).content
    r = gw.call("HEAD", path)
    assert r.status_code == 200 and r.headers["X-Cache"] == "HIT"
    assert r.content == b"" and int(r.headers["Content-Length"]) == len(body)
    assert upstream_calls(ups, path) == 1


def test_a_client_asking_for_a_fresh_answer_bypasses_the_cache(gw, ups):
    path = f"/t/cache/{new_id('c')}"
    gw.get(path)
    for h in ({"Cache-Control": "no-cache"}, {"Pragma": "no-cache"}, {"Cache-Control": "no-store"}):
        r = gw.get(path, headers=h)
        assert r.headers["X-Cache"] == "BYPASS", h
    assert upstream_calls(ups, path) == 4
    assert gw.get(path).headers["X-Cache"] == "HIT"


def test_vary_of_the_route_and_of_the_service(gw, ups):
    path = f"/t/cache/{new_id('c')}"
    en, fr = {"Accept-Language": "en"}, {"Accept-Language": "fr"}
    assert gw.get(path, headers=en).headers["X-Cache"] == "MISS"
    assert gw.get(path, headers=fr).headers["X-Cache"] == "MISS"  # the route varies on it
    assert gw.get(path, headers=en).headers["X-Cache"] == "HIT"
    path = f"/t/cache/{new_id('c')}"
    p = {"vary": "X-Thing"}
    assert gw.get(path, params=p, headers={"X-Thing": "1"}).headers["X-Cache"] == "MISS"
    assert gw.get(path, params=p, headers={"X-Thing": "1"}).headers["X-Cache"] == "HIT"
    r = gw.get(path, params=p, headers={"X-Thing": "2"})  # the service said it varies on it
    assert r.headers["X-Cache"] == "MISS" and r.json()["headers"]["x-thing"] == "2"


def test_admin_purge_and_metrics(gw, ups):
    base = f"/t/cache/{new_id('c')}"
    hits = gw.metric("gateway_cache_requests_total", route="t-cache", result="hit")
    for p in (base + "/a", base + "/b", base + "x"):
        gw.get(p)
    assert gw.get(base + "/a").headers["X-Cache"] == "HIT"
    assert gw.metric("gateway_cache_requests_total", route="t-cache", result="hit") == hits + 1
    assert gw.metric("gateway_cache_entries") >= 3
    r = gw.admin("DELETE", "/admin/cache", params={"prefix": base})
    assert r.status_code == 200 and r.json() == {"purged": 2, "shared": "purged"}, r.text  # not .../<id>x
    assert gw.get(base + "/a").headers["X-Cache"] == "MISS"
    assert gw.get(base + "x").headers["X-Cache"] == "HIT"
    assert gw.admin("DELETE", "/admin/cache", params={"prefix": "v1"}).status_code == 400
    assert gw.admin("DELETE", "/admin/cache", token=None).status_code == 401


def test_concurrent_misses_make_one_upstream_request(gw, ups):
    """100 requests for one key that arrive while its answer is being fetched wait for that
    answer: the service sees one request (coalescing)."""
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=60", "sleep_ms": "700"}
    coalesced = gw.metric("gateway_cache_requests_total", route="t-cache-upstream",
                          result="coalesced")

    def one(_):
        with requests.Session() as s:  # a connection each: all of them at once
            return s.get(gw.url(path), params=params, timeout=30)
    with ThreadPoolExecutor(100) as pool:
        rs = list(pool.map(one, range(100)))
    assert all(r.status_code == 200 for r in rs), [r.status_code for r in rs]
    assert upstream_calls(ups, path) == 1
    how = sorted(r.headers["X-Cache"] for r in rs)
    assert how.count("MISS") == 1 and set(how) <= {"MISS", "COALESCED", "HIT"}, how
    assert len({r.content for r in rs}) == 1
    waited = how.count("COALESCED")
    assert waited >= 1  # the upstream took 700 ms: some arrived while it did
    assert gw.metric("gateway_cache_requests_total", route="t-cache-upstream",
                     result="coalesced") == coalesced + waited


def test_misses_of_an_uncacheable_answer_are_not_served_each_others(gw, ups):
    """The requests that waited for a fill whose answer may not be stored go to the service
    themselves; so do later ones, without waiting for each other."""
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "no-store", "sleep_ms": "300"}

    def one(_):
        with requests.Session() as s:
            return s.get(gw.url(path), params=params, timeout=30)
    with ThreadPoolExecutor(20) as pool:
        rs = list(pool.map(one, range(20)))
    got = [(r.status_code, r.headers.get("X-Cache"), r.text[:120]) for r in rs]
    assert not [g for g in got if g[:2] != (200, "MISS")], got
    assert upstream_calls(ups, path) == 20
    seen = sorted(r["at"] for r in ups["echo-a"].seen(path) + ups["echo-b"].seen(path))
    # after the first answer the others were sent together, not one after another
    assert seen[-1] - seen[1] < 0.3 * 18, seen


def test_stale_while_revalidate_serves_the_old_answer_during_one_refresh(gw, ups):
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=1, stale-while-revalidate=60"}
    first = gw.get(path, params=params)
    assert first.headers["X-Cache"] == "MISS"
    time.sleep(1.2)  # past its freshness, inside its window
    for u in ("echo-a", "echo-b"):
        ups[u].set(sleep_ms=1000)  # the refresh takes a while
    try:
        with ThreadPoolExecutor(1) as pool:
            refresh = pool.submit(lambda: requests.get(gw.url(path), params=params, timeout=30))
            deadline = time.time() + 10
            while upstream_calls(ups, path) < 2:  # the refresh reached the service
                assert time.time() < deadline
                time.sleep(0.01)
            stale = gw.get(path, params=params)
            assert stale.headers["X-Cache"] == "STALE"
            assert stale.content == first.content and int(stale.headers["Age"]) >= 1
            refreshed = refresh.result()
    finally:
        for u in ("echo-a", "echo-b"):
            ups[u].set()
    assert refreshed.headers["X-Cache"] == "MISS"
    after = gw.get(path, params=params)
    assert after.headers["X-Cache"] == "HIT" and int(after.headers["Age"]) <= 1
    assert upstream_calls(ups, path) == 2
    # must-revalidate: never served stale
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=1, stale-while-revalidate=60, must-revalidate"}
    gw.get(path, params=params)
    time.sleep(1.2)
    assert gw.get(path, params=params).headers["X-Cache"] == "MISS"


def test_an_update_event_purges_the_entries_tagged_with_its_resource(stack, gw, ups, tokens):
    """invalidate_on: a user's update purges its org's entries of the route (the user and the
    lists), within about a second; another org's entries stay."""
    org_a, org_b = new_id("org"), new_id("org")
    uid = new_id("usr")
    ta, tb = tokens.mint(org=org_a, role="admin"), tokens.mint(org=org_b, role="admin")
    item, listing = f"/t/cacheev/{uid}", "/t/cacheev"
    for path, tok in ((item, ta), (listing, ta), (listing, tb)):
        assert gw.get(path, token=tok).headers["X-Cache"] == "MISS"
        assert gw.get(path, token=tok).headers["X-Cache"] == "HIT"
    purged = gw.metric("gateway_cache_purged_total", reason="event")
    stack.produce_event("user-events", uid, "com.techcorp.user.updated", f"/users/{uid}",
                        {"id": uid, "org_id": org_a, "version": 2}, subject=uid)
    t0 = time.time()

    def gone():
        # HEAD: answered from a fresh entry, never stores one (the check changes nothing)
        return gw.call("HEAD", item, token=ta).headers["X-Cache"] == "MISS"
    eventually(gone, timeout=10, interval=0.02, what="the entry purged by the event")
    took = time.time() - t0
    print(f"\npurged {took * 1000:.0f} ms after the event was produced")
    assert gw.call("HEAD", listing, token=ta).headers["X-Cache"] == "MISS", "the org's list"
    assert gw.get(listing, token=tb).headers["X-Cache"] == "HIT", "another org's list stays"
    assert gw.metric("gateway_cache_purged_total", reason="event") >= purged + 2
    # an event of a type the route does not name purges nothing
    assert gw.get(item, token=ta).headers["X-Cache"] == "MISS"
    assert gw.get(listing, token=ta).headers["X-Cache"] == "MISS"
    stack.produce_event("user-events", uid, "com.techcorp.user.preferences_updated",
                        f"/users/{uid}", {"id": uid, "org_id": org_a, "version": 3,
                                          "preferences": {}}, subject=uid)
    # names the user (its path segment) and org B
    stack.produce_event("user-events", uid, "com.techcorp.user.deleted", f"/users/{uid}",
                        {"id": uid, "org_id": org_b, "version": 4}, subject=uid)
    eventually(gone, timeout=10, interval=0.02, what="the entry purged by the deletion")
    assert gw.get(listing, token=tb).headers["X-Cache"] == "MISS", "org B's list: org B's event"
    # events of one key arrive in order: preferences_updated was seen first, and purged nothing
    assert gw.get(listing, token=ta).headers["X-Cache"] == "HIT"


def test_an_answer_requested_before_a_purge_is_not_stored(stack, gw, ups, tokens):
    """The service may have read the old state before the event's change: an answer whose
    request went upstream before the purge is relayed, not stored."""
    org = new_id("org")
    tok = tokens.mint(org=org, role="admin")
    uid = new_id("usr")
    marker = f"/t/cacheev/{new_id('m')}"  # an entry of the org the event purges
    gw.get(marker, token=tok)
    assert gw.call("HEAD", marker, token=tok).headers["X-Cache"] == "HIT"
    slow = f"/t/cacheev/{uid}?sleep_ms=1500"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lambda: requests.get(gw.url(slow), timeout=30,
                                                   headers={"Authorization": f"Bearer {tok}"}))
        eventually(lambda: upstream_calls(ups, f"/t/cacheev/{uid}") == 1, timeout=10,
                   interval=0.01, what="the slow request upstream")
        stack.produce_event("user-events", uid, "com.techcorp.user.updated", f"/users/{uid}",
                            {"id": uid, "org_id": org, "version": 2}, subject=uid)
        eventually(lambda: gw.call("HEAD", marker, token=tok).headers["X-Cache"] == "MISS",
                   timeout=10, interval=0.02, what="the event's purge")
        r = pending.result()
    assert r.status_code == 200 and r.headers["X-Cache"] == "MISS"
    assert gw.get(slow, token=tok).headers["X-Cache"] == "MISS", "stored despite the purge"


def test_the_request_that_fills_asks_for_a_body_not_a_304(gw, ups):
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=60", "etag": '"v1"'}
    r = gw.get(path, params=params, headers={"If-None-Match": '"v0"'})
    assert r.status_code == 200 and r.headers["X-Cache"] == "MISS"
    seen = ups["echo-a"].seen(path) + ups["echo-b"].seen(path)
    assert "if-none-match" not in seen[0]["headers"]
    hit = gw.get(path, params=params, headers={"If-None-Match": '"v1"'})
    assert hit.status_code == 304 and hit.headers["X-Cache"] == "HIT"
