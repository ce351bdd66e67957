#!/usr/bin/env bash
# scripts/deps.sh: make sure the Debian/Ubuntu packages that build, test, run and benchmark
# the platform are installed. Silent and fast (one dpkg-query call) when everything is present.
#
# When something is missing:
#   - not Debian/Ubuntu: lists the packages and exits 1;
#   - not root: prints the exact `sudo apt-get install …` line and exits 1;
#   - root: `apt-get update` once, installs with --no-install-recommends, verifies.
#
# Packages that ship a system daemon (postgresql, redis-server, nginx, haproxy, prometheus)
# are installed without starting it (a temporary policy-rc.d, unless one already exists), and
# on a systemd machine the freshly installed units are disabled: the local stack runs its own
# PostgreSQL, Redis, … on its own ports and never relies on system services.
set -euo pipefail

PACKAGES=(
    # build
    gcc make pkg-config libc6-dev git ca-certificates clang clang-format
    libmicrohttpd-dev libpq-dev libhiredis-dev librdkafka-dev libcjson-dev libjwt-dev
    libssl-dev libcurl4-openssl-dev libargon2-dev libcriterion-dev
    # auth: SAML 2.0 single sign-on (Lasso, on libxmlsec1); xmlsec1 checks signatures in its tests
    liblasso3-dev xmlsec1
    # tools the scripts and tests use
    curl jq openssl procps psmisc iproute2 kcat oathtool valgrind yamllint argon2
    python3 python3-pytest python3-requests python3-jsonschema python3-yaml python3-aiosmtpd
    python3-psycopg2 python3-cryptography
    # a real DNS server for auth's domain-ownership tests (dnsmasq-base: no system service)
    dnsmasq-base
    nodejs npm
    # `make models` (ml-inference): fastText trains the classifier, numpy converts embeddings,
    # Reuters-21578 articles (r-cran-tm) evaluate the summarizer, iso-codes name countries
    fasttext python3-numpy r-cran-tm iso-codes
    # the local stack
    postgresql postgresql-contrib redis-server
    # time zones of workflow schedules (libcommon tc_tz)
    tzdata
    # benchmark peers and tools
    wrk nginx haproxy prometheus
)

# Packages whose installation would enable and start a system service, and its unit name.
declare -A SERVICE_UNITS=(
    [postgresql]=postgresql.service
    [redis-server]=redis-server.service
    [nginx]=nginx.service
    [haproxy]=haproxy.service
    [prometheus]=prometheus.service
)

# Prints the names of the requested packages that are not installed. A package also counts
# as present when an installed package Provides it (e.g. NodeSource's nodejs provides npm).
missing_packages() {
    local have
    have=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
        awk -F'|' '$1 ~ /^ii/ {
            print $2
            n = split($3, p, ",")
            for (i = 1; i <= n; i++) { sub(/^ +/, "", p[i]); sub(/ .*/, "", p[i]); if (p[i] != "") print p[i] }
        }') || true
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        if ! grep -qxF -- "$pkg" <<<"$have"; then
            printf '%s\n' "$pkg"
        fi
    done
}

is_debian() {
    [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1 &&
        command -v dpkg-query >/dev/null 2>&1
}

main() {
    local -a missing=()
    if command -v dpkg-query >/dev/null 2>&1; then
        mapfile -t missing < <(missing_packages)
    else
        missing=("${PACKAGES[@]}")
    fi
    if ((${#missing[@]} == 0)); then
        return 0
    fi

    if ! is_debian; then
        echo "deps.sh: this machine is not Debian/Ubuntu (no apt-get or /etc/debian_version)." >&2
        echo "deps.sh: install these packages (or their equivalents) by hand, then retry:" >&2
        printf '  %s\n' "${missing[@]}" >&2
        return 1
    fi
    if ((EUID != 0)); then
        echo "deps.sh: missing packages: ${missing[*]}" >&2
        echo "deps.sh: install them with:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
        return 1
    fi

    echo "deps.sh: installing: ${missing[*]}"
    local -a new_units=()
    local pkg
    for pkg in "${missing[@]}"; do
        if [[ -n ${SERVICE_UNITS[$pkg]:-} ]]; then
            new_units+=("${SERVICE_UNITS[$pkg]}")
        fi
    done

    # Keep maintainer scripts from starting the daemons we are about to install.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if ((${#new_units[@]} > 0)) && [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary, written by techcorp scripts/deps.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi

    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"

    if ((own_policy)); then
        rm -f "$policy"
        trap - EXIT
    fi
    if ((${#new_units[@]} > 0)) && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        echo "deps.sh: disabling the system services just installed (the stack runs its own): ${new_units[*]}"
        systemctl disable --now "${new_units[@]}" >/dev/null 2>&1 || true
    fi

    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} > 0)); then
        echo "deps.sh: still missing after apt-get install: ${missing[*]}" >&2
        return 1
    fi
    echo "deps.sh: all packages present"
}

main "$@"
