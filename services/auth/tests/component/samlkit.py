"""SAML single sign-on for the auth suite: a real SAML 2.0 identity provider on loopback (npm
samlify, with its xmllint-wasm schema validator, run by services/auth/tests/peers/saml_idp.mjs).
It answers the platform's HTTP-Redirect AuthnRequests, or signs users in IdP-initiated, with
Responses whose assertion it signs (XML-DSig, RSA-SHA256); each option bends one thing for the
negative tests: audience, recipient, destination, issuer, in_response_to, name_id, validity
window, status, what is signed and with which key, a fixed assertion ID, tampering after
signing, and signature-wrapping variants."""
import base64
import collections
import json
import os
import socket
import subprocess
import tempfile
import threading
import urllib.parse
import zlib

import requests

from npm_tools import npm_ci

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(os.path.dirname(HERE), "peers")
DEFAULT_USER = {"email": "alice@example.com", "name": "Alice", "groups": ["admins"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SamlIdp:
    """samlify as an identity provider, entityID `<url>/idp`, single sign-on (HTTP-Redirect) at
    `<url>/sso`, its signing certificate in its metadata. `login` answers what a browser would
    carry back to the SP's ACS after signing `user` in (default alice@example.com, "Alice",
    groups ["admins"]). Options (see saml_idp.mjs): audience, recipient, destination, issuer,
    in_response_to (None omits it), name_id, not_on_or_after_s, not_before_s, status,
    sign ("assertion" by default, "response", "both", "none", "foreign"), assertion_id,
    tamper_after_sign={"email": …}, xsw ("evil_first", "evil_after", "wrapped_in_evil",
    "evil_in_signed", "same_id") with xsw_email."""

    def __init__(self):
        npm_ci(PEERS_DIR)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.entity_id = f"{self.url}/idp"
        self.sso_url = f"{self.url}/sso"
        self.metadata_url = f"{self.url}/metadata"
        self.proc = subprocess.Popen(["node", os.path.join(PEERS_DIR, "saml_idp.mjs"),
                                      json.dumps({"port": self.port})], cwd=PEERS_DIR,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        # Read on, or the peer blocks once a pipe fills with its logs; the tail explains errors.
        self.log = collections.deque(maxlen=200)
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._drain, args=(stream,), daemon=True).start()
        if not line.startswith("ready "):
            self.proc.wait(timeout=10)
            raise AssertionError(f"saml_idp.mjs did not start: {line!r}\n" + "".join(self.log))
        self.http = requests.Session()

    def _drain(self, stream):
        for line in stream:
            self.log.append(line)

    def metadata(self):
        r = self.http.get(self.metadata_url, timeout=10)
        r.raise_for_status()
        return r.text

    def cert(self, which="own"):
        """The "own" (published) or "foreign" signing certificate, PEM."""
        r = self.http.get(f"{self.url}/cert", params={"which": which}, timeout=10)
        r.raise_for_status()
        return r.text

    def login(self, sp_metadata, saml_request=None, relay_state=None, user=None, **options):
        """{"saml_response", "acs", "relay_state", "request_id", "xml"}: what to POST to `acs`
        (SAMLResponse, RelayState)."""
        body = {"sp_metadata": sp_metadata, "saml_request": saml_request,
                "relay_state": relay_state, "user": user or DEFAULT_USER, "options": options}
        r = self.http.post(f"{self.url}/login", json=body, timeout=30)
        if r.status_code != 200:
            raise AssertionError(f"the SAML IdP refused the login ({r.status_code}): {r.text}\n"
                                 + "".join(self.log))
        return r.json()

    def stop(self):
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def saml_request_from_redirect(url):
    """The SAMLRequest of an HTTP-Redirect binding URL, as sent (deflated, base64)."""
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert "SAMLRequest" in query, url
    return query["SAMLRequest"][0]


def decode_request(saml_request):
    """The AuthnRequest XML inside an HTTP-Redirect SAMLRequest (raw DEFLATE, saml-bindings
    §3.4.4.1)."""
    return zlib.decompress(base64.b64decode(saml_request), -15).decode()


def xmlsec1_verifies(xml, cert_pem, node="urn:oasis:names:tc:SAML:2.0:assertion:Assertion"):
    """Does Debian's xmlsec1 — independent of both samlify and the platform's Lasso — verify the
    (first) signature of this document with this certificate, the signed element found by its
    ID attribute?"""
    with tempfile.TemporaryDirectory(prefix="tc-xmlsec-") as d:
        doc, cert = os.path.join(d, "doc.xml"), os.path.join(d, "cert.pem")
        with open(doc, "w") as f:
            f.write(xml)
        with open(cert, "w") as f:
            f.write(cert_pem)
        r = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert,
                            "--id-attr:ID", node, doc], capture_output=True, text=True,
                           timeout=30)
        return r.returncode == 0
