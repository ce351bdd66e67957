"""npm packages the suites run (Redocly, Kubernetes validators, the ASL oracle): each set is a
directory with package.json and package-lock.json, installed with `npm ci` when its lock
changed (a stamp in node_modules holds the lock's hash; one npm runs at a time per user)."""
import fcntl
import hashlib
import os
import shutil
import subprocess

import pytest


def need_tool(name, hint="apt-get install nodejs npm (scripts/deps.sh installs them)"):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"'{name}' is not installed: {hint}")
    return path


def npm_ci(directory):
    """directory/node_modules, installed as its package-lock.json says."""
    need_tool("node")
    npm = need_tool("npm")
    with open(os.path.join(directory, "package-lock.json"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(directory, "node_modules", ".techcorp-lock-sha256")
    lockfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"techcorp-npm-{os.getuid()}.lock")
    with open(lockfile, "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                current = f.read().strip() == digest
        except OSError:
            current = False
        if not current:
            p = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=directory, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                pytest.fail(f"npm ci in {directory} failed (the npm registry must be reachable "
                            f"once):\n{p.stdout}\n{p.stderr}")
            with open(stamp, "w") as f:
                f.write(digest + "\n")
    return os.path.join(directory, "node_modules")
