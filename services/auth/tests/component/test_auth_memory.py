"""Argon2id hashes in a buffer of AUTH_ARGON2_M_KIB (19 MiB by default). Those buffers must go
back to the system after each hash: glibc's dynamic mmap threshold used to move them into
per-thread arenas, so every HTTP thread that ever hashed kept one (auth grew from 15 MiB to
~190 MiB under a burst of sign-ups and stayed there)."""
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from platform_client import new_password

ARGON2_BUFFER_MIB = 19

# measures auth's RSS: another suite's sign-ups at the same time would grow it too
pytestmark = pytest.mark.serial


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def test_argon2_buffers_are_returned_after_a_burst_of_hashes(stack):
    if os.environ.get("TC_SANITIZE") == "1":
        pytest.skip("the sanitizer allocator manages memory its own way; RSS proves nothing there")
    pid = stack.pid("auth")
    before = rss_mib(pid)

    def signup(_):
        body = {"org_name": f"Mem {secrets.token_hex(3)}",
                "email": f"mem-{secrets.token_hex(6)}@example.com",
                "password": new_password(), "name": "Mem Owner"}
        return requests.post(stack.url("auth", "/v1/auth/signup"), json=body, timeout=60).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(signup, range(32)))
    assert statuses == [201] * 32, statuses
    grown = rss_mib(pid) - before
    # Without the fix this is one buffer per HTTP thread (8 × 19 MiB); allow a little for
    # caches that fill during the burst, well under three buffers.
    assert grown < 3 * ARGON2_BUFFER_MIB, f"auth RSS grew by {grown:.1f} MiB over 32 sign-ups"
