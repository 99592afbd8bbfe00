// authstore for Node: TypeScript declarations. Times are Unix milliseconds (numbers); JSON fields
// are strings holding a JSON object. See docs/node.md.

/** Outcomes a call resolves with. */
export type OutcomeStatus =
  | 'ok' | 'not_found' | 'already_consumed' | 'replayed' | 'reused' | 'conflict' | 'revoked' | 'already_exists';
/** Failures a call rejects with (AuthstoreError.code). */
export type ErrorCode =
  | 'invalid_argument' | 'permission_denied' | 'unavailable' | 'deadline_exceeded' | 'resource_exhausted'
  | 'data_loss' | 'failed_precondition' | 'internal';

/**
 * What a store call resolves with: `status` "ok" with `value`, or another outcome (with `message`,
 * and `value` where the C++ API documents details: already_consumed carries the code's grant,
 * reused the revoked family).
 */
export interface Outcome<T, S extends OutcomeStatus = OutcomeStatus> {
  status: S;
  value?: T;
  message?: string;
}

/** A failure: `code` names it, `field` the input at fault ("" when none). Never holds a secret. */
export class AuthstoreError extends Error {
  readonly code: ErrorCode | 'already_exists';
  readonly field: string;
}

export interface CodeGrant {
  clientId: string;
  subject: string;
  redirectUri: string;
  claimsJson?: string;
  scope?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: '' | 'S256' | 'plain';
  authTime?: number;
  grantId?: string;
  extraJson?: string;
  ttlMs?: number;
}
export interface CodeRecord {
  grant: Required<CodeGrant>;
  issuedAt: number;
  expiresAt: number;
  consumed: boolean;
}
export interface IssuedCode { code: string; grantId: string; expiresAt: number }

export interface RefreshGrant {
  subject: string;
  clientId: string;
  scope?: string;
  grantId?: string;
  idleTtlMs?: number;
  lifetimeMs?: number;
  metadataJson?: string;
}
export interface RefreshFamily {
  familyId: string;
  subject: string;
  clientId: string;
  scope: string;
  grantId: string;
  metadataJson: string;
  createdAt: number;
  lastUsedAt: number;
  idleExpiresAt: number;
  expiresAt: number;
  rotations: number;
}
export interface IssuedRefreshToken { token: string; family: RefreshFamily }
export interface RefreshTokenInfo { state: 'active' | 'rotated' | 'revoked'; family: RefreshFamily }
export interface JtiRecord { jti: string; subject: string; clientId: string; expiresAt: number }

export interface Session {
  id: string;
  userId: string;
  type?: string;
  createdAt?: number;
  /** null = never. */
  expiresAt?: number | null;
  refreshExpiresAt: number;
  refreshTokenId?: string;
  refreshedAt?: number;
  tokensFreshFrom?: number;
  prevTokensFreshFrom?: number;
  /** 0 to insert; the value last read to update. */
  lockVersion?: number;
  extraJson?: string;
}

export interface Reservation { issuer: string; jti: string; owner: string; keptUntil: number }

export interface TokenRecord {
  accessToken?: string;
  refreshToken?: string;
  tokenType?: string;
  scope?: string;
  resource?: string;
  expiresAt?: number;
  refreshExpiresAt?: number;
  extraJson?: string;
}
export interface ClientCredentials {
  clientId?: string;
  clientSecret?: string;
  registrationAccessToken?: string;
  extraJson?: string;
}
export interface PkceValues { codeVerifier?: string; codeChallenge?: string; codeChallengeMethod?: string }
export interface KeyPage { keys: string[]; nextCursor: string }

export class ManualClock {
  constructor(startMs: number);
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Options {
  keys?: {
    keys?: Array<{ id: number; secret: string | Uint8Array }>;
    currentKeyId?: number;
    routeSecret?: string | Uint8Array;
    keyFile?: string;
    developmentMode?: boolean;
    allowInsecureKeyFile?: boolean;
  };
  clock?: ManualClock;
  codes?: { defaultTtlMs?: number; maxTtlMs?: number; allowPlainPkce?: boolean; requirePkce?: boolean };
  refresh?: {
    defaultIdleTtlMs?: number; defaultLifetimeMs?: number; maxLifetimeMs?: number;
    graceWindowMs?: number; maxGraceWindowMs?: number; maxMetadataBytes?: number; accessTokenMaxTtlMs?: number;
  };
  sessions?: { maxSessionsPerUser?: number; maxExtraBytes?: number };
  replay?: { leewayMs?: number; minTtlMs?: number; maxTtlMs?: number; memoryCapacity?: number; memoryShards?: number };
  clientTokens?: { pkceTtlMs?: number; defaultTtlMs?: number; maxRecordBytes?: number };
  payloads?: { maxTtlMs?: number; maxPayloadBytes?: number };
  /** Receives the store's log lines (never a secret) on the JavaScript thread, from any thread that logged. */
  log?: (level: LogLevel, message: string) => void;
  memorySweepIntervalMs?: number;
  startNewStore?: boolean;
}

export interface CodeStore {
  issue(grant: CodeGrant): Promise<Outcome<IssuedCode>>;
  peek(code: string): Promise<Outcome<CodeRecord>>;
  consume(code: string): Promise<Outcome<CodeRecord>>;
}
export interface RefreshTokenStore {
  issue(grant: RefreshGrant): Promise<Outcome<IssuedRefreshToken>>;
  rotate(token: string, clientId: string): Promise<Outcome<IssuedRefreshToken>>;
  consume(token: string, clientId?: string): Promise<Outcome<RefreshFamily>>;
  peek(token: string): Promise<Outcome<RefreshTokenInfo>>;
  storeJti(subject: string, jti: string, clientId: string, ttlMs: number): Promise<Outcome<undefined>>;
  consumeJti(subject: string, jti: string): Promise<Outcome<JtiRecord>>;
  revoke(token: string): Promise<Outcome<undefined>>;
  revokeFamily(familyId: string): Promise<Outcome<undefined>>;
  revokeSubject(subject: string): Promise<Outcome<undefined>>;
  revokeClient(subject: string, clientId: string): Promise<Outcome<undefined>>;
  revokeGrant(subject: string, grantId: string): Promise<Outcome<undefined>>;
  /**
   * A resource server's check of an access token issued at `issuedAt` (Unix ms): status `ok` when
   * live, `revoked` (with `message`) when its grant was revoked or the subject was logged out
   * (everywhere, or from clientId) at or after issuedAt, or issuedAt is older than
   * `refresh.accessTokenMaxTtlMs`. `grantId` '' skips the grant check.
   */
  grantLive(subject: string, clientId: string, grantId: string, issuedAt: number): Promise<Outcome<undefined>>;
  list(subject: string): Promise<Outcome<RefreshFamily[]>>;
}
export interface SessionStore {
  get(id: string, userId: string, type: string): Promise<Outcome<Required<Session>>>;
  upsert(session: Session): Promise<Outcome<Required<Session>>>;
  delete(id: string, userId: string, type: string): Promise<Outcome<undefined>>;
  getAll(userId: string, type: string): Promise<Outcome<Array<Required<Session>>>>;
  /** value: how many sessions were deleted. */
  deleteAll(userId: string, type: string): Promise<Outcome<number>>;
}
export interface ReplayCache {
  reserve(issuer: string, jti: string, expiresAt: number): Promise<Outcome<Reservation>>;
  release(reservation: Reservation): Promise<Outcome<undefined>>;
}
export interface ClientTokenStore {
  save(key: string, record: TokenRecord, ttlMs?: number): Promise<Outcome<undefined>>;
  get(key: string): Promise<Outcome<Required<TokenRecord>>>;
  has(key: string): Promise<Outcome<boolean>>;
  remove(key: string): Promise<Outcome<undefined>>;
  list(prefix: string, cursor?: string, limit?: number): Promise<Outcome<KeyPage>>;
  saveClientCredentials(serverUrl: string, credentials: ClientCredentials, ttlMs?: number): Promise<Outcome<undefined>>;
  getClientCredentials(serverUrl: string): Promise<Outcome<Required<ClientCredentials>>>;
  removeClientCredentials(serverUrl: string): Promise<Outcome<undefined>>;
  savePkce(userId: string, state: string, pkce: PkceValues, ttlMs?: number): Promise<Outcome<undefined>>;
  takePkce(userId: string, state: string): Promise<Outcome<Required<PkceValues>>>;
  saveAccessToken(userId: string, url: string, record: TokenRecord, ttlMs?: number): Promise<Outcome<undefined>>;
  getAccessToken(userId: string, url: string): Promise<Outcome<Required<TokenRecord>>>;
  removeAccessToken(userId: string, url: string): Promise<Outcome<undefined>>;
  close(): Promise<void>;
}
/** A payload to store under (model, id); see docs/api.md "Payloads". */
export interface PayloadWrite {
  /** 1..64 of [A-Za-z0-9._~-], e.g. "AccessToken". */
  model: string;
  /** 1..1024 bytes; stored only as a keyed hash. */
  id: string;
  /** Opaque bytes (a string is stored as UTF-8), at most payloads.maxPayloadBytes. */
  payload: string | Uint8Array;
  grantId?: string;
  uid?: string;
  userCode?: string;
  /** 1..payloads.maxTtlMs; 0 or absent: maxTtlMs. */
  ttlMs?: number;
}
export interface StoredPayload {
  model: string;
  id: string;
  /** The payload bytes as a UTF-8 string. */
  payload: string;
  grantId: string;
  uid: string;
  userCode: string;
  expiresAt: number;
  /** 0 while not consumed. */
  consumedAt: number;
}
export interface PayloadStore {
  upsert(write: PayloadWrite): Promise<Outcome<undefined>>;
  /** not_found when absent, expired, destroyed, tampered with, or its grant was revoked. */
  find(model: string, id: string): Promise<Outcome<StoredPayload>>;
  findByUid(model: string, uid: string): Promise<Outcome<StoredPayload>>;
  findByUserCode(model: string, userCode: string): Promise<Outcome<StoredPayload>>;
  /** ok for exactly one caller; already_consumed for every other, concurrent or later. */
  consume(model: string, id: string): Promise<Outcome<StoredPayload>>;
  destroy(model: string, id: string): Promise<Outcome<undefined>>;
  revokeByGrantId(grantId: string): Promise<Outcome<undefined>>;
}
export interface Metrics {
  prometheus(): string;
  operations(store: string, op: string, outcome: OutcomeStatus | ErrorCode): number;
  securityEvents(event: string): number;
}

export interface Store {
  readonly backend: string;
  readonly codes: CodeStore;
  readonly refresh: RefreshTokenStore;
  readonly sessions: SessionStore;
  readonly replay: ReplayCache;
  readonly clientTokens: ClientTokenStore;
  readonly payloads: PayloadStore;
  readonly metrics: Metrics;
  /** Closes the store for every call; Redis calls still in flight reject with "unavailable". */
  close(): Promise<void>;
}

/**
 * Opens memory://, sqlite:///path.db, redis://[user:pass@]host[:port][/db][?prefix=...], rediss://,
 * unix://, redis+cluster://h1:p1,h2:p2 (rediss+cluster://) or redis+sentinel://s1,s2/master (docs/redis.md).
 */
export function open(url: string, options?: Options): Promise<Store>;
/** Creates a key file (mode 0600); rejects with code "already_exists" when it exists. */
export function createKeyFile(path: string): Promise<void>;
/** Throws an AuthstoreError (code invalid_argument, field codeVerifier) unless the verifier matches. */
export function verifyPkce(codeChallenge: string, codeChallengeMethod: string, codeVerifier: string, allowPlain?: boolean): void;
export function pkceS256Challenge(codeVerifier: string): string;
export function pkceNewVerifier(): string;
export function newSessionId(): string;
