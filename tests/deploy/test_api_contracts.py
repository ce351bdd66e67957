"""The API contracts in proto/ checked by the tools that define them.

- Every proto/openapi/*.yaml passes Redocly CLI's lint with the repository's redocly.yaml:
  no error and no warning (a rule is on, or off with its reason in redocly.yaml), and no
  ignore file hides a problem.
- What one document cannot say: operation ids are unique across the fleet (the GraphQL schema
  and generated clients merge the documents), and each document's Error is DESIGN section 3's
  body.
- Every event data schema in proto/events/ is valid against the JSON Schema 2020-12
  metaschema, names its type, and every $ref resolves; proto/topics.json is valid against
  proto/topics.schema.json, every event type is on exactly one topic and has its schema, and a
  service that emits a type is among its topic's producers.
- `make docs` builds a reference page per document that works without the network.
"""
import glob
import json
import os
import re
import subprocess
from urllib.parse import urldefrag

import pytest
import yaml
from jsonschema import Draft202012Validator

import deploykit

ROOT = deploykit.ROOT
OPENAPI = sorted(glob.glob(os.path.join(ROOT, "proto", "openapi", "*.yaml")))
EVENTS_DIR = os.path.join(ROOT, "proto", "events")
EVENT_SCHEMAS = sorted(glob.glob(os.path.join(EVENTS_DIR, "**", "*.json"), recursive=True))
TOPICS = os.path.join(ROOT, "proto", "topics.json")
TOPICS_SCHEMA = os.path.join(ROOT, "proto", "topics.schema.json")
METASCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# DESIGN section 3: the one error body of the platform, in every document.
ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message", "request_id", "docs_url"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
                "docs_url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "null only when even the error could not be built (out of memory)",
                },
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def rel(path):
    return os.path.relpath(path, ROOT)


# ------------------------------------------------------------------------------ OpenAPI


def json_documents(text):
    """Redocly prints one JSON report per document, one after the other."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
    if not docs:
        raise json.JSONDecodeError("no JSON document", text, 0)
    return docs


def test_there_are_openapi_documents():
    assert len(OPENAPI) >= 3, OPENAPI


def test_redocly_lint_finds_no_problem(node_checks):
    """One run over every document (the CLI starts in seconds, the rules in milliseconds)."""
    assert not os.path.exists(os.path.join(ROOT, ".redocly.lint-ignore.yaml")), (
        "an ignore file hides problems: fix them or switch the rule off in redocly.yaml with a reason")
    p = subprocess.run(
        [deploykit.node_bin(node_checks, "redocly"), "lint", "--config", "redocly.yaml",
         "--format=json", *[rel(d) for d in OPENAPI]],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"})
    try:
        reports = json_documents(p.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"redocly lint gave no JSON report (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    assert len(reports) == len(OPENAPI), p.stdout
    problems = [
        f"{pr['severity']} {pr['ruleId']}: {pr['message']} at "
        + ", ".join(f"{loc['source']['ref']}{loc.get('pointer', '')}" for loc in pr.get("location", []))
        for report in reports
        for pr in report["problems"]
    ]
    assert problems == [], "\n".join(problems)
    assert [r["totals"] for r in reports] == [{"errors": 0, "warnings": 0, "ignored": 0}] * len(OPENAPI)
    assert p.returncode == 0, p.stderr


def test_redocly_lint_catches_a_missing_operation_id(node_checks, tmp_path):
    """The ruleset is in force: a document without an operation id fails the lint."""
    doc = load_yaml(OPENAPI[0])
    first_path = next(iter(doc["paths"].values()))
    op = next(first_path[m] for m in HTTP_METHODS if m in first_path)
    del op["operationId"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    p = subprocess.run(
        [deploykit.node_bin(node_checks, "redocly"), "lint", "--config",
         os.path.join(ROOT, "redocly.yaml"), "--format=json", str(bad)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"})
    assert p.returncode != 0
    rules = {pr["ruleId"] for r in json_documents(p.stdout) for pr in r["problems"]}
    assert "operation-operationId" in rules, rules


def operations(doc):
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def test_operation_ids_are_unique_across_the_fleet():
    seen = {}
    dupes = []
    for d in OPENAPI:
        for path, method, op in operations(load_yaml(d)):
            oid = op.get("operationId")
            assert oid, f"{rel(d)} {method.upper()} {path} has no operationId"
            if oid in seen:
                dupes.append(f"{oid}: {seen[oid]} and {rel(d)} {method.upper()} {path}")
            seen[oid] = f"{rel(d)} {method.upper()} {path}"
    assert dupes == []


@pytest.mark.parametrize("doc", OPENAPI, ids=lambda p: os.path.basename(p))
def test_error_schema_is_the_platform_error_body(doc):
    assert load_yaml(doc)["components"]["schemas"]["Error"] == ERROR_SCHEMA


# ------------------------------------------------------------------------------ events


def test_there_are_event_schemas():
    assert len(EVENT_SCHEMAS) >= 10, EVENT_SCHEMAS


@pytest.mark.parametrize("path", EVENT_SCHEMAS, ids=lambda p: os.path.relpath(p, EVENTS_DIR))
def test_event_schema_is_valid_2020_12(path):
    schema = load_json(path)
    assert schema.get("$schema") == METASCHEMA_2020_12, "declare the 2020-12 dialect"
    Draft202012Validator.check_schema(schema)
    name = os.path.relpath(path, EVENTS_DIR)
    assert schema.get("$id") == f"https://schemas.techcorp.com/events/{name}"
    if os.path.dirname(name) == "":
        assert schema.get("title") == name[: -len(".json")], "a type's schema is titled by its type"


def resolve_pointer(doc, pointer, where):
    node = doc
    for raw in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            assert part.isdigit() and int(part) < len(node), f"{where}: no element {part}"
            node = node[int(part)]
        else:
            assert isinstance(node, dict) and part in node, f"{where}: no member {part!r}"
            node = node[part]
    return node


def refs_of(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_of(v)


def referenced_files(path, seen=None):
    """Follows every $ref from `path` (files relative to it, JSON pointers inside them); fails
    on one that does not resolve. Returns the files reached."""
    seen = set() if seen is None else seen
    if path in seen:
        return seen
    seen.add(path)
    doc = load_json(path)
    for ref in refs_of(doc):
        target, fragment = urldefrag(ref)
        assert not re.match(r"^[a-z]+:", target), f"{rel(path)}: $ref {ref} leaves the repository"
        file = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
        assert os.path.isfile(file), f"{rel(path)}: $ref {ref}: no file {rel(file)}"
        resolve_pointer(load_json(file), fragment, f"{rel(path)}: $ref {ref}")
        referenced_files(file, seen)
    return seen


@pytest.mark.parametrize("path", EVENT_SCHEMAS, ids=lambda p: os.path.relpath(p, EVENTS_DIR))
def test_event_schema_refs_resolve(path):
    referenced_files(path)


def test_shared_event_schemas_are_used():
    top = [p for p in EVENT_SCHEMAS if os.path.dirname(p) == EVENTS_DIR]
    reached = set()
    for p in top:
        reached |= referenced_files(p)
    unused = [rel(p) for p in EVENT_SCHEMAS if p not in reached]
    assert unused == []


# ------------------------------------------------------------------------------ topics


def test_topic_catalog_is_valid_against_its_schema():
    schema = load_json(TOPICS_SCHEMA)
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(load_json(TOPICS)), key=str)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def topic_of_each_type():
    where = {}
    for t in load_json(TOPICS)["topics"]:
        for etype in t["events"]:
            where.setdefault(etype, []).append(t["name"])
    return where


def test_every_event_type_is_on_exactly_one_topic():
    names = [t["name"] for t in load_json(TOPICS)["topics"]]
    assert len(names) == len(set(names)), names
    twice = {etype: topics for etype, topics in topic_of_each_type().items() if len(topics) != 1}
    assert twice == {}


def test_every_event_type_has_a_schema_and_every_schema_a_topic():
    types = set(topic_of_each_type())
    files = {os.path.basename(p)[: -len(".json")] for p in EVENT_SCHEMAS
             if os.path.dirname(p) == EVENTS_DIR}
    assert sorted(types - files) == [], "types without a data schema in proto/events/"
    assert sorted(files - types) == [], "schemas no topic lists"


def types_by_service():
    """{service: (emitted, consumed)} from each service's sources: a TC_EV_* constant
    (tools/protogen names them from the type) in a consumer dispatch entry `{TC_EV_X, handler}`
    is consumed, anywhere else emitted; libcommon's tc_audit_* emit audit events."""
    constant = {
        "TC_EV_" + re.sub(r"[^A-Z0-9]", "_", etype[len("com.techcorp."):].upper()): etype
        for etype in topic_of_each_type()
    }
    out = {}
    for src in glob.glob(os.path.join(ROOT, "services", "*", "src")):
        service = os.path.basename(os.path.dirname(src))
        emitted, consumed = set(), set()
        for f in glob.glob(os.path.join(src, "*.c")):
            with open(f) as fh:
                text = fh.read()
            for m in re.finditer(r"(\{\s*)?\b(TC_EV_[A-Z0-9_]+)\b(\s*,\s*[a-z_][a-z0-9_]*\s*\})?", text):
                if m.group(2) not in constant:
                    continue
                (consumed if m.group(1) and m.group(3) else emitted).add(constant[m.group(2)])
            if re.search(r"\btc_audit_[a-z_]+\s*\(", text):
                emitted.add("com.techcorp.audit.recorded")
        out[service] = (emitted, consumed)
    return out


def test_services_use_only_topics_that_name_them():
    """proto/topics.json's producers and consumers are what the code does: DESIGN section 1's
    table, the chart's NetworkPolicies and the ACLs are derived from them."""
    catalog = {t["name"]: t for t in load_json(TOPICS)["topics"]}
    where = topic_of_each_type()
    wrong = []
    for service, (emitted, consumed) in sorted(types_by_service().items()):
        for role, types, listed in (("emits", emitted, "producers"), ("consumes", consumed, "consumers")):
            for etype in sorted(types):
                topic = where[etype][0]
                if service not in catalog[topic][listed]:
                    wrong.append(f"{service} {role} {etype} but is not among the {listed} of {topic}")
    assert wrong == []


# ------------------------------------------------------------------------------ make docs


def test_docs_build_a_page_that_works_offline(node_checks, tmp_path):
    """scripts/docs on one document: the page is prerendered, and its script is the Redoc
    bundle beside it rather than a CDN (the console serves these pages; clusters may have no
    internet access)."""
    doc = os.path.join(ROOT, "proto", "openapi", "user.yaml")
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "docs"), "--out", str(tmp_path), doc],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    html = (tmp_path / "user.html").read_text()
    assert not re.search(r'<script[^>]+src="https?://', html)
    assert '<script src="redoc.standalone.js"' in html
    assert (tmp_path / "redoc.standalone.js").stat().st_size > 100_000
    for _path, _method, op in operations(load_yaml(doc)):
        assert f'operation/{op["operationId"]}' in html, op["operationId"]
    index = (tmp_path / "index.html").read_text()
    assert 'href="user.html"' in index
