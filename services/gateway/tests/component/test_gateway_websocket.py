"""The gateway's WebSocket tunnels (tunnel.c) against an upstream that echoes every byte after
its 101 (upstreams.py): the handshake goes through the route's auth like any request and reaches
the service with Connection/Upgrade and the client's key; the service's 101 comes back with the
gateway's request id; bytes then cross both ways unchanged (a megabyte too, with backpressure);
the tunnel ends when the service closes, and when nothing moves for the route's
websocket_idle_ms; a route without "websocket" never tunnels, and a service that declines the
upgrade is answered as usual."""
import os
import socket
import threading
import time

import pytest

from ws_client import Refused, WsClient


def test_the_handshake_reaches_the_service_and_bytes_cross_both_ways(gw, ups):
    ws = WsClient(gw.port, "/t/ws/chat?room=1")  # WsClient checks the accept value
    assert ws.headers["x-request-id"].startswith("req_")
    seen = ups["echo-a"].seen("/t/ws/chat") + ups["echo-b"].seen("/t/ws/chat")
    assert len(seen) == 1
    h = seen[0]["headers"]
    assert h["upgrade"] == "websocket" and h["connection"].lower() == "upgrade"
    assert h["sec-websocket-key"] == ws.key and h["sec-websocket-version"] == "13"
    assert h["x-request-id"] == ws.headers["x-request-id"]
    assert seen[0]["query"] == "room=1"

    ws.sock.sendall(b"hello through the gateway")
    assert ws.sock.recv(100) == b"hello through the gateway"

    # a megabyte each way at once: neither direction reads more than the other side takes
    blob = bytes(range(256)) * 4096
    got = bytearray()

    def reader():
        while len(got) < len(blob):
            chunk = ws.sock.recv(65536)
            if not chunk:
                return
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    ws.sock.sendall(blob)
    t.join(30)
    assert bytes(got) == blob

    ws.sock.sendall(b"close-now")  # the service ends the stream: the client's side ends too
    ws.sock.settimeout(5)
    assert ws.sock.recv(10) == b""
    ws.sock.close()


def test_an_idle_tunnel_is_closed_and_a_busy_one_is_not(gw, ups):
    busy = WsClient(gw.port, "/t/ws/busy")
    idle = WsClient(gw.port, "/t/ws/idle")
    start = time.time()
    for _ in range(6):  # 3 s of traffic every 0.5 s against an idle limit of 1.5 s
        busy.sock.sendall(b"tick")
        assert busy.sock.recv(10) == b"tick"
        time.sleep(0.5)
    idle.sock.settimeout(5)
    assert idle.sock.recv(10) == b"", "closed after 1.5 s of silence"
    assert time.time() - start < 5
    busy.sock.sendall(b"still here")
    assert busy.sock.recv(20) == b"still here"
    busy.sock.close()
    idle.sock.close()


def test_the_routes_auth_applies_to_the_handshake(gw, ups, tokens):
    with pytest.raises(Refused) as e:
        WsClient(gw.port, "/t/wsauth/x")
    assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"
    assert not ups["echo-a"].seen("/t/wsauth") and not ups["echo-b"].seen("/t/wsauth")
    ws = WsClient(gw.port, "/t/wsauth/x", token=tokens.mint())
    ws.sock.sendall(b"in")
    assert ws.sock.recv(10) == b"in"
    ws.sock.close()


def test_a_browsers_token_in_the_subprotocols_is_forwarded_as_authorization(gw, ups, tokens):
    """Browsers cannot set Authorization on a handshake: a page offers its token as the
    subprotocol entry techcorp.bearer.<token> (libcommon's tc_ws.h). The gateway checks it like
    a bearer token and hands the service Authorization, never the entry."""
    token = tokens.mint()
    ws = WsClient(gw.port, "/t/wsauth/browser", protocols=["chat.v1", "techcorp.bearer." + token])
    assert ws.protocol == "chat.v1"
    h = (ups["echo-a"].seen("/t/wsauth/browser") + ups["echo-b"].seen("/t/wsauth/browser"))
    assert len(h) == 1
    h = h[0]["headers"]
    assert h["authorization"] == "Bearer " + token
    assert h["sec-websocket-protocol"] == "chat.v1"
    ws.sock.sendall(b"in")
    assert ws.sock.recv(10) == b"in"
    ws.sock.close()

    # a bad token there is refused as one in Authorization would be
    for bad in (tokens.mint(ttl=-60), token[:-4] + "AAAA"):
        with pytest.raises(Refused) as e:
            WsClient(gw.port, "/t/wsauth/bad", protocols=["chat.v1", "techcorp.bearer." + bad])
        assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"
        assert "invalid_token" in e.value.headers["www-authenticate"]
    assert not ups["echo-a"].seen("/t/wsauth/bad") and not ups["echo-b"].seen("/t/wsauth/bad")

    # only a handshake may carry it: a plain request with the header is not authenticated
    r = gw.get("/t/wsauth/plain", headers={"Sec-WebSocket-Protocol": "techcorp.bearer." + token})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"

    # beside Authorization the entry is not looked at, and never travels upstream either
    other = tokens.mint()
    ws = WsClient(gw.port, "/t/wsauth/both", token=other,
                  protocols=["chat.v1", "techcorp.bearer.not-even-a-token"])
    h = (ups["echo-a"].seen("/t/wsauth/both") + ups["echo-b"].seen("/t/wsauth/both"))[0]["headers"]
    assert h["authorization"] == "Bearer " + other
    assert h["sec-websocket-protocol"] == "chat.v1"
    ws.sock.close()
    # an anonymous tunnel route: the entry is dropped all the same
    ws = WsClient(gw.port, "/t/ws/anon", protocols=["chat.v1", "techcorp.bearer." + token])
    h = (ups["echo-a"].seen("/t/ws/anon") + ups["echo-b"].seen("/t/ws/anon"))[0]["headers"]
    assert h["sec-websocket-protocol"] == "chat.v1" and "authorization" not in h
    ws.sock.close()


def test_no_tunnel_without_the_route_or_the_services_consent(gw, ups):
    # a route without "websocket": the upgrade headers are hop-by-hop and dropped
    with pytest.raises(Refused) as e:
        WsClient(gw.port, "/t/echo/ws")
    assert e.value.status == 200
    h = (ups["echo-a"].seen("/t/echo/ws") + ups["echo-b"].seen("/t/echo/ws"))[0]["headers"]
    assert "upgrade" not in h and "sec-websocket-key" in h
    # the service declines: its answer is relayed like any other
    with pytest.raises(Refused) as e:
        WsClient(gw.port, "/t/ws/declined?status=403")
    assert e.value.status == 403
    # a plain GET on a websocket route is an ordinary request
    assert gw.get("/t/ws/plain").status_code == 200


def test_a_101_nobody_asked_for_is_a_bad_gateway(gw, ups):
    # a service that switches protocols on a request that was no handshake (here: the route
    # does not tunnel, so the gateway sent no Upgrade) cannot be relayed
    for path in ("/t/echo/sneaky?force101=1", "/t/ws/sneaky?force101=1"):
        r = gw.get(path)
        assert r.status_code == 502 and r.json()["error"]["code"] == "bad_gateway", path


def test_a_client_that_leaves_ends_the_tunnel(gw, ups):
    ws = WsClient(gw.port, "/t/ws/leaving")
    ws.sock.sendall(b"x")
    assert ws.sock.recv(1) == b"x"
    ws.sock.shutdown(socket.SHUT_RDWR)
    ws.sock.close()
    # the gateway's upstream side closed too: the next tunnel works on a fresh connection
    again = WsClient(gw.port, "/t/ws/again")
    again.sock.sendall(b"y")
    assert again.sock.recv(1) == b"y"
    again.sock.close()


def test_a_shutdown_closes_tunnels_instead_of_waiting_for_them(gw, ups, tokens):
    """A drain that waited for a stream would run out its grace period and say so (the
    tunnel is on /t/wsauth, whose idle limit is the default 75 s, longer than the grace)."""
    log = os.path.join(gw.stack.run_dir, "logs", "gateway.log")
    warning = "requests still in flight after the grace period"

    def warnings():
        with open(log, errors="replace") as f:
            return f.read().count(warning)

    before = warnings()
    ws = WsClient(gw.port, "/t/wsauth/long", token=tokens.mint())
    ws.sock.sendall(b"x")
    assert ws.sock.recv(1) == b"x"
    gw.restart()
    ws.sock.settimeout(5)
    assert ws.sock.recv(10) == b"", "the tunnel was closed"
    ws.sock.close()
    assert warnings() == before, "the drain waited for the tunnel"
