// Opening a store: authstore::open(url, options) gives a Store with its stores (codes, refresh,
// sessions, replay, client tokens, payloads).
//
// URLs (docs/api.md, docs/redis.md):
//   memory://                              in-process memory (one process only)
//   sqlite:///absolute/path.db  sqlite://relative/path.db
//   redis://[user:password@]host[:port][/db]  rediss://...  unix:///path/redis.sock
//   redis+cluster://h1:p1,h2:p2  rediss+cluster://...          Redis Cluster
//   redis+sentinel://s1,s2/master_name[/db]  rediss+sentinel://...  redis-sentinel://...  Sentinel
// An unknown scheme or malformed URL is kInvalidArgument (field "url").
//
// Thread-safety: a Store and its stores are safe for concurrent use from any thread without
// external synchronization. A Store is a cheap handle: copies share one underlying store, which
// lives until the last copy is destroyed (its background threads stop then) or close() is called.
// Fork: a Store opened before fork() may be used in the child; backends with connections or
// handles (SQLite, Redis) notice the new pid and reconnect lazily; memory is per process.
//
// Keys: open() refuses (kFailedPrecondition, field "keys", naming the key ids the store expects)
// a key ring that did not write the store, or whose index key differs from the store's; see
// Options::start_new_store and docs/security.md ("Store marker"). This reads the store once, so
// open() needs a reachable backend (Redis included).
//
// An empty handle (default-constructed, moved from, or value_or(Store()) of a failed open()) never
// crashes: every call through it answers kFailedPrecondition (field "store"), metrics() is an
// empty registry and backend() is "".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authstore/client_tokens.h"
#include "authstore/codes.h"
#include "authstore/export.h"
#include "authstore/metrics.h"
#include "authstore/options.h"
#include "authstore/payloads.h"
#include "authstore/refresh.h"
#include "authstore/replay.h"
#include "authstore/sessions.h"
#include "authstore/status.h"

namespace authstore {
class AUTHSTORE_EXPORT Store {
 public:
  Store() = default;  // an empty handle; valid() is false; every call answers kFailedPrecondition.

  // True for a handle that holds a store (also after close(): the handle still holds it).
  bool valid() const noexcept { return state_ != nullptr; }
  // The stores. References stay valid while this handle (or a copy) lives; calls through
  // them after close() answer kFailedPrecondition (field "store").
  CodeStore& codes();
  RefreshTokenStore& refresh();
  SessionStore& sessions();
  ReplayCache& replay();
  ClientTokenStore& client_tokens();
  PayloadStore& payloads();
  Metrics& metrics();                  // still readable after close().
  const std::string& backend() const;  // "memory", "sqlite", "redis", ...

  // Closes the store for every copy of this handle and every store reached through it:
  //  * from the moment close() starts, every new call (blocking or _async, on any thread)
  //    answers kFailedPrecondition, field "store" ("the store is closed");
  //  * it waits for the calls already inside the store: on memory and SQLite that is the whole
  //    call (their callbacks run before the call returns); on Redis a request sent and not yet
  //    answered is completed with kUnavailable ("client closed"): it MAY have run;
  //  * then it stops the backend's threads (memory sweeper, Redis I/O thread) and releases its
  //    connections, SQLite handles and memory tables; the process may then delete or move the
  //    files. metrics() and backend() still answer.
  // Idempotent, and safe to call from any thread concurrently with calls and other close()s:
  // every close() made outside a store callback returns once the store is released.
  // Inside an _async callback close() cannot wait (it would wait for the call running it, or, on
  // Redis, for its own thread): it closes the store to new calls at once and returns without
  // waiting; the release then happens at the next close() made outside a callback, or when the
  // last handle goes. Never deadlocks. No-op on an empty handle.
  void close();

  class State;  // the shared state (src/); opaque to users and bindings.

 private:
  explicit Store(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// Opens the store a URL names: loads the keys, builds the backend, checks the store marker.
AUTHSTORE_EXPORT Result<Store> open(std::string_view url, const Options& options = {});

}  // namespace authstore
