// The low-latency mode of blocking calls (Options::low_latency_spin_us, the Redis URL's spin_us):
// how it is set, which one wins, what bad values answer, that it reaches the store's wait, that a
// spinning wait answers what a sleeping one does (the whole conformance suite also runs on Redis
// with spin_us: RedisSpinBackendTraits), and that a forked child still works with it.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "conformance/backends.h"
#include "stores/context.h"
#include "stores/store_state.h"

namespace authstore::testing {
namespace {

using namespace std::chrono_literals;

Options keyed(std::int64_t spin_us = 0) {
  Options o;
  o.keys.keys = {{1, std::string(32, 'a')}};
  o.keys.route_secret = std::string(32, 'r');
  o.low_latency_spin_us = spin_us;
  return o;
}

// The spin the store's blocking calls use after open(url, options).
std::chrono::microseconds store_spin(const std::string& url, const Options& o) {
  auto st = internal::open_state(url, o);
  EXPECT_TRUE(st.ok()) << url << ": " << st.status().to_string();
  return st.ok() ? st.value()->context->wait.spin : -1us;
}

Status open_error(const std::string& url, const Options& o) {
  auto st = internal::open_state(url, o);
  EXPECT_FALSE(st.ok()) << url;
  return st.ok() ? Status::Ok() : st.status();
}

std::string redis_url(const std::string& extra) { return RedisBackendTraits::url() + extra; }

TEST(LowLatency, OffByDefault) {
  EXPECT_EQ(Options{}.low_latency_spin_us, 0);
  EXPECT_EQ(store_spin("memory://", keyed()), 0us);
  EXPECT_EQ(store_spin(redis_url(""), keyed()), 0us);
}

TEST(LowLatency, OptionsFieldOutOfRangeIsRefusedNamingIt) {
  for (std::int64_t bad : {-1LL, 1001LL, 1'000'000LL}) {
    const Status s = open_error("memory://", keyed(bad));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.field(), "low_latency_spin_us") << bad;
  }
  EXPECT_EQ(store_spin("memory://", keyed(1000)), 1000us);
}

TEST(LowLatency, OptionsFieldReachesEveryBackendsWait) {
  EXPECT_EQ(store_spin("memory://", keyed(100)), 100us);
  EXPECT_EQ(store_spin(SqliteBackendTraits::url(), keyed(100)), 100us);
  EXPECT_EQ(store_spin(redis_url(""), keyed(100)), 100us);
}

TEST(LowLatency, RedisUrlSpinUsWinsOverTheOptionsField) {
  EXPECT_EQ(store_spin(redis_url("&spin_us=150"), keyed()), 150us);
  EXPECT_EQ(store_spin(redis_url("&spin_us=150"), keyed(70)), 150us);
  EXPECT_EQ(store_spin(redis_url("&spin_us=0"), keyed(70)), 0us);  // the deployment turns it off
  EXPECT_EQ(store_spin(redis_url("&spin_us=1000"), keyed()), 1000us);
}

TEST(LowLatency, BadSpinUsIsInvalidArgumentNamingTheOption) {
  for (const char* bad : {"1001", "-1", "abc", "", "10us", "1e3"}) {
    const Status s = open_error(redis_url(std::string("&spin_us=") + bad), keyed());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("spin_us"), std::string::npos) << bad << ": " << s.to_string();
  }
}

// Every blocking call of a store with the mode on counts how its wait ended; with it off, none.
TEST(LowLatency, RedisBlockingCallsSpinAndAnswerAsWithout) {
  for (const std::int64_t spin : {0LL, 1000LL}) {
    auto st = internal::open_state(redis_url("&spin_us=" + std::to_string(spin)), keyed());
    ASSERT_TRUE(st.ok()) << st.status().to_string();
    Store s = internal::make_store(st.value());
    const auto& wait = st.value()->context->wait;
    constexpr int kCalls = 50;
    const UnixMillis exp = SystemClock::instance()->now() + 600'000;
    for (int i = 0; i < kCalls; ++i) {
      const std::string jti =
          "jti-" + std::to_string(::getpid()) + "-" + std::to_string(spin) + "-" + std::to_string(i);
      ASSERT_TRUE(s.replay().reserve("https://issuer.example", jti, exp).ok());
      EXPECT_EQ(s.replay().reserve("https://issuer.example", jti, exp).code(), StatusCode::kReplayed);
    }
    const std::uint64_t answered = wait.spin_answered.load();
    const std::uint64_t slept = wait.spin_slept.load();
    if (spin == 0) {
      EXPECT_EQ(answered + slept, 0u);
    } else {
      EXPECT_EQ(answered + slept, 2u * kCalls);
      // A loopback round trip is far below 1 ms: most answers come while spinning (a loaded
      // machine may deschedule some).
      EXPECT_GT(answered, 0u);
    }
  }
}

// A spinning waiter lives on the caller's stack and the I/O thread that busy-polls belongs to
// the process that made it: a child after fork() builds its own (Client::impl()) and works.
TEST(LowLatency, RedisStoreOpenedBeforeForkWorksInTheChildWithTheModeOn) {
  auto s = authstore::open(redis_url("&spin_us=300"), keyed());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  const UnixMillis exp = SystemClock::instance()->now() + 600'000;
  const std::string jti = "fork-" + std::to_string(::getpid());
  ASSERT_TRUE(s->replay().reserve("https://issuer.example", jti + "-parent", exp).ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    bool ok = true;
    for (int i = 0; i < 20 && ok; ++i) {
      ok = s->replay().reserve("https://issuer.example", jti + "-child-" + std::to_string(i), exp).ok();
    }
    ok = ok &&
         s->replay().reserve("https://issuer.example", jti + "-parent", exp).code() == StatusCode::kReplayed;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(s->replay().reserve("https://issuer.example", jti + "-child-0", exp).code(),
            StatusCode::kReplayed);
  EXPECT_TRUE(s->replay().reserve("https://issuer.example", jti + "-parent-after", exp).ok());
}

// The waiter itself: an answer that comes after the spin ended is waited for asleep (and is the
// answer), one that is there at once ends the spin.
TEST(LowLatencyWaiter, SpinEndsAtTheAnswerOrSleepsAfterItsBound) {
  internal::WaitPolicy policy;
  policy.spin = 20us;
  std::thread late;
  Result<int> r = internal::wait_for<int>(&policy, [&](Callback<int> done) {
    late = std::thread([done = std::move(done)]() mutable {
      std::this_thread::sleep_for(200ms);
      done(Result<int>(7));
    });
  });
  late.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(policy.spin_slept.load(), 1u);
  EXPECT_EQ(policy.spin_answered.load(), 0u);

  Result<int> at_once = internal::wait_for<int>(&policy, [](Callback<int> done) { done(Result<int>(8)); });
  ASSERT_TRUE(at_once.ok());
  EXPECT_EQ(at_once.value(), 8);
  EXPECT_EQ(policy.spin_answered.load(), 1u);

  // Off: no spin, nothing counted.
  internal::WaitPolicy off;
  EXPECT_EQ(internal::wait_for<int>(&off, [](Callback<int> done) { done(Result<int>(9)); }).value(), 9);
  EXPECT_EQ(off.spin_answered.load() + off.spin_slept.load(), 0u);
}

}  // namespace
}  // namespace authstore::testing
