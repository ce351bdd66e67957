"""Signing in with GitHub for the auth suite: a stand-in for GitHub's OAuth app endpoints and REST
API on loopback (DESIGN §8a: github.com cannot be reached from the tests). It implements what
GitHub documents for OAuth apps, with GitHub Enterprise Server's paths:

  GET  /login/oauth/authorize       client_id, redirect_uri, scope, state, code_challenge
                                    (S256): the signed-in user approves and is sent back with
                                    ?code&state. The "signed-in user" is the X-Stand-In-Login
                                    header of the request — the one liberty taken, in place of
                                    GitHub's login page.
  POST /login/oauth/access_token    client_id, client_secret, code, redirect_uri,
                                    code_verifier → {access_token, token_type, scope} when the
                                    client asks for JSON (form-encoded otherwise); a refusal is
                                    200 {"error": "incorrect_client_credentials" |
                                    "bad_verification_code" | "redirect_uri_mismatch"}, as
                                    GitHub answers it.
  GET  /api/v3/user                 {id, login, name, email} (Bearer or "token" credentials;
                                    401 {"message": "Bad credentials"} otherwise)
  GET  /api/v3/user/emails          [{email, primary, verified, visibility}]
"""
import base64
import hashlib
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from ssokit import free_port

APP_ID, APP_SECRET = "Iv1.platform", "gh-app-secret"


class GitHubStandIn:
    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.users = {}      # login → {"id", "login", "name", "emails": [...]}
        self.codes = {}      # code → {"login", "redirect_uri", "challenge", "used"}
        self.tokens = {}     # access token → login
        self.exchanges = []  # what each token request carried (for the tests)
        kit = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                if url.path == "/login/oauth/authorize":
                    return kit.authorize(self, q)
                login = kit.tokens.get(kit.credential(self.headers.get("Authorization", "")))
                if url.path in ("/api/v3/user", "/api/v3/user/emails") and not login:
                    return self.answer(401, {"message": "Bad credentials"})
                user = kit.users[login]
                if url.path == "/api/v3/user":
                    public = next((e["email"] for e in user["emails"]
                                   if e.get("visibility") == "public"), None)
                    return self.answer(200, {"id": user["id"], "login": user["login"],
                                             "name": user.get("name"), "email": public})
                if url.path == "/api/v3/user/emails":
                    return self.answer(200, user["emails"])
                return self.answer(404, {"message": "Not Found"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in
                        urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
                if self.path != "/login/oauth/access_token":
                    return self.answer(404, {"message": "Not Found"})
                body = kit.exchange(form, self.headers.get("Authorization"))
                if "application/json" in self.headers.get("Accept", ""):
                    return self.answer(200, body)
                return self.answer(200, urllib.parse.urlencode(body).encode(),
                                   "application/x-www-form-urlencoded")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def credential(header):
        scheme, _, value = header.partition(" ")
        return value if scheme.lower() in ("bearer", "token") else None

    def user(self, login, emails, name=None, uid=None):
        """A GitHub account: emails [(address, primary, verified)]."""
        self.users[login] = {
            "id": uid or 10_000_000 + secrets.randbelow(10_000_000), "login": login,
            "name": name,
            "emails": [{"email": e, "primary": p, "verified": v, "visibility": None}
                       for e, p, v in emails]}
        return self.users[login]

    def authorize(self, handler, q):
        login = handler.headers.get("X-Stand-In-Login")
        if q.get("client_id") != APP_ID or login not in self.users:
            return handler.answer(404, {"message": "Not Found"})
        code = secrets.token_hex(10)
        self.codes[code] = {"login": login, "redirect_uri": q.get("redirect_uri"),
                            "challenge": q.get("code_challenge"),
                            "method": q.get("code_challenge_method"), "used": False}
        back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code,
                                                                 "state": q.get("state", "")})
        handler.send_response(302)
        handler.send_header("Location", back)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def exchange(self, form, authorization):
        self.exchanges.append({"form": form, "basic": authorization})
        if form.get("client_id") != APP_ID or form.get("client_secret") != APP_SECRET:
            return {"error": "incorrect_client_credentials"}
        grant = self.codes.get(form.get("code"))
        if not grant or grant["used"]:
            return {"error": "bad_verification_code"}
        grant["used"] = True
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return {"error": "redirect_uri_mismatch"}
        if grant["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if grant["method"] != "S256" or \
                    base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return {"error": "bad_verification_code"}
        token = "gho_" + secrets.token_hex(18)
        self.tokens[token] = grant["login"]
        return {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}

    def approve(self, authorization_url, login):
        """The signed-in user approves the app: the URL GitHub sends the browser back to."""
        r = requests.get(authorization_url, headers={"X-Stand-In-Login": login},
                         allow_redirects=False, timeout=10)
        assert r.status_code == 302, (r.status_code, r.text)
        return r.headers["Location"]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
