// The Redis backend: every primitive of backends/backend.h as ONE native command or ONE Lua script
// over authstore's Redis client. Key layout, scripts and TTL rules: docs/redis.md.
//
// URL: redis://..., rediss://... or unix://... as redis::parse_url() reads them, plus two options
// of the backend itself, removed before the client sees the URL:
//   prefix=<p>            prepended to every key (default "authstore:"); [A-Za-z0-9:._-], <= 64 bytes
//   allow_eviction=true   only warn (log) when maxmemory-policy is not noeviction (default: refuse)
//
// Every connection reads maxmemory-policy (CONFIG GET) as the last step of its handshake, before
// any command goes out on it, and again every ping_interval (default 5 s) while it is up: any
// policy but noeviction can evict a tombstone or an index and reopen a replay, so the connection
// is then dropped and every operation fails with kFailedPrecondition, field "maxmemory-policy"
// (unless allow_eviction), until a connection finds noeviction again. This covers a server
// restarted or switched (CONFIG SET) to an evicting policy, within one ping_interval. A server that
// forbids CONFIG is trusted with a warning in the log. Connections are lazy (forked workers
// connect on their own), and the check shares the first call's deadline.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "backends/factories.h"
#include "redis/client.h"

namespace authstore::internal {

struct RedisBackendOptions {
  std::string prefix = "authstore:";
  bool allow_eviction = false;
};

// Splits the backend's own options (prefix, allow_eviction) off a Redis URL. Returns the URL the
// client gets. kInvalidArgument, field "url", for a bad value.
Result<std::string> split_backend_options(std::string_view url, RedisBackendOptions& out);

// The maxmemory-policy rule as the client's per-connection server check: refuses an evicting
// policy with kFailedPrecondition (field "maxmemory-policy") unless allow_eviction, warns through
// `log` when the policy is unknown or allowed although evicting (once per distinct warning).
std::shared_ptr<const redis::ServerCheck> maxmemory_policy_check(bool allow_eviction, LogHook log);

class RedisBackend final : public Backend {
 public:
  RedisBackend(std::unique_ptr<redis::Client> client, RedisBackendOptions options, LogHook log);
  ~RedisBackend() override;

  const std::string& name() const override { return name_; }
  CodeBackend& codes() override;
  RefreshBackend& refresh() override;
  SessionBackend& sessions() override;
  ReplayBackend& replay() override;
  ClientTokenBackend& client_tokens() override;
  // The store marker (redis_marker.cc): key "P marker", no TTL.
  void read_marker(Callback<std::string> done) override;
  void swap_marker(const std::string& expected, const std::string& desired,
                   Callback<std::string> done) override;
  void sample_records(std::size_t limit,
                      Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  // Fails pending requests with kUnavailable, closes the connections, joins the I/O thread.
  void close() override { client_.reset(); }

  const std::string& prefix() const { return options_.prefix; }
  std::string key(std::string_view k) const { return options_.prefix + std::string(k); }

  // Test hook: called with an operation's name and the (prefixed) keys it declares, before each
  // command or script is sent. Set it before the first operation; not synchronized.
  using KeyObserver = std::function<void(std::string_view op, const std::vector<std::string>& keys)>;
  void set_key_observer(KeyObserver observer) { observer_ = std::move(observer); }

  // Runs `script` (EVALSHA, NOSCRIPT reload in the client).
  void eval(const redis::Script& script, std::vector<std::string> keys,
            std::vector<std::string> args, redis::ReplyCallback done);
  // Runs a native command; `keys` are the keys among `args` (for the observer).
  void command(std::string_view op, std::vector<std::string> args, std::vector<std::string> keys,
               redis::ReplyCallback done);

 private:
  std::string name_ = "redis";
  RedisBackendOptions options_;
  LogHook log_;
  KeyObserver observer_;

  std::unique_ptr<CodeBackend> codes_;
  std::unique_ptr<RefreshBackend> refresh_;
  std::unique_ptr<SessionBackend> sessions_;
  std::unique_ptr<ReplayBackend> replay_;
  std::unique_ptr<ClientTokenBackend> client_tokens_;
  // Last: destroyed first, failing what is in flight while everything above still exists.
  std::unique_ptr<redis::Client> client_;
};

// Shared by the parts: parsing replies.
namespace redis_reply {
// The integer of an integer reply or of a decimal string reply; false otherwise.
bool to_int(const redis::Reply& r, std::int64_t& out);
// kInternal "redis backend: unexpected reply to <op>".
Status unexpected(std::string_view op);
// The status of a failed call. Stored data that fails its checks is kDataLoss (which the stores
// count as a backend error), never the caller's kInvalidArgument: a key of the wrong type
// (WRONGTYPE), a script's own CORRUPT error reply, or a script that failed at run time.
Status failure(const Result<redis::Reply>& r);
// kDataLoss "redis backend: stored data at <op> is corrupt (<what>)".
Status corrupt(std::string_view op, std::string_view what);
// A number as a script argument (decimal).
inline std::string num(std::int64_t v) { return std::to_string(v); }
}  // namespace redis_reply

// Defines `const redis::Script& fn()`: the embedded script lua::id, built once.
#define AUTHSTORE_REDIS_SCRIPT(fn, id)             \
  const redis::Script& fn() {                      \
    static const redis::Script s(#id, 1, lua::id); \
    return s;                                      \
  }

std::unique_ptr<CodeBackend> make_redis_codes(RedisBackend& b);
std::unique_ptr<ReplayBackend> make_redis_replay(RedisBackend& b);
std::unique_ptr<ClientTokenBackend> make_redis_client_tokens(RedisBackend& b);
std::unique_ptr<RefreshBackend> make_redis_refresh(RedisBackend& b);
std::unique_ptr<SessionBackend> make_redis_sessions(RedisBackend& b);

}  // namespace authstore::internal
