// A SQLite backend opened directly on the backend seam (backends/backend.h), with its engine
// reachable: for tests of the engine's own behaviour (group commit, its connections).
#pragma once

#include <memory>
#include <string>

#include "backends/factories.h"
#include "backends/sqlite/sqlite_backend.h"
#include "sqlite/util.h"

namespace authstore::sqlite_testing {

struct Direct {
  Options options;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::unique_ptr<internal::Backend> backend;
  internal::sqlite::Engine* engine = nullptr;
};

// `rest` is what follows "sqlite://": a path and an optional ?query. nullptr if it does not open.
inline std::unique_ptr<Direct> open_direct(const std::string& rest) {
  auto d = std::make_unique<Direct>();
  d->options = test_options(d->clock);
  internal::BackendConfig cfg{&d->options, d->clock, {}};
  auto b = internal::make_sqlite_backend(rest, cfg);
  if (!b.ok()) return nullptr;
  d->backend = std::move(b.value());
  d->engine = &static_cast<internal::sqlite::SqliteBackend&>(*d->backend).engine();
  return d;
}

}  // namespace authstore::sqlite_testing
