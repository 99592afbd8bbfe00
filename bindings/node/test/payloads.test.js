'use strict';
// store.payloads (the storage of the oidc-provider adapter) on memory, SQLite and Redis.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(name, () => {
    const fx = h.storeFixture(name, redis);

    it('upsert, find by id / uid / user code, consume once, destroy, revoke by grant', async () => {
      const p = fx.store.payloads;
      const id = h.randomId();
      const write = { model: 'DeviceCode', id, payload: '{"k":"v"}', grantId: 'g-' + id, uid: 'u-' + id, userCode: 'C-' + id, ttlMs: 60000 };
      assert.equal((await p.upsert(write)).status, 'ok');
      const found = await p.find('DeviceCode', id);
      assert.equal(found.status, 'ok');
      assert.deepEqual({ ...found.value, expiresAt: 0 },
        { model: 'DeviceCode', id, payload: '{"k":"v"}', grantId: 'g-' + id, uid: 'u-' + id, userCode: 'C-' + id, expiresAt: 0, consumedAt: 0 });
      assert.equal((await p.findByUid('DeviceCode', 'u-' + id)).value.id, id);
      assert.equal((await p.findByUserCode('DeviceCode', 'C-' + id)).value.id, id);
      assert.equal((await p.find('Session', id)).status, 'not_found');
      const first = await p.consume('DeviceCode', id);
      assert.equal(first.status, 'ok');
      assert.ok(first.value.consumedAt > 0);
      assert.equal((await p.consume('DeviceCode', id)).status, 'already_consumed');
      assert.ok((await p.find('DeviceCode', id)).value.consumedAt > 0);
      assert.equal((await p.revokeByGrantId('g-' + id)).status, 'ok');
      assert.equal((await p.find('DeviceCode', id)).status, 'not_found');
      assert.equal((await p.findByUid('DeviceCode', 'u-' + id)).status, 'not_found');
      const other = h.randomId();
      await p.upsert({ model: 'Session', id: other, payload: Buffer.from('{}') });
      assert.equal((await p.find('Session', other)).value.payload, '{}');
      assert.equal((await p.destroy('Session', other)).status, 'ok');
      assert.equal((await p.find('Session', other)).status, 'not_found');
    });

    it('32 concurrent consumers of one payload: exactly one ok', async () => {
      const p = fx.store.payloads;
      for (let round = 0; round < 5; round++) {
        const id = h.randomId();
        await p.upsert({ model: 'AuthorizationCode', id, payload: '{}', ttlMs: 60000 });
        const results = await Promise.all(Array.from({ length: 32 }, () => p.consume('AuthorizationCode', id)));
        const statuses = results.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 'ok').length, 1, statuses.join());
        assert.equal(statuses.filter((s) => s === 'already_consumed').length, 31);
      }
    });

    it('bad input rejects with invalid_argument naming the field', async () => {
      const p = fx.store.payloads;
      await h.rejectsWith(p.upsert({ model: 'Bad Model', id: 'x', payload: '{}' }), 'invalid_argument', 'model');
      await h.rejectsWith(p.upsert({ model: 'M', id: '', payload: '{}' }), 'invalid_argument', 'id');
      await h.rejectsWith(p.upsert({ model: 'M', id: 'x', payload: 'x'.repeat(256 * 1024 + 1) }), 'invalid_argument', 'payload');
      await h.rejectsWith(p.upsert({ model: 'M', id: 'x', payload: '{}', ttlMs: -1 }), 'invalid_argument', 'ttlMs');
      await h.rejectsWith(p.upsert({ model: 'M', id: 'x', payload: '{}', extra: 1 }), 'invalid_argument');
      await h.rejectsWith(p.upsert({ model: 'M', id: 7, payload: '{}' }), 'invalid_argument', 'id');
      await h.rejectsWith(p.find('M', 'a\u0000b'), 'invalid_argument', 'id');
      await h.rejectsWith(p.revokeByGrantId(''), 'invalid_argument', 'grantId');
    });
  });
}
