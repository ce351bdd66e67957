"""notification service: the live inbox over WebSockets (GET /v1/notifications/stream). New
in-app items reach the recipient's open streams and nobody else's (not another user of the
org, not the same user id in another org); a stream resumed after the last item it saw gets
exactly what it missed, in order, then goes on live; the handshake is refused in the platform's
error format (401, 404, 426, 400); pings are answered and a close is echoed. Every item is
compared with the REST representation (proto/openapi/notification.yaml)."""
import struct
import time

import pytest
import requests

from ntfkit import Ntf, new_id, request
from platform_client import assert_error
from ws_client import CLOSE, PING, PONG, Closed, Refused, WsClient


def in_app(stack, org, uid, title, body="b"):
    return request(stack, org, uid, "team_update", channel="in_app", name=None,
                   params={"title": title, "body": body})


def wait_inbox(me, n, timeout=30):
    deadline = time.time() + timeout
    while True:
        data = me("GET", "/v1/notifications").json()["data"]
        if len(data) >= n or time.time() > deadline:
            return data
        time.sleep(0.2)


def stream(stack, who, after=None):
    path = "/v1/notifications/stream" + (f"?after={after}" if after else "")
    return WsClient(stack.port("notification"), path, token=who.token)


def ready(ws):
    m = ws.message()
    assert m["type"] == "ready", m
    return m


def items(ws, n):
    out = []
    while len(out) < n:
        m = ws.message(timeout=30)
        assert m["type"] == "notification", m
        out.append(m)
    return out


def test_new_items_reach_their_recipients_streams_only(stack):
    org = new_id("org")
    alice, bob = Ntf(stack, org, role="viewer"), Ntf(stack, org, role="admin")
    mallory = Ntf(stack, user_id=alice.user_id, role="owner")  # same user id, another org
    a1, a2, b, m = stream(stack, alice), stream(stack, alice), stream(stack, bob), stream(stack, mallory)
    for ws in (a1, a2, b, m):
        assert ready(ws) == {"type": "ready", "missed": 0, "truncated": False}

    in_app(stack, org, alice.user_id, "Live one", "<b>hi</b>")
    got1, got2 = items(a1, 1)[0], items(a2, 1)[0]  # every open stream of the user
    assert got1 == got2
    assert got1["data"]["title"] == "Live one" and got1["data"]["read"] is False
    rest = alice("GET", "/v1/notifications").json()["data"][0]
    assert got1["data"] == rest
    assert b.quiet(1.0) and m.quiet(0.2)

    in_app(stack, org, alice.user_id, "Live two")
    second = items(a1, 1)[0]
    assert second["seq"] == got1["seq"] + 1
    for ws in (a1, a2, b, m):
        ws.close()


def test_a_resumed_stream_gets_what_it_missed_then_goes_on_live(stack):
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    ws = stream(stack, alice)
    ready(ws)
    in_app(stack, org, alice.user_id, "Seen 1")
    in_app(stack, org, alice.user_id, "Seen 2")
    seen = items(ws, 2)
    assert [s["data"]["title"] for s in seen] == ["Seen 1", "Seen 2"]
    ws.close()

    for i in range(3):
        in_app(stack, org, alice.user_id, f"Missed {i}")
    # all three stored, as a client coming back later finds them
    assert len(wait_inbox(alice, 5)) == 5

    back = stream(stack, alice, after=seen[-1]["data"]["id"])
    missed = items(back, 3)
    assert [x["data"]["title"] for x in missed] == ["Missed 0", "Missed 1", "Missed 2"]
    assert [x["seq"] for x in missed] == [seen[-1]["seq"] + 1 + i for i in range(3)]
    assert ready(back) == {"type": "ready", "missed": 3, "truncated": False}
    in_app(stack, org, alice.user_id, "After the resume")
    assert items(back, 1)[0]["data"]["title"] == "After the resume"
    assert back.quiet(0.5)  # nothing twice
    back.close()

    # resuming from the newest item: nothing missed
    again = stream(stack, alice, after=alice("GET", "/v1/notifications").json()["data"][0]["id"])
    assert ready(again)["missed"] == 0
    again.close()


def test_the_handshake_is_refused_in_the_platform_format(stack):
    org = new_id("org")
    alice, bob = Ntf(stack, org, role="viewer"), Ntf(stack, org, role="viewer")
    port = stack.port("notification")
    with pytest.raises(Refused) as e:
        WsClient(port, "/v1/notifications/stream")
    assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"

    # a plain GET is told to upgrade
    r = alice("GET", "/v1/notifications/stream", check=False)
    assert_error(r, 426, "upgrade_required")
    assert r.headers["Upgrade"] == "websocket"
    with pytest.raises(Refused) as e:
        WsClient(port, "/v1/notifications/stream", token=alice.token,
                 headers={"Sec-WebSocket-Version": "8"})
    assert e.value.status == 426 and e.value.headers["sec-websocket-version"] == "13"
    with pytest.raises(Refused) as e:
        WsClient(port, "/v1/notifications/stream", token=alice.token,
                 headers={"Sec-WebSocket-Key": "c2hvcnQ="})
    assert e.value.status == 400 and e.value.json()["error"]["code"] == "bad_request"

    # resuming after someone else's item, or a malformed id, names nothing of the caller's
    in_app(stack, org, bob.user_id, "Bob's")
    bobs = wait_inbox(bob, 1)[0]["id"]
    for after in (bobs, "nonsense", new_id("ntf")):
        with pytest.raises(Refused) as e:
            stream(stack, alice, after=after)
        assert e.value.status == 404 and e.value.json()["error"]["code"] == "not_found"


def test_a_browser_offers_its_token_as_a_subprotocol_entry(stack):
    """Browsers cannot set Authorization on a handshake: a page offers the token as
    techcorp.bearer.<token> beside the subprotocol, and the 101 must name the subprotocol."""
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    port, path = stack.port("notification"), "/v1/notifications/stream"
    proto, bearer = "techcorp.notifications.v1", "techcorp.bearer." + alice.token
    ws = WsClient(port, path, protocols=[proto, bearer])
    assert ws.protocol == proto
    ready(ws)
    in_app(stack, org, alice.user_id, "To the browser")
    assert items(ws, 1)[0]["data"]["title"] == "To the browser"
    ws.close()
    # an API client may name it too, with Authorization
    ws = WsClient(port, path, token=alice.token, protocols=[proto])
    assert ws.protocol == proto
    ws.close()

    # a forged or expired token in the entry: 401, as in Authorization
    expired = stack.token(sub=alice.user_id, org=org, role="viewer", ttl=-60)
    for bad in (alice.token[:-6] + "AAAAAA", expired):
        with pytest.raises(Refused) as e:
            WsClient(port, path, protocols=[proto, "techcorp.bearer." + bad])
        assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"
    # subprotocols without this one: 400 (a browser would fail a 101 that named none)
    for offered in (["chat.v2"], [bearer]):
        with pytest.raises(Refused) as e:
            WsClient(port, path, token=alice.token if offered != [bearer] else None,
                     protocols=offered)
        assert e.value.status == 400 and e.value.json()["error"]["code"] == "bad_request"
        assert proto in e.value.json()["error"]["message"]
    # the entry counts on a handshake only
    r = requests.get(stack.url("notification", path),
                     headers={"Sec-WebSocket-Protocol": f"{proto}, {bearer}"}, timeout=10)
    assert_error(r, 401, "unauthorized")


def test_pings_are_answered_and_a_close_is_echoed(stack):
    alice = Ntf(stack, role="viewer")
    ws = stream(stack, alice)
    ready(ws)
    ws.send(PING, b"are you there")
    assert ws.frame() == (PONG, b"are you there")
    ws.send(0x1, "clients may talk; the stream ignores it")
    assert ws.quiet(0.3)
    ws.send(CLOSE, struct.pack(">H", 1000) + b"bye")
    op, payload = ws.frame()
    assert op == CLOSE and struct.unpack(">H", payload[:2])[0] == 1000
    assert ws.sock.recv(10) == b""  # then the server closes the connection


def test_protocol_errors_close_the_stream(stack):
    alice = Ntf(stack, role="viewer")
    ws = stream(stack, alice)
    ready(ws)
    ws.send(0x1, "unmasked", mask=False)  # §5.1: a server must close on this
    with pytest.raises(Closed) as e:
        ws.message()
    assert e.value.code == 1002
    ws.sock.close()

    big = stream(stack, alice)
    ready(big)
    big.send(0x1, "x" * 4000)
    with pytest.raises(Closed) as e:
        big.message()
    assert e.value.code == 1009
    big.sock.close()


def test_a_stream_ends_when_its_token_expires(stack):
    org, uid = new_id("org"), new_id("usr")
    short = stack.token(sub=uid, org=org, role="viewer", ttl=2)
    ws = WsClient(stack.port("notification"), "/v1/notifications/stream", token=short)
    ready(ws)
    with pytest.raises(Closed) as e:
        ws.message(timeout=10)
    assert e.value.code == 1008 and "expired" in e.value.reason
    ws.sock.close()


@pytest.mark.serial  # every open stream of the stack is closed: none of another suite's
def test_streams_resume_after_the_feed_loses_its_listen_session(stack):
    """Notifications sent while the feed's LISTEN session is gone are never heard: the feed
    reconnects, the hub closes every stream with 1012, and a client that resumes after its
    last item gets what it missed."""
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    ws = stream(stack, alice)
    ready(ws)
    in_app(stack, org, alice.user_id, "Before")
    before = items(ws, 1)[0]
    stack.sql("notification", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE query LIKE 'LISTEN notification_inbox%'")
    in_app(stack, org, alice.user_id, "During")
    with pytest.raises(Closed) as e:
        while True:  # "During" may still arrive live if it committed before the loss
            m = ws.message(timeout=30)
            assert m["type"] == "notification" and m["data"]["title"] == "During"
    assert e.value.code == 1012
    ws.sock.close()
    assert len(wait_inbox(alice, 2)) == 2
    back = stream(stack, alice, after=before["data"]["id"])
    got = items(back, 1)[0]
    assert got["data"]["title"] == "During" and got["seq"] == before["seq"] + 1
    assert ready(back)["missed"] == 1
    back.close()
