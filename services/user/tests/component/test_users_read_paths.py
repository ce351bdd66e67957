"""The two read paths of GET /v1/users/{id} and /v1/users/me give the same answers: the
pipelined reads (the default) and the pooled connection (DB_PIPE_CONNS=0), run here as a
second user process on the same database."""
import os
import subprocess
import time

import pytest
import requests

from platform_client import assert_error, new_id

POOLED_OFFSET = 200


@pytest.fixture(scope="module")
def pooled(stack):
    """A user service process with pipelined reads turned off."""
    env = dict(stack.service_env("user"))
    port = stack.port("user") + POOLED_OFFSET
    env.update(PORT=str(port), ADMIN_PORT=str(port + 1000), DB_PIPE_CONNS="0")
    log = open(os.path.join(stack.run_dir, "logs", "user-pooled.log"), "w")
    proc = subprocess.Popen([os.path.join(stack.bin, "user")], env=env, cwd=stack.root,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port + 1000}/ready", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "the pooled-read user process never became ready"
            assert proc.poll() is None, "the pooled-read user process exited"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        log.close()


def both(stack, pooled, path, token):
    piped = stack.call("GET", "user", path, token=token)
    direct = requests.get(pooled + path, headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    return piped, direct


def test_reads_agree(stack, org, pooled):
    invited = org.invite("editor")
    for path in (f"/v1/users/{invited['id']}", f"/v1/users/{org.owner['id']}", "/v1/users/me"):
        piped, direct = both(stack, pooled, path, org.owner_token)
        assert piped.status_code == direct.status_code == 200, (piped.text, direct.text)
        assert piped.json() == direct.json()


def test_errors_agree(stack, org, pooled):
    other = stack.new_org()
    stranger = other.invite("viewer")
    for path in (f"/v1/users/{new_id('usr')}", f"/v1/users/{stranger['id']}",
                 "/v1/users/not-an-id"):
        piped, direct = both(stack, pooled, path, org.owner_token)
        assert_error(piped, 404, "not_found")
        assert_error(direct, 404, "not_found")


def test_many_concurrent_reads_each_get_their_own_row(stack, org):
    """Pipelined reads from many connections at once: every answer is the row asked for."""
    from concurrent.futures import ThreadPoolExecutor
    users = [org.invite("viewer") for _ in range(12)]

    def read(i):
        u = users[i % len(users)]
        r = stack.call("GET", "user", f"/v1/users/{u['id']}", token=org.owner_token)
        return u, r

    with ThreadPoolExecutor(16) as pool:
        for u, r in pool.map(read, range(240)):
            assert r.status_code == 200, r.text
            assert r.json()["id"] == u["id"] and r.json()["email"] == u["email"]
