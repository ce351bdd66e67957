"""A burst of document events applied in batches (a few statements per org, one change per
document): the index ends exactly as applying the events one by one would leave it — the
newest version of each document, deletes final, stale versions ignored, the same id in two
orgs two documents, and every org's vocabulary counting each live document's words once."""
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from platform_client import eventually
from searchkit import Search, doc, emit_doc, emit_removal, new_id, WAIT

pytestmark = pytest.mark.serial  # pauses the search service: another suite's searches would wait


def words(d):
    return {w for w in re.findall(r"[a-z0-9]+", (d["title"] + " " + d["body"]).lower())}


def vocabulary(stack, org):
    row = stack.sql("search", "SELECT string_agg(word || '=' || docs, ' ' ORDER BY word)"
                              f" FROM search_vocabulary WHERE org_id = '{org}' AND docs <> 0")
    return {k: int(v) for k, v in (kv.split("=") for kv in row.split())} if row else {}


def test_a_burst_queued_while_search_is_paused_ends_as_one_by_one(stack):
    orgs = [new_id("org") for _ in range(3)]
    events, final = [], {}  # final[(org, id)]: the document standing at the end, or None
    for n, org in enumerate(orgs):
        for i in range(6):
            d = doc(org, f"Ferret{n} batch{i}", f"alpha{i} shared", id_=f"doc-batch-{i}")
            events.append(("put", d))
            final[(org, d["id"])] = d
        # a newer version, then a stale one after it (ignored)
        newer = dict(final[(org, "doc-batch-0")], version=3, title=f"Ferret{n} renamed",
                     body="omega")
        events += [("put", newer), ("put", dict(newer, version=2, title=f"Ferret{n} stale"))]
        final[(org, "doc-batch-0")] = newer
        # a delete, and an older version arriving after it (ignored: the tombstone stands)
        events += [("del", (final[(org, "doc-batch-1")], 5)),
                   ("put", dict(final[(org, "doc-batch-1")], version=4, title="Ferret back"))]
        final[(org, "doc-batch-1")] = None
    pid = stack.pid("search")
    os.kill(pid, signal.SIGSTOP)
    try:
        # each document's events in order (one partition key), the documents side by side
        by_doc = {}
        for kind, x in events:
            d = x if kind == "put" else x[0]
            by_doc.setdefault((d["org_id"], d["id"]), []).append((kind, x))

        def send(seq):
            for kind, x in seq:
                emit_doc(stack, x) if kind == "put" else emit_removal(stack, *x)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, by_doc.values()))
    finally:
        os.kill(pid, signal.SIGCONT)

    for n, org in enumerate(orgs):
        search = Search(stack, org)
        want_titles = {i: d["title"] for (o, i), d in final.items() if o == org and d is not None}

        def titles():
            return {h["id"]: h["title"] for h in search.get("", limit=100)["data"]}
        # every document's events are applied once its newest version is searchable
        eventually(lambda: titles() == want_titles, timeout=WAIT, interval=0.1,
                   what=f"org {n} indexed")
        assert search.ids(f"ferret{n} renamed ") == ["doc-batch-0"]
        assert search.ids("stale ") == [] and search.ids("back ") == []
        want = {}
        for i in want_titles:
            for w in words(final[(org, i)]):
                want[w] = want.get(w, 0) + 1
        assert vocabulary(stack, org) == want
    # the burst went in batches: documents applied in one transaction share its start time
    stamps = stack.sql("search", "SELECT count(DISTINCT indexed_at) FROM search_documents"
                                 " WHERE org_id IN ('" + "','".join(orgs) + "')")
    assert int(stamps) < len(final), f"{stamps} transactions for {len(final)} documents"


def test_the_periodic_recount_repairs_a_drifted_vocabulary(stack):
    """The job walks the orgs in order, one per SEARCH_RECOUNT_INTERVAL_MS (1 s by default; 20 ms
    here), from the first again after a restart. The org's id sorts before the ids the user
    service and the other tests give (time-ordered ids start "org_01", random ones any digit),
    so the job reaches it in a few steps however many orgs the suites left behind."""
    org = "org_000" + new_id("x")[3:]
    search = Search(stack, org)
    d = doc(org, "Okapi forest", "okapi", id_="doc-job-1")
    emit_doc(stack, d)
    search.wait_ids("okapi ", lambda ids: ids == ["doc-job-1"], "indexed")
    stack.sql("search", f"UPDATE search_vocabulary SET docs = 7 WHERE org_id = '{org}'")
    stack.sql("search", f"INSERT INTO search_vocabulary VALUES ('{org}', 'phantom', 2)")
    env_file = os.path.join(stack.run_dir, "env", "search.env")
    with open(env_file, "w") as f:
        f.write("SEARCH_RECOUNT_INTERVAL_MS=20\n")
    try:
        stack.stack_cmd("restart-service", "search")
        eventually(lambda: vocabulary(stack, org) == {"forest": 1, "okapi": 1}, timeout=WAIT,
                   what="the vocabulary recounted")
    finally:
        os.unlink(env_file)
        stack.stack_cmd("restart-service", "search")
