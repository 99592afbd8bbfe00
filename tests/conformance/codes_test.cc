// Conformance: authorization codes, on every backend.
#include <future>

#include "conformance/backends.h"
#include "conformance/legacy_v1.h"

namespace authstore::testing {
namespace {

template <class T>
class CodesTest : public StoreTest<T> {};
TYPED_TEST_SUITE(CodesTest, Backends, TraitsName);

CodeGrant sample_grant() {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = "alice@example.com";
  g.claims_json = R"({"email":"alice@example.com","name":"Alice"})";
  g.scope = "openid profile";
  g.redirect_uri = "https://app.example.com/cb";
  g.nonce = "n-0S6_WzA2Mj";
  g.code_challenge = pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  g.code_challenge_method = "S256";
  g.auth_time = kStart - 1000;
  g.extra_json = R"({"acr":"1"})";
  return g;
}

TYPED_TEST(CodesTest, IssueThenPeekReturnsTheRecordWithoutSpendingIt) {
  auto issued = this->store().codes().issue(sample_grant());
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  EXPECT_EQ(issued->code.size(), 60u);
  EXPECT_EQ(issued->code.substr(0, 4), "ac2_");
  EXPECT_FALSE(issued->grant_id.empty());
  EXPECT_EQ(issued->expires_at, kStart + 600'000);
  for (int i = 0; i < 2; ++i) {
    auto peek = this->store().codes().peek(issued->code);
    ASSERT_TRUE(peek.ok()) << peek.status().to_string();
    EXPECT_FALSE(peek->consumed);
    EXPECT_EQ(peek->grant.client_id, "client-1");
    EXPECT_EQ(peek->grant.subject, "alice@example.com");
    EXPECT_EQ(peek->grant.claims_json, sample_grant().claims_json);
    EXPECT_EQ(peek->grant.scope, "openid profile");
    EXPECT_EQ(peek->grant.redirect_uri, "https://app.example.com/cb");
    EXPECT_EQ(peek->grant.nonce, "n-0S6_WzA2Mj");
    EXPECT_EQ(peek->grant.code_challenge_method, "S256");
    EXPECT_EQ(peek->grant.auth_time, kStart - 1000);
    EXPECT_EQ(peek->grant.grant_id, issued->grant_id);
    EXPECT_EQ(peek->grant.extra_json, R"({"acr":"1"})");
    EXPECT_EQ(peek->issued_at, kStart);
    EXPECT_EQ(peek->expires_at, kStart + 600'000);
  }
  EXPECT_TRUE(this->store().codes().consume(issued->code).ok());
}

TYPED_TEST(CodesTest, ConsumeOnceThenAlreadyConsumedCarriesGrantAndSubject) {
  CodeGrant g = sample_grant();
  g.grant_id = "grant-42";
  auto issued = this->store().codes().issue(g);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->grant_id, "grant-42");
  auto first = this->store().codes().consume(issued->code);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->grant.subject, "alice@example.com");
  for (int i = 0; i < 3; ++i) {
    auto again = this->store().codes().consume(issued->code);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->consumed);
    EXPECT_EQ(again->grant.grant_id, "grant-42");
    EXPECT_EQ(again->grant.subject, "alice@example.com");
    EXPECT_EQ(again->grant.client_id, "client-1");
  }
  auto peek = this->store().codes().peek(issued->code);
  EXPECT_EQ(peek.code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(peek->grant.grant_id, "grant-42");
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 4u);  // 3 consumes and the peek
  EXPECT_EQ(this->store().metrics().operations("codes", "consume", StatusCode::kAlreadyConsumed), 3u);
}

// A replay is usually answered by peek (validate first, decide last): it counts as a code
// replay as much as a consume that lost, once per call. Peeking an active code does not.
TYPED_TEST(CodesTest, EveryReplayCountsOncePerCallWhetherPeekOrConsumeAnswers) {
  auto issued = this->store().codes().issue(sample_grant());
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(this->store().codes().peek(issued->code).ok());
  ASSERT_TRUE(this->store().codes().consume(issued->code).ok());
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 0u);
  EXPECT_EQ(this->store().codes().peek(issued->code).code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 1u);
  EXPECT_EQ(this->store().codes().consume(issued->code).code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 2u);
  EXPECT_EQ(this->store().codes().peek(issued->code).code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 3u);
  EXPECT_EQ(this->store().metrics().operations("codes", "peek", StatusCode::kAlreadyConsumed), 2u);
}

TYPED_TEST(CodesTest, ExpiryWithInjectedClock) {
  CodeGrant g = sample_grant();
  g.ttl_ms = 60'000;
  auto issued = this->store().codes().issue(g);
  ASSERT_TRUE(issued.ok());
  this->clock().advance(59'999);
  EXPECT_TRUE(this->store().codes().peek(issued->code).ok());
  this->clock().advance(1);
  EXPECT_EQ(this->store().codes().peek(issued->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store().codes().consume(issued->code).code(), StatusCode::kNotFound);
}

TYPED_TEST(CodesTest, ConsumedTombstoneLastsUntilOriginalExpiry) {
  auto issued = this->store().codes().issue(sample_grant());
  ASSERT_TRUE(this->store().codes().consume(issued->code).ok());
  this->clock().advance(599'999);
  EXPECT_EQ(this->store().codes().consume(issued->code).code(), StatusCode::kAlreadyConsumed);
  this->clock().advance(1);
  EXPECT_EQ(this->store().codes().consume(issued->code).code(), StatusCode::kNotFound);
}

TYPED_TEST(CodesTest, UnknownAndMalformedCodes) {
  auto unknown = this->store().codes().consume("ac1_" + std::string(56, 'A'));
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  for (const std::string& bad : std::vector<std::string>{
           "", "ac1_", "xyz", "rt1_" + std::string(56, 'A'), "ac1_" + std::string(55, 'A'),
           "ac1_" + std::string(56, '*'), std::string(100000, 'a')}) {
    auto r = this->store().codes().consume(bad);
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument) << bad.substr(0, 20);
    EXPECT_EQ(r.status().field(), "code");
  }
}

TYPED_TEST(CodesTest, BadInputNamesTheField) {
  struct Case {
    const char* field;
    void (*mutate)(CodeGrant&);
  };
  const Case cases[] = {
      {"client_id", [](CodeGrant& g) { g.client_id.clear(); }},
      {"client_id", [](CodeGrant& g) { g.client_id = std::string(257, 'c'); }},
      {"client_id", [](CodeGrant& g) { g.client_id = "a\nb"; }},
      {"subject", [](CodeGrant& g) { g.subject.clear(); }},
      {"subject", [](CodeGrant& g) { g.subject = "\xff\xfe"; }},
      {"claims_json", [](CodeGrant& g) { g.claims_json = "[1,2]"; }},
      {"claims_json", [](CodeGrant& g) { g.claims_json = "{\"a\":"; }},
      {"claims_json", [](CodeGrant& g) { g.claims_json = "{\"a\":\"" + std::string(20000, 'x') + "\"}"; }},
      {"scope", [](CodeGrant& g) { g.scope = std::string(3000, 's'); }},
      {"redirect_uri", [](CodeGrant& g) { g.redirect_uri.clear(); }},
      {"redirect_uri", [](CodeGrant& g) { g.redirect_uri = "/relative/path"; }},
      {"redirect_uri", [](CodeGrant& g) { g.redirect_uri = "https://a.example/cb#frag"; }},
      {"nonce", [](CodeGrant& g) { g.nonce = std::string(600, 'n'); }},
      {"code_challenge", [](CodeGrant& g) { g.code_challenge = "short"; }},
      {"code_challenge", [](CodeGrant& g) { g.code_challenge = std::string(43, '+'); }},
      {"code_challenge_method", [](CodeGrant& g) { g.code_challenge_method = "S512"; }},
      {"code_challenge_method", [](CodeGrant& g) { g.code_challenge_method = "plain"; }},
      {"code_challenge_method", [](CodeGrant& g) { g.code_challenge.clear(); }},
      {"auth_time", [](CodeGrant& g) { g.auth_time = -5; }},
      {"grant_id", [](CodeGrant& g) { g.grant_id = "has space"; }},
      {"extra_json", [](CodeGrant& g) { g.extra_json = "null"; }},
      {"ttl_ms", [](CodeGrant& g) { g.ttl_ms = 600'001; }},
      {"ttl_ms", [](CodeGrant& g) { g.ttl_ms = -1; }},
  };
  for (const Case& c : cases) {
    CodeGrant g = sample_grant();
    c.mutate(g);
    auto r = this->store().codes().issue(g);
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(r.status().field(), c.field) << r.status().to_string();
  }
}

TYPED_TEST(CodesTest, RequirePkceRefusesCodesWithoutChallenge) {
  Options o = this->harness().options();
  o.codes.require_pkce = true;
  Store strict = this->harness().another(o);
  CodeGrant g = sample_grant();
  g.code_challenge.clear();
  g.code_challenge_method.clear();
  auto r = strict.codes().issue(g);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "code_challenge");
  EXPECT_TRUE(this->store().codes().issue(g).ok());
}

TYPED_TEST(CodesTest, TamperedRecordReadsAsNotFoundAndIsCounted) {
  auto issued = this->store().codes().issue(sample_grant());
  this->harness().set_tamper(true);
  EXPECT_EQ(this->store().codes().peek(issued->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 1u);
  this->harness().set_tamper(false);
  EXPECT_TRUE(this->store().codes().peek(issued->code).ok());
}

TYPED_TEST(CodesTest, KeyRotationOldCodesStillWorkNewOnesUseNewKey) {
  auto old_code = this->store().codes().issue(sample_grant());
  Store rotated = this->harness().another(test_keys(2));
  auto new_code = rotated.codes().issue(sample_grant());
  ASSERT_TRUE(new_code.ok());
  EXPECT_NE(old_code->code.substr(4, 3), new_code->code.substr(4, 3));  // key id differs
  EXPECT_TRUE(rotated.codes().consume(old_code->code).ok());
  EXPECT_TRUE(rotated.codes().consume(new_code->code).ok());
  // A ring that dropped key 1 no longer finds codes hashed with it.
  KeyOptions only2;
  only2.keys = {{2, std::string(32, 'b')}};
  only2.route_secret = std::string(32, 'r');
  Store dropped = this->harness().another(only2);
  auto later = this->store().codes().issue(sample_grant());
  EXPECT_EQ(dropped.codes().peek(later->code).code(), StatusCode::kNotFound);
}

TYPED_TEST(CodesTest, ForeignKeyRingCannotReadRecords) {
  auto issued = this->store().codes().issue(sample_grant());
  KeyOptions other = test_keys();
  other.keys[0].secret = std::string(32, 'z');
  Store foreign = this->harness().another(other);
  EXPECT_EQ(foreign.codes().consume(issued->code).code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->store().codes().consume(issued->code).ok());
}

TYPED_TEST(CodesTest, SixteenThreadsRaceToConsumeExactlyOneWins) {
  RaceRounds rounds(100, 26, 400);
  while (rounds.more()) {
    const int round = rounds.round();
    auto issued = this->store().codes().issue(sample_grant());
    ASSERT_TRUE(issued.ok());
    std::atomic<int> winners{0};
    std::atomic<int> replays{0};
    rounds.record(race(16, [&](int) {
      auto r = this->store().codes().consume(issued->code);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kAlreadyConsumed) replays.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(replays.load(), 15) << "round " << round;
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(CodesTest, AsyncCallbacksDeliverTheSameOutcomes) {
  auto issued = this->store().codes().issue(sample_grant());
  std::promise<Result<CodeRecord>> p1;
  this->store().codes().consume_async(issued->code,
                                      [&](Result<CodeRecord> r) { p1.set_value(std::move(r)); });
  EXPECT_TRUE(p1.get_future().get().ok());
  std::promise<Result<CodeRecord>> p2;
  this->store().codes().consume_async(issued->code,
                                      [&](Result<CodeRecord> r) { p2.set_value(std::move(r)); });
  EXPECT_EQ(p2.get_future().get().code(), StatusCode::kAlreadyConsumed);
}

TEST(Pkce, VerifierGrammarAndS256) {
  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";  // RFC 7636 appendix B
  EXPECT_EQ(pkce_s256_challenge(verifier), challenge);
  EXPECT_TRUE(verify_pkce(challenge, "S256", verifier).ok());
  auto wrong = verify_pkce(challenge, "S256", "a" + verifier.substr(1));
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.field(), "code_verifier");
  EXPECT_EQ(verify_pkce(challenge, "S256", std::string(42, 'a')).field(), "code_verifier");   // too short
  EXPECT_EQ(verify_pkce(challenge, "S256", std::string(129, 'a')).field(), "code_verifier");  // too long
  EXPECT_EQ(verify_pkce(challenge, "S256", std::string(43, '/')).field(), "code_verifier");  // not unreserved
  EXPECT_EQ(verify_pkce(challenge, "S256", "").field(), "code_verifier");                    // missing
  EXPECT_EQ(verify_pkce("", "", verifier).field(), "code_verifier");                         // unexpected
  EXPECT_TRUE(verify_pkce("", "", "").ok());
  // plain: refused unless enabled, then exact comparison.
  EXPECT_EQ(verify_pkce(verifier, "plain", verifier).field(), "code_challenge_method");
  EXPECT_TRUE(verify_pkce(verifier, "plain", verifier, true).ok());
  EXPECT_FALSE(verify_pkce(verifier, "plain", verifier + "a", true).ok());
  EXPECT_EQ(verify_pkce(challenge, "S384", verifier).field(), "code_challenge_method");
  const std::string fresh = pkce_new_verifier();
  EXPECT_EQ(fresh.size(), 43u);
  EXPECT_TRUE(verify_pkce(pkce_s256_challenge(fresh), "S256", fresh).ok());
}

TYPED_TEST(CodesTest, PkceAgainstAnIssuedCode) {
  const std::string verifier = pkce_new_verifier();
  CodeGrant g = sample_grant();
  g.code_challenge = pkce_s256_challenge(verifier);
  auto issued = this->store().codes().issue(g);
  auto rec = this->store().codes().peek(issued->code);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(verify_pkce(rec.value(), verifier).ok());
  EXPECT_FALSE(verify_pkce(rec.value(), pkce_new_verifier()).ok());
}

// "ac1_" codes issued by the release before issue 19 (route in clear) stay consumable.
TYPED_TEST(CodesTest, VersionOneCodesStayConsumable) {
  auto ring = legacy::ring_of(this->harness().options().keys);
  ASSERT_TRUE(ring);
  CodeGrant g = sample_grant();
  g.grant_id = "grant-v1";
  g.ttl_ms = 60'000;
  auto code = legacy::issue_code(this->harness().backend(), *ring, g, this->clock().now());
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_EQ(code->substr(0, 4), "ac1_");
  auto peek = this->store().codes().peek(*code);
  ASSERT_TRUE(peek.ok()) << peek.status().to_string();
  EXPECT_EQ(peek->grant.subject, "alice@example.com");
  auto consumed = this->store().codes().consume(*code);
  ASSERT_TRUE(consumed.ok()) << consumed.status().to_string();
  EXPECT_EQ(consumed->grant.grant_id, "grant-v1");
  EXPECT_EQ(this->store().codes().consume(*code).code(), StatusCode::kAlreadyConsumed);
}

}  // namespace
}  // namespace authstore::testing
