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
  const Options* options = nullptr;  // never null; clock is set.
  std::shared_ptr<Clock> clock;      // never null.
  LogHook log;                       // may be empty.
};

// memory:// (no path or query accepted).
Result<std::unique_ptr<Backend>> make_memory_backend(const BackendConfig& config);

// sqlite:///abs/path.db or sqlite://rel/path.db, with an optional ?query. `rest` is everything
// after "sqlite://" (e.g. "/var/lib/a.db?busy_timeout_ms=5000").
Result<std::unique_ptr<Backend>> make_sqlite_backend(std::string_view rest,
                                                     const BackendConfig& config);

}  // namespace authstore::internal
