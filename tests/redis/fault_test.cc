// Faults on a private redis-server: a server that stops answering, and one killed and restarted;
// and, through a fault-injecting proxy (fault_proxy.h), a connection gone half-open, a reply cut
// mid-frame. Every fault test asserts the same three things: no call returns later than its
// deadline (plus a margin a loaded CI machine keeps), every failure is an error (never a made-up
// success: INCR answers keep increasing), and service returns within a bound once the fault ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fault_proxy.h"
#include "redis/client.h"
#include "redis_test_env.h"

namespace authstore::redis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FaultProxy;

// Generous for a loaded 2-core CI machine; the bounds checked are deadlines, not speed.
constexpr auto kMargin = 500ms;

// Callers on `threads` threads sending INCR with one deadline until stopped; every call logged.
class Load {
 public:
  struct Call {
    Clock::time_point start, end;
    StatusCode code;
  };

  Load(Client& c, int threads, std::chrono::milliseconds deadline) : deadline_(deadline) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, &c, t] {
        const std::string key = "load:" + std::to_string(t) + ":" + std::to_string(::getpid());
        long long last = -1;
        while (!stop_) {
          const auto start = Clock::now();
          Result<Reply> r = c.call({"INCR", key}, CallOptions{deadline_});
          const auto end = Clock::now();
          if (r.ok()) {
            // A reply matched to the wrong request would show as a value that does not increase.
            if (!r->is_integer() || r->integer() <= last) ++misread_;
            last = r->is_integer() ? r->integer() : last;
          }
          {
            std::lock_guard lock(mu_);
            calls_.push_back(Call{start, end, r.code()});
          }
          if (!r.ok()) std::this_thread::sleep_for(2ms);  // failing fast: do not spin
        }
      });
    }
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // When the first call that started at or after `t` succeeded, waiting at most `limit`.
  std::optional<Clock::time_point> first_ok_after(Clock::time_point t, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      {
        std::lock_guard lock(mu_);
        std::optional<Clock::time_point> best;
        for (const Call& c : calls_) {
          if (c.code == StatusCode::kOk && c.start >= t && (!best || c.end < *best)) best = c.end;
        }
        if (best) return best;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  int ok_count() {
    std::lock_guard lock(mu_);
    return static_cast<int>(
        std::count_if(calls_.begin(), calls_.end(), [](const Call& c) { return c.code == StatusCode::kOk; }));
  }

  // The invariants of every fault test; `down_from`..`down_to`: nothing can answer then.
  void check(Clock::time_point down_from, Clock::time_point down_to) {
    stop();
    std::lock_guard lock(mu_);
    EXPECT_EQ(misread_.load(), 0);
    int late = 0, odd = 0, ok_while_down = 0;
    std::chrono::milliseconds worst{0};
    for (const Call& c : calls_) {
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(c.end - c.start);
      worst = std::max(worst, took);
      if (took > deadline_ + kMargin) ++late;
      if (c.code != StatusCode::kOk && c.code != StatusCode::kUnavailable &&
          c.code != StatusCode::kDeadlineExceeded) {
        ++odd;
      }
      if (c.code == StatusCode::kOk && c.start >= down_from && c.end <= down_to) ++ok_while_down;
    }
    EXPECT_EQ(late, 0) << "calls returned after their deadline; worst " << worst.count() << " ms";
    EXPECT_EQ(odd, 0) << "failures other than unavailable / deadline exceeded";
    EXPECT_EQ(ok_while_down, 0) << "a call succeeded while nothing could answer";
  }

 private:
  std::chrono::milliseconds deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<int> misread_{0};
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<std::thread> threads_;
};

ClientOptions fault_options() {
  ClientOptions o;
  o.command_timeout = 300ms;
  o.connect_timeout = 300ms;
  o.reconnect_backoff_min = 25ms;
  o.reconnect_backoff_max = 200ms;
  return o;
}
// One deadline to notice, one connect_timeout for the attempt under way, one backoff.
constexpr auto kRecoverBound = 300ms + 300ms + 200ms + kMargin;

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

TEST(RedisFault, HalfOpenConnectionIsProbedAndDroppedServiceReturnsOnceThePeerAnswers) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-halfopen");
  ASSERT_TRUE(server.start());
  FaultProxy proxy(server.port());
  ASSERT_TRUE(proxy.ok());
  auto client = Client::from_url(proxy.url(), fault_options());
  ASSERT_TRUE(client.ok());
  Load load(**client, 3, 300ms);
  ASSERT_TRUE(load.first_ok_after(Clock::now(), 5000ms));

  proxy.half_open();  // existing and new connections: nothing forwarded, nothing closed
  const auto down = Clock::now();
  std::this_thread::sleep_for(1500ms);  // several deadlines, probes and reconnection attempts
  proxy.heal();                         // new connections pass; the ones that went half-open stay dead
  const auto healed = Clock::now();
  const auto back = load.first_ok_after(healed, 5000ms);
  ASSERT_TRUE(back.has_value()) << "service never came back after the peer answered again";
  EXPECT_LE(*back - healed, kRecoverBound);
  EXPECT_GE(proxy.accepted(), 2);  // it reconnected
  load.check(down + 10ms, healed);
}

TEST(RedisFault, FrozenServerPastTheDeadlineThenContinuedServiceReturns) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-sigstop");
  ASSERT_TRUE(server.start());
  auto client = Client::from_url(server.url(), fault_options());
  ASSERT_TRUE(client.ok());
  Load load(**client, 3, 300ms);
  ASSERT_TRUE(load.first_ok_after(Clock::now(), 5000ms));

  server.stop_signal();  // SIGSTOP: sockets open, nothing answers
  const auto down = Clock::now();
  std::this_thread::sleep_for(1200ms);
  const auto thawed = Clock::now();
  server.continue_signal();
  const auto back = load.first_ok_after(thawed, 5000ms);
  ASSERT_TRUE(back.has_value()) << "service never came back after SIGCONT";
  EXPECT_LE(*back - thawed, kRecoverBound);
  load.check(down + 10ms, thawed);
}

TEST(RedisFault, ClientKillDropsTheConnectionCallersGetUnavailableAndServiceResumes) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-clientkill");
  ASSERT_TRUE(server.start());
  auto client = Client::from_url(server.url() + "?client_name=victim", fault_options());
  ASSERT_TRUE(client.ok());
  auto admin = Client::from_url(server.url());
  ASSERT_TRUE(admin.ok());
  Load load(**client, 3, 300ms);
  ASSERT_TRUE(load.first_ok_after(Clock::now(), 5000ms));
  for (int i = 0; i < 3; ++i) {
    Result<Reply> killed = (*admin)->call({"CLIENT", "KILL", "TYPE", "normal"});
    ASSERT_TRUE(killed.ok()) << killed.status().to_string();
    const auto at = Clock::now();
    const auto back = load.first_ok_after(at, 5000ms);
    ASSERT_TRUE(back.has_value());
    EXPECT_LE(*back - at, 300ms + kMargin);  // an immediate reconnection
  }
  load.check(Clock::time_point::max(), Clock::time_point::max());
}

TEST(RedisFault, ReplyCutMidFrameFailsThatCallAndTheNextConnectionAnswers) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  testing::PrivateServer server("fault-cut");
  ASSERT_TRUE(server.start());
  FaultProxy proxy(server.port());
  ASSERT_TRUE(proxy.ok());
  auto client = Client::from_url(proxy.url(), fault_options());
  ASSERT_TRUE(client.ok());
  Client& c = **client;
  const std::string big(200000, 'v');
  ASSERT_TRUE(c.call({"SET", "big", big}).ok());
  proxy.cut_next_reply();
  Result<Reply> cut = c.call({"GET", "big"});
  EXPECT_EQ(cut.code(), StatusCode::kUnavailable) << cut.status().to_string();
  EXPECT_FALSE(was_never_sent(cut)) << "written, then the connection closed: it may have run";
  Result<Reply> again = c.call({"GET", "big"}, CallOptions{2000ms});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->str(), big);
  proxy.close_all();
  // Whatever the race with the close, a call fails as unavailable or gives the right value.
  for (int i = 0; i < 3; ++i) {
    Result<Reply> r = c.call({"GET", "big"}, CallOptions{2000ms});
    if (r.ok()) {
      EXPECT_EQ(r->str(), big);
    } else {
      EXPECT_EQ(r.code(), StatusCode::kUnavailable) << r.status().to_string();
    }
  }
  EXPECT_TRUE(c.call({"GET", "big"}, CallOptions{2000ms}).ok());
}

// The never-sent signal (reply.h) at the client: a port that refuses connections gives it, to the
// call queued for the failed attempt and to the calls refused while backing off; a server that
// accepts, takes the request and then closes mid-reply does not (above: it may have run).
TEST(RedisFault, RefusedPortGivesNeverSentEveryTime) {
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(fd);  // bound, never listening, now closed: connecting is refused
  }
  auto client = Client::from_url("redis://127.0.0.1:" + std::to_string(port), fault_options());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 5; ++i) {
    Result<Reply> r = (*client)->call({"INCR", "k"}, CallOptions{1000ms});
    ASSERT_EQ(r.code(), StatusCode::kUnavailable) << r.status().to_string();
    EXPECT_TRUE(was_never_sent(r)) << i << ": " << r.status().to_string();
  }
}

}  // namespace
}  // namespace authstore::redis
