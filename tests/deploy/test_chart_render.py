"""The chart renders for every values combination, the output lints, and the objects are what
DESIGN §8 asks for: probes, resources, restricted security context, selectors that match,
Services whose ports have targets, secrets only referenced, the gateway routing file, canaries."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

from deploykit import (ALL_FEATURES_ARGS, CHART, ENABLED, MINIMAL, NAMESPACE, TEAM_VALUES_DIR,
                      VALUES_DIR, YAMLLINT_CONFIG, Rendered, need_tool, renderer, run_render)

WORKLOAD_KINDS = ("Deployment", "Rollout")
CLUSTER_SCOPED = ("PriorityClass",)


def workloads(r):
    return [d for d in r.docs if d["kind"] in WORKLOAD_KINDS]


def pod_spec(w):
    return w["spec"]["template"]["spec"]


def container(w):
    cs = pod_spec(w)["containers"]
    assert len(cs) == 1, f"{w['metadata']['name']}: one container per pod"
    return cs[0]


def env_of(r, w):
    """The environment of a workload's container: its ConfigMap, then explicit env."""
    c = container(w)
    env = {}
    for src in c.get("envFrom", []):
        env.update(r.get("ConfigMap", src["configMapRef"]["name"])["data"])
    for e in c.get("env", []):
        env[e["name"]] = e.get("value", e.get("valueFrom"))
    return env


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


# ------------------------------------------------------------------ render and lint

def test_pure_defaults_fail_with_a_clear_message():
    """Without the Kafka bootstrap servers nothing can run: the render says what to set."""
    p = run_render([], [], check=False)
    assert p.returncode != 0
    assert "kafka.brokers is required" in p.stderr, p.stderr


def test_renders_and_lints(combo, tmp_path):
    name, r = combo
    assert r.docs, f"{name}: nothing rendered"
    for d in r.docs:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace") == NAMESPACE, f"{d['kind']} {d['metadata']['name']}"
        else:
            assert "namespace" not in d["metadata"], f"{d['kind']} {d['metadata']['name']}"
        assert len(d["metadata"]["name"]) <= 63
    names = [(d["kind"], d["metadata"]["name"]) for d in r.docs]
    assert len(names) == len(set(names)), f"duplicate objects: {names}"
    out = tmp_path / f"{name}.yaml"
    out.write_text(r.text)
    need_tool("yamllint", "apt-get install yamllint (scripts/deps.sh installs it)")
    p = subprocess.run(["yamllint", "-s", "-c", YAMLLINT_CONFIG, str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"yamllint on the {name} render:\n{p.stdout}{p.stderr}"


@pytest.mark.parametrize("team_file", sorted(os.listdir(TEAM_VALUES_DIR)))
def test_every_team_values_file_renders(render, team_file):
    r = render([MINIMAL, os.path.join(TEAM_VALUES_DIR, team_file)])
    assert r.of("Deployment")


def test_standard_labels(combo):
    _, r = combo
    for d in r.docs:
        labels = d["metadata"]["labels"]
        for key in ("helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/part-of",
                    "app.kubernetes.io/managed-by"):
            assert key in labels, f"{d['kind']} {d['metadata']['name']} lacks label {key}"
        if d["kind"] != "NetworkPolicy" or "app.kubernetes.io/name" in labels:
            for key in ("app.kubernetes.io/name", "app.kubernetes.io/version",
                        "app.kubernetes.io/component", "techcorp.io/team"):
                assert key in labels, f"{d['kind']} {d['metadata']['name']} lacks label {key}"


def test_no_secret_is_rendered(combo):
    """Secrets are referenced (existing-secret names), never created with values by the chart."""
    _, r = combo
    assert not r.of("Secret")
    for w in workloads(r):
        for e in container(w).get("env", []):
            if "value" in e:
                assert not re.search(r"PASSWORD|SECRET|TOKEN|_KEY$|KEK|DATABASE_URL|REDIS_URL", e["name"]), e
    for cm in r.of("ConfigMap"):
        for k, v in cm["data"].items():
            assert not re.search(r"PASSWORD|SECRET|_TOKEN$|_KEY$|KEK|DATABASE_URL|REDIS_URL", k), (cm["metadata"]["name"], k)
            assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", v), f"credentials in a URL of {cm['metadata']['name']}:{k}"


# ------------------------------------------------------------------ workloads

def test_every_workload_is_production_ready(combo):
    _, r = combo
    assert workloads(r)
    for w in workloads(r):
        n = w["metadata"]["name"]
        spec = pod_spec(w)
        c = container(w)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert set(ports) == {"http", "admin"}, n
        assert ports["admin"] == ports["http"] + 1000, f"{n}: admin port = API port + 1000"
        # probes on the admin port: /health (startup, liveness), /ready (readiness)
        for probe, path in (("startupProbe", "/health"), ("livenessProbe", "/health"),
                            ("readinessProbe", "/ready")):
            assert probe in c, f"{n}: no {probe}"
            assert c[probe]["httpGet"] == {"path": path, "port": "admin"}, (n, probe)
        # the startup probe outlasts the start-up migrations' retry budget (60 s)
        sp = c["startupProbe"]
        assert sp["periodSeconds"] * sp["failureThreshold"] >= 60, n
        # resources
        res = c["resources"]
        assert res["requests"]["cpu"] and res["requests"]["memory"], n
        assert res["limits"]["memory"], n
        # restricted security context (Pod Security Standards "restricted")
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] > 0, n
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", n
        csc = c["securityContext"]
        assert csc["runAsNonRoot"] is True and csc.get("runAsUser", psc["runAsUser"]) > 0, n
        assert csc["allowPrivilegeEscalation"] is False, n
        assert csc["readOnlyRootFilesystem"] is True, n
        assert csc["capabilities"]["drop"] == ["ALL"], n
        assert not csc["capabilities"].get("add"), n
        assert csc.get("privileged", False) is False, n
        assert spec["automountServiceAccountToken"] is False, n
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), n
        # the ServiceAccount exists
        assert r.has("ServiceAccount", spec["serviceAccountName"]), n
        # image pinned to a tag
        image = c["image"]
        assert re.match(r"^[^:]+(:\d+)?/[^:@]+:[A-Za-z0-9_][A-Za-z0-9_.-]*(@sha256:[a-f0-9]{64})?$", image) \
            and ":latest" not in image, image
        # zones
        keys = [t["topologyKey"] for t in spec.get("topologySpreadConstraints", [])]
        assert "topology.kubernetes.io/zone" in keys, n


def test_graceful_shutdown_fits_in_the_grace_period(combo):
    """preStop delay, then SIGTERM: in-flight requests get SHUTDOWN_GRACE_MS; the pod's
    terminationGracePeriodSeconds must cover both (and the producer flush)."""
    _, r = combo
    for w in workloads(r):
        n = w["metadata"]["name"]
        c = container(w)
        pre = c["lifecycle"]["preStop"]
        delay = pre["sleep"]["seconds"] if "sleep" in pre else int(pre["exec"]["command"][-1])
        assert delay >= 1, n
        if "exec" in pre:
            assert pre["exec"]["command"][0] == "/bin/sleep", n
        grace_ms = int(env_of(r, w)["SHUTDOWN_GRACE_MS"])
        tgps = pod_spec(w)["terminationGracePeriodSeconds"]
        assert tgps > delay + grace_ms / 1000, f"{n}: {tgps}s <= {delay}s preStop + {grace_ms} ms grace"


def test_selectors_match_pod_labels(combo):
    _, r = combo
    for w in workloads(r):
        sel = w["spec"]["selector"]["matchLabels"]
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert sel and matches(sel, labels), w["metadata"]["name"]
        for t in pod_spec(w).get("topologySpreadConstraints", []):
            assert matches(t["labelSelector"]["matchLabels"], labels)
    # no two workloads select each other's pods
    ws = workloads(r)
    for a in ws:
        for b in ws:
            if a is not b:
                assert not matches(a["spec"]["selector"]["matchLabels"],
                                   b["spec"]["template"]["metadata"]["labels"]), \
                    f"{a['metadata']['name']} selects the pods of {b['metadata']['name']}"


def test_every_service_port_has_a_target(combo):
    _, r = combo
    for svc in r.of("Service"):
        n = svc["metadata"]["name"]
        sel = svc["spec"]["selector"]
        assert sel, f"Service {n} has no selector"
        targets = [w for w in workloads(r) if matches(sel, w["spec"]["template"]["metadata"]["labels"])]
        assert targets, f"Service {n} selects no pods"
        for w in targets:
            cports = {p["name"]: p["containerPort"] for p in container(w)["ports"]}
            for p in svc["spec"]["ports"]:
                t = p["targetPort"]
                target = cports.get(t) if isinstance(t, str) else (t if t in cports.values() else None)
                assert target is not None, \
                    f"Service {n} port {p['name']} -> {t}: no such port on {w['metadata']['name']}"
                assert target == p["port"], f"Service {n}: port {p['port']} -> {t} ({target})"


def test_hpa_and_pdb(combo):
    _, r = combo
    for hpa in r.of("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        target = r.get(ref["kind"], ref["name"])
        assert "replicas" not in target["spec"], f"{ref['name']}: replicas fights the HPA"
        cpu = [m for m in hpa["spec"]["metrics"] if m["resource"]["name"] == "cpu"]
        assert cpu and cpu[0]["resource"]["target"]["type"] == "Utilization"
    for pdb in r.of("PodDisruptionBudget"):
        sel = pdb["spec"]["selector"]["matchLabels"]
        assert any(matches(sel, w["spec"]["template"]["metadata"]["labels"]) for w in workloads(r))
        assert "maxUnavailable" in pdb["spec"]


def test_hpa_defaults_follow_the_seed(render):
    r = render([MINIMAL])
    hpas = r.of("HorizontalPodAutoscaler")
    assert {h["metadata"]["name"] for h in hpas} == set(ENABLED)
    for h in hpas:
        assert h["spec"]["minReplicas"] == 3 and h["spec"]["maxReplicas"] == 20
        assert h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_env_and_secret_references(render):
    r = render([MINIMAL])
    user = r.get("Deployment", "user")
    env = env_of(r, user)
    assert env["PORT"] == "8082" and env["ADMIN_PORT"] == "9082"
    assert env["KAFKA_BROKERS"].startswith("b-1.techcorp.example")
    assert env["JWKS_URL"] == "http://auth.techcorp.svc.cluster.local:8081/.well-known/jwks.json"
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "techcorp-user", "key": "DATABASE_URL"}}
    assert env["DATA_KEK"] == {"secretKeyRef": {"name": "techcorp-platform-keys", "key": "DATA_KEK"}}
    # user's Redis holds its SCIM tokens' rate limits; workflow uses none
    assert env["REDIS_URL"] == {"secretKeyRef": {"name": "techcorp-user", "key": "REDIS_URL"}}
    assert "REDIS_URL" not in env_of(r, r.get("Deployment", "workflow"))
    auth = env_of(r, r.get("Deployment", "auth"))
    assert "JWKS_URL" not in auth  # auth publishes the keys
    assert auth["USER_URL"] == "http://user.techcorp.svc.cluster.local:8082"
    assert auth["AUTH_SERVICE_CLIENTS"]["secretKeyRef"]["name"] == "techcorp-auth"
    gw = env_of(r, r.get("Deployment", "gateway"))
    assert gw["GATEWAY_ADMIN_TOKEN"]["secretKeyRef"] == {"name": "techcorp-gateway", "key": "GATEWAY_ADMIN_TOKEN"}
    assert gw["AUTH_CLIENT_SECRET"]["secretKeyRef"]["name"] == "techcorp-gateway"
    assert gw["REDIS_URL"]["secretKeyRef"]["name"] == "techcorp-gateway"
    assert "DATABASE_URL" not in gw
    # all features: other secret names, Kafka SASL secret
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    env = env_of(r, r.get("Deployment", "tc-user"))
    assert env["DATABASE_URL"]["secretKeyRef"]["name"] == "prod-user-credentials"
    assert env["KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == "prod-kafka-sasl"


# ------------------------------------------------------------------ gateway routing file

GW_TOP = {"upstreams", "routes", "plans", "default_plan", "ip_rate_limit", "cors", "trusted_proxies"}
GW_UPSTREAM = {"name", "targets", "canary", "connect_timeout_ms", "timeout_ms", "retries",
               "breaker", "keepalive", "keepalive_idle_ms", "endpoints", "health_check",
               "resolve_ms", "panic_threshold", "connect_retry_ms", "retry_budget"}
GW_ROUTE = {"name", "prefix", "path", "methods", "upstream", "auth", "rate_limit", "timeout_ms",
            "retries", "min_role", "max_body_bytes", "strip_prefix", "usage_events", "transform", "cache",
            "websocket", "websocket_idle_ms"}


def gateway_config(r, prefix=""):
    cm = r.get("ConfigMap", f"{prefix}gateway-routes")
    return json.loads(cm["data"]["gateway.json"])


def check_gateway_config(cfg, env):
    """The keys services/gateway/src/routes_config.c accepts, and every ${VAR} defined."""
    assert set(k for k in cfg if not k.startswith("_")) <= GW_TOP
    names = [u["name"] for u in cfg["upstreams"]]
    assert len(names) == len(set(names))
    for u in cfg["upstreams"]:
        assert set(u) <= GW_UPSTREAM, u
        assert u["targets"]
        if "canary" in u:
            assert set(u["canary"]) <= {"targets", "weight"} and 0 <= u["canary"]["weight"] <= 100
    for rt in cfg["routes"]:
        assert set(rt) <= GW_ROUTE, rt
        assert ("prefix" in rt) != ("path" in rt), rt
        assert rt["upstream"] in names, rt
    for plan in cfg["plans"].values():
        assert set(plan) <= {"per_minute", "per_day", "burst"} and "per_day" in plan
    assert cfg["default_plan"] in cfg["plans"]
    def strings(node):  # what the gateway expands: every string but "_comment"-style keys
        if isinstance(node, dict):
            for k, v in node.items():
                if not k.startswith("_"):
                    yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node
    for text in strings(cfg):
        for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
            assert var in env, f"${{{var}}} is not in the gateway's environment"


def test_gateway_routes_come_from_values(combo):
    name, r = combo
    prefix = "tc-" if name == "all-features" else ""
    gw = r.get("Deployment", f"{prefix}gateway")
    env = env_of(r, gw)
    cfg = gateway_config(r, prefix)
    check_gateway_config(cfg, env)
    spool = [m for m in container(gw)["volumeMounts"] if m["name"] == "meter-spool"][0]
    assert spool["mountPath"] == env["GATEWAY_METER_SPOOL_DIR"]
    assert [v for v in pod_spec(gw)["volumes"] if v["name"] == "meter-spool"][0]["emptyDir"]
    mount = [m for m in container(gw)["volumeMounts"] if m["name"] == "gateway-config"][0]
    assert env["GATEWAY_CONFIG"] == mount["mountPath"] + "/gateway.json"
    vol = [v for v in pod_spec(gw)["volumes"] if v["name"] == "gateway-config"][0]
    assert vol["configMap"]["name"] == f"{prefix}gateway-routes"
    # every enabled service with routes is an upstream, its URL the headless Service of its
    # pods (each pod a target, actively checked) and that Service selects the stable pods
    upstreams = {u["name"]: u for u in cfg["upstreams"]}
    for w in r.of("Deployment") + r.of("Rollout"):
        svc = w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        if svc == "gateway":
            continue
        assert svc in upstreams, f"{svc} is not routed by the gateway"
        up = upstreams[svc]
        assert up["endpoints"] == "all" and "health_check" in up, up
        labels = w["spec"]["template"]["metadata"]["labels"]
        canary = labels.get("techcorp.io/track") == "canary"
        group = up["canary"] if canary else up
        var = group["targets"][0]["url"].strip("${}")
        port = container(w)['ports'][0]['containerPort']
        name = f"{prefix}{svc}{'-canary' if canary else ''}-pods"
        assert env[var] == f"http://{name}.{NAMESPACE}.svc.cluster.local:{port}"
        headless = r.get("Service", name)
        assert headless["spec"]["clusterIP"] == "None"
        assert matches(headless["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])


def test_gateway_file_matches_the_dev_file(render):
    """Routes and plans rendered from values are the local stack's (services/gateway/config/dev.json)
    for the services the chart runs."""
    dev_path = os.path.join(CHART, "..", "..", "services", "gateway", "config", "dev.json")
    if not os.path.exists(dev_path):
        pytest.skip("services/gateway/config/dev.json is not there")
    with open(dev_path) as f:
        dev = json.load(f)
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    cfg = gateway_config(r, "tc-")
    assert cfg["plans"] == dev["plans"]
    ours = {rt["name"]: rt for rt in cfg["routes"] if rt["upstream"] != "legacy"}
    theirs = {rt["name"]: rt for rt in dev["routes"]}
    assert ours == theirs


def test_canary_renders_its_deployment_service_and_weight(render):
    r = render([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml")])
    stable, canary = r.get("Deployment", "user"), r.get("Deployment", "user-canary")
    assert container(stable)["image"] == "ghcr.io/techcorp/user:1.2.3"
    assert container(canary)["image"] == "ghcr.io/techcorp/user:1.2.4"
    assert canary["spec"]["replicas"] == 2
    assert canary["spec"]["template"]["metadata"]["labels"]["techcorp.io/track"] == "canary"
    assert env_of(r, canary)["LOG_LEVEL"] == "debug" and env_of(r, stable)["LOG_LEVEL"] == "info"
    # the Services split the tracks
    s_sel = r.get("Service", "user")["spec"]["selector"]
    c_sel = r.get("Service", "user-canary")["spec"]["selector"]
    assert matches(s_sel, stable["spec"]["template"]["metadata"]["labels"])
    assert not matches(s_sel, canary["spec"]["template"]["metadata"]["labels"])
    assert matches(c_sel, canary["spec"]["template"]["metadata"]["labels"])
    assert not matches(c_sel, stable["spec"]["template"]["metadata"]["labels"])
    # the gateway sends 5% of user's requests to the canary's pods (each pod a target, through
    # the headless user-canary-pods Service; gatewayRouting.podEndpoints, the default)
    cfg = gateway_config(r)
    up = {u["name"]: u for u in cfg["upstreams"]}["user"]
    assert up["canary"]["weight"] == 5
    assert up["endpoints"] == "all" and up["health_check"] == {"interval_ms": 1000}
    assert up["targets"] == [{"url": "${USER_PODS_URL}", "weight": 1}]
    assert up["canary"]["targets"] == [{"url": "${USER_CANARY_PODS_URL}", "weight": 1}]
    env = env_of(r, r.get("Deployment", "gateway"))
    assert env["USER_PODS_URL"] == "http://user-pods.techcorp.svc.cluster.local:8082"
    assert env["USER_CANARY_PODS_URL"] == "http://user-canary-pods.techcorp.svc.cluster.local:8082"
    for name, sel in (("user-pods", s_sel), ("user-canary-pods", c_sel)):
        headless = r.get("Service", name)
        assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["selector"] == sel
    # without pod endpoints the gateway uses the ClusterIP Services
    flat = Rendered(run_render([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml")],
                               ["--set", "gatewayRouting.podEndpoints=false"]).stdout)
    up = {u["name"]: u for u in gateway_config(flat)["upstreams"]}["user"]
    assert up["canary"]["targets"] == [{"url": "${USER_CANARY_URL}", "weight": 1}]
    assert "endpoints" not in up and not flat.has("Service", "user-pods")
    assert "canary" not in {u["name"]: u for u in cfg["upstreams"]}["auth"]
    # no HPA for the canary (fixed replicas); the PDB covers both tracks
    assert not r.has("HorizontalPodAutoscaler", "user-canary")


def test_no_canary_without_values(render):
    r = render([MINIMAL])
    assert not [d for d in r.docs if d["metadata"]["name"].endswith("-canary")]
    assert all("canary" not in u for u in gateway_config(r)["upstreams"])


def test_canary_weight_changes_do_not_restart_the_gateway(render):
    """Weights move live (scripts/canary through the admin API and a reload); the gateway pods
    roll only for routing changes, or for canary changes with rollOnCanaryChange."""
    def checksum(r):
        return r.get("Deployment", "gateway")["spec"]["template"]["metadata"]["annotations"]["checksum/routes"]
    base = render([MINIMAL])
    canary = render([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml")])
    assert checksum(base) == checksum(canary)
    assert gateway_config(base) != gateway_config(canary)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("gatewayRouting:\n  rollOnCanaryChange: true\n")
    try:
        assert checksum(render([MINIMAL, f.name])) != checksum(render([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml"), f.name]))
    finally:
        os.unlink(f.name)
    # a routing change does roll them
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("gatewayRouting:\n  default_plan: starter\n")
    try:
        assert checksum(render([MINIMAL, f.name])) != checksum(base)
    finally:
        os.unlink(f.name)


def test_argo_rollouts_mode(render):
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    for svc in ("analytics", "billing"):
        ro = r.get("Rollout", f"tc-{svc}")
        assert not r.has("Deployment", f"tc-{svc}")
        assert "techcorp.io/track" not in ro["spec"]["selector"]["matchLabels"]
        steps = ro["spec"]["strategy"]["canary"]["steps"]
        assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 25, 100]
        tmpl = ro["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["templateName"]
        at = r.get("AnalysisTemplate", tmpl)
        m = at["spec"]["metrics"][0]
        q = m["provider"]["prometheus"]["query"]
        assert f'service="tc-{svc}"' in q and '{{args.canary-hash}}' in q and 'code=~"5.."' in q
        assert "0.01" in m["successCondition"]
        assert r.get("HorizontalPodAutoscaler", f"tc-{svc}")["spec"]["scaleTargetRef"]["kind"] == "Rollout"
        sel = r.get("Service", f"tc-{svc}")["spec"]["selector"]
        assert "techcorp.io/track" not in sel


def test_service_monitors_and_ingress(render):
    assert not render([MINIMAL]).of("ServiceMonitor")
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    sms = r.of("ServiceMonitor")
    assert len(sms) == len({w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
                            for w in workloads(r)})
    for sm in sms:
        assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        sel = sm["spec"]["selector"]["matchLabels"]
        svcs = [s for s in r.of("Service") if matches(sel, s["metadata"]["labels"])]
        assert svcs and all(any(p["name"] == "admin" for p in s["spec"]["ports"]) for s in svcs)
        assert sm["spec"]["endpoints"][0] == {"port": "admin", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    ing = r.of("Ingress")[0]
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "tc-gateway", "port": {"name": "http"}}
    assert r.get("Service", "tc-gateway")["spec"]["type"] == "LoadBalancer"


def test_kube_version_gates(render):
    old = render([MINIMAL], ["--kube-version", "v1.25.0"])
    new = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    for w in workloads(old):
        for t in pod_spec(w)["topologySpreadConstraints"]:
            assert "matchLabelKeys" not in t
        assert "exec" in container(w)["lifecycle"]["preStop"]
    for w in workloads(new):
        assert container(w)["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}


def test_notes(tmp_path):
    """NOTES.txt (which `helm template` does not print) renders and tells what to check: a copy
    of the chart wraps it in a ConfigMap."""
    chart = tmp_path / "techcorp-platform"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: {{ .Release.Namespace }}\n'
        'data:\n  notes: {{ include "techcorp-platform/templates/NOTES.txt" . | toJson }}\n')
    for extra in ([], ["-f", os.path.join(VALUES_DIR, "canary-user.yaml")]):
        p = subprocess.run(renderer() + ["techcorp", str(chart), "-n", NAMESPACE, "-f", MINIMAL] + extra,
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        notes = [d for d in yaml.safe_load_all(p.stdout) if d and d["metadata"]["name"] == "notes"][0]["data"]["notes"]
        assert "ghcr.io/techcorp/user:" in notes and "techcorp-platform-keys" in notes
        assert "techcorp-user  (user: DATABASE_URL REDIS_URL)" in notes
        assert "advisory lock" in notes and "scripts/canary" in notes
        if extra:
            assert "canary 1.2.4 (2 replica(s)), gateway weight 5%" in notes


def test_chart_sources_lint():
    need_tool("yamllint", "apt-get install yamllint (scripts/deps.sh installs it)")
    paths = [os.path.join(CHART, "Chart.yaml"), os.path.join(CHART, "values.yaml"), TEAM_VALUES_DIR, VALUES_DIR]
    p = subprocess.run(["yamllint", "-s", "-c", YAMLLINT_CONFIG, *paths], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
