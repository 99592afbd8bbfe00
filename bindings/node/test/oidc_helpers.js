'use strict';
// What the oidc-provider end-to-end tests share: a provider on 127.0.0.1:0 whose interactions log
// "alice" in and consent at once, a user agent with a cookie jar that follows redirects and submits
// the provider's forms, a barrier that holds the adapter's consume() calls until every contender
// arrived, and small request helpers. oidc-provider and openid-client are ES modules:
// `await oidc.load()` imports them first.

const http = require('node:http');

const REDIRECT = 'https://app.example.com/cb';
const POST_LOGOUT = 'https://app.example.com/logged-out';
const CLIENT_ID = 'app';
const CLIENT_SECRET = 'a-client-secret-of-the-test';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const lib = {};
async function load() {
  if (!lib.Provider) {
    ({ Provider: lib.Provider } = await import('oidc-provider'));
    ({ default: lib.MemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js'));
    lib.client = await import('openid-client');
  }
  return lib;
}

// Holds consume() calls until `parties` of them arrived (or 5 s passed: a loaded machine may keep
// the other contender's requests that long): the contenders then decide at the same time.
// arrivedTogether() tells whether the last round's calls all met.
function consumeBarrier(parties) {
  let waiting = [];
  let met = false;
  return {
    reset() { waiting = []; met = false; },
    arrivedTogether() { return met; },
    async wait() {
      await new Promise((resolve) => {
        waiting.push(resolve);
        if (waiting.length === parties) {
          met = true;
          for (const r of waiting) r();
        } else if (waiting.length === 1) {
          setTimeout(() => { for (const r of waiting) r(); }, 5000).unref();
        }
      });
    },
  };
}

// An adapter class whose consume() waits at the barrier first, unless the class's
// prototype.barrier is false (the flows that do not race).
function withBarrier(Base, barrier) {
  return class extends Base {
    async consume(id) {
      if (this.barrier !== false) await barrier.wait();
      return super.consume(id);
    }
  };
}

// Runs fn with the barrier of Adapter off.
async function withoutBarrier(Adapter, fn) {
  Adapter.prototype.barrier = false;
  try {
    return await fn();
  } finally {
    Adapter.prototype.barrier = undefined;
  }
}

// A provider on 127.0.0.1:0 with the code, refresh and device grants, PAR, revocation and
// RP-initiated logout; `configuration` is merged over the test's own (shallowly).
async function startProvider(Adapter, configuration = {}) {
  const { Provider, client } = await load();
  const server = http.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    adapter: Adapter,
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT],
      post_logout_redirect_uris: [POST_LOGOUT],
      grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    cookies: { keys: ['cookie-key-of-the-test'] },
    features: {
      devInteractions: { enabled: false }, revocation: { enabled: true },
      deviceFlow: { enabled: true }, pushedAuthorizationRequests: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'Alice' }) }),
    claims: { openid: ['sub'], profile: ['name'] },
    rotateRefreshToken: true,
    ...configuration,
  });
  provider.on('server_error', () => {});  // expected in the failure tests; asserted on responses
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (!req.url.startsWith('/interaction/')) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: 'alice', clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } },
        { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  const config = await client.discovery(new URL(issuer), CLIENT_ID, CLIENT_SECRET, undefined,
    { execute: [client.allowInsecureRequests] });
  return { issuer, provider, config, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

// Registers before/after hooks of the current suite: a store of backend `name`
// (helpers.backends(redis)), authstore's adapter over it with its consume() calls held at a barrier
// of two, and a provider using it (`configuration` as for startProvider). The returned object's
// store, Adapter and op are set once the before hook ran; barrier at once.
function providerFixture(name, redis, configuration) {
  const { before, after } = require('node:test');
  const { backends } = require('./helpers');
  const { adapterFor } = require('../oidc-provider.js');
  const fixture = { barrier: consumeBarrier(2) };
  before(async () => {
    fixture.store = await backends(redis).find((b) => b.name === name).open();
    fixture.Adapter = withBarrier(adapterFor(fixture.store), fixture.barrier);
    fixture.op = await startProvider(fixture.Adapter, configuration);
  });
  after(async () => {
    await fixture.op.stop();
    await fixture.store.close();
  });
  return fixture;
}

// A browser: a cookie jar, redirects followed by hand (stopping at the client's URIs, which are
// not served), and the provider's HTML forms submitted with their hidden inputs.
class UserAgent {
  constructor() { this.jar = new Map(); }

  cookie(name) { return this.jar.get(name); }

  async request(url, init = {}) {
    const headers = { ...init.headers, cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    const res = await fetch(url, { ...init, redirect: 'manual', headers });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  }

  // Follows redirects from `url` (a GET, or the POST `init` describes) until a page answers or a
  // redirect leaves for the client: {callback: URL} or {status, body, url}.
  async navigate(url, init) {
    let next = url;
    for (let hop = 0; hop < 12; hop++) {
      const res = await this.request(next, hop === 0 ? init : undefined);
      if (!res.location) return { status: res.status, body: res.body, url: next };
      const target = new URL(res.location, next);
      if (target.href.startsWith(REDIRECT) || target.href.startsWith(POST_LOGOUT)) return { callback: target };
      next = target.href;
    }
    throw new Error('too many redirects');
  }

  // Submits the first POST form of `page` (its hidden inputs plus `extra`) and follows on.
  async submit(page, extra = {}) {
    const form = /<form\b[^>]*\bmethod="post"[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!form) throw new Error(`no form on the page (${page.status}): ${page.body.slice(0, 200)}`);
    const action = /\baction="([^"]*)"/.exec(form[0])[1].replace(/&amp;/g, '&');
    const fields = {};
    for (const input of form[1].matchAll(/<input\b[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(input[0]);
      const value = /\bvalue="([^"]*)"/.exec(input[0]);
      if (name) fields[name[1]] = value ? value[1].replace(/&amp;/g, '&') : '';
    }
    return this.navigate(new URL(action, page.url).href, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...fields, ...extra }).toString(),
    });
  }
}

// An authorization (code + PKCE) in user agent `ua`: {callback: URL, verifier, state} when it came
// back to the client, else {status, body}. `url(params)` builds the authorization URL (default:
// the plain front-channel one; PAR passes its own).
async function authorize(op, extra = {}, ua = new UserAgent(), url) {
  const { client } = await load();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const params = {
    redirect_uri: REDIRECT, scope: 'openid profile offline_access', prompt: 'consent', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  };
  const href = url ? (await url(params)).href : client.buildAuthorizationUrl(op.config, params).href;
  const end = await ua.navigate(href);
  return end.callback ? { callback: end.callback, verifier, state, href } : { status: end.status, body: end.body, href };
}

// A token request as it goes on the wire: {status, body}.
async function tokenRequest(op, params) {
  const r = await fetch(`${op.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  });
  return { status: r.status, body: await r.json() };
}

async function redeem(op, auth) {
  const { client } = await load();
  return client.authorizationCodeGrant(op.config, auth.callback,
    { pkceCodeVerifier: auth.verifier, expectedState: auth.state });
}

// Settles a promise as {ok: value} or {error: the OAuth error code or the message}.
async function settle(promise) {
  try {
    return { ok: await promise };
  } catch (err) {
    return { error: err.error || err.cause?.error || err.code || err.message, status: err.status };
  }
}

module.exports = {
  load, consumeBarrier, withBarrier, withoutBarrier, startProvider, providerFixture, UserAgent, authorize, tokenRequest, redeem,
  settle, REDIRECT, POST_LOGOUT, CLIENT_ID, CLIENT_SECRET, DEVICE_GRANT,
};
