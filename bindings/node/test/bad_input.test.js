'use strict';
// Bad input and failures: each rejects with an AuthstoreError naming its code and field, on
// every backend; nothing crashes, nothing is granted.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { authstore } = h;
const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(name, () => {
    const fixture = h.storeFixture(name, redis);

    it('garbage ids and tokens', async () => {
      await h.rejectsWith(fixture.store.codes.consume('garbage'), 'invalid_argument', 'code');
      await h.rejectsWith(fixture.store.codes.peek(''), 'invalid_argument', 'code');
      await h.rejectsWith(fixture.store.codes.consume('ac2_' + '!'.repeat(56)), 'invalid_argument', 'code');
      await h.rejectsWith(fixture.store.refresh.rotate('rt2_nope', h.CLIENT), 'invalid_argument', 'token');
      await h.rejectsWith(fixture.store.refresh.peek('\u0000\u0001'), 'invalid_argument', 'token');
      await h.rejectsWith(fixture.store.refresh.rotate('rt2_' + 'A'.repeat(78), ''), 'invalid_argument', 'clientId');
      await h.rejectsWith(fixture.store.sessions.get('short', 'u', 'full'), 'invalid_argument');
      await h.rejectsWith(fixture.store.replay.release({ issuer: 'i', jti: 'j', owner: 'not base64url!', keptUntil: 0 }), 'invalid_argument');
    });

    it('wrong JavaScript types and unknown properties are named', async () => {
      await h.rejectsWith(fixture.store.codes.consume(42), 'invalid_argument', 'code');
      await h.rejectsWith(fixture.store.codes.consume(), 'invalid_argument', 'code');
      await h.rejectsWith(fixture.store.codes.issue('grant'), 'invalid_argument');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ clientID: 'x' })), 'invalid_argument', 'clientID');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ ttlMs: 1.5 })), 'invalid_argument', 'ttlMs');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ ttlMs: '60' })), 'invalid_argument', 'ttlMs');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ authTime: 2 ** 60 })), 'invalid_argument', 'authTime');
      await h.rejectsWith(fixture.store.refresh.storeJti('s', 'j', h.CLIENT, NaN), 'invalid_argument', 'ttlMs');
      await h.rejectsWith(fixture.store.sessions.upsert({ id: authstore.newSessionId(), userId: 'u', refreshExpiresAt: Date.now() + 1000, expiresAt: 'soon' }), 'invalid_argument', 'expiresAt');
      await h.rejectsWith(fixture.store.clientTokens.list('p', '', -1), 'invalid_argument', 'limit');
    });

    it('oversized and malformed fields', async () => {
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ clientId: 'c'.repeat(257) })), 'invalid_argument', 'clientId');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ claimsJson: JSON.stringify({ x: 'y'.repeat(17 * 1024) }) })), 'invalid_argument', 'claimsJson');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ claimsJson: '[1,2]' })), 'invalid_argument', 'claimsJson');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ redirectUri: 'not a uri' })), 'invalid_argument', 'redirectUri');
      await h.rejectsWith(fixture.store.codes.issue(h.grant({ ttlMs: 3600000 })), 'invalid_argument', 'ttlMs');
      await h.rejectsWith(fixture.store.refresh.issue({ subject: 's', clientId: h.CLIENT, metadataJson: '{"m":"' + 'x'.repeat(5000) + '"}' }), 'invalid_argument', 'metadataJson');
      await h.rejectsWith(fixture.store.sessions.upsert({ id: authstore.newSessionId(), userId: 'u', refreshExpiresAt: Date.now() - 1 }), 'invalid_argument', 'refreshExpiresAt');
      await h.rejectsWith(fixture.store.replay.reserve('i', 'j', Date.now() + 365 * 24 * 3600 * 1000), 'invalid_argument', 'expiresAt');
      await h.rejectsWith(fixture.store.clientTokens.save('k'.repeat(1025), { accessToken: 'a' }), 'invalid_argument', 'key');
      // Nothing of the refused calls was stored.
      assert.deepEqual((await fixture.store.refresh.list('s')).value, []);
    });
  });
}

describe('opening', () => {
  it('bad URLs and options are named', async () => {
    await h.rejectsWith(authstore.open('mysql://x', { keys: h.KEY }), 'invalid_argument', 'url');
    await h.rejectsWith(authstore.open(7), 'invalid_argument', 'url');
    await h.rejectsWith(authstore.open('memory://', { keys: h.KEY, code: {} }), 'invalid_argument', 'options.code');
    await h.rejectsWith(authstore.open('memory://', { keys: { keys: [{ id: 70000, secret: 'x' }] } }), 'invalid_argument', 'options.keys.keys[0].id');
    await h.rejectsWith(authstore.open('memory://', { keys: h.KEY, clock: {} }), 'invalid_argument', 'options.clock');
    await h.rejectsWith(authstore.open('memory://', { keys: { keys: [{ id: 1, secret: 'too short' }] } }), 'invalid_argument');
  });

  it('the wrong key is refused at open (SQLite and Redis), naming the key ids', async () => {
    const dir = h.tempDir();
    const sqlite = await authstore.open(`sqlite://${dir}/k.db`, { keys: h.KEY });
    await sqlite.codes.issue(h.grant());
    await sqlite.close();
    const e = await h.rejectsWith(authstore.open(`sqlite://${dir}/k.db`, { keys: h.OTHER_KEY }), 'failed_precondition', 'keys');
    assert.match(e.message, /key ids? 1/);
    const url = `${redis.url}?prefix=wrongkey${h.randomId()}:`;
    const r = await authstore.open(url, { keys: h.KEY });
    await r.codes.issue(h.grant());
    await r.close();
    await h.rejectsWith(authstore.open(url, { keys: h.OTHER_KEY }), 'failed_precondition', 'keys');
  });

  it('no Redis listening: open rejects with unavailable', async () => {
    const other = await h.startRedis();
    await other.stop();  // its port is now free: nothing listens there
    await h.rejectsWith(authstore.open(other.url, { keys: h.KEY }), 'unavailable');
  });
});

describe('backend down', () => {
  it('Redis stopped under an open store: every call rejects with unavailable, nothing is granted', async () => {
    const own = await h.startRedis();
    const store = await authstore.open(own.url, { keys: h.KEY });
    const issued = await store.codes.issue(h.grant());
    await own.stop();
    await h.rejectsWith(store.codes.consume(issued.value.code), 'unavailable');
    await h.rejectsWith(store.refresh.issue({ subject: 's', clientId: h.CLIENT }), 'unavailable');
    await h.rejectsWith(store.replay.reserve('i', h.randomId(), Date.now() + 1000), 'unavailable');
    await store.close();
  });

  it('calls in flight when a Redis store is closed reject with unavailable', async () => {
    const store = await authstore.open(`${redis.url}?prefix=inflight${h.randomId()}:`, { keys: h.KEY });
    process.kill(redis.pid, 'SIGSTOP');  // the request stays unanswered
    try {
      const pending = h.rejectsWith(store.codes.issue(h.grant()), 'unavailable');
      await h.sleep(50);
      await store.close();
      await pending;
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
  });
});
