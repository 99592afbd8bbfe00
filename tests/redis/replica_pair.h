// A real master + replica pair of the test's own (two PrivateServers on free loopback ports,
// stopped by pid, pass or fail): for the durability tests (WAIT, failover by promotion).
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.h"
#include "redis/redis_test_env.h"

namespace authstore::redis::testing {

class ReplicaPair {
 public:
  ReplicaPair() : master_(unique("master")), replica_(unique("replica")) {}
  ~ReplicaPair() { replica_.continue_signal(); }  // never leave a frozen server behind

  // Starts the master, then the replica of it; true once the replica's link is up and the master
  // counts it.
  bool start() {
    if (!master_.start(0, {"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"})) return false;
    if (!replica_.start(0, {"--replicaof", "127.0.0.1", std::to_string(master_.port())})) return false;
    return wait_until([&] { return linked(); }, std::chrono::milliseconds(5000));
  }

  PrivateServer& master() { return master_; }
  PrivateServer& replica() { return replica_; }

  // One command to a server of the pair (a fresh client each time: servers come and go).
  static Result<Reply> call(int port, std::vector<std::string_view> args,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    auto c = Client::from_url("redis://127.0.0.1:" + std::to_string(port));
    if (!c.ok()) return c.status();
    CallOptions o;
    o.timeout = timeout;
    return (*c)->call(std::span<const std::string_view>(args), o);
  }

  // Promotes the replica (REPLICAOF NO ONE), as Sentinel or an operator would after the master
  // died; true once it says it is a master.
  bool promote_replica() {
    if (!call(replica_.port(), {"REPLICAOF", "NO", "ONE"}).ok()) return false;
    return wait_until(
        [&] {
          auto r = call(replica_.port(), {"ROLE"});
          return r.ok() && r->is_array() && !r->elements().empty() && r->elements()[0].is_string() &&
                 r->elements()[0].str() == "master";
        },
        std::chrono::milliseconds(3000));
  }

 private:
  static std::string unique(const char* role) {
    static std::atomic<int> counter{0};
    return std::string("pair-") + role + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter.fetch_add(1));
  }
  bool linked() {
    auto m = call(master_.port(), {"INFO", "replication"});
    auto r = call(replica_.port(), {"INFO", "replication"});
    return m.ok() && r.ok() && m->str().find("connected_slaves:1") != std::string::npos &&
           m->str().find("state=online") != std::string::npos &&
           r->str().find("master_link_status:up") != std::string::npos;
  }

  PrivateServer master_;
  PrivateServer replica_;
};

}  // namespace authstore::redis::testing
