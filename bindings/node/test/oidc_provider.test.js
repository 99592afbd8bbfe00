'use strict';
// End to end: node-oidc-provider (pinned in package-lock.json) on 127.0.0.1:0 with authstore as its
// adapter (authstore/oidc-provider), driven by openid-client as the relying party: discovery,
// authorization code + PKCE, token, userinfo, refresh rotation, revocation, on memory, SQLite
// and Redis. Races: the same code (and the same refresh token) redeemed twice at once, the two
// consume() calls held at a barrier until both arrived (so they overlap at the decision),
// 25 rounds: exactly one token set. The same race against oidc-provider's own in-memory adapter
// is measured and reported (it has no atomic consume). Bad input: garbage codes, an oversized
// payload, a Redis server gone: an error answer, never a token.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');
const { adapterFor } = require('../oidc-provider.js');
const {
  load, consumeBarrier, withBarrier, startProvider, providerFixture, authorize, tokenRequest, redeem, settle, REDIRECT,
} = require('./oidc_helpers');

const ROUNDS = 25;

let MemoryAdapter;
let client;
before(async () => {
  ({ MemoryAdapter, client } = await load());
});

const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(`oidc-provider on ${name}`, () => {
    const fixture = providerFixture(name, redis);
    const { barrier } = fixture;
    let store;
    let op;
    let Adapter;
    before(() => ({ store, op, Adapter } = fixture));

    it('discovery, code + PKCE, userinfo, refresh rotation, revocation', async () => {
      assert.equal(op.config.serverMetadata().issuer, op.issuer);
      const auth = await authorize(op);
      assert.ok(auth.callback, `authorization ended at ${auth.status}: ${auth.body}`);
      Adapter.prototype.barrier = false;
      try {
        const tokens = await redeem(op, auth);
        assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
        assert.equal(tokens.claims().sub, 'alice');
        const info = await client.fetchUserInfo(op.config, tokens.access_token, 'alice');
        assert.equal(info.name, 'Alice');
        // The code is spent: a second redemption fails (and revokes the grant: RFC 6749 4.1.2).
        const again = await settle(redeem(op, auth));
        assert.equal(again.error, 'invalid_grant');
        const dead = await settle(client.fetchUserInfo(op.config, tokens.access_token, 'alice'));
        assert.ok(dead.error, 'the access token of a replayed code must die with its grant');

        // Refresh rotates: a new refresh token, a working access token.
        const t2 = await redeem(op, await authorize(op));
        const t3 = await client.refreshTokenGrant(op.config, t2.refresh_token);
        assert.notEqual(t3.refresh_token, t2.refresh_token);
        assert.equal((await client.fetchUserInfo(op.config, t3.access_token, 'alice')).sub, 'alice');
        // Revocation of a refresh token: it no longer refreshes.
        await client.tokenRevocation(op.config, t3.refresh_token);
        assert.equal((await settle(client.refreshTokenGrant(op.config, t3.refresh_token))).error, 'invalid_grant');
        // Revocation of an access token: userinfo refuses it.
        const t5 = await redeem(op, await authorize(op));
        await client.tokenRevocation(op.config, t5.access_token);
        assert.ok((await settle(client.fetchUserInfo(op.config, t5.access_token, 'alice'))).error);
        // A rotated-away refresh token presented again: invalid_grant, and the grant dies (the
        // successor's access token with it), through the adapter's revokeByGrantId.
        const t6 = await redeem(op, await authorize(op));
        const t7 = await client.refreshTokenGrant(op.config, t6.refresh_token);
        assert.equal((await client.fetchUserInfo(op.config, t7.access_token, 'alice')).sub, 'alice');
        assert.equal((await settle(client.refreshTokenGrant(op.config, t6.refresh_token))).error, 'invalid_grant');
        assert.ok((await settle(client.fetchUserInfo(op.config, t7.access_token, 'alice'))).error);
        // What oidc-provider stored is in authstore, found by id / uid (the session's).
        assert.ok(store.metrics.operations('payloads', 'upsert', 'ok') > 0);
        assert.ok(store.metrics.operations('payloads', 'consume', 'ok') >= 3);
      } finally {
        Adapter.prototype.barrier = undefined;
      }
    });

    it(`the same code redeemed twice at once, ${ROUNDS} rounds: exactly one token set`, async () => {
      let overlapped = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const auth = await authorize(op);
        assert.ok(auth.callback, `round ${round}: ${auth.status} ${auth.body}`);
        barrier.reset();
        const results = await Promise.all([settle(redeem(op, auth)), settle(redeem(op, auth))]);
        if (barrier.arrivedTogether()) overlapped++;
        const won = results.filter((r) => r.ok);
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.error || 'tokens'))}`);
        assert.equal(results.find((r) => !r.ok).error, 'invalid_grant');
      }
      assert.ok(overlapped >= ROUNDS - 2, `the two consume() calls met at the barrier in ${overlapped} of ${ROUNDS} rounds`);
    });

    it(`the same refresh token redeemed twice at once, ${ROUNDS} rounds: exactly one token set`, async () => {
      let overlapped = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const auth = await authorize(op);
        Adapter.prototype.barrier = false;
        const tokens = await redeem(op, auth);
        Adapter.prototype.barrier = undefined;
        barrier.reset();
        const results = await Promise.all([
          settle(client.refreshTokenGrant(op.config, tokens.refresh_token)),
          settle(client.refreshTokenGrant(op.config, tokens.refresh_token)),
        ]);
        if (barrier.arrivedTogether()) overlapped++;
        assert.equal(results.filter((r) => r.ok).length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.error || 'tokens'))}`);
        assert.equal(results.find((r) => !r.ok).error, 'invalid_grant');
      }
      assert.ok(overlapped >= ROUNDS - 2, `the two consume() calls met at the barrier in ${overlapped} of ${ROUNDS} rounds`);
    });

    it('garbage codes and tokens are invalid_grant, never a server error', async () => {
      for (const garbage of ['x', 'ü'.repeat(600), 'A'.repeat(5000), 'a\u0001b']) {
        const r = await tokenRequest(op, { grant_type: 'authorization_code', code: garbage, redirect_uri: REDIRECT,
          code_verifier: 'v'.repeat(43) });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.error, 'invalid_grant');
        const rt = await settle(client.refreshTokenGrant(op.config, garbage));
        assert.ok(rt.error === 'invalid_grant' || rt.error === 'invalid_request', JSON.stringify(rt));
      }
    });
  });
}

describe('failures: nothing is granted', () => {
  it('an oversized payload: the authorization fails with a server error, no code is issued', async () => {
    const store = await h.backends(redis).find((b) => b.name === 'memory').open({ payloads: { maxPayloadBytes: 4096 } });
    const op = await startProvider(adapterFor(store));
    try {
      const auth = await authorize(op, { nonce: 'n'.repeat(8000) });
      assert.equal(auth.callback?.searchParams.get('code') ?? null, null, 'a code was issued');
      if (auth.callback) assert.equal(auth.callback.searchParams.get('error'), 'server_error');
      else assert.ok(auth.status >= 500, `status ${auth.status}`);
    } finally {
      await op.stop();
      await store.close();
    }
  });

  it('the Redis server gone: the token endpoint answers 500, no token', async () => {
    const own = await h.startRedis();
    const store = await h.authstore.open(`${own.url}?prefix=gone:`, { keys: h.KEY });
    const op = await startProvider(adapterFor(store));
    try {
      const auth = await authorize(op);
      assert.ok(auth.callback);
      await own.stop();
      const r = await tokenRequest(op, { grant_type: 'authorization_code', code: auth.callback.searchParams.get('code'),
        redirect_uri: REDIRECT, code_verifier: auth.verifier });
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.error, 'server_error');
      assert.equal(r.body.access_token, undefined);
    } finally {
      await op.stop();
      await store.close();
      await own.stop();
    }
  });
});

describe("oidc-provider's own in-memory adapter under the same race (measured, for docs/node.md)", () => {
  it(`the same code redeemed twice at once, ${ROUNDS} rounds`, async (t) => {
    const barrier = consumeBarrier(2);
    const op = await startProvider(withBarrier(MemoryAdapter, barrier));
    try {
      let both = 0;
      let overlapped = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const auth = await authorize(op);
        barrier.reset();
        const results = await Promise.all([settle(redeem(op, auth)), settle(redeem(op, auth))]);
        if (barrier.arrivedTogether()) overlapped++;
        if (results.every((r) => r.ok)) both++;
      }
      t.diagnostic(`MemoryAdapter: two token sets for one code in ${both} of ${ROUNDS} rounds (overlapped: ${overlapped})`);
      // What authstore prevents: with calls that meet at consume(), the example adapter lets both win.
      assert.ok(overlapped >= ROUNDS - 2);
      assert.equal(both, overlapped);
    } finally {
      await op.stop();
    }
  });
});
