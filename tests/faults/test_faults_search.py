"""The search service killed with SIGKILL while it indexes a burst of searchable documents (from
Kafka, and through its ingest API, whose 202 means "in the outbox"), then started again: every
document produced and every document acknowledged is searchable afterwards, at its newest
version, exactly once. And killed while its remap job makes postings again (an org's reindex):
started again, it finishes the work, every document found by its stems."""
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "search", "tests", "component"))

import faultkit  # noqa: E402
from platform_client import Api, eventually  # noqa: E402
from searchkit import Search, doc, emit_doc, new_id  # noqa: E402

BURST = 400       # documents produced on search-events
UPDATED = 100     # of which this many get a second version right after the first
INGESTED = 100    # documents acknowledged by the ingest API (202) around the kill


def total(search):
    return search.get("", limit=1)["total"]


def consuming(stack):
    """Waits until search indexes from search-events (on a stack just started, its consumer
    may still be joining its group: the whole burst would then land in one batch, before the
    kill)."""
    org = new_id("org")
    probe = Search(stack, org)
    emit_doc(stack, doc(org, "Warm up", id_="warm-up"))
    eventually(lambda: total(probe) == 1, timeout=60, interval=0.1, what="search consuming")


def test_kill_9_during_indexing_loses_nothing(stack, healed):
    consuming(stack)
    org = new_id("org")
    search = Search(stack, org)
    docs = [doc(org, f"Burst document {i}", f"body number {i}", id_=f"burst-{i}")
            for i in range(BURST)]

    def produce(i):
        emit_doc(stack, docs[i])
        if i < UPDATED:  # same key, same producer: ordered after the first version
            emit_doc(stack, dict(docs[i], version=2, title=f"Burst document {i} revised"))

    acked, stop = [], threading.Event()

    def ingest_loop():
        """Retries each document until it is acknowledged, as a calling service would."""
        url = stack.url("search", "/internal/v1/search/documents")
        headers = {"Authorization": f"Bearer {stack.service_token()}"}
        for i in range(INGESTED):
            d = doc(org, f"Ingested document {i}", type_="ingested", id_=f"ingested-{i}")
            while not stop.is_set():
                try:
                    r = requests.post(url, json=d, headers=headers, timeout=10)
                    if r.status_code == 202:
                        acked.append(d["id"])
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            time.sleep(0.01)

    ingester = threading.Thread(target=ingest_loop, daemon=True)
    pid = stack.pid("search")
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(produce, i) for i in range(BURST)]
        ingester.start()
        deadline = time.time() + 60
        while total(search) < BURST // 5:
            assert time.time() < deadline, "indexing does not start"
            time.sleep(0.02)
        indexed_at_kill = total(search)
        os.kill(pid, signal.SIGKILL)
        assert faultkit.wait_gone(pid, 10)
        for f in futures:
            f.result()
    stack.stack_cmd("restart-service", "search")
    ingester.join(120)
    stop.set()
    assert not ingester.is_alive(), "the ingest API never came back"
    assert len(acked) == INGESTED

    expected = BURST + INGESTED
    deadline = time.time() + 120
    while total(search) < expected:
        assert time.time() < deadline, f"only {total(search)} of {expected} indexed"
        time.sleep(0.2)
    assert indexed_at_kill < expected, "the kill came after indexing finished"
    r = search.get("", limit=1)
    assert r["total"] == expected and r["facets"]["type"] == {"note": BURST, "ingested": INGESTED}
    # the newest version of every updated document, each exactly once
    revised = search.get("revised ", limit=100)
    assert revised["total"] == UPDATED
    assert sorted(h["id"] for h in revised["data"]) == sorted(f"burst-{i}" for i in range(UPDATED))
    for i in (0, UPDATED - 1, UPDATED, BURST - 1):
        hits = search.get(f'"burst document {i}"', limit=5)["data"]
        titles = [h["title"] for h in hits if h["id"] == f"burst-{i}"]
        assert len(titles) == 1
        assert titles[0].endswith("revised") == (i < UPDATED)


REMAPPED = 300    # English documents whose postings are made again around the kill


def test_kill_9_during_a_reindex_leaves_the_remap_to_finish(stack, healed):
    org = new_id("org")
    search = Search(stack, org)
    for i in range(REMAPPED):
        d = doc(org, f"Walking route {i}", "hills and lakes", id_=f"walk-{i}")
        d["locale"] = "en"
        emit_doc(stack, d)
    eventually(lambda: total(search) == REMAPPED, timeout=60, interval=0.2, what="indexed")

    def stems_found():
        return search.get("walk", prefix="false", lang="en", limit=1)["total"]

    assert stems_found() == REMAPPED
    # the stems lost (as a damaged index), then the org's reindex asked for: the remap job
    # makes every posting again, a batch a transaction; the kill lands while that work is
    # pending or under way (the job runs every second)
    stack.sql("search", f"UPDATE search_postings SET stv = NULL WHERE org_id = '{org}'")
    r = Api(stack, "search")("POST", f"/internal/v1/search/orgs/{org}/reindex",
                             token=stack.service_token())
    assert r.status_code == 202 and r.json()["marked"] == REMAPPED, r.text
    pid = stack.pid("search")
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    assert faultkit.wait_gone(pid, 10)
    stack.stack_cmd("restart-service", "search")
    # served throughout by the words as written; the stems come back for every document
    assert search.get("walking", prefix="false", limit=1)["total"] == REMAPPED
    eventually(lambda: stems_found() == REMAPPED, timeout=60, interval=0.2, what="remapped")
    left = stack.sql("search", f"SELECT count(*) FROM search_postings WHERE org_id = '{org}'"
                               f" AND (mapping < 2 OR stv IS NULL OR stem <> 'search_english')")
    assert left == "0"
