// What the store benchmarks write (bench/redis/backend_bench.cc, bench/growth/growth_bench.cc): a
// code grant, a refresh grant and a client token record of realistic sizes, so that the programs
// measure the same records.
#pragma once

#include <string>

#include "authstore/authstore.h"

namespace bench {

inline authstore::UnixMillis now_ms() { return authstore::SystemClock().now(); }

// A code grant with PKCE (S256), a nonce and the usual OIDC scope.
inline authstore::CodeGrant code_grant(std::string subject) {
  authstore::CodeGrant g;
  g.client_id = "client-app";
  g.subject = std::move(subject);
  g.scope = "openid profile email";
  g.redirect_uri = "https://app.example.com/callback";
  g.nonce = "n-0S6_WzA2Mj";
  g.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  g.code_challenge_method = "S256";
  g.auth_time = now_ms();
  return g;
}

// A refresh grant of client "client-app" with a device name in its metadata.
inline authstore::RefreshGrant refresh_grant(std::string subject, std::string grant_id = {}) {
  authstore::RefreshGrant g;
  g.subject = std::move(subject);
  g.client_id = "client-app";
  g.scope = "openid profile email offline_access";
  g.grant_id = std::move(grant_id);
  g.metadata_json = R"({"device":"Firefox on Linux"})";
  return g;
}

// A client token record: 40-character access and refresh tokens, expiring in an hour / 30 days.
inline authstore::TokenRecord token_record() {
  authstore::TokenRecord r;
  r.access_token = std::string(40, 'A');
  r.refresh_token = std::string(40, 'R');
  r.token_type = "Bearer";
  r.scope = "openid profile";
  r.resource = "https://api.example.com/";
  r.expires_at = now_ms() + 3'600'000;
  r.refresh_expires_at = now_ms() + 30LL * 24 * 3'600'000;
  return r;
}

}  // namespace bench
