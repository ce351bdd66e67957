"""An upstream that can die and come back like a process (issue 14): it serves its API port
and, on port + 1000, an admin port with /ready (the gateway's default health check). kill()
closes both listeners and every open connection, as `kill -9` would (connections refused and
reset); start() listens again on the same ports. ready=False answers /ready with 503 while the
API keeps answering (a service whose dependency is down). Every request is recorded, so a test
can tell how many times a POST was applied."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Killable:
    def __init__(self, name, port, host="127.0.0.1"):
        self.name, self.port, self.host = name, port, host
        self.lock = threading.Lock()
        self.requests = []
        self.checks = 0
        self.ready = True
        self.status = None
        self.servers = []
        self.conns = set()

    # ------------------------------------------------------------------ what it saw
    def seen(self, method=None):
        with self.lock:
            return [r for r in self.requests if method is None or r["method"] == method]

    def set(self, ready=None, status="keep"):
        with self.lock:
            if ready is not None:
                self.ready = ready
            if status != "keep":
                self.status = status

    # ------------------------------------------------------------------ life
    def _server(self, port, admin):
        up = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with up.lock:
                    up.conns.add(self.connection)

            def finish(self):
                with up.lock:
                    up.conns.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if len(body) < n:
                    # cut off mid-body (kill() resets every connection): a server applies no
                    # request it did not receive whole, so this one is neither seen nor answered
                    self.close_connection = True
                    return
                if admin:
                    with up.lock:
                        up.checks += 1
                        ready = up.ready
                    self.answer(200 if ready else 503, {"status": "ok" if ready else "down"})
                    return
                with up.lock:
                    up.requests.append({"method": self.command, "path": self.path, "body": body,
                                        "at": time.time()})
                    status = up.status or 200
                self.answer(status, {"server": up.name, "method": self.command,
                                     "path": self.path, "body": body.decode(errors="replace")})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's listen backlog is 5: tests open tens of upstream connections at
            # once, and a SYN dropped on a full queue waits a second, past the gateway's
            # connect timeout (a 503 the gateway is right to give)
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass  # connections cut by kill() end their handlers with resets

        s = Server((self.host, port), Handler)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        return s

    def start(self):
        self.servers = [self._server(self.port, False), self._server(self.port + 1000, True)]
        return self

    def kill(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []
        with self.lock:
            conns = list(self.conns)
            self.conns.clear()
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    stop = kill
