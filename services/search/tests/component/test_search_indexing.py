"""Indexing from events: users and orgs of user-events (created, renamed, deleted), the
searchable-document contract on search-events, newest version wins, and tenant isolation of
results, facets and typo candidates. Freshness delays are measured and printed (`-s`)."""
import secrets
import time

from platform_client import Api, eventually
from searchkit import (Search, doc, emit_doc, emit_removal, ingest, load, new_id, produce,
                       rfc3339, timed_until_found, WAIT)


def test_users_follow_the_user_service(stack):
    org = stack.new_org(name="Quokka Holdings")
    search = Search(stack, org.id)
    delays = {}
    delays["org created"] = timed_until_found(search, "quokka holdings ", org.id)
    user = org.invite(name="Zebulon Quixote", email=f"zq-{new_id('x')[-6:].lower()}@example.com")
    delays["user created"] = timed_until_found(search, "zebulon ", user["id"])
    hit = next(h for h in search.get("zebulon ")["data"] if h["id"] == user["id"])
    assert hit["type"] == "user" and hit["fields"]["role"] == "viewer"

    r = stack.call("PATCH", "user", f"/v1/users/{user['id']}", token=org.owner_token,
                   json_body={"name": "Zephyrine Quixote"})
    assert r.status_code == 200, r.text
    delays["user renamed"] = timed_until_found(search, "zephyrine ", user["id"])
    assert user["id"] not in search.ids("zebulon ")

    r = stack.call("DELETE", "user", f"/v1/users/{user['id']}", token=org.owner_token)
    assert r.status_code in (200, 204), r.text
    t0 = time.monotonic()
    search.wait_ids("quixote ", lambda ids: user["id"] not in ids, "deleted user gone")
    delays["user deleted"] = time.monotonic() - t0
    assert search.get("zephyrine ", type="user")["facets"]["type"] == {}
    print("\nfreshness (s):", {k: round(v, 3) for k, v in delays.items()})


def test_newest_version_wins_over_a_late_older_event(stack):
    org = new_id("org")
    search = Search(stack, org)
    v2 = doc(org, "Platypus renamed", id_="doc-late-1", version=2)
    v1 = dict(v2, title="Platypus original", version=1)
    emit_doc(stack, v2)
    emit_doc(stack, v1)  # late and older: ignored
    marker = doc(org, "Marker after")
    emit_doc(stack, marker)  # same topic, later: once it is indexed, v1 has been seen
    search.wait_ids("marker ", lambda ids: marker["id"] in ids, "marker indexed")
    eventually(lambda: search.ids("platypus ") == ["doc-late-1"], timeout=WAIT, what="v2 indexed")
    assert search.get("platypus ")["data"][0]["title"] == "Platypus renamed"


def vocabulary(stack, org):
    """The org's vocabulary counts (set-up level SQL, as no API shows them)."""
    row = stack.sql("search", "SELECT string_agg(word || '=' || docs, ' ' ORDER BY word)"
                              f" FROM search_vocabulary WHERE org_id = '{org}' AND docs <> 0")
    return dict(kv.split("=") for kv in row.split()) if row else {}


def test_the_vocabulary_counts_each_live_documents_words_once(stack):
    org = new_id("org")
    search = Search(stack, org)
    a = doc(org, "Narwhal tusk", "narwhal ivory", id_="doc-voc-a", version=1)
    b = doc(org, "Narwhal pod", id_="doc-voc-b", version=1)
    for d in (a, b):
        emit_doc(stack, d)
    search.wait_ids("narwhal ", lambda ids: sorted(ids) == ["doc-voc-a", "doc-voc-b"], "indexed")
    assert vocabulary(stack, org) == {"ivory": "1", "narwhal": "2", "pod": "1", "tusk": "1"}
    emit_doc(stack, dict(a, version=3, title="Narwhal horn", body=""))  # tusk, ivory leave
    emit_doc(stack, dict(a, version=2, title="Narwhal stale"))  # older: changes nothing
    emit_doc(stack, dict(a, version=4, title="Narwhal horn", body="beluga"))
    # the same key, so once version 4 is found the stale version 2 has been read
    search.wait_ids("beluga ", lambda ids: ids == ["doc-voc-a"], "updated")
    emit_removal(stack, b, version=2)
    search.wait_ids("pod ", lambda ids: ids == [], "removed")
    assert vocabulary(stack, org) == {"beluga": "1", "horn": "1", "narwhal": "1"}


def test_a_removal_is_final_for_older_versions(stack):
    org = new_id("org")
    search = Search(stack, org)
    d = doc(org, "Wombat burrow", id_="doc-gone-1", version=1)
    emit_doc(stack, d)
    search.wait_ids("wombat ", lambda ids: ids == ["doc-gone-1"], "indexed")
    emit_removal(stack, d, version=3)
    search.wait_ids("wombat ", lambda ids: ids == [], "removed")
    emit_doc(stack, dict(d, version=2, title="Wombat resurrected"))
    marker = doc(org, "Marker")
    emit_doc(stack, marker)
    search.wait_ids("marker ", lambda ids: marker["id"] in ids, "marker indexed")
    assert search.ids("wombat ") == []
    emit_doc(stack, dict(d, version=4, title="Wombat returns"))
    search.wait_ids("wombat ", lambda ids: ids == ["doc-gone-1"], "a newer version is back")


def test_tenants_never_see_each_other(stack):
    a, b = new_id("org"), new_id("org")
    sa, sb = Search(stack, a), Search(stack, b)
    secret = doc(a, "Zanzibar acquisition", "confidential merger plan", type_="deal")
    load(stack, sa, [secret])
    load(stack, sb, [doc(b, "Ordinary note", "nothing here")])
    # results
    assert sa.ids("zanzibar ") == [secret["id"]]
    assert sb.ids("zanzibar ") == []
    assert sb.ids("zanzi") == []
    assert sb.ids("confidential OR merger OR zanzibar ") == []
    # facets: another org's types are never counted
    assert sb.get("")["facets"]["type"] == {"note": 1}
    assert sb.get("zanzibar ")["facets"]["type"] == {}
    # typo candidates come from the caller's own vocabulary only
    assert sa.get("zanzibat ")["query"]["words"][0]["typo_candidates"] == ["zanzibar"]
    assert sb.get("zanzibat ")["query"]["words"][0]["typo_candidates"] == []
    # the same id in two orgs is two documents
    same_a = doc(a, "Shared identifier alpha", id_="doc-same")
    same_b = doc(b, "Shared identifier beta", id_="doc-same")
    load(stack, sa, [same_a])
    load(stack, sb, [same_b])
    assert sa.get("shared identifier ")["data"][0]["title"] == "Shared identifier alpha"
    assert sb.get("shared identifier ")["data"][0]["title"] == "Shared identifier beta"


def test_row_level_security_hides_rows_without_the_org(stack):
    """The table itself refuses: as the service's role, a statement that did not name an org
    (SET LOCAL search.org_id) sees no row, even with no WHERE clause."""
    org = new_id("org")
    s = Search(stack, org)
    load(stack, s, [doc(org, "Row level check")])
    env = stack.service_env("search")
    import subprocess
    out = subprocess.run(["psql", env["DATABASE_URL"], "-X", "-q", "-t", "-A", "-c",
                          "SELECT count(*) FROM search_documents"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "0"
    def count_as(level):
        setting = ("" if level is None else
                   f" SELECT set_config('search.role_level', '{level}', true) IS NULL;")
        return subprocess.run(["psql", env["DATABASE_URL"], "-X", "-q", "-t", "-A", "-c",
                               f"BEGIN; SELECT set_config('search.org_id', '{org}', true) IS NULL;"
                               f"{setting} SELECT count(*) FROM search_documents; COMMIT;"],
                              capture_output=True, text=True, check=True).stdout.split()[-1]
    # the org named, and a role level that may find the document (a viewer's)
    assert count_as(1) == "1"
    # no role level named: the role policy finds nothing either
    assert count_as(None) == "0"
    assert int(stack.sql("search", "SELECT count(*) FROM search_documents")) >= 1, \
        "the superuser bypasses RLS: rows exist"


def test_ingest_api_feeds_the_index(stack):
    org = new_id("org")
    s = Search(stack, org)
    d = doc(org, "Echidna spines", type_="workflow", fields={"owner": "ann", "steps": 3})
    ingest(stack, d)
    s.wait_ids("echidna ", lambda ids: ids == [d["id"]], "ingested")
    assert s.get("echidna ")["data"][0]["fields"] == {"owner": "ann", "steps": 3}
    from platform_client import Api
    r = Api(stack, "search")("POST", "/internal/v1/search/documents/removals",
                             token=stack.service_token(),
                             json_body={"org_id": org, "type": "workflow", "id": d["id"],
                                        "version": 2, "updated_at": d["updated_at"]})
    assert r.status_code == 202, r.text
    s.wait_ids("echidna ", lambda ids: ids == [], "removed through the API")


def workflow_event(stack, ce_type, wf_id, org, name, revision, description="", version=1):
    data = {"workflow_id": wf_id, "org_id": org, "name": name, "description": description,
            "version": version, "revision": revision, "states": 3, "actor": new_id("usr"),
            "updated_at": rfc3339(), "occurred_at": rfc3339()}
    return produce(stack, "workflow-events", wf_id, ce_type, f"/workflows/{wf_id}", data)


def test_workflows_follow_workflow_events(stack):
    """The workflow service's own events (common/workflow-state.json) make its workflows
    searchable: type "workflow", the name as title, the description as body; the revision orders
    them (a late older one is ignored) and a deletion removes the workflow."""
    org = new_id("org")
    search = Search(stack, org)
    wf = new_id("wf")
    created = "com.techcorp.workflow.created"
    updated = "com.techcorp.workflow.updated"
    workflow_event(stack, created, wf, org, "Narwhal onboarding", 1, "welcome mail and tasks")
    search.wait_ids("narwhal ", lambda ids: ids == [wf], "workflow indexed")
    hit = search.get("narwhal ")["data"][0]
    assert hit["type"] == "workflow" and hit["fields"] == {"version": 1, "states": 3}
    assert wf in search.ids("welcome ")
    workflow_event(stack, updated, wf, org, "Narwhal offboarding", 3, version=2)
    workflow_event(stack, updated, wf, org, "Narwhal stale rename", 2)  # late and older
    # same key, same partition, later: once it is indexed, the stale one has been seen
    workflow_event(stack, updated, wf, org, "Narwhal offboarding", 4, "after the late one", 2)
    search.wait_ids("after ", lambda ids: ids == [wf], "the newest revision indexed")
    assert search.ids("stale ") == []
    assert search.get("narwhal ", type="workflow")["data"][0]["fields"]["version"] == 2
    workflow_event(stack, "com.techcorp.workflow.deleted", wf, org, "Narwhal offboarding", 5,
                   version=2)
    search.wait_ids("narwhal ", lambda ids: ids == [], "deleted workflow gone")


CONNS = "/v1/integrations/connections"


def test_connections_made_in_the_hub_become_searchable(stack):
    """integration-hub's connection events make an org's connections searchable (the topic's
    other events, the hub's deliveries and webhooks, are skipped): type
    "connection", the name as title, the connector's id as body; a rename follows, a delete
    removes it, and no credential reaches the index (the events carry none)."""
    from platform_client import Api
    org = new_id("org")
    admin = stack.token(sub=new_id("usr"), org=org, role="admin")
    hub, search = Api(stack, "integration-hub"), Search(stack, org)
    secret = "tok_" + secrets.token_hex(16)
    r = hub("POST", CONNS, token=admin,
            json_body={"connector": "http", "name": "Walrus orders API",
                       "settings": {"base_url": "https://orders.example.com"},
                       "credentials": {"token": secret}})
    assert r.status_code == 201, r.text
    con = r.json()
    assert con["revision"] == 1
    search.wait_ids("walrus ", lambda ids: ids == [con["id"]], "connection indexed")
    hit = search.get("walrus ")["data"][0]
    assert hit["type"] == "connection" and hit["fields"] == {"connector": "http",
                                                             "status": "active"}
    assert con["id"] in search.ids("http ", type="connection")
    assert search.ids(secret) == [] and search.ids(secret[-8:]) == []
    r = hub("PATCH", f"{CONNS}/{con['id']}", token=admin, json_body={"name": "Walrus billing API"})
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    search.wait_ids("billing ", lambda ids: ids == [con["id"]], "the rename indexed")
    assert search.ids("orders ") == []
    r = hub("DELETE", f"{CONNS}/{con['id']}", token=admin)
    assert r.status_code in (200, 204), r.text
    search.wait_ids("walrus ", lambda ids: ids == [], "deleted connection gone")


def connection_event(stack, kind, con_id, org, name, revision, status="active"):
    data = {"connection_id": con_id, "org_id": org, "connector": "slack", "name": name,
            "status": status, "actor_id": None, "updated_at": rfc3339(), "revision": revision,
            "occurred_at": rfc3339()}
    if kind == "updated":
        data["status_reason"] = None
    return produce(stack, "integration-events", con_id,
                   f"com.techcorp.integration.connection.{kind}", f"/connections/{con_id}", data)


def test_connection_events_apply_newest_revision_first_and_a_delete_for_good(stack):
    org = new_id("org")
    search = Search(stack, org)
    con = new_id("con")
    connection_event(stack, "created", con, org, "Puffin alerts", 1)
    search.wait_ids("puffin ", lambda ids: ids == [con], "connection indexed")
    connection_event(stack, "updated", con, org, "Puffin pager", 3, status="needs_attention")
    connection_event(stack, "updated", con, org, "Puffin stale rename", 2)  # late and older
    # same key, same partition, later: once it is indexed, the stale one has been seen
    connection_event(stack, "updated", con, org, "Puffin pager after", 4, status="needs_attention")
    search.wait_ids("after ", lambda ids: ids == [con], "the newest revision indexed")
    assert search.ids("stale ") == []
    assert search.get("puffin ")["data"][0]["fields"] == {"connector": "slack",
                                                          "status": "needs_attention"}
    connection_event(stack, "deleted", con, org, "Puffin pager after", 4)
    search.wait_ids("puffin ", lambda ids: ids == [], "deleted connection gone")
    connection_event(stack, "updated", con, org, "Puffin risen", 9)  # ids are never reused
    other = new_id("con")
    connection_event(stack, "created", other, org, "Puffin second", 1)
    search.wait_ids("puffin ", lambda ids: ids == [other], "the later connection indexed")
    assert search.ids("risen ") == [], "a delete is final"


def freshness(stack, group, topic="search-events"):
    """events_freshness_seconds of one consumer group from search's /metrics: (count, sum)."""
    import re
    import requests
    text = requests.get(stack.admin_url("search", "/metrics"), timeout=5).text
    labels = f'{{topic="{topic}",group="{group}"}}'
    found = {}
    for part in ("count", "sum"):
        m = re.search(rf"^events_freshness_seconds_{part}{re.escape(labels)} (\S+)$", text, re.M)
        found[part] = float(m.group(1)) if m else 0.0
    return found["count"], found["sum"]


def test_freshness_is_measured_for_every_document_applied(stack):
    """Each event applied adds its span (event time → index commit) to the group's histogram;
    the figure itself is for dashboards and the bench, not asserted here."""
    count0, sum0 = freshness(stack, "search.documents")
    org = new_id("org")
    s = Search(stack, org)
    load(stack, s, [doc(org, f"Platypus bill {i}") for i in range(5)])

    def observed():
        c = freshness(stack, "search.documents")
        return c if c[0] >= count0 + 5 else None

    _, total = eventually(observed, what="five observations")
    assert total > sum0, "the spans were not added"


def test_a_recount_makes_the_vocabulary_exact_again(stack):
    org = new_id("org")
    search = Search(stack, org)
    load(stack, search, [doc(org, "Capybara herd", "capybara river", id_="doc-rc-a"),
                         doc(org, "Capybara pool", id_="doc-rc-b")])
    want = {"capybara": "2", "herd": "1", "pool": "1", "river": "1"}
    assert vocabulary(stack, org) == want
    # drift as a lost difference would leave it: a count off, a word no document holds (a typo
    # candidate it should not be), a word missing
    stack.sql("search", f"UPDATE search_vocabulary SET docs = 5"
                        f" WHERE org_id = '{org}' AND word = 'capybara'")
    stack.sql("search", f"INSERT INTO search_vocabulary VALUES ('{org}', 'ghost', 3)")
    stack.sql("search", f"DELETE FROM search_vocabulary WHERE org_id = '{org}' AND word = 'pool'")
    assert search.get("ghosf ")["query"]["words"][0]["typo_candidates"] == ["ghost"]
    recount = Api(stack, "search")
    r = recount("POST", f"/internal/v1/search/orgs/{org}/vocabulary/recount",
                token=stack.service_token())
    assert r.status_code == 200, r.text
    assert r.json() == {"org_id": org, "fixed": 3}
    assert vocabulary(stack, org) == want
    assert search.get("ghosf ")["query"]["words"][0]["typo_candidates"] == []
    # nothing left to fix; a user token may not ask; an id no org can have names nothing
    r = recount("POST", f"/internal/v1/search/orgs/{org}/vocabulary/recount",
                token=stack.service_token())
    assert r.json()["fixed"] == 0
    r = recount("POST", f"/internal/v1/search/orgs/{org}/vocabulary/recount",
                token=stack.token(org=org, role="owner"))
    assert r.status_code in (401, 403), r.text
    r = recount("POST", "/internal/v1/search/orgs/" + "o" * 65 + "/vocabulary/recount",
                token=stack.service_token())
    assert r.status_code == 404, r.text
