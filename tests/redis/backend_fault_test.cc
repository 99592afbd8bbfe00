// The Redis backend on private redis-servers under faults: a full server (maxmemory with
// noeviction), a server whose maxmemory-policy changes under it, corrupt data, keys expiring
// while client tokens are listed, and values at the edges of what the stores accept.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "backends/redis/redis_backend.h"
#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/fault_proxy.h"
#include "redis/redis_test_env.h"
#include "redis/store_keys.h"

namespace authstore::testing {
namespace {

using namespace std::chrono_literals;
using redis::testing::PrivateServer;

CodeGrant grant(const std::string& subject) { return redis_test_grant(subject); }

std::int64_t info_field(redis::Client& c, const std::string& field) {
  auto r = c.call({"INFO", "memory"});
  if (!r.ok()) return -1;
  const std::string& s = r->str();
  const auto at = s.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::stoll(s.substr(at + field.size() + 1));
}

// A server a little above its own empty footprint: codes, reservations and sessions fill it.
TEST(RedisBackendFull, EveryOperationThatAddsStateIsRefusedOnAFullServerAndNothingOvershoots) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-full");
  ASSERT_TRUE(server.start(0, {"--maxmemory-policy", "noeviction"}));
  auto admin = redis::Client::from_url(server.url());
  ASSERT_TRUE(admin.ok());
  const std::int64_t base = info_field(**admin, "used_memory");
  ASSERT_GT(base, 0);
  const std::int64_t limit = base + (1 << 20);  // 1 MB of room
  ASSERT_TRUE((*admin)->call({"CONFIG", "SET", "maxmemory", std::to_string(limit)}).ok());

  Harness h(server.url() + "?prefix=full:");
  Store& s = h.store();
  std::vector<std::string> issued;
  Status refused;
  for (int i = 0; i < 20000; ++i) {  // ~2,000 codes fit; 20 MB would be 20,000+
    auto c = s.codes().issue(grant("u" + std::to_string(i % 50)));
    if (!c.ok()) {
      refused = c.status();
      break;
    }
    issued.push_back(c->code);
  }
  ASSERT_EQ(refused.code(), StatusCode::kResourceExhausted)
      << refused.to_string() << " after " << issued.size() << " codes";
  ASSERT_FALSE(issued.empty());
  // Refused before writing: the server stays near its limit, not megabytes past it.
  const std::int64_t used = info_field(**admin, "used_memory");
  EXPECT_LT(used, limit + (256 << 10));
  // The loop stopped at the limit, where one more small write may still fit (a native SET is
  // refused only while used_memory is over maxmemory): from here on the server is full for sure.
  ASSERT_TRUE((*admin)->call({"CONFIG", "SET", "maxmemory", std::to_string(used - (64 << 10))}).ok());

  // The other writes that add state are refused alike. A refused reservation is counted as the
  // replay store counts it on every backend (capacity_rejected, the operation's outcome).
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-full", h.clock().now() + 60'000).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(s.metrics().security_events(SecurityEvent::kCapacityRejected), 1u);
  EXPECT_EQ(s.metrics().operations("replay", "reserve", StatusCode::kResourceExhausted), 1u);
  EXPECT_EQ(h.replay_paths().callback, 1);  // Redis answers through the callback
  EXPECT_EQ(h.replay_paths().synchronous, 0);
  Session se;
  se.id = SessionStore::new_session_id();
  se.user_id = "zoe";
  se.refresh_expires_at = h.clock().now() + 600'000;
  EXPECT_EQ(s.sessions().upsert(se).code(), StatusCode::kResourceExhausted);
  TokenRecord tr;
  tr.access_token = "at";
  EXPECT_EQ(s.client_tokens().save("full-token", tr, 60'000).code(), StatusCode::kResourceExhausted);
  RefreshGrant rg;
  rg.subject = "zoe";
  rg.client_id = "client-1";
  EXPECT_EQ(s.refresh().issue(rg).code(), StatusCode::kResourceExhausted);

  // What was issued stays usable: reads, consumption and revocation still run.
  EXPECT_TRUE(s.codes().peek(issued.front()).ok());
  EXPECT_TRUE(s.codes().consume(issued.front()).ok());
  EXPECT_EQ(s.codes().consume(issued.front()).code(), StatusCode::kAlreadyConsumed);
  EXPECT_TRUE(s.refresh().revoke_subject("zoe").ok());
  EXPECT_TRUE(s.sessions().get_all("zoe", "full").ok());
  EXPECT_TRUE(s.client_tokens().list("").ok());
}

class RedisBackendCorrupt : public RedisStoreKeys {
 protected:
  void make_string(const std::string& k) {
    ASSERT_TRUE(raw_->call({"DEL", k}).ok());
    ASSERT_TRUE(raw_->call({"SET", k, "not-authstore"}).ok());
  }
  std::uint64_t backend_errors() { return security(SecurityEvent::kBackendError); }
};

TEST_F(RedisBackendCorrupt, CodeWithGarbledExpiryOrOfTheWrongTypeIsDataLossForPeekAndConsumeAlike) {
  Store& s = h_->store();
  auto code = s.codes().issue(grant("olga"));
  ASSERT_TRUE(code.ok());
  const std::string k = key(":ac:");
  const auto errors = backend_errors();
  // The record string with a garbled expiry (consume takes it: the code is spent, denied).
  ASSERT_TRUE(raw_->call({"SET", k, "soon:record"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  // A hash at the record's key is read as the earlier layout: garbled fields are data_loss.
  ASSERT_TRUE(raw_->call({"HSET", k, "e", "soon"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(raw_->call({"HSET", k, "e", std::to_string(h_->clock().now() + 60'000), "c", "x"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  // A key of a third type.
  ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  ASSERT_TRUE(raw_->call({"SADD", k, "x"}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kDataLoss);
  EXPECT_EQ(backend_errors(), errors + 8);  // counted
}

TEST_F(RedisBackendCorrupt, ReservationWithGarbledExpiryIsNeverOverwrittenAndIsDataLoss) {
  Store& s = h_->store();
  auto r = s.replay().reserve("https://issuer", "jti-c", h_->clock().now() + 60'000);
  ASSERT_TRUE(r.ok());
  const std::string k = key(":jr:");
  ASSERT_TRUE(raw_->call({"SET", k, "later:owner"}).ok());
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-c", h_->clock().now() + 60'000).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(s.replay().release(r.value()).code(), StatusCode::kDataLoss);
  EXPECT_EQ(raw_->call({"GET", k})->str(), "later:owner");
  // A hash is read as the earlier layout: a garbled u is data_loss there too.
  ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  ASSERT_TRUE(raw_->call({"HSET", k, "u", "later"}).ok());
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-c", h_->clock().now() + 60'000).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(s.replay().release(r.value()).code(), StatusCode::kDataLoss);
  EXPECT_EQ(raw_->call({"HGET", k, "u"})->str(), "later");
  ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  ASSERT_TRUE(raw_->call({"SADD", k, "x"}).ok());
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-c", h_->clock().now() + 60'000).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(s.replay().release(r.value()).code(), StatusCode::kDataLoss);
}

TEST_F(RedisBackendCorrupt, GarbledSessionIsDataLossForEveryOperation) {
  Store& s = h_->store();
  Session se;
  se.id = SessionStore::new_session_id();
  se.user_id = "pia";
  se.refresh_expires_at = h_->clock().now() + 600'000;
  auto saved = s.sessions().upsert(se);
  ASSERT_TRUE(saved.ok()) << saved.status().to_string();
  const std::string h = key(":sh:");
  auto fields = raw_->call({"HKEYS", h});
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->elements().size(), 1u);
  const std::string field = fields->elements()[0].str();
  ASSERT_TRUE(raw_->call({"HSET", h, field, "garbage"}).ok());
  EXPECT_EQ(s.sessions().get(se.id, "pia", "full").code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.sessions().upsert(saved.value()).code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.sessions().get_all("pia", "full").code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.sessions().delete_session(se.id, "pia", "full").code(), StatusCode::kDataLoss);
  EXPECT_EQ(raw_->call({"HGET", h, field})->str(), "garbage");  // nothing was written over it
  make_string(h);
  EXPECT_EQ(s.sessions().get(se.id, "pia", "full").code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.sessions().get_all("pia", "full").code(), StatusCode::kDataLoss);
}

// The listing goes by the index (docs/redis.md, "What a listing costs"): a garbled value is still
// listed under its key, and reading it is data_loss.
TEST_F(RedisBackendCorrupt, GarbledClientTokenIsDataLossAndStillListed) {
  Store& s = h_->store();
  TokenRecord tr;
  tr.access_token = "at-1";
  ASSERT_TRUE(s.client_tokens().save("bad", tr, 600'000).ok());
  ASSERT_TRUE(s.client_tokens().save("good", tr, 600'000).ok());
  const std::string k = key(":bad");
  ASSERT_TRUE(raw_->call({"SET", k, "no-expiry-here"}).ok());
  EXPECT_EQ(s.client_tokens().get("bad").code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.client_tokens().has("bad").code(), StatusCode::kDataLoss);
  ASSERT_TRUE(raw_->call({"DEL", k}).ok());
  ASSERT_TRUE(raw_->call({"HSET", k, "f", "v"}).ok());
  EXPECT_EQ(s.client_tokens().get("bad").code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.client_tokens().has("bad").code(), StatusCode::kDataLoss);
  auto listed = s.client_tokens().list("");
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_EQ(listed->keys, (std::vector<std::string>{"bad", "good"}));
  EXPECT_TRUE(s.client_tokens().get("good").ok());
}

// Keys that expire (natively, in Redis) between two pages leave their SCAN batch: the listing
// must still return every live key.
TEST(RedisBackendList, KeysExpiringBetweenPagesNeverHideLiveOnes) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-list");
  ASSERT_TRUE(server.start());
  Harness h(server.url() + "?prefix=list:");
  Store& s = h.store();
  TokenRecord tr;
  tr.access_token = "at";
  std::vector<std::string> live;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(s.client_tokens().save("live-" + n, tr, 3'600'000).ok());
    live.push_back("live-" + n);
    // Native TTL ~1 s (1 ms + the backend's 1 s slack); the store clock (manual) never moves.
    ASSERT_TRUE(s.client_tokens().save("brief-" + n, tr, 1).ok());
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = s.client_tokens().list("", cursor, 50);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_LE(r->keys.size(), 50u);
    seen.insert(seen.end(), r->keys.begin(), r->keys.end());
    cursor = r->next_cursor;
    if (cursor.empty()) break;
    if (page == 0) std::this_thread::sleep_for(1500ms);  // the brief ones expire meanwhile
  }
  EXPECT_TRUE(cursor.empty()) << "the listing did not end";
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::vector<std::string> missing;
  std::sort(live.begin(), live.end());
  std::set_difference(live.begin(), live.end(), seen.begin(), seen.end(), std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " live keys skipped, e.g. " << missing.front();

  // Pages of one key (a hash bucket may hold more): every key once, none skipped.
  std::vector<std::string> one_by_one;
  cursor.clear();
  for (int page = 0; page < 3000; ++page) {
    auto r = s.client_tokens().list("live-1", cursor, 1);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_LE(r->keys.size(), 1u);
    one_by_one.insert(one_by_one.end(), r->keys.begin(), r->keys.end());
    cursor = r->next_cursor;
    if (cursor.empty()) break;
  }
  std::sort(one_by_one.begin(), one_by_one.end());
  std::vector<std::string> want;
  std::copy_if(live.begin(), live.end(), std::back_inserter(want),
               [](const std::string& k) { return k.starts_with("live-1"); });
  EXPECT_EQ(one_by_one, want);
}

TEST(RedisBackendTls, InsecureSkipVerifyFromTheUrlIsLoggedAndCounted) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  std::vector<std::string> warnings;
  Options o;
  o.keys = test_keys();
  o.log = [&](LogLevel level, std::string_view m) {
    // (Other warnings, e.g. about the test ring's deliberately weak secrets, are not counted.)
    if (level == LogLevel::kWarning && m.find("insecure_skip_tls_verify") != std::string_view::npos) {
      warnings.emplace_back(m);
    }
  };
  const std::string port = redis::testing::fixture_value("REDIS_TLS_PORT");
  auto store = open("rediss://127.0.0.1:" + port + "?insecure_skip_tls_verify=true&prefix=insecure:", o);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(store->metrics().security_events(SecurityEvent::kInsecureTls), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("insecure_skip_tls_verify"), std::string::npos) << warnings[0];
  EXPECT_NE(store->metrics().prometheus().find("event=\"insecure_tls\"} 1"), std::string::npos);

  auto verified = open(
      "rediss://127.0.0.1:" + port + "?ca_file=" + redis::testing::tls_file("ca.crt") + "&prefix=insecure:",
      o);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->metrics().security_events(SecurityEvent::kInsecureTls), 0u);
  EXPECT_EQ(warnings.size(), 1u);
}

// The store over a connection gone half-open (tests/redis/fault_test.cc covers the client in depth):
// calls fail within their deadline, as errors, and service returns once the peer answers.
TEST(RedisBackendHalfOpen, StoreCallsFailWithinTheirDeadlineAndServiceReturns) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-halfopen");
  ASSERT_TRUE(server.start());
  redis::testing::FaultProxy proxy(server.port());
  ASSERT_TRUE(proxy.ok());
  Harness h(proxy.url() + "?prefix=ho:&timeout=300ms&connect_timeout=300ms");
  Store& s = h.store();
  using Clock = std::chrono::steady_clock;
  int n = 0, odd = 0, late = 0;
  auto call = [&] {
    const auto start = Clock::now();
    auto r = s.replay().reserve("https://issuer", "jti-" + std::to_string(n++), h.clock().now() + 60'000);
    if (Clock::now() - start > 300ms + 500ms) ++late;
    if (!r.ok() && r.code() != StatusCode::kUnavailable && r.code() != StatusCode::kDeadlineExceeded) ++odd;
    if (!r.ok()) std::this_thread::sleep_for(5ms);
    return r.ok();
  };
  ASSERT_TRUE(call());
  proxy.half_open();
  int ok_while_down = 0;
  for (const auto until = Clock::now() + 1200ms; Clock::now() < until;) ok_while_down += call() ? 1 : 0;
  proxy.heal();
  const auto healed = Clock::now();
  bool back = false;
  while (!back && Clock::now() - healed < 5s) back = call();
  const auto took = Clock::now() - healed;
  EXPECT_TRUE(back) << "service never came back";
  EXPECT_LT(took, 300ms + 300ms + 400ms + 500ms);
  EXPECT_EQ(ok_while_down, 0);
  EXPECT_EQ(odd, 0);
  EXPECT_EQ(late, 0);
}

// Reserves fresh JWT ids until one is refused with kFailedPrecondition; the ids reserved before.
std::vector<std::string> reserve_until_refused(Store& s, ManualClock& clock, const std::string& tag,
                                               std::chrono::milliseconds limit, Status& refused) {
  std::vector<std::string> ok;
  const auto until = std::chrono::steady_clock::now() + limit;
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
    const std::string jti = tag + std::to_string(i);
    auto r = s.replay().reserve("https://issuer", jti, clock.now() + 600'000);
    if (r.ok()) {
      ok.push_back(jti);
    } else if (r.code() == StatusCode::kFailedPrecondition) {
      refused = r.status();
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return ok;
}

TEST(RedisBackendPolicy, SwitchedToAnEvictingPolicyIsNoticedAndFailsClosedUntilRestored) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-policy-switch");
  ASSERT_TRUE(server.start(0, {"--maxmemory-policy", "noeviction"}));
  auto admin = redis::Client::from_url(server.url());
  ASSERT_TRUE(admin.ok());
  Harness h(server.url() + "?prefix=pol:&ping_interval=200ms");
  Store& s = h.store();
  auto first = s.replay().reserve("https://issuer", "before", h.clock().now() + 600'000);
  ASSERT_TRUE(first.ok()) << first.status().to_string();

  ASSERT_TRUE((*admin)->call({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}).ok());
  Status refused;
  reserve_until_refused(s, h.clock(), "during-", 3000ms, refused);
  ASSERT_EQ(refused.code(), StatusCode::kFailedPrecondition) << "the switch went unnoticed";
  EXPECT_EQ(refused.field(), "maxmemory-policy");
  EXPECT_NE(refused.message().find("allkeys-lru"), std::string::npos) << refused.message();
  // Fail closed: an id reserved before is not accepted again, nothing else runs either.
  EXPECT_EQ(s.replay().reserve("https://issuer", "before", h.clock().now() + 600'000).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.codes().issue(grant("pat")).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE((*admin)->call({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).ok());
  Status back = Status(StatusCode::kUnavailable, "not yet");
  for (int i = 0; i < 300 && !back.ok(); ++i) {
    back = s.replay()
               .reserve("https://issuer", "after-" + std::to_string(i), h.clock().now() + 600'000)
               .status();
    if (!back.ok()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(back.ok()) << back.to_string();
  EXPECT_EQ(s.replay().reserve("https://issuer", "before", h.clock().now() + 600'000).code(),
            StatusCode::kReplayed);
}

TEST(RedisBackendPolicy, RestartedWithAnEvictingPolicyIsRefusedOnReconnection) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-policy-restart");
  ASSERT_TRUE(server.start(0, {"--maxmemory-policy", "noeviction"}));
  Harness h(server.url() + "?prefix=pol:&ping_interval=60s");  // the reconnection must notice
  Store& s = h.store();
  ASSERT_TRUE(s.replay().reserve("https://issuer", "before", h.clock().now() + 600'000).ok());
  const int port = server.port();
  server.kill_now();
  ASSERT_TRUE(server.start(port, {"--maxmemory-policy", "volatile-lru"}));
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = s.replay().reserve("https://issuer", "again-" + std::to_string(i), h.clock().now() + 600'000);
    ASSERT_FALSE(r.ok()) << "a reservation ran on an evicting server";
    if (r.code() == StatusCode::kFailedPrecondition) ++refused;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(refused, 0);
}

// The check shares the first call's deadline: no call takes two (CONFIG GET, then the command).
TEST(RedisBackendPolicy, FirstCallIsBoundedByOneDeadline) {
  AUTHSTORE_REQUIRE_REDIS_FIXTURE();
  PrivateServer server("backend-first-call");
  ASSERT_TRUE(server.start());
  redis::testing::FaultProxy proxy(server.port());
  ASSERT_TRUE(proxy.ok());
  // Each way: a round trip takes 900 ms of a 2000 ms deadline, so a check made as a call of its
  // own (after the connection's first round trip) would answer in time and the command then
  // take a third round trip, past the deadline.
  proxy.set_latency(450ms);
  Harness h(proxy.url() + "?prefix=first:&timeout=2000ms&connect_timeout=2000ms");
  const auto start = std::chrono::steady_clock::now();
  // A session read (one native HGET): a generic client token's first call in a process also
  // reads the index flag (docs/redis.md, "What a listing costs").
  auto r = h.store().sessions().get(SessionStore::new_session_id(), "u", "t");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 2000ms + 500ms) << r.status().to_string();
  EXPECT_TRUE(r.code() == StatusCode::kNotFound || r.code() == StatusCode::kDeadlineExceeded)
      << r.status().to_string();
}

}  // namespace
}  // namespace authstore::testing
