// The backend registry: which backend serves which URL scheme, and open_backend(), the scheme
// dispatch of authstore::open() (src/stores/store.cc). Nothing here names a backend: each backend
// declares its registration in its own header, and registered_backends.cc lists them, one line
// per backend (an explicit list, not static initializers: a static library's linker drops object
// files nothing refers to, and a backend would silently go missing).
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

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

// A URL split at its "://": scheme://rest. Views into the caller's URL, valid during the call.
struct BackendUrl {
  std::string_view url;     // the whole URL, e.g. "sqlite:///var/lib/a.db?busy_timeout_ms=5000"
  std::string_view scheme;  // "sqlite"
  std::string_view rest;    // "/var/lib/a.db?busy_timeout_ms=5000"
};

// Builds a backend from its URL. URL errors are kInvalidArgument, field "url".
using BackendFactory = Result<std::unique_ptr<Backend>> (*)(const BackendUrl& url,
                                                            const BackendConfig& config);

// One backend as open() knows it.
struct BackendRegistration {
  std::vector<std::string_view> schemes;  // the URL schemes it serves (static strings).
  BackendFactory make = nullptr;          // null: known, but not in this build or version (see below).
  std::string_view unavailable;           // when make is null: why (the kInvalidArgument message).
  bool ephemeral = false;                 // nothing outlives the process: open() may use a throwaway key.
};

// Every registration, in the order of registered_backends.cc. Built once; thread-safe.
std::span<const BackendRegistration> registered_backends();

// The registration serving `scheme`, or null.
const BackendRegistration* find_backend(std::string_view scheme);

// Builds the backend a URL names: kInvalidArgument (field "url") for a URL without a scheme, an
// unknown scheme or one this build does not serve; otherwise what the backend's factory answers.
Result<std::shared_ptr<Backend>> open_backend(std::string_view url, const BackendConfig& config);

}  // namespace authstore::internal
