// No secret in the file: issue every kind of secret through the public API, then scan the raw
// bytes of the database file and its -wal (while open, and after the WAL was checkpointed into
// the file) for each secret in raw, hex, base64 and base64url forms at every byte alignment.
#include <gtest/gtest.h>

#include <vector>

#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

std::string b64(std::string_view in, bool url) {
  const char* t = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(t[(acc >> bits) & 63u]);
    }
  }
  if (bits > 0) out.push_back(t[(acc << (6 - bits)) & 63u]);
  return out;
}

std::string b64url_decode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  return out;
}

std::string hex(std::string_view in, bool upper) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// Every form in which `secret` could sit in the file, whatever its byte offset: base64 of the
// secret preceded by 0, 1 or 2 other bytes differs only in the characters that mix in those
// bytes or the end, so the stable middle of each encoding is searched.
std::vector<std::string> forms(const std::string& secret) {
  std::vector<std::string> out{secret, hex(secret, false), hex(secret, true)};
  for (bool url : {false, true}) {
    for (int k = 0; k < 3; ++k) {
      const std::string enc = b64(std::string(static_cast<std::size_t>(k), '\x01') + secret, url);
      if (enc.size() > 12) out.push_back(enc.substr(4, enc.size() - 8));
    }
  }
  return out;
}

void expect_absent(const std::string& bytes, const std::string& where,
                   const std::vector<std::pair<std::string, std::string>>& secrets) {
  ASSERT_FALSE(bytes.empty()) << where;
  for (const auto& [what, secret] : secrets) {
    for (const auto& f : forms(secret)) {
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
      secrets.emplace_back(what + " (decoded)", b64url_decode(s.substr(us + 1)));
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
      ASSERT_TRUE(o.store.client_tokens().save_access_token("user-" + n, "https://api.example/" + n, tr).ok());
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
  std::printf("scanned for %zu secrets in %zu forms each\n", secrets.size(), forms(secrets.front().second).size());
}

}  // namespace
}  // namespace authstore::sqlite_testing
