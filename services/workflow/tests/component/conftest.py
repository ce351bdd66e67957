"""Fixtures of the workflow suites."""
import pytest

from wfkit import Upstream


@pytest.fixture
def upstream():
    up = Upstream()
    yield up
    up.close()
