// The Sentinel executor (src/backends/redis/sentinel_executor.cc) against real sentinels: the
// redis-sentinel fixture instance (shared with the conformance suite; nothing here disturbs it)
// and redis-sentinel-failover, whose master one case kills (tests/fixtures/redis/redis-sentinel.sh,
// both part of the redis_servers fixture).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/redis/executor.h"
#include "backends/redis/redis_backend.h"
#include "redis/client.h"
#include "redis/options.h"
#include "redis/sentinel_test_support.h"

namespace authstore::internal {
namespace {

class RedisSentinel : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = instance("redis-sentinel");
    ASSERT_TRUE(env_.count("REDIS_SENTINEL_HOSTS")) << "no Sentinel fixture: run through ctest";
  }
  std::string good_url(const std::string& options = "") {
    return url_of(env_, env_["REDIS_SENTINEL_MASTER_PASSWORD"], env_["REDIS_SENTINEL_MASTER_NAME"],
                  env_["REDIS_SENTINEL_PASSWORD"], options);
  }
  std::map<std::string, std::string> env_;
};

TEST_F(RedisSentinel, FindsTheMasterAndRunsCommandsAndScripts) {
  auto e = executor_for(good_url());
  ASSERT_NE(e, nullptr);
  const std::string k = key("basic");
  ASSERT_TRUE(command(*e, {"DEL", k}).ok());
  Result<Reply> set = command(*e, {"SET", k, "v"});
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  EXPECT_EQ(command(*e, {"GET", k}).value(), Reply::bulk_string("v"));
  // It runs on the master: ROLE through the executor says so.
  Result<Reply> role = command(*e, {"ROLE"});
  ASSERT_TRUE(role.ok()) << role.status().to_string();
  EXPECT_EQ(role.value().elements().at(0), Reply::bulk_string("master"));
  static const redis::Script script("sentinel_test_append", 1,
                                    "return redis.call('APPEND', KEYS[1], ARGV[1])");
  const std::string_view keys[] = {k};
  const std::string_view args[] = {"w"};
  ASSERT_TRUE(command(*e, {"SCRIPT", "FLUSH"}).ok());
  Result<Reply> appended = run(*e, RedisCall{"append", &script, keys, args});  // NOSCRIPT, LOAD, EVALSHA
  ASSERT_TRUE(appended.ok()) << appended.status().to_string();
  EXPECT_EQ(appended.value(), Reply::integer(2));
  EXPECT_EQ(e->sentinel_counters().resolves, 1U);  // asked once, then the same master for every call
  EXPECT_EQ(e->sentinel_counters().resent, 0U);
  ASSERT_TRUE(command(*e, {"DEL", k}).ok());
}

// wait_replicas is the master connection's: a write through Sentinel waits for the fixture's one
// replica (success), a write asking for two cannot get them (unavailable, never success), a read
// pays no WAIT, and the sentinels' connections never send one (they would answer an error).
TEST_F(RedisSentinel, WaitReplicasWaitsForTheMastersReplicasNotTheSentinels) {
  // wait_timeout_ms must be below the command timeout (1 s by default): refused when the URL is read.
  auto refused = redis::parse_sentinel_url(good_url("&wait_replicas=1&wait_timeout_ms=1000"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "wait_timeout_ms");
  auto one = executor_for(good_url("&wait_replicas=1&wait_timeout_ms=900"));
  ASSERT_NE(one, nullptr);
  const std::string k = key("wait");
  Result<Reply> set = command(*one, {"SET", k, "v"});
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  // A 5 s deadline: the first call also asks a sentinel and connects, which under a loaded ctest
  // run (the flap test beside it) took longer than the default 1 s, answering deadline_exceeded
  // before the WAIT could come short.
  auto two = executor_for(good_url("&wait_replicas=2&wait_timeout_ms=100&timeout=5000"));
  ASSERT_NE(two, nullptr);
  Result<Reply> short_wait = command(*two, {"SET", k, "w"});
  ASSERT_FALSE(short_wait.ok());
  EXPECT_EQ(short_wait.status().code(), StatusCode::kUnavailable) << short_wait.status().to_string();
  // It ran on the master: answered as it is (may have run), never resent, whatever its text says.
  EXPECT_FALSE(redis::was_never_sent(short_wait));
  EXPECT_EQ(two->sentinel_counters().resent, 0U);
  EXPECT_EQ(two->sentinel_counters().lost_in_flight, 1U);
  const std::string_view get[] = {"GET", k};
  RedisCall read_call{"get", nullptr, {}, get};
  read_call.writes = false;  // a read: no WAIT, so no shortfall
  Result<Reply> read = run(*two, read_call);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read.value(), Reply::bulk_string("w"));  // the short write ran on the master: outcome unknown
  ASSERT_TRUE(command(*one, {"DEL", k}).ok());
}

TEST_F(RedisSentinel, WrongOrMissingSentinelPasswordIsPermissionDenied) {
  for (const std::string& pass : {std::string("wrong-sentinel-secret"), std::string()}) {
    const std::string url =
        pass.empty()
            ? "redis+sentinel://:" + env_["REDIS_SENTINEL_MASTER_PASSWORD"] + "@" +
                  env_["REDIS_SENTINEL_HOSTS"] + "/" + env_["REDIS_SENTINEL_MASTER_NAME"]
            : url_of(env_, env_["REDIS_SENTINEL_MASTER_PASSWORD"], env_["REDIS_SENTINEL_MASTER_NAME"], pass);
    auto e = executor_for(url);
    ASSERT_NE(e, nullptr);
    const auto start = Clock::now();
    Result<Reply> r = command(*e, {"PING"});
    EXPECT_LT(Clock::now() - start, e->command_timeout()) << "answered at once, not at the deadline";
    EXPECT_EQ(r.code(), StatusCode::kPermissionDenied) << r.status().to_string();
    EXPECT_EQ(r.status().field(), "sentinel_password");
    EXPECT_NE(r.status().message().find("refused the sentinel credentials"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find("wrong-sentinel-secret"), std::string::npos);
    EXPECT_EQ(r.status().message().find(env_["REDIS_SENTINEL_MASTER_PASSWORD"]), std::string::npos);
  }
}

TEST_F(RedisSentinel, WrongMasterPasswordIsPermissionDenied) {
  auto e = executor_for(url_of(env_, "wrong-master-secret", env_["REDIS_SENTINEL_MASTER_NAME"],
                               env_["REDIS_SENTINEL_PASSWORD"]));
  ASSERT_NE(e, nullptr);
  Result<Reply> r = command(*e, {"PING"});
  EXPECT_EQ(r.code(), StatusCode::kPermissionDenied) << r.status().to_string();
  EXPECT_NE(r.status().message().find("redis sentinel: master 127.0.0.1:"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("wrong-master-secret"), std::string::npos);
}

TEST_F(RedisSentinel, UnknownMasterNameIsPrecise) {
  auto e = executor_for(good_url().replace(good_url().find("/" + env_["REDIS_SENTINEL_MASTER_NAME"] + "?"),
                                           env_["REDIS_SENTINEL_MASTER_NAME"].size() + 1, "/no-such-master"));
  ASSERT_NE(e, nullptr);
  Result<Reply> r = command(*e, {"PING"});
  EXPECT_EQ(r.code(), StatusCode::kFailedPrecondition) << r.status().to_string();
  EXPECT_EQ(r.status().field(), "master_name");
  EXPECT_NE(r.status().message().find("no sentinel knows a master named 'no-such-master' (asked 3"),
            std::string::npos)
      << r.status().message();
}

TEST_F(RedisSentinel, AllSentinelsDownIsUnavailableFastWithinTheDeadline) {
  // Ports where nothing listens (privileged, never a test server's).
  auto e = executor_for("redis+sentinel://127.0.0.1:1,127.0.0.1:2,127.0.0.1:3/m?timeout=2s");
  ASSERT_NE(e, nullptr);
  for (int i = 0; i < 3; ++i) {  // the first call, and the calls after it while the clients back off
    const auto start = Clock::now();
    Result<Reply> r = command(*e, {"PING"});
    const auto took = Clock::now() - start;
    EXPECT_EQ(r.code(), StatusCode::kUnavailable) << r.status().to_string();
    EXPECT_NE(r.status().message().find(
                  "no sentinel named a reachable master 'm' (asked 3; last: sentinel 127.0.0.1:3"),
              std::string::npos)
        << r.status().message();
    EXPECT_LT(took, 500ms) << "fails fast, far before the 2 s deadline";
  }
}

// The master's server check (every handshake, every ping_interval): role:master, and the
// maxmemory-policy rule read from INFO.
TEST_F(RedisSentinel, MasterCheckRefusesAReplicaAndAnEvictionPolicy) {
  auto check = sentinel_master_check(maxmemory_policy_check(false, nullptr));
  EXPECT_EQ(check->command, (std::vector<std::string>{"INFO", "replication", "memory"}));
  const auto info = [](const std::string& role, const std::string& policy) {
    return Result<Reply>(
        Reply::bulk_string("# Replication\r\nrole:" + role + "\r\nconnected_slaves:0\r\n\r\n" +
                           "# Memory\r\nused_memory:1\r\nmaxmemory_policy:" + policy + "\r\n"));
  };
  EXPECT_TRUE(check->verdict(info("master", "noeviction")).ok());
  const Status replica = check->verdict(info("slave", "noeviction"));
  EXPECT_EQ(replica.code(), StatusCode::kUnavailable);
  EXPECT_EQ(replica.field(), "role");
  EXPECT_NE(replica.message().find("not the master (role slave)"), std::string::npos) << replica.message();
  const Status evicting = check->verdict(info("master", "allkeys-lru"));
  EXPECT_EQ(evicting.code(), StatusCode::kFailedPrecondition) << evicting.to_string();
  EXPECT_EQ(evicting.field(), "maxmemory-policy");
  EXPECT_EQ(check->verdict(Result<Reply>(Reply::bulk_string("role:master\r\n"))).code(), StatusCode::kOk)
      << "no maxmemory_policy line: the base check warns (unknown policy) but does not refuse";
  // On real servers: of the instance's two data servers, the master passes and the replica fails
  // the check (the request is never sent).
  const std::string ports = env_["REDIS_SENTINEL_DATA_PORTS"];
  int masters = 0;
  int replicas = 0;
  for (const std::string& port : {ports.substr(0, ports.find(' ')), ports.substr(ports.find(' ') + 1)}) {
    redis::ClientOptions o;
    o.port = static_cast<std::uint16_t>(std::stoi(port));
    o.password = env_["REDIS_SENTINEL_MASTER_PASSWORD"];
    o.server_check = sentinel_master_check(nullptr);
    auto c = redis::Client::create(o);
    ASSERT_TRUE(c.ok());
    Result<Reply> role = (*c)->call({"ROLE"});
    if (role.ok() && role.value().elements().at(0) == Reply::bulk_string("master")) ++masters;
    if (role.code() == StatusCode::kUnavailable &&
        role.status().message().find("not the master (role slave)") != std::string::npos) {
      ++replicas;
    }
  }
  EXPECT_EQ(masters, 1);
  EXPECT_EQ(replicas, 1);
}

TEST_F(RedisSentinel, ForkedChildBuildsItsOwnConnections) {
  auto e = executor_for(good_url());
  ASSERT_NE(e, nullptr);
  const std::string k = key("fork");
  ASSERT_TRUE(command(*e, {"SET", k, "parent"}).ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's connections, timer and watcher thread are not used here (they do not exist).
    Result<Reply> r = command(*e, {"APPEND", k, "+child"});
    ::_exit(r.ok() && r.value() == Reply::integer(12) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(command(*e, {"GET", k}).value(), Reply::bulk_string("parent+child"));  // the parent's still work
  ASSERT_TRUE(command(*e, {"DEL", k}).ok());
}

// The master SIGKILLed under a bounded load of INCRs from 4 threads (each call with a 500 ms
// deadline). Service must come back within about a second of a sentinel naming the new master;
// no call may answer past its deadline; every success after the failover must be a real INCR on
// the new master (values increasing per thread, none above the key's final value).
TEST(RedisSentinelFailover, MasterKilledUnderLoad) {
  auto env = instance("redis-sentinel-failover");
  ASSERT_TRUE(env.count("REDIS_SENTINEL_HOSTS")) << "no Sentinel fixture: run through ctest";
  auto e = executor_for(url_of(env, env["REDIS_SENTINEL_MASTER_PASSWORD"], env["REDIS_SENTINEL_MASTER_NAME"],
                               env["REDIS_SENTINEL_PASSWORD"], "&timeout=500ms"));
  ASSERT_NE(e, nullptr);
  const std::string data_ports = env["REDIS_SENTINEL_DATA_PORTS"];
  const std::string old_port = data_ports.substr(0, data_ports.find(' '));
  const std::string new_port = data_ports.substr(data_ports.find(' ') + 1);
  ASSERT_TRUE(command(*e, {"PING"}).ok());
  // A sentinel, asked directly, to see when it names the new master.
  redis::ClientOptions so;
  so.port = static_cast<std::uint16_t>(
      std::stoi(env["REDIS_SENTINEL_PORTS"].substr(0, env["REDIS_SENTINEL_PORTS"].find(' '))));
  so.password = env["REDIS_SENTINEL_PASSWORD"];
  auto sentinel = redis::Client::create(so);
  ASSERT_TRUE(sentinel.ok());

  constexpr int kThreads = 4;
  struct Answer {
    Clock::time_point sent, answered;
    Clock::time_point deadline;
    Result<Reply> r;
  };
  std::vector<std::vector<Answer>> answers(kThreads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string k = key("failover") + ":" + std::to_string(t);
      for (int i = 0; i < 20000 && !stop.load(); ++i) {  // bounded in count, and by `stop`
        const auto sent = Clock::now();
        const auto deadline = sent + 500ms;
        std::promise<Result<Reply>> p;
        const std::string_view args[] = {"INCR", k};
        e->execute(RedisCall{"incr", nullptr, {}, args}, deadline,
                   [&p](Result<Reply> r) { p.set_value(std::move(r)); });
        Result<Reply> r = p.get_future().get();
        answers[static_cast<std::size_t>(t)].push_back(Answer{sent, Clock::now(), deadline, std::move(r)});
        if (!answers[static_cast<std::size_t>(t)].back().r.ok()) std::this_thread::sleep_for(5ms);
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  std::ifstream pidfile(env["DIR"] + "/data-" + old_port + ".pid");
  pid_t master_pid = 0;
  pidfile >> master_pid;
  ASSERT_GT(master_pid, 0);
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(master_pid, SIGKILL), 0);
  // When does a sentinel first name the new master? (At most 15 s.)
  Clock::time_point named{};
  while (Clock::now() - killed < 15s) {
    Result<Reply> a =
        (*sentinel)->call({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", env["REDIS_SENTINEL_MASTER_NAME"]});
    if (a.ok() && a.value().is_array() && a.value().elements().size() == 2 &&
        a.value().elements()[1] == Reply::bulk_string(new_port)) {
      named = Clock::now();
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(named, Clock::time_point{}) << "no sentinel named the replica within 15 s";
  std::this_thread::sleep_for(1500ms);  // load continues on the new master
  stop = true;
  for (auto& t : threads) t.join();

  // Service back: the first success after the kill came within ~1 s of a sentinel naming the new master.
  Clock::time_point back = Clock::time_point::max();
  std::size_t late = 0, total = 0, failed = 0;
  for (const auto& thread : answers) {
    for (const Answer& a : thread) {
      ++total;
      if (a.answered > a.deadline + 200ms) {  // slack for a loaded 2-core machine
        ++late;
        ADD_FAILURE()
            << "answered "
            << std::chrono::duration_cast<std::chrono::milliseconds>(a.answered - a.deadline).count()
            << " ms past its deadline, sent "
            << std::chrono::duration_cast<std::chrono::milliseconds>(a.sent - killed).count()
            << " ms after the kill: " << a.r.status().to_string();
      }
      if (!a.r.ok()) ++failed;
      if (a.r.ok() && a.sent > killed + 100ms) back = std::min(back, a.answered);  // the old master is gone
    }
  }
  EXPECT_EQ(late, 0U) << "calls answered more than 200 ms past their deadline, of " << total;
  ASSERT_NE(back, Clock::time_point::max()) << "no call succeeded after the failover";
  EXPECT_LT(back - named, 1000ms)
      << "service back " << std::chrono::duration_cast<std::chrono::milliseconds>(back - named).count()
      << " ms after a sentinel named the new master";
  EXPECT_GT(failed, 0U) << "the master was killed: some calls must have failed";
  // No wrong success: after the kill, every success came from the new master (the old one is
  // dead), so per thread the values rise and none exceeds the key's final value there.
  redis::ClientOptions no;
  no.port = static_cast<std::uint16_t>(std::stoi(new_port));
  no.password = env["REDIS_SENTINEL_MASTER_PASSWORD"];
  auto direct = redis::Client::create(no);
  ASSERT_TRUE(direct.ok());
  for (int t = 0; t < kThreads; ++t) {
    const std::string k = key("failover") + ":" + std::to_string(t);
    Result<Reply> final_value = (*direct)->call({"GET", k});
    ASSERT_TRUE(final_value.ok() && final_value.value().is_string()) << final_value.status().to_string();
    const std::int64_t last = std::stoll(final_value.value().str());
    std::int64_t previous = 0;
    for (const Answer& a : answers[static_cast<std::size_t>(t)]) {
      if (!a.r.ok() || a.sent <= killed + 100ms) continue;
      ASSERT_TRUE(a.r.value().is_integer());
      EXPECT_GT(a.r.value().integer(), previous);
      EXPECT_LE(a.r.value().integer(), last);
      previous = a.r.value().integer();
    }
    EXPECT_GT(previous, 0) << "thread " << t << " got no success after the failover";
    (void)(*direct)->call({"DEL", k});
  }
  // The executor followed: a new master, and the +switch-master message (it may come a little
  // after the sentinel's answer changed).
  EXPECT_TRUE([&] {
    for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(10ms)) {
      if (e->sentinel_counters().switch_master_seen > 0) return true;
    }
    return false;
  }()) << "no +switch-master seen";
  const auto c = e->sentinel_counters();
  EXPECT_GE(c.master_changes, 1U);
  EXPECT_GE(c.resolves, 2U);
  std::printf(
      "failover: %zu calls, %zu failed, back %lld ms after the sentinel named the new master "
      "(named %lld ms after the kill); resolves %llu, resent %llu, lost in flight %llu, "
      "switch-master %llu, readonly %llu\n",
      total, failed,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(back - named).count()),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(named - killed).count()),
      static_cast<unsigned long long>(c.resolves), static_cast<unsigned long long>(c.resent),
      static_cast<unsigned long long>(c.lost_in_flight),
      static_cast<unsigned long long>(c.switch_master_seen),
      static_cast<unsigned long long>(c.readonly_seen));
}

}  // namespace
}  // namespace authstore::internal
