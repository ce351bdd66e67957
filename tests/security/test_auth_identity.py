"""Security hardening, finding 4 (auth's side): accounts are per organization
(services/auth/README.md, "Identity model"). The same address may have an account in several
orgs; a login is for the one account its password fits, and when it fits accounts of several
orgs the answer (409 org_required) names them only once the password has been proven; org_id
picks one. A reset request mails every account of the address, each for its org. Before the
fix auth took the newest account of an address and ignored the others."""
from authseckit import address, invite_and_accept, mails
from platform_client import assert_error, jwt_claims, new_password


def login(stack, email, password, org_id=None):
    body = {"email": email, "password": password}
    if org_id:
        body["org_id"] = org_id
    return stack.auth_api("POST", "/v1/auth/login", json_body=body)


def two_orgs_one_address(stack, schemas, same_password):
    """An address invited into two orgs, accepted in each (one password, or one each)."""
    a, b = stack.signup(org_name="Alpha Works"), stack.signup(org_name="Beta Works")
    addr = address()
    first = invite_and_accept(stack, schemas, a, addr)
    second = invite_and_accept(stack, schemas, b, addr,
                               password=first.password if same_password else new_password())
    return a, b, first, second


def test_each_account_logs_in_with_its_own_password(stack, schemas):
    a, b, first, second = two_orgs_one_address(stack, schemas, same_password=False)
    r = login(stack, first.email, first.password)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["org"] == a.org_id
    r = login(stack, second.email, second.password)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["org"] == b.org_id
    r = assert_error(login(stack, first.email, new_password()), 401, "invalid_credentials")
    assert "orgs" not in r


def test_a_password_that_fits_several_orgs_asks_which_after_it_is_proven(stack, schemas):
    a, b, first, _ = two_orgs_one_address(stack, schemas, same_password=True)
    r = login(stack, first.email, first.password)
    err = assert_error(r, 409, "org_required")
    assert sorted((o["id"], o["name"]) for o in err["orgs"]) == sorted(
        [(a.org_id, "Alpha Works"), (b.org_id, "Beta Works")])
    # a wrong password learns nothing about where the address has accounts
    err = assert_error(login(stack, first.email, new_password()), 401, "invalid_credentials")
    assert "orgs" not in err
    # org_id picks the account
    for org in (a, b):
        r = login(stack, first.email, first.password, org_id=org.org_id)
        assert r.status_code == 200, r.text
        assert jwt_claims(r.json()["access_token"])["org"] == org.org_id
    # an org where the address has no account is like a wrong password
    other = stack.signup()
    assert_error(login(stack, first.email, first.password, org_id=other.org_id), 401,
                 "invalid_credentials")
    err = assert_error(login(stack, first.email, first.password, org_id="nope"), 422)
    assert [d["field"] for d in err["details"]] == ["org_id"]


def test_a_suspended_account_does_not_make_a_login_ambiguous(stack, schemas):
    a, b, first, second = two_orgs_one_address(stack, schemas, same_password=True)
    r = stack.call("PATCH", "user", f"/v1/users/{second.id}", token=b.access_token,
                   json_body={"status": "suspended"})
    assert r.status_code == 200, r.text
    from authseckit import wait_status_in_auth
    wait_status_in_auth(stack, second.id, "suspended")
    r = login(stack, first.email, first.password)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["org"] == a.org_id


def test_a_reset_request_mails_every_account_of_the_address(stack, schemas):
    a, b, first, second = two_orgs_one_address(stack, schemas, same_password=False)
    r = stack.auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": first.email})
    assert r.status_code == 202
    for acct, org in ((first, a), (second, b)):
        mail = mails(stack, schemas, acct.id, "password_reset")[-1]
        assert mail["org_id"] == org.org_id and mail["to"]["user_id"] == acct.id
    # each link resets its own account only
    token = mails(stack, schemas, second.id, "password_reset")[-1]["params"]["token"]
    fresh = new_password()
    r = stack.auth_api("POST", "/v1/auth/password/reset",
                       json_body={"token": token, "new_password": fresh})
    assert r.status_code == 204, r.text
    assert jwt_claims(login(stack, first.email, fresh).json()["access_token"])["org"] == b.org_id
    assert jwt_claims(login(stack, first.email, first.password)
                      .json()["access_token"])["org"] == a.org_id


def test_sign_up_with_an_address_of_another_org(stack, schemas):
    """Never 409 email_taken across orgs: the sign-up makes a new org with a new account."""
    owner = stack.signup()
    member = invite_and_accept(stack, schemas, owner, address())
    r = stack.auth_api("POST", "/v1/auth/signup",
                       json_body={"org_name": "Gamma Works", "email": member.email,
                                  "password": new_password(), "name": "Ivy"})
    assert r.status_code == 201, r.text
    assert r.json()["org"]["id"] != owner.org_id
