// Backend factories, called by authstore::open() (src/backends/open.cc).
#pragma once

#include <memory>
#include <string_view>

#include "authstore/options.h"
#include "authstore/status.h"
#include "backends/backend.h"

namespace authstore::internal {

// What every factory receives: the resolved options (clock and log set).
struct BackendConfig {
  // Valid only during the factory call: a backend copies what it keeps.
  const Options* options = nullptr;  // never null.
  std::shared_ptr<Clock> clock;      // never null.
  LogHook log;                       // may be empty.
};

// Builds the backend a URL names (the scheme dispatch of authstore::open()).
Result<std::shared_ptr<Backend>> open_backend(std::string_view url, const BackendConfig& config);

// memory:// (no path or query accepted).
Result<std::unique_ptr<Backend>> make_memory_backend(const BackendConfig& config);

// sqlite:///abs/path.db or sqlite://rel/path.db, with an optional ?query. `rest` is everything
// after "sqlite://" (e.g. "/var/lib/a.db?busy_timeout_ms=5000").
Result<std::unique_ptr<Backend>> make_sqlite_backend(std::string_view rest,
                                                     const BackendConfig& config);

// redis://, rediss://, unix:// (src/backends/redis/redis_backend.h lists the options).
Result<std::unique_ptr<Backend>> make_redis_backend(std::string_view url, const BackendConfig& config);

}  // namespace authstore::internal
