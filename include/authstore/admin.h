// Operator views of a store: live counts, backend health, the key ring, and a walk of the stored
// records that checks them against the key ring. For tools (the `authstore` command's `stats` and
// `keys check`), not for a request path: counts and the walk may read the whole store.
//
// Additive to the frozen API (docs/api.md, "Changes since the freeze"): nothing here changes the
// other headers. A StoreAdmin opens its own Store (open() with the same URL and options, the
// store marker checked as usual), reachable through store().
//
// Ownership and lifetime: a StoreAdmin is a cheap handle like Store (copies share one store,
// released with the last copy). Thread-safety: every member is safe to call concurrently from any
// thread; calls are blocking (none of them is on a request path). Errors: the backend's errors as
// the stores report them (kUnavailable, kDeadlineExceeded, kPermissionDenied, kDataLoss, ...);
// kFailedPrecondition (field "admin") where a backend cannot answer a question (memory:// has no
// health view; it counts its own process's store). No message, value or field holds a secret or key
// material: users, sessions and tokens are stored only as keyed hashes, and only key ids,
// counts and public server facts are reported.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authstore/export.h"
#include "authstore/options.h"
#include "authstore/status.h"
#include "authstore/store.h"

namespace authstore {

// Records stored and not yet expired, per store. A consumed code (its tombstone), a revoked or
// ended refresh family and a released-but-kept reservation count until they expire: they are
// stored state. -1: not counted by this backend.
struct StoreCounts {
  std::int64_t codes = -1;
  std::int64_t refresh_families = -1;
  std::int64_t sessions = -1;  // live sessions (tombstones of deleted ones excluded)
  std::int64_t replay_reservations = -1;
  std::int64_t client_tokens = -1;
  // What counting cost, in words: "SQL COUNT(*) per table (an index range scan each)" on SQLite;
  // on Redis "SCAN MATCH <prefix>* (N round trips over K keys)": it follows the keyspace.
  std::string cost;
};

// Facts about the backend, as (name, value) pairs in a fixed order per backend. Redis:
// redis_version, role, used_memory_human, maxmemory_policy, keys_under_prefix,
// number_of_cached_scripts. SQLite: path, file_bytes, wal_bytes, schema_version, page_size,
// page_count, freelist_count, journal_mode, cache_size_kib (the page cache of the connection that
// answered; every connection of the store has one of that size). Values are never secrets (no URL, no
// password).
struct BackendHealth {
  std::string backend;  // Store::backend()
  std::vector<std::pair<std::string, std::string>> items;
};

// The key ring as ids only (never key material).
struct KeyRingInfo {
  std::vector<std::uint16_t> key_ids;  // ascending
  std::uint16_t signing_key_id = 0;    // signs new records and hashes new tokens
  std::uint16_t index_key_source = 0;  // 0: the route secret; else the key id it derives from
  bool bound_to_store = false;         // the store marker bound the ring to this store's id
};

// The result of a walk over the stored records (StoreAdmin::check_keys).
struct KeyCheckReport {
  std::int64_t records = 0;   // records read
  std::int64_t verified = 0;  // verify under the ring (signature / authenticated decryption)
  std::int64_t failed = 0;    // do not verify: they read as not found already
  // Verified records by the key id that signed them. Every id here other than
  // KeyRingInfo::signing_key_id is a key "about to be removed": removing it from the ring makes
  // that many records read as not found.
  std::map<std::uint16_t, std::int64_t> by_key;
  // The same, per key id, by kind ("code", "code_tombstone", "refresh_family", "jwt_id",
  // "client_token", "session").
  std::map<std::uint16_t, std::map<std::string, std::int64_t>> by_key_and_kind;
  // Verified records that need a key other than the signing key (the sum of by_key over them).
  std::int64_t need_retiring_keys = 0;
  bool truncated = false;  // the walk stopped at its limit: counts cover the records read
  // What was walked, in words (which stores; what the walk cost).
  std::string scope;
};

class AUTHSTORE_EXPORT StoreAdmin {
 public:
  StoreAdmin() = default;  // empty: every call answers kFailedPrecondition (field "admin").

  // Opens the store as authstore::open(url, options) does (same errors), plus the admin views.
  static Result<StoreAdmin> open(std::string_view url, const Options& options = {});

  // The store, for the ordinary store calls (a copy of the handle).
  Store store() const;

  // Live counts per store (see StoreCounts: what a count is and what it costs).
  Result<StoreCounts> counts();
  // Backend facts (see BackendHealth).
  Result<BackendHealth> health();
  // The key ring's ids (no round trip).
  KeyRingInfo key_ring() const;
  // Reads up to `limit` stored records (codes with their tombstones, refresh families, JWT ids,
  // client tokens, and on SQLite and Redis live sessions; memory: codes and client tokens) and
  // checks each under the key ring. It reads what is stored: entries expired but not yet swept
  // (SQLite, memory) are read too. On Redis the walk is a paged SCAN of the
  // prefix plus one read per record: its cost follows the keyspace. Counts, health and the walk
  // answer kFailedPrecondition (field "admin") on a Redis Cluster (a SCAN reaches one node).
  Result<KeyCheckReport> check_keys(std::size_t limit = 1'000'000);

  class Impl;  // src/stores/admin.cc

 private:
  explicit StoreAdmin(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
