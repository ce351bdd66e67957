"""Stop words per language: a query in a language (`lang`, else the Accept-Language header)
leaves out that language's stop words where they stand alone, so "the zebra" finds a document
about zebras that never says "the"; phrases, negations, alternatives, the word being typed and
queries of stop words only keep theirs; a query with no language (or one without a list) keeps
every word, as before."""
import pytest

from platform_client import Api, assert_error
from searchkit import doc, key_of, loaded_search, new_id

ORG = new_id("org")

CORPUS = {
    "zebra": doc(ORG, "Zebra crossing", "black and white stripes"),
    "art": doc(ORG, "State of the art", "a survey"),
    "state": doc(ORG, "State budget", "art supplies"),
    "who": doc(ORG, "The Who", "a band"),
    "fr": doc(ORG, "Zèbre de Grévy", "rayures"),
}

key = key_of(CORPUS)


@pytest.fixture(scope="module")
def search(stack):
    return loaded_search(stack, ORG, CORPUS)


def found(result):
    return {key(h["id"]) for h in result["data"]}


def test_without_a_language_every_word_counts(search):
    r = search.get("the zebra", prefix="false")
    assert found(r) == set()
    assert r["query"]["language"] is None
    assert [w["stop_word"] for w in r["query"]["words"]] == [False, False]


def test_a_language_leaves_out_its_stop_words(search):
    r = search.get("the zebra", prefix="false", lang="en-GB")
    assert found(r) == {"zebra"}
    assert r["query"]["language"] == "en"
    assert [(w["word"], w["stop_word"]) for w in r["query"]["words"]] == \
        [("the", True), ("zebra", False)]
    # another language's list leaves "the" in
    assert found(search.get("the zebra", prefix="false", lang="de")) == set()
    # a language with no list here is the simple fallback: every word counts
    r = search.get("the zebra", prefix="false", lang="ja")
    assert found(r) == set() and r["query"]["language"] is None


def test_the_accept_language_header_names_the_language(search, stack):
    api = Api(stack, "search")
    r = api("GET", "/v1/search?q=des%20z%C3%A8bre&prefix=false", token=search.token,
            headers={"Accept-Language": "ja, fr-CA;q=0.9, en;q=0.8"})
    assert r.status_code == 200, r.text
    assert r.json()["query"]["language"] == "fr"
    assert found(r.json()) == {"fr"}
    # lang wins over the header
    r = api("GET", "/v1/search?q=des%20z%C3%A8bre&prefix=false&lang=en", token=search.token,
            headers={"Accept-Language": "fr"})
    assert found(r.json()) == set()


def test_phrases_and_queries_of_stop_words_keep_theirs(search):
    # in a phrase the stop words are part of what must be adjacent
    assert found(search.get('"state of the art"', lang="en")) == {"art"}
    # free words: "state art" matches both documents; the exact phrase ranks first
    r = search.get("state of the art", prefix="false", lang="en")
    assert found(r) == {"art", "state"}
    assert key(r["data"][0]["id"]) == "art"
    # a query of stop words only is taken as typed
    r = search.get("the who", prefix="false", lang="en")
    assert found(r) == {"who"}
    assert not any(w["stop_word"] for w in r["query"]["words"])
    # the word being typed may be the start of another ("the" -> "theatre")
    r = search.get("zebra the", lang="en")
    assert not r["query"]["words"][1]["stop_word"]


def test_post_takes_lang_and_a_bad_tag_is_refused(search, stack):
    r = search.post({"q": "the zebra", "prefix": False, "lang": "en"})
    assert found(r) == {"zebra"}
    api = Api(stack, "search")
    for bad in ("english", "en_GB", "e"):
        r = api("GET", f"/v1/search?q=zebra&lang={bad}", token=search.token)
        assert_error(r, 422, "validation_failed")
        assert "lang" in r.text
    r = api("POST", "/v1/search", token=search.token, json_body={"q": "zebra", "lang": 7})
    assert_error(r, 422, "validation_failed")
