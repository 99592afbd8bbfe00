// The URL schemes of the Redis backend. Header-only: registered_backends.cc names them also in a
// build without the Redis backend (AUTHSTORE_WITH_REDIS=OFF), where they are refused by name.
#pragma once

#include <string_view>
#include <vector>

namespace authstore::internal {

inline std::vector<std::string_view> redis_schemes() {
  return {"redis",          "rediss",          "unix",           "redis+cluster",  "rediss+cluster",
          "redis+sentinel", "rediss+sentinel", "redis-sentinel", "rediss-sentinel"};
}

}  // namespace authstore::internal
