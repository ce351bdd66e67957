"""The CI pipeline users run (.github/workflows): valid YAML that lints, jobs that name real make
targets, scripts and files, actions pinned to versions, and the jobs the deployment issue asks
for (tests on every push, an image per changed service, chart checks, the canary deploy)."""
import glob
import os
import re
import shlex
import subprocess

import pytest
import yaml

from deploykit import ROOT, YAMLLINT_CONFIG, fleet, need_tool

WF_DIR = os.path.join(ROOT, ".github", "workflows")
WORKFLOWS = sorted(f for f in os.listdir(WF_DIR) if f.endswith((".yml", ".yaml")))


def load(name):
    with open(os.path.join(WF_DIR, name)) as f:
        doc = yaml.safe_load(f)
    if True in doc:  # YAML 1.1 reads the key `on` as true
        doc["on"] = doc.pop(True)
    return doc


def make_targets():
    targets = set()
    with open(os.path.join(ROOT, "Makefile")) as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
            if m and not line.startswith("\t"):
                targets.update(m.group(1).split())
            if line.startswith(".PHONY:"):
                targets.update(line.split(":", 1)[1].split())
    return targets


def steps(doc):
    for job_name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def test_workflows_exist():
    assert {"ci.yml", "images.yml", "deploy.yml"} <= set(WORKFLOWS)


def test_yamllint():
    need_tool("yamllint", "apt-get install yamllint")
    p = subprocess.run(["yamllint", "-s", "-c", YAMLLINT_CONFIG, WF_DIR], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("name", WORKFLOWS)
def test_structure(name):
    doc = load(name)
    assert doc.get("name") and doc.get("on") and doc.get("jobs"), name
    assert "permissions" in doc, f"{name}: set least-privilege permissions"
    for job_name, job in doc["jobs"].items():
        assert job.get("runs-on"), f"{name}:{job_name}"
        assert job.get("steps"), f"{name}:{job_name}"
        for need in job.get("needs", []) if isinstance(job.get("needs"), list) else [job.get("needs")] if job.get("needs") else []:
            assert need in doc["jobs"], f"{name}:{job_name} needs unknown job {need}"
    for job_name, step in steps(doc):
        assert ("uses" in step) != ("run" in step), f"{name}:{job_name}: {step}"
        if "uses" in step:
            assert re.match(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40}|\d+\.\d+\.\d+)$", step["uses"]), \
                f"{name}:{job_name}: pin {step['uses']} to a version"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_references_are_real(name):
    """Every `make X` names a Makefile target; every repository path exists (scripts executable)."""
    doc = load(name)
    targets = make_targets()
    text_parts = []
    for job_name, step in steps(doc):
        text_parts.append(step.get("run", ""))
        text_parts.extend(str(v) for v in (step.get("with") or {}).values())
    text = "\n".join(text_parts)
    made = 0
    for command in re.split(r"\n|&&|\|\||;|\|", text):
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if words and words[0] == "make":
            for word in words[1:]:
                if "=" not in word and not word.startswith("-"):
                    assert word in targets, f"{name}: make {word}: no such target"
                    made += 1
    if name == "ci.yml":
        assert made >= 3
    for path in set(re.findall(r"(?<![\w./-])((?:scripts|docker|helm|tests|\.ci)/[\w./*-]+)", text)):
        path = path.rstrip(".")
        if "*" in path:
            assert glob.glob(os.path.join(ROOT, path)), f"{name}: {path} matches nothing"
            continue
        full = os.path.join(ROOT, path)
        assert os.path.exists(full), f"{name}: {path} does not exist"
        if path.startswith("scripts/"):
            assert os.access(full, os.X_OK), f"{name}: {path} is not executable"


def all_runs(doc):
    return "\n".join(step.get("run", "") for _, step in steps(doc))


def test_ci_builds_and_tests_every_push():
    doc = load("ci.yml")
    assert "push" in doc["on"] and "pull_request" in doc["on"]
    runs = all_runs(doc)
    assert re.search(r"^make test$", runs, re.M) and re.search(r"^make asan$", runs, re.M)
    assert "helm lint --strict helm/techcorp-platform" in runs
    assert "make deploy-test" in runs
    # the same base as the images
    assert all(job.get("container") == "debian:bookworm" for job in doc["jobs"].values())


def test_images_per_changed_service():
    doc = load("images.yml")
    for trigger in ("push", "pull_request"):
        paths = doc["on"][trigger]["paths"]
        for p in ("services/**", "libcommon/**", "docker/**", "Makefile"):
            assert p in paths, f"images.yml {trigger}: {p} missing from paths"
    changes = doc["jobs"]["changes"]
    assert "scripts/fleet changed" in all_runs({"jobs": {"changes": changes}})
    image = doc["jobs"]["image"]
    assert image["needs"] == "changes"
    assert image["strategy"]["matrix"] == "${{ fromJSON(needs.changes.outputs.matrix) }}"
    build = [s for s in image["steps"] if s.get("uses", "").startswith("docker/build-push-action")][0]
    assert build["with"]["file"] == "docker/Dockerfile" and build["with"]["context"] == "."
    assert "scripts/fleet build-args" in all_runs({"jobs": {"image": image}})
    assert any(s.get("uses", "").startswith("aquasecurity/trivy-action") for s in image["steps"])


def test_deploy_runs_the_canary_driver():
    doc = load("deploy.yml")
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    for name in ("kube-context", "service", "image-tag"):
        assert inputs[name]["required"] is True and inputs[name]["description"], name
    job = doc["jobs"]["canary"]
    assert job["environment"] == "production"  # manual approval (seed 004 §9.1)
    runs = all_runs(doc)
    assert "scripts/canary" in runs
    for flag in ("--context", "--service", "--tag", "--namespace", "--release"):
        assert flag in runs, flag
    # the driver documents the same interface
    help_text = subprocess.run([os.path.join(ROOT, "scripts", "canary"), "--help"],
                               capture_output=True, text=True).stdout
    for flag in ("--context", "--service", "--tag", "--namespace", "--release", "--values", "--dry-run"):
        assert flag in help_text, flag


# ------------------------------------------------------------------ scripts/fleet

def test_fleet_changed_maps_paths_to_services(tmp_path):
    """A scratch repository with the fleet script and the chart values: a change under
    services/<name>/ picks <name>; a libcommon change picks every built service."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "helm" / "techcorp-platform").mkdir(parents=True)
    with open(os.path.join(ROOT, "scripts", "fleet")) as f:
        (repo / "scripts" / "fleet").write_text(f.read())
    os.chmod(repo / "scripts" / "fleet", 0o755)
    with open(os.path.join(ROOT, "helm", "techcorp-platform", "values.yaml")) as f:
        (repo / "helm" / "techcorp-platform" / "values.yaml").write_text(f.read())
    built = sorted(fleet.BUILT)
    for svc in built:
        (repo / "services" / svc / "src").mkdir(parents=True)
        (repo / "services" / svc / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (repo / "libcommon").mkdir()
    (repo / "libcommon" / "x.c").write_text("\n")
    (repo / "README.md").write_text("\n")

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    def changed(base):
        out = subprocess.run([str(repo / "scripts" / "fleet"), "changed", base, "HEAD"],
                             check=True, capture_output=True, text=True).stdout
        return sorted(i["service"] for i in yaml.safe_load(out)["include"])

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    (repo / "services" / "auth" / "src" / "main.c").write_text("int main(void) { return 1; }\n")
    git("commit", "-qam", "auth")
    assert changed(base) == ["auth"]
    auth = git("rev-parse", "HEAD")
    (repo / "README.md").write_text("docs\n")
    git("commit", "-qam", "docs")
    assert changed(auth) == []
    docs = git("rev-parse", "HEAD")
    (repo / "libcommon" / "x.c").write_text("/* */\n")
    git("commit", "-qam", "lib")
    assert changed(docs) == built
    assert changed("0000000000000000000000000000000000000000") == built
    out = subprocess.run([str(repo / "scripts" / "fleet"), "changed", base, "HEAD"],
                         check=True, capture_output=True, text=True).stdout
    item = [i for i in yaml.safe_load(out)["include"] if i["service"] == "auth"][0]
    assert item == {"service": "auth", "team": "security", "port": 8081}


def test_fleet_build_args():
    out = subprocess.run([os.path.join(ROOT, "scripts", "fleet"), "build-args", "user", "--format", "lines"],
                         check=True, capture_output=True, text=True).stdout
    args = dict(line.split("=", 1) for line in out.splitlines())
    assert args["SERVICE"] == "user" and args["PORT"] == "8082" and args["ADMIN_PORT"] == "9082"
    assert args["REVISION"] and args["VERSION"] and args["CREATED"]
