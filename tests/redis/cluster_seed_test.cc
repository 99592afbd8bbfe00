// A plain redis:// URL naming one node of a Redis Cluster (docs/redis.md, "URL" and "Cluster"):
// with cluster=auto (the default) opening probes INFO cluster and routes through the Cluster
// executor, the node as its one seed; cluster=no keeps the standalone executor, whose calls to
// keys served elsewhere fail on MOVED. The cluster is the conformance suite's (redis-cluster,
// part of the redis_servers fixture); nothing here disturbs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/redis/redis_backend.h"
#include "conformance/backend_redis.h"
#include "conformance/harness.h"
#include "model/ops.h"
#include "redis/client.h"
#include "redis/redis_test_env.h"
#include "stores/keys.h"

namespace authstore::testing {
namespace {

std::string prefix(const std::string& tag) {
  static std::atomic<int> counter{0};
  return tag + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ":";
}

class ClusterSeed : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    const std::string seeds = RedisClusterBackendTraits::seeds();
    seed_ = seeds.substr(0, seeds.find(','));
    ASSERT_NE(seed_, "127.0.0.1:1") << "no cluster fixture (redis-cluster/cluster.env)";
  }
  // The masters of the cluster: "host:port" from CLUSTER SLOTS on the seed.
  std::set<std::string> masters() {
    auto c = redis::Client::from_url("redis://" + seed_);
    EXPECT_TRUE(c.ok());
    std::set<std::string> out;
    auto r = (*c)->call({"CLUSTER", "SLOTS"});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return out;
    for (const auto& range : r->elements()) {
      const auto& node = range.elements().at(2).elements();
      out.insert(node.at(0).str() + ":" + std::to_string(node.at(1).integer()));
    }
    return out;
  }
  // How many keys under `p` each master holds.
  std::map<std::string, std::size_t> keys_per_master(const std::string& p) {
    std::map<std::string, std::size_t> out;
    for (const std::string& m : masters()) {
      auto c = redis::Client::from_url("redis://" + m);
      EXPECT_TRUE(c.ok());
      std::string cursor = "0";
      for (int i = 0; i < 1000; ++i) {
        auto r = (*c)->call({"SCAN", cursor, "MATCH", p + "*", "COUNT", "1000"});
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        if (!r.ok()) break;
        cursor = r->elements()[0].str();
        out[m] += r->elements()[1].elements().size();
        if (cursor == "0") break;
      }
    }
    return out;
  }
  std::string seed_;
};

CodeGrant grant_for(const std::string& subject) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.redirect_uri = "https://app.example/cb";
  return g;
}

// The store's operations (codes, refresh families, JWT ids) for 30 users, whose route tags spread
// them over all three masters: every one succeeds through the one seed, the backend says
// redis_cluster, and its executor read the slot map.
TEST_F(ClusterSeed, PlainUrlAtOneNodeRunsOverTheWholeCluster) {
  const std::string p = prefix("seed");
  Harness h("redis://" + seed_ + "?prefix=" + p);
  EXPECT_EQ(h.backend().name(), "redis_cluster");
  EXPECT_EQ(h.store().backend(), "redis_cluster");
  for (int i = 0; i < 30; ++i) {
    const std::string user = "user-" + std::to_string(i);
    SCOPED_TRACE(user);
    auto code = h.store().codes().issue(grant_for(user));
    ASSERT_TRUE(code.ok()) << code.status().to_string();
    auto consumed = h.store().codes().consume(code->code);
    ASSERT_TRUE(consumed.ok()) << consumed.status().to_string();
    EXPECT_EQ(h.store().codes().consume(code->code).code(), StatusCode::kAlreadyConsumed);
    RefreshGrant rg;
    rg.subject = user;
    rg.client_id = "client-1";
    auto rt = h.store().refresh().issue(rg);
    ASSERT_TRUE(rt.ok()) << rt.status().to_string();
    auto next = h.store().refresh().rotate(rt->token, "client-1");
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_EQ(h.store().refresh().rotate(rt->token, "client-1").code(), StatusCode::kReused);
    const UnixMillis exp = h.clock().now() + 60'000;
    ASSERT_TRUE(h.store().replay().reserve("https://issuer", "jti-" + user, exp).ok());
    EXPECT_EQ(h.store().replay().reserve("https://issuer", "jti-" + user, exp).code(), StatusCode::kReplayed);
  }
  const auto* backend = dynamic_cast<internal::RedisBackend*>(&h.backend());
  ASSERT_NE(backend, nullptr);
  EXPECT_GE(backend->executor().counters().refreshes, 1U) << "the Cluster executor reads the slot map";
  const auto spread = keys_per_master(p);
  ASSERT_EQ(spread.size(), 3U);
  for (const auto& [master, n] : spread) EXPECT_GT(n, 0U) << "no key on " << master;
}

// cluster=no: the standalone executor on a cluster node (the backend is lazy again: nothing is
// probed). Calls for keys this node serves succeed; the others fail on MOVED, as errors.
TEST_F(ClusterSeed, ClusterNoKeepsTheStandaloneExecutorAndMovedReachesTheCaller) {
  Harness h("redis://" + seed_ + "?cluster=no&prefix=" + prefix("seedno"));
  EXPECT_EQ(h.backend().name(), "redis");
  int ok = 0, moved = 0;
  for (int i = 0; i < 30; ++i) {
    auto code = h.store().codes().issue(grant_for("user-" + std::to_string(i)));
    if (code.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(code.code(), StatusCode::kUnavailable) << code.status().to_string();
      EXPECT_NE(code.status().message().find("MOVED"), std::string::npos) << code.status().to_string();
      ++moved;
    }
  }
  EXPECT_GT(ok, 0) << "no user on the seed's own slots";
  EXPECT_GT(moved, 0) << "no user on another master";
}

// A server whose ACL refuses INFO (the fixture's "app" user: GET, SET, DEL and a few more) cannot
// be probed: it is used as a standalone server, with a warning through the log hook, not refused.
TEST(ClusterSeedAcl, ServerRefusingInfoIsStandaloneWithAWarning) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  const std::string port = redis::testing::fixture_value("REDIS_ACL_PORT");
  ASSERT_FALSE(port.empty());
  std::mutex mu;
  std::vector<std::string> warnings;
  Options o;
  internal::BackendConfig config{&o, std::make_shared<ManualClock>(1'000'000),
                                 [&](LogLevel level, std::string_view m) {
                                   std::lock_guard lock(mu);
                                   if (level == LogLevel::kWarning) warnings.emplace_back(m);
                                 }};
  auto b =
      internal::make_redis_backend("redis://app:app-secret@127.0.0.1:" + port + "?prefix=app:seed:", config);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b.value()->name(), "redis");
  std::lock_guard lock(mu);
  bool said = false;
  for (const std::string& w : warnings) {
    if (w.find("refused INFO cluster") != std::string::npos) said = true;
    EXPECT_EQ(w.find("app-secret"), std::string::npos) << w;
  }
  EXPECT_TRUE(said) << "no warning about the probe among " << warnings.size();
}

// model_check --backend redis_cluster (tests/model, ctest model_check.redis_cluster) is worth its
// time on a Cluster only if its users' keys reach every master: with the model's key ring (key 1,
// route secret "rrr..."), the route tags of model::user_name(0..kUsers-1) fall on all three
// masters of the fixture's cluster.
TEST_F(ClusterSeed, ModelCheckUsersSpreadOverEveryMaster) {
  KeyOptions keys;
  keys.keys = {{1, std::string(32, 'a')}};  // tests/model/runner.cc, fixed_keys()
  keys.route_secret = std::string(32, 'r');
  auto ring = internal::KeyRing::load(keys, false, nullptr);
  ASSERT_TRUE(ring.ok()) << ring.status().to_string();
  auto c = redis::Client::from_url("redis://" + seed_);
  ASSERT_TRUE(c.ok());
  auto slots = (*c)->call({"CLUSTER", "SLOTS"});
  ASSERT_TRUE(slots.ok()) << slots.status().to_string();
  std::set<std::string> reached;
  for (int i = 0; i < model::kUsers; ++i) {
    const std::string tag = internal::user_ids(*ring.value(), model::user_name(i)).tag;
    const int slot = internal::redis_key_slot("x" + tag);
    for (const auto& range : slots->elements()) {
      const auto& v = range.elements();
      if (v.at(0).integer() <= slot && slot <= v.at(1).integer()) {
        reached.insert(v.at(2).elements().at(0).str() + ":" +
                       std::to_string(v.at(2).elements().at(1).integer()));
      }
    }
  }
  EXPECT_EQ(reached.size(), 3U) << "the model's " << model::kUsers << " users reach " << reached.size()
                                << " master(s)";
}

TEST(ClusterSeedUrl, BadClusterValuesNameTheOption) {
  for (const char* url :
       {"redis://127.0.0.1:1?cluster=yes", "redis://127.0.0.1:1?cluster=", "redis://127.0.0.1:1?cluster",
        "redis+cluster://127.0.0.1:1?cluster=no", "unix:///tmp/x.sock?cluster=auto"}) {
    internal::RedisBackendOptions o;
    auto r = internal::split_backend_options(url, o);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(r.status().field(), "url") << url;
    EXPECT_NE(r.status().message().find("'cluster'"), std::string::npos)
        << url << ": " << r.status().message();
  }
  internal::RedisBackendOptions o;
  auto kept = internal::split_backend_options("rediss://h:1?cluster=no&timeout=5ms", o);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept.value(), "rediss://h:1?timeout=5ms");
  EXPECT_FALSE(o.cluster_auto);
  internal::RedisBackendOptions d;
  ASSERT_TRUE(internal::split_backend_options("redis://h:1?cluster=auto", d).ok());
  EXPECT_TRUE(d.cluster_auto);
}

}  // namespace
}  // namespace authstore::testing
