// The Redis backend: every primitive of backends/backend.h as ONE native command or ONE Lua script
// over authstore's Redis client. Key layout, scripts and TTL rules: docs/redis.md.
//
// URL: redis://..., rediss://..., unix://... (redis::parse_url()), redis+cluster:// and
// redis+sentinel:// forms (docs/redis.md), plus four options of the backend itself, removed
// before the client sees the URL (cluster= and legacy_user_keys=: see split_backend_options):
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
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "backends/factories.h"
#include "backends/redis/executor.h"
#include "redis/client.h"

namespace authstore::internal {

struct RedisBackendOptions {
  std::string name = "redis";  // Backend::name(): "redis_cluster" on a Cluster
  std::string prefix = "authstore:";
  bool allow_eviction = false;
  // Also keep the per-user generations and revoked grants of releases before the route-named ones
  // ("ru:", "rg:"; docs/redis.md, "Generations and revoked grants"), so that processes of those
  // releases sharing the server see this one's revocations and the other way round. URL option
  // legacy_user_keys=true|false; unset: true, except on a Cluster (no earlier release ran there).
  std::optional<bool> legacy_user_keys;
  bool legacy() const { return legacy_user_keys.value_or(true); }
  // URL option cluster=auto|no (redis:// and rediss:// only; default auto): whether opening
  // probes the server with INFO cluster and, on a cluster node (cluster_enabled:1), routes through
  // the Cluster executor with that node as the seed, as redis-py, Lettuce and ioredis do.
  bool cluster_auto = true;
  // The client's spin_before_block (URL spin_us, else Options::low_latency_spin_us): the store's
  // blocking calls spin as long (Backend::wait_spin()).
  std::chrono::microseconds wait_spin{0};
};

// Splits the backend's own options (prefix, allow_eviction, legacy_user_keys, cluster) off a Redis URL.
// Returns the URL the client gets. kInvalidArgument, field "url", for a bad value.
Result<std::string> split_backend_options(std::string_view url, RedisBackendOptions& out);

// cluster=auto: INFO cluster on `client` (one round trip; connecting first; at most the client's
// command_timeout on a server that does not answer). True when it says cluster_enabled:1. A server
// that answers with an error (an ACL refusing INFO) is used as a standalone one, with a warning
// through `log`; one that does not answer too (the store's open then fails reading its marker).
bool probe_cluster(redis::Client& client, const LogHook& log);

// The maxmemory-policy rule as the client's per-connection server check: refuses an evicting
// policy with kFailedPrecondition (field "maxmemory-policy") unless allow_eviction, warns through
// `log` when the policy is unknown or allowed although evicting (once per distinct warning).
std::shared_ptr<const redis::ServerCheck> maxmemory_policy_check(bool allow_eviction, LogHook log);

// Shared by the parts: parsing replies and mapping errors.
namespace redis_reply {
// The status of a failed call, as the backend reports it: the one mapping of Redis errors, applied
// at the executor seam (RedisBackend::eval / command) to every reply before a part sees it.
//   not an error reply     the client's status (kUnavailable, kDeadlineExceeded, ...)
//   WRONGPASS NOAUTH NOPERM  kPermissionDenied;  OOM  kResourceExhausted
//   LOADING BUSY MASTERDOWN TRYAGAIN CLUSTERDOWN READONLY MOVED ASK NOREPLICAS
//                                        kUnavailable (retry later; NOREPLICAS: the server's
//                                        min-replicas-to-write refused the write before running it)
//   WRONGTYPE, a script's CORRUPT reply, a script that failed at run time (a garbled field),
//   a number that is not one            kDataLoss: stored data is corrupt or not authstore's
//   any other error reply                kInternal: the backend sent something the server refused
// Never kInvalidArgument: nothing the caller passed reaches Redis unchecked. kDataLoss and
// kInternal are counted by the stores as backend errors.
Status map_error(std::string_view op, const Result<redis::Reply>& r);
}  // namespace redis_reply

class RedisBackend final : public Backend {
 public:
  RedisBackend(std::unique_ptr<RedisExecutor> executor, RedisBackendOptions options, LogHook log);
  ~RedisBackend() override;

  const std::string& name() const override { return options_.name; }
  std::optional<std::chrono::microseconds> wait_spin() const override { return options_.wait_spin; }
  CodeBackend& codes() override;
  RefreshBackend& refresh() override;
  SessionBackend& sessions() override;
  ReplayBackend& replay() override;
  ClientTokenBackend& client_tokens() override;
  PayloadBackend& payloads() override;
  // The store marker (redis_marker.cc): key "P marker", no TTL.
  void read_marker(Callback<std::string> done) override;
  void swap_marker(const std::string& expected, const std::string& desired,
                   Callback<std::string> done) override;
  void sample_records(std::size_t limit,
                      Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  // Operator views (redis_admin.cc): a paged SCAN of the prefix (cost follows the keyspace), one
  // ZCOUNT per session bucket; INFO. Refused on a Cluster (a SCAN reaches one node only).
  void admin_counts(Millis now, Callback<StoreCounts> done) override;
  void admin_health(Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  // The migration seam (redis_migration.cc; docs/redis.md, "Migration"): export by SCAN (on a
  // Cluster, of every master in turn), import one script or SET per row, no fence.
  migration::MigrationBackend* migration() override { return migration_.get(); }
  // Fails pending requests with kUnavailable, closes the connections, joins the I/O thread.
  void close() override { executor_.reset(); }  // the executor owns the client

  // The executor (tests read its counters()).
  const RedisExecutor& executor() const { return *executor_; }
  const std::string& prefix() const { return options_.prefix; }
  const RedisBackendOptions& options() const { return options_; }
  std::string key(std::string_view k) const {
    std::string out;
    out.reserve(options_.prefix.size() + k.size());
    out.append(options_.prefix).append(k);
    return out;
  }

  // Test hook: called with an operation's name and the (prefixed) keys it declares, before each
  // command or script is sent. Set it before the first operation; not synchronized.
  using KeyObserver = std::function<void(std::string_view op, const std::vector<std::string>& keys)>;
  void set_key_observer(KeyObserver observer) { observer_ = std::move(observer); }

  // Runs `script` with `keys` and `args` (ARGV) through the executor. `on_reply(Result<Reply>)`
  // runs once, with the reply or with the status map_error() gives a failure.
  template <class OnReply>
  void eval(const redis::Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            OnReply on_reply) {
    submit(script.name(), &script, keys, args, mapped(script.name(), std::move(on_reply)));
  }
  // Runs a native command (`args`, name first); `keys` are the keys among `args`. As eval().
  // The views need to live only until command() returns (the command is encoded before it
  // returns): the hot paths pass their strings without copying them into vectors.
  template <class OnReply>
  void command(std::string_view op, std::initializer_list<std::string_view> args,
               std::initializer_list<std::string_view> keys, OnReply on_reply) {
    submit(op, nullptr, {keys.begin(), keys.size()}, {args.begin(), args.size()},
           mapped(op, std::move(on_reply)));
  }
  // As command(), for a command built in a vector.
  template <class OnReply>
  void command_list(std::string_view op, const std::vector<std::string>& args,
                    const std::vector<std::string>& keys, OnReply on_reply) {
    submit(op, nullptr, keys, args, mapped(op, std::move(on_reply)));
  }
  // As command(), for the parts that fall back to an earlier key layout when a native command
  // meets a key of another type: `on_reply(Result<Reply>, bool wrongtype)` gets wrongtype = true
  // (and a failed Result) when the server answered WRONGTYPE; every other failure mapped as above.
  template <class OnReply>
  void command_or_wrongtype(std::string_view op, std::initializer_list<std::string_view> args,
                            std::initializer_list<std::string_view> keys, OnReply on_reply) {
    submit(op, nullptr, {keys.begin(), keys.size()}, {args.begin(), args.size()},
           [op, on_reply = std::move(on_reply)](Result<redis::Reply> r) mutable {
             if (r.ok()) return on_reply(std::move(r), false);
             const bool wrongtype =
                 r.has_value() && r.value().is_error() && r.value().error_code() == "WRONGTYPE";
             on_reply(Result<redis::Reply>(redis_reply::map_error(op, r)), wrongtype);
           });
  }

 private:
  // The reply callback the executor gets: on_reply with failures mapped. One std::function, as
  // before the seam: the part's closure already needs a heap block, this one only grows it.
  template <class OnReply>
  static redis::ReplyCallback mapped(std::string_view op, OnReply on_reply) {
    return [op, on_reply = std::move(on_reply)](Result<redis::Reply> r) mutable {
      if (r.ok()) return on_reply(std::move(r));
      on_reply(Result<redis::Reply>(redis_reply::map_error(op, r)));
    };
  }
  void submit(std::string_view op, const redis::Script* script, const std::vector<std::string>& keys,
              const std::vector<std::string>& args, redis::ReplyCallback done);
  void submit(std::string_view op, const redis::Script* script, std::span<const std::string_view> keys,
              std::span<const std::string_view> args, redis::ReplyCallback done);
  void submit_call(std::string_view op, const redis::Script* script, std::span<const std::string_view> keys,
                   std::span<const std::string_view> args, redis::ReplyCallback done);

  RedisBackendOptions options_;
  LogHook log_;
  KeyObserver observer_;

  std::unique_ptr<CodeBackend> codes_;
  std::unique_ptr<RefreshBackend> refresh_;
  std::unique_ptr<SessionBackend> sessions_;
  std::unique_ptr<ReplayBackend> replay_;
  std::unique_ptr<ClientTokenBackend> client_tokens_;
  std::unique_ptr<PayloadBackend> payloads_;
  std::unique_ptr<migration::MigrationBackend> migration_;
  // Last: destroyed first, failing what is in flight while everything above still exists.
  std::unique_ptr<RedisExecutor> executor_;
};

namespace redis_reply {
// The integer of an integer reply or of a decimal string reply; false otherwise.
bool to_int(const redis::Reply& r, std::int64_t& out);
// kInternal "redis backend: unexpected reply to <op>".
Status unexpected(std::string_view op);
// kDataLoss "redis backend: stored data at <op> is corrupt (<what>)".
Status corrupt(std::string_view op, std::string_view what);
// A number as a script argument (decimal).
inline std::string num(std::int64_t v) { return std::to_string(v); }
}  // namespace redis_reply

// Defines `const redis::Script& fn()`: the embedded script lua::id (version 1), built once.
#define AUTHSTORE_REDIS_SCRIPT(fn, id) AUTHSTORE_REDIS_SCRIPT_V(fn, id, 1)
#define AUTHSTORE_REDIS_SCRIPT_V(fn, id, version)        \
  const redis::Script& fn() {                            \
    static const redis::Script s(#id, version, lua::id); \
    return s;                                            \
  }
// The same for a script that writes nothing a failover could lose (a lookup, a listing that at
// most prunes expired index members): it pays no durability WAIT (docs/redis.md).
#define AUTHSTORE_REDIS_READ_SCRIPT_V(fn, id, version)          \
  const redis::Script& fn() {                                   \
    static const redis::Script s(#id, version, lua::id, false); \
    return s;                                                   \
  }

// redis://, rediss://, unix://, the Cluster and Sentinel schemes (the options: above, and
// redis::parse_url() / parse_cluster_url() / parse_sentinel_url()).
Result<std::unique_ptr<Backend>> make_redis_backend(std::string_view url, const BackendConfig& config);
// Its entry in the registry (registered_backends.cc).
BackendRegistration redis_backend_registration();

std::unique_ptr<CodeBackend> make_redis_codes(RedisBackend& b);
std::unique_ptr<ReplayBackend> make_redis_replay(RedisBackend& b);
std::unique_ptr<ClientTokenBackend> make_redis_client_tokens(RedisBackend& b);
std::unique_ptr<RefreshBackend> make_redis_refresh(RedisBackend& b);
std::unique_ptr<SessionBackend> make_redis_sessions(RedisBackend& b);
std::unique_ptr<PayloadBackend> make_redis_payloads(RedisBackend& b);
std::unique_ptr<migration::MigrationBackend> make_redis_migration(RedisBackend& b);

}  // namespace authstore::internal
