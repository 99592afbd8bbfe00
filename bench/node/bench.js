'use strict';
// The Node addon's cost, measured (bench/node/run.sh drives it; see docs/performance.md).
//
//   bench.js peek-memory M              M awaited codes.peek calls of one code on memory://, one at
//                                       a time: ns per promise round trip
//   bench.js peek-redis URL N INFLIGHT  N codes issued (untimed), then peeked with INFLIGHT promises
//                                       in flight: operations per second
//   bench.js oidc URL ADAPTER T C       oidc-provider in this process on 127.0.0.1:0 with ADAPTER
//                                       (authstore: adapterFor over URL; ioredis: the example Redis
//                                       adapter, ioredis_adapter.js, on the same server); C refresh
//                                       tokens obtained by C authorizations (untimed), then T
//                                       refresh_token grants at the token endpoint, C in flight on
//                                       C keep-alive connections (each chain sends the refresh token
//                                       its previous grant returned): requests per second
//
// Each prints one number on stdout. Every loop is bounded in count and in time (MAX_RUN_SECONDS,
// default 60); any failed call stops the run with a non-zero exit (a failure never counts as speed).
// The addon comes from AUTHSTORE_NODE_ADDON (run.sh sets it); the npm packages from bindings/node.
const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');

const nodeDir = path.resolve(__dirname, '..', '..', 'bindings', 'node');
const authstore = require(nodeDir);
const { adapterFor } = require(path.join(nodeDir, 'oidc-provider.js'));
const oidc = require(path.join(nodeDir, 'test', 'oidc_helpers.js'));
const { ioredisAdapter } = require('./ioredis_adapter.js');

const KEY = { keys: [{ id: 1, secret: Buffer.alloc(32, 7) }] };
const DEADLINE_MS = 1000 * Number(process.env.MAX_RUN_SECONDS || 60);
const grant = (i) => ({
  clientId: 'client', subject: `user-${i % 1000}`, redirectUri: 'https://app.example.com/cb',
  scope: 'openid profile', codeChallenge: authstore.pkceS256Challenge(authstore.pkceNewVerifier()),
  codeChallengeMethod: 'S256',
});

function fail(message) {
  process.stderr.write(`bench.js: ${message}\n`);
  process.exit(1);
}

// `inflight` workers take indexes 0..n-1 in turn (so `inflight` calls outstanding at once) until
// all were taken or the deadline passed; `call(i, w)` (w: the worker, 0..inflight-1) resolves true
// on success.
async function window(n, inflight, call, deadline = performance.now() + DEADLINE_MS) {
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async (w) => {
    while (next < n && performance.now() < deadline) {
      const i = next++;
      if (!(await call(i, w))) failed++;
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, (_, w) => worker(w)));
  return { done, failed, seconds: (performance.now() - t0) / 1000 };
}

async function peekMemory(m) {
  const store = await authstore.open('memory://', { keys: KEY });
  const code = (await store.codes.issue(grant(0))).value.code;
  const { codes } = store;
  let r;
  for (let i = 0; i < Math.min(m, 10000); i++) r = await codes.peek(code);  // warm up
  const deadline = performance.now() + DEADLINE_MS;
  const t0 = process.hrtime.bigint();
  let i = 0;
  for (; i < m; i++) {
    r = await codes.peek(code);
    if ((i & 4095) === 0 && performance.now() > deadline) break;
  }
  const elapsed = Number(process.hrtime.bigint() - t0);
  if (r.status !== 'ok') fail(`peek: ${r.status}`);
  if (i < m) fail(`only ${i} of ${m} peeks within ${DEADLINE_MS} ms`);
  await store.close();
  return (elapsed / m).toFixed(1);
}

async function peekRedis(url, n, inflight) {
  const store = await authstore.open(`${url}?prefix=node:`, { keys: KEY });
  const codes = new Array(n);
  const prep = await window(n, 256, async (i) => {
    const r = await store.codes.issue(grant(i));
    codes[i] = r.value?.code;
    return r.status === 'ok';
  });
  if (prep.failed || prep.done !== n) fail(`preparing codes: ${prep.failed} failed, ${prep.done}/${n} done`);
  const run = await window(n, inflight, async (i) => (await store.codes.peek(codes[i])).status === 'ok');
  await store.close();
  if (run.failed || run.done !== n) fail(`peek: ${run.failed} failed, ${run.done}/${n} done`);
  return (run.done / run.seconds).toFixed(0);
}

// One refresh_token grant over `agent`: the next refresh token, or an Error.
function refreshGrant(agent, port, token) {
  const body = new URLSearchParams({
    grant_type: 'refresh_token', refresh_token: token, client_id: oidc.CLIENT_ID, client_secret: oidc.CLIENT_SECRET,
  }).toString();
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/token', method: 'POST', agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return resolve(new Error(`token endpoint ${res.statusCode}: ${text.slice(0, 200)}`));
        const next = JSON.parse(text).refresh_token;
        return resolve(next ? next : new Error('no refresh_token in the answer'));
      });
    });
    req.on('error', resolve);
    req.end(body);
  });
}

async function oidcRun(url, adapterName, t, c) {
  const crypto = require('node:crypto');
  let Adapter;
  let cleanup;
  if (adapterName === 'authstore') {
    const store = await authstore.open(`${url}?prefix=oidc:`, { keys: KEY });
    Adapter = adapterFor(store);
    cleanup = () => store.close();
  } else if (adapterName === 'ioredis') {
    const Redis = createRequire(path.join(nodeDir, 'package.json'))('ioredis');
    const client = new Redis(url, { keyPrefix: 'oidc:', lazyConnect: true });
    await client.connect();
    Adapter = ioredisAdapter(client);
    cleanup = () => client.quit();
  } else {
    fail(`unknown adapter ${adapterName} (authstore or ioredis)`);
  }
  // ID tokens signed with ES256 (OIDC_ALG=RS256 for RSA 2048: its signature then dominates each grant).
  const alg = process.env.OIDC_ALG || 'ES256';
  const keyPair = alg === 'RS256'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const op = await oidc.startProvider(Adapter, {
    jwks: { keys: [{ ...keyPair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: 'bench' }] },
    clients: [{
      client_id: oidc.CLIENT_ID, client_secret: oidc.CLIENT_SECRET, redirect_uris: [oidc.REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: alg,
    }],
  });
  const port = Number(new URL(op.issuer).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  try {
    // C chains: one authorization (code + PKCE) and its redemption each, untimed.
    const tokens = [];
    for (let i = 0; i < c; i++) {
      const auth = await oidc.authorize(op);
      if (!auth.callback) fail(`authorization ended at ${auth.status}: ${auth.body}`);
      const r = await oidc.tokenRequest(op, {
        grant_type: 'authorization_code', code: auth.callback.searchParams.get('code'),
        redirect_uri: oidc.REDIRECT, code_verifier: auth.verifier,
      });
      if (r.status !== 200 || !r.body.refresh_token) fail(`redeeming a code: ${r.status} ${JSON.stringify(r.body)}`);
      tokens.push(r.body.refresh_token);
    }
    for (let i = 0; i < c; i++) {  // warm up: one grant per chain (connections open, code paths hot)
      const next = await refreshGrant(agent, port, tokens[i]);
      if (next instanceof Error) fail(next.message);
      tokens[i] = next;
    }
    // Worker k is chain k: it sends the refresh token its own previous grant returned (each
    // refresh token is used once; the chains share the count T).
    let firstError;
    const run = await window(t, c, async (i, k) => {
      const next = await refreshGrant(agent, port, tokens[k]);
      if (next instanceof Error) {
        firstError ??= next;
        return false;
      }
      tokens[k] = next;
      return true;
    });
    if (run.failed || run.done !== t) fail(`refresh grants: ${run.failed} failed, ${run.done}/${t} done: ${firstError?.message}`);
    return (run.done / run.seconds).toFixed(0);
  } finally {
    agent.destroy();
    await op.stop();
    await cleanup();
  }
}

async function main() {
  const [mode, ...a] = process.argv.slice(2);
  let out;
  if (mode === 'peek-memory') out = await peekMemory(Number(a[0]));
  else if (mode === 'peek-redis') out = await peekRedis(a[0], Number(a[1]), Number(a[2]));
  else if (mode === 'oidc') out = await oidcRun(a[0], a[1], Number(a[2]), Number(a[3]));
  else fail('usage: bench.js peek-memory M | peek-redis URL N INFLIGHT | oidc URL authstore|ioredis T C');
  process.stdout.write(`${out}\n`);
}

main().catch((err) => fail(err.stack || String(err)));
