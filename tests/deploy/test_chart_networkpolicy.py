"""NetworkPolicies admit exactly the callers of DESIGN §1 and §6, evaluated the way Kubernetes
does (a connection needs an egress rule of the source's policies and an ingress rule of the
destination's policies; with a policy of that type selecting the pod, anything else is denied).

Expected callers (written here from the design, not from the chart):
- the gateway calls every service it routes to (all but itself) and auth (API-key
  introspection, JWKS);
- every service calls auth (JWKS and client-credentials tokens);
- auth calls user (its /internal API);
- workflow calls ml-inference and integration-hub (their /internal APIs: tc:ml and
  tc:integration steps);
- nothing calls the gateway's API but the outside; admin ports are for Prometheus only.
"""
import ipaddress
import json
import os

import pytest

from deploykit import ALL_FEATURES_ARGS, ENABLED, FLEET, MINIMAL, NAMESPACE, VALUES_DIR


def expected_callers(enabled, extra=()):
    """{service: set of callers} for the enabled services; extra: (caller, callee) pairs."""
    exp = {s: set() for s in enabled}
    for s in enabled:
        if s != "gateway":
            exp[s].add("gateway")
        if s not in ("auth",) and "auth" in enabled:
            exp["auth"].add(s)
    if "auth" in enabled and "user" in enabled:
        exp["user"].add("auth")
    for callee in ("ml-inference", "integration-hub"):
        if "workflow" in enabled and callee in enabled:
            exp[callee].add("workflow")
    for caller, callee in extra:
        if caller in enabled and callee in enabled:
            exp[callee].add(caller)
    return exp


class Pod:
    def __init__(self, service, labels, ports):
        self.service = service
        self.labels = labels
        self.ports = ports  # {"http": n, "admin": n}


def pods_of(r):
    out = []
    for w in r.of("Deployment") + r.of("Rollout"):
        labels = w["spec"]["template"]["metadata"]["labels"]
        c = w["spec"]["template"]["spec"]["containers"][0]
        out.append(Pod(labels["app.kubernetes.io/name"], labels,
                       {p["name"]: p["containerPort"] for p in c["ports"]}))
    return out


def selects(selector, labels):
    if selector is None:
        return False
    ml = selector.get("matchLabels") or {}
    assert not selector.get("matchExpressions"), "the test evaluates matchLabels only"
    return all(labels.get(k) == v for k, v in ml.items())


def peer_matches(peer, pod, ns_labels):
    """A NetworkPolicy peer against a pod of the release namespace."""
    if "ipBlock" in peer:
        return False  # pod addresses are not known here; no rule of ours targets pods by CIDR
    if "namespaceSelector" in peer and not selects(peer["namespaceSelector"], ns_labels):
        return False
    if "podSelector" in peer:
        return selects(peer["podSelector"], pod.labels)
    return "namespaceSelector" in peer


def port_matches(rule, port):
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports)


def allowed(policies, src, dst, port):
    ns = {"kubernetes.io/metadata.name": NAMESPACE}
    src_pols = [p for p in policies if "Egress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], src.labels)]
    dst_pols = [p for p in policies if "Ingress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], dst.labels)]
    egress_ok = not src_pols or any(
        port_matches(rule, port) and (not rule.get("to") or any(peer_matches(t, dst, ns) for t in rule["to"]))
        for p in src_pols for rule in p["spec"].get("egress") or [])
    ingress_ok = not dst_pols or any(
        port_matches(rule, port) and (not rule.get("from") or any(peer_matches(f, src, ns) for f in rule["from"]))
        for p in dst_pols for rule in p["spec"].get("ingress") or [])
    return egress_ok and ingress_ok


def check_matrix(r, expected, gateway_checks_admin=True):
    """API ports: exactly the expected callers. Admin ports: nobody of the fleet, except the
    gateway on the services it routes to (its health checks of each pod's /ready, with
    gatewayRouting.podEndpoints, the default)."""
    policies = r.of("NetworkPolicy")
    pods = pods_of(r)
    routed = routed_services(r) if gateway_checks_admin else set()
    assert {p.service for p in pods} == set(expected)
    problems = []
    for src in pods:
        for dst in pods:
            if src.service == dst.service:
                continue
            for which in ("http", "admin"):
                got = allowed(policies, src, dst, dst.ports[which])
                want = (src.service in expected[dst.service] if which == "http"
                        else src.service == "gateway" and dst.service in routed)
                if got != want:
                    problems.append(f"{src.service} -> {dst.service}:{dst.ports[which]} ({which}): "
                                    f"{'allowed' if got else 'denied'}, expected {'allowed' if want else 'denied'}")
    assert not problems, "\n".join(sorted(set(problems)))


def routed_services(r):
    """The services the gateway's routing file sends requests to."""
    cm = next(d for d in r.of("ConfigMap") if d["metadata"]["name"].endswith("gateway-routes"))
    cfg = json.loads(cm["data"]["gateway.json"])
    return {rt["upstream"] for rt in cfg["routes"]}


def test_matrix_defaults(render):
    r = render([MINIMAL])
    check_matrix(r, expected_callers(ENABLED))


def test_matrix_whole_fleet(render):
    """all-features: every service of the chart, canaries (same policies), Argo Rollouts, and one extra
    dependency declared in values (workflow calls integration-hub)."""
    r = render([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)
    check_matrix(r, expected_callers(FLEET, extra=[("workflow", "integration-hub")]))


def test_matrix_with_a_canary(render):
    r = render([MINIMAL, os.path.join(VALUES_DIR, "canary-user.yaml")])
    assert len([p for p in pods_of(r) if p.service == "user"]) == 2  # stable and canary
    check_matrix(r, expected_callers(ENABLED))


def test_default_deny(render):
    for files, args, selector in (([MINIMAL], [], {"matchLabels": {"app.kubernetes.io/instance": "techcorp",
                                                                   "app.kubernetes.io/part-of": "techcorp-platform"}}),
                                  ([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS, {})):
        r = render(files, args)
        deny = [p for p in r.of("NetworkPolicy") if p["metadata"]["name"].endswith("default-deny")]
        assert len(deny) == 1
        spec = deny[0]["spec"]
        assert spec["podSelector"] == selector
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        assert not spec.get("ingress") and not spec.get("egress")
        for pod in pods_of(r):
            assert selects(spec["podSelector"], pod.labels) or spec["podSelector"] == {}
            own = [p for p in r.of("NetworkPolicy") if p is not deny[0] and selects(p["spec"]["podSelector"], pod.labels)]
            assert len(own) == 1, f"{pod.service}: {len(own)} service policies"


def test_outside_reaches_only_the_gateway_api_and_prometheus_only_admin(render):
    r = render([MINIMAL])
    outside = Pod("outside", {"app": "something-else"}, {})
    prometheus_ns = {"kubernetes.io/metadata.name": "monitoring"}
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    helm_test = {"app.kubernetes.io/instance": "techcorp", "techcorp.io/helm-test": "true"}
    for pol in r.of("NetworkPolicy"):
        if "app.kubernetes.io/name" not in pol["metadata"]["labels"]:
            continue  # default-deny, and the `helm test` pod's own policy (test_releases.py)
        svc = pol["metadata"]["labels"]["app.kubernetes.io/name"]
        pod = [p for p in pods_of(r) if p.service == svc][0]
        open_api = [rule for rule in pol["spec"]["ingress"] if not rule.get("from")]
        if svc == "gateway":
            assert open_api and all(port_matches(rule, pod.ports["http"]) and not port_matches(rule, pod.ports["admin"])
                                    for rule in open_api)
        else:
            assert not open_api, f"{svc}: ingress open to any source"
        admin_rules = [rule for rule in pol["spec"]["ingress"] if port_matches(rule, pod.ports["admin"])]
        # Prometheus; on the gateway the `helm test` pod (its /ready); on a routed service the
        # gateway (its health checks of each pod)
        gateway_pods = {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/instance": "techcorp"}
        assert admin_rules and all(
            all(("namespaceSelector" in f and selects(f["namespaceSelector"], prometheus_ns)
                 and selects(f["podSelector"], prometheus))
                or (svc == "gateway" and "namespaceSelector" not in f
                    and f["podSelector"]["matchLabels"] == helm_test)
                or (svc != "gateway" and "namespaceSelector" not in f
                    and f["podSelector"]["matchLabels"] == gateway_pods)
                for f in rule["from"]) for rule in admin_rules)
        assert not allowed(r.of("NetworkPolicy"), outside, pod, pod.ports["admin"])
        assert allowed(r.of("NetworkPolicy"), outside, pod, pod.ports["http"]) == (svc == "gateway")


@pytest.mark.parametrize("files,args", [([MINIMAL], []),
                                        ([MINIMAL, os.path.join(VALUES_DIR, "all-features.yaml")], ALL_FEATURES_ARGS)])
def test_egress_dns_and_data_stores(render, chart_values, files, args):
    r = render(files, args)
    uses = {}
    for name, entry in chart_values["services"].items():
        u = dict(chart_values["defaults"]["uses"])
        u.update((entry or {}).get("uses", {}))
        uses[name] = u
    for pol in r.of("NetworkPolicy"):
        if "app.kubernetes.io/name" not in pol["metadata"]["labels"]:
            continue  # default-deny, and the `helm test` pod's own policy (test_releases.py)
        svc = pol["metadata"]["labels"]["app.kubernetes.io/name"]
        egress = pol["spec"]["egress"]
        dns = [rule for rule in egress if port_matches(rule, 53)]
        assert dns and {p["protocol"] for p in dns[0]["ports"]} == {"UDP", "TCP"}
        assert dns[0]["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}

        def reaches(port):
            return any(rule.get("to") and all("ipBlock" in t for t in rule["to"]) and
                       any(p.get("port") == port for p in rule.get("ports", [])) for rule in egress)
        assert reaches(5432) == uses[svc]["database"], f"{svc}: PostgreSQL egress"
        assert reaches(6379) == uses[svc]["redis"], f"{svc}: Redis egress"
        assert reaches(9092) == uses[svc]["kafka"], f"{svc}: Kafka egress"
        for rule in egress:
            assert rule.get("to"), f"{svc}: an egress rule to anywhere"
            assert rule.get("ports"), f"{svc}: an egress rule on every port"
            for t in rule["to"]:
                if "ipBlock" in t and svc != "integration-hub":
                    assert ipaddress.ip_network(t["ipBlock"]["cidr"]).prefixlen >= 8, (svc, t)
