"""A real DNS server for auth's domain-ownership tests: Debian's dnsmasq on loopback, at the
address the test stack gives auth (AUTH_DNS_SERVER, `scripts/stack.sh env auth`). It answers the
TXT records a test publishes and NXDOMAIN for everything else; dnsmasq reads its records at
start, so publishing restarts it (a few milliseconds)."""
import os
import shutil
import socket
import subprocess
import tempfile
import time


class DnsServer:
    def __init__(self, address):
        host, _, port = address.partition(":")
        self.host, self.port = host, int(port or 53)
        self.records = {}  # name → [TXT strings]
        self.dir = tempfile.mkdtemp(prefix="tc-dns-")
        self.proc = None
        self._start()

    def publish(self, name, value):
        self.records.setdefault(name, []).append(value)
        self.restart()

    def withdraw(self, name):
        self.records.pop(name, None)
        self.restart()

    def _conf(self):
        path = os.path.join(self.dir, "dnsmasq.conf")
        with open(path, "w") as f:
            for name, values in self.records.items():
                for v in values:
                    f.write(f'txt-record={name},"{v}"\n')
        return path

    def _start(self):
        # --address=/#/ answers every name not published here NXDOMAIN, so nothing leaves the
        # machine; no hosts files, no upstream servers, no DHCP
        self.proc = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", f"--port={self.port}",
             f"--listen-address={self.host}", "--bind-interfaces", "--no-resolv", "--no-hosts",
             "--no-poll", "--user=" + ("root" if os.geteuid() == 0 else os.environ["USER"]),
             "--pid-file=" + os.path.join(self.dir, "pid"), "--conf-file=" + self._conf(),
             "--local=/#/", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq did not start: " + self.proc.stderr.read())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind((self.host, self.port))
                except OSError:
                    return  # taken: dnsmasq listens
            time.sleep(0.02)
        raise AssertionError("dnsmasq did not listen")

    def restart(self):
        self.stop(keep_dir=True)
        self._start()

    def stop(self, keep_dir=False):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
