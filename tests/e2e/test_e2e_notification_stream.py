"""The live inbox through the gateway's public port: a user signed up through auth opens
GET /v1/notifications/stream as a WebSocket on the gateway, which authenticates and rate
limits the handshake, then tunnels the connection to the notification service. An in-app
notification asked for on notification-events arrives on it; pings cross the tunnel both ways;
a handshake without a token is refused by the gateway itself; closing the stream ends the
tunnel. Nothing but the request on the bus goes around the gateway. A browser, which cannot set
Authorization on a handshake, offers its token as a subprotocol entry instead."""
import secrets
import time

import pytest

from e2ekit import Client
from platform_client import new_password
from ws_client import PING, PONG, Refused, WsClient


def in_app(stack, org_id, user_id, title):
    data = {"template": "team_update", "channel": "in_app", "to": {"user_id": user_id},
            "org_id": org_id, "params": {"title": title, "body": "through the gateway"},
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    stack.produce_event("notification-events", user_id, "com.techcorp.notification.requested",
                        f"/users/{user_id}", data)


def test_the_live_inbox_streams_through_the_gateway(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.81")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Stream Journey", "email": f"e2e-stream-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Sam Stream"})
    org_id, user_id = r.json()["org"]["id"], r.json()["user"]["id"]
    token = r.json()["access_token"]
    port = stack.port("gateway")

    with pytest.raises(Refused) as e:  # the gateway refuses it before any service sees it
        WsClient(port, "/v1/notifications/stream")
    assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"
    assert e.value.headers.get("x-request-id")

    ws = WsClient(port, "/v1/notifications/stream", token=token)
    assert ws.headers.get("x-request-id"), "the gateway's request id on the 101"
    assert ws.message() == {"type": "ready", "missed": 0, "truncated": False}
    ws.send(PING, b"through the tunnel")
    assert ws.frame() == (PONG, b"through the tunnel")

    in_app(stack, org_id, user_id, "Hello over the gateway")
    m = ws.message(timeout=30)
    assert m["type"] == "notification" and m["data"]["title"] == "Hello over the gateway"
    # the same item as the REST inbox shows it, through the same gateway
    listed = owner.call("GET", "/v1/notifications", token=token, expect=200).json()["data"]
    assert listed[0] == m["data"]

    # resume through the gateway after the item just seen: nothing missed, then live again
    ws.close()
    back = WsClient(port, f"/v1/notifications/stream?after={m['data']['id']}", token=token)
    assert back.message() == {"type": "ready", "missed": 0, "truncated": False}
    in_app(stack, org_id, user_id, "After the reconnect")
    assert back.message(timeout=30)["data"]["title"] == "After the reconnect"
    back.close()

    # as a page opens it: new WebSocket(url, ["techcorp.notifications.v1",
    # "techcorp.bearer." + token]); the 101 names the subprotocol, as the browser requires
    page = WsClient(port, "/v1/notifications/stream",
                    protocols=["techcorp.notifications.v1", "techcorp.bearer." + token])
    assert page.protocol == "techcorp.notifications.v1"
    assert page.message() == {"type": "ready", "missed": 0, "truncated": False}
    in_app(stack, org_id, user_id, "To the browser")
    assert page.message(timeout=30)["data"]["title"] == "To the browser"
    page.close()
    with pytest.raises(Refused) as e:  # a forged token there is refused at the gateway
        WsClient(port, "/v1/notifications/stream",
                 protocols=["techcorp.notifications.v1", "techcorp.bearer." + token[:-6] + "AAAAAA"])
    assert e.value.status == 401 and e.value.json()["error"]["code"] == "unauthorized"
