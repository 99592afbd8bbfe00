// Checks a Redis backend runs before trusting a server.
#pragma once

#include <string>
#include <string_view>

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

// The command that reads the policy, for a ServerCheck (options.h) or a call.
inline constexpr std::string_view kMaxmemoryPolicyCommand[] = {"CONFIG", "GET", "maxmemory-policy"};

// Reads the answer to kMaxmemoryPolicyCommand. A refusal of CONFIG (NOPERM, unknown or renamed
// command) or an odd reply is not an error: the result is !known with a warning, and the caller
// decides (the stores' backend refuses to run on a known unsafe policy and warns on an unknown
// one). Errors: the transport's failure (no reply), or kPermissionDenied when the server wants
// credentials (NOAUTH, WRONGPASS: not a CONFIG restriction).
Result<MaxmemoryPolicy> read_maxmemory_policy(const Result<Reply>& r);

// CONFIG GET maxmemory-policy on `client`, read by read_maxmemory_policy(). Blocking.
Result<MaxmemoryPolicy> check_maxmemory_policy(Client& client, CallOptions call = {});

}  // namespace authstore::redis
