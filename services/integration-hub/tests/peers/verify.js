#!/usr/bin/env node
// Standard Webhooks signatures checked and made by independent implementations, for the
// integration hub's component suites (services/integration-hub/tests/component/hubkit.py):
// `standardwebhooks` (the specification's reference TypeScript library) and `svix` (its
// Webhook class, what most receivers run). Reads one JSON request per line on stdin and
// prints one JSON answer per line on stdout, in the same order:
//
//   {"op": "verify", "lib": "standardwebhooks"|"svix", "secret": "whsec_…",
//    "headers": {"webhook-id": …, "webhook-timestamp": …, "webhook-signature": …},
//    "body_b64": "<the body's bytes, base64>", "tag": <anything>}
//     → {"tag", "ok": true, "payload": <the body as the library parsed it>}
//     | {"tag", "ok": false, "error": "<the library's message>"}
//
//   {"op": "sign", "lib": …, "secret": "whsec_…", "id": "msg_…", "timestamp": <Unix seconds>,
//    "body_b64": …, "tag": …}
//     → {"tag", "signature": "v1,<base64>"}
//
// The libraries check the timestamp against this machine's clock (5 minutes either way), as
// a receiver does. A line that is not a request answers {"tag": null, "ok": false, "error"}.
'use strict';

const readline = require('readline');
const standardwebhooks = require('standardwebhooks');
const svix = require('svix');

const LIBS = {
  standardwebhooks: (secret) => new standardwebhooks.Webhook(secret),
  svix: (secret) => new svix.Webhook(secret),
};

function answer(req) {
  const make = LIBS[req.lib];
  if (!make) throw new Error(`unknown lib ${JSON.stringify(req.lib)}`);
  const wh = make(req.secret);
  const body = Buffer.from(req.body_b64 || '', 'base64');
  if (req.op === 'verify') {
    try {
      const payload = wh.verify(body, req.headers || {});
      return { tag: req.tag, ok: true, payload: payload === undefined ? null : payload };
    } catch (e) {
      return { tag: req.tag, ok: false, error: `${e.name}: ${e.message}` };
    }
  }
  if (req.op === 'sign') {
    return { tag: req.tag, signature: wh.sign(req.id, new Date(req.timestamp * 1000), body) };
  }
  throw new Error(`unknown op ${JSON.stringify(req.op)}`);
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let out;
  try {
    out = answer(JSON.parse(line));
  } catch (e) {
    out = { tag: null, ok: false, error: `bad request: ${e.message}` };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
