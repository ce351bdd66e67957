"""Fixtures every pytest suite shares (tests/README.md): the isolated stack that scripts/test.sh
starts, wherever the suite lives (services/<svc>/tests/component/, tests/<fleet suite>/).
The helpers are in tests/lib (platform_client.py, fleet.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "lib"))

from platform_client import Stack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    return Stack.from_env()


@pytest.fixture
def org(stack):
    """A fresh organization with its owner, created through user's internal sign-up call."""
    return stack.new_org()


@pytest.fixture(scope="session")
def user_api(stack):
    from platform_client import Api
    return Api(stack, "user")


@pytest.fixture(scope="session")
def schemas(stack):
    from platform_client import EventSchemas
    return EventSchemas(stack.root)


def pytest_collection_modifyitems(config, items):
    """The sanitizer run (TC_SANITIZE=1) leaves out tests marked `no_binaries`: they run none
    of the project's programs (a peer against the repository's data), so a second run under
    the sanitizers would repeat the first exactly."""
    if os.environ.get("TC_SANITIZE") != "1":
        return
    kept, left = [], []
    for item in items:
        (left if item.get_closest_marker("no_binaries") else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
