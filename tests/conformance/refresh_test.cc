// Conformance: refresh-token families, on every backend.
#include <algorithm>

#include "conformance/backends.h"
#include "conformance/legacy_v1.h"
#include "core/encoding.h"

namespace authstore::testing {
namespace {

template <class T>
class RefreshTest : public StoreTest<T> {
 protected:
  RefreshGrant grant(std::string subject = "alice", std::string client = "app") {
    RefreshGrant g;
    g.subject = std::move(subject);
    g.client_id = std::move(client);
    g.scope = "openid offline_access";
    g.grant_id = "grant-1";
    g.idle_ttl_ms = 3'600'000;
    g.lifetime_ms = 86'400'000;
    g.metadata_json = R"({"device":"phone"})";
    return g;
  }
  RefreshTokenStore& rt() { return this->store().refresh(); }
};
TYPED_TEST_SUITE(RefreshTest, Backends, TraitsName);

TYPED_TEST(RefreshTest, IssueRotateChainAndPeekStates) {
  auto first = this->rt().issue(this->grant());
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->token.substr(0, 4), "rt2_");
  EXPECT_EQ(first->token.size(), 82u);
  EXPECT_EQ(first->family.family_id.substr(0, 4), "rf2_");
  EXPECT_EQ(first->family.subject, "alice");
  EXPECT_EQ(first->family.client_id, "app");
  EXPECT_EQ(first->family.expires_at, kStart + 86'400'000);
  EXPECT_EQ(first->family.idle_expires_at, kStart + 3'600'000);
  EXPECT_EQ(this->rt().peek(first->token)->state, RefreshTokenState::kActive);

  this->clock().advance(1000);
  auto second = this->rt().rotate(first->token, "app");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_NE(second->token, first->token);
  EXPECT_EQ(second->family.family_id, first->family.family_id);
  EXPECT_EQ(second->family.rotations, 1);
  EXPECT_EQ(second->family.last_used_at, kStart + 1000);
  EXPECT_EQ(second->family.idle_expires_at, kStart + 1000 + 3'600'000);
  EXPECT_EQ(second->family.metadata_json, R"({"device":"phone"})");
  EXPECT_EQ(this->rt().peek(first->token)->state, RefreshTokenState::kRotated);
  EXPECT_EQ(this->rt().peek(second->token)->state, RefreshTokenState::kActive);

  auto third = this->rt().rotate(second->token, "app");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->family.rotations, 2);
}

TYPED_TEST(RefreshTest, ReuseOfRotatedTokenRevokesTheWholeFamily) {
  auto first = this->rt().issue(this->grant());
  auto second = this->rt().rotate(first->token, "app");
  ASSERT_TRUE(second.ok());
  auto reuse = this->rt().rotate(first->token, "app");
  EXPECT_EQ(reuse.code(), StatusCode::kReused);
  ASSERT_TRUE(reuse.has_value());
  EXPECT_EQ(reuse->family.family_id, first->family.family_id);
  EXPECT_EQ(this->security(SecurityEvent::kRefreshReuse), 1u);
  // The legitimate successor is dead too.
  EXPECT_EQ(this->rt().rotate(second->token, "app").code(), StatusCode::kRevoked);
  EXPECT_EQ(this->rt().peek(second->token)->state, RefreshTokenState::kRevoked);
  EXPECT_TRUE(this->rt().list("alice")->empty());
}

TYPED_TEST(RefreshTest, ClientMismatchIsAnErrorAndChangesNothing) {
  auto first = this->rt().issue(this->grant());
  auto wrong = this->rt().rotate(first->token, "other-app");
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.status().field(), "client_id");
  EXPECT_EQ(this->security(SecurityEvent::kClientMismatch), 1u);
  EXPECT_EQ(this->security(SecurityEvent::kBackendError), 0u);  // the caller's fault, not the backend's
  EXPECT_TRUE(this->rt().rotate(first->token, "app").ok());
}

TYPED_TEST(RefreshTest, GraceWindowLetsALostRefreshBeRetried) {
  Options o = this->harness().options();
  o.refresh.grace_window_ms = 5000;
  Store s = this->harness().another(o);
  auto first = s.refresh().issue(this->grant());
  auto lost = s.refresh().rotate(first->token, "app");  // response lost on the way
  ASSERT_TRUE(lost.ok());
  this->clock().advance(2000);
  auto retry = s.refresh().rotate(first->token, "app");
  ASSERT_TRUE(retry.ok()) << retry.status().to_string();
  EXPECT_NE(retry->token, lost->token);
  // The successor the client never saw is spent; using it now is reuse.
  EXPECT_TRUE(s.refresh().rotate(retry->token, "app").ok());
  // Past the window, the first token is reuse.
  this->clock().advance(4000);
  EXPECT_EQ(s.refresh().rotate(first->token, "app").code(), StatusCode::kReused);
}

TYPED_TEST(RefreshTest, GraceDoesNotApplyOnceTheSuccessorWasUsed) {
  Options o = this->harness().options();
  o.refresh.grace_window_ms = 5000;
  Store s = this->harness().another(o);
  auto first = s.refresh().issue(this->grant());
  auto second = s.refresh().rotate(first->token, "app");
  ASSERT_TRUE(s.refresh().rotate(second->token, "app").ok());
  EXPECT_EQ(s.refresh().rotate(first->token, "app").code(), StatusCode::kReused);
}

TYPED_TEST(RefreshTest, GraceWindowIsOffByDefault) {
  auto first = this->rt().issue(this->grant());
  ASSERT_TRUE(this->rt().rotate(first->token, "app").ok());
  EXPECT_EQ(this->rt().rotate(first->token, "app").code(), StatusCode::kReused);
}

TYPED_TEST(RefreshTest, IdleAndAbsoluteExpiry) {
  auto t = this->rt().issue(this->grant());
  this->clock().advance(3'599'999);
  auto t2 = this->rt().rotate(t->token, "app");
  ASSERT_TRUE(t2.ok());
  this->clock().advance(3'600'000);  // idle
  EXPECT_EQ(this->rt().rotate(t2->token, "app").code(), StatusCode::kNotFound);

  // Kept busy (a rotation every 3,599 s, within the 1 h idle TTL), the family still ends at its
  // 24 h lifetime: rotations 1..24 come before expires_at, the 25th after it, 1 s before the
  // idle TTL since the last use would end it.
  auto u = this->rt().issue(this->grant());
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  std::string token = u->token;
  for (int i = 0; i < 24; ++i) {
    this->clock().advance(3'599'000);
    auto next = this->rt().rotate(token, "app");
    ASSERT_TRUE(next.ok()) << "rotation " << i + 1 << ": " << next.status().to_string();
    // The idle expiry slides with each rotation but never past the family's lifetime.
    EXPECT_EQ(next->family.idle_expires_at,
              std::min<std::int64_t>(this->clock().now() + 3'600'000, u->family.expires_at));
    EXPECT_EQ(next->family.rotations, i + 1);
    EXPECT_EQ(next->family.last_used_at, this->clock().now());
    token = next->token;
  }
  const UnixMillis last_use = this->clock().now();
  this->clock().advance(3'599'000);
  ASSERT_GE(this->clock().now(), u->family.expires_at);
  ASSERT_LT(this->clock().now(), last_use + 3'600'000);
  EXPECT_EQ(this->rt().rotate(token, "app").code(), StatusCode::kNotFound);
}

TYPED_TEST(RefreshTest, ConsumeIsSingleUseWithoutSuccessor) {
  auto t = this->rt().issue(this->grant());
  auto c = this->rt().consume(t->token);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->client_id, "app");
  EXPECT_EQ(this->rt().consume(t->token).code(), StatusCode::kReused);
  auto u = this->rt().issue(this->grant());
  EXPECT_EQ(this->rt().consume(u->token, "other").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(this->rt().consume(u->token, "app").ok());
}

TYPED_TEST(RefreshTest, RevokeTokenFamilyClientSubjectAndGrant) {
  auto a = this->rt().issue(this->grant());
  auto b = this->rt().issue(this->grant());
  auto c = this->rt().issue(this->grant("alice", "other-app"));
  auto d = this->rt().issue(this->grant("bob"));
  ASSERT_TRUE(this->rt().revoke(a->token).ok());
  EXPECT_EQ(this->rt().rotate(a->token, "app").code(), StatusCode::kRevoked);
  ASSERT_TRUE(this->rt().revoke_family(b->family.family_id).ok());
  EXPECT_EQ(this->rt().rotate(b->token, "app").code(), StatusCode::kRevoked);
  EXPECT_EQ(this->rt().revoke_family("rf1_" + std::string(32, 'A')).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->rt().revoke_family("nope").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->rt().revoke("rt1_" + std::string(56, 'A')).code(), StatusCode::kNotFound);

  auto e = this->rt().issue(this->grant());
  ASSERT_TRUE(this->rt().revoke_client("alice", "app").ok());
  EXPECT_EQ(this->rt().rotate(e->token, "app").code(), StatusCode::kRevoked);
  EXPECT_TRUE(this->rt().rotate(c->token, "other-app").ok());  // another client survives
  auto after = this->rt().issue(this->grant());                // issuing after the revocation works
  EXPECT_TRUE(this->rt().rotate(after->token, "app").ok());

  ASSERT_TRUE(this->rt().revoke_subject("alice").ok());
  auto list = this->rt().list("alice");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(this->rt().rotate(d->token, "app").ok());  // bob is untouched
  auto fresh = this->rt().issue(this->grant());
  EXPECT_TRUE(this->rt().rotate(fresh->token, "app").ok());
}

TYPED_TEST(RefreshTest, RevokedGrantKillsFamiliesAndRefusesNewOnes) {
  auto a = this->rt().issue(this->grant());
  RefreshGrant other = this->grant();
  other.grant_id = "grant-2";
  auto b = this->rt().issue(other);
  ASSERT_TRUE(this->rt().revoke_grant("alice", "grant-1").ok());
  EXPECT_EQ(this->rt().rotate(a->token, "app").code(), StatusCode::kRevoked);
  EXPECT_TRUE(this->rt().rotate(b->token, "app").ok());
  auto again = this->rt().issue(this->grant());
  EXPECT_EQ(again.code(), StatusCode::kRevoked);
  EXPECT_EQ(again.status().field(), "grant_id");
  this->clock().advance(this->harness().options().refresh.max_lifetime_ms + 1);
  EXPECT_TRUE(this->rt().issue(this->grant()).ok());
}

// grant_live: what a resource server asks about an access token of (subject, client, grant)
// issued at iat, in another store (process) than the one that revoked.
TYPED_TEST(RefreshTest, GrantLiveAnswersRevokedAfterGrantRevocationAndLogouts) {
  const UnixMillis iat = this->clock().now();
  Store other = this->harness().another(this->harness().options());  // a resource server
  RefreshTokenStore& rs = other.refresh();
  EXPECT_TRUE(rs.grant_live("alice", "app", "grant-1", iat).ok());
  EXPECT_TRUE(rs.grant_live("alice", "app", "", iat).ok());  // no grant: logouts only
  this->clock().advance(1000);

  // A revoked grant (a replayed code): its tokens die; another grant of alice lives.
  ASSERT_TRUE(this->rt().revoke_grant("alice", "grant-1").ok());
  auto g = rs.grant_live("alice", "app", "grant-1", iat);
  EXPECT_EQ(g.code(), StatusCode::kRevoked);
  EXPECT_EQ(g.status().field(), "grant_id");
  EXPECT_TRUE(rs.grant_live("alice", "app", "grant-2", iat).ok());
  EXPECT_TRUE(rs.grant_live("bob", "app", "grant-1", iat).ok());  // scoped by subject

  // A client logout: alice's tokens of that client issued before (or at) it die; of another
  // client, and issued after it, live.
  this->clock().advance(1000);
  const UnixMillis client_logout = this->clock().now();
  ASSERT_TRUE(this->rt().revoke_client("alice", "app").ok());
  auto c = rs.grant_live("alice", "app", "grant-2", iat);
  EXPECT_EQ(c.code(), StatusCode::kRevoked);
  EXPECT_EQ(c.status().field(), "client_id");
  EXPECT_EQ(rs.grant_live("alice", "app", "grant-2", client_logout).code(), StatusCode::kRevoked);
  EXPECT_TRUE(rs.grant_live("alice", "web", "grant-3", iat).ok());
  this->clock().advance(1);
  EXPECT_TRUE(rs.grant_live("alice", "app", "grant-2", client_logout + 1).ok());

  // Logout everywhere.
  this->clock().advance(1000);
  const UnixMillis logout = this->clock().now();
  ASSERT_TRUE(this->rt().revoke_subject("alice").ok());
  for (const char* client : {"app", "web"}) {
    auto s = rs.grant_live("alice", client, "grant-3", logout - 1);
    EXPECT_EQ(s.code(), StatusCode::kRevoked) << client;
    EXPECT_EQ(s.status().field(), "subject") << client;
  }
  EXPECT_TRUE(rs.grant_live("bob", "web", "grant-3", iat).ok());
  this->clock().advance(1);
  EXPECT_TRUE(rs.grant_live("alice", "web", "grant-3", logout + 1).ok());  // a token issued after

  // Logouts are remembered for access_token_max_ttl_ms; older tokens are refused outright.
  const UnixMillis ttl = this->harness().options().refresh.access_token_max_ttl_ms;
  this->clock().advance(ttl - 2);
  EXPECT_EQ(rs.grant_live("alice", "web", "grant-3", logout - 1).code(), StatusCode::kRevoked);
  auto old = rs.grant_live("alice", "web", "grant-3", this->clock().now() - ttl - 1);
  EXPECT_EQ(old.code(), StatusCode::kRevoked);
  EXPECT_EQ(old.status().field(), "issued_at");
  EXPECT_TRUE(rs.grant_live("alice", "web", "grant-3", logout + 1).ok());
  // The grant revocation sticks for max_lifetime_ms, beyond that.
  EXPECT_EQ(rs.grant_live("alice", "app", "grant-1", this->clock().now()).code(), StatusCode::kRevoked);

  // Bad input, named.
  EXPECT_EQ(rs.grant_live("", "app", "g", iat).status().field(), "subject");
  EXPECT_EQ(rs.grant_live("alice", "", "g", iat).status().field(), "client_id");
  EXPECT_EQ(rs.grant_live("alice", "app", std::string(129, 'g'), this->clock().now()).status().field(),
            "grant_id");
  auto ahead = rs.grant_live("alice", "app", "g", this->clock().now() + 60'001);
  EXPECT_EQ(ahead.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ahead.status().field(), "issued_at");
  EXPECT_TRUE(rs.grant_live("alice", "app", "g", this->clock().now() + 60'000).ok());  // skew allowed
}

TYPED_TEST(RefreshTest, ListShowsActiveFamiliesSoonestExpiryFirst) {
  RefreshGrant g1 = this->grant();
  g1.idle_ttl_ms = 7'200'000;
  auto a = this->rt().issue(g1);
  auto b = this->rt().issue(this->grant("alice", "tv-app"));
  ASSERT_TRUE(this->rt().issue(this->grant("bob")).ok());
  auto list = this->rt().list("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].family_id, b->family.family_id);
  EXPECT_EQ((*list)[0].client_id, "tv-app");
  EXPECT_EQ((*list)[1].family_id, a->family.family_id);
  EXPECT_EQ((*list)[1].scope, "openid offline_access");
  EXPECT_EQ((*list)[1].created_at, kStart);
  this->clock().advance(3'600'000);  // b idles out
  list = this->rt().list("alice");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].family_id, a->family.family_id);
  EXPECT_TRUE(this->rt().list("nobody")->empty());
}

TYPED_TEST(RefreshTest, JwtIdsStoreConsumeOnceAndRevokeWithSubject) {
  ASSERT_TRUE(this->rt().store_jti("alice", "jti-1", "app", 60'000).ok());
  ASSERT_TRUE(this->rt().store_jti("alice", "jti-2", "app", 60'000).ok());
  ASSERT_TRUE(this->rt().store_jti("alice", "jti-3", "web", 60'000).ok());
  auto c = this->rt().consume_jti("alice", "jti-1");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->client_id, "app");
  EXPECT_EQ(c->jti, "jti-1");
  EXPECT_EQ(this->rt().consume_jti("alice", "jti-1").code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(this->rt().consume_jti("bob", "jti-2").code(), StatusCode::kNotFound);  // scoped by subject
  ASSERT_TRUE(this->rt().revoke_client("alice", "web").ok());
  EXPECT_EQ(this->rt().consume_jti("alice", "jti-3").code(), StatusCode::kRevoked);
  ASSERT_TRUE(this->rt().revoke_subject("alice").ok());
  EXPECT_EQ(this->rt().consume_jti("alice", "jti-2").code(), StatusCode::kRevoked);
  ASSERT_TRUE(this->rt().store_jti("alice", "jti-4", "app", 1000).ok());
  this->clock().advance(1000);
  EXPECT_EQ(this->rt().consume_jti("alice", "jti-4").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->rt().store_jti("alice", "", "app", 1000).status().field(), "jti");
  EXPECT_EQ(this->rt().store_jti("alice", "j", "app", 0).status().field(), "ttl_ms");
}

TYPED_TEST(RefreshTest, BadInputNamesTheField) {
  RefreshGrant g = this->grant();
  g.subject.clear();
  EXPECT_EQ(this->rt().issue(g).status().field(), "subject");
  g = this->grant();
  g.client_id = std::string(300, 'c');
  EXPECT_EQ(this->rt().issue(g).status().field(), "client_id");
  g = this->grant();
  g.lifetime_ms = 400LL * 24 * 3600 * 1000;
  EXPECT_EQ(this->rt().issue(g).status().field(), "lifetime_ms");
  g = this->grant();
  g.idle_ttl_ms = g.lifetime_ms + 1;
  EXPECT_EQ(this->rt().issue(g).status().field(), "idle_ttl_ms");
  g = this->grant();
  g.metadata_json = "[]";
  EXPECT_EQ(this->rt().issue(g).status().field(), "metadata_json");
  g = this->grant();
  g.grant_id = "bad grant";
  EXPECT_EQ(this->rt().issue(g).status().field(), "grant_id");
  EXPECT_EQ(this->rt().rotate("garbage", "app").status().field(), "token");
  // The message names the formats expected.
  EXPECT_NE(this->rt().rotate("garbage", "app").status().message().find("\"rt2_\""), std::string::npos);
  EXPECT_NE(this->rt().revoke_family("garbage").status().message().find("\"rf2_\""), std::string::npos);
  EXPECT_EQ(this->rt().rotate("rt1_" + std::string(56, 'A'), "").status().field(), "client_id");
  EXPECT_EQ(this->rt().peek("ac1_" + std::string(56, 'A')).status().field(), "token");
}

TYPED_TEST(RefreshTest, TamperedFamilyReadsAsNotFound) {
  auto t = this->rt().issue(this->grant());
  this->harness().set_tamper(true);
  EXPECT_EQ(this->rt().peek(t->token).code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->rt().list("alice")->empty());
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 2u);
  this->harness().set_tamper(false);
  EXPECT_TRUE(this->rt().peek(t->token).ok());
}

TYPED_TEST(RefreshTest, KeyRotationKeepsOldTokensRotatable) {
  auto old_token = this->rt().issue(this->grant());
  Store rotated = this->harness().another(test_keys(2));
  auto next = rotated.refresh().rotate(old_token->token, "app");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_TRUE(rotated.refresh().rotate(next->token, "app").ok());
}

TYPED_TEST(RefreshTest, SixteenThreadsRaceToRotateOneTokenExactlyOneWins) {
  RaceRounds rounds(60, 16, 300);
  while (rounds.more()) {
    const int round = rounds.round();
    auto t = this->rt().issue(this->grant("racer-" + std::to_string(round)));
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    std::atomic<int> winners{0};
    std::atomic<int> reused{0};
    std::atomic<int> revoked{0};
    rounds.record(race(16, [&](int) {
      auto r = this->rt().rotate(t->token, "app");
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kReused) reused.fetch_add(1);
      if (r.code() == StatusCode::kRevoked) revoked.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(winners.load() + reused.load() + revoked.load(), 16);
    ASSERT_GE(reused.load(), 1);
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(RefreshTest, LogoutEverywhereWinsAgainstRacingRotations) {
  RaceRounds rounds(40, 11, 200);
  while (rounds.more()) {
    const std::string subject = "logout-" + std::to_string(rounds.round());
    std::vector<std::string> tokens;
    for (int i = 0; i < 15; ++i) tokens.push_back(this->rt().issue(this->grant(subject))->token);
    std::vector<std::string> successors(15);
    rounds.record(race(16, [&](int i) {
      if (i == 15) {
        ASSERT_TRUE(this->rt().revoke_subject(subject).ok());
      } else {
        auto r = this->rt().rotate(tokens[static_cast<std::size_t>(i)], "app");
        if (r.ok()) {
          successors[static_cast<std::size_t>(i)] = r->token;
        } else {
          ASSERT_EQ(r.code(), StatusCode::kRevoked);
        }
      }
    }));
    // Whatever won the race, nothing survives the logout.
    for (const auto& s : successors) {
      if (!s.empty()) {
        ASSERT_EQ(this->rt().rotate(s, "app").code(), StatusCode::kRevoked);
      }
    }
    ASSERT_TRUE(this->rt().list(subject)->empty());
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

// ---- issue 19 (security audit): grace window, wrong clients, linkable routing bytes ----

// Two holders of one token (the victim and a thief) alternate inside the grace window: the
// first superseded successor presented again is reuse, and the family dies.
TYPED_TEST(RefreshTest, GraceWindowDoesNotLetTwoHoldersKeepTwoChains) {
  Options o = this->harness().options();
  o.refresh.grace_window_ms = 30'000;
  Store s = this->harness().another(o);
  auto t0 = s.refresh().issue(this->grant());
  ASSERT_TRUE(t0.ok());
  auto victim = s.refresh().rotate(t0->token, "app");  // T0 -> A
  ASSERT_TRUE(victim.ok());
  this->clock().advance(1000);
  auto thief = s.refresh().rotate(t0->token, "app");  // stolen T0 inside the window -> B
  ASSERT_TRUE(thief.ok()) << thief.status().to_string();
  // Alternate: each side presents its latest token. The very first presentation of the
  // superseded A must be reuse; nothing after it rotates.
  std::string a = victim->token;
  std::string b = thief->token;
  int rotated = 0;
  bool reuse_seen = false;
  for (int i = 0; i < 6; ++i) {
    this->clock().advance(1000);
    std::string& mine = i % 2 == 0 ? a : b;
    auto r = s.refresh().rotate(mine, "app");
    if (r.ok()) {
      ++rotated;
      mine = r->token;
      continue;
    }
    if (r.code() == StatusCode::kReused) reuse_seen = true;
    EXPECT_TRUE(r.code() == StatusCode::kReused || r.code() == StatusCode::kRevoked)
        << r.status().to_string();
  }
  EXPECT_TRUE(reuse_seen);
  EXPECT_EQ(rotated, 0);
  EXPECT_EQ(s.refresh().peek(b)->state, RefreshTokenState::kRevoked);
  EXPECT_TRUE(s.refresh().list("alice")->empty());
}

TYPED_TEST(RefreshTest, GraceCoversRepeatedRetriesOfTheSameLostRotationOnly) {
  Options o = this->harness().options();
  o.refresh.grace_window_ms = 30'000;
  Store s = this->harness().another(o);
  auto t0 = s.refresh().issue(this->grant());
  auto lost1 = s.refresh().rotate(t0->token, "app");
  ASSERT_TRUE(lost1.ok());
  this->clock().advance(1000);
  auto lost2 = s.refresh().rotate(t0->token, "app");  // retry: response lost again
  ASSERT_TRUE(lost2.ok()) << lost2.status().to_string();
  this->clock().advance(1000);
  auto got = s.refresh().rotate(t0->token, "app");  // third try succeeds
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  auto next = s.refresh().rotate(got->token, "app");  // the client goes on normally
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  // Once a successor of T0 was used, T0 is dead.
  EXPECT_EQ(s.refresh().rotate(t0->token, "app").code(), StatusCode::kReused);
}

TYPED_TEST(RefreshTest, PresentingTheSupersededSuccessorOfALostRotationIsReuse) {
  Options o = this->harness().options();
  o.refresh.grace_window_ms = 30'000;
  Store s = this->harness().another(o);
  auto t0 = s.refresh().issue(this->grant());
  auto lost = s.refresh().rotate(t0->token, "app");
  ASSERT_TRUE(lost.ok());
  auto retry = s.refresh().rotate(t0->token, "app");
  ASSERT_TRUE(retry.ok());
  // Nobody legitimate holds `lost`: presenting it (even inside the window) is reuse.
  EXPECT_EQ(s.refresh().rotate(lost->token, "app").code(), StatusCode::kReused);
  EXPECT_EQ(s.refresh().rotate(retry->token, "app").code(), StatusCode::kRevoked);
}

TYPED_TEST(RefreshTest, WrongClientLearnsNothingAboutTheFamily) {
  auto a = this->rt().issue(this->grant());
  ASSERT_TRUE(this->rt().revoke(a->token).ok());
  auto wrong = this->rt().rotate(a->token, "other-app");
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(wrong.has_value());
  auto wrong_consume = this->rt().consume(a->token, "other-app");
  EXPECT_EQ(wrong_consume.code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(wrong_consume.has_value());

  // A spent token presented by another client: denied, no family, and the family lives on.
  auto b = this->rt().issue(this->grant());
  auto b2 = this->rt().rotate(b->token, "app");
  ASSERT_TRUE(b2.ok());
  auto spent = this->rt().rotate(b->token, "other-app");
  EXPECT_EQ(spent.code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(spent.has_value());
  EXPECT_TRUE(this->rt().rotate(b2->token, "app").ok());
}

// The longest run of equal bytes the two strings share, anywhere.
std::size_t longest_common_run(std::string_view a, std::string_view b) {
  std::size_t best = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      std::size_t n = 0;
      while (i + n < a.size() && j + n < b.size() && a[i + n] == b[j + n]) ++n;
      best = std::max(best, n);
    }
  }
  return best;
}

std::string body_after_key_id(const std::string& text) {
  auto raw = internal::base64url_decode(text.substr(4));
  EXPECT_TRUE(raw.has_value()) << text;
  return raw && raw->size() > 2 ? raw->substr(2) : std::string();
}

// Routing bytes must not link two tokens of one user: beyond the version prefix and the key id,
// no two of a user's codes, refresh tokens and family ids share a run of 4 bytes (random data
// does so with probability ~1e-6).
TYPED_TEST(RefreshTest, TokensCodesAndFamilyIdsOfOneUserShareNoBytes) {
  std::vector<std::string> texts;
  auto a = this->rt().issue(this->grant("alice", "app"));
  auto b = this->rt().issue(this->grant("alice", "tv-app"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto a2 = this->rt().rotate(a->token, "app");
  ASSERT_TRUE(a2.ok());
  texts = {a->token, b->token, a2->token, a->family.family_id, b->family.family_id};
  for (const char* client : {"app", "tv-app"}) {
    CodeGrant g;
    g.client_id = client;
    g.subject = "alice";
    g.redirect_uri = "https://app.example/cb";
    auto code = this->store().codes().issue(g);
    ASSERT_TRUE(code.ok()) << code.status().to_string();
    texts.push_back(code->code);
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    for (std::size_t j = i + 1; j < texts.size(); ++j) {
      EXPECT_LT(longest_common_run(body_after_key_id(texts[i]), body_after_key_id(texts[j])), 4u)
          << texts[i] << " and " << texts[j];
    }
  }
}

// ---- data of the release before issue 19 keeps working ----

TYPED_TEST(RefreshTest, VersionOneTokensFromEarlierReleasesKeepWorking) {
  auto ring = legacy::ring_of(this->harness().options().keys);
  ASSERT_TRUE(ring);
  auto v1 = legacy::issue_family(this->harness().backend(), *ring, this->grant(), this->clock().now());
  ASSERT_TRUE(v1.ok()) << v1.status().to_string();
  auto info = this->rt().peek(v1->token);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->state, RefreshTokenState::kActive);
  EXPECT_EQ(info->family.family_id, v1->family_id);
  EXPECT_EQ(info->family.subject, "alice");
  // The signed client decides for v1 tokens too; a wrong client learns nothing.
  auto wrong = this->rt().rotate(v1->token, "other-app");
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(wrong.has_value());
  this->clock().advance(1000);
  auto next = this->rt().rotate(v1->token, "app");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->token.substr(0, 4), "rt1_");  // a v1 chain stays v1 until its family ends
  EXPECT_EQ(next->family.family_id, v1->family_id);
  EXPECT_EQ(next->family.rotations, 1);
  auto third = this->rt().rotate(next->token, "app");
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_EQ(this->rt().rotate(v1->token, "app").code(), StatusCode::kReused);
  EXPECT_EQ(this->rt().rotate(third->token, "app").code(), StatusCode::kRevoked);

  auto other = legacy::issue_family(this->harness().backend(), *ring, this->grant(), this->clock().now());
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(this->rt().list("alice")->size(), 1u);
  ASSERT_TRUE(this->rt().revoke_family(other->family_id).ok());
  EXPECT_EQ(this->rt().rotate(other->token, "app").code(), StatusCode::kRevoked);
  auto last = legacy::issue_family(this->harness().backend(), *ring, this->grant(), this->clock().now());
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(this->rt().revoke(last->token).ok());
  EXPECT_EQ(this->rt().peek(last->token)->state, RefreshTokenState::kRevoked);
}

TYPED_TEST(RefreshTest, VersionOneJwtIdRecordsStillConsume) {
  auto ring = legacy::ring_of(this->harness().options().keys);
  ASSERT_TRUE(legacy::store_jti(this->harness().backend(), *ring, "old-jti", "alice", "app",
                                this->clock().now(), 60'000)
                  .ok());
  auto c = this->rt().consume_jti("alice", "old-jti");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->jti, "old-jti");
  EXPECT_EQ(c->client_id, "app");
  EXPECT_EQ(this->rt().consume_jti("alice", "old-jti").code(), StatusCode::kAlreadyConsumed);
}

// What the backend keeps for a JWT refresh id names the jti only by a keyed hash.
TYPED_TEST(RefreshTest, JwtIdIsStoredOnlyAsAKeyedHash) {
  const std::string jti = "jti-9f2c1e7a-plain";
  ASSERT_TRUE(this->rt().store_jti("alice", jti, "app", 60'000).ok());
  auto ring = legacy::ring_of(this->harness().options().keys);
  const internal::UserIds user = internal::user_ids(*ring, "alice");
  const std::string key = internal::jti_key(user.tag, internal::index_hash(*ring, "jti", "alice", jti));
  auto raw = legacy::wait<internal::JtiResult>([&](Callback<internal::JtiResult> cb) {
    this->harness().backend().refresh().consume_jti(user.tag, user.subject_key, key, this->clock().now(),
                                                    std::move(cb));
  });
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->outcome, internal::JtiOutcome::kConsumed);
  ASSERT_GT(raw->record.size(), 40u);
  EXPECT_EQ(raw->record.find(jti), std::string::npos);
  EXPECT_EQ(raw->record.find("9f2c1e7a"), std::string::npos);
  // The caller's jti comes back.
  auto again = this->rt().consume_jti("alice", jti);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->jti, jti);
}

// A token linked (in the backend's state) to another family than the one its text commits to
// reads as absent on every backend, for every operation, and nothing changes.
TYPED_TEST(RefreshTest, BackendRefusesATokenLinkedToAnotherFamily) {
  auto mine = this->rt().issue(this->grant("mallory", "evil-app"));
  auto victim = this->rt().issue(this->grant("alice", "app"));
  ASSERT_TRUE(mine.ok() && victim.ok());
  auto ring = legacy::ring_of(this->harness().options().keys);
  auto t = internal::parse_token(*ring, internal::TokenKind::kRefresh, victim->token);
  auto m = internal::parse_token(*ring, internal::TokenKind::kRefresh, mine->token);
  ASSERT_TRUE(t && m);
  const std::string vtag = internal::route_tag(t->route);
  const std::string mtag = internal::route_tag(m->route);
  const std::string token_key = internal::refresh_token_key(vtag, t->lookup_hash);
  const std::string other_family = internal::family_key(mtag, m->family);
  internal::RotateRequest req;
  req.route = vtag;
  req.token_key = token_key;
  req.family_key = other_family;
  req.new_token_key = internal::refresh_token_key(vtag, std::string(32, 'n'));
  req.now = this->clock().now();
  internal::RefreshBackend& b = this->harness().backend().refresh();
  // On a Redis Cluster the two users' keys lie in two hash slots: the executor refuses the call
  // before sending it (kInternal), which changes nothing either.
  const bool cluster = this->harness().backend().name() == "redis_cluster";
  const StatusCode absent = cluster ? StatusCode::kInternal : StatusCode::kNotFound;
  auto rotated = legacy::wait<internal::RotateResult>([&](auto cb) { b.rotate(req, std::move(cb)); });
  if (cluster) {
    EXPECT_EQ(rotated.code(), StatusCode::kInternal) << rotated.status().to_string();
  } else {
    ASSERT_TRUE(rotated.ok());
    EXPECT_EQ(rotated->outcome, internal::TokenOutcome::kNotFound);
  }
  auto peeked = legacy::wait<internal::FamilyState>(
      [&](auto cb) { b.peek(vtag, token_key, other_family, req.now, std::move(cb)); });
  EXPECT_EQ(peeked.code(), absent);
  auto revoked = legacy::wait<Done>(
      [&](auto cb) { b.revoke_token(vtag, token_key, other_family, req.now, std::move(cb)); });
  EXPECT_EQ(revoked.code(), absent);
  // Nothing changed: both chains go on.
  EXPECT_TRUE(this->rt().rotate(victim->token, "app").ok());
  EXPECT_TRUE(this->rt().rotate(mine->token, "evil-app").ok());
}

// A writer who raised a family's stored expiry past its signed one does not revive it.
TYPED_TEST(RefreshTest, SignedFamilyExpiryDecides) {
  auto ring = legacy::ring_of(this->harness().options().keys);
  RefreshGrant g = this->grant();
  g.lifetime_ms = 10'000;
  g.idle_ttl_ms = 10'000;
  const UnixMillis now = this->clock().now();
  auto fam = legacy::issue_family(this->harness().backend(), *ring, g, now, now + 86'400'000);
  ASSERT_TRUE(fam.ok());
  ASSERT_TRUE(this->rt().peek(fam->token).ok());
  this->clock().advance(20'000);  // past the signed end; the stored idle expiry also passed
  EXPECT_EQ(this->rt().peek(fam->token).code(), StatusCode::kNotFound);
  // Same with the idle expiry raised as well: a rotation inside the stored idle window.
  g.idle_ttl_ms = 3'600'000;
  g.lifetime_ms = 3'600'000;
  auto fam2 = legacy::issue_family(this->harness().backend(), *ring, g, this->clock().now(),
                                   this->clock().now() + 86'400'000);
  ASSERT_TRUE(fam2.ok());
  auto ok = this->rt().rotate(fam2->token, "app");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  this->clock().advance(3'600'000 - 1000);
  auto next = this->rt().rotate(ok->token, "app");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  this->clock().advance(2000);  // signed end passed; the stored one is a day away
  const std::uint64_t before = this->security(SecurityEvent::kSignatureFailure);
  EXPECT_EQ(this->rt().rotate(next->token, "app").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->rt().peek(next->token).code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->rt().list("alice")->empty());
  EXPECT_GE(this->security(SecurityEvent::kSignatureFailure), before + 3);
}

}  // namespace
}  // namespace authstore::testing
