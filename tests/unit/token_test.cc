// src/core/token.h: minted codes and refresh tokens, their text format and lookup hash.
#include "core/token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/encoding.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using namespace std::string_literals;
using testing::make_ring;

const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const std::string kRoute = "\x01\x02\x03\x04\xfd\xfe\xff\x00"s;

// A token text with a chosen body, as an attacker (or an older key) could make it.
std::string craft(std::string_view prefix, std::uint16_t key_id, std::string_view route,
                  std::string_view random) {
  std::string body;
  put_u16(body, key_id);
  body.append(route);
  body.append(random);
  return std::string(prefix) + base64url_encode(body);
}

class Tokens : public ::testing::Test {
 protected:
  std::shared_ptr<const KeyRing> ring_ = make_ring({1, 2}, 2);
};

TEST_F(Tokens, FormatHasPrefixLengthKeyIdAndRoute) {
  for (auto [kind, prefix] : {std::pair{TokenKind::kCode, "ac1_"}, std::pair{TokenKind::kRefresh, "rt1_"}}) {
    const Token t = mint_token(*ring_, kind, kRoute);
    ASSERT_EQ(t.text.size(), 60u);
    EXPECT_EQ(t.text.substr(0, 4), prefix);
    EXPECT_EQ(t.text.find_first_not_of(kAlphabet, 4), std::string::npos);
    auto body = base64url_decode(t.text.substr(4));
    ASSERT_TRUE(body.has_value());
    ASSERT_EQ(body->size(), 42u);
    EXPECT_EQ(body->substr(0, 2), "\x00\x02"s);  // current key id
    EXPECT_EQ(body->substr(2, 8), kRoute);
    EXPECT_EQ(t.key_id, 2);
    EXPECT_EQ(t.route, kRoute);
    EXPECT_EQ(t.lookup_hash.size(), 32u);
  }
}

TEST_F(Tokens, LookupHashIsHmacOfPrefixAndBodyWithTheLookupKey) {
  const Token t = mint_token(*ring_, TokenKind::kCode, kRoute);
  const std::string body = *base64url_decode(t.text.substr(4));
  EXPECT_EQ(t.lookup_hash, ring_->find(2)->lookup->mac({"ac1_", body}));
  EXPECT_NE(t.lookup_hash, ring_->find(2)->record_mac->mac({"ac1_", body}));
}

TEST_F(Tokens, MintedTokensAreUnique) {
  std::set<std::string> texts;
  std::set<std::string> hashes;
  for (int i = 0; i < 2000; ++i) {
    const Token t = mint_token(*ring_, TokenKind::kRefresh, kRoute);
    ASSERT_TRUE(texts.insert(t.text).second);
    ASSERT_TRUE(hashes.insert(t.lookup_hash).second);
  }
}

TEST_F(Tokens, ParseRecoversKeyIdRouteAndLookupHash) {
  const Token t = mint_token(*ring_, TokenKind::kCode, kRoute);
  TokenError err = TokenError::kMalformed;
  auto p = parse_token(*ring_, TokenKind::kCode, t.text, &err);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(err, TokenError::kNone);
  EXPECT_TRUE(p->text.empty());
  EXPECT_EQ(p->key_id, 2);
  EXPECT_EQ(p->route, kRoute);
  EXPECT_EQ(p->lookup_hash, t.lookup_hash);
  EXPECT_TRUE(parse_token(*ring_, TokenKind::kCode, t.text).has_value());  // error pointer optional
}

TEST_F(Tokens, ParseRejectsTheOtherKind) {
  const Token code = mint_token(*ring_, TokenKind::kCode, kRoute);
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kRefresh, code.text, &err));
  EXPECT_EQ(err, TokenError::kMalformed);
  const Token refresh = mint_token(*ring_, TokenKind::kRefresh, kRoute);
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, refresh.text, &err));
  EXPECT_EQ(err, TokenError::kMalformed);
}

void expect_malformed(const KeyRing& ring, std::string_view text, const std::string& what) {
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(ring, TokenKind::kCode, text, &err)) << what;
  EXPECT_EQ(err, TokenError::kMalformed) << what;
}

TEST_F(Tokens, ParseRejectsEveryWrongLengthFrom0To70) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  for (std::size_t n = 0; n <= 70; ++n) {
    if (n == 60) continue;
    const std::string candidate = n < 60 ? text.substr(0, n) : text + std::string(n - 60, 'A');
    expect_malformed(*ring_, candidate, "length " + std::to_string(n));
  }
}

TEST_F(Tokens, ParseRejectsNonAlphabetByteAtEveryPosition) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      const bool in_alphabet = kAlphabet.find(static_cast<char>(c)) != std::string::npos;
      if (pos >= 4 && in_alphabet) continue;  // a different, well-formed token
      if (pos < 4 && static_cast<char>(c) == text[pos]) continue;
      std::string bad = text;
      bad[pos] = static_cast<char>(c);
      expect_malformed(*ring_, bad, "byte " + std::to_string(c) + " at " + std::to_string(pos));
    }
  }
}

TEST_F(Tokens, ParseRejectsPaddingAndPrefixVariants) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  expect_malformed(*ring_, text.substr(0, 59) + "=", "padding");
  expect_malformed(*ring_, "AC1_" + text.substr(4), "uppercase prefix");
  expect_malformed(*ring_, "ac2_" + text.substr(4), "version 2");
  expect_malformed(*ring_, "ac1-" + text.substr(4), "separator");
  expect_malformed(*ring_, " " + text.substr(0, 59), "leading space");
  expect_malformed(*ring_, text.substr(1) + "\n", "trailing newline");
  expect_malformed(*ring_, "", "empty");
}

// 42 bytes are exactly 56 characters (336 bits): the encoding has no spare trailing bits, so
// every well-formed text names a distinct body, and no two texts alias one lookup hash.
TEST_F(Tokens, NoTrailingBitsSoEveryLastCharacterNamesADistinctToken) {
  const std::string text = mint_token(*ring_, TokenKind::kCode, kRoute).text;
  std::set<std::string> hashes;
  for (char c : kAlphabet) {
    std::string variant = text;
    variant[59] = c;
    auto p = parse_token(*ring_, TokenKind::kCode, variant);
    ASSERT_TRUE(p.has_value()) << c;
    EXPECT_TRUE(hashes.insert(p->lookup_hash).second) << c;
  }
  EXPECT_EQ(hashes.size(), 64u);
}

TEST_F(Tokens, UnknownKeyIdIsUnknownKey) {
  const Token t = mint_token(*make_ring({7}), TokenKind::kCode, kRoute);
  TokenError err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, t.text, &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
  err = TokenError::kNone;
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, craft("ac1_", 0, kRoute, std::string(32, 'x')), &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
  EXPECT_FALSE(parse_token(*ring_, TokenKind::kCode, craft("ac1_", 65535, kRoute, std::string(32, 'x')), &err));
  EXPECT_EQ(err, TokenError::kUnknownKey);
}

TEST_F(Tokens, LookupHashDependsOnKeyId) {
  const std::string random(32, 'x');
  auto one = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 1, kRoute, random));
  auto two = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, random));
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->key_id, 1);
  EXPECT_EQ(two->key_id, 2);
  EXPECT_NE(one->lookup_hash, two->lookup_hash);
  std::string body1;
  put_u16(body1, 1);
  body1 += kRoute + random;
  EXPECT_EQ(one->lookup_hash, ring_->find(1)->lookup->mac({"ac1_", body1}));
}

TEST_F(Tokens, LookupHashDependsOnKindRouteAndRandom) {
  const std::string random(32, 'x');
  auto code = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, random));
  auto refresh = parse_token(*ring_, TokenKind::kRefresh, craft("rt1_", 2, kRoute, random));
  auto other_route = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, "12345678", random));
  auto other_random = parse_token(*ring_, TokenKind::kCode, craft("ac1_", 2, kRoute, std::string(32, 'y')));
  ASSERT_TRUE(code && refresh && other_route && other_random);
  EXPECT_NE(code->lookup_hash, refresh->lookup_hash);
  EXPECT_NE(code->lookup_hash, other_route->lookup_hash);
  EXPECT_NE(code->lookup_hash, other_random->lookup_hash);
}

// A token minted before rotation still parses to the same lookup hash afterwards.
TEST_F(Tokens, TokenMintedBeforeRotationKeepsItsLookupHash) {
  const Token before = mint_token(*make_ring({1}), TokenKind::kRefresh, kRoute);
  auto after = parse_token(*ring_, TokenKind::kRefresh, before.text);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->key_id, 1);
  EXPECT_EQ(after->lookup_hash, before.lookup_hash);
}

}  // namespace
}  // namespace authstore::internal
