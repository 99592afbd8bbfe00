'use strict';
// Every store and every operation of the addon, on memory, SQLite and Redis.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { authstore } = h;
const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(name, () => {
    const fixture = h.storeFixture(name, redis);
    it('opens the backend the URL names', () => assert.equal(fixture.store.backend, name));

    it('codes: issue, peek, verify PKCE, consume once, replay names the grant', async () => {
      const verifier = authstore.pkceNewVerifier();
      const issued = await fixture.store.codes.issue(h.grant({
        codeChallenge: authstore.pkceS256Challenge(verifier), codeChallengeMethod: 'S256',
        scope: 'openid profile', nonce: 'n-1', claimsJson: '{"email":"a@example.com"}', ttlMs: 60000,
      }));
      assert.equal(issued.status, 'ok');
      assert.match(issued.value.code, /^ac2_/);
      const peeked = await fixture.store.codes.peek(issued.value.code);
      assert.equal(peeked.status, 'ok');
      assert.equal(peeked.value.consumed, false);
      assert.equal(peeked.value.grant.scope, 'openid profile');
      assert.equal(peeked.value.grant.claimsJson, '{"email":"a@example.com"}');
      assert.equal(peeked.value.grant.grantId, issued.value.grantId);
      authstore.verifyPkce(peeked.value.grant.codeChallenge, 'S256', verifier);
      assert.throws(() => authstore.verifyPkce(peeked.value.grant.codeChallenge, 'S256', authstore.pkceNewVerifier()),
        (e) => e instanceof authstore.AuthstoreError && e.code === 'invalid_argument' && e.field === 'codeVerifier');
      const won = await fixture.store.codes.consume(issued.value.code);
      assert.equal(won.status, 'ok');
      assert.equal(won.value.grant.subject, 'alice');
      const again = await fixture.store.codes.consume(issued.value.code);
      assert.equal(again.status, 'already_consumed');
      assert.equal(again.value.grant.grantId, issued.value.grantId);
      assert.equal(again.value.consumed, true);
      assert.equal((await fixture.store.codes.peek(issued.value.code)).status, 'already_consumed');
      const unknown = await fixture.store.codes.consume('ac2_' + 'A'.repeat(56));
      assert.ok(['not_found'].includes(unknown.status), unknown.status);
    });

    it('refresh: issue, peek, rotate, reuse revokes the family, consume, list, revocations', async () => {
      const subject = 'u-' + h.randomId();
      const first = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT, scope: 'offline_access', metadataJson: '{"device":"phone"}' });
      assert.equal(first.status, 'ok');
      assert.match(first.value.token, /^rt2_/);
      const fam = first.value.family;
      assert.equal(fam.subject, subject);
      assert.equal((await fixture.store.refresh.peek(first.value.token)).value.state, 'active');
      const second = await fixture.store.refresh.rotate(first.value.token, h.CLIENT);
      assert.equal(second.status, 'ok');
      assert.equal(second.value.family.rotations, 1);
      assert.equal((await fixture.store.refresh.peek(first.value.token)).value.state, 'rotated');
      await h.rejectsWith(fixture.store.refresh.rotate(second.value.token, 'other-client'), 'permission_denied', 'clientId');
      const reused = await fixture.store.refresh.rotate(first.value.token, h.CLIENT);
      assert.equal(reused.status, 'reused');
      assert.equal(reused.value.family.familyId, fam.familyId);
      assert.equal((await fixture.store.refresh.rotate(second.value.token, h.CLIENT)).status, 'revoked');

      const other = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT, grantId: 'g-' + h.randomId() });
      const listed = await fixture.store.refresh.list(subject);
      assert.equal(listed.status, 'ok');
      assert.deepEqual(listed.value.map((f) => f.familyId), [other.value.family.familyId]);
      const consumed = await fixture.store.refresh.consume(other.value.token);
      assert.equal(consumed.status, 'ok');
      assert.equal((await fixture.store.refresh.consume(other.value.token)).status, 'reused');

      const a = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT });
      assert.equal((await fixture.store.refresh.revoke(a.value.token)).status, 'ok');
      assert.equal((await fixture.store.refresh.rotate(a.value.token, h.CLIENT)).status, 'revoked');
      const b = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT });
      assert.equal((await fixture.store.refresh.revokeFamily(b.value.family.familyId)).status, 'ok');
      assert.equal((await fixture.store.refresh.peek(b.value.token)).value.state, 'revoked');
      const c = await fixture.store.refresh.issue({ subject, clientId: 'c2' });
      assert.equal((await fixture.store.refresh.revokeClient(subject, 'c2')).status, 'ok');
      assert.equal((await fixture.store.refresh.rotate(c.value.token, 'c2')).status, 'revoked');
      const grantId = 'g-' + h.randomId();
      const d = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT, grantId });
      assert.equal((await fixture.store.refresh.revokeGrant(subject, grantId)).status, 'ok');
      assert.equal((await fixture.store.refresh.rotate(d.value.token, h.CLIENT)).status, 'revoked');
      assert.equal((await fixture.store.refresh.issue({ subject, clientId: h.CLIENT, grantId })).status, 'revoked');
      // A resource server's check of access tokens issued before and after.
      const live = await fixture.store.refresh.grantLive(subject, h.CLIENT, grantId, Date.now());
      assert.equal(live.status, 'revoked');
      assert.match(live.message, /grant/);
      assert.equal((await fixture.store.refresh.grantLive(subject, h.CLIENT, 'other', Date.now())).status, 'ok');
      const beforeLogout = Date.now() - 1;
      const e = await fixture.store.refresh.issue({ subject, clientId: h.CLIENT });
      assert.equal((await fixture.store.refresh.revokeSubject(subject)).status, 'ok');
      assert.equal((await fixture.store.refresh.grantLive(subject, h.CLIENT, '', beforeLogout)).status, 'revoked');
      assert.equal((await fixture.store.refresh.rotate(e.value.token, h.CLIENT)).status, 'revoked');
      assert.deepEqual((await fixture.store.refresh.list(subject)).value, []);
    });

    it('refresh: JWT ids are stored and consumed once', async () => {
      const subject = 'u-' + h.randomId();
      assert.equal((await fixture.store.refresh.storeJti(subject, 'jti-1', h.CLIENT, 60000)).status, 'ok');
      const first = await fixture.store.refresh.consumeJti(subject, 'jti-1');
      assert.equal(first.status, 'ok');
      assert.deepEqual([first.value.jti, first.value.subject, first.value.clientId], ['jti-1', subject, h.CLIENT]);
      assert.equal((await fixture.store.refresh.consumeJti(subject, 'jti-1')).status, 'already_consumed');
      assert.equal((await fixture.store.refresh.consumeJti(subject, 'jti-unknown')).status, 'not_found');
    });

    it('sessions: upsert with optimistic locking, get, getAll, delete leaves a tombstone, deleteAll', async () => {
      const userId = 'u-' + h.randomId();
      const id = authstore.newSessionId();
      const refreshExpiresAt = Date.now() + 3600000;
      const inserted = await fixture.store.sessions.upsert({ id, userId, type: 'full', refreshExpiresAt, extraJson: '{"ip":"127.0.0.1"}' });
      assert.equal(inserted.status, 'ok');
      assert.equal(inserted.value.lockVersion, 1);
      assert.equal(inserted.value.expiresAt, null);
      const got = await fixture.store.sessions.get(id, userId, 'full');
      assert.equal(got.value.extraJson, '{"ip":"127.0.0.1"}');
      const stale = await fixture.store.sessions.upsert({ ...got.value, lockVersion: 0 });
      assert.equal(stale.status, 'conflict');
      const updated = await fixture.store.sessions.upsert({ ...got.value, refreshTokenId: 'rt-9', expiresAt: Date.now() + 60000 });
      assert.equal(updated.status, 'ok');
      assert.equal(updated.value.lockVersion, 2);
      const id2 = authstore.newSessionId();
      await fixture.store.sessions.upsert({ id: id2, userId, type: 'full', refreshExpiresAt: refreshExpiresAt + 1000 });
      const all = await fixture.store.sessions.getAll(userId, 'full');
      assert.deepEqual(all.value.map((s) => s.id), [id, id2]);
      assert.equal((await fixture.store.sessions.delete(id, userId, 'full')).status, 'ok');
      assert.equal((await fixture.store.sessions.get(id, userId, 'full')).status, 'not_found');
      assert.equal((await fixture.store.sessions.upsert({ ...updated.value })).status, 'conflict');
      const removed = await fixture.store.sessions.deleteAll(userId, 'full');
      assert.deepEqual([removed.status, removed.value], ['ok', 1]);
      assert.deepEqual((await fixture.store.sessions.getAll(userId, 'full')).value, []);
    });

    it('replay: reserve, replayed, owned release', async () => {
      const jti = h.randomId();
      const exp = Date.now() + 60000;
      const r = await fixture.store.replay.reserve('https://issuer.example', jti, exp);
      assert.equal(r.status, 'ok');
      assert.equal((await fixture.store.replay.reserve('https://issuer.example', jti, exp)).status, 'replayed');
      assert.equal((await fixture.store.replay.reserve('https://other.example', jti, exp)).status, 'ok');
      assert.equal((await fixture.store.replay.release({ ...r.value, owner: 'AAAAAAAAAAAAAAAAAAAAAA' })).status, 'not_found');
      assert.equal((await fixture.store.replay.release(r.value)).status, 'ok');
      assert.equal((await fixture.store.replay.reserve('https://issuer.example', jti, exp)).status, 'ok');
    });

    it('client tokens: generic records, listing, credentials, PKCE taken once, access tokens', async () => {
      const p = 'k-' + h.randomId() + ':';
      const rec = { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'Bearer', scope: 's', resource: 'https://api', expiresAt: Date.now() + 60000 };
      assert.equal((await fixture.store.clientTokens.save(p + 'a', rec)).status, 'ok');
      assert.equal((await fixture.store.clientTokens.save(p + 'b', rec, 60000)).status, 'ok');
      assert.equal((await fixture.store.clientTokens.get(p + 'a')).value.accessToken, 'at-1');
      assert.deepEqual(await fixture.store.clientTokens.has(p + 'a'), { status: 'ok', value: true });
      assert.deepEqual(await fixture.store.clientTokens.has(p + 'zz'), { status: 'ok', value: false });
      const keys = [];
      let cursor = '';
      for (let page = 0; page < 10; page++) {
        const r = await fixture.store.clientTokens.list(p, cursor, 1);
        keys.push(...r.value.keys);
        cursor = r.value.nextCursor;
        if (!cursor) break;
      }
      assert.deepEqual(keys.sort(), [p + 'a', p + 'b']);
      assert.equal((await fixture.store.clientTokens.remove(p + 'a')).status, 'ok');
      assert.equal((await fixture.store.clientTokens.get(p + 'a')).status, 'not_found');
      assert.equal((await fixture.store.clientTokens.remove(p + 'a')).status, 'not_found');

      const server = 'https://as.example/' + h.randomId();
      await fixture.store.clientTokens.saveClientCredentials(server, { clientId: 'cid', clientSecret: 'sec' });
      assert.equal((await fixture.store.clientTokens.getClientCredentials(server)).value.clientSecret, 'sec');
      assert.equal((await fixture.store.clientTokens.removeClientCredentials(server)).status, 'ok');
      assert.equal((await fixture.store.clientTokens.getClientCredentials(server)).status, 'not_found');

      const verifier = authstore.pkceNewVerifier();
      await fixture.store.clientTokens.savePkce('u1', 'state-1', { codeVerifier: verifier, codeChallenge: authstore.pkceS256Challenge(verifier) });
      assert.equal((await fixture.store.clientTokens.takePkce('u1', 'state-1')).value.codeVerifier, verifier);
      assert.equal((await fixture.store.clientTokens.takePkce('u1', 'state-1')).status, 'not_found');

      await fixture.store.clientTokens.saveAccessToken('u:1', 'https://api:443/x', rec);
      assert.equal((await fixture.store.clientTokens.getAccessToken('u:1', 'https://api:443/x')).value.refreshToken, 'rt-1');
      assert.equal((await fixture.store.clientTokens.getAccessToken('u', 'https://api:443/x')).status, 'not_found');
      assert.equal((await fixture.store.clientTokens.removeAccessToken('u:1', 'https://api:443/x')).status, 'ok');
    });

    it('metrics count operations and security events', async () => {
      const issued = await fixture.store.codes.issue(h.grant());
      await fixture.store.codes.consume(issued.value.code);
      const before = fixture.store.metrics.securityEvents('code_replay');
      await fixture.store.codes.consume(issued.value.code);
      assert.equal(fixture.store.metrics.securityEvents('code_replay'), before + 1);
      assert.ok(fixture.store.metrics.operations('codes', 'consume', 'already_consumed') >= 1);
      assert.match(fixture.store.metrics.prometheus(), /authstore_operations_total\{store="codes",op="consume"/);
      assert.throws(() => fixture.store.metrics.securityEvents('nope'), (e) => e.code === 'invalid_argument' && e.field === 'event');
    });
  });
}

describe('lifecycle', () => {
  it('a closed store rejects every call with failed_precondition (field store)', async () => {
    const store = await authstore.open('memory://', { keys: h.KEY });
    await store.close();
    await h.rejectsWith(store.codes.issue(h.grant()), 'failed_precondition', 'store');
    await h.rejectsWith(store.sessions.getAll('u', 'full'), 'failed_precondition', 'store');
    await store.close();  // idempotent
  });

  it('options.log receives the store\'s warnings on the JavaScript thread', async () => {
    const lines = [];
    const store = await authstore.open('memory://', {
      keys: { developmentMode: true }, log: (level, message) => lines.push([level, message]),
    });
    for (let i = 0; i < 100 && lines.length === 0; i++) await h.sleep(10);
    assert.ok(lines.some(([level, m]) => level === 'warning' && /throwaway key/.test(m)), JSON.stringify(lines));
    await store.close();
    await h.rejectsWith(authstore.open('memory://', { keys: h.KEY, log: 'stderr' }), 'invalid_argument', 'options.log');
  });

  it('a ManualClock moves expiry', async () => {
    const clock = new authstore.ManualClock(1_700_000_000_000);
    const store = await authstore.open('memory://', { keys: h.KEY, clock });
    const issued = await store.codes.issue(h.grant({ ttlMs: 1000 }));
    assert.equal(issued.value.expiresAt, 1_700_000_001_000);
    clock.advance(1001);
    assert.equal(clock.now(), 1_700_000_001_001);
    assert.equal((await store.codes.consume(issued.value.code)).status, 'not_found');
    await store.close();
  });

  it('createKeyFile writes a key file that open() reads, and refuses to overwrite it', async () => {
    const file = `${h.tempDir()}/authstore.key`;
    await authstore.createKeyFile(file);
    await h.rejectsWith(authstore.createKeyFile(file), 'already_exists');
    const store = await authstore.open('memory://', { keys: { keyFile: file } });
    assert.equal((await store.codes.issue(h.grant())).status, 'ok');
    await store.close();
  });
});
