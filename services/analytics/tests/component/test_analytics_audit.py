"""The audit log (GET /v1/audit-logs, /export, /verify): every audit-events record appended once
to its org's hash chain, filters and pages, JSON lines, admins only, no role able to change a
record, and a record changed or removed behind the service's back found by the verification."""
import subprocess
import time

import pytest

from analyticskit import Analytics
from platform_client import assert_error, eventually


def fill(a, n=5):
    ids = [a.audit(action="user.updated" if i % 2 else "api_key.revoked", actor=f"usr_{i % 2}",
                   target=("user", f"usr_t{i}"), before={"role": "viewer", "n": i},
                   after={"role": "editor", "n": i}) for i in range(n)]
    eventually(lambda: a.audit_records() == n, timeout=60, what=f"{n} audit records")
    return ids


def test_records_are_chained_once_each_and_listed_newest_first(stack):
    a = Analytics(stack)
    ids = fill(a)
    a.redeliver(ids[2])  # redelivered: not a second record
    a.audit(action="user.deleted")
    eventually(lambda: a.audit_records() == 6, timeout=60, what="the sixth record")
    time.sleep(0.5)
    assert a.audit_records() == 6
    r = a.api("GET", "/v1/audit-logs?limit=4", token=a.admin)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [x["seq"] for x in page["data"]] == [6, 5, 4, 3]
    assert page["data"][0]["action"] == "user.deleted"
    nxt = a.api("GET", f"/v1/audit-logs?limit=4&cursor={page['next_cursor']}", token=a.admin)
    assert [x["seq"] for x in nxt.json()["data"]] == [2, 1] and nxt.json()["next_cursor"] is None
    chain = sorted(page["data"] + nxt.json()["data"], key=lambda x: x["seq"])
    assert chain[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == p["hash"] for p, b in zip(chain, chain[1:]))
    assert chain[1]["before"] == {"n": 1, "role": "viewer"}


def test_filters_and_export(stack):
    a = Analytics(stack)
    fill(a, 6)
    def seqs(q):
        r = a.api("GET", "/v1/audit-logs" + q, token=a.admin)
        assert r.status_code == 200, r.text
        return [x["seq"] for x in r.json()["data"]]
    assert seqs("?action=user.updated") == [6, 4, 2]
    assert seqs("?action=api_key.") == [5, 3, 1]
    assert seqs("?actor=usr_0&resource_id=usr_t4") == [5]
    assert seqs("?resource_type=org") == []
    lines = a.export("?action=user.")
    assert [x["seq"] for x in lines] == [2, 4, 6]
    assert_error(a.api("GET", "/v1/audit-logs?from=soon", token=a.admin), 422)
    assert_error(a.api("GET", "/v1/audit-logs?cursor=bogus", token=a.admin), 400)


def test_only_admins_read_it_and_other_orgs_see_nothing(stack):
    a, b = Analytics(stack), Analytics(stack)
    fill(a, 2)
    for role in ("viewer", "editor"):
        assert_error(a.api("GET", "/v1/audit-logs", token=stack.token(org=a.org_id, role=role)),
                     403)
    owner = stack.token(org=a.org_id, role="owner")
    assert len(a.api("GET", "/v1/audit-logs", token=owner).json()["data"]) == 2
    assert b.api("GET", "/v1/audit-logs", token=b.admin).json()["data"] == []
    v = b.api("GET", "/v1/audit-logs/verify", token=b.admin).json()
    assert v == {"valid": True, "records": 0, "head": None, "first_break": None}


def test_the_service_role_cannot_change_or_remove_a_record(stack):
    a = Analytics(stack)
    fill(a, 1)
    for stmt in (f"UPDATE audit_log SET action = 'x' WHERE org_id = '{a.org_id}'",
                 f"DELETE FROM audit_log WHERE org_id = '{a.org_id}'", "TRUNCATE audit_log",
                 f"UPDATE {partition(stack)} SET action = 'x'"):
        try:
            with pytest.raises(subprocess.CalledProcessError) as e:
                stack.sql("analytics", f"SET ROLE tc_analytics; {stmt}")
            assert "permission denied" in e.value.stderr, e.value.stderr
        finally:
            stack.sql("analytics", "RESET ROLE")
    assert a.audit_records() == 1


def partition(stack):
    return stack.sql("analytics", "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON"
                                  " c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass"
                                  " ORDER BY 1 LIMIT 1")


def tamper(stack, sql):
    """As the database's superuser with triggers off: what an attacker with full access does."""
    stack.sql("analytics", f"SET session_replication_role = replica; {sql};"
                           " SET session_replication_role = origin")


def test_verification_finds_a_changed_a_removed_and_a_rehashed_record(stack):
    a = Analytics(stack)
    fill(a, 5)
    ok = a.api("GET", "/v1/audit-logs/verify", token=a.admin).json()
    assert ok["valid"] and ok["records"] == 5 and ok["first_break"] is None
    tamper(stack, "UPDATE audit_log SET after = '{\"role\": \"owner\"}'"
                  f" WHERE org_id = '{a.org_id}' AND seq = 3")
    v = a.api("GET", "/v1/audit-logs/verify", token=a.admin).json()
    assert v["valid"] is False and v["first_break"] == {"seq": 3, "reason": "content"}

    b = Analytics(stack)
    fill(b, 5)
    tamper(stack, f"DELETE FROM audit_log WHERE org_id = '{b.org_id}' AND seq = 2")
    v = b.api("GET", "/v1/audit-logs/verify", token=b.admin).json()
    assert v["valid"] is False and v["first_break"] == {"seq": 3, "reason": "missing"}

    c = Analytics(stack)
    fill(c, 4)
    # the content changed and its hash recomputed: the next record no longer links to it
    tamper(stack, "UPDATE audit_log SET action = 'user.viewed', hash = audit_record_hash("
                  "prev_hash, org_id, seq, event_id, actor_type, actor_id, actor_role,"
                  " 'user.viewed', target_type, target_id, before, after, request_id, source,"
                  f" occurred_at) WHERE org_id = '{c.org_id}' AND seq = 2")
    v = c.api("GET", "/v1/audit-logs/verify", token=c.admin).json()
    assert v["valid"] is False and v["first_break"] == {"seq": 3, "reason": "link"}

    d = Analytics(stack)
    fill(d, 3)
    tamper(stack, f"DELETE FROM audit_log WHERE org_id = '{d.org_id}' AND seq = 3")
    v = d.api("GET", "/v1/audit-logs/verify", token=d.admin).json()
    assert v["valid"] is False and v["first_break"] == {"seq": 3, "reason": "missing"}
