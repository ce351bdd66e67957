"""Security hardening, finding 6 (ASVS 3.3.1): an access token stops working within seconds of
the revocation of its session or of its user, at every service and at the gateway, instead of
living out its 15 minutes. auth announces revocations on auth-events; every token verifier of
the fleet follows them (libcommon tc_revoke)."""
import time

import fleet
from platform_client import eventually

WITHIN = 15  # seconds; the path is outbox -> relay -> broker -> each verifier's tail reader


def status_at(stack, service, token, path):
    return stack.http.get(stack.url(service, path), timeout=10,
                          headers={"Authorization": f"Bearer {token}"}).status_code


def refused_everywhere(stack, token, path="/v1/users/me"):
    """200 before, 401 once revoked: at the user service itself and through the gateway."""
    places = ["user"] + (["gateway"] if "gateway" in fleet.running() else [])
    return all(status_at(stack, p, token, path) == 401 for p in places)


def test_logout_revokes_the_sessions_access_token(stack):
    acct = stack.signup()
    token = acct.access_token
    assert status_at(stack, "user", token, "/v1/users/me") == 200
    r = stack.auth_api("POST", "/v1/auth/logout", token=token)
    assert r.status_code == 204, r.text
    eventually(lambda: refused_everywhere(stack, token), timeout=WITHIN,
               what="the logged-out session's token refused")


def test_logout_everywhere_refuses_older_tokens_but_not_a_new_login(stack):
    acct = stack.signup()
    first = acct.access_token
    second = acct.login()["access_token"]
    assert status_at(stack, "user", first, "/v1/users/me") == 200
    r = stack.auth_api("POST", "/v1/auth/logout/all", token=second)
    assert r.status_code == 204, r.text
    eventually(lambda: refused_everywhere(stack, first) and refused_everywhere(stack, second),
               timeout=WITHIN, what="every older token refused")
    time.sleep(1.1)  # a revocation covers the tokens issued before its second
    fresh = acct.login()["access_token"]
    assert status_at(stack, "user", fresh, "/v1/users/me") == 200


def test_suspension_revokes_the_members_tokens(stack):
    owner = stack.signup()
    org = stack_org(stack, owner)
    member = org.invite("editor")
    token = org.token_for(member)  # activates the member, then a token as auth would mint it
    assert status_at(stack, "user", token, "/v1/users/me") == 200
    r = stack.call("PATCH", "user", f"/v1/users/{member['id']}", token=owner.access_token,
                   json_body={"status": "suspended"})
    assert r.status_code == 200, r.text
    eventually(lambda: status_at(stack, "user", token, "/v1/users/me") == 401, timeout=WITHIN,
               what="the suspended member's token refused")


def stack_org(stack, owner):
    """The owner's organization as the test helpers know it (invite, token_for)."""
    from platform_client import Org
    org = Org.__new__(Org)
    org.stack, org.id, org.owner = stack, owner.org_id, {"id": owner.id}
    org.owner_token = owner.access_token
    return org
