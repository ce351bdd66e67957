"""The billing service killed with SIGKILL while owners change their plans (each change retried
with its Idempotency-Key until it is acknowledged, as a client does) and while new orgs arrive
on user-events, then started again: every acknowledged change holds and is published once
(one event id; the relay may deliver it again), every new org has its one subscription, and
auth ends with every org's plan."""
import json
import os
import signal
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "billing", "tests", "component"))

import faultkit  # noqa: E402
from platform_client import eventually, new_id  # noqa: E402

CHANGERS = 60  # orgs whose owner moves to the starter plan
ARRIVALS = 60  # orgs created (org.created on user-events) around the kill


def change_until_acked(stack, org, acked, stop):
    url = stack.url("billing", "/v1/billing/subscription")
    headers = {"Authorization": f"Bearer {stack.token(org=org, role='owner')}",
               "Idempotency-Key": f"move-{org}"}
    while not stop.is_set():
        try:
            r = requests.post(url, json={"plan": "starter"}, headers=headers, timeout=10)
            if r.status_code == 200:
                assert r.json()["plan"] == "starter", r.text
                acked.append(org)
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)


def produce_created(stack, org):
    stack.produce_event("user-events", org, "com.techcorp.org.created", f"/orgs/{org}",
                        {"id": org, "name": f"Org {org[-4:]}", "plan": "free", "version": 1,
                         "settings": {}})


def by_org(stack, orgs, until):
    msgs = stack.kafka_messages("billing-events", timeout=60,
                                until=lambda ms: until(group(ms, orgs)))
    return group(msgs, orgs)


def group(msgs, orgs):
    """Each org's events by reason, once per event id: the outbox relay publishes at least
    once (a kill between the broker's ack and the row marked sent publishes it again, with the
    same id, which consumers deduplicate), so a redelivery is not a second change."""
    out, seen = {o: [] for o in orgs}, set()
    for m in msgs:
        ev_id = m["headers"].get("ce_id")
        if m.get("key") in out and ev_id not in seen:
            seen.add(ev_id)
            out[m["key"]].append(json.loads(m["payload"])["reason"])
    return out


def kill_when(stack, progress, at_least, what):
    """SIGKILL billing once progress() reaches at_least, then start it again; the progress at
    the kill (the caller checks the kill came before the end)."""
    pid = stack.pid("billing")
    deadline = time.time() + 60
    while progress() < at_least:
        assert time.time() < deadline, f"{what} does not start"
        time.sleep(0.01)
    at_kill = progress()
    os.kill(pid, signal.SIGKILL)
    assert faultkit.wait_gone(pid, 10)
    stack.stack_cmd("restart-service", "billing")
    return at_kill


def test_kill_9_during_plan_changes_loses_and_repeats_nothing(stack, healed):
    changers = [new_id("org") for _ in range(CHANGERS)]
    arrivals = [new_id("org") for _ in range(ARRIVALS)]
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=change_until_acked, args=(stack, o, acked, stop),
                                daemon=True) for o in changers]
    pid = stack.pid("billing")
    for o in arrivals[:ARRIVALS // 2]:
        produce_created(stack, o)
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < CHANGERS // 6:
        assert time.time() < deadline, "no change is acknowledged"
        time.sleep(0.005)
    acked_at_kill = len(acked)
    os.kill(pid, signal.SIGKILL)
    assert faultkit.wait_gone(pid, 10)
    for o in arrivals[ARRIVALS // 2:]:  # produced while billing is down
        produce_created(stack, o)
    stack.stack_cmd("restart-service", "billing")
    for t in threads:
        t.join(120)
    stop.set()
    assert sorted(acked) == sorted(changers), "some changes were never acknowledged"
    assert acked_at_kill < CHANGERS, "the kill came after every change"

    rows = stack.sql("billing", "SELECT org_id || '=' || plan_id FROM subscriptions WHERE org_id"
                                " IN (" + ",".join(f"'{o}'" for o in changers + arrivals) + ")")
    plans = dict(line.split("=") for line in rows.splitlines())
    assert all(plans.get(o) == "starter" for o in changers)
    eventually(lambda: len(stack.sql("billing", "SELECT org_id FROM subscriptions WHERE org_id IN ("
                                     + ",".join(f"'{o}'" for o in arrivals) + ")").split())
               == ARRIVALS, timeout=60, what="a subscription for every new org")

    def complete(g):
        return all(len(g[o]) >= 2 for o in changers) and all(len(g[o]) >= 1 for o in arrivals)
    events = by_org(stack, changers + arrivals, complete)
    for o in changers:
        assert events[o] == ["created", "plan_changed"], (o, events[o])
    for o in arrivals:
        assert events[o] == ["created"], (o, events[o])
    eventually(lambda: stack.sql("auth", "SELECT count(*) FROM orgs WHERE plan = 'starter' AND"
                                 " org_id IN (" + ",".join(f"'{o}'" for o in changers) + ")")
               == str(CHANGERS), timeout=60, what="auth holding every org's new plan")


INVOICED = 300  # subscriptions whose period ends together


def test_kill_9_during_an_invoice_run_and_dunning_bills_and_holds_each_once(stack, healed):
    tag = new_id("x")[2:12]
    stack.sql("billing", f"""
        INSERT INTO subscriptions (id, org_id, plan_id, price_version, status, anchor,
            current_period_start, current_period_end)
        SELECT 'sub_{tag}' || lpad(g::text, 16, '0'), 'org_{tag}' || lpad(g::text, 16, '0'),
            'starter', (SELECT max(version) FROM plan_prices WHERE plan_id = 'starter'), 'active',
            now() - interval '1 month', now() - interval '1 month', now() + interval '2 seconds'
        FROM generate_series(1, {INVOICED}) g;
        INSERT INTO usage_records (id, org_id, metric, quantity, occurred_at, source)
        SELECT 'fault:{tag}:' || g, 'org_{tag}' || lpad(g::text, 16, '0'), 'workflow_executions',
            5100, now() - interval '1 day', 'test' FROM generate_series(1, {INVOICED}) g""")

    def issued():
        return int(stack.sql("billing", f"SELECT count(*) FROM invoices WHERE org_id LIKE 'org_{tag}%'"))
    at_kill = kill_when(stack, issued, INVOICED // 5, "the invoice run")
    eventually(lambda: int(stack.sql("billing", f"SELECT count(*) FROM invoices WHERE org_id LIKE"
                                     f" 'org_{tag}%' AND status = 'finalized'")) == INVOICED,
               timeout=120, what="every period invoiced and finalized")
    assert at_kill < INVOICED, "the kill came after the run"
    per_sub = stack.sql("billing", f"SELECT count(*) FROM invoices WHERE org_id LIKE 'org_{tag}%'"
                                   " GROUP BY subscription_id HAVING count(*) <> 1")
    assert per_sub == "", "a period billed twice"
    # each invoice: base fee, usage (100 beyond the inclusion), one ledger transaction
    assert stack.sql("billing", f"SELECT DISTINCT total_minor FROM invoices WHERE org_id LIKE"
                                f" 'org_{tag}%'") == "4950"
    assert stack.sql("billing", f"SELECT count(*) FROM ledger_transactions WHERE org_id LIKE"
                                f" 'org_{tag}%' AND kind = 'invoice'") == str(INVOICED)
    nums = sorted(int(n[len("TC-"):]) for n in stack.sql(
        "billing", "SELECT number FROM invoices WHERE issuer = 'techcorp' AND number IS NOT NULL").split())
    assert nums == list(range(1, len(nums) + 1)), "invoice numbers with a gap or a repeat"

    # then every invoice stays unpaid past its grace, and billing is killed again while dunning
    # holds the plans: each org is held once (one hold, one payment_overdue event), none twice
    stack.sql("billing", f"""
        UPDATE invoices SET due_at = now() - interval '20 days', dunning_next_at = now()
         WHERE org_id LIKE 'org_{tag}%'""")

    def held():
        return int(stack.sql("billing", f"SELECT count(*) FROM dunning_holds"
                                        f" WHERE org_id LIKE 'org_{tag}%'"))
    at_kill = kill_when(stack, held, INVOICED // 5, "dunning")
    eventually(lambda: held() == INVOICED, timeout=120, what="every org's plan held")
    assert at_kill < INVOICED, "the kill came after dunning"
    assert stack.sql("billing", f"SELECT count(*) FROM subscriptions WHERE org_id LIKE"
                                f" 'org_{tag}%' AND plan_id = 'free'") == str(INVOICED)
    assert stack.sql("billing", f"SELECT count(*) FROM invoices WHERE org_id LIKE 'org_{tag}%'"
                                " AND grace_ended_at IS NOT NULL") == str(INVOICED)
    orgs = [f"org_{tag}" + str(g).rjust(16, "0") for g in range(1, INVOICED + 1)]
    got = by_org(stack, orgs, lambda g: all("payment_overdue" in r for r in g.values()))
    twice = {o: r for o, r in got.items() if r.count("payment_overdue") != 1}
    assert twice == {}, "a plan held twice, or never"


METERED = 20000  # executions started, produced in one burst (about a second of metering)


def test_kill_9_during_metering_counts_every_execution_once(stack, healed):
    import subprocess
    tag = "K" + new_id("x")[2:9]
    out = subprocess.run([os.path.join(stack.bin, "bench-produce"), "--brokers", stack.kafka,
                          "--count", str(METERED), "--orgs", "4", "--prefix", tag],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == str(METERED), out.stderr

    def metered():
        return int(stack.sql("billing", "SELECT count(*) FROM usage_records WHERE id LIKE"
                                        f" 'workflow_executions:exe_{tag}%'"))
    at_kill = kill_when(stack, metered, METERED // 10, "metering")
    eventually(lambda: metered() == METERED, timeout=120, what="every execution metered")
    assert at_kill < METERED, "the kill came after metering finished"
    time.sleep(1)  # anything redelivered after the restart has been handled by now
    assert metered() == METERED
    per_org = stack.sql("billing", "SELECT sum(quantity) FROM usage_records WHERE id LIKE"
                                   f" 'workflow_executions:exe_{tag}%' GROUP BY org_id ORDER BY 1")
    assert per_org.split() == [str(METERED // 4)] * 4


class Caller:
    """Requests of one org through the gateway, one at a time; counts those a service
    answered (the gateway bills exactly those)."""

    def __init__(self, stack):
        self.stack = stack
        self.org = new_id("org")
        self.token = faultkit.mint(stack, new_id("usr"), self.org, "owner")
        self.answered = 0
        self.http = requests.Session()

    def burst(self, n):
        for _ in range(n):
            r = self.http.get(self.stack.url("gateway", "/v1/users/me"), timeout=10,
                              headers={"Authorization": f"Bearer {self.token}"})
            assert r.status_code in (200, 404), r.text  # the user service's answer
            self.answered += 1

    def billed(self):
        rows = self.stack.sql("billing", "SELECT coalesce(sum(quantity), 0) FROM usage_records"
                                         f" WHERE org_id = '{self.org}' AND metric = 'api_requests'")
        return int(rows.strip())


def test_api_requests_are_billed_exactly_through_a_broker_outage_and_kills(stack, healed):
    """N requests through the gateway are N on the bill: with the broker down for 10 s, the
    gateway killed -9 while its records wait for the broker (its spool is adopted by the next
    gateway process), billing killed -9 while consuming them, and the gateway restarted
    gracefully right after requests. The gateway is killed between windows: a kill loses the
    window being counted, by design, and only that."""
    caller = Caller(stack)
    caller.burst(20)
    eventually(lambda: caller.billed() == 20, timeout=30, what="the first 20 billed")

    stack.broker(down=True)
    t_down = time.time()
    try:
        caller.burst(30)
        time.sleep(2.5)  # the window closed: its records are in the spool, not acknowledged
        gw = stack.pid("gateway")
        os.kill(gw, signal.SIGKILL)
        assert faultkit.wait_gone(gw, 10)
        stack.stack_cmd("restart-service", "gateway")
        caller.burst(30)  # counted by the new process, still no broker
        time.sleep(max(0.0, 10 - (time.time() - t_down)))
        assert caller.billed() == 20, "nothing can have arrived without the broker"
    finally:
        stack.broker(down=False)
    billing = stack.pid("billing")
    caller.burst(40)
    eventually(lambda: caller.billed() > 20, timeout=60, what="records after the outage")
    os.kill(billing, signal.SIGKILL)  # while the records of the outage come in
    assert faultkit.wait_gone(billing, 10)
    caller.burst(30)
    stack.stack_cmd("restart-service", "billing")
    eventually(lambda: caller.billed() >= caller.answered, timeout=90,
               what=f"{caller.answered} requests billed")
    # a graceful restart right after requests: the window being counted is closed and sent
    # before the gateway exits
    caller.burst(25)
    stack.stack_cmd("restart-service", "gateway")
    eventually(lambda: caller.billed() >= caller.answered, timeout=60,
               what=f"{caller.answered} requests billed after a graceful restart")
    time.sleep(3)  # resends of what was acknowledged late change nothing
    assert caller.billed() == caller.answered == 175
