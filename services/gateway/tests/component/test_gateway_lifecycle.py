"""Graceful shutdown: SIGTERM stops accepting, finishes what is in flight, exits 0."""
import os
import signal
import socket
import threading
import time


def test_sigterm_drains_an_in_flight_request(gw, ups, stack):
    pid = gw.pid()
    results = []

    def slow():
        results.append(gw.get("/t/slow?sleep_ms=900", timeout=15))

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.time() + 5
    while not ups["slow"].seen("/t/slow"):
        assert time.time() < deadline, "the slow request never reached its upstream"
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)
        # no new connections once draining started
        try:
            socket.create_connection(("127.0.0.1", gw.port), timeout=1).close()
            refused = False
        except OSError:
            refused = True
        t.join(10)
        assert results and results[0].status_code == 200, results
        assert results[0].json()["server"] == "slow"
        assert refused, "the gateway still accepted connections while draining"
        deadline = time.time() + 15
        while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
            assert time.time() < deadline, "the gateway did not exit after draining"
            time.sleep(0.1)
    finally:
        gw.restart()  # later tests need it
    log = open(os.path.join(stack.run_dir, "logs", "gateway.log")).read()
    assert "shutdown complete" in log
