"""Relevance on a fixed corpus: the expected top results of phrase, title-over-body, typo,
prefix, accent, negation and OR queries, facets, highlights, debug score parts, paging, and the
API's errors. Each module gets an org of its own (tenancy keeps suites apart)."""
import re

import pytest

from platform_client import Api, assert_error
from searchkit import doc, ingest, key_of, loaded_search, new_id

ORG = new_id("org")

CORPUS = {
    "phrase": doc(ORG, "Quarterly sales report", "Numbers for the quarter by region"),
    "scattered": doc(ORG, "Sales targets", "a quarterly review; the report follows later"),
    "title_budget": doc(ORG, "Budget planning", "who plans what next year"),
    "body_budget": doc(ORG, "Planning notes", "the budget is due on Friday"),
    "warehouse": doc(ORG, "Warehouse inventory", "stock levels per shelf", type_="task"),
    "resume": doc(ORG, "Résumé screening", "candidates for the café opening", type_="task"),
    "form": doc(ORG, "Form builder", "drag and drop fields"),
    "format": doc(ORG, "Format guide", "house style"),
    "formal": doc(ORG, "Formal dinner", "seating plan"),
    "old_twin": doc(ORG, "Identical twin", "same words", offset_s=-3600),
    "new_twin": doc(ORG, "Identical twin", "same words"),
    "markup": doc(ORG, "Escaping <b>xylophone</b> & co", "5 < 6 & 7 > 6: xylophone <script>alert(1)</script>"),
    "long": doc(ORG, "Handbook", " ".join(["filler words about nothing in particular"] * 40 +
                                          ["the onboarding checklist is here"] +
                                          ["more filler text to pad the body"] * 40)),
}


key = key_of(CORPUS)


@pytest.fixture(scope="module")
def search(stack):
    return loaded_search(stack, ORG, CORPUS)


def top(search, q, n=1, **params):
    return [key(i) for i in search.ids(q, **params)[:n]]


def test_exact_phrase_comes_first(search):
    assert top(search, "quarterly sales report ") == ["phrase"]
    assert set(top(search, "quarterly sales report ", 2)) == {"phrase", "scattered"}
    assert top(search, '"quarterly sales report"', 5) == ["phrase"], "a quoted phrase is adjacent"


def test_title_match_ranks_above_body_match(search):
    assert top(search, "budget ", 2) == ["title_budget", "body_budget"]


def test_typo_is_found(search):
    assert top(search, "warehuose ") == ["warehouse"]  # two letters swapped: one typo
    assert top(search, "inventroy ") == ["warehouse"]
    r = search.get("warehuose ")
    assert r["query"]["words"][0]["typo_candidates"] == ["warehouse"]
    assert search.ids("shlf ") == [], "4 letters tolerate no typo (shelf)"
    assert search.ids("varehouse ") == [], "a typo on the first letter is not tolerated"
    assert top(search, "shelv ") == ["warehouse"], "5 letters tolerate one"


def test_typo_tolerance_can_be_turned_off(search):
    assert search.ids("warehuose ", typo_tolerance="false") == []


def test_prefix_is_found_while_typing(search):
    assert top(search, "inven") == ["warehouse"]
    assert search.ids("inven", prefix="false") == []
    assert search.ids("inven ") == [], "a finished word is not a prefix"


def test_exact_over_prefix_over_typo(search):
    assert top(search, "form") == ["form"], "exact (and prefix) above prefix only"
    assert set(top(search, "form", 3)) == {"form", "format", "formal"}
    assert top(search, "guide OR dinnr ", 2) == ["format", "formal"], "exact above one typo"
    # a word the org has is taken as typed: typos are looked for only when it has not
    # (Typesense's typo_tokens_threshold of 1)
    assert search.ids("format ") == [CORPUS["format"]["id"]]
    assert set(top(search, "formt ", 3)) == {"format", "form"}, "typos only, within budget"


def test_accents_and_case_are_ignored(search):
    assert top(search, "RESUME ") == ["resume"]
    assert top(search, "cafe ") == ["resume"]
    assert top(search, "résumé ") == ["resume"]


def test_negation_excludes(search):
    got = [key(i) for i in search.ids("report -quarterly ")]
    assert got == []  # both report documents mention quarterly
    got = [key(i) for i in search.ids("sales -\"sales report\" ")]
    assert got == ["scattered"]


def test_or_matches_either(search):
    got = {key(i) for i in search.ids("warehouse OR dinner ")}
    assert got == {"warehouse", "formal"}


def test_recency_breaks_ties(search):
    assert top(search, "identical twin ", 2) == ["new_twin", "old_twin"]


def test_facets_count_by_type_and_filter_does_not_hide_them(search):
    r = search.get("planning OR inventory OR screening ")
    assert r["facets"]["type"] == {"note": 2, "task": 2}
    assert r["total"] == 4
    r = search.get("planning OR inventory OR screening ", type="task")
    assert {key(h["id"]) for h in r["data"]} == {"warehouse", "resume"}
    assert r["facets"]["type"] == {"note": 2, "task": 2}
    assert r["total"] == 2


def test_highlights_mark_the_matched_words(search):
    h = search.get("quarterly sales report ")["data"][0]
    assert h["highlight"]["title"] == "<mark>Quarterly</mark> <mark>sales</mark> <mark>report</mark>"
    h = search.get("onboarding checklist ")["data"][0]
    assert key(h["id"]) == "long"
    snippet = h["highlight"]["snippet"]
    assert "<mark>onboarding</mark> <mark>checklist</mark>" in snippet
    assert len(snippet) < 400, "a snippet, not the whole body"


def test_highlights_escape_the_documents_own_markup(search):
    """Highlights are HTML: the document's text is escaped, only the marks are markup."""
    h = search.get("xylophone ")["data"][0]
    assert key(h["id"]) == "markup"
    assert h["highlight"]["title"] == "Escaping &lt;b&gt;<mark>xylophone</mark>&lt;/b&gt; &amp; co"
    snippet = h["highlight"]["snippet"]
    assert "<mark>xylophone</mark>" in snippet
    # whatever fragment ts_headline picked, its only markup is the marks
    text = re.sub(r"</?mark>", "", snippet)
    assert "<" not in text and ">" not in text, snippet
    assert not re.search(r"&(?!(amp|lt|gt|quot|#39|#x60|#x3D);)", text), snippet
    assert h["title"] == "Escaping <b>xylophone</b> & co", "the title itself stays as written"


def test_debug_returns_the_score_parts(search):
    h = search.get("form", debug="true")["data"][0]
    parts = h["debug"]
    assert parts["exact"] > 0 and parts["prefix"] > 0 and parts["typo"] == 0
    expected = parts["exact"] + 0.5 * parts["phrase"] + 0.3 * parts["prefix"] + 0.1 * parts["typo"]
    assert abs(h["score"] - expected) < 1e-4
    assert "debug" not in search.get("form")["data"][0]


def test_post_search_with_types(search):
    r = search.post({"q": "warehuose OR planning", "types": ["task"], "debug": True})
    assert [key(h["id"]) for h in r["data"]] == ["warehouse"]


def test_pages_follow_the_ranking(search):
    first = search.get("", limit=5)
    assert len(first["data"]) == 5 and first["next_cursor"]
    second = search.get("", limit=5, cursor=first["next_cursor"])
    ids1 = {h["id"] for h in first["data"]}
    ids2 = {h["id"] for h in second["data"]}
    assert not ids1 & ids2
    everything = search.get("", limit=100)
    assert len(everything["data"]) == len(CORPUS) and everything["next_cursor"] is None


def test_empty_query_lists_newest_first(search):
    data = search.get("", limit=100)["data"]
    times = [h["updated_at"] for h in data]
    assert times == sorted(times, reverse=True)


# ------------------------------------------------------------------------------ errors


def test_requires_a_token(stack):
    assert_error(Api(stack, "search")("GET", "/v1/search?q=x"), 401)


def test_bad_parameters(stack, search):
    api = Api(stack, "search")
    assert_error(api("GET", "/v1/search?q=" + "x" * 600, token=search.token), 422,
                 "validation_failed")
    assert_error(api("GET", "/v1/search?q=x&cursor=bm9wZQ", token=search.token), 400)
    assert_error(api("GET", "/v1/search?q=x&limit=1000", token=search.token), 400)
    assert_error(api("GET", "/v1/search?q=x&type=Bad-Type", token=search.token), 422)
    r = api("POST", "/v1/search", token=search.token,
            json_body={"q": 5, "order": "x", "sort": "x", "filter": {"a": None}})
    err = assert_error(r, 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == {"q", "order", "sort", "filter"}


def test_ingest_is_for_services_only(stack, search):
    api = Api(stack, "search")
    d = doc(ORG, "Sneaky")
    r = api("POST", "/internal/v1/search/documents", token=search.token, json_body=d)
    assert r.status_code in (401, 403), r.text
    r = api("POST", "/internal/v1/search/documents", token=stack.service_token(),
            json_body={"org_id": ORG, "type": "Bad", "id": "a/b", "title": 1, "version": 0})
    err = assert_error(r, 422, "validation_failed")
    assert {d["field"] for d in err["details"]} >= {"type", "id", "title", "version", "updated_at"}


def test_ingested_document_is_emitted_as_a_contract_event(stack, schemas):
    d = doc(ORG, "Contract check")
    ingest(stack, d)
    msgs = stack.kafka_messages("search-events", key=d["id"], until=lambda m: len(m) >= 1)
    assert msgs, "no document_upserted event"
    m = msgs[-1]
    assert m["headers"]["ce_type"] == "com.techcorp.search.document_upserted"
    assert m["headers"]["ce_source"] == f"/documents/{d['id']}"
    import json
    schemas.validate("com.techcorp.search.document_upserted", json.loads(m["payload"]))
