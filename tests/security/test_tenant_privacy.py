"""Security hardening, finding 4: an invitation answers the same whether or not the address has
an account in another organization. Accounts are per organization (services/user/README.md):
the same address may be a member of several orgs, each with its own account."""
import secrets

from platform_client import assert_error


def invite(stack, org, address):
    return stack.call("POST", "user", "/v1/users", token=org.owner_token,
                      json_body={"email": address, "name": "Someone", "role": "viewer"})


def shape(r):
    """What a caller learns from an answer, beyond the ids and times it was given."""
    body = r.json()
    return r.status_code, sorted(body), body.get("status"), body.get("role")


def test_an_invitation_does_not_tell_who_is_a_customer_elsewhere(stack):
    a, b = stack.new_org(), stack.new_org()
    known = f"known-{secrets.token_hex(4)}@example.com"
    unknown = f"unknown-{secrets.token_hex(4)}@example.com"
    assert invite(stack, a, known).status_code == 201
    r_known, r_unknown = invite(stack, b, known), invite(stack, b, unknown)
    assert r_known.status_code == 201, r_known.text
    assert shape(r_known) == shape(r_unknown)
    # within one org an address is still one member: its own admins may know that
    assert_error(invite(stack, b, known.upper()), 409, "email_taken")


def test_signup_with_an_address_that_has_an_account_elsewhere(stack):
    first = stack.signup()
    second = stack.signup(email=first.email)
    assert second.org_id != first.org_id and second.id != first.id
