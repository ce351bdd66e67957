"""auth: email domains that route people to their org's single sign-on (issue 22) — claimed,
proven with a DNS TXT record served by a real DNS server on loopback (dnsmasq, dnskit.py), routed
to a connection, and found by /v1/auth/sso/discover from an email address. Answers are checked
against proto/openapi/auth.yaml, audit records against proto/events."""
import secrets

import pytest

from authkit import wait_events
from dnskit import DnsServer
from githubkit import APP_ID, APP_SECRET
from platform_client import assert_error

RECORD = "_techcorp-challenge"


@pytest.fixture(scope="module")
def dns(stack):
    server = DnsServer(stack.service_env("auth")["AUTH_DNS_SERVER"])
    yield server
    server.stop()


def github_connection(auth_api, owner, **extra):
    """A connection to route to (GitHub's: saving one makes no network call)."""
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "github", "name": "GitHub", "client_id": APP_ID,
                            "client_secret": APP_SECRET, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def claim(auth_api, owner, domain, **extra):
    r = auth_api("POST", "/v1/auth/sso/domains", token=owner.access_token,
                 json_body={"domain": domain, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def verify(auth_api, owner, domain):
    return auth_api("POST", f"/v1/auth/sso/domains/{domain}/verify", token=owner.access_token)


def discover(stack, email):
    """Through the gateway, as the sign-in page asks it."""
    return stack.call("POST", "gateway", "/v1/auth/sso/discover", json_body={"email": email})


def fresh_domain():
    return f"d{secrets.token_hex(5)}.example.com"


def test_an_org_proves_a_domain_and_routes_its_people(stack, auth_api, owner, dns, schemas):
    conn = github_connection(auth_api, owner)
    domain = fresh_domain()
    d = claim(auth_api, owner, domain.upper(), connection_id=conn["id"])
    assert d["domain"] == domain and d["verified"] is False and d["verified_at"] is None
    assert d["connection_id"] == conn["id"]
    rec = d["verification_record"]
    assert rec["type"] == "TXT" and rec["name"] == f"{RECORD}.{domain}"
    assert rec["value"].startswith("techcorp-domain-verification=tdv_")

    # routes nobody until it is proven
    assert_error(discover(stack, f"ann@{domain}"), 404, "no_sso_for_domain")
    assert_error(verify(auth_api, owner, domain), 409, "domain_not_verified")
    dns.publish(rec["name"], "techcorp-domain-verification=someone-elses")
    assert_error(verify(auth_api, owner, domain), 409, "domain_not_verified")
    dns.publish(rec["name"], rec["value"])
    r = verify(auth_api, owner, domain)
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True and r.json()["verified_at"]
    # verified once: the record may go
    dns.withdraw(rec["name"])
    assert verify(auth_api, owner, domain).json()["verified"] is True

    found = discover(stack, f"Ann.Lee@{domain.upper()}")
    assert found.status_code == 200, found.text
    assert found.json() == {"connection_id": conn["id"], "type": "github", "name": "GitHub",
                            "sso_required": False}
    assert_error(discover(stack, f"ann@sub.{domain}"), 404, "no_sso_for_domain")

    # routed nowhere, then back; a disabled connection routes nobody
    r = auth_api("PATCH", f"/v1/auth/sso/domains/{domain}", token=owner.access_token,
                 json_body={"connection_id": None})
    assert r.status_code == 200 and r.json()["connection_id"] is None
    assert_error(discover(stack, f"ann@{domain}"), 404, "no_sso_for_domain")
    r = auth_api("PATCH", f"/v1/auth/sso/domains/{domain}", token=owner.access_token,
                 json_body={"connection_id": conn["id"]})
    assert r.status_code == 200 and r.json()["connection_id"] == conn["id"]
    auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
             json_body={"enabled": False})
    assert_error(discover(stack, f"ann@{domain}"), 404, "no_sso_for_domain")

    listed = auth_api("GET", "/v1/auth/sso/domains", token=owner.access_token).json()["data"]
    assert [x["domain"] for x in listed] == [domain]
    audits = wait_events(stack, schemas, "audit-events", domain, ["recorded"] * 4,
                         source=f"/sso_domains/{domain}")
    assert [a["action"] for _, a in audits] == ["sso_domain.created", "sso_domain.verified",
                                                "sso_domain.updated", "sso_domain.updated"]
    assert auth_api("DELETE", f"/v1/auth/sso/domains/{domain}",
                    token=owner.access_token).status_code == 204
    assert_error(auth_api("DELETE", f"/v1/auth/sso/domains/{domain}", token=owner.access_token),
                 404, "not_found")


def test_a_domain_is_verified_for_one_org_only(stack, auth_api, dns):
    first, second = stack.signup(), stack.signup()
    domain = fresh_domain()
    a = claim(auth_api, first, domain)
    b = claim(auth_api, second, domain)  # claiming proves nothing: both may
    assert a["verification_record"]["value"] != b["verification_record"]["value"]
    dns.publish(a["verification_record"]["name"], a["verification_record"]["value"])
    dns.publish(b["verification_record"]["name"], b["verification_record"]["value"])
    assert verify(auth_api, first, domain).status_code == 200
    assert_error(verify(auth_api, second, domain), 409, "domain_taken")
    assert_error(auth_api("POST", "/v1/auth/sso/domains", token=first.access_token,
                          json_body={"domain": domain}), 409, "conflict")


def test_what_is_not_a_domain_or_not_the_orgs_is_refused(stack, auth_api, owner, member):
    for bad in ("example", "-bad.example.com", "bad-.example.com", "ex ample.com",
                "example.com.", "a" * 64 + ".com", "xn--.com", "exa_mple.com"):
        r = auth_api("POST", "/v1/auth/sso/domains", token=owner.access_token,
                     json_body={"domain": bad})
        assert_error(r, 422, "validation_failed")
    other = github_connection(auth_api, stack.signup())
    r = auth_api("POST", "/v1/auth/sso/domains", token=owner.access_token,
                 json_body={"domain": fresh_domain(), "connection_id": other["id"]})
    assert_error(r, 422, "validation_failed")
    viewer = member(owner, "viewer")
    r = auth_api("POST", "/v1/auth/sso/domains", token=viewer.access_token,
                 json_body={"domain": fresh_domain()})
    assert r.status_code == 403
    assert_error(verify(auth_api, owner, "unclaimed.example.com"), 404, "not_found")
    assert_error(discover(stack, "not-an-address"), 422, "validation_failed")


def test_dns_that_does_not_answer_is_a_503(auth_api, owner, dns):
    domain = fresh_domain()
    claim(auth_api, owner, domain)
    dns.stop(keep_dir=True)
    try:
        r = verify(auth_api, owner, domain)
        assert r.status_code == 503, r.text
    finally:
        dns.restart()
