// ner-v2 helper: what is taken from compromise@14.17.0 (required by path, CommonJS build).
//   node compromise.js lexicon PKG_DIR OUT.json          its lexicon {word: tag(s)}
//   node compromise.js peer PKG_DIR HELDOUT.jsonl N OUT.jsonl
//       the peer's people/places/organizations on N held-out sentences (a fixed stride),
//       offsets in characters (the Brown text is ASCII, so UTF-16 units are code points)
'use strict';
const fs = require('fs');
const path = require('path');
const [mode, pkg] = process.argv.slice(2, 4);
const nlp = require(path.join(pkg, 'builds/three/compromise-three.cjs'));

if (mode === 'lexicon') {
  fs.writeFileSync(process.argv[4], JSON.stringify(nlp.model().one.lexicon));
} else if (mode === 'peer') {
  const [inPath, nStr, outPath] = process.argv.slice(4, 7);
  const all = fs.readFileSync(inPath, 'utf8').split('\n').filter(Boolean).map(JSON.parse);
  // Sentences of at least 8 words, evenly spread over the held-out files.
  const long = all.filter((r) => r.text.split(' ').length >= 8);
  const n = Math.min(Number(nStr), long.length);
  const stride = long.length / n;
  const out = [];
  for (let k = 0; k < n; k++) {
    const r = long[Math.floor(k * stride)];
    const doc = nlp(r.text);
    const spans = [];
    for (const [type, view] of [['PERSON', doc.people()], ['LOCATION', doc.places()],
      ['ORGANIZATION', doc.organizations()]]) {
      for (const m of view.json({ offset: true })) {
        spans.push([m.offset.start, m.offset.start + m.offset.length, type]);
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    out.push(JSON.stringify({ text: r.text, gold: r.gold, peer: spans }));
  }
  fs.writeFileSync(outPath, out.join('\n') + '\n');
} else {
  throw new Error('usage: compromise.js lexicon|peer ...');
}
