// Conformance: JWT ID replay cache, on every backend.
#include <future>

#include "conformance/backends.h"

namespace authstore::testing {
namespace {

template <class T>
class ReplayTest : public StoreTest<T> {
 protected:
  ReplayCache& rc() { return this->store().replay(); }
  // The `n` reservations that reached the backend so far took its production path: answered
  // synchronously by memory (reserve_now), through the callback by SQLite and Redis.
  void expect_production_path(int n) {
    const Harness::ReplayPaths p = this->harness().replay_paths();
    const bool synchronous = T::name() == "memory";
    EXPECT_EQ(p.synchronous, synchronous ? n : 0) << T::name();
    EXPECT_EQ(p.callback, synchronous ? 0 : n) << T::name();
  }
};
TYPED_TEST_SUITE(ReplayTest, Backends, TraitsName);

TYPED_TEST(ReplayTest, ReserveThenReplayed) {
  auto r = this->rc().reserve("https://issuer.example", "jti-1", kStart + 300'000);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->kept_until, kStart + 300'000 + 60'000);
  EXPECT_FALSE(r->owner.empty());
  auto again = this->rc().reserve("https://issuer.example", "jti-1", kStart + 300'000);
  EXPECT_EQ(again.code(), StatusCode::kReplayed);
  EXPECT_EQ(this->security(SecurityEvent::kJtiReplay), 1u);
  this->expect_production_path(2);
}

// Every reserve is counted once with its outcome, through the blocking and the async call, on
// the synchronous (memory) and the callback (SQLite, Redis) paths alike.
TYPED_TEST(ReplayTest, EveryOutcomeIsCountedOnceInMetrics) {
  const Metrics& m = this->store().metrics();
  ASSERT_TRUE(this->rc().reserve("iss", "m-1", kStart + 1000).ok());
  EXPECT_EQ(this->rc().reserve("iss", "m-1", kStart + 1000).code(), StatusCode::kReplayed);
  EXPECT_EQ(this->rc().reserve("iss", "m-2", kStart + 400LL * 24 * 3600 * 1000).code(),
            StatusCode::kInvalidArgument);
  std::promise<Result<Reservation>> got;
  this->rc().reserve_async("iss", "m-3", kStart + 1000,
                           [&got](Result<Reservation> r) { got.set_value(std::move(r)); });
  auto r = got.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->jti, "m-3");
  EXPECT_EQ(r->issuer, "iss");
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kOk), 2u);
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kReplayed), 1u);
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kInvalidArgument), 1u);
  EXPECT_EQ(this->security(SecurityEvent::kJtiReplay), 1u);
  // The refused one never reached the backend; the three others took the production path.
  this->expect_production_path(3);
  // The replayed branch through the async call as well.
  std::promise<Result<Reservation>> again;
  this->rc().reserve_async("iss", "m-3", kStart + 1000,
                           [&again](Result<Reservation> res) { again.set_value(std::move(res)); });
  EXPECT_EQ(again.get_future().get().code(), StatusCode::kReplayed);
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kReplayed), 2u);
  EXPECT_EQ(this->security(SecurityEvent::kJtiReplay), 2u);
  this->expect_production_path(4);
}

TYPED_TEST(ReplayTest, ScopedPerIssuer) {
  ASSERT_TRUE(this->rc().reserve("issuer-a", "same-jti", kStart + 1000).ok());
  EXPECT_TRUE(this->rc().reserve("issuer-b", "same-jti", kStart + 1000).ok());
  // No ambiguity between (issuer, jti) splits.
  ASSERT_TRUE(this->rc().reserve("ab", "c", kStart + 1000).ok());
  EXPECT_TRUE(this->rc().reserve("a", "bc", kStart + 1000).ok());
}

TYPED_TEST(ReplayTest, KeptUntilExpiryPlusLeewayThenFree) {
  ASSERT_TRUE(this->rc().reserve("iss", "j", kStart + 10'000).ok());
  this->clock().advance(10'000 + 60'000 - 1);
  EXPECT_EQ(this->rc().reserve("iss", "j", kStart + 10'000).code(), StatusCode::kReplayed);
  this->clock().advance(1);
  EXPECT_TRUE(this->rc().reserve("iss", "j", kStart + 100'000).ok());
}

TYPED_TEST(ReplayTest, MinimumTtlAppliesToTokensAboutToExpire) {
  auto r = this->rc().reserve("iss", "short", kStart - 59'900);  // within leeway
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kept_until, kStart + 1000);
}

TYPED_TEST(ReplayTest, AbsurdOrPastExpiryIsAnError) {
  auto far = this->rc().reserve("iss", "j", kStart + 25LL * 3600 * 1000);
  EXPECT_EQ(far.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(far.status().field(), "expires_at");
  auto past = this->rc().reserve("iss", "j", kStart - 61'000);
  EXPECT_EQ(past.status().field(), "expires_at");
  EXPECT_EQ(this->rc().reserve("", "j", kStart).status().field(), "issuer");
  EXPECT_EQ(this->rc().reserve("iss", "", kStart).status().field(), "jti");
  EXPECT_EQ(this->rc().reserve("iss", std::string(2000, 'j'), kStart).status().field(), "jti");
}

TYPED_TEST(ReplayTest, ReleaseOnlyByTheHolder) {
  auto mine = this->rc().reserve("iss", "j", kStart + 1000);
  ASSERT_TRUE(mine.ok());
  Reservation forged = mine.value();
  forged.owner = "AAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(this->rc().release(forged).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->rc().reserve("iss", "j", kStart + 1000).code(), StatusCode::kReplayed);
  ASSERT_TRUE(this->rc().release(mine.value()).ok());
  EXPECT_EQ(this->rc().release(mine.value()).code(), StatusCode::kNotFound);
  auto next = this->rc().reserve("iss", "j", kStart + 1000);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(this->rc().release(mine.value()).code(),
            StatusCode::kNotFound);  // old holder can't free the new one
  EXPECT_EQ(this->rc().reserve("iss", "j", kStart + 1000).code(), StatusCode::kReplayed);
  Reservation bad = next.value();
  bad.owner = "not base64!";
  EXPECT_EQ(this->rc().release(bad).status().field(), "owner");
}

TYPED_TEST(ReplayTest, SixteenThreadsRaceOnOneJtiExactlyOneWins) {
  RaceRounds rounds(100, 26, 400);
  while (rounds.more()) {
    const int round = rounds.round();
    const std::string jti = "race-" + std::to_string(round);
    std::atomic<int> winners{0};
    std::atomic<int> replays{0};
    rounds.record(race(16, [&](int) {
      auto r = this->rc().reserve("iss", jti, kStart + 60'000);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kReplayed) replays.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(replays.load(), 15);
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TEST(ReplayMemory, FullCacheFailsClosedAndNeverEvictsUnexpired) {
  Options o;
  o.replay.memory_capacity = 64;
  o.replay.memory_shards = 1;
  Harness h("memory://", o);
  for (int i = 0; i < 64; ++i)
    ASSERT_TRUE(h.store().replay().reserve("iss", std::to_string(i), kStart + 1000).ok());
  auto full = h.store().replay().reserve("iss", "one-more", kStart + 1000);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(h.store().metrics().security_events(SecurityEvent::kCapacityRejected), 1u);
  std::promise<Result<Reservation>> async_full;
  h.store().replay().reserve_async("iss", "one-more", kStart + 1000,
                                   [&](Result<Reservation> r) { async_full.set_value(std::move(r)); });
  EXPECT_EQ(async_full.get_future().get().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(h.store().metrics().security_events(SecurityEvent::kCapacityRejected), 2u);
  EXPECT_EQ(h.store().metrics().operations("replay", "reserve", StatusCode::kResourceExhausted), 2u);
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(h.store().replay().reserve("iss", std::to_string(i), kStart + 1000).code(),
              StatusCode::kReplayed);
  }
  EXPECT_EQ(h.store().metrics().security_events(SecurityEvent::kJtiReplay), 64u);
  h.clock().advance(61'000);  // all expired: room again
  EXPECT_TRUE(h.store().replay().reserve("iss", "one-more", kStart + 100'000).ok());
  // Every one of them was answered synchronously: the memory fast path, as in production.
  EXPECT_EQ(h.replay_paths().synchronous, 64 + 2 + 64 + 1);
  EXPECT_EQ(h.replay_paths().callback, 0);
}

// SQLite: a file at its max_page_count refuses the next reservation with kResourceExhausted,
// through the callback path, counted like the memory cache's refusal; held ones still replay.
TEST(ReplaySqlite, FullFileFailsClosedAndIsCounted) {
  Harness h(SqliteBackendTraits::url() + "?max_page_count=40");
  ReplayCache& rc = h.store().replay();
  int held = 0;
  Result<Reservation> full = Status::Ok();
  for (; held < 20'000; ++held) {
    full = rc.reserve("https://issuer.example/" + std::string(200, 'i'), "jti-" + std::to_string(held),
                      kStart + 1000);
    if (!full.ok()) break;
  }
  ASSERT_EQ(full.code(), StatusCode::kResourceExhausted) << full.status().to_string() << " after " << held;
  ASSERT_GT(held, 0);
  const Metrics& m = h.store().metrics();
  EXPECT_EQ(m.security_events(SecurityEvent::kCapacityRejected), 1u);
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kResourceExhausted), 1u);
  EXPECT_EQ(m.operations("replay", "reserve", StatusCode::kOk), static_cast<std::uint64_t>(held));
  EXPECT_EQ(rc.reserve("https://issuer.example/" + std::string(200, 'i'), "jti-0", kStart + 1000).code(),
            StatusCode::kReplayed);
  EXPECT_EQ(m.security_events(SecurityEvent::kJtiReplay), 1u);
  EXPECT_EQ(h.replay_paths().synchronous, 0);
  EXPECT_EQ(h.replay_paths().callback, held + 2);
}

TEST(ReplayMemory, SmallCacheWithDefaultShardsHoldsExactlyItsCapacity) {
  Options o;
  o.replay.memory_capacity = 1500;  // below 2 x 1024: one shard, whatever memory_shards says
  Harness h("memory://", o);
  for (int i = 0; i < 1500; ++i) {
    ASSERT_TRUE(h.store().replay().reserve("iss", std::to_string(i), kStart + 1000).ok()) << i;
  }
  EXPECT_EQ(h.store().replay().reserve("iss", "one-more", kStart + 1000).code(),
            StatusCode::kResourceExhausted);
}

TEST(ReplayMemory, ShardedCacheNeverExceedsCapacityAndRefillsAfterExpiry) {
  Options o;
  o.replay.memory_capacity = 8192;  // 8 shards of 1024
  Harness h("memory://", o);
  int held = 0;
  int refused = 0;
  std::vector<bool> is_held(10'000);
  for (int i = 0; i < 10'000; ++i) {
    auto r = h.store().replay().reserve("iss", "a" + std::to_string(i), kStart + 1000);
    if (r.ok()) {
      ++held;
      is_held[static_cast<std::size_t>(i)] = true;
    } else {
      ASSERT_EQ(r.code(), StatusCode::kResourceExhausted) << r.status().message();
      ++refused;
    }
  }
  EXPECT_LE(held, 8192);
  EXPECT_GT(held, 8192 * 9 / 10);  // shards fill evenly: refusals start near the capacity
  EXPECT_EQ(refused, 10'000 - held);
  // Every unexpired reservation is still held: none was evicted to make room.
  for (int i = 0; i < 10'000; ++i) {
    auto r = h.store().replay().reserve("iss", "a" + std::to_string(i), kStart + 1000);
    ASSERT_EQ(r.code(),
              is_held[static_cast<std::size_t>(i)] ? StatusCode::kReplayed : StatusCode::kResourceExhausted)
        << i;
  }
  h.clock().advance(61'000);  // all expired: the whole capacity is free again
  for (int i = 0; i < 4000; ++i) {
    ASSERT_TRUE(h.store().replay().reserve("iss", "b" + std::to_string(i), kStart + 100'000).ok()) << i;
  }
}

}  // namespace
}  // namespace authstore::testing
