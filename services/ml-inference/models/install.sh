#!/usr/bin/env bash
# services/ml-inference/models/install.sh BUILT DEST: copies what the service loads from a
# `make models` output (each <model>/<version>/ with a card.json: the card and the model files)
# into DEST, without the unpacked data packages and the evaluation sets. The image uses it.
set -euo pipefail
BUILT=$1
DEST=$2
mkdir -p "$DEST"
n=0
for card in "$BUILT"/*/*/card.json; do
    [[ -f $card ]] || continue
    vdir=$(dirname "$card")
    rel=${vdir#"$BUILT"/}
    mkdir -p "$DEST/$rel"
    tar -C "$vdir" --exclude=./eval -cf - . | tar -C "$DEST/$rel" -xf -
    n=$((n + 1))
done
((n > 0)) || { echo "install.sh: no model version under $BUILT (run build.sh first)" >&2; exit 1; }
echo "installed $n model versions into $DEST"
