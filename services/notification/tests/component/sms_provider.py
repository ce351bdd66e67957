"""A test SMS provider implementing the part of Twilio's documented Messages API the
notification service uses (a stand-in: the real API cannot be reached from the tests):

  POST /2010-04-01/Accounts/{AccountSid}/Messages.json   form To, From | MessagingServiceSid,
       Body; HTTP Basic AccountSid:AuthToken; 201 with the message resource
  GET  /2010-04-01/Accounts/{AccountSid}/Messages.json   ?To=&PageSize=&Page=: newest first,
       at most 1,000 a page, next_page_uri when there are more

Errors as Twilio answers them ({"code", "message", "more_info", "status"}): 401 code 20003 for
wrong credentials, 400 code 21604/21602 for a missing To/Body, and its test numbers:
+15005550001 (21211 invalid), +15005550004 (21610 unsubscribed), +15005550009 (21614 not a
mobile). And this fixture's own, by number:
  +1500555070N  503 to the first N requests for that number, then accepted
  +1500555080N  429 with Retry-After: 1 to the first N, then accepted
  +1500555090N  accepted and stored, the answer to the first request held N seconds (a crash
                test kills the sender while it waits)
GET /_test/messages lists every stored message, oldest first, and GET /_test/count counts
them, without credentials.

  python3 sms_provider.py PORT ACCOUNT_SID AUTH_TOKEN      (prints "ready" when listening)
"""
import base64
import email.utils
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

ERRORS = {"+15005550001": (21211, "The 'To' number is not a valid phone number."),
          "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
          "+15005550009": (21614, "'To' number is not a valid mobile number")}


class Provider:
    def __init__(self, account, token):
        self.account, self.token = account, token
        self.messages, self.seen, self.lock = [], {}, threading.Lock()


def make_handler(p):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, code, message, headers=()):
            self.answer(status, {"code": code, "message": message, "status": status,
                                 "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                        headers)

        def authorized(self):
            want = base64.b64encode(f"{p.account}:{p.token}".encode()).decode()
            path_ok = urlsplit(self.path).path == \
                f"/2010-04-01/Accounts/{p.account}/Messages.json"
            if self.headers.get("Authorization") != f"Basic {want}":
                self.error(401, 20003, "Authenticate")
                return False
            if not path_ok:
                self.error(404, 20404, "The requested resource was not found")
                return False
            return True

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/_test/count":
                with p.lock:
                    return self.answer(200, {"count": len(p.messages)})
            if url.path == "/_test/messages":
                with p.lock:
                    return self.answer(200, {"messages": list(p.messages)})
            if not self.authorized():
                return
            q = parse_qs(url.query)
            to = q.get("To", [None])[0]
            size = min(int(q.get("PageSize", ["50"])[0]), 1000)  # the API's largest page
            page = int(q.get("Page", ["0"])[0])
            with p.lock:
                found = [m for m in reversed(p.messages) if to is None or m["to"] == to]
            more = len(found) > (page + 1) * size
            query = urlencode({k: v for k, v in (("To", to), ("PageSize", size)) if v})
            self.answer(200, {"messages": found[page * size:(page + 1) * size], "page": page,
                              "page_size": size, "first_page_uri": f"{url.path}?{query}",
                              "next_page_uri": f"{url.path}?{query}&Page={page + 1}"
                              if more else None})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            if not self.authorized():
                return
            to, body = form.get("To", [""])[0], form.get("Body", [""])[0]
            sender = form.get("From", [None])[0] or form.get("MessagingServiceSid", [None])[0]
            if not to:
                return self.error(400, 21604, "A 'To' phone number is required.")
            if not body:
                return self.error(400, 21602, "Message body is required.")
            if not sender:
                return self.error(400, 21603, "A 'From' phone number is required.")
            if to in ERRORS:
                return self.error(400, *ERRORS[to])
            with p.lock:
                p.seen[to] = n = p.seen.get(to, 0) + 1
            m = re.fullmatch(r"\+1500555(07|08|09)0(\d)", to)
            if m and m.group(1) == "07" and n <= int(m.group(2)):
                return self.error(503, 20500, "Service temporarily unavailable")
            if m and m.group(1) == "08" and n <= int(m.group(2)):
                return self.error(429, 20429, "Too Many Requests", [("Retry-After", "1")])
            now = email.utils.formatdate(usegmt=False).replace("-0000", "+0000")
            msg = {"sid": "SM" + secrets.token_hex(16), "account_sid": p.account, "to": to,
                   "from": form.get("From", [None])[0],
                   "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
                   "body": body, "status": "queued", "direction": "outbound-api",
                   "num_segments": "1", "date_created": now, "date_updated": now,
                   "date_sent": None, "error_code": None, "error_message": None,
                   "api_version": "2010-04-01",
                   "uri": f"/2010-04-01/Accounts/{p.account}/Messages.json"}
            with p.lock:
                p.messages.append(msg)
            if m and m.group(1) == "09" and n == 1:
                time.sleep(int(m.group(2)))
            self.answer(201, msg)

    return Handler


def main():
    port, account, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Provider(account, token)))
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
