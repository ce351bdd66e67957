"""A small WebSocket client (RFC 6455) for the suites: the opening handshake with its accept
value checked, masked frames out, frames in, pings answered. Python's standard library has
none, and the suites' checks are on the protocol itself, so it is written out here."""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Refused(Exception):
    """The server answered the handshake with something other than 101."""

    def __init__(self, status, headers, body):
        super().__init__(f"handshake refused: {status} {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Closed(Exception):
    """The server closed: code (None without one) and reason."""

    def __init__(self, code, reason):
        super().__init__(f"closed: {code} {reason}")
        self.code, self.reason = code, reason


class WsClient:
    """protocols: the subprotocols a page would pass to `new WebSocket(url, protocols)`, sent as
    Sec-WebSocket-Protocol; the 101 must then name one of them, as browsers require (they fail
    the connection otherwise). self.protocol is the one it named."""

    def __init__(self, port, path, token=None, host="127.0.0.1", headers=None, timeout=10,
                 source=None, protocols=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {self.key}",
                 "Sec-WebSocket-Version: 13"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        for name, value in (headers or {}).items():
            lines = [ln for ln in lines if not ln.lower().startswith(name.lower() + ":")]
            if value is not None:
                lines.append(f"{name}: {value}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        status, self.headers = self._head()
        if status != 101:
            body = self._body(self.headers)
            self.sock.close()
            raise Refused(status, self.headers, body.decode(errors="replace"))
        want = base64.b64encode(hashlib.sha1((self.key + GUID).encode()).digest()).decode()
        assert self.headers.get("sec-websocket-accept") == want, self.headers
        assert self.headers.get("upgrade", "").lower() == "websocket", self.headers
        assert "upgrade" in self.headers.get("connection", "").lower(), self.headers
        self.protocol = self.headers.get("sec-websocket-protocol")
        if protocols:
            assert self.protocol in protocols, f"a browser fails this 101: {self.headers}"
        else:
            assert self.protocol is None, f"a subprotocol nobody offered: {self.headers}"

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.time()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed(None, "connection closed")
        self.buf += chunk

    def _head(self):
        deadline = time.time() + 10
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            name, _, value = ln.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def _body(self, headers):
        n = int(headers.get("content-length", "0"))
        deadline = time.time() + 10
        while len(self.buf) < n:
            self._fill(deadline)
        return self.buf[:n]

    def send(self, opcode, payload=b"", fin=True, mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        bit = 0x80 if mask else 0
        if n < 126:
            head += bytes([bit | n])
        elif n < 65536:
            head += bytes([bit | 126]) + struct.pack(">H", n)
        else:
            head += bytes([bit | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + payload)

    def frame(self, timeout=10):
        """The next frame as (opcode, payload); socket.timeout when none comes in time."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                assert not b1 & 0x80, "a server frame must not be masked"
                n, h = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, h = struct.unpack(">H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, h = struct.unpack(">Q", self.buf[2:10])[0], 10
                if (b1 & 0x7F) < 126 or h > 2:
                    if len(self.buf) >= h + n:
                        payload, self.buf = self.buf[h:h + n], self.buf[h + n:]
                        assert b0 & 0x80, "the server does not fragment"
                        return b0 & 0x0F, payload
            self._fill(deadline)

    def message(self, timeout=10):
        """The next text message parsed, pings answered; Closed when the server closes."""
        deadline = time.time() + timeout
        while True:
            op, payload = self.frame(max(0.01, deadline - time.time()))
            if op == PING:
                self.send(PONG, payload)
            elif op == CLOSE:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(code, payload[2:].decode(errors="replace"))
            elif op == TEXT:
                return json.loads(payload)

    def quiet(self, seconds):
        """True when no message arrives for that long."""
        try:
            self.message(seconds)
        except socket.timeout:
            return True
        return False

    def close(self, code=1000):
        try:
            self.send(CLOSE, struct.pack(">H", code))
        except OSError:
            pass
        self.sock.close()
