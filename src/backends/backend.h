// The backend seam: the atomic primitives each store's policy needs, one interface per store.
//
// Rules for every implementation (memory, SQLite, Redis):
//  * Each call is ONE atomic operation (a mutex-held section, one transaction, one command or
//    script) and completes by calling `done` exactly once, inline or on a backend thread.
//  * Keys are opaque strings built by the stores (src/stores/keys.h); they hold no secret.
//    Blobs are opaque signed/encrypted records built by the stores; a backend never parses them.
//  * `now` is the store clock's time in Unix ms. An entry whose expiry is <= now is invisible to
//    every call, exactly as if it were absent (native expiry may remove it later).
//  * Backends decide only on the plain fields passed to them (states, expiries, generations,
//    lock versions, owner tokens, hashed client ids). Policy (what a token is, signing, parsing,
//    validation) stays in src/stores.
//  * Failures are errors (kUnavailable, kDeadlineExceeded, kDataLoss, kResourceExhausted,
//    kInternal): never a made-up outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authstore/admin.h"
#include "authstore/status.h"
#include "backends/migration.h"

namespace authstore::internal {

using Millis = std::int64_t;

// ---------------------------------------------------------------------------------------------
// Authorization codes. Per code: key -> {record, tombstone, consumed flag, expires_at}.
struct CodeSlot {
  bool consumed = false;  // true: `blob` is the tombstone; false: `blob` is the record.
  std::string blob;
};

class CodeBackend {
 public:
  virtual ~CodeBackend() = default;
  // Stores an active code until expires_at. kAlreadyExists if a live entry has the key.
  virtual void insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
                      Millis now, Callback<Done> done) = 0;
  // The live entry: {consumed=false, record} or {consumed=true, tombstone}. kNotFound if none.
  virtual void peek(const std::string& key, Millis now, Callback<CodeSlot> done) = 0;
  // If active: marks it consumed (keeping its expiry) and returns {consumed=false, record}.
  // If already consumed: returns {consumed=true, tombstone}. kNotFound if none.
  virtual void consume(const std::string& key, Millis now, Callback<CodeSlot> done) = 0;
};

// ---------------------------------------------------------------------------------------------
// Refresh-token families.
//
// Model: a "user" is (route, subject_key). Per user: a generation `gen` (starts at 0), a
// generation per client `client_gen[client_key]`, revoked grants `grant_revoked[grant_key] =
// until`, and an index of families. A family: record blob (immutable), client_key, grant_key,
// the user/client generations captured at issue, state (active | revoked | ended), current token
// key, last_used, idle_ttl, idle_expires_at, expires_at, rotations. A token key -> {family key,
// state (active | spent), spent_at}; tokens of a family live until the family's expires_at.
//
// A family is UNEXPIRED while now < expires_at and now < idle_expires_at (otherwise it reads as
// absent). It is REVOKED when state == revoked, or its captured gen != user gen, or its captured
// client gen != client_gen[client_key] (missing = 0), or its grant_key is revoked (until > now).
// "Live" below means unexpired and not revoked; an ended family (consumed) is not revoked.
//
// Every state a writer without the key could edit (token -> family link, client_key, current
// token, expiries) is checked against what the caller knows: a token request may name the
// family the token belongs to (`family_key`, from a v2 token's text, which the lookup hash
// commits to); a token linked to another family then reads as absent and nothing changes.
// Stored state failing the backend's own consistency checks (a garbled field) reads as absent
// too, with FamilyState::corrupt set so that the store counts it; peek and rotate agree.
struct FamilyIssue {
  std::string route;        // user's routing tag (Redis hash tag); same for all the user's keys.
  std::string subject_key;  // HMAC of the subject (stable across key rotation).
  std::string family_key;
  std::string token_key;   // key of the first token.
  std::string client_key;  // HMAC of client_id.
  std::string grant_key;   // HMAC of grant_id, or empty.
  std::string record;      // signed family record blob.
  Millis idle_ttl = 0;
  Millis expires_at = 0;  // absolute end of the family.
  Millis now = 0;
};

enum class TokenOutcome : std::uint8_t {
  kRotated,         // token was current and is now spent; successor (if any) is current.
  kGraceRotated,    // token was spent within the grace window: rotated again.
  kReused,          // token was spent (outside grace): family is now revoked.
  kRevoked,         // family not live because revoked (family / gen / client gen / grant).
  kNotFound,        // no such token, or family expired.
  kClientMismatch,  // client_key differs from the family's; nothing changed.
};

struct FamilyState {
  std::string family_key;
  std::string record;     // the family's signed record blob.
  Millis created_at = 0;  // (informational: also in record)
  Millis last_used_at = 0;
  Millis idle_expires_at = 0;
  Millis expires_at = 0;
  std::int64_t rotations = 0;
  bool token_spent = false;  // for peek: the presented token is spent (not current).
  bool live = false;         // for peek: the family is not revoked (see above).
  bool corrupt = false;      // the stored state failed a check: read as absent, nothing changed.
};

struct RotateRequest {
  std::string route;
  std::string token_key;
  std::string family_key;     // the family the token must belong to; empty: not checked (v1).
  std::string new_token_key;  // empty: consume (no successor; the family ends).
  std::string client_key;     // empty: no client check.
  Millis grace = 0;           // grace window; 0 = off.
  Millis now = 0;
};

struct RotateResult {
  TokenOutcome outcome = TokenOutcome::kNotFound;
  FamilyState family;  // set unless kNotFound (then only `corrupt` may be set); after the change
                       // for kRotated / kGraceRotated.
};

struct JtiEntry {
  std::string route;
  std::string subject_key;
  std::string jti_key;
  std::string client_key;
  std::string record;  // signed JtiRecord blob.
  Millis expires_at = 0;
  Millis now = 0;
};

enum class JtiOutcome : std::uint8_t { kConsumed, kAlreadyConsumed, kRevoked, kNotFound };
struct JtiResult {
  JtiOutcome outcome = JtiOutcome::kNotFound;
  std::string record;
};

class RefreshBackend {
 public:
  virtual ~RefreshBackend() = default;
  // Creates a family and its first token; adds the family to the user's index.
  // kRevoked if grant_key is revoked for the user (until > now). kAlreadyExists on key collision.
  virtual void issue(const FamilyIssue& req, Callback<Done> done) = 0;
  // Rotation state machine, in order (memory and SQLite decide it through one function,
  // decide_rotation in backends/refresh_policy.h; the Redis scripts implement it in Lua):
  //  token missing, family missing / expired (now >= expires_at or >= idle_expires_at), or
  //  family_key non-empty and != the token's family -> kNotFound (corrupt state: also kNotFound)
  //  family not live for a revocation reason -> kRevoked
  //  client_key non-empty and != family client_key -> kClientMismatch (nothing changes)
  //  token spent:
  //    family state ended (consumed) -> kReused, family revoked
  //    grace > 0, the token was spent by being presented (not superseded), now - spent_at <=
  //    grace, and its successor is the family's current token and still unused ->
  //    kGraceRotated: the current token becomes SUPERSEDED (never grace-eligible: presenting it
  //    is reuse), new_token_key becomes current and the presented token's successor (or the
  //    family ends when new_token_key is empty); update as for kRotated. spent_at stays: the
  //    window runs from the first rotation of the presented token.
  //    otherwise -> kReused: family state = revoked
  //  token current -> kRotated: token spent (spent_at = now, successor = new_token_key),
  //    new token current; last_used = now; idle_expires_at = min(now + idle_ttl, expires_at);
  //    rotations += 1. With new_token_key empty the family state becomes ended.
  virtual void rotate(const RotateRequest& req, Callback<RotateResult> done) = 0;
  // Read-only view of a token's family: kNotFound as for rotate; otherwise FamilyState with
  // token_spent and live filled in.
  // family_key as in RotateRequest. A corrupt state yields a FamilyState with only corrupt set.
  virtual void peek(const std::string& route, const std::string& token_key, const std::string& family_key,
                    Millis now, Callback<FamilyState> done) = 0;
  // Revokes the family of a token / a family by key: OK, or kNotFound if missing or expired (or,
  // for a token, linked to another family than a non-empty family_key).
  virtual void revoke_token(const std::string& route, const std::string& token_key,
                            const std::string& family_key, Millis now, Callback<Done> done) = 0;
  virtual void revoke_family(const std::string& route, const std::string& family_key, Millis now,
                             Callback<Done> done) = 0;
  // Bumps the user's generation (every family and jti issued before is revoked); drops the index.
  // Records the logout at `now` for grant_live, remembered at least until remember_until.
  virtual void revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                              Millis remember_until, Callback<Done> done) = 0;
  // Bumps client_gen[client_key] of the user; records the client's logout as revoke_subject does.
  virtual void revoke_client(const std::string& route, const std::string& subject_key,
                             const std::string& client_key, Millis now, Millis remember_until,
                             Callback<Done> done) = 0;
  // kRevoked when grant_key (non-empty) is revoked for the user (until > now), or a logout of the
  // user, or of client_key, was recorded at or after issued_at (and is still remembered); else OK.
  // Read-only, one round trip. A garbled record answers kRevoked or kDataLoss, never OK.
  virtual void grant_live(const std::string& route, const std::string& subject_key,
                          const std::string& client_key, const std::string& grant_key, Millis issued_at,
                          Millis now, Callback<Done> done) = 0;
  // Marks grant_key revoked for the user until `until` (kept at least that long).
  virtual void revoke_grant(const std::string& route, const std::string& subject_key,
                            const std::string& grant_key, Millis until, Millis now, Callback<Done> done) = 0;
  // The user's live families in state active (FamilyState with live = true), soonest expiry
  // (min of idle and absolute) first; prunes expired and revoked index entries.
  virtual void list(const std::string& route, const std::string& subject_key, Millis now,
                    Callback<std::vector<FamilyState>> done) = 0;
  // Server-minted JWT ids: store (captures user gen and client gen) / consume once.
  // consume: missing or expired -> kNotFound; generation stale -> kRevoked; already consumed ->
  // kAlreadyConsumed (record returned); else kConsumed (record returned, entry marked consumed,
  // kept until expires_at).
  virtual void store_jti(const JtiEntry& entry, Callback<Done> done) = 0;
  virtual void consume_jti(const std::string& route, const std::string& subject_key,
                           const std::string& jti_key, Millis now, Callback<JtiResult> done) = 0;
};

// ---------------------------------------------------------------------------------------------
// Sessions. A "bucket" is (route, user_type_key): all sessions of one user and type.
struct SessionWrite {
  std::string route;
  std::string bucket_key;          // HMAC of (user_id, type).
  std::string session_key;         // HMAC of the session id.
  std::string record;              // signed record with lock_version = expected_lock + 1.
  std::int64_t expected_lock = 0;  // 0 = insert.
  Millis refresh_expires_at = 0;   // the session's life (and its tombstone's, after delete).
  std::size_t max_sessions = 0;    // 0 = no cap; else evict soonest-expiring beyond it.
  Millis now = 0;
};

// A live session as a listing finds it: the session key it is stored under, and its value.
struct StoredSession {
  std::string session_key;
  std::string record;
};

class SessionBackend {
 public:
  virtual ~SessionBackend() = default;
  // The live record (refresh_expires_at > now). kNotFound otherwise (tombstones included).
  virtual void get(const std::string& route, const std::string& bucket_key, const std::string& session_key,
                   Millis now, Callback<std::string> done) = 0;
  // expected_lock == 0: insert if neither a live session nor a tombstone has the key.
  // expected_lock > 0: update if a live session has the key with lock_version == expected_lock.
  // Otherwise kConflict. On success the stored lock_version is expected_lock + 1. With a cap,
  // after an insert, the soonest-expiring sessions beyond the cap are deleted (tombstoned).
  virtual void upsert(const SessionWrite& req, Callback<Done> done) = 0;
  // Deletes a live session, leaving a tombstone until its refresh_expires_at. OK or kNotFound.
  virtual void remove(const std::string& route, const std::string& bucket_key, const std::string& session_key,
                      Millis now, Callback<Done> done) = 0;
  // Live sessions of the bucket, each with the key it is stored under (the store checks that the
  // value is the one that key names), soonest refresh expiry first.
  virtual void get_all(const std::string& route, const std::string& bucket_key, Millis now,
                       Callback<std::vector<StoredSession>> done) = 0;
  // Deletes (tombstones) every live session of the bucket; returns how many.
  virtual void remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                          Callback<std::int64_t> done) = 0;
};

// ---------------------------------------------------------------------------------------------
// Replay cache.
//
// A reservation names its entry twice: as opaque strings (`key`, `owner`), for a backend that
// keeps strings, and as the raw bytes the store built them from (`hash`, `owner_bytes`), for one
// that keeps fixed-size slots (memory). Both name the same entry; a backend uses one form and
// never converts between them (keys are opaque).
inline constexpr std::size_t kReplayHashBytes = 32;
inline constexpr std::size_t kReplayOwnerBytes = 16;
struct ReplayReservation {
  std::string key;    // the entry's key (the store builds it from `hash`).
  std::string owner;  // the owner token (the store builds it from `owner_bytes`).
  unsigned char hash[kReplayHashBytes] = {};
  unsigned char owner_bytes[kReplayOwnerBytes] = {};
};

class ReplayBackend {
 public:
  virtual ~ReplayBackend() = default;
  // Stores the entry (owned by `r`'s owner) until kept_until if no live entry: OK. kReplayed if
  // one is live. kResourceExhausted if the backend is full of live entries.
  virtual void reserve(const ReplayReservation& r, Millis kept_until, Millis now, Callback<Done> done) = 0;
  // Deletes the entry if it is live and its owner is `r`'s owner: OK. Otherwise kNotFound.
  virtual void release(const ReplayReservation& r, Millis now, Callback<Done> done) = 0;

  static constexpr std::size_t kHashBytes = kReplayHashBytes;
  static constexpr std::size_t kOwnerBytes = kReplayOwnerBytes;
  // reserve(), answered synchronously from the raw bytes, for backends that decide in this
  // process without waiting (memory): the status reserve() would pass to its callback. The store
  // then skips building strings and callbacks. std::nullopt: this backend has no synchronous
  // form and did nothing; the store calls reserve().
  virtual std::optional<Status> reserve_now(const unsigned char (&hash)[kHashBytes],
                                            const unsigned char (&owner)[kOwnerBytes], Millis kept_until,
                                            Millis now) {
    (void)hash, (void)owner, (void)kept_until, (void)now;
    return std::nullopt;
  }
};

// ---------------------------------------------------------------------------------------------
// Client tokens: a plain key -> encrypted blob store with optional expiry (0 = none).
struct KeyList {
  std::vector<std::string> keys;
  std::string next_cursor;  // empty when done.
};

class ClientTokenBackend {
 public:
  virtual ~ClientTokenBackend() = default;
  virtual void put(const std::string& key, std::string blob, Millis expires_at /*0 = never*/, Millis now,
                   Callback<Done> done) = 0;
  virtual void get(const std::string& key, Millis now, Callback<std::string> done) = 0;
  // Reads and deletes in one step. kNotFound if absent.
  virtual void take(const std::string& key, Millis now, Callback<std::string> done) = 0;
  virtual void remove(const std::string& key, Millis now, Callback<Done> done) = 0;  // or kNotFound
  virtual void exists(const std::string& key, Millis now, Callback<bool> done) = 0;
  // Live keys starting with `prefix`, in key order after `cursor` (exclusive; empty = start),
  // at most `limit`. next_cursor = last key returned when more may follow.
  virtual void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
                    Callback<KeyList> done) = 0;
};

// ---------------------------------------------------------------------------------------------
// Payloads (authstore/payloads.h). An entry: key -> {record, grant_key, consumed_at, expires_at};
// index keys (uid, user code) -> the entry's key, until the entry's expires_at; revoked grants:
// grant_key -> until. Keys are opaque; the store verifies every record it gets back against the
// key, model, grant key and index value it asked for, so a garbled pointer or field only denies.
struct PayloadPut {
  std::string key;
  std::string record;                   // encrypted record (the backend never parses it).
  std::string grant_key;                // empty: none.
  std::vector<std::string> index_keys;  // each points at `key` until expires_at.
  Millis expires_at = 0;
  Millis now = 0;
};

struct PayloadSlot {
  std::string key;  // the entry's key (for an index lookup: the key the index named).
  std::string record;
  std::string grant_key;   // as stored with the entry.
  Millis consumed_at = 0;  // 0: not consumed (consume(): before this call).
  // false (get_indexed only): the backend read the pointer alone (its target lives elsewhere,
  // e.g. another Cluster slot); only `key` is set, and the store calls get(key) next.
  bool followed = true;
  // false: the entry's grant was not checked in the same operation (Redis: the marker has its
  // own slot); the store then asks grant_revoked(grant_key) before answering.
  bool grant_checked = true;
};

class PayloadBackend {
 public:
  virtual ~PayloadBackend() = default;
  // Stores the entry (replacing any, consumed_at = 0) and points the index keys at it.
  virtual void put(const PayloadPut& req, Callback<Done> done) = 0;
  // The live entry. kNotFound if none; kRevoked if its grant_key is revoked (until > now) and
  // the backend checked it (grant_checked).
  virtual void get(const std::string& key, Millis now, Callback<PayloadSlot> done) = 0;
  // The live entry a live index key points at, as get() answers it (or a slot with followed =
  // false); kNotFound if none.
  virtual void get_indexed(const std::string& index_key, Millis now, Callback<PayloadSlot> done) = 0;
  // Live and not consumed: sets consumed_at = now and answers the slot with consumed_at 0.
  // Consumed: answers the slot with its consumed_at (nothing changes). kNotFound, kRevoked as
  // get(). With grant_checked = false a revoked entry may have been marked consumed as well.
  virtual void consume(const std::string& key, Millis now, Callback<PayloadSlot> done) = 0;
  // Deletes the entry (OK also when there is none). Its index keys may stay until they expire.
  virtual void remove(const std::string& key, Millis now, Callback<Done> done) = 0;
  // Marks grant_key revoked until `until` (never shortening a longer mark).
  virtual void revoke_grant(const std::string& grant_key, Millis until, Millis now, Callback<Done> done) = 0;
  // Whether grant_key is marked revoked (until > now). A garbled mark answers true.
  virtual void grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) = 0;
};

inline Status admin_unsupported(std::string_view what) {
  return Status(StatusCode::kFailedPrecondition,
                std::string("this backend does not report ") + std::string(what), "admin");
}

// ---------------------------------------------------------------------------------------------
// A backend: one of each. Owned by the Store; destroyed after the stores.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const std::string& name() const = 0;
  // How long blocking calls on this backend spin before sleeping, when the backend's URL decides
  // it (Redis: spin_us, which wins over Options::low_latency_spin_us); nullopt: the options decide.
  virtual std::optional<std::chrono::microseconds> wait_spin() const { return std::nullopt; }
  virtual CodeBackend& codes() = 0;
  virtual RefreshBackend& refresh() = 0;
  virtual SessionBackend& sessions() = 0;
  virtual ReplayBackend& replay() = 0;
  virtual ClientTokenBackend& client_tokens() = 0;
  virtual PayloadBackend& payloads() = 0;

  // The store marker (src/stores/marker.h): one small blob per store naming the keys that wrote
  // it, read and written by open() only. It never expires.
  // The marker as stored; kNotFound when the store has none.
  virtual void read_marker(Callback<std::string> done) = 0;
  // One atomic compare-and-set: stores `desired` when the stored marker equals `expected` (empty:
  // when there is none), then answers the marker stored afterwards: `desired`, or what another
  // process stored first. Two processes creating a marker at once thus agree on one.
  virtual void swap_marker(const std::string& expected, const std::string& desired,
                           Callback<std::string> done) = 0;
  // Up to `limit` stored records as (storage key, blob): any of codes (record or tombstone),
  // refresh families, JWT refresh ids and client tokens, expired or not. For checking a store
  // written before markers existed; empty only when it holds none (the whole store is looked
  // at: on Redis a scan of the database in steps, however many other keys it holds).
  virtual void sample_records(std::size_t limit,
                              Callback<std::vector<std::pair<std::string, std::string>>> done) = 0;

  // Operator views (authstore/admin.h), never on a request path. The defaults answer
  // kFailedPrecondition (field "admin"): the backend cannot answer that question.
  // Records stored and unexpired per store at `now`, with what counting cost.
  virtual void admin_counts(Millis now, Callback<StoreCounts> done) {
    (void)now;
    done(Result<StoreCounts>(admin_unsupported("counts")));
  }
  // Public facts about the backend (never a secret: no URL, no password).
  virtual void admin_health(Callback<std::vector<std::pair<std::string, std::string>>> done) {
    done(Result<std::vector<std::pair<std::string, std::string>>>(admin_unsupported("health")));
  }

  // Up to `limit` stored records, as sample_records gives them but without its per-kind share
  // (the walk of StoreAdmin::check_keys). Default: sample_records(limit).
  virtual void admin_records(std::size_t limit,
                             Callback<std::vector<std::pair<std::string, std::string>>> done) {
    sample_records(limit, std::move(done));
  }

  // Store::close(): called once, when no call is inside the backend and none will come again.
  // Stops the backend's threads and releases its connections, handles and memory; completes
  // whatever is still pending (Redis: kUnavailable). The destructor must work after it.
  // The migration seam (backends/migration.h); nullptr where a backend has none (memory://: a
  // store of one process, nothing to move).
  virtual migration::MigrationBackend* migration() { return nullptr; }
  virtual void close() {}
};

}  // namespace authstore::internal
