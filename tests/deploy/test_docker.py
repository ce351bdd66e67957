"""docker/: the Dockerfile lints clean (dockerfilelint and dockerfile-utils from npm, plus the
hadolint-style rules below), the build context leaves secrets and build output out, and the
runtime package list matches what every built binary links (docker/runtime-deps.sh: ldd and
dpkg -S), so an image cannot ship missing a library."""
import fnmatch
import json
import os
import re
import shutil
import subprocess

import pytest

from deploykit import HERE, ROOT, node_bin

DOCKERFILE = os.path.join(ROOT, "docker", "Dockerfile")
DEPS = os.path.join(ROOT, "docker", "runtime-deps.sh")
PACKAGES = os.path.join(ROOT, "docker", "packages.txt")


def instructions():
    """(stage index, INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    out, stage, buf = [], -1, ""
    with open(DOCKERFILE) as f:
        for line in f:
            s = line.rstrip("\n")
            if not buf and (not s.strip() or s.lstrip().startswith("#")):
                continue
            if s.endswith("\\"):
                buf += s[:-1] + " "
                continue
            buf += s
            word, _, args = buf.strip().partition(" ")
            if word.upper() == "FROM":
                stage += 1
            out.append((stage, word, args.strip()))
            buf = ""
    return out


# ------------------------------------------------------------------ linters

def test_dockerfilelint(node_checks):
    p = subprocess.run([node_bin(node_checks, "dockerfilelint"), "-c", os.path.join(ROOT, "docker"),
                        "-o", "json", DOCKERFILE], capture_output=True, text=True, cwd=HERE)
    report = json.loads(p.stdout)
    issues = [i for f in report["files"] for i in f["issues"]]
    assert p.returncode == 0 and not issues, json.dumps(issues, indent=2)


def test_dockerfile_utils_lint(node_checks):
    p = subprocess.run([node_bin(node_checks, "dockerfile-utils"), "lint", DOCKERFILE],
                       capture_output=True, text=True, cwd=HERE)
    assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr


def test_the_linters_find_problems(node_checks, tmp_path):
    """The linters are live: a Dockerfile with classic mistakes fails both."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("from debian:latest\nRUN apt-get update && apt-get install curl\nEXPOSE 99999\nCOPY a\n")
    p = subprocess.run([node_bin(node_checks, "dockerfilelint"), str(bad)], capture_output=True, text=True, cwd=HERE)
    assert p.returncode != 0
    p = subprocess.run([node_bin(node_checks, "dockerfile-utils"), "lint", str(bad)], capture_output=True, text=True, cwd=HERE)
    assert p.returncode != 0


# ------------------------------------------------------------------ hadolint-style rules

def test_multi_stage_bookworm_slim():
    froms = [(st, a) for st, w, a in instructions() if w == "FROM"]
    assert [a for _, a in froms] == ["debian:bookworm-slim AS build", "debian:bookworm-slim AS runtime"]


def test_runtime_stage_runs_as_numeric_non_root():
    runtime = [(w, a) for st, w, a in instructions() if st == 1]
    users = [a for w, a in runtime if w == "USER"]
    assert users, "the runtime stage sets no USER (DL3002)"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and (not gid or (gid.isdigit() and int(gid) > 0)), users[-1]
    # the user is created with that uid
    assert any(w == "RUN" and f"--uid {uid}" in a for w, a in runtime)
    entry = [a for w, a in runtime if w == "ENTRYPOINT"]
    assert entry and json.loads(entry[-1]) == ["/usr/local/bin/techcorp-service"]  # exec form (DL3025)


def test_expose_and_labels():
    runtime = [(w, a) for st, w, a in instructions() if st == 1]
    assert [a for w, a in runtime if w == "EXPOSE"] == ["${PORT} ${ADMIN_PORT}"]
    args = {a.split("=")[0] for w, a in runtime if w == "ARG"}
    assert {"SERVICE", "PORT", "ADMIN_PORT", "VERSION", "REVISION", "CREATED"} <= args
    labels = " ".join(a for w, a in runtime if w == "LABEL")
    for key in ("title", "description", "vendor", "licenses", "source", "url", "documentation",
                "version", "revision", "created"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_apt_and_shell_hygiene():
    ins = instructions()
    assert not [a for _, w, a in ins if w == "ADD"], "use COPY (DL3020)"
    assert any(w == "SHELL" and "pipefail" in a for st, w, a in ins if st == 0), "DL4006"
    for st, w, a in ins:
        if w != "RUN":
            continue
        assert "sudo " not in a and "apt-get upgrade" not in a and "apt-get dist-upgrade" not in a
        assert not re.search(r"(curl|wget)[^|]*\|\s*(ba)?sh", a)
        for inst in re.findall(r"apt-get install[^&;]*", a):
            assert " -y" in inst and "--no-install-recommends" in inst, inst  # DL3014, DL3015
        if "apt-get update" in a:
            assert "apt-get install" in a and "rm -rf /var/lib/apt/lists/*" in a, a  # DL3009
    build = " ".join(a for st, w, a in ins if st == 0 and w == "RUN")
    assert "strip --strip-unneeded" in build
    assert 'docker/runtime-deps.sh check "${SERVICE}" "/out/${SERVICE}"' in build
    assert "default_port = ${PORT}" in build  # the ports are the service's own


def test_no_secrets_in_the_image():
    for st, w, a in instructions():
        if w in ("ARG", "ENV"):
            name = a.split("=")[0].split()[0]
            assert not re.search(r"PASSWORD|SECRET|TOKEN|_KEY$|KEK|CREDENTIAL", name), a
        if w == "COPY":
            assert not re.search(r"\.run|\.env|\.pem|secrets", a), a


# ------------------------------------------------------------------ build context

def dockerignore_included(paths):
    """The files of `paths` that the build context keeps under .dockerignore (last match wins;
    a pattern matching a parent directory excludes what is below it)."""
    rules = []
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                neg = line.startswith("!")
                pat = line[1:] if neg else line
                rules.append((neg, pat.rstrip("/")))

    def match(pat, path):
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if pat.startswith("**/"):
                if any(fnmatch.fnmatchcase("/".join(parts[j:i]), pat[3:]) for j in range(i)):
                    return True
            elif fnmatch.fnmatchcase(prefix, pat) and prefix.count("/") == pat.count("/"):
                return True
        return False

    kept = []
    for p in paths:
        included = True
        for neg, pat in rules:
            if match(pat, p):
                included = neg
        if included:
            kept.append(p)
    return kept


def test_build_context():
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    files += [".run/secrets.env", ".run/secrets/user.env", ".run/jwt/dev-key.pem", "bin/user",
              "build/libtc.a", ".git/config", "services/user/dev.env", "tests/deploy/node_modules/x/y.js"]
    kept = set(dockerignore_included(files))
    for must in ("Makefile", "docker/packages.txt", "docker/runtime-deps.sh",
                 "libcommon/include/tc/tc_core.h", "libcommon/src/tc_http.c",
                 "tools/embed/embed.c", "services/user/src/main.c"):
        assert must in kept, f"{must} is not in the build context"
    assert any(f.startswith("libcommon/migrations/") for f in kept)
    assert any(f.startswith("services/user/migrations/") for f in kept)
    for f in kept:
        assert not re.match(r"(\.run|\.git/|bin/|build/|tests/|\.github/|helm/)", f), f
        assert not re.search(r"\.env$|\.pem$|node_modules", f), f


# ------------------------------------------------------------------ runtime libraries

def package_rows():
    rows = []
    with open(PACKAGES) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                rows.append(line)
    return rows


def test_package_list_is_well_formed(chart_values):
    services = set(chart_values["services"])
    for row in package_rows():
        assert len(row) >= 5, f"{row}: kind runtime build services why"
        kind, runtime, build, svcs = row[:4]
        assert kind in ("lib", "data", "build"), row
        if kind == "lib":
            assert runtime != "-" and build != "-", row
        for s in svcs.split(","):
            assert s == "*" or s in services, f"{row}: unknown service {s}"
    p = subprocess.run([DEPS, "packages", "user", "build"], capture_output=True, text=True, check=True)
    assert {"gcc", "make", "pkg-config", "binutils", "libpq-dev"} <= set(p.stdout.split())
    p = subprocess.run([DEPS, "packages", "user", "runtime"], capture_output=True, text=True, check=True)
    assert "libargon2-1" not in p.stdout.split() and "gcc" not in p.stdout.split()


def os_release():
    try:
        with open("/etc/os-release") as f:
            return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return {}


@pytest.fixture(scope="module")
def bookworm():
    if os_release().get("VERSION_CODENAME", "").strip('"') != "bookworm":
        pytest.skip("docker/packages.txt names Debian 12 (bookworm) packages, the images' base; "
                    "the binaries are checked on bookworm hosts and in the image build stage")
    for tool in ("objdump", "ldd", "dpkg"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            pytest.fail(f"'{tool}' is not installed (binutils, libc-bin, dpkg)")


def built_services():
    out = []
    for name in sorted(os.listdir(os.path.join(ROOT, "services"))):
        if os.path.isdir(os.path.join(ROOT, "services", name, "src")):
            out.append(name)
    return out


@pytest.mark.parametrize("service", built_services())
def test_runtime_packages_match_the_binary(bookworm, service):
    binary = os.path.join(ROOT, "bin", service)
    if not os.path.exists(binary):
        pytest.skip(f"bin/{service} is not built (make)")
    p = subprocess.run([DEPS, "check", service, binary, "--strict"], capture_output=True, text=True)
    assert p.returncode == 0, f"docker/packages.txt does not match bin/{service}:\n{p.stderr}"
    print(p.stdout)


def test_some_binary_was_checked(bookworm):
    assert any(os.path.exists(os.path.join(ROOT, "bin", s)) for s in built_services()), \
        "no service binary in bin/: run make"


def test_the_check_catches_a_missing_library(bookworm, tmp_path):
    binary = next((os.path.join(ROOT, "bin", s) for s in built_services()
                   if os.path.exists(os.path.join(ROOT, "bin", s))), None)
    if not binary:
        pytest.skip("no binary built")
    service = os.path.basename(binary)
    with open(PACKAGES) as f:
        text = f.read()
    short = tmp_path / "packages.txt"
    short.write_text(re.sub(r"(?m)^lib\s+libpq5\s.*$", "", text))
    p = subprocess.run([DEPS, "check", service, binary], capture_output=True, text=True,
                       env={**os.environ, "TC_PACKAGES_LIST": str(short)})
    assert p.returncode == 1 and "MISSING  libpq5" in p.stderr, p.stderr
    extra = tmp_path / "extra.txt"
    extra.write_text(text + f"\nlib libyaml-0-2 libyaml-dev {service}\n")
    p = subprocess.run([DEPS, "check", service, binary, "--strict"], capture_output=True, text=True,
                       env={**os.environ, "TC_PACKAGES_LIST": str(extra)})
    assert p.returncode == 1 and "EXTRA    libyaml-0-2" in p.stderr, p.stderr


def test_build_stage_runs_on_the_build_context(bookworm, tmp_path):
    """The build stage, without Docker: the context .dockerignore keeps, the stage's COPY lines,
    then its RUN lines (the apt-get one aside: this machine has the packages) for the user
    service. Catches a context that leaves out what `make bin/$SERVICE` needs."""
    service, port = "user", "8082"
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    context = tmp_path / "context"
    for f in dockerignore_included(files):
        src = os.path.join(ROOT, f)
        if os.path.isfile(src):
            os.makedirs(context / os.path.dirname(f), exist_ok=True)
            shutil.copy2(src, context / f)
    work = tmp_path / "src"
    work.mkdir()
    # -O0: what this test checks is the context, not the code (the stage's -O2 compile of
    # libcommon and the service took 52 s of a loaded CI lane; -O0 takes 30 % less)
    env = {**os.environ, "SERVICE": service, "PORT": port, "ADMIN_PORT": str(int(port) + 1000),
           "OPT": "-O0"}
    build = [(w, a) for st, w, a in instructions() if st == 0]
    ran = 0
    for w, a in build:
        if w == "COPY":  # Docker's rules: a directory's contents, files into a dir/ target
            *srcs, dst = a.replace("${SERVICE}", service).split()
            for src in srcs:
                srcp, dstp = context / src, work / dst
                if srcp.is_dir():
                    shutil.copytree(srcp, dstp, dirs_exist_ok=True)
                elif dst.endswith("/"):
                    dstp.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(srcp, dstp / srcp.name)
                else:
                    dstp.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(srcp, dstp)
        elif w == "RUN" and "apt-get" not in a:
            cmd = a.replace("/out", str(tmp_path / "out"))
            p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=work, env=env,
                               capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"RUN {a[:80]}…\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
            ran += 1
    assert ran == 3
    out = tmp_path / "out"
    assert (out / "models").is_dir() and not any((out / "models").iterdir()), \
        "only ml-inference's image carries models"
    assert (out / service).exists()
    sections = subprocess.run(["objdump", "-h", str(out / service)], capture_output=True, text=True).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections, "the binary is not stripped"
    assert (out / "runtime-packages").read_text().split() == \
        subprocess.run([DEPS, "packages", service, "runtime"], capture_output=True, text=True).stdout.split()


def test_ml_inference_image_gets_the_models_without_their_evaluation_data(tmp_path):
    """The build stage's model step for ml-inference installs what `make models` built (`make
    test` builds them first): each version's card and files, not the held-out sets or the
    unpacked data packages."""
    built = os.path.join(ROOT, "build", "models")
    assert os.path.isdir(built), "build/models is missing: `make models` runs before the tests"
    dest = tmp_path / "models"
    subprocess.run([os.path.join(ROOT, "services", "ml-inference", "models", "install.sh"), built,
                    str(dest)], check=True, capture_output=True, text=True)
    cards = sorted(p.relative_to(dest).parts[:2] for p in dest.glob("*/*/card.json"))
    want = sorted(tuple(p.split(os.sep)[-3:-1]) for p in
                  subprocess.run(["find", built, "-mindepth", "3", "-maxdepth", "3", "-name",
                                  "card.json"], capture_output=True, text=True).stdout.split())
    assert cards == want and len(cards) >= 5
    assert not list(dest.glob("*/*/eval")), "evaluation data stays out of the image"
    assert not (dest / "src").exists() and not (dest / "npm").exists()
