// The upgrade fixture's fixed content: the clock, the options, and every value the fixture writer
// (fixture_writer.cc) puts into a store that is not random. The upgrade test checks what it reads
// back against these; the random parts (tokens, session ids, verifiers, owners) are in the
// fixture's tokens.txt.
//
// Do not change a value here without regenerating tests/fixtures/upgrade/ (see make_fixture.cc):
// the committed stores hold exactly these values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "authstore/authstore.h"

namespace authstore::upgrade {

// The store clock of every write of the fixture: 1 Jan 2030 00:00:00 UTC.
inline constexpr UnixMillis kFixtureTime = 1'893'456'000'000;
inline constexpr std::int64_t kDay = 24LL * 3600 * 1000;

// Options the fixture was written with (and is read with): only the clock and keys differ.
inline Options fixture_options(std::shared_ptr<Clock> clock, const std::string& key_file) {
  Options o;
  o.clock = std::move(clock);
  o.keys.key_file = key_file;  // empty: AUTHSTORE_SECRET from the environment
  o.codes.allow_plain_pkce = true;
  return o;
}

// ---- codes ----
inline CodeGrant code_s256_grant(const std::string& challenge) {
  CodeGrant g;
  g.client_id = "client-a";
  g.subject = "alice";
  g.claims_json = R"({"email":"alice@example.com","email_verified":true})";
  g.scope = "openid profile email offline_access";
  g.redirect_uri = "https://app.example/callback?x=1";
  g.nonce = "n-0S6_WzA2Mj";
  g.code_challenge = challenge;
  g.code_challenge_method = "S256";
  g.auth_time = kFixtureTime - 30'000;
  g.extra_json = R"({"acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"]})";
  g.ttl_ms = 600'000;
  return g;
}
inline CodeGrant code_plain_grant(const std::string& verifier) {
  CodeGrant g;
  g.client_id = "client-b";
  g.subject = "bob";
  g.scope = "openid";
  g.redirect_uri = "https://b.example/cb";
  g.code_challenge = verifier;  // "plain": the challenge is the verifier
  g.code_challenge_method = "plain";
  g.ttl_ms = 300'000;
  return g;
}
inline CodeGrant code_grant_grant() {
  CodeGrant g;
  g.client_id = "client-a";
  g.subject = "alice";
  g.scope = "openid";
  g.redirect_uri = "https://app.example/callback";
  g.grant_id = "grant-fixture-1";
  return g;  // default ttl (600 s)
}
inline CodeGrant code_consumed_grant() {
  CodeGrant g;
  g.client_id = "client-b";
  g.subject = "alice";
  g.redirect_uri = "https://b.example/cb";
  g.grant_id = "grant-consumed-1";
  return g;
}
// Issued while only key 1 was in the ring (key-file variant).
inline CodeGrant code_k1_grant(const std::string& challenge) {
  CodeGrant g;
  g.client_id = "client-a";
  g.subject = "alice";
  g.redirect_uri = "https://app.example/callback";
  g.code_challenge = challenge;
  g.code_challenge_method = "S256";
  g.grant_id = "grant-k1";
  return g;
}

// ---- refresh families ----
inline RefreshGrant family_grant(std::string subject, std::string client, std::string grant_id = {},
                                 std::string metadata = "{}") {
  RefreshGrant g;
  g.subject = std::move(subject);
  g.client_id = std::move(client);
  g.scope = "openid offline_access";
  g.grant_id = std::move(grant_id);
  g.idle_ttl_ms = 14 * kDay;
  g.lifetime_ms = 90 * kDay;
  g.metadata_json = std::move(metadata);
  return g;
}
inline const char* const kFreshMetadata = R"({"device":"laptop","ip":"192.0.2.7"})";
inline const char* const kGrantFixture = "grant-fixture-1";  // rf.grant and code.grant
inline const char* const kGrantRevoked = "grant-revoked-1";  // revoked by the writer

// ---- JWT refresh ids (store_jti) ----
inline constexpr std::int64_t kJtiTtl = 7 * kDay;

// ---- sessions ----
// `which`: "k1", "a1", "a2", "a3", "o1", "b1". The writer inserts each with lock_version 0;
// "a2" is then updated once (session_a2_update), "a3" deleted.
inline Session fixture_session(const std::string& which, const std::string& id) {
  Session s;
  s.id = id;
  s.user_id = which == "b1" ? "bob" : "alice";
  s.type = which == "o1" ? "oauth2" : "full";
  s.created_at = kFixtureTime - 3600'000;
  s.refresh_token_id = "rt-id-" + which;
  s.refreshed_at = kFixtureTime - 60'000;
  s.tokens_fresh_from = kFixtureTime - 120'000;
  s.prev_tokens_fresh_from = kFixtureTime - 240'000;
  s.extra_json = R"({"which":")" + which + R"(","ua":"Mozilla/5.0"})";
  // Distinct refresh expiries, so that get_all's order (soonest first) is known.
  if (which == "k1") s.refresh_expires_at = kFixtureTime + 10 * kDay;
  if (which == "a1") s.refresh_expires_at = kFixtureTime + 20 * kDay;
  if (which == "a2") s.refresh_expires_at = kFixtureTime + 30 * kDay;
  if (which == "a3") s.refresh_expires_at = kFixtureTime + 40 * kDay;
  if (which == "o1") s.refresh_expires_at = kFixtureTime + 15 * kDay;
  if (which == "b1") s.refresh_expires_at = kFixtureTime + 25 * kDay;
  if (which == "a2" || which == "b1") {
    s.expires_at = std::nullopt;  // infinite
  } else {
    s.expires_at = kFixtureTime + 2 * 3600'000;
  }
  return s;
}
// The writer's update of "a2" (from lock_version 1; stored with 2).
inline Session session_a2_update(Session s) {
  s.refresh_token_id = "rt-id-a2-rotated";
  s.refreshed_at = kFixtureTime - 1'000;
  s.prev_tokens_fresh_from = s.tokens_fresh_from;
  s.tokens_fresh_from = kFixtureTime - 1'000;
  s.extra_json = R"({"which":"a2","updated":1})";
  return s;
}
inline const char* const kSessionB1Id = "bob-custom-session-id-0001";  // a caller-chosen id

// ---- replay cache ----
inline const char* const kReplayIssuer = "https://issuer.example";
inline constexpr UnixMillis kReplayExp = kFixtureTime + 3600'000;

// ---- client tokens ----
inline const char* const kCtGenericKey = "user:1/https://rs.example/api";
inline const char* const kCtForeverKey = "user:1/forever%key with space";
inline const char* const kCtRemovedKey = "user:1/removed";
inline const char* const kCtK1Key = "k1:generic";
inline const char* const kCtServer = "https://as.example/";
inline const char* const kCtUser = "alice:1";
inline const char* const kCtResource = "https://rs.example/api";

inline TokenRecord ct_record(const std::string& which) {
  TokenRecord t;
  t.access_token = "at-" + which + "-Zm9vYmFyYmF6";
  t.refresh_token = "rt-" + which + "-cXV4cXV1eA";
  t.token_type = which == "access" ? "DPoP" : "Bearer";
  t.scope = "read write";
  t.resource = kCtResource;
  t.expires_at = kFixtureTime + 3600'000;
  t.refresh_expires_at = kFixtureTime + 20 * kDay;
  t.extra_json = R"({"which":")" + which + R"("})";
  return t;
}
inline ClientCredentials ct_credentials() {
  ClientCredentials c;
  c.client_id = "dyn-client-42";
  c.client_secret = "cs-secret-value-1234567890";
  c.registration_access_token = "rat-abcdef";
  c.extra_json = R"({"registration_client_uri":"https://as.example/reg/42"})";
  return c;
}

}  // namespace authstore::upgrade
