"""Every rendered object validates against the Kubernetes OpenAPI schemas of the npm package
kubernetes-models (and @kubernetes-models/argo-rollouts, @kubernetes-models/prometheus-operator
for the Rollout, AnalysisTemplate and ServiceMonitor), run by tests/deploy/validate-models.js."""
import copy
import os
import subprocess

import pytest

from deploykit import ALL_FEATURES_ARGS, COMBOS, HERE, MINIMAL, VALUES_DIR, to_json_file

SCRIPT = os.path.join(HERE, "validate-models.js")


def validate(node_checks, objs, tmp_path, name="objects"):
    path = to_json_file(objs, str(tmp_path / f"{name}.json"))
    return subprocess.run(["node", SCRIPT, path], capture_output=True, text=True, timeout=300,
                          cwd=HERE)


@pytest.mark.parametrize("combo_name", sorted(COMBOS))
def test_rendered_objects_are_valid(node_checks, render, combo_name, tmp_path):
    files, args = COMBOS[combo_name]
    r = render(files, args)
    p = validate(node_checks, r.docs, tmp_path, combo_name)
    assert p.returncode == 0, f"{combo_name}:\n{p.stdout}{p.stderr}"
    assert f"{len(r.docs)} valid, 0 invalid" in p.stdout
    if combo_name == "all-features":
        kinds = {d["kind"] for d in r.docs}
        assert {"Rollout", "AnalysisTemplate", "ServiceMonitor", "Ingress"} <= kinds


def test_the_validator_catches_bad_objects(node_checks, render, tmp_path):
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    dep = copy.deepcopy(r.of("Deployment")[0])
    dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    ro = copy.deepcopy(r.of("Rollout")[0])
    ro["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = "five"
    sm = copy.deepcopy(r.of("ServiceMonitor")[0])
    del sm["spec"]["selector"]
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    for obj in (dep, ro, sm, unknown):
        p = validate(node_checks, [obj], tmp_path, obj["kind"])
        assert p.returncode == 1, f"{obj['kind']} passes:\n{p.stdout}"
        assert "0 valid, 1 invalid" in p.stdout
