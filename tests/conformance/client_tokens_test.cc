// Conformance: client tokens, on every backend.
#include <future>

#include "conformance/backends.h"

namespace authstore::testing {
namespace {

template <class T>
class ClientTokensTest : public StoreTest<T> {
 protected:
  ClientTokenStore& ct() { return this->store().client_tokens(); }
  TokenRecord record() {
    TokenRecord t;
    t.access_token = "at-secret-value";
    t.refresh_token = "rt-secret-value";
    t.token_type = "Bearer";
    t.scope = "read write";
    t.resource = "https://api.example.com";
    t.expires_at = kStart + 3'600'000;
    t.refresh_expires_at = kStart + 86'400'000;
    t.extra_json = R"({"k":1})";
    return t;
  }
};
TYPED_TEST_SUITE(ClientTokensTest, Backends, TraitsName);

TYPED_TEST(ClientTokensTest, SaveGetHasRemove) {
  ASSERT_TRUE(this->ct().save("user:1", this->record()).ok());
  auto got = this->ct().get("user:1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->access_token, "at-secret-value");
  EXPECT_EQ(got->refresh_token, "rt-secret-value");
  EXPECT_EQ(got->token_type, "Bearer");
  EXPECT_EQ(got->scope, "read write");
  EXPECT_EQ(got->resource, "https://api.example.com");
  EXPECT_EQ(got->expires_at, kStart + 3'600'000);
  EXPECT_EQ(got->extra_json, R"({"k":1})");
  EXPECT_TRUE(this->ct().has("user:1").value());
  EXPECT_FALSE(this->ct().has("user:2").value());
  ASSERT_TRUE(this->ct().remove("user:1").ok());
  EXPECT_EQ(this->ct().remove("user:1").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ct().get("user:1").code(), StatusCode::kNotFound);
}

TYPED_TEST(ClientTokensTest, RefreshTokenOutlivesAccessTokenExpiry) {
  ASSERT_TRUE(this->ct().save_access_token("alice", "https://api.example.com", this->record()).ok());
  this->clock().advance(3'600'000 + 1);  // access token expired
  auto got = this->ct().get_access_token("alice", "https://api.example.com");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->refresh_token, "rt-secret-value");
  this->clock().advance(86'400'000);
  EXPECT_EQ(this->ct().get_access_token("alice", "https://api.example.com").code(), StatusCode::kNotFound);
}

TYPED_TEST(ClientTokensTest, EverythingExpiresUnlessAskedOtherwise) {
  TokenRecord bare;
  bare.access_token = "x";
  ASSERT_TRUE(this->ct().save("k", bare).ok());
  ASSERT_TRUE(this->ct().save("forever", bare, kNoExpiry).ok());
  ASSERT_TRUE(this->ct().save("short", bare, 1000).ok());
  this->clock().advance(1000);
  EXPECT_FALSE(this->ct().has("short").value());
  this->clock().advance(this->harness().options().client_tokens.default_ttl_ms);
  EXPECT_FALSE(this->ct().has("k").value());
  EXPECT_TRUE(this->ct().has("forever").value());
  EXPECT_EQ(this->ct().save("neg", bare, -5).status().field(), "ttl_ms");
  TokenRecord expired = bare;
  expired.expires_at = kStart;
  EXPECT_EQ(this->ct().save("old", expired).status().field(), "expires_at");
}

TYPED_TEST(ClientTokensTest, ColonsNeverMakeCompositeKeysCollide) {
  TokenRecord a = this->record();
  a.access_token = "A";
  TokenRecord b = this->record();
  b.access_token = "B";
  ASSERT_TRUE(this->ct().save_access_token("user:x", "https://h/p", a).ok());
  ASSERT_TRUE(this->ct().save_access_token("user", "x:https://h/p", b).ok());
  EXPECT_EQ(this->ct().get_access_token("user:x", "https://h/p")->access_token, "A");
  EXPECT_EQ(this->ct().get_access_token("user", "x:https://h/p")->access_token, "B");
  // Generic keys never collide with typed entries either.
  EXPECT_EQ(this->ct().get("user:x").code(), StatusCode::kNotFound);
}

TYPED_TEST(ClientTokensTest, ClientCredentialsPerServer) {
  ClientCredentials c{"client-abc", "s3cr3t", "reg-token", R"({"x":true})"};
  ASSERT_TRUE(this->ct().save_client_credentials("https://as.example.com", c, kNoExpiry).ok());
  auto got = this->ct().get_client_credentials("https://as.example.com");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->client_id, "client-abc");
  EXPECT_EQ(got->client_secret, "s3cr3t");
  EXPECT_EQ(got->registration_access_token, "reg-token");
  EXPECT_EQ(this->ct().get_client_credentials("https://other.example.com").code(), StatusCode::kNotFound);
  ASSERT_TRUE(this->ct().remove_client_credentials("https://as.example.com").ok());
  EXPECT_EQ(this->ct().get_client_credentials("https://as.example.com").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ct().save_client_credentials("not a url", c).status().field(), "server_url");
}

TYPED_TEST(ClientTokensTest, PkceValuesAreTakenOnce) {
  PkceValues p{pkce_new_verifier(), "", "S256"};
  p.code_challenge = pkce_s256_challenge(p.code_verifier);
  ASSERT_TRUE(this->ct().save_pkce("alice", "state-1", p).ok());
  auto taken = this->ct().take_pkce("alice", "state-1");
  ASSERT_TRUE(taken.ok()) << taken.status().to_string();
  EXPECT_EQ(taken->code_verifier, p.code_verifier);
  EXPECT_EQ(taken->code_challenge, p.code_challenge);
  EXPECT_EQ(this->ct().take_pkce("alice", "state-1").code(), StatusCode::kNotFound);
  ASSERT_TRUE(this->ct().save_pkce("alice", "state-2", p).ok());
  this->clock().advance(600'000);
  EXPECT_EQ(this->ct().take_pkce("alice", "state-2").code(), StatusCode::kNotFound);
}

TYPED_TEST(ClientTokensTest, PkceTakeRaceHasExactlyOneWinner) {
  RaceRounds rounds(40, 11, 200);
  while (rounds.more()) {
    const int round = rounds.round();
    const std::string state = "s" + std::to_string(round);
    PkceValues p{pkce_new_verifier(), "", "S256"};
    p.code_challenge = pkce_s256_challenge(p.code_verifier);
    ASSERT_TRUE(this->ct().save_pkce("alice", state, p).ok());
    std::atomic<int> winners{0};
    std::atomic<int> not_found{0};
    rounds.record(race(16, [&](int) {
      auto r = this->ct().take_pkce("alice", state);
      if (r.ok() && r->code_verifier == p.code_verifier) winners.fetch_add(1);
      if (r.code() == StatusCode::kNotFound) not_found.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(not_found.load(), 15) << "round " << round;
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(ClientTokensTest, ListByPrefixInPages) {
  TokenRecord t = this->record();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(this->ct().save("user:" + std::string(i < 10 ? "0" : "") + std::to_string(i), t).ok());
  }
  ASSERT_TRUE(this->ct().save("other:1", t).ok());
  ASSERT_TRUE(this->ct().save_access_token("user", "https://x", t).ok());  // typed: not listed
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = this->ct().list("user:", cursor, 10);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    ASSERT_LE(page->keys.size(), 10u);
    seen.insert(seen.end(), page->keys.begin(), page->keys.end());
    cursor = page->next_cursor;
    ASSERT_LT(++pages, 20);
  } while (!cursor.empty());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "user:00");
  EXPECT_EQ(seen.back(), "user:24");
  auto all = this->ct().list("", {}, 1000);
  EXPECT_EQ(all->keys.size(), 26u);
  EXPECT_EQ(this->ct().list("", {}, 0).status().field(), "limit");
}

// A removed token leaves the listing at once and comes back when saved again; saving over a
// key lists it once (memory keeps a key order beside its hash table: both must stay in step).
TYPED_TEST(ClientTokensTest, RemovedTokensLeaveTheListingAndSavedAgainComeBack) {
  TokenRecord t = this->record();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(this->ct().save("rl:" + std::to_string(i), t).ok());
  ASSERT_TRUE(this->ct().save("rl:3", t).ok());  // saved over: still one key
  ASSERT_TRUE(this->ct().remove("rl:1").ok());
  ASSERT_TRUE(this->ct().remove("rl:4").ok());
  auto listed = [this] {
    auto page = this->ct().list("rl:", {}, 100);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    std::vector<std::string> keys = page.ok() ? page->keys : std::vector<std::string>{};
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  EXPECT_EQ(listed(), (std::vector<std::string>{"rl:0", "rl:2", "rl:3", "rl:5"}));
  ASSERT_TRUE(this->ct().save("rl:1", t).ok());
  EXPECT_EQ(listed(), (std::vector<std::string>{"rl:0", "rl:1", "rl:2", "rl:3", "rl:5"}));
  EXPECT_EQ(this->ct().remove("rl:4").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ct().get("rl:4").code(), StatusCode::kNotFound);
}

// "next_cursor: empty when the listing is complete": an exactly full last page ends the listing
// (no cursor to an empty page), on every backend; an expired key after it does not continue it.
TYPED_TEST(ClientTokensTest, ExactlyFullLastPageHasNoCursor) {
  TokenRecord t = this->record();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(this->ct().save("full:" + std::to_string(10 + i), t).ok());
  ASSERT_TRUE(this->ct().save("fullz", t).ok());  // sorts after "full:..." but outside the prefix
  ASSERT_TRUE(this->ct().save("full;", t).ok());  // ';' follows ':' in byte order: outside too
  auto first = this->ct().list("full:", {}, 10);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_EQ(first->keys.size(), 10u);
  ASSERT_FALSE(first->next_cursor.empty());
  auto second = this->ct().list("full:", first->next_cursor, 10);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->keys.size(), 10u);
  EXPECT_TRUE(second->next_cursor.empty()) << "cursor " << second->next_cursor << " after the last key";
  auto all = this->ct().list("full:", {}, 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->keys.size(), 20u);
  EXPECT_TRUE(all->next_cursor.empty());
}

TYPED_TEST(ClientTokensTest, TamperedRecordReadsAsNotFound) {
  ASSERT_TRUE(this->ct().save("k", this->record()).ok());
  this->harness().set_tamper(true);
  EXPECT_EQ(this->ct().get("k").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 1u);
  this->harness().set_tamper(false);
  EXPECT_TRUE(this->ct().get("k").ok());
}

TYPED_TEST(ClientTokensTest, CloseRefusesLaterCalls) {
  ASSERT_TRUE(this->ct().save("k", this->record()).ok());
  this->ct().close();
  EXPECT_EQ(this->ct().get("k").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->ct().save("k", this->record()).code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(ClientTokensTest, TypedAsyncCallsDeliverTheSameOutcomes) {
  PkceValues p{pkce_new_verifier(), "", "S256"};
  std::promise<Result<Done>> saved;
  this->ct().save_pkce_async("alice", "st", p, 0, [&](Result<Done> r) { saved.set_value(std::move(r)); });
  ASSERT_TRUE(saved.get_future().get().ok());
  std::promise<Result<PkceValues>> taken;
  this->ct().take_pkce_async("alice", "st", [&](Result<PkceValues> r) { taken.set_value(std::move(r)); });
  auto t = taken.get_future().get();
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->code_verifier, p.code_verifier);
  std::promise<Result<PkceValues>> again;
  this->ct().take_pkce_async("alice", "st", [&](Result<PkceValues> r) { again.set_value(std::move(r)); });
  EXPECT_EQ(again.get_future().get().code(), StatusCode::kNotFound);
  std::promise<Result<TokenRecord>> bad;
  this->ct().get_access_token_async("alice", "not a url",
                                    [&](Result<TokenRecord> r) { bad.set_value(std::move(r)); });
  EXPECT_EQ(bad.get_future().get().status().field(), "url");
  std::promise<Result<Done>> creds;
  this->ct().save_client_credentials_async("https://as.example", ClientCredentials{"id", "secret", "", "{}"},
                                           kNoExpiry, [&](Result<Done> r) { creds.set_value(std::move(r)); });
  ASSERT_TRUE(creds.get_future().get().ok());
  std::promise<Result<ClientCredentials>> got;
  this->ct().get_client_credentials_async("https://as.example",
                                          [&](Result<ClientCredentials> r) { got.set_value(std::move(r)); });
  EXPECT_EQ(got.get_future().get()->client_secret, "secret");
}

TYPED_TEST(ClientTokensTest, BadInputNamesTheField) {
  EXPECT_EQ(this->ct().save("", this->record()).status().field(), "key");
  EXPECT_EQ(this->ct().get(std::string(2000, 'k')).status().field(), "key");
  TokenRecord t = this->record();
  t.extra_json = "[";
  EXPECT_EQ(this->ct().save("k", t).status().field(), "extra_json");
  t = this->record();
  t.access_token = std::string(70000, 'a');
  EXPECT_EQ(this->ct().save("k", t).status().field(), "record");
  EXPECT_EQ(this->ct().save_pkce("", "s", PkceValues{"v", "", ""}).status().field(), "user_id");
  EXPECT_EQ(this->ct().get_access_token("u", "relative").status().field(), "url");
}

}  // namespace
}  // namespace authstore::testing
