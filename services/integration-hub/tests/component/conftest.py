"""Fixtures of the integration hub's suites: a loopback webhook receiver per test, and the npm
Standard Webhooks peers (installed once per run)."""
import pytest

from hubkit import Peers, Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def peers():
    return Peers()
