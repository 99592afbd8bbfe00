// Tests that read and edit a Redis store's keys directly (a writer without the key, corrupt data,
// an earlier layout): a store over the fixture's plain server under a prefix of its own, a raw
// client on the same server, and a code grant to issue.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/redis_test_env.h"

namespace authstore::testing {

// A grant with PKCE and a 200-byte claim (the code's default lifetime, 600 s, unless ttl_ms).
inline CodeGrant redis_test_grant(const std::string& subject, std::int64_t ttl_ms = 0) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.redirect_uri = "https://app.example/cb";
  g.scope = "openid";
  g.claims_json = R"({"name":")" + std::string(200, 'x') + R"("})";
  g.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  g.code_challenge_method = "S256";
  g.ttl_ms = ttl_ms;
  return g;
}

// Every key of `prefix` containing `part` (sorted, bounded SCAN).
inline std::vector<std::string> keys_with(redis::Client& c, const std::string& prefix,
                                          const std::string& part) {
  std::vector<std::string> out;
  std::string cursor = "0";
  for (int i = 0; i < 10000; ++i) {
    auto r = c.call({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (!r.ok()) break;
    cursor = r->elements()[0].str();
    for (const auto& k : r->elements()[1].elements()) {
      if (k.str().find(part) != std::string::npos) out.push_back(k.str());
    }
    if (cursor == "0") break;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

class RedisStoreKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    prefix_ = "keys" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ":";
    auto c = redis::Client::from_url(redis::testing::plain_url());
    ASSERT_TRUE(c.ok());
    raw_ = std::move(c.value());
    h_ = std::make_unique<Harness>(redis::testing::plain_url() + "?prefix=" + prefix_);
  }
  // The fixture server is shared: keys left behind would slow other tests' keyspace scans.
  void TearDown() override {
    if (raw_ == nullptr) return;
    h_.reset();
    for (const std::string& k : keys_with(*raw_, prefix_, "")) (void)raw_->call({"DEL", k});
  }
  // The only key of the prefix containing `part`.
  std::string key(const std::string& part) {
    auto all = keys_with(*raw_, prefix_, part);
    EXPECT_EQ(all.size(), 1u) << part;
    return all.empty() ? std::string() : all.front();
  }
  // A string's value, or "(nil)"; a key's type.
  std::string get(const std::string& k) {
    auto r = raw_->call({"GET", k});
    return r.ok() && r->is_string() ? r->str() : std::string("(nil)");
  }
  std::string type(const std::string& k) { return raw_->call({"TYPE", k})->str(); }
  std::uint64_t security(SecurityEvent e) { return h_->store().metrics().security_events(e); }

  static inline int counter_ = 0;
  std::string prefix_;
  std::unique_ptr<redis::Client> raw_;
  std::unique_ptr<Harness> h_;
};

}  // namespace authstore::testing
