// Options of a store: secrets, clock, metrics, logging, and each store's limits.
// Plain structs; every default is an in-class initializer with a comment.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/metrics.h"
#include "authstore/status.h"

namespace authstore {

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarning, kError };
AUTHSTORE_EXPORT std::string_view to_string(LogLevel level) noexcept;

// A logging hook. Called from any thread; must be thread-safe. Messages never contain secrets.
using LogHook = std::function<void(LogLevel level, std::string_view message)>;

// One secret of the key ring. Sub-keys (record MAC, lookup hash, encryption) are derived from
// `secret` with HKDF-SHA256, one label each.
struct KeyEntry {
  std::uint16_t id = 0;  // 1..65535; carried in every token and record the key produced.
  std::string secret;    // >= 32 bytes of key material (raw bytes, not text).
};

// Where the keys come from. The first of these that is set wins:
//   1. keys (+ route_secret)            explicit key ring
//   2. key_file                         a key file (see docs/security.md for its format)
//   3. environment AUTHSTORE_SECRET     one secret (>= 32 characters), key id 1
//   4. environment AUTHSTORE_KEY_FILE   a key file path
// With none of them, open() fails with kFailedPrecondition, except for "memory://" with
// development_mode = true, which uses a random throwaway key and logs a warning saying so.
// An environment variable that is set but empty is an error (kInvalidArgument), never a reason
// to fall back to the next source.
//
// A key file is refused (kFailedPrecondition, field "key_file") like ssh refuses a private key
// when it is a symlink, not a regular file, larger than 64 KiB, owned by another user (root
// excepted), or readable or writable by group or others; allow_insecure_key_file (or the
// environment variable AUTHSTORE_ALLOW_INSECURE_KEY_FILE=1) keeps only the type and size checks.
// Secrets that look weak (all zero, or printable ASCII like a password) are logged as a warning
// when loaded; their derived keys never change.
struct KeyOptions {
  std::vector<KeyEntry> keys;        // the ring; empty = not set here.
  std::uint16_t current_key_id = 0;  // key for new tokens and records; 0 = the highest id.
  // Secret of the routing/index key (>= 32 bytes). It must never change for the lifetime of the
  // stored data: it places every record of a user in one Redis Cluster slot. Empty = derived
  // from the key with the lowest id.
  std::string route_secret;
  std::string key_file;                  // path of a key file; empty = not set here.
  bool development_mode = false;         // allow a throwaway random key for memory:// only.
  bool allow_insecure_key_file = false;  // accept a group/other-readable, foreign or linked file.
};

struct CodeOptions {
  std::int64_t default_ttl_ms = 600'000;  // lifetime of a code when the grant gives none (600 s).
  std::int64_t max_ttl_ms = 600'000;      // a grant asking for more is an invalid argument.
  bool allow_plain_pkce = false;          // accept code_challenge_method "plain" (RFC 7636 4.2).
  bool require_pkce = false;              // refuse to issue a code without a PKCE challenge.
};

struct RefreshOptions {
  std::int64_t default_idle_ttl_ms = 14LL * 24 * 3600 * 1000;  // 14 days without use ends a family.
  std::int64_t default_lifetime_ms = 90LL * 24 * 3600 * 1000;  // absolute family lifetime: 90 days.
  std::int64_t max_lifetime_ms = 365LL * 24 * 3600 * 1000;     // longest lifetime accepted: 1 year.
  // A rotated token presented again within this window (and before its successor was used)
  // rotates again instead of counting as reuse. 0 = off (every reuse revokes the family).
  std::int64_t grace_window_ms = 0;
  std::int64_t max_grace_window_ms = 60'000;  // bound on grace_window_ms.
  std::size_t max_metadata_bytes = 4096;      // size limit of a family's metadata JSON.
  // The longest lifetime of an access token checked with RefreshTokenStore::grant_live: a logout
  // (revoke_subject, revoke_client) is remembered at least this long, and grant_live refuses a
  // credential issued earlier than now minus this. 1 ms .. max_lifetime_ms.
  std::int64_t access_token_max_ttl_ms = 3600LL * 1000;  // 1 hour.
};

struct SessionOptions {
  // At most this many live sessions per (user, type); an upsert beyond it evicts the session that
  // expires first. 0 = no cap.
  std::size_t max_sessions_per_user = 0;
  std::size_t max_extra_bytes = 16384;  // size limit of a session's extra_payload JSON.
};

struct ReplayOptions {
  std::int64_t leeway_ms = 60'000;               // clock skew added to a JWT's exp.
  std::int64_t min_ttl_ms = 1'000;               // a reservation lasts at least this long.
  std::int64_t max_ttl_ms = 24LL * 3600 * 1000;  // an exp further than this away is refused.
  // Memory backend: most reservations held. The capacity is split evenly among the lock shards
  // (each gets memory_capacity / shards); a reservation is refused (kResourceExhausted) when its
  // own shard is full of unexpired entries, so a large cache refuses from about 95 % full.
  std::size_t memory_capacity = 4'000'000;
  // Memory backend: most lock shards (a power of 2). Fewer are used so that every shard has at
  // least 1024 reservations of capacity: a cache of up to 2047 is one shard, exactly bounded.
  std::size_t memory_shards = 1024;
};

struct ClientTokenOptions {
  std::int64_t pkce_ttl_ms = 600'000;                     // PKCE values live 600 s unless told.
  std::int64_t default_ttl_ms = 30LL * 24 * 3600 * 1000;  // generic records without expiry: 30 days.
  std::size_t max_record_bytes = 65536;                   // size limit of one stored record.
};

struct PayloadOptions {
  std::int64_t max_ttl_ms = 30LL * 24 * 3600 * 1000;  // longest payload life (and grant revocation).
  std::size_t max_payload_bytes = 256 * 1024;         // size limit of one payload.
};

struct Options {
  KeyOptions keys;
  std::shared_ptr<Clock> clock;      // null = SystemClock::instance().
  std::shared_ptr<Metrics> metrics;  // null = a new registry owned by the store.
  LogHook log;                       // null = no logging.
  CodeOptions codes;
  RefreshOptions refresh;
  SessionOptions sessions;
  ReplayOptions replay;
  ClientTokenOptions client_tokens;
  PayloadOptions payloads;
  // Memory backend: how often the owned sweeper thread removes expired entries.
  std::int64_t memory_sweep_interval_ms = 1'000;
  // The store marker (docs/security.md "Store marker"): every store records which keys wrote it,
  // and open() refuses (kFailedPrecondition, naming the key ids it expects) a key ring that
  // cannot verify that marker, or whose index key differs from the one that wrote the store.
  // Set start_new_store = true only for the one open() that deliberately starts a new store over
  // data whose keys are lost: the marker is then replaced (with a logged warning) and the old
  // records read as not found until they expire. Leaving it set disables the wrong-key check.
  // A store with no marker at all gets one without this flag: at once when it holds no records,
  // else after a sample of its records verified under the ring (stores written before markers).
  bool start_new_store = false;
  // The low-latency mode of blocking calls (docs/performance.md, "One request in flight"): a
  // blocking call (one without _async) spins up to this many microseconds on its answer before
  // sleeping; on Redis the client's I/O thread also busy-polls its sockets this long after its
  // last event, when it may run on 3 CPUs or more. (Memory and SQLite answer before the call's _async form
  // returns: no spin.) It saves the thread wake-ups that dominate one request in flight on a VM, at the price
  // of a busy core: each waiting caller, and the I/O thread, burn CPU while they spin (a thread whose CPU
  // affinity allows one CPU only does not spin: it would starve what it waits for). 0 = off (the default).
  // 0..1000, else open() fails with kInvalidArgument, field "low_latency_spin_us". A Redis URL's spin_us=N
  // wins over this field when the URL names it (spin_us=0 turns the mode off whatever the code set): the
  // deployment decides.
  std::int64_t low_latency_spin_us = 0;
};

// Creates a new key file at `path` with mode 0600 (fails with kAlreadyExists if it exists, and
// never follows a symlink): one random 32-byte key (id 1) and a random route secret. Used by
// the CLI's first run.
AUTHSTORE_EXPORT Status create_key_file(const std::string& path);

}  // namespace authstore
