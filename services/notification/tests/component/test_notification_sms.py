"""SMS (the `sms` channel) through a provider with Twilio's Messages API: sms_provider.py, a
stand-in implementing that documented API (form-encoded POST with Basic credentials, the
list of messages, Twilio's error bodies and test numbers). The recipient's number is the one
user-events carry (their profile's phone), never the request's. The service is restarted
pointing at the provider for this module, so these tests are `serial`."""
import os
import signal
import time

import pytest

from ntfkit import Ntf, SmsProvider, outcome_events, person_with_phone, produce, request
from platform_client import eventually

pytestmark = pytest.mark.serial

FROM = SmsProvider.FROM


@pytest.fixture(scope="module")
def provider(stack):
    """The stack's notification service, sending SMS through the stand-in for this module."""
    p = SmsProvider(stack)
    yield p
    p.stop()


def person(stack, admin, phone):
    return person_with_phone(stack, admin.org_id, phone)


def ask(stack, admin, uid, title="Build 42 failed", body="See the run for details.\n"):
    return request(stack, admin.org_id, uid, "mention", channel="sms", name=None,
                   params={"title": title, "body": body})


def settled(admin, uid):
    d = admin.wait_deliveries(uid, 1, timeout=60)
    assert d, "no delivery"
    return d[0]


def test_an_sms_reaches_the_number_of_the_profile_once(stack, schemas, provider):
    admin = Ntf(stack)
    uid = person(stack, admin, "+44 20 7946 0958")
    ask(stack, admin, uid, body="Déploiement « prod » échoué — voir les journaux ☕\n")
    d = settled(admin, uid)
    assert (d["channel"], d["status"]) == ("sms", "delivered"), d
    got = provider.messages("+442079460958")
    assert len(got) == 1, got
    assert got[0]["body"] == "Déploiement « prod » échoué — voir les journaux ☕"
    assert got[0]["from"] == FROM
    events = outcome_events(stack, schemas, d["id"])
    assert [(t, e["channel"]) for t, e in events] == \
        [("com.techcorp.notification.delivered", "sms")]
    detail = admin.delivery(d["id"])
    assert [(a["outcome"], a["code"]) for a in detail["attempts"]] == [("delivered", 201)]


def test_without_a_usable_number_the_sms_fails_with_the_reason(stack, schemas, provider):
    admin = Ntf(stack)
    for phone, reason in [(None, "no_phone"), ("020 7946 0958", "invalid_phone")]:
        uid = person(stack, admin, phone)
        ask(stack, admin, uid)
        d = settled(admin, uid)
        assert (d["status"], d["last_error"]) == ("failed", reason), d
        events = outcome_events(stack, schemas, d["id"])
        assert [e["reason"] for _, e in events] == [reason]


def test_a_busy_provider_is_asked_again_until_it_takes_the_message(stack, provider):
    admin = Ntf(stack)
    uid = person(stack, admin, "+1 500 555 0702")  # 503 twice, then accepted
    ask(stack, admin, uid)
    d = settled(admin, uid)
    assert d["status"] == "delivered", d
    detail = admin.delivery(d["id"])
    assert [(a["outcome"], a["code"]) for a in detail["attempts"]] == \
        [("transient", 503), ("transient", 503), ("delivered", 201)]
    assert len(provider.messages("+15005550702")) == 1
    # 429 with Retry-After: waited for, then taken
    uid = person(stack, admin, "+15005550801")
    ask(stack, admin, uid)
    d = settled(admin, uid)
    assert [(a["outcome"], a["code"]) for a in admin.delivery(d["id"])["attempts"]] == \
        [("transient", 429), ("delivered", 201)]


def test_a_number_the_provider_refuses_fails_at_once(stack, schemas, provider):
    admin = Ntf(stack)
    uid = person(stack, admin, "+15005550001")  # Twilio's test number for an invalid 'To'
    ask(stack, admin, uid)
    d = settled(admin, uid)
    assert d["status"] == "failed", d
    attempts = admin.delivery(d["id"])["attempts"]
    assert [(a["outcome"], a["code"]) for a in attempts] == [("permanent", 400)]
    assert "21211" in d["last_error"], d
    assert provider.messages("+15005550001") == []


def test_opted_out_and_throttled_sms_are_not_sent(stack, provider):
    admin = Ntf(stack)
    uid = person(stack, admin, "+15005550100")
    # the user turned SMS off (user service preferences, via user-events)
    produce(stack, "user-events", uid, "com.techcorp.user.preferences_updated", f"/users/{uid}",
            {"id": uid, "org_id": admin.org_id, "version": 2,
             "preferences": {"notifications": {"sms": False}}})
    eventually(lambda: stack.sql("notification", "SELECT prefs_version FROM recipients"
                                                 f" WHERE user_id = '{uid}'") == "2",
               timeout=30, interval=0.2, what="the preferences in the read model")
    ask(stack, admin, uid)
    d = settled(admin, uid)
    assert (d["status"], d["last_error"]) == ("suppressed", "opted_out"), d
    # the org allows one SMS an hour per person
    r = admin("PUT", "/v1/notifications/org-preferences",
              json_body={"categories": {}, "throttle": {"sms": 1}})
    assert r.status_code == 200, r.text
    other = person(stack, admin, "+15005550101")
    ask(stack, admin, other, title="one")
    ask(stack, admin, other, title="two")
    got = admin.wait_deliveries(other, 2, timeout=60)
    assert sorted((x["status"], x["last_error"]) for x in got) == \
        [("delivered", None), ("suppressed", "throttled")]
    assert len(provider.messages("+15005550101")) == 1


def test_a_crash_after_the_provider_took_it_does_not_send_it_twice(stack, provider):
    """The provider takes the message and holds its answer; the service is killed meanwhile.
    Started again, once the claim's lease runs out the attempt is in doubt: the service asks
    the provider's list, finds the message and records it delivered instead of sending again."""
    admin = Ntf(stack)
    uid = person(stack, admin, "+15005550905")  # the answer held 5 s
    ask(stack, admin, uid)
    deadline = time.time() + 30
    while not provider.messages("+15005550905"):
        assert time.time() < deadline, "the message never reached the provider"
        time.sleep(0.05)
    os.kill(stack.pid("notification"), signal.SIGKILL)
    stack.stack_cmd("restart-service", "notification")
    d = settled(admin, uid)
    assert d["status"] == "delivered", d
    attempts = admin.delivery(d["id"])["attempts"]
    assert [a["outcome"] for a in attempts] == ["in_doubt", "delivered"], attempts
    # the delivery is final only after any second send was answered: one more second for
    # a straggler, none expected
    time.sleep(1)
    got = provider.messages("+15005550905")
    assert len(got) == 1, got
