"""Fixtures for the service suites: the isolated stack started by scripts/test.sh."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

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
