'use strict';
// authstore as the storage of node-oidc-provider (`adapter` in its configuration):
//
//   const { open } = require('authstore');
//   const { adapterFor } = require('authstore/oidc-provider');
//   const store = await open('redis://127.0.0.1:6379', { keys: { keyFile: '/etc/app/authstore.key' } });
//   const provider = new Provider(issuer, { adapter: adapterFor(store), ...configuration });
//
// Every model (Session, AccessToken, AuthorizationCode, RefreshToken, DeviceCode, Grant,
// Interaction, PushedAuthorizationRequest, ReplayDetection, ClientCredentials,
// BackchannelAuthenticationRequest, ...) is stored by store.payloads (docs/api.md "Payloads"): ids,
// uids and user codes only as keyed hashes, payloads encrypted, TTLs native. consume() is ONE
// atomic operation in authstore: of two requests redeeming the same code or refresh token at once,
// exactly one gets tokens; the other gets invalid_grant, and (like oidc-provider's own answer to a
// replay it sees in order) the grant is revoked, so the tokens already issued under it die too.
// See docs/node.md ("oidc-provider").

const MODEL_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

let providerErrors;
async function invalidGrant(detail) {
  providerErrors ??= (await import('oidc-provider')).errors;
  return new providerErrors.InvalidGrant(detail);
}

// The value of an outcome, or undefined for not_found; any other status is an Error.
function valueOf(outcome, what) {
  if (outcome.status === 'ok') return outcome.value;
  if (outcome.status === 'not_found') return undefined;
  throw new Error(`authstore: ${what} answered ${outcome.status}${outcome.message ? ': ' + outcome.message : ''}`);
}

// A lookup by a value the client sent (a code, a token, a uid): input authstore refuses as
// malformed (too long, control characters) names nothing stored, so it is "not found". Every
// other failure (backend down, ...) rejects: oidc-provider answers it with a server error.
async function lookup(promise) {
  try {
    return await promise;
  } catch (err) {
    if (err && err.code === 'invalid_argument' && err.field !== 'model') return { status: 'not_found' };
    throw err;
  }
}

function toProviderPayload(stored) {
  if (stored === undefined) return undefined;
  const payload = JSON.parse(stored.payload);
  if (stored.consumedAt) payload.consumed = Math.max(1, Math.floor(stored.consumedAt / 1000));
  return payload;
}

/**
 * The adapter class oidc-provider instantiates once per model name, over `store` (an open
 * authstore Store). Options: `revokeOnReplay` (default true): a consume() refused because the
 * code / token was consumed already revokes its grant (RFC 6749 4.1.2, RFC 9700 4.14).
 */
function adapterFor(store, options = {}) {
  if (!store || !store.payloads) throw new TypeError('adapterFor(store): expected a Store from authstore.open()');
  const { revokeOnReplay = true, ...rest } = options;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new TypeError(`adapterFor: unknown option ${unknown[0]}`);
  const payloads = store.payloads;

  return class AuthstoreAdapter {
    constructor(model) {
      if (!MODEL_NAME.test(model)) throw new TypeError(`authstore adapter: model name ${JSON.stringify(model)} is not [A-Za-z0-9._~-]{1,64}`);
      this.model = model;
    }

    async upsert(id, payload, expiresIn) {
      const write = { model: this.model, id, payload: JSON.stringify(payload) };
      if (typeof payload.grantId === 'string' && payload.grantId) write.grantId = payload.grantId;
      if (typeof payload.uid === 'string' && payload.uid) write.uid = payload.uid;
      if (typeof payload.userCode === 'string' && payload.userCode) write.userCode = payload.userCode;
      // expiresIn is in seconds; none (a registered client, say): the store's longest life.
      if (expiresIn) write.ttlMs = Math.ceil(expiresIn * 1000);
      valueOf(await payloads.upsert(write), 'upsert');
    }

    async find(id) {
      return toProviderPayload(valueOf(await lookup(payloads.find(this.model, id)), 'find'));
    }

    async findByUid(uid) {
      return toProviderPayload(valueOf(await lookup(payloads.findByUid(this.model, uid)), 'findByUid'));
    }

    async findByUserCode(userCode) {
      return toProviderPayload(valueOf(await lookup(payloads.findByUserCode(this.model, userCode)), 'findByUserCode'));
    }

    // The one atomic decision: resolves for exactly one caller; every other (concurrent or
    // later) gets invalid_grant, and the grant is revoked.
    async consume(id) {
      const r = await lookup(payloads.consume(this.model, id));
      if (r.status === 'ok') return;
      if (r.status === 'already_consumed') {
        if (revokeOnReplay) {
          const seen = valueOf(await payloads.find(this.model, id), 'find');
          if (seen && seen.grantId) valueOf(await payloads.revokeByGrantId(seen.grantId), 'revokeByGrantId');
        }
        throw await invalidGrant(`${this.model} already consumed`);
      }
      if (r.status === 'not_found') throw await invalidGrant(`${this.model} not found`);
      valueOf(r, 'consume');
    }

    async destroy(id) {
      valueOf(await lookup(payloads.destroy(this.model, id)), 'destroy');
    }

    async revokeByGrantId(grantId) {
      valueOf(await payloads.revokeByGrantId(grantId), 'revokeByGrantId');
    }
  };
}

module.exports = { adapterFor };
