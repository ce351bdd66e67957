"""The browser of the notification Web Push benchmark (scripts/bench.sh): subscribes at the
push service (web-push-testing) with the notification service's VAPID key, as a browser's
PushManager.subscribe() would, and registers that subscription for USER through the API, as
the web console would. Prints the subscription's clientHash (what web-push-testing files its
messages under).

  python3 push_browser.py NOTIFY_PORT KEY KID ORG USER PUSH_BASE
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "lib"))
from platform_client import mint_token  # noqa: E402


def call(method, url, body=None, token=None):
    req = urllib.request.Request(url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def main():
    port, key, kid, org, user, push = sys.argv[1:7]
    token = mint_token(key, kid, user, org=org, role="viewer", ttl=3600)
    api = f"http://127.0.0.1:{port}/v1/notifications/push"
    public = call("GET", api + "/public-key", token=token)["public_key"]
    sub = call("POST", push + "/subscribe",
               {"userVisibleOnly": "true", "applicationServerKey": public})["data"]
    call("POST", api + "/subscriptions", {"endpoint": sub["endpoint"], "keys": sub["keys"]},
         token=token)
    print(sub["clientHash"])


if __name__ == "__main__":
    main()
