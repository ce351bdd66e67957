"""Fixtures of the auth suite (services/auth/tests/component): real accounts made through
auth's own API."""
import pytest

from authkit import Jose, invite_member


@pytest.fixture(scope="session")
def auth_api(stack):
    return stack.auth_api


@pytest.fixture
def owner(stack):
    """A fresh organization whose owner signed up through auth (real tokens)."""
    return stack.signup()


@pytest.fixture
def member(stack, schemas):
    """invite(owner, role): a member invited through the user service who accepted the
    invitation through auth."""
    def invite(owner, role="viewer"):
        return invite_member(stack, schemas, owner, role)
    return invite


@pytest.fixture(scope="session")
def jose(stack):
    return Jose(stack.run_dir)
