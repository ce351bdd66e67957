"""auth's contract documents stay complete: every route the service registers is in
proto/openapi/auth.yaml, and every event type it emits has a schema in proto/events."""
import json
import os
import re

import yaml


def test_every_route_is_documented(stack):
    routes = open(os.path.join(stack.root, "services", "auth", "src", "routes.c")).read()
    registered = set(re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)"', routes))
    assert len(registered) >= 20
    with open(os.path.join(stack.root, "proto", "openapi", "auth.yaml")) as f:
        doc = yaml.safe_load(f)
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item
                  if m in ("get", "post", "put", "patch", "delete")}
    assert registered == documented


def test_every_emitted_event_type_has_a_schema(stack, schemas):
    src = os.path.join(stack.root, "services", "auth", "src")
    text = "".join(open(os.path.join(src, f)).read() for f in os.listdir(src) if f.endswith(".c"))
    # events_out.c names every type by its generated constant, TC_EV_AUTH_<EVENT>
    auth_types = {t.lower() for t in re.findall(r"TC_EV_AUTH_([A-Z_]+)", text)}
    assert {"login_succeeded", "login_failed", "session_revoked", "refresh_token_reused",
            "password_changed", "mfa_enabled", "mfa_disabled", "api_key_created",
            "api_key_revoked", "access_revoked", "signing_key_rotated"} <= auth_types
    for t in auth_types:
        assert f"https://schemas.techcorp.com/events/com.techcorp.auth.{t}.json" in schemas.store, t
    for t in ("com.techcorp.notification.requested", "com.techcorp.audit.recorded"):
        assert f"https://schemas.techcorp.com/events/{t}.json" in schemas.store
    for name in os.listdir(os.path.join(stack.root, "proto", "events")):
        if name.startswith("com.techcorp.auth.") or name.startswith("com.techcorp.notification."):
            with open(os.path.join(stack.root, "proto", "events", name)) as f:
                schema = json.load(f)
            assert schema["$id"].endswith("/" + name) and schema["additionalProperties"] is False
