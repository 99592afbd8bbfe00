// A test helper for tests/cli/operator_commands.sh: writes a known population with the public API
// (what an application would have stored) and reads single items back, so that the script can check
// what the operator commands did. Keys: AUTHSTORE_KEY_FILE / AUTHSTORE_SECRET, as applications use.
//
//   cli_seed populate URL USER     prints "family1 F", "family2 F", "grantfamily F", "token1 T",
//                                  "token2 T", "granttoken T", "session1 ID", "session2 ID" lines
//   cli_seed peek URL TOKEN        prints active | rotated | revoked | not_found
//   cli_seed session URL USER ID   prints found | not_found (type full)
#include <iostream>
#include <string>

#include "authstore/authstore.h"

using namespace authstore;

namespace {

int usage() {
  std::cerr << "usage: cli_seed populate URL USER | peek URL TOKEN | session URL USER ID\n";
  return 2;
}

int check(const Status& s, const char* what) {
  if (s.ok()) return 0;
  std::cerr << "cli_seed: " << what << ": " << s.to_string() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string cmd = argv[1];
  auto opened = open(argv[2]);
  if (check(opened.status(), "open") != 0) return 1;
  Store store = opened.value();
  const UnixMillis now = SystemClock().now();
  if (cmd == "populate") {
    const std::string user = argv[3];
    RefreshGrant g;
    g.subject = user;
    g.client_id = "client-one";
    g.metadata_json = R"({"device":"laptop"})";
    auto f1 = store.refresh().issue(g);
    g.client_id = "client-two";
    auto f2 = store.refresh().issue(g);
    g.client_id = "client-one";
    g.grant_id = "grant-xyz";
    auto f3 = store.refresh().issue(g);
    if (check(f1.status(), "issue") || check(f2.status(), "issue") || check(f3.status(), "issue")) return 1;
    std::cout << "family1 " << f1->family.family_id << "\nfamily2 " << f2->family.family_id
              << "\ngrantfamily " << f3->family.family_id << "\ntoken1 " << f1->token << "\ntoken2 "
              << f2->token << "\ngranttoken " << f3->token << "\n";
    for (int i = 1; i <= 2; ++i) {
      Session s;
      s.id = SessionStore::new_session_id();
      s.user_id = user;
      s.refresh_expires_at = now + 3'600'000;
      if (check(store.sessions().upsert(s).status(), "session")) return 1;
      std::cout << "session" << i << " " << s.id << "\n";
    }
    Session other;
    other.id = SessionStore::new_session_id();
    other.user_id = user;
    other.type = "oauth2";
    other.refresh_expires_at = now + 3'600'000;
    if (check(store.sessions().upsert(other).status(), "session")) return 1;
    CodeGrant cg;
    cg.client_id = "client-one";
    cg.subject = user;
    cg.redirect_uri = "https://app.example.com/cb";
    if (check(store.codes().issue(cg).status(), "code")) return 1;
    if (check(store.replay().reserve("https://issuer.example", "jti-" + user, now + 60'000).status(),
              "reserve")) {
      return 1;
    }
    TokenRecord t;
    t.access_token = "at-secret-" + user;
    t.token_type = "Bearer";
    t.expires_at = now + 3'600'000;
    if (check(store.client_tokens().save_access_token(user, "https://api.example.com/", t).status(), "token"))
      return 1;
    return 0;
  }
  if (cmd == "peek") {
    auto info = store.refresh().peek(argv[3]);
    if (info.code() == StatusCode::kNotFound || info.code() == StatusCode::kRevoked) {
      std::cout << (info.code() == StatusCode::kNotFound ? "not_found\n" : "revoked\n");
      return 0;
    }
    if (check(info.status(), "peek")) return 1;
    std::cout << (info->state == RefreshTokenState::kActive    ? "active"
                  : info->state == RefreshTokenState::kRotated ? "rotated"
                                                               : "revoked")
              << "\n";
    return 0;
  }
  if (cmd == "session" && argc == 5) {
    auto s = store.sessions().get(argv[4], argv[3], "full");
    if (s.code() == StatusCode::kNotFound) {
      std::cout << "not_found\n";
      return 0;
    }
    if (check(s.status(), "session")) return 1;
    std::cout << "found\n";
    return 0;
  }
  return usage();
}
