"""Releases that cannot undo each other.

- Git is what runs: scripts/canary applies the repository's team files with --reset-values, so
  releasing service B after service A was promoted keeps A's promoted tag and a canary A keeps
  on purpose; the promotion is a commit to the owning team's file, comments kept.
- Team files are narrow: `scripts/fleet check-team-values` refuses a file that touches another
  team's service, a secret, a credential, the network policy or the routing.
- Digests pin images; the PrometheusRule passes promtool's check and unit tests; `helm test`
  renders with its own NetworkPolicy; HPA behavior, PDB eviction policy, PriorityClasses and
  the HTTPRoute render as documented.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import stat
import subprocess

import pytest
import yaml

from deploykit import (ALL_FEATURES_ARGS, CHART, MINIMAL, NAMESPACE, RELEASE, ROOT, TEAM_VALUES_DIR,
                       VALUES_DIR, Rendered, need_tool, renderer, run_render)

HERE = os.path.dirname(os.path.abspath(__file__))
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def image_of(r, kind, name):
    return r.get(kind, name)["spec"]["template"]["spec"]["containers"][0]["image"]


# ------------------------------------------------------------------ a scratch repository

@pytest.fixture
def repo(tmp_path):
    """A git repository holding the chart, scripts/canary and scripts/fleet, with one commit:
    the driver edits and commits there as it would in the deploy workflow."""
    root = tmp_path / "repo"
    shutil.copytree(CHART, root / "helm" / "techcorp-platform")
    (root / "scripts").mkdir()
    for name in ("canary", "fleet"):
        shutil.copy2(os.path.join(ROOT, "scripts", name), root / "scripts" / name)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "init"], check=True)
    return root


def driver(root):
    """scripts/canary of the scratch repository, as a module."""
    path = str(root / "scripts" / "canary")
    loader = importlib.machinery.SourceFileLoader(f"canary_{abs(hash(path))}", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def kube_target(mod, *argv):
    args = mod.parse_args(["--context", "prod", "-f", MINIMAL, *argv])
    return mod.KubeTarget(args)


def render_helm_command(cmd):
    """What `helm upgrade` would apply, rendered: the command's chart, -f and --set."""
    assert cmd[:2] == ["helm", "upgrade"] and "--reset-values" in cmd and "--reuse-values" not in cmd
    chart = cmd[3]
    out = renderer() + [RELEASE, chart, "-n", NAMESPACE]
    i = 4
    while i < len(cmd):
        if cmd[i] in ("-f", "--set"):
            out += [cmd[i], cmd[i + 1]]
            i += 2
        elif cmd[i] in ("--kube-context", "--namespace", "--timeout"):
            i += 2
        else:
            i += 1
    p = subprocess.run(out, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return Rendered(p.stdout)


def git_log(root):
    return subprocess.run(["git", "-C", str(root), "log", "--format=%s"], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def commit_all(root, message):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "commit", "-q", "-am", message], check=True)


def gateway_upstream(r, name):
    cm = next(d for d in r.of("ConfigMap") if d["metadata"]["name"] == "gateway-routes")
    doc = yaml.safe_load(next(iter(cm["data"].values())))
    return next(u for u in doc["upstreams"] if u["name"] == name)


def test_release_b_after_a_keeps_a_promoted_tag_and_its_canary(repo):
    """A (user) is promoted, then keeps a small canary running on purpose (committed); B (auth)
    is released afterwards: every helm call of B's release renders A as git says."""
    mod = driver(repo)
    a = kube_target(mod, "--service", "user", "--tag", "a-1.0.0", "--digest", D1)
    a.record_promotion()
    assert git_log(repo)[0] == f"release: user a-1.0.0 ({D1})"
    team = repo / "helm" / "techcorp-platform" / "values" / "platform.yaml"
    text = team.read_text()
    assert '# "" = the chart\'s appVersion' in text, "comments are kept"
    doc = yaml.safe_load(text)
    assert doc["services"]["user"]["image"] == {"tag": "a-1.0.0", "digest": D1}
    doc["services"]["user"]["canary"] = {"enabled": True, "weight": 10, "image": {"tag": "a-1.1.0"}}
    team.write_text(yaml.safe_dump(doc, sort_keys=False))
    commit_all(repo, "user: a long canary")

    mod = driver(repo)
    b = kube_target(mod, "--service", "auth", "--tag", "b-2.0.0")
    b.weight = 25
    during = render_helm_command(b._helm(*b._canary_sets()))
    b.record_promotion()
    after = render_helm_command(b._helm())
    for r in (during, after):
        assert image_of(r, "Deployment", "user") == f"ghcr.io/techcorp/user:a-1.0.0@{D1}"
        assert image_of(r, "Deployment", "user-canary") == "ghcr.io/techcorp/user:a-1.1.0"
        assert gateway_upstream(r, "user")["canary"]["weight"] == 10
    assert image_of(during, "Deployment", "auth") == "ghcr.io/techcorp/auth:0.1.0"
    assert image_of(during, "Deployment", "auth-canary") == "ghcr.io/techcorp/auth:b-2.0.0"
    assert gateway_upstream(during, "auth")["canary"]["weight"] == 25
    assert image_of(after, "Deployment", "auth") == "ghcr.io/techcorp/auth:b-2.0.0"
    assert not after.has("Deployment", "auth-canary")
    assert git_log(repo)[0] == "release: auth b-2.0.0"


def test_a_rollback_applies_the_committed_state(repo):
    mod = driver(repo)
    t = kube_target(mod, "--service", "user", "--tag", "bad-1")
    cmd = t._helm()
    assert not [c for c in cmd if c.startswith("services.")], "no --set: what git holds"
    r = render_helm_command(cmd)
    assert not r.has("Deployment", "user-canary")


def test_a_promotion_clears_an_older_digest_and_changes_nothing_else(repo):
    mod = driver(repo)
    team = repo / "helm" / "techcorp-platform" / "values" / "platform.yaml"
    before = yaml.safe_load(team.read_text())
    kube_target(mod, "--service", "user", "--tag", "1.0.0", "--digest", D1).record_promotion()
    kube_target(mod, "--service", "user", "--tag", "1.0.1").record_promotion()
    after = yaml.safe_load(team.read_text())
    assert after["services"]["user"]["image"] == {"tag": "1.0.1", "digest": ""}
    after["services"]["user"]["image"] = before["services"]["user"]["image"]
    assert after == before


def test_record_release_refuses_what_it_cannot_edit_safely():
    mod = driver_from_checkout()
    with pytest.raises(mod.InfraError):
        mod.record_release("services:\n  user:\n    image: {tag: x}\n", "user", "1", "")
    with pytest.raises(mod.InfraError):
        mod.record_release("services:\n  auth: {}\n", "user", "1", "")
    out = mod.record_release("services:\n  user:\n    enabled: true\n", "user", "1.2", D2)
    assert yaml.safe_load(out) == {"services": {"user": {"enabled": True,
                                                         "image": {"tag": "1.2", "digest": D2}}}}


def driver_from_checkout():
    path = os.path.join(ROOT, "scripts", "canary")
    loader = importlib.machinery.SourceFileLoader("canary_checkout", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_dry_run_shows_the_lock_the_commit_and_one_release(repo):
    p = subprocess.run([str(repo / "scripts" / "canary"), "--context", "prod", "--service", "user",
                        "--tag", "1.2.3", "--digest", D1, "--interval", "0.01", "--dry-run"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert out.count("create configmap techcorp-release-lock") == 1
    assert "would commit helm/techcorp-platform/values/platform.yaml: release: user 1.2.3" in out
    assert f'+      digest: "{D1}"' in out
    helm = [line for line in out.splitlines() if "would run: helm upgrade" in line]
    assert len(helm) == 5  # canary at 0, 5, 25, 100, promotion
    teams = sorted(f for f in os.listdir(TEAM_VALUES_DIR) if f.endswith(".yaml"))
    for line in helm:
        assert "--reset-values" in line and "--reuse-values" not in line
        for t in teams:
            assert f"values/{t}" in line, f"{t} missing from {line}"
    assert "services.user.canary" not in helm[-1]
    assert git_log(repo) == ["init"], "a dry run commits nothing"


def fake_tools(tmp_path, kubectl_script):
    """kubectl and helm stand-ins on PATH: kubectl runs the given shell, helm records calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "helm-calls"
    (bin_dir / "kubectl").write_text("#!/bin/sh\n" + kubectl_script)
    (bin_dir / "helm").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    for f in ("kubectl", "helm"):
        os.chmod(bin_dir / f, stat.S_IRWXU)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, calls


def test_a_release_waits_for_no_one_and_touches_nothing_while_another_holds_the_lock(repo, tmp_path):
    env, calls = fake_tools(tmp_path, """case "$*" in
  *"create configmap"*) echo 'Error from server (AlreadyExists): configmaps "techcorp-release-lock" already exists' >&2; exit 1 ;;
  *"get configmap"*) echo '{"holder":"1234","service":"auth","tag":"9.9.9"}' ;;
esac
""")
    p = subprocess.run([str(repo / "scripts" / "canary"), "--context", "prod", "--service", "user",
                        "--tag", "1.2.3", "--interval", "0.01"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "another release holds configmap/techcorp-release-lock" in p.stdout
    assert '"service":"auth"' in p.stdout
    assert not calls.exists(), "nothing applied, not even a rollback of the other release"


def test_a_release_refuses_invalid_or_uncommitted_team_files(repo, tmp_path):
    env, calls = fake_tools(tmp_path, "exit 0\n")
    team = repo / "helm" / "techcorp-platform" / "values" / "platform.yaml"
    doc = yaml.safe_load(team.read_text())
    doc["services"]["user"]["credentialsSecret"] = "techcorp-auth"
    team.write_text(yaml.safe_dump(doc))
    cmd = [str(repo / "scripts" / "canary"), "--context", "prod", "--service", "user",
           "--tag", "1.2.3", "--interval", "0.01"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 3 and "credentialsSecret" in p.stdout, p.stdout + p.stderr
    doc["services"]["user"].pop("credentialsSecret")
    doc["services"]["user"]["replicas"] = 4
    team.write_text(yaml.safe_dump(doc))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 3 and "uncommitted changes to the team values" in p.stdout, p.stdout
    assert not calls.exists()


# ------------------------------------------------------------------ team files are narrow

def check_team_file(tmp_path, team, doc):
    path = tmp_path / f"{team}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run([os.path.join(ROOT, "scripts", "fleet"), "check-team-values", str(path)],
                          capture_output=True, text=True)


def test_the_repository_team_files_pass():
    p = subprocess.run([os.path.join(ROOT, "scripts", "fleet"), "check-team-values"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("entry,why", [
    ({"credentialsSecret": "techcorp-auth"}, "credentialsSecret"),
    ({"networkPolicy": {"extraEgress": [{}]}}, "networkPolicy"),
    ({"secretEnv": {"X": {"key": "X"}}}, "secretEnv"),
    ({"platformKeys": ["DATA_KEK"]}, "platformKeys"),
    ({"routes": [{"name": "x", "prefix": "/v1/x"}]}, "routes"),
    ({"upstream": {"retries": 5}}, "upstream"),
    ({"calls": ["auth"]}, "calls"),
    ({"uses": {"redis": True}}, "uses"),
    ({"port": 9999}, "port"),
    ({"image": {"repository": "evil.example/user"}}, "repository"),
    ({"image": {"digest": "sha256:abc"}}, "digest"),
    ({"env": {"STRIPE_SECRET": "x"}}, "STRIPE_SECRET"),
    ({"env": {"DATABASE_URL": "postgres://x"}}, "DATABASE_URL"),
    ({"canary": {"env": {"API_TOKEN": "x"}}}, "API_TOKEN"),
    ({"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "x"}}}, "serviceAccount"),
])
def test_a_team_file_may_not_reach_beyond_release_settings(tmp_path, entry, why):
    p = check_team_file(tmp_path, "platform", {"services": {"user": entry}})
    assert p.returncode == 1 and why in p.stderr, p.stderr


def test_a_team_file_may_not_touch_another_teams_service(tmp_path):
    p = check_team_file(tmp_path, "platform", {"services": {"auth": {"image": {"tag": "1"}}}})
    assert p.returncode == 1 and "services.auth belongs to team security" in p.stderr, p.stderr
    p = check_team_file(tmp_path, "platform", {"services": {"nope": {}}})
    assert p.returncode == 1 and "not a service of the chart" in p.stderr, p.stderr


def test_a_team_owns_its_release_settings(tmp_path):
    p = check_team_file(tmp_path, "platform", {"services": {"user": {
        "enabled": True, "image": {"tag": "1.2.3", "digest": D1}, "replicas": 4,
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 30,
                        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}}},
        "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "env": {"USER_RETENTION_SECONDS": "86400"},
        "canary": {"enabled": True, "weight": 5, "replicas": 2, "image": {"tag": "1.2.4", "digest": D2},
                   "env": {"LOG_LEVEL": "debug"}}}}})
    assert p.returncode == 0, p.stderr


# ------------------------------------------------------------------ what the chart renders

def test_digests_pin_images():
    r = Rendered(run_render([MINIMAL], ["--set", f"services.user.image.digest={D1}",
                                        "--set", "services.user.image.tag=1.0.0",
                                        "--set", "services.auth.canary.enabled=true",
                                        "--set", "services.auth.canary.image.tag=2.0.0",
                                        "--set", f"services.auth.canary.image.digest={D2}"]).stdout)
    assert image_of(r, "Deployment", "user") == f"ghcr.io/techcorp/user:1.0.0@{D1}"
    assert image_of(r, "Deployment", "auth-canary") == f"ghcr.io/techcorp/auth:2.0.0@{D2}"
    assert image_of(r, "Deployment", "auth") == "ghcr.io/techcorp/auth:0.1.0"
    # the version label stays the tag
    assert r.get("Deployment", "user")["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"
    bad = run_render([MINIMAL], ["--set", "services.user.image.digest=sha256:abc"], check=False)
    assert bad.returncode != 0


def rules_of(r):
    rules = r.of("PrometheusRule")
    assert len(rules) == 1
    return {"groups": rules[0]["spec"]["groups"]}


def test_prometheus_rules_pass_promtool(tmp_path):
    promtool = need_tool("promtool", "apt-get install prometheus (scripts/deps.sh installs it)")
    r = Rendered(run_render([MINIMAL], ["-a", "monitoring.coreos.com/v1",
                                        "--set", "prometheusRule.enabled=true",
                                        "--set", "services.search.enabled=true"]).stdout)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules_of(r)))
    p = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(os.path.join(HERE, "prometheus", "rules_test.yaml")) as f:
        tests = yaml.safe_load(f)
    tests["rule_files"] = ["rules.yaml"]
    (tmp_path / "rules_test.yaml").write_text(yaml.safe_dump(tests))
    p = subprocess.run([promtool, "test", "rules", "rules_test.yaml"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not Rendered(run_render([MINIMAL]).stdout).of("PrometheusRule")


def test_helm_test_calls_the_gateway_through_its_own_policy():
    r = Rendered(run_render([MINIMAL]).stdout)
    pod = r.get("Pod", "smoke-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    spec = pod["spec"]
    c = spec["containers"][0]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["GATEWAY"] == f"http://gateway.{NAMESPACE}.svc.cluster.local:8080"
    assert env["GATEWAY_ADMIN"] == f"http://gateway.{NAMESPACE}.svc.cluster.local:9080"
    script = c["args"][0]
    assert "$GATEWAY/.well-known/jwks.json" in script and "$GATEWAY_ADMIN/ready" in script
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    own = r.get("NetworkPolicy", "smoke-test")
    assert own["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert own["spec"]["podSelector"]["matchLabels"]["techcorp.io/helm-test"] == "true"
    assert {p["port"] for rule in own["spec"]["egress"] for p in rule["ports"]} == {53, 8080, 9080}
    gw = r.get("NetworkPolicy", "gateway")
    admitted = [rule for rule in gw["spec"]["ingress"]
                if any(f.get("podSelector", {}).get("matchLabels", {}).get("techcorp.io/helm-test") == "true"
                       for f in rule.get("from", []))]
    assert admitted and {p["port"] for p in admitted[0]["ports"]} == {8080, 9080}
    off = Rendered(run_render([MINIMAL], ["--set", "helmTest.enabled=false"]).stdout)
    assert not off.of("Pod") and not off.has("NetworkPolicy", "smoke-test")


def test_gateway_scales_down_slowly_and_drains_are_not_blocked():
    r = Rendered(run_render([MINIMAL], ["--kube-version", "v1.30.0"]).stdout)
    behavior = r.get("HorizontalPodAutoscaler", "gateway")["spec"]["behavior"]
    assert behavior["scaleDown"] == {"stabilizationWindowSeconds": 300,
                                     "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}
    assert "behavior" not in r.get("HorizontalPodAutoscaler", "user")["spec"]
    for pdb in r.of("PodDisruptionBudget"):
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    old = Rendered(run_render([MINIMAL], ["--kube-version", "v1.25.0"]).stdout)
    assert all("unhealthyPodEvictionPolicy" not in p["spec"] for p in old.of("PodDisruptionBudget"))


def test_priority_classes_put_the_edge_first():
    r = Rendered(run_render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS).stdout)
    classes = {c["metadata"]["name"]: c["value"] for c in r.of("PriorityClass")}
    assert classes == {"techcorp-edge": 100000, "techcorp-service": 10000}
    names = {w["metadata"]["name"]: w["spec"]["template"]["spec"].get("priorityClassName")
             for w in r.of("Deployment") + r.of("Rollout")}
    assert names["tc-gateway"] == names["tc-auth"] == "techcorp-edge"
    assert names["tc-user"] == names["tc-search"] == "techcorp-service"
    plain = Rendered(run_render([MINIMAL]).stdout)
    assert not plain.of("PriorityClass")
    assert all("priorityClassName" not in w["spec"]["template"]["spec"] for w in plain.of("Deployment"))


def test_httproute_sends_everything_to_the_gateway():
    r = Rendered(run_render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS).stdout)
    route = r.get("HTTPRoute", "tc-gateway")
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateway-system",
                                            "sectionName": "https"}]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "tc-gateway", "port": 8080}]
    p = run_render([MINIMAL], ["--set", "httpRoute.enabled=true"], check=False)
    assert p.returncode != 0 and "httpRoute.parentRefs is required" in p.stderr
