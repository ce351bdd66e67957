"""Fixtures for the gateway suite: the gateway of the isolated stack (scripts/test.sh), the
Python upstreams its test routes point at, tokens with any claim, raw sockets for the
protocol edge cases, metrics, and restarts with temporary settings."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest
import requests

from platform_client import SourceAdapter, mint_token, new_id
from upstreams import start_all

TRUSTED_PROXY = "127.0.0.2"  # services/gateway/config/test.json: trusted_proxies


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Gateway:
    def __init__(self, stack):
        self.stack = stack
        self.port = stack.port("gateway")
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin_base = f"http://127.0.0.1:{self.port + 1000}"
        self.http = requests.Session()
        self.proxy_http = requests.Session()
        self.proxy_http.mount("http://", SourceAdapter(TRUSTED_PROXY))

    # ------------------------------------------------------------------ calls
    def url(self, path):
        return self.base + path

    def call(self, method, path, token=None, headers=None, via_proxy=False, **kw):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        session = self.proxy_http if via_proxy else self.http
        kw.setdefault("timeout", 15)
        return session.request(method, self.url(path), headers=h, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    @property
    def admin_token(self):
        path = os.path.join(self.stack.run_dir, "secrets", "gateway.env")
        with open(path) as f:
            for line in f:
                if line.startswith("GATEWAY_ADMIN_TOKEN="):
                    return line.strip().split("=", 1)[1]
        raise AssertionError(f"no GATEWAY_ADMIN_TOKEN in {path}")

    def admin(self, method, path, token="default", **kw):
        h = dict(kw.pop("headers", {}))
        tok = self.admin_token if token == "default" else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        return requests.request(method, self.admin_base + path, headers=h, timeout=15, **kw)

    # ------------------------------------------------------------------ raw sockets
    def raw(self, data, timeout=5, source=None, until_close=False):
        """Sends bytes as they are and returns what comes back (until the first complete
        response, or until the gateway closes when until_close)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        try:
            s.sendall(data)
            return read_responses(s, until_close)
        finally:
            s.close()

    # ------------------------------------------------------------------ metrics
    def metrics(self):
        text = requests.get(self.admin_base + "/metrics", timeout=10).text
        out = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
            if m:
                labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
                out.append((m.group(1), labels, float(m.group(4))))
        return out

    def metric(self, name, **labels):
        return sum(v for n, ls, v in self.metrics()
                   if n == name and all(ls.get(k) == str(x) for k, x in labels.items()))

    # ------------------------------------------------------------------ process
    def pid(self):
        return self.stack.pid("gateway")

    def restart(self):
        self.stack.stack_cmd("restart-service", "gateway")
        self.http = requests.Session()
        self.proxy_http = requests.Session()
        self.proxy_http.mount("http://", SourceAdapter(TRUSTED_PROXY))

    @contextlib.contextmanager
    def settings(self, **env):
        """Restarts the gateway with extra environment (scripts/stack.sh reads
        $TC_RUN_DIR/env/gateway.env last), and back without it afterwards."""
        path = os.path.join(self.stack.run_dir, "env", "gateway.env")
        with open(path, "w") as f:
            for k, v in env.items():
                f.write(f"{k}={v}\n")
        try:
            self.restart()
            yield self
        finally:
            os.unlink(path)
            self.restart()


def read_responses(s, until_close=False):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        if not until_close and complete_response(data):
            break
    return data


def complete_response(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if m:
        return len(body) >= int(m.group(1))
    if re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
        return body.endswith(b"0\r\n\r\n")
    code = status_of(head)
    return code is not None and (code < 200 or code in (204, 304))


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.") else None


# ---------------------------------------------------------------------- tokens

class Tokens:
    def __init__(self, stack, tmpdir):
        self.stack = stack
        self.tmpdir = tmpdir
        self._other_key = None

    def mint(self, sub=None, org=None, role="viewer", plan=None, ttl=900, service=False,
             scope=None, key=None, kid=None, claims=()):
        key, kid, sub = key or self.stack.key, kid or self.stack.kid, sub or new_id("usr")
        if service:
            return mint_token(key, kid, sub, service=True, scope=scope or "internal",
                              plan=plan or None, ttl=ttl, claims=claims)
        return mint_token(key, kid, sub, org=org or new_id("org"), role=role, plan=plan or None,
                          ttl=ttl, claims=claims)

    def other_key(self):
        """A signing key the gateway has never seen (its kid is unknown)."""
        if not self._other_key:
            key = os.path.join(self.tmpdir, "other-key.pem")
            jwks = os.path.join(self.tmpdir, "other-jwks.json")
            subprocess.run([os.path.join(self.stack.bin, "tc-token"), "keygen", "--key", key,
                            "--jwks", jwks, "--kid", "kid-nobody-knows", "--force"],
                           check=True, capture_output=True)
            self._other_key = key
        return self._other_key

    def hs256(self):
        """A token whose header asks for HS256 (signed with the kid as the HMAC secret: the
        classic algorithm-confusion attack)."""
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.stack.kid}).encode())
        now = int(time.time())
        payload = b64url(json.dumps({"sub": new_id("usr"), "org": new_id("org"), "role": "admin",
                                     "iss": "techcorp-auth", "aud": "techcorp-api",
                                     "iat": now, "exp": now + 600}).encode())
        sig = hmac.new(self.stack.kid.encode(), f"{header}.{payload}".encode(),
                       hashlib.sha256).digest()
        return f"{header}.{payload}.{b64url(sig)}"

    def alg_none(self):
        header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": self.stack.kid}).encode())
        now = int(time.time())
        payload = b64url(json.dumps({"sub": new_id("usr"), "org": new_id("org"), "role": "admin",
                                     "iss": "techcorp-auth", "aud": "techcorp-api",
                                     "exp": now + 600}).encode())
        return f"{header}.{payload}."


# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def upstreams():
    ups = start_all()
    yield ups
    for u in ups.values():
        u.stop()


@pytest.fixture
def ups(upstreams):
    for u in upstreams.values():
        u.reset()
    return upstreams


@pytest.fixture(scope="session")
def gw(stack, upstreams):
    g = Gateway(stack)
    stack.wait_ready("gateway")
    return g


@pytest.fixture(scope="session")
def tokens(stack, tmp_path_factory):
    return Tokens(stack, str(tmp_path_factory.mktemp("tokens")))


@pytest.fixture
def config_copy(stack, gw):
    """The gateway restarted on a copy of its test configuration that the test may edit."""
    src = os.path.join(stack.root, "services", "gateway", "config", "test.json")
    dst = os.path.join(stack.run_dir, "gateway-reload.json")
    shutil.copyfile(src, dst)
    with gw.settings(GATEWAY_CONFIG=dst):
        yield dst


_SUITE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test of this suite is `serial` (tests/README.md): it restarts the gateway with other
    settings, stops Redis, reads the gateway's metrics as deltas and starts upstreams on
    fixed ports (shared with tests/security)."""
    for item in items:
        if str(item.path).startswith(_SUITE_DIR):
            item.add_marker(pytest.mark.serial)
