"""values.schema.json accepts the chart's own values and rejects bad ones, both in Python
(jsonschema) and where it matters, in the renderer (helm validates the schema before rendering);
mistakes the schema cannot see fail the render with a message."""
import copy
import json
import os

import jsonschema
import pytest
import yaml

from deploykit import CHART, MINIMAL, TEAM_VALUES_DIR, VALUES_DIR, run_render


@pytest.fixture(scope="module")
def schema():
    with open(os.path.join(CHART, "values.schema.json")) as f:
        s = json.load(f)
    jsonschema.Draft7Validator.check_schema(s)
    return s


def load(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def coalesce(dst, src):
    """helm's merge of values files: maps merge, null deletes, anything else replaces."""
    for k, v in src.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            coalesce(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def merged(*files, extra=None):
    vals = load(os.path.join(CHART, "values.yaml"))
    for f in files:
        coalesce(vals, load(f))
    if extra:
        coalesce(vals, extra)
    return vals


def errors(schema, values):
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values)]


def test_chart_values_are_valid(schema):
    assert errors(schema, merged()) == []
    for f in sorted(os.listdir(TEAM_VALUES_DIR)):
        assert errors(schema, merged(MINIMAL, os.path.join(TEAM_VALUES_DIR, f))) == [], f
    for f in sorted(os.listdir(VALUES_DIR)):
        assert errors(schema, merged(MINIMAL, os.path.join(VALUES_DIR, f))) == [], f


BAD = {
    "canary weight over 100": {"services": {"user": {"canary": {"weight": 150}}}},
    "canary without the tag under test": {"services": {"user": {"canary": {"enabled": True}}}},
    "a typo in a service": {"services": {"user": {"replica": 3}}},
    "a secret inlined as env": {"services": {"user": {"env": {"DATABASE_URL": "postgresql://u:p@db/x"}}}},
    "a password inlined as platform env": {"platformEnv": {"SMTP_PASSWORD": "hunter2"}},
    "an env value that is not a string": {"services": {"auth": {"env": {"AUTH_SESSION_MAX": 5}}}},
    "an unknown team": {"services": {"user": {"team": "marketing"}}},
    "a port out of range": {"services": {"user": {"port": 70000}}},
    "CPU target of 0%": {"services": {"user": {"autoscaling": {"targetCPUUtilizationPercentage": 0}}}},
    "brokers without ports": {"kafka": {"brokers": "b-1.msk.example"}},
    "a secret template without {service}": {"secrets": {"serviceTemplate": "techcorp-creds"}},
    "a route with neither prefix nor path": {"services": {"user": {"routes": [{"name": "users"}]}}},
    "a route auth mode the gateway lacks": {"services": {"user": {"routes": [{"name": "u", "prefix": "/v1/u", "auth": "maybe"}]}}},
    "a route transform with an unknown rule": {"services": {"user": {"routes": [{"name": "u", "prefix": "/v1/u", "transform": {"request_headers": {"set": {"X-A": "1"}}}}]}}},
    "a route limit without per_minute": {"services": {"user": {"routes": [{"name": "u", "prefix": "/v1/u", "rate_limit": {"burst": 5}}]}}},
    "an unknown top-level key": {"replicaCount": 3},
    "a mistyped CIDR": {"networkPolicy": {"postgresql": {"cidrs": ["10.0.0.0"]}}},
    "a plan without per_day": {"gatewayRouting": {"plans": {"gold": {"per_minute": 10}}}},
    "secrets inlined under secrets": {"secrets": {"values": {"DATA_KEK": "00"}}},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_schema_rejects(schema, case, tmp_path):
    assert errors(schema, merged(MINIMAL, extra=BAD[case])), f"the schema accepts {case}"
    # and so does the renderer (helm checks values.schema.json before rendering)
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(BAD[case]))
    p = run_render([MINIMAL, str(f)], check=False)
    assert p.returncode != 0, f"the renderer accepts {case}"
    assert "schema" in p.stderr.lower(), p.stderr


TEMPLATE_ERRORS = {
    "gateway canary and Argo Rollouts at once": (
        {"services": {"user": {"canary": {"enabled": True, "image": {"tag": "2"}}, "argoRollout": {"enabled": True}}}},
        "exclude each other"),
    "a call to a service that does not exist": (
        {"services": {"user": {"calls": ["payments"]}}}, "is not a service"),
    "two services on one port": ({"services": {"workflow": {"enabled": True, "port": 8082}}}, "already used"),
    "a service without a port": ({"services": {"reports": {"team": "data"}}}, "port is required"),
    "a service without a team": ({"services": {"reports": {"port": 8090}}}, "team is required"),
    "an ingress without hosts": ({"ingress": {"enabled": True}}, "ingress.hosts"),
    "a gateway canary of the gateway itself": (
        {"services": {"gateway": {"canary": {"enabled": True, "image": {"tag": "2"}}}}}, "needs a service the gateway routes to"),
}


@pytest.mark.parametrize("case", sorted(TEMPLATE_ERRORS))
def test_render_fails_clearly(case, tmp_path):
    values, message = TEMPLATE_ERRORS[case]
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(values))
    p = run_render([MINIMAL, str(f)], check=False)
    assert p.returncode != 0, f"renders despite {case}"
    assert message in p.stderr, p.stderr


def test_a_new_service_is_one_entry(render, tmp_path):
    """DESIGN §1: a new service needs its `services:` entry (and its CODEOWNERS line); the
    chart gives it a Deployment, Service, ServiceAccount, ConfigMap, HPA, PDB, NetworkPolicy,
    a gateway upstream and its routes, and admits the gateway to it."""
    f = tmp_path / "new.yaml"
    f.write_text(yaml.safe_dump({"services": {"reports": {
        "team": "data", "port": 8090, "routes": [{"name": "reports", "prefix": "/v1/reports"}]}}}))
    r = render([MINIMAL, str(f)])
    for kind in ("Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler",
                 "PodDisruptionBudget", "NetworkPolicy"):
        assert r.has(kind, "reports"), kind
    assert r.has("ConfigMap", "reports-env")
    cfg = json.loads(r.get("ConfigMap", "gateway-routes")["data"]["gateway.json"])
    assert {"name": "reports", "prefix": "/v1/reports", "upstream": "reports"} in cfg["routes"]
    gw_env = r.get("ConfigMap", "gateway-env")["data"]
    assert gw_env["REPORTS_URL"] == "http://reports.techcorp.svc.cluster.local:8090"
    pol = r.get("NetworkPolicy", "reports")
    assert pol["metadata"]["annotations"]["techcorp.io/callers"] == "gateway"
