"""Property: every malformed or oversized request the gateway receives gets a complete answer
within a bound, the connection is then closed or still usable, and none of them costs a
healthy upstream its place in rotation (issue 24, finding 1).

Hundreds of requests are generated from a seed (TC_PROPERTY_SEED to replay one run; the seed
is in every failure message) and sent on raw sockets, several at a time: long targets, many
query parameters, many or huge header fields, cookie floods, heads too large to forward, bad
framing, bad chunking, bad methods and versions, control characters, bodies that never
arrive, and random mutations of a valid head. The known-bad ones must be refused with a 4xx
(or 501/505 for what HTTP/1.1 lets a server decline) in the platform error format, those
refused on their head without reaching any upstream; the random ones must be answered without
a gateway failure (no 502/503/504). Afterwards every breaker is closed and the real services
answer through the gateway."""
import concurrent.futures
import json
import os
import random
import re
import socket
import time
import uuid

from seckit import fresh_client_ip
from tc_gateway_fixtures import TRUSTED_PROXY, read_responses, status_of

BOUND_S = 5.0  # generous: a body that never arrives is given up after t-slow's 1 s timeout
CASES = int(os.environ.get("TC_PROPERTY_CASES", "400"))
REFUSED_MARK = "/t/echo/refused-"


def _seed():
    return int(os.environ.get("TC_PROPERTY_SEED") or random.SystemRandom().randrange(1 << 30))


# ---------------------------------------------------------------------- generators
# Each returns (bytes to send, statuses allowed, refused on its head: nothing forwarded).

def _head(rng, path, extra=b"", method=b"GET", version=b"HTTP/1.1"):
    return method + b" " + path + b" " + version + b"\r\nHost: gw.test\r\n" + extra + b"\r\n"


def _mark(i):
    return f"{REFUSED_MARK}{i}".encode()


def long_target(rng, i):
    pad = b"a" * rng.randint(8200, 40000)
    return _head(rng, _mark(i) + b"?q=" + pad), {414}, True


def many_params(rng, i):
    """More than 32, within the 8 KiB request line (longer ones are 414s, above)."""
    if rng.random() < 0.7:
        q = b"&".join(b"b%d=" % k for k in range(rng.randint(33, 1100)))
    else:
        q = b"a=1" + b"&" * rng.randint(32, 8000)
    return _head(rng, _mark(i) + b"?" + q), {400}, True


def many_fields(rng, i):
    n = rng.randint(101, 600)
    return _head(rng, _mark(i), b"".join(b"X-F%d: v\r\n" % k for k in range(n))), {431}, True


def huge_field(rng, i):
    size = rng.randint(16400, 120000)
    return _head(rng, _mark(i), b"X-Huge: " + b"h" * size + b"\r\n"), {431}, True


def huge_block(rng, i):
    n = rng.randint(20, 99)
    each = 17000 // n + rng.randint(1, 300)
    fields = b"".join(b"X-B%d: %s\r\n" % (k, b"b" * each) for k in range(n))
    return _head(rng, _mark(i), fields), {431}, True


def cookie_flood(rng, i):
    n = rng.randint(101, 3000)
    sep = rng.choice([b"; ", b";", b", "])
    return _head(rng, _mark(i), b"Cookie: " + sep.join(b"c%d=1" % k for k in range(n)) +
                 b"\r\n"), {431}, True


def too_large_to_forward(rng, i):
    """Within the client-side limits, over what a service takes once the gateway's own
    forwarding headers are added."""
    if rng.random() < 0.5:
        fields = b"".join(b"X-N%d: v\r\n" % k for k in range(rng.randint(96, 99)))
    else:
        fields = b"".join(b"X-S%02d: %s\r\n" % (k, b"s" * 1000) for k in range(16))
        fields += b"X-Pad: " + b"p" * (16320 - len(fields) - 18) + b"\r\n"
    return _head(rng, _mark(i), fields), {431}, True


BAD_FRAMING = [
    (b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", {400}),
    (b"Content-Length: 3\r\nContent-Length: 4\r\n", {400}),
    (b"Content-Length: -1\r\n", {400}),
    (b"Content-Length: 0x10\r\n", {400}),
    (b"Content-Length: 99999999999999999999\r\n", {400}),
    (b"Transfer-Encoding: gzip, chunked\r\n", {501}),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", {400}),
    (b"Transfer-Encoding : chunked\r\n", {400}),
    (b"Expect: 200-ok\r\n", {417}),
    (b"X-Fold: a\r\n b\r\n", {400}),
    (b"X-Bare: a\rb\r\n", {400}),
    (b"X-Nul: a\x00b\r\n", {400}),
    (b"X-Ctl: a\x01b\r\n", {400}),
    (b"Bad Name: x\r\n", {400}),
    (b": empty-name\r\n", {400}),
    (b"Host: second\r\n", {400}),
]


def bad_framing(rng, i):
    extra, want = rng.choice(BAD_FRAMING)
    return _head(rng, _mark(i), extra, method=b"POST"), want, True


BAD_LINES = [  # (request line with {} for the target, answer)
    (b"G@T {} HTTP/1.1", 400),             # not a method token
    (b"GET {} HTTP/1.1 extra", 400),       # three parts only
    (b"GET {}", 400),                      # no version
    (b"GET {} HTTP/3.0", 505),
    (b"GET {} HTTP/1.x", 400),
    (b"GET http://evil.example{} HTTP/1.1", 400),  # absolute-form is not served
    (b"GET {}/../../etc/passwd HTTP/1.1", 400),    # dot segments
]


def bad_request_line(rng, i):
    if rng.random() < 0.15:
        return b"GET " + _mark(i) + b" HTTP/1.1\r\n\r\n", {400}, True  # no Host
    line, status = rng.choice(BAD_LINES)
    return line.replace(b"{}", _mark(i)) + b"\r\nHost: x\r\n\r\n", {status}, True


def unknown_method(rng, i):
    method = rng.choice([b"FOO", b"PROPFIND", b"TRACE", b"CONNECT", b"BREW"])
    return _head(rng, _mark(i), method=method), {405}, True


def bad_chunking(rng, i):
    body = rng.choice([b"zz\r\n", b"5\r\nabc\r\n0\r\n\r\n", b"5\r\nabcdeXX0\r\n\r\n",
                       b"-1\r\n", b"fffffffffffffffffff\r\n", b"5;\x01ext\r\nabcde\r\n0\r\n\r\n",
                       b"0\r\n bad: fold\r\n\r\n", b"5\r\nabcde\n0\r\n\r\n"])
    head = b"POST /t/slow/chunk-%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % i
    return head + body, {400}, False


def body_never_arrives(rng, i):
    promised = rng.randint(10, 5000)
    sent = rng.randint(0, promised - 1)
    if rng.random() < 0.5:
        head = b"POST /t/slow/short-%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (
            i, promised)
        return head + b"x" * sent, {408}, False
    head = b"PUT /t/slow/short-%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % i
    return head + b"%x\r\n" % promised + b"y" * sent, {408}, False


def probe_real_services(rng, i):
    """The issue's probe, against the real auth and user services: from the trusted proxy,
    each from its own address (so per-IP limits never answer first)."""
    path = rng.choice([b"/.well-known/jwks.json", b"/v1/users", b"/v1/auth/login"])
    q = b"&".join(b"b%d=" % k for k in range(rng.randint(33, 800)))
    extra = b"X-Forwarded-For: " + fresh_client_ip().encode() + b"\r\n"
    return _head(rng, path + b"?" + q, extra), {400}, True


def mutated(rng, i):
    """A valid head with random damage inside its header section (its end kept intact, so
    the head is complete); anything may come of it but a gateway failure or a hang."""
    base = bytearray(b"Accept: */*\r\nX-Request-Id: prop-%d\r\nContent-Type: application/json"
                     b"\r\nUser-Agent: property/1\r\nX-Thing: value\r\n" % i)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randrange(len(base))
        op = rng.randrange(4)
        junk = bytes([rng.choice(b"\r\n\x00\t :;,\x7f\xff=&%?") if rng.random() < 0.6 else
                      rng.randrange(256)])
        if op == 0:
            base[pos:pos + 1] = junk
        elif op == 1:
            base[pos:pos] = junk * rng.randint(1, 3)
        elif op == 2:
            del base[pos]
        else:
            base[pos:pos] = rng.choice([b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n",
                                        b"Expect: 100-continue\r\n", b"Connection: close\r\n",
                                        b"\r\n"])
    return b"GET /t/slow/mut-" + str(i).encode() + b" HTTP/1.1\r\nHost: x\r\n" + bytes(base) + \
        b"\r\n", None, False


GENERATORS = [long_target, many_params, many_fields, huge_field, huge_block, cookie_flood,
              too_large_to_forward, bad_framing, bad_request_line, unknown_method, bad_chunking,
              body_never_arrives, probe_real_services, mutated]


# ---------------------------------------------------------------------- one exchange

def exchange(port, data, source=None, check_after=True):
    """Sends data (the server may answer and close before taking all of it), reads the first
    answer; returns (raw answer, seconds, connection state after it: "closed" or "usable",
    or "unchecked" when the rest of data may be a pipelined request of its own)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=BOUND_S + 1,
                                 source_address=(source, 0) if source else None)
    try:
        t0 = time.time()
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we were done: the answer is still readable
        raw = read_responses(s)
        elapsed = time.time() - t0
        if b"connection: close" in raw.partition(b"\r\n\r\n")[0].lower():
            try:
                rest = s.recv(65536)
                while rest:
                    rest = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                pass
            return raw, elapsed, "closed"
        if not check_after:
            return raw, elapsed, "unchecked"
        s.sendall(b"GET /t/echo/followup HTTP/1.1\r\nHost: x\r\n\r\n")
        follow = read_responses(s)
        return raw, elapsed, "usable" if status_of(follow) == 200 else f"broken: {follow[:200]!r}"
    finally:
        s.close()


def platform_error(raw):
    try:
        err = json.loads(raw.partition(b"\r\n\r\n")[2])["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return err if {"code", "message", "request_id", "docs_url"} <= set(err) else None


def test_every_malformed_or_oversized_request_is_answered_within_a_bound(gw, ups, stack):
    seed = _seed()
    rng = random.Random(seed)
    cases = []
    for i in range(CASES):
        gen = GENERATORS[i % len(GENERATORS)]
        data, want, head_refused = gen(rng, i)
        source = TRUSTED_PROXY if gen is probe_real_services else None
        cases.append((i, gen.__name__, data, want, head_refused, source))

    def run(case):
        i, name, data, want, head_refused, source = case
        try:
            return case, exchange(gw.port, data, source, check_after=want is not None), None
        except OSError as e:
            return case, None, e

    problems = []
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        for case, result, error in pool.map(run, cases):
            i, name, data, want, head_refused, _ = case
            where = f"seed {seed}, case {i} ({name}): {data[:120]!r}"
            if error:
                problems.append(f"{where}: {error!r}")
                continue
            raw, elapsed, after = result
            status = status_of(raw)
            if status is None:
                problems.append(f"{where}: no complete answer after {elapsed:.1f} s: {raw[:200]!r}")
                continue
            if elapsed > BOUND_S:
                problems.append(f"{where}: answered after {elapsed:.1f} s")
            if want is None:
                if status in (502, 503, 504) or status >= 500 and status not in (501, 505):
                    problems.append(f"{where}: {status} (a gateway or upstream failure)")
            else:
                if status not in want:
                    problems.append(f"{where}: {status}, want {sorted(want)}: {raw[:300]!r}")
                elif not platform_error(raw):
                    problems.append(f"{where}: not in the platform error format: {raw[:300]!r}")
            if after not in ("closed", "usable", "unchecked"):
                problems.append(f"{where}: connection after the answer: {after}")
    assert not problems, f"{len(problems)} of {len(cases)} cases:\n" + "\n".join(problems[:25])

    # nothing refused on its head reached an upstream
    for name, u in ups.items():
        leaked = [r["path"] for r in u.seen(REFUSED_MARK)]
        assert not leaked, (seed, name, leaked[:5])

    # every target is still in rotation, and the real services answer through the gateway
    breakers = gw.admin("GET", "/admin/breakers").json()["breakers"]
    wanted = {"auth", "user", "echo", "slow"}
    assert all(b["state"] == "closed" for b in breakers if b["upstream"] in wanted), \
        (seed, [b for b in breakers if b["upstream"] in wanted and b["state"] != "closed"])
    jwks = gw.call("GET", "/.well-known/jwks.json", via_proxy=True,
                   headers={"X-Forwarded-For": fresh_client_ip()})
    assert jwks.status_code == 200, jwks.text
    login = gw.call("POST", "/v1/auth/login", via_proxy=True,
                    headers={"X-Forwarded-For": fresh_client_ip()},
                    json={"email": f"nobody-{uuid.uuid4().hex[:8]}@probe.example",
                          "password": "whatever-123"})
    assert login.status_code == 401, login.text
    users = gw.get("/v1/users", token=stack.token(role="admin"))
    assert users.status_code == 200, users.text
    assert re.match(r"^req_", users.headers["X-Request-Id"])
