#include "backends/redis/redis_backend.h"

#include <charconv>

namespace authstore::internal {
namespace {

Status url_error(std::string message) {
  return Status(StatusCode::kInvalidArgument, "redis url: " + std::move(message), "url");
}

bool valid_prefix(std::string_view p) {
  if (p.size() > 64) return false;
  for (char c : p) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '.' || c == '_' || c == '-';
    if (!ok) return false;  // notably no '{' '}': the prefix must not change any key's hash slot
  }
  return true;
}

}  // namespace

Result<std::string> split_backend_options(std::string_view url, RedisBackendOptions& out) {
  const std::size_t q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  std::string kept(url.substr(0, q));
  std::string_view query = url.substr(q + 1);
  char sep = '?';
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
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
    } else if (!pair.empty()) {
      kept.push_back(sep);
      kept.append(pair);
      sep = '&';
    }
  }
  return kept;
}

RedisBackend::RedisBackend(std::unique_ptr<redis::Client> client, RedisBackendOptions options,
                           LogHook log)
    : options_(std::move(options)), log_(std::move(log)), client_(std::move(client)) {
  codes_ = make_redis_codes(*this);
  refresh_ = make_redis_refresh(*this);
  sessions_ = make_redis_sessions(*this);
  replay_ = make_redis_replay(*this);
  client_tokens_ = make_redis_client_tokens(*this);
}

RedisBackend::~RedisBackend() { client_.reset(); }

CodeBackend& RedisBackend::codes() { return *codes_; }
RefreshBackend& RedisBackend::refresh() { return *refresh_; }
SessionBackend& RedisBackend::sessions() { return *sessions_; }
ReplayBackend& RedisBackend::replay() { return *replay_; }
ClientTokenBackend& RedisBackend::client_tokens() { return *client_tokens_; }

void RedisBackend::when_ready(std::function<void(Status)> then) {
  {
    std::unique_lock lock(ready_mu_);
    if (!ready_) {
      waiting_.push_back(std::move(then));
      if (checking_) return;
      checking_ = true;
      lock.unlock();
      client_->async_call({"CONFIG", "GET", "maxmemory-policy"},
                          [this](Result<redis::Reply> r) { finish_check(std::move(r)); });
      return;
    }
  }
  then(Status::Ok());
}

void RedisBackend::finish_check(Result<redis::Reply> r) {
  Status status = Status::Ok();
  std::string warning;
  if (!r.ok() && !r.has_value()) {
    status = r.status();  // no answer (unavailable, deadline, AUTH refused): check again next time
  } else if (!r.ok()) {
    if (r.status().code() == StatusCode::kPermissionDenied &&
        r.value().error_code() != "NOPERM") {
      status = r.status();  // NOAUTH / WRONGPASS: not a CONFIG restriction
    } else {
      warning = "redis backend: cannot read maxmemory-policy (" + r.status().message() +
                "); make sure the server runs with maxmemory-policy noeviction, or evicted "
                "tombstones and indexes can reopen replays";
    }
  } else {
    const redis::Reply& reply = r.value();
    if (!reply.is_array() || reply.elements().size() != 2 || !reply.elements()[1].is_string()) {
      warning = "redis backend: unexpected reply to CONFIG GET maxmemory-policy; make sure the "
                "server runs with maxmemory-policy noeviction";
    } else if (const std::string& policy = reply.elements()[1].str(); policy != "noeviction") {
      const std::string why = "maxmemory-policy is " + policy +
                              ": Redis may evict tombstones and indexes, which can reopen replays "
                              "and revive revoked tokens; set maxmemory-policy noeviction";
      if (options_.allow_eviction) {
        warning = "redis backend: " + why + " (allowed by allow_eviction=true)";
      } else {
        status = Status(StatusCode::kFailedPrecondition,
                        "redis backend refuses to run: " + why + " (or open with allow_eviction=true "
                        "to only warn)",
                        "maxmemory-policy");
      }
    }
  }
  if (!warning.empty() && log_) log_(LogLevel::kWarning, warning);
  std::vector<std::function<void(Status)>> waiting;
  {
    std::lock_guard lock(ready_mu_);
    checking_ = false;
    ready_ = status.ok();
    waiting.swap(waiting_);
  }
  for (auto& w : waiting) w(status);
}

void RedisBackend::eval(const redis::Script& script, std::vector<std::string> keys,
                        std::vector<std::string> args, redis::ReplyCallback done) {
  if (observer_) observer_(script.name(), keys);
  when_ready([this, &script, keys = std::move(keys), args = std::move(args),
              done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(Result<redis::Reply>(std::move(st)));
    std::vector<std::string_view> k(keys.begin(), keys.end());
    std::vector<std::string_view> a(args.begin(), args.end());
    client_->async_eval(script, k, a, std::move(done));
  });
}

void RedisBackend::command(std::string_view op, std::vector<std::string> args,
                           std::vector<std::string> keys, redis::ReplyCallback done) {
  if (observer_) observer_(op, keys);
  when_ready([this, args = std::move(args), done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(Result<redis::Reply>(std::move(st)));
    std::vector<std::string_view> a(args.begin(), args.end());
    client_->async_call(a, std::move(done));
  });
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
}  // namespace redis_reply

Result<std::unique_ptr<Backend>> make_redis_backend(std::string_view url, const BackendConfig& config) {
  RedisBackendOptions options;
  auto client_url = split_backend_options(url, options);
  if (!client_url.ok()) return client_url.status();
  auto client = redis::Client::from_url(client_url.value());
  if (!client.ok()) return client.status();
  return std::unique_ptr<Backend>(
      std::make_unique<RedisBackend>(std::move(client.value()), std::move(options), config.log));
}

}  // namespace authstore::internal
