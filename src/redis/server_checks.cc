#include "redis/server_checks.h"

namespace authstore::redis {

Result<MaxmemoryPolicy> check_maxmemory_policy(Client& client, CallOptions call) {
  Result<Reply> r = client.call({"CONFIG", "GET", "maxmemory-policy"}, call);
  MaxmemoryPolicy out;
  if (!r.ok()) {
    if (!r.has_value()) return r.status();  // no answer: unavailable, deadline, ...
    out.warning = "cannot read maxmemory-policy (" + r.status().message() +
                  "); make sure the server runs with maxmemory-policy noeviction, or evicted "
                  "tombstones and indexes can reopen replays";
    return out;
  }
  const Reply& reply = r.value();
  if (!reply.is_array() || reply.elements().size() != 2 || !reply.elements()[1].is_string()) {
    out.warning = "unexpected reply to CONFIG GET maxmemory-policy";
    return out;
  }
  out.known = true;
  out.policy = reply.elements()[1].str();
  if (!out.safe()) {
    out.warning = "maxmemory-policy is " + out.policy +
                  ": Redis may evict tombstones and indexes, which can reopen replays; "
                  "set maxmemory-policy noeviction";
  }
  return out;
}

}  // namespace authstore::redis
