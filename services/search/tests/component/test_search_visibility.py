"""Role-based visibility: a document names the least role that finds it (`min_role`), and a
caller below it never sees it — not in results, totals, facet counts, browsing, prefix matches
or typo candidates ("did you mean" would name its words); a caller at or above it does. Row
level security enforces the level again in the table (test_search_indexing's RLS test)."""
import pytest

from platform_client import Api, assert_error
from searchkit import Search, doc, ingest, key_of, load, new_id, rfc3339

ORG = new_id("org")


def restricted(d, role):
    d["min_role"] = role
    return d


CORPUS = {
    "open": doc(ORG, "Quarterly roadmap", "plans for everyone"),
    "draft": restricted(doc(ORG, "Draft roadmap", "for the editors"), "editor"),
    "board": restricted(doc(ORG, "Quarterly acquisition memo", "confidential merger"), "admin"),
    "pay": restricted(doc(ORG, "Payroll ledger", "salaries", type_="ledger"), "owner"),
}

key = key_of(CORPUS)


@pytest.fixture(scope="module")
def searches(stack):
    owner = Search(stack, ORG, role="owner")
    load(stack, owner, list(CORPUS.values()))
    return {role: Search(stack, ORG, role=role) for role in ("viewer", "editor", "admin")} | \
        {"owner": owner}


def found(result):
    return {key(h["id"]) for h in result["data"]}


@pytest.mark.parametrize("role,expected", [
    ("viewer", {"open"}),
    ("editor", {"open", "draft"}),
    ("admin", {"open", "draft", "board"}),
    ("owner", {"open", "draft", "board", "pay"}),
])
def test_each_role_finds_what_its_level_may(searches, role, expected):
    s = searches[role]
    browse = s.get("", limit=100)
    assert found(browse) == expected
    assert browse["total"] == len(expected)
    assert sum(browse["facets"]["type"].values()) == len(expected)
    assert ("ledger" in browse["facets"]["type"]) == ("pay" in expected)
    r = s.get("quarterly OR roadmap OR payroll", prefix="false")
    assert found(r) == expected
    assert r["total"] == len(expected)
    assert sum(r["facets"]["type"].values()) == len(expected)


def test_words_of_hidden_documents_are_not_suggested_or_prefix_matched(searches):
    viewer, admin = searches["viewer"], searches["admin"]
    # a typo of a word only the admin's document holds: no candidate for the viewer
    r = viewer.get("acquisiton", prefix="false")
    assert found(r) == set()
    assert r["query"]["words"][0]["typo_candidates"] == []
    r = admin.get("acquisiton", prefix="false")
    assert r["query"]["words"][0]["typo_candidates"] == ["acquisition"]
    assert found(r) == {"board"}
    # the word being typed
    assert found(viewer.get("acqui")) == set()
    assert found(admin.get("acqui")) == {"board"}
    # a typo of a word the viewer's documents hold too still finds it
    r = viewer.get("quartely", prefix="false")
    assert "quarterly" in r["query"]["words"][0]["typo_candidates"]
    assert found(r) == {"open"}


def test_a_new_version_may_change_who_finds_it(stack, searches):
    d = dict(CORPUS["draft"], version=2, updated_at=rfc3339(), min_role="viewer")
    ingest(stack, d)
    viewer = searches["viewer"]
    viewer.wait_ids("draft", lambda ids: d["id"] in ids, "the draft shown to viewers")
    d = dict(d, version=3, updated_at=rfc3339(), min_role="admin")
    ingest(stack, d)
    viewer.wait_ids("draft", lambda ids: d["id"] not in ids, "the draft hidden again")
    assert d["id"] in searches["admin"].ids("draft")


def test_a_bad_min_role_is_refused(stack):
    api = Api(stack, "search")
    for bad in ("member", "ADMIN", 3):
        d = restricted(doc(ORG, "Bad role"), bad)
        r = api("POST", "/internal/v1/search/documents", token=stack.service_token(),
                json_body=d)
        err = assert_error(r, 422, "validation_failed")
        assert "min_role" in str(err), err
