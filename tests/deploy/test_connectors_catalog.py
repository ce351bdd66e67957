"""The integration hub's connector catalog (proto/connectors/*.json, compiled into the hub):
what the hub refuses when it loads the catalog, checked before a build gets that far.

- Every definition is valid against proto/connectors/connector.schema.json (JSON Schema
  2020-12), has no member written twice, and is named by its id.
- Every `{x}` / `{+x}` of an action's path names a required string or integer of the action's
  input, and nothing else in the path has braces; `query`, `query_object`, `headers_object`
  and a `body` field name input properties of the kinds README.md says (query fields scalar,
  the two objects objects); the test action exists and runs with an empty input.
- The base URL's template names a required `format: uri` property of the settings or the
  credentials; the fields `auth` names are credentials (an OAuth client's id and secret
  included), and its token URL's template a `format: uri` setting.
"""
import glob
import json
import os
import re

import pytest
from jsonschema import Draft202012Validator

import deploykit

DIR = os.path.join(deploykit.ROOT, "proto", "connectors")
SCHEMA = os.path.join(DIR, "connector.schema.json")
FILES = sorted(f for f in glob.glob(os.path.join(DIR, "*.json")) if f != SCHEMA)
# the catalog the API spec of connectors ships with (and the vendors' connectors beside it)
SHIPPED = {"http", "graphql", "slack", "microsoft-teams", "discord"}

TEMPLATE = re.compile(r"\{(\+?)([^{}]*)\}")
BASE_TEMPLATE = re.compile(r"^\{(settings|credentials)\.([a-z_][a-z0-9_]*)\}$")
SETTINGS_TEMPLATE = re.compile(r"^\{settings\.([a-z_][a-z0-9_]*)\}$")
SCALAR = {"string", "integer", "number", "boolean"}


def no_duplicate_members(pairs):
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    assert not dupes, f"members written twice: {dupes}"
    return dict(pairs)


def load(path):
    with open(path) as f:
        return json.load(f, object_pairs_hook=no_duplicate_members)


def name_of(path):
    return os.path.basename(path)[: -len(".json")]


def props(schema):
    return (schema or {}).get("properties", {})


def test_the_catalog_has_the_shipped_connectors():
    assert len(FILES) >= len(SHIPPED)
    assert SHIPPED <= {name_of(f) for f in FILES}


def test_the_schema_is_valid_2020_12():
    schema = load(SCHEMA)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_schema_refuses_what_the_readme_refuses():
    """The checks below are only as good as the schema: a keyword outside the subset, an
    unknown auth type and a bad action name are refused."""
    validator = Draft202012Validator(load(SCHEMA))
    good = load(os.path.join(DIR, "github.json"))
    assert list(validator.iter_errors(good)) == []
    bad_keyword = json.loads(json.dumps(good))
    bad_keyword["actions"]["create_issue"]["input"]["properties"]["title"]["pattern"] = "^x"
    bad_auth = {**good, "auth": {"type": "digest", "field": "token"}}
    bad_action = {**good, "actions": {"Create-Issue": good["actions"]["create_issue"]}}
    bad_base = {**good, "base_url": "http://api.github.com"}
    for bad in (bad_keyword, bad_auth, bad_action, bad_base):
        assert list(validator.iter_errors(bad)), bad


@pytest.fixture(scope="module")
def validator():
    return Draft202012Validator(load(SCHEMA))


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_definition_is_valid_and_named_by_its_id(path, validator):
    d = load(path)
    errors = sorted(validator.iter_errors(d), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []
    assert d["id"] == name_of(path), f"id {d['id']} in {os.path.basename(path)}"


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_action_paths_name_required_inputs(path):
    for name, a in load(path)["actions"].items():
        inputs, required = props(a["input"]), set(a["input"].get("required", []))
        for plus, field in TEMPLATE.findall(a["path"]):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", field), (name, field)
            assert field in required, f"{name}: {{{plus}{field}}} is not a required input"
            assert inputs.get(field, {}).get("type") in ("string", "integer"), \
                f"{name}: {{{plus}{field}}} is not a string or an integer"
        assert "{" not in TEMPLATE.sub("", a["path"]) and "}" not in TEMPLATE.sub("", a["path"]), \
            f"{name}: stray brace in {a['path']!r}"


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_action_fields_name_inputs(path):
    for name, a in load(path)["actions"].items():
        inputs = props(a["input"])
        for field in a.get("query", []):
            assert field in inputs, f"{name}: query field {field} is not an input"
            assert inputs[field].get("type") in SCALAR, \
                f"{name}: query field {field} is not a string, number or boolean"
        for key in ("query_object", "headers_object"):
            if key in a:
                assert a[key] in inputs, f"{name}: {key} {a[key]} is not an input"
                assert inputs[a[key]].get("type") == "object", f"{name}: {key} is not an object"
        body = a.get("body", "none" if a["method"] in ("GET", "DELETE") else "rest")
        if body not in ("none", "rest"):
            assert body in inputs, f"{name}: body field {body} is not an input"
        path_fields = {f for _, f in TEMPLATE.findall(a["path"])}
        taken = [f for f in a.get("query", []) if f in path_fields]
        assert taken == [], f"{name}: {taken} both in the path and the query"


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_the_test_action_runs_with_an_empty_input(path):
    d = load(path)
    if "test" not in d:
        return
    assert d["test"] in d["actions"], f"test names no action: {d['test']}"
    schema = d["actions"][d["test"]]["input"]
    assert list(Draft202012Validator(schema).iter_errors({})) == [], \
        "POST …/test runs the test action with {}: its input may require nothing"


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_base_url_and_auth_name_connection_fields(path):
    d = load(path)
    m = BASE_TEMPLATE.match(d["base_url"])
    if m:
        part, field = m.groups()
        schema = d.get(part) or {}
        assert props(schema).get(field, {}).get("format") == "uri", \
            f"base_url names {part}.{field}, which is not a format: uri property"
        assert field in schema.get("required", []), f"base_url names an optional {part}.{field}"
    else:
        assert d["base_url"].startswith("https://") and "{" not in d["base_url"]

    creds = props(d.get("credentials"))
    auth = d["auth"]
    for key in ("field", "username_field", "password_field"):
        if key in auth:
            assert auth[key] in creds, f"auth.{key} {auth[key]} is not a credential"
    if auth["type"] == "oauth2_client_credentials":
        assert {"client_id", "client_secret"} <= set(creds), "an OAuth client's id and secret"
        assert {"client_id", "client_secret"} <= set(d["credentials"].get("required", []))
        m = SETTINGS_TEMPLATE.match(auth["token_url"])
        if m:
            assert props(d.get("settings")).get(m.group(1), {}).get("format") == "uri", \
                f"token_url names settings.{m.group(1)}, which is not a format: uri property"
        scope = auth.get("scope", "")
        m = SETTINGS_TEMPLATE.match(scope)
        if m:  # a template the README does not describe (see the report): at least a setting
            assert props(d.get("settings")).get(m.group(1), {}).get("type") == "string", \
                f"auth.scope names settings.{m.group(1)}, which is not a string setting"
        else:
            assert "{" not in scope, f"auth.scope {scope!r}"
    else:
        assert auth["type"] in ("none", "api_key", "bearer", "basic")
