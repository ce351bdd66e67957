"""The suites mint their access tokens in-process (platform_client.mint_token) instead of
spawning `tc-token mint` for each one; these tests keep the two the same token, and prove
the gateway takes the in-process ones like the tool's."""
import base64
import json
import os
import subprocess
import time

import pytest

from platform_client import jwt_claims, jwt_header, mint_token, new_id


def _decode(token):
    return jwt_header(token), jwt_claims(token)


def _tool(stack, *args):
    cmd = [os.path.join(stack.bin, "tc-token"), "mint", "--key", stack.key, "--kid", stack.kid,
           *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


CASES = {
    "member": (dict(org="org_X", role="editor", plan="team"),
               ["--org", "org_X", "--role", "editor", "--plan", "team"]),
    "service": (dict(service=True, scope="internal"), ["--service", "--scope", "internal"]),
    "api-key": (dict(org="org_Y", role="viewer", scope="users:read",
                     claims=["principal_type=api_key", "n=3", "role=admin"]),
                ["--org", "org_Y", "--role", "viewer", "--scope", "users:read",
                 "--claim", "principal_type=api_key", "--claim", "n=3", "--claim", "role=admin"]),
    "issuer": (dict(org="org_Z", role="owner", iss="elsewhere", aud="them", ttl=60),
               ["--org", "org_Z", "--role", "owner", "--iss", "elsewhere", "--aud", "them",
                "--ttl", "60"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_in_process_token_is_the_tools(stack, case):
    kwargs, args = CASES[case]
    sub = new_id("usr")
    ours = mint_token(stack.key, stack.kid, sub, **kwargs)
    theirs = _tool(stack, "--sub", sub, *args)
    (h1, b1), (h2, b2) = _decode(ours), _decode(theirs)
    assert h1 == h2
    assert list(b1) == [k for k in b2]  # the same claims, in the same order
    for k in ("iat", "nbf", "exp"):
        assert abs(b1[k] - b2[k]) <= 5, k
    assert b1["exp"] - b1["iat"] == b2["exp"] - b2["iat"]
    assert b1["jti"] != b2["jti"] and b1["jti"].startswith("jti_")
    assert {k: v for k, v in b1.items() if k not in ("iat", "nbf", "exp", "jti")} == \
        {k: v for k, v in b2.items() if k not in ("iat", "nbf", "exp", "jti")}


def test_the_gateway_takes_the_in_process_token_and_refuses_a_changed_one(stack):
    org = stack.new_org()
    token = mint_token(stack.key, stack.kid, org.owner["id"], org=org.id, role="owner",
                       plan="enterprise")
    r = stack.call("GET", "gateway", "/v1/users/me", token=token)
    assert r.status_code == 200, r.text
    head, body, sig = token.split(".")
    claims = _decode(token)[1]
    claims["role"] = "viewer"
    forged = ".".join((head, base64.urlsafe_b64encode(
        json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode(), sig))
    r = stack.call("GET", "gateway", "/v1/users/me", token=forged)
    assert r.status_code == 401, r.text
    expired = mint_token(stack.key, stack.kid, org.owner["id"], org=org.id, role="owner",
                         ttl=-120)
    assert _decode(expired)[1]["exp"] < time.time()
    assert stack.call("GET", "gateway", "/v1/users/me", token=expired).status_code == 401


@pytest.mark.parametrize("claim", ["3abc", "truex", "NaN", "1.5x"])
def test_a_claim_value_that_is_only_partly_json_is_refused_not_guessed(stack, claim):
    """cJSON reads "3abc" as 3; rather than copy that, the in-process minter refuses such a
    value (no suite means it), as it refuses what the tool refuses: a claim without "=" or a
    name, and a ttl of 0."""
    with pytest.raises(ValueError):
        mint_token(stack.key, stack.kid, new_id("usr"), claims=[f"x={claim}"])
    for bad in (["novalue"], ["=3"]):
        with pytest.raises(ValueError):
            mint_token(stack.key, stack.kid, new_id("usr"), claims=bad)
    with pytest.raises(ValueError):
        mint_token(stack.key, stack.kid, new_id("usr"), ttl=0)
