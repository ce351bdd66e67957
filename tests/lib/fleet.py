"""The fleet, as the chart defines it: scripts/fleet reads the `services:` map of
helm/techcorp-platform/values.yaml, and every suite takes its service list from here, so a new
service (one entry there) needs no edit in any test.

  SERVICES      every entry, in port order (DESIGN section 7: gateway 8080 … 8089)
  ENABLED       the entries the chart enables by default
  BUILT         the entries with a source directory (services/<name>/src)
  offset(name)  the service's place in the port range: chart port - 8080; the local stack
                listens on its TC_PORT_BASE + offset (scripts/stack.sh)
  running(bin)  the services the local stack starts: built, with a binary in `bin`
"""
import importlib.machinery
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV_PORT_BASE = 8080


def _load():
    path = os.path.join(ROOT, "scripts", "fleet")
    loader = importlib.machinery.SourceFileLoader("tc_fleet_script", path)
    spec = importlib.util.spec_from_loader("tc_fleet_script", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


_ENTRIES = sorted(_load().services(), key=lambda s: s["port"])
SERVICES = [s["service"] for s in _ENTRIES]
ENABLED = [s["service"] for s in _ENTRIES if s["enabled"]]
BUILT = [s["service"] for s in _ENTRIES if s["built"]]
PORTS = {s["service"]: s["port"] for s in _ENTRIES}


def offset(name):
    return PORTS[name] - DEV_PORT_BASE


def running(bin_dir=None):
    """The services scripts/stack.sh starts from bin_dir (default $TC_TEST_BIN), auth first
    (the others fetch its JWKS), then in port order."""
    bin_dir = os.path.join(ROOT, bin_dir or os.environ.get("TC_TEST_BIN") or "bin")
    names = [s for s in BUILT if os.access(os.path.join(bin_dir, s), os.X_OK)]
    return sorted(names, key=lambda s: (s != "auth", PORTS[s]))
