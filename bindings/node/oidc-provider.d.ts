// authstore/oidc-provider: TypeScript declarations (docs/node.md, "oidc-provider").
import type { Store } from './index';

/** What oidc-provider hands the adapter and gets back: its model's JSON payload. */
export interface AdapterPayload {
  [key: string]: unknown;
  /** Indexes the adapter keeps: revokeByGrantId, findByUid (Session), findByUserCode (DeviceCode). */
  grantId?: string;
  uid?: string;
  userCode?: string;
  /** Set by find() once consumed: the Unix time (seconds) of the consumption. */
  consumed?: number;
}

export interface AdapterOptions {
  /** A consume() refused because the id was consumed already revokes its grant (default true). */
  revokeOnReplay?: boolean;
}

/** One model's storage (oidc-provider's Adapter interface); every method may reject on a failure. */
export interface Adapter {
  readonly model: string;
  /** expiresIn: seconds; absent or 0: the store's payloads.maxTtlMs. */
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  /** Resolves for exactly one caller; every other rejects with oidc-provider's InvalidGrant. */
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** The class oidc-provider instantiates once per model name (its `adapter` configuration option). */
export interface AdapterConstructor {
  new (model: string): Adapter;
}

/** The adapter class over `store`; throws a TypeError for a non-store or an unknown option. */
export function adapterFor(store: Store, options?: AdapterOptions): AdapterConstructor;
