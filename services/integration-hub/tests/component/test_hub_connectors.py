"""integration hub: the connector catalog (GET /v1/integrations/connectors and …/{id}). The
catalog is exactly the definitions of proto/connectors/*.json (read here from the directory,
so a new file without its place in the hub, or the other way round, fails), in id order, each
summary and each definition told as the file says; `q` and `category` filter it; anyone of
the org reads it, nobody unauthenticated. Every answer is checked against
proto/openapi/integration-hub.yaml."""
from urllib.parse import quote

from hubkit import CONNECTORS, Hub, api_key_token, connector_defs
from platform_client import assert_error

CATEGORIES = ("http", "chat", "developer", "platform")


def summary_of(d):
    return {"id": d["id"], "name": d["name"], "category": d["category"],
            "description": d["description"], "docs_url": d.get("docs_url"),
            "auth_type": d["auth"]["type"], "actions": sorted(d["actions"])}


def detail_of(d):
    """The GET …/connectors/{id} answer for a definition, but for settings and credentials
    (compared apart: a definition may have none)."""
    return {"id": d["id"], "name": d["name"], "category": d["category"],
            "description": d["description"], "docs_url": d.get("docs_url"),
            "base_url": d["base_url"], "auth": d["auth"], "test": d.get("test"),
            "actions": [{"name": n, "title": a["title"], "description": a["description"],
                         "method": a["method"], "path": a["path"], "input": a["input"]}
                        for n, a in sorted(d["actions"].items())]}


def ids(r):
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return [c["id"] for c in r.json()["data"]]


def matches(d, q):
    q = q.lower()
    return any(q in d[k].lower() for k in ("id", "name", "description"))


def test_the_catalog_is_the_definitions_directory(stack):
    defs = connector_defs(stack.root)
    assert {"http", "graphql", "slack", "microsoft-teams", "discord"} <= set(defs)
    r = Hub(stack, role="viewer")("GET", CONNECTORS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["id"] for c in body["data"]] == sorted(defs)
    assert body["data"] == [summary_of(defs[i]) for i in sorted(defs)]
    assert body["next_cursor"] is None


def test_q_and_category_filter_the_catalog(stack):
    defs = connector_defs(stack.root)
    me = Hub(stack, role="viewer")
    for q in ("SLACK", "webhook", "OAuth", "jira", "api", "-", "Posts messages", "zz-nothing-zz"):
        want = [i for i in sorted(defs) if matches(defs[i], q)]
        assert ids(me("GET", f"{CONNECTORS}?q={quote(q)}")) == want, q
    # the cases above are not vacuous
    assert ids(me("GET", f"{CONNECTORS}?q=SLACK")) == ["slack"]
    assert len(ids(me("GET", f"{CONNECTORS}?q=webhook"))) >= 3
    assert ids(me("GET", f"{CONNECTORS}?q=zz-nothing-zz")) == []

    for cat in CATEGORIES:
        want = [i for i in sorted(defs) if defs[i]["category"] == cat]
        got = me("GET", f"{CONNECTORS}?category={cat}")
        assert ids(got) == want, cat
        assert got.json()["data"] == [summary_of(defs[i]) for i in want]
    assert ids(me("GET", f"{CONNECTORS}?category=chat")) == ["discord", "microsoft-teams", "slack"]
    # both: the intersection
    want = [i for i in sorted(defs) if defs[i]["category"] == "http" and matches(defs[i], "oauth")]
    assert want == ["http-oauth2"]
    assert ids(me("GET", f"{CONNECTORS}?q=oauth&category=http")) == want
    assert ids(me("GET", f"{CONNECTORS}?q=oauth&category=chat")) == []

    for bad in ("email", "crm", "chats"):
        assert_error(me("GET", f"{CONNECTORS}?category={bad}"), 400, "invalid_parameter")


def test_a_connector_tells_its_definition(stack):
    defs = connector_defs(stack.root)
    me = Hub(stack, role="viewer")
    for cid, d in sorted(defs.items()):
        r = me("GET", f"{CONNECTORS}/{cid}")
        assert r.status_code == 200, (cid, r.text)
        got = r.json()
        assert {k: v for k, v in got.items() if k not in ("settings", "credentials")} == \
            detail_of(d), cid
        for part in ("settings", "credentials"):
            if part in d:
                assert got[part] == d[part], (cid, part)
            else:
                assert got[part]["type"] == "object", (cid, part)
        # each action's input is its JSON Schema, as written (the console's form)
        assert [a["name"] for a in got["actions"]] == sorted(d["actions"])
        for a in got["actions"]:
            assert a["input"] == d["actions"][a["name"]]["input"]
    gh = me("GET", f"{CONNECTORS}/github").json()
    assert gh["base_url"] == "https://api.github.com" and gh["test"] == "get_authenticated_user"
    assert gh["auth"] == {"type": "bearer", "field": "token"}
    issue = next(a for a in gh["actions"] if a["name"] == "list_repo_issues")
    assert issue["method"] == "GET" and issue["path"] == "/repos/{owner}/{repo}/issues"
    assert issue["input"]["required"] == ["owner", "repo"]
    assert me("GET", f"{CONNECTORS}/slack").json()["test"] is None
    assert me("GET", f"{CONNECTORS}/http").json()["docs_url"] is None


def test_unknown_connectors_are_not_found(stack):
    me = Hub(stack)
    for bad in ("nope", "GitHub", "github2", "connector.schema", "connector", "a" * 41, "-x"):
        assert_error(me("GET", f"{CONNECTORS}/{quote(bad)}"), 404, "not_found")


def test_who_may_read_the_catalog(stack):
    admin = Hub(stack)
    everyone = [admin] + [admin.as_role(r) for r in ("viewer", "editor", "owner")]
    first = admin("GET", CONNECTORS).json()
    for who in everyone:
        assert who("GET", CONNECTORS).json() == first, who.role
        assert who("GET", f"{CONNECTORS}/slack").status_code == 200, who.role
    # API keys: integrations:read reads; another scope does not
    for scope in ("integrations:read", "search:read integrations:read"):
        token = api_key_token(stack, admin.org_id, "viewer", scope)
        assert admin.api("GET", CONNECTORS, token=token).json() == first, scope
    token = api_key_token(stack, admin.org_id, "admin", "search:read")
    assert_error(admin.api("GET", CONNECTORS, token=token), 403, "insufficient_scope")
    assert_error(admin.api("GET", f"{CONNECTORS}/slack", token=token), 403, "insufficient_scope")
    # no token, a bad token
    for path in (CONNECTORS, f"{CONNECTORS}/slack", f"{CONNECTORS}/nope"):
        assert_error(admin.api("GET", path), 401)
        assert_error(admin.api("GET", path, token="not.a.jwt"), 401)
