"""notification service against an SMTP relay that fails on purpose (flaky_smtp.py): transient
refusals (451) are retried with backoff until the relay takes the message — which then arrives
once —, a permanent refusal (550) fails at once, and a relay that never takes it fails after
the last attempt; each final outcome is one event. The service is restarted pointing at the
flaky relay, so these tests are `serial`."""
import os
import socket
import subprocess
import sys

import pytest

from ntfkit import Ntf, invitation_params, mails, new_id, outcome_events, request, wait_mails

pytestmark = pytest.mark.serial

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def flaky(stack, tmp_path_factory):
    """The notification service of the stack, sending to a flaky relay for this module."""
    port = free_port()
    box = str(tmp_path_factory.mktemp("flaky-mail") / "maildir")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "flaky_smtp.py"), str(port), box],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    env_file = os.path.join(stack.run_dir, "env", "notification.env")
    with open(env_file, "w") as f:
        f.write(f"SMTP_PORT={port}\n")
    try:
        stack.stack_cmd("restart-service", "notification")
        yield box
    finally:
        os.unlink(env_file)
        stack.stack_cmd("restart-service", "notification")
        proc.terminate()
        proc.wait(timeout=10)


def test_transient_refusals_are_retried_until_delivered_once(stack, schemas, flaky):
    admin = Ntf(stack)
    uid, to = new_id("usr"), "greylisted+flaky2@example.com"
    to = to.replace("greylisted", f"g{new_id('x')[2:10].lower()}")
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=invitation_params())
    d = admin.wait_deliveries(uid, 1, timeout=60)[0]
    assert d["status"] == "delivered", d
    detail = admin.delivery(d["id"])
    assert [(a["n"], a["outcome"], a["code"]) for a in detail["attempts"]] == \
        [(1, "transient", 451), (2, "transient", 451), (3, "delivered", 250)]
    assert detail["attempt_count"] == 3 and detail["last_error"] is None
    got = wait_mails(flaky, to)
    assert len(got) == 1 and got[0]["Message-ID"].startswith(f"<{d['id']}@")
    events = outcome_events(stack, schemas, d["id"])
    assert [(t, e["attempts"]) for t, e in events] == [("com.techcorp.notification.delivered", 3)]


def test_permanent_refusal_fails_at_once(stack, schemas, flaky):
    admin = Ntf(stack)
    uid = new_id("usr")
    to = f"n{new_id('x')[2:10].lower()}+reject@example.com"
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=invitation_params())
    d = admin.wait_deliveries(uid, 1, timeout=60)[0]
    assert d["status"] == "failed" and d["failed_at"]
    assert "550" in d["last_error"]
    detail = admin.delivery(d["id"])
    assert [(a["outcome"], a["code"]) for a in detail["attempts"]] == [("permanent", 550)]
    events = outcome_events(stack, schemas, d["id"])
    assert [t for t, _ in events] == ["com.techcorp.notification.failed"]
    assert "550" in events[0][1]["reason"]
    assert mails(flaky, to) == []


def test_attempts_run_out(stack, schemas, flaky):
    admin = Ntf(stack)
    uid = new_id("usr")
    to = f"a{new_id('x')[2:10].lower()}+always@example.com"
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=invitation_params())
    d = admin.wait_deliveries(uid, 1, timeout=60)[0]
    assert d["status"] == "failed", d
    assert d["last_error"].startswith("attempts exhausted: smtp 451")
    detail = admin.delivery(d["id"])
    assert [a["outcome"] for a in detail["attempts"]] == ["transient"] * d["max_attempts"]
    # the attempts were spread out by the backoff: each started after the previous finished
    starts = [a["started_at"] for a in detail["attempts"]]
    assert starts == sorted(starts)
    events = outcome_events(stack, schemas, d["id"])
    assert [(t, e["attempts"]) for t, e in events] == \
        [("com.techcorp.notification.failed", d["max_attempts"])]
