"""Stemming by the document's language: a query in a language (`lang`, else Accept-Language)
finds the documents of that language by their stems too ("run" finds "Running"), marks the
forms that matched, ranks the words as written above their other forms, and counts stem matches
in the facets; documents of another language, or without one, and queries without a language
match words as written (the simple fallback). Postings made before stems existed, and an org
whose reindex is asked for, are made again from the stored documents while results stay served.
"""
import pytest

from platform_client import Api, eventually
from searchkit import Search, doc, key_of, loaded_search, new_id

ORG = new_id("org")


def localized(locale, *args, **kwargs):
    d = doc(ORG, *args, **kwargs)
    d["locale"] = locale
    return d


CORPUS = {
    "running": localized("en-US", "Running shoes", "Runners love them"),
    "run": localized("en", "Run club", "every week"),
    "houses": localized("de", "Die Häuser am See", "Ferienwohnungen"),
    "plain": doc(ORG, "Running notes", "no language named"),
    "swim": localized("en-GB", "Swimming lessons", "for beginners", type_="course"),
}

key = key_of(CORPUS)


@pytest.fixture(scope="module")
def search(stack):
    return loaded_search(stack, ORG, CORPUS)


def found(result):
    return {key(h["id"]) for h in result["data"]}


def test_a_query_in_the_documents_language_finds_their_other_forms(search):
    r = search.get("runs shoe", prefix="false", lang="en")
    assert found(r) == {"running"}
    assert r["query"]["language"] == "en" and r["query"]["stems"] is True
    # without a language, words match as written only
    r = search.get("runs shoe", prefix="false")
    assert found(r) == set() and r["query"]["stems"] is False
    # "run" as written is in one title; its stem is in both English documents, and the
    # document without a language matches it as written only
    assert found(search.get("run", prefix="false")) == {"run"}
    assert found(search.get("run", prefix="false", lang="en")) == {"run", "running"}


def test_only_documents_of_the_querys_language_match_by_stems(search):
    # "Häuser" is "haus" to the German stemmer (after unaccent)
    assert found(search.get("haus", prefix="false", lang="de")) == {"houses"}
    assert found(search.get("haus", prefix="false", lang="en")) == set()
    assert found(search.get("haus", prefix="false")) == set()
    # the Accept-Language header names the language as it does for stop words
    api = Api(search.stack, "search")
    r = api("GET", "/v1/search?q=haus&prefix=false", token=search.token,
            headers={"Accept-Language": "de-AT, en;q=0.5"})
    assert r.status_code == 200, r.text
    assert {key(h["id"]) for h in r.json()["data"]} == {"houses"}


def test_words_as_written_rank_above_their_other_forms(search):
    r = search.get("run", prefix="false", lang="en", debug="true")
    assert [key(h["id"]) for h in r["data"]] == ["run", "running"]
    exact, other = r["data"][0]["debug"], r["data"][1]["debug"]
    assert exact["exact"] > 0 and exact["stem"] > 0
    assert other["exact"] == 0 and other["stem"] > 0


def test_highlights_mark_the_form_that_matched(search):
    h = search.get("runs", prefix="false", lang="en", types="note")["data"]
    by = {key(x["id"]): x["highlight"] for x in h}
    assert by["running"]["title"] == "<mark>Running</mark> shoes"
    assert "<mark>Runners</mark>" not in by["running"]["snippet"]  # another stem: "runner"
    # the word being typed still marks the words it starts
    h = search.get("runn", lang="en")["data"]
    assert {key(x["id"]): x["highlight"]["title"] for x in h}["running"] == \
        "<mark>Running</mark> shoes"


def test_facets_count_stem_matches(search):
    r = search.get("swim", prefix="false", lang="en")
    assert found(r) == {"swim"}
    assert r["facets"]["type"] == {"course": 1}
    assert search.get("swim", prefix="false")["facets"]["type"] == {}


def postings(stack, org, cols="mapping, coalesce(stem, '-'), stv IS NOT NULL"):
    return stack.sql("search", f"SELECT type || ':' || id, {cols} FROM search_postings"
                               f" WHERE org_id = '{org}' ORDER BY 1")


def test_postings_of_the_old_mapping_are_made_again_while_served(stack):
    org = new_id("org")
    en = doc(org, "Swimming lessons", id_="doc-remap-en")
    en["locale"] = "en-GB"
    pt = doc(org, "Nadadores", id_="doc-remap-pt")
    pt["locale"] = "pt-BR"
    s = loaded_search(stack, org, {"en": en, "pt": pt})
    made = postings(stack, org)
    assert made == ("note:doc-remap-en|2|search_english|t\n"
                    "note:doc-remap-pt|2|search_portuguese|t"), made
    # as rows written before migration 005 are: the old mapping, no stems
    stack.sql("search", f"UPDATE search_postings SET mapping = 1, stem = NULL, stv = NULL"
                        f" WHERE org_id = '{org}'")
    # served meanwhile, as written
    assert s.ids("swimming", prefix="false") == [en["id"]]
    # the remap job makes them again from the documents, the stems by the stored locale
    eventually(lambda: postings(stack, org) == made, timeout=30, interval=0.2,
               what="postings remapped")
    assert s.ids("swim", prefix="false", lang="en") == [en["id"]]
    assert s.ids("nadador", prefix="false", lang="pt") == [pt["id"]]


def remapped(stack):
    """search_postings_remapped_total on the admin port's /metrics (0 before the first)."""
    import requests
    text = requests.get(stack.admin_url("search", "/metrics"), timeout=5).text
    for line in text.splitlines():
        if line.startswith("search_postings_remapped_total "):
            return float(line.split()[1])
    return 0.0


def test_an_org_reindex_makes_its_postings_again(stack):
    org, other = new_id("org"), new_id("org")
    a = doc(org, "Gardening tools", id_="doc-rx-a")
    a["locale"] = "en"
    b = doc(other, "Gardening gloves", id_="doc-rx-b")
    b["locale"] = "en"
    s = loaded_search(stack, org, {"a": a})
    loaded_search(stack, other, {"b": b})
    # a damaged index: the org's stems lost, and its words too
    stack.sql("search", f"UPDATE search_postings SET stv = NULL, tsv = ''::tsvector"
                        f" WHERE org_id IN ('{org}', '{other}')")
    assert s.ids("garden", prefix="false", lang="en") == []
    before = remapped(stack)
    api = Api(stack, "search")
    r = api("POST", f"/internal/v1/search/orgs/{org}/reindex", token=stack.service_token())
    assert r.status_code == 202, r.text
    assert r.json() == {"org_id": org, "marked": 1}
    # its progress: what is left, down to none
    def pending():
        r = api("GET", f"/internal/v1/search/orgs/{org}/reindex", token=stack.service_token())
        assert r.status_code == 200, r.text
        assert r.json()["org_id"] == org
        return r.json()["pending"]
    eventually(lambda: pending() == 0, timeout=30, interval=0.2, what="the org reindexed")
    assert s.ids("garden", prefix="false", lang="en") == [a["id"]]
    assert s.ids("gardening", prefix="false") == [a["id"]]
    # only that org: the other's postings are as they were left
    assert postings(stack, other, "mapping, stv IS NULL, tsv = ''::tsvector") == \
        "note:doc-rx-b|2|t|t"
    # the job counted what it made again
    assert remapped(stack) >= before + 1
    # a user may not ask; an id no org can have names nothing
    for method in ("POST", "GET"):
        r = api(method, f"/internal/v1/search/orgs/{org}/reindex",
                token=stack.token(org=org, role="owner"))
        assert r.status_code in (401, 403), r.text
        r = api(method, "/internal/v1/search/orgs/" + "o" * 65 + "/reindex",
                token=stack.service_token())
        assert r.status_code == 404, r.text


def test_a_reindex_under_writes_ends_with_every_newest_version(stack):
    """The remap makes rows again while the org's documents keep changing: each row ends as its
    newest version has it (words, stems, vocabulary), whichever of the two came last."""
    from concurrent.futures import ThreadPoolExecutor
    from searchkit import ingest
    org = new_id("org")
    n, changed = 80, 40
    docs = []
    for i in range(n):
        d = doc(org, f"Climbing wall {i}", "ropes", id_=f"doc-rw-{i}")
        d["locale"] = "en"
        docs.append(d)
    s = Search(stack, org)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda d: ingest(stack, d), docs))
    eventually(lambda: s.get("", limit=1)["total"] == n, timeout=30, interval=0.2,
               what="indexed")
    newer = [dict(d, version=2, title=f"Painting class {i}", body="brushes")
             for i, d in enumerate(docs[:changed])]
    api = Api(stack, "search")
    with ThreadPoolExecutor(4) as pool:
        r = api("POST", f"/internal/v1/search/orgs/{org}/reindex", token=stack.service_token())
        assert r.status_code == 202 and r.json()["marked"] == n, r.text
        list(pool.map(lambda d: ingest(stack, d), newer))
    # the newest versions by their stems, the others as they were
    eventually(lambda: s.get("paint", prefix="false", lang="en", limit=1)["total"] == changed,
               timeout=30, interval=0.2, what="the newer versions indexed")
    eventually(lambda: postings(stack, org, "mapping").count("|2") == n, timeout=30,
               interval=0.2, what="every posting remapped")
    assert s.get("climb", prefix="false", lang="en", limit=1)["total"] == n - changed
    assert s.get("brush", prefix="false", lang="en", limit=1)["total"] == changed
    # nothing of an older version left in the postings' words or stems
    stale = stack.sql("search", f"SELECT count(*) FROM search_postings p JOIN search_documents d"
                                f" USING (org_id, type, id) WHERE p.org_id = '{org}'"
                                f" AND (p.tsv <> d.tsv OR p.stv IS NULL"
                                f" OR (d.version = 2 AND p.stv @@ 'climb'::tsquery))")
    assert stale == "0"
    # the vocabulary counts each live document's words once
    vocab = stack.sql("search", f"SELECT docs FROM search_vocabulary WHERE org_id = '{org}'"
                                f" AND word IN ('climbing', 'painting') ORDER BY word")
    assert vocab.split() == [str(n - changed), str(changed)]
