#include "redis/server_checks.h"

namespace authstore::redis {

Result<MaxmemoryPolicy> read_maxmemory_policy(const Result<Reply>& r) {
  MaxmemoryPolicy out;
  if (!r.ok()) {
    if (!r.has_value()) return r.status();  // no answer: unavailable, deadline, ...
    if (r.code() == StatusCode::kPermissionDenied && r.value().error_code() != "NOPERM") {
      return r.status();  // NOAUTH / WRONGPASS: not a CONFIG restriction
    }
    out.warning = "cannot read maxmemory-policy (" + r.status().message() +
                  "); make sure the server runs with maxmemory-policy noeviction, or evicted "
                  "tombstones and indexes can reopen replays";
    return out;
  }
  const Reply& reply = r.value();
  if (!reply.is_array() || reply.elements().size() != 2 || !reply.elements()[1].is_string()) {
    out.warning =
        "unexpected reply to CONFIG GET maxmemory-policy; make sure the server runs "
        "with maxmemory-policy noeviction";
    return out;
  }
  out.known = true;
  out.policy = reply.elements()[1].str();
  if (!out.safe()) {
    out.warning = "maxmemory-policy is " + out.policy +
                  ": Redis may evict tombstones and indexes, which can reopen replays and revive "
                  "revoked tokens; set maxmemory-policy noeviction";
  }
  return out;
}

Result<MaxmemoryPolicy> check_maxmemory_policy(Client& client, CallOptions call) {
  return read_maxmemory_policy(client.call(kMaxmemoryPolicyCommand, call));
}

}  // namespace authstore::redis
