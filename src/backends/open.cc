// authstore::open(): parse the URL, load the keys, build the backend, assemble the stores.
#include <string>

#include "authstore/store.h"
#include "backends/factories.h"
#include "core/keyring.h"
#include "stores/store_state.h"

namespace authstore {

Result<Store> open(std::string_view url, const Options& options) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(StatusCode::kInvalidArgument,
                  "expected scheme://... (memory://, sqlite:///path.db, redis://host:port)", "url");
  }
  const std::string_view scheme = url.substr(0, sep);

  auto ctx = std::make_shared<internal::StoreContext>();
  ctx->options = options;
  ctx->clock = options.clock ? options.clock : SystemClock::instance();
  ctx->metrics = options.metrics ? options.metrics : std::make_shared<Metrics>();
  ctx->log = options.log;
  if (options.refresh.grace_window_ms < 0 ||
      options.refresh.grace_window_ms > options.refresh.max_grace_window_ms) {
    return Status(StatusCode::kInvalidArgument,
                  "must be 0..max_grace_window_ms (" + std::to_string(options.refresh.max_grace_window_ms) + ")",
                  "refresh.grace_window_ms");
  }
  if (options.replay.memory_shards == 0 ||
      (options.replay.memory_shards & (options.replay.memory_shards - 1)) != 0) {
    return Status(StatusCode::kInvalidArgument, "must be a power of two", "replay.memory_shards");
  }

  const bool is_memory = scheme == "memory";
  bool throwaway = false;
  auto ring = internal::KeyRing::load(options.keys, is_memory, &throwaway);
  if (!ring.ok()) return ring.status();
  ctx->ring = std::move(ring.value());
  if (throwaway && ctx->log) {
    ctx->log(LogLevel::kWarning,
             "memory:// in development mode: using a random throwaway key; nothing survives this process");
  }

  ctx->options.metrics = ctx->metrics;  // so a backend can count what it sees at open
  internal::BackendConfig config{&ctx->options, ctx->clock, ctx->log};
  auto backend = internal::open_backend(url, config);
  if (!backend.ok()) return backend.status();
  return Store(internal::assemble(ctx, std::move(backend.value())));
}

namespace internal {

Result<std::shared_ptr<Backend>> open_backend(std::string_view url, const BackendConfig& config) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(StatusCode::kInvalidArgument, "expected scheme://...", "url");
  }
  const std::string_view scheme = url.substr(0, sep);
  const std::string_view rest = url.substr(sep + 3);
  Result<std::unique_ptr<Backend>> backend = Status(StatusCode::kInternal, "unset");
  if (scheme == "memory") {
    if (!rest.empty()) {
      return Status(StatusCode::kInvalidArgument, "memory:// takes no host, path or query", "url");
    }
    backend = make_memory_backend(config);
  } else if (scheme == "sqlite") {
#ifdef AUTHSTORE_HAVE_SQLITE
    backend = make_sqlite_backend(rest, config);
#else
    return Status(StatusCode::kInvalidArgument, "this build has no SQLite backend", "url");
#endif
  } else if (scheme == "redis" || scheme == "rediss" || scheme == "unix") {
    backend = make_redis_backend(url, config);
  } else if (scheme == "redis+sentinel" || scheme == "redis+cluster") {
    return Status(StatusCode::kInvalidArgument,
                  "Redis Sentinel and Cluster backends are not available in this version of authstore", "url");
  } else {
    return Status(StatusCode::kInvalidArgument,
                  "unknown scheme '" + std::string(scheme.substr(0, 32)) +
                      "' (expected memory, sqlite, redis, rediss)",
                  "url");
  }
  if (!backend.ok()) return backend.status();
  return std::shared_ptr<Backend>(std::move(backend.value()));
}

}  // namespace internal

}  // namespace authstore
