"""Helpers of the search suites: documents fed the way producers feed them (search's ingest API,
or a CloudEvent on a topic through kcat, binary mode), and searching until a condition holds
(the index is fed asynchronously: every wait is a generous functional timeout)."""
import secrets
import time
from datetime import datetime, timedelta, timezone

from platform_client import Api, eventually

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WAIT = 30  # seconds: the consumer lag is well under a second; this is only a functional bound


def new_id(prefix):
    return (prefix + "_" + secrets.choice("01234567") +
            "".join(secrets.choice(CROCKFORD) for _ in range(25)))


def rfc3339(offset_s=0):
    t = datetime.now(timezone.utc) + timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def produce(stack, topic, key, ce_type, source, data):
    """Publishes one CloudEvent in Kafka binary content mode; returns its id."""
    return stack.produce_event(topic, key, ce_type, source, data, ce_time=rfc3339())


def doc(org_id, title, body="", type_="note", id_=None, version=1, fields=None, offset_s=0):
    d = {"org_id": org_id, "type": type_, "id": id_ or new_id("doc"), "title": title,
         "body": body, "version": version, "updated_at": rfc3339(offset_s)}
    if fields is not None:
        d["fields"] = fields
    return d


def emit_doc(stack, d):
    """A producer's com.techcorp.search.document_upserted on search-events."""
    return produce(stack, "search-events", d["id"], "com.techcorp.search.document_upserted",
                   f"/documents/{d['id']}", d)


def emit_removal(stack, d, version):
    ref = {k: d[k] for k in ("org_id", "type", "id")}
    ref.update(version=version, updated_at=rfc3339())
    return produce(stack, "search-events", d["id"], "com.techcorp.search.document_deleted",
                   f"/documents/{d['id']}", ref)


class Search:
    """GET/POST /v1/search for one org, every response checked against proto/openapi/search.yaml."""

    def __init__(self, stack, org_id, role="viewer"):
        self.stack = stack
        self.api = Api(stack, "search")
        self.org_id = org_id
        self.token = stack.token(org=org_id, role=role)

    def get(self, q=None, **params):
        from urllib.parse import urlencode
        query = dict(params)
        if q is not None:
            query["q"] = q
        r = self.api("GET", "/v1/search?" + urlencode(query), token=self.token)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, body, **params):
        from urllib.parse import urlencode
        path = "/v1/search" + ("?" + urlencode(params) if params else "")
        r = self.api("POST", path, token=self.token, json_body=body)
        assert r.status_code == 200, r.text
        return r.json()

    def ids(self, q, **params):
        return [h["id"] for h in self.get(q, **params)["data"]]

    def wait_ids(self, q, pred, what, timeout=WAIT, **params):
        """Searches until pred(ids) holds; returns the last result."""
        last = {}

        def check():
            last["r"] = self.get(q, **params)
            return pred([h["id"] for h in last["r"]["data"]])
        eventually(check, timeout=timeout, interval=0.05, what=what)
        return last["r"]


def ingest(stack, d):
    r = Api(stack, "search")("POST", "/internal/v1/search/documents", token=stack.service_token(),
                             json_body=d)
    assert r.status_code == 202, r.text
    return r


def load(stack, search, docs):
    """Feeds docs through the ingest API and waits until every one is searchable."""
    for d in docs:
        ingest(stack, d)
    want = {d["id"] for d in docs}
    search.wait_ids("", lambda ids: want <= set(ids), "corpus indexed", limit=100)


def loaded_search(stack, org_id, corpus):
    """A Search of org_id once every document of corpus ({key: doc}) is searchable."""
    s = Search(stack, org_id)
    load(stack, s, list(corpus.values()))
    return s


def key_of(corpus):
    """The corpus key ({key: doc}) of a result's document id."""
    by_id = {d["id"]: k for k, d in corpus.items()}
    return by_id.__getitem__


def timed_until_found(search, q, doc_id, timeout=WAIT):
    t0 = time.monotonic()
    search.wait_ids(q, lambda ids: doc_id in ids, f"{doc_id} searchable", timeout=timeout)
    return time.monotonic() - t0
