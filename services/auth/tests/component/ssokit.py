"""Single sign-on for the auth suite: a real OpenID provider on loopback (npm oidc-provider,
OpenID Certified, run by services/auth/tests/peers/idp.mjs), a scripted provider for the tokens
a certified one never issues (unsigned, foreign-signed, wrong audience, expired, wrong nonce),
and a browser that walks a login through both and the platform's three steps."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from npm_tools import npm_ci
from platform_client import session_from

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(os.path.dirname(HERE), "peers")
CALLBACK = "/v1/auth/sso/oidc/callback"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcProvider:
    """oidc-provider with its development interactions: any login name signs in. A login
    name is the account: "alice@example.com" has that verified email, "unverified:bob@…"
    an unverified one. Clients: "platform" (secret "platform-secret") and "other"."""

    def __init__(self, redirect_uri):
        npm_ci(PEERS_DIR)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = redirect_uri
        clients = [{"client_id": cid, "client_secret": f"{cid}-secret",
                    "redirect_uris": [redirect_uri], "grant_types": ["authorization_code"],
                    "response_types": ["code"]} for cid in ("platform", "other")]
        config = {"port": self.port, "clients": clients, "accounts": {}}
        self.proc = subprocess.Popen(["node", os.path.join(PEERS_DIR, "idp.mjs"),
                                      json.dumps(config)], cwd=PEERS_DIR,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("ready "), (line, self.proc.stderr.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class ScriptedProvider:
    """An OpenID provider whose ID tokens each test scripts (claims, header, signing key): for
    the failure modes a certified provider never produces. Discovery, a key set with one RSA
    key ("k1"; `jwks_status` other than 200 makes it fail), a token endpoint answering the
    scripted tokens, and UserInfo answering `userinfo[access token]`. `advertise_iss` makes
    discovery say that authorization responses carry `iss` (RFC 9207)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.script = {}  # code → {"claims": {...}, "header": {...}, "key": "own|foreign|none|hs"}
        self.requests = []
        self.userinfo = {}
        self.jwks_status = 200
        self.advertise_iss = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urllib.parse.urlparse(self.path).path
                if path == "/.well-known/openid-configuration":
                    self.answer(200, provider.discovery())
                elif path == "/jwks":
                    self.answer(provider.jwks_status, {"keys": [provider.jwk()]})
                elif path == "/userinfo":
                    token = self.headers.get("Authorization", "")[len("Bearer "):]
                    if token in provider.userinfo:
                        self.answer(200, provider.userinfo[token])
                    else:
                        self.answer(401, {"error": "invalid_token"})
                else:
                    self.answer(404, {"error": "not_found"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                provider.requests.append({"headers": dict(self.headers), "form": form})
                code = form.get("code", [""])[0]
                if code not in provider.script:
                    self.answer(400, {"error": "invalid_grant"})
                    return
                self.answer(200, {"access_token": "at-" + code, "token_type": "Bearer",
                                  "expires_in": 300,
                                  "id_token": provider.id_token(provider.script.pop(code))})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self):
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": self.advertise_iss}

    def jwk(self):
        nums = self.key.public_key().public_numbers()
        return {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                "n": b64url(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
                "e": b64url(nums.e.to_bytes(3, "big"))}

    def id_token(self, s):
        header = s.get("header", {"alg": "RS256", "kid": "k1", "typ": "JWT"})
        signing = b64url(json.dumps(header).encode()) + "." + \
            b64url(json.dumps(s["claims"]).encode())
        how = s.get("key", "own")
        if how == "none":
            return signing + "."
        if how == "hs":  # HMAC keyed with the provider's public key: the classic confusion
            pub = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
            return signing + "." + b64url(hmac.new(pub, signing.encode(), hashlib.sha256).digest())
        key = self.key if how == "own" else self.foreign
        sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing + "." + b64url(sig)

    def claims(self, nonce, client_id="platform", **over):
        now = int(time.time())
        c = {"iss": self.issuer, "sub": "sub-" + secrets.token_hex(4), "aud": client_id,
             "exp": now + 300, "iat": now, "nonce": nonce, "email_verified": True}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()



def connect(auth_api, owner, issuer, client_id="platform", secret=None, **extra):
    """An OpenID Connect connection of owner's org (201 asserted)."""
    body = {"type": "oidc", "name": "Corporate IdP", "issuer": issuer, "client_id": client_id,
            "client_secret": secret or f"{client_id}-secret", **extra}
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token, json_body=body)
    assert r.status_code == 201, r.text
    return r.json()


def start(auth_api, connection_id):
    r = auth_api("POST", "/v1/auth/sso/start", json_body={"connection_id": connection_id})
    assert r.status_code == 200, r.text
    return r.json()


def query_of(url):
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(url).query).items()}


def fragment_of(url):
    return {k: v[0] for k, v in
            urllib.parse.parse_qs(urllib.parse.urlparse(url).fragment).items()}


def sign_in_at_provider(authorization_url, login, redirect_uri):
    """A browser at oidc-provider: its login form (any name), its consent form; returns the
    URL the provider sends the browser back to (the platform's callback)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(12):
        r = browser.get(url, allow_redirects=False, timeout=10)
        while r.status_code in (302, 303):
            url = urllib.parse.urljoin(url, r.headers["Location"])
            if url.startswith(redirect_uri):
                return url
            r = browser.get(url, allow_redirects=False, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        action = r.text.split('action="', 1)[1].split('"', 1)[0]
        prompt = r.text.split('name="prompt" value="', 1)[1].split('"', 1)[0]
        form = {"prompt": prompt}
        if prompt == "login":
            form.update(login=login, password="any")
        r = browser.post(urllib.parse.urljoin(url, action), data=form, allow_redirects=False,
                         timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        url = urllib.parse.urljoin(url, r.headers["Location"])
        if url.startswith(redirect_uri):
            return url
    raise AssertionError("the provider never sent the browser back")


# The gateway's front proxy (services/gateway/config/*.json trusts it): each browser comes
# through it from an address of its own, so the suite's many sign-ins do not add up in one
# address's anonymous limit (the gateway's own per-address limit is its test suite's concern).
FRONT_PROXY = session_from("127.0.0.2")


def callback(url):
    """The browser arrives at the platform's callback (through the gateway): the 302 on to the
    app, as {"code": …} or {"error": …} from the fragment; or the raw response when it is not a
    redirect."""
    browser = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{1 + secrets.randbelow(250)}"
    r = FRONT_PROXY.get(url, allow_redirects=False, timeout=30,
                        headers={"X-Forwarded-For": browser})
    if r.status_code != 302:
        return r
    assert r.headers["Cache-Control"] == "no-store"
    assert "/login/sso#" in r.headers["Location"], r.headers["Location"]
    return fragment_of(r.headers["Location"])


def exchange(auth_api, code, sso_session):
    return auth_api("POST", "/v1/auth/sso/token",
                    json_body={"code": code, "sso_session": sso_session})
