"""The live inbox under load (make bench, issue 17): USERS streams held open against the
notification service by PROCS client processes, each from its own loopback source address;
then in-app notifications asked for on notification-events by bench-produce, one per stream
at once (a burst), then RATE per second for SECONDS, each stamped with the time it was sent,
then one announcement to the whole org (every stream's user is a member).
Every stream answers the server's pings. Prints:

  CONNECTED <streams> <seconds to open them all>
  RSS <KiB before> <KiB after> <KiB per stream>
  BURST <delivered> <p50 ms> <p99 ms> <max ms> <seconds from the first send to the last arrival>
  STEADY <delivered> <p50 ms> <p99 ms> <max ms>
  ANNOUNCE <delivered> <p50 ms> <p99 ms> <max ms> <seconds from the send to the last arrival>

Latency is from the moment bench-produce sent the request to the moment the stream's client
read the item: broker, consumer, the delivery's transaction, the commit's NOTIFY, the feed's
read and the hub's write all included. Between the phases the service's consumers are let
finish the burst's own outcome events (they share the topic).

usage: ws_load.py PORT PID KEY KID ORG USERS PROCS RATE SECONDS BENCH_PRODUCE BROKERS
"""
import asyncio
import base64
import json
import multiprocessing as mp
import os
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "lib"))
from platform_client import mint_token  # noqa: E402

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
USER_PREFIX = "0WS"  # bench-produce --kind inapp addresses usr_0WS<n>


def user_id(n):
    """bench-produce's bench_id("usr", "0WS", n): the prefix, then n in decimal padded to 26."""
    digits = str(n)
    return "usr_" + USER_PREFIX + "0" * (26 - len(USER_PREFIX) - len(digits)) + digits


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def masked(opcode, payload):
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + body


async def stream(port, source, token, got, counter):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0),
                                                   limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /v1/notifications/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    ready = asyncio.get_running_loop().create_future()

    async def read_frames():
        try:
            while True:
                b0, b1 = await reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", await reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", await reader.readexactly(8))[0]
                payload = await reader.readexactly(n)
                op = b0 & 0x0F
                if op == 0x9:
                    writer.write(masked(0xA, payload))
                elif op == 0x8:
                    return
                elif op == 0x1:
                    m = json.loads(payload)
                    if m["type"] == "ready" and not ready.done():
                        ready.set_result(True)
                    elif m["type"] == "notification":
                        sent = int(m["data"]["body"].strip())
                        got.append((sent, time.time() * 1000))
                        with counter.get_lock():
                            counter.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    task = asyncio.create_task(read_frames())
    await asyncio.wait_for(ready, 30)
    return writer, task


async def client(port, source, users, key, kid, org, connected, counter, stop, results):
    got, held, failed = [], [], 0
    sem = asyncio.Semaphore(100)

    async def one(u):
        nonlocal failed
        async with sem:
            token = mint_token(key, kid, user_id(u), org=org, role="viewer", ttl=7200)
            try:
                held.append(await stream(port, source, token, got, counter))
            except Exception as e:  # counted; the bench fails unless every stream opened
                failed += 1
                if failed <= 3:
                    print(f"ws_load: stream {u}: {e!r}", file=sys.stderr)

    await asyncio.gather(*(one(u) for u in users))
    connected.put((len(held), failed))
    while not stop.is_set():
        await asyncio.sleep(0.2)
    results.put(got)
    for writer, task in held:
        task.cancel()
        writer.close()


def child(*args):
    asyncio.run(client(*args))


def percentile(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def wait_count(counter, n, timeout):
    deadline = time.time() + timeout
    while counter.value < n:
        if time.time() > deadline:
            sys.exit(f"ws_load: {counter.value} of {n} items arrived")
        time.sleep(0.05)


def settle(admin_port, timeout=180):
    """Waits until the service's consumers are idle: the burst's own outcome events
    (com.techcorp.notification.delivered, on the same topic) are consumed too, and a steady
    phase measured on top of that backlog would measure the backlog."""
    def consumed():
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
            return sum(float(line.rsplit(" ", 1)[1]) for line in r.read().decode().splitlines()
                       if line.startswith("events_consumed_total{"))
    deadline, last, still = time.time() + timeout, -1.0, 0
    while still < 4 and time.time() < deadline:
        now = consumed()
        still = still + 1 if now == last else 0
        last = now
        time.sleep(0.5)


def main():
    (port, pid, key, kid, org, users, procs, rate, seconds, produce,
     brokers) = sys.argv[1:12]
    port, pid, users, procs = int(port), int(pid), int(users), int(procs)
    rate, seconds = int(rate), int(seconds)
    counter, stop = mp.Value("l", 0), mp.Event()
    connected, results = mp.Queue(), mp.Queue()
    rss0 = rss_kib(pid)
    t0 = time.time()
    kids = []
    for i in range(procs):
        mine = list(range(i, users, procs))
        p = mp.Process(target=child, args=(port, f"127.0.0.{2 + i}", mine, key, kid, org,
                                           connected, counter, stop, results))
        p.start()
        kids.append(p)
    opened = failed = 0
    for _ in kids:
        ok, bad = connected.get(timeout=600)
        opened, failed = opened + ok, failed + bad
    t_open = time.time() - t0
    if failed:
        stop.set()
        sys.exit(f"ws_load: {failed} of {users} streams did not open")
    time.sleep(2)  # the server settles (pages touched by the handshakes stay)
    rss1 = rss_kib(pid)
    print(f"CONNECTED {opened} {t_open:.1f}", flush=True)
    print(f"RSS {rss0} {rss1} {(rss1 - rss0) / opened:.2f}", flush=True)

    common = [produce, "--brokers", brokers, "--kind", "inapp", "--org", org,
              "--users", str(users)]
    t_burst = time.time() * 1000
    subprocess.run(common + ["--count", str(users), "--prefix", "WSB"], check=True,
                   stdout=subprocess.DEVNULL)
    wait_count(counter, users, 600)
    settle(port + 1000)
    t_steady = time.time() * 1000
    steady_n = rate * seconds
    subprocess.run(common + ["--count", str(steady_n), "--prefix", "WSS", "--rate", str(rate)],
                   check=True, stdout=subprocess.DEVNULL)
    wait_count(counter, users + steady_n, 600)
    # an announcement: one request for every member of the org (the service's read model was
    # seeded with the streams' users), fanned out in one transaction
    settle(port + 1000)
    t_announce = time.time() * 1000
    subprocess.run([produce, "--brokers", brokers, "--kind", "announce", "--org", org,
                    "--count", "1", "--prefix", "WSA"], check=True, stdout=subprocess.DEVNULL)
    wait_count(counter, 2 * users + steady_n, 600)
    stop.set()
    got = []
    for _ in kids:
        got += results.get(timeout=120)
    for p in kids:
        p.join(60)
    burst = [r - s for s, r in got if s < t_steady]
    steady = [r - s for s, r in got if t_steady <= s < t_announce]
    announced = [r - s for s, r in got if s >= t_announce]
    last = max(r for s, r in got if s < t_steady)
    last_announced = max(r for s, r in got if s >= t_announce)
    print(f"BURST {len(burst)} {percentile(burst, 0.5):.0f} {percentile(burst, 0.99):.0f} "
          f"{max(burst):.0f} {(last - t_burst) / 1000:.2f}")
    print(f"STEADY {len(steady)} {percentile(steady, 0.5):.0f} {percentile(steady, 0.99):.0f} "
          f"{max(steady) if steady else 0:.0f}")
    print(f"ANNOUNCE {len(announced)} {percentile(announced, 0.5):.0f} "
          f"{percentile(announced, 0.99):.0f} {max(announced):.0f} "
          f"{(last_announced - t_announce) / 1000:.2f}")


if __name__ == "__main__":
    main()
