"""auth: single sign-on through SAML 2.0 (issue 22), against a real SAML identity provider on
loopback (npm samlify with its schema validator, services/auth/tests/peers/saml_idp.mjs). The
platform is the service provider: its metadata, SP-initiated logins (HTTP-Redirect
AuthnRequest, HTTP-POST Response), IdP-initiated ones where the connection accepts them, and
every way an assertion can fail to be believed — audience, recipient, destination, issuer,
validity window, InResponseTo, status, missing or foreign signature, tampering after signing,
signature wrapping, replay. Every answer of auth is checked against proto/openapi/auth.yaml;
the browser's POST to the assertion consumer service goes through the gateway."""
import secrets
import urllib.parse

import pytest

from authkit import wait_events
from platform_client import assert_error, jwt_claims
from samlkit import SamlIdp, decode_request, saml_request_from_redirect, xmlsec1_verifies
from ssokit import FRONT_PROXY, exchange, fragment_of, query_of, start


@pytest.fixture(scope="module")
def idp():
    p = SamlIdp()
    yield p
    p.stop()


def saml_connect(auth_api, owner, idp, **extra):
    body = {"type": "saml", "name": "Corporate SAML", "idp_metadata": idp.metadata(), **extra}
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token, json_body=body)
    assert r.status_code == 201, r.text
    return r.json()


def browser():
    """A browser's address, as the gateway's front proxy forwards it: each sign-in comes from
    its own, so the suite's many do not add up in one address's anonymous limit."""
    return {"X-Forwarded-For": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}."
                               f"{1 + secrets.randbelow(250)}"}


def sp_metadata(conn):
    r = FRONT_PROXY.get(conn["sp_metadata_url"], headers=browser(), timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml")
    return r.text


def post_acs(acs, saml_response, relay_state=None):
    """The browser posts the provider's form to the platform (through the gateway): the 302 on
    to the app as {"code"|"error": …}, or the raw response when it is not a redirect."""
    form = {"SAMLResponse": saml_response}
    if relay_state is not None:
        form["RelayState"] = relay_state
    r = FRONT_PROXY.post(acs, data=form, allow_redirects=False, timeout=30, headers=browser())
    if r.status_code != 302:
        return r
    assert r.headers["Cache-Control"] == "no-store"
    return fragment_of(r.headers["Location"])


def sp_login(auth_api, idp, conn, email, groups=(), **options):
    """An SP-initiated login in a browser: start, the provider's answer to the AuthnRequest,
    the POST to the ACS. ({"code"|"error": …}, sso_session, the provider's answer)."""
    s = start(auth_api, conn["id"])
    relay = query_of(s["authorization_url"])["RelayState"]
    answer = idp.login(sp_metadata(conn), saml_request_from_redirect(s["authorization_url"]),
                       relay, user={"email": email, "name": "Sam L", "groups": list(groups)},
                       **options)
    return post_acs(answer["acs"], answer["saml_response"], relay), s["sso_session"], answer


def idp_login(idp, conn, email, groups=(), **options):
    """An IdP-initiated login: the provider's unsolicited answer posted to the ACS."""
    answer = idp.login(sp_metadata(conn), None, None,
                       user={"email": email, "name": "Sam L", "groups": list(groups)}, **options)
    return post_acs(answer["acs"], answer["saml_response"]), answer


# ------------------------------------------------------------------ connections

def test_an_admin_connects_a_saml_provider(stack, auth_api, owner, idp):
    conn = saml_connect(auth_api, owner, idp)
    assert conn["type"] == "saml" and conn["idp_entity_id"] == idp.entity_id
    base = stack.url("gateway", f"/v1/auth/sso/saml/{conn['id']}")
    assert conn["sp_entity_id"] == conn["sp_metadata_url"] == base + "/metadata"
    assert conn["acs_url"] == base + "/acs"
    assert conn["idp_initiated"] is False and conn["group_roles"] == {}
    assert "client_id" not in conn and "issuer" not in conn
    md = sp_metadata(conn)
    assert f'entityID="{base}/metadata"' in md and f'Location="{base}/acs"' in md
    assert 'WantAssertionsSigned="true"' in md

    # metadata that cannot serve is refused, with why
    for bad, why in [("<not-xml", "identity provider"),
                     (idp.metadata().replace("KeyDescriptor", "KeyDescriptorX"), "certificate"),
                     (idp.metadata().replace("HTTP-Redirect", "HTTP-Artifact"), "HTTP-Redirect")]:
        r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                     json_body={"type": "saml", "name": "x", "idp_metadata": bad})
        assert_error(r, 422, "validation_failed")
        assert why in r.text, r.text
    # or fetched from where the provider publishes it; not both, and what cannot be read is 422
    by_url = auth_api(
        "POST", "/v1/auth/sso/connections", token=owner.access_token,
        json_body={"type": "saml", "name": "By URL", "idp_metadata_url": idp.metadata_url})
    assert by_url.status_code == 201, by_url.text
    assert by_url.json()["idp_entity_id"] == idp.entity_id
    assert by_url.json()["idp_metadata_url"] == idp.metadata_url
    assert conn["idp_metadata_url"] is None
    for body in ({"idp_metadata": idp.metadata(), "idp_metadata_url": idp.metadata_url},
                 {"idp_metadata_url": idp.url + "/nothing-here"},
                 {"idp_metadata_url": "ftp://example.com/md.xml"}, {}):
        r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                     json_body={"type": "saml", "name": "x", **body})
        assert_error(r, 422, "validation_failed")
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{by_url.json()['id']}",
                 token=owner.access_token, json_body={"idp_metadata": idp.metadata()})
    assert r.status_code == 200 and r.json()["idp_metadata_url"] is None, r.text
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{by_url.json()['id']}",
                 token=owner.access_token, json_body={"idp_metadata_url": idp.metadata_url})
    assert r.status_code == 200 and r.json()["idp_metadata_url"] == idp.metadata_url, r.text
    # the other protocol's fields are refused, both ways
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "saml", "name": "x", "idp_metadata": idp.metadata(),
                            "client_id": "c"})
    assert_error(r, 422, "validation_failed")
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "saml", "name": "x", "idp_metadata": idp.metadata(),
                            "group_roles": {"admins": "owner"}})
    assert_error(r, 422, "validation_failed")

    # new metadata (a rotated certificate) is taken; another provider's is not
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"idp_metadata": idp.metadata(), "group_roles": {"eng": "editor"},
                            "idp_initiated": True})
    assert r.status_code == 200, r.text
    assert r.json()["group_roles"] == {"eng": "editor"} and r.json()["idp_initiated"] is True
    other = idp.metadata().replace(idp.entity_id, idp.entity_id + "/other")
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"idp_metadata": other})
    assert_error(r, 422, "validation_failed")
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"client_secret": "s"})
    assert_error(r, 422, "validation_failed")
    assert FRONT_PROXY.get(stack.url("gateway", "/v1/auth/sso/saml/sso_unknown/metadata"),
                           headers=browser(), timeout=10).status_code == 404


# ------------------------------------------------------------------ logins

def test_a_member_signs_in_through_saml(stack, auth_api, owner, member, idp, schemas):
    m = member(owner, "editor")
    conn = saml_connect(auth_api, owner, idp)
    s = start(auth_api, conn["id"])
    assert s["authorization_url"].startswith(idp.sso_url + "?")
    request = decode_request(saml_request_from_redirect(s["authorization_url"]))
    assert conn["acs_url"] in request and conn["sp_entity_id"] in request

    landed, session, answer = sp_login(auth_api, idp, conn, m.email)
    assert set(landed) == {"code"}, landed
    r = exchange(auth_api, landed["code"], session)
    assert r.status_code == 200, r.text
    claims = jwt_claims(r.json()["access_token"])
    assert claims["sub"] == m.user["id"] and claims["role"] == "editor"
    assert claims["amr"] == ["fed"]
    ok = [d for t, d in wait_events(stack, schemas, "auth-events", m.user["id"],
                                    ["sso_login_succeeded"])
          if d.get("session_id") == r.json()["session_id"]]
    assert ok and ok[0]["connection_id"] == conn["id"]
    assert ok[0]["subject"].endswith("|" + m.email)
    # the code is this browser's only
    assert_error(exchange(auth_api, landed["code"], session), 400, "invalid_grant")

    # the same response again: its RelayState's login is used up
    relay = query_of(s["authorization_url"])["RelayState"]
    again = post_acs(answer["acs"], answer["saml_response"], answer["relay_state"])
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_state"
    # …and under a fresh login it answers another request
    s2 = start(auth_api, conn["id"])
    relay = query_of(s2["authorization_url"])["RelayState"]
    assert post_acs(answer["acs"], answer["saml_response"], relay) == {
        "error": "in_response_to_mismatch"}


# option → the reason the platform gives (several where Lasso and our checks may each be first)
BENT = [
    ({"audience": "https://elsewhere.example/sp"}, {"audience_mismatch"}),
    ({"recipient": "https://elsewhere.example/acs"}, {"recipient_mismatch"}),
    ({"destination": "https://elsewhere.example/acs"}, {"destination_mismatch"}),
    ({"issuer": "https://impostor.example/idp"}, {"unknown_issuer", "issuer_mismatch",
                                                  "signature_invalid"}),
    ({"not_on_or_after_s": -600}, {"expired"}),
    ({"not_before_s": 600}, {"not_yet_valid"}),
    ({"not_on_or_after_s": 30 * 86400}, {"validity_too_long"}),
    ({"in_response_to": "_another_request"}, {"in_response_to_mismatch"}),
    ({"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"}, {"idp_error"}),
    ({"sign": "none"}, {"signature_invalid"}),
    ({"sign": "foreign"}, {"signature_invalid"}),
    ({"sign": "response"}, {"signature_invalid"}),
    ({"tamper_after_sign": {"email": "mallory@example.com"}}, {"signature_invalid"}),
    ({"xsw": "evil_first"}, {"assertion_count"}),
    ({"xsw": "evil_after"}, {"assertion_count"}),
    ({"xsw": "wrapped_in_evil"}, {"signature_invalid", "malformed"}),
    ({"xsw": "evil_in_signed"}, {"signature_invalid", "malformed"}),
    ({"xsw": "same_id"}, {"assertion_count", "signature_invalid", "malformed"}),
]


def test_an_assertion_that_does_not_fit_is_refused(stack, auth_api, owner, member, idp,
                                                   schemas):
    """Each bent response signs nobody in, with its reason, recorded as sso_login_failed; the
    same member then signs in with a straight one (so the refusals were the bends')."""
    m = member(owner, "viewer")
    conn = saml_connect(auth_api, owner, idp)
    wrong, given = [], []
    for options, reasons in BENT:
        landed, _, _ = sp_login(auth_api, idp, conn, m.email, **options)
        if not isinstance(landed, dict) or set(landed) != {"error"} or \
                landed["error"] not in reasons:
            wrong.append((options, landed if isinstance(landed, dict) else landed.text))
        else:
            given.append(landed["error"])
    assert not wrong, wrong
    failed = wait_events(stack, schemas, "auth-events", owner.org_id,
                         ["sso_login_failed"] * len(BENT), source=f"/sso-connections/{conn['id']}")
    assert sorted(d["reason"] for _, d in failed) == sorted(given)
    assert all(d["connection_id"] == conn["id"] and d["subject"] is None for _, d in failed)
    # a signature-wrapped response never signed mallory in
    assert not stack.sql("auth", "SELECT count(*) FROM sso_identities i JOIN sso_connections c"
                                 f" ON c.id = i.connection_id WHERE c.id = '{conn['id']}'"
                                 " AND i.subject LIKE '%mallory%'").strip("0\n ")
    landed, session, straight = sp_login(auth_api, idp, conn, m.email)
    assert set(landed) == {"code"}, landed
    assert exchange(auth_api, landed["code"], session).status_code == 200
    # the provider's signatures are sound, by a verifier that is neither samlify nor Lasso:
    # what the platform refused was the bend, not a broken signer
    own, foreign = idp.cert("own"), idp.cert("foreign")
    assert xmlsec1_verifies(straight["xml"], own)
    assert not xmlsec1_verifies(straight["xml"], foreign)
    _, _, tampered = sp_login(auth_api, idp, conn, m.email,
                              tamper_after_sign={"email": "mallory@example.com"})
    assert not xmlsec1_verifies(tampered["xml"], own)
    _, _, by_foreign = sp_login(auth_api, idp, conn, m.email, sign="foreign")
    assert xmlsec1_verifies(by_foreign["xml"], foreign) and \
        not xmlsec1_verifies(by_foreign["xml"], own)


def test_unsolicited_responses_only_where_the_connection_accepts_them(auth_api, owner, member,
                                                                      idp):
    m = member(owner, "viewer")
    conn = saml_connect(auth_api, owner, idp)
    landed, _ = idp_login(idp, conn, m.email)
    assert landed == {"error": "unsolicited"}

    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"idp_initiated": True})
    assert r.status_code == 200, r.text
    landed, answer = idp_login(idp, conn, m.email)
    assert set(landed) == {"code"}, landed
    # started by no browser of ours: its code needs no sso_session
    r = auth_api("POST", "/v1/auth/sso/token", json_body={"code": landed["code"]})
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["sub"] == m.user["id"]
    # the same assertion twice is a replay
    assert post_acs(answer["acs"], answer["saml_response"]) == {"error": "assertion_replayed"}
    # an unsolicited answer may not claim to answer a request
    landed, _ = idp_login(idp, conn, m.email, in_response_to="_made_up")
    assert landed == {"error": "in_response_to_mismatch"}
    # an SP-initiated login's code still needs its browser's secret
    landed, session, _ = sp_login(auth_api, idp, conn, m.email)
    assert_error(auth_api("POST", "/v1/auth/sso/token", json_body={"code": landed["code"]}),
                 400, "invalid_grant")


def test_groups_give_provisioned_members_their_role(stack, auth_api, owner, idp):
    conn = saml_connect(auth_api, owner, idp, jit_provisioning=True, default_role="viewer",
                        group_roles={"platform-admins": "admin", "engineering": "editor"})
    roles = {}
    for groups in (["engineering"], ["engineering", "platform-admins"], ["sales"]):
        email = f"saml-{secrets.token_hex(5)}@example.com"
        landed, session, _ = sp_login(auth_api, idp, conn, email, groups=groups)
        assert set(landed) == {"code"}, landed
        r = exchange(auth_api, landed["code"], session)
        assert r.status_code == 200, r.text
        claims = jwt_claims(r.json()["access_token"])
        roles[tuple(groups)] = claims["role"]
        user = stack.call("GET", "user", f"/v1/users/{claims['sub']}", token=owner.access_token)
        assert user.json()["email"] == email and user.json()["status"] == "active"
    assert roles == {("engineering",): "editor", ("engineering", "platform-admins"): "admin",
                     ("sales",): "viewer"}


def test_an_owner_never_signs_in_through_saml(auth_api, owner, idp):
    conn = saml_connect(auth_api, owner, idp)
    landed, _, _ = sp_login(auth_api, idp, conn, owner.email)
    assert landed == {"error": "owner_password_only"}


def test_the_acs_wants_a_saml_response(stack, auth_api, owner, idp):
    conn = saml_connect(auth_api, owner, idp)
    r = post_acs(conn["acs_url"], "")
    assert_error(r, 400, "invalid_request")
    r = post_acs(conn["acs_url"], "bm90IHhtbA==")  # "not xml"
    assert r == {"error": "unsolicited"} or r == {"error": "malformed"}, r
    # a state of ours that is unknown is the usual invalid_state
    r = post_acs(conn["acs_url"], "bm90IHhtbA==", "sst_" + "A" * 43)
    assert_error(r, 400, "invalid_state")
    # an OpenID callback never finishes a SAML login
    s = start(auth_api, conn["id"])
    relay = query_of(s["authorization_url"])["RelayState"]
    cb = stack.url("gateway", "/v1/auth/sso/oidc/callback?" +
                   urllib.parse.urlencode({"state": relay, "code": "x"}))
    assert FRONT_PROXY.get(cb, allow_redirects=False, headers=browser(),
                           timeout=10).status_code == 400
