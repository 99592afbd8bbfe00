'use strict';
// authstore for Node: the native addon (authstore.node) grouped as the C++ API's stores.
// Every store operation returns a Promise: it resolves with {status, value?, message?} for an
// outcome (ok, not_found, already_consumed, replayed, reused, conflict, revoked, already_exists)
// and rejects with an AuthstoreError {code, field, message} for a failure (invalid_argument,
// permission_denied, unavailable, deadline_exceeded, resource_exhausted, data_loss,
// failed_precondition, internal). See docs/node.md and index.d.ts.
const path = require('node:path');
const fs = require('node:fs');

function loadNative() {
  const candidates = [];
  if (process.env.AUTHSTORE_NODE_ADDON) candidates.push(path.resolve(process.env.AUTHSTORE_NODE_ADDON));
  candidates.push(
    path.join(__dirname, 'build', 'authstore.node'),
    // The repository's CMake build directories (README, scripts/test.sh, CMakePresets.json).
    path.join(__dirname, '..', '..', 'build', 'bindings', 'node', 'authstore.node'),
    path.join(__dirname, '..', '..', 'build-test', 'bindings', 'node', 'authstore.node'),
  );
  for (const file of candidates) {
    if (fs.existsSync(file)) return require(file);
  }
  throw new Error(
    'authstore: the native addon authstore.node was not found (looked in ' + candidates.join(', ') +
      '); build it with CMake (docs/node.md) or set AUTHSTORE_NODE_ADDON to its path');
}

const native = loadNative();

/** A failure of an authstore call: `code` (e.g. "invalid_argument") and `field` (the input at fault, or ""). */
class AuthstoreError extends Error {
  constructor(message, code, field) {
    super(message);
    this.name = 'AuthstoreError';
    this.code = code;
    this.field = field;
  }
}
native.setErrorClass(AuthstoreError);
// Result objects are built here, from the addon's values: a JavaScript object literal costs far
// less than setting its properties one by one through N-API (docs/performance.md, Node module).
native.setFactories({
  result: (status, message, value) => {
    if (message === undefined) return value === undefined ? { status } : { status, value };
    return value === undefined ? { status, message } : { status, message, value };
  },
  issuedCode: (code, grantId, expiresAt) => ({ code, grantId, expiresAt }),
  codeRecord: (clientId, subject, claimsJson, scope, redirectUri, nonce, codeChallenge, codeChallengeMethod,
    authTime, grantId, extraJson, ttlMs, issuedAt, expiresAt, consumed) => ({
    grant: {
      clientId, subject, claimsJson, scope, redirectUri, nonce, codeChallenge, codeChallengeMethod, authTime,
      grantId, extraJson, ttlMs,
    },
    issuedAt,
    expiresAt,
    consumed,
  }),
  family: (familyId, subject, clientId, scope, grantId, metadataJson, createdAt, lastUsedAt, idleExpiresAt,
    expiresAt, rotations) => ({
    familyId, subject, clientId, scope, grantId, metadataJson, createdAt, lastUsedAt, idleExpiresAt, expiresAt,
    rotations,
  }),
  issuedRefresh: (token, family) => ({ token, family }),
  refreshInfo: (state, family) => ({ state, family }),
  jti: (jti, subject, clientId, expiresAt) => ({ jti, subject, clientId, expiresAt }),
  session: (id, userId, type, createdAt, expiresAt, refreshExpiresAt, refreshTokenId, refreshedAt, tokensFreshFrom,
    prevTokensFreshFrom, lockVersion, extraJson) => ({
    id, userId, type, createdAt, expiresAt, refreshExpiresAt, refreshTokenId, refreshedAt, tokensFreshFrom,
    prevTokensFreshFrom, lockVersion, extraJson,
  }),
  reservation: (issuer, jti, owner, keptUntil) => ({ issuer, jti, owner, keptUntil }),
  tokenRecord: (accessToken, refreshToken, tokenType, scope, resource, expiresAt, refreshExpiresAt, extraJson) => ({
    accessToken, refreshToken, tokenType, scope, resource, expiresAt, refreshExpiresAt, extraJson,
  }),
  clientCredentials: (clientId, clientSecret, registrationAccessToken, extraJson) => ({
    clientId, clientSecret, registrationAccessToken, extraJson,
  }),
  pkce: (codeVerifier, codeChallenge, codeChallengeMethod) => ({ codeVerifier, codeChallenge, codeChallengeMethod }),
  payload: (model, id, payload, grantId, uid, userCode, expiresAt, consumedAt) => ({
    model, id, payload, grantId, uid, userCode, expiresAt, consumedAt,
  }),
  keyPage: (keys, nextCursor) => ({ keys, nextCursor }),
});

class CodeStore {
  #n;
  constructor(n) { this.#n = n; }
  issue(grant) { return this.#n.codesIssue(grant); }
  peek(code) { return this.#n.codesPeek(code); }
  consume(code) { return this.#n.codesConsume(code); }
}

class RefreshTokenStore {
  #n;
  constructor(n) { this.#n = n; }
  issue(grant) { return this.#n.refreshIssue(grant); }
  rotate(token, clientId) { return this.#n.refreshRotate(token, clientId); }
  consume(token, clientId) { return this.#n.refreshConsume(token, clientId); }
  peek(token) { return this.#n.refreshPeek(token); }
  storeJti(subject, jti, clientId, ttlMs) { return this.#n.refreshStoreJti(subject, jti, clientId, ttlMs); }
  consumeJti(subject, jti) { return this.#n.refreshConsumeJti(subject, jti); }
  revoke(token) { return this.#n.refreshRevoke(token); }
  revokeFamily(familyId) { return this.#n.refreshRevokeFamily(familyId); }
  revokeSubject(subject) { return this.#n.refreshRevokeSubject(subject); }
  revokeClient(subject, clientId) { return this.#n.refreshRevokeClient(subject, clientId); }
  revokeGrant(subject, grantId) { return this.#n.refreshRevokeGrant(subject, grantId); }
  grantLive(subject, clientId, grantId, issuedAt) {
    return this.#n.refreshGrantLive(subject, clientId, grantId, issuedAt);
  }
  list(subject) { return this.#n.refreshList(subject); }
}

class SessionStore {
  #n;
  constructor(n) { this.#n = n; }
  get(id, userId, type) { return this.#n.sessionsGet(id, userId, type); }
  upsert(session) { return this.#n.sessionsUpsert(session); }
  delete(id, userId, type) { return this.#n.sessionsDelete(id, userId, type); }
  getAll(userId, type) { return this.#n.sessionsGetAll(userId, type); }
  deleteAll(userId, type) { return this.#n.sessionsDeleteAll(userId, type); }
}

class ReplayCache {
  #n;
  constructor(n) { this.#n = n; }
  reserve(issuer, jti, expiresAt) { return this.#n.replayReserve(issuer, jti, expiresAt); }
  release(reservation) { return this.#n.replayRelease(reservation); }
}

class ClientTokenStore {
  #n;
  constructor(n) { this.#n = n; }
  save(key, record, ttlMs) { return this.#n.tokensSave(key, record, ttlMs); }
  get(key) { return this.#n.tokensGet(key); }
  has(key) { return this.#n.tokensHas(key); }
  remove(key) { return this.#n.tokensRemove(key); }
  list(prefix, cursor, limit) { return this.#n.tokensList(prefix, cursor, limit); }
  saveClientCredentials(serverUrl, credentials, ttlMs) {
    return this.#n.tokensSaveClientCredentials(serverUrl, credentials, ttlMs);
  }
  getClientCredentials(serverUrl) { return this.#n.tokensGetClientCredentials(serverUrl); }
  removeClientCredentials(serverUrl) { return this.#n.tokensRemoveClientCredentials(serverUrl); }
  savePkce(userId, state, pkce, ttlMs) { return this.#n.tokensSavePkce(userId, state, pkce, ttlMs); }
  takePkce(userId, state) { return this.#n.tokensTakePkce(userId, state); }
  saveAccessToken(userId, url, record, ttlMs) { return this.#n.tokensSaveAccessToken(userId, url, record, ttlMs); }
  getAccessToken(userId, url) { return this.#n.tokensGetAccessToken(userId, url); }
  removeAccessToken(userId, url) { return this.#n.tokensRemoveAccessToken(userId, url); }
  close() { return this.#n.tokensClose(); }
}

class PayloadStore {
  #n;
  constructor(n) { this.#n = n; }
  upsert(write) { return this.#n.payloadsUpsert(write); }
  find(model, id) { return this.#n.payloadsFind(model, id); }
  findByUid(model, uid) { return this.#n.payloadsFindByUid(model, uid); }
  findByUserCode(model, userCode) { return this.#n.payloadsFindByUserCode(model, userCode); }
  consume(model, id) { return this.#n.payloadsConsume(model, id); }
  destroy(model, id) { return this.#n.payloadsDestroy(model, id); }
  revokeByGrantId(grantId) { return this.#n.payloadsRevokeByGrantId(grantId); }
}

class Metrics {
  #n;
  constructor(n) { this.#n = n; }
  prometheus() { return this.#n.metricsPrometheus(); }
  operations(store, op, outcome) { return this.#n.metricsOperations(store, op, outcome); }
  securityEvents(event) { return this.#n.metricsSecurityEvents(event); }
}

class Store {
  #n;
  constructor(n) {
    this.#n = n;
    this.codes = new CodeStore(n);
    this.refresh = new RefreshTokenStore(n);
    this.sessions = new SessionStore(n);
    this.replay = new ReplayCache(n);
    this.clientTokens = new ClientTokenStore(n);
    this.payloads = new PayloadStore(n);
    this.metrics = new Metrics(n);
    Object.freeze(this);
  }
  /** "memory", "sqlite", "redis", "redis_cluster" or "redis_sentinel". */
  get backend() { return this.#n.backend; }
  /** Closes the store for every call; pending Redis calls reject with code "unavailable". */
  close() { return this.#n.close(); }
}

/** Opens the store a URL names (memory://, sqlite:///path, redis://host:port, rediss://...). */
function open(url, options) {
  return native.open(url, options).then((n) => new Store(n));
}

module.exports = {
  open,
  AuthstoreError,
  ManualClock: native.ManualClock,
  createKeyFile: native.createKeyFile,
  verifyPkce: native.verifyPkce,
  pkceS256Challenge: native.pkceS256Challenge,
  pkceNewVerifier: native.pkceNewVerifier,
  newSessionId: native.newSessionId,
};
