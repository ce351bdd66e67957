"""Processes dying under a steady write load through the gateway: kill -9 of each service
(nothing acknowledged is lost, every committed change reaches auth exactly once, callers get
answers in the platform format rather than hangs), and SIGTERM (in-flight requests finish,
the process exits 0 within the stack's grace period)."""
import json
import os
import secrets
import signal
import socket
import subprocess
import time

import pytest

import faultkit
from faultkit import Load, check_answers, during, verify_no_loss, written_after

# what the gateway answers when its upstream is gone (README: 502 broken response, 503
# refused or every target ejected, 504 timeout)
UPSTREAM_DEAD = {502, 503, 504}


@pytest.mark.parametrize("svc", faultkit.FLEET)
def test_kill_9_loses_nothing_acknowledged(stack, org, healed, svc):
    """The service dies mid-request with no chance to clean up; after its restart every
    acknowledged write is there, every committed change has its event, and auth's projection
    holds each user once. Only the gateway's own death may leave a caller without an HTTP
    answer, and only while it is down."""
    before = faultkit.pids(stack)

    def to_victim(c):  # auth serves the reads, user the writes, the gateway everything
        return svc == "gateway" or (c.kind == "read") == (svc == "auth")
    # through the gateway: users' writes, and reads of an auth route to see auth's outage
    load = Load(stack, org, tag=f"kill-{svc}", reads=["/v1/auth/sessions"]).start()
    try:
        load.wait_calls(20)
        t0 = time.time()
        os.kill(before[svc], signal.SIGKILL)
        assert faultkit.wait_gone(before[svc], 10)
        # the load keeps going against the dead service for a moment
        load.wait_calls(8, ok=False)
        # and a call that needs the dead service was sent while it was down: auth's reads come
        # from one thread, which can spend the whole outage waiting out the gateway's retry of a
        # read sent just before the kill while the writes go on
        faultkit.eventually(lambda: any(to_victim(c) and c.t_send >= t0 for c in list(load.calls)),
                            what=f"a request to the dead {svc}")
        stack.stack_cmd("restart-service", svc)
        t1 = time.time()
        load.wait_calls(20)
        faultkit.eventually(lambda: any(c.ok and c.t_send > t1 and to_victim(c)
                                        for c in list(load.calls)),
                            what=f"a request answered by the restarted {svc}")
    finally:
        load.stop()
    after = faultkit.pids(stack)
    assert after[svc] != before[svc]
    assert {s: p for s, p in after.items() if s != svc} == \
        {s: p for s, p in before.items() if s != svc}, "only the killed service restarted"
    for s in faultkit.FLEET:
        stack.wait_ready(s)

    check_answers([c for c in load.calls if c.t_done < t0], allowed=set())  # all was well
    outage = load.in_window(t0, t1)
    assert outage, "no request was made while the service was down"
    if svc == "gateway":
        # nobody answers the port while the gateway is down: refused, or reset for the
        # requests it was handling when it died
        check_answers(load.calls, allowed=set(),
                      conn_errors={"refused": during(t0, t1), "reset": during(t0, t1)})
        assert any(c.error == "refused" for c in outage)
    else:
        check_answers(load.calls, allowed=UPSTREAM_DEAD)
        # issue 14: the gateway retries a refused connection for up to a second, so a call
        # made while the service was down either waited it out (2xx, after the restart) or
        # was reported as the dead upstream (checked just above)
        assert any(to_victim(c) for c in outage), "no request to the service while it was down"
        assert any(c.ok and c.t_send > t1 for c in load.calls if to_victim(c)), \
            "no request reached the restarted service"
    if svc == "auth":
        # auth is not on the write path: users' writes never noticed it was gone
        assert all(c.ok for c in load.calls if c.kind != "read"), \
            [str(c) for c in load.calls if c.kind != "read" and not c.ok][:5]
    verify_no_loss(stack, load)


# The share of requests answered 2xx while a service is killed twice in quick succession and
# restarted each time (issue 14: a restart is not an outage) is printed, not asserted: the
# gateway waits out a refused connection for up to connect_retry_ms and routes to the restarted
# process within about one health-check interval of /ready, so the share depends on how fast
# the machine restarts a process (with 7 to 14 calls in the window one call moves it by 7 to
# 14 points: 62 %, 71 % and 85 % were all seen here on a busy machine). What the test holds is
# what does not depend on speed: the restarts are served across (some call made during them is
# answered 2xx), every failure is a dead upstream's 502/503/504 in the platform format, every
# 503 says when to come back, and nothing acknowledged is lost.


@pytest.mark.parametrize("svc", [s for s in faultkit.FLEET if s in ("user", "auth")])
def test_kill_9_twice_quickly_keeps_serving(stack, org, healed, svc):
    """kill -9, restart, ready, kill -9 again, restart: the share of the load's requests to
    that service answered 2xx during the two restarts is reported and held to a floor; every
    503 carries Retry-After, every error is in the platform format, and nothing acknowledged
    is lost."""
    def to_victim(c):  # auth serves the reads, user the writes
        return (c.kind == "read") == (svc == "auth")
    load = Load(stack, org, tag=f"flap-{svc}", reads=["/v1/auth/sessions"]).start()
    try:
        load.wait_calls(20)
        t0 = time.time()
        for _ in range(2):
            pid = faultkit.pids(stack)[svc]
            os.kill(pid, signal.SIGKILL)
            assert faultkit.wait_gone(pid, 10)
            stack.stack_cmd("restart-service", svc)  # returns once it is ready
        t1 = time.time()
        load.wait_calls(20)
    finally:
        load.stop()
    for s in faultkit.FLEET:
        stack.wait_ready(s)
    window = [c for c in load.in_window(t0, t1) if to_victim(c)]
    assert window, "no request was made during the restarts"
    share = sum(c.ok for c in window) / len(window)
    print(f"\n{svc}: {sum(c.ok for c in window)}/{len(window)} requests answered 2xx "
          f"({share:.0%}) during two quick restarts over {t1 - t0:.1f} s")
    # 502 only for a request the kill cut after it was delivered (never retried: it may have
    # been applied)
    check_answers(load.calls, allowed=UPSTREAM_DEAD)
    for c in load.calls:
        if c.status == 503:
            assert c.retry_after, str(c)
    assert share > 0, "no request made during the restarts was answered 2xx"
    verify_no_loss(stack, load)


def graceful_stop(stack, org, healed, svc, direct):
    """Starts svc as our child, runs the load (through the gateway, and when `direct` also
    straight at svc's port), SIGTERMs it mid-load, and returns (load, direct load, t_sigterm,
    exit status)."""
    faultkit.stop_stack_service(stack, svc)
    proc = faultkit.start_own(stack, svc)
    healed["proc"] = proc
    load = Load(stack, org, threads=3, tag=f"term-{svc}")
    side = Load(stack, stack.new_org(), threads=2, tag=f"term-{svc}-direct",
                base=f"http://127.0.0.1:{stack.port(svc)}") if direct else None
    loads = [x for x in (load, side) if x]
    for x in loads:
        x.start()
    try:
        for x in loads:
            x.wait_calls(15)
        (side or load).wait_in_flight(2)
        t_sig = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=faultkit.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None  # still running after the grace period (heal kills it)
        time.sleep(0.3)  # a few requests against the stopped service
    finally:
        for x in loads:
            x.stop()
    stack.stack_cmd("restart-service", svc)
    return load, side, t_sig, status


def in_flight_at(calls, t):
    """Requests completely written before t and answered (or not) after it."""
    return [c for c in calls if c.t_written is not None and c.t_written < t < c.t_done]


def written_before(calls, t):
    return [c for c in calls if c.t_written is not None and c.t_written < t]


def test_sigterm_user_finishes_in_flight_requests_and_exits_0(stack, org, healed):
    """SIGTERM stops accepting, finishes what was sent before it, exits 0 within the grace
    period. A caller of the service itself sees answers for everything it sent before the
    signal, and afterwards at worst a refused connection; behind the gateway, a request
    never reaches the stopping service half-way (502/504), it is refused before it is sent
    (503)."""
    before = faultkit.pids(stack)
    load, side, t_sig, status = graceful_stop(stack, org, healed, "user", direct=True)
    assert status == 0, f"user exited with {status} (None: still running after " \
                        f"{faultkit.STOP_TIMEOUT} s)"
    assert in_flight_at(side.calls + load.calls, t_sig), "nothing was in flight at SIGTERM"
    # every request the service had received before the signal completed, with 2xx
    check_answers(written_before(side.calls, t_sig), allowed=set())
    # later ones found the port closed, or (written into a connection the service had
    # already closed) never reached it
    later = written_after(t_sig)
    check_answers(side.calls, allowed={503}, conn_errors={"refused": later, "reset": later})
    check_answers(load.calls, allowed={503})
    assert all(c.body["error"]["code"] in ("upstream_unavailable", "no_healthy_upstream",
                                           "service_unavailable")
               for c in load.calls if c.status == 503)
    after = faultkit.pids(stack)
    assert after["auth"] == before["auth"] and after["gateway"] == before["gateway"]
    for s in faultkit.FLEET:
        stack.wait_ready(s)
    verify_no_loss(stack, load)
    verify_no_loss(stack, side)


def test_sigterm_gateway_finishes_in_flight_requests_and_exits_0(stack, org, healed):
    """The gateway drains too: everything sent to it before SIGTERM is answered (2xx, the
    user service is fine), later connections are refused, and it exits 0 in time."""
    load, _, t_sig, status = graceful_stop(stack, org, healed, "gateway", direct=False)
    assert status == 0, f"gateway exited with {status} (None: still running after " \
                        f"{faultkit.STOP_TIMEOUT} s)"
    assert in_flight_at(load.calls, t_sig), "nothing was in flight at SIGTERM"
    check_answers(written_before(load.calls, t_sig), allowed=set())
    later = written_after(t_sig)
    check_answers(load.calls, allowed=set(), conn_errors={"refused": later, "reset": later})
    for s in faultkit.FLEET:
        stack.wait_ready(s)
    verify_no_loss(stack, load)


def test_sigterm_gateway_answers_a_request_it_was_still_receiving(stack, org, healed):
    """A request whose head was part-way in when SIGTERM came is in flight as much as one
    being proxied: the gateway reads the rest, answers it (closing the connection after) and
    only then exits — it used to close such a connection as if it were idle."""
    faultkit.stop_stack_service(stack, "gateway")
    proc = faultkit.start_own(stack, "gateway")
    healed["proc"] = proc
    token = faultkit.mint(stack, org.owner["id"], org.id, "owner")
    body = json.dumps({"email": f"slow-{secrets.token_hex(6)}@example.com",
                       "name": "Sid Slow", "role": "viewer"}).encode()
    head = (f"POST /v1/users HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    port = stack.port("gateway")
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(head[:30])  # the request line, not even complete
        time.sleep(0.3)  # let the gateway read what has arrived
        proc.send_signal(signal.SIGTERM)

        def refusing():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return False
            except OSError:
                return True
        faultkit.eventually(refusing, timeout=10, what="the gateway to stop accepting")
        s.sendall(head[30:] + body)
        raw = read_all(s)
    finally:
        s.close()
    assert raw.startswith(b"HTTP/1.1 201 "), raw[:300]
    assert b"\r\nconnection: close\r\n" in raw.lower().split(b"\r\n\r\n")[0] + b"\r\n"
    assert proc.wait(timeout=faultkit.STOP_TIMEOUT) == 0
    stack.stack_cmd("restart-service", "gateway")
    stack.wait_ready("gateway")


def read_all(s):
    """Everything the peer sends until it closes (or a reset: what came before it)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
