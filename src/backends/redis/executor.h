// The executor seam: how the Redis backend's operations reach Redis.
//
// The backend (redis_backend.h and its parts) builds each store operation as ONE call: a native
// command or a Lua script with its keys and arguments. It hands the call to an executor, which
// decides where it runs and how: which server or node (standalone, Sentinel's current primary,
// the Cluster node serving the call's hash slot), over which connection, loading scripts where
// they are missing. Neither the stores nor the scripts know which executor runs.
//
// Contract of an executor (docs/redis.md, "The executor seam"):
//  * One call is one round trip in the normal case. The only extra round trips an executor may add
//    are ones that cannot have run the call (SCRIPT LOAD after NOSCRIPT; later, for Cluster, a
//    MOVED / ASK redirection).
//  * `done` runs exactly once, on an I/O thread or inline (when refused at once). It must not
//    block and must not destroy the backend.
//  * The reply is passed as the server gave it (error replies included, with the client's
//    status); the backend maps errors at its side of the seam (redis_reply::map_error).
//  * The spans of a call are valid only during execute(): an executor copies what it keeps.
//  * Thread-safe: execute() may be called from any thread, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "redis/client.h"
#include "redis/script.h"

namespace authstore::internal {

using RedisDeadline = std::chrono::steady_clock::time_point;

// One operation: a native command (`script` null, `args` the whole command, name first) or a
// script (`args` its ARGV). `keys` are the keys it touches, all in one hash slot (every key of a
// user carries the user's "{route}" tag): keys[0], when there is one, routes the call. A call
// without keys runs on the one server of a standalone / Sentinel setup, and on slot 0's master
// on a Cluster (nothing of a user is there: such calls touch no user's keys).
struct RedisCall {
  std::string_view op;                    // the operation's name, for errors and observers.
  const redis::Script* script = nullptr;  // static storage (the backend's scripts are).
  std::span<const std::string_view> keys;
  std::span<const std::string_view> args;
  // The call may change state: with wait_replicas it succeeds only once replicas acknowledged it
  // (redis::CallOptions::writes). Reads (peek, lookups, listings) set false and pay no WAIT.
  bool writes = true;
};

// What an executor saw on its way (tests and diagnostics; Cluster executor: redirections and
// retries; zeros where an executor has no such thing).
struct RedisExecutorCounters {
  std::uint64_t moved = 0;             // MOVED replies followed
  std::uint64_t ask = 0;               // ASK replies followed (ASKING + the call)
  std::uint64_t tryagain = 0;          // TRYAGAIN replies: resent after a backoff
  std::uint64_t clusterdown = 0;       // CLUSTERDOWN replies: resent after a backoff
  std::uint64_t refreshes = 0;         // slot map reads started
  std::uint64_t noscript_reloads = 0;  // NOSCRIPT: SCRIPT LOAD, then the call once more
  std::uint64_t unsent_resent = 0;     // never sent (refused, not connected): resent after a backoff
};

class RedisExecutor {
 public:
  virtual ~RedisExecutor() = default;
  // Runs `call`, answering by `deadline` at the latest (kDeadlineExceeded).
  virtual void execute(const RedisCall& call, RedisDeadline deadline, redis::ReplyCallback done) = 0;
  // The time a call is given when its caller sets no deadline (ClientOptions::command_timeout).
  virtual std::chrono::milliseconds command_timeout() const = 0;
  virtual RedisExecutorCounters counters() const { return {}; }
};

// One standalone server through authstore's client (src/redis/client.h): native commands as
// they are; scripts by EVALSHA, and on NOSCRIPT (the server restarted or flushed its scripts)
// SCRIPT LOAD then EVALSHA once more, within the same deadline.
std::unique_ptr<RedisExecutor> make_standalone_executor(std::unique_ptr<redis::Client> client);

// A Redis Cluster (cluster_executor.cc; docs/redis.md, "Cluster"): every call to the master of
// its keys' hash slot (a keyless call: to the master of slot 0).
std::unique_ptr<RedisExecutor> make_cluster_executor(redis::ClusterUrl url);
// Redis Sentinel (sentinel_executor.cc; docs/redis.md, "Sentinel"): the sentinels are asked in
// turn for the master (SENTINEL GET-MASTER-ADDR-BY-NAME), which must answer ROLE as a master; every
// call runs on one client to it. The executor follows +switch-master (a subscription to one
// sentinel at a time) and asks again after READONLY, a refused or lost connection, or a failed
// ROLE. A call is resent only when it cannot have run (refused before sending, READONLY, NOSCRIPT),
// and only within its deadline; one that may have run is answered kUnavailable.
class SentinelExecutor : public RedisExecutor {
 public:
  // What it saw, for tests and operators (cumulative over the executor's life in this process).
  struct Counters {
    std::uint64_t resolves = 0;            // rounds of asking the sentinels
    std::uint64_t master_changes = 0;      // a verified master at another address than before
    std::uint64_t switch_master_seen = 0;  // +switch-master messages naming our master
    std::uint64_t readonly_seen = 0;       // READONLY replies (the master became a replica)
    std::uint64_t resent = 0;              // calls resent because they cannot have run
    std::uint64_t lost_in_flight = 0;      // calls answered kUnavailable because they may have run
    std::uint64_t sentinels_learned = 0;   // sentinels added from SENTINEL SENTINELS (not in the URL)
  };
  virtual Counters sentinel_counters() const = 0;
};
std::unique_ptr<SentinelExecutor> make_sentinel_executor(redis::SentinelUrl url);
// The server check of the Sentinel executor's connections to the master, at every handshake and
// every ping_interval: INFO replication memory must say role:master (else kUnavailable, field
// "role": the connection fails, and the calls queued on it, never sent, go to the master found
// next), and its maxmemory_policy goes to `base` (null: none) as CONFIG GET would have answered.
std::shared_ptr<const redis::ServerCheck> sentinel_master_check(
    std::shared_ptr<const redis::ServerCheck> base);

// Redis Cluster's hash slot of a key: CRC16 of its first non-empty {tag}, else of the key.
int redis_key_slot(std::string_view key);

}  // namespace authstore::internal
