// open_backend(): the scheme dispatch of authstore::open() (src/stores/store.cc).
#include <string>

#include "backends/factories.h"

namespace authstore {

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
