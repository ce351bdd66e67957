"""The peer of the notification SMS benchmark (scripts/bench.sh): the same number of the same
Messages API forms POSTed straight to the SMS provider stand-in by one client over one
connection (HTTP Basic, keep-alive), i.e. what the stand-in itself takes. Prints messages per
second.

  python3 sms_peer.py PORT ACCOUNT_SID AUTH_TOKEN COUNT
"""
import base64
import http.client
import sys
import time
from urllib.parse import urlencode


def main():
    port, account, token, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}",
               "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    path = f"/2010-04-01/Accounts/{account}/Messages.json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.monotonic()
    for i in range(count):
        body = urlencode({"To": "+15005550200", "From": "+15005550006",
                          "Body": f"Bench {i} mentioned you\nin the plan"})
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 201:
            raise SystemExit(f"sms_peer: {r.status}")
    print(f"{count / (time.monotonic() - t0):.0f}")


if __name__ == "__main__":
    main()
