'use strict';
// oidc-provider's example Redis adapter (example/adapters/redis.js in panva/node-oidc-provider),
// rewritten here for the benchmark (bench/node/bench.js) with the same Redis commands and the same
// semantics, over an ioredis client the caller passes (created with a `keyPrefix`):
//  * `Model:id` keys; the consumable models (AuthorizationCode, RefreshToken, DeviceCode,
//    BackchannelAuthenticationRequest) as a hash {payload: JSON}, the others as a JSON string;
//  * upsert: one MULTI (HSET or SET, EXPIRE, RPUSH to the grant's list `grant:<grantId>` for the
//    grantable models, SET `userCode:` / `uid:` indexes with their EXPIRE), after a TTL read of
//    the grant's list (a second round trip) deciding whether its expiry is extended;
//  * find: HGETALL (consumable: the payload plus `consumed` when set) or GET; findByUid and
//    findByUserCode: GET of the index, then find;
//  * consume: HSET `consumed` <seconds>, unconditionally. NOT atomic: oidc-provider checks
//    `consumed` in find() first, so two requests racing with one code both pass and both get tokens
//    (docs/node.md, "What consume guarantees"). Kept as in the example: that is what it costs;
//  * revokeByGrantId: LRANGE of the grant's list, then one MULTI deleting each key and the list;
//  * destroy: DEL.
// Not a supported adapter: a reference point for the benchmark only.

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKey = (grantId) => `grant:${grantId}`;
const userCodeKey = (userCode) => `userCode:${userCode}`;
const uidKey = (uid) => `uid:${uid}`;

// Nothing stored: null from GET, {} from HGETALL.
const absent = (data) => data === null || data === undefined ||
  (typeof data === 'object' && Object.keys(data).length === 0);

// An oidc-provider adapter class over `client` (an ioredis instance).
function ioredisAdapter(client) {
  return class IoredisAdapter {
    constructor(name) {
      this.name = name;
      this.consumable = CONSUMABLE.has(name);
    }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (this.consumable) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (GRANTABLE.has(this.name) && payload.grantId) {
        const list = grantKey(payload.grantId);
        multi.rpush(list, key);
        const ttl = await client.ttl(list);
        if (expiresIn > ttl) multi.expire(list, expiresIn);
      }
      if (payload.userCode) {
        multi.set(userCodeKey(payload.userCode), id);
        multi.expire(userCodeKey(payload.userCode), expiresIn);
      }
      if (payload.uid) {
        multi.set(uidKey(payload.uid), id);
        multi.expire(uidKey(payload.uid), expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const data = this.consumable ? await client.hgetall(this.key(id)) : await client.get(this.key(id));
      if (absent(data)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, ...rest } = data;
      return { ...rest, ...JSON.parse(payload) };
    }

    async findByUid(uid) {
      return this.find(await client.get(uidKey(uid)));
    }

    async findByUserCode(userCode) {
      return this.find(await client.get(userCodeKey(userCode)));
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const multi = client.multi();
      const keys = await client.lrange(grantKey(grantId), 0, -1);
      for (const key of keys) multi.del(key);
      multi.del(grantKey(grantId));
      await multi.exec();
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  };
}

module.exports = { ioredisAdapter };
