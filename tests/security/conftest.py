"""Fixtures of the security suite: the gateway fixtures of its component suite
(services/gateway/tests/component: its Gateway client,
token minting and the Python upstreams its /t/* test routes point at), loaded from there
rather than copied, plus fresh tenants to attack."""
import importlib.util
import os
import secrets
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GATEWAY_TESTS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "services", "gateway", "tests",
                             "component")
if GATEWAY_TESTS not in sys.path:
    sys.path.append(GATEWAY_TESTS)  # `upstreams`, as the gateway suite's conftest.py imports it

import upstreams as _upstreams  # noqa: E402


def _share_upstream_servers():
    """Both suites' session fixtures start the same upstreams on the same fixed ports; when
    the gateway suite and tests/security run in one pytest session, the second start must reuse
    the servers the first one started instead of failing to bind."""
    cls = _upstreams.Upstream
    if getattr(cls, "_tc_shared", False):
        return
    original, live = cls.start, {}

    def start(self):
        running = live.get(self.port)
        if running is not None:
            return running
        original(self)
        live[self.port] = self
        return self

    cls.start = start
    cls._tc_shared = True


_share_upstream_servers()


def _load_gateway_fixtures():
    name = "tc_gateway_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(GATEWAY_TESTS, "conftest.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


gateway_fixtures = _load_gateway_fixtures()
# the gateway suite imports helpers with `from conftest import …`; when several suite directories
# are named on the command line, the conftest loaded last answers that import, so the names
# it wants are here too
TRUSTED_PROXY = gateway_fixtures.TRUSTED_PROXY
read_responses = gateway_fixtures.read_responses
status_of = gateway_fixtures.status_of
# re-exported so pytest registers them for this directory too
gw = gateway_fixtures.gw
ups = gateway_fixtures.ups
upstreams = gateway_fixtures.upstreams
tokens = gateway_fixtures.tokens


@pytest.fixture
def tenant(stack):
    """A fresh organization (owner + one active editor) made through user's internal
    sign-up; its tokens are dev-signed and carry the enterprise plan so that the gateway's
    per-org rate limit never gets in the way of a suite that sends many requests."""
    from seckit import Tenant
    return Tenant.create(stack)


@pytest.fixture
def account(stack):
    """A fresh organization whose owner signed up through auth (real auth-issued tokens), from
    a client address of its own as the proxy reports it (X-Forwarded-For from the trusted
    proxy address): the suite signs up hundreds of owners in a few minutes, which from one
    address runs into auth's per-address sign-up throttle (services/auth/tests/component/
    test_auth_throttle.py proves that limit; these suites test something else)."""
    address = "2001:db8::" + ":".join(secrets.token_hex(2) for _ in range(3))
    return stack.signup(headers={"X-Forwarded-For": address})


_SUITE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test of this suite is `serial` (tests/README.md): it asserts row counts of the auth and
    user databases, which any other suite's sign-ups would change, and it shares the
    gateway suite's upstream ports."""
    for item in items:
        if str(item.path).startswith(_SUITE_DIR):
            item.add_marker(pytest.mark.serial)
