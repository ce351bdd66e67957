"""Small HTTP/1.1 upstreams the gateway suite routes to (services/gateway/config/test.json).

Each runs in the pytest process on a fixed port of 127.0.0.1:18190-18199, keeps connections
alive (so the gateway's pools are exercised), records every request it receives, and
behaves as the test sets it: a status to answer, a delay, or dropping the connection
without answering. Per-request overrides come from the query string (?status=, ?sleep_ms=,
?chunked=1, ?size=). A WebSocket handshake to /t/ws… (without ?status=) is accepted with 101,
then every byte that arrives is echoed back until the peer closes or sends b"close-now";
?force101=1 answers 101 to any request (a service misbehaving)."""
import base64
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORTS = {"echo-a": 18191, "echo-b": 18192, "flaky-good": 18193, "flaky-bad": 18194,
         "slow": 18195, "closer": 18196, "alt": 18198}
CLOSED_PORTS = (18197, 18199)  # never listened on: connections are refused


class Upstream:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.lock = threading.Lock()
        self.requests = []
        self.status = None
        self.sleep_ms = 0
        self.close = False
        self.server = None

    def set(self, status=None, sleep_ms=0, close=False):
        with self.lock:
            self.status, self.sleep_ms, self.close = status, sleep_ms, close

    def reset(self):
        with self.lock:
            self.requests = []
            self.status, self.sleep_ms, self.close = None, 0, False

    def seen(self, path_prefix="", method=None):
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)
                    and (method is None or r["method"] == method)]

    def start(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # head and body leave in two writes

            def log_message(self, *args):
                pass

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def handle_any(self):
                body = self.read_body()
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                with upstream.lock:
                    upstream.requests.append({
                        "method": self.command, "path": url.path, "query": url.query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "raw_headers": list(self.headers.items()), "body": body,
                        "at": time.time()})
                    status, sleep_ms, close = upstream.status, upstream.sleep_ms, upstream.close
                if close:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if "force101" in q or (url.path.startswith("/t/ws") and "status" not in q and
                                       self.headers.get("Upgrade", "").lower() == "websocket"):
                    self.echo_tunnel()
                    return
                sleep_ms = int(q.get("sleep_ms", sleep_ms))
                if sleep_ms:
                    time.sleep(sleep_ms / 1000)
                status = int(q.get("status", status or 200))
                payload = json.dumps({
                    "server": upstream.name, "method": self.command, "path": url.path,
                    "query": url.query, "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body_len": len(body), "pad": "x" * int(q.get("size", 0))}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Upstream", upstream.name)
                # caching tests: what the service says about its answer
                for param, header in (("cc", "Cache-Control"), ("etag", "ETag"),
                                      ("vary", "Vary"), ("cookie", "Set-Cookie"), ("age", "Age")):
                    if param in q:
                        self.send_header(header, q[param])
                if q.get("chunked"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if self.command != "HEAD":
                        for i in range(0, len(payload), 7):
                            part = payload[i:i + 7]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def echo_tunnel(self):
                key = self.headers.get("Sec-WebSocket-Key", "")
                accept = base64.b64encode(hashlib.sha1(
                    (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                offered = self.headers.get("Sec-WebSocket-Protocol")
                if offered:  # as a service does: it speaks the first one offered
                    self.send_header("Sec-WebSocket-Protocol", offered.split(",")[0].strip())
                self.end_headers()
                self.wfile.flush()
                self.close_connection = True
                conn = self.connection
                while True:
                    data = conn.recv(65536)
                    if not data or data == b"close-now":
                        break
                    conn.sendall(data)
                conn.shutdown(socket.SHUT_RDWR)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's listen backlog is 5: tests open tens of upstream connections at
            # once, and a SYN dropped on a full queue waits a second, past the gateway's
            # connect timeout (a 503 the gateway is right to give)
            request_queue_size = 128

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def start_all():
    return {name: Upstream(name, port).start() for name, port in PORTS.items()}
