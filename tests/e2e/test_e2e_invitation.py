"""End to end through the gateway's public port, with the email in the middle: an admin
invites a user → user emits user.created → auth creates the invitation and asks for it on
notification-events → the notification service renders and sends it over SMTP → the message
lands in the stack's SMTP sink with a working link → the invitee accepts it through auth and
is logged in. Nothing is read around the gateway but the mailbox, as a person would."""
import email
import email.policy
import glob
import os
import re
import secrets
import time
from urllib.parse import parse_qs, urlparse

from e2ekit import Client
from platform_client import jwt_claims, new_password


def inbox_of(stack, address, timeout=60):
    """The messages to `address` in the stack's SMTP sink (a Maildir), once one arrived."""
    deadline = time.time() + timeout
    while True:
        got = []
        for path in glob.glob(os.path.join(stack.run_dir, "mail", "new", "*")):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            if any(a.addr_spec == address for a in msg["To"].addresses):
                got.append(msg)
        if got or time.time() > deadline:
            return got
        time.sleep(0.25)


def test_invited_user_gets_the_mail_and_joins(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.71")
    invitee = Client(stack, contracts, "203.0.113.72")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Mail Journey", "email": f"e2e-mail-owner-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Olive Owner"})
    org_id, owner_token = r.json()["org"]["id"], r.json()["access_token"]

    address = f"e2e-invitee-{secrets.token_hex(5)}@example.com"
    r = owner.call("POST", "/v1/users", token=owner_token, expect=201,
                   json_body={"email": address, "name": "Ivy Invitee", "role": "editor"})
    user_id = r.json()["id"]
    assert r.json()["status"] == "invited"

    mails = inbox_of(stack, address)
    assert len(mails) == 1, f"{len(mails)} invitation mails to {address}"
    msg = mails[0]
    assert msg["Subject"] == "You're invited to join TechCorp"
    assert msg["To"].addresses[0].display_name == "Ivy Invitee"
    assert re.fullmatch(r"<dlv_[0-9A-HJKMNP-TV-Z]{26}@[^<>@\s]+>", msg["Message-ID"])
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    url = re.search(r"https?://\S+/invitations/accept\?token=\S+", text).group(0)
    token = parse_qs(urlparse(url).query)["token"][0]
    assert token.startswith("inv_")
    assert token in html  # the HTML part carries the same link

    password = new_password()
    r = invitee.call("POST", "/v1/auth/invitations/accept", expect=200,
                     json_body={"token": token, "password": password})
    grant = r.json()
    claims = jwt_claims(grant["access_token"])
    assert (claims["sub"], claims["org"], claims["role"]) == (user_id, org_id, "editor")
    me = invitee.call("GET", "/v1/users/me", token=grant["access_token"], expect=200).json()
    assert (me["id"], me["status"]) == (user_id, "active")
    # the link works once
    invitee.call("POST", "/v1/auth/invitations/accept", expect=400, code="invalid_token",
                 json_body={"token": token, "password": new_password()})
    # and the invitee can log in with the password they chose
    invitee.call("POST", "/v1/auth/login", expect=200,
                 json_body={"email": address, "password": password})

    # the org's admin sees what happened to the mail
    r = owner.call("GET", f"/v1/notifications/deliveries?recipient_id={user_id}",
                   token=owner_token, expect=200)
    [d] = r.json()["data"]
    assert (d["kind"], d["channel"], d["status"]) == ("invitation", "email", "delivered")
    assert msg["Message-ID"].startswith(f"<{d['id']}@")
