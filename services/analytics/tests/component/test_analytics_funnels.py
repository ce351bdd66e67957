"""Funnels and retention (POST /v1/analytics/query, type funnel and retention) against a
pure-Python reference of the semantics query_model.h documents: seeded random events over a few
weeks with the awkward cases placed on purpose (events at the same instant, repeated first
steps, events exactly on a window's or the range's edge, later steps after `to`, skipped and
out-of-order steps, local midnights and DST changes), small data sets whose answers are written
out by hand (so the reference is checked too), conversion and drop-off, and the 422s of bad
funnel and retention bodies."""
import datetime as dt
import json
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from analyticskit import Analytics, iso, now
from platform_client import assert_error

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
SECOND, MINUTE, HOUR, DAY = 1000, 60 * 1000, 3600 * 1000, 86400 * 1000  # milliseconds
DEFAULT_WINDOW_S = 14 * 86400  # QM_WINDOW_DEFAULT
SEED = 20261204


# ------------------------------------------------------------------ time, in epoch milliseconds

def ms_of(t):
    return (t - EPOCH) // dt.timedelta(milliseconds=1)


def stamp(ms):
    """The instant as the service takes it: RFC 3339 UTC with milliseconds."""
    return iso(EPOCH + dt.timedelta(milliseconds=ms))


def parse_ms(text):
    return ms_of(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def utc_ms(d, hours=0, minutes=0):
    """Midnight UTC of the date d, plus hours and minutes."""
    return ms_of(dt.datetime(d.year, d.month, d.day, tzinfo=UTC)) + hours * HOUR + minutes * MINUTE


def day_of(ms):
    return (EPOCH + dt.timedelta(milliseconds=ms)).date()


def local(ms, tz):
    """The local wall-clock time of an instant (what `occurred_at AT TIME ZONE tz` gives)."""
    return (EPOCH + dt.timedelta(milliseconds=ms)).astimezone(tz).replace(tzinfo=None)


# ------------------------------------------------------------------ the reference

def json_eq(a, b):
    """JSON equality as jsonb has it: numbers by value (1 = 1.0), never a boolean for a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def matches(e, f):
    """One filter of query_model.h on one event."""
    prop, op, value = f["property"], f["op"], f.get("value")
    if prop in ("distinct_id", "event"):  # the columns
        col = e[prop]
        if op == "eq":
            return col == value
        if op == "neq":
            return col != value
        if op == "in":
            return col in value
        if op == "contains":
            return value.lower() in col.lower()
        return op == "is_set"
    props = e["properties"]
    if op == "is_set":
        return prop in props
    if op == "is_not_set":
        return prop not in props
    if op == "neq":  # also matches events without the property
        return not (prop in props and json_eq(props[prop], value))
    if prop not in props:
        return False
    v = props[prop]
    if op == "eq":
        return json_eq(v, value)
    if op == "in":
        return any(json_eq(v, x) for x in value)
    if op == "contains":
        text = v if isinstance(v, str) else json.dumps(v)
        return value.lower() in text.lower()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False  # only JSON numbers compare
    return {"gt": v > value, "gte": v >= value, "lt": v < value, "lte": v <= value}[op]


def persons(events):
    """Events by distinct_id, each person's in time order; "" is no one."""
    out = defaultdict(list)
    for e in sorted(events, key=lambda e: e["ms"]):
        if e["distinct_id"] != "":
            out[e["distinct_id"]].append(e)
    return out


def reference_funnel(events, q):
    """The funnel query q (the request body) over events, as the response's data. A person
    enters with their first step-1 event in [from, to) (t0); step k is their earliest matching
    event strictly after step k-1's time and at most t0 + window (possibly after `to`)."""
    frm, to = parse_ms(q["from"]), parse_ms(q["to"])
    window = q.get("window_seconds", DEFAULT_WINDOW_S) * SECOND
    steps = q["steps"]
    top = q.get("filters", [])

    def step_ok(e, k):
        s = steps[k]
        return e["event"] == s["event"] and all(matches(e, f) for f in top + s.get("filters", []))

    counts = [0] * len(steps)
    for evs in persons(events).values():
        starts = [e["ms"] for e in evs if step_ok(e, 0) and frm <= e["ms"] < to]
        if not starts:
            continue
        t0 = t = min(starts)
        counts[0] += 1
        for k in range(1, len(steps)):
            later = [e["ms"] for e in evs if step_ok(e, k) and t < e["ms"] <= t0 + window]
            if not later:
                break
            t = min(later)
            counts[k] += 1
    first = counts[0]
    return [{"event": s["event"], "count": n, "conversion": n / first if first else 0,
             "drop_off": (counts[k - 1] if k else n) - n}
            for k, (s, n) in enumerate(zip(steps, counts))]


def period_start(L, period):
    d = L.date()
    if period == "week":
        return d - dt.timedelta(days=d.weekday())  # Monday
    if period == "month":
        return d.replace(day=1)
    return d


def period_index(L, p0, period):
    """Local calendar units from the cohort period's start p0 to the local time L."""
    if period == "month":
        return (L.year - p0.year) * 12 + L.month - p0.month
    if period == "week":
        return (period_start(L, "week") - p0).days // 7
    return (L.date() - p0).days


def reference_retention(events, q):
    """The retention query q over events, as the response's data: cohorts by the local period
    of each person's first cohort_event in [from, to); returned[k] the persons with a
    return_event at or after that first cohort event in local period k of the cohort (returns
    after `to` count)."""
    frm, to = parse_ms(q["from"]), parse_ms(q["to"])
    tz = ZoneInfo(q.get("timezone", "UTC"))
    period, periods = q.get("period", "day"), q.get("periods", 7)
    top = q.get("filters", [])

    def ok(e, name):
        return e["event"] == name and all(matches(e, f) for f in top)

    cohorts = defaultdict(dict)  # period start -> {person: t0}
    for person, evs in persons(events).items():
        firsts = [e["ms"] for e in evs if ok(e, q["cohort_event"]) and frm <= e["ms"] < to]
        if firsts:
            t0 = min(firsts)
            cohorts[period_start(local(t0, tz), period)][person] = t0
    rows = []
    for p0 in sorted(cohorts):
        members = cohorts[p0]
        returned = [set() for _ in range(periods)]
        for person, t0 in members.items():
            for e in persons(events)[person]:
                if ok(e, q["return_event"]) and e["ms"] >= t0:
                    # k < 0 only when a DST change moves local time back across a period
                    # start: the event is still after the first cohort event, so period 0
                    k = max(0, period_index(local(e["ms"], tz), p0, period))
                    if k < periods:
                        returned[k].add(person)
        rows.append({"cohort": p0.isoformat(), "size": len(members),
                     "returned": [len(s) for s in returned]})
    return rows


# ------------------------------------------------------------------ data

def ev(name, person, ms, **props):
    return {"event": name, "distinct_id": person, "ms": ms, "properties": props}


def random_props(rng, pro):
    p = {}
    if rng.random() < 0.9:  # sometimes no plan at all (neq matches it, eq and in do not)
        p["plan"] = "pro" if rng.random() < pro else "free"
    x = rng.random()
    if x < 0.8:
        p["n"] = rng.randint(0, 9)
    elif x < 0.9:
        p["n"] = rng.randint(0, 90) / 10
    else:
        p["n"] = str(rng.randint(0, 9))  # a string: never compares as a number
    return p


GAPS = (0, 0, 1, 250, 5 * SECOND, MINUTE, 7 * MINUTE, 25 * MINUTE, HOUR, 3 * HOUR, DAY - 1,
        DAY, 2 * DAY, 5 * DAY)


def random_events(rng, start, end, n_persons=40):
    """Sessions of n_persons between start and end (ms): page views, then perhaps a sign-up, a
    cart, a purchase and a log-out, sometimes shuffled, steps skipped at random, gaps from 0 ms
    (the same instant) to days. Nothing at or after end."""
    out = []
    for i in range(n_persons):
        person = f"u{i:02d}"
        pro = rng.random()
        for _ in range(rng.randint(1, 4)):
            t = start + rng.randrange(end - start)
            names = ["pageview"] * rng.randint(1, 3)
            names += [n for n, p in (("signup", .6), ("add_to_cart", .5), ("purchase", .4),
                                     ("logout", .3)) if rng.random() < p]
            if rng.random() < 0.15:
                rng.shuffle(names)
            for name in names:
                if t >= end:
                    break
                out.append(ev(name, person, t, **random_props(rng, pro)))
                t += rng.choice(GAPS)
    return out


def tricky_events(frm, to):
    """The cases a funnel or retention gets wrong easily, one person each, between frm and to
    (ms) with a few after to (and none later than to + 4 h)."""
    out = []

    def add(person, name, t, **props):
        out.append(ev(name, person, t, **{"plan": "pro", "n": 5, **props}))

    # exactly on the edge of the 1 h and 1 day windows (counts), and 1 ms past it (does not)
    t = frm + 2 * DAY + 123
    add("edge_a", "pageview", t)
    add("edge_a", "signup", t + HOUR)
    add("edge_a", "add_to_cart", t + DAY)
    add("edge_a", "purchase", t + DAY + 1)
    t = frm + 3 * DAY + 7 * HOUR + 456
    add("edge_b", "pageview", t)
    add("edge_b", "signup", t + HOUR + 1)
    add("edge_b", "add_to_cart", t + HOUR + 2)
    # the same instant as the previous step does not count
    t = frm + 4 * DAY + 999
    add("same_a", "pageview", t)
    add("same_a", "signup", t)
    add("same_a", "add_to_cart", t + 1)
    t = frm + 5 * DAY + 10 * HOUR
    add("same_b", "pageview", t)
    add("same_b", "signup", t + MINUTE)
    add("same_b", "add_to_cart", t + MINUTE)
    add("same_b", "add_to_cart", t + MINUTE)  # twice at that instant: still not after it
    # repeated first steps: the first one is the entry, the later ones are no new attempts
    t = frm + 6 * DAY
    add("again", "pageview", t)
    add("again", "pageview", t + 3 * DAY)
    add("again", "signup", t + 3 * DAY + 5 * MINUTE)
    # a first step before `from` does not enter, the first inside does
    add("early", "signup", frm - 30 * MINUTE)
    add("early", "pageview", frm - HOUR)
    add("early", "pageview", frm + DAY)
    add("early", "signup", frm + DAY + MINUTE)
    # exactly at `from` (in) and exactly at `to` (out)
    add("at_from", "pageview", frm)
    add("at_from", "signup", frm + 10 * MINUTE)
    add("at_to", "pageview", to)
    add("at_to", "signup", to + MINUTE)
    # later steps after `to` count; an entry after `to` does not
    add("late", "pageview", to - 10 * MINUTE)
    add("late", "signup", to + 20 * MINUTE)
    add("late", "add_to_cart", to + 50 * MINUTE)
    add("late", "purchase", to + 3 * HOUR)
    add("after", "pageview", to + HOUR)
    add("after", "signup", to + 2 * HOUR)
    # a skipped step, and steps out of order
    t = frm + 8 * DAY + 3 * HOUR
    add("skip", "pageview", t)
    add("skip", "add_to_cart", t + 2 * MINUTE)
    add("skip", "purchase", t + 4 * MINUTE)
    t = frm + 9 * DAY
    add("order", "pageview", t)
    add("order", "add_to_cart", t + MINUTE)
    add("order", "signup", t + 2 * MINUTE)
    # a step's filter skips an event: the next matching one is the step
    t = frm + 10 * DAY
    add("plan", "pageview", t, plan="free")
    add("plan", "signup", t + MINUTE, plan="free")
    add("plan", "signup", t + 2 * HOUR, plan="pro", n=7)
    add("plan", "purchase", t + 3 * HOUR, n=2.5)
    add("plan", "purchase", t + 4 * HOUR, n="9")
    # retention: a return before the first cohort event does not count, one at its instant does
    t = frm + 11 * DAY + 12 * HOUR
    add("ret", "pageview", t - HOUR)
    add("ret", "signup", t)
    add("ret", "pageview", t)
    add("ret", "purchase", t + DAY)
    # local midnights: 23:30 UTC is 00:30 the next day in Berlin, 18:30 in New York; 04:30 UTC
    # is 23:30 the day before in New York (in winter; an hour later in summer)
    d = day_of(frm + 12 * DAY)
    add("midnight", "signup", utc_ms(d, 23, 30))
    add("midnight", "pageview", utc_ms(d, 23, 45))
    add("midnight", "pageview", utc_ms(d + dt.timedelta(days=1), 4, 30))
    add("midnight", "add_to_cart", utc_ms(d + dt.timedelta(days=1), 4, 30))
    add("midnight", "purchase", utc_ms(d + dt.timedelta(days=2), 3))
    # week starts: Sunday 23:30 UTC is Monday in Berlin; Monday 03:00 UTC is Sunday in New York
    d = day_of(frm + DAY)
    sunday = d + dt.timedelta(days=(6 - d.weekday()) % 7)
    add("sunday", "signup", utc_ms(sunday, 23, 30))
    add("sunday", "pageview", utc_ms(sunday, 23, 30))
    add("sunday", "purchase", utc_ms(sunday + dt.timedelta(days=1), 3))
    add("sunday", "pageview", utc_ms(sunday + dt.timedelta(days=7), 2))
    return out


def recent_dataset():
    """About three weeks ending two days ago: (from, to, events), events from two days before
    `from` to 36 h after `to` (12 h before now at the latest)."""
    to = ms_of((now() - dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0))
    frm = to - 21 * DAY
    rng = random.Random(SEED)
    events = random_events(rng, frm - 2 * DAY, to + 36 * HOUR) + tricky_events(frm, to)
    return frm, to, events


def dst_year():
    """The latest year whose late-October and November (and Dec 1) are over: its DST changes are
    within the 730 days of retention."""
    t = now()
    return t.year if t >= dt.datetime(t.year, 12, 3, tzinfo=UTC) else t.year - 1


def fall_back_dates(year):
    """Europe/Berlin's last Sunday of October (03:00 CEST -> 02:00 CET at 01:00 UTC) and
    America/New_York's first Sunday of November (02:00 EDT -> 01:00 EST at 06:00 UTC)."""
    oct31, nov1 = dt.date(year, 10, 31), dt.date(year, 11, 1)
    berlin = oct31 - dt.timedelta(days=(oct31.weekday() + 1) % 7)
    new_york = nov1 + dt.timedelta(days=(6 - nov1.weekday()) % 7)
    # the rules the hand-placed events assume
    ber, ny = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    for zone, day, hour, before, after in ((ber, berlin, 1, 2, 1), (ny, new_york, 6, -4, -5)):
        ms = utc_ms(day, hour)
        assert (EPOCH + dt.timedelta(milliseconds=ms - 1)).astimezone(zone).utcoffset() == \
            dt.timedelta(hours=before), (zone, day)
        assert (EPOCH + dt.timedelta(milliseconds=ms)).astimezone(zone).utcoffset() == \
            dt.timedelta(hours=after), (zone, day)
    return berlin, new_york


def dst_dataset():
    """Late October to mid-November of dst_year(), over both fall-back changes: (from, to,
    events), random sessions plus events placed around the changes and a month's end."""
    y = dst_year()
    ber, ny = fall_back_dates(y)
    frm, to = utc_ms(dt.date(y, 10, 20)), utc_ms(dt.date(y, 11, 12))
    rng = random.Random(SEED + 1)
    events = random_events(rng, utc_ms(dt.date(y, 10, 18)), utc_ms(dt.date(y, 11, 15)))

    def add(person, name, t, **props):
        events.append(ev(name, person, t, **{"plan": "pro", "n": 5, **props}))

    one = dt.timedelta(days=1)
    # Berlin: 02:30 CEST, then 02:15 CET (an earlier wall clock, a later instant)
    add("ber_a", "signup", utc_ms(ber, 0, 30))
    add("ber_a", "pageview", utc_ms(ber, 1, 15))
    add("ber_a", "purchase", utc_ms(ber, 1, 15))
    # Berlin's 25-hour Sunday: 00:30 CEST and 23:30 CET are 24 hours apart, the same local day
    add("ber_b", "pageview", utc_ms(ber - one, 22, 30))
    add("ber_b", "signup", utc_ms(ber - one, 22, 30))
    add("ber_b", "pageview", utc_ms(ber, 22, 30))
    add("ber_b", "purchase", utc_ms(ber, 22, 30))
    # Sunday 23:30 UTC is Monday 00:30 CET: the next week in Berlin
    add("ber_c", "signup", utc_ms(ber, 23, 30))
    add("ber_c", "pageview", utc_ms(ber + one, 5))
    # New York: 01:30 EDT, then 01:15 EST; and a pageview and a sign-up exactly 1 h apart that
    # both read 01:30 on the wall clock
    add("ny_a", "pageview", utc_ms(ny, 5, 30))
    add("ny_a", "signup", utc_ms(ny, 5, 30))
    add("ny_a", "signup", utc_ms(ny, 6, 30))
    add("ny_a", "pageview", utc_ms(ny, 6, 15))
    # New York's 25-hour Sunday: 00:30 EDT and 23:30 EST
    add("ny_b", "signup", utc_ms(ny, 4, 30))
    add("ny_b", "pageview", utc_ms(ny + one, 4, 30))
    # October's last evening in New York is November in UTC and in Berlin
    add("ny_c", "pageview", utc_ms(dt.date(y, 11, 1), 3, 30))
    add("ny_c", "signup", utc_ms(dt.date(y, 11, 1), 3, 30))
    add("ny_c", "pageview", utc_ms(dt.date(y, 11, 1), 4, 30))
    # October 31st 23:30 UTC is November in Berlin
    add("ber_m", "signup", utc_ms(dt.date(y, 10, 31), 23, 30))
    add("ber_m", "pageview", utc_ms(dt.date(y, 11, 1), 10))
    return frm, to, events


# ------------------------------------------------------------------ calls

def capture(a, events):
    batch = [{"event": e["event"], "distinct_id": e["distinct_id"],
              "properties": e["properties"], "timestamp": stamp(e["ms"]),
              "uuid": f"{a.org_id}-{i}"} for i, e in enumerate(events)]
    for i in range(0, len(batch), 1000):
        chunk = batch[i:i + 1000]
        r = a.capture({"batch": chunk})
        assert r.status_code == 202, r.text
        assert r.json() == {"accepted": len(chunk), "duplicates": 0}
    assert a.stored() == len(events)


def answer(a, q):
    r = a.query(q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == q["type"]
    assert body["meta"]["rows"] == len(body["data"])  # a funnel's steps, retention's cohorts
    return body["data"]


def same_steps(got, want, q=None):
    """Funnel steps equal: event, count and drop-off exactly, conversion as a float."""
    assert [(s["event"], s["count"], s["drop_off"]) for s in got] == \
        [(s["event"], s["count"], s["drop_off"]) for s in want], q
    assert [s["conversion"] for s in got] == pytest.approx([s["conversion"] for s in want]), q


def funnel(frm, to, steps, window=None, filters=None, **extra):
    q = {"type": "funnel", "from": stamp(frm), "to": stamp(to),
         "steps": [s if isinstance(s, dict) else {"event": s} for s in steps], **extra}
    if window is not None:
        q["window_seconds"] = window
    if filters:
        q["filters"] = filters
    return q


def retention(frm, to, cohort_event, return_event, **extra):
    return {"type": "retention", "from": stamp(frm), "to": stamp(to),
            "cohort_event": cohort_event, "return_event": return_event, **extra}


def check_funnel(a, events, q):
    want = reference_funnel(events, q)
    same_steps(answer(a, q), want, q)
    return want


def check_retention(a, events, q):
    want = reference_retention(events, q)
    assert answer(a, q) == want, q
    return want


def counts(steps):
    return [s["count"] for s in steps]


# ------------------------------------------------------------------ hand-computed

def hand_funnel_events(b):
    """A handful of persons around b (ms), minutes after it, `from` an hour before b and `to`
    two hours after."""
    m = MINUTE
    pro, free = {"plan": "pro"}, {"plan": "free"}
    return [
        ev("view", "a", b, **pro), ev("signup", "a", b + 30 * m, **pro),
        ev("buy", "a", b + 60 * m, amount=100, **pro),            # exactly t0 + 1 h
        ev("view", "b", b, **pro), ev("view", "b", b + 45 * m, **pro),  # a second view
        ev("signup", "b", b + 50 * m, **pro), ev("buy", "b", b + 90 * m, amount=20, **pro),
        ev("view", "c", b, **free), ev("signup", "c", b, **free),  # the same instant
        ev("signup", "d", b + 5 * m, **pro),                       # never viewed
        ev("view", "e", b, **free), ev("buy", "e", b + 10 * m, amount=70, **free),  # skips one
        ev("view", "g", b + 119 * m, **pro), ev("signup", "g", b + 150 * m, **pro),  # after to
        ev("view", "h", b + 120 * m, **pro), ev("signup", "h", b + 121 * m, **pro),  # at to
        ev("view", "i", b - 60 * m, **pro), ev("signup", "i", b - 59 * m, **pro),  # at from
    ]


def test_a_small_funnel_matches_hand_computed_counts_conversion_and_drop_off(stack):
    a = Analytics(stack)
    b = ms_of((now() - dt.timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0))
    events = hand_funnel_events(b)
    capture(a, events)
    frm, to = b - HOUR, b + 2 * HOUR

    def both(q, want):
        """The service and the reference both give the hand-computed steps."""
        same_steps(reference_funnel(events, q), want, q)
        same_steps(answer(a, q), want, q)

    def steps(names, cnts):
        return [{"event": n, "count": c, "conversion": c / cnts[0] if cnts[0] else 0,
                 "drop_off": (cnts[k - 1] if k else c) - c}
                for k, (n, c) in enumerate(zip(names, cnts))]

    vsb = ["view", "signup", "buy"]
    # 1 h: a (buy exactly at t0 + 1 h), b (buy 30 min too late), g (sign-up after `to`), i (view
    # at `from`) sign up; c's sign-up is at its view's instant, e skips it; d never viewed and h
    # viewed at `to`
    both(funnel(frm, to, vsb, 3600), [
        {"event": "view", "count": 6, "conversion": 1, "drop_off": 0},
        {"event": "signup", "count": 4, "conversion": 4 / 6, "drop_off": 2},
        {"event": "buy", "count": 1, "conversion": 1 / 6, "drop_off": 3}])
    both(funnel(frm, to, vsb, 3599), steps(vsb, [6, 4, 0]))
    both(funnel(frm, to, vsb), steps(vsb, [6, 4, 2]))  # 14 days: b buys too
    both(funnel(frm, to, ["view", "signup", {"event": "buy", "filters": [
        {"property": "amount", "op": "gt", "value": 50}]}]), steps(vsb, [6, 4, 1]))
    both(funnel(frm, to, vsb, filters=[{"property": "plan", "op": "eq", "value": "pro"}]),
         [{"event": "view", "count": 4, "conversion": 1, "drop_off": 0},
          {"event": "signup", "count": 4, "conversion": 1, "drop_off": 0},
          {"event": "buy", "count": 2, "conversion": 0.5, "drop_off": 2}])
    both(funnel(frm, to, ["view", "buy"], 600), steps(["view", "buy"], [6, 1]))  # e, on the edge
    both(funnel(frm, to, ["view", "view"]), steps(["view", "view"], [6, 1]))  # b's second view
    # sign-ups in range: a, b, c, d, i (g's and h's are after `to`); a and b buy within 1 h
    both(funnel(frm, to, ["signup", "buy"], 3600), steps(["signup", "buy"], [5, 2]))
    both(funnel(frm, to, ["nothing", "view"]),
         [{"event": "nothing", "count": 0, "conversion": 0, "drop_off": 0},
          {"event": "view", "count": 0, "conversion": 0, "drop_off": 0}])


def test_a_small_retention_matches_hand_computed_cohorts_in_utc_and_tokyo(stack):
    a = Analytics(stack)
    d = day_of(ms_of(now() - dt.timedelta(days=4)))
    d1, d2 = d + dt.timedelta(days=1), d + dt.timedelta(days=2)
    events = [
        ev("signup", "p", utc_ms(d, 10)), ev("visit", "p", utc_ms(d, 9)),  # before: no
        ev("visit", "p", utc_ms(d1, 8)),
        ev("signup", "q", utc_ms(d, 23)), ev("visit", "q", utc_ms(d, 23)),  # the same instant
        ev("visit", "q", utc_ms(d2)),                                       # at `to`: counts
        ev("signup", "r", utc_ms(d, 22)), ev("signup", "r", utc_ms(d1, 1)),
        ev("visit", "r", utc_ms(d1, 0, 30)),
        ev("signup", "s", utc_ms(d1, 12)),
        ev("signup", "t", utc_ms(d2)), ev("visit", "t", utc_ms(d2, 1)),  # signs up at `to`
    ]
    capture(a, events)
    q = retention(utc_ms(d), utc_ms(d2), "signup", "visit", periods=3)
    utc = [{"cohort": d.isoformat(), "size": 3, "returned": [1, 2, 1]},
           {"cohort": d1.isoformat(), "size": 1, "returned": [0, 0, 0]}]
    # Tokyo, UTC+9 all year: p signs up at 19:00 on d, q at 08:00 and r at 07:00 on d + 1
    tokyo = [{"cohort": d.isoformat(), "size": 1, "returned": [0, 1, 0]},
             {"cohort": d1.isoformat(), "size": 3, "returned": [2, 1, 0]}]
    # the same event for both: returned[0] is the cohort's size
    same = [{"cohort": d.isoformat(), "size": 3, "returned": [3, 1]},
            {"cohort": d1.isoformat(), "size": 1, "returned": [1, 0]}]
    cases = [(q, utc), ({**q, "timezone": "Asia/Tokyo"}, tokyo),
             ({**q, "return_event": "signup", "periods": 2}, same)]
    for body, want in cases:
        assert reference_retention(events, body) == want, body
        assert answer(a, body) == want, body
    default = {k: v for k, v in q.items() if k != "periods"}  # day, 7 periods
    assert answer(a, default) == [{**r, "returned": r["returned"] + [0] * 4} for r in utc]


def test_retention_across_a_dst_change_counts_local_days_weeks_and_months(stack):
    a = Analytics(stack)
    y = dst_year()
    _, s = fall_back_dates(y)  # New York's fall-back Sunday: 02:00 EDT is 01:00 EST at 06:00Z
    one = dt.timedelta(days=1)
    sat, mon = s - one, s + one
    nov1, dec1 = dt.date(y, 11, 1), dt.date(y, 12, 1)
    events = [
        # p1: signs up at 00:30 EDT; visits at 23:30 EST, 24 h later on the same local day (a
        # 25-hour day), and at 00:30 EST on Monday
        ev("signup", "p1", utc_ms(s, 4, 30)),
        ev("visit", "p1", utc_ms(mon, 4, 30)), ev("visit", "p1", utc_ms(mon, 5, 30)),
        # p2: signs up at 01:30 EDT; a visit at 01:20 EDT is before it, one at 01:15 EST after
        ev("signup", "p2", utc_ms(s, 5, 30)),
        ev("visit", "p2", utc_ms(s, 5, 20)), ev("visit", "p2", utc_ms(s, 6, 15)),
        # p3: only a visit before signing up
        ev("visit", "p3", utc_ms(s, 4, 10)), ev("signup", "p3", utc_ms(s, 4, 20)),
        # p4: signs up Saturday 23:30 EDT (Sunday in UTC), visits Monday 02:00 EST
        ev("signup", "p4", utc_ms(s, 3, 30)), ev("visit", "p4", utc_ms(mon, 7)),
        # p5: signs up Monday and visits at that very instant
        ev("signup", "p5", utc_ms(mon, 17)), ev("visit", "p5", utc_ms(mon, 17)),
        # months: p6 signs up October 31st 23:30 EDT and visits November 1st 00:30 EDT; p7 signs
        # up November 1st 00:30 EDT, visits November 30th 23:30 EST and December 1st 00:30 EST
        ev("m_signup", "p6", utc_ms(nov1, 3, 30)), ev("m_visit", "p6", utc_ms(nov1, 4, 30)),
        ev("m_signup", "p7", utc_ms(nov1, 4, 30)),
        ev("m_visit", "p7", utc_ms(dec1, 4, 30)), ev("m_visit", "p7", utc_ms(dec1, 5, 30)),
    ]
    capture(a, events)
    ny = "America/New_York"
    q = retention(utc_ms(s - 3 * one), utc_ms(s + 3 * one), "signup", "visit", timezone=ny,
                  periods=3)
    monday_before = s - dt.timedelta(days=6)
    month = retention(utc_ms(dt.date(y, 10, 25)), utc_ms(dt.date(y, 11, 15)), "m_signup",
                      "m_visit", timezone=ny, period="month", periods=2)
    cases = [
        (q, [{"cohort": sat.isoformat(), "size": 1, "returned": [0, 0, 1]},
             {"cohort": s.isoformat(), "size": 3, "returned": [2, 1, 0]},
             {"cohort": mon.isoformat(), "size": 1, "returned": [1, 0, 0]}]),
        # in UTC p4 signs up on Sunday and p1's visits are both on Monday
        ({**q, "timezone": "UTC"},
         [{"cohort": s.isoformat(), "size": 4, "returned": [1, 2, 0]},
          {"cohort": mon.isoformat(), "size": 1, "returned": [1, 0, 0]}]),
        # weeks start on Monday: Sunday 23:30 EST is week 0, Monday 00:30 EST week 1
        ({**q, "period": "week", "periods": 2},
         [{"cohort": monday_before.isoformat(), "size": 4, "returned": [2, 2]},
          {"cohort": mon.isoformat(), "size": 1, "returned": [1, 0]}]),
        (month, [{"cohort": f"{y}-10-01", "size": 1, "returned": [0, 1]},
                 {"cohort": f"{y}-11-01", "size": 1, "returned": [1, 1]}]),
        ({**month, "timezone": "Europe/Berlin"},
         [{"cohort": f"{y}-11-01", "size": 2, "returned": [1, 1]}]),
    ]
    for body, want in cases:
        assert reference_retention(events, body) == want, body
        assert answer(a, body) == want, body


# ------------------------------------------------------------------ against the reference

def test_funnels_match_the_reference(stack):
    frm, to, events = recent_dataset()
    # the data holds the traps it is meant to (the reference alone, no service)
    two = ["pageview", "signup"]
    three = ["pageview", "signup", "add_to_cart"]
    ref = [counts(reference_funnel(events, funnel(frm, to, two, w))) for w in (3599, 3600, 3601)]
    assert ref[0][1] < ref[1][1] < ref[2][1]  # edge_a exactly on the edge, edge_b 1 ms past it
    ref = [counts(reference_funnel(events, funnel(frm, to, three, w))) for w in (86399, 86400)]
    assert ref[0][2] < ref[1][2]
    assert counts(reference_funnel(events, funnel(frm, to, ["pageview", "pageview"], 60)))[1] > 0

    a = Analytics(stack)
    capture(a, events)
    for q in [
        funnel(frm, to, two, 3600),
        funnel(frm, to, two, 86400),
        funnel(frm, to, two),  # 14 days by default
        funnel(frm, to, two, 7776000),  # the longest window
        funnel(frm, to, three, 1),
        funnel(frm, to, three, 86400),
        funnel(frm, to, ["pageview", "add_to_cart", "purchase"], 3 * 86400),
        funnel(frm, to, ["pageview", "signup", "add_to_cart", "purchase", "logout"]),
        funnel(frm, to, ["pageview", "pageview", "purchase"], 86400),
        funnel(frm, to, ["signup", "purchase"], 7 * 86400),
        funnel(frm, to, ["purchase", "pageview", "signup", "pageview"], 2 * 86400),
        funnel(frm + 7 * DAY, to - 7 * DAY, three, 4 * 3600),  # a narrower range
    ]:
        want = check_funnel(a, events, q)
        assert want[0]["count"] > 0, q


def test_funnel_filters_match_the_reference(stack):
    frm, to, events = recent_dataset()
    a = Analytics(stack)
    capture(a, events)
    pro = {"property": "plan", "op": "eq", "value": "pro"}
    for q in [
        # top-level filters apply to every step
        funnel(frm, to, ["pageview", "signup", "purchase"], 86400, [pro]),
        funnel(frm, to, ["pageview", "add_to_cart", "purchase"], 3 * 86400,
               [{"property": "plan", "op": "neq", "value": "free"}]),  # and no plan at all
        funnel(frm, to, ["pageview", "signup"], 3600,
               [{"property": "n", "op": "lt", "value": 7}, {"property": "n", "op": "is_set"}]),
        # a step's filters apply to that step only
        funnel(frm, to, ["pageview", {"event": "signup", "filters": [pro]},
                         {"event": "purchase", "filters": [
                             {"property": "n", "op": "gte", "value": 2.5}]}], 86400),
        funnel(frm, to, [{"event": "pageview", "filters": [
                             {"property": "n", "op": "gt", "value": 2}]},
                         {"event": "add_to_cart", "filters": [
                             {"property": "plan", "op": "in", "value": ["pro", "enterprise"]}]},
                         "purchase"], 3 * 86400),
        funnel(frm, to, ["pageview", {"event": "signup", "filters": [
                             {"property": "distinct_id", "op": "in",
                              "value": [f"u{i:02d}" for i in range(0, 40, 3)] + ["plan"]}]},
                         {"event": "add_to_cart", "filters": [
                             {"property": "plan", "op": "contains", "value": "PR"}]}]),
        # both
        funnel(frm, to, ["pageview", {"event": "signup", "filters": [
                             {"property": "n", "op": "lte", "value": 6}]}, "add_to_cart"],
               2 * 86400, [{"property": "distinct_id", "op": "neq", "value": "u03"},
                           {"property": "event", "op": "neq", "value": "logout"}]),
        funnel(frm, to, ["signup", {"event": "purchase", "filters": [
                             {"property": "n", "op": "eq", "value": 5}]}], 5 * 86400,
               [{"property": "plan", "op": "is_set"}]),
    ]:
        check_funnel(a, events, q)


def test_retention_matches_the_reference(stack):
    frm, to, events = recent_dataset()
    a = Analytics(stack)
    capture(a, events)
    for q in [
        retention(frm, to, "signup", "pageview"),  # day, 7 periods, UTC by default
        retention(frm, to, "signup", "pageview", timezone="Europe/Berlin", periods=10),
        retention(frm, to, "pageview", "purchase", period="week", periods=4,
                  timezone="Europe/Berlin", filters=[{"property": "plan", "op": "eq",
                                                      "value": "pro"}]),
        retention(frm, to, "signup", "pageview", period="week", periods=5),
        retention(frm, to, "signup", "add_to_cart", timezone="America/New_York", periods=10,
                  filters=[{"property": "n", "op": "gte", "value": 3}]),
        retention(frm, to, "signup", "purchase", period="week", periods=3,
                  timezone="America/New_York"),
        retention(frm, to, "add_to_cart", "purchase", period="month", periods=2,
                  timezone="Asia/Tokyo"),
        retention(frm, to, "pageview", "pageview", period="month", periods=3,
                  timezone="America/New_York"),
        retention(frm, to, "signup", "signup", periods=31, timezone="Europe/Berlin"),
    ]:
        want = check_retention(a, events, q)
        assert want, q
        if q["cohort_event"] == q["return_event"]:
            assert all(r["returned"][0] == r["size"] for r in want)


def test_funnels_and_retention_across_dst_changes_match_the_reference(stack):
    frm, to, events = dst_dataset()
    a = Analytics(stack)
    capture(a, events)
    ny, ber = "America/New_York", "Europe/Berlin"
    for q in [
        retention(frm, to, "signup", "pageview", timezone=ny, periods=10),
        retention(frm, to, "signup", "pageview", timezone=ber, periods=10),
        retention(frm, to, "pageview", "purchase", timezone=ber, periods=8),
        retention(frm, to, "signup", "pageview", period="week", periods=3, timezone=ber),
        retention(frm, to, "pageview", "pageview", period="week", periods=4, timezone=ny,
                  filters=[{"property": "plan", "op": "neq", "value": "free"}]),
        retention(frm, to, "pageview", "signup", period="month", periods=2, timezone=ny),
        retention(frm, to, "signup", "pageview", period="month", periods=2, timezone=ber),
        retention(frm, to, "signup", "pageview", period="month", periods=2),
    ]:
        assert check_retention(a, events, q), q
    for q in [
        funnel(frm, to, ["pageview", "signup"], 3600, timezone=ny),  # ny_a: 1 h by the clock
        funnel(frm, to, ["pageview", "signup", "add_to_cart"], 86400),
        funnel(frm, to, ["signup", "pageview", "purchase"]),
    ]:
        check_funnel(a, events, q)


# ------------------------------------------------------------------ validation

def test_invalid_funnel_and_retention_bodies_list_every_field(stack):
    a = Analytics(stack)
    rng = {"from": iso(now() - dt.timedelta(days=7)), "to": iso(now())}

    def fields(body, *expected):
        r = a.query(body)
        assert_error(r, 422, "validation_failed")
        got = {d["field"] for d in r.json()["error"]["details"]}
        assert set(expected) <= got, (body, got)

    f = {**rng, "type": "funnel"}
    fields({**f, "steps": [{"event": "view"}]}, "steps")  # one step
    fields(f, "steps")
    fields({**f, "steps": [{"event": f"e{i}"} for i in range(11)]}, "steps")
    fields({**f, "steps": [{"event": "a"}, {"event": "b"}], "window_seconds": 0},
           "window_seconds")
    fields({**f, "steps": [{"event": "a"}, {"event": "b"}], "window_seconds": 7776001},
           "window_seconds")
    fields({**f, "window_seconds": -1, "cohort_event": "a",
            "steps": [{"event": "a"}, "b", {"event": "", "x": 1},
                      {"event": "d", "filters": [{"property": "n", "op": "gt", "value": "x"}]}]},
           "window_seconds", "cohort_event", "steps[1]", "steps[2].event", "steps[2].x",
           "steps[3].filters[0].value")
    r = {**rng, "type": "retention", "cohort_event": "signup", "return_event": "visit"}
    fields({**r, "periods": 0}, "periods")
    fields({**r, "periods": 32}, "periods")
    fields({**r, "period": "year"}, "period")
    fields({**rng, "type": "retention"}, "cohort_event", "return_event")
    fields({**r, "cohort_event": "", "return_event": 5, "period": "hour", "periods": 0,
            "steps": [{"event": "a"}, {"event": "b"}]},
           "cohort_event", "return_event", "period", "periods", "steps")
    fields({**r, "type": "cohorts"}, "type")
    # the query still answers once the body is right
    assert answer(a, {**f, "steps": [{"event": "a"}, {"event": "b"}]}) == [
        {"event": "a", "count": 0, "conversion": 0, "drop_off": 0},
        {"event": "b", "count": 0, "conversion": 0, "drop_off": 0}]
    assert answer(a, r) == []
