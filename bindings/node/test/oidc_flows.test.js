'use strict';
// End to end beyond the code flow: node-oidc-provider (pinned in package-lock.json) on
// 127.0.0.1:0 with authstore as its adapter, driven by openid-client and a cookie-jar user agent,
// on memory, SQLite and Redis:
// - device flow (RFC 8628): device authorization, the user's code entered and confirmed, the
//   client polling (authorization_pending, then tokens); the DeviceCode redeemed once; two polls
//   of one confirmed device code at once (their consume() calls held at a barrier until both
//   arrived), 25 rounds: exactly one token set, and the winner's tokens die with the grant that
//   the loser's replay revoked;
// - pushed authorization requests (RFC 9126): request_uri used once, a second use refused; two
//   browsers completing one request_uri at once, 25 rounds: exactly one code;
// - RP-initiated logout: after end_session, the session, its grant and the grant's refresh token
//   are gone from the store, and the refresh token no longer refreshes;
// - oidc-provider's own window for a session-bound device code (a poll between the DeviceCode's
//   save and the Session's is invalid_grant; nothing consumed), held open deterministically;
// - a backend down (Redis stopped): device polling, PAR and device authorization answer 500, and
//   nothing is granted.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');
const { adapterFor } = require('../oidc-provider.js');
const {
  load, withoutBarrier, startProvider, providerFixture, UserAgent, authorize, tokenRequest, redeem,
  settle, CLIENT_ID, CLIENT_SECRET, DEVICE_GRANT, POST_LOGOUT,
} = require('./oidc_helpers');

const ROUNDS = 25;
const PAR_URN = 'urn:ietf:params:oauth:request_uri:';
const SCOPE = 'openid profile offline_access';

let client;
before(async () => {
  ({ client } = await load());
});

// The user at the verification URI: enters (here: follows verification_uri_complete, which
// prefills) the user code, confirms it, logs in and consents. The last page the browser shows.
async function confirmDevice(ua, deviceAuthorization) {
  const prefilled = await ua.navigate(deviceAuthorization.verification_uri_complete);
  assert.equal(prefilled.status, 200, prefilled.body);
  const confirm = await ua.submit(prefilled);
  assert.match(confirm.body, /op\.deviceConfirmForm/, 'the confirmation page');
  return ua.submit(confirm);
}

// The access token at the userinfo endpoint: its HTTP status.
async function userinfoStatus(op, accessToken) {
  const r = await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await r.body?.cancel();
  return r.status;
}

const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(`oidc-provider flows on ${name}`, () => {
    // Tokens expire with the session, so a logout revokes the grant (with offline_access,
    // oidc-provider's default keeps it: an offline grant outlives the session). Device codes do
    // not: oidc-provider saves a confirmed DeviceCode before the browser's Session, so a poll
    // between the two saves finds a session-bound code orphaned and answers invalid_grant
    // (the last test of this file pins that window down; docs/node.md).
    const fixture = providerFixture(name, redis,
      { expiresWithSession: async (ctx, token) => token.kind !== 'DeviceCode' });
    const { barrier } = fixture;
    let store;
    let op;
    let Adapter;
    before(() => ({ store, op, Adapter } = fixture));

    it('device flow: authorization, user code confirmed, polling, the device code redeemed once', async () => {
      await withoutBarrier(Adapter, async () => {
        const da = await client.initiateDeviceAuthorization(op.config, { scope: SCOPE });
        assert.ok(da.device_code && da.user_code && da.verification_uri_complete);
        const stored = await store.payloads.findByUserCode('DeviceCode', da.user_code.replace(/-/g, ''));
        assert.equal(stored.status, 'ok', 'the DeviceCode is found by its user code in authstore');
        // Before the user confirmed: authorization_pending, and nothing consumed.
        const pending = await tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
        assert.equal(pending.body.error, 'authorization_pending');
        // The client polls (fast) while the user confirms.
        const polled = client.pollDeviceAuthorizationGrant(op.config, { ...da, interval: 0.05 });
        const done = await confirmDevice(new UserAgent(), da);
        assert.equal(done.status, 200);
        assert.match(done.body, /Sign-in Success/);
        const tokens = await polled;
        assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
        assert.equal(tokens.claims().sub, 'alice');
        assert.equal((await client.fetchUserInfo(op.config, tokens.access_token, 'alice')).name, 'Alice');
        const consumed = await store.payloads.find('DeviceCode', da.device_code);
        assert.ok(consumed.value.consumedAt > 0, 'the DeviceCode is consumed in authstore');
        // Polled again: the device code is spent, and its replay revokes the grant.
        const again = await tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
        assert.equal(again.status, 400);
        assert.equal(again.body.error, 'invalid_grant');
        assert.equal(again.body.access_token, undefined);
        assert.equal(await userinfoStatus(op, tokens.access_token), 401);
        assert.equal((await settle(client.refreshTokenGrant(op.config, tokens.refresh_token))).error, 'invalid_grant');
        // A user code that was never issued: the form says so, nothing else happens.
        const ua = new UserAgent();
        const wrong = await ua.navigate(`${op.issuer}/device?user_code=BCDF-GHJK`);
        const refused = await ua.submit(wrong);
        assert.match(refused.body, /The code you entered is incorrect/);
      });
    });

    it(`two polls of one confirmed device code at once, ${ROUNDS} rounds: exactly one token set`, async () => {
      let overlapped = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const da = await client.initiateDeviceAuthorization(op.config, { scope: SCOPE });
        const done = await confirmDevice(new UserAgent(), da);
        assert.match(done.body, /Sign-in Success/, `round ${round}`);
        barrier.reset();
        const poll = () => tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
        const results = await Promise.all([poll(), poll()]);
        if (barrier.arrivedTogether()) overlapped++;
        const won = results.filter((r) => r.status === 200);
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.body.error || 'tokens'))}`);
        const lost = results.find((r) => r.status !== 200);
        assert.equal(lost.status, 400);
        assert.equal(lost.body.error, 'invalid_grant');
        assert.equal(lost.body.access_token, undefined);
        // The loser's replay revoked the grant: the winner's access token is dead too.
        assert.equal(await userinfoStatus(op, won[0].body.access_token), 401, `round ${round}`);
      }
      assert.ok(overlapped >= ROUNDS - 2, `the two consume() calls met at the barrier in ${overlapped} of ${ROUNDS} rounds`);
    });

    it('pushed authorization request: the request_uri serves one authorization, a second use is refused', async () => {
      await withoutBarrier(Adapter, async () => {
        const par = (params) => client.buildAuthorizationUrlWithPAR(op.config, params);
        const auth = await authorize(op, {}, new UserAgent(), par);
        assert.ok(auth.callback, `authorization ended at ${auth.status}: ${auth.body}`);
        const requestUri = new URL(auth.href).searchParams.get('request_uri');
        assert.ok(requestUri.startsWith(PAR_URN));
        const stored = await store.payloads.find('PushedAuthorizationRequest', requestUri.slice(PAR_URN.length));
        assert.equal(stored.status, 'ok');
        assert.ok(stored.value.consumedAt > 0, 'the pushed request is consumed in authstore');
        const tokens = await redeem(op, auth);
        assert.equal(tokens.claims().sub, 'alice');
        // The same request_uri again, in a browser with a session and in one without: refused.
        for (const ua of [new UserAgent(), new UserAgent()]) {
          const again = await ua.navigate(auth.href);
          const where = again.callback ? again.callback.href : `${again.status} ${again.body}`;
          assert.equal(again.callback?.searchParams.get('code') ?? null, null, `a second code: ${where}`);
          assert.match(where, /invalid_request_uri|request_uri is invalid/, where);
        }
        // A request_uri that was never pushed: refused alike.
        const unknown = await new UserAgent().navigate(
          `${op.issuer}/auth?client_id=${CLIENT_ID}&request_uri=${encodeURIComponent(`${PAR_URN}never-pushed`)}`);
        const where = unknown.callback ? unknown.callback.href : `${unknown.status} ${unknown.body}`;
        assert.match(where, /invalid_request_uri|request_uri is invalid/, where);
      });
    });

    it(`one request_uri completed by two browsers at once, ${ROUNDS} rounds: exactly one code`, async () => {
      let overlapped = 0;
      for (let round = 0; round < ROUNDS; round++) {
        let pushed;  // one pushed request (the first browser's parameters), used by both
        const par = (params) => (pushed ??= client.buildAuthorizationUrlWithPAR(op.config, params));
        barrier.reset();
        const results = await Promise.all([
          authorize(op, {}, new UserAgent(), par), authorize(op, {}, new UserAgent(), par),
        ].map(settle));
        const met = barrier.arrivedTogether();
        if (met) overlapped++;
        const seen = JSON.stringify(results.map((r) => r.ok?.callback?.href ?? r.ok?.status ?? r.error));
        const codes = results.filter((r) => r.ok?.callback?.searchParams.get('code'));
        assert.equal(codes.length, 1, `round ${round}: ${seen}`);
        // The other browser is sent back to the client refused: by the adapter's consume() when
        // the two met there (invalid_grant), or, when it came after the winner had consumed (a
        // round where they did not meet), at the request_uri's lookup (invalid_request_uri).
        const refused = results.find((r) => !r.ok?.callback?.searchParams.get('code'));
        const error = refused.ok?.callback?.searchParams.get('error');
        const expected = met ? ['invalid_grant'] : ['invalid_grant', 'invalid_request_uri'];
        assert.ok(expected.includes(error), `round ${round}: ${seen}`);
      }
      assert.ok(overlapped >= ROUNDS - 2, `the two consume() calls met at the barrier in ${overlapped} of ${ROUNDS} rounds`);
    });

    it('RP-initiated logout: the session, its grant and the refresh token are gone', async () => {
      await withoutBarrier(Adapter, async () => {
        const ua = new UserAgent();
        const tokens = await redeem(op, await authorize(op, {}, ua));
        const sessionId = ua.cookie('_session');
        assert.ok(sessionId, 'the browser holds a session');
        assert.equal((await store.payloads.find('Session', sessionId)).status, 'ok');
        const rt = await store.payloads.find('RefreshToken', tokens.refresh_token);
        assert.equal(rt.status, 'ok');
        const { grantId } = rt.value;
        assert.equal((await store.payloads.find('Grant', grantId)).status, 'ok');

        const url = client.buildEndSessionUrl(op.config,
          { id_token_hint: tokens.id_token, post_logout_redirect_uri: POST_LOGOUT, state: 'bye' });
        const page = await ua.navigate(url.href);
        assert.equal(page.status, 200, page.body);
        const end = await ua.submit(page, { logout: 'yes' });
        assert.ok(end.callback, `logout ended at ${end.status}: ${end.body}`);
        assert.equal(end.callback.searchParams.get('state'), 'bye');

        assert.equal((await store.payloads.find('Session', sessionId)).status, 'not_found');
        assert.equal((await store.payloads.find('Grant', grantId)).status, 'not_found');
        assert.equal((await store.payloads.find('RefreshToken', tokens.refresh_token)).status, 'not_found');
        assert.equal((await settle(client.refreshTokenGrant(op.config, tokens.refresh_token))).error, 'invalid_grant');
        assert.equal(await userinfoStatus(op, tokens.access_token), 401);
        // The browser has no session any more: a new authorization asks to log in again.
        const next = await authorize(op, { prompt: 'none' }, ua);
        assert.equal(next.callback?.searchParams.get('error'), 'login_required');
      });
    });
  });
}

// oidc-provider's order, whatever the adapter: a confirmed DeviceCode is saved (by the device
// verification action) before the browser's Session (by the session middleware, after the
// response is built). With the code bound to the session (`expiresWithSession` true, oidc-provider's
// default without offline_access), a poll between the two saves finds the Session without the
// grant, treats the code as not found and answers invalid_grant, at which point an RFC 8628 client
// stops. Here the Session's save is held until that poll has been answered, so the window is hit
// every time: the poll is refused, the DeviceCode is not consumed (nothing granted, nothing lost),
// and a poll after the Session's save gets the tokens. If oidc-provider changes its order, this
// test fails and docs/node.md must change with it.
describe('a session-bound device code polled between its save and the session\'s (oidc-provider)', () => {
  const fixture = {};
  before(async () => {
    fixture.store = await h.authstore.open('memory://', { keys: h.KEY });
    const Base = adapterFor(fixture.store);
    const gate = { armed: false };
    gate.held = new Promise((r) => { gate.signalHeld = r; });
    gate.released = new Promise((r) => { gate.release = r; });
    fixture.gate = gate;
    const Adapter = class extends Base {
      async upsert(id, payload, expiresIn) {
        if (this.model === 'Session' && gate.armed) {
          gate.armed = false;
          gate.signalHeld();
          await gate.released;
        }
        await super.upsert(id, payload, expiresIn);
        if (this.model === 'DeviceCode' && payload.accountId) gate.armed = true;
      }
    };
    fixture.op = await startProvider(Adapter, { expiresWithSession: async () => true });
  });
  after(async () => {
    fixture.gate?.release();
    await fixture.op?.stop();
    await fixture.store?.close();
  });

  it('the poll is invalid_grant, the code is not consumed, a poll after the Session\'s save gets tokens', async () => {
    const { op, store, gate } = fixture;
    const da = await client.initiateDeviceAuthorization(op.config, { scope: SCOPE });
    const confirmed = confirmDevice(new UserAgent(), da);
    await gate.held;
    const early = await tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
    assert.equal(early.status, 400, JSON.stringify(early.body));
    assert.equal(early.body.error, 'invalid_grant');
    assert.equal(early.body.access_token, undefined);
    const stored = await store.payloads.find('DeviceCode', da.device_code);
    assert.equal(stored.status, 'ok');
    const payload = JSON.parse(stored.value.payload);
    assert.equal(payload.accountId, 'alice', 'the code is confirmed in the store');
    assert.equal(payload.expiresWithSession, true);
    assert.equal(stored.value.consumedAt, 0, 'the refused poll consumed nothing');
    gate.release();
    const done = await confirmed;
    assert.match(done.body, /Sign-in Success/);
    const later = await tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
    assert.equal(later.status, 200, JSON.stringify(later.body));
    assert.ok(later.body.access_token);
  });
});

describe('a backend down: 500, nothing granted', () => {
  it('Redis stopped: device polling, PAR and device authorization answer 500 server_error', async () => {
    const own = await h.startRedis();
    const store = await h.authstore.open(`${own.url}?prefix=down:`, { keys: h.KEY });
    const op = await startProvider(adapterFor(store));
    try {
      const da = await client.initiateDeviceAuthorization(op.config, { scope: SCOPE });
      const done = await confirmDevice(new UserAgent(), da);
      assert.match(done.body, /Sign-in Success/);
      await own.stop();
      const poll = await tokenRequest(op, { grant_type: DEVICE_GRANT, device_code: da.device_code });
      assert.equal(poll.status, 500, JSON.stringify(poll.body));
      assert.equal(poll.body.error, 'server_error');
      assert.equal(poll.body.access_token, undefined);

      const form = (params) => ({
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...params, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
      });
      const pushed = await fetch(`${op.issuer}/request`, form({
        response_type: 'code', redirect_uri: 'https://app.example.com/cb', scope: SCOPE,
        code_challenge: client.randomPKCECodeVerifier(), code_challenge_method: 'S256',
      }));
      const pushedBody = await pushed.json();
      assert.equal(pushed.status, 500, JSON.stringify(pushedBody));
      assert.equal(pushedBody.request_uri, undefined);
      const device = await fetch(`${op.issuer}/device/auth`, form({ scope: SCOPE }));
      const deviceBody = await device.json();
      assert.equal(device.status, 500, JSON.stringify(deviceBody));
      assert.equal(deviceBody.device_code, undefined);
    } finally {
      await op.stop();
      await store.close();
      await own.stop();
    }
  });
});
