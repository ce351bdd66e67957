#!/usr/bin/env bash
# docker/runtime-deps.sh: the package list of the service images (docker/packages.txt) and the
# check that a binary's shared libraries all come with it.
#
#   runtime-deps.sh packages SERVICE runtime   runtime-stage packages of SERVICE, one a line
#   runtime-deps.sh packages SERVICE build     build-stage packages (every lib's -dev package:
#                                              the Makefile's pkg-config line needs them all)
#   runtime-deps.sh check SERVICE BINARY [--strict]
#       1. the libraries BINARY needs directly (ELF NEEDED), mapped to their Debian packages
#          with `dpkg -S`, must all be `lib` rows of SERVICE (libc6 is in every Debian image);
#       2. every library `ldd BINARY` resolves must belong to one of those packages or to their
#          Depends closure (what `apt-get install` brings along), or to libc6;
#       3. `lib` rows of SERVICE that the binary does not need are reported as extras, and
#          fail the check with --strict (the image would carry a library nobody links).
#       Exit 0 when the list is right, 1 when something is missing (or extra with --strict),
#       2 on a usage error or a missing tool.
#
# Used by the Dockerfile's build stage (on the stripped binary it is about to ship) and by
# tests/deploy/test_docker.py (on every binary `make` built). Package names are Debian 12's:
# run it on bookworm (or in the build stage), where dpkg knows the libraries' packages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIST=${TC_PACKAGES_LIST:-$here/packages.txt}
BASE_PACKAGES="libc6"

die() {
    echo "runtime-deps: $*" >&2
    exit 2
}

# rows KIND...: "kind runtime build services" of the list, comments and blank lines dropped.
rows() {
    awk -v kinds=" $* " '
        { sub(/#.*/, "") }
        NF == 0 { next }
        NF < 4 { printf "runtime-deps: %s:%d: expected kind runtime build services\n", FILENAME, FNR > "/dev/stderr"; exit 3 }
        index(kinds, " " $1 " ") { print $1, $2, $3, $4 }' "$LIST"
}

# for_service SERVICE: reads rows on stdin, keeps those whose services column names SERVICE.
for_service() {
    awk -v svc="$1" '{ n = split($4, s, ","); for (i = 1; i <= n; i++) if (s[i] == "*" || s[i] == svc) { print; break } }'
}

cmd_packages() {
    local svc=${1:-} stage=${2:-}
    [[ -n $svc ]] || die "packages: which service?"
    [[ -r $LIST ]] || die "cannot read $LIST"
    case $stage in
    runtime) rows lib data | for_service "$svc" | awk '$2 != "-" { print $2 }' ;;
    build) rows build lib data | awk '$3 != "-" { print $3 }' ;;
    *) die "packages: stage must be runtime or build, not '$stage'" ;;
    esac | sort -u
}

# owners PATH...: "path package" for every PATH that a Debian package ships, in one dpkg call.
# Each PATH is tried as given, resolved, and in its /lib <-> /usr/lib spelling, since
# merged-/usr systems register either.
owners() {
    local p c
    local -A alias=()
    for p in "$@"; do
        for c in "$p" "$(readlink -f "$p")"; do
            alias[$c]=$p
            alias[${c/#\/usr\/lib\//\/lib\/}]=$p
            alias[${c/#\/lib\//\/usr\/lib\/}]=$p
        done
    done
    ((${#alias[@]})) || return 0
    local line pkg path
    while IFS= read -r line; do
        [[ $line == diversion* || $line != *": "* ]] && continue
        pkg=${line%%: *}
        path=${line#*: }
        # "pkg1, pkg2: path" when several packages ship a path: the first is enough
        pkg=${pkg%%,*}
        [[ -n ${alias[$path]:-} ]] && echo "${alias[$path]} ${pkg%%:*}"
    done < <(dpkg -S "${!alias[@]}" 2>/dev/null || true)
}

# depends_closure PKG...: the packages apt installs with PKG... (their Depends and
# Pre-Depends, recursively, as dpkg records them on this machine; for an alternative "a | b"
# every member counts).
depends_closure() {
    dpkg-query -W -f='${Package}\t${Depends}, ${Pre-Depends}\n' 2>/dev/null |
        awk -F'\t' -v start="$*" '
            { deps[$1] = $2 }
            END {
                n = split(start, q, " ")
                while (n > 0) {
                    p = q[n--]
                    if (p == "" || (p in seen)) continue
                    seen[p] = 1
                    print p
                    m = split(deps[p], d, /[,|]/)
                    for (i = 1; i <= m; i++) {
                        x = d[i]
                        sub(/\(.*\)/, "", x); sub(/:[a-z0-9]+/, "", x); gsub(/ /, "", x)
                        if (x != "" && !(x in seen)) q[++n] = x
                    }
                }
            }'
}

cmd_check() {
    local svc=${1:-} bin=${2:-} strict=0
    [[ ${3:-} == --strict ]] && strict=1
    [[ -n $svc && -n $bin ]] || die "check: usage: check SERVICE BINARY [--strict]"
    [[ -r $bin ]] || die "check: cannot read $bin"
    [[ -r $LIST ]] || die "cannot read $LIST"
    local tool
    for tool in objdump ldd dpkg dpkg-query; do
        command -v "$tool" >/dev/null 2>&1 || die "check: '$tool' is not installed (binutils, libc-bin, dpkg)"
    done

    local -A listed=() needed=() closure=()
    local p lib path rc=0
    while read -r p; do listed[$p]=1; done < <(rows lib | for_service "$svc" | awk '{ print $2 }')

    # ldd: soname -> resolved path
    local -A where=()
    local ldd_out
    ldd_out=$(ldd "$bin" 2>&1) || die "check: ldd $bin failed: $ldd_out"
    while read -r lib path; do
        where[$lib]=$path
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $2 == "=>" && $3 == "not" { print $1, "NOTFOUND" }' <<<"$ldd_out")

    local -A owner=()
    local -a paths=()
    for lib in "${!where[@]}"; do
        [[ ${where[$lib]} != NOTFOUND ]] && paths+=("${where[$lib]}")
    done
    while read -r path p; do owner[$path]=$p; done < <(owners "${paths[@]}")

    # 1. direct NEEDED libraries
    while read -r lib; do
        path=${where[$lib]:-}
        if [[ -z $path || $path == NOTFOUND ]]; then
            echo "MISSING  $lib: not found on this machine (ldd); install its package to check" >&2
            rc=1
            continue
        fi
        p=${owner[$path]:-}
        if [[ -z $p ]]; then
            echo "MISSING  $lib ($path): no Debian package ships it (dpkg -S)" >&2
            rc=1
            continue
        fi
        [[ " $BASE_PACKAGES " == *" $p "* ]] && continue
        needed[$p]=1
        if [[ -z ${listed[$p]:-} ]]; then
            echo "MISSING  $p (ships $lib, which $bin needs) is not a lib row of $svc in $LIST" >&2
            rc=1
        fi
    done < <(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')

    # 2. everything ldd resolves must come with the listed packages
    while read -r p; do closure[$p]=1; done < <(depends_closure "${!listed[@]}" $BASE_PACKAGES)
    for lib in "${!where[@]}"; do
        path=${where[$lib]}
        [[ $path == NOTFOUND ]] && continue
        p=${owner[$path]:-}
        if [[ -z $p ]]; then
            echo "MISSING  $lib ($path): no Debian package ships it (dpkg -S)" >&2
            rc=1
        elif [[ -z ${closure[$p]:-} ]]; then
            echo "MISSING  $p (ships $lib, loaded by $bin) does not come with the packages of $svc" >&2
            rc=1
        fi
    done

    # 3. extras
    for p in "${!listed[@]}"; do
        if [[ -z ${needed[$p]:-} ]]; then
            echo "EXTRA    $p is listed for $svc but $bin does not link it" >&2
            ((strict)) && rc=1
        fi
    done
    if ((rc == 0)); then
        echo "runtime-deps: $svc: ok ($(printf '%s ' "${!needed[@]}" | tr ' ' '\n' | sort | xargs))"
    fi
    return $rc
}

case ${1:-} in
packages) shift && cmd_packages "$@" ;;
check) shift && cmd_check "$@" ;;
*)
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
