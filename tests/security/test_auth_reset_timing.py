"""Security hardening, finding 6 (first part): a password-reset request must not tell by its
timing whether the address has an account (it took 1.78 ms for an existing account and 0.85 ms
otherwise, and one sample classified correctly 92% of the time).

auth now queues the request (the address's blind index) and answers: the same statements for
every address, known or not, and the lookup, the token and the mail are a background job's work
that no requester can time. Rather than comparing timings, which are noisy on a shared machine,
the test proves that structure: while auth's accounts table is locked by another transaction,
reset requests for a known and an unknown address are both answered at once (before the fix
both waited for the lock: the request looked the account up before answering), and the known
address's mail follows once the lock is gone."""
import os
import secrets
import subprocess
import time

import pytest

from authseckit import mails
from platform_client import eventually

LOCK_SECONDS = 4


def psql_args(stack, sql):
    args = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", os.path.join(stack.run_dir, "pg-sock"), "-p", str(stack.pg_port),
            "-U", "postgres", "-d", "tc_auth", "-c", sql]
    return (["runuser", "-u", "postgres", "--"] + args) if os.geteuid() == 0 else args


def lock_held(stack):
    return stack.sql("auth", "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                             " WHERE c.relname = 'accounts' AND l.mode = 'AccessExclusiveLock'"
                             " AND l.granted") == "1"


def reset_request(stack, email):
    t0 = time.monotonic()
    r = stack.auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": email})
    return r, time.monotonic() - t0


@pytest.mark.serial  # locks auth's accounts table for a few seconds
def test_reset_requests_answer_without_looking_the_address_up(stack, schemas):
    acct = stack.signup()
    unknown = f"nobody-{secrets.token_hex(6)}@example.com"
    locker = subprocess.Popen(psql_args(stack, "BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;"
                                               f" SELECT pg_sleep({LOCK_SECONDS}); COMMIT;"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        eventually(lambda: lock_held(stack), timeout=5, interval=0.05,
                   what="the lock on auth's accounts")
        t_lock = time.monotonic()
        known, t_known = reset_request(stack, acct.email)
        other, t_other = reset_request(stack, unknown)
        answered_within = time.monotonic() - t_lock
        still_locked = locker.poll() is None and lock_held(stack)
    finally:
        locker.wait(timeout=LOCK_SECONDS + 10)
    assert (known.status_code, known.json()) == (202, {"status": "accepted"})
    assert (other.status_code, other.json()) == (202, {"status": "accepted"})
    assert still_locked, (f"the answers waited for the accounts table ({answered_within:.1f} s;"
                          f" {t_known:.2f} s and {t_other:.2f} s)")
    # the work happens after the answer: the known address's mail comes once the lock is gone
    mail = mails(stack, schemas, acct.id, "password_reset")[-1]
    assert mail["to"]["user_id"] == acct.id
