#!/usr/bin/env python3
"""pack.py SRC TMP VERSION_DIR: turns what peer.js wrote into the model version.

  lexicon.bin         the lexicon in the compact sorted form vader_model.c maps (format below)
  eval/heldout.jsonl  the 3,000 labelled fixture sentences: {id, set, text, label}
  eval/peer.jsonl     every evaluation text with the JS package's answer
  card.json           what the service reads; quality measured on the held-out sentences

lexicon.bin, little-endian:
  "VADERLX1"  u32 count  u32 blob_len
  count x {u32 key_off, u32 key_len, f64 valence}   sorted by key bytes, keys unique
  blob_len bytes of keys (UTF-8, not NUL-terminated)
"""
import json
import os
import shutil
import struct
import sys

MAGIC = b"VADERLX1"
LABELS = ["negative", "neutral", "positive"]
SETS = ["imdb", "amazon", "yelp"]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def reachable(key):
    """The package looks words up lower-cased and split on whitespace, so a key with an upper-case
    letter or a space can never match; the C port then only has to lower-case ASCII."""
    if any(c.isspace() for c in key) or key != key.lower():
        return False
    if not key.isascii():
        sys.exit(f"pack.py: lexicon key {key!r} is lower-case non-ASCII; the C port's "
                 "lower-casing does not cover it")
    return True


def check_against_txt(lexicon, txt_path):
    """The bundle's lexicon must be vader_lexicon.txt with the last duplicate winning."""
    txt = {}
    with open(txt_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                fields = line.rstrip("\n").split("\t")
                txt[fields[0]] = float(fields[1])
    if txt != lexicon:
        sys.exit("pack.py: the bundle's lexicon differs from vader_lexicon.txt")


def write_lexicon(lexicon, path):
    keys = sorted((k.encode("utf-8"), v) for k, v in lexicon.items() if reachable(k))
    blob = b"".join(k for k, _ in keys)
    out = bytearray(MAGIC + struct.pack("<II", len(keys), len(blob)))
    off = 0
    for k, v in keys:
        out += struct.pack("<IId", off, len(k), v)
        off += len(k)
    out += blob
    with open(path, "wb") as f:
        f.write(out)
    return len(keys), len(lexicon)


def accuracy(rows):
    """Two readings of a three-way answer against two-way labels: 'accuracy' counts a neutral
    answer as wrong (what a caller reading the label sees); 'accuracy_by_sign' maps it by the sign
    of the compound score (zero stays wrong)."""
    n = len(rows)
    by_label = sum(r["pred"] == r["label"] for r in rows)
    by_sign = sum((r["compound"] > 0 and r["label"] == "positive")
                  or (r["compound"] < 0 and r["label"] == "negative") for r in rows)
    neutral = sum(r["pred"] == "neutral" for r in rows)
    return {"accuracy": round(by_label / n, 4), "accuracy_by_sign": round(by_sign / n, 4),
            "neutral_rate": round(neutral / n, 4), "n": n}


def main():
    src, tmp, vdir = sys.argv[1:4]
    pkg = os.path.join(src, "vader-sentiment")
    with open(os.path.join(pkg, "package.json"), encoding="utf-8") as f:
        pkg_version = json.load(f)["version"]
    with open(os.path.join(tmp, "lexicon.json"), encoding="utf-8") as f:
        lexicon = json.load(f)
    check_against_txt(lexicon, os.path.join(pkg, "vader_lexicon.txt"))
    os.makedirs(os.path.join(vdir, "eval"), exist_ok=True)
    kept, total = write_lexicon(lexicon, os.path.join(vdir, "lexicon.bin"))
    for name in ("LICENSE", "NOTICE"):
        shutil.copyfile(os.path.join(pkg, name), os.path.join(vdir, name))

    texts = read_jsonl(os.path.join(tmp, "texts.jsonl"))
    peer = read_jsonl(os.path.join(tmp, "peer.jsonl"))
    for t in texts:
        t["text"].encode("utf-8")  # a lone surrogate would not be valid input: fail here
    heldout = [t for t in texts if t["set"] in SETS]
    with open(os.path.join(vdir, "eval", "heldout.jsonl"), "w", encoding="utf-8") as f:
        for t in heldout:
            f.write(json.dumps({"id": t["id"], "set": t["set"], "text": t["text"],
                                "label": t["label"]}, ensure_ascii=False) + "\n")
    shutil.copyfile(os.path.join(tmp, "peer.jsonl"), os.path.join(vdir, "eval", "peer.jsonl"))

    answers = {p["id"]: p for p in peer}
    rows = [{"label": t["label"], "pred": answers[t["id"]]["label"],
             "compound": answers[t["id"]]["compound"], "set": t["set"]} for t in heldout]
    quality = {"metric": "label accuracy on positive/negative sentences (neutral = wrong); "
               "accuracy_by_sign maps neutral by the sign of compound"}
    quality.update(accuracy(rows))
    for s in SETS:
        quality[s] = accuracy([r for r in rows if r["set"] == s])
    quality["eval_set"] = (f"sentiment@5.0.2 test/fixtures imdb, amazon, yelp: {len(heldout)} "
                           "labelled sentences (500 positive + 500 negative each); VADER is not "
                           "trained on them")
    sets = sorted({p["set"] for p in peer})
    card = {
        "model": "sentiment-v3",
        "version": "3.0.0",
        "kind": "vader",
        "task": "sentiment",
        "default": True,
        "labels": ["positive", "neutral", "negative"],
        "max_chars": 5000,
        "params": {"lexicon": "lexicon.bin"},
        "options": {},
        "data": (f"vader-sentiment@{pkg_version}: vader_lexicon.txt ({total} entries, {kept} "
                 "reachable by a lower-cased single-token lookup kept) and the rules of "
                 "src/vaderSentiment.js, ported to C"),
        "licence": "Apache-2.0 (vader-sentiment lexicon and rules; LICENSE and NOTICE copied "
                   "here); evaluation sentences MIT (sentiment@5.0.2)",
        "build": "bash services/ml-inference/models/sentiment-v3/build.sh build/models/src "
                 "build/models/sentiment-v3",
        "quality": quality,
        "peer": {
            "name": f"vader-sentiment@{pkg_version} (JS, node)",
            "agreement": 1.0,
            "how": (f"{len(peer)} texts ({', '.join(sets)}): identical label and compound "
                    "within 1e-4 (pos/neu/neg within 1e-3) on every one, asserted by "
                    "tests/component/test_vader_peer.c against eval/peer.jsonl"),
        },
    }
    with open(os.path.join(vdir, "card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
