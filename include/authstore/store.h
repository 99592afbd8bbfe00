// Opening a store: authstore::open(url, options) gives a Store with its five stores.
//
// URLs:
//   memory://                              in-process memory (one process only)
//   sqlite:///absolute/path.db  sqlite://relative/path.db      (issue: SQLite backend)
//   redis://[user:password@]host[:port][/db]  rediss://...     (issue: Redis backend)
// An unknown scheme or malformed URL is kInvalidArgument (field "url").
//
// Thread-safety: a Store and its stores are safe for concurrent use from any thread without
// external synchronization. A Store is a cheap handle: copies share one underlying store, which
// lives until the last copy is destroyed (its background threads stop then).
// Fork: a Store opened before fork() may be used in the child; backends with connections or
// handles (SQLite, Redis) notice the new pid and reconnect lazily; memory is per process.
//
// Keys: open() refuses (kFailedPrecondition, field "keys", naming the key ids the store expects)
// a key ring that did not write the store, or whose index key differs from the store's; see
// Options::start_new_store and docs/security.md ("Store marker"). This reads the store once, so
// open() needs a reachable backend (Redis included).
//
// An empty handle (default-constructed, moved from, or the value of a failed open()) never
// crashes: every call through it answers kFailedPrecondition (field "store"), metrics() is an
// empty registry and backend() is "".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authstore/client_tokens.h"
#include "authstore/codes.h"
#include "authstore/metrics.h"
#include "authstore/options.h"
#include "authstore/refresh.h"
#include "authstore/replay.h"
#include "authstore/sessions.h"
#include "authstore/status.h"

namespace authstore {
namespace internal { struct StoreState; }

class Store {
 public:
  Store() = default;  // an empty handle; valid() is false; every call answers kFailedPrecondition.

  bool valid() const noexcept { return state_ != nullptr; }
  CodeStore& codes();
  RefreshTokenStore& refresh();
  SessionStore& sessions();
  ReplayCache& replay();
  ClientTokenStore& client_tokens();
  Metrics& metrics();
  const std::string& backend() const;  // "memory", "sqlite", "redis", ...

  explicit Store(std::shared_ptr<internal::StoreState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<internal::StoreState> state_;
};

// Opens the store a URL names: loads the keys, builds the backend, checks the store marker.
Result<Store> open(std::string_view url, const Options& options = {});

}  // namespace authstore
