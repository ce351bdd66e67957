"""Fixtures of the end-to-end journeys (tests/e2e): the contracts, and the auth suite's kit
(services/auth/tests/component/authkit.py) for reading what a client cannot get through the
gateway — the invitation token, which auth hands to the notification service on
notification-events."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "services",
                                "auth", "tests", "component"))

from e2ekit import Contracts  # noqa: E402


@pytest.fixture(scope="session")
def contracts(stack):
    return Contracts(stack)
