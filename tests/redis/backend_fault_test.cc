// The Redis backend on private redis-servers under faults: a full server (maxmemory with
// noeviction), a server whose maxmemory-policy changes under it, corrupt data, keys expiring
// while client tokens are listed, and values at the edges of what the stores accept.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "backends/redis/redis_backend.h"
#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/fault_proxy.h"
#include "redis/redis_test_env.h"

namespace authstore::testing {
namespace {

using namespace std::chrono_literals;
using redis::testing::PrivateServer;

CodeGrant grant(const std::string& subject) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.redirect_uri = "https://app.example/cb";
  g.scope = "openid";
  g.claims_json = R"({"name":")" + std::string(200, 'x') + R"("})";
  g.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  g.code_challenge_method = "S256";
  return g;
}

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
  ASSERT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.to_string() << " after "
                                                            << issued.size() << " codes";
  ASSERT_FALSE(issued.empty());
  // Refused before writing: the server stays near its limit, not megabytes past it.
  EXPECT_LT(info_field(**admin, "used_memory"), limit + (256 << 10));

  // The other writes that add state are refused alike.
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-full", h.clock().now() + 60'000).code(),
            StatusCode::kResourceExhausted);
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
    back = s.replay().reserve("https://issuer", "after-" + std::to_string(i), h.clock().now() + 600'000).status();
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
  auto r = h.store().client_tokens().get("k");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 2000ms + 500ms) << r.status().to_string();
  EXPECT_TRUE(r.code() == StatusCode::kNotFound || r.code() == StatusCode::kDeadlineExceeded)
      << r.status().to_string();
}

}  // namespace
}  // namespace authstore::testing
