// Helpers of the Cluster failover tests (cluster_failover_test.cc): the failover fixture's
// cluster (its nodes, roles, killing and restarting them by pid), a Store on it with its
// executor's counters, and a bounded load that remembers every call (its hash slot, its time, its
// status) and what was acknowledged.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "authstore/authstore.h"
#include "backends/redis/executor.h"
#include "backends/redis/redis_backend.h"
#include "redis/client.h"
#include "stores/store_state.h"

namespace authstore::testing::failover {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using internal::RedisExecutorCounters;

inline constexpr auto kTimeout = 1000ms;  // every call's deadline (the URL's timeout)
// What a call may take beyond its deadline: the executor answers at the deadline; this is the
// scheduling of two loaded cores, not a retry.
inline constexpr auto kDeadlineSlack = 300ms;

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// One command to one node, on a fresh client (nodes die and come back).
inline Result<redis::Reply> node_call(int port, std::vector<std::string_view> args,
                                      std::chrono::milliseconds timeout = 2000ms) {
  auto c = redis::Client::from_url("redis://127.0.0.1:" + std::to_string(port));
  if (!c.ok()) return c.status();
  redis::CallOptions o;
  o.timeout = timeout;
  return (*c)->call(std::span<const std::string_view>(args), o);
}

inline std::string text_of(const Result<redis::Reply>& r) {
  return r.ok() && r->is_string() ? r->str() : std::string();
}

template <class Pred>
inline bool wait_for(Pred done, std::chrono::milliseconds limit, std::chrono::milliseconds step = 20ms) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

struct Node {
  std::string id;
  int port = 0;
  bool master = false;
  bool failed = false;
  std::string master_id;                   // of a replica
  std::vector<std::pair<int, int>> slots;  // of a master
  bool serves(int slot) const {
    return std::any_of(slots.begin(), slots.end(),
                       [slot](const auto& r) { return r.first <= slot && slot <= r.second; });
  }
};

// The fixture's cluster: its nodes (by port), their roles, and killing / restarting them.
class FailoverCluster {
 public:
  FailoverCluster() {
    dir_ = env("AUTHSTORE_REDIS_FAILOVER_DIR");
    script_ = env("AUTHSTORE_REDIS_CLUSTER_SCRIPT");
    std::ifstream in(dir_ + "/cluster.env");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("REDIS_CLUSTER_PORTS=", 0) == 0) {
        std::string list = line.substr(20);
        list.erase(std::remove(list.begin(), list.end(), '"'), list.end());
        std::istringstream ports(list);
        for (int p = 0; ports >> p;) ports_.push_back(p);
      }
    }
  }
  bool present() const { return !dir_.empty() && ports_.size() == 6 && !script_.empty(); }

  std::string url(const std::string& options) const {
    std::string seeds;
    for (int p : ports_) seeds += (seeds.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
    return "redis+cluster://" + seeds + "?timeout=" + std::to_string(kTimeout.count()) + "ms" + options;
  }

  // CLUSTER NODES as one live node sees it.
  std::vector<Node> nodes() const {
    for (int p : ports_) {
      auto r = node_call(p, {"CLUSTER", "NODES"}, 500ms);
      if (!r.ok()) continue;
      std::vector<Node> out;
      std::istringstream lines(text_of(r));
      for (std::string line; std::getline(lines, line);) {
        std::istringstream f(line);
        std::string id, addr, flags, master, ping, pong, epoch, link;
        f >> id >> addr >> flags >> master >> ping >> pong >> epoch >> link;
        Node n;
        n.id = id;
        n.port = std::atoi(addr.substr(addr.find(':') + 1).c_str());
        n.master = flags.find("master") != std::string::npos;
        n.failed = flags.find("fail") != std::string::npos;
        n.master_id = master;
        for (std::string range; f >> range;) {
          if (range.empty() || range[0] == '[') continue;  // a slot being migrated
          const auto dash = range.find('-');
          const int lo = std::atoi(range.substr(0, dash).c_str());
          const int hi = dash == std::string::npos ? lo : std::atoi(range.substr(dash + 1).c_str());
          n.slots.emplace_back(lo, hi);
        }
        out.push_back(n);
      }
      return out;
    }
    return {};
  }

  static const Node* find(const std::vector<Node>& nodes, int port) {
    for (const Node& n : nodes) {
      if (n.port == port) return &n;
    }
    return nullptr;
  }
  static const Node* replica_of(const std::vector<Node>& nodes, const Node& master) {
    for (const Node& n : nodes) {
      if (!n.master && n.master_id == master.id) return &n;
    }
    return nullptr;
  }

  // A master serving slots and its replica's port (0: none).
  struct Shard {
    Node master;
    int heir_port = 0;
  };
  // The shard of the i-th master by port (i modulo their number), as the cluster sees it now.
  Shard shard(std::size_t i) const {
    const auto all = nodes();
    std::vector<const Node*> masters;
    for (const Node& n : all) {
      if (n.master && !n.slots.empty()) masters.push_back(&n);
    }
    if (masters.empty()) return {};
    std::sort(masters.begin(), masters.end(), [](const Node* a, const Node* b) { return a->port < b->port; });
    Shard out{*masters[i % masters.size()], 0};
    if (const Node* heir = replica_of(all, out.master)) out.heir_port = heir->port;
    return out;
  }

  // Every node answers cluster_state:ok, three masters hold all slots and each has a replica
  // whose link is up: the cluster can take the next failover.
  bool healthy() const {
    for (int p : ports_) {
      if (text_of(node_call(p, {"CLUSTER", "INFO"}, 500ms)).find("cluster_state:ok") == std::string::npos) {
        return false;
      }
    }
    const auto all = nodes();
    int masters = 0;
    for (const Node& n : all) {
      if (n.failed) return false;
      if (!n.master) {
        if (text_of(node_call(n.port, {"INFO", "replication"}, 500ms)).find("master_link_status:up") ==
            std::string::npos) {
          return false;
        }
        continue;
      }
      if (n.slots.empty()) continue;
      ++masters;
      if (replica_of(all, n) == nullptr) return false;
    }
    return masters == 3;
  }
  bool wait_healthy(std::chrono::milliseconds limit = 15s) const {
    return wait_for([&] { return healthy(); }, limit, 50ms);
  }

  // SIGKILL by the pid in the node's pidfile (a redis-server of this fixture, never by name).
  bool kill(int port) const {
    std::ifstream in(dir_ + "/node-" + std::to_string(port) + ".pid");
    int pid = 0;
    in >> pid;
    if (pid <= 0) return false;
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    comm >> name;
    if (name.rfind("redis-server", 0) != 0) return false;
    return ::kill(pid, SIGKILL) == 0;
  }
  bool restart(int port) const {
    const std::string cmd = script_ + " restart " + dir_ + " " + std::to_string(port) + " >/dev/null";
    return std::system(cmd.c_str()) == 0;
  }
  bool is_master(int port) const {
    auto r = node_call(port, {"ROLE"}, 300ms);
    return r.ok() && r->is_array() && !r->elements().empty() && r->elements()[0].is_string() &&
           r->elements()[0].str() == "master";
  }

 private:
  std::string dir_;
  std::string script_;
  std::vector<int> ports_;
};

// The hash slot the calling thread's last store operation went to (the backend's key observer
// runs on the caller's thread, before the call is sent).
inline thread_local int t_last_slot = -1;

// A Store on the failover cluster, with its executor's counters at hand.
struct ClusterStore {
  Store store;
  internal::RedisBackend* backend = nullptr;

  static ClusterStore open_on(const FailoverCluster& cluster, const std::string& options = "") {
    static std::atomic<int> counter{0};
    Options o;
    o.keys.keys.push_back({1, std::string(32, 'f')});
    const std::string prefix =
        "&prefix=fo" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ":";
    auto state = internal::open_state(cluster.url(prefix + options), o);
    EXPECT_TRUE(state.ok()) << state.status().to_string();
    ClusterStore s;
    if (!state.ok()) return s;
    s.backend = dynamic_cast<internal::RedisBackend*>(state.value()->backend.get());
    EXPECT_NE(s.backend, nullptr);
    if (s.backend != nullptr) {
      s.backend->set_key_observer([](std::string_view, const std::vector<std::string>& keys) {
        t_last_slot = keys.empty() ? -1 : internal::redis_key_slot(keys[0]);
      });
    }
    s.store = internal::make_store(std::move(state.value()));
    return s;
  }
  RedisExecutorCounters counters() const { return backend->executor().counters(); }
};

// One store call as the load saw it.
struct Call {
  Clock::time_point start, end;
  int slot = -1;
  std::string what;
  Status status;
};

// Bounded load: `threads` threads, each in turn over its users: issue a code, consume it (and,
// with `refresh`, issue a refresh token and rotate it). Remembers every call, and what was
// acknowledged (consumed codes, current refresh tokens) to check later that none was lost.
class Load {
 public:
  Load(Store& store, std::vector<std::string> users, int threads, bool refresh)
      : store_(store), users_(std::move(users)), threads_(threads), refresh_(refresh) {}
  ~Load() { stop(); }

  void start() {
    stop_ = false;
    for (int t = 0; t < threads_; ++t) workers_.emplace_back([this, t] { run(t); });
  }
  void stop() {
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  const std::vector<Call>& calls() const { return calls_; }
  const std::vector<std::string>& consumed_codes() const { return consumed_; }
  const std::vector<std::string>& refresh_tokens() const { return tokens_; }

 private:
  void run(int t) {
    std::vector<Call> calls;
    std::vector<std::string> consumed;
    std::vector<std::string> tokens;
    std::size_t i = static_cast<std::size_t>(t);
    // Bounded in count too: a test that forgets stop() still ends.
    for (int n = 0; n < 20000 && !stop_.load(); ++n, i += static_cast<std::size_t>(threads_)) {
      const std::string& user = users_[i % users_.size()];
      auto record = [&](const char* what, const Status& s, Clock::time_point start) {
        calls.push_back(Call{start, Clock::now(), t_last_slot, what, s});
      };
      CodeGrant g;
      g.client_id = "client";
      g.subject = user;
      g.redirect_uri = "https://app.example/cb";
      auto start = Clock::now();
      auto issued = store_.codes().issue(g);
      record("code issue", issued.status(), start);
      if (issued.ok()) {
        start = Clock::now();
        auto c = store_.codes().consume(issued->code);
        record("code consume", c.status(), start);
        if (c.ok()) consumed.push_back(issued->code);
      }
      if (!refresh_) continue;
      RefreshGrant rg;
      rg.subject = user;
      rg.client_id = "client";
      start = Clock::now();
      auto rt = store_.refresh().issue(rg);
      record("refresh issue", rt.status(), start);
      if (!rt.ok()) continue;
      start = Clock::now();
      auto next = store_.refresh().rotate(rt->token, "client");
      record("refresh rotate", next.status(), start);
      tokens.push_back(next.ok() ? next->token : rt->token);
    }
    std::lock_guard lock(mu_);
    calls_.insert(calls_.end(), calls.begin(), calls.end());
    consumed_.insert(consumed_.end(), consumed.begin(), consumed.end());
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  }

  Store& store_;
  std::vector<std::string> users_;
  int threads_;
  bool refresh_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<std::string> consumed_;
  std::vector<std::string> tokens_;
};

inline std::vector<std::string> users(int n, const std::string& tag) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("user-" + tag + "-" + std::to_string(i));
  return out;
}

// No call outlived its deadline by more than the scheduling slack.
inline void expect_deadlines_kept(const std::vector<Call>& calls) {
  for (const Call& c : calls) {
    EXPECT_LE(c.end - c.start, kTimeout + kDeadlineSlack)
        << c.what << " took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(c.end - c.start).count()
        << " ms: " << c.status.to_string();
  }
}

// Every failure, one line each (at most 10), for a failure message.
inline std::string failures(const std::vector<Call>& calls) {
  std::string out;
  int n = 0;
  for (const Call& c : calls) {
    if (c.status.ok() || ++n > 10) continue;
    out += "  " + c.what + " (slot " + std::to_string(c.slot) + "): " + c.status.to_string() + "\n";
  }
  return out;
}

// What was acknowledged before is still there: consumed codes stay consumed, the latest refresh
// token of each family is still active.
inline void expect_nothing_acknowledged_lost(Store& store, const Load& load) {
  for (const std::string& code : load.consumed_codes()) {
    auto again = store.codes().consume(code);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed) << again.status().to_string();
  }
  for (const std::string& token : load.refresh_tokens()) {
    auto info = store.refresh().peek(token);
    EXPECT_TRUE(info.ok()) << info.status().to_string();
  }
}

}  // namespace authstore::testing::failover
