// No secret in the file: issue every kind of secret through the public API, then scan the raw
// bytes of the database file and its -wal (while open, and after the WAL was checkpointed into
// the file) for each secret in raw, hex, base64 and base64url forms at every byte alignment.
#include <gtest/gtest.h>

#include <vector>

#include "sqlite/util.h"
#include "testing/secret_forms.h"

namespace authstore::sqlite_testing {
namespace {

using authstore::testing::secret_forms;

void expect_absent(const std::string& bytes, const std::string& where,
                   const std::vector<std::pair<std::string, std::string>>& secrets) {
  ASSERT_FALSE(bytes.empty()) << where;
  for (const auto& [what, secret] : secrets) {
    for (const auto& f : secret_forms(secret)) {
      EXPECT_EQ(bytes.find(f), std::string::npos) << what << " found in " << where;
    }
  }
}

TEST(SqliteSecrets, NoSecretInTheFileOrTheWal) {
  const std::string path = fresh_path();
  std::vector<std::pair<std::string, std::string>> secrets;
  auto add = [&](const std::string& what, const std::string& s) {
    secrets.emplace_back(what, s);
    const std::size_t us = s.find('_');
    if (us != std::string::npos && us < 8) {
      // Tokens are "xx1_" + base64url: the decoded bytes (random part included) are secret too.
      secrets.emplace_back(what + " (decoded)", authstore::testing::b64url_bytes(s.substr(us + 1)));
    }
  };
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    for (int i = 0; i < 20; ++i) {
      CodeGrant g = a_grant();
      g.code_challenge = std::string(43, static_cast<char>('A' + i));
      g.code_challenge_method = "S256";
      auto c = o.store.codes().issue(g);
      ASSERT_TRUE(c.ok()) << c.status().to_string();
      add("code", c->code);
      if (i % 2 == 0) {
        ASSERT_TRUE(o.store.codes().consume(c->code).ok());
      }

      auto rt = o.store.refresh().issue(a_refresh_grant("user-" + std::to_string(i)));
      ASSERT_TRUE(rt.ok()) << rt.status().to_string();
      add("refresh token", rt->token);
      auto next = o.store.refresh().rotate(rt->token, "client-1");
      ASSERT_TRUE(next.ok()) << next.status().to_string();
      add("rotated refresh token", next->token);

      Session s;
      s.id = SessionStore::new_session_id();
      s.user_id = "user-" + std::to_string(i);
      s.refresh_expires_at = kStart + 3'600'000;
      ASSERT_TRUE(o.store.sessions().upsert(s).ok());
      add("session id", s.id);

      const std::string n = std::to_string(i);
      TokenRecord tr = token_record("access-token-secret-value-" + n + "-0123456789abcdef",
                                    "refresh-token-secret-value-" + n + "-0123456789abcdef");
      ASSERT_TRUE(
          o.store.client_tokens().save_access_token("user-" + n, "https://api.example/" + n, tr).ok());
      add("access token", tr.access_token);
      add("client refresh token", tr.refresh_token);
      ClientCredentials cc;
      cc.client_id = "client-" + n;
      cc.client_secret = "client-secret-value-" + n + "-0123456789abcdefghij";
      cc.registration_access_token = "registration-token-" + n + "-0123456789abcdefghij";
      ASSERT_TRUE(o.store.client_tokens().save_client_credentials("https://as.example/" + n, cc).ok());
      add("client secret", cc.client_secret);
      add("registration token", cc.registration_access_token);
      PkceValues pk;
      pk.code_verifier = "verifier-" + n + "-" + std::string(50, static_cast<char>('a' + i));
      pk.code_challenge = std::string(43, 'C');
      ASSERT_TRUE(o.store.client_tokens().save_pkce("user-" + n, "state-" + n, pk).ok());
      add("pkce verifier", pk.code_verifier);
    }
    // While open: the recent writes are in the -wal.
    expect_absent(read_file(path + "-wal"), "the -wal file", secrets);
    expect_absent(read_file(path), "the database file (open)", secrets);
  }
  // Closed: the WAL was checkpointed into the database file.
  expect_absent(read_file(path), "the database file (closed)", secrets);
  std::printf("scanned for %zu secrets in %zu forms each\n", secrets.size(),
              secret_forms(secrets.front().second).size());
}

}  // namespace
}  // namespace authstore::sqlite_testing
