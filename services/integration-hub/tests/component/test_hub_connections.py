"""integration hub: connections (a connector of the catalog configured with settings and sealed
credentials) and the connectors' actions run with them, against a loopback Receiver standing
in for each vendor's API.

Connections: created for each way credentials reach a vendor — a bearer token (http; github,
whose fixed base URL a connection's base_url overrides), HTTP Basic (jira), an API-key header
(datadog), a webhook URL that is itself the secret (slack, microsoft-teams, discord), an OAuth
2.0 client-credentials token fetched from a token endpoint (http-oauth2) — and the Receiver
checks what each request carried. Credentials never appear in an answer or an event (the raw
text is searched), only their hints; validation names every bad field (`settings.<f>`,
`credentials.<f>`, `base_url`, …); roles, tenancy, PATCH replacing settings and credentials,
DELETE, the list's filter and pages, Idempotency-Key, and the created / updated / deleted
events on integration-events (key and source the connection, data valid against proto/events/).

Actions: the path's fields percent-encoded, query parameters from fields and from an object,
headers from an object (the ones a caller may not set refused), the body as the input's rest or
one field, the output pointer, a vendor's non-2xx answered as ok false, retries (429 with
Retry-After, 503 on a GET, none for a POST without an idempotency header), the caller's
Idempotency-Key passed on, invalid input, unknown actions, OAuth tokens kept and renewed after a
401, a refused client marking the connection needs_attention, POST …/test, and a vendor that
does not answer (424: the hub is well, the vendor is not). Requests no input can forge: a
User-Agent or CR/LF in a header, a dot segment in a path field; stored credentials that cannot
be sent to a new address without being given again; a token endpoint's own trouble that is not
the connection's; an answer that is not text, in base64.

Where the API spec of this slice leaves a behaviour open, the choice made is asserted in one
test, test_choices_where_the_spec_is_open, and nowhere else. Every answer is checked against
proto/openapi/integration-hub.yaml."""
import base64
import secrets
import time
from urllib.parse import quote

from hubkit import CONNS, Hub, api_key_token, connection_events, credential_hint, \
    integration_events, reply, unused_port
from platform_client import assert_error, new_id

ELLIPSIS = "\u2026"


def gh_token():
    return "ghp_" + secrets.token_hex(18)


def github(me, receiver, token=None):
    """A github connection whose base URL is a path of the receiver (the override a GitHub
    Enterprise Server needs); (connection, that path, the token)."""
    prefix = receiver.path("ghe")
    token = token or gh_token()
    con = me.create_connection("github", credentials={"token": token},
                               base_url=receiver.url(prefix))
    return con, prefix, token


def http(me, receiver, token=None):
    """An http connection (bearer) on a path of the receiver; (connection, path, token)."""
    prefix = receiver.path("api")
    token = token or "tok_" + secrets.token_hex(16)
    con = me.create_connection("http", settings={"base_url": receiver.url(prefix)},
                               credentials={"token": token})
    return con, prefix, token


def slack(me, receiver):
    """A slack connection whose webhook URL is a path of the receiver; (connection, path)."""
    hook = receiver.path("slack") + "/T0001/B0002/" + secrets.token_hex(12)
    con = me.create_connection("slack", credentials={"webhook_url": receiver.url(hook)})
    return con, hook


def oauth_client():
    return "client-" + secrets.token_hex(4), "secret-" + secrets.token_hex(16)


def http_oauth2(me, receiver, client_id, client_secret, expires_in=3600, endpoint_secret=None):
    """An http-oauth2 connection with a token endpoint on the receiver (that knows the client
    by `endpoint_secret`, by default the connection's); (connection, api path, endpoint)."""
    api = receiver.path("o2api")
    token_path = receiver.path("oauth") + "/token"
    endpoint = receiver.oauth(token_path, client_id, endpoint_secret or client_secret,
                              expires_in)
    con = me.create_connection("http-oauth2",
                               settings={"base_url": receiver.url(api),
                                         "token_url": receiver.url(token_path)},
                               credentials={"client_id": client_id,
                                            "client_secret": client_secret})
    return con, api, endpoint


def fields(err):
    return {d["field"] for d in err.get("details", [])}


def hidden(texts, *values):
    """None of the values (credentials) is in any of the texts (raw answers, events)."""
    for text in texts:
        for v in values:
            assert v not in text, f"a credential ({v[:6]}…) is in: {text[:300]}"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ====================================================================== connections

def test_create_read_change_delete(stack, receiver):
    me = Hub(stack)
    prefix, token = receiver.path("ghe"), gh_token()
    r = me("POST", CONNS, {"connector": "github", "name": "Acme GHE",
                           "credentials": {"token": token}, "base_url": receiver.url(prefix)})
    assert r.status_code == 201, r.text
    con = r.json()
    path = f"{CONNS}/{con['id']}"
    assert r.headers["Location"] == path
    assert con["id"].startswith("con_")
    assert {k: v for k, v in con.items() if k not in ("id", "created_at", "updated_at")} == {
        "connector": "github", "name": "Acme GHE", "settings": {},
        "base_url": receiver.url(prefix), "credentials_hint": {"token": credential_hint(token)},
        "status": "active", "status_reason": None, "revision": 1}
    assert con["credentials_hint"]["token"] == ELLIPSIS + token[-4:]
    assert con["created_at"] == con["updated_at"]
    assert me.connection(con["id"]) == con
    assert me.pages(CONNS) == [con]

    # a PATCH changes what it names and keeps the rest
    r = me("PATCH", path, {"name": "Acme GitHub Enterprise"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed == {**con, "name": "Acme GitHub Enterprise", "updated_at": changed["updated_at"],
                       "revision": 2}
    assert changed["updated_at"] >= con["updated_at"]
    assert me.connection(con["id"]) == changed
    other = receiver.path("ghe2")
    # moving the base URL takes the credentials again (test_stored_credentials_do_not_…)
    r = me("PATCH", path, {"base_url": receiver.url(other), "credentials": {"token": token}})
    assert r.status_code == 200 and r.json()["base_url"] == receiver.url(other)
    assert r.json()["credentials_hint"] == con["credentials_hint"] and r.json()["revision"] == 3
    assert me.action(con["id"], "get_authenticated_user")["ok"] is True
    assert [q["path"] for q in receiver.under(other)] == [other + "/user"]
    assert receiver.under(prefix) == []

    r = me("DELETE", path)
    assert r.status_code == 204 and not r.content
    for method, p, body in [("GET", path, None), ("PATCH", path, {"name": "x"}),
                            ("DELETE", path, None), ("POST", f"{path}/test", None),
                            ("POST", f"{path}/actions/get_authenticated_user", {})]:
        assert_error(me(method, p, body), 404, "not_found")
    assert me.pages(CONNS) == []
    assert len(receiver.under(other)) == 1, "nothing was sent for a deleted connection"


def test_http_with_a_bearer_token_and_without(stack, receiver):
    me = Hub(stack)
    api, token = receiver.path("api"), "tok_" + secrets.token_hex(16)
    r = me("POST", CONNS, {"connector": "http", "name": "Orders API",
                           "settings": {"base_url": receiver.url(api)},
                           "credentials": {"token": token}})
    assert r.status_code == 201, r.text
    con = r.json()
    assert con["settings"] == {"base_url": receiver.url(api)}
    assert con["credentials_hint"] == {"token": credential_hint(token)}
    receiver.script(api + "/v1/items/42", then=reply(200, {"id": 42, "name": "widget"}))
    out = me.action(con["id"], "get", {"path": "/v1/items/42"})
    assert {k: out[k] for k in ("ok", "status_code", "body", "output", "attempts")} == {
        "ok": True, "status_code": 200, "body": {"id": 42, "name": "widget"},
        "output": {"id": 42, "name": "widget"}, "attempts": 1}
    assert isinstance(out["duration_ms"], int) and out["duration_ms"] >= 0
    [req] = receiver.to(api + "/v1/items/42")
    assert req["method"] == "GET" and req["query"] == "" and req["body"] == b""
    assert req["headers"]["authorization"] == f"Bearer {token}"

    # PUT and PATCH send their body field as JSON
    for action in ("put", "patch"):
        out = me.action(con["id"], action, {"path": f"/v1/items/{action}",
                                            "body": {"name": action}})
        [req] = receiver.to(f"{api}/v1/items/{action}")
        assert req["method"] == action.upper() and receiver.body(req) == {"name": action}
        assert req["headers"]["content-type"].startswith("application/json")
        assert req["headers"]["authorization"] == f"Bearer {token}"

    # without a token: no Authorization header at all
    anon = me.create_connection("http", settings={"base_url": receiver.url(api)})
    assert anon["credentials_hint"] == {}
    out = me.action(anon["id"], "delete", {"path": "/v1/items/7"})
    assert out["ok"] is True
    [req] = receiver.to(api + "/v1/items/7")
    assert req["method"] == "DELETE" and "authorization" not in req["headers"]
    hidden([r.text, me("GET", CONNS).text, me("GET", f"{CONNS}/{con['id']}").text], token)

    # the hint: "…" and the last 4 characters from 12 characters on, "…" alone below
    # (characters, not bytes: 11 Cyrillic letters are 22 bytes)
    for value, want in (("elevenchars", ELLIPSIS), ("twelve-chars", ELLIPSIS + "hars"),
                        ("\u0451" * 11, ELLIPSIS),
                        ("\u0441\u0435\u043a\u0440\u0435\u0442-\u043a\u043b\u044e\u0447-42",
                         ELLIPSIS + "\u0447-42")):
        c = me.create_connection("http", settings={"base_url": receiver.url(api)},
                                 credentials={"token": value})
        assert c["credentials_hint"] == {"token": want}, value


def test_github_fixed_base_url_overridden(stack, receiver):
    me = Hub(stack)
    prefix, token = receiver.path("ghe"), gh_token()
    r = me("POST", CONNS, {"connector": "github", "name": "GHES",
                           "credentials": {"token": token}, "base_url": receiver.url(prefix)})
    assert r.status_code == 201, r.text
    con = r.json()
    receiver.script(prefix + "/user", then=reply(200, {"login": "octocat", "id": 1}))
    out = me.action(con["id"], "get_authenticated_user", {})
    assert (out["ok"], out["status_code"], out["body"], out["output"]) == \
        (True, 200, {"login": "octocat", "id": 1}, {"login": "octocat", "id": 1})
    [req] = receiver.under(prefix)
    h = req["headers"]
    assert (req["method"], req["path"]) == ("GET", prefix + "/user")
    assert h["authorization"] == f"Bearer {token}"
    assert h["accept"] == "application/vnd.github+json"
    assert h["x-github-api-version"] == "2022-11-28"
    hidden([r.text, me("GET", CONNS).text, me("GET", f"{CONNS}/{con['id']}").text,
            me("PATCH", f"{CONNS}/{con['id']}", {"name": "GHES 2"}).text], token)


def test_jira_basic_auth(stack, receiver):
    me = Hub(stack)
    site = receiver.path("jira")
    email, api_token = "ops.team@acme.example", "ATATT" + secrets.token_hex(12)
    r = me("POST", CONNS, {"connector": "jira", "name": "Acme Jira",
                           "settings": {"site_url": receiver.url(site)},
                           "credentials": {"email": email, "api_token": api_token}})
    assert r.status_code == 201, r.text
    con = r.json()
    assert con["credentials_hint"] == {"email": ELLIPSIS + "mple",
                                       "api_token": ELLIPSIS + api_token[-4:]}
    receiver.script(site + "/rest/api/3/myself", then=reply(200, {"accountId": "5b10ac8d"}))
    out = me.action(con["id"], "get_myself")
    assert out["ok"] is True and out["output"] == {"accountId": "5b10ac8d"}
    [req] = receiver.to(site + "/rest/api/3/myself")
    assert req["headers"]["authorization"] == basic(email, api_token)
    assert req["headers"]["accept"] == "application/json"

    receiver.script(site + "/rest/api/3/issue/OPS-7", then=reply(200, {"key": "OPS-7"}))
    out = me.action(con["id"], "get_issue", {"issueIdOrKey": "OPS-7", "fields": "summary,status"})
    assert out["output"] == {"key": "OPS-7"}
    [req] = receiver.to(site + "/rest/api/3/issue/OPS-7")
    assert receiver.query(req) == {"fields": ["summary,status"]}
    assert req["headers"]["authorization"] == basic(email, api_token)
    texts = [r.text, me("GET", CONNS).text, me("GET", f"{CONNS}/{con['id']}").text]
    hidden(texts, api_token, email, basic(email, api_token)[6:])


def test_datadog_api_key_header_and_output_pointers(stack, receiver):
    me = Hub(stack)
    site, key = receiver.path("dd"), secrets.token_hex(16)
    r = me("POST", CONNS, {"connector": "datadog", "name": "DD",
                           "settings": {"site_url": receiver.url(site)},
                           "credentials": {"api_key": key}})
    assert r.status_code == 201, r.text
    con = r.json()
    assert con["credentials_hint"] == {"api_key": ELLIPSIS + key[-4:]}
    receiver.script(site + "/api/v1/validate", then=reply(200, {"valid": True}))
    out = me.action(con["id"], "validate_key")
    assert (out["ok"], out["body"], out["output"]) == (True, {"valid": True}, True)
    [req] = receiver.to(site + "/api/v1/validate")
    assert req["headers"]["dd-api-key"] == key and "authorization" not in req["headers"]
    assert req["query"] == "", "the key goes in a header, not the query"

    event = {"id": 6810432, "title": "Deploy", "tags": ["env:prod"]}
    receiver.script(site + "/api/v1/events", then=reply(202, {"status": "ok", "event": event}))
    given = {"title": "Deploy", "text": "v1.2.3 to prod", "tags": ["env:prod"],
             "alert_type": "info"}
    out = me.action(con["id"], "post_event", given)
    assert (out["ok"], out["status_code"], out["output"]) == (True, 202, event)
    assert out["body"] == {"status": "ok", "event": event}
    [req] = receiver.to(site + "/api/v1/events")
    assert req["method"] == "POST" and receiver.body(req) == given
    assert req["headers"]["content-type"].startswith("application/json")
    assert req["headers"]["dd-api-key"] == key
    hidden([r.text, me("GET", CONNS).text, me("GET", f"{CONNS}/{con['id']}").text], key)


def test_chat_webhooks(stack, receiver):
    """slack, microsoft-teams and discord: the webhook URL is the credential and the base URL."""
    me = Hub(stack)
    cases = [("slack", {"text": "Deploy done", "unfurl_links": False}, reply(200, "ok"), "ok", ""),
             ("microsoft-teams", {"text": "Deploy done", "title": "CI"}, reply(202), None, ""),
             ("discord", {"content": "Deploy done", "username": "ci-bot"},
              reply(200, {"id": "1180", "content": "Deploy done"}),
              {"id": "1180", "content": "Deploy done"}, "wait=true")]
    for connector, given, answer, body, query in cases:
        hook = receiver.path(connector) + "/hooks/" + secrets.token_hex(16)
        url = receiver.url(hook)
        r = me("POST", CONNS, {"connector": connector, "name": f"{connector} alerts",
                               "credentials": {"webhook_url": url}})
        assert r.status_code == 201, (connector, r.text)
        con = r.json()
        assert con["credentials_hint"] == {"webhook_url": ELLIPSIS + url[-4:]}, connector
        assert con["settings"] == {} and con["base_url"] is None
        receiver.script(hook, then=answer)
        out = me.action(con["id"], "post_message", given)
        assert (out["ok"], out["body"], out["output"], out["attempts"]) == \
            (True, body, body, 1), connector
        [req] = receiver.to(hook)
        assert req["method"] == "POST" and receiver.body(req) == given, connector
        assert req["query"] == query, connector
        assert req["headers"]["content-type"].startswith("application/json")
        hidden([r.text, me("GET", f"{CONNS}/{con['id']}").text,
                me("GET", f"{CONNS}?connector={connector}").text], url, hook)


def test_credentials_are_never_returned(stack, schemas, receiver):
    """Whatever is read about a connection — create, replay, read, list, change, a test, an
    action, its events — holds no credential, only hints."""
    me = Hub(stack)
    viewer = me.as_role("viewer")
    token, key = gh_token(), secrets.token_hex(20)
    email, api_token = "someone@acme.example", "ATATT" + secrets.token_hex(16)
    cid, csecret = oauth_client()
    hook = receiver.path("slack") + "/" + secrets.token_hex(16)
    bodies = [
        {"connector": "github", "name": "gh", "credentials": {"token": token},
         "base_url": receiver.url("/gh")},
        {"connector": "datadog", "name": "dd", "settings": {"site_url": receiver.url("/dd")},
         "credentials": {"api_key": key}},
        {"connector": "jira", "name": "jira", "settings": {"site_url": receiver.url("/jira")},
         "credentials": {"email": email, "api_token": api_token}},
        {"connector": "slack", "name": "slack", "credentials": {"webhook_url": receiver.url(hook)}},
        {"connector": "http-oauth2", "name": "o2",
         "settings": {"base_url": receiver.url("/o2"), "token_url": receiver.url("/o2/token")},
         "credentials": {"client_id": cid, "client_secret": csecret}}]
    receiver.oauth("/o2/token", cid, csecret)
    secrets_ = [token, key, email, api_token, csecret, receiver.url(hook), hook]
    texts, ids = [], []
    for body in bodies:
        headers = {"Idempotency-Key": new_id("idem")}
        r = me("POST", CONNS, body, headers=headers)
        assert r.status_code == 201, r.text
        again = me("POST", CONNS, body, headers=headers)
        assert again.json() == r.json()
        ids.append(r.json()["id"])
        texts += [r.text, again.text]
    for con_id in ids:
        path = f"{CONNS}/{con_id}"
        texts += [me("GET", path).text, viewer("GET", path).text,
                  me("PATCH", path, {"name": "renamed"}).text]
        r = me.slow("POST", f"{path}/test")
        texts.append(r.text)
    texts += [me("GET", CONNS).text, viewer("GET", CONNS).text]
    texts.append(me.run(ids[0], "get_authenticated_user").text)
    texts.append(me.run(ids[4], "get", {"path": "/things"}).text)
    hidden(texts, *secrets_)
    for con_id in ids:
        for _kind, _data, raw in connection_events(stack, schemas, con_id, 2):
            hidden([raw], *secrets_)


def test_bad_connections_name_every_field(stack):
    me = Hub(stack)
    gh = {"token": gh_token()}
    ok_url = "https://api.example.com/v1"
    cases = [
        ({"connector": "nope", "name": "x"}, {"connector"}),
        ({"connector": 7, "name": "x"}, {"connector"}),
        ({"name": "x"}, {"connector"}),
        ({"connector": "github", "credentials": gh}, {"name"}),
        ({"connector": "github", "name": "", "credentials": gh}, {"name"}),
        ({"connector": "github", "name": "n" * 201, "credentials": gh}, {"name"}),
        ({"connector": "github", "name": "x", "credentials": gh, "colour": "red"}, {"colour"}),
        # settings: required, type, uri, unknown member, not an object
        ({"connector": "http", "name": "x"}, {"settings.base_url"}),
        ({"connector": "http", "name": "x", "settings": {}}, {"settings.base_url"}),
        ({"connector": "http", "name": "x", "settings": {"base_url": 42}}, {"settings.base_url"}),
        ({"connector": "http", "name": "x", "settings": {"base_url": "ftp://files.example.com/"}},
         {"settings.base_url"}),
        ({"connector": "http", "name": "x", "settings": {"base_url": "not a url"}},
         {"settings.base_url"}),
        ({"connector": "http", "name": "x",
          "settings": {"base_url": "https://a.example.com/" + "p" * 2048}}, {"settings.base_url"}),
        ({"connector": "http", "name": "x", "settings": {"base_url": ok_url, "colour": "red"}},
         {"settings.colour"}),
        ({"connector": "http", "name": "x", "settings": [ok_url]}, {"settings"}),
        # credentials: required, type, length, unknown member, not an object
        ({"connector": "github", "name": "x"}, {"credentials.token"}),
        ({"connector": "github", "name": "x", "credentials": {"token": 123}},
         {"credentials.token"}),
        ({"connector": "github", "name": "x", "credentials": {"token": ""}},
         {"credentials.token"}),
        ({"connector": "github", "name": "x", "credentials": {"token": "t" * 513}},
         {"credentials.token"}),
        ({"connector": "github", "name": "x", "credentials": {**gh, "password": "p"}},
         {"credentials.password"}),
        ({"connector": "github", "name": "x", "credentials": "ghp_x"}, {"credentials"}),
        ({"connector": "slack", "name": "x", "credentials": {"webhook_url": "hooks.slack.com/x"}},
         {"credentials.webhook_url"}),
        # every problem at once
        ({"connector": "jira", "name": "x", "settings": {}, "credentials": {"email": 5}},
         {"settings.site_url", "credentials.email", "credentials.api_token"}),
        ({"connector": "jira", "name": "", "settings": {"site_url": "mailto:x@y.z"},
          "credentials": {"email": "ab", "api_token": "t", "extra": 1}},
         {"name", "settings.site_url", "credentials.email", "credentials.extra"}),
        # base_url: only over a fixed base URL, and an http(s) URL
        ({"connector": "http", "name": "x", "settings": {"base_url": ok_url},
          "base_url": "https://other.example.com"}, {"base_url"}),
        ({"connector": "slack", "name": "x",
          "credentials": {"webhook_url": "https://hooks.slack.com/services/T/B/X"},
          "base_url": "https://other.example.com"}, {"base_url"}),
        ({"connector": "github", "name": "x", "credentials": gh, "base_url": "ftp://ghe.example"},
         {"base_url"}),
        ({"connector": "github", "name": "x", "credentials": gh, "base_url": 5}, {"base_url"}),
    ]
    for body, want in cases:
        err = assert_error(me("POST", CONNS, body), 422, "validation_failed")
        assert fields(err) == want, (body, err)
    assert_error(me("POST", CONNS, [{"connector": "github"}]), 400)
    assert me.pages(CONNS) == []


def test_roles(stack, receiver):
    admin = Hub(stack)
    viewer, editor, owner = (admin.as_role(r) for r in ("viewer", "editor", "owner"))
    con, prefix, _ = github(admin, receiver)
    path = f"{CONNS}/{con['id']}"
    create = {"connector": "github", "name": "mine", "credentials": {"token": gh_token()}}
    for reader in (viewer, editor):
        assert reader("GET", CONNS).json()["data"] == [con]
        assert reader("GET", path).json() == con
        for method, p, body in [("POST", CONNS, create), ("PATCH", path, {"name": "mine"}),
                                ("DELETE", path, None), ("POST", f"{path}/test", None)]:
            assert_error(reader(method, p, body), 403, "forbidden")
    assert_error(viewer("POST", f"{path}/actions/get_authenticated_user", {}), 403, "forbidden")
    assert receiver.under(prefix) == []
    # editors run actions
    assert editor.action(con["id"], "get_authenticated_user")["ok"] is True
    assert len(receiver.under(prefix)) == 1
    assert admin.connection(con["id"]) == con
    # owners are admins and more
    assert owner("PATCH", path, {"name": "owner's"}).status_code == 200
    assert owner("POST", CONNS, create).status_code == 201
    assert owner.test_connection(con["id"])["ok"] is True
    # API keys: integrations:read reads, integrations:write writes and runs
    read = api_key_token(stack, admin.org_id, "admin", "integrations:read")
    write = api_key_token(stack, admin.org_id, "admin", "integrations:write")
    assert admin.api("GET", path, token=read).status_code == 200
    assert_error(admin.api("POST", f"{path}/actions/get_authenticated_user", token=read,
                           json_body={}), 403, "insufficient_scope")
    assert_error(admin.api("POST", CONNS, token=read, json_body=create), 403,
                 "insufficient_scope")
    assert admin.api("POST", f"{path}/actions/get_authenticated_user", token=write,
                     json_body={}).status_code == 200
    # no token, a bad token
    for method, p, body in [("GET", CONNS, None), ("POST", CONNS, create), ("GET", path, None),
                            ("POST", f"{path}/actions/get_authenticated_user", {}),
                            ("POST", f"{path}/test", None)]:
        assert_error(admin.api(method, p, json_body=body), 401)
        assert_error(admin.api(method, p, token="not.a.jwt", json_body=body), 401)


def test_another_orgs_connection_is_not_found(stack, receiver):
    mine = Hub(stack)
    stranger = Hub(stack, role="owner")
    con, prefix, _ = github(mine, receiver)
    path = f"{CONNS}/{con['id']}"
    for method, p, body in [("GET", path, None), ("PATCH", path, {"name": "x"}),
                            ("DELETE", path, None), ("POST", f"{path}/test", None),
                            ("POST", f"{path}/actions/get_authenticated_user", {})]:
        assert_error(stranger(method, p, body), 404, "not_found")
    assert stranger("GET", CONNS).json()["data"] == []
    assert stranger("GET", f"{CONNS}?connector=github").json()["data"] == []
    assert mine.connection(con["id"]) == con
    assert receiver.under(prefix) == [], "nothing was sent for the stranger"
    for bad in ("con_x", "whe_" + con["id"][4:], "not-an-id", new_id("con")):
        assert_error(mine("GET", f"{CONNS}/{bad}"), 404)
        assert_error(mine.run(bad, "get_authenticated_user"), 404)


def test_patch_replaces_settings_and_credentials(stack, receiver):
    me = Hub(stack)
    con, api, t1 = http(me, receiver)
    path = f"{CONNS}/{con['id']}"
    me.action(con["id"], "get", {"path": "/a"})
    assert receiver.bearer(receiver.to(api + "/a")[0]) == t1

    t2 = "tok_" + secrets.token_hex(16)
    r = me("PATCH", path, {"credentials": {"token": t2}})
    assert r.status_code == 200, r.text
    assert r.json()["credentials_hint"] == {"token": credential_hint(t2)}
    assert r.json()["settings"] == con["settings"] and r.json()["name"] == con["name"]
    me.action(con["id"], "get", {"path": "/b"})
    assert receiver.bearer(receiver.to(api + "/b")[0]) == t2, "the next action sends the new token"

    api2 = receiver.path("api2")
    r = me("PATCH", path, {"settings": {"base_url": receiver.url(api2)},
                           "credentials": {"token": t2}})
    assert r.status_code == 200 and r.json()["settings"] == {"base_url": receiver.url(api2)}
    me.action(con["id"], "get", {"path": "/c"})
    assert receiver.to(api + "/c") == [] and receiver.bearer(receiver.to(api2 + "/c")[0]) == t2

    # credentials replace the whole object: none left, no Authorization
    r = me("PATCH", path, {"credentials": {}})
    assert r.status_code == 200 and r.json()["credentials_hint"] == {}
    me.action(con["id"], "get", {"path": "/d"})
    assert "authorization" not in receiver.to(api2 + "/d")[0]["headers"]

    # refused changes change nothing
    before = me.connection(con["id"])
    for body, field in [({"settings": {}}, "settings.base_url"),
                        ({"settings": {"base_url": "ftp://x.example.com/"}}, "settings.base_url"),
                        ({"settings": {"base_url": ok_url(), "x": 1}}, "settings.x"),
                        ({"settings": None}, "settings"),
                        ({"credentials": {"token": 5}}, "credentials.token"),
                        ({"credentials": {"token": "t", "extra": "x"}}, "credentials.extra"),
                        ({"credentials": None}, "credentials"),
                        ({"base_url": "https://api.example.com"}, "base_url"),
                        ({"connector": "github"}, "connector"),
                        ({"name": ""}, "name"), ({"name": None}, "name"),
                        ({"colour": "red"}, "colour")]:
        err = assert_error(me("PATCH", path, body), 422, "validation_failed")
        assert fields(err) == {field}, (body, err)
    assert me.connection(con["id"]) == before
    assert_error(me("PATCH", path, [1]), 400)

    # github's base URL override changes, and is checked
    gh, prefix, _ = github(me, receiver)
    gpath = f"{CONNS}/{gh['id']}"
    err = assert_error(me("PATCH", gpath, {"base_url": "javascript:alert(1)"}), 422)
    assert fields(err) == {"base_url"}
    assert me.connection(gh["id"])["base_url"] == receiver.url(prefix)


def ok_url():
    return "https://api.example.com/v1"


def test_list_filter_and_pages(stack, receiver):
    me = Hub(stack)
    gh_ids = [github(me, receiver)[0]["id"] for _ in range(3)]
    slack_ids = [slack(me, receiver)[0]["id"] for _ in range(2)]
    github(Hub(stack), receiver)  # another org's
    everything = sorted(gh_ids + slack_ids)
    assert [c["id"] for c in me.pages(CONNS)] == everything
    assert [c["id"] for c in me("GET", CONNS).json()["data"]] == everything  # default limit
    assert [c["id"] for c in me.as_role("viewer").pages(CONNS)] == everything
    assert [c["id"] for c in me.pages(f"{CONNS}?connector=github")] == sorted(gh_ids)
    assert [c["id"] for c in me.pages(f"{CONNS}?connector=slack")] == sorted(slack_ids)
    assert me.pages(f"{CONNS}?connector=jira") == []
    for query, want, pages_want in [("limit=2", everything, 3),
                                    ("connector=github&limit=2", sorted(gh_ids), 2),
                                    ("connector=slack&limit=1", sorted(slack_ids), 2)]:
        seen, cursor, pages = [], None, 0
        while True:
            r = me("GET", f"{CONNS}?{query}" + (f"&cursor={cursor}" if cursor else ""))
            assert r.status_code == 200, r.text
            assert len(r.json()["data"]) <= int(query.rsplit("=", 1)[1])
            seen += [c["id"] for c in r.json()["data"]]
            cursor, pages = r.json()["next_cursor"], pages + 1
            if not cursor:
                break
        assert (seen, pages) == (want, pages_want), query
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=%21%21"):
        assert_error(me("GET", f"{CONNS}?{bad}"), 400)


def test_idempotency_key_replays_the_first_connection(stack, schemas, receiver):
    me = Hub(stack)
    key = {"Idempotency-Key": new_id("idem")}
    token = gh_token()
    body = {"connector": "github", "name": "once", "credentials": {"token": token},
            "base_url": receiver.url("/ghe")}
    a = me("POST", CONNS, body, headers=key)
    b = me("POST", CONNS, body, headers=key)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert b.json() == a.json() and b.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in a.headers
    hidden([a.text, b.text], token)
    assert [c["id"] for c in me.pages(CONNS)] == [a.json()["id"]]
    err = assert_error(me("POST", CONNS, {**body, "name": "twice"}, headers=key), 422)
    assert err["code"] == "idempotency_key_reused"
    theirs = Hub(stack)("POST", CONNS, body, headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != a.json()["id"]
    [(kind, data, _)] = connection_events(stack, schemas, a.json()["id"], 1)
    assert kind == "created" and data["name"] == "once"
    time.sleep(1)
    assert len(integration_events(stack, a.json()["id"], timeout=0)) == 1, "created once"


def test_events_of_a_connections_life(stack, schemas, receiver):
    me = Hub(stack)
    con, prefix, token = github(me, receiver)
    cid, path = con["id"], f"{CONNS}/{con['id']}"
    assert me("PATCH", path, {"name": "Renamed"}).status_code == 200
    receiver.script(prefix + "/user", [reply(200, {"login": "o"}),
                                       reply(401, {"message": "Bad credentials"}),
                                       reply(200, {"login": "o"})])
    assert me.test_connection(cid)["ok"] is True      # active already: no event
    assert me.test_connection(cid)["ok"] is False     # needs_attention
    assert me.test_connection(cid)["ok"] is True      # active again
    assert me("DELETE", path).status_code == 204
    events = connection_events(stack, schemas, cid, 5)
    assert [(k, d["status"], d["actor_id"]) for k, d, _ in events] == [
        ("created", "active", me.user_id), ("updated", "active", me.user_id),
        ("updated", "needs_attention", None), ("updated", "active", None),
        ("deleted", "active", me.user_id)]
    # every change of the row raises the revision (a reader keeps the highest); the delete
    # carries the last one
    assert [d["revision"] for _, d, _ in events] == [1, 2, 3, 4, 4]
    assert all(d["updated_at"] for _, d, _ in events)
    for _, d, raw in events:
        assert (d["org_id"], d["connector"]) == (me.org_id, "github")
        hidden([raw], token)
    assert events[0][1]["name"] == con["name"]
    assert [d["name"] for _, d, _ in events[1:]] == ["Renamed"] * 4
    assert events[1][1]["status_reason"] is None and events[3][1]["status_reason"] is None
    assert isinstance(events[2][1]["status_reason"], str) and events[2][1]["status_reason"]
    time.sleep(1)
    assert len(integration_events(stack, cid, timeout=0)) == 5


# ====================================================================== actions

def test_path_fields_are_percent_encoded(stack, receiver):
    me = Hub(stack)
    con, gh, _ = github(me, receiver)
    owner, repo = "a b/c", "r.x_y~z-1?#%\u00e9"
    assert me.action(con["id"], "list_repo_issues", {"owner": owner, "repo": repo})["ok"]
    [req] = receiver.under(gh)
    assert quote(repo, safe="") == "r.x_y~z-1%3F%23%25%C3%A9"
    assert req["path"] == f"{gh}/repos/a%20b%2Fc/r.x_y~z-1%3F%23%25%C3%A9/issues"
    assert req["query"] == ""
    # an integer
    out = me.action(con["id"], "create_issue_comment",
                    {"owner": "o", "repo": "r", "issue_number": 7, "body": "same here"})
    assert out["ok"]
    req = receiver.under(gh)[-1]
    assert (req["method"], req["path"]) == ("POST", f"{gh}/repos/o/r/issues/7/comments")
    assert receiver.body(req) == {"body": "same here"}

    # {+path} keeps "/", encodes the rest; ".." segments are refused before anything is sent
    hc, api, _ = http(me, receiver)
    me.action(hc["id"], "get", {"path": "/files/a b/c~d.txt"})
    me.action(hc["id"], "get", {"path": "/files/..hidden/x"})
    assert [q["path"] for q in receiver.under(api)] == [f"{api}/files/a%20b/c~d.txt",
                                                        f"{api}/files/..hidden/x"]
    for bad in ("/a/../b", "/../etc/passwd", "/a/..", "../x"):
        err = assert_error(me.run(hc["id"], "get", {"path": bad}), 422, "validation_failed")
        assert fields(err) == {"input.path"}, bad
    assert len(receiver.under(api)) == 2


def test_requests_no_input_can_forge(stack, receiver):
    me = Hub(stack)
    con, gh, token = github(me, receiver)
    # a path field that is a dot segment of its own would climb the action's path
    for owner in ("..", "."):
        err = assert_error(me.run(con["id"], "list_repo_issues", {"owner": owner, "repo": "r"}),
                           422, "validation_failed")
        assert fields(err) == {"input.owner"}, owner
    # the User-Agent says the request is the hub's (inbound hooks refuse it: no loops)
    hc, api, _ = http(me, receiver)
    err = assert_error(me.run(hc["id"], "get", {"path": "/x", "headers": {"User-Agent": "me"}}),
                       422, "validation_failed")
    assert fields(err) == {"input.headers.User-Agent"}
    # the caller's Idempotency-Key reaches the vendor as a header: printable ASCII only
    assert_error(me.run(hc["id"], "post", {"path": "/k", "body": {}},
                        headers={"Idempotency-Key": "k\u00e9y"}), 400, "invalid_idempotency_key")
    assert receiver.to(api + "/k") == []
    me.action(hc["id"], "get", {"path": "/ua"})
    assert receiver.to(api + "/ua")[0]["headers"]["user-agent"] == "techcorp-integrations"
    # credentials become header values: no control characters
    for bad in ("t\r\nX-Injected: 1", "t\nx", "t\x7f"):
        r = me("POST", CONNS, {"connector": "http", "name": "x",
                               "settings": {"base_url": receiver.url(api)},
                               "credentials": {"token": bad}})
        err = assert_error(r, 422, "validation_failed")
        assert fields(err) == {"credentials.token"}, repr(bad)
    assert not [q for q in receiver.under(api) if "x-injected" in q["headers"]]
    assert len(receiver.under(gh)) == 0


def test_stored_credentials_do_not_follow_a_new_address(stack, receiver):
    me = Hub(stack)
    con, gh, token = github(me, receiver)
    path = f"{CONNS}/{con['id']}"
    elsewhere = receiver.path("elsewhere")
    # moving the base URL without giving the credentials again is refused, whoever asks
    err = assert_error(me("PATCH", path, {"base_url": receiver.url(elsewhere)}), 422,
                       "validation_failed")
    assert fields(err) == {"credentials"}
    assert me.connection(con["id"])["base_url"] == con["base_url"]
    new = gh_token()
    r = me("PATCH", path, {"base_url": receiver.url(elsewhere), "credentials": {"token": new}})
    assert r.status_code == 200, r.text
    me.action(con["id"], "get_authenticated_user")
    assert receiver.bearer(receiver.to(elsewhere + "/user")[0]) == new
    assert receiver.under(gh) == []
    # the same for settings a base URL comes from; a name change needs nothing
    hc, api, _ = http(me, receiver)
    hpath = f"{CONNS}/{hc['id']}"
    err = assert_error(me("PATCH", hpath, {"settings": {"base_url": receiver.url(elsewhere)}}),
                       422, "validation_failed")
    assert fields(err) == {"credentials"}
    assert me("PATCH", hpath, {"name": "renamed"}).status_code == 200
    # a connection without credentials has nothing to protect
    bare = me.create_connection("http", settings={"base_url": receiver.url(api)})
    r = me("PATCH", f"{CONNS}/{bare['id']}", {"settings": {"base_url": receiver.url(elsewhere)}})
    assert r.status_code == 200, r.text


def test_token_endpoint_trouble_is_not_the_connections(stack, receiver):
    me = Hub(stack)
    cid, csecret = oauth_client()
    for answer, code in ((reply(503, {"error": "temporarily_unavailable"}), "vendor_unavailable"),
                         (reply(429, {"error": "slow_down"}), "vendor_unavailable"),
                         (reply(200, "<html>login</html>"), "vendor_invalid_answer")):
        api, tok = receiver.path("o2api"), receiver.path("tok")
        receiver.script(tok, then=answer)
        con = me.create_connection("http-oauth2",
                                   settings={"base_url": receiver.url(api),
                                             "token_url": receiver.url(tok)},
                                   credentials={"client_id": cid, "client_secret": csecret})
        assert_error(me.run(con["id"], "get", {"path": "/x"}), 424, code)
        assert receiver.under(api) == [], "no token, no request to the vendor"
        got = me.connection(con["id"])
        assert (got["status"], got["status_reason"]) == ("active", None), (code, got)


def test_answers_that_are_not_text_come_in_base64(stack, receiver):
    me = Hub(stack)
    hc, api, _ = http(me, receiver)
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"
    receiver.script(api + "/img", then=reply(200, raw, {"Content-Type": "image/png"}))
    out = me.action(hc["id"], "get", {"path": "/img"})
    assert (out["body_encoding"], base64.b64decode(out["body"])) == ("base64", raw)
    receiver.script(api + "/txt", then=reply(200, "caf\u00e9 ok".encode()))
    out = me.action(hc["id"], "get", {"path": "/txt"})
    assert (out["body_encoding"], out["body"]) == ("text", "caf\u00e9 ok")
    # text that starts like JSON is text, whole (a parser stops after "404")
    receiver.script(api + "/nf", then=reply(404, b"404 page not found"))
    out = me.action(hc["id"], "get", {"path": "/nf"})
    assert (out["body_encoding"], out["body"]) == ("text", "404 page not found")
    out = me.action(hc["id"], "get", {"path": "/json"})
    assert out["body_encoding"] == "json"


def test_query_parameters_from_input_fields(stack, receiver):
    me = Hub(stack)
    con, gh, _ = github(me, receiver)
    given = {"owner": "o", "repo": "r", "state": "open", "labels": "bug,ui x", "per_page": 5,
             "page": 2}
    receiver.script(f"{gh}/repos/o/r/issues", then=reply(200, [{"number": 1}]))
    out = me.action(con["id"], "list_repo_issues", given)
    assert out["output"] == [{"number": 1}]
    [req] = receiver.to(f"{gh}/repos/o/r/issues")
    assert receiver.query(req) == {"state": ["open"], "labels": ["bug,ui x"], "per_page": ["5"],
                                   "page": ["2"]}
    # the fields absent are not sent
    me.action(con["id"], "list_repo_issues", {"owner": "o", "repo": "r", "per_page": 100})
    assert receiver.query(receiver.to(f"{gh}/repos/o/r/issues")[1]) == {"per_page": ["100"]}


def test_query_and_headers_objects(stack, receiver):
    me = Hub(stack)
    con, api, token = http(me, receiver)
    out = me.action(con["id"], "get", {"path": "/search",
                                       "query": {"q": "a b&c=d", "lang": "fr"},
                                       "headers": {"X-Trace-Id": "t-1", "Accept-Language": "fr"}})
    assert out["ok"]
    [req] = receiver.to(api + "/search")
    assert receiver.query(req) == {"q": ["a b&c=d"], "lang": ["fr"]}
    h = req["headers"]
    assert (h["x-trace-id"], h["accept-language"]) == ("t-1", "fr")
    assert h["authorization"] == f"Bearer {token}"
    for name in ("Authorization", "authorization", "Host", "Cookie", "Content-Length",
                 "Transfer-Encoding"):
        err = assert_error(me.run(con["id"], "get", {"path": "/x", "headers": {name: "v"}}),
                           422, "validation_failed")
        assert fields(err) == {f"input.headers.{name}"}, name
    assert receiver.to(api + "/x") == []


def test_bodies_rest_and_field(stack, receiver):
    me = Hub(stack)
    # "rest": the input without the fields that went into the path
    con, gh, _ = github(me, receiver)
    given = {"owner": "o", "repo": "r", "title": "Flaky test", "body": "It broke",
             "labels": ["bug"]}
    receiver.script(f"{gh}/repos/o/r/issues", then=reply(201, {"number": 12}))
    out = me.action(con["id"], "create_issue", given)
    assert (out["ok"], out["status_code"], out["output"]) == (True, 201, {"number": 12})
    [req] = receiver.to(f"{gh}/repos/o/r/issues")
    assert req["method"] == "POST"
    assert receiver.body(req) == {"title": "Flaky test", "body": "It broke", "labels": ["bug"]}
    assert req["headers"]["content-type"].startswith("application/json")
    # a field: its value is the body; path, query and headers go elsewhere
    hc, api, _ = http(me, receiver)
    me.action(hc["id"], "post", {"path": "/orders", "query": {"dry": "1"},
                                 "headers": {"X-A": "b"},
                                 "body": {"items": [1, 2], "note": None}})
    [req] = receiver.to(api + "/orders")
    assert receiver.body(req) == {"items": [1, 2], "note": None}
    assert receiver.query(req) == {"dry": ["1"]} and req["headers"]["x-a"] == "b"
    assert req["headers"]["content-type"].startswith("application/json")
    me.action(hc["id"], "post", {"path": "/bulk", "body": [{"a": 1}, {"a": 2}]})
    assert receiver.body(receiver.to(api + "/bulk")[0]) == [{"a": 1}, {"a": 2}]
    # a GET sends none
    me.action(hc["id"], "get", {"path": "/orders/1", "query": {"x": "1"}})
    assert receiver.to(api + "/orders/1")[0]["body"] == b""


def test_graphql_output_is_the_data(stack, receiver):
    me = Hub(stack)
    gql, token = receiver.path("graphql"), "gql_" + secrets.token_hex(12)
    con = me.create_connection("graphql", settings={"endpoint": receiver.url(gql)},
                               credentials={"token": token})
    receiver.script(gql, [reply(200, {"data": {"viewer": {"login": "octo"}}}),
                          reply(200, {"errors": [{"message": "Cannot query field"}]})])
    given = {"query": "query Q($a: Int) { viewer { login } }", "variables": {"a": 1},
             "operationName": "Q"}
    out = me.action(con["id"], "query", given)
    assert out["output"] == {"viewer": {"login": "octo"}}
    assert out["body"] == {"data": {"viewer": {"login": "octo"}}}
    [req] = receiver.to(gql)
    assert req["method"] == "POST" and receiver.body(req) == given
    assert req["headers"]["accept"] == "application/graphql-response+json, application/json"
    assert req["headers"]["authorization"] == f"Bearer {token}"
    # the pointer names nothing: null
    out = me.action(con["id"], "query", {"query": "{ nope }"})
    assert (out["ok"], out["output"]) == (True, None)
    assert out["body"] == {"errors": [{"message": "Cannot query field"}]}


def test_vendor_answers_of_any_status_and_kind(stack, receiver):
    me = Hub(stack)
    con, gh, _ = github(me, receiver)
    receiver.script(gh + "/user", [
        reply(404, {"message": "Not Found"}, {"X-GitHub-Request-Id": "AB:12"}),
        reply(200, "plain text answer"),
        reply(204),
        reply(200, {"login": "o"}, {"X-RateLimit-Remaining": "4999"})])
    a = me.action(con["id"], "get_authenticated_user")
    assert {k: a[k] for k in ("ok", "status_code", "body", "output", "attempts")} == {
        "ok": False, "status_code": 404, "body": {"message": "Not Found"},
        "output": {"message": "Not Found"}, "attempts": 1}
    assert a["headers"]["x-github-request-id"] == "AB:12"
    b = me.action(con["id"], "get_authenticated_user")
    assert (b["ok"], b["status_code"], b["body"], b["output"]) == \
        (True, 200, "plain text answer", "plain text answer")
    c = me.action(con["id"], "get_authenticated_user")
    assert (c["ok"], c["status_code"], c["body"], c["output"]) == (True, 204, None, None)
    d = me.action(con["id"], "get_authenticated_user")
    assert d["headers"]["x-ratelimit-remaining"] == "4999"
    assert d["headers"]["content-type"] == "application/json"
    assert all(k == k.lower() for k in d["headers"]), d["headers"]
    assert len(receiver.to(gh + "/user")) == 4, "a 404 is an answer, not retried"


def test_retry_after_is_honoured(stack, receiver):
    me = Hub(stack)
    con, api, _ = http(me, receiver)
    p = api + "/busy"
    receiver.script(p, [reply(429, {"error": "rate limited"}, {"Retry-After": "1"})],
                    then=reply(200, {"done": True}))
    out = me.action(con["id"], "get", {"path": "/busy"})
    assert (out["ok"], out["status_code"], out["attempts"], out["output"]) == \
        (True, 200, 2, {"done": True})
    first, second = receiver.to(p)
    gap = second["at"] - first["at"]
    assert 0.9 <= gap < 10, f"the second attempt came {gap:.2f} s after the first"


def test_a_get_is_attempted_three_times(stack, receiver):
    me = Hub(stack)
    con, api, _ = http(me, receiver)
    p = api + "/down"
    receiver.script(p, then=reply(503, {"error": "down"}))
    out = me.action(con["id"], "get", {"path": "/down"})
    assert (out["ok"], out["status_code"], out["attempts"], out["body"]) == \
        (False, 503, 3, {"error": "down"})
    time.sleep(1)
    assert len(receiver.to(p)) == 3


def test_a_post_without_idempotency_header_is_attempted_once(stack, receiver):
    me = Hub(stack)
    con, hook = slack(me, receiver)
    receiver.script(hook, then=reply(503, "busy"))
    out = me.action(con["id"], "post_message", {"text": "once"})
    assert (out["ok"], out["status_code"], out["attempts"], out["body"]) == \
        (False, 503, 1, "busy")
    gh, prefix, _ = github(me, receiver)
    receiver.script(f"{prefix}/repos/o/r/issues", then=reply(502, {"message": "bad gateway"}))
    out = me.action(gh["id"], "create_issue", {"owner": "o", "repo": "r", "title": "t"})
    assert (out["ok"], out["status_code"], out["attempts"]) == (False, 502, 1)
    time.sleep(1)
    assert len(receiver.to(hook)) == 1 and len(receiver.to(f"{prefix}/repos/o/r/issues")) == 1


def test_the_callers_idempotency_key_reaches_the_vendor(stack, receiver):
    me = Hub(stack)
    con, api, _ = http(me, receiver)
    p = api + "/payments"
    receiver.script(p, [reply(503)], then=reply(201, {"id": "pay_1"}))
    key = "idem-" + secrets.token_hex(8)
    out = me.action(con["id"], "post", {"path": "/payments", "body": {"amount": 100}},
                    headers={"Idempotency-Key": key})
    assert (out["ok"], out["status_code"], out["attempts"], out["output"]) == \
        (True, 201, 2, {"id": "pay_1"})
    assert [q["headers"].get("idempotency-key") for q in receiver.to(p)] == [key, key]
    # an action without an idempotency header does not pass it on
    sc, hook = slack(me, receiver)
    me.action(sc["id"], "post_message", {"text": "x"}, headers={"Idempotency-Key": key})
    assert "idempotency-key" not in receiver.to(hook)[0]["headers"]


def test_invalid_input_names_every_field(stack, receiver):
    me = Hub(stack)
    con, gh, _ = github(me, receiver)
    path = f"{CONNS}/{con['id']}/actions/list_repo_issues"
    err = assert_error(me.run(con["id"], "list_repo_issues",
                              {"owner": "", "per_page": 0, "state": "weird", "page": "2",
                               "colour": "red"}), 422, "validation_failed")
    assert fields(err) == {"input.owner", "input.repo", "input.per_page", "input.state",
                           "input.page", "input.colour"}, err
    err = assert_error(me.run(con["id"], "create_issue_comment",
                              {"owner": "o", "repo": "r", "issue_number": 1.5, "body": 3}), 422)
    assert fields(err) == {"input.issue_number", "input.body"}, err
    err = assert_error(me.slow("POST", path, {"input": ["o", "r"]}), 422, "validation_failed")
    assert fields(err) == {"input"}
    err = assert_error(me.slow("POST", path, {"input": {"owner": "o", "repo": "r"},
                                              "inputs": {}}), 422, "validation_failed")
    assert fields(err) == {"inputs"}
    dd = me.create_connection("datadog", settings={"site_url": receiver.url("/dd")},
                              credentials={"api_key": "k" * 32})
    err = assert_error(me.run(dd["id"], "post_event", {"title": "t" * 101, "text": "x",
                                                       "priority": "urgent"}), 422)
    assert fields(err) == {"input.title", "input.priority"}, err
    assert receiver.under(gh) == [] and receiver.under("/dd") == [], "nothing was sent"


def test_unknown_actions_and_connections_are_not_found(stack, receiver):
    me = Hub(stack)
    con, gh, _ = github(me, receiver)
    for action in ("nope", "post_message", "get", "Get_Authenticated_User"):
        assert_error(me.run(con["id"], action), 404)  # its code: test_choices_where_…
    for bad in (new_id("con"), "con_x"):
        assert_error(me.run(bad, "get_authenticated_user"), 404, "not_found")
    assert receiver.under(gh) == []


def test_oauth2_token_is_kept_and_renewed(stack, receiver):
    me = Hub(stack)
    cid, csecret = oauth_client()
    con, api, te = http_oauth2(me, receiver, cid, csecret)
    assert con["credentials_hint"] == {"client_id": credential_hint(cid),
                                       "client_secret": credential_hint(csecret)}
    a = me.run(con["id"], "get", {"path": "/things/1"})
    b = me.run(con["id"], "post", {"path": "/things", "body": {"name": "x"}})
    r_texts = [a.text, b.text]
    assert a.json()["ok"] and b.json()["ok"]
    assert (te.count, te.granted) == (1, 1), "two actions, one token"
    [t1] = te.issued
    [tr] = te.requests
    assert tr["method"] == "POST" and tr["form"]["grant_type"] == "client_credentials"
    assert tr["client"] == (cid, csecret) and tr["answer"] == 200
    assert [receiver.bearer(q) for q in receiver.under(api)] == [t1, t1]

    # the vendor refuses the token once: a new one is fetched and the request sent again
    p = api + "/things/2"
    receiver.script(p, [reply(401, {"error": "invalid_token"},
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})],
                    then=reply(200, {"id": 2}))
    c = me.action(con["id"], "get", {"path": "/things/2"})
    assert (c["ok"], c["status_code"], c["output"]) == (True, 200, {"id": 2})
    assert te.granted == 2
    t2 = te.issued[1]
    assert [receiver.bearer(q) for q in receiver.to(p)] == [t1, t2]
    # and the new one is kept
    me.action(con["id"], "get", {"path": "/things/3"})
    assert te.granted == 2 and receiver.bearer(receiver.to(api + "/things/3")[0]) == t2
    # renewed once only: a 401 with the new token too is the answer
    receiver.script(api + "/things/4", then=reply(401, {"error": "invalid_token"}))
    d = me.action(con["id"], "get", {"path": "/things/4"})
    assert (d["ok"], d["status_code"]) == (False, 401)
    assert te.granted == 3 and len(receiver.to(api + "/things/4")) == 2

    # a token is kept only while it is valid
    con2, api2, te2 = http_oauth2(me, receiver, cid, csecret, expires_in=2)
    me.action(con2["id"], "get", {"path": "/x"})
    time.sleep(3)
    me.action(con2["id"], "get", {"path": "/y"})
    assert te2.granted == 2
    assert [receiver.bearer(q) for q in receiver.under(api2)] == te2.issued
    r_texts += [me("GET", CONNS).text, me("GET", f"{CONNS}/{con['id']}").text]
    hidden(r_texts, csecret, *te.issued)


def test_oauth2_refused_client_needs_attention(stack, schemas, receiver):
    me = Hub(stack)
    cid, right = oauth_client()
    wrong = "wrong-" + secrets.token_hex(16)
    con, api, te = http_oauth2(me, receiver, cid, wrong, endpoint_secret=right)
    path = f"{CONNS}/{con['id']}"
    me.run(con["id"], "get", {"path": "/things/1"})  # its answer: test_choices_where_…
    assert (te.count, te.granted) == (1, 0) and te.requests[0]["answer"] == 401
    assert receiver.under(api) == [], "no token, no request to the vendor"
    got = me.connection(con["id"])
    assert got["status"] == "needs_attention"
    assert isinstance(got["status_reason"], str) and got["status_reason"]
    events = connection_events(stack, schemas, con["id"], 2)
    assert [(k, d["status"], d["actor_id"]) for k, d, _ in events] == [
        ("created", "active", me.user_id), ("updated", "needs_attention", None)]
    assert events[1][1]["status_reason"]

    # new credentials: active again, and the action works
    r = me("PATCH", path, {"credentials": {"client_id": cid, "client_secret": right}})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("active", None)
    out = me.action(con["id"], "get", {"path": "/things/1"})
    assert out["ok"] and te.granted == 1
    assert receiver.bearer(receiver.to(api + "/things/1")[0]) == te.issued[0]
    events = connection_events(stack, schemas, con["id"], 3)
    assert (events[2][0], events[2][1]["status"], events[2][1]["actor_id"]) == \
        ("updated", "active", me.user_id)
    hidden([r.text] + [raw for _, _, raw in events], right, wrong)


def test_connection_test(stack, receiver):
    me = Hub(stack)
    con, gh, token = github(me, receiver)
    cid = con["id"]
    receiver.script(gh + "/user", [reply(200, {"login": "octo"}),
                                   reply(401, {"message": "Bad credentials"}),
                                   reply(403, {"message": "Forbidden"}),
                                   reply(500, {"message": "oops"}),
                                   reply(200, {"login": "octo"})])
    t = me.test_connection(cid)
    assert {k: t[k] for k in ("ok", "status_code", "error")} == \
        {"ok": True, "status_code": 200, "error": None}
    assert isinstance(t["duration_ms"], int) and t["duration_ms"] >= 0
    [req] = receiver.under(gh)
    assert (req["method"], req["path"]) == ("GET", gh + "/user")
    assert req["headers"]["authorization"] == f"Bearer {token}"
    assert me.connection(cid)["status"] == "active"

    for status in (401, 403):
        t = me.test_connection(cid)
        assert (t["ok"], t["status_code"]) == (False, status) and t["error"]
        got = me.connection(cid)
        assert got["status"] == "needs_attention" and got["status_reason"], got
    t = me.test_connection(cid)  # a failure that says nothing of the credentials
    assert (t["ok"], t["status_code"]) == (False, 500) and t["error"]
    assert me.connection(cid)["status"] == "needs_attention"
    t = me.test_connection(cid)
    assert (t["ok"], t["status_code"], t["error"]) == (True, 200, None)
    got = me.connection(cid)
    assert (got["status"], got["status_reason"]) == ("active", None)
    assert len(receiver.under(gh)) == 5

    # jira (basic) and datadog (api key) run their test actions
    site = receiver.path("jira")
    jira = me.create_connection("jira", settings={"site_url": receiver.url(site)},
                                credentials={"email": "a@acme.example", "api_token": "tkn"})
    assert me.test_connection(jira["id"])["ok"] is True
    [req] = receiver.under(site)
    assert req["path"] == site + "/rest/api/3/myself"
    assert req["headers"]["authorization"] == basic("a@acme.example", "tkn")
    site = receiver.path("dd")
    receiver.script(site + "/api/v1/validate", then=reply(403, {"errors": ["Forbidden"]}))
    dd = me.create_connection("datadog", settings={"site_url": receiver.url(site)},
                              credentials={"api_key": "k" * 32})
    t = me.test_connection(dd["id"])
    assert (t["ok"], t["status_code"]) == (False, 403)
    assert me.connection(dd["id"])["status"] == "needs_attention"

    # OAuth 2.0 without a test action: a token is asked for
    cid_, csecret = oauth_client()
    o2, api, te = http_oauth2(me, receiver, cid_, csecret)
    assert me.test_connection(o2["id"])["ok"] is True
    assert te.granted >= 1 and receiver.under(api) == []
    bad, api, te = http_oauth2(me, receiver, cid_, "wrong-" + csecret, endpoint_secret=csecret)
    t = me.test_connection(bad["id"])
    assert t["ok"] is False and t["error"] and te.granted == 0
    assert me.connection(bad["id"])["status"] == "needs_attention"

    # nothing to test with
    for connector, body in [
            ("slack", {"credentials": {"webhook_url": receiver.url("/slack/x")}}),
            ("microsoft-teams", {"credentials": {"webhook_url": receiver.url("/teams/x")}}),
            ("discord", {"credentials": {"webhook_url": receiver.url("/discord/x")}}),
            ("http", {"settings": {"base_url": receiver.url("/api")}}),
            ("graphql", {"settings": {"endpoint": receiver.url("/gql")}})]:
        c = me.create_connection(connector, **body)
        assert_error(me.slow("POST", f"{CONNS}/{c['id']}/test"), 422, "not_testable")
    assert receiver.under("/slack") == [] and receiver.under("/api") == []
    assert_error(me.as_role("editor")("POST", f"{CONNS}/{cid}/test"), 403, "forbidden")


def test_an_unreachable_vendor_is_424(stack):
    me = Hub(stack)
    port = unused_port()
    sc = me.create_connection("slack", credentials={
        "webhook_url": f"http://127.0.0.1:{port}/services/T0/B0/x"})
    assert_error(me.run(sc["id"], "post_message", {"text": "x"}), 424, "vendor_unavailable")
    gh = me.create_connection("github", credentials={"token": gh_token()},
                              base_url=f"http://127.0.0.1:{port}/api/v3")
    assert_error(me.run(gh["id"], "get_authenticated_user"), 424, "vendor_unavailable")
    assert me.connection(gh["id"])["status"] == "active"


# ====================================================================== the spec's open points

def test_choices_where_the_spec_is_open(stack, receiver):
    """Behaviour the API spec of this slice does not settle: what was chosen (the report of
    the change lists each, D1…D17). Adjust here, and only here, when the choice changes.
    D8 and D12 follow what the implementation in progress does."""
    me = Hub(stack)

    # D1: a connector whose definition has no settings (credentials) schema shows an object
    # schema without properties that allows none
    none = {"type": "object", "additionalProperties": False, "properties": {}}
    assert me("GET", "/v1/integrations/connectors/github").json()["settings"] == none
    assert me("GET", "/v1/integrations/connectors/slack").json()["settings"] == none
    # D2: …and a connection of it with settings names each one as unknown
    err = assert_error(me("POST", CONNS, {"connector": "github", "name": "x",
                                          "settings": {"x": 1},
                                          "credentials": {"token": gh_token()}}), 422)
    assert fields(err) == {"settings.x"}

    # D3: base_url is in every connection, null without an override; PATCH null removes it
    # (that connection would call api.github.com: no action is run with it)
    hc, api, _ = http(me, receiver)
    assert hc["base_url"] is None
    plain, _, _ = github(me, receiver)
    r = me("PATCH", f"{CONNS}/{plain['id']}", {"base_url": None})
    assert r.status_code == 200 and r.json()["base_url"] is None
    gh, prefix, _ = github(me, receiver)

    # D4: the list's connector filter with an id the catalog does not have is 400
    assert_error(me("GET", f"{CONNS}?connector=nope"), 400, "invalid_parameter")

    # D5: creating a connection contacts nobody (no request, no token)
    cid, csecret = oauth_client()
    o2, o2api, te = http_oauth2(me, receiver, cid, csecret)
    assert te.count == 0 and receiver.under(prefix) == [] and receiver.under(api) == []

    # D6: an action called without a body runs with input {}
    r = me.slow("POST", f"{CONNS}/{gh['id']}/actions/get_authenticated_user")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text

    # D7: attempts counts every request sent to the vendor, the one sent again with a renewed
    # OAuth token included
    me.action(o2["id"], "get", {"path": "/warm"})
    receiver.script(o2api + "/renew", [reply(401, {"error": "invalid_token"})],
                    then=reply(200, {}))
    out = me.action(o2["id"], "get", {"path": "/renew"})
    assert (out["ok"], out["attempts"]) == (True, 2)

    # D8: an action whose token request is refused is 409 connection_needs_attention
    # (nothing is sent to the vendor, the status becomes needs_attention)
    bad, badapi, badte = http_oauth2(me, receiver, cid, "wrong-" + csecret,
                                     endpoint_secret=csecret)
    assert_error(me.run(bad["id"], "get", {"path": "/x"}), 409, "connection_needs_attention")
    assert receiver.under(badapi) == []

    # D9: auth.scope "{settings.scope}": the setting as the token request's scope, none without
    scoped, _, scoped_te = http_oauth2(me, receiver, cid, csecret)
    r = me("PATCH", f"{CONNS}/{scoped['id']}",
           {"settings": {**scoped["settings"], "scope": "read:things write:things"},
            "credentials": {"client_id": cid, "client_secret": csecret}})
    assert r.status_code == 200, r.text
    me.action(scoped["id"], "get", {"path": "/s"})
    assert scoped_te.requests[-1]["form"].get("scope") == "read:things write:things"
    assert "scope" not in te.requests[0]["form"]

    # D10: POST …/test of an OAuth connection asks for a new token even while one is kept;
    # status_code is the token endpoint's
    granted = te.granted
    t = me.test_connection(o2["id"])
    assert (t["ok"], t["status_code"]) == (True, 200) and te.granted == granted + 1

    # D11: a test that gets no answer is ok false with status_code null; the status stays
    port = unused_port()
    gone = me.create_connection("github", credentials={"token": gh_token()},
                                base_url=f"http://127.0.0.1:{port}")
    t = me.test_connection(gone["id"])
    assert (t["ok"], t["status_code"]) == (False, None) and t["error"]
    assert me.connection(gone["id"])["status"] == "active"

    # D12: a 401 to an action sets needs_attention, a 2xx to an action sets it active again;
    # a 404 changes nothing, and neither does an action's 403 (GitHub answers 403 for a rate
    # limit or one repository out of reach: the credentials may be fine)
    receiver.script(prefix + "/user", [reply(401, {"message": "Bad credentials"}),
                                       reply(404, {"message": "Not Found"}),
                                       reply(403, {"message": "API rate limit exceeded"})],
                    then=reply(200, {"login": "o"}))
    assert me.action(gh["id"], "get_authenticated_user")["status_code"] == 401
    assert me.connection(gh["id"])["status"] == "needs_attention"
    assert me.action(gh["id"], "get_authenticated_user")["status_code"] == 404
    assert me.connection(gh["id"])["status"] == "needs_attention"
    assert me.action(gh["id"], "get_authenticated_user")["status_code"] == 403
    assert me.connection(gh["id"])["status"] == "needs_attention"
    assert me.action(gh["id"], "get_authenticated_user")["status_code"] == 200
    assert me.connection(gh["id"])["status"] == "active"

    # D12b: an action the connector does not have is 404 action_not_found
    assert_error(me.run(gh["id"], "post_message"), 404, "action_not_found")

    # D13: an action with an idempotency header (http post) is retried only when the caller
    # sent a key the vendor can dedupe on; without one, a POST is sent once
    receiver.script(api + "/nokey", then=reply(503))
    out = me.action(hc["id"], "post", {"path": "/nokey", "body": {}})
    assert out["attempts"] == 1
    assert all("idempotency-key" not in q["headers"] for q in receiver.to(api + "/nokey"))
    receiver.script(api + "/withkey", then=reply(503))
    out = me.action(hc["id"], "post", {"path": "/withkey", "body": {}},
                    headers={"Idempotency-Key": "k-" + secrets.token_hex(6)})
    assert out["attempts"] == 3

    # D14: the hub keeps no action result per Idempotency-Key: the vendor deduplicates
    key = {"Idempotency-Key": "k-" + secrets.token_hex(6)}
    me.action(hc["id"], "post", {"path": "/twice", "body": {}}, headers=key)
    me.action(hc["id"], "post", {"path": "/twice", "body": {}}, headers=key)
    assert len(receiver.to(api + "/twice")) == 2

    # D15: {+x} encodes every character but the unreserved ones and "/"
    me.action(hc["id"], "get", {"path": "/search?q=1#x"})
    assert receiver.to(api + "/search%3Fq%3D1%23x"), [q["path"] for q in receiver.under(api)]

    # D16: query members may be strings, numbers or booleans; header members strings only
    me.action(hc["id"], "get", {"path": "/q16", "query": {"n": 5, "b": True, "s": "x"}})
    [q16] = receiver.to(api + "/q16")
    assert q16["query"] == "n=5&b=true&s=x", q16
    for member, value, field in (("query", {"n": [1]}, "input.query.n"),
                                 ("headers", {"X-N": True}, "input.headers.X-N")):
        err = assert_error(me.run(hc["id"], "get", {"path": "/o", member: value}), 422)
        assert fields(err) == {field}

    # D17: a vendor that does not answer in time is 424 vendor_timeout (the action timeout
    # of test.env is under 8 s; a POST without idempotency header: one attempt)
    sc, hook = slack(me, receiver)
    receiver.script(hook, then=reply(200, "ok", delay=8))
    assert_error(me.run(sc["id"], "post_message", {"text": "slow"}, timeout=30), 424,
                 "vendor_timeout")
