#include "backends/redis/redis_backend.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <mutex>
#include <set>

#include "backends/redis/redis_schemes.h"
#include "core/url_query.h"
#include "redis/server_checks.h"

namespace authstore::internal {
namespace {

Status url_error(std::string message) {
  return Status(StatusCode::kInvalidArgument, "redis url: " + std::move(message), "url");
}

bool valid_prefix(std::string_view p) {
  if (p.size() > 64) return false;
  for (char c : p) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;  // notably no '{' '}': the prefix must not change any key's hash slot
  }
  return true;
}

}  // namespace

Result<std::string> split_backend_options(std::string_view url, RedisBackendOptions& out) {
  const QuerySplit split = split_at_query(url);
  if (!split.has_query) return std::string(url);
  std::string kept(split.before);
  char sep = '?';
  for (const QueryParam& p : split_query(split.query)) {
    const std::string_view name = p.name;
    const std::string_view value = p.value;
    const bool ours =
        name == "prefix" || name == "allow_eviction" || name == "legacy_user_keys" || name == "cluster";
    if (ours && !p.has_value) {
      // "?prefix" is not "?prefix=" (no prefix): a value must be written, as for the client's options.
      return url_error("option '" + std::string(name) + "' needs a value (" + std::string(name) + "=...)");
    }
    if (name == "prefix") {
      if (!valid_prefix(value)) {
        return url_error("option 'prefix' must be at most 64 characters from A-Z a-z 0-9 : . _ -");
      }
      out.prefix = std::string(value);
    } else if (name == "allow_eviction") {
      if (value != "true" && value != "false") {
        return url_error("option 'allow_eviction' must be true or false");
      }
      out.allow_eviction = value == "true";
    } else if (name == "legacy_user_keys") {
      if (value != "true" && value != "false") {
        return url_error("option 'legacy_user_keys' must be true or false");
      }
      out.legacy_user_keys = value == "true";
    } else if (name == "cluster") {
      if (value != "auto" && value != "no") {
        return url_error("option 'cluster' must be auto or no");
      }
      if (!url.starts_with("redis://") && !url.starts_with("rediss://")) {
        return url_error("option 'cluster' applies to redis:// and rediss:// URLs only");
      }
      out.cluster_auto = value == "auto";
    } else {
      kept.push_back(sep);
      kept.append(p.text);
      sep = '&';
    }
  }
  return kept;
}

RedisBackend::RedisBackend(std::unique_ptr<RedisExecutor> executor, RedisBackendOptions options, LogHook log)
    : options_(std::move(options)), log_(std::move(log)), executor_(std::move(executor)) {
  codes_ = make_redis_codes(*this);
  refresh_ = make_redis_refresh(*this);
  sessions_ = make_redis_sessions(*this);
  replay_ = make_redis_replay(*this);
  client_tokens_ = make_redis_client_tokens(*this);
  payloads_ = make_redis_payloads(*this);
  migration_ = make_redis_migration(*this);
}

RedisBackend::~RedisBackend() { executor_.reset(); }

CodeBackend& RedisBackend::codes() { return *codes_; }
RefreshBackend& RedisBackend::refresh() { return *refresh_; }
SessionBackend& RedisBackend::sessions() { return *sessions_; }
ReplayBackend& RedisBackend::replay() { return *replay_; }
ClientTokenBackend& RedisBackend::client_tokens() { return *client_tokens_; }
PayloadBackend& RedisBackend::payloads() { return *payloads_; }

namespace {
// Views of a call's strings, on the stack for the usual few (no allocation per call).
class Views {
 public:
  explicit Views(const std::vector<std::string>& v) {
    if (v.size() > small_.size()) big_.resize(v.size());
    std::string_view* out = v.size() > small_.size() ? big_.data() : small_.data();
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i];
    span_ = {out, v.size()};
  }
  std::span<const std::string_view> span() const { return span_; }

 private:
  std::array<std::string_view, 16> small_;
  std::vector<std::string_view> big_;
  std::span<const std::string_view> span_;
};
}  // namespace

namespace {
// The native commands the backend sends that never change state: they pay no durability WAIT.
// Anything not listed counts as a write (the safe side).
bool read_only_command(std::string_view name) {
  static constexpr std::string_view kReads[] = {"GET",    "GETRANGE", "HGET", "HMGET",  "HGETALL", "TYPE",
                                                "ZRANGE", "ZSCORE",   "SCAN", "EXISTS", "PTTL"};
  return std::find(std::begin(kReads), std::end(kReads), name) != std::end(kReads);
}
}  // namespace

void RedisBackend::submit(std::string_view op, const redis::Script* script,
                          const std::vector<std::string>& keys, const std::vector<std::string>& args,
                          redis::ReplyCallback done) {
  if (observer_) observer_(op, keys);
  const Views k(keys);
  const Views a(args);
  submit_call(op, script, k.span(), a.span(), std::move(done));
}

void RedisBackend::submit(std::string_view op, const redis::Script* script,
                          std::span<const std::string_view> keys, std::span<const std::string_view> args,
                          redis::ReplyCallback done) {
  if (observer_) observer_(op, std::vector<std::string>(keys.begin(), keys.end()));
  submit_call(op, script, keys, args, std::move(done));
}

void RedisBackend::submit_call(std::string_view op, const redis::Script* script,
                               std::span<const std::string_view> keys, std::span<const std::string_view> args,
                               redis::ReplyCallback done) {
  const RedisDeadline deadline = std::chrono::steady_clock::now() + executor_->command_timeout();
  RedisCall call{op, script, keys, args};
  call.writes = script != nullptr ? script->writes() : !args.empty() && !read_only_command(args[0]);
  executor_->execute(call, deadline, std::move(done));
}

namespace redis_reply {
bool to_int(const redis::Reply& r, std::int64_t& out) {
  if (r.is_integer()) {
    out = r.integer();
    return true;
  }
  if (!r.is_string()) return false;
  const std::string& s = r.str();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}
Status unexpected(std::string_view op) {
  return Status(StatusCode::kInternal, "redis backend: unexpected reply to " + std::string(op));
}
Status map_error(std::string_view op, const Result<redis::Reply>& r) {
  if (r.ok()) return Status::Ok();
  if (!r.has_value() || !r.value().is_error()) return r.status();
  const redis::Reply& e = r.value();
  const std::string_view code = e.error_code();
  const std::string text = e.str().substr(0, 160);
  auto is_one_of = [code](std::initializer_list<std::string_view> codes) {
    return std::find(codes.begin(), codes.end(), code) != codes.end();
  };
  if (is_one_of({"WRONGPASS", "NOAUTH", "NOPERM"})) {
    return Status(StatusCode::kPermissionDenied, "redis backend: " + std::string(op) + ": " + text);
  }
  if (code == "OOM") {
    return Status(StatusCode::kResourceExhausted, "redis backend: " + std::string(op) + ": " + text);
  }
  if (is_one_of({"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MOVED", "ASK",
                 "NOREPLICAS"})) {
    return Status(StatusCode::kUnavailable, "redis backend: " + std::string(op) + ": " + text);
  }
  const std::string_view m = e.str();
  const bool script_failed = m.starts_with("ERR user_script") || m.starts_with("ERR Error running script");
  const bool not_a_number = m.starts_with("ERR value is not") || m.starts_with("ERR hash value is not") ||
                            m.starts_with("ERR increment or decrement would overflow");
  if (is_one_of({"WRONGTYPE", "CORRUPT"}) || script_failed || not_a_number) {
    return Status(StatusCode::kDataLoss, "redis backend: " + std::string(op) +
                                             ": stored data is corrupt or not authstore's (" + text + ")");
  }
  return Status(StatusCode::kInternal,
                "redis backend: " + std::string(op) + ": the server refused the request (" + text + ")");
}
Status corrupt(std::string_view op, std::string_view what) {
  return Status(StatusCode::kDataLoss, "redis backend: stored data at " + std::string(op) + " is corrupt (" +
                                           std::string(what) + ")");
}
}  // namespace redis_reply

std::shared_ptr<const redis::ServerCheck> maxmemory_policy_check(bool allow_eviction, LogHook log) {
  struct Warned {
    std::mutex mu;
    std::set<std::string> said;  // each distinct warning is logged once, not every ping_interval
  };
  auto warned = std::make_shared<Warned>();
  auto check = std::make_shared<redis::ServerCheck>();
  check->command.assign(std::begin(redis::kMaxmemoryPolicyCommand), std::end(redis::kMaxmemoryPolicyCommand));
  check->verdict = [allow_eviction, log = std::move(log), warned](const Result<redis::Reply>& r) -> Status {
    auto policy = redis::read_maxmemory_policy(r);
    if (!policy.ok()) return policy.status();
    if (policy->safe()) return Status::Ok();
    if (policy->known && !allow_eviction) {
      return Status(StatusCode::kFailedPrecondition,
                    "redis backend refuses to run: " + policy->warning +
                        " (or open with allow_eviction=true to only warn)",
                    "maxmemory-policy");
    }
    std::string warning = "redis backend: " + policy->warning;
    if (policy->known) warning += " (allowed by allow_eviction=true)";
    bool first = false;
    {
      std::lock_guard lock(warned->mu);
      first = warned->said.insert(warning).second;
    }
    if (first && log) log(LogLevel::kWarning, warning);
    return Status::Ok();
  };
  return check;
}

Result<std::unique_ptr<Backend>> make_redis_backend(std::string_view url, const BackendConfig& config) {
  RedisBackendOptions options;
  // Lettuce names a Sentinel master in the fragment (redis-sentinel://h#name): kept past the query.
  const std::size_t hash = redis::is_sentinel_url(url) ? url.find('#') : std::string_view::npos;
  auto client_url = split_backend_options(url.substr(0, hash), options);
  if (client_url.ok() && hash != std::string_view::npos) client_url.value().append(url.substr(hash));
  if (!client_url.ok()) return client_url.status();
  redis::ClientOptions base;
  base.server_check = maxmemory_policy_check(options.allow_eviction, config.log);
  // Options::low_latency_spin_us, unless the URL's spin_us says otherwise (parse_url keeps base's
  // value for what the URL does not name).
  base.spin_before_block = std::chrono::microseconds(config.options->low_latency_spin_us);
  auto warn_insecure = [&config](const redis::TlsOptions& tls) {
    if (!tls.enabled || !tls.insecure_skip_verify_dangerous) return;
    if (config.options->metrics) config.options->metrics->record_security(SecurityEvent::kInsecureTls);
    if (config.log) {
      config.log(LogLevel::kWarning,
                 "redis backend: insecure_skip_tls_verify=true: the server's certificate is NOT "
                 "verified, anyone on the path can impersonate the server and read every record; "
                 "for throw-away test setups only");
    }
  };
  if (redis::is_cluster_url(client_url.value())) {
    auto cluster = redis::parse_cluster_url(client_url.value(), base);
    if (!cluster.ok()) return cluster.status();
    options.name = "redis_cluster";
    options.wait_spin = cluster->node.spin_before_block;
    if (options.legacy_user_keys.value_or(false)) {
      return url_error(
          "option 'legacy_user_keys' must be false on a Cluster: no release before the "
          "route-named generations ran on one");
    }
    options.legacy_user_keys = false;
    warn_insecure(cluster->node.tls);
    return std::unique_ptr<Backend>(std::make_unique<RedisBackend>(
        make_cluster_executor(std::move(cluster.value())), std::move(options), config.log));
  }
  if (redis::is_sentinel_url(client_url.value())) {
    auto sentinel = redis::parse_sentinel_url(client_url.value(), base);
    if (!sentinel.ok()) return sentinel.status();
    options.name = "redis_sentinel";
    options.wait_spin = sentinel->master.spin_before_block;
    warn_insecure(sentinel->master.tls);
    return std::unique_ptr<Backend>(std::make_unique<RedisBackend>(
        make_sentinel_executor(std::move(sentinel.value())), std::move(options), config.log));
  }
  auto client = redis::Client::from_url(client_url.value(), std::move(base));
  if (!client.ok()) return client.status();
  warn_insecure(client.value()->options().tls);
  options.wait_spin = client.value()->options().spin_before_block;
  if (options.cluster_auto && client.value()->options().unix_path.empty() &&
      probe_cluster(*client.value(), config.log)) {
    // A cluster node: the Cluster executor with this node as the only seed (the slot map names
    // the others); the probe's client goes.
    if (options.legacy_user_keys.value_or(false)) {
      return url_error(
          "option 'legacy_user_keys' must be false on a Cluster (this server is a cluster "
          "node): no release before the route-named generations ran on one");
    }
    options.legacy_user_keys = false;
    options.name = "redis_cluster";
    redis::ClusterUrl cluster;
    cluster.node = client.value()->options();
    cluster.seeds.emplace_back(cluster.node.host, cluster.node.port);
    client.value().reset();
    return std::unique_ptr<Backend>(std::make_unique<RedisBackend>(make_cluster_executor(std::move(cluster)),
                                                                   std::move(options), config.log));
  }
  return std::unique_ptr<Backend>(std::make_unique<RedisBackend>(
      make_standalone_executor(std::move(client.value())), std::move(options), config.log));
}

bool probe_cluster(redis::Client& client, const LogHook& log) {
  redis::CallOptions read;
  read.writes = false;
  const Result<redis::Reply> r = client.call({"INFO", "cluster"}, read);
  if (r.ok() && r->is_string()) return r->str().find("cluster_enabled:1") != std::string::npos;
  if (r.has_value() && log) {  // the server answered, with an error (an ACL without INFO, ...)
    log(LogLevel::kWarning,
        "redis backend: " + client.options().host + ":" + std::to_string(client.options().port) +
            " refused INFO cluster (" + r.status().message().substr(0, 160) +
            "): cluster=auto cannot tell whether it is a cluster node and uses it as a standalone "
            "server (open a cluster with redis+cluster://, or set cluster=no to skip the probe)");
  }
  // No answer (unreachable, credentials, a refused server check): standalone; the store's open
  // reads its marker next and fails with the same, precise, error.
  return false;
}

BackendRegistration redis_backend_registration() {
  auto make = [](const BackendUrl& url, const BackendConfig& config) {
    return make_redis_backend(url.url, config);
  };
  return {redis_schemes(), make, {}, false};
}

}  // namespace authstore::internal
