// peer.js SRC TMP: runs the JS package vader-sentiment (the peer the C port must match output
// for output) and writes, into TMP:
//   lexicon.json   the lexicon exactly as the package's bundle holds it (what it scores with)
//   texts.jsonl    every evaluation text: {id, set, text, label?}
//   peer.jsonl     the package's answer for each: {id, set, text, compound, pos, neu, neg, label}
// Sets: imdb/amazon/yelp (labelled fixtures of sentiment@5.0.2), vader-tests (the package's own
// test sentences), edge (hand-written sentences aimed at each rule and tokenizer quirk) and fuzz
// (random sentences from a fixed seed, dense in rule triggers).
'use strict';
const fs = require('fs');
const path = require('path');

const [SRC, TMP] = process.argv.slice(2);
const pkgDir = path.join(SRC, 'vader-sentiment');
const vader = require(pkgDir); // package main: build/vaderSentiment.bundle.js

// The bundle inlines its lexicon as one object literal; evaluate that literal so that duplicate
// keys resolve exactly as they do for the package.
function bundleLexicon() {
  const js = fs.readFileSync(path.join(pkgDir, 'build/vaderSentiment.bundle.js'), 'utf8');
  const a = js.indexOf('s.lexicon={');
  const b = js.indexOf('}},function', a);
  if (a < 0 || b < 0) throw new Error('lexicon literal not found in the bundle');
  return (0, eval)('(' + js.slice(a + 's.lexicon='.length, b + 1) + ')');
}

function label(compound) {
  return compound >= 0.05 ? 'positive' : compound <= -0.05 ? 'negative' : 'neutral';
}

function fixtures() {
  const out = [];
  for (const set of ['imdb', 'amazon', 'yelp']) {
    const file = path.join(SRC, 'sentiment/test/fixtures', set + '.json');
    const items = JSON.parse(fs.readFileSync(file, 'utf8'));
    items.forEach((it, i) => {
      // each file ends with an unlabelled empty item
      if (it.class !== 0 && it.class !== 1) return;
      out.push({id: `${set}-${i}`, set, text: it.text, label: it.class ? 'positive' : 'negative'});
    });
  }
  return out;
}

function packageTests() {
  const file = path.join(pkgDir, 'tests/SentimentIntensityAnalyzer_tests.js');
  const src = fs.readFileSync(file, 'utf8');
  const re = /text:\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g;
  const out = [];
  let m;
  while ((m = re.exec(src)) !== null) {
    out.push({id: `vader-tests-${out.length}`, set: 'vader-tests', text: (0, eval)(m[1])});
  }
  if (out.length === 0) throw new Error('no test sentences found in ' + file);
  return out;
}

const EDGE = [
  '', ' ', '\t\n', 'a', 'good', 'GOOD', 'Good', 'GOOD day', 'good DAY', 'GOOD BAD',
  'The book was good.', 'The book was not good.', "The book isn't good.", 'The book wasnt good',
  'It is never so good', 'It is never this good', 'never so good', 'never this bad at all',
  'so very good', 'this is so good', 'not very good', 'not so very good', 'nor good',
  'The food was kind of good.', 'kind of bad', 'Kind Of bad', 'sort of good', 'just enough fun',
  'the kind of good', 'It was KIND of good', 'kinda good', 'kind-of good', 'sort-of nice',
  'least good', 'the least good', 'at least good', 'very least good', 'Least good', 'AT least good',
  'good but bad', 'bad but good', 'good BUT bad', 'good But bad', 'but', 'good but', 'but but good',
  'good, but... bad', 'good but bad but great',
  'That movie was the shit', 'that was the bomb', 'the bomb', 'bad ass movie', 'yeah right',
  'Yeah right', 'it does cut the mustard', 'the kiss of death for it', 'living hand to mouth',
  'hand to mouth living is sad', 'what a bad ass', 'this is the shit man', 'we are the shit',
  'good!', 'good!!', 'good!!!', 'good!!!!', 'good!!!!!!!', 'bad!', 'bad!!!!', 'good?', 'good??',
  'good???', 'good????', 'bad??', 'bad?!?!', 'bad !?!', 'good ! ! ! ! !', 'ok!!!', '!!!', '???',
  "'good'", '"good"', '(good)', '...good', 'good...', 'good.,', '.good.', ':good', 'good:',
  'good-', '-good', "good'", '?!?good', 'good!?!?', 'good?!?!', 'g.ood', 'go-od', 'good.bad',
  ':) :( :D :P', 'Make sure you :) or :D today!', ':-)', ':)', '=)', '<3', '</3', 'xD', 'XD',
  'lol LOL', 'Today SUX!', "Today only kinda sux! But I'll get by, lol", 'haha', 'HAHA good',
  '\u{1F600} good', '\u{1F600}', 'I \u2764 it', 'caf\u00e9 good', '\u00e9 good', 'goo\u0301d',
  '\u212Aind of bad', 'the \u212Aiss of death', 'GREAT \u00c9COLE', '\u0130stanbul is good',
  'good\u00a0day', 'good\u3000bad', 'good\u2028bad', 'good\u0085bad', 'good\u200bbad',
  'good\u2003!!!', 'not\u00a0good', 'good\ufeffbad',
  'VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!', 'UBER good', 'uber GOOD',
  'EXTREMELY bad', 'extremely BAD', 'really REALLY good', 'barely good', 'BARELY good',
  'hardly bad', 'not bad', "don't like it", "didn't love it", "can't stand it", 'cannot stand it',
  'uh-uh good', 'uhuh good', 'without love', 'despite the love', 'rarely good', 'seldom bad',
  "ain't good", 'aint good', "won't hurt", 'nothing good', 'nope good', 'never good', 'NEVER good',
  "isn't it great?", 'I never said it was not good', 'not not good', 'no good', 'no',
  'fed up', 'screwed up', "can't stand", 'O.o', 'o.O', ':-\u00de', ':\u00de', ':-\u00fe',
  '1337 143', '(-:O', '(-:o', 'the the the the good', 'good good good good good good good good',
  'A very, very, very slow-moving, aimless movie about a distressed, drifting young man.  ',
  'I loved it.It was great!!', 'constructor', '__proto__ good', 'hasOwnProperty good',
  'toString', 'valueOf bad',
];

// A fixed-seed generator (mulberry32) so the fuzz set is the same on every build.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fuzz(lexicon, n) {
  const r = rng(20240603);
  const pick = a => a[Math.floor(r() * a.length)];
  const lexWords = Object.keys(lexicon);
  const rules = ['not', "isn't", "n't", 'never', 'so', 'this', 'very', 'really', 'kind', 'of',
    'sort', 'least', 'at', 'but', 'BUT', 'the', 'shit', 'bomb', 'bad', 'ass', 'yeah', 'right', 'cut',
    'mustard', 'kiss', 'death', 'hand', 'to', 'mouth', 'just', 'enough', 'kinda', 'barely',
    'extremely', 'uber', 'without', 'nor', 'hardly', 'somewhat', 'most', 'less'];
  const plain = ['it', 'movie', 'was', 'is', 'and', 'a', 'I', 'food', 'we', 'day', 'x', '\u{1F600}',
    'caf\u00e9', '\u212Aind'];
  const punc = ['.', '!', '?', ',', ';', ':', '-', "'", '"', '!!', '!!!', '??', '?!?', '!?!?', ')',
    '(', '...', '*', '#'];
  const spaces = [' ', ' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u2009', '\u0085'];
  const out = [];
  for (let k = 0; k < n; k++) {
    const len = 1 + Math.floor(r() * 14);
    let text = '';
    for (let j = 0; j < len; j++) {
      const u = r();
      let w = u < 0.4 ? pick(lexWords) : u < 0.8 ? pick(rules) : pick(plain);
      const c = r();
      if (c < 0.12) w = w.toUpperCase();
      else if (c < 0.17) w = w[0].toUpperCase() + w.slice(1);
      const p = r();
      if (p < 0.15) w = w + pick(punc);
      else if (p < 0.22) w = pick(punc) + w;
      else if (p < 0.25) w = pick(punc) + w + pick(punc);
      text += (j ? pick(spaces) : '') + w;
    }
    out.push({id: `fuzz-${k}`, set: 'fuzz', text});
  }
  return out;
}

const lexicon = bundleLexicon();
fs.writeFileSync(path.join(TMP, 'lexicon.json'), JSON.stringify(lexicon));

const items = [].concat(
  fixtures(),
  packageTests(),
  EDGE.map((text, i) => ({id: `edge-${i}`, set: 'edge', text})),
  fuzz(lexicon, 3000)
);
const texts = [];
const peer = [];
for (const it of items) {
  const s = vader.SentimentIntensityAnalyzer.polarity_scores(it.text);
  texts.push(JSON.stringify(it));
  peer.push(JSON.stringify({id: it.id, set: it.set, text: it.text, compound: s.compound,
    pos: s.pos, neu: s.neu, neg: s.neg, label: label(s.compound)}));
}
fs.writeFileSync(path.join(TMP, 'texts.jsonl'), texts.join('\n') + '\n');
fs.writeFileSync(path.join(TMP, 'peer.jsonl'), peer.join('\n') + '\n');
