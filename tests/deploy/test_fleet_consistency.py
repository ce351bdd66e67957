"""One definition of the fleet, told the same way everywhere: the chart's `services:` against
the local stack's ports (DESIGN §7), each service's main.c, CODEOWNERS and the per-team values
files, and DESIGN §1's owning teams when ../shared/DESIGN.md is beside the checkout."""
import os
import re
import subprocess

import pytest
import yaml

from deploykit import ROOT, TEAM_VALUES_DIR

TEAMS = {"Platform": "platform", "Security": "security", "Workflows": "workflows", "Data": "data",
         "Search": "search", "AI/ML": "ai-ml", "Billing": "billing", "Integrations": "integrations"}


def fleet_ports():
    """[(service, port)] as scripts/fleet gives them to the local stack (scripts/stack.sh)."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "fleet"), "ports"], check=True,
                         capture_output=True, text=True).stdout
    return [(name, int(port)) for name, port in (line.split() for line in out.splitlines())]


def codeowners():
    rules = []
    with open(os.path.join(ROOT, "CODEOWNERS")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                rules.append((line[0], line[1:]))
    return rules


def owners_of(path):
    """GitHub's rule: the last matching pattern wins."""
    found = None
    for pattern, owners in codeowners():
        p = pattern.rstrip("/")
        if path == p or path.startswith(p + "/") or (pattern.endswith("*") and path.startswith(pattern[:-1])):
            found = owners
    return found


def test_ports_are_design_section_7(chart_values):
    ports = fleet_ports()
    assert [name for name, _ in ports] == list(chart_values["services"]), \
        "one entry per service, in port order"
    assert [port for _, port in ports] == list(range(8080, 8080 + len(ports))), \
        "DESIGN section 7: consecutive API ports from 8080"


def test_the_local_stack_takes_its_ports_from_the_chart(tmp_path):
    """scripts/stack.sh has no list of its own: each service listens on its chart port
    (shifted by TC_PORT_BASE), its admin port 1000 above, and uses the Redis db of its place."""
    for name, port in fleet_ports():
        env = dict(os.environ, TC_RUN_DIR=str(tmp_path / "run"), TC_PORT_BASE="18080")
        out = subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), "env", name],
                             check=True, capture_output=True, text=True, env=env).stdout
        got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        assert got["PORT"] == str(port + 10000), name
        assert got["ADMIN_PORT"] == str(port + 11000), name
        assert got["REDIS_URL"].endswith(f"/{port - 8080}"), name


def test_ports_are_the_services_own(chart_values):
    for name in os.listdir(os.path.join(ROOT, "services")):
        main = os.path.join(ROOT, "services", name, "src", "main.c")
        if not os.path.exists(main):
            continue
        assert name in chart_values["services"], f"services/{name} has no entry in the chart"
        with open(main) as f:
            m = re.search(r"\.default_port\s*=\s*(\d+)", f.read())
        assert m and int(m.group(1)) == chart_values["services"][name]["port"], name


def test_built_services_are_enabled(chart_values):
    for name, entry in chart_values["services"].items():
        built = os.path.isdir(os.path.join(ROOT, "services", name, "src"))
        enabled = entry.get("enabled", chart_values["defaults"]["enabled"])
        if not built:
            assert enabled is False, f"{name} is not built yet: enabled: false"


def test_teams_match_codeowners(chart_values):
    for name, entry in chart_values["services"].items():
        owners = owners_of(f"/services/{name}")
        assert owners and owners[0] == f"@techcorp/{entry['team']}", \
            f"{name}: chart team {entry['team']}, CODEOWNERS {owners}"


def test_team_values_files_match_codeowners(chart_values):
    teams = {entry["team"] for entry in chart_values["services"].values()}
    files = {f[:-5] for f in os.listdir(TEAM_VALUES_DIR) if f.endswith(".yaml")}
    assert files == teams, f"values/<team>.yaml for exactly the teams of the fleet: {files ^ teams}"
    for team in sorted(files):
        assert owners_of(f"/helm/techcorp-platform/values/{team}.yaml") == [f"@techcorp/{team}"], team
        with open(os.path.join(TEAM_VALUES_DIR, f"{team}.yaml")) as f:
            doc = yaml.safe_load(f)
        assert set(doc) == {"services"}, f"values/{team}.yaml sets more than its services"
        for svc in doc["services"]:
            assert chart_values["services"][svc]["team"] == team, \
                f"values/{team}.yaml touches {svc}, a service of {chart_values['services'][svc]['team']}"
        mine = {s for s, e in chart_values["services"].items() if e["team"] == team}
        assert set(doc["services"]) == mine, f"values/{team}.yaml: one block per service of the team"


def test_teams_are_design_section_1(chart_values):
    design = os.path.join(os.path.dirname(ROOT), "shared", "DESIGN.md")
    if not os.path.exists(design):
        pytest.skip("../shared/DESIGN.md is not beside the checkout")
    with open(design) as f:
        rows = [line.split("|") for line in f if re.match(r"^\| [a-z-]+ \|", line)]
    teams = {r[1].strip(): r[-2].strip() for r in rows if r[1].strip() in chart_values["services"]}
    assert set(teams) == set(chart_values["services"])
    for svc, team in teams.items():
        assert chart_values["services"][svc]["team"] == TEAMS[team], svc


def test_chart_files_are_owned():
    for path in ("/helm/techcorp-platform/values.yaml", "/docker/Dockerfile", "/.github/workflows/ci.yml",
                 "/tests/deploy/test_docker.py", "/scripts/fleet"):
        assert owners_of(path) == ["@techcorp/platform"], path
