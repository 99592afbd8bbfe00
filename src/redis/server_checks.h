// Checks a Redis backend runs before trusting a server.
#pragma once

#include <string>

#include "authstore/status.h"
#include "redis/client.h"

namespace authstore::redis {

struct MaxmemoryPolicy {
  bool known = false;   // false: the server would not say (CONFIG forbidden by ACL or renamed)
  std::string policy;   // e.g. "noeviction", "allkeys-lru" (when known)
  std::string warning;  // why it is unknown, or why the policy is unsafe; empty when safe
  // Only noeviction is safe: any eviction policy can silently drop a tombstone or an index.
  bool safe() const noexcept { return known && policy == "noeviction"; }
};

// CONFIG GET maxmemory-policy. A refusal (NOPERM, unknown or renamed CONFIG) is not an error:
// the result is !known with a warning, and the caller decides (the stores' backend refuses to
// start on a known unsafe policy and warns on an unknown one). Transport failures are errors.
Result<MaxmemoryPolicy> check_maxmemory_policy(Client& client, CallOptions call = {});

}  // namespace authstore::redis
