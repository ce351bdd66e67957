"""Synonyms per org (/v1/search/synonyms): who may change them, what a body may hold, how they
are stored (case and accents folded), and what a query then finds — one way, multi-word
synonyms as adjacent words, multi-word keys for their words typed together, never another org's synonyms, not for negated or quoted words."""
import pytest

from platform_client import Api, assert_error
from searchkit import Search, doc, key_of, load, loaded_search, new_id

ORG = new_id("org")
OTHER = new_id("org")

CORPUS = {
    "auto": doc(ORG, "Automobile insurance", "cover for every vehicle"),
    "ny": doc(ORG, "New York office", "the team in Manhattan"),
    "apart": doc(ORG, "York minster", "a new guide to the cathedral"),
    "car": doc(ORG, "Car pool", "sharing rides"),
    "cafe": doc(ORG, "Espresso bar", "coffee and cake"),
    "apple": doc(ORG, "Big Apple walking tour", "five boroughs on foot"),
}


key = key_of(CORPUS)


@pytest.fixture(scope="module")
def search(stack):
    return loaded_search(stack, ORG, CORPUS)


@pytest.fixture(scope="module")
def api(stack):
    return Api(stack, "search")


@pytest.fixture(scope="module")
def admin(stack):
    return stack.token(org=ORG, role="admin")


def put(api, token, synonyms):
    return api("PUT", "/v1/search/synonyms", token=token, json_body={"synonyms": synonyms})


def found(search, q):
    return {key(i) for i in search.ids(q)}


@pytest.fixture
def synonyms(api, admin):
    """Gives the org a set for one test and clears it afterwards."""
    def give(s):
        r = put(api, admin, s)
        assert r.status_code == 200, r.text
        return r.json()["synonyms"]
    yield give
    r = api("DELETE", "/v1/search/synonyms", token=admin)
    assert r.status_code == 204, r.text


def test_a_word_finds_its_synonyms_one_way(search, synonyms):
    assert found(search, "car ") == {"car"}
    synonyms({"car": ["automobile"]})
    assert found(search, "car ") == {"car", "auto"}
    assert found(search, "automobile ") == {"auto"}, "one way: automobile does not find car"
    r = search.get("car ")
    assert r["query"]["words"][0]["synonyms"] == ["automobile"]


def test_a_multi_word_synonym_matches_its_words_adjacent(search, synonyms):
    synonyms({"nyc": ["new york"]})
    assert found(search, "nyc ") == {"ny"}, "'a new guide … York minster' has them apart"


def test_a_multi_word_key_takes_its_synonyms_when_its_words_are_typed_together(search, synonyms):
    assert found(search, "new york ") == {"ny", "apart"}, "both words, anywhere"
    assert search.get("new york ")["query"]["spans"] == []
    synonyms({"New York": ["big apple"]})
    assert found(search, "new york ") == {"ny", "apart", "apple"}
    r = search.get("new york ")
    assert r["query"]["spans"] == [{"words": "new york", "synonyms": ["big apple"]}]
    assert found(search, "york new ") == {"ny", "apart"}, "the key's words in its order only"
    assert found(search, "big apple ") == {"apple"}, "one way"
    assert found(search, '"new york"') == {"ny"}, "a quoted phrase is taken as typed"
    assert found(search, "new york walking ") == {"apple"}, "the span is one clause of several"


def test_overlapping_keys_take_the_longest_then_the_leftmost(search, synonyms):
    synonyms({"york walking": ["stroll"], "new york": ["big apple"]})
    spans = search.get("new york walking ")["query"]["spans"]
    assert spans == [{"words": "new york", "synonyms": ["big apple"]}]
    synonyms({"york walking": ["stroll"], "new york": ["big apple"], "new york walking": ["tour"]})
    spans = search.get("new york walking ")["query"]["spans"]
    assert spans == [{"words": "new york walking", "synonyms": ["tour"]}]
    assert found(search, "new york walking ") == {"apple"}, "tour: the walking tour"


def test_a_synonym_match_ranks_as_an_exact_one(search, synonyms):
    synonyms({"coffee": ["espresso"]})
    r = search.get("coffee ", debug="true")
    assert [key(h["id"]) for h in r["data"]] == ["cafe"]
    assert r["data"][0]["debug"]["exact"] > 0
    # the synonym is marked where it matched, as a word of the query is
    assert r["data"][0]["highlight"]["title"] == "<mark>Espresso</mark> bar"


def test_negated_and_quoted_words_take_no_synonyms(search, synonyms):
    synonyms({"car": ["automobile"]})
    assert found(search, "insurance -car ") == {"auto"}, "only the word itself is excluded"
    assert found(search, '"car pool"') == {"car"}


def test_keys_are_folded_and_listed_as_stored(api, admin, synonyms):
    got = synonyms({"Café": ["Coffee  Shop", "Crème"], "CAR": ["Auto"]})
    assert got == {"cafe": ["coffee shop", "creme"], "car": ["auto"]}
    r = api("GET", "/v1/search/synonyms", token=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"synonyms": got}
    got = synonyms({"café": ["bistro"], "cafe": ["coffee"]})
    assert got == {"cafe": ["bistro", "coffee"]}, "keys folding alike are one word"


def test_a_put_replaces_the_whole_set_and_delete_clears_it(api, admin, search, synonyms):
    synonyms({"car": ["automobile"], "nyc": ["new york"]})
    synonyms({"nyc": ["new york"]})
    assert found(search, "car ") == {"car"}
    r = api("DELETE", "/v1/search/synonyms", token=admin)
    assert r.status_code == 204
    assert api("GET", "/v1/search/synonyms", token=admin).json() == {"synonyms": {}}
    assert found(search, "nyc ") == set()


def test_only_admins_change_synonyms_and_members_read_them(stack, api, synonyms):
    synonyms({"car": ["automobile"]})
    for role in ("viewer", "editor"):
        t = stack.token(org=ORG, role=role)
        assert_error(put(api, t, {"car": ["vehicle"]}), 403)
        assert_error(api("DELETE", "/v1/search/synonyms", token=t), 403)
    r = api("GET", "/v1/search/synonyms", token=stack.token(org=ORG, role="viewer"))
    assert r.json() == {"synonyms": {"car": ["automobile"]}}
    assert_error(api("GET", "/v1/search/synonyms"), 401)


def test_concurrent_replacements_both_succeed(api, admin, synonyms):
    from concurrent.futures import ThreadPoolExecutor
    sets = [{"car": ["automobile"], "nyc": ["new york"]}, {"car": ["vehicle"], "nyc": ["big apple"]}]
    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            codes = list(pool.map(lambda s: put(api, admin, s).status_code, sets))
        assert codes == [200, 200]
        got = api("GET", "/v1/search/synonyms", token=admin).json()["synonyms"]
        assert got in sets, got


def test_another_orgs_synonyms_are_never_used_or_shown(stack, api, synonyms):
    synonyms({"car": ["automobile"]})
    other_admin = stack.token(org=OTHER, role="admin")
    assert api("GET", "/v1/search/synonyms", token=other_admin).json() == {"synonyms": {}}
    other = Search(stack, OTHER)
    load(stack, other, [doc(OTHER, "Automobile museum")])
    assert other.get("car ")["data"] == []
    assert other.get("car ")["query"]["words"][0]["synonyms"] == []


@pytest.mark.parametrize("body,field", [
    ({"synonyms": {"a b c d e": ["nyc"]}}, "synonyms"),
    ({"synonyms": {"car": []}}, "synonyms"),
    ({"synonyms": {"car": "auto"}}, "synonyms"),
    ({"synonyms": {"car": ["a-b"]}}, "synonyms"),
    ({"synonyms": {"car": ["one two three four five"]}}, "synonyms"),
    ({"synonyms": {"car": ["x"] * 17}}, "synonyms"),
    ({"synonyms": {"car": ["auto"], "CAR": ["vehicle"]}}, "synonyms"),
    ({"synonyms": {"car": ["CAR"]}}, "synonyms"),
    ({"synonyms": {"car": ["\u00bd"]}}, "synonyms"),
    ({"synonyms": {"\u00bd": ["half"]}}, "synonyms"),
    ({"synonyms": {f"w{i}": ["x"] for i in range(1001)}}, "synonyms"),
    ({"synonyms": ["car"]}, "synonyms"),
    ({}, "synonyms"),
    ({"synonyms": {}, "extra": 1}, "extra"),
])
def test_a_bad_set_is_refused_whole(api, admin, synonyms, body, field):
    synonyms({"car": ["automobile"]})
    r = api("PUT", "/v1/search/synonyms", token=admin, json_body=body)
    err = assert_error(r, 422, "validation_failed")
    assert field in {d["field"] for d in err["details"]}
    assert api("GET", "/v1/search/synonyms", token=admin).json() == {
        "synonyms": {"car": ["automobile"]}}, "nothing of a refused set is kept"
