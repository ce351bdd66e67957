// The peer of the notification Web Push benchmark (scripts/bench.sh): npm web-push, the
// reference sender, encrypting (aes128gcm) and signing (VAPID, ES256) COUNT messages of the
// same shape for one browser of the same push service, posted one at a time over one
// kept-alive connection; web-push-testing verifies and decrypts each, as for ours. Prints
// messages per second.
//
//   node push_peer.js PUSH_BASE COUNT
'use strict';
const http = require('http');
const path = require('path');

const peers = path.join(__dirname, '..', '..', 'services', 'notification', 'tests', 'peers',
                        'node_modules');
const webpush = require(path.join(peers, 'web-push'));

const agent = new http.Agent({keepAlive: true, maxSockets: 1});

function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method: 'POST', headers, agent}, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const [base, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const vapid = webpush.generateVAPIDKeys();
  const status = await new Promise((resolve, reject) => {
    const body = JSON.stringify({userVisibleOnly: 'true', applicationServerKey: vapid.publicKey});
    const req = http.request(base + '/subscribe', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, agent}, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(body);
  });
  const sub = {endpoint: status.data.endpoint, keys: status.data.keys};
  const options = {
    vapidDetails: {subject: 'mailto:bench@techcorp.test', publicKey: vapid.publicKey,
                   privateKey: vapid.privateKey},
    TTL: 86400, contentEncoding: 'aes128gcm'};
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const payload = JSON.stringify({title: `Bench ${i} mentioned you`, body: 'in the plan\n'});
    const d = webpush.generateRequestDetails(sub, payload, options);
    const code = await post(d.endpoint, d.headers, d.body);
    if (code !== 201) throw new Error(`push_peer: ${code}`);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log((count / s).toFixed(0));
}

main().catch((e) => { console.error(e); process.exit(1); });
