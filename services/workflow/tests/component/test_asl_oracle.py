"""The ASL corpus (services/workflow/tests/asl-corpus) against an independent interpreter.

Every case runs through aws-local-stepfunctions (services/workflow/tests/oracle/oracle.js, its
node_modules installed here with `npm ci` when package-lock.json changed). A case without a
"divergence" must get exactly its "expected" answer from the oracle; a case with one records
where the oracle departs from the States Language specification or the Step Functions
documentation, so the oracle must still answer differently (a note that became untrue fails).
The corpus must also stay broad: at least 100 cases, every state type, Choice operator and
intrinsic function. The C unit test test_asl_run_corpus.c runs the same corpus through asl_run.

Needs node and npm (the npm registry once, for `npm ci`), not the stack.
"""
import json
import os
import re
import subprocess

import pytest
from npm_tools import npm_ci

# the oracle and the corpus only: nothing here runs the workflow service or its engine
pytestmark = pytest.mark.no_binaries

HERE = os.path.dirname(os.path.abspath(__file__))
WORKFLOW_TESTS = os.path.dirname(HERE)
CORPUS = os.path.join(WORKFLOW_TESTS, "asl-corpus")
ORACLE = os.path.join(WORKFLOW_TESTS, "oracle")

MIN_CASES = 100
STATE_TYPES = ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]
INTRINSICS = [
    "States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
    "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
    "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
    "States.Hash", "States.JsonMerge", "States.MathRandom", "States.MathAdd",
    "States.StringSplit", "States.UUID",
]
HASH_ALGORITHMS = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"]
_COMPARISONS = [
    f"{kind}{op}"
    for kind in ("String", "Numeric", "Timestamp")
    for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
] + ["BooleanEquals"]
CHOICE_OPERATORS = (_COMPARISONS + [c + "Path" for c in _COMPARISONS] + [
    "StringMatches", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp",
    "And", "Or", "Not"])
CASE_KEYS = {"name", "description", "definition", "input", "expected", "divergence"}
FILE_RE = re.compile(r"^(\d{3})_([A-Za-z0-9_]+)\.json$")


def load_corpus():
    cases = []
    for f in sorted(os.listdir(CORPUS)):
        if f.endswith(".json"):
            with open(os.path.join(CORPUS, f)) as fh:
                cases.append((f, json.load(fh)))
    return cases


CASES = load_corpus()


# ------------------------------------------------------------------ the oracle


def install_oracle():
    """services/workflow/tests/oracle/node_modules, installed with `npm ci` when
    package-lock.json changed."""
    npm_ci(ORACLE)


@pytest.fixture(scope="module")
def oracle_answers():
    """The oracle's answer to every case, by file name."""
    install_oracle()
    p = subprocess.run(["node", os.path.join(ORACLE, "oracle.js"), "--corpus", CORPUS],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        pytest.fail(f"oracle.js failed ({p.returncode}):\n{p.stderr}")
    answers = {}
    for line in p.stdout.splitlines():
        a = json.loads(line)
        answers[a["file"]] = a
    return answers


# ------------------------------------------------------------------ comparing answers


def json_equal(a, b):
    """JSON equality: numbers as doubles (1 == 1.0), booleans apart from numbers, object key
    order ignored."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return (isinstance(a, (int, float)) and isinstance(b, (int, float))
                and float(a) == float(b))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(json_equal(a[k], b[k]) for k in a))
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(json_equal(x, y) for x, y in zip(a, b)))
    return a == b  # strings and null


def answer_matches(expected, answer):
    if "output" in expected:
        return "output" in answer and json_equal(expected["output"], answer["output"])
    if answer.get("error") != expected["error"]:
        return False
    return "cause" not in expected or answer.get("cause") == expected["cause"]


def shown(answer):
    return json.dumps({k: v for k, v in answer.items() if k not in ("name", "file")})


def case_id(c):
    return c[0][:-len(".json")]


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_case_against_oracle(case, oracle_answers):
    f, doc = case
    answer = oracle_answers.get(f)
    assert answer is not None, f"the oracle gave no answer for {f}"
    if "divergence" in doc:
        assert not answer_matches(doc["expected"], answer), (
            f"{f} records a divergence but the oracle now answers as expected ({shown(answer)}): "
            "remove the \"divergence\" note")
    else:
        assert answer_matches(doc["expected"], answer), (
            f"{f}: expected {json.dumps(doc['expected'])}, the oracle answered {shown(answer)}. "
            "If the oracle is right, regenerate with `node oracle.js --write "
            f"{f[:3]}`; if it departs from the specification, record a \"divergence\"")


# ------------------------------------------------------------------ the corpus itself


def test_case_files_are_well_formed():
    problems = []
    names = set()
    for f, doc in CASES:
        m = FILE_RE.match(f)
        if not m:
            problems.append(f"{f}: not named NNN_<name>.json")
        elif doc.get("name") != m.group(2):
            problems.append(f"{f}: \"name\" is {doc.get('name')!r}, not {m.group(2)!r}")
        if doc.get("name") in names:
            problems.append(f"{f}: name used twice")
        names.add(doc.get("name"))
        if set(doc) - CASE_KEYS:
            problems.append(f"{f}: unknown keys {sorted(set(doc) - CASE_KEYS)}")
        for k in ("name", "description", "definition", "input", "expected"):
            if k not in doc:
                problems.append(f"{f}: no {k!r}")
        exp = doc.get("expected", {})
        if not isinstance(exp, dict) or (("output" in exp) == ("error" in exp)):
            problems.append(f"{f}: \"expected\" needs exactly one of output, error")
        elif set(exp) - {"output", "error", "cause"} or ("cause" in exp and "error" not in exp):
            problems.append(f"{f}: \"expected\" holds {sorted(exp)}")
        if "divergence" in doc and len(str(doc["divergence"])) < 40:
            problems.append(f"{f}: a divergence says why and which source we follow")
    assert not problems, "\n".join(problems)


def test_corpus_size():
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases, the corpus needs {MIN_CASES}"


def states_of(machine):
    for name, st in (machine.get("States") or {}).items():
        yield name, st
        for b in st.get("Branches") or []:
            yield from states_of(b)
        inner = st.get("ItemProcessor") or st.get("Iterator")
        if inner:
            yield from states_of(inner)


def rule_keys(rule):
    keys = set(rule)
    for sub in rule.get("And", []) + rule.get("Or", []):
        keys |= rule_keys(sub)
    if "Not" in rule:
        keys |= rule_keys(rule["Not"])
    return keys


def used(field):
    """For each case, the set of what `field(state)` yields over all its states."""
    seen = set()
    for _, doc in CASES:
        for _, st in states_of(doc["definition"]):
            seen |= set(field(st))
    return seen


def test_corpus_covers_every_state_type():
    missing = set(STATE_TYPES) - used(lambda st: [st.get("Type")])
    assert not missing, f"no case uses state type(s) {sorted(missing)}"


def test_corpus_covers_every_choice_operator():
    def ops(st):
        out = set()
        for rule in st.get("Choices", []):
            out |= rule_keys(rule)
        return out
    missing = set(CHOICE_OPERATORS) - used(ops)
    assert not missing, f"no Choice rule uses {sorted(missing)}"


def test_corpus_covers_every_intrinsic_and_hash_algorithm():
    text = "\n".join(json.dumps(doc["definition"]) for _, doc in CASES)
    missing = [f for f in INTRINSICS if f + "(" not in text]
    assert not missing, f"no case calls {missing}"
    algs = set(re.findall(r"States\.Hash\([^)]*'([A-Z0-9-]+)'\)", text))
    assert not set(HASH_ALGORITHMS) - algs, f"States.Hash never uses {set(HASH_ALGORITHMS) - algs}"


def test_corpus_covers_data_flow_and_errors():
    fields = used(lambda st: st.keys())
    for f in ("InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Retry",
              "Catch", "ItemsPath", "ItemSelector", "ItemProcessor", "Iterator", "Result",
              "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "ErrorPath", "CausePath",
              "Default", "MaxConcurrency"):
        assert f in fields, f"no state uses {f}"
    errors = {doc["expected"].get("error") for _, doc in CASES}
    for e in ("States.Runtime", "States.ParameterPathFailure", "States.ResultPathMatchFailure",
              "States.IntrinsicFailure", "States.NoChoiceMatched"):
        assert e in errors, f"no case expects {e}"
    text = "\n".join(json.dumps(doc["definition"]) for _, doc in CASES)
    for ctx in ("$$.Map.Item.Index", "$$.Map.Item.Value", "$$.Execution.Name"):
        assert ctx in text, f"no case reads {ctx}"
