"""prep.py DATA OUT: the training and held-out files of text-classifier-v2.

Temporal split: the older collections (easy-ham-1, hard-ham-1, spam-1) train, the ones collected
later (easy-ham-2, spam-2) are held out. A held-out email whose normalised text is also in the
training set is left out of the evaluation (the corpus repeats some messages), so the figures
measure unseen mail. Also writes a seeded random 80/20 split of all collections for a
non-temporal figure.

  OUT/train.txt            "__label__<ham|spam> <tokens>" per line (fastText input)
  OUT/heldout.jsonl        {"id","group","label","text" (raw email),"norm"} per held-out email
  OUT/heldout.txt          the normalised held-out texts, one per line (for predict-prob)
  OUT/random_train.txt, OUT/random_test.txt   the 80/20 split (labelled)
"""
import glob
import json
import os
import random
import sys

import normalise

TRAIN = ('easy-ham-1', 'hard-ham-1', 'spam-1')
HELDOUT = ('easy-ham-2', 'spam-2')


def load(data):
    emails = []
    for path in sorted(glob.glob(os.path.join(data, '*', '*.json'))):
        with open(path, encoding='utf-8') as f:
            d = json.load(f)
        raw = d['text'].encode('utf-8')
        label = 'spam' if d['group'].startswith('spam') else 'ham'
        emails.append({'id': d['id'], 'group': d['group'], 'label': label,
                       'text': d['text'], 'norm': normalise.normalise(raw).decode('utf-8')})
    return emails


def labelled(e):
    return '__label__%s %s\n' % (e['label'], e['norm'])


def main():
    data, out = sys.argv[1], sys.argv[2]
    emails = load(data)
    train = [e for e in emails if e['group'] in TRAIN]
    seen = {e['norm'] for e in train}
    held = [e for e in emails if e['group'] in HELDOUT]
    kept = [e for e in held if e['norm'] not in seen]
    rng = random.Random(20020822)
    shuffled = list(train)
    rng.shuffle(shuffled)  # fastText reads lines in order; mixed classes learn better
    with open(os.path.join(out, 'train.txt'), 'w', encoding='utf-8') as f:
        f.writelines(labelled(e) for e in shuffled)
    with open(os.path.join(out, 'heldout.jsonl'), 'w', encoding='utf-8') as f:
        for e in kept:
            f.write(json.dumps(e, ensure_ascii=False) + '\n')
    with open(os.path.join(out, 'heldout.txt'), 'w', encoding='utf-8') as f:
        f.writelines(e['norm'] + '\n' for e in kept)
    everything = list(emails)
    rng.shuffle(everything)
    cut = len(everything) * 8 // 10
    with open(os.path.join(out, 'random_train.txt'), 'w', encoding='utf-8') as f:
        f.writelines(labelled(e) for e in everything[:cut])
    with open(os.path.join(out, 'random_test.txt'), 'w', encoding='utf-8') as f:
        f.writelines(labelled(e) for e in everything[cut:])
    stats = {'train': len(train), 'heldout': len(held), 'heldout_kept': len(kept),
             'heldout_dropped_duplicates': len(held) - len(kept),
             'heldout_spam': sum(e['label'] == 'spam' for e in kept),
             'heldout_ham': sum(e['label'] == 'ham' for e in kept),
             'random_train': cut, 'random_test': len(everything) - cut}
    with open(os.path.join(out, 'split.json'), 'w') as f:
        json.dump(stats, f)
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
