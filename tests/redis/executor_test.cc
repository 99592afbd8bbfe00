// The standalone executor (src/backends/redis/executor.h) against the plain fixture server:
// native commands and scripts with a deadline, script loading on NOSCRIPT, error replies passed
// through unmapped (the backend maps them), the call's spans copied before execute() returns.
#include "backends/redis/executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include "redis_test_env.h"

namespace authstore::internal {
namespace {

using namespace std::chrono_literals;
using redis::Reply;
using redis::Script;

class StandaloneExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    auto c = redis::Client::from_url(redis::testing::plain_url());
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    executor_ = make_standalone_executor(std::move(c.value()));
  }
  Result<Reply> run(const RedisCall& call, RedisDeadline deadline = {}) {
    if (deadline == RedisDeadline{})
      deadline = std::chrono::steady_clock::now() + executor_->command_timeout();
    std::promise<Result<Reply>> p;
    executor_->execute(call, deadline, [&p](Result<Reply> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  Result<Reply> command(std::vector<std::string_view> args) {
    return run(RedisCall{"test", nullptr, {}, args});
  }
  static std::string key(const char* what) {
    return std::string("executor_test:") + what + ":" + std::to_string(::getpid());
  }
  std::unique_ptr<RedisExecutor> executor_;
};

TEST_F(StandaloneExecutorTest, ScriptLoadedOnNoscriptThenCalledBySha) {
  static const Script script("test_incr_by", 1, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(script.source().rfind("-- authstore:test_incr_by:v1\n", 0), 0U);
  ASSERT_TRUE(command({"SCRIPT", "FLUSH"}).ok());
  const std::string k = key("script");
  ASSERT_TRUE(command({"DEL", k}).ok());
  const std::string_view keys[] = {k};
  const std::string_view args[] = {"5"};
  Result<Reply> first = run(RedisCall{"incr", &script, keys, args});  // NOSCRIPT, LOAD, EVALSHA
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first.value(), Reply::integer(5));
  Result<Reply> second = run(RedisCall{"incr", &script, keys, args});  // loaded now
  EXPECT_EQ(second.value(), Reply::integer(10));
  EXPECT_EQ(command({"SCRIPT", "EXISTS", script.sha1()}).value(), Reply::array({Reply::integer(1)}));
  // A new version is a different script, even with the same body.
  const Script v2("test_incr_by", 2, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_NE(v2.sha1(), script.sha1());
  ASSERT_TRUE(command({"DEL", k}).ok());
}

TEST_F(StandaloneExecutorTest, ErrorRepliesPassThroughOnceAndUnmapped) {
  static const Script script("test_fails", 1, "return redis.error_reply('CORRUPT nope')");
  ASSERT_TRUE(command({"SCRIPT", "FLUSH"}).ok());
  Result<Reply> r = run(RedisCall{"fails", &script, {}, {}});
  ASSERT_TRUE(r.has_value());  // the error reply itself: the backend maps it (map_error)
  EXPECT_EQ(r.value().error_code(), "CORRUPT");
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  // Loaded once (by the NOSCRIPT retry) and not run again after its error.
  EXPECT_EQ(command({"SCRIPT", "EXISTS", script.sha1()}).value(), Reply::array({Reply::integer(1)}));
}

TEST_F(StandaloneExecutorTest, DeadlineIsTheCallersOne) {
  Result<Reply> late = run(RedisCall{"ping", nullptr, {}, std::vector<std::string_view>{"PING"}},
                           std::chrono::steady_clock::now() - 1ms);
  EXPECT_EQ(late.code(), StatusCode::kDeadlineExceeded) << late.status().to_string();
  Result<Reply> fine = command({"PING"});
  ASSERT_TRUE(fine.ok()) << fine.status().to_string();
  EXPECT_EQ(fine.value(), Reply::simple_string("PONG"));
}

TEST_F(StandaloneExecutorTest, CallIsCopiedBeforeExecuteReturns) {
  static const Script script("test_echo", 1, "return {KEYS[1], ARGV[1]}");
  const std::string k = key("echo");
  std::promise<Result<Reply>> p;
  {
    // The strings die right after execute(): an executor keeping views into them would read freed
    // memory (ASan) or send garbage.
    std::string kk = k;
    std::string arg(100, 'a');
    std::vector<std::string_view> keys = {kk};
    std::vector<std::string_view> args = {arg};
    executor_->execute(RedisCall{"echo", &script, keys, args},
                       std::chrono::steady_clock::now() + executor_->command_timeout(),
                       [&p](Result<Reply> r) { p.set_value(std::move(r)); });
    kk.assign(kk.size(), 'x');
    arg.assign(arg.size(), 'x');
  }
  Result<Reply> r = p.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Reply::array({Reply::bulk_string(k), Reply::bulk_string(std::string(100, 'a'))}));
}

}  // namespace
}  // namespace authstore::internal
