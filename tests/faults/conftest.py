"""Fixtures of the fault suite: the gateway on the test routing with short breaker ejections,
and a stack that is whole again after every test, whatever the test did."""
import json
import os

import pytest

import faultkit

# The test routing ejects a failing target for 30 s after 5 failures; every fault here makes
# such failures on purpose, and waiting out 30 s after each would only measure the breaker
# (the gateway's component suite covers it). A copy with 1 s ejections lets recovery show at
# once. (Since issue 14 the gateway never ejects the only stable target of an upstream, as
# user's and auth's are here, so this matters only for configurations with more targets.)
EJECT_MS = 1000


@pytest.fixture(scope="module", autouse=True)
def fault_routing(stack):
    src = os.path.join(stack.root, "services", "gateway", "config", "test.json")
    dst = os.path.join(stack.run_dir, "faults-gateway.json")
    with open(src) as f:
        config = json.load(f)
    for up in config["upstreams"]:
        if up["name"] in ("user", "auth"):
            up["breaker"] = {"failures": 5, "eject_ms": EJECT_MS}
    with open(dst, "w") as f:
        json.dump(config, f)
    env_file = os.path.join(stack.run_dir, "env", "gateway.env")
    with open(env_file, "w") as f:
        f.write(f"GATEWAY_CONFIG={dst}\n")
    try:
        stack.stack_cmd("restart-service", "gateway")
        yield dst
    finally:
        os.unlink(env_file)
        faultkit.heal(stack)
        stack.stack_cmd("restart-service", "gateway")


@pytest.fixture
def healed(stack):
    """Runs the test, then makes sure every component is up and ready again."""
    own = {}
    try:
        yield own
    finally:
        faultkit.heal(stack, own.get("proc"))


_SUITE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


# scripts/test.sh runs this suite in two lanes, each on a stack of its own (TC_FAULT_LANE=i/n
# names this process's lane): the tests spend most of their time waiting on kills, outages and
# restarts, so two stacks at once take about half the time of one. Files go to lanes whole
# (their module fixtures restart the gateway), heaviest first, each to the lane with the least
# so far, by their seconds in a run alone on a fresh stack; a file not listed counts as
# NEW_FILE_SECONDS until it is measured and added.
FILE_SECONDS = {
    "test_faults_workflow.py": 80,
    "test_faults_processes.py": 68,
    "test_faults_billing.py": 56,
    "test_faults_notification.py": 56,
    "test_faults_dependencies.py": 44,
    "test_faults_integration.py": 28,
    "test_faults_analytics.py": 27,
    "test_faults_ml.py": 17,
    "test_faults_search.py": 15,
}
NEW_FILE_SECONDS = 30


def lane_files(names, lanes):
    """The files of each lane: a list of `lanes` sets, the same in every process that is given
    the same names."""
    load = [0] * lanes
    out = [set() for _ in range(lanes)]
    for name in sorted(names, key=lambda n: (-FILE_SECONDS.get(n, NEW_FILE_SECONDS), n)):
        i = load.index(min(load))
        out[i].add(name)
        load[i] += FILE_SECONDS.get(name, NEW_FILE_SECONDS)
    return out


def parse_lane(value):
    """(index from 0, count) of TC_FAULT_LANE's "i/n", or None when unset."""
    if not value:
        return None
    i, n = (int(x) for x in value.split("/"))
    if not 1 <= i <= n:
        raise pytest.UsageError(f"TC_FAULT_LANE={value}: the lane must be within 1..{n}")
    return i - 1, n


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test of this suite is `serial` (tests/README.md): it kills services and takes
    the broker, PostgreSQL and Redis down, which every other suite needs. With a lane named,
    only that lane's files are kept."""
    mine = [item for item in items if str(item.path).startswith(_SUITE_DIR)]
    for item in mine:
        item.add_marker(pytest.mark.serial)
    lane = parse_lane(os.environ.get("TC_FAULT_LANE"))
    if lane is None:
        return
    keep = lane_files({item.path.name for item in mine}, lane[1])[lane[0]]
    dropped = [item for item in mine if item.path.name not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
