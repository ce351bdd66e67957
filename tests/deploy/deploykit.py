"""Helpers of the deployment checks (docker/, helm/, .github/), shared by tests/deploy/test_*.py
(a module of its own: every suite directory has a conftest.py, so `from conftest import` would
find another suite's). conftest.py turns them into fixtures. None needs the running stack.

- `render(...)`: renders the chart like `helm template` with ../shared/tools/helm-template (it
  uses the real helm when installed), `helm template` itself when shared/ is not beside the
  checkout, or $HELM_TEMPLATE; returns the parsed objects and the text.
- `node_checks`: the npm packages of package.json (Dockerfile linters, kubernetes-models),
  installed with `npm ci` into tests/deploy/node_modules when the lockfile changed.
Every tool that is missing fails the test that needs it with the way to install it.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(ROOT, "helm", "techcorp-platform")
VALUES_DIR = os.path.join(HERE, "values")
TEAM_VALUES_DIR = os.path.join(CHART, "values")
YAMLLINT_CONFIG = os.path.join(HERE, "yamllint.yaml")
RELEASE = "techcorp"
NAMESPACE = "techcorp"

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import fleet  # noqa: E402
from npm_tools import need_tool, npm_ci  # noqa: E402,F401 (need_tool: for the suites)

FLEET = fleet.SERVICES  # every service of the chart, in port order (scripts/fleet)
ENABLED = fleet.ENABLED  # the services the chart enables by default

# The values combinations every render test runs over (name -> (files, extra args)).
MINIMAL = os.path.join(VALUES_DIR, "minimal.yaml")
ALL_FEATURES_ARGS = ["--kube-version", "v1.30.0",
                     "-a", "argoproj.io/v1alpha1", "-a", "monitoring.coreos.com/v1"]
COMBOS = {
    "defaults": ([MINIMAL], []),
    "all-features": ([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS),
    "canary-user": ([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml")], []),
    "team-security": ([MINIMAL, os.path.join(TEAM_VALUES_DIR, "security.yaml")], []),
    "kube-1.25": ([MINIMAL], ["--kube-version", "v1.25.0"]),
}


def renderer():
    """The command that renders the chart, or a skip (a failure when
    TC_REQUIRE_CHART_RENDERER is set) saying what to install."""
    explicit = os.environ.get("HELM_TEMPLATE")
    if explicit:
        return explicit.split()
    shared = os.path.join(os.path.dirname(ROOT), "shared", "tools", "helm-template", "helm-template")
    if os.access(shared, os.X_OK):
        return [shared]
    if shutil.which("helm"):
        return ["helm", "template"]
    why = ("no chart renderer: install helm (https://helm.sh), or keep ../shared/tools/"
           "helm-template beside the checkout, or set HELM_TEMPLATE")
    # A machine without any renderer cannot check the chart; say so loudly rather than fail
    # the whole suite, unless the caller demands it (the GitHub workflow installs helm).
    if os.environ.get("TC_REQUIRE_CHART_RENDERER"):
        pytest.fail(why)
    pytest.skip(why)


class Rendered:
    def __init__(self, text):
        self.text = text
        self.docs = [d for d in yaml.safe_load_all(text) if d]

    def of(self, kind):
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind, name):
        for d in self.docs:
            if d["kind"] == kind and d["metadata"]["name"] == name:
                return d
        raise KeyError(f"no {kind} {name} in the rendered chart "
                       f"(have: {sorted((d['kind'], d['metadata']['name']) for d in self.docs)})")

    def has(self, kind, name):
        return any(d["kind"] == kind and d["metadata"]["name"] == name for d in self.docs)


def run_render(files=(), args=(), check=True):
    cmd = renderer() + [RELEASE, CHART, "-n", NAMESPACE]
    for f in files:
        cmd += ["-f", f]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        pytest.fail(f"rendering failed: {' '.join(cmd)}\n{p.stderr}")
    return p


_cache = {}


def render(files=(), args=()):
    """The chart rendered with these values files and arguments (cached for the session)."""
    key = (tuple(files), tuple(args))
    if key not in _cache:
        _cache[key] = Rendered(run_render(files, args).stdout)
    return _cache[key]


def chart_values():
    with open(os.path.join(CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def install_node_checks():
    """tests/deploy/node_modules, installed with `npm ci` when package-lock.json changed."""
    return npm_ci(HERE)


def node_bin(node_modules, name):
    return os.path.join(node_modules, ".bin", name)


def to_json_file(objs, path):
    with open(path, "w") as f:
        json.dump(objs, f)
    return path
