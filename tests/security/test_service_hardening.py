"""Security hardening, findings 5 and 6: the local stack listens on loopback only; browsers are
told not to sniff types on any answer; an admin cannot change an owner's preferences, the same
as any other change to an owner."""
import fleet


def listening_addresses():
    """(address, port) of every listening TCP socket, from /proc/net/tcp and tcp6."""
    out = set()
    for path, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A":  # LISTEN
                continue
            addr_hex, port_hex = f[1].split(":")
            out.add((addr_hex, int(port_hex, 16)))
    return out


LOOPBACK_V4 = "0100007F"  # 127.0.0.1, little-endian


def test_services_listen_on_loopback_only(stack):
    listening = listening_addresses()
    for svc in fleet.running():
        for port in (stack.port(svc), stack.port(svc) + 1000):
            bound = {a for a, p in listening if p == port}
            assert bound, f"{svc} is not listening on {port}"
            assert bound == {LOOPBACK_V4}, f"{svc}:{port} listens on {bound}"


def test_every_answer_says_nosniff(stack, org):
    for svc in fleet.running():
        for url in (stack.url(svc, "/v1/definitely-not-here"), stack.admin_url(svc, "/health")):
            r = stack.http.get(url, timeout=10)
            assert r.headers.get("X-Content-Type-Options") == "nosniff", (svc, url, r.headers)


def test_an_admin_cannot_change_an_owners_preferences(stack, org):
    token = org.token_for(org.invite("admin"))
    path = f"/v1/users/{org.owner['id']}/preferences"
    r = stack.call("PUT", "user", path, token=token, json_body={"locale": "fr-FR"})
    assert r.status_code == 403, r.text
    r = stack.call("PATCH", "user", f"/v1/users/{org.owner['id']}", token=token,
                   json_body={"name": "Renamed"})
    assert r.status_code == 403, "the same rule as any other change to an owner"
    r = stack.call("PUT", "user", path, token=org.owner_token, json_body={"locale": "fr-FR"})
    assert r.status_code == 200, r.text
