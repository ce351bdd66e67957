"""Fixtures of the deployment checks (docker/, helm/, .github/); the helpers are in deploykit.py."""
import pytest

import deploykit


@pytest.fixture(scope="session")
def render():
    return deploykit.render


@pytest.fixture(scope="session", params=sorted(deploykit.COMBOS))
def combo(request):
    files, args = deploykit.COMBOS[request.param]
    return request.param, deploykit.render(files, args)


@pytest.fixture(scope="session")
def chart_values():
    return deploykit.chart_values()


@pytest.fixture(scope="session")
def node_checks():
    """tests/deploy/node_modules, installed with `npm ci` when package-lock.json changed."""
    return deploykit.install_node_checks()
