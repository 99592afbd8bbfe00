// Redis Cluster under failover and resharding, on a 6-node cluster of its own (the
// redis_failover_cluster fixture: tests/fixtures/redis/redis-cluster.sh with
// cluster-require-full-coverage no, so the shards that keep their master serve on while one
// shard fails over), never the conformance suite's cluster. Load runs on a Store through the
// Cluster executor while the test kills a master (SIGKILL, by pid), fails one over by hand
// (CLUSTER FAILOVER) and moves slots (SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE).
// What each case shows: docs/reliability.md, "Cluster failover tests".
//
// Environment (set by ctest): AUTHSTORE_REDIS_FAILOVER_DIR (the cluster's cluster.env and
// pidfiles), AUTHSTORE_REDIS_CLUSTER_SCRIPT (the fixture script, for `restart DIR PORT`),
// optionally AUTHSTORE_FAILOVER_ROUNDS (master kills, default 3). Helpers: failover_cluster.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "redis/failover_cluster.h"

namespace authstore::testing {
namespace {

using namespace failover;

class ClusterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cluster_.present()) {
      GTEST_SKIP() << "no failover cluster (run through ctest, which starts redis-cluster.sh)";
    }
    ASSERT_TRUE(cluster_.wait_healthy()) << "the failover cluster is not healthy before the test";
  }
  FailoverCluster cluster_;
};

// A master SIGKILLed under load, in rounds (each killing the master of another shard, then
// bringing the dead node back as a replica): no call outlives its deadline, the other shards
// serve throughout, and the shard serves again within 1 s of its replica's promotion.
TEST_F(ClusterFailoverTest, MasterKilledUnderLoadShardServesAgainAfterPromotion) {
  const int rounds =
      env("AUTHSTORE_FAILOVER_ROUNDS").empty() ? 3 : std::atoi(env("AUTHSTORE_FAILOVER_ROUNDS").c_str());
  ClusterStore s = ClusterStore::open_on(cluster_);
  ASSERT_NE(s.backend, nullptr);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    ASSERT_TRUE(cluster_.wait_healthy());
    const auto [victim, heir_port] = cluster_.shard(static_cast<std::size_t>(round));
    ASSERT_NE(heir_port, 0);

    Load load(s.store, users(48, "kill" + std::to_string(round)), 2, false);
    load.start();
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(cluster_.kill(victim.port));
    const bool promoted = wait_for([&] { return cluster_.is_master(heir_port); }, 10s);
    const Clock::time_point promotion = Clock::now();
    if (promoted) std::this_thread::sleep_for(1500ms);
    load.stop();
    ASSERT_TRUE(promoted) << "the replica on " << heir_port << " was not promoted in 10 s";

    const auto& calls = load.calls();
    expect_deadlines_kept(calls);
    std::size_t other_shards = 0, served_again = 0, victim_failures = 0;
    std::vector<Call> bad;
    for (const Call& c : calls) {
      ASSERT_GE(c.slot, 0) << c.what;
      if (!victim.serves(c.slot)) {
        ++other_shards;
        if (!c.status.ok()) bad.push_back(c);  // other shards are unaffected
      } else if (c.start >= promotion + 1000ms) {
        ++served_again;
        if (!c.status.ok()) bad.push_back(c);  // served again within 1 s of the promotion
      } else if (!c.status.ok()) {
        ++victim_failures;
      }
    }
    EXPECT_TRUE(bad.empty()) << bad.size() << " calls failed that should not have:\n" << failures(bad);
    EXPECT_GT(other_shards, 20U);
    EXPECT_GT(served_again, 5U) << "no call reached the failed-over shard after its promotion";
    std::cout << "[ round " << round + 1 << " ] " << calls.size() << " calls, " << victim_failures
              << " failed on the killed shard before it served again, refreshes " << s.counters().refreshes
              << "\n";

    // The dead node comes back as a replica of its heir.
    ASSERT_TRUE(cluster_.restart(victim.port));
  }
  ASSERT_TRUE(cluster_.wait_healthy());
}

// A master SIGKILLed, then calls to its slots: its port refuses them, so the client never sent
// them (redis::was_never_sent). The executor resends such a call after a backoff (25..200 ms)
// and a map refresh (at most one per 500 ms) while its deadline allows (8 s here; the promotion
// takes ~1-2 s with cluster-node-timeout 1000): every call succeeds once the replica serves the
// slots, none is answered before, and unsent_resent counts the resends.
TEST_F(ClusterFailoverTest, CallsRefusedByAStoppedMasterAreResentAfterTheMapRefresh) {
  ClusterStore s = ClusterStore::open_on(cluster_, "&timeout=8000ms");
  ASSERT_NE(s.backend, nullptr);
  const auto [victim, heir_port] = cluster_.shard(1);
  ASSERT_NE(heir_port, 0);
  // Users whose slots the victim serves (the key observer tells each call's slot).
  std::vector<std::string> mine;
  for (const std::string& user : users(64, "unsent")) {
    CodeGrant g;
    g.client_id = "client";
    g.subject = user;
    g.redirect_uri = "https://app.example/cb";
    ASSERT_TRUE(s.store.codes().issue(g).ok());  // also connects to every master on the way
    if (victim.serves(t_last_slot)) mine.push_back(user);
  }
  ASSERT_GE(mine.size(), 5U);
  const RedisExecutorCounters start = s.counters();
  ASSERT_TRUE(cluster_.kill(victim.port));
  std::this_thread::sleep_for(100ms);  // the executor's connection sees the close: later calls are refused
  const Clock::time_point killed = Clock::now();
  std::vector<std::future<std::pair<Status, Clock::time_point>>> calls;
  for (const std::string& user : mine) {
    calls.push_back(std::async(std::launch::async, [&s, user] {
      CodeGrant g;
      g.client_id = "client";
      g.subject = user;
      g.redirect_uri = "https://app.example/cb";
      auto issued = s.store.codes().issue(g);
      if (!issued.ok()) return std::make_pair(issued.status(), Clock::now());
      auto consumed = s.store.codes().consume(issued->code);
      return std::make_pair(consumed.status(), Clock::now());
    }));
  }
  const bool promoted = wait_for([&] { return cluster_.is_master(heir_port); }, 10s);
  std::size_t ok = 0;
  std::vector<std::string> bad;
  for (auto& f : calls) {
    const auto [status, end] = f.get();
    if (status.ok()) {
      ++ok;
    } else {
      bad.push_back(status.to_string());
    }
    EXPECT_LE(end - killed, 8000ms + kDeadlineSlack);
  }
  const RedisExecutorCounters end = s.counters();
  ASSERT_TRUE(promoted) << "the replica on " << heir_port << " was not promoted in 10 s";
  EXPECT_EQ(ok, mine.size()) << "failed: " << (bad.empty() ? std::string() : bad.front());
  EXPECT_GT(end.unsent_resent, start.unsent_resent) << "no never-sent call was resent";
  EXPECT_GT(end.refreshes, start.refreshes);
  std::cout << "[ unsent ] " << mine.size() << " users on the stopped master, resent "
            << end.unsent_resent - start.unsent_resent << " times, refreshes "
            << end.refreshes - start.refreshes << "\n";
  ASSERT_TRUE(cluster_.restart(victim.port));
  ASSERT_TRUE(cluster_.wait_healthy());
}

// With wait_replicas=1 a master SIGKILLed under load loses no acknowledged consume: every code
// consumed with success before, during and after the failover (on the killed shard too) is still
// consumed once the replica took over, so none can be spent twice. Meanwhile the promoted master,
// alone until the dead node rejoins as its replica, answers writes `unavailable` (WAIT 0), never a
// success it could lose.
TEST_F(ClusterFailoverTest, WithWaitNoAcknowledgedConsumeIsLostWhenAMasterDies) {
  ClusterStore s = ClusterStore::open_on(cluster_, "&wait_replicas=1&wait_timeout_ms=200");
  ASSERT_NE(s.backend, nullptr);
  const auto [victim, heir_port] = cluster_.shard(2);
  ASSERT_NE(heir_port, 0);

  Load load(s.store, users(48, "wait"), 2, false);
  load.start();
  std::this_thread::sleep_for(300ms);
  const Clock::time_point killed = Clock::now();
  ASSERT_TRUE(cluster_.kill(victim.port));
  const bool promoted = wait_for([&] { return cluster_.is_master(heir_port); }, 10s);
  if (promoted) std::this_thread::sleep_for(300ms);
  load.stop();
  ASSERT_TRUE(promoted);
  ASSERT_TRUE(cluster_.restart(victim.port));
  ASSERT_TRUE(cluster_.wait_healthy());

  const auto& calls = load.calls();
  expect_deadlines_kept(calls);
  const auto acked_on_victim = std::count_if(calls.begin(), calls.end(), [&](const Call& c) {
    return c.what == std::string("code consume") && c.status.ok() && victim.serves(c.slot) && c.end <= killed;
  });
  EXPECT_GT(acked_on_victim, 5) << "too few consumes on the killed shard to show anything";
  expect_nothing_acknowledged_lost(s.store, load);
}

// CLUSTER FAILOVER (a manual, lossless switch) under load: no error reaches a caller (calls to
// the old master are redirected by MOVED), nothing acknowledged is lost, and the new master,
// whose script cache is empty (Redis does not replicate SCRIPT LOAD), gets its scripts loaded on
// NOSCRIPT and the call retried once.
TEST_F(ClusterFailoverTest, ManualFailoverUnderLoadLosesNothingAndReloadsScripts) {
  ClusterStore s = ClusterStore::open_on(cluster_);
  ASSERT_NE(s.backend, nullptr);
  const auto [old_master, heir_port] = cluster_.shard(0);
  ASSERT_NE(heir_port, 0);

  // With refresh families: codes are native commands now (docs/redis.md), refresh issue and
  // rotate are scripts, which the new master must load.
  Load load(s.store, users(48, "manual"), 2, true);
  load.start();
  std::this_thread::sleep_for(300ms);
  const RedisExecutorCounters start = s.counters();
  auto failover = node_call(heir_port, {"CLUSTER", "FAILOVER"});
  EXPECT_TRUE(failover.ok()) << failover.status().to_string();
  const bool promoted = wait_for([&] { return cluster_.is_master(heir_port); }, 10s);
  if (promoted) std::this_thread::sleep_for(700ms);
  load.stop();
  ASSERT_TRUE(promoted);
  const RedisExecutorCounters end = s.counters();

  const auto& calls = load.calls();
  expect_deadlines_kept(calls);
  const auto failed = std::count_if(calls.begin(), calls.end(), [](const Call& c) { return !c.status.ok(); });
  EXPECT_EQ(failed, 0) << failures(calls);
  EXPECT_GT(end.moved, start.moved) << "no call was redirected from the old master";
  EXPECT_GT(end.noscript_reloads, start.noscript_reloads) << "the new master's scripts were not loaded";
  std::size_t on_shard = 0;
  for (const Call& c : calls) on_shard += old_master.serves(c.slot) && c.status.ok() ? 1 : 0;
  EXPECT_GT(on_shard, 5U);
  expect_nothing_acknowledged_lost(s.store, load);
  ASSERT_TRUE(cluster_.wait_healthy());
}

// Slots moved from one master to another under load (SETSLOT IMPORTING / MIGRATING, MIGRATE,
// SETSLOT NODE), with the load on users of exactly those slots: the executor followed ASK
// (keys already moved), retried TRYAGAIN (a call whose keys are split across the two nodes) and
// followed MOVED (after the slot changed hands), each seen at least once; no error reached a
// caller and nothing acknowledged was lost.
TEST_F(ClusterFailoverTest, ReshardUnderLoadFollowsAskMovedAndTryagain) {
  ClusterStore s = ClusterStore::open_on(cluster_);
  ASSERT_NE(s.backend, nullptr);
  const Node source = cluster_.shard(0).master;
  const Node target = cluster_.shard(1).master;
  ASSERT_FALSE(source.id.empty());
  ASSERT_NE(source.id, target.id);

  // Users whose keys live on the source, grouped by slot (an operation's first key says it).
  std::map<int, std::vector<std::string>> by_slot;
  for (const std::string& user : users(400, "reshard")) {
    CodeGrant g;
    g.client_id = "client";
    g.subject = user;
    g.redirect_uri = "https://app.example/cb";
    ASSERT_TRUE(s.store.codes().issue(g).ok());
    if (source.serves(t_last_slot)) by_slot[t_last_slot].push_back(user);
  }
  std::vector<int> slots;
  std::vector<std::string> load_users;
  for (const auto& [slot, us] : by_slot) {
    if (slots.size() == 3) break;
    slots.push_back(slot);
    load_users.insert(load_users.end(), us.begin(), us.end());
  }
  ASSERT_EQ(slots.size(), 3U);

  Load load(s.store, load_users, 2, true);
  load.start();
  std::this_thread::sleep_for(200ms);
  const RedisExecutorCounters start = s.counters();
  for (int slot : slots) {
    const std::string sl = std::to_string(slot);
    ASSERT_TRUE(node_call(target.port, {"CLUSTER", "SETSLOT", sl, "IMPORTING", source.id}).ok());
    ASSERT_TRUE(node_call(source.port, {"CLUSTER", "SETSLOT", sl, "MIGRATING", target.id}).ok());
    // The slot stays split for a while: new keys go to the target (ASK), calls over keys on both
    // sides wait (TRYAGAIN); well inside a call's deadline.
    std::this_thread::sleep_for(150ms);
    for (int batch = 0; batch < 100; ++batch) {
      auto keys = node_call(source.port, {"CLUSTER", "GETKEYSINSLOT", sl, "50"});
      ASSERT_TRUE(keys.ok()) << keys.status().to_string();
      if (keys->elements().empty()) break;
      std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(target.port), "", "0",
                                       "5000",    "KEYS"};
      for (const auto& k : keys->elements()) args.push_back(k.str());
      std::vector<std::string_view> views(args.begin(), args.end());
      auto moved = node_call(source.port, views);
      ASSERT_TRUE(moved.ok()) << moved.status().to_string();
    }
    ASSERT_TRUE(node_call(target.port, {"CLUSTER", "SETSLOT", sl, "NODE", target.id}).ok());
    ASSERT_TRUE(node_call(source.port, {"CLUSTER", "SETSLOT", sl, "NODE", target.id}).ok());
    std::this_thread::sleep_for(100ms);  // calls still routed to the source now get MOVED
  }
  std::this_thread::sleep_for(200ms);
  load.stop();
  const RedisExecutorCounters end = s.counters();

  const auto& calls = load.calls();
  expect_deadlines_kept(calls);
  const auto failed = std::count_if(calls.begin(), calls.end(), [](const Call& c) { return !c.status.ok(); });
  EXPECT_EQ(failed, 0) << failures(calls);
  EXPECT_GT(end.ask, start.ask) << "no ASK was followed";
  EXPECT_GT(end.moved, start.moved) << "no MOVED was followed";
  EXPECT_GT(end.tryagain, start.tryagain) << "no TRYAGAIN was retried";
  std::cout << "[ reshard ] " << calls.size() << " calls; ASK " << end.ask - start.ask << ", MOVED "
            << end.moved - start.moved << ", TRYAGAIN " << end.tryagain - start.tryagain << "\n";
  expect_nothing_acknowledged_lost(s.store, load);
  for (int slot : slots) {  // the slots now live on the target
    auto now = cluster_.nodes();
    const Node* t = FailoverCluster::find(now, target.port);
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->serves(slot)) << slot;
  }
}

// A MOVED or ASK reply whose address is not host:port (a number from 1 to 65535) is the error it
// is, answered to the caller, never followed (and never counted as a redirection).
TEST_F(ClusterFailoverTest, MalformedRedirectIsAnErrorNotFollowed) {
  auto url = redis::parse_cluster_url(cluster_.url(""));
  ASSERT_TRUE(url.ok()) << url.status().to_string();
  auto executor = internal::make_cluster_executor(std::move(url.value()));
  for (const char* reply : {"MOVED 12 nonsense", "MOVED 12 127.0.0.1:99999",
                            "MOVED 12 127.0.0.1:", "MOVED 12 127.0.0.1:70x", "ASK 12 :6379", "MOVED 12"}) {
    SCOPED_TRACE(reply);
    const redis::Script script(
        std::string("test_redirect_") + std::to_string(std::hash<std::string>{}(reply) % 100000), 1,
        std::string("return redis.error_reply('") + reply + "')");
    const std::string key = "malformed:{m}:" + std::to_string(::getpid());
    const std::string_view keys[] = {key};
    std::promise<Result<redis::Reply>> p;
    executor->execute(internal::RedisCall{"redirect", &script, keys, {}},
                      Clock::now() + executor->command_timeout(),
                      [&p](Result<redis::Reply> r) { p.set_value(std::move(r)); });
    Result<redis::Reply> r = p.get_future().get();
    ASSERT_TRUE(r.has_value()) << r.status().to_string();
    EXPECT_TRUE(r->is_error());
    EXPECT_EQ(r->str(), reply);
  }
  EXPECT_EQ(executor->counters().moved, 0U);
  EXPECT_EQ(executor->counters().ask, 0U);
}

}  // namespace
}  // namespace authstore::testing
