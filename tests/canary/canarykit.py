"""Loads scripts/canary (a script without .py) as a module for the tests."""
import importlib.machinery
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load():
    path = os.path.join(ROOT, "scripts", "canary")
    loader = importlib.machinery.SourceFileLoader("canary_driver", path)
    spec = importlib.util.spec_from_loader("canary_driver", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
