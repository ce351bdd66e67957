#!/usr/bin/env bash
# models/sentiment-v3/build.sh SRC OUT: VADER (vader-sentiment@1.1.3) for the C kind "vader".
# Writes OUT/3.0.0/ with the lexicon in the compact form vader_model.c maps, card.json, and the
# evaluation data the component test needs: the JS package's own answers on every evaluation
# text (eval/peer.jsonl) and the labelled held-out sentences (eval/heldout.jsonl).
# Deterministic: the only randomness is peer.js's fixed-seed fuzz set.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
VERSION=3.0.0

for need in vader-sentiment/build/vaderSentiment.bundle.js vader-sentiment/vader_lexicon.txt \
    sentiment/test/fixtures/imdb.json; do
    [[ -f "$SRC/$need" ]] || { echo "sentiment-v3: missing $SRC/$need" >&2; exit 1; }
done

TMP="$OUT/.tmp"
rm -rf "$TMP" "${OUT:?}/$VERSION"
mkdir -p "$TMP" "$OUT/$VERSION"
node "$HERE/peer.js" "$SRC" "$TMP"
python3 "$HERE/pack.py" "$SRC" "$TMP" "$OUT/$VERSION"
rm -rf "$TMP"
