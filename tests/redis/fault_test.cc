// Faults on a private redis-server: a server that stops answering, and one killed and restarted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "redis/client.h"
#include "redis_test_env.h"

namespace authstore::redis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(RedisFault, ClientPauseLongerThanDeadlineGivesDeadlineExceededAndConnectionSurvives) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-pause");
  ASSERT_TRUE(server.start());
  auto client = Client::from_url(server.url() + "?client_name=paused");
  ASSERT_TRUE(client.ok());
  Client& c = **client;
  const Result<Reply> id = c.call({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok());

  // Another connection pauses the server for 600 ms; our 100 ms requests time out.
  auto admin = Client::from_url(server.url());
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->call({"CLIENT", "PAUSE", "600", "ALL"}).ok());
  const auto start = Clock::now();
  Result<Reply> r = c.call({"PING"}, CallOptions{100ms});
  const auto waited = Clock::now() - start;
  EXPECT_EQ(r.code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(waited, 400ms);
  Result<Reply> r2 = c.call({"GET", "k"}, CallOptions{100ms});
  EXPECT_EQ(r2.code(), StatusCode::kDeadlineExceeded);

  // After the pause the late replies are dropped, and the same connection answers in order.
  Result<Reply> after = c.call({"CLIENT", "ID"}, CallOptions{2000ms});
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(after.value(), id.value());
  EXPECT_EQ(c.call({"ECHO", "in-order"}).value(), Reply::bulk_string("in-order"));
}

TEST(RedisFault, ServerKilledMidLoadAndRestartedCallersGetUnavailableAndServiceResumes) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-kill");
  ASSERT_TRUE(server.start());
  ClientOptions base;
  base.reconnect_backoff_min = 25ms;
  base.reconnect_backoff_max = 400ms;
  auto client = Client::from_url(server.url(), base);
  ASSERT_TRUE(client.ok());
  Client& c = **client;
  ASSERT_TRUE(c.call({"PING"}).ok());

  constexpr auto kDeadline = 300ms;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> other{0};
  std::atomic<long long> worst_ms{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      const std::string key = "fault:" + std::to_string(t);
      for (int i = 0; i < 200000 && !stop; ++i) {
        const auto begin = Clock::now();
        Result<Reply> r = c.call({"INCR", key}, CallOptions{kDeadline});
        const long long ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
        long long prev = worst_ms.load();
        while (ms > prev && !worst_ms.compare_exchange_weak(prev, ms)) {
        }
        if (r.ok()) {
          ++ok;
        } else if (r.code() == StatusCode::kUnavailable) {
          ++unavailable;
          std::this_thread::sleep_for(1ms);  // failing fast: do not spin
        } else {
          ++other;
        }
      }
    });
  }
  ASSERT_TRUE(testing::wait_until([&] { return ok.load() > 1000; }, 5s));
  const int port = server.port();
  server.kill_now();
  ASSERT_TRUE(testing::wait_until([&] { return unavailable.load() > 0; }, 2s));
  std::this_thread::sleep_for(500ms);  // the server stays down a while
  const int ok_while_down = ok.load();
  ASSERT_TRUE(server.start(port));
  const auto back = Clock::now();
  ASSERT_TRUE(testing::wait_until([&] { return ok.load() > ok_while_down + 100; }, 3s));
  const auto resumed_after = Clock::now() - back;
  stop = true;
  for (auto& th : load) th.join();

  EXPECT_LT(resumed_after, 1000ms);
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(other.load(), 0);  // nothing timed out or failed otherwise: down means unavailable
  EXPECT_LE(worst_ms.load(), std::chrono::milliseconds(kDeadline).count() + 100);  // nothing hung
}

}  // namespace
}  // namespace authstore::redis
