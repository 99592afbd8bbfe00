// The Cluster executor (src/backends/redis/cluster_executor.cc) without a cluster: seeds that
// never answer (FaultProxy, half-open) and nodes whose client cannot be made. A call is answered
// by its deadline, once, and a node the executor cannot connect to is an error, never an
// exception on an I/O or timer thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "backends/redis/executor.h"
#include "fault_proxy.h"
#include "redis/options.h"

namespace authstore::internal {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using redis::Reply;

struct Answer {
  Result<Reply> result;
  Clock::duration after;
};

// Runs one GET through `executor` with `deadline_in`; waits for the answer and then a while more,
// counting answers (exactly one is allowed).
Answer get_once(RedisExecutor& executor, Clock::duration deadline_in, std::atomic<int>& answers) {
  const std::string key = "cluster_executor_test:{k}";
  const std::string_view args[] = {"GET", key};
  const std::string_view keys[] = {key};
  std::promise<Result<Reply>> p;
  const auto t0 = Clock::now();
  executor.execute(RedisCall{"get", nullptr, keys, args}, t0 + deadline_in, [&p, &answers](Result<Reply> r) {
    if (answers.fetch_add(1) == 0) p.set_value(std::move(r));
  });
  auto f = p.get_future();
  if (f.wait_for(10s) != std::future_status::ready)
    return {Result<Reply>(Status(StatusCode::kInternal, "no answer")), 10s};
  Result<Reply> r = f.get();
  return {std::move(r), Clock::now() - t0};
}

// Hash slots as Redis computes them (CLUSTER KEYSLOT on a 7.0 server; the specification's
// CRC16 check value 0x31C3 for "123456789"), hash tags included: the first non-empty {...} only.
TEST(ClusterExecutor, KeySlotsAreRedisOwn) {
  EXPECT_EQ(redis_key_slot("123456789"), 0x31C3);
  EXPECT_EQ(redis_key_slot("foo"), 12182);
  EXPECT_EQ(redis_key_slot("bar"), 5061);
  EXPECT_EQ(redis_key_slot("hello"), 866);
  EXPECT_EQ(redis_key_slot(""), 0);
  EXPECT_EQ(redis_key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(redis_key_slot("{user1000}.following"), redis_key_slot("user1000"));
  EXPECT_EQ(redis_key_slot("a{user1000}b{other}"), redis_key_slot("user1000"));
  EXPECT_EQ(redis_key_slot("foo{}{bar}"), 8363);  // {} empty: the whole key is hashed
  EXPECT_EQ(redis_key_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(redis_key_slot("foo{{bar}}zap"), redis_key_slot("{bar"));
  EXPECT_EQ(redis_key_slot(std::string_view("\xff\x00\x80", 3)), 7915);  // bytes >= 0x80 and NUL
}

TEST(ClusterExecutor, CallWaitingForTheSlotMapIsAnsweredByItsDeadline) {
  // Two seeds that accept and never answer: each map request takes the 1 s command timeout, the
  // map 2 s in all. The call, due in 150 ms, must not wait for it (the margins hold on a loaded
  // machine and under the sanitizers).
  redis::testing::FaultProxy a(1), b(1);
  ASSERT_GT(a.port(), 0);
  ASSERT_GT(b.port(), 0);
  a.half_open();
  b.half_open();
  auto url = redis::parse_cluster_url("redis+cluster://127.0.0.1:" + std::to_string(a.port()) +
                                      ",127.0.0.1:" + std::to_string(b.port()) + "?timeout=1000ms");
  ASSERT_TRUE(url.ok()) << url.status().to_string();
  auto executor = make_cluster_executor(std::move(url.value()));
  std::atomic<int> answers{0};
  const Answer got = get_once(*executor, 150ms, answers);
  EXPECT_EQ(got.result.code(), StatusCode::kDeadlineExceeded) << got.result.status().to_string();
  EXPECT_NE(got.result.status().message().find("slot map"), std::string::npos)
      << got.result.status().to_string();
  EXPECT_GE(got.after, 140ms);
  EXPECT_LT(got.after, 1500ms) << "answered after the map gave up, not at the deadline";
  std::this_thread::sleep_for(2200ms);  // the map request fails meanwhile: no second answer
  EXPECT_EQ(answers.load(), 1);
}

TEST(ClusterExecutor, NodeWhoseClientCannotBeMadeIsAnErrorNotAnException) {
  // rediss+cluster:// with a CA file that is not there: the seed's client cannot be made. The
  // call is answered unavailable, naming the file; nothing throws (before: an exception out of
  // execute(), or std::terminate on an I/O thread).
  auto url =
      redis::parse_cluster_url("rediss+cluster://127.0.0.1:1?ca_file=/nonexistent/authstore-test-ca.pem");
  ASSERT_TRUE(url.ok()) << url.status().to_string();
  auto executor = make_cluster_executor(std::move(url.value()));
  std::atomic<int> answers{0};
  Answer got{Result<Reply>(Status(StatusCode::kInternal, "not run")), {}};
  EXPECT_NO_THROW(got = get_once(*executor, 2s, answers));
  EXPECT_EQ(got.result.code(), StatusCode::kUnavailable) << got.result.status().to_string();
  EXPECT_NE(got.result.status().message().find("authstore-test-ca.pem"), std::string::npos)
      << got.result.status().to_string();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(answers.load(), 1);
}

}  // namespace
}  // namespace authstore::internal
