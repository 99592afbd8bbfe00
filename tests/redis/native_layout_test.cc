// Codes and replay reservations in the native layout (docs/redis.md, "Codes", "Replay
// reservations"), against the fixture's real redis-server:
//  * the layout itself (two strings per code in one slot; one string per reservation);
//  * the store clock decides expiry: an entry Redis still holds but the store clock says expired
//    reads as absent, and the rare-path scripts replace it;
//  * entries of the earlier layout (hashes written as the earlier scripts wrote them) stay
//    consumable exactly once / keep holding after the upgrade, also under races;
//  * a writer without the key editing the new keys can only deny or roll back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <string>
#include <vector>

#include "authstore/admin.h"
#include "backends/redis/redis_backend.h"
#include "conformance/backends.h"
#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/redis_test_env.h"
#include "redis/store_keys.h"

namespace authstore::testing {
namespace {

CodeGrant grant(const std::string& subject) { return redis_test_grant(subject, 60'000); }

class RedisNativeLayout : public RedisStoreKeys {
 protected:
  // Rewrites the code issued last (its two strings) as the earlier layout's hash, the way the
  // earlier code_insert wrote it: HSET e c r t, PEXPIRE; a consumed one: c 1 and no r.
  void to_earlier_layout(bool consumed) {
    const std::string rec = key(":ac:");
    const std::string tomb = key(":act:");
    const std::string rv = get(rec);
    const std::string tv = get(tomb);
    const std::size_t colon = rv.find(':');
    ASSERT_NE(colon, std::string::npos);
    const std::string e = rv.substr(0, colon);
    ASSERT_TRUE(raw_->call({"DEL", rec, tomb}).ok());
    if (consumed) {
      ASSERT_TRUE(raw_->call({"HSET", rec, "e", e, "c", "1", "t", tv.substr(tv.find(':') + 1)}).ok());
    } else {
      ASSERT_TRUE(raw_->call({"HSET", rec, "e", e, "c", "0", "r", rv.substr(colon + 1), "t",
                              tv.substr(tv.find(':') + 1)})
                      .ok());
    }
    ASSERT_TRUE(raw_->call({"PEXPIRE", rec, "61000"}).ok());
  }
};

TEST_F(RedisNativeLayout, ACodeIsARecordStringAndATombstoneStringInOneSlot) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("ana"));
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  const std::string rec = key(":ac:");
  const std::string tomb = key(":act:");
  EXPECT_EQ(type(rec), "string");
  EXPECT_EQ(type(tomb), "string");
  // One hash tag, hence one slot (Cluster): the record's key with "ac:" turned into "act:".
  EXPECT_EQ(tomb, prefix_ + "act:" + rec.substr(prefix_.size() + 3));
  EXPECT_EQ(raw_->call({"CLUSTER", "KEYSLOT", rec}).ok(), raw_->call({"CLUSTER", "KEYSLOT", tomb}).ok());
  const std::string expires = std::to_string(code->expires_at) + ":";
  EXPECT_EQ(get(rec).rfind(expires, 0), 0u);
  EXPECT_EQ(get(tomb).rfind(expires, 0), 0u);
  for (const std::string& k : {rec, tomb}) {
    const std::int64_t ttl = raw_->call({"PTTL", k})->integer();
    EXPECT_GT(ttl, 60'000);  // the remaining lifetime by the store clock, plus 1 s of slack
    EXPECT_LE(ttl, 61'000);
  }
  auto first = s.codes().consume(code->code);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->grant.scope, "openid");
  EXPECT_EQ(get(rec), "(nil)");  // taken by GETDEL
  EXPECT_EQ(get(tomb).rfind(expires, 0), 0u);
  for (int i = 0; i < 2; ++i) {
    auto again = i == 0 ? s.codes().consume(code->code) : s.codes().peek(code->code);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->grant.grant_id, code->grant_id);
    EXPECT_EQ(again->grant.subject, "ana");
    EXPECT_EQ(again->grant.client_id, "client-1");
  }
}

TEST_F(RedisNativeLayout, ACodeTheStoreClockSaysExpiredReadsAbsentWhileRedisStillHoldsIt) {
  Store& s = h_->store();
  auto fresh = s.codes().issue(grant("bo"));
  ASSERT_TRUE(fresh.ok());
  h_->clock().advance(60'000);  // expires_at == now: expired
  ASSERT_EQ(get(key(":ac:")).rfind(std::to_string(fresh->expires_at) + ":", 0), 0u);  // Redis holds it
  EXPECT_EQ(s.codes().peek(fresh->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.codes().consume(fresh->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.codes().consume(fresh->code).code(), StatusCode::kNotFound);  // its tombstone: expired too
  EXPECT_EQ(s.codes().peek(fresh->code).code(), StatusCode::kNotFound);
}

// The rare path of issue (backend level: a store never issues one key twice): a key Redis holds
// whose entry the store clock says expired is overwritten by the script; a live one is refused,
// and the refused issue leaves nothing of its own behind.
TEST_F(RedisNativeLayout, IssueOverwritesAnEntryTheStoreClockSaysExpiredAndRefusesALiveOne) {
  internal::Backend& b = h_->backend();
  const std::string k = "ac:{AAAAAAAAAAA}:x";
  const UnixMillis t0 = kStart;
  auto insert = [&](const std::string& record, UnixMillis expires_at, UnixMillis now) {
    std::promise<Status> p;
    b.codes().insert(k, record, "tomb-" + record, expires_at, now,
                     [&](Result<Done> r) { p.set_value(r.status()); });
    return p.get_future().get();
  };
  auto consume = [&](UnixMillis now) {
    std::promise<Result<internal::CodeSlot>> p;
    b.codes().consume(k, now, [&](Result<internal::CodeSlot> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  ASSERT_TRUE(insert("one", t0 + 1000, t0).ok());
  EXPECT_EQ(insert("two", t0 + 60'000, t0 + 500).code(), StatusCode::kAlreadyExists);  // live
  EXPECT_EQ(get(prefix_ + k), std::to_string(t0 + 1000) + ":one");                     // untouched
  EXPECT_EQ(get(prefix_ + "act:{AAAAAAAAAAA}:x"), std::to_string(t0 + 1000) + ":tomb-one");
  // Consumed, and then expired by the store clock (Redis holds the tombstone for 1 s more).
  ASSERT_TRUE(consume(t0 + 10).ok());
  EXPECT_EQ(insert("three", t0 + 60'000, t0 + 500).code(), StatusCode::kAlreadyExists);  // tombstone live
  EXPECT_EQ(get(prefix_ + k), "(nil)");                      // the refused issue's own record was taken back
  ASSERT_TRUE(insert("four", t0 + 60'000, t0 + 1000).ok());  // expired by the store clock
  auto got = consume(t0 + 1001);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_FALSE(got->consumed);
  EXPECT_EQ(got->blob, "four");
  auto tomb = consume(t0 + 1002);
  ASSERT_TRUE(tomb.ok());
  EXPECT_TRUE(tomb->consumed);
  EXPECT_EQ(tomb->blob, "tomb-four");
}

TEST_F(RedisNativeLayout, AReservationIsOneStringAndOneTheStoreClockSaysExpiredIsReplaced) {
  ReplayCache& rc = h_->store().replay();
  auto first = rc.reserve("https://issuer", "jti-1", h_->clock().now() + 10'000);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  const std::string k = key(":jr:");
  EXPECT_EQ(type(k), "string");
  const std::string stored = get(k);
  // kept until the JWT's exp plus the replay leeway (60 s by default).
  EXPECT_EQ(stored.rfind(std::to_string(h_->clock().now() + 70'000) + ":", 0), 0u);
  EXPECT_EQ(rc.reserve("https://issuer", "jti-1", h_->clock().now() + 10'000).code(), StatusCode::kReplayed);
  EXPECT_EQ(get(k), stored);  // SET NX: the live reservation untouched
  h_->clock().advance(70'000);
  ASSERT_EQ(get(k), stored);  // Redis still holds it; the store clock says it expired
  EXPECT_EQ(rc.release(first.value()).code(), StatusCode::kNotFound);
  auto second = rc.reserve("https://issuer", "jti-1", h_->clock().now() + 10'000);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_NE(get(k), stored);
  EXPECT_EQ(rc.reserve("https://issuer", "jti-1", h_->clock().now() + 10'000).code(), StatusCode::kReplayed);
  EXPECT_EQ(rc.release(first.value()).code(), StatusCode::kNotFound);  // not the owner
  EXPECT_TRUE(rc.release(second.value()).ok());
  EXPECT_EQ(get(k), "(nil)");
}

// ---- Upgrade: entries of the earlier layout, written as the earlier scripts wrote them.

TEST_F(RedisNativeLayout, ACodeOfTheEarlierLayoutIsConsumableExactlyOnce) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("cy"));
  ASSERT_TRUE(code.ok());
  to_earlier_layout(false);
  ASSERT_EQ(type(key(":ac:")), "hash");
  auto peek = s.codes().peek(code->code);
  ASSERT_TRUE(peek.ok()) << peek.status().to_string();
  auto first = s.codes().consume(code->code);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->grant.subject, "cy");
  for (int i = 0; i < 2; ++i) {
    auto again = i == 0 ? s.codes().consume(code->code) : s.codes().peek(code->code);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->grant.grant_id, code->grant_id);
  }
  EXPECT_EQ(type(key(":ac:")), "hash");  // consumed in place, as before
  EXPECT_EQ(s.metrics().security_events(SecurityEvent::kBackendError), 0u);
}

TEST_F(RedisNativeLayout, AConsumedCodeOfTheEarlierLayoutStaysConsumed) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("di"));
  ASSERT_TRUE(code.ok());
  to_earlier_layout(true);
  for (int i = 0; i < 2; ++i) {
    auto again = i == 0 ? s.codes().consume(code->code) : s.codes().peek(code->code);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->grant.grant_id, code->grant_id);
  }
  h_->clock().advance(60'000);  // expired by the store clock, still in Redis
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kNotFound);
}

TEST_F(RedisNativeLayout, SixteenThreadsRaceToConsumeACodeOfTheEarlierLayoutExactlyOneWins) {
  Store& s = h_->store();
  RaceRounds rounds(30, 10, 200);
  while (rounds.more()) {
    const int round = rounds.round();
    auto code = s.codes().issue(grant("race"));
    ASSERT_TRUE(code.ok());
    to_earlier_layout(false);
    std::atomic<int> winners{0};
    std::atomic<int> replays{0};
    rounds.record(race(16, [&](int) {
      auto r = s.codes().consume(code->code);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kAlreadyConsumed) replays.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(replays.load(), 15) << "round " << round;
    ASSERT_TRUE(raw_->call({"DEL", key(":ac:")}).ok());
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TEST_F(RedisNativeLayout, AReservationOfTheEarlierLayoutStillHoldsAndIsReleasedByItsOwner) {
  ReplayCache& rc = h_->store().replay();
  auto mine = rc.reserve("https://issuer", "jti-old", h_->clock().now() + 10'000);
  ASSERT_TRUE(mine.ok());
  const std::string k = key(":jr:");
  const std::string v = get(k);
  const std::size_t colon = v.find(':');
  // As the earlier replay_reserve wrote it: HSET u o, PEXPIRE.
  ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  ASSERT_TRUE(raw_->call({"HSET", k, "u", v.substr(0, colon), "o", v.substr(colon + 1)}).ok());
  ASSERT_TRUE(raw_->call({"PEXPIRE", k, "71000"}).ok());
  EXPECT_EQ(rc.reserve("https://issuer", "jti-old", h_->clock().now() + 10'000).code(),
            StatusCode::kReplayed);
  EXPECT_EQ(type(k), "hash");  // still the earlier entry
  EXPECT_TRUE(rc.release(mine.value()).ok());
  EXPECT_EQ(type(k), "none");
  // Written again in the earlier layout, then expired by the store clock: replaced by a string.
  ASSERT_TRUE(raw_->call({"HSET", k, "u", v.substr(0, colon), "o", v.substr(colon + 1)}).ok());
  ASSERT_TRUE(raw_->call({"PEXPIRE", k, "71000"}).ok());
  h_->clock().advance(70'000);
  auto next = rc.reserve("https://issuer", "jti-old", h_->clock().now() + 10'000);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(type(k), "string");
  EXPECT_EQ(rc.reserve("https://issuer", "jti-old", h_->clock().now() + 10'000).code(),
            StatusCode::kReplayed);
}

// The rare path of reserve under a race: a reservation the store clock says expired (Redis still
// holds it, in either layout) is taken by exactly one of sixteen contenders.
TEST_F(RedisNativeLayout, SixteenThreadsRaceForAReservationTheStoreClockSaysExpiredExactlyOneWins) {
  ReplayCache& rc = h_->store().replay();
  RaceRounds rounds(30, 10, 200);
  while (rounds.more()) {
    const int round = rounds.round();
    const std::string jti = "race-" + std::to_string(round);
    auto old = rc.reserve("https://issuer", jti, h_->clock().now() + 5'000);
    ASSERT_TRUE(old.ok());
    const std::string k = key(":jr:");
    if (round % 2 == 1) {  // the earlier layout
      const std::string v = get(k);
      const std::size_t colon = v.find(':');
      ASSERT_TRUE(raw_->call({"DEL", k}).ok());
      ASSERT_TRUE(raw_->call({"HSET", k, "u", v.substr(0, colon), "o", v.substr(colon + 1)}).ok());
      ASSERT_TRUE(raw_->call({"PEXPIRE", k, "66000"}).ok());
    }
    h_->clock().advance(65'000);  // the JWT's exp plus the replay leeway
    std::atomic<int> winners{0};
    std::atomic<int> replays{0};
    rounds.record(race(16, [&](int) {
      auto r = rc.reserve("https://issuer", jti, h_->clock().now() + 5'000);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kReplayed) replays.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(replays.load(), 15) << "round " << round;
    ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

// ---- A writer without the key, editing the new keys: it can deny or roll back, never grant.

TEST_F(RedisNativeLayout, ATombstoneOrAnotherCodesRecordPutInTheRecordKeyNeverGrants) {
  Store& s = h_->store();
  auto a = s.codes().issue(grant("eve"));
  ASSERT_TRUE(a.ok());
  const std::string rec = key(":ac:");
  const std::string tomb = key(":act:");
  // The tombstone copied over the record: a record MAC of another type, read as not found.
  ASSERT_TRUE(raw_->call({"SET", rec, get(tomb)}).ok());
  const auto failures = security(SecurityEvent::kSignatureFailure);
  EXPECT_EQ(s.codes().peek(a->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.codes().consume(a->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(security(SecurityEvent::kSignatureFailure), failures + 2);
  // Another code's record under this code's key: bound to its own key, read as not found.
  ASSERT_TRUE(raw_->call({"DEL", rec, tomb}).ok());
  auto b = s.codes().issue(grant("eve"));
  ASSERT_TRUE(b.ok());
  const std::string b_rec = key(":ac:");
  const std::string b_tomb = key(":act:");
  ASSERT_TRUE(raw_->call({"SET", rec, get(b_rec)}).ok());
  ASSERT_TRUE(raw_->call({"SET", tomb, get(b_tomb)}).ok());
  EXPECT_EQ(s.codes().consume(a->code).code(), StatusCode::kNotFound);  // the record
  EXPECT_EQ(s.codes().consume(a->code).code(), StatusCode::kNotFound);  // then the tombstone
  EXPECT_TRUE(s.codes().consume(b->code).ok());                         // b itself is intact
}

TEST_F(RedisNativeLayout, EditedExpiriesAndGarbledValuesOnlyDeny) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("fay"));
  ASSERT_TRUE(code.ok());
  const std::string rec = key(":ac:");
  const std::string tomb = key(":act:");
  const std::string rv = get(rec);
  // A later expiry written over the record's: the signed expiry inside still decides.
  const std::string extended = std::to_string(code->expires_at + 3'600'000) + rv.substr(rv.find(':'));
  ASSERT_TRUE(raw_->call({"SET", rec, extended}).ok());
  h_->clock().advance(60'000);
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kNotFound);
  h_->clock().advance(-60'000);
  // A garbled expiry prefix: data_loss for peek and consume alike (consume took it: denied).
  ASSERT_TRUE(raw_->call({"SET", rec, "soon" + rv.substr(rv.find(':'))}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  // Then the tombstone answers; garbled, it is data_loss too.
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kAlreadyConsumed);
  ASSERT_TRUE(raw_->call({"SET", tomb, "x:y"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  // Keys of another type: data_loss, never a grant.
  ASSERT_TRUE(raw_->call({"DEL", tomb}).ok());
  ASSERT_TRUE(raw_->call({"RPUSH", rec, "x"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(raw_->call({"DEL", rec}).ok());
  ASSERT_TRUE(raw_->call({"HSET", rec, "f", "v"}).ok());  // a hash without the earlier layout's e
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
}

TEST_F(RedisNativeLayout, AGarbledReservationIsNeverOverwritten) {
  ReplayCache& rc = h_->store().replay();
  auto mine = rc.reserve("https://issuer", "jti-g", h_->clock().now() + 10'000);
  ASSERT_TRUE(mine.ok());
  const std::string k = key(":jr:");
  for (const std::string garbled : {"later:owner", "no-colon", ":owner"}) {
    ASSERT_TRUE(raw_->call({"SET", k, garbled}).ok());
    EXPECT_EQ(rc.reserve("https://issuer", "jti-g", h_->clock().now() + 10'000).code(), StatusCode::kDataLoss)
        << garbled;
    EXPECT_EQ(rc.release(mine.value()).code(), StatusCode::kDataLoss) << garbled;
    EXPECT_EQ(get(k), garbled);
  }
  // Another owner written in: the real owner can no longer release it (deny), nobody reserves.
  const std::string v = std::to_string(h_->clock().now() + 10'000) + ":someone-else";
  ASSERT_TRUE(raw_->call({"SET", k, v}).ok());
  EXPECT_EQ(rc.release(mine.value()).code(), StatusCode::kNotFound);
  EXPECT_EQ(rc.reserve("https://issuer", "jti-g", h_->clock().now() + 10'000).code(), StatusCode::kReplayed);
  EXPECT_EQ(get(k), v);
}

// ---- Operator views and the marker sample read the new keys (and the earlier layout's).

TEST_F(RedisNativeLayout, CountsAndTheKeyWalkSeeCodesInBothLayouts) {
  const std::string url = redis::testing::plain_url() + "?prefix=" + prefix_;
  auto admin = StoreAdmin::open(url, h_->options());
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  Store& s = h_->store();
  auto earlier = s.codes().issue(grant("gil"));
  ASSERT_TRUE(earlier.ok());
  to_earlier_layout(false);                       // 1: a hash of the earlier layout
  auto consumed = s.codes().issue(grant("gil"));  // 2: a tombstone alone
  ASSERT_TRUE(consumed.ok());
  ASSERT_TRUE(s.codes().consume(consumed->code).ok());
  ASSERT_TRUE(s.codes().issue(grant("gil")).ok());  // 3: a record and its tombstone
  ASSERT_TRUE(s.replay().reserve("https://issuer", "jti-n", h_->clock().now() + 10'000).ok());
  auto counts = admin->counts();
  ASSERT_TRUE(counts.ok()) << counts.status().to_string();
  EXPECT_EQ(counts->codes, 3);
  EXPECT_EQ(counts->replay_reservations, 1);
  auto walk = admin->check_keys();
  ASSERT_TRUE(walk.ok()) << walk.status().to_string();
  EXPECT_EQ(walk->failed, 0);
  // The earlier hash's record, the tombstone alone, the record and the tombstone of the third.
  EXPECT_EQ(walk->verified, 4);
  std::int64_t codes = 0;
  std::int64_t tombstones = 0;
  for (const auto& [id, kinds] : walk->by_key_and_kind) {
    if (auto it = kinds.find("code"); it != kinds.end()) codes += it->second;
    if (auto it = kinds.find("code_tombstone"); it != kinds.end()) tombstones += it->second;
  }
  EXPECT_EQ(codes, 2);
  EXPECT_EQ(tombstones, 2);
}

// open() of a store without its marker samples the records (docs/security.md, "Store marker"):
// codes as native strings verify there too.
TEST_F(RedisNativeLayout, AStoreHoldingOnlyCodesOpensWithoutItsMarker) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("hal"));
  ASSERT_TRUE(code.ok());
  auto consumed = s.codes().issue(grant("hal"));
  ASSERT_TRUE(consumed.ok());
  ASSERT_TRUE(s.codes().consume(consumed->code).ok());
  ASSERT_TRUE(raw_->call({"DEL", prefix_ + "marker"}).ok());
  const std::string url = redis::testing::plain_url() + "?prefix=" + prefix_;
  auto reopened = open(url, h_->options());
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ(type(prefix_ + "marker"), "string");  // written again after the sample verified
  // A foreign ring is refused by the same sample.
  Options foreign = h_->options();
  foreign.keys.keys[0].secret = std::string(32, 'z');
  ASSERT_TRUE(raw_->call({"DEL", prefix_ + "marker"}).ok());
  EXPECT_FALSE(open(url, foreign).ok());
}

}  // namespace
}  // namespace authstore::testing
