// The backends every conformance test runs on. A backend joins by providing a traits header.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "conformance/harness.h"

namespace authstore::testing {

struct MemoryTraits {
  static std::string name() { return "memory"; }
  static std::string url() { return "memory://"; }
};

}  // namespace authstore::testing

#if __has_include("conformance/backend_sqlite.h")
#include "conformance/backend_sqlite.h"
#define AUTHSTORE_SQLITE_TRAITS , ::authstore::testing::SqliteBackendTraits
#else
#define AUTHSTORE_SQLITE_TRAITS
#endif
#if __has_include("conformance/backend_redis.h")
#include "conformance/backend_redis.h"
#ifdef AUTHSTORE_CONFORMANCE_SENTINEL
#define AUTHSTORE_REDIS_TRAITS                                                                 \
  , ::authstore::testing::RedisBackendTraits, ::authstore::testing::RedisClusterBackendTraits, \
      ::authstore::testing::RedisSentinelBackendTraits, ::authstore::testing::RedisSpinBackendTraits
#else
#define AUTHSTORE_REDIS_TRAITS                                                                 \
  , ::authstore::testing::RedisBackendTraits, ::authstore::testing::RedisClusterBackendTraits, \
      ::authstore::testing::RedisSpinBackendTraits
#endif
#else
#define AUTHSTORE_REDIS_TRAITS
#endif

namespace authstore::testing {

using Backends = ::testing::Types<MemoryTraits AUTHSTORE_SQLITE_TRAITS AUTHSTORE_REDIS_TRAITS>;

// The name Store::backend() answers: the traits' name, unless the traits run a backend under
// another name (backend_name(): the same backend with other URL options).
template <class Traits>
std::string backend_name() {
  if constexpr (requires { Traits::backend_name(); }) {
    return Traits::backend_name();
  } else {
    return Traits::name();
  }
}

struct TraitsName {
  template <class T>
  static std::string GetName(int) {
    return T::name();
  }
};

// Base fixture: a fresh harness (fresh backend) per test.
template <class Traits>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { h_ = std::make_unique<Harness>(Traits::url(), base_options()); }
  virtual Options base_options() { return {}; }
  Store& store() { return h_->store(); }
  ManualClock& clock() { return h_->clock(); }
  Harness& harness() { return *h_; }
  std::uint64_t security(SecurityEvent e) { return store().metrics().security_events(e); }

  std::unique_ptr<Harness> h_;
};

// Starts `n` threads at one barrier and runs body(i) in each. Returns how many threads had
// started when the first one finished: 1 means the contenders never overlapped.
template <class Body>
int race(int n, Body body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<int> started{0};
  std::atomic<int> at_first_finish{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      started.fetch_add(1);
      // Second gate: every contender is running before any touches the store (bounded wait,
      // in case the scheduler starves one; the return value then tells).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (started.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      body(i);
      int expected = 0;
      at_first_finish.compare_exchange_strong(expected, started.load());
    });
  }
  while (ready.load() < n) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  return at_first_finish.load();
}

// The rounds of a race test: at least `min_rounds`, then more (at most `max_rounds` in all) while
// fewer than `wanted` rounds had contenders that overlapped (race() > 1). A loaded machine makes
// the test run longer instead of passing without a race or failing at random; the test asserts
// overlapped() >= wanted() at the end, so a race that never happens fails it.
//   for (RaceRounds r(40, 10, 400); r.more();) { ...; r.record(race(16, body)); ASSERT_...; }
//   EXPECT_GE(r.overlapped(), r.wanted()) << r;
class RaceRounds {
 public:
  RaceRounds(int min_rounds, int wanted, int max_rounds)
      : min_rounds_(min_rounds), wanted_(wanted), max_rounds_(max_rounds) {}
  bool more() const { return round_ < min_rounds_ || (overlapped_ < wanted_ && round_ < max_rounds_); }
  int round() const { return round_; }  // the current round, from 0
  void record(int started_at_first_finish) {
    if (started_at_first_finish > 1) ++overlapped_;
    ++round_;
  }
  int overlapped() const { return overlapped_; }
  int wanted() const { return wanted_; }
  friend std::ostream& operator<<(std::ostream& os, const RaceRounds& r) {
    return os << "contenders overlapped in " << r.overlapped_ << " of " << r.round_ << " rounds (wanted "
              << r.wanted_ << "): the race proves little";
  }

 private:
  int min_rounds_;
  int wanted_;
  int max_rounds_;
  int round_ = 0;
  int overlapped_ = 0;
};

}  // namespace authstore::testing
