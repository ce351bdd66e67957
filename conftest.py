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
