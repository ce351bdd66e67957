"""Reference TextRank in plain Python: the same sentence splitter, tokenizer, stemmer, TF-IDF
cosine graph and PageRank as src/textrank_model.c, written independently of it. The recipe uses
it to compute the peer answers (plain TextRank, no position prior) that the component test
compares the C code with, and the lead-sentence / plain TextRank baselines of the card.

Everything here decides on ASCII characters only (plus a few typographic quotes), so that the
C code, which works on UTF-8 bytes, splits and tokenizes exactly the same way.
"""

import math
import struct

TERMINATORS = ".!?"
CLOSERS = "\"')]\u201d\u2019\u00bb"
OPENERS = "\"'([\u201c\u2018\u00ab"
SPACE = " \t\n\r\f\v"

# Abbreviations after which a period never ends a sentence (they precede a name or number).
TITLES = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt",
    "cmdr", "adm", "rev", "hon", "st", "mt", "ft", "messrs", "vs", "vol", "fig", "approx",
    "dept", "est", "cf",
}
# Abbreviations that may also end a sentence ("... of Smith Corp. The company ..."); so may a
# dotted acronym (U.S.) and a single capital initial (John F. Kennedy).
AMBIGUOUS = {
    "inc", "corp", "co", "ltd", "plc", "llc", "bros", "jr", "sr", "etc", "no", "nos", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ave",
    "blvd", "rd",
}
# After an ambiguous abbreviation, a capitalised one of these starts a new sentence.
STARTERS = {
    "a", "an", "the", "it", "its", "he", "she", "they", "we", "i", "you", "this", "that",
    "these", "those", "there", "here", "but", "and", "or", "so", "in", "on", "at", "for", "if",
    "as", "when", "while", "after", "before", "his", "her", "their", "our", "my", "not",
    "yet", "then", "however", "also", "some", "one", "all", "no", "what", "who", "why", "how",
}


def _is_upper(c):
    return "A" <= c <= "Z"


def _is_lower(c):
    return "a" <= c <= "z"


def _is_alpha(c):
    return _is_upper(c) or _is_lower(c)


def _split_ws(s):
    out, cur = [], []
    for c in s:
        if c in SPACE:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


def _abbrev_class(text, start, i):
    """Class of the word before the period at i: 'title', 'ambiguous' or None."""
    p = i
    while p > start and (_is_alpha(text[p - 1]) or text[p - 1] == "."):
        p -= 1
    while p < i and text[p] == ".":
        p += 1
    prev = text[p:i]
    if not prev:
        return None
    low = prev.lower()
    if low in TITLES:
        return "title"
    if low in AMBIGUOUS or "." in prev or (len(prev) == 1 and _is_upper(prev)):
        return "ambiguous"
    return None


def _ends_sentence(text, start, i, j, k):
    """Whether the terminator run text[i:j] (closers included) followed by whitespace up to k
    ends the sentence that started at start."""
    n = len(text)
    while k < n and text[k] in OPENERS:
        k += 1
    c = text[k] if k < n else ""
    if _is_lower(c):
        return False
    single_period = text[i] == "." and (i + 1 >= n or text[i + 1] not in TERMINATORS)
    if not single_period:
        return True
    cls = _abbrev_class(text, start, i)
    if cls == "title":
        return False
    if cls == "ambiguous":
        if not _is_upper(c):
            return False
        e = k
        while e < n and _is_alpha(text[e]):
            e += 1
        return text[k:e].lower() in STARTERS
    return True


def split_sentences(text):
    """List of sentences (whitespace normalised), empty ones (no word character) dropped."""
    out = []
    n = len(text)
    start = 0
    i = 0

    def emit(a, b):
        s = " ".join(_split_ws(text[a:b]))
        if any(is_word_char(ch) for ch in s):
            out.append(s)

    while i < n:
        c = text[i]
        if c == "\n":
            k = i + 1
            while k < n and text[k] in " \t\r\f\v":
                k += 1
            if k < n and text[k] == "\n":
                emit(start, i)
                start = k + 1
                i = k + 1
                continue
            i += 1
            continue
        if c in TERMINATORS:
            j = i
            while j < n and text[j] in TERMINATORS:
                j += 1
            while j < n and text[j] in CLOSERS:
                j += 1
            if j < n and text[j] not in SPACE:
                i = j
                continue
            k = j
            while k < n and text[k] in SPACE:
                k += 1
            if k >= n or _ends_sentence(text, start, i, j, k):
                emit(start, j)
                start = k
                i = k
                continue
            i = j
            continue
        i += 1
    if start < n:
        emit(start, n)
    return out


def is_word_char(c):
    o = ord(c)
    if o < 0x80:
        return c.isalnum()
    if o <= 0xBF or o in (0xD7, 0xF7):
        return False
    if 0x2000 <= o <= 0x206F or 0x3000 <= o <= 0x303F:
        return False
    return True


def tokens(s):
    """Maximal runs of word characters, ASCII letters lowercased."""
    out, cur = [], []
    for c in s:
        if is_word_char(c):
            cur.append(c.lower() if _is_upper(c) else c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def stem(w):
    """Harman's S-stemmer (plurals only), on words of at least 4 bytes."""
    if len(w.encode()) < 4:
        return w
    if w.endswith("ies") and not (w.endswith("eies") or w.endswith("aies")):
        return w[:-3] + "y"
    if w.endswith("es") and not (w.endswith("aes") or w.endswith("ees") or w.endswith("oes")):
        return w[:-1]
    if w.endswith("s") and not (w.endswith("us") or w.endswith("ss")):
        return w[:-1]
    return w


def is_content(tok, stop):
    return len(tok.encode()) >= 2 and tok not in stop and not all("0" <= c <= "9" for c in tok)


def content_stems(sentence, stop):
    return [stem(t) for t in tokens(sentence) if is_content(t, stop)]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def sentence_vectors(sents, stop, idf, idf_unseen):
    vecs = []
    for s in sents:
        tf = {}
        for st in content_stems(s, stop):
            tf[st] = tf.get(st, 0) + 1
        v = {t: c * idf.get(t, idf_unseen) for t, c in tf.items()}
        vecs.append(v)
    return vecs


def cosine(a, b):
    if len(a) > len(b):
        a, b = b, a
    dot = 0.0
    for t, w in a.items():
        wb = b.get(t)
        if wb is not None:
            dot += w * wb
    if dot == 0.0:
        return 0.0
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot / (na * nb)


DAMPING = 0.85
MAX_ITER = 150
TOL = 1e-8
MAX_SENTENCES = 200


def pagerank(weights, teleport):
    """weights: list of dict j -> w (symmetric); teleport sums to 1."""
    n = len(teleport)
    out = [sum(w.values()) for w in weights]
    r = [1.0 / n] * n
    for _ in range(MAX_ITER):
        dangling = sum(r[i] for i in range(n) if out[i] == 0.0)
        nr = [(1.0 - DAMPING) * teleport[j] + DAMPING * dangling * teleport[j] for j in range(n)]
        for i in range(n):
            if out[i] == 0.0:
                continue
            share = DAMPING * r[i] / out[i]
            for j, w in weights[i].items():
                nr[j] += share * w
        diff = sum(abs(nr[j] - r[j]) for j in range(n))
        r = nr
        if diff < TOL:
            break
    return r


def rank(text, stop, idf, idf_unseen, prior=0.0):
    """(sentences, scores) for the first MAX_SENTENCES sentences, plain TextRank when prior is
    0. The score of sentence i is its PageRank times n (mean 1) plus prior / (i + 1)."""
    sents = split_sentences(text)
    m = min(len(sents), MAX_SENTENCES)
    vecs = sentence_vectors(sents[:m], stop, idf, idf_unseen)
    weights = [dict() for _ in range(m)]
    for i in range(m):
        for j in range(i + 1, m):
            s = cosine(vecs[i], vecs[j])
            if s > 0.0:
                weights[i][j] = s
                weights[j][i] = s
    teleport = [1.0 / m] * m if m else []
    r = pagerank(weights, teleport) if m else []
    scores = [r[i] * m + prior / (i + 1) for i in range(m)]
    return sents, scores


def top(scores, n):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:n])


def best_first(scores, n):
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:n]
