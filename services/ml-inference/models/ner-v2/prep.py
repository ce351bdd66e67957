#!/usr/bin/env python3
"""ner-v2 data preparation: Brown corpus -> BIO training file and held-out evaluation set,
compromise lexicon + iso-codes -> gazetteer list.

    prep.py BROWN_DIR LEXICON_JSON ISO_JSON_DIR WORK EVAL

Writes WORK/train.txt (one "word<TAB>tag" line per token, tag 0=O 1=B 2=I, a blank line after
each sentence), WORK/heldout_bio.txt (the same for the held-out files, to fit the score
temperature), WORK/gaz.tsv ("phrase<TAB>flags"), WORK/heldout.txt (one held-out sentence of
text per line, for the C tool) and EVAL/heldout.jsonl ({"text", "gold": [[start, end], ...]},
offsets in code points). Deterministic: the split is by file (every 10th Brown file is held
out), nothing is random.
"""
import json
import os
import re
import sys

# A name token is any proper-noun tag (np, nps, np$, nps$, with -tl/-hl/-nc or a contraction
# such as np+bez), also inside a foreign phrase (fw-np).
NAME_TAG = re.compile(r"^(fw-)?nps?\$?([-+].*)?$")
# Brown tags titles and month names as proper nouns. The service answers titles as context
# (they make the following name a PERSON) and months as DATE by rule, so neither is a name here;
# the held-out gold follows the same definition as training.
TITLES = {
    "mr.", "mrs.", "ms.", "miss", "dr.", "messrs.", "mme.", "mlle.", "m.", "mssrs.",
}
MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan.", "feb.", "mar.", "apr.", "aug.", "sept.",
    "sep.", "oct.", "nov.", "dec.",
}
QUOTES = {"``": '"', "''": '"'}

# Gazetteer flags, the same bits as NER_GAZ_* in ner_model.h.
G_FIRST, G_LAST, G_PERSON, G_LOC, G_ORG, G_DEMONYM = 1, 2, 4, 8, 16, 32


def read_brown(brown):
    """[(file name, [[(word, tag), ...], ...]), ...] in file-name order."""
    files = sorted(f for f in os.listdir(brown) if re.fullmatch(r"c[a-r]\d\d", f))
    out = []
    for name in files:
        sents = []
        with open(os.path.join(brown, name), encoding="utf-8") as fh:
            for line in fh:
                toks = line.split()
                if not toks:
                    continue
                sent = []
                for t in toks:
                    word, _, tag = t.rpartition("/")
                    if not word:
                        word, tag = t, ""
                    sent.append((QUOTES.get(word, word), tag.lower()))
                sents.append(sent)
        out.append((name, sents))
    return out


def labels(sent):
    """BIO tags (0 O, 1 B, 2 I) of a sentence."""
    out = []
    prev = False
    for word, tag in sent:
        low = word.lower()
        name = bool(NAME_TAG.match(tag)) and low not in TITLES and low not in MONTHS
        out.append(0 if not name else (2 if prev else 1))
        prev = name
    return out


NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "'s"}
NO_SPACE_AFTER = {"(", "["}


def detokenize(sent):
    """Text of a sentence as ordinary prose would write it, and each token's (start, end) in
    characters, so the C tokenizer is evaluated on realistic spacing."""
    text = ""
    spans = []
    open_quote = False
    glue_next = False
    for word, _ in sent:
        glue = glue_next or not text or word in NO_SPACE_BEFORE
        glue_next = False
        if word == '"':
            # Alternate opening and closing quotes: an opening one sticks to the next word.
            if open_quote:
                glue = True
            else:
                glue_next = True
            open_quote = not open_quote
        if word in NO_SPACE_AFTER:
            glue_next = True
        if not glue:
            text += " "
        start = len(text)
        text += word
        spans.append((start, len(text)))
    return text, spans


def name_end(word, end):
    """End of a name without its possessive ("Atlanta's" -> "Atlanta"), as ner_model.c."""
    if len(word) > 2 and word[-2:] in ("'s", "'S"):
        return end - 2
    if len(word) > 1 and word[-1] == "'":
        return end - 1
    return end


def gold_spans(sent, tags, spans):
    out = []
    i = 0
    while i < len(sent):
        if tags[i] == 0:
            i += 1
            continue
        j = i + 1
        while j < len(sent) and tags[j] == 2:
            j += 1
        out.append([spans[i][0], name_end(sent[j - 1][0], spans[j - 1][1])])
        i = j
    return out


def gazetteer(lexicon_path, iso_dir):
    """{lowercase phrase: flags} from compromise's lexicon and iso-codes' country names."""
    with open(lexicon_path, encoding="utf-8") as fh:
        lex = json.load(fh)
    bits = {
        "FirstName": G_FIRST, "MaleName": G_FIRST, "FemaleName": G_FIRST,
        "LastName": G_LAST, "Person": G_PERSON,
        "Country": G_LOC, "City": G_LOC, "Region": G_LOC, "Place": G_LOC,
        "Organization": G_ORG, "SportsTeam": G_ORG, "Demonym": G_DEMONYM,
    }
    gaz = {}

    def add(phrase, flag):
        phrase = " ".join(phrase.lower().split())
        # Abbreviations ("st", "rd", "co") are typed by the rules in C, not by lookup.
        if len(phrase) < 3 or any(c in phrase for c in ",()"):
            return
        gaz[phrase] = gaz.get(phrase, 0) | flag

    for word, tags in lex.items():
        for t in tags if isinstance(tags, list) else [tags]:
            if t in bits:
                add(word, bits[t])
    with open(os.path.join(iso_dir, "iso_3166-1.json"), encoding="utf-8") as fh:
        for c in json.load(fh)["3166-1"]:
            for key in ("name", "common_name", "official_name"):
                if key in c:
                    add(c[key], G_LOC)
    with open(os.path.join(iso_dir, "iso_3166-2.json"), encoding="utf-8") as fh:
        for s in json.load(fh)["3166-2"]:
            # Only the subdivisions of English-speaking countries are likely in English text;
            # the rest would mostly add noise ("Centre", "Central", ...).
            if s["code"][:2] in ("US", "GB", "CA", "AU", "IE", "NZ") and s["type"] in (
                "State", "Province", "Country", "Territory", "District", "Nation",
            ):
                add(s["name"], G_LOC)
    return gaz


def main():
    brown, lexicon, iso_dir, work, evaldir = sys.argv[1:6]
    docs = read_brown(brown)
    ntrain = nheld = 0
    ntokens = [0, 0]
    with open(os.path.join(work, "train.txt"), "w", encoding="utf-8") as tr, open(
        os.path.join(work, "heldout.txt"), "w", encoding="utf-8"
    ) as ht, open(os.path.join(work, "heldout_bio.txt"), "w", encoding="utf-8") as hb, open(
        os.path.join(evaldir, "heldout.jsonl"), "w", encoding="utf-8"
    ) as hj:
        for k, (name, sents) in enumerate(docs):
            held = k % 10 == 9
            for sent in sents:
                tags = labels(sent)
                ntokens[held] += len(sent)
                if not held:
                    for (word, _), t in zip(sent, tags):
                        tr.write(f"{word}\t{t}\n")
                    tr.write("\n")
                    ntrain += 1
                    continue
                for (word, _), t in zip(sent, tags):
                    hb.write(f"{word}\t{t}\n")
                hb.write("\n")
                text, spans = detokenize(sent)
                ht.write(text + "\n")
                rec = {"doc": name, "text": text, "gold": gold_spans(sent, tags, spans)}
                hj.write(json.dumps(rec, ensure_ascii=False) + "\n")
                nheld += 1
    gaz = gazetteer(lexicon, iso_dir)
    with open(os.path.join(work, "gaz.tsv"), "w", encoding="utf-8") as fh:
        for phrase in sorted(gaz):
            fh.write(f"{phrase}\t{gaz[phrase]}\n")
    stats = {
        "train_sentences": ntrain, "train_tokens": ntokens[0], "train_files": 450,
        "heldout_sentences": nheld, "heldout_tokens": ntokens[1], "heldout_files": 50,
        "gazetteer_entries": len(gaz),
    }
    with open(os.path.join(work, "prep.json"), "w") as fh:
        json.dump(stats, fh)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
