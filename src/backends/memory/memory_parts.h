// The memory backend's per-store parts. Each method takes its shard's lock, decides, releases
// the lock, then calls `done` (never under a lock: a callback may call into the store again).
#pragma once

#include <tsl/robin_map.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"
#include "backends/memory/sharded.h"
#include "backends/memory/table_allocator.h"

namespace authstore::internal {

// A map of expiring entries that remembers the earliest expiry it may hold, so that a sweep
// skips it while nothing can have expired (a scan of millions of live entries every second
// would take a core's share from the callers, under the shard's lock).
template <class Map>
struct ExpiringMap {
  static constexpr Millis kNever = INT64_MAX;
  Map map;
  Millis next_expiry = kNever;  // no entry expires before this (a lower bound)

  void noted(Millis expires_at) { next_expiry = std::min(next_expiry, expires_at); }
  // Erases the entries with until_of(value) <= now; none when nothing can have expired.
  template <class UntilOf>
  void sweep(Millis now, UntilOf until_of) {
    if (next_expiry > now) return;
    Millis next = kNever;
    for (auto it = map.begin(); it != map.end();) {
      const Millis until = until_of(it->second);
      if (until <= now) {
        it = map.erase(it);
      } else {
        next = std::min(next, until);
        ++it;
      }
    }
    next_expiry = next;
  }
};

class MemoryCodes final : public CodeBackend {
 public:
  MemoryCodes() : shards_(64) {}
  void insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
              Millis now, Callback<Done> done) override;
  void peek(const std::string& key, Millis now, Callback<CodeSlot> done) override;
  void consume(const std::string& key, Millis now, Callback<CodeSlot> done) override;
  void sweep(Millis now);
  // Entries that are stored and unexpired at `now` (StoreAdmin::counts); locks each shard in turn.
  std::int64_t count(Millis now);
  // Appends up to `limit` (key, record or tombstone) pairs to `out` (Backend::sample_records).
  void sample(std::size_t limit, std::vector<std::pair<std::string, std::string>>& out);

 private:
  struct Entry {
    std::string record;
    std::string tombstone;
    bool consumed = false;
    Millis expires_at = 0;
  };
  // Open addressing with stored hashes: one cache miss per lookup instead of three.
  Sharded<ExpiringMap<tsl::robin_map<std::string, Entry, std::hash<std::string>, std::equal_to<>,
                                     std::allocator<std::pair<std::string, Entry>>, true>>>
      shards_;
};

class MemoryRefresh final : public RefreshBackend {
 public:
  MemoryRefresh() : shards_(64) {}
  void issue(const FamilyIssue& req, Callback<Done> done) override;
  void rotate(const RotateRequest& req, Callback<RotateResult> done) override;
  void peek(const std::string& route, const std::string& token_key, const std::string& family_key, Millis now,
            Callback<FamilyState> done) override;
  void revoke_token(const std::string& route, const std::string& token_key, const std::string& family_key,
                    Millis now, Callback<Done> done) override;
  void revoke_family(const std::string& route, const std::string& family_key, Millis now,
                     Callback<Done> done) override;
  void revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                      Millis remember_until, Callback<Done> done) override;
  void revoke_client(const std::string& route, const std::string& subject_key, const std::string& client_key,
                     Millis now, Millis remember_until, Callback<Done> done) override;
  void grant_live(const std::string& route, const std::string& subject_key, const std::string& client_key,
                  const std::string& grant_key, Millis issued_at, Millis now, Callback<Done> done) override;
  void revoke_grant(const std::string& route, const std::string& subject_key, const std::string& grant_key,
                    Millis until, Millis now, Callback<Done> done) override;
  void list(const std::string& route, const std::string& subject_key, Millis now,
            Callback<std::vector<FamilyState>> done) override;
  void store_jti(const JtiEntry& entry, Callback<Done> done) override;
  void consume_jti(const std::string& route, const std::string& subject_key, const std::string& jti_key,
                   Millis now, Callback<JtiResult> done) override;
  void sweep(Millis now);
  // Entries that are stored and unexpired at `now` (StoreAdmin::counts); locks each shard in turn.
  std::int64_t count(Millis now);
  // Entries held, expired or not: families + tokens + jtis + users (tests: what a sweep removed).
  std::size_t held();

  enum class FamilyStatus : std::uint8_t { kActive, kRevoked, kEnded };
  struct User {
    std::int64_t gen = 0;
    std::unordered_map<std::string, std::int64_t> client_gen;
    std::unordered_map<std::string, Millis> grant_revoked;
    std::unordered_map<std::string, Millis> families;              // family key -> expires_at (the index)
    std::optional<Millis> logged_out_at;                           // the latest revoke_subject (grant_live)
    std::unordered_map<std::string, Millis> client_logged_out_at;  // client key -> latest revoke_client
    Millis keep_until = 0;  // latest expiry of anything that depends on this user's state.
  };
  struct Family {
    std::string record;
    std::string subject_key;
    std::string client_key;
    std::string grant_key;
    std::int64_t gen = 0;
    std::int64_t client_gen = 0;
    FamilyStatus status = FamilyStatus::kActive;
    std::string current;
    Millis created_at = 0;
    Millis last_used_at = 0;
    Millis idle_ttl = 0;
    Millis idle_expires_at = 0;
    Millis expires_at = 0;
    std::int64_t rotations = 0;
  };
  struct Token {
    std::string family_key;
    bool spent = false;
    bool superseded = false;  // spent by a grace rotation of its predecessor, never presented.
    Millis spent_at = 0;
    std::string successor;
    Millis expires_at = 0;
  };
  struct Jti {
    std::string record;
    std::string subject_key;
    std::string client_key;
    std::int64_t gen = 0;
    std::int64_t client_gen = 0;
    bool consumed = false;
    Millis expires_at = 0;
  };
  struct State {
    std::unordered_map<std::string, User> users;  // by subject_key
    std::unordered_map<std::string, Family> families;
    std::unordered_map<std::string, Token> tokens;
    std::unordered_map<std::string, Jti> jtis;
    // Nothing here expires (or becomes removable) before this: a lower bound, so that a sweep
    // skips the shard while nothing can have expired (as ExpiringMap does for the other tables).
    Millis next_expiry = INT64_MAX;
    void noted(Millis at) { next_expiry = std::min(next_expiry, at); }
  };
  using FamilyIndex = std::unordered_map<std::string, Millis>;

 private:
  Sharded<State> shards_;
  // Indexes dropped by revoke_subject, freed by the next sweep rather than by the caller: logging
  // out a user with 10^4 families costs what logging out one with 10 does (Redis: UNLINK).
  std::mutex dropped_mu_;
  std::vector<FamilyIndex> dropped_;
};

class MemorySessions final : public SessionBackend {
 public:
  MemorySessions() : shards_(64) {}
  void get(const std::string& route, const std::string& bucket_key, const std::string& session_key,
           Millis now, Callback<std::string> done) override;
  void upsert(const SessionWrite& req, Callback<Done> done) override;
  void remove(const std::string& route, const std::string& bucket_key, const std::string& session_key,
              Millis now, Callback<Done> done) override;
  void get_all(const std::string& route, const std::string& bucket_key, Millis now,
               Callback<std::vector<StoredSession>> done) override;
  void remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                  Callback<std::int64_t> done) override;
  void sweep(Millis now);
  // Entries that are stored and unexpired at `now` (StoreAdmin::counts); locks each shard in turn.
  std::int64_t count(Millis now);
  // Sessions and tombstones held, expired or not (tests: what a sweep removed).
  std::size_t held();

 private:
  struct Entry {
    std::string record;
    std::int64_t lock = 0;
    Millis refresh_expires_at = 0;
  };
  struct Bucket {
    std::unordered_map<std::string, Entry> live;
    std::unordered_map<std::string, Millis> tombstones;  // session key -> until
  };
  // Lowers next_expiry_ to `at` (a session or tombstone that goes at `at`).
  void note_expiry(Millis at);
  Sharded<std::unordered_map<std::string, Bucket>> shards_;
  // Nothing (session or tombstone) goes before this: a lower bound, so that the sweeper skips the
  // table while nothing can have expired instead of walking millions of live sessions every
  // second under their shards' locks. Every entry's time is one an upsert gave (a tombstone keeps
  // its session's), and every upsert notes its time.
  std::atomic<Millis> next_expiry_{INT64_MAX};
};

// Reservations as fixed-size slots keyed by the raw 32-byte index hash: no allocation per entry,
// one cache line per slot. It reads only the raw forms of a reservation (hash, owner_bytes), never
// the store's key strings.
class MemoryReplay final : public ReplayBackend {
 public:
  MemoryReplay(std::size_t capacity, std::size_t shards);
  void reserve(const ReplayReservation& r, Millis kept_until, Millis now, Callback<Done> done) override;
  void release(const ReplayReservation& r, Millis now, Callback<Done> done) override;
  std::optional<Status> reserve_now(const unsigned char (&hash)[kHashBytes],
                                    const unsigned char (&owner)[kOwnerBytes], Millis kept_until,
                                    Millis now) override;
  void sweep(Millis now);
  // Entries that are stored and unexpired at `now` (StoreAdmin::counts); locks each shard in turn.
  std::int64_t count(Millis now);

 private:
  struct Id {
    std::array<unsigned char, kHashBytes> bytes;
    friend bool operator==(const Id&, const Id&) = default;
  };
  struct IdHash {  // the hash is a keyed MAC: its bytes are already uniform.
    std::size_t operator()(const Id& id) const noexcept {
      std::uint64_t h;
      std::memcpy(&h, id.bytes.data() + 8, sizeof h);  // bytes 0-7 pick the shard
      return static_cast<std::size_t>(h);
    }
  };
  struct Entry {
    std::array<unsigned char, kOwnerBytes> owner;
    Millis until = 0;
  };
  // A slot is the pair plus robin_map's 8 bytes of probe distance: one 64-byte cache line.
  static_assert(sizeof(std::pair<Id, Entry>) == 56);
  struct Table
      : ExpiringMap<
            tsl::robin_map<Id, Entry, IdHash, std::equal_to<Id>, TableAllocator<std::pair<Id, Entry>>>> {
    Table() { map.max_load_factor(0.8f); }
  };

  Sharded<Table>::Shard& shard_of(const Id& id);

  std::size_t per_shard_;
  Sharded<Table> shards_;
};

class MemoryClientTokens final : public ClientTokenBackend {
 public:
  void put(const std::string& key, std::string blob, Millis expires_at, Millis now,
           Callback<Done> done) override;
  void get(const std::string& key, Millis now, Callback<std::string> done) override;
  void take(const std::string& key, Millis now, Callback<std::string> done) override;
  void remove(const std::string& key, Millis now, Callback<Done> done) override;
  void exists(const std::string& key, Millis now, Callback<bool> done) override;
  void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
            Callback<KeyList> done) override;
  void sweep(Millis now);
  // Entries that are stored and unexpired at `now` (StoreAdmin::counts); locks each shard in turn.
  std::int64_t count(Millis now);
  void sample(std::size_t limit, std::vector<std::pair<std::string, std::string>>& out);

 private:
  struct Entry {
    std::string blob;
    Millis expires_at = 0;  // 0 = never
    bool live(Millis now) const { return expires_at == 0 || expires_at > now; }
  };
  // Inserts or replaces `key` (mu_ held).
  void put_locked(const std::string& key, Entry e);
  // Erases the entry at `it` from both indexes (mu_ held).
  void erase_locked(std::unordered_map<std::string, Entry>::iterator it);

  std::mutex mu_;
  // Point reads and writes by hash (their cost does not grow with the store); list() pages in
  // key order through `order_`, views of the map's keys (a node's key never moves: stable across
  // rehashes, removed from `order_` before the node goes).
  std::unordered_map<std::string, Entry> entries_;
  std::set<std::string_view> order_;
  // Nothing expires before this (a lower bound): the sweeper skips the table until then.
  Millis next_expiry_ = INT64_MAX;
};

}  // namespace authstore::internal
