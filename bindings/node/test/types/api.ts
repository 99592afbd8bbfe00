// index.d.ts and oidc-provider.d.ts checked twice (ctest node.types, node.types_run; docs/node.md):
// `tsc --noEmit --strict` over this file, which uses every declared store, operation, record,
// result type, option and the adapter as an application would; then the same file compiled and
// run against a memory:// store, where every value the addon returns is compared with the
// declaration (checkShape: exactly the declared properties, each of a declared kind) and every
// declared status is asserted. A declaration that does not type-check here, or that the module
// does not honour, fails one of the two.

import * as authstore from 'authstore';
import type {
  AuthstoreError, ClientCredentials, CodeGrant, CodeRecord, ErrorCode, IssuedCode, IssuedRefreshToken,
  JtiRecord, KeyPage, Options, Outcome, OutcomeStatus, PayloadWrite, PkceValues, RefreshFamily,
  RefreshGrant, RefreshTokenInfo, Reservation, Session, Store, StoredPayload, TokenRecord,
} from 'authstore';
import { adapterFor } from 'authstore/oidc-provider';
import type { Adapter, AdapterConstructor, AdapterPayload } from 'authstore/oidc-provider';

// No @types/node: the two globals this file uses.
declare const console: { log(...args: unknown[]): void; error(...args: unknown[]): void };
declare const process: { exitCode?: number };
declare const __dirname: string;

// The kind of a value as checkShape sees it; a declared union lists each of its kinds.
type Kind<T> = T extends string ? 'string' : T extends number ? 'number' : T extends boolean ? 'boolean'
  : T extends null ? 'null' : T extends undefined ? 'undefined' : T extends readonly unknown[] ? 'array' : 'object';
type Shape<T> = { [K in keyof T]-?: Array<Kind<T[K]>> };

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

let checks = 0;
function fail(message: string): never {
  throw new Error(`index.d.ts vs the module: ${message}`);
}

// `value` has exactly the properties `shape` declares, each of one of the kinds declared for it.
function checkShape<T>(value: T, shape: Shape<T>, where: string): T {
  if (kindOf(value) !== 'object') fail(`${where}: expected an object, got ${kindOf(value)}`);
  const got = Object.keys(value as object).sort();
  const declared = Object.keys(shape).sort();
  if (got.join() !== declared.join()) fail(`${where}: properties [${got}] but declared [${declared}]`);
  for (const key of declared) {
    const kinds = (shape as Record<string, string[]>)[key];
    const kind = kindOf((value as Record<string, unknown>)[key]);
    if (!kinds.includes(kind)) fail(`${where}.${key}: a ${kind}, declared ${kinds.join(' | ')}`);
  }
  checks++;
  return value;
}

// The outcome has the expected status, only the declared properties, and (for "ok" or where the
// caller says so) a value of the declared shape.
function expectStatus<T, S extends OutcomeStatus>(outcome: Outcome<T>, status: S, where: string): Outcome<T> {
  if (outcome.status !== status) fail(`${where}: status ${outcome.status}, expected ${status} (${outcome.message ?? ''})`);
  for (const key of Object.keys(outcome)) {
    if (!['status', 'value', 'message'].includes(key)) fail(`${where}: undeclared property ${key}`);
  }
  if (outcome.message !== undefined && typeof outcome.message !== 'string') fail(`${where}.message: not a string`);
  checks++;
  return outcome;
}
function valueOf<T>(outcome: Outcome<T>, where: string): T {
  expectStatus(outcome, 'ok', where);
  if (outcome.value === undefined) fail(`${where}: ok without a value`);
  return outcome.value;
}
function expectNoValue(outcome: Outcome<undefined>, status: OutcomeStatus, where: string): void {
  expectStatus(outcome, status, where);
  if (outcome.value !== undefined) fail(`${where}: declared without a value, got ${kindOf(outcome.value)}`);
}
function expectEqual<T>(got: T, expected: T, where: string): void {
  if (got !== expected) fail(`${where}: ${String(got)}, expected ${String(expected)}`);
  checks++;
}
async function expectError(call: () => unknown, code: ErrorCode | 'already_exists', field: string, where: string) {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof authstore.AuthstoreError)) fail(`${where}: rejected with a ${String(err)}, not an AuthstoreError`);
    const e: AuthstoreError = err;
    checkShape<Pick<AuthstoreError, 'code' | 'field' | 'name'>>(
      { code: e.code, field: e.field, name: e.name }, { code: ['string'], field: ['string'], name: ['string'] }, where);
    expectEqual(e.code, code, `${where}.code`);
    expectEqual(e.field, field, `${where}.field`);
    return;
  }
  fail(`${where}: did not fail`);
}

const S = ['string'] as Array<'string'>;
const N = ['number'] as Array<'number'>;
const codeGrantShape: Shape<Required<CodeGrant>> = {
  clientId: S, subject: S, redirectUri: S, claimsJson: S, scope: S, nonce: S, codeChallenge: S,
  codeChallengeMethod: S, authTime: N, grantId: S, extraJson: S, ttlMs: N,
};
function checkCodeRecord(r: CodeRecord, where: string): void {
  checkShape(r, { grant: ['object'], issuedAt: N, expiresAt: N, consumed: ['boolean'] }, where);
  checkShape(r.grant, codeGrantShape, `${where}.grant`);
}
const familyShape: Shape<RefreshFamily> = {
  familyId: S, subject: S, clientId: S, scope: S, grantId: S, metadataJson: S, createdAt: N, lastUsedAt: N,
  idleExpiresAt: N, expiresAt: N, rotations: N,
};
function checkIssuedRefresh(r: IssuedRefreshToken, where: string): void {
  checkShape(r, { token: S, family: ['object'] }, where);
  checkShape(r.family, familyShape, `${where}.family`);
}
const sessionShape: Shape<Required<Session>> = {
  id: S, userId: S, type: S, createdAt: N, expiresAt: ['number', 'null'], refreshExpiresAt: N, refreshTokenId: S,
  refreshedAt: N, tokensFreshFrom: N, prevTokensFreshFrom: N, lockVersion: N, extraJson: S,
};
const tokenRecordShape: Shape<Required<TokenRecord>> = {
  accessToken: S, refreshToken: S, tokenType: S, scope: S, resource: S, expiresAt: N, refreshExpiresAt: N, extraJson: S,
};
const payloadShape: Shape<StoredPayload> = {
  model: S, id: S, payload: S, grantId: S, uid: S, userCode: S, expiresAt: N, consumedAt: N,
};

async function codes(store: Store): Promise<void> {
  const verifier: string = authstore.pkceNewVerifier();
  const grant: CodeGrant = {
    clientId: 'app', subject: 'alice', redirectUri: 'https://app.example.com/cb', claimsJson: '{"a":1}',
    scope: 'openid', nonce: 'n', codeChallenge: authstore.pkceS256Challenge(verifier), codeChallengeMethod: 'S256',
    authTime: Date.now(), grantId: 'g-code', extraJson: '{}', ttlMs: 60_000,
  };
  const issued: IssuedCode = valueOf(await store.codes.issue(grant), 'codes.issue');
  checkShape(issued, { code: S, grantId: S, expiresAt: N }, 'IssuedCode');
  checkCodeRecord(valueOf(await store.codes.peek(issued.code), 'codes.peek'), 'codes.peek');
  const won = valueOf(await store.codes.consume(issued.code), 'codes.consume');
  checkCodeRecord(won, 'codes.consume');
  authstore.verifyPkce(won.grant.codeChallenge, won.grant.codeChallengeMethod, verifier);
  authstore.verifyPkce(won.grant.codeChallenge, 'S256', verifier, false);
  await expectError(() => authstore.verifyPkce(won.grant.codeChallenge, 'S256', authstore.pkceNewVerifier()),
    'invalid_argument', 'codeVerifier', 'verifyPkce');
  const again = expectStatus(await store.codes.consume(issued.code), 'already_consumed', 'codes.consume again');
  checkCodeRecord(again.value!, 'already_consumed value');
  expectEqual(again.value!.consumed, true, 'already_consumed value.consumed');
  const unknown: Outcome<CodeRecord> = await store.codes.peek(`ac2_${'A'.repeat(56)}`);
  expectStatus(unknown, 'not_found', 'codes.peek unknown');
  await expectError(() => store.codes.issue({ ...grant, redirectUri: 'not a uri' }), 'invalid_argument', 'redirectUri',
    'codes.issue bad uri');
}

async function refresh(store: Store): Promise<void> {
  const grant: RefreshGrant = {
    subject: 'bob', clientId: 'app', scope: 'offline_access', grantId: 'g-rt', idleTtlMs: 60_000,
    lifetimeMs: 120_000, metadataJson: '{"device":"phone"}',
  };
  const first = valueOf(await store.refresh.issue(grant), 'refresh.issue');
  checkIssuedRefresh(first, 'refresh.issue');
  const info: RefreshTokenInfo = valueOf(await store.refresh.peek(first.token), 'refresh.peek');
  checkShape(info, { state: S, family: ['object'] }, 'RefreshTokenInfo');
  expectEqual(info.state, 'active', 'refresh.peek state');
  const second = valueOf(await store.refresh.rotate(first.token, 'app'), 'refresh.rotate');
  checkIssuedRefresh(second, 'refresh.rotate');
  const reused = expectStatus(await store.refresh.rotate(first.token, 'app'), 'reused', 'refresh.rotate reuse');
  checkIssuedRefresh(reused.value!, 'reused value');
  expectStatus(await store.refresh.rotate(second.token, 'app'), 'revoked', 'refresh.rotate revoked');

  const other = valueOf(await store.refresh.issue({ subject: 'bob', clientId: 'app' }), 'refresh.issue 2');
  const listed: RefreshFamily[] = valueOf(await store.refresh.list('bob'), 'refresh.list');
  listed.forEach((f, i) => checkShape(f, familyShape, `refresh.list[${i}]`));
  checkShape(valueOf(await store.refresh.consume(other.token, 'app'), 'refresh.consume'), familyShape, 'refresh.consume');
  expectStatus(await store.refresh.consume(other.token), 'reused', 'refresh.consume again');

  expectNoValue(await store.refresh.storeJti('bob', 'jti-1', 'app', 60_000), 'ok', 'refresh.storeJti');
  const jti: JtiRecord = valueOf(await store.refresh.consumeJti('bob', 'jti-1'), 'refresh.consumeJti');
  checkShape(jti, { jti: S, subject: S, clientId: S, expiresAt: N }, 'JtiRecord');
  expectStatus(await store.refresh.consumeJti('bob', 'jti-1'), 'already_consumed', 'refresh.consumeJti again');

  const a = valueOf(await store.refresh.issue({ subject: 'bob', clientId: 'app' }), 'refresh.issue a');
  expectNoValue(await store.refresh.revoke(a.token), 'ok', 'refresh.revoke');
  expectNoValue(await store.refresh.revokeFamily(a.family.familyId), 'ok', 'refresh.revokeFamily');
  expectNoValue(await store.refresh.revokeClient('bob', 'app'), 'ok', 'refresh.revokeClient');
  expectNoValue(await store.refresh.revokeSubject('carol'), 'ok', 'refresh.revokeSubject');
  const issuedAt = Date.now();
  expectNoValue(await store.refresh.grantLive('dave', 'app', 'g-live', issuedAt), 'ok', 'refresh.grantLive');
  expectNoValue(await store.refresh.revokeGrant('dave', 'g-live'), 'ok', 'refresh.revokeGrant');
  expectNoValue(await store.refresh.grantLive('dave', 'app', 'g-live', issuedAt), 'revoked', 'refresh.grantLive revoked');
}

async function sessions(store: Store): Promise<void> {
  const now = Date.now();
  const draft: Session = {
    id: authstore.newSessionId(), userId: 'erin', type: 'full', refreshExpiresAt: now + 60_000, expiresAt: null,
    extraJson: '{"ip":"127.0.0.1"}',
  };
  const inserted = valueOf(await store.sessions.upsert(draft), 'sessions.upsert');
  checkShape(inserted, sessionShape, 'sessions.upsert');
  const got = valueOf(await store.sessions.get(draft.id, 'erin', 'full'), 'sessions.get');
  checkShape(got, sessionShape, 'sessions.get');
  expectStatus(await store.sessions.upsert({ ...got, lockVersion: 0 }), 'conflict', 'sessions.upsert stale');
  const updated = valueOf(await store.sessions.upsert({ ...got, expiresAt: now + 60_000 }), 'sessions.upsert update');
  expectEqual(typeof updated.expiresAt, 'number', 'Session.expiresAt after update');
  const all: Array<Required<Session>> = valueOf(await store.sessions.getAll('erin', 'full'), 'sessions.getAll');
  all.forEach((s, i) => checkShape(s, sessionShape, `sessions.getAll[${i}]`));
  expectNoValue(await store.sessions.delete(draft.id, 'erin', 'full'), 'ok', 'sessions.delete');
  expectNoValue(await store.sessions.delete(draft.id, 'erin', 'full'), 'not_found', 'sessions.delete again');
  await store.sessions.upsert({ ...draft, id: authstore.newSessionId() });
  const deleted: number = valueOf(await store.sessions.deleteAll('erin', 'full'), 'sessions.deleteAll');
  expectEqual(deleted, 1, 'sessions.deleteAll count');
}

async function replay(store: Store): Promise<void> {
  const reservation: Reservation = valueOf(await store.replay.reserve('https://issuer.example', 'jti-r', Date.now() + 60_000),
    'replay.reserve');
  checkShape(reservation, { issuer: S, jti: S, owner: S, keptUntil: N }, 'Reservation');
  expectStatus(await store.replay.reserve('https://issuer.example', 'jti-r', Date.now() + 60_000), 'replayed',
    'replay.reserve again');
  expectNoValue(await store.replay.release(reservation), 'ok', 'replay.release');
}

async function clientTokens(store: Store): Promise<void> {
  const t = store.clientTokens;
  const record: TokenRecord = {
    accessToken: 'at', refreshToken: 'rt', tokenType: 'Bearer', scope: 's', resource: 'https://api', expiresAt: Date.now() + 60_000,
    refreshExpiresAt: Date.now() + 120_000, extraJson: '{}',
  };
  expectNoValue(await t.save('k:a', record), 'ok', 'clientTokens.save');
  expectNoValue(await t.save('k:b', record, 60_000), 'ok', 'clientTokens.save ttl');
  checkShape(valueOf(await t.get('k:a'), 'clientTokens.get'), tokenRecordShape, 'clientTokens.get');
  const has: boolean = valueOf(await t.has('k:a'), 'clientTokens.has');
  expectEqual(has, true, 'clientTokens.has');
  const page: KeyPage = valueOf(await t.list('k:', '', 1), 'clientTokens.list');
  checkShape(page, { keys: ['array'], nextCursor: S }, 'KeyPage');
  valueOf(await t.list('k:'), 'clientTokens.list default');
  expectNoValue(await t.remove('k:a'), 'ok', 'clientTokens.remove');
  expectNoValue(await t.remove('k:a'), 'not_found', 'clientTokens.remove again');

  const credentials: ClientCredentials = { clientId: 'cid', clientSecret: 'sec', registrationAccessToken: 'rat', extraJson: '{}' };
  expectNoValue(await t.saveClientCredentials('https://as.example', credentials, 60_000), 'ok', 'saveClientCredentials');
  checkShape(valueOf(await t.getClientCredentials('https://as.example'), 'getClientCredentials'),
    { clientId: S, clientSecret: S, registrationAccessToken: S, extraJson: S }, 'ClientCredentials');
  expectNoValue(await t.removeClientCredentials('https://as.example'), 'ok', 'removeClientCredentials');

  const verifier = authstore.pkceNewVerifier();
  const pkce: PkceValues = { codeVerifier: verifier, codeChallenge: authstore.pkceS256Challenge(verifier), codeChallengeMethod: 'S256' };
  expectNoValue(await t.savePkce('u1', 'state-1', pkce, 60_000), 'ok', 'savePkce');
  checkShape(valueOf(await t.takePkce('u1', 'state-1'), 'takePkce'),
    { codeVerifier: S, codeChallenge: S, codeChallengeMethod: S }, 'PkceValues');
  expectStatus(await t.takePkce('u1', 'state-1'), 'not_found', 'takePkce again');

  expectNoValue(await t.saveAccessToken('u1', 'https://api.example/x', record, 60_000), 'ok', 'saveAccessToken');
  checkShape(valueOf(await t.getAccessToken('u1', 'https://api.example/x'), 'getAccessToken'), tokenRecordShape,
    'getAccessToken');
  expectNoValue(await t.removeAccessToken('u1', 'https://api.example/x'), 'ok', 'removeAccessToken');
}

async function payloads(store: Store): Promise<void> {
  const p = store.payloads;
  const write: PayloadWrite = {
    model: 'DeviceCode', id: 'dc-1', payload: '{"a":1}', grantId: 'g-p', uid: 'uid-1', userCode: 'BCDFGHJK', ttlMs: 60_000,
  };
  expectNoValue(await p.upsert(write), 'ok', 'payloads.upsert');
  expectNoValue(await p.upsert({ model: 'Blob', id: 'b', payload: new Uint8Array([123, 125]) }), 'ok',
    'payloads.upsert bytes');
  checkShape(valueOf(await p.find('DeviceCode', 'dc-1'), 'payloads.find'), payloadShape, 'payloads.find');
  checkShape(valueOf(await p.findByUid('DeviceCode', 'uid-1'), 'payloads.findByUid'), payloadShape, 'findByUid');
  checkShape(valueOf(await p.findByUserCode('DeviceCode', 'BCDFGHJK'), 'findByUserCode'), payloadShape, 'findByUserCode');
  checkShape(valueOf(await p.consume('DeviceCode', 'dc-1'), 'payloads.consume'), payloadShape, 'payloads.consume');
  const again = expectStatus(await p.consume('DeviceCode', 'dc-1'), 'already_consumed', 'payloads.consume again');
  if (again.value !== undefined) checkShape(again.value, payloadShape, 'already_consumed value');
  expectNoValue(await p.destroy('Blob', 'b'), 'ok', 'payloads.destroy');
  expectNoValue(await p.revokeByGrantId('g-p'), 'ok', 'payloads.revokeByGrantId');
  expectStatus(await p.find('DeviceCode', 'dc-1'), 'not_found', 'payloads.find after revoke');
}

async function adapter(store: Store): Promise<void> {
  const Adapter: AdapterConstructor = adapterFor(store, { revokeOnReplay: true });
  const sessions: Adapter = new Adapter('Session');
  expectEqual(sessions.model, 'Session', 'Adapter.model');
  const payload: AdapterPayload = { uid: 'sess-uid', accountId: 'alice', grantId: 'g-ad', exp: 1 };
  await sessions.upsert('sess-1', payload, 60);
  const found: AdapterPayload | undefined = await sessions.find('sess-1');
  expectEqual(found?.accountId, 'alice', 'Adapter.find');
  expectEqual((await sessions.findByUid('sess-uid'))?.uid, 'sess-uid', 'Adapter.findByUid');
  const devices = new Adapter('DeviceCode');
  await devices.upsert('dc-a', { userCode: 'XYZW', grantId: 'g-ad' }, 60);
  expectEqual((await devices.findByUserCode('XYZW'))?.userCode, 'XYZW', 'Adapter.findByUserCode');
  await devices.consume('dc-a');
  const consumed = await devices.find('dc-a');
  expectEqual(typeof consumed?.consumed, 'number', 'Adapter.find consumed');
  await sessions.destroy('sess-1');
  expectEqual(await sessions.find('sess-1'), undefined, 'Adapter.destroy');
  await devices.revokeByGrantId('g-ad');
  expectEqual(await devices.find('dc-a'), undefined, 'Adapter.revokeByGrantId');
  // The adapter class is what oidc-provider's `adapter` option takes: a constructor of a model name.
  const configuration: { adapter: new (name: string) => Adapter } = { adapter: adapterFor(store) };
  expectEqual(typeof configuration.adapter, 'function', 'adapter option');
}

async function main(): Promise<void> {
  const clock = new authstore.ManualClock(Date.now());
  clock.set(clock.now());
  clock.advance(0);
  const logged: string[] = [];
  const options: Options = {
    keys: { keys: [{ id: 1, secret: new Uint8Array(32).fill(7) }], currentKeyId: 1, routeSecret: 'a-route-secret-of-the-type-test-32b', developmentMode: false },
    codes: { defaultTtlMs: 60_000, maxTtlMs: 600_000, allowPlainPkce: false, requirePkce: true },
    refresh: {
      defaultIdleTtlMs: 60_000, defaultLifetimeMs: 600_000, maxLifetimeMs: 3_600_000, graceWindowMs: 0,
      maxGraceWindowMs: 60_000, maxMetadataBytes: 4096, accessTokenMaxTtlMs: 3_600_000,
    },
    sessions: { maxSessionsPerUser: 10, maxExtraBytes: 4096 },
    replay: { leewayMs: 1000, minTtlMs: 1000, maxTtlMs: 3_600_000, memoryCapacity: 1000, memoryShards: 4 },
    clientTokens: { pkceTtlMs: 60_000, defaultTtlMs: 60_000, maxRecordBytes: 8192 },
    payloads: { maxTtlMs: 3_600_000, maxPayloadBytes: 65536 },
    memorySweepIntervalMs: 1000,
    startNewStore: true,
    log: (level, message) => { logged.push(`${level}: ${message}`); },
  };
  const store: Store = await authstore.open('memory://', options);
  expectEqual(store.backend, 'memory', 'Store.backend');
  const withClock = await authstore.open('memory://', { keys: { developmentMode: true }, clock });
  await withClock.close();

  await codes(store);
  await refresh(store);
  await sessions(store);
  await replay(store);
  await clientTokens(store);
  await payloads(store);
  await adapter(store);

  const text: string = store.metrics.prometheus();
  expectEqual(text.includes('authstore_operations_total'), true, 'metrics.prometheus');
  const count: number = store.metrics.operations('codes', 'consume', 'already_consumed');
  expectEqual(count, 1, 'metrics.operations');
  expectEqual(typeof store.metrics.securityEvents('code_replay'), 'number', 'metrics.securityEvents');

  await expectError(() => authstore.open('memory://', { keys: { developmentMode: true }, codes: { defaultTtlMs: 1.5 } }),
    'invalid_argument', 'options.codes.defaultTtlMs', 'open with a fraction for an integer');
  await store.clientTokens.close();
  await store.close();
  await expectError(() => store.codes.peek('x'), 'failed_precondition', 'store', 'a call after close');
  // A key file beside the compiled file (the test's run removes *.key there first).
  const keyFile = `${__dirname}/types-${Date.now()}.key`;
  const created: void = await authstore.createKeyFile(keyFile);
  expectEqual(created, undefined, 'createKeyFile');
  await expectError(() => authstore.createKeyFile(keyFile), 'already_exists', 'keyFile', 'createKeyFile again');
  const fromFile = await authstore.open('memory://', { keys: { keyFile, allowInsecureKeyFile: false } });
  await fromFile.close();
  console.log(`index.d.ts: ${checks} checks against the module passed`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
