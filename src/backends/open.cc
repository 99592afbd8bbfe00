// open_backend(): the scheme dispatch of authstore::open(), over the registry (factories.h).
#include <string>

#include "backends/factories.h"

namespace authstore::internal {

const BackendRegistration* find_backend(std::string_view scheme) {
  for (const BackendRegistration& r : registered_backends()) {
    for (std::string_view s : r.schemes) {
      if (s == scheme) return &r;
    }
  }
  return nullptr;
}

namespace {
// "memory, sqlite, redis, ...": the schemes this build serves.
std::string served_schemes() {
  std::string out;
  for (const BackendRegistration& r : registered_backends()) {
    if (r.make == nullptr) continue;
    for (std::string_view s : r.schemes) {
      if (!out.empty()) out += ", ";
      out += s;
    }
  }
  return out;
}
}  // namespace

Result<std::shared_ptr<Backend>> open_backend(std::string_view url, const BackendConfig& config) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(StatusCode::kInvalidArgument, "expected scheme://...", "url");
  }
  const BackendUrl parts{url, url.substr(0, sep), url.substr(sep + 3)};
  const BackendRegistration* reg = find_backend(parts.scheme);
  if (reg == nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  "unknown scheme '" + std::string(parts.scheme.substr(0, 32)) + "' (expected " +
                      served_schemes() + ")",
                  "url");
  }
  if (reg->make == nullptr) {
    return Status(StatusCode::kInvalidArgument, std::string(reg->unavailable), "url");
  }
  auto backend = reg->make(parts, config);
  if (!backend.ok()) return backend.status();
  return std::shared_ptr<Backend>(std::move(backend.value()));
}

}  // namespace authstore::internal
