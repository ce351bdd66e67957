"""Filters by the documents' fields and orders other than relevance: a filter narrows the
results, the total and the facet counts (the type filter stays aside in facets); values match
by their text, arrays by any element; sorting by updated_at or a field keeps paging stable;
bad filters and sorts are 422."""
import pytest

from platform_client import Api, assert_error
from searchkit import doc, key_of, loaded_search, new_id

ORG = new_id("org")

CORPUS = {
    "a": doc(ORG, "Invoice run alpha", fields={"status": "open", "priority": 3, "tags": ["billing", "eu"]},
             offset_s=-50),
    "b": doc(ORG, "Invoice run beta", fields={"status": "closed", "priority": 1, "tags": ["billing"]},
             offset_s=-40),
    "c": doc(ORG, "Invoice run gamma", fields={"status": "open", "priority": 2, "urgent": True},
             type_="task", offset_s=-30),
    "d": doc(ORG, "Invoice run delta", fields={"status": "open"}, offset_s=-20),
    "e": doc(ORG, "Weekly report", fields={"status": "open", "priority": 5}, offset_s=-10),
    "f": doc(ORG, "Invoice run epsilon", fields={"status": "closed", "priority": None}, offset_s=-5),
}


key = key_of(CORPUS)


@pytest.fixture(scope="module")
def search(stack):
    return loaded_search(stack, ORG, CORPUS)


def keys(result):
    return [key(h["id"]) for h in result["data"]]


def test_a_filter_narrows_results_total_and_facets(search):
    r = search.get("invoice ", filter="status:open")
    assert set(keys(r)) == {"a", "c", "d"}
    assert r["total"] == 3
    assert r["facets"]["type"] == {"note": 2, "task": 1}
    r = search.get("invoice ", filter="status:open", type="note")
    assert set(keys(r)) == {"a", "d"} and r["total"] == 2
    assert r["facets"]["type"] == {"note": 2, "task": 1}, "the type filter stays aside in facets"


def test_values_of_one_field_are_alternatives_and_fields_all_apply(search):
    assert set(keys(search.get("invoice ", filter="status:open,status:closed"))) == {
        "a", "b", "c", "d", "f"}
    assert set(keys(search.get("invoice ", filter="status:open,priority:3"))) == {"a"}


def test_numbers_booleans_and_array_elements_match_by_text(search):
    assert keys(search.get("invoice ", filter="priority:2")) == ["c"]
    assert keys(search.post({"q": "invoice ", "filter": {"priority": 2}})) == ["c"]
    assert keys(search.post({"q": "invoice ", "filter": {"urgent": True}})) == ["c"]
    assert set(keys(search.get("invoice ", filter="tags:billing"))) == {"a", "b"}
    assert keys(search.post({"q": "invoice ", "filter": {"tags": ["eu", "nothing"]}})) == ["a"]


def test_a_filter_applies_to_browsing_too(search):
    r = search.get("", filter="status:closed")
    assert keys(r) == ["f", "b"] and r["total"] == 2 and r["facets"]["type"] == {"note": 2}


def test_sort_by_a_field_then_relevance(search):
    # d has no priority, f a null one: last either way, the newer first (relevance ties)
    assert keys(search.get("invoice ", sort="fields.priority")) == ["b", "c", "a", "f", "d"]
    assert keys(search.get("invoice ", sort="fields.priority:desc")) == ["a", "c", "b", "f", "d"]
    assert keys(search.get("", sort="fields.priority:desc")) == ["e", "a", "c", "b", "f", "d"]


def test_sort_by_updated_at(search):
    assert keys(search.get("invoice ", sort="updated_at:asc")) == ["a", "b", "c", "d", "f"]
    assert keys(search.get("invoice ", sort="updated_at")) == ["f", "d", "c", "b", "a"]
    assert keys(search.get("", sort="updated_at:asc")) == ["a", "b", "c", "d", "e", "f"]


def test_pages_follow_a_sorted_filtered_order(search):
    first = search.get("invoice ", sort="fields.priority", filter="status:open", limit=2)
    assert keys(first) == ["c", "a"] and first["next_cursor"]
    rest = search.get("invoice ", sort="fields.priority", filter="status:open", limit=2,
                      cursor=first["next_cursor"])
    assert keys(rest) == ["d"] and rest["next_cursor"] is None


@pytest.mark.parametrize("params", [
    {"filter": "status"}, {"filter": "bad-name:x"}, {"sort": "score"}, {"sort": "fields.x:up"},
])
def test_bad_filters_and_sorts_are_refused(stack, search, params):
    api = Api(stack, "search")
    from urllib.parse import urlencode
    r = api("GET", "/v1/search?" + urlencode(dict(q="x", **params)), token=search.token)
    err = assert_error(r, 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == set(params)


@pytest.mark.parametrize("body,field", [
    ({"filter": {"a": None}}, "filter"), ({"filter": {"a": 1.5}}, "filter"),
    ({"filter": ["a"]}, "filter"), ({"sort": 5}, "sort"), ({"sort": "title"}, "sort"),
])
def test_bad_post_filters_and_sorts_are_refused(stack, search, body, field):
    r = Api(stack, "search")("POST", "/v1/search", token=search.token, json_body=dict(q="x", **body))
    err = assert_error(r, 422, "validation_failed")
    assert field in {d["field"] for d in err["details"]}
